// Syscall dispatch: the generated switch maps a number to its handler (syscalls/syscalls.table).
// Every call in the table has a handler, and nothing stands in for a missing one: a call without
// its sys_NAME fails the link. Only a number outside the table answers ZX_ERR_BAD_SYSCALL.
#include "syscalls/dispatch.h"

#include <zircon/types.h>

#include "arch/x86_64/syscall.h"
#include "kernel/channel_gc.h"
#include "kernel/process.h"
#include "syscalls/user_copy.h"
#include "syscall_decls.h"

int64_t syscall_invoke(uint64_t nr, const uint64_t a[8]) {
    switch (nr) {
#include "syscall_table.inc"
    default:
        return ZX_ERR_BAD_SYSCALL;
    }
}

void syscall_dispatch(struct trap_frame *tf) {
    const uint64_t args[8] = {tf->rdi, tf->rsi, tf->rdx, tf->r10, tf->r8, tf->r9, tf->r12, tf->r13};
    tf->rax = (uint64_t)syscall_invoke(tf->rax, args);
    // A call that closed, sent or let go of a channel endpoint may have left a cycle nothing can
    // read: it is collected before the caller goes on (two loads when there is nothing to do).
    channel_gc_run_pending();
    process_user_return(tf);
}
