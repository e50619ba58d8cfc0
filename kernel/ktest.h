// The Jasper unit-test framework, shared by in-kernel tests (run at boot when the command line says
// `ktest` or `ktest=SUITE[,SUITE...]`) and host tests (each host test program runs every test linked
// into it). A test is a function registered in the `ktests` linker section:
//
//     KTEST(pmm, alloc_free_all) {
//         size_t before = pmm_count(PAGE_STATE_FREE);
//         EXPECT_EQ(pmm_count(PAGE_STATE_FREE), before);
//     }
//
// The checks are the EXPECT_* / REQUIRE_* family of kernel/expect.h, shared with the user tests:
// EXPECT_* prints file:line and both values on failure and the test goes on; REQUIRE_* also
// returns from the test. A test that faults or panics is reported failed and the run continues
// with the next. The runner prints one line per test and finally "N passed, N failed".
#ifndef KERNEL_KTEST_H
#define KERNEL_KTEST_H

#include <stdbool.h>
#include <stdint.h>

#include "kernel/compiler.h"
#include "kernel/expect.h"  // EXPECT_*, REQUIRE_*

struct ktest {
    const char *suite;
    const char *name;
    void (*fn)(void);
};

#define KTEST(suite, name)                                                                 \
    static void ktest_fn_##suite##_##name(void);                                           \
    static const struct ktest ktest_rec_##suite##_##name USED SECTION("ktests") ALIGNED(8) = \
        {#suite, #name, ktest_fn_##suite##_##name};                                        \
    static void ktest_fn_##suite##_##name(void)

// The running test's failure flag, by its kernel name (see kernel/expect.h).
static inline bool ktest_failed(void) {
    return expect_failed();
}

// The registered tests, in link order.
extern const struct ktest __start_ktests[];
extern const struct ktest __stop_ktests[];

// True if `t` is selected by `filter`: NULL or "" selects every test; otherwise a comma-separated
// list of suite names or "suite.name" entries.
bool ktest_selected(const struct ktest *t, const char *filter);

#endif  // KERNEL_KTEST_H
