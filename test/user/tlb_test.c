// TLB shootdowns seen from user mode: threads of one process on other CPUs must never use a
// translation after the call that removed or downgraded it has returned. On one CPU these tests
// pass trivially; scripts/test runs them on 4 CPUs, and once more with the kernel's test-only
// switch tlb_shootdown=off, where they must fail (so they can fail).
#include <stdio.h>
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

// ---- Unmap and protect while other CPUs use the range ----
//
// WORKERS threads hammer a window of WPAGES pages in rounds driven by the main thread through
// `phase`: USABLE(r) = "round r: the window is mapped read-write", REVOKED(r) = "round r: the
// window was unmapped (or made read-only) and the call has returned"; in SETUP(r) and REVOKING(r)
// calls are in flight and nothing is checked. A worker reads `phase` before and after each
// access; an access that saw REVOKED both times started after the call returned and must fail;
// one that saw USABLE both times must succeed.
// Without exception channels a fault kills the whole process, so the accesses that may be
// refused go through the kernel's user copy (zx_vmo_get_size writes 8 bytes to the window,
// zx_object_set_property(ZX_PROP_NAME) reads 8 from it): those copies use the CPU's TLB like any
// user access, and return NOT_FOUND / ACCESS_DENIED instead of faulting. In the protect test the
// reads are plain loads (the window stays readable).

#define WORKERS 3
#define WPAGES 4
#define AFTER_ACCESSES 3  // accesses each worker makes after the call returned, per round
// Accesses a worker makes per phase (then it waits for the next one): calls are what makes
// these rounds slow (see worker()).
static uint64_t phase_quota(uint64_t ph) {
    static const uint64_t quota[4] = {0, 4, 2, AFTER_ACCESSES};  // setup, usable, revoking, revoked
    return quota[ph % 4];
}
#define WORDS (PAGE / sizeof(uint64_t))

static volatile uint64_t phase;  // UINT64_MAX: stop
static volatile uint64_t acks[WORKERS];  // phase << 20 | accesses that started in that phase
#define SETUP(r) (4 * (r))
#define USABLE(r) (4 * (r) + 1)
#define REVOKING(r) (4 * (r) + 2)
#define REVOKED(r) (4 * (r) + 3)
static volatile uint64_t late_ok[WORKERS];  // accesses that read REVOKED and succeeded
static volatile uint64_t bad_values[WORKERS];  // values no one wrote
static volatile uint64_t refused_early[WORKERS];  // refused while the window was usable
static volatile uintptr_t race_window;
static volatile bool direct_reads;  // protect test: reads are plain loads (they never fault)
static zx_handle_t size_vmos[WORKERS][2];  // their sizes are what worker k writes
static zx_handle_t sinks[WORKERS];  // their names are what worker k reads into

static uint64_t worker_size(int k, int which) {
    return (uint64_t)(2 * k + which + 1) * PAGE;
}

// The word of page p that worker k uses holds this until a worker writes it.
static uint64_t window_word(uint64_t round, uint64_t p, uint64_t k) {
    return 0xa000000000000000ull | round << 24 | p << 8 | k;
}

// A value worker k may load from its word in the protect test: the fill or one of its sizes.
static bool legit(uint64_t v, uint64_t p, int k) {
    return v == window_word(0, p, (uint64_t)k) || v == worker_size(k, 0) ||
           v == worker_size(k, 1);
}

static void worker(uintptr_t k, uintptr_t arg2) {
    (void)arg2;
    bool one_cpu_each = zx_system_get_num_cpus() > WORKERS;
    uint64_t my_phase = UINT64_MAX - 1, n = 0;
    for (uint64_t i = 0;;) {
        uint64_t ph = __atomic_load_n(&phase, __ATOMIC_ACQUIRE);
        if (ph == UINT64_MAX)
            break;
        if (ph != my_phase) {
            my_phase = ph;
            n = 0;
        }
        if (n >= phase_quota(ph)) {
            // Done with this phase: wait for the next one in user mode. Every call takes the
            // scheduler lock (handle look-ups), and calls back to back from three CPUs queue on
            // it behind vCPUs the host has descheduled: under TCG the main thread's calls then
            // crawl. On one CPU the main thread needs the CPU; with several, a worker never
            // sleeps: its CPU would switch to the idle thread and flush the translations the
            // test is about.
            if (!one_cpu_each)
                zx_nanosleep(ut_deadline_after(MS));
            continue;
        }
        uint64_t p = (i / 2 + k) % WPAGES;
        uintptr_t word = race_window + p * PAGE + k * sizeof(uint64_t);
        zx_status_t st;
        uint64_t v = 0;
        if (i & 1) {
            st = zx_vmo_get_size(size_vmos[k][(i / 2) & 1], (uint64_t *)word);
        } else if (direct_reads) {
            v = *(volatile uint64_t *)word;
            st = ZX_OK;
        } else {
            // The kernel reads 8 bytes from the word into a name on its stack. (No call here
            // allocates memory: with tlb_shootdown=off a late write must land in the reused
            // frames, not in a kernel allocation that took them.)
            st = zx_object_set_property(sinks[k], ZX_PROP_NAME, (const void *)word, sizeof(v));
        }
        bool same = __atomic_load_n(&phase, __ATOMIC_ACQUIRE) == ph;
        if (st == ZX_OK && ph % 4 == 3 && same && ((i & 1) || !direct_reads))
            late_ok[k]++;
        else if (st == ZX_OK && !(i & 1) && direct_reads && !legit(v, p, (int)k))
            bad_values[k]++;
        else if (st != ZX_OK && ph % 4 == 1 && same)
            refused_early[k]++;
        i++;
        n++;
        __atomic_store_n(&acks[k], ph << 20 | n, __ATOMIC_RELEASE);
    }
    zx_thread_exit();
}

// Waits until every worker has made `count` accesses that started in phase `ph`.
static bool wait_workers(uint64_t ph, uint64_t count) {
    zx_time_t deadline = ut_deadline_after(20000 * MS);
    for (int spins = 0;; spins++) {
        int ready = 0;
        for (int k = 0; k < WORKERS; k++) {
            uint64_t a = __atomic_load_n(&acks[k], __ATOMIC_ACQUIRE);
            ready += (a >> 20) == ph && (a & 0xfffff) >= count;
        }
        if (ready == WORKERS)
            return true;
        if (spins > 200) {
            if (zx_clock_get_monotonic() > deadline) {
                EXPECT_FAILF("workers did not make %llu accesses in phase %llu",
                             (unsigned long long)count, (unsigned long long)ph);
                return false;
            }
            zx_nanosleep(ut_deadline_after(MS));
        }
    }
}

static void set_phase(uint64_t ph) {
    __atomic_store_n(&phase, ph, __ATOMIC_RELEASE);
}

static void start_workers(struct ut_thread *t, bool reads_are_loads) {
    direct_reads = reads_are_loads;
    for (int k = 0; k < WORKERS; k++) {
        acks[k] = late_ok[k] = bad_values[k] = refused_early[k] = 0;
        EXPECT_OK(zx_vmo_create(worker_size(k, 0), 0, &size_vmos[k][0]));
        EXPECT_OK(zx_vmo_create(worker_size(k, 1), 0, &size_vmos[k][1]));
        EXPECT_OK(zx_vmo_create(PAGE, 0, &sinks[k]));
    }
    for (int k = 0; k < WORKERS; k++)
        EXPECT_OK(ut_thread_spawn(&t[k], worker, (uintptr_t)k, 0));
}

static void stop_workers(struct ut_thread *t) {
    set_phase(UINT64_MAX);
    for (int k = 0; k < WORKERS; k++) {
        EXPECT_TRUE(ut_thread_join(&t[k], 20000));
        zx_handle_close(size_vmos[k][0]);
        zx_handle_close(size_vmos[k][1]);
        zx_handle_close(sinks[k]);
    }
    uint64_t late = 0, bad = 0, early = 0;
    for (int k = 0; k < WORKERS; k++) {
        late += late_ok[k];
        bad += bad_values[k];
        early += refused_early[k];
    }
    if (!EXPECT_EQ(late, 0))
        printf("      (accesses that started after the call returned and still succeeded)\n");
    EXPECT_EQ(bad, 0);
    EXPECT_EQ(early, 0);
}

// A VMO of `pages` pages (at most UT_SCRATCH_SIZE) whose word w of page p holds f(round, p, w).
static zx_handle_t filled_vmo(uint64_t pages, uint64_t round,
                              uint64_t (*f)(uint64_t, uint64_t, uint64_t)) {
    zx_handle_t vmo = ut_vmo(pages * PAGE, -1);
    uint64_t *buf = (uint64_t *)ut_scratch;
    for (uint64_t p = 0; p < pages; p++)
        for (uint64_t w = 0; w < WORDS; w++)
            buf[p * WORDS + w] = f(round, p, w);
    EXPECT_OK(zx_vmo_write(vmo, buf, 0, pages * PAGE));
    return vmo;
}

#define PROTECT_ROUNDS 40

// Once zx_vmar_protect (to read-only) returns, every write that starts later is refused and the
// pages do not change any more; plain loads on the other CPUs go on working throughout.
TEST(write_protected_range_takes_no_more_writes) {
    zx_handle_t vmar;
    uintptr_t base;
    REQUIRE_OK(zx_vmar_allocate(zx_vmar_root_self(),
                                ZX_VM_CAN_MAP_READ | ZX_VM_CAN_MAP_WRITE | ZX_VM_CAN_MAP_SPECIFIC,
                                0, WPAGES * PAGE, &vmar, &base));
    race_window = base;
    zx_handle_t vmo = filled_vmo(WPAGES, 0, window_word);
    uintptr_t addr;
    REQUIRE_OK(zx_vmar_map(vmar, ZX_VM_PERM_READ | ZX_VM_SPECIFIC, 0, vmo, 0, WPAGES * PAGE,
                           &addr));
    set_phase(SETUP(0));
    struct ut_thread t[WORKERS];
    start_workers(t, true);
    uint64_t changed = 0;
    static uint64_t at_return[WPAGES * WORDS];
    for (uint64_t r = 1; r <= PROTECT_ROUNDS; r++) {
        set_phase(SETUP(r));
        EXPECT_OK(zx_vmar_protect(vmar, ZX_VM_PERM_READ | ZX_VM_PERM_WRITE, base, WPAGES * PAGE));
        set_phase(USABLE(r));
        if (!wait_workers(USABLE(r), 2))
            break;
        set_phase(REVOKING(r));
        EXPECT_OK(zx_vmar_protect(vmar, ZX_VM_PERM_READ, base, WPAGES * PAGE));
        set_phase(REVOKED(r));
        EXPECT_OK(zx_vmo_read(vmo, at_return, 0, sizeof(at_return)));
        if (!wait_workers(REVOKED(r), AFTER_ACCESSES))
            break;
        uint64_t *now = (uint64_t *)ut_scratch;
        EXPECT_OK(zx_vmo_read(vmo, now, 0, sizeof(at_return)));
        for (uint64_t w = 0; w < WPAGES * WORDS; w++)
            changed += now[w] != at_return[w];
    }
    stop_workers(t);
    EXPECT_EQ(changed, 0);
    zx_vmar_destroy(vmar);
    zx_handle_close(vmar);
    zx_handle_close(vmo);
}

#define UNMAP_ROUNDS 40

// Once zx_vmar_unmap returns, no CPU may reach the old pages: every access that starts later
// fails, and the frames, freed (the VMO is closed) and committed at once to a new VMO (zeros: no
// worker writes a zero), never see a write from a worker: a stale writable TLB entry would put
// one there. Each round uses new addresses, so that with tlb_shootdown=off a stale entry of an
// earlier round is never used again (its frame may belong to the kernel by then); for the same
// reason this test comes last.
TEST(unmapped_range_is_reachable_from_no_cpu) {
    zx_handle_t vmar;
    uintptr_t base;
    REQUIRE_OK(zx_vmar_allocate(zx_vmar_root_self(),
                                ZX_VM_CAN_MAP_READ | ZX_VM_CAN_MAP_WRITE | ZX_VM_CAN_MAP_SPECIFIC,
                                0, UNMAP_ROUNDS * WPAGES * PAGE, &vmar, &base));
    set_phase(SETUP(0));
    struct ut_thread t[WORKERS];
    start_workers(t, false);
    uint64_t corrupted = 0;
    for (uint64_t r = 1; r <= UNMAP_ROUNDS; r++) {
        set_phase(SETUP(r));
        uint64_t offset = (r - 1) * WPAGES * PAGE;
        race_window = base + offset;
        zx_handle_t vmo = filled_vmo(WPAGES, r, window_word);
        uintptr_t addr;
        EXPECT_OK(zx_vmar_map(vmar, ZX_VM_PERM_READ | ZX_VM_PERM_WRITE | ZX_VM_SPECIFIC, offset,
                              vmo, 0, WPAGES * PAGE, &addr));
        zx_handle_close(vmo);  // the mapping holds the only reference
        set_phase(USABLE(r));
        if (!wait_workers(USABLE(r), 2))
            break;
        set_phase(REVOKING(r));
        EXPECT_OK(zx_vmar_unmap(vmar, race_window, WPAGES * PAGE));  // frees the pages
        set_phase(REVOKED(r));
        // The freed frames are at the head of the pmm's free list: likely the ones this takes.
        zx_handle_t reuse = ut_vmo(WPAGES * PAGE, -1);
        EXPECT_OK(zx_vmo_op_range(reuse, ZX_VMO_OP_COMMIT, 0, WPAGES * PAGE, NULL, 0));
        if (!wait_workers(REVOKED(r), AFTER_ACCESSES))
            break;
        uint64_t *buf = (uint64_t *)ut_scratch;
        EXPECT_OK(zx_vmo_read(reuse, buf, 0, WPAGES * PAGE));
        for (uint64_t w = 0; w < WPAGES * WORDS; w++)
            corrupted += buf[w] != 0;
        zx_handle_close(reuse);
    }
    stop_workers(t);
    EXPECT_EQ(corrupted, 0);
    zx_vmar_destroy(vmar);
    zx_handle_close(vmar);
}

static const struct ut_child children[] = {{NULL, NULL}};
UTEST_MAIN(children)
