// Spinlocks that also disable interrupts: a test-and-test-and-set lock (no order among waiting
// CPUs: docs/smp.md "Locks" says why) that records which CPU holds it, so ASSERT_HELD means "held
// by this CPU" and taking a lock this CPU already holds panics instead of spinning forever. Inline
// in the kernel over the arch's primitives (arch/x86_64/spinlock_arch.h); host builds get a
// checking version with one CPU (test/host/host_env.c).
#ifndef KERNEL_SPINLOCK_H
#define KERNEL_SPINLOCK_H

#include <stdbool.h>
#include <stdint.h>

#include "kernel/compiler.h"

struct CAPABILITY("spinlock") spinlock {
    uint32_t locked;   // 1 while held (atomic exchange to take it, release store of 0)
    uint32_t holder;   // holding CPU's number + 1, 0 when free (checks only, not exclusion)
    uint16_t lockdep_class;  // the lock-order checker's class for `name` + 1; 0 until first use
    const char *name;        // also the lock's class in the lock-order checker (kernel/lockdep.h)
};

#define SPINLOCK_INIT(n) {.locked = 0, .holder = 0, .lockdep_class = 0, .name = (n)}

typedef uint64_t irqstate_t;

#if JASPER_KERNEL
// Kernel: inline (a zero-fill fault takes two spinlocks, a map + unmap five; the call, its frame
// and the saved registers were half of each round trip). Built on the arch's primitives
// (arch/x86_64/spinlock_arch.h); a failed check panics out of line (kernel/spinlock.c).
// `holder` is written only by the CPU that holds the lock and read racily by others: it never
// decides who gets the lock, it only answers "does this CPU hold it?", which a CPU can ask about
// itself without a race (only it can set or clear its own number there).
#include "arch/x86_64/spinlock_arch.h"
#include "kernel/lockdep.h"

NORETURN void spin_lock_panic_held(const struct spinlock *lock);
NORETURN void spin_unlock_panic_holder(const struct spinlock *lock, uint32_t holder);

// The lock-order checker's acquisition site: here, in the caller (the functions are inline).
static inline vaddr_t spin_site(void) {
    vaddr_t pc;
    __asm__("leaq 0(%%rip), %0" : "=r"(pc));
    return pc;
}

// Disables interrupts, takes the lock and returns the previous interrupt state. Taking a lock
// this CPU holds panics. For clang's analysis the call acquires *lock; the returned state is
// plain data it does not track.
static inline irqstate_t spin_lock_irqsave(struct spinlock *lock) ACQUIRE(*lock);
// Releases a lock this CPU holds (else panics) and restores the interrupt state returned by the
// acquire.
static inline void spin_unlock_irqrestore(struct spinlock *lock, irqstate_t state)
    RELEASE(*lock);

// The analysis cannot follow the atomics; these two are where the capability changes hands.
NO_THREAD_SAFETY_ANALYSIS static inline irqstate_t spin_lock_irqsave(struct spinlock *lock) {
    irqstate_t state = arch_irq_save();
    uint32_t me = arch_cpu_num() + 1;
    if (unlikely(__atomic_load_n(&lock->holder, __ATOMIC_RELAXED) == me))
        spin_lock_panic_held(lock);
    if (JASPER_LOCKDEP)
        lockdep_spin_acquire(&lock->lockdep_class, lock->name, lock, spin_site());
    arch_spin_word_acquire(&lock->locked);
    __atomic_store_n(&lock->holder, me, __ATOMIC_RELAXED);
    return state;
}

NO_THREAD_SAFETY_ANALYSIS static inline void spin_unlock_irqrestore(struct spinlock *lock,
                                                                   irqstate_t state) {
    uint32_t me = arch_cpu_num() + 1;
    uint32_t holder = __atomic_load_n(&lock->holder, __ATOMIC_RELAXED);
    if (unlikely(holder != me))
        spin_unlock_panic_holder(lock, holder);
    lockdep_spin_release(lock);
    __atomic_store_n(&lock->holder, 0, __ATOMIC_RELAXED);
    arch_spin_word_release(&lock->locked);
    arch_irq_restore(state);
}

// True if the calling CPU holds `lock` (another CPU holding it gives false).
static inline bool spin_lock_held(const struct spinlock *lock) {
    return __atomic_load_n(&lock->holder, __ATOMIC_RELAXED) == arch_cpu_num() + 1;
}

// Interrupts off on this CPU without a lock, for per-CPU data that only its CPU touches outside
// some other synchronisation (vm/pmm.c's caches): the thread cannot move to another CPU until
// irq_restore_local. Returns the state to hand back.
static inline irqstate_t irq_save_local(void) {
    return arch_irq_save();
}
static inline void irq_restore_local(irqstate_t state) {
    arch_irq_restore(state);
}

// A bare lock word (test-and-test-and-set): no holder, no lock-order checking, interrupts left as
// they are. For per-CPU data that its own CPU takes on a hot path and the others rarely (the page
// queues' batches), with interrupts off (irq_save_local) around it. *word is 1 while held.
static inline void spin_word_acquire(uint32_t *word) {
    arch_spin_word_acquire(word);
}

static inline void spin_word_release(uint32_t *word) {
    arch_spin_word_release(word);
}
#else
// Host builds: test/host/host_env.c's checking versions (one CPU, no interrupts).
irqstate_t spin_lock_irqsave(struct spinlock *lock) ACQUIRE(*lock);
void spin_unlock_irqrestore(struct spinlock *lock, irqstate_t state) RELEASE(*lock);
bool spin_lock_held(const struct spinlock *lock);
irqstate_t irq_save_local(void);
void irq_restore_local(irqstate_t state);
void spin_word_acquire(uint32_t *word);
void spin_word_release(uint32_t *word);
#endif

#define ASSERT_HELD(lock) DEBUG_ASSERT(spin_lock_held(lock))

#endif  // KERNEL_SPINLOCK_H
