// Port calls (docs/abi.md §5): port_create, port_queue, port_wait, port_cancel,
// object_wait_async. The ports themselves are kernel/port.c; wait_many is sys_wait_many.c.
#include <zircon/syscalls.h>

#include "kernel/port.h"
#include "kernel/process.h"
#include "syscall_decls.h"
#include "syscalls/sys_util.h"

// Objects that have signals to wait for (docs/abi.md §5: ports, VMARs, pagers and exceptions do
// not; their handles also lack ZX_RIGHT_WAIT, which is checked first).
static bool waitable(zx_obj_type_t type) {
    return type != ZX_OBJ_TYPE_VMAR && type != ZX_OBJ_TYPE_PORT && type != 28u /* pager */ &&
           type != ZX_OBJ_TYPE_EXCEPTION;
}

int64_t sys_port_create(uint32_t options, user_addr_t out) {
    if (options != 0)
        return ZX_ERR_INVALID_ARGS;
    zx_status_t st = sys_check_out_ptr(out, sizeof(zx_handle_t));
    if (st != ZX_OK)
        return st;
    struct kobject *port;
    st = port_create(&port);
    if (st != ZX_OK)
        return st;
    st = sys_give_handle(port, ZX_DEFAULT_PORT_RIGHTS, out);
    kobject_release(port);
    return st;
}

int64_t sys_port_queue(zx_handle_t handle, user_addr_t packet) {
    zx_status_t st = sys_check_out_ptr(packet, sizeof(zx_port_packet_t));
    if (st != ZX_OK)
        return st;
    struct kobject *obj;
    st = sys_get_object(handle, ZX_OBJ_TYPE_PORT, ZX_RIGHT_WRITE, &obj, NULL);
    if (st != ZX_OK)
        return st;
    zx_port_packet_t pkt;
    st = copy_from_user(&pkt, packet, sizeof(pkt));
    if (st == ZX_OK)
        st = port_queue_user(port_from_object(obj), &pkt);
    kobject_release(obj);
    return st;
}

int64_t sys_port_wait(zx_handle_t handle, zx_time_t deadline, user_addr_t packet) {
    zx_status_t st = sys_check_out_ptr(packet, sizeof(zx_port_packet_t));
    if (st != ZX_OK)
        return st;
    struct kobject *obj;
    st = sys_get_object(handle, ZX_OBJ_TYPE_PORT, ZX_RIGHT_READ, &obj, NULL);
    if (st != ZX_OK)
        return st;
    struct port *port = port_from_object(obj);
    zx_port_packet_t pkt;
    uthread_blocking(ZX_THREAD_STATE_BLOCKED_PORT);
    st = port_wait(port, deadline, &pkt);
    uthread_unblocked();
    if (st == ZX_OK) {
        st = copy_to_user(packet, &pkt, sizeof(pkt));
        // A packet the caller cannot receive is not lost: it goes back to the head of the queue.
        if (st != ZX_OK)
            port_putback(port, &pkt);
    }
    kobject_release(obj);
    return st;
}

int64_t sys_port_cancel(zx_handle_t handle, zx_handle_t source, uint64_t key) {
    struct kobject *obj;
    zx_status_t st = sys_get_object(handle, ZX_OBJ_TYPE_PORT, ZX_RIGHT_WRITE, &obj, NULL);
    if (st != ZX_OK)
        return st;
    struct kobject *src;
    st = sys_get_object(source, ZX_OBJ_TYPE_NONE, ZX_RIGHT_WAIT, &src, NULL);
    if (st == ZX_OK) {
        st = port_cancel(port_from_object(obj), src, sys_handles(), source, key);
        kobject_release(src);
    }
    kobject_release(obj);
    return st;
}

struct arm_args {
    struct port_observer *po;
    zx_handle_t h;
    bool armed;
};

// Runs with the caller's handle table locked (handle_call_locked).
static zx_status_t arm_locked(struct kobject *obj, zx_rights_t rights, void *arg) {
    struct arm_args *a = arg;
    if (!waitable(obj->type))
        return ZX_ERR_NOT_SUPPORTED;
    a->armed = port_wait_async_arm(a->po, obj, sys_handles(), a->h);
    return ZX_OK;
}

int64_t sys_object_wait_async(zx_handle_t handle, zx_handle_t port_handle, uint64_t key,
                              zx_signals_t signals, uint32_t options) {
    if (options & ~(ZX_WAIT_ASYNC_TIMESTAMP | ZX_WAIT_ASYNC_EDGE))
        return ZX_ERR_INVALID_ARGS;
    struct kobject *pobj;
    zx_status_t st = sys_get_object(port_handle, ZX_OBJ_TYPE_PORT, ZX_RIGHT_WRITE, &pobj, NULL);
    if (st != ZX_OK)
        return st;
    struct arm_args a = {.h = handle};
    a.po = port_wait_async_prepare(port_from_object(pobj), key, signals, options);
    if (!a.po) {
        kobject_release(pobj);
        return ZX_ERR_NO_MEMORY;
    }
    st = handle_call_locked(sys_handles(), handle, ZX_OBJ_TYPE_NONE, ZX_RIGHT_WAIT, arm_locked, &a);
    if (!a.armed)
        port_wait_async_discard(a.po);
    kobject_release(pobj);
    return st;
}
