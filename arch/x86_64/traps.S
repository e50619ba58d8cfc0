// Trap entry stubs: every vector pushes an error code (a zero where the CPU pushes none) and its
// number, then trap_common saves the general registers as a struct trap_frame (trap.h), calls
// trap_dispatch(frame) and returns with iretq. swapgs runs when the trap came from user mode.
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
    jmp trap_common
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

