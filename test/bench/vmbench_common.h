// What the Jasper and the Linux VM benchmark programs share, so that both run the very same loops:
// the sizes, the page-touching loops, the string-instruction page fill and copy (the physical limit
// every fault is compared against), and the report line
//     bench NAME ns_per_op=MEDIAN min=MIN max=MAX ops=OPS
// where each of the VMB_RUNS samples times OPS operations and the per-op figures are sample / OPS
// (integer ns; under QEMU's -icount shift=0 one ns is one guest instruction).
//
// The including program defines vmb_now() (monotonic ns) before including this header, and
// includes <stdio.h>, <stddef.h> and <stdint.h>.
#ifndef TEST_BENCH_VMBENCH_COMMON_H
#define TEST_BENCH_VMBENCH_COMMON_H

#define VMB_RUNS 7
#define VMB_PAGE 4096ul
#define VMB_64M (64ul << 20)
#define VMB_4M (4ul << 20)
#define VMB_PAGES_64M (VMB_64M / VMB_PAGE)

// Operations per sample of the cheap workloads.
#define VMB_MAP_OPS 1000u
#define VMB_SYSCALL_OPS 10000u
#define VMB_MEM_OPS 1000u
#define VMB_PORT_OPS 1000u
#define VMB_PROC_OPS 20u
#define VMB_RW_OPS_4K 1000u
#define VMB_RW_OPS_1M 10u

// vmo_read/write (pread/pwrite) sizes: 4 KiB and VMB_RW_MAX.
#define VMB_RW_MAX (1ul << 20)

// The clone-chain workloads: the leaf's size, the deepest chain, the runs per depth (fewer than
// VMB_RUNS: Linux forks `depth` processes per chain).
#define VMB_CHAIN_BYTES (1ul << 20)
#define VMB_CHAIN_MAX 1000u
#define VMB_CHAIN_RUNS 3

// The pager workloads: pages faulted in per sample, and pages per request when batched.
#define VMB_PAGER_PAGES 1024u
#define VMB_PAGER_BATCH 64u

// Writes one byte in each page of [p, p + bytes) (bytes a multiple of the page size).
static inline void vmb_touch_write(volatile char *p, size_t bytes) {
    for (size_t off = 0; off < bytes; off += VMB_PAGE)
        p[off] = 1;
}

// Reads one byte in each page of [p, p + bytes); returns their sum so nothing is optimised away.
static inline unsigned vmb_touch_read(const volatile char *p, size_t bytes) {
    unsigned sum = 0;
    for (size_t off = 0; off < bytes; off += VMB_PAGE)
        sum += (unsigned char)p[off];
    return sum;
}

// Fills `qwords` 8-byte words at dst with `pattern` (rep stosq: under TCG rep stosb is several
// times slower and icount counts every byte).
static inline void vmb_stosq(void *dst, uint64_t pattern, size_t qwords) {
    __asm__ volatile("rep stosq" : "+D"(dst), "+c"(qwords) : "a"(pattern) : "memory");
}

// Copies `qwords` 8-byte words from src to dst (rep movsq).
static inline void vmb_movsq(void *dst, const void *src, size_t qwords) {
    __asm__ volatile("rep movsq" : "+D"(dst), "+S"(src), "+c"(qwords) : : "memory");
}

static inline void vmb_sort(uint64_t *v, int n) {
    for (int i = 1; i < n; i++) {
        uint64_t x = v[i];
        int j = i;
        for (; j > 0 && v[j - 1] > x; j--)
            v[j] = v[j - 1];
        v[j] = x;
    }
}

// Prints the report line for `n` samples (n <= VMB_RUNS), each the time of `ops` operations.
static inline void vmb_report(const char *name, uint64_t ops, const uint64_t *samples, int n) {
    uint64_t s[VMB_RUNS];
    if (n <= 0 || n > VMB_RUNS || ops == 0)
        return;
    for (int i = 0; i < n; i++)
        s[i] = samples[i];
    vmb_sort(s, n);
    printf("bench %s ns_per_op=%llu min=%llu max=%llu ops=%llu\n", name,
           (unsigned long long)(s[n / 2] / ops), (unsigned long long)(s[0] / ops),
           (unsigned long long)(s[n - 1] / ops), (unsigned long long)ops);
}

#endif  // TEST_BENCH_VMBENCH_COMMON_H
