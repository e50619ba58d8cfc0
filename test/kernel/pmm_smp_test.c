// The pmm's per-CPU caches on several CPUs (vm/pmm.c): threads pinned to every CPU allocate and
// free at once while one of them runs the checker, and every count comes back exactly; an
// allocation finds the pages another CPU has cached. Kernel only (threads).
#include "kernel/ktest.h"
#include "kernel/thread.h"
#include "test/kernel/cpu_run.h"
#include "test/kernel/page_mix.h"
#include "vm/pmm.h"

#define SMP_THREADS 4
#define SMP_ROUNDS 1500
#define SMP_HELD 48  // pages each thread holds at most

static uint32_t smp_bad_checks;  // pmm_check failures seen by the workers
static uint32_t smp_failed_allocs;
static bool smp_stop;  // thread 0 is done checking: the others stop too

// Allocates (single pages, some VMO, and now and then a three-page run) and frees at random,
// holding up to SMP_HELD pages. Thread 0 also runs the checker (which freezes every cache) every
// 64 rounds; the others go on churning until it is done, so that every check runs against them.
// Fails with the checker's freeze taken out (its counts then disagree with the moving caches).
static int churn_worker(void *arg) {
    uintptr_t id = (uintptr_t)arg;
    vm_page_t *held[SMP_HELD] = {0};
    size_t runs[SMP_HELD] = {0};  // pages of held[i]: 1, or 3 for a run
    uint64_t rng = 77 + id;
    for (int r = 0; id == 0 ? r < SMP_ROUNDS : !__atomic_load_n(&smp_stop, __ATOMIC_ACQUIRE);
         r++) {
        size_t i = page_mix_rand(&rng) % SMP_HELD;
        if (held[i]) {
            if (runs[i] == 1)
                pmm_free_page(held[i]);
            else
                pmm_free_contiguous(held[i], runs[i]);
            held[i] = NULL;
        } else {
            uint64_t pick = page_mix_rand(&rng) % 16;
            runs[i] = pick == 0 ? 3 : 1;
            enum page_state st = pick % 2 ? PAGE_STATE_VMO : PAGE_STATE_HEAP;
            held[i] = runs[i] == 1 ? pmm_alloc_page(st) : pmm_alloc_contiguous(3, 1, st);
            if (!held[i])
                __atomic_fetch_add(&smp_failed_allocs, 1, __ATOMIC_RELAXED);
        }
        if (id == 0 && r % 64 == 0 && !pmm_check())
            __atomic_fetch_add(&smp_bad_checks, 1, __ATOMIC_RELAXED);
    }
    if (id == 0)
        __atomic_store_n(&smp_stop, true, __ATOMIC_RELEASE);
    for (size_t i = 0; i < SMP_HELD; i++) {
        if (held[i] && runs[i] == 1)
            pmm_free_page(held[i]);
        else if (held[i])
            pmm_free_contiguous(held[i], runs[i]);
    }
    return 0;
}

static void run_pinned(thread_entry_fn fn, unsigned threads) {
    uint32_t cpus = sched_cpus_online();
    struct thread *t[SMP_THREADS];
    for (uintptr_t i = 0; i < threads; i++) {
        t[i] = thread_create("pmm_smp", fn, (void *)i);
        REQUIRE_TRUE(t[i] != NULL);
        thread_set_affinity(t[i], 1ull << (i % cpus));
        thread_start(t[i]);
    }
    for (unsigned i = 0; i < threads; i++) {
        int code = -1;
        EXPECT_OK(thread_join(t[i], &code, ZX_TIME_INFINITE));
        EXPECT_EQ(code, 0);
        thread_release(t[i]);
    }
}

KTEST(pmm_smp, every_cpu_allocates_and_frees_at_once) {
    size_t before[PAGE_STATE_COUNT];
    for (int s = 0; s < PAGE_STATE_COUNT; s++)
        before[s] = pmm_count((enum page_state)s);
    smp_bad_checks = smp_failed_allocs = 0;
    smp_stop = false;
    run_pinned(churn_worker, SMP_THREADS);
    EXPECT_EQ(smp_bad_checks, 0);
    EXPECT_EQ(smp_failed_allocs, 0);
    EXPECT_TRUE(pmm_check());
    for (int s = 0; s < PAGE_STATE_COUNT; s++)
        EXPECT_EQ(pmm_count((enum page_state)s), before[s]);
}

// CPU 1 caches pages; a thread on CPU 0 then allocates every free page. It must get every one
// of them, CPU 1's cached pages included. Fails with the drain of the other CPUs' caches taken
// out (CPU 0 stops when the list is empty, with CPU 1's pages still cached).
enum { OTHER_CPU_PAGES = 24 };
static size_t other_cached, other_free, other_got;

static int cache_on_cpu1(void *arg) {
    (void)arg;
    vm_page_t *p[OTHER_CPU_PAGES];
    for (int i = 0; i < OTHER_CPU_PAGES; i++)
        p[i] = pmm_alloc_page(PAGE_STATE_HEAP);
    for (int i = 0; i < OTHER_CPU_PAGES; i++)
        if (p[i])
            pmm_free_page(p[i]);
    return 0;
}

static int take_everything_on_cpu0(void *arg) {
    (void)arg;
    other_cached = pmm_cached_pages(1);
    other_free = pmm_count(PAGE_STATE_FREE);
    void *head = NULL;
    vm_page_t *p;
    other_got = 0;
    while ((p = pmm_alloc_page(PAGE_STATE_WIRED)) != NULL) {
        void **kva = vm_page_kva(p);
        *kva = head;
        head = kva;
        other_got++;
    }
    while (head) {
        void *next = *(void **)head;
        pmm_free_page(pmm_page_from_kva(head));
        head = next;
    }
    return 0;
}

KTEST(pmm_smp, an_allocation_takes_pages_another_cpu_cached) {
    if (sched_cpus_online() < 2)
        return;  // one CPU: nothing to show
    size_t free0 = pmm_count(PAGE_STATE_FREE);
    EXPECT_EQ(ktest_run_on_cpu(1, cache_on_cpu1, NULL), 0);
    EXPECT_EQ(ktest_run_on_cpu(0, take_everything_on_cpu0, NULL), 0);
    EXPECT_GE(other_cached, OTHER_CPU_PAGES / 2);
    EXPECT_EQ(other_got, other_free);
    EXPECT_EQ(pmm_count(PAGE_STATE_FREE), free0);
    EXPECT_TRUE(pmm_check());
}
