// vm_page_t: the descriptor of one physical page. The pmm keeps one for every page of usable RAM,
// in one array indexed by page frame number. A page is in exactly one state at a time, and the pmm
// counts pages per state exactly.
#ifndef VM_PAGE_H
#define VM_PAGE_H

#include <stdint.h>

#include "kernel/list.h"
#include "kernel/types.h"

enum page_state {
    PAGE_STATE_FREE = 0,    // on the pmm's free list
    PAGE_STATE_WIRED,       // kernel-owned for its lifetime (boot structures, stacks, page array)
    PAGE_STATE_HEAP,        // owned by the kernel heap
    PAGE_STATE_PAGE_TABLE,  // an x86-64 page-table page
    PAGE_STATE_VMO,         // content of a VMO (in some page list)
    PAGE_STATE_ZERO,        // the shared zero page
    PAGE_STATE_COMPRESSED,  // storage for compressed pages
    PAGE_STATE_RESERVED,    // never handed out (kernel image, modules, firmware)
    PAGE_STATE_COUNT,
};

struct cow_list_id;

typedef struct vm_page {
    // Free list (state FREE), a list its owner keeps (e.g. a slab's pages), or the page queue a
    // VMO page sits on (vm/page_queues.h).
    struct list_node node;
    uint8_t state;  // enum page_state
    uint8_t flags;
    uint16_t reserved;
    // VMO pages: the page queue (enum pq_queue) and its lock's data (vm/page_queues.c).
    uint8_t queue;
    uint8_t queue_flags;
    // VMO: bits 32..47 of the backlink's page offset (see vm_page_backlink_offset).
    uint16_t offset_hi;
    // State-specific data.
    union {
        struct {
            uint32_t share_count;  // VMO: visible descendants that reach it, minus one
            uint32_t offset_lo;    // VMO: bits 0..31 of the backlink's page offset
            // VMO: the backlink, i.e. the identity of the page list that holds the page (its
            // clone-tree node is owner->node), at page offset (offset_hi << 32 | offset_lo).
            // Written under the clone tree's lock (vm/cow_pages.c).
            struct cow_list_id *owner;
        } vmo;
        struct {
            uint32_t run_pages;  // HEAP: pages in a large kmalloc run (first page only)
            void *cache;         // HEAP: the slab's cache, or NULL for a large run
        } heap;
        struct {
            uint32_t entries;  // PAGE_TABLE: present entries (for freeing empty tables)
        } pt;
        struct {
            // COMPRESSED: one page of a zspage of compressed storage (vm/zstore.h). The first
            // page carries the zspage's fields; the others have cls ZSTORE_CLS_TAIL.
            uint16_t cls;        // size class, or ZSTORE_CLS_TAIL
            uint16_t inuse;      // first page: slots holding an item
            uint16_t free_head;  // first page: a freed slot + 1 (0: none); each links the next
            uint16_t fresh;      // first page: slots from here on were never used
            struct vm_page *next;  // the zspage's next page, NULL for its last
        } zstore;
    };
} vm_page_t;

_Static_assert(sizeof(vm_page_t) == 40, "vm_page_t layout");

// Backlink offsets are kept in 48 bits of pages (offsets below 2^60 bytes); a page at a higher
// offset of a VMO has no backlink offset and is never reclaimed (vm/page_queues.h).
#define VM_PAGE_BACKLINK_LIMIT ((uint64_t)1 << 60)

static inline void vm_page_set_backlink(vm_page_t *p, struct cow_list_id *owner, uint64_t offset) {
    uint64_t pages = offset >> PAGE_SHIFT;
    p->vmo.owner = owner;
    p->vmo.offset_lo = (uint32_t)pages;
    p->offset_hi = (uint16_t)(pages >> 32);
}
// The byte offset recorded by the backlink (meaningful only below VM_PAGE_BACKLINK_LIMIT).
static inline uint64_t vm_page_backlink_offset(const vm_page_t *p) {
    return (((uint64_t)p->offset_hi << 32) | p->vmo.offset_lo) << PAGE_SHIFT;
}
_Static_assert(_Alignof(vm_page_t) >= 8, "page-list slots need three free low bits");

#endif  // VM_PAGE_H
