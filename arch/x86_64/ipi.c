// IPIs: one vector each (lapic.h), a handler that does the work, acknowledges the local APIC and
// counts; and the NMI stop. See ipi.h.
#include "arch/x86_64/ipi.h"

#include "arch/x86_64/cpu.h"
#include "arch/x86_64/lapic.h"
#include "arch/x86_64/percpu.h"
#include "arch/x86_64/serial.h"
#include "arch/x86_64/timer.h"
#include "arch/x86_64/tlb_ipi.h"
#include "arch/x86_64/trap.h"
#include "kernel/assert.h"
#include "kernel/backtrace.h"
#include "kernel/printf.h"
#include "kernel/string.h"
#include "kernel/thread.h"

#define STOP_WAIT_NS (1000ull * 1000 * 1000)

static const uint8_t ipi_vectors[IPI_COUNT] = {
    [IPI_RESCHEDULE] = IPI_RESCHEDULE_VECTOR,
    [IPI_TLB] = IPI_TLB_VECTOR,
    [IPI_PING] = IPI_PING_VECTOR,
};

// Handled IPIs per CPU; each slot is written only by its own CPU.
static uint64_t ipi_counts[SMP_MAX_CPUS][IPI_COUNT];

static void count(enum ipi ipi) {
    __atomic_fetch_add(&ipi_counts[arch_cpu_num()][ipi], 1, __ATOMIC_RELEASE);
}

static void reschedule_irq(struct trap_frame *tf) {
    (void)tf;
    lapic_eoi();
    count(IPI_RESCHEDULE);
    sched_ipi_reschedule();  // may switch threads: after the EOI and the count
}

static void tlb_irq(struct trap_frame *tf) {
    (void)tf;
    // Counted before the handler acknowledges: the initiator goes on once every target has, and
    // whoever reads the count after the shootdown returned must find this IPI in it.
    count(IPI_TLB);
    tlb_ipi_handler();
    lapic_eoi();
}

static void ping_irq(struct trap_frame *tf) {
    (void)tf;
    lapic_eoi();
    count(IPI_PING);
}

void ipi_init(void) {
    trap_set_irq_handler(IPI_RESCHEDULE_VECTOR, reschedule_irq);
    trap_set_irq_handler(IPI_TLB_VECTOR, tlb_irq);
    trap_set_irq_handler(IPI_PING_VECTOR, ping_irq);
}

void ipi_send(unsigned cpu, enum ipi ipi) {
    ASSERT_MSG(cpu < smp_cpus_online() && ipi < IPI_COUNT, "cpu %u, ipi %d", cpu, ipi);
    lapic_send_fixed(percpu_cpus[cpu].lapic_id, ipi_vectors[ipi]);
}

void ipi_send_others(enum ipi ipi) {
    unsigned self = arch_cpu_num(), n = smp_cpus_online();
    for (unsigned cpu = 0; cpu < n; cpu++)
        if (cpu != self)
            ipi_send(cpu, ipi);
}

uint64_t ipi_count(unsigned cpu, enum ipi ipi) {
    return __atomic_load_n(&ipi_counts[cpu][ipi], __ATOMIC_ACQUIRE);
}

// --- Stopping --------------------------------------------------------------------------------

static uint32_t stopping;      // set once, by the CPU that stops the others
static uint32_t stopped;       // CPUs that have reported and halted
static uint32_t report_lock;   // serialises the reports' lines

// The caller's number, safe before percpu_init has pointed GS at a block (very early panics).
static unsigned cpu_num_safe(void) {
    return rdmsr(MSR_GS_BASE) ? arch_cpu_num() : 0;
}

static void report(const char *what, uint64_t rip) {
    char sym[96], line[192];
    ksym_format(rip, sym, sizeof(sym));
    const struct thread *t = rdmsr(MSR_GS_BASE) ? percpu_get()->current : NULL;
    size_t n = ksnprintf(line, sizeof(line), "cpu %u %s: rip %#llx %s, thread %s\n",
                         cpu_num_safe(), what, (unsigned long long)rip, sym,
                         t ? t->name : "(none)");
    while (__atomic_exchange_n(&report_lock, 1, __ATOMIC_ACQUIRE))
        cpu_pause();
    serial_write(line, MIN(n, sizeof(line) - 1));
    __atomic_store_n(&report_lock, 0, __ATOMIC_RELEASE);
}

void ipi_report_self(const char *what, uint64_t rip) {
    report(what, rip);
}

void ipi_stop_others(void) {
    irq_disable();
    if (__atomic_exchange_n(&stopping, 1, __ATOMIC_ACQ_REL)) {
        for (;;)
            cpu_halt();  // another CPU is stopping us: its NMI gets through the cli
    }
    unsigned self = cpu_num_safe(), n = smp_cpus_online();
    if (n <= 1)
        return;
    for (unsigned cpu = 0; cpu < n; cpu++)
        if (cpu != self)
            lapic_send_nmi(percpu_cpus[cpu].lapic_id);
    zx_time_t deadline = arch_now_ns() + (zx_time_t)STOP_WAIT_NS;
    while (__atomic_load_n(&stopped, __ATOMIC_ACQUIRE) < n - 1 && arch_now_ns() < deadline)
        cpu_pause();
    unsigned missing = n - 1 - __atomic_load_n(&stopped, __ATOMIC_ACQUIRE);
    if (missing)
        kprintf("ipi: %u CPU(s) did not report within a second\n", missing);
}

bool ipi_handle_nmi(struct trap_frame *tf) {
    if (!__atomic_load_n(&stopping, __ATOMIC_ACQUIRE))
        return false;
    report("stopped", tf->rip);
    __atomic_fetch_add(&stopped, 1, __ATOMIC_RELEASE);
    // Never return: NMIs stay blocked until an iretq, so this CPU stays here.
    for (;;)
        cpu_halt();
}
