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

// The content `n` sees at `offset`, starting at n itself or (skip_self) at its parent: the slot
// holding a page or reference, with its owner and the owner's offset; NULL for zero content.
// Follows and sets the nodes' skips (vm/cow_skip.c): O(log n) per level not yet cached.
vmpl_slot_t *cow_find_locked(struct cow_node *n, uint64_t offset, bool skip_self,
                             struct cow_node **out_owner, uint64_t *out_offset)
    REQUIRES(n->tree->lock);
// Checks n's skip, if valid, against the tree (prints the first violation).
bool cow_skip_check_locked(struct cow_node *n) REQUIRES(n->tree->lock);

#endif  // VM_COW_PAGES_PRIV_H
