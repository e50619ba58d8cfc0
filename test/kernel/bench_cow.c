// Clone-tree benchmarks (docs/clone-trees.md has the figures):
//   cow_snapshot_N      SNAPSHOT of a whole VMO with N committed pages (N = 1, 1,000, 262,144):
//                       create, close, and the pair -- flat in N by design (the VMO's list
//                       moves into the hidden node whole; its share counts change through the
//                       list's base; the close takes the hidden node's list back whole)
//   cow_write_copy      first write (a write fault) to a page shared with a snapshot: a copy
//   cow_write_move      first write to a page in a hidden node only this VMO still reaches: a move
//   cow_lookup_depth    read look-up (a read fault) of a page held d = 1, 10, 100, 1,000 levels up
//                       a chain of clones
// In the kernel under -icount shift=0 a ns is a guest instruction. 262,144 pages (1 GiB) need
// more RAM than the default 512 MiB: JASPER_QEMU_MEM=2G scripts/bench cow_snapshot_262144
// (without it the benchmark says it is skipped).
#include "kernel/heap.h"
#include "kernel/kbench.h"
#include "kernel/object.h"
#include "kernel/printf.h"
#include "vm/pmm.h"
#include "vm/vmo.h"

#define PG ((uint64_t)PAGE_SIZE)

static void close_vmo(struct vmo *v) {
    kobject_release(vmo_object(v));
}

static void bench_snapshot(uint64_t pages, int iters, const char *create_name,
                           const char *close_name, const char *pair_name) {
    if (pmm_count(PAGE_STATE_FREE) < pages + pages / 8 + 256) {
        kprintf("bench %s skipped: needs %llu free pages, %zu free\n", pair_name,
                (unsigned long long)pages, pmm_count(PAGE_STATE_FREE));
        return;
    }
    struct vmo *v;
    if (vmo_create(pages * PG, 0, &v) != ZX_OK ||
        vmo_op_range(v, ZX_VMO_OP_COMMIT, 0, pages * PG) != ZX_OK) {
        kprintf("bench %s: out of memory\n", pair_name);
        return;
    }
    uint64_t sc[KBENCH_RUNS], sx[KBENCH_RUNS], sp[KBENCH_RUNS];
    for (int r = 0; r < KBENCH_RUNS; r++) {
        uint64_t create = 0, close = 0;
        for (int i = 0; i < iters; i++) {
            struct vmo *c;
            uint64_t t0 = kbench_now();
            zx_status_t st = vmo_create_child(v, ZX_VMO_CHILD_SNAPSHOT, 0, pages * PG, &c);
            uint64_t t1 = kbench_now();
            if (st != ZX_OK) {
                kprintf("bench %s: create_child %d\n", pair_name, st);
                close_vmo(v);
                return;
            }
            close_vmo(c);
            uint64_t t2 = kbench_now();
            create += t1 - t0;
            close += t2 - t1;
        }
        sc[r] = create;
        sx[r] = close;
        sp[r] = create + close;
    }
    kbench_report(create_name, (uint64_t)iters, sc, KBENCH_RUNS);
    kbench_report(close_name, (uint64_t)iters, sx, KBENCH_RUNS);
    kbench_report(pair_name, (uint64_t)iters, sp, KBENCH_RUNS);
    close_vmo(v);
}

KBENCH(cow_snapshot_1) {
    bench_snapshot(1, 64, "cow_snapshot_1_create", "cow_snapshot_1_close", "cow_snapshot_1");
}

KBENCH(cow_snapshot_1000) {
    bench_snapshot(1000, 64, "cow_snapshot_1000_create", "cow_snapshot_1000_close",
                   "cow_snapshot_1000");
}

KBENCH(cow_snapshot_262144) {
    bench_snapshot(262144, 16, "cow_snapshot_262144_create", "cow_snapshot_262144_close",
                   "cow_snapshot_262144");
}

// Write faults over every page of a snapshot of a 1,024-page VMO (copies), then over every page
// of the VMO itself (moves: the snapshot no longer shares them).
KBENCH(cow_write_copy) {
    const uint64_t pages = 1024;
    uint64_t copy[KBENCH_RUNS], move[KBENCH_RUNS];
    for (int r = 0; r < KBENCH_RUNS; r++) {
        struct vmo *v, *c;
        if (vmo_create(pages * PG, 0, &v) != ZX_OK)
            return;
        if (vmo_op_range(v, ZX_VMO_OP_COMMIT, 0, pages * PG) != ZX_OK ||
            vmo_create_child(v, ZX_VMO_CHILD_SNAPSHOT, 0, pages * PG, &c) != ZX_OK) {
            close_vmo(v);
            return;
        }
        paddr_t pa;
        bool w;
        zx_status_t st = ZX_OK;
        uint64_t t0 = kbench_now();
        for (uint64_t i = 0; i < pages && st == ZX_OK; i++)
            st = vmo_fault_page(c, i * PG, VMO_FAULT_WRITE, &pa, &w);
        uint64_t t1 = kbench_now();
        for (uint64_t i = 0; i < pages && st == ZX_OK; i++)
            st = vmo_fault_page(v, i * PG, VMO_FAULT_WRITE, &pa, &w);
        uint64_t t2 = kbench_now();
        close_vmo(c);
        close_vmo(v);
        if (st != ZX_OK) {
            kprintf("bench cow_write_copy: fault %d\n", st);
            return;
        }
        copy[r] = t1 - t0;
        move[r] = t2 - t1;
    }
    kbench_report("cow_write_copy", pages, copy, KBENCH_RUNS);
    kbench_report("cow_write_move", pages, move, KBENCH_RUNS);
}

// A chain of `d` nested snapshots of a 2-page VMO whose page 0 is committed at the top; every
// level writes page 1 before it is snapshotted (so each gets a hidden node of its own); the
// leaf's read of page 0 climbs d levels.
static void bench_depth(uint64_t d, const char *name) {
    struct vmo **v = kzalloc((d + 1) * sizeof(*v));
    if (!v)
        return;
    bool ok = vmo_create(2 * PG, 0, &v[0]) == ZX_OK;
    uint8_t b = 1;
    ok = ok && vmo_write(v[0], &b, 0, 1) == ZX_OK;
    for (uint64_t i = 1; ok && i <= d; i++) {
        ok = vmo_write(v[i - 1], &b, PG, 1) == ZX_OK &&
             vmo_create_child(v[i - 1], ZX_VMO_CHILD_SNAPSHOT, 0, 2 * PG, &v[i]) == ZX_OK;
    }
    if (ok) {
        const uint64_t n = 1000;
        uint64_t s[KBENCH_RUNS];
        for (int r = 0; r < KBENCH_RUNS; r++) {
            paddr_t pa;
            bool w;
            uint64_t t0 = kbench_now();
            for (uint64_t i = 0; i < n; i++)
                ok &= vmo_fault_page(v[d], 0, 0, &pa, &w) == ZX_OK;
            s[r] = kbench_now() - t0;
        }
        if (ok)
            kbench_report(name, n, s, KBENCH_RUNS);
    }
    if (!ok)
        kprintf("bench %s: failed\n", name);
    for (uint64_t i = d + 1; i-- > 0;) {
        if (v[i])
            close_vmo(v[i]);
    }
    kfree(v);
}

KBENCH(cow_lookup_depth) {
    bench_depth(1, "cow_lookup_depth_1");
    bench_depth(10, "cow_lookup_depth_10");
    bench_depth(100, "cow_lookup_depth_100");
    bench_depth(1000, "cow_lookup_depth_1000");
}
