// Mutexes on the scheduler's wait queues. Not recursive: acquiring a mutex you hold is a bug.
//
// Fast paths (inline, mutex.h): taking a free mutex is one compare-and-swap of `state` from 0 to
// the caller, and releasing one nobody waits for is one compare-and-swap back to 0 — no scheduler
// lock, no call (a page fault takes three mutexes). Only contention comes here and takes the
// scheduler lock.
//
// No lost wake-up: a waiter sets MUTEX_CONTENDED while holding the scheduler lock and stays
// holding it until it is on the wait queue (blocking releases it). A release that finds the flag
// set takes the scheduler lock too, so it sees the waiter queued, clears `state` and wakes one.
// Invariant (under the scheduler lock): a non-empty wait queue means MUTEX_CONTENDED is set or a
// woken waiter has yet to run; that waiter re-checks, so somebody always re-arms the flag.
//
// The calling thread is read with percpu_current() (one %gs load, inlined) rather than a call to
// thread_current(): a fault asserts and takes mutexes a dozen times.
#include "kernel/mutex.h"

#include "arch/x86_64/percpu.h"
#include "kernel/assert.h"
#include "kernel/lockdep.h"

void mutex_init(struct mutex *m, const char *name) {
    __atomic_store_n(&m->state, 0, __ATOMIC_RELAXED);
    wait_queue_init(&m->waiters);
    m->lockdep_class = 0;
    m->name = name;
}

static struct thread *owner_of(uintptr_t state) {
    return (struct thread *)(state & ~MUTEX_CONTENDED);
}

void mutex_acquire_slow(struct mutex *m, uintptr_t self) {
    uint64_t s = sched_lock_irqsave();
    uintptr_t v = __atomic_load_n(&m->state, __ATOMIC_RELAXED);
    ASSERT_MSG(owner_of(v) != (struct thread *)self, "mutex %s acquired twice by %s", m->name,
               thread_current()->name);
    for (;;) {
        if (v == 0) {
            // Free: take it, keeping the flag if others still wait, so our release wakes them.
            uintptr_t want = self | (list_is_empty(&m->waiters.waiters) ? 0 : MUTEX_CONTENDED);
            if (__atomic_compare_exchange_n(&m->state, &v, want, false, __ATOMIC_ACQUIRE,
                                            __ATOMIC_RELAXED))
                break;
            continue;  // `v` now holds the new state
        }
        if (!(v & MUTEX_CONTENDED) &&
            !__atomic_compare_exchange_n(&m->state, &v, v | MUTEX_CONTENDED, false,
                                         __ATOMIC_RELAXED, __ATOMIC_RELAXED))
            continue;
        (void)wait_queue_block_locked(&m->waiters, ZX_TIME_INFINITE);
        v = __atomic_load_n(&m->state, __ATOMIC_RELAXED);
    }
    sched_unlock_irqrestore(s);
}

// The fast path found the state not equal to `self`: contended (or a release by a non-owner).
void mutex_release_slow(struct mutex *m, uintptr_t self) {
    uintptr_t v = __atomic_load_n(&m->state, __ATOMIC_RELAXED);
    ASSERT_MSG(owner_of(v) == (struct thread *)self, "mutex %s released by %s, owner %p", m->name,
               thread_current()->name, (void *)owner_of(v));
    uint64_t s = sched_lock_irqsave();
    // Only the owner clears the owner bits, and waiters only add the flag, so this holds.
    ASSERT(__atomic_load_n(&m->state, __ATOMIC_RELAXED) & MUTEX_CONTENDED);
    __atomic_store_n(&m->state, 0, __ATOMIC_RELEASE);
    (void)wait_queue_wake_one_locked(&m->waiters, ZX_OK);
    sched_unlock_irqrestore(s);
}
