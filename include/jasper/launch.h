// Starting programs from a VMO holding an ELF image (ulib's launcher, used by userboot and by
// tests that run themselves in a child process).
#ifndef JASPER_LAUNCH_H
#define JASPER_LAUNCH_H

#include <zircon/types.h>

#ifdef __cplusplus
extern "C" {
#endif

// Creates a process in `job` named `name`, loads the executable in `exec_vmo` (a duplicate is
// passed to the program as its JASPER_HANDLE_VMO_EXECUTABLE), sends the bootstrap message with
// `argc` arguments and starts it. On ZX_OK *out_proc is the process handle (wait on
// ZX_PROCESS_TERMINATED, then read ZX_INFO_PROCESS). Errors from the syscalls involved, or
// ZX_ERR_INVALID_ARGS / ZX_ERR_NOT_SUPPORTED for a file that is not a loadable ELF executable.
zx_status_t jasper_launch(zx_handle_t job, const char *name, zx_handle_t exec_vmo, int argc,
                          const char *const *argv, zx_handle_t *out_proc);

// Like jasper_launch, and also sends the program `nextra` more handles (at most
// JASPER_LAUNCH_MAX_EXTRA) with the given kinds, which its ulib_startup_handles finds. The extra
// handles are consumed, whatever the result.
#define JASPER_LAUNCH_MAX_EXTRA 16u
zx_status_t jasper_launch_etc(zx_handle_t job, const char *name, zx_handle_t exec_vmo, int argc,
                              const char *const *argv, const zx_handle_t *extra,
                              const uint32_t *extra_kinds, uint32_t nextra, zx_handle_t *out_proc);

// Waits for `proc` to end and returns its return code (or a negative status if waiting fails).
int64_t jasper_wait(zx_handle_t proc);

#ifdef __cplusplus
}
#endif

#endif  // JASPER_LAUNCH_H
