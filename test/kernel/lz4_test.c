// The LZ4 codec (vm/lz4.h) on its own: round trips of every page kind at every effort, capacity
// limits (a block that does not fit is refused, one that fits exactly is made), and the
// decompressor's refusals of malformed blocks. Pure: runs at boot and on the host (where
// test/host/lz4_host_test.c adds the cross-checks against liblz4).
#include "kernel/ktest.h"
#include "kernel/string.h"
#include "test/kernel/page_mix.h"
#include "vm/lz4.h"

static struct lz4_workspace ws;
static uint8_t src[4096], block[4096 + 64], out[4096 + 64];

static size_t compress(const uint8_t *in, size_t n, uint8_t *dst, size_t cap, unsigned depth) {
    return depth ? lz4_compress_hc(in, n, dst, cap, depth, &ws)
                 : lz4_compress_fast(in, n, dst, cap, &ws);
}

KTEST(lz4, round_trip_every_kind_and_depth) {
    static const unsigned depths[] = {0, 1, 2, 8, 32};
    for (int kind = 0; kind < PAGE_KIND_COUNT; kind++) {
        for (uint64_t seed = 1; seed <= 6; seed++) {
            page_mix_fill((enum page_kind)kind, seed, src, sizeof(src));
            for (size_t d = 0; d < countof(depths); d++) {
                size_t len = compress(src, sizeof(src), block, sizeof(block), depths[d]);
                REQUIRE_TRUE(len > 0);
                memset(out, 0xaa, sizeof(out));
                EXPECT_EQ(lz4_decompress(block, len, out, sizeof(src)), (long)sizeof(src));
                EXPECT_TRUE(memcmp(out, src, sizeof(src)) == 0);
                EXPECT_EQ(out[sizeof(src)], 0xaa);  // nothing written past the page
            }
        }
    }
}

KTEST(lz4, ratio_ordering) {
    // Text and sparse pages shrink; the higher-ratio mode never does worse on them than fast.
    for (int kind = PAGE_KIND_TEXT; kind <= PAGE_KIND_SPARSE; kind++) {
        page_mix_fill((enum page_kind)kind, 3, src, sizeof(src));
        size_t fast = compress(src, sizeof(src), block, sizeof(block), 0);
        size_t hc = compress(src, sizeof(src), block, sizeof(block), 16);
        EXPECT_GT(fast, 0);
        EXPECT_LT(fast, sizeof(src) * 3 / 4);
        EXPECT_LE(hc, fast);
    }
    page_mix_fill(PAGE_KIND_RANDOM, 3, src, sizeof(src));
    EXPECT_GT(compress(src, sizeof(src), block, sizeof(block), 16), sizeof(src));
    memset(src, 0, sizeof(src));
    EXPECT_LT(compress(src, sizeof(src), block, sizeof(block), 0), 32);
}

KTEST(lz4, capacity_is_exact) {
    for (int kind = 0; kind < PAGE_KIND_COUNT; kind++) {
        page_mix_fill((enum page_kind)kind, 11, src, sizeof(src));
        for (unsigned depth = 0; depth <= 8; depth += 8) {
            size_t len = compress(src, sizeof(src), block, sizeof(block), depth);
            REQUIRE_TRUE(len > 0);
            // One byte less: refused; exactly enough: the same block.
            EXPECT_EQ(compress(src, sizeof(src), out, len - 1, depth), 0);
            EXPECT_EQ(compress(src, sizeof(src), out, len, depth), len);
            EXPECT_TRUE(memcmp(out, block, len) == 0);
            EXPECT_EQ(compress(src, sizeof(src), out, len / 2, depth), 0);
        }
    }
}

KTEST(lz4, decompress_refuses_malformed_blocks) {
    page_mix_fill(PAGE_KIND_TEXT, 5, src, sizeof(src));
    size_t len = compress(src, sizeof(src), block, sizeof(block), 8);
    REQUIRE_TRUE(len > 16);
    // Too small an output, every truncation, an empty block.
    EXPECT_EQ(lz4_decompress(block, len, out, sizeof(src) - 1), -1);
    for (size_t cut = 0; cut < len; cut++)
        EXPECT_TRUE(lz4_decompress(block, cut, out, sizeof(src)) < (long)sizeof(src));
    EXPECT_EQ(lz4_decompress(block, 0, out, sizeof(src)), -1);
    // An offset reaching before the output, and offset 0.
    static const uint8_t before_start[] = {0x14, 'a', 0x02, 0x00, 0x00};
    EXPECT_EQ(lz4_decompress(before_start, sizeof(before_start), out, 64), -1);
    static const uint8_t zero_offset[] = {0x14, 'a', 0x00, 0x00, 0x00};
    EXPECT_EQ(lz4_decompress(zero_offset, sizeof(zero_offset), out, 64), -1);
    // A valid one: 'a' then a 9-byte match at distance 1, then no literals.
    static const uint8_t valid[] = {0x15, 'a', 0x01, 0x00, 0x00};
    EXPECT_EQ(lz4_decompress(valid, sizeof(valid), out, 64), 10);
    EXPECT_TRUE(memcmp(out, "aaaaaaaaaa", 10) == 0);
    // Lengths far beyond the output.
    static const uint8_t huge_literals[] = {0xf0, 255, 255, 255, 255, 255, 255, 10};
    EXPECT_EQ(lz4_decompress(huge_literals, sizeof(huge_literals), out, 64), -1);
    static const uint8_t huge_match[] = {0x1f, 'a', 0x01, 0x00, 255, 255, 255, 3, 0x00};
    EXPECT_EQ(lz4_decompress(huge_match, sizeof(huge_match), out, 64), -1);
    // Literal length bytes that run off the end of the input.
    static const uint8_t unterminated[] = {0xf0, 255, 255};
    EXPECT_EQ(lz4_decompress(unterminated, sizeof(unterminated), out, 4096), -1);
}
