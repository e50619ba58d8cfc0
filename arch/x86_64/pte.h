// The x86-64 four-level entry format: entry bits, levels, and which bits of a virtual address
// select the entry at each level. Header only, no state: the bottom layer of the page-table code
// (see the layering in arch/x86_64/pt.h).
//
// Levels are numbered by the size one entry maps: level 0 is a page table (PT, 4 KiB entries),
// 1 a page directory (PD, 2 MiB), 2 a PDPT (1 GiB), 3 the PML4 (512 GiB). "The level-L table"
// holds level-L entries.
#ifndef ARCH_X86_64_PTE_H
#define ARCH_X86_64_PTE_H

#include "arch/x86_64/asm.h"
#include "arch/x86_64/va.h"
#include "kernel/types.h"
#include "vm/physmap.h"

#define PTE_NX (1ull << 63)
#define PTE_PAT_LARGE (1ull << 12)  // PAT bit of 2 MiB and 1 GiB leaves (never set by Jasper)
#define PTE_ADDR_MASK 0x000ffffffffff000ull
// The bits a leaf's permissions are made of; the range operations change only these (and P).
#define PTE_PERM_BITS ((pte_t)(PTE_W | PTE_U) | PTE_NX)

#define PT_ENTRIES 512
#define PT_LEVELS 4
#define PT_ROOT_LEVEL 3

#define PAGE_SIZE_2M (1ull << 21)
#define PAGE_SIZE_1G (1ull << 30)

// "No physical address": what vmiter_pa returns for an unmapped address.
#define PADDR_NONE ((paddr_t)-1)

// The lowest virtual-address bit that indexes a level-`level` table.
static inline unsigned pte_shift(int level) {
    return PAGE_SHIFT + 9u * (unsigned)level;
}
// Bytes mapped by one entry of a level-`level` table.
static inline uint64_t pte_span(int level) {
    return 1ull << pte_shift(level);
}
// The index of va's entry in the level-`level` table that covers it.
static inline unsigned pte_index(vaddr_t va, int level) {
    return (unsigned)(va >> pte_shift(level)) & (PT_ENTRIES - 1);
}
// The first address mapped by entry `index` of a level-`level` table whose span starts at `base`.
static inline vaddr_t pte_va(vaddr_t base, unsigned index, int level) {
    return va_sign_extend(base + ((uint64_t)index << pte_shift(level)));
}

static inline bool pte_present(pte_t e) {
    return (e & PTE_P) != 0;
}
// True if present entry `e` of a level-`level` table maps memory rather than a lower table.
static inline bool pte_is_leaf(pte_t e, int level) {
    return level == 0 || (level < PT_ROOT_LEVEL && (e & PTE_PS));
}
// The table a present non-leaf entry points at.
static inline pte_t *pte_table(pte_t e) {
    return (pte_t *)paddr_to_kva(e & PTE_ADDR_MASK);
}
// The physical address a leaf at `level` maps (its first byte).
static inline paddr_t pte_leaf_paddr(pte_t e, int level) {
    return e & PTE_ADDR_MASK & ~(paddr_t)(pte_span(level) - 1);
}

#endif  // ARCH_X86_64_PTE_H
