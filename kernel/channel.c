// Channels. The two endpoints share one lock (a heap-allocated `struct channel_pair`) so a write
// and the peer's close cannot race. Each endpoint is its own kernel object; the pair is freed
// when both endpoints are. Lock order: channel_gc_lock (only around messages that carry
// endpoints), pair lock, then the scheduler lock (kobject_signal). Endpoints sent through
// channels are tracked for the cycle collector (kernel/channel_gc.h).
#include "kernel/channel.h"

#include "kernel/assert.h"
#include "kernel/channel_priv.h"
#include "kernel/handle.h"
#include "kernel/heap.h"
#include "kernel/string.h"

// channel_gc_lock around queue changes of messages that carry endpoints only (`needed`). The
// thread-safety analysis cannot follow a conditional lock; ASSERT_MUTEX_HELD in the collector's
// _locked functions checks it at run time instead.
NO_THREAD_SAFETY_ANALYSIS static void gc_lock_if(bool needed) {
    if (needed)
        mutex_acquire(&channel_gc_lock);
}

NO_THREAD_SAFETY_ANALYSIS static void gc_unlock_if(bool held) {
    if (held)
        mutex_release(&channel_gc_lock);
}

void channel_free_message(struct message *m) {
    for (uint32_t i = 0; i < m->nhandles; i++)
        handle_drop(m->handles[i].obj);
    kfree(m);
}

static void channel_destroy(struct kobject *obj) {
    struct channel *ch = channel_from_object(obj);
    struct channel_pair *pair = ch->pair;
    struct list_node pending;
    list_init(&pending);
    // The queue may carry endpoints: taking them off it is the collector's business too.
    mutex_acquire(&channel_gc_lock);
    irqstate_t s = spin_lock_irqsave(&pair->lock);
    if (ch->peer)
        ch->peer->peer = NULL;
    struct list_node *n;
    while ((n = list_remove_head(&ch->messages)) != NULL) {
        channel_gc_dequeued_locked(containerof(n, struct message, node));
        list_add_tail(&pending, n);
    }
    bool free_pair = --pair->alive == 0;
    spin_unlock_irqrestore(&pair->lock, s);
    ASSERT(!list_in_list(&ch->gc_inflight_node));  // no references left, so none in flight
    mutex_release(&channel_gc_lock);
    // Messages may hold handles to other channels: drop them outside the locks.
    while ((n = list_remove_head(&pending)) != NULL)
        channel_free_message(containerof(n, struct message, node));
    if (free_pair)
        kfree(pair);
}

// The last handle to an endpoint is gone: its peer can never be written to again.
static void channel_on_zero_handles(struct kobject *obj) {
    struct channel *ch = channel_from_object(obj);
    irqstate_t s = spin_lock_irqsave(&ch->pair->lock);
    struct channel *peer = ch->peer;
    // The peer may have lost its last reference already (its destroy waits for this lock).
    if (peer && kobject_try_retain(&peer->obj))
        peer->peer_closed = true;
    else
        peer = NULL;
    spin_unlock_irqrestore(&ch->pair->lock, s);
    if (peer) {
        kobject_signal(&peer->obj, 0, ZX_CHANNEL_PEER_CLOSED);
        kobject_release(&peer->obj);
    }
}

static const struct kobject_ops channel_ops = {
    .destroy = channel_destroy,
    .on_zero_handles = channel_on_zero_handles,
};

struct kobject *channel_object(struct channel *ch) {
    return &ch->obj;
}

struct channel *channel_from_object(struct kobject *obj) {
    ASSERT(obj->type == ZX_OBJ_TYPE_CHANNEL);
    return containerof(obj, struct channel, obj);
}

zx_koid_t channel_peer_koid(struct channel *ch) {
    struct channel_pair *pair = ch->pair;
    return ch == &pair->ends[0] ? pair->ends[1].obj.koid : pair->ends[0].obj.koid;
}

zx_status_t channel_signal_peer(struct channel *ch, zx_signals_t clear, zx_signals_t set) {
    irqstate_t s = spin_lock_irqsave(&ch->pair->lock);
    zx_status_t st = ZX_ERR_PEER_CLOSED;
    if (ch->peer && !ch->peer_closed) {
        kobject_signal(&ch->peer->obj, clear, set);
        st = ZX_OK;
    }
    spin_unlock_irqrestore(&ch->pair->lock, s);
    return st;
}

zx_status_t channel_create(struct channel **out0, struct channel **out1) {
    struct channel_pair *pair = kzalloc(sizeof(*pair));
    if (!pair)
        return ZX_ERR_NO_MEMORY;
    pair->lock = (struct spinlock)SPINLOCK_INIT("channel");
    pair->alive = 2;
    for (int i = 0; i < 2; i++) {
        struct channel *ch = &pair->ends[i];
        kobject_init(&ch->obj, ZX_OBJ_TYPE_CHANNEL, &channel_ops);
        ch->pair = pair;
        ch->peer = &pair->ends[1 - i];
        list_init(&ch->messages);
        kobject_signal(&ch->obj, 0, ZX_CHANNEL_WRITABLE);
    }
    *out0 = &pair->ends[0];
    *out1 = &pair->ends[1];
    return ZX_OK;
}

zx_status_t channel_write(struct channel *ch, const void *bytes, uint32_t nbytes,
                          const struct channel_handle *handles, uint32_t nhandles) {
    if (nbytes > CHANNEL_MAX_MSG_BYTES || nhandles > CHANNEL_MAX_MSG_HANDLES)
        return ZX_ERR_OUT_OF_RANGE;
    size_t hoff = ROUNDUP(sizeof(struct message) + nbytes, (size_t)8);
    struct message *m = kmalloc(hoff + nhandles * sizeof(struct channel_handle));
    if (!m)
        return ZX_ERR_NO_MEMORY;
    m->nbytes = nbytes;
    m->nhandles = nhandles;
    m->nchannels = 0;
    m->handles = (struct channel_handle *)((uint8_t *)m + hoff);
    if (nbytes)
        memcpy(m->bytes, bytes, nbytes);
    for (uint32_t i = 0; i < nhandles; i++) {
        m->handles[i] = handles[i];
        m->nchannels += handles[i].obj->type == ZX_OBJ_TYPE_CHANNEL;
    }

    // Read before the message is queued: once queued, a reader may take and free it at once.
    bool carries_channels = m->nchannels != 0;
    gc_lock_if(carries_channels);
    irqstate_t s = spin_lock_irqsave(&ch->pair->lock);
    struct channel *peer = ch->peer;
    zx_status_t st = ZX_OK;
    if (!peer || ch->peer_closed)
        st = ZX_ERR_PEER_CLOSED;
    else if (peer->pending >= CHANNEL_MAX_PENDING)
        st = ZX_ERR_SHOULD_WAIT;
    if (st == ZX_OK) {
        list_add_tail(&peer->messages, &m->node);
        peer->pending++;
        if (m->nchannels)
            channel_gc_queued_locked(m);
        // Signals change under the pair lock so a concurrent read cannot clear them stale.
        kobject_signal(&peer->obj, 0, ZX_CHANNEL_READABLE);
    }
    spin_unlock_irqrestore(&ch->pair->lock, s);
    gc_unlock_if(carries_channels);
    if (st != ZX_OK)
        kfree(m);  // the handles stay the caller's
    return st;
}

zx_status_t channel_read(struct channel *ch, void *bytes, uint32_t bytes_cap,
                         struct channel_handle *handles, uint32_t handles_cap, uint32_t *out_bytes,
                         uint32_t *out_handles) {
    bool gc_locked = false;
    irqstate_t s = spin_lock_irqsave(&ch->pair->lock);
    struct message *m = NULL;
    zx_status_t st = ZX_OK;
    for (;;) {
        if (list_is_empty(&ch->messages)) {
            st = ch->peer_closed || !ch->peer ? ZX_ERR_PEER_CLOSED : ZX_ERR_SHOULD_WAIT;
            *out_bytes = *out_handles = 0;
            break;
        }
        m = containerof(ch->messages.next, struct message, node);
        *out_bytes = m->nbytes;
        *out_handles = m->nhandles;
        if (m->nbytes > bytes_cap || m->nhandles > handles_cap) {
            st = ZX_ERR_BUFFER_TOO_SMALL;
            break;
        }
        if (!m->nchannels || gc_locked)
            break;
        // Taking endpoints off a queue needs the collector's lock, which comes first: retry.
        spin_unlock_irqrestore(&ch->pair->lock, s);
        gc_lock_if(true);
        gc_locked = true;
        s = spin_lock_irqsave(&ch->pair->lock);
    }
    if (st == ZX_OK) {
        list_delete(&m->node);
        ch->pending--;
        if (m->nchannels)
            channel_gc_dequeued_locked(m);
        if (list_is_empty(&ch->messages))
            kobject_signal(&ch->obj, ZX_CHANNEL_READABLE, 0);
    }
    spin_unlock_irqrestore(&ch->pair->lock, s);
    gc_unlock_if(gc_locked);
    if (st != ZX_OK)
        return st;
    if (m->nbytes)
        memcpy(bytes, m->bytes, m->nbytes);
    if (m->nhandles)
        memcpy(handles, m->handles, m->nhandles * sizeof(*handles));
    kfree(m);
    return ZX_OK;
}
