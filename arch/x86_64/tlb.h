// TLB consistency for page-table changes: which tree each CPU translates with (CR3), and the batch
// of invalidations one operation collects and issues once, at its end, on every CPU that may hold
// a stale entry (docs/smp.md, "TLB shootdowns"), before it frees the table pages it unlinked.
// Pure code: the hardware and the other CPUs are reached only through tlb_hw.h.
//
// Why no CPU is missed: a CPU publishes its root in tlb_active_roots before it loads CR3 (a
// serialising instruction), and a batch reads the roots only after a full fence that follows its
// page-table writes. So a CPU that the batch does not see as holding the tree loads CR3 after the
// writes are visible, and walks the new tables; a CPU it does see is invalidated.
#ifndef ARCH_X86_64_TLB_H
#define ARCH_X86_64_TLB_H

#include "arch/x86_64/smp.h"
#include "arch/x86_64/va.h"
#include "kernel/list.h"
#include "kernel/types.h"
#include "vm/page.h"

// How many pages one operation invalidates one by one before it flushes the whole TLB instead.
#define TLB_BATCH_MAX 32
// How many trees one batch names before it treats every CPU as a holder (a VMO range change
// reaches the mappings of several address spaces in one batch).
#define TLB_BATCH_ROOTS 4

// Physical address of the root in this CPU's CR3 (0 before the kernel's tables are live). Changes
// to that tree, and to the upper half of any tree (shared by every address space), reach the TLB.
extern paddr_t tlb_active_roots[SMP_MAX_CPUS];
#define tlb_active_root (tlb_active_roots[smp_cpu_num()])

// Counters for tests and benchmarks (never reset; updated atomically). The invalidation counts
// are the initiating CPU's: what targets of a shootdown do shows in ipi_count(cpu, IPI_TLB).
struct tlb_stats {
    uint64_t invlpg;          // single-page invalidations issued
    uint64_t flush;           // full flushes of non-global entries
    uint64_t flush_global;    // full flushes including global entries
    uint64_t shootdowns;      // batches that had to reach other CPUs (one IPI round each)
    uint64_t shootdown_ipis;  // IPIs those rounds sent
};
extern struct tlb_stats tlb_stats;

// Makes `root_pa` (a PML4) the tree the CPU translates with; nothing if it is already.
void tlb_activate(paddr_t root_pa);
// Drops every non-global TLB entry; global ones too if `global`.
void tlb_flush_all(bool global);

// One operation's TLB work: pages to invalidate (or "too many": flush everything), and the pages
// (unlinked tables) that may be freed only after the invalidation. One operation may change
// several trees (a protect over several mappings, a VMO range change over the mappings of several
// address spaces): the addresses of all of them share `va`, and every holder of any of the trees
// invalidates all of them (an invlpg of an address another tree maps is harmless).
struct tlb_batch {
    paddr_t roots[TLB_BATCH_ROOTS];  // the trees being changed: nroots of them
    uint32_t nroots;
    bool any_root;    // more trees than fit: every online CPU is a holder
    size_t count;
    bool overflow;    // more than TLB_BATCH_MAX pages: flush all
    bool global;      // an upper-half (global) page is among them
    vaddr_t va[TLB_BATCH_MAX];
    struct list_node free_pages;  // vm_page_t.node of pages to free after the invalidation
};

// Starts an empty batch that changes no tree yet (tlb_batch_add_tree names them).
void tlb_batch_init(struct tlb_batch *b);
// Adds the tree `root_pa` to the trees the batch changes (nothing if it is there already).
void tlb_batch_add_tree(struct tlb_batch *b, paddr_t root_pa);
// Notes that the translation of the page (or large page) at `va` changed. Which CPUs must forget
// it is decided once, at tlb_batch_finish. Inline: the range operations call it once per page.
static inline void tlb_batch_add(struct tlb_batch *b, vaddr_t va) {
    b->global = b->global || va_is_upper(va);
    if (b->count < TLB_BATCH_MAX)
        b->va[b->count++] = va;
    else
        b->overflow = true;
}
// Queues `page` to be freed (to the pmm) by tlb_batch_finish, after the invalidation.
void tlb_batch_defer_free(struct tlb_batch *b, vm_page_t *page);
// Invalidates the batch on every CPU that may hold it (invlpg per page, or one full flush past
// TLB_BATCH_MAX; at most one IPI round, and none when only the caller holds the tree), then frees
// the queued pages: no CPU can reach them any more. The batch is empty afterwards.
void tlb_batch_finish(struct tlb_batch *b);

// For tlb_hw_sync_batch: the CPUs (bit i: CPU i) whose TLB may hold what `b` changed: those with
// one of its trees in CR3, every online CPU for an upper-half change. Call after the page-table
// writes. With one CPU online it reads only that CPU's root, without the fence.
uint64_t tlb_batch_holders(const struct tlb_batch *b);
// Drops what `b` changed from the calling CPU's TLB; counted in tlb_stats if `counted` (the
// initiator's work; a shootdown's targets are counted by ipi_count instead).
void tlb_batch_invalidate_local(const struct tlb_batch *b, bool counted);

// Test-only switch: when false, batches invalidate the calling CPU alone (kernel command line
// tlb_shootdown=off). scripts/test shows the TLB tests fail that way.
extern bool tlb_shootdown_enabled;

#endif  // ARCH_X86_64_TLB_H
