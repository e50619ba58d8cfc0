// Handle tables: a growable array of slots with a FIFO free queue and per-slot generations (the
// reuse distance this gives is worked out in kernel/handle.h).
#include "kernel/handle.h"

#include "kernel/assert.h"
#include "kernel/heap.h"
#include "kernel/string.h"

#define INDEX_MASK (HANDLE_TABLE_MAX - 1)
#define GEN_MASK ((1u << HANDLE_GEN_BITS) - 1)
#define GEN_SHIFT (2 + HANDLE_INDEX_BITS)
#define INITIAL_CAP (2 * HANDLE_MIN_FREE)

_Static_assert(GEN_SHIFT + HANDLE_GEN_BITS == 32, "a handle value uses all 32 bits");
_Static_assert((HANDLE_MIN_FREE + 1) << HANDLE_GEN_BITS >= 1u << 20,
               "a closed value must not come back for 2^20 creations");

static zx_handle_t handle_value(uint32_t index, uint32_t gen) {
    return ((gen & GEN_MASK) << GEN_SHIFT) | (index << 2) | 3u;
}

// Appends slot `i` to the free queue. Caller holds the lock (or owns the table privately).
static void free_push(struct handle_table *t, struct handle_entry *slots, uint32_t i) {
    slots[i].next_free = 0;
    if (t->free_tail)
        slots[t->free_tail - 1].next_free = i + 1;
    else
        t->free_head = i + 1;
    t->free_tail = i + 1;
}

void handle_table_init(struct handle_table *t) {
    memset(t, 0, sizeof(*t));
    t->lock = (struct spinlock)SPINLOCK_INIT("handles");
}

// Handle counts are atomics, like reference counts (kernel/object.c).
void kobject_handle_opened(struct kobject *obj) {
    __atomic_fetch_add(&obj->handles, 1, __ATOMIC_RELAXED);
}

void kobject_handle_closed(struct kobject *obj) {
    uint32_t old = __atomic_fetch_sub(&obj->handles, 1, __ATOMIC_ACQ_REL);
    ASSERT(old > 0);
    bool last = old == 1;
    if (last && obj->ops->on_zero_handles)
        obj->ops->on_zero_handles(obj);
}

void handle_table_destroy(struct handle_table *t) {
    for (uint32_t i = 0; i < t->cap; i++) {
        struct kobject *obj = t->slots[i].obj;
        if (obj) {
            t->slots[i].obj = NULL;
            // Async waits made through it end with it (observers name the table and value).
            kobject_cancel_handle_waits(obj, t, handle_value(i, t->slots[i].gen));
            handle_drop(obj);
        }
    }
    kfree(t->slots);
    t->slots = NULL;
    t->cap = t->count = t->free_head = t->free_tail = 0;
}

// Doubles the table. Called without the lock (allocation); the caller re-checks.
static zx_status_t grow(struct handle_table *t, uint32_t old_cap) {
    uint32_t cap = old_cap ? old_cap * 2 : INITIAL_CAP;
    if (cap > HANDLE_TABLE_MAX)
        return ZX_ERR_NO_RESOURCES;
    struct handle_entry *slots = kzalloc(cap * sizeof(*slots));
    if (!slots)
        return ZX_ERR_NO_MEMORY;
    irqstate_t s = spin_lock_irqsave(&t->lock);
    if (t->cap != old_cap) {  // someone else grew it meanwhile
        spin_unlock_irqrestore(&t->lock, s);
        kfree(slots);
        return ZX_OK;
    }
    memcpy(slots, t->slots, old_cap * sizeof(*slots));
    // New slots join the end of the free queue in index order (the queue's links are indices,
    // so they stay valid in the copy).
    for (uint32_t i = old_cap; i < cap; i++)
        free_push(t, slots, i);
    struct handle_entry *old = t->slots;
    t->slots = slots;
    t->cap = cap;
    spin_unlock_irqrestore(&t->lock, s);
    kfree(old);
    return ZX_OK;
}

zx_status_t handle_add(struct handle_table *t, struct kobject *obj, zx_rights_t rights,
                       zx_handle_t *out) {
    kobject_retain(obj);
    kobject_handle_opened(obj);
    zx_status_t st = handle_install(t, obj, rights, out);
    if (st != ZX_OK)
        handle_drop(obj);
    return st;
}

void handle_drop(struct kobject *obj) {
    kobject_handle_closed(obj);
    kobject_release(obj);
}

zx_status_t handle_install(struct handle_table *t, struct kobject *obj, zx_rights_t rights,
                           zx_handle_t *out) {
    for (;;) {
        irqstate_t s = spin_lock_irqsave(&t->lock);
        // Taking a slot must leave HANDLE_MIN_FREE free (the reuse distance of handle.h).
        if (t->cap - t->count > HANDLE_MIN_FREE) {
            uint32_t i = t->free_head - 1;
            struct handle_entry *e = &t->slots[i];
            t->free_head = e->next_free;
            if (!t->free_head)
                t->free_tail = 0;
            e->obj = obj;
            e->rights = rights;
            t->count++;
            zx_handle_t h = handle_value(i, e->gen);
            spin_unlock_irqrestore(&t->lock, s);
            *out = h;
            return ZX_OK;
        }
        uint32_t cap = t->cap;
        spin_unlock_irqrestore(&t->lock, s);
        zx_status_t st = grow(t, cap);
        if (st != ZX_OK)
            return st;
    }
}

// The slot `h` names, or NULL. Caller holds the lock.
static struct handle_entry *lookup_locked(struct handle_table *t, zx_handle_t h) REQUIRES(t->lock) {
    ASSERT_HELD(&t->lock);
    if ((h & 3u) != 3u)
        return NULL;
    uint32_t i = (h >> 2) & INDEX_MASK;
    if (i >= t->cap)
        return NULL;
    struct handle_entry *e = &t->slots[i];
    if (!e->obj || (e->gen & GEN_MASK) != h >> GEN_SHIFT)
        return NULL;
    return e;
}

zx_status_t handle_get(struct handle_table *t, zx_handle_t h, zx_obj_type_t type, zx_rights_t rights,
                       struct kobject **out_obj, zx_rights_t *out_rights) {
    irqstate_t s = spin_lock_irqsave(&t->lock);
    struct handle_entry *e = lookup_locked(t, h);
    zx_status_t st = ZX_OK;
    if (!e)
        st = ZX_ERR_BAD_HANDLE;
    else if (type != ZX_OBJ_TYPE_NONE && e->obj->type != type)
        st = ZX_ERR_WRONG_TYPE;
    else if ((e->rights & rights) != rights)
        st = ZX_ERR_ACCESS_DENIED;
    struct kobject *obj = st == ZX_OK ? e->obj : NULL;
    zx_rights_t r = st == ZX_OK ? e->rights : 0;
    // Retained before the table lets go: another thread of the process may close the handle (and
    // drop the last reference) the moment the lock is released.
    if (obj)
        kobject_retain(obj);
    spin_unlock_irqrestore(&t->lock, s);
    if (st != ZX_OK)
        return st;
    *out_obj = obj;
    if (out_rights)
        *out_rights = r;
    return ZX_OK;
}

zx_status_t handle_call_locked(struct handle_table *t, zx_handle_t h, zx_obj_type_t type,
                               zx_rights_t rights,
                               zx_status_t (*fn)(struct kobject *obj, zx_rights_t rights, void *arg),
                               void *arg) {
    irqstate_t s = spin_lock_irqsave(&t->lock);
    struct handle_entry *e = lookup_locked(t, h);
    zx_status_t st;
    if (!e)
        st = ZX_ERR_BAD_HANDLE;
    else if (type != ZX_OBJ_TYPE_NONE && e->obj->type != type)
        st = ZX_ERR_WRONG_TYPE;
    else if ((e->rights & rights) != rights)
        st = ZX_ERR_ACCESS_DENIED;
    else
        st = fn(e->obj, e->rights, arg);
    spin_unlock_irqrestore(&t->lock, s);
    return st;
}

zx_status_t handle_take(struct handle_table *t, zx_handle_t h, struct kobject **out_obj,
                        zx_rights_t *out_rights) {
    irqstate_t s = spin_lock_irqsave(&t->lock);
    struct handle_entry *e = lookup_locked(t, h);
    if (!e) {
        spin_unlock_irqrestore(&t->lock, s);
        return ZX_ERR_BAD_HANDLE;
    }
    struct kobject *obj = e->obj;
    zx_rights_t rights = e->rights;
    e->obj = NULL;
    e->rights = 0;
    e->gen++;
    free_push(t, t->slots, (uint32_t)(e - t->slots));
    t->count--;
    spin_unlock_irqrestore(&t->lock, s);
    kobject_cancel_handle_waits(obj, t, h);
    *out_obj = obj;
    if (out_rights)
        *out_rights = rights;
    return ZX_OK;
}

zx_status_t handle_close(struct handle_table *t, zx_handle_t h) {
    if (h == ZX_HANDLE_INVALID)
        return ZX_OK;
    struct kobject *obj;
    zx_status_t st = handle_take(t, h, &obj, NULL);
    if (st == ZX_OK)
        handle_drop(obj);
    return st;
}

size_t handle_table_collect(struct handle_table *t, zx_obj_type_t type, struct kobject **objs,
                            zx_rights_t *rights, size_t max) {
    size_t n = 0;
    irqstate_t s = spin_lock_irqsave(&t->lock);
    for (uint32_t i = 0; i < t->cap; i++) {
        struct handle_entry *e = &t->slots[i];
        if (!e->obj || e->obj->type != type)
            continue;
        if (n < max) {
            kobject_retain(e->obj);
            objs[n] = e->obj;
            rights[n] = e->rights;
        }
        n++;
    }
    spin_unlock_irqrestore(&t->lock, s);
    return n;
}
