// Jobs: the tree that groups processes (docs/abi.md §10, zx_job_create).
//
// A job holds a reference on its parent and lists, without references, its child jobs (until
// they terminate or are destroyed) and its processes (until they are dead). Whoever walks those lists takes the
// job's lock and kobject_try_retain()s what it keeps: a listed object whose last reference is
// already gone is on its way out and is skipped. Killing a job kills every process and job below
// it, and no job or process can be created under a killed job (BAD_STATE); ZX_TASK_TERMINATED
// rises on a killed job once it has no process and no child job left. The root job cannot be
// killed.
//
// Lock order: a job's lock is never held while another job's or a process's lock is taken.
#ifndef KERNEL_JOB_H
#define KERNEL_JOB_H

#include <zircon/types.h>

#include "kernel/list.h"
#include "kernel/mutex.h"
#include "kernel/object.h"

struct process;

struct job {
    struct kobject obj;
    char name[ZX_MAX_NAME_LEN];
    struct job *parent;            // holds a reference; NULL for the root job
    struct list_node sibling_node; // in parent->children until terminated (parent's lock)
    struct mutex lock;             // guards the fields below
    struct list_node children;     // struct job.sibling_node, neither terminated nor destroyed
    struct list_node processes;    // struct process.job_node, not yet dead
    bool killed;
    bool terminated;               // killed, and nothing was left under it
    bool kill_on_oom;              // ZX_PROP_JOB_KILL_ON_OOM
    int64_t return_code;           // set when killed
};

// The root job (the default job of userboot and, unless they make others, of every process).
extern struct job *root_job;
void job_layer_init(void);

// Creates a child job of `parent`. ZX_ERR_BAD_STATE if the parent was killed, ZX_ERR_NO_MEMORY.
zx_status_t job_create(struct job *parent, struct job **out) MUST_USE;
// Kills every process and child job of `job`, recursively, with return code `code`; later
// creations under it fail. The caller's own process is left for the caller to end (*kill_caller
// is true when it is in the tree: process_kill it once every reference is dropped, as it does not
// return). ZX_ERR_ACCESS_DENIED for the root job.
zx_status_t job_kill(struct job *job, int64_t code, bool *kill_caller);

// Lists a new process under `job` (from process_create). ZX_ERR_BAD_STATE if the job was killed.
zx_status_t job_add_process(struct job *job, struct process *p) MUST_USE;
// Takes a process that ended (or never started and is going) off its job's list.
void job_remove_process(struct job *job, struct process *p);

// The koids of the job's child jobs (`jobs`) or processes: writes up to `max` into `out`, returns
// how many there are.
size_t job_child_koids(struct job *job, bool jobs, zx_koid_t *out, size_t max);
// The child job or process with `koid`, with a reference; NULL if there is none.
struct kobject *job_get_child(struct job *job, zx_koid_t koid);
// The child job (`jobs`) or process at position `index` of the job's list, for walks that take
// no lock across steps: false past the end; else *out is the child with a reference, or NULL if
// it is on its way out. The lists may change between calls (a walk may miss or repeat a child).
bool job_child_at(struct job *job, bool jobs, size_t index, struct kobject **out);

struct job *job_from_object(struct kobject *obj);

#endif  // KERNEL_JOB_H
