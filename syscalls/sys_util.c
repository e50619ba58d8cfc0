// Syscall helpers over the caller's handle table, and the copy between VMOs and user memory.
#include "syscalls/sys_util.h"

#include "arch/x86_64/faults.h"
#include "kernel/assert.h"
#include "kernel/process.h"
#include "vm/vmo.h"

zx_status_t sys_get_object(zx_handle_t h, zx_obj_type_t type, zx_rights_t rights,
                           struct kobject **out, zx_rights_t *out_rights) {
    return handle_get(sys_handles(), h, type, rights, out, out_rights);
}

zx_status_t sys_give_handle(struct kobject *obj, zx_rights_t rights, user_addr_t out) {
    if (!user_range_ok(out, sizeof(zx_handle_t)) || out == 0)
        return ZX_ERR_INVALID_ARGS;
    zx_handle_t h;
    zx_status_t st = handle_add(sys_handles(), obj, rights, &h);
    if (st != ZX_OK)
        return st;
    st = copy_to_user(out, &h, sizeof(h));
    if (st != ZX_OK)
        sys_discard_handle(h);
    return st;
}

void sys_discard_handle(zx_handle_t h) {
    zx_status_t st = handle_close(sys_handles(), h);
    (void)st;
}

zx_status_t sys_check_out_ptr(user_addr_t ptr, size_t size) {
    if (ptr == 0 || !user_range_ok(ptr, size))
        return ZX_ERR_INVALID_ARGS;
    return ZX_OK;
}

// vmo_user_copy's step: the user side of one page's copy, with the copy that does not fault.
struct user_transfer {
    user_addr_t buffer;
    bool write;         // user -> VMO
    uint64_t fault_va;  // where the last step faulted
};

static zx_status_t user_step(void *ctx, void *kva, size_t done, size_t n) {
    struct user_transfer *x = ctx;
    void *user = (void *)(x->buffer + done);
    return x->write ? arch_user_copy_nofault(kva, user, n, &x->fault_va)
                    : arch_user_copy_nofault(user, kva, n, &x->fault_va);
}

zx_status_t vmo_user_copy(struct vmo *vmo, user_addr_t buffer, uint64_t offset, size_t len,
                          bool write) {
    if (len == 0)
        return ZX_OK;
    if (!user_range_ok(buffer, len))
        return ZX_ERR_INVALID_ARGS;
    // Straight between the VMO's pages and user memory under the tree lock. A user page that is
    // not mapped in (or not writable yet) stops the copy; it is faulted in here, with the lock
    // let go (it may be a mapping of this very VMO), and the copy goes on from that page. Another
    // CPU may unmap it again in between: then the next round faults again, and vm_fault says
    // NOT_FOUND once the mapping is gone.
    struct user_transfer x = {.buffer = buffer, .write = write};
    size_t done = 0;
    for (;;) {
        size_t moved;
        zx_status_t st = vmo_transfer(vmo, offset + done, len - done, write, user_step, &x, &moved);
        done += moved;
        x.buffer = buffer + done;
        if (st != ZX_ERR_SHOULD_WAIT)
            return st;
        st = vm_fault(vm_aspace_active(), x.fault_va, write ? 0 : VM_FAULT_WRITE, NULL);
        if (st != ZX_OK)
            return st;
    }
}
