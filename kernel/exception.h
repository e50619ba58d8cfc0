// Exception channels and exception objects (docs/abi.md §8).
//
// A task (thread, process or job) may have exception channels bound to it: one regular channel,
// plus one debugger channel on a process and up to 32 on a job. The kernel keeps one endpoint of
// each (the binding) and the user gets the other. A user fault nothing resolves becomes an
// exception: the faulting thread offers it to the bound channels in order (process debugger,
// thread, process, job, the job's ancestors), each time sending {zx_exception_info_t, one handle
// to a new exception object} and blocking until that handle is gone. The exception's state then
// decides: HANDLED resumes the thread with its registers as the handler left them, THREAD_EXIT
// ends the thread, TRY_NEXT (the initial state; also a closed channel or an unread message) moves
// on. When no handler is left the process dies with ZX_TASK_RETCODE_EXCEPTION_KILL.
//
// A binding lives until its user endpoint loses its last handle (it is then stale and replaced
// by the next create) or until its task is gone (exception_task_gone: the user endpoint sees
// PEER_CLOSED). Bindings hold no reference on their task.
//
// Lock order: the binding lock (a mutex, this module's) before a process's or a job's lock; it is
// never held while a channel is written or a handle dropped.
#ifndef KERNEL_EXCEPTION_H
#define KERNEL_EXCEPTION_H

#include <zircon/syscalls/debug.h>
#include <zircon/syscalls/exception.h>
#include <zircon/types.h>

#include "kernel/channel.h"
#include "kernel/object.h"

struct trap_frame;
struct uthread;

#define EXCEPTION_RIGHTS ((zx_rights_t)0x80C2u)         // TRANSFER | PROPERTY | INSPECT
#define EXCEPTION_CHANNEL_RIGHTS ((zx_rights_t)0x4006u)  // READ | WAIT | TRANSFER
#define EXCEPTION_JOB_DEBUGGERS 32u                       // debugger channels per job

// Binds a new exception channel to `task` (a thread, process or job; `debugger` only for the last
// two), remembering `task_rights` (the rights of the caller's handle) for exception_get_task.
// On ZX_OK *out is the user's endpoint with one reference (the caller's). ZX_ERR_ALREADY_BOUND
// (a live channel of that kind is bound), ZX_ERR_BAD_STATE (the task is dead or dying, a job
// killed), ZX_ERR_NO_MEMORY.
zx_status_t exception_channel_create(struct kobject *task, bool debugger, zx_rights_t task_rights,
                                     struct channel **out) MUST_USE;

// `task` is going: drops its bindings (their user ends see PEER_CLOSED). Called once the task can
// no longer be bound (dead, or being destroyed), with no process or job lock held.
void exception_task_gone(struct kobject *task);

// Offers the current thread's user fault in `tf` to the handlers (`fault_status` and `fault_addr`:
// vm_fault's status and CR2 for a #PF). Returns when the thread is to return to user mode: it was
// HANDLED (tf holds the registers to resume with) or killed meanwhile (the return path ends it).
// Does not return when the thread exits (THREAD_EXIT) or nobody handled it (the process is
// killed with ZX_TASK_RETCODE_EXCEPTION_KILL).
void exception_dispatch(struct trap_frame *tf, zx_status_t fault_status, uint64_t fault_addr);

// The thread (or, if `process`, the process) of exception object `exc`, with a reference, and the
// rights a handle to it gets. ZX_ERR_ACCESS_DENIED: the process of a thread-channel exception.
zx_status_t exception_get_task(struct kobject *exc, bool process, struct kobject **out,
                               zx_rights_t *out_rights) MUST_USE;
// ZX_PROP_EXCEPTION_STATE of exception object `exc`. Set: ZX_ERR_INVALID_ARGS for an unknown value.
uint32_t exception_get_state(struct kobject *exc);
zx_status_t exception_set_state(struct kobject *exc, uint32_t state) MUST_USE;

// The registers of thread `t`, which must be waiting in an exception (else ZX_ERR_BAD_STATE).
zx_status_t exception_read_regs(struct uthread *t, zx_thread_state_general_regs_t *out) MUST_USE;
// Sets them: ZX_ERR_BAD_STATE (not in an exception), ZX_ERR_INVALID_ARGS (rip not a user address,
// fs_base or gs_base not canonical). Only the rflags bits of ZX_RFLAGS_USER_MASK are taken.
zx_status_t exception_write_regs(struct uthread *t,
                                 const zx_thread_state_general_regs_t *in) MUST_USE;
#define ZX_RFLAGS_USER_MASK 0x244DD5ull  // CF PF AF ZF SF TF DF OF NT AC ID

// The report of the exception `t` waits in: ZX_ERR_BAD_STATE if none.
zx_status_t exception_thread_report(struct uthread *t, zx_exception_report_t *out) MUST_USE;
// The ZX_EXCEPTION_CHANNEL_TYPE_* of the channel `t` waits on now (NONE if it does not).
uint32_t exception_thread_channel_type(struct uthread *t);

#endif  // KERNEL_EXCEPTION_H
