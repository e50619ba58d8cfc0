// SYSCALL entry and the way back to user mode.
//
// On SYSCALL the CPU leaves the user rip in rcx and rflags in r11 (masked by FMASK: interrupts off,
// direction and trap flags clear) and does not switch stacks: we swapgs, park the user rsp in the
// per-CPU block, load the thread's kernel stack, and build a struct trap_frame (trap.h) so that
// syscalls, exceptions and thread start-up share one frame layout. syscall_dispatch(frame) leaves
// the result in frame->rax.
//
// Return: SYSRET when the saved rip is in the user half (SYSRET to a non-canonical rip would fault
// in kernel mode with the user's rsp: a classic hole), otherwise IRETQ through trap_return.
#include "arch/x86_64/asm.h"
#include "arch/x86_64/frame.S.h"

#define PERCPU_KERNEL_RSP 8
#define PERCPU_USER_RSP 16
#define SYSCALL_VECTOR 0x100

    .section .text
    .code64
    .globl syscall_entry
syscall_entry:
    swapgs
    movq %rsp, %gs:PERCPU_USER_RSP
    movq %gs:PERCPU_KERNEL_RSP, %rsp
    pushq $SEL_UDATA                    // ss
    pushq %gs:PERCPU_USER_RSP           // rsp
    pushq %r11                          // rflags
    pushq $SEL_UCODE                    // cs
    pushq %rcx                          // rip
    pushq $0                            // error code
    pushq $SYSCALL_VECTOR               // vector
    // Only the registers C code may change, and the arguments the dispatcher reads from the
    // frame (r12, r13: the seventh and eighth): C code preserves rbx, rbp and r12-r15 itself,
    // so the user's are still in them when the call returns. Nothing reads a syscall frame's
    // other slots (registers are read and written through exception frames only); the IRETQ way
    // out below fills them first. rbp stays the user's: backtraces stop at it.
    FRAME_ALLOC
    SAVE_CALLER_SAVED
    movq %r13, 2*8(%rsp)
    movq %r12, 3*8(%rsp)
    movq %rsp, %rdi
    sti
    call syscall_dispatch
    cli
    .globl syscall_return
syscall_return:
    // rsp points at the frame. A rip outside the user half (bits 63..47 not all clear: a
    // non-canonical one, or one in the kernel's half) takes the IRETQ path.
    movq 17*8(%rsp), %rcx
    shrq $47, %rcx
    jnz trap_return_to_user
    RESTORE_CALLER_SAVED_BUT_RCX_R11
    addq $15*8+16, %rsp                 // the registers, vector, error code
    movq 0(%rsp), %rcx                  // rip
    movq 16(%rsp), %r11                 // rflags
    movq 24(%rsp), %rsp                 // user rsp (the kernel stack is no longer needed)
    swapgs
    sysretq

// Enters user mode through the trap-return path (iretq) with the frame at rsp, which restores
// every register: the callee-saved ones (still the user's) go into the frame first.
trap_return_to_user:
    SAVE_CALLEE_SAVED
    jmp trap_return

// arch_enter_user(frame): starts a thread in user mode with the register state in `frame`, which
// must sit at the top of the thread's kernel stack.
    .globl arch_enter_user
arch_enter_user:
    cli
    movq %rdi, %rsp
    jmp trap_return
