// The kernel's string and memory functions. The prototypes match the C library's, so host builds of
// pure code link against libc instead of kernel/string.c.
#ifndef KERNEL_STRING_H
#define KERNEL_STRING_H

#include <stddef.h>

void *memcpy(void *restrict dst, const void *restrict src, size_t n);
void *memmove(void *dst, const void *src, size_t n);
void *memset(void *dst, int c, size_t n);
int memcmp(const void *a, const void *b, size_t n);
size_t strlen(const char *s);
size_t strnlen(const char *s, size_t max);
int strcmp(const char *a, const char *b);
int strncmp(const char *a, const char *b, size_t n);
char *strchr(const char *s, int c);

// Page-sized fills and copies (rep stosq / rep movsq in the kernel). Both pointers page-aligned.
void page_zero(void *page);
void page_copy(void *dst, const void *src);

#endif  // KERNEL_STRING_H
