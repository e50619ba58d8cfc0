// The kernel's MMU set-up: CPU protection features and the kernel's own page tables, built at boot
// with the page-table layer (the last file of the layering in arch/x86_64/pt.h). Kernel only.
#ifndef ARCH_X86_64_MMU_H
#define ARCH_X86_64_MMU_H

#include "kernel/types.h"
#include "vm/phys_ranges.h"

// What CPUID reported (and arch_mmu_init turned on).
struct arch_mmu_features {
    bool nx;       // EFER.NXE: no-execute pages
    bool smep;     // CR4.SMEP: the kernel never executes user pages
    bool smap;     // CR4.SMAP: the kernel touches user pages only between stac and clac
    bool pge;      // CR4.PGE: global pages survive CR3 loads
    bool page_1g;  // 1 GiB pages (pdpe1gb)
};
extern struct arch_mmu_features arch_mmu_features;

// How the physmap was built (for the boot log and the tests).
struct arch_mmu_physmap_info {
    paddr_t end;       // one past the highest physical address mapped
    size_t pages_1g;
    size_t pages_2m;
    size_t pages_4k;
};
extern struct arch_mmu_physmap_info arch_mmu_physmap_info;

// Turns on NX, WP, PGE, SMEP and SMAP where the CPU has them, builds the kernel's tables
// (arch_kernel_aspace) and switches CR3 to them:
//   - the kernel image: text read+execute, rodata read-only, data and bss read-write, all but text
//     no-execute, all global;
//   - the physmap: every RAM range of physical_ranges at PHYSMAP_BASE + pa, read-write,
//     no-execute, global, with the largest pages that fit (1 GiB if the CPU has them, else 2 MiB);
//   - no identity map, nothing user-accessible.
// Runs on the boot tables, right after pmm_init: the table pages it allocates come from the
// lowest free frames (the pmm hands those out first), all inside the boot physmap's 4 GiB.
void arch_mmu_init(void);

// True for the kinds of physical memory the physmap maps (RAM: available, kernel, modules, boot
// information, ACPI tables and NVS). Firmware-reserved ranges and holes are not mapped.
bool arch_mmu_physmap_maps(enum mem_kind kind);
// The runs of physical memory the physmap maps, in address order: adjacent ranges of
// physical_ranges that it maps, merged, then rounded inwards to pages; empty runs skipped. Start
// with *cursor = 0; each call sets [*out_start, *out_end) to the next run, or returns false.
bool arch_mmu_physmap_next_run(size_t *cursor, paddr_t *out_start, paddr_t *out_end);
// The page size the physmap maps `pa` with, in a run that ends at `end`: 1 GiB if pa is aligned,
// the run holds it and the CPU has 1 GiB pages; else 2 MiB if aligned and it fits; else 4 KiB.
uint64_t arch_mmu_physmap_page_size(paddr_t pa, paddr_t end);

#endif  // ARCH_X86_64_MMU_H
