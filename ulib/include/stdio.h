// Jasper's small stdio: formatted output to the kernel console (zx_debug_write). The conversions
// are the kernel's (kernel/printf.h): %d %i %u %x %X %o %p %s %c %%, flags, width, precision,
// hh h l ll z t j. No floating point, no files.
#ifndef ULIB_STDIO_H
#define ULIB_STDIO_H

#include <stdarg.h>
#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

#define EOF (-1)

int printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
int vprintf(const char *fmt, va_list ap);
int snprintf(char *buf, size_t size, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
int vsnprintf(char *buf, size_t size, const char *fmt, va_list ap);
int sprintf(char *buf, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int puts(const char *s);
int putchar(int c);

#ifdef __cplusplus
}
#endif

#endif  // ULIB_STDIO_H
