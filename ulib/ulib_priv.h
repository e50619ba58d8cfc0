// ulib internals shared between its files (and with userboot's launcher).
#ifndef ULIB_ULIB_PRIV_H
#define ULIB_ULIB_PRIV_H

#include <stddef.h>
#include <zircon/types.h>

// Copies up to `max` start-up handles of `kind` (enum jasper_handle_kind) into `out`; returns how
// many the bootstrap message had.
size_t ulib_startup_handles(uint32_t kind, zx_handle_t *out, size_t max);
// The program's own executable VMO, or ZX_HANDLE_INVALID.
zx_handle_t ulib_executable_vmo(void);
// Flushes buffered console output (before exit).
void ulib_stdio_flush(void);
// Runs the global constructors (.init_array), before main.
void ulib_run_constructors(void);
// Runs the exit handlers (atexit, C++ destructors) newest first, then .fini_array; once.
void ulib_run_exit_handlers(void);

// A lock for ulib's own shared state (heap, console buffer, exit handlers), which every thread of
// a program may reach: a futex lock (waiters sleep in the kernel until the holder lets go).
void ulib_lock(int *lock);
void ulib_unlock(int *lock);

#endif  // ULIB_ULIB_PRIV_H
