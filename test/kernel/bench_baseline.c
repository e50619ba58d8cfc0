// Baseline benchmarks: the physical limits every fault path is compared against (a page of
// zeroing and of copying) and the pmm's own costs.
#include "kernel/kbench.h"
#include "kernel/string.h"
#include "vm/pmm.h"

KBENCH(page_zero_4k) {
    enum { N = 256 };
    vm_page_t *p = pmm_alloc_page(PAGE_STATE_WIRED);
    if (!p)
        return;
    uint64_t samples[KBENCH_RUNS];
    for (int r = 0; r < KBENCH_RUNS; r++) {
        uint64_t t0 = kbench_now();
        for (int i = 0; i < N; i++)
            page_zero(vm_page_kva(p));
        samples[r] = kbench_now() - t0;
    }
    kbench_report("page_zero_4k", N, samples, KBENCH_RUNS);
    pmm_free_page(p);
}

KBENCH(page_copy_4k) {
    enum { N = 256 };
    vm_page_t *a = pmm_alloc_page(PAGE_STATE_WIRED);
    vm_page_t *b = pmm_alloc_page(PAGE_STATE_WIRED);
    if (a && b) {
        uint64_t samples[KBENCH_RUNS];
        for (int r = 0; r < KBENCH_RUNS; r++) {
            uint64_t t0 = kbench_now();
            for (int i = 0; i < N; i++)
                page_copy(vm_page_kva(a), vm_page_kva(b));
            samples[r] = kbench_now() - t0;
        }
        kbench_report("page_copy_4k", N, samples, KBENCH_RUNS);
    }
    if (a)
        pmm_free_page(a);
    if (b)
        pmm_free_page(b);
}

KBENCH(pmm_alloc_free) {
    enum { N = 4096 };
    static vm_page_t *pages[N];
    uint64_t samples[KBENCH_RUNS];
    for (int r = 0; r < KBENCH_RUNS; r++) {
        uint64_t t0 = kbench_now();
        for (int i = 0; i < N; i++)
            pages[i] = pmm_alloc_page(PAGE_STATE_WIRED);
        for (int i = 0; i < N; i++)
            if (pages[i])
                pmm_free_page(pages[i]);
        samples[r] = kbench_now() - t0;
    }
    kbench_report("pmm_alloc_free", N, samples, KBENCH_RUNS);
}
