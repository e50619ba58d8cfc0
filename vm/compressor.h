// The page compressor: what the VM calls to turn a 4 KiB page into a compressed reference and back.
// It owns the LZ4 codec (vm/lz4.h), the compressed storage (vm/zstore.h) and the counters of
// ZX_INFO_KMEM_STATS_COMPRESSION (abi.md §10). Pure code: host tests run it over simulated RAM.
//
// Locking: every function may be called from any thread on any CPU without VM locks held, and
// none of them sleeps. Internally compression works in one of a few static workspaces, each under
// its own spinlock (taken with interrupts off, so a workspace is never shared); the storage has one
// spinlock, taken after a workspace lock and before the pmm's. Counters are atomics.
// Lock order: (VM locks, if the caller holds any) -> compressor workspace -> zstore -> pmm.
//
// A reference (zref_t) is owned by whoever holds it: exactly one compressor_free (or a successful
// compressor_decompress_and_free) gives it back. Decompressing never consumes it.
#ifndef VM_COMPRESSOR_H
#define VM_COMPRESSOR_H

#include <stdbool.h>
#include <stdint.h>

#include "kernel/cmdline.h"
#include "kernel/types.h"

// An opaque handle to a stored compressed page; 0 = none. Always below 2^61 (it fits a page-list
// reference slot, vm/page_list.h VMPL_REF_MAX).
typedef uint64_t zref_t;
#define ZREF_NONE ((zref_t)0)
#define ZREF_MAX (((uint64_t)1 << 61) - 1)

// Defaults of the command-line keys.
#define COMPRESSOR_THRESHOLD_DEFAULT 70  // compress.threshold: percent of a page (clamped 10..75)
#define COMPRESSOR_DEPTH_DEFAULT 16      // compress.depth: HC match-search depth, 0 = fast LZ4 only

struct compressor_config {
    unsigned threshold_pct;  // a page is stored only if it compresses below this % of a page
    unsigned depth;          // chain depth of the higher-ratio search (0: the fast compressor)
    bool off;                // compress=0 (test-only): no page shrinks; zero pages are still found
    // Nanosecond clock for the time counters (the kernel passes current_time); NULL: times stay 0.
    zx_time_t (*now_ns)(void);
};

// Reads compress.threshold, compress.depth and compress (=0: off) from `cl` (defaults when absent
// or malformed).
void compressor_config_from_cmdline(const struct cmdline *cl, struct compressor_config *out);
// Sets the configuration (may be called again, e.g. by tests; values are clamped). Before the first
// call the defaults apply and times are not measured.
void compressor_init(const struct compressor_config *cfg);
void compressor_get_config(struct compressor_config *out);

// Compresses one 4 KiB page (`page`, readable, not modified).
//   ZX_OK: *ref holds a new reference, *is_zero is false.
//   ZX_OK with *is_zero true: the page is all zeros; no reference is stored (*ref = ZREF_NONE).
//   ZX_ERR_OUT_OF_RANGE: it does not shrink below the threshold (counted as a failed attempt).
//   ZX_ERR_NO_MEMORY: no storage page could be had from the pmm.
// Never sleeps; callable without VM locks.
zx_status_t compressor_compress(const void *page, zref_t *ref, bool *is_zero) MUST_USE;
// Writes the 4 KiB page `ref` stands for into `page`. The reference stays valid.
// ZX_OK, or ZX_ERR_INTERNAL if the stored data is corrupt (a kernel bug; asserted in
// debug builds).
zx_status_t compressor_decompress(zref_t ref, void *page) MUST_USE;
// Frees a reference (ZREF_NONE is ignored). Storage pages left empty go back to the pmm.
void compressor_free(zref_t ref);

// Why a page was compressed, for the KMEM_STATS_COMPRESSION reason counters (the reclaim side
// calls this once per successful compression it asked for).
enum compressor_reason {
    COMPRESSOR_REASON_EAGER,            // eager_page_compressions
    COMPRESSOR_REASON_MEMORY_PRESSURE,  // memory_pressure_page_compressions
    COMPRESSOR_REASON_CRITICAL,         // critical_memory_page_compressions
};
void compressor_note_reason(enum compressor_reason reason);
// A compressed page was evicted (dropped without decompression): compressed_page_evictions.
void compressor_note_eviction(void);

#define COMPRESSOR_LOG_BUCKETS 8

// The counters, field for field the 168-byte zx_info_kmem_stats_compression_t of abi.md §10.
struct compressor_stats {
    uint64_t uncompressed_storage_bytes;      // live references x 4096
    uint64_t compressed_storage_bytes;        // storage pages x 4096 (exact, 0 when none live)
    uint64_t compressed_fragmentation_bytes;  // storage bytes not holding compressed data
    int64_t compression_time;                 // ns spent compressing (all attempts)
    int64_t decompression_time;               // ns spent decompressing
    uint64_t total_page_compression_attempts; // every compressor_compress call
    uint64_t failed_page_compression_attempts;  // OUT_OF_RANGE and NO_MEMORY results
    uint64_t total_page_decompressions;
    uint64_t compressed_page_evictions;
    uint64_t eager_page_compressions;
    uint64_t memory_pressure_page_compressions;
    uint64_t critical_memory_page_compressions;
    uint64_t pages_decompressed_unit_ns;  // the histogram's unit: bucket i counts decompressions
                                          // that took < unit x 2^i ns (the last: all slower)
    uint64_t pages_decompressed_within_log_time[COMPRESSOR_LOG_BUCKETS];
};
_Static_assert(sizeof(struct compressor_stats) == 168, "zx_info_kmem_stats_compression_t layout");

void compressor_stats(struct compressor_stats *out);
// Decompressions so far (a relaxed read of the counter; cheap enough for the fault path).
uint64_t compressor_decompression_count(void);

// Checks the storage's invariants (every storage page accounted for, free lists consistent);
// O(storage). Returns true if they hold.
bool compressor_check(void);

#endif  // VM_COMPRESSOR_H
