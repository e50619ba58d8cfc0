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

// The mapping holding `va`, or NULL (aspace lock held).
struct vm_mapping *aspace_check_find_mapping(struct vm_aspace *as, vaddr_t va);

#endif  // TEST_KERNEL_ASPACE_CHECK_H
