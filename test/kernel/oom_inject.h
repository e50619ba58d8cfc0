// Out-of-memory injection for the tests that fail every allocation of an operation in turn
// (cow_oom_test.c, vmar_oom_test.c): page allocations through the pmm everywhere, heap objects
// separately on the host (the kernel heap fails only when it needs a page).
#ifndef TEST_KERNEL_OOM_INJECT_H
#define TEST_KERNEL_OOM_INJECT_H

#include <stddef.h>

#include "vm/pmm.h"
#ifdef JASPER_HOST
#include "test/host/host_env.h"
#endif

enum inject { INJECT_PAGES, INJECT_HEAP };

// The kth allocation of `what` from now, and every one after it, fails until disarm().
static inline void arm(enum inject what, size_t k) {
    if (what == INJECT_PAGES)
        pmm_fail_after(k);
#ifdef JASPER_HOST
    else
        host_alloc_fail_after(k);
#endif
}

static inline void disarm(void) {
    pmm_fail_disarm();
#ifdef JASPER_HOST
    host_alloc_fail_disarm();
#endif
}

#endif  // TEST_KERNEL_OOM_INJECT_H
