// ZX_INFO_TASK_STATS (docs/abi.md §10): a process's mapped, private, shared and scaled bytes,
// checked exactly against mappings whose pages the test knows: private pages, a VMO mapped twice,
// snapshots sharing pages, the same VMO mapped by two and three processes (the exact 63-bit
// fraction), a slice mapped by another process; and the call's errors.
#include <stdio.h>

#include "test/user/utest.h"

#define FRAC_ONE ((uint64_t)1 << 63)

static zx_info_task_stats_t stats(zx_handle_t proc) {
    zx_info_task_stats_t s;
    ut_get_info(proc, ZX_INFO_TASK_STATS, &s, sizeof(s));
    return s;
}

// What changed between two records (the process has its own code, stack and heap mapped).
static zx_info_task_stats_t delta(zx_info_task_stats_t a, zx_info_task_stats_t b) {
    // The fraction is carried into the byte count so that the difference is exact.
    zx_info_task_stats_t d = {
        .mem_mapped_bytes = b.mem_mapped_bytes - a.mem_mapped_bytes,
        .mem_private_bytes = b.mem_private_bytes - a.mem_private_bytes,
        .mem_shared_bytes = b.mem_shared_bytes - a.mem_shared_bytes,
        .mem_scaled_shared_bytes = b.mem_scaled_shared_bytes - a.mem_scaled_shared_bytes,
        .mem_fractional_scaled_shared_bytes = b.mem_fractional_scaled_shared_bytes,
    };
    if (b.mem_fractional_scaled_shared_bytes < a.mem_fractional_scaled_shared_bytes) {
        d.mem_scaled_shared_bytes--;
        d.mem_fractional_scaled_shared_bytes += FRAC_ONE;
    }
    d.mem_fractional_scaled_shared_bytes -= a.mem_fractional_scaled_shared_bytes;
    return d;
}

#define EXPECT_STATS(d, mapped, priv, shared, scaled, frac)               \
    do {                                                                  \
        EXPECT_EQ((d).mem_mapped_bytes, (mapped));                        \
        EXPECT_EQ((d).mem_private_bytes, (priv));                         \
        EXPECT_EQ((d).mem_shared_bytes, (shared));                        \
        EXPECT_EQ((d).mem_scaled_shared_bytes, (scaled));                 \
        EXPECT_EQ((d).mem_fractional_scaled_shared_bytes, (uint64_t)(frac)); \
    } while (0)

// A new, never-started process and its root VMAR.
static zx_handle_t new_process(zx_handle_t *vmar) {
    zx_handle_t proc = ZX_HANDLE_INVALID;
    *vmar = ZX_HANDLE_INVALID;
    EXPECT_OK(zx_process_create(zx_job_default(), "stats", 5, 0, &proc, vmar));
    return proc;
}

static uintptr_t map_in(zx_handle_t vmar, zx_handle_t vmo, uint64_t offset, size_t len) {
    zx_vaddr_t addr = 0;
    EXPECT_OK(zx_vmar_map(vmar, ZX_VM_PERM_READ, 0, vmo, offset, len, &addr));
    return addr;
}

TEST(record_size_and_a_fresh_process) {
    EXPECT_EQ(sizeof(zx_info_task_stats_t), 40);
    zx_handle_t vmar;
    zx_handle_t proc = new_process(&vmar);
    zx_info_task_stats_t s = stats(proc);
    EXPECT_STATS(s, 0, 0, 0, 0, 0);  // nothing mapped yet
    // Our own process has its code, stack and heap: mapped, mostly committed.
    zx_info_task_stats_t me = stats(zx_process_self());
    EXPECT_GT(me.mem_mapped_bytes, 0);
    EXPECT_GT(me.mem_private_bytes, 0);
    EXPECT_TRUE(me.mem_private_bytes + me.mem_shared_bytes <= me.mem_mapped_bytes);
    zx_handle_close(vmar);
    zx_handle_close(proc);
}

TEST(private_pages_count_once_per_mapping) {
    zx_info_task_stats_t before = stats(zx_process_self());
    zx_handle_t vmo = ut_vmo(8 * PAGE, -1);
    uintptr_t a = ut_map(vmo, 0, 8 * PAGE, ZX_VM_PERM_READ | ZX_VM_PERM_WRITE);
    EXPECT_STATS(delta(before, stats(zx_process_self())), 8 * PAGE, 0, 0, 0, 0);
    for (int i = 0; i < 3; i++)
        ((volatile uint8_t *)a)[i * PAGE] = 1;
    // Reading an untouched page maps the zero page: committed nothing.
    (void)((volatile uint8_t *)a)[5 * PAGE];
    EXPECT_STATS(delta(before, stats(zx_process_self())), 8 * PAGE, 3 * PAGE, 0, 0, 0);
    // A page written through the VMO is committed as well, mapped or not yet faulted in.
    ut_vmo_set_byte(vmo, 7 * PAGE, 9);
    EXPECT_STATS(delta(before, stats(zx_process_self())), 8 * PAGE, 4 * PAGE, 0, 0, 0);
    // A second mapping of pages 1..2 of the same VMO: the process maps them twice, and each
    // mapping counts what it shows (Zircon's rule: the statistics are over mappings).
    uintptr_t b = ut_map(vmo, PAGE, 2 * PAGE, ZX_VM_PERM_READ);
    EXPECT_STATS(delta(before, stats(zx_process_self())), 10 * PAGE, 6 * PAGE, 0, 0, 0);
    ut_unmap(b, 2 * PAGE);
    ut_unmap(a, 8 * PAGE);
    EXPECT_STATS(delta(before, stats(zx_process_self())), 0, 0, 0, 0, 0);
    zx_handle_close(vmo);
}

TEST(snapshot_pages_are_shared_between_vmos) {
    zx_info_task_stats_t before = stats(zx_process_self());
    zx_handle_t vmo = ut_vmo(4 * PAGE, 0x5a);
    zx_handle_t snap = ut_child(vmo, ZX_VMO_CHILD_SNAPSHOT, 0, 4 * PAGE);
    uintptr_t a = ut_map(vmo, 0, 4 * PAGE, ZX_VM_PERM_READ | ZX_VM_PERM_WRITE);
    uintptr_t b = ut_map(snap, 0, 4 * PAGE, ZX_VM_PERM_READ | ZX_VM_PERM_WRITE);
    // Four pages, each reached by both VMOs: shared by each mapping, half a page scaled each.
    EXPECT_STATS(delta(before, stats(zx_process_self())), 8 * PAGE, 0, 8 * PAGE, 4 * PAGE, 0);
    // Writing page 0 of the snapshot gives it its own copy; the original page 0 is then the
    // parent's alone (private), the other three stay shared.
    ((volatile uint8_t *)b)[0] = 1;
    EXPECT_STATS(delta(before, stats(zx_process_self())), 8 * PAGE, 2 * PAGE, 6 * PAGE, 3 * PAGE,
                 0);
    // Unmapping the snapshot leaves the parent's view: the sharing is between VMOs, mapped or not.
    ut_unmap(b, 4 * PAGE);
    EXPECT_STATS(delta(before, stats(zx_process_self())), 4 * PAGE, PAGE, 3 * PAGE,
                 3 * PAGE / 2, 0);
    // Closing the snapshot ends the sharing.
    zx_handle_close(snap);
    EXPECT_STATS(delta(before, stats(zx_process_self())), 4 * PAGE, 4 * PAGE, 0, 0, 0);
    ut_unmap(a, 4 * PAGE);
    zx_handle_close(vmo);
}

TEST(a_vmo_mapped_by_two_and_three_processes) {
    zx_handle_t vmo = ut_vmo(2 * PAGE, 0x11);
    zx_handle_t vmar1, vmar2;
    zx_handle_t p1 = new_process(&vmar1), p2 = new_process(&vmar2);
    map_in(vmar1, vmo, 0, 2 * PAGE);
    // One process alone: private.
    EXPECT_STATS(stats(p1), 2 * PAGE, 2 * PAGE, 0, 0, 0);
    map_in(vmar2, vmo, PAGE, PAGE);
    // Page 1 is mapped by both (half each); page 0 by p1 alone, but the VMO is shared, and the
    // rule counts processes per VMO: every page of it is shared.
    EXPECT_STATS(stats(p1), 2 * PAGE, 0, 2 * PAGE, PAGE, 0);
    EXPECT_STATS(stats(p2), PAGE, 0, PAGE, PAGE / 2, 0);
    // A third process: a third of a page is 1365 bytes and 1/3 of a byte, exactly
    // 0x2aaaaaaaaaaaaaaa in 63-bit fixed point.
    zx_handle_t vmar3;
    zx_handle_t p3 = new_process(&vmar3);
    map_in(vmar3, vmo, 0, PAGE);
    EXPECT_STATS(stats(p3), PAGE, 0, PAGE, PAGE / 3, 0x2aaaaaaaaaaaaaaaull);
    // p1: a third of each of its two pages: 2730 bytes and twice the fraction.
    EXPECT_STATS(stats(p1), 2 * PAGE, 0, 2 * PAGE, 2 * (PAGE / 3), 2 * 0x2aaaaaaaaaaaaaaaull);
    // Killing a process ends its share (and its statistics: BAD_STATE).
    EXPECT_OK(zx_task_kill(p3));
    EXPECT_OK(zx_object_wait_one(p3, ZX_TASK_TERMINATED, ZX_TIME_INFINITE, NULL));
    zx_info_task_stats_t s;
    EXPECT_STATUS(zx_object_get_info(p3, ZX_INFO_TASK_STATS, &s, sizeof(s), NULL, NULL),
                  ZX_ERR_BAD_STATE);
    EXPECT_STATS(stats(p2), PAGE, 0, PAGE, PAGE / 2, 0);
    zx_handle_close(vmar3);
    zx_handle_close(p3);
    zx_handle_close(vmar1);
    zx_handle_close(vmar2);
    zx_task_kill(p1);
    zx_task_kill(p2);
    zx_handle_close(p1);
    zx_handle_close(p2);
    zx_handle_close(vmo);
}

TEST(a_slice_mapped_elsewhere_shares_its_parents_pages) {
    zx_info_task_stats_t before = stats(zx_process_self());
    zx_handle_t vmo = ut_vmo(4 * PAGE, 0x22);
    zx_handle_t slice = ut_child(vmo, ZX_VMO_CHILD_SLICE, 2 * PAGE, 2 * PAGE);
    uintptr_t a = ut_map(vmo, 0, 4 * PAGE, ZX_VM_PERM_READ);
    // The slice mapped here too: the same pages, still one process and one VMO's pages.
    uintptr_t s = ut_map(slice, 0, 2 * PAGE, ZX_VM_PERM_READ);
    EXPECT_STATS(delta(before, stats(zx_process_self())), 6 * PAGE, 6 * PAGE, 0, 0, 0);
    ut_unmap(s, 2 * PAGE);
    // Mapped by another process, the slice makes every page of the parent shared by two.
    zx_handle_t vmar;
    zx_handle_t p = new_process(&vmar);
    map_in(vmar, slice, 0, 2 * PAGE);
    EXPECT_STATS(delta(before, stats(zx_process_self())), 4 * PAGE, 0, 4 * PAGE, 2 * PAGE, 0);
    EXPECT_STATS(stats(p), 2 * PAGE, 0, 2 * PAGE, PAGE, 0);
    zx_task_kill(p);
    EXPECT_OK(zx_object_wait_one(p, ZX_TASK_TERMINATED, ZX_TIME_INFINITE, NULL));
    EXPECT_STATS(delta(before, stats(zx_process_self())), 4 * PAGE, 4 * PAGE, 0, 0, 0);
    zx_handle_close(vmar);
    zx_handle_close(p);
    ut_unmap(a, 4 * PAGE);
    zx_handle_close(slice);
    zx_handle_close(vmo);
}

TEST(errors) {
    zx_info_task_stats_t s;
    // Only processes: a job, a thread, a VMO are the wrong type.
    EXPECT_STATUS(zx_object_get_info(zx_job_default(), ZX_INFO_TASK_STATS, &s, sizeof(s), NULL,
                                     NULL),
                  ZX_ERR_WRONG_TYPE);
    EXPECT_STATUS(zx_object_get_info(zx_thread_self(), ZX_INFO_TASK_STATS, &s, sizeof(s), NULL,
                                     NULL),
                  ZX_ERR_WRONG_TYPE);
    EXPECT_HANDLE_ERRORS(zx_object_get_info(h, ZX_INFO_TASK_STATS, &s, sizeof(s), NULL, NULL));
    zx_handle_t weak = ut_dup(zx_process_self(), ZX_RIGHT_READ);
    EXPECT_STATUS(zx_object_get_info(weak, ZX_INFO_TASK_STATS, &s, sizeof(s), NULL, NULL),
                  ZX_ERR_ACCESS_DENIED);
    zx_handle_close(weak);
    size_t actual = 9, avail = 9;
    EXPECT_STATUS(zx_object_get_info(zx_process_self(), ZX_INFO_TASK_STATS, &s, sizeof(s) - 1,
                                     &actual, &avail),
                  ZX_ERR_BUFFER_TOO_SMALL);
    EXPECT_EQ(actual, 0);
    EXPECT_EQ(avail, 1);
    EXPECT_OK(zx_object_get_info(zx_process_self(), ZX_INFO_TASK_STATS, &s, sizeof(s), &actual,
                                 &avail));
    EXPECT_EQ(actual, 1);
    EXPECT_EQ(avail, 1);
    EXPECT_OPT_PTR_ERRORS(zx_object_get_info(zx_process_self(), ZX_INFO_TASK_STATS, (void *)bad,
                                             sizeof(s), NULL, NULL),
                          ut_ro_page);
}

UTEST_MAIN(NULL)
