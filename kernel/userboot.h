// Starting the first user process (kernel/userboot.c).
#ifndef KERNEL_USERBOOT_H
#define KERNEL_USERBOOT_H

#include "kernel/types.h"

// Runs userboot from the first boot module with the others as its programs and waits for it to
// end; *out_code is its return code. ZX_ERR_NOT_FOUND (no modules), ZX_ERR_NOT_SUPPORTED (not an
// ELF executable), ZX_ERR_NO_MEMORY, or another status from starting it.
zx_status_t userboot_run(int64_t *out_code) MUST_USE;

struct boot_module;
struct process;
struct vmo;

// A start-up handle for kernel_launch: its kind (JASPER_HANDLE_*), object and rights.
struct launch_handle {
    uint32_t kind;
    struct kobject *obj;
    zx_rights_t rights;
};

// Starts boot module `elf` (an ELF image) as process `name` in the root job, with arguments
// argv[0..argc) and, besides the usual start-up handles (itself, its root VMAR, its thread, the
// root job), a handle to each of `extra`. `critical`: the process is userboot (struct process's
// `critical`). On ZX_OK *out holds a reference on the running process. ZX_ERR_NOT_SUPPORTED (not
// an ELF), ZX_ERR_INVALID_ARGS (bad segments), ZX_ERR_NO_MEMORY.
zx_status_t kernel_launch(const struct boot_module *elf, const char *name,
                          const char *const *argv, size_t argc,
                          const struct launch_handle *extra, size_t nextra, bool critical,
                          struct process **out) MUST_USE;
// A VMO holding a copy of boot module `m`, named after its file (a new reference in *out).
zx_status_t boot_module_vmo(const struct boot_module *m, struct vmo **out) MUST_USE;

#endif  // KERNEL_USERBOOT_H
