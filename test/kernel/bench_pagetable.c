// Page-table benchmarks (scripts/bench; figures in docs/page-tables.md):
//   pt_map_unmap_1m   ns per page to map and to unmap 1 Mi pages (4 GiB of an active user address
//                     space, every page onto one of four physical pages);
//   pt_next_sparse    one next() walk over the 128 TiB lower half holding 1,000 scattered pages,
//                     beside a page-by-page walk of 64 MiB of the same tree, projected to 128 TiB;
//   pt_protect_64m    ns per page to change the permissions of 64 MiB (16 Ki pages).
// Pure: also built natively as bench-host-pagetable (over simulated RAM).
#include "kernel/kbench.h"
#include "kernel/printf.h"
#include "test/kernel/pt_test_util.h"

#define R ARCH_MMU_FLAG_READ
#define W ARCH_MMU_FLAG_WRITE
#define U ARCH_MMU_FLAG_USER

#define BENCH_RUNS 3

static bool bench_setup(struct arch_aspace *as) {
    pt_test_need_kernel_aspace();
    return arch_aspace_create(as) == ZX_OK;
}

#define MAP_PAGES (1u << 20)
#define MAP_CHUNK 4096u
static paddr_t chunk_pas[MAP_CHUNK];

KBENCH(pt_map_unmap_1m) {
    struct arch_aspace as;
    vm_page_t *pages[4] = {0};
    if (!bench_setup(&as))
        return;
    for (size_t i = 0; i < countof(pages); i++) {
        pages[i] = pmm_alloc_page(PAGE_STATE_WIRED);
        if (!pages[i])
            goto out;
    }
    for (size_t i = 0; i < MAP_CHUNK; i++)
        chunk_pas[i] = vm_page_paddr(pages[i % countof(pages)]);
    arch_aspace_activate(&as);
    const vaddr_t base = 4ull << 30;
    uint64_t map_s[BENCH_RUNS], unmap_s[BENCH_RUNS], contig_s[BENCH_RUNS];
    for (int r = 0; r < BENCH_RUNS; r++) {
        uint64_t t0 = kbench_now();
        for (size_t c = 0; c < MAP_PAGES / MAP_CHUNK; c++) {
            zx_status_t st = arch_aspace_map_pages(&as, base + c * MAP_CHUNK * PAGE_SIZE,
                                                   chunk_pas, MAP_CHUNK, R | W | U);
            ASSERT(st == ZX_OK);
        }
        map_s[r] = kbench_now() - t0;
        t0 = kbench_now();
        ASSERT(arch_aspace_unmap(&as, base, MAP_PAGES) == ZX_OK);
        unmap_s[r] = kbench_now() - t0;
        // The same with one call for a physically contiguous run (no array to read).
        t0 = kbench_now();
        ASSERT(arch_aspace_map_contiguous(&as, base, chunk_pas[0], MAP_PAGES, R | W | U) ==
               ZX_OK);
        contig_s[r] = kbench_now() - t0;
        ASSERT(arch_aspace_unmap(&as, base, MAP_PAGES) == ZX_OK);
    }
    arch_aspace_activate(NULL);
    kbench_report("pt_map_4k_x1m", MAP_PAGES, map_s, BENCH_RUNS);
    kbench_report("pt_unmap_4k_x1m", MAP_PAGES, unmap_s, BENCH_RUNS);
    kbench_report("pt_map_contiguous_4k_x1m", MAP_PAGES, contig_s, BENCH_RUNS);
out:
    for (size_t i = 0; i < countof(pages); i++) {
        if (pages[i])
            pmm_free_page(pages[i]);
    }
    arch_aspace_destroy(&as);
}

#define SPARSE_MAPPINGS 1000
#define SPARSE_SPAN (128ull << 40)     // the lower half
#define PAGE_WALK_SPAN (64ull << 20)   // the page-by-page walk's span

KBENCH(pt_next_sparse) {
    struct arch_aspace as;
    if (!bench_setup(&as))
        return;
    uint64_t seed = 0xfeed;
    size_t mapped = 0;
    while (mapped < SPARSE_MAPPINGS) {
        vaddr_t va = (pt_test_rand(&seed) % (SPARSE_SPAN / PAGE_SIZE)) * PAGE_SIZE;
        zx_status_t st = arch_aspace_map_contiguous(&as, va, 0x1000, 1, R | U);
        if (st == ZX_ERR_NO_MEMORY)
            break;
        mapped += st == ZX_OK;
    }
    uint64_t sparse_s[BENCH_RUNS], page_s[BENCH_RUNS];
    size_t found = 0, present = 0;
    struct vmiter it;
    for (int r = 0; r < BENCH_RUNS; r++) {
        found = 0;
        uint64_t t0 = kbench_now();
        for (vmiter_init(&it, as.root, 0); !vmiter_done(&it) && vmiter_va(&it) < VA_LOW_END;
             vmiter_next(&it))
            found += vmiter_present(&it);
        sparse_s[r] = kbench_now() - t0;
        present = 0;
        t0 = kbench_now();
        for (vmiter_init(&it, as.root, 0); vmiter_va(&it) < PAGE_WALK_SPAN;
             vmiter_advance(&it, PAGE_SIZE))
            present += vmiter_present(&it);
        page_s[r] = kbench_now() - t0;
    }
    kbench_report("pt_next_sparse_128t_1000", 1, sparse_s, BENCH_RUNS);
    kbench_report("pt_walk_page_by_page_64m", PAGE_WALK_SPAN / PAGE_SIZE, page_s, BENCH_RUNS);
    // The fastest run (under icount every run is the same).
    uint64_t sparse = sparse_s[0], page = page_s[0];
    for (int r = 1; r < BENCH_RUNS; r++) {
        sparse = MIN(sparse, sparse_s[r]);
        page = MIN(page, page_s[r]);
    }
    uint64_t projected = page * (SPARSE_SPAN / PAGE_WALK_SPAN);
    kbench_report_value("pt_next_sparse_128t_1000", "mappings_found", found);
    kbench_report_value("pt_next_sparse_128t_1000", "ns_per_mapping", sparse / (found ? found : 1));
    kbench_report_value("pt_walk_page_by_page_64m", "projected_128t_ns", projected);
    kbench_report_value("pt_next_sparse_128t_1000", "page_by_page_over_next_ratio",
                        projected / (sparse ? sparse : 1));
    (void)present;
    arch_aspace_destroy(&as);
}

#define PROTECT_PAGES ((64u << 20) / PAGE_SIZE)

KBENCH(pt_protect_64m) {
    struct arch_aspace as;
    if (!bench_setup(&as))
        return;
    const vaddr_t base = 1ull << 30;
    if (arch_aspace_map_contiguous(&as, base, 0x100000, PROTECT_PAGES, R | W | U) != ZX_OK) {
        arch_aspace_destroy(&as);
        return;
    }
    arch_aspace_activate(&as);
    uint64_t s[2 * BENCH_RUNS];
    for (int r = 0; r < 2 * BENCH_RUNS; r++) {
        uint64_t t0 = kbench_now();
        zx_status_t st = arch_aspace_protect(&as, base, PROTECT_PAGES, r % 2 ? R | W | U : R | U);
        s[r] = kbench_now() - t0;
        ASSERT(st == ZX_OK);
    }
    arch_aspace_activate(NULL);
    kbench_report("pt_protect_64m", PROTECT_PAGES, s, 2 * BENCH_RUNS);
    arch_aspace_destroy(&as);
}
