// What the compressed-memory benchmarks share (test/bench/zbench.c on Jasper, linux/zbench_linux.c
// on Linux with zram swap; run side by side by `scripts/bench-vs-linux --zram`): the page kinds,
// their contents (the very same bytes on both systems), the sizes and the report lines.
//
// Each workload fills a private anonymous region with ZB_PAGES pages of one kind (or the mix: ELF,
// real text and sparse heap, ZB_PAGES of each), pushes every page out (Jasper: ZX_VMO_OP_DONT_NEED
// with the boot key reclaim.eager_dont_need=1, which reclaims at once through the memory-pressure
// path; Linux: MADV_PAGEOUT into zram swap with lz4), reads one byte of each page back (one fault
// per page: a decompression), and checks every byte. Lines:
//     bench pageout_KIND ns_per_op=... ops=PAGES    the push-out, per page (median of ZB_RUNS)
//     bench faultin_KIND ns_per_op=... ops=PAGES    the read faults, per page
//     zstat KIND pages=N stored=S zero=Z orig=B data=B used=B    the last run's storage figures:
//          stored = pages held compressed, zero = pages that became zero markers (Linux:
//          same-filled), orig = their bytes, data = the compressed blocks' bytes, used = the
//          storage pages (fragmentation included); Jasper adds comp_ns, attempts, failed,
//          decomp_ns, decompressions (KMEM_STATS_COMPRESSION deltas)
// The including program includes <stdint.h>, <stddef.h>, <string.h> first.
#ifndef TEST_BENCH_ZBENCH_COMMON_H
#define TEST_BENCH_ZBENCH_COMMON_H

#include "test/kernel/page_mix.h"

#define ZB_PAGE 4096ul
#define ZB_PAGES 1024ul  // pages of each kind
#define ZB_RUNS 3

enum zb_kind { ZB_ELF, ZB_TEXT, ZB_SPARSE, ZB_RANDOM, ZB_MIX, ZB_KINDS };
static const char *const zb_kind_names[ZB_KINDS] = {"elf", "text", "sparse", "random", "mix"};

static inline size_t zb_pages(enum zb_kind k) {
    return k == ZB_MIX ? 3 * ZB_PAGES : ZB_PAGES;
}

// The files whose bytes are pages of the mix, the same on both systems: `elf`, Jasper's own
// zbench.elf; `text`, real prose that ships on Debian and with Jasper (scripts/bench-vs-linux
// --zram makes it: /usr/share/common-licenses' license texts, then Jasper's docs/*.md).
struct zb_files {
    const uint8_t *elf;
    size_t elf_len;
    const uint8_t *text;
    size_t text_len;
};

#define ZB_TEXT_FILE "zbench-text.txt"  // its name on Linux's initramfs and as Jasper's boot module

// Page i of a file's pages, cycled, the last one zero-padded.
static inline void zb_file_page(const uint8_t *data, size_t len, size_t i, uint8_t *p) {
    size_t file_pages = (len + ZB_PAGE - 1) / ZB_PAGE;
    size_t off = (i % file_pages) * ZB_PAGE;
    size_t n = len - off < ZB_PAGE ? len - off : ZB_PAGE;
    memcpy(p, data + off, n);
    memset(p + n, 0, ZB_PAGE - n);
}

// Page i of kind k. ELF and text pages are the pages of their files (struct zb_files), cycled;
// sparse and random come from test/kernel/page_mix.c with seed i + 1. The mix is ZB_PAGES ELF
// pages, then text, then sparse.
static inline void zb_fill(enum zb_kind k, size_t i, uint8_t *p, const struct zb_files *f) {
    if (k == ZB_MIX) {
        k = (enum zb_kind)(i / ZB_PAGES);
        i %= ZB_PAGES;
    }
    switch (k) {
    case ZB_ELF:
        zb_file_page(f->elf, f->elf_len, i, p);
        break;
    case ZB_TEXT:
        zb_file_page(f->text, f->text_len, i, p);
        break;
    case ZB_SPARSE:
        page_mix_fill(PAGE_KIND_SPARSE, i + 1, p, ZB_PAGE);
        break;
    default:
        page_mix_fill(PAGE_KIND_RANDOM, i + 1, p, ZB_PAGE);
        break;
    }
}

// Fills region [p, p + pages) of kind k.
static inline void zb_fill_region(enum zb_kind k, uint8_t *p, const struct zb_files *f) {
    for (size_t i = 0; i < zb_pages(k); i++)
        zb_fill(k, i, p + i * ZB_PAGE, f);
}

// Returns the index of the first page of the region that differs from what zb_fill put there, or
// SIZE_MAX.
static inline size_t zb_verify_region(enum zb_kind k, const uint8_t *p, const struct zb_files *f) {
    static uint8_t want[ZB_PAGE];
    for (size_t i = 0; i < zb_pages(k); i++) {
        zb_fill(k, i, want, f);
        if (memcmp(want, p + i * ZB_PAGE, ZB_PAGE) != 0)
            return i;
    }
    return SIZE_MAX;
}

#endif  // TEST_BENCH_ZBENCH_COMMON_H
