// A user address space: the hardware tables (arch_aspace) plus the tree of regions (VMARs) and
// mappings that says what may be there, and the page-fault path that fills the tables on demand.
//
// Contract between the mapping layer (vm/vmar.h) and the process layer (kernel/process.c).
#ifndef VM_ASPACE_H
#define VM_ASPACE_H

#include <zircon/syscalls/object.h>
#include <zircon/types.h>

#include "arch/x86_64/trap.h"
#include "kernel/object.h"
#include "kernel/types.h"

struct vm_aspace;
struct vmar;

// Creates an address space whose root VMAR covers [USER_ASPACE_BASE, USER_ASPACE_END) with every
// CAN_MAP_* capability. `name` (may be NULL) labels it in ZX_INFO_PROCESS_MAPS. ZX_ERR_NO_MEMORY.
zx_status_t vm_aspace_create(const char *name, struct vm_aspace **out) MUST_USE;

// Tears the address space down: destroys the root VMAR and everything under it (VMAR handles
// still open answer ZX_ERR_BAD_STATE afterwards), unmaps and frees every table page, and drops
// the references its mappings held on VMOs. `as` must not be active. Frees `as` once the last
// reference from VMAR objects is gone.
void vm_aspace_destroy(struct vm_aspace *as);

// Switches the CPU to `as` (NULL: the kernel's address space only).
void vm_aspace_activate(struct vm_aspace *as);

// The root VMAR (a kernel object, ZX_OBJ_TYPE_VMAR); the caller gets a new reference.
struct vmar *vm_aspace_root_vmar(struct vm_aspace *as);
struct kobject *vmar_object(struct vmar *vmar);

// The page-fault handler (installed as trap_page_fault_hook). For a fault in user mode, or in a
// user-copy helper on a user address, it finds the mapping of the current thread's address space,
// checks the access and maps the page; it returns true if the faulting instruction can resume.
// When it cannot resolve a user-copy fault it records ZX_ERR_NOT_FOUND (no mapping) or
// ZX_ERR_ACCESS_DENIED (not permitted) with user_copy_set_fault_status and returns false (the
// copy's fixup then returns that status). An unresolvable user-mode fault prints the address,
// access and reason on the console and returns false (the process layer then kills the process).
bool vm_page_fault(struct trap_frame *tf);

// ZX_INFO_VMAR for `vmar`: its base and length. ZX_ERR_BAD_STATE if it was destroyed.
zx_status_t vmar_get_info(struct vmar *vmar, zx_info_vmar_t *out) MUST_USE;
struct vmar *vmar_from_object(struct kobject *obj);

// ZX_INFO_PROCESS_MAPS: writes up to `max` records of the address space, depth-first pre-order
// (the address space itself at depth 0, the root VMAR at depth 1, ...), into the kernel buffer
// `out`, and the number written and the number there are into *out_actual and *out_avail.
void vm_aspace_get_maps(struct vm_aspace *as, zx_info_maps_t *out, size_t max, size_t *out_actual,
                        size_t *out_avail);

// The address space of the running thread (NULL for kernel threads); set by the process layer.
struct vm_aspace *vm_aspace_current(void);

#endif  // VM_ASPACE_H
