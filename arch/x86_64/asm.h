// Constants shared by assembly and C in arch/x86_64/.
#ifndef ARCH_X86_64_ASM_H
#define ARCH_X86_64_ASM_H

#define KERNEL_VMA 0xffffffff80000000
#define PHYSMAP_BASE 0xffff800000000000

#define PTE_P 0x1
#define PTE_W 0x2
#define PTE_U 0x4
#define PTE_PWT 0x8
#define PTE_PCD 0x10
#define PTE_A 0x20
#define PTE_D 0x40
#define PTE_PS 0x80
#define PTE_G 0x100

// GDT selectors. SYSRET requires user data right before user code (STAR layout).
#define SEL_KCODE 0x08
#define SEL_KDATA 0x10
#define SEL_UDATA 0x1b
#define SEL_UCODE 0x23
#define SEL_TSS 0x28

#endif  // ARCH_X86_64_ASM_H
