// Events and event pairs (docs/abi.md §6): objects that carry only signals. An event is one
// object; an event pair is two endpoints, each able to signal the other (zx_object_signal_peer)
// until the other's last handle closes, which asserts ZX_EVENTPAIR_PEER_CLOSED on the survivor.
#ifndef KERNEL_EVENT_H
#define KERNEL_EVENT_H

#include "kernel/object.h"

// Creates an event (no signals set); the caller holds the one reference. NO_MEMORY.
zx_status_t event_create(struct kobject **out) MUST_USE;
// Creates a connected event pair; the caller holds one reference on each end. NO_MEMORY.
zx_status_t eventpair_create(struct kobject **out0, struct kobject **out1) MUST_USE;
// The other end's koid (ZX_INFO_HANDLE_BASIC.related_koid), even after it is gone.
zx_koid_t eventpair_peer_koid(struct kobject *end);
// Clears then sets signals on the other end of `end` (an event pair endpoint). The masks are
// already checked. PEER_CLOSED once the other end has no handles left.
zx_status_t eventpair_signal_peer(struct kobject *end, zx_signals_t clear,
                                  zx_signals_t set) MUST_USE;

#endif  // KERNEL_EVENT_H
