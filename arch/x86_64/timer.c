// Time: the TSC, calibrated against PIT channel 2 at boot, gives nanoseconds (under QEMU -icount
// shift=0 it already counts them, one per instruction). The tick, TIMER_HZ times a second, is each
// CPU's own local APIC timer, calibrated against the TSC on that CPU, so every CPU can schedule on
// its own. The 8259 PICs are remapped to vectors 32-47 and masked; only a CPU without a local APIC
// (QEMU can hide it) ticks from the PIT (IRQ 0) instead.
#include "arch/x86_64/timer.h"

#include "arch/x86_64/cpu.h"
#include "arch/x86_64/lapic.h"
#include "arch/x86_64/percpu.h"
#include "arch/x86_64/trap.h"
#include "kernel/printf.h"

#define PIC1_CMD 0x20
#define PIC1_DATA 0x21
#define PIC2_CMD 0xa0
#define PIC2_DATA 0xa1
#define PIC_EOI 0x20

#define PIT_HZ 1193182u
#define PIT_CH0 0x40
#define PIT_CH2 0x42
#define PIT_CMD 0x43
#define PIT_GATE 0x61

// How long each CPU measures its APIC timer against the TSC.
#define LAPIC_CALIBRATE_MS 10

static uint64_t tsc_per_ms;  // calibrated
static uint64_t tsc_start;

static void pic_init(void) {
    outb(PIC1_CMD, 0x11);  // ICW1: init, ICW4 follows
    outb(PIC2_CMD, 0x11);
    outb(PIC1_DATA, TRAP_IRQ_BASE);      // ICW2: vector base
    outb(PIC2_DATA, TRAP_IRQ_BASE + 8);
    outb(PIC1_DATA, 4);  // ICW3: slave on IRQ2
    outb(PIC2_DATA, 2);
    outb(PIC1_DATA, 0x01);  // ICW4: 8086 mode
    outb(PIC2_DATA, 0x01);
    outb(PIC1_DATA, 0xff);  // everything masked (pit_start unmasks IRQ 0 if it is the tick)
    outb(PIC2_DATA, 0xff);
}

// Measures TSC ticks over 10 ms of PIT channel 2 (one-shot, polled).
static uint64_t calibrate_tsc_per_ms(void) {
    const uint32_t count = PIT_HZ / 100;  // 10 ms
    outb(PIT_GATE, (uint8_t)((inb(PIT_GATE) & ~0x02) | 0x01));  // gate on, speaker off
    outb(PIT_CMD, 0xb0);  // channel 2, lobyte/hibyte, mode 0
    outb(PIT_CH2, (uint8_t)count);
    outb(PIT_CH2, (uint8_t)(count >> 8));
    // Restart the count by toggling the gate.
    uint8_t g = inb(PIT_GATE);
    outb(PIT_GATE, (uint8_t)(g & ~0x01));
    outb(PIT_GATE, (uint8_t)(g | 0x01));
    uint64_t t0 = rdtsc();
    while (!(inb(PIT_GATE) & 0x20))
        cpu_pause();
    uint64_t t1 = rdtsc();
    uint64_t per_ms = (t1 - t0) / 10;
    return per_ms ? per_ms : 1;
}

// Runs the calling CPU's tick work. Callers send the end of interrupt first: the work may switch
// threads, and the interrupted one may not run again for a while.
static void tick(struct trap_frame *tf) {
    struct percpu *p = percpu_get();
    p->ticks++;
    if (p->tick_fn)
        p->tick_fn(tf);
}

static void pit_irq(struct trap_frame *tf) {
    outb(PIC1_CMD, PIC_EOI);
    tick(tf);
}

static void lapic_timer_irq(struct trap_frame *tf) {
    lapic_eoi();
    tick(tf);
}

static void pit_start(void) {
    uint32_t divisor = PIT_HZ / TIMER_HZ;
    outb(PIT_CMD, 0x34);  // channel 0, lobyte/hibyte, mode 2 (rate generator)
    outb(PIT_CH0, (uint8_t)divisor);
    outb(PIT_CH0, (uint8_t)(divisor >> 8));
    trap_set_irq_handler(TRAP_IRQ_BASE + 0, pit_irq);
    outb(PIC1_DATA, 0xfe);  // unmask IRQ 0
}

// Calibrates the calling CPU's APIC timer and starts it at TIMER_HZ; returns its counts per ms.
static uint32_t lapic_tick_start(void) {
    uint32_t per_ms = lapic_timer_calibrate(tsc_per_ms, LAPIC_CALIBRATE_MS);
    uint32_t count = per_ms * 1000 / TIMER_HZ;
    lapic_timer_start_periodic(count ? count : 1, LAPIC_TIMER_VECTOR);
    return per_ms;
}

void arch_timer_init(timer_tick_fn fn) {
    percpu_get()->tick_fn = fn;
    pic_init();
    // Spurious IRQ 7 / 15 need no EOI and are ignored by having no handler.
    tsc_per_ms = calibrate_tsc_per_ms();
    tsc_start = rdtsc();
    if (!lapic_present()) {
        pit_start();
        kprintf("timer: %u Hz tick from the PIT (no local APIC), TSC %llu kHz\n", TIMER_HZ,
                (unsigned long long)tsc_per_ms);
        return;
    }
    lapic_init_bsp();
    trap_set_irq_handler(LAPIC_TIMER_VECTOR, lapic_timer_irq);
    uint32_t per_ms = lapic_tick_start();
    kprintf("timer: %u Hz tick from each local APIC timer (%u kHz on the BSP), TSC %llu kHz\n",
            TIMER_HZ, per_ms, (unsigned long long)tsc_per_ms);
}

uint32_t arch_timer_init_ap(timer_tick_fn fn) {
    percpu_get()->tick_fn = fn;
    return lapic_tick_start();
}

zx_time_t arch_now_ns(void) {
    uint64_t d = rdtsc() - tsc_start;
    // d * 1e6 / tsc_per_ms without overflow for centuries: split whole ms and the remainder.
    return (zx_time_t)((d / tsc_per_ms) * 1000000ull + (d % tsc_per_ms) * 1000000ull / tsc_per_ms);
}

uint64_t arch_ticks(void) {
    return rdtsc();
}

uint64_t arch_ticks_per_second(void) {
    return tsc_per_ms * 1000;
}

void arch_delay_us(uint64_t us) {
    uint64_t t0 = rdtsc(), ticks = us * tsc_per_ms / 1000;
    while (rdtsc() - t0 < ticks)
        cpu_pause();
}
