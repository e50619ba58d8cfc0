// Spinlocks for a single CPU: disabling interrupts is the exclusion; the lock word catches
// recursive acquisition (a kernel bug) instead of deadlocking silently.
#include "kernel/spinlock.h"

#include "arch/x86_64/cpu.h"
#include "kernel/assert.h"

irqstate_t spin_lock_irqsave(struct spinlock *lock) {
    irqstate_t state = irq_save();
    ASSERT_MSG(!lock->held, "lock %s already held", lock->name);
    lock->held = 1;
    return state;
}

void spin_unlock_irqrestore(struct spinlock *lock, irqstate_t state) {
    ASSERT_MSG(lock->held, "lock %s not held", lock->name);
    lock->held = 0;
    irq_restore(state);
}

bool spin_lock_held(const struct spinlock *lock) {
    return lock->held != 0;
}
