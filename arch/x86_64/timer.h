// The periodic tick and the clocks.
#ifndef ARCH_X86_64_TIMER_H
#define ARCH_X86_64_TIMER_H

#include "arch/x86_64/trap.h"
#include "kernel/types.h"

#define TIMER_HZ 1000

typedef void (*timer_tick_fn)(struct trap_frame *tf);

// On the BSP: calibrates the TSC, sets up the BSP's local APIC and starts its tick (interrupts must
// be enabled by the caller to receive it); `fn` runs on each of the BSP's ticks.
void arch_timer_init(timer_tick_fn fn);
// On an AP, after lapic_init_cpu: calibrates its APIC timer against the TSC and starts its tick,
// with `fn` (NULL: count only) on each. Returns the timer's rate (counts per ms) for the boot log.
uint32_t arch_timer_init_ap(timer_tick_fn fn);
// Monotonic nanoseconds since arch_timer_init.
zx_time_t arch_now_ns(void);
// Busy-waits `us` microseconds by the TSC (after arch_timer_init).
void arch_delay_us(uint64_t us);
// Raw ticks (the TSC) and their rate.
uint64_t arch_ticks(void);
uint64_t arch_ticks_per_second(void);

#endif  // ARCH_X86_64_TIMER_H
