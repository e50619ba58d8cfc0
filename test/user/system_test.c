// zx_system_get_num_cpus (docs/abi.md §10): at least one CPU, at most Jasper's 64, the same answer
// every time. scripts/test runs it on 1 and on 4 CPUs.
#include "test/user/utest.h"

TEST(num_cpus_is_positive_and_constant) {
    uint32_t n = zx_system_get_num_cpus();
    EXPECT_GE(n, 1);
    EXPECT_LE(n, 64);
    for (int i = 0; i < 100; i++)
        EXPECT_EQ(zx_system_get_num_cpus(), n);
}

TEST(num_cpus_ignores_stray_arguments) {
    // No arguments: whatever the registers hold must not change the answer.
    uint32_t n = zx_system_get_num_cpus();
    EXPECT_EQ(ut_syscall(66, ~0ull, ~0ull, ~0ull, ~0ull, ~0ull, ~0ull, ~0ull, ~0ull), n);
}

UTEST_MAIN(NULL)
