// The three hardware operations the pure page-table code needs, and nothing else. The kernel
// implements them with invlpg, CR3 and CR4 (arch/x86_64/tlb_hw.c); host tests link stand-ins
// (test/host/host_arch.c). Only tlb.c calls them: the rest of the layer goes through tlb.h.
#ifndef ARCH_X86_64_TLB_HW_H
#define ARCH_X86_64_TLB_HW_H

#include "kernel/types.h"

// Drops this CPU's TLB entry (4 KiB or large) for `va` and the paging-structure caches.
void tlb_hw_invalidate_page(vaddr_t va);
// Drops every non-global TLB entry of this CPU; global ones too if `global`.
void tlb_hw_flush_all(bool global);
// Loads `root_pa` (a PML4) into this CPU's CR3.
void tlb_hw_load_root(paddr_t root_pa);
// After a change to the tree at `root_pa` (or to the shared upper half, if `global`): every CPU
// that has the tree in CR3 (every CPU, if `global`) flushes its TLB — this one at once, the others
// through a TLB IPI — and it returns once they all have. Nothing with one CPU online.
void tlb_hw_shootdown(paddr_t root_pa, bool global);
// The TLB IPI's work on its target: flush everything and acknowledge the requests seen.
void tlb_hw_shootdown_answer(void);

#endif  // ARCH_X86_64_TLB_HW_H
