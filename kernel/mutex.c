// Mutexes on the scheduler's wait queues. Not recursive: acquiring a mutex you hold is a bug.
//
// Fast paths: with one CPU, turning interrupts off is enough to take a free mutex or to release
// one nobody waits for, so the common uncontended case skips the scheduler lock (a page fault
// takes three mutexes). Every change of `owner` and of the waiter list happens with interrupts
// off, so the fast and slow paths exclude each other.
#include "kernel/mutex.h"

#include "arch/x86_64/cpu.h"
#include "kernel/assert.h"

void mutex_init(struct mutex *m, const char *name) {
    m->owner = NULL;
    wait_queue_init(&m->waiters);
    m->name = name;
}

void mutex_acquire(struct mutex *m) {
    struct thread *self = thread_current();
    uint64_t flags = irq_save();
    if (!m->owner) {
        m->owner = self;
        irq_restore(flags);
        return;
    }
    irq_restore(flags);
    uint64_t s = sched_lock_irqsave();
    ASSERT_MSG(m->owner != self, "mutex %s acquired twice by %s", m->name, self->name);
    while (m->owner)
        (void)wait_queue_block_locked(&m->waiters, ZX_TIME_INFINITE);
    m->owner = self;
    sched_unlock_irqrestore(s);
}

void mutex_release(struct mutex *m) {
    uint64_t flags = irq_save();
    ASSERT_MSG(m->owner == thread_current(), "mutex %s released by a non-owner", m->name);
    if (list_is_empty(&m->waiters.waiters)) {
        m->owner = NULL;
        irq_restore(flags);
        return;
    }
    irq_restore(flags);
    uint64_t s = sched_lock_irqsave();
    ASSERT_MSG(m->owner == thread_current(), "mutex %s released by a non-owner", m->name);
    m->owner = NULL;
    // Wake everyone; the first to run takes it, the others block again. Contention is rare.
    wait_queue_wake_all_locked(&m->waiters, ZX_OK);
    sched_unlock_irqrestore(s);
}

bool mutex_held(const struct mutex *m) {
    return m->owner == thread_current();
}
