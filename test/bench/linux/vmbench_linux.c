// The Linux side of the VM benchmarks: the same workloads as test/bench/vmbench.c, on Linux's
// own primitives (anonymous mmap, fork, mprotect), printing the same lines:
//     bench NAME ns_per_op=MEDIAN min=MIN max=MAX ops=OPS
// Built static with the host gcc by scripts/bench-vs-linux and run as the only program of a tiny
// initramfs, in the same QEMU machine as Jasper (TCG, -icount shift=0: one ns per guest
// instruction, so the figures repeat exactly).
//
// Every anonymous region is madvise(MADV_NOHUGEPAGE): Debian's kernel enables transparent huge
// pages, and Jasper maps user memory with 4 KiB pages, so the comparison is page fault for page
// fault. Exits 1 on any failure.
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/userfaultfd.h>
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static uint64_t vmb_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

#include "../vmbench_common.h"

static void fail(const char *what) {
    perror(what);
    printf("bench: error: %s\n", what);
    exit(1);
}

// A fresh private anonymous read-write region of `bytes`, 4 KiB pages only.
static char *region_new(size_t bytes) {
    void *p = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED)
        fail("mmap");
    if (madvise(p, bytes, MADV_NOHUGEPAGE) != 0)
        fail("madvise");
    return p;
}

static void region_free(char *p, size_t bytes) {
    if (munmap(p, bytes) != 0)
        fail("munmap");
}

// A region of `bytes` with every page committed and holding non-zero data.
static char *region_filled(size_t bytes) {
    char *p = region_new(bytes);
    vmb_stosq(p, 0x5a5a5a5a5a5a5a5aull, bytes / 8);
    return p;
}

static void bench_zero_fill_fault(void) {
    uint64_t s[VMB_RUNS];
    for (int r = 0; r < VMB_RUNS; r++) {
        char *p = region_new(VMB_64M);
        uint64_t t0 = vmb_now();
        vmb_touch_write(p, VMB_64M);
        s[r] = vmb_now() - t0;
        region_free(p, VMB_64M);
    }
    vmb_report("zero_fill_fault", VMB_PAGES_64M, s, VMB_RUNS);
}

static void bench_zero_page_read(void) {
    uint64_t s[VMB_RUNS];
    unsigned sum = 0;
    for (int r = 0; r < VMB_RUNS; r++) {
        char *p = region_new(VMB_64M);
        uint64_t t0 = vmb_now();
        sum += vmb_touch_read(p, VMB_64M);
        s[r] = vmb_now() - t0;
        region_free(p, VMB_64M);
    }
    if (sum != 0)
        fail("zero_page_read: fresh memory is not zero");
    vmb_report("zero_page_read", VMB_PAGES_64M, s, VMB_RUNS);
}

// A page shared with the children, where each child leaves its figure.
static volatile uint64_t *shared_result;

static void bench_cow_fault(void) {
    uint64_t s[VMB_RUNS];
    char *p = region_filled(VMB_64M);
    for (int r = 0; r < VMB_RUNS; r++) {
        *shared_result = 0;
        fflush(stdout);
        pid_t pid = fork();
        if (pid < 0)
            fail("fork");
        if (pid == 0) {
            uint64_t t0 = vmb_now();
            vmb_touch_write(p, VMB_64M);
            *shared_result = vmb_now() - t0;
            _exit(0);
        }
        int status;
        if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
            fail("cow_fault: child");
        s[r] = *shared_result;
    }
    region_free(p, VMB_64M);
    vmb_report("cow_fault", VMB_PAGES_64M, s, VMB_RUNS);
}

// fork + wait of a process with `bytes` resident (the child exits at once).
static void bench_snapshot(const char *name, size_t bytes) {
    uint64_t s[VMB_RUNS];
    char *p = region_filled(bytes);
    fflush(stdout);
    for (int r = 0; r < VMB_RUNS; r++) {
        uint64_t t0 = vmb_now();
        pid_t pid = fork();
        if (pid < 0)
            fail("fork");
        if (pid == 0)
            _exit(0);
        int status;
        if (waitpid(pid, &status, 0) != pid)
            fail("snapshot: wait");
        s[r] = vmb_now() - t0;
    }
    region_free(p, bytes);
    vmb_report(name, 1, s, VMB_RUNS);
}

static void bench_map_unmap_page(void) {
    uint64_t s[VMB_RUNS];
    for (int r = 0; r < VMB_RUNS; r++) {
        uint64_t t0 = vmb_now();
        for (unsigned i = 0; i < VMB_MAP_OPS; i++) {
            void *p = mmap(NULL, VMB_PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
                           -1, 0);
            if (p == MAP_FAILED)
                fail("mmap");
            if (munmap(p, VMB_PAGE) != 0)
                fail("munmap");
        }
        s[r] = vmb_now() - t0;
    }
    vmb_report("map_unmap_page", VMB_MAP_OPS, s, VMB_RUNS);
}

// One sample: read-write -> read-only -> read-write over 64 MiB of committed pages; an op is one
// page changed once.
static void bench_protect_64m(void) {
    uint64_t s[VMB_RUNS];
    char *p = region_filled(VMB_64M);
    for (int r = 0; r < VMB_RUNS; r++) {
        uint64_t t0 = vmb_now();
        if (mprotect(p, VMB_64M, PROT_READ) != 0)
            fail("mprotect");
        if (mprotect(p, VMB_64M, PROT_READ | PROT_WRITE) != 0)
            fail("mprotect");
        s[r] = vmb_now() - t0;
    }
    region_free(p, VMB_64M);
    vmb_report("protect_64m", 2 * VMB_PAGES_64M, s, VMB_RUNS);
}

static void bench_null_syscall(void) {
    uint64_t s[VMB_RUNS];
    for (int r = 0; r < VMB_RUNS; r++) {
        uint64_t t0 = vmb_now();
        for (unsigned i = 0; i < VMB_SYSCALL_OPS; i++)
            syscall(SYS_getppid);
        s[r] = vmb_now() - t0;
    }
    vmb_report("null_syscall", VMB_SYSCALL_OPS, s, VMB_RUNS);
}

static void bench_memset_memcpy_4k(void) {
    uint64_t s[VMB_RUNS];
    // Three committed pages; source and destination one page apart (never congruent modulo
    // 2 MiB, which QEMU's TLB handles badly in wall time).
    char *p = region_filled(3 * VMB_PAGE);
    for (int r = 0; r < VMB_RUNS; r++) {
        uint64_t t0 = vmb_now();
        for (unsigned i = 0; i < VMB_MEM_OPS; i++)
            vmb_stosq(p, 0, VMB_PAGE / 8);
        s[r] = vmb_now() - t0;
    }
    vmb_report("memset_4k", VMB_MEM_OPS, s, VMB_RUNS);
    for (int r = 0; r < VMB_RUNS; r++) {
        uint64_t t0 = vmb_now();
        for (unsigned i = 0; i < VMB_MEM_OPS; i++)
            vmb_movsq(p + VMB_PAGE, p, VMB_PAGE / 8);
        s[r] = vmb_now() - t0;
    }
    vmb_report("memcpy_4k", VMB_MEM_OPS, s, VMB_RUNS);
    region_free(p, 3 * VMB_PAGE);
}

// map_unmap_page with `n` one-page mappings present (alternately read-only and read-write, so
// that Linux cannot merge neighbours into one VMA).
static void bench_map_unmap_with(const char *name, unsigned n) {
    static void *others[10000];
    uint64_t s[VMB_RUNS];
    for (unsigned i = 0; i < n; i++) {
        others[i] = mmap(NULL, VMB_PAGE, (i & 1) ? PROT_READ : PROT_READ | PROT_WRITE,
                         MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (others[i] == MAP_FAILED)
            fail("mmap other");
    }
    for (int r = 0; r < VMB_RUNS; r++) {
        uint64_t t0 = vmb_now();
        for (unsigned i = 0; i < VMB_MAP_OPS; i++) {
            void *p = mmap(NULL, VMB_PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
                           -1, 0);
            if (p == MAP_FAILED)
                fail("mmap");
            if (munmap(p, VMB_PAGE) != 0)
                fail("munmap");
        }
        s[r] = vmb_now() - t0;
    }
    for (unsigned i = 0; i < n; i++)
        region_free(others[i], VMB_PAGE);
    vmb_report(name, VMB_MAP_OPS, s, VMB_RUNS);
}

// Faults at the end of a chain of `depth` processes, each forked by the one before: the first
// fills the region; the process at depth - 1 forks one leaf per run, which reads one byte per
// page and then writes one and leaves its two figures in the shared page.
static volatile uint64_t *shared_chain;  // [2 * run] read, [2 * run + 1] write

static void chain_leaves(char *p) {
    for (int r = 0; r < VMB_CHAIN_RUNS; r++) {
        pid_t pid = fork();
        if (pid < 0)
            fail("fork leaf");
        if (pid == 0) {
            uint64_t t0 = vmb_now();
            unsigned sum = vmb_touch_read(p, VMB_CHAIN_BYTES);
            shared_chain[2 * r] = vmb_now() - t0;
            t0 = vmb_now();
            vmb_touch_write(p, VMB_CHAIN_BYTES);
            shared_chain[2 * r + 1] = vmb_now() - t0;
            _exit(sum == 0x5a * (VMB_CHAIN_BYTES / VMB_PAGE) && p[1] == 0x5a ? 0 : 1);
        }
        int status;
        if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
            fail("chain: leaf");
    }
}

// Runs in the process at `level` of the chain (0: the benchmark itself).
static void chain_level(char *p, unsigned level, unsigned depth) {
    // Every level but the first writes a byte of its own, as every snapshot of Jasper's chain
    // does (the same value, so the leaf reads what the first one filled).
    if (level > 0)
        p[VMB_CHAIN_BYTES - VMB_PAGE] = 0x5a;
    if (level + 1 == depth) {
        chain_leaves(p);
        return;
    }
    pid_t pid = fork();
    if (pid < 0)
        fail("fork chain");
    if (pid == 0) {
        chain_level(p, level + 1, depth);
        _exit(0);
    }
    int status;
    if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
        fail("chain: level");
}

static void bench_chain(unsigned depth, const char *rname, const char *wname) {
    uint64_t rs[VMB_CHAIN_RUNS], ws[VMB_CHAIN_RUNS];
    char *p = region_filled(VMB_CHAIN_BYTES);
    fflush(stdout);
    chain_level(p, 0, depth);
    for (int r = 0; r < VMB_CHAIN_RUNS; r++) {
        rs[r] = shared_chain[2 * r];
        ws[r] = shared_chain[2 * r + 1];
    }
    region_free(p, VMB_CHAIN_BYTES);
    vmb_report(rname, VMB_CHAIN_BYTES / VMB_PAGE, rs, VMB_CHAIN_RUNS);
    vmb_report(wname, VMB_CHAIN_BYTES / VMB_PAGE, ws, VMB_CHAIN_RUNS);
}

// fork + _exit + waitpid of a process with nothing but the benchmark mapped.
static void bench_proc_minimal(void) {
    uint64_t s[VMB_RUNS];
    fflush(stdout);
    for (int r = 0; r < VMB_RUNS; r++) {
        uint64_t t0 = vmb_now();
        for (unsigned i = 0; i < VMB_PROC_OPS; i++) {
            pid_t pid = fork();
            if (pid < 0)
                fail("fork");
            if (pid == 0)
                _exit(0);
            int status;
            if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) || WEXITSTATUS(status))
                fail("proc_minimal: wait");
        }
        s[r] = vmb_now() - t0;
    }
    vmb_report("proc_minimal", VMB_PROC_OPS, s, VMB_RUNS);
}

// posix_spawn of this (static) program with the argument "exit" + waitpid.
static void bench_proc_elf(const char *self) {
    uint64_t s[VMB_RUNS];
    char *const argv[] = {(char *)self, "exit", NULL};
    char *const envp[] = {NULL};
    fflush(stdout);
    for (int r = 0; r < VMB_RUNS; r++) {
        uint64_t t0 = vmb_now();
        for (unsigned i = 0; i < VMB_PROC_OPS; i++) {
            pid_t pid;
            if (posix_spawn(&pid, self, NULL, NULL, argv, envp) != 0)
                fail("posix_spawn");
            int status;
            if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) || WEXITSTATUS(status))
                fail("proc_elf: wait");
        }
        s[r] = vmb_now() - t0;
    }
    vmb_report("proc_elf", VMB_PROC_OPS, s, VMB_RUNS);
}

// pread / pwrite of `len` bytes between a filled tmpfs file (memfd) and a committed buffer.
static void bench_file_rw(size_t len, unsigned ops, const char *rname, const char *wname) {
    static char buf[VMB_RW_MAX] __attribute__((aligned(4096)));
    uint64_t rs[VMB_RUNS], ws[VMB_RUNS];
    int fd = memfd_create("vmbench", 0);
    if (fd < 0)
        fail("memfd_create");
    memset(buf, 0x5a, sizeof(buf));
    if (pwrite(fd, buf, VMB_RW_MAX, 0) != (ssize_t)VMB_RW_MAX)
        fail("pwrite fill");
    vmb_stosq(buf, 0x1111111111111111ull, sizeof(buf) / 8);
    for (int r = 0; r < VMB_RUNS; r++) {
        uint64_t t0 = vmb_now();
        for (unsigned i = 0; i < ops; i++)
            if (pread(fd, buf, len, 0) != (ssize_t)len)
                fail("pread");
        rs[r] = vmb_now() - t0;
    }
    if (buf[len - 1] != 0x5a)
        fail("pread: wrong data");
    for (int r = 0; r < VMB_RUNS; r++) {
        uint64_t t0 = vmb_now();
        for (unsigned i = 0; i < ops; i++)
            if (pwrite(fd, buf, len, 0) != (ssize_t)len)
                fail("pwrite");
        ws[r] = vmb_now() - t0;
    }
    close(fd);
    vmb_report(rname, ops, rs, VMB_RUNS);
    vmb_report(wname, ops, ws, VMB_RUNS);
}

// 64 MiB written from start to end through a fresh anonymous mapping, from mmap to munmap; with
// `prefault`, mmap(MAP_POPULATE).
static void bench_seq_write(const char *name, bool prefault) {
    uint64_t s[VMB_RUNS];
    for (int r = 0; r < VMB_RUNS; r++) {
        uint64_t t0 = vmb_now();
        void *p = mmap(NULL, VMB_64M, PROT_READ | PROT_WRITE,
                       MAP_PRIVATE | MAP_ANONYMOUS | (prefault ? MAP_POPULATE : 0), -1, 0);
        if (p == MAP_FAILED)
            fail("mmap");
        vmb_stosq(p, 0x0101010101010101ull, VMB_64M / 8);
        region_free(p, VMB_64M);
        s[r] = vmb_now() - t0;
    }
    vmb_report(name, VMB_PAGES_64M, s, VMB_RUNS);
}

// The port workloads' Linux counterparts: an eventfd watched by epoll (see test/bench/vmbench.c).
static void bench_port_roundtrips(void) {
    uint64_t s[VMB_RUNS];
    int efd = eventfd(0, EFD_NONBLOCK), ep = epoll_create1(0);
    if (efd < 0 || ep < 0)
        fail("eventfd/epoll_create1");
    struct epoll_event ev = {.events = EPOLLIN}, got;
    if (epoll_ctl(ep, EPOLL_CTL_ADD, efd, &ev) != 0)
        fail("epoll_ctl add");
    uint64_t one = 1, v;
    for (int r = 0; r < VMB_RUNS; r++) {
        uint64_t t0 = vmb_now();
        for (unsigned i = 0; i < VMB_PORT_OPS; i++) {
            if (write(efd, &one, 8) != 8 || epoll_wait(ep, &got, 1, -1) != 1 ||
                read(efd, &v, 8) != 8)
                fail("port_roundtrip");
        }
        s[r] = vmb_now() - t0;
    }
    vmb_report("port_roundtrip", VMB_PORT_OPS, s, VMB_RUNS);
    ev.events = EPOLLIN | EPOLLONESHOT;
    for (int r = 0; r < VMB_RUNS; r++) {
        uint64_t t0 = vmb_now();
        for (unsigned i = 0; i < VMB_PORT_OPS; i++) {
            if (epoll_ctl(ep, EPOLL_CTL_MOD, efd, &ev) != 0 || write(efd, &one, 8) != 8 ||
                epoll_wait(ep, &got, 1, -1) != 1 || read(efd, &v, 8) != 8)
                fail("async_roundtrip");
        }
        s[r] = vmb_now() - t0;
    }
    vmb_report("async_roundtrip", VMB_PORT_OPS, s, VMB_RUNS);
    close(ep);
    close(efd);
}

// The Linux counterparts of Jasper's map_range_4m / op_map_range_4m / fault_around_4m /
// commit_4m: a filled 4 MiB tmpfs file (memfd) mapped shared with MAP_POPULATE (the mmap timed);
// madvise(MADV_POPULATE_READ) over a mapping made before; a read of one byte per page through a
// fresh mapping (shmem faults around too, 64 KiB by default); fallocate of a fresh memfd.
#ifndef MADV_POPULATE_READ
#define MADV_POPULATE_READ 22
#endif
static void bench_map_present(const char *name, int kind) {
    uint64_t s[VMB_RUNS];
    int fd = memfd_create("vmbench_present", 0);
    if (fd < 0 || ftruncate(fd, VMB_4M) != 0)
        fail("memfd_create");
    char *w = mmap(NULL, VMB_4M, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (w == MAP_FAILED)
        fail("mmap memfd");
    vmb_stosq(w, 0x5a5a5a5a5a5a5a5aull, VMB_4M / 8);
    unsigned sum = 0;
    for (int r = 0; r < VMB_RUNS; r++) {
        uint64_t t0, t1;
        if (kind == 3) {
            int f2 = memfd_create("vmbench_commit", 0);
            if (f2 < 0)
                fail("memfd_create");
            t0 = vmb_now();
            if (fallocate(f2, 0, 0, VMB_4M) != 0)
                fail("fallocate");
            t1 = vmb_now();
            close(f2);
            s[r] = t1 - t0;
            continue;
        }
        t0 = vmb_now();
        char *p = mmap(NULL, VMB_4M, PROT_READ | PROT_WRITE,
                       MAP_SHARED | (kind == 0 ? MAP_POPULATE : 0), fd, 0);
        if (p == MAP_FAILED)
            fail("mmap");
        if (kind != 0)
            t0 = vmb_now();
        if (kind == 1 && madvise(p, VMB_4M, MADV_POPULATE_READ) != 0)
            fail("madvise populate_read");
        if (kind == 2)
            sum += vmb_touch_read(p, VMB_4M);
        t1 = vmb_now();
        if (kind != 2)
            sum += vmb_touch_read(p, VMB_4M);
        region_free(p, VMB_4M);
        s[r] = t1 - t0;
    }
    if (kind != 3 && sum != 0x5a * (VMB_4M / VMB_PAGE) * (unsigned)VMB_RUNS)
        fail("map_present: read wrong data");
    region_free(w, VMB_4M);
    close(fd);
    vmb_report(name, VMB_4M / VMB_PAGE, s, VMB_RUNS);
}

// The pager workloads' Linux counterparts (see test/bench/vmbench.c): userfaultfd on an anonymous
// region, a handler thread that read()s each fault and answers with UFFDIO_COPY of `batch` pages
// (clipped to the region) from a source buffer.
static char uffd_src[VMB_PAGER_BATCH * VMB_PAGE] __attribute__((aligned(4096)));
struct uffd_bench {
    int uffd;
    char *volatile base;
    unsigned batch;
};

static void *uffd_thread(void *arg) {
    struct uffd_bench *b = arg;
    for (;;) {
        struct uffd_msg msg;
        if (read(b->uffd, &msg, sizeof(msg)) != (ssize_t)sizeof(msg))
            fail("userfaultfd read");
        if (msg.event != UFFD_EVENT_PAGEFAULT)
            continue;
        uint64_t off = (msg.arg.pagefault.address & ~(uint64_t)(VMB_PAGE - 1)) - (uint64_t)b->base;
        uint64_t len = (uint64_t)b->batch * VMB_PAGE;
        if (off + len > (uint64_t)VMB_PAGER_PAGES * VMB_PAGE)
            len = (uint64_t)VMB_PAGER_PAGES * VMB_PAGE - off;
        struct uffdio_copy c = {
            .dst = (uint64_t)b->base + off, .src = (uint64_t)uffd_src, .len = len, .mode = 0};
        if (ioctl(b->uffd, UFFDIO_COPY, &c) != 0 && errno != EEXIST)
            fail("UFFDIO_COPY");
    }
    return NULL;
}

static void bench_uffd(const char *name, unsigned batch) {
    uint64_t s[VMB_RUNS];
    const size_t bytes = (size_t)VMB_PAGER_PAGES * VMB_PAGE;
    // The handler thread outlives this call (blocked in read() until the program exits), so its
    // state does too.
    struct uffd_bench *b = calloc(1, sizeof(*b));
    if (!b)
        fail("calloc");
    b->batch = batch;
    b->uffd = (int)syscall(SYS_userfaultfd, O_CLOEXEC);
    if (b->uffd < 0)
        fail("userfaultfd");
    struct uffdio_api api = {.api = UFFD_API};
    if (ioctl(b->uffd, UFFDIO_API, &api) != 0)
        fail("UFFDIO_API");
    vmb_stosq(uffd_src, 0x5a5a5a5a5a5a5a5aull, sizeof(uffd_src) / 8);
    pthread_t t;
    int started = 0;
    for (int r = 0; r < VMB_RUNS; r++) {
        char *p = region_new(bytes);
        struct uffdio_register reg = {
            .range = {.start = (uint64_t)p, .len = bytes}, .mode = UFFDIO_REGISTER_MODE_MISSING};
        if (ioctl(b->uffd, UFFDIO_REGISTER, &reg) != 0)
            fail("UFFDIO_REGISTER");
        b->base = p;
        if (!started && pthread_create(&t, NULL, uffd_thread, b) != 0)
            fail("pthread_create");
        started = 1;
        uint64_t t0 = vmb_now();
        unsigned sum = vmb_touch_read(p, bytes);
        s[r] = vmb_now() - t0;
        if (sum != VMB_PAGER_PAGES * 0x5au)
            fail("userfaultfd content");
        region_free(p, bytes);
    }
    vmb_report(name, VMB_PAGER_PAGES, s, VMB_RUNS);
}

// vmbench PREFIX...: only the workloads (groups, named by their first workload) whose name starts
// with one of the prefixes; no prefix: all of them.
static bool want(int argc, char **argv, const char *name) {
    bool run = argc < 2;
    for (int a = 1; a < argc && !run; a++)
        run = strncmp(name, argv[a], strlen(argv[a])) == 0;
    return run;
}

int main(int argc, char **argv) {
    // proc_elf spawns this program with "exit": return at once.
    if (argc > 1 && strcmp(argv[1], "exit") == 0)
        return 0;
    setvbuf(stdout, NULL, _IOLBF, 0);
    void *page = mmap(NULL, VMB_PAGE, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (page == MAP_FAILED)
        fail("mmap shared");
    shared_result = page;
    shared_chain = (volatile uint64_t *)page + 1;

    bench_zero_fill_fault();
    bench_zero_page_read();
    bench_cow_fault();
    bench_snapshot("snapshot_4m", VMB_4M);
    bench_snapshot("snapshot_64m", VMB_64M);
    bench_map_unmap_page();
    bench_protect_64m();
    bench_null_syscall();
    bench_memset_memcpy_4k();
    bench_port_roundtrips();
    bench_map_unmap_with("map_unmap_10", 10);
    bench_map_unmap_with("map_unmap_1000", 1000);
    bench_map_unmap_with("map_unmap_10000", 10000);
    bench_chain(1, "chain_read_d1", "chain_cow_d1");
    bench_chain(10, "chain_read_d10", "chain_cow_d10");
    bench_chain(100, "chain_read_d100", "chain_cow_d100");
    bench_chain(1000, "chain_read_d1000", "chain_cow_d1000");
    bench_proc_minimal();
    bench_proc_elf(argv[0]);
    bench_file_rw(VMB_PAGE, VMB_RW_OPS_4K, "vmo_read_4k", "vmo_write_4k");
    bench_file_rw(VMB_RW_MAX, VMB_RW_OPS_1M, "vmo_read_1m", "vmo_write_1m");
    bench_seq_write("seq_write_64m", false);
    if (want(argc, argv, "zero_fill_fault"))
        bench_zero_fill_fault();
    if (want(argc, argv, "zero_page_read"))
        bench_zero_page_read();
    if (want(argc, argv, "cow_fault"))
        bench_cow_fault();
    if (want(argc, argv, "snapshot_4m"))
        bench_snapshot("snapshot_4m", VMB_4M);
    if (want(argc, argv, "snapshot_64m"))
        bench_snapshot("snapshot_64m", VMB_64M);
    if (want(argc, argv, "map_unmap_page"))
        bench_map_unmap_page();
    if (want(argc, argv, "protect_64m"))
        bench_protect_64m();
    if (want(argc, argv, "null_syscall"))
        bench_null_syscall();
    if (want(argc, argv, "memset_memcpy_4k"))
        bench_memset_memcpy_4k();
    if (want(argc, argv, "port_roundtrip"))
        bench_port_roundtrips();
    if (want(argc, argv, "map_unmap_10"))
        bench_map_unmap_with("map_unmap_10", 10);
    if (want(argc, argv, "map_unmap_1000"))
        bench_map_unmap_with("map_unmap_1000", 1000);
    if (want(argc, argv, "map_unmap_10000"))
        bench_map_unmap_with("map_unmap_10000", 10000);
    if (want(argc, argv, "chain_read_d1"))
        bench_chain(1, "chain_read_d1", "chain_cow_d1");
    if (want(argc, argv, "chain_read_d10"))
        bench_chain(10, "chain_read_d10", "chain_cow_d10");
    if (want(argc, argv, "chain_read_d100"))
        bench_chain(100, "chain_read_d100", "chain_cow_d100");
    if (want(argc, argv, "chain_read_d1000"))
        bench_chain(1000, "chain_read_d1000", "chain_cow_d1000");
    if (want(argc, argv, "proc_minimal"))
        bench_proc_minimal();
    if (want(argc, argv, "proc_elf"))
        bench_proc_elf(argv[0]);
    if (want(argc, argv, "vmo_read_4k"))
        bench_file_rw(VMB_PAGE, VMB_RW_OPS_4K, "vmo_read_4k", "vmo_write_4k");
    if (want(argc, argv, "vmo_read_1m"))
        bench_file_rw(VMB_RW_MAX, VMB_RW_OPS_1M, "vmo_read_1m", "vmo_write_1m");
    if (want(argc, argv, "seq_write_64m"))
        bench_seq_write("seq_write_64m", false);
    if (want(argc, argv, "seq_write_64m_prefault"))
        bench_seq_write("seq_write_64m_prefault", true);
    if (want(argc, argv, "pager_fault"))
        bench_uffd("pager_fault", 1);
    if (want(argc, argv, "pager_fault_64"))
        bench_uffd("pager_fault_64", VMB_PAGER_BATCH);
    if (want(argc, argv, "map_range_4m"))
        bench_map_present("map_range_4m", 0);
    if (want(argc, argv, "op_map_range_4m"))
        bench_map_present("op_map_range_4m", 1);
    if (want(argc, argv, "fault_around_4m"))
        bench_map_present("fault_around_4m", 2);
    if (want(argc, argv, "commit_4m"))
        bench_map_present("commit_4m", 3);
    printf("bench: done\n");
    return 0;
}
