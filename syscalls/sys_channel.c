// Channel calls: channel_create, channel_write, channel_read. Handles written to a channel leave
// the caller's table whether or not the write succeeds (as in Zircon); bytes and handles are
// bounced through kernel memory.
#include <zircon/types.h>

#include "kernel/channel.h"
#include "kernel/heap.h"
#include "kernel/string.h"
#include "syscall_decls.h"
#include "syscalls/sys_util.h"

int64_t sys_channel_create(uint32_t options, user_addr_t out0, user_addr_t out1) {
    if (options != 0)
        return ZX_ERR_INVALID_ARGS;
    zx_status_t st = sys_check_out_ptr(out0, sizeof(zx_handle_t));
    if (st == ZX_OK)
        st = sys_check_out_ptr(out1, sizeof(zx_handle_t));
    if (st != ZX_OK)
        return st;
    struct channel *a, *b;
    st = channel_create(&a, &b);
    if (st != ZX_OK)
        return st;
    zx_rights_t rights = ZX_RIGHT_DUPLICATE | ZX_RIGHT_TRANSFER | ZX_RIGHT_READ | ZX_RIGHT_WRITE |
                         ZX_RIGHT_SIGNAL | ZX_RIGHT_WAIT | ZX_RIGHT_INSPECT | 0x2000u /*PEER*/;
    st = sys_give_handle(channel_object(a), rights, out0);
    if (st == ZX_OK) {
        st = sys_give_handle(channel_object(b), rights, out1);
        if (st != ZX_OK) {
            // Undo the first handle: read it back and close it.
            zx_handle_t h0;
            if (copy_from_user(&h0, out0, sizeof(h0)) == ZX_OK)
                sys_discard_handle(h0);
        }
    }
    kobject_release(channel_object(a));
    kobject_release(channel_object(b));
    return st;
}

int64_t sys_channel_write(zx_handle_t handle, uint32_t options, user_addr_t bytes,
                          uint32_t num_bytes, user_addr_t handles, uint32_t num_handles) {
    zx_status_t st = ZX_OK;
    zx_handle_t hvals[CHANNEL_MAX_MSG_HANDLES];
    struct channel_handle taken[CHANNEL_MAX_MSG_HANDLES];
    uint32_t ntaken = 0;
    void *buf = NULL;

    // The endpoint written to, only to refuse sending it through itself (any handle to it, as
    // in Zircon); the checks on `handle` come below, in their order.
    struct kobject *self = NULL;
    if (sys_get_object(handle, ZX_OBJ_TYPE_CHANNEL, ZX_RIGHT_NONE, &self, NULL) != ZX_OK)
        self = NULL;

    // The handles leave the table first (consumed even if the write fails).
    if (num_handles > CHANNEL_MAX_MSG_HANDLES)
        st = ZX_ERR_OUT_OF_RANGE;
    else
        st = copy_from_user(hvals, handles, num_handles * sizeof(zx_handle_t));
    for (uint32_t i = 0; st == ZX_OK && i < num_handles; i++) {
        if (hvals[i] == handle) {
            st = ZX_ERR_NOT_SUPPORTED;  // a channel cannot carry its own endpoint
            break;
        }
        zx_status_t hs = handle_take(sys_handles(), hvals[i], &taken[ntaken].obj,
                                     &taken[ntaken].rights);
        if (hs != ZX_OK) {
            st = hs;
            break;
        }
        ntaken++;
        if (!(taken[ntaken - 1].rights & ZX_RIGHT_TRANSFER))
            st = ZX_ERR_ACCESS_DENIED;
        else if (taken[ntaken - 1].obj == self)
            st = ZX_ERR_NOT_SUPPORTED;  // a duplicate of the endpoint's own handle
    }
    struct kobject *obj = NULL;
    if (st == ZX_OK && options != 0)
        st = ZX_ERR_INVALID_ARGS;
    if (st == ZX_OK && num_bytes > CHANNEL_MAX_MSG_BYTES)
        st = ZX_ERR_OUT_OF_RANGE;
    if (st == ZX_OK)
        st = sys_get_object(handle, ZX_OBJ_TYPE_CHANNEL, ZX_RIGHT_WRITE, &obj, NULL);
    if (st == ZX_OK && num_bytes) {
        buf = kmalloc(num_bytes);
        st = buf ? copy_from_user(buf, bytes, num_bytes) : ZX_ERR_NO_MEMORY;
    }
    if (st == ZX_OK)
        st = channel_write(channel_from_object(obj), buf, num_bytes, taken, ntaken);
    if (st != ZX_OK) {
        for (uint32_t i = 0; i < ntaken; i++)
            handle_drop(taken[i].obj);
    }
    kfree(buf);
    if (obj)
        kobject_release(obj);
    if (self)
        kobject_release(self);
    return st;
}

int64_t sys_channel_read(zx_handle_t handle, uint32_t options, user_addr_t bytes,
                         user_addr_t handles, uint32_t num_bytes, uint32_t num_handles,
                         user_addr_t actual_bytes, user_addr_t actual_handles) {
    if (options != 0)
        return ZX_ERR_INVALID_ARGS;
    if (num_handles > CHANNEL_MAX_MSG_HANDLES)
        num_handles = CHANNEL_MAX_MSG_HANDLES;
    if (num_bytes > CHANNEL_MAX_MSG_BYTES)
        num_bytes = CHANNEL_MAX_MSG_BYTES;
    if ((actual_bytes && !user_range_ok(actual_bytes, 4)) ||
        (actual_handles && !user_range_ok(actual_handles, 4)))
        return ZX_ERR_INVALID_ARGS;
    struct kobject *obj;
    zx_status_t st = sys_get_object(handle, ZX_OBJ_TYPE_CHANNEL, ZX_RIGHT_READ, &obj, NULL);
    if (st != ZX_OK)
        return st;
    void *buf = num_bytes ? kmalloc(num_bytes) : NULL;
    struct channel_handle got[CHANNEL_MAX_MSG_HANDLES];
    uint32_t nb = 0, nh = 0;
    if (num_bytes && !buf)
        st = ZX_ERR_NO_MEMORY;
    else
        st = channel_read(channel_from_object(obj), buf, num_bytes, got, num_handles, &nb, &nh);
    kobject_release(obj);
    zx_status_t cs = ZX_OK;
    if (st == ZX_OK || st == ZX_ERR_BUFFER_TOO_SMALL) {
        if (actual_bytes)
            cs = copy_to_user(actual_bytes, &nb, sizeof(nb));
        if (cs == ZX_OK && actual_handles)
            cs = copy_to_user(actual_handles, &nh, sizeof(nh));
    }
    if (st == ZX_OK) {
        // The message is ours now: deliver bytes, then install the handles.
        if (cs == ZX_OK)
            cs = copy_to_user(bytes, buf, nb);
        zx_handle_t hvals[CHANNEL_MAX_MSG_HANDLES];
        uint32_t installed = 0;
        for (uint32_t i = 0; i < nh; i++) {
            if (cs == ZX_OK && handle_install(sys_handles(), got[i].obj, got[i].rights,
                                              &hvals[i]) == ZX_OK) {
                installed++;
            } else {
                if (cs == ZX_OK)
                    cs = ZX_ERR_NO_MEMORY;
                handle_drop(got[i].obj);
            }
        }
        if (cs == ZX_OK)
            cs = copy_to_user(handles, hvals, nh * sizeof(zx_handle_t));
        if (cs != ZX_OK) {
            // Could not deliver: the message is lost, its handles closed.
            for (uint32_t i = 0; i < installed; i++)
                sys_discard_handle(hvals[i]);
        }
        st = cs;
    } else if (cs != ZX_OK) {
        st = cs;
    }
    kfree(buf);
    return st;
}
