// Jobs, processes and user threads: the task objects of docs/abi.md.
//
// A process owns a handle table and an address space (vm/aspace.h) and runs user threads. Each
// user thread (struct uthread, ZX_OBJ_TYPE_THREAD) wraps a kernel thread that spends its life
// entering and leaving user mode. A process ends when its last thread exits, when a thread calls
// zx_process_exit, when it is killed (zx_task_kill) or when a thread takes a fault nothing can
// resolve (return code ZX_TASK_RETCODE_EXCEPTION_KILL). Once its last thread is really gone
// (kernel stack freed by the reaper, address space active on no CPU), its memory and handles are
// freed and ZX_PROCESS_TERMINATED is asserted; ZX_THREAD_TERMINATED likewise waits for the
// thread's reaping.
#ifndef KERNEL_PROCESS_H
#define KERNEL_PROCESS_H

#include <zircon/types.h>

#include "arch/x86_64/percpu.h"
#include "kernel/handle.h"
#include "kernel/job.h"
#include "kernel/list.h"
#include "kernel/mutex.h"
#include "kernel/object.h"
#include "kernel/thread.h"

struct vm_aspace;

enum task_state {
    TASK_INITIAL,  // created, not started
    TASK_RUNNING,
    TASK_DYING,    // ending: threads are being stopped
    TASK_DEAD,
};

struct process {
    struct kobject obj;
    char name[ZX_MAX_NAME_LEN];
    struct mutex lock;              // guards the fields below but handles (own lock)
    struct handle_table handles;
    struct vm_aspace *aspace;       // NULL once the process is dead
    struct list_node threads;       // struct uthread.proc_node
    uint32_t live_threads;          // started and not yet exited
    uint32_t unreaped_threads;      // started and not yet reaped (process lock)
    enum task_state state;
    int64_t return_code;
    zx_time_t start_time;
    uint32_t info_flags;            // ZX_INFO_PROCESS_FLAG_*
    struct job *job;                // holds a reference
    struct list_node job_node;      // in job->processes until dead (the job's lock)
    // The kernel's first process (userboot), set before it starts: an exception of its threads
    // goes to no handler (the one it could reach is its own crash reporter, which cannot serve a
    // fault of its own) but kills it at once with a report, and the kernel then powers off.
    bool critical;
};

struct uthread {
    struct kobject obj;
    char name[ZX_MAX_NAME_LEN];
    struct process *proc;           // holds a reference
    struct thread *kthread;         // NULL until started
    struct list_node proc_node;
    enum task_state state;
    bool kill_pending;              // leave for good at the next return to user mode
    uint32_t blocked_as;            // ZX_THREAD_STATE_BLOCKED_* while a call blocks it, else 0
    struct exception *exception;    // the exception it waits in, else NULL (process lock)
    // User register state to start with (entry, stack, two arguments).
    uint64_t entry, stack, arg1, arg2;
    uint8_t fpu_state[512] ALIGNED(16);  // FXSAVE area while not running
};

void process_layer_init(void);

// Creates a process in `job` with a fresh address space whose root VMAR covers
// [USER_ASPACE_BASE, USER_ASPACE_END). ZX_ERR_BAD_STATE if the job was killed, ZX_ERR_NO_MEMORY.
zx_status_t process_create(struct job *job, const char *name, size_t name_len,
                           struct process **out) MUST_USE;
// Creates a thread in `proc` (not started). ZX_ERR_BAD_STATE if the process is dying or dead,
// ZX_ERR_NO_MEMORY.
zx_status_t uthread_create(struct process *proc, const char *name, size_t name_len,
                           struct uthread **out) MUST_USE;
// Starts `t` in user mode at `entry` with `stack`, rdi = arg1, rsi = arg2. ZX_ERR_BAD_STATE if it
// was started before or its process is ending. The process's first thread marks it started
// (ZX_INFO_PROCESS_FLAG_STARTED, start_time).
zx_status_t uthread_start(struct uthread *t, uint64_t entry, uint64_t stack, uint64_t arg1,
                          uint64_t arg2) MUST_USE;
// Ends the process with `code`: every thread leaves at its next kernel exit; the calling thread
// (if it belongs to the process) does not return.
void process_kill(struct process *proc, int64_t code);
// As process_kill, but a calling thread of the process returns: it leaves at its next return to
// user mode (for a caller that still has references to drop, as a syscall does).
void process_kill_deferred(struct process *proc, int64_t code);
// The calling thread leaves for good (zx_thread_exit); the process ends with its last thread.
NORETURN void uthread_exit_current(void);
// Runs before every return to user mode, from a trap or a syscall: a thread of a process being
// killed leaves here instead (does not return then).
struct trap_frame;
void process_user_return(struct trap_frame *tf);

// The calling user thread is about to block in a call for `reason` (ZX_THREAD_STATE_BLOCKED_*),
// until uthread_unblocked(): what ZX_INFO_THREAD reports while its kernel thread waits.
void uthread_blocking(uint32_t reason);
void uthread_unblocked(void);
// The koids of the process's live threads (created, not yet exited): writes up to `max` into
// `out`, returns how many there are.
size_t process_thread_koids(struct process *p, zx_koid_t *out, size_t max);
// The live thread with `koid`, with a reference; NULL if there is none.
struct kobject *process_get_thread(struct process *p, zx_koid_t koid);
// ZX_INFO_THREAD's state of `t` (ZX_THREAD_STATE_*).
uint32_t uthread_info_state(struct uthread *t);

// The process and user thread of the caller (NULL for kernel threads). Inline: every syscall
// reads them (one %gs load and one or two loads).
static inline struct uthread *uthread_current(void) {
    return percpu_current()->owner;
}
static inline struct process *process_current(void) {
    struct uthread *ut = uthread_current();
    return ut ? ut->proc : NULL;
}

struct process *process_from_object(struct kobject *obj);
struct uthread *uthread_from_object(struct kobject *obj);

// Processes not yet destroyed, for leak checks.
size_t process_count(void);

#endif  // KERNEL_PROCESS_H
