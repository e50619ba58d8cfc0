// Kernel objects, handle tables and channels.
#include "kernel/channel.h"
#include "kernel/handle.h"
#include "kernel/heap.h"
#include "kernel/ktest.h"
#include "kernel/string.h"

struct dummy {
    struct kobject obj;
    int *destroyed;
};

static void dummy_destroy(struct kobject *obj) {
    struct dummy *d = containerof(obj, struct dummy, obj);
    (*d->destroyed)++;
    kfree(d);
}

static const struct kobject_ops dummy_ops = {.destroy = dummy_destroy};

static struct dummy *dummy_new(zx_obj_type_t type, int *destroyed) {
    struct dummy *d = kzalloc(sizeof(*d));
    if (d) {
        kobject_init(&d->obj, type, &dummy_ops);
        d->destroyed = destroyed;
    }
    return d;
}

KTEST(object, koids_increase_and_refs_destroy) {
    int destroyed = 0;
    struct dummy *a = dummy_new(ZX_OBJ_TYPE_VMO, &destroyed);
    struct dummy *b = dummy_new(ZX_OBJ_TYPE_VMO, &destroyed);
    REQUIRE_TRUE(a && b);
    EXPECT_GE(a->obj.koid, 1024);
    EXPECT_GT(b->obj.koid, a->obj.koid);
    kobject_retain(&a->obj);
    kobject_release(&a->obj);
    EXPECT_EQ(destroyed, 0);
    kobject_release(&a->obj);
    EXPECT_EQ(destroyed, 1);
    kobject_release(&b->obj);
    EXPECT_EQ(destroyed, 2);
}

KTEST(handle, add_get_close_and_errors) {
    int destroyed = 0;
    struct handle_table t;
    handle_table_init(&t);
    struct dummy *d = dummy_new(ZX_OBJ_TYPE_VMO, &destroyed);
    REQUIRE_TRUE(d != NULL);
    zx_handle_t h;
    REQUIRE_OK(handle_add(&t, &d->obj, ZX_RIGHT_READ | ZX_RIGHT_WRITE, &h));
    kobject_release(&d->obj);  // the table's handle keeps it alive
    EXPECT_EQ(h & 3u, 3u);
    EXPECT_EQ(d->obj.handles, 1);
    struct kobject *obj;
    zx_rights_t rights;
    EXPECT_OK(handle_get(&t, h, ZX_OBJ_TYPE_VMO, ZX_RIGHT_READ, &obj, &rights));
    EXPECT_EQ(rights, ZX_RIGHT_READ | ZX_RIGHT_WRITE);
    kobject_release(obj);
    EXPECT_STATUS(handle_get(&t, h, ZX_OBJ_TYPE_CHANNEL, ZX_RIGHT_READ, &obj, NULL),
                  ZX_ERR_WRONG_TYPE);
    // Type is checked before rights.
    EXPECT_STATUS(handle_get(&t, h, ZX_OBJ_TYPE_CHANNEL, ZX_RIGHT_EXECUTE, &obj, NULL),
                  ZX_ERR_WRONG_TYPE);
    EXPECT_STATUS(handle_get(&t, h, ZX_OBJ_TYPE_VMO, ZX_RIGHT_EXECUTE, &obj, NULL),
                  ZX_ERR_ACCESS_DENIED);
    EXPECT_STATUS(handle_get(&t, h ^ 0x1000, ZX_OBJ_TYPE_VMO, 0, &obj, NULL), ZX_ERR_BAD_HANDLE);
    EXPECT_STATUS(handle_get(&t, h & ~1u, ZX_OBJ_TYPE_VMO, 0, &obj, NULL), ZX_ERR_BAD_HANDLE);
    EXPECT_STATUS(handle_get(&t, 0, ZX_OBJ_TYPE_VMO, 0, &obj, NULL), ZX_ERR_BAD_HANDLE);
    EXPECT_OK(handle_close(&t, ZX_HANDLE_INVALID));
    EXPECT_OK(handle_close(&t, h));
    EXPECT_EQ(destroyed, 1);
    EXPECT_STATUS(handle_close(&t, h), ZX_ERR_BAD_HANDLE);  // stale
    handle_table_destroy(&t);
}

KTEST(handle, values_are_not_reused_quickly_and_table_grows) {
    int destroyed = 0;
    struct handle_table t;
    handle_table_init(&t);
    struct dummy *d = dummy_new(ZX_OBJ_TYPE_VMO, &destroyed);
    REQUIRE_TRUE(d != NULL);
    zx_handle_t first;
    REQUIRE_OK(handle_add(&t, &d->obj, 0, &first));
    REQUIRE_OK(handle_close(&t, first));
    for (int i = 0; i < 100; i++) {
        zx_handle_t h;
        REQUIRE_OK(handle_add(&t, &d->obj, 0, &h));
        EXPECT_NE(h, first);
        REQUIRE_OK(handle_close(&t, h));
    }
    static zx_handle_t hs[300];
    for (int i = 0; i < 300; i++)
        REQUIRE_OK(handle_add(&t, &d->obj, 0, &hs[i]));
    EXPECT_EQ(t.count, 300);
    EXPECT_EQ(d->obj.handles, 300);
    for (int i = 0; i < 300; i++) {
        for (int j = i + 1; j < i + 3 && j < 300; j++)
            EXPECT_NE(hs[i], hs[j]);
    }
    handle_table_destroy(&t);  // closes all 300
    EXPECT_EQ(d->obj.handles, 0);
    EXPECT_EQ(destroyed, 0);
    kobject_release(&d->obj);
    EXPECT_EQ(destroyed, 1);
}

// The reuse distance of kernel/handle.h, in full: with one other handle open (the worst case,
// the free queue at its shortest), a closed value does not come back for 2^20 creations.
KTEST(handle, closed_value_stays_dead_for_2_pow_20_creations) {
    int destroyed = 0;
    struct handle_table t;
    handle_table_init(&t);
    struct dummy *d = dummy_new(ZX_OBJ_TYPE_VMO, &destroyed);
    REQUIRE_TRUE(d != NULL);
    zx_handle_t keep, first;
    REQUIRE_OK(handle_add(&t, &d->obj, 0, &keep));
    REQUIRE_OK(handle_add(&t, &d->obj, 0, &first));
    REQUIRE_OK(handle_close(&t, first));
    uint32_t cycles = 0;
    for (; cycles < (1u << 20) + 4096; cycles++) {
        zx_handle_t h;
        if (handle_install(&t, &d->obj, 0, &h) != ZX_OK)
            break;
        if (h == first || h == keep)
            break;
        struct kobject *obj;
        if (handle_take(&t, h, &obj, NULL) != ZX_OK)
            break;
    }
    EXPECT_EQ(cycles, (1u << 20) + 4096);
    EXPECT_EQ(t.count, 1);
    handle_table_destroy(&t);
    EXPECT_EQ(d->obj.handles, 0);
    kobject_release(&d->obj);
    EXPECT_EQ(destroyed, 1);
}

// The two halves of that distance under a random mix of opens and closes: a freed slot is not
// taken again for HANDLE_MIN_FREE + 1 creations (FIFO reuse), and each reuse gives it a new
// generation (so a value repeats only after 2^HANDLE_GEN_BITS reuses of its slot).
KTEST(handle, slots_are_reused_fifo_with_new_generations) {
    int destroyed = 0;
    struct handle_table t;
    handle_table_init(&t);
    struct dummy *d = dummy_new(ZX_OBJ_TYPE_VMO, &destroyed);
    REQUIRE_TRUE(d != NULL);
    static zx_handle_t open[600];
    static uint32_t last_use[HANDLE_TABLE_MAX / 64];   // creation number of each slot's last use
    static uint32_t last_value[HANDLE_TABLE_MAX / 64];
    const uint32_t nslots = HANDLE_TABLE_MAX / 64;
    memset(last_use, 0, sizeof(last_use));
    memset(last_value, 0, sizeof(last_value));
    uint32_t nopen = 0, created = 0, rng = 12345, min_gap = UINT32_MAX;
    for (int step = 0; step < 20000; step++) {
        rng = rng * 1103515245u + 12345u;
        bool create = nopen == 0 || (nopen < 600 && ((rng >> 16) % 100) < 52);
        if (create) {
            zx_handle_t h;
            REQUIRE_OK(handle_install(&t, &d->obj, 0, &h));
            created++;
            uint32_t slot = (h >> 2) & (HANDLE_TABLE_MAX - 1);
            REQUIRE_TRUE(slot < nslots);
            if (last_use[slot]) {
                uint32_t gap = created - last_use[slot];
                if (gap < min_gap)
                    min_gap = gap;
                EXPECT_NE(h, last_value[slot]);
            }
            last_use[slot] = created;
            last_value[slot] = h;
            open[nopen++] = h;
        } else {
            uint32_t i = (rng >> 8) % nopen;
            struct kobject *obj;
            REQUIRE_OK(handle_take(&t, open[i], &obj, NULL));
            open[i] = open[--nopen];
        }
        EXPECT_GE(t.cap - t.count, HANDLE_MIN_FREE);
    }
    EXPECT_GT(min_gap, HANDLE_MIN_FREE);
    EXPECT_NE(min_gap, UINT32_MAX);  // some slot was reused
    while (nopen) {  // installed without references: take them back rather than drop them
        struct kobject *obj;
        EXPECT_OK(handle_take(&t, open[--nopen], &obj, NULL));
    }
    handle_table_destroy(&t);
    kobject_release(&d->obj);
    EXPECT_EQ(destroyed, 1);
}

// A table holds at most HANDLE_TABLE_MAX - HANDLE_MIN_FREE handles: the rest keep the distance.
KTEST(handle, table_full_is_no_resources) {
    int destroyed = 0;
    struct handle_table t;
    handle_table_init(&t);
    struct dummy *d = dummy_new(ZX_OBJ_TYPE_VMO, &destroyed);
    REQUIRE_TRUE(d != NULL);
    uint32_t n = 0;
    zx_handle_t h;
    zx_status_t st;
    while ((st = handle_install(&t, &d->obj, 0, &h)) == ZX_OK)
        n++;
    EXPECT_STATUS(st, ZX_ERR_NO_RESOURCES);
    EXPECT_EQ(n, HANDLE_TABLE_MAX - HANDLE_MIN_FREE);
    for (uint32_t i = 0; i < t.cap; i++)
        t.slots[i].obj = NULL;  // installed without references: forget them, not drop them
    t.count = 0;
    handle_table_destroy(&t);
    kobject_release(&d->obj);
    EXPECT_EQ(destroyed, 1);
}

KTEST(channel, messages_in_order_with_signals) {
    struct channel *a, *b;
    REQUIRE_OK(channel_create(&a, &b));
    EXPECT_EQ(channel_peer_koid(a), channel_object(b)->koid);
    EXPECT_EQ(kobject_signals(channel_object(b)) & ZX_CHANNEL_READABLE, 0);
    EXPECT_OK(channel_write(a, "one", 3, NULL, 0));
    EXPECT_OK(channel_write(a, "second", 6, NULL, 0));
    EXPECT_NE(kobject_signals(channel_object(b)) & ZX_CHANNEL_READABLE, 0);
    char buf[16];
    uint32_t nb, nh;
    EXPECT_STATUS(channel_read(b, buf, 2, NULL, 0, &nb, &nh), ZX_ERR_BUFFER_TOO_SMALL);
    EXPECT_EQ(nb, 3);
    EXPECT_OK(channel_read(b, buf, sizeof(buf), NULL, 0, &nb, &nh));
    EXPECT_EQ(nb, 3);
    EXPECT_EQ(memcmp(buf, "one", 3), 0);
    EXPECT_OK(channel_read(b, buf, sizeof(buf), NULL, 0, &nb, &nh));
    EXPECT_EQ(nb, 6);
    EXPECT_EQ(memcmp(buf, "second", 6), 0);
    EXPECT_EQ(kobject_signals(channel_object(b)) & ZX_CHANNEL_READABLE, 0);
    EXPECT_STATUS(channel_read(b, buf, sizeof(buf), NULL, 0, &nb, &nh), ZX_ERR_SHOULD_WAIT);
    EXPECT_STATUS(channel_write(a, NULL, CHANNEL_MAX_MSG_BYTES + 1, NULL, 0), ZX_ERR_OUT_OF_RANGE);
    kobject_release(channel_object(a));
    kobject_release(channel_object(b));
}

KTEST(channel, handles_travel_and_peer_close) {
    struct handle_table t;
    handle_table_init(&t);
    struct channel *a, *b;
    REQUIRE_OK(channel_create(&a, &b));
    zx_handle_t ha, hb;
    REQUIRE_OK(handle_add(&t, channel_object(a), ZX_RIGHT_READ | ZX_RIGHT_WRITE, &ha));
    REQUIRE_OK(handle_add(&t, channel_object(b), ZX_RIGHT_READ | ZX_RIGHT_WRITE, &hb));
    kobject_release(channel_object(a));
    kobject_release(channel_object(b));
    // Send a handle to a third object through the channel, then read it back.
    int destroyed = 0;
    struct dummy *d = dummy_new(ZX_OBJ_TYPE_VMO, &destroyed);
    REQUIRE_TRUE(d != NULL);
    zx_handle_t hd;
    REQUIRE_OK(handle_add(&t, &d->obj, ZX_RIGHT_READ, &hd));
    kobject_release(&d->obj);
    struct channel_handle in;
    REQUIRE_OK(handle_take(&t, hd, &in.obj, &in.rights));
    EXPECT_EQ(d->obj.handles, 1);  // in flight, still a handle
    REQUIRE_OK(channel_write(a, "h", 1, &in, 1));
    struct channel_handle out;
    uint32_t nb, nh;
    char c;
    REQUIRE_OK(channel_read(b, &c, 1, &out, 1, &nb, &nh));
    EXPECT_EQ(nh, 1);
    EXPECT_TRUE(out.obj == &d->obj);
    EXPECT_EQ(out.rights, ZX_RIGHT_READ);
    zx_handle_t hd2;
    REQUIRE_OK(handle_install(&t, out.obj, out.rights, &hd2));
    // A message left unread with a handle in it: closing the channel closes that handle too.
    REQUIRE_OK(handle_take(&t, hd2, &in.obj, &in.rights));
    REQUIRE_OK(channel_write(b, NULL, 0, &in, 1));
    EXPECT_OK(handle_close(&t, ha));  // endpoint a dies with the message queued on it
    EXPECT_EQ(destroyed, 1);
    EXPECT_NE(kobject_signals(channel_object(b)) & ZX_CHANNEL_PEER_CLOSED, 0);
    struct kobject *bo;
    REQUIRE_OK(handle_get(&t, hb, ZX_OBJ_TYPE_CHANNEL, 0, &bo, NULL));
    struct channel *bch = channel_from_object(bo);
    EXPECT_STATUS(channel_write(bch, "x", 1, NULL, 0), ZX_ERR_PEER_CLOSED);
    EXPECT_STATUS(channel_read(bch, &c, 1, NULL, 0, &nb, &nh), ZX_ERR_PEER_CLOSED);
    kobject_release(bo);
    handle_table_destroy(&t);
}

static struct kobject *wait_target;

static int signal_later(void *arg) {
    (void)arg;
    thread_sleep_until(current_time() + 2000000);
    kobject_signal(wait_target, 0, ZX_CHANNEL_READABLE);
    return 0;
}

KTEST(object, wait_one_wakes_on_signal_and_times_out) {
    struct channel *a, *b;
    REQUIRE_OK(channel_create(&a, &b));
    zx_signals_t observed = 0;
    EXPECT_STATUS(kobject_wait_one(channel_object(a), ZX_CHANNEL_READABLE,
                                   current_time() + 1000000, &observed),
                  ZX_ERR_TIMED_OUT);
    EXPECT_EQ(observed & ZX_CHANNEL_READABLE, 0);
    EXPECT_NE(observed & ZX_CHANNEL_WRITABLE, 0);
    wait_target = channel_object(a);
    struct thread *t = thread_create("signaller", signal_later, NULL);
    REQUIRE_TRUE(t != NULL);
    thread_start(t);
    EXPECT_OK(kobject_wait_one(channel_object(a), ZX_CHANNEL_READABLE, ZX_TIME_INFINITE,
                               &observed));
    EXPECT_NE(observed & ZX_CHANNEL_READABLE, 0);
    EXPECT_OK(thread_join(t, NULL, ZX_TIME_INFINITE));
    thread_release(t);
    kobject_release(channel_object(a));
    kobject_release(channel_object(b));
}
