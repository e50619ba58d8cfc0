// arch_setjmp/arch_longjmp: save and restore the callee-saved registers, stack and return address.
// Used by the in-kernel test runner to abandon a test that faulted or panicked.
    .section .text
    .code64

// int arch_setjmp(struct arch_jmp_buf *buf): returns 0, or the value given to arch_longjmp.
    .globl arch_setjmp
arch_setjmp:
    movq %rbx, 0(%rdi)
    movq %rbp, 8(%rdi)
    movq %r12, 16(%rdi)
    movq %r13, 24(%rdi)
    movq %r14, 32(%rdi)
    movq %r15, 40(%rdi)
    leaq 8(%rsp), %rax
    movq %rax, 48(%rdi)                 // the caller's rsp after return
    movq (%rsp), %rax
    movq %rax, 56(%rdi)                 // return address
    xorl %eax, %eax
    ret

// void arch_longjmp(struct arch_jmp_buf *buf, int value): value must be non-zero.
    .globl arch_longjmp
arch_longjmp:
    movq 0(%rdi), %rbx
    movq 8(%rdi), %rbp
    movq 16(%rdi), %r12
    movq 24(%rdi), %r13
    movq 32(%rdi), %r14
    movq 40(%rdi), %r15
    movq 48(%rdi), %rsp
    movl %esi, %eax
    jmpq *56(%rdi)
