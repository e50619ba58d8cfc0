// Sleeping locks for long critical sections (VM operations that allocate, zero or copy pages):
// a thread that finds the mutex held blocks instead of spinning, and the holder may be preempted.
// Host builds get a checking no-op version (test/host/host_env.c).
#ifndef KERNEL_MUTEX_H
#define KERNEL_MUTEX_H

#include <stdbool.h>
#include <stdint.h>

#include "kernel/compiler.h"
#include "kernel/thread.h"

// Set in `state` while threads may be waiting: the owner's release must take the slow path.
#define MUTEX_CONTENDED ((uintptr_t)1)

struct CAPABILITY("mutex") mutex {
    // The owning thread's address | MUTEX_CONTENDED; 0 when free. Changed only by atomic
    // compare-and-swap (threads are at least 2-byte aligned, so bit 0 is free for the flag).
    uintptr_t state;
    struct wait_queue waiters;  // guarded by the scheduler lock
    uint16_t lockdep_class;     // the lock-order checker's class for `name` + 1; 0 until first use
    const char *name;           // also the lock's class in the lock-order checker
};

#define MUTEX_INIT(m, n) \
    {.state = 0, .waiters = WAIT_QUEUE_INIT((m).waiters), .lockdep_class = 0, .name = (n)}

void mutex_init(struct mutex *m, const char *name);

#if JASPER_KERNEL
// Kernel: the uncontended paths are inline (one compare-and-swap each, no call: a page fault
// takes three mutexes); contention goes to mutex.c. Host builds get host_env.c's versions.
#include "arch/x86_64/percpu.h"
#include "kernel/lockdep.h"

void mutex_acquire_slow(struct mutex *m, uintptr_t self);
void mutex_release_slow(struct mutex *m, uintptr_t self);

// The lock-order checker's acquisition site: here, in the caller (the functions are inline).
static inline vaddr_t mutex_site(void) {
    vaddr_t pc;
    __asm__("leaq 0(%%rip), %0" : "=r"(pc));
    return pc;
}

// Blocks until the calling thread owns `m`. Acquiring a mutex the caller holds panics.
static inline void mutex_acquire(struct mutex *m) ACQUIRE(*m);
// The caller must own `m`; wakes a waiter if there is one.
static inline void mutex_release(struct mutex *m) RELEASE(*m);

// The analysis cannot follow the CAS; these two are where the capability changes hands.
NO_THREAD_SAFETY_ANALYSIS static inline void mutex_acquire(struct mutex *m) {
    if (JASPER_LOCKDEP)
        lockdep_mutex_acquire(&m->lockdep_class, m->name, m, mutex_site());
    uintptr_t self = (uintptr_t)percpu_current();
    uintptr_t expected = 0;
    if (likely(__atomic_compare_exchange_n(&m->state, &expected, self, false, __ATOMIC_ACQUIRE,
                                           __ATOMIC_RELAXED)))
        return;
    mutex_acquire_slow(m, self);
}

NO_THREAD_SAFETY_ANALYSIS static inline void mutex_release(struct mutex *m) {
    lockdep_mutex_release(m);
    uintptr_t self = (uintptr_t)percpu_current();
    uintptr_t expected = self;
    if (likely(__atomic_compare_exchange_n(&m->state, &expected, 0, false, __ATOMIC_RELEASE,
                                           __ATOMIC_RELAXED)))
        return;
    mutex_release_slow(m, self);
}

// True if the calling thread holds `m` (another thread holding it gives false).
static inline bool mutex_held(const struct mutex *m) {
    return (struct thread *)(__atomic_load_n(&m->state, __ATOMIC_RELAXED) & ~MUTEX_CONTENDED) ==
           percpu_current();
}
#else
void mutex_acquire(struct mutex *m) ACQUIRE(*m);
void mutex_release(struct mutex *m) RELEASE(*m);
bool mutex_held(const struct mutex *m);
#endif

#define ASSERT_MUTEX_HELD(m) DEBUG_ASSERT(mutex_held(m))

#endif  // KERNEL_MUTEX_H
