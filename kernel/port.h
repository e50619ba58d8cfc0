// Ports (docs/abi.md §5, docs/ports.md): a queue of 48-byte packets that threads wait on. Packets
// come from user space (zx_port_queue), from async waits on objects (zx_object_wait_async: an
// observer on the object queues a SIGNAL_ONE packet when a signal it waits for rises), and from
// kernel subsystems (the pager's page requests) through the kernel API below.
//
// Locking: a port's queue, its waiters and its observers are guarded by the scheduler lock, the
// lock under which object signals change: an observer fires inside kobject_signal and queues its
// packet there, without allocating (the packet is part of the observer). Memory is allocated and
// freed only outside that lock.
#ifndef KERNEL_PORT_H
#define KERNEL_PORT_H

#include <zircon/syscalls/port.h>

#include "kernel/object.h"

// Queued packets zx_port_queue accepts before it answers SHOULD_WAIT (docs/abi.md §5). Packets of
// async waits and kernel packets were paid for in advance and are not refused.
#define PORT_MAX_QUEUED 4096u

struct port;

// A packet on (or for) a port's queue. A kernel subsystem that must never fail to queue allocates
// one ahead (port_packet_alloc), or embeds one in its own structure and sets `release`.
struct port_packet {
    struct list_node node;    // the port's queue (scheduler lock)
    zx_port_packet_t packet;
    // Called once the port is done with the packet: after zx_port_wait copied it out, or when the
    // port dropped it (its last handle closed, port_cancel). No lock is held. NULL: kfree.
    void (*release)(struct port_packet *pk);
    // Packets of async waits: the handle the wait was made through (zx_port_cancel matches it).
    const void *src_table;
    zx_handle_t src_handle;
    uint8_t kind;             // enum port_packet_kind; 0 (KERNEL) for every kernel packet
};

enum port_packet_kind {
    PORT_PACKET_KERNEL = 0,   // released through `release`
    PORT_PACKET_USER = 1,     // zx_port_queue's: the port's own, recycled
    PORT_PACKET_WAIT = 2,     // part of an async wait (struct port_observer): recycled
};

// Creates a port (no handles yet); the caller holds the one reference. NO_MEMORY.
zx_status_t port_create(struct kobject **out) MUST_USE;
struct port *port_from_object(struct kobject *obj);
struct kobject *port_object(struct port *port);

// --- The kernel API (the pager's page requests) ---
// A zeroed packet whose release is kfree; NULL when out of memory.
struct port_packet *port_packet_alloc(void) MUST_USE;
// Queues `pk` (its `packet` filled in): never fails. The port owns it from here until it calls
// pk->release. A port whose handles are all closed releases it at once, inside this call: a
// release callback must not need a lock the caller holds. Not with the scheduler lock held.
void port_queue_packet(struct port *port, struct port_packet *pk);
// Queues a copy of `packet` in a new port_packet: NO_MEMORY.
zx_status_t port_queue_kernel_packet(struct port *port, const zx_port_packet_t *packet) MUST_USE;
// Takes `pk` back off the queue if it is still there (not yet delivered or dropped): true, and
// the caller owns it again (release is not called). False: the port has released it or will.
bool port_unqueue_packet(struct port *port, struct port_packet *pk) MUST_USE;
// Packets queued now (for tests and checks).
size_t port_queued_count(struct port *port);
// Checks the port's invariants (queue count, observers) and panics on a violation; for tests.
void port_check(struct port *port);

// --- The calls ---
// zx_port_queue: copies the packet with its type forced to USER; SHOULD_WAIT when full.
zx_status_t port_queue_user(struct port *port, const zx_port_packet_t *packet) MUST_USE;
// zx_port_wait: the oldest packet, waiting until the deadline (TIMED_OUT) or an interruption
// (CANCELED). A packet already queued is taken even if the deadline has passed.
zx_status_t port_wait(struct port *port, zx_time_t deadline, zx_port_packet_t *out) MUST_USE;
// Puts a packet port_wait returned back at the head of the queue (its caller could not deliver
// it: a bad user buffer). Not counted against the limit; lost only if memory runs out.
void port_putback(struct port *port, const zx_port_packet_t *packet);
// zx_port_cancel: drops the async waits on `source_obj` and the packets queued by them that were
// made through handle `source` of `table` with `key`. NOT_FOUND if there were none.
zx_status_t port_cancel(struct port *port, struct kobject *source_obj, const void *table,
                        zx_handle_t source, uint64_t key) MUST_USE;

// zx_object_wait_async, in two steps so that nothing is allocated or freed under the locks:
// prepare allocates the wait (NULL: out of memory); arm, called with the handle table locked
// (handle_call_locked: handle `h` cannot leave the table meanwhile), queues its packet at once if
// a requested signal is up (and EDGE is not asked for), or else links it on `obj`. Arm returns
// false only if the port has no handles left; the caller then frees the wait with discard.
struct port_observer;
struct port_observer *port_wait_async_prepare(struct port *port, uint64_t key, zx_signals_t signals,
                                              uint32_t options) MUST_USE;
bool port_wait_async_arm(struct port_observer *po, struct kobject *obj, const void *table,
                         zx_handle_t h) MUST_USE;
void port_wait_async_discard(struct port_observer *po);

#endif  // KERNEL_PORT_H
