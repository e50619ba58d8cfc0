// Kernel object lifetime and signals.
#include "kernel/object.h"

#include "kernel/assert.h"

static zx_koid_t next_koid = 1024;
static size_t live_objects;
static uint64_t gc_requests;  // scheduler lock for writes; read atomically

// An object just reached refs == inflight > 0 (or may have): the collector has work.
static void gc_request_locked(struct kobject *obj) {
    ASSERT(sched_lock_held());
    if (obj->inflight && obj->refs == obj->inflight)
        __atomic_store_n(&gc_requests, gc_requests + 1, __ATOMIC_RELEASE);
}

zx_koid_t koid_generate(void) {
    uint64_t s = sched_lock_irqsave();
    zx_koid_t k = next_koid++;
    sched_unlock_irqrestore(s);
    return k;
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
    uint64_t s = sched_lock_irqsave();
    live_objects++;
    sched_unlock_irqrestore(s);
}

void kobject_retain(struct kobject *obj) {
    uint64_t s = sched_lock_irqsave();
    ASSERT(obj->refs > 0);
    obj->refs++;
    sched_unlock_irqrestore(s);
}

bool kobject_try_retain(struct kobject *obj) {
    uint64_t s = sched_lock_irqsave();
    bool alive = obj->refs > 0;
    if (alive)
        obj->refs++;
    sched_unlock_irqrestore(s);
    return alive;
}

void kobject_release(struct kobject *obj) {
    uint64_t s = sched_lock_irqsave();
    ASSERT_MSG(obj->refs > 0, "koid %llu type %u", (unsigned long long)obj->koid, obj->type);
    bool last = --obj->refs == 0;
    if (last) {
        ASSERT(list_is_empty(&obj->waiters.waiters));
        ASSERT_MSG(obj->inflight == 0, "koid %llu: %u handles in flight",
                   (unsigned long long)obj->koid, obj->inflight);
        live_objects--;
    } else {
        gc_request_locked(obj);
    }
    sched_unlock_irqrestore(s);
    if (last)
        obj->ops->destroy(obj);
}

void kobject_inflight_add(struct kobject *obj, int delta) {
    uint64_t s = sched_lock_irqsave();
    ASSERT_MSG(delta > 0 ? obj->inflight < obj->handles : obj->inflight > 0,
               "koid %llu: inflight %u handles %u delta %d", (unsigned long long)obj->koid,
               obj->inflight, obj->handles, delta);
    obj->inflight += (uint32_t)delta;
    if (delta > 0)
        gc_request_locked(obj);
    sched_unlock_irqrestore(s);
}

bool kobject_only_inflight(struct kobject *obj) {
    uint64_t s = sched_lock_irqsave();
    bool only = obj->inflight && obj->refs == obj->inflight;
    sched_unlock_irqrestore(s);
    return only;
}

uint64_t kobject_gc_requests(void) {
    return __atomic_load_n(&gc_requests, __ATOMIC_ACQUIRE);
}

void kobject_signal(struct kobject *obj, zx_signals_t clear, zx_signals_t set) {
    uint64_t s = sched_lock_irqsave();
    zx_signals_t old = obj->signals;
    obj->signals = (old & ~clear) | set;
    if (obj->signals != old)
        wait_queue_wake_all_locked(&obj->waiters, ZX_OK);
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
    sched_unlock_irqrestore(s);
}

size_t kobject_live_count(void) {
    return live_objects;
}
