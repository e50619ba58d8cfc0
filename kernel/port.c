// Ports: a packet queue under the scheduler lock, and the observers of async waits that feed it.
//
// An async wait is a struct port_observer: a kobject_observer linked on the watched object, and
// the packet it will become. When the wait fires (inside kobject_signal) the observer unlinks
// itself from the object and from the port's list of armed observers and its embedded packet
// joins the queue, so firing never allocates; zx_port_wait frees the whole observer once the
// packet is copied out. Every object a port owns is on exactly one of two lists: `observers`
// (armed: the packet is not yet queued) or `queue` (queued packets of any origin).
//
// Lifetimes. An armed observer lives on its object while the handle it was made through stays in
// its table (the handle's removal cancels it: kobject_cancel_handle_waits), and on its port while
// the port has handles: the port's last close (port_on_zero_handles) unlinks every armed observer
// and drops every queued packet, and later packets are dropped as they come. So neither the
// object nor the port is referenced by an observer, and nothing outlives the port.
//
// Recycling. A delivered user packet or async wait goes to its port's spare list (at most
// PORT_SPARES of each kind) instead of back to the heap, and the next zx_port_queue or
// zx_object_wait_async on that port takes it from there: a steady stream of round trips allocates
// nothing. Spares go with the port's last handle.
#include "kernel/port.h"

#include "kernel/assert.h"
#include "kernel/heap.h"
#include "kernel/string.h"

#define PORT_SPARES 8u  // recycled user packets, and recycled async waits, kept per port

struct port {
    struct kobject obj;
    struct list_node queue;      // struct port_packet, oldest first
    size_t queued;               // packets on `queue`
    struct wait_queue waiters;   // threads in port_wait
    struct list_node observers;  // armed struct port_observer (port_node)
    struct list_node spare_user;  // delivered user packets kept for reuse (node)
    struct list_node spare_wait;  // delivered async waits kept for reuse (pk.node)
    uint32_t nspare_user, nspare_wait;
    bool closed;                 // the last handle is gone: packets are dropped
};

struct port_observer {
    struct kobject_observer ko;  // on the watched object while armed
    struct list_node port_node;  // on port->observers while armed
    struct port *port;
    zx_signals_t signals;
    uint32_t options;
    struct port_packet pk;       // key set at prepare; the rest when it fires
};

static const struct kobject_observer_ops port_observer_ops;

struct port *port_from_object(struct kobject *obj) {
    ASSERT_MSG(obj->type == ZX_OBJ_TYPE_PORT, "type %u", obj->type);
    return containerof(obj, struct port, obj);
}

struct kobject *port_object(struct port *port) {
    return &port->obj;
}

static void packet_release(struct port_packet *pk) {
    switch (pk->kind) {
    case PORT_PACKET_USER:
        kfree(pk);
        break;
    case PORT_PACKET_WAIT:
        kfree(containerof(pk, struct port_observer, pk));
        break;
    default:
        if (pk->release)
            pk->release(pk);
        else
            kfree(pk);
        break;
    }
}

// Keeps a delivered user packet or async wait for reuse if the port has room for it; true if it
// did (the caller then must not release it).
static bool recycle_locked(struct port *port, struct port_packet *pk) REQUIRES(sched_lock) {
    ASSERT(sched_lock_held());
    if (port->closed)
        return false;
    if (pk->kind == PORT_PACKET_USER && port->nspare_user < PORT_SPARES) {
        list_add_head(&port->spare_user, &pk->node);
        port->nspare_user++;
        return true;
    }
    if (pk->kind == PORT_PACKET_WAIT && port->nspare_wait < PORT_SPARES) {
        list_add_head(&port->spare_wait, &pk->node);
        port->nspare_wait++;
        return true;
    }
    return false;
}

// Releases every packet on `list` (a local list; no lock held).
static void release_all(struct list_node *list) {
    struct list_node *n;
    while ((n = list_remove_head(list)))
        packet_release(containerof(n, struct port_packet, node));
}

static void enqueue_locked(struct port *port, struct port_packet *pk) REQUIRES(sched_lock) {
    ASSERT(sched_lock_held());
    ASSERT(!port->closed);
    list_add_tail(&port->queue, &pk->node);
    port->queued++;
    wait_queue_wake_one_locked(&port->waiters, ZX_OK);
}

static struct port_packet *dequeue_locked(struct port *port) REQUIRES(sched_lock) {
    ASSERT(sched_lock_held());
    struct list_node *n = list_remove_head(&port->queue);
    if (!n)
        return NULL;
    ASSERT(port->queued > 0);
    port->queued--;
    return containerof(n, struct port_packet, node);
}

// Moves every queued packet and armed observer of `port` to `drop` (released by the caller once
// the lock is dropped).
static void drain_locked(struct port *port, struct list_node *drop) REQUIRES(sched_lock) {
    ASSERT(sched_lock_held());
    struct list_node *n;
    while ((n = list_remove_head(&port->observers))) {
        struct port_observer *po = containerof(n, struct port_observer, port_node);
        bool linked = kobject_observer_remove_locked(&po->ko);
        ASSERT(linked);
        list_add_tail(drop, &po->pk.node);
    }
    struct port_packet *pk;
    while ((pk = dequeue_locked(port)))
        list_add_tail(drop, &pk->node);
    while ((n = list_remove_head(&port->spare_user)))
        list_add_tail(drop, n);
    while ((n = list_remove_head(&port->spare_wait)))
        list_add_tail(drop, n);
    port->nspare_user = port->nspare_wait = 0;
}

// The last handle is gone: nobody can wait on the port or arm a wait on it any more, so its
// packets and armed waits go now, not when the last kernel reference does.
static void port_on_zero_handles(struct kobject *obj) {
    struct port *port = port_from_object(obj);
    struct list_node drop = LIST_INITIAL(drop);
    uint64_t s = sched_lock_irqsave();
    port->closed = true;
    drain_locked(port, &drop);
    sched_unlock_irqrestore(s);
    release_all(&drop);
}

static void port_destroy(struct kobject *obj) {
    struct port *port = port_from_object(obj);
    // A port that never had a handle may still hold kernel packets.
    struct list_node drop = LIST_INITIAL(drop);
    uint64_t s = sched_lock_irqsave();
    drain_locked(port, &drop);
    sched_unlock_irqrestore(s);
    release_all(&drop);
    kfree(port);
}

static const struct kobject_ops port_ops = {
    .destroy = port_destroy,
    .on_zero_handles = port_on_zero_handles,
};

zx_status_t port_create(struct kobject **out) {
    struct port *port = kzalloc(sizeof(*port));
    if (!port)
        return ZX_ERR_NO_MEMORY;
    kobject_init(&port->obj, ZX_OBJ_TYPE_PORT, &port_ops);
    list_init(&port->queue);
    list_init(&port->observers);
    list_init(&port->spare_user);
    list_init(&port->spare_wait);
    wait_queue_init(&port->waiters);
    *out = &port->obj;
    return ZX_OK;
}

// --- The kernel API ---

struct port_packet *port_packet_alloc(void) {
    return kzalloc(sizeof(struct port_packet));
}

void port_queue_packet(struct port *port, struct port_packet *pk) {
    uint64_t s = sched_lock_irqsave();
    bool closed = port->closed;
    if (!closed)
        enqueue_locked(port, pk);
    sched_unlock_irqrestore(s);
    if (closed)
        packet_release(pk);
}

zx_status_t port_queue_kernel_packet(struct port *port, const zx_port_packet_t *packet) {
    struct port_packet *pk = port_packet_alloc();
    if (!pk)
        return ZX_ERR_NO_MEMORY;
    pk->packet = *packet;
    port_queue_packet(port, pk);
    return ZX_OK;
}

bool port_unqueue_packet(struct port *port, struct port_packet *pk) {
    uint64_t s = sched_lock_irqsave();
    bool found = false;
    list_for_each(&port->queue, it) {
        if (it == &pk->node) {
            found = true;
            break;
        }
    }
    if (found) {
        list_delete(&pk->node);
        port->queued--;
    }
    sched_unlock_irqrestore(s);
    return found;
}

size_t port_queued_count(struct port *port) {
    uint64_t s = sched_lock_irqsave();
    size_t n = port->queued;
    sched_unlock_irqrestore(s);
    return n;
}

void port_check(struct port *port) {
    uint64_t s = sched_lock_irqsave();
    ASSERT_MSG(list_length(&port->queue) == port->queued, "port %llu: %zu queued, count %zu",
               (unsigned long long)port->obj.koid, list_length(&port->queue), port->queued);
    ASSERT(!port->closed || (port->queued == 0 && list_is_empty(&port->observers) &&
                             port->nspare_user + port->nspare_wait == 0));
    ASSERT(list_length(&port->spare_user) == port->nspare_user &&
           port->nspare_user <= PORT_SPARES);
    ASSERT(list_length(&port->spare_wait) == port->nspare_wait &&
           port->nspare_wait <= PORT_SPARES);
    list_for_each(&port->queue, it) {
        struct port_packet *pk = containerof(it, struct port_packet, node);
        ASSERT(pk->kind <= PORT_PACKET_WAIT);
    }
    list_for_each(&port->observers, it) {
        struct port_observer *po = containerof(it, struct port_observer, port_node);
        ASSERT(po->port == port);
        ASSERT(po->ko.ops == &port_observer_ops);
        ASSERT(list_in_list(&po->ko.node));  // armed: on its object too
    }
    sched_unlock_irqrestore(s);
}

// --- The calls ---

// Queues a copy of `packet`, in `pk` if not NULL (a new allocation), else in a spare. With no
// spare it queues nothing and sets *need_alloc (the caller allocates outside the lock and calls
// again). SHOULD_WAIT when full; BAD_HANDLE once the port's handles are all closed.
static zx_status_t queue_user_locked(struct port *port, const zx_port_packet_t *packet,
                                     struct port_packet *pk, bool *need_alloc) REQUIRES(sched_lock) {
    ASSERT(sched_lock_held());
    if (port->closed)
        return ZX_ERR_BAD_HANDLE;  // the caller's handle was closed under it
    if (port->queued >= PORT_MAX_QUEUED)
        return ZX_ERR_SHOULD_WAIT;
    if (!pk) {
        struct list_node *n = list_remove_head(&port->spare_user);
        if (!n) {
            *need_alloc = true;
            return ZX_OK;
        }
        port->nspare_user--;
        pk = containerof(n, struct port_packet, node);
    }
    pk->packet = *packet;
    pk->packet.type = ZX_PKT_TYPE_USER;
    pk->kind = PORT_PACKET_USER;
    enqueue_locked(port, pk);
    return ZX_OK;
}

zx_status_t port_queue_user(struct port *port, const zx_port_packet_t *packet) {
    bool need_alloc = false;
    uint64_t s = sched_lock_irqsave();
    zx_status_t st = queue_user_locked(port, packet, NULL, &need_alloc);
    sched_unlock_irqrestore(s);
    if (st != ZX_OK || !need_alloc)
        return st;
    // No spare: allocate one outside the lock and check again.
    struct port_packet *pk = kzalloc(sizeof(*pk));
    if (!pk)
        return ZX_ERR_NO_MEMORY;
    s = sched_lock_irqsave();
    st = queue_user_locked(port, packet, pk, &need_alloc);
    sched_unlock_irqrestore(s);
    if (st != ZX_OK)
        kfree(pk);
    return st;
}

zx_status_t port_wait(struct port *port, zx_time_t deadline, zx_port_packet_t *out) {
    struct port_packet *pk;
    zx_status_t st = ZX_OK;
    uint64_t s = sched_lock_irqsave();
    // A wake from enqueue_locked takes this thread off the wait queue: it then loops and finds a
    // packet (or one that a thread arriving meanwhile left it, which was woken for it in turn).
    while (!(pk = dequeue_locked(port))) {
        st = wait_queue_block_interruptible_locked(&port->waiters, deadline);
        if (st != ZX_OK)
            break;
    }
    if (pk) {
        *out = pk->packet;
        if (recycle_locked(port, pk))
            pk = NULL;
    }
    sched_unlock_irqrestore(s);
    if (pk)
        packet_release(pk);
    return st;
}

void port_putback(struct port *port, const zx_port_packet_t *packet) {
    struct port_packet *pk = kzalloc(sizeof(*pk));
    if (!pk)
        return;
    pk->packet = *packet;
    pk->kind = PORT_PACKET_USER;
    uint64_t s = sched_lock_irqsave();
    bool closed = port->closed;
    if (!closed) {
        list_add_head(&port->queue, &pk->node);
        port->queued++;
        wait_queue_wake_one_locked(&port->waiters, ZX_OK);
    }
    sched_unlock_irqrestore(s);
    if (closed)
        kfree(pk);
}

zx_status_t port_cancel(struct port *port, struct kobject *source_obj, const void *table,
                        zx_handle_t source, uint64_t key) {
    struct list_node drop = LIST_INITIAL(drop);
    uint64_t s = sched_lock_irqsave();
    struct list_node *it = source_obj->observers.next;
    while (it != &source_obj->observers) {
        struct list_node *next = it->next;
        struct kobject_observer *ko = containerof(it, struct kobject_observer, node);
        if (ko->ops == &port_observer_ops && ko->table == table && ko->handle == source) {
            struct port_observer *po = containerof(ko, struct port_observer, ko);
            if (po->port == port && po->pk.packet.key == key) {
                list_delete(it);
                list_delete(&po->port_node);
                list_add_tail(&drop, &po->pk.node);
            }
        }
        it = next;
    }
    it = port->queue.next;
    while (it != &port->queue) {
        struct list_node *next = it->next;
        struct port_packet *pk = containerof(it, struct port_packet, node);
        if (pk->src_table == table && pk->src_handle == source && pk->packet.key == key) {
            list_delete(it);
            port->queued--;
            list_add_tail(&drop, it);
        }
        it = next;
    }
    sched_unlock_irqrestore(s);
    bool found = !list_is_empty(&drop);
    release_all(&drop);
    return found ? ZX_OK : ZX_ERR_NOT_FOUND;
}

// --- Async waits ---

// The wait fires with `observed` up: its packet joins the queue.
static void fire_locked(struct port_observer *po, zx_signals_t observed) REQUIRES(sched_lock) {
    ASSERT(sched_lock_held());
    if (list_in_list(&po->port_node))
        list_delete(&po->port_node);
    po->pk.packet.type = ZX_PKT_TYPE_SIGNAL_ONE;
    po->pk.packet.status = ZX_OK;
    po->pk.packet.signal = (zx_packet_signal_t){
        .trigger = po->signals,
        .observed = observed,
        .count = 1,
        .timestamp = (po->options & ZX_WAIT_ASYNC_TIMESTAMP) ? current_time() : 0,
    };
    enqueue_locked(po->port, &po->pk);
}

static bool observer_on_signal(struct kobject_observer *o, zx_signals_t old, zx_signals_t now)
    REQUIRES(sched_lock) {
    struct port_observer *po = containerof(o, struct port_observer, ko);
    zx_signals_t rising = (po->options & ZX_WAIT_ASYNC_EDGE) ? now & ~old : now;
    if (!(rising & po->signals))
        return false;
    fire_locked(po, now);
    return true;
}

static bool observer_on_cancel(struct kobject_observer *o)
    REQUIRES(sched_lock) {
    struct port_observer *po = containerof(o, struct port_observer, ko);
    list_delete(&po->port_node);
    return true;
}

static void observer_release(struct kobject_observer *o) {
    kfree(containerof(o, struct port_observer, ko));
}

static const struct kobject_observer_ops port_observer_ops = {
    .on_signal = observer_on_signal,
    .on_cancel = observer_on_cancel,
    .release = observer_release,
};

struct port_observer *port_wait_async_prepare(struct port *port, uint64_t key, zx_signals_t signals,
                                              uint32_t options) {
    struct port_observer *po = NULL;
    uint64_t s = sched_lock_irqsave();
    struct list_node *n = list_remove_head(&port->spare_wait);
    if (n) {
        port->nspare_wait--;
        po = containerof(n, struct port_observer, pk.node);
    }
    sched_unlock_irqrestore(s);
    if (po)
        memset(po, 0, sizeof(*po));
    else if (!(po = kzalloc(sizeof(*po))))
        return NULL;
    po->ko.ops = &port_observer_ops;
    po->port = port;
    po->signals = signals;
    po->options = options;
    po->pk.packet.key = key;
    po->pk.kind = PORT_PACKET_WAIT;
    return po;
}

bool port_wait_async_arm(struct port_observer *po, struct kobject *obj, const void *table,
                         zx_handle_t h) {
    struct port *port = po->port;
    po->ko.table = po->pk.src_table = table;
    po->ko.handle = po->pk.src_handle = h;
    uint64_t s = sched_lock_irqsave();
    bool armed = !port->closed;
    if (armed) {
        if (!(po->options & ZX_WAIT_ASYNC_EDGE) && (obj->signals & po->signals)) {
            fire_locked(po, obj->signals);
        } else {
            kobject_observer_add_locked(obj, &po->ko);
            list_add_tail(&port->observers, &po->port_node);
        }
    }
    sched_unlock_irqrestore(s);
    return armed;
}

void port_wait_async_discard(struct port_observer *po) {
    kfree(po);
}
