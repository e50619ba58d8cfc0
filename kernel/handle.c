// Handle tables: a growable array of slots with a free list and per-slot generations.
#include "kernel/handle.h"

#include "kernel/assert.h"
#include "kernel/heap.h"
#include "kernel/string.h"

#define GEN_BITS 10
#define GEN_MASK ((1u << GEN_BITS) - 1)
#define INITIAL_CAP 16

static zx_handle_t handle_value(uint32_t index, uint32_t gen) {
    return (index << 12) | ((gen & GEN_MASK) << 2) | 3u;
}

void handle_table_init(struct handle_table *t) {
    memset(t, 0, sizeof(*t));
    t->lock = (struct spinlock)SPINLOCK_INIT("handles");
}

void kobject_handle_opened(struct kobject *obj) {
    uint64_t s = sched_lock_irqsave();
    obj->handles++;
    sched_unlock_irqrestore(s);
}

void kobject_handle_closed(struct kobject *obj) {
    uint64_t s = sched_lock_irqsave();
    ASSERT(obj->handles > 0);
    bool last = --obj->handles == 0;
    sched_unlock_irqrestore(s);
    if (last && obj->ops->on_zero_handles)
        obj->ops->on_zero_handles(obj);
}

void handle_table_destroy(struct handle_table *t) {
    for (uint32_t i = 0; i < t->cap; i++) {
        struct kobject *obj = t->slots[i].obj;
        if (obj) {
            t->slots[i].obj = NULL;
            handle_drop(obj);
        }
    }
    kfree(t->slots);
    t->slots = NULL;
    t->cap = t->count = t->free_head = 0;
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
    // New slots join the free list in index order.
    for (uint32_t i = cap; i-- > old_cap;) {
        slots[i].next_free = t->free_head;
        t->free_head = i + 1;
    }
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
        if (t->free_head) {
            uint32_t i = t->free_head - 1;
            struct handle_entry *e = &t->slots[i];
            t->free_head = e->next_free;
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
static struct handle_entry *lookup_locked(struct handle_table *t, zx_handle_t h) {
    ASSERT_HELD(&t->lock);
    if ((h & 3u) != 3u)
        return NULL;
    uint32_t i = h >> 12;
    if (i >= t->cap)
        return NULL;
    struct handle_entry *e = &t->slots[i];
    if (!e->obj || (e->gen & GEN_MASK) != ((h >> 2) & GEN_MASK))
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
    uint32_t i = (uint32_t)(e - t->slots);
    e->next_free = t->free_head;
    t->free_head = i + 1;
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
