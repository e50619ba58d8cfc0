// Spinlocks that also disable interrupts: a test-and-test-and-set lock (no order among waiting
// CPUs: docs/smp.md "Locks" says why) that records which CPU holds it, so ASSERT_HELD means "held by this CPU" and taking a lock this CPU already holds
// panics instead of spinning forever. Implemented in arch/ for the kernel; host builds get a
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

// Disables interrupts, takes the lock and returns the previous interrupt state. For clang's
// analysis the call acquires *lock; the returned state is plain data it does not track.
irqstate_t spin_lock_irqsave(struct spinlock *lock) ACQUIRE(*lock);
// Releases a lock this CPU holds and restores the interrupt state returned by the acquire.
void spin_unlock_irqrestore(struct spinlock *lock, irqstate_t state) RELEASE(*lock);
// True if the calling CPU holds `lock` (another CPU holding it gives false).
bool spin_lock_held(const struct spinlock *lock);

#define ASSERT_HELD(lock) DEBUG_ASSERT(spin_lock_held(lock))

#endif  // KERNEL_SPINLOCK_H
