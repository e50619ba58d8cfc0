// Trap dispatch: CPU exceptions and interrupts. A kernel-mode exception that nothing handles is a
// kernel bug: it is reported (vector, error code, CR2, registers, backtrace) and the machine stops
// with a failure status, unless an in-kernel test is running, in which case only that test fails.
#include "arch/x86_64/trap.h"

#include "arch/x86_64/cpu.h"
#include "arch/x86_64/faults.h"
#include "arch/x86_64/ipi.h"
#include "arch/x86_64/qemu.h"
#include "kernel/backtrace.h"
#include "kernel/extable.h"
#include "kernel/ktest_runner.h"
#include "kernel/printf.h"

static irq_handler_fn irq_handlers[256];

static const char *const exception_names[32] = {
    [0] = "#DE divide error",
    [1] = "#DB debug",
    [2] = "NMI",
    [3] = "#BP breakpoint",
    [4] = "#OF overflow",
    [5] = "#BR bound range",
    [6] = "#UD invalid opcode",
    [7] = "#NM device not available",
    [8] = "#DF double fault",
    [10] = "#TS invalid TSS",
    [11] = "#NP segment not present",
    [12] = "#SS stack fault",
    [13] = "#GP general protection",
    [14] = "#PF page fault",
    [16] = "#MF x87 error",
    [17] = "#AC alignment check",
    [18] = "#MC machine check",
    [19] = "#XM SIMD error",
    [20] = "#VE virtualization",
    [21] = "#CP control protection",
};

const char *trap_name(uint64_t vector) {
    if (vector < 32 && exception_names[vector])
        return exception_names[vector];
    return vector < 32 ? "reserved exception" : "interrupt";
}

void trap_set_irq_handler(unsigned vector, irq_handler_fn fn) {
    irq_handlers[vector & 0xff] = fn;
}

void trap_report(const struct trap_frame *tf) {
    kprintf("\n*** %s (vector %llu) in %s mode, error code %#llx\n", trap_name(tf->vector),
            (unsigned long long)tf->vector, (tf->cs & 3) ? "user" : "kernel",
            (unsigned long long)tf->error_code);
    if (tf->vector == TRAP_PF) {
        uint64_t e = tf->error_code;
        kprintf("    cr2 %#018llx: %s of a %s page, %s mode%s%s\n", (unsigned long long)read_cr2(),
                (e & PF_FETCH) ? "instruction fetch" : (e & PF_WRITE) ? "write" : "read",
                (e & PF_PRESENT) ? "present" : "not-present", (e & PF_USER) ? "user" : "kernel",
                (e & PF_RSVD) ? ", reserved bit set" : "", "");
    } else {
        kprintf("    cr2 %#018llx\n", (unsigned long long)read_cr2());
    }
    char sym[96];
    ksym_format(tf->rip, sym, sizeof(sym));
    kprintf("    rip %#018llx %s\n", (unsigned long long)tf->rip, sym);
    kprintf("    rax %#018llx rbx %#018llx rcx %#018llx\n", (unsigned long long)tf->rax,
            (unsigned long long)tf->rbx, (unsigned long long)tf->rcx);
    kprintf("    rdx %#018llx rsi %#018llx rdi %#018llx\n", (unsigned long long)tf->rdx,
            (unsigned long long)tf->rsi, (unsigned long long)tf->rdi);
    kprintf("    rbp %#018llx rsp %#018llx r8  %#018llx\n", (unsigned long long)tf->rbp,
            (unsigned long long)tf->rsp, (unsigned long long)tf->r8);
    kprintf("    r9  %#018llx r10 %#018llx r11 %#018llx\n", (unsigned long long)tf->r9,
            (unsigned long long)tf->r10, (unsigned long long)tf->r11);
    kprintf("    r12 %#018llx r13 %#018llx r14 %#018llx\n", (unsigned long long)tf->r12,
            (unsigned long long)tf->r13, (unsigned long long)tf->r14);
    kprintf("    r15 %#018llx rflags %#llx cs %#llx ss %#llx\n", (unsigned long long)tf->r15,
            (unsigned long long)tf->rflags, (unsigned long long)tf->cs,
            (unsigned long long)tf->ss);
    kprintf("    cr0 %#llx cr3 %#llx cr4 %#llx\n", (unsigned long long)read_cr0(),
            (unsigned long long)read_cr3(), (unsigned long long)read_cr4());
    if (!(tf->cs & 3)) {
        kprintf("  backtrace:\n");
        backtrace_print_from(tf->rip, tf->rbp);
    }
}

// Hooks: the page-fault one is the arch's own (faults.c; a test may stand in for it), the user
// ones the process layer's, NULL until it exists.
trap_hook_fn trap_page_fault_hook = arch_page_fault;
trap_hook_fn trap_user_exception_hook;
void (*trap_user_return_hook)(struct trap_frame *tf);

static void kernel_exception(struct trap_frame *tf) {
    // A fault inside a user-copy helper returns an error to its caller instead.
    uint64_t fixup = extable_find(tf->rip);
    if (fixup) {
        tf->rip = fixup;
        return;
    }
    trap_report(tf);
    if (ktest_running()) {
        kprintf("    (the running test faulted)\n");
        ktest_abort_current();  // does not return
    }
    ipi_report_self("faulted", tf->rip);
    ipi_stop_others();
    kprintf("kernel stopped: unhandled exception\n");
    qemu_exit(false);
}

void trap_exception(struct trap_frame *tf) {
    if ((tf->cs & 3) && trap_user_exception_hook && trap_user_exception_hook(tf))
        return;
    if (tf->cs & 3) {
        // No process layer yet to kill the offender: report and stop.
        trap_report(tf);
        ipi_report_self("faulted", tf->rip);
        ipi_stop_others();
        kprintf("kernel stopped: unhandled user exception\n");
        qemu_exit(false);
    }
    kernel_exception(tf);
}

static void handle_trap(struct trap_frame *tf) {
    if (tf->vector >= TRAP_IRQ_BASE) {
        irq_handler_fn fn = irq_handlers[tf->vector];
        if (fn)
            fn(tf);
        return;
    }
    if (tf->vector == TRAP_NMI && ipi_handle_nmi(tf))
        return;  // (a stop never returns)
    if (tf->vector == TRAP_PF && trap_page_fault_hook && trap_page_fault_hook(tf))
        return;
    trap_exception(tf);
}

void trap_dispatch(struct trap_frame *tf) {
    handle_trap(tf);
    if ((tf->cs & 3) && trap_user_return_hook)
        trap_user_return_hook(tf);
}
