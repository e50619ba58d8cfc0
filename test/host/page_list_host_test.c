// Host-only page-list tests: out of memory at every allocation point of every operation that
// allocates (the list must come back exactly as it was, and pass vmpl_check), and long random
// operation sequences against the reference model (the fuzzer's driver with fixed seeds).
#include <stdlib.h>

#include "kernel/ktest.h"
#include "kernel/printf.h"
#include "test/host/host_env.h"
#include "test/host/vmpl_model.h"
#include "vm/page_list.h"

#define PG ((uint64_t)PAGE_SIZE)
#define U VMPL_DIRTY_UNTRACKED

static vm_page_t fake[64];

static void drop(vmpl_slot_t v, uint64_t off, void *ctx) {
}

struct snap {
    size_t n, nodes;
    uint64_t skew;
    uint64_t off[512];
    vmpl_slot_t v[512];
};

static zx_status_t snap_slot(vmpl_slot_t *slot, uint64_t off, void *c) {
    struct snap *s = c;
    if (s->n < 512) {
        s->off[s->n] = off;
        s->v[s->n] = *slot;
    }
    s->n++;
    return ZX_ERR_NEXT;
}

static void take_snap(struct vmpl *pl, struct snap *s) {
    s->n = 0;
    s->nodes = vmpl_node_count(pl);
    s->skew = vmpl_skew(pl);
    zx_status_t st = vmpl_for_each(pl, 0, VMPL_MAX_SIZE, snap_slot, s);
    ASSERT(st == ZX_OK && s->n <= 512);
}

static bool same_as(struct vmpl *pl, const struct snap *want) {
    static struct snap now;
    take_snap(pl, &now);
    if (now.n != want->n || now.nodes != want->nodes || now.skew != want->skew)
        return false;
    for (size_t i = 0; i < now.n; i++) {
        if (now.off[i] != want->off[i] || now.v[i] != want->v[i])
            return false;
    }
    return true;
}

// The lists an operation works on: `a` always, `b` for merges.
struct scene {
    struct vmpl a, b;
};

typedef void (*build_fn)(struct scene *s);
typedef zx_status_t (*op_fn)(struct scene *s);

static void put(struct vmpl *pl, uint64_t off, vmpl_slot_t v) {
    vmpl_slot_t *slot;
    zx_status_t st = vmpl_lookup_or_alloc(pl, off, VMPL_SPLIT_INTERVAL, &slot, NULL);
    ASSERT(st == ZX_OK);
    *slot = v;
}

// Runs op with the k-th allocation failing, for k = 1, 2, ... until it succeeds. Every failure must
// leave both lists exactly as built. Returns the number of failures seen.
static size_t oom_every_point(build_fn build, op_fn op) {
    static struct scene s;
    static struct snap sa, sb;
    size_t failures = 0;
    for (size_t k = 1; k < 1000; k++) {
        vmpl_init(&s.a);
        vmpl_init(&s.b);
        build(&s);
        size_t live = host_alloc_live();
        take_snap(&s.a, &sa);
        take_snap(&s.b, &sb);
        host_alloc_fail_after(k);
        zx_status_t st = op(&s);
        host_alloc_fail_disarm();
        bool done = st != ZX_ERR_NO_MEMORY;
        if (!done) {
            failures++;
            EXPECT_TRUE(same_as(&s.a, &sa));
            EXPECT_TRUE(same_as(&s.b, &sb));
            EXPECT_TRUE(vmpl_check(&s.a) && vmpl_check(&s.b));
            EXPECT_EQ(host_alloc_live(), live);
        } else {
            EXPECT_OK(st);
            EXPECT_TRUE(vmpl_check(&s.a) && vmpl_check(&s.b));
        }
        vmpl_remove_all(&s.a, drop, NULL);
        vmpl_remove_all(&s.b, drop, NULL);
        if (done || ktest_failed())
            break;
    }
    EXPECT_EQ(vmpl_nodes_live(), 0);
    return failures;
}

static void build_empty(struct scene *s) {
}

static void build_interval(struct scene *s) {
    zx_status_t st = vmpl_add_zero_interval(&s->a, 0, 64 * PG, U);
    ASSERT(st == ZX_OK);
}

static zx_status_t op_alloc(struct scene *s) {
    vmpl_slot_t *slot;
    zx_status_t st = vmpl_lookup_or_alloc(&s->a, 40 * PG, VMPL_NO_INTERVALS, &slot, NULL);
    if (st == ZX_OK)
        *slot = vmpl_slot_from_page(&fake[0]);
    return st;
}

// Splits needing both neighbours' nodes: 32 (slot 0 of an absent node; End goes to absent 31).
static zx_status_t op_split_32(struct scene *s) {
    vmpl_slot_t *slot;
    bool in;
    zx_status_t st = vmpl_lookup_or_alloc(&s->a, 32 * PG, VMPL_SPLIT_INTERVAL, &slot, &in);
    if (st == ZX_OK)
        *slot = vmpl_slot_from_page(&fake[1]);
    return st;
}

static zx_status_t op_split_47(struct scene *s) {
    vmpl_slot_t *slot;
    bool in;
    zx_status_t st = vmpl_lookup_or_alloc(&s->a, 47 * PG, VMPL_SPLIT_INTERVAL, &slot, &in);
    if (st == ZX_OK)
        *slot = vmpl_slot_from_page(&fake[2]);
    return st;
}

static zx_status_t op_add_interval(struct scene *s) {
    return vmpl_add_zero_interval(&s->a, 20 * PG, 100 * PG, U);
}

static zx_status_t op_clip_start(struct scene *s) {
    return vmpl_clip_interval_start(&s->a, 0, 40 * PG);
}

static zx_status_t op_clip_end(struct scene *s) {
    return vmpl_clip_interval_end(&s->a, 63 * PG, 40 * PG);
}

static void build_big_interval(struct scene *s) {
    zx_status_t st = vmpl_add_zero_interval(&s->a, 0, 300 * PG, U);
    ASSERT(st == ZX_OK);
}

static zx_status_t op_populate(struct scene *s) {
    zx_status_t st = vmpl_populate_slots_in_interval(&s->a, 10 * PG, 200 * PG);
    if (st == ZX_OK) {
        for (uint64_t o = 10; o < 200; o++)
            *vmpl_lookup(&s->a, o * PG) = vmpl_slot_marker();
    }
    return st;
}

static zx_status_t op_clear(struct scene *s) {
    return vmpl_clear_range(&s->a, 40 * PG, 250 * PG, drop, NULL);
}

static zx_status_t op_take(struct scene *s) {
    static struct vmpl_splice sp;
    zx_status_t st = vmpl_take(&s->a, 33 * PG, 200 * PG, &sp);
    if (st == ZX_OK)
        vmpl_splice_destroy(&sp, drop, NULL);
    return st;
}

static void build_merge(struct scene *s) {
    build_big_interval(s);
    put(&s->a, 310 * PG, vmpl_slot_from_page(&fake[3]));
    put(&s->b, 40 * PG, vmpl_slot_from_page(&fake[4]));
    put(&s->b, 100 * PG, vmpl_slot_marker());
    zx_status_t st = vmpl_add_zero_interval(&s->b, 150 * PG, 170 * PG, VMPL_DIRTY_CLEAN);
    ASSERT(st == ZX_OK);
}

static zx_status_t op_merge(struct scene *s) {
    return vmpl_merge_onto(&s->a, &s->b, 0, 400 * PG, NULL, drop, NULL);
}

// Not node-aligned: dst's skew matches src's at offset 5 pages.
static void build_merge_offset(struct scene *s) {
    vmpl_set_skew(&s->b, vmpl_skew(&s->a), 5 * PG);
    build_merge(s);
}

static zx_status_t op_merge_offset(struct scene *s) {
    return vmpl_merge_onto(&s->a, &s->b, 5 * PG, 290 * PG, NULL, drop, NULL);
}

static void build_dirty_interval(struct scene *s) {
    zx_status_t st = vmpl_add_zero_interval(&s->a, 0, 64 * PG, VMPL_DIRTY_DIRTY);
    ASSERT(st == ZX_OK);
}

// From the middle of a Dirty interval: split there (both neighbours' nodes), then the length.
static zx_status_t op_awaiting_from_middle(struct scene *s) {
    return vmpl_set_interval_awaiting_clean(&s->a, 32 * PG, 40 * PG);
}

KTEST(vmpl_host, out_of_memory_at_every_allocation_point) {
    static const struct {
        const char *name;
        build_fn build;
        op_fn op;
        size_t min_failures;
    } cases[] = {
        {"lookup_or_alloc", build_empty, op_alloc, 1},
        {"split at a node's first slot", build_interval, op_split_32, 2},
        {"split at a node's last slot", build_big_interval, op_split_47, 2},
        {"add_zero_interval", build_empty, op_add_interval, 2},
        {"clip_interval_start", build_interval, op_clip_start, 1},
        {"clip_interval_end", build_interval, op_clip_end, 1},
        {"populate_slots_in_interval", build_big_interval, op_populate, 10},
        {"clear_range", build_big_interval, op_clear, 2},
        {"take", build_big_interval, op_take, 2},
        {"merge_onto", build_merge, op_merge, 4},
        {"merge_onto at an offset", build_merge_offset, op_merge_offset, 2},
        {"set_interval_awaiting_clean", build_dirty_interval, op_awaiting_from_middle, 2},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        size_t f = oom_every_point(cases[i].build, cases[i].op);
        kprintf("    %s: %zu allocation points\n", cases[i].name, f);
        if (!EXPECT_GE(f, cases[i].min_failures) || ktest_failed()) {
            kprintf("    case %s failed\n", cases[i].name);
            break;
        }
    }
}

static uint64_t awaiting_at(struct vmpl *pl, uint64_t off) {
    vmpl_slot_t v = vmpl_get(pl, off);
    return vmpl_slot_is_interval(v) ? vmpl_slot_awaiting_len(v) : ~0ull;
}

// The AwaitingClean length (page_list.h) through the operations that cut and join intervals.
KTEST(vmpl_host, awaiting_clean_lengths) {
    static struct vmpl pl;
    vmpl_init(&pl);
    // A Dirty interval [16, 48) over three nodes, its first 20 pages awaiting clean.
    EXPECT_OK(vmpl_add_zero_interval(&pl, 16 * PG, 48 * PG, VMPL_DIRTY_DIRTY));
    EXPECT_OK(vmpl_set_interval_awaiting_clean(&pl, 16 * PG, 36 * PG));
    EXPECT_EQ(awaiting_at(&pl, 16 * PG), 20 * PG);
    EXPECT_EQ(vmpl_node_count(&pl), 2);  // still one interval: the length only
    // A page at 30 splits it: each side keeps its part (14 pages left, 5 right).
    vmpl_slot_t *slot;
    EXPECT_OK(vmpl_lookup_or_alloc(&pl, 30 * PG, VMPL_SPLIT_INTERVAL, &slot, NULL));
    EXPECT_EQ(vmpl_slot_awaiting_len(*slot), PG);
    *slot = vmpl_slot_from_page(&fake[0]);
    EXPECT_EQ(awaiting_at(&pl, 16 * PG), 14 * PG);
    EXPECT_EQ(awaiting_at(&pl, 31 * PG), 5 * PG);
    EXPECT_TRUE(vmpl_check(&pl));
    // Clipping takes the clipped pages' share.
    EXPECT_OK(vmpl_clip_interval_start(&pl, 31 * PG, 2 * PG));
    EXPECT_EQ(awaiting_at(&pl, 33 * PG), 3 * PG);
    EXPECT_OK(vmpl_clip_interval_end(&pl, 29 * PG, 8 * PG));
    EXPECT_EQ(awaiting_at(&pl, 16 * PG), 6 * PG);
    // [16, 22) awaits, [22, 30) would be Dirty: a new Dirty interval after it joins; one
    // that begins AwaitingClean after a Dirty part cannot.
    EXPECT_OK(vmpl_set_interval_dirty(&pl, 16 * PG, 22 * PG, VMPL_DIRTY_DIRTY));
    EXPECT_EQ(awaiting_at(&pl, 16 * PG), 0);
    EXPECT_OK(vmpl_set_interval_awaiting_clean(&pl, 18 * PG, 20 * PG));  // from the middle
    EXPECT_EQ(awaiting_at(&pl, 16 * PG), 0);
    EXPECT_EQ(awaiting_at(&pl, 18 * PG), 2 * PG);  // an interval of its own
    EXPECT_TRUE(vmpl_slot_is_interval_end(vmpl_get(&pl, 17 * PG)));
    // Its prefix too: one interval again.
    EXPECT_OK(vmpl_set_interval_awaiting_clean(&pl, 16 * PG, 18 * PG));
    EXPECT_EQ(awaiting_at(&pl, 16 * PG), 4 * PG);
    EXPECT_FALSE(vmpl_slot_is_interval(vmpl_get(&pl, 18 * PG)));
    EXPECT_TRUE(vmpl_check(&pl));
    // The splice reports the length page by page.
    static struct vmpl_splice sp;
    EXPECT_OK(vmpl_take(&pl, 19 * PG, 3 * PG, &sp));
    EXPECT_EQ(vmpl_slot_awaiting_len(vmpl_splice_pop(&sp)), PG);
    EXPECT_EQ(vmpl_slot_awaiting_len(vmpl_splice_pop(&sp)), 0);
    EXPECT_EQ(vmpl_slot_awaiting_len(vmpl_splice_pop(&sp)), 0);
    vmpl_splice_destroy(&sp, drop, NULL);
    EXPECT_EQ(awaiting_at(&pl, 16 * PG), 3 * PG);
    EXPECT_TRUE(vmpl_check(&pl));
    // The checker refuses lengths that say too much.
    kprintf("    (deliberate vmpl_check complaints follow)\n");
    vmpl_slot_t *start = vmpl_lookup(&pl, 16 * PG);
    vmpl_slot_t good = *start;
    *start = (good & ~VMPL_AWAITING_MASK) | (4 * PG);  // past the End at 18
    EXPECT_FALSE(vmpl_check(&pl));
    *start = good;
    vmpl_slot_t *end = vmpl_lookup(&pl, 18 * PG);
    *end |= PG;  // on an End
    EXPECT_FALSE(vmpl_check(&pl));
    *end &= ~VMPL_AWAITING_MASK;
    EXPECT_OK(vmpl_set_interval_dirty(&pl, 16 * PG, 19 * PG, VMPL_DIRTY_CLEAN));
    start = vmpl_lookup(&pl, 16 * PG);
    *start |= PG;  // on a Clean interval
    EXPECT_FALSE(vmpl_check(&pl));
    *start &= ~VMPL_AWAITING_MASK;
    EXPECT_TRUE(vmpl_check(&pl));
    vmpl_remove_all(&pl, drop, NULL);
    vmpl_destroy(&pl);
    EXPECT_EQ(vmpl_nodes_live(), 0);
}

KTEST(vmpl_host, random_operations_against_the_model) {
    enum { RUNS = 300, LEN = 3000 };
    static uint8_t buf[LEN];
    uint64_t x = 0x2545f4914f6cdd1dull;
    struct vmpl_model_stats st, total = {0};
    for (int run = 0; run < RUNS; run++) {
        for (size_t i = 0; i < LEN; i++) {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            buf[i] = (uint8_t)(x >> 32);
        }
        vmpl_model_run(buf, LEN, false, &st);
        total.ops += st.ops;
        total.oom_failures += st.oom_failures;
    }
    kprintf("    %zu operations, %zu failed under injected allocation failures\n", total.ops,
            total.oom_failures);
    EXPECT_GT(total.oom_failures, 100);
    EXPECT_EQ(vmpl_nodes_live(), 0);
}
