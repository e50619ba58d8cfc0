// Host stand-ins for the page-table layer's hardware hooks (arch/x86_64/mmu_hw.h): there is no TLB
// and no CR3 on the host. The layer counts what it asks for in pt_stats, so tests check that.
#include "arch/x86_64/mmu_hw.h"
#include "arch/x86_64/smp.h"

void arch_tlb_invalidate_page(vaddr_t va) {
    (void)va;
}

void arch_tlb_flush_all(bool global) {
    (void)global;
}

void arch_mmu_load_root(paddr_t root_pa) {
    (void)root_pa;
}

// One CPU on the host.
unsigned smp_cpu_num(void) {
    return 0;
}
