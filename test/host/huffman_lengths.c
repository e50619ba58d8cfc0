// Package-merge (Larmore and Hirschberg): the optimal prefix code whose codes are at most max_len
// bits. Level 0 lists the used symbols by weight; each next level merges those leaves with the
// packages made by pairing neighbours of the level below. The first 2n - 2 items of the top level
// are the cheapest selection; every leaf inside them (counting the leaves the selected packages
// hold, level by level) adds one bit to its symbol's code.
#include "test/host/huffman_lengths.h"

#include <stdlib.h>
#include <string.h>

struct pm_item {
    uint64_t weight;
    int leaf;  // the symbol, or -1 for a package of two items of the level below
};

static int by_weight_then_symbol(const void *a, const void *b) {
    const struct pm_item *x = a, *y = b;
    if (x->weight != y->weight)
        return x->weight < y->weight ? -1 : 1;
    return x->leaf - y->leaf;
}

// levels[k]: up to 2 x HUFFMAN_SYMBOLS items (n leaves + at most n - 1 packages). Not reentrant.
static struct pm_item levels[HUFFMAN_MAX_LIMIT][2 * HUFFMAN_SYMBOLS];
static size_t level_len[HUFFMAN_MAX_LIMIT];

// levels[k] = leaves merged with the pairs of levels[k - 1] (a leaf first on equal weights).
static void build_level(unsigned k, const struct pm_item *leaves, size_t n) {
    size_t packages = level_len[k - 1] / 2, li = 0, pi = 0, out = 0;
    while (li < n || pi < packages) {
        uint64_t pw = pi < packages
                          ? levels[k - 1][2 * pi].weight + levels[k - 1][2 * pi + 1].weight
                          : UINT64_MAX;
        if (li < n && leaves[li].weight <= pw) {
            levels[k][out++] = leaves[li++];
        } else {
            levels[k][out++] = (struct pm_item){pw, -1};
            pi++;
        }
    }
    level_len[k] = out;
}

size_t huffman_code_lengths(const uint32_t freq[HUFFMAN_SYMBOLS], unsigned max_len,
                            uint8_t out_len[HUFFMAN_SYMBOLS]) {
    struct pm_item leaves[HUFFMAN_SYMBOLS];
    size_t n = 0;
    memset(out_len, 0, HUFFMAN_SYMBOLS);
    for (int s = 0; s < HUFFMAN_SYMBOLS; s++) {
        if (freq[s])
            leaves[n++] = (struct pm_item){freq[s], s};
    }
    if (max_len < 1 || max_len > HUFFMAN_MAX_LIMIT || (n > 1 && (1ull << max_len) < n))
        return SIZE_MAX;
    if (n <= 1) {
        if (n == 1)
            out_len[leaves[0].leaf] = 1;
        return n ? leaves[0].weight : 0;
    }
    qsort(leaves, n, sizeof(leaves[0]), by_weight_then_symbol);
    memcpy(levels[0], leaves, n * sizeof(leaves[0]));
    level_len[0] = n;
    for (unsigned k = 1; k < max_len; k++)
        build_level(k, leaves, n);
    // Walk down from the selection at the top: the first `take` items of each level are in it.
    size_t take = 2 * n - 2;
    for (unsigned k = max_len; k-- > 0;) {
        size_t packages = 0;
        for (size_t i = 0; i < take; i++) {
            if (levels[k][i].leaf >= 0)
                out_len[levels[k][i].leaf]++;
            else
                packages++;
        }
        take = 2 * packages;
    }
    size_t bits = 0;
    for (int s = 0; s < HUFFMAN_SYMBOLS; s++)
        bits += (size_t)freq[s] * out_len[s];
    return bits;
}
