// Copy-on-write clone trees: node life cycle, lookups, forks, zeroing, resizing, snapshots,
// leaf death and hidden-node merges, walks, attribution and the tree checker. The contract and
// the invariants are in vm/cow_pages.h; the diagrams in docs/clone-trees.md.
//
// Share counts: effective count = page->vmo.share_count + node->base (mod 2^32). Every function
// that moves a page between lists rewrites share_count so that the effective count is what it
// must be in the destination; a whole list moves with its base.
#include "vm/cow_pages.h"
#include "vm/cow_pages_priv.h"

#include "kernel/assert.h"
#include "kernel/heap.h"
#include "kernel/printf.h"
#include "kernel/string.h"
#include "vm/cow_compress.h"
#include "vm/page_queues.h"
#include "vm/pmm.h"

#define P ((uint64_t)PAGE_SIZE)

// --- Pages ---

vm_page_t *cow_page_alloc(struct cow_tree *t) {
    vm_page_t *p = pmm_alloc_page(PAGE_STATE_VMO);
    if (p) {
        p->vmo.owner = NULL;
        p->vmo.share_count = 0;
    }
    return p;
}

// Inline into cow_page_place (a fault's page passes here); cow_page_set_backlink for the others.
static ALWAYS_INLINE void set_backlink(struct cow_node *n, vm_page_t *p, uint64_t offset)
    REQUIRES(n->tree->lock) {
    ASSERT_MUTEX_HELD(&n->tree->lock);
    // p->queue changes only under the queue lock, and only while p is on a queue: a page off
    // every queue (new, or back from compression) reads PQ_NONE here without a race.
    if (__atomic_load_n(&p->queue, __ATOMIC_RELAXED) != PQ_NONE) {
        pq_relink(p, n->id, offset);
        return;
    }
    vm_page_set_backlink(p, n->id, offset);
    // A pager VMO's own pages (vm/page_source.h) are evicted when clean, never compressed; its
    // clones' pages (and their hidden nodes') are anonymous memory, compressed like any other.
    pq_add(p, n->pager_root ? PQ_CLASS_PAGER : PQ_CLASS_ANON, offset < VM_PAGE_BACKLINK_LIMIT);
}

void cow_page_set_backlink(struct cow_node *n, vm_page_t *p, uint64_t offset) {
    set_backlink(n, p, offset);
}

// Puts page `p` (fresh, or taken from another list of the tree) into `slot` of `n` at `offset`
// with effective count `eff`. Inline: every fault's new page passes here.
static ALWAYS_INLINE void cow_page_place(struct cow_node *n, vmpl_slot_t *slot, uint64_t offset, vm_page_t *p,
                           uint32_t eff) REQUIRES(n->tree->lock) {
    p->vmo.share_count = eff - n->base;
    set_backlink(n, p, offset);
    *slot = vmpl_slot_from_page(p);
}

static void cow_page_free(struct cow_tree *t, vm_page_t *p) {
    DEBUG_ASSERT(p->state == PAGE_STATE_VMO && p->vmo.owner && p->vmo.owner->tree == t);
    ASSERT(t->pages > 0);
    t->pages--;
    pq_remove(p);
    pmm_free_page(p);
}

// Whole lists changed nodes: a and b swap identities so that each list keeps its own.
static void cow_swap_ids(struct cow_node *a, struct cow_node *b) {
    struct cow_list_id *id = a->id;
    a->id = b->id;
    b->id = id;
    a->id->node = a;
    b->id->node = b;
}

// Frees a page or reference that left a list of tree `t` for good.
static void cow_content_free(struct cow_tree *t, vmpl_slot_t content) REQUIRES(t->lock) {
    if (vmpl_slot_is_page(content))
        cow_page_free(t, vmpl_slot_page(content));
    else
        cow_zpage_drop_locked(t, cow_slot_zpage(content));
}

// vmpl release callback: frees pages and references leaving a list of tree `ctx`.
NO_THREAD_SAFETY_ANALYSIS static void release_free(vmpl_slot_t content, uint64_t offset,
                                                   void *ctx) {
    cow_content_free(ctx, content);
}

// --- Trees and nodes ---

static void cow_node_init(struct cow_node *n, struct cow_tree *t, struct cow_list_id *id) {
    n->tree = t;
    n->id = id;
    id->node = n;
    id->tree = t;
    list_init(&n->children);
    list_init(&n->vmos);
    vmpl_init(&n->pages);
}

static void cow_node_link(struct cow_node *n) {
    list_add_tail(&n->tree->nodes, &n->tree_link);
    n->tree->node_count++;
}

static void cow_node_unlink_and_free(struct cow_node *n) {
    struct cow_tree *t = n->tree;
    if (n->merge_pending) {
        ASSERT(t->pending_merges > 0);
        t->pending_merges--;
    }
    list_delete(&n->tree_link);
    t->node_count--;
    vmpl_destroy(&n->pages);
    kfree(n->id);
    kfree(n);
}

zx_status_t cow_node_alloc(struct cow_tree *tree, struct cow_node **out) {
    struct cow_node *n = kzalloc(sizeof(*n));
    struct cow_list_id *id = kzalloc(sizeof(*id));
    if (!n || !id) {
        kfree(n);
        kfree(id);
        return ZX_ERR_NO_MEMORY;
    }
    cow_node_init(n, tree, id);
    *out = n;
    return ZX_OK;
}

void cow_node_free_unlinked(struct cow_node *n) {
    ASSERT(vmpl_is_empty(&n->pages) && !list_in_list(&n->tree_link));
    kfree(n->id);
    kfree(n);
}

zx_status_t cow_tree_create(uint64_t size, struct cow_tree **out_tree, struct cow_node **out_root) {
    struct cow_tree *t = kzalloc(sizeof(*t));
    if (!t)
        return ZX_ERR_NO_MEMORY;
    struct cow_node *n;
    if (cow_node_alloc(t, &n) != ZX_OK) {
        kfree(t);
        return ZX_ERR_NO_MEMORY;
    }
    mutex_init(&t->lock, "cow_tree");
    t->skip_gen = 1;  // a node's 0 means no skip
    list_init(&t->nodes);
    list_init(&t->inflight);
    n->size = size;
    cow_node_link(n);
    *out_tree = t;
    *out_root = n;
    return ZX_OK;
}

void cow_tree_get(struct cow_tree *tree) {
    __atomic_fetch_add(&tree->qrefs, 1, __ATOMIC_RELAXED);
}

void cow_tree_put(struct cow_tree *tree) {
    mutex_acquire(&tree->lock);
    uint32_t left = __atomic_sub_fetch(&tree->qrefs, 1, __ATOMIC_RELAXED);
    ASSERT(left != UINT32_MAX);
    bool last = left == 0 && tree->pins == 0 && tree->orphaned;
    mutex_release(&tree->lock);
    if (last)
        kfree(tree);
}

void cow_tree_free(struct cow_tree *tree) {
    mutex_acquire(&tree->lock);
    ASSERT(tree->node_count == 0 && tree->pages == 0 && tree->zpages == 0 &&
           list_is_empty(&tree->nodes) && !tree->orphaned);
    tree->orphaned = true;
    bool last = tree->pins == 0 && __atomic_load_n(&tree->qrefs, __ATOMIC_RELAXED) == 0;
    mutex_release(&tree->lock);
    if (last)
        kfree(tree);
}

void cow_tree_pin_locked(struct cow_tree *tree) {
    ASSERT_MUTEX_HELD(&tree->lock);
    tree->pins++;
}

void cow_tree_unpin(struct cow_tree *tree) {
    mutex_acquire(&tree->lock);
    ASSERT(tree->pins > 0);
    bool last = --tree->pins == 0 && tree->orphaned &&
                __atomic_load_n(&tree->qrefs, __ATOMIC_RELAXED) == 0;
    mutex_release(&tree->lock);
    if (last)
        kfree(tree);
}

// Replaces `old` by `new` in old's parent's child list (new takes old's place).
static void cow_replace_child(struct cow_node *old, struct cow_node *new) {
    list_insert_after(&old->sibling, &new->sibling);
    list_delete(&old->sibling);
}

// --- Lookups ---

vm_page_t *cow_lookup_locked(struct cow_node *n, uint64_t offset, bool *out_own) {
    ASSERT_MUTEX_HELD(&n->tree->lock);
    struct cow_node *owner;
    uint64_t ooff;
    vmpl_slot_t *s = cow_find_locked(n, offset, false, &owner, &ooff);
    if (!s)
        return NULL;
    ASSERT(vmpl_slot_is_page(*s));
    if (out_own)
        *out_own = owner == n;
    return vmpl_slot_page(*s);
}

bool cow_has_content_locked(struct cow_node *n, uint64_t offset) {
    ASSERT_MUTEX_HELD(&n->tree->lock);
    struct cow_node *owner;
    uint64_t ooff;
    return cow_find_locked(n, offset, false, &owner, &ooff) != NULL;
}

bool cow_peek_locked(struct cow_node *n, uint64_t offset, void *buf) {
    ASSERT_MUTEX_HELD(&n->tree->lock);
    struct cow_node *owner;
    uint64_t ooff;
    vmpl_slot_t *s = cow_find_locked(n, offset, false, &owner, &ooff);
    if (!s)
        return false;
    if (vmpl_slot_is_ref(*s))
        cow_zpage_read_locked(n->tree, cow_slot_zpage(*s), buf);
    else
        memcpy(buf, vm_page_kva(vmpl_slot_page(*s)), PAGE_SIZE);
    return true;
}


zx_status_t cow_lookup_resident_locked(struct cow_node *n, uint64_t offset, vm_page_t **out,
                                       bool *out_own) {
    ASSERT_MUTEX_HELD(&n->tree->lock);
    struct cow_node *owner;
    uint64_t ooff;
    vmpl_slot_t *s = cow_find_locked(n, offset, false, &owner, &ooff);
    *out = NULL;
    if (!s)
        return ZX_OK;
    if (out_own)
        *out_own = owner == n;
    if (vmpl_slot_is_ref(*s)) {
        cow_assert_held(owner);
        return cow_slot_decompress_locked(owner, s, ooff, out);
    }
    *out = vmpl_slot_page(*s);
    return ZX_OK;
}

// --- Pager roots ---

// True if `n` sees its pager root at `offset`: nothing of n (unless skip_self) or of a node on
// the way (content, marker, interval) hides it, and every window contains it. *out_ro: the root
// offset.
static bool cow_reaches_root(struct cow_node *n, uint64_t offset, bool skip_self, uint64_t *out_ro)
    REQUIRES(n->tree->lock) {
    struct cow_node *cur = n;
    uint64_t o = offset;
    if (skip_self) {
        if (!n->parent || o >= n->parent_limit)
            return false;
        o += n->parent_offset;
        cur = n->parent;
    }
    for (;;) {
        if (cur->pager_root) {
            *out_ro = o;
            return cur != n;
        }
        vmpl_slot_t *s = vmpl_lookup(&cur->pages, o);
        if (s && !vmpl_slot_is_empty(*s))
            return false;
        if (cur->has_intervals && vmpl_is_offset_in_interval(&cur->pages, o))
            return false;
        if (!cur->parent || o >= cur->parent_limit)
            return false;
        o += cur->parent_offset;
        cur = cur->parent;
    }
}

bool cow_ancestors_show_content_locked(struct cow_node *n, uint64_t offset) {
    ASSERT_MUTEX_HELD(&n->tree->lock);
    struct cow_node *owner;
    uint64_t ooff, ro;
    if (cow_find_locked(n, offset, true, &owner, &ooff))
        return true;
    // A pager root's Empty slot is missing, not zero, and its zero interval may be written: the
    // pager may supply content there later, which n must not see in place of its own zeros.
    return cow_reaches_root(n, offset, true, &ro);
}

zx_status_t cow_pager_reach_locked(struct cow_node *n, uint64_t start, uint64_t end,
                                   cow_root_run_fn fn, void *ctx) {
    ASSERT_MUTEX_HELD(&n->tree->lock);
    DEBUG_ASSERT(IS_ALIGNED(start, P) && IS_ALIGNED(end, P));
    bool open = false;
    uint64_t rs = 0, re = 0;
    for (uint64_t o = start; o < end; o += P) {
        uint64_t ro;
        bool reach = cow_reaches_root(n, o, false, &ro);
        if (reach && open && ro == re) {
            re += P;
            continue;
        }
        if (open) {
            zx_status_t st = fn(ctx, rs, re);
            if (st != ZX_OK)
                return st;
            open = false;
        }
        if (reach) {
            rs = ro;
            re = ro + P;
            open = true;
        }
    }
    return open ? fn(ctx, rs, re) : ZX_OK;
}

bool cow_root_window_locked(struct cow_node *root, struct cow_node *d, uint64_t *out_delta,
                            uint64_t *out_limit) {
    ASSERT_MUTEX_HELD(&root->tree->lock);
    // In x's offsets, d's offset o is o + delta; it reaches x's parent below x's limit.
    uint64_t delta = 0, lim = d->size;
    for (struct cow_node *x = d; x != root; x = x->parent) {
        if (!x->parent || x->parent_limit <= delta)
            return false;
        lim = MIN(lim, x->parent_limit - delta);
        delta += x->parent_offset;
    }
    *out_delta = delta;
    *out_limit = lim;
    return d != root && lim > 0;
}

// True if n's own list makes `offset` read zero (a marker or a zero interval there).
static bool cow_own_zero(struct cow_node *n, vmpl_slot_t *slot, uint64_t offset) {
    if (slot && !vmpl_slot_is_empty(*slot))
        return vmpl_slot_is_marker(*slot) || vmpl_slot_is_interval(*slot);
    return n->has_intervals && vmpl_is_offset_in_interval(&n->pages, offset);
}

zx_status_t cow_get_owned_page_locked(struct cow_node *n, uint64_t offset, vm_page_t **out) {
    ASSERT_MUTEX_HELD(&n->tree->lock);
    ASSERT(!n->hidden);
    struct cow_tree *t = n->tree;
    vmpl_slot_t *slot = vmpl_lookup(&n->pages, offset);
    if (slot && vmpl_slot_is_ref(*slot)) {
        zx_status_t st = cow_slot_decompress_locked(n, slot, offset, out);
        if (st == ZX_OK)
            (*out)->flags &= (uint8_t)~VM_PAGE_FLAG_COMPRESS_FAILED;
        return st;
    }
    if (slot && vmpl_slot_is_page(*slot)) {
        *out = vmpl_slot_page(*slot);
        (*out)->flags &= (uint8_t)~VM_PAGE_FLAG_COMPRESS_FAILED;  // written: worth another try
        pq_note_write(*out);
        return ZX_OK;
    }
    struct cow_node *owner = NULL;
    uint64_t ooff = 0;
    vmpl_slot_t *src = NULL;
    if (!cow_own_zero(n, slot, offset))
        src = cow_find_locked(n, offset, true, &owner, &ooff);
    // A pager root's page is the root's own: a child copies it, and it has no count to drop.
    bool counted = src && !owner->pager_root;
    if (counted && vmpl_slot_is_page(*src) && cow_slot_share_count(owner, *src) == 0) {
        // Only n reaches it: move, never copy (docs/abi.md §2). The physical page stays the same,
        // so n's read-only mappings of it stay valid.
        if (!slot || n->has_intervals) {
            zx_status_t st = vmpl_lookup_or_alloc(
                &n->pages, offset, n->has_intervals ? VMPL_SPLIT_INTERVAL : VMPL_NO_INTERVALS,
                &slot, NULL);
            if (st != ZX_OK)
                return ZX_ERR_NO_MEMORY;
        }
        vm_page_t *p = vmpl_slot_page(vmpl_remove(&owner->pages, ooff));
        cow_page_place(n, slot, offset, p, 0);
        pq_note_write(p);
        *out = p;
        return ZX_OK;
    }
    vm_page_t *p = cow_page_alloc(t);
    if (!p)
        return ZX_ERR_NO_MEMORY;
    cow_tree_assert_held(t);
    if (src && vmpl_slot_is_ref(*src))
        cow_zpage_read_locked(t, cow_slot_zpage(*src), vm_page_kva(p));  // decompress a copy
    else if (src)
        page_copy(vm_page_kva(p), vm_page_kva(vmpl_slot_page(*src)));
    else
        page_zero(vm_page_kva(p));
    // One descent of n's list per fault where it can be had: the empty slot the first look-up
    // found is still the one to fill (nothing since has added or freed a node of n's list), unless
    // the offset may lie in a zero interval, which must be split around it first.
    vmpl_slot_t *dst = slot;
    DEBUG_ASSERT(!slot || n->has_intervals || !vmpl_slot_is_interval(*slot));
    if ((!dst || n->has_intervals) &&
        vmpl_lookup_or_alloc(&n->pages, offset,
                             n->has_intervals ? VMPL_SPLIT_INTERVAL : VMPL_NO_INTERVALS, &dst,
                             NULL) != ZX_OK) {
        pmm_free_page(p);
        return ZX_ERR_NO_MEMORY;
    }
    // n's mappings may show the ancestor's page or the zero page here: unmap them first (if
    // anything not n's own was ever handed out for mapping).
    // A pager root's children may show what it had here (zero) too: the range change reaches
    // them (vmo_cow_range_change).
    if (n->maps_foreign || n->child_count > 0)
        vmo_cow_range_change(n, offset, P, VM_RANGE_UNMAP);
    cow_page_place(n, dst, offset, p, 0);
    t->pages++;
    if (!counted) {
        // A copy of a pager root's page, or zero: nothing to account above.
    } else if (cow_slot_share_count(owner, *src) == 0) {
        // A compressed page only n reached: n now has its content, the reference goes.
        DEBUG_ASSERT(vmpl_slot_is_ref(*src));
        cow_assert_held(owner);
        cow_content_free(t, vmpl_remove(&owner->pages, ooff));  // t: held since the read above
    } else {
        (*cow_slot_count(*src))--;  // n no longer reaches it (count was > 0)
    }
    *out = p;
    return ZX_OK;
}

zx_status_t cow_commit_range_locked(struct cow_node *n, uint64_t start, uint64_t end) {
    ASSERT_MUTEX_HELD(&n->tree->lock);
    for (uint64_t o = start; o < end; o += P) {
        vm_page_t *p;
        zx_status_t st = cow_get_owned_page_locked(n, o, &p);
        if (st != ZX_OK)
            return st;
    }
    return ZX_OK;
}

// --- Walks ---

struct walk_state {
    struct cow_node *start;
    struct cow_node *cur;
    bool include_own;
    cow_visit_fn fn;       // one of the two
    cow_span_fn span_fn;
    void *ctx;
    bool stop;
    zx_status_t status;
    bool gap;
    uint64_t gap_s, gap_e;
};

static zx_status_t walk_slot_cb(vmpl_slot_t *slot, uint64_t offset, void *ctx) {
    struct walk_state *w = ctx;
    if (!vmpl_slot_is_page_or_ref(*slot))
        return ZX_ERR_NEXT;
    if (w->cur == w->start && !w->include_own)
        return ZX_ERR_NEXT;
    zx_status_t st = w->fn(w->ctx, w->cur, offset, slot, offset - w->cur->w_delta);
    if (st == ZX_ERR_NEXT)
        return ZX_ERR_NEXT;
    w->stop = true;
    w->status = st == ZX_ERR_STOP ? ZX_OK : st;
    return ZX_ERR_STOP;
}

static zx_status_t walk_span_cb(vmpl_slot_t *slots, size_t n, uint64_t offset, void *ctx) {
    struct walk_state *w = ctx;
    if (w->cur == w->start && !w->include_own)
        return ZX_ERR_NEXT;
    zx_status_t st = w->span_fn(w->ctx, w->cur, offset, slots, n, offset - w->cur->w_delta);
    if (st == ZX_ERR_NEXT)
        return ZX_ERR_NEXT;
    w->stop = true;
    w->status = st == ZX_ERR_STOP ? ZX_OK : st;
    return ZX_ERR_STOP;
}

static zx_status_t walk_gap_cb(uint64_t start, uint64_t end, void *ctx) {
    struct walk_state *w = ctx;
    w->gap = true;
    w->gap_s = start;
    w->gap_e = end;
    return ZX_ERR_STOP;
}

// Depth-first over the chain of ancestors, without recursion: each node on the current path
// keeps the range it still has to visit (w_cur, w_end) and the child the walk came from; a gap
// in a node sends the walk to its parent for that gap (clipped to the window), and when the
// parent's range is done the walk resumes in the child after the gap. Visits come out in offset
// order. Slots may be emptied by fn (the scan of a node restarts from w_cur each time), not by
// span_fn.
static zx_status_t walk_locked(struct walk_state *w, uint64_t s, uint64_t e) {
    struct cow_node *start = w->start;
    if (s >= e)
        return ZX_OK;
    struct cow_node *n = start;
    n->w_cur = s;
    n->w_end = e;
    n->w_delta = 0;
    n->w_from = NULL;
    for (;;) {
        if (n->w_cur >= n->w_end) {
            if (n == start)
                return ZX_OK;
            n = n->w_from;
            continue;
        }
        w->cur = n;
        w->gap = false;
        if (w->span_fn && (!n->parent || n->w_cur >= n->parent_limit))
            (void)vmpl_for_each_node_span(&n->pages, n->w_cur, n->w_end, walk_span_cb, w);
        else if (w->span_fn)
            (void)vmpl_for_each_span_and_gap(&n->pages, n->w_cur, n->w_end, walk_span_cb,
                                             walk_gap_cb, w);
        else
            (void)vmpl_remove_range_and_gaps(&n->pages, n->w_cur, n->w_end, walk_slot_cb,
                                             walk_gap_cb, w);
        if (w->stop)
            return w->status;
        if (!w->gap) {
            n->w_cur = n->w_end;
            continue;
        }
        n->w_cur = w->gap_e;
        if (n->parent && w->gap_s < n->parent_limit) {
            struct cow_node *p = n->parent;
            uint64_t gs = w->gap_s, ge = MIN(w->gap_e, n->parent_limit), d = n->parent_offset;
            if (n->skip_gen == n->tree->skip_gen) {
                // The part of the gap in n's skip goes straight to its target; the part before
                // it goes up one level. Either way n resumes after that part.
                if (gs >= n->skip_lo && gs < n->skip_hi) {
                    ge = MIN(ge, n->skip_hi);
                    p = n->skip_to;
                    d = n->skip_delta;
                    n->w_cur = ge;
                } else if (gs < n->skip_lo && n->skip_lo < ge) {
                    ge = n->skip_lo;
                    n->w_cur = ge;
                }
            }
            p->w_cur = gs + d;
            p->w_end = ge + d;
            p->w_delta = n->w_delta + d;
            p->w_from = n;
            n = p;
        }
    }
}

zx_status_t cow_walk_locked(struct cow_node *start, uint64_t s, uint64_t e, bool include_own,
                            cow_visit_fn fn, void *ctx) {
    ASSERT_MUTEX_HELD(&start->tree->lock);
    struct walk_state w = {.start = start, .include_own = include_own, .fn = fn, .ctx = ctx};
    return walk_locked(&w, s, e);
}

zx_status_t cow_walk_spans_locked(struct cow_node *start, uint64_t s, uint64_t e, bool include_own,
                                  cow_span_fn fn, void *ctx) {
    ASSERT_MUTEX_HELD(&start->tree->lock);
    struct walk_state w = {.start = start, .include_own = include_own, .span_fn = fn, .ctx = ctx};
    return walk_locked(&w, s, e);
}

static zx_status_t find_any_visit(void *ctx, struct cow_node *owner, uint64_t owner_offset,
                                  vmpl_slot_t *slot, uint64_t offset) {
    *(bool *)ctx = true;
    return ZX_ERR_STOP;
}

bool cow_range_sees_parent_content_locked(struct cow_node *n, uint64_t start, uint64_t end) {
    ASSERT_MUTEX_HELD(&n->tree->lock);
    bool found = false;
    zx_status_t st = cow_walk_locked(n, start, end, false, find_any_visit, &found);
    ASSERT(st == ZX_OK);
    return found;
}

// Drops one sharer from every ancestor page a walk reaches (freeing those only it reached),
// except pages owned by `skip` (may be NULL). The sharer's mappings must already be gone.
struct dec_ctx {
    struct cow_tree *tree;
    struct cow_node *skip;
};

static zx_status_t dec_visit(void *ctx, struct cow_node *owner, uint64_t owner_offset,
                             vmpl_slot_t *slot, uint64_t offset) {
    struct dec_ctx *c = ctx;
    if (owner == c->skip || owner->pager_root)
        return ZX_ERR_NEXT;  // a pager root's pages are not counted
    ASSERT(owner->hidden);
    if (cow_slot_share_count(owner, *slot) == 0) {
        vmpl_slot_t content = *slot;
        *slot = VMPL_SLOT_EMPTY;
        cow_tree_assert_held(c->tree);
        cow_content_free(c->tree, content);
    } else {
        (*cow_slot_count(*slot))--;
    }
    return ZX_ERR_NEXT;
}

static zx_status_t inc_visit(void *ctx, struct cow_node *owner, uint64_t owner_offset,
                             vmpl_slot_t *slot, uint64_t offset) {
    if (owner->pager_root)
        return ZX_ERR_NEXT;  // a pager root's pages are not counted
    ASSERT(owner->hidden);
    (*cow_slot_count(*slot))++;
    return ZX_ERR_NEXT;
}

static zx_status_t inc_slot_cb(vmpl_slot_t *slot, uint64_t offset, void *ctx) {
    if (vmpl_slot_is_page_or_ref(*slot))
        (*cow_slot_count(*slot))++;
    return ZX_ERR_NEXT;
}

// Drops `n`'s share of everything it reaches above itself in [start, end) of its offsets.
static void cow_release_reach_locked(struct cow_node *n, uint64_t start, uint64_t end,
                                     struct cow_node *skip) REQUIRES(n->tree->lock) {
    ASSERT_MUTEX_HELD(&n->tree->lock);
    struct dec_ctx c = {n->tree, skip};
    zx_status_t st = cow_walk_locked(n, start, end, false, dec_visit, &c);
    ASSERT(st == ZX_OK);
}

// --- Zeroing and resizing ---

struct zero_scan {
    struct cow_node *n;
    bool below_root;  // n sees a pager root: its Empty slots are missing, not zero
    bool gap;
    uint64_t gap_s, gap_e;
};

// A page of n inside the zeroed range: free it; keep hiding the parent with a marker if an
// ancestor has content there (n did not reach it: no count changes).
static zx_status_t zero_slot_cb(vmpl_slot_t *slot, uint64_t offset, void *ctx) {
    struct zero_scan *z = ctx;
    if (!vmpl_slot_is_page_or_ref(*slot))
        return ZX_ERR_NEXT;
    vmpl_slot_t content = *slot;
    struct cow_node *owner;
    uint64_t ooff;
    cow_assert_held(z->n);
    if (z->below_root || cow_find_locked(z->n, offset, true, &owner, &ooff))
        *slot = vmpl_slot_marker();
    else
        *slot = VMPL_SLOT_EMPTY;
    cow_content_free(z->n->tree, content);
    return ZX_ERR_NEXT;
}

static zx_status_t zero_gap_cb(uint64_t start, uint64_t end, void *ctx) {
    struct zero_scan *z = ctx;
    z->gap = true;
    z->gap_s = start;
    z->gap_e = end;
    return ZX_ERR_STOP;
}

// True if a pager root is an ancestor of n (n is a clone of a pager VMO, or of one of those).
static bool cow_below_pager_root(const struct cow_node *n) {
    for (const struct cow_node *a = n->parent; a; a = a->parent)
        if (a->pager_root)
            return true;
    return false;
}

zx_status_t cow_zero_range_locked(struct cow_node *n, uint64_t start, uint64_t end) {
    ASSERT_MUTEX_HELD(&n->tree->lock);
    ASSERT(!n->hidden && !n->pager_root && IS_ALIGNED(start, P) && IS_ALIGNED(end, P) &&
           end <= n->size);
    // Below a pager root, what shows through a gap may be missing rather than zero (and
    // supplied with content later): hide it whatever the walk finds.
    bool below_root = cow_below_pager_root(n);
    // [lim, end) sees no ancestor: dropping n's own content is enough.
    uint64_t lim = start;
    if (n->parent)
        lim = MAX(start, MIN(end, n->parent_limit));
    if (lim < end) {
        zx_status_t st = vmpl_clear_range(&n->pages, lim, end, release_free, n->tree);
        if (st != ZX_OK)
            return st;
    }
    uint64_t cur = start;
    while (cur < lim) {
        struct zero_scan z = {.n = n, .below_root = below_root};
        (void)vmpl_remove_range_and_gaps(&n->pages, cur, lim, zero_slot_cb, zero_gap_cb, &z);
        if (!z.gap)
            break;
        cur = z.gap_e;
        if (!below_root && !cow_range_sees_parent_content_locked(n, z.gap_s, z.gap_e))
            continue;
        // Hide the ancestors' content over the whole gap with one interval, then drop n's share
        // of what it reached there (walking from the parent: n's new interval would stop a walk
        // starting at n).
        zx_status_t st = vmpl_add_zero_interval(&n->pages, z.gap_s, z.gap_e, VMPL_DIRTY_UNTRACKED);
        if (st != ZX_OK)
            return st;
        n->has_intervals = true;
        struct dec_ctx c = {n->tree, NULL};
        cow_assert_held(n->parent);
        st = cow_walk_locked(n->parent, z.gap_s + n->parent_offset, z.gap_e + n->parent_offset,
                             true, dec_visit, &c);
        ASSERT(st == ZX_OK);
    }
    return ZX_OK;
}

zx_status_t cow_resize_locked(struct cow_node *n, uint64_t size) {
    ASSERT_MUTEX_HELD(&n->tree->lock);
    ASSERT(!n->hidden && IS_ALIGNED(size, P));
    if (size >= n->size) {
        n->size = size;  // growth reads zero: parent_limit was clamped when the node shrank
        return ZX_OK;
    }
    // Cut an interval crossing the new end now, so that clearing below cannot fail after the
    // share counts have changed.
    if (n->has_intervals && size > 0 && vmpl_is_offset_in_interval(&n->pages, size) &&
        vmpl_is_offset_in_interval(&n->pages, size - P)) {
        vmpl_slot_t *slot;
        zx_status_t st = vmpl_lookup_or_alloc(&n->pages, size, VMPL_SPLIT_INTERVAL, &slot, NULL);
        if (st != ZX_OK)
            return ZX_ERR_NO_MEMORY;
    }
    if (n->parent && size < n->parent_limit) {
        cow_release_reach_locked(n, size, n->parent_limit, NULL);
        n->parent_limit = size;
        n->skip_gen = 0;  // its range may reach past the new limit
    }
    zx_status_t st = vmpl_clear_range(&n->pages, size, n->size, release_free, n->tree);
    ASSERT_MSG(st == ZX_OK, "clear past the new end: %d", st);
    n->size = size;
    // A pager root's clones read zero past its new end, even if it grows again (their windows
    // were clamped; none of them counted its pages).
    bool clamped = false;
    list_for_each(&n->children, it) {
        struct cow_node *c = containerof(it, struct cow_node, sibling);
        uint64_t lim = c->parent_offset >= size ? 0 : MIN(c->parent_limit, size - c->parent_offset);
        clamped |= lim != c->parent_limit;
        c->parent_limit = lim;
    }
    // A skip below (vm/cow_skip.c) may claim the old windows: drop every skip of the tree.
    if (clamped)
        n->tree->skip_gen++;
    return ZX_OK;
}

// --- Snapshots ---

void cow_snapshot_locked(struct cow_node *n, uint64_t offset, uint64_t limit, uint64_t child_size,
                         struct cow_node *child, struct cow_node *hidden, bool *out_used_hidden) {
    ASSERT_MUTEX_HELD(&n->tree->lock);
    ASSERT(!n->hidden);
    struct cow_tree *t = n->tree;
    *out_used_hidden = false;
    child->size = child_size;
    // Hang as high as possible: climb while the current node owns nothing in the window (never
    // past a pager root, whose Empty slots are missing, not nothing).
    struct cow_node *cur = n;
    uint64_t co = offset, cl = limit;
    while (cl > 0 && !cur->pager_root && !vmpl_any_in_range(&cur->pages, co, co + cl)) {
        if (!cur->parent || co >= cur->parent_limit) {
            cl = 0;  // nothing above either: the snapshot is all zeros
            break;
        }
        cl = MIN(cl, cur->parent_limit - co);
        co += cur->parent_offset;
        cur = cur->parent;
    }
    cow_node_link(child);
    if (cl == 0)
        return;  // a root of its own (same tree: the VMOs stay parent and child)
    if (cur->pager_root) {
        // An AT_LEAST_ON_WRITE clone of a pager VMO: it sees the root through its window and
        // copies what it writes; the root's pages keep count 0 and stay in place.
        child->parent = cur;
        child->parent_offset = co;
        child->parent_limit = cl;
        child->maps_foreign = true;  // its mappings will show the root's pages
        vmpl_set_skew(&child->pages, vmpl_skew(&cur->pages), co);
        list_add_tail(&cur->children, &child->sibling);
        cur->child_count++;
        return;
    }
    if (!cur->hidden) {
        // n owns content in the window: its list moves into `hidden`, which takes n's place.
        ASSERT(cur == n);
        hidden->hidden = true;
        hidden->size = n->size;
        hidden->pages = n->pages;
        cow_swap_ids(n, hidden);  // the list keeps its identity: no backlink changes
        hidden->base = n->base;
        cow_tree_assert_held(t);
        cow_inflight_moved_locked(t, n, hidden, 0);
        hidden->has_intervals = n->has_intervals;
        hidden->parent = n->parent;
        hidden->parent_offset = n->parent_offset;
        hidden->parent_limit = n->parent_limit;
        if (n->parent)
            cow_replace_child(n, hidden);
        // Same place, same windows above: n's skip is hidden's now; n's parent is hidden.
        hidden->skip_to = n->skip_to;
        hidden->skip_lo = n->skip_lo;
        hidden->skip_hi = n->skip_hi;
        hidden->skip_delta = n->skip_delta;
        hidden->skip_gen = n->skip_gen;
        n->skip_gen = 0;
        vmpl_init(&n->pages);
        vmpl_set_skew(&n->pages, vmpl_skew(&hidden->pages), 0);
        n->base = 0;
        n->has_intervals = false;
        n->maps_foreign = true;  // n's mappings now show pages of the hidden node
        n->parent = hidden;
        n->parent_offset = 0;
        n->parent_limit = n->size;
        list_add_tail(&hidden->children, &n->sibling);
        hidden->child_count = 1;
        cow_node_link(hidden);
        *out_used_hidden = true;
        cur = hidden;
    }
    child->parent = cur;
    child->parent_offset = co;
    child->parent_limit = cl;
    vmpl_set_skew(&child->pages, vmpl_skew(&cur->pages), co);
    list_add_tail(&cur->children, &child->sibling);
    cur->child_count++;
    if (cur->merge_pending) {
        cur->merge_pending = false;
        t->pending_merges--;
    }
    // The child reaches every page of cur in the window (its list is empty): one more sharer.
    // O(1) when cur has nothing outside the window (a whole-VMO snapshot), else per page.
    if (!vmpl_any_in_range(&cur->pages, 0, co) &&
        !vmpl_any_in_range(&cur->pages, co + cl, VMPL_MAX_SIZE))
        cur->base++;
    else
        (void)vmpl_for_each(&cur->pages, co, co + cl, inc_slot_cb, NULL);
    // And every ancestor page visible through cur's gaps in the window.
    if (cur->parent) {
        cow_assert_held(cur);
        zx_status_t st = cow_walk_locked(cur, co, co + cl, false, inc_visit, NULL);
        ASSERT(st == ZX_OK);
    }
}

// --- Leaf death and merges ---

struct merge_ctx {
    struct cow_node *from, *to;
};

static void merge_migrate(vmpl_slot_t *slot, uint64_t offset, void *ctx) {
    struct merge_ctx *m = ctx;
    if (!vmpl_slot_is_page_or_ref(*slot))
        return;
    uint32_t eff = *cow_slot_count(*slot) + m->from->base;
    DEBUG_ASSERT(m->to->hidden || eff == 0);
    *cow_slot_count(*slot) = eff - m->to->base;
    if (vmpl_slot_is_ref(*slot) && cow_slot_zpage(*slot)->state == COW_ZPAGE_IN_FLIGHT) {
        struct cow_inflight *f = cow_slot_zpage(*slot)->inflight;
        f->node = m->to;
        f->offset = offset - m->to->parent_offset;
    }
    if (vmpl_slot_is_page(*slot)) {
        cow_assert_held(m->to);  // a vmpl callback: the merge holds the tree lock
        cow_page_set_backlink(m->to, vmpl_slot_page(*slot), offset - m->to->parent_offset);
    }
}

static void merge_release(vmpl_slot_t content, uint64_t offset, void *ctx) {
    // Every page the surviving child cannot reach was freed when its last sharer left.
    ASSERT_MSG(!vmpl_slot_is_page_or_ref(content), "unreachable page at %#llx survived",
               (unsigned long long)offset);
}

// Merges hidden `p`, left with one child, into that child, which takes p's place. On
// ZX_ERR_NO_MEMORY (cutting an interval of p around the child's content) p stays as it is,
// marked merge_pending, and the merge is retried later. Counts must be exact on entry.
static void cow_merge_locked(struct cow_node *p) REQUIRES(p->tree->lock) {
    ASSERT_MUTEX_HELD(&p->tree->lock);
    ASSERT(p->hidden && p->child_count == 1);
    struct cow_tree *t = p->tree;
    struct cow_node *x = containerof(p->children.next, struct cow_node, sibling);
    if (x->parent_limit == 0) {
        // The child sees nothing of p: p's content is unreachable (its pages were freed when
        // their last sharer left; markers and intervals are just dropped).
        vmpl_remove_all(&p->pages, merge_release, NULL);
    } else if (vmpl_is_empty(&x->pages) && x->parent_offset == 0 &&
        !vmpl_any_in_range(&p->pages, x->parent_limit, VMPL_MAX_SIZE)) {
        // The child has nothing of its own and sees all of p: take p's list whole, base and all.
        DEBUG_ASSERT(vmpl_skew(&x->pages) == vmpl_skew(&p->pages));
        vmpl_destroy(&x->pages);
        x->pages = p->pages;
        cow_swap_ids(x, p);  // the list keeps its identity: no backlink changes
        vmpl_init(&p->pages);
        x->base = p->base;
        cow_tree_assert_held(t);
        cow_inflight_moved_locked(t, p, x, 0);
    } else {
        struct merge_ctx m = {p, x};
        zx_status_t st =
            vmpl_merge_onto(&p->pages, &x->pages, x->parent_offset,
                            x->parent_offset + x->parent_limit, merge_migrate, merge_release, &m);
        if (st != ZX_OK) {
            if (!p->merge_pending) {
                p->merge_pending = true;
                t->pending_merges++;
            }
            return;
        }
    }
    x->has_intervals |= p->has_intervals;
    // x now sees, through p's old window into p's parent, what p saw. (With a zero-length window
    // the offset only keeps the skew relation; it may wrap, which keeps it too.)
    if (p->parent) {
        uint64_t lim = x->parent_offset >= p->parent_limit
                           ? 0
                           : MIN(x->parent_limit, p->parent_limit - x->parent_offset);
        x->parent_offset += p->parent_offset;  // no overflow when lim > 0 (windows nest)
        x->parent_limit = lim;
        cow_replace_child(p, x);
    } else {
        list_delete(&x->sibling);
        x->parent_offset = 0;
        x->parent_limit = 0;
    }
    x->parent = p->parent;
    p->child_count = 0;
    // x gained p's content and a new parent: its own skip goes, and so does every skip that may
    // pass through x or end at p (only x's descendants' can).
    x->skip_gen = 0;
    if (x->child_count > 0)
        t->skip_gen++;
    list_init(&p->children);
    cow_node_unlink_and_free(p);
}

struct comp_ctx {
    struct cow_node *leaf;  // its content's offsets, translated into the parent's
    struct cow_node *parent;
    uint64_t open_start;    // a Start seen without its End (or UINT64_MAX)
};

// +1 on the parent's pages in [s, e) of the parent's offsets.
static void comp_range(struct cow_node *parent, uint64_t s, uint64_t e) {
    if (s < e)
        (void)vmpl_for_each(&parent->pages, s, e, inc_slot_cb, NULL);
}

static zx_status_t comp_slot_cb(vmpl_slot_t *slot, uint64_t offset, void *ctx) {
    struct comp_ctx *c = ctx;
    uint64_t po = offset + c->leaf->parent_offset;
    if (!vmpl_slot_is_interval(*slot)) {
        comp_range(c->parent, po, po + P);
        return ZX_ERR_NEXT;
    }
    switch (vmpl_slot_sentinel(*slot)) {
    case VMPL_SENTINEL_START:
        c->open_start = po;
        break;
    case VMPL_SENTINEL_END:
        comp_range(c->parent, c->open_start == UINT64_MAX ? c->leaf->parent_offset : c->open_start,
                   po + P);
        c->open_start = UINT64_MAX;
        break;
    case VMPL_SENTINEL_SLOT:
        comp_range(c->parent, po, po + P);
        break;
    }
    return ZX_ERR_NEXT;
}

// Undoes, on parent's pages that `leaf` does not reach, the -1 of a parent->base-- (the leaf
// is leaving): pages outside its window and pages under its own content.
static void cow_compensate_locked(struct cow_node *parent, struct cow_node *leaf)
    REQUIRES(parent->tree->lock) {
    ASSERT_MUTEX_HELD(&parent->tree->lock);
    uint64_t ws = leaf->parent_offset, we = leaf->parent_offset + leaf->parent_limit;
    comp_range(parent, 0, ws);
    comp_range(parent, we, VMPL_MAX_SIZE);
    struct comp_ctx c = {leaf, parent, UINT64_MAX};
    (void)vmpl_for_each(&leaf->pages, 0, leaf->parent_limit, comp_slot_cb, &c);
    if (c.open_start != UINT64_MAX)
        comp_range(parent, c.open_start, we);
}

bool cow_node_release_locked(struct cow_node *n) {
    ASSERT_MUTEX_HELD(&n->tree->lock);
    ASSERT(!n->hidden && n->child_count == 0 && list_is_empty(&n->vmos));
    struct cow_tree *t = n->tree;
    struct cow_node *p = n->parent;
    if (p) {
        // Fast path (a snapshot closed while the VMO it was taken of never wrote since): the
        // other child x is visible, owns nothing and sees all of p, so every page of p stays
        // reachable and ends with count 0: drop n's share by lowering p's base, undo that for
        // the pages n did not reach (O(n's own content)), and merge by taking p's list whole.
        struct cow_node *x = NULL;
        if (p->hidden && p->child_count == 2) {
            list_for_each(&p->children, it) {
                struct cow_node *c = containerof(it, struct cow_node, sibling);
                if (c != n)
                    x = c;
            }
        }
        bool fast = x && !x->hidden && vmpl_is_empty(&x->pages) && x->parent_offset == 0 &&
                    !vmpl_any_in_range(&p->pages, x->parent_limit, VMPL_MAX_SIZE);
        if (fast) {
            if (p->parent)
                cow_release_reach_locked(n, 0, n->parent_limit, p);
            p->base--;
            cow_assert_held(p);
            cow_compensate_locked(p, n);
        } else {
            cow_release_reach_locked(n, 0, n->parent_limit, NULL);
        }
        list_delete(&n->sibling);
        p->child_count--;
    }
    vmpl_remove_all(&n->pages, release_free, t);
    n->parent = NULL;
    cow_node_unlink_and_free(n);
    // Hidden ancestors left with no child are unreachable (empty of pages by now): free them;
    // the first one left with one child merges into it.
    while (p) {
        if (!p->hidden || p->child_count >= 2)
            break;  // a pager root stays with its VMO, children or not
        if (p->child_count == 1) {
            cow_assert_held(p);
            cow_merge_locked(p);
            break;
        }
        struct cow_node *up = p->parent;
        vmpl_remove_all(&p->pages, release_free, t);
        if (up) {
            list_delete(&p->sibling);
            up->child_count--;
        }
        cow_node_unlink_and_free(p);
        p = up;
    }
    return t->node_count == 0;
}

void cow_tree_retry_merges_locked(struct cow_tree *tree) {
    ASSERT_MUTEX_HELD(&tree->lock);
    if (tree->pending_merges == 0)
        return;
    struct list_node *it = tree->nodes.next;
    while (it != &tree->nodes) {
        struct cow_node *n = containerof(it, struct cow_node, tree_link);
        it = it->next;
        if (n->merge_pending && n->child_count == 1) {
            // The merge frees n and moves its child; `it` may be that child: still valid.
            cow_assert_held(n);
            cow_merge_locked(n);
        }
    }
}

// --- Attribution ---

struct attr_ctx {
    struct cow_node *n;
    struct cow_attribution *a;
};

// Adds one page shared `sharers` ways: P / sharers bytes, the remainder as an exact 63-bit
// fraction floor(r * 2^63 / sharers) (docs/abi.md §3: three ways leave 0x2aaaaaaaaaaaaaaa),
// computed as a two-step long division so that nothing needs 128 bits.
static void add_scaled(uint64_t *bytes, uint64_t *frac, uint32_t sharers) {
    uint64_t q = P / sharers, r = P % sharers;
    *bytes += q;
    if (r) {
        uint64_t hi = (r << 31) / sharers, rem = (r << 31) % sharers;  // r < sharers <= 2^32
        *frac += (hi << 32) + (rem << 32) / sharers;
        if (*frac >= ((uint64_t)1 << 63)) {
            *frac -= (uint64_t)1 << 63;
            *bytes += 1;
        }
    }
}

static zx_status_t attr_visit(void *ctx, struct cow_node *owner, uint64_t owner_offset,
                              vmpl_slot_t *slot, uint64_t offset) {
    struct attr_ctx *c = ctx;
    struct cow_attribution *a = c->a;
    if (owner != c->n && owner->pager_root)
        return ZX_ERR_NEXT;  // the pager VMO's own: attributed to it alone
    bool page = vmpl_slot_is_page(*slot);
    if (page)
        a->committed_bytes += P;
    a->populated_bytes += P;
    uint32_t sharers = owner == c->n ? 1 : cow_slot_share_count(owner, *slot) + 1;
    if (sharers == 1) {
        if (page) {
            a->private_bytes += P;
            a->scaled_bytes += P;
        }
        a->populated_private_bytes += P;
        a->populated_scaled_bytes += P;
    } else {
        if (page)
            add_scaled(&a->scaled_bytes, &a->scaled_frac, sharers);
        add_scaled(&a->populated_scaled_bytes, &a->populated_scaled_frac, sharers);
    }
    return ZX_ERR_NEXT;
}

void cow_attribution_locked(struct cow_node *n, uint64_t start, uint64_t end,
                            struct cow_attribution *out) {
    ASSERT_MUTEX_HELD(&n->tree->lock);
    *out = (struct cow_attribution){0};
    struct attr_ctx c = {n, out};
    zx_status_t st = cow_walk_locked(n, start, end, true, attr_visit, &c);
    ASSERT(st == ZX_OK);
}

struct task_stats_ctx {
    struct cow_node *n;
    uint32_t procs;
    struct cow_task_stats *s;
};

static zx_status_t task_stats_visit(void *ctx, struct cow_node *owner, uint64_t owner_offset,
                                    vmpl_slot_t *slot, uint64_t offset) {
    struct task_stats_ctx *c = ctx;
    if (!vmpl_slot_is_page(*slot) || (owner != c->n && owner->pager_root))
        return ZX_ERR_NEXT;
    uint64_t sharers = owner == c->n ? 1 : (uint64_t)cow_slot_share_count(owner, *slot) + 1;
    sharers *= c->procs;
    if (sharers == 1) {
        c->s->private_bytes += P;
        return ZX_ERR_NEXT;
    }
    c->s->shared_bytes += P;
    // add_scaled needs sharers <= 2^32: past that a share is under a millionth of a byte.
    add_scaled(&c->s->scaled_bytes, &c->s->scaled_frac,
               sharers > UINT32_MAX ? UINT32_MAX : (uint32_t)sharers);
    return ZX_ERR_NEXT;
}

void cow_task_stats_locked(struct cow_node *n, uint64_t start, uint64_t end, uint32_t procs,
                           struct cow_task_stats *out) {
    ASSERT_MUTEX_HELD(&n->tree->lock);
    ASSERT(procs >= 1);
    struct task_stats_ctx c = {n, procs, out};
    zx_status_t st = cow_walk_locked(n, start, end, true, task_stats_visit, &c);
    ASSERT(st == ZX_OK);
}

// --- Checking ---

#define CHECK(cond, ...)                                       \
    do {                                                       \
        if (!(cond)) {                                         \
            kprintf("cow_check_tree: %s: ", #cond);            \
            kprintf(__VA_ARGS__);                              \
            kprintf("\n");                                     \
            ok = false;                                        \
            goto out;                                          \
        }                                                      \
    } while (0)

#define SEEN_FLAG 0x80  // vm_page_t.flags bit the checker borrows (restored before it returns)

struct check_ctx {
    struct cow_tree *tree;
    struct cow_node *node;
    size_t pages, zpages;
    bool ok;
    bool clear;  // second pass: clear the scratch fields
};

static zx_status_t check_zpage(struct check_ctx *c, struct cow_zpage *z, uint64_t offset) {
    if (c->clear) {
        z->check_seen = 0;
        z->check_reach = 0;
        return ZX_ERR_NEXT;
    }
    bool state_ok = z->state == COW_ZPAGE_COMPRESSED ||
                    (z->state == COW_ZPAGE_IN_FLIGHT && !z->inflight->abandoned &&
                     z->inflight->z == z);
    if (z->object != (uint64_t)(uintptr_t)c->tree || z->check_seen || !state_ok) {
        kprintf("cow_check_tree: compressed page %p at %#llx of node %p: state %u owner %#llx "
                "seen %d\n", (void *)z, (unsigned long long)offset, (void *)c->node, z->state,
                (unsigned long long)z->object, z->check_seen);
        c->ok = false;
        return ZX_ERR_STOP;
    }
    z->check_seen = 1;
    z->check_reach = 0;
    c->zpages++;
    return ZX_ERR_NEXT;
}

static zx_status_t check_page_cb(vmpl_slot_t *slot, uint64_t offset, void *ctx) {
    struct check_ctx *c = ctx;
    if (vmpl_slot_is_ref(*slot))
        return check_zpage(c, cow_slot_zpage(*slot), offset);
    if (!vmpl_slot_is_page(*slot))
        return ZX_ERR_NEXT;
    vm_page_t *p = vmpl_slot_page(*slot);
    if (c->clear) {
        p->flags &= (uint8_t)~SEEN_FLAG;
        p->reserved = 0;
        return ZX_ERR_NEXT;
    }
    bool link_ok = p->vmo.owner == c->node->id && c->node->id->node == c->node &&
                   c->node->id->tree == c->tree &&
                   (offset >= VM_PAGE_BACKLINK_LIMIT ? p->queue == PQ_UNRECLAIMABLE
                                                     : vm_page_backlink_offset(p) == offset);
    // A pager root's pages are of the pager class (evicted), every other node's anonymous.
    bool class_ok = pq_is_pager_page(p) == c->node->pager_root;
    if (p->state != PAGE_STATE_VMO || !link_ok || p->queue == PQ_NONE || !class_ok ||
        (p->flags & SEEN_FLAG)) {
        kprintf("cow_check_tree: page %p at %#llx of node %p: state %u backlink %p+%#llx "
                "queue %u pager class %d seen %d\n",
                (void *)p, (unsigned long long)offset, (void *)c->node, p->state,
                (void *)p->vmo.owner, (unsigned long long)vm_page_backlink_offset(p), p->queue,
                pq_is_pager_page(p), !!(p->flags & SEEN_FLAG));
        c->ok = false;
        return ZX_ERR_STOP;
    }
    p->flags |= SEEN_FLAG;
    p->reserved = 0;
    c->pages++;
    return ZX_ERR_NEXT;
}

// The checker's reach counter of a page or reference.
static uint16_t *reach_counter(vmpl_slot_t slot) {
    if (vmpl_slot_is_page(slot))
        return &vmpl_slot_page(slot)->reserved;
    return &cow_slot_zpage(slot)->check_reach;
}

static zx_status_t reach_visit(void *ctx, struct cow_node *owner, uint64_t owner_offset,
                               vmpl_slot_t *slot, uint64_t offset) {
    uint16_t *r = reach_counter(*slot);
    if (*r < UINT16_MAX)
        (*r)++;
    return ZX_ERR_NEXT;
}

struct count_check {
    struct cow_node *node;
    bool ok;
};

static zx_status_t count_check_cb(vmpl_slot_t *slot, uint64_t offset, void *ctx) {
    struct count_check *c = ctx;
    if (!vmpl_slot_is_page_or_ref(*slot))
        return ZX_ERR_NEXT;
    uint32_t eff = cow_slot_share_count(c->node, *slot);
    uint16_t reach = *reach_counter(*slot);
    bool good = c->node->hidden ? (reach >= 1 && eff == (uint32_t)reach - 1u) : eff == 0;
    if (!good) {
        kprintf("cow_check_tree: %s node %p offset %#llx: share count %u, reached by %u\n",
                c->node->hidden ? "hidden" : "visible", (void *)c->node,
                (unsigned long long)offset, eff, reach);
        c->ok = false;
        return ZX_ERR_STOP;
    }
    return ZX_ERR_NEXT;
}

bool cow_check_tree_locked(struct cow_tree *t) {
    ASSERT_MUTEX_HELD(&t->lock);
    bool ok = true;
    size_t nodes = 0, pending = 0;
    struct check_ctx cc = {.tree = t, .ok = true};
    list_for_each(&t->nodes, it) {
        struct cow_node *n = containerof(it, struct cow_node, tree_link);
        nodes++;
        CHECK(n->tree == t, "node %p", (void *)n);
        CHECK(vmpl_check(&n->pages), "node %p list", (void *)n);
        size_t kids = 0;
        list_for_each(&n->children, ci) {
            struct cow_node *c = containerof(ci, struct cow_node, sibling);
            CHECK(c->parent == n, "child %p of %p has parent %p", (void *)c, (void *)n,
                  (void *)c->parent);
            kids++;
        }
        CHECK(kids == n->child_count, "node %p: %zu children listed, count %zu", (void *)n, kids,
              n->child_count);
        if (n->hidden) {
            CHECK(list_is_empty(&n->vmos), "hidden node %p shown by a VMO", (void *)n);
            CHECK(kids >= 2 || (kids == 1 && n->merge_pending),
                  "hidden node %p has %zu children", (void *)n, kids);
        } else {
            CHECK(kids == 0 || n->pager_root, "visible node %p has %zu children", (void *)n,
                  kids);
            CHECK(!n->merge_pending, "visible node %p", (void *)n);
        }
        if (n->merge_pending)
            pending++;
        CHECK(!vmpl_any_in_range(&n->pages, n->size, VMPL_MAX_SIZE),
              "node %p holds content past its size %#llx", (void *)n,
              (unsigned long long)n->size);
        if (n->parent) {
            struct cow_node *p = n->parent;
            CHECK(p->hidden || p->pager_root, "node %p has a visible parent %p", (void *)n,
                  (void *)p);
            CHECK(!n->pager_root, "pager root %p has a parent", (void *)n);
            // (A window of length 0 may start anywhere: a merge can leave one past the end.)
            CHECK(n->parent_limit == 0 ||
                      (n->parent_offset <= p->size &&
                       n->parent_limit <= p->size - n->parent_offset),
                  "node %p window [%#llx, +%#llx) outside parent size %#llx", (void *)n,
                  (unsigned long long)n->parent_offset, (unsigned long long)n->parent_limit,
                  (unsigned long long)p->size);
            CHECK(n->parent_limit <= n->size, "node %p limit %#llx past its size %#llx",
                  (void *)n, (unsigned long long)n->parent_limit, (unsigned long long)n->size);
            CHECK(vmpl_skew(&n->pages) ==
                      (vmpl_skew(&p->pages) + n->parent_offset) % VMPL_NODE_SPAN,
                  "node %p skew", (void *)n);
            bool listed = false;
            list_for_each(&p->children, ci) {
                if (ci == &n->sibling)
                    listed = true;
            }
            CHECK(listed, "node %p not in its parent's children", (void *)n);
        }
        cow_assert_held(n);
        CHECK(cow_skip_check_locked(n), "node %p skip", (void *)n);
        cc.node = n;
        (void)vmpl_for_each(&n->pages, 0, VMPL_MAX_SIZE, check_page_cb, &cc);
        CHECK(cc.ok, "node %p pages", (void *)n);
    }
    CHECK(nodes == t->node_count, "%zu nodes listed, count %zu", nodes, t->node_count);
    CHECK(pending == t->pending_merges, "%zu pending merges, count %zu", pending,
          t->pending_merges);
    CHECK(cc.pages == t->pages, "%zu pages in lists, count %zu", cc.pages, t->pages);
    CHECK(cc.zpages == t->zpages, "%zu compressed pages in lists, count %zu", cc.zpages,
          t->zpages);
    CHECK(cow_inflight_check_locked(t), "in-flight compressions");
    // Reach of every page: each visible node walks what it sees above itself.
    list_for_each(&t->nodes, it) {
        struct cow_node *n = containerof(it, struct cow_node, tree_link);
        if (!n->hidden && n->parent) {
            cow_assert_held(n);
            zx_status_t st = cow_walk_locked(n, 0, n->parent_limit, false, reach_visit, NULL);
            CHECK(st == ZX_OK, "walk %d", st);
        }
    }
    list_for_each(&t->nodes, it) {
        struct count_check c = {containerof(it, struct cow_node, tree_link), true};
        (void)vmpl_for_each(&c.node->pages, 0, VMPL_MAX_SIZE, count_check_cb, &c);
        CHECK(c.ok, "node %p counts", (void *)c.node);
    }
out:
    cc.clear = true;
    list_for_each(&t->nodes, it) {
        struct cow_node *n = containerof(it, struct cow_node, tree_link);
        (void)vmpl_for_each(&n->pages, 0, VMPL_MAX_SIZE, check_page_cb, &cc);
    }
    return ok;
}

static zx_status_t count_pages_cb(vmpl_slot_t *slot, uint64_t offset, void *ctx) {
    if (vmpl_slot_is_page(*slot))
        (*(size_t *)ctx)++;
    return ZX_ERR_NEXT;
}

size_t cow_tree_count_pages_locked(struct cow_tree *tree) {
    ASSERT_MUTEX_HELD(&tree->lock);
    size_t pages = cow_inflight_pages_locked(tree);  // owned by the tree's compressions
    list_for_each(&tree->nodes, it) {
        struct cow_node *n = containerof(it, struct cow_node, tree_link);
        (void)vmpl_for_each(&n->pages, 0, VMPL_MAX_SIZE, count_pages_cb, &pages);
    }
    return pages;
}

size_t cow_node_depth_locked(const struct cow_node *n) {
    ASSERT_MUTEX_HELD(&n->tree->lock);
    size_t d = 0;
    for (const struct cow_node *c = n->parent; c; c = c->parent)
        d++;
    return d;
}

size_t cow_tree_hidden_count_locked(const struct cow_tree *tree) {
    ASSERT_MUTEX_HELD(&tree->lock);
    size_t h = 0;
    list_for_each(&tree->nodes, it) {
        if (containerof(it, struct cow_node, tree_link)->hidden)
            h++;
    }
    return h;
}
