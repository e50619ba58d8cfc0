// The checks behind the EXPECT family and their failure messages. See kernel/expect.h.
#include "kernel/expect.h"

#include <stdarg.h>

#include "kernel/printf.h"
#include "kernel/string.h"

static bool current_failed;

bool expect_failed(void) {
    return current_failed;
}

void expect_reset(void) {
    current_failed = false;
}

void expect_note_failure(void) {
    current_failed = true;
}

static const struct {
    zx_status_t st;
    const char *name;
} status_names[] = {
    {ZX_OK, "ZX_OK"},
    {ZX_ERR_INTERNAL, "ZX_ERR_INTERNAL"},
    {ZX_ERR_NOT_SUPPORTED, "ZX_ERR_NOT_SUPPORTED"},
    {ZX_ERR_NO_RESOURCES, "ZX_ERR_NO_RESOURCES"},
    {ZX_ERR_NO_MEMORY, "ZX_ERR_NO_MEMORY"},
    {ZX_ERR_INVALID_ARGS, "ZX_ERR_INVALID_ARGS"},
    {ZX_ERR_BAD_HANDLE, "ZX_ERR_BAD_HANDLE"},
    {ZX_ERR_WRONG_TYPE, "ZX_ERR_WRONG_TYPE"},
    {ZX_ERR_BAD_SYSCALL, "ZX_ERR_BAD_SYSCALL"},
    {ZX_ERR_OUT_OF_RANGE, "ZX_ERR_OUT_OF_RANGE"},
    {ZX_ERR_BUFFER_TOO_SMALL, "ZX_ERR_BUFFER_TOO_SMALL"},
    {ZX_ERR_BAD_STATE, "ZX_ERR_BAD_STATE"},
    {ZX_ERR_TIMED_OUT, "ZX_ERR_TIMED_OUT"},
    {ZX_ERR_SHOULD_WAIT, "ZX_ERR_SHOULD_WAIT"},
    {ZX_ERR_CANCELED, "ZX_ERR_CANCELED"},
    {ZX_ERR_PEER_CLOSED, "ZX_ERR_PEER_CLOSED"},
    {ZX_ERR_NOT_FOUND, "ZX_ERR_NOT_FOUND"},
    {ZX_ERR_ALREADY_EXISTS, "ZX_ERR_ALREADY_EXISTS"},
    {ZX_ERR_UNAVAILABLE, "ZX_ERR_UNAVAILABLE"},
    {ZX_ERR_ACCESS_DENIED, "ZX_ERR_ACCESS_DENIED"},
    {ZX_ERR_NEXT, "ZX_ERR_NEXT"},
    {ZX_ERR_STOP, "ZX_ERR_STOP"},
};

const char *expect_status_name(int64_t st) {
    for (size_t i = 0; i < sizeof(status_names) / sizeof(status_names[0]); i++) {
        if (status_names[i].st == st)
            return status_names[i].name;
    }
    return "(not a Jasper status)";
}

bool expect_check(bool ok, const char *file, int line, const char *expr) {
    if (!ok) {
        kprintf("    %s:%d: expected %s\n", file, line, expr);
        expect_note_failure();
    }
    return ok;
}

void expect_fail(const char *file, int line, const char *fmt, ...) {
    char msg[200];
    va_list ap;
    va_start(ap, fmt);
    kvsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    kprintf("    %s:%d: %s\n", file, line, msg);
    expect_note_failure();
}

static bool compare(enum expect_op op, bool is_signed, uint64_t a, uint64_t b) {
    int c = is_signed ? ((int64_t)a < (int64_t)b ? -1 : (int64_t)a > (int64_t)b)
                      : (a < b ? -1 : a > b);
    switch (op) {
    case EXPECT_OP_EQ:
        return c == 0;
    case EXPECT_OP_NE:
        return c != 0;
    case EXPECT_OP_LT:
        return c < 0;
    case EXPECT_OP_LE:
        return c <= 0;
    case EXPECT_OP_GT:
        return c > 0;
    case EXPECT_OP_GE:
        return c >= 0;
    }
    return false;
}

bool expect_check_cmp(enum expect_op op, bool is_signed, uint64_t a, uint64_t b, const char *file,
                      int line, const char *op_str, const char *a_expr, const char *b_expr) {
    bool ok = compare(op, is_signed, a, b);
    if (!ok) {
        kprintf("    %s:%d: expected %s %s %s\n      %s = %lld (%#llx)\n      %s = %lld (%#llx)\n",
                file, line, a_expr, op_str, b_expr, a_expr, (long long)a, (unsigned long long)a,
                b_expr, (long long)b, (unsigned long long)b);
        expect_note_failure();
    }
    return ok;
}

bool expect_check_str(const char *file, int line, const char *a_expr, const char *b_expr,
                      const char *a, const char *b) {
    bool ok = a && b && strcmp(a, b) == 0;
    if (!ok) {
        kprintf("    %s:%d: expected %s == %s\n      %s = \"%s\"\n      %s = \"%s\"\n", file, line,
                a_expr, b_expr, a_expr, a ? a : "(null)", b_expr, b ? b : "(null)");
        expect_note_failure();
    }
    return ok;
}

bool expect_check_status(int64_t got, int64_t want, int64_t also, const char *file, int line,
                         const char *expr) {
    if (got == want || got == also)
        return true;
    if (want == also)
        kprintf("    %s:%d: %s\n      returned %lld %s, expected %lld %s\n", file, line, expr,
                (long long)got, expect_status_name(got), (long long)want,
                expect_status_name(want));
    else
        kprintf("    %s:%d: %s\n      returned %lld %s, expected %lld %s or %lld %s\n", file,
                line, expr, (long long)got, expect_status_name(got), (long long)want,
                expect_status_name(want), (long long)also, expect_status_name(also));
    expect_note_failure();
    return false;
}

bool expect_check_mem(const void *a, const void *b, size_t n, const char *file, int line,
                      const char *a_expr, const char *b_expr) {
    const uint8_t *x = a, *y = b;
    for (size_t i = 0; i < n; i++) {
        if (x[i] != y[i]) {
            kprintf("    %s:%d: expected %s == %s (%zu bytes)\n      first difference at byte %zu: "
                    "%#x != %#x\n",
                    file, line, a_expr, b_expr, n, i, x[i], y[i]);
            expect_note_failure();
            return false;
        }
    }
    return true;
}

bool expect_check_fill(const void *p, uint8_t byte, size_t n, const char *file, int line,
                       const char *expr) {
    const uint8_t *x = p;
    for (size_t i = 0; i < n; i++) {
        if (x[i] != byte) {
            kprintf("    %s:%d: expected %zu bytes of %#x at %s\n      byte %zu is %#x\n", file,
                    line, n, byte, expr, i, x[i]);
            expect_note_failure();
            return false;
        }
    }
    return true;
}
