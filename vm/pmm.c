// The physical memory manager. The page array covers frames [0, array_len); frames outside
// available RAM are RESERVED forever. Free pages sit on one LIFO list (the global free list, under
// pmm.lock) or in a CPU's cache (below).
//
// Costs: a single page (pmm_alloc_page, or a run of one unaligned page) comes out of the calling
// CPU's cache, O(1), without the global lock. A longer run (thread stacks, multi-page slabs) is
// searched next-fit from where the last run was found, so steady churn finds free frames at once
// instead of rescanning the fragmented low frames every time; only a fragmented machine scans far
// (once around at most).
//
// Per-CPU caches. Each CPU keeps up to PMM_CACHE_PAGES free pages on a stack of its own (struct
// pmm_cache, linked through the pages' node.next; node.prev is NULL, which tells a cached FREE
// page from a listed one). pmm_alloc_page and pmm_free_page touch only the calling CPU's cache,
// with interrupts off and its `busy` word set: no lock, no atomic read-modify-write, no cache line
// shared with another CPU. An empty cache is refilled, and a full one drained, PMM_CACHE_BATCH
// pages at a time under the global lock (a splice: one pass over the batch's links). Cached pages
// are FREE pages; a page's move between FREE and another state through a cache is counted in that
// cache's `delta`, so pmm_count(s) is counts[s] plus every cache's delta[s] (FREE: minus all of
// them), exact whenever no allocation is in flight.
//
// A FREE page's descriptor is clear but for its links (pmm_check), so a cached page is handed out
// with two stores.
//
// Other CPUs reach a cache only after freezing the caches (caches_freeze_locked, under the global
// lock): set a bit of pmm.cache_off, then wait until no CPU is busy. A single-page path sets busy,
// then (after a full fence) reads cache_off, and takes the global lock instead if it is set; the
// freezer sets cache_off, then (after a full fence) reads each busy word. Of two such
// store-fence-load sequences at least one sees the other's store, so a freezer never works on a
// cache that its CPU is using. The caches are frozen (and emptied onto the list) near the
// reserve bands (CACHES_OFF_BAND), while failure injection is armed (CACHES_OFF_FAIL), while a
// run search takes back the cached pages (CACHES_OFF_DRAIN), and — without emptying them — while
// pmm_check counts (CACHES_OFF_CHECK).
//
// Invariant (the reserve bands stay exact): while the caches are on, free_listed >= reserve.
// A cached allocation then finds at least free_listed + 1 > reserve pages free (its own page is
// not listed), so it is never one the band would refuse. A locked path that would take the list
// below the reserve freezes and empties the caches first (band_before_taking_locked), and with
// the caches off every allocation is checked under the global lock against the list, which then
// holds every free page.
//
// Lock order: VM locks → pmm.lock (the single-page fast paths take no lock).
#include "vm/pmm.h"

#include "arch/x86_64/smp.h"
#include "kernel/assert.h"
#include "kernel/printf.h"
#include "kernel/spinlock.h"
#include "kernel/string.h"
#include "kernel/thread.h"
#include "vm/page_queues.h"
#include "vm/physmap.h"

#define PMM_CACHE_PAGES 64  // free pages one CPU's cache holds at most
#define PMM_CACHE_BATCH 32  // pages a refill or a drain moves between a cache and the list

// Why the caches are off (bits of pmm.cache_off); 0: on.
enum {
    CACHES_OFF_BAND = 1u << 0,   // the list is down to the reserve: bands are checked under the lock
    CACHES_OFF_FAIL = 1u << 1,   // failure injection armed: every attempt is counted under the lock
    CACHES_OFF_DRAIN = 1u << 2,  // a run search is taking the cached pages back
    CACHES_OFF_CHECK = 1u << 3,  // pmm_check is counting (the caches keep their pages)
};

static struct {
    struct spinlock lock;
    struct list_node free_list GUARDED_BY(lock);
    size_t free_listed GUARDED_BY(lock);  // pages on free_list (FREE pages not in a cache)
    // Pages per state, but for the moves through the caches since their last fold (their delta).
    size_t counts[PAGE_STATE_COUNT] GUARDED_BY(lock);
    // CACHES_OFF_* bits; written under lock, read by the single-page paths (busy set).
    uint32_t cache_off GUARDED_BY(lock);
    size_t fail_at GUARDED_BY(lock);    // allocation number that starts failing; 0: off
    size_t alloc_seq GUARDED_BY(lock);  // allocations attempted (counted while the caches are off)
    size_t reserve GUARDED_BY(lock);    // free pages ordinary VMO allocations may not take
    size_t critical_reserve GUARDED_BY(lock);  // ... critical ones may not take (<= reserve)
    size_t critical_allocs GUARDED_BY(lock);  // VMO pages taken from the critical band
    size_t rover GUARDED_BY(lock);      // where the next run search starts (next fit)
    size_t examined GUARDED_BY(lock);   // frames looked at by run searches (for tests)
} pmm = {.lock = SPINLOCK_INIT("pmm")};

// One CPU's free pages. Used by its own CPU with interrupts off: by the single-page paths with
// `busy` set (caches on), or by its slow paths under pmm.lock; by another CPU only under
// pmm.lock with the caches frozen (caches_freeze_locked).
struct pmm_cache {
    uint32_t busy;   // 1 while a single-page path of this CPU uses the cache
    uint32_t count;  // pages on the stack (read racily by pmm_cached_pages)
    struct list_node *head;  // the stack, newest first, linked through node.next (NULL ends it)
    // Pages moved into each state but FREE (out of it: negative) through this cache since its
    // last fold into pmm.counts; FREE moves by minus their sum. Read racily by pmm_count.
    long delta[PAGE_STATE_COUNT];
} ALIGNED(64);

static struct pmm_cache pmm_caches[SMP_MAX_CPUS];

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
    pmm.cache_off = 0;
    memset(pmm_caches, 0, sizeof(pmm_caches));
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
    pmm.free_listed = pmm.counts[PAGE_STATE_FREE];
    return ZX_OK;
}

// ---- The global list (pmm.lock) ----

static bool injected_failure_locked(void) REQUIRES(pmm.lock) {
    ASSERT_HELD(&pmm.lock);
    pmm.alloc_seq++;
    return pmm.fail_at != 0 && pmm.alloc_seq >= pmm.fail_at;
}

// Clears a page for its new owner: a few stores, not a call (-fno-builtin).
static inline void page_hand_out(vm_page_t *p, enum page_state state) {
    __builtin_memset(p, 0, sizeof(*p));
    p->state = (uint8_t)state;
}

// Asserts that `p` may be freed: allocated, and off every page queue (its owner takes a VMO page
// off its queue first: the queues are a layer above, and a queued page's `node` is theirs).
static inline void assert_freeable(const vm_page_t *p) {
    ASSERT_MSG(p->state != PAGE_STATE_FREE && p->state != PAGE_STATE_RESERVED,
               "page %#llx is %s", (unsigned long long)vm_page_paddr(p),
               page_state_name(p->state));
    ASSERT_MSG(__atomic_load_n(&p->queue, __ATOMIC_RELAXED) == PQ_NONE,
               "page %#llx freed while on page queue %u", (unsigned long long)vm_page_paddr(p),
               (unsigned)p->queue);
}

// A FREE page is listed (on pmm.free_list) rather than cached.
static inline bool page_listed(const vm_page_t *p) {
    return p->node.prev != NULL;
}

static void take_free_page_locked(vm_page_t *p, enum page_state state) REQUIRES(pmm.lock) {
    ASSERT_HELD(&pmm.lock);
    DEBUG_ASSERT(p->state == PAGE_STATE_FREE && page_listed(p));
    list_delete(&p->node);
    page_hand_out(p, state);
    pmm.free_listed--;
    pmm.counts[PAGE_STATE_FREE]--;
    pmm.counts[state]++;
}

static void free_page_locked(vm_page_t *p) REQUIRES(pmm.lock) {
    ASSERT_HELD(&pmm.lock);
    assert_freeable(p);
    pmm.counts[p->state]--;
    pmm.counts[PAGE_STATE_FREE]++;
    __builtin_memset(p, 0, sizeof(*p));
    p->state = PAGE_STATE_FREE;
    list_add_head(&pmm.free_list, &p->node);
    pmm.free_listed++;
}

// Whether a VMO page may be taken now: above the reserve anyone may; above the critical reserve
// only a critical caller (the kernel's threads, the root job's processes); below both, only the
// other states (compressed storage, the heap, page tables), which take every free page. Only
// with the caches off, when the list holds every free page.
static bool vmo_page_allowed_locked(void) REQUIRES(pmm.lock) {
    ASSERT_HELD(&pmm.lock);
    DEBUG_ASSERT(pmm.cache_off != 0);
    size_t free = pmm.free_listed;
    if (free > pmm.reserve)
        return true;
    if (free > pmm.critical_reserve && thread_current_alloc_critical()) {
        pmm.critical_allocs++;
        return true;
    }
    return false;
}

// ---- The caches ----

static inline uint32_t caches_off(void) {
    return __atomic_load_n(&pmm.cache_off, __ATOMIC_RELAXED);
}

// Interrupts off, this CPU's cache marked busy; returns the cache. Then the caller reads
// caches_off(): if it is 0, no other CPU touches the cache until cache_leave.
static ALWAYS_INLINE struct pmm_cache *cache_enter(irqstate_t *out_irq) {
    *out_irq = irq_save_local();
    struct pmm_cache *c = &pmm_caches[smp_cpu_num()];
    __atomic_store_n(&c->busy, 1, __ATOMIC_RELAXED);
    __atomic_thread_fence(__ATOMIC_SEQ_CST);  // busy, then cache_off: see caches_freeze_locked
    return c;
}

static ALWAYS_INLINE void cache_leave(struct pmm_cache *c, irqstate_t irq) {
    __atomic_store_n(&c->busy, 0, __ATOMIC_RELEASE);
    irq_restore_local(irq);
}

static inline void cache_set_count(struct pmm_cache *c, uint32_t n) {
    __atomic_store_n(&c->count, n, __ATOMIC_RELAXED);
}

// Counts one page moving into (+1) or out of (-1) `state` (not FREE) through `c`.
static inline void cache_count_move(struct pmm_cache *c, enum page_state state, long d) {
    __atomic_store_n(&c->delta[state], c->delta[state] + d, __ATOMIC_RELAXED);
}

// Takes the newest page of `c` (not empty) and puts it in `state`. The caller uses c as its CPU
// (busy, or under pmm.lock with interrupts off).
static ALWAYS_INLINE vm_page_t *cache_pop(struct pmm_cache *c, enum page_state state) {
    vm_page_t *p = containerof(c->head, vm_page_t, node);
    DEBUG_ASSERT(p->state == PAGE_STATE_FREE && !page_listed(p));
    c->head = p->node.next;
    cache_set_count(c, c->count - 1);
    cache_count_move(c, state, +1);
    p->node.next = NULL;  // the rest of a FREE page's descriptor is clear
    p->state = (uint8_t)state;
    return p;
}

// Frees allocated page `p` onto `c` (not full), as cache_pop's caller.
static ALWAYS_INLINE void cache_push(struct pmm_cache *c, vm_page_t *p) {
    cache_count_move(c, (enum page_state)p->state, -1);
    __builtin_memset(p, 0, sizeof(*p));  // FREE, node.prev NULL: cached
    p->node.next = c->head;
    c->head = &p->node;
    cache_set_count(c, c->count + 1);
}

// Adds c's deltas into pmm.counts (c not in use by a single-page path), so that they stay small.
static void cache_fold_locked(struct pmm_cache *c) REQUIRES(pmm.lock) {
    ASSERT_HELD(&pmm.lock);
    for (int st = 0; st < PAGE_STATE_COUNT; st++) {
        long d = c->delta[st];
        pmm.counts[st] = (size_t)((long)pmm.counts[st] + d);
        pmm.counts[PAGE_STATE_FREE] = (size_t)((long)pmm.counts[PAGE_STATE_FREE] - d);
        __atomic_store_n(&c->delta[st], 0, __ATOMIC_RELAXED);
    }
}

// Moves the `n` newest cached pages of `c` (not in use by a single-page path) to the head of
// the free list.
static void cache_drain_locked(struct pmm_cache *c, uint32_t n) REQUIRES(pmm.lock) {
    ASSERT_HELD(&pmm.lock);
    ASSERT(n <= c->count);
    if (n == 0)
        return;
    struct list_node *first = c->head, *last = &pmm.free_list, *it = first;
    for (uint32_t i = 0; i < n; i++) {
        it->prev = last;  // listed from now on
        last = it;
        it = it->next;
    }
    c->head = it;
    last->next = pmm.free_list.next;
    pmm.free_list.next->prev = last;
    pmm.free_list.next = first;
    cache_set_count(c, c->count - n);
    pmm.free_listed += n;
    cache_fold_locked(c);
}

// Moves up to PMM_CACHE_BATCH listed pages onto `c` (this CPU's, empty), leaving at least the
// reserve on the list (the invariant at the top). Returns the pages moved.
static uint32_t cache_refill_locked(struct pmm_cache *c) REQUIRES(pmm.lock) {
    ASSERT_HELD(&pmm.lock);
    DEBUG_ASSERT(c->count == 0 && c->head == NULL && pmm.free_listed >= pmm.reserve);
    uint32_t n = (uint32_t)MIN((size_t)PMM_CACHE_BATCH, pmm.free_listed - pmm.reserve);
    if (n == 0)
        return 0;
    struct list_node *first = pmm.free_list.next, *last = NULL, *it = first;
    for (uint32_t i = 0; i < n; i++) {
        last = it;
        it = it->next;
        last->prev = NULL;  // cached from now on
    }
    pmm.free_list.next = it;
    it->prev = &pmm.free_list;
    last->next = NULL;
    c->head = first;
    cache_set_count(c, n);
    pmm.free_listed -= n;
    cache_fold_locked(c);
    return n;
}

// Sets `reason` in pmm.cache_off and waits until no CPU is in a single-page path: from then on
// until the bits are cleared, every cache stays as it is and only pmm.lock's holder touches it.
static void caches_freeze_locked(uint32_t reason) REQUIRES(pmm.lock) {
    ASSERT_HELD(&pmm.lock);
    __atomic_store_n(&pmm.cache_off, pmm.cache_off | reason, __ATOMIC_RELAXED);
    __atomic_thread_fence(__ATOMIC_SEQ_CST);  // cache_off, then busy: see cache_enter
    for (size_t cpu = 0; cpu < SMP_MAX_CPUS; cpu++) {
        while (__atomic_load_n(&pmm_caches[cpu].busy, __ATOMIC_ACQUIRE))
            __builtin_ia32_pause();
    }
}

// Empties every cache onto the list (frozen).
static void caches_drain_all_locked(void) REQUIRES(pmm.lock) {
    ASSERT_HELD(&pmm.lock);
    DEBUG_ASSERT(pmm.cache_off != 0);
    for (size_t cpu = 0; cpu < SMP_MAX_CPUS; cpu++)
        cache_drain_locked(&pmm_caches[cpu], pmm_caches[cpu].count);
}

// Switches the caches off for `reason` and empties them onto the list.
static void caches_off_locked(uint32_t reason) REQUIRES(pmm.lock) {
    ASSERT_HELD(&pmm.lock);
    bool were_on = pmm.cache_off == 0;
    caches_freeze_locked(reason);
    if (were_on)
        caches_drain_all_locked();
}

// Clears `reason`; the caches come back on when no reason is left and the list holds at least
// the reserve (else the band keeps them off).
static void caches_clear_locked(uint32_t reason) REQUIRES(pmm.lock) {
    ASSERT_HELD(&pmm.lock);
    uint32_t off = pmm.cache_off & ~reason;
    if (off == 0 && pmm.free_listed < pmm.reserve)
        off = CACHES_OFF_BAND;
    __atomic_store_n(&pmm.cache_off, off, __ATOMIC_RELAXED);
}

// Before a locked path takes `n` pages off the list: if that would leave less than the reserve
// while the caches are on, switches them off first (the invariant at the top).
static void band_before_taking_locked(size_t n) REQUIRES(pmm.lock) {
    ASSERT_HELD(&pmm.lock);
    if (pmm.cache_off == 0 && pmm.free_listed < pmm.reserve + n)
        caches_off_locked(CACHES_OFF_BAND);
}

// After a locked path: the band is left once the list holds a full cache per CPU above the
// reserve (so that refilling them does not bring it straight back).
static void band_maybe_leave_locked(void) REQUIRES(pmm.lock) {
    ASSERT_HELD(&pmm.lock);
    if ((pmm.cache_off & CACHES_OFF_BAND) &&
        pmm.free_listed > pmm.reserve + (size_t)PMM_CACHE_PAGES * smp_cpus_online())
        caches_clear_locked(CACHES_OFF_BAND);
}

// ---- Single pages ----

// With the caches off: the list alone, every check as it always was.
static vm_page_t *alloc_listed_locked(enum page_state state) REQUIRES(pmm.lock) {
    ASSERT_HELD(&pmm.lock);
    if (injected_failure_locked() || list_is_empty(&pmm.free_list) ||
        (state == PAGE_STATE_VMO && !vmo_page_allowed_locked()))
        return NULL;
    vm_page_t *p = containerof(pmm.free_list.next, vm_page_t, node);
    take_free_page_locked(p, state);
    return p;
}

// The calling CPU's cache was empty (or the caches are off): refills it from the list, or, when
// the list is down to the reserve, switches the caches off and allocates from the list.
static NOINLINE vm_page_t *alloc_page_slow(enum page_state state) {
    irqstate_t s = spin_lock_irqsave(&pmm.lock);
    vm_page_t *p = NULL;
    if (pmm.cache_off == 0) {
        // Interrupts are off and no freezer can run: this CPU's cache is ours.
        struct pmm_cache *c = &pmm_caches[smp_cpu_num()];
        if (c->count > 0 || cache_refill_locked(c) > 0)
            p = cache_pop(c, state);  // the invariant at the top holds: no band refuses it
        else
            band_before_taking_locked(1);  // the list is at the reserve: switches off
    }
    if (!p) {
        p = alloc_listed_locked(state);
        band_maybe_leave_locked();
    }
    spin_unlock_irqrestore(&pmm.lock, s);
    return p;
}

// LTO_INLINE: the fault path's page comes from here (the slow path stays a call).
LTO_INLINE vm_page_t *pmm_alloc_page(enum page_state state) {
    ASSERT(state != PAGE_STATE_FREE && state < PAGE_STATE_COUNT);
    irqstate_t irq;
    struct pmm_cache *c = cache_enter(&irq);
    if (likely(caches_off() == 0 && c->head != NULL)) {
        // The invariant at the top: no band can refuse this page.
        vm_page_t *p = cache_pop(c, state);
        cache_leave(c, irq);
        return p;
    }
    cache_leave(c, irq);
    return alloc_page_slow(state);
}

// The calling CPU's cache was full (or the caches are off): drains a batch of it onto the list,
// or frees onto the list.
static NOINLINE void free_page_slow(vm_page_t *p) {
    irqstate_t s = spin_lock_irqsave(&pmm.lock);
    if (pmm.cache_off == 0) {
        struct pmm_cache *c = &pmm_caches[smp_cpu_num()];
        if (c->count >= PMM_CACHE_PAGES)
            cache_drain_locked(c, PMM_CACHE_BATCH);
        cache_push(c, p);
    } else {
        free_page_locked(p);
        band_maybe_leave_locked();
    }
    spin_unlock_irqrestore(&pmm.lock, s);
}

void pmm_free_page(vm_page_t *page) {
    assert_freeable(page);
    irqstate_t irq;
    struct pmm_cache *c = cache_enter(&irq);
    if (likely(caches_off() == 0 && c->count < PMM_CACHE_PAGES)) {
        cache_push(c, page);
        cache_leave(c, irq);
        return;
    }
    cache_leave(c, irq);
    free_page_slow(page);
}

void pmm_set_reserve(size_t pages, size_t critical_pages) {
    ASSERT(critical_pages <= pages);
    irqstate_t s = spin_lock_irqsave(&pmm.lock);
    pmm.reserve = pages;
    pmm.critical_reserve = critical_pages;
    band_before_taking_locked(0);
    band_maybe_leave_locked();
    spin_unlock_irqrestore(&pmm.lock, s);
}

void pmm_get_reserve(size_t *out_pages, size_t *out_critical_pages) {
    irqstate_t s = spin_lock_irqsave(&pmm.lock);
    *out_pages = pmm.reserve;
    *out_critical_pages = pmm.critical_reserve;
    spin_unlock_irqrestore(&pmm.lock, s);
}

size_t pmm_critical_allocs(void) {
    irqstate_t s = spin_lock_irqsave(&pmm.lock);
    size_t n = pmm.critical_allocs;
    spin_unlock_irqrestore(&pmm.lock, s);
    return n;
}

// ---- Runs ----

// The first pfn in [from, to) starting `count` listed FREE frames with pfn % align == 0, or
// SIZE_MAX. Cached pages are not taken (their CPUs own them): the caller drains the caches and
// searches again when this fails.
static size_t find_run_locked(size_t from, size_t to, size_t count, size_t align) REQUIRES(pmm.lock) {
    ASSERT_HELD(&pmm.lock);
    size_t pfn = ROUNDUP(from, align);
    while (pfn + count <= to) {
        size_t run = 0;
        while (run < count && pmm_page_array[pfn + run].state == PAGE_STATE_FREE &&
               page_listed(&pmm_page_array[pfn + run]))
            run++;
        pmm.examined += run + 1;
        if (run == count)
            return pfn;
        pfn = ROUNDUP(pfn + run + 1, align);
    }
    return SIZE_MAX;
}

// Next fit: from the rover to the end, then from the start up to the rover's runs.
static size_t find_run_next_fit_locked(size_t count, size_t align) REQUIRES(pmm.lock) {
    ASSERT_HELD(&pmm.lock);
    if (pmm.free_listed < count)
        return SIZE_MAX;
    size_t pfn = find_run_locked(pmm.rover, pmm_page_array_frames, count, align);
    if (pfn == SIZE_MAX)
        pfn = find_run_locked(0, MIN(pmm_page_array_frames, pmm.rover + count), count, align);
    return pfn;
}

// Whether any cache holds a page (the caller holds pmm.lock; a racy look, for a retry only).
static bool caches_hold_pages_locked(void) REQUIRES(pmm.lock) {
    ASSERT_HELD(&pmm.lock);
    for (size_t cpu = 0; cpu < SMP_MAX_CPUS; cpu++) {
        if (__atomic_load_n(&pmm_caches[cpu].count, __ATOMIC_RELAXED) != 0)
            return true;
    }
    return false;
}

vm_page_t *pmm_alloc_contiguous(size_t count, size_t align_pages, enum page_state state) {
    ASSERT(count > 0 && align_pages > 0 && (align_pages & (align_pages - 1)) == 0);
    ASSERT(state != PAGE_STATE_FREE && state < PAGE_STATE_COUNT);
    if (count == 1 && align_pages == 1)
        return pmm_alloc_page(state);
    irqstate_t s = spin_lock_irqsave(&pmm.lock);
    vm_page_t *first = NULL;
    if (!injected_failure_locked()) {
        size_t pfn = find_run_next_fit_locked(count, align_pages);
        if (pfn == SIZE_MAX && caches_hold_pages_locked()) {
            // The run may need cached pages: take them all back onto the list and look again.
            bool were_on = pmm.cache_off == 0;
            caches_freeze_locked(CACHES_OFF_DRAIN);
            if (were_on)
                caches_drain_all_locked();
            caches_clear_locked(CACHES_OFF_DRAIN);
            pfn = find_run_next_fit_locked(count, align_pages);
        }
        if (pfn != SIZE_MAX) {
            band_before_taking_locked(count);
            first = &pmm_page_array[pfn];
            pmm.rover = pfn + count;
            for (size_t i = 0; i < count; i++)
                take_free_page_locked(first + i, state);
        }
    }
    band_maybe_leave_locked();
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
    band_maybe_leave_locked();
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

// ---- Counts, checks, failure injection ----

// counts[state] and every cache's delta (the caller holds pmm.lock, so no fold moves a delta
// meanwhile; a cache's own CPU may be moving a page through it, which the sum shows or not).
static size_t count_locked(enum page_state state) REQUIRES(pmm.lock) {
    ASSERT_HELD(&pmm.lock);
    long n = (long)pmm.counts[state];
    for (size_t cpu = 0; cpu < SMP_MAX_CPUS; cpu++) {
        const long *delta = pmm_caches[cpu].delta;
        if (state != PAGE_STATE_FREE) {
            n += __atomic_load_n(&delta[state], __ATOMIC_RELAXED);
            continue;
        }
        for (int st = 0; st < PAGE_STATE_COUNT; st++)
            n -= __atomic_load_n(&delta[st], __ATOMIC_RELAXED);
    }
    return (size_t)n;
}

size_t pmm_count(enum page_state state) {
    irqstate_t s = spin_lock_irqsave(&pmm.lock);
    size_t n = count_locked(state);
    spin_unlock_irqrestore(&pmm.lock, s);
    return n;
}

uint64_t pmm_managed_bytes(void) {
    irqstate_t s = spin_lock_irqsave(&pmm.lock);
    // RESERVED pages never move through a cache: the rest is every other page, constant.
    size_t pages = pmm_page_array_frames - count_locked(PAGE_STATE_RESERVED);
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

size_t pmm_cached_pages(unsigned cpu) {
    ASSERT(cpu < SMP_MAX_CPUS);
    return __atomic_load_n(&pmm_caches[cpu].count, __ATOMIC_RELAXED);
}

void pmm_fail_after(size_t n) {
    irqstate_t s = spin_lock_irqsave(&pmm.lock);
    pmm.fail_at = pmm.alloc_seq + n;
    caches_off_locked(CACHES_OFF_FAIL);
    spin_unlock_irqrestore(&pmm.lock, s);
}

void pmm_fail_disarm(void) {
    irqstate_t s = spin_lock_irqsave(&pmm.lock);
    pmm.fail_at = 0;
    caches_clear_locked(CACHES_OFF_FAIL);
    spin_unlock_irqrestore(&pmm.lock, s);
}

// Checks CPU `cpu`'s cache (frozen): its stack holds `count` FREE, unlisted pages, and none
// while the caches are off for a reason other than the check. Adds its pages to *cached and its
// deltas to counts[].
static bool check_cache_locked(size_t cpu, long counts[PAGE_STATE_COUNT], size_t *cached)
    REQUIRES(pmm.lock) {
    ASSERT_HELD(&pmm.lock);
    const struct pmm_cache *c = &pmm_caches[cpu];
    if (c->count > PMM_CACHE_PAGES || ((pmm.cache_off & ~CACHES_OFF_CHECK) && c->count != 0)) {
        kprintf("pmm_check: cpu %zu caches %u pages (caches off: %#x)\n", cpu, c->count,
                pmm.cache_off);
        return false;
    }
    uint32_t n = 0;
    for (const struct list_node *it = c->head; it; it = it->next) {
        const vm_page_t *p = containerof(it, vm_page_t, node);
        if (++n > c->count || p->state != PAGE_STATE_FREE || page_listed(p)) {
            kprintf("pmm_check: page %#llx, number %u in cpu %zu's cache of %u, is %s%s\n",
                    (unsigned long long)vm_page_paddr(p), n, cpu, c->count,
                    page_state_name(p->state), page_listed(p) ? " and listed" : "");
            return false;
        }
    }
    if (n != c->count) {
        kprintf("pmm_check: cpu %zu's cache holds %u pages, counts %u\n", cpu, n, c->count);
        return false;
    }
    long moved = 0;
    for (int st = 0; st < PAGE_STATE_COUNT; st++) {
        counts[st] += c->delta[st];
        moved += c->delta[st];
    }
    counts[PAGE_STATE_FREE] -= moved;
    *cached += n;
    return true;
}

// Checks the list: its pages are FREE; returns how many, or SIZE_MAX.
static size_t check_list_locked(void) REQUIRES(pmm.lock) {
    ASSERT_HELD(&pmm.lock);
    size_t listed = 0;
    list_for_each(&pmm.free_list, it) {
        vm_page_t *p = containerof(it, vm_page_t, node);
        if (p->state != PAGE_STATE_FREE) {
            kprintf("pmm_check: page %#llx on the free list is %s\n",
                    (unsigned long long)vm_page_paddr(p), page_state_name(p->state));
            return SIZE_MAX;
        }
        if (++listed > pmm_page_array_frames)
            return SIZE_MAX;
    }
    return listed;
}

// A FREE page's descriptor is clear but for its links (cache_pop relies on it).
static bool free_page_clear(const vm_page_t *p) {
    vm_page_t copy = *p;
    copy.node = (struct list_node){NULL, NULL};
    static const vm_page_t zero;
    return memcmp(&copy, &zero, sizeof(copy)) == 0;
}

bool pmm_check(void) {
    irqstate_t s = spin_lock_irqsave(&pmm.lock);
    // Freeze the caches: every single-page operation now waits for pmm.lock.
    bool were_on = pmm.cache_off == 0;
    caches_freeze_locked(CACHES_OFF_CHECK);

    size_t seen[PAGE_STATE_COUNT] = {0}, unlisted = 0;
    bool ok = true;
    for (size_t pfn = 0; pfn < pmm_page_array_frames; pfn++) {
        const vm_page_t *p = &pmm_page_array[pfn];
        if (p->state >= PAGE_STATE_COUNT || (p->state == PAGE_STATE_FREE && !free_page_clear(p))) {
            kprintf("pmm_check: page %zu has state %u (flags %#x, queue %u)\n", pfn, p->state,
                    p->flags, p->queue);
            ok = false;
            break;
        }
        seen[p->state]++;
        unlisted += p->state == PAGE_STATE_FREE && !page_listed(p);
    }
    long counts[PAGE_STATE_COUNT];
    for (int st = 0; st < PAGE_STATE_COUNT; st++)
        counts[st] = (long)pmm.counts[st];
    size_t cached = 0;
    for (size_t cpu = 0; ok && cpu < SMP_MAX_CPUS; cpu++)
        ok = check_cache_locked(cpu, counts, &cached);
    for (int st = 0; ok && st < PAGE_STATE_COUNT; st++) {
        if ((long)seen[st] != counts[st]) {
            kprintf("pmm_check: %s: %zu pages, counters say %ld\n",
                    page_state_name((enum page_state)st), seen[st], counts[st]);
            ok = false;
        }
    }
    size_t listed = ok ? check_list_locked() : 0;
    if (ok && (listed == SIZE_MAX || listed != pmm.free_listed ||
               listed + cached != seen[PAGE_STATE_FREE] || unlisted != cached)) {
        kprintf("pmm_check: %zu listed (counter %zu), %zu cached (%zu unlisted), %zu free\n",
                listed, pmm.free_listed, cached, unlisted, seen[PAGE_STATE_FREE]);
        ok = false;
    }
    // The invariant at the top of this file.
    if (ok && were_on && pmm.free_listed < pmm.reserve) {
        kprintf("pmm_check: caches on with %zu listed, below the reserve %zu\n", pmm.free_listed,
                pmm.reserve);
        ok = false;
    }

    __atomic_store_n(&pmm.cache_off, pmm.cache_off & ~CACHES_OFF_CHECK, __ATOMIC_RELAXED);
    spin_unlock_irqrestore(&pmm.lock, s);
    return ok;
}
