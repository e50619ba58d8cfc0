// The hardware operations the pure page-table code needs, and nothing else. The kernel
// implements them with invlpg, CR3 and CR4 (arch/x86_64/tlb_hw.c) and reaches the other CPUs with
// IPIs (arch/x86_64/tlb_shootdown.c); host tests link one-CPU stand-ins (test/host/host_arch.c).
// Only tlb.c calls them: the rest of the layer goes through tlb.h.
#ifndef ARCH_X86_64_TLB_HW_H
#define ARCH_X86_64_TLB_HW_H

#include "kernel/types.h"

struct tlb_batch;

// Drops this CPU's TLB entry (4 KiB or large) for `va` and the paging-structure caches.
void tlb_hw_invalidate_page(vaddr_t va);
// Drops every non-global TLB entry of this CPU; global ones too if `global`.
void tlb_hw_flush_all(bool global);
// Loads `root_pa` (a PML4) into this CPU's CR3.
void tlb_hw_load_root(paddr_t root_pa);
// Makes every CPU of tlb_batch_holders(b) drop what `b` changed before it returns: the caller
// itself directly, the others with one IPI round whose acknowledgements it waits for.
void tlb_hw_sync_batch(const struct tlb_batch *b);

#endif  // ARCH_X86_64_TLB_HW_H
