// The page queues' per-CPU batches across CPUs (vm/page_queues.h, docs/memory-pressure.md
// "Per-CPU batches"): pages added on one CPU and removed, touched, hinted and relinked from
// another, before and after a flush, with the counts exact; and four CPUs adding, removing and
// hinting pages against flushes, picks, rotations and checks. Kernel only (threads on CPUs).
#include "arch/x86_64/smp.h"
#include "kernel/ktest.h"
#include "kernel/printf.h"
#include "kernel/string.h"
#include "kernel/thread.h"
#include "test/kernel/cpu_run.h"
#include "vm/cow_pages.h"
#include "vm/page_queues.h"
#include "vm/pmm.h"

// A check in a thread: its exit code is the failing line (0: all held).
#define CHECK(c)                                                       \
    do {                                                               \
        if (!(c)) {                                                    \
            kprintf("page_queues smp: line %d: %s\n", __LINE__, #c);   \
            return __LINE__;                                           \
        }                                                              \
    } while (0)

#define NPAGES 8

static struct {
    vm_page_t *p[NPAGES];
    unsigned adder;  // the CPU that adds them
    size_t total0;
    struct pq_counts c0;
} x;

static int add_all(void *arg) {
    (void)arg;
    for (int i = 0; i < NPAGES; i++)
        pq_add(x.p[i], PQ_CLASS_ANON, true);
    return 0;
}

static bool batched_on(const vm_page_t *p, unsigned cpu) {
    return p->queue == PQ_BATCHED_FIRST + cpu;
}

// On another CPU than the adder's, before any flush: every operation on a batched page, then the
// counts (which flush), then operations on the flushed pages.
static int operate_from_elsewhere(void *arg) {
    (void)arg;
    static struct cow_list_id fake_owner;  // never followed: no pq_pick runs here
    for (int i = 0; i < NPAGES; i++) {
        CHECK(batched_on(x.p[i], x.adder));
        CHECK(pq_page_age(x.p[i]) == 0);
    }
    CHECK(pq_total_pages() == x.total0 + NPAGES);
    CHECK(pq_check());
    pq_mark_accessed(x.p[0]);  // its batch stands for the newest bucket: nothing changes
    pq_mark_written(x.p[0]);
    CHECK(batched_on(x.p[0], x.adder));
    pq_remove(x.p[1]);
    CHECK(x.p[1]->queue == PQ_NONE);
    CHECK(pq_total_pages() == x.total0 + NPAGES - 1);
    pq_set_dont_need(x.p[2]);
    CHECK(x.p[2]->queue == PQ_DONT_NEED);
    pq_set_always_need(x.p[3]);
    CHECK(x.p[3]->queue == PQ_UNRECLAIMABLE);
    pq_mark_failed(x.p[4]);
    CHECK(x.p[4]->queue == PQ_FAILED);
    pq_relink(x.p[5], &fake_owner, 12345 * PAGE_SIZE);
    CHECK(batched_on(x.p[5], x.adder));
    CHECK(x.p[5]->vmo.owner == &fake_owner && vm_page_backlink_offset(x.p[5]) == 12345 * PAGE_SIZE);
    CHECK(pq_check());
    CHECK(pq_total_pages() == x.total0 + NPAGES - 1);

    // The counts flush every batch: pages 0, 5, 6 and 7 join the newest ANON bucket.
    struct pq_counts c;
    pq_get_counts(&c);
    CHECK(c.total == x.total0 + NPAGES - 1);
    CHECK(c.anon_newest == x.c0.anon_newest + 4);
    CHECK(c.pages[PQ_DONT_NEED] == x.c0.pages[PQ_DONT_NEED] + 1);
    CHECK(c.pages[PQ_UNRECLAIMABLE] == x.c0.pages[PQ_UNRECLAIMABLE] + 1);
    CHECK(c.pages[PQ_FAILED] == x.c0.pages[PQ_FAILED] + 1);
    for (int i = 0; i < NPAGES; i++)
        CHECK(!pq_queue_is_batched(x.p[i]->queue));
    CHECK(pq_page_age(x.p[0]) == 0 && pq_page_age(x.p[7]) == 0);

    // After the flush, the same operations on pages now on a queue.
    pq_remove(x.p[6]);
    CHECK(x.p[6]->queue == PQ_NONE);
    pq_set_dont_need(x.p[7]);
    CHECK(x.p[7]->queue == PQ_DONT_NEED);
    pq_mark_failed(x.p[5]);
    CHECK(x.p[5]->queue == PQ_FAILED);
    pq_get_counts(&c);
    CHECK(c.total == x.total0 + NPAGES - 2);
    CHECK(c.anon_newest == x.c0.anon_newest + 1);
    CHECK(c.pages[PQ_DONT_NEED] == x.c0.pages[PQ_DONT_NEED] + 2);
    CHECK(c.pages[PQ_FAILED] == x.c0.pages[PQ_FAILED] + 2);
    CHECK(pq_check());
    return 0;
}

// Pages added on one CPU leave their batch for the right queue whichever CPU asks, before and after
// a flush, and every count is exact (shown to fail with pq_get_counts not flushing, and with
// pq_set_dont_need not taking a batched page out of its batch first).
KTEST(page_queues, batched_pages_leave_from_other_cpus) {
    unsigned cpus = smp_cpus_online();
    x.adder = cpus > 1 ? 1 : 0;
    pq_flush();  // sets up every online CPU's batch: their first pq_add batches too
    x.total0 = pq_total_pages();
    pq_get_counts(&x.c0);
    for (int i = 0; i < NPAGES; i++) {
        x.p[i] = pmm_alloc_page(PAGE_STATE_VMO);
        REQUIRE_TRUE(x.p[i] != NULL);
    }
    EXPECT_EQ(ktest_run_on_cpu(x.adder, add_all, NULL), 0);
    EXPECT_EQ(ktest_run_on_cpu(x.adder + 1, operate_from_elsewhere, NULL), 0);
    for (int i = 0; i < NPAGES; i++) {
        pq_remove(x.p[i]);
        pmm_free_page(x.p[i]);
    }
    EXPECT_EQ(pq_total_pages(), x.total0);
    EXPECT_TRUE(pq_check());
}

// --- Four CPUs at once ---

#define SLOTS 96
#define WORKERS 4
#define ROUNDS 6000

static struct {
    vm_page_t *slot[SLOTS];  // pages on queues, handed between threads by atomic exchange
    uint64_t adds, removes, hints, flushes;
    int check_failed;        // the round at which pq_check failed, + 1
} st;

static bool accept_none(vm_page_t *p, void *ctx) {
    (void)p;
    (void)ctx;
    return false;
}

// Puts p (owned by the caller, on a queue) into slot s; a page found there is taken off its queue
// and freed.
static void put_back(unsigned s, vm_page_t *p) {
    vm_page_t *old = __atomic_exchange_n(&st.slot[s], p, __ATOMIC_ACQ_REL);
    if (old) {
        pq_remove(old);
        pmm_free_page(old);
        __atomic_fetch_add(&st.removes, 1, __ATOMIC_RELAXED);
    }
}

// Each worker takes pages out of random slots (so it may be on another CPU than the one that
// added them) and removes, touches or hints them, or adds new ones; worker 0 also flushes, counts,
// picks, rotates and checks, so batches are flushed under the others' feet.
static int stress_worker(void *arg) {
    unsigned me = (unsigned)(uintptr_t)arg;
    uint64_t seed = 0x9e3779b97f4a7c15ull * (me + 1);
    for (unsigned r = 0; r < ROUNDS; r++) {
        seed = seed * 6364136223846793005ull + 1442695040888963407ull;
        unsigned v = (unsigned)(seed >> 33), s = v % SLOTS, op = (v >> 8) % 8;
        vm_page_t *p = __atomic_exchange_n(&st.slot[s], NULL, __ATOMIC_ACQ_REL);
        if (!p) {
            p = pmm_alloc_page(PAGE_STATE_VMO);
            if (!p)
                continue;
            pq_add(p, op == 0 ? PQ_CLASS_PAGER : PQ_CLASS_ANON, (v >> 12) % 32 != 0);
            __atomic_fetch_add(&st.adds, 1, __ATOMIC_RELAXED);
            put_back(s, p);
        } else if (op < 3) {
            pq_remove(p);
            pmm_free_page(p);
            __atomic_fetch_add(&st.removes, 1, __ATOMIC_RELAXED);
        } else {
            switch (op) {
            case 3: pq_mark_written(p); break;
            case 4: pq_mark_accessed(p); break;
            case 5: pq_set_dont_need(p); break;
            case 6: pq_mark_failed(p); break;
            default: pq_set_always_need(p); break;
            }
            __atomic_fetch_add(&st.hints, 1, __ATOMIC_RELAXED);
            put_back(s, p);
        }
        if (me == 0 && r % 16 == 0) {
            struct pq_counts c;
            switch ((r / 16) % 5) {
            case 0: pq_flush(); break;
            case 1: pq_get_counts(&c); break;
            case 2: (void)pq_pick(0, 64, accept_none, NULL); break;
            case 3: pq_rotate(); break;
            default:
                if (!pq_check() && !st.check_failed)
                    st.check_failed = (int)r + 1;
            }
            st.flushes++;
        }
    }
    return 0;
}

// Four CPUs add pages, take them from each other and remove or hint them while CPU 0 flushes the
// batches, picks and rotates; the checker holds throughout, and at the end every page is gone from
// the queues and back in the pmm (shown to fail with pq_remove taking a page out of another CPU's
// batch without that batch's lock: the lists break, and pq_check or the final counts say so).
KTEST(page_queues, four_cpus_add_take_and_remove_against_flushes) {
    pq_flush();
    size_t total0 = pq_total_pages(), vmo0 = pmm_count(PAGE_STATE_VMO);
    memset(&st, 0, sizeof(st));
    struct thread *t[WORKERS];
    for (uintptr_t i = 0; i < WORKERS; i++) {
        t[i] = thread_create("pq_stress", stress_worker, (void *)i);
        REQUIRE_TRUE(t[i] != NULL);
        thread_set_affinity(t[i], 1ull << (i % smp_cpus_online()));
    }
    for (int i = 0; i < WORKERS; i++)
        thread_start(t[i]);
    for (int i = 0; i < WORKERS; i++) {
        int code = -1;
        EXPECT_OK(thread_join(t[i], &code, ZX_TIME_INFINITE));
        thread_release(t[i]);
    }
    EXPECT_EQ(st.check_failed, 0);
    EXPECT_TRUE(pq_check());
    size_t left = 0;
    for (unsigned s = 0; s < SLOTS; s++) {
        if (st.slot[s]) {
            left++;
            pq_remove(st.slot[s]);
            pmm_free_page(st.slot[s]);
        }
    }
    EXPECT_EQ(st.adds, st.removes + left);
    EXPECT_EQ(pq_total_pages(), total0);
    EXPECT_EQ(pmm_count(PAGE_STATE_VMO), vmo0);
    EXPECT_TRUE(pq_check());
    kprintf("page_queues smp: %llu adds, %llu removes, %llu hints, %llu flushes, %u CPUs\n",
            (unsigned long long)st.adds, (unsigned long long)st.removes,
            (unsigned long long)st.hints, (unsigned long long)st.flushes, smp_cpus_online());
}
