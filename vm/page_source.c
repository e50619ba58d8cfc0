// Page sources (contract: vm/page_source.h; the life cycle and the states: docs/pager.md).
// Everything here runs under the tree lock of the pager VMO's clone tree; the only calls out are
// the upcalls that queue a packet and wake a request's waiters (vm/upcalls.h).
#include "vm/page_source.h"

#include "kernel/assert.h"
#include "kernel/heap.h"
#include "kernel/printf.h"
#include "vm/cow_pages_priv.h"
#include "vm/page_list_priv.h"
#include "vm/page_queues.h"
#include "vm/pmm.h"
#include "vm/upcalls.h"

#define P ((uint64_t)PAGE_SIZE)

// Walks a list whose current element the body may delete.
#define list_for_each_safe(head, it, nx)                                                       \
    for (struct list_node *it = (head)->next, *nx = it->next; it != (head); it = nx, nx = it->next)

void page_source_init(struct page_source *src, struct cow_tree *tree, struct cow_node *root) {
    src->tree = tree;
    src->root = root;
    list_init(&src->requests);
    list_init(&src->pager_link);
    root->has_intervals = true;
}

// --- A walk over what the root holds, in runs ---

enum ps_kind {
    PS_MISSING,  // never supplied
    PS_PAGE,     // one page (state: its own)
    PS_ZERO,     // zero content: an interval (state: the interval's) or a marker (Clean)
};

// Called for each run [start, end) of one kind and state; `page` for PS_PAGE (one page a run).
// A Dirty zero interval with an AwaitingClean length is two runs: AwaitingClean, then Dirty.
// Returns ZX_ERR_NEXT, ZX_ERR_STOP or an error.
typedef zx_status_t (*ps_run_fn)(void *ctx, uint64_t start, uint64_t end, enum ps_kind kind,
                                 enum pager_page_state state, vm_page_t *page);

struct ps_walk {
    ps_run_fn fn;
    void *ctx;
    uint64_t start, end;
    bool in_iv;          // inside an interval whose End is still ahead
    uint64_t iv_start;   // where that interval's run begins (clipped to the range)
    uint64_t iv_awaiting_end;  // its Start's offset + its AwaitingClean length
    enum pager_page_state iv_state;
    bool stopped;        // fn returned ZX_ERR_STOP
};

static zx_status_t ps_emit(struct ps_walk *w, uint64_t start, uint64_t end, enum ps_kind kind,
                           enum pager_page_state state, vm_page_t *page) {
    zx_status_t st = w->fn(w->ctx, start, end, kind, state, page);
    if (st == ZX_ERR_STOP)
        w->stopped = true;
    return st;
}

static enum pager_page_state zero_state(enum vmpl_dirty d) {
    return d == VMPL_DIRTY_DIRTY ? PAGER_PAGE_DIRTY : PAGER_PAGE_CLEAN;
}

// Emits the zero run [start, end) of an interval whose AwaitingClean part ends at awaiting_end:
// the part before it AwaitingClean, the rest in the interval's state.
static zx_status_t ps_emit_zero(struct ps_walk *w, uint64_t start, uint64_t end,
                                enum pager_page_state state, uint64_t awaiting_end) {
    if (start < awaiting_end) {
        zx_status_t st = ps_emit(w, start, MIN(end, awaiting_end), PS_ZERO,
                                 PAGER_PAGE_AWAITING_CLEAN, NULL);
        if (st != ZX_ERR_NEXT || awaiting_end >= end)
            return st;
        start = awaiting_end;
    }
    return ps_emit(w, start, end, PS_ZERO, state, NULL);
}

static void ps_open_interval(struct ps_walk *w, uint64_t run_start, uint64_t iv_start,
                             vmpl_slot_t sentinel) {
    w->in_iv = true;
    w->iv_start = run_start;
    w->iv_state = zero_state(vmpl_slot_dirty(sentinel));
    w->iv_awaiting_end = iv_start + vmpl_slot_awaiting_len(sentinel);
}

static zx_status_t ps_walk_slot(vmpl_slot_t *slot, uint64_t offset, void *c) {
    struct ps_walk *w = c;
    vmpl_slot_t s = *slot;
    if (vmpl_slot_is_page(s))
        return ps_emit(w, offset, offset + P, PS_PAGE, pager_page_state(vmpl_slot_page(s)),
                       vmpl_slot_page(s));
    if (vmpl_slot_is_marker(s))
        return ps_emit(w, offset, offset + P, PS_ZERO, PAGER_PAGE_CLEAN, NULL);
    if (!vmpl_slot_is_interval(s))
        return ZX_ERR_NEXT;  // no references in pager VMOs (no compression of them)
    switch (vmpl_slot_sentinel(s)) {
    case VMPL_SENTINEL_SLOT:
        return ps_emit_zero(w, offset, offset + P, zero_state(vmpl_slot_dirty(s)),
                            offset + vmpl_slot_awaiting_len(s));
    case VMPL_SENTINEL_START:
        ps_open_interval(w, offset, offset, s);
        return ZX_ERR_NEXT;
    default:
        ASSERT_MSG(w->in_iv, "ps_walk: End at %#llx without a Start", (unsigned long long)offset);
        w->in_iv = false;
        return ps_emit_zero(w, w->iv_start, offset + P, w->iv_state, w->iv_awaiting_end);
    }
}

static zx_status_t ps_walk_gap(uint64_t start, uint64_t end, void *c) {
    struct ps_walk *w = c;
    return ps_emit(w, start, end, PS_MISSING, PAGER_PAGE_CLEAN, NULL);
}

// Reports [start, end) of the root as runs, in order. Returns ZX_OK or fn's error.
static zx_status_t ps_walk(struct page_source *src, uint64_t start, uint64_t end, ps_run_fn fn,
                           void *ctx) REQUIRES(src->tree->lock) {
    struct ps_walk w = {.fn = fn, .ctx = ctx, .start = start, .end = end};
    struct vmpl *pl = &src->root->pages;
    // Starting inside an interval (not at its Start): its run begins at `start`.
    vmpl_slot_t first = vmpl_get(pl, start), sentinel;
    uint64_t iv_start;
    if (!vmpl_slot_is_interval_start(first) && !vmpl_slot_is_interval_slot(first) &&
        vmpl_interval_start_of(pl, start, &iv_start, &sentinel))
        ps_open_interval(&w, start, iv_start, sentinel);
    zx_status_t st = vmpl_for_each_and_gap(pl, start, end, ps_walk_slot, ps_walk_gap, &w);
    if (st != ZX_OK || w.stopped || !w.in_iv)
        return st;
    // An interval whose End lies past the range.
    st = ps_emit_zero(&w, w.iv_start, end, w.iv_state, w.iv_awaiting_end);
    return st == ZX_ERR_NEXT || st == ZX_ERR_STOP ? ZX_OK : st;
}

// --- Requests ---

static void request_complete_locked(struct page_source *src, struct page_request *r,
                                    zx_status_t status) REQUIRES(src->tree->lock) {
    ASSERT_MUTEX_HELD(&src->tree->lock);
    ASSERT(r->outstanding);
    list_delete(&r->node);
    r->outstanding = false;
    r->status = status;
    page_request_wake(r);  // sets done under the scheduler lock
    if (--r->refs == 0)
        kfree(r);
}

// Sends a request for [start, end) unless outstanding ones of `command` cover parts of it (those
// parts are not asked for again). *io_wait gets a reference on the first request covering
// `start` if it has none yet. ZX_ERR_NO_MEMORY.
static zx_status_t request_range_locked(struct page_source *src, uint16_t command, uint64_t start,
                                        uint64_t end, struct page_request **io_wait)
    REQUIRES(src->tree->lock) {
    uint64_t cur = start;
    while (cur < end) {
        // The outstanding request covering cur, or the nearest one starting after it.
        struct page_request *cover = NULL;
        uint64_t next = end;
        list_for_each(&src->requests, it) {
            struct page_request *r = containerof(it, struct page_request, node);
            if (r->command != command)
                continue;
            if (r->start <= cur && cur < r->end) {
                cover = r;
                break;
            }
            if (r->start > cur && r->start < next)
                next = r->start;
        }
        if (!cover) {
            cover = kzalloc(sizeof(*cover));
            if (!cover)
                return ZX_ERR_NO_MEMORY;
            cover->start = cur;
            cover->end = next;
            cover->command = command;
            cover->outstanding = true;
            cover->refs = 1;
            list_init(&cover->wq.waiters);
            // No packet, no request: an unsent request would never be answered, and its waiter
            // would sleep until killed. NO_MEMORY goes back to the access (a fault reclaims and
            // retries), and a later access asks again.
            if (page_source_send_locked(src, command, cur, next - cur) != ZX_OK) {
                kfree(cover);
                return ZX_ERR_NO_MEMORY;
            }
            list_add_tail(&src->requests, &cover->node);
            src->requests_sent++;
        }
        if (!*io_wait) {
            cover->refs++;
            *io_wait = cover;
        }
        cur = MIN(cover->end, end);
    }
    return ZX_OK;
}

struct prepare_ctx {
    struct page_source *src;
    bool write;
    bool missing;        // a missing page was found
    uint64_t ms, me;     // the first missing run
    bool clean;          // a write found content that needs a DIRTY request (TRAP_DIRTY)
    uint64_t cs, ce;     // the first such run (merged while contiguous)
};

static zx_status_t prepare_run(void *c, uint64_t start, uint64_t end, enum ps_kind kind,
                               enum pager_page_state state, vm_page_t *page) {
    (void)page;
    struct prepare_ctx *p = c;
    if (kind == PS_MISSING) {
        p->missing = true;
        p->ms = start;
        p->me = end;
        return ZX_ERR_STOP;  // a READ comes first: look for DIRTY work once supplied
    }
    if (!p->write || !p->src->trap_dirty || state == PAGER_PAGE_DIRTY) {
        if (p->clean)
            return ZX_ERR_STOP;
        return ZX_ERR_NEXT;
    }
    if (p->clean && p->ce != start)
        return ZX_ERR_STOP;
    if (!p->clean)
        p->cs = start;
    p->clean = true;
    p->ce = end;
    return ZX_ERR_NEXT;
}

zx_status_t page_source_prepare_locked(struct page_source *src, uint64_t start, uint64_t end,
                                       bool write, struct page_request **io_wait) {
    ASSERT_MUTEX_HELD(&src->tree->lock);
    DEBUG_ASSERT(IS_ALIGNED(start, P) && IS_ALIGNED(end, P) && start <= end);
    struct prepare_ctx p = {.src = src, .write = write};
    zx_status_t st = ps_walk(src, start, end, prepare_run, &p);
    if (st != ZX_OK)
        return st;
    if (!p.missing && !p.clean)
        return ZX_OK;
    if (src->detached)
        return ZX_ERR_BAD_STATE;
    struct page_request *wait = *io_wait;  // the caller's reference, if it has one already
    if (p.missing) {
        // Ask for every missing run of the range now (one packet each), wait for the first.
        st = request_range_locked(src, ZX_PAGER_VMO_READ, p.ms, p.me, &wait);
        uint64_t cur = p.me;
        while (st == ZX_OK && cur < end) {
            struct prepare_ctx q = {.src = src};
            st = ps_walk(src, cur, end, prepare_run, &q);
            if (st != ZX_OK || !q.missing)
                break;
            st = request_range_locked(src, ZX_PAGER_VMO_READ, q.ms, q.me, &wait);
            cur = q.me;
        }
    } else {
        st = request_range_locked(src, ZX_PAGER_VMO_DIRTY, p.cs, p.ce, &wait);
    }
    if (st != ZX_OK && !wait)
        return st;
    *io_wait = wait;
    return ZX_ERR_SHOULD_WAIT;
}

void page_source_page_written_locked(struct page_source *src, vm_page_t *p) {
    ASSERT_MUTEX_HELD(&src->tree->lock);
    pager_page_set_state(p, PAGER_PAGE_DIRTY);
    src->modified = true;
}

// --- Supply ---

static zx_status_t first_missing_run(void *c, uint64_t start, uint64_t end, enum ps_kind kind,
                                     enum pager_page_state state, vm_page_t *page) {
    (void)state;
    (void)page;
    uint64_t *run = c;
    if (kind != PS_MISSING)
        return ZX_ERR_NEXT;
    run[0] = start;
    run[1] = end;
    return ZX_ERR_STOP;
}

// The first missing run of [start, end) in *out_s, *out_e; false if none.
static bool find_missing(struct page_source *src, uint64_t start, uint64_t end, uint64_t *out_s,
                         uint64_t *out_e) REQUIRES(src->tree->lock) {
    uint64_t run[2] = {end, end};
    zx_status_t st = ps_walk(src, start, end, first_missing_run, run);
    ASSERT(st == ZX_OK);
    *out_s = run[0];
    *out_e = run[1];
    return run[0] < end;
}

static void free_content(vmpl_slot_t c) {
    if (vmpl_slot_is_page(c))
        pmm_free_page(vmpl_slot_page(c));
}

static void splice_release(vmpl_slot_t content, uint64_t offset, void *ctx) {
    (void)offset;
    (void)ctx;
    free_content(content);
}

// Places zeros over [s, e) (all missing) as one Clean interval.
static zx_status_t place_zero_locked(struct page_source *src, uint64_t s, uint64_t e)
    REQUIRES(src->tree->lock) {
    if (s == e)
        return ZX_OK;
    return vmpl_add_zero_interval(&src->root->pages, s, e, VMPL_DIRTY_CLEAN);
}

zx_status_t page_source_supply_locked(struct page_source *src, uint64_t offset,
                                      struct vmpl_splice *sp, uint64_t length) {
    ASSERT_MUTEX_HELD(&src->tree->lock);
    ASSERT(length <= sp->length);
    struct cow_node *root = src->root;
    uint64_t end = offset + length, cur = offset;
    zx_status_t st = ZX_OK;
    while (st == ZX_OK && cur < end) {
        uint64_t ms, me;
        if (!find_missing(src, cur, end, &ms, &me))
            ms = me = end;
        for (; cur < ms; cur += P)
            free_content(vmpl_splice_pop(sp));  // the root has it: what is there wins
        uint64_t zs = cur;  // start of a pending zero run
        for (; cur < me && st == ZX_OK; cur += P) {
            vmpl_slot_t c = vmpl_splice_pop(sp);
            if (!vmpl_slot_is_page(c))
                continue;  // zero content: extends the pending run
            st = place_zero_locked(src, zs, cur);
            vmpl_slot_t *slot;
            if (st == ZX_OK)
                st = vmpl_lookup_or_alloc(&root->pages, cur, VMPL_NO_INTERVALS, &slot, NULL);
            if (st != ZX_OK) {
                free_content(c);
                break;
            }
            vm_page_t *p = vmpl_slot_page(c);
            p->vmo.share_count = 0 - root->base;
            pager_page_set_state(p, PAGER_PAGE_CLEAN);
            // Off every queue since vmo_take_pages: it joins the pager pages' newest bucket.
            cow_assert_held(root);
            cow_page_set_backlink(root, p, cur);
            *slot = c;
            src->tree->pages++;
            src->pages_supplied++;
            zs = cur + P;
        }
        if (st == ZX_OK)
            st = place_zero_locked(src, zs, cur);
    }
    vmpl_splice_destroy(sp, splice_release, NULL);
    // Wake READ requests that have nothing missing any more.
    list_for_each_safe(&src->requests, it, tmp) {
        struct page_request *r = containerof(it, struct page_request, node);
        uint64_t ms, me;
        if (r->command == ZX_PAGER_VMO_READ && r->start < end && offset < r->end &&
            !find_missing(src, r->start, r->end, &ms, &me))
            request_complete_locked(src, r, ZX_OK);
    }
    return st;
}

// --- Operations ---

void page_source_fail_locked(struct page_source *src, uint64_t start, uint64_t end,
                             zx_status_t status) {
    ASSERT_MUTEX_HELD(&src->tree->lock);
    list_for_each_safe(&src->requests, it, tmp) {
        struct page_request *r = containerof(it, struct page_request, node);
        if (r->start < end && start < r->end)
            request_complete_locked(src, r, status);
    }
}

// Changes the state of pages and zero ranges of [start, end) whose state is `from` to `to`
// (interval surgery restarts the walk after each change).
struct restate_ctx {
    enum pager_page_state from, to;
    bool any;  // from is every state but `to`
    bool found_zero;
    uint64_t zs, ze;
};

static zx_status_t restate_run(void *c, uint64_t start, uint64_t end, enum ps_kind kind,
                               enum pager_page_state state, vm_page_t *page) {
    struct restate_ctx *r = c;
    if (kind == PS_MISSING)
        return ZX_ERR_NEXT;
    bool match = r->any ? state != r->to : state == r->from;
    if (!match)
        return ZX_ERR_NEXT;
    if (kind == PS_PAGE) {
        pager_page_set_state(page, r->to);
        return ZX_ERR_NEXT;
    }
    r->found_zero = true;
    r->zs = start;
    r->ze = end;
    return ZX_ERR_STOP;
}

// A zero run [s, e) inside one interval (or a marker) takes state `to`.
static zx_status_t restate_zero_locked(struct page_source *src, uint64_t s, uint64_t e,
                                       enum pager_page_state to) REQUIRES(src->tree->lock) {
    struct vmpl *pl = &src->root->pages;
    if (vmpl_slot_is_marker(vmpl_get(pl, s))) {
        // A marker is a Clean zero page: as an interval it can take any state but AwaitingClean
        // (only Dirty content begins writeback).
        ASSERT(to != PAGER_PAGE_AWAITING_CLEAN);
        (void)vmpl_remove(pl, s);
        return vmpl_add_zero_interval(
            pl, s, e, to == PAGER_PAGE_DIRTY ? VMPL_DIRTY_DIRTY : VMPL_DIRTY_CLEAN);
    }
    switch (to) {
    case PAGER_PAGE_AWAITING_CLEAN:
        return vmpl_set_interval_awaiting_clean(pl, s, e);
    case PAGER_PAGE_DIRTY:
        return vmpl_set_interval_dirty(pl, s, e, VMPL_DIRTY_DIRTY);
    default:
        return vmpl_set_interval_dirty(pl, s, e, VMPL_DIRTY_CLEAN);
    }
}

// Debug builds check the root's page list after each change of zero ranges (the intervals'
// states and AwaitingClean lengths: vmpl_check), so every pager test checks the representation.
static void check_root_list_locked(struct page_source *src) REQUIRES(src->tree->lock) {
    ASSERT_MSG(!JASPER_DEBUG || vmpl_check(&src->root->pages),
               "page_source %p: the root's page list is broken", (void *)src);
}

// any: every state but `to` (`from` is ignored).
static zx_status_t restate_locked(struct page_source *src, uint64_t start, uint64_t end, bool any,
                                  enum pager_page_state from, enum pager_page_state to)
    REQUIRES(src->tree->lock) {
    uint64_t cur = start;
    while (cur < end) {
        struct restate_ctx r = {.from = from, .to = to, .any = any};
        zx_status_t st = ps_walk(src, cur, end, restate_run, &r);
        if (st != ZX_OK)
            return st;
        if (!r.found_zero)
            return ZX_OK;
        st = restate_zero_locked(src, r.zs, r.ze, to);
        if (st != ZX_OK)
            return st;
        check_root_list_locked(src);
        cur = r.ze;
    }
    return ZX_OK;
}

static zx_status_t missing_run(void *c, uint64_t start, uint64_t end, enum ps_kind kind,
                               enum pager_page_state state, vm_page_t *page) {
    (void)start;
    (void)end;
    (void)state;
    (void)page;
    if (kind != PS_MISSING)
        return ZX_ERR_NEXT;
    *(bool *)c = true;
    return ZX_ERR_STOP;
}

zx_status_t page_source_op_dirty_locked(struct page_source *src, uint64_t start, uint64_t end) {
    ASSERT_MUTEX_HELD(&src->tree->lock);
    bool missing = false;
    zx_status_t st = ps_walk(src, start, end, missing_run, &missing);
    if (st != ZX_OK)
        return st;
    if (missing)
        return ZX_ERR_NOT_FOUND;
    st = restate_locked(src, start, end, true, PAGER_PAGE_CLEAN, PAGER_PAGE_DIRTY);
    if (st != ZX_OK)
        return st;
    // DIRTY requests now wholly Dirty are done (the writers look again).
    list_for_each_safe(&src->requests, it, tmp) {
        struct page_request *r = containerof(it, struct page_request, node);
        if (r->command == ZX_PAGER_VMO_DIRTY && r->start < end && start < r->end)
            request_complete_locked(src, r, ZX_OK);
    }
    return ZX_OK;
}

zx_status_t page_source_writeback_begin_locked(struct page_source *src, uint64_t start,
                                               uint64_t end) {
    ASSERT_MUTEX_HELD(&src->tree->lock);
    // Mappings may write Dirty pages without faulting: make them fault on the next write, which
    // then finds the page AwaitingClean and makes it Dirty again.
    if (start < end)
        vmo_cow_range_change(src->root, start, end - start, VM_RANGE_REMOVE_WRITE);
    return restate_locked(src, start, end, false, PAGER_PAGE_DIRTY, PAGER_PAGE_AWAITING_CLEAN);
}

zx_status_t page_source_writeback_end_locked(struct page_source *src, uint64_t start,
                                             uint64_t end) {
    ASSERT_MUTEX_HELD(&src->tree->lock);
    return restate_locked(src, start, end, false, PAGER_PAGE_AWAITING_CLEAN, PAGER_PAGE_CLEAN);
}

struct dirty_ctx {
    page_source_range_fn fn;
    void *ctx;
    bool have;
    uint64_t s, e, options;
    bool stopped;
};

static zx_status_t dirty_flush(struct dirty_ctx *d) {
    if (!d->have)
        return ZX_ERR_NEXT;
    d->have = false;
    zx_status_t st = d->fn(d->ctx, d->s, d->e - d->s, d->options);
    if (st == ZX_ERR_STOP)
        d->stopped = true;
    return st;
}

static zx_status_t dirty_run(void *c, uint64_t start, uint64_t end, enum ps_kind kind,
                             enum pager_page_state state, vm_page_t *page) {
    (void)page;
    struct dirty_ctx *d = c;
    bool dirty = kind != PS_MISSING &&
                 (state == PAGER_PAGE_DIRTY || state == PAGER_PAGE_AWAITING_CLEAN);
    uint64_t options = kind == PS_ZERO ? ZX_VMO_DIRTY_RANGE_IS_ZERO : 0;
    if (d->have && (!dirty || d->e != start || d->options != options)) {
        zx_status_t st = dirty_flush(d);
        if (st != ZX_ERR_NEXT)
            return st;
    }
    if (!dirty)
        return ZX_ERR_NEXT;
    if (!d->have) {
        d->have = true;
        d->s = start;
        d->options = options;
    }
    d->e = end;
    return ZX_ERR_NEXT;
}

zx_status_t page_source_dirty_ranges_locked(struct page_source *src, uint64_t start, uint64_t end,
                                            page_source_range_fn fn, void *ctx) {
    ASSERT_MUTEX_HELD(&src->tree->lock);
    struct dirty_ctx d = {.fn = fn, .ctx = ctx};
    zx_status_t st = ps_walk(src, start, end, dirty_run, &d);
    if (st != ZX_OK || d.stopped)
        return st;
    st = dirty_flush(&d);
    return st == ZX_ERR_NEXT || st == ZX_ERR_STOP ? ZX_OK : st;
}

static void release_root_page(vmpl_slot_t content, uint64_t offset, void *ctx) {
    (void)offset;
    struct cow_tree *t = ctx;
    ASSERT(vmpl_slot_is_page(content) && t->pages > 0);
    t->pages--;
    pq_remove(vmpl_slot_page(content));
    pmm_free_page(vmpl_slot_page(content));
}

zx_status_t page_source_zero_locked(struct page_source *src, uint64_t start, uint64_t end) {
    ASSERT_MUTEX_HELD(&src->tree->lock);
    if (start == end)
        return ZX_OK;
    // Clip the intervals crossing the ends first (the only allocation), then drop everything.
    struct vmpl *pl = &src->root->pages;
    zx_status_t st = vmpl_split_at(pl, start);
    if (st == ZX_OK)
        st = vmpl_split_at(pl, end);
    if (st != ZX_OK) {
        vmpl_join_at(pl, start, NULL);
        return st;
    }
    st = vmpl_clear_range(pl, start, end, release_root_page, src->tree);
    ASSERT(st == ZX_OK);
    st = vmpl_add_zero_interval(pl, start, end, VMPL_DIRTY_DIRTY);
    // Only the End and Start around the range can need nodes, and clearing kept them.
    ASSERT_MSG(st == ZX_OK, "page_source_zero_locked: %d", st);
    check_root_list_locked(src);
    src->modified = true;
    return ZX_OK;
}

zx_status_t page_source_resized_locked(struct page_source *src, uint64_t old_size,
                                       uint64_t new_size) {
    ASSERT_MUTEX_HELD(&src->tree->lock);
    if (new_size > old_size) {
        zx_status_t st =
            vmpl_add_zero_interval(&src->root->pages, old_size, new_size, VMPL_DIRTY_DIRTY);
        if (st != ZX_OK)
            return st;
        check_root_list_locked(src);
    } else {
        list_for_each_safe(&src->requests, it, tmp) {
            struct page_request *r = containerof(it, struct page_request, node);
            if (r->end > new_size)
                request_complete_locked(src, r, ZX_OK);
        }
    }
    if (new_size != old_size)
        src->modified = true;
    return ZX_OK;
}

void page_source_detach_locked(struct page_source *src) {
    ASSERT_MUTEX_HELD(&src->tree->lock);
    src->detached = true;
    while (!list_is_empty(&src->requests)) {
        struct page_request *r =
            containerof(src->requests.next, struct page_request, node);
        request_complete_locked(src, r, ZX_ERR_BAD_STATE);
    }
}

bool page_source_evict_clean_page_locked(struct page_source *src, uint64_t offset) {
    ASSERT_MUTEX_HELD(&src->tree->lock);
    vmpl_slot_t *slot = vmpl_lookup(&src->root->pages, offset);
    if (!slot || !vmpl_slot_is_page(*slot))
        return false;
    vm_page_t *p = vmpl_slot_page(*slot);
    if (pager_page_state(p) != PAGER_PAGE_CLEAN || src->detached)
        return false;
    vmo_cow_range_change(src->root, offset, P, VM_RANGE_UNMAP);
    (void)vmpl_remove(&src->root->pages, offset);
    release_root_page(vmpl_slot_from_page(p), offset, src->tree);
    return true;
}

// --- Checking ---

static zx_status_t check_state_cb(vmpl_slot_t *slot, uint64_t offset, void *ctx) {
    (void)ctx;
    if (vmpl_slot_is_page(*slot) &&
        pager_page_state(vmpl_slot_page(*slot)) > PAGER_PAGE_AWAITING_CLEAN) {
        kprintf("page_source_check: page at %#llx has state %u\n", (unsigned long long)offset,
               pager_page_state(vmpl_slot_page(*slot)));
        return ZX_ERR_BAD_STATE;
    }
    return ZX_ERR_NEXT;
}

bool page_source_check_locked(struct page_source *src) {
    ASSERT_MUTEX_HELD(&src->tree->lock);
    list_for_each(&src->requests, it) {
        struct page_request *r = containerof(it, struct page_request, node);
        if (!r->outstanding || r->refs == 0 || !IS_ALIGNED(r->start, P) ||
            !IS_ALIGNED(r->end, P) || r->start >= r->end) {
            kprintf("page_source_check: bad request [%#llx, %#llx) refs %u\n",
                   (unsigned long long)r->start, (unsigned long long)r->end, r->refs);
            return false;
        }
        if (src->detached) {
            kprintf("page_source_check: request outstanding after detach\n");
            return false;
        }
        list_for_each(&src->requests, jt) {
            struct page_request *q = containerof(jt, struct page_request, node);
            if (q != r && q->command == r->command && q->start < r->end && r->start < q->end) {
                kprintf("page_source_check: requests overlap at %#llx\n",
                       (unsigned long long)MAX(q->start, r->start));
                return false;
            }
        }
    }
    return vmpl_for_each(&src->root->pages, 0, VMPL_MAX_SIZE, check_state_cb, NULL) == ZX_OK;
}
