// Ticket spinlocks. A CPU takes a ticket with one atomic fetch-add and spins (with `pause`) until
// `serving` reaches it; release hands the lock to the next ticket in order, so waiters are served
// FIFO and none starves. Interrupts stay off while the lock is held (an interrupt handler that
// took the same lock on this CPU would otherwise deadlock).
//
// `holder` is written only by the CPU that holds the lock and read racily by others: it never
// decides who gets the lock, it only answers "does this CPU hold it?", which a CPU can ask about
// itself without a race (only it can set or clear its own number there).
#include "kernel/spinlock.h"

#include "arch/x86_64/cpu.h"
#include "arch/x86_64/percpu.h"
#include "arch/x86_64/spinlock_algo.h"
#include "kernel/assert.h"
#include "kernel/lockdep.h"

// The analysis cannot follow the tickets; these two are where the capability changes hands.
NO_THREAD_SAFETY_ANALYSIS irqstate_t spin_lock_irqsave(struct spinlock *lock) {
    irqstate_t state = irq_save();
    uint32_t me = arch_cpu_num() + 1;
    ASSERT_MSG(__atomic_load_n(&lock->holder, __ATOMIC_RELAXED) != me,
               "lock %s already held by this CPU (%u)", lock->name, me - 1);
    lockdep_spin_acquire(&lock->lockdep_class, lock->name, lock,
                         (vaddr_t)__builtin_return_address(0));
    ticket_acquire(&lock->next, &lock->serving);
    __atomic_store_n(&lock->holder, me, __ATOMIC_RELAXED);
    return state;
}

NO_THREAD_SAFETY_ANALYSIS void spin_unlock_irqrestore(struct spinlock *lock, irqstate_t state) {
    uint32_t me = arch_cpu_num() + 1;
    uint32_t holder = __atomic_load_n(&lock->holder, __ATOMIC_RELAXED);
    ASSERT_MSG(holder == me, "lock %s released by CPU %u, holder %d", lock->name, me - 1,
               (int)holder - 1);
    lockdep_spin_release(lock);
    __atomic_store_n(&lock->holder, 0, __ATOMIC_RELAXED);
    ticket_release(&lock->serving);
    irq_restore(state);
}

bool spin_lock_held(const struct spinlock *lock) {
    return __atomic_load_n(&lock->holder, __ATOMIC_RELAXED) == arch_cpu_num() + 1;
}
