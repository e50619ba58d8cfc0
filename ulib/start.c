// Process start-up: read the bootstrap message, remember the start-up handles, build argv, run
// the global constructors and main, exit with its return value.
#include <jasper/bootstrap.h>
#include <stdlib.h>
#include <string.h>
#include <zircon/process.h>
#include <zircon/syscalls.h>

#include "ulib/ulib_priv.h"

#define MAX_ARGS 64

int main(int argc, char **argv);
__attribute__((noreturn)) void __jasper_start(zx_handle_t bootstrap, uintptr_t arg2);

static zx_handle_t proc_self, vmar_root, thread_self, job_default, exec_vmo;
static uint8_t bootstrap_buf[JASPER_BOOTSTRAP_MAX_BYTES] __attribute__((aligned(8)));
static zx_handle_t bootstrap_handles[JASPER_BOOTSTRAP_MAX_HANDLES];
static char *args[MAX_ARGS + 1];

zx_handle_t zx_process_self(void) {
    return proc_self;
}
zx_handle_t zx_vmar_root_self(void) {
    return vmar_root;
}
zx_handle_t zx_thread_self(void) {
    return thread_self;
}
zx_handle_t zx_job_default(void) {
    return job_default;
}

size_t ulib_startup_handles(uint32_t kind, zx_handle_t *out, size_t max) {
    const struct jasper_bootstrap *b = (const void *)bootstrap_buf;
    if (b->magic != JASPER_BOOTSTRAP_MAGIC)
        return 0;
    const uint32_t *kinds = (const uint32_t *)(bootstrap_buf + b->kinds_offset);
    size_t n = 0;
    for (uint32_t i = 0; i < b->handle_count; i++) {
        if (kinds[i] == kind) {
            if (n < max)
                out[n] = bootstrap_handles[i];
            n++;
        }
    }
    return n;
}

zx_handle_t ulib_executable_vmo(void) {
    return exec_vmo;
}

// Parses the message; returns argc (0 if the message is malformed).
static int parse_bootstrap(uint32_t nbytes, uint32_t nhandles) {
    const struct jasper_bootstrap *b = (const void *)bootstrap_buf;
    if (nbytes < sizeof(*b) || b->magic != JASPER_BOOTSTRAP_MAGIC || b->handle_count != nhandles ||
        b->args_offset > nbytes || b->args_size > nbytes - b->args_offset ||
        b->kinds_offset > nbytes || (uint64_t)b->handle_count * 4 > nbytes - b->kinds_offset)
        return 0;
    const uint32_t *kinds = (const uint32_t *)(bootstrap_buf + b->kinds_offset);
    for (uint32_t i = 0; i < nhandles; i++) {
        zx_handle_t h = bootstrap_handles[i];
        switch (kinds[i]) {
        case JASPER_HANDLE_PROC_SELF:
            proc_self = h;
            break;
        case JASPER_HANDLE_VMAR_ROOT:
            vmar_root = h;
            break;
        case JASPER_HANDLE_THREAD_SELF:
            thread_self = h;
            break;
        case JASPER_HANDLE_JOB_DEFAULT:
            job_default = h;
            break;
        case JASPER_HANDLE_VMO_EXECUTABLE:
            exec_vmo = h;
            break;
        default:
            break;
        }
    }
    int argc = 0;
    char *p = (char *)bootstrap_buf + b->args_offset;
    char *end = p + b->args_size;
    while (p < end && argc < MAX_ARGS && (uint32_t)argc < b->argc) {
        args[argc++] = p;
        while (p < end && *p)
            p++;
        if (p == end)
            return 0;  // unterminated
        p++;
    }
    args[argc] = NULL;
    return argc;
}

void __jasper_start(zx_handle_t bootstrap, uintptr_t arg2) {
    (void)arg2;
    uint32_t nbytes = 0, nhandles = 0;
    int argc = 0;
    if (bootstrap != ZX_HANDLE_INVALID &&
        zx_channel_read(bootstrap, 0, bootstrap_buf, bootstrap_handles, sizeof(bootstrap_buf),
                        JASPER_BOOTSTRAP_MAX_HANDLES, &nbytes, &nhandles) == ZX_OK)
        argc = parse_bootstrap(nbytes, nhandles);
    zx_handle_close(bootstrap);
    static char fallback_name[] = "program";
    if (argc == 0) {
        args[0] = fallback_name;
        args[1] = NULL;
        argc = 1;
    }
    ulib_run_constructors();
    exit(main(argc, args));
}
