// The test framework checks itself: a failed expectation must be reported as a failure, or every
// other test proves nothing. Pure: runs at boot and on the host.
#include "kernel/ktest.h"
#include "kernel/string.h"
#include "kernel/types.h"

// Runs `check`; returns its result and whether it marked the test failed, then forgets that
// failure (keeping any earlier one).
static bool probe_marked;
#define PROBE(check)                                                        \
    __extension__({                                                         \
        bool was_failed_ = ktest_failed();                                  \
        bool ok_ = (check);                                                 \
        probe_marked = ktest_failed() && !was_failed_;                      \
        if (!was_failed_)                                                   \
            expect_reset();                                          \
        ok_;                                                                \
    })

KTEST(ktest, passing_expectations_do_not_fail) {
    EXPECT_TRUE(PROBE(EXPECT_EQ(3, 3)));
    EXPECT_FALSE(probe_marked);
    EXPECT_TRUE(PROBE(EXPECT_LT(3, 4)));
    EXPECT_TRUE(PROBE(EXPECT_SLT(-1, 0)));
    EXPECT_TRUE(PROBE(EXPECT_STREQ("ab", "ab")));
    EXPECT_TRUE(PROBE(EXPECT_STATUS(ZX_ERR_NO_MEMORY, -4)));
    EXPECT_FALSE(probe_marked);
}

KTEST(ktest, failing_expectations_fail) {
    EXPECT_FALSE(PROBE(EXPECT_EQ(3, 4)));
    EXPECT_TRUE(probe_marked);
    EXPECT_FALSE(PROBE(EXPECT_LT(4, 3)));
    EXPECT_TRUE(probe_marked);
    EXPECT_FALSE(PROBE(EXPECT_SGE(-1, 0)));
    EXPECT_TRUE(probe_marked);
    EXPECT_FALSE(PROBE(EXPECT_GE(0, -1)));  // unsigned: -1 is the largest value
    EXPECT_FALSE(PROBE(EXPECT_STREQ("ab", "abc")));
    EXPECT_TRUE(probe_marked);
    EXPECT_FALSE(PROBE(EXPECT_STREQ("ab", NULL)));
    EXPECT_FALSE(PROBE(EXPECT_TRUE(0)));
    EXPECT_TRUE(probe_marked);
}

KTEST(ktest, operands_are_evaluated_once) {
    int n = 0;
    EXPECT_EQ(n++, 0);
    EXPECT_EQ(n, 1);
    EXPECT_SLT(n++, 5);
    EXPECT_EQ(n, 2);
    (void)PROBE(EXPECT_EQ(n++, 99));  // a failing check evaluates once too
    EXPECT_EQ(n, 3);
    EXPECT_TRUE(n++ == 3);
    EXPECT_EQ(n, 4);
}

static int require_reached;
static void require_helper(void) {
    require_reached = 0;
    REQUIRE_EQ(1, 2);
    require_reached = 1;
}

KTEST(ktest, require_stops_the_test) {
    (void)PROBE((require_helper(), true));
    EXPECT_TRUE(probe_marked);
    EXPECT_EQ(require_reached, 0);
}

KTEST(ktest, filters_select_suites_and_names) {
    struct ktest t = {"pmm", "alloc_all", NULL};
    EXPECT_TRUE(ktest_selected(&t, NULL));
    EXPECT_TRUE(ktest_selected(&t, ""));
    EXPECT_TRUE(ktest_selected(&t, "pmm"));
    EXPECT_TRUE(ktest_selected(&t, "heap,pmm"));
    EXPECT_TRUE(ktest_selected(&t, "pmm.alloc_all"));
    EXPECT_FALSE(ktest_selected(&t, "pm"));
    EXPECT_FALSE(ktest_selected(&t, "pmmx"));
    EXPECT_FALSE(ktest_selected(&t, "pmm.alloc"));
    EXPECT_FALSE(ktest_selected(&t, "heap"));
}
