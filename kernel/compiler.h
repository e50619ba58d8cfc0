// Compiler helpers shared by every Jasper source, kernel and host builds alike.
#ifndef KERNEL_COMPILER_H
#define KERNEL_COMPILER_H

#define NORETURN __attribute__((noreturn))
#define UNUSED __attribute__((unused))
#define USED __attribute__((used))
#define PACKED __attribute__((packed))
#define ALIGNED(n) __attribute__((aligned(n)))
#define SECTION(s) __attribute__((section(s)))
#define PRINTF_LIKE(fmt, args) __attribute__((format(printf, fmt, args)))
#define MUST_USE __attribute__((warn_unused_result))
#define NOINLINE __attribute__((noinline))
#define ALWAYS_INLINE inline __attribute__((always_inline))
// An external function a link-time-optimised kernel (meson option kernel_lto) inlines into its
// callers in other files: the fault path's calls across layers. In other builds an ordinary
// function. (GCC warns that such a function "might not be inlinable" when it compiles the file
// alone; the LTO build turns that one warning off.)
#if defined(JASPER_LTO) && JASPER_LTO
#define LTO_INLINE __attribute__((always_inline))
#else
#define LTO_INLINE
#endif

#define likely(x) __builtin_expect(!!(x), 1)
#define unlikely(x) __builtin_expect(!!(x), 0)

#define countof(a) (sizeof(a) / sizeof((a)[0]))
#define containerof(ptr, type, member) ((type *)((char *)(ptr) - offsetof(type, member)))

// Rounding for powers of two; `a` must be a power of two.
#define ROUNDDOWN(x, a) ((x) & ~((__typeof__(x))(a) - 1))
#define ROUNDUP(x, a) ROUNDDOWN((x) + ((__typeof__(x))(a) - 1), (a))
#define IS_ALIGNED(x, a) (((x) & ((__typeof__(x))(a) - 1)) == 0)

#define MIN(a, b) ((a) < (b) ? (a) : (b))
#define MAX(a, b) ((a) > (b) ? (a) : (b))

// Lock annotations for clang's -Wthread-safety (on in the clang build; docs/smp.md "Locks" says
// what it covers). In C, clang 14 cannot name a sibling field in GUARDED_BY (only C++ has member
// lookup there), so that one stays documentation; CAPABILITY on the lock types, ACQUIRE/RELEASE
// on the lock functions, REQUIRES(obj->lock) on *_locked functions and ASSERT_CAPABILITY on
// run-time checks are checked. The analysis compares lock expressions by their spelling
// (`v->tree->lock` is not `n->tree->lock` to it). Nothing under GCC.
#if defined(__clang__)
#define TSA_(x) __attribute__((x))
#else
#define TSA_(x)
#endif
#define GUARDED_BY(x)
#define CAPABILITY(name) TSA_(capability(name))
#define REQUIRES(...) TSA_(requires_capability(__VA_ARGS__))
#define ACQUIRE(...) TSA_(acquire_capability(__VA_ARGS__))
#define RELEASE(...) TSA_(release_capability(__VA_ARGS__))
// After a call, the analysis takes the capability as held (the function checks it at run time).
#define ASSERT_CAPABILITY(...) TSA_(assert_capability(__VA_ARGS__))
// The function returns (a pointer to) this capability: calls through it name the same lock.
#define RETURN_CAPABILITY(x) TSA_(lock_returned(x))
#define NO_THREAD_SAFETY_ANALYSIS TSA_(no_thread_safety_analysis)

#endif  // KERNEL_COMPILER_H
