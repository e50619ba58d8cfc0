// Killing a process whose threads run on other CPUs, again and again: ZX_PROCESS_TERMINATED may
// be asserted only once every thread of it is gone (terminated, and no longer running anywhere),
// and once it is, everything the process held is free (ZX_INFO_KMEM_STATS.vmo_bytes back to where
// it was). A zx_thread_start racing the kill either starts a thread that the kill then ends, or
// fails with BAD_STATE. The processes are built by hand (utest.h's ut_proc_*), so this test holds
// a handle to each of their threads and shares a page with them.
#include <stdio.h>
#include <zircon/syscalls.h>

#include "test/user/utest.h"

#define MS ((zx_duration_t)1000000)
#define SPINNERS 4  // threads of the victim, started before the kill
#define LATE 6      // threads a helper of ours starts while the kill happens
#define KILL_ROUNDS 30

// The victim's code: forever `inc qword [rsi]` (rsi = arg2: its own counter in the shared page).
static void spinner_code(struct ut_code *c) {
    static const uint8_t loop[] = {0x48, 0xff, 0x06,  // inc qword [rsi]
                                   0xeb, 0xfb};       // jmp back to the inc
    ut_emit(c, loop, sizeof(loop));
}

struct victim {
    struct ut_proc p;
    zx_handle_t counters_vmo;
    volatile uint64_t *counters;  // our mapping of the shared page
    uintptr_t child_counters;     // the victim's
    zx_handle_t threads[SPINNERS + LATE];
    zx_status_t late_start[LATE];  // ZX_ERR_INTERNAL until the helper's call returned
};

static zx_status_t victim_create(struct victim *v) {
    struct ut_code code = {.len = 0};
    spinner_code(&code);
    zx_status_t st = ut_proc_create(&v->p, "spinner", &code);
    if (st == ZX_OK)
        st = zx_vmo_create(PAGE, 0, &v->counters_vmo);
    if (st == ZX_OK)
        st = zx_vmar_map(v->p.vmar, ZX_VM_PERM_READ | ZX_VM_PERM_WRITE, 0, v->counters_vmo, 0,
                         PAGE, &v->child_counters);
    uintptr_t ours = 0;
    if (st == ZX_OK)
        st = zx_vmar_map(zx_vmar_root_self(), ZX_VM_PERM_READ, 0, v->counters_vmo, 0, PAGE, &ours);
    v->counters = (volatile uint64_t *)ours;
    v->threads[0] = v->p.thread;
    v->p.thread = ZX_HANDLE_INVALID;  // ours now: ut_proc_close must not close it
    for (int i = 1; st == ZX_OK && i < SPINNERS + LATE; i++)
        st = zx_thread_create(v->p.proc, "spinner", 7, 0, &v->threads[i]);
    return st;
}

static zx_status_t victim_start_thread(struct victim *v, int i) {
    uintptr_t counter = v->child_counters + (uintptr_t)i * sizeof(uint64_t);
    // The code uses no stack: the top of the code page is a harmless user address for it.
    return zx_thread_start(v->threads[i], v->p.code_addr, v->p.code_addr + PAGE, 0, counter);
}

static void victim_close(struct victim *v) {
    if (v->counters)
        ut_unmap((uintptr_t)v->counters, PAGE);
    ut_proc_close(&v->p);
    for (int i = 0; i < SPINNERS + LATE; i++)
        zx_handle_close(v->threads[i]);
    zx_handle_close(v->counters_vmo);
}

// Waits until counter i of the victim moves (its thread runs); false after 20 s.
static bool wait_running(struct victim *v, int i) {
    zx_time_t deadline = ut_deadline_after(20000 * MS);
    while (v->counters[i] == 0) {
        if (zx_clock_get_monotonic() > deadline)
            return false;
        zx_nanosleep(ut_deadline_after(MS));
    }
    return true;
}

// The helper: starts the LATE threads one after another while the main thread kills.
static void late_starter(uintptr_t arg1, uintptr_t arg2) {
    (void)arg2;
    struct victim *v = (struct victim *)arg1;
    for (int i = 0; i < LATE; i++)
        __atomic_store_n(&v->late_start[i], victim_start_thread(v, SPINNERS + i),
                         __ATOMIC_RELEASE);
    zx_thread_exit();
}

// True if every thread whose start succeeded is terminated, and no counter moves any more.
static bool all_gone(struct victim *v, int *running) {
    *running = 0;
    for (int i = 0; i < SPINNERS + LATE; i++) {
        bool started = i < SPINNERS || v->late_start[i - SPINNERS] == ZX_OK;
        if (started && !ut_signaled(v->threads[i], ZX_THREAD_TERMINATED))
            ++*running;
    }
    // A thread still running on some CPU would go on counting.
    uint64_t before[SPINNERS + LATE], moved = 0;
    for (int i = 0; i < SPINNERS + LATE; i++)
        before[i] = v->counters[i];
    for (int n = 0; n < 3; n++)
        zx_nanosleep(ut_deadline_after(MS));
    for (int i = 0; i < SPINNERS + LATE; i++)
        moved += v->counters[i] != before[i];
    *running += (int)moved;
    return *running == 0;
}

TEST(kill_while_threads_run_on_other_cpus) {
    int not_gone = 0, bad_starts = 0, late_ok = 0, leaks = 0, rounds = 0;
    for (int round = 0; round < KILL_ROUNDS; round++) {
        uint64_t before = ut_vmo_bytes();
        static struct victim v;
        memset(&v, 0, sizeof(v));
        for (int i = 0; i < LATE; i++)
            v.late_start[i] = ZX_ERR_INTERNAL;
        if (!EXPECT_OK(victim_create(&v))) {
            victim_close(&v);
            break;
        }
        EXPECT_OK(zx_process_start(v.p.proc, v.threads[0], v.p.code_addr, v.p.code_addr + PAGE,
                                   ZX_HANDLE_INVALID, v.child_counters));
        for (int i = 1; i < SPINNERS; i++)
            EXPECT_OK(victim_start_thread(&v, i));
        bool running = true;
        for (int i = 0; i < SPINNERS; i++)
            running &= wait_running(&v, i);
        if (!EXPECT_TRUE(running)) {
            victim_close(&v);
            break;
        }
        // Half the rounds: a helper starts more threads while we kill, after the first
        // `head_start` of them (0 to LATE - 1, changing from round to round).
        struct ut_thread helper;
        bool with_helper = round & 1;
        int head_start = (round / 2) % LATE;
        if (with_helper) {
            EXPECT_OK(ut_thread_spawn(&helper, late_starter, (uintptr_t)&v, 0));
            zx_time_t deadline = ut_deadline_after(20000 * MS);
            while (head_start > 0 &&
                   __atomic_load_n(&v.late_start[head_start - 1], __ATOMIC_ACQUIRE) ==
                       ZX_ERR_INTERNAL &&
                   zx_clock_get_monotonic() < deadline) {
            }
        }
        EXPECT_FALSE(ut_signaled(v.p.proc, ZX_PROCESS_TERMINATED));
        EXPECT_OK(zx_task_kill(v.p.proc));
        EXPECT_OK(zx_object_wait_one(v.p.proc, ZX_PROCESS_TERMINATED,
                                     ut_deadline_after(20000 * MS), NULL));
        if (with_helper) {
            EXPECT_TRUE(ut_thread_join(&helper, 20000));
            // Every start either worked (the kill then ended that thread) or came too late.
            for (int i = 0; i < LATE; i++) {
                bad_starts += v.late_start[i] != ZX_OK && v.late_start[i] != ZX_ERR_BAD_STATE;
                late_ok += v.late_start[i] == ZX_OK;
            }
        }
        int left;
        if (!all_gone(&v, &left) && not_gone++ == 0)
            printf("      round %d: %d thread(s) not gone after ZX_PROCESS_TERMINATED\n", round,
                   left);
        // Now that it is dead, a start can only fail (started or not before).
        EXPECT_STATUS(victim_start_thread(&v, SPINNERS + LATE - 1), ZX_ERR_BAD_STATE);
        zx_info_process_t info;
        ut_get_info(v.p.proc, ZX_INFO_PROCESS, &info, sizeof(info));
        EXPECT_EQ(info.return_code, ZX_TASK_RETCODE_SYSCALL_KILL);
        victim_close(&v);
        leaks += ut_vmo_bytes() != before;
        rounds++;
    }
    printf("    %d rounds; %d of the racing thread starts succeeded\n", rounds, late_ok);
    EXPECT_EQ(rounds, KILL_ROUNDS);
    EXPECT_EQ(not_gone, 0);
    EXPECT_EQ(bad_starts, 0);
    EXPECT_EQ(leaks, 0);
}

static const struct ut_child children[] = {{NULL, NULL}};
UTEST_MAIN(children)
