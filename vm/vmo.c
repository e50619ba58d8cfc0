// The user-visible VMO (contract: vm/vmo.h): argument checks, sizes, content size, names, the
// user-level parent/child relation (num_children, ZERO_CHILDREN), slices, mappings and range
// changes, the shared zero page, attribution. Pages and clone trees are vm/cow_pages.c's.
//
// A VMO shows one node of a clone tree (struct cow_node) at `cow_offset`: 0 for a VMO that owns
// its node (vmo_create, snapshots), the slice offset for a slice (which shares its parent's
// node). Every field below is guarded by the tree lock except the kobject's own.
//
// The shared zero page (PAGE_STATE_ZERO) exists while any VMO does: it is allocated with the
// first VMO and freed with the last, so that page counts return exactly to where they were.
#include "vm/vmo.h"

#include <zircon/rights.h>

#include "arch/x86_64/tlb.h"
#include "kernel/assert.h"
#include "kernel/heap.h"
#include "kernel/mutex.h"
#include "kernel/string.h"
#include "vm/cow_compress.h"
#include "vm/cow_pages.h"
#include "vm/cow_pages_priv.h"
#include "vm/page_source.h"
#include "vm/page_queues.h"
#include "vm/pmm.h"
#include "vm/upcalls.h"
#include "vm/vmar.h"

#define P ((uint64_t)PAGE_SIZE)

// Largest VMO size (bytes): every offset of a page list stays below VMPL_MAX_SIZE.
#define VMO_MAX_SIZE VMPL_MAX_SIZE

#define VMO_F_RESIZABLE (1u << 0)
#define VMO_F_SLICE (1u << 1)
#define VMO_F_COW_CLONE (1u << 2)  // a SNAPSHOT / SNAPSHOT_AT_LEAST_ON_WRITE child
#define VMO_F_CLONE_NODE (1u << 3) // shows a node made by a snapshot (a snapshot or its slices)

struct vmo {
    struct kobject obj;           // ZX_OBJ_TYPE_VMO
    struct cow_tree *tree;
    struct cow_node *cow;         // the node this VMO shows
    uint64_t cow_offset;          // bytes: this VMO's offset 0 in cow's offsets
    uint64_t size;                // bytes, page multiple
    uint64_t content_size;        // bytes, <= size
    uint64_t root_offset;         // bytes: accumulated child offsets up to the first ancestor VMO
    uint32_t flags;               // VMO_F_*
    struct vmo *parent;           // the VMO this one was created from, while it lives (a slice
                                  // holds a reference on it, so for a slice: always)
    zx_koid_t parent_koid;        // 0 for a VMO from vmo_create
    struct vmo *pager_held;       // a clone in a pager VMO's tree: that VMO, held (its node, the
                                  // pager root, must outlive every clone that reads through it)
    struct list_node children;    // VMOs created from this one (vmo.child_link)
    struct list_node child_link;
    size_t num_children;
    size_t num_cow_children;      // of those, snapshots
    struct list_node cow_link;    // in cow->vmos
    struct list_node mappings;    // struct vm_mapping.vmo_node
    size_t num_mappings;
    char name[ZX_MAX_NAME_LEN];
};

// --- The shared zero page ---

static struct mutex zero_lock = MUTEX_INIT(zero_lock, "vmo_zero");
static vm_page_t *zero_page;
static size_t live_vmos;

static zx_status_t zero_page_get(void) {
    mutex_acquire(&zero_lock);
    if (!zero_page) {
        zero_page = pmm_alloc_page(PAGE_STATE_ZERO);
        if (!zero_page) {
            mutex_release(&zero_lock);
            return ZX_ERR_NO_MEMORY;
        }
        page_zero(vm_page_kva(zero_page));
    }
    live_vmos++;
    mutex_release(&zero_lock);
    return ZX_OK;
}

static void zero_page_put(void) {
    mutex_acquire(&zero_lock);
    ASSERT(live_vmos > 0);
    if (--live_vmos == 0) {
        pmm_free_page(zero_page);
        zero_page = NULL;
    }
    mutex_release(&zero_lock);
}

// --- Range changes ---

// Applies `op` to the mappings of every VMO showing visible `n` over [offset, end) of n's offsets.
static void range_change_node(struct cow_node *n, uint64_t offset, uint64_t end,
                              enum vm_range_op op, struct tlb_batch *batch) {
    list_for_each(&n->vmos, it) {
        struct vmo *v = containerof(it, struct vmo, cow_link);
        if (list_is_empty(&v->mappings))
            continue;
        uint64_t s = MAX(offset, v->cow_offset), e = MIN(end, v->cow_offset + v->size);
        if (s >= e)
            continue;
        list_for_each(&v->mappings, mi) {
            struct vm_mapping *m = containerof(mi, struct vm_mapping, vmo_node);
            vm_mapping_range_change(m, s - v->cow_offset, e - s, op, batch);
        }
    }
}

void vmo_cow_range_change(struct cow_node *n, uint64_t offset, uint64_t len,
                          enum vm_range_op op) {
    uint64_t end = offset + len;
    struct tlb_batch batch;  // one shootdown round for every mapping reached
    vm_range_batch_init(&batch);
    range_change_node(n, offset, end, op, &batch);
    // A pager root's clones map its pages (read-only) where they have none of their own: a page
    // of the root that goes or is replaced must leave their page tables too. (Write protection
    // never concerns them: they never map the root's pages writable.)
    if (n->pager_root && n->child_count > 0 && op == VM_RANGE_UNMAP) {
        cow_assert_held(n);
        list_for_each(&n->tree->nodes, it) {
            struct cow_node *d = containerof(it, struct cow_node, tree_link);
            uint64_t delta, lim;
            if (d->hidden || !cow_root_window_locked(n, d, &delta, &lim))
                continue;
            uint64_t s = offset > delta ? offset - delta : 0;
            uint64_t e = end > delta ? MIN(end - delta, lim) : 0;
            if (s < e)
                range_change_node(d, s, e, op, &batch);
        }
    }
    vm_range_batch_finish(&batch);
}

// --- Helpers ---

// The VMO's tree lock under both names clang's analysis sees: v->tree->lock (this file) and
// v->cow->tree->lock (the cow_*_locked functions name it through their node). Invariant: v->cow
// is in v->tree (both set at creation, neither changes); vmo_lock checks it.
#define VMO_TREE_LOCK(v) (v)->tree->lock, (v)->cow->tree->lock
static ALWAYS_INLINE void vmo_lock(struct vmo *v) ACQUIRE(VMO_TREE_LOCK(v));
static ALWAYS_INLINE void vmo_unlock(struct vmo *v) RELEASE(VMO_TREE_LOCK(v));
// After taking `t`'s lock by hand: it is v's tree lock, under both names (as vmo_lock).
static inline void vmo_tree_locked(struct vmo *v, struct cow_tree *t) REQUIRES(t->lock)
    ASSERT_CAPABILITY(VMO_TREE_LOCK(v));
static inline void vmo_tree_locked(struct vmo *v, struct cow_tree *t) {
    ASSERT(v->tree == t && v->cow->tree == t);
}
// Always inline: every fault takes the tree lock here (out of line, a call and a frame each).
NO_THREAD_SAFETY_ANALYSIS static ALWAYS_INLINE void vmo_lock(struct vmo *v) {
    mutex_acquire(&v->tree->lock);
    DEBUG_ASSERT(v->cow->tree == v->tree);
    if (unlikely(v->tree->pending_merges != 0))  // a test, not a call, on every fault
        cow_tree_retry_merges_locked(v->tree);
}

NO_THREAD_SAFETY_ANALYSIS static ALWAYS_INLINE void vmo_unlock(struct vmo *v) {
    mutex_release(&v->tree->lock);
}

// --- Pager-backed VMOs (vm/page_source.h) ---

// Makes [offset, offset + len) of v (clipped to its size) ready for a read or a write: the pager
// has supplied every page (and, for a write to a TRAP_DIRTY VMO, agreed to its dirtying). Tree
// lock held on entry and on return, but ZX_ERR_SHOULD_WAIT says it was dropped to wait: the
// caller checks everything again and retries. ZX_OK at once for VMOs without a pager. Other
// statuses: page_source_prepare_locked's and page_request_wait's.
static zx_status_t vmo_pager_prepare_locked(struct vmo *v, uint64_t offset, uint64_t len,
                                            bool write) REQUIRES(VMO_TREE_LOCK(v));
// A clone's runs of the pager root (cow_pager_reach_locked): every missing run of every one is
// asked for in the same walk, as the root's own accesses do; the access then waits for the first
// request (c->wait holds the one reference) and looks again.
struct clone_prepare {
    struct page_source *src;
    struct page_request *wait;
};

static zx_status_t clone_prepare_run(void *ctx, uint64_t rs, uint64_t re) {
    struct clone_prepare *c = ctx;
    page_source_assert_held(c->src);
    zx_status_t st = page_source_prepare_locked(c->src, rs, re, false, &c->wait);
    return st == ZX_ERR_SHOULD_WAIT ? ZX_OK : st;
}

// page_source_prepare_locked for [start, end) of v's node (page-aligned node offsets): the
// root's own range for a pager VMO (and its slices), or, for a clone of one, the root pages the
// clone sees through its gaps. A clone's access only ever reads the root: its writes copy, and
// never dirty the pager VMO (no DIRTY request, TRAP_DIRTY or not). Never waits.
static zx_status_t vmo_pager_request_locked(struct vmo *v, uint64_t start, uint64_t end,
                                            bool write, struct page_request **out_wait)
    REQUIRES(VMO_TREE_LOCK(v)) {
    struct page_source *src = v->tree->source;
    page_source_assert_held(src);
    struct page_request *wait = NULL;
    zx_status_t st;
    if (v->cow == src->root) {
        st = page_source_prepare_locked(src, start, end, write, &wait);
    } else {
        struct clone_prepare c = {src, NULL};
        st = cow_pager_reach_locked(v->cow, start, end, clone_prepare_run, &c);
        wait = c.wait;
        // Something was asked for: wait for it first, whatever a later run said (as the root's
        // own accesses do).
        if (wait)
            st = ZX_ERR_SHOULD_WAIT;
    }
    *out_wait = wait;
    return st;
}

static zx_status_t vmo_pager_prepare_locked(struct vmo *v, uint64_t offset, uint64_t len,
                                            bool write) {
    ASSERT_MUTEX_HELD(&v->tree->lock);
    struct page_source *src = v->tree->source;
    if (!src || offset >= v->size || len == 0)
        return ZX_OK;
    uint64_t end = len > v->size - offset ? v->size : offset + len;
    struct page_request *r = NULL;
    zx_status_t st = vmo_pager_request_locked(v, v->cow_offset + ROUNDDOWN(offset, P),
                                              v->cow_offset + ROUNDUP(end, P), write, &r);
    if (st != ZX_ERR_SHOULD_WAIT)
        return st;
    vmo_unlock(v);
    st = page_request_wait(src, r);
    vmo_lock(v);
    return st == ZX_OK ? ZX_ERR_SHOULD_WAIT : st;
}

// A write reached page p of v: a pager VMO's page is Dirty now.
static inline void vmo_page_written_locked(struct vmo *v, vm_page_t *p) REQUIRES(VMO_TREE_LOCK(v)) {
    struct page_source *src = v->tree->source;
    if (src && v->cow == src->root) {
        page_source_assert_held(src);
        page_source_page_written_locked(src, p);
    }
}

// May a mapping of v write page p (v's own) without faulting?
static inline bool vmo_page_map_writable_locked(struct vmo *v, const vm_page_t *p) {
    struct page_source *src = v->tree->source;
    return !src || v->cow != src->root || page_source_page_writable(p);
}

zx_status_t vmo_prepare_range(struct vmo *v, uint64_t offset, uint64_t len, bool write) {
    if (!v->tree->source)
        return ZX_OK;  // immutable after creation
    vmo_lock(v);
    zx_status_t st;
    do {
        st = vmo_pager_prepare_locked(v, offset, len, write);
    } while (st == ZX_ERR_SHOULD_WAIT);
    vmo_unlock(v);
    return st;
}

zx_status_t vmo_create_pager_backed(uint64_t size, uint32_t options, struct page_source *src,
                                    struct vmo **out) {
    zx_status_t st = vmo_create(size, options & ZX_VMO_RESIZABLE, out);
    if (st != ZX_OK)
        return st;
    struct vmo *v = *out;
    vmo_lock(v);
    page_source_init(src, v->tree, v->cow);
    v->cow->pager_root = true;
    src->vmo = v;
    src->trap_dirty = (options & ZX_VMO_TRAP_DIRTY) != 0;
    v->tree->source = src;
    vmo_unlock(v);
    return ZX_OK;
}

// Counts the pages leaving a list for a supply, taking them off their page queues.
static zx_status_t take_page_cb(vmpl_slot_t *slot, uint64_t offset, void *ctx) {
    (void)offset;
    if (vmpl_slot_is_page(*slot)) {
        (*(size_t *)ctx)++;
        pq_remove(vmpl_slot_page(*slot));
    }
    return ZX_ERR_NEXT;
}

static zx_status_t find_ref_cb(vmpl_slot_t *slot, uint64_t offset, void *ctx) {
    (void)offset;
    if (!vmpl_slot_is_ref(*slot))
        return ZX_ERR_NEXT;
    *(bool *)ctx = true;
    return ZX_ERR_STOP;
}

struct requeue_ctx {
    struct cow_node *n;
};

static zx_status_t requeue_cb(vmpl_slot_t *slot, uint64_t offset, void *ctx) {
    struct requeue_ctx *rc = ctx;
    cow_assert_held(rc->n);
    if (vmpl_slot_is_page(*slot))
        cow_page_set_backlink(rc->n, vmpl_slot_page(*slot), offset);
    return ZX_ERR_NEXT;
}

zx_status_t vmo_take_pages(struct vmo *v, uint64_t offset, uint64_t len, struct vmpl_splice *out) {
    vmo_lock(v);
    zx_status_t st = ZX_OK;
    // Only a plain VMO's pages can move: nothing else may see them (no clone, slice or parent).
    if (v->tree->source || (v->flags & (VMO_F_SLICE | VMO_F_CLONE_NODE)) || v->num_children > 0 ||
        v->cow->parent || v->cow->vmos.next != &v->cow_link || v->cow->vmos.prev != &v->cow_link) {
        st = ZX_ERR_BAD_STATE;
        goto out;
    }
    if (offset > v->size || len > v->size - offset) {
        st = ZX_ERR_OUT_OF_RANGE;
        goto out;
    }
    // Compressed pages come back first: the pager VMO takes pages only.
    bool refs = false;
    st = vmpl_for_each(&v->cow->pages, offset, offset + len, find_ref_cb, &refs);
    ASSERT(st == ZX_OK);
    for (uint64_t o = offset; refs && o < offset + len; o += P) {
        vm_page_t *p;
        st = cow_lookup_resident_locked(v->cow, o, &p, NULL);
        if (st != ZX_OK)
            goto out;
    }
    size_t pages = 0;
    st = vmpl_for_each(&v->cow->pages, offset, offset + len, take_page_cb, &pages);
    ASSERT(st == ZX_OK);
    if (len > 0)
        vmo_cow_range_change(v->cow, offset, len, VM_RANGE_UNMAP);
    st = vmpl_take(&v->cow->pages, offset, len, out);
    if (st != ZX_OK) {
        // The pages stay: back on their queues.
        struct requeue_ctx rc = {v->cow};
        zx_status_t rst = vmpl_for_each(&v->cow->pages, offset, offset + len, requeue_cb, &rc);
        ASSERT(rst == ZX_OK);
        goto out;
    }
    ASSERT(v->tree->pages >= pages);
    v->tree->pages -= pages;
out:
    vmo_unlock(v);
    return st;
}

struct page_source *vmo_page_source(struct vmo *v) {
    return v->tree->source;
}

// Rounds `size` up to pages: false if that overflows or passes VMO_MAX_SIZE.
static bool round_size(uint64_t size, uint64_t *out) {
    if (size > UINT64_MAX - (P - 1))
        return false;
    uint64_t r = ROUNDUP(size, P);
    if (r > VMO_MAX_SIZE)
        return false;
    *out = r;
    return true;
}

static void vmo_destroy(struct kobject *obj);
static const struct kobject_ops vmo_ops = {.destroy = vmo_destroy};

static struct vmo *vmo_alloc(void) {
    struct vmo *v = kzalloc(sizeof(*v));
    if (!v)
        return NULL;
    list_init(&v->children);
    list_init(&v->mappings);
    return v;
}

// --- Creation and destruction ---

zx_status_t vmo_create(uint64_t size, uint32_t options, struct vmo **out) {
    if (options & ~ZX_VMO_RESIZABLE)
        return ZX_ERR_INVALID_ARGS;
    uint64_t rsize;
    if (!round_size(size, &rsize))
        return ZX_ERR_OUT_OF_RANGE;
    struct vmo *v = vmo_alloc();
    if (!v)
        return ZX_ERR_NO_MEMORY;
    if (zero_page_get() != ZX_OK) {
        kfree(v);
        return ZX_ERR_NO_MEMORY;
    }
    if (cow_tree_create(rsize, &v->tree, &v->cow) != ZX_OK) {
        zero_page_put();
        kfree(v);
        return ZX_ERR_NO_MEMORY;
    }
    v->size = rsize;
    v->content_size = size;
    v->flags = (options & ZX_VMO_RESIZABLE) ? VMO_F_RESIZABLE : 0;
    list_add_tail(&v->cow->vmos, &v->cow_link);
    kobject_init(&v->obj, ZX_OBJ_TYPE_VMO, &vmo_ops);
    kobject_signal(&v->obj, 0, ZX_VMO_ZERO_CHILDREN);
    *out = v;
    return ZX_OK;
}

static void vmo_destroy(struct kobject *obj) {
    struct vmo *v = containerof(obj, struct vmo, obj);
    struct cow_tree *t = v->tree;
    mutex_acquire(&t->lock);
    vmo_tree_locked(v, t);
    ASSERT_MSG(list_is_empty(&v->mappings), "VMO %llu destroyed with %zu mappings",
               (unsigned long long)obj->koid, v->num_mappings);
    struct vmo *parent = v->parent;
    // A slice holds its parent (so the parent, and its parent's ZX_VMO_ZERO_CHILDREN, see it as
    // a live child until the slice goes): drop that reference once the tree is unlocked.
    struct vmo *held = (v->flags & VMO_F_SLICE) ? parent : NULL;
    struct vmo *pager_held = v->pager_held;
    if (parent) {
        list_delete(&v->child_link);
        if (v->flags & VMO_F_COW_CLONE)
            parent->num_cow_children--;
        if (--parent->num_children == 0)
            kobject_signal(&parent->obj, 0, ZX_VMO_ZERO_CHILDREN);
    }
    while (!list_is_empty(&v->children)) {
        struct vmo *c = containerof(list_remove_head(&v->children), struct vmo, child_link);
        c->parent = NULL;
    }
    list_delete(&v->cow_link);
    // The pager VMO goes last (its slices hold it): its page source goes with it.
    struct page_source *src = t->source;
    if (src && src->vmo == v) {
        page_source_assert_held(src);
        page_source_detach_locked(src);
        src->vmo = NULL;
        t->source = NULL;
    } else {
        src = NULL;
    }
    bool tree_empty = false;
    if (list_is_empty(&v->cow->vmos))
        tree_empty = cow_node_release_locked(v->cow);
    if (!tree_empty)
        cow_tree_retry_merges_locked(t);
    mutex_release(&t->lock);
    if (tree_empty)
        cow_tree_free(t);
    kfree(v);
    zero_page_put();
    if (src)
        page_source_release(src);
    // One reference to drop (a slice holds its parent, a clone in a pager tree the pager VMO,
    // never both), and dropping it stays the last call: a chain of 1,500 slices closed from the
    // leaf unwinds through it as a tail call instead of 1,500 nested frames on the kernel stack.
    struct vmo *release = held ? held : pager_held;
    if (release)
        kobject_release(&release->obj);
}

// vmo_create_child's arguments, decoded.
struct child_args {
    bool slice;
    uint32_t options;  // ZX_VMO_CHILD_*
    uint64_t offset;   // bytes in the parent, page-aligned
    uint64_t size;     // as asked (the content size)
    uint64_t rsize;    // rounded up to pages
};

// Decode: every argument check that needs no lock (statuses as in vmo.h, in that order).
static zx_status_t child_decode(uint32_t options, uint64_t offset, uint64_t size,
                                struct child_args *out) {
    const uint32_t kinds = ZX_VMO_CHILD_SNAPSHOT | ZX_VMO_CHILD_SNAPSHOT_AT_LEAST_ON_WRITE |
                           ZX_VMO_CHILD_SLICE;
    const uint32_t known = kinds | ZX_VMO_CHILD_RESIZABLE | ZX_VMO_CHILD_NO_WRITE;
    uint32_t kind = options & kinds;
    if ((options & ~known) || (kind & (kind - 1)) || kind == 0)
        return ZX_ERR_INVALID_ARGS;
    bool slice = kind == ZX_VMO_CHILD_SLICE;
    if (slice && (options & ZX_VMO_CHILD_RESIZABLE))
        return ZX_ERR_INVALID_ARGS;
    // Resizing needs WRITE, which NO_WRITE takes away.
    if ((options & ZX_VMO_CHILD_NO_WRITE) && (options & ZX_VMO_CHILD_RESIZABLE))
        return ZX_ERR_INVALID_ARGS;
    if (!round_size(size, &out->rsize))
        return ZX_ERR_OUT_OF_RANGE;
    if (!IS_ALIGNED(offset, P))
        return ZX_ERR_INVALID_ARGS;
    // A slice's offset + size is checked against the parent (INVALID_ARGS, overflow included).
    if (!slice && offset > UINT64_MAX - out->rsize)
        return ZX_ERR_OUT_OF_RANGE;
    out->slice = slice;
    out->options = options;
    out->offset = offset;
    out->size = size;
    return ZX_OK;
}

// The check phase's part under the tree lock: the offsets accumulated through the chain, and a
// slice's window and parent. ZX_ERR_INVALID_ARGS, ZX_ERR_NOT_SUPPORTED. Changes nothing.
static zx_status_t child_check_locked(struct vmo *parent, const struct child_args *a,
                                      uint64_t *out_root_offset) REQUIRES(VMO_TREE_LOCK(parent)) {
    ASSERT_MUTEX_HELD(&parent->tree->lock);
    uint64_t root_offset;
    if (__builtin_add_overflow(parent->root_offset, a->offset, &root_offset) ||
        root_offset > UINT64_MAX - a->rsize)
        return ZX_ERR_INVALID_ARGS;
    // A pager VMO's pages stay in its own node: a SNAPSHOT (which must not see later changes)
    // would have to move them; an AT_LEAST_ON_WRITE clone reads them in place and copies on
    // write (docs/pager.md "Children"), of the pager VMO or of one of its clones.
    if ((a->options & ZX_VMO_CHILD_SNAPSHOT) && parent->tree->source)
        return ZX_ERR_NOT_SUPPORTED;
    if (a->slice) {
        if (a->offset > parent->size || a->rsize > parent->size - a->offset)
            return ZX_ERR_INVALID_ARGS;
        if (parent->flags & VMO_F_RESIZABLE)
            return ZX_ERR_NOT_SUPPORTED;
    }
    *out_root_offset = root_offset;
    return ZX_OK;
}

// Apply phase: makes `c` the child, showing the parent's node (a slice) or the new snapshot node
// `node` (with `hidden` if the snapshot needs it, else freed). Cannot fail.
static void child_apply_locked(struct vmo *parent, const struct child_args *a,
                               uint64_t root_offset, struct vmo *c, struct cow_node *node,
                               struct cow_node *hidden) REQUIRES(VMO_TREE_LOCK(parent)) {
    ASSERT_MUTEX_HELD(&parent->tree->lock);
    c->tree = parent->tree;
    c->size = a->rsize;
    c->content_size = a->size;
    c->root_offset = root_offset;
    c->parent = parent;
    c->parent_koid = parent->obj.koid;
    memcpy(c->name, parent->name, sizeof(c->name));
    if (a->slice) {
        kobject_retain(&parent->obj);  // dropped by the slice's vmo_destroy
        c->flags = VMO_F_SLICE | (parent->flags & VMO_F_CLONE_NODE);
        c->cow = parent->cow;
        c->cow_offset = parent->cow_offset + a->offset;
    } else {
        c->flags = VMO_F_COW_CLONE | VMO_F_CLONE_NODE |
                   ((a->options & ZX_VMO_CHILD_RESIZABLE) ? VMO_F_RESIZABLE : 0);
        uint64_t limit =
            a->offset >= parent->size ? 0 : MIN(a->rsize, parent->size - a->offset);
        bool used_hidden;
        cow_snapshot_locked(parent->cow, parent->cow_offset + a->offset, limit, a->rsize, node,
                            hidden, &used_hidden);
        if (!used_hidden)
            cow_node_free_unlinked(hidden);
        c->cow = node;
        struct page_source *src = parent->tree->source;
        if (src) {
            page_source_assert_held(src);
            c->pager_held = src->vmo;  // set while the tree has a source
            kobject_retain(&src->vmo->obj);
        }
        // The cloned range is copy-on-write now: nothing may write it through a mapping (but a
        // pager VMO, whose pages the clone reads in place and copies).
        if (limit > 0 && !parent->cow->pager_root)
            vmo_cow_range_change(parent->cow, parent->cow_offset + a->offset, limit,
                                 VM_RANGE_REMOVE_WRITE);
        parent->num_cow_children++;
    }
    list_add_tail(&c->cow->vmos, &c->cow_link);
    list_add_tail(&parent->children, &c->child_link);
    if (parent->num_children++ == 0)
        kobject_signal(&parent->obj, ZX_VMO_ZERO_CHILDREN, 0);
    kobject_init(&c->obj, ZX_OBJ_TYPE_VMO, &vmo_ops);
    kobject_signal(&c->obj, 0, ZX_VMO_ZERO_CHILDREN);
}

zx_status_t vmo_create_child(struct vmo *parent, uint32_t options, uint64_t offset, uint64_t size,
                             struct vmo **out) {
    struct child_args a;
    zx_status_t st = child_decode(options, offset, size, &a);
    if (st != ZX_OK)
        return st;
    // Check phase: allocate everything the apply phase needs (before the tree lock: the nodes
    // and the zero page's reference), then check the parent's state under the lock.
    struct vmo *c = vmo_alloc();
    if (!c)
        return ZX_ERR_NO_MEMORY;
    struct cow_node *node = NULL, *hidden = NULL;
    uint64_t root_offset;
    st = ZX_ERR_NO_MEMORY;
    if (!a.slice && (cow_node_alloc(parent->tree, &node) != ZX_OK ||
                     cow_node_alloc(parent->tree, &hidden) != ZX_OK))
        goto free_nodes;
    if (zero_page_get() != ZX_OK)
        goto free_nodes;
    vmo_lock(parent);
    st = child_check_locked(parent, &a, &root_offset);
    if (st != ZX_OK)
        goto unlock;
    child_apply_locked(parent, &a, root_offset, c, node, hidden);
    vmo_unlock(parent);
    *out = c;
    return ZX_OK;

unlock:
    vmo_unlock(parent);
    zero_page_put();
free_nodes:
    if (hidden)
        cow_node_free_unlinked(hidden);
    if (node)
        cow_node_free_unlinked(node);
    kfree(c);
    return st;
}

// --- Reading and writing ---

// Readies [offset, offset + len) of locked v for an access: checks the range and, for a pager
// VMO, waits (dropping the lock meanwhile) until every page of it is there and, for a write, may
// be dirtied. v is locked again on return, whatever the status (OUT_OF_RANGE, or the pager's).
static zx_status_t vmo_access_ready_locked(struct vmo *v, uint64_t offset, size_t len, bool write)
    REQUIRES(VMO_TREE_LOCK(v)) {
    ASSERT_MUTEX_HELD(&v->tree->lock);
    zx_status_t st;
    do {
        if (offset > v->size || len > v->size - offset)
            return ZX_ERR_OUT_OF_RANGE;
        st = vmo_pager_prepare_locked(v, offset, len, write);
    } while (st == ZX_ERR_SHOULD_WAIT);
    return st;
}

zx_status_t vmo_read(struct vmo *v, void *dst, uint64_t offset, size_t len) {
    vmo_lock(v);
    zx_status_t pst = vmo_access_ready_locked(v, offset, len, false);
    if (pst != ZX_OK) {
        vmo_unlock(v);
        return pst;
    }
    uint8_t *d = dst;
    while (len > 0) {
        uint64_t page = ROUNDDOWN(offset, P), in = offset - page;
        size_t n = (size_t)MIN((uint64_t)len, P - in);
        vm_page_t *p;
        zx_status_t st = cow_lookup_resident_locked(v->cow, v->cow_offset + page, &p, NULL);
        if (st != ZX_OK) {
            vmo_unlock(v);
            return st;  // a compressed page and no memory to decompress it
        }
        if (p)
            memcpy(d, (uint8_t *)vm_page_kva(p) + in, n);
        else
            memset(d, 0, n);
        d += n;
        offset += n;
        len -= n;
    }
    vmo_unlock(v);
    return ZX_OK;
}

zx_status_t vmo_peek(struct vmo *v, void *dst, uint64_t offset, size_t len) {
    vmo_lock(v);
    if (offset > v->size || len > v->size - offset) {
        vmo_unlock(v);
        return ZX_ERR_OUT_OF_RANGE;
    }
    uint8_t *d = dst;
    static uint8_t buf[PAGE_SIZE];  // the tree lock of any VMO is enough: tests run one at a time
    while (len > 0) {
        uint64_t page = ROUNDDOWN(offset, P), in = offset - page;
        size_t n = (size_t)MIN((uint64_t)len, P - in);
        if (cow_peek_locked(v->cow, v->cow_offset + page, buf))
            memcpy(d, buf + in, n);
        else
            memset(d, 0, n);
        d += n;
        offset += n;
        len -= n;
    }
    vmo_unlock(v);
    return ZX_OK;
}

zx_status_t vmo_write(struct vmo *v, const void *src, uint64_t offset, size_t len) {
    vmo_lock(v);
    zx_status_t st = vmo_access_ready_locked(v, offset, len, true);
    if (st != ZX_OK) {
        vmo_unlock(v);
        return st;
    }
    const uint8_t *s = src;
    while (len > 0) {
        uint64_t page = ROUNDDOWN(offset, P), in = offset - page;
        size_t n = (size_t)MIN((uint64_t)len, P - in);
        vm_page_t *p;
        st = cow_get_owned_page_locked(v->cow, v->cow_offset + page, &p);
        if (st != ZX_OK)
            break;
        memcpy((uint8_t *)vm_page_kva(p) + in, s, n);
        vmo_page_written_locked(v, p);
        s += n;
        offset += n;
        len -= n;
    }
    vmo_unlock(v);
    return st;
}

zx_status_t vmo_transfer(struct vmo *v, uint64_t offset, size_t len, bool write,
                         vmo_transfer_fn fn, void *ctx, size_t *out_done) {
    *out_done = 0;
    // A pager VMO: every missing run of the range is asked for at once (and waited for).
    vmo_lock(v);
    zx_status_t st = vmo_access_ready_locked(v, offset, len, write);
    if (st != ZX_OK) {
        vmo_unlock(v);
        return st;
    }
    size_t done = 0;
    while (done < len) {
        uint64_t page = ROUNDDOWN(offset, P), in = offset - page;
        size_t n = (size_t)MIN((uint64_t)(len - done), P - in);
        vm_page_t *p;
        if (write) {
            st = cow_get_owned_page_locked(v->cow, v->cow_offset + page, &p);
            if (st != ZX_OK)
                break;
            vmo_page_written_locked(v, p);
        } else {
            st = cow_lookup_resident_locked(v->cow, v->cow_offset + page, &p, NULL);
            if (st != ZX_OK)
                break;  // a compressed page and no memory to decompress it
            if (!p)
                p = zero_page;  // exists while this VMO does; never written through here
        }
        st = fn(ctx, (uint8_t *)vm_page_kva(p) + in, done, n);
        if (st != ZX_OK)
            break;
        done += n;
        offset += n;
    }
    vmo_unlock(v);
    *out_done = done;
    return st;
}

// Writes zeros over [offset, offset + len) inside one page, making the page this VMO's own only
// if its content is not zero already. Tree lock held.
static zx_status_t zero_partial_page_locked(struct vmo *v, uint64_t offset, uint64_t len) REQUIRES(VMO_TREE_LOCK(v));
static zx_status_t zero_partial_page_locked(struct vmo *v, uint64_t offset, uint64_t len) {
    ASSERT_MUTEX_HELD(&v->tree->lock);
    uint64_t page = ROUNDDOWN(offset, P);
    if (!cow_has_content_locked(v->cow, v->cow_offset + page))
        return ZX_OK;
    vm_page_t *p;
    zx_status_t st = cow_get_owned_page_locked(v->cow, v->cow_offset + page, &p);
    if (st != ZX_OK)
        return st;
    memset((uint8_t *)vm_page_kva(p) + (offset - page), 0, (size_t)len);
    vmo_page_written_locked(v, p);
    return ZX_OK;
}

// --- Sizes ---

uint64_t vmo_get_size(struct vmo *v) {
    mutex_acquire(&v->tree->lock);
    uint64_t s = v->size;
    mutex_release(&v->tree->lock);
    return s;
}

zx_status_t vmo_set_size(struct vmo *v, uint64_t size) {
    if (!(v->flags & VMO_F_RESIZABLE))
        return ZX_ERR_UNAVAILABLE;
    uint64_t rsize;
    if (!round_size(size, &rsize))
        return ZX_ERR_OUT_OF_RANGE;
    if (v->root_offset > UINT64_MAX - rsize)
        return ZX_ERR_INVALID_ARGS;
    vmo_lock(v);
    ASSERT(v->cow_offset == 0 && v->size == v->cow->size);  // resizable VMOs have no slices
    zx_status_t st;
    struct page_source *src = v->tree->source;
    // A clone of a pager VMO that keeps part of its last page: that page's content must be there
    // to be zeroed past the new size (else a later read would bring in the pager's). The size
    // is read again after each wait.
    while (src && v->cow != src->root && rsize != size && rsize <= v->size) {
        st = vmo_pager_prepare_locked(v, rsize - P, P, false);
        if (st == ZX_OK)
            break;
        if (st != ZX_ERR_SHOULD_WAIT)
            goto out;
    }
    uint64_t old = v->size;
    // Bytes past the new size in its last page must read zero: own that page first (the only
    // step besides the resize that can fail), zero it once nothing else can.
    vm_page_t *tail = NULL;
    if (rsize != size && rsize <= old &&
        cow_has_content_locked(v->cow, rsize - P)) {
        st = cow_get_owned_page_locked(v->cow, rsize - P, &tail);
        if (st != ZX_OK)
            goto out;
    }
    if (rsize < old)
        vmo_cow_range_change(v->cow, rsize, old - rsize, VM_RANGE_UNMAP);
    st = cow_resize_locked(v->cow, rsize);
    if (st != ZX_OK)
        goto out;
    if (src && v->cow == src->root) {
        // A pager VMO grows with Dirty zeros (nothing to ask the pager for).
        page_source_assert_held(v->tree->source);
        st = page_source_resized_locked(v->tree->source, old, rsize);
        if (st != ZX_OK) {
            zx_status_t back = cow_resize_locked(v->cow, old);
            ASSERT(back == ZX_OK);
            goto out;
        }
    }
    if (tail)
        memset((uint8_t *)vm_page_kva(tail) + (size - (rsize - P)), 0, (size_t)(rsize - size));
    v->size = rsize;
    v->content_size = size;
out:
    vmo_unlock(v);
    return st;
}

uint64_t vmo_get_content_size(struct vmo *v) {
    vmo_lock(v);
    uint64_t s = v->content_size;
    vmo_unlock(v);
    return s;
}

zx_status_t vmo_set_content_size(struct vmo *v, uint64_t content_size) {
    vmo_lock(v);
    zx_status_t st = ZX_ERR_OUT_OF_RANGE;
    if (content_size <= v->size) {
        v->content_size = content_size;
        st = ZX_OK;
    }
    vmo_unlock(v);
    return st;
}

bool vmo_is_resizable(struct vmo *v) {
    return (v->flags & VMO_F_RESIZABLE) != 0;
}

// --- op_range ---

// DECOMMIT is for VMOs from vmo_create without snapshot children and their slices (docs/abi.md §2).
// (A node of such a VMO may still have a hidden parent, shared with grandchildren or left by a
// pending merge: decommitting then hides the parent's content like ZERO does.)
static bool can_decommit_locked(struct vmo *v) REQUIRES(VMO_TREE_LOCK(v));
static bool can_decommit_locked(struct vmo *v) {
    ASSERT_MUTEX_HELD(&v->tree->lock);
    if (v->flags & VMO_F_CLONE_NODE)
        return false;
    list_for_each(&v->cow->vmos, it) {
        if (containerof(it, struct vmo, cow_link)->num_cow_children > 0)
            return false;
    }
    return true;
}

struct queue_pages_ctx {
    void (*set)(vm_page_t *);
};

static zx_status_t queue_page_cb(vmpl_slot_t *slot, uint64_t offset, void *ctx) {
    (void)offset;
    if (vmpl_slot_is_page(*slot))
        ((struct queue_pages_ctx *)ctx)->set(vmpl_slot_page(*slot));
    return ZX_ERR_NEXT;
}

// DONT_NEED / ALWAYS_NEED: moves the pages v's own node holds in [start, end) (node offsets) to
// the queue `set` chooses. Pages shared from a hidden ancestor keep their place: they are also
// other VMOs' pages.
static void queue_own_pages_locked(struct vmo *v, uint64_t start, uint64_t end,
                                   void (*set)(vm_page_t *)) REQUIRES(VMO_TREE_LOCK(v)) {
    ASSERT_MUTEX_HELD(&v->tree->lock);
    struct queue_pages_ctx c = {set};
    (void)vmpl_for_each(&v->cow->pages, start, end, queue_page_cb, &c);
}

zx_status_t vmo_op_range(struct vmo *v, uint32_t op, uint64_t offset, uint64_t size) {
    switch (op) {
    case ZX_VMO_OP_COMMIT:
    case ZX_VMO_OP_DECOMMIT:
    case ZX_VMO_OP_ZERO:
        break;
    case ZX_VMO_OP_PREFETCH:
    case ZX_VMO_OP_ALWAYS_NEED:
    case ZX_VMO_OP_DONT_NEED:
        break;
    case ZX_VMO_OP_LOCK:
    case ZX_VMO_OP_UNLOCK:
    case ZX_VMO_OP_TRY_LOCK:
        return ZX_ERR_NOT_SUPPORTED;  // nothing is discardable
    case ZX_VMO_OP_CACHE_SYNC:
    case ZX_VMO_OP_CACHE_INVALIDATE:
    case ZX_VMO_OP_CACHE_CLEAN:
    case ZX_VMO_OP_CACHE_CLEAN_INVALIDATE: {
        // x86 caches are coherent: only the range is checked.
        if (size == 0)
            return ZX_ERR_INVALID_ARGS;
        uint64_t vsize = vmo_get_size(v);
        if (offset > vsize || size > vsize - offset)
            return ZX_ERR_OUT_OF_RANGE;
        return ZX_OK;
    }
    default:
        return ZX_ERR_INVALID_ARGS;
    }
    vmo_lock(v);
    zx_status_t st = ZX_OK;
    struct page_source *src = v->tree->source;
again:
    if (op == ZX_VMO_OP_DECOMMIT) {
        if (src || !can_decommit_locked(v)) {
            st = ZX_ERR_NOT_SUPPORTED;
            goto out;
        }
        if (!IS_ALIGNED(offset, P) || !IS_ALIGNED(size, P)) {
            st = ZX_ERR_INVALID_ARGS;
            goto out;
        }
    }
    // A range past the end (or overflowing) is refused for every op, never trimmed.
    if (offset > v->size || size > v->size - offset) {
        st = ZX_ERR_OUT_OF_RANGE;
        goto out;
    }
    uint64_t end = offset + size;
    if (offset == end)
        goto out;
    uint64_t base = v->cow_offset;
    // A pager VMO (or a slice of it), not a clone in its tree.
    bool pager_root = src && v->cow == src->root;
    if (src && op != ZX_VMO_OP_DECOMMIT && op != ZX_VMO_OP_DONT_NEED) {
        // Every op but ZERO reads the pages in (a pager VMO commits by asking its pager); ZERO
        // needs the partial pages it writes, and TRAP_DIRTY's consent for the whole range.
        if (op != ZX_VMO_OP_ZERO) {
            st = vmo_pager_prepare_locked(v, offset, size, false);
        } else if (pager_root && src->trap_dirty) {
            st = vmo_pager_prepare_locked(v, offset, size, true);
        } else {
            if (!IS_ALIGNED(offset, P))
                st = vmo_pager_prepare_locked(v, offset, 1, true);
            if (st == ZX_OK && !IS_ALIGNED(end, P))
                st = vmo_pager_prepare_locked(v, end - 1, 1, true);
        }
        if (st == ZX_ERR_SHOULD_WAIT) {
            st = ZX_OK;
            goto again;
        }
        if (st != ZX_OK)
            goto out;
        if (op == ZX_VMO_OP_COMMIT && pager_root)
            goto out;  // supplied pages are committed; zero ranges stay uncommitted
    }
    switch (op) {
    case ZX_VMO_OP_PREFETCH:
    case ZX_VMO_OP_ALWAYS_NEED:
        if (!src)  // a pager VMO's pages were brought in above
            st = cow_commit_range_locked(v->cow, base + ROUNDDOWN(offset, P),
                                         base + ROUNDUP(end, P));
        if (st == ZX_OK && op == ZX_VMO_OP_ALWAYS_NEED)
            queue_own_pages_locked(v, base + ROUNDDOWN(offset, P), base + ROUNDUP(end, P),
                                   pq_set_always_need);
        break;
    case ZX_VMO_OP_DONT_NEED:
        queue_own_pages_locked(v, base + ROUNDDOWN(offset, P), base + ROUNDUP(end, P),
                               pq_set_dont_need);
        break;
    case ZX_VMO_OP_COMMIT:
        st = cow_commit_range_locked(v->cow, base + ROUNDDOWN(offset, P), base + ROUNDUP(end, P));
        break;
    case ZX_VMO_OP_DECOMMIT:
        vmo_cow_range_change(v->cow, base + offset, end - offset, VM_RANGE_UNMAP);
        st = cow_zero_range_locked(v->cow, base + offset, base + end);
        break;
    case ZX_VMO_OP_ZERO: {
        uint64_t ps = ROUNDUP(offset, P), pe = ROUNDDOWN(end, P);
        if (ps > pe) {  // inside one page
            st = zero_partial_page_locked(v, offset, end - offset);
            break;
        }
        if (offset < ps && (st = zero_partial_page_locked(v, offset, ps - offset)) != ZX_OK)
            break;
        if (pe < end && (st = zero_partial_page_locked(v, pe, end - pe)) != ZX_OK)
            break;
        if (ps < pe) {
            vmo_cow_range_change(v->cow, base + ps, pe - ps, VM_RANGE_UNMAP);
            if (pager_root) {
                page_source_assert_held(src);
                st = page_source_zero_locked(src, base + ps, base + pe);
            } else {
                st = cow_zero_range_locked(v->cow, base + ps, base + pe);
            }
        }
        break;
    }
    }
out:
    vmo_unlock(v);
    return st;
}

// --- Faults and look-ups for the mapping layer ---

// A link-time-optimised kernel puts it into vm_fault, its caller on the fault path (the call and
// a second frame cost ~20 a fault); other builds call it.
LTO_INLINE zx_status_t vmo_fault_page_or_wait(struct vmo *v, uint64_t offset, uint32_t fault_flags,
                                   paddr_t *out_pa, bool *out_writable,
                                   struct page_request **out_wait) {
    vmo_lock(v);
    zx_status_t st = ZX_OK;
    if (offset >= v->size) {
        st = ZX_ERR_OUT_OF_RANGE;
        goto out;
    }
    uint64_t o = v->cow_offset + ROUNDDOWN(offset, P);
    struct page_source *src = v->tree->source;
    if (src) {
        // Never wait here: the caller holds its address space's lock, and drops it to wait.
        st = vmo_pager_request_locked(v, o, o + P, (fault_flags & VMO_FAULT_WRITE) != 0,
                                      out_wait);
        if (st != ZX_OK)
            goto out;
    }
    if (fault_flags & VMO_FAULT_WRITE) {
        vm_page_t *p;
        st = cow_get_owned_page_locked(v->cow, o, &p);
        if (st == ZX_OK) {
            vmo_page_written_locked(v, p);
            *out_pa = vm_page_paddr(p);
            *out_writable = true;
        }
        goto out;
    }
    bool own = false;
    vm_page_t *p;
    st = cow_lookup_resident_locked(v->cow, o, &p, &own);
    if (st != ZX_OK)
        goto out;
    *out_pa = vm_page_paddr(p ? p : zero_page);
    // A page that failed to compress is mapped read-only until it is written: the write fault
    // that follows clears its flag (cow_get_owned_page_locked). A pager VMO's page that is not
    // Dirty is read-only too: its next write must be seen.
    *out_writable = p && own && !(p->flags & VM_PAGE_FLAG_COMPRESS_FAILED) &&
                    vmo_page_map_writable_locked(v, p);
    if (!*out_writable)
        v->cow->maps_foreign = true;
out:
    vmo_unlock(v);
    return st;
}

zx_status_t vmo_wait_page_request(struct vmo *v, struct page_request *r) {
    return page_request_wait(v->tree->source, r);
}

zx_status_t vmo_fault_page(struct vmo *v, uint64_t offset, uint32_t fault_flags, paddr_t *out_pa,
                           bool *out_writable) {
    for (;;) {
        struct page_request *r;
        zx_status_t st = vmo_fault_page_or_wait(v, offset, fault_flags, out_pa, out_writable, &r);
        if (st != ZX_ERR_SHOULD_WAIT)
            return st;
        st = vmo_wait_page_request(v, r);
        if (st != ZX_OK)
            return st;
    }
}

struct lookup_ctx {
    struct vmo *v;
    vmo_page_fn fn;
    void *ctx;
};

static zx_status_t lookup_visit(void *ctx, struct cow_node *owner, uint64_t owner_offset,
                                vmpl_slot_t *slot, uint64_t offset) {
    struct lookup_ctx *c = ctx;
    if (!vmpl_slot_is_page(*slot))
        return ZX_ERR_NEXT;
    if (owner != c->v->cow)
        c->v->cow->maps_foreign = true;
    vm_page_t *p = vmpl_slot_page(*slot);
    bool writable = owner == c->v->cow && vmo_page_map_writable_locked(c->v, p);
    return c->fn(c->ctx, offset - c->v->cow_offset, vm_page_paddr(p), writable);
}

// The clone-tree range [*s, *e) of the pages [offset, offset + len) touches inside `v`'s size
// (len may run past the end); false if that is empty.
static bool vmo_lookup_range_locked(struct vmo *v, uint64_t offset, uint64_t len, uint64_t *s,
                                    uint64_t *e) {
    cow_assert_held(v->cow);
    uint64_t start = ROUNDDOWN(offset, P);
    uint64_t end = MIN(len > UINT64_MAX - offset ? UINT64_MAX : offset + len, v->size);
    *s = v->cow_offset + start;
    *e = v->cow_offset + ROUNDUP(end, P);
    return start < end;
}

zx_status_t vmo_lookup_pages(struct vmo *v, uint64_t offset, uint64_t len, vmo_page_fn fn,
                             void *ctx) {
    vmo_lock(v);
    zx_status_t st = ZX_OK;
    uint64_t s, e;
    if (vmo_lookup_range_locked(v, offset, len, &s, &e)) {
        struct lookup_ctx c = {v, fn, ctx};
        st = cow_walk_locked(v->cow, s, e, true, lookup_visit, &c);
    }
    vmo_unlock(v);
    return st;
}

// vmo_lookup_page_runs: the run being collected.
struct runs_ctx {
    struct vmo *v;
    vmo_run_fn run;
    void *ctx;
    uint64_t start;  // the VMO offset of pas[0]
    size_t n;
    bool writable;
    paddr_t pas[VMO_RUN_MAX];
};

static zx_status_t runs_flush(struct runs_ctx *c) {
    size_t n = c->n;
    c->n = 0;
    return n ? c->run(c->ctx, c->start, c->pas, n, c->writable) : ZX_OK;
}

// Appends the page at VMO offset `o` to the run being collected, or flushes the run and starts
// the next with it.
static zx_status_t runs_add(struct runs_ctx *c, uint64_t o, paddr_t pa, bool writable) {
    if (c->n && (c->n == VMO_RUN_MAX || o != c->start + c->n * P || writable != c->writable)) {
        zx_status_t st = runs_flush(c);
        if (st != ZX_OK)
            return st;
    }
    if (c->n == 0) {
        c->start = o;
        c->writable = writable;
    }
    c->pas[c->n++] = pa;
    return ZX_OK;
}

// A stretch of slots: its pages join the run being collected (or start the next ones). Pages
// whose writability does not depend on the page (all but a pager root's own) are copied in a
// tight loop, a sequence of consecutive page slots at a time.
static zx_status_t runs_span(void *ctx, struct cow_node *owner, uint64_t owner_offset,
                             vmpl_slot_t *slots, size_t n, uint64_t offset) {
    struct runs_ctx *c = ctx;
    struct vmo *v = c->v;
    bool own = owner == v->cow;
    struct page_source *src = v->tree->source;
    bool per_page = own && src && v->cow == src->root;  // Dirty or not decides
    uint64_t base = offset - v->cow_offset;
    size_t i = 0;
    while (i < n) {
        if (!vmpl_slot_is_page(slots[i])) {
            i++;
            continue;
        }
        if (!own)
            v->cow->maps_foreign = true;
        uint64_t o = base + i * P;
        zx_status_t st;
        if (per_page) {
            vm_page_t *p = vmpl_slot_page(slots[i]);
            st = runs_add(c, o, vm_page_paddr(p), page_source_page_writable(p));
            if (st != ZX_OK)
                return st;
            i++;
            continue;
        }
        // The first page through runs_add (which flushes a run it does not continue), the
        // following ones straight into the run while they are pages and it has room.
        st = runs_add(c, o, vm_page_paddr(vmpl_slot_page(slots[i])), own);
        if (st != ZX_OK)
            return st;
        i++;
        size_t room = VMO_RUN_MAX - c->n;
        paddr_t *dst = &c->pas[c->n];
        size_t k = 0;
        for (; k < room && i < n && vmpl_slot_is_page(slots[i]); k++, i++)
            dst[k] = vm_page_paddr(vmpl_slot_page(slots[i]));
        c->n += k;
    }
    return ZX_ERR_NEXT;
}

zx_status_t vmo_lookup_page_runs(struct vmo *v, uint64_t offset, uint64_t len, vmo_run_fn run,
                                 void *ctx) {
    vmo_lock(v);
    zx_status_t st = ZX_OK;
    uint64_t s, e;
    if (vmo_lookup_range_locked(v, offset, len, &s, &e)) {
        struct runs_ctx c;  // not zeroed: pas[] is written before it is read
        c.v = v;
        c.run = run;
        c.ctx = ctx;
        c.n = 0;
        st = cow_walk_spans_locked(v->cow, s, e, true, runs_span, &c);
        if (st == ZX_OK)
            st = runs_flush(&c);
    }
    vmo_unlock(v);
    return st;
}

void vmo_add_mapping(struct vmo *v, struct vm_mapping *m) {
    vmo_lock(v);
    list_add_tail(&v->mappings, &m->vmo_node);
    v->num_mappings++;
    vmo_unlock(v);
}

void vmo_remove_mapping(struct vmo *v, struct vm_mapping *m) {
    vmo_lock(v);
    list_delete(&m->vmo_node);
    ASSERT(v->num_mappings > 0);
    v->num_mappings--;
    // With no mapping left on the node, no PTE can show a page that is not the node's own.
    bool mapped = false;
    list_for_each(&v->cow->vmos, it)
        mapped |= containerof(it, struct vmo, cow_link)->num_mappings > 0;
    if (!mapped)
        v->cow->maps_foreign = false;
    vmo_unlock(v);
}

// --- Info, names, objects ---

// Distinct address spaces among the mappings (at least 1 for a live VMO, as in Zircon).
static size_t share_count_locked(struct vmo *v) REQUIRES(VMO_TREE_LOCK(v));
static size_t share_count_locked(struct vmo *v) {
    ASSERT_MUTEX_HELD(&v->tree->lock);
    if (v->num_mappings < 2)
        return 1;
    size_t n = 0;
    list_for_each(&v->mappings, it) {
        struct vm_mapping *m = containerof(it, struct vm_mapping, vmo_node);
        bool seen = false;
        list_for_each(&v->mappings, jt) {
            if (jt == it)
                break;
            if (containerof(jt, struct vm_mapping, vmo_node)->aspace == m->aspace) {
                seen = true;
                break;
            }
        }
        if (!seen)
            n++;
    }
    return n;
}

void vmo_get_info(struct vmo *v, zx_info_vmo_t *out) {
    memset(out, 0, sizeof(*out));
    vmo_lock(v);
    out->koid = v->obj.koid;
    memcpy(out->name, v->name, sizeof(out->name));
    out->size_bytes = v->size;
    out->parent_koid = v->parent_koid;
    out->num_children = v->num_children;
    out->num_mappings = v->num_mappings;
    out->share_count = share_count_locked(v);
    out->flags = ZX_INFO_VMO_TYPE_PAGED;
    if (v->tree->source)
        out->flags |= ZX_INFO_VMO_PAGER_BACKED;
    if (v->flags & VMO_F_RESIZABLE)
        out->flags |= ZX_INFO_VMO_RESIZABLE;
    if (v->flags & VMO_F_COW_CLONE)
        out->flags |= ZX_INFO_VMO_IS_COW_CLONE;
    out->cache_policy = ZX_CACHE_POLICY_CACHED;
    // A slice's pages are its parent's: it reports 0 in every committed_* and populated_* field
    // (Zircon's current tests).
    if (!(v->flags & VMO_F_SLICE)) {
        struct cow_attribution a;
        cow_attribution_locked(v->cow, v->cow_offset, v->cow_offset + v->size, &a);
        out->committed_bytes = a.committed_bytes;
        out->populated_bytes = a.populated_bytes;
        out->committed_private_bytes = a.private_bytes;
        out->populated_private_bytes = a.populated_private_bytes;
        out->committed_scaled_bytes = a.scaled_bytes;
        out->populated_scaled_bytes = a.populated_scaled_bytes;
        out->committed_fractional_scaled_bytes = a.scaled_frac;
        out->populated_fractional_scaled_bytes = a.populated_scaled_frac;
        out->metadata_bytes = vmpl_heap_bytes(&v->cow->pages);
    }
    vmo_unlock(v);
}

// Whether a mapping before `until` (mapping list node of `until_vmo`, in n's VMO order) lives in
// `as`.
static bool aspace_seen_before_locked(struct cow_node *n, struct vmo *until_vmo,
                                      struct list_node *until, const struct vm_aspace *as)
    REQUIRES(n->tree->lock);
static bool aspace_seen_before_locked(struct cow_node *n, struct vmo *until_vmo,
                                      struct list_node *until, const struct vm_aspace *as) {
    list_for_each(&n->vmos, vi) {
        struct vmo *v = containerof(vi, struct vmo, cow_link);
        list_for_each(&v->mappings, mi) {
            if (mi == until)
                return false;
            if (containerof(mi, struct vm_mapping, vmo_node)->aspace == as)
                return true;
        }
        if (v == until_vmo)
            break;
    }
    return false;
}

// How many distinct address spaces map VMOs showing `n`. The few distinct ones found so far are
// kept in a small array; past it, each mapping is compared with every earlier one.
static uint32_t node_procs_locked(struct cow_node *n) REQUIRES(n->tree->lock);
static uint32_t node_procs_locked(struct cow_node *n) {
    enum { SEEN_MAX = 16 };
    const struct vm_aspace *seen[SEEN_MAX];
    uint32_t count = 0;
    list_for_each(&n->vmos, vi) {
        struct vmo *v = containerof(vi, struct vmo, cow_link);
        list_for_each(&v->mappings, mi) {
            const struct vm_aspace *as = containerof(mi, struct vm_mapping, vmo_node)->aspace;
            bool known = false;
            for (uint32_t i = 0; i < MIN(count, (uint32_t)SEEN_MAX) && !known; i++)
                known = seen[i] == as;
            if (!known && count >= SEEN_MAX)
                known = aspace_seen_before_locked(n, v, mi, as);
            if (!known) {
                if (count < SEEN_MAX)
                    seen[count] = as;
                count++;
            }
        }
    }
    return count ? count : 1;
}

void vmo_task_stats(struct vmo *v, uint64_t offset, uint64_t len, struct cow_task_stats *acc) {
    vmo_lock(v);
    uint64_t end = offset + MIN(len, v->size > offset ? v->size - offset : 0);
    if (end > offset) {
        cow_task_stats_locked(v->cow, v->cow_offset + offset, v->cow_offset + end,
                              node_procs_locked(v->cow), acc);
    }
    vmo_unlock(v);
}

void vmo_node_views_locked(struct cow_node *n, vmo_view_fn fn, void *ctx) {
    ASSERT_MUTEX_HELD(&n->tree->lock);
    list_for_each(&n->vmos, vi) {
        struct vmo *v = containerof(vi, struct vmo, cow_link);
        struct vmo_view view = {
            .koid = v->obj.koid, .name = v->name, .cow_offset = v->cow_offset, .size = v->size,
            .slice = (v->flags & VMO_F_SLICE) != 0, .num_mappings = v->num_mappings,
        };
        fn(&view, ctx);
    }
}

void vmo_get_name(struct vmo *v, char out[ZX_MAX_NAME_LEN]) {
    vmo_lock(v);
    memcpy(out, v->name, ZX_MAX_NAME_LEN);
    vmo_unlock(v);
}

void vmo_set_name(struct vmo *v, const char *name, size_t len) {
    if (len > ZX_MAX_NAME_LEN - 1)
        len = ZX_MAX_NAME_LEN - 1;
    vmo_lock(v);
    memset(v->name, 0, sizeof(v->name));
    memcpy(v->name, name, len);
    vmo_unlock(v);
}

struct kobject *vmo_object(struct vmo *v) {
    return &v->obj;
}

struct vmo *vmo_from_object(struct kobject *obj) {
    ASSERT(obj->type == ZX_OBJ_TYPE_VMO);
    return containerof(obj, struct vmo, obj);
}

uint64_t vmo_total_bytes(void) {
    return (uint64_t)pmm_count(PAGE_STATE_VMO) * P;
}

// --- For tests ---

struct cow_node *vmo_cow_node(struct vmo *v) {
    return v->cow;
}

bool vmo_check_tree(struct vmo *v) {
    vmo_lock(v);
    bool ok = cow_check_tree_locked(v->tree);
    vmo_unlock(v);
    return ok;
}

size_t vmo_tree_pages(struct vmo *v) {
    vmo_lock(v);
    size_t n = cow_tree_count_pages_locked(v->tree);
    vmo_unlock(v);
    return n;
}

void vmo_backing_id(struct vmo *vmo, uint64_t offset, const void **out_id, uint64_t *out_offset) {
    *out_id = vmo->cow;  // fixed at creation
    *out_offset = vmo->cow_offset + offset;
}
