// huffman_code_lengths (test/host/huffman_lengths.c) gives optimal prefix codes: known small
// codes; against an exhaustive search of every length assignment when the limit binds; against
// the classic Huffman construction when it does not. Every code satisfies Kraft's inequality
// (with equality when two or more symbols are used: an optimal code wastes no code space).
#include <stdint.h>
#include <string.h>

#include "kernel/ktest.h"
#include "test/host/huffman_lengths.h"
#include "test/kernel/page_mix.h"

// Kraft sum of the lengths in units of 2^-limit.
static uint64_t kraft_units(const uint8_t len[HUFFMAN_SYMBOLS], unsigned limit) {
    uint64_t sum = 0;
    for (int s = 0; s < HUFFMAN_SYMBOLS; s++) {
        if (len[s])
            sum += 1ull << (limit - len[s]);
    }
    return sum;
}

// The cheapest total of w[i] x len[i] over every length vector (1..limit) satisfying Kraft.
static uint64_t exhaustive_best(const uint32_t *w, size_t n, unsigned limit, size_t i,
                                uint64_t kraft_left, uint64_t cost) {
    if (i == n)
        return cost;
    uint64_t best = UINT64_MAX;
    for (unsigned l = 1; l <= limit; l++) {
        uint64_t unit = 1ull << (limit - l);
        if (unit > kraft_left)
            continue;
        uint64_t c = exhaustive_best(w, n, limit, i + 1, kraft_left - unit, cost + w[i] * l);
        if (c < best)
            best = c;
    }
    return best;
}

// The classic construction's cost: merge the two lightest until one is left; each merge's
// weight is one more bit for everything below it.
static uint64_t classic_huffman_cost(const uint32_t freq[HUFFMAN_SYMBOLS]) {
    uint64_t w[HUFFMAN_SYMBOLS];
    size_t n = 0;
    for (int s = 0; s < HUFFMAN_SYMBOLS; s++) {
        if (freq[s])
            w[n++] = freq[s];
    }
    if (n == 1)
        return w[0];
    uint64_t cost = 0;
    while (n > 1) {
        for (int pass = 0; pass < 2; pass++) {  // the two lightest to the end
            size_t m = 0;
            for (size_t i = 1; i < n - pass; i++) {
                if (w[i] < w[m])
                    m = i;
            }
            uint64_t t = w[m];
            w[m] = w[n - 1 - pass];
            w[n - 1 - pass] = t;
        }
        w[n - 2] += w[n - 1];
        cost += w[n - 2];
        n--;
    }
    return cost;
}

KTEST(huffman, known_small_codes) {
    uint32_t freq[HUFFMAN_SYMBOLS] = {0};
    uint8_t len[HUFFMAN_SYMBOLS];
    freq['a'] = 1, freq['b'] = 1, freq['c'] = 2, freq['d'] = 4;
    EXPECT_EQ(huffman_code_lengths(freq, 15, len), (size_t)14);
    EXPECT_EQ(len['a'], 3);
    EXPECT_EQ(len['b'], 3);
    EXPECT_EQ(len['c'], 2);
    EXPECT_EQ(len['d'], 1);
    EXPECT_EQ(len['e'], 0);
    // The same with a limit of 2: four 2-bit codes.
    EXPECT_EQ(huffman_code_lengths(freq, 2, len), (size_t)16);
    EXPECT_EQ(len['a'] + len['b'] + len['c'] + len['d'], 8);
    // Too small a limit for four symbols.
    EXPECT_EQ(huffman_code_lengths(freq, 1, len), SIZE_MAX);
}

KTEST(huffman, no_symbol_and_a_lone_symbol) {
    uint32_t freq[HUFFMAN_SYMBOLS] = {0};
    uint8_t len[HUFFMAN_SYMBOLS];
    EXPECT_EQ(huffman_code_lengths(freq, 15, len), (size_t)0);
    freq[200] = 7;
    EXPECT_EQ(huffman_code_lengths(freq, 15, len), (size_t)7);
    EXPECT_EQ(len[200], 1);
}

// Small random alphabets with limits that bind: the cost is the exhaustive optimum.
KTEST(huffman, optimal_against_exhaustive_search) {
    uint64_t rng = 42;
    for (int round = 0; round < 300; round++) {
        uint32_t freq[HUFFMAN_SYMBOLS] = {0}, w[8];
        size_t n = 2 + page_mix_rand(&rng) % 5;  // 2..6 symbols
        for (size_t i = 0; i < n; i++) {
            // Skewed weights, so unlimited codes would often be deeper than the limit.
            w[i] = 1 + (uint32_t)(page_mix_rand(&rng) % (1u << (page_mix_rand(&rng) % 12)));
            freq[17 * i + 3] = w[i];
        }
        unsigned limit = 1;
        while ((1u << limit) < n)
            limit++;
        limit += (unsigned)(page_mix_rand(&rng) % 3);
        uint8_t len[HUFFMAN_SYMBOLS];
        size_t bits = huffman_code_lengths(freq, limit, len);
        EXPECT_EQ(bits, (size_t)exhaustive_best(w, n, limit, 0, 1ull << limit, 0));
        EXPECT_EQ(kraft_units(len, limit), 1ull << limit);
        for (size_t i = 0; i < n; i++)
            EXPECT_LE(len[17 * i + 3], limit);
    }
}

// Page-sized literal histograms over all 256 symbols: with room to spare, the cost is the classic
// (unlimited) Huffman code's.
KTEST(huffman, optimal_against_classic_huffman) {
    uint64_t rng = 7;
    for (int round = 0; round < 50; round++) {
        uint32_t freq[HUFFMAN_SYMBOLS] = {0};
        int used = 1 + (int)(page_mix_rand(&rng) % HUFFMAN_SYMBOLS);
        for (int i = 0; i < 4096; i++)
            freq[page_mix_rand(&rng) % (uint64_t)used]++;
        uint8_t len[HUFFMAN_SYMBOLS];
        size_t bits = huffman_code_lengths(freq, HUFFMAN_MAX_LIMIT, len);
        EXPECT_EQ(bits, (size_t)classic_huffman_cost(freq));
        int present = 0;
        for (int s = 0; s < HUFFMAN_SYMBOLS; s++)
            present += freq[s] != 0;
        if (present > 1)
            EXPECT_EQ(kraft_units(len, HUFFMAN_MAX_LIMIT), 1ull << HUFFMAN_MAX_LIMIT);
    }
}
