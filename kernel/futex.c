// Futexes: a hash table of queues, each keyed by the memory behind a user address (docs/futex.md).
//
// Locking: `futex_lock` (a mutex) guards the table, every queue, every waiter's place in a queue
// and every owner. It is held while the futex word is read, which may fault the page in (the
// address-space and clone-tree locks come after it), and no code takes it while holding those.
// A waiter's `woken` flag is written under the scheduler lock too, so the waiter can test it and
// block atomically.
//
// The lost wake-up race. A wait reads the word and joins the queue under futex_lock, and every
// wake takes futex_lock to look at the queue; so a wake that follows a change of the word
// either sees the waiter queued or happened before the read, which then sees the new value. The
// waiter then drops futex_lock and blocks until `woken` (tested under the scheduler lock, where
// the waker sets it): a wake between the two is not lost either.
//
// Leaving early. A waiter whose deadline passes or whose process is killed takes futex_lock
// again: if it is still queued it leaves (and an emptied queue loses its owner and is freed);
// if a wake dequeued it meanwhile, the wake counted it and it reports ZX_OK.
//
// Invariant: every queue in the table has at least one waiter; only such a queue has an owner.
#include "kernel/futex.h"

#include "kernel/assert.h"
#include "kernel/heap.h"
#include "kernel/list.h"
#include "kernel/mutex.h"
#include "syscalls/user_copy.h"
#include "vm/vmar.h"
#include "vm/vmo.h"

#define FUTEX_BUCKETS 64

// What names a futex: the clone-tree node behind the address and the offset there, or, for an
// address with no mapping, the process and the address itself.
struct futex_key {
    const void *id;
    uint64_t offset;
};

struct futex {
    struct list_node hash_node;
    struct futex_key key;
    struct kobject *pin;        // keeps key.id alive and unique: the VMO or the process
    struct list_node waiters;   // struct futex_waiter, oldest first; never empty in the table
    struct uthread *owner;      // holds a reference; NULL for none
};

struct futex_waiter {
    struct list_node node;
    struct futex *futex;        // the queue it is on; NULL once a wake took it off
    struct uthread *thread;
    bool woken;                 // futex_lock and the scheduler lock
    struct wait_queue wq;       // only this waiter blocks here
};

static struct mutex futex_lock = MUTEX_INIT(futex_lock, "futex");
static struct list_node buckets[FUTEX_BUCKETS];  // futex_lock
static bool buckets_ready;                       // futex_lock

// References and memory an operation gives up, dropped once futex_lock is released (a release
// may destroy a process or a VMO, which should not run under it).
struct futex_drops {
    struct kobject *objs[8];
    size_t nobjs;
    struct futex *frees[2];
    size_t nfrees;
};

static void drop_obj(struct futex_drops *d, struct kobject *obj) {
    if (!obj)
        return;
    ASSERT(d->nobjs < countof(d->objs));
    d->objs[d->nobjs++] = obj;
}

static void drops_finish(struct futex_drops *d) {
    for (size_t i = 0; i < d->nobjs; i++)
        kobject_release(d->objs[i]);
    for (size_t i = 0; i < d->nfrees; i++)
        kfree(d->frees[i]);
}

// The key of user address `va` of `proc`, and a reference that keeps its id alive (*out_pin).
static void key_resolve(struct process *proc, uint64_t va, struct futex_key *key,
                        struct kobject **out_pin) {
    struct vm_aspace *as = proc->aspace;  // the caller runs in proc: its space is alive
    struct vm_mapping *m = NULL;
    if (as && user_range_ok(va, sizeof(int32_t))) {
        mutex_acquire(&as->lock);
        m = vm_aspace_find_mapping_locked(as, va);
        if (m) {
            vmo_backing_id(m->vmo, m->vmo_offset + (va - vm_region_base(&m->r)), &key->id,
                           &key->offset);
            *out_pin = vmo_object(m->vmo);
            kobject_retain(*out_pin);
        }
        mutex_release(&as->lock);
    }
    if (!m) {
        key->id = proc;
        key->offset = va;
        *out_pin = &proc->obj;
        kobject_retain(*out_pin);
    }
}

static struct list_node *bucket_of(const struct futex_key *k) {
    uint64_t h = ((uintptr_t)k->id >> 4) * 0x9e3779b97f4a7c15ull ^ (k->offset >> 2);
    h ^= h >> 29;
    return &buckets[(h * 0xbf58476d1ce4e5b9ull) >> 58];  // 64 buckets: the top 6 bits
}

static struct futex *futex_find_locked(const struct futex_key *k) {
    ASSERT_MUTEX_HELD(&futex_lock);
    if (!buckets_ready) {
        for (size_t i = 0; i < FUTEX_BUCKETS; i++)
            list_init(&buckets[i]);
        buckets_ready = true;
    }
    struct list_node *b = bucket_of(k);
    list_for_each(b, it) {
        struct futex *f = containerof(it, struct futex, hash_node);
        if (f->key.id == k->id && f->key.offset == k->offset)
            return f;
    }
    return NULL;
}

// The queue for `k`: the existing one, or `spare` (allocated by the caller) set up with `pin`.
// Takes the caller's `pin` reference either way (dropping it if the queue existed).
static struct futex *futex_get_locked(const struct futex_key *k, struct kobject *pin,
                                      struct futex **spare, struct futex_drops *d) {
    struct futex *f = futex_find_locked(k);
    if (f) {
        drop_obj(d, pin);
        return f;
    }
    f = *spare;
    *spare = NULL;
    *f = (struct futex){.key = *k, .pin = pin};
    list_init(&f->waiters);
    list_add_tail(bucket_of(k), &f->hash_node);
    return f;
}

static void set_owner_locked(struct futex *f, struct uthread *owner, struct futex_drops *d) {
    if (owner)
        kobject_retain(&owner->obj);
    drop_obj(d, f->owner ? &f->owner->obj : NULL);
    f->owner = owner;
}

// Frees `f` if nobody waits on it any more (an empty queue has no owner).
static void futex_put_locked(struct futex *f, struct futex_drops *d) {
    if (!list_is_empty(&f->waiters))
        return;
    set_owner_locked(f, NULL, d);
    drop_obj(d, f->pin);
    list_delete(&f->hash_node);
    ASSERT(d->nfrees < countof(d->frees));
    d->frees[d->nfrees++] = f;
}

// Takes the oldest waiter off `f` and lets it run; returns its thread (NULL if none waits).
static struct uthread *wake_one_locked(struct futex *f) {
    struct list_node *n = list_remove_head(&f->waiters);
    if (!n)
        return NULL;
    struct futex_waiter *w = containerof(n, struct futex_waiter, node);
    struct uthread *t = w->thread;
    w->futex = NULL;
    uint64_t s = sched_lock_irqsave();
    w->woken = true;  // `w` may be gone once the scheduler lock is dropped
    wait_queue_wake_one_locked(&w->wq, ZX_OK);
    sched_unlock_irqrestore(s);
    return t;
}

// True if `t` waits on `f`.
static bool waits_on_locked(const struct futex *f, const struct uthread *t) {
    if (!f)
        return false;
    list_for_each(&f->waiters, it) {
        if (containerof(it, struct futex_waiter, node)->thread == t)
            return true;
    }
    return false;
}

// The owner a caller asked for, or NULL if that thread is already dying (it can own nothing).
static struct uthread *live_owner(struct uthread *t) {
    if (!t)
        return NULL;
    mutex_acquire(&t->proc->lock);
    bool alive = t->state == TASK_RUNNING && !t->kill_pending;
    mutex_release(&t->proc->lock);
    return alive ? t : NULL;
}

// Reads the futex word at `va`: BAD_STATE unless it holds `current`, or the copy's status.
static zx_status_t check_value(uint64_t va, int32_t current) {
    int32_t v;
    zx_status_t st = copy_from_user(&v, va, sizeof(v));
    if (st == ZX_OK && v != current)
        st = ZX_ERR_BAD_STATE;
    return st;
}

// What a call that may queue waiters needs before it takes futex_lock: a spare queue (allocated
// outside the lock) and the owner it asked for, unless that thread is dying. NO_MEMORY.
static zx_status_t op_prepare(struct uthread *owner, struct futex **out_spare,
                              struct uthread **out_owner) {
    *out_spare = kmalloc(sizeof(struct futex));
    if (!*out_spare)
        return ZX_ERR_NO_MEMORY;
    *out_owner = live_owner(owner);
    return ZX_OK;
}

zx_status_t futex_wait(struct process *proc, uint64_t va, int32_t current, zx_status_t owner_status,
                       struct uthread *owner, zx_time_t deadline) {
    struct uthread *self = uthread_current();
    struct futex_key key;
    struct kobject *pin;
    struct futex_drops d = {0};
    struct futex *spare;
    struct uthread *new_owner;
    if (op_prepare(owner, &spare, &new_owner) != ZX_OK)
        return ZX_ERR_NO_MEMORY;
    key_resolve(proc, va, &key, &pin);
    struct futex_waiter w = {.thread = self};
    wait_queue_init(&w.wq);

    mutex_acquire(&futex_lock);
    zx_status_t st = check_value(va, current);
    if (st == ZX_OK)
        st = owner_status;
    if (st == ZX_OK && owner && (owner == self || waits_on_locked(futex_find_locked(&key), owner)))
        st = ZX_ERR_INVALID_ARGS;
    if (st != ZX_OK) {
        mutex_release(&futex_lock);
        kobject_release(pin);
        kfree(spare);
        return st;
    }
    struct futex *f = futex_get_locked(&key, pin, &spare, &d);
    w.futex = f;
    list_add_tail(&f->waiters, &w.node);
    set_owner_locked(f, new_owner, &d);
    mutex_release(&futex_lock);
    drops_finish(&d);
    kfree(spare);

    uint64_t s = sched_lock_irqsave();
    while (!w.woken && st == ZX_OK)
        st = wait_queue_block_interruptible_locked(&w.wq, deadline);
    sched_unlock_irqrestore(s);
    if (st == ZX_OK)
        return ZX_OK;

    // Timed out or killed: leave the queue, unless a wake took us off it meanwhile.
    d = (struct futex_drops){0};
    mutex_acquire(&futex_lock);
    if (w.futex) {
        list_delete(&w.node);
        futex_put_locked(w.futex, &d);
    } else {
        st = ZX_OK;
    }
    mutex_release(&futex_lock);
    drops_finish(&d);
    return st;
}

zx_status_t futex_wake(struct process *proc, uint64_t va, uint32_t count, bool assign_owner) {
    struct futex_key key;
    struct kobject *pin;
    struct futex_drops d = {0};
    key_resolve(proc, va, &key, &pin);
    drop_obj(&d, pin);
    mutex_acquire(&futex_lock);
    struct futex *f = futex_find_locked(&key);
    if (f) {
        struct uthread *woken = NULL;
        for (uint32_t i = 0; i < count && !list_is_empty(&f->waiters); i++)
            woken = wake_one_locked(f);
        set_owner_locked(f, assign_owner && !list_is_empty(&f->waiters) ? live_owner(woken) : NULL,
                         &d);
        futex_put_locked(f, &d);
    }
    mutex_release(&futex_lock);
    drops_finish(&d);
    return ZX_OK;
}

zx_status_t futex_requeue(struct process *proc, uint64_t va, uint32_t wake_count, int32_t current,
                          uint64_t requeue_va, uint32_t requeue_count, zx_status_t owner_status,
                          struct uthread *owner) {
    struct futex_key key, rkey;
    struct kobject *pin, *rpin;
    struct futex_drops d = {0};
    struct futex *spare;
    struct uthread *new_owner;
    if (op_prepare(owner, &spare, &new_owner) != ZX_OK)
        return ZX_ERR_NO_MEMORY;
    key_resolve(proc, va, &key, &pin);
    key_resolve(proc, requeue_va, &rkey, &rpin);
    drop_obj(&d, pin);

    mutex_acquire(&futex_lock);
    struct futex *f = futex_find_locked(&key);
    struct futex *rf = futex_find_locked(&rkey);
    zx_status_t st = check_value(va, current);
    if (st == ZX_OK)
        st = owner_status;
    if (st == ZX_OK && owner && (waits_on_locked(f, owner) || waits_on_locked(rf, owner)))
        st = ZX_ERR_INVALID_ARGS;
    if (st == ZX_OK && f == rf && f)
        st = ZX_ERR_INVALID_ARGS;  // two addresses of one futex (two mappings of a page)
    if (st != ZX_OK) {
        drop_obj(&d, rpin);
        mutex_release(&futex_lock);
        drops_finish(&d);
        kfree(spare);
        return st;
    }
    if (f) {
        for (uint32_t i = 0; i < wake_count && !list_is_empty(&f->waiters); i++)
            (void)wake_one_locked(f);
        set_owner_locked(f, NULL, &d);
        if (requeue_count && !list_is_empty(&f->waiters)) {
            rf = futex_get_locked(&rkey, rpin, &spare, &d);
            rpin = NULL;
            for (uint32_t i = 0; i < requeue_count && !list_is_empty(&f->waiters); i++) {
                struct futex_waiter *w =
                    containerof(list_remove_head(&f->waiters), struct futex_waiter, node);
                w->futex = rf;
                list_add_tail(&rf->waiters, &w->node);
            }
        }
        futex_put_locked(f, &d);
    }
    drop_obj(&d, rpin);
    if (rf && !list_is_empty(&rf->waiters))
        set_owner_locked(rf, new_owner, &d);
    mutex_release(&futex_lock);
    drops_finish(&d);
    kfree(spare);
    return ZX_OK;
}

zx_koid_t futex_get_owner(struct process *proc, uint64_t va) {
    struct futex_key key;
    struct kobject *pin;
    key_resolve(proc, va, &key, &pin);
    struct futex_drops d = {0};
    drop_obj(&d, pin);
    zx_koid_t koid = ZX_KOID_INVALID;
    mutex_acquire(&futex_lock);
    struct futex *f = futex_find_locked(&key);
    if (f && f->owner) {
        if (live_owner(f->owner))
            koid = f->owner->obj.koid;
        else
            set_owner_locked(f, NULL, &d);  // an owner that died owns nothing
    }
    mutex_release(&futex_lock);
    drops_finish(&d);
    return koid;
}
