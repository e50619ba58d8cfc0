// An intrusive weak-AVL (WAVL) tree keyed by uint64_t. The owner embeds a `struct wavl_node` in its
// own object, sets `node.key`, and finds its object again with containerof(). The tree never
// allocates; a node belongs to at most one tree at a time, and its key must not change while it
// is linked (erase, re-key, insert again).
//
// Ranks (Haeupler, Sen and Tarjan, "Rank-balanced trees"): every node has an integer rank, a
// missing child has rank -1. Invariant: the rank difference between a parent and each child is 1
// or 2, and every leaf has rank 0. Only the parity of a rank is stored (bit 0 of the parent link):
// a child is a 1-child iff its parity differs from its parent's. With insertions only the tree is
// an AVL tree (height < 1.44 log2 n); with erasures height <= 2 log2 n. Rebalancing does at most
// two rotations per operation and O(1) rank changes amortised. wavl_check() verifies all of it.
//
// Not thread-safe: the owner's lock guards the tree and every node linked into it.
#ifndef VM_WAVL_H
#define VM_WAVL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kernel/types.h"

struct wavl_node {
    uintptr_t parent_rank;  // parent pointer | rank parity (bit 0); owned by the tree
    struct wavl_node *left;
    struct wavl_node *right;
    uint64_t key;  // set by the owner before insertion; constant while linked
};

// Rebalancing cases, counted per tree (debug and test aid; always compiled in, a few increments
// per operation).
enum wavl_case {
    WAVL_CASE_INSERT_PROMOTE,       // parent was 0,1: promote it and climb
    WAVL_CASE_INSERT_ROTATE,        // 0,2 parent, outer grandchild: single rotation
    WAVL_CASE_INSERT_ROTATE_DOUBLE, // 0,2 parent, inner grandchild 1-child: double rotation
    WAVL_CASE_ERASE_SUCCESSOR,      // erased node had two children: successor took its place
    WAVL_CASE_ERASE_LEAF_DEMOTE,    // parent became a 2,2 leaf: demote it
    WAVL_CASE_ERASE_DEMOTE,         // 3-child with a 2-child sibling: demote the parent
    WAVL_CASE_ERASE_DEMOTE_DOUBLE,  // 3-child with a 2,2 sibling: demote parent and sibling
    WAVL_CASE_ERASE_ROTATE,         // sibling's outer child a 1-child: single rotation
    WAVL_CASE_ERASE_ROTATE_LEAF,    // ... and the old parent became a leaf (demoted twice)
    WAVL_CASE_ERASE_ROTATE_DOUBLE,  // sibling's inner child a 1-child: double rotation
    WAVL_CASE_COUNT,
};

struct wavl_stats {
    uint64_t inserts;
    uint64_t erases;
    uint64_t promotions;  // rank increments (a double promotion counts 2)
    uint64_t demotions;   // rank decrements (a double demotion counts 2)
    uint64_t rotations;   // single rotations count 1, double rotations 2
    uint64_t cases[WAVL_CASE_COUNT];
};

struct wavl_tree {
    struct wavl_node *root;
    struct wavl_node *min;  // leftmost node, NULL when empty (O(1) first)
    struct wavl_node *max;  // rightmost node, NULL when empty (O(1) last)
    size_t count;           // nodes linked
    struct wavl_stats stats;
};

// Initialises an empty tree.
void wavl_init(struct wavl_tree *tree);

// Links `node` (with node->key set) into the tree. Returns ZX_ERR_ALREADY_EXISTS, and leaves the
// tree unchanged, if a node with that key is already linked; ZX_OK otherwise.
zx_status_t wavl_insert(struct wavl_tree *tree, struct wavl_node *node) MUST_USE;

// Unlinks `node`, which must be linked into `tree`. Other nodes stay valid (nodes move, keys and
// objects do not), so an iterator to another node survives the erase.
void wavl_erase(struct wavl_tree *tree, struct wavl_node *node);

// The node with `key`, or NULL. O(log n).
struct wavl_node *wavl_find(const struct wavl_tree *tree, uint64_t key);
// The first node with a key >= `key`, or NULL.
struct wavl_node *wavl_lower_bound(const struct wavl_tree *tree, uint64_t key);
// The first node with a key > `key`, or NULL.
struct wavl_node *wavl_upper_bound(const struct wavl_tree *tree, uint64_t key);
// The last node with a key <= `key`, or NULL.
struct wavl_node *wavl_floor(const struct wavl_tree *tree, uint64_t key);

// In-order successor / predecessor of a linked node, or NULL. O(1) amortised over a walk.
struct wavl_node *wavl_next(const struct wavl_node *node);
struct wavl_node *wavl_prev(const struct wavl_node *node);

static inline struct wavl_node *wavl_min(const struct wavl_tree *tree) {
    return tree->min;
}

static inline struct wavl_node *wavl_max(const struct wavl_tree *tree) {
    return tree->max;
}

static inline size_t wavl_count(const struct wavl_tree *tree) {
    return tree->count;
}

static inline bool wavl_is_empty(const struct wavl_tree *tree) {
    return tree->root == NULL;
}

// Unlinks every node in post-order, calling fn(node, ctx) on each after it is unlinked (fn may free
// it), and leaves the tree empty. O(n) without rebalancing. Statistics are kept.
void wavl_clear(struct wavl_tree *tree, void (*fn)(struct wavl_node *node, void *ctx), void *ctx);

// Checks every invariant: root has no parent, parent back-links, strictly increasing keys in
// order, count, min and max, the rank rule (differences 1 or 2, leaves rank 0) and the height
// bound (height <= 2 log2(n+1)). Prints the first violation and returns false. O(n).
bool wavl_check(const struct wavl_tree *tree);

// The number of nodes on the longest root-to-leaf path (0 when empty). O(n).
size_t wavl_height(const struct wavl_tree *tree);

// The rank of the root recomputed from the parities (-1 when empty; tests). O(height).
int wavl_root_rank(const struct wavl_tree *tree);

#endif  // VM_WAVL_H
