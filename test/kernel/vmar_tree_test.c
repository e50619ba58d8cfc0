// vmar_tree: the augmented interval tree under every VMAR. Lookups and free-space search against a
// brute-force model (a sorted array of intervals), random sequences of insert / remove / resize
// with vmar_tree_check after every step, alignment and limit edge cases, and the O(log n) bound on
// the nodes a search visits. Pure: runs at boot and natively (more steps on the host).
#include "kernel/ktest.h"
#include "kernel/printf.h"
#include "kernel/string.h"
#include "test/model_op.h"
#include "vm/aslr.h"
#include "vm/vmar_tree.h"

#ifdef JASPER_KERNEL
#define MODEL_NODES 64
#define MODEL_STEPS 1500
#define BIG_NODES 2048
#else
#define MODEL_NODES 256
#define MODEL_STEPS 200000
#define BIG_NODES 16384
#endif

#define PG PAGE_SIZE

// --- The model: a sorted array of [base, end) intervals ---

struct model {
    uint64_t lo, hi;
    size_t n;
    struct model_iv {
        uint64_t base, end;
        struct vmar_tree_node *node;
    } iv[MODEL_NODES];
};

static void model_insert(struct model *m, uint64_t base, uint64_t size, struct vmar_tree_node *nd) {
    size_t i = 0;
    while (i < m->n && m->iv[i].base < base)
        i++;
    memmove(&m->iv[i + 1], &m->iv[i], (m->n - i) * sizeof(m->iv[0]));
    m->iv[i] = (struct model_iv){base, base + size, nd};
    m->n++;
}

static void model_remove(struct model *m, size_t i) {
    memmove(&m->iv[i], &m->iv[i + 1], (m->n - i - 1) * sizeof(m->iv[0]));
    m->n--;
}

static bool model_gap_fits(uint64_t gs, uint64_t ge, uint64_t size, uint64_t align, uint64_t from,
                           uint64_t limit, uint64_t thr, uint64_t *out) {
    if (ge - gs < thr)
        return false;
    uint64_t s = ROUNDUP(MAX(gs, from), align);
    uint64_t e = MIN(ge, limit);
    if (s >= e || e - s < size)
        return false;
    *out = s;
    return true;
}

// The answer vmar_tree_find_spot promises: the lowest spot in a gap of at least size + align -
// PAGE_SIZE bytes, else the lowest spot of all.
static bool model_find_spot(const struct model *m, uint64_t size, uint64_t align, uint64_t from,
                            uint64_t limit, uint64_t *out) {
    from = MAX(from, m->lo);
    limit = MIN(limit, m->hi);
    for (int pass = 0; pass < 2; pass++) {
        uint64_t thr = pass == 0 ? size + align - PG : size;
        uint64_t gs = m->lo;
        for (size_t i = 0; i <= m->n; i++) {
            uint64_t ge = i < m->n ? m->iv[i].base : m->hi;
            if (model_gap_fits(gs, ge, size, align, from, limit, thr, out))
                return true;
            if (i < m->n)
                gs = m->iv[i].end;
        }
    }
    return false;
}

static bool model_matches(const struct model *m, const struct vmar_tree *t) {
    if (t->count != m->n)
        return false;
    size_t i = 0;
    for (struct vmar_tree_node *n = vmar_tree_first(t); n; n = vmar_tree_next(n), i++) {
        if (n != m->iv[i].node || n->base != m->iv[i].base || vmar_tree_node_end(n) != m->iv[i].end)
            return false;
    }
    return i == m->n;
}

static struct vmar_tree_node nodes[BIG_NODES];
static struct model model;

KTEST(vmar_tree, empty_and_single) {
    struct vmar_tree t;
    vmar_tree_init(&t, 0x1000000, 0x2000000);
    EXPECT_TRUE(vmar_tree_check(&t));
    EXPECT_TRUE(vmar_tree_find(&t, 0x1000000) == NULL);
    EXPECT_TRUE(vmar_tree_first(&t) == NULL);
    uint64_t s = 0;
    EXPECT_TRUE(vmar_tree_find_spot(&t, 0x1000000, PG, 0, UINT64_MAX, &s));
    EXPECT_EQ(s, 0x1000000);
    EXPECT_FALSE(vmar_tree_find_spot(&t, 0x1001000, PG, 0, UINT64_MAX, &s));
    EXPECT_TRUE(vmar_tree_range_free(&t, 0x1000000, 0x1000000));
    EXPECT_FALSE(vmar_tree_range_free(&t, 0xfff000, 0x2000));
    EXPECT_FALSE(vmar_tree_range_free(&t, 0x1fff000, 0x2000));
    EXPECT_FALSE(vmar_tree_range_free(&t, 0x1000000, 0));

    struct vmar_tree_node a = {.base = 0x1400000, .size = 0x10000};
    vmar_tree_insert(&t, &a);
    EXPECT_TRUE(vmar_tree_check(&t));
    EXPECT_EQ(a.gap, 0x400000);
    EXPECT_TRUE(vmar_tree_find(&t, 0x1400000) == &a);
    EXPECT_TRUE(vmar_tree_find(&t, 0x140ffff) == &a);
    EXPECT_TRUE(vmar_tree_find(&t, 0x1410000) == NULL);
    EXPECT_TRUE(vmar_tree_first_ending_after(&t, 0x1000000) == &a);
    EXPECT_TRUE(vmar_tree_first_ending_after(&t, 0x140ffff) == &a);
    EXPECT_TRUE(vmar_tree_first_ending_after(&t, 0x1410000) == NULL);
    EXPECT_FALSE(vmar_tree_range_free(&t, 0x13ff000, 0x2000));
    EXPECT_TRUE(vmar_tree_range_free(&t, 0x13ff000, 0x1000));
    EXPECT_TRUE(vmar_tree_range_free(&t, 0x1410000, 0x1000));
    // Spots: below it, after it, limited, from a starting point.
    EXPECT_TRUE(vmar_tree_find_spot(&t, 0x400000, PG, 0, UINT64_MAX, &s));
    EXPECT_EQ(s, 0x1000000);
    EXPECT_TRUE(vmar_tree_find_spot(&t, 0x401000, PG, 0, UINT64_MAX, &s));
    EXPECT_EQ(s, 0x1410000);
    EXPECT_TRUE(vmar_tree_find_spot(&t, 0x1000, PG, 0x1405000, UINT64_MAX, &s));
    EXPECT_EQ(s, 0x1410000);
    EXPECT_FALSE(vmar_tree_find_spot(&t, 0x1000, PG, 0x13ff000 + PG, 0x1410000, &s));
    EXPECT_TRUE(vmar_tree_find_spot(&t, 0x1000, PG, 0x13ff000, 0x1410000, &s));
    EXPECT_EQ(s, 0x13ff000);
    // Aligned: 4 MiB alignment skips to 0x1800000.
    EXPECT_TRUE(vmar_tree_find_spot(&t, 0x1000, 0x400000, 0x1001000, UINT64_MAX, &s));
    EXPECT_EQ(s, 0x1800000);
    // Resize in place, then remove.
    vmar_tree_update(&t, &a, 0x1000000, 0x1000000);
    EXPECT_TRUE(vmar_tree_check(&t));
    EXPECT_EQ(a.gap, 0);
    EXPECT_FALSE(vmar_tree_find_spot(&t, PG, PG, 0, UINT64_MAX, &s));
    vmar_tree_remove(&t, &a);
    EXPECT_TRUE(vmar_tree_check(&t));
    EXPECT_EQ(t.count, 0);
}

// A gap exactly the size of an aligned spot is found only by the second pass.
KTEST(vmar_tree, exact_alignment_fit) {
    struct vmar_tree t;
    vmar_tree_init(&t, 0x1000000, 0x10000000);
    struct vmar_tree_node a = {.base = 0x1000000, .size = 0x200000};
    struct vmar_tree_node b = {.base = 0x1400000, .size = 0x1000};
    struct vmar_tree_node c = {.base = 0x1600000, .size = 0x10000000 - 0x1600000};
    vmar_tree_insert(&t, &a);
    vmar_tree_insert(&t, &b);
    vmar_tree_insert(&t, &c);
    REQUIRE_TRUE(vmar_tree_check(&t));
    uint64_t s = 0;
    // Gap [0x1200000, 0x1400000) is exactly 2 MiB and 2 MiB-aligned.
    EXPECT_TRUE(vmar_tree_find_spot(&t, 0x200000, 0x200000, 0, UINT64_MAX, &s));
    EXPECT_EQ(s, 0x1200000);
    // From 0x1301000: gap [0x1401000, 0x1600000) is 2 MiB - 4 KiB, with no aligned 1 MiB spot at
    // 0x1400000 but one at 0x1500000.
    EXPECT_TRUE(vmar_tree_find_spot(&t, 0x100000, 0x100000, 0x1301000, UINT64_MAX, &s));
    EXPECT_EQ(s, 0x1500000);
    EXPECT_FALSE(vmar_tree_find_spot(&t, 0x200000, 0x200000, 0x1201000, UINT64_MAX, &s));
    // Alignment that would wrap.
    EXPECT_FALSE(vmar_tree_find_spot(&t, 0x1000, 1ull << 63, 0x1001000, UINT64_MAX, &s));
}

static uint64_t rand_range(struct aslr_prng *p, uint64_t lo, uint64_t hi) {
    return lo + aslr_prng_below(p, hi - lo);
}

// --- Random operations against the model: a table of operations (test/model_op.h) ---

// The run's state, shared by the operations.
static struct {
    struct aslr_prng p;
    struct vmar_tree t;
    bool used[MODEL_NODES];  // nodes[i] is in the tree
    size_t found, not_found;
} run;

static bool tree_not_full(void) {
    return model.n < MODEL_NODES;
}

static bool tree_not_empty(void) {
    return model.n > 0;
}

// Allocates a spot with a random size, alignment, start and limit; compares with the model.
static void op_find_spot_insert(void) {
    struct aslr_prng *p = &run.p;
    uint64_t size = (1 + aslr_prng_below(p, aslr_prng_below(p, 4) == 0 ? 512 : 16)) * PG;
    uint64_t align = PG << aslr_prng_below(p, 8);
    uint64_t from = aslr_prng_below(p, 3) ? model.lo : rand_range(p, model.lo, model.hi);
    uint64_t limit =
        aslr_prng_below(p, 3) ? UINT64_MAX : rand_range(p, model.lo, model.hi + PG);
    uint64_t got = 0, want = 0;
    bool g = vmar_tree_find_spot(&run.t, size, align, from, limit, &got);
    bool w = model_find_spot(&model, size, align, from, limit, &want);
    REQUIRE_EQ(g, w);
    if (!g) {
        run.not_found++;
        return;
    }
    REQUIRE_EQ(got, want);
    run.found++;
    size_t slot = 0;
    while (run.used[slot])
        slot++;
    run.used[slot] = true;
    nodes[slot] = (struct vmar_tree_node){.base = got, .size = size};
    vmar_tree_insert(&run.t, &nodes[slot]);
    model_insert(&model, got, size, &nodes[slot]);
}

static void op_remove(void) {
    size_t i = aslr_prng_below(&run.p, model.n);
    struct vmar_tree_node *nd = model.iv[i].node;
    vmar_tree_remove(&run.t, nd);
    run.used[nd - nodes] = false;
    model_remove(&model, i);
}

// Resize: trim either end, or grow into the free space around it.
static void op_resize(void) {
    size_t i = aslr_prng_below(&run.p, model.n);
    struct model_iv *iv = &model.iv[i];
    uint64_t lo = i > 0 ? model.iv[i - 1].end : model.lo;
    uint64_t hi = i + 1 < model.n ? model.iv[i + 1].base : model.hi;
    uint64_t nb = rand_range(&run.p, lo / PG, iv->end / PG) * PG;
    uint64_t ne = rand_range(&run.p, nb / PG + 1, hi / PG + 1) * PG;
    vmar_tree_update(&run.t, iv->node, nb, ne - nb);
    iv->base = nb;
    iv->end = ne;
}

// Lookups at random addresses: find, first_ending_after, range_free.
static void op_lookups(void) {
    for (int k = 0; k < 8; k++) {
        uint64_t a = rand_range(&run.p, model.lo - PG, model.hi + PG);
        struct vmar_tree_node *want = NULL, *after = NULL;
        for (size_t i = 0; i < model.n; i++) {
            if (a >= model.iv[i].base && a < model.iv[i].end)
                want = model.iv[i].node;
            if (!after && model.iv[i].end > a)
                after = model.iv[i].node;
        }
        REQUIRE_TRUE(vmar_tree_find(&run.t, a) == want);
        REQUIRE_TRUE(vmar_tree_first_ending_after(&run.t, a) == after);
        uint64_t len = (1 + aslr_prng_below(&run.p, 64)) * PG;
        a = ROUNDDOWN(a, PG);
        bool free = a >= model.lo && a + len <= model.hi;
        for (size_t i = 0; free && i < model.n; i++)
            free = model.iv[i].end <= a || model.iv[i].base >= a + len;
        REQUIRE_EQ(vmar_tree_range_free(&run.t, a, len), free);
    }
}

// aslr_prng_below(10) picks an entry; when it cannot apply (`applies` false), the first later one
// that can runs instead (the last always can). vmar_tree_check and model_matches run after each.
struct tree_op {
    const char *name;
    unsigned weight;
    bool (*applies)(void);  // NULL: always
    void (*run)(void);
};

static const struct tree_op tree_ops[] = {
    {"find_spot+insert", 4, tree_not_full, op_find_spot_insert},
    {"remove", 3, tree_not_empty, op_remove},
    {"resize", 2, tree_not_empty, op_resize},
    {"lookups", 1, NULL, op_lookups},
};

KTEST(vmar_tree, random_against_model) {
    aslr_prng_seed(&run.p, 0x5eed);
    // A small window so that the tree fills up and exact fits and failures happen.
    model.lo = 0x1000000;
    model.hi = model.lo + 4096 * PG;
    model.n = 0;
    vmar_tree_init(&run.t, model.lo, model.hi);
    memset(run.used, 0, sizeof(run.used));
    run.found = run.not_found = 0;
    for (int step = 0; step < MODEL_STEPS; step++) {
        const struct tree_op *op = MODEL_OP_PICK(tree_ops, aslr_prng_below(&run.p, 10));
        while (op->applies && !op->applies())
            op++;
        op->run();
        if (ktest_failed()) {
            kprintf("    step %d: %s\n", step, op->name);
            return;
        }
        REQUIRE_TRUE(vmar_tree_check(&run.t));
        REQUIRE_TRUE(model_matches(&model, &run.t));
    }
    EXPECT_GT(run.found, 0);
    EXPECT_GT(run.not_found, 0);
    while (model.n > 0) {
        vmar_tree_remove(&run.t, model.iv[0].node);
        model_remove(&model, 0);
    }
    EXPECT_TRUE(vmar_tree_check(&run.t));
}

static unsigned log2_ceil(size_t n) {
    unsigned l = 0;
    while (((size_t)1 << l) < n)
        l++;
    return l;
}

// With thousands of children, a search visits O(log n) nodes wherever the spot is: below a
// single large hole at the top, at the start, with a start address, and under a limit.
KTEST(vmar_tree, search_visits_are_logarithmic) {
    struct vmar_tree t;
    const uint64_t lo = 0x1000000;
    vmar_tree_init(&t, lo, lo + (uint64_t)BIG_NODES * 4 * PG + (1ull << 30));
    // Nodes of 3 pages with 1-page holes in random insertion order, then a 1 GiB tail.
    struct aslr_prng p;
    aslr_prng_seed(&p, 42);
    static uint32_t order[BIG_NODES];
    for (uint32_t i = 0; i < BIG_NODES; i++)
        order[i] = i;
    for (uint32_t i = BIG_NODES; i > 1; i--) {
        uint32_t j = (uint32_t)aslr_prng_below(&p, i);
        uint32_t x = order[i - 1];
        order[i - 1] = order[j];
        order[j] = x;
    }
    for (uint32_t k = 0; k < BIG_NODES; k++) {
        uint32_t i = order[k];
        nodes[i] = (struct vmar_tree_node){.base = lo + PG + (uint64_t)i * 4 * PG, .size = 3 * PG};
        vmar_tree_insert(&t, &nodes[i]);
    }
    REQUIRE_TRUE(vmar_tree_check(&t));
    unsigned bound = 4 * log2_ceil(BIG_NODES) + 8;
    uint64_t s;
    // Two pages fit only in the tail.
    EXPECT_TRUE(vmar_tree_find_spot(&t, 2 * PG, PG, 0, UINT64_MAX, &s));
    EXPECT_EQ(s, lo + (uint64_t)BIG_NODES * 4 * PG);
    EXPECT_LE(vmar_tree_last_visits, bound);
    // One page fits at the start, and right after any given address.
    EXPECT_TRUE(vmar_tree_find_spot(&t, PG, PG, 0, UINT64_MAX, &s));
    EXPECT_EQ(s, lo);
    EXPECT_LE(vmar_tree_last_visits, bound);
    EXPECT_TRUE(vmar_tree_find_spot(&t, PG, PG, lo + 1000 * 4 * PG + PG, UINT64_MAX, &s));
    EXPECT_EQ(s, lo + 1001 * 4 * PG);
    EXPECT_LE(vmar_tree_last_visits, bound);
    // Two pages under a limit below the tail: none, found quickly.
    EXPECT_FALSE(vmar_tree_find_spot(&t, 2 * PG, PG, 0, lo + 100 * 4 * PG, &s));
    EXPECT_LE(vmar_tree_last_visits, bound);
    // Open a 2-page hole in the middle: found without walking the rest.
    vmar_tree_remove(&t, &nodes[BIG_NODES / 3]);
    EXPECT_TRUE(vmar_tree_find_spot(&t, 2 * PG, PG, 0, UINT64_MAX, &s));
    EXPECT_EQ(s, lo + (uint64_t)(BIG_NODES / 3) * 4 * PG);
    EXPECT_LE(vmar_tree_last_visits, bound);
    EXPECT_TRUE(vmar_tree_check(&t));
    for (uint32_t i = 0; i < BIG_NODES; i++) {
        if (i != BIG_NODES / 3)
            vmar_tree_remove(&t, &nodes[i]);
    }
    EXPECT_EQ(t.count, 0);
    EXPECT_TRUE(vmar_tree_check(&t));
}

KTEST(vmar_tree, prng_is_uniform_enough) {
    struct aslr_prng p;
    aslr_prng_seed(&p, 1);
    uint32_t buckets[8] = {0};
    for (int i = 0; i < 8000; i++)
        buckets[aslr_prng_below(&p, 8)]++;
    for (int i = 0; i < 8; i++) {
        EXPECT_GT(buckets[i], 800);
        EXPECT_LT(buckets[i], 1200);
    }
    struct aslr_prng q;
    aslr_prng_seed(&q, 1);
    aslr_prng_seed(&p, 1);
    EXPECT_EQ(aslr_prng_next(&p), aslr_prng_next(&q));
    aslr_prng_seed(&q, 2);
    EXPECT_NE(aslr_prng_next(&p), aslr_prng_next(&q));
}
