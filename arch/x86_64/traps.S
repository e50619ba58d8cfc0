// Trap entry stubs: every vector pushes an error code (a zero where the CPU pushes none) and its
// number, then trap_common saves the general registers as a struct trap_frame (trap.h), calls
// trap_dispatch(frame) and returns with iretq. swapgs runs when the trap came from user mode.
#include "arch/x86_64/asm.h"
#include "arch/x86_64/frame.S.h"

    .section .text
    .code64

// Vectors for which the CPU pushes an error code: 8, 10-14, 17, 21, 29, 30.

.macro TRAP_STUB v
    .balign 16
trap_stub_\v:
    .if !((\v == 8) || (\v >= 10 && \v <= 14) || (\v == 17) || (\v == 21) || (\v == 29) || (\v == 30))
    pushq $0
    .endif
    pushq $\v
    jmp trap_common
.endm

    .altmacro
.macro TRAP_STUBS from, to
    TRAP_STUB \from
    .if \to-\from
    TRAP_STUBS %(\from+1), \to
    .endif
.endm

    // Split to keep macro recursion shallow.
    TRAP_STUBS 0, 63
    TRAP_STUBS 64, 127
    TRAP_STUBS 128, 191
    TRAP_STUBS 192, 255

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

    .section .rodata
    .balign 8
    .globl trap_stub_table
trap_stub_table:
.macro TRAP_ENTRY v
    .quad trap_stub_\v
.endm
.macro TRAP_ENTRIES from, to
    TRAP_ENTRY \from
    .if \to-\from
    TRAP_ENTRIES %(\from+1), \to
    .endif
.endm
    TRAP_ENTRIES 0, 63
    TRAP_ENTRIES 64, 127
    TRAP_ENTRIES 128, 191
    TRAP_ENTRIES 192, 255
