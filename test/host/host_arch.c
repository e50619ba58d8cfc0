// Host stand-ins for the page-table layer's hardware primitives (arch/x86_64/tlb_hw.h): there is
// no TLB and no CR3 on the host. The layer counts what it asks for in tlb_stats, so tests check that.
#include "arch/x86_64/smp.h"
#include "arch/x86_64/tlb_hw.h"

void tlb_hw_invalidate_page(vaddr_t va) {
    (void)va;
}

void tlb_hw_flush_all(bool global) {
    (void)global;
}

void tlb_hw_load_root(paddr_t root_pa) {
    (void)root_pa;
}

// One CPU on the host.
unsigned smp_cpu_num(void) {
    return 0;
}

// One CPU on the host: nobody to shoot down.
void tlb_hw_shootdown(paddr_t root_pa, bool global) {
    (void)root_pa;
    (void)global;
}

void tlb_hw_shootdown_answer(void) {
}
