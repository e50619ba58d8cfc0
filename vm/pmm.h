// The physical memory manager: a vm_page_t for every page below the top of usable RAM (one array,
// indexed by page frame number), a free list, a small cache of free pages per CPU, and exact
// per-state page counts. Pure code: host tests run it over simulated RAM.
//
// Invariant: every page is in exactly one state; pmm_count(s) equals the number of pages in state
// s; the free list and the CPUs' caches together hold exactly the FREE pages. Lock order: the pmm
// lock is taken after any VM lock; the single-page paths take no lock (vm/pmm.c).
#ifndef VM_PMM_H
#define VM_PMM_H

#include <stddef.h>

#include "kernel/types.h"
#include "vm/page.h"
#include "vm/phys_ranges.h"
#include "vm/physmap.h"

// Builds the page array from `ranges` (MEM_AVAILABLE pages become FREE, all else RESERVED), placing
// the array itself in available memory (those pages become WIRED). The physmap must already map
// all of RAM. Returns ZX_ERR_NO_MEMORY if no available range can hold the array.
zx_status_t pmm_init(const struct phys_ranges *ranges) MUST_USE;

// Allocates one page and puts it in `state` (not FREE). Its contents are undefined. Usually from
// the calling CPU's cache, without the global lock; never fails while a page is free anywhere
// (other CPUs' caches are drained first), the reserve below permitting.
// Returns NULL when no page is free (or an injected failure fires).
vm_page_t *pmm_alloc_page(enum page_state state) MUST_USE;
// Keeps free pages back from VMO allocations, for what reclaim and the system's own processes
// need when user memory runs out (vm/reclaim.h; both 0 at boot). pmm_alloc_page(PAGE_STATE_VMO)
// fails when no more than `pages` are free for an ordinary caller (a thread of a process in a
// job below the root job: kernel/thread.h alloc_ordinary), and when no more than `critical_pages`
// (<= pages) are free for a critical one (a kernel thread, or a process of the root job: userboot
// and the programs it starts), so that these are not the first to fail. Other states take every
// free page (the reclaim path's compressed storage, the heap, page tables).
void pmm_set_reserve(size_t pages, size_t critical_pages);
// The reserve and critical reserve set last (for tests that change them and put them back).
void pmm_get_reserve(size_t *out_pages, size_t *out_critical_pages);
// VMO pages handed to critical callers from the band only they may take, since boot.
size_t pmm_critical_allocs(void);
// Returns a page (in any state but FREE or RESERVED) to the calling CPU's cache (or the free
// list). A VMO page must be off every page queue (its owner pq_remove()s it first; asserted).
void pmm_free_page(vm_page_t *page);

// Allocates `count` physically contiguous pages whose first frame number is a multiple of
// `align_pages` (a power of two). Returns the first page, or NULL. One unaligned page is
// pmm_alloc_page; longer runs are found next-fit (see pmm.c), among the CPUs' cached pages too
// (they are drained onto the list when a first search fails).
vm_page_t *pmm_alloc_contiguous(size_t count, size_t align_pages, enum page_state state) MUST_USE;
// Frees a run from pmm_alloc_contiguous (or any run of allocated pages).
void pmm_free_contiguous(vm_page_t *first, size_t count);

// Moves an allocated page to another allocated state (counts follow).
void pmm_set_state(vm_page_t *page, enum page_state state);

// The page array and the frames it describes, set once by pmm_init: read only by the inline
// conversions below (a fault makes four or five of them; each was a call).
extern vm_page_t *pmm_page_array;
extern size_t pmm_page_array_frames;

static inline paddr_t vm_page_paddr(const vm_page_t *page) {
    return (paddr_t)(page - pmm_page_array) << PAGE_SHIFT;
}
// The page at `pa`, or NULL if pa is beyond the page array.
static inline vm_page_t *pmm_page_from_paddr(paddr_t pa) {
    size_t pfn = (size_t)(pa >> PAGE_SHIFT);
    return pfn < pmm_page_array_frames ? &pmm_page_array[pfn] : NULL;
}
// The physmap address of a page's contents.
static inline void *vm_page_kva(const vm_page_t *page) {
    return paddr_to_kva(vm_page_paddr(page));
}
// The page whose physmap address is `kva`.
static inline vm_page_t *pmm_page_from_kva(const void *kva) {
    return pmm_page_from_paddr(physmap_kva_to_paddr(kva));
}

size_t pmm_count(enum page_state state);
// Bytes of every page the allocator manages (all states but RESERVED): constant after boot.
uint64_t pmm_managed_bytes(void);
// Pages the array describes (every frame below the top of usable RAM).
size_t pmm_page_array_len(void);
const char *page_state_name(enum page_state state);

// Frames examined so far by searches for runs (pmm_alloc_contiguous of more than one page): a
// single-page allocation never adds to it (tests check that it is O(1)).
size_t pmm_frames_examined(void);
// Free pages in CPU `cpu`'s cache now (a racy look, for tests and the monitor).
size_t pmm_cached_pages(unsigned cpu);

// Failure injection for out-of-memory tests: the `n`th allocation from now (n >= 1) and every one
// after it fail until pmm_fail_disarm(). Counts both single pages and runs.
void pmm_fail_after(size_t n);
void pmm_fail_disarm(void);

// Checks the invariant, the caches included (O(pages); single-page operations on other CPUs wait
// meanwhile); returns true if it holds.
bool pmm_check(void);

#endif  // VM_PMM_H
