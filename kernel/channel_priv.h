// Channel internals shared by kernel/channel.c (messages and endpoints) and kernel/channel_gc.c
// (the cycle collector). Nothing outside those two files includes this.
#ifndef KERNEL_CHANNEL_PRIV_H
#define KERNEL_CHANNEL_PRIV_H

#include "kernel/channel.h"
#include "kernel/list.h"
#include "kernel/mutex.h"
#include "kernel/spinlock.h"

struct message {
    struct list_node node;
    uint32_t nbytes;
    uint32_t nhandles;
    uint32_t nchannels;              // how many of `handles` are channel endpoints
    struct channel_handle *handles;  // follows the bytes in the same allocation
    uint8_t bytes[];
};

struct channel_pair;

struct channel {
    struct kobject obj;  // first: the endpoint is the object
    struct channel_pair *pair;
    struct channel *peer;       // NULL once the peer is destroyed; guarded by pair->lock
    struct list_node messages;  // queued for reading on this endpoint (pair->lock)
    uint32_t pending;
    bool peer_closed;
    // The collector's fields, all under channel_gc_lock.
    struct list_node gc_inflight_node;  // in the collector's list while obj.inflight > 0
    struct list_node gc_candidate_node;  // in one pass's candidate list
    struct channel *gc_next;             // one pass's work stack
    uint32_t gc_refs;                    // inflight minus handles queued on candidates
    uint8_t gc_state;                    // enum in channel_gc.c; 0 outside a pass
};

struct channel_pair {
    struct spinlock lock;
    struct channel ends[2];
    uint32_t alive;  // endpoints not yet destroyed
};

// The collector's lock (a mutex: a pass walks every queue that carries endpoints). Held to queue
// or dequeue a message that carries endpoints, and to empty an endpoint's queue, so the
// collector sees every endpoint handle either queued or owned by someone who can use it.
// Order: channel_gc_lock, then a pair lock, then the scheduler lock.
extern struct mutex channel_gc_lock;

// Counts the endpoint handles of `m` as in flight (it was just queued) or no longer in flight
// (it was just taken off a queue; its handles are the taker's). channel_gc_lock held.
void channel_gc_queued_locked(struct message *m);
void channel_gc_dequeued_locked(struct message *m);

// Frees a message no longer on any queue (channel_gc_dequeued_locked done), closing its handles.
// No lock held: closing a handle may destroy objects.
void channel_free_message(struct message *m);

#endif  // KERNEL_CHANNEL_PRIV_H
