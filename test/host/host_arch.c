// Host stand-ins for the page-table layer's hardware primitives (arch/x86_64/tlb_hw.h): there is
// no TLB and no CR3 on the host. The layer counts what it asks for in tlb_stats, so tests check that.
#include "arch/x86_64/tlb.h"
#include "arch/x86_64/tlb_hw.h"

void tlb_hw_invalidate_page(vaddr_t va) {
    (void)va;
}

void tlb_hw_flush_all(bool global) {
    (void)global;
}

void tlb_hw_load_root(paddr_t root_pa) {
    (void)root_pa;
}

// One CPU: a batch reaches this CPU's (absent) TLB only if it holds the tree.
void tlb_hw_sync_batch(const struct tlb_batch *b) {
    if (tlb_batch_holders(b) & 1)
        tlb_batch_invalidate_local(b, true);
}
