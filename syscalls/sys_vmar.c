// VMAR calls: vmar_allocate, vmar_destroy, vmar_map, vmar_unmap, vmar_protect, vmar_op_range.
// Decode here (handles: type before rights; the rights each option needs; output pointers), then
// perform through vm/vmar.h, which checks the remaining arguments and the tree's state.
// Semantics and errors: docs/abi.md §2.
#include <zircon/rights.h>
#include <zircon/types.h>

#include "kernel/oom.h"
#include "syscall_decls.h"
#include "syscalls/sys_util.h"
#include "vm/vmar.h"
#include "vm/vmo.h"

// The handle rights PERM_* (or CAN_MAP_*, shifted) need.
static zx_rights_t perm_rights(uint32_t perms) {
    zx_rights_t r = 0;
    if (perms & ZX_VM_PERM_READ)
        r |= ZX_RIGHT_READ;
    if (perms & ZX_VM_PERM_WRITE)
        r |= ZX_RIGHT_WRITE;
    if (perms & ZX_VM_PERM_EXECUTE)
        r |= ZX_RIGHT_EXECUTE;
    return r;
}

// The PERM_* both handles allow.
static uint32_t rights_perms(zx_rights_t a, zx_rights_t b) {
    zx_rights_t r = a & b;
    uint32_t p = 0;
    if (r & ZX_RIGHT_READ)
        p |= ZX_VM_PERM_READ;
    if (r & ZX_RIGHT_WRITE)
        p |= ZX_VM_PERM_WRITE;
    if (r & ZX_RIGHT_EXECUTE)
        p |= ZX_VM_PERM_EXECUTE;
    return p;
}

// Undoing a half-done call: the status does not matter (the region may already be gone with a
// parent another thread destroyed).
static void ignore_status(zx_status_t st) {
    (void)st;
}

int64_t sys_vmar_allocate(zx_handle_t parent_vmar, zx_vm_option_t options, size_t offset,
                          size_t size, user_addr_t child_vmar, user_addr_t child_addr) {
    struct kobject *obj;
    zx_rights_t need = perm_rights((options & VMAR_CAN_MAP_RWX) >> VMAR_CAN_MAP_SHIFT);
    zx_status_t st = sys_get_object(parent_vmar, ZX_OBJ_TYPE_VMAR, need, &obj, NULL);
    if (st != ZX_OK)
        return st;
    st = sys_check_out_ptr(child_vmar, sizeof(zx_handle_t));
    if (st == ZX_OK)
        st = sys_check_out_ptr(child_addr, sizeof(zx_vaddr_t));
    struct vmar *child = NULL;
    if (st == ZX_OK)
        st = vmar_allocate(vmar_from_object(obj), options, offset, size, &child);
    kobject_release(obj);
    if (st != ZX_OK)
        return st;
    zx_vaddr_t base = vmar_base(child);
    st = copy_to_user(child_addr, &base, sizeof(base));
    if (st == ZX_OK)
        st = sys_give_handle(vmar_object(child), vmar_default_rights(child), child_vmar);
    if (st != ZX_OK)
        ignore_status(vmar_destroy(child));  // nobody can name it: undo
    kobject_release(vmar_object(child));
    return st;
}

int64_t sys_vmar_destroy(zx_handle_t handle) {
    struct kobject *obj;
    zx_status_t st = sys_get_object(handle, ZX_OBJ_TYPE_VMAR, 0, &obj, NULL);
    if (st != ZX_OK)
        return st;
    st = vmar_destroy(vmar_from_object(obj));
    kobject_release(obj);
    return st;
}

int64_t sys_vmar_map(zx_handle_t handle, zx_vm_option_t options, size_t vmar_offset,
                     zx_handle_t vmo, uint64_t vmo_offset, size_t len, user_addr_t mapped_addr) {
    struct kobject *vobj, *mobj;
    zx_rights_t vmar_rights, vmo_rights;
    zx_status_t st = sys_get_object(handle, ZX_OBJ_TYPE_VMAR, 0, &vobj, &vmar_rights);
    if (st != ZX_OK)
        return st;
    st = sys_get_object(vmo, ZX_OBJ_TYPE_VMO, ZX_RIGHT_MAP, &mobj, &vmo_rights);
    if (st != ZX_OK) {
        kobject_release(vobj);
        return st;
    }
    st = sys_check_out_ptr(mapped_addr, sizeof(zx_vaddr_t));
    struct vmar *vmar = vmar_from_object(vobj);
    vaddr_t base = 0;
    if (st == ZX_OK)
        st = vmar_map(vmar, options, vmar_offset, vmo_from_object(mobj), vmo_offset, len,
                      rights_perms(vmar_rights, vmo_rights), &base);
    kobject_release(mobj);
    if (st == ZX_OK) {
        zx_vaddr_t out = base;
        st = copy_to_user(mapped_addr, &out, sizeof(out));
        if (st != ZX_OK)
            ignore_status(vmar_unmap(vmar, base, len));  // the caller cannot learn where it went: undo
    }
    kobject_release(vobj);
    return st;
}

int64_t sys_vmar_unmap(zx_handle_t handle, zx_vaddr_t addr, size_t len) {
    struct kobject *obj;
    zx_status_t st = sys_get_object(handle, ZX_OBJ_TYPE_VMAR, 0, &obj, NULL);
    if (st != ZX_OK)
        return st;
    st = vmar_unmap(vmar_from_object(obj), addr, len);
    kobject_release(obj);
    return st;
}

int64_t sys_vmar_protect(zx_handle_t handle, zx_vm_option_t options, zx_vaddr_t addr, size_t len) {
    struct kobject *obj;
    zx_status_t st =
        sys_get_object(handle, ZX_OBJ_TYPE_VMAR, perm_rights(options & VMAR_PERM_RWX), &obj, NULL);
    if (st != ZX_OK)
        return st;
    st = vmar_protect(vmar_from_object(obj), options, addr, len);
    kobject_release(obj);
    return st;
}

int64_t sys_vmar_op_range(zx_handle_t handle, uint32_t op, zx_vaddr_t address, size_t size,
                          user_addr_t buffer, size_t buffer_size) {
    struct kobject *obj;
    zx_rights_t rights;
    zx_status_t st = sys_get_object(handle, ZX_OBJ_TYPE_VMAR, 0, &obj, &rights);
    if (st != ZX_OK)
        return st;
    if (buffer != 0 || buffer_size != 0)
        st = ZX_ERR_INVALID_ARGS;
    else
        st = vmar_op_range(vmar_from_object(obj), op, address, size, rights);
    for (unsigned tries = 0; st == ZX_ERR_NO_MEMORY && oom_retry(&tries) == OOM_RETRY;)
        st = vmar_op_range(vmar_from_object(obj), op, address, size, rights);
    kobject_release(obj);
    return st;
}
