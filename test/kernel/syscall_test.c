// The syscall layer seen from inside: dispatch, and the user-copy helpers' range checks and fault
// recovery (a copy from an unmapped user address must return NOT_FOUND, not crash the kernel).
#include <zircon/types.h>

#include "kernel/ktest.h"
#include "syscalls/dispatch.h"
#include "syscalls/user_copy.h"

static int64_t call(uint64_t nr, uint64_t a0, uint64_t a1) {
    const uint64_t args[8] = {a0, a1, 0, 0, 0, 0, 0, 0};
    return syscall_invoke(nr, args);
}

KTEST(syscall, unknown_numbers_are_bad_syscall) {
    EXPECT_STATUS(call(0, 0, 0), ZX_ERR_BAD_SYSCALL);
    EXPECT_STATUS(call(73, 0, 0), ZX_ERR_BAD_SYSCALL);
    EXPECT_STATUS(call(~0ull, 0, 0), ZX_ERR_BAD_SYSCALL);
}

KTEST(syscall, clock_and_ticks) {
    int64_t t0 = call(30, 0, 0);
    int64_t k0 = call(32, 0, 0);
    EXPECT_SGT(call(33, 0, 0), 0);
    EXPECT_OK(call(31, (uint64_t)(t0 + 1000000), 0));  // nanosleep 1 ms
    EXPECT_SGE(call(30, 0, 0), t0 + 1000000);
    EXPECT_SGT(call(32, 0, 0), k0);
}

KTEST(syscall, debug_write_checks_its_pointer) {
    static const char msg[] = "x";
    // A kernel address is outside the user range.
    EXPECT_STATUS(call(29, (uint64_t)msg, 1), ZX_ERR_INVALID_ARGS);
    EXPECT_STATUS(call(29, 0, 1), ZX_ERR_INVALID_ARGS);
    // Zero bytes: any pointer.
    EXPECT_OK(call(29, 0xdead, 0));
    // Inside the user range but unmapped: the copy faults and reports NOT_FOUND.
    EXPECT_STATUS(call(29, USER_ASPACE_BASE + 0x123000, 10), ZX_ERR_NOT_FOUND);
}

KTEST(user_copy, range_checks) {
    EXPECT_TRUE(user_range_ok(0, 0));
    EXPECT_TRUE(user_range_ok(USER_ASPACE_BASE, 1));
    EXPECT_FALSE(user_range_ok(USER_ASPACE_BASE - 1, 1));
    EXPECT_FALSE(user_range_ok(USER_ASPACE_BASE - 1, 2));
    EXPECT_TRUE(user_range_ok(USER_ASPACE_END - 1, 1));
    EXPECT_FALSE(user_range_ok(USER_ASPACE_END - 1, 2));
    EXPECT_FALSE(user_range_ok(USER_ASPACE_END, 1));
    EXPECT_FALSE(user_range_ok(USER_ASPACE_BASE, ~0ull));  // would wrap
    EXPECT_FALSE(user_range_ok(0xffff800000000000ull, 8));
    EXPECT_FALSE(user_range_ok(0x0000800000000000ull, 8));  // non-canonical
    char buf[8];
    EXPECT_STATUS(copy_from_user(buf, 0xffffffff80000000ull, 8), ZX_ERR_INVALID_ARGS);
    EXPECT_STATUS(copy_to_user(0x10, buf, 8), ZX_ERR_INVALID_ARGS);
    EXPECT_STATUS(copy_to_user(USER_ASPACE_BASE + 0x5000, buf, 8), ZX_ERR_NOT_FOUND);
    EXPECT_OK(copy_to_user(0x10, buf, 0));
}
