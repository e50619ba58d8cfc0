// Range operations on a page-table tree: map, unmap and protect runs of 4 KiB pages with one
// cached walk per operation and one TLB batch. arch_aspace_* and the kernel's boot tables use
// these. Pure code on top of pt.h.
//
// Common preconditions: `va` page-aligned; the range [va, va + count pages) canonical and within
// one half (else ZX_ERR_INVALID_ARGS).
#ifndef ARCH_X86_64_PT_RANGE_H
#define ARCH_X86_64_PT_RANGE_H

#include "arch/x86_64/pt.h"

// Maps `count` 4 KiB pages at `va`: to pas[i] if `pas` is not NULL (each page-aligned and below
// 2^52: the caller checks), else to pa + i pages. `perm` holds PTE_P and leaf flags. Every page
// must be unmapped: on ZX_ERR_ALREADY_EXISTS (a page or a large page is mapped in the range) or
// ZX_ERR_NO_MEMORY (a table could not be allocated) the pages it mapped are unmapped again and
// the tables freed, so the tree is as it was.
zx_status_t pt_range_map(pte_t *root, vaddr_t va, const paddr_t *pas, paddr_t pa, size_t count,
                         pte_t perm) MUST_USE;
// Maps each page of the `count` at `va` that is not mapped yet to pas[i] (page-aligned, below
// 2^52: the caller checks); pages already mapped stay as they are. Filling holes needs no TLB
// work. *out_mapped: the pages it mapped. ZX_ERR_NO_MEMORY (a table could not be allocated) or
// ZX_ERR_ALREADY_EXISTS (a large page covers part of the range) stop it with the pages before
// mapped (no rollback: fault-around and MAP_RANGE, its callers, treat it as a partial fill).
zx_status_t pt_range_map_absent(pte_t *root, vaddr_t va, const paddr_t *pas, size_t count,
                                pte_t perm, size_t *out_mapped) MUST_USE;
// Unmaps whatever is mapped in the range (holes are skipped a whole entry at a time) and unlinks
// the tables that become empty. Large pages that straddle an end are split first; the tables for
// that are allocated before anything changes: ZX_ERR_NO_MEMORY leaves the tree as it was. The TLB
// work and the unlinked tables go into `b` (it names `root` afterwards): the caller's
// tlb_batch_finish invalidates and frees them, before anything the range mapped is freed.
zx_status_t pt_range_unmap(pte_t *root, vaddr_t va, size_t count, struct tlb_batch *b) MUST_USE;
// Sets the permission bits (PTE_W, PTE_U, PTE_NX; from `perm`) of every page mapped in the range;
// holes stay holes. Splits straddling large pages like pt_range_unmap (ZX_ERR_NO_MEMORY as there);
// the TLB work goes into `b`, as there.
zx_status_t pt_range_protect(pte_t *root, vaddr_t va, size_t count, pte_t perm,
                             struct tlb_batch *b) MUST_USE;

#endif  // ARCH_X86_64_PT_RANGE_H
