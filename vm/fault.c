// The #PF entry (kernel only): decodes the trap and resolves it through vm_aspace_fault on the
// address space in CR3. Also the boot-time ASLR inputs (the TSC, the `aslr` command-line key).
//
// What is resolved: faults from user mode, and faults of the user-copy instruction
// (arch_user_copy_insn, with its extable fixup) on user addresses. Everything else in kernel mode
// is a kernel bug and goes back to the trap layer (false). A user-copy fault that cannot be
// resolved records NOT_FOUND / ACCESS_DENIED / NO_MEMORY for the copy's caller; a user-mode fault
// that cannot be resolved is reported on the console and left to the process layer (which kills
// the process with ZX_TASK_RETCODE_EXCEPTION_KILL).
#include "arch/x86_64/cpu.h"
#include "arch/x86_64/trap.h"
#include "kernel/cmdline.h"
#include "kernel/printf.h"
#include "syscalls/user_copy.h"
#include "vm/vmar.h"

extern char arch_user_copy_insn[];

bool aslr_boot_enabled(void) {
    // Absent or any true value: on. `aslr=0` (or false/off/no): off.
    return !cmdline_get(&kernel_cmdline, "aslr") || cmdline_get_bool(&kernel_cmdline, "aslr");
}

uint64_t aslr_boot_entropy(void) {
    uint64_t a = rdtsc();
    uint64_t b = rdtsc();
    return a * 0x9e3779b97f4a7c15ull ^ (b << 17) ^ (b >> 13);
}

static const char *access_name(uint32_t flags) {
    if (flags & VM_FAULT_WRITE)
        return "write";
    if (flags & VM_FAULT_EXEC)
        return "execute";
    return "read";
}

bool vm_page_fault(struct trap_frame *tf) {
    vaddr_t va = read_cr2();
    uint64_t err = tf->error_code;
    bool user = (err & PF_USER) != 0;
    bool in_copy = !user && tf->rip == (uint64_t)arch_user_copy_insn;
    if ((err & PF_RSVD) || (!user && !in_copy))
        return false;
    bool user_va = va >= USER_ASPACE_BASE && va < USER_ASPACE_END;
    if (in_copy && !user_va)
        return false;  // the kernel side of a copy: a kernel bug
    uint32_t flags = (err & PF_WRITE) ? VM_FAULT_WRITE : (err & PF_FETCH) ? VM_FAULT_EXEC : 0;
    struct vm_aspace *as = vm_aspace_active();
    zx_status_t st = ZX_ERR_NOT_FOUND;
    const char *why = !user_va ? "outside the user address space" : "no address space";
    if (user_va && as)
        st = vm_aspace_fault(as, va, flags, &why);
    if (st == ZX_OK)
        return true;
    if (in_copy) {
        user_copy_set_fault_status(st);
        return false;
    }
    kprintf("page fault: '%s': user %s at %#llx (rip %#llx): %s\n", as ? as->name : "",
            access_name(flags), (unsigned long long)va, (unsigned long long)tf->rip, why);
    return false;
}
