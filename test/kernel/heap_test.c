// The kernel heap on the real pmm: size classes, large runs, caches, poisoning, page return.
#include "kernel/heap.h"
#include "kernel/ktest.h"
#include "kernel/string.h"
#include "vm/pmm.h"

KTEST(heap, kmalloc_sizes_and_alignment) {
    size_t heap0 = pmm_count(PAGE_STATE_HEAP);
    static const size_t sizes[] = {0, 1, 15, 16, 17, 100, 512, 2047, 2048, 2049, 4096, 40000};
    void *ptrs[countof(sizes)];
    for (size_t i = 0; i < countof(sizes); i++) {
        ptrs[i] = kmalloc(sizes[i]);
        REQUIRE_TRUE(ptrs[i] != NULL);
        EXPECT_EQ((uintptr_t)ptrs[i] % 16, 0);
        if (sizes[i] >= PAGE_SIZE)
            EXPECT_EQ((uintptr_t)ptrs[i] % PAGE_SIZE, 0);
        memset(ptrs[i], (int)i, sizes[i]);
    }
    // No two allocations overlap: each still holds its own fill.
    for (size_t i = 0; i < countof(sizes); i++) {
        const uint8_t *b = ptrs[i];
        for (size_t k = 0; k < sizes[i]; k++) {
            if (!EXPECT_EQ(b[k], i))
                break;
        }
    }
    for (size_t i = 0; i < countof(sizes); i++)
        kfree(ptrs[i]);
    EXPECT_EQ(pmm_count(PAGE_STATE_HEAP), heap0);  // every page went back
}

KTEST(heap, many_small_objects_fill_and_return_slabs) {
    size_t heap0 = pmm_count(PAGE_STATE_HEAP);
    struct heap_stats s0;
    heap_get_stats(&s0);
    enum { N = 3000 };
    static void *ptrs[N];
    for (int i = 0; i < N; i++) {
        ptrs[i] = kzalloc(48);
        REQUIRE_TRUE(ptrs[i] != NULL);
        *(int *)ptrs[i] = i;
    }
    struct heap_stats s1;
    heap_get_stats(&s1);
    EXPECT_EQ(s1.allocations, s0.allocations + N);
    EXPECT_GE(s1.pages, s0.pages + (N * 64) / PAGE_SIZE);
    // Free in an interleaved order so slabs go partial before they empty.
    for (int i = 0; i < N; i += 2)
        kfree(ptrs[i]);
    for (int i = 1; i < N; i += 2)
        EXPECT_EQ(*(int *)ptrs[i], i);
    for (int i = 1; i < N; i += 2)
        kfree(ptrs[i]);
    EXPECT_EQ(pmm_count(PAGE_STATE_HEAP), heap0);
}

KTEST(heap, freed_memory_is_poisoned) {
    if (!JASPER_DEBUG)
        return;  // a release build (-Ddebug_checks=false) does not poison
    uint8_t *p = kmalloc(64);
    REQUIRE_TRUE(p != NULL);
    memset(p, 0, 64);
    // Keep the slab alive with a neighbour so the freed object stays mapped heap memory.
    void *keep = kmalloc(64);
    kfree(p);
    size_t poisoned = 0;
    for (size_t i = sizeof(void *); i < 64; i++)
        poisoned += p[i] == HEAP_POISON_BYTE;
    EXPECT_EQ(poisoned, 64 - sizeof(void *));
    kfree(keep);
}

struct thing {
    uint64_t a, b, c;
    char name[40];
};

KTEST(heap, object_cache) {
    size_t heap0 = pmm_count(PAGE_STATE_HEAP);
    struct kcache *c = kcache_create("thing", sizeof(struct thing), 64);
    REQUIRE_TRUE(c != NULL);
    struct thing *t[100];
    for (int i = 0; i < 100; i++) {
        t[i] = kcache_alloc(c);
        REQUIRE_TRUE(t[i] != NULL);
        EXPECT_EQ((uintptr_t)t[i] % 64, 0);
        t[i]->a = (uint64_t)i;
    }
    for (int i = 0; i < 100; i++) {
        EXPECT_EQ(t[i]->a, (uint64_t)i);
        kcache_free(c, t[i]);
    }
    kcache_destroy(c);
    EXPECT_EQ(pmm_count(PAGE_STATE_HEAP), heap0);
}

KTEST(heap, exhaustion_returns_null) {
    size_t heap0 = pmm_count(PAGE_STATE_HEAP);
    pmm_fail_after(1);
    void *big = kmalloc(64 * 1024);
    void *small = kmalloc(3000);  // needs a fresh slab run (none is cached)
    pmm_fail_disarm();
    EXPECT_TRUE(big == NULL);
    kfree(small);  // may succeed if a 4 KiB slab already had room
    EXPECT_EQ(pmm_count(PAGE_STATE_HEAP), heap0);
}
