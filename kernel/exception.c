// Exception channels and exception objects. See kernel/exception.h for the rules.
//
// Bindings are few and exceptions rare, so every binding sits on one list under one mutex.
// The faulting thread's registers are its trap frame on its own kernel stack: while it waits in an
// exception, uthread.exception points at the exception object, whose `tf` points at that frame;
// both are set and cleared under the process lock, which read/write_state take too.
#include "kernel/exception.h"

#include <zircon/syscalls.h>  // ZX_DEFAULT_*_RIGHTS

#include "arch/x86_64/trap.h"
#include "kernel/assert.h"
#include "kernel/handle.h"
#include "kernel/heap.h"
#include "kernel/job.h"
#include "kernel/mutex.h"
#include "kernel/printf.h"
#include "kernel/process.h"
#include "syscalls/user_copy.h"

// An exception object's internal signal: its last handle is gone (the faulting thread waits for
// it). Exception handles lack ZX_RIGHT_WAIT, so no user can wait on it.
#define EXCEPTION_CLOSED ((zx_signals_t)1u << 23)

struct binding {
    struct list_node node;
    struct kobject *task;     // no reference: exception_task_gone removes the binding first
    uint32_t type;            // ZX_EXCEPTION_CHANNEL_TYPE_*
    struct channel *ch;       // the kernel's endpoint: a reference and a (kernel) handle count
    zx_rights_t thread_rights, process_rights;  // for exception_get_task; 0: ACCESS_DENIED
};

struct exception {
    struct kobject obj;
    struct uthread *thread;   // holds a reference
    zx_rights_t thread_rights, process_rights;
    uint32_t state;           // ZX_EXCEPTION_STATE_* (atomic)
    uint32_t channel_type;    // of the channel it was sent on
    struct trap_frame *tf;    // the thread's registers while it waits (process lock)
    zx_exception_report_t report;
};

static struct mutex binding_lock = MUTEX_INIT(binding_lock, "exception bindings");
static struct list_node bindings = LIST_INITIAL(bindings);

static struct exception *exception_from_object(struct kobject *obj) {
    ASSERT(obj->type == ZX_OBJ_TYPE_EXCEPTION);
    return containerof(obj, struct exception, obj);
}

// --- Bindings ---

// Whether a binding's user endpoint still has a handle (a stale binding only waits for removal).
static bool binding_live(const struct binding *b) {
    return !(kobject_signals(channel_object(b->ch)) & ZX_CHANNEL_PEER_CLOSED);
}

static void binding_free(struct binding *b) {
    handle_drop(channel_object(b->ch));  // the user endpoint sees PEER_CLOSED
    kfree(b);
}

// Moves the bindings of `task` (all, or only stale ones) to `out`. Caller holds binding_lock.
static void take_bindings_locked(struct kobject *task, bool only_stale, struct list_node *out) {
    ASSERT_MUTEX_HELD(&binding_lock);
    struct list_node *it = bindings.next;
    while (it != &bindings) {
        struct binding *b = containerof(it, struct binding, node);
        it = it->next;
        if (b->task == task && (!only_stale || !binding_live(b))) {
            list_delete(&b->node);
            list_add_tail(out, &b->node);
        }
    }
}

static void free_bindings(struct list_node *list) {
    struct list_node *n;
    while ((n = list_remove_head(list)) != NULL)
        binding_free(containerof(n, struct binding, node));
}

// Whether `task` can still be bound: not dead or dying, not a killed job.
static bool task_alive(struct kobject *task) {
    bool alive;
    switch (task->type) {
    case ZX_OBJ_TYPE_THREAD: {
        struct uthread *t = uthread_from_object(task);
        mutex_acquire(&t->proc->lock);
        alive = t->state != TASK_DEAD && t->state != TASK_DYING;
        mutex_release(&t->proc->lock);
        break;
    }
    case ZX_OBJ_TYPE_PROCESS: {
        struct process *p = process_from_object(task);
        mutex_acquire(&p->lock);
        alive = p->state != TASK_DEAD && p->state != TASK_DYING;
        mutex_release(&p->lock);
        break;
    }
    default: {
        struct job *j = job_from_object(task);
        mutex_acquire(&j->lock);
        alive = !j->killed;
        mutex_release(&j->lock);
        break;
    }
    }
    return alive;
}

static uint32_t channel_type_of(struct kobject *task, bool debugger) {
    switch (task->type) {
    case ZX_OBJ_TYPE_THREAD:
        return ZX_EXCEPTION_CHANNEL_TYPE_THREAD;
    case ZX_OBJ_TYPE_PROCESS:
        return debugger ? ZX_EXCEPTION_CHANNEL_TYPE_DEBUGGER : ZX_EXCEPTION_CHANNEL_TYPE_PROCESS;
    default:
        return debugger ? ZX_EXCEPTION_CHANNEL_TYPE_JOB_DEBUGGER : ZX_EXCEPTION_CHANNEL_TYPE_JOB;
    }
}

zx_status_t exception_channel_create(struct kobject *task, bool debugger, zx_rights_t task_rights,
                                     struct channel **out) {
    ASSERT(task->type == ZX_OBJ_TYPE_THREAD || task->type == ZX_OBJ_TYPE_PROCESS ||
           task->type == ZX_OBJ_TYPE_JOB);
    struct binding *b = kzalloc(sizeof(*b));
    if (!b)
        return ZX_ERR_NO_MEMORY;
    struct channel *user_end;
    zx_status_t st = channel_create(&b->ch, &user_end);
    if (st != ZX_OK) {
        kfree(b);
        return st;
    }
    kobject_handle_opened(channel_object(b->ch));  // the kernel's end counts as one handle
    b->task = task;
    b->type = channel_type_of(task, debugger);
    // A handler of a thread sees only the thread; of a process, the process with the caller's
    // rights and its threads with the default ones; of a job, both with the default rights.
    switch (task->type) {
    case ZX_OBJ_TYPE_THREAD:
        b->thread_rights = task_rights;
        break;
    case ZX_OBJ_TYPE_PROCESS:
        b->thread_rights = ZX_DEFAULT_THREAD_RIGHTS;
        b->process_rights = task_rights;
        break;
    default:
        b->thread_rights = ZX_DEFAULT_THREAD_RIGHTS;
        b->process_rights = ZX_DEFAULT_PROCESS_RIGHTS;
        break;
    }
    uint32_t limit = b->type == ZX_EXCEPTION_CHANNEL_TYPE_JOB_DEBUGGER ? EXCEPTION_JOB_DEBUGGERS : 1;

    struct list_node stale;
    list_init(&stale);
    mutex_acquire(&binding_lock);
    take_bindings_locked(task, true, &stale);
    uint32_t bound = 0;
    list_for_each(&bindings, it) {
        struct binding *o = containerof(it, struct binding, node);
        if (o->task == task && o->type == b->type)
            bound++;
    }
    // Checked under binding_lock: exception_task_gone runs after the task stops being alive, so
    // a binding added here is either refused or removed by it.
    if (!task_alive(task))
        st = ZX_ERR_BAD_STATE;
    else if (bound >= limit)
        st = ZX_ERR_ALREADY_BOUND;
    else
        list_add_tail(&bindings, &b->node);
    mutex_release(&binding_lock);
    free_bindings(&stale);
    if (st != ZX_OK) {
        binding_free(b);
        kobject_release(channel_object(user_end));
        return st;
    }
    *out = user_end;
    return ZX_OK;
}

void exception_task_gone(struct kobject *task) {
    struct list_node gone;
    list_init(&gone);
    mutex_acquire(&binding_lock);
    take_bindings_locked(task, false, &gone);
    mutex_release(&binding_lock);
    free_bindings(&gone);
}

// The live binding of `task` with channel type `type`: its channel (a reference) and rights.
// false if there is none.
static bool find_binding(struct kobject *task, uint32_t type, struct channel **out_ch,
                         zx_rights_t *out_thread_rights, zx_rights_t *out_process_rights) {
    bool found = false;
    mutex_acquire(&binding_lock);
    list_for_each(&bindings, it) {
        struct binding *b = containerof(it, struct binding, node);
        if (!found && b->task == task && b->type == type && binding_live(b)) {
            kobject_retain(channel_object(b->ch));
            *out_ch = b->ch;
            *out_thread_rights = b->thread_rights;
            *out_process_rights = b->process_rights;
            found = true;
        }
    }
    mutex_release(&binding_lock);
    return found;
}

// --- Exception objects ---

static void exception_destroy(struct kobject *obj) {
    struct exception *e = exception_from_object(obj);
    kobject_release(&e->thread->obj);
    kfree(e);
}

static void exception_on_zero_handles(struct kobject *obj) {
    kobject_signal(obj, 0, EXCEPTION_CLOSED);
}

static const struct kobject_ops exception_ops = {
    .destroy = exception_destroy,
    .on_zero_handles = exception_on_zero_handles,
};

uint32_t exception_get_state(struct kobject *obj) {
    return __atomic_load_n(&exception_from_object(obj)->state, __ATOMIC_ACQUIRE);
}

zx_status_t exception_set_state(struct kobject *obj, uint32_t state) {
    if (state != ZX_EXCEPTION_STATE_TRY_NEXT && state != ZX_EXCEPTION_STATE_HANDLED &&
        state != ZX_EXCEPTION_STATE_THREAD_EXIT)
        return ZX_ERR_INVALID_ARGS;
    __atomic_store_n(&exception_from_object(obj)->state, state, __ATOMIC_RELEASE);
    return ZX_OK;
}

zx_status_t exception_get_task(struct kobject *obj, bool process, struct kobject **out,
                               zx_rights_t *out_rights) {
    struct exception *e = exception_from_object(obj);
    if (process && !e->process_rights)
        return ZX_ERR_ACCESS_DENIED;
    *out = process ? &e->thread->proc->obj : &e->thread->obj;
    *out_rights = process ? e->process_rights : e->thread_rights;
    kobject_retain(*out);
    return ZX_OK;
}

// --- Delivery ---

static zx_excp_type_t exception_type(uint64_t vector) {
    switch (vector) {
    case TRAP_PF:
        return ZX_EXCP_FATAL_PAGE_FAULT;
    case TRAP_UD:
        return ZX_EXCP_UNDEFINED_INSTRUCTION;
    case TRAP_BP:
        return ZX_EXCP_SW_BREAKPOINT;
    case TRAP_DB:
        return ZX_EXCP_HW_BREAKPOINT;
    default:
        return ZX_EXCP_GENERAL;  // #GP, #DE, #AC, x87/SIMD errors and the rest
    }
}

// Sends `e` on `ch` and waits until its handle is gone. Returns the state it was left in, or
// TRY_NEXT if the channel took no message; ZX_ERR_CANCELED (as *out_killed) if the thread was
// killed meanwhile.
static uint32_t offer(struct exception *e, struct channel *ch, uint32_t type, bool *out_killed) {
    struct uthread *ut = e->thread;
    struct process *p = ut->proc;
    __atomic_store_n(&e->state, ZX_EXCEPTION_STATE_TRY_NEXT, __ATOMIC_RELAXED);
    kobject_signal(&e->obj, EXCEPTION_CLOSED, 0);
    zx_exception_info_t info = {.pid = p->obj.koid, .tid = ut->obj.koid, .type = e->report.header.type};
    // The message owns one handle to the exception: a reference and a handle count.
    kobject_retain(&e->obj);
    kobject_handle_opened(&e->obj);
    struct channel_handle h = {.obj = &e->obj, .rights = EXCEPTION_RIGHTS};
    mutex_acquire(&p->lock);
    e->channel_type = type;
    mutex_release(&p->lock);
    // In the exception from the moment a handler can read it: a handler on another CPU may look
    // at the thread before this one has gone to sleep.
    uthread_blocking(ZX_THREAD_STATE_BLOCKED_EXCEPTION);
    if (channel_write(ch, &info, sizeof(info), &h, 1) != ZX_OK) {
        uthread_unblocked();
        handle_drop(&e->obj);  // the handler is gone: try the next one
        return ZX_EXCEPTION_STATE_TRY_NEXT;
    }
    zx_status_t st = kobject_wait_one(&e->obj, EXCEPTION_CLOSED, ZX_TIME_INFINITE, NULL);
    uthread_unblocked();
    *out_killed = st != ZX_OK;
    return exception_get_state(&e->obj);
}

void exception_dispatch(struct trap_frame *tf, zx_status_t fault_status, uint64_t fault_addr) {
    struct uthread *ut = uthread_current();
    struct process *p = ut->proc;
    if (p->critical) {
        // The handler it would reach is its own (userboot's crash reporter holds the root job's
        // channel): offered there, a fault of that thread would wait for itself forever.
        kprintf("process %s: fatal %s in thread '%s' at rip %#llx (address %#llx, status %d): "
                "the kernel's first process cannot handle its own exceptions; killing it\n",
                p->name, trap_name(tf->vector), ut->name, (unsigned long long)tf->rip,
                (unsigned long long)fault_addr, (int)fault_status);
        process_kill(p, ZX_TASK_RETCODE_EXCEPTION_KILL);  // does not return
    }
    struct exception *e = kzalloc(sizeof(*e));
    if (!e) {
        kprintf("process %s: no memory for an exception report\n", p->name);
        process_kill(p, ZX_TASK_RETCODE_EXCEPTION_KILL);  // does not return
    }
    kobject_init(&e->obj, ZX_OBJ_TYPE_EXCEPTION, &exception_ops);
    kobject_retain(&ut->obj);
    e->thread = ut;
    e->tf = tf;
    e->report.header.size = sizeof(e->report);
    e->report.header.type = exception_type(tf->vector);
    e->report.context.arch.x86_64.vector = tf->vector;
    e->report.context.arch.x86_64.err_code = tf->error_code;
    if (tf->vector == TRAP_PF) {
        e->report.context.arch.x86_64.cr2 = fault_addr;
        e->report.context.synth_code = (uint32_t)fault_status;
    }
    mutex_acquire(&p->lock);
    ut->exception = e;
    mutex_release(&p->lock);

    // The handlers in order: process debugger, thread, process, job, ancestor jobs.
    uint32_t state = ZX_EXCEPTION_STATE_TRY_NEXT;
    bool killed = false;
    struct job *job = p->job;
    for (int step = 0; !killed && state == ZX_EXCEPTION_STATE_TRY_NEXT; step++) {
        struct kobject *task;
        uint32_t type;
        if (step == 0) {
            task = &p->obj;
            type = ZX_EXCEPTION_CHANNEL_TYPE_DEBUGGER;
        } else if (step == 1) {
            task = &ut->obj;
            type = ZX_EXCEPTION_CHANNEL_TYPE_THREAD;
        } else if (step == 2) {
            task = &p->obj;
            type = ZX_EXCEPTION_CHANNEL_TYPE_PROCESS;
        } else if (job) {
            task = &job->obj;  // jobs hold their parents, and the process its job
            type = ZX_EXCEPTION_CHANNEL_TYPE_JOB;
            job = job->parent;
        } else {
            break;
        }
        struct channel *ch;
        if (!find_binding(task, type, &ch, &e->thread_rights, &e->process_rights))
            continue;
        state = offer(e, ch, type, &killed);
        kobject_release(channel_object(ch));
    }

    mutex_acquire(&p->lock);
    ut->exception = NULL;
    e->tf = NULL;
    e->channel_type = ZX_EXCEPTION_CHANNEL_TYPE_NONE;
    mutex_release(&p->lock);
    kobject_release(&e->obj);
    if (killed)
        return;  // the return to user mode ends the thread
    if (state == ZX_EXCEPTION_STATE_HANDLED)
        return;
    if (state == ZX_EXCEPTION_STATE_THREAD_EXIT)
        uthread_exit_current();
    if (tf->vector != TRAP_PF)
        kprintf("process %s: fatal %s at rip %#llx\n", p->name, trap_name(tf->vector),
                (unsigned long long)tf->rip);
    process_kill(p, ZX_TASK_RETCODE_EXCEPTION_KILL);  // does not return
}

// --- Thread state ---

static bool canonical(uint64_t a) {
    return (uint64_t)((int64_t)(a << 16) >> 16) == a;
}

zx_status_t exception_read_regs(struct uthread *t, zx_thread_state_general_regs_t *out) {
    mutex_acquire(&t->proc->lock);
    struct trap_frame *tf = t->exception ? t->exception->tf : NULL;
    if (tf) {
        // Jasper keeps no per-thread FS or GS base (user code cannot set them): both read as 0.
        *out = (zx_thread_state_general_regs_t){
            .rax = tf->rax, .rbx = tf->rbx, .rcx = tf->rcx, .rdx = tf->rdx,
            .rsi = tf->rsi, .rdi = tf->rdi, .rbp = tf->rbp, .rsp = tf->rsp,
            .r8 = tf->r8, .r9 = tf->r9, .r10 = tf->r10, .r11 = tf->r11,
            .r12 = tf->r12, .r13 = tf->r13, .r14 = tf->r14, .r15 = tf->r15,
            .rip = tf->rip, .rflags = tf->rflags,
        };
    }
    mutex_release(&t->proc->lock);
    return tf ? ZX_OK : ZX_ERR_BAD_STATE;
}

zx_status_t exception_write_regs(struct uthread *t, const zx_thread_state_general_regs_t *in) {
    mutex_acquire(&t->proc->lock);
    struct trap_frame *tf = t->exception ? t->exception->tf : NULL;
    zx_status_t st = ZX_OK;
    if (!tf)
        st = ZX_ERR_BAD_STATE;
    else if (!user_range_ok(in->rip, 1) || !canonical(in->fs_base) || !canonical(in->gs_base))
        st = ZX_ERR_INVALID_ARGS;  // iretq to a kernel or non-canonical rip would fault in the kernel
    if (st == ZX_OK) {
        tf->rax = in->rax, tf->rbx = in->rbx, tf->rcx = in->rcx, tf->rdx = in->rdx;
        tf->rsi = in->rsi, tf->rdi = in->rdi, tf->rbp = in->rbp, tf->rsp = in->rsp;
        tf->r8 = in->r8, tf->r9 = in->r9, tf->r10 = in->r10, tf->r11 = in->r11;
        tf->r12 = in->r12, tf->r13 = in->r13, tf->r14 = in->r14, tf->r15 = in->r15;
        tf->rip = in->rip;
        // IF, IOPL and the rest stay the kernel's to decide.
        tf->rflags = (tf->rflags & ~ZX_RFLAGS_USER_MASK) | (in->rflags & ZX_RFLAGS_USER_MASK);
        // fs_base and gs_base are checked but not kept (see exception_read_regs).
    }
    mutex_release(&t->proc->lock);
    return st;
}

zx_status_t exception_thread_report(struct uthread *t, zx_exception_report_t *out) {
    mutex_acquire(&t->proc->lock);
    struct exception *e = t->exception;
    if (e)
        *out = e->report;
    mutex_release(&t->proc->lock);
    return e ? ZX_OK : ZX_ERR_BAD_STATE;
}

uint32_t exception_thread_channel_type(struct uthread *t) {
    mutex_acquire(&t->proc->lock);
    uint32_t type = t->exception ? t->exception->channel_type : ZX_EXCEPTION_CHANNEL_TYPE_NONE;
    mutex_release(&t->proc->lock);
    return type;
}
