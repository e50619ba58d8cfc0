// Page queues against a model: seeded random add / remove / access / write / DONT_NEED /
// ALWAYS_NEED / failed / rotate / pick, with pq_check and every page's queue and age compared to
// the model after each step. The model knows the per-CPU batches: a page added waits in its CPU's
// batch (newest, its place in the bucket not yet set) until a rotation, a pick, a full batch or a
// hint moves it. Runs at boot (other pages may be on the queues: the model only looks
// at its own) and on the host over simulated RAM.
#include "kernel/ktest.h"
#include "kernel/printf.h"
#include "kernel/string.h"
#include "vm/page_queues.h"
#include "vm/pmm.h"

#define NPAGES 48

enum mkind { M_NONE, M_UNRECL, M_DONT_NEED, M_FAILED, M_LRU };

struct mpage {
    vm_page_t *p;
    enum mkind kind;
    bool pager;
    uint64_t gen;  // LRU: the rotation count its bucket stands for when it was last moved
    uint64_t t;    // enqueue order
    bool accept;   // what the pick callback answers for it
    bool hinted;   // DONT_NEED since the hint, no harvest since (pq_mark_accessed leaves it)
    bool batched;  // LRU: in a CPU's batch (pq_add), so newest, its place in the bucket not yet set
};

static struct {
    struct mpage pages[NPAGES];
    uint64_t rot, tick;
    uint64_t seed;
} m;

static uint32_t rnd(uint32_t n) {
    m.seed = m.seed * 6364136223846793005ull + 1442695040888963407ull;
    return (uint32_t)(m.seed >> 33) % n;
}

static unsigned age_of(const struct mpage *mp) {
    uint64_t a = m.rot - mp->gen;
    return a >= PQ_LRU_BUCKETS ? PQ_LRU_BUCKETS - 1 : (unsigned)a;
}

static void enqueue(struct mpage *mp, enum mkind kind) {
    mp->kind = kind;
    mp->hinted = false;
    mp->batched = false;
    mp->gen = m.rot;
    mp->t = ++m.tick;
}

// The CPU whose batch holds a batched model page.
static unsigned batch_cpu(const struct mpage *mp) {
    return mp->p->queue - PQ_BATCHED_FIRST;
}

// Batched pages join the tail of the newest bucket, CPU by CPU, each batch in the order it was
// filled (t holds the order of adding meanwhile). Only the pages `still_batched` says.
static void model_flush(bool (*still_batched)(const struct mpage *mp)) {
    for (;;) {
        struct mpage *first = NULL;
        for (int i = 0; i < NPAGES; i++) {
            struct mpage *mp = &m.pages[i];
            if (mp->batched && still_batched(mp) &&
                (!first || batch_cpu(mp) < batch_cpu(first) ||
                 (batch_cpu(mp) == batch_cpu(first) && mp->t < first->t)))
                first = mp;
        }
        if (!first)
            return;
        enqueue(first, M_LRU);
    }
}

static bool any_page(const struct mpage *mp) {
    (void)mp;
    return true;
}

// A full batch was flushed by pq_add: its pages are on a queue now.
static bool flushed_meanwhile(const struct mpage *mp) {
    return !pq_queue_is_batched(mp->p->queue);
}

static bool mine_accept(vm_page_t *p, void *ctx) {
    (void)ctx;
    for (int i = 0; i < NPAGES; i++) {
        if (m.pages[i].p == p)
            return m.pages[i].accept;
    }
    return false;
}

// Orders two candidates of one queue: in a bucket, older generations (merged in at the head)
// first, then enqueue order.
static bool before(const struct mpage *a, const struct mpage *b) {
    if (a->kind == M_LRU && a->gen != b->gen)
        return a->gen < b->gen;
    return a->t < b->t;
}

// The page pq_pick must return, or -1.
static int model_pick(unsigned keep) {
    model_flush(any_page);
    int best = -1;
    for (int i = 0; i < NPAGES; i++) {
        struct mpage *mp = &m.pages[i];
        if (mp->kind == M_DONT_NEED && mp->accept && (best < 0 || before(mp, &m.pages[best])))
            best = i;
    }
    if (best >= 0)
        return best;
    for (int pager = 1; pager >= 0; pager--) {
        for (unsigned age = PQ_LRU_BUCKETS; age-- > keep;) {
            for (int i = 0; i < NPAGES; i++) {
                struct mpage *mp = &m.pages[i];
                if (mp->kind == M_LRU && mp->pager == pager && age_of(mp) == age && mp->accept &&
                    (best < 0 || before(mp, &m.pages[best])))
                    best = i;
            }
            if (best >= 0)
                return best;
        }
    }
    return -1;
}

static bool compare(void) {
    if (!pq_check())
        return false;
    for (int i = 0; i < NPAGES; i++) {
        struct mpage *mp = &m.pages[i];
        unsigned q = mp->p->queue;
        bool ok;
        switch (mp->kind) {
        case M_NONE: ok = q == PQ_NONE; break;
        case M_UNRECL: ok = q == PQ_UNRECLAIMABLE; break;
        case M_DONT_NEED: ok = q == PQ_DONT_NEED; break;
        case M_FAILED: ok = q == PQ_FAILED; break;
        default:
            if (mp->batched) {
                ok = pq_queue_is_batched(q) && pq_page_age(mp->p) == 0;
                break;
            }
            ok = q >= (mp->pager ? PQ_PAGER_FIRST : PQ_ANON_FIRST) &&
                 q < (mp->pager ? PQ_COUNT : PQ_PAGER_FIRST) &&
                 pq_page_age(mp->p) == (int)age_of(mp);
        }
        if (!ok) {
            kprintf("page_queues model: page %d kind %d pager %d age %u: queue %u age %d\n", i,
                    mp->kind, mp->pager, age_of(mp), q, pq_page_age(mp->p));
            return false;
        }
    }
    return true;
}

KTEST(page_queues, model) {
    memset(&m, 0, sizeof(m));
    m.seed = 0x5eed;
    size_t total0 = pq_total_pages();
    for (int i = 0; i < NPAGES; i++) {
        m.pages[i].p = pmm_alloc_page(PAGE_STATE_VMO);
        REQUIRE_TRUE(m.pages[i].p != NULL);
    }
    size_t mine = 0;
    for (int step = 0; step < 4000 && !ktest_failed(); step++) {
        struct mpage *mp = &m.pages[rnd(NPAGES)];
        unsigned op = rnd(10);
        // The second half mostly adds and removes and rarely rotates or picks, so that batches
        // fill up (then pq_add flushes them) and hold stale entries (removed, added again).
        if (step >= 2000 && op >= 7 && rnd(400))
            op = rnd(7);
        if (step >= 2000 && op >= 3 && rnd(2))
            op = rnd(3);
        switch (op) {
        case 0:
        case 1:  // add
            if (mp->kind == M_NONE) {
                mp->pager = rnd(3) == 0;
                bool ok = rnd(8) != 0;
                pq_add(mp->p, mp->pager ? PQ_CLASS_PAGER : PQ_CLASS_ANON, ok);
                if (ok && !pq_queue_is_batched(mp->p->queue))
                    model_flush(flushed_meanwhile);  // its batch was full
                enqueue(mp, ok ? M_LRU : M_UNRECL);
                mp->batched = pq_queue_is_batched(mp->p->queue);
                mine++;
            }
            break;
        case 2:  // remove
            pq_remove(mp->p);
            if (mp->kind != M_NONE)
                mine--;
            mp->kind = M_NONE;
            mp->batched = false;
            break;
        case 3: {  // accessed (or written)
            bool harvested = rnd(2);
            if (harvested)
                pq_mark_accessed(mp->p);
            else
                pq_mark_written(mp->p);
            if (harvested && mp->kind == M_DONT_NEED && mp->hinted)
                mp->hinted = false;  // the A bit may be from before the hint
            else if ((mp->kind == M_LRU && age_of(mp) != 0) || mp->kind == M_DONT_NEED ||
                     mp->kind == M_FAILED)
                enqueue(mp, M_LRU);  // (a batched page is in the newest bucket already)
            break;
        }
        case 4:
            pq_set_dont_need(mp->p);
            if (mp->kind != M_NONE && mp->kind != M_UNRECL) {
                if (mp->kind != M_DONT_NEED)
                    enqueue(mp, M_DONT_NEED);
                mp->hinted = true;
            }
            break;
        case 5:
            if (rnd(4) == 0) {
                pq_set_always_need(mp->p);
                if (mp->kind != M_NONE && mp->kind != M_UNRECL)
                    enqueue(mp, M_UNRECL);
            }
            break;
        case 6:
            pq_mark_failed(mp->p);
            if ((mp->kind == M_LRU || mp->kind == M_DONT_NEED) && !mp->pager)
                enqueue(mp, M_FAILED);
            break;
        case 7:
            model_flush(any_page);
            pq_rotate();
            m.rot++;
            break;
        default: {  // pick
            for (int i = 0; i < NPAGES; i++)
                m.pages[i].accept = rnd(3) == 0;
            unsigned keep = rnd(3);
            int want = model_pick(keep);
            vm_page_t *got = pq_pick(keep, SIZE_MAX, mine_accept, NULL);
            EXPECT_TRUE(got == (want >= 0 ? m.pages[want].p : NULL));
            if (want >= 0) {
                struct mpage *w = &m.pages[want];
                uint64_t gen = w->kind == M_LRU ? m.rot - age_of(w) : 0;
                bool hinted = w->hinted;
                enqueue(w, w->kind);
                w->gen = gen;  // the tail of the same bucket
                w->hinted = hinted;  // and still hinted: it never left DONT_NEED
            }
        }
        }
        EXPECT_TRUE(compare());
        EXPECT_EQ(pq_total_pages(), total0 + mine);
    }
    for (int i = 0; i < NPAGES; i++) {
        pq_remove(m.pages[i].p);
        pmm_free_page(m.pages[i].p);
    }
    EXPECT_EQ(pq_total_pages(), total0);
    EXPECT_TRUE(pq_check());
}

// The checker notices a page whose queue disagrees with the lists, and a batched page with flags a
// batched page cannot have.
KTEST(page_queues, checker_catches_corruption) {
    vm_page_t *p = pmm_alloc_page(PAGE_STATE_VMO);
    REQUIRE_TRUE(p != NULL);
    pq_flush();  // (a batch never used takes no page: its first pq_add sets it up)
    pq_add(p, PQ_CLASS_ANON, true);
    EXPECT_TRUE(pq_queue_is_batched(p->queue));
    EXPECT_TRUE(pq_check());
    p->queue_flags |= 0x80;  // no such flag
    EXPECT_FALSE(pq_check());
    p->queue_flags &= 0x7f;
    pq_flush();
    EXPECT_TRUE(pq_check());
    uint8_t q = p->queue;
    p->queue = PQ_FAILED;  // lie about the queue
    EXPECT_FALSE(pq_check());
    p->queue = q;
    EXPECT_TRUE(pq_check());
    pq_remove(p);
    pmm_free_page(p);
}
