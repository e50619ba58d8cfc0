// Time and console calls: clock_get_monotonic, nanosleep, ticks_get, ticks_per_second,
// debug_write.
#include <zircon/syscalls/object.h>
#include <zircon/types.h>

#include "arch/x86_64/timer.h"
#include "kernel/printf.h"
#include "kernel/process.h"
#include "kernel/thread.h"
#include "syscall_decls.h"
#include "syscalls/user_copy.h"

#define DEBUG_WRITE_MAX 256

int64_t sys_clock_get_monotonic(void) {
    return current_time();
}

int64_t sys_nanosleep(zx_time_t deadline) {
    // A deadline already past yields the CPU (thrd_yield relies on it, as in Zircon).
    if (deadline <= current_time()) {
        thread_yield();
        return ZX_OK;
    }
    // Interrupted only when the process is being killed; the thread then never sees the status.
    uthread_blocking(ZX_THREAD_STATE_BLOCKED_SLEEPING);
    zx_status_t st = thread_sleep_until(deadline);
    uthread_unblocked();
    return st;
}

int64_t sys_ticks_get(void) {
    return (int64_t)arch_ticks();
}

int64_t sys_ticks_per_second(void) {
    return (int64_t)arch_ticks_per_second();
}

// Writes at most 256 bytes (more is truncated, as Zircon does) to the kernel console.
int64_t sys_debug_write(user_addr_t buffer, size_t buffer_size) {
    char buf[DEBUG_WRITE_MAX];
    size_t len = buffer_size > DEBUG_WRITE_MAX ? DEBUG_WRITE_MAX : buffer_size;
    zx_status_t st = copy_from_user(buf, buffer, len);
    if (st != ZX_OK)
        return st;
    console_write(buf, len);
    return ZX_OK;
}
