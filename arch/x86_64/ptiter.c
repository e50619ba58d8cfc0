// ptiter: post-order traversal of the table pages of a tree. See ptiter.h.
#include "arch/x86_64/ptiter.h"

#include "kernel/assert.h"

static void set_done(struct ptiter *pi) {
    pi->done = true;
    pi->entry = NULL;
    pi->va = UINT64_MAX;
    pi->level = 0;
}

// Positions at the first table, in post-order, of the subtree of the level-`level` table that
// `link` points at (its span starts at `base`): the leftmost deepest table.
static void descend_first(struct ptiter *pi, pte_t *link, int level, vaddr_t base) {
    for (;;) {
        pte_t *table = pte_table(*link);
        unsigned i = PT_ENTRIES;
        if (level > 0) {
            for (i = 0; i < PT_ENTRIES; i++) {
                if (pte_present(table[i]) && !pte_is_leaf(table[i], level))
                    break;
            }
        }
        if (i == PT_ENTRIES) {
            pi->entry = link;
            pi->level = level;
            pi->va = base;
            return;
        }
        link = &table[i];
        base = pte_va(base, i, level);
        level--;
    }
}

// Looks for a link in entries [first, 512) of the level-`level` table `table` (span from `base`);
// if there is one, positions at the first table of its subtree and returns true.
static bool scan_from(struct ptiter *pi, pte_t *table, int level, vaddr_t base, unsigned first) {
    for (unsigned i = first; i < PT_ENTRIES; i++) {
        if (pte_present(table[i]) && !pte_is_leaf(table[i], level)) {
            descend_first(pi, &table[i], level - 1, pte_va(base, i, level));
            return true;
        }
    }
    return false;
}

void ptiter_init(struct ptiter *pi, pte_t *root) {
    ASSERT(root != NULL);
    pi->root = root;
    pi->done = false;
    if (!scan_from(pi, root, PT_ROOT_LEVEL, 0, 0))
        set_done(pi);
}

void ptiter_next(struct ptiter *pi) {
    if (pi->done)
        return;
    vaddr_t va = pi->va;
    int parent_level = pi->level + 1;
    // Walk from the root to the parent of the current table (it is still there: post-order).
    struct pt_path p;
    pt_path_init(&p, pi->root);
    pt_walk(&p, va, parent_level);
    ASSERT_MSG(p.level == parent_level, "ptiter: the path to %#llx is gone",
               (unsigned long long)va);
    pte_t *parent = p.tab[parent_level];
    vaddr_t parent_base =
        parent_level == PT_ROOT_LEVEL ? 0 : ROUNDDOWN(va, pte_span(parent_level + 1));
    // The next sibling subtree, if any; else the parent itself (never the root).
    unsigned next = pte_index(va, parent_level) + 1;
    if (next < PT_ENTRIES && scan_from(pi, parent, parent_level, parent_base, next))
        return;
    if (parent_level == PT_ROOT_LEVEL) {
        set_done(pi);
        return;
    }
    pi->entry = &p.tab[parent_level + 1][pte_index(va, parent_level + 1)];
    pi->level = parent_level;
    pi->va = parent_base;
}

void ptiter_free_ptp(struct ptiter *pi) {
    ASSERT(!pi->done);
    pte_t *table = ptiter_ptp(pi);
    pt_entry_set(pi->entry, 0);
    pt_table_free(table);
}

void ptiter_free_tables(pte_t *root, bool lower_only) {
    struct ptiter pi;
    for (ptiter_init(&pi, root); lower_only ? ptiter_low(&pi) : !ptiter_done(&pi);
         ptiter_next(&pi))
        ptiter_free_ptp(&pi);
}
