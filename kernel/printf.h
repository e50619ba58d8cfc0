// Formatted output. kvformat is the one formatter; kprintf sends its output to the console,
// ksnprintf to a buffer. Pure code (builds for the host too).
//
// Conversions: %d %i %u %x %X %o %p %s %c %%, flags '-' '0' '+' ' ' '#', a width or '*', a precision
// for integers and %s ('.N' or '.*'), length modifiers hh h l ll z t j.
#ifndef KERNEL_PRINTF_H
#define KERNEL_PRINTF_H

#include <stdarg.h>
#include <stddef.h>

#include "kernel/compiler.h"

// Receives `len` bytes of formatted output.
typedef void (*kformat_sink_fn)(void *ctx, const char *s, size_t len);

// Formats into `sink`; returns the number of bytes produced.
size_t kvformat(kformat_sink_fn sink, void *ctx, const char *fmt, va_list ap);

// Like C's snprintf: writes at most size-1 bytes and a NUL (if size > 0), and returns the length
// the full output would have had.
size_t ksnprintf(char *buf, size_t size, const char *fmt, ...) PRINTF_LIKE(3, 4);
size_t kvsnprintf(char *buf, size_t size, const char *fmt, va_list ap);

// Prints to the kernel console (serial). Returns the number of bytes printed.
size_t kprintf(const char *fmt, ...) PRINTF_LIKE(1, 2);
size_t kvprintf(const char *fmt, va_list ap);

// Writes raw bytes to the console. The kernel supplies it (serial); host builds supply stdout.
void console_write(const char *s, size_t len);

#endif  // KERNEL_PRINTF_H
