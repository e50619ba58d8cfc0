// Non-local jumps for the kernel (see setjmp.S).
#ifndef ARCH_X86_64_SETJMP_H
#define ARCH_X86_64_SETJMP_H

#include <stdint.h>

#include "kernel/compiler.h"

struct arch_jmp_buf {
    uint64_t rbx, rbp, r12, r13, r14, r15, rsp, rip;
};

int arch_setjmp(struct arch_jmp_buf *buf) __attribute__((returns_twice));
NORETURN void arch_longjmp(struct arch_jmp_buf *buf, int value);

#endif  // ARCH_X86_64_SETJMP_H
