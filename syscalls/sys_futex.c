// Futex calls (docs/abi.md §7): futex_wait, futex_wake, futex_requeue, futex_wake_single_owner,
// futex_get_owner. Decoding only: pointers must be non-NULL and 4-aligned, owner handles name a
// started thread of the caller's process; kernel/futex.c does the rest.
#include <zircon/syscalls.h>

#include "kernel/futex.h"
#include "kernel/process.h"
#include "syscall_decls.h"
#include "syscalls/sys_util.h"

static bool futex_ptr_ok(user_addr_t p) {
    return p != 0 && (p % sizeof(zx_futex_t)) == 0;
}

// Looks up an owner handle (ZX_HANDLE_INVALID: none, *out NULL): BAD_HANDLE, WRONG_TYPE (no
// rights needed), INVALID_ARGS for a thread of another process or one not started. On ZX_OK a
// non-NULL *out holds a reference.
static zx_status_t owner_lookup(zx_handle_t h, struct uthread **out) {
    *out = NULL;
    if (h == ZX_HANDLE_INVALID)
        return ZX_OK;
    struct kobject *obj;
    zx_status_t st = sys_get_object(h, ZX_OBJ_TYPE_THREAD, 0, &obj, NULL);
    if (st != ZX_OK)
        return st;
    struct uthread *t = uthread_from_object(obj);
    struct process *p = process_current();
    mutex_acquire(&t->proc->lock);
    bool started = t->state != TASK_INITIAL;
    mutex_release(&t->proc->lock);
    if (t->proc != p || !started) {
        kobject_release(obj);
        return ZX_ERR_INVALID_ARGS;
    }
    *out = t;
    return ZX_OK;
}

static void owner_release(struct uthread *t) {
    if (t)
        kobject_release(&t->obj);
}

int64_t sys_futex_wait(user_addr_t value_ptr, zx_futex_t current_value, zx_handle_t new_futex_owner,
                       zx_time_t deadline) {
    if (!futex_ptr_ok(value_ptr))
        return ZX_ERR_INVALID_ARGS;
    struct uthread *owner;
    zx_status_t owner_st = owner_lookup(new_futex_owner, &owner);
    uthread_blocking(ZX_THREAD_STATE_BLOCKED_FUTEX);
    zx_status_t st = futex_wait(process_current(), value_ptr, current_value, owner_st, owner,
                                deadline);
    uthread_unblocked();
    owner_release(owner);
    return st;
}

int64_t sys_futex_wake(user_addr_t value_ptr, uint32_t wake_count) {
    if (!futex_ptr_ok(value_ptr))
        return ZX_ERR_INVALID_ARGS;
    return futex_wake(process_current(), value_ptr, wake_count, false);
}

int64_t sys_futex_wake_single_owner(user_addr_t value_ptr) {
    if (!futex_ptr_ok(value_ptr))
        return ZX_ERR_INVALID_ARGS;
    return futex_wake(process_current(), value_ptr, 1, true);
}

int64_t sys_futex_requeue(user_addr_t value_ptr, uint32_t wake_count, zx_futex_t current_value,
                          user_addr_t requeue_ptr, uint32_t requeue_count,
                          zx_handle_t new_requeue_owner) {
    if (!futex_ptr_ok(value_ptr) || !futex_ptr_ok(requeue_ptr) || value_ptr == requeue_ptr)
        return ZX_ERR_INVALID_ARGS;
    struct uthread *owner;
    zx_status_t owner_st = owner_lookup(new_requeue_owner, &owner);
    zx_status_t st = futex_requeue(process_current(), value_ptr, wake_count, current_value,
                                   requeue_ptr, requeue_count, owner_st, owner);
    owner_release(owner);
    return st;
}

int64_t sys_futex_get_owner(user_addr_t value_ptr, user_addr_t koid) {
    if (!futex_ptr_ok(value_ptr))
        return ZX_ERR_INVALID_ARGS;
    zx_koid_t k = futex_get_owner(process_current(), value_ptr);
    return copy_to_user(koid, &k, sizeof(k));
}
