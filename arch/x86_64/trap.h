// Traps: the saved register frame, the IDT and the exception report.
#ifndef ARCH_X86_64_TRAP_H
#define ARCH_X86_64_TRAP_H

#include "kernel/types.h"

// The frame traps.S builds on the kernel stack; its layout is fixed by that file.
struct trap_frame {
    uint64_t r15, r14, r13, r12, r11, r10, r9, r8;
    uint64_t rbp, rdi, rsi, rdx, rcx, rbx, rax;
    uint64_t vector;
    uint64_t error_code;
    // Pushed by the CPU.
    uint64_t rip, cs, rflags, rsp, ss;
};
_Static_assert(sizeof(struct trap_frame) == 22 * 8, "trap frame layout is fixed by traps.S");

#define TRAP_DE 0
#define TRAP_DB 1
#define TRAP_NMI 2
#define TRAP_BP 3
#define TRAP_UD 6
#define TRAP_DF 8
#define TRAP_GP 13
#define TRAP_PF 14
#define TRAP_MC 18
#define TRAP_IRQ_BASE 32

// Page-fault error code bits.
#define PF_PRESENT 0x1
#define PF_WRITE 0x2
#define PF_USER 0x4
#define PF_RSVD 0x8
#define PF_FETCH 0x10

// On the BSP, first thing: fills the IDT and loads it with CPU 0's GDT and TSS (with IST stacks
// for double fault, NMI and machine check).
void arch_descriptors_init(void);
// On the BSP, for AP `cpu` before starting it: allocates its IST stacks and fills its GDT and TSS.
// Returns ZX_ERR_NO_MEMORY if the stacks cannot be had.
zx_status_t arch_descriptors_prepare(unsigned cpu) MUST_USE;
// On CPU `cpu`: loads its GDT and TSS and the shared IDT.
void arch_descriptors_load(unsigned cpu);

// Called by traps.S for every trap but a #PF from user mode.
void trap_dispatch(struct trap_frame *tf);
// Called by traps.S for a #PF from user mode (arch/x86_64/faults.c) with only the caller-saved
// registers (and the CPU's part) in `tf`: resolves it as arch_page_fault would and runs the
// user-return hook, then returns true; returns false if it was not resolved, and the stub
// completes the frame and calls trap_user_page_fault_exception. Not through
// trap_page_fault_hook: tests stand in for that one for kernel faults only, and the generic
// dispatch cost every fault a compare chain and a load.
bool trap_user_page_fault(struct trap_frame *tf);
// The unresolved user #PF, with the whole frame: trap_exception, then the user-return hook.
void trap_user_page_fault_exception(struct trap_frame *tf);
// What trap_dispatch does with an exception nothing resolved: the process layer's user exception
// hook, a user-copy fixup, or a kernel bug's report.
void trap_exception(struct trap_frame *tf);

// Prints the vector, error code, CR2, every register and a backtrace.
void trap_report(const struct trap_frame *tf);

// Returns the name of an exception vector ("#PF page fault", ...).
const char *trap_name(uint64_t vector);

// An interrupt handler for vector `vector` (32..255); NULL removes it.
typedef void (*irq_handler_fn)(struct trap_frame *tf);
void trap_set_irq_handler(unsigned vector, irq_handler_fn fn);

// A hook returns true if it handled the trap (the faulting code may resume).
typedef bool (*trap_hook_fn)(struct trap_frame *tf);
// Tried first for every #PF from kernel mode: arch_page_fault (arch/x86_64/faults.h) unless a
// test stands in. (A #PF from user mode goes to trap_user_page_fault directly.)
extern trap_hook_fn trap_page_fault_hook;
// Tried for exceptions from user mode the page-fault hook did not handle (kills the process).
extern trap_hook_fn trap_user_exception_hook;

// Runs before every return to user mode from a trap (the process layer ends threads of killed
// processes here). After a resolved user #PF the frame's callee-saved registers (rbx, rbp,
// r12-r15) are not in it (traps.S): the hook must not read or change registers through `tf`.
extern void (*trap_user_return_hook)(struct trap_frame *tf);

// Sets the stack the calling CPU switches to on a trap from user mode (its TSS.rsp0).
void arch_set_kernel_stack(vaddr_t top);

#endif  // ARCH_X86_64_TRAP_H
