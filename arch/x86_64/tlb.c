// TLB batches and the active root. See tlb.h.
#include "arch/x86_64/tlb.h"

#include "arch/x86_64/tlb_hw.h"
#include "vm/pmm.h"

paddr_t tlb_active_roots[SMP_MAX_CPUS];
struct tlb_stats tlb_stats;
bool tlb_shootdown_enabled = true;

static void count(uint64_t *counter, uint64_t n) {
    __atomic_fetch_add(counter, n, __ATOMIC_RELAXED);
}

void tlb_activate(paddr_t root_pa) {
    paddr_t *slot = &tlb_active_roots[smp_cpu_num()];
    if (*slot == root_pa)
        return;
    // Published before the CR3 load (serialising): see the file comment of tlb.h.
    __atomic_store_n(slot, root_pa, __ATOMIC_SEQ_CST);
    tlb_hw_load_root(root_pa);
}

void tlb_flush_all(bool global) {
    tlb_hw_flush_all(global);
    count(global ? &tlb_stats.flush_global : &tlb_stats.flush, 1);
}

void tlb_batch_init(struct tlb_batch *b) {
    b->nroots = 0;
    b->any_root = false;
    b->count = 0;
    b->overflow = false;
    b->global = false;
    list_init(&b->free_pages);
}

void tlb_batch_add_tree(struct tlb_batch *b, paddr_t root_pa) {
    for (uint32_t i = 0; i < b->nroots; i++) {
        if (b->roots[i] == root_pa)
            return;
    }
    if (b->nroots < TLB_BATCH_ROOTS)
        b->roots[b->nroots++] = root_pa;
    else
        b->any_root = true;
}

// True if `root` (a CPU's root) is one of the trees `b` changes.
static bool changes_tree(const struct tlb_batch *b, paddr_t root) {
    for (uint32_t i = 0; i < b->nroots; i++) {
        if (b->roots[i] == root)
            return true;
    }
    return false;
}

void tlb_batch_defer_free(struct tlb_batch *b, vm_page_t *page) {
    list_add_tail(&b->free_pages, &page->node);
}

uint64_t tlb_batch_holders(const struct tlb_batch *b) {
    unsigned n = smp_cpus_online();
    uint64_t all = n >= 64 ? ~0ull : (1ull << n) - 1;
    if (b->global || b->any_root)
        return all;
    // One CPU (the caller): no other CPU's root to order the page-table writes against.
    if (n == 1)
        return changes_tree(b, tlb_active_roots[0]) ? 1 : 0;
    __atomic_thread_fence(__ATOMIC_SEQ_CST);  // the page-table writes before the roots' reads
    uint64_t cpus = 0;
    for (unsigned cpu = 0; cpu < n; cpu++)
        if (changes_tree(b, __atomic_load_n(&tlb_active_roots[cpu], __ATOMIC_RELAXED)))
            cpus |= 1ull << cpu;
    return cpus;
}

void tlb_batch_invalidate_local(const struct tlb_batch *b, bool counted) {
    if (b->overflow) {
        tlb_hw_flush_all(b->global);
        if (counted)
            count(b->global ? &tlb_stats.flush_global : &tlb_stats.flush, 1);
        return;
    }
    for (size_t i = 0; i < b->count; i++)
        tlb_hw_invalidate_page(b->va[i]);
    if (counted)
        count(&tlb_stats.invlpg, b->count);
}

void tlb_batch_finish(struct tlb_batch *b) {
    if (b->count > 0 || b->overflow)
        tlb_hw_sync_batch(b);
    b->count = 0;
    b->overflow = false;
    b->global = false;
    struct list_node *n;
    while ((n = list_remove_head(&b->free_pages)) != NULL)
        pmm_free_page(containerof(n, vm_page_t, node));
}
