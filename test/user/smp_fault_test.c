// Faults racing on many CPUs: threads of one process fault the same pages at once. Whatever the
// interleaving, each offset gets exactly one page and each shared page exactly one copy (a second
// page for an offset would lose the writes that went to the first). On one CPU the same code runs
// with the threads interleaved by preemption; scripts/test runs it on 1 and 4 CPUs.
#include <stdio.h>
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

// ---- A snapshot taken while other CPUs write the parent ----

#define WRITERS (THREADS - 1)
#define SNAP_PAGES 16  // 64 KiB: one ut_scratch
#define SNAP_ROUNDS 40

static volatile uint64_t passes[WRITERS];  // full passes writer k has finished
static volatile uint32_t writers_stop;

// Writer k writes pass number j to word k of every page, page 0 first, pass after pass: at any
// instant word k holds j on pages [0, c) and j - 1 on pages [c, SNAP_PAGES) for some cut c. A
// snapshot is one instant: it must show such a cut for every writer.
static void pass_writer(uintptr_t k, uintptr_t few_cpus) {
    for (uint64_t j = 1;; j++) {
        for (uint64_t p = 0; p < SNAP_PAGES; p++)
            window[p * WORDS_PER_PAGE + k] = j;
        __atomic_store_n(&passes[k], j, __ATOMIC_RELEASE);
        if (__atomic_load_n(&writers_stop, __ATOMIC_ACQUIRE))
            break;
        if (few_cpus)  // the main thread needs the CPU
            zx_nanosleep(ut_deadline_after(1000000));
    }
    zx_thread_exit();
}

// Waits until every writer has finished pass want[k]; false (a failure) after 20 s.
static bool wait_passes(const uint64_t *want) {
    zx_time_t deadline = ut_deadline_after(20000000000ll);
    for (int spins = 0;; spins++) {
        int done = 0;
        for (int k = 0; k < WRITERS; k++)
            done += __atomic_load_n(&passes[k], __ATOMIC_ACQUIRE) >= want[k];
        if (done == WRITERS)
            return true;
        if (spins > 200) {
            if (zx_clock_get_monotonic() > deadline) {
                EXPECT_FAILF("the writers stopped making passes");
                return false;
            }
            zx_nanosleep(ut_deadline_after(1000000));
        }
    }
}

// Writers on other CPUs never stop writing the parent while it is snapshotted again and again.
// Each snapshot must be one instant of the parent (a cut per writer, see pass_writer), frozen
// from the moment the call returns, and cost exactly one copy per page written afterwards; no
// write may be lost (a second copy of a page would take some).
TEST(snapshot_while_other_cpus_write_is_one_instant) {
    zx_handle_t parent = ut_vmo(SNAP_PAGES * PAGE, 0);
    window = (volatile uint64_t *)ut_map(parent, 0, SNAP_PAGES * PAGE,
                                         ZX_VM_PERM_READ | ZX_VM_PERM_WRITE);
    REQUIRE_TRUE(window);
    writers_stop = 0;
    struct ut_thread t[WRITERS];
    uint64_t want[WRITERS];
    for (int k = 0; k < WRITERS; k++) {
        passes[k] = 0;
        want[k] = 1;
        EXPECT_OK(ut_thread_spawn(&t[k], pass_writer, (uintptr_t)k,
                                  zx_system_get_num_cpus() <= WRITERS));
    }
    static uint64_t first[SNAP_PAGES * WORDS_PER_PAGE];
    uint64_t *again = (uint64_t *)ut_scratch;
    int not_a_cut = 0, changed = 0, extra_pages = 0, leaked = 0;
    for (int round = 0; round < SNAP_ROUNDS && wait_passes(want); round++) {
        uint64_t before = ut_vmo_bytes();  // every page of the parent is its own by now
        zx_handle_t snap = ut_child(parent, ZX_VMO_CHILD_SNAPSHOT, 0, SNAP_PAGES * PAGE);
        for (int k = 0; k < WRITERS; k++)  // a pass that starts after the call returned
            want[k] = __atomic_load_n(&passes[k], __ATOMIC_ACQUIRE) + 2;
        EXPECT_OK(zx_vmo_read(snap, first, 0, sizeof(first)));
        for (uint64_t k = 0; k < WRITERS; k++) {
            uint64_t top = first[k], bottom = first[(SNAP_PAGES - 1) * WORDS_PER_PAGE + k];
            bool cut = top >= bottom && top - bottom <= 1;
            for (uint64_t p = 1; p < SNAP_PAGES; p++)
                cut &= first[(p - 1) * WORDS_PER_PAGE + k] >= first[p * WORDS_PER_PAGE + k];
            if (!cut && not_a_cut++ == 0) {
                printf("      round %d, writer %llu, pass by page:", round,
                       (unsigned long long)k);
                for (uint64_t p = 0; p < SNAP_PAGES; p++)
                    printf(" %llu", (unsigned long long)first[p * WORDS_PER_PAGE + k]);
                printf("\n");
            }
        }
        if (!wait_passes(want))
            break;
        EXPECT_OK(zx_vmo_read(snap, again, 0, sizeof(first)));
        changed += memcmp(first, again, sizeof(first)) != 0;
        // The writers wrote every page since: the parent copied each exactly once.
        extra_pages += (int)((int64_t)(ut_vmo_bytes() - before) / (int64_t)PAGE) - SNAP_PAGES;
        zx_handle_close(snap);
        leaked += ut_vmo_bytes() != before;
        for (int k = 0; k < WRITERS; k++)
            want[k] = __atomic_load_n(&passes[k], __ATOMIC_ACQUIRE) + 2;
    }
    __atomic_store_n(&writers_stop, 1, __ATOMIC_RELEASE);
    for (int k = 0; k < WRITERS; k++)
        EXPECT_TRUE(ut_thread_join(&t[k], 20000));
    EXPECT_EQ(not_a_cut, 0);
    EXPECT_EQ(changed, 0);
    EXPECT_EQ(extra_pages, 0);
    EXPECT_EQ(leaked, 0);
    // Every writer's last pass is on every page of the parent.
    int lost = 0;
    EXPECT_OK(zx_vmo_read(parent, again, 0, SNAP_PAGES * PAGE));
    for (uint64_t p = 0; p < SNAP_PAGES; p++)
        for (uint64_t k = 0; k < WRITERS; k++)
            lost += again[p * WORDS_PER_PAGE + k] != passes[k];
    EXPECT_EQ(lost, 0);
    ut_unmap((uintptr_t)window, SNAP_PAGES * PAGE);
    zx_handle_close(parent);
}

// ---- vmo_read / vmo_write into a buffer other CPUs unmap and map again ----
// The calls copy straight between the VMO's pages and the buffer, faulting the buffer's pages in
// outside the VMO's lock; whatever the interleaving, each call returns OK (every byte moved) or
// NOT_FOUND (the buffer was gone), and the memory is intact afterwards.

#define RW_PAGES 16
#define RW_CALLS 200

static zx_handle_t rw_src, rw_dst, rw_buf_vmo, rw_vmar;
static uintptr_t rw_buf;
static volatile uint32_t rw_stop;
static uint32_t rw_bad_status;

static void rw_caller(uintptr_t k, uintptr_t unused) {
    (void)unused;
    while (!__atomic_load_n(&go, __ATOMIC_ACQUIRE)) {
    }
    for (int i = 0; i < RW_CALLS; i++) {
        zx_status_t st = (k & 1) ? zx_vmo_write(rw_dst, (const void *)rw_buf, 0, RW_PAGES * PAGE)
                                 : zx_vmo_read(rw_src, (void *)rw_buf, 0, RW_PAGES * PAGE);
        if (st != ZX_OK && st != ZX_ERR_NOT_FOUND)
            __atomic_add_fetch(&rw_bad_status, 1, __ATOMIC_RELAXED);
    }
    zx_thread_exit();
}

static void rw_remapper(uintptr_t unused1, uintptr_t unused2) {
    (void)unused1;
    (void)unused2;
    while (!__atomic_load_n(&go, __ATOMIC_ACQUIRE)) {
    }
    while (!__atomic_load_n(&rw_stop, __ATOMIC_ACQUIRE)) {
        zx_vaddr_t a;
        zx_status_t st = zx_vmar_unmap(rw_vmar, rw_buf, RW_PAGES * PAGE);
        if (st == ZX_OK)
            st = zx_vmar_map(rw_vmar, ZX_VM_PERM_READ | ZX_VM_PERM_WRITE | ZX_VM_SPECIFIC, 0,
                             rw_buf_vmo, 0, RW_PAGES * PAGE, &a);
        if (st != ZX_OK)
            __atomic_add_fetch(&rw_bad_status, 1, __ATOMIC_RELAXED);
        // Drop the buffer's pages too, so that the next copies fault on missing pages.
        zx_vmo_op_range(rw_buf_vmo, ZX_VMO_OP_DECOMMIT, 0, RW_PAGES * PAGE, NULL, 0);
    }
    zx_thread_exit();
}

TEST(vmo_read_write_while_the_buffer_is_unmapped) {
    uint64_t before = ut_vmo_bytes();
    rw_src = ut_vmo(RW_PAGES * PAGE, 0x5a);
    rw_dst = ut_vmo(RW_PAGES * PAGE, -1);
    rw_buf_vmo = ut_vmo(RW_PAGES * PAGE, -1);
    zx_vaddr_t base;
    REQUIRE_OK(zx_vmar_allocate(zx_vmar_root_self(),
                                ZX_VM_CAN_MAP_READ | ZX_VM_CAN_MAP_WRITE | ZX_VM_CAN_MAP_SPECIFIC,
                                0, RW_PAGES * PAGE, &rw_vmar, &base));
    REQUIRE_OK(zx_vmar_map(rw_vmar, ZX_VM_PERM_READ | ZX_VM_PERM_WRITE | ZX_VM_SPECIFIC, 0,
                           rw_buf_vmo, 0, RW_PAGES * PAGE, &rw_buf));
    go = 0;
    rw_stop = 0;
    rw_bad_status = 0;
    struct ut_thread t[THREADS];
    for (uintptr_t k = 0; k + 1 < THREADS; k++)
        EXPECT_OK(ut_thread_spawn(&t[k], rw_caller, k, 0));
    EXPECT_OK(ut_thread_spawn(&t[THREADS - 1], rw_remapper, 0, 0));
    __atomic_store_n(&go, 1, __ATOMIC_RELEASE);
    for (int k = 0; k + 1 < THREADS; k++)
        EXPECT_TRUE(ut_thread_join(&t[k], 60000));
    __atomic_store_n(&rw_stop, 1, __ATOMIC_RELEASE);
    EXPECT_TRUE(ut_thread_join(&t[THREADS - 1], 20000));
    EXPECT_EQ(rw_bad_status, 0);
    // The buffer is mapped again: a quiet read and write move everything.
    EXPECT_OK(zx_vmo_read(rw_src, (void *)rw_buf, 0, RW_PAGES * PAGE));
    EXPECT_FILL((const uint8_t *)rw_buf, 0x5a, RW_PAGES * PAGE);
    EXPECT_OK(zx_vmo_write(rw_dst, (const void *)rw_buf, 0, RW_PAGES * PAGE));
    EXPECT_EQ(ut_vmo_byte(rw_dst, RW_PAGES * PAGE - 1), 0x5a);
    // The source never changed.
    int changed = 0;
    for (uint64_t p = 0; p < RW_PAGES; p++)
        changed += ut_vmo_byte(rw_src, p * PAGE + 7) != 0x5a;
    EXPECT_EQ(changed, 0);
    EXPECT_OK(zx_vmar_destroy(rw_vmar));
    zx_handle_close(rw_vmar);
    zx_handle_close(rw_buf_vmo);
    zx_handle_close(rw_dst);
    zx_handle_close(rw_src);
    EXPECT_EQ(ut_vmo_bytes(), before);
}

static const struct ut_child children[] = {{NULL, NULL}};
UTEST_MAIN(children)
