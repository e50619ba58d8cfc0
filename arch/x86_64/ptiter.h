// ptiter: visits the table pages of a page-table tree depth-first, every table after the tables
// below it (post-order), in address order, and never the root. Lower-half tables come before
// upper-half ones, so a loop that stops when ptiter_low() turns false touches only a user address
// space's own tables, and a loop can free them as it goes:
//
//     struct ptiter pi;
//     for (ptiter_init(&pi, root); ptiter_low(&pi); ptiter_next(&pi))
//         ptiter_free_ptp(&pi);
//
// (that loop is ptiter_free_tables).
//
// For a tree holding one page at 0 and one at 0x200000 the order is
//     [0x0, 0x1fffff] level 0;  [0x200000, 0x3fffff] level 0;  [0x0, 0x3fffffff] level 1;
//     [0x0, 0x7fffffffff] level 2
// Pure code on top of pt.h. Each step walks (pt_walk) from the root to the current table's parent
// (no cached pointers to tables that a loop may have freed).
#ifndef ARCH_X86_64_PTITER_H
#define ARCH_X86_64_PTITER_H

#include "arch/x86_64/pt.h"

struct ptiter {
    pte_t *root;
    vaddr_t va;    // first address the current table covers
    int level;     // level of the current table: 0 (PT), 1 (PD), 2 (PDPT)
    pte_t *entry;  // the parent's entry that points at the current table (NULL when done)
    bool done;
};

// Positions `pi` at the first table, in post-order, of the tree whose PML4 is `root`.
void ptiter_init(struct ptiter *pi, pte_t *root);

static inline bool ptiter_done(const struct ptiter *pi) {
    return pi->done;
}
// True while the current table lies in the lower half.
static inline bool ptiter_low(const struct ptiter *pi) {
    return !pi->done && pi->va < VA_LOW_END;
}
static inline int ptiter_level(const struct ptiter *pi) {
    return pi->level;
}
static inline vaddr_t ptiter_va(const struct ptiter *pi) {
    return pi->va;
}
// Last address the current table covers (inclusive).
static inline vaddr_t ptiter_last_va(const struct ptiter *pi) {
    return pi->va + (pte_span(pi->level + 1) - 1);
}
// The current table (physmap address) and its physical address.
static inline pte_t *ptiter_ptp(const struct ptiter *pi) {
    return pte_table(*pi->entry);
}
static inline paddr_t ptiter_ptp_pa(const struct ptiter *pi) {
    return *pi->entry & PTE_ADDR_MASK;
}

// Moves to the next table in post-order (sets done after the last).
void ptiter_next(struct ptiter *pi);
// Unlinks the current table from its parent and frees its page; the iterator can go on with
// ptiter_next. Whatever the table still maps is simply dropped (those pages are not freed), and
// the TLB is not touched: for trees that are not active (being destroyed).
void ptiter_free_ptp(struct ptiter *pi);
// Frees every table below `root` (in the lower half only if `lower_only`), not the root, with the
// loop above; as ptiter_free_ptp, for trees that are not active.
void ptiter_free_tables(pte_t *root, bool lower_only);

#endif  // ARCH_X86_64_PTITER_H
