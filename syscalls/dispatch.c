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
#define SYSCALL_ARG(i) a[i]
    switch (nr) {
#include "syscall_table.inc"
    default:
        return ZX_ERR_BAD_SYSCALL;
    }
#undef SYSCALL_ARG
}

// The i-th argument register of the syscall ABI (rdi, rsi, rdx, r10, r8, r9, r12, r13); `i` is a
// constant, so this folds to one load from the frame.
#define FRAME_ARG(tf, i)                                                                       \
    ((i) == 0   ? (tf)->rdi                                                                    \
     : (i) == 1 ? (tf)->rsi                                                                    \
     : (i) == 2 ? (tf)->rdx                                                                    \
     : (i) == 3 ? (tf)->r10                                                                    \
     : (i) == 4 ? (tf)->r8                                                                     \
     : (i) == 5 ? (tf)->r9                                                                     \
     : (i) == 6 ? (tf)->r12                                                                    \
                : (tf)->r13)

// The same switch as syscall_invoke, with each handler's arguments loaded straight from the frame
// (no copy into an array, no second call).
static int64_t syscall_invoke_frame(uint64_t nr, const struct trap_frame *tf) {
#define SYSCALL_ARG(i) FRAME_ARG(tf, i)
    switch (nr) {
#include "syscall_table.inc"
    default:
        return ZX_ERR_BAD_SYSCALL;
    }
#undef SYSCALL_ARG
}

void syscall_dispatch(struct trap_frame *tf) {
    tf->rax = (uint64_t)syscall_invoke_frame(tf->rax, tf);
    // A call that closed, sent or let go of a channel endpoint may have left a cycle nothing can
    // read: it is collected before the caller goes on (two loads when there is nothing to do).
    channel_gc_run_pending();
    // process_user_return's test inline: leave for good if the process is being killed.
    struct uthread *ut = uthread_current();
    if (unlikely(ut->kill_pending))
        process_user_return(tf);
}
