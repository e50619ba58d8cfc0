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

#endif  // ULIB_ULIB_PRIV_H
