// The entry point of every user program: the kernel (or the launcher) starts the first thread
// with rdi = the bootstrap channel and rsi = a second argument, on a stack of the launcher's
// choosing. We align the stack and hand over to C.
    .text
    .globl _start
    .type _start, @function
_start:
    xorl %ebp, %ebp
    andq $-16, %rsp
    call __jasper_start
    ud2
    .size _start, .-_start
    .section .note.GNU-stack,"",@progbits
