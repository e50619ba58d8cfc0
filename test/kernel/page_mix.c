// Deterministic page generators for the compressor's tests and benchmarks (see page_mix.h).
#include "test/kernel/page_mix.h"

#include <stdbool.h>

#include "kernel/compiler.h"
#include "kernel/string.h"

uint64_t page_mix_rand(uint64_t *state) {
    uint64_t x = *state ? *state : 0x9e3779b97f4a7c15ull;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    *state = x;
    return x * 0x2545F4914F6CDD1Dull;
}

const char *page_kind_name(enum page_kind kind) {
    static const char *const names[PAGE_KIND_COUNT] = {"text", "sparse", "random", "lowentropy",
                                                       "pattern"};
    return kind < PAGE_KIND_COUNT ? names[kind] : "?";
}

static const char *const words[] = {
    "the", "of", "and", "to", "a", "in", "is", "it", "that", "was", "for", "on", "are", "with",
    "as", "be", "at", "one", "have", "this", "from", "by", "not", "but", "what", "all", "were",
    "when", "we", "there", "can", "an", "which", "their", "said", "if", "do", "will", "each",
    "about", "how", "up", "out", "them", "then", "she", "many", "some", "so", "these", "would",
    "other", "into", "has", "more", "her", "two", "like", "him", "see", "time", "could", "no",
    "make", "than", "first", "been", "its", "who", "now", "people", "my", "made", "over", "did",
    "down", "only", "way", "find", "use", "may", "water", "long", "little", "very", "after",
    "words", "called", "just", "where", "most", "know", "get", "through", "back", "much", "before",
    "go", "good", "new", "write", "our", "used", "me", "man", "too", "any", "day", "same", "right",
    "look", "think", "also", "around", "another", "came", "come", "work", "three", "word", "must",
    "because", "does", "part", "even", "place", "well", "such", "here", "take", "why", "things",
    "help", "put", "years", "different", "away", "again", "off", "went", "old", "number", "great",
    "tell", "men", "say", "small", "every", "found", "still", "between", "name", "should", "home",
    "big", "give", "air", "line", "set", "own", "under", "read", "last", "never", "us", "left",
    "end", "along", "while", "might", "next", "sound", "below", "saw", "something", "thought",
    "both", "few", "those", "always", "looked", "show", "large", "often", "together", "asked",
    "house", "world", "going", "want", "school", "important", "until", "form", "food", "keep",
    "children", "feet", "land", "side", "without", "boy", "once", "animals", "life", "enough",
    "took", "sometimes", "four", "head", "above", "kind", "began", "almost", "live", "page",
    "got", "earth", "need", "far", "hand", "high", "year", "mother", "light", "parts", "country",
    "father", "let", "night", "following", "picture", "being", "study", "second", "eyes", "soon",
    "times", "story", "boys", "since", "white", "days", "ever", "paper", "hard", "near",
    "sentence", "better", "best", "across", "during", "today", "others", "however", "sure",
    "means", "knew", "try", "told", "young", "miles", "sun", "ways", "thing", "whole", "hear",
    "example", "heard", "several", "change", "answer", "room", "sea", "against", "top", "turned",
};

static void fill_text(uint64_t *rng, uint8_t *p, size_t n) {
    size_t i = 0, col = 0;
    bool capital = true;
    while (i < n) {
        // Zipf-like: the minimum of two uniform draws favours the front of the list.
        size_t a = page_mix_rand(rng) % countof(words), b = page_mix_rand(rng) % countof(words);
        const char *w = words[MIN(a, b)];
        for (size_t k = 0; w[k] && i < n; k++, col++)
            p[i++] = (uint8_t)(capital && k == 0 ? w[k] - 'a' + 'A' : w[k]);
        capital = false;
        if (i >= n)
            break;
        uint64_t r = page_mix_rand(rng) % 16;
        if (r == 0) {
            p[i++] = '.';
            capital = true;
        } else if (r == 1) {
            p[i++] = ',';
        }
        if (i < n) {
            p[i++] = col > 72 ? '\n' : ' ';
            col = col > 72 ? 0 : col + 1;
        }
    }
}

static void put64(uint8_t *p, size_t n, size_t at, uint64_t v) {
    for (size_t k = 0; k < 8 && at + k < n; k++)
        p[at + k] = (uint8_t)(v >> (8 * k));
}

static void fill_sparse(uint64_t *rng, uint8_t *p, size_t n) {
    static const size_t sizes[] = {16, 32, 32, 48, 64, 64, 96, 128, 256, 512};
    static const char *const strings[] = {"jasper", "vmo", "handle", "/boot/bin/sh", "en_US.UTF-8",
                                          "channel", "zx_status"};
    memset(p, 0, n);
    uint64_t heap_base = 0x00007f3a2c400000ull + (page_mix_rand(rng) % 64) * 0x10000;
    size_t at = 0;
    while (at + 16 <= n) {
        size_t size = sizes[page_mix_rand(rng) % countof(sizes)];
        bool used = page_mix_rand(rng) % 3 != 0;
        put64(p, n, at, size | (used ? 1 : 0));  // the chunk header
        if (used) {
            for (size_t f = at + 8; f + 8 <= at + size && f + 8 <= n; f += 8) {
                uint64_t r = page_mix_rand(rng) % 8;
                if (r < 2)
                    put64(p, n, f, heap_base + (page_mix_rand(rng) % 4096) * 16);  // a pointer
                else if (r == 2)
                    put64(p, n, f, page_mix_rand(rng) % 100);  // a small integer
                else if (r == 3) {
                    const char *s = strings[page_mix_rand(rng) % countof(strings)];
                    for (size_t k = 0; s[k] && f + k < at + size && f + k < n; k++)
                        p[f + k] = (uint8_t)s[k];
                    f += 8 * (strlen(s) / 8);
                }
                // otherwise zero
            }
        }
        at += size;
    }
}

void page_mix_fill(enum page_kind kind, uint64_t seed, uint8_t *p, size_t n) {
    uint64_t rng = seed * 0x9e3779b97f4a7c15ull + 1;
    switch (kind) {
    case PAGE_KIND_TEXT:
        fill_text(&rng, p, n);
        break;
    case PAGE_KIND_SPARSE:
        fill_sparse(&rng, p, n);
        break;
    case PAGE_KIND_LOWENTROPY:
        for (size_t i = 0; i < n; i++)
            p[i] = (uint8_t)('A' + page_mix_rand(&rng) % 16);
        break;
    case PAGE_KIND_PATTERN: {
        size_t period = 1 + page_mix_rand(&rng) % 40;
        for (size_t i = 0; i < n; i++)
            p[i] = i < period ? (uint8_t)page_mix_rand(&rng) : p[i - period];
        break;
    }
    case PAGE_KIND_RANDOM:
    default:
        for (size_t i = 0; i < n; i++)
            p[i] = (uint8_t)(page_mix_rand(&rng) >> 56);
        break;
    }
}
