// The x86-64 page-fault entry and the user-copy primitive whose faults it explains.
#ifndef ARCH_X86_64_FAULTS_H
#define ARCH_X86_64_FAULTS_H

#include "kernel/types.h"

struct trap_frame;

// The #PF handler (the default trap_page_fault_hook). Decodes CR2 and the error code into
// VM_FAULT_* flags and resolves the fault with vm_fault on the active address space, for a fault
// from user mode or from the user-copy instruction on a user address; returns true if the
// faulting instruction can resume. Anything else in kernel mode returns false (the trap layer
// treats it as a kernel bug, or resumes at an extable fixup). An unresolved user-copy fault
// leaves its verdict in the frame for arch_user_copy to return; an unresolved user-mode fault is
// reported on the console, and the trap layer hands it to the process layer.
bool arch_page_fault(struct trap_frame *tf);

// Copies `len` bytes between kernel and user memory (either side may be the user one; the caller
// has checked the user range). ZX_OK, or why a page could not be faulted in: ZX_ERR_NOT_FOUND (no
// mapping, or beyond the VMO's end), ZX_ERR_ACCESS_DENIED (not permitted), ZX_ERR_NO_MEMORY.
// The verdict travels in rax from the fault handler to usercopy.S's fixup: no shared state.
zx_status_t arch_user_copy(void *dst, const void *src, size_t len) MUST_USE;

// The same copy for callers holding VM locks (a VMO's tree lock): a fault on the user side is not
// resolved but ends the copy with ZX_ERR_SHOULD_WAIT and the faulting user address in *fault_va
// (the caller unlocks, faults it in with vm_fault, and copies again). Bytes before the fault may
// have been copied. ZX_OK when everything was copied.
zx_status_t arch_user_copy_nofault(void *dst, const void *src, size_t len,
                                   uint64_t *fault_va) MUST_USE;

// Whether the CPU has SMAP (stac/clac around the copy); set by user_copy_init.
extern bool arch_has_smap;

#endif  // ARCH_X86_64_FAULTS_H
