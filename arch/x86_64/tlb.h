// TLB consistency for page-table changes: which tree the CPU translates with (CR3), and the batch
// of invalidations one operation collects and issues once, at its end, before it frees the table
// pages it unlinked. Pure code: the hardware is reached only through tlb_hw.h. A later SMP
// shootdown grows this file: tlb_batch_finish then also reaches the other CPUs that may hold the
// tree (and every CPU for the shared upper half). tlb_active_root is per CPU already.
#ifndef ARCH_X86_64_TLB_H
#define ARCH_X86_64_TLB_H

#include "arch/x86_64/smp.h"
#include "arch/x86_64/va.h"
#include "kernel/list.h"
#include "kernel/types.h"
#include "vm/page.h"

// How many pages one operation invalidates one by one before it flushes the whole TLB instead.
#define TLB_BATCH_MAX 32

// Physical address of the root in this CPU's CR3 (0 before the kernel's tables are live). Changes
// to that tree, and to the upper half of any tree (shared by every address space), reach the TLB.
extern paddr_t tlb_active_roots[SMP_MAX_CPUS];
#define tlb_active_root (tlb_active_roots[smp_cpu_num()])

// Counters for tests and benchmarks (never reset).
struct tlb_stats {
    uint64_t invlpg;        // single-page invalidations issued
    uint64_t flush;         // full flushes of non-global entries
    uint64_t flush_global;  // full flushes including global entries
};
extern struct tlb_stats tlb_stats;

// Makes `root_pa` (a PML4) the tree the CPU translates with; nothing if it is already.
void tlb_activate(paddr_t root_pa);
// Drops every non-global TLB entry; global ones too if `global`.
void tlb_flush_all(bool global);

// One operation's TLB work: pages to invalidate (or "too many": flush everything), and the pages
// (unlinked tables) that may be freed only after the invalidation.
struct tlb_batch {
    paddr_t root_pa;  // the tree being changed
    size_t count;
    bool overflow;    // more than TLB_BATCH_MAX pages: flush all
    bool global;      // an upper-half (global) page is among them
    bool changed;     // some entry of the tree changed (tracked here or not): other CPUs flush
    vaddr_t va[TLB_BATCH_MAX];
    struct list_node free_pages;  // vm_page_t.node of pages to free after the invalidation
};

void tlb_batch_init(struct tlb_batch *b, paddr_t root_pa);
// True if a change at `va` in the batch's tree can be in a TLB: an upper-half address, or any
// address of the active tree.
static inline bool tlb_batch_tracks(const struct tlb_batch *b, vaddr_t va) {
    return va_is_upper(va) || b->root_pa == tlb_active_root;
}
// Notes that the translation of the page (or large page) at `va` changed; ignored when
// tlb_batch_tracks says no TLB can hold it. Inline: the range operations call it once per page.
static inline void tlb_batch_add(struct tlb_batch *b, vaddr_t va) {
    b->changed = true;
    if (!tlb_batch_tracks(b, va))
        return;
    b->global = b->global || va_is_upper(va);
    if (b->count < TLB_BATCH_MAX)
        b->va[b->count++] = va;
    else
        b->overflow = true;
}
// Queues `page` to be freed (to the pmm) by tlb_batch_finish, after the invalidation.
void tlb_batch_defer_free(struct tlb_batch *b, vm_page_t *page);
// Invalidates (invlpg per page, or one full flush past TLB_BATCH_MAX), has every CPU that may hold
// the tree flush (tlb_hw_shootdown) if anything changed, then frees the queued pages. The batch is
// empty afterwards.
void tlb_batch_finish(struct tlb_batch *b);

#endif  // ARCH_X86_64_TLB_H
