// Futexes: futex_wait, futex_wake, futex_requeue, futex_wake_single_owner, futex_get_owner
// (docs/abi.md §7): every documented error in its order, FIFO wakes and counts, ownership through
// every call, timed-out and killed waiters leaving, and futexes shared through a VMO by two
// mappings and by two processes (docs/futex.md: a futex is named by its memory).
//
// Knowing that a waiter is blocked without sleeping "long enough": each waiter names a distinct
// live owner thread, and the test polls zx_futex_get_owner until that owner shows up: the owner
// changes exactly when the waiter joins the queue.
#include "test/user/utest.h"

#define MS ((zx_duration_t)1000000)
#define ALL_WAITERS 0xffffffffu

// ---- Helpers: owner threads, waiter threads ----

// Threads that only wait (on `owners_stop`) so that they can be named as futex owners.
#define NUM_OWNERS 4
static zx_handle_t owners_stop;
static struct ut_thread owners[NUM_OWNERS];

static void owner_body(uintptr_t stop, uintptr_t unused) {
    (void)unused;
    zx_object_wait_one((zx_handle_t)stop, ZX_EVENT_SIGNALED, ZX_TIME_INFINITE, NULL);
    zx_thread_exit();
}

static bool owners_start(void) {
    if (zx_event_create(0, &owners_stop) != ZX_OK)
        return false;
    for (int i = 0; i < NUM_OWNERS; i++) {
        if (ut_thread_spawn(&owners[i], owner_body, owners_stop, 0) != ZX_OK)
            return false;
    }
    return true;
}

static void owners_stop_all(void) {
    zx_object_signal(owners_stop, 0, ZX_EVENT_SIGNALED);
    for (int i = 0; i < NUM_OWNERS; i++)
        EXPECT_TRUE(ut_thread_join(&owners[i], 10000));
    zx_handle_close(owners_stop);
}

static zx_koid_t owner_of(const zx_futex_t *f) {
    zx_koid_t k = 0x5a5a;
    zx_status_t st = zx_futex_get_owner(f, &k);
    if (st != ZX_OK)
        EXPECT_FAILF("futex_get_owner failed: %d", st);
    return k;
}

// Polls until the futex's owner is `koid` (at most 10 s).
static bool wait_for_owner(const zx_futex_t *f, zx_koid_t koid) {
    zx_time_t end = ut_deadline_after(10000 * MS);
    while (owner_of(f) != koid) {
        if (zx_clock_get_monotonic() > end) {
            EXPECT_FAILF("futex owner never became %lu", (unsigned long)koid);
            return false;
        }
        zx_nanosleep(ut_deadline_after(MS));
    }
    return true;
}

struct waiter {
    zx_futex_t *word;
    zx_futex_t value;
    zx_handle_t owner;
    zx_time_t deadline;
    volatile zx_status_t result;
    volatile int done;
    struct ut_thread t;
};

static void waiter_body(uintptr_t arg, uintptr_t unused) {
    (void)unused;
    struct waiter *w = (struct waiter *)arg;
    w->result = zx_futex_wait(w->word, w->value, w->owner, w->deadline);
    __atomic_store_n(&w->done, 1, __ATOMIC_SEQ_CST);
    zx_thread_exit();
}

// Starts a waiter on `word` (expecting `value`) that names owner thread `owner_idx`, and returns
// once it is queued.
static bool waiter_start(struct waiter *w, zx_futex_t *word, int owner_idx) {
    memset(w, 0, sizeof(*w));
    w->word = word;
    w->value = *word;
    w->owner = owners[owner_idx].thread;
    w->deadline = ZX_TIME_INFINITE;
    w->result = 12345;
    if (ut_thread_spawn(&w->t, waiter_body, (uintptr_t)w, 0) != ZX_OK)
        return false;
    return wait_for_owner(word, ut_koid(w->owner));
}

static bool waiter_end(struct waiter *w, zx_status_t want) {
    bool ended = ut_thread_join(&w->t, 10000);
    EXPECT_TRUE(ended);
    EXPECT_STATUS(w->result, want);
    return ended;
}

// A started thread of another process (sleeping forever), for the "another process's" errors.
static void foreign_thread(struct ut_proc *p) {
    struct ut_code c = {0};
    ut_emit_mov_imm(&c, RDI, (uint64_t)ZX_TIME_INFINITE);
    ut_emit_mov_imm(&c, RAX, 31);  // nanosleep
    ut_emit_syscall(&c);
    ut_emit_exit(&c);
    EXPECT_OK(ut_proc_create(p, "foreign", &c));
    EXPECT_OK(ut_proc_start(p, ZX_HANDLE_INVALID, 0));
}

static void foreign_end(struct ut_proc *p) {
    zx_task_kill(p->proc);
    zx_object_wait_one(p->proc, ZX_PROCESS_TERMINATED, ut_deadline_after(10000 * MS), NULL);
    ut_proc_close(p);
}

static zx_futex_t word_a, word_b;

// ---- futex_wait ----

TEST(wait_pointer_errors) {
    EXPECT_STATUS(zx_futex_wait(NULL, 0, ZX_HANDLE_INVALID, 0), ZX_ERR_INVALID_ARGS);
    const zx_futex_t *odd = (const zx_futex_t *)((uintptr_t)&word_a + 2);
    EXPECT_STATUS(zx_futex_wait(odd, 0, ZX_HANDLE_INVALID, 0), ZX_ERR_INVALID_ARGS);
    EXPECT_PTR_ERRORS(zx_futex_wait((const zx_futex_t *)bad, 0, ZX_HANDLE_INVALID, 0),
                      ut_noaccess_page);
    // Read-only memory is fine: the word is only read.
    EXPECT_STATUS(zx_futex_wait((const zx_futex_t *)ut_ro_page, 0, ZX_HANDLE_INVALID, 0),
                  ZX_ERR_TIMED_OUT);
}

TEST(wait_value_mismatch_is_bad_state_before_owner_errors) {
    word_a = 5;
    EXPECT_STATUS(zx_futex_wait(&word_a, 4, ZX_HANDLE_INVALID, ZX_TIME_INFINITE),
                  ZX_ERR_BAD_STATE);
    EXPECT_STATUS(zx_futex_wait(&word_a, 4, UT_FORGED_HANDLE, ZX_TIME_INFINITE), ZX_ERR_BAD_STATE);
    EXPECT_STATUS(zx_futex_wait(&word_a, 4, ut_channel, ZX_TIME_INFINITE), ZX_ERR_BAD_STATE);
    EXPECT_STATUS(zx_futex_wait(&word_a, 4, zx_thread_self(), ZX_TIME_INFINITE), ZX_ERR_BAD_STATE);
    word_a = 0;
}

TEST(wait_owner_errors) {
    word_a = 0;
    zx_time_t soon = ut_deadline_after(MS);
    EXPECT_STATUS(zx_futex_wait(&word_a, 0, UT_FORGED_HANDLE, soon), ZX_ERR_BAD_HANDLE);
    EXPECT_STATUS(zx_futex_wait(&word_a, 0, ut_stale_handle, soon), ZX_ERR_BAD_HANDLE);
    EXPECT_STATUS(zx_futex_wait(&word_a, 0, ut_channel, soon), ZX_ERR_WRONG_TYPE);
    EXPECT_STATUS(zx_futex_wait(&word_a, 0, zx_vmar_root_self(), soon), ZX_ERR_WRONG_TYPE);
    // The caller cannot own what it waits on.
    EXPECT_STATUS(zx_futex_wait(&word_a, 0, zx_thread_self(), soon), ZX_ERR_INVALID_ARGS);
    // A thread that was never started.
    zx_handle_t unstarted;
    REQUIRE_OK(zx_thread_create(zx_process_self(), "unstarted", 9, 0, &unstarted));
    EXPECT_STATUS(zx_futex_wait(&word_a, 0, unstarted, soon), ZX_ERR_INVALID_ARGS);
    zx_handle_close(unstarted);
    // A thread of another process.
    struct ut_proc p;
    foreign_thread(&p);
    EXPECT_STATUS(zx_futex_wait(&word_a, 0, p.thread, soon), ZX_ERR_INVALID_ARGS);
    foreign_end(&p);
    // Needing no rights: a thread handle with none works.
    REQUIRE_TRUE(owners_start());
    zx_handle_t bare = ut_dup(owners[0].thread, 0);
    EXPECT_STATUS(zx_futex_wait(&word_a, 0, bare, ut_deadline_after(MS)), ZX_ERR_TIMED_OUT);
    zx_handle_close(bare);
    // A thread already waiting on this futex cannot be named its owner.
    struct waiter w;
    REQUIRE_TRUE(waiter_start(&w, &word_a, 1));
    EXPECT_STATUS(zx_futex_wait(&word_a, 0, w.t.thread, ut_deadline_after(MS)),
                  ZX_ERR_INVALID_ARGS);
    EXPECT_EQ(owner_of(&word_a), ut_koid(owners[1].thread));  // errors change no ownership
    EXPECT_OK(zx_futex_wake(&word_a, ALL_WAITERS));
    waiter_end(&w, ZX_OK);
    owners_stop_all();
}

TEST(wait_times_out_at_the_deadline_and_not_before) {
    word_a = 0;
    EXPECT_STATUS(zx_futex_wait(&word_a, 0, ZX_HANDLE_INVALID, 0), ZX_ERR_TIMED_OUT);
    EXPECT_STATUS(zx_futex_wait(&word_a, 0, ZX_HANDLE_INVALID, zx_clock_get_monotonic() - 1),
                  ZX_ERR_TIMED_OUT);
    for (int i = 0; i < 5; i++) {
        zx_time_t deadline = ut_deadline_after(5 * MS);
        EXPECT_STATUS(zx_futex_wait(&word_a, 0, ZX_HANDLE_INVALID, deadline), ZX_ERR_TIMED_OUT);
        EXPECT_GE(zx_clock_get_monotonic(), deadline);
    }
}

TEST(timed_out_waiter_leaves_and_takes_the_owner_with_it) {
    REQUIRE_TRUE(owners_start());
    word_a = 0;
    EXPECT_STATUS(zx_futex_wait(&word_a, 0, owners[0].thread, ut_deadline_after(2 * MS)),
                  ZX_ERR_TIMED_OUT);
    EXPECT_EQ(owner_of(&word_a), 0u);
    // A waiter that stays keeps the owner set by the last wait.
    struct waiter w;
    REQUIRE_TRUE(waiter_start(&w, &word_a, 1));
    EXPECT_STATUS(zx_futex_wait(&word_a, 0, owners[2].thread, ut_deadline_after(2 * MS)),
                  ZX_ERR_TIMED_OUT);
    EXPECT_EQ(owner_of(&word_a), ut_koid(owners[2].thread));
    EXPECT_OK(zx_futex_wake(&word_a, ALL_WAITERS));
    waiter_end(&w, ZX_OK);
    EXPECT_EQ(owner_of(&word_a), 0u);
    owners_stop_all();
}

TEST(killed_waiter_leaves) {
    REQUIRE_TRUE(owners_start());
    word_a = 0;
    struct waiter w;
    REQUIRE_TRUE(waiter_start(&w, &word_a, 0));
    EXPECT_OK(zx_task_kill(w.t.thread));
    EXPECT_TRUE(ut_thread_join(&w.t, 10000));
    EXPECT_EQ(w.done, 0);
    EXPECT_EQ(owner_of(&word_a), 0u);  // the emptied queue lost its owner
    // The futex works on: a new waiter is woken normally.
    REQUIRE_TRUE(waiter_start(&w, &word_a, 1));
    EXPECT_OK(zx_futex_wake(&word_a, 1));
    waiter_end(&w, ZX_OK);
    owners_stop_all();
}

TEST(dying_owner_is_no_owner) {
    REQUIRE_TRUE(owners_start());
    struct ut_thread dead;
    REQUIRE_OK(ut_thread_spawn(&dead, owner_body, owners_stop, 0));
    // Let only `dead` end: it waits on owners_stop, which would end the others too; so kill it.
    EXPECT_OK(zx_task_kill(dead.thread));
    EXPECT_OK(zx_object_wait_one(dead.thread, ZX_THREAD_TERMINATED, ut_deadline_after(10000 * MS),
                                 NULL));
    word_a = 0;
    struct waiter w;
    REQUIRE_TRUE(waiter_start(&w, &word_a, 0));
    EXPECT_STATUS(zx_futex_wait(&word_a, 0, dead.thread, ut_deadline_after(2 * MS)),
                  ZX_ERR_TIMED_OUT);
    EXPECT_EQ(owner_of(&word_a), 0u);
    // The requeue path too.
    EXPECT_OK(zx_futex_requeue(&word_b, 0, 0, &word_a, 0, owners[1].thread));
    EXPECT_EQ(owner_of(&word_a), ut_koid(owners[1].thread));
    EXPECT_OK(zx_futex_requeue(&word_b, 0, 0, &word_a, 0, dead.thread));
    EXPECT_EQ(owner_of(&word_a), 0u);
    EXPECT_OK(zx_futex_wake(&word_a, ALL_WAITERS));
    waiter_end(&w, ZX_OK);
    ut_thread_join(&dead, 1000);
    owners_stop_all();
}

TEST(owner_that_exits_owns_nothing) {
    REQUIRE_TRUE(owners_start());
    word_a = 0;
    struct waiter w;
    REQUIRE_TRUE(waiter_start(&w, &word_a, 3));
    EXPECT_OK(zx_task_kill(owners[3].thread));
    EXPECT_OK(zx_object_wait_one(owners[3].thread, ZX_THREAD_TERMINATED,
                                 ut_deadline_after(10000 * MS), NULL));
    EXPECT_EQ(owner_of(&word_a), 0u);
    EXPECT_OK(zx_futex_wake(&word_a, ALL_WAITERS));
    waiter_end(&w, ZX_OK);
    owners_stop_all();
}

// ---- futex_wake, futex_wake_single_owner ----

TEST(wake_pointer_errors_and_no_waiters) {
    EXPECT_STATUS(zx_futex_wake(NULL, 1), ZX_ERR_INVALID_ARGS);
    EXPECT_STATUS(zx_futex_wake((const zx_futex_t *)((uintptr_t)&word_a + 1), 1),
                  ZX_ERR_INVALID_ARGS);
    EXPECT_STATUS(zx_futex_wake_single_owner(NULL), ZX_ERR_INVALID_ARGS);
    EXPECT_STATUS(zx_futex_wake_single_owner((const zx_futex_t *)((uintptr_t)&word_a + 3)),
                  ZX_ERR_INVALID_ARGS);
    // The word is never read: any aligned address is OK, with or without waiters.
    EXPECT_OK(zx_futex_wake(&word_a, 1));
    EXPECT_OK(zx_futex_wake(&word_a, 0));
    EXPECT_OK(zx_futex_wake(&word_a, ALL_WAITERS));
    EXPECT_OK(zx_futex_wake((const zx_futex_t *)(ut_hole + 4 * PAGE), 1));
    EXPECT_OK(zx_futex_wake((const zx_futex_t *)0xffff800000000000ull, 1));
    EXPECT_OK(zx_futex_wake_single_owner(&word_a));
    EXPECT_OK(zx_futex_wake_single_owner((const zx_futex_t *)(ut_hole + 4 * PAGE)));
}

TEST(wake_is_fifo_and_counts) {
    REQUIRE_TRUE(owners_start());
    word_a = 7;
    struct waiter w[4];
    for (int i = 0; i < 4; i++)
        REQUIRE_TRUE(waiter_start(&w[i], &word_a, i));
    EXPECT_OK(zx_futex_wake(&word_a, 0));  // wakes nobody, but clears the owner
    EXPECT_EQ(owner_of(&word_a), 0u);
    EXPECT_OK(zx_futex_requeue(&word_b, 0, 0, &word_a, 0, owners[3].thread));
    EXPECT_EQ(owner_of(&word_a), ut_koid(owners[3].thread));
    EXPECT_OK(zx_futex_wake(&word_a, 2));
    EXPECT_TRUE(waiter_end(&w[0], ZX_OK));
    EXPECT_TRUE(waiter_end(&w[1], ZX_OK));
    EXPECT_EQ(w[2].done, 0);
    EXPECT_EQ(w[3].done, 0);
    EXPECT_EQ(owner_of(&word_a), 0u);
    EXPECT_OK(zx_futex_wake(&word_a, 1));
    EXPECT_TRUE(waiter_end(&w[2], ZX_OK));
    EXPECT_EQ(w[3].done, 0);
    EXPECT_OK(zx_futex_wake(&word_a, ALL_WAITERS));
    EXPECT_TRUE(waiter_end(&w[3], ZX_OK));
    word_a = 0;
    owners_stop_all();
}

TEST(wake_single_owner_makes_the_woken_the_owner) {
    REQUIRE_TRUE(owners_start());
    word_a = 0;
    struct waiter w[3];
    for (int i = 0; i < 3; i++)
        REQUIRE_TRUE(waiter_start(&w[i], &word_a, i));
    // w[0] is woken and owns the futex while w[1] and w[2] wait (the next test sees that), until
    // it dies.
    EXPECT_OK(zx_futex_wake_single_owner(&word_a));
    EXPECT_TRUE(waiter_end(&w[0], ZX_OK));
    EXPECT_EQ(w[1].done, 0);
    EXPECT_EQ(owner_of(&word_a), 0u);  // w[0] has exited: a dead thread owns nothing
    EXPECT_OK(zx_futex_wake_single_owner(&word_a));
    EXPECT_TRUE(waiter_end(&w[1], ZX_OK));
    EXPECT_EQ(w[2].done, 0);
    // The last waiter woken leaves an empty queue: no owner.
    EXPECT_OK(zx_futex_wake_single_owner(&word_a));
    EXPECT_TRUE(waiter_end(&w[2], ZX_OK));
    EXPECT_EQ(owner_of(&word_a), 0u);
    owners_stop_all();
}

// A waiter that, once woken, reports the futex's owner before it exits.
struct owner_probe {
    struct waiter w;
    volatile zx_koid_t seen_owner;
    volatile int seen;
};

static void probe_body(uintptr_t arg, uintptr_t stop) {
    struct owner_probe *p = (struct owner_probe *)arg;
    p->w.result = zx_futex_wait(p->w.word, p->w.value, p->w.owner, ZX_TIME_INFINITE);
    zx_koid_t k = 0;
    zx_futex_get_owner(p->w.word, &k);
    p->seen_owner = k;
    __atomic_store_n(&p->seen, 1, __ATOMIC_SEQ_CST);
    zx_object_wait_one((zx_handle_t)stop, ZX_EVENT_SIGNALED, ZX_TIME_INFINITE, NULL);
    zx_thread_exit();
}

TEST(wake_single_owner_owner_is_the_woken_thread) {
    REQUIRE_TRUE(owners_start());
    word_a = 0;
    zx_handle_t stop;
    REQUIRE_OK(zx_event_create(0, &stop));
    struct owner_probe p;
    memset(&p, 0, sizeof(p));
    p.w.word = &word_a;
    p.w.owner = owners[0].thread;
    REQUIRE_OK(ut_thread_spawn(&p.w.t, probe_body, (uintptr_t)&p, stop));
    REQUIRE_TRUE(wait_for_owner(&word_a, ut_koid(owners[0].thread)));
    struct waiter w;
    REQUIRE_TRUE(waiter_start(&w, &word_a, 1));
    EXPECT_OK(zx_futex_wake_single_owner(&word_a));
    zx_time_t end = ut_deadline_after(10000 * MS);
    while (!__atomic_load_n(&p.seen, __ATOMIC_SEQ_CST) && zx_clock_get_monotonic() < end)
        zx_nanosleep(ut_deadline_after(MS));
    EXPECT_EQ(p.seen_owner, ut_koid(p.w.t.thread));
    EXPECT_EQ(owner_of(&word_a), ut_koid(p.w.t.thread));
    EXPECT_OK(zx_futex_wake(&word_a, ALL_WAITERS));
    EXPECT_EQ(owner_of(&word_a), 0u);
    waiter_end(&w, ZX_OK);
    zx_object_signal(stop, 0, ZX_EVENT_SIGNALED);
    EXPECT_TRUE(ut_thread_join(&p.w.t, 10000));
    zx_handle_close(stop);
    owners_stop_all();
}

// ---- futex_requeue ----

TEST(requeue_errors_in_order) {
    REQUIRE_TRUE(owners_start());
    word_a = 3;
    word_b = 0;
    const zx_futex_t *odd = (const zx_futex_t *)((uintptr_t)&word_b + 2);
    EXPECT_STATUS(zx_futex_requeue(NULL, 1, 3, &word_b, 1, ZX_HANDLE_INVALID),
                  ZX_ERR_INVALID_ARGS);
    EXPECT_STATUS(zx_futex_requeue(odd, 1, 3, &word_b, 1, ZX_HANDLE_INVALID), ZX_ERR_INVALID_ARGS);
    EXPECT_STATUS(zx_futex_requeue(&word_a, 1, 3, NULL, 1, ZX_HANDLE_INVALID),
                  ZX_ERR_INVALID_ARGS);
    EXPECT_STATUS(zx_futex_requeue(&word_a, 1, 3, odd, 1, ZX_HANDLE_INVALID), ZX_ERR_INVALID_ARGS);
    EXPECT_STATUS(zx_futex_requeue(&word_a, 1, 3, &word_a, 1, ZX_HANDLE_INVALID),
                  ZX_ERR_INVALID_ARGS);
    // Same pointer before the value: even a mismatch gives INVALID_ARGS.
    EXPECT_STATUS(zx_futex_requeue(&word_a, 1, 9, &word_a, 1, ZX_HANDLE_INVALID),
                  ZX_ERR_INVALID_ARGS);
    EXPECT_PTR_ERRORS(zx_futex_requeue((const zx_futex_t *)bad, 1, 0, &word_b, 1,
                                       ZX_HANDLE_INVALID),
                      ut_noaccess_page);
    // The requeue word is never read.
    EXPECT_OK(zx_futex_requeue(&word_a, 1, 3, (const zx_futex_t *)(ut_hole + 4 * PAGE), 1,
                               ZX_HANDLE_INVALID));
    struct waiter w;
    REQUIRE_TRUE(waiter_start(&w, &word_a, 0));
    zx_koid_t before = owner_of(&word_a);
    // Value before owner.
    EXPECT_STATUS(zx_futex_requeue(&word_a, 1, 4, &word_b, 1, UT_FORGED_HANDLE), ZX_ERR_BAD_STATE);
    EXPECT_STATUS(zx_futex_requeue(&word_a, 1, 4, &word_b, 1, ZX_HANDLE_INVALID),
                  ZX_ERR_BAD_STATE);
    EXPECT_STATUS(zx_futex_requeue(&word_a, 1, 3, &word_b, 1, UT_FORGED_HANDLE),
                  ZX_ERR_BAD_HANDLE);
    EXPECT_STATUS(zx_futex_requeue(&word_a, 1, 3, &word_b, 1, ut_channel), ZX_ERR_WRONG_TYPE);
    zx_handle_t unstarted;
    REQUIRE_OK(zx_thread_create(zx_process_self(), "unstarted", 9, 0, &unstarted));
    EXPECT_STATUS(zx_futex_requeue(&word_a, 1, 3, &word_b, 1, unstarted), ZX_ERR_INVALID_ARGS);
    zx_handle_close(unstarted);
    struct ut_proc p;
    foreign_thread(&p);
    EXPECT_STATUS(zx_futex_requeue(&word_a, 1, 3, &word_b, 1, p.thread), ZX_ERR_INVALID_ARGS);
    foreign_end(&p);
    // A thread waiting on either futex cannot own the requeue futex.
    EXPECT_STATUS(zx_futex_requeue(&word_a, 1, 3, &word_b, 1, w.t.thread), ZX_ERR_INVALID_ARGS);
    EXPECT_STATUS(zx_futex_requeue(&word_b, 1, 0, &word_a, 1, w.t.thread), ZX_ERR_INVALID_ARGS);
    // Nothing changed: the waiter still waits, the owner is the same.
    EXPECT_EQ(w.done, 0);
    EXPECT_EQ(owner_of(&word_a), before);
    EXPECT_EQ(owner_of(&word_b), 0u);
    EXPECT_OK(zx_futex_wake(&word_a, ALL_WAITERS));
    waiter_end(&w, ZX_OK);
    word_a = 0;
    owners_stop_all();
}

TEST(requeue_wakes_moves_and_sets_owners) {
    REQUIRE_TRUE(owners_start());
    word_a = 1;
    word_b = 2;
    struct waiter w[4];
    for (int i = 0; i < 4; i++)
        REQUIRE_TRUE(waiter_start(&w[i], &word_a, i));
    // Wake one, move two to word_b owned by owner 0; one stays on word_a.
    EXPECT_OK(zx_futex_requeue(&word_a, 1, 1, &word_b, 2, owners[0].thread));
    EXPECT_TRUE(waiter_end(&w[0], ZX_OK));
    EXPECT_EQ(owner_of(&word_a), 0u);
    EXPECT_EQ(owner_of(&word_b), ut_koid(owners[0].thread));
    // word_b's waiters are w[1] and w[2], in that order.
    EXPECT_OK(zx_futex_wake(&word_b, 1));
    EXPECT_TRUE(waiter_end(&w[1], ZX_OK));
    EXPECT_EQ(w[2].done, 0);
    EXPECT_EQ(w[3].done, 0);
    EXPECT_EQ(owner_of(&word_b), 0u);
    // Requeue nothing but name an owner: set only where there are waiters. The caller may be it.
    EXPECT_OK(zx_futex_requeue(&word_a, 0, 1, &word_b, 0, zx_thread_self()));
    EXPECT_EQ(owner_of(&word_b), ut_koid(zx_thread_self()));
    EXPECT_OK(zx_futex_requeue(&word_b, 0, 2, &word_a, 0, owners[1].thread));
    EXPECT_EQ(owner_of(&word_a), ut_koid(owners[1].thread));
    EXPECT_EQ(owner_of(&word_b), 0u);  // the wake futex's owner is cleared
    static zx_futex_t empty;
    EXPECT_OK(zx_futex_requeue(&word_a, 0, 1, &empty, 5, owners[2].thread));
    EXPECT_EQ(owner_of(&empty), ut_koid(owners[2].thread));  // w[3] moved to `empty`
    EXPECT_EQ(owner_of(&word_a), 0u);
    static zx_futex_t nobody;
    EXPECT_OK(zx_futex_requeue(&word_a, 0, 1, &nobody, 5, owners[2].thread));
    EXPECT_EQ(owner_of(&nobody), 0u);  // nobody moved: no waiters, no owner
    EXPECT_OK(zx_futex_wake(&word_b, ALL_WAITERS));
    EXPECT_TRUE(waiter_end(&w[2], ZX_OK));
    EXPECT_EQ(w[3].done, 0);
    EXPECT_OK(zx_futex_wake(&empty, ALL_WAITERS));
    EXPECT_TRUE(waiter_end(&w[3], ZX_OK));
    word_a = word_b = 0;
    owners_stop_all();
}

// ---- futex_get_owner ----

TEST(get_owner_errors) {
    zx_koid_t k;
    EXPECT_STATUS(zx_futex_get_owner(NULL, &k), ZX_ERR_INVALID_ARGS);
    EXPECT_STATUS(zx_futex_get_owner((const zx_futex_t *)((uintptr_t)&word_a + 1), &k),
                  ZX_ERR_INVALID_ARGS);
    EXPECT_PTR_ERRORS(zx_futex_get_owner(&word_a, (zx_koid_t *)bad), ut_ro_page);
    k = 77;
    EXPECT_OK(zx_futex_get_owner(&word_a, &k));
    EXPECT_EQ(k, 0u);
    EXPECT_OK(zx_futex_get_owner((const zx_futex_t *)(ut_hole + 4 * PAGE), &k));
}

// ---- Keying: one futex per word of memory ----

TEST(two_mappings_of_one_vmo_share_futexes) {
    REQUIRE_TRUE(owners_start());
    zx_handle_t vmo = ut_vmo(PAGE, 0);
    uintptr_t m1 = ut_map(vmo, 0, PAGE, ZX_VM_PERM_READ | ZX_VM_PERM_WRITE);
    uintptr_t m2 = ut_map(vmo, 0, PAGE, ZX_VM_PERM_READ | ZX_VM_PERM_WRITE);
    REQUIRE_TRUE(m1 && m2 && m1 != m2);
    zx_futex_t *f1 = (zx_futex_t *)(m1 + 64), *f2 = (zx_futex_t *)(m2 + 64);
    struct waiter w;
    REQUIRE_TRUE(waiter_start(&w, f1, 0));
    EXPECT_EQ(owner_of(f2), ut_koid(owners[0].thread));
    EXPECT_EQ(owner_of((zx_futex_t *)(m2 + 68)), 0u);  // the next word is another futex
    // Requeue between two names of one futex is requeueing onto itself.
    EXPECT_STATUS(zx_futex_requeue(f1, 0, 0, f2, 1, ZX_HANDLE_INVALID), ZX_ERR_INVALID_ARGS);
    EXPECT_OK(zx_futex_wake(f2, 1));
    waiter_end(&w, ZX_OK);
    // A snapshot is other memory: its words are other futexes.
    zx_handle_t snap = ut_child(vmo, ZX_VMO_CHILD_SNAPSHOT, 0, PAGE);
    uintptr_t m3 = ut_map(snap, 0, PAGE, ZX_VM_PERM_READ | ZX_VM_PERM_WRITE);
    REQUIRE_TRUE(waiter_start(&w, f1, 1));
    EXPECT_EQ(owner_of((zx_futex_t *)(m3 + 64)), 0u);
    EXPECT_OK(zx_futex_wake(f1, 1));
    waiter_end(&w, ZX_OK);
    // A slice is the same memory.
    zx_handle_t slice = ut_child(vmo, ZX_VMO_CHILD_SLICE, 0, PAGE);
    uintptr_t m4 = ut_map(slice, 0, PAGE, ZX_VM_PERM_READ | ZX_VM_PERM_WRITE);
    REQUIRE_TRUE(waiter_start(&w, f1, 2));
    EXPECT_EQ(owner_of((zx_futex_t *)(m4 + 64)), ut_koid(owners[2].thread));
    EXPECT_OK(zx_futex_wake((zx_futex_t *)(m4 + 64), 1));
    waiter_end(&w, ZX_OK);
    ut_unmap(m1, PAGE);
    ut_unmap(m2, PAGE);
    ut_unmap(m3, PAGE);
    ut_unmap(m4, PAGE);
    zx_handle_close(slice);
    zx_handle_close(snap);
    zx_handle_close(vmo);
    owners_stop_all();
}

// A second process waits on a word of a VMO both map (at different addresses); this one wakes it.
TEST(two_processes_share_a_futex_through_a_vmo) {
    zx_handle_t vmo = ut_vmo(PAGE, 0);
    uintptr_t mine = ut_map(vmo, 0, PAGE, ZX_VM_PERM_READ | ZX_VM_PERM_WRITE);
    REQUIRE_TRUE(mine != 0);
    struct ut_proc p;
    struct ut_code c = {0};
    // Its code: futex_wait(addr, 0, INVALID, INFINITE) at an address patched in below, then
    // exit with the status.
    size_t addr_at = c.len + 2;  // the imm64 of the first mov
    ut_emit_mov_imm(&c, RDI, 0);
    ut_emit_mov_imm(&c, RSI, 0);
    ut_emit_mov_imm(&c, RDX, ZX_HANDLE_INVALID);
    ut_emit_mov_imm(&c, R10, (uint64_t)ZX_TIME_INFINITE);
    ut_emit_mov_imm(&c, RAX, 47);  // futex_wait
    ut_emit_syscall(&c);
    ut_emit_mov(&c, RDI, RAX);
    ut_emit_exit(&c);
    // Create the process first to learn where the VMO lands in it.
    REQUIRE_OK(ut_proc_create(&p, "futex-peer", &c));
    zx_vaddr_t theirs;
    REQUIRE_OK(zx_vmar_map(p.vmar, ZX_VM_PERM_READ | ZX_VM_PERM_WRITE, 0, vmo, 0, PAGE, &theirs));
    uint64_t word_addr = theirs + 128;
    // Rewrite the code page with the address in place.
    memcpy(c.bytes + addr_at, &word_addr, sizeof(word_addr));
    ut_proc_close(&p);
    REQUIRE_OK(ut_proc_create(&p, "futex-peer", &c));
    REQUIRE_OK(zx_vmar_map(p.vmar, ZX_VM_PERM_READ | ZX_VM_PERM_WRITE | ZX_VM_SPECIFIC,
                           theirs - p.vmar_base, vmo, 0, PAGE, &theirs));
    EXPECT_EQ(theirs + 128, word_addr);
    REQUIRE_OK(ut_proc_start(&p, ZX_HANDLE_INVALID, 0));
    // Wake until it ends: before it blocks a wake finds nobody, so keep waking (bounded).
    zx_futex_t *word = (zx_futex_t *)(mine + 128);
    zx_status_t st = ZX_ERR_TIMED_OUT;
    for (int i = 0; i < 2000 && st == ZX_ERR_TIMED_OUT; i++) {
        EXPECT_OK(zx_futex_wake(word, 1));
        st = zx_object_wait_one(p.proc, ZX_PROCESS_TERMINATED, ut_deadline_after(5 * MS), NULL);
    }
    EXPECT_OK(st);
    zx_info_process_t info;
    ut_get_info(p.proc, ZX_INFO_PROCESS, &info, sizeof(info));
    EXPECT_EQ(info.return_code, (int64_t)ZX_OK);
    if (st != ZX_OK)
        zx_task_kill(p.proc);
    ut_proc_close(&p);
    ut_unmap(mine, PAGE);
    zx_handle_close(vmo);
}

// ---- Many threads: no lost wake-ups ----

// Ping-pong: two threads take turns through one word, each waiting for its turn with futex_wait.
static zx_futex_t turn;

static void pingpong_body(uintptr_t me, uintptr_t rounds) {
    for (uintptr_t i = 0; i < rounds; i++) {
        zx_futex_t v;
        while ((v = __atomic_load_n(&turn, __ATOMIC_SEQ_CST)) % 2 != (zx_futex_t)me)
            zx_futex_wait(&turn, v, ZX_HANDLE_INVALID, ZX_TIME_INFINITE);
        __atomic_add_fetch(&turn, 1, __ATOMIC_SEQ_CST);
        zx_futex_wake(&turn, 1);
    }
    zx_thread_exit();
}

TEST(pingpong_never_loses_a_wake) {
    turn = 0;
    struct ut_thread t[2];
    REQUIRE_OK(ut_thread_spawn(&t[0], pingpong_body, 0, 500));
    REQUIRE_OK(ut_thread_spawn(&t[1], pingpong_body, 1, 500));
    EXPECT_TRUE(ut_thread_join(&t[0], 120000));
    EXPECT_TRUE(ut_thread_join(&t[1], 120000));
    EXPECT_EQ(turn, 1000);
}

UTEST_MAIN(NULL)
