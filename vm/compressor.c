// The page compressor: LZ4 (vm/lz4.c) into dense compressed storage (vm/zstore.c), with the
// counters of KMEM_STATS_COMPRESSION. See compressor.h for the contract and locking.
//
// Workspaces: compression needs ~27 KiB of scratch (hash tables and an output buffer), too much
// for a kernel stack, so COMPRESSOR_WORKSPACES static ones are shared. A caller takes one in turn
// (a rotating counter spreads concurrent callers over them) under its spinlock, interrupts off for
// the length of one compression, so a workspace never has two users. Decompression takes no lock
// unless the item straddles two storage pages; then it is gathered into a workspace's buffer.
#include "vm/compressor.h"

#include "kernel/assert.h"
#include "kernel/compiler.h"
#include "kernel/spinlock.h"
#include "vm/lz4.h"
#include "vm/zstore.h"

#define COMPRESSOR_WORKSPACES 4
#define COMPRESSOR_UNIT_NS 1000  // pages_decompressed_unit_ns

struct workspace {
    struct spinlock lock;
    struct lz4_workspace lz;         // guarded by lock
    uint8_t out[ZSTORE_MAX_ITEM];  // compressed bytes, or a straddling item gathered for reading
    uint8_t spare[ZSTORE_MAX_ITEM + ZSTORE_MAX_ITEM / 8];  // the fast compressor's block
};

static struct workspace workspaces[COMPRESSOR_WORKSPACES];
static uint32_t next_workspace;  // atomic, rotating

static struct zstore store;
static struct spinlock setup_lock = SPINLOCK_INIT("compressor_setup");
static bool ready;  // store and workspace locks set up (atomic; set once under setup_lock)

static struct compressor_config config = {
    .threshold_pct = COMPRESSOR_THRESHOLD_DEFAULT,
    .depth = COMPRESSOR_DEPTH_DEFAULT,
    .now_ns = NULL,
};

// Event counters (atomics, relaxed: statistics). The storage figures come from the store itself.
static struct {
    int64_t compression_time;
    int64_t decompression_time;
    uint64_t attempts;
    uint64_t failed;
    uint64_t decompressions;
    uint64_t evictions;
    uint64_t eager;
    uint64_t pressure;
    uint64_t critical;
    uint64_t within_log_time[COMPRESSOR_LOG_BUCKETS];
} counters;

static void count(uint64_t *c, uint64_t n) {
    __atomic_fetch_add(c, n, __ATOMIC_RELAXED);
}

static void count_time(int64_t *c, int64_t n) {
    __atomic_fetch_add(c, n, __ATOMIC_RELAXED);
}

static void setup(void) {
    if (__atomic_load_n(&ready, __ATOMIC_ACQUIRE))
        return;
    irqstate_t irq = spin_lock_irqsave(&setup_lock);
    if (!ready) {
        zstore_init(&store, "zstore");
        for (size_t i = 0; i < COMPRESSOR_WORKSPACES; i++)
            workspaces[i].lock = (struct spinlock)SPINLOCK_INIT("compressor_workspace");
        __atomic_store_n(&ready, true, __ATOMIC_RELEASE);
    }
    spin_unlock_irqrestore(&setup_lock, irq);
}

static unsigned clamp(unsigned v, unsigned lo, unsigned hi) {
    return v < lo ? lo : v > hi ? hi : v;
}

void compressor_config_from_cmdline(const struct cmdline *cl, struct compressor_config *out) {
    out->threshold_pct =
        (unsigned)cmdline_get_u64(cl, "compress.threshold", COMPRESSOR_THRESHOLD_DEFAULT);
    out->depth = (unsigned)cmdline_get_u64(cl, "compress.depth", COMPRESSOR_DEPTH_DEFAULT);
    out->off = cmdline_get(cl, "compress") && !cmdline_get_bool(cl, "compress");
    out->now_ns = NULL;
}

void compressor_init(const struct compressor_config *cfg) {
    setup();
    __atomic_store_n(&config.threshold_pct, clamp(cfg->threshold_pct, 10, 75), __ATOMIC_RELAXED);
    __atomic_store_n(&config.depth, clamp(cfg->depth, 0, 4096), __ATOMIC_RELAXED);
    __atomic_store_n(&config.off, cfg->off, __ATOMIC_RELAXED);
    __atomic_store_n(&config.now_ns, cfg->now_ns, __ATOMIC_RELAXED);
}

void compressor_get_config(struct compressor_config *out) {
    out->threshold_pct = __atomic_load_n(&config.threshold_pct, __ATOMIC_RELAXED);
    out->depth = __atomic_load_n(&config.depth, __ATOMIC_RELAXED);
    out->off = __atomic_load_n(&config.off, __ATOMIC_RELAXED);
    out->now_ns = __atomic_load_n(&config.now_ns, __ATOMIC_RELAXED);
}

static zx_time_t now(zx_time_t (*clock)(void)) {
    return clock ? clock() : 0;
}

static bool page_is_zero(const void *page) {
    const uint64_t *w = page;
    for (size_t i = 0; i < PAGE_SIZE / sizeof(uint64_t); i++) {
        if (w[i])
            return false;
    }
    return true;
}

// The next workspace in turn (the caller locks it).
static struct workspace *workspace_pick(void) {
    uint32_t i = __atomic_fetch_add(&next_workspace, 1, __ATOMIC_RELAXED) % COMPRESSOR_WORKSPACES;
    return &workspaces[i];
}

// Compresses a page into the workspace; returns the block's length (0: not below cap) and where it
// is in *out_block. The fast compressor goes first, with a little more room than cap: what it
// cannot bring within cap + 1/8 is given up at once (incompressible pages cost ~13,000
// instructions to reject instead of ~300,000 for the deep search); otherwise the higher-ratio
// search runs, and the fast block stands in if the search does not fit either.
static size_t compress_page(const void *page, size_t cap, unsigned depth, struct workspace *w,
                            const uint8_t **out_block) REQUIRES(w->lock) {
    size_t fast_cap = MIN(cap + cap / 8, sizeof(w->spare));
    size_t fast = lz4_compress_fast(page, PAGE_SIZE, w->spare, fast_cap, &w->lz);
    if (!fast)
        return 0;
    if (depth) {
        size_t hc = lz4_compress_hc(page, PAGE_SIZE, w->out, cap, depth, &w->lz);
        if (hc && hc <= fast) {
            *out_block = w->out;
            return hc;
        }
    }
    *out_block = w->spare;
    return fast <= cap ? fast : 0;
}

zx_status_t compressor_compress(const void *page, zref_t *ref, bool *is_zero) {
    setup();
    struct compressor_config cfg;
    compressor_get_config(&cfg);
    zx_time_t t0 = now(cfg.now_ns);
    count(&counters.attempts, 1);
    zx_status_t st;
    if (page_is_zero(page)) {
        *ref = ZREF_NONE;
        *is_zero = true;
        st = ZX_OK;
    } else if (cfg.off) {
        count(&counters.failed, 1);  // the test switch: as if nothing shrank
        st = ZX_ERR_OUT_OF_RANGE;
    } else {
        // Stored only if strictly below threshold_pct of a page.
        size_t cap = (cfg.threshold_pct * PAGE_SIZE + 99) / 100 - 1;
        struct workspace *w = workspace_pick();
        irqstate_t irq = spin_lock_irqsave(&w->lock);
        const uint8_t *block = w->out;
        size_t len = compress_page(page, cap, cfg.depth, w, &block);
        uint64_t r = 0;
        st = len ? zstore_put(&store, block, len, &r) : ZX_ERR_OUT_OF_RANGE;
        spin_unlock_irqrestore(&w->lock, irq);
        if (st == ZX_OK) {
            ASSERT(r != ZREF_NONE && r <= ZREF_MAX);
            *ref = r;
            *is_zero = false;
        } else {
            count(&counters.failed, 1);
        }
    }
    count_time(&counters.compression_time, now(cfg.now_ns) - t0);
    return st;
}

zx_status_t compressor_decompress(zref_t ref, void *page) {
    ASSERT(ref != ZREF_NONE);
    zx_time_t (*clock)(void) = __atomic_load_n(&config.now_ns, __ATOMIC_RELAXED);
    zx_time_t t0 = now(clock);
    size_t len = zstore_item_len(ref);
    long got;
    const uint8_t *data = zstore_read(&store, ref, NULL);
    if (data) {
        got = lz4_decompress(data, len, page, PAGE_SIZE);
    } else {
        struct workspace *w = workspace_pick();
        irqstate_t irq = spin_lock_irqsave(&w->lock);
        data = zstore_read(&store, ref, w->out);
        got = lz4_decompress(data, len, page, PAGE_SIZE);
        spin_unlock_irqrestore(&w->lock, irq);
    }
    ASSERT_MSG(got == (long)PAGE_SIZE, "compressor_decompress: reference %#llx gave %ld bytes",
               (unsigned long long)ref, got);
    zx_time_t dt = now(clock) - t0;
    count(&counters.decompressions, 1);
    count_time(&counters.decompression_time, dt);
    size_t bucket = 0;
    while (bucket + 1 < COMPRESSOR_LOG_BUCKETS &&
           (uint64_t)dt >= ((uint64_t)COMPRESSOR_UNIT_NS << bucket))
        bucket++;
    count(&counters.within_log_time[bucket], 1);
    return got == (long)PAGE_SIZE ? ZX_OK : ZX_ERR_INTERNAL;
}

void compressor_free(zref_t ref) {
    if (ref == ZREF_NONE)
        return;
    zstore_free(&store, ref);
}

void compressor_note_reason(enum compressor_reason reason) {
    switch (reason) {
    case COMPRESSOR_REASON_EAGER:
        count(&counters.eager, 1);
        break;
    case COMPRESSOR_REASON_MEMORY_PRESSURE:
        count(&counters.pressure, 1);
        break;
    case COMPRESSOR_REASON_CRITICAL:
        count(&counters.critical, 1);
        break;
    }
}

uint64_t compressor_decompression_count(void) {
    return __atomic_load_n(&counters.decompressions, __ATOMIC_RELAXED);
}

void compressor_note_eviction(void) {
    count(&counters.evictions, 1);
}

void compressor_stats(struct compressor_stats *out) {
    setup();
    struct zstore_usage u;
    zstore_usage(&store, &u);
    out->uncompressed_storage_bytes = u.items * PAGE_SIZE;
    out->compressed_storage_bytes = u.pages_used * PAGE_SIZE;
    out->compressed_fragmentation_bytes = u.pages_used * PAGE_SIZE - u.bytes_stored;
    out->compression_time = __atomic_load_n(&counters.compression_time, __ATOMIC_RELAXED);
    out->decompression_time = __atomic_load_n(&counters.decompression_time, __ATOMIC_RELAXED);
    out->total_page_compression_attempts = __atomic_load_n(&counters.attempts, __ATOMIC_RELAXED);
    out->failed_page_compression_attempts = __atomic_load_n(&counters.failed, __ATOMIC_RELAXED);
    out->total_page_decompressions = __atomic_load_n(&counters.decompressions, __ATOMIC_RELAXED);
    out->compressed_page_evictions = __atomic_load_n(&counters.evictions, __ATOMIC_RELAXED);
    out->eager_page_compressions = __atomic_load_n(&counters.eager, __ATOMIC_RELAXED);
    out->memory_pressure_page_compressions = __atomic_load_n(&counters.pressure, __ATOMIC_RELAXED);
    out->critical_memory_page_compressions = __atomic_load_n(&counters.critical, __ATOMIC_RELAXED);
    out->pages_decompressed_unit_ns = COMPRESSOR_UNIT_NS;
    for (size_t i = 0; i < COMPRESSOR_LOG_BUCKETS; i++)
        out->pages_decompressed_within_log_time[i] =
            __atomic_load_n(&counters.within_log_time[i], __ATOMIC_RELAXED);
}

bool compressor_check(void) {
    setup();
    return zstore_check(&store);
}
