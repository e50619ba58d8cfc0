// The pmm: exact counts, exhaustion, contiguous runs, failure injection, and the per-CPU caches
// under each of them. Runs at boot on the real page array and on the host over simulated RAM
// (the caches on several CPUs: pmm_smp_test.c).
#include "arch/x86_64/smp.h"
#include "kernel/heap.h"
#include "kernel/ktest.h"
#include "kernel/string.h"
#include "vm/pmm.h"

KTEST(pmm, alloc_free_one) {
    size_t free0 = pmm_count(PAGE_STATE_FREE), heap0 = pmm_count(PAGE_STATE_HEAP);
    vm_page_t *p = pmm_alloc_page(PAGE_STATE_HEAP);
    REQUIRE_TRUE(p != NULL);
    EXPECT_EQ(p->state, PAGE_STATE_HEAP);
    EXPECT_EQ(pmm_count(PAGE_STATE_FREE), free0 - 1);
    EXPECT_EQ(pmm_count(PAGE_STATE_HEAP), heap0 + 1);
    EXPECT_TRUE(pmm_page_from_paddr(vm_page_paddr(p)) == p);
    EXPECT_TRUE(pmm_page_from_kva(vm_page_kva(p)) == p);
    EXPECT_EQ(vm_page_paddr(p) % PAGE_SIZE, 0);
    EXPECT_NE(vm_page_paddr(p), 0);  // frame 0 is never handed out
    pmm_set_state(p, PAGE_STATE_VMO);
    EXPECT_EQ(pmm_count(PAGE_STATE_HEAP), heap0);
  
    pmm_free_page(p);
    EXPECT_EQ(pmm_count(PAGE_STATE_FREE), free0);
    EXPECT_EQ(p->state, PAGE_STATE_FREE);
    EXPECT_TRUE(pmm_check());
}

// Allocates every free page (threading them through their own contents), checks that exhaustion
// is reported, then frees them all: the counts must come back exactly.
KTEST(pmm, alloc_everything_then_free_everything) {
    size_t free0 = pmm_count(PAGE_STATE_FREE);
    size_t total0 = 0;
    for (int s = 0; s < PAGE_STATE_COUNT; s++)
        total0 += pmm_count((enum page_state)s);
    void *head = NULL;
    size_t n = 0;
    vm_page_t *p;
    while ((p = pmm_alloc_page(PAGE_STATE_WIRED)) != NULL) {
        void *kva = vm_page_kva(p);
        *(void **)kva = head;
        head = kva;
        n++;
    }
    EXPECT_EQ(n, free0);
    EXPECT_EQ(pmm_count(PAGE_STATE_FREE), 0);
    EXPECT_TRUE(pmm_alloc_contiguous(1, 1, PAGE_STATE_WIRED) == NULL);
    EXPECT_TRUE(pmm_check());
    while (head) {
        void *next = *(void **)head;
        pmm_free_page(pmm_page_from_kva(head));
        head = next;
    }
    EXPECT_EQ(pmm_count(PAGE_STATE_FREE), free0);
    size_t total1 = 0;
    for (int s = 0; s < PAGE_STATE_COUNT; s++)
        total1 += pmm_count((enum page_state)s);
    EXPECT_EQ(total1, total0);
    EXPECT_EQ(total1, pmm_page_array_len());
    EXPECT_TRUE(pmm_check());
}

KTEST(pmm, contiguous_runs_are_contiguous_and_aligned) {
    size_t free0 = pmm_count(PAGE_STATE_FREE);
    vm_page_t *run = pmm_alloc_contiguous(37, 16, PAGE_STATE_HEAP);
    REQUIRE_TRUE(run != NULL);
    EXPECT_EQ((vm_page_paddr(run) >> PAGE_SHIFT) % 16, 0);
    for (size_t i = 0; i < 37; i++) {
        EXPECT_EQ(run[i].state, PAGE_STATE_HEAP);
        EXPECT_EQ(vm_page_paddr(&run[i]), vm_page_paddr(run) + i * PAGE_SIZE);
    }
    EXPECT_EQ(pmm_count(PAGE_STATE_FREE), free0 - 37);
    // A run larger than all free memory fails and changes nothing.
    EXPECT_TRUE(pmm_alloc_contiguous(free0 + 1, 1, PAGE_STATE_HEAP) == NULL);
    EXPECT_EQ(pmm_count(PAGE_STATE_FREE), free0 - 37);
    pmm_free_contiguous(run, 37);
    EXPECT_EQ(pmm_count(PAGE_STATE_FREE), free0);
    EXPECT_TRUE(pmm_check());
}

// A single page never searches the page array, through any door: pmm_alloc_page, a one-page run,
// kmalloc of a page (the vmo_read/write path once used it for its bounce buffer).
KTEST(pmm, single_pages_do_not_scan) {
    size_t free0 = pmm_count(PAGE_STATE_FREE);
    size_t seen0 = pmm_frames_examined();
    vm_page_t *a = pmm_alloc_page(PAGE_STATE_HEAP);
    vm_page_t *b = pmm_alloc_contiguous(1, 1, PAGE_STATE_HEAP);
    void *k = kmalloc(PAGE_SIZE);
    REQUIRE_TRUE(a != NULL && b != NULL && k != NULL);
    EXPECT_EQ(pmm_frames_examined(), seen0);
    kfree(k);
    pmm_free_page(b);
    pmm_free_page(a);
    EXPECT_EQ(pmm_frames_examined(), seen0);
    EXPECT_EQ(pmm_count(PAGE_STATE_FREE), free0);
    EXPECT_TRUE(pmm_check());
}

// Runs are found next fit: allocating and freeing the same size again and again (thread stacks)
// looks at a bounded number of frames each time, however fragmented the low frames are.
KTEST(pmm, repeated_runs_search_little) {
    size_t free0 = pmm_count(PAGE_STATE_FREE);
    // Fragment: take a stretch of pages off the free list and give every other one back.
    enum { HOLD = 128 };
    vm_page_t *held[HOLD];
    for (int i = 0; i < HOLD; i++)
        held[i] = pmm_alloc_page(PAGE_STATE_HEAP);
    for (int i = 1; i < HOLD; i += 2) {
        if (held[i])
            pmm_free_page(held[i]);
        held[i] = NULL;
    }
    vm_page_t *run = pmm_alloc_contiguous(4, 1, PAGE_STATE_WIRED);
    REQUIRE_TRUE(run != NULL);
    pmm_free_contiguous(run, 4);
    for (int i = 0; i < 100; i++) {
        size_t seen = pmm_frames_examined();
        run = pmm_alloc_contiguous(4, 1, PAGE_STATE_WIRED);
        REQUIRE_TRUE(run != NULL);
        EXPECT_LE(pmm_frames_examined() - seen, 64);
        pmm_free_contiguous(run, 4);
    }
    for (int i = 0; i < HOLD; i++)
        if (held[i])
            pmm_free_page(held[i]);
    EXPECT_EQ(pmm_count(PAGE_STATE_FREE), free0);
    EXPECT_TRUE(pmm_check());
}

KTEST(pmm, injected_failures) {
    size_t free0 = pmm_count(PAGE_STATE_FREE);
    pmm_fail_after(3);
    vm_page_t *a = pmm_alloc_page(PAGE_STATE_HEAP);
    vm_page_t *b = pmm_alloc_page(PAGE_STATE_HEAP);
    vm_page_t *c = pmm_alloc_page(PAGE_STATE_HEAP);
    vm_page_t *d = pmm_alloc_contiguous(2, 1, PAGE_STATE_HEAP);
    pmm_fail_disarm();
    EXPECT_TRUE(a != NULL && b != NULL);
    EXPECT_TRUE(c == NULL && d == NULL);
    vm_page_t *e = pmm_alloc_page(PAGE_STATE_HEAP);
    EXPECT_TRUE(e != NULL);
    pmm_free_page(a);
    pmm_free_page(b);
    pmm_free_page(e);
    EXPECT_EQ(pmm_count(PAGE_STATE_FREE), free0);
}

KTEST(pmm, page_contents_are_independent) {
    vm_page_t *a = pmm_alloc_page(PAGE_STATE_HEAP);
    vm_page_t *b = pmm_alloc_page(PAGE_STATE_HEAP);
    REQUIRE_TRUE(a && b);
    page_zero(vm_page_kva(a));
    memset(vm_page_kva(b), 0x5a, PAGE_SIZE);
    const uint8_t *pa = vm_page_kva(a);
    size_t nonzero = 0;
    for (size_t i = 0; i < PAGE_SIZE; i++)
        nonzero += pa[i] != 0;
    EXPECT_EQ(nonzero, 0);
    page_copy(vm_page_kva(a), vm_page_kva(b));
    EXPECT_EQ(memcmp(vm_page_kva(a), vm_page_kva(b), PAGE_SIZE), 0);
    pmm_free_page(a);
    pmm_free_page(b);
}

// ---- The per-CPU caches (vm/pmm.c) ----

// Cached free pages over every CPU (a racy look: exact when nothing else allocates).
static size_t cached_pages(void) {
    size_t n = 0;
    for (unsigned cpu = 0; cpu < SMP_MAX_CPUS; cpu++)
        n += pmm_cached_pages(cpu);
    return n;
}

// A freed page goes to a cache and is still a FREE page: counts and the checker agree, and the
// next allocation takes it back.
KTEST(pmm, cached_pages_are_free_pages) {
    size_t free0 = pmm_count(PAGE_STATE_FREE), heap0 = pmm_count(PAGE_STATE_HEAP);
    enum { N = 8 };
    vm_page_t *p[N];
    for (int i = 0; i < N; i++) {
        p[i] = pmm_alloc_page(PAGE_STATE_HEAP);
        REQUIRE_TRUE(p[i] != NULL);
    }
    EXPECT_EQ(pmm_count(PAGE_STATE_FREE), free0 - N);
    EXPECT_EQ(pmm_count(PAGE_STATE_HEAP), heap0 + N);
    EXPECT_TRUE(pmm_check());
    for (int i = 0; i < N; i++)
        pmm_free_page(p[i]);
    EXPECT_GE(cached_pages(), 1);
    EXPECT_EQ(pmm_count(PAGE_STATE_FREE), free0);
    EXPECT_EQ(pmm_count(PAGE_STATE_HEAP), heap0);
    EXPECT_EQ(p[N - 1]->state, PAGE_STATE_FREE);
    EXPECT_TRUE(pmm_check());
}

// Pages of one test allocation: each page's first words hold the next page and a tag, so the
// pages can be found both by walking and by frame number.
#define HELD_TAG 0x6a61737065726361ull
struct held {
    void *next;
    uint64_t tag;  // HELD_TAG ^ the page's own kva
};

static void *hold(void *head, vm_page_t *p) {
    struct held *h = vm_page_kva(p);
    h->next = head;
    h->tag = HELD_TAG ^ (uint64_t)(uintptr_t)h;
    return h;
}

static bool is_held(const vm_page_t *p) {
    if (p->state != PAGE_STATE_WIRED)
        return false;
    const struct held *h = vm_page_kva(p);
    return h->tag == (HELD_TAG ^ (uint64_t)(uintptr_t)h);
}

// A run can be made of cached pages: with every page allocated, the odd frames freed (no two
// adjacent free frames on the list; the one before the run kept) and then four adjacent frames
// freed into this CPU's cache, a four-page run is found there, and only there. Fails if runs are searched on the list alone (no drain).
KTEST(pmm, a_run_takes_cached_pages) {
    size_t free0 = pmm_count(PAGE_STATE_FREE);
    void *head = NULL;
    vm_page_t *p;
    while ((p = pmm_alloc_page(PAGE_STATE_WIRED)) != NULL)
        head = hold(head, p);
    // Four held frames in a row, the last of them odd.
    size_t run = 0;
    for (size_t pfn = 5; pfn < pmm_page_array_len() && !run; pfn += 2) {
        bool all = true;
        for (size_t i = 0; i < 4; i++)
            all &= is_held(&pmm_page_array[pfn - 3 + i]);
        if (all)
            run = pfn - 3;
    }
    REQUIRE_TRUE(run != 0);
    // Untag the run's pages (freed by frame below, not by the walk), then free the odd frames.
    for (size_t i = 0; i < 4; i++)
        ((struct held *)vm_page_kva(&pmm_page_array[run + i]))->tag = 0;
    for (size_t pfn = 1; pfn < pmm_page_array_len(); pfn += 2) {
        if (pfn != run - 1 && is_held(&pmm_page_array[pfn])) {  // run - 1 stays: it borders it
            ((struct held *)vm_page_kva(&pmm_page_array[pfn]))->tag = 0;
            pmm_free_page(&pmm_page_array[pfn]);
        }
    }
    for (size_t i = 0; i < 4; i++)
        pmm_free_page(&pmm_page_array[run + i]);
    EXPECT_TRUE(pmm_check());
    vm_page_t *got = pmm_alloc_contiguous(4, 1, PAGE_STATE_WIRED);
    EXPECT_TRUE(got == &pmm_page_array[run]);
    EXPECT_TRUE(pmm_check());
    if (got)
        pmm_free_contiguous(got, 4);
    while (head) {
        struct held *h = head;
        head = h->next;
        if (h->tag == (HELD_TAG ^ (uint64_t)(uintptr_t)h))
            pmm_free_page(pmm_page_from_kva(h));
    }
    EXPECT_EQ(pmm_count(PAGE_STATE_FREE), free0);
    EXPECT_TRUE(pmm_check());
}

// The reserve counts cached pages: with pages sitting in the caches, a reserve just below the
// free count lets exactly that many VMO pages out, the caches' included, and no more. Fails if
// setting the reserve leaves the caches on (their pages go out past the floor).
KTEST(pmm, the_reserve_sees_cached_pages) {
    enum { BAND = 5, MAX = 16 };
    vm_page_t *warm[MAX], *got[MAX];
    for (int i = 0; i < MAX; i++)
        warm[i] = pmm_alloc_page(PAGE_STATE_HEAP);
    for (int i = 0; i < MAX; i++)
        if (warm[i])
            pmm_free_page(warm[i]);
    EXPECT_GE(cached_pages(), 1);
    size_t free0 = pmm_count(PAGE_STATE_FREE), given0 = pmm_critical_allocs();
    size_t reserve0, critical0;
    pmm_get_reserve(&reserve0, &critical0);
    pmm_set_reserve(free0 - BAND, free0 - BAND);
    size_t n = 0;
    while (n < MAX && (got[n] = pmm_alloc_page(PAGE_STATE_VMO)) != NULL)
        n++;
    vm_page_t *heap = pmm_alloc_page(PAGE_STATE_HEAP);  // other states take every page
    EXPECT_TRUE(pmm_check());
    pmm_set_reserve(reserve0, critical0);
    EXPECT_EQ(n, BAND);
    EXPECT_EQ(pmm_critical_allocs(), given0);
    EXPECT_TRUE(heap != NULL);
    if (heap)
        pmm_free_page(heap);
    for (size_t i = 0; i < n; i++)
        pmm_free_page(got[i]);
    EXPECT_EQ(pmm_count(PAGE_STATE_FREE), free0);
    EXPECT_TRUE(pmm_check());
}

// Failure injection counts every attempt, cached pages or not: armed with pages in the caches,
// the third attempt fails.
KTEST(pmm, injected_failures_with_cached_pages) {
    vm_page_t *warm = pmm_alloc_page(PAGE_STATE_HEAP);
    REQUIRE_TRUE(warm != NULL);
    pmm_free_page(warm);
    size_t free0 = pmm_count(PAGE_STATE_FREE);
    pmm_fail_after(3);
    vm_page_t *a = pmm_alloc_page(PAGE_STATE_HEAP);
    vm_page_t *b = pmm_alloc_page(PAGE_STATE_VMO);
    vm_page_t *c = pmm_alloc_page(PAGE_STATE_HEAP);
    pmm_fail_disarm();
    EXPECT_TRUE(a != NULL && b != NULL && c == NULL);
    if (a)
        pmm_free_page(a);
    if (b)
        pmm_free_page(b);
    EXPECT_EQ(pmm_count(PAGE_STATE_FREE), free0);
    EXPECT_TRUE(pmm_check());
}
