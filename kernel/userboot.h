// Starting the first user process (kernel/userboot.c).
#ifndef KERNEL_USERBOOT_H
#define KERNEL_USERBOOT_H

#include "kernel/types.h"

// Runs userboot from the first boot module with the others as its programs and waits for it to
// end; *out_code is its return code. ZX_ERR_NOT_FOUND (no modules), ZX_ERR_NOT_SUPPORTED (not an
// ELF executable), ZX_ERR_NO_MEMORY, or another status from starting it.
zx_status_t userboot_run(int64_t *out_code) MUST_USE;

#endif  // KERNEL_USERBOOT_H
