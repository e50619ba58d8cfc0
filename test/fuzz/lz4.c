// libFuzzer target for the LZ4 decompressor (vm/lz4.c): any input is decompressed into an
// output buffer of a size the input chooses, both held in exact-size heap buffers so that
// AddressSanitizer reports any byte read or written outside them; the result must be -1 or a
// length within the buffer. Each input is also compressed (fast and higher-ratio at a depth the
// input chooses) and must come back unchanged. Built and run by scripts/fuzz.
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "vm/lz4.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct lz4_workspace ws;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 3)
        return 0;
    size_t cap = ((size_t)data[0] | (size_t)data[1] << 8) % 8193;  // 0..8192
    unsigned depth = data[2] % 33;
    data += 3;
    size -= 3;

    uint8_t *src = malloc(size ? size : 1);
    memcpy(src, data, size);
    uint8_t *dst = malloc(cap ? cap : 1);
    long got = lz4_decompress(src, size, dst, cap);
    if (got < -1 || got > (long)cap)
        abort();

    if (size <= LZ4_MAX_INPUT) {
        size_t bound = lz4_compress_bound(size);
        uint8_t *block = malloc(bound);
        uint8_t *back = malloc(size ? size : 1);
        for (int hc = 0; hc < 2; hc++) {
            size_t len = hc ? lz4_compress_hc(src, size, block, bound, depth, &ws)
                            : lz4_compress_fast(src, size, block, bound, &ws);
            if (len == 0 || len > bound)
                abort();
            if (lz4_decompress(block, len, back, size) != (long)size || memcmp(back, src, size))
                abort();
        }
        free(back);
        free(block);
    }
    free(dst);
    free(src);
    return 0;
}
