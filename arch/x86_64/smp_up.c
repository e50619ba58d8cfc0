// TEMPORARY (branch sched only, until the smpboot branch lands): the one-CPU answers of
// arch/x86_64/smp.h that the scheduler calls, so that it builds and runs on the boot CPU alone.
// Removed by the merge of smpboot, whose smp.c implements the whole header.
#include "arch/x86_64/smp.h"

#include "kernel/assert.h"

unsigned smp_cpus_online(void) {
    return 1;
}

unsigned smp_cpu_num(void) {
    return 0;
}

void smp_send_ipi(unsigned cpu, enum smp_ipi ipi) {
    panic("smp_send_ipi: no CPU %u to send IPI %d to before SMP bring-up", cpu, (int)ipi);
}
