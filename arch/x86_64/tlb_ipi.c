// The TLB IPI's work, until shootdowns say what to invalidate: everything, global entries too.
#include "arch/x86_64/tlb_ipi.h"

#include "arch/x86_64/tlb.h"

void tlb_ipi_handler(void) {
    tlb_flush_all(true);
}
