// Test-and-test-and-set spinlocks (tas_acquire in spinlock_algo.h): a CPU swaps `locked` from 0
// to 1; while that fails it spins (with `pause`) on plain reads until the word reads 0, then tries
// again. Not FIFO: whichever CPU is running when the lock comes free takes it. Under QEMU a FIFO
// lock (ticket, MCS) hands the lock to the next waiter even when the host has descheduled that
// waiter's vCPU, and every CPU behind it stalls; docs/smp.md ("Locks") has the figures that chose
// this lock. Interrupts stay off while the lock is held (an interrupt handler that took the same
// lock on this CPU would otherwise deadlock).
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

// The analysis cannot follow the atomics; these two are where the capability changes hands.
NO_THREAD_SAFETY_ANALYSIS irqstate_t spin_lock_irqsave(struct spinlock *lock) {
    irqstate_t state = irq_save();
    uint32_t me = arch_cpu_num() + 1;
    ASSERT_MSG(__atomic_load_n(&lock->holder, __ATOMIC_RELAXED) != me,
               "lock %s already held by this CPU (%u)", lock->name, me - 1);
    lockdep_spin_acquire(&lock->lockdep_class, lock->name, lock,
                         (vaddr_t)__builtin_return_address(0));
    tas_acquire(&lock->locked);
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
    tas_release(&lock->locked);
    irq_restore(state);
}

bool spin_lock_held(const struct spinlock *lock) {
    return __atomic_load_n(&lock->holder, __ATOMIC_RELAXED) == arch_cpu_num() + 1;
}
