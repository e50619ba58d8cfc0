// assert(): on failure prints the expression and location, then exits with code 134 (as abort).
#ifndef ULIB_ASSERT_H
#define ULIB_ASSERT_H

#ifdef __cplusplus
extern "C"
#endif
__attribute__((noreturn)) void __assert_fail(const char *expr, const char *file, int line,
                                             const char *func);

#ifdef NDEBUG
#define assert(e) ((void)0)
#else
#define assert(e) ((e) ? (void)0 : __assert_fail(#e, __FILE__, __LINE__, __func__))
#endif

#ifndef __cplusplus
#define static_assert _Static_assert  // a keyword in C++
#endif

#endif  // ULIB_ASSERT_H
