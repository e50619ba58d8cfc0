// The physical memory manager. The page array covers frames [0, array_len); frames outside
// available RAM are RESERVED forever. Free pages sit on one LIFO list.
//
// Costs: a single page (pmm_alloc_page, or a run of one unaligned page) comes off the free list's
// head, O(1). A longer run (thread stacks, multi-page slabs) is searched next-fit from where the
// last run was found, so steady churn finds free frames at once instead of rescanning the
// fragmented low frames every time; only a fragmented machine scans far (once around at most).
#include "vm/pmm.h"

#include "kernel/assert.h"
#include "kernel/printf.h"
#include "kernel/spinlock.h"
#include "kernel/string.h"
#include "kernel/thread.h"
#include "vm/page_queues.h"
#include "vm/physmap.h"

static struct {
    struct spinlock lock;
    struct list_node free_list GUARDED_BY(lock);
    size_t counts[PAGE_STATE_COUNT] GUARDED_BY(lock);
    size_t fail_at GUARDED_BY(lock);    // allocation number that starts failing; 0: off
    size_t alloc_seq GUARDED_BY(lock);  // allocations attempted
    size_t reserve GUARDED_BY(lock);    // free pages ordinary VMO allocations may not take
    size_t critical_reserve GUARDED_BY(lock);  // ... critical ones may not take (<= reserve)
    size_t critical_allocs GUARDED_BY(lock);  // VMO pages taken from the critical band
    size_t rover GUARDED_BY(lock);      // where the next run search starts (next fit)
    size_t examined GUARDED_BY(lock);   // frames looked at by run searches (for tests)
} pmm = {.lock = SPINLOCK_INIT("pmm")};

vm_page_t *pmm_page_array;     // indexed by frame number
size_t pmm_page_array_frames;  // frames described

const char *page_state_name(enum page_state state) {
    static const char *const names[PAGE_STATE_COUNT] = {
        "free", "wired", "heap", "page-table", "vmo", "zero", "compressed", "reserved",
    };
    return state < PAGE_STATE_COUNT ? names[state] : "?";
}

zx_status_t pmm_init(const struct phys_ranges *ranges) {
    // The array ends at the top of usable RAM.
    paddr_t top = 0;
    for (size_t i = 0; i < ranges->count; i++) {
        if (ranges->r[i].kind == MEM_AVAILABLE)
            top = ranges->r[i].end;
    }
    size_t len = (size_t)(top >> PAGE_SHIFT);
    size_t array_bytes = ROUNDUP(len * sizeof(vm_page_t), PAGE_SIZE);

    // Place the array in the first available range that holds it (page-aligned, above frame 0).
    paddr_t array_pa = 0;
    for (size_t i = 0; i < ranges->count && !array_pa; i++) {
        const struct phys_range *r = &ranges->r[i];
        paddr_t start = ROUNDUP(r->start, (paddr_t)PAGE_SIZE);
        if (start == 0)
            start = PAGE_SIZE;
        if (r->kind == MEM_AVAILABLE && start < r->end && r->end - start >= array_bytes)
            array_pa = start;
    }
    if (!array_pa)
        return ZX_ERR_NO_MEMORY;

    pmm_page_array = paddr_to_kva(array_pa);
    pmm_page_array_frames = len;
    list_init(&pmm.free_list);
    pmm.rover = 0;
    memset(pmm.counts, 0, sizeof(pmm.counts));
    memset(pmm_page_array, 0, len * sizeof(vm_page_t));
    size_t array_first = (size_t)(array_pa >> PAGE_SHIFT);
    size_t array_end = array_first + array_bytes / PAGE_SIZE;
    for (size_t pfn = 0; pfn < len; pfn++) {
        vm_page_t *p = &pmm_page_array[pfn];
        paddr_t pa = (paddr_t)pfn << PAGE_SHIFT;
        // A page is usable only if the whole page is available RAM (ranges may be unaligned).
        const struct phys_range *r = phys_ranges_find(ranges, pa);
        bool usable = pfn != 0 && r && r->kind == MEM_AVAILABLE && r->end - pa >= PAGE_SIZE;
        if (pfn >= array_first && pfn < array_end)
            p->state = PAGE_STATE_WIRED;
        else if (usable)
            p->state = PAGE_STATE_FREE;
        else
            p->state = PAGE_STATE_RESERVED;
        pmm.counts[p->state]++;
    }
    // Build the free list in descending order so that low frames are handed out first.
    for (size_t pfn = len; pfn-- > 0;) {
        if (pmm_page_array[pfn].state == PAGE_STATE_FREE)
            list_add_head(&pmm.free_list, &pmm_page_array[pfn].node);
    }
    return ZX_OK;
}

static bool injected_failure_locked(void) REQUIRES(pmm.lock) {
    ASSERT_HELD(&pmm.lock);
    pmm.alloc_seq++;
    return pmm.fail_at != 0 && pmm.alloc_seq >= pmm.fail_at;
}

static void take_free_page_locked(vm_page_t *p, enum page_state state) REQUIRES(pmm.lock) {
    ASSERT_HELD(&pmm.lock);
    DEBUG_ASSERT(p->state == PAGE_STATE_FREE);
    list_delete(&p->node);
    __builtin_memset(p, 0, sizeof(*p));  // a few stores, not a call (-fno-builtin)
    p->state = (uint8_t)state;
    pmm.counts[PAGE_STATE_FREE]--;
    pmm.counts[state]++;
}

// Whether a VMO page may be taken now: above the reserve anyone may; above the critical reserve
// only a critical caller (the kernel's threads, the root job's processes); below both, only the
// other states (compressed storage, the heap, page tables), which take every free page.
static bool vmo_page_allowed_locked(void) REQUIRES(pmm.lock) {
    ASSERT_HELD(&pmm.lock);
    size_t free = pmm.counts[PAGE_STATE_FREE];
    if (free > pmm.reserve)
        return true;
    if (free > pmm.critical_reserve && thread_current_alloc_critical()) {
        pmm.critical_allocs++;
        return true;
    }
    return false;
}

vm_page_t *pmm_alloc_page(enum page_state state) {
    ASSERT(state != PAGE_STATE_FREE && state < PAGE_STATE_COUNT);
    irqstate_t s = spin_lock_irqsave(&pmm.lock);
    vm_page_t *p = NULL;
    if (!injected_failure_locked() && !list_is_empty(&pmm.free_list) &&
        (state != PAGE_STATE_VMO || vmo_page_allowed_locked())) {
        p = containerof(pmm.free_list.next, vm_page_t, node);
        take_free_page_locked(p, state);
    }
    spin_unlock_irqrestore(&pmm.lock, s);
    return p;
}

static void free_page_locked(vm_page_t *p) REQUIRES(pmm.lock) {
    ASSERT_HELD(&pmm.lock);
    ASSERT_MSG(p->state != PAGE_STATE_FREE && p->state != PAGE_STATE_RESERVED,
               "page %#llx is %s", (unsigned long long)vm_page_paddr(p),
               page_state_name(p->state));
    // Its owner takes a VMO page off its queue before freeing it: the queues are a layer above
    // (the queue lock is a leaf; a queued page's `node` is the queue's, not our free list's).
    ASSERT_MSG(__atomic_load_n(&p->queue, __ATOMIC_RELAXED) == PQ_NONE,
               "page %#llx freed while on page queue %u", (unsigned long long)vm_page_paddr(p),
               (unsigned)p->queue);
    pmm.counts[p->state]--;
    pmm.counts[PAGE_STATE_FREE]++;
    __builtin_memset(p, 0, sizeof(*p));
    p->state = PAGE_STATE_FREE;
    list_add_head(&pmm.free_list, &p->node);
}

void pmm_set_reserve(size_t pages, size_t critical_pages) {
    ASSERT(critical_pages <= pages);
    irqstate_t s = spin_lock_irqsave(&pmm.lock);
    pmm.reserve = pages;
    pmm.critical_reserve = critical_pages;
    spin_unlock_irqrestore(&pmm.lock, s);
}

size_t pmm_critical_allocs(void) {
    irqstate_t s = spin_lock_irqsave(&pmm.lock);
    size_t n = pmm.critical_allocs;
    spin_unlock_irqrestore(&pmm.lock, s);
    return n;
}

void pmm_free_page(vm_page_t *page) {
    irqstate_t s = spin_lock_irqsave(&pmm.lock);
    free_page_locked(page);
    spin_unlock_irqrestore(&pmm.lock, s);
}

// The first pfn in [from, to) starting `count` FREE frames with pfn % align == 0, or SIZE_MAX.
static size_t find_run_locked(size_t from, size_t to, size_t count, size_t align) REQUIRES(pmm.lock) {
    ASSERT_HELD(&pmm.lock);
    size_t pfn = ROUNDUP(from, align);
    while (pfn + count <= to) {
        size_t run = 0;
        while (run < count && pmm_page_array[pfn + run].state == PAGE_STATE_FREE)
            run++;
        pmm.examined += run + 1;
        if (run == count)
            return pfn;
        pfn = ROUNDUP(pfn + run + 1, align);
    }
    return SIZE_MAX;
}

vm_page_t *pmm_alloc_contiguous(size_t count, size_t align_pages, enum page_state state) {
    ASSERT(count > 0 && align_pages > 0 && (align_pages & (align_pages - 1)) == 0);
    ASSERT(state != PAGE_STATE_FREE && state < PAGE_STATE_COUNT);
    if (count == 1 && align_pages == 1)
        return pmm_alloc_page(state);
    irqstate_t s = spin_lock_irqsave(&pmm.lock);
    vm_page_t *first = NULL;
    if (!injected_failure_locked() && pmm.counts[PAGE_STATE_FREE] >= count) {
        // Next fit: from the rover to the end, then from the start up to the rover's runs.
        size_t pfn = find_run_locked(pmm.rover, pmm_page_array_frames, count, align_pages);
        if (pfn == SIZE_MAX)
            pfn = find_run_locked(0, MIN(pmm_page_array_frames, pmm.rover + count), count,
                                  align_pages);
        if (pfn != SIZE_MAX) {
            first = &pmm_page_array[pfn];
            pmm.rover = pfn + count;
            for (size_t i = 0; i < count; i++)
                take_free_page_locked(first + i, state);
        }
    }
    spin_unlock_irqrestore(&pmm.lock, s);
    return first;
}

void pmm_free_contiguous(vm_page_t *first, size_t count) {
    irqstate_t s = spin_lock_irqsave(&pmm.lock);
    for (size_t i = 0; i < count; i++)
        free_page_locked(first + i);
    // The next search starts at the run just freed: a run of its size fits there at once, where
    // next fit would go on past it into whatever fragments lie beyond.
    size_t pfn = (size_t)(first - pmm_page_array);
    if (pfn < pmm.rover)
        pmm.rover = pfn;
    spin_unlock_irqrestore(&pmm.lock, s);
}

void pmm_set_state(vm_page_t *page, enum page_state state) {
    ASSERT(state != PAGE_STATE_FREE && state < PAGE_STATE_COUNT);
    irqstate_t s = spin_lock_irqsave(&pmm.lock);
    ASSERT(page->state != PAGE_STATE_FREE && page->state != PAGE_STATE_RESERVED);
    pmm.counts[page->state]--;
    pmm.counts[state]++;
    page->state = (uint8_t)state;
    spin_unlock_irqrestore(&pmm.lock, s);
}

size_t pmm_count(enum page_state state) {
    irqstate_t s = spin_lock_irqsave(&pmm.lock);
    size_t n = pmm.counts[state];
    spin_unlock_irqrestore(&pmm.lock, s);
    return n;
}

uint64_t pmm_managed_bytes(void) {
    irqstate_t s = spin_lock_irqsave(&pmm.lock);
    size_t pages = 0;
    for (int st = 0; st < PAGE_STATE_COUNT; st++) {
        if (st != PAGE_STATE_RESERVED)
            pages += pmm.counts[st];
    }
    spin_unlock_irqrestore(&pmm.lock, s);
    return (uint64_t)pages * PAGE_SIZE;
}

size_t pmm_page_array_len(void) {
    return pmm_page_array_frames;
}

size_t pmm_frames_examined(void) {
    irqstate_t s = spin_lock_irqsave(&pmm.lock);
    size_t n = pmm.examined;
    spin_unlock_irqrestore(&pmm.lock, s);
    return n;
}

void pmm_fail_after(size_t n) {
    irqstate_t s = spin_lock_irqsave(&pmm.lock);
    pmm.fail_at = pmm.alloc_seq + n;
    spin_unlock_irqrestore(&pmm.lock, s);
}

void pmm_fail_disarm(void) {
    irqstate_t s = spin_lock_irqsave(&pmm.lock);
    pmm.fail_at = 0;
    spin_unlock_irqrestore(&pmm.lock, s);
}

bool pmm_check(void) {
    irqstate_t s = spin_lock_irqsave(&pmm.lock);
    size_t counts[PAGE_STATE_COUNT] = {0};
    bool ok = true;
    for (size_t pfn = 0; pfn < pmm_page_array_frames; pfn++) {
        uint8_t st = pmm_page_array[pfn].state;
        if (st >= PAGE_STATE_COUNT) {
            kprintf("pmm_check: page %zu has state %u\n", pfn, st);
            ok = false;
            break;
        }
        counts[st]++;
    }
    for (int st = 0; ok && st < PAGE_STATE_COUNT; st++) {
        if (counts[st] != pmm.counts[st]) {
            kprintf("pmm_check: %s: %zu pages, counter says %zu\n",
                    page_state_name((enum page_state)st), counts[st], pmm.counts[st]);
            ok = false;
        }
    }
    size_t listed = 0;
    list_for_each(&pmm.free_list, it) {
        vm_page_t *p = containerof(it, vm_page_t, node);
        if (p->state != PAGE_STATE_FREE) {
            kprintf("pmm_check: page %#llx on the free list is %s\n",
                    (unsigned long long)vm_page_paddr(p), page_state_name(p->state));
            ok = false;
            break;
        }
        if (++listed > pmm_page_array_frames)
            break;
    }
    if (ok && listed != counts[PAGE_STATE_FREE]) {
        kprintf("pmm_check: free list has %zu pages, %zu are free\n", listed,
                counts[PAGE_STATE_FREE]);
        ok = false;
    }
    spin_unlock_irqrestore(&pmm.lock, s);
    return ok;
}
