// Spinlocks that also disable interrupts (Jasper runs on one CPU for now, so the lock word only
// catches recursion bugs). Implemented in arch/ for the kernel; host builds get no-op versions.
#ifndef KERNEL_SPINLOCK_H
#define KERNEL_SPINLOCK_H

#include <stdbool.h>
#include <stdint.h>

struct spinlock {
    volatile uint32_t held;
    const char *name;
};

#define SPINLOCK_INIT(n) {0, n}

typedef uint64_t irqstate_t;

// Disables interrupts, takes the lock and returns the previous interrupt state.
irqstate_t spin_lock_irqsave(struct spinlock *lock);
void spin_unlock_irqrestore(struct spinlock *lock, irqstate_t state);
bool spin_lock_held(const struct spinlock *lock);

#define ASSERT_HELD(lock) ASSERT(spin_lock_held(lock))

#endif  // KERNEL_SPINLOCK_H
