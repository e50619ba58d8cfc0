// The AP trampoline's layout, shared by smp_trampoline.S and smp.c. The trampoline occupies
// SMP_TRAMPOLINE_PAGES pages below 1 MiB (a start-up IPI names a page number under 0x100):
//   page 0   the code (16 -> 32 -> 64-bit) and, at its end, the parameter block below;
//   page 1   the temporary PML4: entry 0 for the identity map, 256-511 copied from the kernel's;
//   page 2-4 a PDPT, a PD and a PT that identity-map page 0 alone (4 KiB, so no large page
//            straddles firmware memory types).
// An AP loads the temporary PML4 to turn paging on (the instruction after "mov %eax, %cr0" is
// fetched at the same, physical, address), jumps to the kernel's higher half, which the copied
// entries map, and only there switches to the kernel's own tables.
#ifndef ARCH_X86_64_SMP_TRAMPOLINE_H
#define ARCH_X86_64_SMP_TRAMPOLINE_H

#define SMP_TRAMPOLINE_PAGES 5

// Parameter block offsets (bytes from smp_tramp_params), written by the BSP before each start.
#define TRAMP_CR3 0          // u32: physical address of the temporary PML4
#define TRAMP_CR4 4          // u32: the BSP's CR4 (PAE, PGE, SMEP, SMAP...)
#define TRAMP_CR0 8          // u32: the BSP's CR0 (PE, PG, WP...)
#define TRAMP_EFER 12        // u32: EFER bits to set (LME, NXE, SCE)
#define TRAMP_KERNEL_CR3 16  // u64: the kernel's PML4 (arch_kernel_aspace)
#define TRAMP_STACK 24       // u64: top of the AP's boot stack (a kernel address)
#define TRAMP_PERCPU 32      // u64: the AP's struct percpu, passed to smp_ap_main
#define TRAMP_STARTED 40     // u32: set to 1 by the AP once it runs 64-bit code
#define TRAMP_PARAMS_SIZE 48

#ifndef __ASSEMBLER__
#include "kernel/types.h"

struct smp_tramp_params {
    uint32_t cr3;
    uint32_t cr4;
    uint32_t cr0;
    uint32_t efer;
    uint64_t kernel_cr3;
    uint64_t stack_top;
    uint64_t percpu;
    volatile uint32_t started;
    uint32_t reserved;
};
_Static_assert(__builtin_offsetof(struct smp_tramp_params, cr4) == TRAMP_CR4, "trampoline");
_Static_assert(__builtin_offsetof(struct smp_tramp_params, cr0) == TRAMP_CR0, "trampoline");
_Static_assert(__builtin_offsetof(struct smp_tramp_params, efer) == TRAMP_EFER, "trampoline");
_Static_assert(__builtin_offsetof(struct smp_tramp_params, kernel_cr3) == TRAMP_KERNEL_CR3,
               "trampoline");
_Static_assert(__builtin_offsetof(struct smp_tramp_params, stack_top) == TRAMP_STACK, "trampoline");
_Static_assert(__builtin_offsetof(struct smp_tramp_params, percpu) == TRAMP_PERCPU, "trampoline");
_Static_assert(__builtin_offsetof(struct smp_tramp_params, started) == TRAMP_STARTED, "trampoline");
_Static_assert(sizeof(struct smp_tramp_params) == TRAMP_PARAMS_SIZE, "trampoline");

// The trampoline image in the kernel (copied to low memory; never run in place).
extern const char smp_trampoline_start[], smp_trampoline_end[], smp_tramp_params[];
#endif

#endif  // ARCH_X86_64_SMP_TRAMPOLINE_H
