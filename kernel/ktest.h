// The Jasper unit-test framework, shared by in-kernel tests (run at boot when the command line says
// `ktest` or `ktest=SUITE[,SUITE...]`) and host tests (each host test program runs every test linked
// into it). A test is a function registered in the `ktests` linker section:
//
//     KTEST(pmm, alloc_free_all) {
//         size_t before = pmm_count(PAGE_STATE_FREE);
//         EXPECT_EQ(pmm_count(PAGE_STATE_FREE), before);
//     }
//
// EXPECT_* prints file:line and both values on failure and the test goes on; REQUIRE_* also returns
// from the test. A test that faults or panics is reported failed and the run continues with the next.
// The runner prints one line per test and finally "N passed, N failed".
#ifndef KERNEL_KTEST_H
#define KERNEL_KTEST_H

#include <stdbool.h>
#include <stdint.h>

#include "kernel/compiler.h"

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

enum ktest_op { KTEST_OP_EQ, KTEST_OP_NE, KTEST_OP_LT, KTEST_OP_LE, KTEST_OP_GT, KTEST_OP_GE };

// Records a failed expectation in the running test. Each returns whether the check held; every
// operand is evaluated exactly once (they are function arguments).
bool ktest_check(bool ok, const char *file, int line, const char *expr);
bool ktest_check_cmp(enum ktest_op op, bool is_signed, uint64_t a, uint64_t b, const char *file,
                     int line, const char *op_str, const char *a_expr, const char *b_expr);
bool ktest_check_str(const char *file, int line, const char *a_expr, const char *b_expr,
                     const char *a, const char *b);

// True if the running test has failed so far.
bool ktest_failed(void);

#define KTEST_CMP_(op, op_str, a, b) \
    ktest_check_cmp(op, false, (uint64_t)(a), (uint64_t)(b), __FILE__, __LINE__, op_str, #a, #b)
#define KTEST_SCMP_(op, op_str, a, b) \
    ktest_check_cmp(op, true, (uint64_t)(int64_t)(a), (uint64_t)(int64_t)(b), __FILE__, __LINE__, \
                    op_str, #a, #b)

// Unsigned comparisons (pointers and sizes); EXPECT_EQ also suits signed values (equality).
#define EXPECT_EQ(a, b) KTEST_CMP_(KTEST_OP_EQ, "==", a, b)
#define EXPECT_NE(a, b) KTEST_CMP_(KTEST_OP_NE, "!=", a, b)
#define EXPECT_LT(a, b) KTEST_CMP_(KTEST_OP_LT, "<", a, b)
#define EXPECT_LE(a, b) KTEST_CMP_(KTEST_OP_LE, "<=", a, b)
#define EXPECT_GT(a, b) KTEST_CMP_(KTEST_OP_GT, ">", a, b)
#define EXPECT_GE(a, b) KTEST_CMP_(KTEST_OP_GE, ">=", a, b)
// Signed comparisons.
#define EXPECT_SLT(a, b) KTEST_SCMP_(KTEST_OP_LT, "<", a, b)
#define EXPECT_SLE(a, b) KTEST_SCMP_(KTEST_OP_LE, "<=", a, b)
#define EXPECT_SGT(a, b) KTEST_SCMP_(KTEST_OP_GT, ">", a, b)
#define EXPECT_SGE(a, b) KTEST_SCMP_(KTEST_OP_GE, ">=", a, b)
#define EXPECT_TRUE(c) ktest_check(!!(c), __FILE__, __LINE__, #c)
#define EXPECT_FALSE(c) ktest_check(!(c), __FILE__, __LINE__, "!(" #c ")")
#define EXPECT_OK(s) EXPECT_EQ((int64_t)(s), 0)
#define EXPECT_STATUS(s, want) EXPECT_EQ((int64_t)(s), (int64_t)(want))
#define EXPECT_STREQ(a, b) ktest_check_str(__FILE__, __LINE__, #a, #b, (a), (b))

#define REQUIRE_(check) \
    do {                \
        if (!(check))   \
            return;     \
    } while (0)
#define REQUIRE_EQ(a, b) REQUIRE_(EXPECT_EQ(a, b))
#define REQUIRE_NE(a, b) REQUIRE_(EXPECT_NE(a, b))
#define REQUIRE_LT(a, b) REQUIRE_(EXPECT_LT(a, b))
#define REQUIRE_LE(a, b) REQUIRE_(EXPECT_LE(a, b))
#define REQUIRE_GE(a, b) REQUIRE_(EXPECT_GE(a, b))
#define REQUIRE_TRUE(c) REQUIRE_(EXPECT_TRUE(c))
#define REQUIRE_FALSE(c) REQUIRE_(EXPECT_FALSE(c))
#define REQUIRE_OK(s) REQUIRE_(EXPECT_OK(s))
#define REQUIRE_STATUS(s, want) REQUIRE_(EXPECT_STATUS(s, want))

// The registered tests, in link order.
extern const struct ktest __start_ktests[];
extern const struct ktest __stop_ktests[];

// True if `t` is selected by `filter`: NULL or "" selects every test; otherwise a comma-separated
// list of suite names or "suite.name" entries.
bool ktest_selected(const struct ktest *t, const char *filter);

#endif  // KERNEL_KTEST_H
