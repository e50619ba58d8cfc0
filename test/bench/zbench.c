// Compressed memory on Jasper, the twin of linux/zbench_linux.c (test/bench/zbench_common.h has
// the workloads and the report lines; docs/compression.md the figures). Pages are pushed out with
// ZX_VMO_OP_DONT_NEED, which reclaims at once when the kernel was booted with
// reclaim.eager_dont_need=1 (scripts/bench-vs-linux --zram does): the memory-pressure path, page
// by page (queue pick, tree lock, unmap, compress outside the lock, install the reference). The
// storage figures are KMEM_STATS_COMPRESSION deltas. Exits 1 on any failure.
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zircon/process.h>
#include <zircon/syscalls.h>

static uint64_t vmb_now(void) {
    return (uint64_t)zx_clock_get_monotonic();
}

#include "test/bench/bench_check.h"
#include "test/bench/vmbench_common.h"
#include "test/bench/zbench_common.h"
#include "ulib/ulib_priv.h"
#include <jasper/bootstrap.h>

#define RW (ZX_VM_PERM_READ | ZX_VM_PERM_WRITE)

static struct zb_files files;

static bool stats(zx_info_kmem_stats_compression_t *s) {
    return !check(zx_object_get_info(zx_job_default(), ZX_INFO_KMEM_STATS_COMPRESSION, s,
                                     sizeof(*s), NULL, NULL),
                  "get_info KMEM_STATS_COMPRESSION");
}

// A whole VMO read into a fresh buffer.
static bool read_vmo(zx_handle_t vmo, uint8_t **out, size_t *out_len) {
    uint64_t size;
    if (check(zx_vmo_get_size(vmo, &size), "vmo_get_size"))
        return false;
    uint8_t *p = malloc(size);
    if (!p)
        return !check(ZX_ERR_NO_MEMORY, "malloc");
    *out = p;
    *out_len = size;
    return !check(zx_vmo_read(vmo, p, 0, size), "vmo_read");
}

// The ELF pages: this program's own file (Linux reads the same file). The text pages: the boot
// module named ZB_TEXT_FILE (scripts/bench-vs-linux passes it; Linux reads the same file).
static bool load_files(void) {
    zx_handle_t exec = ulib_executable_vmo();
    if (exec == ZX_HANDLE_INVALID)
        return !check(ZX_ERR_BAD_STATE, "no executable VMO");
    if (!read_vmo(exec, (uint8_t **)&files.elf, &files.elf_len))
        return false;
    zx_handle_t mods[16];
    size_t n = ulib_startup_handles(JASPER_HANDLE_VMO_MODULE, mods, 16);
    for (size_t i = 0; i < n && i < 16; i++) {
        char name[ZX_MAX_NAME_LEN] = {0};
        if (zx_object_get_property(mods[i], ZX_PROP_NAME, name, sizeof(name)) == ZX_OK &&
            strcmp(name, ZB_TEXT_FILE) == 0)
            return read_vmo(mods[i], (uint8_t **)&files.text, &files.text_len);
    }
    printf("bench: error: no boot module %s (scripts/bench-vs-linux --zram passes it)\n",
           ZB_TEXT_FILE);
    return false;
}

static void bench_kind(enum zb_kind k) {
    size_t pages = zb_pages(k), bytes = pages * ZB_PAGE;
    uint64_t out[ZB_RUNS], in[ZB_RUNS];
    zx_info_kmem_stats_compression_t s0, s1, s2;
    for (int r = 0; r < ZB_RUNS && !failed; r++) {
        zx_handle_t vmo;
        zx_vaddr_t addr;
        if (check(zx_vmo_create(bytes, 0, &vmo), "vmo_create"))
            return;
        if (check(zx_vmar_map(zx_vmar_root_self(), RW, 0, vmo, 0, bytes, &addr), "vmar_map")) {
            zx_handle_close(vmo);
            return;
        }
        uint8_t *p = (uint8_t *)addr;
        zb_fill_region(k, p, &files);
        if (!stats(&s0))
            break;
        uint64_t t0 = vmb_now();
        check(zx_vmo_op_range(vmo, ZX_VMO_OP_DONT_NEED, 0, bytes, NULL, 0), "DONT_NEED");
        out[r] = vmb_now() - t0;
        if (!stats(&s1))
            break;
        t0 = vmb_now();
        (void)vmb_touch_read((volatile char *)p, bytes);
        in[r] = vmb_now() - t0;
        if (!stats(&s2))
            break;
        size_t bad = zb_verify_region(k, p, &files);
        if (bad != SIZE_MAX) {
            printf("bench: error: %s page %zu changed\n", zb_kind_names[k], bad);
            failed = 1;
        }
        if (s1.total_page_compression_attempts == s0.total_page_compression_attempts) {
            printf("bench: error: nothing was compressed (boot with reclaim.eager_dont_need=1)\n");
            failed = 1;
        }
        check(zx_vmar_unmap(zx_vmar_root_self(), addr, bytes), "vmar_unmap");
        check(zx_handle_close(vmo), "handle_close");
    }
    if (failed)
        return;
    char name[40];
    snprintf(name, sizeof(name), "pageout_%s", zb_kind_names[k]);
    vmb_report(name, pages, out, ZB_RUNS);
    snprintf(name, sizeof(name), "faultin_%s", zb_kind_names[k]);
    vmb_report(name, pages, in, ZB_RUNS);
    uint64_t stored = (s1.uncompressed_storage_bytes - s0.uncompressed_storage_bytes) / ZB_PAGE;
    uint64_t used = s1.compressed_storage_bytes - s0.compressed_storage_bytes;
    uint64_t frag = s1.compressed_fragmentation_bytes - s0.compressed_fragmentation_bytes;
    uint64_t attempts = s1.total_page_compression_attempts - s0.total_page_compression_attempts;
    uint64_t fails = s1.failed_page_compression_attempts - s0.failed_page_compression_attempts;
    // Attempts that neither stored nor failed found a page of zeros (now a marker).
    printf("zstat %s pages=%zu stored=%llu zero=%llu orig=%llu data=%llu used=%llu comp_ns=%lld "
           "attempts=%llu failed=%llu decomp_ns=%lld decompressions=%llu\n",
           zb_kind_names[k], pages, (unsigned long long)stored,
           (unsigned long long)(attempts - fails - stored),
           (unsigned long long)(stored * ZB_PAGE), (unsigned long long)(used - frag),
           (unsigned long long)used, (long long)(s1.compression_time - s0.compression_time),
           (unsigned long long)attempts, (unsigned long long)fails,
           (long long)(s2.decompression_time - s1.decompression_time),
           (unsigned long long)(s2.total_page_decompressions - s1.total_page_decompressions));
}

int main(int argc, char **argv) {
    if (!load_files())
        return 1;
    int any_failed = 0;
    for (int k = 0; k < ZB_KINDS; k++) {
        // zbench.elf KIND...: only those kinds.
        bool run = argc < 2;
        for (int a = 1; a < argc && !run; a++)
            run = strcmp(zb_kind_names[k], argv[a]) == 0;
        if (!run)
            continue;
        failed = 0;
        bench_kind((enum zb_kind)k);
        any_failed |= failed;
    }
    if (any_failed)
        return 1;
    printf("bench: done\n");
    return 0;
}
