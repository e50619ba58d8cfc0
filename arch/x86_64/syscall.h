// The SYSCALL mechanism and entering user mode.
#ifndef ARCH_X86_64_SYSCALL_H
#define ARCH_X86_64_SYSCALL_H

#include "arch/x86_64/trap.h"

#define SYSCALL_VECTOR 0x100  // trap_frame.vector of a syscall frame

void arch_syscall_init(void);
// Leaves for user mode with the registers in `frame` (at the top of the kernel stack).
NORETURN void arch_enter_user(struct trap_frame *frame);

#endif  // ARCH_X86_64_SYSCALL_H
