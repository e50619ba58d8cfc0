// Sleeping locks for long critical sections (VM operations that allocate, zero or copy pages):
// a thread that finds the mutex held blocks instead of spinning, and the holder may be preempted.
// Host builds get a checking no-op version (test/host/host_env.c).
#ifndef KERNEL_MUTEX_H
#define KERNEL_MUTEX_H

#include <stdbool.h>

#include "kernel/thread.h"

struct mutex {
    struct thread *owner;  // NULL when free
    struct wait_queue waiters;
    const char *name;
};

#define MUTEX_INIT(m, n) {NULL, WAIT_QUEUE_INIT((m).waiters), n}

void mutex_init(struct mutex *m, const char *name);
void mutex_acquire(struct mutex *m);
void mutex_release(struct mutex *m);
// True if the calling thread holds `m`.
bool mutex_held(const struct mutex *m);

#define ASSERT_MUTEX_HELD(m) ASSERT(mutex_held(m))

#endif  // KERNEL_MUTEX_H
