// Kernel objects: refcounted, identified by a koid, carrying a signal set that waiters watch.
// Every user-visible object (process, thread, VMO, VMAR, channel, job) embeds a struct kobject as
// its first field. References: each handle holds one, and kernel code holds others while it works.
//
// Signals change under the scheduler lock (kobject_signal), and every change wakes the object's
// waiters, who re-check what they wait for, and runs the object's observers (async waits on ports,
// wait_many): an object nobody observes pays one empty-list test per change.
#ifndef KERNEL_OBJECT_H
#define KERNEL_OBJECT_H

#include <zircon/types.h>

#include "kernel/thread.h"
#include "kernel/types.h"

struct kobject;
struct kobject_observer;

// What an observer does; every callback runs with the scheduler lock held (interrupts off), so it
// may only touch scheduler-lock data (wait queues, port queues) and must not allocate or free.
struct kobject_observer_ops {
    // The object's signals changed from `old` to `now`. Returns true when the observer is done:
    // the caller then unlinks it from the object (and never calls it again).
    bool (*on_signal)(struct kobject_observer *o, zx_signals_t old, zx_signals_t now);
    // The handle the observer was registered through left its table; `o` is already unlinked.
    // Returns true to have `release` called on it once the scheduler lock is dropped.
    bool (*on_cancel)(struct kobject_observer *o);
    // Frees the observer after a cancel (no lock held). Required if on_cancel can return true.
    void (*release)(struct kobject_observer *o);
};

// Something watching an object's signals, registered through a handle: closing that handle (or
// moving it out of its table) cancels it. Linked on kobject.observers under the scheduler lock.
struct kobject_observer {
    struct list_node node;
    const struct kobject_observer_ops *ops;
    const void *table;   // the handle table and handle it was registered through
    zx_handle_t handle;
};

struct kobject_ops {
    // Frees the object (the last reference is gone). Required.
    void (*destroy)(struct kobject *obj);
    // The last handle to the object was closed (optional): e.g. a channel tells its peer.
    void (*on_zero_handles)(struct kobject *obj);
};

struct kobject {
    zx_obj_type_t type;
    uint32_t refs;          // references, handles included
    uint32_t handles;       // handles naming it (any process)
    zx_signals_t signals;   // guarded by the scheduler lock
    // Handles to this object queued in channel messages, counted for channel endpoints only
    // (kernel/channel_gc.h). Scheduler lock, changed also under the channel GC lock.
    // Invariant: inflight <= handles <= refs.
    uint32_t inflight;
    zx_koid_t koid;
    const struct kobject_ops *ops;
    struct wait_queue waiters;  // threads in wait_one on this object
    struct list_node handle_waits;  // struct handle_wait of waits made through a handle
    struct list_node observers;     // struct kobject_observer (scheduler lock)
};

// A wait made through a handle (zx_object_wait_one): closing that handle cancels it.
struct handle_wait {
    struct list_node node;
    const void *table;  // the handle table the handle lives in
    zx_handle_t handle;
    bool canceled;
};

// Sets up `obj` with one reference (the caller's) and a fresh koid.
void kobject_init(struct kobject *obj, zx_obj_type_t type, const struct kobject_ops *ops);
// The out-of-line halves of kobject_retain and kobject_release (object.c).
NORETURN void kobject_retain_dead(struct kobject *obj);
void kobject_release_last(struct kobject *obj, uint32_t old);
void kobject_release_channel(struct kobject *obj);

// Takes a reference; the caller already holds one (a handle, a pointer kept with a reference).
// Inline: every syscall that names an object retains and releases it.
static inline void kobject_retain(struct kobject *obj) {
    uint32_t old = __atomic_fetch_add(&obj->refs, 1, __ATOMIC_RELAXED);
    if (old == 0)
        kobject_retain_dead(obj);  // retained after its last release: a kernel bug
}
// Takes a reference unless the object is already on its way to destruction (refs reached zero:
// its destroy may be about to run); returns whether it did. For pointers kept without a reference.
bool kobject_try_retain(struct kobject *obj) MUST_USE;
// Drops a reference; the last one destroys the object. A reference that is not the last is one
// atomic, inline; the last one, and every release of a channel endpoint (object.c's file
// comment), go out of line.
static inline void kobject_release(struct kobject *obj) {
    if (obj->type == ZX_OBJ_TYPE_CHANNEL) {
        kobject_release_channel(obj);
        return;
    }
    // Release: this holder's writes to the object come before its destruction; acquire (on the
    // last): the destroyer sees every other holder's.
    uint32_t old = __atomic_fetch_sub(&obj->refs, 1, __ATOMIC_ACQ_REL);
    if (old != 1 && old != 0)
        return;
    kobject_release_last(obj, old);
}
// Clears then sets signal bits and wakes every waiter if the set changed.
void kobject_signal(struct kobject *obj, zx_signals_t clear, zx_signals_t set);
zx_signals_t kobject_signals(struct kobject *obj);
// Waits until any of `signals` is asserted or the deadline passes. Returns ZX_OK,
// ZX_ERR_TIMED_OUT, or ZX_ERR_CANCELED (thread_interrupt); *out_observed (may be NULL) gets the
// signals at that moment.
zx_status_t kobject_wait_one(struct kobject *obj, zx_signals_t signals, zx_time_t deadline,
                             zx_signals_t *out_observed) MUST_USE;
// kobject_wait_one through handle `h` of `table`: also ends with ZX_ERR_CANCELED when that
// handle is removed from the table (kobject_cancel_handle_waits).
zx_status_t kobject_wait_one_handle(struct kobject *obj, zx_signals_t signals, zx_time_t deadline,
                                    const void *table, zx_handle_t h,
                                    zx_signals_t *out_observed) MUST_USE;
// Cancels the waits and observers made through handle `h` of `table` (the handle was just
// removed from the table).
void kobject_cancel_handle_waits(struct kobject *obj, const void *table, zx_handle_t h);
// Links `o` (its ops, table and handle filled in) on `obj`. The caller holds the scheduler lock
// and keeps the handle from leaving its table meanwhile (handle_call_locked), so a later removal
// of that handle is sure to see the observer.
void kobject_observer_add_locked(struct kobject *obj, struct kobject_observer *o)
    REQUIRES(sched_lock);
// Unlinks `o` if it is still linked (it has not fired or been canceled); returns whether it was.
bool kobject_observer_remove_locked(struct kobject_observer *o) REQUIRES(sched_lock);
// Channel-cycle collection support (kernel/channel_gc.c): an object every one of whose references
// is a handle queued in a channel message may be part of an unreachable cycle. These change
// `inflight` (delta +1 or -1) and count the moments an object enters that state (a reference
// dropped, or a handle queued, leaving refs == inflight > 0): the collector runs until it has
// seen every such moment.
void kobject_inflight_add(struct kobject *obj, int delta);
// True if every reference to `obj` is a handle queued in a message (refs == inflight > 0).
bool kobject_only_inflight(struct kobject *obj) MUST_USE;
// How many times an object has entered that state so far (increases only). Inline: the syscall
// exit path reads it after every call.
extern uint64_t kobject_gc_request_count;
static inline uint64_t kobject_gc_requests(void) {
    return __atomic_load_n(&kobject_gc_request_count, __ATOMIC_ACQUIRE);
}

// The next koid (first is 1024).
zx_koid_t koid_generate(void);

// Counts of live objects per type, for leak checks.
size_t kobject_live_count(void);

#endif  // KERNEL_OBJECT_H
