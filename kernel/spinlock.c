// The spinlocks' out-of-line half: the panics of their always-on checks (the lock and unlock
// themselves are inline, kernel/spinlock.h).
#include "kernel/spinlock.h"

#include "kernel/assert.h"

void spin_lock_panic_held(const struct spinlock *lock) {
    panic("lock %s already held by this CPU (%u)", lock->name, arch_cpu_num());
}

void spin_unlock_panic_holder(const struct spinlock *lock, uint32_t holder) {
    panic("lock %s released by CPU %u, holder %d", lock->name, arch_cpu_num(), (int)holder - 1);
}
