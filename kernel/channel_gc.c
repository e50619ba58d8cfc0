// The channel cycle collector (kernel/channel_gc.h). One pass, under channel_gc_lock:
//   1. candidates: endpoints in flight whose references are all queued handles;
//   2. for each candidate, gc_refs = its queued handles minus those queued on candidates;
//   3. candidates with gc_refs > 0 are live (queued on a live endpoint), and so is every
//      candidate queued on a live candidate (a work stack, no recursion);
//   4. the rest are garbage: their queues are emptied (every message, not only those carrying
//      endpoints), the lock dropped, and the messages freed, which frees the garbage endpoints.
// While the lock is held no message carrying an endpoint is queued or dequeued anywhere, and a
// candidate gains no reference (only a dequeue could give one), so the pass sees a fixed graph.
#include "kernel/channel_gc.h"

#include "kernel/assert.h"
#include "kernel/channel_priv.h"
#include "kernel/object.h"

enum { GC_NONE, GC_CANDIDATE, GC_LIVE };

struct mutex channel_gc_lock = MUTEX_INIT(channel_gc_lock, "channel_gc");
static struct mutex gc_runner = MUTEX_INIT(gc_runner, "channel_gc_runner");

static struct list_node inflight = LIST_INITIAL(inflight);  // channel_gc_lock: by gc_inflight_node
static size_t inflight_count;                                // channel_gc_lock
uint64_t channel_gc_done_requests;  // requests handled by finished passes (gc_runner; read atomically)
static size_t collected;        // endpoints found garbage (gc_runner)

// Counts the endpoint handles of `m` in (+1) or out of (-1) flight, keeping the in-flight list.
static void count_inflight_locked(struct message *m, int delta) {
    ASSERT_MUTEX_HELD(&channel_gc_lock);
    for (uint32_t i = 0; i < m->nhandles; i++) {
        struct kobject *obj = m->handles[i].obj;
        if (obj->type != ZX_OBJ_TYPE_CHANNEL)
            continue;
        struct channel *ch = channel_from_object(obj);
        if (delta > 0 && !list_in_list(&ch->gc_inflight_node)) {
            list_add_tail(&inflight, &ch->gc_inflight_node);
            inflight_count++;
        }
        kobject_inflight_add(obj, delta);
        if (obj->inflight == 0) {  // stable: it changes only under channel_gc_lock
            list_delete(&ch->gc_inflight_node);
            inflight_count--;
        }
    }
}

void channel_gc_queued_locked(struct message *m) {
    count_inflight_locked(m, 1);
}

void channel_gc_dequeued_locked(struct message *m) {
    count_inflight_locked(m, -1);
}

// Calls visit(target, arg) for every endpoint handle queued on `ch`. channel_gc_lock held: the
// messages that carry endpoints cannot change, but others may come and go (the pair lock).
static void for_each_queued_endpoint(struct channel *ch,
                                     void (*visit)(struct channel *target, void *arg), void *arg) {
    irqstate_t s = spin_lock_irqsave(&ch->pair->lock);
    list_for_each(&ch->messages, it) {
        struct message *m = containerof(it, struct message, node);
        for (uint32_t i = 0; m->nchannels && i < m->nhandles; i++) {
            if (m->handles[i].obj->type == ZX_OBJ_TYPE_CHANNEL)
                visit(channel_from_object(m->handles[i].obj), arg);
        }
    }
    spin_unlock_irqrestore(&ch->pair->lock, s);
}

static void uncount_internal(struct channel *target, void *arg) {
    (void)arg;
    if (target->gc_state == GC_CANDIDATE) {
        ASSERT(target->gc_refs > 0);
        target->gc_refs--;
    }
}

static void mark_live(struct channel *target, void *arg) {
    struct channel **stack = arg;
    if (target->gc_state == GC_CANDIDATE) {
        target->gc_state = GC_LIVE;
        target->gc_next = *stack;
        *stack = target;
    }
}

// One pass; returns after freeing what it found.
static void gc_pass(void) {
    struct list_node candidates, dead;
    list_init(&candidates);
    list_init(&dead);
    mutex_acquire(&channel_gc_lock);
    list_for_each(&inflight, it) {
        struct channel *ch = containerof(it, struct channel, gc_inflight_node);
        if (kobject_only_inflight(&ch->obj)) {
            ch->gc_state = GC_CANDIDATE;
            ch->gc_refs = ch->obj.inflight;
            list_add_tail(&candidates, &ch->gc_candidate_node);
        }
    }
    list_for_each(&candidates, it)
        for_each_queued_endpoint(containerof(it, struct channel, gc_candidate_node),
                                 uncount_internal, NULL);
    struct channel *stack = NULL;
    list_for_each(&candidates, it) {
        struct channel *ch = containerof(it, struct channel, gc_candidate_node);
        if (ch->gc_state == GC_CANDIDATE && ch->gc_refs > 0) {
            ch->gc_state = GC_LIVE;
            ch->gc_next = stack;
            stack = ch;
        }
    }
    while (stack) {
        struct channel *ch = stack;
        stack = ch->gc_next;
        for_each_queued_endpoint(ch, mark_live, &stack);
    }
    struct list_node *n;
    while ((n = list_remove_head(&candidates)) != NULL) {
        struct channel *ch = containerof(n, struct channel, gc_candidate_node);
        bool garbage = ch->gc_state == GC_CANDIDATE;
        ch->gc_state = GC_NONE;
        if (!garbage)
            continue;
        collected++;
        irqstate_t s = spin_lock_irqsave(&ch->pair->lock);
        struct list_node *mn;
        while ((mn = list_remove_head(&ch->messages)) != NULL) {
            struct message *m = containerof(mn, struct message, node);
            if (m->nchannels)
                channel_gc_dequeued_locked(m);
            list_add_tail(&dead, mn);
        }
        ch->pending = 0;
        kobject_signal(&ch->obj, ZX_CHANNEL_READABLE, 0);
        spin_unlock_irqrestore(&ch->pair->lock, s);
    }
    mutex_release(&channel_gc_lock);
    // Closing the queued handles frees the garbage endpoints (and whatever else only they held).
    while ((n = list_remove_head(&dead)) != NULL)
        channel_free_message(containerof(n, struct message, node));
}

void channel_gc_run_pending_slow(void) {
    if (mutex_held(&gc_runner))
        return;
    mutex_acquire(&gc_runner);
    // Requests made during a pass (its own frees, other threads) get another pass.
    uint64_t want;
    while ((want = kobject_gc_requests()) > channel_gc_done_requests) {
        gc_pass();
        __atomic_store_n(&channel_gc_done_requests, want, __ATOMIC_RELEASE);
    }
    mutex_release(&gc_runner);
}

size_t channel_gc_inflight_count(void) {
    mutex_acquire(&channel_gc_lock);
    size_t n = inflight_count;
    mutex_release(&channel_gc_lock);
    return n;
}

size_t channel_gc_collected_count(void) {
    return __atomic_load_n(&collected, __ATOMIC_RELAXED);
}
