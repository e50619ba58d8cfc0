// Page queues: every page a VMO's page list holds sits on exactly one queue, which says how soon
// memory pressure may take it (docs/memory-pressure.md). Pure code: host tests run it.
//
//   UNRECLAIMABLE  never reclaimed: ALWAYS_NEED ranges, and pages whose backlink offset does not
//                  fit (offsets at or past VM_PAGE_BACKLINK_LIMIT)
//   DONT_NEED      the first to go (ZX_VMO_OP_DONT_NEED); an access puts the page back in the LRU
//   FAILED         anonymous pages that did not compress (or, before compression, were not zero);
//                  an access or a write puts them back in the LRU
//   ANON[i]        anonymous pages (clones of pager VMOs too), in PQ_LRU_BUCKETS LRU buckets
//   PAGER[i]       a pager VMO's own pages (evicted before any anonymous page is compressed),
//                  in buckets that age together with the anonymous ones
//
// The buckets form a ring: one is the newest, the next one round is the oldest. pq_rotate makes
// the oldest bucket the newest (its pages join the next-oldest first), so a page's age is the
// number of rotations since it was last seen accessed. Aging (vm/reclaim.c) harvests the hardware
// accessed bits and calls pq_mark_accessed, which moves the page to the newest bucket.
//
// Page tables, wired, heap and other kernel pages are in other pmm states and never on a queue;
// pages in use by a kernel copy are copied with their clone tree's lock held, which reclaim needs
// too, so it never sees them.
//
// Per-CPU batches: pq_add puts a new page of an LRU class on its CPU's batch (a short list per
// class under a per-CPU lock word, interrupts off; the page's `queue` is PQ_BATCHED_FIRST + that
// CPU's number), not on its bucket, so a fault never takes the global lock. A batch stands for the
// tail of its class's newest bucket: a full batch, pq_rotate, pq_pick, pq_get_counts and pq_flush
// move every batched page there (one locked splice per batch), an operation that moves one page
// between queues takes it out of its batch first, and pq_remove takes it out of its batch under
// that batch's lock alone. So the scans, ages and counts see every page where it would have been
// without batching, give or take its order within the newest bucket.
//
// Locking: one global spinlock (irqsave), a leaf taken under any VM lock (a clone tree's, an
// address space's page-table lock); the pmm's lock is never taken while it is held. A CPU's batch
// lock is a leaf too, taken alone (pq_add, pq_remove) or inside the global one, never the other
// way round.
// A page's `queue`, `queue_flags` and `node` belong to the global lock while the page is on a
// queue, to its batch's lock while it is batched; a page leaves a batch for a queue only under
// both, so under the global lock a batched page can only be removed, and a queued one stays queued.
#ifndef VM_PAGE_QUEUES_H
#define VM_PAGE_QUEUES_H

#include <stdbool.h>
#include <stddef.h>

#include "arch/x86_64/smp.h"
#include "kernel/assert.h"
#include "kernel/compiler.h"
#include "kernel/list.h"
#include "kernel/spinlock.h"
#include "kernel/types.h"
#include "vm/page.h"

#define PQ_LRU_BUCKETS 8

enum pq_queue {
    PQ_NONE = 0,  // not on a queue
    PQ_UNRECLAIMABLE,
    PQ_DONT_NEED,
    PQ_FAILED,
    PQ_ANON_FIRST,                                 // ANON[i] = PQ_ANON_FIRST + i
    PQ_PAGER_FIRST = PQ_ANON_FIRST + PQ_LRU_BUCKETS,  // PAGER[i] = PQ_PAGER_FIRST + i
    PQ_COUNT = PQ_PAGER_FIRST + PQ_LRU_BUCKETS,
    // Not a queue: `queue` values PQ_BATCHED_FIRST + c mean "in CPU c's batch" (see above).
    PQ_BATCHED_FIRST = PQ_COUNT,
};

// Pages a CPU's batch holds before pq_add moves them to their bucket.
#define PQ_BATCH_PAGES 32

// Whether a `queue` value means a CPU's batch.
static inline bool pq_queue_is_batched(unsigned q) {
    return q >= PQ_BATCHED_FIRST;
}

// What kind of memory a page is: where it ages and how reclaim treats it.
enum pq_class {
    PQ_CLASS_ANON,   // anonymous: zero-page dedup or compression
    PQ_CLASS_PAGER,  // a pager-backed VMO's page: evicted when clean
};

// Puts a page not on any queue (PQ_NONE), its backlink set, into the newest bucket of its class
// through the calling CPU's batch (UNRECLAIMABLE, directly, if `backlink_ok` is false: its offset
// has no backlink). Interrupts off and the batch's lock only, unless the batch is full. Inline
// (below): every fault's new page comes here.
static ALWAYS_INLINE void pq_add(vm_page_t *p, enum pq_class cls, bool backlink_ok);
// Takes a page off its queue or out of its batch, whichever CPU's (a no-op for PQ_NONE).
void pq_remove(vm_page_t *p);
// Moves every CPU's batched pages to the tail of their class's newest bucket.
void pq_flush(void);
// The hardware saw the page accessed: it moves to its class's newest bucket (from an LRU bucket,
// DONT_NEED or FAILED); on UNRECLAIMABLE nothing changes. The first harvest after a DONT_NEED hint
// does not count (the A bit may be from before the hint): the page stays on DONT_NEED.
void pq_mark_accessed(vm_page_t *p);
// The page was written (the same, for callers that know it was a write).
void pq_mark_written(vm_page_t *p);
// Changes the backlink of a page that is on a queue or batched (it moved to another list of its
// tree). Under the queue lock (its batch's lock while batched: it joins a queue only under that
// too), so that pq_pick's callback may follow a queued page's backlink to its tree: the list
// identity it reads is alive until the page leaves it, which needs this lock.
void pq_relink(vm_page_t *p, struct cow_list_id *owner, uint64_t offset);
// A write to a page its VMO owns (the fault path: cheap unless the page is in FAILED). The
// unlocked read may be stale; pq_mark_written rechecks under the lock.
static inline void pq_note_write(vm_page_t *p) {
    if (__atomic_load_n(&p->queue, __ATOMIC_RELAXED) == PQ_FAILED)
        pq_mark_written(p);
}
// Whether the page was queued as a pager-backed page (it stays one in DONT_NEED and FAILED).
bool pq_is_pager_page(const vm_page_t *p);
// ZX_VMO_OP_DONT_NEED: the page goes to DONT_NEED (unless UNRECLAIMABLE), hinted: the next
// pq_mark_accessed leaves it there.
void pq_set_dont_need(vm_page_t *p);
// ZX_VMO_OP_ALWAYS_NEED: the page goes to UNRECLAIMABLE for as long as it lives.
void pq_set_always_need(vm_page_t *p);
// Compression failed: an anonymous page in an LRU bucket or DONT_NEED goes to FAILED.
void pq_mark_failed(vm_page_t *p);

// Ages every page by one bucket: the oldest bucket's pages join the next-oldest one and the
// oldest bucket becomes the newest (empty). O(pages in the oldest bucket).
void pq_rotate(void);

// Called by pq_pick under the queue lock for a candidate page; returns true to take it (it may
// take a reference on the page's owner then: the page cannot leave its list before the caller
// of pq_remove takes the queue lock, which happens after this returns).
typedef bool (*pq_pick_fn)(vm_page_t *p, void *ctx);
// Reclaim order: DONT_NEED, then PAGER buckets oldest first, then ANON buckets oldest first, in
// each bucket oldest first; the `keep_newest` newest buckets of each class are left alone. The
// first page `fn` accepts is moved to the tail of its queue (so that a page that cannot go now is
// not picked again at once) and returned; NULL if none (each queue's pages are offered at most
// once per call, `max_offers` in all).
vm_page_t *pq_pick(unsigned keep_newest, size_t max_offers, pq_pick_fn fn, void *ctx);

struct pq_counts {
    size_t pages[PQ_COUNT];  // pages on each queue (PQ_NONE: 0)
    size_t anon_newest, anon_oldest;    // the two newest / two oldest ANON buckets
    size_t pager_newest, pager_oldest;  // the same for PAGER
    size_t pager_total, anon_total;     // LRU buckets of each class (not DONT_NEED or FAILED)
    size_t total;                       // every page on a queue
    uint64_t rotations;
};
// Flushes the batches first, so the counts are exact when no page is added meanwhile.
void pq_get_counts(struct pq_counts *out);
// The bucket index (0 = newest) of a page in an ANON or PAGER queue or batched (0), else -1. For
// tests.
int pq_page_age(const vm_page_t *p);
// Every page on a queue or batched. O(CPUs).
size_t pq_total_pages(void);

// Checks the lists and the batches against their counts and every page's queue id (O(pages on
// queues)); prints the first violation and returns false.
bool pq_check(void);

// --- pq_add's fast path: private to vm/page_queues.c but for this ---

#define PQF_PAGER 0x01  // queue_flags: the page is of PQ_CLASS_PAGER

// A CPU's batch: the pages pq_add put there since its last flush, oldest first, one list per
// class. Its own cache line: the other CPUs take it only to remove a page or to flush. The lock is
// a bare word, not a struct spinlock: the fast path of every fault takes it, and a spinlock's
// holder checks cost as much as taking the global lock did. Always taken with interrupts off, so
// its holder is never preempted; the global lock is never taken while it is held.
struct ALIGNED(64) pq_batch {
    uint32_t locked;  // 1 while held
    // Pages the lists may still take. 0 in a batch never used (zero-initialised, lists not set
    // up), so that its first pq_add takes the slow path, which sets it up.
    unsigned room;
    struct list_node lists[2];  // by enum pq_class
};
extern struct pq_batch pq_batches[SMP_MAX_CPUS];

// pq_add's slow path (interrupts off): the page's offset has no backlink, or this CPU's batch is
// full or unused.
void pq_add_slow(vm_page_t *p, struct pq_batch *b, bool backlink_ok);

static ALWAYS_INLINE void pq_add(vm_page_t *p, enum pq_class cls, bool backlink_ok) {
    ASSERT_MSG(p->queue == PQ_NONE, "page %p already on queue %u", (void *)p, p->queue);
    ASSERT(p->state == PAGE_STATE_VMO);
    p->queue_flags = cls == PQ_CLASS_PAGER ? PQF_PAGER : 0;
    // Interrupts off first: then this thread stays on this CPU, and no other thread runs here,
    // while it holds its batch.
    irqstate_t s = irq_save_local();
    unsigned c = smp_cpu_num();
    struct pq_batch *b = &pq_batches[c];
    spin_word_acquire(&b->locked);
    if (likely(backlink_ok && b->room > 0)) {
        list_add_tail(&b->lists[cls], &p->node);
        // pq_remove looks at `queue` before it takes a lock.
        __atomic_store_n(&p->queue, (uint8_t)(PQ_BATCHED_FIRST + c), __ATOMIC_RELAXED);
        b->room--;
        spin_word_release(&b->locked);
    } else {
        spin_word_release(&b->locked);
        pq_add_slow(p, b, backlink_ok);
    }
    irq_restore_local(s);
}

#endif  // VM_PAGE_QUEUES_H
