// Faults racing on many CPUs: threads of one process fault the same pages at once. Whatever the
// interleaving, each offset gets exactly one page and each shared page exactly one copy (a second
// page for an offset would lose the writes that went to the first). On one CPU the same code runs
// with the threads interleaved by preemption; scripts/test runs it on 1 and 4 CPUs.
#include <zircon/syscalls.h>

#include "test/user/utest.h"

#define THREADS 4
#define PAGES 64
#define ROUNDS 20
#define WORDS_PER_PAGE (PAGE / sizeof(uint64_t))

static volatile uint64_t *window;
static volatile uint32_t go;

// Thread k writes word k of every page (in an order that differs per thread, so the threads meet
// on the same pages), with a value naming the round, the thread and the page.
static void toucher(uintptr_t k, uintptr_t round) {
    while (!__atomic_load_n(&go, __ATOMIC_ACQUIRE)) {
    }
    for (uint64_t i = 0; i < PAGES; i++) {
        uint64_t page = (i + k * 7) % PAGES;
        window[page * WORDS_PER_PAGE + k] = (round << 32) | (k << 16) | page;
    }
    zx_thread_exit();
}

// Runs THREADS touchers on `window` for `round` and checks every word each wrote is there.
static void touch_all_pages(uint64_t round) {
    go = 0;
    struct ut_thread t[THREADS];
    for (uintptr_t k = 0; k < THREADS; k++)
        EXPECT_OK(ut_thread_spawn(&t[k], toucher, k, round));
    __atomic_store_n(&go, 1, __ATOMIC_RELEASE);
    for (int k = 0; k < THREADS; k++)
        EXPECT_TRUE(ut_thread_join(&t[k], 20000));
    int lost = 0;
    for (uint64_t page = 0; page < PAGES; page++)
        for (uint64_t k = 0; k < THREADS; k++)
            lost += window[page * WORDS_PER_PAGE + k] != ((round << 32) | (k << 16) | page);
    EXPECT_EQ(lost, 0);
}

TEST(racing_first_faults_make_one_page_per_offset) {
    for (uint64_t round = 1; round <= ROUNDS; round++) {
        zx_handle_t vmo = ut_vmo(PAGES * PAGE, -1);
        window = (volatile uint64_t *)ut_map(vmo, 0, PAGES * PAGE,
                                             ZX_VM_PERM_READ | ZX_VM_PERM_WRITE);
        REQUIRE_TRUE(window);
        touch_all_pages(round);
        EXPECT_EQ(ut_committed(vmo), PAGES * PAGE);
        ut_unmap((uintptr_t)window, PAGES * PAGE);
        zx_handle_close(vmo);
    }
}

TEST(racing_writes_to_a_snapshot_copy_each_page_once) {
    for (uint64_t round = 1; round <= ROUNDS; round++) {
        zx_handle_t parent = ut_vmo(PAGES * PAGE, 0x5a);
        zx_handle_t snap = ut_child(parent, ZX_VMO_CHILD_SNAPSHOT, 0, PAGES * PAGE);
        window = (volatile uint64_t *)ut_map(snap, 0, PAGES * PAGE,
                                             ZX_VM_PERM_READ | ZX_VM_PERM_WRITE);
        REQUIRE_TRUE(window);
        touch_all_pages(round);
        zx_info_vmo_t info = ut_vmo_info(snap);
        EXPECT_EQ(info.committed_private_bytes, PAGES * PAGE);  // one copy per page, no more
        // The parent kept its content.
        int changed = 0;
        for (uint64_t page = 0; page < PAGES; page++)
            changed += ut_vmo_byte(parent, page * PAGE + 8 * (round % THREADS)) != 0x5a;
        EXPECT_EQ(changed, 0);
        ut_unmap((uintptr_t)window, PAGES * PAGE);
        zx_handle_close(snap);
        zx_handle_close(parent);
    }
}

static const struct ut_child children[] = {{NULL, NULL}};
UTEST_MAIN(children)
