// Host benchmark runner: runs every KBENCH linked in (filter: argv[1]), timing with the monotonic
// clock. Host figures are a second view; the reference figures come from scripts/bench in QEMU.
#include <stdio.h>
#include <time.h>

#include "kernel/kbench.h"

uint64_t kbench_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

int main(int argc, char **argv) {
    setvbuf(stdout, NULL, _IOLBF, 0);
    kbench_run_all(argc > 1 ? argv[1] : NULL);
    return 0;
}
