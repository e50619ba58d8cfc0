// The compressed page of a clone tree: what a page list's *reference* slot points at (the slot's
// opaque id is the descriptor's address >> 3, vm/page_list.h). A descriptor plays the part of a
// vm_page_t for content that has no physical page: it carries the share count (so a compressed
// page in a hidden node is shared exactly as a page would be), the owning tree (for the checker)
// and either the compressor's reference or, while the page is being compressed outside the tree
// lock, the in-flight record (vm/cow_compress.h) that still holds the page itself.
//
// Guarded by the tree lock, like the slot that holds it.
#ifndef VM_COW_ZPAGE_H
#define VM_COW_ZPAGE_H

#include <stdint.h>

#include "kernel/assert.h"
#include "vm/compressor.h"
#include "vm/page_list.h"

struct cow_inflight;

enum cow_zpage_state {
    COW_ZPAGE_COMPRESSED = 1,  // `zref` holds the content
    COW_ZPAGE_IN_FLIGHT = 2,   // `inflight->page` holds it (read-only) while it is compressed
};

struct cow_zpage {
    uint64_t object;  // the owning tree's identity, as vm_page_t.vmo.object
    union {
        zref_t zref;                    // COMPRESSED
        struct cow_inflight *inflight;  // IN_FLIGHT
    };
    uint32_t share_count;  // as vm_page_t.vmo.share_count: effective = this + the list's base
    uint16_t check_reach;  // the tree checker's scratch (reach), 0 outside a check
    uint8_t check_seen;    // the tree checker's scratch (seen once)
    uint8_t state;         // enum cow_zpage_state
};

static inline struct cow_zpage *cow_slot_zpage(vmpl_slot_t s) {
    DEBUG_ASSERT(vmpl_slot_is_ref(s));
    return (struct cow_zpage *)(uintptr_t)(vmpl_slot_ref(s) << 3);
}

static inline vmpl_slot_t cow_slot_from_zpage(const struct cow_zpage *z) {
    DEBUG_ASSERT(z != NULL && ((uintptr_t)z & 7) == 0);
    return vmpl_slot_from_ref((uint64_t)(uintptr_t)z >> 3);
}

#endif  // VM_COW_ZPAGE_H
