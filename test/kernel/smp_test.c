// Bring-up and IPIs on however many CPUs the machine has (scripts/test runs these on 1 and 4):
// every CPU online has a consistent per-CPU block, ticks on its own timer and answers IPIs.
#include "arch/x86_64/ipi.h"
#include "arch/x86_64/percpu.h"
#include "arch/x86_64/smp.h"
#include "kernel/cmdline.h"
#include "kernel/ktest.h"
#include "kernel/thread.h"

#define IPI_WAIT_NS (10000ll * 1000 * 1000)  // generous: a loaded host may starve a virtual CPU

KTEST(smp, every_listed_cpu_is_online_and_consistent) {
    unsigned long long cap = cmdline_get_u64(&kernel_cmdline, "cpus", SMP_MAX_CPUS);
    unsigned want = smp_cpus_found() < cap ? smp_cpus_found() : (unsigned)(cap ? cap : 1);
    EXPECT_EQ(smp_cpus_online(), want);
    EXPECT_TRUE(smp_check());
}

KTEST(smp, gs_reaches_this_cpus_block) {
    struct percpu *p = percpu_get();
    EXPECT_EQ(p, &percpu_cpus[arch_cpu_num()]);
    EXPECT_EQ(p->self, p);
    EXPECT_EQ(p->current, thread_current());
}

KTEST(smp, every_cpu_ticks_on_its_own_timer) {
    unsigned n = smp_cpus_online();
    uint64_t before[SMP_MAX_CPUS];
    for (unsigned i = 0; i < n; i++)
        before[i] = __atomic_load_n(&percpu_cpus[i].ticks, __ATOMIC_RELAXED);
    // Each CPU must tick within 2 s; a loaded host may starve a virtual CPU for a while.
    zx_time_t deadline = current_time() + 2000ll * 1000 * 1000;
    for (unsigned i = 0; i < n; i++) {
        while (__atomic_load_n(&percpu_cpus[i].ticks, __ATOMIC_RELAXED) == before[i] &&
               current_time() < deadline)
            thread_sleep_until(current_time() + 1000 * 1000);
        EXPECT_GT(__atomic_load_n(&percpu_cpus[i].ticks, __ATOMIC_RELAXED), before[i]);
    }
}

// Waits until CPU `cpu` has handled more than `before` IPIs of the kind; true if it did in time.
static bool wait_count(unsigned cpu, enum ipi ipi, uint64_t before) {
    zx_time_t deadline = current_time() + IPI_WAIT_NS;
    while (ipi_count(cpu, ipi) <= before && current_time() < deadline)
        thread_yield();
    return ipi_count(cpu, ipi) > before;
}

KTEST(smp, ping_reaches_every_cpu_including_this_one) {
    for (unsigned cpu = 0; cpu < smp_cpus_online(); cpu++) {
        uint64_t before = ipi_count(cpu, IPI_PING);
        ipi_send(cpu, IPI_PING);
        EXPECT_TRUE(wait_count(cpu, IPI_PING, before));
    }
}

KTEST(smp, tlb_and_reschedule_reach_every_other_cpu) {
    unsigned n = smp_cpus_online(), self = arch_cpu_num();
    static const enum ipi kinds[] = {IPI_TLB, IPI_RESCHEDULE};
    for (size_t k = 0; k < countof(kinds); k++) {
        uint64_t before[SMP_MAX_CPUS];
        for (unsigned i = 0; i < n; i++)
            before[i] = ipi_count(i, kinds[k]);
        ipi_send_others(kinds[k]);
        for (unsigned i = 0; i < n; i++) {
            if (i == self)
                EXPECT_EQ(ipi_count(i, kinds[k]), before[i]);
            else
                EXPECT_TRUE(wait_count(i, kinds[k], before[i]));
        }
    }
}
