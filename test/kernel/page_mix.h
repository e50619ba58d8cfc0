// Test and benchmark pages for the compressor: deterministic generators of the page kinds the LZ4
// tests and figures use (docs/compression.md). Pure: used at boot and on the host.
#ifndef TEST_KERNEL_PAGE_MIX_H
#define TEST_KERNEL_PAGE_MIX_H

#include <stddef.h>
#include <stdint.h>

enum page_kind {
    PAGE_KIND_TEXT,       // English-like prose: words of a 256-word vocabulary, Zipf-distributed
    PAGE_KIND_SPARSE,     // a sparse heap: allocator chunks with headers, pointers, small integers
                          // and short strings, about two thirds zero bytes
    PAGE_KIND_RANDOM,     // uniform random bytes (incompressible)
    PAGE_KIND_LOWENTROPY, // random bytes from a 16-symbol alphabet (compresses, few matches)
    PAGE_KIND_PATTERN,    // a short random pattern repeated (periods 1..40)
    PAGE_KIND_COUNT,
};

const char *page_kind_name(enum page_kind kind);
// Fills p[0, n) with a page of `kind`; the same seed gives the same bytes everywhere.
void page_mix_fill(enum page_kind kind, uint64_t seed, uint8_t *p, size_t n);
// A repeatable 64-bit random stream (xorshift64*).
uint64_t page_mix_rand(uint64_t *state);

#endif  // TEST_KERNEL_PAGE_MIX_H
