// Symmetric multiprocessing: which CPUs the machine has (ACPI MADT), starting the application
// processors (APs) through the real-mode trampoline, and the inter-processor interrupts (IPIs)
// between them. docs/smp.md tells the whole story.
//
// CPU numbers are dense, 0 .. smp_cpus_online() - 1; the bootstrap processor (BSP) is CPU 0 and
// the APs follow in MADT order. A CPU's number never changes once it is online (CPUs never go
// offline, except by a stop, which ends the machine).
#ifndef ARCH_X86_64_SMP_H
#define ARCH_X86_64_SMP_H

#include "kernel/types.h"

// The most CPUs Jasper runs on; MADT entries past this are ignored (and counted in the boot log).
#define SMP_MAX_CPUS 64

struct trap_frame;

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
// The calling CPU's number (interrupts off or preemption impossible, or the answer may be stale).
unsigned smp_cpu_num(void);

// Checks the per-CPU invariants of every online CPU (numbers dense, GS blocks distinct and
// self-pointing, local APIC ids distinct and matching the MADT). Returns true if they hold and
// prints the first violation otherwise.
bool smp_check(void);

// --- Inter-processor interrupts --------------------------------------------------------------
enum smp_ipi {
    IPI_RESCHEDULE,  // re-evaluate what runs on the target (ends its hlt)
    IPI_TLB,         // run tlb_ipi_handler() on the target (kernel/tlb_ipi.h)
    IPI_PING,        // count and acknowledge (for tests and for debugging a silent CPU)
    IPI_COUNT,
};

// Sends `ipi` to online CPU `cpu` (which may be the caller).
void smp_send_ipi(unsigned cpu, enum smp_ipi ipi);
// Sends `ipi` to every online CPU but the caller.
void smp_send_ipi_others(enum smp_ipi ipi);
// How many `ipi`s CPU `cpu` has handled since boot.
uint64_t smp_ipi_count(unsigned cpu, enum smp_ipi ipi);

// Stops every other online CPU with an NMI; each prints its number, rip and current thread and
// halts with interrupts off. Waits up to one second for their reports. Called on the way to a
// panic's or an unhandled exception's end; the caller has printed its own state. Idempotent.
void smp_stop_others(void);
// Prints the calling CPU's number and current thread (the first line of a panic report).
void smp_report_self(void);
// The NMI handler's first step: true if the NMI was a stop (then it does not return).
bool smp_handle_nmi(struct trap_frame *tf);

#endif  // ARCH_X86_64_SMP_H
