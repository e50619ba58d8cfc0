// The physical range map: splits, merges, lookups, and a random model test. Pure.
#include "kernel/ktest.h"
#include "kernel/string.h"
#include "vm/phys_ranges.h"

static struct phys_ranges pr;  // large for a kernel stack

KTEST(phys_ranges, set_splits_and_merges) {
    phys_ranges_init(&pr, 0x100000);
    EXPECT_EQ(pr.count, 1);
    EXPECT_OK(phys_ranges_set(&pr, 0x1000, 0x9f000, MEM_AVAILABLE));
    EXPECT_OK(phys_ranges_set(&pr, 0x9f000, 0x100000, MEM_RESERVED));
    EXPECT_EQ(pr.count, 3);
    EXPECT_TRUE(phys_ranges_check(&pr));
    EXPECT_EQ(phys_ranges_kind(&pr, 0), MEM_NONE);
    EXPECT_EQ(phys_ranges_kind(&pr, 0x1000), MEM_AVAILABLE);
    EXPECT_EQ(phys_ranges_kind(&pr, 0x9efff), MEM_AVAILABLE);
    EXPECT_EQ(phys_ranges_kind(&pr, 0x9f000), MEM_RESERVED);
    EXPECT_EQ(phys_ranges_kind(&pr, 0x100000), MEM_NONE);  // past the limit
    EXPECT_TRUE(phys_ranges_find(&pr, 0x100000) == NULL);
    // A hole in the middle, then fill it back: the ranges merge again.
    EXPECT_OK(phys_ranges_set(&pr, 0x5000, 0x6000, MEM_KERNEL));
    EXPECT_EQ(pr.count, 5);
    const struct phys_range *r = phys_ranges_find(&pr, 0x5800);
    EXPECT_EQ(r->start, 0x5000);
    EXPECT_EQ(r->end, 0x6000);
    EXPECT_OK(phys_ranges_set(&pr, 0x5000, 0x6000, MEM_AVAILABLE));
    EXPECT_EQ(pr.count, 3);
    EXPECT_EQ(phys_ranges_total(&pr, MEM_AVAILABLE), 0x9e000);
    // A range spanning several collapses them.
    EXPECT_OK(phys_ranges_set(&pr, 0, 0x100000, MEM_BAD));
    EXPECT_EQ(pr.count, 1);
    EXPECT_TRUE(phys_ranges_check(&pr));
}

KTEST(phys_ranges, clipping_and_errors) {
    phys_ranges_init(&pr, 0x10000);
    EXPECT_STATUS(phys_ranges_set(&pr, 0x2000, 0x1000, MEM_AVAILABLE), ZX_ERR_INVALID_ARGS);
    EXPECT_OK(phys_ranges_set(&pr, 0x8000, 0x20000, MEM_AVAILABLE));  // clipped at the limit
    EXPECT_EQ(phys_ranges_total(&pr, MEM_AVAILABLE), 0x8000);
    EXPECT_OK(phys_ranges_set(&pr, 0x30000, 0x40000, MEM_AVAILABLE));  // wholly past: no-op
    EXPECT_OK(phys_ranges_set(&pr, 0x3000, 0x3000, MEM_KERNEL));       // empty: no-op
    EXPECT_EQ(pr.count, 2);
    EXPECT_TRUE(phys_ranges_check(&pr));
}

KTEST(phys_ranges, table_full_changes_nothing) {
    phys_ranges_init(&pr, (paddr_t)PHYS_RANGES_MAX * 4 * 0x1000);
    zx_status_t st = ZX_OK;
    int i = 0;
    for (; st == ZX_OK; i++)
        st = phys_ranges_set(&pr, (paddr_t)i * 0x2000, (paddr_t)i * 0x2000 + 0x1000, MEM_KERNEL);
    EXPECT_STATUS(st, ZX_ERR_NO_RESOURCES);
    EXPECT_LE(pr.count, PHYS_RANGES_MAX);
    EXPECT_TRUE(phys_ranges_check(&pr));
}

// Model: one kind per 4 KiB page over 256 pages.
KTEST(phys_ranges, random_against_model) {
    enum { PAGES = 256 };
    uint8_t model[PAGES];
    memset(model, MEM_NONE, sizeof(model));
    phys_ranges_init(&pr, PAGES * 0x1000);
    uint32_t seed = 12345;
    for (int step = 0; step < 3000; step++) {
        seed = seed * 1103515245u + 12345u;
        size_t a = (seed >> 8) % PAGES;
        seed = seed * 1103515245u + 12345u;
        size_t len = 1 + (seed >> 8) % 16;
        size_t b = a + len > PAGES ? PAGES : a + len;
        enum mem_kind kind = (enum mem_kind)((seed >> 4) % 4);
        if (phys_ranges_set(&pr, a * 0x1000, b * 0x1000, kind) != ZX_OK)
            continue;
        for (size_t p = a; p < b; p++)
            model[p] = (uint8_t)kind;
        if (!EXPECT_TRUE(phys_ranges_check(&pr)))
            return;
        for (size_t p = 0; p < PAGES; p++) {
            if (!EXPECT_EQ(phys_ranges_kind(&pr, p * 0x1000 + 0x800), model[p]))
                return;
        }
    }
}
