// printf and friends on the kernel's formatter (kernel/printf.c, compiled into ulib too), writing
// through zx_debug_write. Output is buffered per line (and at most 256 bytes, the kernel's limit
// per call) so a line reaches the console in one piece. The buffer is shared by the program's
// threads: a lock keeps each call's output together.
#include <stdio.h>
#include <string.h>
#include <zircon/syscalls.h>

#include "kernel/printf.h"
#include "ulib/ulib_priv.h"

#define OUT_MAX 256

static int out_lock;
static char out_buf[OUT_MAX];
static size_t out_len;

static void flush_locked(void) {
    if (out_len) {
        zx_debug_write(out_buf, out_len);
        out_len = 0;
    }
}

void ulib_stdio_flush(void) {
    ulib_lock(&out_lock);
    flush_locked();
    ulib_unlock(&out_lock);
}

// The formatter's sink (kernel/printf.h), called with out_lock held: buffer, flush on newline or
// when full.
void console_write(const char *s, size_t len) {
    for (size_t i = 0; i < len; i++) {
        out_buf[out_len++] = s[i];
        if (s[i] == '\n' || out_len == OUT_MAX)
            flush_locked();
    }
}

int vprintf(const char *fmt, va_list ap) {
    ulib_lock(&out_lock);
    int n = (int)kvprintf(fmt, ap);
    ulib_unlock(&out_lock);
    return n;
}

int printf(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    int n = vprintf(fmt, ap);
    va_end(ap);
    return n;
}

int vsnprintf(char *buf, size_t size, const char *fmt, va_list ap) {
    return (int)kvsnprintf(buf, size, fmt, ap);
}

int snprintf(char *buf, size_t size, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf, size, fmt, ap);
    va_end(ap);
    return n;
}

int sprintf(char *buf, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf, (size_t)1 << 30, fmt, ap);
    va_end(ap);
    return n;
}

int puts(const char *s) {
    ulib_lock(&out_lock);
    console_write(s, strlen(s));
    console_write("\n", 1);
    ulib_unlock(&out_lock);
    return 1;
}

int putchar(int c) {
    char ch = (char)c;
    ulib_lock(&out_lock);
    console_write(&ch, 1);
    ulib_unlock(&out_lock);
    return (unsigned char)c;
}
