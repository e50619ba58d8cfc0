// Helpers shared by the syscall handlers: handle lookups in the caller's table and handing new
// handles back to user space without losing anything on failure.
#ifndef SYSCALLS_SYS_UTIL_H
#define SYSCALLS_SYS_UTIL_H

#include <zircon/types.h>

#include "kernel/assert.h"
#include "kernel/handle.h"
#include "kernel/process.h"
#include "syscalls/user_copy.h"

// The caller's handle table. Inline, three loads: only a user thread (which always has a process)
// can make a syscall.
static inline struct handle_table *sys_handles(void) {
    struct uthread *ut = uthread_current();
    DEBUG_ASSERT(ut != NULL && ut->proc != NULL);
    return &ut->proc->handles;
}

// Looks up `h` in the caller's table (BAD_HANDLE, WRONG_TYPE, ACCESS_DENIED in that order); on
// success *out is a new reference the caller must release.
zx_status_t sys_get_object(zx_handle_t h, zx_obj_type_t type, zx_rights_t rights,
                           struct kobject **out, zx_rights_t *out_rights) MUST_USE;

// Adds a handle to `obj` with `rights` to the caller's table and writes its value to user memory
// at `out`. If the write fails the handle is closed again and the copy's status returned, so a
// bad output pointer loses nothing. The caller keeps (and must release) its own reference.
zx_status_t sys_give_handle(struct kobject *obj, zx_rights_t rights, user_addr_t out) MUST_USE;

// Closes a handle of the caller's table during clean-up, where a failure has nothing to report.
void sys_discard_handle(zx_handle_t h);

// Validates a user output pointer for `size` bytes up front (range only; INVALID_ARGS).
zx_status_t sys_check_out_ptr(user_addr_t ptr, size_t size) MUST_USE;

struct vmo;
// Moves `len` bytes between `vmo` at `offset` and the user buffer (write: into the VMO) directly
// between the VMO's pages and user memory (vmo_transfer with a copy that never faults under the
// tree lock; a missing user page is faulted in with the lock let go, and the copy goes on). The
// VMO range must already be checked. A buffer outside the user range is INVALID_ARGS; otherwise
// the first failing step's status (NOT_FOUND / ACCESS_DENIED for the user buffer as vm_fault
// says, OUT_OF_RANGE if the VMO shrank, NO_MEMORY).
zx_status_t vmo_user_copy(struct vmo *vmo, user_addr_t buffer, uint64_t offset, size_t len,
                          bool write) MUST_USE;

#endif  // SYSCALLS_SYS_UTIL_H
