// Helpers shared by the page-table tests and benchmarks (pure: they run at boot and on the host
// over simulated RAM): fresh trees and their teardown (ptiter_free_tables), a digest of a tree's
// mappings for "nothing changed" checks, out of memory injected at every allocation of an
// operation, and a small PRNG. They call the layer's own functions and re-implement none.
#ifndef TEST_KERNEL_PT_TEST_UTIL_H
#define TEST_KERNEL_PT_TEST_UTIL_H

#include "arch/x86_64/arch_aspace.h"
#include "arch/x86_64/pt.h"
#include "arch/x86_64/ptiter.h"
#include "arch/x86_64/vmiter.h"
#include "kernel/assert.h"
#include "kernel/ktest.h"
#include "vm/pmm.h"

// A fresh, empty tree (a bare PML4). Panics if the pmm is empty.
static inline pte_t *pt_test_tree(void) {
    pte_t *root = pt_table_alloc();
    ASSERT(root != NULL);
    return root;
}

// Frees every table of `root` (both halves) and the root.
static inline void pt_test_free_tree(pte_t *root) {
    ptiter_free_tables(root, false);
    pt_table_free(root);
}

// The kernel's address space, created on first use (host tests start without one).
static inline void pt_test_need_kernel_aspace(void) {
    if (!arch_kernel_aspace.root)
        ASSERT(arch_aspace_init_kernel() == ZX_OK);
}

static inline uint64_t pt_test_mix(uint64_t h, uint64_t v) {
    h ^= v + 0x9e3779b97f4a7c15ull + (h << 6) + (h >> 2);
    return h * 0xff51afd7ed558ccdull;
}

// A digest of every mapping of `root` (address, physical address, permissions, page size) and of
// the number of table pages, in the lower half only if `lower_only` (a user address space: the
// upper half is the kernel's, shared): equal digests mean nothing visible changed.
static inline uint64_t pt_test_digest(pte_t *root, bool lower_only) {
    uint64_t h = pt_count_tables(root, lower_only);
    struct vmiter it;
    for (vmiter_init(&it, root, 0); !vmiter_done(&it); vmiter_next(&it)) {
        if (lower_only && vmiter_va(&it) >= VA_LOW_END)
            break;
        if (!vmiter_present(&it))
            continue;
        h = pt_test_mix(h, vmiter_va(&it));
        h = pt_test_mix(h, vmiter_pa(&it));
        h = pt_test_mix(h, vmiter_perm(&it));
        h = pt_test_mix(h, (uint64_t)vmiter_level(&it));
    }
    return h;
}

// Runs op(arg), which changes the tree `root`, with the n-th page allocation failing, for n = 1, 2,
// ... until it succeeds. Each failure must be ZX_ERR_NO_MEMORY and leave the tree (its digest, as
// pt_test_digest with `lower_only`), pt_check and the free page count exactly as they were.
// Returns the number of failures seen, or -1 (with the test failed) if a check failed.
static inline int pt_test_fail_every_allocation(pte_t *root, bool lower_only,
                                                zx_status_t (*op)(void *arg), void *arg) {
    for (int n = 1; n < 64; n++) {
        size_t free0 = pmm_count(PAGE_STATE_FREE);
        uint64_t digest0 = pt_test_digest(root, lower_only);
        pmm_fail_after((size_t)n);
        zx_status_t st = op(arg);
        pmm_fail_disarm();
        if (st == ZX_OK)
            return n - 1;
        EXPECT_STATUS(st, ZX_ERR_NO_MEMORY);
        EXPECT_EQ(pmm_count(PAGE_STATE_FREE), free0);
        EXPECT_EQ(pt_test_digest(root, lower_only), digest0);
        EXPECT_TRUE(pt_check(root));
        if (ktest_failed())
            return -1;
    }
    return -1;
}

// xorshift64*: deterministic pseudo-random numbers.
static inline uint64_t pt_test_rand(uint64_t *state) {
    uint64_t x = *state;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    *state = x;
    return x * 0x2545f4914f6cdd1dull;
}

#endif  // TEST_KERNEL_PT_TEST_UTIL_H
