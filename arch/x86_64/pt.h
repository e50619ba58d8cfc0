// The x86-64 page-table layer's core: table pages and their present counts, the one walker
// (pt_walk, and pt_map_entry built on it), pruning of empty tables, and the tree checker.
//
// Layering of arch/x86_64's page-table files; each includes only the ones above it:
//
//     va.h, pte.h     address layout; entry bits and levels (header only)
//     tlb_hw.h        invlpg / CR3 / CR4 primitives (tlb_hw.c in the kernel, stand-ins on the host)
//     tlb.h           the active root and per-operation TLB batches
//     pt.h            table pages, pt_walk, pt_map_entry, pt_prune, pt_check      <- this file
//     vmiter.h        one mapping at a time: look-ups, next(), map/unmap/protect of one entry
//     ptiter.h        post-order traversal of table pages (freeing trees)
//     pt_range.h      map/unmap/protect of page runs, with a cached walk
//     arch_aspace.h   the architecture-neutral interface vm/ calls (includes none of the above)
//     mmu.h           kernel only: CPU protections and the kernel's own (boot-time) tables
//
// Every walk from a root to the entry for an address is pt_walk; the iterators and the range
// operations call it, they do not follow entries themselves. All of it but tlb_hw.c and mmu.c
// is pure code (no inline assembly), so host tests run it over simulated RAM.
//
// Invariants of every tree this layer builds:
//   - every table page is in state PAGE_TABLE and its vm_page_t.pt.entries counts exactly the
//     present entries in it;
//   - no table below the root is empty, except the 256 PDPTs of the upper half, which live as long
//     as the tree (the kernel's are shared by every address space);
//   - entries that point at tables carry P|W, plus U in the lower half only; permissions are
//     decided by the leaves. No entry in the upper half has U.
#ifndef ARCH_X86_64_PT_H
#define ARCH_X86_64_PT_H

#include "arch/x86_64/pte.h"
#include "arch/x86_64/tlb.h"
#include "kernel/types.h"
#include "vm/page.h"
#include "vm/physmap.h"

// Whether entries may carry PTE_NX (EFER.NXE is on). True on the host; arch_mmu_init sets it from
// CPUID. When false, the layer drops PTE_NX from every leaf it writes.
extern bool pt_nx_enabled;

// Counters for tests and benchmarks (never reset by the layer).
struct pt_stats {
    uint64_t tables_allocated;
    uint64_t tables_freed;
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
// Starts a TLB batch for changes to the tree `root`.
static inline void pt_tlb_init(struct tlb_batch *b, const pte_t *root) {
    tlb_batch_init(b);
    tlb_batch_add_tree(b, pt_table_paddr(root));
}

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

// --- The walker ------------------------------------------------------------------------------

// The tables on the path from a root to the entry where the last walk stopped. A fresh path
// (pt_path_init) walks from the root; a path reused for a nearby address climbs only until a
// table it holds covers the new address, and walks down from there (the range operations' runs).
struct pt_path {
    pte_t *tab[PT_LEVELS];  // tab[L]: the level-L table on the path; tab[PT_ROOT_LEVEL] = root
    vaddr_t va;             // the address last walked to; tab[L] covers it
    int level;              // where the last walk stopped; tab[level..PT_ROOT_LEVEL] are valid
};

static inline void pt_path_init(struct pt_path *p, pte_t *root) {
    p->tab[PT_ROOT_LEVEL] = root;
    p->va = 0;
    p->level = PT_ROOT_LEVEL;
}
// The entry for `va` in the table where the path stops (p->level).
static inline pte_t *pt_path_entry(const struct pt_path *p, vaddr_t va) {
    return &p->tab[p->level][pte_index(va, p->level)];
}

// Moves `p` to `va` (canonical): follows the entries for va down to a leaf, an empty entry, or
// the level-`stop` entry, whichever comes first; returns that entry (its level in p->level).
// Inline: vmiter_find and the range operations call it per look-up, and for a fresh path the
// compiler drops the climb.
static inline pte_t *pt_walk(struct pt_path *p, vaddr_t va, int stop) {
    int level = p->level;
    // tab[level] covers va if va and the last address agree above the bits it indexes.
    while (level < PT_ROOT_LEVEL && ((va ^ p->va) >> pte_shift(level + 1)) != 0)
        level++;
    if (level < stop)
        level = stop;  // tab[stop] covers va: it is an ancestor of tab[level]
    p->va = va;
    for (;;) {
        pte_t *entry = &p->tab[level][pte_index(va, level)];
        pte_t e = *entry;
        if (level == stop || !pte_present(e) || pte_is_leaf(e, level)) {
            p->level = level;
            return entry;
        }
        level--;
        p->tab[level] = pte_table(e);
    }
}
// Puts `table` (fresh, no present entries) below the entry where `p` stopped for `va` (p->level >
// 0): links it into an empty entry, or splits the large page there into it (the caller
// invalidates that page). Moves `p` down one level and returns va's entry in `table`.
pte_t *pt_walk_down(struct pt_path *p, vaddr_t va, pte_t *table);
// After entries of p->tab[p->level] were cleared: frees that table if it became empty, then its
// parent if that became empty, and so on (never the root nor a permanent table), leaving p at the
// lowest table that survived. `va` is an address the cleared entries covered. Freed tables go to
// `b`, to be freed after its invalidation.
void pt_prune(struct pt_path *p, vaddr_t va, struct tlb_batch *b);

// Maps (or replaces) the entry for `va` at level `target` (0: a 4 KiB page, 1: 2 MiB, 2: 1 GiB)
// with `pa` | leaf flags of `perm`, allocating the tables below (or splitting a large page)
// before changing anything; one walk from the root (vmiter_try_map, arch_aspace_remap_page and the
// physmap). ZX_ERR_INVALID_ARGS (alignment, non-canonical, perm for the wrong half),
// ZX_ERR_ALREADY_EXISTS (a table below a large page's slot), ZX_ERR_NO_MEMORY (nothing changed).
zx_status_t pt_map_entry(pte_t *root, vaddr_t va, paddr_t pa, pte_t perm, int target) MUST_USE;
// pt_map_entry(root, va, pa, perm, 0), with a walk of its own for the fault path's common case
// (the tables down to the leaf exist); anything else is left to pt_map_entry.
zx_status_t pt_map_page(pte_t *root, vaddr_t va, paddr_t pa, pte_t perm) MUST_USE;
// pt_map_page for a caller that has checked what pt_map_page would (arch_aspace_remap_page): the
// checks are DEBUG_ASSERTs here.
zx_status_t pt_map_page_checked(pte_t *root, vaddr_t va, paddr_t pa, pte_t perm) MUST_USE;

// --- Checks --------------------------------------------------------------------------------

// Checks the invariants above over the whole tree (and that leaves are aligned, that PS appears
// only in PD and PDPT entries and NX only when enabled). Returns true, or prints the first
// violation and returns false.
bool pt_check(const pte_t *root);
// Table pages below the root; in the lower half only if `lower_only`.
size_t pt_count_tables(const pte_t *root, bool lower_only);

#endif  // ARCH_X86_64_PT_H
