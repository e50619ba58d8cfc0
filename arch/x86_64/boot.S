// The multiboot2 header and the 32-bit entry. GRUB enters boot_entry32 in protected mode, paging
// off, with EAX = the multiboot2 magic and EBX = the physical address of the boot information.
// We build boot page tables that map
//   - the first 4 GiB at 0 (identity, only to survive the switch; dropped later),
//   - the first 4 GiB at the physmap base 0xffff800000000000 (2 MiB pages),
//   - the first 1 GiB at 0xffffffff80000000 (the kernel image; 2 MiB pages),
// turn on PAE, long mode and NX, load a 64-bit GDT and jump to the higher half.
#include "arch/x86_64/asm.h"

#define MB2_MAGIC 0xe85250d6
#define MB2_ARCH_I386 0
#define MB2_HEADER_LEN (mb2_header_end - mb2_header)

    .section .multiboot, "a"
    .balign 8
mb2_header:
    .long MB2_MAGIC
    .long MB2_ARCH_I386
    .long MB2_HEADER_LEN
    .long -(MB2_MAGIC + MB2_ARCH_I386 + MB2_HEADER_LEN)
    // End tag.
    .balign 8
    .short 0
    .short 0
    .long 8
mb2_header_end:

    .section .boot.text, "ax"
    .code32
    .globl boot_entry32
boot_entry32:
    cli
    cld
    movl $boot_stack_top_phys, %esp
    // Save the multiboot registers in callee-saved places the 64-bit code will read.
    movl %eax, %edi
    movl %ebx, %esi

    // Long mode available? (CPUID 0x80000001 EDX bit 29)
    movl $0x80000000, %eax
    cpuid
    cmpl $0x80000001, %eax
    jb boot_no_long_mode
    movl $0x80000001, %eax
    cpuid
    testl $(1 << 29), %edx
    jz boot_no_long_mode

    // Fill the boot page directories: four PDs of 2 MiB pages cover 4 GiB.
    movl $boot_pd_phys, %ebx
    xorl %ecx, %ecx
1:  movl %ecx, %eax
    shll $21, %eax
    orl $(PTE_P | PTE_W | PTE_PS), %eax
    movl %eax, (%ebx, %ecx, 8)
    movl %ecx, %eax
    shrl $11, %eax              // high bits of (ecx << 21)
    movl %eax, 4(%ebx, %ecx, 8)
    incl %ecx
    cmpl $2048, %ecx
    jb 1b

    // PDPT for the low 4 GiB (identity and physmap share it).
    movl $boot_pdpt_low_phys, %ebx
    movl $boot_pd_phys, %eax
    orl $(PTE_P | PTE_W), %eax
    movl %eax, 0(%ebx)
    addl $4096, %eax
    movl %eax, 8(%ebx)
    addl $4096, %eax
    movl %eax, 16(%ebx)
    addl $4096, %eax
    movl %eax, 24(%ebx)

    // PDPT for the top 512 GiB: entry 510 maps the kernel's 1 GiB with the first PD.
    movl $boot_pdpt_high_phys, %ebx
    movl $boot_pd_phys, %eax
    orl $(PTE_P | PTE_W), %eax
    movl %eax, (510 * 8)(%ebx)

    movl $boot_pml4_phys, %ebx
    movl $boot_pdpt_low_phys, %eax
    orl $(PTE_P | PTE_W), %eax
    movl %eax, 0(%ebx)                  // identity
    movl %eax, (256 * 8)(%ebx)          // physmap
    movl $boot_pdpt_high_phys, %eax
    orl $(PTE_P | PTE_W), %eax
    movl %eax, (511 * 8)(%ebx)          // kernel

    // CR4.PAE, CR3, EFER.LME|NXE (NX only if the CPU has it), CR0.PG|WP.
    movl %cr4, %eax
    orl $(1 << 5), %eax
    movl %eax, %cr4
    movl $boot_pml4_phys, %eax
    movl %eax, %cr3
    movl $0x80000001, %eax
    cpuid
    movl $(1 << 8), %ebx                // EFER.LME
    testl $(1 << 20), %edx
    jz 2f
    orl $(1 << 11), %ebx                // EFER.NXE
2:  movl $0xc0000080, %ecx
    rdmsr
    orl %ebx, %eax
    wrmsr
    movl %cr0, %eax
    orl $((1 << 31) | (1 << 16)), %eax
    movl %eax, %cr0

    lgdt boot_gdt_ptr
    ljmp $0x08, $boot_entry64_low

boot_no_long_mode:
    // Say so on COM1 and stop.
    movl $boot_msg_no_lm, %esi
    movw $0x3f8, %dx
3:  lodsb
    testb %al, %al
    jz 4f
    outb %al, %dx
    jmp 3b
4:  hlt
    jmp 4b

    .code64
boot_entry64_low:
    movabsq $boot_entry64, %rax
    jmp *%rax

    .section .boot.data, "aw"
    .balign 8
boot_gdt:
    .quad 0
    .quad 0x00209a0000000000            // 64-bit code
    .quad 0x0000920000000000            // data
boot_gdt_end:
boot_gdt_ptr:
    .short boot_gdt_end - boot_gdt - 1
    .long boot_gdt
boot_msg_no_lm:
    .asciz "Jasper needs a 64-bit (long mode) CPU\r\n"

    .section .text.entry, "ax"
    .code64
boot_entry64:
    movw $0x10, %ax
    movw %ax, %ds
    movw %ax, %es
    movw %ax, %ss
    xorw %ax, %ax
    movw %ax, %fs
    movw %ax, %gs
    movabsq $boot_stack_top, %rsp
    xorl %ebp, %ebp                     // terminates backtraces
    // rdi = multiboot2 magic, rsi = boot information (physical); both zero-extended.
    movl %edi, %edi
    movl %esi, %esi
    call kmain
5:  cli
    hlt
    jmp 5b

    .section .bss
    .balign 4096
    .globl boot_pml4, boot_pd
boot_pml4:
    .skip 4096
boot_pdpt_low:
    .skip 4096
boot_pdpt_high:
    .skip 4096
boot_pd:
    .skip 4 * 4096
    .globl boot_stack_bottom, boot_stack_top
boot_stack_bottom:
    .skip 16384
boot_stack_top:

    .set boot_pml4_phys, boot_pml4 - KERNEL_VMA
    .set boot_pdpt_low_phys, boot_pdpt_low - KERNEL_VMA
    .set boot_pdpt_high_phys, boot_pdpt_high - KERNEL_VMA
    .set boot_pd_phys, boot_pd - KERNEL_VMA
    .set boot_stack_top_phys, boot_stack_top - KERNEL_VMA
