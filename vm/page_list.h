// VmPageList: the sparse map from page offsets of a VMO (or of one node of a clone tree) to what
// that node holds there. Nodes of 16 slots (one per page, 64 KiB per node) live in a WAVL tree
// keyed by their skewed base offset; a slot is one 64-bit word with a 3-bit tag:
//
//   all zero            Empty: nothing here (look in the parent, or zero when there is none)
//   ptr | 000           a page (vm_page_t *, 8-aligned), owned by the list
//   1   (tag 001)       a zero marker: reads as zero and hides the parent's content
//   id << 3 | 010       a reference: an opaque id (< 2^61) of a compressed page, owned by the list
//   bits | 011          a zero-interval sentinel: Start, End or Slot (a one-page interval), with
//                       a dirty state (bits 3-4 sentinel, 5-6 interval kind = zero, 7-8 dirty)
//                       and, in the Start or Slot of a Dirty interval, an AwaitingClean length
//                       (bytes, page-aligned, so it occupies bits 12-63 as it is; 9-11 stay 0)
//
// The AwaitingClean length (the pager's writeback, docs/pager.md): a Dirty interval [s, e) whose
// Start holds length L has [s, s + L) AwaitingClean and [s + L, e) Dirty; L <= e - s, and L is 0
// in every interval that is not Dirty. A split divides L exactly between the two pieces; a join
// adds them, and is refused when the result could not be said with one length (the left piece
// is not all AwaitingClean and the right one begins AwaitingClean).
//
// A zero interval [s, e) reads as zero and hides the parent over every offset in it, but stores
// only a Start at s and an End at e - PAGE (or one Slot); every offset strictly between is Empty.
// Jasper uses intervals inside copy-on-write clones (ZERO/DECOMMIT over a large range of a clone
// stores one interval), so merge and take handle them like any other content.
//
// Invariants (vmpl_check verifies all of them):
//   1. No node is empty (every node holds at least one non-Empty slot).
//   2. Intervals are maximal: an interval never ends right where another with the same dirty
//      state starts (they would have been merged), unless the left one is not all AwaitingClean
//      and the right one has a nonzero AwaitingClean length (no single length says that).
//   3. Only sentinels are stored for an interval: between a Start and its End every slot is Empty,
//      and every End/Slot/Start appears in that order (no End without a Start before it).
//   4. Every node key is a multiple of VMPL_NODE_SPAN; every non-Empty slot's offset is below
//      VMPL_MAX_SIZE.
//   5. An AwaitingClean length is page-aligned, at most its interval's extent, nonzero only in
//      the Start or Slot of a Dirty interval.
// Invariant 2 is broken on purpose, briefly, by the split modes of vmpl_lookup_or_alloc and by
// vmpl_populate_slots_in_interval: the caller then fills the Slot sentinels it got (with pages)
// or hands them back with vmpl_return_interval_slot, which merges them again.
//
// Skew: a list's skew is (parent_skew + offset_in_parent) mod 64 KiB, set once while the list is
// empty. Offset o lives in node ROUNDDOWN(o + skew, 64 KiB), slot ((o + skew) / PAGE) % 16, so a
// child's offset o and its parent's offset o + offset_in_parent share a slot index and whole nodes
// can move between the two lists without splitting (vmpl_merge_onto allocates nothing unless
// intervals must be split around content the destination already has).
//
// Offsets are bytes, page-aligned, below VMPL_MAX_SIZE; range ends are exclusive and at most
// VMPL_MAX_SIZE. Node memory comes from one kernel object cache shared by all lists; a failed
// allocation returns ZX_ERR_NO_MEMORY and leaves the list exactly as it was.
//
// Locking: none inside. The owner's lock (the clone tree's) guards the list, its nodes and the
// pages it holds; callbacks run with that lock held and must not touch the list except through the
// slot they are given.
#ifndef VM_PAGE_LIST_H
#define VM_PAGE_LIST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kernel/assert.h"
#include "kernel/types.h"
#include "vm/page.h"
#include "vm/wavl.h"

#define VMPL_FANOUT 16
#define VMPL_NODE_SPAN ((uint64_t)VMPL_FANOUT * PAGE_SIZE)
// Leaves room above every offset for the skew and a one-past-the-end node.
#define VMPL_MAX_SIZE ROUNDDOWN(UINT64_MAX, 2 * VMPL_NODE_SPAN)

typedef uint64_t vmpl_slot_t;

#define VMPL_SLOT_EMPTY ((vmpl_slot_t)0)
#define VMPL_TAG_MASK ((vmpl_slot_t)7)
#define VMPL_TAG_PAGE ((vmpl_slot_t)0)
#define VMPL_TAG_MARKER ((vmpl_slot_t)1)
#define VMPL_TAG_REF ((vmpl_slot_t)2)
#define VMPL_TAG_INTERVAL ((vmpl_slot_t)3)
#define VMPL_REF_MAX (((uint64_t)1 << 61) - 1)

enum vmpl_sentinel {
    VMPL_SENTINEL_SLOT = 0,   // a one-page interval: both Start and End
    VMPL_SENTINEL_START = 1,  // first page of an interval of two pages or more
    VMPL_SENTINEL_END = 2,    // last page of an interval of two pages or more
};

// Dirty state of a zero interval (Zircon's pager states; anonymous memory uses UNTRACKED).
// Adjacent intervals merge only when their states are equal.
enum vmpl_dirty {
    VMPL_DIRTY_UNTRACKED = 0,
    VMPL_DIRTY_CLEAN = 1,
    // May carry an AwaitingClean length: see above.
    VMPL_DIRTY_DIRTY = 2,
};

#define VMPL_SENTINEL_SHIFT 3
#define VMPL_KIND_SHIFT 5
#define VMPL_DIRTY_SHIFT 7
// Bits of a sentinel that hold the AwaitingClean length (a page-aligned byte count).
#define VMPL_AWAITING_MASK (~(vmpl_slot_t)(PAGE_SIZE - 1))

static inline bool vmpl_slot_is_empty(vmpl_slot_t s) {
    return s == VMPL_SLOT_EMPTY;
}

static inline bool vmpl_slot_is_page(vmpl_slot_t s) {
    return s != VMPL_SLOT_EMPTY && (s & VMPL_TAG_MASK) == VMPL_TAG_PAGE;
}

static inline vm_page_t *vmpl_slot_page(vmpl_slot_t s) {
    DEBUG_ASSERT(vmpl_slot_is_page(s));
    return (vm_page_t *)(uintptr_t)s;
}

static inline vmpl_slot_t vmpl_slot_from_page(const vm_page_t *p) {
    DEBUG_ASSERT(p != NULL && ((uintptr_t)p & VMPL_TAG_MASK) == 0);
    return (vmpl_slot_t)(uintptr_t)p;
}

static inline bool vmpl_slot_is_marker(vmpl_slot_t s) {
    return (s & VMPL_TAG_MASK) == VMPL_TAG_MARKER;
}

static inline vmpl_slot_t vmpl_slot_marker(void) {
    return VMPL_TAG_MARKER;
}

static inline bool vmpl_slot_is_ref(vmpl_slot_t s) {
    return (s & VMPL_TAG_MASK) == VMPL_TAG_REF;
}

static inline uint64_t vmpl_slot_ref(vmpl_slot_t s) {
    DEBUG_ASSERT(vmpl_slot_is_ref(s));
    return s >> 3;
}

static inline vmpl_slot_t vmpl_slot_from_ref(uint64_t id) {
    DEBUG_ASSERT(id <= VMPL_REF_MAX);
    return (id << 3) | VMPL_TAG_REF;
}

// Pages and references are owned resources: they must be handed back, never dropped.
static inline bool vmpl_slot_is_page_or_ref(vmpl_slot_t s) {
    return vmpl_slot_is_page(s) || vmpl_slot_is_ref(s);
}

static inline bool vmpl_slot_is_interval(vmpl_slot_t s) {
    return (s & VMPL_TAG_MASK) == VMPL_TAG_INTERVAL;
}

static inline enum vmpl_sentinel vmpl_slot_sentinel(vmpl_slot_t s) {
    DEBUG_ASSERT(vmpl_slot_is_interval(s));
    return (enum vmpl_sentinel)((s >> VMPL_SENTINEL_SHIFT) & 3);
}

static inline enum vmpl_dirty vmpl_slot_dirty(vmpl_slot_t s) {
    DEBUG_ASSERT(vmpl_slot_is_interval(s));
    return (enum vmpl_dirty)((s >> VMPL_DIRTY_SHIFT) & 3);
}

static inline bool vmpl_slot_is_interval_start(vmpl_slot_t s) {
    return vmpl_slot_is_interval(s) && vmpl_slot_sentinel(s) == VMPL_SENTINEL_START;
}

static inline bool vmpl_slot_is_interval_end(vmpl_slot_t s) {
    return vmpl_slot_is_interval(s) && vmpl_slot_sentinel(s) == VMPL_SENTINEL_END;
}

static inline bool vmpl_slot_is_interval_slot(vmpl_slot_t s) {
    return vmpl_slot_is_interval(s) && vmpl_slot_sentinel(s) == VMPL_SENTINEL_SLOT;
}

// A zero-interval sentinel value. Only the page list creates sentinels in a list; callers use this
// to compare, or to read what vmpl_splice_pop returns.
static inline vmpl_slot_t vmpl_slot_interval(enum vmpl_sentinel sentinel, enum vmpl_dirty dirty) {
    return VMPL_TAG_INTERVAL | ((vmpl_slot_t)sentinel << VMPL_SENTINEL_SHIFT) |
           ((vmpl_slot_t)dirty << VMPL_DIRTY_SHIFT);
}

// The AwaitingClean length of a Start or Slot sentinel (0 for an End).
static inline uint64_t vmpl_slot_awaiting_len(vmpl_slot_t s) {
    DEBUG_ASSERT(vmpl_slot_is_interval(s));
    return s & VMPL_AWAITING_MASK;
}

// Sentinel `s` with AwaitingClean length `len` (page-aligned; 0 unless s is the Start or Slot of a
// Dirty interval).
static inline vmpl_slot_t vmpl_slot_with_awaiting_len(vmpl_slot_t s, uint64_t len) {
    DEBUG_ASSERT(vmpl_slot_is_interval(s) && (len & ~VMPL_AWAITING_MASK) == 0);
    DEBUG_ASSERT(len == 0 || (vmpl_slot_dirty(s) == VMPL_DIRTY_DIRTY &&
                              vmpl_slot_sentinel(s) != VMPL_SENTINEL_END));
    return (s & ~VMPL_AWAITING_MASK) | len;
}

// One tree node: 160 bytes for 16 pages (10 bytes of metadata per page when dense). Private to
// the page list; in the header only so that struct vmpl_splice can embed two.
struct vmpl_node {
    struct wavl_node tree;  // key: skewed base offset, a multiple of VMPL_NODE_SPAN
    vmpl_slot_t slots[VMPL_FANOUT];
};

struct vmpl {
    struct wavl_tree nodes;  // of struct vmpl_node
    uint64_t skew;           // bytes, < VMPL_NODE_SPAN, page-aligned; set while empty
    // The node vmpl_lookup or vmpl_lookup_or_alloc found last, or NULL: faults walk a VMO in
    // order, and 15 of 16 land in the node before (a compare instead of a descent). Invariant:
    // NULL or a node of `nodes` (every unlink goes through vmpl_node_unlink, which clears it;
    // vmpl_check and the debug build's look-ups verify it).
    struct vmpl_node *last;
};

// Called for each non-Empty slot in a walk, with the slot's offset. Returns ZX_ERR_NEXT to go on,
// ZX_ERR_STOP to end the walk (the walk then returns ZX_OK), or an error the walk returns.
typedef zx_status_t (*vmpl_slot_fn)(vmpl_slot_t *slot, uint64_t offset, void *ctx);
// Called for each gap [start, end): offsets that are Empty and not inside an interval.
typedef zx_status_t (*vmpl_gap_fn)(uint64_t start, uint64_t end, void *ctx);
// Receives ownership of a page or reference leaving a list (offset: where it was).
typedef void (*vmpl_release_fn)(vmpl_slot_t content, uint64_t offset, void *ctx);
// Sees each page, reference or marker moving between lists (offset: in the source list). It may
// leave the slot as it is (the content moves), replace it with other non-interval content, or
// empty it after taking ownership of what was there.
typedef void (*vmpl_migrate_fn)(vmpl_slot_t *slot, uint64_t offset, void *ctx);

// Initialises an empty list with skew 0.
void vmpl_init(struct vmpl *pl);
// Frees the list's nodes. The list must hold no pages or references (asserted); markers and
// intervals are dropped.
void vmpl_destroy(struct vmpl *pl);

// Sets skew = (parent_skew + offset) mod VMPL_NODE_SPAN. The list must be empty; offset
// page-aligned.
void vmpl_set_skew(struct vmpl *pl, uint64_t parent_skew, uint64_t offset);
static inline uint64_t vmpl_skew(const struct vmpl *pl) {
    return pl->skew;
}

// True if the list holds nothing (no page, reference, marker or interval). O(1).
static inline bool vmpl_is_empty(const struct vmpl *pl) {
    return wavl_is_empty(&pl->nodes);
}
// Heap bytes used by the list's nodes.
static inline size_t vmpl_heap_bytes(const struct vmpl *pl) {
    return wavl_count(&pl->nodes) * sizeof(struct vmpl_node);
}

// The slot for `offset`, or NULL if no node covers it (the slot is then Empty). A non-NULL slot
// may be Empty. The caller may replace one kind of non-interval content by another through the
// pointer, but must not empty it (vmpl_remove) or write interval sentinels. Valid until the next
// call that removes or moves slots. O(log n).
static inline vmpl_slot_t *vmpl_lookup(struct vmpl *pl, uint64_t offset);
// vmpl_lookup past its inline check of `last`.
vmpl_slot_t *vmpl_lookup_slow(struct vmpl *pl, uint64_t offset);
// True if `last` is NULL or a node of the list (the invariant above; for DEBUG_ASSERTs).
bool vmpl_last_ok(const struct vmpl *pl);
static inline vmpl_slot_t *vmpl_lookup(struct vmpl *pl, uint64_t offset) {
    uint64_t so = offset + pl->skew;
    struct vmpl_node *n = pl->last;
    if (likely(n && n->tree.key == (so & ~(VMPL_NODE_SPAN - 1)) && offset < VMPL_MAX_SIZE)) {
        DEBUG_ASSERT(vmpl_last_ok(pl));
        return &n->slots[(so >> PAGE_SHIFT) & (VMPL_FANOUT - 1)];
    }
    if (wavl_is_empty(&pl->nodes))
        return NULL;
    return vmpl_lookup_slow(pl, offset);
}
// True if `offset` lies in a zero interval (its sentinels included). O(log n).
bool vmpl_is_offset_in_interval(const struct vmpl *pl, uint64_t offset);
// True if [start, end) holds any content or lies (partly) in an interval. O(log n).
bool vmpl_any_in_range(const struct vmpl *pl, uint64_t start, uint64_t end);
// If `offset` is Empty and in no interval: true, with the largest [*out_lo, *out_hi) around it
// that is all such (a gap; *out_hi is VMPL_MAX_SIZE when nothing follows). Else false. O(log n).
bool vmpl_gap_around(const struct vmpl *pl, uint64_t offset, uint64_t *out_lo, uint64_t *out_hi);

enum vmpl_interval_mode {
    // The caller knows the list has no interval at `offset`: find or allocate the slot.
    VMPL_NO_INTERVALS,
    // Fail with ZX_ERR_BAD_STATE (changing nothing) if `offset` lies in an interval.
    VMPL_CHECK_INTERVAL,
    // If `offset` lies in an interval, split it into [start, offset), [offset, offset + PAGE) and
    // [offset + PAGE, end): the slot returned is then a Slot sentinel the caller may overwrite with
    // content, or hand back with vmpl_return_interval_slot.
    VMPL_SPLIT_INTERVAL,
};

// Finds or allocates the slot for `offset`. On ZX_OK, *out_slot is the slot and *out_in_interval
// (if not NULL) says whether offset lay in an interval. If the slot is Empty and the caller leaves
// it Empty, it must call vmpl_return_empty_slot(offset) (the node may be new). Statuses:
// ZX_ERR_OUT_OF_RANGE (offset >= VMPL_MAX_SIZE), ZX_ERR_NO_MEMORY (a node could not be allocated;
// the list is unchanged), ZX_ERR_BAD_STATE (VMPL_CHECK_INTERVAL and offset lies in an interval).
zx_status_t vmpl_lookup_or_alloc(struct vmpl *pl, uint64_t offset, enum vmpl_interval_mode mode,
                                 vmpl_slot_t **out_slot, bool *out_in_interval) MUST_USE;
// Removes and returns the content at `offset` (Empty if none); a page or reference returned is
// now the caller's. The slot must not hold an interval sentinel. Frees the node if emptied.
vmpl_slot_t vmpl_remove(struct vmpl *pl, uint64_t offset);
// Empties the list: every page and reference goes to release(content, offset, ctx) (release may
// be NULL only if there are none); markers and intervals are dropped. O(n).
void vmpl_remove_all(struct vmpl *pl, vmpl_release_fn release, void *ctx);

// Calls fn on every non-Empty slot with offset in [start, end), in order (interval sentinels
// included). fn may change the kind of non-interval content but must not empty a slot. Returns
// ZX_OK (walk finished or fn returned ZX_ERR_STOP) or fn's error. O(log n + slots in range).
zx_status_t vmpl_for_each(struct vmpl *pl, uint64_t start, uint64_t end, vmpl_slot_fn fn,
                          void *ctx);
// vmpl_remove_range with gaps reported as in vmpl_for_each_and_gap.
zx_status_t vmpl_remove_range_and_gaps(struct vmpl *pl, uint64_t start, uint64_t end,
                                       vmpl_slot_fn fn, vmpl_gap_fn gap_fn, void *ctx);
// Removes everything in [start, end): pages and references go to release (which may be NULL
// only if there are none), markers are dropped, and intervals crossing start or end are clipped
// to outside the range. Returns ZX_OK, or ZX_ERR_NO_MEMORY (clipping needed a node; the list is
// unchanged).
zx_status_t vmpl_clear_range(struct vmpl *pl, uint64_t start, uint64_t end,
                             vmpl_release_fn release, void *ctx) MUST_USE;

// Adds a zero interval over [start, end) with `dirty`, merging with an adjacent interval on
// either side that has the same state. The range must hold nothing and lie in no interval
// (asserted). Returns ZX_OK or ZX_ERR_NO_MEMORY (list unchanged). O(log n).
zx_status_t vmpl_add_zero_interval(struct vmpl *pl, uint64_t start, uint64_t end,
                                   enum vmpl_dirty dirty) MUST_USE;
// Gives the offsets [start, end), which must all lie in one zero interval, the state `dirty` (not
// AwaitingClean): that piece becomes an interval of its own (split from the rest) and then merges
// with adjacent intervals of the same state. Returns ZX_OK or ZX_ERR_NO_MEMORY (list unchanged).
// O(log n).
zx_status_t vmpl_set_interval_dirty(struct vmpl *pl, uint64_t start, uint64_t end,
                                    enum vmpl_dirty dirty) MUST_USE;
// Makes the offsets [start, end), which must all lie in one Dirty interval, AwaitingClean. When
// start is the interval's Start, or everything before start in it awaits clean already, this only
// sets (or extends) the Start's length (after a split at `end` that the join then undoes); from
// the middle of an interval whose prefix is Dirty, the interval is split at `start` and the right
// piece gets the length. Returns ZX_OK or ZX_ERR_NO_MEMORY (list unchanged). O(log n).
zx_status_t vmpl_set_interval_awaiting_clean(struct vmpl *pl, uint64_t start,
                                             uint64_t end) MUST_USE;
// If `offset` lies in a zero interval: true, with the offset of its Start (or Slot) and that
// sentinel (its dirty state and AwaitingClean length). O(log n).
bool vmpl_interval_start_of(const struct vmpl *pl, uint64_t offset, uint64_t *out_start,
                            vmpl_slot_t *out_sentinel);
// Moves src's content in [offset, end) onto dst, where src offset o becomes dst offset o - offset,
// and empties src. Requires (src->skew + offset) % VMPL_NODE_SPAN == dst->skew. Where dst
// already has content at o - offset or the offset lies in one of dst's intervals, dst's content
// wins and src's is discarded. Otherwise pages, references and markers pass through
// migrate(slot, o, ctx) (may be NULL) and move; intervals move, split around dst's content and
// merged with dst's adjacent intervals. Discarded pages and references, and those outside
// [offset, end), go to release(content, o, ctx) (may be NULL only if there are none). Whole
// nodes move when dst has none at their place. Allocates only to split src intervals around
// dst content: returns ZX_OK, or ZX_ERR_NO_MEMORY with both lists unchanged. O(k log n).
zx_status_t vmpl_merge_onto(struct vmpl *src, struct vmpl *dst, uint64_t offset, uint64_t end,
                            vmpl_migrate_fn migrate, vmpl_release_fn release, void *ctx) MUST_USE;

// Checks the invariants above and the tree's (wavl_check). Prints the first violation and returns
// false. O(n).
bool vmpl_check(const struct vmpl *pl);

// ---------------------------------------------------------------------------------------------
// Test-only. Nothing in the kernel outside vm/page_list*.c calls what follows; the host and
// in-kernel tests, the model test and the fuzzer (test/fuzz/vmpl.c) do. These complete the
// operations of Zircon's page list that docs/page-list.md describes (gap and run walks, interval
// clipping and population, take/splice) and are kept, tested, for their first users in the kernel
// (the pager and compression). A function that gains a kernel caller moves above this line.
// ---------------------------------------------------------------------------------------------

// Selects slots for vmpl_for_each_run.
typedef bool (*vmpl_cmp_fn)(vmpl_slot_t slot, uint64_t offset, void *ctx);
// Called for each contiguous run [start, end) of vmpl_for_each_run.
typedef zx_status_t (*vmpl_run_fn)(uint64_t start, uint64_t end, bool is_interval, void *ctx);

// True if the list holds no page and no reference. O(nodes).
bool vmpl_has_no_page_or_ref(const struct vmpl *pl);
static inline size_t vmpl_node_count(const struct vmpl *pl) {
    return wavl_count(&pl->nodes);
}
// The content at `offset` (Empty if none). Interior offsets of an interval read Empty: use
// vmpl_is_offset_in_interval.
vmpl_slot_t vmpl_get(const struct vmpl *pl, uint64_t offset);
// Hands back a slot vmpl_lookup_or_alloc returned Empty and the caller left Empty: frees its node
// if the node is now empty.
void vmpl_return_empty_slot(struct vmpl *pl, uint64_t offset);

// Like vmpl_for_each, and calls gap_fn on every maximal gap in [start, end): a run of Empty
// offsets not inside an interval (the interior of an interval is not a gap). Either callback can
// stop the walk; no gap is reported after a stop.
zx_status_t vmpl_for_each_and_gap(struct vmpl *pl, uint64_t start, uint64_t end, vmpl_slot_fn fn,
                                  vmpl_gap_fn gap_fn, void *ctx);
// Called with `n` (>= 1) consecutive slots of one node, the first at `offset` (non-Empty ones
// unless the walk says otherwise). May change the kind of non-interval content but must not empty
// a slot.
typedef zx_status_t (*vmpl_span_fn)(vmpl_slot_t *slots, size_t n, uint64_t offset, void *ctx);
// vmpl_for_each_and_gap with the slots handed out a stretch at a time (each maximal run of
// consecutive non-Empty slots within one node, at most VMPL_FANOUT): one call per stretch instead
// of one per slot, for walks that look at many slots (MAP_RANGE, fault-around). Gaps and stops as
// there; fn's ZX_ERR_STOP ends the walk after its whole stretch.
zx_status_t vmpl_for_each_span_and_gap(struct vmpl *pl, uint64_t start, uint64_t end,
                                       vmpl_span_fn fn, vmpl_gap_fn gap_fn, void *ctx);
// The slots of [start, end) a node at a time, Empty ones included (fn skips what it does not
// want; nodes that do not exist are not reported): for walks that need no gaps. fn's stops as in
// vmpl_for_each.
zx_status_t vmpl_for_each_node_span(struct vmpl *pl, uint64_t start, uint64_t end, vmpl_span_fn fn,
                                    void *ctx);
// Contiguous runs in [start, end): consecutive non-interval slots for which cmp holds form runs
// (ended by a gap, an interval, or a slot failing cmp); fn is called on each slot passing cmp
// (and on interval sentinels passing cmp) before its run is reported. Each zero interval (clipped
// to the range) is a run of its own, reported with is_interval = true only if cmp holds for both
// its sentinels, even when they lie outside the range. If fn fails on a slot, the run before that
// slot is reported first, then the error returned. ZX_ERR_STOP from fn ends the walk after the
// run containing that slot is reported (on an interval's Start: without reporting that interval).
// run_fn may also return ZX_ERR_STOP or an error. Returns ZX_OK or the first error.
zx_status_t vmpl_for_each_run(struct vmpl *pl, uint64_t start, uint64_t end, vmpl_cmp_fn cmp,
                              vmpl_slot_fn fn, vmpl_run_fn run_fn, void *ctx);
// Like vmpl_for_each, but fn may also empty slots (taking ownership of pages and references);
// nodes left empty are freed as the walk goes. fn must keep the interval invariants (empty both
// sentinels of an interval or neither; see vmpl_clear_range for a range that cuts intervals).
zx_status_t vmpl_remove_range(struct vmpl *pl, uint64_t start, uint64_t end, vmpl_slot_fn fn,
                              void *ctx);

// Moves an interval's Start from `interval_start` (which must hold a Start sentinel) to
// interval_start + len, emptying the offsets in between; len must be less than the interval's
// length. Returns ZX_OK or ZX_ERR_NO_MEMORY (list unchanged).
zx_status_t vmpl_clip_interval_start(struct vmpl *pl, uint64_t interval_start,
                                     uint64_t len) MUST_USE;
// Moves an interval's End from `interval_end` (which must hold an End sentinel) to
// interval_end - len. Returns ZX_OK or ZX_ERR_NO_MEMORY (list unchanged).
zx_status_t vmpl_clip_interval_end(struct vmpl *pl, uint64_t interval_end, uint64_t len) MUST_USE;
// Makes every offset in [start, end), which must lie inside one interval, a Slot sentinel (as if
// vmpl_lookup_or_alloc split there), allocating every node needed first: all or nothing. The
// caller then overwrites those slots with content, and only then hands back the ones it did not
// fill with vmpl_return_interval_slot (a returned slot merges with adjacent unfilled ones, which
// can then no longer be filled). Returns ZX_OK or ZX_ERR_NO_MEMORY (list unchanged).
// O(log n + pages).
zx_status_t vmpl_populate_slots_in_interval(struct vmpl *pl, uint64_t start,
                                            uint64_t end) MUST_USE;
// Hands back an interval slot at `offset` that the caller got from a split or a populate and did
// not fill: it merges again with adjacent intervals of the same state. Handing back a slot that a
// neighbour's return already merged is allowed and changes nothing more. Never allocates.
void vmpl_return_interval_slot(struct vmpl *pl, uint64_t offset);

// Content taken out of a list by vmpl_take, handed out one offset at a time. Partial first and
// last nodes are copied slot by slot into `head` and `tail`; whole nodes move into `middle`
// unchanged. Owned by the caller (may live on the stack); no lock needed.
struct vmpl_splice {
    uint64_t offset;  // first offset taken (the source list's offsets)
    uint64_t length;  // bytes taken
    uint64_t pos;     // bytes popped so far
    uint64_t skew;    // the source list's skew
    struct vmpl_node head;
    struct vmpl_node tail;
    struct wavl_tree middle;
    bool in_interval;        // popping inside a zero interval
    enum vmpl_dirty dirty;   // its state
    uint64_t awaiting_left;  // bytes of its AwaitingClean length not popped yet
};

// Takes everything in [offset, offset + len) out of `pl` into *out (which needs no set-up).
// Intervals crossing either end of the range are split there first, so both the list and the
// splice stay well formed. Returns ZX_OK, or ZX_ERR_NO_MEMORY (the split needed a node; the list
// is unchanged and *out untouched).
zx_status_t vmpl_take(struct vmpl *pl, uint64_t offset, uint64_t len,
                      struct vmpl_splice *out) MUST_USE;
// True when every offset has been popped.
static inline bool vmpl_splice_done(const struct vmpl_splice *sp) {
    return sp->pos >= sp->length;
}
// Returns the content of the next offset and advances: Empty, a page or reference (now the
// caller's), a marker, or, for every offset in a zero interval, a Slot sentinel with the
// interval's dirty state and an AwaitingClean length of PAGE if that offset awaits clean, else 0.
// Must not be called when done.
vmpl_slot_t vmpl_splice_pop(struct vmpl_splice *sp);
// Releases what was not popped (pages and references to release, which may be NULL only if there
// are none) and frees the splice's nodes. O(nodes), not O(length).
void vmpl_splice_destroy(struct vmpl_splice *sp, vmpl_release_fn release, void *ctx);

// Nodes allocated by all lists (for leak checks in tests).
size_t vmpl_nodes_live(void);

#endif  // VM_PAGE_LIST_H
