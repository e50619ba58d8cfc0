// The channel cycle collector (kernel/channel_gc.h): cycles of endpoints queued on themselves or
// on each other are freed with everything queued in them; anything a table handle can still
// reach is kept. The last test drives random writes, reads and closes against a model that
// computes reachability and checks that exactly the reachable objects stay alive.
#include "kernel/channel.h"
#include "kernel/channel_gc.h"
#include "kernel/handle.h"
#include "kernel/heap.h"
#include "kernel/ktest.h"
#include "kernel/printf.h"
#include "kernel/string.h"

struct gdummy {
    struct kobject obj;
    bool *destroyed;
};

static void gdummy_destroy(struct kobject *obj) {
    struct gdummy *d = containerof(obj, struct gdummy, obj);
    *d->destroyed = true;
    kfree(d);
}

static const struct kobject_ops gdummy_ops = {.destroy = gdummy_destroy};

// A handle in `t` to a new dummy VMO-typed object that sets *destroyed when freed.
static zx_status_t dummy_handle(struct handle_table *t, bool *destroyed, zx_handle_t *out) {
    struct gdummy *d = kzalloc(sizeof(*d));
    if (!d)
        return ZX_ERR_NO_MEMORY;
    kobject_init(&d->obj, ZX_OBJ_TYPE_VMO, &gdummy_ops);
    d->destroyed = destroyed;
    *destroyed = false;
    zx_status_t st = handle_add(t, &d->obj, ZX_RIGHT_TRANSFER, out);
    kobject_release(&d->obj);
    return st;
}

// Two handles in `t` to a new channel pair.
static zx_status_t channel_handles(struct handle_table *t, zx_handle_t *h0, zx_handle_t *h1) {
    struct channel *a, *b;
    zx_status_t st = channel_create(&a, &b);
    if (st != ZX_OK)
        return st;
    st = handle_add(t, channel_object(a), ZX_RIGHT_SAME_RIGHTS, h0);
    if (st == ZX_OK)
        st = handle_add(t, channel_object(b), ZX_RIGHT_SAME_RIGHTS, h1);
    kobject_release(channel_object(a));
    kobject_release(channel_object(b));
    return st;
}

// Sends the handles `hs` (taken from `t`) through endpoint `via`; on failure they are closed.
static zx_status_t send(struct handle_table *t, zx_handle_t via, const zx_handle_t *hs, uint32_t n) {
    struct channel_handle msg[8];
    for (uint32_t i = 0; i < n; i++) {
        zx_status_t st = handle_take(t, hs[i], &msg[i].obj, &msg[i].rights);
        if (st != ZX_OK)
            return st;
    }
    struct kobject *obj;
    zx_status_t st = handle_get(t, via, ZX_OBJ_TYPE_CHANNEL, 0, &obj, NULL);
    if (st == ZX_OK) {
        st = channel_write(channel_from_object(obj), "m", 1, msg, n);
        kobject_release(obj);
    }
    if (st != ZX_OK) {
        for (uint32_t i = 0; i < n; i++)
            handle_drop(msg[i].obj);
    }
    return st;
}

KTEST(channel_gc, endpoint_queued_on_itself_is_freed) {
    size_t live = kobject_live_count();
    size_t inflight = channel_gc_inflight_count();
    struct handle_table t;
    handle_table_init(&t);
    zx_handle_t a, b, d;
    bool gone;
    REQUIRE_OK(channel_handles(&t, &a, &b));
    REQUIRE_OK(dummy_handle(&t, &gone, &d));
    zx_handle_t hs[] = {b, d};
    REQUIRE_OK(send(&t, a, hs, 2));  // b and the dummy now sit in b's own queue
    channel_gc_run_pending();
    // b can never be read again, though a is open: b and the dummy are freed now, and a sees
    // its peer closed.
    EXPECT_TRUE(gone);
    EXPECT_EQ(kobject_live_count(), live + 1);
    struct kobject *ao;
    REQUIRE_OK(handle_get(&t, a, ZX_OBJ_TYPE_CHANNEL, 0, &ao, NULL));
    EXPECT_NE(kobject_signals(ao) & ZX_CHANNEL_PEER_CLOSED, 0);
    kobject_release(ao);
    EXPECT_OK(handle_close(&t, a));
    channel_gc_run_pending();
    EXPECT_EQ(kobject_live_count(), live);
    EXPECT_EQ(channel_gc_inflight_count(), inflight);
    handle_table_destroy(&t);
}

KTEST(channel_gc, two_channels_queued_in_each_other_are_freed) {
    size_t live = kobject_live_count();
    struct handle_table t;
    handle_table_init(&t);
    zx_handle_t a, b, c, e, d1, d2;
    bool gone1, gone2;
    REQUIRE_OK(channel_handles(&t, &a, &b));
    REQUIRE_OK(channel_handles(&t, &c, &e));
    REQUIRE_OK(dummy_handle(&t, &gone1, &d1));
    REQUIRE_OK(dummy_handle(&t, &gone2, &d2));
    zx_handle_t m1[] = {e, d1};
    REQUIRE_OK(send(&t, a, m1, 2));  // e (and d1) queued on b
    channel_gc_run_pending();
    EXPECT_FALSE(gone1);  // b is in the table: e can still be read out of b's queue
    zx_handle_t m2[] = {b, d2};
    REQUIRE_OK(send(&t, c, m2, 2));  // b (and d2) queued on e
    channel_gc_run_pending();
    // Only a and c remain in the table, and neither can read b's or e's queue: both are freed
    // with what they held, though a and c are still open.
    EXPECT_TRUE(gone1);
    EXPECT_TRUE(gone2);
    EXPECT_EQ(kobject_live_count(), live + 2);
    EXPECT_OK(handle_close(&t, a));
    EXPECT_OK(handle_close(&t, c));
    channel_gc_run_pending();
    EXPECT_EQ(kobject_live_count(), live);
    handle_table_destroy(&t);
}

// A cycle hanging off a live endpoint's queue is kept; once that endpoint goes, the cycle goes.
KTEST(channel_gc, cycle_reachable_from_a_live_endpoint_is_kept) {
    size_t live = kobject_live_count();
    size_t collected = channel_gc_collected_count();
    struct handle_table t;
    handle_table_init(&t);
    zx_handle_t w0, w, x0, x, y0, y, x_dup, d;
    bool gone;
    REQUIRE_OK(channel_handles(&t, &w0, &w));
    REQUIRE_OK(channel_handles(&t, &x0, &x));
    REQUIRE_OK(channel_handles(&t, &y0, &y));
    REQUIRE_OK(dummy_handle(&t, &gone, &d));
    struct kobject *xo;
    REQUIRE_OK(handle_get(&t, x, ZX_OBJ_TYPE_CHANNEL, 0, &xo, NULL));
    REQUIRE_OK(handle_add(&t, xo, ZX_RIGHT_SAME_RIGHTS, &x_dup));
    kobject_release(xo);
    zx_handle_t m1[] = {x_dup, d};
    REQUIRE_OK(send(&t, y0, m1, 2));  // x and d queued on y
    zx_handle_t m2[] = {y};
    REQUIRE_OK(send(&t, x0, m2, 1));  // y queued on x: x and y hold each other
    zx_handle_t m3[] = {x};
    REQUIRE_OK(send(&t, w0, m3, 1));  // x queued on w, which the table holds
    channel_gc_run_pending();
    EXPECT_FALSE(gone);  // w -> x -> y -> d: all readable
    EXPECT_EQ(kobject_live_count(), live + 7);
    EXPECT_OK(handle_close(&t, w));  // w goes, and x's handle with it: x <-> y is unreachable
    channel_gc_run_pending();
    EXPECT_TRUE(gone);
    EXPECT_EQ(kobject_live_count(), live + 3);  // w0, x0, y0
    EXPECT_GE(channel_gc_collected_count(), collected + 2);
    handle_table_destroy(&t);
    EXPECT_EQ(kobject_live_count(), live);
}

// ---- Random writes, reads and closes against a reachability model ----

#define M_OBJS 48    // objects ever made in one run
#define M_HANDLES 64 // table handles at once (model)
#define M_MSGS 16    // messages per queue (model)
#define M_PER_MSG 3  // handles per message

struct m_msg {
    uint8_t n;
    uint8_t ids[M_PER_MSG];
};

struct m_obj {
    bool exists;     // made and (in the model) not yet freed
    bool channel;
    int peer;        // channels: the other end's id
    bool dummy_gone; // dummies: set by the kernel when freed
    struct kobject *ptr;  // for comparing what a read returns (valid while it exists)
    struct m_msg q[M_MSGS];
    int qlen;
};

struct m_state {
    struct m_obj obj[M_OBJS];
    int nobjs;
    zx_handle_t h[M_HANDLES];  // the table's handles...
    int hid[M_HANDLES];        // ...and the object each names
    int nh;
    uint32_t rng;
};

static uint32_t m_rand(struct m_state *m, uint32_t n) {
    m->rng = m->rng * 1103515245u + 12345u;
    return (m->rng >> 8) % n;
}

// Handles to object `id` the model counts: in the table and on queues.
static int m_handle_count(const struct m_state *m, int id) {
    int n = 0;
    for (int i = 0; i < m->nh; i++)
        n += m->hid[i] == id;
    for (int o = 0; o < m->nobjs; o++) {
        if (!m->obj[o].exists)
            continue;
        for (int q = 0; q < m->obj[o].qlen; q++)
            for (int k = 0; k < m->obj[o].q[q].n; k++)
                n += m->obj[o].q[q].ids[k] == id;
    }
    return n;
}

// Frees in the model everything the table cannot reach through queues (what the kernel's
// reference counts plus the collector must free). Returns the number of live objects.
static int m_collect(struct m_state *m) {
    bool reach[M_OBJS] = {false};
    int stack[M_OBJS], sp = 0;
    for (int i = 0; i < m->nh; i++) {
        if (!reach[m->hid[i]]) {
            reach[m->hid[i]] = true;
            stack[sp++] = m->hid[i];
        }
    }
    while (sp) {
        struct m_obj *o = &m->obj[stack[--sp]];
        for (int q = 0; q < o->qlen; q++) {
            for (int k = 0; k < o->q[q].n; k++) {
                int id = o->q[q].ids[k];
                if (!reach[id]) {
                    reach[id] = true;
                    stack[sp++] = id;
                }
            }
        }
    }
    int live = 0;
    for (int o = 0; o < m->nobjs; o++) {
        if (m->obj[o].exists && !reach[o]) {
            m->obj[o].exists = false;
            m->obj[o].qlen = 0;
        }
        live += m->obj[o].exists;
    }
    return live;
}

static void m_add_handle(struct m_state *m, zx_handle_t h, int id) {
    m->h[m->nh] = h;
    m->hid[m->nh++] = id;
}

static void m_remove_handle(struct m_state *m, int i) {
    m->nh--;
    m->h[i] = m->h[m->nh];
    m->hid[i] = m->hid[m->nh];
}

// One random step on the kernel and the model; false if a check failed.
static bool m_step(struct m_state *m, struct handle_table *t) {
    uint32_t op = m_rand(m, 100);
    if (op < 12 && m->nobjs + 2 <= M_OBJS && m->nh + 2 <= M_HANDLES) {  // new channel
        zx_handle_t h0, h1;
        if (!EXPECT_OK(channel_handles(t, &h0, &h1)))
            return false;
        for (int e = 0; e < 2; e++) {
            struct m_obj *o = &m->obj[m->nobjs + e];
            *o = (struct m_obj){.exists = true, .channel = true, .peer = m->nobjs + 1 - e};
            struct kobject *obj;
            if (!EXPECT_OK(handle_get(t, e ? h1 : h0, ZX_OBJ_TYPE_NONE, 0, &obj, NULL)))
                return false;
            o->ptr = obj;
            kobject_release(obj);
        }
        m_add_handle(m, h0, m->nobjs);
        m_add_handle(m, h1, m->nobjs + 1);
        m->nobjs += 2;
    } else if (op < 20 && m->nobjs + 1 <= M_OBJS && m->nh + 1 <= M_HANDLES) {  // new dummy
        struct m_obj *o = &m->obj[m->nobjs];
        *o = (struct m_obj){.exists = true};
        zx_handle_t h;
        if (!EXPECT_OK(dummy_handle(t, &o->dummy_gone, &h)))
            return false;
        struct kobject *obj;
        if (!EXPECT_OK(handle_get(t, h, ZX_OBJ_TYPE_NONE, 0, &obj, NULL)))
            return false;
        o->ptr = obj;
        kobject_release(obj);
        m_add_handle(m, h, m->nobjs++);
    } else if (op < 32 && m->nh) {  // duplicate a handle
        if (m->nh + 1 > M_HANDLES)
            return true;
        int i = (int)m_rand(m, (uint32_t)m->nh);
        struct kobject *obj;
        zx_handle_t h;
        if (!EXPECT_OK(handle_get(t, m->h[i], ZX_OBJ_TYPE_NONE, 0, &obj, NULL)))
            return false;
        zx_status_t st = handle_add(t, obj, ZX_RIGHT_SAME_RIGHTS, &h);
        kobject_release(obj);
        if (!EXPECT_OK(st))
            return false;
        m_add_handle(m, h, m->hid[i]);
    } else if (op < 62 && m->nh) {  // write up to 3 handles through a channel end
        int wi = (int)m_rand(m, (uint32_t)m->nh);
        int via = m->hid[wi];
        if (!m->obj[via].channel)
            return true;
        zx_handle_t via_h = m->h[wi];
        struct m_msg msg = {.n = (uint8_t)m_rand(m, M_PER_MSG + 1)};
        zx_handle_t hs[M_PER_MSG];
        for (int k = 0; k < msg.n; k++) {
            int i = (int)m_rand(m, (uint32_t)m->nh);
            if (m->h[i] == via_h || m->hid[i] == via) {  // never an endpoint through itself
                msg.n = (uint8_t)k;
                break;
            }
            hs[k] = m->h[i];
            msg.ids[k] = (uint8_t)m->hid[i];
            m_remove_handle(m, i);
        }
        int peer = m->obj[via].peer;
        struct m_obj *p = &m->obj[peer];
        int in_msg = 0;  // handles being sent still count: the peer may travel too
        for (int k = 0; k < msg.n; k++)
            in_msg += msg.ids[k] == peer;
        bool open = p->exists && m_handle_count(m, peer) + in_msg > 0;
        if (open && p->qlen == M_MSGS) {  // keep the model small: give the handles back
            for (int k = 0; k < msg.n; k++)
                m_add_handle(m, hs[k], msg.ids[k]);
            return true;
        }
        zx_status_t st = send(t, via_h, hs, msg.n);
        if (open) {
            if (!EXPECT_OK(st))
                return false;
            p->q[p->qlen++] = msg;
        } else if (!EXPECT_STATUS(st, ZX_ERR_PEER_CLOSED)) {
            return false;
        }
    } else if (op < 82 && m->nh) {  // read from a channel end
        int ri = (int)m_rand(m, (uint32_t)m->nh);
        int id = m->hid[ri];
        struct m_obj *o = &m->obj[id];
        if (!o->channel)
            return true;
        struct kobject *obj;
        if (!EXPECT_OK(handle_get(t, m->h[ri], ZX_OBJ_TYPE_CHANNEL, 0, &obj, NULL)))
            return false;
        struct channel_handle got[M_PER_MSG];
        char c;
        uint32_t nb, nh;
        zx_status_t st = channel_read(channel_from_object(obj), &c, 1, got, M_PER_MSG, &nb, &nh);
        kobject_release(obj);
        if (o->qlen == 0) {
            bool peer_open = m->obj[o->peer].exists && m_handle_count(m, o->peer) > 0;
            return EXPECT_STATUS(st, peer_open ? ZX_ERR_SHOULD_WAIT : ZX_ERR_PEER_CLOSED);
        }
        if (!EXPECT_OK(st) || !EXPECT_EQ(nh, o->q[0].n))
            return false;
        struct m_msg msg = o->q[0];
        memmove(&o->q[0], &o->q[1], (size_t)(o->qlen - 1) * sizeof(o->q[0]));
        o->qlen--;
        for (uint32_t k = 0; k < nh; k++) {
            if (!EXPECT_TRUE(got[k].obj == m->obj[msg.ids[k]].ptr))
                return false;
            zx_handle_t h;
            if (!EXPECT_OK(handle_install(t, got[k].obj, got[k].rights, &h)))
                return false;
            m_add_handle(m, h, msg.ids[k]);
        }
    } else if (m->nh) {  // close a handle
        int i = (int)m_rand(m, (uint32_t)m->nh);
        if (!EXPECT_OK(handle_close(t, m->h[i])))
            return false;
        m_remove_handle(m, i);
    }
    return true;
}

static void m_run(uint32_t seed, int steps) {
    static struct m_state m;
    memset(&m, 0, sizeof(m));
    m.rng = seed;
    size_t live0 = kobject_live_count();
    size_t inflight0 = channel_gc_inflight_count();
    struct handle_table t;
    handle_table_init(&t);
    for (int s = 0; s < steps; s++) {
        if (!m_step(&m, &t))
            break;
        channel_gc_run_pending();
        int live = m_collect(&m);
        if (!EXPECT_EQ(kobject_live_count(), live0 + (size_t)live)) {
            kprintf("channel_gc model: seed %u step %d\n", seed, s);
            break;
        }
        bool ok = true;
        for (int o = 0; o < m.nobjs && ok; o++) {
            if (!m.obj[o].channel)
                ok = EXPECT_EQ(m.obj[o].dummy_gone, !m.obj[o].exists);
        }
        if (!ok)
            break;
    }
    handle_table_destroy(&t);
    channel_gc_run_pending();
    EXPECT_EQ(kobject_live_count(), live0);
    EXPECT_EQ(channel_gc_inflight_count(), inflight0);
}

KTEST(channel_gc, random_writes_reads_and_closes_match_the_model) {
    size_t collected = channel_gc_collected_count();
    for (uint32_t seed = 1; seed <= 12; seed++)
        m_run(seed, 600);
    kprintf("channel_gc model: %zu endpoints collected\n", channel_gc_collected_count() - collected);
    EXPECT_GT(channel_gc_collected_count(), collected + 12);  // the runs do make cycles
}
