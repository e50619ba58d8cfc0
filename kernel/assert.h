// Kernel assertions and panic. ASSERT is always on; DEBUG_ASSERT is compiled (type-checked) always
// and evaluated only when JASPER_DEBUG is 1. A failed assertion is a kernel bug, never a user error.
// In host builds panic() is supplied by the host test environment (it aborts the test).
#ifndef KERNEL_ASSERT_H
#define KERNEL_ASSERT_H

#include "kernel/compiler.h"

#ifndef JASPER_DEBUG
#define JASPER_DEBUG 1
#endif

// Prints "PANIC: <message>", a backtrace, and stops the machine with a failure status.
NORETURN void panic(const char *fmt, ...) PRINTF_LIKE(1, 2);

#define ASSERT(cond)                                                                   \
    do {                                                                               \
        if (unlikely(!(cond)))                                                         \
            panic("%s:%d: %s: ASSERT failed: %s", __FILE__, __LINE__, __func__, #cond); \
    } while (0)

#define ASSERT_MSG(cond, fmt, ...)                                                          \
    do {                                                                                    \
        if (unlikely(!(cond)))                                                              \
            panic("%s:%d: %s: ASSERT failed: %s: " fmt, __FILE__, __LINE__, __func__, #cond, \
                  __VA_ARGS__);                                                             \
    } while (0)

#define DEBUG_ASSERT(cond)              \
    do {                                \
        if (JASPER_DEBUG && !(cond))    \
            ASSERT(cond);               \
    } while (0)

#endif  // KERNEL_ASSERT_H
