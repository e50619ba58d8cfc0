// The Jasper side of the four-CPU benchmarks of scripts/bench-vs-linux --smp4 (the Linux side:
// test/bench/linux/smpbench_linux.c, the same loops). Run with -smp 4 under -icount shift=0, one
// ns is one guest instruction of any CPU. Lines:
//     bench NAME ns_per_op=MEDIAN min=MIN max=MAX ops=OPS
// Workloads:
//   unmap_Pp_Oo    zx_vmar_unmap of a mapping of P (1, 16, 512) pages of a committed VMO, every
//                  page touched (written) after the map, while O (0, 1, 3) other threads of the
//                  process spin on other CPUs (ns per unmap);
//   protect_Pp_Oo  the same with zx_vmar_protect read-write -> read-only (ns per protect);
//   fault_Tt       T (1, 2, 4) threads each write one byte per page of its own 16 MiB range of one
//                  fresh 64 MiB VMO mapped once (ns per fault: all threads' time over all their
//                  faults).
// Each timed call is bracketed by the markers of smpbench_common.h, so that test/bench/ipicount.c
// can count the TLB IPIs it caused (Jasper exposes no IPI counter to user mode). The clock read's
// own cost (a syscall here; on Linux a syscall too when, as under TCG with four CPUs, its clock
// source is the HPET) is measured and taken off each timed call.
// Jasper has no thread affinity call: the scheduler puts N runnable threads on N CPUs.
// `smpbench.elf fault T` runs fault_Tt alone (for profiles: test/bench/prof/insnprof.c).
// Returns 1 (after "bench: error: ...") if any call fails, else 0 after "bench: done".
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <zircon/process.h>
#include <zircon/syscalls.h>

static uint64_t vmb_now(void) {
    return (uint64_t)zx_clock_get_monotonic();
}

#include "test/bench/bench_check.h"
#include "test/bench/vmbench_common.h"
#include "test/bench/smpbench_common.h"

#define RW (ZX_VM_PERM_READ | ZX_VM_PERM_WRITE)
#define STACK_SIZE (64ul << 10)

static uint64_t clock_cost;  // ns that one vmb_now() pair adds to a timed call

// ---- Threads ----

struct th {
    zx_handle_t thread, stack_vmo;
    zx_vaddr_t stack;
};

// Starts fn(arg, 0) on a new thread of this process with a 64 KiB stack.
static bool th_spawn(struct th *t, void (*fn)(uintptr_t, uintptr_t), uintptr_t arg) {
    *t = (struct th){0};
    if (check(zx_vmo_create(STACK_SIZE, 0, &t->stack_vmo), "stack vmo_create") ||
        check(zx_vmar_map(zx_vmar_root_self(), RW, 0, t->stack_vmo, 0, STACK_SIZE, &t->stack),
              "stack vmar_map") ||
        check(zx_thread_create(zx_process_self(), "bench", 5, 0, &t->thread), "thread_create"))
        return false;
    // Entered as if called: the stack 8 bytes short of 16-byte alignment.
    return !check(zx_thread_start(t->thread, (uintptr_t)fn, t->stack + STACK_SIZE - 8, arg, 0),
                  "thread_start");
}

static void th_join(struct th *t) {
    if (t->thread)
        check(zx_object_wait_one(t->thread, ZX_THREAD_TERMINATED, ZX_TIME_INFINITE, NULL),
              "wait thread");
    if (t->stack)
        check(zx_vmar_unmap(zx_vmar_root_self(), t->stack, STACK_SIZE), "stack unmap");
    zx_handle_close(t->thread);
    zx_handle_close(t->stack_vmo);
}

static volatile uint32_t up;       // threads that reached their loop
static volatile uint32_t release;  // 1: spinners and fault workers exit

static void spinner(uintptr_t arg, uintptr_t unused) {
    (void)arg, (void)unused;
    __atomic_fetch_add(&up, 1, __ATOMIC_ACQ_REL);
    smb_spin_until(&release, 1);
    zx_thread_exit();
}

// ---- Unmap and protect under spinning threads ----

enum range_op { OP_UNMAP, OP_PROTECT };

// Maps `pages` of `vmo`, writes each page, then times the operation alone. Returns its ns.
static uint64_t range_once(zx_handle_t vmo, unsigned pages, enum range_op op) {
    zx_vaddr_t addr;
    size_t bytes = pages * VMB_PAGE;
    if (check(zx_vmar_map(zx_vmar_root_self(), RW, 0, vmo, 0, bytes, &addr), "vmar_map"))
        return 0;
    vmb_touch_write((char *)addr, bytes);
    uint64_t t0 = vmb_now();
    smb_mark(SMB_BEGIN);
    zx_status_t st = op == OP_UNMAP
                         ? zx_vmar_unmap(zx_vmar_root_self(), addr, bytes)
                         : zx_vmar_protect(zx_vmar_root_self(), ZX_VM_PERM_READ, addr, bytes);
    smb_mark(SMB_END);
    uint64_t dt = vmb_now() - t0;
    check(st, op == OP_UNMAP ? "vmar_unmap" : "vmar_protect");
    if (op == OP_PROTECT)
        check(zx_vmar_unmap(zx_vmar_root_self(), addr, bytes), "vmar_unmap");
    return dt > clock_cost ? dt - clock_cost : 0;
}

static void bench_range(zx_handle_t vmo, enum range_op op, unsigned pages, unsigned others) {
    struct th t[SMB_MAX_OTHERS];
    unsigned started = 0;
    up = 0;
    release = 0;
    while (started < others && th_spawn(&t[started], spinner, started))
        started++;
    if (started == others)
        smb_spin_until(&up, others);
    uint64_t s[VMB_RUNS];
    unsigned ops = smb_ops(pages);
    for (int r = 0; r < VMB_RUNS && !failed; r++) {
        s[r] = 0;
        for (unsigned i = 0; i < ops && !failed; i++)
            s[r] += range_once(vmo, pages, op);
    }
    smb_mark(SMB_FLUSH);
    release = 1;
    for (unsigned i = 0; i < started; i++)
        th_join(&t[i]);
    if (!failed) {
        char name[32];
        snprintf(name, sizeof(name), "%s_%up_%uo", op == OP_UNMAP ? "unmap" : "protect", pages,
                 others);
        vmb_report(name, ops, s, VMB_RUNS);
    }
}

// ---- Faults on disjoint ranges ----

static char *fault_base;
static volatile uint32_t go, done;

static void fault_worker(uintptr_t k, uintptr_t unused) {
    (void)unused;
    __atomic_fetch_add(&up, 1, __ATOMIC_ACQ_REL);
    smb_spin_until(&go, 1);
    vmb_touch_write(fault_base + k * SMB_FAULT_PAGES * VMB_PAGE, SMB_FAULT_PAGES * VMB_PAGE);
    __atomic_fetch_add(&done, 1, __ATOMIC_ACQ_REL);
    smb_spin_until(&release, 1);
    zx_thread_exit();
}

// One run: `threads` threads (this one included) fault their ranges; returns the ns from the
// start signal to the last fault.
static uint64_t faults_once(unsigned threads) {
    // The same size for every T, so that only the number of threads changes (a 4x larger VMO
    // has a deeper page-list tree: +50 instructions per fault on Jasper).
    size_t bytes = (size_t)SMB_MAX_THREADS * SMB_FAULT_PAGES * VMB_PAGE;
    zx_handle_t vmo;
    zx_vaddr_t addr;
    if (check(zx_vmo_create(bytes, 0, &vmo), "vmo_create"))
        return 0;
    if (check(zx_vmar_map(zx_vmar_root_self(), RW, 0, vmo, 0, bytes, &addr), "vmar_map")) {
        zx_handle_close(vmo);
        return 0;
    }
    fault_base = (char *)addr;
    struct th t[SMB_MAX_THREADS];
    unsigned started = 0;
    up = go = done = release = 0;
    while (started < threads - 1 && th_spawn(&t[started], fault_worker, started + 1))
        started++;
    uint64_t dt = 0;
    if (started == threads - 1) {
        smb_spin_until(&up, threads - 1);
        dt = smb_timed_faults(fault_base, &go, &done, threads);
    }
    go = 1;
    release = 1;
    for (unsigned i = 0; i < started; i++)
        th_join(&t[i]);
    check(zx_vmar_unmap(zx_vmar_root_self(), addr, bytes), "vmar_unmap");
    zx_handle_close(vmo);
    return dt;
}

static void bench_faults(unsigned threads) {
    uint64_t s[VMB_RUNS];
    for (int r = 0; r < VMB_RUNS && !failed; r++)
        s[r] = faults_once(threads);
    smb_mark(SMB_FLUSH);
    if (!failed) {
        char name[16];
        snprintf(name, sizeof(name), "fault_%ut", threads);
        vmb_report(name, (uint64_t)threads * SMB_FAULT_PAGES, s, VMB_RUNS);
    }
}

int main(int argc, char **argv) {
    static const unsigned pages[] = {1, 16, SMB_RANGE_PAGES};
    static const unsigned others[] = {0, 1, SMB_MAX_OTHERS};
    static const unsigned threads[] = {1, 2, SMB_MAX_THREADS};
    printf("bench: %u cpus\n", zx_system_get_num_cpus());
    clock_cost = smb_clock_cost();
    printf("bench: clock read pair costs %llu ns (taken off each timed call)\n",
           (unsigned long long)clock_cost);
    if (argc == 3 && !strcmp(argv[1], "fault") && argv[2][0] >= '1' &&
        argv[2][0] <= '0' + SMB_MAX_THREADS && !argv[2][1]) {
        bench_faults((unsigned)(argv[2][0] - '0'));
        if (failed)
            return 1;
        printf("bench: done\n");
        return 0;
    }
    // One committed VMO serves every mapping of the range workloads.
    zx_handle_t vmo;
    if (check(zx_vmo_create(SMB_RANGE_PAGES * VMB_PAGE, 0, &vmo), "vmo_create") ||
        check(zx_vmo_op_range(vmo, ZX_VMO_OP_COMMIT, 0, SMB_RANGE_PAGES * VMB_PAGE, NULL, 0),
              "vmo commit"))
        return 1;
    int any_failed = 0;
    for (int op = OP_UNMAP; op <= OP_PROTECT; op++)
        for (size_t p = 0; p < 3; p++)
            for (size_t o = 0; o < 3; o++) {
                failed = 0;
                bench_range(vmo, (enum range_op)op, pages[p], others[o]);
                any_failed |= failed;
            }
    zx_handle_close(vmo);
    for (size_t t = 0; t < 3; t++) {
        failed = 0;
        bench_faults(threads[t]);
        any_failed |= failed;
    }
    if (any_failed)
        return 1;
    printf("bench: done\n");
    return 0;
}
