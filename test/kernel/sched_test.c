// The scheduler on many CPUs: busy threads spread over every CPU, wake-ups across CPUs, create /
// start / exit storms that leak nothing, a mutex handed back and forth between CPUs, and
// interrupting a thread that runs on another CPU. Every test also passes on one CPU (the cross-CPU
// parts then check what one CPU can show).
#include "arch/x86_64/cpu.h"
#include "arch/x86_64/smp.h"
#include "kernel/ktest.h"
#include "kernel/mutex.h"
#include "kernel/thread.h"

#define MS (1000ll * 1000)
#define MAX_TEST_CPUS 8

static uint32_t test_cpus(void) {
    uint32_t n = sched_cpus_online();
    return n < MAX_TEST_CPUS ? n : MAX_TEST_CPUS;
}

// The CPU the caller runs on now (may change right after: a sample).
static uint32_t cpu_now(void) {
    uint64_t f = irq_save();
    uint32_t c = smp_cpu_num();
    irq_restore(f);
    return c;
}

static uint64_t bits_set(uint64_t m) {
    uint64_t n = 0;
    for (; m; m &= m - 1)
        n++;
    return n;
}

// --- N busy threads use N CPUs ---

struct spinner {
    volatile uint64_t count;
    volatile uint64_t cpus_seen;  // bit per CPU it ran on
    volatile int32_t cpu_at_mark;  // where it ran just after `mark`, -1 before
};

static struct spinner spinners[MAX_TEST_CPUS];
static volatile bool spin_stop;
static volatile zx_time_t spin_mark;

static int spin_body(void *arg) {
    struct spinner *s = arg;
    while (!spin_stop) {
        uint32_t c = cpu_now();
        s->count++;
        s->cpus_seen |= 1ull << c;
        if (s->cpu_at_mark < 0 && current_time() >= spin_mark)
            s->cpu_at_mark = (int32_t)c;
    }
    return 0;
}

KTEST(sched, busy_threads_run_on_distinct_cpus) {
    uint32_t n = test_cpus();
    struct thread *t[MAX_TEST_CPUS];
    spin_stop = false;
    spin_mark = current_time() + 100 * MS;  // time for the threads to spread out
    for (uint32_t i = 0; i < n; i++) {
        spinners[i] = (struct spinner){0, 0, -1};
        t[i] = thread_create("busy", spin_body, &spinners[i]);
        REQUIRE_TRUE(t[i] != NULL);
    }
    for (uint32_t i = 0; i < n; i++)
        thread_start(t[i]);
    thread_sleep_until(spin_mark + 50 * MS);
    uint64_t before[MAX_TEST_CPUS];
    for (uint32_t i = 0; i < n; i++)
        before[i] = spinners[i].count;
    // Every one must make progress; on a loaded host a virtual CPU may not run for a while, so
    // wait (up to 5 s) until each has, rather than a fixed time.
    zx_time_t give_up = current_time() + 5000 * MS;
    for (bool all = false; !all && current_time() < give_up;) {
        thread_sleep_until(current_time() + 10 * MS);
        all = true;
        for (uint32_t i = 0; i < n; i++)
            all = all && spinners[i].count > before[i];
    }
    spin_stop = true;
    uint64_t at_mark = 0;
    for (uint32_t i = 0; i < n; i++) {
        EXPECT_OK(thread_join(t[i], NULL, ZX_TIME_INFINITE));
        thread_release(t[i]);
        EXPECT_GT(spinners[i].count, before[i]);  // every one still makes progress
        EXPECT_SGE(spinners[i].cpu_at_mark, 0);
        if (spinners[i].cpu_at_mark >= 0)
            at_mark |= 1ull << spinners[i].cpu_at_mark;
    }
    // With n CPUs and n busy threads (this thread asleep), each ran on its own CPU at the mark.
    EXPECT_EQ(bits_set(at_mark), n);
}

// --- Wake-ups across CPUs ---

static struct wait_queue xwq;
static volatile int32_t woke_on;

static int block_then_report(void *arg) {
    (void)arg;
    uint64_t s = sched_lock_irqsave();
    zx_status_t st = wait_queue_block_locked(&xwq, ZX_TIME_INFINITE);
    sched_unlock_irqrestore(s);
    woke_on = (int32_t)cpu_now();
    return st;
}

// A thread pinned to the last CPU blocks; this thread (on the boot CPU) wakes it: it must run
// again on its CPU, which was idle and so got a reschedule IPI.
KTEST(sched, wakeup_reaches_a_thread_pinned_elsewhere) {
    uint32_t n = sched_cpus_online();
    uint32_t target = n - 1;
    wait_queue_init(&xwq);
    woke_on = -1;
    struct thread *t = thread_create("pinned", block_then_report, NULL);
    REQUIRE_TRUE(t != NULL);
    thread_set_affinity(t, 1ull << target);
    thread_start(t);
    // Wait until it is blocked.
    for (;;) {
        uint64_t s = sched_lock_irqsave();
        bool blocked = !list_is_empty(&xwq.waiters);
        sched_unlock_irqrestore(s);
        if (blocked)
            break;
        thread_sleep_until(current_time() + MS);
    }
    struct sched_cpu_stats st0, st1;
    sched_get_cpu_stats(target, &st0);
    thread_sleep_until(current_time() + 5 * MS);  // let its CPU go idle
    uint64_t s = sched_lock_irqsave();
    EXPECT_EQ(wait_queue_wake_all_locked(&xwq, ZX_OK), 1);
    sched_unlock_irqrestore(s);
    int code = -1;
    EXPECT_OK(thread_join(t, &code, current_time() + 2000 * MS));
    EXPECT_EQ(code, ZX_OK);
    EXPECT_EQ(woke_on, (int32_t)target);
    sched_get_cpu_stats(target, &st1);
    if (target != cpu_now())
        EXPECT_GT(st1.ipis_sent, st0.ipis_sent);
    thread_release(t);
}

static volatile int32_t ran_on;

static int report_cpu(void *arg) {
    (void)arg;
    ran_on = (int32_t)cpu_now();
    return 0;
}

// While this thread keeps its CPU busy, a thread it starts goes to an idle CPU (if there is one).
KTEST(sched, new_thread_goes_to_an_idle_cpu) {
    ran_on = -1;
    struct thread *t = thread_create("placed", report_cpu, NULL);
    REQUIRE_TRUE(t != NULL);
    thread_sleep_until(current_time() + 50 * MS);  // let the other CPUs go idle
    uint64_t f = irq_save();  // stay on this CPU and busy until it has started
    uint32_t me = smp_cpu_num();
    thread_start(t);
    irq_restore(f);
    EXPECT_OK(thread_join(t, NULL, current_time() + 2000 * MS));
    if (sched_cpus_online() > 1)
        EXPECT_NE(ran_on, (int32_t)me);
    else
        EXPECT_EQ(ran_on, (int32_t)me);
    thread_release(t);
}

// --- Create / start / exit storms ---

static int return_arg(void *arg) {
    return (int)(uintptr_t)arg;
}

static volatile int storm_errors;

static int storm_creator(void *arg) {
    int rounds = (int)(uintptr_t)arg;
    for (int r = 0; r < rounds; r++) {
        struct thread *ts[8];
        for (int i = 0; i < 8; i++) {
            ts[i] = thread_create("storm", return_arg, (void *)(uintptr_t)(r * 8 + i));
            if (!ts[i])
                return -1;
            thread_start(ts[i]);
        }
        for (int i = 0; i < 8; i++) {
            int code = -1;
            if (thread_join(ts[i], &code, ZX_TIME_INFINITE) != ZX_OK || code != r * 8 + i)
                __atomic_add_fetch(&storm_errors, 1, __ATOMIC_RELAXED);
            // Half the time release before the thread could be reaped by racing with its exit.
            thread_release(ts[i]);
        }
    }
    return 0;
}

KTEST(sched, create_start_exit_storm_leaks_nothing) {
    size_t live0 = thread_count();
    uint32_t n = test_cpus() < 2 ? 2 : test_cpus();
    storm_errors = 0;
    struct thread *c[MAX_TEST_CPUS];
    for (uint32_t i = 0; i < n; i++) {
        c[i] = thread_create("creator", storm_creator, (void *)(uintptr_t)20);
        REQUIRE_TRUE(c[i] != NULL);
        thread_start(c[i]);
    }
    for (uint32_t i = 0; i < n; i++) {
        int code = -1;
        EXPECT_OK(thread_join(c[i], &code, ZX_TIME_INFINITE));
        EXPECT_EQ(code, 0);
        thread_release(c[i]);
    }
    EXPECT_EQ(storm_errors, 0);
    EXPECT_EQ(thread_count(), live0);  // joined means reaped: nothing left to free
}

static int exit_at_once(void *arg) {
    (void)arg;
    return 7;
}

// Dropping the last reference while the thread may still be exiting (no join): the reaper frees
// it once its stack is no longer in use.
KTEST(sched, release_before_exit_frees_after_reaping) {
    size_t live0 = thread_count();
    for (int i = 0; i < 64; i++) {
        struct thread *t = thread_create("fire", exit_at_once, NULL);
        REQUIRE_TRUE(t != NULL);
        thread_start(t);
        thread_release(t);
    }
    zx_time_t give_up = current_time() + 2000 * MS;
    while (thread_count() != live0 && current_time() < give_up)
        thread_sleep_until(current_time() + MS);
    EXPECT_EQ(thread_count(), live0);
}

// --- A mutex between CPUs ---

static struct mutex pp_mutex;
static volatile uint64_t pp_counter;
static volatile uint64_t pp_cpus;

static int ping_pong(void *arg) {
    int rounds = (int)(uintptr_t)arg;
    for (int i = 0; i < rounds; i++) {
        mutex_acquire(&pp_mutex);
        // A non-atomic read-modify-write with a gap: only mutual exclusion keeps it exact.
        uint64_t v = pp_counter;
        for (int k = 0; k < 20; k++)
            cpu_pause();
        pp_counter = v + 1;
        __atomic_or_fetch(&pp_cpus, 1ull << cpu_now(), __ATOMIC_RELAXED);
        mutex_release(&pp_mutex);
        if (i % 64 == 0)
            thread_yield();
    }
    return 0;
}

KTEST(sched, mutex_ping_pong_across_cpus) {
    mutex_init(&pp_mutex, "pingpong");
    pp_counter = 0;
    pp_cpus = 0;
    uint32_t n = test_cpus() < 2 ? 2 : test_cpus();
    const int rounds = 1000;
    struct thread *t[MAX_TEST_CPUS];
    for (uint32_t i = 0; i < n; i++) {
        t[i] = thread_create("pingpong", ping_pong, (void *)(uintptr_t)rounds);
        REQUIRE_TRUE(t[i] != NULL);
        if (sched_cpus_online() > 1)
            thread_set_affinity(t[i], 1ull << (i % sched_cpus_online()));
        thread_start(t[i]);
    }
    for (uint32_t i = 0; i < n; i++) {
        EXPECT_OK(thread_join(t[i], NULL, ZX_TIME_INFINITE));
        thread_release(t[i]);
    }
    EXPECT_EQ(pp_counter, (uint64_t)n * rounds);
    EXPECT_FALSE(mutex_held(&pp_mutex));
    if (sched_cpus_online() > 1)
        EXPECT_GT(bits_set(pp_cpus), 1);
}

// --- Interrupting a thread that runs on another CPU ---

static volatile bool spin_forever_started;

// Spins without blocking until interrupted (it polls the sticky flag, as a user thread notices a
// kill at its next kernel exit).
static int spin_until_interrupted(void *arg) {
    (void)arg;
    struct thread *self = thread_current();
    spin_forever_started = true;
    while (!__atomic_load_n(&self->interrupted, __ATOMIC_ACQUIRE))
        cpu_pause();
    return (int)cpu_now();
}

KTEST(sched, interrupt_reaches_a_running_thread_on_another_cpu) {
    uint32_t n = sched_cpus_online();
    uint32_t target = n - 1;
    spin_forever_started = false;
    struct thread *t = thread_create("spinner", spin_until_interrupted, NULL);
    REQUIRE_TRUE(t != NULL);
    thread_set_affinity(t, 1ull << target);
    thread_start(t);
    while (!spin_forever_started)
        thread_sleep_until(current_time() + MS);
    struct sched_cpu_stats st0, st1;
    sched_get_cpu_stats(target, &st0);
    thread_interrupt(t);
    int code = -1;
    EXPECT_OK(thread_join(t, &code, current_time() + 2000 * MS));
    EXPECT_EQ(code, (int)target);
    sched_get_cpu_stats(target, &st1);
    if (n > 1)
        EXPECT_GT(st1.ipis_sent, st0.ipis_sent);  // it was running there: it got an IPI
    thread_release(t);
}
