// The page list, continued: moving content between lists (vmpl_merge_onto), taking a range out
// into a splice (vmpl_take and vmpl_splice_*), and the checker (vmpl_check).
//
// Merging with intervals. Where dst has content (or lies in one of its intervals) src's content is
// discarded; elsewhere it moves. A src interval that is partly covered by dst must be cut so that
// each piece is either wholly covered (dropped with both its sentinels) or wholly uncovered (moved
// with both). So the merge runs in two phases:
//   1. Prepare src (may allocate; changes representation only): split src's intervals at the
//      range ends and at every boundary between dst-covered and uncovered offsets inside them.
//      On failure the splits are joined back, leaving src exactly as it was.
//   2. Move (never allocates): drop src content outside the range; then, node by node, insert
//      src's node whole when dst has none at its key (dropping it all if dst's interval covers
//      it), else move slot by slot into dst's node, dropping covered slots. Each interval sentinel
//      placed in dst is then joined with a same-state dst interval right next to it, so dst's
//      intervals stay maximal.
#include "vm/page_list.h"

#include "kernel/printf.h"
#include "kernel/string.h"
#include "vm/page_list_priv.h"

#define P VMPL_P
#define SPAN VMPL_NODE_SPAN

struct release_ctx {
    vmpl_release_fn release;
    void *ctx;
};

static zx_status_t release_slot(vmpl_slot_t *slot, uint64_t offset, void *c) {
    struct release_ctx *r = c;
    vmpl_slot_t s = *slot;
    *slot = VMPL_SLOT_EMPTY;
    if (vmpl_slot_is_page_or_ref(s)) {
        ASSERT(r->release);
        r->release(s, offset, r->ctx);
    }
    return ZX_ERR_NEXT;
}

static zx_status_t noop_slot(vmpl_slot_t *slot, uint64_t offset, void *ctx) {
    return ZX_ERR_NEXT;
}

// Phase 1 of the merge.
struct prep_ctx {
    struct vmpl *src;
    struct vmpl *dst;
    uint64_t off;         // the src offset that becomes dst offset 0
    uint64_t lo, hi;      // the src interval being cut, [lo, hi)
    uint64_t done_until;  // src offsets below this are done (the cuts add sentinels there)
};

static zx_status_t prep_gap(uint64_t gap_start, uint64_t gap_end, void *c) {
    struct prep_ctx *p = c;
    uint64_t x = gap_start + p->off, y = gap_end + p->off;
    zx_status_t st;
    if (x > p->lo && (st = vmpl_split_at(p->src, x)) != ZX_OK)
        return st;
    if (y < p->hi && (st = vmpl_split_at(p->src, y)) != ZX_OK)
        return st;
    return ZX_ERR_NEXT;
}

static zx_status_t prep_slot(vmpl_slot_t *slot, uint64_t offset, void *c) {
    struct prep_ctx *p = c;
    if (offset < p->done_until || !vmpl_slot_is_interval_start(*slot))
        return ZX_ERR_NEXT;
    uint64_t e;
    vmpl_slot_t es;
    bool found = vmpl_next_content(p->src, offset + P, &e, &es);
    ASSERT(found && vmpl_slot_is_interval_end(es));
    p->lo = offset;
    p->hi = p->done_until = e + P;
    // Every gap of dst inside the interval is uncovered; cut the interval at the gaps' ends.
    zx_status_t st =
        vmpl_for_each_and_gap(p->dst, offset - p->off, e + P - p->off, noop_slot, prep_gap, p);
    return st == ZX_OK ? ZX_ERR_NEXT : st;
}

static zx_status_t merge_prepare(struct vmpl *src, struct vmpl *dst, uint64_t off, uint64_t end) {
    zx_status_t st = vmpl_split_at(src, off);
    if (st != ZX_OK)
        return st;
    st = vmpl_split_at(src, end);
    if (st != ZX_OK) {
        vmpl_join_at(src, off, NULL);
        return st;
    }
    struct prep_ctx p = {src, dst, off, 0, 0, 0};
    st = vmpl_walk(src, off, end, prep_slot, &p, false);
    if (st != ZX_OK)
        vmpl_rejoin_range(src, off, end);
    return st;
}

struct merge_args {
    struct vmpl *src;
    struct vmpl *dst;
    uint64_t off;
    vmpl_migrate_fn migrate;
    vmpl_release_fn release;
    void *ctx;
};

static void release_content(const struct merge_args *m, vmpl_slot_t v, uint64_t src_offset) {
    if (vmpl_slot_is_page_or_ref(v)) {
        ASSERT(m->release);
        m->release(v, src_offset, m->ctx);
    }
}

static void migrate_content(const struct merge_args *m, vmpl_slot_t *slot, uint64_t src_offset) {
    if (m->migrate) {
        m->migrate(slot, src_offset, m->ctx);
        DEBUG_ASSERT(!vmpl_slot_is_interval(*slot));
    }
}

// Joins the interval sentinel just placed at dst offset x with same-state neighbours. `keep`
// (x's node) is not freed even if emptied; the caller frees it.
static void join_placed(struct vmpl *dst, uint64_t x, struct vmpl_node *keep) {
    vmpl_slot_t *s = vmpl_slot_ptr(dst, x, NULL);
    if (vmpl_slot_is_interval_start(*s) || vmpl_slot_is_interval_slot(*s))
        vmpl_join_at(dst, x, keep);
    if (vmpl_slot_is_interval_end(*s) || vmpl_slot_is_interval_slot(*s))
        vmpl_join_at(dst, x + P, keep);
}

// src node n (unlinked) goes whole to dst at `key`, where dst has no node.
static void merge_move_node(const struct merge_args *m, struct vmpl_node *n, uint64_t key) {
    unsigned first = 0;
    while (vmpl_slot_is_empty(n->slots[first]))
        first++;
    // Without a dst node here, one dst interval covers all of the node or none of it.
    uint64_t src_first = vmpl_slot_offset(m->src, n, first);
    if (vmpl_in_interval(m->dst, src_first - m->off, NULL)) {
        for (unsigned i = first; i < VMPL_FANOUT; i++) {
            vmpl_slot_t v = n->slots[i];
            n->slots[i] = VMPL_SLOT_EMPTY;
            release_content(m, v, vmpl_slot_offset(m->src, n, i));
        }
        vmpl_node_free(n);
        return;
    }
    for (unsigned i = first; i < VMPL_FANOUT; i++) {
        if (!vmpl_slot_is_empty(n->slots[i]) && !vmpl_slot_is_interval(n->slots[i]))
            migrate_content(m, &n->slots[i], vmpl_slot_offset(m->src, n, i));
    }
    n->tree.key = key;
    zx_status_t st = wavl_insert(&m->dst->nodes, &n->tree);
    ASSERT(st == ZX_OK);
    for (unsigned i = first; i < VMPL_FANOUT; i++) {
        if (vmpl_slot_is_interval(n->slots[i]))
            join_placed(m->dst, vmpl_slot_offset(m->dst, n, i), n);
    }
    vmpl_node_free_if_empty(m->dst, n);
}

// Whether Empty slot i of node t lies inside one of t's list's intervals, judged within t (which
// is not empty): the next non-Empty slot is an End, or else the previous one is a Start.
static bool inside_in_node(const struct vmpl_node *t, unsigned i) {
    for (unsigned j = i + 1; j < VMPL_FANOUT; j++) {
        if (!vmpl_slot_is_empty(t->slots[j]))
            return vmpl_slot_is_interval_end(t->slots[j]);
    }
    for (unsigned j = i; j-- > 0;) {
        if (!vmpl_slot_is_empty(t->slots[j]))
            return vmpl_slot_is_interval_start(t->slots[j]);
    }
    return false;
}

// src node n (unlinked) moves slot by slot into dst's node t at the same key.
static void merge_into_node(const struct merge_args *m, struct vmpl_node *n, struct vmpl_node *t) {
    bool covered[VMPL_FANOUT];
    for (unsigned i = 0; i < VMPL_FANOUT; i++)
        covered[i] = !vmpl_slot_is_empty(t->slots[i]) || inside_in_node(t, i);
    uint16_t placed = 0;  // slots that received interval sentinels
    for (unsigned i = 0; i < VMPL_FANOUT; i++) {
        vmpl_slot_t v = n->slots[i];
        if (vmpl_slot_is_empty(v))
            continue;
        n->slots[i] = VMPL_SLOT_EMPTY;
        uint64_t src_offset = vmpl_slot_offset(m->src, n, i);
        if (covered[i]) {
            release_content(m, v, src_offset);
        } else if (vmpl_slot_is_interval(v)) {
            t->slots[i] = v;
            placed |= (uint16_t)(1u << i);
        } else {
            migrate_content(m, &v, src_offset);
            t->slots[i] = v;
        }
    }
    vmpl_node_free(n);
    for (unsigned i = 0; i < VMPL_FANOUT; i++) {
        if (placed & (1u << i))
            join_placed(m->dst, vmpl_slot_offset(m->dst, t, i), t);
    }
    vmpl_node_free_if_empty(m->dst, t);
}

zx_status_t vmpl_merge_onto(struct vmpl *src, struct vmpl *dst, uint64_t offset, uint64_t end,
                            vmpl_migrate_fn migrate, vmpl_release_fn release, void *ctx) {
    ASSERT(src != dst);
    ASSERT_MSG(IS_ALIGNED(offset, P) && IS_ALIGNED(end, P) && end <= VMPL_MAX_SIZE,
               "[%#llx, %#llx)", (unsigned long long)offset, (unsigned long long)end);
    ASSERT_MSG((src->skew + offset) % SPAN == dst->skew,
               "skews do not line up: src %#llx + %#llx, dst %#llx", (unsigned long long)src->skew,
               (unsigned long long)offset, (unsigned long long)dst->skew);
    if (vmpl_is_empty(src))
        return ZX_OK;
    if (offset < end) {
        zx_status_t st = merge_prepare(src, dst, offset, end);
        if (st != ZX_OK)
            return st;
    }
    // Nothing fails from here on. Content outside the range goes (no interval crosses its ends).
    struct release_ctx r = {release, ctx};
    zx_status_t st = vmpl_walk(src, 0, offset, release_slot, &r, true);
    ASSERT(st == ZX_OK);
    st = vmpl_walk(src, end, VMPL_MAX_SIZE, release_slot, &r, true);
    ASSERT(st == ZX_OK);

    struct merge_args m = {src, dst, offset, migrate, release, ctx};
    uint64_t shift = vmpl_node_base(offset + src->skew);
    struct wavl_node *w;
    while ((w = wavl_min(&src->nodes)) != NULL) {
        struct vmpl_node *n = vmpl_to_node(w);
        vmpl_node_unlink(src, n);
        DEBUG_ASSERT(n->tree.key >= shift);
        uint64_t key = n->tree.key - shift;
        struct vmpl_node *t = vmpl_node_find(dst, key);
        if (t)
            merge_into_node(&m, n, t);
        else
            merge_move_node(&m, n, key);
    }
    return ZX_OK;
}

zx_status_t vmpl_take(struct vmpl *pl, uint64_t offset, uint64_t len, struct vmpl_splice *out) {
    uint64_t end = offset + len;
    ASSERT_MSG(IS_ALIGNED(offset, P) && IS_ALIGNED(len, P) && end >= offset &&
                   end <= VMPL_MAX_SIZE,
               "offset %#llx len %#llx", (unsigned long long)offset, (unsigned long long)len);
    if (len > 0) {
        zx_status_t st = vmpl_split_at(pl, offset);
        if (st != ZX_OK)
            return st;
        st = vmpl_split_at(pl, end);
        if (st != ZX_OK) {
            vmpl_join_at(pl, offset, NULL);
            return st;
        }
    }
    memset(out, 0, sizeof(*out));
    out->offset = offset;
    out->length = len;
    out->skew = pl->skew;
    wavl_init(&out->middle);
    if (len == 0)
        return ZX_OK;

    uint64_t so = offset + pl->skew, se = end + pl->skew;
    uint64_t first_full = vmpl_node_index(so) ? vmpl_node_base(so) + SPAN : so;
    uint64_t tail_base = vmpl_node_base(se);
    if (vmpl_node_index(so) != 0) {
        // Partial first node: slot by slot into head.
        struct vmpl_node *n = vmpl_node_find(pl, vmpl_node_base(so));
        uint64_t lim = MIN(se, first_full);
        if (n) {
            for (uint64_t o = so; o < lim; o += P) {
                unsigned i = vmpl_node_index(o);
                out->head.slots[i] = n->slots[i];
                n->slots[i] = VMPL_SLOT_EMPTY;
            }
            vmpl_node_free_if_empty(pl, n);
        }
    }
    // Whole nodes move as they are.
    struct vmpl_node *n;
    while ((n = vmpl_to_node(wavl_lower_bound(&pl->nodes, first_full))) != NULL &&
           n->tree.key < tail_base) {
        vmpl_node_unlink(pl, n);
        zx_status_t st = wavl_insert(&out->middle, &n->tree);
        ASSERT(st == ZX_OK);
    }
    if (se > tail_base && tail_base >= first_full) {
        // Partial last node.
        n = vmpl_node_find(pl, tail_base);
        if (n) {
            for (unsigned i = 0; i < vmpl_node_index(se); i++) {
                out->tail.slots[i] = n->slots[i];
                n->slots[i] = VMPL_SLOT_EMPTY;
            }
            vmpl_node_free_if_empty(pl, n);
        }
    }
    return ZX_OK;
}

// A popped interval offset: a Slot that awaits clean (length PAGE) while the length lasts.
static vmpl_slot_t splice_slot(struct vmpl_splice *sp, enum vmpl_dirty d) {
    uint64_t len = sp->awaiting_left ? P : 0;
    sp->awaiting_left -= len;
    return vmpl_slot_with_awaiting_len(vmpl_slot_interval(VMPL_SENTINEL_SLOT, d), len);
}

vmpl_slot_t vmpl_splice_pop(struct vmpl_splice *sp) {
    ASSERT(!vmpl_splice_done(sp));
    uint64_t so = sp->offset + sp->skew, se = sp->offset + sp->length + sp->skew;
    uint64_t cur = so + sp->pos, base = vmpl_node_base(cur);
    unsigned i = vmpl_node_index(cur);
    vmpl_slot_t v = VMPL_SLOT_EMPTY;
    if (vmpl_node_index(so) != 0 && base == vmpl_node_base(so)) {
        v = sp->head.slots[i];
        sp->head.slots[i] = VMPL_SLOT_EMPTY;
    } else if (base == vmpl_node_base(se)) {
        v = sp->tail.slots[i];
        sp->tail.slots[i] = VMPL_SLOT_EMPTY;
    } else {
        struct vmpl_node *n = vmpl_to_node(wavl_find(&sp->middle, base));
        if (n) {
            v = n->slots[i];
            n->slots[i] = VMPL_SLOT_EMPTY;
            if (vmpl_node_is_empty(n)) {
                wavl_erase(&sp->middle, &n->tree);
                vmpl_node_free(n);
            }
        }
    }
    sp->pos += P;
    if (vmpl_slot_is_interval(v)) {
        enum vmpl_dirty d = vmpl_slot_dirty(v);
        if (!vmpl_slot_is_interval_end(v))
            sp->awaiting_left = vmpl_slot_awaiting_len(v);
        if (vmpl_slot_is_interval_start(v)) {
            sp->in_interval = true;
            sp->dirty = d;
        } else if (vmpl_slot_is_interval_end(v)) {
            sp->in_interval = false;
        }
        return splice_slot(sp, d);
    }
    if (vmpl_slot_is_empty(v) && sp->in_interval)
        return splice_slot(sp, sp->dirty);
    return v;
}

static void release_node_slots(struct vmpl_node *n, uint64_t base, uint64_t skew,
                               vmpl_release_fn release, void *ctx) {
    for (unsigned i = 0; i < VMPL_FANOUT; i++) {
        vmpl_slot_t v = n->slots[i];
        n->slots[i] = VMPL_SLOT_EMPTY;
        if (vmpl_slot_is_page_or_ref(v)) {
            ASSERT(release);
            release(v, base + i * P - skew, ctx);
        }
    }
}

struct splice_free_ctx {
    uint64_t skew;
    vmpl_release_fn release;
    void *ctx;
};

static void splice_free_node(struct wavl_node *w, void *c) {
    struct splice_free_ctx *f = c;
    struct vmpl_node *n = vmpl_to_node(w);
    release_node_slots(n, n->tree.key, f->skew, f->release, f->ctx);
    vmpl_node_free(n);
}

void vmpl_splice_destroy(struct vmpl_splice *sp, vmpl_release_fn release, void *ctx) {
    uint64_t so = sp->offset + sp->skew, se = sp->offset + sp->length + sp->skew;
    release_node_slots(&sp->head, vmpl_node_base(so), sp->skew, release, ctx);
    release_node_slots(&sp->tail, vmpl_node_base(se), sp->skew, release, ctx);
    struct splice_free_ctx f = {sp->skew, release, ctx};
    wavl_clear(&sp->middle, splice_free_node, &f);
    sp->pos = sp->length;
}

static bool check_fail(const struct vmpl *pl, uint64_t offset, const char *what) {
    kprintf("vmpl_check: list %p offset %#llx: %s\n", (const void *)pl,
            (unsigned long long)offset, what);
    return false;
}

bool vmpl_check(const struct vmpl *pl) {
    if (!wavl_check(&pl->nodes))
        return false;
    if (!vmpl_last_ok(pl))
        return check_fail(pl, 0, "last node not in the tree");
    if (pl->skew >= SPAN || !IS_ALIGNED(pl->skew, P))
        return check_fail(pl, pl->skew, "bad skew");
    bool inside = false;        // between a Start and its End
    enum vmpl_dirty dirty = 0;  // of that interval
    uint64_t start = 0, awaiting = 0;  // its Start's offset and AwaitingClean length
    bool have_last = false;     // an interval ended (End or Slot) at last_end
    uint64_t last_end = 0;
    enum vmpl_dirty last_dirty = 0;
    bool last_all_awaiting = false;  // that interval awaits clean over its whole extent
    for (struct vmpl_node *n = vmpl_to_node(wavl_min(&pl->nodes)); n; n = vmpl_node_next(n)) {
        uint64_t key = n->tree.key;
        if (!IS_ALIGNED(key, SPAN) || key > VMPL_MAX_SIZE)
            return check_fail(pl, key, "bad node key");
        if (vmpl_node_is_empty(n))
            return check_fail(pl, key, "empty node");
        for (unsigned i = 0; i < VMPL_FANOUT; i++) {
            vmpl_slot_t s = n->slots[i];
            if (vmpl_slot_is_empty(s))
                continue;
            if (key + i * P < pl->skew)
                return check_fail(pl, key + i * P, "content below offset 0");
            uint64_t o = key + i * P - pl->skew;
            if (o >= VMPL_MAX_SIZE)
                return check_fail(pl, o, "content at or above VMPL_MAX_SIZE");
            switch (s & VMPL_TAG_MASK) {
            case VMPL_TAG_PAGE:
            case VMPL_TAG_REF:
                break;
            case VMPL_TAG_MARKER:
                if (s != vmpl_slot_marker())
                    return check_fail(pl, o, "marker with stray bits");
                break;
            case VMPL_TAG_INTERVAL:
                if (((s & ~VMPL_AWAITING_MASK) >> (VMPL_DIRTY_SHIFT + 2)) != 0 ||
                    ((s >> VMPL_KIND_SHIFT) & 3) != 0 ||
                    vmpl_slot_sentinel(s) > VMPL_SENTINEL_END ||
                    vmpl_slot_dirty(s) > VMPL_DIRTY_DIRTY)
                    return check_fail(pl, o, "bad interval encoding");
                if (vmpl_slot_awaiting_len(s) != 0 && (vmpl_slot_dirty(s) != VMPL_DIRTY_DIRTY ||
                                                       vmpl_slot_is_interval_end(s)))
                    return check_fail(pl, o, "AwaitingClean length outside a Dirty Start/Slot");
                break;
            default:
                return check_fail(pl, o, "unknown slot tag");
            }
            if (inside) {
                if (!vmpl_slot_is_interval_end(s))
                    return check_fail(pl, o, "content inside an interval");
                if (vmpl_slot_dirty(s) != dirty)
                    return check_fail(pl, o, "End's dirty state differs from its Start's");
                if (awaiting > o + P - start)
                    return check_fail(pl, start, "AwaitingClean length past the interval's End");
                inside = false;
                have_last = true;
                last_end = o;
                last_dirty = dirty;
                last_all_awaiting = awaiting == o + P - start;
                continue;
            }
            if (!vmpl_slot_is_interval(s))
                continue;
            enum vmpl_sentinel kind = vmpl_slot_sentinel(s);
            if (kind == VMPL_SENTINEL_END)
                return check_fail(pl, o, "End without a Start");
            uint64_t len = vmpl_slot_awaiting_len(s);
            // Joinable neighbours must have been joined (the lengths rule: page_list.h).
            if (have_last && last_end + P == o && last_dirty == vmpl_slot_dirty(s) &&
                (len == 0 || last_all_awaiting))
                return check_fail(pl, o, "adjacent intervals not merged");
            if (kind == VMPL_SENTINEL_START) {
                inside = true;
                dirty = vmpl_slot_dirty(s);
                start = o;
                awaiting = len;
            } else {
                if (len > P)
                    return check_fail(pl, o, "AwaitingClean length past the interval's End");
                have_last = true;
                last_end = o;
                last_dirty = vmpl_slot_dirty(s);
                last_all_awaiting = len == P;
            }
        }
    }
    if (inside)
        return check_fail(pl, VMPL_MAX_SIZE, "interval without an End");
    return true;
}
