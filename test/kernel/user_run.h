// Running a few instructions in ring 3 from an in-kernel test or benchmark, to take real user-mode
// page faults without the process layer. Kernel only.
//
// user_run() starts a kernel thread that activates `as`, disables interrupts (so nothing can switch
// address spaces under it) and enters user mode at `entry` with the given registers. The run ends at
// the first exception the VM does not resolve: `ud2` is the normal end (vector 6); an unresolvable
// page fault ends it with vector 14 and CR2. The faults the VM resolves are invisible, as for a
// process (the #PF handler is arch_page_fault, as always).
#ifndef TEST_KERNEL_USER_RUN_H
#define TEST_KERNEL_USER_RUN_H

#include "kernel/types.h"
#include "vm/vmar.h"

struct user_regs {
    uint64_t rax, rbx, rcx, rdx, rsi, rdi;
};

struct user_result {
    uint64_t vector;      // 6 (#UD: ud2, the normal end), 14 (#PF), ...
    uint64_t error_code;
    uint64_t cr2;         // for #PF
    uint64_t rip;
    struct user_regs regs;
};

// Machine code for the tests (offsets into user_code[]):
//   USER_RW:    rax = *(u64 *)rdi; *(u64 *)rdx = rsi; rbx = *(u64 *)rdx; ud2
//   USER_WLOOP: rcx times: *(u8 *)rdi = 1; rdi += 4096; then ud2 (rcx >= 1)
//   USER_RLOOP: rcx times: al = *(u8 *)rdi; rdi += 4096; then ud2 (rcx >= 1)
//   USER_*_END: the ud2 after each loop (an empty run, for baselines)
extern const uint8_t user_code[];
extern const size_t user_code_size;
#define USER_RW 0x00
#define USER_WLOOP 0x0b
#define USER_WLOOP_END 0x1a
#define USER_RLOOP 0x1c
#define USER_RLOOP_END 0x2a

// Runs until the first unresolved exception. ZX_ERR_NO_MEMORY if the thread cannot be created.
zx_status_t user_run(struct vm_aspace *as, vaddr_t entry, const struct user_regs *in,
                     struct user_result *out) MUST_USE;

#endif  // TEST_KERNEL_USER_RUN_H
