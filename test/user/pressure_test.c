// Memory pressure from user mode (docs/memory-pressure.md): more than RAM of compressible data
// committed, checked and freed; zero pages turned into markers; the OOM kill of kill-on-OOM jobs,
// largest first; four CPUs faulting, writing and snapshotting under pressure. Run on a small
// machine (scripts/test: 64 MiB, 1 and 4 CPUs) so that pressure comes quickly; not part of the
// 512 MiB run of every *_test. Each test sizes itself from zx_system_get_physmem().
#include <stdio.h>
#include <zircon/syscalls.h>
#include <zircon/syscalls/object.h>

#include "test/user/utest.h"

#define P 4096ull
// Under pressure the zero scanner turns zero pages the harness holds (stack, data) into markers,
// and the next touch commits them again: that much growth of the VMO content between two points
// of a test, or around one (ut_leak_slack), is not a leak.
#define ZERO_PAGE_SLACK (16 * P)
#define FOREIGN_SLACK (32 * P)  // other programs' pages reclaim may take meanwhile

static uint64_t ram_bytes(void) {
    return zx_system_get_physmem();
}

// A page of data no compressor can shrink: xorshift64 from `seed`.
static void fill_random(uint64_t *w, uint64_t seed) {
    uint64_t x = seed * 0x9e3779b97f4a7c15ull | 1;
    for (size_t i = 0; i < P / 8; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        w[i] = x;
    }
}

static int64_t job_return_code(zx_handle_t job, bool *exited) {
    zx_info_job_t info = {0};
    zx_status_t st = zx_object_get_info(job, ZX_INFO_JOB, &info, sizeof(info), NULL, NULL);
    if (st != ZX_OK)
        EXPECT_FAILF("ZX_INFO_JOB failed: %d", st);
    *exited = info.exited;
    return info.return_code;
}

static zx_handle_t marked_job(void) {
    zx_handle_t job = ZX_HANDLE_INVALID;
    EXPECT_OK(zx_job_create(zx_job_default(), 0, &job));
    size_t one = 1;
    EXPECT_OK(zx_object_set_property(job, ZX_PROP_JOB_KILL_ON_OOM, &one, sizeof(one)));
    return job;
}

static zx_info_kmem_stats_compression_t compression_stats(void) {
    zx_info_kmem_stats_compression_t c;
    ut_get_info(zx_job_default(), ZX_INFO_KMEM_STATS_COMPRESSION, &c, sizeof(c));
    return c;
}

// A page that compresses well but is its own: 16-byte records of its number and a line number.
static void fill_text(uint64_t *w, uint64_t page) {
    for (size_t i = 0; i < P / 8; i += 2) {
        w[i] = page * 0x0101010101010101ull;
        w[i + 1] = 0x2020656e696c2020ull + (i & 0x1e);  // "  line  " with a small counter
    }
}

// A buffer that comes and goes with the test (a static one would stay committed after it: the
// harness's leak check).
static void *buffer_map(size_t len) {
    zx_handle_t vmo;
    if (zx_vmo_create(len, 0, &vmo) != ZX_OK)
        return NULL;
    uintptr_t addr = ut_map(vmo, 0, len, ZX_VM_PERM_READ | ZX_VM_PERM_WRITE);
    zx_handle_close(vmo);
    return (void *)addr;
}

#define BATCH 64  // pages per vmo_write / vmo_read

// Writes `pages` pages of fill_text from page `first` of `vmo` through vmo_write, BATCH at a
// time, through `buf` (BATCH pages); with `dont_need`, each written batch is hinted DONT_NEED
// (reclaimed before anything else).
static bool write_text(zx_handle_t vmo, uint64_t first, uint64_t pages, bool dont_need,
                       uint64_t *buf) {
    for (uint64_t p = 0; p < pages; p += BATCH) {
        uint64_t n = pages - p < BATCH ? pages - p : BATCH;
        for (uint64_t i = 0; i < n; i++)
            fill_text(buf + i * P / 8, first + p + i);
        zx_status_t st = zx_vmo_write(vmo, buf, (first + p) * P, n * P);
        if (st != ZX_OK) {
            EXPECT_FAILF("writing pages %llu+%llu: %d", (unsigned long long)(first + p),
                         (unsigned long long)n, st);
            return false;
        }
        if (dont_need)
            EXPECT_OK(zx_vmo_op_range(vmo, ZX_VMO_OP_DONT_NEED, (first + p) * P, n * P, NULL, 0));
    }
    return true;
}

// ---- Children ----

// Writes incompressible pages into an ever larger mapping until it is killed (then never returns).
static int child_hog(int argc, char **argv) {
    (void)argc;
    (void)argv;
    const uint64_t size = 4 * ram_bytes();
    zx_handle_t vmo;
    if (zx_vmo_create(size, 0, &vmo) != ZX_OK)
        return 1;
    uintptr_t base;
    if (zx_vmar_map(zx_vmar_root_self(), ZX_VM_PERM_READ | ZX_VM_PERM_WRITE, 0, vmo, 0, size,
                    &base) != ZX_OK)
        return 2;
    for (uint64_t off = 0; off < size; off += P)
        fill_random((uint64_t *)(base + off), off / P + 1);
    return 3;  // four times RAM of random data fitted: nothing was killed
}

// Holds a little memory and checks it every 10 ms until it is killed; 4 if it ever changed.
static int child_small(int argc, char **argv) {
    (void)argc;
    (void)argv;
    const uint64_t size = 64 * P;
    zx_handle_t vmo;
    uintptr_t base;
    if (zx_vmo_create(size, 0, &vmo) != ZX_OK ||
        zx_vmar_map(zx_vmar_root_self(), ZX_VM_PERM_READ | ZX_VM_PERM_WRITE, 0, vmo, 0, size,
                    &base) != ZX_OK)
        return 1;
    uint64_t *w = (uint64_t *)base;
    for (size_t i = 0; i < size / 8; i++)
        w[i] = i * 31 + 7;
    for (;;) {
        for (size_t i = 0; i < size / 8; i++) {
            if (w[i] != i * 31 + 7)
                return 4;
        }
        zx_nanosleep(ut_deadline_after(10000000));
    }
}

// ---- Tests ----

// 1.5 x RAM of compressible data fits: every byte reads back, the compressor's counters moved,
// and once it is freed the compressed storage and vmo_bytes are back where they started. The
// data is hinted DONT_NEED as it goes so that reclaim takes it, not other programs' pages.
TEST(one_and_a_half_ram_of_compressible_data) {
    uint64_t before = ut_vmo_bytes(), content_before = ut_vmo_content_bytes();
    uint64_t *got = buffer_map(BATCH * P), *want = buffer_map(P);
    REQUIRE_TRUE(got && want);
    zx_info_kmem_stats_compression_t c0 = compression_stats();
    const uint64_t pages = ram_bytes() / P * 3 / 2;
    zx_handle_t vmo;
    REQUIRE_OK(zx_vmo_create(pages * P, 0, &vmo));
    REQUIRE_TRUE(write_text(vmo, 0, pages, true, got));
    zx_info_kmem_stats_compression_t c1 = compression_stats();
    EXPECT_GT(c1.compressed_storage_bytes, c0.compressed_storage_bytes);
    // At least the half RAM that cannot be resident went through the compressor.
    EXPECT_GE(c1.total_page_compression_attempts - c0.total_page_compression_attempts,
              pages / 3);
    EXPECT_GE(c1.uncompressed_storage_bytes - c0.uncompressed_storage_bytes, pages / 3 * P);
    zx_info_vmo_t info = ut_vmo_info(vmo);
    EXPECT_LT(info.committed_bytes, ram_bytes());
    EXPECT_EQ(info.populated_bytes, pages * P);
    // Every byte, a batch at a time (decompressing as it goes).
    uint64_t bad = 0;
    for (uint64_t p = 0; p < pages; p += BATCH) {
        uint64_t n = pages - p < BATCH ? pages - p : BATCH;
        zx_status_t st = zx_vmo_read(vmo, got, p * P, n * P);
        if (st != ZX_OK) {
            EXPECT_FAILF("reading pages %llu+%llu: %d", (unsigned long long)p,
                         (unsigned long long)n, st);
            break;
        }
        for (uint64_t i = 0; i < n; i++) {
            fill_text(want, p + i);
            bad += memcmp(want, got + i * P / 8, P) != 0;
        }
        EXPECT_OK(zx_vmo_op_range(vmo, ZX_VMO_OP_DONT_NEED, p * P, n * P, NULL, 0));
    }
    EXPECT_EQ(bad, 0);
    zx_info_kmem_stats_compression_t c2 = compression_stats();
    EXPECT_GT(c2.total_page_decompressions, c1.total_page_decompressions);
    EXPECT_OK(zx_handle_close(vmo));
    zx_info_kmem_stats_compression_t c3 = compression_stats();
    ut_unmap((uintptr_t)got, BATCH * P);
    ut_unmap((uintptr_t)want, P);
    // Our pages are all gone from the storage. Reclaim may have taken a few pages of other
    // programs too when the DONT_NEED queue ran dry for a moment (FOREIGN_SLACK pages, against
    // the thousands this test stored): those stay compressed, and their content still counts.
    uint64_t foreign = c3.uncompressed_storage_bytes - c0.uncompressed_storage_bytes;
    if (foreign)
        printf("      %llu bytes of other programs' pages compressed meanwhile\n",
               (unsigned long long)foreign);
    EXPECT_LE(c3.uncompressed_storage_bytes, c0.uncompressed_storage_bytes + FOREIGN_SLACK);
    EXPECT_LE(c3.compressed_storage_bytes, c0.compressed_storage_bytes + FOREIGN_SLACK);
    EXPECT_EQ(c3.compressed_storage_bytes == c0.compressed_storage_bytes, foreign == 0);
    // vmo_bytes moves both ways by a few pages that are not ours: other programs' pages
    // reclaim took (down), and pages of theirs or of this harness that an earlier test left
    // compressed or as zero markers, faulted back in meanwhile (up). A leak of this test's
    // VMO would be thousands of pages.
    uint64_t after = ut_vmo_bytes(), content_after = ut_vmo_content_bytes();
    if (after != before || content_after != content_before)
        printf("      vmo_bytes %+lld, content bytes %+lld\n", (long long)(after - before),
               (long long)(content_after - content_before));
    EXPECT_LE(after, before + FOREIGN_SLACK);
    EXPECT_GE(after + FOREIGN_SLACK, before);
    EXPECT_LE(content_after, content_before + FOREIGN_SLACK);
    EXPECT_GE(content_after + FOREIGN_SLACK, content_before);
}

// Committed zero pages that age under pressure become zero markers: committed_bytes and
// populated_bytes fall (a compressed page would stay populated), and they still read as zeros.
TEST(zero_pages_become_markers_under_pressure) {
    const uint64_t zpages = 1024;
    uint64_t *buf = buffer_map(BATCH * P);
    REQUIRE_TRUE(buf);
    zx_handle_t zeros;
    REQUIRE_OK(zx_vmo_create(zpages * P, 0, &zeros));
    REQUIRE_OK(zx_vmo_op_range(zeros, ZX_VMO_OP_COMMIT, 0, zpages * P, NULL, 0));
    EXPECT_EQ(ut_committed(zeros), zpages * P);
    // Pressure: RAM's worth of compressible data, newer than the zeros, not hinted.
    const uint64_t pages = ram_bytes() / P;
    zx_handle_t data;
    REQUIRE_OK(zx_vmo_create(pages * P, 0, &data));
    EXPECT_TRUE(write_text(data, 0, pages, false, buf));
    zx_info_vmo_t info = ut_vmo_info(zeros);
    EXPECT_LT(info.committed_bytes, zpages * P / 2);
    EXPECT_LT(info.populated_bytes, zpages * P / 2);
    EXPECT_OK(zx_handle_close(data));
    uint64_t nonzero = 0;
    for (uint64_t p = 0; p < zpages; p += BATCH) {
        EXPECT_OK(zx_vmo_read(zeros, buf, p * P, BATCH * P));
        for (size_t i = 0; i < BATCH * P / 8; i++)
            nonzero += buf[i] != 0;
    }
    EXPECT_EQ(nonzero, 0);
    // Reading markers commits nothing.
    EXPECT_LE(ut_committed(zeros), info.committed_bytes);
    EXPECT_OK(zx_handle_close(zeros));
    ut_unmap((uintptr_t)buf, BATCH * P);
}

// Uses a few MiB and checks every byte: memory is back after an OOM.
static bool use_a_few_mib(void) {
    const uint64_t size = 1024 * P;
    zx_handle_t vmo;
    EXPECT_OK(zx_vmo_create(size, 0, &vmo));
    uintptr_t base = ut_map(vmo, 0, size, ZX_VM_PERM_READ | ZX_VM_PERM_WRITE);
    bool ok = base != 0;
    for (uint64_t off = 0; ok && off < size; off += P)
        fill_random((uint64_t *)(base + off), off);
    uint64_t *page = buffer_map(P);
    for (uint64_t off = 0; ok && page && off < size; off += P) {
        fill_random(page, off);
        ok = memcmp(page, (void *)(base + off), P) == 0;
    }
    ut_unmap((uintptr_t)page, P);
    if (base)
        EXPECT_OK(zx_vmar_unmap(zx_vmar_root_self(), base, size));
    zx_handle_close(vmo);
    return ok && page;
}

// A checker that an OOM spared is still running; memory is back, so this process can take and
// use a few MiB; then the checker is stopped and its handle closed.
static void spared_checker_goes_on_then_stop(zx_handle_t checker) {
    zx_signals_t seen = 0;
    EXPECT_STATUS(zx_object_wait_one(checker, ZX_PROCESS_TERMINATED, 0, &seen), ZX_ERR_TIMED_OUT);
    EXPECT_TRUE(use_a_few_mib());
    EXPECT_OK(zx_task_kill(checker));
    EXPECT_EQ(ut_wait_process(checker, 30), ZX_TASK_RETCODE_SYSCALL_KILL);
    zx_handle_close(checker);
}

// A kill-on-OOM job whose process allocates without bound dies with ZX_TASK_RETCODE_OOM_KILL; a
// smaller marked job and everything unmarked (this process) go on, and their memory is intact.
TEST(oom_kill_takes_the_largest_marked_job) {
    uint64_t before = ut_vmo_content_bytes();
    zx_handle_t small_job = marked_job();
    zx_handle_t small = ut_start_child_in(small_job, "small", NULL);
    zx_nanosleep(ut_deadline_after(200000000));  // let it commit its pages: it is the smaller
    zx_handle_t hog_job = marked_job();
    zx_handle_t hog = ut_start_child_in(hog_job, "hog", NULL);
    REQUIRE_TRUE(hog != ZX_HANDLE_INVALID && small != ZX_HANDLE_INVALID);
    EXPECT_EQ(ut_wait_process(hog, 240), ZX_TASK_RETCODE_OOM_KILL);
    bool exited = false;
    EXPECT_EQ(job_return_code(hog_job, &exited), ZX_TASK_RETCODE_OOM_KILL);
    EXPECT_TRUE(exited);
    EXPECT_OK(zx_object_wait_one(hog_job, ZX_TASK_TERMINATED, ut_deadline_after(1000000000), NULL));

    // The smaller marked job was spared: still running, its memory checked all along.
    EXPECT_FALSE(job_return_code(small_job, &exited) != 0 || exited);
    spared_checker_goes_on_then_stop(small);
    zx_handle_close(hog);
    zx_handle_close(hog_job);
    zx_handle_close(small_job);
    EXPECT_LE(ut_vmo_content_bytes(), before + ZERO_PAGE_SLACK);
}

// With no kill-on-OOM job, the process that allocates without bound (in a job of its own) fails
// to get a page, dies of its fault (ZX_TASK_RETCODE_EXCEPTION_KILL) and gives its memory back;
// the root job's processes (this one, a checker beside it, userboot) take their pages from a
// reserve the hog may not touch, so they go on with their memory intact and the machine stays
// up. Shown to fail with reclaim.critical_reserve=0 (scripts/test): the checker or this
// process faults for want of a page too.
TEST(oom_without_a_marked_job_fails_the_hog_alone) {
    uint64_t before = ut_vmo_content_bytes();
    zx_handle_t small = ut_start_child_in(zx_job_default(), "small", NULL);
    zx_nanosleep(ut_deadline_after(200000000));  // let it commit its pages
    zx_handle_t hog_job = ZX_HANDLE_INVALID;
    EXPECT_OK(zx_job_create(zx_job_default(), 0, &hog_job));
    zx_handle_t hog = ut_start_child_in(hog_job, "hog", NULL);
    REQUIRE_TRUE(hog != ZX_HANDLE_INVALID && small != ZX_HANDLE_INVALID);
    EXPECT_EQ(ut_wait_process(hog, 240), ZX_TASK_RETCODE_EXCEPTION_KILL);
    bool exited = true;
    EXPECT_EQ(job_return_code(hog_job, &exited), 0);  // nobody killed the job
    EXPECT_FALSE(exited);
    // The checker is still running, its memory checked all along.
    spared_checker_goes_on_then_stop(small);
    zx_handle_close(hog);
    zx_handle_close(hog_job);
    EXPECT_LE(ut_vmo_content_bytes(), before + ZERO_PAGE_SLACK);
}

// ---- Four CPUs under pressure ----

#define SHARED_PAGES 256
#define WRITERS 4
#define WORDS (P / 8)

static volatile uint64_t *shared;  // the shared VMO's mapping
static volatile int stop_all;
static uint64_t passes[WRITERS];   // passes completed by each writer
static volatile uint64_t writer_errors;

// Writer k writes pass n into word k of every page, page 0 first, and checks its own word of
// the page before (which it wrote last). Faults: pages compressed or copied-on-write meanwhile.
static void pass_writer(uintptr_t k, uintptr_t unused) {
    (void)unused;
    for (uint64_t n = 1; !__atomic_load_n(&stop_all, __ATOMIC_ACQUIRE); n++) {
        for (uint64_t p = 0; p < SHARED_PAGES; p++) {
            shared[p * WORDS + k] = n;
            if (p > 0 && shared[(p - 1) * WORDS + k] != n)
                __atomic_fetch_add(&writer_errors, 1, __ATOMIC_RELAXED);
        }
        __atomic_store_n(&passes[k], n, __ATOMIC_RELEASE);
    }
    zx_thread_exit();
}

static uint64_t *presser_buf;  // BATCH pages

// Keeps RAM under pressure: rewrites a RAM-sized VMO of compressible data until told to stop.
static void presser(uintptr_t vmo, uintptr_t pages) {
    for (uint64_t p = 0; !__atomic_load_n(&stop_all, __ATOMIC_ACQUIRE); p = (p + BATCH) % pages) {
        for (uint64_t i = 0; i < BATCH; i++)
            fill_text(presser_buf + i * P / 8, p + i);
        if (zx_vmo_write((zx_handle_t)vmo, presser_buf, p * P, BATCH * P) != ZX_OK)
            __atomic_fetch_add(&writer_errors, 1000000, __ATOMIC_RELAXED);
    }
    zx_thread_exit();
}

// True once the compressor has tried pages since *start.
static bool compressed_since(const zx_info_kmem_stats_compression_t *start) {
    return compression_stats().total_page_compression_attempts >
           start->total_page_compression_attempts;
}

static bool wait_for_passes(const uint64_t *want) {
    zx_time_t deadline = ut_deadline_after(60000000000ll);
    for (;;) {
        int done = 0;
        for (int k = 0; k < WRITERS; k++)
            done += __atomic_load_n(&passes[k], __ATOMIC_ACQUIRE) >= want[k];
        if (done == WRITERS)
            return true;
        if (zx_clock_get_monotonic() > deadline) {
            EXPECT_FAILF("the writers stopped making passes");
            return false;
        }
        zx_nanosleep(ut_deadline_after(2000000));
    }
}

// Four writers fault and write the same VMO while it is snapshotted again and again and another
// thread keeps RAM full of compressible data: every snapshot is one instant of each writer (its
// passes never increase from page 0 to the end and differ by at most one), stays frozen, and
// the VMO ends with every writer's last pass on every page.
TEST(four_cpus_fault_write_and_snapshot_under_pressure) {
    uint64_t before = ut_vmo_content_bytes();
    const size_t words = SHARED_PAGES * WORDS;
    uint64_t *first = buffer_map(words * 8), *again = buffer_map(words * 8);
    presser_buf = buffer_map(BATCH * P);
    REQUIRE_TRUE(first && again && presser_buf);
    zx_handle_t vmo, big;
    REQUIRE_OK(zx_vmo_create(SHARED_PAGES * P, 0, &vmo));
    const uint64_t big_pages = ram_bytes() / P / BATCH * BATCH;
    REQUIRE_OK(zx_vmo_create(big_pages * P, 0, &big));
    shared = (volatile uint64_t *)ut_map(vmo, 0, SHARED_PAGES * P,
                                         ZX_VM_PERM_READ | ZX_VM_PERM_WRITE);
    REQUIRE_TRUE(shared);
    stop_all = 0;
    writer_errors = 0;
    struct ut_thread t[WRITERS + 1];
    uint64_t want[WRITERS];
    for (int k = 0; k < WRITERS; k++) {
        passes[k] = 0;
        want[k] = 1;
        EXPECT_OK(ut_thread_spawn(&t[k], pass_writer, (uintptr_t)k, 0));
    }
    EXPECT_OK(ut_thread_spawn(&t[WRITERS], presser, big, big_pages));
    int not_a_cut = 0, changed = 0;
    zx_info_kmem_stats_compression_t c0 = compression_stats();
    // At least 12 rounds, and more until the presser has filled RAM and the compressor has run
    // (fast writers can finish 12 rounds first); the time limit makes a presser that never
    // brings pressure fail below instead of hanging.
    zx_time_t give_up = ut_deadline_after(60000000000ll);
    for (int round = 0; (round < 12 || (!compressed_since(&c0) &&
                                        zx_clock_get_monotonic() < give_up)) &&
                        wait_for_passes(want);
         round++) {
        zx_handle_t snap = ut_child(vmo, ZX_VMO_CHILD_SNAPSHOT, 0, SHARED_PAGES * P);
        EXPECT_OK(zx_vmo_read(snap, first, 0, words * 8));
        for (int k = 0; k < WRITERS; k++) {
            uint64_t top = first[k], bottom = first[(SHARED_PAGES - 1) * WORDS + k];
            bool cut = top >= bottom && top - bottom <= 1;
            for (uint64_t p = 1; p < SHARED_PAGES; p++)
                cut &= first[(p - 1) * WORDS + k] >= first[p * WORDS + k];
            not_a_cut += !cut;
            want[k] = __atomic_load_n(&passes[k], __ATOMIC_ACQUIRE) + 2;
        }
        if (!wait_for_passes(want))
            break;
        EXPECT_OK(zx_vmo_read(snap, again, 0, words * 8));
        changed += memcmp(first, again, words * 8) != 0;
        zx_handle_close(snap);
    }
    __atomic_store_n(&stop_all, 1, __ATOMIC_RELEASE);
    for (int k = 0; k <= WRITERS; k++)
        EXPECT_TRUE(ut_thread_join(&t[k], 60000));
    EXPECT_EQ(not_a_cut, 0);
    EXPECT_EQ(changed, 0);
    EXPECT_EQ(writer_errors, 0);
    // The pressure was real: pages went through the compressor meanwhile.
    EXPECT_TRUE(compressed_since(&c0));
    EXPECT_OK(zx_vmo_read(vmo, again, 0, words * 8));
    int lost = 0;
    for (uint64_t p = 0; p < SHARED_PAGES; p++)
        for (int k = 0; k < WRITERS; k++)
            lost += again[p * WORDS + k] != passes[k];
    EXPECT_EQ(lost, 0);
    ut_unmap((uintptr_t)shared, SHARED_PAGES * P);
    zx_handle_close(vmo);
    zx_handle_close(big);
    ut_unmap((uintptr_t)first, words * 8);
    ut_unmap((uintptr_t)again, words * 8);
    ut_unmap((uintptr_t)presser_buf, BATCH * P);
    EXPECT_LE(ut_vmo_content_bytes(), before + ZERO_PAGE_SLACK);
}

static const struct ut_child children[] = {
    {"hog", child_hog},
    {"small", child_small},
    {NULL, NULL},
};
int main(int argc, char **argv) {
    ut_leak_slack = ZERO_PAGE_SLACK;
    return utest_main(argc, argv, children);
}
