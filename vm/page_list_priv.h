// Internals shared by vm/page_list.c (nodes, lookups, walks, intervals) and vm/page_list_move.c
// (merge, take and splice, the checker). Not for use outside the page list.
#ifndef VM_PAGE_LIST_PRIV_H
#define VM_PAGE_LIST_PRIV_H

#include "vm/page_list.h"

#define VMPL_P ((uint64_t)PAGE_SIZE)

static inline uint64_t vmpl_node_base(uint64_t skewed) {
    return skewed & ~(VMPL_NODE_SPAN - 1);
}

static inline unsigned vmpl_node_index(uint64_t skewed) {
    return (unsigned)((skewed >> PAGE_SHIFT) & (VMPL_FANOUT - 1));
}

static inline struct vmpl_node *vmpl_to_node(const struct wavl_node *w) {
    return w ? containerof(w, struct vmpl_node, tree) : NULL;
}

static inline struct vmpl_node *vmpl_node_next(const struct vmpl_node *n) {
    return vmpl_to_node(wavl_next(&n->tree));
}

// The list offset of slot i of node n.
static inline uint64_t vmpl_slot_offset(const struct vmpl *pl, const struct vmpl_node *n,
                                        unsigned i) {
    return n->tree.key + i * VMPL_P - pl->skew;
}

// A node with `key` and all slots Empty, not linked anywhere, or NULL when memory is exhausted.
struct vmpl_node *vmpl_node_alloc(uint64_t key);
// Frees an unlinked node; it must be empty.
void vmpl_node_free(struct vmpl_node *n);
bool vmpl_node_is_empty(const struct vmpl_node *n);
struct vmpl_node *vmpl_node_find(const struct vmpl *pl, uint64_t base);
// Takes `n` out of pl's tree (the one way to: it keeps pl->last right).
static inline void vmpl_node_unlink(struct vmpl *pl, struct vmpl_node *n) {
    if (pl->last == n)
        pl->last = NULL;
    wavl_erase(&pl->nodes, &n->tree);
}
// Unlinks and frees `n` if it holds nothing.
void vmpl_node_free_if_empty(struct vmpl *pl, struct vmpl_node *n);

// The slot at `offset` and its node, or NULL when no node covers it.
vmpl_slot_t *vmpl_slot_ptr(const struct vmpl *pl, uint64_t offset, struct vmpl_node **out_node);
// Whether `offset` lies in an interval (sentinels included); *out_dirty (may be NULL) gets the
// interval's state.
bool vmpl_in_interval(const struct vmpl *pl, uint64_t offset, enum vmpl_dirty *out_dirty);
// The first non-Empty slot at an offset >= from; false if none.
bool vmpl_next_content(const struct vmpl *pl, uint64_t from, uint64_t *out_offset,
                       vmpl_slot_t *out_slot);
// Makes x a boundary no interval crosses: if x - PAGE and x lie in one interval, that interval is
// cut in two there (End at x - PAGE, Start at x; a Start or End already there becomes a Slot).
// Changes no content, only representation. Returns ZX_OK or ZX_ERR_NO_MEMORY (list unchanged).
zx_status_t vmpl_split_at(struct vmpl *pl, uint64_t x) MUST_USE;
// The inverse: if an interval ends at x - PAGE and one with the same state starts at x, makes
// them one. Frees nodes left empty, except `keep`. Never allocates.
void vmpl_join_at(struct vmpl *pl, uint64_t x, struct vmpl_node *keep);
// Joins every pair of adjacent same-state intervals with a boundary in [lo, hi].
void vmpl_rejoin_range(struct vmpl *pl, uint64_t lo, uint64_t hi);
// Walks non-Empty slots of [start, end); with `cleanup`, fn may empty slots and emptied nodes
// are freed.
zx_status_t vmpl_walk(struct vmpl *pl, uint64_t start, uint64_t end, vmpl_slot_fn fn, void *ctx,
                      bool cleanup);

#endif  // VM_PAGE_LIST_PRIV_H
