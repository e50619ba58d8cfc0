// C11 threads on futexes (ulib/include/threads.h): thrd_*, mtx_*, cnd_*, call_once, tss_*.
// The headline check: 8 threads add to one counter under one mtx_t, COUNTER_ITERS times each,
// and no update is lost (on 1 and on 4 CPUs: scripts/test runs both).
#include <stdio.h>
#include <threads.h>
#include <zircon/threads.h>

#include "test/user/utest.h"

#define MS ((zx_duration_t)1000000)
#define COUNTER_THREADS 8
#define COUNTER_ITERS 100000

static struct timespec after_ms(int ms) {
    struct timespec ts;
    timespec_get(&ts, TIME_UTC);
    ts.tv_nsec += (long)(ms % 1000) * 1000000;
    ts.tv_sec += ms / 1000 + ts.tv_nsec / 1000000000;
    ts.tv_nsec %= 1000000000;
    return ts;
}

// ---- Threads ----

static int twice(void *arg) {
    return 2 * (int)(intptr_t)arg;
}

TEST(create_and_join_returns_the_result) {
    thrd_t t[4];
    for (int i = 0; i < 4; i++)
        REQUIRE_EQ(thrd_create(&t[i], twice, (void *)(intptr_t)(i + 10)), thrd_success);
    for (int i = 0; i < 4; i++) {
        int res = -1;
        EXPECT_EQ(thrd_join(t[i], &res), thrd_success);
        EXPECT_EQ(res, 2 * (i + 10));
    }
}

static int report_current(void *arg) {
    *(thrd_t *)arg = thrd_current();
    return 0;
}

TEST(current_names_each_thread) {
    thrd_t self = thrd_current();
    EXPECT_TRUE(thrd_equal(self, thrd_current()));
    EXPECT_EQ(thrd_get_zx_handle(self), zx_thread_self());
    thrd_t t, seen = NULL;
    REQUIRE_EQ(thrd_create(&t, report_current, &seen), thrd_success);
    zx_koid_t koid = ut_koid(thrd_get_zx_handle(t));
    EXPECT_NE(koid, 0u);
    EXPECT_NE(koid, ut_koid(zx_thread_self()));
    EXPECT_EQ(thrd_join(t, NULL), thrd_success);
    EXPECT_TRUE(thrd_equal(seen, t));
    EXPECT_FALSE(thrd_equal(seen, self));
}

__attribute__((noinline, noreturn)) static void exit_77(void) {
    thrd_exit(77);
}

static int deep_exit(void *arg) {
    (void)arg;
    exit_77();
}

TEST(exit_from_a_nested_call) {
    thrd_t t;
    REQUIRE_EQ(thrd_create(&t, deep_exit, (void *)5), thrd_success);
    int res = 0;
    EXPECT_EQ(thrd_join(t, &res), thrd_success);
    EXPECT_EQ(res, 77);
}

static int nothing(void *arg) {
    (void)arg;
    return 0;
}

TEST(many_threads_reuse_slots) {
    thrd_t t[40];
    for (int round = 0; round < 2; round++) {
        for (int i = 0; i < 40; i++)
            REQUIRE_EQ(thrd_create(&t[i], twice, (void *)(intptr_t)i), thrd_success);
        for (int i = 0; i < 40; i++) {
            int res;
            EXPECT_EQ(thrd_join(t[i], &res), thrd_success);
            EXPECT_EQ(res, 2 * i);
        }
    }
}

TEST(detached_thread_is_reclaimed) {
    thrd_t t;
    REQUIRE_EQ(thrd_create(&t, nothing, NULL), thrd_success);
    zx_handle_t h;
    REQUIRE_OK(zx_handle_duplicate(thrd_get_zx_handle(t), ZX_RIGHT_SAME_RIGHTS, &h));
    EXPECT_EQ(thrd_detach(t), thrd_success);
    EXPECT_OK(zx_object_wait_one(h, ZX_THREAD_TERMINATED, ut_deadline_after(10000 * MS), NULL));
    zx_handle_close(h);
    // The next thrd_create frees its stack (the harness checks vmo_bytes after the test).
    REQUIRE_EQ(thrd_create(&t, nothing, NULL), thrd_success);
    EXPECT_EQ(thrd_join(t, NULL), thrd_success);
}

TEST(join_self_is_an_error) {
    EXPECT_EQ(thrd_join(thrd_current(), NULL), thrd_error);
}

TEST(sleep_and_yield) {
    zx_time_t t0 = zx_clock_get_monotonic();
    struct timespec d = {0, 3 * 1000000};
    EXPECT_EQ(thrd_sleep(&d, NULL), 0);
    EXPECT_GE(zx_clock_get_monotonic() - t0, 3 * MS);
    struct timespec badd = {0, -1};
    EXPECT_LT(thrd_sleep(&badd, NULL), -1);
    thrd_yield();
    struct timespec ts;
    EXPECT_EQ(timespec_get(&ts, TIME_UTC), TIME_UTC);
    EXPECT_EQ(timespec_get(&ts, 0), 0);
}

// ---- Mutexes ----

static mtx_t counter_lock;
static volatile uint64_t counter;

static int add_many(void *arg) {
    int n = (int)(intptr_t)arg;
    for (int i = 0; i < n; i++) {
        mtx_lock(&counter_lock);
        counter = counter + 1;  // a plain read-modify-write: only the mutex makes it safe
        mtx_unlock(&counter_lock);
    }
    return 0;
}

TEST(eight_threads_lose_no_update) {
    REQUIRE_EQ(mtx_init(&counter_lock, mtx_plain), thrd_success);
    counter = 0;
    zx_time_t t0 = zx_clock_get_monotonic();
    thrd_t t[COUNTER_THREADS];
    for (int i = 0; i < COUNTER_THREADS; i++)
        REQUIRE_EQ(thrd_create(&t[i], add_many, (void *)(intptr_t)COUNTER_ITERS), thrd_success);
    for (int i = 0; i < COUNTER_THREADS; i++)
        EXPECT_EQ(thrd_join(t[i], NULL), thrd_success);
    EXPECT_EQ(counter, (uint64_t)COUNTER_THREADS * COUNTER_ITERS);
    printf("    %d threads x %d locked increments: %ld ms on %u CPUs\n", COUNTER_THREADS,
           COUNTER_ITERS, (long)((zx_clock_get_monotonic() - t0) / MS), zx_system_get_num_cpus());
    mtx_destroy(&counter_lock);
}

struct lock_probe {
    mtx_t *m;
    volatile int stage;
    volatile int result;
};

static int try_then_lock(void *arg) {
    struct lock_probe *p = arg;
    p->result = mtx_trylock(p->m);
    __atomic_store_n(&p->stage, 1, __ATOMIC_SEQ_CST);
    mtx_lock(p->m);  // blocks, naming the holder as the futex's owner
    __atomic_store_n(&p->stage, 2, __ATOMIC_SEQ_CST);
    mtx_unlock(p->m);
    return 0;
}

TEST(contended_lock_names_the_holder_as_futex_owner) {
    mtx_t m;
    REQUIRE_EQ(mtx_init(&m, mtx_plain), thrd_success);
    REQUIRE_EQ(mtx_lock(&m), thrd_success);
    struct lock_probe p = {&m, 0, -1};
    thrd_t t;
    REQUIRE_EQ(thrd_create(&t, try_then_lock, &p), thrd_success);
    // The waiter blocks in the kernel naming us: the futex's owner becomes this thread.
    zx_koid_t me = ut_koid(zx_thread_self()), owner = 0;
    zx_time_t end = ut_deadline_after(10000 * MS);
    while (owner != me && zx_clock_get_monotonic() < end) {
        EXPECT_OK(zx_futex_get_owner(&m.state, &owner));
        zx_nanosleep(ut_deadline_after(MS));
    }
    EXPECT_EQ(owner, me);
    EXPECT_EQ(p.result, thrd_busy);
    EXPECT_EQ(p.stage, 1);
    EXPECT_EQ(mtx_unlock(&m), thrd_success);
    EXPECT_EQ(thrd_join(t, NULL), thrd_success);
    EXPECT_EQ(p.stage, 2);
    EXPECT_OK(zx_futex_get_owner(&m.state, &owner));
    EXPECT_EQ(owner, 0u);
    EXPECT_EQ(m.state, 0);
    mtx_destroy(&m);
}

TEST(trylock_and_unlock_errors) {
    mtx_t m;
    EXPECT_EQ(mtx_init(&m, 0x40), thrd_error);
    REQUIRE_EQ(mtx_init(&m, mtx_plain), thrd_success);
    EXPECT_EQ(mtx_unlock(&m), thrd_error);  // not locked
    EXPECT_EQ(mtx_trylock(&m), thrd_success);
    EXPECT_EQ(mtx_trylock(&m), thrd_busy);  // plain: no recursion
    EXPECT_EQ(mtx_unlock(&m), thrd_success);
    EXPECT_EQ(mtx_trylock(&m), thrd_success);
    EXPECT_EQ(mtx_unlock(&m), thrd_success);
}

static int lock_once(void *arg) {
    mtx_t *m = arg;
    int r = mtx_trylock(m);
    if (r == thrd_success)
        mtx_unlock(m);
    return r;
}

TEST(recursive_mutex) {
    mtx_t m;
    REQUIRE_EQ(mtx_init(&m, mtx_recursive), thrd_success);
    EXPECT_EQ(mtx_lock(&m), thrd_success);
    EXPECT_EQ(mtx_lock(&m), thrd_success);
    EXPECT_EQ(mtx_trylock(&m), thrd_success);
    thrd_t t;
    int res = -1;
    REQUIRE_EQ(thrd_create(&t, lock_once, &m), thrd_success);
    EXPECT_EQ(thrd_join(t, &res), thrd_success);
    EXPECT_EQ(res, thrd_busy);
    for (int i = 0; i < 3; i++)
        EXPECT_EQ(mtx_unlock(&m), thrd_success);
    REQUIRE_EQ(thrd_create(&t, lock_once, &m), thrd_success);
    EXPECT_EQ(thrd_join(t, &res), thrd_success);
    EXPECT_EQ(res, thrd_success);
}

static int timed_probe(void *arg) {
    mtx_t *m = arg;
    struct timespec ts = after_ms(5);
    return mtx_timedlock(m, &ts);
}

TEST(timedlock_times_out_then_succeeds) {
    mtx_t m;
    REQUIRE_EQ(mtx_init(&m, mtx_timed), thrd_success);
    REQUIRE_EQ(mtx_lock(&m), thrd_success);
    thrd_t t;
    int res = -1;
    REQUIRE_EQ(thrd_create(&t, timed_probe, &m), thrd_success);
    EXPECT_EQ(thrd_join(t, &res), thrd_success);
    EXPECT_EQ(res, thrd_timedout);
    EXPECT_EQ(mtx_unlock(&m), thrd_success);
    struct timespec past = {0, 0};
    EXPECT_EQ(mtx_timedlock(&m, &past), thrd_success);  // free: no waiting needed
    EXPECT_EQ(mtx_unlock(&m), thrd_success);
    EXPECT_EQ(m.state, 0);
}

// ---- Condition variables ----

#define QUEUE_CAP 8
#define ITEMS_PER_PRODUCER 300  // every item is a hand-off between CPUs: slow under TCG
#define PRODUCERS 4

static struct {
    mtx_t lock;
    cnd_t not_empty, not_full;
    int items[QUEUE_CAP];
    int head, count;
    int produced_done;
    uint64_t consumed_sum, consumed_n;
} q;

static int producer(void *arg) {
    int base = (int)(intptr_t)arg * ITEMS_PER_PRODUCER;
    for (int i = 1; i <= ITEMS_PER_PRODUCER; i++) {
        mtx_lock(&q.lock);
        while (q.count == QUEUE_CAP)
            cnd_wait(&q.not_full, &q.lock);
        q.items[(q.head + q.count) % QUEUE_CAP] = base + i;
        q.count++;
        cnd_signal(&q.not_empty);
        mtx_unlock(&q.lock);
    }
    return 0;
}

static int consumer(void *arg) {
    (void)arg;
    for (;;) {
        mtx_lock(&q.lock);
        while (q.count == 0 && q.produced_done < PRODUCERS)
            cnd_wait(&q.not_empty, &q.lock);
        if (q.count == 0) {
            mtx_unlock(&q.lock);
            return 0;
        }
        q.consumed_sum += (uint64_t)q.items[q.head];
        q.consumed_n++;
        q.head = (q.head + 1) % QUEUE_CAP;
        q.count--;
        cnd_signal(&q.not_full);
        mtx_unlock(&q.lock);
    }
}

TEST(condvar_producers_and_consumers) {
    memset(&q, 0, sizeof(q));
    REQUIRE_EQ(mtx_init(&q.lock, mtx_plain), thrd_success);
    REQUIRE_EQ(cnd_init(&q.not_empty), thrd_success);
    REQUIRE_EQ(cnd_init(&q.not_full), thrd_success);
    thrd_t p[PRODUCERS], c[4];
    for (int i = 0; i < 4; i++)
        REQUIRE_EQ(thrd_create(&c[i], consumer, NULL), thrd_success);
    for (int i = 0; i < PRODUCERS; i++)
        REQUIRE_EQ(thrd_create(&p[i], producer, (void *)(intptr_t)i), thrd_success);
    for (int i = 0; i < PRODUCERS; i++) {
        EXPECT_EQ(thrd_join(p[i], NULL), thrd_success);
        mtx_lock(&q.lock);
        q.produced_done++;
        cnd_broadcast(&q.not_empty);
        mtx_unlock(&q.lock);
    }
    for (int i = 0; i < 4; i++)
        EXPECT_EQ(thrd_join(c[i], NULL), thrd_success);
    uint64_t n = (uint64_t)PRODUCERS * ITEMS_PER_PRODUCER;
    EXPECT_EQ(q.consumed_n, n);
    EXPECT_EQ(q.consumed_sum, n * (n + 1) / 2);
    cnd_destroy(&q.not_empty);
    cnd_destroy(&q.not_full);
    mtx_destroy(&q.lock);
}

static struct {
    mtx_t lock;
    cnd_t cond;
    int go, waiting, passed;
} gate;

static int gate_waiter(void *arg) {
    (void)arg;
    mtx_lock(&gate.lock);
    gate.waiting++;
    while (!gate.go)
        cnd_wait(&gate.cond, &gate.lock);
    gate.passed++;
    mtx_unlock(&gate.lock);
    return 0;
}

TEST(broadcast_wakes_every_waiter) {
    memset(&gate, 0, sizeof(gate));
    thrd_t t[6];
    for (int i = 0; i < 6; i++)
        REQUIRE_EQ(thrd_create(&t[i], gate_waiter, NULL), thrd_success);
    // Wait until all six are inside cnd_wait's critical section (counted under the lock).
    zx_time_t end = ut_deadline_after(10000 * MS);
    for (;;) {
        mtx_lock(&gate.lock);
        int w = gate.waiting;
        mtx_unlock(&gate.lock);
        if (w == 6 || zx_clock_get_monotonic() > end)
            break;
        zx_nanosleep(ut_deadline_after(MS));
    }
    mtx_lock(&gate.lock);
    gate.go = 1;
    EXPECT_EQ(cnd_broadcast(&gate.cond), thrd_success);
    mtx_unlock(&gate.lock);
    for (int i = 0; i < 6; i++)
        EXPECT_EQ(thrd_join(t[i], NULL), thrd_success);
    EXPECT_EQ(gate.passed, 6);
}

TEST(timedwait_times_out) {
    mtx_t m;
    cnd_t c;
    REQUIRE_EQ(mtx_init(&m, mtx_plain), thrd_success);
    REQUIRE_EQ(cnd_init(&c), thrd_success);
    mtx_lock(&m);
    struct timespec ts = after_ms(3);
    EXPECT_EQ(cnd_timedwait(&c, &m, &ts), thrd_timedout);
    // The mutex is held again on return.
    EXPECT_EQ(mtx_trylock(&m), thrd_busy);
    mtx_unlock(&m);
    EXPECT_EQ(cnd_signal(&c), thrd_success);     // nobody waits: fine
    EXPECT_EQ(cnd_broadcast(&c), thrd_success);
}

// ---- call_once, thread-specific storage ----

static once_flag once = ONCE_FLAG_INIT;
static volatile int once_runs;

static void once_body(void) {
    once_runs++;
    thrd_yield();  // let the others pile up behind it
}

static int call_once_thread(void *arg) {
    (void)arg;
    call_once(&once, once_body);
    return once_runs;
}

TEST(call_once_runs_once) {
    thrd_t t[8];
    for (int i = 0; i < 8; i++)
        REQUIRE_EQ(thrd_create(&t[i], call_once_thread, NULL), thrd_success);
    for (int i = 0; i < 8; i++) {
        int res = 0;
        EXPECT_EQ(thrd_join(t[i], &res), thrd_success);
        EXPECT_EQ(res, 1);  // every caller returns after the function ran
    }
    call_once(&once, once_body);
    EXPECT_EQ(once_runs, 1);
}

static tss_t key;
static volatile intptr_t dtor_sum;

static void tss_dtor(void *v) {
    __atomic_add_fetch(&dtor_sum, (intptr_t)v, __ATOMIC_SEQ_CST);
}

static int tss_thread(void *arg) {
    if (tss_get(key) != NULL)
        return -1;
    tss_set(key, arg);
    thrd_yield();
    return tss_get(key) == arg ? 0 : -2;
}

TEST(thread_specific_storage) {
    REQUIRE_EQ(tss_create(&key, tss_dtor), thrd_success);
    dtor_sum = 0;
    EXPECT_EQ(tss_set(key, (void *)1000), thrd_success);
    thrd_t t[4];
    for (int i = 0; i < 4; i++)
        REQUIRE_EQ(thrd_create(&t[i], tss_thread, (void *)(intptr_t)(i + 1)), thrd_success);
    for (int i = 0; i < 4; i++) {
        int res = 1;
        EXPECT_EQ(thrd_join(t[i], &res), thrd_success);
        EXPECT_EQ(res, 0);
    }
    EXPECT_EQ(dtor_sum, 1 + 2 + 3 + 4);  // each thread's destructor ran with its value
    EXPECT_EQ(tss_get(key), (void *)1000);
    tss_set(key, NULL);
    tss_delete(key);
}

// ---- The SDK's own locks: stdio from several threads ----

static int chatter(void *arg) {
    for (int i = 0; i < 5; i++)
        printf("    thread %d line %d\n", (int)(intptr_t)arg, i);
    return 0;
}

TEST(printf_from_threads) {
    thrd_t t[4];
    for (int i = 0; i < 4; i++)
        REQUIRE_EQ(thrd_create(&t[i], chatter, (void *)(intptr_t)i), thrd_success);
    for (int i = 0; i < 4; i++)
        EXPECT_EQ(thrd_join(t[i], NULL), thrd_success);
}

UTEST_MAIN(NULL)
