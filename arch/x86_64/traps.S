// Trap entry stubs: every vector pushes an error code (a zero where the CPU pushes none) and its
// number, then trap_common saves the general registers as a struct trap_frame (trap.h), calls
// trap_dispatch(frame) and returns with iretq. swapgs runs when the trap came from user mode.
//
// A #PF from user mode has its own way in and out (page_fault_entry): a direct call of
// trap_user_page_fault instead of the generic dispatch, only the caller-saved registers saved
// while the fault resolves, and a return that knows it goes to user mode. It is the most frequent
// trap by far (every demand fault).
#include "arch/x86_64/asm.h"
#include "arch/x86_64/frame.S.h"

    .section .text
    .code64

// 256 stubs of 16 bytes each, stub v at trap_stubs + 16 * v (descriptors.c computes the IDT
// from that). Vectors for which the CPU pushes an error code: 8, 10-14, 17, 21, 29, 30.
    .balign 16
    .globl trap_stubs
trap_stubs:
    .set vec, 0
    .rept 256
    .balign 16
    .if !((vec == 8) || (vec >= 10 && vec <= 14) || (vec == 17) || (vec == 21) || (vec == 29) || (vec == 30))
    pushq $0
    .endif
    pushq $vec
    .if vec == 14
    jmp page_fault_entry
    .else
    jmp trap_common
    .endif
    .set vec, vec + 1
    .endr

trap_common:
    // If we came from user mode (CS & 3 at 24(%rsp) after vector and error code), swap GS.
    testb $3, 24(%rsp)
    jz 1f
    swapgs
1:  PUSH_GPRS
    cld
    movq %rsp, %rdi
    // A frame-pointer link so backtraces run through the trap into the interrupted code.
    movq 17*8(%rsp), %rax               // saved rip
    pushq %rax
    pushq 8*8+8(%rsp)                   // saved rbp
    movq %rsp, %rbp
    call trap_dispatch
    addq $16, %rsp
    .globl trap_return
trap_return:
    POP_GPRS
    addq $16, %rsp                      // vector and error code
    testb $3, 8(%rsp)
    jz 2f
    swapgs
2:  iretq

// Vector 14 (the CPU pushed the error code, the stub the vector). A fault in kernel mode (a user
// copy, or a kernel bug) takes the generic path. From user mode, the fast path saves only the
// registers C code may change: trap_user_page_fault preserves the others itself, and returns true
// when the fault is resolved, so they never need to be in memory. An unresolved fault becomes an
// exception, whose handlers read and write every register: then the frame is completed (the
// callee-saved registers still hold the user's values) and trap_user_page_fault_exception runs,
// with the generic way out. The user's rbp stays in rbp: backtraces stop at it (not a kernel
// address), as at syscall_dispatch.
page_fault_entry:
    testb $3, 24(%rsp)
    jz trap_common
    swapgs
    FRAME_ALLOC
    SAVE_CALLER_SAVED
    cld
    movq %rsp, %rdi
    call trap_user_page_fault
    testb %al, %al
    jz 1f
    RESTORE_CALLER_SAVED
    addq $15*8+16, %rsp                 // the frame, vector and error code
    swapgs
    iretq
1:  SAVE_CALLEE_SAVED
    movq %rsp, %rdi
    call trap_user_page_fault_exception
    POP_GPRS
    addq $16, %rsp                      // vector and error code
    swapgs
    iretq

