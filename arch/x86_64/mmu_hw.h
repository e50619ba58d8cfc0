// The three hardware operations the pure page-table code needs. The kernel implements them with
// invlpg, CR3 and CR4 (arch/x86_64/mmu.c); host tests link stand-ins (test/host/host_arch.c).
#ifndef ARCH_X86_64_MMU_HW_H
#define ARCH_X86_64_MMU_HW_H

#include "kernel/types.h"

// Drops the TLB entry (4 KiB or large) for `va` and the paging-structure caches.
void arch_tlb_invalidate_page(vaddr_t va);
// Drops every non-global TLB entry; global ones too if `global`.
void arch_tlb_flush_all(bool global);
// Loads `root_pa` (a PML4) into CR3.
void arch_mmu_load_root(paddr_t root_pa);

#endif  // ARCH_X86_64_MMU_HW_H
