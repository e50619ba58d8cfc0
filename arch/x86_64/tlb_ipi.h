// The TLB IPI's work on the CPU that receives it. Declared here, once, so that the shootdown
// protocol (tlb_shootdown.c) is its only implementation.
#ifndef ARCH_X86_64_TLB_IPI_H
#define ARCH_X86_64_TLB_IPI_H

// Runs in the IPI_TLB handler (interrupts off) on the target CPU, before the IPI is counted and
// acknowledged.
void tlb_ipi_handler(void);

#endif  // ARCH_X86_64_TLB_IPI_H
