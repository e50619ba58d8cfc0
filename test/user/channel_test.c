// Channels that cannot leak (docs/processes.md, "Channel cycles"): an endpoint sent through
// itself is refused (NOT_SUPPORTED, as in Zircon), and every cycle of endpoints queued in each
// other -- an endpoint queued on its own queue, two channels queued in each other, rings, cycles
// built by many threads at once, cycles left behind by a process that exits -- is freed with
// everything queued in it. Every test is also the harness's leak check: vmo_bytes must come back.
#include "test/user/utest.h"

static zx_handle_t committed_vmo(void) {
    return ut_vmo(4 * PAGE, 0x5a);
}

TEST(endpoint_sent_through_itself_is_refused) {
    zx_handle_t a, b;
    REQUIRE_OK(zx_channel_create(0, &a, &b));
    zx_handle_t self[] = {a};
    EXPECT_STATUS(zx_channel_write(a, 0, NULL, 0, self, 1), ZX_ERR_NOT_SUPPORTED);
    EXPECT_TRUE(ut_handle_valid(a));  // the value itself is refused before anything is taken
    // A duplicate of the endpoint is the same endpoint: refused too, and consumed like any
    // handle of a failed write.
    zx_handle_t dup = ut_dup(a, ZX_RIGHT_SAME_RIGHTS);
    zx_handle_t vmo = committed_vmo();
    zx_handle_t hs[] = {vmo, dup};
    EXPECT_STATUS(zx_channel_write(a, 0, "x", 1, hs, 2), ZX_ERR_NOT_SUPPORTED);
    EXPECT_FALSE(ut_handle_valid(dup));
    EXPECT_FALSE(ut_handle_valid(vmo));
    EXPECT_FALSE(ut_signaled(b, ZX_CHANNEL_READABLE));
    // The peer may be sent through (it lands in its own queue: see the next test).
    zx_handle_close(a);
    zx_handle_close(b);
}

TEST(endpoint_queued_on_itself_is_freed) {
    uint64_t before = ut_vmo_bytes();
    zx_handle_t a, b;
    REQUIRE_OK(zx_channel_create(0, &a, &b));
    zx_handle_t vmo = committed_vmo();
    EXPECT_EQ(ut_vmo_bytes(), before + 4 * PAGE);
    zx_handle_t hs[] = {b, vmo};
    // Written through a, the message lands on b's queue: b now holds the only handle to itself.
    REQUIRE_OK(zx_channel_write(a, 0, "cycle", 5, hs, 2));
    // Nobody can ever read b: it is freed at once, with the VMO, and a sees its peer gone.
    EXPECT_EQ(ut_vmo_bytes(), before);
    EXPECT_TRUE(ut_signaled(a, ZX_CHANNEL_PEER_CLOSED));
    EXPECT_STATUS(zx_channel_write(a, 0, "x", 1, NULL, 0), ZX_ERR_PEER_CLOSED);
    zx_handle_close(a);
}

TEST(two_channels_queued_in_each_other_are_freed) {
    uint64_t before = ut_vmo_bytes();
    zx_handle_t a0, a1, b0, b1;
    REQUIRE_OK(zx_channel_create(0, &a0, &a1));
    REQUIRE_OK(zx_channel_create(0, &b0, &b1));
    zx_handle_t m1[] = {b1, committed_vmo()};
    REQUIRE_OK(zx_channel_write(a0, 0, NULL, 0, m1, 2));  // b1 queued on a1
    EXPECT_EQ(ut_vmo_bytes(), before + 4 * PAGE);         // a1 is open: b1 can be read
    zx_handle_t m2[] = {a1, committed_vmo()};
    REQUIRE_OK(zx_channel_write(b0, 0, NULL, 0, m2, 2));  // a1 queued on b1
    EXPECT_EQ(ut_vmo_bytes(), before);  // a1 and b1 hold only each other
    EXPECT_TRUE(ut_signaled(a0, ZX_CHANNEL_PEER_CLOSED));
    EXPECT_TRUE(ut_signaled(b0, ZX_CHANNEL_PEER_CLOSED));
    zx_handle_close(a0);
    zx_handle_close(b0);
}

// A ring of 8 channels, each far end queued on the previous one's, is kept while we hold its
// first far end, and freed the moment that goes into the ring too.
TEST(ring_of_channels_is_freed_when_closed) {
    enum { N = 8 };
    uint64_t before = ut_vmo_bytes();
    zx_handle_t near[N], far[N];
    for (int i = 0; i < N; i++)
        REQUIRE_OK(zx_channel_create(0, &near[i], &far[i]));
    for (int i = 0; i + 1 < N; i++) {
        zx_handle_t hs[] = {far[i + 1], committed_vmo()};
        REQUIRE_OK(zx_channel_write(near[i], 0, NULL, 0, hs, 2));  // far[i+1] onto far[i]
    }
    EXPECT_EQ(ut_vmo_bytes(), before + (N - 1) * 4 * PAGE);  // all reachable from far[0]
    // The chain is intact: take its first link out and put it back.
    zx_handle_t got[2];
    uint32_t nb, nh;
    REQUIRE_OK(zx_channel_read(far[0], 0, NULL, got, 0, 2, &nb, &nh));
    EXPECT_EQ(nh, 2);
    EXPECT_EQ(ut_type(got[0]), ZX_OBJ_TYPE_CHANNEL);
    REQUIRE_OK(zx_channel_write(near[0], 0, NULL, 0, got, 2));
    EXPECT_EQ(ut_vmo_bytes(), before + (N - 1) * 4 * PAGE);
    // Close the ring: far[0] onto far[N-1]. Nothing in our hands reaches it any more.
    zx_handle_t last[] = {far[0], committed_vmo()};
    REQUIRE_OK(zx_channel_write(near[N - 1], 0, NULL, 0, last, 2));
    EXPECT_EQ(ut_vmo_bytes(), before);
    for (int i = 0; i < N; i++) {
        EXPECT_TRUE(ut_signaled(near[i], ZX_CHANNEL_PEER_CLOSED));
        zx_handle_close(near[i]);
    }
}

// Cycles a process leaves behind die with it.
static int child_make_cycles(int argc, char **argv) {
    (void)argc;
    (void)argv;
    for (int i = 0; i < 16; i++) {
        zx_handle_t a, b, c, d, vmo;
        if (zx_channel_create(0, &a, &b) != ZX_OK || zx_channel_create(0, &c, &d) != ZX_OK ||
            zx_vmo_create(2 * PAGE, 0, &vmo) != ZX_OK ||
            zx_vmo_write(vmo, "data", 0, 4) != ZX_OK)
            return 1;
        zx_handle_t m1[] = {d, vmo};
        zx_handle_t m2[] = {b};
        if (zx_channel_write(a, 0, NULL, 0, m1, 2) != ZX_OK ||  // d on b
            zx_channel_write(c, 0, NULL, 0, m2, 1) != ZX_OK)    // b on d
            return 2;
        // a and c stay open: the process exits holding them.
    }
    return 0;
}

TEST(cycles_die_with_the_process_that_made_them) {
    uint64_t before = ut_vmo_bytes();
    EXPECT_EQ(ut_run_child("make-cycles", NULL), 0);
    EXPECT_EQ(ut_vmo_bytes(), before);
}

// ---- Many threads sending handles through shared channels at once ----

enum { MAILBOXES = 6, THREADS = 4, POOL = 24, ROUNDS = 400 };
static zx_handle_t mailbox[MAILBOXES][2];
static volatile int thread_errors;

static uint32_t xorshift(uint32_t *s) {
    *s ^= *s << 13;
    *s ^= *s >> 17;
    *s ^= *s << 5;
    return *s;
}

static void pool_add(zx_handle_t *pool, int *n, zx_handle_t h) {
    if (*n < POOL)
        pool[(*n)++] = h;
    else
        zx_handle_close(h);
}

static void pool_take(zx_handle_t *pool, int *n, int i) {
    pool[i] = pool[--*n];
}

static void churn_thread(uintptr_t seed, uintptr_t unused) {
    (void)unused;
    uint32_t s = (uint32_t)seed * 2654435761u + 1;
    zx_handle_t pool[POOL];
    int n = 0;
    for (int round = 0; round < ROUNDS; round++) {
        uint32_t op = xorshift(&s) % 100;
        if (op < 15) {  // a VMO with a committed page
            zx_handle_t v;
            if (zx_vmo_create(PAGE, 0, &v) != ZX_OK || zx_vmo_write(v, &s, 0, 4) != ZX_OK)
                thread_errors++;
            else
                pool_add(pool, &n, v);
        } else if (op < 30) {  // a channel pair
            zx_handle_t a, b;
            if (zx_channel_create(0, &a, &b) != ZX_OK) {
                thread_errors++;
            } else {
                pool_add(pool, &n, a);
                pool_add(pool, &n, b);
            }
        } else if (op < 55 && n) {  // send up to 3 pool handles through a mailbox or a pool end
            zx_handle_t via = mailbox[xorshift(&s) % MAILBOXES][xorshift(&s) % 2];
            int vi = -1;
            if (xorshift(&s) % 2) {
                vi = (int)(xorshift(&s) % (uint32_t)n);
                via = pool[vi];
            }
            zx_handle_t hs[3];
            int k = 0, want = (int)(xorshift(&s) % 4);
            while (k < want && n > (vi >= 0 ? 1 : 0)) {
                int i = (int)(xorshift(&s) % (uint32_t)n);
                if (i == vi)
                    continue;
                hs[k++] = pool[i];
                pool_take(pool, &n, i);
                if (vi == n)
                    vi = i;  // the sender moved into the freed spot
            }
            zx_status_t st = zx_channel_write(via, 0, "m", 1, hs, (uint32_t)k);
            // Sending through a VMO, through itself (a duplicate cannot happen here), to a
            // closed peer or a full queue: all allowed to fail; the handles are gone either way.
            if (st != ZX_OK && st != ZX_ERR_WRONG_TYPE && st != ZX_ERR_PEER_CLOSED &&
                st != ZX_ERR_SHOULD_WAIT && st != ZX_ERR_NOT_SUPPORTED)
                thread_errors++;
        } else if (op < 85) {  // read from a mailbox or a pool end into the pool
            zx_handle_t via = mailbox[xorshift(&s) % MAILBOXES][xorshift(&s) % 2];
            if (n && xorshift(&s) % 2)
                via = pool[xorshift(&s) % (uint32_t)n];
            zx_handle_t got[3];
            uint32_t nb, nh;
            char c;
            zx_status_t st = zx_channel_read(via, 0, &c, got, 1, 3, &nb, &nh);
            if (st == ZX_OK) {
                for (uint32_t i = 0; i < nh; i++)
                    pool_add(pool, &n, got[i]);
            } else if (st != ZX_ERR_SHOULD_WAIT && st != ZX_ERR_PEER_CLOSED &&
                       st != ZX_ERR_WRONG_TYPE && st != ZX_ERR_BAD_HANDLE) {
                thread_errors++;  // BAD_HANDLE: another thread... never closes ours; see below
            }
        } else if (n) {  // close one
            int i = (int)(xorshift(&s) % (uint32_t)n);
            if (zx_handle_close(pool[i]) != ZX_OK)
                thread_errors++;
            pool_take(pool, &n, i);
        }
    }
    while (n)
        zx_handle_close(pool[--n]);
    zx_thread_exit();
}

TEST(threads_sending_handles_in_flight_leak_nothing) {
    uint64_t before = ut_vmo_bytes();
    thread_errors = 0;
    for (int i = 0; i < MAILBOXES; i++)
        REQUIRE_OK(zx_channel_create(0, &mailbox[i][0], &mailbox[i][1]));
    struct ut_thread t[THREADS];
    for (int i = 0; i < THREADS; i++)
        REQUIRE_OK(ut_thread_spawn(&t[i], churn_thread, (uintptr_t)i + 1, 0));
    for (int i = 0; i < THREADS; i++)
        EXPECT_TRUE(ut_thread_join(&t[i], 60000));
    EXPECT_EQ(thread_errors, 0);
    for (int i = 0; i < MAILBOXES; i++) {
        zx_handle_close(mailbox[i][0]);
        zx_handle_close(mailbox[i][1]);
    }
    EXPECT_EQ(ut_vmo_bytes(), before);
}

static const struct ut_child children[] = {
    {"make-cycles", child_make_cycles},
    {NULL, NULL},
};
UTEST_MAIN(children)
