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

#endif  // VM_COW_PAGES_PRIV_H
