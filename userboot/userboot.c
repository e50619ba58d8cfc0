// userboot: the first user process. The kernel starts it with the boot modules as VMOs (handles of
// kind JASPER_HANDLE_VMO_MODULE) and their command lines as arguments ("prog.elf arg1 arg2"). It
// runs each program in turn, waits for it, prints "userboot: PROG exited with CODE", checks that
// the program's VMO memory came back (ZX_INFO_KMEM_STATS.vmo_bytes plus the compressed pages),
// and exits 0 only if every program returned 0 and leaked nothing; the kernel then powers off with
// that verdict. A program that crashes gets a crash report first (userboot/crash_report.c).
#include <jasper/bootstrap.h>
#include <jasper/launch.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <zircon/process.h>
#include <zircon/syscalls.h>

#include "ulib/ulib_priv.h"
#include "userboot/crash_report.h"

#define MAX_MODULES 48  // BOOT_MODULES_MAX
#define MAX_ARGS 16

static bool is_program(const char *name) {
    size_t n = strlen(name);
    return n >= 4 && strcmp(name + n - 4, ".elf") == 0;
}

// Read-only duplicates of the data modules for one program; returns how many.
static uint32_t data_handles(const zx_handle_t *data, uint32_t ndata, zx_handle_t *out,
                             uint32_t *kinds) {
    uint32_t n = 0;
    for (uint32_t i = 0; i < ndata; i++) {
        if (zx_handle_duplicate(data[i], ZX_RIGHT_DUPLICATE | ZX_RIGHT_TRANSFER | ZX_RIGHT_READ |
                                             ZX_RIGHT_MAP | ZX_RIGHT_GET_PROPERTY,
                                &out[n]) == ZX_OK)
            kinds[n++] = JASPER_HANDLE_VMO_MODULE;
    }
    return n;
}

// VMO memory, resident or compressed: reclaim compresses pages of any VMO (the boot modules' too)
// and a later access decompresses them, which moves bytes from one count to the other without
// anything being leaked.
static uint64_t vmo_bytes(void) {
    zx_info_kmem_stats_t k;
    zx_info_kmem_stats_compression_t c;
    if (zx_object_get_info(zx_job_default(), ZX_INFO_KMEM_STATS, &k, sizeof(k), NULL, NULL) != ZX_OK ||
        zx_object_get_info(zx_job_default(), ZX_INFO_KMEM_STATS_COMPRESSION, &c, sizeof(c), NULL,
                           NULL) != ZX_OK)
        return 0;
    return k.vmo_bytes + c.uncompressed_storage_bytes;
}

// Splits `line` in place at spaces into at most MAX_ARGS words.
static int split_args(char *line, const char **argv) {
    int argc = 0;
    char *p = line;
    while (*p && argc < MAX_ARGS) {
        while (*p == ' ')
            *p++ = '\0';
        if (!*p)
            break;
        argv[argc++] = p;
        while (*p && *p != ' ')
            p++;
    }
    return argc;
}

int main(int argc, char **argv) {
    zx_handle_t modules[MAX_MODULES];
    size_t count = ulib_startup_handles(JASPER_HANDLE_VMO_MODULE, modules, MAX_MODULES);
    if (count > MAX_MODULES)
        count = MAX_MODULES;
    if ((size_t)argc - 1 < count)
        count = (size_t)argc - 1;
    // Every program's arguments (split in place) and name, known to the crash reporter.
    static const char *pargvs[MAX_MODULES][MAX_ARGS];
    static int pargcs[MAX_MODULES];
    static const char *names[MAX_MODULES];
    static zx_handle_t data[JASPER_LAUNCH_MAX_EXTRA];
    uint32_t ndata = 0;
    size_t programs = 0;
    for (size_t i = 0; i < count; i++) {
        pargcs[i] = split_args(argv[i + 1], pargvs[i]);
        names[i] = pargcs[i] ? pargvs[i][0] : NULL;
        if (pargcs[i] && !is_program(names[i])) {
            if (ndata < JASPER_LAUNCH_MAX_EXTRA)
                data[ndata++] = modules[i];
            pargcs[i] = 0;  // not run
        } else if (pargcs[i]) {
            programs++;
        }
    }
    printf("userboot: %zu program(s)\n", programs);
    zx_status_t cst = crash_report_start(modules, names, count);
    if (cst != ZX_OK)
        printf("userboot: no crash reports: %d\n", cst);
    int failed = 0;
    for (size_t i = 0; i < count; i++) {
        const char **pargv = pargvs[i];
        int pargc = pargcs[i];
        if (pargc == 0)
            continue;
        const char *name = pargv[0];
        uint64_t before = vmo_bytes();
        zx_handle_t proc;
        zx_handle_t extra[JASPER_LAUNCH_MAX_EXTRA];
        uint32_t kinds[JASPER_LAUNCH_MAX_EXTRA];
        uint32_t nextra = data_handles(data, ndata, extra, kinds);
        zx_status_t st = jasper_launch_etc(zx_job_default(), name, modules[i], pargc, pargv, extra,
                                           kinds, nextra, &proc);
        if (st != ZX_OK) {
            printf("userboot: %s failed to start: %d\n", name, st);
            failed++;
            continue;
        }
        int64_t code = jasper_wait(proc);
        zx_handle_close(proc);
        uint64_t after = vmo_bytes();
        printf("userboot: %s exited with %lld\n", name, (long long)code);
        if (after > before) {  // reclaim may shrink what was there before; growth is a leak
            printf("userboot: %s: VMO memory %llu bytes before, %llu after: a leak\n", name,
                   (unsigned long long)before, (unsigned long long)after);
            failed++;
        } else if (code != 0) {
            failed++;
        }
    }
    printf("userboot: %zu program(s), %d failed\n", programs, failed);
    return failed ? 1 : 0;
}
