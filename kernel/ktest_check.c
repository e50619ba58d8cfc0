// Expectation checks shared by the kernel and host test runners. The runner owns the
// "current test failed" flag through ktest_note_failure(); see kernel/ktest_priv.h.
#include "kernel/ktest.h"

#include "kernel/ktest_priv.h"
#include "kernel/printf.h"
#include "kernel/string.h"

static bool current_failed;

void ktest_reset_failure(void) {
    current_failed = false;
}

bool ktest_failed(void) {
    return current_failed;
}

void ktest_note_failure(void) {
    current_failed = true;
}

bool ktest_check(bool ok, const char *file, int line, const char *expr) {
    if (!ok) {
        kprintf("    %s:%d: expected %s\n", file, line, expr);
        ktest_note_failure();
    }
    return ok;
}

static bool compare(enum ktest_op op, bool is_signed, uint64_t a, uint64_t b) {
    int c = is_signed ? ((int64_t)a < (int64_t)b ? -1 : (int64_t)a > (int64_t)b)
                      : (a < b ? -1 : a > b);
    switch (op) {
    case KTEST_OP_EQ:
        return c == 0;
    case KTEST_OP_NE:
        return c != 0;
    case KTEST_OP_LT:
        return c < 0;
    case KTEST_OP_LE:
        return c <= 0;
    case KTEST_OP_GT:
        return c > 0;
    case KTEST_OP_GE:
        return c >= 0;
    }
    return false;
}

bool ktest_check_cmp(enum ktest_op op, bool is_signed, uint64_t a, uint64_t b, const char *file,
                     int line, const char *op_str, const char *a_expr, const char *b_expr) {
    bool ok = compare(op, is_signed, a, b);
    if (!ok) {
        kprintf("    %s:%d: expected %s %s %s\n      %s = %lld (%#llx)\n      %s = %lld (%#llx)\n",
                file, line, a_expr, op_str, b_expr, a_expr, (long long)a, (unsigned long long)a,
                b_expr, (long long)b, (unsigned long long)b);
        ktest_note_failure();
    }
    return ok;
}

bool ktest_check_str(const char *file, int line, const char *a_expr, const char *b_expr,
                     const char *a, const char *b) {
    bool ok = a && b && strcmp(a, b) == 0;
    if (!ok) {
        kprintf("    %s:%d: expected %s == %s\n      %s = \"%s\"\n      %s = \"%s\"\n", file, line,
                a_expr, b_expr, a_expr, a ? a : "(null)", b_expr, b ? b : "(null)");
        ktest_note_failure();
    }
    return ok;
}

// Suites named "selfcheck" test the runner itself and fail on purpose: they run only when named.
bool ktest_selected(const struct ktest *t, const char *filter) {
    if (!filter || !*filter)
        return strcmp(t->suite, "selfcheck") != 0;
    size_t suite_len = strlen(t->suite);
    const char *p = filter;
    while (*p) {
        const char *end = strchr(p, ',');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        if (len == suite_len && strncmp(p, t->suite, len) == 0)
            return true;
        // "suite.name"
        if (len > suite_len + 1 && strncmp(p, t->suite, suite_len) == 0 && p[suite_len] == '.' &&
            strlen(t->name) == len - suite_len - 1 &&
            strncmp(p + suite_len + 1, t->name, len - suite_len - 1) == 0)
            return true;
        p += len;
        if (*p == ',')
            p++;
    }
    return false;
}
