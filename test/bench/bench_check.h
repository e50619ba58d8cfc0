// How the Jasper benchmark programs (vmbench.c, smpbench.c) record failures: check() prints the
// first failing call as "bench: error: WHAT: status N" and sets `failed`, which each workload
// clears before it runs. The including program includes <stdbool.h>, <stdio.h> and
// <zircon/syscalls.h> first.
#ifndef TEST_BENCH_BENCH_CHECK_H
#define TEST_BENCH_BENCH_CHECK_H

static int failed;

// Records the first failure; returns true if `st` is an error.
static bool check(zx_status_t st, const char *what) {
    if (st == ZX_OK)
        return false;
    if (!failed)
        printf("bench: error: %s: status %d\n", what, st);
    failed = 1;
    return true;
}

#endif  // TEST_BENCH_BENCH_CHECK_H
