// The TLB IPI's work: answer the shootdown (tlb_hw.c): flush everything, global entries too, and
// acknowledge the requests seen.
#include "arch/x86_64/tlb_ipi.h"

#include "arch/x86_64/tlb_hw.h"

void tlb_ipi_handler(void) {
    tlb_hw_shootdown_answer();
}
