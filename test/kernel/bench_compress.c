// Compression benchmarks (docs/compression.md has the figures and the commands):
//   compress_KIND, decompress_KIND   cost per 4 KiB page of compressor_compress (the default
//                                    higher-ratio mode, threshold 70%) and compressor_decompress,
//                                    for KIND = text, sparse, random (test/kernel/page_mix.h) and
//                                    elf (the kernel's own code and read-only data, page by page)
//   lz4fast_KIND                     the fast compressor alone (lz4_compress_fast) per page
//   compress_ratio_KIND, compress_ratio_mix
//                                    uncompressed bytes of the stored pages over the storage bytes
//                                    they take (KMEM_STATS_COMPRESSION's two fields, so zstore's
//                                    packing counts), x1000; "mix" is the three realistic kinds
//                                    together: elf, text and sparse heap, RATIO_PAGES of each (a
//                                    store of a few pages is dominated by its half-filled zspages)
// Random pages do not shrink below the threshold: their compress figure is the cost of finding
// that out, and there is nothing to decompress.
#include "kernel/kbench.h"
#include "kernel/printf.h"
#include "kernel/string.h"
#include "test/kernel/page_mix.h"
#include "vm/compressor.h"
#include "vm/lz4.h"

#define MIX_PAGES 64
#define RATIO_PAGES 1024

extern const char kernel_text_start[], kernel_rodata_end[];

enum bench_kind { BK_TEXT, BK_SPARSE, BK_RANDOM, BK_ELF, BK_COUNT };
static const char *const bench_kind_names[BK_COUNT] = {"text", "sparse", "random", "elf"};

static uint8_t pages[MIX_PAGES][PAGE_SIZE] ALIGNED(4096);
static uint8_t back[PAGE_SIZE] ALIGNED(4096);
static zref_t refs[MIX_PAGES];

static void fill(enum bench_kind k, size_t i, uint8_t *p) {
    static const enum page_kind mix_kind[] = {PAGE_KIND_TEXT, PAGE_KIND_SPARSE, PAGE_KIND_RANDOM};
    if (k == BK_ELF) {
        size_t image_pages = (size_t)(kernel_rodata_end - kernel_text_start) / PAGE_SIZE;
        memcpy(p, kernel_text_start + (i % image_pages) * PAGE_SIZE, PAGE_SIZE);
    } else {
        page_mix_fill(mix_kind[k], i + 1, p, PAGE_SIZE);
    }
}

static void name(char *buf, const char *what, enum bench_kind k) {
    ksnprintf(buf, 48, "%s_%s", what, bench_kind_names[k]);
}

static void bench_kind(enum bench_kind k) {
    char n[48];
    for (size_t i = 0; i < MIX_PAGES; i++)
        fill(k, i, pages[i]);
    uint64_t sc[KBENCH_RUNS], sd[KBENCH_RUNS], sf[KBENCH_RUNS];
    size_t stored = 0;
    for (int r = 0; r < KBENCH_RUNS; r++) {
        stored = 0;
        uint64_t t0 = kbench_now();
        for (size_t i = 0; i < MIX_PAGES; i++) {
            bool is_zero;
            refs[i] = ZREF_NONE;
            if (compressor_compress(pages[i], &refs[i], &is_zero) == ZX_OK)
                stored++;
        }
        sc[r] = kbench_now() - t0;
        t0 = kbench_now();
        for (size_t i = 0; i < MIX_PAGES; i++) {
            if (refs[i] && compressor_decompress(refs[i], back) != ZX_OK)
                kprintf("bench: decompression failed\n");
        }
        sd[r] = kbench_now() - t0;
        for (size_t i = 0; i < MIX_PAGES; i++)
            compressor_free(refs[i]);
        static struct lz4_workspace ws;
        static uint8_t out[PAGE_SIZE];
        t0 = kbench_now();
        for (size_t i = 0; i < MIX_PAGES; i++)
            (void)lz4_compress_fast(pages[i], PAGE_SIZE, out, sizeof(out), &ws);
        sf[r] = kbench_now() - t0;
    }
    name(n, "compress", k);
    kbench_report(n, MIX_PAGES, sc, KBENCH_RUNS);
    if (stored) {
        name(n, "decompress", k);
        kbench_report(n, stored, sd, KBENCH_RUNS);  // per page actually decompressed
    }
    name(n, "lz4fast", k);
    kbench_report(n, MIX_PAGES, sf, KBENCH_RUNS);
    name(n, "compress_stored", k);
    kbench_report_value(n, "pages", stored);
}

// Stores RATIO_PAGES pages of each kind in `kinds` and reports the storage ratio (x1000).
static void bench_ratio(const char *label, const enum bench_kind *kinds, size_t nkinds) {
    static zref_t all[3 * RATIO_PAGES];
    struct compressor_stats s0, s1;
    compressor_stats(&s0);
    size_t n = 0;
    for (size_t k = 0; k < nkinds; k++) {
        for (size_t i = 0; i < RATIO_PAGES; i++) {
            fill(kinds[k], i, back);
            bool is_zero;
            all[n] = ZREF_NONE;
            if (compressor_compress(back, &all[n], &is_zero) == ZX_OK)
                n++;
        }
    }
    compressor_stats(&s1);
    uint64_t raw = s1.uncompressed_storage_bytes - s0.uncompressed_storage_bytes;
    uint64_t used = s1.compressed_storage_bytes - s0.compressed_storage_bytes;
    char nm[48];
    ksnprintf(nm, sizeof(nm), "compress_ratio_%s", label);
    kbench_report_value(nm, "x1000", used ? raw * 1000 / used : 0);
    kbench_report_value(nm, "stored_pages", n);
    kbench_report_value(nm, "storage_pages", used / PAGE_SIZE);
    for (size_t i = 0; i < n; i++)
        compressor_free(all[i]);
}

KBENCH(compress) {
    for (int k = 0; k < BK_COUNT; k++)
        bench_kind((enum bench_kind)k);
    static const enum bench_kind mix[] = {BK_ELF, BK_TEXT, BK_SPARSE};
    for (size_t k = 0; k < countof(mix); k++)
        bench_ratio(bench_kind_names[mix[k]], &mix[k], 1);
    bench_ratio("mix", mix, countof(mix));
}
