// Where an AP starts: in real mode at CS:IP = (trampoline >> 4):0, after a start-up IPI. Copied
// below 1 MiB by smp.c; the layout and the parameter block are in smp_trampoline.h. Code and data
// in the copied part are reached relative to the copy: in 16- and 32-bit code through %ebx (the
// copy's physical base), in 64-bit code rip-relative. It switches 16 -> 32 -> 64-bit with the
// BSP's control registers, then leaves for smp_ap_entry64 in the higher half.
#include "arch/x86_64/asm.h"
#include "arch/x86_64/smp_trampoline.h"

#define OFF(x) ((x) - smp_trampoline_start)
#define PARAM(f) (OFF(smp_tramp_params) + (f))

    .section .rodata.smp_trampoline, "a"
    .balign 16
    .globl smp_trampoline_start, smp_trampoline_end, smp_tramp_params

    .code16
smp_trampoline_start:
    cli
    cld
    movw %cs, %ax
    movw %ax, %ds
    movzwl %ax, %ebx
    shll $4, %ebx                       // ebx = physical base of the copy
    // The GDT pointer and both far-jump targets are absolute: fill them in for this copy.
    leal OFF(tramp_gdt)(%ebx), %eax
    movl %eax, OFF(tramp_gdtr) + 2
    leal OFF(tramp_32)(%ebx), %eax
    movl %eax, OFF(tramp_far32)
    leal OFF(tramp_64)(%ebx), %eax
    movl %eax, OFF(tramp_far64)
    lgdtl OFF(tramp_gdtr)
    movl %cr0, %eax
    orl $1, %eax                        // CR0.PE: protected mode
    movl %eax, %cr0
    ljmpl *OFF(tramp_far32)

    .code32
tramp_32:
    movw $0x10, %ax
    movw %ax, %ds
    movw %ax, %es
    movw %ax, %ss
    // CR4 (PAE first of all), the temporary tables, EFER.LME/NXE/SCE, then CR0.PG: long mode.
    movl PARAM(TRAMP_CR4)(%ebx), %eax
    movl %eax, %cr4
    movl PARAM(TRAMP_CR3)(%ebx), %eax
    movl %eax, %cr3
    movl $0xc0000080, %ecx
    rdmsr
    orl PARAM(TRAMP_EFER)(%ebx), %eax
    wrmsr
    movl PARAM(TRAMP_CR0)(%ebx), %eax
    movl %eax, %cr0
    ljmpl *OFF(tramp_far64)(%ebx)

    .code64
tramp_64:
    movl $1, smp_tramp_params + TRAMP_STARTED(%rip)
    movq smp_tramp_params + TRAMP_STACK(%rip), %rsp
    movq smp_tramp_params + TRAMP_PERCPU(%rip), %rdi
    movq smp_tramp_params + TRAMP_KERNEL_CR3(%rip), %rsi
    movabsq $smp_ap_entry64, %rax
    jmp *%rax

    .balign 8
tramp_gdt:
    .quad 0
    .quad 0x00cf9a000000ffff            // 0x08: 32-bit code
    .quad 0x00cf92000000ffff            // 0x10: data
    .quad 0x00af9a000000ffff            // 0x18: 64-bit code
tramp_gdtr:
    .short 4 * 8 - 1
    .long 0                             // base: filled in by the AP
    .balign 4
tramp_far32:
    .long 0                             // offset: filled in by the AP
    .short 0x08
tramp_far64:
    .long 0
    .short 0x18
    .balign 8
smp_tramp_params:
    .skip TRAMP_PARAMS_SIZE
smp_trampoline_end:

// In the higher half, on the AP's boot stack: rdi = its struct percpu, rsi = the kernel's PML4.
    .section .text
    .code64
    .globl smp_ap_entry64
smp_ap_entry64:
    movq %rsi, %cr3                     // the kernel's tables; the identity page is gone now
    xorl %eax, %eax
    movw %ax, %fs
    movw %ax, %gs
    xorl %ebp, %ebp                     // terminates backtraces
    call smp_ap_main
1:  cli
    hlt
    jmp 1b
