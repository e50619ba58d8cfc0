// The EXPECT / REQUIRE family shared by every Jasper test framework: in-kernel and host tests
// (kernel/ktest.h) and user tests (test/user/utest.h). One set of macros, one formatting of
// failures, one "the running test failed" flag; each runner resets the flag before a test and
// reads it after (expect_reset, expect_failed).
//
// EXPECT_* prints file:line, the expression and the values on failure and the test goes on; each
// evaluates to whether the check held, and evaluates every operand exactly once. REQUIRE_* also
// returns from the calling function. Output goes through kprintf (the kernel's console; stdout on
// the host; zx_debug_write in user programs, whose printf shares kprintf's buffer).
//
// Pure code: kernel/expect.c builds for the kernel, the host and user programs.
#ifndef KERNEL_EXPECT_H
#define KERNEL_EXPECT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <zircon/types.h>

#include "kernel/compiler.h"

enum expect_op {
    EXPECT_OP_EQ,
    EXPECT_OP_NE,
    EXPECT_OP_LT,
    EXPECT_OP_LE,
    EXPECT_OP_GT,
    EXPECT_OP_GE,
};

// Each records a failure in the running test (printing what failed) and returns whether the check
// held.
bool expect_check(bool ok, const char *file, int line, const char *expr);
bool expect_check_cmp(enum expect_op op, bool is_signed, uint64_t a, uint64_t b, const char *file,
                      int line, const char *op_str, const char *a_expr, const char *b_expr);
bool expect_check_str(const char *file, int line, const char *a_expr, const char *b_expr,
                      const char *a, const char *b);
// `got` must be `want` or `also` (pass want twice for one); statuses are printed by name.
bool expect_check_status(int64_t got, int64_t want, int64_t also, const char *file, int line,
                         const char *expr);
bool expect_check_mem(const void *a, const void *b, size_t n, const char *file, int line,
                      const char *a_expr, const char *b_expr);
bool expect_check_fill(const void *p, uint8_t byte, size_t n, const char *file, int line,
                       const char *expr);
// Records a failure with a message (printf-style) of the caller's.
void expect_fail(const char *file, int line, const char *fmt, ...) PRINTF_LIKE(3, 4);

// "ZX_ERR_NO_MEMORY" for ZX_ERR_NO_MEMORY...; "(not a Jasper status)" for other values.
const char *expect_status_name(int64_t st);

// For the runners: the running test's failure flag.
bool expect_failed(void);
void expect_reset(void);
void expect_note_failure(void);

#define EXPECT_CMP_(op, op_str, a, b) \
    expect_check_cmp(op, false, (uint64_t)(a), (uint64_t)(b), __FILE__, __LINE__, op_str, #a, #b)
#define EXPECT_SCMP_(op, op_str, a, b)                                                       \
    expect_check_cmp(op, true, (uint64_t)(int64_t)(a), (uint64_t)(int64_t)(b), __FILE__, __LINE__, \
                     op_str, #a, #b)

// Unsigned comparisons (pointers and sizes); EXPECT_EQ also suits signed values (equality).
#define EXPECT_EQ(a, b) EXPECT_CMP_(EXPECT_OP_EQ, "==", a, b)
#define EXPECT_NE(a, b) EXPECT_CMP_(EXPECT_OP_NE, "!=", a, b)
#define EXPECT_LT(a, b) EXPECT_CMP_(EXPECT_OP_LT, "<", a, b)
#define EXPECT_LE(a, b) EXPECT_CMP_(EXPECT_OP_LE, "<=", a, b)
#define EXPECT_GT(a, b) EXPECT_CMP_(EXPECT_OP_GT, ">", a, b)
#define EXPECT_GE(a, b) EXPECT_CMP_(EXPECT_OP_GE, ">=", a, b)
// Signed comparisons.
#define EXPECT_SLT(a, b) EXPECT_SCMP_(EXPECT_OP_LT, "<", a, b)
#define EXPECT_SLE(a, b) EXPECT_SCMP_(EXPECT_OP_LE, "<=", a, b)
#define EXPECT_SGT(a, b) EXPECT_SCMP_(EXPECT_OP_GT, ">", a, b)
#define EXPECT_SGE(a, b) EXPECT_SCMP_(EXPECT_OP_GE, ">=", a, b)
#define EXPECT_TRUE(c) expect_check(!!(c), __FILE__, __LINE__, #c)
#define EXPECT_FALSE(c) expect_check(!(c), __FILE__, __LINE__, "!(" #c ")")
#define EXPECT_STREQ(a, b) expect_check_str(__FILE__, __LINE__, #a, #b, (a), (b))
#define EXPECT_STATUS(s, want) \
    expect_check_status((s), (want), (want), __FILE__, __LINE__, #s)
// Where docs/abi.md is silent and Zircon's revisions disagree: either status is accepted.
#define EXPECT_STATUS2(s, want, also) \
    expect_check_status((s), (want), (also), __FILE__, __LINE__, #s)
#define EXPECT_OK(s) EXPECT_STATUS(s, ZX_OK)
// n bytes at a equal n bytes at b; n bytes at p all equal `byte`.
#define EXPECT_MEM(a, b, n) expect_check_mem((a), (b), (n), __FILE__, __LINE__, #a, #b)
#define EXPECT_FILL(p, byte, n) expect_check_fill((p), (byte), (n), __FILE__, __LINE__, #p)
// A failure with a message: EXPECT_FAILF("slot %d: ...", s).
#define EXPECT_FAILF(...) expect_fail(__FILE__, __LINE__, __VA_ARGS__)

#define REQUIRE_(check) \
    do {                \
        if (!(check))   \
            return;     \
    } while (0)
#define REQUIRE_EQ(a, b) REQUIRE_(EXPECT_EQ(a, b))
#define REQUIRE_NE(a, b) REQUIRE_(EXPECT_NE(a, b))
#define REQUIRE_LT(a, b) REQUIRE_(EXPECT_LT(a, b))
#define REQUIRE_LE(a, b) REQUIRE_(EXPECT_LE(a, b))
#define REQUIRE_GT(a, b) REQUIRE_(EXPECT_GT(a, b))
#define REQUIRE_GE(a, b) REQUIRE_(EXPECT_GE(a, b))
#define REQUIRE_TRUE(c) REQUIRE_(EXPECT_TRUE(c))
#define REQUIRE_FALSE(c) REQUIRE_(EXPECT_FALSE(c))
#define REQUIRE_OK(s) REQUIRE_(EXPECT_OK(s))
#define REQUIRE_STATUS(s, want) REQUIRE_(EXPECT_STATUS(s, want))

// Expects the attribution figures (bytes) of a zx_info_vmo_t `info`: committed and populated
// agree, as every VMO without a pager has them (kernel and user clone-tree tests).
#define EXPECT_VMO_ATTRIBUTION(info, committed, private_, scaled)  \
    do {                                                           \
        zx_info_vmo_t i_ = (info);                                 \
        EXPECT_EQ(i_.committed_bytes, (committed));                \
        EXPECT_EQ(i_.populated_bytes, (committed));                \
        EXPECT_EQ(i_.committed_private_bytes, (private_));         \
        EXPECT_EQ(i_.populated_private_bytes, (private_));         \
        EXPECT_EQ(i_.committed_scaled_bytes, (scaled));            \
        EXPECT_EQ(i_.populated_scaled_bytes, (scaled));            \
    } while (0)

#endif  // KERNEL_EXPECT_H
