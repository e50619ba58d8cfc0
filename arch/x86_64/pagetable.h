// x86-64 page tables: entry bits, levels, and the machinery vmiter, ptiter and the range
// operations share (table pages, per-table present counts, TLB batches, the tree checker).
// Pure code: no inline assembly. The hardware is reached only through arch/x86_64/mmu_hw.h.
//
// Levels are numbered by the size one entry maps: level 0 is a page table (PT, 4 KiB entries),
// 1 a page directory (PD, 2 MiB), 2 a PDPT (1 GiB), 3 the PML4 (512 GiB). "The level-L table"
// holds level-L entries.
//
// Invariants of every tree this layer builds:
//   - every table page is in state PAGE_TABLE and its vm_page_t.pt.entries counts exactly the
//     present entries in it;
//   - no table below the root is empty, except the 256 PDPTs of the upper half, which live as long
//     as the tree (the kernel's are shared by every address space);
//   - entries that point at tables carry P|W, plus U in the lower half only; permissions are
//     decided by the leaves. No entry in the upper half has U.
#ifndef ARCH_X86_64_PAGETABLE_H
#define ARCH_X86_64_PAGETABLE_H

#include "arch/x86_64/asm.h"
#include "arch/x86_64/smp.h"
#include "kernel/list.h"
#include "kernel/types.h"
#include "vm/page.h"
#include "vm/physmap.h"

#define PTE_NX (1ull << 63)
#define PTE_PAT_LARGE (1ull << 12)  // PAT bit of 2 MiB and 1 GiB leaves (never set by Jasper)
#define PTE_ADDR_MASK 0x000ffffffffff000ull
// The bits a leaf's permissions are made of; the range operations change only these (and P).
#define PTE_PERM_BITS ((pte_t)(PTE_W | PTE_U) | PTE_NX)

#define PT_ENTRIES 512
#define PT_LEVELS 4
#define PT_ROOT_LEVEL 3

#define PAGE_SIZE_2M (1ull << 21)
#define PAGE_SIZE_1G (1ull << 30)

// The two canonical halves: [0, VA_LOW_END) and [VA_HIGH_START, 2^64).
#define VA_LOW_END 0x0000800000000000ull
#define VA_HIGH_START 0xffff800000000000ull

// "No physical address": what vmiter_pa returns for an unmapped address.
#define PADDR_NONE ((paddr_t)-1)

// How many pages one operation invalidates one by one before it flushes the whole TLB instead.
#define PT_TLB_BATCH_MAX 32

static inline unsigned pt_shift(int level) {
    return PAGE_SHIFT + 9u * (unsigned)level;
}
// Bytes mapped by one entry of a level-`level` table.
static inline uint64_t pt_entry_size(int level) {
    return 1ull << pt_shift(level);
}
static inline unsigned pt_index(vaddr_t va, int level) {
    return (unsigned)(va >> pt_shift(level)) & (PT_ENTRIES - 1);
}
static inline bool va_is_canonical(vaddr_t va) {
    return va < VA_LOW_END || va >= VA_HIGH_START;
}
static inline bool va_is_upper(vaddr_t va) {
    return va >= VA_HIGH_START;
}
// Copies bit 47 into bits 48-63.
static inline vaddr_t va_sign_extend(uint64_t v) {
    return (v & (1ull << 47)) ? (v | 0xffff000000000000ull) : (v & 0x0000ffffffffffffull);
}
// The first address mapped by entry `index` of a level-`level` table whose span starts at `base`.
static inline vaddr_t pt_entry_va(vaddr_t base, unsigned index, int level) {
    return va_sign_extend(base + ((uint64_t)index << pt_shift(level)));
}

static inline bool pte_present(pte_t e) {
    return (e & PTE_P) != 0;
}
// True if present entry `e` of a level-`level` table maps memory rather than a lower table.
static inline bool pte_is_leaf(pte_t e, int level) {
    return level == 0 || (level < PT_ROOT_LEVEL && (e & PTE_PS));
}
// The table a present non-leaf entry points at.
static inline pte_t *pte_table(pte_t e) {
    return (pte_t *)paddr_to_kva(e & PTE_ADDR_MASK);
}
// The physical address a leaf at `level` maps (its first byte).
static inline paddr_t pte_leaf_paddr(pte_t e, int level) {
    return e & PTE_ADDR_MASK & ~(paddr_t)(pt_entry_size(level) - 1);
}

// Whether entries may carry PTE_NX (EFER.NXE is on). True on the host; arch_mmu_init sets it from
// CPUID. When false, the layer drops PTE_NX from every leaf it writes.
extern bool pt_nx_enabled;
// Physical address of the root in this CPU's CR3 (0 before the kernel's tables are live). Changes
// to that tree, and to the upper half of any tree (shared by every address space), reach the TLB.
extern paddr_t pt_active_roots[SMP_MAX_CPUS];
#define pt_active_root (pt_active_roots[smp_cpu_num()])

// Counters for tests and benchmarks (never reset by the layer).
struct pt_stats {
    uint64_t tables_allocated;
    uint64_t tables_freed;
    uint64_t tlb_invlpg;        // single-page invalidations issued
    uint64_t tlb_flush;         // full flushes of non-global entries
    uint64_t tlb_flush_global;  // full flushes including global entries
};
extern struct pt_stats pt_stats;

// --- Table pages ---------------------------------------------------------------------------

// Allocates a zeroed table page (state PAGE_TABLE, no present entries). Returns NULL if the pmm
// has no page.
pte_t *pt_table_alloc(void);
// Frees a table page. Its entries are not looked at.
void pt_table_free(pte_t *table);
// The descriptor of the table page holding `entry` (or the table itself).
vm_page_t *pt_table_page(const pte_t *entry);
static inline paddr_t pt_table_paddr(const pte_t *table) {
    return physmap_kva_to_paddr(table);
}
// Present entries in `table`.
static inline uint32_t pt_table_count(const pte_t *table) {
    return pt_table_page(table)->pt.entries;
}
// Stores `val` in `*entry`, keeping the owning table's present count exact.
void pt_entry_set(pte_t *entry, pte_t val);
// The flags of an entry that points at a lower table for addresses around `va`.
static inline pte_t pt_link_flags(vaddr_t va) {
    return va_is_upper(va) ? (pte_t)(PTE_P | PTE_W) : (pte_t)(PTE_P | PTE_W | PTE_U);
}
// `perm` as it may be written into a leaf: address and structural bits dropped, NX dropped when
// the CPU lacks it.
pte_t pt_leaf_flags(pte_t perm);
// True if the level-`level` table covering `va` must stay even when empty (an upper-half PDPT).
static inline bool pt_table_is_permanent(int level, vaddr_t va) {
    return level == 2 && va_is_upper(va);
}
// Replaces the large leaf `*entry` (a level-`level` entry, level 1 or 2) by a link to `table`
// (fresh from pt_table_alloc), filled so that it maps the same memory with the same flags.
// `va` is any address in the large page. The caller invalidates the TLB for the large page.
void pt_split_large(pte_t *entry, int level, vaddr_t va, pte_t *table);

// --- Preallocation: everything an operation needs, before it changes anything ----------------

#define PT_POOL_MAX 8
struct pt_pool {
    pte_t *tables[PT_POOL_MAX];
    int count;
};
// Fills `pool` with `n` fresh tables (n <= PT_POOL_MAX). All or nothing: on failure it frees what
// it took and returns ZX_ERR_NO_MEMORY.
zx_status_t pt_pool_fill(struct pt_pool *pool, int n) MUST_USE;
// Takes one table; the pool must not be empty.
pte_t *pt_pool_take(struct pt_pool *pool);
// Frees the tables left in the pool.
void pt_pool_release(struct pt_pool *pool);

// --- TLB batches ---------------------------------------------------------------------------

// One operation's TLB work: pages to invalidate (or "too many": flush everything), and the table
// pages it unlinked, which may be freed only after the invalidation.
struct pt_tlb_batch {
    paddr_t root_pa;  // the tree being changed
    size_t count;
    bool overflow;     // more than PT_TLB_BATCH_MAX pages: flush all
    bool global;       // an upper-half (global) page is among them
    vaddr_t va[PT_TLB_BATCH_MAX];
    struct list_node free_tables;  // vm_page_t.node of unlinked tables
};
void pt_tlb_init(struct pt_tlb_batch *b, const pte_t *root);
// Notes that the translation of the page (or large page) at `va` changed. Ignored when the change
// cannot be in any TLB: a lower-half address of a tree that is not active. Inline: the range
// operations call it once per page.
static inline void pt_tlb_add(struct pt_tlb_batch *b, vaddr_t va) {
    bool upper = va_is_upper(va);
    if (!upper && b->root_pa != pt_active_root)
        return;
    b->global = b->global || upper;
    if (b->count < PT_TLB_BATCH_MAX)
        b->va[b->count++] = va;
    else
        b->overflow = true;
}
// Queues an unlinked table to be freed by pt_tlb_finish.
void pt_tlb_defer_free(struct pt_tlb_batch *b, pte_t *table);
// Invalidates (invlpg per page, or one full flush past PT_TLB_BATCH_MAX), then frees the queued
// tables.
void pt_tlb_finish(struct pt_tlb_batch *b);

// Follows the entries for `va` from the root: fills path[L] with the level-L table on the way
// (path[3] = root) and returns the level of the entry where the walk stops (a leaf or a
// non-present entry); *out_entry points at that entry.
int pt_walk(pte_t *root, vaddr_t va, pte_t *path[PT_LEVELS], pte_t **out_entry);
// After entries of path[level] were cleared: frees path[level] if it became empty, then its parent
// if that became empty, and so on (never the root nor a permanent table). `va` is an address the
// cleared entries covered. Freed tables go to `b`. Returns the lowest level whose table survived.
int pt_prune(pte_t *path[PT_LEVELS], int level, vaddr_t va, struct pt_tlb_batch *b);

// Maps (or replaces) the entry for `va` at level `target` (0: a 4 KiB page, 1: 2 MiB, 2: 1 GiB)
// with `pa` | leaf flags of `perm`, allocating the tables below (or splitting a large page)
// before changing anything; one walk from the root (vmiter_try_map and arch_aspace_remap_page).
// ZX_ERR_INVALID_ARGS (alignment, non-canonical, perm for the wrong half), ZX_ERR_ALREADY_EXISTS
// (a table below a large page's slot), ZX_ERR_NO_MEMORY (nothing changed).
zx_status_t pt_map_entry(pte_t *root, vaddr_t va, paddr_t pa, pte_t perm, int target) MUST_USE;

// --- Range operations (arch_aspace_* and the kernel's own tables use these) ----------------------
// Common preconditions: `va` page-aligned; the range [va, va + count pages) canonical and within
// one half; count > 0. They cache the tables of the current position and walk from the root only
// where the range leaves them; TLB work is batched per operation.

// Maps `count` 4 KiB pages at `va`: to pas[i] if `pas` is not NULL (each page-aligned and below
// 2^52: the caller checks), else to pa + i pages. `perm` holds PTE_P and leaf flags. Every page must be unmapped: on ZX_ERR_ALREADY_EXISTS (a page or a
// large page is mapped in the range) or ZX_ERR_NO_MEMORY (a table could not be allocated) the
// pages it mapped are unmapped again and the tables freed, so the tree is as it was.
zx_status_t pt_map_range(pte_t *root, vaddr_t va, const paddr_t *pas, paddr_t pa, size_t count,
                         pte_t perm) MUST_USE;
// Unmaps whatever is mapped in the range (holes are skipped a whole entry at a time) and frees the
// tables that become empty. Large pages that straddle an end are split first; the tables for that
// are allocated before anything changes: ZX_ERR_NO_MEMORY leaves the tree as it was.
zx_status_t pt_unmap_range(pte_t *root, vaddr_t va, size_t count) MUST_USE;
// Sets the permission bits (PTE_W, PTE_U, PTE_NX; from `perm`) of every page mapped in the range;
// holes stay holes. Splits straddling large pages like pt_unmap_range (ZX_ERR_NO_MEMORY as there).
zx_status_t pt_protect_range(pte_t *root, vaddr_t va, size_t count, pte_t perm) MUST_USE;

// --- Checks --------------------------------------------------------------------------------

// Checks the invariants above over the whole tree (and that leaves are aligned, that PS appears
// only in PD and PDPT entries and NX only when enabled). Returns true, or prints the first
// violation and returns false.
bool pt_check(const pte_t *root);
// Table pages below the root; in the lower half only if `lower_only`.
size_t pt_count_tables(const pte_t *root, bool lower_only);

#endif  // ARCH_X86_64_PAGETABLE_H
