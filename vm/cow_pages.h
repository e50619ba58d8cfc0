// Copy-on-write clone trees: the page-owning nodes under VMOs (docs/design.md "Copy-on-write clone
// trees"; docs/clone-trees.md has the diagrams). Pure code: the host tests and the fuzzer run it
// over simulated RAM.
//
// A tree is a forest of `cow_node`s sharing one lock. A node is either *visible* (one or more VMOs
// show it: the VMO that created it and any slices of it) or *hidden* (an internal node no handle
// names). Visible nodes are leaves, except a pager VMO's root (`pager_root`), whose
// AT_LEAST_ON_WRITE clones hang below it; hidden nodes have two or more children (one only while
// a merge is pending after an allocation failure). Each node has a page list; a child sees its
// parent's content through its own gaps, at parent offset = child offset + parent_offset, for
// child offsets below parent_limit (at or past it the child reads zero).
//
// Share counts. A page (or reference) in a hidden node is reachable by N >= 1 visible nodes
// (through gaps and inside every window on the way); its effective share count is N - 1. Pages
// in visible nodes have count 0. The count is stored split in two: the page's `vmo.share_count`
// plus the `base` of the list holding it (modulo 2^32), so that a whole list's counts can change
// in O(1) -- which is what makes a snapshot of a VMO cost the same whatever it has committed.
//
// Invariants (cow_check_tree_locked verifies all of them):
//   1. parent/child links agree; child_count is right; visible nodes have no children (but a
//      pager root), and only a pager root is a visible parent; hidden
//      nodes have >= 2 children unless merge_pending; no node has a hidden node as its only
//      reason to exist (a hidden node with no children is freed at once);
//   2. windows: child.parent_offset + child.parent_limit <= parent.size (no overflow) unless the
//      limit is 0;
//      child.pages.skew == (parent.pages.skew + child.parent_offset) mod VMPL_NODE_SPAN;
//      a visible node holds nothing at or past its size;
//   3. counts: every page/reference in a hidden node has effective count = reach - 1 with
//      reach >= 1; every one in a visible node (a pager root's too) has effective count 0;
//   4. ownership: every page in a list is in PAGE_STATE_VMO, appears in exactly one list, and
//      tree.pages counts them; its backlink names that list (vmo.owner == node->id) and its
//      offset there; it sits on a page queue (vm/page_queues.h); vmpl_check holds for every list.
//
// Locking: tree->lock guards every field of every node of the tree and the pages they hold.
// Functions named *_locked need it held. Range changes reach the mapping layer through
// vmo_cow_range_change (vm/upcalls.h) with the lock held.
//
// Robustness: no function recurses over clone depth (walks keep their state in the nodes'
// scratch fields); every operation allocates what it needs before changing anything, or stops at
// a point where every page still reads either its old or its new content.
#ifndef VM_COW_PAGES_H
#define VM_COW_PAGES_H

#include <zircon/types.h>

#include "kernel/assert.h"
#include "kernel/list.h"
#include "kernel/mutex.h"
#include "kernel/types.h"
#include "vm/cow_zpage.h"
#include "vm/page_list.h"
#include "vm/upcalls.h"

struct cow_tree {
    struct mutex lock;
    // Reclaimers holding the tree between picking one of its pages from a page queue and locking
    // it (cow_tree_get; atomic, dropped under the lock by cow_tree_put). Like `pins`, they keep
    // an orphaned tree's memory until the last one goes.
    uint32_t qrefs;
    struct list_node nodes;   // every cow_node of the tree (cow_node.tree_link)
    size_t node_count;
    size_t pages;             // pages held by the lists of this tree
    size_t zpages;            // compressed pages (reference slots) held by the lists
    size_t pending_merges;    // hidden nodes left with one child by a failed merge
    // Look-up skips (struct cow_node.skip_*) are valid while their skip_gen equals this; bumped
    // (all skips dropped at once) when a merge gives content to a node that has children.
    uint64_t skip_gen;
    struct page_source *source;  // a pager VMO's tree: its page source (vm/page_source.h)
    // Compressions running outside the lock (struct cow_inflight.link, vm/cow_compress.h).
    struct list_node inflight;
    // Holders that keep the tree's memory alive while they drop its lock (cow_tree_pin_locked);
    // `orphaned` once its last node is gone and the owner called cow_tree_free: the last unpin
    // frees it then.
    size_t pins;
    bool orphaned;
};

// The identity of a page list, which the backlinks of its pages name (vm_page_t.vmo.owner). It
// moves with the list when a whole list changes node (a snapshot's hidden node takes n's list, a
// merge takes its parent's list whole), so those moves stay O(1) and every backlink stays right.
struct cow_list_id {
    struct cow_node *node;  // the node whose `pages` this is (tree lock)
    struct cow_tree *tree;  // constant
};

struct cow_node {
    struct cow_tree *tree;
    struct cow_list_id *id;         // the identity of `pages` (moves with it)
    struct cow_node *parent;        // NULL for a root
    struct list_node children;      // of cow_node.sibling
    struct list_node sibling;       // in parent->children
    struct list_node tree_link;     // in tree->nodes
    size_t child_count;
    uint64_t parent_offset;         // bytes: this node's offset 0 is parent offset parent_offset
    uint64_t parent_limit;          // bytes: offsets at or past it read zero instead of looking up
    uint64_t size;                  // bytes, page multiple
    uint32_t base;                  // share-count base of `pages` (see the top of this file)
    bool hidden;
    bool merge_pending;             // hidden with one child: the merge failed for lack of memory
    bool has_intervals;             // the list may hold zero intervals (conservative)
    // A pager VMO's root (vm/page_source.h): the one visible node that may have children, its
    // SNAPSHOT_AT_LEAST_ON_WRITE clones (directly, or through hidden nodes of their own
    // snapshots). Its pages are never shared through counts: they keep count 0, a child that
    // writes copies them (never moves them), and walks that count sharers pass them by. Children
    // see it directly through their windows; an Empty slot of it is *missing* (asked of the
    // pager before any look-up), not zero.
    bool pager_root;
    // Visible nodes: some mapping may show, at some offset, a page that is not this node's own
    // (the zero page or an ancestor's page, handed out read-only by a fault or a look-up, or
    // pages that moved into a hidden parent at a snapshot). While false, replacing such content
    // with an own page needs no unmapping. Cleared when no VMO of the node has a mapping.
    bool maps_foreign;
    struct vmpl pages;
    struct list_node vmos;          // the VMOs showing this node (struct vmo, vm/vmo.c)
    // Look-up skip (vm/cow_skip.c), a cache kept so that look-ups cost the same at any depth:
    // valid while skip_gen == tree->skip_gen. For every offset o in [skip_lo, skip_hi) of this
    // node, every window from this node up to skip_to (a proper ancestor) holds o's translation,
    // every node strictly between holds nothing there (no content, no interval), and skip_to's
    // offset is o + skip_delta. Content added to a node with a parent and children breaks it,
    // and so does a window that narrows above a node: only merges do the first and a pager root's
    // shrink the second (both bump tree->skip_gen); a snapshot's hidden node takes the skip of
    // the node it replaces, and a node whose window shrinks or whose parent changes drops its own.
    struct cow_node *skip_to;
    uint64_t skip_lo, skip_hi, skip_delta, skip_gen;
    // Scratch of one look-up: the next node whose skip it sets, and the gap it found above.
    struct cow_node *skip_next;
    uint64_t skip_glo, skip_ghi;
    // Walk scratch (tree lock; valid only during a walk): the range left to visit in this node's
    // offsets, the offset difference to the walk's start node, and the child the walk came from.
    uint64_t w_cur, w_end, w_delta;
    struct cow_node *w_from;
};

// --- Trees and nodes ---

// Tells clang's analysis that n's tree lock is held, and checks it at run time. The analysis
// names a lock by how it is reached (`n->tree->lock`, `n->parent->tree->lock`), so a node reached
// from another one (parent, child, the tree's node list, a callback's context) needs this before
// a *_locked call on it.
static inline void cow_assert_held(const struct cow_node *n) ASSERT_CAPABILITY(n->tree->lock);
static inline void cow_assert_held(const struct cow_node *n) {
    ASSERT_MUTEX_HELD(&n->tree->lock);
}

// The same for a tree reached through a node (`n->tree`, a local copy of it).
static inline void cow_tree_assert_held(const struct cow_tree *t) ASSERT_CAPABILITY(t->lock);
static inline void cow_tree_assert_held(const struct cow_tree *t) {
    ASSERT_MUTEX_HELD(&t->lock);
}

// Creates a tree with one visible root node of `size` bytes (a page multiple). ZX_ERR_NO_MEMORY.
zx_status_t cow_tree_create(uint64_t size, struct cow_tree **out_tree,
                            struct cow_node **out_root) MUST_USE;
// Allocates an unlinked node for `tree` (visible, empty, no parent); the caller links it with
// cow_snapshot_locked or frees it with cow_node_free_unlinked. ZX_ERR_NO_MEMORY.
zx_status_t cow_node_alloc(struct cow_tree *tree, struct cow_node **out) MUST_USE;
void cow_node_free_unlinked(struct cow_node *n);
// A visible leaf no VMO shows any more: frees what only it could reach, unlinks it, merges a
// hidden parent left with one child (or frees a hidden parent left with none, up the tree), frees
// the node. Never fails. Returns true if the tree is now empty (the caller frees it after
// unlocking with cow_tree_free).
bool cow_node_release_locked(struct cow_node *n) REQUIRES(n->tree->lock);
// Frees an empty tree, or (pinned) leaves that to the last cow_tree_unpin.
void cow_tree_free(struct cow_tree *tree);
// Keeps `tree`'s memory alive without its lock: the caller knows the tree is alive (it found it
// through a page on a page queue, under the queue lock: the tree cannot be orphaned before that
// page leaves the queue). Dropped with cow_tree_put (the lock not held), which frees an orphaned
// tree with its last pin or reference.
void cow_tree_get(struct cow_tree *tree);
void cow_tree_put(struct cow_tree *tree);
// Keeps `tree`'s memory (its lock) alive after its lock is dropped, even if its last node goes.
void cow_tree_pin_locked(struct cow_tree *tree) REQUIRES(tree->lock);
// Drops a pin (the lock not held); frees the tree if it was orphaned and this was the last pin.
void cow_tree_unpin(struct cow_tree *tree);

// Retries merges that failed for lack of memory (cheap when there are none).
void cow_tree_retry_merges_locked(struct cow_tree *tree) REQUIRES(tree->lock);

// --- Content ---

// The page `n` sees at `offset` (page-aligned, < n->size): its own (*out_own = true), an
// ancestor's, or NULL for zero content. Allocates nothing. O(depth log n). The content there must
// not be a compressed page (asserted): code that may meet one calls cow_lookup_resident_locked.
vm_page_t *cow_lookup_locked(struct cow_node *n, uint64_t offset, bool *out_own) REQUIRES(n->tree->lock);
// True if `n` sees a page or a compressed page at `offset` (false: zero content). O(depth log n).
bool cow_has_content_locked(struct cow_node *n, uint64_t offset) REQUIRES(n->tree->lock);
// Copies the content `n` sees at `offset` into the page-sized `buf` without changing anything (a
// compressed page stays compressed); false (buf untouched) for zero content. For tests.
bool cow_peek_locked(struct cow_node *n, uint64_t offset, void *buf) REQUIRES(n->tree->lock);
// True if an ancestor of `n` shows a page or a compressed page to n at `offset` (n's own list
// aside), or n sees a pager root there (Empty is missing, not zero, below a pager root; a root's
// zero interval may be written): content n must hide with a marker to read zero. O(depth log n).
bool cow_ancestors_show_content_locked(struct cow_node *n, uint64_t offset) REQUIRES(n->tree->lock);
// As cow_lookup_locked, but a compressed page found (in n or an ancestor) is decompressed in place
// first: its owner's slot gets a page with the same content and share count. *out is NULL for
// zero content. ZX_ERR_NO_MEMORY (nothing changed).
zx_status_t cow_lookup_resident_locked(struct cow_node *n, uint64_t offset, vm_page_t **out,
                                       bool *out_own) REQUIRES(n->tree->lock) MUST_USE;
// Makes the page at `offset` n's own (n visible) and returns it: its own already; a copy of a
// shared ancestor page (count > 0; the count drops); the ancestor page itself if n alone reached
// it (moved); or a fresh zeroed page for zero content. Unmaps n's mappings of the offset when
// the page replaces other content. ZX_ERR_NO_MEMORY (nothing changed).
zx_status_t cow_get_owned_page_locked(struct cow_node *n, uint64_t offset,
                                      vm_page_t **out) REQUIRES(n->tree->lock) MUST_USE;
// Commits every page of [start, end) (page-aligned) as with cow_get_owned_page_locked.
// ZX_ERR_NO_MEMORY: pages committed before the failure stay committed (content unchanged).
zx_status_t cow_commit_range_locked(struct cow_node *n, uint64_t start, uint64_t end) REQUIRES(n->tree->lock) MUST_USE;
// Zeroes the whole pages of [start, end) of visible `n`: frees n's pages there; where an ancestor
// still has content n could see, hides it with a marker (where n had a page) or one zero interval
// per gap, and drops n's share of it. The caller has unmapped the range. ZX_ERR_NO_MEMORY: each
// page reads either its old content or zero.
zx_status_t cow_zero_range_locked(struct cow_node *n, uint64_t start, uint64_t end) REQUIRES(n->tree->lock) MUST_USE;
// True if any ancestor page or reference is visible to `n` in [start, end). O(walk).
bool cow_range_sees_parent_content_locked(struct cow_node *n, uint64_t start, uint64_t end) REQUIRES(n->tree->lock);
// Changes the size of visible `n` (a page multiple). Shrinking frees n's content past the new
// size and its share of ancestor content there, and clamps parent_limit so a later grow reads
// zeros. The caller has unmapped the range. A pager root's children's windows are clamped to
// the new size the same way. ZX_ERR_NO_MEMORY (nothing changed).
zx_status_t cow_resize_locked(struct cow_node *n, uint64_t size) REQUIRES(n->tree->lock) MUST_USE;

// Creates the snapshot `child` (from cow_node_alloc; `hidden` too, used if a hidden node must be
// inserted) of [offset, offset + limit) of visible `n`, limit already clamped to n->size. The
// child hangs as high as the tree allows; if n itself owns content in the window, n's list moves
// into `hidden`, which takes n's place. Never fails; *out_used_hidden says whether `hidden` was
// used (else the caller frees it). The caller removes write permission from n's mappings.
// Below a pager root (n is one, or the climb reaches one) the child hangs on it directly: no
// hidden node, no count changes, and the root's mappings stay writable.
void cow_snapshot_locked(struct cow_node *n, uint64_t offset, uint64_t limit, uint64_t child_size,
                         struct cow_node *child, struct cow_node *hidden, bool *out_used_hidden) REQUIRES(n->tree->lock);

// --- Pager roots ---

// Calls fn(ctx, rs, re) for each maximal run [rs, re) of pager-root offsets that `n` sees
// through to the pager root of its tree over [start, end) of its own offsets (page-aligned):
// offsets where neither n nor a node on the way has content, a marker or an interval, inside
// every window. Nothing for n itself being the root, or a node that does not reach one. fn
// returns ZX_OK to go on, anything else to stop (returned). O(pages x depth).
typedef zx_status_t (*cow_root_run_fn)(void *ctx, uint64_t rs, uint64_t re);
zx_status_t cow_pager_reach_locked(struct cow_node *n, uint64_t start, uint64_t end,
                                   cow_root_run_fn fn, void *ctx) REQUIRES(n->tree->lock) MUST_USE;
// How visible `d` sees pager root `root` (an ancestor): d's offsets [0, *out_limit) are root
// offsets + *out_delta. False if root is not an ancestor of d, or the window is empty.
bool cow_root_window_locked(struct cow_node *root, struct cow_node *d, uint64_t *out_delta,
                            uint64_t *out_limit) REQUIRES(root->tree->lock);

// --- Walks ---

// Called for each page or reference a walk reaches: `owner` holds it at `owner_offset`;
// `offset` is in the walk's start node's offsets. May empty the slot (taking the page) when the
// walk allows it. Returns ZX_ERR_NEXT, ZX_ERR_STOP (walk returns ZX_OK) or an error (returned).
typedef zx_status_t (*cow_visit_fn)(void *ctx, struct cow_node *owner, uint64_t owner_offset,
                                    vmpl_slot_t *slot, uint64_t offset);
// Visits, in offset order, every page and reference `start` sees in [s, e) (its offsets):
// its own if include_own, and every ancestor's it reaches through gaps within the windows.
// Iterative; O(depth + slots and gaps visited, times log n).
zx_status_t cow_walk_locked(struct cow_node *start, uint64_t s, uint64_t e, bool include_own,
                            cow_visit_fn fn, void *ctx) REQUIRES(start->tree->lock) MUST_USE;
// Called with `n` consecutive slots `owner` holds, the first at `owner_offset` (and at `offset`
// in the walk's start node's offsets), of any kind (pages, references, markers, interval
// sentinels, and Empty ones where the walk has no ancestor to look in: the callee picks what it
// wants). Must not empty a slot. Returns as cow_visit_fn.
typedef zx_status_t (*cow_span_fn)(void *ctx, struct cow_node *owner, uint64_t owner_offset,
                                   vmpl_slot_t *slots, size_t n, uint64_t offset);
// cow_walk_locked handing out the slots a stretch at a time (vmpl_for_each_span_and_gap): the
// same slots in the same order, for walks over many pages that take none (MAP_RANGE,
// fault-around).
zx_status_t cow_walk_spans_locked(struct cow_node *start, uint64_t s, uint64_t e, bool include_own,
                                  cow_span_fn fn, void *ctx) REQUIRES(start->tree->lock) MUST_USE;

// The stored share count of a page or reference (a compressed page's descriptor carries one
// as a page does).
static inline uint32_t *cow_slot_count(vmpl_slot_t slot) {
    if (vmpl_slot_is_page(slot))
        return &vmpl_slot_page(slot)->vmo.share_count;
    return &cow_slot_zpage(slot)->share_count;
}

// Effective share count of a page or reference in `owner`'s list (reach - 1).
static inline uint32_t cow_slot_share_count(const struct cow_node *owner, vmpl_slot_t slot) {
    return *cow_slot_count(slot) + owner->base;
}

// --- Reclaim (vm/cow_reclaim.c; docs/memory-pressure.md) ---

// How cow_pages_reclaim_page_locked may reclaim.
#define COW_RECLAIM_ZERO_ONLY (1u << 0)  // only replace a zero page (the zero scanner)

// The one way memory pressure takes a page from a clone tree. `p` was picked from a page queue
// while it was in tree `t` (whose lock the caller now holds, and whose memory it keeps alive with
// cow_tree_get; the page may have left the tree in between). An anonymous page is compressed
// (vm/cow_compress.h: a zero page becomes a marker, one that does not shrink goes to the FAILED
// queue), or with COW_RECLAIM_ZERO_ONLY only deduplicated if all zeros; a pager-backed page goes
// to the eviction step (clean pages of a pager VMO's root only). The lock may be dropped and
// retaken inside. Returns ZX_OK (p's memory is freed), ZX_ERR_NOT_FOUND (p is no longer in t),
// ZX_ERR_NOT_SUPPORTED (p cannot be reclaimed this way now), ZX_ERR_NO_MEMORY.
zx_status_t cow_pages_reclaim_page_locked(struct cow_tree *t, vm_page_t *p, uint32_t flags)
    REQUIRES(t->lock) MUST_USE;

// --- Attribution (docs/abi.md §3) ---

struct cow_attribution {
    uint64_t committed_bytes, populated_bytes;
    uint64_t private_bytes, populated_private_bytes;
    uint64_t scaled_bytes, populated_scaled_bytes;
    uint64_t scaled_frac, populated_scaled_frac;  // fixed point: 2^63 is one byte
};
// Attribution of [start, end) of `n` as seen by the VMO that owns n (a slice of it is
// attributed nothing: its pages count for the owner).
void cow_attribution_locked(struct cow_node *n, uint64_t start, uint64_t end,
                            struct cow_attribution *out) REQUIRES(n->tree->lock);

// A process's share of the committed pages of [start, end) of `n` that it maps
// (ZX_INFO_TASK_STATS, docs/abi.md §10): each page `n` can reach is shared by `sharers` visible
// nodes (1 for n's own) and by `procs` >= 1 processes mapping n. A page with sharers * procs == 1
// adds to private_bytes only, any other to shared_bytes and 1 / (sharers * procs) of a page to
// scaled_bytes (the share of the shared pages) (scaled_frac: the exact 63-bit fraction, as cow_attribution). References
// (compressed pages) are not committed and count nowhere. Adds to *out.
struct cow_task_stats {
    uint64_t private_bytes, shared_bytes, scaled_bytes, scaled_frac;
};
void cow_task_stats_locked(struct cow_node *n, uint64_t start, uint64_t end, uint32_t procs,
                           struct cow_task_stats *out) REQUIRES(n->tree->lock);

// --- Checking ---

// Verifies every invariant above for the whole tree; prints the first violation. O(pages +
// reach of every visible node).
bool cow_check_tree_locked(struct cow_tree *tree) REQUIRES(tree->lock);
// Pages held by the tree's lists, counted by walking them (tests compare with pmm counts).
size_t cow_tree_count_pages_locked(struct cow_tree *tree) REQUIRES(tree->lock);
// Depth of `n` (0 for a root) and the number of hidden nodes of its tree (tests).
size_t cow_node_depth_locked(const struct cow_node *n) REQUIRES(n->tree->lock);
size_t cow_tree_hidden_count_locked(const struct cow_tree *tree) REQUIRES(tree->lock);

#endif  // VM_COW_PAGES_H
