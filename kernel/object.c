// Kernel object lifetime and signals.
//
// Reference and handle counts, koids and the live count are atomics, not scheduler-lock data:
// every syscall that names an object retains and releases it, and a lock round trip each time
// cost a map + unmap pair ~300 instructions. Signals, wait queues and `inflight` stay under the
// scheduler lock. Invariant: refs only moves away from zero through kobject_try_retain's
// compare-and-swap, which refuses once it is zero, so the release that reaches zero is the last.
//
// Channel endpoints keep the locked release: the collector (kernel/channel_gc.h) must count every
// moment an endpoint reaches refs == inflight > 0, and both ways there -- a release, a handle
// queued (kobject_inflight_add) -- check under the scheduler lock after their change. A retain
// only moves away from that state, so it needs no lock.
#include "kernel/object.h"

#include "kernel/assert.h"

static zx_koid_t next_koid = 1024;
static size_t live_objects;
uint64_t kobject_gc_request_count;  // scheduler lock for writes; read atomically (object.h)

// An object just reached refs == inflight > 0 (or may have): the collector has work.
static void gc_request_locked(struct kobject *obj) {
    ASSERT(sched_lock_held());
    if (obj->inflight && __atomic_load_n(&obj->refs, __ATOMIC_RELAXED) == obj->inflight)
        __atomic_store_n(&kobject_gc_request_count, kobject_gc_request_count + 1, __ATOMIC_RELEASE);
}

zx_koid_t koid_generate(void) {
    return __atomic_fetch_add(&next_koid, 1, __ATOMIC_RELAXED);
}

void kobject_init(struct kobject *obj, zx_obj_type_t type, const struct kobject_ops *ops) {
    ASSERT(ops && ops->destroy);
    obj->type = type;
    obj->refs = 1;
    obj->handles = 0;
    obj->inflight = 0;
    obj->signals = 0;
    obj->koid = koid_generate();
    obj->ops = ops;
    wait_queue_init(&obj->waiters);
    list_init(&obj->handle_waits);
    list_init(&obj->observers);
    __atomic_fetch_add(&live_objects, 1, __ATOMIC_RELAXED);
}

void kobject_retain_dead(struct kobject *obj) {
    panic("kobject_retain: koid %llu type %u: retained after its last release",
          (unsigned long long)obj->koid, obj->type);
}

bool kobject_try_retain(struct kobject *obj) {
    uint32_t refs = __atomic_load_n(&obj->refs, __ATOMIC_RELAXED);
    while (refs > 0) {
        if (__atomic_compare_exchange_n(&obj->refs, &refs, refs + 1, false, __ATOMIC_RELAXED,
                                        __ATOMIC_RELAXED))
            return true;
    }
    return false;
}

// The last reference is gone (refs reached zero in the caller); takes the scheduler lock for
// the checks and unlocks it, then destroys the object.
static void destroy_last(struct kobject *obj, uint64_t s) NO_THREAD_SAFETY_ANALYSIS {
    ASSERT(list_is_empty(&obj->waiters.waiters));  // a waiter holds a reference
    // An observer lives only while the handle it came through is in a table, and a handle holds
    // a reference.
    ASSERT_MSG(list_is_empty(&obj->observers), "koid %llu: observed after its last release",
               (unsigned long long)obj->koid);
    ASSERT_MSG(obj->inflight == 0, "koid %llu: %u handles in flight", (unsigned long long)obj->koid,
               obj->inflight);
    sched_unlock_irqrestore(s);
    __atomic_fetch_sub(&live_objects, 1, __ATOMIC_RELAXED);
    obj->ops->destroy(obj);
}

void kobject_release_last(struct kobject *obj, uint32_t old) NO_THREAD_SAFETY_ANALYSIS {
    ASSERT_MSG(old == 1, "koid %llu type %u: released with refs %u", (unsigned long long)obj->koid,
               obj->type, old);
    destroy_last(obj, sched_lock_irqsave());
}

// Channel endpoints: the decrement and the collector's check under the scheduler lock (see the
// file comment).
void kobject_release_channel(struct kobject *obj) NO_THREAD_SAFETY_ANALYSIS {
    uint64_t s = sched_lock_irqsave();
    uint32_t old = __atomic_fetch_sub(&obj->refs, 1, __ATOMIC_ACQ_REL);
    ASSERT_MSG(old > 0, "koid %llu type %u", (unsigned long long)obj->koid, obj->type);
    if (old != 1) {
        gc_request_locked(obj);
        sched_unlock_irqrestore(s);
        return;
    }
    destroy_last(obj, s);
}

void kobject_inflight_add(struct kobject *obj, int delta) {
    uint64_t s = sched_lock_irqsave();
    uint32_t handles = __atomic_load_n(&obj->handles, __ATOMIC_RELAXED);
    ASSERT_MSG(delta > 0 ? obj->inflight < handles : obj->inflight > 0,
               "koid %llu: inflight %u handles %u delta %d", (unsigned long long)obj->koid,
               obj->inflight, handles, delta);
    obj->inflight += (uint32_t)delta;
    if (delta > 0)
        gc_request_locked(obj);
    sched_unlock_irqrestore(s);
}

bool kobject_only_inflight(struct kobject *obj) {
    uint64_t s = sched_lock_irqsave();
    bool only = obj->inflight && __atomic_load_n(&obj->refs, __ATOMIC_RELAXED) == obj->inflight;
    sched_unlock_irqrestore(s);
    return only;
}

static void notify_observers_locked(struct kobject *obj, zx_signals_t old, zx_signals_t now)
    REQUIRES(sched_lock) {
    ASSERT(sched_lock_held());
    struct list_node *it = obj->observers.next;
    while (it != &obj->observers) {
        struct list_node *next = it->next;  // `it` may be unlinked (and queued elsewhere)
        struct kobject_observer *o = containerof(it, struct kobject_observer, node);
        if (o->ops->on_signal(o, old, now))
            list_delete(it);
        it = next;
    }
}

void kobject_observer_add_locked(struct kobject *obj, struct kobject_observer *o) {
    ASSERT(sched_lock_held());
    list_add_tail(&obj->observers, &o->node);
}

bool kobject_observer_remove_locked(struct kobject_observer *o) {
    ASSERT(sched_lock_held());
    if (!list_in_list(&o->node))
        return false;
    list_delete(&o->node);
    return true;
}

void kobject_signal(struct kobject *obj, zx_signals_t clear, zx_signals_t set) {
    uint64_t s = sched_lock_irqsave();
    zx_signals_t old = obj->signals;
    zx_signals_t now = (old & ~clear) | set;
    obj->signals = now;
    if (now != old) {
        wait_queue_wake_all_locked(&obj->waiters, ZX_OK);
        if (!list_is_empty(&obj->observers))
            notify_observers_locked(obj, old, now);
    }
    sched_unlock_irqrestore(s);
}

zx_signals_t kobject_signals(struct kobject *obj) {
    uint64_t s = sched_lock_irqsave();
    zx_signals_t v = obj->signals;
    sched_unlock_irqrestore(s);
    return v;
}

// Waits under the scheduler lock until a signal in `signals`, the deadline, an interruption, or
// (if `hw` is not NULL) the cancellation of the handle it waits through.
static zx_status_t wait_locked(struct kobject *obj, zx_signals_t signals, zx_time_t deadline,
                               struct handle_wait *hw) REQUIRES(sched_lock) {
    ASSERT(sched_lock_held());
    zx_status_t st = ZX_OK;
    while (!(obj->signals & signals)) {
        if (hw && hw->canceled)
            return ZX_ERR_CANCELED;
        st = wait_queue_block_interruptible_locked(&obj->waiters, deadline);
        if (st != ZX_OK) {
            // The signal may have arrived together with the deadline.
            if (st == ZX_ERR_TIMED_OUT && (obj->signals & signals))
                st = ZX_OK;
            break;
        }
    }
    return st;
}

zx_status_t kobject_wait_one(struct kobject *obj, zx_signals_t signals, zx_time_t deadline,
                             zx_signals_t *out_observed) {
    uint64_t s = sched_lock_irqsave();
    zx_status_t st = wait_locked(obj, signals, deadline, NULL);
    if (out_observed)
        *out_observed = obj->signals;
    sched_unlock_irqrestore(s);
    return st;
}

zx_status_t kobject_wait_one_handle(struct kobject *obj, zx_signals_t signals, zx_time_t deadline,
                                    const void *table, zx_handle_t h,
                                    zx_signals_t *out_observed) {
    struct handle_wait hw = {.table = table, .handle = h};
    uint64_t s = sched_lock_irqsave();
    list_add_tail(&obj->handle_waits, &hw.node);
    zx_status_t st = wait_locked(obj, signals, deadline, &hw);
    list_delete(&hw.node);
    if (out_observed)
        *out_observed = obj->signals;
    sched_unlock_irqrestore(s);
    return st;
}

void kobject_cancel_handle_waits(struct kobject *obj, const void *table, zx_handle_t h) {
    // Nothing to cancel is the common case (a handle closed with no wait on it), so the lists are
    // first read without the lock. For observers that is exact: one made through `h` was linked
    // while its registrant held the table lock (handle_call_locked), and the removal of `h` took
    // that lock after it, so the link is visible here. A wait_one links its handle_wait after its
    // look-up and may miss a removal that comes between, with or without this test.
    if (__atomic_load_n(&obj->handle_waits.next, __ATOMIC_RELAXED) == &obj->handle_waits &&
        __atomic_load_n(&obj->observers.next, __ATOMIC_RELAXED) == &obj->observers)
        return;
    struct list_node released = LIST_INITIAL(released);
    uint64_t s = sched_lock_irqsave();
    bool any = false;
    list_for_each(&obj->handle_waits, it) {
        struct handle_wait *hw = containerof(it, struct handle_wait, node);
        if (hw->table == table && hw->handle == h) {
            hw->canceled = true;
            any = true;
        }
    }
    if (any)
        wait_queue_wake_all_locked(&obj->waiters, ZX_OK);  // they re-check and leave
    struct list_node *it = obj->observers.next;
    while (it != &obj->observers) {
        struct list_node *next = it->next;
        struct kobject_observer *o = containerof(it, struct kobject_observer, node);
        if (o->table == table && o->handle == h) {
            list_delete(it);
            if (o->ops->on_cancel(o))
                list_add_tail(&released, it);
        }
        it = next;
    }
    sched_unlock_irqrestore(s);
    struct list_node *n;
    while ((n = list_remove_head(&released)))
        containerof(n, struct kobject_observer, node)->ops->release(
            containerof(n, struct kobject_observer, node));
}

size_t kobject_live_count(void) {
    return __atomic_load_n(&live_objects, __ATOMIC_RELAXED);
}
