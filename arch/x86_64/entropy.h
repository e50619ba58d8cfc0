// A boot-time seed from the hardware: two TSC reads, mixed. Not cryptographic (it seeds ASLR's
// generator, vm/aslr.h).
#ifndef ARCH_X86_64_ENTROPY_H
#define ARCH_X86_64_ENTROPY_H

#include "arch/x86_64/cpu.h"

static inline uint64_t arch_boot_entropy(void) {
    uint64_t a = rdtsc();
    uint64_t b = rdtsc();
    return a * 0x9e3779b97f4a7c15ull ^ (b << 17) ^ (b >> 13);
}

#endif  // ARCH_X86_64_ENTROPY_H
