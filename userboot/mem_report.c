// Gathering and printing `mem`'s report (userboot/mem_report.h).
#include "userboot/mem_report.h"

#include <stdio.h>
#include <string.h>
#include <zircon/syscalls.h>

#define FRAC_ONE ((uint64_t)1 << 63)

void mem_scaled_add(struct mem_scaled *s, uint64_t bytes, uint64_t frac) {
    s->bytes += bytes;
    s->frac += frac;  // both below 2^63: no overflow
    if (s->frac >= FRAC_ONE) {
        s->frac -= FRAC_ONE;
        s->bytes++;
    }
}

static void add_vmos(struct mem_report *r, zx_koid_t proc, size_t n) {
    for (size_t i = 0; i < n; i++) {
        const zx_info_vmo_t *v = &r->scratch[i];
        // Records of one VMO within this process (a handle and mappings) count it once.
        bool earlier = false;
        for (size_t j = 0; j < i && !earlier; j++)
            earlier = r->scratch[j].koid == v->koid;
        size_t k = 0;
        while (k < r->nvmos && r->vmos[k].info.koid != v->koid)
            k++;
        if (k == r->nvmos) {
            if (r->nvmos == MEM_MAX_VMOS) {
                r->truncated = true;
                continue;
            }
            r->vmos[r->nvmos++] = (struct mem_vmo){.info = *v, .first_proc = proc};
        }
        r->vmos[k].info.flags |= v->flags;
        if (!earlier)
            r->vmos[k].procs++;
    }
}

static void add_process(struct mem_report *r, zx_handle_t proc, zx_koid_t koid, zx_koid_t job) {
    if (r->nprocs == MEM_MAX_PROCS) {
        r->truncated = true;
        return;
    }
    struct mem_proc *p = &r->procs[r->nprocs];
    *p = (struct mem_proc){.koid = koid, .job = job};
    if (zx_object_get_info(proc, ZX_INFO_TASK_STATS, &p->stats, sizeof(p->stats), NULL, NULL) !=
        ZX_OK)
        return;  // ended meanwhile
    zx_object_get_property(proc, ZX_PROP_NAME, p->name, sizeof(p->name));
    size_t actual = 0, avail = 0;
    if (zx_object_get_info(proc, ZX_INFO_PROCESS_VMOS, r->scratch, sizeof(r->scratch), &actual,
                           &avail) != ZX_OK)
        return;
    if (avail > actual)
        r->truncated = true;
    p->vmo_records = avail;
    r->nprocs++;
    add_vmos(r, koid, actual);
}

static zx_status_t add_job(struct mem_report *r, zx_handle_t job, zx_koid_t parent,
                           unsigned depth) {
    zx_info_handle_basic_t basic;
    zx_status_t st =
        zx_object_get_info(job, ZX_INFO_HANDLE_BASIC, &basic, sizeof(basic), NULL, NULL);
    if (st != ZX_OK)
        return st;
    if (r->njobs == MEM_MAX_JOBS) {
        r->truncated = true;
        return ZX_OK;
    }
    r->jobs[r->njobs++] = (struct mem_job){.koid = basic.koid, .parent = parent, .depth = depth};
    zx_koid_t koids[MEM_MAX_PROCS];
    size_t actual = 0, avail = 0;
    st = zx_object_get_info(job, ZX_INFO_JOB_PROCESSES, koids, sizeof(koids), &actual, &avail);
    if (st != ZX_OK)
        return st;
    r->truncated |= avail > actual;
    for (size_t i = 0; i < actual; i++) {
        zx_handle_t proc;
        if (zx_object_get_child(job, koids[i], ZX_RIGHT_SAME_RIGHTS, &proc) != ZX_OK)
            continue;  // ended meanwhile
        add_process(r, proc, koids[i], basic.koid);
        zx_handle_close(proc);
    }
    st = zx_object_get_info(job, ZX_INFO_JOB_CHILDREN, koids, sizeof(koids), &actual, &avail);
    if (st != ZX_OK)
        return st;
    r->truncated |= avail > actual;
    for (size_t i = 0; i < actual && st == ZX_OK; i++) {
        zx_handle_t child;
        if (zx_object_get_child(job, koids[i], ZX_RIGHT_SAME_RIGHTS, &child) != ZX_OK)
            continue;
        st = add_job(r, child, basic.koid, depth + 1);
        zx_handle_close(child);
    }
    return st;
}

static struct mem_job *find_job(struct mem_report *r, zx_koid_t koid) {
    for (size_t i = 0; i < r->njobs; i++) {
        if (r->jobs[i].koid == koid)
            return &r->jobs[i];
    }
    return NULL;
}

zx_status_t mem_report_collect(zx_handle_t job, struct mem_report *r) {
    memset(r, 0, sizeof(*r));
    zx_status_t st = add_job(r, job, 0, 0);
    if (st != ZX_OK)
        return st;
    // A process's figures count for its job and every job above it.
    for (size_t i = 0; i < r->nprocs; i++) {
        const zx_info_task_stats_t *s = &r->procs[i].stats;
        for (struct mem_job *j = find_job(r, r->procs[i].job); j; j = find_job(r, j->parent)) {
            j->sum.mem_mapped_bytes += s->mem_mapped_bytes;
            j->sum.mem_private_bytes += s->mem_private_bytes;
            j->sum.mem_shared_bytes += s->mem_shared_bytes;
            mem_scaled_add(&j->scaled, s->mem_scaled_shared_bytes,
                           s->mem_fractional_scaled_shared_bytes);
            j->sum.mem_scaled_shared_bytes = j->scaled.bytes;
            j->sum.mem_fractional_scaled_shared_bytes = j->scaled.frac;
        }
    }
    for (size_t i = 0; i < r->nvmos; i++) {
        const zx_info_vmo_t *v = &r->vmos[i].info;
        r->vmo_committed += v->committed_bytes;
        r->vmo_private += v->committed_private_bytes;
        mem_scaled_add(&r->vmo_scaled, v->committed_scaled_bytes,
                       v->committed_fractional_scaled_bytes);
    }
    return zx_object_get_info(job, ZX_INFO_KMEM_STATS, &r->kmem, sizeof(r->kmem), NULL, NULL);
}

// --- Printing ---

// Bytes as KiB with one decimal (pages are 4 KiB, so most figures are whole).
static void kib(char *out, size_t size, uint64_t bytes) {
    snprintf(out, size, "%llu.%llu", (unsigned long long)(bytes / 1024),
             (unsigned long long)(bytes % 1024 * 10 / 1024));
}

static void print_stats_row(const char *what, const zx_info_task_stats_t *s) {
    char m[24], p[24], sh[24], sc[24];
    kib(m, sizeof(m), s->mem_mapped_bytes);
    kib(p, sizeof(p), s->mem_private_bytes);
    kib(sh, sizeof(sh), s->mem_shared_bytes);
    kib(sc, sizeof(sc), s->mem_scaled_shared_bytes);
    printf("%-34s %10s %10s %10s %10s\n", what, m, p, sh, sc);
}

static uint64_t proc_weight(const struct mem_proc *p) {
    return p->stats.mem_private_bytes + p->stats.mem_scaled_shared_bytes;
}

static void print_job(const struct mem_report *r, size_t ji) {
    const struct mem_job *j = &r->jobs[ji];
    char what[64];
    snprintf(what, sizeof(what), "%*sjob %llu", (int)(2 * j->depth), "",
             (unsigned long long)j->koid);
    print_stats_row(what, &j->sum);
    // This job's processes, largest first (a selection sort over indices: tables are small).
    bool done[MEM_MAX_PROCS] = {false};
    for (;;) {
        size_t best = r->nprocs;
        for (size_t i = 0; i < r->nprocs; i++) {
            if (!done[i] && r->procs[i].job == j->koid &&
                (best == r->nprocs || proc_weight(&r->procs[i]) > proc_weight(&r->procs[best])))
                best = i;
        }
        if (best == r->nprocs)
            break;
        done[best] = true;
        const struct mem_proc *p = &r->procs[best];
        snprintf(what, sizeof(what), "%*s%llu %.20s", (int)(2 * j->depth + 2), "",
                 (unsigned long long)p->koid, p->name[0] ? p->name : "(no name)");
        print_stats_row(what, &p->stats);
    }
    for (size_t i = 0; i < r->njobs; i++) {
        if (r->jobs[i].parent == j->koid && i != ji)
            print_job(r, i);
    }
}

void mem_report_print(const struct mem_report *r) {
    printf("%-34s %10s %10s %10s %10s\n", "job / process (KiB)", "mapped", "private", "shared",
           "scaled");
    for (size_t i = 0; i < r->njobs; i++) {
        if (r->jobs[i].parent == 0)
            print_job(r, i);
    }
    printf("\n%8s %-20s %9s %10s %10s %10s %10s %5s\n", "vmo", "name (KiB)", "size", "committed",
           "populated", "private", "scaled", "procs");
    bool done[MEM_MAX_VMOS] = {false};
    for (size_t n = 0; n < r->nvmos; n++) {
        size_t best = r->nvmos;
        for (size_t i = 0; i < r->nvmos; i++) {
            if (!done[i] && (best == r->nvmos || r->vmos[i].info.committed_scaled_bytes >
                                                     r->vmos[best].info.committed_scaled_bytes))
                best = i;
        }
        done[best] = true;
        const zx_info_vmo_t *v = &r->vmos[best].info;
        char sz[24], c[24], pop[24], pr[24], sc[24];
        kib(sz, sizeof(sz), v->size_bytes);
        kib(c, sizeof(c), v->committed_bytes);
        kib(pop, sizeof(pop), v->populated_bytes);
        kib(pr, sizeof(pr), v->committed_private_bytes);
        kib(sc, sizeof(sc), v->committed_scaled_bytes);
        printf("%8llu %-20.20s %9s %10s %10s %10s %10s %5u\n", (unsigned long long)v->koid,
               v->name[0] ? v->name : "-", sz, c, pop, pr, sc, r->vmos[best].procs);
    }
    const zx_info_kmem_stats_t *k = &r->kmem;
    printf("\n%zu jobs, %zu processes, %zu VMOs%s\n", r->njobs, r->nprocs, r->nvmos,
           r->truncated ? " (tables full: figures incomplete)" : "");
    printf("VMOs: committed %llu KiB (shared pages once per VMO), private %llu KiB, scaled %llu KiB\n",
           (unsigned long long)r->vmo_committed / 1024, (unsigned long long)r->vmo_private / 1024,
           (unsigned long long)r->vmo_scaled.bytes / 1024);
    uint64_t scaled = r->vmo_scaled.bytes + (r->vmo_scaled.frac >= FRAC_ONE / 2);
    printf("kernel: total %llu KiB, free %llu KiB, vmo %llu KiB (%llu KiB in no process's VMOs), "
           "heap %llu KiB, page tables %llu KiB, wired %llu KiB, other %llu KiB\n",
           (unsigned long long)k->total_bytes / 1024, (unsigned long long)k->free_bytes / 1024,
           (unsigned long long)k->vmo_bytes / 1024,
           (unsigned long long)(k->vmo_bytes > scaled ? k->vmo_bytes - scaled : 0) / 1024,
           (unsigned long long)k->total_heap_bytes / 1024,
           (unsigned long long)k->mmu_overhead_bytes / 1024,
           (unsigned long long)k->wired_bytes / 1024, (unsigned long long)k->other_bytes / 1024);
}
