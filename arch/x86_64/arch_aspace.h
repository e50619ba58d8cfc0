// arch_aspace: one hardware address space (a PML4 and the tables below it), behind the narrow,
// architecture-neutral interface the VM layer uses. vm/ includes this header and nothing else from
// the page-table layer: no PTE bits, no levels, only ARCH_MMU_FLAG_* permissions and page counts.
//
// The kernel's address space (arch_kernel_aspace) owns the upper half [0xffff800000000000, 2^64):
// its 256 upper PDPTs exist from arch_aspace_init_kernel on and every user address space's PML4
// points at the same ones, so a kernel mapping made once is seen everywhere. A user address space
// owns only the lower half [0, 0x0000800000000000).
//
// Locking: the caller serialises operations on one address space (vm_aspace.pt_lock); the
// kernel's tables are changed only under the kernel aspace's lock.
#ifndef ARCH_X86_64_ARCH_ASPACE_H
#define ARCH_X86_64_ARCH_ASPACE_H

#include "kernel/types.h"

struct tlb_batch;

// Permissions of a mapping. READ is required by every mapping (x86 cannot map a page that is
// writable or executable but not readable).
#define ARCH_MMU_FLAG_READ (1u << 0)
#define ARCH_MMU_FLAG_WRITE (1u << 1)
#define ARCH_MMU_FLAG_EXECUTE (1u << 2)
#define ARCH_MMU_FLAG_USER (1u << 3)  // reachable from user mode (lower half only)
#define ARCH_MMU_FLAGS_ALL \
    (ARCH_MMU_FLAG_READ | ARCH_MMU_FLAG_WRITE | ARCH_MMU_FLAG_EXECUTE | ARCH_MMU_FLAG_USER)

struct arch_aspace {
    uint64_t *root;   // the PML4 (physmap address); NULL if not created
    paddr_t root_pa;
    bool is_kernel;
    uint64_t active_cpus;  // atomic: bit i set while CPU i has this space in CR3 (TLB shootdowns)
};

// The kernel's address space (upper half). Set up by arch_mmu_init in the kernel, by
// arch_aspace_init_kernel in host tests.
extern struct arch_aspace arch_kernel_aspace;

// Creates arch_kernel_aspace: a PML4 and its 256 upper-half PDPTs. Boot code (and host tests);
// returns ZX_ERR_NO_MEMORY (nothing kept) or ZX_ERR_BAD_STATE if it exists already.
zx_status_t arch_aspace_init_kernel(void) MUST_USE;

// Creates a user address space: an empty lower half and the kernel's upper half.
// Returns ZX_ERR_NO_MEMORY, or ZX_ERR_BAD_STATE if the kernel's address space does not exist.
zx_status_t arch_aspace_create(struct arch_aspace *as) MUST_USE;
// Frees every table page of a user address space (not the pages it maps: those belong to the VM).
// `as` must not be active on any CPU. Page counts return to what they were before arch_aspace_create.
void arch_aspace_destroy(struct arch_aspace *as);
// Makes `as` (NULL: the kernel's) the address space this CPU translates with (CR3). The caller
// keeps interrupts off (or cannot migrate) across the call.
void arch_aspace_activate(struct arch_aspace *as);
// True if `as` is the one in this CPU's CR3.
bool arch_aspace_is_active(const struct arch_aspace *as);
// Record that CPU `cpu` loaded `as` into CR3 / left it (arch_aspace_activate calls them).
void arch_aspace_mark_active(struct arch_aspace *as, unsigned cpu);
void arch_aspace_mark_inactive(struct arch_aspace *as, unsigned cpu);

// Maps `count` pages at `va` to the physical pages pas[0..count) with `mmu_flags`. Every page of
// the range must be unmapped. Returns ZX_OK, ZX_ERR_INVALID_ARGS (alignment, flags without READ or
// with unknown bits, USER in the kernel's space, range outside the space's half),
// ZX_ERR_ALREADY_EXISTS (something is mapped in the range) or ZX_ERR_NO_MEMORY; on an error
// nothing is left mapped and no table page is kept.
zx_status_t arch_aspace_map_pages(struct arch_aspace *as, vaddr_t va, const paddr_t *pas,
                                  size_t count, uint32_t mmu_flags) MUST_USE;
// Maps the pages of [va, va + count pages) that are not mapped yet to pas[i], leaving mapped ones
// alone, in one walk (fault-around and MAP_RANGE: no TLB work, holes only). *out_mapped: how many
// it mapped. ZX_ERR_INVALID_ARGS as arch_aspace_map_pages; ZX_ERR_NO_MEMORY stops it with the
// pages mapped so far left mapped.
zx_status_t arch_aspace_map_absent(struct arch_aspace *as, vaddr_t va, const paddr_t *pas,
                                   size_t count, uint32_t mmu_flags, size_t *out_mapped) MUST_USE;
// Like arch_aspace_map_pages, for the contiguous physical run [pa, pa + count pages).
zx_status_t arch_aspace_map_contiguous(struct arch_aspace *as, vaddr_t va, paddr_t pa,
                                       size_t count, uint32_t mmu_flags) MUST_USE;
// Maps the one page at `va` to `pa` with `mmu_flags`, replacing whatever `va` mapped (the fault
// path's upgrade, e.g. from the shared zero page to a private copy); the old translation is
// invalidated before it returns. ZX_ERR_INVALID_ARGS as arch_aspace_map_pages; ZX_ERR_NO_MEMORY
// (a table could not be allocated) leaves the old mapping as it was.
zx_status_t arch_aspace_remap_page(struct arch_aspace *as, vaddr_t va, paddr_t pa,
                                   uint32_t mmu_flags) MUST_USE;
// Unmaps every page mapped in [va, va + count pages) (holes are fine) and frees the tables that
// become empty. ZX_ERR_INVALID_ARGS as above; ZX_ERR_NO_MEMORY only when a large page straddles an
// end of the range and must be split (then nothing changed).
zx_status_t arch_aspace_unmap(struct arch_aspace *as, vaddr_t va, size_t count) MUST_USE;
// Sets the permissions of every page mapped in the range to `mmu_flags` (holes stay holes).
// Errors as arch_aspace_unmap.
zx_status_t arch_aspace_protect(struct arch_aspace *as, vaddr_t va, size_t count,
                                uint32_t mmu_flags) MUST_USE;
// Batches: the TLB work of several unmaps and protects -- of one address space or of several --
// done in one round (at most one IPI per CPU that holds any of the spaces) by
// arch_aspace_batch_finish, which also frees the table pages they unlinked. The caller finishes
// the batch before it frees or reuses any page the changes unmapped or write-protected, and
// before it returns to a caller that relies on the change. (struct tlb_batch is declared in
// arch/x86_64/tlb.h; callers only hold one.)
void arch_aspace_batch_init(struct tlb_batch *b);
void arch_aspace_batch_finish(struct tlb_batch *b);
// arch_aspace_unmap and arch_aspace_protect, with their TLB work added to `b` instead of done
// before they return. Same statuses.
zx_status_t arch_aspace_unmap_batched(struct arch_aspace *as, vaddr_t va, size_t count,
                                      struct tlb_batch *b) MUST_USE;
zx_status_t arch_aspace_protect_batched(struct arch_aspace *as, vaddr_t va, size_t count,
                                        uint32_t mmu_flags, struct tlb_batch *b) MUST_USE;

// Looks up `va`: on ZX_OK *out_pa is its physical address and *out_flags (if not NULL) its
// permissions. ZX_ERR_NOT_FOUND if unmapped; ZX_ERR_INVALID_ARGS if outside the space's half.
zx_status_t arch_aspace_query(struct arch_aspace *as, vaddr_t va, paddr_t *out_pa,
                              uint32_t *out_flags) MUST_USE;

// Accessed-bit harvest (page aging, vm/reclaim.c): for every present 4 KiB mapping of user space
// `as` whose accessed bit is set, clears the bit and calls fn(ctx, pa). No TLB flush: a CPU that
// still caches the entry may not set the bit again until the entry leaves its TLB, which only
// makes the page look older than it is (reclaim unmaps with a shootdown before it takes a page).
// Costs in proportion to the tables that exist. Returns the number of mappings visited.
size_t arch_aspace_harvest_accessed(struct arch_aspace *as, void (*fn)(void *ctx, paddr_t pa),
                                    void *ctx);

// Checks the tables of `as` (see pt_check). Returns true if they are consistent.
bool arch_aspace_check(const struct arch_aspace *as);
// Table pages `as` owns: with the root, without the kernel's shared upper half (for a user space).
size_t arch_aspace_table_pages(const struct arch_aspace *as);

#endif  // ARCH_X86_64_ARCH_ASPACE_H
