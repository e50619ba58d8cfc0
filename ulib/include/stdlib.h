// Memory allocation (on a VMO-backed heap) and process exit.
#ifndef ULIB_STDLIB_H
#define ULIB_STDLIB_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

#define EXIT_SUCCESS 0
#define EXIT_FAILURE 1

void *malloc(size_t size);
void *calloc(size_t count, size_t size);
void *realloc(void *ptr, size_t size);
void free(void *ptr);
// Runs the atexit handlers and static destructors, flushes output, ends the process.
__attribute__((noreturn)) void exit(int code);
int atexit(void (*fn)(void));
__attribute__((noreturn)) void abort(void);
int abs(int v);
long strtol(const char *s, char **end, int base);
unsigned long strtoul(const char *s, char **end, int base);
int atoi(const char *s);

#ifdef __cplusplus
}
#endif

#endif  // ULIB_STDLIB_H
