// mem: who uses what memory. Prints every job and process under the job it runs in (normally the
// root job) with its mapped, private, shared and scaled bytes (ZX_INFO_TASK_STATS), every VMO
// those processes hold or map with its committed, populated, private and scaled bytes
// (ZX_INFO_PROCESS_VMOS), largest first, and the kernel's totals (ZX_INFO_KMEM_STATS).
//   scripts/run-user build/mem.elf      or, from the serial monitor: run mem.elf
#include <stdio.h>
#include <zircon/process.h>

#include "userboot/mem_report.h"

static struct mem_report report;

int main(void) {
    zx_status_t st = mem_report_collect(zx_job_default(), &report);
    if (st != ZX_OK) {
        printf("mem: cannot read the job tree: %d\n", st);
        return 1;
    }
    mem_report_print(&report);
    return 0;
}
