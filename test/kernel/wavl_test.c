// The WAVL tree: lookups against a sorted reference, and the balance test (2,048 keys inserted
// ascending, descending and in random order, half erased, reinserted, all erased, with wavl_check
// after every operation, rank-change and rotation counts within their bounds, every rebalancing
// case exercised). Pure: runs at boot and natively. The kernel run uses fewer keys (TCG is slow and
// the check is O(n) per operation).
#include "kernel/ktest.h"
#include "kernel/printf.h"
#include "kernel/string.h"
#include "vm/wavl.h"

#ifdef JASPER_KERNEL
#define BALANCE_KEYS 256
#else
#define BALANCE_KEYS 2048
#endif

struct item {
    struct wavl_node node;
    bool linked;
};

static struct item items[BALANCE_KEYS];

static uint64_t rng_state;

static uint64_t rng_next(void) {
    uint64_t x = rng_state;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    rng_state = x;
    return x;
}

static void shuffle(uint32_t *a, size_t n) {
    for (size_t i = n; i > 1; i--) {
        size_t j = rng_next() % i;
        uint32_t t = a[i - 1];
        a[i - 1] = a[j];
        a[j] = t;
    }
}

static uint64_t key_of(uint32_t i) {
    return (uint64_t)i * 3 + 7;  // sparse keys, so bound queries between keys are meaningful
}

KTEST(wavl, empty_tree) {
    struct wavl_tree t;
    wavl_init(&t);
    EXPECT_TRUE(wavl_check(&t));
    EXPECT_TRUE(wavl_is_empty(&t));
    EXPECT_TRUE(wavl_min(&t) == NULL);
    EXPECT_TRUE(wavl_max(&t) == NULL);
    EXPECT_TRUE(wavl_find(&t, 0) == NULL);
    EXPECT_TRUE(wavl_lower_bound(&t, 0) == NULL);
    EXPECT_TRUE(wavl_upper_bound(&t, 0) == NULL);
    EXPECT_TRUE(wavl_floor(&t, UINT64_MAX) == NULL);
    EXPECT_EQ(wavl_height(&t), 0);
    EXPECT_EQ(wavl_root_rank(&t), -1);
}

KTEST(wavl, insert_find_bounds_and_walk) {
    struct wavl_tree t;
    wavl_init(&t);
    enum { N = 200 };
    static struct item it[N];
    static uint32_t order[N];
    rng_state = 0x1234567;
    for (uint32_t i = 0; i < N; i++)
        order[i] = i;
    shuffle(order, N);
    for (uint32_t i = 0; i < N; i++) {
        it[order[i]].node.key = key_of(order[i]);
        REQUIRE_OK(wavl_insert(&t, &it[order[i]].node));
    }
    REQUIRE_TRUE(wavl_check(&t));
    EXPECT_EQ(wavl_count(&t), N);
    // Duplicates are refused and change nothing.
    struct item dup = {.node.key = key_of(17)};
    EXPECT_STATUS(wavl_insert(&t, &dup.node), ZX_ERR_ALREADY_EXISTS);
    EXPECT_EQ(wavl_count(&t), N);
    EXPECT_TRUE(wavl_check(&t));
    EXPECT_TRUE(wavl_min(&t) == &it[0].node);
    EXPECT_TRUE(wavl_max(&t) == &it[N - 1].node);
    // Every query key from below the first to above the last.
    for (uint64_t k = 0; k < key_of(N) + 3; k++) {
        // Reference: the keys are 3i+7.
        int64_t i_eq = (k >= 7 && (k - 7) % 3 == 0 && (k - 7) / 3 < N) ? (int64_t)((k - 7) / 3) : -1;
        int64_t i_lb = k <= 7 ? 0 : (int64_t)((k - 7 + 2) / 3);
        int64_t i_ub = k < 7 ? 0 : (int64_t)((k - 7) / 3 + 1);
        int64_t i_fl = k < 7 ? -1 : (int64_t)((k - 7) / 3);
        if (i_fl >= N)
            i_fl = N - 1;
        struct wavl_node *f = wavl_find(&t, k);
        EXPECT_TRUE(f == (i_eq >= 0 ? &it[i_eq].node : NULL));
        struct wavl_node *lb = wavl_lower_bound(&t, k);
        EXPECT_TRUE(lb == (i_lb < N ? &it[i_lb].node : NULL));
        struct wavl_node *ub = wavl_upper_bound(&t, k);
        EXPECT_TRUE(ub == (i_ub < N ? &it[i_ub].node : NULL));
        struct wavl_node *fl = wavl_floor(&t, k);
        EXPECT_TRUE(fl == (i_fl >= 0 ? &it[i_fl].node : NULL));
        if (ktest_failed())
            break;
    }
    // Forward and backward walks visit every key once, in order.
    uint32_t n = 0;
    for (struct wavl_node *w = wavl_min(&t); w; w = wavl_next(w), n++)
        REQUIRE_TRUE(w == &it[n].node);
    EXPECT_EQ(n, N);
    for (struct wavl_node *w = wavl_max(&t); w; w = wavl_prev(w))
        REQUIRE_TRUE(w == &it[--n].node);
    EXPECT_EQ(n, 0);
    // Keys at the ends of the range.
    struct item lo = {.node.key = 0}, hi = {.node.key = UINT64_MAX};
    REQUIRE_OK(wavl_insert(&t, &lo.node));
    REQUIRE_OK(wavl_insert(&t, &hi.node));
    EXPECT_TRUE(wavl_find(&t, UINT64_MAX) == &hi.node);
    EXPECT_TRUE(wavl_upper_bound(&t, UINT64_MAX) == NULL);
    EXPECT_TRUE(wavl_floor(&t, 0) == &lo.node);
    EXPECT_TRUE(wavl_min(&t) == &lo.node && wavl_max(&t) == &hi.node);
    wavl_erase(&t, &hi.node);
    wavl_erase(&t, &lo.node);
    EXPECT_TRUE(wavl_check(&t));
}

static void count_cleared(struct wavl_node *n, void *ctx) {
    (*(size_t *)ctx)++;
    containerof(n, struct item, node)->linked = false;
}

KTEST(wavl, clear_visits_every_node) {
    struct wavl_tree t;
    wavl_init(&t);
    for (uint32_t i = 0; i < 100; i++) {
        items[i].node.key = key_of(i);
        items[i].linked = true;
        REQUIRE_OK(wavl_insert(&t, &items[i].node));
    }
    size_t cleared = 0;
    wavl_clear(&t, count_cleared, &cleared);
    EXPECT_EQ(cleared, 100);
    EXPECT_TRUE(wavl_is_empty(&t));
    EXPECT_TRUE(wavl_check(&t));
    for (uint32_t i = 0; i < 100; i++)
        EXPECT_FALSE(items[i].linked);
    // The nodes can be reused.
    for (uint32_t i = 0; i < 100; i++)
        REQUIRE_OK(wavl_insert(&t, &items[i].node));
    EXPECT_TRUE(wavl_check(&t));
    wavl_clear(&t, NULL, NULL);
    EXPECT_EQ(wavl_count(&t), 0);
}

// AVL bound: a tree of height h has at least fib(h + 2) - 1 nodes (fib(1) = fib(2) = 1).
static bool within_avl_height(size_t height, size_t n) {
    uint64_t a = 1, b = 1;  // fib(1), fib(2)
    for (size_t i = 2; i < height + 2; i++) {
        uint64_t c = a + b;
        a = b;
        b = c;
    }
    return n + 1 >= b;
}

struct balance_run {
    struct wavl_tree t;
    uint64_t ops;
    bool ok;
};

// One operation's rotations (0, 1 or 2) must never exceed two.
static void op_insert(struct balance_run *r, uint32_t i) {
    uint64_t rot0 = r->t.stats.rotations;
    items[i].node.key = key_of(i);
    if (!EXPECT_OK(wavl_insert(&r->t, &items[i].node)))
        r->ok = false;
    items[i].linked = true;
    r->ok = r->ok && EXPECT_LE(r->t.stats.rotations - rot0, 2) && EXPECT_TRUE(wavl_check(&r->t));
    r->ops++;
}

static void op_erase(struct balance_run *r, uint32_t i) {
    uint64_t rot0 = r->t.stats.rotations;
    wavl_erase(&r->t, &items[i].node);
    items[i].linked = false;
    r->ok = r->ok && EXPECT_LE(r->t.stats.rotations - rot0, 2) && EXPECT_TRUE(wavl_check(&r->t));
    r->ops++;
}

static void balance_sequence(struct wavl_stats *total, const uint32_t *order) {
    static struct balance_run r;
    static uint32_t half[BALANCE_KEYS];
    wavl_init(&r.t);
    r.ok = true;
    r.ops = 0;
    const size_t n = BALANCE_KEYS;
    for (size_t k = 0; k < n && r.ok; k++)
        op_insert(&r, order[k]);
    REQUIRE_TRUE(r.ok);
    // Insertions only: an AVL tree.
    EXPECT_TRUE(within_avl_height(wavl_height(&r.t), n));
    EXPECT_EQ(wavl_count(&r.t), n);
    // Erase a random half.
    for (size_t k = 0; k < n; k++)
        half[k] = (uint32_t)k;
    shuffle(half, n);
    for (size_t k = 0; k < n / 2 && r.ok; k++)
        op_erase(&r, half[k]);
    REQUIRE_TRUE(r.ok);
    EXPECT_EQ(wavl_count(&r.t), n - n / 2);
    for (size_t k = 0; k < n; k++)
        EXPECT_TRUE((wavl_find(&r.t, key_of((uint32_t)k)) != NULL) == items[k].linked);
    // Reinsert them (in the order erased), then erase everything in a fresh random order.
    for (size_t k = 0; k < n / 2 && r.ok; k++)
        op_insert(&r, half[k]);
    REQUIRE_TRUE(r.ok);
    EXPECT_EQ(wavl_count(&r.t), n);
    shuffle(half, n);
    for (size_t k = 0; k < n && r.ok; k++)
        op_erase(&r, half[k]);
    REQUIRE_TRUE(r.ok);
    EXPECT_TRUE(wavl_is_empty(&r.t));

    // Amortised bounds from the potential (#1,1 nodes + 3 #2,2 nodes): at most 7 rank changes per
    // insertion and 13 per erasure, starting from an empty tree.
    const struct wavl_stats *s = &r.t.stats;
    EXPECT_EQ(s->inserts, n + n / 2);
    EXPECT_EQ(s->erases, n + n / 2);
    EXPECT_LE(s->promotions + s->demotions, 7 * s->inserts + 13 * s->erases);
    EXPECT_LE(s->rotations, 2 * (s->inserts + s->erases));
    // In practice far fewer: under 3 rank changes per operation on average.
    EXPECT_LE(s->promotions + s->demotions, 3 * (s->inserts + s->erases));
    total->inserts += s->inserts;
    total->erases += s->erases;
    total->promotions += s->promotions;
    total->demotions += s->demotions;
    total->rotations += s->rotations;
    for (int c = 0; c < WAVL_CASE_COUNT; c++)
        total->cases[c] += s->cases[c];
}

KTEST(wavl, balance_2048_keys) {
    static uint32_t order[BALANCE_KEYS];
    struct wavl_stats total = {0};
    const size_t n = BALANCE_KEYS;
    rng_state = 0x9e3779b97f4a7c15ull;
    for (size_t k = 0; k < n; k++)
        order[k] = (uint32_t)k;
    balance_sequence(&total, order);  // ascending
    REQUIRE_FALSE(ktest_failed());
    for (size_t k = 0; k < n; k++)
        order[k] = (uint32_t)(n - 1 - k);
    balance_sequence(&total, order);  // descending
    REQUIRE_FALSE(ktest_failed());
    shuffle(order, n);
    balance_sequence(&total, order);  // random
    REQUIRE_FALSE(ktest_failed());
    for (int c = 0; c < WAVL_CASE_COUNT; c++) {
        if (!EXPECT_GT(total.cases[c], 0))
            kprintf("    rebalancing case %d never ran\n", c);
    }
    kprintf("    %llu inserts, %llu erases: %llu promotions, %llu demotions, %llu rotations\n",
            (unsigned long long)total.inserts, (unsigned long long)total.erases,
            (unsigned long long)total.promotions, (unsigned long long)total.demotions,
            (unsigned long long)total.rotations);
}

// Many small random trees: exhaustively mixes every case near the leaves, where the special
// cases (2,2 leaves, rotations that leave a leaf) live.
KTEST(wavl, random_small_trees) {
    enum { KEYS = 24 };
    static struct item it[KEYS];
    struct wavl_tree t;
    rng_state = 42;
    for (int round = 0; round < 300; round++) {
        wavl_init(&t);
        for (int i = 0; i < KEYS; i++)
            it[i].linked = false;
        for (int step = 0; step < 200; step++) {
            uint32_t i = (uint32_t)(rng_next() % KEYS);
            if (it[i].linked) {
                wavl_erase(&t, &it[i].node);
                it[i].linked = false;
            } else {
                it[i].node.key = rng_next() % 4 == 0 ? UINT64_MAX - i : key_of(i);
                REQUIRE_OK(wavl_insert(&t, &it[i].node));
                it[i].linked = true;
            }
            REQUIRE_TRUE(wavl_check(&t));
        }
        wavl_clear(&t, NULL, NULL);
    }
}

// The checker must notice a broken rank, a broken parent link and a stale count.
KTEST(wavl, check_detects_corruption) {
    struct wavl_tree t;
    wavl_init(&t);
    for (uint32_t i = 0; i < 31; i++) {
        items[i].node.key = key_of(i);
        REQUIRE_OK(wavl_insert(&t, &items[i].node));
    }
    REQUIRE_TRUE(wavl_check(&t));
    kprintf("    (three deliberate wavl_check complaints follow)\n");
    struct wavl_node *leaf = wavl_min(&t);
    leaf->parent_rank ^= 1;  // a leaf of rank 1
    EXPECT_FALSE(wavl_check(&t));
    leaf->parent_rank ^= 1;
    uintptr_t saved = leaf->parent_rank;
    leaf->parent_rank = (uintptr_t)t.root | (saved & 1);  // wrong parent
    EXPECT_FALSE(wavl_check(&t));
    leaf->parent_rank = saved;
    t.count++;
    EXPECT_FALSE(wavl_check(&t));
    t.count--;
    EXPECT_TRUE(wavl_check(&t));
    wavl_clear(&t, NULL, NULL);
}
