// Syscall helpers over the caller's handle table, and the bounce copy between VMOs and user memory.
#include "syscalls/sys_util.h"

#include "kernel/assert.h"
#include "kernel/heap.h"
#include "kernel/process.h"
#include "vm/vmo.h"

struct handle_table *sys_handles(void) {
    struct process *p = process_current();
    ASSERT_MSG(p != NULL, "%s", "a syscall from a thread with no process");
    return &p->handles;
}

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

zx_status_t vmo_user_copy(struct vmo *vmo, user_addr_t buffer, uint64_t offset, size_t len,
                          bool write) {
    if (len == 0)
        return ZX_OK;
    // A pager VMO: ask for every missing run of the range at once, not page by page below.
    zx_status_t pst = vmo_prepare_range(vmo, offset, len, write);
    if (pst != ZX_OK)
        return pst;
    uint8_t *bounce = kmalloc(PAGE_SIZE);
    if (!bounce)
        return ZX_ERR_NO_MEMORY;
    zx_status_t st = ZX_OK;
    for (size_t done = 0; st == ZX_OK && done < len;) {
        size_t n = MIN(len - done, (size_t)PAGE_SIZE);
        if (write) {
            st = copy_from_user(bounce, buffer + done, n);
            if (st == ZX_OK)
                st = vmo_write(vmo, bounce, offset + done, n);
        } else {
            st = vmo_read(vmo, bounce, offset + done, n);
            if (st == ZX_OK)
                st = copy_to_user(buffer + done, bounce, n);
        }
        done += n;
    }
    kfree(bounce);
    return st;
}
