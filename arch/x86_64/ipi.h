// Inter-processor interrupts: fixed-vector IPIs between online CPUs (vectors in lapic.h), and
// stopping every other CPU with an NMI when the kernel dies.
#ifndef ARCH_X86_64_IPI_H
#define ARCH_X86_64_IPI_H

#include "kernel/types.h"

struct trap_frame;

enum ipi {
    IPI_RESCHEDULE,  // re-evaluate what runs on the target (for now: only ends its hlt)
    IPI_TLB,         // the target runs tlb_ipi_handler() (arch/x86_64/tlb_ipi.h)
    IPI_PING,        // the target only counts it (tests; checking that a CPU still answers)
    IPI_COUNT,
};

// Installs the IPI handlers; on the BSP, before the first AP starts.
void ipi_init(void);
// Sends `ipi` to online CPU `cpu` (which may be the caller).
void ipi_send(unsigned cpu, enum ipi ipi);
// Sends `ipi` to every online CPU but the caller.
void ipi_send_others(enum ipi ipi);
// How many `ipi`s CPU `cpu` has handled since boot (a handler counts after doing its work).
uint64_t ipi_count(unsigned cpu, enum ipi ipi);

// Stops every other online CPU with an NMI (delivered even with interrupts off): each prints its
// number, rip and current thread, then halts for good. Waits up to one second for their reports.
// For the end of a panic or an unhandled exception, after the caller reported itself with
// ipi_report_self. A second CPU calling it while a stop is under way waits for its own NMI.
void ipi_stop_others(void);
// Prints "cpu N WHAT: rip ... <symbol>, thread NAME" for the calling CPU, serialised with the
// reports of stopped CPUs and written straight to the serial port (no console lock).
void ipi_report_self(const char *what, uint64_t rip);
// Called first for every NMI: if a stop is under way, reports and halts (never returns);
// otherwise returns false and the NMI is handled as before.
bool ipi_handle_nmi(struct trap_frame *tf);

#endif  // ARCH_X86_64_IPI_H
