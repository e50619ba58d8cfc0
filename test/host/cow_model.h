// A differential driver for VMOs and clone trees, shared by the host test (cow_host_test.c) and
// the libFuzzer target (test/fuzz/cow.c). The input bytes are decoded into a sequence of
// operations over up to 8 VMOs -- create, every child kind with random offsets and sizes, write,
// read, ZERO, COMMIT, DECOMMIT, set_size, close, compress (at once, or begun and finished
// later with other operations in between), zero-page dedup, decompress, optionally with an allocation failure injected
// at a chosen point -- applied both to the real VMOs (over simulated RAM) and to a naive model in
// which each VMO is a byte array (a snapshot copies its parent's bytes, a slice aliases them).
// After every step: each VMO reads exactly as the model says (through vmo_read, vmo_fault_page and
// vmo_lookup_pages), every tree passes cow_check_tree_locked, the pages the trees hold equal the
// pmm's VMO-owned count, and attribution adds up (private <= scaled <= committed; the scaled
// figures of all VMOs add up to the pages held). At the end every VMO is closed and every page,
// node and heap object must be back. Any mismatch panics (a crash for the fuzzer).
#ifndef TEST_HOST_COW_MODEL_H
#define TEST_HOST_COW_MODEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct cow_model_stats {
    uint64_t ops;
    uint64_t injected;       // operations run with an allocation failure armed
    uint64_t failed_nomem;   // of which returned ZX_ERR_NO_MEMORY
    uint64_t snapshots, slices, closes, max_depth;
    // Compression outcomes (vm/cow_compress.h) and zero-page dedups, in-place decompressions.
    uint64_t compressed, compress_zero, compress_failed, compress_abandoned, deduped, decompressed;
};

// Runs the operations encoded in `data`. `verbose` prints each operation. Stats may be NULL.
void cow_model_run(const uint8_t *data, size_t size, bool verbose, struct cow_model_stats *stats);

#endif  // TEST_HOST_COW_MODEL_H
