// Jobs, processes and user threads. See kernel/process.h for the life cycle.
//
// References: a handle or kernel user holds the process; each uthread holds its process; a started
// uthread is held by its own kernel thread until it exits. A process's memory (address space and
// handle table) goes when it ends, its struct when the last reference does.
#include "kernel/process.h"

#include <zircon/syscalls/object.h>

#include "arch/x86_64/asm.h"
#include "arch/x86_64/cpu.h"
#include "arch/x86_64/fpu.h"
#include "arch/x86_64/syscall.h"
#include "arch/x86_64/trap.h"
#include "kernel/assert.h"
#include "kernel/channel_gc.h"
#include "kernel/exception.h"
#include "kernel/heap.h"
#include "kernel/printf.h"
#include "kernel/string.h"
#include "vm/aspace.h"

static size_t live_processes;

extern void (*sched_switch_hook)(struct thread *prev, struct thread *next);

static void copy_name(char dst[ZX_MAX_NAME_LEN], const char *name, size_t len) {
    if (len > ZX_MAX_NAME_LEN - 1)
        len = ZX_MAX_NAME_LEN - 1;
    memset(dst, 0, ZX_MAX_NAME_LEN);
    if (name)
        memcpy(dst, name, len);
}

struct process *process_from_object(struct kobject *obj) {
    ASSERT(obj->type == ZX_OBJ_TYPE_PROCESS);
    return containerof(obj, struct process, obj);
}

struct uthread *uthread_from_object(struct kobject *obj) {
    ASSERT(obj->type == ZX_OBJ_TYPE_THREAD);
    return containerof(obj, struct uthread, obj);
}

void uthread_blocking(uint32_t reason) {
    struct uthread *ut = uthread_current();
    if (ut)
        __atomic_store_n(&ut->blocked_as, reason, __ATOMIC_RELAXED);
}

void uthread_unblocked(void) {
    uthread_blocking(0);
}

size_t process_thread_koids(struct process *p, zx_koid_t *out, size_t max) {
    size_t n = 0;
    mutex_acquire(&p->lock);
    list_for_each(&p->threads, it) {
        if (n < max)
            out[n] = containerof(it, struct uthread, proc_node)->obj.koid;
        n++;
    }
    mutex_release(&p->lock);
    return n;
}

struct kobject *process_get_thread(struct process *p, zx_koid_t koid) {
    struct kobject *found = NULL;
    mutex_acquire(&p->lock);
    list_for_each(&p->threads, it) {
        struct uthread *t = containerof(it, struct uthread, proc_node);
        if (!found && t->obj.koid == koid && kobject_try_retain(&t->obj))
            found = &t->obj;
    }
    mutex_release(&p->lock);
    return found;
}

uint32_t uthread_info_state(struct uthread *t) {
    mutex_acquire(&t->proc->lock);
    uint32_t state;
    switch (t->state) {
    case TASK_INITIAL:
        state = ZX_THREAD_STATE_NEW;
        break;
    case TASK_DEAD:
        state = ZX_THREAD_STATE_DEAD;
        break;
    default: {
        uint32_t blocked_as = __atomic_load_n(&t->blocked_as, __ATOMIC_RELAXED);
        uint64_t s = sched_lock_irqsave();
        bool waiting = t->kthread && t->kthread->state == THREAD_BLOCKED;
        sched_unlock_irqrestore(s);
        if (t->kill_pending || t->state == TASK_DYING)
            state = ZX_THREAD_STATE_DYING;
        else if (blocked_as == ZX_THREAD_STATE_BLOCKED_EXCEPTION || (waiting && blocked_as))
            state = blocked_as;  // an exception blocks the thread even before it sleeps
        else
            state = ZX_THREAD_STATE_RUNNING;
        break;
    }
    }
    mutex_release(&t->proc->lock);
    return state;
}

size_t process_count(void) {
    return live_processes;
}

// --- Switching between threads: address space and FPU state ---

static void process_switch_hook(struct thread *prev, struct thread *next) {
    struct uthread *up = prev->owner;
    struct uthread *un = next->owner;
    if (up)
        arch_fpu_save(up->fpu_state);
    struct vm_aspace *pa = up ? up->proc->aspace : NULL;
    struct vm_aspace *na = un ? un->proc->aspace : NULL;
    if (na != pa || !na)
        vm_aspace_activate(na);
    if (un)
        arch_fpu_restore(un->fpu_state);
}

// --- Ending processes ---

// Frees what a process holds once no thread of it can run: handles and address space.
static void process_finish(struct process *p) {
    mutex_acquire(&p->lock);
    if (p->state == TASK_DEAD) {
        mutex_release(&p->lock);
        return;
    }
    p->state = TASK_DEAD;
    p->info_flags |= ZX_INFO_PROCESS_FLAG_EXITED;
    struct vm_aspace *as = p->aspace;
    p->aspace = NULL;
    mutex_release(&p->lock);
    handle_table_destroy(&p->handles);
    channel_gc_run_pending();  // channel cycles the process made die with it
    if (as)
        vm_aspace_destroy(as);
    kobject_signal(&p->obj, 0, ZX_PROCESS_TERMINATED);
    job_remove_process(p->job, p);
    exception_task_gone(&p->obj);
}

// Runs in the reaper once the exited thread's stack is freed: only now is the thread really gone,
// so only now may its end be observed. The process ends with the last thread *reaped*, not the
// last to exit: threads are reaped in any order, and ZX_PROCESS_TERMINATED must not be seen while
// one of them still lacks ZX_THREAD_TERMINATED.
static void uthread_reaped(void *arg) {
    struct uthread *ut = arg;
    struct process *p = ut->proc;
    kobject_signal(&ut->obj, 0, ZX_THREAD_TERMINATED);
    mutex_acquire(&p->lock);
    // No thread can start once live_threads is zero (the process is DYING), so zero here is final.
    bool last = --p->unreaped_threads == 0 && p->live_threads == 0;
    mutex_release(&p->lock);
    if (last)
        process_finish(p);
    kobject_release(&ut->obj);  // the running thread's reference
}

void uthread_exit_current(void) {
    struct thread *self = thread_current();
    struct uthread *ut = self->owner;
    ASSERT(ut);
    struct process *p = ut->proc;
    // Leave the user address space first: once live_threads reaches zero the space may be
    // destroyed, and no CPU may still run on it (its bit in the active mask is clear by then).
    uint64_t s = sched_lock_irqsave();
    arch_fpu_save(ut->fpu_state);
    self->owner = NULL;  // from here on a plain kernel thread
    vm_aspace_activate(NULL);
    sched_unlock_irqrestore(s);
    mutex_acquire(&p->lock);
    ut->state = TASK_DEAD;
    list_delete(&ut->proc_node);
    // The last thread ends the process: from now on zx_thread_start fails with BAD_STATE, so no
    // thread can start in a process whose memory is about to go.
    if (--p->live_threads == 0 && p->state == TASK_RUNNING)
        p->state = TASK_DYING;
    mutex_release(&p->lock);
    exception_task_gone(&ut->obj);
    self->on_reaped = uthread_reaped;
    self->on_reaped_arg = ut;
    thread_exit(0);
}

void process_kill_deferred(struct process *p, int64_t code) {
    mutex_acquire(&p->lock);
    if (p->state == TASK_DYING || p->state == TASK_DEAD) {
        mutex_release(&p->lock);
        return;  // the first reason to end stands
    }
    p->state = TASK_DYING;
    p->return_code = code;
    list_for_each(&p->threads, it) {
        struct uthread *t = containerof(it, struct uthread, proc_node);
        t->kill_pending = true;
        if (t->kthread)
            thread_interrupt(t->kthread);
    }
    bool no_threads = p->unreaped_threads == 0;
    mutex_release(&p->lock);
    if (no_threads)
        process_finish(p);
}

void process_kill(struct process *p, int64_t code) {
    process_kill_deferred(p, code);
    if (process_current() == p)
        uthread_exit_current();
}

void process_user_return(struct trap_frame *tf) {
    (void)tf;
    struct uthread *ut = uthread_current();
    if (ut && ut->kill_pending) {
        irq_enable();  // traps arrive with interrupts off; we never return to this frame
        uthread_exit_current();
    }
}

// A fault or exception in user mode that nothing resolved: an exception for the handlers
// (kernel/exception.h); returns only if the thread is to resume.
static bool process_user_exception(struct trap_frame *tf) {
    if (!process_current())
        return false;
    struct thread *self = thread_current();
    irq_enable();  // the handlers may take long; the frame stays on this thread's stack
    exception_dispatch(tf, self->user_fault_status, self->user_fault_addr);
    irq_disable();  // back to the trap path's state
    return true;
}

// --- Objects ---

static void process_destroy(struct kobject *obj) {
    struct process *p = process_from_object(obj);
    process_finish(p);  // a process that never ran still holds memory
    kobject_release(&p->job->obj);
    uint64_t s = sched_lock_irqsave();
    live_processes--;
    sched_unlock_irqrestore(s);
    kfree(p);
}

static const struct kobject_ops process_ops = {.destroy = process_destroy};

static void uthread_destroy(struct kobject *obj) {
    struct uthread *ut = uthread_from_object(obj);
    struct process *p = ut->proc;
    mutex_acquire(&p->lock);
    if (ut->state == TASK_INITIAL)
        list_delete(&ut->proc_node);  // never started: still listed
    mutex_release(&p->lock);
    exception_task_gone(&ut->obj);  // a thread that never ran may have a channel
    if (ut->kthread)
        thread_release(ut->kthread);
    kobject_release(&p->obj);
    kfree(ut);
}

static const struct kobject_ops uthread_ops = {.destroy = uthread_destroy};

void process_layer_init(void) {
    arch_fpu_init();
    job_layer_init();
    sched_switch_hook = process_switch_hook;
    trap_user_exception_hook = process_user_exception;
    trap_user_return_hook = process_user_return;
}

zx_status_t process_create(struct job *job, const char *name, size_t name_len,
                           struct process **out) {
    struct process *p = kzalloc(sizeof(*p));
    if (!p)
        return ZX_ERR_NO_MEMORY;
    copy_name(p->name, name, name_len);
    zx_status_t st = vm_aspace_create(p->name, &p->aspace);
    if (st != ZX_OK) {
        kfree(p);
        return st;
    }
    kobject_init(&p->obj, ZX_OBJ_TYPE_PROCESS, &process_ops);
    mutex_init(&p->lock, "process");
    handle_table_init(&p->handles);
    list_init(&p->threads);
    p->state = TASK_INITIAL;
    kobject_retain(&job->obj);
    p->job = job;
    uint64_t s = sched_lock_irqsave();
    live_processes++;
    sched_unlock_irqrestore(s);
    st = job_add_process(job, p);
    if (st != ZX_OK) {
        kobject_release(&p->obj);  // frees what it holds, as for any process
        return st;
    }
    *out = p;
    return ZX_OK;
}

zx_status_t uthread_create(struct process *proc, const char *name, size_t name_len,
                           struct uthread **out) {
    struct uthread *ut = kzalloc(sizeof(*ut));
    if (!ut)
        return ZX_ERR_NO_MEMORY;
    mutex_acquire(&proc->lock);
    if (proc->state == TASK_DYING || proc->state == TASK_DEAD) {
        mutex_release(&proc->lock);
        kfree(ut);
        return ZX_ERR_BAD_STATE;
    }
    kobject_init(&ut->obj, ZX_OBJ_TYPE_THREAD, &uthread_ops);
    copy_name(ut->name, name, name_len);
    kobject_retain(&proc->obj);
    ut->proc = proc;
    ut->state = TASK_INITIAL;
    arch_fpu_init_state(ut->fpu_state);
    list_add_tail(&proc->threads, &ut->proc_node);
    mutex_release(&proc->lock);
    *out = ut;
    return ZX_OK;
}

// The kernel thread behind a user thread: enter user mode and never come back here (syscalls and
// traps return to user mode on their own; the thread ends in uthread_exit_current).
static int uthread_main(void *arg) {
    struct uthread *ut = arg;
    struct thread *self = thread_current();
    struct trap_frame *tf = (struct trap_frame *)(self->stack_base +
                                                  THREAD_STACK_PAGES * PAGE_SIZE -
                                                  sizeof(struct trap_frame));
    memset(tf, 0, sizeof(*tf));
    tf->rip = ut->entry;
    tf->cs = SEL_UCODE;
    tf->rflags = 0x202;  // IF
    tf->rsp = ut->stack;
    tf->ss = SEL_UDATA;
    tf->rdi = ut->arg1;
    tf->rsi = ut->arg2;
    if (ut->kill_pending)
        uthread_exit_current();
    arch_enter_user(tf);
}

zx_status_t uthread_start(struct uthread *ut, uint64_t entry, uint64_t stack, uint64_t arg1,
                          uint64_t arg2) {
    struct process *p = ut->proc;
    struct thread *kt = thread_create(ut->name[0] ? ut->name : "user", uthread_main, ut);
    if (!kt)
        return ZX_ERR_NO_MEMORY;
    mutex_acquire(&p->lock);
    zx_status_t st = ZX_OK;
    if (ut->state != TASK_INITIAL || p->state == TASK_DYING || p->state == TASK_DEAD)
        st = ZX_ERR_BAD_STATE;
    if (st == ZX_OK) {
        ut->entry = entry;
        ut->stack = stack;
        ut->arg1 = arg1;
        ut->arg2 = arg2;
        ut->state = TASK_RUNNING;
        ut->kthread = kt;
        kt->owner = ut;
        // Below the root job its VMO allocations stop short of the reserve's critical half.
        kt->alloc_ordinary = p->job != root_job;
        kobject_retain(&ut->obj);  // held by the running thread
        p->live_threads++;
        p->unreaped_threads++;
        if (p->state == TASK_INITIAL)
            p->state = TASK_RUNNING;
        // The first thread starts the process. Marked before that thread can run: on another CPU
        // it may call zx_thread_start at once, which requires a started process.
        if (!(p->info_flags & ZX_INFO_PROCESS_FLAG_STARTED)) {
            p->info_flags |= ZX_INFO_PROCESS_FLAG_STARTED;
            p->start_time = current_time();
        }
    }
    mutex_release(&p->lock);
    if (st != ZX_OK) {
        thread_release(kt);
        return st;
    }
    thread_retain(kt);  // the uthread's own reference (released in uthread_destroy)
    thread_start(kt);
    thread_release(kt);  // the creation reference
    return ZX_OK;
}

