// arch_aspace: address spaces on top of the page-table layer (the top of the layering in pt.h:
// pt_range for runs, pt_map_entry for the fault path's one page, vmiter for look-ups, ptiter to
// free, tlb for CR3). Pure code. See arch_aspace.h.
#include "arch/x86_64/arch_aspace.h"

#include "arch/x86_64/pt.h"
#include "arch/x86_64/pt_range.h"
#include "arch/x86_64/ptiter.h"
#include "arch/x86_64/smp.h"
#include "arch/x86_64/tlb.h"
#include "arch/x86_64/vmiter.h"
#include "kernel/assert.h"

struct arch_aspace arch_kernel_aspace;
// Per CPU: the address space in its CR3 (NULL before its first activation). Its own CPU's slot only.
static struct arch_aspace *active_on_cpu[SMP_MAX_CPUS];

static pte_t *root_of(const struct arch_aspace *as) {
    return (pte_t *)as->root;
}

zx_status_t arch_aspace_init_kernel(void) {
    if (arch_kernel_aspace.root)
        return ZX_ERR_BAD_STATE;
    pte_t *root = pt_table_alloc();
    if (!root)
        return ZX_ERR_NO_MEMORY;
    for (unsigned i = PT_ENTRIES / 2; i < PT_ENTRIES; i++) {
        pte_t *pdpt = pt_table_alloc();
        if (!pdpt) {
            for (unsigned j = PT_ENTRIES / 2; j < i; j++)
                pt_table_free(pte_table(root[j]));
            pt_table_free(root);
            return ZX_ERR_NO_MEMORY;
        }
        pt_entry_set(&root[i], pt_table_paddr(pdpt) | pt_link_flags(VA_HIGH_START));
    }
    arch_kernel_aspace = (struct arch_aspace){root, pt_table_paddr(root), true, 0};
    return ZX_OK;
}

zx_status_t arch_aspace_create(struct arch_aspace *as) {
    const pte_t *kroot = root_of(&arch_kernel_aspace);
    if (!kroot)
        return ZX_ERR_BAD_STATE;
    pte_t *root = pt_table_alloc();
    if (!root)
        return ZX_ERR_NO_MEMORY;
    for (unsigned i = PT_ENTRIES / 2; i < PT_ENTRIES; i++)
        pt_entry_set(&root[i], kroot[i]);
    *as = (struct arch_aspace){root, pt_table_paddr(root), false, 0};
    return ZX_OK;
}

// Frees the tables under the level-`level` table `table` (level >= 1), then `table` itself.
// Mappings need no unmapping first: nothing runs on a dead address space, and leaves point at
// pages their VMOs own. Each table is scanned only until its counted present entries have all
// been seen, so a teardown costs what was mapped, not the 128 TiB span. Depth: at most 3.
static void free_subtree(pte_t *table, int level) {
    uint32_t left = pt_table_page(table)->pt.entries;
    for (unsigned i = 0; i < PT_ENTRIES && left > 0; i++) {
        pte_t e = table[i];
        if (!pte_present(e))
            continue;
        left--;
        if (level > 1 && !pte_is_leaf(e, level))
            free_subtree(pte_table(e), level - 1);
        else if (level == 1 && !pte_is_leaf(e, level))
            pt_table_free(pte_table(e));
    }
    pt_table_free(table);
}

void arch_aspace_destroy(struct arch_aspace *as) {
    ASSERT_MSG(as->root && !as->is_kernel, "%s", "not a user address space");
    ASSERT_MSG(__atomic_load_n(&as->active_cpus, __ATOMIC_ACQUIRE) == 0,
               "address space %#llx is active on CPUs %#llx", (unsigned long long)as->root_pa,
               (unsigned long long)as->active_cpus);
    pte_t *root = root_of(as);
    for (unsigned i = 0; i < PT_ENTRIES / 2; i++) {  // the user half; the kernel's is shared
        if (pte_present(root[i]))
            free_subtree(pte_table(root[i]), PT_ROOT_LEVEL - 1);
    }
    pt_table_free(root);
    *as = (struct arch_aspace){0};
}

void arch_aspace_activate(struct arch_aspace *as) {
    if (!as)
        as = &arch_kernel_aspace;
    ASSERT(as->root);
    unsigned cpu = smp_cpu_num();
    struct arch_aspace *old = active_on_cpu[cpu];
    if (old == as)
        return;
    arch_aspace_mark_active(as, cpu);
    active_on_cpu[cpu] = as;
    tlb_activate(as->root_pa);
    if (old)
        arch_aspace_mark_inactive(old, cpu);  // after the switch: this CPU no longer uses it
}

void arch_aspace_mark_active(struct arch_aspace *as, unsigned cpu) {
    __atomic_or_fetch(&as->active_cpus, 1ull << cpu, __ATOMIC_ACQ_REL);
}

void arch_aspace_mark_inactive(struct arch_aspace *as, unsigned cpu) {
    __atomic_and_fetch(&as->active_cpus, ~(1ull << cpu), __ATOMIC_ACQ_REL);
}

bool arch_aspace_is_active(const struct arch_aspace *as) {
    return as->root && active_on_cpu[smp_cpu_num()] == as;
}

// True if [va, va + count pages) is page-aligned and inside the half `as` owns.
static bool in_space(const struct arch_aspace *as, vaddr_t va, size_t count) {
    if (va & (PAGE_SIZE - 1))
        return false;
    if (as->is_kernel)
        return va >= VA_HIGH_START && count <= ((0 - va) >> PAGE_SHIFT);
    return va < VA_LOW_END && count <= ((VA_LOW_END - va) >> PAGE_SHIFT);
}

static inline zx_status_t flags_to_pte(const struct arch_aspace *as, uint32_t flags,
                                       pte_t *out) {
    if ((flags & ~ARCH_MMU_FLAGS_ALL) || !(flags & ARCH_MMU_FLAG_READ))
        return ZX_ERR_INVALID_ARGS;
    if ((flags & ARCH_MMU_FLAG_USER) && as->is_kernel)
        return ZX_ERR_INVALID_ARGS;
    pte_t pte = PTE_P;
    if (flags & ARCH_MMU_FLAG_WRITE)
        pte |= PTE_W;
    if (flags & ARCH_MMU_FLAG_USER)
        pte |= PTE_U;
    if (!(flags & ARCH_MMU_FLAG_EXECUTE))
        pte |= PTE_NX;
    if (as->is_kernel)
        pte |= PTE_G;
    *out = pte;
    return ZX_OK;
}

static uint32_t pte_to_flags(pte_t perm) {
    uint32_t flags = ARCH_MMU_FLAG_READ;
    if (perm & PTE_W)
        flags |= ARCH_MMU_FLAG_WRITE;
    if (perm & PTE_U)
        flags |= ARCH_MMU_FLAG_USER;
    if (!(perm & PTE_NX))
        flags |= ARCH_MMU_FLAG_EXECUTE;
    return flags;
}

static zx_status_t map(struct arch_aspace *as, vaddr_t va, const paddr_t *pas, paddr_t pa,
                       size_t count, uint32_t mmu_flags) {
    pte_t perm;
    zx_status_t st = flags_to_pte(as, mmu_flags, &perm);
    if (st != ZX_OK)
        return st;
    if (!in_space(as, va, count) || (pa & (PAGE_SIZE - 1)))
        return ZX_ERR_INVALID_ARGS;
    if (count == 0)
        return ZX_OK;
    return pt_range_map(root_of(as), va, pas, pa, count, perm);
}

zx_status_t arch_aspace_map_pages(struct arch_aspace *as, vaddr_t va, const paddr_t *pas,
                                  size_t count, uint32_t mmu_flags) {
    if (!pas)
        return ZX_ERR_INVALID_ARGS;
    for (size_t i = 0; i < count; i++) {
        if (pas[i] & ((PAGE_SIZE - 1) | ~PTE_ADDR_MASK))
            return ZX_ERR_INVALID_ARGS;
    }
    return map(as, va, pas, 0, count, mmu_flags);
}

zx_status_t arch_aspace_map_absent(struct arch_aspace *as, vaddr_t va, const paddr_t *pas,
                                   size_t count, uint32_t mmu_flags, size_t *out_mapped) {
    *out_mapped = 0;
    pte_t perm;
    zx_status_t st = flags_to_pte(as, mmu_flags, &perm);
    if (st != ZX_OK)
        return st;
    if (!pas || !in_space(as, va, count))
        return ZX_ERR_INVALID_ARGS;
    // The bits no address may have, of all of them at once (two instructions a page).
    paddr_t any = 0;
    for (size_t i = 0; i < count; i++)
        any |= pas[i];
    if (any & ((PAGE_SIZE - 1) | ~PTE_ADDR_MASK))
        return ZX_ERR_INVALID_ARGS;
    if (count == 0)
        return ZX_OK;
    return pt_range_map_absent(root_of(as), va, pas, count, perm, out_mapped);
}

zx_status_t arch_aspace_map_contiguous(struct arch_aspace *as, vaddr_t va, paddr_t pa,
                                       size_t count, uint32_t mmu_flags) {
    const uint64_t phys_end = PTE_ADDR_MASK + PAGE_SIZE;  // 2^52
    if (pa > PTE_ADDR_MASK || count > ((phys_end - pa) >> PAGE_SHIFT))
        return ZX_ERR_INVALID_ARGS;
    return map(as, va, NULL, pa, count, mmu_flags);
}

// flags_to_pte of every combination of ARCH_MMU_FLAGS_ALL, for a user [0] and the kernel [1]
// space; 0 where flags_to_pte refuses (no READ; USER in the kernel's space). A load, not a dozen
// tests, on every fault.
#define FLAGS_PTE(f, k)                                                                    \
    (!((f) & ARCH_MMU_FLAG_READ) || ((k) && ((f) & ARCH_MMU_FLAG_USER))                    \
         ? 0                                                                               \
         : PTE_P | ((f) & ARCH_MMU_FLAG_WRITE ? PTE_W : 0) |                               \
               ((f) & ARCH_MMU_FLAG_USER ? PTE_U : 0) |                                    \
               ((f) & ARCH_MMU_FLAG_EXECUTE ? 0 : PTE_NX) | ((k) ? PTE_G : 0))
#define FLAGS_PTE4(f, k) FLAGS_PTE(f, k), FLAGS_PTE((f) + 1, k), FLAGS_PTE((f) + 2, k), \
                         FLAGS_PTE((f) + 3, k)
_Static_assert(ARCH_MMU_FLAGS_ALL == 15, "flags_pte covers every combination");
static const pte_t flags_pte[2][16] = {
    {FLAGS_PTE4(0, 0), FLAGS_PTE4(4, 0), FLAGS_PTE4(8, 0), FLAGS_PTE4(12, 0)},
    {FLAGS_PTE4(0, 1), FLAGS_PTE4(4, 1), FLAGS_PTE4(8, 1), FLAGS_PTE4(12, 1)},
};

// The table agrees with flags_to_pte (debug builds check every use).
static UNUSED bool table_matches(const struct arch_aspace *as, uint32_t mmu_flags, pte_t perm) {
    pte_t slow;
    return flags_to_pte(as, mmu_flags, &slow) == ZX_OK && slow == perm;
}

zx_status_t arch_aspace_remap_page(struct arch_aspace *as, vaddr_t va, paddr_t pa,
                                   uint32_t mmu_flags) {
    pte_t perm = mmu_flags <= ARCH_MMU_FLAGS_ALL ? flags_pte[as->is_kernel][mmu_flags] : 0;
    if (!perm)
        return ZX_ERR_INVALID_ARGS;
    DEBUG_ASSERT(table_matches(as, mmu_flags, perm));
    if (!in_space(as, va, 1) || (pa & ((PAGE_SIZE - 1) | ~PTE_ADDR_MASK)))
        return ZX_ERR_INVALID_ARGS;
    // One walk on the fault path's hot spot: no iterator to position before or after, and no
    // second round of the checks above (flags_to_pte's perm is right for the space's half).
    return pt_map_page_checked(root_of(as), va, pa, perm);
}

void arch_aspace_batch_init(struct tlb_batch *b) {
    tlb_batch_init(b);
}

void arch_aspace_batch_finish(struct tlb_batch *b) {
    tlb_batch_finish(b);
}

zx_status_t arch_aspace_unmap_batched(struct arch_aspace *as, vaddr_t va, size_t count,
                                      struct tlb_batch *b) {
    if (!in_space(as, va, count))
        return ZX_ERR_INVALID_ARGS;
    return pt_range_unmap(root_of(as), va, count, b);
}

zx_status_t arch_aspace_protect_batched(struct arch_aspace *as, vaddr_t va, size_t count,
                                        uint32_t mmu_flags, struct tlb_batch *b) {
    pte_t perm;
    zx_status_t st = flags_to_pte(as, mmu_flags, &perm);
    if (st != ZX_OK)
        return st;
    if (!in_space(as, va, count))
        return ZX_ERR_INVALID_ARGS;
    return pt_range_protect(root_of(as), va, count, perm, b);
}

zx_status_t arch_aspace_unmap(struct arch_aspace *as, vaddr_t va, size_t count) {
    struct tlb_batch b;
    tlb_batch_init(&b);
    zx_status_t st = arch_aspace_unmap_batched(as, va, count, &b);
    tlb_batch_finish(&b);
    return st;
}

zx_status_t arch_aspace_protect(struct arch_aspace *as, vaddr_t va, size_t count,
                                uint32_t mmu_flags) {
    struct tlb_batch b;
    tlb_batch_init(&b);
    zx_status_t st = arch_aspace_protect_batched(as, va, count, mmu_flags, &b);
    tlb_batch_finish(&b);
    return st;
}

zx_status_t arch_aspace_query(struct arch_aspace *as, vaddr_t va, paddr_t *out_pa,
                              uint32_t *out_flags) {
    if (!in_space(as, ROUNDDOWN(va, (vaddr_t)PAGE_SIZE), 1))
        return ZX_ERR_INVALID_ARGS;
    struct vmiter it;
    vmiter_init(&it, root_of(as), va);
    if (!vmiter_present(&it))
        return ZX_ERR_NOT_FOUND;
    *out_pa = vmiter_pa(&it);
    if (out_flags)
        *out_flags = pte_to_flags(vmiter_perm(&it));
    return ZX_OK;
}

size_t arch_aspace_harvest_accessed(struct arch_aspace *as, void (*fn)(void *ctx, paddr_t pa),
                                    void *ctx) {
    ASSERT(!as->is_kernel);
    size_t visited = 0;
    struct vmiter it;
    vmiter_init(&it, root_of(as), 0);
    while (!vmiter_done(&it) && vmiter_va(&it) < VA_LOW_END) {
        if (!vmiter_present(&it) || vmiter_level(&it) != 0) {
            vmiter_next(&it);
            continue;
        }
        // The iterator found a present 4 KiB entry: scan the rest of its leaf table directly, then
        // move to the next table. One walk from the root per table instead of one per page (a
        // harvest cost ~300 instructions per mapped page, most of it vmiter_next's walks).
        pte_t *e = it.entry;
        unsigned first = pte_index(vmiter_va(&it), 0);
        for (unsigned i = 0; i < PT_ENTRIES - first; i++) {
            pte_t v = __atomic_load_n(&e[i], __ATOMIC_RELAXED);
            if (!(v & PTE_P))
                continue;
            visited++;
            if (!(v & PTE_A))
                continue;
            // The CPU sets A and D by locked read-modify-writes: clear A the same way.
            pte_t old = __atomic_fetch_and(&e[i], ~(pte_t)PTE_A, __ATOMIC_RELAXED);
            if (old & PTE_A)
                fn(ctx, pte_leaf_paddr(old, 0));
        }
        vaddr_t next = ROUNDDOWN(vmiter_va(&it), PAGE_SIZE_2M) + PAGE_SIZE_2M;
        if (next >= VA_LOW_END)
            break;
        vmiter_find(&it, next);
    }
    return visited;
}

bool arch_aspace_check(const struct arch_aspace *as) {
    return as->root && pt_check(root_of(as));
}

size_t arch_aspace_table_pages(const struct arch_aspace *as) {
    return 1 + pt_count_tables(root_of(as), !as->is_kernel);
}
