// The calling CPU's local APIC: its id, end of interrupt, sending IPIs, and its timer. x2APIC (MSRs)
// when CPUID offers it, xAPIC (one uncached MMIO page, the same physical page on every CPU, each
// reaching its own APIC) otherwise; lapic_init_bsp picks the mode once for every CPU.
//
// Interrupt vectors the kernel owns above the PIC's 32-47 are listed here, in one place. An APIC
// delivers the highest pending vector first (by 16-vector class), so IPIs sit above the timer.
#ifndef ARCH_X86_64_LAPIC_H
#define ARCH_X86_64_LAPIC_H

#include "kernel/types.h"

#define LAPIC_TIMER_VECTOR 0xe0
#define IPI_RESCHEDULE_VECTOR 0xf0
#define IPI_TLB_VECTOR 0xf1
#define IPI_PING_VECTOR 0xf2
#define LAPIC_ERROR_VECTOR 0xfe
#define LAPIC_SPURIOUS_VECTOR 0xff  // needs no EOI

// True if this CPU has a local APIC (CPUID.1:EDX.APIC). Every x86-64 CPU does; QEMU can hide it.
bool lapic_present(void);
// On the BSP, once, after arch_mmu_init: picks x2APIC or xAPIC (mapping the MMIO page the
// APIC_BASE MSR names, uncached) and sets up this CPU's APIC as lapic_init_cpu does.
void lapic_init_bsp(void);
// On each AP: enables its APIC in the BSP's mode with every local interrupt masked, the spurious
// vector set, the error status cleared and priority 0 (accept everything).
void lapic_init_cpu(void);
// True if the APICs run in x2APIC mode.
bool lapic_x2apic(void);

// This CPU's APIC id (32 bits in x2APIC mode, 8 in xAPIC mode).
uint32_t lapic_id(void);
// Signals the end of the interrupt being handled (every vector here but the spurious one).
void lapic_eoi(void);

// IPIs to one CPU by APIC id. Each returns once the APIC has accepted the IPI for delivery.
void lapic_send_fixed(uint32_t apic_id, uint8_t vector);
void lapic_send_nmi(uint32_t apic_id);
void lapic_send_init(uint32_t apic_id);
// A start-up IPI: the target starts in real mode at physical page `page` (below 1 MiB).
void lapic_send_sipi(uint32_t apic_id, uint8_t page);

// The timer counts down at (bus clock / 16). Measures how many counts pass per millisecond
// against the TSC (`tsc_per_ms` ticks per ms) over `ms` milliseconds, busy-waiting.
uint32_t lapic_timer_calibrate(uint64_t tsc_per_ms, unsigned ms);
// Starts the timer: an interrupt at `vector` every `count` counts.
void lapic_timer_start_periodic(uint32_t count, uint8_t vector);

#endif  // ARCH_X86_64_LAPIC_H
