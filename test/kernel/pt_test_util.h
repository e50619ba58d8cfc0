// Helpers shared by the page-table tests (pure: they run at boot and on the host over simulated
// RAM): fresh trees, teardown with ptiter, a digest of a tree's mappings for "nothing changed"
// checks, and a small PRNG.
#ifndef TEST_KERNEL_PT_TEST_UTIL_H
#define TEST_KERNEL_PT_TEST_UTIL_H

#include "arch/x86_64/arch_aspace.h"
#include "arch/x86_64/pt.h"
#include "arch/x86_64/ptiter.h"
#include "arch/x86_64/vmiter.h"
#include "kernel/assert.h"
#include "vm/pmm.h"

// A fresh, empty tree (a bare PML4). Panics if the pmm is empty.
static inline pte_t *pt_test_tree(void) {
    pte_t *root = pt_table_alloc();
    ASSERT(root != NULL);
    return root;
}

// Frees every table of `root` (both halves) and the root: ptiter's post-order at work.
static inline void pt_test_free_tree(pte_t *root) {
    struct ptiter pi;
    for (ptiter_init(&pi, root); !ptiter_done(&pi); ptiter_next(&pi))
        ptiter_free_ptp(&pi);
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

// A digest of every mapping in [from, 2^64) of `root` (address, physical address, permissions,
// page size) and of the number of table pages: equal digests mean nothing visible changed.
static inline uint64_t pt_test_digest_from(pte_t *root, vaddr_t from) {
    uint64_t h = pt_count_tables(root, false);
    struct vmiter it;
    for (vmiter_init(&it, root, from); !vmiter_done(&it); vmiter_next(&it)) {
        if (!vmiter_present(&it))
            continue;
        h = pt_test_mix(h, vmiter_va(&it));
        h = pt_test_mix(h, vmiter_pa(&it));
        h = pt_test_mix(h, vmiter_perm(&it));
        h = pt_test_mix(h, (uint64_t)vmiter_level(&it));
    }
    return h;
}

static inline uint64_t pt_test_digest(pte_t *root) {
    return pt_test_digest_from(root, 0);
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
