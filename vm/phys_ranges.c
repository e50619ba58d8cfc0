// The physical range map. Operations are O(ranges): the map is small and changes only at boot.
#include "vm/phys_ranges.h"

#include "kernel/printf.h"
#include "kernel/string.h"

struct phys_ranges physical_ranges;

void phys_ranges_init(struct phys_ranges *pr, paddr_t limit) {
    pr->count = 1;
    pr->limit = limit;
    pr->r[0] = (struct phys_range){0, limit, MEM_NONE};
}

// Index of the range containing pa (pa < limit).
static size_t find_index(const struct phys_ranges *pr, paddr_t pa) {
    size_t lo = 0, hi = pr->count;
    while (hi - lo > 1) {
        size_t mid = lo + (hi - lo) / 2;
        if (pr->r[mid].start <= pa)
            lo = mid;
        else
            hi = mid;
    }
    return lo;
}

static void remove_at(struct phys_ranges *pr, size_t i) {
    memmove(&pr->r[i], &pr->r[i + 1], (pr->count - i - 1) * sizeof(pr->r[0]));
    pr->count--;
}

static void insert_at(struct phys_ranges *pr, size_t i, struct phys_range range) {
    memmove(&pr->r[i + 1], &pr->r[i], (pr->count - i) * sizeof(pr->r[0]));
    pr->r[i] = range;
    pr->count++;
}

zx_status_t phys_ranges_set(struct phys_ranges *pr, paddr_t start, paddr_t end,
                            enum mem_kind kind) {
    if (start > end)
        return ZX_ERR_INVALID_ARGS;
    if (end > pr->limit)
        end = pr->limit;
    if (start >= end)
        return ZX_OK;
    // At most two new ranges appear (a split at each end) before merging.
    if (pr->count + 2 > PHYS_RANGES_MAX)
        return ZX_ERR_NO_RESOURCES;

    // Split so that `start` and `end` are range boundaries.
    size_t i = find_index(pr, start);
    if (pr->r[i].start < start) {
        struct phys_range right = pr->r[i];
        right.start = start;
        pr->r[i].end = start;
        insert_at(pr, ++i, right);
    }
    size_t j = end < pr->limit ? find_index(pr, end) : pr->count;
    if (j < pr->count && pr->r[j].start < end) {
        struct phys_range right = pr->r[j];
        right.start = end;
        pr->r[j].end = end;
        insert_at(pr, j + 1, right);
        j++;
    }
    // Ranges i..j-1 now cover exactly [start, end): replace them with one.
    while (j - i > 1) {
        remove_at(pr, i + 1);
        j--;
    }
    pr->r[i] = (struct phys_range){start, end, kind};
    // Merge with equal neighbours.
    if (i + 1 < pr->count && pr->r[i + 1].kind == kind) {
        pr->r[i].end = pr->r[i + 1].end;
        remove_at(pr, i + 1);
    }
    if (i > 0 && pr->r[i - 1].kind == kind) {
        pr->r[i - 1].end = pr->r[i].end;
        remove_at(pr, i);
    }
    return ZX_OK;
}

const struct phys_range *phys_ranges_find(const struct phys_ranges *pr, paddr_t pa) {
    if (pa >= pr->limit)
        return NULL;
    return &pr->r[find_index(pr, pa)];
}

enum mem_kind phys_ranges_kind(const struct phys_ranges *pr, paddr_t pa) {
    const struct phys_range *r = phys_ranges_find(pr, pa);
    return r ? r->kind : MEM_NONE;
}

uint64_t phys_ranges_total(const struct phys_ranges *pr, enum mem_kind kind) {
    uint64_t total = 0;
    for (size_t i = 0; i < pr->count; i++) {
        if (pr->r[i].kind == kind)
            total += pr->r[i].end - pr->r[i].start;
    }
    return total;
}

const char *mem_kind_name(enum mem_kind kind) {
    static const char *const names[MEM_KIND_COUNT] = {
        "none", "available", "reserved", "acpi", "nvs", "bad", "kernel", "module", "boot",
    };
    return kind < MEM_KIND_COUNT ? names[kind] : "?";
}

bool phys_ranges_check(const struct phys_ranges *pr) {
    if (pr->count == 0 || pr->count > PHYS_RANGES_MAX) {
        kprintf("phys_ranges_check: bad count %zu\n", pr->count);
        return false;
    }
    paddr_t expect = 0;
    for (size_t i = 0; i < pr->count; i++) {
        const struct phys_range *r = &pr->r[i];
        if (r->start != expect || r->end <= r->start) {
            kprintf("phys_ranges_check: range %zu [%#llx, %#llx) expected start %#llx\n", i,
                    (unsigned long long)r->start, (unsigned long long)r->end,
                    (unsigned long long)expect);
            return false;
        }
        if (i > 0 && pr->r[i - 1].kind == r->kind) {
            kprintf("phys_ranges_check: ranges %zu and %zu share kind %s\n", i - 1, i,
                    mem_kind_name(r->kind));
            return false;
        }
        expect = r->end;
    }
    if (expect != pr->limit) {
        kprintf("phys_ranges_check: ranges end at %#llx, limit %#llx\n",
                (unsigned long long)expect, (unsigned long long)pr->limit);
        return false;
    }
    return true;
}
