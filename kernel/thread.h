// Kernel threads and the scheduler: every CPU runs threads from its own run queue, round-robin,
// with preemption on its timer tick; sleeping until a deadline; wait queues with deadlines. User
// threads are kernel threads that also have a user context (kernel/process.h). docs/smp.md
// ("Scheduler") describes placement, stealing and the switch handoff.
//
// Locking: one lock, `sched_lock` (a spinlock, taken with interrupts off), guards every run queue,
// wait queue, the sleep and reap lists, every CPU's scheduler state and every thread's state. Code
// that blocks calls into this module with no other spinlock held.
#ifndef KERNEL_THREAD_H
#define KERNEL_THREAD_H

#include "kernel/list.h"
#include "kernel/lockdep.h"
#include "kernel/spinlock.h"
#include "kernel/types.h"

#define THREAD_STACK_PAGES 4
// Bytes kept free at the top of every kernel stack for the user-mode trap frame.
#define THREAD_STACK_TOP_RESERVE 256
#define THREAD_NAME_LEN 32
// CPUs the scheduler can drive: one bit each in a 64-bit mask (affinity, address-space masks).
#define SCHED_MAX_CPUS 64
#define SCHED_ALL_CPUS (~0ull)

enum thread_state {
    THREAD_INITIAL,   // created, not started
    THREAD_READY,     // on the run queue of CPU `cpu` (an idle thread not running: on none)
    THREAD_RUNNING,   // the current thread of CPU `cpu`
    THREAD_BLOCKED,   // on a wait queue and/or the sleep list
    THREAD_DYING,     // exited, on the reap list; its stack may still be in use by its last switch
    THREAD_DEAD,      // reaped: stack freed, joiners woken; the struct goes with the last reference
};

struct wait_queue {
    struct list_node waiters;
};

#define WAIT_QUEUE_INIT(wq) {LIST_INITIAL((wq).waiters)}

typedef int (*thread_entry_fn)(void *arg);

struct thread {
    char name[THREAD_NAME_LEN];
    enum thread_state state;
    uint64_t saved_rsp;         // while not running
    uint32_t cpu;               // the CPU it runs on, is queued on, or last ran on
    uint64_t affinity;          // CPUs it may run on (bit i: CPU i); set before it starts
    vaddr_t stack_base;         // kernel stack [stack_base, stack_base + THREAD_STACK_PAGES pages)
    struct list_node queue_node;  // a run queue, a wait queue or the reap list
    struct list_node sleep_node;  // the sleep list (blocked with a deadline)
    struct list_node all_node;    // every thread
    struct wait_queue *waiting_on;
    zx_time_t deadline;          // ZX_TIME_INFINITE when none
    zx_status_t wake_status;     // why a block ended
    thread_entry_fn entry;
    void *arg;
    int exit_code;
    struct wait_queue exit_wq;   // woken when the thread dies
    uint32_t refs;               // freed when it reaches zero after death (thread_release)
    void *owner;                 // the user thread object wrapping this one, or NULL
    // Called by the reaper, in a thread context, after the stack is freed and before joiners wake
    // (process.c signals termination from here: the thread is then really gone).
    void (*on_reaped)(void *arg);
    void *on_reaped_arg;
    bool interruptible;          // blocked in a wait that thread_interrupt may cut short
    bool interrupted;            // thread_interrupt was called (sticky)
    // Its VMO page allocations may not take the critical band above the pmm's reserve (vm/pmm.h):
    // set for the threads of processes in jobs below the root job; the kernel's own threads and
    // the root job's processes (userboot and the programs it starts) keep it false.
    bool alloc_ordinary;
    // The last user page fault vm_fault could not resolve (arch faults.c): CR2 and vm_fault's
    // status, for the exception report.
    uint64_t user_fault_addr;
    zx_status_t user_fault_status;
#if JASPER_LOCKDEP
    struct lockdep_held lockdep_held;  // the mutexes this thread holds (kernel/lockdep.h)
#endif
};

// Sets up the scheduler on the boot CPU (CPU 0): the boot code becomes the first thread (pinned
// to CPU 0), plus CPU 0's idle thread and the reaper thread.
void sched_init(void);
// Starts the timer tick and preemption; interrupts are enabled from here on.
void sched_start_preemption(void);
// The AP bring-up's last step, on the AP itself (GS, GDT/TSS, LAPIC ready; interrupts off; after
// sched_init on the boot CPU): makes this CPU's idle thread and starts scheduling here. The boot
// stack it was called on is abandoned.
NORETURN void sched_enter_ap(void);
// The reschedule IPI's handler calls this (interrupt context, interrupts off, after the EOI: the
// thread may resume on another CPU): switch if this CPU was asked to.
void sched_ipi_reschedule(void);
// CPUs that have entered the scheduler (1 until APs arrive).
uint32_t sched_cpus_online(void);

// Per-CPU counters for tests and docs (not exact while the CPU runs).
struct sched_cpu_stats {
    uint64_t switches;   // context switches on this CPU
    uint64_t steals;     // threads this CPU took from another CPU's queue
    uint64_t ipis_sent;  // reschedule IPIs sent to this CPU
    uint32_t queued;     // run queue length now
};
void sched_get_cpu_stats(uint32_t cpu, struct sched_cpu_stats *out);

// Creates a thread that will run entry(arg); start it with thread_start. Returns NULL when out of
// memory. The creator holds one reference (thread_release).
struct thread *thread_create(const char *name, thread_entry_fn entry, void *arg) MUST_USE;
// Restricts a created (not yet started) thread to the CPUs in `mask` (not 0). If none of them is
// online when it becomes ready, it waits on the queue of the lowest one until that CPU arrives.
void thread_set_affinity(struct thread *t, uint64_t mask);
// Makes a created thread runnable, on an idle CPU if there is one (sending it an IPI).
void thread_start(struct thread *t);
// Ends the calling thread with `code` (returning from the entry function does the same).
NORETURN void thread_exit(int code);
// Waits until `t` has died and been reaped (its stack freed; or the deadline passes:
// ZX_ERR_TIMED_OUT) and stores its exit code.
zx_status_t thread_join(struct thread *t, int *out_code, zx_time_t deadline) MUST_USE;
// Marks `t` interrupted: an interruptible wait it is in (or enters later) ends with
// ZX_ERR_CANCELED; if it runs on another CPU, that CPU gets a reschedule IPI so that it passes
// through a kernel exit soon. Used to stop the threads of a process being killed.
void thread_interrupt(struct thread *t);
// Drops a reference; the thread's memory goes once it is dead and unreferenced.
void thread_retain(struct thread *t);
void thread_release(struct thread *t);

struct thread *thread_current(void);
// Whether the current thread may take VMO pages from the critical band above the pmm's reserve
// (!alloc_ordinary; also true before the scheduler runs). For vm/pmm.c.
bool thread_current_alloc_critical(void);
// Gives the CPU to the next ready thread, if any.
void thread_yield(void);
// Sleeps until the monotonic clock reaches `deadline` (ns). Interruptible: returns
// ZX_ERR_CANCELED if thread_interrupt cut it short, ZX_OK otherwise.
zx_status_t thread_sleep_until(zx_time_t deadline);
zx_time_t current_time(void);

// The scheduler lock. Named here only so that clang's analysis can check REQUIRES(sched_lock)
// in every file; take it with sched_lock_irqsave, never directly.
extern struct spinlock sched_lock;

// Wait queues. Blocks the calling thread on `wq` until woken (returns the waker's status) or the
// deadline passes (ZX_ERR_TIMED_OUT). `lock_state` is the interrupt state returned by
// sched_lock_irqsave: the caller holds the scheduler lock, checks its condition, then blocks; the
// lock is released while blocked and held again on return.
void wait_queue_init(struct wait_queue *wq);
zx_status_t wait_queue_block_locked(struct wait_queue *wq, zx_time_t deadline)
    REQUIRES(sched_lock);
// The same, but thread_interrupt ends the wait with ZX_ERR_CANCELED (also if it came before).
zx_status_t wait_queue_block_interruptible_locked(struct wait_queue *wq, zx_time_t deadline)
    REQUIRES(sched_lock);
// Wakes every waiter with `status`; returns how many. Caller holds the scheduler lock.
size_t wait_queue_wake_all_locked(struct wait_queue *wq, zx_status_t status) REQUIRES(sched_lock);
// How many threads are blocked on wq now.
size_t wait_queue_length_locked(const struct wait_queue *wq) REQUIRES(sched_lock);
// Wakes the longest waiter with `status`; returns 1, or 0 if none waits. Caller holds the
// scheduler lock.
size_t wait_queue_wake_one_locked(struct wait_queue *wq, zx_status_t status) REQUIRES(sched_lock);
// Takes the scheduler lock, for callers of the *_locked wait-queue functions.
uint64_t sched_lock_irqsave(void) ACQUIRE(sched_lock);
void sched_unlock_irqrestore(uint64_t state) RELEASE(sched_lock);
// True if this CPU holds the scheduler lock (for ASSERTs in *_locked callers of the above).
bool sched_lock_held(void);

// Threads alive (not yet freed), for leak checks; idle threads and the reaper do not count.
size_t thread_count(void);

#endif  // KERNEL_THREAD_H
