// Threads and the scheduler: per-CPU run queues under one scheduler lock.
//
// Each CPU has its own run queue, idle thread, current thread, quantum and need_resched flag
// (struct sched_cpu); all of it, like every thread's state, is guarded by the one `sched_lock`.
// A thread that becomes ready goes to an idle CPU if one may run it (that CPU gets a reschedule
// IPI), else to the least loaded one; a CPU whose queue is empty takes a thread from the busiest
// queue (when idle, or at the end of a quantum if that queue holds two or more).
//
// Switch handoff (why no thread runs on two CPUs, or on stale registers): sched_lock is held
// across a context switch. The switching thread takes it on CPU c, puts itself where it belongs
// (a run queue, a wait queue, the reap list), and the thread that resumes on c (or starts, in
// thread_start_body) releases it. Any other CPU must take sched_lock to find the thread on a
// queue, so it sees it only after arch_context_switch has saved its registers. (Zircon does the
// same with its thread lock; Linux's per-runqueue locks need the extra `on_cpu` flag instead.)
// Each thread keeps its own saved interrupt state on its own stack, so the handoff is symmetric,
// and the lock is always released by the CPU that took it. Code after a switch may run on
// another CPU than before it: it must re-read anything per-CPU.
//
// A dead thread cannot free the stack it is still running on: it goes on the reap list, still
// under sched_lock, and switches away. The reaper thread takes it off the list under sched_lock,
// which is after that switch completed, so the stack is no longer in use on any CPU when it is
// freed. Only then is the thread's on_reaped callback run and are its joiners woken.
#include "kernel/thread.h"

#include "arch/x86_64/context.h"
#include "arch/x86_64/cpu.h"
#include "arch/x86_64/percpu.h"
#include "arch/x86_64/ipi.h"
#include "arch/x86_64/smp.h"
#include "arch/x86_64/timer.h"
#include "arch/x86_64/trap.h"
#include "kernel/assert.h"
#include "kernel/heap.h"
#include "kernel/printf.h"
#include "kernel/spinlock.h"
#include "kernel/string.h"
#include "vm/pmm.h"

#define QUANTUM_TICKS 10

_Static_assert(SCHED_MAX_CPUS == SMP_MAX_CPUS, "one CPU numbering");

// One CPU's scheduler state. Every field: sched_lock.
struct sched_cpu {
    struct list_node run_queue;  // READY threads placed on this CPU (struct thread.queue_node)
    uint32_t queued;             // length of run_queue
    struct thread *current;      // the running thread (also percpu.current, for lock-free reads)
    struct thread *idle;         // NULL until the CPU has entered the scheduler
    bool need_resched;           // switch at the next tick, IPI or idle loop pass
    unsigned quantum_left;       // ticks the current thread may still run
    uint64_t switches, steals, ipis_sent;
};

struct spinlock sched_lock = SPINLOCK_INIT("sched");
static struct sched_cpu sched_cpus[SCHED_MAX_CPUS];
static uint64_t online_mask;  // CPUs with an idle thread (sched_lock)
static uint32_t cpus_online;  // bits in online_mask
// Lock-free hints, written under sched_lock, read without it by ticks and idle loops so that a
// CPU with nothing to do does not take the lock (every CPU ticks 1,000 times a second):
static uint32_t total_queued;     // threads on all run queues
static zx_time_t next_deadline = ZX_TIME_INFINITE;  // the sleep list's first deadline
static struct list_node sleep_list = LIST_INITIAL(sleep_list);  // sorted by deadline
static struct list_node reap_list = LIST_INITIAL(reap_list);    // DYING threads
static struct wait_queue reaper_wq = WAIT_QUEUE_INIT(reaper_wq);
static struct list_node all_threads = LIST_INITIAL(all_threads);
static size_t live_threads;
static struct thread boot_thread;

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

// One GS-relative load: atomic with respect to migration, so it needs no lock.
struct thread *thread_current(void) {
    return percpu_current();
}

bool thread_current_alloc_critical(void) {
    struct thread *t = thread_current();
    return !t || !t->alloc_ordinary;
}

zx_time_t current_time(void) {
    return arch_now_ns();
}

size_t thread_count(void) {
    return live_threads;
}

uint32_t sched_cpus_online(void) {
    return __atomic_load_n(&cpus_online, __ATOMIC_RELAXED);
}

void sched_get_cpu_stats(uint32_t cpu, struct sched_cpu_stats *out) {
    ASSERT(cpu < SCHED_MAX_CPUS);
    uint64_t s = sched_lock_irqsave();
    const struct sched_cpu *sc = &sched_cpus[cpu];
    *out = (struct sched_cpu_stats){sc->switches, sc->steals, sc->ipis_sent, sc->queued};
    sched_unlock_irqrestore(s);
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

static void free_thread_locked(struct thread *t) REQUIRES(sched_lock) {
    ASSERT_HELD(&sched_lock);
    list_delete(&t->all_node);
    live_threads--;
    kfree(t);
}

// --- Run queues ---

static bool cpu_is_idle_locked(uint32_t cpu) REQUIRES(sched_lock) {
    ASSERT_HELD(&sched_lock);
    const struct sched_cpu *sc = &sched_cpus[cpu];
    return sc->idle && sc->current == sc->idle && sc->queued == 0;
}

static void enqueue_locked(uint32_t cpu, struct thread *t) REQUIRES(sched_lock) {
    ASSERT_HELD(&sched_lock);
    t->cpu = cpu;
    list_add_tail(&sched_cpus[cpu].run_queue, &t->queue_node);
    sched_cpus[cpu].queued++;
    __atomic_store_n(&total_queued, total_queued + 1, __ATOMIC_RELAXED);
}

static void dequeue_locked(struct thread *t) REQUIRES(sched_lock) {
    ASSERT_HELD(&sched_lock);
    list_delete(&t->queue_node);
    sched_cpus[t->cpu].queued--;
    __atomic_store_n(&total_queued, total_queued - 1, __ATOMIC_RELAXED);
}

// Where a thread that becomes ready should go: its last CPU if idle, else any idle CPU it may
// use, else the one with the least work (queued + running), its last CPU winning ties.
static uint32_t select_cpu_locked(const struct thread *t) REQUIRES(sched_lock) {
    ASSERT_HELD(&sched_lock);
    uint64_t allowed = t->affinity & online_mask;
    if (!allowed)
        return (uint32_t)__builtin_ctzll(t->affinity);  // waits for that CPU to arrive
    uint32_t last = t->cpu;
    if ((allowed & (1ull << last)) && cpu_is_idle_locked(last))
        return last;
    uint32_t best = last;
    uint32_t best_load = UINT32_MAX;
    for (uint64_t m = allowed; m; m &= m - 1) {
        uint32_t c = (uint32_t)__builtin_ctzll(m);
        if (cpu_is_idle_locked(c))
            return c;
        const struct sched_cpu *sc = &sched_cpus[c];
        uint32_t load = sc->queued + (sc->current != sc->idle);
        if (load < best_load || (load == best_load && c == last)) {
            best = c;
            best_load = load;
        }
    }
    return best;
}

// Asks `cpu` to reschedule if it is running its idle thread (a busy CPU takes new work at the
// end of its quantum).
static void kick_locked(uint32_t cpu) REQUIRES(sched_lock) {
    ASSERT_HELD(&sched_lock);
    struct sched_cpu *sc = &sched_cpus[cpu];
    if (!sc->idle || sc->current != sc->idle || sc->need_resched)
        return;
    sc->need_resched = true;
    if (cpu != smp_cpu_num()) {
        sc->ipis_sent++;
        ipi_send(cpu, IPI_RESCHEDULE);
    }
}

// Takes, for `cpu`, the first thread it may run from the busiest queue of another busy CPU holding
// at least `min_queued` threads. NULL if none.
static struct thread *steal_locked(uint32_t cpu, uint32_t min_queued) REQUIRES(sched_lock) {
    ASSERT_HELD(&sched_lock);
    struct thread *found = NULL;
    uint32_t found_queued = 0;
    for (uint64_t m = online_mask & ~(1ull << cpu); m; m &= m - 1) {
        const struct sched_cpu *sc = &sched_cpus[__builtin_ctzll(m)];
        // An idle CPU with queued threads has been kicked and is about to run them.
        if (sc->current == sc->idle || sc->queued < min_queued || sc->queued <= found_queued)
            continue;
        list_for_each(&sc->run_queue, it) {
            struct thread *t = containerof(it, struct thread, queue_node);
            if (t->affinity & (1ull << cpu)) {
                found = t;
                found_queued = sc->queued;
                break;
            }
        }
    }
    if (found) {
        dequeue_locked(found);
        sched_cpus[cpu].steals++;
    }
    return found;
}

static void update_next_deadline_locked(void) REQUIRES(sched_lock) {
    ASSERT_HELD(&sched_lock);
    zx_time_t d = list_is_empty(&sleep_list)
                      ? ZX_TIME_INFINITE
                      : containerof(sleep_list.next, struct thread, sleep_node)->deadline;
    __atomic_store_n(&next_deadline, d, __ATOMIC_RELAXED);
}

static void sleep_insert_locked(struct thread *t) REQUIRES(sched_lock) {
    ASSERT_HELD(&sched_lock);
    list_for_each(&sleep_list, it) {
        struct thread *o = containerof(it, struct thread, sleep_node);
        if (o->deadline > t->deadline) {
            list_insert_after(it->prev, &t->sleep_node);
            update_next_deadline_locked();
            return;
        }
    }
    list_add_tail(&sleep_list, &t->sleep_node);
    update_next_deadline_locked();
}

static void make_ready_locked(struct thread *t, zx_status_t status) REQUIRES(sched_lock) {
    ASSERT_HELD(&sched_lock);
    if (t->waiting_on) {
        list_delete(&t->queue_node);
        t->waiting_on = NULL;
    }
    if (list_in_list(&t->sleep_node)) {
        list_delete(&t->sleep_node);
        update_next_deadline_locked();
    }
    t->wake_status = status;
    t->state = THREAD_READY;
    uint32_t cpu = select_cpu_locked(t);
    enqueue_locked(cpu, t);
    kick_locked(cpu);
}

// --- Switching ---

// Switches this CPU to its next thread: the head of its queue, else one stolen from the busiest
// queue, else the current thread goes on running (if it can), else the idle thread. The caller
// holds sched_lock and has already put a current thread that stops running where it belongs
// (wait queue, reap list); a current thread still RUNNING goes back on this CPU's queue.
static void schedule_locked(void) REQUIRES(sched_lock) {
    ASSERT_HELD(&sched_lock);
    uint32_t cpu = smp_cpu_num();
    struct sched_cpu *sc = &sched_cpus[cpu];
    struct thread *cur = sc->current;
    ASSERT_MSG(cur == thread_current(), "schedule: cpu %u current %s", cpu, cur->name);
    bool cur_wants_cpu = cur->state == THREAD_RUNNING && cur != sc->idle;
    sc->need_resched = false;
    struct thread *next = NULL;
    struct list_node *n = list_remove_head(&sc->run_queue);
    if (n) {
        sc->queued--;
        __atomic_store_n(&total_queued, total_queued - 1, __ATOMIC_RELAXED);
        next = containerof(n, struct thread, queue_node);
    } else {
        // Stealing only helps a busy CPU if the other one has two waiting (else it just swaps).
        next = steal_locked(cpu, cur_wants_cpu ? 2 : 1);
    }
    if (!next) {
        if (cur->state == THREAD_RUNNING) {
            sc->quantum_left = QUANTUM_TICKS;
            return;  // nothing else to run here; keep going
        }
        next = sc->idle;
    }
    if (cur_wants_cpu) {
        cur->state = THREAD_READY;
        enqueue_locked(cpu, cur);
    } else if (cur == sc->idle) {
        cur->state = THREAD_READY;  // the idle thread is never queued
    }
    next->state = THREAD_RUNNING;
    next->cpu = cpu;
    sc->current = next;
    sc->quantum_left = QUANTUM_TICKS;
    sc->switches++;
    struct percpu *pc = percpu_get();
    pc->current = next;
    pc->kernel_rsp = stack_top(next);
    arch_set_kernel_stack(stack_top(next));
    if (sched_switch_hook)
        sched_switch_hook(cur, next);
    arch_context_switch(&cur->saved_rsp, next->saved_rsp);
    // Back on `cur`, perhaps on another CPU, with sched_lock held by whoever switched to us there.
}

// A new thread's first C code; entered with sched_lock held (see the file comment).
NORETURN void thread_start_body(thread_entry_fn entry, void *arg) RELEASE(sched_lock);
void thread_start_body(thread_entry_fn entry, void *arg) {
    spin_unlock_irqrestore(&sched_lock, 1u << 9);  // interrupts on
    thread_exit(entry(arg));
}

// Whether this CPU (interrupts off) may have something to switch to: asked to, or threads queued
// somewhere (its own queue, or another it could steal from). A hint read without the lock.
static bool work_hint(const struct sched_cpu *sc) {
    return __atomic_load_n(&sc->need_resched, __ATOMIC_RELAXED) ||
           __atomic_load_n(&total_queued, __ATOMIC_RELAXED) > 0;
}

static int idle_loop(void *arg) {
    (void)arg;
    for (;;) {
        // Run whatever this CPU may run, then sleep until the next interrupt. Interrupts stay off
        // from the check to the `hlt` (sti takes effect after it), so no wake-up IPI is lost; a
        // wake-up sets need_resched before its IPI, and the IPI handler schedules too.
        irq_disable();
        if (work_hint(&sched_cpus[smp_cpu_num()])) {
            uint64_t s = sched_lock_irqsave();
            schedule_locked();
            sched_unlock_irqrestore(s);
        }
        __asm__ volatile("sti; hlt" ::: "memory");
    }
    return 0;
}

// Frees the stacks of dying threads once their last switch is over (see the file comment), runs
// their on_reaped callbacks and wakes their joiners.
static int reaper_loop(void *arg) {
    (void)arg;
    for (;;) {
        uint64_t s = sched_lock_irqsave();
        while (list_is_empty(&reap_list))
            (void)wait_queue_block_locked(&reaper_wq, ZX_TIME_INFINITE);
        struct thread *t = containerof(list_remove_head(&reap_list), struct thread, queue_node);
        ASSERT(t->state == THREAD_DYING);
        sched_unlock_irqrestore(s);
        free_stack(t);
        if (t->on_reaped)
            t->on_reaped(t->on_reaped_arg);
        s = sched_lock_irqsave();
        t->state = THREAD_DEAD;
        wait_queue_wake_all_locked(&t->exit_wq, ZX_OK);
        if (t->refs == 0)
            free_thread_locked(t);
        sched_unlock_irqrestore(s);
    }
    return 0;
}

static struct thread *thread_alloc(const char *name, thread_entry_fn entry, void *arg,
                                   bool counted) {
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
    t->affinity = SCHED_ALL_CPUS;
    t->entry = entry;
    t->arg = arg;
    t->deadline = ZX_TIME_INFINITE;
    t->refs = 1;
    wait_queue_init(&t->exit_wq);
    arch_thread_init_stack(&t->saved_rsp, stack_top(t) - THREAD_STACK_TOP_RESERVE, (vaddr_t)entry,
                           (uint64_t)arg);
    if (counted) {  // idle threads and the reaper live forever, uncounted
        uint64_t s = sched_lock_irqsave();
        list_add_tail(&all_threads, &t->all_node);
        live_threads++;
        sched_unlock_irqrestore(s);
    }
    return t;
}

// Makes `idle` the idle thread of this CPU (not yet running it). Caller holds sched_lock.
static void cpu_add_locked(uint32_t cpu, struct thread *idle) REQUIRES(sched_lock) {
    ASSERT_HELD(&sched_lock);
    ASSERT_MSG(cpu < SCHED_MAX_CPUS && !sched_cpus[cpu].idle, "cpu %u added twice", cpu);
    struct sched_cpu *sc = &sched_cpus[cpu];
    if (!sc->run_queue.next)
        list_init(&sc->run_queue);
    idle->affinity = 1ull << cpu;
    idle->cpu = cpu;
    idle->state = THREAD_READY;
    sc->idle = idle;
    sc->quantum_left = QUANTUM_TICKS;
    online_mask |= 1ull << cpu;
    __atomic_add_fetch(&cpus_online, 1, __ATOMIC_RELAXED);
}

void sched_init(void) {
    extern char boot_stack_bottom[];
    for (uint32_t c = 0; c < SCHED_MAX_CPUS; c++)
        list_init(&sched_cpus[c].run_queue);
    uint32_t cpu = smp_cpu_num();
    struct thread *b = &boot_thread;
    memcpy(b->name, "boot", 5);
    b->state = THREAD_RUNNING;
    b->cpu = cpu;
    b->affinity = 1ull << cpu;  // the boot code may rely on running on the boot CPU
    b->stack_base = (vaddr_t)boot_stack_bottom;
    b->deadline = ZX_TIME_INFINITE;
    b->refs = 1;
    wait_queue_init(&b->exit_wq);
    list_add_tail(&all_threads, &b->all_node);
    struct percpu *pc = percpu_get();
    pc->current = b;
    pc->kernel_rsp = stack_top(b);
    struct thread *idle = thread_alloc("idle0", idle_loop, NULL, false);
    struct thread *reaper = thread_alloc("reaper", reaper_loop, NULL, false);
    ASSERT(idle && reaper);
    uint64_t s = sched_lock_irqsave();
    cpu_add_locked(cpu, idle);
    sched_cpus[cpu].current = b;
    sched_unlock_irqrestore(s);
    thread_start(reaper);
}

static void sched_tick(struct trap_frame *tf);

void sched_enter_ap(void) {
    uint32_t cpu = smp_cpu_num();
    char name[THREAD_NAME_LEN];
    ksnprintf(name, sizeof(name), "idle%u", cpu);
    struct thread *idle = thread_alloc(name, idle_loop, NULL, false);
    ASSERT_MSG(idle, "sched_enter_ap: no memory for cpu %u's idle thread", cpu);
    irq_disable();
    (void)spin_lock_irqsave(&sched_lock);  // released by the idle thread's first code
    cpu_add_locked(cpu, idle);
    idle->state = THREAD_RUNNING;
    sched_cpus[cpu].current = idle;
    struct percpu *pc = percpu_get();
    pc->current = idle;
    pc->kernel_rsp = stack_top(idle);
    pc->tick_fn = sched_tick;  // its timer has been ticking for nobody so far
    arch_set_kernel_stack(stack_top(idle));
    uint64_t abandoned_rsp;
    arch_context_switch(&abandoned_rsp, idle->saved_rsp);
    panic("sched_enter_ap: cpu %u came back to its boot stack", cpu);
}

// The timer tick (interrupt context, interrupts off, on every CPU that has a timer): wake
// sleepers, count down this CPU's quantum; an idle CPU looks for work to steal.
static void sched_tick(struct trap_frame *tf) {
    (void)tf;
    struct sched_cpu *sc = &sched_cpus[smp_cpu_num()];
    zx_time_t now = current_time();
    // quantum_left is only touched by its own CPU with interrupts off: no lock needed for it.
    if (sc->quantum_left > 0)
        sc->quantum_left--;
    bool idle = __atomic_load_n(&sc->current, __ATOMIC_RELAXED) == sc->idle;
    bool due = now >= __atomic_load_n(&next_deadline, __ATOMIC_RELAXED);
    if (!due && !(idle ? work_hint(sc)
                       : sc->quantum_left == 0 || __atomic_load_n(&sc->need_resched,
                                                                  __ATOMIC_RELAXED)))
        return;  // the common tick: nothing to wake, nothing to switch to
    uint64_t s = sched_lock_irqsave();
    while (!list_is_empty(&sleep_list)) {
        struct thread *t = containerof(sleep_list.next, struct thread, sleep_node);
        if (t->deadline > now)
            break;
        make_ready_locked(t, ZX_ERR_TIMED_OUT);
    }
    if (sc->quantum_left == 0 || sc->current == sc->idle)
        sc->need_resched = true;
    if (sc->need_resched)
        schedule_locked();  // preempt: resumes here (perhaps on another CPU) when it runs again
    sched_unlock_irqrestore(s);
}

void sched_ipi_reschedule(void) {
    if (!__atomic_load_n(&sched_cpus[smp_cpu_num()].need_resched, __ATOMIC_RELAXED))
        return;  // only a nudge (thread_interrupt): the interrupt's return is the point
    uint64_t s = sched_lock_irqsave();
    if (sched_cpus[smp_cpu_num()].need_resched)
        schedule_locked();
    sched_unlock_irqrestore(s);
}

void sched_start_preemption(void) {
    arch_timer_init(sched_tick);
    irq_enable();
}

// --- Thread life cycle ---

struct thread *thread_create(const char *name, thread_entry_fn entry, void *arg) {
    return thread_alloc(name, entry, arg, true);
}

void thread_set_affinity(struct thread *t, uint64_t mask) {
    ASSERT_MSG(mask != 0, "thread %s: empty affinity", t->name);
    uint64_t s = sched_lock_irqsave();
    ASSERT_MSG(t->state == THREAD_INITIAL, "thread %s: affinity after start", t->name);
    t->affinity = mask;
    t->cpu = (uint32_t)__builtin_ctzll(mask);
    sched_unlock_irqrestore(s);
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
    ASSERT_MSG(t != &boot_thread && t->stack_base && t->refs > 0, "thread %s cannot exit",
               t->name);
    irq_disable();
    (void)spin_lock_irqsave(&sched_lock);
    ASSERT_MSG(t != sched_cpus[smp_cpu_num()].idle, "%s", "the idle thread cannot exit");
    t->exit_code = code;
    t->state = THREAD_DYING;
    t->refs--;  // the running thread's own reference
    list_add_tail(&reap_list, &t->queue_node);
    wait_queue_wake_all_locked(&reaper_wq, ZX_OK);
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
        } else if (t->state == THREAD_DEAD) {
            free_thread_locked(t);  // already reaped
        }
        // Otherwise (DYING) the reaper frees it.
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
    if (t->state == THREAD_BLOCKED && t->interruptible) {
        make_ready_locked(t, ZX_ERR_CANCELED);
    } else if (t->state == THREAD_RUNNING && t->cpu != smp_cpu_num()) {
        // Running elsewhere (perhaps in user mode): make it pass through a kernel exit now.
        sched_cpus[t->cpu].ipis_sent++;
        ipi_send(t->cpu, IPI_RESCHEDULE);
    }
    sched_unlock_irqrestore(s);
}

// --- Wait queues ---

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
    ASSERT_MSG(t != sched_cpus[smp_cpu_num()].idle, "%s", "the idle thread cannot block");
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

size_t wait_queue_length_locked(const struct wait_queue *wq) {
    ASSERT_HELD(&sched_lock);
    return list_length(&wq->waiters);
}

size_t wait_queue_wake_one_locked(struct wait_queue *wq, zx_status_t status) {
    ASSERT_HELD(&sched_lock);
    if (list_is_empty(&wq->waiters))
        return 0;
    make_ready_locked(containerof(wq->waiters.next, struct thread, queue_node), status);
    return 1;
}
