// The formatter behind kprintf and ksnprintf. No floating point: the kernel has no FPU state.
#include "kernel/printf.h"

#include <stdbool.h>
#include <stdint.h>

#include "kernel/string.h"

struct fmt_spec {
    bool left;      // '-': pad on the right
    bool zero;      // '0': pad numbers with zeros
    bool plus;      // '+': always print a sign
    bool space;     // ' ': a space where the sign of a positive number would go
    bool alt;       // '#': 0x prefix for hex, 0 for octal
    int width;      // minimum field width
    int precision;  // -1 when absent
};

struct fmt_out {
    kformat_sink_fn sink;
    void *ctx;
    size_t count;
};

static void emit(struct fmt_out *out, const char *s, size_t len) {
    if (len == 0)
        return;
    out->sink(out->ctx, s, len);
    out->count += len;
}

static void emit_repeat(struct fmt_out *out, char c, int n) {
    char chunk[16];
    memset(chunk, c, sizeof(chunk));
    while (n > 0) {
        int k = n < (int)sizeof(chunk) ? n : (int)sizeof(chunk);
        emit(out, chunk, (size_t)k);
        n -= k;
    }
}

// Emits `body` (len bytes) after `prefix`, padded to the spec's width.
static void emit_field(struct fmt_out *out, const struct fmt_spec *spec, const char *prefix,
                       const char *body, size_t len, int zeros) {
    size_t plen = strlen(prefix);
    int total = (int)(plen + len) + zeros;
    int pad = spec->width > total ? spec->width - total : 0;
    if (!spec->left && !(spec->zero && spec->precision < 0))
        emit_repeat(out, ' ', pad);
    emit(out, prefix, plen);
    if (!spec->left && spec->zero && spec->precision < 0)
        emit_repeat(out, '0', pad);
    emit_repeat(out, '0', zeros);
    emit(out, body, len);
    if (spec->left)
        emit_repeat(out, ' ', pad);
}

static void emit_unsigned(struct fmt_out *out, struct fmt_spec spec, uint64_t v, unsigned base,
                          bool upper, const char *sign) {
    const char *digits = upper ? "0123456789ABCDEF" : "0123456789abcdef";
    char buf[24];
    size_t len = 0;
    while (v != 0) {
        buf[sizeof(buf) - 1 - len++] = digits[v % base];
        v /= base;
    }
    // C: precision 0 with value 0 prints no digits; otherwise at least one digit.
    if (len == 0 && spec.precision != 0)
        buf[sizeof(buf) - 1 - len++] = '0';
    char prefix[4] = {0};
    size_t p = 0;
    for (const char *s = sign; *s; s++)
        prefix[p++] = *s;
    int zeros = spec.precision > (int)len ? spec.precision - (int)len : 0;
    if (spec.alt && base == 16 && len > 0 && !(len == 1 && buf[sizeof(buf) - 1] == '0')) {
        prefix[p++] = '0';
        prefix[p++] = upper ? 'X' : 'x';
    } else if (spec.alt && base == 8 && zeros == 0 && buf[sizeof(buf) - len] != '0') {
        zeros = 1;
    }
    emit_field(out, &spec, prefix, buf + sizeof(buf) - len, len, zeros);
}

size_t kvformat(kformat_sink_fn sink, void *ctx, const char *fmt, va_list ap) {
    struct fmt_out out = {sink, ctx, 0};
    va_list args;
    va_copy(args, ap);
    while (*fmt) {
        const char *start = fmt;
        while (*fmt && *fmt != '%')
            fmt++;
        emit(&out, start, (size_t)(fmt - start));
        if (!*fmt)
            break;
        fmt++;  // '%'

        struct fmt_spec spec = {.precision = -1};
        for (;; fmt++) {
            if (*fmt == '-')
                spec.left = true;
            else if (*fmt == '0')
                spec.zero = true;
            else if (*fmt == '+')
                spec.plus = true;
            else if (*fmt == ' ')
                spec.space = true;
            else if (*fmt == '#')
                spec.alt = true;
            else
                break;
        }
        if (*fmt == '*') {
            spec.width = va_arg(args, int);
            if (spec.width < 0) {
                spec.left = true;
                spec.width = -spec.width;
            }
            fmt++;
        } else {
            while (*fmt >= '0' && *fmt <= '9')
                spec.width = spec.width * 10 + (*fmt++ - '0');
        }
        if (*fmt == '.') {
            fmt++;
            spec.precision = 0;
            if (*fmt == '*') {
                spec.precision = va_arg(args, int);
                if (spec.precision < 0)
                    spec.precision = -1;
                fmt++;
            } else {
                while (*fmt >= '0' && *fmt <= '9')
                    spec.precision = spec.precision * 10 + (*fmt++ - '0');
            }
        }
        // Length modifier: the number of bytes of the argument.
        int size = (int)sizeof(int);
        if (*fmt == 'h') {
            fmt++;
            size = 2;
            if (*fmt == 'h') {
                fmt++;
                size = 1;
            }
        } else if (*fmt == 'l') {
            fmt++;
            size = (int)sizeof(long);
            if (*fmt == 'l') {
                fmt++;
                size = (int)sizeof(long long);
            }
        } else if (*fmt == 'z' || *fmt == 't' || *fmt == 'j') {
            fmt++;
            size = 8;
        }

        char conv = *fmt ? *fmt++ : '\0';
        switch (conv) {
        case 'd':
        case 'i': {
            int64_t v = size == 8 ? va_arg(args, int64_t) : (int64_t)va_arg(args, int);
            if (size == 2)
                v = (int16_t)v;
            else if (size == 1)
                v = (int8_t)v;
            const char *sign = v < 0 ? "-" : spec.plus ? "+" : spec.space ? " " : "";
            uint64_t mag = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
            emit_unsigned(&out, spec, mag, 10, false, sign);
            break;
        }
        case 'u':
        case 'x':
        case 'X':
        case 'o': {
            uint64_t v = size == 8 ? va_arg(args, uint64_t) : (uint64_t)va_arg(args, unsigned);
            if (size == 2)
                v = (uint16_t)v;
            else if (size == 1)
                v = (uint8_t)v;
            unsigned base = conv == 'u' ? 10 : conv == 'o' ? 8 : 16;
            emit_unsigned(&out, spec, v, base, conv == 'X', "");
            break;
        }
        case 'p': {
            uintptr_t v = (uintptr_t)va_arg(args, void *);
            spec.alt = true;
            emit_unsigned(&out, spec, v, 16, false, "");
            break;
        }
        case 's': {
            const char *s = va_arg(args, const char *);
            if (!s)
                s = "(null)";
            size_t len = spec.precision >= 0 ? strnlen(s, (size_t)spec.precision) : strlen(s);
            spec.zero = false;
            emit_field(&out, &spec, "", s, len, 0);
            break;
        }
        case 'c': {
            char c = (char)va_arg(args, int);
            spec.zero = false;
            emit_field(&out, &spec, "", &c, 1, 0);
            break;
        }
        case '%':
            emit(&out, "%", 1);
            break;
        default:
            // Unknown conversion: print it literally so the mistake is visible.
            emit(&out, start, (size_t)(fmt - start));
            if (conv == '\0')
                goto done;
            break;
        }
    }
done:
    va_end(args);
    return out.count;
}

struct buf_sink {
    char *buf;
    size_t size;
    size_t used;
};

static void buf_sink_write(void *ctx, const char *s, size_t len) {
    struct buf_sink *b = ctx;
    if (b->used + 1 < b->size) {
        size_t room = b->size - 1 - b->used;
        size_t n = len < room ? len : room;
        memcpy(b->buf + b->used, s, n);
        b->used += n;
    }
}

size_t kvsnprintf(char *buf, size_t size, const char *fmt, va_list ap) {
    struct buf_sink b = {buf, size, 0};
    size_t n = kvformat(buf_sink_write, &b, fmt, ap);
    if (size > 0)
        buf[b.used] = '\0';
    return n;
}

size_t ksnprintf(char *buf, size_t size, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    size_t n = kvsnprintf(buf, size, fmt, ap);
    va_end(ap);
    return n;
}

static void console_sink(void *ctx, const char *s, size_t len) {
    (void)ctx;
    console_write(s, len);
}

size_t kvprintf(const char *fmt, va_list ap) {
    return kvformat(console_sink, NULL, fmt, ap);
}

size_t kprintf(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    size_t n = kvprintf(fmt, ap);
    va_end(ap);
    return n;
}
