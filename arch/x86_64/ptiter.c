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
        base = pt_entry_va(base, i, level);
        level--;
    }
}

// Looks for a link in entries [first, 512) of the level-`level` table `table` (span from `base`);
// if there is one, positions at the first table of its subtree and returns true.
static bool scan_from(struct ptiter *pi, pte_t *table, int level, vaddr_t base, unsigned first) {
    for (unsigned i = first; i < PT_ENTRIES; i++) {
        if (pte_present(table[i]) && !pte_is_leaf(table[i], level)) {
            descend_first(pi, &table[i], level - 1, pt_entry_va(base, i, level));
            return true;
        }
    }
    return false;
}

void ptiter_init_root(struct ptiter *pi, pte_t *root) {
    ASSERT(root != NULL);
    pi->root = root;
    pi->done = false;
    if (!scan_from(pi, root, PT_ROOT_LEVEL, 0, 0))
        set_done(pi);
}

void ptiter_init_aspace(struct ptiter *pi, struct arch_aspace *as) {
    ptiter_init_root(pi, (pte_t *)as->root);
}

void ptiter_next(struct ptiter *pi) {
    if (pi->done)
        return;
    vaddr_t va = pi->va;
    int parent_level = pi->level + 1;
    // Walk from the root to the parent of the current table (it is still there: post-order).
    pte_t *parent = pi->root;
    pte_t *parent_link = NULL;
    vaddr_t parent_base = 0;
    for (int l = PT_ROOT_LEVEL; l > parent_level; l--) {
        unsigned i = pt_index(va, l);
        parent_link = &parent[i];
        parent_base = pt_entry_va(parent_base, i, l);
        parent = pte_table(*parent_link);
    }
    // The next sibling subtree, if any; else the parent itself (never the root).
    unsigned next = pt_index(va, parent_level) + 1;
    if (next < PT_ENTRIES && scan_from(pi, parent, parent_level, parent_base, next))
        return;
    if (parent_level == PT_ROOT_LEVEL) {
        set_done(pi);
        return;
    }
    pi->entry = parent_link;
    pi->level = parent_level;
    pi->va = parent_base;
}

void ptiter_free_ptp(struct ptiter *pi) {
    ASSERT(!pi->done);
    pte_t *table = ptiter_ptp(pi);
    pt_entry_set(pi->entry, 0);
    pt_table_free(table);
}
