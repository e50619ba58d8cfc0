// The page list, operation by operation: slots and nodes, skew, walks with gaps and runs, zero
// intervals (add with merging, split across node boundaries, clip, populate, return), merge and
// take with intervals, offsets at the top of the range, and the checker. Pure: runs at boot and
// natively; out-of-memory tests and the random model runs are host-only (test/host/).
// Pages are fake (a static array): the list only stores and hands back pointers.
#include "kernel/ktest.h"
#include "kernel/printf.h"
#include "kernel/string.h"
#include "vm/page_list.h"

#define PG ((uint64_t)PAGE_SIZE)
#define SPAN VMPL_NODE_SPAN
#define MAXS VMPL_MAX_SIZE

static vm_page_t fake_pages[256];

static vmpl_slot_t pg(unsigned i) {
    return vmpl_slot_from_page(&fake_pages[i]);
}

#define ZSTART(d) vmpl_slot_interval(VMPL_SENTINEL_START, d)
#define ZEND(d) vmpl_slot_interval(VMPL_SENTINEL_END, d)
#define ZSLOT(d) vmpl_slot_interval(VMPL_SENTINEL_SLOT, d)
#define U VMPL_DIRTY_UNTRACKED
#define C VMPL_DIRTY_CLEAN
#define D VMPL_DIRTY_DIRTY

struct ov {
    uint64_t off;
    vmpl_slot_t v;
};

// Puts content at off (splitting an interval if needed). Returns false on failure.
static bool put(struct vmpl *pl, uint64_t off, vmpl_slot_t v) {
    vmpl_slot_t *s;
    if (vmpl_lookup_or_alloc(pl, off, VMPL_SPLIT_INTERVAL, &s, NULL) != ZX_OK)
        return false;
    *s = v;
    return true;
}

struct dump {
    size_t n;
    struct ov e[128];
};

static zx_status_t dump_slot(vmpl_slot_t *slot, uint64_t off, void *c) {
    struct dump *d = c;
    if (d->n < countof(d->e))
        d->e[d->n] = (struct ov){off, *slot};
    d->n++;
    return ZX_ERR_NEXT;
}

// Every non-Empty slot of the list equals want[0..n), in order, and the list checks.
static bool expect_exact(struct vmpl *pl, const struct ov *want, size_t n) {
    static struct dump d;
    d.n = 0;
    bool ok = EXPECT_OK(vmpl_for_each(pl, 0, MAXS, dump_slot, &d));
    ok = EXPECT_TRUE(vmpl_check(pl)) && ok;
    ok = EXPECT_EQ(d.n, n) && ok;
    for (size_t i = 0; i < n && i < d.n; i++) {
        if (!EXPECT_EQ(d.e[i].off, want[i].off) || !EXPECT_EQ(d.e[i].v, want[i].v)) {
            kprintf("    entry %zu differs\n", i);
            return false;
        }
    }
    return ok;
}

#define EXPECT_LIST(pl, ...)                                           \
    do {                                                               \
        const struct ov want_[] = {__VA_ARGS__};                       \
        expect_exact((pl), want_, countof(want_));                     \
    } while (0)
#define EXPECT_LIST_EMPTY(pl) expect_exact((pl), NULL, 0)

static void count_release(vmpl_slot_t v, uint64_t off, void *ctx) {
    (*(size_t *)ctx)++;
}

// Releases silently; the tests with fake pages need no freeing.
static void drop_release(vmpl_slot_t v, uint64_t off, void *ctx) {
}

static void finish(struct vmpl *pl) {
    vmpl_remove_all(pl, drop_release, NULL);
    vmpl_destroy(pl);
}

KTEST(vmpl, slot_encoding) {
    EXPECT_TRUE(vmpl_slot_is_empty(VMPL_SLOT_EMPTY));
    vmpl_slot_t p = pg(3);
    EXPECT_TRUE(vmpl_slot_is_page(p) && !vmpl_slot_is_empty(p) && vmpl_slot_is_page_or_ref(p));
    EXPECT_TRUE(vmpl_slot_page(p) == &fake_pages[3]);
    EXPECT_FALSE(vmpl_slot_is_marker(p) || vmpl_slot_is_ref(p) || vmpl_slot_is_interval(p));
    vmpl_slot_t m = vmpl_slot_marker();
    EXPECT_TRUE(vmpl_slot_is_marker(m) && !vmpl_slot_is_page(m) && !vmpl_slot_is_page_or_ref(m));
    vmpl_slot_t r0 = vmpl_slot_from_ref(0), rmax = vmpl_slot_from_ref(VMPL_REF_MAX);
    EXPECT_TRUE(vmpl_slot_is_ref(r0) && !vmpl_slot_is_empty(r0) && vmpl_slot_is_page_or_ref(r0));
    EXPECT_EQ(vmpl_slot_ref(r0), 0);
    EXPECT_EQ(vmpl_slot_ref(rmax), VMPL_REF_MAX);
    for (int k = 0; k < 3; k++) {
        for (int d = 0; d < 3; d++) {
            vmpl_slot_t s = vmpl_slot_interval((enum vmpl_sentinel)k, (enum vmpl_dirty)d);
            EXPECT_TRUE(vmpl_slot_is_interval(s) && !vmpl_slot_is_page(s));
            EXPECT_EQ(vmpl_slot_sentinel(s), k);
            EXPECT_EQ(vmpl_slot_dirty(s), d);
            EXPECT_EQ(vmpl_slot_is_interval_start(s), k == VMPL_SENTINEL_START);
            EXPECT_EQ(vmpl_slot_is_interval_end(s), k == VMPL_SENTINEL_END);
            EXPECT_EQ(vmpl_slot_is_interval_slot(s), k == VMPL_SENTINEL_SLOT);
        }
    }
    EXPECT_EQ(sizeof(struct vmpl_node), 160);
    EXPECT_EQ(MAXS % (2 * SPAN), 0);
    EXPECT_GT(MAXS, UINT64_MAX - 2 * SPAN);
}

KTEST(vmpl, lookup_alloc_remove_and_nodes) {
    size_t live0 = vmpl_nodes_live();
    struct vmpl pl;
    vmpl_init(&pl);
    EXPECT_TRUE(vmpl_is_empty(&pl));
    EXPECT_TRUE(vmpl_lookup(&pl, 0) == NULL);
    vmpl_slot_t *s;
    bool in;
    REQUIRE_OK(vmpl_lookup_or_alloc(&pl, 5 * PG, VMPL_NO_INTERVALS, &s, &in));
    EXPECT_FALSE(in);
    EXPECT_TRUE(vmpl_slot_is_empty(*s));
    EXPECT_EQ(vmpl_node_count(&pl), 1);
    // Left empty: handed back, the node goes.
    vmpl_return_empty_slot(&pl, 5 * PG);
    EXPECT_EQ(vmpl_node_count(&pl), 0);
    EXPECT_EQ(vmpl_nodes_live(), live0);
    REQUIRE_TRUE(put(&pl, 0, pg(0)));
    REQUIRE_TRUE(put(&pl, 15 * PG, pg(1)));
    REQUIRE_TRUE(put(&pl, 16 * PG, vmpl_slot_marker()));
    REQUIRE_TRUE(put(&pl, 100 * PG, vmpl_slot_from_ref(77)));
    EXPECT_EQ(vmpl_node_count(&pl), 3);
    EXPECT_EQ(vmpl_heap_bytes(&pl), 3 * sizeof(struct vmpl_node));
    EXPECT_EQ(vmpl_nodes_live(), live0 + 3);
    EXPECT_LIST(&pl, {0, pg(0)}, {15 * PG, pg(1)}, {16 * PG, vmpl_slot_marker()},
                {100 * PG, vmpl_slot_from_ref(77)});
    EXPECT_TRUE(vmpl_lookup(&pl, 15 * PG) && *vmpl_lookup(&pl, 15 * PG) == pg(1));
    EXPECT_TRUE(vmpl_lookup(&pl, 14 * PG) && vmpl_slot_is_empty(*vmpl_lookup(&pl, 14 * PG)));
    EXPECT_TRUE(vmpl_lookup(&pl, 32 * PG) == NULL);
    EXPECT_EQ(vmpl_get(&pl, 100 * PG), vmpl_slot_from_ref(77));
    EXPECT_EQ(vmpl_get(&pl, 101 * PG), VMPL_SLOT_EMPTY);
    // An existing slot: found, not allocated.
    REQUIRE_OK(vmpl_lookup_or_alloc(&pl, 15 * PG, VMPL_CHECK_INTERVAL, &s, &in));
    EXPECT_EQ(*s, pg(1));
    EXPECT_EQ(vmpl_node_count(&pl), 3);
    // Changing the kind of content through the pointer is allowed.
    *vmpl_lookup(&pl, 16 * PG) = pg(2);
    EXPECT_FALSE(vmpl_has_no_page_or_ref(&pl));
    EXPECT_EQ(vmpl_remove(&pl, 16 * PG), pg(2));
    EXPECT_EQ(vmpl_node_count(&pl), 2);  // node 16..31 emptied and freed
    EXPECT_EQ(vmpl_remove(&pl, 16 * PG), VMPL_SLOT_EMPTY);
    EXPECT_EQ(vmpl_remove(&pl, 0), pg(0));
    EXPECT_EQ(vmpl_node_count(&pl), 2);  // 15 still holds a page
    EXPECT_EQ(vmpl_remove(&pl, 15 * PG), pg(1));
    EXPECT_EQ(vmpl_remove(&pl, 100 * PG), vmpl_slot_from_ref(77));
    EXPECT_TRUE(vmpl_is_empty(&pl));
    EXPECT_TRUE(vmpl_has_no_page_or_ref(&pl));
    vmpl_destroy(&pl);
    EXPECT_EQ(vmpl_nodes_live(), live0);
}

KTEST(vmpl, skew_places_offsets) {
    struct vmpl pl;
    vmpl_init(&pl);
    vmpl_set_skew(&pl, 10 * PG, 9 * PG);  // (10 + 9) mod 16 = 3 pages
    EXPECT_EQ(vmpl_skew(&pl), 3 * PG);
    REQUIRE_TRUE(put(&pl, 12 * PG, pg(0)));  // skewed 15: node 0, last slot
    EXPECT_EQ(vmpl_node_count(&pl), 1);
    REQUIRE_TRUE(put(&pl, 13 * PG, pg(1)));  // skewed 16: node 1, slot 0
    EXPECT_EQ(vmpl_node_count(&pl), 2);
    REQUIRE_TRUE(put(&pl, 0, pg(2)));  // skewed 3: node 0
    EXPECT_EQ(vmpl_node_count(&pl), 2);
    EXPECT_LIST(&pl, {0, pg(2)}, {12 * PG, pg(0)}, {13 * PG, pg(1)});
    EXPECT_TRUE(wavl_find(&pl.nodes, 0) != NULL && wavl_find(&pl.nodes, SPAN) != NULL);
    finish(&pl);
}

KTEST(vmpl, remove_all_releases_pages_and_refs) {
    struct vmpl pl;
    vmpl_init(&pl);
    for (unsigned i = 0; i < 40; i++)
        REQUIRE_TRUE(put(&pl, i * 3 * PG, i % 2 ? pg(i) : vmpl_slot_from_ref(i)));
    REQUIRE_TRUE(put(&pl, 1000 * PG, vmpl_slot_marker()));
    REQUIRE_OK(vmpl_add_zero_interval(&pl, 2000 * PG, 3000 * PG, U));
    size_t released = 0;
    vmpl_remove_all(&pl, count_release, &released);
    EXPECT_EQ(released, 40);
    EXPECT_TRUE(vmpl_is_empty(&pl));
    EXPECT_TRUE(vmpl_check(&pl));
    // destroy drops markers and intervals.
    REQUIRE_TRUE(put(&pl, 0, vmpl_slot_marker()));
    REQUIRE_OK(vmpl_add_zero_interval(&pl, PG, 100 * PG, D));
    vmpl_destroy(&pl);
    EXPECT_TRUE(vmpl_is_empty(&pl));
}

struct walk_log {
    unsigned n, stop_at;
    zx_status_t stop_status;
    uint64_t offs[64];
};

static zx_status_t log_slot(vmpl_slot_t *slot, uint64_t off, void *c) {
    struct walk_log *w = c;
    if (w->n < 64)
        w->offs[w->n] = off;
    w->n++;
    return w->n == w->stop_at ? w->stop_status : ZX_ERR_NEXT;
}

KTEST(vmpl, for_each_ranges_stop_and_errors) {
    struct vmpl pl;
    vmpl_init(&pl);
    static const unsigned at[] = {0, 1, 15, 16, 17, 31, 40, 63, 64, 200};
    for (unsigned i = 0; i < countof(at); i++)
        REQUIRE_TRUE(put(&pl, at[i] * PG, pg(i)));
    struct walk_log w = {0};
    EXPECT_OK(vmpl_for_each(&pl, 1 * PG, 64 * PG, log_slot, &w));  // starts and ends mid-node
    EXPECT_EQ(w.n, 7);
    EXPECT_EQ(w.offs[0], 1 * PG);
    EXPECT_EQ(w.offs[6], 63 * PG);
    w = (struct walk_log){.stop_at = 3, .stop_status = ZX_ERR_STOP};
    EXPECT_OK(vmpl_for_each(&pl, 0, MAXS, log_slot, &w));
    EXPECT_EQ(w.n, 3);
    w = (struct walk_log){.stop_at = 4, .stop_status = ZX_ERR_INTERNAL};
    EXPECT_STATUS(vmpl_for_each(&pl, 0, MAXS, log_slot, &w), ZX_ERR_INTERNAL);
    EXPECT_EQ(w.n, 4);
    w = (struct walk_log){0};
    EXPECT_OK(vmpl_for_each(&pl, 17 * PG, 17 * PG, log_slot, &w));  // empty range
    EXPECT_OK(vmpl_for_each(&pl, 65 * PG, 200 * PG, log_slot, &w));  // nothing there
    EXPECT_EQ(w.n, 0);
    EXPECT_OK(vmpl_for_each(&pl, 200 * PG, 201 * PG, log_slot, &w));
    EXPECT_EQ(w.n, 1);
    finish(&pl);
}

struct gap_log {
    unsigned n;
    struct {
        uint64_t a, b;
        bool gap;
    } e[32];
};

static zx_status_t gl_slot(vmpl_slot_t *slot, uint64_t off, void *c) {
    struct gap_log *g = c;
    g->e[g->n].a = off;
    g->e[g->n].b = *slot;
    g->e[g->n++].gap = false;
    return ZX_ERR_NEXT;
}

static zx_status_t gl_gap(uint64_t a, uint64_t b, void *c) {
    struct gap_log *g = c;
    g->e[g->n].a = a;
    g->e[g->n].b = b;
    g->e[g->n++].gap = true;
    return ZX_ERR_NEXT;
}

KTEST(vmpl, gaps_skip_interval_interiors) {
    struct vmpl pl;
    vmpl_init(&pl);
    // page at 2, interval [10, 40), page at 45; nothing else.
    REQUIRE_TRUE(put(&pl, 2 * PG, pg(0)));
    REQUIRE_OK(vmpl_add_zero_interval(&pl, 10 * PG, 40 * PG, U));
    REQUIRE_TRUE(put(&pl, 45 * PG, pg(1)));
    static struct gap_log g;
    g.n = 0;
    EXPECT_OK(vmpl_for_each_and_gap(&pl, 0, 50 * PG, gl_slot, gl_gap, &g));
    REQUIRE_EQ(g.n, 8);
    EXPECT_TRUE(g.e[0].gap && g.e[0].a == 0 && g.e[0].b == 2 * PG);
    EXPECT_TRUE(!g.e[1].gap && g.e[1].a == 2 * PG);
    EXPECT_TRUE(g.e[2].gap && g.e[2].a == 3 * PG && g.e[2].b == 10 * PG);
    EXPECT_TRUE(!g.e[3].gap && g.e[3].a == 10 * PG && g.e[3].b == ZSTART(U));
    EXPECT_TRUE(!g.e[4].gap && g.e[4].a == 39 * PG && g.e[4].b == ZEND(U));
    EXPECT_TRUE(g.e[5].gap && g.e[5].a == 40 * PG && g.e[5].b == 45 * PG);
    EXPECT_TRUE(g.e[6].gap == false && g.e[6].a == 45 * PG);
    EXPECT_TRUE(g.e[7].gap && g.e[7].a == 46 * PG && g.e[7].b == 50 * PG);
    // Starting inside the interval: no gap until its End.
    g.n = 0;
    EXPECT_OK(vmpl_for_each_and_gap(&pl, 20 * PG, 42 * PG, gl_slot, gl_gap, &g));
    REQUIRE_EQ(g.n, 2);
    EXPECT_TRUE(!g.e[0].gap && g.e[0].a == 39 * PG);
    EXPECT_TRUE(g.e[1].gap && g.e[1].a == 40 * PG && g.e[1].b == 42 * PG);
    // Wholly inside: nothing at all. Ending inside: no trailing gap.
    g.n = 0;
    EXPECT_OK(vmpl_for_each_and_gap(&pl, 20 * PG, 30 * PG, gl_slot, gl_gap, &g));
    EXPECT_EQ(g.n, 0);
    EXPECT_OK(vmpl_for_each_and_gap(&pl, 5 * PG, 30 * PG, gl_slot, gl_gap, &g));
    REQUIRE_EQ(g.n, 2);
    EXPECT_TRUE(g.e[0].gap && g.e[0].a == 5 * PG && g.e[0].b == 10 * PG);
    EXPECT_TRUE(!g.e[1].gap && g.e[1].a == 10 * PG);
    // An empty list is one gap.
    struct vmpl empty;
    vmpl_init(&empty);
    g.n = 0;
    EXPECT_OK(vmpl_for_each_and_gap(&empty, 7 * PG, 9 * PG, gl_slot, gl_gap, &g));
    EXPECT_TRUE(g.n == 1 && g.e[0].gap && g.e[0].a == 7 * PG && g.e[0].b == 9 * PG);
    finish(&pl);
}

struct runs_log {
    unsigned n, fn_calls, fail_at_call;
    struct {
        uint64_t a, b;
        bool iv;
    } r[16];
};

static bool cmp_not_marker(vmpl_slot_t s, uint64_t off, void *ctx) {
    return !vmpl_slot_is_marker(s);
}

static zx_status_t runs_fn(vmpl_slot_t *slot, uint64_t off, void *c) {
    struct runs_log *l = c;
    l->fn_calls++;
    return l->fn_calls == l->fail_at_call ? ZX_ERR_INTERNAL : ZX_ERR_NEXT;
}

static zx_status_t runs_run(uint64_t a, uint64_t b, bool iv, void *c) {
    struct runs_log *l = c;
    l->r[l->n].a = a;
    l->r[l->n].b = b;
    l->r[l->n++].iv = iv;
    return ZX_ERR_NEXT;
}

KTEST(vmpl, contiguous_runs) {
    struct vmpl pl;
    vmpl_init(&pl);
    // pages 0..3, marker 4, pages 5..6, gap, interval [20, 30), page 30, interval [31, 32).
    for (unsigned i = 0; i < 7; i++)
        REQUIRE_TRUE(put(&pl, i * PG, i == 4 ? vmpl_slot_marker() : pg(i)));
    REQUIRE_OK(vmpl_add_zero_interval(&pl, 20 * PG, 30 * PG, U));
    REQUIRE_TRUE(put(&pl, 30 * PG, pg(30)));
    REQUIRE_OK(vmpl_add_zero_interval(&pl, 31 * PG, 32 * PG, C));
    static struct runs_log l;
    l = (struct runs_log){0};
    EXPECT_OK(vmpl_for_each_run(&pl, 0, 40 * PG, cmp_not_marker, runs_fn, runs_run, &l));
    REQUIRE_EQ(l.n, 5);
    EXPECT_TRUE(l.r[0].a == 0 && l.r[0].b == 4 * PG && !l.r[0].iv);
    EXPECT_TRUE(l.r[1].a == 5 * PG && l.r[1].b == 7 * PG && !l.r[1].iv);
    EXPECT_TRUE(l.r[2].a == 20 * PG && l.r[2].b == 30 * PG && l.r[2].iv);
    EXPECT_TRUE(l.r[3].a == 30 * PG && l.r[3].b == 31 * PG && !l.r[3].iv);
    EXPECT_TRUE(l.r[4].a == 31 * PG && l.r[4].b == 32 * PG && l.r[4].iv);
    EXPECT_EQ(l.fn_calls, 6 + 2 + 1 + 1);
    // A range inside the interval: the interval clipped to it.
    l = (struct runs_log){0};
    EXPECT_OK(vmpl_for_each_run(&pl, 22 * PG, 25 * PG, cmp_not_marker, runs_fn, runs_run, &l));
    REQUIRE_EQ(l.n, 1);
    EXPECT_TRUE(l.r[0].a == 22 * PG && l.r[0].b == 25 * PG && l.r[0].iv);
    // Starting inside, ending after.
    l = (struct runs_log){0};
    EXPECT_OK(vmpl_for_each_run(&pl, 25 * PG, 31 * PG, cmp_not_marker, runs_fn, runs_run, &l));
    REQUIRE_EQ(l.n, 2);
    EXPECT_TRUE(l.r[0].a == 25 * PG && l.r[0].b == 30 * PG && l.r[0].iv);
    // An error from fn: the run before the failing slot is reported first.
    l = (struct runs_log){.fail_at_call = 3};
    EXPECT_STATUS(vmpl_for_each_run(&pl, 0, 40 * PG, cmp_not_marker, runs_fn, runs_run, &l),
                  ZX_ERR_INTERNAL);
    REQUIRE_EQ(l.n, 1);
    EXPECT_TRUE(l.r[0].a == 0 && l.r[0].b == 2 * PG);
    finish(&pl);
}

static zx_status_t take_pages(vmpl_slot_t *slot, uint64_t off, void *c) {
    if (vmpl_slot_is_page(*slot)) {
        *slot = VMPL_SLOT_EMPTY;
        (*(size_t *)c)++;
    }
    return ZX_ERR_NEXT;
}

KTEST(vmpl, remove_range_frees_emptied_nodes) {
    struct vmpl pl;
    vmpl_init(&pl);
    for (unsigned i = 0; i < 64; i++)
        REQUIRE_TRUE(put(&pl, i * PG, pg(i)));
    REQUIRE_TRUE(put(&pl, 20 * PG, vmpl_slot_marker()));
    EXPECT_EQ(vmpl_node_count(&pl), 4);
    size_t n = 0;
    EXPECT_OK(vmpl_remove_range(&pl, 8 * PG, 56 * PG, take_pages, &n));
    EXPECT_EQ(n, 47);
    EXPECT_EQ(vmpl_node_count(&pl), 3);  // node 32..47 went; node 16..31 keeps the marker
    EXPECT_TRUE(vmpl_check(&pl));
    n = 0;
    EXPECT_OK(vmpl_remove_range(&pl, 0, MAXS, take_pages, &n));
    EXPECT_EQ(n, 16);
    EXPECT_LIST(&pl, {20 * PG, vmpl_slot_marker()});
    finish(&pl);
}

KTEST(vmpl, add_zero_interval_shapes_and_merging) {
    size_t live0 = vmpl_nodes_live();
    struct vmpl pl;
    vmpl_init(&pl);
    REQUIRE_OK(vmpl_add_zero_interval(&pl, 5 * PG, 6 * PG, U));
    EXPECT_LIST(&pl, {5 * PG, ZSLOT(U)});
    // Three nodes' worth stores two sentinels in two nodes.
    REQUIRE_OK(vmpl_add_zero_interval(&pl, 20 * PG, 70 * PG, U));
    EXPECT_EQ(vmpl_node_count(&pl), 3);
    EXPECT_LIST(&pl, {5 * PG, ZSLOT(U)}, {20 * PG, ZSTART(U)}, {69 * PG, ZEND(U)});
    // Merge left (onto the End), merge right (onto a Slot), then fill the hole between.
    REQUIRE_OK(vmpl_add_zero_interval(&pl, 70 * PG, 72 * PG, U));
    EXPECT_LIST(&pl, {5 * PG, ZSLOT(U)}, {20 * PG, ZSTART(U)}, {71 * PG, ZEND(U)});
    REQUIRE_OK(vmpl_add_zero_interval(&pl, 3 * PG, 5 * PG, U));
    EXPECT_LIST(&pl, {3 * PG, ZSTART(U)}, {5 * PG, ZEND(U)}, {20 * PG, ZSTART(U)},
                {71 * PG, ZEND(U)});
    REQUIRE_OK(vmpl_add_zero_interval(&pl, 6 * PG, 20 * PG, U));
    EXPECT_LIST(&pl, {3 * PG, ZSTART(U)}, {71 * PG, ZEND(U)});
    EXPECT_EQ(vmpl_node_count(&pl), 2);  // nodes that held only merged sentinels went
    EXPECT_TRUE(vmpl_is_offset_in_interval(&pl, 40 * PG));
    // Different dirty states stay apart; a page next to an interval does not merge.
    REQUIRE_OK(vmpl_add_zero_interval(&pl, 72 * PG, 73 * PG, D));
    REQUIRE_TRUE(put(&pl, 73 * PG, pg(0)));
    REQUIRE_OK(vmpl_add_zero_interval(&pl, 74 * PG, 76 * PG, D));
    REQUIRE_OK(vmpl_add_zero_interval(&pl, 1 * PG, 3 * PG, C));
    EXPECT_LIST(&pl, {1 * PG, ZSTART(C)}, {2 * PG, ZEND(C)}, {3 * PG, ZSTART(U)},
                {71 * PG, ZEND(U)}, {72 * PG, ZSLOT(D)}, {73 * PG, pg(0)}, {74 * PG, ZSTART(D)},
                {75 * PG, ZEND(D)});
    // A one-page interval between a Slot and a Start of its state joins all three.
    REQUIRE_OK(vmpl_add_zero_interval(&pl, 200 * PG, 201 * PG, C));
    REQUIRE_OK(vmpl_add_zero_interval(&pl, 202 * PG, 210 * PG, C));
    REQUIRE_OK(vmpl_add_zero_interval(&pl, 201 * PG, 202 * PG, C));
    EXPECT_EQ(vmpl_get(&pl, 200 * PG), ZSTART(C));
    EXPECT_EQ(vmpl_get(&pl, 201 * PG), VMPL_SLOT_EMPTY);
    EXPECT_EQ(vmpl_get(&pl, 202 * PG), VMPL_SLOT_EMPTY);
    EXPECT_EQ(vmpl_get(&pl, 209 * PG), ZEND(C));
    EXPECT_TRUE(vmpl_check(&pl));
    finish(&pl);
    EXPECT_EQ(vmpl_nodes_live(), live0);
}

KTEST(vmpl, split_interval_across_node_boundaries) {
    struct vmpl pl;
    vmpl_init(&pl);
    REQUIRE_OK(vmpl_add_zero_interval(&pl, 0, 64 * PG, U));
    EXPECT_EQ(vmpl_node_count(&pl), 2);  // nodes 0 and 3
    vmpl_slot_t *s;
    bool in = false;
    // Offset 16: first slot of node 1 (absent); its End neighbour lands in node 0.
    REQUIRE_OK(vmpl_lookup_or_alloc(&pl, 16 * PG, VMPL_SPLIT_INTERVAL, &s, &in));
    EXPECT_TRUE(in);
    EXPECT_EQ(*s, ZSLOT(U));
    EXPECT_EQ(vmpl_node_count(&pl), 3);
    EXPECT_EQ(vmpl_get(&pl, 15 * PG), ZEND(U));
    EXPECT_EQ(vmpl_get(&pl, 17 * PG), ZSTART(U));
    *s = pg(16);
    EXPECT_LIST(&pl, {0, ZSTART(U)}, {15 * PG, ZEND(U)}, {16 * PG, pg(16)}, {17 * PG, ZSTART(U)},
                {63 * PG, ZEND(U)});
    // Offset 47: last slot of node 2 (absent); its Start neighbour lands in node 3.
    REQUIRE_OK(vmpl_lookup_or_alloc(&pl, 47 * PG, VMPL_SPLIT_INTERVAL, &s, &in));
    EXPECT_TRUE(in);
    *s = pg(47);
    EXPECT_LIST(&pl, {0, ZSTART(U)}, {15 * PG, ZEND(U)}, {16 * PG, pg(16)}, {17 * PG, ZSTART(U)},
                {46 * PG, ZEND(U)}, {47 * PG, pg(47)}, {48 * PG, ZSTART(U)}, {63 * PG, ZEND(U)});
    // At a Start: the Start becomes the Slot. At an End: likewise. Two-page pieces become Slots.
    REQUIRE_OK(vmpl_lookup_or_alloc(&pl, 0, VMPL_SPLIT_INTERVAL, &s, &in));
    EXPECT_TRUE(in);
    EXPECT_EQ(*s, ZSLOT(U));
    EXPECT_EQ(vmpl_get(&pl, PG), ZSTART(U));
    vmpl_return_interval_slot(&pl, 0);
    EXPECT_EQ(vmpl_get(&pl, 0), ZSTART(U));
    EXPECT_EQ(vmpl_get(&pl, PG), VMPL_SLOT_EMPTY);
    REQUIRE_OK(vmpl_lookup_or_alloc(&pl, 63 * PG, VMPL_SPLIT_INTERVAL, &s, &in));
    *s = pg(63);
    REQUIRE_OK(vmpl_lookup_or_alloc(&pl, 61 * PG, VMPL_SPLIT_INTERVAL, &s, &in));
    *s = vmpl_slot_marker();
    EXPECT_LIST(&pl, {0, ZSTART(U)}, {15 * PG, ZEND(U)}, {16 * PG, pg(16)}, {17 * PG, ZSTART(U)},
                {46 * PG, ZEND(U)}, {47 * PG, pg(47)}, {48 * PG, ZSTART(U)}, {60 * PG, ZEND(U)},
                {61 * PG, vmpl_slot_marker()}, {62 * PG, ZSLOT(U)}, {63 * PG, pg(63)});
    // Already a Slot: handed back as is.
    REQUIRE_OK(vmpl_lookup_or_alloc(&pl, 62 * PG, VMPL_SPLIT_INTERVAL, &s, &in));
    EXPECT_TRUE(in && *s == ZSLOT(U));
    size_t nodes = vmpl_node_count(&pl);
    // Outside intervals nothing is split.
    REQUIRE_OK(vmpl_lookup_or_alloc(&pl, 100 * PG, VMPL_SPLIT_INTERVAL, &s, &in));
    EXPECT_FALSE(in);
    vmpl_return_empty_slot(&pl, 100 * PG);
    EXPECT_EQ(vmpl_node_count(&pl), nodes);
    vmpl_remove_all(&pl, drop_release, NULL);
    vmpl_destroy(&pl);
}

KTEST(vmpl, check_mode_and_return_interval_slot) {
    struct vmpl pl;
    vmpl_init(&pl);
    REQUIRE_OK(vmpl_add_zero_interval(&pl, 10 * PG, 40 * PG, C));
    vmpl_slot_t *s = NULL;
    bool in = false;
    size_t nodes = vmpl_node_count(&pl);
    for (uint64_t o = 10; o < 40; o += 7) {
        EXPECT_STATUS(vmpl_lookup_or_alloc(&pl, o * PG, VMPL_CHECK_INTERVAL, &s, &in),
                      ZX_ERR_BAD_STATE);
    }
    EXPECT_STATUS(vmpl_lookup_or_alloc(&pl, 39 * PG, VMPL_CHECK_INTERVAL, &s, &in),
                  ZX_ERR_BAD_STATE);
    EXPECT_EQ(vmpl_node_count(&pl), nodes);
    REQUIRE_OK(vmpl_lookup_or_alloc(&pl, 40 * PG, VMPL_CHECK_INTERVAL, &s, &in));
    EXPECT_FALSE(in);
    vmpl_return_empty_slot(&pl, 40 * PG);
    // Split anywhere and hand back: the interval is as before.
    for (uint64_t o = 10; o < 40; o++) {
        REQUIRE_OK(vmpl_lookup_or_alloc(&pl, o * PG, VMPL_SPLIT_INTERVAL, &s, &in));
        EXPECT_TRUE(in);
        vmpl_return_interval_slot(&pl, o * PG);
        EXPECT_LIST(&pl, {10 * PG, ZSTART(C)}, {39 * PG, ZEND(C)});
        if (ktest_failed())
            break;
    }
    EXPECT_EQ(vmpl_node_count(&pl), nodes);
    finish(&pl);
}

KTEST(vmpl, clip_interval_start_and_end) {
    struct vmpl pl;
    vmpl_init(&pl);
    REQUIRE_OK(vmpl_add_zero_interval(&pl, 10 * PG, 60 * PG, U));
    REQUIRE_OK(vmpl_clip_interval_start(&pl, 10 * PG, 20 * PG));  // into a new node
    EXPECT_LIST(&pl, {30 * PG, ZSTART(U)}, {59 * PG, ZEND(U)});
    EXPECT_EQ(vmpl_node_count(&pl), 2);  // node 0 went
    REQUIRE_OK(vmpl_clip_interval_end(&pl, 59 * PG, 25 * PG));
    EXPECT_LIST(&pl, {30 * PG, ZSTART(U)}, {34 * PG, ZEND(U)});
    REQUIRE_OK(vmpl_clip_interval_end(&pl, 34 * PG, 4 * PG));  // down to its Start: a Slot
    EXPECT_LIST(&pl, {30 * PG, ZSLOT(U)});
    REQUIRE_OK(vmpl_add_zero_interval(&pl, 31 * PG, 33 * PG, U));
    REQUIRE_OK(vmpl_clip_interval_start(&pl, 30 * PG, 2 * PG));  // up to its End: a Slot
    EXPECT_LIST(&pl, {32 * PG, ZSLOT(U)});
    EXPECT_OK(vmpl_clip_interval_start(&pl, 0, 0));  // nothing to do
    finish(&pl);
}

KTEST(vmpl, populate_slots_then_fill_and_return) {
    struct vmpl pl;
    vmpl_init(&pl);
    REQUIRE_OK(vmpl_add_zero_interval(&pl, PG, 60 * PG, D));
    REQUIRE_OK(vmpl_populate_slots_in_interval(&pl, 10 * PG, 40 * PG));
    kprintf("    (a deliberate vmpl_check complaint follows)\n");
    EXPECT_FALSE(vmpl_check(&pl));  // Slots next to each other: not maximal, on purpose
    EXPECT_EQ(vmpl_get(&pl, 9 * PG), ZEND(D));
    EXPECT_EQ(vmpl_get(&pl, 40 * PG), ZSTART(D));
    for (uint64_t o = 10; o < 40; o++)
        EXPECT_EQ(vmpl_get(&pl, o * PG), ZSLOT(D));
    EXPECT_EQ(vmpl_node_count(&pl), 4);
    // Fill every third, hand back the rest.
    for (uint64_t o = 10; o < 40; o += 3)
        *vmpl_lookup(&pl, o * PG) = pg((unsigned)o);
    for (uint64_t o = 10; o < 40; o++) {
        if (o % 3 != 1)
            vmpl_return_interval_slot(&pl, o * PG);
    }
    EXPECT_TRUE(vmpl_check(&pl));
    EXPECT_EQ(vmpl_get(&pl, PG), ZSTART(D));
    EXPECT_EQ(vmpl_get(&pl, 9 * PG), ZEND(D));
    EXPECT_EQ(vmpl_get(&pl, 10 * PG), pg(10));
    EXPECT_EQ(vmpl_get(&pl, 11 * PG), ZSTART(D));
    EXPECT_EQ(vmpl_get(&pl, 12 * PG), ZEND(D));
    EXPECT_EQ(vmpl_get(&pl, 37 * PG), pg(37));
    EXPECT_EQ(vmpl_get(&pl, 38 * PG), ZSTART(D));
    EXPECT_EQ(vmpl_get(&pl, 59 * PG), ZEND(D));
    // Populating a whole interval, then returning everything, restores it.
    struct vmpl q;
    vmpl_init(&q);
    REQUIRE_OK(vmpl_add_zero_interval(&q, 5 * PG, 50 * PG, U));
    REQUIRE_OK(vmpl_populate_slots_in_interval(&q, 5 * PG, 50 * PG));
    for (uint64_t o = 49; o >= 5; o--)
        vmpl_return_interval_slot(&q, o * PG);
    EXPECT_LIST(&q, {5 * PG, ZSTART(U)}, {49 * PG, ZEND(U)});
    finish(&q);
    vmpl_remove_all(&pl, drop_release, NULL);
    vmpl_destroy(&pl);
}

KTEST(vmpl, interval_queries) {
    struct vmpl pl;
    vmpl_init(&pl);
    vmpl_set_skew(&pl, 0, 7 * PG);
    REQUIRE_OK(vmpl_add_zero_interval(&pl, 3 * PG, 100 * PG, U));  // nodes between are absent
    REQUIRE_TRUE(put(&pl, 100 * PG, pg(0)));
    REQUIRE_OK(vmpl_add_zero_interval(&pl, 150 * PG, 151 * PG, U));
    static const struct {
        uint64_t off;
        bool in;
    } q[] = {{0, false},        {2 * PG, false},   {3 * PG, true},    {4 * PG, true},
             {50 * PG, true},   {99 * PG, true},   {100 * PG, false}, {101 * PG, false},
             {149 * PG, false}, {150 * PG, true},  {151 * PG, false}, {MAXS - PG, false}};
    for (size_t i = 0; i < countof(q); i++) {
        if (!EXPECT_EQ(vmpl_is_offset_in_interval(&pl, q[i].off), q[i].in))
            kprintf("    at %#llx\n", (unsigned long long)q[i].off);
    }
    EXPECT_FALSE(vmpl_any_in_range(&pl, 0, 3 * PG));
    EXPECT_TRUE(vmpl_any_in_range(&pl, 0, 4 * PG));
    EXPECT_TRUE(vmpl_any_in_range(&pl, 40 * PG, 41 * PG));  // inside, no slot in range
    EXPECT_TRUE(vmpl_any_in_range(&pl, 100 * PG, 101 * PG));
    EXPECT_FALSE(vmpl_any_in_range(&pl, 101 * PG, 150 * PG));
    EXPECT_FALSE(vmpl_any_in_range(&pl, 5 * PG, 5 * PG));
    vmpl_remove_all(&pl, drop_release, NULL);
    vmpl_destroy(&pl);
}

KTEST(vmpl, clear_range_cuts_intervals) {
    struct vmpl pl;
    vmpl_init(&pl);
    REQUIRE_OK(vmpl_add_zero_interval(&pl, 0, 48 * PG, U));
    REQUIRE_TRUE(put(&pl, 50 * PG, pg(0)));
    REQUIRE_TRUE(put(&pl, 51 * PG, vmpl_slot_from_ref(5)));
    REQUIRE_OK(vmpl_add_zero_interval(&pl, 60 * PG, 90 * PG, C));
    size_t released = 0;
    REQUIRE_OK(vmpl_clear_range(&pl, 10 * PG, 20 * PG, count_release, &released));
    EXPECT_EQ(released, 0);
    EXPECT_LIST(&pl, {0, ZSTART(U)}, {9 * PG, ZEND(U)}, {20 * PG, ZSTART(U)}, {47 * PG, ZEND(U)},
                {50 * PG, pg(0)}, {51 * PG, vmpl_slot_from_ref(5)}, {60 * PG, ZSTART(C)},
                {89 * PG, ZEND(C)});
    REQUIRE_OK(vmpl_clear_range(&pl, 40 * PG, 70 * PG, count_release, &released));
    EXPECT_EQ(released, 2);
    EXPECT_LIST(&pl, {0, ZSTART(U)}, {9 * PG, ZEND(U)}, {20 * PG, ZSTART(U)}, {39 * PG, ZEND(U)},
                {70 * PG, ZSTART(C)}, {89 * PG, ZEND(C)});
    // Clearing then zeroing a range that cuts both: one interval of each state remains apart.
    REQUIRE_OK(vmpl_clear_range(&pl, 5 * PG, 80 * PG, count_release, &released));
    REQUIRE_OK(vmpl_add_zero_interval(&pl, 5 * PG, 80 * PG, U));
    EXPECT_LIST(&pl, {0, ZSTART(U)}, {79 * PG, ZEND(U)}, {80 * PG, ZSTART(C)}, {89 * PG, ZEND(C)});
    finish(&pl);
}

struct migrate_log {
    unsigned calls, released;
};

// Takes (empties) even fake pages, keeps the rest.
static void migrate_take_even(vmpl_slot_t *slot, uint64_t off, void *c) {
    struct migrate_log *m = c;
    m->calls++;
    if (vmpl_slot_is_page(*slot) && (vmpl_slot_page(*slot) - fake_pages) % 2 == 0)
        *slot = VMPL_SLOT_EMPTY;
}

static void merge_release(vmpl_slot_t v, uint64_t off, void *c) {
    ((struct migrate_log *)c)->released++;
}

KTEST(vmpl, merge_moves_whole_nodes) {
    struct vmpl src, dst;
    vmpl_init(&src);
    vmpl_init(&dst);
    vmpl_set_skew(&src, 0, 5 * PG);
    vmpl_set_skew(&dst, vmpl_skew(&src), 11 * PG);  // dst is src's child at offset 11 pages
    for (unsigned i = 0; i < 80; i++)
        REQUIRE_TRUE(put(&src, i * PG, pg(2 * i + 1)));  // odd pages: kept by migrate
    size_t live = vmpl_nodes_live();
    struct migrate_log m = {0};
    REQUIRE_OK(vmpl_merge_onto(&src, &dst, 11 * PG, 75 * PG, migrate_take_even, merge_release, &m));
    EXPECT_EQ(vmpl_nodes_live(), live - 2);  // nothing allocated; two out-of-range nodes went
    EXPECT_TRUE(vmpl_is_empty(&src));
    EXPECT_EQ(m.calls, 64);
    EXPECT_EQ(m.released, 16);  // 0..10 and 75..79
    EXPECT_EQ(vmpl_get(&dst, 0), pg(23));
    EXPECT_EQ(vmpl_get(&dst, 63 * PG), pg(149));
    EXPECT_EQ(vmpl_get(&dst, 64 * PG), VMPL_SLOT_EMPTY);
    EXPECT_TRUE(vmpl_check(&dst));
    vmpl_remove_all(&dst, drop_release, NULL);
    vmpl_destroy(&src);
    vmpl_destroy(&dst);
}

KTEST(vmpl, merge_conflicts_keep_destination) {
    struct vmpl src, dst;
    vmpl_init(&src);
    vmpl_init(&dst);
    for (unsigned i = 0; i < 32; i++)
        REQUIRE_TRUE(put(&src, i * PG, pg(i)));
    REQUIRE_TRUE(put(&dst, 3 * PG, pg(100)));
    REQUIRE_TRUE(put(&dst, 4 * PG, vmpl_slot_marker()));
    REQUIRE_OK(vmpl_add_zero_interval(&dst, 10 * PG, 20 * PG, U));  // hides src there
    struct migrate_log m = {0};
    REQUIRE_OK(vmpl_merge_onto(&src, &dst, 0, 32 * PG, migrate_take_even, merge_release, &m));
    EXPECT_EQ(m.released, 2 + 10);
    EXPECT_EQ(m.calls, 20);
    EXPECT_LIST(&dst, {1 * PG, pg(1)}, {3 * PG, pg(100)}, {4 * PG, vmpl_slot_marker()},
                {5 * PG, pg(5)}, {7 * PG, pg(7)}, {9 * PG, pg(9)}, {10 * PG, ZSTART(U)},
                {19 * PG, ZEND(U)}, {21 * PG, pg(21)}, {23 * PG, pg(23)}, {25 * PG, pg(25)},
                {27 * PG, pg(27)}, {29 * PG, pg(29)}, {31 * PG, pg(31)});
    vmpl_remove_all(&dst, drop_release, NULL);
    vmpl_destroy(&src);
    vmpl_destroy(&dst);
}

KTEST(vmpl, merge_intervals_split_and_join) {
    struct vmpl src, dst;
    vmpl_init(&src);
    vmpl_init(&dst);
    // src: zero [0, 64) hides the grandparent; a page at 70.
    // dst: page at 20, interval [40, 50) of the same state, [60, 62) dirty, marker at 63.
    REQUIRE_OK(vmpl_add_zero_interval(&src, 0, 64 * PG, U));
    REQUIRE_TRUE(put(&src, 70 * PG, pg(70)));
    REQUIRE_TRUE(put(&dst, 20 * PG, pg(20)));
    REQUIRE_OK(vmpl_add_zero_interval(&dst, 40 * PG, 50 * PG, U));
    REQUIRE_OK(vmpl_add_zero_interval(&dst, 60 * PG, 62 * PG, D));
    REQUIRE_TRUE(put(&dst, 63 * PG, vmpl_slot_marker()));
    struct migrate_log m = {0};
    REQUIRE_OK(vmpl_merge_onto(&src, &dst, 0, 80 * PG, NULL, merge_release, &m));
    // src's interval fills around dst's content and merges with dst's same-state interval.
    EXPECT_LIST(&dst, {0, ZSTART(U)}, {19 * PG, ZEND(U)}, {20 * PG, pg(20)}, {21 * PG, ZSTART(U)},
                {59 * PG, ZEND(U)}, {60 * PG, ZSTART(D)}, {61 * PG, ZEND(D)},
                {62 * PG, ZSLOT(U)}, {63 * PG, vmpl_slot_marker()}, {70 * PG, pg(70)});
    EXPECT_TRUE(vmpl_is_empty(&src));
    // Merging an interval onto a list whose interval covers it entirely drops it.
    REQUIRE_OK(vmpl_add_zero_interval(&src, 25 * PG, 30 * PG, C));
    REQUIRE_OK(vmpl_merge_onto(&src, &dst, 0, 80 * PG, NULL, merge_release, &m));
    EXPECT_TRUE(vmpl_is_empty(&src));
    EXPECT_EQ(vmpl_get(&dst, 25 * PG), VMPL_SLOT_EMPTY);
    EXPECT_TRUE(vmpl_check(&dst));
    // An interval crossing the range ends is cut at them.
    REQUIRE_OK(vmpl_add_zero_interval(&src, 100 * PG, 300 * PG, C));
    struct vmpl dst2;
    vmpl_init(&dst2);
    vmpl_set_skew(&dst2, vmpl_skew(&src), 150 * PG);
    REQUIRE_OK(vmpl_merge_onto(&src, &dst2, 150 * PG, 200 * PG, NULL, merge_release, &m));
    EXPECT_LIST(&dst2, {0, ZSTART(C)}, {49 * PG, ZEND(C)});
    EXPECT_EQ(m.released, 0);
    finish(&dst2);
    vmpl_remove_all(&dst, drop_release, NULL);
    vmpl_destroy(&src);
    vmpl_destroy(&dst);
}

KTEST(vmpl, take_head_middle_tail) {
    struct vmpl pl;
    vmpl_init(&pl);
    vmpl_set_skew(&pl, 0, 3 * PG);
    for (unsigned i = 0; i < 100; i += 2)
        REQUIRE_TRUE(put(&pl, i * PG, pg(i)));
    REQUIRE_TRUE(put(&pl, 41 * PG, vmpl_slot_marker()));
    static struct vmpl_splice sp;
    REQUIRE_OK(vmpl_take(&pl, 5 * PG, 70 * PG, &sp));
    for (unsigned i = 5; i < 75; i++) {
        vmpl_slot_t want = i % 2 == 0 ? pg(i) : (i == 41 ? vmpl_slot_marker() : VMPL_SLOT_EMPTY);
        REQUIRE_FALSE(vmpl_splice_done(&sp));
        if (!EXPECT_EQ(vmpl_splice_pop(&sp), want))
            break;
    }
    EXPECT_TRUE(vmpl_splice_done(&sp));
    vmpl_splice_destroy(&sp, drop_release, NULL);
    EXPECT_EQ(vmpl_get(&pl, 4 * PG), pg(4));
    EXPECT_EQ(vmpl_get(&pl, 6 * PG), VMPL_SLOT_EMPTY);
    EXPECT_EQ(vmpl_get(&pl, 76 * PG), pg(76));
    EXPECT_TRUE(vmpl_check(&pl));
    // A take popped only in part: destroy releases the rest.
    REQUIRE_OK(vmpl_take(&pl, 0, 100 * PG, &sp));
    EXPECT_TRUE(vmpl_is_empty(&pl));
    EXPECT_EQ(vmpl_splice_pop(&sp), pg(0));
    size_t released = 0;
    vmpl_splice_destroy(&sp, count_release, &released);
    EXPECT_EQ(released, 2 + 12);  // 2, 4 and 76..98
    vmpl_destroy(&pl);
}

KTEST(vmpl, take_splits_intervals) {
    struct vmpl pl;
    vmpl_init(&pl);
    REQUIRE_OK(vmpl_add_zero_interval(&pl, 0, 64 * PG, C));
    REQUIRE_TRUE(put(&pl, 64 * PG, pg(1)));
    static struct vmpl_splice sp;
    REQUIRE_OK(vmpl_take(&pl, 10 * PG, 56 * PG, &sp));  // [10, 66): starts inside the interval
    for (unsigned i = 10; i < 64; i++)
        EXPECT_EQ(vmpl_splice_pop(&sp), ZSLOT(C));
    EXPECT_EQ(vmpl_splice_pop(&sp), pg(1));
    EXPECT_EQ(vmpl_splice_pop(&sp), VMPL_SLOT_EMPTY);
    EXPECT_TRUE(vmpl_splice_done(&sp));
    vmpl_splice_destroy(&sp, drop_release, NULL);
    EXPECT_LIST(&pl, {0, ZSTART(C)}, {9 * PG, ZEND(C)});
    // Ending inside.
    REQUIRE_OK(vmpl_take(&pl, 0, 5 * PG, &sp));
    vmpl_splice_destroy(&sp, drop_release, NULL);
    EXPECT_LIST(&pl, {5 * PG, ZSTART(C)}, {9 * PG, ZEND(C)});
    finish(&pl);
}

KTEST(vmpl, offsets_near_max_size) {
    struct vmpl pl;
    vmpl_init(&pl);
    vmpl_set_skew(&pl, 0, 15 * PG);  // the largest skew
    vmpl_slot_t *s;
    EXPECT_STATUS(vmpl_lookup_or_alloc(&pl, MAXS, VMPL_NO_INTERVALS, &s, NULL),
                  ZX_ERR_OUT_OF_RANGE);
    EXPECT_STATUS(vmpl_lookup_or_alloc(&pl, ROUNDDOWN(UINT64_MAX, PG), VMPL_SPLIT_INTERVAL, &s,
                                       NULL),
                  ZX_ERR_OUT_OF_RANGE);
    EXPECT_TRUE(vmpl_lookup(&pl, MAXS) == NULL);
    REQUIRE_TRUE(put(&pl, MAXS - PG, pg(0)));
    REQUIRE_TRUE(put(&pl, MAXS - 17 * PG, pg(1)));
    EXPECT_TRUE(vmpl_check(&pl));
    EXPECT_EQ(vmpl_get(&pl, MAXS - PG), pg(0));
    // An interval up to MAX_SIZE, split at its last page and next to it.
    REQUIRE_OK(vmpl_add_zero_interval(&pl, MAXS - 16 * PG, MAXS - PG, U));
    EXPECT_EQ(vmpl_remove(&pl, MAXS - PG), pg(0));
    REQUIRE_OK(vmpl_add_zero_interval(&pl, MAXS - PG, MAXS, U));  // merges left
    EXPECT_LIST(&pl, {MAXS - 17 * PG, pg(1)}, {MAXS - 16 * PG, ZSTART(U)}, {MAXS - PG, ZEND(U)});
    bool in;
    REQUIRE_OK(vmpl_lookup_or_alloc(&pl, MAXS - PG, VMPL_SPLIT_INTERVAL, &s, &in));
    EXPECT_TRUE(in);
    *s = pg(2);
    REQUIRE_OK(vmpl_lookup_or_alloc(&pl, MAXS - 9 * PG, VMPL_SPLIT_INTERVAL, &s, &in));
    *s = pg(3);
    EXPECT_LIST(&pl, {MAXS - 17 * PG, pg(1)}, {MAXS - 16 * PG, ZSTART(U)},
                {MAXS - 10 * PG, ZEND(U)}, {MAXS - 9 * PG, pg(3)}, {MAXS - 8 * PG, ZSTART(U)},
                {MAXS - 2 * PG, ZEND(U)}, {MAXS - PG, pg(2)});
    EXPECT_TRUE(vmpl_is_offset_in_interval(&pl, MAXS - 5 * PG));
    EXPECT_FALSE(vmpl_is_offset_in_interval(&pl, MAXS - PG));
    static struct gap_log g;
    g.n = 0;
    EXPECT_OK(vmpl_for_each_and_gap(&pl, MAXS - 20 * PG, MAXS, gl_slot, gl_gap, &g));
    EXPECT_EQ(g.n, 8);
    // Take the top, then merge the rest onto a list at offset 0.
    static struct vmpl_splice sp;
    REQUIRE_OK(vmpl_take(&pl, MAXS - 4 * PG, 4 * PG, &sp));
    EXPECT_EQ(vmpl_splice_pop(&sp), ZSLOT(U));
    vmpl_splice_destroy(&sp, drop_release, NULL);
    EXPECT_TRUE(vmpl_check(&pl));
    struct vmpl dst;
    vmpl_init(&dst);
    uint64_t off = MAXS - 32 * PG;
    vmpl_set_skew(&dst, vmpl_skew(&pl), off);
    REQUIRE_OK(vmpl_merge_onto(&pl, &dst, off, MAXS, NULL, drop_release, NULL));
    EXPECT_LIST(&dst, {15 * PG, pg(1)}, {16 * PG, ZSTART(U)}, {22 * PG, ZEND(U)}, {23 * PG, pg(3)},
                {24 * PG, ZSTART(U)}, {27 * PG, ZEND(U)});
    vmpl_remove_all(&dst, drop_release, NULL);
    vmpl_destroy(&dst);
    vmpl_destroy(&pl);
}

KTEST(vmpl, check_detects_corruption) {
    struct vmpl pl;
    vmpl_init(&pl);
    REQUIRE_OK(vmpl_add_zero_interval(&pl, 0, 10 * PG, U));
    REQUIRE_TRUE(put(&pl, 40 * PG, pg(0)));
    REQUIRE_TRUE(vmpl_check(&pl));
    kprintf("    (deliberate vmpl_check complaints follow)\n");
    vmpl_slot_t *s = vmpl_lookup(&pl, 40 * PG);
    *s = VMPL_SLOT_EMPTY;  // an empty node
    EXPECT_FALSE(vmpl_check(&pl));
    *s = 5;  // unknown tag
    EXPECT_FALSE(vmpl_check(&pl));
    *s = ZEND(U);  // End without Start
    EXPECT_FALSE(vmpl_check(&pl));
    *s = pg(0);
    *vmpl_lookup(&pl, 4 * PG) = pg(1);  // content inside an interval
    EXPECT_FALSE(vmpl_check(&pl));
    *vmpl_lookup(&pl, 4 * PG) = VMPL_SLOT_EMPTY;
    *vmpl_lookup(&pl, 10 * PG) = ZSLOT(U);  // adjacent same-state intervals
    EXPECT_FALSE(vmpl_check(&pl));
    *vmpl_lookup(&pl, 10 * PG) = ZSLOT(D);  // different states may touch
    EXPECT_TRUE(vmpl_check(&pl));
    *vmpl_lookup(&pl, 9 * PG) = ZEND(C);  // End's state differs from its Start's
    EXPECT_FALSE(vmpl_check(&pl));
    *vmpl_lookup(&pl, 9 * PG) = ZEND(U);
    EXPECT_TRUE(vmpl_check(&pl));
    vmpl_remove_all(&pl, drop_release, NULL);
    vmpl_destroy(&pl);
}
