// The page compressor's interface (vm/compressor.h): zero pages, pages that do not shrink, the
// configuration keys and the counters. Pure: runs at boot and on the host over simulated RAM.
#include "kernel/ktest.h"
#include "kernel/string.h"
#include "vm/compressor.h"
#include "vm/pmm.h"

static uint8_t test_page[PAGE_SIZE] ALIGNED(4096);

// xorshift64*: a repeatable stream of incompressible bytes.
static void fill_random(uint8_t *p, size_t n, uint64_t seed) {
    uint64_t x = seed | 1;
    for (size_t i = 0; i < n; i++) {
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        p[i] = (uint8_t)((x * 0x2545F4914F6CDD1Dull) >> 56);
    }
}

KTEST(compressor, zero_page_is_reported_and_not_stored) {
    struct compressor_stats s0, s1;
    compressor_stats(&s0);
    memset(test_page, 0, sizeof(test_page));
    zref_t ref = 123;
    bool is_zero = false;
    EXPECT_EQ(compressor_compress(test_page, &ref, &is_zero), ZX_OK);
    EXPECT_TRUE(is_zero);
    EXPECT_EQ(ref, ZREF_NONE);
    compressor_stats(&s1);
    EXPECT_EQ(s1.total_page_compression_attempts, s0.total_page_compression_attempts + 1);
    EXPECT_EQ(s1.uncompressed_storage_bytes, s0.uncompressed_storage_bytes);
    EXPECT_EQ(s1.compressed_storage_bytes, s0.compressed_storage_bytes);
}

KTEST(compressor, random_page_does_not_shrink) {
    struct compressor_stats s0, s1;
    size_t free0 = pmm_count(PAGE_STATE_FREE);
    compressor_stats(&s0);
    fill_random(test_page, sizeof(test_page), 42);
    zref_t ref = ZREF_NONE;
    bool is_zero = true;
    EXPECT_EQ(compressor_compress(test_page, &ref, &is_zero), ZX_ERR_OUT_OF_RANGE);
    compressor_stats(&s1);
    EXPECT_EQ(s1.failed_page_compression_attempts, s0.failed_page_compression_attempts + 1);
    EXPECT_EQ(s1.compressed_storage_bytes, s0.compressed_storage_bytes);
    EXPECT_EQ(pmm_count(PAGE_STATE_FREE), free0);
    EXPECT_TRUE(compressor_check());
}

KTEST(compressor, config_keys_are_read_and_clamped) {
    struct compressor_config saved, c;
    compressor_get_config(&saved);
    struct cmdline cl;
    cmdline_parse("compress.threshold=50 compress.depth=3", &cl);
    compressor_config_from_cmdline(&cl, &c);
    EXPECT_EQ(c.threshold_pct, 50);
    EXPECT_EQ(c.depth, 3);
    cmdline_parse("compress.threshold=99", &cl);
    compressor_config_from_cmdline(&cl, &c);
    EXPECT_EQ(c.depth, COMPRESSOR_DEPTH_DEFAULT);
    compressor_init(&c);
    compressor_get_config(&c);
    EXPECT_EQ(c.threshold_pct, 75);  // clamped
    compressor_init(&saved);
}
