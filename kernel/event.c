// Events and event pairs. An event pair's two endpoints live in one allocation with one lock (as
// channels do), so that signalling the peer cannot race with the peer's last close: the pair
// lock orders "is the peer still open?" against on_zero_handles. Lock order: pair lock, then the
// scheduler lock (kobject_signal).
#include "kernel/event.h"

#include "kernel/assert.h"
#include "kernel/heap.h"
#include "kernel/spinlock.h"

struct event {
    struct kobject obj;
};

struct eventpair_end {
    struct kobject obj;  // first: the endpoint is the object
    struct eventpair *pair;
    bool peer_open;      // the other end still has handles (pair lock)
};

struct eventpair {
    struct spinlock lock;
    struct eventpair_end ends[2];
    uint32_t alive;      // endpoints not yet destroyed (pair lock)
};

static void event_destroy(struct kobject *obj) {
    kfree(containerof(obj, struct event, obj));
}

static const struct kobject_ops event_ops = {.destroy = event_destroy};

zx_status_t event_create(struct kobject **out) {
    struct event *e = kzalloc(sizeof(*e));
    if (!e)
        return ZX_ERR_NO_MEMORY;
    kobject_init(&e->obj, ZX_OBJ_TYPE_EVENT, &event_ops);
    *out = &e->obj;
    return ZX_OK;
}

static struct eventpair_end *end_from_object(struct kobject *obj) {
    ASSERT_MSG(obj->type == ZX_OBJ_TYPE_EVENTPAIR, "type %u", obj->type);
    return containerof(obj, struct eventpair_end, obj);
}

static struct eventpair_end *peer_of(struct eventpair_end *e) {
    struct eventpair *p = e->pair;
    return e == &p->ends[0] ? &p->ends[1] : &p->ends[0];
}

static void eventpair_destroy(struct kobject *obj) {
    struct eventpair *p = end_from_object(obj)->pair;
    irqstate_t s = spin_lock_irqsave(&p->lock);
    bool last = --p->alive == 0;
    spin_unlock_irqrestore(&p->lock, s);
    if (last)
        kfree(p);
}

// The last handle to `obj` is gone: its peer can no longer be signalled through it, and learns so
// (ZX_EVENTPAIR_PEER_CLOSED) unless it has no handles either. The peer's memory lives as long as
// the pair, which outlives `obj`, so signalling it is safe even while it is being destroyed.
static void eventpair_on_zero_handles(struct kobject *obj) {
    struct eventpair_end *e = end_from_object(obj);
    struct eventpair_end *peer = peer_of(e);
    irqstate_t s = spin_lock_irqsave(&e->pair->lock);
    peer->peer_open = false;
    if (e->peer_open)
        kobject_signal(&peer->obj, 0, ZX_EVENTPAIR_PEER_CLOSED);
    spin_unlock_irqrestore(&e->pair->lock, s);
}

static const struct kobject_ops eventpair_ops = {
    .destroy = eventpair_destroy,
    .on_zero_handles = eventpair_on_zero_handles,
};

zx_status_t eventpair_create(struct kobject **out0, struct kobject **out1) {
    struct eventpair *p = kzalloc(sizeof(*p));
    if (!p)
        return ZX_ERR_NO_MEMORY;
    p->lock = (struct spinlock)SPINLOCK_INIT("eventpair");
    p->alive = 2;
    for (int i = 0; i < 2; i++) {
        kobject_init(&p->ends[i].obj, ZX_OBJ_TYPE_EVENTPAIR, &eventpair_ops);
        p->ends[i].pair = p;
        p->ends[i].peer_open = true;
    }
    *out0 = &p->ends[0].obj;
    *out1 = &p->ends[1].obj;
    return ZX_OK;
}

zx_koid_t eventpair_peer_koid(struct kobject *end) {
    return peer_of(end_from_object(end))->obj.koid;
}

zx_status_t eventpair_signal_peer(struct kobject *end, zx_signals_t clear, zx_signals_t set) {
    struct eventpair_end *e = end_from_object(end);
    irqstate_t s = spin_lock_irqsave(&e->pair->lock);
    zx_status_t st = ZX_ERR_PEER_CLOSED;
    if (e->peer_open) {
        kobject_signal(&peer_of(e)->obj, clear, set);
        st = ZX_OK;
    }
    spin_unlock_irqrestore(&e->pair->lock, s);
    return st;
}
