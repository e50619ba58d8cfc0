// Benchmarks that print figures (they never pass or fail). A benchmark is registered like a test:
//
//     KBENCH(vmpl_lookup_1e3) {
//         uint64_t samples[KBENCH_RUNS];
//         for (int r = 0; r < KBENCH_RUNS; r++) {
//             uint64_t t0 = kbench_now();
//             ... N operations ...
//             samples[r] = kbench_now() - t0;
//         }
//         kbench_report("vmpl_lookup_1e3", N, samples, KBENCH_RUNS);
//     }
//
// In the kernel they run when the command line says `bench` (or `bench=NAME,...`), normally under
// QEMU's `-icount shift=0` (scripts/bench), where kbench_now() counts guest instructions, one per
// nanosecond, so figures repeat exactly. Host builds time with the monotonic clock.
#ifndef KERNEL_KBENCH_H
#define KERNEL_KBENCH_H

#include <stddef.h>
#include <stdint.h>

#include "kernel/compiler.h"

#define KBENCH_RUNS 5

struct kbench {
    const char *name;
    void (*fn)(void);
};

#define KBENCH(name)                                                                      \
    static void kbench_fn_##name(void);                                                   \
    static const struct kbench kbench_rec_##name USED SECTION("kbenches") ALIGNED(8) = { \
        #name, kbench_fn_##name};                                                         \
    static void kbench_fn_##name(void)

// Nanoseconds (guest instructions under icount shift=0) since an arbitrary start.
uint64_t kbench_now(void);

// Prints "bench NAME ns_per_op=MEDIAN min=MIN max=MAX ops=OPS", where each of the `n` samples is
// the time of `ops` operations and the per-op figures are sample/ops (median over samples).
void kbench_report(const char *name, uint64_t ops, const uint64_t *samples, size_t n);
// Prints "bench NAME KEY=VALUE" for figures that are not times (bytes per page, ratios x1000).
void kbench_report_value(const char *name, const char *key, uint64_t value);

// Runs the benchmarks `filter` selects (NULL or "": all; else comma-separated names).
void kbench_run_all(const char *filter);

extern const struct kbench __start_kbenches[];
extern const struct kbench __stop_kbenches[];

#endif  // KERNEL_KBENCH_H
