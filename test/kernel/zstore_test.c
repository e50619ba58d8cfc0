// The compressed storage (vm/zstore.h) against a model: random puts and frees of items of random
// lengths, each item's bytes derived from its own seed and verified on every read, the checker
// after every operation, page counts compared with the pmm's; then the same with an allocation
// failure injected at every pmm allocation in turn. Pure: runs at boot and on the host.
#include "kernel/ktest.h"
#include "kernel/printf.h"
#include "kernel/string.h"
#include "test/kernel/page_mix.h"
#include "vm/pmm.h"
#include "vm/zstore.h"

#define MODEL_ITEMS 400

struct model_item {
    uint64_t ref;  // 0: slot unused
    uint64_t seed;
    size_t len;
};

static struct zstore zs;
static struct model_item items[MODEL_ITEMS];
static uint8_t buf[ZSTORE_MAX_ITEM], scratch[ZSTORE_MAX_ITEM];

static void item_bytes(uint64_t seed, size_t len) {
    uint64_t r = seed;
    for (size_t i = 0; i < len; i++)
        buf[i] = (uint8_t)(page_mix_rand(&r) >> 32);
}

static bool item_matches(const struct model_item *it) {
    item_bytes(it->seed, it->len);
    const uint8_t *got = zstore_read(&zs, it->ref, scratch);
    return zstore_item_len(it->ref) == it->len && memcmp(got, buf, it->len) == 0;
}

// Checks the store against the model: the checker, the usage figures and every item's bytes.
static bool model_agrees(size_t compressed_pages0) {
    if (!zstore_check(&zs))
        return false;
    struct zstore_usage u;
    zstore_usage(&zs, &u);
    uint64_t n = 0, bytes = 0;
    for (size_t i = 0; i < MODEL_ITEMS; i++) {
        if (!items[i].ref)
            continue;
        n++;
        bytes += items[i].len;
        if (!item_matches(&items[i]))
            return false;
    }
    return u.items == n && u.bytes_stored == bytes &&
           pmm_count(PAGE_STATE_COMPRESSED) == compressed_pages0 + u.pages_used;
}

static size_t random_len(uint64_t *rng) {
    // Mostly the sizes compressed pages have, some at the extremes.
    switch (page_mix_rand(rng) % 8) {
    case 0:
        return 1 + page_mix_rand(rng) % 64;
    case 1:
        return ZSTORE_MAX_ITEM - page_mix_rand(rng) % 64;
    default:
        return 200 + page_mix_rand(rng) % 2600;
    }
}

// One random step: put into an empty model slot or free a used one. Returns the put's status.
static zx_status_t model_step(uint64_t *rng) {
    struct model_item *it = &items[page_mix_rand(rng) % MODEL_ITEMS];
    if (it->ref) {
        zstore_free(&zs, it->ref);
        it->ref = 0;
        return ZX_OK;
    }
    it->seed = page_mix_rand(rng);
    it->len = random_len(rng);
    item_bytes(it->seed, it->len);
    uint64_t ref = 0;
    zx_status_t st = zstore_put(&zs, buf, it->len, &ref);
    if (st == ZX_OK) {
        it->ref = ref;
    }
    return st;
}

static void model_clear(void) {
    for (size_t i = 0; i < MODEL_ITEMS; i++) {
        if (items[i].ref)
            zstore_free(&zs, items[i].ref);
        items[i].ref = 0;
    }
}

KTEST(zstore, geometry_wastes_little) {
    zstore_init(&zs, "zstore_test");
    REQUIRE_TRUE(zstore_check(&zs));
    for (size_t c = 0; c < ZSTORE_CLASSES; c++) {
        const struct zstore_class *zc = &zs.classes[c];
        size_t waste = zc->pages * PAGE_SIZE - (size_t)zc->slots * zc->slot_size;
        // At most 1/8 of a zspage is tail waste (the worst class; most waste far less).
        EXPECT_LE(waste * 8, zc->pages * PAGE_SIZE);
    }
    // The example of zstore.h: 1,504-byte slots, 8 in 3 pages (merged with the 1,536-byte class).
    EXPECT_EQ(zs.classes[1504 / 16 - 1].pages, 3);
    EXPECT_EQ(zs.classes[1504 / 16 - 1].slots, 8);
    EXPECT_EQ(zs.class_for_units[1504 / 16 - 1], 1536 / 16 - 1);
    size_t used = 0;
    for (size_t c = 0; c < ZSTORE_CLASSES; c++)
        used += zs.class_for_units[c] == c;
    EXPECT_EQ(used, 68);
}

KTEST(zstore, random_puts_and_frees_match_the_model) {
    size_t compressed0 = pmm_count(PAGE_STATE_COMPRESSED), free0 = pmm_count(PAGE_STATE_FREE);
    zstore_init(&zs, "zstore_test");
    memset(items, 0, sizeof(items));
    uint64_t rng = 77;
    for (int step = 0; step < 3000; step++) {
        REQUIRE_EQ(model_step(&rng), ZX_OK);
        if (step % 7 == 0 || step < 200)
            REQUIRE_TRUE(model_agrees(compressed0));
    }
    REQUIRE_TRUE(model_agrees(compressed0));
    model_clear();
    struct zstore_usage u;
    EXPECT_TRUE(zstore_check(&zs));
    zstore_usage(&zs, &u);
    EXPECT_EQ(u.pages_used, 0);
    EXPECT_EQ(u.items, 0);
    EXPECT_EQ(u.bytes_stored, 0);
    EXPECT_EQ(pmm_count(PAGE_STATE_COMPRESSED), compressed0);
    EXPECT_EQ(pmm_count(PAGE_STATE_FREE), free0);
}

// Filled with 4,000 items of the lengths compressed pages have, the pages hold at least 90% data
// (partly filled zspages included); emptied, the store holds no page.
KTEST(zstore, dense_fill) {
    static uint64_t refs[4000];
    size_t free0 = pmm_count(PAGE_STATE_FREE);
    zstore_init(&zs, "zstore_test");
    uint64_t rng = 99;
    for (size_t i = 0; i < countof(refs); i++) {
        size_t len = 200 + page_mix_rand(&rng) % 2600;
        memset(buf, (int)i, len);
        REQUIRE_EQ(zstore_put(&zs, buf, len, &refs[i]), ZX_OK);
    }
    REQUIRE_TRUE(zstore_check(&zs));
    struct zstore_usage u;
    zstore_usage(&zs, &u);
    kprintf("    %llu items, %llu bytes in %llu pages: %llu%% used\n", (unsigned long long)u.items,
            (unsigned long long)u.bytes_stored, (unsigned long long)u.pages_used,
            (unsigned long long)(u.bytes_stored * 100 / (u.pages_used * PAGE_SIZE)));
    EXPECT_GT(u.bytes_stored * 100, u.pages_used * PAGE_SIZE * 90);
    for (size_t i = 0; i < countof(refs); i++) {
        const uint8_t *got = zstore_read(&zs, refs[i], scratch);
        size_t len = zstore_item_len(refs[i]);
        EXPECT_TRUE(got[0] == (uint8_t)i && got[len - 1] == (uint8_t)i);
        zstore_free(&zs, refs[i]);
    }
    EXPECT_TRUE(zstore_check(&zs));
    EXPECT_EQ(pmm_count(PAGE_STATE_FREE), free0);
}

// Every pmm allocation fails in turn: a put that cannot get its pages returns NO_MEMORY with
// nothing changed (no page kept, no item, the model still agrees), and the store goes on working.
KTEST(zstore, out_of_memory_at_every_allocation) {
    size_t compressed0 = pmm_count(PAGE_STATE_COMPRESSED), free0 = pmm_count(PAGE_STATE_FREE);
    zstore_init(&zs, "zstore_test");
    memset(items, 0, sizeof(items));
    uint64_t rng = 1234;
    size_t failures = 0;
    for (size_t n = 1; n <= 60; n++) {
        pmm_fail_after(n);
        for (int step = 0; step < 40; step++) {
            struct zstore_usage before, after;
            zstore_usage(&zs, &before);
            zx_status_t st = model_step(&rng);
            if (st != ZX_OK) {
                EXPECT_EQ(st, ZX_ERR_NO_MEMORY);
                zstore_usage(&zs, &after);
                EXPECT_EQ(after.pages_used, before.pages_used);
                EXPECT_EQ(after.items, before.items);
                failures++;
            }
            REQUIRE_TRUE(model_agrees(compressed0));
        }
        pmm_fail_disarm();
    }
    EXPECT_GT(failures, 10);
    model_clear();
    EXPECT_TRUE(zstore_check(&zs));
    EXPECT_EQ(pmm_count(PAGE_STATE_COMPRESSED), compressed0);
    EXPECT_EQ(pmm_count(PAGE_STATE_FREE), free0);
}

// A multi-page zspage whose second allocation fails gives back its first page.
KTEST(zstore, partial_zspage_allocation_is_undone) {
    size_t free0 = pmm_count(PAGE_STATE_FREE);
    zstore_init(&zs, "zstore_test");
    size_t len = 1504;  // three pages per zspage
    REQUIRE_EQ(zs.classes[len / 16 - 1].pages, 3);
    memset(buf, 0x5a, len);
    for (size_t n = 1; n <= 3; n++) {
        uint64_t ref = 0;
        pmm_fail_after(n);
        EXPECT_EQ(zstore_put(&zs, buf, len, &ref), ZX_ERR_NO_MEMORY);
        pmm_fail_disarm();
        EXPECT_EQ(pmm_count(PAGE_STATE_FREE), free0);
        EXPECT_TRUE(zstore_check(&zs));
    }
    uint64_t ref = 0;
    REQUIRE_EQ(zstore_put(&zs, buf, len, &ref), ZX_OK);
    EXPECT_EQ(pmm_count(PAGE_STATE_FREE), free0 - 3);
    zstore_free(&zs, ref);
    EXPECT_EQ(pmm_count(PAGE_STATE_FREE), free0);
}
