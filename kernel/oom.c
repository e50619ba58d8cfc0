// Out of memory: synchronous reclaim, then the OOM kill of the largest kill-on-OOM job (contract
// and sizes in kernel/oom.h; docs/memory-pressure.md).
#include "kernel/oom.h"

#include <zircon/syscalls/object.h>

#include "kernel/job.h"
#include "kernel/mutex.h"
#include "kernel/printf.h"
#include "kernel/process.h"
#include "kernel/string.h"
#include "kernel/thread.h"
#include "vm/aspace.h"
#include "vm/reclaim.h"
#include "vm/vmar.h"

#define MAX_RECLAIMS 8  // synchronous reclaims per request before the OOM kill is considered
#define MAX_CALLS 64    // oom_retry calls per request

static bool kill_enabled = true;  // oom.kill=0 switches the kill off (tests show it then fails)

// Serialises choosing and killing; guards `victim` and `stats`.
static struct mutex oom_lock = MUTEX_INIT(oom_lock, "oom");
// The job killed last, with a reference, until it has terminated: no second kill meanwhile.
static struct job *victim GUARDED_BY(oom_lock);
static struct oom_stats stats GUARDED_BY(oom_lock);

void oom_init(const struct cmdline *cl) {
    kill_enabled = !cmdline_get(cl, "oom.kill") || cmdline_get_bool(cl, "oom.kill");
}

void oom_get_stats(struct oom_stats *out) {
    mutex_acquire(&oom_lock);
    *out = stats;
    mutex_release(&oom_lock);
}

// --- Choosing ---

// What `p` holds: the resident bytes its mappings show, shared ones divided among their mappers.
static uint64_t process_size(struct process *p) {
    zx_info_task_stats_t ts = {0};
    mutex_acquire(&p->lock);  // keeps p->aspace (process lock before the aspace's, as in info)
    if (p->aspace)
        vm_aspace_task_stats(p->aspace, &ts);
    mutex_release(&p->lock);
    return ts.mem_private_bytes + ts.mem_scaled_shared_bytes;
}

struct pick {
    struct job *best;     // with a reference
    uint64_t best_bytes;
};

static bool is_candidate(struct job *job) {
    mutex_acquire(&job->lock);
    bool c = job->kill_on_oom && !job->killed;
    mutex_release(&job->lock);
    return c && job != root_job;
}

// The size of `job`'s tree (processes in *procs); offers every marked job met to *pick.
static uint64_t job_tree_size(struct job *job, unsigned depth, struct pick *pick, size_t *procs) {
    uint64_t bytes = 0;
    size_t n = 0;
    struct kobject *o;
    for (size_t i = 0; job_child_at(job, false, i, &o); i++) {
        if (!o)
            continue;
        bytes += process_size(process_from_object(o));
        n++;
        kobject_release(o);
    }
    for (size_t i = 0; depth < OOM_MAX_DEPTH && job_child_at(job, true, i, &o); i++) {
        if (!o)
            continue;
        bytes += job_tree_size(job_from_object(o), depth + 1, pick, &n);
        kobject_release(o);
    }
    // A marked job with no process in its tree has nothing to give back.
    if (n > 0 && (!pick->best || bytes > pick->best_bytes) && is_candidate(job)) {
        kobject_retain(&job->obj);
        if (pick->best)
            kobject_release(&pick->best->obj);
        pick->best = job;
        pick->best_bytes = bytes;
    }
    *procs += n;
    return bytes;
}

// --- Killing ---

static bool caller_killed(void) {
    struct uthread *ut = uthread_current();
    return ut && __atomic_load_n(&ut->kill_pending, __ATOMIC_RELAXED);
}

// Under oom_lock: the victim still dying (a new reference), else a new one killed now; NULL if
// there is none. *self_inside: the caller's process is in the newly killed tree.
static struct job *victim_get_locked(bool *self_inside) REQUIRES(oom_lock) {
    ASSERT_MUTEX_HELD(&oom_lock);
    *self_inside = false;
    if (victim && (kobject_signals(&victim->obj) & ZX_TASK_TERMINATED)) {
        kobject_release(&victim->obj);
        victim = NULL;
    }
    if (!victim && kill_enabled) {
        struct pick pick = {0};
        size_t procs = 0;
        (void)job_tree_size(root_job, 0, &pick, &procs);
        if (pick.best) {
            kprintf("oom: killing job %llu '%s' (%llu KiB resident)\n",
                    (unsigned long long)pick.best->obj.koid, pick.best->name,
                    (unsigned long long)(pick.best_bytes / 1024));
            // The caller's own process is left to us (job_kill does not end the caller).
            (void)job_kill(pick.best, ZX_TASK_RETCODE_OOM_KILL, self_inside);
            victim = pick.best;  // the pick's reference
            stats.kills++;
            stats.last_koid = victim->obj.koid;
            stats.last_bytes = pick.best_bytes;
            memcpy(stats.last_name, victim->name, sizeof(stats.last_name));
        }
    }
    if (!victim)
        stats.failures++;
    else
        kobject_retain(&victim->obj);
    return victim;
}

enum oom_verdict oom_retry(unsigned *tries) {
    if (caller_killed())
        return OOM_CALLER_KILLED;
    unsigned n = (*tries)++;
    if (n >= MAX_CALLS)
        return OOM_FAIL;
    if (n < MAX_RECLAIMS && reclaim_for_fault())
        return OOM_RETRY;
    bool self_inside;
    mutex_acquire(&oom_lock);
    struct job *v = victim_get_locked(&self_inside);
    mutex_release(&oom_lock);
    if (!v)
        return OOM_FAIL;
    if (self_inside) {
        kobject_release(&v->obj);
        process_kill_deferred(process_current(), ZX_TASK_RETCODE_OOM_KILL);
        return OOM_CALLER_KILLED;
    }
    // Interruptible: a kill of the caller ends the wait (CANCELED).
    zx_status_t st = kobject_wait_one(&v->obj, ZX_TASK_TERMINATED,
                                      current_time() + (zx_time_t)OOM_WAIT_MS * 1000000, NULL);
    kobject_release(&v->obj);
    if (st == ZX_ERR_CANCELED && caller_killed())
        return OOM_CALLER_KILLED;
    return OOM_RETRY;
}
