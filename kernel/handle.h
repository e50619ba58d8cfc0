// Handle tables: a process's handles, each naming a kernel object with a set of rights.
//
// A handle value is (generation << 18) | (index << 2) | 3: the two low bits are always set, the
// slot index is read straight out of the value (lookup is one array access), and the 14-bit
// generation changes every time the slot is freed. Free slots are reused in FIFO order and at
// least HANDLE_MIN_FREE slots are always free, so a freed slot waits for at least 65 new handles
// before it is used again, and a closed value comes back only after 2^14 reuses of its slot: at
// least 65 * 2^14 > 2^20 handle creations in its process (a stale handle is BAD_HANDLE, not
// someone else's object, for that long).
#ifndef KERNEL_HANDLE_H
#define KERNEL_HANDLE_H

#include <zircon/rights.h>
#include <zircon/types.h>

#include "kernel/object.h"
#include "kernel/spinlock.h"

#define HANDLE_INDEX_BITS 16
#define HANDLE_GEN_BITS 14
#define HANDLE_TABLE_MAX (1u << HANDLE_INDEX_BITS)  // slots per process
// Slots kept free (FIFO reuse distance); a process may hold HANDLE_TABLE_MAX - this many handles.
#define HANDLE_MIN_FREE 64u

struct handle_entry {
    struct kobject *obj;  // NULL when the slot is free
    zx_rights_t rights;
    uint32_t gen;         // bumped when the slot is freed
    uint32_t next_free;   // free-queue link (slot index + 1; 0 ends the queue)
};

struct handle_table {
    struct spinlock lock;
    struct handle_entry *slots;
    uint32_t cap;
    uint32_t free_head;  // the free queue: taken at the head (slot index + 1, 0 if empty)...
    uint32_t free_tail;  // ...freed slots join at the tail
    uint32_t count;      // handles in use; Invariant: cap - count >= HANDLE_MIN_FREE once cap > 0
};

void handle_table_init(struct handle_table *t);
// Closes every handle (dropping its reference) and frees the table's memory.
void handle_table_destroy(struct handle_table *t);

// Adds a handle to `obj` with `rights`, taking a new reference. NO_MEMORY or NO_RESOURCES (table
// full: HANDLE_TABLE_MAX - HANDLE_MIN_FREE handles).
zx_status_t handle_add(struct handle_table *t, struct kobject *obj, zx_rights_t rights,
                       zx_handle_t *out) MUST_USE;
// Installs a handle the caller owns (one from handle_take, moved between tables or through a
// channel): no new reference. On failure the caller still owns it (handle_drop to close it).
zx_status_t handle_install(struct handle_table *t, struct kobject *obj, zx_rights_t rights,
                           zx_handle_t *out) MUST_USE;
// Closes a handle the caller owns (drops its reference and handle count).
void handle_drop(struct kobject *obj);
// Looks up `h`: BAD_HANDLE if it names nothing, WRONG_TYPE if `type` is not ZX_OBJ_TYPE_NONE and
// differs, ACCESS_DENIED if the handle lacks any of `rights`. On success *out_obj is retained
// (release it) and *out_rights (may be NULL) is the handle's rights.
zx_status_t handle_get(struct handle_table *t, zx_handle_t h, zx_obj_type_t type, zx_rights_t rights,
                       struct kobject **out_obj, zx_rights_t *out_rights) MUST_USE;
// Looks `h` up as handle_get does and calls fn(obj, rights, arg) with the table still locked, so
// that the handle cannot leave the table before fn returns: what fn registers on the object through
// the handle (an observer) is sure to be seen by the handle's removal. fn may take the scheduler
// lock and nothing else, must not block or allocate; its status is returned.
zx_status_t handle_call_locked(struct handle_table *t, zx_handle_t h, zx_obj_type_t type,
                               zx_rights_t rights,
                               zx_status_t (*fn)(struct kobject *obj, zx_rights_t rights, void *arg),
                               void *arg) MUST_USE;
// Removes `h` from the table; the caller now owns the handle (its reference and its place in the
// object's handle count) and must handle_install or handle_drop it. BAD_HANDLE.
zx_status_t handle_take(struct handle_table *t, zx_handle_t h, struct kobject **out_obj,
                        zx_rights_t *out_rights) MUST_USE;
// Closes `h` (ZX_HANDLE_INVALID is OK). BAD_HANDLE.
zx_status_t handle_close(struct handle_table *t, zx_handle_t h) MUST_USE;

// The objects of type `type` the table has handles to, in slot order: a new reference on each of
// the first `max` in objs[] (with the handle's rights in rights[]). Returns how many there are.
size_t handle_table_collect(struct handle_table *t, zx_obj_type_t type, struct kobject **objs,
                            zx_rights_t *rights, size_t max);

// Handle bookkeeping on objects: called when a handle starts or stops naming `obj`.
void kobject_handle_opened(struct kobject *obj);
void kobject_handle_closed(struct kobject *obj);

#endif  // KERNEL_HANDLE_H
