// Page queues (contract in vm/page_queues.h). Each queue is a list of pages through vm_page_t.node,
// oldest at the head; the LRU buckets of a class are a ring of PQ_LRU_BUCKETS queues of which
// `newest` is the newest. Each CPU's batch is two more such lists (one per class), which stand for
// the tail of the newest buckets (docs/memory-pressure.md, "Per-CPU batches").
//
// Where a page is, and who may move it:
//   PQ_NONE       its owner (who holds its clone tree's lock) may pq_add it;
//   batched (c)   `queue`, `node` and batch c's lists and count belong to batch c's lock word:
//                 pq_add and pq_remove take it alone (pq_remove rechecks `queue` under it); a page
//                 leaves the batch for a queue only under the global lock and batch c's
//                 (flush_batch_locked, settle_locked);
//   on a queue    under the global lock, as before batching.
// So under the global lock a batched page can only leave its batch by pq_remove (settle_locked
// rechecks under the batch's lock), and a page on a queue stays on one. Lock order: the global
// lock, then one batch lock; a batch lock alone never waits for the global one.
#include "vm/page_queues.h"

#include "arch/x86_64/smp.h"
#include "kernel/assert.h"
#include "kernel/list.h"
#include "kernel/printf.h"
#include "kernel/spinlock.h"

// queue_flags: on DONT_NEED since the hint, and no harvest has looked at it since. Its A bit may
// be from before the hint (a buffer is usually written just before it is let go), so the first
// harvest only clears the flag; an access seen after that takes the page back to the LRU.
#define PQF_HINTED 0x02

static struct {
    struct spinlock lock;
    bool ready GUARDED_BY(lock);
    struct list_node lists[PQ_COUNT] GUARDED_BY(lock);
    size_t counts[PQ_COUNT] GUARDED_BY(lock);
    size_t total GUARDED_BY(lock);
    unsigned newest GUARDED_BY(lock);  // ring slot of the newest bucket of both classes
    uint64_t rotations GUARDED_BY(lock);
} pq = {.lock = SPINLOCK_INIT("page_queues")};

struct pq_batch pq_batches[SMP_MAX_CPUS];  // (vm/page_queues.h)

_Static_assert(PQ_CLASS_ANON == 0 && PQ_CLASS_PAGER == 1, "pq_batch.lists is indexed by class");

// Inline: a fault's page enters a queue under it (a call cost a third of pq_add).
static ALWAYS_INLINE irqstate_t pq_lock(void) ACQUIRE(pq.lock) {
    irqstate_t s = spin_lock_irqsave(&pq.lock);
    if (unlikely(!pq.ready)) {
        for (int q = 0; q < PQ_COUNT; q++)
            list_init(&pq.lists[q]);
        pq.ready = true;
    }
    return s;
}

static ALWAYS_INLINE void pq_unlock(irqstate_t s) RELEASE(pq.lock) {
    spin_unlock_irqrestore(&pq.lock, s);
}

static ALWAYS_INLINE irqstate_t batch_lock(struct pq_batch *b) {
    irqstate_t s = irq_save_local();
    spin_word_acquire(&b->locked);
    return s;
}

static ALWAYS_INLINE void batch_unlock(struct pq_batch *b, irqstate_t s) {
    spin_word_release(&b->locked);
    irq_restore_local(s);
}

// What the *_locked functions assert: someone holds the batch (a bare word knows no holder).
static bool batch_held(const struct pq_batch *b) {
    return __atomic_load_n(&b->locked, __ATOMIC_RELAXED) != 0;
}

// Sets up a batch never used yet (its lists), held.
static void batch_ready(struct pq_batch *b) {
    DEBUG_ASSERT(batch_held(b));
    if (!b->lists[PQ_CLASS_ANON].next) {
        list_init(&b->lists[PQ_CLASS_ANON]);
        list_init(&b->lists[PQ_CLASS_PAGER]);
        b->room = PQ_BATCH_PAGES;
    }
}

// Pages batched in b, held.
static unsigned batch_pages(const struct pq_batch *b) {
    return b->lists[PQ_CLASS_ANON].next ? PQ_BATCH_PAGES - b->room : 0;
}

// The batch a batched `queue` value names.
static struct pq_batch *batch_of(unsigned q) {
    return &pq_batches[q - PQ_BATCHED_FIRST];
}

// A racy look at a page's `queue` (to choose which lock to take; rechecked under it).
NO_THREAD_SAFETY_ANALYSIS static unsigned queue_hint(const vm_page_t *p) {
    return __atomic_load_n(&p->queue, __ATOMIC_RELAXED);
}

static bool is_lru(unsigned q) {
    return q >= PQ_ANON_FIRST && q < PQ_COUNT;
}

// The queue of ring slot `slot` for the class of a page with `flags`.
static unsigned lru_queue(uint8_t flags, unsigned slot) {
    return ((flags & PQF_PAGER) ? PQ_PAGER_FIRST : PQ_ANON_FIRST) + slot;
}

static void enqueue_locked(vm_page_t *p, unsigned q) REQUIRES(pq.lock) {
    ASSERT_HELD(&pq.lock);
    list_add_tail(&pq.lists[q], &p->node);
    p->queue = (uint8_t)q;
    pq.counts[q]++;
}

static void dequeue_locked(vm_page_t *p) REQUIRES(pq.lock) {
    ASSERT_HELD(&pq.lock);
    ASSERT(p->queue != PQ_NONE && p->queue < PQ_COUNT && pq.counts[p->queue] > 0);
    list_delete(&p->node);
    pq.counts[p->queue]--;
    p->queue = PQ_NONE;
}

static void move_locked(vm_page_t *p, unsigned q) REQUIRES(pq.lock) {
    ASSERT_HELD(&pq.lock);
    dequeue_locked(p);
    enqueue_locked(p, q);
    if (q != PQ_DONT_NEED)
        p->queue_flags &= (uint8_t)~PQF_HINTED;
}

// Moves every node of the non-empty list `from` to follow `pos`, in order; `from` ends empty.
static void splice_after(struct list_node *from, struct list_node *pos) {
    struct list_node *first = from->next, *last = from->prev;
    last->next = pos->next;
    pos->next->prev = last;
    pos->next = first;
    first->prev = pos;
    list_init(from);
}

// Moves b's pages to the tail of their class's newest bucket: they are the newest pages.
static void flush_batch_locked(struct pq_batch *b) REQUIRES(pq.lock) {
    ASSERT_HELD(&pq.lock);
    DEBUG_ASSERT(batch_held(b));
    batch_ready(b);
    for (unsigned cls = PQ_CLASS_ANON; cls <= PQ_CLASS_PAGER; cls++) {
        struct list_node *head = &b->lists[cls];
        if (list_is_empty(head))
            continue;
        unsigned q = lru_queue(cls == PQ_CLASS_PAGER ? PQF_PAGER : 0, pq.newest);
        size_t n = 0;
        list_for_each(head, it) {
            // pq_remove looks at it before it takes a lock.
            __atomic_store_n(&containerof(it, vm_page_t, node)->queue, (uint8_t)q,
                             __ATOMIC_RELAXED);
            n++;
        }
        splice_after(head, pq.lists[q].prev);
        pq.counts[q] += n;
        pq.total += n;
    }
    b->room = PQ_BATCH_PAGES;
}

// A look without b's lock at whether b has pages. One that pq_add puts there after the look was
// added after the caller's flush began: as if it came right after it.
static bool batch_looks_empty(const struct pq_batch *b) {
    return __atomic_load_n(&b->room, __ATOMIC_RELAXED) == PQ_BATCH_PAGES;
}

// Flushes every CPU's batch (only CPUs that are online can have added pages).
static void flush_all_locked(void) REQUIRES(pq.lock) {
    ASSERT_HELD(&pq.lock);
    for (unsigned c = 0; c < smp_cpus_online(); c++) {
        struct pq_batch *b = &pq_batches[c];
        if (batch_looks_empty(b))
            continue;
        irqstate_t s = batch_lock(b);
        flush_batch_locked(b);
        batch_unlock(b, s);
    }
}

// If p is batched, moves it to the tail of its class's newest bucket (where its batch stands):
// the operations that move one page between queues call this first. Afterwards p is on a queue,
// or on none if a pq_remove took it out of its batch meanwhile (its owner's pq_add may batch it
// again, but only after that).
static void settle_locked(vm_page_t *p) REQUIRES(pq.lock) {
    ASSERT_HELD(&pq.lock);
    unsigned q = queue_hint(p);
    if (!pq_queue_is_batched(q))
        return;  // not batched, and a page on a queue or on none is not batched by a flush
    struct pq_batch *b = batch_of(q);
    irqstate_t s = batch_lock(b);
    if (p->queue == q) {  // else pq_remove took it out
        list_delete(&p->node);
        b->room++;
        enqueue_locked(p, lru_queue(p->queue_flags, pq.newest));
        pq.total++;
    }
    batch_unlock(b, s);
}

// A full (or never used) batch b is flushed (and set up), and p goes straight to its bucket. b is
// not held (lock order: the global lock first).
void pq_add_slow(vm_page_t *p, struct pq_batch *b, bool backlink_ok) {
    irqstate_t s = pq_lock();
    if (backlink_ok) {
        irqstate_t bs = batch_lock(b);
        flush_batch_locked(b);
        batch_unlock(b, bs);
    }
    enqueue_locked(p, backlink_ok ? lru_queue(p->queue_flags, pq.newest) : PQ_UNRECLAIMABLE);
    pq.total++;
    pq_unlock(s);
}

// Takes p out of the batch its queue value q names, if it is still there (false: a flush moved it
// to a queue meanwhile).
static bool remove_from_batch(vm_page_t *p, unsigned q) {
    struct pq_batch *b = batch_of(q);
    irqstate_t s = batch_lock(b);
    bool there = p->queue == q;
    if (there) {
        list_delete(&p->node);
        b->room++;
        p->queue = PQ_NONE;
        p->queue_flags = 0;
    }
    batch_unlock(b, s);
    return there;
}

void pq_remove(vm_page_t *p) {
    unsigned q = queue_hint(p);
    if (pq_queue_is_batched(q) && remove_from_batch(p, q))
        return;
    irqstate_t s = pq_lock();
    settle_locked(p);
    if (p->queue != PQ_NONE) {
        dequeue_locked(p);
        pq.total--;
    }
    p->queue_flags = 0;
    pq_unlock(s);
}

void pq_flush(void) {
    irqstate_t s = pq_lock();
    flush_all_locked();
    pq_unlock(s);
}

// Moves p to its class's newest bucket if it is in a bucket, DONT_NEED or FAILED; for a harvested
// A bit, not a page that was hinted DONT_NEED since the last harvest (PQF_HINTED).
static void touch(vm_page_t *p, bool harvested) {
    irqstate_t s = pq_lock();
    unsigned q = p->queue;
    if (pq_queue_is_batched(q)) {
        // Its batch stands for the newest bucket: nothing to do (and only pq_remove could take
        // it out of the batch while we hold the queue lock).
    } else if (harvested && q == PQ_DONT_NEED && (p->queue_flags & PQF_HINTED)) {
        p->queue_flags &= (uint8_t)~PQF_HINTED;
    } else if (is_lru(q) || q == PQ_DONT_NEED || q == PQ_FAILED) {
        unsigned newest = lru_queue(p->queue_flags, pq.newest);
        if (q != newest)
            move_locked(p, newest);
    }
    pq_unlock(s);
}

// The harvest calls this for every page it finds accessed, and a hot page is usually in the newest
// bucket already (it moves once per rotation, it is seen on every tick): a racy look first, and no
// lock for those. A stale answer only leaves an accessed page one rotation older than it is, as an
// A bit still cached in a TLB does.
NO_THREAD_SAFETY_ANALYSIS void pq_mark_accessed(vm_page_t *p) {
    unsigned q = __atomic_load_n(&p->queue, __ATOMIC_RELAXED);
    uint8_t flags = __atomic_load_n(&p->queue_flags, __ATOMIC_RELAXED);
    if (pq_queue_is_batched(q))
        return;  // its batch stands for the newest bucket
    if (is_lru(q) && q == lru_queue(flags, __atomic_load_n(&pq.newest, __ATOMIC_RELAXED)))
        return;
    touch(p, true);
}

void pq_mark_written(vm_page_t *p) {
    touch(p, false);
}

void pq_relink(vm_page_t *p, struct cow_list_id *owner, uint64_t offset) {
    // Under the global lock whether p is on a queue or batched: a flush, which makes a batched
    // page visible to pq_pick, needs it too.
    irqstate_t s = pq_lock();
    vm_page_set_backlink(p, owner, offset);
    pq_unlock(s);
}

bool pq_is_pager_page(const vm_page_t *p) {
    return (__atomic_load_n(&p->queue_flags, __ATOMIC_RELAXED) & PQF_PAGER) != 0;
}

void pq_set_dont_need(vm_page_t *p) {
    irqstate_t s = pq_lock();
    settle_locked(p);
    if (p->queue != PQ_NONE && p->queue != PQ_UNRECLAIMABLE) {
        if (p->queue != PQ_DONT_NEED)
            move_locked(p, PQ_DONT_NEED);
        p->queue_flags |= PQF_HINTED;
    }
    pq_unlock(s);
}

void pq_set_always_need(vm_page_t *p) {
    irqstate_t s = pq_lock();
    settle_locked(p);
    if (p->queue != PQ_NONE && p->queue != PQ_UNRECLAIMABLE)
        move_locked(p, PQ_UNRECLAIMABLE);
    pq_unlock(s);
}

void pq_mark_failed(vm_page_t *p) {
    irqstate_t s = pq_lock();
    if (!(p->queue_flags & PQF_PAGER))
        settle_locked(p);  // a batched page is in an LRU bucket: it goes
    if ((is_lru(p->queue) || p->queue == PQ_DONT_NEED) && !(p->queue_flags & PQF_PAGER))
        move_locked(p, PQ_FAILED);
    pq_unlock(s);
}

// Moves every page of queue `from` to the head of queue `to` (they are older than to's pages).
static void merge_into_locked(unsigned from, unsigned to) REQUIRES(pq.lock) {
    ASSERT_HELD(&pq.lock);
    struct list_node *head = &pq.lists[from];
    if (list_is_empty(head))
        return;
    list_for_each(head, it) {
        containerof(it, vm_page_t, node)->queue = (uint8_t)to;
    }
    // Splice [first, last] of `from` in front of to's first page.
    struct list_node *first = head->next, *last = head->prev, *dst = &pq.lists[to];
    last->next = dst->next;
    dst->next->prev = last;
    dst->next = first;
    first->prev = dst;
    list_init(head);
    pq.counts[to] += pq.counts[from];
    pq.counts[from] = 0;
}

void pq_rotate(void) {
    irqstate_t s = pq_lock();
    flush_all_locked();  // the batched pages are as old as the newest bucket's
    unsigned oldest = (pq.newest + 1) % PQ_LRU_BUCKETS;
    unsigned next = (pq.newest + 2) % PQ_LRU_BUCKETS;
    merge_into_locked(PQ_ANON_FIRST + oldest, PQ_ANON_FIRST + next);
    merge_into_locked(PQ_PAGER_FIRST + oldest, PQ_PAGER_FIRST + next);
    __atomic_store_n(&pq.newest, oldest, __ATOMIC_RELAXED);  // pq_mark_accessed reads it unlocked
    pq.rotations++;
    pq_unlock(s);
}

// Offers the pages of queue q, oldest first; the accepted one moves to the tail.
static vm_page_t *pick_from_locked(unsigned q, size_t *offers, pq_pick_fn fn, void *ctx)
    REQUIRES(pq.lock) {
    ASSERT_HELD(&pq.lock);
    size_t n = pq.counts[q];
    struct list_node *it = pq.lists[q].next;
    for (size_t i = 0; i < n && *offers > 0; i++) {
        vm_page_t *p = containerof(it, vm_page_t, node);
        it = it->next;
        (*offers)--;
        if (fn(p, ctx)) {
            move_locked(p, q);
            return p;
        }
    }
    return NULL;
}

vm_page_t *pq_pick(unsigned keep_newest, size_t max_offers, pq_pick_fn fn, void *ctx) {
    irqstate_t s = pq_lock();
    flush_all_locked();  // the newest bucket may be offered
    size_t offers = max_offers;
    vm_page_t *p = pick_from_locked(PQ_DONT_NEED, &offers, fn, ctx);
    for (unsigned base = PQ_PAGER_FIRST;; base = PQ_ANON_FIRST) {
        // Oldest first: ages N-1 down to keep_newest.
        for (unsigned age = PQ_LRU_BUCKETS; !p && age-- > keep_newest && offers > 0;) {
            unsigned slot = (pq.newest + PQ_LRU_BUCKETS - age) % PQ_LRU_BUCKETS;
            p = pick_from_locked(base + slot, &offers, fn, ctx);
        }
        if (p || base == PQ_ANON_FIRST)
            break;
    }
    pq_unlock(s);
    return p;
}

// Sum of the buckets of ages [lo, hi] of the class starting at `base`.
static size_t ages_locked(unsigned base, unsigned lo, unsigned hi) REQUIRES(pq.lock) {
    size_t n = 0;
    for (unsigned age = lo; age <= hi; age++)
        n += pq.counts[base + (pq.newest + PQ_LRU_BUCKETS - age) % PQ_LRU_BUCKETS];
    return n;
}

void pq_get_counts(struct pq_counts *out) {
    irqstate_t s = pq_lock();
    flush_all_locked();
    for (int q = 0; q < PQ_COUNT; q++)
        out->pages[q] = pq.counts[q];
    out->anon_newest = ages_locked(PQ_ANON_FIRST, 0, 1);
    out->anon_oldest = ages_locked(PQ_ANON_FIRST, PQ_LRU_BUCKETS - 2, PQ_LRU_BUCKETS - 1);
    out->pager_newest = ages_locked(PQ_PAGER_FIRST, 0, 1);
    out->pager_oldest = ages_locked(PQ_PAGER_FIRST, PQ_LRU_BUCKETS - 2, PQ_LRU_BUCKETS - 1);
    out->anon_total = ages_locked(PQ_ANON_FIRST, 0, PQ_LRU_BUCKETS - 1);
    out->pager_total = ages_locked(PQ_PAGER_FIRST, 0, PQ_LRU_BUCKETS - 1);
    out->total = pq.total;
    out->rotations = pq.rotations;
    pq_unlock(s);
}

int pq_page_age(const vm_page_t *p) {
    irqstate_t s = pq_lock();
    int age = -1;
    if (pq_queue_is_batched(p->queue)) {
        age = 0;
    } else if (is_lru(p->queue)) {
        unsigned slot = (p->queue - PQ_ANON_FIRST) % PQ_LRU_BUCKETS;
        age = (int)((pq.newest + PQ_LRU_BUCKETS - slot) % PQ_LRU_BUCKETS);
    }
    pq_unlock(s);
    return age;
}

size_t pq_total_pages(void) {
    irqstate_t s = pq_lock();
    size_t n = pq.total;
    for (unsigned c = 0; c < smp_cpus_online(); c++) {
        irqstate_t bs = batch_lock(&pq_batches[c]);
        n += batch_pages(&pq_batches[c]);
        batch_unlock(&pq_batches[c], bs);
    }
    pq_unlock(s);
    return n;
}

// Batch c's lists against its count: every page says it is in batch c, is a VMO page of the
// list's class with no other flag (not hinted); only online CPUs' batches hold pages.
static bool check_batch_locked(struct pq_batch *b, unsigned c) {
    DEBUG_ASSERT(batch_held(b));
    if (!b->lists[PQ_CLASS_ANON].next)
        return b->room == 0;  // never used
    size_t n = 0;
    for (unsigned cls = PQ_CLASS_ANON; cls <= PQ_CLASS_PAGER; cls++) {
        struct list_node *prev = &b->lists[cls];
        list_for_each(&b->lists[cls], it) {
            vm_page_t *p = containerof(it, vm_page_t, node);
            bool pager = (p->queue_flags & PQF_PAGER) != 0;
            if (it->prev != prev || p->queue != PQ_BATCHED_FIRST + c ||
                p->state != PAGE_STATE_VMO || pager != (cls == PQ_CLASS_PAGER) ||
                (p->queue_flags & ~PQF_PAGER)) {
                kprintf("pq_check: batch %u: page %p has queue %u, state %u, flags %#x%s\n", c,
                        (void *)p, p->queue, p->state, p->queue_flags,
                        it->prev != prev ? " (bad link)" : "");
                return false;
            }
            prev = it;
            if (++n > batch_pages(b))
                break;
        }
    }
    if (n != batch_pages(b) || (n > 0 && c >= smp_cpus_online()) || b->room > PQ_BATCH_PAGES) {
        kprintf("pq_check: batch %u holds %zu pages, its count says %u (%u CPUs online)\n", c, n,
                batch_pages(b), smp_cpus_online());
        return false;
    }
    return true;
}

bool pq_check(void) {
    irqstate_t s = pq_lock();
    bool ok = pq.newest < PQ_LRU_BUCKETS && pq.counts[PQ_NONE] == 0 &&
              list_is_empty(&pq.lists[PQ_NONE]);
    if (!ok)
        kprintf("pq_check: newest %u, %zu pages on PQ_NONE\n", pq.newest, pq.counts[PQ_NONE]);
    size_t total = 0;
    for (unsigned q = 1; ok && q < PQ_COUNT; q++) {
        size_t n = 0;
        struct list_node *prev = &pq.lists[q];
        list_for_each(&pq.lists[q], it) {
            vm_page_t *p = containerof(it, vm_page_t, node);
            bool pager = (p->queue_flags & PQF_PAGER) != 0;
            bool class_ok = q < PQ_ANON_FIRST || pager == (q >= PQ_PAGER_FIRST);
            bool hint_ok = q == PQ_DONT_NEED || !(p->queue_flags & PQF_HINTED);
            if (it->prev != prev || p->queue != q || p->state != PAGE_STATE_VMO || !class_ok ||
                !hint_ok || (q == PQ_FAILED && pager)) {
                kprintf("pq_check: queue %u: page %p has queue %u, state %u, flags %#x%s\n", q,
                        (void *)p, p->queue, p->state, p->queue_flags,
                        it->prev != prev ? " (bad link)" : "");
                ok = false;
                break;
            }
            prev = it;
            if (++n > pq.counts[q])
                break;
        }
        if (ok && n != pq.counts[q]) {
            kprintf("pq_check: queue %u holds %zu pages, its count says %zu\n", q, n,
                    pq.counts[q]);
            ok = false;
        }
        total += n;
    }
    if (ok && total != pq.total) {
        kprintf("pq_check: %zu pages on queues, total says %zu\n", total, pq.total);
        ok = false;
    }
    for (unsigned c = 0; ok && c < SMP_MAX_CPUS; c++) {
        struct pq_batch *b = &pq_batches[c];
        irqstate_t bs = batch_lock(b);
        ok = check_batch_locked(b, c);
        batch_unlock(b, bs);
    }
    pq_unlock(s);
    return ok;
}
