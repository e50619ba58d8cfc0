// The page list: node allocation, lookups, walks and zero intervals. Merging, take/splice and the
// checker are in page_list_move.c. See page_list.h for the layout and the invariants.
//
// Interval membership of an Empty offset o is derived from the nearest non-Empty slots: o lies in
// an interval iff the next non-Empty slot after it is an End (equivalently, the previous one is a
// Start). When o's node exists the answer is found inside that node (scan right for an End, else
// left for a Start); when it does not, the first non-Empty slot of the next node decides.
#include "vm/page_list.h"

#include "kernel/heap.h"
#include "kernel/printf.h"
#include "kernel/spinlock.h"
#include "kernel/string.h"
#include "vm/page_list_priv.h"

#define P VMPL_P
#define SPAN VMPL_NODE_SPAN

_Static_assert(sizeof(struct vmpl_node) == 160, "vmpl_node: 10 bytes of metadata per page");

// Nodes come from one cache, created with the first node and destroyed with the last, so that
// the heap holds no page for the page list while no list has a node (in-kernel tests check that
// page counts come back exactly). Lock order: node_cache_lock, then the heap's lock.
static struct spinlock node_cache_lock = SPINLOCK_INIT("vmpl_nodes");
static struct kcache *node_cache;  // guarded by node_cache_lock
static size_t nodes_live;          // guarded by node_cache_lock

struct vmpl_node *vmpl_node_alloc(uint64_t key) {
    irqstate_t st = spin_lock_irqsave(&node_cache_lock);
    if (!node_cache)
        node_cache = kcache_create("vmpl_node", sizeof(struct vmpl_node), 16);
    struct vmpl_node *n = node_cache ? kcache_alloc(node_cache) : NULL;
    if (n) {
        nodes_live++;
    } else if (node_cache && nodes_live == 0) {
        kcache_destroy(node_cache);
        node_cache = NULL;
    }
    spin_unlock_irqrestore(&node_cache_lock, st);
    if (n) {
        memset(n, 0, sizeof(*n));
        n->tree.key = key;
    }
    return n;
}

void vmpl_node_free(struct vmpl_node *n) {
    DEBUG_ASSERT(vmpl_node_is_empty(n));
    irqstate_t st = spin_lock_irqsave(&node_cache_lock);
    ASSERT(node_cache && nodes_live > 0);
    kcache_free(node_cache, n);
    if (--nodes_live == 0) {
        kcache_destroy(node_cache);
        node_cache = NULL;
    }
    spin_unlock_irqrestore(&node_cache_lock, st);
}

size_t vmpl_nodes_live(void) {
    irqstate_t st = spin_lock_irqsave(&node_cache_lock);
    size_t n = nodes_live;
    spin_unlock_irqrestore(&node_cache_lock, st);
    return n;
}

bool vmpl_node_is_empty(const struct vmpl_node *n) {
    vmpl_slot_t any = 0;
    for (unsigned i = 0; i < VMPL_FANOUT; i++)
        any |= n->slots[i];
    return any == 0;
}

struct vmpl_node *vmpl_node_find(const struct vmpl *pl, uint64_t base) {
    if (pl->last && pl->last->tree.key == base)
        return pl->last;
    return vmpl_to_node(wavl_find(&pl->nodes, base));
}

void vmpl_node_free_if_empty(struct vmpl *pl, struct vmpl_node *n) {
    if (n && vmpl_node_is_empty(n)) {
        vmpl_node_unlink(pl, n);
        vmpl_node_free(n);
    }
}

// The node with `base`, created empty and linked if missing (*created says so). NULL when memory
// is exhausted.
static struct vmpl_node *node_get(struct vmpl *pl, uint64_t base, bool *created) {
    struct vmpl_node *n = vmpl_node_find(pl, base);
    *created = false;
    if (n)
        return n;
    n = vmpl_node_alloc(base);
    if (!n)
        return NULL;
    zx_status_t st = wavl_insert(&pl->nodes, &n->tree);
    ASSERT(st == ZX_OK);
    *created = true;
    return n;
}

vmpl_slot_t *vmpl_slot_ptr(const struct vmpl *pl, uint64_t offset, struct vmpl_node **out_node) {
    uint64_t so = offset + pl->skew;
    struct vmpl_node *n = vmpl_node_find(pl, vmpl_node_base(so));
    if (out_node)
        *out_node = n;
    return n ? &n->slots[vmpl_node_index(so)] : NULL;
}

void vmpl_init(struct vmpl *pl) {
    wavl_init(&pl->nodes);
    pl->skew = 0;
    pl->last = NULL;
}

static void free_node_cb(struct wavl_node *w, void *ctx) {
    struct vmpl_node *n = vmpl_to_node(w);
    memset(n->slots, 0, sizeof(n->slots));
    vmpl_node_free(n);
}

void vmpl_destroy(struct vmpl *pl) {
    ASSERT_MSG(vmpl_has_no_page_or_ref(pl), "list %p still owns pages or references", (void *)pl);
    pl->last = NULL;
    wavl_clear(&pl->nodes, free_node_cb, NULL);
}

void vmpl_set_skew(struct vmpl *pl, uint64_t parent_skew, uint64_t offset) {
    ASSERT(vmpl_is_empty(pl));
    DEBUG_ASSERT(IS_ALIGNED(offset, P) && IS_ALIGNED(parent_skew, P));
    pl->skew = (parent_skew + offset) % SPAN;
}

static zx_status_t find_page_or_ref(vmpl_slot_t *slot, uint64_t offset, void *ctx) {
    return vmpl_slot_is_page_or_ref(*slot) ? ZX_ERR_BAD_STATE : ZX_ERR_NEXT;
}

bool vmpl_has_no_page_or_ref(const struct vmpl *pl) {
    return vmpl_walk((struct vmpl *)pl, 0, VMPL_MAX_SIZE, find_page_or_ref, NULL, false) == ZX_OK;
}

vmpl_slot_t *vmpl_lookup_slow(struct vmpl *pl, uint64_t offset) {
    DEBUG_ASSERT(IS_ALIGNED(offset, P));
    if (offset >= VMPL_MAX_SIZE)
        return NULL;
    struct vmpl_node *n;
    vmpl_slot_t *s = vmpl_slot_ptr(pl, offset, &n);
    if (n)
        pl->last = n;
    return s;
}

bool vmpl_last_ok(const struct vmpl *pl) {
    return !pl->last || wavl_find(&pl->nodes, pl->last->tree.key) == &pl->last->tree;
}

vmpl_slot_t vmpl_get(const struct vmpl *pl, uint64_t offset) {
    if (offset >= VMPL_MAX_SIZE)
        return VMPL_SLOT_EMPTY;
    const vmpl_slot_t *s = vmpl_slot_ptr(pl, offset, NULL);
    return s ? *s : VMPL_SLOT_EMPTY;
}

// The first non-Empty slot of n or of a later node: an End means the offsets before it (down to
// the previous non-Empty slot) are inside an interval.
static bool first_content_is_end(const struct vmpl_node *n, enum vmpl_dirty *out_dirty) {
    for (; n; n = vmpl_node_next(n)) {
        for (unsigned i = 0; i < VMPL_FANOUT; i++) {
            vmpl_slot_t s = n->slots[i];
            if (vmpl_slot_is_empty(s))
                continue;
            if (!vmpl_slot_is_interval_end(s))
                return false;
            if (out_dirty)
                *out_dirty = vmpl_slot_dirty(s);
            return true;
        }
    }
    return false;
}

bool vmpl_in_interval(const struct vmpl *pl, uint64_t offset, enum vmpl_dirty *out_dirty) {
    if (offset >= VMPL_MAX_SIZE)
        return false;
    uint64_t so = offset + pl->skew, base = vmpl_node_base(so);
    unsigned idx = vmpl_node_index(so);
    struct vmpl_node *n = vmpl_to_node(wavl_lower_bound(&pl->nodes, base));
    if (n && n->tree.key == base) {
        vmpl_slot_t s = n->slots[idx];
        if (!vmpl_slot_is_empty(s)) {
            if (!vmpl_slot_is_interval(s))
                return false;
            if (out_dirty)
                *out_dirty = vmpl_slot_dirty(s);
            return true;
        }
        for (unsigned j = idx + 1; j < VMPL_FANOUT; j++) {
            s = n->slots[j];
            if (vmpl_slot_is_empty(s))
                continue;
            if (!vmpl_slot_is_interval_end(s))
                return false;
            if (out_dirty)
                *out_dirty = vmpl_slot_dirty(s);
            return true;
        }
        for (unsigned j = idx; j-- > 0;) {
            s = n->slots[j];
            if (vmpl_slot_is_empty(s))
                continue;
            if (!vmpl_slot_is_interval_start(s))
                return false;
            if (out_dirty)
                *out_dirty = vmpl_slot_dirty(s);
            return true;
        }
        n = vmpl_node_next(n);  // only a node being filled can be empty
    }
    return first_content_is_end(n, out_dirty);
}

bool vmpl_is_offset_in_interval(const struct vmpl *pl, uint64_t offset) {
    DEBUG_ASSERT(IS_ALIGNED(offset, P));
    return vmpl_in_interval(pl, offset, NULL);
}

bool vmpl_next_content(const struct vmpl *pl, uint64_t from, uint64_t *out_offset,
                       vmpl_slot_t *out_slot) {
    if (from >= VMPL_MAX_SIZE)
        return false;
    uint64_t so = from + pl->skew, base = vmpl_node_base(so);
    struct vmpl_node *n = vmpl_to_node(wavl_lower_bound(&pl->nodes, base));
    unsigned i = (n && n->tree.key == base) ? vmpl_node_index(so) : 0;
    for (; n; n = vmpl_node_next(n), i = 0) {
        for (; i < VMPL_FANOUT; i++) {
            if (!vmpl_slot_is_empty(n->slots[i])) {
                *out_offset = vmpl_slot_offset(pl, n, i);
                *out_slot = n->slots[i];
                return true;
            }
        }
    }
    return false;
}

// The last non-Empty slot at an offset < before; false if none.
static bool prev_content(const struct vmpl *pl, uint64_t before, uint64_t *out_offset,
                         vmpl_slot_t *out_slot) {
    if (before == 0)
        return false;
    uint64_t so = before - P + pl->skew, base = vmpl_node_base(so);
    struct vmpl_node *n = vmpl_to_node(wavl_floor(&pl->nodes, base));
    unsigned i = (n && n->tree.key == base) ? vmpl_node_index(so) + 1 : VMPL_FANOUT;
    for (; n; n = vmpl_to_node(wavl_prev(&n->tree)), i = VMPL_FANOUT) {
        while (i-- > 0) {
            if (!vmpl_slot_is_empty(n->slots[i])) {
                *out_offset = vmpl_slot_offset(pl, n, i);
                *out_slot = n->slots[i];
                return true;
            }
        }
    }
    return false;
}

bool vmpl_any_in_range(const struct vmpl *pl, uint64_t start, uint64_t end) {
    if (start >= end)
        return false;
    uint64_t off;
    vmpl_slot_t s;
    if (vmpl_next_content(pl, start, &off, &s) && off < end)
        return true;
    return vmpl_in_interval(pl, start, NULL);
}

bool vmpl_gap_around(const struct vmpl *pl, uint64_t offset, uint64_t *out_lo, uint64_t *out_hi) {
    if (offset >= VMPL_MAX_SIZE)
        return false;
    uint64_t next, prev;
    vmpl_slot_t s;
    uint64_t hi = VMPL_MAX_SIZE, lo = 0;
    if (vmpl_next_content(pl, offset, &next, &s)) {
        // Content at offset, or an End after Empty slots: offset is inside an interval.
        if (next == offset || vmpl_slot_is_interval_end(s))
            return false;
        hi = next;
    }
    if (prev_content(pl, offset, &prev, &s)) {
        if (vmpl_slot_is_interval_start(s))
            return false;
        lo = prev + P;
    }
    *out_lo = lo;
    *out_hi = hi;
    return true;
}

bool vmpl_interval_start_of(const struct vmpl *pl, uint64_t offset, uint64_t *out_start,
                            vmpl_slot_t *out_sentinel) {
    vmpl_slot_t s = vmpl_get(pl, offset);
    if (vmpl_slot_is_interval_start(s) || vmpl_slot_is_interval_slot(s)) {
        *out_start = offset;
        *out_sentinel = s;
        return true;
    }
    if (!vmpl_slot_is_interval_end(s) &&
        !(vmpl_slot_is_empty(s) && vmpl_in_interval(pl, offset, NULL)))
        return false;
    // An End, or inside: the nearest content before is the interval's Start.
    bool found = prev_content(pl, offset, out_start, out_sentinel);
    ASSERT_MSG(found && vmpl_slot_is_interval_start(*out_sentinel),
               "vmpl_interval_start_of: %#llx has no Start", (unsigned long long)offset);
    return true;
}

// The Start (or Slot) sentinel of the interval holding `offset`, which must lie in one, and its
// offset.
static vmpl_slot_t *interval_start_ptr(struct vmpl *pl, uint64_t offset, uint64_t *out_start) {
    vmpl_slot_t sentinel;
    bool found = vmpl_interval_start_of(pl, offset, out_start, &sentinel);
    ASSERT(found);
    vmpl_slot_t *s = vmpl_slot_ptr(pl, *out_start, NULL);
    ASSERT(s);
    return s;
}

zx_status_t vmpl_split_at(struct vmpl *pl, uint64_t x) {
    if (x == 0 || x >= VMPL_MAX_SIZE)
        return ZX_OK;
    vmpl_slot_t sx = vmpl_get(pl, x);
    enum vmpl_dirty d;
    if (!vmpl_slot_is_empty(sx)) {
        if (!vmpl_slot_is_interval_end(sx))
            return ZX_OK;  // x starts whatever is there: nothing crosses x
        d = vmpl_slot_dirty(sx);
    } else if (!vmpl_in_interval(pl, x, &d)) {
        return ZX_OK;
    }
    // x - PAGE holds a Start or is inside; x holds an End or is inside.
    bool created_l, created_r;
    struct vmpl_node *nl = node_get(pl, vmpl_node_base(x - P + pl->skew), &created_l);
    if (!nl)
        return ZX_ERR_NO_MEMORY;
    struct vmpl_node *nr = node_get(pl, vmpl_node_base(x + pl->skew), &created_r);
    if (!nr) {
        if (created_l)
            vmpl_node_free_if_empty(pl, nl);
        return ZX_ERR_NO_MEMORY;
    }
    vmpl_slot_t *l = &nl->slots[vmpl_node_index(x - P + pl->skew)];
    vmpl_slot_t *r = &nr->slots[vmpl_node_index(x + pl->skew)];
    DEBUG_ASSERT(vmpl_slot_is_empty(*l) || vmpl_slot_is_interval_start(*l));
    DEBUG_ASSERT(vmpl_slot_is_empty(*r) || vmpl_slot_is_interval_end(*r));
    // The AwaitingClean length divides exactly: the left piece keeps what lies before x.
    uint64_t left_len = 0, right_len = 0;
    if (d == VMPL_DIRTY_DIRTY) {
        uint64_t s;
        vmpl_slot_t *start = vmpl_slot_is_empty(*l) ? interval_start_ptr(pl, x - P, &s) : l;
        if (start == l)
            s = x - P;
        uint64_t len = vmpl_slot_awaiting_len(*start);
        left_len = MIN(len, x - s);
        right_len = len - left_len;
        if (start != l)
            *start = vmpl_slot_with_awaiting_len(*start, left_len);
    }
    *l = vmpl_slot_with_awaiting_len(
        vmpl_slot_interval(vmpl_slot_is_empty(*l) ? VMPL_SENTINEL_END : VMPL_SENTINEL_SLOT, d),
        vmpl_slot_is_empty(*l) ? 0 : left_len);
    *r = vmpl_slot_with_awaiting_len(
        vmpl_slot_interval(vmpl_slot_is_empty(*r) ? VMPL_SENTINEL_START : VMPL_SENTINEL_SLOT, d),
        right_len);
    return ZX_OK;
}

// Whether an interval whose Start is at s1 with length len1, ending at x - PAGE, can join one
// starting at x with length len2 (both of state d): one length must still say it all.
static bool lengths_join(uint64_t s1, uint64_t len1, uint64_t x, uint64_t len2) {
    return len2 == 0 || len1 == x - s1;
}

void vmpl_join_at(struct vmpl *pl, uint64_t x, struct vmpl_node *keep) {
    if (x == 0 || x >= VMPL_MAX_SIZE)
        return;
    struct vmpl_node *nl, *nr;
    vmpl_slot_t *l = vmpl_slot_ptr(pl, x - P, &nl);
    vmpl_slot_t *r = vmpl_slot_ptr(pl, x, &nr);
    if (!l || !r || !vmpl_slot_is_interval(*l) || !vmpl_slot_is_interval(*r))
        return;
    if (vmpl_slot_sentinel(*l) == VMPL_SENTINEL_START || vmpl_slot_sentinel(*r) == VMPL_SENTINEL_END)
        return;
    enum vmpl_dirty d = vmpl_slot_dirty(*l);
    if (vmpl_slot_dirty(*r) != d)
        return;
    uint64_t len2 = vmpl_slot_awaiting_len(*r), s1 = x - P;
    vmpl_slot_t *start = l;
    if (d == VMPL_DIRTY_DIRTY && vmpl_slot_is_interval_end(*l))
        start = interval_start_ptr(pl, x - P, &s1);
    uint64_t len1 = vmpl_slot_awaiting_len(*start);
    if (!lengths_join(s1, len1, x, len2))
        return;
    // End + Start vanish; a Slot on either side becomes the merged interval's Start or End.
    if (start != l)
        *start = vmpl_slot_with_awaiting_len(*start, len1 + len2);
    *l = vmpl_slot_sentinel(*l) == VMPL_SENTINEL_END
             ? VMPL_SLOT_EMPTY
             : vmpl_slot_with_awaiting_len(vmpl_slot_interval(VMPL_SENTINEL_START, d), len1 + len2);
    *r = vmpl_slot_sentinel(*r) == VMPL_SENTINEL_START ? VMPL_SLOT_EMPTY
                                                        : vmpl_slot_interval(VMPL_SENTINEL_END, d);
    if (nl != keep)
        vmpl_node_free_if_empty(pl, nl);
    if (nr != keep && nr != nl)
        vmpl_node_free_if_empty(pl, nr);
}

void vmpl_rejoin_range(struct vmpl *pl, uint64_t lo, uint64_t hi) {
    uint64_t p = lo, x;
    vmpl_slot_t s;
    while (vmpl_next_content(pl, p, &x, &s) && x <= hi) {
        if (vmpl_slot_is_interval_start(s) || vmpl_slot_is_interval_slot(s))
            vmpl_join_at(pl, x, NULL);
        p = x + P;
    }
}

// Makes [start, end), inside one interval, an interval of its own with state `dirty` and
// AwaitingClean length `len`, then joins it with its neighbours where the rules allow.
static zx_status_t set_interval_state(struct vmpl *pl, uint64_t start, uint64_t end,
                                      enum vmpl_dirty dirty, uint64_t len) {
    DEBUG_ASSERT(IS_ALIGNED(start, P) && IS_ALIGNED(end, P) && start < end);
    DEBUG_ASSERT(vmpl_in_interval(pl, start, NULL) && vmpl_in_interval(pl, end - P, NULL));
    zx_status_t st = vmpl_split_at(pl, start);
    if (st != ZX_OK)
        return st;
    st = vmpl_split_at(pl, end);
    if (st != ZX_OK) {
        vmpl_join_at(pl, start, NULL);
        return st;
    }
    // [start, end) is now a whole interval: a Slot, or a Start and an End.
    vmpl_slot_t *s = vmpl_slot_ptr(pl, start, NULL);
    ASSERT(s && (vmpl_slot_is_interval_start(*s) || vmpl_slot_is_interval_slot(*s)));
    *s = vmpl_slot_with_awaiting_len(vmpl_slot_interval(vmpl_slot_sentinel(*s), dirty), len);
    if (end - P != start) {
        vmpl_slot_t *e = vmpl_slot_ptr(pl, end - P, NULL);
        ASSERT(e && vmpl_slot_is_interval_end(*e));
        *e = vmpl_slot_interval(VMPL_SENTINEL_END, dirty);
    }
    vmpl_join_at(pl, start, NULL);
    vmpl_join_at(pl, end, NULL);
    return ZX_OK;
}

zx_status_t vmpl_set_interval_dirty(struct vmpl *pl, uint64_t start, uint64_t end,
                                    enum vmpl_dirty dirty) {
    return set_interval_state(pl, start, end, dirty, 0);
}

zx_status_t vmpl_set_interval_awaiting_clean(struct vmpl *pl, uint64_t start, uint64_t end) {
    ASSERT(start < end);
    enum vmpl_dirty d;
    ASSERT(vmpl_in_interval(pl, start, &d) && d == VMPL_DIRTY_DIRTY);
    return set_interval_state(pl, start, end, VMPL_DIRTY_DIRTY, end - start);
}

zx_status_t vmpl_lookup_or_alloc(struct vmpl *pl, uint64_t offset, enum vmpl_interval_mode mode,
                                 vmpl_slot_t **out_slot, bool *out_in_interval) {
    DEBUG_ASSERT(IS_ALIGNED(offset, P));
    if (offset >= VMPL_MAX_SIZE)
        return ZX_ERR_OUT_OF_RANGE;
    uint64_t so = offset + pl->skew, base = vmpl_node_base(so);
    unsigned idx = vmpl_node_index(so);
    struct vmpl_node *n = vmpl_node_find(pl, base);
    bool inside = false;
    if (mode != VMPL_NO_INTERVALS) {
        if (n && !vmpl_slot_is_empty(n->slots[idx]))
            inside = vmpl_slot_is_interval(n->slots[idx]);
        else
            inside = vmpl_in_interval(pl, offset, NULL);
    }
    if (!inside) {
        if (!n) {
            n = vmpl_node_alloc(base);
            if (!n)
                return ZX_ERR_NO_MEMORY;
            zx_status_t st = wavl_insert(&pl->nodes, &n->tree);
            ASSERT(st == ZX_OK);
        }
        pl->last = n;  // the next fault's node, most likely
        *out_slot = &n->slots[idx];
        if (out_in_interval)
            *out_in_interval = false;
        return ZX_OK;
    }
    if (mode == VMPL_CHECK_INTERVAL)
        return ZX_ERR_BAD_STATE;
    // Split [s, e) into [s, offset), [offset, offset + PAGE), [offset + PAGE, e).
    if (!(n && vmpl_slot_is_interval_slot(n->slots[idx]))) {
        zx_status_t st = vmpl_split_at(pl, offset);
        if (st != ZX_OK)
            return st;
        st = vmpl_split_at(pl, offset + P);
        if (st != ZX_OK) {
            vmpl_join_at(pl, offset, NULL);
            return st;
        }
        n = vmpl_node_find(pl, base);
        DEBUG_ASSERT(n && vmpl_slot_is_interval_slot(n->slots[idx]));
    }
    *out_slot = &n->slots[idx];
    if (out_in_interval)
        *out_in_interval = true;
    return ZX_OK;
}

void vmpl_return_empty_slot(struct vmpl *pl, uint64_t offset) {
    struct vmpl_node *n;
    vmpl_slot_t *s = vmpl_slot_ptr(pl, offset, &n);
    ASSERT_MSG(s && vmpl_slot_is_empty(*s), "offset %#llx", (unsigned long long)offset);
    vmpl_node_free_if_empty(pl, n);
}

vmpl_slot_t vmpl_remove(struct vmpl *pl, uint64_t offset) {
    DEBUG_ASSERT(IS_ALIGNED(offset, P));
    if (offset >= VMPL_MAX_SIZE)
        return VMPL_SLOT_EMPTY;
    struct vmpl_node *n;
    vmpl_slot_t *s = vmpl_slot_ptr(pl, offset, &n);
    if (!s)
        return VMPL_SLOT_EMPTY;
    vmpl_slot_t v = *s;
    ASSERT_MSG(!vmpl_slot_is_interval(v), "offset %#llx holds an interval sentinel",
               (unsigned long long)offset);
    *s = VMPL_SLOT_EMPTY;
    vmpl_node_free_if_empty(pl, n);
    return v;
}

struct remove_all_ctx {
    const struct vmpl *pl;
    vmpl_release_fn release;
    void *ctx;
};

static void remove_all_node(struct wavl_node *w, void *c) {
    struct remove_all_ctx *r = c;
    struct vmpl_node *n = vmpl_to_node(w);
    for (unsigned i = 0; i < VMPL_FANOUT; i++) {
        vmpl_slot_t s = n->slots[i];
        n->slots[i] = VMPL_SLOT_EMPTY;
        if (vmpl_slot_is_page_or_ref(s)) {
            ASSERT(r->release);
            r->release(s, vmpl_slot_offset(r->pl, n, i), r->ctx);
        }
    }
    vmpl_node_free(n);
}

void vmpl_remove_all(struct vmpl *pl, vmpl_release_fn release, void *ctx) {
    struct remove_all_ctx r = {pl, release, ctx};
    pl->last = NULL;
    wavl_clear(&pl->nodes, remove_all_node, &r);
}

// A walk of [start, *end) clamps *end to the list's reach and works in skewed offsets [*ss, *se);
// false when nothing is left to walk.
static inline bool walk_bounds(const struct vmpl *pl, uint64_t start, uint64_t *end, uint64_t *ss,
                               uint64_t *se) {
    if (*end > VMPL_MAX_SIZE)
        *end = VMPL_MAX_SIZE;
    *ss = start + pl->skew;
    *se = *end + pl->skew;
    return start < *end;
}

// The slots [*i0, *i1) of the node at skewed offset key that fall inside [ss, se).
static inline void node_slot_range(uint64_t key, uint64_t ss, uint64_t se, unsigned *i0,
                                   unsigned *i1) {
    *i0 = key < ss ? vmpl_node_index(ss) : 0;
    *i1 = se - key >= SPAN ? VMPL_FANOUT : (unsigned)((se - key) >> PAGE_SHIFT);
}

zx_status_t vmpl_walk(struct vmpl *pl, uint64_t start, uint64_t end, vmpl_slot_fn fn, void *ctx,
                      bool cleanup) {
    uint64_t ss, se;
    if (!walk_bounds(pl, start, &end, &ss, &se))
        return ZX_OK;
    struct vmpl_node *n = vmpl_to_node(wavl_lower_bound(&pl->nodes, vmpl_node_base(ss)));
    while (n && n->tree.key < se) {
        uint64_t key = n->tree.key;
        unsigned i0, i1;
        node_slot_range(key, ss, se, &i0, &i1);
        zx_status_t st = ZX_ERR_NEXT;
        for (unsigned i = i0; i < i1; i++) {
            if (vmpl_slot_is_empty(n->slots[i]))
                continue;
            st = fn(&n->slots[i], key + i * P - pl->skew, ctx);
            DEBUG_ASSERT(cleanup || !vmpl_slot_is_empty(n->slots[i]));
            if (st != ZX_ERR_NEXT)
                break;
        }
        struct vmpl_node *next = vmpl_node_next(n);
        if (cleanup)
            vmpl_node_free_if_empty(pl, n);
        if (st != ZX_ERR_NEXT)
            return st == ZX_ERR_STOP ? ZX_OK : st;
        n = next;
    }
    return ZX_OK;
}

zx_status_t vmpl_for_each(struct vmpl *pl, uint64_t start, uint64_t end, vmpl_slot_fn fn,
                          void *ctx) {
    return vmpl_walk(pl, start, end, fn, ctx, false);
}

zx_status_t vmpl_remove_range(struct vmpl *pl, uint64_t start, uint64_t end, vmpl_slot_fn fn,
                              void *ctx) {
    return vmpl_walk(pl, start, end, fn, ctx, true);
}

// Slots and gaps: `expected` is the next offset that would not leave a gap.
struct gap_walk {
    vmpl_slot_fn fn;
    vmpl_gap_fn gap_fn;
    void *ctx;
    uint64_t expected;
    bool in_interval;  // saw a Start and not yet its End
    bool stopped;
};

static zx_status_t gap_walk_slot(vmpl_slot_t *slot, uint64_t offset, void *c) {
    struct gap_walk *g = c;
    vmpl_slot_t s = *slot;
    // A jump to an End is the inside of an interval, not a gap.
    if (offset != g->expected && !vmpl_slot_is_interval_end(s)) {
        zx_status_t st = g->gap_fn(g->expected, offset, g->ctx);
        if (st != ZX_ERR_NEXT) {
            g->stopped = true;
            return st;
        }
    }
    if (vmpl_slot_is_interval_start(s))
        g->in_interval = true;
    else if (vmpl_slot_is_interval_end(s))
        g->in_interval = false;
    zx_status_t st = g->fn(slot, offset, g->ctx);
    g->expected = offset + P;
    if (st != ZX_ERR_NEXT)
        g->stopped = true;
    return st;
}

static zx_status_t walk_with_gaps(struct vmpl *pl, uint64_t start, uint64_t end, vmpl_slot_fn fn,
                                  vmpl_gap_fn gap_fn, void *ctx, bool cleanup) {
    if (end > VMPL_MAX_SIZE)
        end = VMPL_MAX_SIZE;
    if (start >= end)
        return ZX_OK;
    struct gap_walk g = {fn, gap_fn, ctx, start, false, false};
    zx_status_t st = vmpl_walk(pl, start, end, gap_walk_slot, &g, cleanup);
    if (st != ZX_OK || g.stopped || g.expected == end)
        return st;
    // The tail [expected, end) is a gap unless it is inside an interval: one whose Start we saw,
    // or, when we saw nothing, one covering the whole range.
    bool inside = g.in_interval || (g.expected == start && vmpl_in_interval(pl, start, NULL));
    if (inside)
        return ZX_OK;
    st = gap_fn(g.expected, end, ctx);
    return st == ZX_ERR_NEXT || st == ZX_ERR_STOP ? ZX_OK : st;
}

zx_status_t vmpl_for_each_and_gap(struct vmpl *pl, uint64_t start, uint64_t end, vmpl_slot_fn fn,
                                  vmpl_gap_fn gap_fn, void *ctx) {
    return walk_with_gaps(pl, start, end, fn, gap_fn, ctx, false);
}

zx_status_t vmpl_remove_range_and_gaps(struct vmpl *pl, uint64_t start, uint64_t end,
                                       vmpl_slot_fn fn, vmpl_gap_fn gap_fn, void *ctx) {
    return walk_with_gaps(pl, start, end, fn, gap_fn, ctx, true);
}

zx_status_t vmpl_for_each_node_span(struct vmpl *pl, uint64_t start, uint64_t end, vmpl_span_fn fn,
                                    void *ctx) {
    uint64_t ss, se;
    if (!walk_bounds(pl, start, &end, &ss, &se))
        return ZX_OK;
    for (struct vmpl_node *n = vmpl_to_node(wavl_lower_bound(&pl->nodes, vmpl_node_base(ss)));
         n && n->tree.key < se; n = vmpl_node_next(n)) {
        uint64_t key = n->tree.key;
        unsigned i0, i1;
        node_slot_range(key, ss, se, &i0, &i1);
        zx_status_t st = fn(&n->slots[i0], i1 - i0, key + i0 * P - pl->skew, ctx);
        if (st != ZX_ERR_NEXT)
            return st == ZX_ERR_STOP ? ZX_OK : st;
    }
    return ZX_OK;
}

// The same rules as walk_with_gaps (a jump to an interval's End is not a gap; the tail is a gap
// unless inside an interval), applied once per stretch: offsets inside a stretch are consecutive.
zx_status_t vmpl_for_each_span_and_gap(struct vmpl *pl, uint64_t start, uint64_t end,
                                       vmpl_span_fn fn, vmpl_gap_fn gap_fn, void *ctx) {
    uint64_t ss, se;
    if (!walk_bounds(pl, start, &end, &ss, &se))
        return ZX_OK;
    uint64_t expected = start;
    bool in_interval = false;  // saw a Start and not yet its End
    for (struct vmpl_node *n = vmpl_to_node(wavl_lower_bound(&pl->nodes, vmpl_node_base(ss)));
         n && n->tree.key < se; n = vmpl_node_next(n)) {
        uint64_t key = n->tree.key;
        unsigned i, i1;
        node_slot_range(key, ss, se, &i, &i1);
        while (i < i1) {
            if (vmpl_slot_is_empty(n->slots[i])) {
                i++;
                continue;
            }
            uint64_t offset = key + i * P - pl->skew;
            zx_status_t st;
            if (offset != expected && !vmpl_slot_is_interval_end(n->slots[i])) {
                st = gap_fn(expected, offset, ctx);
                if (st != ZX_ERR_NEXT)
                    return st == ZX_ERR_STOP ? ZX_OK : st;
            }
            unsigned j = i;
            for (; j < i1 && !vmpl_slot_is_empty(n->slots[j]); j++) {
                if (vmpl_slot_is_interval_start(n->slots[j]))
                    in_interval = true;
                else if (vmpl_slot_is_interval_end(n->slots[j]))
                    in_interval = false;
            }
            st = fn(&n->slots[i], j - i, offset, ctx);
            DEBUG_ASSERT(!vmpl_slot_is_empty(n->slots[i]) && !vmpl_slot_is_empty(n->slots[j - 1]));
            if (st != ZX_ERR_NEXT)
                return st == ZX_ERR_STOP ? ZX_OK : st;
            expected = offset + (j - i) * P;
            i = j;
        }
    }
    if (expected == end)
        return ZX_OK;
    if (in_interval || (expected == start && vmpl_in_interval(pl, start, NULL)))
        return ZX_OK;
    zx_status_t st = gap_fn(expected, end, ctx);
    return st == ZX_ERR_NEXT || st == ZX_ERR_STOP ? ZX_OK : st;
}

// Contiguous runs, on top of the slot-and-gap walk.
struct run_walk {
    struct vmpl *pl;
    vmpl_cmp_fn cmp;
    vmpl_slot_fn fn;
    vmpl_run_fn run_fn;
    void *ctx;
    uint64_t start, end;
    uint64_t run_start, run_len;  // pending run of non-interval slots
    bool found;                   // saw a slot or a gap
    bool stopped;                 // fn returned ZX_ERR_STOP
    bool iv_started;              // saw a Start (or began inside an interval) without its End
    bool iv_start_ok;             // cmp held for that Start
    uint64_t iv_start;            // where the interval's run begins (clipped to the range)
};

static zx_status_t flush_run(struct run_walk *r) {
    if (r->run_len == 0)
        return ZX_ERR_NEXT;
    uint64_t s = r->run_start, len = r->run_len;
    r->run_len = 0;
    return r->run_fn(s, s + len, false, r->ctx);
}

static bool is_error(zx_status_t st) {
    return st != ZX_ERR_NEXT && st != ZX_ERR_STOP;
}

static zx_status_t run_walk_slot(vmpl_slot_t *slot, uint64_t offset, void *c) {
    struct run_walk *r = c;
    r->found = true;
    vmpl_slot_t s = *slot;
    bool ok = r->cmp(s, offset, r->ctx);
    if (vmpl_slot_is_interval(s)) {
        enum vmpl_sentinel kind = vmpl_slot_sentinel(s);
        zx_status_t st;
        if (kind != VMPL_SENTINEL_END) {
            // An interval is a run of its own: end the pending one first.
            st = flush_run(r);
            if (st != ZX_ERR_NEXT)
                return st;
        }
        zx_status_t fst = ZX_ERR_NEXT;
        if (ok) {
            fst = r->fn(slot, offset, r->ctx);
            if (is_error(fst))
                return fst;
            if (fst == ZX_ERR_STOP)
                r->stopped = true;
        }
        if (kind == VMPL_SENTINEL_SLOT) {
            st = ok ? r->run_fn(offset, offset + P, true, r->ctx) : ZX_ERR_NEXT;
            return st == ZX_ERR_NEXT ? fst : st;
        }
        if (kind == VMPL_SENTINEL_START) {
            r->iv_started = true;
            r->iv_start = offset;
            r->iv_start_ok = ok;
            return fst;
        }
        if (!r->iv_started) {
            // The range began inside this interval: judge it by its real Start.
            uint64_t so;
            vmpl_slot_t ss;
            bool found = prev_content(r->pl, offset, &so, &ss);
            ASSERT(found && vmpl_slot_is_interval_start(ss));
            r->iv_start_ok = r->cmp(ss, so, r->ctx);
            r->iv_start = r->start;
        }
        r->iv_started = false;
        st = ok && r->iv_start_ok ? r->run_fn(r->iv_start, offset + P, true, r->ctx) : ZX_ERR_NEXT;
        return st == ZX_ERR_NEXT ? fst : st;
    }
    if (!ok)
        return flush_run(r);
    zx_status_t st = r->fn(slot, offset, r->ctx);
    if (is_error(st)) {
        // The run before this slot still happened; its error comes first.
        zx_status_t fst = flush_run(r);
        return is_error(fst) ? fst : st;
    }
    if (r->run_len == 0)
        r->run_start = offset;
    r->run_len += P;
    if (st == ZX_ERR_STOP)
        r->stopped = true;
    return st;
}

static zx_status_t run_walk_gap(uint64_t start, uint64_t end, void *c) {
    struct run_walk *r = c;
    r->found = true;
    return flush_run(r);
}

// Reports the part of an interval that runs past `end` if cmp holds for its End.
static zx_status_t finish_open_interval(struct run_walk *r, uint64_t run_start) {
    uint64_t eo;
    vmpl_slot_t es;
    bool found = vmpl_next_content(r->pl, r->end, &eo, &es);
    ASSERT(found && vmpl_slot_is_interval_end(es));
    if (!r->cmp(es, eo, r->ctx))
        return ZX_ERR_NEXT;
    return r->run_fn(run_start, r->end, true, r->ctx);
}

zx_status_t vmpl_for_each_run(struct vmpl *pl, uint64_t start, uint64_t end, vmpl_cmp_fn cmp,
                              vmpl_slot_fn fn, vmpl_run_fn run_fn, void *ctx) {
    if (end > VMPL_MAX_SIZE)
        end = VMPL_MAX_SIZE;
    if (start >= end)
        return ZX_OK;
    struct run_walk r = {
        .pl = pl, .cmp = cmp, .fn = fn, .run_fn = run_fn, .ctx = ctx, .start = start, .end = end};
    zx_status_t st = walk_with_gaps(pl, start, end, run_walk_slot, run_walk_gap, &r, false);
    if (st != ZX_OK)
        return st;
    if (!r.found) {
        // Neither a slot nor a gap: the whole range lies inside one interval.
        uint64_t so;
        vmpl_slot_t ss;
        bool found = prev_content(pl, start, &so, &ss);
        ASSERT(found && vmpl_slot_is_interval_start(ss));
        if (cmp(ss, so, ctx))
            st = finish_open_interval(&r, start);
        return is_error(st) ? st : ZX_OK;
    }
    st = flush_run(&r);
    if (st == ZX_ERR_NEXT && !r.stopped && r.iv_started && r.iv_start_ok)
        st = finish_open_interval(&r, r.iv_start);
    return is_error(st) ? st : ZX_OK;
}

// clear_range: drops everything, handing pages and references to the release callback.
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

// Splits at both ends of [start, end) so no interval crosses them; all or nothing.
static zx_status_t split_range(struct vmpl *pl, uint64_t start, uint64_t end) {
    zx_status_t st = vmpl_split_at(pl, start);
    if (st != ZX_OK)
        return st;
    st = vmpl_split_at(pl, end);
    if (st != ZX_OK)
        vmpl_join_at(pl, start, NULL);
    return st;
}

zx_status_t vmpl_clear_range(struct vmpl *pl, uint64_t start, uint64_t end,
                             vmpl_release_fn release, void *ctx) {
    DEBUG_ASSERT(IS_ALIGNED(start, P) && IS_ALIGNED(end, P) && end <= VMPL_MAX_SIZE);
    if (start >= end)
        return ZX_OK;
    zx_status_t st = split_range(pl, start, end);
    if (st != ZX_OK)
        return st;
    struct release_ctx r = {release, ctx};
    st = vmpl_walk(pl, start, end, release_slot, &r, true);
    ASSERT(st == ZX_OK);
    return ZX_OK;
}

zx_status_t vmpl_add_zero_interval(struct vmpl *pl, uint64_t start, uint64_t end,
                                   enum vmpl_dirty dirty) {
    ASSERT_MSG(start < end && IS_ALIGNED(start, P) && IS_ALIGNED(end, P) && end <= VMPL_MAX_SIZE,
               "[%#llx, %#llx)", (unsigned long long)start, (unsigned long long)end);
    ASSERT_MSG(!vmpl_any_in_range(pl, start, end), "[%#llx, %#llx) is not empty",
               (unsigned long long)start, (unsigned long long)end);
    struct vmpl_node *nl = NULL, *nr = NULL;
    vmpl_slot_t *l = start > 0 ? vmpl_slot_ptr(pl, start - P, &nl) : NULL;
    vmpl_slot_t *r = end < VMPL_MAX_SIZE ? vmpl_slot_ptr(pl, end, &nr) : NULL;
    bool merge_left = l && vmpl_slot_is_interval(*l) &&
                      vmpl_slot_sentinel(*l) != VMPL_SENTINEL_START && vmpl_slot_dirty(*l) == dirty;
    // The new piece awaits nothing: it can follow any interval, and precede only one that begins
    // Dirty.
    bool merge_right = r && vmpl_slot_is_interval(*r) &&
                       vmpl_slot_sentinel(*r) != VMPL_SENTINEL_END &&
                       vmpl_slot_dirty(*r) == dirty && vmpl_slot_awaiting_len(*r) == 0;
    // Allocate first: a node for the new Start (unless merging left) and one for the new End
    // (unless merging right).
    struct vmpl_node *ns = NULL, *ne = NULL;
    bool created_s = false, created_e = false;
    if (!merge_left) {
        ns = node_get(pl, vmpl_node_base(start + pl->skew), &created_s);
        if (!ns)
            return ZX_ERR_NO_MEMORY;
    }
    if (!merge_right) {
        ne = node_get(pl, vmpl_node_base(end - P + pl->skew), &created_e);
        if (!ne) {
            if (created_s)
                vmpl_node_free_if_empty(pl, ns);
            return ZX_ERR_NO_MEMORY;
        }
    }
    if (merge_left)
        *l = vmpl_slot_sentinel(*l) == VMPL_SENTINEL_END
                 ? VMPL_SLOT_EMPTY
                 : vmpl_slot_with_awaiting_len(vmpl_slot_interval(VMPL_SENTINEL_START, dirty),
                                               vmpl_slot_awaiting_len(*l));
    else
        ns->slots[vmpl_node_index(start + pl->skew)] =
            vmpl_slot_interval(VMPL_SENTINEL_START, dirty);
    if (merge_right)
        *r = vmpl_slot_sentinel(*r) == VMPL_SENTINEL_START
                 ? VMPL_SLOT_EMPTY
                 : vmpl_slot_interval(VMPL_SENTINEL_END, dirty);
    else
        ne->slots[vmpl_node_index(end - P + pl->skew)] = vmpl_slot_interval(
            !merge_left && end - P == start ? VMPL_SENTINEL_SLOT : VMPL_SENTINEL_END, dirty);
    if (merge_left)
        vmpl_node_free_if_empty(pl, nl);
    if (merge_right && nr != nl)
        vmpl_node_free_if_empty(pl, nr);
    return ZX_OK;
}

zx_status_t vmpl_clip_interval_start(struct vmpl *pl, uint64_t interval_start, uint64_t len) {
    DEBUG_ASSERT(IS_ALIGNED(interval_start, P) && IS_ALIGNED(len, P));
    if (len == 0)
        return ZX_OK;
    struct vmpl_node *n_old;
    vmpl_slot_t *old = vmpl_slot_ptr(pl, interval_start, &n_old);
    ASSERT(old && vmpl_slot_is_interval_start(*old));
    uint64_t new_start = interval_start + len;
    if (JASPER_DEBUG) {
        // Only Empty slots between the old and the new Start; the End is at or after the new one.
        uint64_t o;
        vmpl_slot_t s;
        bool found = vmpl_next_content(pl, interval_start + P, &o, &s);
        ASSERT(found && vmpl_slot_is_interval_end(s) && o >= new_start);
    }
    enum vmpl_dirty d = vmpl_slot_dirty(*old);
    bool created;
    struct vmpl_node *n = node_get(pl, vmpl_node_base(new_start + pl->skew), &created);
    if (!n)
        return ZX_ERR_NO_MEMORY;
    vmpl_slot_t *s = &n->slots[vmpl_node_index(new_start + pl->skew)];
    ASSERT(vmpl_slot_is_empty(*s) || vmpl_slot_is_interval_end(*s));
    uint64_t awaiting = vmpl_slot_awaiting_len(*old);
    *s = vmpl_slot_with_awaiting_len(
        vmpl_slot_interval(vmpl_slot_is_empty(*s) ? VMPL_SENTINEL_START : VMPL_SENTINEL_SLOT, d),
        awaiting > len ? awaiting - len : 0);
    *old = VMPL_SLOT_EMPTY;
    vmpl_node_free_if_empty(pl, n_old);
    return ZX_OK;
}

zx_status_t vmpl_clip_interval_end(struct vmpl *pl, uint64_t interval_end, uint64_t len) {
    DEBUG_ASSERT(IS_ALIGNED(interval_end, P) && IS_ALIGNED(len, P));
    if (len == 0)
        return ZX_OK;
    struct vmpl_node *n_old;
    vmpl_slot_t *old = vmpl_slot_ptr(pl, interval_end, &n_old);
    ASSERT(old && vmpl_slot_is_interval_end(*old));
    ASSERT(len <= interval_end);
    uint64_t new_end = interval_end - len;
    if (JASPER_DEBUG) {
        uint64_t o;
        vmpl_slot_t s;
        bool found = prev_content(pl, interval_end, &o, &s);
        ASSERT(found && vmpl_slot_is_interval_start(s) && o <= new_end);
    }
    enum vmpl_dirty d = vmpl_slot_dirty(*old);
    bool created;
    struct vmpl_node *n = node_get(pl, vmpl_node_base(new_end + pl->skew), &created);
    if (!n)
        return ZX_ERR_NO_MEMORY;
    vmpl_slot_t *s = &n->slots[vmpl_node_index(new_end + pl->skew)];
    ASSERT(vmpl_slot_is_empty(*s) || vmpl_slot_is_interval_start(*s));
    // The Start's AwaitingClean length may not reach past the new End.
    uint64_t istart = new_end;
    vmpl_slot_t *start = vmpl_slot_is_empty(*s) ? interval_start_ptr(pl, new_end, &istart) : s;
    uint64_t awaiting = MIN(vmpl_slot_awaiting_len(*start), new_end + P - istart);
    if (vmpl_slot_is_empty(*s)) {
        *start = vmpl_slot_with_awaiting_len(*start, awaiting);
        *s = vmpl_slot_interval(VMPL_SENTINEL_END, d);
    } else {
        *s = vmpl_slot_with_awaiting_len(vmpl_slot_interval(VMPL_SENTINEL_SLOT, d), awaiting);
    }
    *old = VMPL_SLOT_EMPTY;
    vmpl_node_free_if_empty(pl, n_old);
    return ZX_OK;
}

// Frees the nodes with keys in [lo, hi] that are empty (those a failed populate created).
static void free_empty_nodes(struct vmpl *pl, uint64_t lo, uint64_t hi) {
    struct vmpl_node *n = vmpl_to_node(wavl_lower_bound(&pl->nodes, lo));
    while (n && n->tree.key <= hi) {
        struct vmpl_node *next = vmpl_node_next(n);
        vmpl_node_free_if_empty(pl, n);
        n = next;
    }
}

zx_status_t vmpl_populate_slots_in_interval(struct vmpl *pl, uint64_t start, uint64_t end) {
    DEBUG_ASSERT(IS_ALIGNED(start, P) && IS_ALIGNED(end, P));
    if (start >= end)
        return ZX_OK;
    enum vmpl_dirty d;
    ASSERT(vmpl_in_interval(pl, start, &d));
    if (JASPER_DEBUG) {
        // One interval covers the range: no End or Slot before end - PAGE, no Start after start.
        uint64_t o;
        vmpl_slot_t s;
        bool found = vmpl_next_content(pl, start, &o, &s);
        ASSERT(found && vmpl_slot_is_interval(s));
        if (vmpl_slot_is_interval_start(s) && o == start)
            found = vmpl_next_content(pl, start + P, &o, &s);
        ASSERT_MSG(found && (vmpl_slot_is_interval_end(s) || vmpl_slot_is_interval_slot(s)) &&
                       o >= end - P,
                   "[%#llx, %#llx) is not inside one interval", (unsigned long long)start,
                   (unsigned long long)end);
    }
    zx_status_t st = split_range(pl, start, end);
    if (st != ZX_OK)
        return st;
    uint64_t lo = vmpl_node_base(start + pl->skew), hi = vmpl_node_base(end - P + pl->skew);
    for (uint64_t base = lo;; base += SPAN) {
        bool created;
        if (!node_get(pl, base, &created)) {
            free_empty_nodes(pl, lo, hi);
            vmpl_join_at(pl, end, NULL);
            vmpl_join_at(pl, start, NULL);
            return ZX_ERR_NO_MEMORY;
        }
        if (base == hi)
            break;
    }
    // Nothing can fail now. [start, end) is one interval: its length says which Slots await.
    vmpl_slot_t *first = vmpl_slot_ptr(pl, start, NULL);
    uint64_t awaiting = vmpl_slot_awaiting_len(*first);
    struct vmpl_node *n = vmpl_node_find(pl, lo);
    for (uint64_t o = start; o < end; o += P) {
        uint64_t so = o + pl->skew;
        if (n->tree.key != vmpl_node_base(so))
            n = vmpl_node_next(n);
        DEBUG_ASSERT(n && n->tree.key == vmpl_node_base(so));
        n->slots[vmpl_node_index(so)] = vmpl_slot_with_awaiting_len(
            vmpl_slot_interval(VMPL_SENTINEL_SLOT, d), o - start < awaiting ? P : 0);
    }
    return ZX_OK;
}

void vmpl_return_interval_slot(struct vmpl *pl, uint64_t offset) {
    // A Slot, or (when a neighbour was handed back first) already part of a merged interval.
    ASSERT_MSG(vmpl_in_interval(pl, offset, NULL), "offset %#llx is in no interval",
               (unsigned long long)offset);
    vmpl_join_at(pl, offset, NULL);
    vmpl_join_at(pl, offset + P, NULL);
}
