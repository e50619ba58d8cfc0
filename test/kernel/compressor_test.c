// The page compressor's interface (vm/compressor.h): zero pages, pages that do not shrink, the
// configuration keys, round trips, out of memory and the counters. Pure: runs at boot and on the host over simulated RAM.
#include "kernel/ktest.h"
#include "kernel/string.h"
#include "test/kernel/page_mix.h"
#include "vm/compressor.h"
#include "vm/pmm.h"

static uint8_t test_page[PAGE_SIZE] ALIGNED(4096);

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
    page_mix_fill(PAGE_KIND_RANDOM, 42, test_page, PAGE_SIZE);
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
    EXPECT_FALSE(c.off);
    cmdline_parse("compress=0", &cl);
    compressor_config_from_cmdline(&cl, &c);
    EXPECT_TRUE(c.off);
    cmdline_parse("compress.threshold=99", &cl);
    compressor_config_from_cmdline(&cl, &c);
    EXPECT_EQ(c.depth, COMPRESSOR_DEPTH_DEFAULT);
    compressor_init(&c);
    compressor_get_config(&c);
    EXPECT_EQ(c.threshold_pct, 75);  // clamped
    compressor_init(&saved);
}

KTEST(compressor, text_page_round_trip_and_counters) {
    struct compressor_stats s0, s1, s2;
    size_t compressed0 = pmm_count(PAGE_STATE_COMPRESSED), free0 = pmm_count(PAGE_STATE_FREE);
    compressor_stats(&s0);
    page_mix_fill(PAGE_KIND_TEXT, 9, test_page, PAGE_SIZE);
    zref_t ref = ZREF_NONE;
    bool is_zero = true;
    REQUIRE_EQ(compressor_compress(test_page, &ref, &is_zero), ZX_OK);
    EXPECT_FALSE(is_zero);
    EXPECT_NE(ref, ZREF_NONE);
    EXPECT_LE(ref, ZREF_MAX);
    compressor_stats(&s1);
    EXPECT_EQ(s1.uncompressed_storage_bytes, s0.uncompressed_storage_bytes + PAGE_SIZE);
    EXPECT_EQ(s1.compressed_storage_bytes,
              (pmm_count(PAGE_STATE_COMPRESSED) - compressed0) * PAGE_SIZE +
                  s0.compressed_storage_bytes);
    EXPECT_TRUE(compressor_check());
    static uint8_t back[PAGE_SIZE];
    REQUIRE_EQ(compressor_decompress(ref, back), ZX_OK);
    EXPECT_TRUE(memcmp(back, test_page, PAGE_SIZE) == 0);
    REQUIRE_EQ(compressor_decompress(ref, back), ZX_OK);  // the reference stays valid
    EXPECT_TRUE(memcmp(back, test_page, PAGE_SIZE) == 0);
    compressor_stats(&s2);
    EXPECT_EQ(s2.total_page_decompressions, s1.total_page_decompressions + 2);
    uint64_t hist = 0;
    for (size_t i = 0; i < COMPRESSOR_LOG_BUCKETS; i++)
        hist += s2.pages_decompressed_within_log_time[i] - s1.pages_decompressed_within_log_time[i];
    EXPECT_EQ(hist, 2);
    compressor_free(ref);
    compressor_stats(&s2);
    EXPECT_EQ(s2.uncompressed_storage_bytes, s0.uncompressed_storage_bytes);
    EXPECT_EQ(s2.compressed_storage_bytes, s0.compressed_storage_bytes);
    EXPECT_EQ(pmm_count(PAGE_STATE_COMPRESSED), compressed0);
    EXPECT_EQ(pmm_count(PAGE_STATE_FREE), free0);
    EXPECT_TRUE(compressor_check());
}

// Many pages of every kind: each either stored (and read back exactly) or refused as not
// shrinking; storage returns to where it was once all are freed.
KTEST(compressor, many_pages_round_trip) {
    static zref_t refs[300];
    static uint8_t back[PAGE_SIZE];
    struct compressor_stats s0, s1;
    size_t free0 = pmm_count(PAGE_STATE_FREE);
    compressor_stats(&s0);
    size_t stored = 0;
    for (size_t i = 0; i < countof(refs); i++) {
        bool is_zero = false;
        page_mix_fill((enum page_kind)(i % PAGE_KIND_COUNT), i, test_page, PAGE_SIZE);
        refs[i] = ZREF_NONE;
        zx_status_t st = compressor_compress(test_page, &refs[i], &is_zero);
        // Random and low-entropy pages never shrink enough, sparse and periodic ones always do;
        // text pages sit near the threshold (about 69% of a page).
        size_t kind = i % PAGE_KIND_COUNT;
        if (kind == PAGE_KIND_RANDOM || kind == PAGE_KIND_LOWENTROPY)
            EXPECT_EQ(st, ZX_ERR_OUT_OF_RANGE);
        else if (kind == PAGE_KIND_TEXT)
            EXPECT_TRUE(st == ZX_OK || st == ZX_ERR_OUT_OF_RANGE);
        else
            EXPECT_EQ(st, ZX_OK);
        stored += st == ZX_OK;
    }
    EXPECT_TRUE(compressor_check());
    compressor_stats(&s1);
    EXPECT_EQ(s1.uncompressed_storage_bytes - s0.uncompressed_storage_bytes, stored * PAGE_SIZE);
    EXPECT_EQ(s1.total_page_compression_attempts - s0.total_page_compression_attempts,
              countof(refs));
    EXPECT_EQ(s1.failed_page_compression_attempts - s0.failed_page_compression_attempts,
              countof(refs) - stored);
    for (size_t i = 0; i < countof(refs); i++) {
        if (refs[i] == ZREF_NONE)
            continue;
        page_mix_fill((enum page_kind)(i % PAGE_KIND_COUNT), i, test_page, PAGE_SIZE);
        REQUIRE_EQ(compressor_decompress(refs[i], back), ZX_OK);
        EXPECT_TRUE(memcmp(back, test_page, PAGE_SIZE) == 0);
        compressor_free(refs[i]);
    }
    compressor_stats(&s1);
    EXPECT_EQ(s1.compressed_storage_bytes, s0.compressed_storage_bytes);
    EXPECT_EQ(pmm_count(PAGE_STATE_FREE), free0);
    EXPECT_TRUE(compressor_check());
}

// Out of memory at every storage allocation: NO_MEMORY, counted as failed, nothing kept.
KTEST(compressor, out_of_memory_is_reported) {
    static zref_t refs[40];
    size_t free0 = pmm_count(PAGE_STATE_FREE);
    size_t failures = 0;
    for (size_t n = 1; n <= 4; n++) {
        pmm_fail_after(n);
        for (size_t i = 0; i < countof(refs); i++) {
            bool is_zero = false;
            page_mix_fill(i % 2 ? PAGE_KIND_PATTERN : PAGE_KIND_SPARSE, i + 100 * n, test_page,
                          PAGE_SIZE);
            refs[i] = ZREF_NONE;
            zx_status_t st = compressor_compress(test_page, &refs[i], &is_zero);
            EXPECT_TRUE(st == ZX_OK || st == ZX_ERR_NO_MEMORY);
            failures += st == ZX_ERR_NO_MEMORY;
        }
        pmm_fail_disarm();
        EXPECT_TRUE(compressor_check());
        for (size_t i = 0; i < countof(refs); i++)
            compressor_free(refs[i]);
    }
    EXPECT_GT(failures, 0);
    EXPECT_EQ(pmm_count(PAGE_STATE_FREE), free0);
}
