// TLB batches and the active root. See tlb.h.
#include "arch/x86_64/tlb.h"

#include "arch/x86_64/tlb_hw.h"
#include "vm/pmm.h"

paddr_t tlb_active_roots[SMP_MAX_CPUS];
struct tlb_stats tlb_stats;

void tlb_activate(paddr_t root_pa) {
    if (tlb_active_root == root_pa)
        return;
    tlb_active_root = root_pa;
    tlb_hw_load_root(root_pa);
}

void tlb_flush_all(bool global) {
    tlb_hw_flush_all(global);
    if (global)
        tlb_stats.flush_global++;
    else
        tlb_stats.flush++;
}

void tlb_batch_init(struct tlb_batch *b, paddr_t root_pa) {
    b->root_pa = root_pa;
    b->count = 0;
    b->overflow = false;
    b->global = false;
    b->changed = false;
    list_init(&b->free_pages);
}

void tlb_batch_defer_free(struct tlb_batch *b, vm_page_t *page) {
    list_add_tail(&b->free_pages, &page->node);
}

void tlb_batch_finish(struct tlb_batch *b) {
    if (b->overflow) {
        tlb_flush_all(b->global);
    } else {
        for (size_t i = 0; i < b->count; i++)
            tlb_hw_invalidate_page(b->va[i]);
        tlb_stats.invlpg += b->count;
    }
    // Other CPUs (and this one, if the operation migrated) may cache the old entries or the
    // unlinked tables: they flush before any page is reused.
    if (b->changed || !list_is_empty(&b->free_pages))
        tlb_hw_shootdown(b->root_pa, b->global);
    b->count = 0;
    b->overflow = false;
    b->global = false;
    b->changed = false;
    struct list_node *n;
    while ((n = list_remove_head(&b->free_pages)) != NULL)
        pmm_free_page(containerof(n, vm_page_t, node));
}
