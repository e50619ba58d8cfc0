// Linux driver for test/bench/prof/run: the workloads of vmprof.c on Linux (cow: fork, the child
// writes; snapshot: fork + wait), the measured part between prof_begin() and prof_end().
#define _GNU_SOURCE
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

__attribute__((unused)) static uint64_t vmb_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

#include "../vmbench_common.h"

#define SZ (16ul << 20)

void prof_begin(void);
void prof_end(void);
__attribute__((noinline)) void prof_begin(void) {
    __asm__ volatile("nop");
}
__attribute__((noinline)) void prof_end(void) {
    __asm__ volatile("nop");
}

int main(int argc, char **argv) {
    for (int i = 1; i < argc; i++) {
        const char *w = argv[i];
        char *p = mmap(NULL, SZ, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (p == MAP_FAILED)
            return 1;
        madvise(p, SZ, MADV_NOHUGEPAGE);
        if (!strcmp(w, "zero_fill")) {
            prof_begin();
            vmb_touch_write(p, SZ);
            prof_end();
        } else if (!strcmp(w, "zero_read")) {
            prof_begin();
            (void)vmb_touch_read(p, SZ);
            prof_end();
        } else if (!strcmp(w, "cow")) {
            vmb_stosq(p, 0x5a5a5a5a5a5a5a5aull, SZ / 8);
            pid_t pid = fork();
            if (pid == 0) {
                prof_begin();
                vmb_touch_write(p, SZ);
                prof_end();
                _exit(0);
            }
            waitpid(pid, NULL, 0);
        } else if (!strcmp(w, "snapshot")) {
            vmb_stosq(p, 0x5a5a5a5a5a5a5a5aull, SZ / 8);
            prof_begin();
            pid_t pid = fork();
            if (pid == 0)
                _exit(0);
            waitpid(pid, NULL, 0);
            prof_end();
        } else if (!strcmp(w, "syscall")) {
            prof_begin();
            for (int k = 0; k < 4096; k++)
                syscall(SYS_getppid);
            prof_end();
        }
        munmap(p, SZ);
    }
    return 0;
}
