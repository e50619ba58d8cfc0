// Ports from inside the kernel: the API other subsystems use (preallocated packets that cannot
// fail to queue, release callbacks, taking a packet back) and async waits armed through a handle
// table, checked with port_check after every step.
#include <zircon/syscalls.h>

#include "kernel/event.h"
#include "kernel/handle.h"
#include "kernel/heap.h"
#include "kernel/ktest.h"
#include "kernel/port.h"

struct owned_packet {
    struct port_packet pk;
    int released;
};

static void owned_release(struct port_packet *pk) {
    containerof(pk, struct owned_packet, pk)->released++;
}

static struct port *new_port(struct handle_table *t, zx_handle_t *h) {
    struct kobject *obj;
    if (port_create(&obj) != ZX_OK)
        return NULL;
    zx_status_t st = handle_add(t, obj, ZX_DEFAULT_PORT_RIGHTS, h);
    kobject_release(obj);  // the handle keeps it
    return st == ZX_OK ? port_from_object(obj) : NULL;
}

KTEST(port, kernel_packets_queue_release_and_unqueue) {
    struct handle_table t;
    handle_table_init(&t);
    zx_handle_t h;
    struct port *port = new_port(&t, &h);
    REQUIRE_TRUE(port != NULL);
    struct owned_packet a = {.pk.release = owned_release}, b = {.pk.release = owned_release};
    a.pk.packet.key = 1;
    a.pk.packet.type = ZX_PKT_TYPE_PAGE_REQUEST;
    a.pk.packet.page_request.offset = 0x1000;
    b.pk.packet.key = 2;
    port_queue_packet(port, &a.pk);
    port_queue_packet(port, &b.pk);
    port_check(port);
    EXPECT_EQ(port_queued_count(port), 2);
    EXPECT_TRUE(port_unqueue_packet(port, &b.pk));  // the caller owns it again
    EXPECT_FALSE(port_unqueue_packet(port, &b.pk));
    EXPECT_EQ(b.released, 0);
    port_check(port);
    zx_port_packet_t out;
    EXPECT_OK(port_wait(port, 0, &out));
    EXPECT_EQ(out.key, 1u);
    EXPECT_EQ(out.type, ZX_PKT_TYPE_PAGE_REQUEST);
    EXPECT_EQ(out.page_request.offset, 0x1000u);
    EXPECT_EQ(a.released, 1);  // delivered: released once
    EXPECT_STATUS(port_wait(port, 0, &out), ZX_ERR_TIMED_OUT);
    // A heap packet (kfree'd by the port) and a copy queued by port_queue_kernel_packet.
    struct port_packet *pk = port_packet_alloc();
    REQUIRE_TRUE(pk != NULL);
    pk->packet.key = 3;
    port_queue_packet(port, pk);
    zx_port_packet_t p4 = {.key = 4, .type = ZX_PKT_TYPE_PAGE_REQUEST};
    EXPECT_OK(port_queue_kernel_packet(port, &p4));
    EXPECT_EQ(port_queued_count(port), 2);
    port_check(port);
    // The last handle's close drops what is queued, and later packets are released at once.
    port_queue_packet(port, &b.pk);
    kobject_retain(port_object(port));
    EXPECT_OK(handle_close(&t, h));
    EXPECT_EQ(b.released, 1);
    EXPECT_EQ(port_queued_count(port), 0);
    port_check(port);
    port_queue_packet(port, &a.pk);
    EXPECT_EQ(a.released, 2);
    kobject_release(port_object(port));
    handle_table_destroy(&t);
}

KTEST(port, user_queue_is_bounded) {
    struct handle_table t;
    handle_table_init(&t);
    zx_handle_t h;
    struct port *port = new_port(&t, &h);
    REQUIRE_TRUE(port != NULL);
    zx_port_packet_t p = {.key = 9, .type = 77};
    for (uint32_t i = 0; i < PORT_MAX_QUEUED; i++)
        REQUIRE_OK(port_queue_user(port, &p));
    EXPECT_STATUS(port_queue_user(port, &p), ZX_ERR_SHOULD_WAIT);
    // A kernel packet is never refused.
    struct owned_packet k = {.pk.release = owned_release};
    port_queue_packet(port, &k.pk);
    EXPECT_EQ(port_queued_count(port), PORT_MAX_QUEUED + 1);
    port_check(port);
    zx_port_packet_t out;
    EXPECT_OK(port_wait(port, 0, &out));
    EXPECT_EQ(out.type, ZX_PKT_TYPE_USER);  // forced
    handle_table_destroy(&t);  // the last handle: everything goes
    EXPECT_EQ(k.released, 1);
}

KTEST(port, async_wait_through_a_handle_table) {
    struct handle_table t;
    handle_table_init(&t);
    zx_handle_t hp, he;
    struct port *port = new_port(&t, &hp);
    REQUIRE_TRUE(port != NULL);
    struct kobject *ev;
    REQUIRE_OK(event_create(&ev));
    REQUIRE_OK(handle_add(&t, ev, ZX_DEFAULT_EVENT_RIGHTS, &he));
    struct port_observer *po = port_wait_async_prepare(port, 5, ZX_USER_SIGNAL_0, 0);
    REQUIRE_TRUE(po != NULL);
    EXPECT_TRUE(port_wait_async_arm(po, ev, &t, he));
    port_check(port);
    EXPECT_EQ(port_queued_count(port), 0);
    kobject_signal(ev, 0, ZX_USER_SIGNAL_0);
    EXPECT_EQ(port_queued_count(port), 1);
    port_check(port);
    zx_port_packet_t out;
    EXPECT_OK(port_wait(port, 0, &out));
    EXPECT_EQ(out.key, 5u);
    EXPECT_EQ(out.type, ZX_PKT_TYPE_SIGNAL_ONE);
    EXPECT_EQ(out.signal.observed, ZX_USER_SIGNAL_0);
    // Armed, then the event's handle closes: the observer goes with it.
    po = port_wait_async_prepare(port, 6, ZX_USER_SIGNAL_1, 0);
    REQUIRE_TRUE(po != NULL);
    EXPECT_TRUE(port_wait_async_arm(po, ev, &t, he));
    EXPECT_FALSE(list_is_empty(&ev->observers));
    EXPECT_OK(handle_close(&t, he));
    EXPECT_TRUE(list_is_empty(&ev->observers));
    port_check(port);
    kobject_signal(ev, 0, ZX_USER_SIGNAL_1);
    EXPECT_EQ(port_queued_count(port), 0);
    // Armed, then the port's last handle closes: unlinked from the event too.
    REQUIRE_OK(handle_add(&t, ev, ZX_DEFAULT_EVENT_RIGHTS, &he));
    po = port_wait_async_prepare(port, 7, ZX_USER_SIGNAL_2, 0);
    REQUIRE_TRUE(po != NULL);
    EXPECT_TRUE(port_wait_async_arm(po, ev, &t, he));
    EXPECT_OK(handle_close(&t, hp));
    EXPECT_TRUE(list_is_empty(&ev->observers));
    kobject_release(ev);
    handle_table_destroy(&t);
}

KTEST(port, recycling_and_putback) {
    struct handle_table t;
    handle_table_init(&t);
    zx_handle_t h;
    struct port *port = new_port(&t, &h);
    REQUIRE_TRUE(port != NULL);
    zx_port_packet_t p = {.key = 1}, out;
    // Bursts larger than the spare lists: the extra packets go back to the heap.
    for (int round = 0; round < 3; round++) {
        for (uint64_t i = 0; i < 20; i++) {
            p.key = i;
            REQUIRE_OK(port_queue_user(port, &p));
        }
        port_check(port);
        for (uint64_t i = 0; i < 20; i++) {
            REQUIRE_OK(port_wait(port, 0, &out));
            EXPECT_EQ(out.key, i);
        }
        port_check(port);
    }
    // A packet put back comes out first, unchanged.
    p.key = 100;
    REQUIRE_OK(port_queue_user(port, &p));
    zx_port_packet_t back = {.key = 99, .type = ZX_PKT_TYPE_SIGNAL_ONE};
    port_putback(port, &back);
    port_check(port);
    REQUIRE_OK(port_wait(port, 0, &out));
    EXPECT_EQ(out.key, 99u);
    EXPECT_EQ(out.type, ZX_PKT_TYPE_SIGNAL_ONE);
    REQUIRE_OK(port_wait(port, 0, &out));
    EXPECT_EQ(out.key, 100u);
    handle_table_destroy(&t);  // frees the spares too (the heap checks of the harness)
}
