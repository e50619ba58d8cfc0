// aspace_check_pagetable: the page-table side of an address space's invariants, for tests. Walks
// the hardware tables of the user half with vmiter (next() over present pages) and compares every
// PTE with what the mappings allow (vm/vmar.h lists the rules). Pure: kernel and host tests.
#ifndef TEST_KERNEL_ASPACE_CHECK_H
#define TEST_KERNEL_ASPACE_CHECK_H

#include <stdbool.h>
#include <stddef.h>

#include "vm/vmar.h"

// Checks every present PTE of `as`; prints the first violation and returns false. Call while no
// other thread uses `as` (it takes the aspace lock, not the page-table lock). *out_present (may
// be NULL) gets the number of present PTEs.
bool aspace_check_pagetable(struct vm_aspace *as, size_t *out_present);

// The PTE at `va` as arch_aspace_query sees it: true and its pa and ARCH_MMU_FLAG_* flags (either
// out-parameter may be NULL) if present; false if not. Page-table lock not taken (tests only).
bool aspace_check_pte(struct vm_aspace *as, vaddr_t va, paddr_t *out_pa, uint32_t *out_flags);

#endif  // TEST_KERNEL_ASPACE_CHECK_H
