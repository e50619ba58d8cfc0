// The `mem` program's figures (userboot/mem_report.c) add up: with VMOs shared between VMOs
// (snapshots, a slice) and between processes in two jobs, each job's row is the sum of the
// processes under it, each process's row is its own ZX_INFO_TASK_STATS, every VMO the test made
// is listed once with the processes that use it, and the VMOs' scaled bytes add up to the kernel's
// vmo_bytes (every VMO page of the system belongs to some process's VMO here).
#include <stdio.h>

#include "test/user/utest.h"
#include "userboot/mem_report.h"

#define FRAC_ONE ((uint64_t)1 << 63)

// The report lives in a VMO mapped for the test (a test must not grow the program's memory).
static struct mem_report *map_report(zx_handle_t *vmo, size_t *len) {
    *len = (sizeof(struct mem_report) + PAGE - 1) & ~(PAGE - 1);
    *vmo = ut_vmo(*len, -1);
    return (struct mem_report *)ut_map(*vmo, 0, *len, ZX_VM_PERM_READ | ZX_VM_PERM_WRITE);
}

static const struct mem_vmo *find_vmo(const struct mem_report *r, zx_koid_t koid) {
    for (size_t i = 0; i < r->nvmos; i++) {
        if (r->vmos[i].info.koid == koid)
            return &r->vmos[i];
    }
    return NULL;
}

static const struct mem_proc *find_proc(const struct mem_report *r, zx_koid_t koid) {
    for (size_t i = 0; i < r->nprocs; i++) {
        if (r->procs[i].koid == koid)
            return &r->procs[i];
    }
    return NULL;
}

// Whether job `j` is `ancestor` or below it.
static bool job_under(const struct mem_report *r, zx_koid_t j, zx_koid_t ancestor) {
    while (j) {
        if (j == ancestor)
            return true;
        zx_koid_t parent = 0;
        for (size_t i = 0; i < r->njobs; i++) {
            if (r->jobs[i].koid == j)
                parent = r->jobs[i].parent;
        }
        j = parent;
    }
    return false;
}

TEST(figures_add_up_to_the_kernels_totals) {
    // Memory shared every way the report must add up: a VMO with 8 committed pages, a snapshot
    // of it with 2 pages of its own, a slice of it; a second process (in a new job) maps the
    // original, a third maps the snapshot.
    zx_handle_t a = ut_vmo(8 * PAGE, 0x61);
    zx_handle_t snap = ut_child(a, ZX_VMO_CHILD_SNAPSHOT, 0, 8 * PAGE);
    ut_vmo_set_byte(snap, 0, 1);
    ut_vmo_set_byte(snap, 5 * PAGE, 1);
    zx_handle_t slice = ut_child(a, ZX_VMO_CHILD_SLICE, 2 * PAGE, 4 * PAGE);
    uintptr_t ma = ut_map(a, 0, 8 * PAGE, ZX_VM_PERM_READ);
    uintptr_t ml = ut_map(slice, 0, 4 * PAGE, ZX_VM_PERM_READ);
    zx_handle_t job = ZX_HANDLE_INVALID, p2, v2, p3, v3;
    REQUIRE_OK(zx_job_create(zx_job_default(), 0, &job));
    REQUIRE_OK(zx_process_create(job, "mem-p2", 6, 0, &p2, &v2));
    REQUIRE_OK(zx_process_create(job, "mem-p3", 6, 0, &p3, &v3));
    zx_vaddr_t addr;
    EXPECT_OK(zx_vmar_map(v2, ZX_VM_PERM_READ, 0, a, 0, 8 * PAGE, &addr));
    EXPECT_OK(zx_vmar_map(v3, ZX_VM_PERM_READ, 0, snap, 0, 8 * PAGE, &addr));

    zx_handle_t rvmo;
    size_t rlen;
    struct mem_report *r = map_report(&rvmo, &rlen);
    REQUIRE_TRUE(r != NULL);
    REQUIRE_OK(mem_report_collect(zx_job_default(), r));
    EXPECT_FALSE(r->truncated);

    // Each process's row is its TASK_STATS now (nothing changed in between).
    zx_info_task_stats_t mine;
    ut_get_info(zx_process_self(), ZX_INFO_TASK_STATS, &mine, sizeof(mine));
    const struct mem_proc *me = find_proc(r, ut_koid(zx_process_self()));
    REQUIRE_TRUE(me != NULL);
    EXPECT_EQ(memcmp(&me->stats, &mine, sizeof(mine)), 0);
    const struct mem_proc *q2 = find_proc(r, ut_koid(p2)), *q3 = find_proc(r, ut_koid(p3));
    REQUIRE_TRUE(q2 != NULL && q3 != NULL);
    EXPECT_EQ(strcmp(q2->name, "mem-p2"), 0);
    EXPECT_EQ(q2->job, ut_koid(job));
    // p2 maps the original: 8 pages, shared with us (its process count is 2) and with the
    // snapshot (pages 0 and 5 are the original's alone within the tree, but two processes map it).
    EXPECT_EQ(q2->stats.mem_mapped_bytes, 8 * PAGE);
    EXPECT_EQ(q2->stats.mem_shared_bytes, 8 * PAGE);
    EXPECT_EQ(q2->stats.mem_private_bytes, 0);
    // p3 maps the snapshot: its 2 own pages are private, the 6 it shares with the original are
    // shared two ways (VMOs) and one process maps the snapshot.
    EXPECT_EQ(q3->stats.mem_private_bytes, 2 * PAGE);
    EXPECT_EQ(q3->stats.mem_shared_bytes, 6 * PAGE);
    EXPECT_EQ(q3->stats.mem_scaled_shared_bytes, 3 * PAGE);

    // Every job's row is the sum of the processes under it, exactly (fractions carried).
    for (size_t j = 0; j < r->njobs; j++) {
        zx_info_task_stats_t sum = {0};
        struct mem_scaled scaled = {0, 0};
        for (size_t i = 0; i < r->nprocs; i++) {
            if (!job_under(r, r->procs[i].job, r->jobs[j].koid))
                continue;
            sum.mem_mapped_bytes += r->procs[i].stats.mem_mapped_bytes;
            sum.mem_private_bytes += r->procs[i].stats.mem_private_bytes;
            sum.mem_shared_bytes += r->procs[i].stats.mem_shared_bytes;
            mem_scaled_add(&scaled, r->procs[i].stats.mem_scaled_shared_bytes,
                           r->procs[i].stats.mem_fractional_scaled_shared_bytes);
        }
        EXPECT_EQ(r->jobs[j].sum.mem_mapped_bytes, sum.mem_mapped_bytes);
        EXPECT_EQ(r->jobs[j].sum.mem_private_bytes, sum.mem_private_bytes);
        EXPECT_EQ(r->jobs[j].sum.mem_shared_bytes, sum.mem_shared_bytes);
        EXPECT_EQ(r->jobs[j].sum.mem_scaled_shared_bytes, scaled.bytes);
        EXPECT_EQ(r->jobs[j].sum.mem_fractional_scaled_shared_bytes, scaled.frac);
    }
    EXPECT_TRUE(r->njobs >= 2 && r->jobs[0].parent == 0);

    // The test's VMOs, each once, with the processes that use them.
    const struct mem_vmo *va = find_vmo(r, ut_koid(a)), *vs = find_vmo(r, ut_koid(snap)),
                         *vl = find_vmo(r, ut_koid(slice));
    REQUIRE_TRUE(va != NULL && vs != NULL && vl != NULL);
    EXPECT_EQ(va->procs, 2);
    EXPECT_EQ(vs->procs, 2);
    EXPECT_EQ(vl->procs, 1);
    EXPECT_EQ(va->info.flags & (ZX_INFO_VMO_VIA_HANDLE | ZX_INFO_VMO_VIA_MAPPING),
              ZX_INFO_VMO_VIA_HANDLE | ZX_INFO_VMO_VIA_MAPPING);
    EXPECT_EQ(va->info.committed_bytes, 8 * PAGE);
    EXPECT_EQ(va->info.committed_private_bytes, 2 * PAGE);  // pages 0 and 5
    EXPECT_EQ(va->info.committed_scaled_bytes, 5 * PAGE);
    EXPECT_EQ(vs->info.committed_scaled_bytes, 5 * PAGE);
    EXPECT_EQ(vl->info.committed_bytes, 0);                 // a slice's pages are its parent's

    // The VMOs' scaled bytes are every VMO page of the system, each once: the kernel's vmo_bytes
    // (each page's shares are truncated, so the sum may fall short by a fraction of a byte).
    uint64_t total = r->vmo_scaled.bytes + (r->vmo_scaled.frac ? 1 : 0);
    EXPECT_EQ(total, r->kmem.vmo_bytes);
    EXPECT_TRUE(r->vmo_private <= r->vmo_scaled.bytes && r->vmo_scaled.bytes <= r->vmo_committed);
    // Private plus scaled over every process counts each mapped page once per mapping: at least
    // the pages of the mapped VMOs' own content.
    EXPECT_GT(r->jobs[0].sum.mem_private_bytes + r->jobs[0].sum.mem_scaled_shared_bytes, 0);

    mem_report_print(r);

    ut_unmap((uintptr_t)r, rlen);
    zx_handle_close(rvmo);
    zx_task_kill(job);
    zx_handle_close(p2);
    zx_handle_close(v2);
    zx_handle_close(p3);
    zx_handle_close(v3);
    zx_handle_close(job);
    ut_unmap(ma, 8 * PAGE);
    ut_unmap(ml, 4 * PAGE);
    zx_handle_close(slice);
    zx_handle_close(snap);
    zx_handle_close(a);
}

UTEST_MAIN(NULL)
