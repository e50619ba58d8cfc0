// Threads and the round-robin scheduler.
//
// The scheduler lock is held across a context switch: the thread that switches away takes it, and
// the thread that resumes (or starts, in thread_start_body) releases it. Each thread keeps its own
// saved interrupt state on its own stack, so the handoff is symmetric.
//
// A dead thread cannot free the stack it is still running on: it goes on the reap list and the
// next thread to run frees the stack; the struct goes when the last reference is released.
#include "kernel/thread.h"

#include "arch/x86_64/context.h"
#include "arch/x86_64/cpu.h"
#include "arch/x86_64/percpu.h"
#include "arch/x86_64/timer.h"
#include "kernel/assert.h"
#include "kernel/heap.h"
#include "kernel/printf.h"
#include "kernel/spinlock.h"
#include "kernel/string.h"
#include "vm/pmm.h"

#define QUANTUM_TICKS 10

static struct spinlock sched_lock = SPINLOCK_INIT("sched");
static struct list_node run_queue = LIST_INITIAL(run_queue);
static struct list_node sleep_list = LIST_INITIAL(sleep_list);  // sorted by deadline
static struct list_node reap_list = LIST_INITIAL(reap_list);
static struct list_node all_threads = LIST_INITIAL(all_threads);
static size_t live_threads;
static struct thread boot_thread;
static struct thread *idle_thread;
static bool need_resched;
static unsigned quantum_left = QUANTUM_TICKS;

// Runs when a thread switches: the process layer installs the address-space switch here.
void (*sched_switch_hook)(struct thread *prev, struct thread *next);

uint64_t sched_lock_irqsave(void) {
    return spin_lock_irqsave(&sched_lock);
}

void sched_unlock_irqrestore(uint64_t state) {
    spin_unlock_irqrestore(&sched_lock, state);
}

bool sched_lock_held(void) {
    return spin_lock_held(&sched_lock);
}

struct thread *thread_current(void) {
    return percpu0.current;
}

zx_time_t current_time(void) {
    return arch_now_ns();
}

size_t thread_count(void) {
    return live_threads;
}

static vaddr_t stack_top(const struct thread *t) {
    return t->stack_base + THREAD_STACK_PAGES * PAGE_SIZE;
}

static void free_stack(struct thread *t) {
    if (t->stack_base) {
        pmm_free_contiguous(pmm_page_from_kva((void *)t->stack_base), THREAD_STACK_PAGES);
        t->stack_base = 0;
    }
}

static void free_thread_locked(struct thread *t) {
    ASSERT_HELD(&sched_lock);
    list_delete(&t->all_node);
    live_threads--;
    kfree(t);
}

// Frees the stacks of dead threads other than the current one.
static void reap_locked(void) {
    ASSERT_HELD(&sched_lock);
    struct list_node *n;
    while ((n = list_remove_head(&reap_list)) != NULL) {
        struct thread *t = containerof(n, struct thread, queue_node);
        free_stack(t);
        if (t->refs == 0)
            free_thread_locked(t);
    }
}

static void sleep_insert_locked(struct thread *t) {
    ASSERT_HELD(&sched_lock);
    list_for_each(&sleep_list, it) {
        struct thread *o = containerof(it, struct thread, sleep_node);
        if (o->deadline > t->deadline) {
            list_insert_after(it->prev, &t->sleep_node);
            return;
        }
    }
    list_add_tail(&sleep_list, &t->sleep_node);
}

static void make_ready_locked(struct thread *t, zx_status_t status) {
    ASSERT_HELD(&sched_lock);
    if (t->waiting_on) {
        list_delete(&t->queue_node);
        t->waiting_on = NULL;
    }
    if (list_in_list(&t->sleep_node))
        list_delete(&t->sleep_node);
    t->wake_status = status;
    t->state = THREAD_READY;
    list_add_tail(&run_queue, &t->queue_node);
}

// Switches to the next ready thread (or idle). The caller holds sched_lock and has already put the
// current thread where it belongs (run queue, wait queue, reap list).
static void schedule_locked(void) {
    ASSERT_HELD(&sched_lock);
    struct thread *cur = thread_current();
    struct list_node *n = list_remove_head(&run_queue);
    struct thread *next = n ? containerof(n, struct thread, queue_node) : idle_thread;
    if (next == idle_thread && cur->state == THREAD_RUNNING)
        return;  // nothing else to run; keep going
    if (next == cur) {
        cur->state = THREAD_RUNNING;
        return;
    }
    if (cur->state == THREAD_RUNNING && cur != idle_thread) {
        cur->state = THREAD_READY;
        list_add_tail(&run_queue, &cur->queue_node);
    }
    next->state = THREAD_RUNNING;
    quantum_left = QUANTUM_TICKS;
    need_resched = false;
    percpu0.current = next;
    percpu0.kernel_rsp = stack_top(next);
    arch_set_kernel_stack(stack_top(next));
    if (sched_switch_hook)
        sched_switch_hook(cur, next);
    arch_context_switch(&cur->saved_rsp, next->saved_rsp);
    // Back on `cur`, with sched_lock held by whoever switched to us.
    reap_locked();
}

// A new thread's first C code; entered with sched_lock held (see the file comment).
NORETURN void thread_start_body(thread_entry_fn entry, void *arg);
void thread_start_body(thread_entry_fn entry, void *arg) {
    reap_locked();
    spin_unlock_irqrestore(&sched_lock, 1u << 9);  // interrupts on
    thread_exit(entry(arg));
}

static int idle_loop(void *arg) {
    (void)arg;
    for (;;) {
        // Give way to anything runnable, then sleep until the next interrupt.
        uint64_t s = sched_lock_irqsave();
        if (!list_is_empty(&run_queue))
            schedule_locked();
        sched_unlock_irqrestore(s);
        __asm__ volatile("sti; hlt" ::: "memory");
    }
    return 0;
}

static struct thread *thread_alloc(const char *name, thread_entry_fn entry, void *arg) {
    struct thread *t = kzalloc(sizeof(*t));
    if (!t)
        return NULL;
    vm_page_t *stack = pmm_alloc_contiguous(THREAD_STACK_PAGES, 1, PAGE_STATE_WIRED);
    if (!stack) {
        kfree(t);
        return NULL;
    }
    size_t len = strnlen(name, THREAD_NAME_LEN - 1);
    memcpy(t->name, name, len);
    t->name[len] = '\0';
    t->state = THREAD_INITIAL;
    t->stack_base = (vaddr_t)vm_page_kva(stack);
    t->entry = entry;
    t->arg = arg;
    t->deadline = ZX_TIME_INFINITE;
    t->refs = 1;
    wait_queue_init(&t->exit_wq);
    arch_thread_init_stack(&t->saved_rsp, stack_top(t) - THREAD_STACK_TOP_RESERVE, (vaddr_t)entry,
                           (uint64_t)arg);
    uint64_t s = sched_lock_irqsave();
    list_add_tail(&all_threads, &t->all_node);
    live_threads++;
    sched_unlock_irqrestore(s);
    return t;
}

void sched_init(void) {
    extern char boot_stack_bottom[];
    struct thread *b = &boot_thread;
    memcpy(b->name, "boot", 5);
    b->state = THREAD_RUNNING;
    b->stack_base = (vaddr_t)boot_stack_bottom;
    b->deadline = ZX_TIME_INFINITE;
    b->refs = 1;
    wait_queue_init(&b->exit_wq);
    list_add_tail(&all_threads, &b->all_node);
    percpu0.current = b;
    percpu0.kernel_rsp = stack_top(b);
    idle_thread = thread_alloc("idle", idle_loop, NULL);
    ASSERT(idle_thread);
    // The idle thread is never counted as a live thread for leak checks.
    live_threads = 0;
}

// The timer tick (interrupt context, interrupts off): wake sleepers, count down the quantum.
static void sched_tick(struct trap_frame *tf) {
    (void)tf;
    uint64_t s = sched_lock_irqsave();
    zx_time_t now = current_time();
    while (!list_is_empty(&sleep_list)) {
        struct thread *t = containerof(sleep_list.next, struct thread, sleep_node);
        if (t->deadline > now)
            break;
        make_ready_locked(t, ZX_ERR_TIMED_OUT);
    }
    if (quantum_left > 0)
        quantum_left--;
    if (quantum_left == 0 || thread_current() == idle_thread)
        need_resched = !list_is_empty(&run_queue);
    if (need_resched)
        schedule_locked();  // preempt: resumes here when this thread runs again
    sched_unlock_irqrestore(s);
}

void sched_start_preemption(void) {
    arch_timer_init(sched_tick);
    irq_enable();
}

struct thread *thread_create(const char *name, thread_entry_fn entry, void *arg) {
    return thread_alloc(name, entry, arg);
}

void thread_start(struct thread *t) {
    uint64_t s = sched_lock_irqsave();
    ASSERT(t->state == THREAD_INITIAL);
    t->refs++;  // the running thread holds itself until it dies
    make_ready_locked(t, ZX_OK);
    sched_unlock_irqrestore(s);
}

void thread_exit(int code) {
    struct thread *t = thread_current();
    ASSERT_MSG(t != &boot_thread && t != idle_thread, "thread %s cannot exit", t->name);
    irq_disable();
    spin_lock_irqsave(&sched_lock);
    t->exit_code = code;
    t->state = THREAD_DEAD;
    wait_queue_wake_all_locked(&t->exit_wq, ZX_OK);
    t->refs--;  // the running thread's own reference
    list_add_tail(&reap_list, &t->queue_node);
    schedule_locked();
    panic("thread_exit: dead thread %s was scheduled", t->name);
}

zx_status_t thread_join(struct thread *t, int *out_code, zx_time_t deadline) {
    uint64_t s = sched_lock_irqsave();
    zx_status_t st = ZX_OK;
    while (t->state != THREAD_DEAD && st == ZX_OK)
        st = wait_queue_block_locked(&t->exit_wq, deadline);
    if (t->state == THREAD_DEAD) {
        st = ZX_OK;
        if (out_code)
            *out_code = t->exit_code;
    }
    sched_unlock_irqrestore(s);
    return st;
}

void thread_retain(struct thread *t) {
    uint64_t s = sched_lock_irqsave();
    t->refs++;
    sched_unlock_irqrestore(s);
}

void thread_release(struct thread *t) {
    uint64_t s = sched_lock_irqsave();
    ASSERT(t->refs > 0);
    if (--t->refs == 0) {
        if (t->state == THREAD_INITIAL) {
            free_stack(t);
            free_thread_locked(t);
        } else if (t->state == THREAD_DEAD && !list_in_list(&t->queue_node)) {
            free_thread_locked(t);  // already reaped
        }
        // Otherwise the reaper frees it.
    }
    sched_unlock_irqrestore(s);
}

void thread_yield(void) {
    uint64_t s = sched_lock_irqsave();
    schedule_locked();
    sched_unlock_irqrestore(s);
}

zx_status_t thread_sleep_until(zx_time_t deadline) {
    uint64_t s = sched_lock_irqsave();
    struct wait_queue never;
    wait_queue_init(&never);
    zx_status_t st = ZX_OK;
    while (current_time() < deadline && st != ZX_ERR_CANCELED)
        st = wait_queue_block_interruptible_locked(&never, deadline);
    sched_unlock_irqrestore(s);
    return st == ZX_ERR_CANCELED ? st : ZX_OK;
}

void thread_interrupt(struct thread *t) {
    uint64_t s = sched_lock_irqsave();
    t->interrupted = true;
    if (t->state == THREAD_BLOCKED && t->interruptible)
        make_ready_locked(t, ZX_ERR_CANCELED);
    sched_unlock_irqrestore(s);
}

zx_status_t wait_queue_block_interruptible_locked(struct wait_queue *wq, zx_time_t deadline) {
    ASSERT_HELD(&sched_lock);
    struct thread *t = thread_current();
    if (t->interrupted)
        return ZX_ERR_CANCELED;
    t->interruptible = true;
    zx_status_t st = wait_queue_block_locked(wq, deadline);
    t->interruptible = false;
    return st;
}

void wait_queue_init(struct wait_queue *wq) {
    list_init(&wq->waiters);
}

zx_status_t wait_queue_block_locked(struct wait_queue *wq, zx_time_t deadline) {
    ASSERT_HELD(&sched_lock);
    struct thread *t = thread_current();
    ASSERT_MSG(t != idle_thread, "%s", "the idle thread cannot block");
    if (deadline != ZX_TIME_INFINITE && current_time() >= deadline)
        return ZX_ERR_TIMED_OUT;
    t->state = THREAD_BLOCKED;
    t->waiting_on = wq;
    t->deadline = deadline;
    list_add_tail(&wq->waiters, &t->queue_node);
    if (deadline != ZX_TIME_INFINITE)
        sleep_insert_locked(t);
    schedule_locked();
    t->deadline = ZX_TIME_INFINITE;
    return t->wake_status;
}

size_t wait_queue_wake_all_locked(struct wait_queue *wq, zx_status_t status) {
    ASSERT_HELD(&sched_lock);
    size_t n = 0;
    while (!list_is_empty(&wq->waiters)) {
        struct thread *t = containerof(wq->waiters.next, struct thread, queue_node);
        make_ready_locked(t, status);
        n++;
    }
    return n;
}

size_t wait_queue_wake_one_locked(struct wait_queue *wq, zx_status_t status) {
    ASSERT_HELD(&sched_lock);
    if (list_is_empty(&wq->waiters))
        return 0;
    make_ready_locked(containerof(wq->waiters.next, struct thread, queue_node), status);
    return 1;
}
