// vmar_tree: the children of one VMAR (sub-regions and mappings), kept as non-overlapping
// intervals [base, base + size) inside the parent's range [lo, hi), in an intrusive AVL tree keyed
// by base and augmented for free-space search.
//
// Augmentation: every node records `gap`, the free bytes between the end of the node before it
// (or `lo` for the first node) and its own base, and `max_gap`, the largest `gap` in its subtree.
// The free space after the last node (the tail, up to `hi`) is not stored in any node. With these,
// "the first free spot of `size` bytes, aligned to `align`, at or after `from` and ending at or
// before `limit`" is answered by one descent that skips every subtree whose max_gap is too small
// or that lies before `from`: O(log n). Alignment makes "large enough" inexact; the search first
// asks for gaps of size + align - PAGE_SIZE (any such gap fits), and only if none exists falls
// back to gaps of `size` checked one by one (see vmar_tree_find_spot).
//
// Invariants (vmar_tree_check): in-order bases strictly increase and intervals do not overlap;
// every interval lies in [lo, hi) and is page-aligned with a non-zero size; parent links match;
// AVL heights are exact and differ by at most one between siblings; every gap and max_gap is exact;
// count is the number of nodes.
//
// Pure code. Not thread-safe: the owner's lock (the address-space lock) guards the tree.
#ifndef VM_VMAR_TREE_H
#define VM_VMAR_TREE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kernel/types.h"

struct vmar_tree_node {
    struct vmar_tree_node *parent;
    struct vmar_tree_node *left;
    struct vmar_tree_node *right;
    uint64_t base;     // first byte; set by the owner before insertion (vmar_tree_update to change)
    uint64_t size;     // bytes, page multiple, > 0
    uint64_t gap;      // owned by the tree: free bytes just below base
    uint64_t max_gap;  // owned by the tree: largest gap in this subtree
    int32_t height;    // owned by the tree: AVL height (a leaf is 1)
};

struct vmar_tree {
    struct vmar_tree_node *root;
    uint64_t lo;  // the range children may occupy: [lo, hi)
    uint64_t hi;
    size_t count;
};

static inline uint64_t vmar_tree_node_end(const struct vmar_tree_node *n) {
    return n->base + n->size;
}

// An empty tree for children of [lo, hi) (page-aligned, lo < hi).
void vmar_tree_init(struct vmar_tree *t, uint64_t lo, uint64_t hi);

// Links `n` (base and size set). The interval must lie in [lo, hi) and be free (asserted: the
// caller checks with vmar_tree_range_free or vmar_tree_find_spot first). O(log n).
void vmar_tree_insert(struct vmar_tree *t, struct vmar_tree_node *n);
// Unlinks `n`, which must be in `t`. O(log n).
void vmar_tree_remove(struct vmar_tree *t, struct vmar_tree_node *n);
// Changes the interval of a linked node in place (trimming, splitting off a piece, merging a
// neighbour): the new interval must not overlap any other node (asserted). O(log n).
void vmar_tree_update(struct vmar_tree *t, struct vmar_tree_node *n, uint64_t base, uint64_t size);

// The node whose interval contains `addr`, or NULL. O(log n).
struct vmar_tree_node *vmar_tree_find(const struct vmar_tree *t, uint64_t addr);
// The first node whose interval ends after `addr` (the one containing it, or the next), or NULL.
struct vmar_tree_node *vmar_tree_first_ending_after(const struct vmar_tree *t, uint64_t addr);
struct vmar_tree_node *vmar_tree_first(const struct vmar_tree *t);
struct vmar_tree_node *vmar_tree_last(const struct vmar_tree *t);
// In-order neighbours, or NULL.
struct vmar_tree_node *vmar_tree_next(const struct vmar_tree_node *n);
struct vmar_tree_node *vmar_tree_prev(const struct vmar_tree_node *n);

// True if [base, base + size) lies in [lo, hi) and overlaps no node (size > 0, no wrap).
bool vmar_tree_range_free(const struct vmar_tree *t, uint64_t base, uint64_t size);

// Finds a free spot: an address s, a multiple of `align` (a power of two, at least PAGE_SIZE),
// with from <= s, s + size <= limit, and [s, s + size) inside [lo, hi) and free. Returns true and
// the spot in *out; false if there is none. Among spots in gaps of at least size + align -
// PAGE_SIZE bytes it returns the lowest; if there is no such gap, the lowest spot of all.
// O(log n) in the first case; the fallback visits only gaps of at least `size` bytes.
bool vmar_tree_find_spot(const struct vmar_tree *t, uint64_t size, uint64_t align, uint64_t from,
                         uint64_t limit, uint64_t *out);

// Search statistics (tests check the O(log n) bound): nodes visited by the last find_spot.
extern size_t vmar_tree_last_visits;

// Checks every invariant listed at the top; prints the first violation and returns false. O(n).
bool vmar_tree_check(const struct vmar_tree *t);

#endif  // VM_VMAR_TREE_H
