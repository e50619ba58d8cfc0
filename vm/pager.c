// Pager objects and the kernel half of page requests (contract: vm/pager.h, vm/page_source.h;
// docs/pager.md). The page sources' logic is pure (vm/page_source.c); this file adds what needs
// the kernel: the pager kobject, packets on ports, and threads that wait for requests.
#include "vm/pager.h"

#include <zircon/syscalls/port.h>

#include "kernel/assert.h"
#include "kernel/heap.h"
#include "kernel/mutex.h"
#include "kernel/port.h"
#include "kernel/string.h"
#include "kernel/thread.h"
#include "vm/page_source.h"
#include "vm/pmm.h"
#include "vm/upcalls.h"
#include "vm/vmo.h"

#define P ((uint64_t)PAGE_SIZE)

struct pager {
    struct kobject obj;  // ZX_OBJ_TYPE_PAGER
    struct mutex lock;
    struct list_node sources;  // struct page_source.pager_link (lock)
};

static void pager_destroy(struct kobject *obj);
static void pager_on_zero_handles(struct kobject *obj);
static const struct kobject_ops pager_ops = {
    .destroy = pager_destroy,
    .on_zero_handles = pager_on_zero_handles,
};

zx_status_t pager_create(struct kobject **out) {
    struct pager *pg = kzalloc(sizeof(*pg));
    if (!pg)
        return ZX_ERR_NO_MEMORY;
    mutex_init(&pg->lock, "pager");
    list_init(&pg->sources);
    kobject_init(&pg->obj, ZX_OBJ_TYPE_PAGER, &pager_ops);
    *out = &pg->obj;
    return ZX_OK;
}

struct pager *pager_from_object(struct kobject *obj) {
    ASSERT(obj->type == ZX_OBJ_TYPE_PAGER);
    return containerof(obj, struct pager, obj);
}

static void pager_destroy(struct kobject *obj) {
    struct pager *pg = pager_from_object(obj);
    ASSERT_MSG(list_is_empty(&pg->sources), "pager %llu destroyed with VMOs attached",
               (unsigned long long)obj->koid);
    kfree(pg);
}

// --- Sources and their locks ---

static void src_lock(struct page_source *src) ACQUIRE(src->tree->lock);
static void src_unlock(struct page_source *src) RELEASE(src->tree->lock);
NO_THREAD_SAFETY_ANALYSIS static void src_lock(struct page_source *src) {
    mutex_acquire(&src->tree->lock);
}
NO_THREAD_SAFETY_ANALYSIS static void src_unlock(struct page_source *src) {
    mutex_release(&src->tree->lock);
}

// Queues one page-request packet. With the tree lock held: the port's queue lock is below it.
static zx_status_t send_packet(struct kobject *port, uint64_t key, uint16_t command,
                               uint64_t offset, uint64_t length) {
    zx_port_packet_t pkt;
    memset(&pkt, 0, sizeof(pkt));
    pkt.key = key;
    pkt.type = ZX_PKT_TYPE_PAGE_REQUEST;
    pkt.page_request.command = command;
    pkt.page_request.offset = offset;
    pkt.page_request.length = length;
    return port_queue_kernel_packet(port_from_object(port), &pkt);
}

zx_status_t page_source_send_locked(struct page_source *src, uint16_t command, uint64_t offset,
                                    uint64_t length) {
    ASSERT_MUTEX_HELD(&src->tree->lock);
    ASSERT(!src->detached && src->port);
    return send_packet(src->port, src->key, command, offset, length);
}

void page_request_wake(struct page_request *r) {
    irqstate_t st = sched_lock_irqsave();
    r->done = true;
    (void)wait_queue_wake_all_locked(&r->wq, ZX_OK);
    sched_unlock_irqrestore(st);
}

zx_status_t page_request_wait(struct page_source *src, struct page_request *r) {
    irqstate_t is = sched_lock_irqsave();
    zx_status_t st = ZX_OK;
    while (!r->done && st == ZX_OK)
        st = wait_queue_block_interruptible_locked(&r->wq, ZX_TIME_INFINITE);
    sched_unlock_irqrestore(is);
    src_lock(src);
    if (st == ZX_OK)
        st = r->status;
    ASSERT(r->refs > 0);
    if (--r->refs == 0)
        kfree(r);
    src_unlock(src);
    return st;
}

// Takes `src` off its pager's list (if on one) and drops its port. Tree lock not held; the
// source is detached, so nothing else touches those fields.
static void src_leave_pager(struct page_source *src, struct pager *pg) {
    if (pg) {
        mutex_acquire(&pg->lock);
        list_delete(&src->pager_link);
        mutex_release(&pg->lock);
        kobject_release(&pg->obj);
    }
}

void page_source_release(struct page_source *src) {
    // The VMO is gone, so no operation can reach the source any more: no lock needed.
    ASSERT(src->detached && src->vmo == NULL);
    struct pager *pg = src->pager;
    if (pg && src->port)
        (void)send_packet(src->port, src->key, ZX_PAGER_VMO_COMPLETE, 0, 0);  // a notice only
    src_leave_pager(src, pg);
    if (src->port)
        kobject_release(src->port);
    kfree(src);
}

// Detaches under the tree lock; returns the pager and port to let go of once it is dropped.
static void detach_locked(struct page_source *src, bool complete, struct pager **out_pg,
                          struct kobject **out_port) REQUIRES(src->tree->lock) {
    page_source_detach_locked(src);
    *out_pg = src->pager;
    *out_port = src->port;
    if (complete && src->pager && src->port)
        (void)send_packet(src->port, src->key, ZX_PAGER_VMO_COMPLETE, 0, 0);  // a notice only
    src->pager = NULL;
    src->port = NULL;
}

static void pager_on_zero_handles(struct kobject *obj) {
    struct pager *pg = pager_from_object(obj);
    // Detach every VMO (no COMPLETE). Each step takes the tree lock before the pager lock, so
    // the source is picked under the pager lock, which is then dropped.
    for (;;) {
        mutex_acquire(&pg->lock);
        if (list_is_empty(&pg->sources)) {
            mutex_release(&pg->lock);
            return;
        }
        struct page_source *src =
            containerof(pg->sources.next, struct page_source, pager_link);
        struct vmo *v = src->vmo;
        bool alive = v && kobject_try_retain(vmo_object(v));
        mutex_release(&pg->lock);
        if (!alive) {
            thread_yield();  // the VMO is dying: its destroy takes the source off the list
            continue;
        }
        struct pager *old_pg = NULL;
        struct kobject *port = NULL;
        src_lock(src);
        if (src->pager == pg)
            detach_locked(src, false, &old_pg, &port);
        src_unlock(src);
        src_leave_pager(src, old_pg);
        if (port)
            kobject_release(port);
        kobject_release(vmo_object(v));
    }
}

// The source of `vmo` if `pager` made it (and it is the pager VMO itself, not a child).
static struct page_source *owned_source(struct pager *pg, struct vmo *vmo) {
    struct page_source *src = vmo_page_source(vmo);
    if (!src || src->vmo != vmo)
        return NULL;
    src_lock(src);
    bool mine = src->pager == pg || (src->detached && src->creator == pg);
    src_unlock(src);
    return mine ? src : NULL;
}

// --- The calls ---

zx_status_t pager_create_vmo(struct pager *pg, uint32_t options, struct kobject *port,
                             uint64_t key, uint64_t size, struct vmo **out) {
    if (options & ~(ZX_VMO_RESIZABLE | ZX_VMO_TRAP_DIRTY))
        return ZX_ERR_INVALID_ARGS;
    struct page_source *src = kzalloc(sizeof(*src));
    if (!src)
        return ZX_ERR_NO_MEMORY;
    struct vmo *v;
    zx_status_t st = vmo_create_pager_backed(size, options, src, &v);
    if (st != ZX_OK) {
        kfree(src);
        return st;
    }
    kobject_retain(port);
    kobject_retain(&pg->obj);  // the source's, dropped when it leaves the pager
    src_lock(src);
    src->pager = pg;
    src->creator = pg;
    src->port = port;
    src->key = key;
    mutex_acquire(&pg->lock);
    list_add_tail(&pg->sources, &src->pager_link);
    mutex_release(&pg->lock);
    src_unlock(src);
    *out = v;
    return ZX_OK;
}

zx_status_t pager_detach_vmo(struct pager *pg, struct vmo *vmo) {
    struct page_source *src = owned_source(pg, vmo);
    if (!src)
        return ZX_ERR_INVALID_ARGS;
    struct pager *old_pg = NULL;
    struct kobject *port = NULL;
    src_lock(src);
    if (!src->detached)
        detach_locked(src, true, &old_pg, &port);
    src_unlock(src);
    src_leave_pager(src, old_pg);
    if (port)
        kobject_release(port);
    return ZX_OK;
}

// Range checks shared by supply and op_range: INVALID_ARGS (unaligned), OUT_OF_RANGE.
static zx_status_t check_range_locked(struct page_source *src, uint64_t offset, uint64_t length)
    REQUIRES(src->tree->lock) {
    if (!IS_ALIGNED(offset, P) || !IS_ALIGNED(length, P))
        return ZX_ERR_INVALID_ARGS;
    if (offset > src->root->size || length > src->root->size - offset)
        return ZX_ERR_OUT_OF_RANGE;
    return ZX_OK;
}

zx_status_t pager_supply_pages(struct pager *pg, struct vmo *vmo, uint64_t offset,
                               uint64_t length, struct vmo *aux, uint64_t aux_offset) {
    struct page_source *src = owned_source(pg, vmo);
    if (!src)
        return ZX_ERR_INVALID_ARGS;
    if (!IS_ALIGNED(aux_offset, P))
        return ZX_ERR_INVALID_ARGS;
    src_lock(src);
    zx_status_t st = check_range_locked(src, offset, length);
    if (st == ZX_OK && src->detached)
        st = ZX_ERR_BAD_STATE;
    src_unlock(src);
    if (st != ZX_OK || length == 0)
        return st;
    struct vmpl_splice *sp = kmalloc(sizeof(*sp));
    if (!sp)
        return ZX_ERR_NO_MEMORY;
    st = vmo_take_pages(aux, aux_offset, length, sp);
    if (st != ZX_OK) {
        kfree(sp);
        return st;
    }
    src_lock(src);
    // The VMO may have shrunk or been detached meanwhile: supply what still fits.
    uint64_t fits = 0;
    if (src->detached)
        st = ZX_ERR_BAD_STATE;
    else if (offset < src->root->size)
        fits = MIN(length, src->root->size - offset);
    st = page_source_supply_locked(src, offset, sp, fits);
    src_unlock(src);
    kfree(sp);
    return st;
}

// FAIL's allowed statuses (docs/abi.md §9).
static bool fail_status_ok(uint64_t data) {
    int64_t s = (int64_t)data;
    return s == ZX_ERR_IO || s == ZX_ERR_IO_DATA_INTEGRITY || s == ZX_ERR_BAD_STATE ||
           s == ZX_ERR_NO_SPACE || s == ZX_ERR_BUFFER_TOO_SMALL;
}

zx_status_t pager_op_range(struct pager *pg, uint32_t op, struct vmo *vmo, uint64_t offset,
                           uint64_t length, uint64_t data) {
    if (op < ZX_PAGER_OP_FAIL || op > ZX_PAGER_OP_WRITEBACK_END)
        return ZX_ERR_NOT_SUPPORTED;
    struct page_source *src = owned_source(pg, vmo);
    if (!src)
        return ZX_ERR_INVALID_ARGS;
    src_lock(src);
    zx_status_t st = check_range_locked(src, offset, length);
    if (st != ZX_OK)
        goto out;
    uint64_t end = offset + length;
    switch (op) {
    case ZX_PAGER_OP_FAIL:
        if (!fail_status_ok(data))
            st = ZX_ERR_INVALID_ARGS;
        else if (src->detached)
            st = ZX_ERR_BAD_STATE;
        else
            page_source_fail_locked(src, offset, end, (zx_status_t)(int64_t)data);
        break;
    case ZX_PAGER_OP_DIRTY:
        if (data != 0)
            st = ZX_ERR_INVALID_ARGS;
        else if (src->detached)
            st = ZX_ERR_BAD_STATE;
        else
            st = page_source_op_dirty_locked(src, offset, end);
        break;
    case ZX_PAGER_OP_WRITEBACK_BEGIN:
        if (data & ~ZX_VMO_DIRTY_RANGE_IS_ZERO)
            st = ZX_ERR_INVALID_ARGS;
        else
            st = page_source_writeback_begin_locked(src, offset, end);
        break;
    case ZX_PAGER_OP_WRITEBACK_END:
        if (data != 0)
            st = ZX_ERR_INVALID_ARGS;
        else
            st = page_source_writeback_end_locked(src, offset, end);
        break;
    }
out:
    src_unlock(src);
    return st;
}

struct dirty_collect {
    zx_vmo_dirty_range_t *out;
    size_t max, actual, avail;
};

static zx_status_t dirty_collect_fn(void *ctx, uint64_t offset, uint64_t len, uint64_t options) {
    struct dirty_collect *c = ctx;
    if (c->actual < c->max)
        c->out[c->actual++] = (zx_vmo_dirty_range_t){offset, len, options};
    c->avail++;
    return ZX_ERR_NEXT;
}

zx_status_t pager_query_dirty_ranges(struct pager *pg, struct vmo *vmo, uint64_t offset,
                                     uint64_t length, zx_vmo_dirty_range_t *out, size_t max,
                                     size_t *out_actual, size_t *out_avail) {
    struct page_source *src = owned_source(pg, vmo);
    if (!src)
        return ZX_ERR_INVALID_ARGS;
    src_lock(src);
    zx_status_t st = ZX_OK;
    uint64_t size = src->root->size;
    if (offset > size || length > size - offset) {
        st = ZX_ERR_OUT_OF_RANGE;
    } else {
        struct dirty_collect c = {.out = out, .max = max};
        uint64_t s = ROUNDDOWN(offset, P), e = ROUNDUP(offset + length, P);
        st = page_source_dirty_ranges_locked(src, s, e, dirty_collect_fn, &c);
        *out_actual = c.actual;
        *out_avail = c.avail;
    }
    src_unlock(src);
    return st;
}

zx_status_t pager_query_vmo_stats(struct pager *pg, struct vmo *vmo, uint32_t options,
                                  zx_pager_vmo_stats_t *out) {
    struct page_source *src = owned_source(pg, vmo);
    if (!src || (options & ~ZX_PAGER_RESET_VMO_STATS))
        return ZX_ERR_INVALID_ARGS;
    src_lock(src);
    out->modified = src->modified ? ZX_PAGER_VMO_STATS_MODIFIED : 0;
    if (options & ZX_PAGER_RESET_VMO_STATS)
        src->modified = false;
    src_unlock(src);
    return ZX_OK;
}

void pager_vmo_counts(struct vmo *vmo, uint64_t *out_requests, uint64_t *out_supplied) {
    struct page_source *src = vmo_page_source(vmo);
    *out_requests = *out_supplied = 0;
    if (!src)
        return;
    src_lock(src);
    *out_requests = src->requests_sent;
    *out_supplied = src->pages_supplied;
    src_unlock(src);
}

bool pager_evict_page(struct vmo *vmo, uint64_t offset) {
    struct page_source *src = vmo_page_source(vmo);
    if (!src || !IS_ALIGNED(offset, P))
        return false;
    src_lock(src);
    bool done = offset < src->root->size && page_source_evict_clean_page_locked(src, offset);
    src_unlock(src);
    return done;
}
