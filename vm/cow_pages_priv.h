// What vm/cow_pages.c shares with the other files of the clone-tree layer (vm/cow_compress.c,
// vm/cow_reclaim.c) and nothing else.
#ifndef VM_COW_PAGES_PRIV_H
#define VM_COW_PAGES_PRIV_H

#include "vm/cow_pages.h"

// Points page p's backlink at `offset` of n's list (p is about to be, or is, in n's slot there).
// A page on no page queue joins one (an anonymous page's newest LRU bucket); a queued page keeps
// its queue. Every place that puts a page into a slot calls it.
void cow_page_set_backlink(struct cow_node *n, vm_page_t *p, uint64_t offset)
    REQUIRES(n->tree->lock);

// Whether n's skip (struct cow_node.skip_*) may be used.
static inline bool cow_skip_valid(const struct cow_node *n) {
    return n->skip_gen == n->tree->skip_gen;
}

// cow_find_locked past n's own list: climbs from n (which holds nothing at `o`), following and
// setting skips (vm/cow_skip.c). O(log n) per level not yet cached.
vmpl_slot_t *cow_find_above_locked(struct cow_node *n, uint64_t o, struct cow_node **out_owner,
                                   uint64_t *out_offset) REQUIRES(n->tree->lock);

// The content `n` sees at `offset`, starting at n itself or (skip_self) at its parent: the slot
// holding a page or reference, with its owner and the owner's offset; NULL for zero content.
// Inline: the fault path's usual case is n's own list, or one step along n's skip.
static ALWAYS_INLINE vmpl_slot_t *cow_find_locked(struct cow_node *n, uint64_t offset,
                                                   bool skip_self,
                                           struct cow_node **out_owner, uint64_t *out_offset)
    REQUIRES(n->tree->lock) {
    ASSERT_MUTEX_HELD(&n->tree->lock);
    if (!skip_self) {
        vmpl_slot_t *s = vmpl_lookup(&n->pages, offset);
        if (s && !vmpl_slot_is_empty(*s)) {
            if (!vmpl_slot_is_page_or_ref(*s))
                return NULL;  // a marker or an interval sentinel: zero
            *out_owner = n;
            *out_offset = offset;
            return s;
        }
        if (n->has_intervals && vmpl_is_offset_in_interval(&n->pages, offset))
            return NULL;
    }
    if (!n->parent || offset >= n->parent_limit)
        return NULL;
    if (cow_skip_valid(n) && offset >= n->skip_lo && offset < n->skip_hi) {
        uint64_t yo = offset + n->skip_delta;
        vmpl_slot_t *s = vmpl_lookup(&n->skip_to->pages, yo);
        if (s && vmpl_slot_is_page_or_ref(*s)) {
            *out_owner = n->skip_to;
            *out_offset = yo;
            return s;
        }
    }
    return cow_find_above_locked(n, offset, out_owner, out_offset);
}

// Checks n's skip, if valid, against the tree (prints the first violation).
bool cow_skip_check_locked(struct cow_node *n) REQUIRES(n->tree->lock);

#endif  // VM_COW_PAGES_PRIV_H
