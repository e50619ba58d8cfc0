// Benchmark reporting and the runner. Pure: the host bench programs link it too.
#include "kernel/kbench.h"

#include <stdbool.h>

#include "kernel/printf.h"
#include "kernel/string.h"

static void sort_u64(uint64_t *v, size_t n) {
    for (size_t i = 1; i < n; i++) {
        uint64_t x = v[i];
        size_t j = i;
        for (; j > 0 && v[j - 1] > x; j--)
            v[j] = v[j - 1];
        v[j] = x;
    }
}

void kbench_report(const char *name, uint64_t ops, const uint64_t *samples, size_t n) {
    uint64_t sorted[64];
    if (n == 0 || ops == 0)
        return;
    if (n > countof(sorted))
        n = countof(sorted);
    memcpy(sorted, samples, n * sizeof(uint64_t));
    sort_u64(sorted, n);
    kprintf("bench %s ns_per_op=%llu min=%llu max=%llu ops=%llu\n", name,
            (unsigned long long)(sorted[n / 2] / ops), (unsigned long long)(sorted[0] / ops),
            (unsigned long long)(sorted[n - 1] / ops), (unsigned long long)ops);
}

void kbench_report_value(const char *name, const char *key, uint64_t value) {
    kprintf("bench %s %s=%llu\n", name, key, (unsigned long long)value);
}

static bool selected(const char *name, const char *filter) {
    if (!filter || !*filter)
        return true;
    size_t len = strlen(name);
    for (const char *p = filter; *p;) {
        const char *end = strchr(p, ',');
        size_t n = end ? (size_t)(end - p) : strlen(p);
        if (n == len && strncmp(p, name, n) == 0)
            return true;
        p += n;
        if (*p == ',')
            p++;
    }
    return false;
}

void kbench_run_all(const char *filter) {
    for (const struct kbench *b = __start_kbenches; b < __stop_kbenches; b++) {
        if (selected(b->name, filter))
            b->fn();
    }
    kprintf("bench: done\n");
}
