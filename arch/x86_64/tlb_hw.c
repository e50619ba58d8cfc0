// The TLB and CR3 primitives of tlb_hw.h: invlpg, a CR3 reload or a CR4.PGE toggle, a CR3 load.
// Kernel only (inline assembly). The shootdown that reaches other CPUs is tlb_shootdown.c.
#include "arch/x86_64/tlb_hw.h"

#include "arch/x86_64/cpu.h"

void tlb_hw_invalidate_page(vaddr_t va) {
    invlpg(va);
}

void tlb_hw_flush_all(bool global) {
    uint64_t flags = irq_save();
    uint64_t cr4 = read_cr4();
    if (global && (cr4 & CR4_PGE)) {
        // Clearing PGE drops every TLB entry, global ones included.
        write_cr4(cr4 & ~CR4_PGE);
        write_cr4(cr4);
    } else {
        write_cr3(read_cr3());
    }
    irq_restore(flags);
}

void tlb_hw_load_root(paddr_t root_pa) {
    write_cr3(root_pa);
}
