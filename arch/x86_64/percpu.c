// The one CPU's per-CPU block. Kernel mode runs with GS_BASE = &percpu0; user mode with
// KERNEL_GS_BASE = &percpu0 (swapgs exchanges them on entry and exit).
#include "arch/x86_64/percpu.h"

#include "arch/x86_64/cpu.h"

struct percpu percpu0;

void percpu_init(void) {
    percpu0.self = &percpu0;
    wrmsr(MSR_GS_BASE, (uint64_t)&percpu0);
    wrmsr(MSR_KERNEL_GS_BASE, 0);
}
