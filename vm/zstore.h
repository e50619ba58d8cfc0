// Compressed storage: packs variable-size items (compressed pages, 1..ZSTORE_MAX_ITEM bytes)
// densely into pages taken from the pmm in state PAGE_STATE_COMPRESSED. Pure code.
//
// Layout. Items are rounded up to 16-byte units; each of the ZSTORE_CLASSES unit counts is a size
// class (those with the geometry of a larger one use that one instead). When its class has no
// free slot, an item takes a free slot of a larger class wasting at most a quarter of it (best
// fit) before a new zspage is made. A class stores its items in zspages: groups of 1 to 4 pages (not contiguous; linked
// through their vm_page_t) seen as one array of equal slots, so a slot may straddle two pages.
// Each class's zspage size is the one of 1..4 pages that wastes the fewest bytes at its tail
// (e.g. 1,504-byte slots: 3 pages hold 8, 256 bytes spare, where one page would waste 1,088).
// Per-zspage fields live in the first page's vm_page_t (vm/page.h, `zstore`); a free slot's first
// two bytes link the next free slot. No other metadata: the item's length is in its reference.
//
// A reference (a uint64_t below 2^61, never 0; the compressor's zref_t) is the zspage's first
// frame number << 22 | slot << 12 | item length (1..ZSTORE_MAX_ITEM < 4096).
//
// Accounting: every storage page is in state COMPRESSED and counted in pages_used; a zspage goes
// back to the pmm as soon as its last item is freed, so an empty store holds no page.
//
// Locking: one spinlock per store (taken with interrupts off), held across pmm calls (lock order
// zstore -> pmm). zstore_read needs no lock: the caller owns the reference, and slots never move.
//
// Invariants (zstore_check):
//  1. Every zspage is on its class's `partial` list (0 < inuse < slots) or `full` list (inuse ==
//     slots); no empty zspage is kept.
//  2. A zspage is `pages` pages of state COMPRESSED: the first with its class, the rest
//     ZSTORE_CLS_TAIL, linked by `next` and ending in NULL.
//  3. free list length + inuse + (slots - fresh) == slots; every free slot is below fresh and
//     appears once.
//  4. pages_used == the pages of every zspage; items == the sum of inuse; bytes_stored is at most
//     the items' slot sizes, and at least 4/5 of them less the largest rounding of any length.
#ifndef VM_ZSTORE_H
#define VM_ZSTORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kernel/list.h"
#include "kernel/spinlock.h"
#include "kernel/types.h"

#define ZSTORE_UNIT 16u
#define ZSTORE_MAX_ITEM 3072u  // 75% of a page
#define ZSTORE_CLASSES (ZSTORE_MAX_ITEM / ZSTORE_UNIT)
#define ZSTORE_MAX_PAGES 4u  // pages per zspage, at most
#define ZSTORE_CLS_TAIL 0xffffu

struct zstore_class {
    uint16_t slot_size;  // bytes (a multiple of ZSTORE_UNIT)
    uint16_t slots;      // per zspage
    uint8_t pages;       // per zspage (1..ZSTORE_MAX_PAGES)
    struct list_node partial;  // zspages (first pages' nodes) with a free slot (store lock)
    struct list_node full;     // zspages without one (store lock)
};

struct zstore {
    struct spinlock lock;
    struct zstore_class classes[ZSTORE_CLASSES];
    uint8_t class_for_units[ZSTORE_CLASSES];  // the class of an item of (index + 1) units
    uint64_t pages_used GUARDED_BY(lock);    // storage pages taken from the pmm
    uint64_t items GUARDED_BY(lock);         // live references
    uint64_t bytes_stored GUARDED_BY(lock);  // sum of the live items' lengths
};

struct zstore_usage {
    uint64_t pages_used;
    uint64_t items;
    uint64_t bytes_stored;
};

// Sets up an empty store (`name` names its lock and must outlive it).
void zstore_init(struct zstore *z, const char *name);

// Copies `len` bytes (1..ZSTORE_MAX_ITEM) into the store. ZX_OK and a new reference in *out, or
// ZX_ERR_NO_MEMORY if a new zspage was needed and the pmm had not enough pages (nothing changes).
zx_status_t zstore_put(struct zstore *z, const void *data, size_t len, uint64_t *out) MUST_USE;
// The item's length (from the reference alone).
static inline size_t zstore_item_len(uint64_t ref) {
    return (size_t)(ref & 0xfff);
}
// The item's bytes: a pointer into the storage page when the item lies in one page, else a copy in
// `scratch` (ZSTORE_MAX_ITEM bytes) and `scratch` returned (NULL if scratch is NULL). Needs no lock (see above). The bytes
// stay valid until the reference is freed.
const uint8_t *zstore_read(const struct zstore *z, uint64_t ref, uint8_t *scratch);
// Frees an item; a zspage left empty goes back to the pmm.
void zstore_free(struct zstore *z, uint64_t ref);
void zstore_usage(struct zstore *z, struct zstore_usage *out);
// Checks the invariants above (O(storage)); prints the first broken one and returns false.
bool zstore_check(struct zstore *z);

#endif  // VM_ZSTORE_H
