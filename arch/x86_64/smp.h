// Symmetric multiprocessing: which CPUs the machine has (ACPI MADT) and starting the application
// processors (APs) through the real-mode trampoline. IPIs between them: ipi.h. docs/smp.md tells
// the whole story.
//
// CPU numbers are dense, 0 .. smp_cpus_online() - 1; the bootstrap processor (BSP) is CPU 0 and
// the APs follow in MADT order. A CPU's number never changes once it is online (CPUs never go
// offline, except by a stop, which ends the machine).
#ifndef ARCH_X86_64_SMP_H
#define ARCH_X86_64_SMP_H

#include "kernel/types.h"

// The most CPUs Jasper runs on; MADT entries past this are ignored (and counted in the boot log).
#define SMP_MAX_CPUS 64

// Before pmm_init, on the boot page tables (which map the low 4 GiB at the physmap, where the
// firmware keeps the ACPI tables): reads the MADT for the CPUs' local APIC ids, and takes the
// trampoline's pages below 1 MiB out of physical_ranges so the pmm never hands them out. Without
// usable ACPI tables the machine is taken to have one CPU.
void smp_init_early(void);

// After the scheduler's tick runs on the BSP: starts every AP the MADT listed, one at a time
// (INIT, SIPI, SIPI), waits for each to count itself in, and prints "cpus: N online". An AP that
// does not answer within its time is reported and no further AP is started.
void smp_start_aps(void);

// CPUs counted in so far (1 before smp_start_aps).
unsigned smp_cpus_online(void);
// CPUs the MADT listed (1 without ACPI).
unsigned smp_cpus_found(void);
// The calling CPU's number (arch_cpu_num's answer; host builds supply a function). The caller
// keeps interrupts off or cannot migrate, or the answer may be stale.
#if JASPER_KERNEL
// Offset of struct percpu's cpu_num (percpu.h checks it): one %gs load, no call, for the fault
// path's look-up of the active address space.
#define SMP_PERCPU_CPU_NUM_OFFSET 32
static inline unsigned smp_cpu_num(void) {
    unsigned n;
    __asm__ volatile("movl %%gs:%c1, %0" : "=r"(n) : "i"(SMP_PERCPU_CPU_NUM_OFFSET));
    return n;
}
#else
unsigned smp_cpu_num(void);
#endif

// Checks the per-CPU invariants of every online CPU (numbers dense, GS blocks distinct and
// self-pointing, local APIC ids distinct and matching the MADT). Returns true if they hold and
// prints the first violation otherwise.
bool smp_check(void);

// Prints one line per online CPU: number, APIC id, ticks, running thread, IPIs handled.
void smp_print_cpus(void);

#endif  // ARCH_X86_64_SMP_H
