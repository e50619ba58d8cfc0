// Jobs: the tree of jobs and their processes. See kernel/job.h for the rules.
#include "kernel/job.h"

#include "kernel/assert.h"
#include "kernel/exception.h"
#include "kernel/heap.h"
#include "kernel/process.h"
#include "kernel/string.h"

struct job *root_job;

struct job *job_from_object(struct kobject *obj) {
    ASSERT(obj->type == ZX_OBJ_TYPE_JOB);
    return containerof(obj, struct job, obj);
}

// A killed job with nothing left under it has terminated: it says so (ZX_TASK_TERMINATED) and
// leaves its parent's list of live children, which may finish the parent in turn.
// Takes `job` off its parent's list of live children (if it is still there).
static void job_unlist(struct job *job) {
    struct job *parent = job->parent;
    mutex_acquire(&parent->lock);
    if (list_in_list(&job->sibling_node))
        list_delete(&job->sibling_node);
    mutex_release(&parent->lock);
}

static void job_check_finished(struct job *job) {
    while (job) {
        mutex_acquire(&job->lock);
        bool finished = job->killed && !job->terminated && list_is_empty(&job->children) &&
                        list_is_empty(&job->processes);
        if (finished)
            job->terminated = true;
        mutex_release(&job->lock);
        if (!finished)
            return;
        kobject_signal(&job->obj, 0, ZX_TASK_TERMINATED);
        exception_task_gone(&job->obj);
        if (job->parent)
            job_unlist(job);
        job = job->parent;
    }
}

static void job_destroy(struct kobject *obj) {
    struct job *job = job_from_object(obj);
    ASSERT(list_is_empty(&job->children) && list_is_empty(&job->processes));
    exception_task_gone(&job->obj);
    struct job *parent = job->parent;
    if (parent) {
        job_unlist(job);
        job_check_finished(parent);
        kobject_release(&parent->obj);
    }
    kfree(job);
}

static const struct kobject_ops job_ops = {.destroy = job_destroy};

static struct job *job_alloc(const char *name) {
    struct job *job = kzalloc(sizeof(*job));
    if (!job)
        return NULL;
    kobject_init(&job->obj, ZX_OBJ_TYPE_JOB, &job_ops);
    memcpy(job->name, name, strnlen(name, ZX_MAX_NAME_LEN - 1));
    mutex_init(&job->lock, "job");
    list_init(&job->children);
    list_init(&job->processes);
    return job;
}

void job_layer_init(void) {
    root_job = job_alloc("root");
    ASSERT(root_job);
}

zx_status_t job_create(struct job *parent, struct job **out) {
    struct job *job = job_alloc("");
    if (!job)
        return ZX_ERR_NO_MEMORY;
    mutex_acquire(&parent->lock);
    bool killed = parent->killed;
    if (!killed) {
        kobject_retain(&parent->obj);
        job->parent = parent;
        list_add_tail(&parent->children, &job->sibling_node);
    }
    mutex_release(&parent->lock);
    if (killed) {
        kobject_release(&job->obj);
        return ZX_ERR_BAD_STATE;
    }
    *out = job;
    return ZX_OK;
}

zx_status_t job_add_process(struct job *job, struct process *p) {
    mutex_acquire(&job->lock);
    bool killed = job->killed;
    if (!killed)
        list_add_tail(&job->processes, &p->job_node);
    mutex_release(&job->lock);
    return killed ? ZX_ERR_BAD_STATE : ZX_OK;
}

void job_remove_process(struct job *job, struct process *p) {
    mutex_acquire(&job->lock);
    bool listed = list_in_list(&p->job_node);
    if (listed)
        list_delete(&p->job_node);
    mutex_release(&job->lock);
    if (listed)
        job_check_finished(job);
}

// The number of child jobs and processes `job` lists.
static size_t job_child_count(struct job *job) {
    mutex_acquire(&job->lock);
    size_t n = list_length(&job->children) + list_length(&job->processes);
    mutex_release(&job->lock);
    return n;
}

// Kills the tree below `job` but the caller's own process; true if that process is in it.
// Allocation-free, since the OOM kill calls it when memory is gone: it walks the children by
// index. A killed job's lists only shrink, so a pass that removed nothing (the count is
// unchanged) skipped nothing; otherwise another pass (killing is idempotent) catches what an
// earlier removal shifted past the index.
static bool job_kill_tree(struct job *job, int64_t code) {
    mutex_acquire(&job->lock);
    if (!job->killed)
        job->return_code = code;
    job->killed = true;
    mutex_release(&job->lock);
    bool self_inside = false;
    struct process *self = process_current();
    for (size_t before = job_child_count(job);;) {
        struct kobject *o;
        for (size_t i = 0; job_child_at(job, true, i, &o); i++) {
            if (o) {
                self_inside |= job_kill_tree(job_from_object(o), code);
                kobject_release(o);
            }
        }
        for (size_t i = 0; job_child_at(job, false, i, &o); i++) {
            if (!o)
                continue;
            if (process_from_object(o) == self)
                self_inside = true;
            else
                process_kill(process_from_object(o), code);
            kobject_release(o);
        }
        size_t after = job_child_count(job);
        if (after == before)
            break;
        before = after;
    }
    job_check_finished(job);
    return self_inside;
}

zx_status_t job_kill(struct job *job, int64_t code, bool *kill_caller) {
    *kill_caller = false;
    if (job == root_job)
        return ZX_ERR_ACCESS_DENIED;
    *kill_caller = job_kill_tree(job, code);
    return ZX_OK;
}

size_t job_child_koids(struct job *job, bool jobs, zx_koid_t *out, size_t max) {
    size_t n = 0;
    mutex_acquire(&job->lock);
    if (jobs) {
        list_for_each(&job->children, it) {
            struct job *c = containerof(it, struct job, sibling_node);
            if (n < max)
                out[n] = c->obj.koid;
            n++;
        }
    } else {
        list_for_each(&job->processes, it) {
            struct process *p = containerof(it, struct process, job_node);
            if (n < max)
                out[n] = p->obj.koid;
            n++;
        }
    }
    mutex_release(&job->lock);
    return n;
}

struct kobject *job_get_child(struct job *job, zx_koid_t koid) {
    struct kobject *found = NULL;
    mutex_acquire(&job->lock);
    list_for_each(&job->children, it) {
        struct job *c = containerof(it, struct job, sibling_node);
        if (c->obj.koid == koid && kobject_try_retain(&c->obj))
            found = &c->obj;
    }
    list_for_each(&job->processes, it) {
        struct process *p = containerof(it, struct process, job_node);
        if (!found && p->obj.koid == koid && kobject_try_retain(&p->obj))
            found = &p->obj;
    }
    mutex_release(&job->lock);
    return found;
}

bool job_child_at(struct job *job, bool jobs, size_t index, struct kobject **out) {
    bool found = false;
    *out = NULL;
    size_t i = 0;
    mutex_acquire(&job->lock);
    list_for_each(jobs ? &job->children : &job->processes, it) {
        if (i++ != index)
            continue;
        struct kobject *o = jobs ? &containerof(it, struct job, sibling_node)->obj
                                 : &containerof(it, struct process, job_node)->obj;
        found = true;
        if (kobject_try_retain(o))
            *out = o;
        break;
    }
    mutex_release(&job->lock);
    return found;
}
