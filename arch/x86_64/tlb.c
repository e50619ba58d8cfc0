// The TLB IPI's work, until shootdowns say what to invalidate: everything, global entries too.
#include "arch/x86_64/tlb.h"

#include "arch/x86_64/mmu_hw.h"

void tlb_ipi_handler(void) {
    arch_tlb_flush_all(true);
}
