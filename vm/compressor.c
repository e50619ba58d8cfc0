// The page compressor's front end: configuration, zero detection and the counters. The first
// version stores nothing: every page that is not all zeros is reported as not shrinking
// (ZX_ERR_OUT_OF_RANGE), so callers can be written and tested against the final interface while the
// codec (vm/lz4.c) and the storage (vm/zstore.c) land behind it.
#include "vm/compressor.h"

#include "kernel/assert.h"

static struct compressor_config config = {
    .threshold_pct = COMPRESSOR_THRESHOLD_DEFAULT,
    .depth = COMPRESSOR_DEPTH_DEFAULT,
    .now_ns = NULL,
};

// Counters (atomics, relaxed: they are statistics, read together only by compressor_stats).
static struct compressor_stats counters;

static void count(uint64_t *c, uint64_t n) {
    __atomic_fetch_add(c, n, __ATOMIC_RELAXED);
}

static unsigned clamp(unsigned v, unsigned lo, unsigned hi) {
    return v < lo ? lo : v > hi ? hi : v;
}

void compressor_config_from_cmdline(const struct cmdline *cl, struct compressor_config *out) {
    out->threshold_pct = (unsigned)cmdline_get_u64(cl, "compress.threshold",
                                                   COMPRESSOR_THRESHOLD_DEFAULT);
    out->depth = (unsigned)cmdline_get_u64(cl, "compress.depth", COMPRESSOR_DEPTH_DEFAULT);
    out->now_ns = NULL;
}

void compressor_init(const struct compressor_config *cfg) {
    config.threshold_pct = clamp(cfg->threshold_pct, 10, 75);
    config.depth = clamp(cfg->depth, 0, 1024);
    config.now_ns = cfg->now_ns;
}

void compressor_get_config(struct compressor_config *out) {
    *out = config;
}

static bool page_is_zero(const void *page) {
    const uint64_t *w = page;
    for (size_t i = 0; i < PAGE_SIZE / sizeof(uint64_t); i++) {
        if (w[i])
            return false;
    }
    return true;
}

zx_status_t compressor_compress(const void *page, zref_t *ref, bool *is_zero) {
    count(&counters.total_page_compression_attempts, 1);
    if (page_is_zero(page)) {
        *ref = ZREF_NONE;
        *is_zero = true;
        return ZX_OK;
    }
    count(&counters.failed_page_compression_attempts, 1);
    return ZX_ERR_OUT_OF_RANGE;
}

zx_status_t compressor_decompress(zref_t ref, void *page) {
    ASSERT_MSG(false, "compressor_decompress: no reference %#llx was ever stored",
               (unsigned long long)ref);
    return ZX_ERR_INTERNAL;
}

void compressor_free(zref_t ref) {
    ASSERT_MSG(ref == ZREF_NONE, "compressor_free: no reference %#llx was ever stored",
               (unsigned long long)ref);
}

void compressor_note_reason(enum compressor_reason reason) {
    switch (reason) {
    case COMPRESSOR_REASON_EAGER: count(&counters.eager_page_compressions, 1); break;
    case COMPRESSOR_REASON_MEMORY_PRESSURE: count(&counters.memory_pressure_page_compressions, 1); break;
    case COMPRESSOR_REASON_CRITICAL: count(&counters.critical_memory_page_compressions, 1); break;
    }
}

void compressor_note_eviction(void) {
    count(&counters.compressed_page_evictions, 1);
}

void compressor_stats(struct compressor_stats *out) {
    uint64_t *dst = (uint64_t *)out;
    const uint64_t *src = (const uint64_t *)&counters;
    for (size_t i = 0; i < sizeof(*out) / sizeof(uint64_t); i++)
        dst[i] = __atomic_load_n(&src[i], __ATOMIC_RELAXED);
    out->pages_decompressed_unit_ns = 1000;
}

bool compressor_check(void) {
    return true;
}
