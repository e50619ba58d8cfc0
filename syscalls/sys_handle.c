// Handle calls: handle_close, handle_duplicate, handle_replace, handle_close_many.
#include <zircon/types.h>

#include "syscall_decls.h"
#include "syscalls/sys_util.h"

int64_t sys_handle_close(zx_handle_t handle) {
    if (handle == ZX_HANDLE_INVALID)
        return ZX_OK;  // abi.md: closing the invalid handle succeeds; no table to look at
    return handle_close(sys_handles(), handle);
}

// `rights` must be a subset of the handle's, unless it is ZX_RIGHT_SAME_RIGHTS.
static zx_status_t new_rights(zx_rights_t have, zx_rights_t want, zx_rights_t *out) {
    if (want == ZX_RIGHT_SAME_RIGHTS) {
        *out = have;
        return ZX_OK;
    }
    if (want & ~have)
        return ZX_ERR_INVALID_ARGS;
    *out = want;
    return ZX_OK;
}

int64_t sys_handle_duplicate(zx_handle_t handle, zx_rights_t rights, user_addr_t out) {
    zx_status_t st = sys_check_out_ptr(out, sizeof(zx_handle_t));
    if (st != ZX_OK)
        return st;
    struct kobject *obj;
    zx_rights_t have;
    st = sys_get_object(handle, ZX_OBJ_TYPE_NONE, 0, &obj, &have);
    if (st != ZX_OK)
        return st;
    zx_rights_t r = 0;
    if (!(have & ZX_RIGHT_DUPLICATE))
        st = ZX_ERR_ACCESS_DENIED;
    else
        st = new_rights(have, rights, &r);
    if (st == ZX_OK)
        st = sys_give_handle(obj, r, out);
    kobject_release(obj);
    return st;
}

// Always consumes `handle`, even on failure (docs/abi.md).
int64_t sys_handle_replace(zx_handle_t handle, zx_rights_t rights, user_addr_t out) {
    struct kobject *obj;
    zx_rights_t have;
    zx_status_t st = handle_take(sys_handles(), handle, &obj, &have);
    if (st != ZX_OK)
        return st;
    zx_rights_t r = 0;
    st = sys_check_out_ptr(out, sizeof(zx_handle_t));
    if (st == ZX_OK)
        st = new_rights(have, rights, &r);
    if (st == ZX_OK)
        st = sys_give_handle(obj, r, out);
    handle_drop(obj);  // the old handle is gone either way; a new one holds its own reference
    return st;
}

// Closes every valid entry even when some fail; INVALID entries are skipped. The first failure
// (a bad or repeated handle) is the result.
int64_t sys_handle_close_many(user_addr_t handles, size_t num_handles) {
    if (num_handles > SIZE_MAX / sizeof(zx_handle_t) ||
        (num_handles && !user_range_ok(handles, num_handles * sizeof(zx_handle_t))))
        return ZX_ERR_INVALID_ARGS;
    zx_status_t result = ZX_OK;
    for (size_t i = 0; i < num_handles; i++) {
        zx_handle_t h;
        zx_status_t st = copy_from_user(&h, handles + i * sizeof(h), sizeof(h));
        if (st == ZX_OK && h != ZX_HANDLE_INVALID)
            st = handle_close(sys_handles(), h);
        if (st != ZX_OK && result == ZX_OK)
            result = st;
    }
    return result;
}
