// Spinlock contention: 1, 2 and 4 CPUs hammer one lock with a short critical section, for each
// algorithm of arch/x86_64/spinlock_algo.h (ticket, test-and-test-and-set, MCS) and for the
// kernel's own spinlock (test-and-test-and-set + holder check; lockdep as built). Every acquisition
// disables interrupts around itself, as the kernel's spinlocks do. For each pair it prints the
// acquisitions per millisecond of the clock, the clock's nanoseconds per acquisition (under
// `-icount shift=0`, guest instructions spent by all CPUs together per acquisition), and the
// acquisitions of the most and the least served CPU (fairness). A counter the critical section
// increments must equal the acquisitions counted: the lock excluded.
//   JASPER_QEMU_SMP=4 scripts/bench spinlock_contention       (icount: instructions)
// and without -icount for wall clock under multi-threaded TCG (docs/smp.md "Locks").
#include "arch/x86_64/cpu.h"
#include "arch/x86_64/smp.h"
#include "arch/x86_64/spinlock_algo.h"
#include "arch/x86_64/timer.h"
#include "kernel/assert.h"
#include "kernel/kbench.h"
#include "kernel/printf.h"
#include "kernel/spinlock.h"
#include "kernel/thread.h"

#define BENCH_CPUS 4
#define WINDOW_NS (50ll * 1000 * 1000)  // each run hammers for this long (clock ns)
#define CHECK_EVERY 16                  // acquisitions between looks at the clock

enum algo { ALGO_TICKET, ALGO_TAS, ALGO_MCS, ALGO_KERNEL, ALGO_COUNT };
static const char *const algo_names[ALGO_COUNT] = {"ticket", "tas", "mcs", "kernel"};

// The lock words, each algorithm's own, and the data the critical section writes (its own line).
static struct {
    uint32_t next, serving;  // ticket
    uint32_t word;           // test-and-test-and-set
    struct mcs_node *tail;   // MCS
} raw ALIGNED(64);
static struct spinlock kernel_lock = SPINLOCK_INIT("bench_spin");
static struct mcs_node mcs_nodes[BENCH_CPUS] ALIGNED(64);
static struct {
    uint64_t a, b;
} shared ALIGNED(64);

struct run {
    enum algo algo;
    uint32_t cpus;
    uint32_t ready;      // workers waiting for `go`
    uint32_t go;         // set once `deadline` is
    zx_time_t start, deadline;
    uint64_t count[BENCH_CPUS] ALIGNED(64);  // acquisitions per CPU (each writes its own)
    zx_time_t stop[BENCH_CPUS];              // when each saw the deadline pass
};

// One acquisition with a critical section of a few instructions on one shared cache line.
static inline void acquire_once(enum algo algo, uint32_t idx) {
    uint64_t flags = irq_save();
    switch (algo) {
    case ALGO_TICKET:
        ticket_acquire(&raw.next, &raw.serving);
        break;
    case ALGO_TAS:
        tas_acquire(&raw.word);
        break;
    case ALGO_MCS:
        mcs_acquire(&raw.tail, &mcs_nodes[idx]);
        break;
    default:
        break;
    }
    shared.a++;
    shared.b += shared.a;
    switch (algo) {
    case ALGO_TICKET:
        ticket_release(&raw.serving);
        break;
    case ALGO_TAS:
        tas_release(&raw.word);
        break;
    case ALGO_MCS:
        mcs_release(&raw.tail, &mcs_nodes[idx]);
        break;
    default:
        break;
    }
    irq_restore(flags);
}

// The kernel's spinlock goes through its own calls (the analysis sees them pair up here).
static inline void acquire_once_kernel(void) {
    irqstate_t s = spin_lock_irqsave(&kernel_lock);
    shared.a++;
    shared.b += shared.a;
    spin_unlock_irqrestore(&kernel_lock, s);
}

static void hammer(struct run *r, uint32_t idx) {
    while (!__atomic_load_n(&r->go, __ATOMIC_ACQUIRE))
        cpu_pause();
    zx_time_t deadline = r->deadline;
    uint64_t n = 0;
    zx_time_t now;
    do {
        for (int i = 0; i < CHECK_EVERY; i++) {
            if (r->algo == ALGO_KERNEL)
                acquire_once_kernel();
            else
                acquire_once(r->algo, idx);
        }
        n += CHECK_EVERY;
    } while ((now = arch_now_ns()) < deadline);
    r->count[idx] = n;
    r->stop[idx] = now;
}

struct worker_arg {
    struct run *run;
    uint32_t idx;
};

static int worker(void *arg) {
    struct worker_arg *w = arg;
    __atomic_fetch_add(&w->run->ready, 1, __ATOMIC_RELEASE);
    hammer(w->run, w->idx);
    return 0;
}

// Runs `algo` on CPUs 0 .. cpus-1 (the caller is the boot thread, pinned to CPU 0) and prints.
static void run_one(enum algo algo, uint32_t cpus) {
    static struct run r;
    static struct worker_arg args[BENCH_CPUS];
    struct thread *threads[BENCH_CPUS] = {0};
    r = (struct run){.algo = algo, .cpus = cpus};
    uint64_t before = shared.a;
    for (uint32_t i = 1; i < cpus; i++) {
        args[i] = (struct worker_arg){&r, i};
        char name[THREAD_NAME_LEN];
        ksnprintf(name, sizeof(name), "spinbench%u", i);
        threads[i] = thread_create(name, worker, &args[i]);
        ASSERT_MSG(threads[i], "bench_spinlock: no memory for worker %u", i);
        thread_set_affinity(threads[i], 1ull << i);
        thread_start(threads[i]);
    }
    // Every worker is on its CPU and spinning on `go` before the clock starts.
    while (__atomic_load_n(&r.ready, __ATOMIC_ACQUIRE) != cpus - 1)
        thread_yield();
    r.start = arch_now_ns();
    r.deadline = r.start + WINDOW_NS;
    __atomic_store_n(&r.go, 1, __ATOMIC_RELEASE);
    hammer(&r, 0);
    for (uint32_t i = 1; i < cpus; i++) {
        ASSERT(thread_join(threads[i], NULL, ZX_TIME_INFINITE) == ZX_OK);
        thread_release(threads[i]);
    }
    uint64_t total = 0, most = 0, least = UINT64_MAX;
    zx_time_t end = r.start;
    for (uint32_t i = 0; i < cpus; i++) {
        total += r.count[i];
        most = MAX(most, r.count[i]);
        least = MIN(least, r.count[i]);
        end = MAX(end, r.stop[i]);
    }
    ASSERT_MSG(shared.a - before == total, "bench_spinlock: %s let %llu increments through for "
               "%llu acquisitions", algo_names[algo], (unsigned long long)(shared.a - before),
               (unsigned long long)total);
    uint64_t elapsed = (uint64_t)(end - r.start);
    kprintf("bench spinlock_%s_cpus%u acq_per_ms=%llu ns_per_acq=%llu most=%llu least=%llu "
            "acq=%llu\n", algo_names[algo], cpus,
            (unsigned long long)(total * 1000000ull / (elapsed ? elapsed : 1)),
            (unsigned long long)(elapsed / (total ? total : 1)), (unsigned long long)most,
            (unsigned long long)least, (unsigned long long)total);
}

KBENCH(spinlock_contention) {
    static const uint32_t cpu_counts[] = {1, 2, 4};
    uint32_t online = smp_cpus_online();
    for (size_t c = 0; c < countof(cpu_counts); c++) {
        uint32_t cpus = cpu_counts[c];
        if (cpus > online || cpus > BENCH_CPUS) {
            kprintf("bench spinlock_cpus%u skipped: %u CPU(s) online\n", cpus, online);
            continue;
        }
        for (int a = 0; a < ALGO_COUNT; a++)
            run_one((enum algo)a, cpus);
    }
}
