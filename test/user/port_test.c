// Ports and async waits (docs/abi.md §5): port_create, port_queue, port_wait, port_cancel,
// object_wait_async, object_wait_many. Every documented error, the packet layouts, async waits on
// each kind of waitable object, EDGE and TIMESTAMP, cancellation by handle close and by key, a full
// port, waiters on several CPUs, and no kernel memory left behind (heap bytes in use come back).
#include <stdio.h>
#include <zircon/syscalls/port.h>

#include "test/user/utest.h"

#define MS ((zx_duration_t)1000000)
#define PORT_RIGHTS ((zx_rights_t)0x800Fu)
#define KEY 0x1234abcd5678ef00ull

static zx_handle_t make_port(void) {
    zx_handle_t p = ZX_HANDLE_INVALID;
    EXPECT_OK(zx_port_create(0, &p));
    return p;
}

static zx_handle_t make_event(void) {
    zx_handle_t e = ZX_HANDLE_INVALID;
    EXPECT_OK(zx_event_create(0, &e));
    return e;
}

static zx_port_packet_t user_packet(uint64_t key, uint64_t v) {
    zx_port_packet_t p;
    memset(&p, 0, sizeof(p));
    p.key = key;
    p.type = 0x55;  // forced to USER by port_queue
    p.status = -7;
    for (int i = 0; i < 4; i++)
        p.user.u64[i] = v + (uint64_t)i;
    return p;
}

// Kernel heap bytes in use: async waits and packets live there. Other kernel work (a thread
// reaped late) moves it by a few hundred bytes, so the leak checks below allow HEAP_SLACK and
// leak far more than that if anything leaks at all (every test makes dozens of waits or packets,
// ~100 bytes each).
static uint64_t heap_used(void) {
    zx_info_kmem_stats_t s;
    ut_get_info(zx_job_default(), ZX_INFO_KMEM_STATS, &s, sizeof(s));
    return s.total_heap_bytes - s.free_heap_bytes;
}
#define HEAP_SLACK 1024u
#define EXPECT_NO_HEAP_LEAK(before) EXPECT_LE(heap_used(), (before) + HEAP_SLACK)

static zx_status_t wait_now(zx_handle_t port, zx_port_packet_t *out) {
    return zx_port_wait(port, 0, out);
}

// ---- Layouts and constants ----

TEST(layouts_and_constants) {
    EXPECT_EQ(sizeof(zx_port_packet_t), 48u);
    EXPECT_EQ(__builtin_offsetof(zx_port_packet_t, key), 0u);
    EXPECT_EQ(__builtin_offsetof(zx_port_packet_t, type), 8u);
    EXPECT_EQ(__builtin_offsetof(zx_port_packet_t, status), 12u);
    EXPECT_EQ(__builtin_offsetof(zx_port_packet_t, user), 16u);
    EXPECT_EQ(__builtin_offsetof(zx_port_packet_t, signal.trigger), 16u);
    EXPECT_EQ(__builtin_offsetof(zx_port_packet_t, signal.observed), 20u);
    EXPECT_EQ(__builtin_offsetof(zx_port_packet_t, signal.count), 24u);
    EXPECT_EQ(__builtin_offsetof(zx_port_packet_t, signal.timestamp), 32u);
    EXPECT_EQ(__builtin_offsetof(zx_port_packet_t, signal.reserved1), 40u);
    EXPECT_EQ(__builtin_offsetof(zx_port_packet_t, page_request.command), 16u);
    EXPECT_EQ(__builtin_offsetof(zx_port_packet_t, page_request.flags), 18u);
    EXPECT_EQ(__builtin_offsetof(zx_port_packet_t, page_request.offset), 24u);
    EXPECT_EQ(__builtin_offsetof(zx_port_packet_t, page_request.length), 32u);
    EXPECT_EQ(__builtin_offsetof(zx_port_packet_t, page_request.reserved1), 40u);
    EXPECT_EQ(sizeof(zx_wait_item_t), 12u);
    EXPECT_EQ(__builtin_offsetof(zx_wait_item_t, waitfor), 4u);
    EXPECT_EQ(__builtin_offsetof(zx_wait_item_t, pending), 8u);
    EXPECT_EQ(ZX_OBJ_TYPE_PORT, 6u);
    EXPECT_EQ(ZX_PKT_TYPE_USER, 0u);
    EXPECT_EQ(ZX_PKT_TYPE_SIGNAL_ONE, 1u);
    EXPECT_EQ(ZX_PKT_TYPE_PAGE_REQUEST, 9u);
    EXPECT_EQ(ZX_WAIT_ASYNC_TIMESTAMP, 1u);
    EXPECT_EQ(ZX_WAIT_ASYNC_EDGE, 2u);
    EXPECT_EQ(ZX_WAIT_MANY_MAX_ITEMS, 64u);
    EXPECT_EQ(ZX_SIGNAL_HANDLE_CLOSED, 0x800000u);
}

// ---- port_create ----

TEST(create_rights_and_type) {
    zx_handle_t p = make_port();
    EXPECT_EQ(ut_type(p), ZX_OBJ_TYPE_PORT);
    EXPECT_EQ(ut_rights(p), PORT_RIGHTS);
    zx_handle_close(p);
}

TEST(create_errors) {
    zx_handle_t p;
    EXPECT_STATUS(zx_port_create(1, &p), ZX_ERR_INVALID_ARGS);
    EXPECT_STATUS(zx_port_create(0x80000000u, &p), ZX_ERR_INVALID_ARGS);
    EXPECT_PTR_ERRORS(zx_port_create(0, (zx_handle_t *)bad), ut_ro_page);
}

TEST(port_is_not_waitable) {
    zx_handle_t p = make_port(), q = make_port();
    zx_signals_t seen;
    EXPECT_STATUS(zx_object_wait_one(p, 1, 0, &seen), ZX_ERR_ACCESS_DENIED);
    EXPECT_STATUS(zx_object_wait_async(p, q, 1, 1, 0), ZX_ERR_ACCESS_DENIED);
    zx_wait_item_t item = {p, 1, 0};
    EXPECT_STATUS(zx_object_wait_many(&item, 1, 0), ZX_ERR_ACCESS_DENIED);
    zx_handle_close(p);
    zx_handle_close(q);
}

// ---- port_queue / port_wait ----

TEST(queue_and_wait_round_trip) {
    zx_handle_t p = make_port();
    zx_port_packet_t in = user_packet(KEY, 100), out;
    EXPECT_OK(zx_port_queue(p, &in));
    memset(&out, 0xa5, sizeof(out));
    EXPECT_OK(zx_port_wait(p, ZX_TIME_INFINITE, &out));
    EXPECT_EQ(out.key, KEY);
    EXPECT_EQ(out.type, ZX_PKT_TYPE_USER);
    EXPECT_EQ(out.status, -7);
    for (int i = 0; i < 4; i++)
        EXPECT_EQ(out.user.u64[i], 100u + (uint64_t)i);
    EXPECT_STATUS(wait_now(p, &out), ZX_ERR_TIMED_OUT);
    zx_handle_close(p);
}

TEST(wait_is_fifo) {
    zx_handle_t p = make_port();
    for (uint64_t i = 0; i < 50; i++) {
        zx_port_packet_t in = user_packet(i, i * 10);
        EXPECT_OK(zx_port_queue(p, &in));
    }
    for (uint64_t i = 0; i < 50; i++) {
        zx_port_packet_t out;
        REQUIRE_OK(wait_now(p, &out));
        EXPECT_EQ(out.key, i);
        EXPECT_EQ(out.user.u64[0], i * 10);
    }
    zx_handle_close(p);
}

TEST(wait_past_deadline_takes_queued_packet) {
    zx_handle_t p = make_port();
    zx_port_packet_t in = user_packet(1, 1), out;
    EXPECT_OK(zx_port_queue(p, &in));
    EXPECT_OK(zx_port_wait(p, 1, &out));  // long past
    EXPECT_EQ(out.key, 1u);
    EXPECT_STATUS(zx_port_wait(p, 1, &out), ZX_ERR_TIMED_OUT);
    zx_time_t before = zx_clock_get_monotonic();
    EXPECT_STATUS(zx_port_wait(p, ut_deadline_after(20 * MS), &out), ZX_ERR_TIMED_OUT);
    EXPECT_SGE(zx_clock_get_monotonic() - before, 20 * MS);
    zx_handle_close(p);
}

TEST(queue_errors) {
    zx_handle_t p = make_port();
    zx_port_packet_t in = user_packet(1, 1);
    EXPECT_HANDLE_ERRORS(zx_port_queue(h, &in));
    zx_handle_t ro = ut_dup(p, PORT_RIGHTS & ~ZX_RIGHT_WRITE);
    EXPECT_STATUS(zx_port_queue(ro, &in), ZX_ERR_ACCESS_DENIED);
    zx_handle_close(ro);
    EXPECT_PTR_ERRORS(zx_port_queue(p, (const zx_port_packet_t *)bad), ut_noaccess_page);
    zx_port_packet_t out;
    EXPECT_STATUS(wait_now(p, &out), ZX_ERR_TIMED_OUT);  // nothing was queued by the failures
    zx_handle_close(p);
}

TEST(wait_errors) {
    zx_handle_t p = make_port();
    zx_port_packet_t out;
    EXPECT_HANDLE_ERRORS(zx_port_wait(h, 0, &out));
    zx_handle_t wo = ut_dup(p, PORT_RIGHTS & ~ZX_RIGHT_READ);
    EXPECT_STATUS(zx_port_wait(wo, 0, &out), ZX_ERR_ACCESS_DENIED);
    zx_handle_close(wo);
    // A bad output pointer takes no packet.
    zx_port_packet_t in = user_packet(9, 9);
    EXPECT_OK(zx_port_queue(p, &in));
    EXPECT_PTR_ERRORS(zx_port_wait(p, 0, (zx_port_packet_t *)bad), ut_ro_page);
    EXPECT_OK(wait_now(p, &out));
    EXPECT_EQ(out.key, 9u);
    zx_handle_close(p);
}

TEST(full_port_should_wait) {
    zx_handle_t p = make_port();
    uint64_t heap0 = heap_used();
    zx_port_packet_t in = user_packet(0, 0), out;
    int queued = 0;
    zx_status_t st;
    while ((st = zx_port_queue(p, &in)) == ZX_OK && queued < 5000)
        queued++;
    EXPECT_STATUS(st, ZX_ERR_SHOULD_WAIT);
    EXPECT_EQ(queued, 4096);
    // A signal packet is not refused: it was paid for when the wait was made.
    zx_handle_t e = make_event();
    EXPECT_OK(zx_object_wait_async(e, p, 77, ZX_EVENT_SIGNALED, 0));
    EXPECT_OK(zx_object_signal(e, 0, ZX_EVENT_SIGNALED));
    EXPECT_STATUS(zx_port_queue(p, &in), ZX_ERR_SHOULD_WAIT);
    EXPECT_OK(wait_now(p, &out));
    EXPECT_STATUS(zx_port_queue(p, &in), ZX_ERR_SHOULD_WAIT);  // 4096 still queued
    EXPECT_OK(wait_now(p, &out));
    EXPECT_OK(zx_port_queue(p, &in));
    // Closing the port frees every queued packet.
    zx_handle_close(p);
    zx_handle_close(e);
    EXPECT_NO_HEAP_LEAK(heap0);
}

// ---- Multi-threaded waiters ----

struct waiter_ctx {
    zx_handle_t port;
    volatile uint64_t sum;
    volatile int got;
    int want;
};

static void waiter_thread(uintptr_t arg, uintptr_t unused) {
    struct waiter_ctx *c = (struct waiter_ctx *)arg;
    for (;;) {
        zx_port_packet_t out;
        zx_status_t st = zx_port_wait(c->port, ut_deadline_after(5000 * MS), &out);
        if (st != ZX_OK || out.key == 0)
            break;
        __atomic_fetch_add(&c->sum, out.user.u64[0], __ATOMIC_RELAXED);
        __atomic_fetch_add(&c->got, 1, __ATOMIC_RELAXED);
    }
    zx_thread_exit();
}

TEST(many_waiters_each_packet_once) {
    enum { THREADS = 4, PACKETS = 2000 };
    struct waiter_ctx c = {.port = make_port(), .want = PACKETS};
    struct ut_thread t[THREADS];
    for (int i = 0; i < THREADS; i++)
        REQUIRE_OK(ut_thread_spawn(&t[i], waiter_thread, (uintptr_t)&c, 0));
    uint64_t want_sum = 0;
    for (uint64_t i = 1; i <= PACKETS; i++) {
        zx_port_packet_t in = user_packet(1, i);
        while (zx_port_queue(c.port, &in) == ZX_ERR_SHOULD_WAIT)
            zx_nanosleep(0);
        want_sum += i;
    }
    for (int i = 0; i < THREADS; i++) {  // key 0: stop
        zx_port_packet_t stop = user_packet(0, 0);
        EXPECT_OK(zx_port_queue(c.port, &stop));
    }
    for (int i = 0; i < THREADS; i++)
        EXPECT_TRUE(ut_thread_join(&t[i], 20000));
    EXPECT_EQ(c.got, PACKETS);
    EXPECT_EQ(c.sum, want_sum);
    zx_handle_close(c.port);
}

static void blocked_waiter(uintptr_t port, uintptr_t result) {
    zx_port_packet_t out;
    *(volatile zx_status_t *)result = zx_port_wait((zx_handle_t)port, ZX_TIME_INFINITE, &out);
    zx_thread_exit();
}

TEST(waiter_wakes_on_queue) {
    zx_handle_t p = make_port();
    volatile zx_status_t result = 1;
    struct ut_thread t;
    REQUIRE_OK(ut_thread_spawn(&t, blocked_waiter, p, (uintptr_t)&result));
    zx_nanosleep(ut_deadline_after(20 * MS));
    EXPECT_EQ(result, 1);  // still waiting
    zx_info_thread_t info;
    ut_get_info(t.thread, ZX_INFO_THREAD, &info, sizeof(info));
    EXPECT_EQ(info.state, ZX_THREAD_STATE_BLOCKED_PORT);
    zx_port_packet_t in = user_packet(3, 3);
    EXPECT_OK(zx_port_queue(p, &in));
    EXPECT_TRUE(ut_thread_join(&t, 5000));
    EXPECT_EQ(result, ZX_OK);
    zx_handle_close(p);
}

// A child blocks in port_wait forever; killing it must wake it (the process terminates).
static int child_wait_forever(int argc, char **argv) {
    zx_handle_t p;
    if (zx_port_create(0, &p) != ZX_OK)
        return 1;
    zx_port_packet_t out;
    zx_port_wait(p, ZX_TIME_INFINITE, &out);
    return 2;
}

TEST(kill_wakes_port_waiter) {
    zx_handle_t proc = ut_start_child("wait_forever", NULL);
    REQUIRE_TRUE(proc != ZX_HANDLE_INVALID);
    zx_nanosleep(ut_deadline_after(50 * MS));
    EXPECT_OK(zx_task_kill(proc));
    EXPECT_OK(zx_object_wait_one(proc, ZX_PROCESS_TERMINATED, ut_deadline_after(5000 * MS), NULL));
    zx_handle_close(proc);
}

// ---- object_wait_async ----

static void expect_signal_packet(zx_handle_t port, uint64_t key, zx_signals_t trigger,
                                 zx_signals_t observed) {
    zx_port_packet_t out;
    if (!EXPECT_OK(wait_now(port, &out)))
        return;
    EXPECT_EQ(out.key, key);
    EXPECT_EQ(out.type, ZX_PKT_TYPE_SIGNAL_ONE);
    EXPECT_EQ(out.status, ZX_OK);
    EXPECT_EQ(out.signal.trigger, trigger);
    EXPECT_EQ(out.signal.observed, observed);
    EXPECT_EQ(out.signal.count, 1u);
    EXPECT_EQ(out.signal.timestamp, 0);
    EXPECT_EQ(out.signal.reserved1, 0u);
}

TEST(wait_async_fires_on_rise_once) {
    zx_handle_t p = make_port(), e = make_event();
    EXPECT_OK(zx_object_wait_async(e, p, KEY, ZX_EVENT_SIGNALED | ZX_USER_SIGNAL_0, 0));
    zx_port_packet_t out;
    EXPECT_STATUS(wait_now(p, &out), ZX_ERR_TIMED_OUT);
    EXPECT_OK(zx_object_signal(e, 0, ZX_USER_SIGNAL_1));  // not asked for
    EXPECT_STATUS(wait_now(p, &out), ZX_ERR_TIMED_OUT);
    EXPECT_OK(zx_object_signal(e, 0, ZX_EVENT_SIGNALED));
    expect_signal_packet(p, KEY, ZX_EVENT_SIGNALED | ZX_USER_SIGNAL_0,
                         ZX_EVENT_SIGNALED | ZX_USER_SIGNAL_1);
    // One-shot: later changes queue nothing.
    EXPECT_OK(zx_object_signal(e, ZX_EVENT_SIGNALED, 0));
    EXPECT_OK(zx_object_signal(e, 0, ZX_EVENT_SIGNALED));
    EXPECT_STATUS(wait_now(p, &out), ZX_ERR_TIMED_OUT);
    zx_handle_close(e);
    zx_handle_close(p);
}

TEST(wait_async_fires_at_once_when_up) {
    zx_handle_t p = make_port(), e = make_event();
    EXPECT_OK(zx_object_signal(e, 0, ZX_USER_SIGNAL_2));
    EXPECT_OK(zx_object_wait_async(e, p, 5, ZX_USER_SIGNAL_2, 0));
    expect_signal_packet(p, 5, ZX_USER_SIGNAL_2, ZX_USER_SIGNAL_2);
    zx_handle_close(e);
    zx_handle_close(p);
}

TEST(wait_async_edge_waits_for_a_later_rise) {
    zx_handle_t p = make_port(), e = make_event();
    zx_port_packet_t out;
    EXPECT_OK(zx_object_signal(e, 0, ZX_USER_SIGNAL_2));
    EXPECT_OK(zx_object_wait_async(e, p, 6, ZX_USER_SIGNAL_2, ZX_WAIT_ASYNC_EDGE));
    EXPECT_STATUS(wait_now(p, &out), ZX_ERR_TIMED_OUT);
    EXPECT_OK(zx_object_signal(e, 0, ZX_USER_SIGNAL_3));  // another signal changes: no rise
    EXPECT_STATUS(wait_now(p, &out), ZX_ERR_TIMED_OUT);
    EXPECT_OK(zx_object_signal(e, ZX_USER_SIGNAL_2, 0));
    EXPECT_STATUS(wait_now(p, &out), ZX_ERR_TIMED_OUT);
    EXPECT_OK(zx_object_signal(e, 0, ZX_USER_SIGNAL_2));
    expect_signal_packet(p, 6, ZX_USER_SIGNAL_2, ZX_USER_SIGNAL_2 | ZX_USER_SIGNAL_3);
    zx_handle_close(e);
    zx_handle_close(p);
}

TEST(wait_async_timestamp) {
    zx_handle_t p = make_port(), e = make_event();
    EXPECT_OK(zx_object_wait_async(e, p, 7, ZX_EVENT_SIGNALED, ZX_WAIT_ASYNC_TIMESTAMP));
    zx_time_t before = zx_clock_get_monotonic();
    EXPECT_OK(zx_object_signal(e, 0, ZX_EVENT_SIGNALED));
    zx_time_t after = zx_clock_get_monotonic();
    zx_port_packet_t out;
    REQUIRE_OK(wait_now(p, &out));
    EXPECT_EQ(out.type, ZX_PKT_TYPE_SIGNAL_ONE);
    EXPECT_SGE(out.signal.timestamp, before);
    EXPECT_SLE(out.signal.timestamp, after);
    zx_handle_close(e);
    zx_handle_close(p);
}

TEST(wait_async_not_deduplicated) {
    zx_handle_t p = make_port(), e = make_event();
    for (int i = 0; i < 3; i++)
        EXPECT_OK(zx_object_wait_async(e, p, 8, ZX_EVENT_SIGNALED, 0));
    EXPECT_OK(zx_object_signal(e, 0, ZX_EVENT_SIGNALED));
    for (int i = 0; i < 3; i++)
        expect_signal_packet(p, 8, ZX_EVENT_SIGNALED, ZX_EVENT_SIGNALED);
    zx_port_packet_t out;
    EXPECT_STATUS(wait_now(p, &out), ZX_ERR_TIMED_OUT);
    zx_handle_close(e);
    zx_handle_close(p);
}

TEST(wait_async_errors) {
    zx_handle_t p = make_port(), e = make_event();
    // Options: only TIMESTAMP and EDGE.
    EXPECT_STATUS(zx_object_wait_async(e, p, 1, 1, ZX_WAIT_ASYNC_BOOT_TIMESTAMP),
                  ZX_ERR_INVALID_ARGS);
    EXPECT_STATUS(zx_object_wait_async(e, p, 1, 1, 8), ZX_ERR_INVALID_ARGS);
    EXPECT_STATUS(zx_object_wait_async(e, p, 1, 1, 0x80000000u), ZX_ERR_INVALID_ARGS);
    // The port handle.
    EXPECT_HANDLE_ERRORS_WITH(zx_object_wait_async(e, h, 1, 1, 0), e);
    zx_handle_t ro = ut_dup(p, PORT_RIGHTS & ~ZX_RIGHT_WRITE);
    EXPECT_STATUS(zx_object_wait_async(e, ro, 1, 1, 0), ZX_ERR_ACCESS_DENIED);
    zx_handle_close(ro);
    // The waited handle.
    EXPECT_STATUS(zx_object_wait_async(ZX_HANDLE_INVALID, p, 1, 1, 0), ZX_ERR_BAD_HANDLE);
    EXPECT_STATUS(zx_object_wait_async(ut_stale_handle, p, 1, 1, 0), ZX_ERR_BAD_HANDLE);
    EXPECT_STATUS(zx_object_wait_async(UT_FORGED_HANDLE, p, 1, 1, 0), ZX_ERR_BAD_HANDLE);
    zx_handle_t nowait = ut_dup(e, ZX_DEFAULT_EVENT_RIGHTS & ~ZX_RIGHT_WAIT);
    EXPECT_STATUS(zx_object_wait_async(nowait, p, 1, 1, 0), ZX_ERR_ACCESS_DENIED);
    zx_handle_close(nowait);
    EXPECT_STATUS(zx_object_wait_async(zx_vmar_root_self(), p, 1, 1, 0), ZX_ERR_ACCESS_DENIED);
    zx_port_packet_t out;
    EXPECT_STATUS(wait_now(p, &out), ZX_ERR_TIMED_OUT);
    zx_handle_close(e);
    zx_handle_close(p);
}

// Each kind of waitable object: a user signal raised on it reaches the port, and so does its own
// signal where the test can raise one.
TEST(wait_async_on_every_object_kind) {
    zx_handle_t p = make_port();
    zx_handle_t ev = make_event(), ep0, ep1, ch0, ch1, vmo, job;
    REQUIRE_OK(zx_eventpair_create(0, &ep0, &ep1));
    REQUIRE_OK(zx_channel_create(0, &ch0, &ch1));
    REQUIRE_OK(zx_vmo_create(PAGE, 0, &vmo));
    REQUIRE_OK(zx_job_create(zx_job_default(), 0, &job));
    zx_handle_t objs[] = {ev, ep0, ch0, vmo, job, zx_process_self(), zx_thread_self()};
    for (size_t i = 0; i < sizeof(objs) / sizeof(objs[0]); i++) {
        EXPECT_OK(zx_object_wait_async(objs[i], p, 100 + i, ZX_USER_SIGNAL_5, 0));
        EXPECT_OK(zx_object_signal(objs[i], 0, ZX_USER_SIGNAL_5));
        zx_port_packet_t out;
        if (EXPECT_OK(wait_now(p, &out))) {
            EXPECT_EQ(out.key, 100 + i);
            EXPECT_TRUE(out.signal.observed & ZX_USER_SIGNAL_5);
        }
        EXPECT_OK(zx_object_signal(objs[i], ZX_USER_SIGNAL_5, 0));
    }
    // Their own signals: channel readable and peer closed, event pair peer closed, VMO child
    // count, job and process termination.
    EXPECT_OK(zx_object_wait_async(ch0, p, 1, ZX_CHANNEL_READABLE, 0));
    EXPECT_OK(zx_channel_write(ch1, 0, "x", 1, NULL, 0));
    expect_signal_packet(p, 1, ZX_CHANNEL_READABLE, ZX_CHANNEL_READABLE | ZX_CHANNEL_WRITABLE);
    EXPECT_OK(zx_object_wait_async(ch0, p, 2, ZX_CHANNEL_PEER_CLOSED, 0));
    zx_handle_close(ch1);
    zx_port_packet_t pc;
    if (EXPECT_OK(wait_now(p, &pc))) {
        EXPECT_EQ(pc.key, 2u);
        EXPECT_EQ(pc.signal.trigger, ZX_CHANNEL_PEER_CLOSED);
        EXPECT_EQ(pc.signal.observed & (ZX_CHANNEL_READABLE | ZX_CHANNEL_PEER_CLOSED),
                  ZX_CHANNEL_READABLE | ZX_CHANNEL_PEER_CLOSED);
    }
    EXPECT_OK(zx_object_wait_async(ep0, p, 3, ZX_EVENTPAIR_PEER_CLOSED, 0));
    zx_handle_close(ep1);
    expect_signal_packet(p, 3, ZX_EVENTPAIR_PEER_CLOSED, ZX_EVENTPAIR_PEER_CLOSED);
    zx_handle_t child;
    REQUIRE_OK(zx_vmo_create_child(vmo, ZX_VMO_CHILD_SNAPSHOT, 0, PAGE, &child));
    EXPECT_OK(zx_object_wait_async(vmo, p, 4, ZX_VMO_ZERO_CHILDREN, 0));
    zx_handle_close(child);
    expect_signal_packet(p, 4, ZX_VMO_ZERO_CHILDREN, ZX_VMO_ZERO_CHILDREN);
    EXPECT_OK(zx_object_wait_async(job, p, 5, ZX_TASK_TERMINATED, 0));
    EXPECT_OK(zx_task_kill(job));
    expect_signal_packet(p, 5, ZX_TASK_TERMINATED, ZX_TASK_TERMINATED);
    zx_handle_t proc = ut_start_child("wait_forever", NULL);
    if (proc != ZX_HANDLE_INVALID) {
        EXPECT_OK(zx_object_wait_async(proc, p, 6, ZX_PROCESS_TERMINATED, 0));
        EXPECT_OK(zx_task_kill(proc));
        zx_port_packet_t out;
        EXPECT_OK(zx_port_wait(p, ut_deadline_after(5000 * MS), &out));
        EXPECT_EQ(out.key, 6u);
        EXPECT_TRUE(out.signal.observed & ZX_PROCESS_TERMINATED);
        zx_handle_close(proc);
    }
    zx_handle_close(ev);
    zx_handle_close(ep0);
    zx_handle_close(ch0);
    zx_handle_close(vmo);
    zx_handle_close(job);
    zx_handle_close(p);
}

static void exit_soon(uintptr_t a, uintptr_t b) {
    zx_nanosleep(ut_deadline_after(10 * MS));
    zx_thread_exit();
}

TEST(wait_async_on_thread_termination) {
    zx_handle_t p = make_port();
    struct ut_thread t;
    REQUIRE_OK(ut_thread_spawn(&t, exit_soon, 0, 0));
    EXPECT_OK(zx_object_wait_async(t.thread, p, 9, ZX_THREAD_TERMINATED, 0));
    zx_port_packet_t out;
    EXPECT_OK(zx_port_wait(p, ut_deadline_after(5000 * MS), &out));
    EXPECT_EQ(out.key, 9u);
    EXPECT_TRUE(out.signal.observed & ZX_THREAD_TERMINATED);
    EXPECT_TRUE(ut_thread_join(&t, 5000));
    zx_handle_close(p);
}

// A handle's close drops its pending waits but not the packets already queued.
TEST(closing_handle_drops_pending_waits) {
    zx_handle_t p = make_port(), e = make_event();
    uint64_t heap0 = heap_used();
    zx_handle_t e2 = ut_dup(e, ZX_DEFAULT_EVENT_RIGHTS);
    EXPECT_OK(zx_object_wait_async(e2, p, 1, ZX_USER_SIGNAL_0, 0));  // fires below
    for (int i = 0; i < 30; i++)  // pending at the close
        EXPECT_OK(zx_object_wait_async(e2, p, 2, ZX_USER_SIGNAL_1, 0));
    EXPECT_OK(zx_object_wait_async(e, p, 3, ZX_USER_SIGNAL_1, 0));   // another handle: stays
    EXPECT_OK(zx_object_signal(e, 0, ZX_USER_SIGNAL_0));
    zx_handle_close(e2);
    EXPECT_OK(zx_object_signal(e, 0, ZX_USER_SIGNAL_1));
    zx_port_packet_t out;
    REQUIRE_OK(wait_now(p, &out));
    EXPECT_EQ(out.key, 1u);
    REQUIRE_OK(wait_now(p, &out));
    EXPECT_EQ(out.key, 3u);
    EXPECT_STATUS(wait_now(p, &out), ZX_ERR_TIMED_OUT);
    EXPECT_NO_HEAP_LEAK(heap0);
    zx_handle_close(e);
    zx_handle_close(p);
}

// Moving the handle (replace, or a channel write) is a close of that handle value too.
TEST(replacing_handle_drops_pending_waits) {
    zx_handle_t p = make_port(), e = make_event(), e2;
    EXPECT_OK(zx_object_wait_async(e, p, 1, ZX_USER_SIGNAL_0, 0));
    REQUIRE_OK(zx_handle_replace(e, ZX_RIGHT_SAME_RIGHTS, &e2));
    EXPECT_OK(zx_object_signal(e2, 0, ZX_USER_SIGNAL_0));
    zx_port_packet_t out;
    EXPECT_STATUS(wait_now(p, &out), ZX_ERR_TIMED_OUT);
    zx_handle_t c0, c1;
    REQUIRE_OK(zx_channel_create(0, &c0, &c1));
    EXPECT_OK(zx_object_wait_async(e2, p, 2, ZX_USER_SIGNAL_1, 0));
    EXPECT_OK(zx_channel_write(c0, 0, NULL, 0, &e2, 1));
    zx_handle_t e3;
    uint32_t nb, nh;
    REQUIRE_OK(zx_channel_read(c1, 0, NULL, &e3, 0, 1, &nb, &nh));
    EXPECT_OK(zx_object_signal(e3, 0, ZX_USER_SIGNAL_1));
    EXPECT_STATUS(wait_now(p, &out), ZX_ERR_TIMED_OUT);
    zx_handle_close(e3);
    zx_handle_close(c0);
    zx_handle_close(c1);
    zx_handle_close(p);
}

// The port's last close drops everything: armed waits and queued packets of every kind.
TEST(closing_port_frees_everything) {
    uint64_t heap0 = heap_used();
    zx_handle_t e = make_event();
    uint64_t heap1 = heap_used();
    for (int round = 0; round < 3; round++) {
        zx_handle_t p = make_port();
        for (int i = 0; i < 100; i++)
            EXPECT_OK(zx_object_wait_async(e, p, (uint64_t)i, ZX_USER_SIGNAL_0 << (i % 2), 0));
        EXPECT_OK(zx_object_signal(e, 0, ZX_USER_SIGNAL_0));  // half of them fire
        for (int i = 0; i < 100; i++) {
            zx_port_packet_t in = user_packet((uint64_t)i, 0);
            EXPECT_OK(zx_port_queue(p, &in));
        }
        zx_handle_t p2 = ut_dup(p, PORT_RIGHTS);
        zx_handle_close(p);
        zx_port_packet_t out;
        EXPECT_OK(wait_now(p2, &out));  // a second handle keeps it all
        zx_handle_close(p2);
        EXPECT_OK(zx_object_signal(e, ZX_USER_SIGNAL_0, ZX_USER_SIGNAL_1));  // nothing left
        EXPECT_OK(zx_object_signal(e, ZX_USER_SIGNAL_1, 0));
        EXPECT_NO_HEAP_LEAK(heap1);
    }
    zx_handle_close(e);
    EXPECT_NO_HEAP_LEAK(heap0);
}

// A process that dies with waits armed and packets queued leaves nothing behind.
static int child_leave_waits(int argc, char **argv) {
    zx_handle_t p, e;
    if (zx_port_create(0, &p) != ZX_OK || zx_event_create(0, &e) != ZX_OK)
        return 1;
    for (int i = 0; i < 50; i++) {
        zx_object_wait_async(e, p, (uint64_t)i, ZX_USER_SIGNAL_0, 0);
        zx_object_wait_async(zx_process_self(), p, (uint64_t)i, ZX_PROCESS_TERMINATED, 0);
        zx_port_packet_t in = user_packet((uint64_t)i, 0);
        zx_port_queue(p, &in);
    }
    zx_object_signal(e, 0, ZX_USER_SIGNAL_0);
    return 0;
}

TEST(dying_process_leaves_nothing) {
    uint64_t heap0 = heap_used();
    EXPECT_EQ(ut_run_child("leave_waits", NULL), 0);
    EXPECT_NO_HEAP_LEAK(heap0);
}

// ---- port_cancel ----

TEST(cancel_removes_waits_and_packets_of_that_handle_and_key) {
    zx_handle_t p = make_port(), e = make_event();
    uint64_t heap0 = heap_used();
    zx_handle_t e2 = ut_dup(e, ZX_DEFAULT_EVENT_RIGHTS);
    EXPECT_OK(zx_object_wait_async(e, p, 1, ZX_USER_SIGNAL_0, 0));   // queued below
    for (int i = 0; i < 30; i++)  // still armed
        EXPECT_OK(zx_object_wait_async(e, p, 1, ZX_USER_SIGNAL_1, 0));
    EXPECT_OK(zx_object_wait_async(e, p, 2, ZX_USER_SIGNAL_1, 0));   // other key
    EXPECT_OK(zx_object_wait_async(e2, p, 1, ZX_USER_SIGNAL_1, 0));  // other handle
    zx_port_packet_t in = user_packet(1, 0);
    EXPECT_OK(zx_port_queue(p, &in));  // user packet with key 1: not cancelled
    EXPECT_OK(zx_object_signal(e, 0, ZX_USER_SIGNAL_0));
    EXPECT_OK(zx_port_cancel(p, e, 1));
    EXPECT_STATUS(zx_port_cancel(p, e, 1), ZX_ERR_NOT_FOUND);
    EXPECT_OK(zx_object_signal(e, 0, ZX_USER_SIGNAL_1));
    zx_port_packet_t out;
    REQUIRE_OK(wait_now(p, &out));
    EXPECT_EQ(out.type, ZX_PKT_TYPE_USER);
    REQUIRE_OK(wait_now(p, &out));
    EXPECT_EQ(out.key, 2u);
    REQUIRE_OK(wait_now(p, &out));
    EXPECT_EQ(out.key, 1u);
    EXPECT_STATUS(wait_now(p, &out), ZX_ERR_TIMED_OUT);
    zx_handle_close(e2);
    EXPECT_NO_HEAP_LEAK(heap0);
    // Another port's waits are not touched.
    zx_handle_t q = make_port();
    EXPECT_OK(zx_object_wait_async(e, q, 3, ZX_USER_SIGNAL_2, 0));
    EXPECT_STATUS(zx_port_cancel(p, e, 3), ZX_ERR_NOT_FOUND);
    EXPECT_OK(zx_port_cancel(q, e, 3));
    zx_handle_close(q);
    zx_handle_close(e);
    zx_handle_close(p);
}

TEST(cancel_errors) {
    zx_handle_t p = make_port(), e = make_event();
    EXPECT_HANDLE_ERRORS_WITH(zx_port_cancel(h, e, 1), e);
    zx_handle_t ro = ut_dup(p, PORT_RIGHTS & ~ZX_RIGHT_WRITE);
    EXPECT_STATUS(zx_port_cancel(ro, e, 1), ZX_ERR_ACCESS_DENIED);
    zx_handle_close(ro);
    EXPECT_STATUS(zx_port_cancel(p, ZX_HANDLE_INVALID, 1), ZX_ERR_BAD_HANDLE);
    EXPECT_STATUS(zx_port_cancel(p, ut_stale_handle, 1), ZX_ERR_BAD_HANDLE);
    zx_handle_t nowait = ut_dup(e, ZX_DEFAULT_EVENT_RIGHTS & ~ZX_RIGHT_WAIT);
    EXPECT_STATUS(zx_port_cancel(p, nowait, 1), ZX_ERR_ACCESS_DENIED);
    zx_handle_close(nowait);
    EXPECT_STATUS(zx_port_cancel(p, e, 1), ZX_ERR_NOT_FOUND);
    zx_handle_close(e);
    zx_handle_close(p);
}

// ---- object_wait_many ----

TEST(wait_many_returns_pending) {
    zx_handle_t a = make_event(), b = make_event();
    EXPECT_OK(zx_object_signal(b, 0, ZX_USER_SIGNAL_3));
    zx_wait_item_t items[2] = {{a, ZX_EVENT_SIGNALED, 0xdead}, {b, ZX_USER_SIGNAL_3, 0xdead}};
    EXPECT_OK(zx_object_wait_many(items, 2, ZX_TIME_INFINITE));
    EXPECT_EQ(items[0].pending, 0u);
    EXPECT_EQ(items[1].pending, ZX_USER_SIGNAL_3);
    items[1].waitfor = ZX_USER_SIGNAL_4;
    EXPECT_STATUS(zx_object_wait_many(items, 2, ut_deadline_after(10 * MS)), ZX_ERR_TIMED_OUT);
    EXPECT_EQ(items[0].pending, 0u);
    EXPECT_EQ(items[1].pending, ZX_USER_SIGNAL_3);
    zx_handle_close(a);
    zx_handle_close(b);
}

static void signal_later(uintptr_t h, uintptr_t sig) {
    zx_nanosleep(ut_deadline_after(20 * MS));
    zx_object_signal((zx_handle_t)h, 0, (zx_signals_t)sig);
    zx_thread_exit();
}

static void close_later(uintptr_t h, uintptr_t unused) {
    zx_nanosleep(ut_deadline_after(20 * MS));
    zx_handle_close((zx_handle_t)h);
    zx_thread_exit();
}

TEST(wait_many_wakes_on_any) {
    zx_handle_t ev[8];
    zx_wait_item_t items[8];
    for (int i = 0; i < 8; i++) {
        ev[i] = make_event();
        items[i] = (zx_wait_item_t){ev[i], ZX_EVENT_SIGNALED, 0};
    }
    struct ut_thread t;
    REQUIRE_OK(ut_thread_spawn(&t, signal_later, ev[5], ZX_EVENT_SIGNALED));
    EXPECT_OK(zx_object_wait_many(items, 8, ut_deadline_after(5000 * MS)));
    for (int i = 0; i < 8; i++)
        EXPECT_EQ(items[i].pending, i == 5 ? ZX_EVENT_SIGNALED : 0u);
    EXPECT_TRUE(ut_thread_join(&t, 5000));
    for (int i = 0; i < 8; i++)
        zx_handle_close(ev[i]);
}

TEST(wait_many_handle_closed_is_canceled) {
    zx_handle_t a = make_event(), b = make_event();
    zx_wait_item_t items[2] = {{a, ZX_EVENT_SIGNALED, 0}, {b, ZX_EVENT_SIGNALED, 0}};
    struct ut_thread t;
    REQUIRE_OK(ut_thread_spawn(&t, close_later, b, 0));
    EXPECT_STATUS(zx_object_wait_many(items, 2, ut_deadline_after(5000 * MS)), ZX_ERR_CANCELED);
    EXPECT_EQ(items[0].pending, 0u);
    EXPECT_TRUE(items[1].pending & ZX_SIGNAL_HANDLE_CLOSED);
    EXPECT_TRUE(ut_thread_join(&t, 5000));
    EXPECT_FALSE(ut_handle_valid(b));
    zx_handle_close(a);
}

TEST(wait_many_errors) {
    zx_handle_t e = make_event();
    zx_wait_item_t items[65];
    for (int i = 0; i < 65; i++)
        items[i] = (zx_wait_item_t){e, ZX_EVENT_SIGNALED, 0};
    EXPECT_STATUS(zx_object_wait_many(items, 65, 0), ZX_ERR_OUT_OF_RANGE);
    EXPECT_STATUS(zx_object_wait_many(items, 64, 0), ZX_ERR_TIMED_OUT);  // 64 is allowed
    EXPECT_STATUS(zx_object_wait_many(NULL, 0, 0), ZX_ERR_TIMED_OUT);
    zx_time_t before = zx_clock_get_monotonic();
    EXPECT_STATUS(zx_object_wait_many(NULL, 0, ut_deadline_after(20 * MS)), ZX_ERR_TIMED_OUT);
    EXPECT_SGE(zx_clock_get_monotonic() - before, 20 * MS);
    items[1].handle = ZX_HANDLE_INVALID;
    EXPECT_STATUS(zx_object_wait_many(items, 2, 0), ZX_ERR_BAD_HANDLE);
    items[1].handle = ut_stale_handle;
    EXPECT_STATUS(zx_object_wait_many(items, 2, 0), ZX_ERR_BAD_HANDLE);
    zx_handle_t nowait = ut_dup(e, ZX_DEFAULT_EVENT_RIGHTS & ~ZX_RIGHT_WAIT);
    items[1].handle = nowait;
    EXPECT_STATUS(zx_object_wait_many(items, 2, 0), ZX_ERR_ACCESS_DENIED);
    zx_handle_close(nowait);
    items[1].handle = e;
    EXPECT_PTR_ERRORS(zx_object_wait_many((zx_wait_item_t *)bad, 1, 0), ut_ro_page);
    zx_handle_close(e);
}

TEST(wait_many_leaves_no_observers) {
    zx_handle_t e = make_event(), p = make_port();
    uint64_t heap0 = heap_used();
    zx_wait_item_t items[4];
    for (int round = 0; round < 20; round++) {
        for (int i = 0; i < 4; i++)
            items[i] = (zx_wait_item_t){e, ZX_USER_SIGNAL_0 << i, 0};
        EXPECT_STATUS(zx_object_wait_many(items, 4, 0), ZX_ERR_TIMED_OUT);
    }
    // A later signal finds nothing registered (a stale observer would crash or wake nobody).
    EXPECT_OK(zx_object_signal(e, 0, ZX_USER_SIGNAL_ALL));
    EXPECT_NO_HEAP_LEAK(heap0);
    zx_handle_close(p);
    zx_handle_close(e);
}

// ---- Async waits from several threads on several CPUs ----

struct storm {
    zx_handle_t port;
    zx_handle_t ev[4];
    volatile int stop;
};

static void storm_signaller(uintptr_t arg, uintptr_t idx) {
    struct storm *s = (struct storm *)arg;
    for (int i = 0; i < 2000; i++) {
        zx_handle_t e = s->ev[(idx + (uintptr_t)i) % 4];
        zx_object_signal(e, 0, ZX_USER_SIGNAL_0);
        zx_object_signal(e, ZX_USER_SIGNAL_0, 0);
    }
    zx_thread_exit();
}

TEST(async_waits_race_with_signals_and_closes) {
    struct storm s = {.port = make_port()};
    for (int i = 0; i < 4; i++)
        s.ev[i] = make_event();
    uint64_t heap0 = heap_used();
    struct ut_thread t[3];
    for (int i = 0; i < 3; i++)
        REQUIRE_OK(ut_thread_spawn(&t[i], storm_signaller, (uintptr_t)&s, (uintptr_t)i));
    uint64_t armed = 0, got = 0;
    for (int i = 0; i < 1500; i++) {
        zx_handle_t d = ut_dup(s.ev[i % 4], ZX_DEFAULT_EVENT_RIGHTS);
        if (zx_object_wait_async(d, s.port, (uint64_t)i, ZX_USER_SIGNAL_0, 0) == ZX_OK)
            armed++;
        if (i % 3 == 0)
            zx_port_cancel(s.port, d, (uint64_t)i);
        zx_handle_close(d);
        zx_port_packet_t out;
        while (wait_now(s.port, &out) == ZX_OK)
            got++;
    }
    for (int i = 0; i < 3; i++)
        EXPECT_TRUE(ut_thread_join(&t[i], 20000));
    zx_port_packet_t out;
    while (wait_now(s.port, &out) == ZX_OK)
        got++;
    EXPECT_LE(got, armed);
    zx_handle_close(s.port);
    EXPECT_NO_HEAP_LEAK(heap0);
    for (int i = 0; i < 4; i++)
        zx_handle_close(s.ev[i]);
}

// A child blocked in wait_many forever: killing it must wake it too.
static int child_wait_many_forever(int argc, char **argv) {
    zx_handle_t e;
    if (zx_event_create(0, &e) != ZX_OK)
        return 1;
    zx_wait_item_t item = {e, ZX_EVENT_SIGNALED, 0};
    zx_object_wait_many(&item, 1, ZX_TIME_INFINITE);
    return 2;
}

TEST(kill_wakes_wait_many) {
    zx_handle_t proc = ut_start_child("wait_many_forever", NULL);
    REQUIRE_TRUE(proc != ZX_HANDLE_INVALID);
    zx_nanosleep(ut_deadline_after(50 * MS));
    EXPECT_OK(zx_task_kill(proc));
    EXPECT_OK(zx_object_wait_one(proc, ZX_PROCESS_TERMINATED, ut_deadline_after(5000 * MS), NULL));
    zx_handle_close(proc);
}

static void wait_many_thread(uintptr_t handle, uintptr_t result) {
    zx_wait_item_t item = {(zx_handle_t)handle, ZX_EVENT_SIGNALED, 0};
    *(volatile zx_status_t *)result = zx_object_wait_many(&item, 1, ZX_TIME_INFINITE);
    zx_thread_exit();
}

TEST(wait_many_thread_state_and_wake) {
    zx_handle_t e = make_event();
    volatile zx_status_t result = 1;
    struct ut_thread t;
    REQUIRE_OK(ut_thread_spawn(&t, wait_many_thread, e, (uintptr_t)&result));
    zx_nanosleep(ut_deadline_after(20 * MS));
    zx_info_thread_t info;
    ut_get_info(t.thread, ZX_INFO_THREAD, &info, sizeof(info));
    EXPECT_EQ(info.state, ZX_THREAD_STATE_BLOCKED_WAIT_MANY);
    EXPECT_EQ(result, 1);
    EXPECT_OK(zx_object_signal(e, 0, ZX_EVENT_SIGNALED));
    EXPECT_TRUE(ut_thread_join(&t, 5000));
    EXPECT_EQ(result, ZX_OK);
    zx_handle_close(e);
}

// One thread arms waits through handles another thread keeps closing: every wait must end with
// its handle (armed before the close, the close cancels it; after, BAD_HANDLE). Afterwards no
// handle to the event but the original is left, so raising the signal must queue nothing.
struct close_race {
    zx_handle_t port, ev;
    volatile zx_handle_t cur;
    volatile int stop;
};

static void closer_thread(uintptr_t arg, uintptr_t unused) {
    struct close_race *c = (struct close_race *)arg;
    for (int i = 0; i < 3000; i++) {
        zx_handle_t d;
        if (zx_handle_duplicate(c->ev, ZX_RIGHT_SAME_RIGHTS, &d) != ZX_OK)
            break;
        c->cur = d;
        for (volatile int spin = 0; spin < (i % 8) * 400; spin++) {
        }
        c->cur = ZX_HANDLE_INVALID;
        zx_handle_close(d);
    }
    c->stop = 1;
    zx_thread_exit();
}

TEST(wait_async_races_with_handle_close) {
    struct close_race c = {.port = make_port(), .ev = make_event()};
    uint64_t heap0 = heap_used();
    struct ut_thread t;
    REQUIRE_OK(ut_thread_spawn(&t, closer_thread, (uintptr_t)&c, 0));
    int armed = 0;
    while (!c.stop) {
        zx_handle_t h = c.cur;
        if (h != ZX_HANDLE_INVALID && zx_object_wait_async(h, c.port, 1, ZX_USER_SIGNAL_0, 0) == ZX_OK)
            armed++;
    }
    EXPECT_TRUE(ut_thread_join(&t, 20000));
    EXPECT_OK(zx_object_signal(c.ev, 0, ZX_USER_SIGNAL_0));
    zx_port_packet_t out;
    EXPECT_STATUS(wait_now(c.port, &out), ZX_ERR_TIMED_OUT);
    EXPECT_NO_HEAP_LEAK(heap0);
    zx_handle_close(c.ev);
    zx_handle_close(c.port);
    printf("      (%d waits armed during the race)\n", armed);
}

static const struct ut_child children[] = {
    {"wait_forever", child_wait_forever},
    {"wait_many_forever", child_wait_many_forever},
    {"leave_waits", child_leave_waits},
    {NULL, NULL},
};

UTEST_MAIN(children)
