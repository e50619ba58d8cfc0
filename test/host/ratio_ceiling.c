// ratio-ceiling: how far LZ4 (and what lies past it) can compress the pages of the compressed-memory
// benchmark's mix (test/bench/zbench_common.h), each 4 KiB page on its own. Run it through
// scripts/ratio-ceiling, which makes the text file and builds the ELF; docs/compression.md ("How
// far LZ4 can go on this mix") has the figures and what they mean.
//   ratio-ceiling TEXT_FILE ELF_FILE [DICTIONARY_FILE]
// For every codec and page set (elf, text, sparse: 1,024 pages each; mix: the three, 3,072) it
// prints the stored pages (a block of at most the compressor's cap: below 70% of a page; zero pages
// are never stored) and three ratios: blocks (stored pages' bytes / their blocks' bytes), storage
// (the same over the pages Jasper's zstore takes to hold those blocks, vm/zstore.c over simulated
// RAM, so its packing counts as it does in the kernel) and whole (every page's bytes / storage plus
// the pages left uncompressed: what the set costs in memory, like zram's ratio, where a page that
// does not shrink is stored raw). Codecs:
//   Jasper, depth D: vm/compressor.c itself (compress.depth=D; fast pre-pass, higher-ratio search)
//   liblz4 fast, liblz4 HC 12: Debian's liblz4 (zram uses the fast mode)
//   Jasper d16 + Huffman literals: our depth-16 block with its literals coded by an optimal
//       prefix code of the page's own literal histogram (huffman_lengths.c, at most 15 bits, so a
//       4-bit length per used symbol); tokens, lengths and offsets stay raw bytes; counted as
//       block - literals + coded literals + 32-byte symbol bitmap + 4 bits per used symbol + a
//       2-byte literal-stream length. A size estimate: nothing is encoded or decoded.
//   deflate 9: zlib's raw deflate at level 9 (LZ77 with Huffman coding of everything)
//   with DICTIONARY_FILE, also liblz4 HC 12 and deflate 9 with it as a preset dictionary (its last
//   64 KiB for LZ4, whose offsets reach that far; its last 32 KiB for deflate, whose window is
//   32 KiB): every page compressed alone against the same dictionary
// Host-only measurement tool (no sanitizers; links host_bench_pure_lib, sim_ram.c).
#include <lz4.h>
#include <lz4hc.h>
#include <stdint.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "test/bench/zbench_common.h"
#include "test/host/huffman_lengths.h"
#include "test/host/sim_ram.h"
#include "vm/compressor.h"
#include "vm/lz4.h"
#include "vm/zstore.h"

#define SIM_RAM_BYTES (64u << 20)  // room for the mix's storage (at most 3,072 pages)
#define MIX_PAGES (3 * ZB_PAGES)
#define NOT_STORED UINT32_MAX
#define LITERAL_LIMIT 15  // bits: code lengths fit in 4 bits

enum codec {
    CODEC_JASPER_D16,
    CODEC_JASPER_D1024,
    CODEC_LIBLZ4_FAST,
    CODEC_LIBLZ4_HC12,
    CODEC_JASPER_HUFFLIT,
    CODEC_DEFLATE9,
    CODEC_LIBLZ4_HC12_DICT,
    CODEC_DEFLATE9_DICT,
    CODEC_COUNT,
};

static const char *const codec_names[CODEC_COUNT] = {
    "Jasper, depth 16 (kernel default)",
    "Jasper, depth 1,024",
    "liblz4 fast (zram's)",
    "liblz4 HC level 12",
    "Jasper depth 16 + Huffman literals",
    "raw deflate level 9 (zlib)",
    "liblz4 HC level 12, dictionary",
    "raw deflate level 9, dictionary",
};

enum set { SET_ELF, SET_TEXT, SET_SPARSE, SET_MIX, SET_COUNT };
static const char *const set_names[SET_COUNT] = {"elf", "text", "sparse", "mix"};

// block[page][codec]: the block's bytes, NOT_STORED if not below the cap; zero[page]: all zeros.
static uint32_t block[MIX_PAGES][CODEC_COUNT];
static bool zero_page[MIX_PAGES];
static size_t cap;  // the largest stored block (compressor.c's rule)

static struct lz4_workspace ws;
static z_stream deflater;
static const uint8_t *dict;  // the preset dictionary, NULL if none
static size_t dict_len;
static LZ4_streamHC_t lz4_dict_stream;

static uint8_t *read_file(const char *path, size_t *out_len) {
    FILE *f = fopen(path, "rb");
    if (!f) {
        perror(path);
        return NULL;
    }
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    uint8_t *data = n > 0 ? malloc((size_t)n) : NULL;
    if (!data || fread(data, 1, (size_t)n, f) != (size_t)n) {
        fprintf(stderr, "%s: cannot read it (or it is empty)\n", path);
        free(data);
        fclose(f);
        return NULL;
    }
    fclose(f);
    *out_len = (size_t)n;
    return data;
}

static uint32_t stored_len(size_t len) {
    return len && len <= cap ? (uint32_t)len : NOT_STORED;
}

// vm/compressor.c's block for the page at compress.depth=depth, or NOT_STORED.
static uint32_t jasper_block(const uint8_t *page, unsigned depth) {
    struct compressor_config cfg = {.threshold_pct = COMPRESSOR_THRESHOLD_DEFAULT, .depth = depth};
    compressor_init(&cfg);
    zref_t ref;
    bool is_zero;
    if (compressor_compress(page, &ref, &is_zero) != ZX_OK || is_zero)
        return NOT_STORED;
    uint32_t len = (uint32_t)zstore_item_len(ref);
    compressor_free(ref);
    return len;
}

static uint32_t liblz4_block(const uint8_t *page, int level) {
    static char out[LZ4_COMPRESSBOUND(ZB_PAGE)];
    int n = level ? LZ4_compress_HC((const char *)page, out, ZB_PAGE, sizeof(out), level)
                  : LZ4_compress_default((const char *)page, out, ZB_PAGE, sizeof(out));
    return stored_len(n > 0 ? (size_t)n : 0);
}

// liblz4 HC level 12 with the last 64 KiB of the dictionary before the page.
static uint32_t liblz4_dict_block(const uint8_t *page) {
    static char out[LZ4_COMPRESSBOUND(ZB_PAGE)];
    size_t n = dict_len < 65536 ? dict_len : 65536;
    LZ4_resetStreamHC_fast(&lz4_dict_stream, 12);
    LZ4_loadDictHC(&lz4_dict_stream, (const char *)dict + dict_len - n, (int)n);
    int len = LZ4_compress_HC_continue(&lz4_dict_stream, (const char *)page, out, ZB_PAGE,
                                       sizeof(out));
    return stored_len(len > 0 ? (size_t)len : 0);
}

// Raw deflate level 9, with the preset dictionary if with_dict (zlib keeps its last 32 KiB).
static uint32_t deflate_block(const uint8_t *page, bool with_dict) {
    static uint8_t out[2 * ZB_PAGE];
    deflateReset(&deflater);
    if (with_dict)
        deflateSetDictionary(&deflater, dict, (uInt)dict_len);
    deflater.next_in = (Bytef *)page;
    deflater.avail_in = ZB_PAGE;
    deflater.next_out = out;
    deflater.avail_out = sizeof(out);
    if (deflate(&deflater, Z_FINISH) != Z_STREAM_END) {
        fprintf(stderr, "ratio-ceiling: deflate failed\n");
        exit(1);
    }
    return stored_len(deflater.total_out);
}

// The literal histogram of an LZ4 block (one of ours: well formed); returns the literal bytes.
static size_t lz4_block_literals(const uint8_t *b, size_t len, uint32_t freq[HUFFMAN_SYMBOLS]) {
    const uint8_t *p = b, *end = b + len;
    size_t literals = 0;
    memset(freq, 0, HUFFMAN_SYMBOLS * sizeof(freq[0]));
    while (p < end) {
        unsigned token = *p++;
        size_t run = token >> 4, v;
        if (run == 15) {
            do
                run += v = *p++;
            while (v == 255 && p < end);
        }
        if (run > (size_t)(end - p)) {
            fprintf(stderr, "ratio-ceiling: malformed LZ4 block\n");
            exit(1);
        }
        for (size_t i = 0; i < run; i++)
            freq[p[i]]++;
        p += run;
        literals += run;
        if (p >= end)
            break;  // the last sequence has literals only
        p += 2;     // the offset
        if ((token & 15) == 15) {
            do
                v = *p++;
            while (v == 255 && p < end);
        }
    }
    return literals;
}

// Our depth-16 block with Huffman-coded literals (see the top of the file for what is counted).
static uint32_t huffman_literals_block(const uint8_t *page) {
    static uint8_t out[LZ4_COMPRESSBOUND(ZB_PAGE)];
    size_t len = lz4_compress_hc(page, ZB_PAGE, out, sizeof(out), COMPRESSOR_DEPTH_DEFAULT, &ws);
    uint32_t freq[HUFFMAN_SYMBOLS];
    uint8_t code_len[HUFFMAN_SYMBOLS];
    size_t literals = lz4_block_literals(out, len, freq);
    size_t bits = huffman_code_lengths(freq, LITERAL_LIMIT, code_len);
    size_t used = 0;
    for (int s = 0; s < HUFFMAN_SYMBOLS; s++)
        used += freq[s] != 0;
    size_t table = HUFFMAN_SYMBOLS / 8 + (4 * used + 7) / 8;
    return stored_len(len - literals + (bits + 7) / 8 + table + 2);
}

static void measure_page(size_t i, const uint8_t *page) {
    zero_page[i] = true;
    for (size_t k = 0; k < ZB_PAGE && zero_page[i]; k++)
        zero_page[i] = page[k] == 0;
    if (zero_page[i])
        return;
    block[i][CODEC_JASPER_D16] = jasper_block(page, COMPRESSOR_DEPTH_DEFAULT);
    block[i][CODEC_JASPER_D1024] = jasper_block(page, 1024);
    block[i][CODEC_LIBLZ4_FAST] = liblz4_block(page, 0);
    block[i][CODEC_LIBLZ4_HC12] = liblz4_block(page, 12);
    block[i][CODEC_JASPER_HUFFLIT] = huffman_literals_block(page);
    block[i][CODEC_DEFLATE9] = deflate_block(page, false);
    if (dict) {
        block[i][CODEC_LIBLZ4_HC12_DICT] = liblz4_dict_block(page);
        block[i][CODEC_DEFLATE9_DICT] = deflate_block(page, true);
    }
}

struct set_figures {
    size_t pages, stored, zero;
    uint64_t block_bytes;
    uint64_t storage_pages;
};

// Puts the set's stored blocks (their lengths: contents do not matter to the packing) into a new
// zstore in page order, as the benchmark pushes them out, and reads its size.
static struct set_figures measure_set(enum set s, enum codec c) {
    static const uint8_t filler[ZSTORE_MAX_ITEM];
    static uint64_t refs[MIX_PAGES];
    size_t first = s == SET_MIX ? 0 : s * ZB_PAGES, n = s == SET_MIX ? MIX_PAGES : ZB_PAGES;
    struct set_figures f = {.pages = n};
    struct zstore z;
    zstore_init(&z, "ratio_ceiling");
    for (size_t i = first; i < first + n; i++) {
        if (zero_page[i]) {
            f.zero++;
            continue;
        }
        if (block[i][c] == NOT_STORED)
            continue;
        if (zstore_put(&z, filler, block[i][c], &refs[f.stored]) != ZX_OK) {
            fprintf(stderr, "ratio-ceiling: simulated RAM full\n");
            exit(1);
        }
        f.stored++;
        f.block_bytes += block[i][c];
    }
    struct zstore_usage u;
    zstore_usage(&z, &u);
    f.storage_pages = u.pages_used;
    for (size_t k = 0; k < f.stored; k++)
        zstore_free(&z, refs[k]);
    return f;
}

// One table cell: the ratio and the stored pages.
static void print_cell(uint64_t orig, uint64_t packed, size_t stored) {
    if (packed)
        printf(" %.2fx (%zu) |", (double)orig / (double)packed, stored);
    else
        printf(" - (0) |");
}

enum view { VIEW_BLOCKS, VIEW_STORAGE, VIEW_WHOLE };

static const char *const view_titles[] = {
    "Blocks: stored pages' bytes / their blocks' bytes",
    "Storage: stored pages' bytes / the zstore pages holding their blocks",
    "Whole: every page's bytes / (zstore pages + pages left uncompressed)",
};

// One markdown table: per codec and set, one view's ratio and the stored pages.
static void print_table(enum view v) {
    printf("\n%s (stored pages in brackets):\n\n", view_titles[v]);
    printf("| codec |");
    for (int s = 0; s < SET_COUNT; s++)
        printf(" %s |", set_names[s]);
    printf("\n|---|");
    for (int s = 0; s < SET_COUNT; s++)
        printf("---:|");
    printf("\n");
    for (int c = 0; c < CODEC_COUNT; c++) {
        if (!dict && (c == CODEC_LIBLZ4_HC12_DICT || c == CODEC_DEFLATE9_DICT))
            continue;
        printf("| %s |", codec_names[c]);
        for (int s = 0; s < SET_COUNT; s++) {
            struct set_figures f = measure_set((enum set)s, (enum codec)c);
            uint64_t orig = f.stored * ZB_PAGE, packed = f.storage_pages * ZB_PAGE;
            if (v == VIEW_BLOCKS) {
                packed = f.block_bytes;
            } else if (v == VIEW_WHOLE) {
                orig = f.pages * ZB_PAGE;
                packed += (f.pages - f.stored - f.zero) * ZB_PAGE;
            }
            print_cell(orig, packed, f.stored);
        }
        printf("\n");
    }
}

int main(int argc, char **argv) {
    if (argc != 3 && argc != 4) {
        fprintf(stderr, "usage: ratio-ceiling TEXT_FILE ELF_FILE [DICTIONARY_FILE] "
                        "(scripts/ratio-ceiling runs it)\n");
        return 2;
    }
    struct zb_files files = {0};
    files.text = read_file(argv[1], &files.text_len);
    files.elf = read_file(argv[2], &files.elf_len);
    if (!files.text || !files.elf)
        return 1;
    if (argc == 4 && !(dict = read_file(argv[3], &dict_len)))
        return 1;
    if (!sim_ram_init(SIM_RAM_BYTES) ||
        deflateInit2(&deflater, 9, Z_DEFLATED, -15, 9, Z_DEFAULT_STRATEGY) != Z_OK) {
        fprintf(stderr, "ratio-ceiling: cannot set up simulated RAM or zlib\n");
        return 1;
    }
    cap = (COMPRESSOR_THRESHOLD_DEFAULT * ZB_PAGE + 99) / 100 - 1;
    static uint8_t page[ZB_PAGE];
    for (size_t i = 0; i < MIX_PAGES; i++) {
        zb_fill(ZB_MIX, i, page, &files);
        measure_page(i, page);
    }
    size_t zeros[SET_COUNT - 1] = {0};
    for (size_t i = 0; i < MIX_PAGES; i++)
        zeros[i / ZB_PAGES] += zero_page[i];
    printf("ratio-ceiling: text %s (%zu bytes, %zu pages), elf %s (%zu bytes, %zu pages);\n"
           "1,024 pages of each kind (files cycled), mix = the three (3,072); each 4 KiB page\n"
           "compressed alone; stored when its block is at most %zu bytes (below %u%% of a page);\n"
           "all-zero pages are never stored (elf %zu, text %zu, sparse %zu).\n",
           argv[1], files.text_len, (files.text_len + ZB_PAGE - 1) / ZB_PAGE, argv[2],
           files.elf_len, (files.elf_len + ZB_PAGE - 1) / ZB_PAGE, cap,
           COMPRESSOR_THRESHOLD_DEFAULT, zeros[0], zeros[1], zeros[2]);
    if (dict)
        printf("dictionary: %s (%zu bytes)\n", argv[3], dict_len);
    print_table(VIEW_BLOCKS);
    print_table(VIEW_STORAGE);
    print_table(VIEW_WHOLE);
    deflateEnd(&deflater);
    return 0;
}
