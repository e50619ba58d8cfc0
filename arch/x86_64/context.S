// Kernel context switch. arch_context_switch(&old->saved_rsp, new->saved_rsp) pushes the
// callee-saved registers on the old stack, saves rsp, switches to the new stack and pops the new
// thread's registers. A new thread's stack is prepared by arch_thread_init_stack (context.c) to
// "return" into arch_thread_trampoline.
    .section .text
    .code64

    .globl arch_context_switch
arch_context_switch:
    pushq %rbp
    pushq %rbx
    pushq %r12
    pushq %r13
    pushq %r14
    pushq %r15
    movq %rsp, (%rdi)
    movq %rsi, %rsp
    popq %r15
    popq %r14
    popq %r13
    popq %r12
    popq %rbx
    popq %rbp
    ret

// The first code a new thread runs: r12 = entry, r13 = argument (set by arch_thread_init_stack).
    .globl arch_thread_trampoline
arch_thread_trampoline:
    movq %r12, %rdi
    movq %r13, %rsi
    xorl %ebp, %ebp                     // ends backtraces
    call thread_start_body              // never returns
    ud2
