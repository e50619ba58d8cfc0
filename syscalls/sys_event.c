// Event and signal calls (docs/abi.md §6): event_create, eventpair_create, object_signal,
// object_signal_peer. Which signals a user may change: the eight user signals on any waitable
// object, plus ZX_EVENT_SIGNALED / ZX_EVENTPAIR_SIGNALED on events and event pairs; a channel's
// peer takes user signals only.
#include <zircon/syscalls.h>

#include "kernel/channel.h"
#include "kernel/event.h"
#include "syscall_decls.h"
#include "syscalls/sys_util.h"

// Objects nobody can wait on (docs/abi.md §5): no signals to change either.
static bool waitable(zx_obj_type_t type) {
    return type != ZX_OBJ_TYPE_VMAR && type != 6u /* port */ && type != 28u /* pager */ &&
           type != 29u /* exception */;
}

// The signals zx_object_signal may change on an object of `type`.
static zx_signals_t user_settable(zx_obj_type_t type) {
    if (type == ZX_OBJ_TYPE_EVENT || type == ZX_OBJ_TYPE_EVENTPAIR)
        return ZX_USER_SIGNAL_ALL | ZX_EVENT_SIGNALED;
    return ZX_USER_SIGNAL_ALL;
}

// Gives the caller handles to `a` (and `b`, if not NULL) at `out0` / `out1`; on a failure no new
// handle remains. The caller keeps its references.
static zx_status_t give_handles(struct kobject *a, struct kobject *b, zx_rights_t rights,
                                user_addr_t out0, user_addr_t out1) {
    zx_status_t st = sys_give_handle(a, rights, out0);
    if (st == ZX_OK && b) {
        st = sys_give_handle(b, rights, out1);
        zx_handle_t h0;
        if (st != ZX_OK && copy_from_user(&h0, out0, sizeof(h0)) == ZX_OK)
            sys_discard_handle(h0);
    }
    return st;
}

int64_t sys_event_create(uint32_t options, user_addr_t out) {
    if (options != 0)
        return ZX_ERR_INVALID_ARGS;
    zx_status_t st = sys_check_out_ptr(out, sizeof(zx_handle_t));
    if (st != ZX_OK)
        return st;
    struct kobject *ev;
    st = event_create(&ev);
    if (st != ZX_OK)
        return st;
    st = give_handles(ev, NULL, ZX_DEFAULT_EVENT_RIGHTS, out, 0);
    kobject_release(ev);
    return st;
}

int64_t sys_eventpair_create(uint32_t options, user_addr_t out0, user_addr_t out1) {
    if (options != 0)
        return ZX_ERR_NOT_SUPPORTED;
    zx_status_t st = sys_check_out_ptr(out0, sizeof(zx_handle_t));
    if (st == ZX_OK)
        st = sys_check_out_ptr(out1, sizeof(zx_handle_t));
    if (st != ZX_OK)
        return st;
    struct kobject *a, *b;
    st = eventpair_create(&a, &b);
    if (st != ZX_OK)
        return st;
    st = give_handles(a, b, ZX_DEFAULT_EVENTPAIR_RIGHTS, out0, out1);
    kobject_release(a);
    kobject_release(b);
    return st;
}

// Looks up `handle` with `right` and checks the masks against what `obj` allows (INVALID_ARGS),
// objects that cannot be signalled the way asked for answering NOT_SUPPORTED first. On ZX_OK
// *out holds a reference.
static zx_status_t signal_decode(zx_handle_t handle, zx_rights_t right, bool peer,
                                 uint32_t clear_mask, uint32_t set_mask, struct kobject **out) {
    struct kobject *obj;
    zx_status_t st = sys_get_object(handle, ZX_OBJ_TYPE_NONE, right, &obj, NULL);
    if (st != ZX_OK)
        return st;
    bool has_peer = obj->type == ZX_OBJ_TYPE_EVENTPAIR || obj->type == ZX_OBJ_TYPE_CHANNEL;
    if (peer ? !has_peer : !waitable(obj->type))
        st = ZX_ERR_NOT_SUPPORTED;
    else if ((clear_mask | set_mask) & ~user_settable(obj->type))
        st = ZX_ERR_INVALID_ARGS;
    if (st != ZX_OK) {
        kobject_release(obj);
        return st;
    }
    *out = obj;
    return ZX_OK;
}

int64_t sys_object_signal(zx_handle_t handle, uint32_t clear_mask, uint32_t set_mask) {
    struct kobject *obj;
    zx_status_t st = signal_decode(handle, ZX_RIGHT_SIGNAL, false, clear_mask, set_mask, &obj);
    if (st != ZX_OK)
        return st;
    kobject_signal(obj, clear_mask, set_mask);
    kobject_release(obj);
    return ZX_OK;
}

int64_t sys_object_signal_peer(zx_handle_t handle, uint32_t clear_mask, uint32_t set_mask) {
    struct kobject *obj;
    zx_status_t st = signal_decode(handle, ZX_RIGHT_SIGNAL_PEER, true, clear_mask, set_mask, &obj);
    if (st != ZX_OK)
        return st;
    if (obj->type == ZX_OBJ_TYPE_EVENTPAIR)
        st = eventpair_signal_peer(obj, clear_mask, set_mask);
    else
        st = channel_signal_peer(channel_from_object(obj), clear_mask, set_mask);
    kobject_release(obj);
    return st;
}
