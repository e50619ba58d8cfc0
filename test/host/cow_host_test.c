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
            // Opcodes 14 and 15 (mod 24, the weights' sum) arm a failure: drop most of them
            // unless asked.
            if (!inject && (buf[i] % 24 == 14 || buf[i] % 24 == 15) && i % 7 == 0)
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
    printf("    compression: %llu stored, %llu zero, %llu did not shrink, %llu abandoned; "
           "%llu zero pages deduped, %llu decompressed in place\n",
           (unsigned long long)st.compressed, (unsigned long long)st.compress_zero,
           (unsigned long long)st.compress_failed, (unsigned long long)st.compress_abandoned,
           (unsigned long long)st.deduped, (unsigned long long)st.decompressed);
    EXPECT_GT(st.snapshots, 0u);
    EXPECT_GT(st.compressed, 0u);
    EXPECT_GT(st.compress_zero, 0u);
    EXPECT_GT(st.compress_failed, 0u);
    EXPECT_GT(st.compress_abandoned, 0u);
    EXPECT_GT(st.deduped, 0u);
    EXPECT_GT(st.decompressed, 0u);
}

// Deep trees: each run starts by building a chain (write into the newest VMO, snapshot it, seven
// times, so every level owns content and gets a hidden node of its own), then goes on at random.
KTEST(cow_model, random_after_chains) {
    static uint8_t buf[4096];
    struct cow_model_stats st = {0};
    rng_state = 0x8cb92ba72f3d8dd7ull;
    for (int r = 0; r < 150; r++) {
        size_t n = 0;
        buf[n++] = 0;             // create
        buf[n++] = 12;            // 12 pages
        buf[n++] = rnd8() & 1;    // maybe resizable
        for (uint8_t k = 0; k < 7; k++) {
            buf[n++] = 5;         // write
            buf[n++] = k;         // into slot k (the newest)
            buf[n++] = rnd8();    // offset (low byte)
            buf[n++] = rnd8() % 0xc0;
            buf[n++] = rnd8();    // length
            buf[n++] = rnd8() % 0x30;
            buf[n++] = 2;         // snapshot
            buf[n++] = k;         // of slot k
            buf[n++] = rnd8() % 3;           // offset 0..2 pages
            buf[n++] = 12;                   // 12 pages
            buf[n++] = rnd8() & 0x07;        // kind bits, no far offsets
        }
        while (n < sizeof(buf))
            buf[n++] = rnd8();
        cow_model_run(buf, n, getenv("COW_MODEL_VERBOSE") != NULL, &st);
    }
    printf("    %llu ops, %llu snapshots, depth up to %llu, %llu failed for lack of memory\n",
           (unsigned long long)st.ops, (unsigned long long)st.snapshots,
           (unsigned long long)st.max_depth, (unsigned long long)st.failed_nomem);
    EXPECT_GE(st.max_depth, 7u);
}

KTEST(cow_model, random_sequences) {
    random_runs(0x9e3779b97f4a7c15ull, 150, 4000, false);
}

KTEST(cow_model, random_sequences_with_failures) {
    random_runs(0x2545f4914f6cdd1dull, 150, 4000, true);
}

// --- Range changes reach every mapping that can see the range, in its own offsets ---

#include <string.h>

#include "kernel/object.h"
#include "test/host/cow_host_env.h"
#include "vm/vmar.h"
#include "vm/vmo.h"

#define PG ((uint64_t)4096)

static void clear_log(void) {
    range_changes.count = 0;
    range_changes.rounds = 0;
}

// True if the log holds exactly one entry for `m`, with this range and op.
static bool logged(struct vm_mapping *m, uint64_t offset, uint64_t len, enum vm_range_op op) {
    size_t n = 0;
    bool match = false;
    for (size_t i = 0; i < range_changes.count; i++) {
        struct range_change *r = &range_changes.entries[i];
        if (r->mapping != m)
            continue;
        n++;
        match = r->offset == offset && r->len == len && r->op == op;
    }
    return n == 1 && match;
}

static size_t logged_for(struct vm_mapping *m) {
    size_t n = 0;
    for (size_t i = 0; i < range_changes.count; i++)
        n += range_changes.entries[i].mapping == m;
    return n;
}

KTEST(cow_hooks, range_changes) {
    struct vmo *t, *c, *s, *cs;
    REQUIRE_OK(vmo_create(8 * PG, ZX_VMO_RESIZABLE, &t));
    static struct vm_mapping mt, mc, ms, mt2;
    vmo_add_mapping(t, &mt);
    vmo_add_mapping(t, &mt2);
    uint8_t b = 1;
    paddr_t pa;
    bool w;
    // Committing zero content needs no unmapping while nothing but the VMO's own pages was
    // ever handed out for mapping ...
    clear_log();
    REQUIRE_OK(vmo_write(t, &b, 4 * PG, 1));
    EXPECT_EQ(range_changes.count, 0u);
    // ... but once a read fault handed out the zero page, it unmaps that page, everywhere.
    REQUIRE_OK(vmo_fault_page(t, 6 * PG, 0, &pa, &w));
    EXPECT_FALSE(w);
    clear_log();
    REQUIRE_OK(vmo_write(t, &b, 3 * PG + 7, 1));
    EXPECT_TRUE(logged(&mt, 3 * PG, PG, VM_RANGE_UNMAP));
    EXPECT_TRUE(logged(&mt2, 3 * PG, PG, VM_RANGE_UNMAP));
    EXPECT_EQ(range_changes.rounds, 1u);  // one TLB round for both mappings
    // A snapshot removes write permission over the cloned range of the parent's mappings.
    clear_log();
    REQUIRE_OK(vmo_create_child(t, ZX_VMO_CHILD_SNAPSHOT, 2 * PG, 3 * PG, &c));
    EXPECT_TRUE(logged(&mt, 2 * PG, 3 * PG, VM_RANGE_REMOVE_WRITE));
    EXPECT_TRUE(logged(&mt2, 2 * PG, 3 * PG, VM_RANGE_REMOVE_WRITE));
    EXPECT_EQ(range_changes.rounds, 1u);
    vmo_add_mapping(c, &mc);
    // The child copies a shared page it has not handed out: nothing to unmap.
    clear_log();
    REQUIRE_OK(vmo_write(c, &b, 0, 1));
    EXPECT_EQ(range_changes.count, 0u);
    // After a read fault handed out a shared page, a copy unmaps the child's own mappings only.
    REQUIRE_OK(vmo_fault_page(c, PG, 0, &pa, &w));
    EXPECT_FALSE(w);
    clear_log();
    REQUIRE_OK(vmo_write(c, &b, PG, 1));
    EXPECT_TRUE(logged(&mc, PG, PG, VM_RANGE_UNMAP));
    EXPECT_EQ(logged_for(&mt), 0u);
    // The parent writes that page: nobody else reaches its original, it moves: nothing to do.
    clear_log();
    REQUIRE_OK(vmo_write(t, &b, 3 * PG, 1));
    EXPECT_EQ(range_changes.count, 0u);
    // The parent writes a page still shared: a copy, its own mappings unmapped.
    clear_log();
    REQUIRE_OK(vmo_write(t, &b, 4 * PG, 1));
    EXPECT_TRUE(logged(&mt, 4 * PG, PG, VM_RANGE_UNMAP));
    EXPECT_EQ(logged_for(&mc), 0u);
    // ZERO and shrink unmap their ranges.
    clear_log();
    REQUIRE_OK(vmo_op_range(c, ZX_VMO_OP_ZERO, 0, 2 * PG));
    EXPECT_TRUE(logged(&mc, 0, 2 * PG, VM_RANGE_UNMAP));
    EXPECT_EQ(logged_for(&mt), 0u);
    clear_log();
    REQUIRE_OK(vmo_set_size(t, 5 * PG));
    EXPECT_TRUE(logged(&mt, 5 * PG, 3 * PG, VM_RANGE_UNMAP));
    vmo_remove_mapping(c, &mc);
    kobject_release(vmo_object(c));
    vmo_remove_mapping(t, &mt);
    vmo_remove_mapping(t, &mt2);
    kobject_release(vmo_object(t));

    // Slices: changes to the shared node reach the slice's mappings in the slice's offsets.
    REQUIRE_OK(vmo_create(8 * PG, 0, &t));
    REQUIRE_OK(vmo_create_child(t, ZX_VMO_CHILD_SLICE, 2 * PG, 4 * PG, &s));
    vmo_add_mapping(t, &mt);
    vmo_add_mapping(s, &ms);
    REQUIRE_OK(vmo_fault_page(s, PG, 0, &pa, &w));  // the zero page, handed out by the slice
    clear_log();
    REQUIRE_OK(vmo_write(t, &b, 3 * PG, 1));
    EXPECT_TRUE(logged(&mt, 3 * PG, PG, VM_RANGE_UNMAP));
    EXPECT_TRUE(logged(&ms, PG, PG, VM_RANGE_UNMAP));
    EXPECT_EQ(range_changes.rounds, 1u);
    clear_log();
    REQUIRE_OK(vmo_write(t, &b, 7 * PG, 1));  // outside the slice
    EXPECT_EQ(logged_for(&ms), 0u);
    // A snapshot of the slice write-protects the window in the parent's and the slice's mappings.
    clear_log();
    REQUIRE_OK(vmo_create_child(s, ZX_VMO_CHILD_SNAPSHOT, PG, 2 * PG, &cs));
    EXPECT_TRUE(logged(&mt, 3 * PG, 2 * PG, VM_RANGE_REMOVE_WRITE));
    EXPECT_TRUE(logged(&ms, PG, 2 * PG, VM_RANGE_REMOVE_WRITE));
    clear_log();
    REQUIRE_OK(vmo_op_range(s, ZX_VMO_OP_ZERO, PG, PG));
    EXPECT_TRUE(logged(&mt, 3 * PG, PG, VM_RANGE_UNMAP));
    EXPECT_TRUE(logged(&ms, PG, PG, VM_RANGE_UNMAP));
    EXPECT_EQ(range_changes.rounds, 1u);
    zx_info_vmo_t i;
    vmo_get_info(t, &i);
    EXPECT_EQ(i.num_mappings, 1u);
    kobject_release(vmo_object(cs));
    vmo_remove_mapping(s, &ms);
    vmo_remove_mapping(t, &mt);
    kobject_release(vmo_object(s));
    kobject_release(vmo_object(t));
}
