// exit, abort, assert failures and number parsing.
#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <zircon/syscalls.h>

#include "ulib/ulib_priv.h"

void exit(int code) {
    ulib_run_exit_handlers();
    ulib_stdio_flush();
    zx_process_exit(code);
}

// Ends the process at once: no exit handlers or destructors run (they may be what failed).
void abort(void) {
    printf("abort()\n");
    ulib_stdio_flush();
    zx_process_exit(134);
}

void __assert_fail(const char *expr, const char *file, int line, const char *func) {
    printf("%s:%d: %s: assertion failed: %s\n", file, line, func, expr);
    abort();
}

int abs(int v) {
    return v < 0 ? -v : v;
}

static int digit_value(char c) {
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'Z')
        return c - 'A' + 10;
    return 99;
}

unsigned long strtoul(const char *s, char **end, int base) {
    while (*s == ' ' || *s == '\t' || *s == '\n')
        s++;
    if (*s == '+')
        s++;
    if ((base == 0 || base == 16) && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
        s += 2;
        base = 16;
    } else if (base == 0) {
        base = s[0] == '0' ? 8 : 10;
    }
    unsigned long v = 0;
    int d;
    while ((d = digit_value(*s)) < base) {
        v = v * (unsigned long)base + (unsigned long)d;
        s++;
    }
    if (end)
        *end = (char *)s;
    return v;
}

long strtol(const char *s, char **end, int base) {
    while (*s == ' ' || *s == '\t' || *s == '\n')
        s++;
    int neg = *s == '-';
    if (neg)
        s++;
    unsigned long v = strtoul(s, end, base);
    return neg ? -(long)v : (long)v;
}

int atoi(const char *s) {
    return (int)strtol(s, NULL, 10);
}
