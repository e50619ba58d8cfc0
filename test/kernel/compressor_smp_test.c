// The compressor from every CPU at once (vm/compressor.h): each thread compresses, reads back and
// frees pages of its own, sharing the workspaces and the storage with the others; contents never
// mix, the checker holds afterwards and storage returns to where it was. Kernel only (threads).
#include "kernel/ktest.h"
#include "kernel/string.h"
#include "kernel/thread.h"
#include "test/kernel/page_mix.h"
#include "vm/compressor.h"
#include "vm/pmm.h"

#define SMP_THREADS 4
#define SMP_ROUNDS 150
#define SMP_LIVE 24  // references each thread keeps at once

static uint8_t smp_pages[SMP_THREADS][2][PAGE_SIZE];
static uint32_t smp_bad;

static int compress_worker(void *arg) {
    uintptr_t id = (uintptr_t)arg;
    uint8_t *page = smp_pages[id][0], *back = smp_pages[id][1];
    zref_t refs[SMP_LIVE] = {0};
    uint64_t seeds[SMP_LIVE] = {0};
    uint64_t rng = 1000 + id;
    for (int r = 0; r < SMP_ROUNDS; r++) {
        size_t i = page_mix_rand(&rng) % SMP_LIVE;
        if (refs[i]) {
            page_mix_fill(seeds[i] % 2 ? PAGE_KIND_SPARSE : PAGE_KIND_PATTERN, seeds[i], page,
                          PAGE_SIZE);
            if (compressor_decompress(refs[i], back) != ZX_OK ||
                memcmp(back, page, PAGE_SIZE) != 0)
                __atomic_fetch_add(&smp_bad, 1, __ATOMIC_RELAXED);
            compressor_free(refs[i]);
            refs[i] = ZREF_NONE;
            continue;
        }
        seeds[i] = page_mix_rand(&rng) | 1;
        page_mix_fill(seeds[i] % 2 ? PAGE_KIND_SPARSE : PAGE_KIND_PATTERN, seeds[i], page,
                      PAGE_SIZE);
        bool is_zero = false;
        if (compressor_compress(page, &refs[i], &is_zero) != ZX_OK || is_zero)
            __atomic_fetch_add(&smp_bad, 1, __ATOMIC_RELAXED);
    }
    for (size_t i = 0; i < SMP_LIVE; i++)
        compressor_free(refs[i]);
    return 0;
}

KTEST(compressor_smp, every_cpu_compresses_at_once) {
    struct compressor_stats s0, s1;
    compressor_stats(&s0);
    size_t free0 = pmm_count(PAGE_STATE_FREE);
    smp_bad = 0;
    uint32_t cpus = sched_cpus_online();
    struct thread *t[SMP_THREADS];
    for (uintptr_t i = 0; i < SMP_THREADS; i++) {
        t[i] = thread_create("compress_smp", compress_worker, (void *)i);
        REQUIRE_TRUE(t[i] != NULL);
        thread_set_affinity(t[i], 1ull << (i % cpus));
        thread_start(t[i]);
    }
    for (int i = 0; i < SMP_THREADS; i++) {
        int code = -1;
        EXPECT_OK(thread_join(t[i], &code, ZX_TIME_INFINITE));
        EXPECT_EQ(code, 0);
        thread_release(t[i]);
    }
    EXPECT_EQ(smp_bad, 0);
    EXPECT_TRUE(compressor_check());
    compressor_stats(&s1);
    EXPECT_EQ(s1.compressed_storage_bytes, s0.compressed_storage_bytes);
    EXPECT_EQ(s1.uncompressed_storage_bytes, s0.uncompressed_storage_bytes);
    EXPECT_GT(s1.total_page_decompressions, s0.total_page_decompressions);
    EXPECT_EQ(pmm_count(PAGE_STATE_FREE), free0);
}
