// The per-CPU blocks. Kernel mode runs with GS_BASE = &percpu_cpus[n] on CPU n; user mode with
// KERNEL_GS_BASE holding it (swapgs exchanges the two on entry and exit).
#include "arch/x86_64/percpu.h"

#include "arch/x86_64/cpu.h"

struct percpu percpu_cpus[SMP_MAX_CPUS];

void percpu_init(unsigned cpu_num) {
    struct percpu *p = &percpu_cpus[cpu_num];
    p->self = p;
    p->cpu_num = cpu_num;
    wrmsr(MSR_GS_BASE, (uint64_t)p);
    wrmsr(MSR_KERNEL_GS_BASE, 0);
}
