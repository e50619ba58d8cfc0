// Optimal length-limited prefix codes (package-merge), for scripts/ratio-ceiling's estimate of what
// an entropy stage would save (test/host/ratio_ceiling.c). Host-only measurement code.
#ifndef TEST_HOST_HUFFMAN_LENGTHS_H
#define TEST_HOST_HUFFMAN_LENGTHS_H

#include <stddef.h>
#include <stdint.h>

#define HUFFMAN_SYMBOLS 256
#define HUFFMAN_MAX_LIMIT 16  // the largest max_len huffman_code_lengths takes

// Code lengths of an optimal prefix code for the symbols of freq[] (HUFFMAN_SYMBOLS counts) whose
// longest code is at most max_len bits (1..HUFFMAN_MAX_LIMIT; needs 2^max_len >= the number of
// used symbols). Writes out_len[s] for every symbol: 0 for an unused one; a lone used symbol gets
// 1 bit (a decoder needs something to read). Returns the coded size in bits (sum of freq x
// length), or SIZE_MAX if max_len is out of range or too small for the used symbols.
size_t huffman_code_lengths(const uint32_t freq[HUFFMAN_SYMBOLS], unsigned max_len,
                            uint8_t out_len[HUFFMAN_SYMBOLS]);

#endif  // TEST_HOST_HUFFMAN_LENGTHS_H
