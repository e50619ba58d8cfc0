// The monitor's `memmap`: physical memory drawn one character per run of pages, coloured with
// ANSI escapes, with a legend; and the same map in the dump format (@pmap lines, one per run of
// pages of one kind and owner) for scripts/memview. VMO pages are attributed to the process that
// holds or maps a VMO of their clone tree (found through the processes' handles and mappings).
#include "kernel/heap.h"
#include "kernel/monitor_priv.h"
#include "kernel/printf.h"
#include "kernel/process.h"
#include "kernel/string.h"
#include "vm/cow_pages.h"
#include "vm/phys_ranges.h"
#include "vm/pmm.h"
#include "vm/vmo.h"
#include "vm/vmo_dump.h"

enum cls {
    CLS_FREE,
    CLS_RESERVED,    // firmware, holes, ACPI
    CLS_KERNEL,      // the kernel image
    CLS_MODULE,      // boot modules
    CLS_WIRED,       // boot structures, stacks, the page array
    CLS_HEAP,
    CLS_PAGE_TABLE,
    CLS_ZERO,
    CLS_COMPRESSED,  // compressed-page storage
    CLS_VMO_OTHER,   // a VMO no process holds or maps
    CLS_VMO_SHARED,  // a clone tree of VMOs in several processes
    CLS_PROC,        // CLS_PROC + i: VMO pages of the i-th process
};
#define MAX_PROCS 16
#define CLS_COUNT (CLS_PROC + MAX_PROCS)
#define MAX_TREES 256

static const struct {
    char ch;
    const char *color, *word, *legend;
} kinds[CLS_PROC] = {
    {'.', "2", "free", "free"},
    {'-', "2", "reserved", "reserved (firmware, holes)"},
    {'K', "1;41", "kernel", "kernel image"},
    {'M', "45", "module", "boot modules"},
    {'W', "31", "wired", "kernel wired (stacks, page array)"},
    {'H', "33", "heap", "kernel heap"},
    {'T', "36", "pagetable", "page tables"},
    {'Z', "1;37", "zero", "the zero page"},
    {'C', "1;34", "compressed", "compressed storage"},
    {'v', "32", "vmo", "VMO pages of no process"},
    {'S', "1;37;42", "shared", "VMO pages of trees in several processes"},
};
static const char *const proc_colors[] = {"1;32", "1;33", "1;35", "1;36", "1;31", "1;34",
                                          "32;44", "30;43"};

struct owners {
    const void *tree[MAX_TREES];
    uint8_t cls[MAX_TREES];
    size_t ntrees;
    zx_koid_t pid[MAX_PROCS];
    char pname[MAX_PROCS][ZX_MAX_NAME_LEN];
    size_t nprocs;
};

static void owner_of_vmo(struct vmo *v, struct process *p, void *ctx) {
    struct owners *o = ctx;
    size_t pi = 0;
    while (pi < o->nprocs && o->pid[pi] != p->obj.koid)
        pi++;
    if (pi == o->nprocs && pi < MAX_PROCS) {
        o->pid[pi] = p->obj.koid;
        memcpy(o->pname[pi], p->name, ZX_MAX_NAME_LEN);
        o->nprocs++;
    }
    uint8_t cls = pi < MAX_PROCS ? (uint8_t)(CLS_PROC + pi) : CLS_VMO_OTHER;
    const void *tree = vmo_tree_id(v);
    for (size_t i = 0; i < o->ntrees; i++) {
        if (o->tree[i] == tree) {
            if (o->cls[i] != cls)
                o->cls[i] = CLS_VMO_SHARED;
            return;
        }
    }
    if (o->ntrees < MAX_TREES) {
        o->tree[o->ntrees] = tree;
        o->cls[o->ntrees++] = cls;
    }
}

// Walks physical ranges alongside increasing page numbers.
struct classifier {
    const struct owners *o;
    size_t range;
};

static enum cls classify(struct classifier *c, size_t pfn) {
    paddr_t pa = (paddr_t)pfn << PAGE_SHIFT;
    while (c->range + 1 < physical_ranges.count && physical_ranges.r[c->range].end <= pa)
        c->range++;
    const vm_page_t *pg = pmm_page_from_paddr(pa);
    enum mem_kind kind = physical_ranges.r[c->range].kind;
    if (!pg || pg->state == PAGE_STATE_RESERVED) {
        if (kind == MEM_KERNEL)
            return CLS_KERNEL;
        if (kind == MEM_MODULE)
            return CLS_MODULE;
        return kind == MEM_BOOT ? CLS_WIRED : CLS_RESERVED;
    }
    switch (pg->state) {
    case PAGE_STATE_FREE:
        return CLS_FREE;
    case PAGE_STATE_WIRED:
        return CLS_WIRED;
    case PAGE_STATE_HEAP:
        return CLS_HEAP;
    case PAGE_STATE_PAGE_TABLE:
        return CLS_PAGE_TABLE;
    case PAGE_STATE_ZERO:
        return CLS_ZERO;
    case PAGE_STATE_COMPRESSED:
        return CLS_COMPRESSED;
    case PAGE_STATE_VMO: {
        // The page's tree through its backlink. Racy (no VM lock held here): a list identity
        // freed meanwhile is still mapped heap memory, so the worst case is a wrong colour.
        const struct cow_list_id *id = __atomic_load_n(&pg->vmo.owner, __ATOMIC_RELAXED);
        const void *tree = id ? __atomic_load_n(&id->tree, __ATOMIC_RELAXED) : NULL;
        for (size_t i = 0; tree && i < c->o->ntrees; i++) {
            if ((const void *)c->o->tree[i] == tree)
                return (enum cls)c->o->cls[i];
        }
        return CLS_VMO_OTHER;
    }
    default:
        return CLS_RESERVED;
    }
}

static char cls_char(enum cls k) {
    if (k < CLS_PROC)
        return kinds[k].ch;
    size_t i = k - CLS_PROC;
    return (char)(i < 9 ? '1' + i : 'a' + (i - 9));
}

static const char *cls_color(enum cls k) {
    return k < CLS_PROC ? kinds[k].color : proc_colors[(k - CLS_PROC) % countof(proc_colors)];
}

static struct owners *find_owners(void) {
    struct owners *o = kzalloc(sizeof(*o));
    if (o)
        monitor_for_each_vmo(owner_of_vmo, o);
    return o;
}

// The first page above which every page is free or reserved (the map stops there unless asked
// for all of memory: a fresh machine's memory is mostly free).
static size_t used_span(size_t npages) {
    size_t end = npages;
    while (end > 0) {
        const vm_page_t *pg = pmm_page_from_paddr((paddr_t)(end - 1) << PAGE_SHIFT);
        if (pg && pg->state != PAGE_STATE_FREE && pg->state != PAGE_STATE_RESERVED)
            break;
        end--;
    }
    return end;
}

void monitor_cmd_memmap(int argc, char **argv) {
    uint64_t cols = 64, rows = 16;
    bool all = argc > 1 && strcmp(argv[argc - 1], "all") == 0;
    if (all)
        argc--;
    if ((argc > 1 && !monitor_parse_u64(argv[1], &cols)) ||
        (argc > 2 && !monitor_parse_u64(argv[2], &rows)) || cols < 8 || cols > 400 || rows < 1 ||
        rows > 200) {
        kprintf("usage: memmap [COLS [ROWS]] [all] (8-400 columns, 1-200 rows; default 64 16)\n");
        return;
    }
    struct owners *o = find_owners();
    if (!o)
        return;
    size_t npages = pmm_page_array_len();
    size_t shown = all ? npages : used_span(npages);
    if (shown == 0)
        shown = npages;
    size_t per = (shown + cols * rows - 1) / (cols * rows);
    size_t cells = (shown + per - 1) / per;
    size_t total[CLS_COUNT] = {0};
    struct classifier c = {o, 0};
    kprintf("physical memory [0, %#llx) of %zu MiB: %zu pages (%zu KiB) per character, showing "
            "the most common use of its pages ('.' only if all are free)\n",
            (unsigned long long)((paddr_t)(cells * per) << PAGE_SHIFT), npages / 256, per,
            per * 4);
    const char *color = NULL;
    for (size_t cell = 0; cell < cells; cell++) {
        if (cell % cols == 0)
            kprintf("%#011llx ", (unsigned long long)((paddr_t)cell * per << PAGE_SHIFT));
        size_t count[CLS_COUNT] = {0};
        size_t end = MIN((cell + 1) * per, npages);
        for (size_t pfn = cell * per; pfn < end; pfn++)
            count[classify(&c, pfn)]++;
        enum cls best = CLS_FREE;
        size_t best_n = 0;
        for (int k = 0; k < CLS_COUNT; k++) {
            total[k] += count[k];
            if (k != CLS_FREE && count[k] > best_n) {
                best = (enum cls)k;
                best_n = count[k];
            }
        }
        if (color != cls_color(best)) {  // an escape only where the colour changes
            color = cls_color(best);
            kprintf("\x1b[0;%sm", color);
        }
        kprintf("%c", cls_char(best));
        if (cell % cols == cols - 1 || cell + 1 == cells) {
            kprintf("\x1b[0m\n");
            color = NULL;
        }
    }
    if (shown < npages)
        kprintf("above %#llx: %zu pages, all free or reserved ('memmap all' shows them)\n",
                (unsigned long long)((paddr_t)(cells * per) << PAGE_SHIFT),
                npages - MIN(cells * per, npages));
    kprintf("legend (pages shown):\n");
    for (int k = 0; k < CLS_COUNT; k++) {
        if (!total[k] && k >= CLS_PROC)
            continue;
        kprintf("  \x1b[0;%sm%c\x1b[0m %-8zu ", cls_color((enum cls)k), cls_char((enum cls)k),
                total[k]);
        if (k < CLS_PROC)
            kprintf("%s\n", kinds[k].legend);
        else
            kprintf("VMO pages of process %llu %s\n",
                    (unsigned long long)o->pid[k - CLS_PROC], o->pname[k - CLS_PROC]);
    }
    kfree(o);
}

void monitor_dump_pmap(void) {
    struct owners *o = find_owners();
    if (!o)
        return;
    size_t npages = pmm_page_array_len();
    struct classifier c = {o, 0};
    kprintf("@pmap pages=%zu\n", npages);
    for (size_t i = 0; i < o->nprocs; i++)
        kprintf("@proc %llu name=\"%s\"\n", (unsigned long long)o->pid[i], o->pname[i]);
    size_t start = 0;
    enum cls run = npages ? classify(&c, 0) : CLS_FREE;
    for (size_t pfn = 1; pfn <= npages; pfn++) {
        enum cls k = pfn < npages ? classify(&c, pfn) : (enum cls)-1;
        if (k == run)
            continue;
        kprintf("@run %zu %zu %s %llu\n", start, pfn - start,
                run < CLS_PROC ? kinds[run].word : "process",
                (unsigned long long)(run < CLS_PROC ? 0 : o->pid[run - CLS_PROC]));
        start = pfn;
        run = k;
    }
    kprintf("@endpmap\n");
    kfree(o);
}
