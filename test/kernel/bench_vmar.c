// Mapping-layer benchmarks (scripts/bench; figures in docs/address-spaces.md). The faults are real
// user-mode faults taken by ring-3 loops (test/kernel/user_run.h) that touch one byte per page;
// each sample subtracts an empty run (thread start, entry and exit) and divides by the pages.
//   vmar_zero_fill_fault   write to uncommitted pages: a fresh zeroed page each
//   vmar_zero_page_read    read of uncommitted pages: the shared zero page, read-only
//   vmar_cow_fault         write to a snapshot child of a committed VMO: a copy each
//   vmar_cow_move          then the parent writes the same pages: nobody else sees them, moved
//   vmar_read_committed    read of committed pages, fault-around off and on (16 pages)
//   vmar_map_unmap_page    vmar_map + vmar_unmap of one page of an existing VMO (kernel calls)
//   vmar_map_unmap_1g      the same for 1 GiB of an uncommitted VMO
//   vmar_protect_64m       vmar_protect of 64 MiB of faulted-in pages, read-only then read-write
//   vmar_alloc_spot_1k     vmar_allocate + vmar_destroy in a VMAR holding 1,000 children
//   aging_*                page aging (docs/memory-pressure.md): reclaim_harvest per mapped page
//                          with every page accessed (moved to the newest bucket, or there already)
//                          and with none, pq_rotate with nothing to move and per page moved
// Kernel only.
#include "kernel/assert.h"
#include "kernel/kbench.h"
#include "kernel/printf.h"
#include "test/kernel/user_run.h"
#include "vm/page_queues.h"
#include "vm/reclaim.h"
#include "vm/vmar.h"
#include "vm/vmo.h"

#define PG ((uint64_t)PAGE_SIZE)
#define R ZX_VM_PERM_READ
#define W ZX_VM_PERM_WRITE
#define X ZX_VM_PERM_EXECUTE
#define RWX (R | W | X)
#define FAULT_PAGES 4096u  // 16 MiB per sample

struct bench_env {
    struct vm_aspace *as;
    struct vmar *root;
    struct vmo *code;
    vaddr_t code_va;
};

static void env_init(struct bench_env *e) {
    ASSERT(vm_aspace_create("bench", &e->as) == ZX_OK);
    e->root = vm_aspace_root_vmar(e->as);
    ASSERT(vmo_create(PG, 0, &e->code) == ZX_OK);
    ASSERT(vmo_write(e->code, user_code, 0, user_code_size) == ZX_OK);
    ASSERT(vmar_map(e->root, R | X, 0, e->code, 0, PG, RWX, &e->code_va) == ZX_OK);
}

static void env_end(struct bench_env *e) {
    vm_aspace_activate(NULL);
    vm_aspace_destroy(e->as);
    kobject_release(vmar_object(e->root));
    kobject_release(vmo_object(e->code));
}

// Guest instructions for one user run of `pages` iterations of the loop at `loop` (its ud2 at
// `end` for the empty run), minus the empty run.
static uint64_t timed_loop(struct bench_env *e, unsigned loop, unsigned end, vaddr_t va,
                           uint64_t pages) {
    struct user_result out;
    struct user_regs in = {0};
    uint64_t t0 = kbench_now();
    ASSERT(user_run(e->as, e->code_va + end, &in, &out) == ZX_OK && out.vector == 6);
    uint64_t empty = kbench_now() - t0;
    in = (struct user_regs){.rdi = va, .rcx = pages};
    t0 = kbench_now();
    ASSERT(user_run(e->as, e->code_va + loop, &in, &out) == ZX_OK);
    uint64_t t = kbench_now() - t0;
    ASSERT_MSG(out.vector == 6, "the loop faulted at %#llx", (unsigned long long)out.cr2);
    return t > empty ? t - empty : 0;
}

static struct vmo *bench_vmo(uint64_t pages, bool commit) {
    struct vmo *v;
    ASSERT(vmo_create(pages * PG, 0, &v) == ZX_OK);
    if (commit)
        ASSERT(vmo_op_range(v, ZX_VMO_OP_COMMIT, 0, pages * PG) == ZX_OK);
    return v;
}

static vaddr_t bench_map(struct bench_env *e, struct vmo *v, uint32_t perms, uint64_t pages) {
    vaddr_t a;
    ASSERT(vmar_map(e->root, perms, 0, v, 0, pages * PG, RWX, &a) == ZX_OK);
    return a;
}

static void bench_unmap(struct bench_env *e, vaddr_t a, uint64_t pages) {
    ASSERT(vmar_unmap(e->root, a, pages * PG) == ZX_OK);
}

KBENCH(vmar_zero_fill_fault) {
    struct bench_env e;
    env_init(&e);
    uint64_t s[KBENCH_RUNS];
    for (int r = 0; r < KBENCH_RUNS; r++) {
        struct vmo *v = bench_vmo(FAULT_PAGES, false);
        vaddr_t a = bench_map(&e, v, R | W, FAULT_PAGES);
        s[r] = timed_loop(&e, USER_WLOOP, USER_WLOOP_END, a, FAULT_PAGES);
        bench_unmap(&e, a, FAULT_PAGES);
        kobject_release(vmo_object(v));
    }
    env_end(&e);
    kbench_report("vmar_zero_fill_fault", FAULT_PAGES, s, KBENCH_RUNS);
}

KBENCH(vmar_zero_page_read) {
    struct bench_env e;
    env_init(&e);
    uint64_t s[KBENCH_RUNS];
    for (int r = 0; r < KBENCH_RUNS; r++) {
        struct vmo *v = bench_vmo(FAULT_PAGES, false);
        vaddr_t a = bench_map(&e, v, R | W, FAULT_PAGES);
        s[r] = timed_loop(&e, USER_RLOOP, USER_RLOOP_END, a, FAULT_PAGES);
        bench_unmap(&e, a, FAULT_PAGES);
        kobject_release(vmo_object(v));
    }
    env_end(&e);
    kbench_report("vmar_zero_page_read", FAULT_PAGES, s, KBENCH_RUNS);
}

KBENCH(vmar_cow_fault) {
    struct bench_env e;
    env_init(&e);
    uint64_t copy[KBENCH_RUNS], move[KBENCH_RUNS];
    for (int r = 0; r < KBENCH_RUNS; r++) {
        struct vmo *parent = bench_vmo(FAULT_PAGES, true), *child;
        ASSERT(vmo_create_child(parent, ZX_VMO_CHILD_SNAPSHOT, 0, FAULT_PAGES * PG, &child) ==
               ZX_OK);
        vaddr_t c = bench_map(&e, child, R | W, FAULT_PAGES);
        copy[r] = timed_loop(&e, USER_WLOOP, USER_WLOOP_END, c, FAULT_PAGES);
        vaddr_t p = bench_map(&e, parent, R | W, FAULT_PAGES);
        move[r] = timed_loop(&e, USER_WLOOP, USER_WLOOP_END, p, FAULT_PAGES);
        bench_unmap(&e, c, FAULT_PAGES);
        bench_unmap(&e, p, FAULT_PAGES);
        kobject_release(vmo_object(child));
        kobject_release(vmo_object(parent));
    }
    env_end(&e);
    kbench_report("vmar_cow_fault", FAULT_PAGES, copy, KBENCH_RUNS);
    kbench_report("vmar_cow_move", FAULT_PAGES, move, KBENCH_RUNS);
}

// Reading committed pages in order: one fault per page, or one per 16 with fault-around.
KBENCH(vmar_read_committed) {
    struct bench_env e;
    env_init(&e);
    uint64_t off[KBENCH_RUNS], on[KBENCH_RUNS];
    unsigned saved = vm_fault_around_pages;
    struct vmo *v = bench_vmo(FAULT_PAGES, true);
    for (int r = 0; r < KBENCH_RUNS; r++) {
        vm_fault_around_pages = 0;
        vaddr_t a = bench_map(&e, v, R | W, FAULT_PAGES);
        off[r] = timed_loop(&e, USER_RLOOP, USER_RLOOP_END, a, FAULT_PAGES);
        bench_unmap(&e, a, FAULT_PAGES);
        vm_fault_around_pages = 16;
        a = bench_map(&e, v, R | W, FAULT_PAGES);
        on[r] = timed_loop(&e, USER_RLOOP, USER_RLOOP_END, a, FAULT_PAGES);
        bench_unmap(&e, a, FAULT_PAGES);
    }
    vm_fault_around_pages = saved;
    kobject_release(vmo_object(v));
    env_end(&e);
    kbench_report("vmar_read_committed_around0", FAULT_PAGES, off, KBENCH_RUNS);
    kbench_report("vmar_read_committed_around16", FAULT_PAGES, on, KBENCH_RUNS);
}

#define MAP_ITERS 1000u

KBENCH(vmar_map_unmap_page) {
    struct bench_env e;
    env_init(&e);
    struct vmo *v = bench_vmo(1, true);
    uint64_t s[KBENCH_RUNS];
    for (int r = 0; r < KBENCH_RUNS; r++) {
        uint64_t t0 = kbench_now();
        for (unsigned i = 0; i < MAP_ITERS; i++) {
            vaddr_t a = bench_map(&e, v, R | W, 1);
            bench_unmap(&e, a, 1);
        }
        s[r] = kbench_now() - t0;
    }
    kobject_release(vmo_object(v));
    env_end(&e);
    kbench_report("vmar_map_unmap_page", MAP_ITERS, s, KBENCH_RUNS);
}

KBENCH(vmar_map_unmap_1g) {
    struct bench_env e;
    env_init(&e);
    const uint64_t pages = (1ull << 30) / PG;
    struct vmo *v = bench_vmo(pages, false);
    uint64_t s[KBENCH_RUNS];
    for (int r = 0; r < KBENCH_RUNS; r++) {
        uint64_t t0 = kbench_now();
        for (unsigned i = 0; i < MAP_ITERS; i++) {
            vaddr_t a = bench_map(&e, v, R | W, pages);
            bench_unmap(&e, a, pages);
        }
        s[r] = kbench_now() - t0;
    }
    kobject_release(vmo_object(v));
    env_end(&e);
    kbench_report("vmar_map_unmap_1g", MAP_ITERS, s, KBENCH_RUNS);
}

KBENCH(vmar_protect_64m) {
    struct bench_env e;
    env_init(&e);
    const uint64_t pages = (64ull << 20) / PG;
    struct vmo *v = bench_vmo(pages, true);
    vaddr_t a;
    ASSERT(vmar_map(e.root, R | W | ZX_VM_MAP_RANGE, 0, v, 0, pages * PG, RWX, &a) == ZX_OK);
    vm_aspace_activate(e.as);  // invalidations cost what they cost in a running process
    uint64_t s[KBENCH_RUNS];
    for (int r = 0; r < KBENCH_RUNS; r++) {
        uint64_t t0 = kbench_now();
        ASSERT(vmar_protect(e.root, R, a, pages * PG) == ZX_OK);
        ASSERT(vmar_protect(e.root, R | W, a, pages * PG) == ZX_OK);
        s[r] = kbench_now() - t0;
    }
    vm_aspace_activate(NULL);
    kobject_release(vmo_object(v));
    env_end(&e);
    kbench_report("vmar_protect_64m", 2 * pages, s, KBENCH_RUNS);
}

// Placement in a crowded VMAR: the O(log n) spot search, ASLR on.
KBENCH(vmar_alloc_spot_1k) {
    struct bench_env e;
    env_init(&e);
    struct vmar *area, *kids[1000];
    ASSERT(vmar_allocate(e.root, 0, 0, 1ull << 32, &area) == ZX_OK);
    for (int i = 0; i < 1000; i++)
        ASSERT(vmar_allocate(area, 0, 0, 16 * PG, &kids[i]) == ZX_OK);
    uint64_t s[KBENCH_RUNS];
    for (int r = 0; r < KBENCH_RUNS; r++) {
        uint64_t t0 = kbench_now();
        for (unsigned i = 0; i < MAP_ITERS; i++) {
            struct vmar *v;
            ASSERT(vmar_allocate(area, 0, 0, 16 * PG, &v) == ZX_OK);
            ASSERT(vmar_destroy(v) == ZX_OK);
            kobject_release(vmar_object(v));
        }
        s[r] = kbench_now() - t0;
    }
    for (int i = 0; i < 1000; i++)
        kobject_release(vmar_object(kids[i]));
    kobject_release(vmar_object(area));
    env_end(&e);
    kbench_report("vmar_alloc_spot_1k", MAP_ITERS, s, KBENCH_RUNS);
}

#define AGING_PAGES 16384u  // 64 MiB, committed and mapped

// Aging: harvesting the accessed bits of AGING_PAGES mapped pages, all of them just read by user
// mode while in the newest bucket already (every A bit cleared, no page moved), then again at once
// (none accessed: the page-table walk alone); the eight rotations that age those pages from the
// newest bucket to the oldest and past it (seven move nothing, the eighth relabels all of them:
// merge_into_locked writes each page's queue id); then a harvest after the pages were read again
// while old (every page moved to the newest bucket under the queue lock). The reclaim thread also
// ages every 250 ms; a sample it lands in is an outlier the median drops.
KBENCH(aging) {
    struct bench_env e;
    env_init(&e);
    struct vmo *v = bench_vmo(AGING_PAGES, true);
    vaddr_t a = bench_map(&e, v, R | W, AGING_PAGES);
    uint64_t hot[KBENCH_RUNS], cold[KBENCH_RUNS], rot_empty[KBENCH_RUNS], rot_full[KBENCH_RUNS];
    uint64_t moved[KBENCH_RUNS];
    size_t accessed = 0;
    for (int r = 0; r < KBENCH_RUNS; r++) {
        (void)timed_loop(&e, USER_RLOOP, USER_RLOOP_END, a, AGING_PAGES);  // sets every A bit
        uint64_t t0 = kbench_now();
        accessed = reclaim_harvest();
        hot[r] = kbench_now() - t0;
        t0 = kbench_now();
        (void)reclaim_harvest();
        cold[r] = kbench_now() - t0;
        uint64_t empty = 0;
        for (int i = 0; i < PQ_LRU_BUCKETS - 1; i++) {
            t0 = kbench_now();
            pq_rotate();
            empty += kbench_now() - t0;
        }
        rot_empty[r] = empty / (PQ_LRU_BUCKETS - 1);
        t0 = kbench_now();
        pq_rotate();
        rot_full[r] = kbench_now() - t0;
        // Accessed now that they are old: every page moves to the newest bucket (where the next
        // run's first harvest finds them).
        (void)timed_loop(&e, USER_RLOOP, USER_RLOOP_END, a, AGING_PAGES);
        t0 = kbench_now();
        (void)reclaim_harvest();
        moved[r] = kbench_now() - t0;
    }
    bench_unmap(&e, a, AGING_PAGES);
    kobject_release(vmo_object(v));
    env_end(&e);
    kbench_report("aging_harvest_accessed_newest", AGING_PAGES, hot, KBENCH_RUNS);
    kbench_report_value("aging_harvest_accessed_newest", "pages_seen_accessed", accessed);
    kbench_report("aging_harvest_accessed_moved", AGING_PAGES, moved, KBENCH_RUNS);
    kbench_report("aging_harvest_idle", AGING_PAGES, cold, KBENCH_RUNS);
    kbench_report("aging_rotate_empty", 1, rot_empty, KBENCH_RUNS);
    kbench_report("aging_rotate_per_page", AGING_PAGES, rot_full, KBENCH_RUNS);
}
