// Memory pressure: watermarks, the aging and reclaim thread, synchronous reclaim for faults
// (contract in vm/reclaim.h; docs/memory-pressure.md).
#include "vm/reclaim.h"

#include "kernel/assert.h"
#include "kernel/mutex.h"
#include "kernel/printf.h"
#include "kernel/thread.h"
#include "vm/aspace.h"
#include "vm/cow_pages.h"
#include "vm/page_queues.h"
#include "vm/pmm.h"

#define MS 1000000ll  // nanoseconds

static struct reclaim_watermarks wm;
static zx_time_t rotate_period = 5000 * MS;
static const zx_time_t tick = 250 * MS;    // aging thread period: harvest, level check
static const size_t zero_scan_budget = 512;  // pages per tick (2,048 per second)
static bool zero_scan_always;                // reclaim.zero_scan=1: also at NORMAL
static bool eager_dont_need;                 // reclaim.eager_dont_need=1

// Serialises reclaimers; guards `level`.
static struct mutex reclaim_lock = MUTEX_INIT(reclaim_lock, "reclaim");
static enum reclaim_level level GUARDED_BY(reclaim_lock);
static struct reclaim_stats stats;  // atomics

static void count(uint64_t *c, uint64_t n) {
    __atomic_fetch_add(c, n, __ATOMIC_RELAXED);
}

// The level for `free` pages, starting from `cur`: worse at once, better only past hysteresis.
static enum reclaim_level level_for(size_t free, enum reclaim_level cur) {
    const size_t marks[] = {SIZE_MAX, wm.warning, wm.critical, wm.oom};
    enum reclaim_level l = RECLAIM_NORMAL;
    while (l < RECLAIM_OOM && free < marks[l + 1])
        l++;
    while (l < cur && free < marks[cur] + wm.hysteresis)
        l++;  // not far enough above cur's watermark to leave it
    return l;
}

enum reclaim_level reclaim_level(void) {
    mutex_acquire(&reclaim_lock);
    level = level_for(pmm_count(PAGE_STATE_FREE), level);
    enum reclaim_level l = level;
    mutex_release(&reclaim_lock);
    return l;
}

void reclaim_get_watermarks(struct reclaim_watermarks *out) {
    *out = wm;
}

void reclaim_get_stats(struct reclaim_stats *out) {
    *out = stats;  // fields written atomically; the snapshot need not be consistent
}

// --- Aging ---

static void accessed(void *ctx, paddr_t pa) {
    vm_page_t *p = pmm_page_from_paddr(pa);
    // Mapped under the page-table lock we hold: the page cannot be freed meanwhile.
    if (p && p->state == PAGE_STATE_VMO) {
        pq_mark_accessed(p);
        (*(size_t *)ctx)++;
    }
}

size_t reclaim_harvest(void) {
    size_t n = 0;
    vm_aspace_harvest(accessed, &n);
    count(&stats.harvests, 1);
    count(&stats.accessed, n);
    return n;
}

// --- Reclaim ---

// pq_pick callback, queue lock held: the page is on a queue, so its list identity and tree are
// alive; keep the tree alive for after the queue lock.
static bool take_tree(vm_page_t *p, void *ctx) {
    struct cow_list_id *id = p->vmo.owner;
    if (!id)
        return false;
    cow_tree_get(id->tree);
    *(struct cow_tree **)ctx = id->tree;
    return true;
}

// Tries to reclaim one picked page. Returns its status (ZX_OK: freed).
static zx_status_t reclaim_one(vm_page_t *p, struct cow_tree *t, uint32_t flags) {
    mutex_acquire(&t->lock);
    zx_status_t st = cow_pages_reclaim_page_locked(t, p, flags);
    mutex_release(&t->lock);
    cow_tree_put(t);
    return st;
}

static size_t reclaim_run_locked(size_t free_target, unsigned keep_newest)
    REQUIRES(reclaim_lock) {
    ASSERT_MUTEX_HELD(&reclaim_lock);
    size_t freed = 0, tries = 0, max_tries = 2 * pq_total_pages() + 64;
    unsigned aged = 0;
    while (pmm_count(PAGE_STATE_FREE) < free_target && tries++ < max_tries) {
        struct cow_tree *t = NULL;
        vm_page_t *p = pq_pick(keep_newest, 4096, take_tree, &t);
        if (!p) {
            // Nothing old enough: age on demand (what was touched moves up, the rest gets older),
            // at most a bucket ring's worth of times.
            if (aged++ >= PQ_LRU_BUCKETS)
                break;
            reclaim_harvest();
            pq_rotate();
            continue;
        }
        zx_status_t st = reclaim_one(p, t, 0);
        if (st == ZX_OK) {
            freed++;
        } else {
            count(&stats.failed, 1);
        }
    }
    count(&stats.reclaimed, freed);
    return freed;
}

size_t reclaim_run(size_t free_target, unsigned keep_newest) {
    mutex_acquire(&reclaim_lock);
    size_t n = reclaim_run_locked(free_target, keep_newest);
    mutex_release(&reclaim_lock);
    return n;
}

bool reclaim_eager_dont_need(void) {
    return eager_dont_need;
}

size_t reclaim_dont_need(void) {
    struct pq_counts c;
    pq_get_counts(&c);
    mutex_acquire(&reclaim_lock);
    // A page that cannot go now moves to the queue's tail: one offer per page, plus slack for
    // pages that other threads mark meanwhile.
    size_t freed = 0, max_tries = c.pages[PQ_DONT_NEED] + 64;
    for (size_t tries = 0; tries < max_tries; tries++) {
        struct cow_tree *t = NULL;
        // keep_newest = every bucket: DONT_NEED only.
        vm_page_t *p = pq_pick(PQ_LRU_BUCKETS, 4096, take_tree, &t);
        if (!p)
            break;
        if (reclaim_one(p, t, 0) == ZX_OK)
            freed++;
        else
            count(&stats.failed, 1);
    }
    mutex_release(&reclaim_lock);
    count(&stats.reclaimed, freed);
    return freed;
}

bool reclaim_for_fault(void) {
    count(&stats.fault_reclaims, 1);
    size_t before = pmm_count(PAGE_STATE_FREE);
    // Back above the OOM watermark (and at least a batch), taking even the newest pages.
    size_t target = MAX(wm.oom + wm.hysteresis, before + 64);
    size_t n = reclaim_run(target, 0);
    return n > 0 || pmm_count(PAGE_STATE_FREE) > before;
}

size_t reclaim_scan_zero(size_t budget) {
    size_t deduped = 0;
    mutex_acquire(&reclaim_lock);
    for (size_t i = 0; i < budget; i++) {
        struct cow_tree *t = NULL;
        // Pages past the two newest buckets: hot pages are rarely zero for long.
        vm_page_t *p = pq_pick(2, 64, take_tree, &t);
        if (!p)
            break;
        if (reclaim_one(p, t, COW_RECLAIM_ZERO_ONLY) == ZX_OK)
            deduped++;
    }
    mutex_release(&reclaim_lock);
    count(&stats.zero_scanned, budget);
    count(&stats.zero_deduped, deduped);
    count(&stats.reclaimed, deduped);
    return deduped;
}

// --- The thread ---

static int reclaim_thread(void *arg) {
    zx_time_t next_rotate = current_time() + rotate_period;
    for (;;) {
        (void)thread_sleep_until(current_time() + tick);
        // Under the reclaim lock, so that aging never runs in the middle of a reclaim pass: a
        // harvest then would move the DONT_NEED pages of an eager pass (reclaim_dont_need) back to
        // the LRU for the accessed bits they had before the hint.
        mutex_acquire(&reclaim_lock);
        reclaim_harvest();
        if (current_time() >= next_rotate) {
            pq_rotate();
            next_rotate += rotate_period;
        }
        mutex_release(&reclaim_lock);
        enum reclaim_level l = reclaim_level();
        if (l != RECLAIM_NORMAL || zero_scan_always)
            reclaim_scan_zero(zero_scan_budget);
        if (l != RECLAIM_NORMAL)
            reclaim_run(wm.warning + wm.hysteresis, l == RECLAIM_WARNING ? 2 : 0);
    }
    return 0;
}

void reclaim_init(const struct cmdline *cl) {
    size_t total = (size_t)(pmm_managed_bytes() / PAGE_SIZE);
    wm = (struct reclaim_watermarks){
        .warning = total / 16,
        .critical = total / 32,
        .oom = total / 64,
        .hysteresis = total / 128,
        .critical_reserve = total / 256,
    };
    // Ordinary callers stop a band above what the system's own processes may take.
    bool band = !cmdline_get(cl, "reclaim.critical_reserve") ||
                cmdline_get_bool(cl, "reclaim.critical_reserve");
    wm.reserve = wm.critical_reserve + (band ? MAX(total / 512, (size_t)32) : 0);
    pmm_set_reserve(wm.reserve, wm.critical_reserve);
    rotate_period = (zx_time_t)cmdline_get_u64(cl, "pq.rotate_ms", 5000) * MS;
    if (rotate_period < tick)
        rotate_period = tick;
    zero_scan_always = cmdline_get_bool(cl, "reclaim.zero_scan");
    eager_dont_need = cmdline_get_bool(cl, "reclaim.eager_dont_need");
    // No thread for in-kernel tests (they drive aging and reclaim themselves and check exact
    // queue states) or with reclaim=0.
    if (cmdline_get(cl, "ktest") || (cmdline_get(cl, "reclaim") && !cmdline_get_bool(cl, "reclaim")))
        return;
    struct thread *t = thread_create("reclaim", reclaim_thread, NULL);
    ASSERT(t);
    thread_start(t);
}
