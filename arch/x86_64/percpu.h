// Per-CPU data, reached through GS in kernel mode. Jasper runs on one CPU; the layout is fixed
// because syscall.S reads its first fields by offset.
#ifndef ARCH_X86_64_PERCPU_H
#define ARCH_X86_64_PERCPU_H

#include "kernel/types.h"

struct thread;

struct percpu {
    struct percpu *self;          // offset 0
    uint64_t kernel_rsp;          // offset 8: top of the current thread's kernel stack
    uint64_t user_rsp_scratch;    // offset 16: user rsp while syscall entry switches stacks
    struct thread *current;       // offset 24
    uint32_t cpu_num;             // this CPU's number, 0 for the boot CPU
};
_Static_assert(__builtin_offsetof(struct percpu, kernel_rsp) == 8, "syscall.S uses offset 8");
_Static_assert(__builtin_offsetof(struct percpu, user_rsp_scratch) == 16, "syscall.S uses 16");

extern struct percpu percpu0;

// The calling CPU's number. Callers that must stay on one CPU keep interrupts off (no migration).
static inline uint32_t arch_cpu_num(void) {
    uint32_t n;
    __asm__ volatile("movl %%gs:%c1, %0"
                     : "=r"(n)
                     : "i"(__builtin_offsetof(struct percpu, cpu_num)));
    return n;
}

// Points GS (and KERNEL_GS_BASE, for swapgs) at percpu0.
void percpu_init(void);

#endif  // ARCH_X86_64_PERCPU_H
