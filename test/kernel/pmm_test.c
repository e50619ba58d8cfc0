// The pmm: exact counts, exhaustion, contiguous runs, failure injection. Runs at boot on the real
// page array and on the host over simulated RAM.
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
