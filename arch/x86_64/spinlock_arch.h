// The arch half of the kernel's spinlocks (kernel/spinlock.h builds them inline on these): the
// interrupt state, the CPU number, and the test-and-test-and-set lock word (spinlock_algo.h;
// docs/smp.md "Locks" says why that algorithm). Nothing here knows of lock names, holders or
// the lock-order checker: those are the kernel layer's.
#ifndef ARCH_X86_64_SPINLOCK_ARCH_H
#define ARCH_X86_64_SPINLOCK_ARCH_H

#include <stdint.h>

#include "arch/x86_64/cpu.h"
#include "arch/x86_64/percpu.h"
#include "arch/x86_64/spinlock_algo.h"

// Disables interrupts on this CPU and returns the state to hand to arch_irq_restore.
static inline uint64_t arch_irq_save(void) {
    return irq_save();
}

// Turns interrupts back on if `state` (from arch_irq_save) had them on.
static inline void arch_irq_restore(uint64_t state) {
    irq_restore(state);
}

// Spins until the lock word goes 0 → 1 for this CPU (acquire order).
static inline void arch_spin_word_acquire(uint32_t *word) {
    tas_acquire(word);
}

// Stores 0 to a lock word this CPU took (release order).
static inline void arch_spin_word_release(uint32_t *word) {
    tas_release(word);
}

#endif  // ARCH_X86_64_SPINLOCK_ARCH_H
