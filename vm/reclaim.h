// Memory pressure: free-memory watermarks, the aging and reclaim thread, synchronous reclaim for
// faults, and the figures the statistics report (docs/memory-pressure.md). Kernel only.
//
// Levels, from the free pages (pmm_count(PAGE_STATE_FREE)) against watermarks scaled to RAM:
// NORMAL above RAM/16, WARNING below it, CRITICAL below RAM/32, OOM below RAM/64. A level is left
// upwards only once free memory is RAM/128 above its watermark (hysteresis). RAM/256 pages are a
// reserve that no VMO page may take (pmm_set_reserve), so that compressed storage and page-list
// nodes can still be had while reclaim runs; RAM/512 pages (at least 32) above it are a band
// that only the kernel's threads and the root job's processes (userboot and the programs it
// starts) may take, so that when user memory runs out the system's own processes are not the
// first to fail. Test-only key reclaim.critical_reserve=0: no band (they fail like the rest).
//
// Locking: one mutex serialises reclaimers (the thread and faulting threads); under it a
// reclaimer takes a clone tree's lock, never while holding any other VM lock.
#ifndef VM_RECLAIM_H
#define VM_RECLAIM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kernel/cmdline.h"

enum reclaim_level {
    RECLAIM_NORMAL = 0,
    RECLAIM_WARNING,
    RECLAIM_CRITICAL,
    RECLAIM_OOM,
};

struct reclaim_watermarks {
    // pages; VMO pages of ordinary callers stop at `reserve`, critical callers' at
    // `critical_reserve` (<= reserve)
    size_t warning, critical, oom, hysteresis, reserve, critical_reserve;
};

// Sets the watermarks from the pmm's managed memory and starts the aging and reclaim thread.
// Keys: pq.rotate_ms (LRU rotation period, default 5000), reclaim=0 (no thread), reclaim.zero_scan=1
// (the zero-page scanner also runs when memory is NORMAL; by default it runs from WARNING on, so
// that programs checking their exact committed bytes are not surprised). No thread with ktest.
void reclaim_init(const struct cmdline *cl);

// The level now (with hysteresis).
enum reclaim_level reclaim_level(void);
void reclaim_get_watermarks(struct reclaim_watermarks *out);

// Reclaims, oldest first, until `free_target` pages are free or nothing more can go; may age the
// queues on demand (harvest + rotate). No VM lock may be held. Returns the pages freed.
size_t reclaim_run(size_t free_target, unsigned keep_newest);
// A user fault could not get a page: reclaims synchronously (no lock held). Returns true if the
// fault should be retried.
bool reclaim_for_fault(void);
// One pass of the zero-page scanner over up to `budget` pages of the older LRU buckets. Returns
// pages deduplicated.
size_t reclaim_scan_zero(size_t budget);
// Harvests accessed bits of every address space (the aging step). Returns pages seen accessed.
size_t reclaim_harvest(void);

// Boot key reclaim.eager_dont_need=1 (off by default; for the benchmarks, docs/compression.md):
// ZX_VMO_OP_DONT_NEED reclaims the pages it marks at once, through the same path as memory
// pressure (compression, zero dedup, pager eviction), like Linux's MADV_PAGEOUT.
bool reclaim_eager_dont_need(void);
// Reclaims every page on the DONT_NEED queue that can go now (no LRU bucket is touched). No VM
// lock may be held. Returns the pages freed.
size_t reclaim_dont_need(void);

struct reclaim_stats {
    uint64_t reclaimed;       // pages freed by reclaim (compressed, deduplicated, evicted)
    uint64_t zero_scanned, zero_deduped;
    uint64_t harvests, accessed;
    uint64_t fault_reclaims;  // synchronous reclaims from faults
    uint64_t failed;          // candidates that could not go
};
void reclaim_get_stats(struct reclaim_stats *out);

#endif  // VM_RECLAIM_H
