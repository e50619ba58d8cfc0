// Assembler macros that save and restore the general registers in struct trap_frame order
// (arch/x86_64/trap.h): shared by the trap stubs (traps.S) and the SYSCALL entry (syscall.S).
#ifndef ARCH_X86_64_FRAME_S_H
#define ARCH_X86_64_FRAME_S_H

.macro PUSH_GPRS
    pushq %rax
    pushq %rbx
    pushq %rcx
    pushq %rdx
    pushq %rsi
    pushq %rdi
    pushq %rbp
    pushq %r8
    pushq %r9
    pushq %r10
    pushq %r11
    pushq %r12
    pushq %r13
    pushq %r14
    pushq %r15
.endm

.macro POP_GPRS
    popq %r15
    popq %r14
    popq %r13
    popq %r12
    popq %r11
    popq %r10
    popq %r9
    popq %r8
    popq %rbp
    popq %rdi
    popq %rsi
    popq %rdx
    popq %rcx
    popq %rbx
    popq %rax
.endm

// The same frame in two halves, for the user #PF's fast path (traps.S): a C function preserves
// rbx, rbp and r12-r15 itself, so a trap that only calls C and returns need not save them.
// FRAME_ALLOC makes room for all 15 registers; the halves fill their slots (trap.h's order).
.macro FRAME_ALLOC
    subq $15*8, %rsp
.endm

.macro SAVE_CALLER_SAVED
    movq %r11, 4*8(%rsp)
    movq %r10, 5*8(%rsp)
    movq %r9, 6*8(%rsp)
    movq %r8, 7*8(%rsp)
    movq %rdi, 9*8(%rsp)
    movq %rsi, 10*8(%rsp)
    movq %rdx, 11*8(%rsp)
    movq %rcx, 12*8(%rsp)
    movq %rax, 14*8(%rsp)
.endm

// All of them but rcx and r11, which SYSRET's way out loads with the user rip and rflags.
.macro RESTORE_CALLER_SAVED_BUT_RCX_R11
    movq 5*8(%rsp), %r10
    movq 6*8(%rsp), %r9
    movq 7*8(%rsp), %r8
    movq 9*8(%rsp), %rdi
    movq 10*8(%rsp), %rsi
    movq 11*8(%rsp), %rdx
    movq 14*8(%rsp), %rax
.endm

.macro RESTORE_CALLER_SAVED
    RESTORE_CALLER_SAVED_BUT_RCX_R11
    movq 4*8(%rsp), %r11
    movq 12*8(%rsp), %rcx
.endm

.macro SAVE_CALLEE_SAVED
    movq %r15, 0*8(%rsp)
    movq %r14, 1*8(%rsp)
    movq %r13, 2*8(%rsp)
    movq %r12, 3*8(%rsp)
    movq %rbp, 8*8(%rsp)
    movq %rbx, 13*8(%rsp)
.endm

#endif  // ARCH_X86_64_FRAME_S_H
