// The #PF entry: the x86 half of the fault path. It reads CR2 and the error code, decides whether
// the fault is one the VM may resolve, and calls the generic vm_fault with arch-neutral flags on
// the address space in CR3. A fault from user mode comes straight from traps.S's page_fault_entry
// (trap_user_page_fault); arch_page_fault, the trap layer's hook, sees the kernel-mode ones. What is resolved: faults from user mode, and faults of the user-copy
// instruction (arch_user_copy_insn in usercopy.S, with its extable fixup) on user addresses.
// Everything else in kernel mode is a kernel bug and goes back to the trap layer (false).
//
// A fault of the no-fault copy (arch_user_copy_nofault_insn) on a user address is never resolved
// here: its caller holds VM locks; the copy returns ZX_ERR_SHOULD_WAIT and the address, and the
// caller faults the page in once it has let go of them.
//
// An unresolved user-copy fault writes vm_fault's status into the frame's rax, which usercopy.S's
// fixup returns (rax holds ZX_ERR_NOT_FOUND from before the copy for faults nobody explains). An
// unresolved user-mode fault is reported on the console, its address and status noted in the
// thread, and left to the process layer (an exception: kernel/exception.h).
#include "arch/x86_64/faults.h"

#include "arch/x86_64/cpu.h"
#include "arch/x86_64/trap.h"
#include "kernel/oom.h"
#include "kernel/printf.h"
#include "kernel/thread.h"
#include "vm/aspace.h"

_Static_assert(ZX_ERR_NOT_FOUND == -25, "usercopy.S presets rax to -25 (ZX_ERR_NOT_FOUND)");

extern char arch_user_copy_insn[], arch_user_copy_insn_tail[];
extern char arch_user_copy_nofault_insn[], arch_user_copy_nofault_insn_tail[];

// The VM_FAULT_* flags of an error code's low five bits (PF_RSVD, bit 3, is dealt with before):
// a table, not four tests, on every fault.
#define PF_FLAGS(e)                                                                         \
    (((e) & PF_WRITE ? VM_FAULT_WRITE : 0) | ((e) & PF_FETCH ? VM_FAULT_INSTRUCTION : 0) | \
     ((e) & PF_USER ? VM_FAULT_USER : 0) | ((e) & PF_PRESENT ? 0 : VM_FAULT_NOT_PRESENT))
#define PF_FLAGS4(e) PF_FLAGS(e), PF_FLAGS((e) + 1), PF_FLAGS((e) + 2), PF_FLAGS((e) + 3)
static const uint8_t pf_flags[32] = {
    PF_FLAGS4(0),  PF_FLAGS4(4),  PF_FLAGS4(8),  PF_FLAGS4(12),
    PF_FLAGS4(16), PF_FLAGS4(20), PF_FLAGS4(24), PF_FLAGS4(28),
};

static uint32_t fault_flags(uint64_t err) {
    return pf_flags[err & 31];
}

static const char *access_name(uint32_t flags) {
    if (flags & VM_FAULT_WRITE)
        return "write";
    if (flags & VM_FAULT_INSTRUCTION)
        return "execute";
    return "read";
}

// A user-mode fault vm_fault did not resolve with its first answer: out of memory (reclaim or
// OOM-kill, then retry), or a fault to report. Out of line: the common case never comes here.
static NOINLINE bool user_fault_unresolved(struct trap_frame *tf, struct vm_aspace *as, vaddr_t va,
                                           uint32_t flags, zx_status_t st, const char *why) {
    // Out of memory in a user access: reclaim or OOM-kill (no lock is held here) and retry.
    for (unsigned tries = 0; st == ZX_ERR_NO_MEMORY;) {
        enum oom_verdict v = oom_retry(&tries);
        if (v == OOM_CALLER_KILLED)
            return true;  // the process is being killed: the thread leaves on its way out
        if (v != OOM_RETRY)
            break;
        st = vm_fault(as, va, flags, &why);
    }
    if (st == ZX_OK)
        return true;
    struct thread *self = thread_current();
    self->user_fault_addr = va;
    self->user_fault_status = st;
    kprintf("page fault: '%s': user %s at %#llx (rip %#llx): %s\n", as ? as->name : "",
            access_name(flags), (unsigned long long)va, (unsigned long long)tf->rip, why);
    return false;
}

// Inline into trap_user_page_fault (one frame less on every fault), out of line for
// arch_page_fault.
static ALWAYS_INLINE bool user_page_fault(struct trap_frame *tf) {
    vaddr_t va = read_cr2();
    uint64_t err = tf->error_code;
    if (unlikely(err & PF_RSVD))
        return false;
    uint32_t flags = fault_flags(err);
    struct vm_aspace *as = vm_aspace_active();
    const char *why;
    zx_status_t st = vm_fault(as, va, flags, &why);
    if (likely(st == ZX_OK))
        return true;
    return user_fault_unresolved(tf, as, va, flags, st, why);
}

bool trap_user_page_fault(struct trap_frame *tf) {
    if (unlikely(!user_page_fault(tf)))
        return false;  // an exception: its handlers need the whole frame (traps.S completes it)
    if (trap_user_return_hook)
        trap_user_return_hook(tf);
    return true;
}

void trap_user_page_fault_exception(struct trap_frame *tf) {
    trap_exception(tf);
    if (trap_user_return_hook)
        trap_user_return_hook(tf);
}

bool arch_page_fault(struct trap_frame *tf) {
    uint64_t err = tf->error_code;
    if (err & PF_USER)
        return user_page_fault(tf);
    vaddr_t va = read_cr2();
    bool in_nofault = tf->rip == (uint64_t)arch_user_copy_nofault_insn ||
                      tf->rip == (uint64_t)arch_user_copy_nofault_insn_tail;
    if (in_nofault && !(err & PF_RSVD) && va >= USER_ASPACE_BASE && va < USER_ASPACE_END) {
        // The caller holds VM locks: resolve nothing here, report where (usercopy.S's fixup).
        tf->rax = (uint64_t)(int64_t)ZX_ERR_SHOULD_WAIT;
        tf->rdx = va;
        return false;
    }
    bool in_copy = tf->rip == (uint64_t)arch_user_copy_insn ||
                   tf->rip == (uint64_t)arch_user_copy_insn_tail;
    if ((err & PF_RSVD) || !in_copy || !(va >= USER_ASPACE_BASE && va < USER_ASPACE_END))
        return false;  // a kernel bug (the kernel side of a copy included)
    uint32_t flags = fault_flags(err);
    struct vm_aspace *as = vm_aspace_active();
    const char *why;
    zx_status_t st = vm_fault(as, va, flags, &why);
    if (st == ZX_OK)
        return true;
    tf->rax = (uint64_t)(int64_t)st;  // the copy's return value, once the fixup runs
    return false;
}
