// Compressing the pages of a clone tree into reference slots, and bringing them back
// (docs/compression.md "In the VM"). The compressor itself is vm/compressor.h; this is the VM side:
// which slot holds what while a page is compressed outside the tree lock, and what every path that
// needs a page does when it meets a compressed one.
//
// Compression of the page at (n, offset), in three steps:
//   1. cow_compress_begin_locked (tree lock held): unmaps the page everywhere it may be mapped,
//      takes it out of its slot and parks there a descriptor (vm/cow_zpage.h) in state IN_FLIGHT
//      that points at this in-flight record, which now owns the page.
//   2. cow_compress_run (tree lock NOT held): compresses the page. Nobody writes it meanwhile: it
//      is mapped nowhere and in no slot. A thread that needs the content under the lock copies it
//      from the in-flight page (it never waits), and if it takes the slot over (a write, a read
//      fault, a decommit, the node's death...) it marks the record abandoned.
//   3. cow_compress_finish_locked (tree lock held again): if the record was abandoned, the result
//      and the page are dropped. Otherwise the slot still holds the descriptor (the record follows
//      it if its list moved to another node meanwhile: snapshots, merges) and gets the result: the
//      reference (the descriptor becomes COMPRESSED), a zero marker (or nothing, where no ancestor
//      shows content) for a zero page, or the page itself back if it did not shrink -- flagged
//      VM_PAGE_FLAG_COMPRESS_FAILED until it is written again.
// cow_compress_page_locked does all three, dropping and retaking the lock.
//
// Decompression: every path that needs a page where a reference is (faults, vmo_read/write,
// COMMIT, copy-on-write) goes through cow_lookup_resident_locked or cow_get_owned_page_locked
// (vm/cow_pages.h). A compressed page in a hidden node stays compressed and shared while readers
// read it: a writer decompresses it into its own new page (the others keep the reference); the last
// sharer to need it decompresses it in place. Freeing paths (decommit, resize, death) free
// references as they free pages.
#ifndef VM_COW_COMPRESS_H
#define VM_COW_COMPRESS_H

#include <stdbool.h>
#include <zircon/types.h>

#include "kernel/list.h"
#include "vm/compressor.h"
#include "vm/cow_pages.h"

// A page that did not shrink below the threshold: not worth compressing again until written
// (vm_page_t.flags; the page queues keep such pages on their "failed" queue).
#define VM_PAGE_FLAG_COMPRESS_FAILED 0x40

struct cow_inflight {
    struct list_node link;  // in tree->inflight while between begin and finish
    struct cow_tree *tree;
    struct cow_zpage *z;    // the descriptor parked in the slot
    vm_page_t *page;        // the page being compressed: read-only, owned by this record
    struct cow_node *node;  // where z's slot is now (moved along with its list)
    uint64_t offset;
    bool abandoned;         // z left its slot: drop the result
    // Set by cow_compress_run.
    zx_status_t status;
    zref_t zref;
    bool is_zero;
};

enum cow_compress_result {
    COW_COMPRESS_STORED = 1,  // a reference replaced the page
    COW_COMPRESS_ZERO,        // the page was all zeros: a marker (or nothing) replaced it
    COW_COMPRESS_FAILED,      // it did not shrink: the page is back, flagged COMPRESS_FAILED
    COW_COMPRESS_ABANDONED,   // the content was needed (or freed) meanwhile: nothing stored
};

// Step 1. `n` (hidden or visible) must own a page at `offset`. ZX_ERR_NOT_FOUND (no page of n's
// own there), ZX_ERR_NO_MEMORY (the descriptor; nothing changed). The caller keeps `f` alive and
// must run steps 2 and 3, and keeps the tree's memory alive until step 3 is done (a pin, or a
// reference on a VMO of the tree).
zx_status_t cow_compress_begin_locked(struct cow_node *n, uint64_t offset,
                                      struct cow_inflight *f) REQUIRES(n->tree->lock) MUST_USE;
// Step 2, without the tree lock.
void cow_compress_run(struct cow_inflight *f);
// Step 3, with `f->tree`'s lock. ZX_OK with *out the outcome, or ZX_ERR_NO_MEMORY (no compressed
// storage: the page is back, unflagged).
zx_status_t cow_compress_finish_locked(struct cow_inflight *f, enum cow_compress_result *out)
    REQUIRES(f->tree->lock) MUST_USE;
// All three steps; the lock is dropped and retaken inside, so on return `n` may be gone (the
// caller must not use it) while the tree lives on (pinned here). Statuses as above.
zx_status_t cow_compress_page_locked(struct cow_node *n, uint64_t offset,
                                     enum cow_compress_result *out) REQUIRES(n->tree->lock) MUST_USE;

// Zero-page dedup: if n's own page at `offset` is all zeros, unmaps it and replaces it with a zero
// marker (or nothing, where no ancestor shows content) and frees it. *out_deduped says whether
// it did. ZX_ERR_NOT_FOUND (no page of n's own there).
zx_status_t cow_dedup_zero_page_locked(struct cow_node *n, uint64_t offset,
                                       bool *out_deduped) REQUIRES(n->tree->lock) MUST_USE;

// --- For vm/cow_pages.c ---

// A reference leaves its slot for good (freed, or replaced by a page with its content): gives the
// storage back (COMPRESSED) or abandons the compression in flight (IN_FLIGHT; its finish frees
// the descriptor). Counts it out of tree->zpages.
void cow_zpage_drop_locked(struct cow_tree *t, struct cow_zpage *z) REQUIRES(t->lock);
// Writes the content of `z` into the page at `kva` (decompressing, or copying the in-flight page).
void cow_zpage_read_locked(struct cow_tree *t, const struct cow_zpage *z, void *kva)
    REQUIRES(t->lock);
// Replaces the reference in `slot` (at `offset`) of `owner` with a new page of the same content
// and share count. ZX_ERR_NO_MEMORY (nothing changed).
zx_status_t cow_slot_decompress_locked(struct cow_node *owner, vmpl_slot_t *slot, uint64_t offset,
                                       vm_page_t **out) REQUIRES(owner->tree->lock) MUST_USE;
// Whole lists moved from `from` to `to` (offset o in from is o - delta in to): in-flight records
// follow.
void cow_inflight_moved_locked(struct cow_tree *t, struct cow_node *from, struct cow_node *to,
                               uint64_t delta) REQUIRES(t->lock);
// The page an in-flight record holds (for the page counts of checks) and a check of every record
// of the tree (its slot holds its descriptor, unless abandoned).
size_t cow_inflight_pages_locked(struct cow_tree *t) REQUIRES(t->lock);
bool cow_inflight_check_locked(struct cow_tree *t) REQUIRES(t->lock);
// A page for tree `t` (PAGE_STATE_VMO, owner set, count 0), or NULL.
vm_page_t *cow_page_alloc(struct cow_tree *t);

// --- For tests ---

// The codec compression calls: compressor_compress/decompress/free unless a test installs its own
// (NULL restores them). Tests use one to inject failures of the compressor or to run it before the
// real storage exists.
struct cow_codec {
    zx_status_t (*compress)(const void *page, zref_t *ref, bool *is_zero);
    zx_status_t (*decompress)(zref_t ref, void *page);
    void (*free)(zref_t ref);
};
void cow_compress_set_codec(const struct cow_codec *codec);
// Test-only switch (default true): step 3 rechecks that the slot still holds the descriptor. The
// race test turns it off to show that it then loses writes.
extern bool cow_compress_recheck;

#endif  // VM_COW_COMPRESS_H
