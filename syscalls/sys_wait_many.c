// zx_object_wait_many (docs/abi.md §5): waits for any of up to 64 handles' signals. Each item is
// a kobject_observer on its object that wakes the waiting thread when a signal it waits for rises
// or when its handle is closed (kobject_cancel_handle_waits); the thread re-checks every item
// under the scheduler lock, so nothing is missed between the check and the block.
#include <zircon/syscalls.h>

#include "kernel/assert.h"
#include "kernel/heap.h"
#include "kernel/process.h"
#include "syscall_decls.h"
#include "syscalls/sys_util.h"

struct wm_item {
    struct kobject_observer ko;  // linked on `obj` from registration until the call ends
    struct kobject *obj;         // a reference, taken at registration
    zx_signals_t waitfor;
    bool canceled;               // the handle left the table (scheduler lock)
    struct wait_queue *wq;       // the waiting thread's
    zx_handle_t h;
};

static bool item_on_signal(struct kobject_observer *o, zx_signals_t old, zx_signals_t now)
    REQUIRES(sched_lock) {
    struct wm_item *it = containerof(o, struct wm_item, ko);
    if (now & it->waitfor)
        wait_queue_wake_all_locked(it->wq, ZX_OK);
    return false;  // the waiter unlinks it
}

static bool item_on_cancel(struct kobject_observer *o)
    REQUIRES(sched_lock) {
    struct wm_item *it = containerof(o, struct wm_item, ko);
    it->canceled = true;
    wait_queue_wake_all_locked(it->wq, ZX_OK);
    return false;  // the memory is the waiter's
}

static const struct kobject_observer_ops item_ops = {
    .on_signal = item_on_signal,
    .on_cancel = item_on_cancel,
};

// Registers the item on the object its handle names (handle table locked: handle_call_locked).
static zx_status_t register_locked(struct kobject *obj, zx_rights_t rights, void *arg) {
    struct wm_item *it = arg;
    kobject_retain(obj);
    it->obj = obj;
    it->ko.ops = &item_ops;
    it->ko.table = sys_handles();
    it->ko.handle = it->h;
    uint64_t s = sched_lock_irqsave();
    kobject_observer_add_locked(obj, &it->ko);
    sched_unlock_irqrestore(s);
    return ZX_OK;
}

static bool any_ready_locked(struct wm_item *items, size_t n) REQUIRES(sched_lock) {
    ASSERT(sched_lock_held());
    for (size_t i = 0; i < n; i++) {
        if (items[i].canceled || (items[i].obj->signals & items[i].waitfor))
            return true;
    }
    return false;
}

// Unlinks the first `n` items, records their signals in `user` and drops their references.
// Returns true if any handle was closed meanwhile.
static bool finish(struct wm_item *items, size_t n, zx_wait_item_t *user) {
    bool canceled = false;
    uint64_t s = sched_lock_irqsave();
    for (size_t i = 0; i < n; i++) {
        (void)kobject_observer_remove_locked(&items[i].ko);
        user[i].pending = items[i].obj->signals;
        if (items[i].canceled) {
            user[i].pending |= ZX_SIGNAL_HANDLE_CLOSED;
            canceled = true;
        }
    }
    sched_unlock_irqrestore(s);
    for (size_t i = 0; i < n; i++)
        kobject_release(items[i].obj);
    return canceled;
}

int64_t sys_object_wait_many(user_addr_t items_ptr, size_t count, zx_time_t deadline) {
    if (count > ZX_WAIT_MANY_MAX_ITEMS)
        return ZX_ERR_OUT_OF_RANGE;
    if (count == 0) {
        uthread_blocking(ZX_THREAD_STATE_BLOCKED_WAIT_MANY);
        zx_status_t st = thread_sleep_until(deadline);
        uthread_unblocked();
        return st == ZX_OK ? ZX_ERR_TIMED_OUT : st;
    }
    size_t bytes = count * sizeof(zx_wait_item_t);
    zx_status_t st = sys_check_out_ptr(items_ptr, bytes);
    if (st != ZX_OK)
        return st;
    zx_wait_item_t user[ZX_WAIT_MANY_MAX_ITEMS];
    st = copy_from_user(user, items_ptr, bytes);
    if (st == ZX_OK)
        st = copy_to_user(items_ptr, user, bytes);  // writable? (the same bytes go back)
    if (st != ZX_OK)
        return st;
    struct wm_item *items = kzalloc(count * sizeof(*items));
    if (!items)
        return ZX_ERR_NO_MEMORY;
    struct wait_queue wq;
    wait_queue_init(&wq);
    size_t n = 0;
    for (; n < count; n++) {
        items[n].waitfor = user[n].waitfor;
        items[n].wq = &wq;
        items[n].h = user[n].handle;
        st = handle_call_locked(sys_handles(), user[n].handle, ZX_OBJ_TYPE_NONE, ZX_RIGHT_WAIT,
                                register_locked, &items[n]);
        if (st != ZX_OK)
            break;
    }
    if (st == ZX_OK) {
        uthread_blocking(ZX_THREAD_STATE_BLOCKED_WAIT_MANY);
        uint64_t s = sched_lock_irqsave();
        while (!any_ready_locked(items, n)) {
            st = wait_queue_block_interruptible_locked(&wq, deadline);
            if (st != ZX_OK) {
                if (st == ZX_ERR_TIMED_OUT && any_ready_locked(items, n))
                    st = ZX_OK;  // a signal came with the deadline
                break;
            }
        }
        sched_unlock_irqrestore(s);
        uthread_unblocked();
    }
    bool canceled = finish(items, n, user);
    kfree(items);
    if (st != ZX_OK && st != ZX_ERR_TIMED_OUT && st != ZX_ERR_CANCELED)
        return st;  // a bad item: nothing waited, nothing written
    if (canceled)
        st = ZX_ERR_CANCELED;
    zx_status_t cs = copy_to_user(items_ptr, user, bytes);
    return cs != ZX_OK ? cs : st;
}
