// Compression in the VM, clone-tree side (docs/compression.md "In the VM" has the figures):
//   compress_page          compressing one resident page of a VMO (vm/cow_compress.h, all three
//                          steps: unmap, park, LZ4 + storage, install) with the real compressor
//   fault_resident_read    a read fault (vmo_fault_page) on a resident page: the baseline
//   fault_compressed_read  the same read fault on a compressed page: a page allocated, the
//                          reference decompressed into it and freed
// over 256 text-like pages. In the kernel under -icount shift=0 a ns is a guest instruction.
#include "kernel/kbench.h"
#include "kernel/object.h"
#include "kernel/printf.h"
#include "vm/cow_compress.h"
#include "vm/vmo.h"

#define PG ((uint64_t)PAGE_SIZE)
#define BENCH_PAGES 256

static void fill_text(uint8_t *b, uint64_t page) {
    static const char words[] = "the quick brown fox jumps over the lazy dog; memory pressure ";
    for (size_t i = 0; i < PAGE_SIZE; i++)
        b[i] = (uint8_t)words[(i * 7 / 5 + page * 3) % (sizeof(words) - 1)];
}

NO_THREAD_SAFETY_ANALYSIS static uint64_t compress_all(struct vmo *v, uint64_t *stored) {
    struct cow_node *n = vmo_cow_node(v);
    struct cow_tree *t = n->tree;
    uint64_t total = 0;
    *stored = 0;
    mutex_acquire(&t->lock);
    for (uint64_t i = 0; i < BENCH_PAGES; i++) {
        enum cow_compress_result res = 0;
        uint64_t t0 = kbench_now();
        zx_status_t st = cow_compress_page_locked(n, i * PG, &res);
        total += kbench_now() - t0;
        *stored += st == ZX_OK && res == COW_COMPRESS_STORED;
    }
    mutex_release(&t->lock);
    return total;
}

static uint64_t fault_all(struct vmo *v) {
    uint64_t total = 0;
    for (uint64_t i = 0; i < BENCH_PAGES; i++) {
        paddr_t pa;
        bool w;
        uint64_t t0 = kbench_now();
        zx_status_t st = vmo_fault_page(v, i * PG, 0, &pa, &w);
        total += kbench_now() - t0;
        if (st != ZX_OK)
            kprintf("bench fault: %d\n", st);
    }
    return total;
}

KBENCH(compress_fault) {
    static uint8_t page[PAGE_SIZE];
    uint64_t sc[KBENCH_RUNS], sr[KBENCH_RUNS], sz[KBENCH_RUNS], stored = 0;
    for (int r = 0; r < KBENCH_RUNS; r++) {
        struct vmo *v;
        if (vmo_create(BENCH_PAGES * PG, 0, &v) != ZX_OK) {
            kprintf("bench compress_fault: out of memory\n");
            return;
        }
        for (uint64_t i = 0; i < BENCH_PAGES; i++) {
            fill_text(page, i);
            if (vmo_write(v, page, i * PG, PG) != ZX_OK)
                kprintf("bench compress_fault: write failed\n");
        }
        sr[r] = fault_all(v);
        sc[r] = compress_all(v, &stored);
        sz[r] = fault_all(v);
        kobject_release(vmo_object(v));
    }
    kbench_report("compress_page", BENCH_PAGES, sc, KBENCH_RUNS);
    kbench_report("fault_resident_read", BENCH_PAGES, sr, KBENCH_RUNS);
    kbench_report("fault_compressed_read", BENCH_PAGES, sz, KBENCH_RUNS);
    kbench_report_value("compress_fault", "pages_stored_of_256", stored);
}
