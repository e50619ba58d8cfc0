// The monitor's views of tasks and VMOs: `ps`, `vmos`, `vmmap PID`, `vmo KOID` and `dump`, and
// the walks over every process and VMO they share. Processes are found through the job tree
// (each visited with a reference); VMOs through each process's handles and mappings, so a VMO
// that only the kernel or a message in flight holds is not seen.
#include <zircon/syscalls.h>

#include "kernel/assert.h"
#include "kernel/heap.h"
#include "kernel/job.h"
#include "kernel/monitor_priv.h"
#include "kernel/printf.h"
#include "kernel/process.h"
#include "kernel/string.h"
#include "vm/aspace.h"
#include "vm/vmar.h"
#include "vm/vmo.h"
#include "vm/vmo_dump.h"

#define MAX_JOB_DEPTH 8     // deeper jobs are not shown (no recursion without a bound)
#define MAX_CHILDREN 64
#define MAX_VMOS_PER_PROCESS 256
#define MAX_SEEN 512

// --- Walks ---

static void walk_job(struct job *job, unsigned depth, monitor_process_fn fn, void *ctx) {
    zx_koid_t *koids = kmalloc(MAX_CHILDREN * sizeof(zx_koid_t));
    if (!koids)
        return;
    size_t n = job_child_koids(job, false, koids, MAX_CHILDREN);
    n = MIN(n, (size_t)MAX_CHILDREN);
    for (size_t i = 0; i < n; i++) {
        struct kobject *o = job_get_child(job, koids[i]);
        if (!o)
            continue;
        fn(process_from_object(o), depth, ctx);
        kobject_release(o);
    }
    n = job_child_koids(job, true, koids, MAX_CHILDREN);
    n = MIN(n, (size_t)MAX_CHILDREN);
    for (size_t i = 0; i < n && depth + 1 < MAX_JOB_DEPTH; i++) {
        struct kobject *o = job_get_child(job, koids[i]);
        if (!o)
            continue;
        walk_job(job_from_object(o), depth + 1, fn, ctx);
        kobject_release(o);
    }
    kfree(koids);
}

void monitor_for_each_process(monitor_process_fn fn, void *ctx) {
    walk_job(root_job, 0, fn, ctx);
}

struct vmo_walk {
    monitor_vmo_fn fn;
    void *ctx;
};

static void vmos_of_process(struct process *p, unsigned depth, void *ctx) {
    struct vmo_walk *w = ctx;
    struct kobject **objs = kmalloc(MAX_VMOS_PER_PROCESS * sizeof(*objs));
    zx_rights_t *rights = kmalloc(MAX_VMOS_PER_PROCESS * sizeof(*rights));
    if (!objs || !rights) {
        kfree(objs);
        kfree(rights);
        return;
    }
    size_t n = 0;
    mutex_acquire(&p->lock);
    if (p->aspace) {
        // (MIN evaluates its arguments twice: each call, which takes references, goes first.)
        size_t got = handle_table_collect(&p->handles, ZX_OBJ_TYPE_VMO, objs, rights,
                                          MAX_VMOS_PER_PROCESS);
        n = MIN(got, (size_t)MAX_VMOS_PER_PROCESS);
        got = vm_aspace_mapped_vmos(p->aspace, objs + n, MAX_VMOS_PER_PROCESS - n);
        n += MIN(got, MAX_VMOS_PER_PROCESS - n);
    }
    mutex_release(&p->lock);
    for (size_t i = 0; i < n; i++) {
        w->fn(vmo_from_object(objs[i]), p, w->ctx);
        kobject_release(objs[i]);
    }
    kfree(objs);
    kfree(rights);
}

void monitor_for_each_vmo(monitor_vmo_fn fn, void *ctx) {
    struct vmo_walk w = {fn, ctx};
    monitor_for_each_process(vmos_of_process, &w);
}

struct find {
    zx_koid_t koid;
    struct kobject *found;
};

static void find_process(struct process *p, unsigned depth, void *ctx) {
    struct find *f = ctx;
    if (!f->found && p->obj.koid == f->koid) {
        kobject_retain(&p->obj);
        f->found = &p->obj;
    }
}

struct process *monitor_find_process(zx_koid_t koid) {
    struct find f = {koid, NULL};
    monitor_for_each_process(find_process, &f);
    return f.found ? process_from_object(f.found) : NULL;
}

static void find_vmo(struct vmo *v, struct process *p, void *ctx) {
    struct find *f = ctx;
    if (!f->found && vmo_object(v)->koid == f->koid) {
        kobject_retain(vmo_object(v));
        f->found = vmo_object(v);
    }
}

struct vmo *monitor_find_vmo(zx_koid_t koid) {
    struct find f = {koid, NULL};
    monitor_for_each_vmo(find_vmo, &f);
    return f.found ? vmo_from_object(f.found) : NULL;
}

// --- ps ---

static const char *state_name(enum task_state s) {
    switch (s) {
    case TASK_INITIAL:
        return "new";
    case TASK_RUNNING:
        return "running";
    case TASK_DYING:
        return "dying";
    default:
        return "dead";
    }
}

static void ps_row(struct process *p, unsigned depth, void *ctx) {
    zx_koid_t *last_job = ctx;
    if (p->job->obj.koid != *last_job) {
        *last_job = p->job->obj.koid;
        kprintf("%*sjob %llu\n", (int)(2 * depth), "", (unsigned long long)*last_job);
    }
    zx_info_task_stats_t s = {0};
    mutex_acquire(&p->lock);
    enum task_state state = p->state;
    if (p->aspace)
        vm_aspace_task_stats(p->aspace, &s);
    mutex_release(&p->lock);
    size_t threads = process_thread_koids(p, NULL, 0);
    kprintf("%*s%6llu %-20.20s %-8s %3zu %10llu %10llu %10llu %10llu\n", (int)(2 * depth + 2), "",
            (unsigned long long)p->obj.koid, p->name, state_name(state), threads,
            (unsigned long long)s.mem_mapped_bytes / 1024,
            (unsigned long long)s.mem_private_bytes / 1024,
            (unsigned long long)s.mem_shared_bytes / 1024,
            (unsigned long long)s.mem_scaled_shared_bytes / 1024);
}

void monitor_cmd_ps(int argc, char **argv) {
    kprintf("  %6s %-20s %-8s %3s %10s %10s %10s %10s\n", "pid", "name", "state", "thr",
            "mapped KiB", "private", "shared", "scaled");
    zx_koid_t last_job = 0;
    monitor_for_each_process(ps_row, &last_job);
}

// --- vmos ---

struct seen {
    zx_koid_t koids[MAX_SEEN];
    size_t n;
};

// Adds `koid`; false if it was there already (or the table is full).
static bool seen_add(struct seen *s, zx_koid_t koid) {
    for (size_t i = 0; i < s->n; i++) {
        if (s->koids[i] == koid)
            return false;
    }
    if (s->n == MAX_SEEN)
        return false;
    s->koids[s->n++] = koid;
    return true;
}

static void vmos_row(struct vmo *v, struct process *p, void *ctx) {
    if (!seen_add(ctx, vmo_object(v)->koid))
        return;
    zx_info_vmo_t i;
    vmo_get_info(v, &i);
    kprintf("  %6llu %-16.16s %9llu %9llu %9llu %9llu %6llu %4zu %4zu %6llu\n",
            (unsigned long long)i.koid, i.name[0] ? i.name : "-",
            (unsigned long long)i.size_bytes / 1024, (unsigned long long)i.committed_bytes / 1024,
            (unsigned long long)i.committed_private_bytes / 1024,
            (unsigned long long)i.committed_scaled_bytes / 1024,
            (unsigned long long)i.parent_koid, i.num_children, i.num_mappings,
            (unsigned long long)p->obj.koid);
}

void monitor_cmd_vmos(int argc, char **argv) {
    struct seen *s = kzalloc(sizeof(*s));
    if (!s)
        return;
    kprintf("  %6s %-16s %9s %9s %9s %9s %6s %4s %4s %6s\n", "koid", "name", "size KiB",
            "committed", "private", "scaled", "parent", "kids", "maps", "pid");
    monitor_for_each_vmo(vmos_row, s);
    kprintf("  (%zu VMOs; sizes in KiB; `vmo KOID` shows one's clone tree)\n", s->n);
    kfree(s);
}

// --- vmmap ---

#define BAR_MAX 32

struct bar {
    uint64_t base, per;     // VMO offset of the bar's start; bytes per character
    uint8_t own[BAR_MAX], shared[BAR_MAX];
};

static zx_status_t bar_page(void *ctx, uint64_t offset, paddr_t pa, bool writable) {
    struct bar *b = ctx;
    size_t i = (size_t)((offset - b->base) / b->per);
    if (i < BAR_MAX) {
        if (writable)
            b->own[i] = 1;
        else
            b->shared[i] = 1;
    }
    return ZX_ERR_NEXT;
}

// One character per run of pages: '#' some page is the VMO's own, '+' only pages it shares with
// another VMO (copy-on-write) or the zero page... '.' nothing committed.
static void print_bar(struct vm_aspace *as, const zx_info_maps_t *m) {
    struct vmo *v;
    uint64_t off, len;
    if (vm_aspace_vmo_at(as, m->base, &v, &off, &len) != ZX_OK)
        return;
    struct bar *b = kzalloc(sizeof(*b));
    if (b) {
        uint64_t pages = m->size / PAGE_SIZE;
        uint64_t per_chars = (pages + BAR_MAX - 1) / BAR_MAX;
        b->base = off;
        b->per = per_chars * PAGE_SIZE;
        size_t chars = (size_t)((pages + per_chars - 1) / per_chars);
        zx_status_t st = vmo_lookup_pages(v, off, m->size, bar_page, b);
        ASSERT(st == ZX_OK);  // bar_page never fails
        kprintf(" [");
        for (size_t i = 0; i < chars; i++)
            kprintf("%c", b->own[i] ? '#' : b->shared[i] ? '+' : '.');
        kprintf("]");
        kfree(b);
    }
    kobject_release(vmo_object(v));
}

void monitor_cmd_vmmap(int argc, char **argv) {
    uint64_t pid;
    if (argc < 2 || !monitor_parse_u64(argv[1], &pid)) {
        kprintf("usage: vmmap PID (see ps)\n");
        return;
    }
    struct process *p = monitor_find_process(pid);
    if (!p) {
        kprintf("vmmap: no process %llu\n", (unsigned long long)pid);
        return;
    }
    enum { MAX_MAPS = 128 };
    zx_info_maps_t *maps = kmalloc(MAX_MAPS * sizeof(*maps));
    size_t actual = 0, avail = 0;
    mutex_acquire(&p->lock);
    struct vm_aspace *as = p->aspace;
    if (as && maps)
        vm_aspace_get_maps(as, maps, MAX_MAPS, &actual, &avail);
    mutex_release(&p->lock);
    kprintf("process %llu %s: %zu regions%s; bars: '#' own page, '+' shared (copy-on-write), "
            "'.' none\n",
            (unsigned long long)pid, p->name, avail, avail > actual ? " (first shown)" : "");
    for (size_t i = 0; i < actual; i++) {
        const zx_info_maps_t *m = &maps[i];
        kprintf("%*s", (int)(2 * m->depth + 2), "");
        if (m->type == ZX_INFO_MAPS_TYPE_MAPPING) {
            uint32_t f = m->u.mapping.mmu_flags;
            kprintf("map  [%#014llx, %#014llx) %c%c%c vmo %llu +%#llx, %zu of %zu pages",
                    (unsigned long long)m->base, (unsigned long long)(m->base + m->size),
                    (f & ZX_VM_PERM_READ) ? 'r' : '-', (f & ZX_VM_PERM_WRITE) ? 'w' : '-',
                    (f & ZX_VM_PERM_EXECUTE) ? 'x' : '-',
                    (unsigned long long)m->u.mapping.vmo_koid,
                    (unsigned long long)m->u.mapping.vmo_offset, m->u.mapping.committed_pages,
                    m->size / PAGE_SIZE);
            // The address space may change meanwhile: the bar looks the mapping up again.
            mutex_acquire(&p->lock);
            if (p->aspace)
                print_bar(p->aspace, m);
            mutex_release(&p->lock);
            kprintf("\n");
        } else {
            kprintf("%s [%#014llx, %#014llx) %s\n",
                    m->type == ZX_INFO_MAPS_TYPE_ASPACE ? "aspace" : "vmar",
                    (unsigned long long)m->base, (unsigned long long)(m->base + m->size),
                    m->name);
        }
    }
    kfree(maps);
    kobject_release(&p->obj);
}

// --- vmo KOID and dump ---

void monitor_cmd_vmo(int argc, char **argv) {
    uint64_t koid;
    if (argc < 2 || !monitor_parse_u64(argv[1], &koid)) {
        kprintf("usage: vmo KOID (see vmos)\n");
        return;
    }
    struct vmo *v = monitor_find_vmo(koid);
    if (!v) {
        kprintf("vmo: no process holds or maps VMO %llu\n", (unsigned long long)koid);
        return;
    }
    vmo_print_tree(v);
    kobject_release(vmo_object(v));
}

struct dump_ctx {
    const void *trees[MAX_SEEN];
    size_t n;
};

static void dump_vmo(struct vmo *v, struct process *p, void *ctx) {
    struct dump_ctx *d = ctx;
    const void *tree = vmo_tree_id(v);
    for (size_t i = 0; i < d->n; i++) {
        if (d->trees[i] == tree)
            return;
    }
    if (d->n < MAX_SEEN)
        d->trees[d->n++] = tree;
    vmo_dump_tree(v);
}

void monitor_cmd_dump(int argc, char **argv) {
    struct dump_ctx *d = kzalloc(sizeof(*d));
    if (!d)
        return;
    kprintf("@dump begin %s\n", argc > 1 ? argv[1] : "-");
    monitor_for_each_vmo(dump_vmo, d);
    monitor_dump_pmap();
    kprintf("@dump end\n");
    kfree(d);
}
