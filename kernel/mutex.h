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
// Blocks until the calling thread owns `m`. Acquiring a mutex the caller holds panics.
void mutex_acquire(struct mutex *m) ACQUIRE(*m);
// The caller must own `m`; wakes a waiter if there is one.
void mutex_release(struct mutex *m) RELEASE(*m);
// True if the calling thread holds `m` (another thread holding it gives false).
bool mutex_held(const struct mutex *m);

#define ASSERT_MUTEX_HELD(m) DEBUG_ASSERT(mutex_held(m))

#endif  // KERNEL_MUTEX_H
