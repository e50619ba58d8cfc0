// VMO calls: vmo_create, vmo_read, vmo_write, vmo_get_size, vmo_set_size, vmo_op_range,
// vmo_create_child, vmo_replace_as_executable. Decode here (handles: type before rights; the
// rights each operation needs; user pointers), perform through vm/vmo.h. Semantics and errors:
// docs/abi.md §2. ZX_INFO_VMO and the VMO properties are in sys_object.c.
//
// read and write bounce through a kernel page, one page at a time, so that no user copy happens
// while the VMO's tree lock is held: the user buffer may be a mapping of the same VMO, and a fault
// on it takes the address-space lock and then the tree lock.
#include <zircon/rights.h>
#include <zircon/types.h>

#include "kernel/oom.h"
#include "syscall_decls.h"
#include "syscalls/sys_util.h"
#include "vm/reclaim.h"
#include "vm/vmo.h"

// DUPLICATE|TRANSFER|READ|WRITE|MAP|GET_PROPERTY|SET_PROPERTY|SIGNAL|WAIT|INSPECT
#define VMO_DEFAULT_RIGHTS ((zx_rights_t)0xD0EFu)

int64_t sys_vmo_create(uint64_t size, uint32_t options, user_addr_t out) {
    zx_status_t st = sys_check_out_ptr(out, sizeof(zx_handle_t));
    if (st != ZX_OK)
        return st;
    struct vmo *vmo;
    st = vmo_create(size, options, &vmo);
    if (st != ZX_OK)
        return st;
    zx_rights_t rights = VMO_DEFAULT_RIGHTS | (vmo_is_resizable(vmo) ? ZX_RIGHT_RESIZE : 0);
    st = sys_give_handle(vmo_object(vmo), rights, out);
    kobject_release(vmo_object(vmo));
    return st;
}

// Offsets and lengths are checked against the size before any byte moves, so a call either
// fails with nothing copied or copies everything (barring a fault in the user buffer or memory).
static zx_status_t check_range(struct vmo *vmo, uint64_t offset, size_t len) {
    uint64_t size = vmo_get_size(vmo);
    if (offset > size || len > size - offset)
        return ZX_ERR_OUT_OF_RANGE;
    return ZX_OK;
}

// vmo_read and vmo_write between a VMO and a user buffer (vmo_user_copy bounces through a page).
static zx_status_t vmo_user_transfer(zx_handle_t handle, user_addr_t buffer, uint64_t offset,
                                     size_t buffer_size, bool write) {
    struct kobject *obj;
    zx_status_t st = sys_get_object(handle, ZX_OBJ_TYPE_VMO, write ? ZX_RIGHT_WRITE : ZX_RIGHT_READ,
                                    &obj, NULL);
    if (st != ZX_OK)
        return st;
    struct vmo *vmo = vmo_from_object(obj);
    st = check_range(vmo, offset, buffer_size);
    // A buffer that is NULL, below the user range or in the kernel's is NOT_FOUND here, like an
    // unmapped one (docs/abi.md §2, read/write; Zircon's tests require it).
    if (st == ZX_OK && (!user_range_ok(buffer, buffer_size) || (buffer_size && !buffer)))
        st = ZX_ERR_NOT_FOUND;
    if (st == ZX_OK)
        st = vmo_user_copy(vmo, buffer, offset, buffer_size, write);
    // Out of memory (a page to commit, decompress or copy): reclaim or OOM-kill, then again.
    for (unsigned tries = 0; st == ZX_ERR_NO_MEMORY && oom_retry(&tries) == OOM_RETRY;)
        st = vmo_user_copy(vmo, buffer, offset, buffer_size, write);
    kobject_release(obj);
    return st;
}

int64_t sys_vmo_read(zx_handle_t handle, user_addr_t buffer, uint64_t offset,
                     size_t buffer_size) {
    return vmo_user_transfer(handle, buffer, offset, buffer_size, false);
}

int64_t sys_vmo_write(zx_handle_t handle, user_addr_t buffer, uint64_t offset,
                      size_t buffer_size) {
    return vmo_user_transfer(handle, buffer, offset, buffer_size, true);
}

int64_t sys_vmo_get_size(zx_handle_t handle, user_addr_t size) {
    struct kobject *obj;
    zx_status_t st = sys_get_object(handle, ZX_OBJ_TYPE_VMO, ZX_RIGHT_NONE, &obj, NULL);
    if (st != ZX_OK)
        return st;
    uint64_t s = vmo_get_size(vmo_from_object(obj));
    kobject_release(obj);
    st = sys_check_out_ptr(size, sizeof(s));
    if (st == ZX_OK)
        st = copy_to_user(size, &s, sizeof(s));
    return st;
}

// Not resizable is UNAVAILABLE before any right is checked; then WRITE and RESIZE.
int64_t sys_vmo_set_size(zx_handle_t handle, uint64_t size) {
    struct kobject *obj;
    zx_rights_t rights;
    zx_status_t st = sys_get_object(handle, ZX_OBJ_TYPE_VMO, ZX_RIGHT_NONE, &obj, &rights);
    if (st != ZX_OK)
        return st;
    const zx_rights_t need = ZX_RIGHT_WRITE | ZX_RIGHT_RESIZE;
    if (!vmo_is_resizable(vmo_from_object(obj)))
        st = ZX_ERR_UNAVAILABLE;
    else if ((rights & need) != need)
        st = ZX_ERR_ACCESS_DENIED;
    else
        st = vmo_set_size(vmo_from_object(obj), size);
    kobject_release(obj);
    return st;
}

// The rights an op_range operation needs (0 for those refused whatever the rights).
static zx_rights_t op_rights(uint32_t op) {
    switch (op) {
    case ZX_VMO_OP_COMMIT:
    case ZX_VMO_OP_DECOMMIT:
    case ZX_VMO_OP_ZERO:
    case ZX_VMO_OP_CACHE_INVALIDATE:
        return ZX_RIGHT_WRITE;
    case ZX_VMO_OP_CACHE_SYNC:
    case ZX_VMO_OP_CACHE_CLEAN:
    case ZX_VMO_OP_CACHE_CLEAN_INVALIDATE:
        return ZX_RIGHT_READ;
    default:
        return ZX_RIGHT_NONE;
    }
}

int64_t sys_vmo_op_range(zx_handle_t handle, uint32_t op, uint64_t offset, uint64_t size,
                         user_addr_t buffer, size_t buffer_size) {
    (void)buffer;  // unused by every operation Jasper has
    (void)buffer_size;
    struct kobject *obj;
    zx_status_t st = sys_get_object(handle, ZX_OBJ_TYPE_VMO, op_rights(op), &obj, NULL);
    if (st != ZX_OK)
        return st;
    st = vmo_op_range(vmo_from_object(obj), op, offset, size);
    // What a failed COMMIT committed stays: a retry goes on from there.
    for (unsigned tries = 0; st == ZX_ERR_NO_MEMORY && oom_retry(&tries) == OOM_RETRY;)
        st = vmo_op_range(vmo_from_object(obj), op, offset, size);
    kobject_release(obj);
    // With reclaim.eager_dont_need=1 the pages just marked go at once (no VM lock is held here).
    if (st == ZX_OK && op == ZX_VMO_OP_DONT_NEED && reclaim_eager_dont_need())
        (void)reclaim_dont_need();
    return st;
}

// A child's rights (docs/abi.md §2): the parent's plus GET/SET_PROPERTY; NO_WRITE drops WRITE;
// otherwise a snapshot gains WRITE and loses EXECUTE. RESIZE exactly when the child is resizable.
static zx_rights_t child_rights(zx_rights_t parent, uint32_t options) {
    zx_rights_t r = (parent & ~ZX_RIGHT_RESIZE) | ZX_RIGHT_GET_PROPERTY | ZX_RIGHT_SET_PROPERTY;
    if (options & ZX_VMO_CHILD_RESIZABLE)
        r |= ZX_RIGHT_RESIZE;
    if (options & ZX_VMO_CHILD_NO_WRITE)
        return r & ~ZX_RIGHT_WRITE;
    if (!(options & ZX_VMO_CHILD_SLICE))
        r = (r | ZX_RIGHT_WRITE) & ~ZX_RIGHT_EXECUTE;
    return r;
}

int64_t sys_vmo_create_child(zx_handle_t handle, uint32_t options, uint64_t offset,
                             uint64_t size, user_addr_t out) {
    struct kobject *obj;
    zx_rights_t rights;
    zx_status_t st = sys_get_object(handle, ZX_OBJ_TYPE_VMO, ZX_RIGHT_DUPLICATE | ZX_RIGHT_READ,
                                    &obj, &rights);
    if (st != ZX_OK)
        return st;
    st = sys_check_out_ptr(out, sizeof(zx_handle_t));
    struct vmo *child = NULL;
    if (st == ZX_OK)
        st = vmo_create_child(vmo_from_object(obj), options, offset, size, &child);
    kobject_release(obj);
    if (st != ZX_OK)
        return st;
    st = sys_give_handle(vmo_object(child), child_rights(rights, options), out);
    kobject_release(vmo_object(child));
    return st;
}

// Always consumes `handle`. `vmex` may be ZX_HANDLE_INVALID (Jasper has no VMEX resource).
int64_t sys_vmo_replace_as_executable(zx_handle_t handle, zx_handle_t vmex, user_addr_t out) {
    (void)vmex;
    struct kobject *obj;
    zx_rights_t rights;
    zx_status_t st = handle_take(sys_handles(), handle, &obj, &rights);
    if (st != ZX_OK)
        return st;
    if (obj->type != ZX_OBJ_TYPE_VMO)
        st = ZX_ERR_WRONG_TYPE;
    if (st == ZX_OK)
        st = sys_check_out_ptr(out, sizeof(zx_handle_t));
    if (st == ZX_OK)
        st = sys_give_handle(obj, rights | ZX_RIGHT_EXECUTE, out);
    handle_drop(obj);  // the old handle is gone either way; a new one holds its own reference
    return st;
}
