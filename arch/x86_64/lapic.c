// Local APIC access in either mode. Register offsets are the xAPIC MMIO ones; in x2APIC mode
// register `off` is MSR 0x800 + off / 16, and the interrupt command register is one 64-bit MSR.
#include "arch/x86_64/lapic.h"

#include "arch/x86_64/arch_aspace.h"
#include "arch/x86_64/cpu.h"
#include "arch/x86_64/percpu.h"
#include "arch/x86_64/trap.h"
#include "arch/x86_64/vmiter.h"
#include "kernel/assert.h"
#include "kernel/printf.h"

#define MSR_APIC_BASE 0x1b
#define APIC_BASE_ENABLE (1ull << 11)
#define APIC_BASE_X2APIC (1ull << 10)
#define APIC_BASE_ADDR_MASK 0x000ffffffffff000ull
#define MSR_X2APIC_FIRST 0x800

#define REG_ID 0x20
#define REG_VERSION 0x30
#define REG_TPR 0x80
#define REG_EOI 0xb0
#define REG_SVR 0xf0
#define REG_ESR 0x280
#define REG_ICR_LOW 0x300
#define REG_ICR_HIGH 0x310
#define REG_LVT_TIMER 0x320
#define REG_LVT_LINT0 0x350
#define REG_LVT_LINT1 0x360
#define REG_LVT_ERROR 0x370
#define REG_TIMER_INITIAL 0x380
#define REG_TIMER_CURRENT 0x390
#define REG_TIMER_DIVIDE 0x3e0

#define SVR_ENABLE (1u << 8)
#define LVT_MASKED (1u << 16)
#define LVT_PERIODIC (1u << 17)
#define TIMER_DIVIDE_16 0x3

#define ICR_FIXED (0u << 8)
#define ICR_NMI (4u << 8)
#define ICR_INIT (5u << 8)
#define ICR_STARTUP (6u << 8)
#define ICR_PENDING (1u << 12)  // xAPIC only: not yet accepted
#define ICR_ASSERT (1u << 14)

static bool x2apic;
static volatile uint32_t *mmio;  // xAPIC registers (uncached mapping)

bool lapic_present(void) {
    uint32_t r[4];
    cpuid(1, 0, r);
    return (r[3] >> 9) & 1;
}

bool lapic_x2apic(void) {
    return x2apic;
}

static uint32_t lapic_read(uint32_t off) {
    if (x2apic)
        return (uint32_t)rdmsr(MSR_X2APIC_FIRST + off / 16);
    return mmio[off / 4];
}

static void lapic_write(uint32_t off, uint32_t v) {
    if (x2apic)
        wrmsr(MSR_X2APIC_FIRST + off / 16, v);
    else
        mmio[off / 4] = v;
}

// Maps the xAPIC page at its physmap address (the physmap has a hole there: it maps RAM only),
// uncached, no-execute, global. Boot code: nothing else changes the kernel's tables yet.
static void map_mmio(paddr_t pa) {
    vaddr_t va = PHYSMAP_BASE + pa;
    struct vmiter it;
    vmiter_init(&it, (pte_t *)arch_kernel_aspace.root, va);
    ASSERT_MSG(!vmiter_present(&it), "the local APIC page %#llx is already mapped",
               (unsigned long long)pa);
    vmiter_map(&it, pa, PTE_P | PTE_W | PTE_NX | PTE_G | PTE_PCD | PTE_PWT);
    mmio = (volatile uint32_t *)va;
}

void lapic_init_cpu(void) {
    uint64_t base = rdmsr(MSR_APIC_BASE) | APIC_BASE_ENABLE;
    if (x2apic)
        base |= APIC_BASE_X2APIC;  // from xAPIC to x2APIC is a legal switch; EN must stay set
    wrmsr(MSR_APIC_BASE, base);
    lapic_write(REG_TPR, 0);
    lapic_write(REG_LVT_TIMER, LVT_MASKED);
    lapic_write(REG_LVT_LINT0, LVT_MASKED);  // no PIC interrupts: the tick is the APIC timer's
    lapic_write(REG_LVT_LINT1, LVT_MASKED);
    lapic_write(REG_LVT_ERROR, LAPIC_ERROR_VECTOR);
    lapic_write(REG_ESR, 0);  // the write latches the errors; the second clears them
    lapic_write(REG_ESR, 0);
    lapic_write(REG_SVR, SVR_ENABLE | LAPIC_SPURIOUS_VECTOR);
    lapic_eoi();  // anything left in service from the firmware
}

// An APIC error (an IPI to a missing APIC id, an illegal vector): reported, never fatal.
static void error_irq(struct trap_frame *tf) {
    (void)tf;
    lapic_write(REG_ESR, 0);  // latch the errors
    uint32_t esr = lapic_read(REG_ESR);
    lapic_eoi();
    kprintf("lapic: error status %#x on cpu %u\n", esr, arch_cpu_num());
}

void lapic_init_bsp(void) {
    trap_set_irq_handler(LAPIC_ERROR_VECTOR, error_irq);
    uint32_t r[4];
    cpuid(1, 0, r);
    x2apic = (r[2] >> 21) & 1;
    if (!x2apic)
        map_mmio(rdmsr(MSR_APIC_BASE) & APIC_BASE_ADDR_MASK);
    lapic_init_cpu();
    kprintf("lapic: %s mode, BSP id %u, version %#x\n", x2apic ? "x2APIC" : "xAPIC", lapic_id(),
            lapic_read(REG_VERSION) & 0xff);
}

uint32_t lapic_id(void) {
    uint32_t id = lapic_read(REG_ID);
    return x2apic ? id : id >> 24;
}

void lapic_eoi(void) {
    lapic_write(REG_EOI, 0);
}

static void send_ipi(uint32_t apic_id, uint32_t icr) {
    uint64_t flags = irq_save();  // the two xAPIC writes must not be split by another IPI
    if (x2apic) {
        // WRMSR to the ICR does not wait for earlier stores: fence so the target sees them.
        __asm__ volatile("mfence" ::: "memory");
        wrmsr(MSR_X2APIC_FIRST + REG_ICR_LOW / 16, ((uint64_t)apic_id << 32) | icr);
    } else {
        lapic_write(REG_ICR_HIGH, apic_id << 24);
        lapic_write(REG_ICR_LOW, icr);
        while (lapic_read(REG_ICR_LOW) & ICR_PENDING)
            cpu_pause();
    }
    irq_restore(flags);
}

void lapic_send_fixed(uint32_t apic_id, uint8_t vector) {
    send_ipi(apic_id, ICR_FIXED | ICR_ASSERT | vector);
}

void lapic_send_nmi(uint32_t apic_id) {
    send_ipi(apic_id, ICR_NMI | ICR_ASSERT);
}

void lapic_send_init(uint32_t apic_id) {
    send_ipi(apic_id, ICR_INIT | ICR_ASSERT);
}

void lapic_send_sipi(uint32_t apic_id, uint8_t page) {
    send_ipi(apic_id, ICR_STARTUP | ICR_ASSERT | page);
}

// Under emulation the vCPU can be descheduled between any two instructions: each end of the
// measurement is a TSC read, the APIC access, and a second TSC read, retried until the two reads
// are close, and the midpoint is taken. A delay *inside* the window then costs nothing.
#define CALIBRATE_BRACKET_TRIES 16

static uint64_t bracket_start(uint32_t initial) {
    uint64_t a = 0, b = 0;
    for (int i = 0; i < CALIBRATE_BRACKET_TRIES; i++) {
        a = rdtsc();
        lapic_write(REG_TIMER_INITIAL, initial);  // (re)starts the count
        b = rdtsc();
        if (b - a < 10000)
            break;
    }
    return a + (b - a) / 2;
}

static uint64_t bracket_read(uint32_t *out_current) {
    uint64_t a = 0, b = 0;
    for (int i = 0; i < CALIBRATE_BRACKET_TRIES; i++) {
        a = rdtsc();
        *out_current = lapic_read(REG_TIMER_CURRENT);
        b = rdtsc();
        if (b - a < 10000)
            break;
    }
    return a + (b - a) / 2;
}

uint32_t lapic_timer_calibrate(uint64_t tsc_per_ms, unsigned ms) {
    lapic_write(REG_TIMER_DIVIDE, TIMER_DIVIDE_16);
    lapic_write(REG_LVT_TIMER, LVT_MASKED);  // one-shot, no interrupt
    uint64_t t0 = bracket_start(UINT32_MAX);
    while (rdtsc() - t0 < tsc_per_ms * ms)
        cpu_pause();
    uint32_t current;
    uint64_t t1 = bracket_read(&current);
    lapic_write(REG_TIMER_INITIAL, 0);  // stop
    uint64_t counts = UINT32_MAX - current;
    uint64_t per_ms = t1 > t0 ? counts * tsc_per_ms / (t1 - t0) : 0;
    return per_ms ? (uint32_t)MIN(per_ms, (uint64_t)UINT32_MAX) : 1;
}

void lapic_timer_start_periodic(uint32_t count, uint8_t vector) {
    lapic_write(REG_TIMER_DIVIDE, TIMER_DIVIDE_16);
    lapic_write(REG_LVT_TIMER, LVT_PERIODIC | vector);
    lapic_write(REG_TIMER_INITIAL, count);
}
