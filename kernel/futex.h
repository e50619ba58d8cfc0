// Futexes (docs/abi.md §7): wait queues named by a 32-bit word of user memory, with an optional
// owner thread per queue. docs/futex.md explains the keying: a futex is named by the memory
// behind the address (the VMO's clone-tree node and the offset there), not by the address, so
// that processes sharing a VMO share its futexes.
//
// Ownership rules (Zircon's): a futex has an owner only while it has waiters; a wait sets the
// owner to its new_owner (none for NULL); a wake clears it; wake_single_owner makes the woken
// thread the owner if others still wait; requeue clears the wake futex's owner and sets the
// requeue futex's to its new owner if that futex has waiters; an owner that dies owns nothing.
//
// Every function here is called by a user thread of `proc` (the current process) with pointers
// already checked for NULL and alignment; owners are already checked to be started threads of
// `proc` (NULL: none). Statuses follow docs/abi.md §7; `owner_status` is the owner handle's
// look-up status, reported only after the value check, as Zircon does.
#ifndef KERNEL_FUTEX_H
#define KERNEL_FUTEX_H

#include <zircon/types.h>

#include "kernel/process.h"

// Blocks the calling thread on the futex at `va` if it holds `current` (else BAD_STATE), until a
// wake (ZX_OK), the deadline (TIMED_OUT) or its process's end (CANCELED). INVALID_ARGS if
// `owner` is the caller or already waits on this futex; NO_MEMORY; a user-copy status.
zx_status_t futex_wait(struct process *proc, uint64_t va, int32_t current, zx_status_t owner_status,
                       struct uthread *owner, zx_time_t deadline) MUST_USE;
// Wakes up to `count` waiters, oldest first. With `assign_owner` (count 1), the woken thread
// becomes the owner if others still wait; otherwise the owner is cleared. Always ZX_OK.
zx_status_t futex_wake(struct process *proc, uint64_t va, uint32_t count, bool assign_owner);
// Checks that `va` holds `current` (BAD_STATE), then wakes `wake_count` waiters of `va` and moves
// up to `requeue_count` of the rest to `requeue_va`, whose owner becomes `owner`. INVALID_ARGS if
// `owner` waits on either futex; NO_MEMORY; a user-copy status. Errors change nothing.
zx_status_t futex_requeue(struct process *proc, uint64_t va, uint32_t wake_count, int32_t current,
                          uint64_t requeue_va, uint32_t requeue_count, zx_status_t owner_status,
                          struct uthread *owner) MUST_USE;
// The koid of the futex's owner, or ZX_KOID_INVALID.
zx_koid_t futex_get_owner(struct process *proc, uint64_t va);

#endif  // KERNEL_FUTEX_H
