// assert(): on failure prints the expression and location, then exits with code 134 (as abort).
#ifndef ULIB_ASSERT_H
#define ULIB_ASSERT_H

__attribute__((noreturn)) void __assert_fail(const char *expr, const char *file, int line,
                                             const char *func);

#ifdef NDEBUG
#define assert(e) ((void)0)
#else
#define assert(e) ((e) ? (void)0 : __assert_fail(#e, __FILE__, __LINE__, __func__))
#endif

#define static_assert _Static_assert

#endif  // ULIB_ASSERT_H
