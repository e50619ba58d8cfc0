// The periodic tick and the clocks.
#ifndef ARCH_X86_64_TIMER_H
#define ARCH_X86_64_TIMER_H

#include "arch/x86_64/trap.h"
#include "kernel/types.h"

#define TIMER_HZ 1000

typedef void (*timer_tick_fn)(struct trap_frame *tf);

// Starts the tick (interrupts must be enabled by the caller to receive it); `fn` runs on each.
void arch_timer_init(timer_tick_fn fn);
// Monotonic nanoseconds since arch_timer_init.
zx_time_t arch_now_ns(void);
// Raw ticks (the TSC) and their rate.
uint64_t arch_ticks(void);
uint64_t arch_ticks_per_second(void);

#endif  // ARCH_X86_64_TIMER_H
