// Channels: a pair of endpoints carrying messages of bytes and handles, in order. Used for process
// start-up (the bootstrap message) and by programs. Signals: ZX_CHANNEL_READABLE while messages
// wait, ZX_CHANNEL_PEER_CLOSED once the other endpoint has no handles left.
#ifndef KERNEL_CHANNEL_H
#define KERNEL_CHANNEL_H

#include "kernel/object.h"


#define CHANNEL_MAX_MSG_BYTES 65536u
#define CHANNEL_MAX_MSG_HANDLES 64u
#define CHANNEL_MAX_PENDING 1024u  // messages queued on one endpoint

// A handle in flight: owned by the message (see handle_take / handle_install).
struct channel_handle {
    struct kobject *obj;
    zx_rights_t rights;
};

struct channel;

// Creates a connected pair; each endpoint carries the caller's reference. NO_MEMORY.
zx_status_t channel_create(struct channel **out0, struct channel **out1) MUST_USE;

// Queues a message on the peer. The message takes ownership of `handles` on success only.
// PEER_CLOSED, NO_MEMORY, OUT_OF_RANGE (too many bytes or handles), SHOULD_WAIT (queue full).
zx_status_t channel_write(struct channel *ch, const void *bytes, uint32_t nbytes,
                          const struct channel_handle *handles, uint32_t nhandles) MUST_USE;

// Dequeues the next message into `bytes` and `handles` (the caller then owns those handles).
// *out_bytes / *out_handles get the message's sizes in every case. SHOULD_WAIT (empty),
// PEER_CLOSED (empty and the peer is gone), BUFFER_TOO_SMALL (the message stays queued).
zx_status_t channel_read(struct channel *ch, void *bytes, uint32_t bytes_cap,
                         struct channel_handle *handles, uint32_t handles_cap, uint32_t *out_bytes,
                         uint32_t *out_handles) MUST_USE;

struct kobject *channel_object(struct channel *ch);
struct channel *channel_from_object(struct kobject *obj);
zx_koid_t channel_peer_koid(struct channel *ch);
// zx_object_signal_peer: clears then sets (already checked) user signals on the other endpoint.
// PEER_CLOSED once the peer has no handles left.
zx_status_t channel_signal_peer(struct channel *ch, zx_signals_t clear, zx_signals_t set) MUST_USE;

#endif  // KERNEL_CHANNEL_H
