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

#endif  // ARCH_X86_64_FRAME_S_H
