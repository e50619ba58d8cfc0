// For kernel tests that need work done on a given CPU (kernel only: threads on CPUs).
#ifndef TEST_KERNEL_CPU_RUN_H
#define TEST_KERNEL_CPU_RUN_H

#include "arch/x86_64/smp.h"
#include "kernel/thread.h"

// Runs fn(arg) in a thread bound to CPU `cpu` (modulo the CPUs online) and waits for it; returns
// its exit code, or -1 if the thread could not be made.
static inline int ktest_run_on_cpu(unsigned cpu, thread_entry_fn fn, void *arg) {
    struct thread *t = thread_create("ktest_on_cpu", fn, arg);
    if (!t)
        return -1;
    thread_set_affinity(t, 1ull << (cpu % smp_cpus_online()));
    thread_start(t);
    int code = -1;
    if (thread_join(t, &code, ZX_TIME_INFINITE) != ZX_OK)
        code = -1;
    thread_release(t);
    return code;
}

#endif  // TEST_KERNEL_CPU_RUN_H
