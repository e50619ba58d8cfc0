// Out of memory: what a user request does when it cannot get a page (docs/memory-pressure.md).
//
// A user fault or a syscall whose allocation failed with ZX_ERR_NO_MEMORY calls oom_retry, with
// no lock held and nothing it could not drop if its thread were killed. oom_retry first reclaims
// synchronously (vm/reclaim.h). When reclaim frees nothing (or has been tried 8 times for this
// request), it OOM-kills: the largest job marked ZX_PROP_JOB_KILL_ON_OOM that is not yet killed
// and has a process in its tree is killed with ZX_TASK_RETCODE_OOM_KILL, as zx_task_kill kills a
// job, and the caller waits (at most OOM_WAIT_MS, interruptibly) until that job has terminated,
// which is when every one of its processes has given its memory back. While a victim is dying no
// second job is killed: later callers wait for the same victim. With no candidate left the
// request fails with NO_MEMORY (a faulting process then dies of its fault, -1028, as before).
//
// A job's size is the sum, over the processes in its tree, of what ZX_INFO_TASK_STATS reports
// as mem_private_bytes + mem_scaled_shared_bytes: the resident pages the process maps, each page
// shared by k mappers counted 1/k. Exact, computed only when a kill is needed (one walk of the
// job tree, O(jobs + processes + their committed pages)), nothing kept up to date on hot paths.
// Pages of VMOs a process only holds handles to, and compressed pages, do not count. The walk
// descends at most OOM_MAX_DEPTH jobs below the root; deeper jobs add nothing to their
// ancestors' sizes (they die with them all the same). Ties go to the job found first.
//
// Locking: one mutex serialises choosing and killing (oom_lock); under it the kill takes job,
// process and VM locks (a process that never ran is torn down right there). It is never taken
// with another lock held, and nobody waits for the victim while holding it.
#ifndef KERNEL_OOM_H
#define KERNEL_OOM_H

#include <stdint.h>

#include "kernel/cmdline.h"
#include "kernel/types.h"

#define OOM_WAIT_MS 2000   // longest wait for one victim, per call
#define OOM_MAX_DEPTH 32   // job levels the size walk descends

enum oom_verdict {
    OOM_RETRY,          // memory was reclaimed or a victim died: try the allocation again
    OOM_FAIL,           // nothing more can be had: fail with ZX_ERR_NO_MEMORY
    OOM_CALLER_KILLED,  // the caller's process is being killed: give up; it leaves at the exit
};

// Reads the key oom.kill (oom.kill=0: never kill; test-only, shows the OOM tests fail).
void oom_init(const struct cmdline *cl);

// A user request (no lock held) failed with ZX_ERR_NO_MEMORY. `*tries` starts at 0 for the
// request and counts the calls; after 64 calls the answer is OOM_FAIL.
enum oom_verdict oom_retry(unsigned *tries) MUST_USE;

struct oom_stats {
    uint64_t kills;             // jobs OOM-killed
    uint64_t failures;          // requests answered OOM_FAIL after reclaim and no candidate
    uint64_t last_koid;         // the last victim's koid (0: none yet)
    uint64_t last_bytes;        // its size when chosen
    char last_name[32];         // its name
};
void oom_get_stats(struct oom_stats *out);

#endif  // KERNEL_OOM_H
