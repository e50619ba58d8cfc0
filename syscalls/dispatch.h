// The syscall layer's entry from arch code, and direct invocation (for in-kernel tests).
#ifndef SYSCALLS_DISPATCH_H
#define SYSCALLS_DISPATCH_H

#include "arch/x86_64/trap.h"
#include "kernel/types.h"

// Runs syscall `nr` with its eight raw arguments; returns the value for rax.
int64_t syscall_invoke(uint64_t nr, const uint64_t args[8]);
// Called by syscall.S with the user's registers; puts the result in tf->rax, then lets the
// process layer end the thread if its process is being killed (process_user_return).
void syscall_dispatch(struct trap_frame *tf);

#endif  // SYSCALLS_DISPATCH_H
