// TLB shootdowns seen from user mode: threads of one process on other CPUs must never use a
// translation after the call that removed or downgraded it has returned. On one CPU these tests
// pass trivially; scripts/test runs them on 4 CPUs, and once more with the kernel's test-only
// switch tlb_shootdown=off, where they must fail (so they can fail).
#include <zircon/syscalls.h>

#include "test/user/utest.h"

#define MS ((zx_duration_t)1000000)
#define READERS 3

static volatile uint64_t generation;  // the value the page mapped at `window` holds at least
static volatile uint64_t stop;
static volatile uint64_t stale_reads, reads;

// Reads the window page in a loop. A value below the generation published before the read can
// only come from a page that was unmapped before that publication: a stale TLB entry.
static void reader(uintptr_t window, uintptr_t arg2) {
    (void)arg2;
    while (!__atomic_load_n(&stop, __ATOMIC_ACQUIRE)) {
        uint64_t g = __atomic_load_n(&generation, __ATOMIC_ACQUIRE);
        uint64_t v = *(volatile uint64_t *)window;
        if (v < g)
            __atomic_fetch_add(&stale_reads, 1, __ATOMIC_RELAXED);
        __atomic_fetch_add(&reads, 1, __ATOMIC_RELAXED);
    }
    zx_thread_exit();
}

// One page whose first word is `value`.
static zx_handle_t page_holding(uint64_t value) {
    zx_handle_t vmo = ZX_HANDLE_INVALID;
    if (zx_vmo_create(PAGE, 0, &vmo) != ZX_OK || zx_vmo_write(vmo, &value, 0, sizeof(value)) != ZX_OK)
        EXPECT_FAILF("cannot make a page holding %llu", (unsigned long long)value);
    return vmo;
}

// The window is replaced (SPECIFIC_OVERWRITE: readers never fault) by a new page holding a larger
// number, again and again; the old page's VMO is closed at once, so its frame goes back to the
// pmm and is handed out again. Once the map call returns, no reader may see an older number.
TEST(overwritten_mapping_is_never_read_again) {
    zx_handle_t vmar;
    uintptr_t window;
    REQUIRE_OK(zx_vmar_allocate(zx_vmar_root_self(),
                                ZX_VM_CAN_MAP_READ | ZX_VM_CAN_MAP_WRITE | ZX_VM_CAN_MAP_SPECIFIC,
                                0, PAGE, &vmar, &window));
    zx_handle_t vmo = page_holding(1);
    uintptr_t addr;
    REQUIRE_OK(zx_vmar_map(vmar, ZX_VM_PERM_READ | ZX_VM_SPECIFIC, 0, vmo, 0, PAGE, &addr));
    zx_handle_close(vmo);
    generation = 1;
    stop = 0;
    stale_reads = reads = 0;
    struct ut_thread t[READERS];
    for (int i = 0; i < READERS; i++)
        EXPECT_OK(ut_thread_spawn(&t[i], reader, window, 0));
    zx_nanosleep(ut_deadline_after(5 * MS));  // let the readers settle on their CPUs
    for (uint64_t g = 2; g < 1000; g++) {
        vmo = page_holding(g);
        EXPECT_OK(zx_vmar_map(vmar, ZX_VM_PERM_READ | ZX_VM_SPECIFIC_OVERWRITE, 0, vmo, 0, PAGE,
                              &addr));
        zx_handle_close(vmo);
        __atomic_store_n(&generation, g, __ATOMIC_RELEASE);
        // Give the readers time to read with this generation.
        for (volatile int spin = 0; spin < 2000; spin++) {
        }
    }
    __atomic_store_n(&stop, 1, __ATOMIC_RELEASE);
    for (int i = 0; i < READERS; i++)
        EXPECT_TRUE(ut_thread_join(&t[i], 20000));
    EXPECT_GT(reads, 0);
    EXPECT_EQ(stale_reads, 0);
    zx_vmar_destroy(vmar);
    zx_handle_close(vmar);
}

static volatile uint64_t *counters;  // writer i increments counters[i]

static void writer(uintptr_t index, uintptr_t arg2) {
    (void)arg2;
    while (!__atomic_load_n(&stop, __ATOMIC_ACQUIRE))
        counters[index]++;
    zx_thread_exit();
}

// A snapshot write-protects the parent's pages in every mapping. Writers on other CPUs must then
// fault and write to their own copy: the snapshot's content is frozen the moment the call returns.
TEST(snapshot_is_frozen_while_other_cpus_write) {
    zx_handle_t vmo = ut_vmo(PAGE, 0);
    counters = (volatile uint64_t *)ut_map(vmo, 0, PAGE, ZX_VM_PERM_READ | ZX_VM_PERM_WRITE);
    REQUIRE_TRUE(counters);
    stop = 0;
    struct ut_thread t[READERS];
    for (int i = 0; i < READERS; i++)
        EXPECT_OK(ut_thread_spawn(&t[i], writer, (uintptr_t)i, 0));
    zx_nanosleep(ut_deadline_after(5 * MS));
    int changed = 0;
    for (int round = 0; round < 30; round++) {
        zx_handle_t snap;
        REQUIRE_OK(zx_vmo_create_child(vmo, ZX_VMO_CHILD_SNAPSHOT, 0, PAGE, &snap));
        uint64_t before[READERS], after[READERS];
        EXPECT_OK(zx_vmo_read(snap, before, 0, sizeof(before)));
        for (volatile int spin = 0; spin < 20000; spin++) {
        }
        EXPECT_OK(zx_vmo_read(snap, after, 0, sizeof(after)));
        for (int i = 0; i < READERS; i++)
            changed += before[i] != after[i];
        zx_handle_close(snap);
    }
    __atomic_store_n(&stop, 1, __ATOMIC_RELEASE);
    for (int i = 0; i < READERS; i++)
        EXPECT_TRUE(ut_thread_join(&t[i], 20000));
    EXPECT_EQ(changed, 0);
    ut_unmap((uintptr_t)counters, PAGE);
    zx_handle_close(vmo);
}

static const struct ut_child children[] = {{NULL, NULL}};
UTEST_MAIN(children)
