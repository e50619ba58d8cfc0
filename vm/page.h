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

typedef struct vm_page {
    // Free list (state FREE), or a list its owner keeps (e.g. a slab's pages).
    struct list_node node;
    uint8_t state;  // enum page_state
    uint8_t flags;
    uint16_t reserved;
    // State-specific data.
    union {
        struct {
            uint32_t share_count;  // VMO: visible descendants that reach it, minus one
            uint64_t object;       // VMO: owner's identity (for checkers), opaque
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
_Static_assert(_Alignof(vm_page_t) >= 8, "page-list slots need three free low bits");

#endif  // VM_PAGE_H
