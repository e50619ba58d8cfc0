// Page-list benchmarks: ns per insert, lookup and remove with 1e3 and 1e6 pages populated (offsets
// in a scrambled order over a dense range), walk throughput (dense and one page per node), and
// metadata bytes per populated page for dense, sparse and interval-heavy lists. Pages are one
// dummy vm_page_t stored many times: the list never dereferences them.
#include "kernel/heap.h"
#include "kernel/kbench.h"
#include "kernel/printf.h"
#include "vm/page_list.h"

#define PG ((uint64_t)PAGE_SIZE)

static vm_page_t dummy_page;
static volatile uint64_t sink;

// A permutation of [0, n): i -> i * 1000003 mod n (1000003 is prime and divides neither 1e3 nor
// 1e6), so inserts, lookups and removes hit the tree in a scattered order.
static uint64_t scramble(uint64_t i, uint64_t n) {
    return (i * 1000003u) % n;
}

static zx_status_t count_slot(vmpl_slot_t *slot, uint64_t off, void *ctx) {
    (*(uint64_t *)ctx)++;
    return ZX_ERR_NEXT;
}

static void drop(vmpl_slot_t v, uint64_t off, void *ctx) {
}

struct cycle {
    uint64_t insert, lookup, remove, walk;
};

// One sample: insert n pages, look each up, walk them, remove them (all timed separately).
static bool run_cycle(uint64_t n, struct cycle *c) {
    struct vmpl pl;
    vmpl_init(&pl);
    vmpl_slot_t page = vmpl_slot_from_page(&dummy_page);
    uint64_t t0 = kbench_now();
    for (uint64_t i = 0; i < n; i++) {
        vmpl_slot_t *s;
        if (vmpl_lookup_or_alloc(&pl, scramble(i, n) * PG, VMPL_NO_INTERVALS, &s, NULL) != ZX_OK) {
            kprintf("bench: vmpl: out of memory at %llu pages\n", (unsigned long long)i);
            vmpl_remove_all(&pl, drop, NULL);
            return false;
        }
        *s = page;
    }
    uint64_t t1 = kbench_now();
    uint64_t acc = 0;
    for (uint64_t i = 0; i < n; i++)
        acc += *vmpl_lookup(&pl, scramble(i + 7, n) * PG);
    uint64_t t2 = kbench_now();
    uint64_t visited = 0;
    zx_status_t st = vmpl_for_each(&pl, 0, VMPL_MAX_SIZE, count_slot, &visited);
    uint64_t t3 = kbench_now();
    for (uint64_t i = 0; i < n; i++)
        acc += vmpl_remove(&pl, scramble(i + 13, n) * PG);
    uint64_t t4 = kbench_now();
    sink = acc + visited;
    bool ok = st == ZX_OK && visited == n && vmpl_is_empty(&pl);
    vmpl_destroy(&pl);
    *c = (struct cycle){t1 - t0, t2 - t1, t4 - t3, t3 - t2};
    return ok;
}

static void bench_ops(uint64_t n, int runs, const char *ins, const char *look, const char *rem,
                      const char *walk) {
    uint64_t si[KBENCH_RUNS], sl[KBENCH_RUNS], sr[KBENCH_RUNS], sw[KBENCH_RUNS];
    for (int r = 0; r < runs; r++) {
        struct cycle c;
        if (!run_cycle(n, &c))
            return;
        si[r] = c.insert;
        sl[r] = c.lookup;
        sr[r] = c.remove;
        sw[r] = c.walk;
    }
    kbench_report(ins, n, si, (size_t)runs);
    kbench_report(look, n, sl, (size_t)runs);
    kbench_report(rem, n, sr, (size_t)runs);
    kbench_report(walk, n, sw, (size_t)runs);
}

KBENCH(vmpl_ops_1e3) {
    bench_ops(1000, KBENCH_RUNS, "vmpl_insert_1e3", "vmpl_lookup_1e3", "vmpl_remove_1e3",
              "vmpl_walk_dense_1e3");
}

KBENCH(vmpl_ops_1e6) {
    bench_ops(1000000, 3, "vmpl_insert_1e6", "vmpl_lookup_1e6", "vmpl_remove_1e6",
              "vmpl_walk_dense_1e6");
}

// Walk throughput when every node holds a single page (the worst case per page).
KBENCH(vmpl_walk_sparse) {
    enum { N = 100000 };
    struct vmpl pl;
    vmpl_init(&pl);
    for (uint64_t i = 0; i < N; i++) {
        vmpl_slot_t *s;
        if (vmpl_lookup_or_alloc(&pl, i * VMPL_NODE_SPAN, VMPL_NO_INTERVALS, &s, NULL) != ZX_OK)
            goto out;
        *s = vmpl_slot_from_page(&dummy_page);
    }
    uint64_t samples[KBENCH_RUNS];
    for (int r = 0; r < KBENCH_RUNS; r++) {
        uint64_t visited = 0, t0 = kbench_now();
        zx_status_t st = vmpl_for_each(&pl, 0, VMPL_MAX_SIZE, count_slot, &visited);
        samples[r] = kbench_now() - t0;
        sink = visited + (uint64_t)st;
    }
    kbench_report("vmpl_walk_sparse_1e5", N, samples, KBENCH_RUNS);
out:
    vmpl_remove_all(&pl, drop, NULL);
    vmpl_destroy(&pl);
}

// Metadata per populated page: node bytes (and, in the kernel, heap pages including slab
// overhead) divided by the pages represented. Reported x100 (1000 = 10.00 bytes).
static void report_metadata(const char *name, struct vmpl *pl, uint64_t pages, size_t heap0) {
    kbench_report_value(name, "bytes_per_page_x100", vmpl_heap_bytes(pl) * 100 / pages);
    kbench_report_value(name, "nodes", vmpl_node_count(pl));
    kbench_report_value(name, "pages", pages);
#ifdef JASPER_KERNEL
    struct heap_stats hs;
    heap_get_stats(&hs);
    kbench_report_value(name, "heap_bytes_per_page_x100",
                        (uint64_t)(hs.pages - heap0) * PAGE_SIZE * 100 / pages);
#else
    (void)heap0;
#endif
}

KBENCH(vmpl_metadata) {
    enum { N = 65536 };
    vmpl_slot_t page = vmpl_slot_from_page(&dummy_page);
    struct heap_stats h0;
    struct vmpl pl;
    vmpl_slot_t *s;

    // Dense: every offset of [0, N pages).
    heap_get_stats(&h0);
    vmpl_init(&pl);
    for (uint64_t i = 0; i < N; i++) {
        if (vmpl_lookup_or_alloc(&pl, i * PG, VMPL_NO_INTERVALS, &s, NULL) != ZX_OK)
            goto dense_out;
        *s = page;
    }
    report_metadata("vmpl_metadata_dense", &pl, N, h0.pages);
dense_out:
    vmpl_remove_all(&pl, drop, NULL);
    vmpl_destroy(&pl);

    // Sparse: one page per node.
    heap_get_stats(&h0);
    vmpl_init(&pl);
    for (uint64_t i = 0; i < N / 16; i++) {
        if (vmpl_lookup_or_alloc(&pl, i * VMPL_NODE_SPAN + 5 * PG, VMPL_NO_INTERVALS, &s, NULL) !=
            ZX_OK)
            goto sparse_out;
        *s = page;
    }
    report_metadata("vmpl_metadata_sparse", &pl, N / 16, h0.pages);
sparse_out:
    vmpl_remove_all(&pl, drop, NULL);
    vmpl_destroy(&pl);

    // Interval-heavy: a page, then a zero interval of 255 pages, repeated (a clone that zeroed
    // most of its range); every offset counts as populated.
    heap_get_stats(&h0);
    vmpl_init(&pl);
    for (uint64_t i = 0; i < N / 256; i++) {
        if (vmpl_lookup_or_alloc(&pl, i * 256 * PG, VMPL_NO_INTERVALS, &s, NULL) != ZX_OK)
            goto iv_out;
        *s = page;
        if (vmpl_add_zero_interval(&pl, (i * 256 + 1) * PG, (i + 1) * 256 * PG,
                                   VMPL_DIRTY_UNTRACKED) != ZX_OK)
            goto iv_out;
    }
    report_metadata("vmpl_metadata_intervals", &pl, N, h0.pages);
iv_out:
    vmpl_remove_all(&pl, drop, NULL);
    vmpl_destroy(&pl);
}
