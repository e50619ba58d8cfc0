// Regions (VMARs) and mappings of one address space, and the operations of docs/abi.md §2:
// allocate, map, unmap, protect, destroy, op_range. The address space itself, its page-fault path
// and its range changes are in vm/aspace.c (contract: vm/aspace.h); the syscalls in
// syscalls/sys_vmar.c.
//
// Shape: every VMAR keeps its children (sub-VMARs and mappings, both a `struct vm_region`) in a
// vmar_tree keyed by base; children never overlap and lie inside the parent. A VMAR is a kernel
// object (handles name it); a mapping is owned by its parent's tree alone and holds a reference
// on its VMO and a place in the VMO's list of mappings (vmo_add_mapping).
//
// Locking: the address space's locks (vm/aspace.h; the order is in vm/README.md).
// - `vm_aspace.lock` (a mutex) guards every tree, every VMAR's `alive` and every mapping field.
// - `vm_aspace.pt_lock` guards, together with the aspace lock for writers, a mapping's base, size,
//   vmo_offset and perms (vm_mapping_range_change reads them under pt_lock alone).
//
// Invariants (vmar_check_locked, aspace_check_pagetable in the tests):
// - children of an alive VMAR are alive, page-aligned, non-empty and inside it; the root covers
//   [USER_ASPACE_BASE, USER_ASPACE_END);
// - a mapping's perms are within its max_perms, and max_perms within its parent's CAN_MAP_*;
// - every present PTE in the user half lies in a mapping with READ, has USER, is writable only if
//   the mapping has WRITE and executable only if it has EXECUTE, and maps the page the VMO has at
//   that offset (or the shared zero page, read-only);
// - every mapping is in its VMO's list exactly while it is in its parent's tree.
#ifndef VM_VMAR_H
#define VM_VMAR_H

#include <zircon/rights.h>
#include <zircon/syscalls/object.h>
#include <zircon/types.h>

#include "kernel/assert.h"
#include "kernel/list.h"
#include "kernel/object.h"
#include "vm/aspace.h"
#include "vm/vmar_tree.h"

struct vmo;

#define VMAR_PERM_RWX (ZX_VM_PERM_READ | ZX_VM_PERM_WRITE | ZX_VM_PERM_EXECUTE)
#define VMAR_CAN_MAP_RWX (ZX_VM_CAN_MAP_READ | ZX_VM_CAN_MAP_WRITE | ZX_VM_CAN_MAP_EXECUTE)
// The CAN_MAP_* bits are the PERM_* bits shifted by this much.
#define VMAR_CAN_MAP_SHIFT 7
#define VMAR_ALIGN_MASK (0xffu << ZX_VM_ALIGN_BASE)

enum vm_region_kind { VM_REGION_VMAR = 1, VM_REGION_MAPPING = 2 };

// What VMARs and mappings share: an interval in the parent's tree.
struct vm_region {
    struct vmar_tree_node node;  // base and size (bytes); linked in parent->children while alive
    uint8_t kind;                // enum vm_region_kind
    struct vmar *parent;         // NULL for the root, and once unlinked
};

struct vmar {
    struct kobject obj;           // ZX_OBJ_TYPE_VMAR; the parent's tree holds one reference
    struct vm_region r;
    struct vm_aspace *aspace;     // holds an address-space reference (dropped when freed)
    uint32_t flags;               // ZX_VM_CAN_MAP_* | ZX_VM_CAN_MAP_SPECIFIC | ZX_VM_COMPACT
    bool alive;                   // aspace lock; false once destroyed (every call: BAD_STATE)
    bool is_root;
    struct vmar_tree children;    // aspace lock
    struct vmar *release_next;    // a deferred kobject_release (operation-local list)
};

struct vm_mapping {
    struct vm_region r;
    struct vm_aspace *aspace;     // the space it lives in (no reference: it cannot outlive it)
    struct vmo *vmo;              // holds a reference
    uint64_t vmo_offset;          // VMO offset of r.node.base (aspace lock + pt_lock)
    uint32_t perms;               // ZX_VM_PERM_* now (aspace lock + pt_lock)
    uint32_t max_perms;           // ZX_VM_PERM_* protect may grant: rights at map time; constant
    struct list_node vmo_node;    // free for the VMO layer's list of mappings (its tree lock)
    struct vm_mapping *free_next; // a deferred free (operation-local list)
};

// Clang's analysis names a lock by how it is reached: after `mutex_acquire(&as->lock)` it does
// not know that `vmar->aspace->lock`, or that of a mapping found in the tree, is the same lock.
// These check at run time that the caller holds the address space's lock and tell it so.
static inline void vmar_assert_locked(const struct vmar *v) ASSERT_CAPABILITY(v->aspace->lock);
static inline void vmar_assert_locked(const struct vmar *v) {
    ASSERT_MUTEX_HELD(&v->aspace->lock);
}
static inline void vm_mapping_assert_locked(const struct vm_mapping *m)
    ASSERT_CAPABILITY(m->aspace->lock);
static inline void vm_mapping_assert_locked(const struct vm_mapping *m) {
    ASSERT_MUTEX_HELD(&m->aspace->lock);
}

static inline vaddr_t vm_region_base(const struct vm_region *r) {
    return r->node.base;
}
static inline uint64_t vm_region_size(const struct vm_region *r) {
    return r->node.size;
}
static inline vaddr_t vm_region_end(const struct vm_region *r) {
    return r->node.base + r->node.size;
}
static inline struct vm_region *vm_region_from_node(struct vmar_tree_node *n) {
    return n ? containerof(n, struct vm_region, node) : NULL;
}
static inline struct vmar *vm_region_vmar(struct vm_region *r) {
    return r->kind == VM_REGION_VMAR ? containerof(r, struct vmar, r) : NULL;
}
static inline struct vm_mapping *vm_region_mapping(struct vm_region *r) {
    return r->kind == VM_REGION_MAPPING ? containerof(r, struct vm_mapping, r) : NULL;
}

// --- Operations. Each takes the aspace lock itself. Errors follow docs/abi.md §2. ---

// Creates a sub-VMAR of `parent`. `options`: ZX_VM_SPECIFIC, ZX_VM_OFFSET_IS_UPPER_LIMIT,
// ZX_VM_COMPACT, ZX_VM_CAN_MAP_SPECIFIC, ZX_VM_CAN_MAP_READ/WRITE/EXECUTE, ZX_VM_ALIGN_*.
// `offset` is relative to parent's base (0 unless SPECIFIC or OFFSET_IS_UPPER_LIMIT); `size` a
// non-zero page multiple. On ZX_OK *out is the new VMAR with one reference for the caller.
// ZX_ERR_INVALID_ARGS (unknown or disallowed options, alignment outside 10..32, size 0 or
// unaligned, offset unaligned or not allowed, outside the parent, misaligned specific base),
// ZX_ERR_BAD_STATE (parent destroyed), ZX_ERR_ACCESS_DENIED (CAN_MAP_* beyond the parent's, or
// SPECIFIC / OFFSET_IS_UPPER_LIMIT without the parent's CAN_MAP_SPECIFIC), ZX_ERR_ALREADY_EXISTS
// (SPECIFIC range not free), ZX_ERR_NO_RESOURCES (no room), ZX_ERR_NO_MEMORY.
zx_status_t vmar_allocate(struct vmar *parent, uint32_t options, uint64_t offset, uint64_t size,
                          struct vmar **out) MUST_USE;

// Maps [vmo_offset, vmo_offset + len) of `vmo` (len rounded up to pages). `options`: ZX_VM_PERM_*,
// ZX_VM_SPECIFIC, ZX_VM_SPECIFIC_OVERWRITE, ZX_VM_OFFSET_IS_UPPER_LIMIT, ZX_VM_MAP_RANGE,
// ZX_VM_ALLOW_FAULTS, ZX_VM_REQUIRE_NON_RESIZABLE, ZX_VM_ALIGN_*. `max_perms` (ZX_VM_PERM_*) is what
// the caller's handles allow: the requested perms must be within it, and protect can never grant
// more. The mapping takes its own VMO reference. On ZX_OK *out_addr is its base.
// ZX_ERR_INVALID_ARGS (options, WRITE or EXECUTE without READ, MAP_RANGE with SPECIFIC_OVERWRITE,
// len 0, unaligned offsets, outside the VMAR, a sub-VMAR under SPECIFIC_OVERWRITE),
// ZX_ERR_OUT_OF_RANGE (len's rounding or vmo_offset + len overflows), ZX_ERR_ACCESS_DENIED,
// ZX_ERR_NOT_SUPPORTED (REQUIRE_NON_RESIZABLE on a resizable VMO), ZX_ERR_BAD_STATE,
// ZX_ERR_ALREADY_EXISTS,
// ZX_ERR_NO_RESOURCES, ZX_ERR_NO_MEMORY.
zx_status_t vmar_map(struct vmar *vmar, uint32_t options, uint64_t vmar_offset, struct vmo *vmo,
                     uint64_t vmo_offset, uint64_t len, uint32_t max_perms,
                     vaddr_t *out_addr) MUST_USE;

// Unmaps [addr, addr + len) (len rounded up): splits or trims mappings it partly covers, destroys
// sub-VMARs it wholly covers, skips gaps. ZX_ERR_INVALID_ARGS (unaligned addr, len 0, outside the
// VMAR, a sub-VMAR partly covered), ZX_ERR_BAD_STATE, ZX_ERR_NO_MEMORY (a split; nothing changed).
zx_status_t vmar_unmap(struct vmar *vmar, vaddr_t addr, uint64_t len) MUST_USE;

// Sets the permissions (ZX_VM_PERM_*) of the mappings covering [addr, addr + len): splits at the
// ends, then merges neighbours left equal. All or nothing: ZX_ERR_INVALID_ARGS (unaligned, len 0,
// bad perms, outside the VMAR, a sub-VMAR in the range), ZX_ERR_NOT_FOUND (a gap),
// ZX_ERR_ACCESS_DENIED (beyond a mapping's max_perms), ZX_ERR_BAD_STATE, ZX_ERR_NO_MEMORY.
zx_status_t vmar_protect(struct vmar *vmar, uint32_t perms, vaddr_t addr, uint64_t len) MUST_USE;

// Destroys `vmar` and everything in it; handles stay valid and answer ZX_ERR_BAD_STATE.
// ZX_ERR_BAD_STATE (already destroyed), ZX_ERR_NOT_SUPPORTED (the root VMAR).
zx_status_t vmar_destroy(struct vmar *vmar) MUST_USE;

// ZX_VMAR_OP_COMMIT, _DECOMMIT (need WRITE in `rights`, the VMAR handle's, and in each mapping's
// max_perms) and _MAP_RANGE (needs READ in `rights`) over the mappings covering [addr, addr + len),
// which must all lie directly in `vmar`. ZX_ERR_INVALID_ARGS (unknown op, len 0, unaligned addr),
// ZX_ERR_BAD_STATE (destroyed), ZX_ERR_OUT_OF_RANGE (outside the VMAR), ZX_ERR_ACCESS_DENIED (the
// handle's rights), then walking the range in address order the first of ZX_ERR_BAD_STATE (a gap),
// ZX_ERR_INVALID_ARGS (a mapping inside a child VMAR), ZX_ERR_ACCESS_DENIED (a mapping without
// WRITE); then the VMO's errors.
zx_status_t vmar_op_range(struct vmar *vmar, uint32_t op, vaddr_t addr, uint64_t len,
                          zx_rights_t rights) MUST_USE;

// The rights a new handle to `vmar` gets: ZX_DEFAULT_VMAR_RIGHTS plus READ/WRITE/EXECUTE for each
// CAN_MAP_* it has.
zx_rights_t vmar_default_rights(const struct vmar *vmar);
struct kobject *vmar_object(struct vmar *vmar);
struct vmar *vmar_from_object(struct kobject *obj);
// ZX_INFO_VMAR for `vmar`: its base and length. ZX_ERR_BAD_STATE if it was destroyed.
zx_status_t vmar_get_info(struct vmar *vmar, zx_info_vmar_t *out) MUST_USE;
vaddr_t vmar_base(const struct vmar *vmar);
uint64_t vmar_size(const struct vmar *vmar);

// Checks every VMAR-tree invariant of the address space (trees, nesting, perms, VMO links are
// not visible here). Prints the first violation. O(n).
bool vmar_check_locked(struct vm_aspace *as) REQUIRES(as->lock);
bool vm_aspace_check(struct vm_aspace *as);

// Pre-order walk over every region below `root` (nested VMARs included, root excluded), in
// address order within each VMAR; *depth is 1 for root's children. Aspace lock held.
struct vm_region *vmar_walk_first(struct vmar *root, size_t *depth);
struct vm_region *vmar_walk_next(struct vmar *root, struct vm_region *r, size_t *depth);

// The mapping holding user address `va` (descending through nested VMARs), or NULL. Aspace lock
// held. Defined by vm/aspace.c (the fault path's look-up); the tests' page-table checker uses it.
struct vm_mapping *vm_aspace_find_mapping_locked(struct vm_aspace *as, vaddr_t va)
    REQUIRES(as->lock);
// The VMO mapped at `va` (a new reference in *out_vmo), the VMO offset `va` shows and the bytes
// from `va` to the mapping's end. ZX_ERR_NOT_FOUND if nothing is mapped there.
zx_status_t vm_aspace_vmo_at(struct vm_aspace *as, vaddr_t va, struct vmo **out_vmo,
                             uint64_t *out_offset, uint64_t *out_len) MUST_USE;
// The VMO (object) of each mapping, in address order: a new reference on each of the first `max`
// in out[]. Returns how many mappings there are.
size_t vm_aspace_mapped_vmos(struct vm_aspace *as, struct kobject **out, size_t max);
// ZX_INFO_TASK_STATS of the address space: every mapping's size, and its committed pages split
// as vmo_task_stats says. A page two mappings show counts twice.
void vm_aspace_task_stats(struct vm_aspace *as, zx_info_task_stats_t *out);

// --- Used by vm/aspace.c ---

// The mmu flags (ARCH_MMU_FLAG_*) a page of a mapping with `perms` gets; WRITE only if `writable`.
// Inline: every fault asks.
static inline uint32_t vmar_mmu_flags(uint32_t perms, bool writable) {
    uint32_t f = ARCH_MMU_FLAG_READ | ARCH_MMU_FLAG_USER;
    if ((perms & ZX_VM_PERM_WRITE) && writable)
        f |= ARCH_MMU_FLAG_WRITE;
    if (perms & ZX_VM_PERM_EXECUTE)
        f |= ARCH_MMU_FLAG_EXECUTE;
    return f;
}
// Destroys `vmar` (alive) and everything below it: children leave their trees, mappings leave
// their VMOs and go on *frees, VMAR references on *releases. The caller has unmapped the PTEs.
void vmar_destroy_locked(struct vmar *vmar, struct vmar **releases, struct vm_mapping **frees)
    REQUIRES(vmar->aspace->lock);
// Drops what vmar_destroy_locked deferred (call without the aspace lock).
void vmar_finish_deferred(struct vmar *releases, struct vm_mapping *frees);
// Maps the pages `m`'s VMO already has in [va, va + len) of the mapping (MAP_RANGE,
// fault-around) where nothing is mapped yet. Aspace lock held.
zx_status_t vm_mapping_map_present_locked(struct vm_mapping *m, vaddr_t va, uint64_t len)
    REQUIRES(m->aspace->lock);
// Creates the root VMAR of `as`; one reference for the caller.
zx_status_t vmar_create_root(struct vm_aspace *as, struct vmar **out) MUST_USE;

#endif  // VM_VMAR_H
