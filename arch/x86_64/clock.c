// The benchmark clock: the TSC. Under QEMU with -icount shift=0 the TSC advances one tick per
// guest instruction, which is what makes scripts/bench figures exact and repeatable.
#include "arch/x86_64/cpu.h"
#include "kernel/kbench.h"

uint64_t kbench_now(void) {
    return rdtsc();
}
