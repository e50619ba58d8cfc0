// Moving data between the kernel and user memory. User pointers are plain numbers (user_addr_t)
// that the kernel never dereferences directly: only these helpers touch user memory, and a fault
// inside them becomes a status, never a panic.
//
// Errors (docs/abi.md §2): a range outside the user address space [USER_ASPACE_BASE,
// USER_ASPACE_END), or one that wraps, is INVALID_ARGS; a page in the range that is not mapped is
// NOT_FOUND; one mapped without the needed permission is ACCESS_DENIED. A zero length is always OK.
#ifndef SYSCALLS_USER_COPY_H
#define SYSCALLS_USER_COPY_H

#include "kernel/types.h"
#include "vm/aspace.h"  // USER_ASPACE_BASE, USER_ASPACE_END

typedef uint64_t user_addr_t;

// True if [addr, addr + len) lies inside the user address space (len 0: always true).
bool user_range_ok(user_addr_t addr, size_t len);

zx_status_t copy_from_user(void *dst, user_addr_t src, size_t len) MUST_USE;
zx_status_t copy_to_user(user_addr_t dst, const void *src, size_t len) MUST_USE;
// Copies a user string of at most `max` bytes (no NUL needed in user memory) into `dst`
// (size max + 1) and NUL-terminates it.
zx_status_t copy_str_from_user(char *dst, user_addr_t src, size_t max) MUST_USE;

// Reads CPUID once to learn whether stac/clac exist (SMAP).
void user_copy_init(void);

#endif  // SYSCALLS_USER_COPY_H
