// Events, event pairs and signals: event_create, eventpair_create, object_signal,
// object_signal_peer (docs/abi.md §6): rights and types, every documented error, user signals on
// other objects, PEER_CLOSED on an end's last close, and waiters woken by signals.
#include "test/user/utest.h"

#define MS ((zx_duration_t)1000000)
#define EVENT_RIGHTS ((zx_rights_t)0xD003u)
#define EVENTPAIR_RIGHTS ((zx_rights_t)0xF003u)

static zx_handle_t make_event(void) {
    zx_handle_t e = ZX_HANDLE_INVALID;
    EXPECT_OK(zx_event_create(0, &e));
    return e;
}

static void make_pair(zx_handle_t *a, zx_handle_t *b) {
    *a = *b = ZX_HANDLE_INVALID;
    EXPECT_OK(zx_eventpair_create(0, a, b));
}

static zx_signals_t signals_of(zx_handle_t h) {
    zx_signals_t seen = 0;
    zx_status_t st = zx_object_wait_one(h, 0xffffffffu, 0, &seen);
    if (st != ZX_OK && st != ZX_ERR_TIMED_OUT)
        EXPECT_FAILF("wait_one for signals failed: %d", st);
    return seen;
}

static zx_koid_t related_koid(zx_handle_t h) {
    zx_info_handle_basic_t info;
    ut_get_info(h, ZX_INFO_HANDLE_BASIC, &info, sizeof(info));
    return info.related_koid;
}

// ---- Creation ----

TEST(event_create_rights_and_type) {
    EXPECT_EQ(ZX_RIGHT_SIGNAL_PEER, 0x2000u);
    EXPECT_EQ(ZX_USER_SIGNAL_ALL, 0xff000000u);
    zx_handle_t e = make_event();
    EXPECT_EQ(ut_type(e), ZX_OBJ_TYPE_EVENT);
    EXPECT_EQ(ut_type(e), 5u);
    EXPECT_EQ(ut_rights(e), EVENT_RIGHTS);
    EXPECT_EQ(signals_of(e), 0u);
    EXPECT_EQ(related_koid(e), 0u);
    zx_handle_close(e);
}

TEST(event_create_errors) {
    zx_handle_t e;
    EXPECT_STATUS(zx_event_create(1, &e), ZX_ERR_INVALID_ARGS);
    EXPECT_STATUS(zx_event_create(0x80000000u, &e), ZX_ERR_INVALID_ARGS);
    EXPECT_PTR_ERRORS(zx_event_create(0, (zx_handle_t *)bad), ut_ro_page);
}

TEST(eventpair_create_rights_types_and_peers) {
    zx_handle_t a, b;
    make_pair(&a, &b);
    EXPECT_EQ(ut_type(a), ZX_OBJ_TYPE_EVENTPAIR);
    EXPECT_EQ(ut_type(b), 16u);
    EXPECT_EQ(ut_rights(a), EVENTPAIR_RIGHTS);
    EXPECT_EQ(ut_rights(b), EVENTPAIR_RIGHTS);
    EXPECT_NE(ut_koid(a), ut_koid(b));
    EXPECT_EQ(related_koid(a), ut_koid(b));
    EXPECT_EQ(related_koid(b), ut_koid(a));
    EXPECT_EQ(signals_of(a), 0u);
    zx_handle_close(a);
    zx_handle_close(b);
}

TEST(eventpair_create_errors) {
    zx_handle_t a, b;
    EXPECT_STATUS(zx_eventpair_create(1, &a, &b), ZX_ERR_NOT_SUPPORTED);
    EXPECT_PTR_ERRORS(zx_eventpair_create(0, (zx_handle_t *)bad, &b), ut_ro_page);
    EXPECT_PTR_ERRORS(zx_eventpair_create(0, &a, (zx_handle_t *)bad), ut_ro_page);
}

// ---- object_signal ----

TEST(signal_event_sets_and_clears) {
    zx_handle_t e = make_event();
    EXPECT_OK(zx_object_signal(e, 0, ZX_EVENT_SIGNALED));
    EXPECT_EQ(signals_of(e), ZX_EVENT_SIGNALED);
    EXPECT_OK(zx_object_signal(e, 0, ZX_USER_SIGNAL_0 | ZX_USER_SIGNAL_7));
    EXPECT_EQ(signals_of(e), ZX_EVENT_SIGNALED | ZX_USER_SIGNAL_0 | ZX_USER_SIGNAL_7);
    // new = (old & ~clear) | set: a bit both cleared and set ends up set.
    EXPECT_OK(zx_object_signal(e, ZX_EVENT_SIGNALED | ZX_USER_SIGNAL_0, ZX_USER_SIGNAL_0));
    EXPECT_EQ(signals_of(e), ZX_USER_SIGNAL_0 | ZX_USER_SIGNAL_7);
    EXPECT_OK(zx_object_signal(e, ZX_USER_SIGNAL_ALL, 0));
    EXPECT_EQ(signals_of(e), 0u);
    zx_handle_close(e);
}

TEST(signal_rejects_other_bits) {
    zx_handle_t e = make_event();
    zx_handle_t a, b;
    make_pair(&a, &b);
    for (uint32_t bit = 0; bit < 24; bit++) {
        zx_signals_t s = 1u << bit;
        zx_status_t want = s == ZX_EVENT_SIGNALED ? ZX_OK : ZX_ERR_INVALID_ARGS;
        EXPECT_STATUS(zx_object_signal(e, 0, s), want);
        EXPECT_STATUS(zx_object_signal(e, s, 0), want);
        EXPECT_STATUS(zx_object_signal(a, 0, s), want);
    }
    // The eventpair's PEER_CLOSED is the kernel's.
    EXPECT_STATUS(zx_object_signal(a, 0, ZX_EVENTPAIR_PEER_CLOSED), ZX_ERR_INVALID_ARGS);
    zx_handle_close(e);
    zx_handle_close(a);
    zx_handle_close(b);
}

TEST(signal_user_signals_on_other_objects) {
    zx_handle_t vmo = ut_vmo(PAGE, -1);
    EXPECT_OK(zx_object_signal(vmo, 0, ZX_USER_SIGNAL_3));
    EXPECT_TRUE(ut_signaled(vmo, ZX_USER_SIGNAL_3));
    EXPECT_TRUE(ut_signaled(vmo, ZX_VMO_ZERO_CHILDREN));  // kernel signals stay
    EXPECT_STATUS(zx_object_signal(vmo, 0, ZX_VMO_ZERO_CHILDREN), ZX_ERR_INVALID_ARGS);
    EXPECT_STATUS(zx_object_signal(vmo, ZX_VMO_ZERO_CHILDREN, 0), ZX_ERR_INVALID_ARGS);
    EXPECT_OK(zx_object_signal(vmo, ZX_USER_SIGNAL_3, 0));
    EXPECT_FALSE(ut_signaled(vmo, ZX_USER_SIGNAL_3));
    zx_handle_close(vmo);

    zx_handle_t c0, c1;
    REQUIRE_OK(zx_channel_create(0, &c0, &c1));
    EXPECT_OK(zx_object_signal(c0, 0, ZX_USER_SIGNAL_1));
    EXPECT_TRUE(ut_signaled(c0, ZX_USER_SIGNAL_1));
    EXPECT_FALSE(ut_signaled(c1, ZX_USER_SIGNAL_1));
    EXPECT_STATUS(zx_object_signal(c0, 0, ZX_CHANNEL_READABLE), ZX_ERR_INVALID_ARGS);
    zx_handle_close(c0);
    zx_handle_close(c1);

    EXPECT_OK(zx_object_signal(zx_process_self(), 0, ZX_USER_SIGNAL_2));
    EXPECT_TRUE(ut_signaled(zx_process_self(), ZX_USER_SIGNAL_2));
    EXPECT_FALSE(ut_signaled(zx_process_self(), ZX_PROCESS_TERMINATED));
    EXPECT_OK(zx_object_signal(zx_process_self(), ZX_USER_SIGNAL_2, 0));
    EXPECT_OK(zx_object_signal(zx_thread_self(), 0, ZX_USER_SIGNAL_4));
    EXPECT_OK(zx_object_signal(zx_thread_self(), ZX_USER_SIGNAL_4, 0));
    EXPECT_OK(zx_object_signal(zx_job_default(), 0, ZX_USER_SIGNAL_5));
    EXPECT_OK(zx_object_signal(zx_job_default(), ZX_USER_SIGNAL_5, 0));
}

TEST(signal_handle_and_rights_errors) {
    zx_handle_t h;
    h = ZX_HANDLE_INVALID;
    EXPECT_STATUS(zx_object_signal(h, 0, ZX_USER_SIGNAL_0), ZX_ERR_BAD_HANDLE);
    EXPECT_STATUS(zx_object_signal(ut_stale_handle, 0, 0), ZX_ERR_BAD_HANDLE);
    EXPECT_STATUS(zx_object_signal(UT_FORGED_HANDLE, 0, 0), ZX_ERR_BAD_HANDLE);
    zx_handle_t e = make_event();
    zx_handle_t nosig = ut_dup(e, EVENT_RIGHTS & ~ZX_RIGHT_SIGNAL);
    EXPECT_STATUS(zx_object_signal(nosig, 0, ZX_USER_SIGNAL_0), ZX_ERR_ACCESS_DENIED);
    // Rights come before the mask check.
    EXPECT_STATUS(zx_object_signal(nosig, 0, 1), ZX_ERR_ACCESS_DENIED);
    EXPECT_FALSE(ut_signaled(e, ZX_USER_SIGNAL_0));
    // A VMAR is not waitable and has no SIGNAL right.
    EXPECT_STATUS(zx_object_signal(zx_vmar_root_self(), 0, ZX_USER_SIGNAL_0),
                  ZX_ERR_ACCESS_DENIED);
    zx_handle_close(nosig);
    zx_handle_close(e);
}

// ---- object_signal_peer ----

TEST(signal_peer_eventpair) {
    zx_handle_t a, b;
    make_pair(&a, &b);
    EXPECT_OK(zx_object_signal_peer(a, 0, ZX_EVENTPAIR_SIGNALED | ZX_USER_SIGNAL_6));
    EXPECT_EQ(signals_of(b), ZX_EVENTPAIR_SIGNALED | ZX_USER_SIGNAL_6);
    EXPECT_EQ(signals_of(a), 0u);
    EXPECT_OK(zx_object_signal_peer(b, 0, ZX_USER_SIGNAL_0));
    EXPECT_EQ(signals_of(a), ZX_USER_SIGNAL_0);
    EXPECT_OK(zx_object_signal_peer(a, ZX_EVENTPAIR_SIGNALED, 0));
    EXPECT_EQ(signals_of(b), ZX_USER_SIGNAL_6);
    EXPECT_STATUS(zx_object_signal_peer(a, 0, ZX_EVENTPAIR_PEER_CLOSED), ZX_ERR_INVALID_ARGS);
    EXPECT_STATUS(zx_object_signal_peer(a, 1, 0), ZX_ERR_INVALID_ARGS);
    EXPECT_EQ(signals_of(b), ZX_USER_SIGNAL_6);
    zx_handle_close(a);
    zx_handle_close(b);
}

TEST(eventpair_last_close_asserts_peer_closed) {
    zx_handle_t a, b;
    make_pair(&a, &b);
    zx_handle_t a2 = ut_dup(a, ZX_RIGHT_SAME_RIGHTS);
    zx_handle_close(a);
    EXPECT_FALSE(ut_signaled(b, ZX_EVENTPAIR_PEER_CLOSED));  // a2 still names that end
    EXPECT_OK(zx_object_signal_peer(b, 0, ZX_USER_SIGNAL_1));
    EXPECT_OK(zx_object_signal(b, 0, ZX_USER_SIGNAL_2));
    zx_handle_close(a2);
    EXPECT_EQ(signals_of(b), ZX_EVENTPAIR_PEER_CLOSED | ZX_USER_SIGNAL_2);
    // The mask is checked before the peer.
    EXPECT_STATUS(zx_object_signal_peer(b, 0, 1), ZX_ERR_INVALID_ARGS);
    EXPECT_STATUS(zx_object_signal_peer(b, 0, ZX_USER_SIGNAL_0), ZX_ERR_PEER_CLOSED);
    EXPECT_OK(zx_object_signal(b, 0, ZX_EVENTPAIR_SIGNALED));  // its own signals still work
    zx_handle_close(b);
}

TEST(signal_peer_channel_user_signals_only) {
    zx_handle_t c0, c1;
    REQUIRE_OK(zx_channel_create(0, &c0, &c1));
    EXPECT_OK(zx_object_signal_peer(c0, 0, ZX_USER_SIGNAL_7));
    EXPECT_TRUE(ut_signaled(c1, ZX_USER_SIGNAL_7));
    EXPECT_FALSE(ut_signaled(c0, ZX_USER_SIGNAL_7));
    EXPECT_STATUS(zx_object_signal_peer(c0, 0, 0x8), ZX_ERR_INVALID_ARGS);
    EXPECT_STATUS(zx_object_signal_peer(c0, 0, ZX_CHANNEL_READABLE), ZX_ERR_INVALID_ARGS);
    EXPECT_OK(zx_object_signal_peer(c0, ZX_USER_SIGNAL_7, 0));
    EXPECT_FALSE(ut_signaled(c1, ZX_USER_SIGNAL_7));
    zx_handle_close(c1);
    EXPECT_STATUS(zx_object_signal_peer(c0, 0, ZX_USER_SIGNAL_0), ZX_ERR_PEER_CLOSED);
    zx_handle_close(c0);
}

TEST(signal_peer_errors) {
    EXPECT_STATUS(zx_object_signal_peer(ZX_HANDLE_INVALID, 0, 0), ZX_ERR_BAD_HANDLE);
    EXPECT_STATUS(zx_object_signal_peer(ut_stale_handle, 0, 0), ZX_ERR_BAD_HANDLE);
    EXPECT_STATUS(zx_object_signal_peer(UT_FORGED_HANDLE, 0, 0), ZX_ERR_BAD_HANDLE);
    // Objects without a peer have no SIGNAL_PEER right: ACCESS_DENIED comes first.
    zx_handle_t e = make_event();
    EXPECT_STATUS(zx_object_signal_peer(e, 0, ZX_USER_SIGNAL_0), ZX_ERR_ACCESS_DENIED);
    zx_handle_t vmo = ut_vmo(PAGE, -1);
    EXPECT_STATUS(zx_object_signal_peer(vmo, 0, ZX_USER_SIGNAL_0), ZX_ERR_ACCESS_DENIED);
    EXPECT_STATUS(zx_object_signal_peer(zx_process_self(), 0, ZX_USER_SIGNAL_0),
                  ZX_ERR_ACCESS_DENIED);
    zx_handle_t a, b;
    make_pair(&a, &b);
    zx_handle_t nopeer = ut_dup(a, EVENTPAIR_RIGHTS & ~ZX_RIGHT_SIGNAL_PEER);
    EXPECT_STATUS(zx_object_signal_peer(nopeer, 0, ZX_USER_SIGNAL_0), ZX_ERR_ACCESS_DENIED);
    EXPECT_OK(zx_object_signal(nopeer, 0, ZX_USER_SIGNAL_0));  // SIGNAL is still there
    EXPECT_FALSE(ut_signaled(b, ZX_USER_SIGNAL_0));
    zx_handle_close(nopeer);
    zx_handle_close(a);
    zx_handle_close(b);
    zx_handle_close(vmo);
    zx_handle_close(e);
}

// ---- Waiters ----

static void thread_wait_signal(uintptr_t h, uintptr_t out) {
    zx_signals_t seen = 0;
    zx_status_t st = zx_object_wait_one((zx_handle_t)h, ZX_EVENT_SIGNALED | ZX_EVENTPAIR_PEER_CLOSED,
                                        ZX_TIME_INFINITE, &seen);
    ((volatile uint64_t *)out)[0] = (uint64_t)(uint32_t)st;
    ((volatile uint64_t *)out)[1] = seen;
    zx_thread_exit();
}

TEST(signal_wakes_a_waiter_in_another_thread) {
    zx_handle_t e = make_event();
    volatile uint64_t result[2] = {0xdead, 0};
    struct ut_thread t;
    REQUIRE_OK(ut_thread_spawn(&t, thread_wait_signal, e, (uintptr_t)result));
    EXPECT_OK(zx_object_signal(e, 0, ZX_EVENT_SIGNALED));
    EXPECT_TRUE(ut_thread_join(&t, 10000));
    EXPECT_EQ(result[0], (uint64_t)ZX_OK);
    EXPECT_EQ(result[1], ZX_EVENT_SIGNALED);
    zx_handle_close(e);
}

TEST(peer_close_wakes_a_waiter) {
    zx_handle_t a, b;
    make_pair(&a, &b);
    volatile uint64_t result[2] = {0xdead, 0};
    struct ut_thread t;
    REQUIRE_OK(ut_thread_spawn(&t, thread_wait_signal, b, (uintptr_t)result));
    zx_handle_close(a);
    EXPECT_TRUE(ut_thread_join(&t, 10000));
    EXPECT_EQ(result[0], (uint64_t)ZX_OK);
    EXPECT_EQ(result[1], ZX_EVENTPAIR_PEER_CLOSED);
    zx_handle_close(b);
}

// Many signal changes from several threads at once: the last state is what every change implies.
static void thread_toggle(uintptr_t h, uintptr_t bit) {
    for (int i = 0; i < 300; i++) {
        zx_object_signal((zx_handle_t)h, 0, (zx_signals_t)bit);
        zx_object_signal((zx_handle_t)h, (zx_signals_t)bit, 0);
    }
    zx_object_signal((zx_handle_t)h, 0, (zx_signals_t)bit);
    zx_thread_exit();
}

TEST(concurrent_signals_keep_every_bit) {
    zx_handle_t e = make_event();
    struct ut_thread t[4];
    for (int i = 0; i < 4; i++)
        REQUIRE_OK(ut_thread_spawn(&t[i], thread_toggle, e, ZX_USER_SIGNAL_0 << i));
    for (int i = 0; i < 4; i++)
        EXPECT_TRUE(ut_thread_join(&t[i], 300000));
    EXPECT_EQ(signals_of(e), ZX_USER_SIGNAL_0 | ZX_USER_SIGNAL_1 | ZX_USER_SIGNAL_2 |
                                 ZX_USER_SIGNAL_3);
    zx_handle_close(e);
}

UTEST_MAIN(NULL)
