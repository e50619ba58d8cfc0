// Per-CPU data: one struct percpu per CPU, reached through GS in kernel mode (GS_BASE points at
// the CPU's own block; swapgs parks it in KERNEL_GS_BASE while user code runs). The first fields
// have fixed offsets because syscall.S reads them through %gs.
#ifndef ARCH_X86_64_PERCPU_H
#define ARCH_X86_64_PERCPU_H

#include "arch/x86_64/smp.h"
#include "kernel/types.h"

struct thread;
struct trap_frame;

struct percpu {
    struct percpu *self;          // offset 0: this block (percpu_get reads it)
    uint64_t kernel_rsp;          // offset 8: top of the current thread's kernel stack
    uint64_t user_rsp_scratch;    // offset 16: user rsp while syscall entry switches stacks
    struct thread *current;       // offset 24: the running thread; NULL on an AP until it has one
    uint32_t cpu_num;             // this CPU's number: its index in percpu_cpus, 0 for the BSP
    uint32_t lapic_id;            // its local APIC id (IPIs are addressed by it)
    void (*tick_fn)(struct trap_frame *tf);  // the timer tick's work here, or NULL (arch timer)
    uint64_t ticks;               // timer interrupts taken on this CPU
};
_Static_assert(__builtin_offsetof(struct percpu, kernel_rsp) == 8, "syscall.S uses offset 8");
_Static_assert(__builtin_offsetof(struct percpu, user_rsp_scratch) == 16, "syscall.S uses 16");
_Static_assert(__builtin_offsetof(struct percpu, cpu_num) == SMP_PERCPU_CPU_NUM_OFFSET,
               "smp_cpu_num reads it at this offset");

// Every CPU's block, indexed by CPU number; entries past smp_cpus_online() are unused.
extern struct percpu percpu_cpus[SMP_MAX_CPUS];
// The calling CPU's block (kernel mode only: GS_BASE must be the kernel's).
static inline struct percpu *percpu_get(void) {
    struct percpu *p;
    __asm__ volatile("movq %%gs:0, %0" : "=r"(p));
    return p;
}

// The calling CPU's number. Callers that must stay on one CPU keep interrupts off (no migration).
static inline uint32_t arch_cpu_num(void) {
    return smp_cpu_num();
}

// The thread running on the calling CPU: one %gs-relative load, so a thread that migrates between
// two instructions still reads its own CPU's answer (percpu_get()->current would be two loads).
static inline struct thread *percpu_current(void) {
    struct thread *t;
    __asm__ volatile("movq %%gs:%c1, %0"
                     : "=r"(t)
                     : "i"(__builtin_offsetof(struct percpu, current)));
    return t;
}

// Points GS (and KERNEL_GS_BASE, for swapgs) at CPU `cpu_num`'s block and fills in its number.
// The BSP calls it with 0 first thing in kmain; each AP with its own number.
void percpu_init(unsigned cpu_num);

#endif  // ARCH_X86_64_PERCPU_H
