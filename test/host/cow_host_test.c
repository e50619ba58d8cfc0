// Host-only clone-tree tests: random operation sequences against the byte-array model
// (cow_model.c), with and without injected allocation failures.
#include <stdio.h>
#include <stdlib.h>

#include "kernel/ktest.h"
#include "test/host/cow_model.h"

static uint64_t rng_state;

static uint8_t rnd8(void) {
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return (uint8_t)(rng_state >> 24);
}

// Runs `runs` random sequences of `len` bytes; `inject` keeps the failure-arming opcodes.
static void random_runs(uint64_t seed, int runs, size_t len, bool inject) {
    static uint8_t buf[8192];
    struct cow_model_stats st = {0};
    rng_state = seed;
    for (int r = 0; r < runs; r++) {
        for (size_t i = 0; i < len; i++) {
            buf[i] = rnd8();
            // Opcodes 14 and 15 (mod 16) arm a failure: drop most of them unless asked.
            if (!inject && (buf[i] & 14) == 14 && i % 7 == 0)
                buf[i] ^= 4;
        }
        cow_model_run(buf, len, getenv("COW_MODEL_VERBOSE") != NULL, &st);
    }
    printf("    %llu ops, %llu snapshots, %llu slices, %llu closes, depth up to %llu, "
           "%llu with a failure armed (%llu failed for lack of memory)\n",
           (unsigned long long)st.ops, (unsigned long long)st.snapshots,
           (unsigned long long)st.slices, (unsigned long long)st.closes,
           (unsigned long long)st.max_depth, (unsigned long long)st.injected,
           (unsigned long long)st.failed_nomem);
    EXPECT_GT(st.snapshots, 0u);
}

KTEST(cow_model, random_sequences) {
    random_runs(0x9e3779b97f4a7c15ull, 150, 4000, false);
}

KTEST(cow_model, random_sequences_with_failures) {
    random_runs(0x2545f4914f6cdd1dull, 150, 4000, true);
}
