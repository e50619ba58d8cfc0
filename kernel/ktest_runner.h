// The in-kernel test runner: runs the KTESTs selected on the command line after init.
#ifndef KERNEL_KTEST_RUNNER_H
#define KERNEL_KTEST_RUNNER_H

#include <stdbool.h>

#include "kernel/compiler.h"

// Runs the tests `filter` selects (see ktest_selected), prints a line per test and then
// "N passed, N failed". Returns true if at least one test ran and none failed.
bool ktest_run_all(const char *filter);

// True while a test body runs.
bool ktest_running(void);

// Marks the running test failed and abandons it (after a fault or a panic inside it).
NORETURN void ktest_abort_current(void);

// For tests of checkers that panic: runs fn(arg) and returns true if it panicked (the panic's
// message is printed, the test goes on, and the interrupt state is restored). Locks fn took
// and still holds stay held; fn's caller releases them.
bool ktest_expect_panic(void (*fn)(void *), void *arg);

// For panic(): true while a ktest_expect_panic body runs; then ktest_resume_after_panic returns
// to it.
bool ktest_panic_expected(void);
NORETURN void ktest_resume_after_panic(void);

#endif  // KERNEL_KTEST_RUNNER_H
