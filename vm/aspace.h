// A user address space: the hardware tables (arch_aspace) plus the tree of regions (VMARs) and
// mappings that says what may be there (vm/vmar.h), the page-fault entry that fills the tables
// on demand, the range changes the VMO layer asks for, and the fault statistics.
//
// Contract between the mapping layer (vm/vmar.h) and the process layer (kernel/process.c).
//
// Locking (the order is in vm/README.md):
// - `lock` (a mutex, the aspace lock) guards every VMAR tree of the space, every VMAR's `alive`
//   and every mapping field (vm/vmar.h).
// - `pt_lock` (a mutex, below the clone-tree lock) guards the hardware tables, `pt_seq`, and --
//   together with the aspace lock for writers -- a mapping's base, size, vmo_offset and perms, so
//   that vm_mapping_range_change (called by the VMO layer under its tree lock, never taking the
//   aspace lock) reads them consistently.
// - `pt_seq` counts range changes: the fault path reads it before asking the VMO for a page and
//   installs the page only if it has not moved, so a page the VMO frees or replaces in between is
//   never mapped. Changes made by a thread holding this space's aspace lock (its own operations,
//   e.g. the faulting thread's commit over the zero page) do not count: no fault can be in flight.
#ifndef VM_ASPACE_H
#define VM_ASPACE_H

#include <zircon/syscalls/object.h>
#include <zircon/types.h>

#include "arch/x86_64/arch_aspace.h"
#include "arch/x86_64/smp.h"
#include "kernel/list.h"
#include "kernel/mutex.h"
#include "kernel/types.h"
#include "vm/aslr.h"

struct vmar;

// The user half every address space covers; the root VMAR is exactly this range.
#define USER_ASPACE_BASE 0x200000ull
#define USER_ASPACE_END 0x7ffffffff000ull

struct vm_mapping;

struct vm_aspace {
    struct mutex lock;            // the aspace lock (see the top of this file)
    struct mutex pt_lock;         // the page-table lock
    struct arch_aspace arch;      // pt_lock
    uint64_t pt_seq;              // pt_lock: bumped by range changes (not those made under `lock`)
    struct vmar *root;            // aspace lock; holds a reference; NULL once destroyed
    uint32_t refs;                // atomic: the owner (until vm_aspace_destroy) + every struct vmar
    struct aslr_prng prng;        // aspace lock
    bool aslr;                    // randomised placement (fixed at creation)
    // Aspace lock: mapping records freed by unmaps, kept for the next map (vm/vmar.c), linked by
    // free_next; at most VM_ASPACE_SPARE_MAPPINGS, none once `root` is NULL.
    struct vm_mapping *spare_mappings;
    uint32_t num_spare_mappings;
    // Aspace lock: the mapping the last look-up found (faults come in runs over one mapping);
    // cleared when that mapping leaves its VMAR (vm/vmar.c), so it is always a live mapping.
    struct vm_mapping *last_found;
    char name[ZX_MAX_NAME_LEN];
    struct list_node all_link;    // in the list of every live address space (vm_aspace_harvest)
};

#define VM_ASPACE_SPARE_MAPPINGS 8

// Creates an address space whose root VMAR covers [USER_ASPACE_BASE, USER_ASPACE_END) with every
// CAN_MAP_* capability. `name` (may be NULL) labels it in ZX_INFO_PROCESS_MAPS. ZX_ERR_NO_MEMORY.
zx_status_t vm_aspace_create(const char *name, struct vm_aspace **out) MUST_USE;

// Tears the address space down: destroys the root VMAR and everything under it (VMAR handles
// still open answer ZX_ERR_BAD_STATE afterwards), unmaps and frees every table page, and drops
// the references its mappings held on VMOs. `as` must not be active. Frees `as` once the last
// reference from VMAR objects is gone.
void vm_aspace_destroy(struct vm_aspace *as);
// Drops one reference (the owner's, or a struct vmar's); frees `as` with the last.
void vm_aspace_release(struct vm_aspace *as);

// Page aging: for every address space not yet destroyed, under its page-table lock, clears the
// accessed bit of every present user page and calls fn(ctx, pa) for those that had it. Takes the
// list lock of all address spaces (outside every other VM lock). Returns pages visited.
size_t vm_aspace_harvest(void (*fn)(void *ctx, paddr_t pa), void *ctx);

// Switches the CPU to `as` (NULL: the kernel's address space only).
void vm_aspace_activate(struct vm_aspace *as);
// Per CPU: the address space in its CR3 (NULL: the kernel's). Each CPU writes only its own slot
// (vm_aspace_activate); read inline below (every fault asks).
extern struct vm_aspace *vm_aspace_active_cpu[SMP_MAX_CPUS];
// The address space in CR3 (set by vm_aspace_activate), NULL for the kernel's.
static inline struct vm_aspace *vm_aspace_active(void) {
    return vm_aspace_active_cpu[smp_cpu_num()];
}

// The root VMAR (a kernel object, ZX_OBJ_TYPE_VMAR); the caller gets a new reference.
struct vmar *vm_aspace_root_vmar(struct vm_aspace *as);

// ZX_INFO_PROCESS_MAPS: writes up to `max` records of the address space, depth-first pre-order
// (the address space itself at depth 0, the root VMAR at depth 1, ...), into the kernel buffer
// `out`, and the number written and the number there are into *out_actual and *out_avail.
void vm_aspace_get_maps(struct vm_aspace *as, zx_info_maps_t *out, size_t max, size_t *out_actual,
                        size_t *out_avail);

// --- Faults ---

// What a fault was, in arch-neutral terms (the arch's trap code decodes its hardware report,
// e.g. arch/x86_64/faults.c). Neither WRITE nor INSTRUCTION: a read.
#define VM_FAULT_WRITE (1u << 0)        // a write access
#define VM_FAULT_INSTRUCTION (1u << 1)  // an instruction fetch
#define VM_FAULT_USER (1u << 2)         // from user mode (else a kernel access to user memory)
#define VM_FAULT_NOT_PRESENT (1u << 3)  // no translation (else a present one refused the access)

// The generic page-fault entry. Resolves a fault at `va` of `as` (NULL: the kernel's address
// space, which has no user mappings): finds the mapping, checks the access, asks the VMO for the
// page and maps it. ZX_OK; ZX_ERR_NOT_FOUND (no address space, va outside [USER_ASPACE_BASE,
// USER_ASPACE_END), no mapping, or beyond the VMO's end), ZX_ERR_ACCESS_DENIED (not permitted by
// the mapping), ZX_ERR_NO_MEMORY. Takes the aspace lock. `out_reason` (may be NULL) gets a few
// words for the console.
zx_status_t vm_fault(struct vm_aspace *as, vaddr_t va, uint32_t flags,
                     const char **out_reason) MUST_USE;

// Fault-around: how many already-present neighbours a fault also maps (0 turns it off).
extern unsigned vm_fault_around_pages;

// Counters for tests and benchmarks (not locked: exact only while one thread faults at a time).
struct vm_fault_stats {
    uint64_t faults;    // resolved
    uint64_t retries;   // the VMO changed between lookup and install
    uint64_t around;    // pages mapped by fault-around
};
extern struct vm_fault_stats vm_fault_stats;

#endif  // VM_ASPACE_H
