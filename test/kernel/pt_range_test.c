// Range operations through arch_aspace: map, unmap and protect across table boundaries, argument
// checks, freeing of empty tables, TLB batching, out-of-memory at every allocation point, splits
// of straddling large pages, and a random sequence checked against a model after every step.
// Pure: runs at boot on real memory and on the host over simulated RAM. The user address spaces
// here are never entered from user mode and the physical addresses they map are never touched.
#include "kernel/ktest.h"
#include "kernel/printf.h"
#include "kernel/string.h"
#include "test/kernel/pt_test_util.h"

#define R ARCH_MMU_FLAG_READ
#define W ARCH_MMU_FLAG_WRITE
#define X ARCH_MMU_FLAG_EXECUTE
#define U ARCH_MMU_FLAG_USER

#define GiB (1ull << 30)
#define P512G (1ull << 39)

// Digest of the lower half only (the upper half is the kernel's, shared).
static uint64_t lower_digest(struct arch_aspace *as) {
    return pt_test_digest(as->root, true);
}

// The page at `va` is mapped to `pa` with `flags`.
static bool mapped_as(struct arch_aspace *as, vaddr_t va, paddr_t pa, uint32_t flags) {
    paddr_t got_pa = 0;
    uint32_t got_flags = 0;
    if (arch_aspace_query(as, va, &got_pa, &got_flags) != ZX_OK)
        return false;
    if (!pt_nx_enabled)
        flags |= X;
    return got_pa == pa && got_flags == flags;
}

static bool unmapped(struct arch_aspace *as, vaddr_t va) {
    paddr_t pa;
    return arch_aspace_query(as, va, &pa, NULL) == ZX_ERR_NOT_FOUND;
}

KTEST(pt_range, map_unmap_protect_across_table_boundaries) {
    pt_test_need_kernel_aspace();
    size_t free0 = pmm_count(PAGE_STATE_FREE);
    struct arch_aspace as;
    REQUIRE_OK(arch_aspace_create(&as));
    EXPECT_EQ(arch_aspace_table_pages(&as), 1);
    // 1200 pages around 512 GiB: two PML4 entries, two PDPTs, two PDs, four PTs.
    vaddr_t va = P512G - 600 * PAGE_SIZE;
    const paddr_t pa = 0x10000000;
    REQUIRE_OK(arch_aspace_map_contiguous(&as, va, pa, 1200, R | W | U));
    EXPECT_EQ(arch_aspace_table_pages(&as), 1 + 2 + 2 + 4);
    for (size_t i = 0; i < 1200; i++) {
        if (!EXPECT_TRUE(mapped_as(&as, va + i * PAGE_SIZE, pa + i * PAGE_SIZE, R | W | U)))
            break;
    }
    EXPECT_TRUE(unmapped(&as, va - PAGE_SIZE));
    EXPECT_TRUE(unmapped(&as, va + 1200 * PAGE_SIZE));
    EXPECT_TRUE(arch_aspace_check(&as));

    // A hole across the boundary.
    REQUIRE_OK(arch_aspace_unmap(&as, va + 590 * PAGE_SIZE, 20));
    EXPECT_TRUE(mapped_as(&as, va + 589 * PAGE_SIZE, pa + 589 * PAGE_SIZE, R | W | U));
    for (size_t i = 590; i < 610; i++)
        EXPECT_TRUE(unmapped(&as, va + i * PAGE_SIZE));
    EXPECT_TRUE(mapped_as(&as, va + 610 * PAGE_SIZE, pa + 610 * PAGE_SIZE, R | W | U));

    // Protect over the hole: holes stay holes.
    REQUIRE_OK(arch_aspace_protect(&as, va + 100 * PAGE_SIZE, 1000, R | X));
    EXPECT_TRUE(mapped_as(&as, va + 99 * PAGE_SIZE, pa + 99 * PAGE_SIZE, R | W | U));
    EXPECT_TRUE(mapped_as(&as, va + 100 * PAGE_SIZE, pa + 100 * PAGE_SIZE, R | X));
    EXPECT_TRUE(unmapped(&as, va + 600 * PAGE_SIZE));
    EXPECT_TRUE(mapped_as(&as, va + 1099 * PAGE_SIZE, pa + 1099 * PAGE_SIZE, R | X));
    EXPECT_TRUE(mapped_as(&as, va + 1100 * PAGE_SIZE, pa + 1100 * PAGE_SIZE, R | W | U));
    EXPECT_TRUE(arch_aspace_check(&as));

    // Unmapping everything frees every table but the root.
    REQUIRE_OK(arch_aspace_unmap(&as, va, 1200));
    EXPECT_EQ(arch_aspace_table_pages(&as), 1);
    EXPECT_TRUE(arch_aspace_check(&as));
    arch_aspace_destroy(&as);
    EXPECT_EQ(pmm_count(PAGE_STATE_FREE), free0);
}

KTEST(pt_range, map_pages_takes_each_address_from_the_array) {
    pt_test_need_kernel_aspace();
    struct arch_aspace as;
    REQUIRE_OK(arch_aspace_create(&as));
    enum { N = 100 };
    paddr_t pas[N];
    uint64_t seed = 5;
    for (size_t i = 0; i < N; i++)
        pas[i] = (pt_test_rand(&seed) & 0xfffffff000ull) | 0x1000;
    vaddr_t va = 0x200000 - 50 * PAGE_SIZE;
    REQUIRE_OK(arch_aspace_map_pages(&as, va, pas, N, R | U));
    for (size_t i = 0; i < N; i++)
        EXPECT_TRUE(mapped_as(&as, va + i * PAGE_SIZE, pas[i], R | U));
    EXPECT_TRUE(arch_aspace_check(&as));
    arch_aspace_destroy(&as);
}

// Fault-around and MAP_RANGE: holes get the array's page, mapped pages stay, counts stay exact.
KTEST(pt_range, map_absent_fills_only_holes) {
    pt_test_need_kernel_aspace();
    size_t free0 = pmm_count(PAGE_STATE_FREE);
    struct arch_aspace as;
    REQUIRE_OK(arch_aspace_create(&as));
    enum { N = 700 };  // across a page-table boundary
    static paddr_t pas[N];
    for (size_t i = 0; i < N; i++)
        pas[i] = 0x40000000 + i * PAGE_SIZE;
    vaddr_t va = 0x200000 - 300 * PAGE_SIZE;
    // Every seventh page is mapped already, elsewhere and read-write.
    for (size_t i = 0; i < N; i += 7)
        REQUIRE_OK(arch_aspace_map_contiguous(&as, va + i * PAGE_SIZE, 0x1000, 1, R | W | U));
    size_t mapped = 0;
    EXPECT_OK(arch_aspace_map_absent(&as, va, pas, N, R | U, &mapped));
    EXPECT_EQ(mapped, N - (N + 6) / 7);
    size_t wrong = 0;
    for (size_t i = 0; i < N; i++)
        wrong += i % 7 == 0 ? !mapped_as(&as, va + i * PAGE_SIZE, 0x1000, R | W | U)
                            : !mapped_as(&as, va + i * PAGE_SIZE, pas[i], R | U);
    EXPECT_EQ(wrong, 0);
    EXPECT_TRUE(arch_aspace_check(&as));
    // Again: nothing left to fill.
    EXPECT_OK(arch_aspace_map_absent(&as, va, pas, N, R | U, &mapped));
    EXPECT_EQ(mapped, 0);
    // Unaligned addresses and kernel addresses are refused.
    pas[3] |= 1;
    EXPECT_STATUS(arch_aspace_map_absent(&as, va, pas, N, R | U, &mapped), ZX_ERR_INVALID_ARGS);
    pas[3] &= ~(paddr_t)1;
    EXPECT_STATUS(arch_aspace_map_absent(&as, 0xffff800000000000ull, pas, 1, R | U, &mapped),
                  ZX_ERR_INVALID_ARGS);
    EXPECT_TRUE(arch_aspace_check(&as));
    arch_aspace_destroy(&as);
    EXPECT_EQ(pmm_count(PAGE_STATE_FREE), free0);
}

KTEST(pt_range, remap_page_replaces_one_mapping) {
    pt_test_need_kernel_aspace();
    size_t free0 = pmm_count(PAGE_STATE_FREE);
    struct arch_aspace as;
    REQUIRE_OK(arch_aspace_create(&as));
    const vaddr_t va = 0x7000000;
    REQUIRE_OK(arch_aspace_map_contiguous(&as, va, 0x5000, 3, R | U));
    EXPECT_STATUS(arch_aspace_map_contiguous(&as, va + PAGE_SIZE, 0x9000, 1, R | W | U),
                  ZX_ERR_ALREADY_EXISTS);
    arch_aspace_activate(&as);
    uint64_t invlpg0 = tlb_stats.invlpg;
    zx_status_t st = arch_aspace_remap_page(&as, va + PAGE_SIZE, 0x9000, R | W | U);
    uint64_t invlpg1 = tlb_stats.invlpg;
    arch_aspace_activate(NULL);
    EXPECT_OK(st);
    EXPECT_EQ(invlpg1 - invlpg0, 1);  // the old translation
    EXPECT_TRUE(mapped_as(&as, va, 0x5000, R | U));
    EXPECT_TRUE(mapped_as(&as, va + PAGE_SIZE, 0x9000, R | W | U));
    EXPECT_TRUE(mapped_as(&as, va + 2 * PAGE_SIZE, 0x7000, R | U));
    // Where nothing was mapped, it maps (allocating the tables; out of memory changes nothing).
    uint64_t before = lower_digest(&as);
    pmm_fail_after(1);
    EXPECT_STATUS(arch_aspace_remap_page(&as, 5 * GiB, 0x9000, R), ZX_ERR_NO_MEMORY);
    pmm_fail_disarm();
    EXPECT_EQ(lower_digest(&as), before);
    EXPECT_OK(arch_aspace_remap_page(&as, 5 * GiB, 0x9000, R));
    EXPECT_TRUE(mapped_as(&as, 5 * GiB, 0x9000, R));
    EXPECT_STATUS(arch_aspace_remap_page(&as, 5 * GiB + 1, 0x9000, R), ZX_ERR_INVALID_ARGS);
    EXPECT_STATUS(arch_aspace_remap_page(&as, 5 * GiB, 0x9000, W), ZX_ERR_INVALID_ARGS);
    EXPECT_STATUS(arch_aspace_remap_page(&as, VA_HIGH_START, 0x9000, R), ZX_ERR_INVALID_ARGS);
    EXPECT_TRUE(arch_aspace_check(&as));
    arch_aspace_destroy(&as);
    EXPECT_EQ(pmm_count(PAGE_STATE_FREE), free0);
}

KTEST(pt_range, arguments_are_checked_and_errors_change_nothing) {
    pt_test_need_kernel_aspace();
    size_t free0 = pmm_count(PAGE_STATE_FREE);
    struct arch_aspace as;
    REQUIRE_OK(arch_aspace_create(&as));
    struct arch_aspace *k = &arch_kernel_aspace;
    const vaddr_t va = 0x10000000;
    paddr_t bad_pas[2] = {0x1000, 0x2001};
    EXPECT_STATUS(arch_aspace_map_contiguous(&as, va + 1, 0x1000, 1, R), ZX_ERR_INVALID_ARGS);
    EXPECT_STATUS(arch_aspace_map_contiguous(&as, va, 0x1001, 1, R), ZX_ERR_INVALID_ARGS);
    EXPECT_STATUS(arch_aspace_map_contiguous(&as, va, 0x1000, 1, 0), ZX_ERR_INVALID_ARGS);
    EXPECT_STATUS(arch_aspace_map_contiguous(&as, va, 0x1000, 1, W), ZX_ERR_INVALID_ARGS);
    EXPECT_STATUS(arch_aspace_map_contiguous(&as, va, 0x1000, 1, R | (1u << 7)),
                  ZX_ERR_INVALID_ARGS);
    EXPECT_STATUS(arch_aspace_map_contiguous(&as, VA_HIGH_START, 0x1000, 1, R),
                  ZX_ERR_INVALID_ARGS);
    EXPECT_STATUS(arch_aspace_map_contiguous(&as, VA_LOW_END - 2 * PAGE_SIZE, 0x1000, 3, R),
                  ZX_ERR_INVALID_ARGS);
    EXPECT_STATUS(arch_aspace_map_contiguous(&as, va, 1ull << 52, 1, R), ZX_ERR_INVALID_ARGS);
    EXPECT_STATUS(arch_aspace_map_pages(&as, va, bad_pas, 2, R), ZX_ERR_INVALID_ARGS);
    EXPECT_STATUS(arch_aspace_map_contiguous(k, va, 0x1000, 1, R), ZX_ERR_INVALID_ARGS);
    EXPECT_STATUS(arch_aspace_map_contiguous(k, 0xffffff0000000000ull, 0x1000, 1, R | U),
                  ZX_ERR_INVALID_ARGS);
    EXPECT_STATUS(arch_aspace_unmap(&as, va + 5, 1), ZX_ERR_INVALID_ARGS);
    EXPECT_STATUS(arch_aspace_unmap(k, va, 1), ZX_ERR_INVALID_ARGS);
    EXPECT_STATUS(arch_aspace_protect(&as, va, 1, X), ZX_ERR_INVALID_ARGS);
    EXPECT_STATUS(arch_aspace_protect(&as, VA_LOW_END - PAGE_SIZE, 2, R), ZX_ERR_INVALID_ARGS);
    paddr_t pa;
    EXPECT_STATUS(arch_aspace_query(&as, VA_HIGH_START, &pa, NULL), ZX_ERR_INVALID_ARGS);
    EXPECT_STATUS(arch_aspace_query(&as, va, &pa, NULL), ZX_ERR_NOT_FOUND);
    EXPECT_OK(arch_aspace_map_contiguous(&as, va, 0x1000, 0, R));
    EXPECT_OK(arch_aspace_unmap(&as, va, 0));
    EXPECT_EQ(arch_aspace_table_pages(&as), 1);
    // The last pages of the lower half are fine.
    EXPECT_OK(arch_aspace_map_contiguous(&as, VA_LOW_END - 2 * PAGE_SIZE, 0x1000, 2, R));
    EXPECT_OK(arch_aspace_unmap(&as, VA_LOW_END - 2 * PAGE_SIZE, 2));

    // Mapping over a mapped page fails and rolls back what it had mapped, tables included.
    REQUIRE_OK(arch_aspace_map_contiguous(&as, va + 700 * PAGE_SIZE, 0x9000, 1, R));
    uint64_t before = lower_digest(&as);
    EXPECT_STATUS(arch_aspace_map_contiguous(&as, va - 1000 * PAGE_SIZE, 0x1000, 2000, R | W),
                  ZX_ERR_ALREADY_EXISTS);
    EXPECT_EQ(lower_digest(&as), before);
    EXPECT_TRUE(unmapped(&as, va));
    EXPECT_TRUE(arch_aspace_check(&as));
    // Also when the mapped thing is a large page.
    struct vmiter it;
    vmiter_init(&it, as.root, 4 * GiB);
    REQUIRE_OK(vmiter_try_map_large(&it, 0x200000, PTE_P | PTE_U, PAGE_SIZE_2M));
    before = lower_digest(&as);
    EXPECT_STATUS(arch_aspace_map_contiguous(&as, 4 * GiB - 3 * PAGE_SIZE, 0x1000, 5, R),
                  ZX_ERR_ALREADY_EXISTS);
    EXPECT_EQ(lower_digest(&as), before);
    arch_aspace_destroy(&as);
    EXPECT_EQ(pmm_count(PAGE_STATE_FREE), free0);
}

KTEST(pt_range, unmap_frees_empty_tables_and_skips_holes) {
    pt_test_need_kernel_aspace();
    struct arch_aspace as;
    REQUIRE_OK(arch_aspace_create(&as));
    static const vaddr_t vas[] = {0x1000, GiB + 0x5000, 513 * GiB, 100ull << 40, VA_LOW_END - 0x1000};
    for (size_t i = 0; i < countof(vas); i++)
        REQUIRE_OK(arch_aspace_map_contiguous(&as, vas[i], 0x1000, 1, R));
    EXPECT_EQ(arch_aspace_table_pages(&as), 1 + 3 + 2 + 3 + 3 + 3);
    // The whole lower half in one call: the empty PML4 entries are skipped 512 GiB at a time.
    REQUIRE_OK(arch_aspace_unmap(&as, 0, VA_LOW_END / PAGE_SIZE));
    EXPECT_EQ(arch_aspace_table_pages(&as), 1);
    for (unsigned i = 0; i < PT_ENTRIES / 2; i++)
        EXPECT_EQ(as.root[i], 0);
    EXPECT_TRUE(arch_aspace_check(&as));
    arch_aspace_destroy(&as);
}

KTEST(pt_range, tlb_work_is_batched_per_operation) {
    pt_test_need_kernel_aspace();
    struct arch_aspace as;
    REQUIRE_OK(arch_aspace_create(&as));
    const vaddr_t va = 0x400000;
    REQUIRE_OK(arch_aspace_map_contiguous(&as, va, 0x100000, 200, R | W | U));
    struct tlb_stats s0 = tlb_stats;
    // Not active: nothing can be cached for its lower half.
    REQUIRE_OK(arch_aspace_unmap(&as, va, 10));
    EXPECT_EQ(tlb_stats.invlpg, s0.invlpg);
    EXPECT_EQ(tlb_stats.flush, s0.flush);

    arch_aspace_activate(&as);
    EXPECT_TRUE(arch_aspace_is_active(&as));
    s0 = tlb_stats;
    zx_status_t st1 = arch_aspace_unmap(&as, va + 10 * PAGE_SIZE, 10);
    struct tlb_stats s1 = tlb_stats;
    zx_status_t st2 = arch_aspace_protect(&as, va + 20 * PAGE_SIZE, 5, R | U);
    zx_status_t st3 = arch_aspace_protect(&as, va + 20 * PAGE_SIZE, 5, R | U);  // no change
    struct tlb_stats s2 = tlb_stats;
    zx_status_t st4 = arch_aspace_map_contiguous(&as, va, 0x200000, 10, R);  // empty entries
    struct tlb_stats s3 = tlb_stats;
    zx_status_t st5 = arch_aspace_unmap(&as, va + 25 * PAGE_SIZE, 175);  // past the threshold
    struct tlb_stats s4 = tlb_stats;
    arch_aspace_activate(NULL);
    EXPECT_OK(st1);
    EXPECT_OK(st2);
    EXPECT_OK(st3);
    EXPECT_OK(st4);
    EXPECT_OK(st5);
    EXPECT_EQ(s1.invlpg - s0.invlpg, 10);
    EXPECT_EQ(s1.flush - s0.flush, 0);
    EXPECT_EQ(s2.invlpg - s1.invlpg, 5);
    EXPECT_EQ(s3.invlpg - s2.invlpg, 0);
    EXPECT_EQ(s4.invlpg - s3.invlpg, 0);
    EXPECT_EQ(s4.flush - s3.flush, 1);
    EXPECT_EQ(s4.flush_global - s3.flush_global, 0);

    // Kernel (upper-half, global) mappings are invalidated whatever address space is active.
    vm_page_t *page = pmm_alloc_page(PAGE_STATE_WIRED);
    REQUIRE_TRUE(page != NULL);
    const vaddr_t kva = 0xffffff0000000000ull;
    struct arch_aspace *k = &arch_kernel_aspace;
    paddr_t pas[40];
    for (size_t i = 0; i < countof(pas); i++)
        pas[i] = vm_page_paddr(page);
    size_t ktables = arch_aspace_table_pages(k);
    EXPECT_OK(arch_aspace_map_pages(k, kva, pas, countof(pas), R | W));
    s0 = tlb_stats;
    EXPECT_OK(arch_aspace_unmap(k, kva, 3));
    s1 = tlb_stats;
    EXPECT_OK(arch_aspace_unmap(k, kva, countof(pas)));
    s2 = tlb_stats;
    EXPECT_EQ(s1.invlpg - s0.invlpg, 3);
    EXPECT_EQ(s2.flush_global - s1.flush_global, 1);
    EXPECT_EQ(arch_aspace_table_pages(k), ktables);  // the PD and PT went, the PDPT stays
    pmm_free_page(page);
    arch_aspace_destroy(&as);
}

// --- Out of memory ---------------------------------------------------------------------------

// pt_test_fail_every_allocation over the lower half of `as`.
static int fail_every_allocation(struct arch_aspace *as, zx_status_t (*op)(void *as)) {
    return pt_test_fail_every_allocation(as->root, true, op, as);
}

#define OOM_VA (P512G - 700 * PAGE_SIZE)

static zx_status_t map_1500(void *as) {
    return arch_aspace_map_contiguous(as, OOM_VA, 0x1000000, 1500, R | W | U);
}

KTEST(pt_range, map_out_of_memory_at_every_allocation) {
    pt_test_need_kernel_aspace();
    size_t free0 = pmm_count(PAGE_STATE_FREE);
    struct arch_aspace as;
    REQUIRE_OK(arch_aspace_create(&as));
    // A page further on, so that part of the path exists already.
    REQUIRE_OK(arch_aspace_map_contiguous(&as, P512G + 2000 * PAGE_SIZE, 0x5000, 1, R));
    size_t tables0 = arch_aspace_table_pages(&as);
    int failures = fail_every_allocation(&as, map_1500);
    // One failure per table the successful run created.
    EXPECT_EQ((size_t)failures, arch_aspace_table_pages(&as) - tables0);
    EXPECT_EQ(failures, 1 + 1 + 2 + 2);  // PDPT and PD below 512 GiB, two PTs below, two above
    for (size_t i = 0; i < 1500; i += 7)
        EXPECT_TRUE(mapped_as(&as, OOM_VA + i * PAGE_SIZE, 0x1000000 + i * PAGE_SIZE, R | W | U));
    arch_aspace_destroy(&as);
    EXPECT_EQ(pmm_count(PAGE_STATE_FREE), free0);
}

// A 1 GiB page at 1 GiB and a 2 MiB page at 2 GiB + 2 MiB; the range below cuts both.
#define SPLIT_START (GiB + 3 * PAGE_SIZE)
#define SPLIT_END (2 * GiB + PAGE_SIZE_2M + 5 * PAGE_SIZE)
#define SPLIT_PAGES ((SPLIT_END - SPLIT_START) / PAGE_SIZE)

static void map_large_pages(struct arch_aspace *as) {
    struct vmiter it;
    vmiter_init(&it, as->root, GiB);
    vmiter_map_large(&it, 0x40000000, PTE_P | PTE_W | PTE_U | PTE_NX, PAGE_SIZE_1G);
    vmiter_find(&it, 2 * GiB + PAGE_SIZE_2M);
    vmiter_map_large(&it, 0x200000, PTE_P | PTE_W | PTE_U | PTE_NX, PAGE_SIZE_2M);
}

static zx_status_t protect_split(void *as) {
    return arch_aspace_protect(as, SPLIT_START, SPLIT_PAGES, R | U);
}

static zx_status_t unmap_split(void *as) {
    return arch_aspace_unmap(as, SPLIT_START, SPLIT_PAGES);
}

KTEST(pt_range, straddling_large_pages_are_split_first) {
    pt_test_need_kernel_aspace();
    size_t free0 = pmm_count(PAGE_STATE_FREE);
    struct arch_aspace as;
    REQUIRE_OK(arch_aspace_create(&as));
    map_large_pages(&as);
    // Split 1 GiB -> 2 MiB, the first 2 MiB -> 4 KiB, and the 2 MiB page at the end.
    EXPECT_EQ(fail_every_allocation(&as, protect_split), 3);
    EXPECT_TRUE(mapped_as(&as, SPLIT_START - PAGE_SIZE, 0x40002000, R | W | U));
    EXPECT_TRUE(mapped_as(&as, SPLIT_START, 0x40003000, R | U));
    EXPECT_TRUE(mapped_as(&as, GiB + 5 * PAGE_SIZE_2M + 0x7000, 0x40a07000, R | U));
    EXPECT_TRUE(mapped_as(&as, SPLIT_END - PAGE_SIZE, 0x204000, R | U));
    EXPECT_TRUE(mapped_as(&as, SPLIT_END, 0x205000, R | W | U));
    struct vmiter it;
    vmiter_init(&it, as.root, GiB + 5 * PAGE_SIZE_2M);
    EXPECT_TRUE(vmiter_large(&it));  // the inner 2 MiB pieces stay large
    arch_aspace_destroy(&as);

    REQUIRE_OK(arch_aspace_create(&as));
    map_large_pages(&as);
    EXPECT_EQ(fail_every_allocation(&as, unmap_split), 3);
    EXPECT_TRUE(mapped_as(&as, GiB, 0x40000000, R | W | U));
    EXPECT_TRUE(mapped_as(&as, SPLIT_START - PAGE_SIZE, 0x40002000, R | W | U));
    EXPECT_TRUE(unmapped(&as, SPLIT_START));
    EXPECT_TRUE(unmapped(&as, 2 * GiB));
    EXPECT_TRUE(unmapped(&as, SPLIT_END - PAGE_SIZE));
    EXPECT_TRUE(mapped_as(&as, SPLIT_END, 0x205000, R | W | U));
    EXPECT_TRUE(mapped_as(&as, 2 * GiB + 2 * PAGE_SIZE_2M - PAGE_SIZE, 0x3ff000, R | W | U));
    EXPECT_TRUE(arch_aspace_check(&as));
    arch_aspace_destroy(&as);
    EXPECT_EQ(pmm_count(PAGE_STATE_FREE), free0);
}

KTEST(pt_range, destroy_returns_every_page) {
    pt_test_need_kernel_aspace();
    size_t free0 = pmm_count(PAGE_STATE_FREE);
    uint64_t seed = 11;
    for (int round = 0; round < 8; round++) {
        struct arch_aspace as;
        REQUIRE_OK(arch_aspace_create(&as));
        for (int i = 0; i < 40; i++) {
            vaddr_t va = pt_test_rand(&seed) & 0x00007ffffff00000ull;
            EXPECT_OK(arch_aspace_map_contiguous(&as, va, 0x1000, 1 + (size_t)(i % 5) * 300,
                                                 R | U));
        }
        EXPECT_TRUE(arch_aspace_check(&as));
        arch_aspace_destroy(&as);
        EXPECT_EQ(pmm_count(PAGE_STATE_FREE), free0);
    }
}

// --- A random sequence against a model -------------------------------------------------------

struct window {
    vaddr_t base;
    size_t pages;
};
static const struct window windows[] = {
    {GiB - 1024 * PAGE_SIZE, 2048},         // across a 1 GiB boundary (PD and PDPT entries)
    {P512G - 1024 * PAGE_SIZE, 2048},       // across a 512 GiB boundary (PML4 entries)
    {VA_LOW_END - 2048 * PAGE_SIZE, 2048},  // the top of the lower half
    {64ull << 20, 2048},                    // 2 MiB aligned: room for large pages
};
#define NWIN countof(windows)
#define WIN_PAGES 2048
#define LARGE_WIN 3

struct slot {
    paddr_t pa;  // 0: unmapped
    uint32_t flags;
};
static struct slot model[NWIN][WIN_PAGES];

static uint32_t random_flags(uint64_t *seed) {
    uint64_t r = pt_test_rand(seed);
    return R | (r & 1 ? W : 0) | (r & 2 ? X : 0) | (r & 4 ? U : 0);
}

static pte_t flags_pte(uint32_t flags) {
    return PTE_P | (flags & W ? PTE_W : 0) | (flags & U ? PTE_U : 0) | (flags & X ? 0 : PTE_NX);
}

static bool model_any_mapped(size_t w, size_t first, size_t n) {
    for (size_t i = first; i < first + n; i++) {
        if (model[w][i].pa)
            return true;
    }
    return false;
}

// Walks the whole lower half with next() and compares every mapped page with the model.
static void check_against_model(struct arch_aspace *as, int step) {
    size_t expected = 0;
    for (size_t w = 0; w < NWIN; w++)
        for (size_t i = 0; i < WIN_PAGES; i++)
            expected += model[w][i].pa != 0;
    size_t seen = 0;
    struct vmiter it;
    for (vmiter_init(&it, as->root, 0); !vmiter_done(&it) && vmiter_va(&it) < VA_LOW_END;
         vmiter_next(&it)) {
        if (!vmiter_present(&it))
            continue;
        uint64_t size = vmiter_range_size(&it);
        vaddr_t base = vmiter_va(&it) & ~(size - 1);
        // The flags as the VM sees them (arch_aspace_query's translation of the entry).
        paddr_t pa = 0;
        uint32_t flags = 0;
        REQUIRE_OK(arch_aspace_query(as, base, &pa, &flags));
        for (uint64_t off = 0; off < size; off += PAGE_SIZE) {
            vaddr_t va = base + off;
            const struct slot *s = NULL;
            for (size_t w = 0; w < NWIN; w++) {
                if (va - windows[w].base < windows[w].pages * PAGE_SIZE)
                    s = &model[w][(va - windows[w].base) / PAGE_SIZE];
            }
            uint32_t want = s ? s->flags : 0;
            if (!pt_nx_enabled)
                want |= X;  // without NX every page executes
            if (!s || s->pa != pa + off || want != flags) {
                kprintf("    step %d: va %#llx maps %#llx flags %#x; model: %#llx flags %#x\n",
                        step, (unsigned long long)va, (unsigned long long)(pa + off), flags,
                        (unsigned long long)(s ? s->pa : 0), want);
                EXPECT_TRUE(false);
                return;
            }
            seen++;
        }
    }
    EXPECT_EQ(seen, expected);
    EXPECT_TRUE(arch_aspace_check(as));
}

KTEST(pt_range, random_operations_match_a_model) {
#if defined(JASPER_HOST)
    const int steps = 3000;
#else
    const int steps = 300;
#endif
    pt_test_need_kernel_aspace();
    size_t free0 = pmm_count(PAGE_STATE_FREE);
    struct arch_aspace as;
    REQUIRE_OK(arch_aspace_create(&as));
    memset(model, 0, sizeof(model));
    uint64_t seed = 0x5eed;
    static paddr_t pas[64];
    for (int step = 0; step < steps && !ktest_failed(); step++) {
        uint64_t r = pt_test_rand(&seed);
        size_t w = (size_t)(r >> 8) % NWIN;
        size_t first = (size_t)(pt_test_rand(&seed) % WIN_PAGES);
        size_t max = WIN_PAGES - first;
        size_t n = 1 + (size_t)(pt_test_rand(&seed) % MIN(max, (size_t)(r & 1 ? 400 : 40)));
        vaddr_t va = windows[w].base + first * PAGE_SIZE;
        uint32_t flags = random_flags(&seed);
        unsigned op = (unsigned)(r % 100);
        // Now and then the first or second page allocation of the operation fails.
        bool inject = pt_test_rand(&seed) % 5 == 0;
        if (inject)
            pmm_fail_after(1 + (size_t)(pt_test_rand(&seed) % 2));
        zx_status_t st = ZX_OK;
        if (op < 30 || (op < 40 && n > countof(pas))) {
            paddr_t pa = ((pt_test_rand(&seed) % 0xfffff) + 1) * PAGE_SIZE;
            st = arch_aspace_map_contiguous(&as, va, pa, n, flags);
            if (st == ZX_OK) {
                EXPECT_FALSE(model_any_mapped(w, first, n));
                for (size_t i = 0; i < n; i++)
                    model[w][first + i] = (struct slot){pa + i * PAGE_SIZE, flags};
            } else if (st == ZX_ERR_ALREADY_EXISTS) {
                EXPECT_TRUE(model_any_mapped(w, first, n));
            } else {
                EXPECT_TRUE(inject && st == ZX_ERR_NO_MEMORY);
            }
        } else if (op < 40) {
            for (size_t i = 0; i < n; i++)
                pas[i] = ((pt_test_rand(&seed) % 0xfffff) + 1) * PAGE_SIZE;
            st = arch_aspace_map_pages(&as, va, pas, n, flags);
            if (st == ZX_OK) {
                EXPECT_FALSE(model_any_mapped(w, first, n));
                for (size_t i = 0; i < n; i++)
                    model[w][first + i] = (struct slot){pas[i], flags};
            } else if (st == ZX_ERR_ALREADY_EXISTS) {
                EXPECT_TRUE(model_any_mapped(w, first, n));
            } else {
                EXPECT_TRUE(inject && st == ZX_ERR_NO_MEMORY);
            }
        } else if (op < 65 || op >= 95) {
            // Now and then a whole window, so that its tables go and must be made again.
            if (op >= 95) {
                first = 0;
                n = WIN_PAGES;
                va = windows[w].base;
            }
            st = arch_aspace_unmap(&as, va, n);
            if (st == ZX_OK) {
                for (size_t i = 0; i < n; i++)
                    model[w][first + i] = (struct slot){0, 0};
            } else {
                EXPECT_TRUE(inject && st == ZX_ERR_NO_MEMORY);
            }
        } else if (op < 88) {
            st = arch_aspace_protect(&as, va, n, flags);
            if (st == ZX_OK) {
                for (size_t i = 0; i < n; i++) {
                    if (model[w][first + i].pa)
                        model[w][first + i].flags = flags;
                }
            } else {
                EXPECT_TRUE(inject && st == ZX_ERR_NO_MEMORY);
            }
        } else {
            // A 2 MiB page in the aligned window, where it is empty.
            size_t chunk = (size_t)(pt_test_rand(&seed) % (WIN_PAGES / 512));
            if (!model_any_mapped(LARGE_WIN, chunk * 512, 512)) {
                paddr_t pa = (pt_test_rand(&seed) % 0x400) * PAGE_SIZE_2M;
                struct vmiter it;
                vmiter_init(&it, as.root, windows[LARGE_WIN].base + chunk * PAGE_SIZE_2M);
                st = vmiter_try_map_large(&it, pa, flags_pte(flags), PAGE_SIZE_2M);
                if (st == ZX_OK) {
                    for (size_t i = 0; i < 512; i++)
                        model[LARGE_WIN][chunk * 512 + i] =
                            (struct slot){pa + i * PAGE_SIZE, flags};
                } else {
                    EXPECT_TRUE(inject && st == ZX_ERR_NO_MEMORY);
                }
            }
        }
        pmm_fail_disarm();
        check_against_model(&as, step);
    }
    for (size_t w = 0; w < NWIN; w++)
        EXPECT_OK(arch_aspace_unmap(&as, windows[w].base, windows[w].pages));
    EXPECT_EQ(arch_aspace_table_pages(&as), 1);
    arch_aspace_destroy(&as);
    EXPECT_EQ(pmm_count(PAGE_STATE_FREE), free0);
}

struct harvest_seen {
    paddr_t base;
    size_t pages, calls, outside;
    uint8_t *count;  // per page of [base, base + pages)
};

static void harvest_note(void *ctx, paddr_t pa) {
    struct harvest_seen *s = ctx;
    s->calls++;
    if (pa < s->base || pa >= s->base + s->pages * PAGE_SIZE || pa % PAGE_SIZE)
        s->outside++;
    else
        s->count[(pa - s->base) / PAGE_SIZE]++;
}

// The accessed-bit harvest (page aging) visits every present 4 KiB user mapping once, across table
// boundaries and holes, reports exactly the pages whose A bit was set and clears it, and leaves
// every other bit alone.
KTEST(pt_range, harvest_reports_exactly_the_accessed_pages) {
    pt_test_need_kernel_aspace();
    size_t free0 = pmm_count(PAGE_STATE_FREE);
    struct arch_aspace as;
    REQUIRE_OK(arch_aspace_create(&as));
    // 1200 pages around 512 GiB (four leaf tables, entries 0 and 511 included) with a 20-page
    // hole across the boundary, and one page alone at the last entry of another table.
    enum { N = 1200 };
    vaddr_t va = P512G - 600 * PAGE_SIZE;
    const paddr_t pa = 0x10000000;
    REQUIRE_OK(arch_aspace_map_contiguous(&as, va, pa, N, R | W | U));
    REQUIRE_OK(arch_aspace_unmap(&as, va + 590 * PAGE_SIZE, 20));
    vaddr_t lone = 3 * GiB + 511 * PAGE_SIZE;
    REQUIRE_OK(arch_aspace_map_contiguous(&as, lone, pa + N * PAGE_SIZE, 1, R | U));
    uint64_t before = lower_digest(&as);  // no A bit set yet
    static uint8_t count[N + 1], want[N + 1];
    size_t mapped = 0, accessed = 0;
    for (size_t i = 0; i <= N; i++) {
        vaddr_t v = i < N ? va + i * PAGE_SIZE : lone;
        want[i] = 0;
        if (i >= 590 && i < 610)
            continue;
        mapped++;
        if (i % 3 == 0 || i % 7 == 0 || i == N) {
            struct vmiter it;
            vmiter_init(&it, as.root, v);
            REQUIRE_TRUE(vmiter_present(&it));
            __atomic_fetch_or(it.entry, (pte_t)PTE_A, __ATOMIC_RELAXED);
            want[i] = 1;
            accessed++;
        }
    }
    struct harvest_seen s = {.base = pa, .pages = N + 1, .count = count};
    memset(count, 0, sizeof(count));
    EXPECT_EQ(arch_aspace_harvest_accessed(&as, harvest_note, &s), mapped);
    EXPECT_EQ(s.calls, accessed);
    EXPECT_EQ(s.outside, 0);
    for (size_t i = 0; i <= N; i++) {
        if (!EXPECT_EQ(count[i], want[i])) {
            kprintf("      (page %zu)\n", i);
            break;
        }
    }
    // Every A bit is clear now (the tree is as it was before they were set): a second harvest
    // reports nothing and visits the same pages.
    s.calls = 0;
    EXPECT_EQ(arch_aspace_harvest_accessed(&as, harvest_note, &s), mapped);
    EXPECT_EQ(s.calls, 0);
    EXPECT_EQ(lower_digest(&as), before);
    EXPECT_TRUE(arch_aspace_check(&as));
    arch_aspace_destroy(&as);
    EXPECT_EQ(pmm_count(PAGE_STATE_FREE), free0);
}
