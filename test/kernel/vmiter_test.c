// vmiter and ptiter on bare trees (a PML4 from the pmm that is never loaded into CR3). Pure: runs
// at boot on real memory and on the host over simulated RAM. Physical addresses mapped here are
// never touched, so they need not be pages anyone owns.
#include "kernel/ktest.h"
#include "test/kernel/pt_test_util.h"

#define RW (PTE_P | PTE_W | PTE_NX)
#define URW (PTE_P | PTE_W | PTE_U | PTE_NX)

KTEST(vmiter, empty_tree_is_all_holes) {
    size_t free0 = pmm_count(PAGE_STATE_FREE);
    pte_t *root = pt_test_tree();
    struct vmiter it;
    vmiter_init(&it, root, 0x1234);
    EXPECT_FALSE(vmiter_present(&it));
    EXPECT_EQ(vmiter_pa(&it), PADDR_NONE);
    EXPECT_EQ(vmiter_perm(&it), 0);
    EXPECT_EQ(vmiter_level(&it), 3);
    EXPECT_EQ(vmiter_last_va(&it), (1ull << 39) - 1);
    EXPECT_FALSE(vmiter_next(&it));
    EXPECT_TRUE(vmiter_done(&it));
    // High canonical addresses: the last hole ends at 2^64 - 1 without wrapping.
    vmiter_find(&it, VA_HIGH_START + 5);
    EXPECT_FALSE(vmiter_done(&it));
    EXPECT_EQ(vmiter_last_va(&it), VA_HIGH_START + (1ull << 39) - 1);
    vmiter_find(&it, UINT64_MAX);
    EXPECT_EQ(vmiter_last_va(&it), UINT64_MAX);
    EXPECT_FALSE(vmiter_next(&it));
    // A non-canonical address is one hole up to the upper half.
    vmiter_find(&it, VA_LOW_END + 0x1000);
    EXPECT_FALSE(vmiter_present(&it));
    EXPECT_EQ(vmiter_last_va(&it), VA_HIGH_START - 1);
    EXPECT_STATUS(vmiter_try_map(&it, 0x5000, RW), ZX_ERR_INVALID_ARGS);
    EXPECT_TRUE(pt_check(root));
    pt_test_free_tree(root);
    EXPECT_EQ(pmm_count(PAGE_STATE_FREE), free0);
}

// Addresses on every kind of table boundary, in both halves.
static const vaddr_t boundary_vas[] = {
    0x0,
    0x1ff000,                // last page of the first PT
    0x200000,                // first page of the second PT
    0x3ffff000,              // last page of the first PD
    0x40000000,              // first page of the second PD
    0x7ffffff000,            // last page of the first PDPT
    0x8000000000,            // first page of the second PML4 entry
    0x7ffffffff000,          // last page of the lower half
    0xffff800000000000ull,   // first page of the upper half
    0xffff807ffffff000ull,   // last page of PML4 entry 256
    0xffffffff80000000ull,   // the kernel image's window
    0xfffffffffffff000ull,   // the very last page
};

KTEST(vmiter, map_and_query_on_table_boundaries) {
    size_t free0 = pmm_count(PAGE_STATE_FREE);
    pte_t *root = pt_test_tree();
    struct vmiter it;
    for (size_t i = 0; i < countof(boundary_vas); i++) {
        vaddr_t va = boundary_vas[i];
        pte_t perm = va_is_upper(va) ? (PTE_P | PTE_W | PTE_G) : (i % 2 ? URW : PTE_P | PTE_U);
        vmiter_init(&it, root, va);
        REQUIRE_OK(vmiter_try_map(&it, 0x100000 + i * PAGE_SIZE, perm));
    }
    EXPECT_TRUE(pt_check(root));
    for (size_t i = 0; i < countof(boundary_vas); i++) {
        vaddr_t va = boundary_vas[i];
        bool upper = va_is_upper(va);
        vmiter_init(&it, root, va + 0x123);
        EXPECT_TRUE(vmiter_present(&it));
        EXPECT_EQ(vmiter_level(&it), 0);
        EXPECT_EQ(vmiter_pa(&it), 0x100000 + i * PAGE_SIZE + 0x123);
        EXPECT_EQ(vmiter_last_va(&it), va + PAGE_SIZE - 1);
        EXPECT_EQ(vmiter_user(&it), !upper);
        EXPECT_EQ(vmiter_writable(&it), upper || i % 2 == 1);
        EXPECT_EQ(vmiter_executable(&it), upper || i % 2 == 0 || !pt_nx_enabled);
        // Two pages on is a hole (unless that wraps or is another boundary address).
        vaddr_t next = va + 2 * PAGE_SIZE;
        bool listed = false;
        for (size_t j = 0; j < countof(boundary_vas); j++)
            listed = listed || boundary_vas[j] == next;
        if (next > va && !listed) {
            vmiter_find(&it, next);
            EXPECT_FALSE(vmiter_present(&it));
        }
    }
    // User pages are refused in the upper half.
    vmiter_init(&it, root, 0xffff900000000000ull);
    EXPECT_STATUS(vmiter_try_map(&it, 0x5000, URW), ZX_ERR_INVALID_ARGS);
    EXPECT_STATUS(vmiter_try_map(&it, 0x5001, RW), ZX_ERR_INVALID_ARGS);
    vmiter_init(&it, root, 0x1001);
    EXPECT_STATUS(vmiter_try_map(&it, 0x5000, RW), ZX_ERR_INVALID_ARGS);
    vmiter_init(&it, root, 0x1000);
    EXPECT_STATUS(vmiter_try_map(&it, 0x5000, PTE_W), ZX_ERR_INVALID_ARGS);  // no PTE_P
    pt_test_free_tree(root);
    EXPECT_EQ(pmm_count(PAGE_STATE_FREE), free0);
}

KTEST(vmiter, replacing_a_mapping_keeps_counts) {
    pte_t *root = pt_test_tree();
    struct vmiter it;
    vmiter_init(&it, root, 0x5000);
    REQUIRE_OK(vmiter_try_map(&it, 0xa000, RW));
    REQUIRE_OK(vmiter_try_map(&it, 0xb000, PTE_P));
    EXPECT_EQ(vmiter_pa(&it), 0xb000);
    EXPECT_FALSE(vmiter_writable(&it));
    EXPECT_EQ(pt_table_count(it.entry - pte_index(0x5000, 0)), 1);
    EXPECT_TRUE(pt_check(root));
    pt_test_free_tree(root);
}

KTEST(vmiter, permissions_are_combined_along_the_walk) {
    pte_t *root = pt_test_tree();
    struct vmiter it;
    vmiter_init(&it, root, 0x40201000);
    REQUIRE_OK(vmiter_try_map(&it, 0x7000, PTE_P | PTE_W | PTE_U));
    EXPECT_TRUE(vmiter_writable(&it));
    EXPECT_TRUE(vmiter_user(&it));
    EXPECT_TRUE(vmiter_executable(&it));
    struct pt_path p;
    pt_path_init(&p, root);
    pt_walk(&p, 0x40201000, 0);
    REQUIRE_EQ(p.level, 0);
    pte_t *pdpte = &p.tab[2][pte_index(0x40201000, 2)];
    pte_t *pml4e = &p.tab[3][pte_index(0x40201000, 3)];
    pte_t *pde = &p.tab[1][pte_index(0x40201000, 1)];
    // Clearing W (or U) at any level above the leaf takes it away; NX anywhere forbids execution.
    *pdpte &= ~(pte_t)PTE_W;
    vmiter_find(&it, 0x40201000);
    EXPECT_FALSE(vmiter_writable(&it));
    EXPECT_TRUE(vmiter_user(&it));
    *pdpte |= PTE_W;
    *pml4e &= ~(pte_t)PTE_U;
    vmiter_find(&it, 0x40201000);
    EXPECT_FALSE(vmiter_user(&it));
    EXPECT_TRUE(vmiter_writable(&it));
    *pml4e |= PTE_U;
    *pde |= PTE_NX;
    vmiter_find(&it, 0x40201000);
    EXPECT_FALSE(vmiter_executable(&it));
    EXPECT_TRUE(vmiter_present(&it));
    EXPECT_TRUE((vmiter_perm(&it) & PTE_NX) != 0);
    *pde &= ~PTE_NX;
    vmiter_find(&it, 0x40201000);
    EXPECT_TRUE(vmiter_executable(&it));
    EXPECT_TRUE(pt_check(root));
    pt_test_free_tree(root);
}

KTEST(vmiter, large_pages_are_reported_and_split) {
    size_t free0 = pmm_count(PAGE_STATE_FREE);
    pte_t *root = pt_test_tree();
    struct vmiter it;
    vmiter_init(&it, root, 0x40000000);
    REQUIRE_OK(vmiter_try_map_large(&it, 0x200000, RW, PAGE_SIZE_2M));
    vmiter_find(&it, 0x80000000);
    REQUIRE_OK(vmiter_try_map_large(&it, 0x40000000, PTE_P | PTE_U, PAGE_SIZE_1G));
    EXPECT_TRUE(pt_check(root));

    vmiter_find(&it, 0x40012345);
    EXPECT_TRUE(vmiter_large(&it));
    EXPECT_EQ(vmiter_level(&it), 1);
    EXPECT_EQ(vmiter_pa(&it), 0x212345);
    EXPECT_EQ(vmiter_last_va(&it), 0x401fffff);
    EXPECT_EQ(vmiter_range_size(&it), PAGE_SIZE_2M);
    vmiter_find(&it, 0xbfffffff);
    EXPECT_EQ(vmiter_level(&it), 2);
    EXPECT_EQ(vmiter_pa(&it), 0x7fffffff);
    EXPECT_EQ(vmiter_last_va(&it), 0xbfffffff);
    EXPECT_TRUE(vmiter_user(&it));
    EXPECT_FALSE(vmiter_writable(&it));
    // next() steps from one large page to the next.
    vmiter_find(&it, 0);
    EXPECT_TRUE(vmiter_next(&it));
    EXPECT_EQ(vmiter_va(&it), 0x40000000);
    EXPECT_TRUE(vmiter_next(&it));
    EXPECT_EQ(vmiter_va(&it), 0x80000000);
    EXPECT_FALSE(vmiter_next(&it));

    // Bad sizes and alignments.
    vmiter_find(&it, 0x40000000);
    EXPECT_STATUS(vmiter_try_map_large(&it, 0x200000, RW, 4 * PAGE_SIZE_2M), ZX_ERR_INVALID_ARGS);
    EXPECT_STATUS(vmiter_try_map_large(&it, 0x201000, RW, PAGE_SIZE_2M), ZX_ERR_INVALID_ARGS);
    vmiter_find(&it, 0x40001000);
    EXPECT_STATUS(vmiter_try_map_large(&it, 0x200000, RW, PAGE_SIZE_2M), ZX_ERR_INVALID_ARGS);
    // A large page cannot replace a table.
    vmiter_find(&it, 0x600000);
    REQUIRE_OK(vmiter_try_map(&it, 0x9000, RW));
    EXPECT_STATUS(vmiter_try_map_large(&it, 0x400000, RW, PAGE_SIZE_2M), ZX_ERR_ALREADY_EXISTS);

    // A 4 KiB page inside the 1 GiB page: split twice, the rest stays mapped as it was.
    uint64_t made = pt_stats.tables_allocated;
    vmiter_find(&it, 0x80201000);
    REQUIRE_OK(vmiter_try_map(&it, 0xabc000, RW));
    EXPECT_EQ(pt_stats.tables_allocated - made, 2);
    EXPECT_EQ(vmiter_pa(&it), 0xabc000);
    EXPECT_EQ(vmiter_level(&it), 0);
    vmiter_find(&it, 0x80000000);
    EXPECT_EQ(vmiter_level(&it), 1);
    EXPECT_EQ(vmiter_pa(&it), 0x40000000);
    EXPECT_TRUE(vmiter_user(&it));
    vmiter_find(&it, 0x80200000);
    EXPECT_EQ(vmiter_level(&it), 0);
    EXPECT_EQ(vmiter_pa(&it), 0x40200000);
    vmiter_find(&it, 0x80202fff);
    EXPECT_EQ(vmiter_pa(&it), 0x40202fff);
    vmiter_find(&it, 0xbffff000);
    EXPECT_EQ(vmiter_level(&it), 1);
    EXPECT_EQ(vmiter_pa(&it), 0x7ffff000);
    EXPECT_TRUE(pt_check(root));

    // Unmapping a large page takes the whole page, and the table that held only it.
    vmiter_find(&it, 0x40100000);
    vmiter_unmap(&it);
    EXPECT_FALSE(vmiter_present(&it));
    vmiter_find(&it, 0x40000000);
    EXPECT_FALSE(vmiter_present(&it));
    EXPECT_TRUE(pt_check(root));
    pt_test_free_tree(root);
    EXPECT_EQ(pmm_count(PAGE_STATE_FREE), free0);
}

KTEST(vmiter, protect_changes_only_permissions) {
    pte_t *root = pt_test_tree();
    struct vmiter it;
    vmiter_init(&it, root, 0x3000);
    REQUIRE_OK(vmiter_try_map(&it, 0x8000, URW | PTE_A | PTE_D));
    REQUIRE_OK(vmiter_protect(&it, PTE_P | PTE_U | PTE_NX));
    EXPECT_FALSE(vmiter_writable(&it));
    EXPECT_TRUE(vmiter_user(&it));
    EXPECT_EQ(vmiter_pa(&it), 0x8000);
    EXPECT_TRUE((vmiter_perm(&it) & (PTE_A | PTE_D)) == (PTE_A | PTE_D));
    REQUIRE_OK(vmiter_protect(&it, PTE_P | PTE_W));
    EXPECT_TRUE(vmiter_writable(&it));
    EXPECT_FALSE(vmiter_user(&it));
    EXPECT_TRUE(vmiter_executable(&it));
    vmiter_find(&it, 0x4000);
    EXPECT_STATUS(vmiter_protect(&it, PTE_P), ZX_ERR_NOT_FOUND);
    vmiter_find(&it, VA_HIGH_START);
    REQUIRE_OK(vmiter_try_map(&it, 0x8000, RW));
    EXPECT_STATUS(vmiter_protect(&it, PTE_P | PTE_U), ZX_ERR_INVALID_ARGS);
    EXPECT_TRUE(pt_check(root));
    pt_test_free_tree(root);
}

KTEST(vmiter, unmap_frees_tables_that_become_empty) {
    size_t free0 = pmm_count(PAGE_STATE_FREE);
    pte_t *root = pt_test_tree();
    struct vmiter it;
    vmiter_init(&it, root, 0x12345000);
    REQUIRE_OK(vmiter_try_map(&it, 0x8000, RW));
    vmiter_find(&it, 0x12346000);
    REQUIRE_OK(vmiter_try_map(&it, 0x9000, RW));
    EXPECT_EQ(pt_count_tables(root, false), 3);
    vmiter_unmap(&it);
    EXPECT_EQ(pt_count_tables(root, false), 3);  // the PT still holds a page
    vmiter_find(&it, 0x12345000);
    vmiter_unmap(&it);
    EXPECT_FALSE(vmiter_present(&it));
    EXPECT_EQ(vmiter_level(&it), 3);  // the hole is now a whole PML4 entry
    EXPECT_EQ(pt_count_tables(root, false), 0);
    EXPECT_EQ(pmm_count(PAGE_STATE_FREE), free0 - 1);
    // In the upper half the PDPT stays (it would be shared with every address space).
    vmiter_find(&it, 0xffff800040000000ull);
    REQUIRE_OK(vmiter_try_map(&it, 0x8000, RW));
    EXPECT_EQ(pt_count_tables(root, false), 3);
    vmiter_unmap(&it);
    EXPECT_EQ(pt_count_tables(root, false), 1);
    EXPECT_EQ(vmiter_level(&it), 2);
    EXPECT_TRUE(pt_check(root));
    pt_test_free_tree(root);
    EXPECT_EQ(pmm_count(PAGE_STATE_FREE), free0);
}

static zx_status_t map_deep(void *root) {
    struct vmiter it;
    vmiter_init(&it, (pte_t *)root, 0x0000123456789000ull);
    return vmiter_try_map(&it, 0x5000, RW);
}

static zx_status_t map_inside_1g(void *root) {
    struct vmiter it;
    vmiter_init(&it, (pte_t *)root, 0xc0345000);
    return vmiter_try_map(&it, 0x5000, RW);
}

static zx_status_t map_2m_upper(void *root) {
    struct vmiter it;
    vmiter_init(&it, (pte_t *)root, 0xffffc00000200000ull);
    return vmiter_try_map_large(&it, 0x200000, RW, PAGE_SIZE_2M);
}

KTEST(vmiter, out_of_memory_at_every_allocation_leaves_no_trace) {
    size_t free0 = pmm_count(PAGE_STATE_FREE);
    pte_t *root = pt_test_tree();
    struct vmiter it;
    vmiter_init(&it, root, 0xc0000000);
    REQUIRE_OK(vmiter_try_map_large(&it, 0x40000000, RW, PAGE_SIZE_1G));
    // PDPT, PD, PT; then split 1 GiB, split 2 MiB; then PDPT, PD.
    EXPECT_EQ(pt_test_fail_every_allocation(root, false, map_deep, root), 3);
    EXPECT_EQ(pt_test_fail_every_allocation(root, false, map_inside_1g, root), 2);
    EXPECT_EQ(pt_test_fail_every_allocation(root, false, map_2m_upper, root), 2);
    vmiter_find(&it, 0xc0345000);
    EXPECT_EQ(vmiter_pa(&it), 0x5000);
    vmiter_find(&it, 0xc0346000);
    EXPECT_EQ(vmiter_pa(&it), 0x40346000);
    EXPECT_TRUE(pt_check(root));
    pt_test_free_tree(root);
    EXPECT_EQ(pmm_count(PAGE_STATE_FREE), free0);
}

KTEST(vmiter, next_crosses_into_the_upper_half) {
    pte_t *root = pt_test_tree();
    struct vmiter it;
    vmiter_init(&it, root, 0x7ffffffff000ull);
    REQUIRE_OK(vmiter_try_map(&it, 0x1000, URW));
    vmiter_find(&it, 0xffff800000003000ull);
    REQUIRE_OK(vmiter_try_map(&it, 0x2000, RW));
    vmiter_find(&it, 0xfffffffffffff000ull);
    REQUIRE_OK(vmiter_try_map(&it, 0x3000, RW));

    vmiter_find(&it, 0x7ffffffff000ull);
    EXPECT_TRUE(vmiter_next(&it));
    EXPECT_EQ(vmiter_va(&it), 0xffff800000003000ull);
    EXPECT_EQ(vmiter_pa(&it), 0x2000);
    EXPECT_TRUE(vmiter_next(&it));
    EXPECT_EQ(vmiter_va(&it), 0xfffffffffffff000ull);
    EXPECT_EQ(vmiter_last_va(&it), UINT64_MAX);
    EXPECT_FALSE(vmiter_next(&it));  // no wrap-around to 0
    EXPECT_TRUE(vmiter_done(&it));
    // From inside the non-canonical gap.
    vmiter_find(&it, 0x0000900000000000ull);
    EXPECT_TRUE(vmiter_next(&it));
    EXPECT_EQ(vmiter_va(&it), 0xffff800000003000ull);
    // From a hole in the same table as the mapping.
    vmiter_find(&it, 0xffff800000000000ull);
    EXPECT_TRUE(vmiter_next(&it));
    EXPECT_EQ(vmiter_va(&it), 0xffff800000003000ull);
    pt_test_free_tree(root);
}

KTEST(vmiter, next_visits_exactly_the_mappings_of_a_sparse_tree) {
    enum { N = 300 };
    static vaddr_t vas[N];
    pte_t *root = pt_test_tree();
    uint64_t seed = 0x1234567;
    struct vmiter it;
    size_t n = 0;
    for (size_t i = 0; i < N; i++) {
        uint64_t r = pt_test_rand(&seed);
        // Half in the lower half, half in the upper; some clustered in one 4 MiB window.
        vaddr_t va;
        if (i % 5 == 0)
            va = 0x40000000 + (r % 1024) * PAGE_SIZE;
        else
            va = va_sign_extend((r & 0x0000fffffffff000ull));
        vmiter_init(&it, root, va);
        if (vmiter_present(&it))
            continue;
        REQUIRE_OK(vmiter_try_map(&it, (r >> 20) & 0xffffff000ull,
                                  i % 2 && !va_is_upper(va) ? URW : RW));
        vas[n++] = va;
    }
    // Sort (insertion sort, as unsigned: lower half first).
    for (size_t i = 1; i < n; i++) {
        vaddr_t x = vas[i];
        size_t j = i;
        for (; j > 0 && vas[j - 1] > x; j--)
            vas[j] = vas[j - 1];
        vas[j] = x;
    }
    size_t seen = 0;
    for (vmiter_init(&it, root, 0); !vmiter_done(&it); vmiter_next(&it)) {
        if (!vmiter_present(&it))
            continue;
        REQUIRE_LT(seen, n);
        EXPECT_EQ(vmiter_va(&it), vas[seen]);
        seen++;
    }
    EXPECT_EQ(seen, n);
    // Page by page over the clustered window finds the same pages as next().
    size_t by_page = 0, by_next = 0;
    for (vmiter_init(&it, root, 0x40000000); vmiter_va(&it) < 0x40400000;
         vmiter_advance(&it, PAGE_SIZE))
        by_page += vmiter_present(&it);
    for (vmiter_init(&it, root, 0x40000000); !vmiter_done(&it) && vmiter_va(&it) < 0x40400000;
         vmiter_next(&it))
        by_next += vmiter_present(&it);
    EXPECT_EQ(by_page, by_next);
    EXPECT_GT(by_page, 30);
    EXPECT_TRUE(pt_check(root));
    pt_test_free_tree(root);
}

// --- ptiter ---------------------------------------------------------------------------------

KTEST(ptiter, order_is_depth_first_lower_levels_first) {
    pte_t *root = pt_test_tree();
    struct vmiter it;
    vmiter_init(&it, root, 0x0);
    REQUIRE_OK(vmiter_try_map(&it, 0xb000, URW));
    vmiter_find(&it, 0x200000);
    REQUIRE_OK(vmiter_try_map(&it, 0xe000, URW));
    vmiter_find(&it, 0xffff800000001000ull);
    REQUIRE_OK(vmiter_try_map(&it, 0xf000, RW));
    static const struct {
        int level;
        vaddr_t va, last;
    } want[] = {
        {0, 0x0, 0x1fffff},
        {0, 0x200000, 0x3fffff},
        {1, 0x0, 0x3fffffff},
        {2, 0x0, 0x7fffffffff},
        {0, 0xffff800000000000ull, 0xffff8000001fffffull},
        {1, 0xffff800000000000ull, 0xffff80003fffffffull},
        {2, 0xffff800000000000ull, 0xffff807fffffffffull},
    };
    size_t i = 0, low = 0;
    struct ptiter pi;
    for (ptiter_init(&pi, root); !ptiter_done(&pi); ptiter_next(&pi), i++) {
        REQUIRE_LT(i, countof(want));
        EXPECT_EQ(ptiter_level(&pi), want[i].level);
        EXPECT_EQ(ptiter_va(&pi), want[i].va);
        EXPECT_EQ(ptiter_last_va(&pi), want[i].last);
        // The table is the one a walk passes through.
        struct pt_path p;
        pt_path_init(&p, root);
        pt_walk(&p, ptiter_va(&pi), ptiter_level(&pi));
        EXPECT_TRUE(p.tab[ptiter_level(&pi)] == ptiter_ptp(&pi));
        EXPECT_EQ(ptiter_ptp_pa(&pi), pt_table_paddr(ptiter_ptp(&pi)));
        low += ptiter_low(&pi);
    }
    EXPECT_EQ(i, countof(want));
    EXPECT_EQ(low, 4);
    pt_test_free_tree(root);
}

KTEST(ptiter, visits_every_table_once_after_its_children) {
    enum { N = 200, MAXT = 1024 };
    static struct {
        int level;
        vaddr_t va;
    } seen[MAXT];
    pte_t *root = pt_test_tree();
    uint64_t seed = 99;
    struct vmiter it;
    for (int i = 0; i < N; i++) {
        uint64_t r = pt_test_rand(&seed);
        vaddr_t va = va_sign_extend(r & (i % 3 ? 0x00000007fffff000ull : 0x0000fffffffff000ull));
        vmiter_init(&it, root, va);
        REQUIRE_OK(vmiter_try_map(&it, 0x1000, RW));
    }
    size_t n = 0;
    struct ptiter pi;
    for (ptiter_init(&pi, root); !ptiter_done(&pi); ptiter_next(&pi)) {
        REQUIRE_LT(n, MAXT);
        seen[n].level = ptiter_level(&pi);
        seen[n].va = ptiter_va(&pi);
        n++;
    }
    EXPECT_EQ(n, pt_count_tables(root, false));
    for (size_t i = 0; i < n; i++) {
        uint64_t span_i = pte_span(seen[i].level + 1);
        for (size_t j = i + 1; j < n; j++) {
            // A table visited later is never inside one visited earlier.
            if (seen[j].level < seen[i].level)
                EXPECT_FALSE(seen[j].va - seen[i].va < span_i);
            // Tables of one level come in address order.
            if (seen[j].level == seen[i].level)
                EXPECT_LT(seen[i].va, seen[j].va);
            if (ktest_failed())
                break;
        }
    }
    pt_test_free_tree(root);
}

KTEST(ptiter, a_loop_frees_a_whole_tree) {
    size_t free0 = pmm_count(PAGE_STATE_FREE);
    pte_t *root = pt_test_tree();
    uint64_t seed = 7;
    struct vmiter it;
    for (int i = 0; i < 150; i++) {
        vaddr_t va = va_sign_extend(pt_test_rand(&seed) & 0x0000fffffffff000ull);
        vmiter_init(&it, root, va);
        REQUIRE_OK(vmiter_try_map(&it, 0x1000, RW));
    }
    vmiter_init(&it, root, 0x40000000);
    REQUIRE_OK(vmiter_try_map_large(&it, 0x40000000, RW, PAGE_SIZE_1G));
    size_t upper = pt_count_tables(root, false) - pt_count_tables(root, true);
    EXPECT_GT(upper, 0);
    // First the lower half alone, as arch_aspace_destroy does.
    struct ptiter pi;
    for (ptiter_init(&pi, root); ptiter_low(&pi); ptiter_next(&pi))
        ptiter_free_ptp(&pi);
    EXPECT_EQ(pt_count_tables(root, true), 0);
    EXPECT_EQ(pt_count_tables(root, false), upper);
    for (unsigned i = 0; i < PT_ENTRIES / 2; i++)
        EXPECT_EQ(root[i], 0);
    EXPECT_TRUE(pt_check(root));
    // Then the rest.
    pt_test_free_tree(root);
    EXPECT_EQ(pmm_count(PAGE_STATE_FREE), free0);
}
