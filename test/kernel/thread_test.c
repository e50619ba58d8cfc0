// Threads and the scheduler: start/join, yield, preemption, sleep, wait queues with deadlines,
// and that dead threads give back their stacks.
#include "kernel/ktest.h"
#include "kernel/mutex.h"
#include "kernel/thread.h"

static int return_arg(void *arg) {
    return (int)(uintptr_t)arg;
}

KTEST(thread, create_join_exit_code) {
    size_t live0 = thread_count();
    struct thread *t = thread_create("ret", return_arg, (void *)(uintptr_t)42);
    REQUIRE_TRUE(t != NULL);
    EXPECT_EQ(thread_count(), live0 + 1);
    thread_start(t);
    int code = -1;
    EXPECT_OK(thread_join(t, &code, ZX_TIME_INFINITE));
    EXPECT_EQ(code, 42);
    thread_release(t);
    thread_yield();  // let the reaper run
    EXPECT_EQ(thread_count(), live0);
}

KTEST(thread, never_started_thread_is_freed) {
    size_t live0 = thread_count();
    struct thread *t = thread_create("unstarted", return_arg, NULL);
    REQUIRE_TRUE(t != NULL);
    thread_release(t);
    EXPECT_EQ(thread_count(), live0);
}

static volatile uint64_t spin_counts[2];
static volatile bool spin_stop;

static int spinner(void *arg) {
    int idx = (int)(uintptr_t)arg;
    while (!spin_stop)
        spin_counts[idx]++;  // never yields: only preemption lets others run
    return 0;
}

KTEST(thread, preemption_shares_the_cpu) {
    spin_counts[0] = spin_counts[1] = 0;
    spin_stop = false;
    struct thread *a = thread_create("spin0", spinner, (void *)0);
    struct thread *b = thread_create("spin1", spinner, (void *)1);
    REQUIRE_TRUE(a && b);
    thread_start(a);
    thread_start(b);
    thread_sleep_until(current_time() + 60 * 1000 * 1000);  // 60 ms: several quanta
    spin_stop = true;
    EXPECT_OK(thread_join(a, NULL, ZX_TIME_INFINITE));
    EXPECT_OK(thread_join(b, NULL, ZX_TIME_INFINITE));
    EXPECT_GT(spin_counts[0], 0);
    EXPECT_GT(spin_counts[1], 0);
    thread_release(a);
    thread_release(b);
}

KTEST(thread, sleep_waits_at_least_the_deadline) {
    zx_time_t t0 = current_time();
    thread_sleep_until(t0 + 5 * 1000 * 1000);
    EXPECT_GE(current_time(), t0 + 5 * 1000 * 1000);
}

static struct wait_queue test_wq;
static volatile int woken;

// Sleeps in short steps until n threads are blocked on wq: a started thread may take a while to
// reach its wait on a loaded machine, and a wake that comes first would leave it blocked for ever.
static void await_waiters(struct wait_queue *wq, size_t n) {
    for (;;) {
        uint64_t s = sched_lock_irqsave();
        size_t have = wait_queue_length_locked(wq);
        sched_unlock_irqrestore(s);
        if (have >= n)
            return;
        thread_sleep_until(current_time() + 100 * 1000);
    }
}

static int waiter(void *arg) {
    (void)arg;
    uint64_t s = sched_lock_irqsave();
    zx_status_t st = wait_queue_block_locked(&test_wq, ZX_TIME_INFINITE);
    sched_unlock_irqrestore(s);
    woken++;
    return st;
}

KTEST(thread, wait_queue_wake_and_timeout) {
    wait_queue_init(&test_wq);
    woken = 0;
    struct thread *w[3];
    for (int i = 0; i < 3; i++) {
        w[i] = thread_create("waiter", waiter, NULL);
        REQUIRE_TRUE(w[i] != NULL);
        thread_start(w[i]);
    }
    await_waiters(&test_wq, 3);
    EXPECT_EQ(woken, 0);
    uint64_t s = sched_lock_irqsave();
    size_t n = wait_queue_wake_all_locked(&test_wq, ZX_ERR_CANCELED);
    sched_unlock_irqrestore(s);
    EXPECT_EQ(n, 3);
    for (int i = 0; i < 3; i++) {
        int code = 0;
        EXPECT_OK(thread_join(w[i], &code, ZX_TIME_INFINITE));
        EXPECT_EQ(code, ZX_ERR_CANCELED);
        thread_release(w[i]);
    }
    EXPECT_EQ(woken, 3);
    // A block with a deadline times out.
    struct wait_queue wq;
    wait_queue_init(&wq);
    zx_time_t t0 = current_time();
    s = sched_lock_irqsave();
    zx_status_t st = wait_queue_block_locked(&wq, t0 + 3 * 1000 * 1000);
    sched_unlock_irqrestore(s);
    EXPECT_STATUS(st, ZX_ERR_TIMED_OUT);
    EXPECT_GE(current_time(), t0 + 3 * 1000 * 1000);
    // A deadline in the past fails at once.
    s = sched_lock_irqsave();
    st = wait_queue_block_locked(&wq, t0);
    sched_unlock_irqrestore(s);
    EXPECT_STATUS(st, ZX_ERR_TIMED_OUT);
}

KTEST(thread, join_times_out_on_a_blocked_thread) {
    wait_queue_init(&test_wq);
    struct thread *t = thread_create("stuck", waiter, NULL);
    REQUIRE_TRUE(t != NULL);
    thread_start(t);
    EXPECT_STATUS(thread_join(t, NULL, current_time() + 2 * 1000 * 1000), ZX_ERR_TIMED_OUT);
    await_waiters(&test_wq, 1);
    uint64_t s = sched_lock_irqsave();
    wait_queue_wake_all_locked(&test_wq, ZX_OK);
    sched_unlock_irqrestore(s);
    EXPECT_OK(thread_join(t, NULL, ZX_TIME_INFINITE));
    thread_release(t);
}

KTEST(thread, many_threads_come_and_go) {
    size_t live0 = thread_count();
    for (int round = 0; round < 4; round++) {
        struct thread *ts[16];
        for (int i = 0; i < 16; i++) {
            ts[i] = thread_create("many", return_arg, (void *)(uintptr_t)i);
            REQUIRE_TRUE(ts[i] != NULL);
            thread_start(ts[i]);
        }
        for (int i = 0; i < 16; i++) {
            int code = -1;
            EXPECT_OK(thread_join(ts[i], &code, ZX_TIME_INFINITE));
            EXPECT_EQ(code, i);
            thread_release(ts[i]);
        }
    }
    thread_yield();
    EXPECT_EQ(thread_count(), live0);
}

static struct mutex test_mutex;
static volatile int in_critical, max_in_critical, mutex_rounds;

static int mutex_worker(void *arg) {
    (void)arg;
    for (int i = 0; i < 50; i++) {
        mutex_acquire(&test_mutex);
        in_critical++;
        if (in_critical > max_in_critical)
            max_in_critical = in_critical;
        thread_yield();  // invite the others in while we hold it
        in_critical--;
        mutex_rounds++;
        mutex_release(&test_mutex);
    }
    return 0;
}

KTEST(mutex, excludes_and_hands_over) {
    mutex_init(&test_mutex, "test");
    in_critical = max_in_critical = mutex_rounds = 0;
    struct thread *t[3];
    for (int i = 0; i < 3; i++) {
        t[i] = thread_create("mutex", mutex_worker, NULL);
        REQUIRE_TRUE(t[i] != NULL);
        thread_start(t[i]);
    }
    for (int i = 0; i < 3; i++) {
        EXPECT_OK(thread_join(t[i], NULL, ZX_TIME_INFINITE));
        thread_release(t[i]);
    }
    EXPECT_EQ(max_in_critical, 1);
    EXPECT_EQ(mutex_rounds, 150);
    EXPECT_FALSE(mutex_held(&test_mutex));
}

// Many rounds with the holder preempted or sleeping inside: every waiter must be woken (a lost
// wake-up hangs the join), and the contended flag must be gone once everyone is done.
static struct mutex churn_mutex = MUTEX_INIT(churn_mutex, "churn");
static volatile int churn_count;

static int churn_worker(void *arg) {
    int id = (int)(uintptr_t)arg;
    for (int i = 0; i < 200; i++) {
        mutex_acquire(&churn_mutex);
        int c = churn_count;
        if ((i + id) % 7 == 0)
            thread_sleep_until(current_time() + 20000);  // 20 us asleep while holding it
        else if ((i + id) % 3 == 0)
            thread_yield();
        churn_count = c + 1;
        mutex_release(&churn_mutex);
        if (i % 5 == 0)
            thread_yield();
    }
    return 0;
}

KTEST(mutex, no_lost_wakeup_under_churn) {
    churn_count = 0;
    struct thread *t[5];
    for (int i = 0; i < 5; i++) {
        t[i] = thread_create("churn", churn_worker, (void *)(uintptr_t)i);
        REQUIRE_TRUE(t[i] != NULL);
        thread_start(t[i]);
    }
    for (int i = 0; i < 5; i++) {
        EXPECT_OK(thread_join(t[i], NULL, current_time() + 20ll * 1000 * 1000 * 1000));
        thread_release(t[i]);
    }
    EXPECT_EQ(churn_count, 1000);
    EXPECT_EQ(churn_mutex.state, 0);
}

static struct mutex held_mutex = MUTEX_INIT(held_mutex, "held");
static volatile int held_phase;

static int held_holder(void *arg) {
    (void)arg;
    mutex_acquire(&held_mutex);
    held_phase = 1;
    while (held_phase == 1)
        thread_yield();
    mutex_release(&held_mutex);
    return 0;
}

KTEST(mutex, held_means_held_by_the_caller) {
    held_phase = 0;
    struct thread *t = thread_create("holder", held_holder, NULL);
    REQUIRE_TRUE(t != NULL);
    thread_start(t);
    while (held_phase == 0)
        thread_yield();
    EXPECT_FALSE(mutex_held(&held_mutex));  // held, but by the other thread
    held_phase = 2;
    mutex_acquire(&held_mutex);  // blocks until the holder lets go
    EXPECT_TRUE(mutex_held(&held_mutex));
    mutex_release(&held_mutex);
    EXPECT_FALSE(mutex_held(&held_mutex));
    EXPECT_OK(thread_join(t, NULL, ZX_TIME_INFINITE));
    thread_release(t);
}

static int long_sleeper(void *arg) {
    (void)arg;
    return thread_sleep_until(current_time() + 10ll * 1000 * 1000 * 1000);  // 10 s
}

KTEST(thread, interrupt_cuts_a_sleep_short) {
    struct thread *t = thread_create("sleeper", long_sleeper, NULL);
    REQUIRE_TRUE(t != NULL);
    thread_start(t);
    thread_sleep_until(current_time() + 1000000);
    zx_time_t t0 = current_time();
    thread_interrupt(t);
    int code = 0;
    EXPECT_OK(thread_join(t, &code, ZX_TIME_INFINITE));
    EXPECT_EQ(code, ZX_ERR_CANCELED);
    EXPECT_LT(current_time() - t0, 1000ll * 1000 * 1000);  // well before the 10 s
    thread_release(t);
}
