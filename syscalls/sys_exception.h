// The exception parts of the object calls (syscalls/sys_exception.c).
#ifndef SYSCALLS_SYS_EXCEPTION_H
#define SYSCALLS_SYS_EXCEPTION_H

#include "kernel/object.h"
#include "syscalls/user_copy.h"

// ZX_PROP_EXCEPTION_STATE of `obj` (a uint32_t at `value`): WRONG_TYPE (not an exception),
// BUFFER_TOO_SMALL (value_size < 4), the user copy's status; set also INVALID_ARGS (unknown state).
zx_status_t sys_exception_get_property(struct kobject *obj, user_addr_t value,
                                       size_t value_size) MUST_USE;
zx_status_t sys_exception_set_property(struct kobject *obj, user_addr_t value,
                                       size_t value_size) MUST_USE;

#endif  // SYSCALLS_SYS_EXCEPTION_H
