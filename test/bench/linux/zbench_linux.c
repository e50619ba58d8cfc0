// Compressed memory on Linux: zram swap with lz4, the twin of test/bench/zbench.c
// (test/bench/zbench_common.h has the workloads and the report lines). The initramfs's /init sets
// up /dev/zram0 (lz4) as the only swap device before it runs this program; pages are pushed out
// with madvise(MADV_PAGEOUT) and read back, one swap-in per page (zram is a synchronous device:
// no readahead, no swap cache for a page only this process maps). The storage figures are deltas
// of /sys/block/zram0/mm_stat; /proc/vmstat's pswpout / pswpin say how many pages really went out
// and came back. Built static by scripts/bench-vs-linux; /zbench.elf is Jasper's zbench.elf, the
// ELF pages of the mix, and /zbench-text.txt its text pages. Exits 1 on any failure.
#define _GNU_SOURCE
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#ifndef MADV_PAGEOUT
#define MADV_PAGEOUT 21
#endif

static uint64_t vmb_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

#include "../vmbench_common.h"
#include "../zbench_common.h"

static struct zb_files files;

static void fail(const char *what) {
    perror(what);
    printf("bench: error: %s\n", what);
    exit(1);
}

// zram's mm_stat: orig_data_size compr_data_size mem_used_total mem_limit mem_used_max same_pages
// pages_compacted huge_pages ...
struct zstat {
    unsigned long long orig, compr, used, same, huge, pswpout, pswpin;
};

static unsigned long long vmstat(const char *key) {
    FILE *f = fopen("/proc/vmstat", "r");
    char k[64];
    unsigned long long v, r = 0;
    if (!f)
        fail("/proc/vmstat");
    while (fscanf(f, "%63s %llu", k, &v) == 2)
        if (strcmp(k, key) == 0)
            r = v;
    fclose(f);
    return r;
}

static void read_stats(struct zstat *s) {
    FILE *f = fopen("/sys/block/zram0/mm_stat", "r");
    unsigned long long limit, max, compacted;
    if (!f)
        fail("/sys/block/zram0/mm_stat (is zram swap set up?)");
    if (fscanf(f, "%llu %llu %llu %llu %llu %llu %llu %llu", &s->orig, &s->compr, &s->used, &limit,
               &max, &s->same, &compacted, &s->huge) != 8)
        fail("mm_stat format");
    fclose(f);
    s->pswpout = vmstat("pswpout");
    s->pswpin = vmstat("pswpin");
}

// A whole file read into a fresh buffer.
static void load_file(const char *path, const uint8_t **out, size_t *out_len) {
    FILE *f = fopen(path, "rb");
    if (!f)
        fail(path);
    fseek(f, 0, SEEK_END);
    size_t len = (size_t)ftell(f);
    rewind(f);
    uint8_t *p = malloc(len);
    if (!p || fread(p, 1, len, f) != len)
        fail(path);
    fclose(f);
    *out = p;
    *out_len = len;
}

static void bench_kind(enum zb_kind k) {
    size_t pages = zb_pages(k), bytes = pages * ZB_PAGE;
    uint64_t out[ZB_RUNS], in[ZB_RUNS];
    struct zstat s0, s1, s2;
    for (int r = 0; r < ZB_RUNS; r++) {
        uint8_t *p = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (p == MAP_FAILED)
            fail("mmap");
        if (madvise(p, bytes, MADV_NOHUGEPAGE) != 0)
            fail("madvise NOHUGEPAGE");
        zb_fill_region(k, p, &files);
        read_stats(&s0);
        uint64_t t0 = vmb_now();
        if (madvise(p, bytes, MADV_PAGEOUT) != 0)
            fail("madvise PAGEOUT");
        out[r] = vmb_now() - t0;
        read_stats(&s1);
        t0 = vmb_now();
        (void)vmb_touch_read((volatile char *)p, bytes);
        in[r] = vmb_now() - t0;
        read_stats(&s2);
        size_t bad = zb_verify_region(k, p, &files);
        if (bad != SIZE_MAX) {
            printf("bench: error: %s page %zu changed\n", zb_kind_names[k], bad);
            exit(1);
        }
        if (s1.pswpout == s0.pswpout)
            fail("MADV_PAGEOUT swapped nothing out");
        if (munmap(p, bytes) != 0)
            fail("munmap");
    }
    char name[40];
    snprintf(name, sizeof(name), "pageout_%s", zb_kind_names[k]);
    vmb_report(name, pages, out, ZB_RUNS);
    snprintf(name, sizeof(name), "faultin_%s", zb_kind_names[k]);
    vmb_report(name, pages, in, ZB_RUNS);
    // Same-filled pages (zeros included) take no storage but count in orig_data_size.
    unsigned long long same = s1.same - s0.same, orig = s1.orig - s0.orig;
    printf("zstat %s pages=%zu stored=%llu zero=%llu orig=%llu data=%llu used=%llu huge=%llu "
           "pswpout=%llu pswpin=%llu\n",
           zb_kind_names[k], pages, orig / ZB_PAGE - same, same, orig - same * ZB_PAGE,
           s1.compr - s0.compr, s1.used - s0.used, s1.huge - s0.huge, s1.pswpout - s0.pswpout,
           s2.pswpin - s1.pswpin);
}

int main(int argc, char **argv) {
    load_file("/zbench.elf", &files.elf, &files.elf_len);
    load_file("/" ZB_TEXT_FILE, &files.text, &files.text_len);
    for (int k = 0; k < ZB_KINDS; k++) {
        bool run = argc < 2;
        for (int a = 1; a < argc && !run; a++)
            run = strcmp(zb_kind_names[k], argv[a]) == 0;
        if (run)
            bench_kind((enum zb_kind)k);
    }
    printf("bench: done\n");
    return 0;
}
