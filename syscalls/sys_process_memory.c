// Another process's memory: process_read_memory and process_write_memory (docs/abi.md §10), for
// debuggers. They go through the VMO mapped at the address, whatever the mapping's permissions,
// up to the end of that one mapping, and bounce through a kernel page as vmo_read/vmo_write do
// (vmo_user_copy).
#include <zircon/syscalls.h>

#include "kernel/process.h"
#include "syscall_decls.h"
#include "syscalls/sys_util.h"
#include "vm/vmar.h"
#include "vm/vmo.h"

#define MEMORY_CALL_MAX ((size_t)64 << 20)

// The VMO behind `vaddr` in the process named by `handle`, the offset there and how many of `len`
// bytes the call may move (to the mapping's end and the VMO's).
static zx_status_t memory_target(zx_handle_t handle, zx_rights_t rights, zx_vaddr_t vaddr,
                                 size_t len, struct vmo **out_vmo, uint64_t *out_offset,
                                 size_t *out_len) {
    struct kobject *obj;
    zx_status_t st = sys_get_object(handle, ZX_OBJ_TYPE_PROCESS, rights, &obj, NULL);
    if (st != ZX_OK)
        return st;
    struct process *p = process_from_object(obj);
    uint64_t in_mapping = 0;
    mutex_acquire(&p->lock);
    if (!p->aspace)
        st = ZX_ERR_BAD_STATE;  // the process has ended
    else if (vm_aspace_vmo_at(p->aspace, vaddr, out_vmo, out_offset, &in_mapping) != ZX_OK)
        st = ZX_ERR_NO_MEMORY;  // nothing mapped there (Zircon's answer)
    mutex_release(&p->lock);
    kobject_release(obj);
    if (st != ZX_OK)
        return st;
    uint64_t vmo_size = vmo_get_size(*out_vmo);
    if (*out_offset >= vmo_size) {
        kobject_release(vmo_object(*out_vmo));
        return ZX_ERR_OUT_OF_RANGE;
    }
    uint64_t n = MIN((uint64_t)len, in_mapping);
    *out_len = (size_t)MIN(n, vmo_size - *out_offset);
    return ZX_OK;
}

static zx_status_t process_memory(zx_handle_t handle, zx_vaddr_t vaddr, user_addr_t buffer,
                                  size_t buffer_size, user_addr_t actual, bool write) {
    if (!buffer || buffer_size == 0 || buffer_size > MEMORY_CALL_MAX ||
        !user_range_ok(buffer, buffer_size) || (actual && !user_range_ok(actual, sizeof(size_t))))
        return ZX_ERR_INVALID_ARGS;
    struct vmo *vmo;
    uint64_t offset;
    size_t len;
    zx_status_t st = memory_target(handle, write ? ZX_RIGHT_WRITE : ZX_RIGHT_READ | ZX_RIGHT_WRITE,
                                   vaddr, buffer_size, &vmo, &offset, &len);
    if (st != ZX_OK)
        return st;
    st = vmo_user_copy(vmo, buffer, offset, len, write);
    kobject_release(vmo_object(vmo));
    if (st == ZX_OK && actual)
        st = copy_to_user(actual, &len, sizeof(len));
    return st;
}

int64_t sys_process_read_memory(zx_handle_t handle, zx_vaddr_t vaddr, user_addr_t buffer,
                                size_t buffer_size, user_addr_t actual) {
    return process_memory(handle, vaddr, buffer, buffer_size, actual, false);
}

int64_t sys_process_write_memory(zx_handle_t handle, zx_vaddr_t vaddr, user_addr_t buffer,
                                 size_t buffer_size, user_addr_t actual) {
    return process_memory(handle, vaddr, buffer, buffer_size, actual, true);
}
