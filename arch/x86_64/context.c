// Preparing a new thread's kernel stack for its first arch_context_switch.
#include "arch/x86_64/context.h"

void arch_thread_init_stack(uint64_t *saved_rsp, vaddr_t stack_top, vaddr_t entry, uint64_t arg) {
    uint64_t *sp = (uint64_t *)stack_top;
    *--sp = 0;  // keeps the trampoline's stack 16-byte aligned at its call
    *--sp = (uint64_t)arch_thread_trampoline;  // arch_context_switch "returns" here
    *--sp = 0;                                 // rbp
    *--sp = 0;                                 // rbx
    *--sp = entry;                             // r12
    *--sp = arg;                               // r13
    *--sp = 0;                                 // r14
    *--sp = 0;                                 // r15
    *saved_rsp = (uint64_t)sp;
}
