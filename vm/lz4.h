// LZ4 block format (https://github.com/lz4/lz4/blob/dev/doc/lz4_Block_format.md), written for
// Jasper: a fast greedy compressor, a higher-ratio compressor (hash chains with a configurable
// search depth and lazy matching), and a safe decompressor. Pure, freestanding code: no allocation
// (the compressors work in a caller-supplied workspace), no global state, bounded worst case
// (every loop advances through its input or output, whose sizes are bounded by the arguments).
//
// The decompressor is safe on any input: it never reads outside [src, src + src_len) nor writes
// outside [dst, dst + dst_cap), and returns an error instead (test/fuzz/lz4.c checks this under
// AddressSanitizer). Blocks made here decompress with liblz4 and liblz4's with this decompressor
// (test/host/lz4_host_test.c).
#ifndef VM_LZ4_H
#define VM_LZ4_H

#include <stddef.h>
#include <stdint.h>

// Largest input the compressors take (positions are kept in 16 bits).
#define LZ4_MAX_INPUT 65535u
// The higher-ratio compressor only looks this far back for matches (a page: all of it).
#define LZ4_HC_WINDOW 4096u

#define LZ4_FAST_HASH_LOG 12
#define LZ4_HC_HASH_LOG 13

// Scratch memory of the compressors; its contents need no initialisation and mean nothing between
// calls. One workspace serves one compression at a time.
struct lz4_workspace {
    uint16_t hash[1u << LZ4_HC_HASH_LOG];  // position (+1 for HC, 0 = none) of each hash's latest
    uint16_t chain[LZ4_HC_WINDOW];         // HC: distance from a position to the previous one
                                           // with the same hash (0: none), indexed pos % window
};

// The largest block the compressors can produce for `n` input bytes.
static inline size_t lz4_compress_bound(size_t n) {
    return n + n / 255 + 16;
}

// Compresses src[0, n) (n <= LZ4_MAX_INPUT) into dst[0, dst_cap) with the fast greedy compressor.
// Returns the block's size, or 0 if it does not fit in dst_cap bytes (the contents of dst are then
// undefined). Gives up early once dst is full, so small dst_cap values make incompressible input
// cheap to reject.
size_t lz4_compress_fast(const uint8_t *src, size_t n, uint8_t *dst, size_t dst_cap,
                         struct lz4_workspace *ws);

// Like lz4_compress_fast, with a higher ratio: for each position it follows the hash chain of up to
// `depth` earlier candidates (depth 0 falls back to lz4_compress_fast) and keeps the longest match,
// deferring a match when the next position has a longer one. Matches reach back at most
// LZ4_HC_WINDOW bytes. Cost grows with depth; the output is a plain LZ4 block either way.
size_t lz4_compress_hc(const uint8_t *src, size_t n, uint8_t *dst, size_t dst_cap,
                       unsigned depth, struct lz4_workspace *ws);

// Decompresses the block src[0, src_len) into dst[0, dst_cap). Returns the number of bytes written,
// or -1 if the block is malformed or would not fit (dst's contents are then undefined, but nothing
// outside dst was written and nothing outside src was read).
long lz4_decompress(const uint8_t *src, size_t src_len, uint8_t *dst, size_t dst_cap);

#endif  // VM_LZ4_H
