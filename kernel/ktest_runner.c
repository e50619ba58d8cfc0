// In-kernel test runner. Each test runs with a jump buffer armed, so a fault or panic inside the
// test (see trap.c and panic.c) ends only that test. Page counts are compared before and after
// each test: a test that leaks pages fails even if its own checks passed.
#include "kernel/ktest_runner.h"

#include "arch/x86_64/cpu.h"
#include "arch/x86_64/setjmp.h"
#include "kernel/assert.h"
#include "kernel/ktest.h"
#include "kernel/printf.h"
#include "vm/pmm.h"

static struct arch_jmp_buf test_jmp;
static volatile bool in_test;
static struct arch_jmp_buf expect_jmp;
static volatile bool expecting_panic;

bool ktest_running(void) {
    return in_test;
}

void ktest_abort_current(void) {
    in_test = false;
    expect_note_failure();
    arch_longjmp(&test_jmp, 1);
}

bool ktest_expect_panic(void (*fn)(void *), void *arg) {
    ASSERT_MSG(!expecting_panic, "%s", "ktest_expect_panic does not nest");
    uint64_t flags = read_rflags();
    bool panicked = true;
    if (arch_setjmp(&expect_jmp) == 0) {
        expecting_panic = true;
        fn(arg);
        panicked = false;
    }
    expecting_panic = false;
    irq_restore(flags);
    return panicked;
}

bool ktest_panic_expected(void) {
    return expecting_panic;
}

void ktest_resume_after_panic(void) {
    expecting_panic = false;
    kprintf("    (the panic was expected)\n");
    arch_longjmp(&expect_jmp, 1);
}

static bool run_one(const struct ktest *t) {
    expect_reset();
    size_t free_before = pmm_count(PAGE_STATE_FREE);
    if (arch_setjmp(&test_jmp) == 0) {
        in_test = true;
        t->fn();
        in_test = false;
        size_t free_after = pmm_count(PAGE_STATE_FREE);
        if (free_after != free_before) {
            kprintf("    page leak: %zu free pages before the test, %zu after\n", free_before,
                    free_after);
            expect_note_failure();
        }
    } else {
        // Abandoned: the test's resources may be lost; interrupts may have been left off.
        kprintf("    test aborted\n");
    }
    return !ktest_failed();
}

bool ktest_run_all(const char *filter) {
    int passed = 0, failed = 0;
    uint64_t start = rdtsc();
    for (const struct ktest *t = __start_ktests; t < __stop_ktests; t++) {
        if (!ktest_selected(t, filter))
            continue;
        kprintf("[ RUN  ] %s.%s\n", t->suite, t->name);
        bool ok = run_one(t);
        kprintf("[ %s ] %s.%s\n", ok ? " OK " : "FAIL", t->suite, t->name);
        if (ok)
            passed++;
        else
            failed++;
    }
    kprintf("ktest: %llu TSC ticks\n", (unsigned long long)(rdtsc() - start));
    kprintf("%d passed, %d failed\n", passed, failed);
    return passed > 0 && failed == 0;
}
