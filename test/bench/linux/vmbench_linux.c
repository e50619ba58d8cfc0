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
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
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

int main(void) {
    setvbuf(stdout, NULL, _IOLBF, 0);
    void *page = mmap(NULL, VMB_PAGE, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (page == MAP_FAILED)
        fail("mmap shared");
    shared_result = page;

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
    printf("bench: done\n");
    return 0;
}
