// Compressing clone-tree pages into reference slots and back (contract: vm/cow_compress.h).
#include "vm/cow_compress.h"

#include "kernel/assert.h"
#include "kernel/heap.h"
#include "kernel/printf.h"
#include "kernel/string.h"
#include "vm/cow_pages_priv.h"
#include "vm/page_queues.h"
#include "vm/pmm.h"

#define P ((uint64_t)PAGE_SIZE)

bool cow_compress_recheck = true;

static const struct cow_codec default_codec = {
    .compress = compressor_compress,
    .decompress = compressor_decompress,
    .free = compressor_free,
};
static const struct cow_codec *codec = &default_codec;

void cow_compress_set_codec(const struct cow_codec *c) {
    codec = c ? c : &default_codec;
}

// --- References ---

void cow_zpage_drop_locked(struct cow_tree *t, struct cow_zpage *z) {
    ASSERT_MUTEX_HELD(&t->lock);
    DEBUG_ASSERT(z->object == (uint64_t)(uintptr_t)t);
    ASSERT(t->zpages > 0);
    t->zpages--;
    if (z->state == COW_ZPAGE_IN_FLIGHT) {
        // The compressor still reads the page and owns both: it frees them when it finishes.
        z->inflight->abandoned = true;
        return;
    }
    ASSERT(z->state == COW_ZPAGE_COMPRESSED);
    codec->free(z->zref);
    kfree(z);
}

void cow_zpage_read_locked(struct cow_tree *t, const struct cow_zpage *z, void *kva) {
    ASSERT_MUTEX_HELD(&t->lock);
    if (z->state == COW_ZPAGE_IN_FLIGHT) {
        page_copy(kva, vm_page_kva(z->inflight->page));
        return;
    }
    zx_status_t st = codec->decompress(z->zref, kva);
    ASSERT_MSG(st == ZX_OK, "decompressing reference %#llx: %d", (unsigned long long)z->zref, st);
}

zx_status_t cow_slot_decompress_locked(struct cow_node *owner, vmpl_slot_t *slot, uint64_t offset,
                                       vm_page_t **out) {
    struct cow_tree *t = owner->tree;
    ASSERT_MUTEX_HELD(&t->lock);
    struct cow_zpage *z = cow_slot_zpage(*slot);
    vm_page_t *p = cow_page_alloc(t);
    if (!p)
        return ZX_ERR_NO_MEMORY;
    cow_tree_assert_held(t);
    cow_zpage_read_locked(t, z, vm_page_kva(p));
    p->vmo.share_count = z->share_count;  // same list, same base
    cow_page_set_backlink(owner, p, offset);
    *slot = vmpl_slot_from_page(p);
    t->pages++;
    cow_zpage_drop_locked(t, z);
    *out = p;
    return ZX_OK;
}

// --- In-flight records ---

void cow_inflight_moved_locked(struct cow_tree *t, struct cow_node *from, struct cow_node *to,
                               uint64_t delta) {
    ASSERT_MUTEX_HELD(&t->lock);
    list_for_each(&t->inflight, it) {
        struct cow_inflight *f = containerof(it, struct cow_inflight, link);
        if (!f->abandoned && f->node == from) {
            f->node = to;
            f->offset -= delta;
        }
    }
}

size_t cow_inflight_pages_locked(struct cow_tree *t) {
    ASSERT_MUTEX_HELD(&t->lock);
    size_t n = 0;
    list_for_each(&t->inflight, it)
        n++;
    return n;
}

bool cow_inflight_check_locked(struct cow_tree *t) {
    ASSERT_MUTEX_HELD(&t->lock);
    list_for_each(&t->inflight, it) {
        struct cow_inflight *f = containerof(it, struct cow_inflight, link);
        if (f->tree != t || f->page->state != PAGE_STATE_VMO) {
            kprintf("cow_inflight_check: record %p: tree %p, page state %u\n", (void *)f,
                    (void *)f->tree, f->page->state);
            return false;
        }
        if (f->abandoned)
            continue;
        cow_assert_held(f->node);
        vmpl_slot_t *s = vmpl_lookup(&f->node->pages, f->offset);
        if (!s || *s != cow_slot_from_zpage(f->z) || f->z->state != COW_ZPAGE_IN_FLIGHT ||
            f->z->inflight != f) {
            kprintf("cow_inflight_check: record %p: node %p offset %#llx does not hold it\n",
                    (void *)f, (void *)f->node, (unsigned long long)f->offset);
            return false;
        }
    }
    return true;
}

// --- Unmapping ---

// Removes every mapping of the page `owner` holds at `offset`: the owner's own VMOs' if it is
// visible; for a hidden owner, those of every visible descendant that may show it (through its
// windows; one that shows only its own page there loses that mapping too, which costs a fault).
static void unmap_everywhere_locked(struct cow_node *owner, uint64_t offset)
    REQUIRES(owner->tree->lock) {
    ASSERT_MUTEX_HELD(&owner->tree->lock);
    if (!owner->hidden) {
        vmo_cow_range_change(owner, offset, P, VM_RANGE_UNMAP);
        return;
    }
    list_for_each(&owner->tree->nodes, it) {
        struct cow_node *v = containerof(it, struct cow_node, tree_link);
        cow_assert_held(v);
        if (v->hidden || !v->maps_foreign)
            continue;
        uint64_t delta = 0;
        struct cow_node *c = v;
        while (c->parent && c != owner) {
            delta += c->parent_offset;
            c = c->parent;
        }
        if (c != owner || offset < delta)
            continue;
        uint64_t vo = offset - delta, o = vo;
        bool inside = vo < v->size;
        for (c = v; inside && c != owner; c = c->parent) {
            inside = o < c->parent_limit;
            o += c->parent_offset;
        }
        if (inside)
            vmo_cow_range_change(v, vo, P, VM_RANGE_UNMAP);
    }
}

// Replaces what `slot` of `n` holds at `offset` (a page or a reference, already taken care of by
// the caller) with zero content: a marker where an ancestor shows content or n sees a pager root
// (whose missing page the pager may supply later), else nothing.
static void slot_make_zero_locked(struct cow_node *n, vmpl_slot_t *slot, uint64_t offset)
    REQUIRES(n->tree->lock) {
    ASSERT_MUTEX_HELD(&n->tree->lock);
    if (cow_ancestors_show_content_locked(n, offset))
        *slot = vmpl_slot_marker();
    else
        (void)vmpl_remove(&n->pages, offset);  // returns what the caller already took care of
}

static bool page_is_zero(const void *kva) {
    const uint64_t *w = kva;
    for (size_t i = 0; i < P / sizeof(uint64_t); i++) {
        if (w[i])
            return false;
    }
    return true;
}

// --- Compression ---

zx_status_t cow_compress_begin_locked(struct cow_node *n, uint64_t offset, struct cow_inflight *f) {
    struct cow_tree *t = n->tree;
    ASSERT_MUTEX_HELD(&t->lock);
    // A pager VMO's own pages are evicted, never compressed: their dirty state lives in the
    // page. Its clones' pages are anonymous memory (docs/pager.md, "Memory").
    if (n->pager_root)
        return ZX_ERR_NOT_SUPPORTED;
    vmpl_slot_t *slot = vmpl_lookup(&n->pages, offset);
    if (!slot || !vmpl_slot_is_page(*slot))
        return ZX_ERR_NOT_FOUND;
    struct cow_zpage *z = kmalloc(sizeof(*z));
    if (!z)
        return ZX_ERR_NO_MEMORY;
    vm_page_t *p = vmpl_slot_page(*slot);
    unmap_everywhere_locked(n, offset);
    *z = (struct cow_zpage){
        .object = (uint64_t)(uintptr_t)t,
        .inflight = f,
        .share_count = p->vmo.share_count,
        .state = COW_ZPAGE_IN_FLIGHT,
    };
    *f = (struct cow_inflight){
        .tree = t, .z = z, .page = p, .node = n, .offset = offset, .status = ZX_ERR_BAD_STATE,
    };
    *slot = cow_slot_from_zpage(z);
    pq_remove(p);  // in no list now: its backlink must not be followed
    t->pages--;
    t->zpages++;
    list_add_tail(&t->inflight, &f->link);
    return ZX_OK;
}

void cow_compress_run(struct cow_inflight *f) {
    f->zref = ZREF_NONE;
    f->is_zero = false;
    f->status = codec->compress(vm_page_kva(f->page), &f->zref, &f->is_zero);
}

// Test-only (cow_compress_recheck off): installs the result in whatever the slot holds now, as
// a compressor that did not recheck would -- overwriting a page written meanwhile.
static void finish_unchecked_locked(struct cow_inflight *f) REQUIRES(f->tree->lock) {
    struct cow_tree *t = f->tree;
    ASSERT_MUTEX_HELD(&t->lock);
    cow_assert_held(f->node);
    vmpl_slot_t *slot = vmpl_lookup(&f->node->pages, f->offset);
    if (f->status != ZX_OK || f->is_zero || !slot || !vmpl_slot_is_page(*slot)) {
        if (f->status == ZX_OK)
            codec->free(f->zref);
        kfree(f->z);
        return;
    }
    vm_page_t *lost = vmpl_slot_page(*slot);
    if (!f->node->hidden)
        vmo_cow_range_change(f->node, f->offset, P, VM_RANGE_UNMAP);
    f->z->state = COW_ZPAGE_COMPRESSED;
    f->z->zref = f->zref;
    f->z->share_count = lost->vmo.share_count;
    *slot = cow_slot_from_zpage(f->z);
    t->pages--;
    t->zpages++;
    pq_remove(lost);
    pmm_free_page(lost);
}

zx_status_t cow_compress_finish_locked(struct cow_inflight *f, enum cow_compress_result *out) {
    struct cow_tree *t = f->tree;
    ASSERT_MUTEX_HELD(&t->lock);
    list_delete(&f->link);
    struct cow_zpage *z = f->z;
    if (f->abandoned) {
        *out = COW_COMPRESS_ABANDONED;
        if (!cow_compress_recheck) {
            finish_unchecked_locked(f);
        } else {
            if (f->status == ZX_OK)
                codec->free(f->zref);
            kfree(z);
        }
        pmm_free_page(f->page);
        return ZX_OK;
    }
    struct cow_node *n = f->node;
    cow_assert_held(n);
    vmpl_slot_t *slot = vmpl_lookup(&n->pages, f->offset);
    ASSERT(slot && *slot == cow_slot_from_zpage(z) && z->state == COW_ZPAGE_IN_FLIGHT);
    zx_status_t st = ZX_OK;
    if (f->status == ZX_OK && !f->is_zero) {
        z->state = COW_ZPAGE_COMPRESSED;
        z->zref = f->zref;
        pmm_free_page(f->page);
        *out = COW_COMPRESS_STORED;
        return ZX_OK;
    }
    t->zpages--;
    if (f->status == ZX_OK) {
        slot_make_zero_locked(n, slot, f->offset);
        pmm_free_page(f->page);
        *out = COW_COMPRESS_ZERO;
    } else {
        // Did not shrink, or no storage: the page goes back where it was.
        ASSERT_MSG(f->status == ZX_ERR_OUT_OF_RANGE || f->status == ZX_ERR_NO_MEMORY,
                   "compressor: %d", f->status);
        f->page->vmo.share_count = z->share_count;
        cow_page_set_backlink(n, f->page, f->offset);  // back on a queue
        *slot = vmpl_slot_from_page(f->page);
        t->pages++;
        if (f->status == ZX_ERR_OUT_OF_RANGE) {
            f->page->flags |= VM_PAGE_FLAG_COMPRESS_FAILED;
            pq_mark_failed(f->page);
            *out = COW_COMPRESS_FAILED;
        } else {
            st = ZX_ERR_NO_MEMORY;
        }
    }
    kfree(z);
    return st;
}

NO_THREAD_SAFETY_ANALYSIS zx_status_t cow_compress_page_locked(struct cow_node *n, uint64_t offset,
                                                               enum cow_compress_result *out) {
    struct cow_tree *t = n->tree;
    struct cow_inflight f;
    zx_status_t st = cow_compress_begin_locked(n, offset, &f);
    if (st != ZX_OK)
        return st;
    cow_tree_pin_locked(t);
    mutex_release(&t->lock);
    cow_compress_run(&f);
    mutex_acquire(&t->lock);
    st = cow_compress_finish_locked(&f, out);
    t->pins--;  // the caller keeps the tree alive past this call (the contract): never the last
    return st;
}

// --- Zero-page dedup ---

zx_status_t cow_dedup_zero_page_locked(struct cow_node *n, uint64_t offset, bool *out_deduped) {
    struct cow_tree *t = n->tree;
    ASSERT_MUTEX_HELD(&t->lock);
    *out_deduped = false;
    if (n->pager_root)
        return ZX_OK;  // a pager VMO's zero page may be Dirty: it must stay a page
    vmpl_slot_t *slot = vmpl_lookup(&n->pages, offset);
    if (!slot || !vmpl_slot_is_page(*slot))
        return ZX_ERR_NOT_FOUND;
    vm_page_t *p = vmpl_slot_page(*slot);
    if (!page_is_zero(vm_page_kva(p)))
        return ZX_OK;
    // Unmap first: a writer with a stale writable mapping could dirty it after the check. The
    // check is repeated once no mapping can reach it.
    unmap_everywhere_locked(n, offset);
    if (!page_is_zero(vm_page_kva(p)))
        return ZX_OK;
    slot_make_zero_locked(n, slot, offset);
    ASSERT(t->pages > 0);
    t->pages--;
    pq_remove(p);
    pmm_free_page(p);
    *out_deduped = true;
    return ZX_OK;
}
