// panic(): report a kernel bug and stop. Inside an in-kernel test, only that test is abandoned.
#include <stdarg.h>

#include "arch/x86_64/cpu.h"
#include "arch/x86_64/ipi.h"
#include "arch/x86_64/qemu.h"
#include "kernel/assert.h"
#include "kernel/backtrace.h"
#include "kernel/ktest_runner.h"
#include "kernel/printf.h"

static int panic_depth;

void panic(const char *fmt, ...) {
    irq_disable();
    if (++panic_depth > 1) {
        // Panicking while panicking: print nothing more that could fault again.
        kprintf("\nPANIC (nested)\n");
        qemu_exit(false);
    }
    va_list ap;
    va_start(ap, fmt);
    kprintf("\nPANIC: ");
    kvprintf(fmt, ap);
    kprintf("\n");
    va_end(ap);
    backtrace_print();
    if (ktest_panic_expected()) {
        panic_depth--;
        ktest_resume_after_panic();
    }
    if (ktest_running()) {
        panic_depth--;
        kprintf("    (the running test panicked)\n");
        ktest_abort_current();
    }
    ipi_report_self("panicked", (uint64_t)__builtin_return_address(0));
    ipi_stop_others();
    kprintf("kernel stopped: panic\n");
    qemu_exit(false);
}
