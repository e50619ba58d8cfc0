// vmiter: the one way arch code looks at and changes single mappings of a page-table tree
// (in the spirit of Chickadee's vmiter). An iterator sits at a virtual address `va` and describes
// the *range* around it: the 4 KiB page, the large page, or the empty entry (a hole, at whatever
// level the walk found nothing) that contains va.
//
//     struct vmiter it;
//     for (vmiter_init(&it, root, 0); !vmiter_done(&it) && vmiter_va(&it) < end;
//          vmiter_next(&it))
//         if (vmiter_present(&it))
//             kprintf("%#lx -> %#lx\n", vmiter_va(&it), vmiter_pa(&it));
//
// next() goes straight to the next present mapping, skipping empty entries at the highest level
// it can, so a sparse walk costs in proportion to the tables that exist, not to the span.
// Addresses in both canonical halves work; a non-canonical va is a hole that ends at the start of
// the upper half, and next() from the lower half crosses into the upper half.
//
// Pure code on top of pt.h: every look-up is one pt_walk from the root. Changes keep the
// invariants listed in pt.h and invalidate the TLB themselves (when the tree is active, or for
// upper-half addresses). An iterator does not cache tables between calls, so it stays valid when
// the tree is changed by other means (call vmiter_find to refresh what it reports).
#ifndef ARCH_X86_64_VMITER_H
#define ARCH_X86_64_VMITER_H

#include "arch/x86_64/pt.h"

struct vmiter {
    pte_t *root;   // the PML4
    vaddr_t va;    // the current address
    pte_t *entry;  // the entry where the walk stopped; NULL if va is non-canonical
    int level;     // level of that entry: 0 (4 KiB page or hole), 1 (2 MiB), 2 (1 GiB), 3 (512 GiB)
    pte_t perm;    // permissions of va: see vmiter_perm
    bool done;     // next() went past the top of the address space
};

// Positions `it` at `va` in the tree whose PML4 is `root` (an address space's: arch_aspace.root).
void vmiter_init(struct vmiter *it, pte_t *root, vaddr_t va);

// --- Queries ---------------------------------------------------------------------------------

static inline vaddr_t vmiter_va(const struct vmiter *it) {
    return it->va;
}
static inline int vmiter_level(const struct vmiter *it) {
    return it->level;
}
// Bytes in the current range (4 KiB, 2 MiB, 1 GiB, or the size of the empty entry).
static inline uint64_t vmiter_range_size(const struct vmiter *it) {
    return it->entry ? pte_span(it->level) : VA_HIGH_START - VA_LOW_END;
}
// The last address of the current range, inclusive (so the top range ends at 2^64 - 1 without
// wrapping). For a non-canonical va: VA_HIGH_START - 1.
static inline vaddr_t vmiter_last_va(const struct vmiter *it) {
    if (!it->entry)
        return VA_HIGH_START - 1;
    return (it->va | (pte_span(it->level) - 1));
}
// P, W and U are the AND of those bits along the walk, NX the OR; the leaf's other flags (G, A, D,
// PCD, PWT) as they are. 0 if va is not mapped.
static inline pte_t vmiter_perm(const struct vmiter *it) {
    return it->perm;
}
static inline bool vmiter_present(const struct vmiter *it) {
    return (it->perm & PTE_P) != 0;
}
static inline bool vmiter_writable(const struct vmiter *it) {
    return (it->perm & (PTE_P | PTE_W)) == (PTE_P | PTE_W);
}
static inline bool vmiter_user(const struct vmiter *it) {
    return (it->perm & (PTE_P | PTE_U)) == (PTE_P | PTE_U);
}
static inline bool vmiter_executable(const struct vmiter *it) {
    return vmiter_present(it) && !(it->perm & PTE_NX);
}
// True for a 2 MiB or 1 GiB mapping.
static inline bool vmiter_large(const struct vmiter *it) {
    return vmiter_present(it) && it->level > 0;
}
// The physical address va maps to, or PADDR_NONE.
static inline paddr_t vmiter_pa(const struct vmiter *it) {
    if (!vmiter_present(it))
        return PADDR_NONE;
    return pte_leaf_paddr(*it->entry, it->level) + (it->va & (pte_span(it->level) - 1));
}
// True once vmiter_next has run past the last mapping of the address space.
static inline bool vmiter_done(const struct vmiter *it) {
    return it->done;
}

// --- Moves -----------------------------------------------------------------------------------

// Moves to `va` (any address).
void vmiter_find(struct vmiter *it, vaddr_t va);
// Moves by `delta` bytes.
static inline void vmiter_advance(struct vmiter *it, int64_t delta) {
    vmiter_find(it, it->va + (uint64_t)delta);
}
// Moves to the first address of the first present mapping after the current range. Returns false
// (and sets done, with va = 2^64 - 1) if there is none up to the top of the address space.
bool vmiter_next(struct vmiter *it);

// --- Changes ---------------------------------------------------------------------------------

// Maps the 4 KiB page at va (page-aligned, canonical) to `pa` with `perm` (PTE_P required, plus
// PTE_W, PTE_U, PTE_NX, PTE_G...; no PTE_U in the upper half). Whatever va mapped is replaced; a
// large page holding va is split first (the rest of it stays mapped). Allocates the tables it
// needs before changing anything. Returns ZX_OK, ZX_ERR_INVALID_ARGS, or ZX_ERR_NO_MEMORY (the
// tree unchanged, nothing allocated).
zx_status_t vmiter_try_map(struct vmiter *it, paddr_t pa, pte_t perm) MUST_USE;
// Maps a large page of `page_size` (2 MiB, or 1 GiB if the CPU has them) at va; va and pa aligned
// to it. Replaces a hole or a large page of that size; ZX_ERR_ALREADY_EXISTS if a lower table is
// there. Otherwise as vmiter_try_map.
zx_status_t vmiter_try_map_large(struct vmiter *it, paddr_t pa, pte_t perm,
                                 uint64_t page_size) MUST_USE;
// vmiter_try_map that panics on failure: boot code only.
void vmiter_map(struct vmiter *it, paddr_t pa, pte_t perm);
void vmiter_map_large(struct vmiter *it, paddr_t pa, pte_t perm, uint64_t page_size);
// Unmaps the current range if it is mapped (the whole large page if va is in one; use the range
// operations to unmap part of one) and frees the tables that become empty.
void vmiter_unmap(struct vmiter *it);
// Sets the permission bits (PTE_W, PTE_U, PTE_NX, from `perm`) of the current range's mapping.
// Returns ZX_ERR_NOT_FOUND if va is not mapped, ZX_ERR_INVALID_ARGS for PTE_U in the upper half.
zx_status_t vmiter_protect(struct vmiter *it, pte_t perm) MUST_USE;

#endif  // ARCH_X86_64_VMITER_H
