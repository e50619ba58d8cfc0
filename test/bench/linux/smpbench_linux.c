// The Linux side of the four-CPU benchmarks (scripts/bench-vs-linux --smp4): the workloads of
// test/bench/smpbench.c on Linux's primitives, printing the same lines plus, for the range
// workloads, "ipis NAME total=N ops=OPS": the TLB shootdown IPIs the timed calls caused, summed
// over every CPU's count in the "TLB:" line of /proc/interrupts (read before and after each call,
// outside the timing).
//   unmap/protect: a memfd of 512 pages, filled once (its pages stay in the page cache, as a
//     committed VMO's stay in the VMO); each call maps P pages of it MAP_SHARED, writes each page,
//     and times munmap, or mprotect(PROT_READ) (then munmaps untimed);
//   fault_Tt: T threads write one byte per page of their own 16 MiB of one 64 MiB
//     MAP_SHARED|MAP_ANONYMOUS mapping (shmem, the shared object closest to a VMO).
// Threads are pinned: the measuring thread to CPU 0, the others to CPUs 1, 2, 3. Built static
// with the host gcc (-pthread) by scripts/bench-vs-linux. Exits 1 on any failure.
#define _GNU_SOURCE
#include <pthread.h>
#include <sched.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

static uint64_t vmb_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

#include "../vmbench_common.h"
#include "../smpbench_common.h"

static uint64_t clock_cost;

static void fail(const char *what) {
    perror(what);
    printf("bench: error: %s\n", what);
    exit(1);
}

static void pin(unsigned cpu) {
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    if (sched_setaffinity(0, sizeof(set), &set) != 0)
        fail("sched_setaffinity");
}

// The sum of every CPU's TLB shootdown count in /proc/interrupts.
static uint64_t tlb_ipis(void) {
    static char buf[16384];
    FILE *f = fopen("/proc/interrupts", "r");
    if (!f)
        fail("/proc/interrupts");
    size_t n = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    buf[n] = 0;
    char *line = strstr(buf, "\n TLB:");
    if (!line)
        line = strstr(buf, "TLB:");
    if (!line)
        fail("no TLB line in /proc/interrupts");
    char *p = strchr(line, ':') + 1;
    uint64_t sum = 0;
    for (;;) {
        char *end;
        unsigned long long v = strtoull(p, &end, 10);
        if (end == p)
            break;
        sum += v;
        p = end;
    }
    return sum;
}

// ---- Threads ----

static volatile uint32_t up, release;

static void *spinner(void *arg) {
    pin((unsigned)(uintptr_t)arg);
    __atomic_fetch_add(&up, 1, __ATOMIC_ACQ_REL);
    smb_spin_until(&release, 1);
    return NULL;
}

// ---- Unmap and protect under spinning threads ----

enum range_op { OP_UNMAP, OP_PROTECT };

static int memfd;
static uint64_t ipis;  // shootdown IPIs of the timed calls so far

static uint64_t range_once(unsigned pages, enum range_op op) {
    size_t bytes = pages * VMB_PAGE;
    char *p = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_SHARED, memfd, 0);
    if (p == MAP_FAILED)
        fail("mmap");
    vmb_touch_write(p, bytes);
    uint64_t i0 = tlb_ipis();
    uint64_t t0 = vmb_now();
    smb_mark(SMB_BEGIN);
    int st = op == OP_UNMAP ? munmap(p, bytes) : mprotect(p, bytes, PROT_READ);
    smb_mark(SMB_END);
    uint64_t dt = vmb_now() - t0;
    ipis += tlb_ipis() - i0;
    if (st != 0)
        fail(op == OP_UNMAP ? "munmap" : "mprotect");
    if (op == OP_PROTECT && munmap(p, bytes) != 0)
        fail("munmap");
    return dt > clock_cost ? dt - clock_cost : 0;
}

static void bench_range(enum range_op op, unsigned pages, unsigned others) {
    pthread_t t[SMB_MAX_OTHERS];
    up = 0;
    release = 0;
    for (unsigned i = 0; i < others; i++)
        if (pthread_create(&t[i], NULL, spinner, (void *)(uintptr_t)(i + 1)) != 0)
            fail("pthread_create");
    smb_spin_until(&up, others);
    uint64_t s[VMB_RUNS];
    unsigned ops = smb_ops(pages);
    ipis = 0;
    for (int r = 0; r < VMB_RUNS; r++) {
        s[r] = 0;
        for (unsigned i = 0; i < ops; i++)
            s[r] += range_once(pages, op);
    }
    smb_mark(SMB_FLUSH);
    release = 1;
    for (unsigned i = 0; i < others; i++)
        pthread_join(t[i], NULL);
    char name[32];
    snprintf(name, sizeof(name), "%s_%up_%uo", op == OP_UNMAP ? "unmap" : "protect", pages,
             others);
    vmb_report(name, ops, s, VMB_RUNS);
    printf("ipis %s total=%llu ops=%u\n", name, (unsigned long long)ipis, VMB_RUNS * ops);
}

// ---- Faults on disjoint ranges ----

static char *fault_base;
static volatile uint32_t go, done;

static void *fault_worker(void *arg) {
    uintptr_t k = (uintptr_t)arg;
    pin((unsigned)k);
    __atomic_fetch_add(&up, 1, __ATOMIC_ACQ_REL);
    smb_spin_until(&go, 1);
    vmb_touch_write(fault_base + k * SMB_FAULT_PAGES * VMB_PAGE, SMB_FAULT_PAGES * VMB_PAGE);
    __atomic_fetch_add(&done, 1, __ATOMIC_ACQ_REL);
    smb_spin_until(&release, 1);
    return NULL;
}

static uint64_t faults_once(unsigned threads) {
    // The same size for every T, so that only the number of threads changes (a 4x larger VMO
    // has a deeper page-list tree: +50 instructions per fault on Jasper).
    size_t bytes = (size_t)SMB_MAX_THREADS * SMB_FAULT_PAGES * VMB_PAGE;
    char *p = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED)
        fail("mmap");
    if (madvise(p, bytes, MADV_NOHUGEPAGE) != 0)
        fail("madvise");
    fault_base = p;
    pthread_t t[SMB_MAX_THREADS];
    up = go = done = release = 0;
    for (unsigned i = 0; i + 1 < threads; i++)
        if (pthread_create(&t[i], NULL, fault_worker, (void *)(uintptr_t)(i + 1)) != 0)
            fail("pthread_create");
    smb_spin_until(&up, threads - 1);
    uint64_t dt = smb_timed_faults(fault_base, &go, &done, threads);
    release = 1;
    for (unsigned i = 0; i + 1 < threads; i++)
        pthread_join(t[i], NULL);
    if (munmap(p, bytes) != 0)
        fail("munmap");
    return dt;
}

static void bench_faults(unsigned threads) {
    uint64_t s[VMB_RUNS];
    for (int r = 0; r < VMB_RUNS; r++)
        s[r] = faults_once(threads);
    smb_mark(SMB_FLUSH);
    char name[16];
    snprintf(name, sizeof(name), "fault_%ut", threads);
    vmb_report(name, (uint64_t)threads * SMB_FAULT_PAGES, s, VMB_RUNS);
}

int main(void) {
    static const unsigned pages[] = {1, 16, SMB_RANGE_PAGES};
    static const unsigned others[] = {0, 1, SMB_MAX_OTHERS};
    static const unsigned threads[] = {1, 2, SMB_MAX_THREADS};
    setvbuf(stdout, NULL, _IOLBF, 0);
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    printf("bench: %ld cpus\n", cpus);
    if (cpus < 4)
        fail("smpbench needs 4 CPUs");
    pin(0);
    clock_cost = smb_clock_cost();
    printf("bench: clock read pair costs %llu ns (taken off each timed call)\n",
           (unsigned long long)clock_cost);
    memfd = memfd_create("smpbench", 0);
    if (memfd < 0 || ftruncate(memfd, SMB_RANGE_PAGES * VMB_PAGE) != 0)
        fail("memfd");
    char *fill = mmap(NULL, SMB_RANGE_PAGES * VMB_PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, memfd,
                      0);
    if (fill == MAP_FAILED)
        fail("mmap memfd");
    vmb_stosq(fill, 0x5a5a5a5a5a5a5a5aull, SMB_RANGE_PAGES * VMB_PAGE / 8);
    munmap(fill, SMB_RANGE_PAGES * VMB_PAGE);
    for (int op = OP_UNMAP; op <= OP_PROTECT; op++)
        for (size_t p = 0; p < 3; p++)
            for (size_t o = 0; o < 3; o++)
                bench_range((enum range_op)op, pages[p], others[o]);
    for (size_t t = 0; t < 3; t++)
        bench_faults(threads[t]);
    printf("bench: done\n");
    return 0;
}
