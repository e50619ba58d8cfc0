// Kernel thread context: switching stacks and preparing new ones (context.S, context.c).
#ifndef ARCH_X86_64_CONTEXT_H
#define ARCH_X86_64_CONTEXT_H

#include "kernel/types.h"

// Saves the current context (rsp into *old_rsp) and resumes the one saved at new_rsp.
void arch_context_switch(uint64_t *old_rsp, uint64_t new_rsp);
// Prepares a stack so that switching to *saved_rsp calls thread_start_body(entry, arg).
void arch_thread_init_stack(uint64_t *saved_rsp, vaddr_t stack_top, vaddr_t entry, uint64_t arg);
void arch_thread_trampoline(void);

#endif  // ARCH_X86_64_CONTEXT_H
