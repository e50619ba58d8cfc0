// Reclaiming one page of a clone tree: find it through its backlink, then hand it to the step
// for its kind (compression or zero dedup for anonymous memory, vm/cow_compress.h; eviction for a
// pager-backed page). Contract in vm/cow_pages.h; the whole path in docs/memory-pressure.md.
#include "kernel/assert.h"
#include "vm/cow_compress.h"
#include "vm/cow_pages.h"
#include "vm/page_queues.h"
#include "vm/page_source.h"

// The node of `t` whose list identity is `id`, or NULL. Compares pointers only: `id` was read
// from a page that may belong to another tree by now, so it is never followed.
static struct cow_node *node_of_id(struct cow_tree *t, const struct cow_list_id *id)
    REQUIRES(t->lock) {
    ASSERT_MUTEX_HELD(&t->lock);
    list_for_each(&t->nodes, it) {
        struct cow_node *n = containerof(it, struct cow_node, tree_link);
        if (n->id == id)
            return n;
    }
    return NULL;
}

// The user pager's eviction step: drop a clean page of a pager-backed VMO (a later access asks
// the pager again); dirty and AwaitingClean pages stay. Only the root's pages are of the pager
// class: its clones' are anonymous and compressed (docs/pager.md, "Memory").
static zx_status_t reclaim_pager_page_locked(struct cow_node *n, uint64_t off, vm_page_t *p)
    REQUIRES(n->tree->lock) {
    (void)p;
    struct page_source *src = n->tree->source;
    if (!src || src->root != n)
        return ZX_ERR_NOT_SUPPORTED;
    page_source_assert_held(src);
    return page_source_evict_clean_page_locked(src, off) ? ZX_OK : ZX_ERR_NOT_SUPPORTED;
}

zx_status_t cow_pages_reclaim_page_locked(struct cow_tree *t, vm_page_t *p, uint32_t flags) {
    ASSERT_MUTEX_HELD(&t->lock);
    // Racy reads until the page is known to be t's (then t's lock keeps it still).
    struct cow_list_id *id = __atomic_load_n(&p->vmo.owner, __ATOMIC_RELAXED);
    if (__atomic_load_n(&p->state, __ATOMIC_RELAXED) != PAGE_STATE_VMO || !id)
        return ZX_ERR_NOT_FOUND;
    struct cow_node *n = node_of_id(t, id);
    if (!n)
        return ZX_ERR_NOT_FOUND;
    cow_assert_held(n);
    uint64_t off = vm_page_backlink_offset(p);
    vmpl_slot_t *slot = vmpl_lookup(&n->pages, off);
    if (!slot || *slot != vmpl_slot_from_page(p))
        return ZX_ERR_NOT_FOUND;
    // p is n's page at off from here on.
    if (p->queue == PQ_UNRECLAIMABLE || p->queue == PQ_NONE)
        return ZX_ERR_NOT_SUPPORTED;
    if (pq_is_pager_page(p))  // (a batched page's queue says its CPU, not its class)
        return (flags & COW_RECLAIM_ZERO_ONLY) ? ZX_ERR_NOT_SUPPORTED
                                                : reclaim_pager_page_locked(n, off, p);
    if (flags & COW_RECLAIM_ZERO_ONLY) {
        bool deduped;
        zx_status_t st = cow_dedup_zero_page_locked(n, off, &deduped);
        if (st != ZX_OK)
            return st;
        return deduped ? ZX_OK : ZX_ERR_NOT_SUPPORTED;
    }
    if (p->flags & VM_PAGE_FLAG_COMPRESS_FAILED) {
        pq_mark_failed(p);
        return ZX_ERR_NOT_SUPPORTED;
    }
    enum cow_compress_result r;
    zx_status_t st = cow_compress_page_locked(n, off, &r);  // n may be gone after this
    if (st != ZX_OK)
        return st;
    switch (r) {
    case COW_COMPRESS_STORED:
    case COW_COMPRESS_ZERO:
        return ZX_OK;
    case COW_COMPRESS_FAILED:
        return ZX_ERR_NOT_SUPPORTED;  // the page is back, on the FAILED queue
    default:
        return ZX_ERR_NOT_FOUND;  // abandoned: the content was needed meanwhile
    }
}
