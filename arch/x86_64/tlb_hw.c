// The TLB and CR3 primitives of tlb_hw.h: invlpg, a CR3 reload or a CR4.PGE toggle, a CR3 load.
// Kernel only (inline assembly). And the shootdown: the same flush on the other CPUs, by IPI.
#include "arch/x86_64/tlb_hw.h"

#include "arch/x86_64/cpu.h"
#include "arch/x86_64/ipi.h"
#include "arch/x86_64/smp.h"
#include "arch/x86_64/tlb.h"

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

// Shootdown requests: CPU i has been asked shoot_req[i] times and has answered up to
// shoot_done[i]. It reads the request count before it flushes, so every request counted in what it
// answers was made before its flush began.
static uint64_t shoot_req[SMP_MAX_CPUS];
static uint64_t shoot_done[SMP_MAX_CPUS];  // written only by CPU i

void tlb_hw_shootdown(paddr_t root_pa, bool global) {
    unsigned n = smp_cpus_online();
    if (n <= 1)
        return;
    // The table stores before the reads of which CPUs use the tree: a CPU that loads it later
    // (it publishes tlb_active_roots before CR3) walks the new tables.
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
    uint64_t wait_for[SMP_MAX_CPUS];
    uint64_t targets = 0;
    uint64_t flags = irq_save();
    unsigned self = smp_cpu_num();
    for (unsigned c = 0; c < n; c++) {
        if (!global && __atomic_load_n(&tlb_active_roots[c], __ATOMIC_RELAXED) != root_pa)
            continue;
        if (c == self) {
            tlb_hw_flush_all(global);
            continue;
        }
        wait_for[c] = __atomic_add_fetch(&shoot_req[c], 1, __ATOMIC_SEQ_CST);
        targets |= 1ull << c;
        ipi_send(c, IPI_TLB);
    }
    irq_restore(flags);
    bool irqs_off = !(flags & (1u << 9));
    for (uint64_t m = targets; m; m &= m - 1) {
        unsigned c = (unsigned)__builtin_ctzll(m);
        while (__atomic_load_n(&shoot_done[c], __ATOMIC_ACQUIRE) < wait_for[c]) {
            // With interrupts off (no migration), answer requests made to us meanwhile, or two
            // CPUs shooting at each other would wait forever.
            if (irqs_off && __atomic_load_n(&shoot_req[self], __ATOMIC_ACQUIRE) >
                                shoot_done[self])
                tlb_hw_shootdown_answer();
            cpu_pause();
        }
    }
}

void tlb_hw_shootdown_answer(void) {
    unsigned self = smp_cpu_num();
    uint64_t seen = __atomic_load_n(&shoot_req[self], __ATOMIC_SEQ_CST);
    tlb_hw_flush_all(true);
    if (seen > shoot_done[self])
        __atomic_store_n(&shoot_done[self], seen, __ATOMIC_RELEASE);
}
