// Page sources: what makes a VMO pager-backed (docs/pager.md). A pager VMO's clone tree has one
// `struct page_source`, reached through cow_tree.source; it owns the outstanding page requests
// and the dirty state of the tree's root node. Pure code (the VMO layer calls it under the tree
// lock); sending packets and blocking threads are the kernel's (vm/upcalls.h, vm/pager.c).
//
// What a root offset holds, and what it means for a pager VMO:
//   Empty, not in an interval   missing: the pager has not supplied it (an access sends READ)
//   a page                      supplied content; its state (Clean, Dirty, AwaitingClean) is in
//                               vm_page_t.flags (PAGER_PAGE_STATE_MASK)
//   a zero interval             zero content, with the interval's state: Clean (supplied as
//                               zeros, or written back) or Dirty (grown, ZEROed, never written
//                               back); a Dirty interval's AwaitingClean length (vm/page_list.h)
//                               says how much of it, from its Start, awaits clean (writeback
//                               began and nothing wrote since)
// WRITEBACK_BEGIN from the middle of a Dirty zero interval whose prefix is still Dirty splits it
// there, so that the length can start at the range (Zircon leaves such an interval Dirty; the ABI
// promises that BEGIN then END cleans the range unless written in between: docs/pager.md).
//
// Requests. An access to missing pages creates one READ request per maximal missing run that no
// outstanding request covers (offsets already in an outstanding request are never asked for
// again) and waits on one of them; a write to a Clean or AwaitingClean page of a TRAP_DIRTY VMO
// does the same with DIRTY requests. A request is done when supply covers it (READ), OP_DIRTY
// covers it (DIRTY), FAIL touches it (its status), or the source detaches (BAD_STATE). Waiters
// then retry from the start: the request only says "look again".
//
// Invariants (page_source_check_locked):
//   1. every outstanding request is in `requests`, page-aligned, non-empty, below the root's
//      size when made, and holds a reference for the list;
//   2. no two outstanding requests of the same command overlap;
//   3. every page of the root node has a state <= PAGER_PAGE_AWAITING_CLEAN;
//   4. once detached, no request is outstanding.
//
// Locking: every field is guarded by the tree lock, except a request's `done` and `status`
// (written under the scheduler lock by page_request_complete_locked's upcall) and the pager
// link (the pager's lock, vm/pager.c).
#ifndef VM_PAGE_SOURCE_H
#define VM_PAGE_SOURCE_H

#include <zircon/types.h>

#include "kernel/list.h"
#include "kernel/thread.h"
#include "kernel/types.h"
#include "vm/cow_pages.h"

struct vmo;
struct kobject;

// A pager page's dirty state, in vm_page_t.flags (bits 0-1) of pages in a pager VMO's root.
enum pager_page_state {
    PAGER_PAGE_CLEAN = 0,
    PAGER_PAGE_DIRTY = 1,
    PAGER_PAGE_AWAITING_CLEAN = 2,
};
#define PAGER_PAGE_STATE_MASK 3u

static inline enum pager_page_state pager_page_state(const vm_page_t *p) {
    return (enum pager_page_state)(p->flags & PAGER_PAGE_STATE_MASK);
}
static inline void pager_page_set_state(vm_page_t *p, enum pager_page_state s) {
    p->flags = (uint8_t)((p->flags & ~PAGER_PAGE_STATE_MASK) | (uint8_t)s);
}

struct page_request {
    struct list_node node;  // in source->requests while outstanding
    uint64_t start, end;    // root offsets, page-aligned
    uint16_t command;       // ZX_PAGER_VMO_READ or ZX_PAGER_VMO_DIRTY
    bool outstanding;       // in the list (tree lock)
    uint32_t refs;          // the list's (while outstanding) plus one per waiter (tree lock)
    bool done;              // scheduler lock (set once)
    zx_status_t status;     // ZX_OK: look again; else what the waiters return
    struct wait_queue wq;   // the waiters
};

struct page_source {
    struct cow_tree *tree;
    struct cow_node *root;        // the node pager VMOs show (a tree root, never hidden)
    struct vmo *vmo;              // the VMO pager_create_vmo made (NULL once it is gone)
    void *pager;                  // struct pager * (vm/pager.c), NULL once detached
    const void *creator;          // the pager that made it (compared, never followed)
    struct kobject *port;         // referenced while attached
    uint64_t key;
    bool trap_dirty;              // ZX_VMO_TRAP_DIRTY
    bool detached;
    bool modified;                // content changed since creation or the last stats reset
    struct list_node requests;    // outstanding struct page_request
    struct list_node pager_link;  // in the pager's list (pager lock)
    // Statistics for tests and docs.
    uint64_t requests_sent, pages_supplied;
};

// Tells clang's analysis that src's tree lock is held (the caller reached src through a VMO or a
// tree whose lock it holds), and checks it at run time.
static inline void page_source_assert_held(const struct page_source *src)
    ASSERT_CAPABILITY(src->tree->lock);
static inline void page_source_assert_held(const struct page_source *src) {
    ASSERT_MUTEX_HELD(&src->tree->lock);
}

// Sets up `src` for `tree` (whose root is `root`): attached, no requests. The root node may hold
// zero intervals from now on.
void page_source_init(struct page_source *src, struct cow_tree *tree, struct cow_node *root);

// Makes [start, end) (root offsets, page-aligned, within the root's size) ready for an access:
// every page supplied, and for a write (`write`) to a TRAP_DIRTY source, every page and zero
// range Dirty. Asks for every missing run of the range at once (one READ request each). *io_wait
// is NULL, or a request the caller already holds a reference on (from an earlier call for another
// range of the same access): no second reference is taken then. ZX_OK: go ahead (under the same
// lock hold; *io_wait unchanged). ZX_ERR_SHOULD_WAIT: *io_wait holds a reference on a request to
// wait on with page_request_wait (after dropping the tree lock), then look again.
// ZX_ERR_BAD_STATE: detached and something is missing (or would need a DIRTY request).
// ZX_ERR_NO_MEMORY: a request could not be allocated (and *io_wait was NULL).
zx_status_t page_source_prepare_locked(struct page_source *src, uint64_t start, uint64_t end,
                                       bool write, struct page_request **io_wait)
    REQUIRES(src->tree->lock) MUST_USE;
// A write reached page `p` of the root (vmo_write, a write fault, a zeroed partial page): it is
// Dirty and the VMO modified.
void page_source_page_written_locked(struct page_source *src, vm_page_t *p)
    REQUIRES(src->tree->lock);
// May a mapping write page `p` of the root without faulting? Only once it is Dirty: a Clean or
// AwaitingClean page must fault on its next write so that the write is tracked.
static inline bool page_source_page_writable(const vm_page_t *p) {
    return pager_page_state(p) == PAGER_PAGE_DIRTY;
}

// Blocks the calling thread (no lock held) until `r` is done or the thread is interrupted, then
// drops the waiter's reference (taking the tree lock briefly). Returns ZX_OK (look again), the
// FAIL status, ZX_ERR_BAD_STATE (detached) or ZX_ERR_CANCELED (interrupted).
zx_status_t page_request_wait(struct page_source *src, struct page_request *r) MUST_USE;

// --- The pager's operations (vm/pager.c calls these under the tree lock) ---

// Moves the first `length` bytes (<= sp->length) of the content `sp` took from an aux VMO (pages
// no tree counts any more) into [offset, offset + length) of the root where the root is missing
// it: pages become Clean pages of this tree, everything else Clean zero ranges. What the root
// already has wins: the aux page is freed, as is everything past `length`. Destroys the splice.
// Completes READ requests now wholly supplied. ZX_ERR_NO_MEMORY (what was placed stays).
zx_status_t page_source_supply_locked(struct page_source *src, uint64_t offset,
                                      struct vmpl_splice *sp, uint64_t length)
    REQUIRES(src->tree->lock) MUST_USE;
// Completes every outstanding request touching [start, end) with `status`.
void page_source_fail_locked(struct page_source *src, uint64_t start, uint64_t end,
                             zx_status_t status) REQUIRES(src->tree->lock);
// ZX_PAGER_OP_DIRTY: pages and zero ranges of [start, end) become Dirty and DIRTY requests
// covered are completed. ZX_ERR_NOT_FOUND if any page is missing (nothing changed),
// ZX_ERR_NO_MEMORY (intervals could not be split; some may be Dirty already).
zx_status_t page_source_op_dirty_locked(struct page_source *src, uint64_t start, uint64_t end)
    REQUIRES(src->tree->lock) MUST_USE;
// WRITEBACK_BEGIN: Dirty pages and zero ranges of [start, end) become AwaitingClean, and their
// mappings read-only (the next write must fault to be seen). WRITEBACK_END: AwaitingClean ones
// become Clean. ZX_ERR_NO_MEMORY (intervals could not be split).
zx_status_t page_source_writeback_begin_locked(struct page_source *src, uint64_t start,
                                               uint64_t end) REQUIRES(src->tree->lock) MUST_USE;
zx_status_t page_source_writeback_end_locked(struct page_source *src, uint64_t start,
                                             uint64_t end) REQUIRES(src->tree->lock) MUST_USE;
// Calls fn for each maximal dirty run of [start, end) in order: Dirty or AwaitingClean pages
// (options 0) and Dirty or AwaitingClean zero ranges (ZX_VMO_DIRTY_RANGE_IS_ZERO). fn returns
// ZX_ERR_NEXT or ZX_ERR_STOP.
typedef zx_status_t (*page_source_range_fn)(void *ctx, uint64_t offset, uint64_t len,
                                            uint64_t options);
zx_status_t page_source_dirty_ranges_locked(struct page_source *src, uint64_t start, uint64_t end,
                                            page_source_range_fn fn, void *ctx)
    REQUIRES(src->tree->lock) MUST_USE;
// ZX_VMO_OP_ZERO over whole pages [start, end): frees the root's pages there and makes the range
// one Dirty zero range (the caller has unmapped it). ZX_ERR_NO_MEMORY (nothing changed).
zx_status_t page_source_zero_locked(struct page_source *src, uint64_t start, uint64_t end)
    REQUIRES(src->tree->lock) MUST_USE;
// The root grew from old_size to new_size: the new range is Dirty zero content (no requests).
// The root shrank: requests past the end are completed (their waiters look again and find the
// range gone). ZX_ERR_NO_MEMORY (growth: the interval could not be added).
zx_status_t page_source_resized_locked(struct page_source *src, uint64_t old_size,
                                       uint64_t new_size) REQUIRES(src->tree->lock) MUST_USE;
// No more requests: every outstanding one completes with ZX_ERR_BAD_STATE.
void page_source_detach_locked(struct page_source *src) REQUIRES(src->tree->lock);
// Evicts the root's page at `offset` if it is Clean (unmapping it first): a later access asks
// the pager again. Returns whether it did. Dirty and AwaitingClean pages stay.
bool page_source_evict_clean_page_locked(struct page_source *src, uint64_t offset)
    REQUIRES(src->tree->lock);

// Invariants 1-4 above; prints the first violation.
bool page_source_check_locked(struct page_source *src) REQUIRES(src->tree->lock);

#endif  // VM_PAGE_SOURCE_H
