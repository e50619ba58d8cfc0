// Reclaim through the page queues on the real VMO layer: zero pages become markers (committed
// bytes fall, content stays zero), non-zero pages compress and read back, a snapshot's shared
// pages too, and every page count comes back. Kernel only (the reclaim driver is).
#include "kernel/ktest.h"
#include "kernel/object.h"
#include "kernel/port.h"
#include "kernel/printf.h"
#include "kernel/string.h"
#include "kernel/thread.h"
#include "vm/compressor.h"
#include "vm/page_queues.h"
#include "vm/pager.h"
#include "vm/pmm.h"
#include "vm/reclaim.h"
#include "vm/vmo.h"

#define P ((uint64_t)PAGE_SIZE)
#define NP 64

static uint64_t committed(struct vmo *v) {
    zx_info_vmo_t i;
    vmo_get_info(v, &i);
    return i.committed_bytes;
}

KTEST(reclaim, zero_pages_become_markers_and_data_survives) {
    size_t vmo0 = pmm_count(PAGE_STATE_VMO);
    struct vmo *v, *snap;
    REQUIRE_OK(vmo_create(NP * P, 0, &v));
    REQUIRE_OK(vmo_op_range(v, ZX_VMO_OP_COMMIT, 0, NP * P));  // zero pages
    static uint8_t buf[PAGE_SIZE];
    for (int i = 0; i < NP; i += 4) {  // every fourth page holds text
        for (size_t j = 0; j < P; j++)
            buf[j] = (uint8_t)("jasper page queues "[j % 19] + i);
        REQUIRE_OK(vmo_write(v, buf, (uint64_t)i * P, P));
    }
    EXPECT_EQ(committed(v), (uint64_t)NP * P);
    REQUIRE_OK(vmo_create_child(v, ZX_VMO_CHILD_SNAPSHOT, 0, NP * P, &snap));
    uint64_t before = committed(v) + committed(snap);
    EXPECT_TRUE(pq_check());
    // Reclaim everything that can go (keep no bucket): the queues are aged on demand.
    size_t target = pmm_count(PAGE_STATE_FREE) + NP;
    size_t freed = reclaim_run(target, 0);
    EXPECT_TRUE(freed >= NP * 3 / 4);  // the zero pages at least
    EXPECT_TRUE(pq_check());
    EXPECT_TRUE(vmo_check_tree(v));
    EXPECT_TRUE(committed(v) + committed(snap) < before);
    for (int i = 0; i < NP; i++) {
        REQUIRE_OK(vmo_read(i % 2 ? snap : v, buf, (uint64_t)i * P, P));
        bool ok = true;
        for (size_t j = 0; j < P; j++)
            ok &= buf[j] == (i % 4 ? 0 : (uint8_t)("jasper page queues "[j % 19] + i));
        EXPECT_TRUE(ok);
    }
    EXPECT_TRUE(vmo_check_tree(v));
    kobject_release(vmo_object(snap));
    kobject_release(vmo_object(v));
    EXPECT_EQ(pmm_count(PAGE_STATE_VMO), vmo0);
    EXPECT_TRUE(pq_check());
}

// Accessed pages move to the newest bucket when the accessed bits are harvested.
KTEST(reclaim, harvest_runs_and_queues_stay_valid) {
    reclaim_harvest();
    pq_rotate();
    EXPECT_TRUE(pq_check());
    struct reclaim_watermarks w;
    reclaim_get_watermarks(&w);
    EXPECT_TRUE(w.oom < w.critical && w.critical < w.warning && w.reserve < w.oom);
}

// Takes VMO pages until the pmm refuses one (at most `max`), threading them through their own
// contents; returns how many it got.
static size_t take_vmo_pages(vm_page_t **list, size_t max) {
    size_t n = 0;
    while (n < max) {
        vm_page_t *p = pmm_alloc_page(PAGE_STATE_VMO);
        if (!p)
            break;
        list[n++] = p;
    }
    return n;
}

// The reserve's floors: an ordinary caller (a thread of a process below the root job) stops at
// the reserve, a critical one (a kernel thread, the root job's processes) takes the band above
// the critical reserve too, and other states take the rest. Fails with the band ignored (the
// ordinary caller would take 8).
KTEST(reclaim, ordinary_callers_leave_the_band_to_critical_ones) {
    struct reclaim_watermarks w;
    reclaim_get_watermarks(&w);
    EXPECT_LT(w.critical_reserve, w.reserve);
    static vm_page_t *pages[16];
    size_t free0 = pmm_count(PAGE_STATE_FREE), given0 = pmm_critical_allocs();
    REQUIRE_TRUE(free0 > 64);
    pmm_set_reserve(free0 - 4, free0 - 8);  // 4 pages for anyone, 4 more for critical callers
    struct thread *self = thread_current();
    self->alloc_ordinary = true;
    size_t ordinary = take_vmo_pages(pages, 16);
    self->alloc_ordinary = false;
    size_t critical = take_vmo_pages(pages + ordinary, 16 - ordinary);
    vm_page_t *heap = pmm_alloc_page(PAGE_STATE_HEAP);  // below both floors: still served
    pmm_set_reserve(w.reserve, w.critical_reserve);
    EXPECT_EQ(ordinary, 4);
    EXPECT_EQ(critical, 4);
    EXPECT_EQ(pmm_critical_allocs() - given0, critical);
    EXPECT_TRUE(heap != NULL);
    if (heap)
        pmm_free_page(heap);
    for (size_t i = 0; i < ordinary + critical; i++)
        pmm_free_page(pages[i]);
    EXPECT_EQ(pmm_count(PAGE_STATE_FREE), free0);
    EXPECT_TRUE(pmm_check());
}

// A pager, its port, a pager VMO of NP pages, and the aux VMO its content comes through; the
// pager VMO is supplied with 0x40 + i in every byte of page i.
struct supplied_pager_vmo {
    struct kobject *port, *pgobj;
    struct pager *pg;
    struct vmo *v, *aux;
};

// (Again) supplies every page of f's pager VMO with 0x40 + i in page i.
static zx_status_t supply_every_page(struct supplied_pager_vmo *f) {
    static uint8_t page[PAGE_SIZE];
    for (int i = 0; i < NP; i++) {
        memset(page, 0x40 + i, P);
        zx_status_t st = vmo_write(f->aux, page, (uint64_t)i * P, P);
        if (st != ZX_OK)
            return st;
    }
    return pager_supply_pages(f->pg, f->v, 0, NP * P, f->aux, 0);
}

static zx_status_t supplied_pager_vmo_create(struct supplied_pager_vmo *f) {
    zx_status_t st = port_create(&f->port);
    if (st == ZX_OK)
        st = pager_create(&f->pgobj);
    if (st != ZX_OK)
        return st;
    f->pg = pager_from_object(f->pgobj);
    st = pager_create_vmo(f->pg, 0, f->port, 1, NP * P, &f->v);
    if (st == ZX_OK)
        st = vmo_create(NP * P, 0, &f->aux);
    return st == ZX_OK ? supply_every_page(f) : st;
}

// Releases what the fixture holds besides the pager VMO (which its test releases, in its order).
static void supplied_pager_vmo_release(struct supplied_pager_vmo *f) {
    kobject_release(vmo_object(f->aux));
    kobject_release(f->pgobj);
    kobject_release(f->port);
}

// Clean pager-backed pages are evicted (a later access asks the pager again); a dirty one stays.
KTEST(reclaim, clean_pager_pages_are_evicted_dirty_ones_stay) {
    size_t vmo0 = pmm_count(PAGE_STATE_VMO);
    struct supplied_pager_vmo f;
    REQUIRE_OK(supplied_pager_vmo_create(&f));
    struct pager *pg = f.pg;
    struct vmo *v = f.v, *aux = f.aux;
    static uint8_t buf[PAGE_SIZE];
    memset(buf, 0xd1, P);
    REQUIRE_OK(vmo_write(v, buf, 0, P));  // page 0 is Dirty now
    EXPECT_EQ(committed(v), (uint64_t)NP * P);
    size_t freed = reclaim_run(pmm_count(PAGE_STATE_FREE) + NP, 0);
    EXPECT_TRUE(freed >= NP - 1);
    EXPECT_EQ(committed(v), P);  // only the dirty page is left
    EXPECT_TRUE(pq_check());
    EXPECT_TRUE(vmo_check_tree(v));
    REQUIRE_OK(vmo_read(v, buf, 0, P));
    EXPECT_EQ(buf[0], 0xd1);
    EXPECT_EQ(buf[P - 1], 0xd1);
    // The pager supplies page 1 again, with the same content as before.
    memset(buf, 0x41, P);
    REQUIRE_OK(vmo_write(aux, buf, P, P));
    REQUIRE_OK(pager_supply_pages(pg, v, P, P, aux, P));
    memset(buf, 0, P);
    REQUIRE_OK(vmo_read(v, buf, P, P));
    EXPECT_EQ(buf[0], 0x41);
    EXPECT_EQ(committed(v), 2 * P);
    REQUIRE_OK(pager_detach_vmo(pg, v));
    kobject_release(vmo_object(v));
    supplied_pager_vmo_release(&f);
    EXPECT_EQ(pmm_count(PAGE_STATE_VMO), vmo0);
    EXPECT_TRUE(pq_check());
}

// AT_LEAST_ON_WRITE clones of a pager VMO read its pages in place and copy what they write: the
// pager VMO's pages stay Clean and evictable, the clones' copies stay theirs, and the tree
// checker accepts the pager root with children after every step.
KTEST(reclaim, pager_clones_copy_and_leave_clean_pages_evictable) {
    size_t vmo0 = pmm_count(PAGE_STATE_VMO);
    struct supplied_pager_vmo f;
    REQUIRE_OK(supplied_pager_vmo_create(&f));
    struct pager *pg = f.pg;
    struct vmo *v = f.v, *aux = f.aux, *c, *g;
    static uint8_t buf[PAGE_SIZE];
    REQUIRE_OK(vmo_create_child(v, ZX_VMO_CHILD_SNAPSHOT_AT_LEAST_ON_WRITE, 0, NP * P, &c));
    EXPECT_TRUE(vmo_check_tree(v));
    memset(buf, 0xc0, P);
    REQUIRE_OK(vmo_write(c, buf, 0, P));  // a copy in c; v's page 0 stays Clean
    REQUIRE_OK(vmo_create_child(c, ZX_VMO_CHILD_SNAPSHOT_AT_LEAST_ON_WRITE, 0, NP * P, &g));
    memset(buf, 0x90, P);
    REQUIRE_OK(vmo_write(g, buf, 2 * P, P));
    EXPECT_TRUE(vmo_check_tree(v));
    // c's page 0 is shared with g now (a hidden node holds it); g also has its page 2; none of
    // the pager VMO's pages count for them.
    EXPECT_EQ(committed(v), (uint64_t)NP * P);
    EXPECT_EQ(committed(c), P);
    EXPECT_EQ(committed(g), 2 * P);
    REQUIRE_OK(vmo_read(g, buf, P, P));
    EXPECT_EQ(buf[0], 0x41);  // the pager VMO's page, through c
    REQUIRE_OK(vmo_read(g, buf, 0, P));
    EXPECT_EQ(buf[0], 0xc0);  // c's copy
    // Every page of v is Clean: all evicted, before any anonymous page (the clones' copies are
    // anonymous: pager_clone_pages_compress_and_zeros_keep_hiding_the_root).
    size_t freed = reclaim_run(pmm_count(PAGE_STATE_FREE) + NP, 0);
    EXPECT_TRUE(freed >= NP);
    EXPECT_EQ(committed(v), 0u);
    EXPECT_EQ(committed(c), P);
    EXPECT_EQ(committed(g), 2 * P);
    EXPECT_TRUE(vmo_check_tree(v));
    EXPECT_TRUE(pq_check());
    REQUIRE_OK(vmo_read(g, buf, 0, P));
    EXPECT_EQ(buf[0], 0xc0);
    REQUIRE_OK(vmo_read(g, buf, 2 * P, P));
    EXPECT_EQ(buf[P - 1], 0x90);
    // Supplied again, the evicted page reads through both clones as before.
    memset(buf, 0x43, P);
    REQUIRE_OK(vmo_write(aux, buf, 3 * P, P));
    REQUIRE_OK(pager_supply_pages(pg, v, 3 * P, P, aux, 3 * P));
    REQUIRE_OK(vmo_read(g, buf, 3 * P, P));
    EXPECT_EQ(buf[0], 0x43);
    kobject_release(vmo_object(c));
    EXPECT_TRUE(vmo_check_tree(v));
    REQUIRE_OK(vmo_read(g, buf, 0, P));
    EXPECT_EQ(buf[0], 0xc0);  // c's page lives on in g's view
    kobject_release(vmo_object(v));  // g holds the pager VMO
    EXPECT_TRUE(vmo_check_tree(g));
    REQUIRE_OK(pager_detach_vmo(pg, v));
    kobject_release(vmo_object(g));
    supplied_pager_vmo_release(&f);
    EXPECT_EQ(pmm_count(PAGE_STATE_VMO), vmo0);
    EXPECT_TRUE(pq_check());
}

static uint64_t populated(struct vmo *v) {
    zx_info_vmo_t i;
    vmo_get_info(v, &i);
    return i.populated_bytes;
}

// What a clone of the pager VMO in the test below wrote at page i (0: zeros).
static uint8_t clone_byte(int i, size_t j) {
    return (uint8_t)("a clone's own page, compressible "[j % 33] + i);
}

// Checks page i of `v` against `want` (0: zero, 1: clone_byte(i, .), else memset(want + i)).
static bool page_reads(struct vmo *v, int i, int want) {
    static uint8_t buf[PAGE_SIZE];
    if (vmo_read(v, buf, (uint64_t)i * P, P) != ZX_OK)
        return false;
    for (size_t j = 0; j < P; j++) {
        uint8_t w = want == 0 ? 0 : want == 1 ? clone_byte(i, j) : (uint8_t)(want + i);
        if (buf[j] != w) {
            kprintf("page %d byte %zu: %#x, want %#x\n", i, j, buf[j], w);
            return false;
        }
    }
    return true;
}

// The clones' own pages of a pager VMO are anonymous memory: they compress, and their zero pages
// become markers that keep hiding the pager VMO's page (evicted at the time: missing, not zero),
// which the pager supplies again later with content. Pages of c: 0-15 text and 16-23 zeros
// (moved into a hidden node shared with g), 24-31 text and 32-35 zeros of c's own; g's own 36-39
// zeros; everything else is the pager VMO's (0x40 + i).
KTEST(reclaim, pager_clone_pages_compress_and_zeros_keep_hiding_the_root) {
    size_t vmo0 = pmm_count(PAGE_STATE_VMO);
    struct compressor_stats s0, s1;
    compressor_stats(&s0);
    struct supplied_pager_vmo f;
    REQUIRE_OK(supplied_pager_vmo_create(&f));
    struct pager *pg = f.pg;
    struct vmo *v = f.v, *c, *g;
    static uint8_t buf[PAGE_SIZE];
    REQUIRE_OK(vmo_create_child(v, ZX_VMO_CHILD_SNAPSHOT_AT_LEAST_ON_WRITE, 0, NP * P, &c));
    int want_c[NP], want_g[NP];
    for (int i = 0; i < NP; i++)
        want_c[i] = want_g[i] = 0x40;
    for (int i = 0; i < 36; i++) {
        if (i == 24) {  // c's pages so far go into a hidden node that g shares
            REQUIRE_OK(vmo_create_child(c, ZX_VMO_CHILD_SNAPSHOT_AT_LEAST_ON_WRITE, 0, NP * P, &g));
            EXPECT_TRUE(vmo_check_tree(v));
        }
        bool text = i < 16 || (i >= 24 && i < 32);
        for (size_t j = 0; j < P; j++)
            buf[j] = text ? clone_byte(i, j) : 0;
        REQUIRE_OK(vmo_write(c, buf, (uint64_t)i * P, P));
        want_c[i] = text ? 1 : 0;
        if (i < 24)
            want_g[i] = want_c[i];
    }
    memset(buf, 0, P);
    for (int i = 36; i < 40; i++) {
        REQUIRE_OK(vmo_write(g, buf, (uint64_t)i * P, P));
        want_g[i] = 0;
    }
    EXPECT_TRUE(vmo_check_tree(v));
    EXPECT_TRUE(pq_check());
    EXPECT_EQ(committed(v), (uint64_t)NP * P);
    uint64_t clones = committed(c) + committed(g);
    EXPECT_EQ(clones, 64 * P);  // 24 shared (each counts them), 12 of c's, 4 of g's
    EXPECT_EQ(populated(c) + populated(g), clones);
    // Everything goes: the pager VMO's clean pages are evicted first (its slots are missing
    // again), then the clones' pages compress, and their zero pages become markers.
    size_t freed = reclaim_run(pmm_count(PAGE_STATE_FREE) + 4 * NP, 0);
    EXPECT_GE(freed, (size_t)NP + 40);
    EXPECT_TRUE(vmo_check_tree(v));
    EXPECT_TRUE(pq_check());
    EXPECT_TRUE(compressor_check());
    EXPECT_EQ(committed(v), 0u);
    EXPECT_EQ(committed(c) + committed(g), 0u);
    EXPECT_EQ(populated(c) + populated(g), 40 * P);  // the text pages, compressed (16 shared)
    compressor_stats(&s1);
    EXPECT_EQ(s1.uncompressed_storage_bytes, s0.uncompressed_storage_bytes + 24 * P);
    // The pager supplies every page again: the clones' zeros must not turn into its content.
    REQUIRE_OK(supply_every_page(&f));
    EXPECT_TRUE(vmo_check_tree(v));
    for (int i = 0; i < NP; i++) {
        EXPECT_TRUE(page_reads(c, i, want_c[i]));
        EXPECT_TRUE(page_reads(g, i, want_g[i]));
    }
    EXPECT_TRUE(vmo_check_tree(v));
    EXPECT_TRUE(pq_check());
    EXPECT_EQ(committed(v), (uint64_t)NP * P);
    EXPECT_EQ(committed(c) + committed(g), 40 * P);  // read back: decompressed in place
    kobject_release(vmo_object(g));
    EXPECT_TRUE(vmo_check_tree(v));
    for (int i = 0; i < NP; i++)
        EXPECT_TRUE(page_reads(c, i, want_c[i]));
    kobject_release(vmo_object(c));
    REQUIRE_OK(pager_detach_vmo(pg, v));
    kobject_release(vmo_object(v));
    supplied_pager_vmo_release(&f);
    EXPECT_EQ(pmm_count(PAGE_STATE_VMO), vmo0);
    EXPECT_TRUE(pq_check());
    compressor_stats(&s1);
    EXPECT_EQ(s1.uncompressed_storage_bytes, s0.uncompressed_storage_bytes);
    EXPECT_EQ(s1.compressed_storage_bytes, s0.compressed_storage_bytes);
}

// A pager VMO that shrinks clamps its clones' windows: what it holds later past the new end must
// not show through them, not even along a skip a look-up cached before (vm/cow_skip.c).
KTEST(reclaim, pager_root_shrink_clamps_clones_through_skips) {
    size_t vmo0 = pmm_count(PAGE_STATE_VMO);
    struct kobject *port, *pgobj;
    REQUIRE_OK(port_create(&port));
    REQUIRE_OK(pager_create(&pgobj));
    struct pager *pg = pager_from_object(pgobj);
    struct vmo *v, *aux, *c[4];
    REQUIRE_OK(pager_create_vmo(pg, ZX_VMO_RESIZABLE, port, 1, 4 * P, &v));
    REQUIRE_OK(vmo_create(4 * P, 0, &aux));
    static uint8_t buf[PAGE_SIZE];
    memset(buf, 0x51, P);
    for (int i = 0; i < 4; i++)
        REQUIRE_OK(vmo_write(aux, buf, (uint64_t)i * P, P));
    REQUIRE_OK(pager_supply_pages(pg, v, 0, 4 * P, aux, 0));
    // A chain of clones, each with a page of its own (page 0), so that every level is a node.
    struct vmo *top = v;
    for (int i = 0; i < 4; i++) {
        REQUIRE_OK(vmo_create_child(top, ZX_VMO_CHILD_SNAPSHOT_AT_LEAST_ON_WRITE, 0, 4 * P, &c[i]));
        memset(buf, 0x60 + i, P);
        REQUIRE_OK(vmo_write(c[i], buf, 0, P));
        top = c[i];
    }
    REQUIRE_OK(vmo_read(c[3], buf, 2 * P, P));  // the leaf caches a skip to v over pages 1-3
    EXPECT_EQ(buf[0], 0x51);
    EXPECT_TRUE(vmo_check_tree(v));
    REQUIRE_OK(vmo_set_size(v, P));
    EXPECT_TRUE(vmo_check_tree(v));
    REQUIRE_OK(vmo_set_size(v, 4 * P));
    memset(buf, 0x52, P);
    REQUIRE_OK(vmo_write(v, buf, 2 * P, P));  // content of v's own again past the old end
    REQUIRE_OK(vmo_read(v, buf, 2 * P, P));
    EXPECT_EQ(buf[0], 0x52);
    REQUIRE_OK(vmo_read(c[3], buf, 2 * P, P));
    EXPECT_EQ(buf[0], 0u);  // past the clamped windows: zero
    REQUIRE_OK(vmo_read(c[3], buf, 0, P));
    EXPECT_EQ(buf[0], 0x63);
    EXPECT_TRUE(vmo_check_tree(v));
    for (int i = 4; i-- > 0;)
        kobject_release(vmo_object(c[i]));
    REQUIRE_OK(pager_detach_vmo(pg, v));
    kobject_release(vmo_object(v));
    kobject_release(vmo_object(aux));
    kobject_release(pgobj);
    kobject_release(port);
    EXPECT_EQ(pmm_count(PAGE_STATE_VMO), vmo0);
}

static void fill_text(struct vmo *v, int pages) {
    static uint8_t buf[PAGE_SIZE];
    for (int i = 0; i < pages; i++) {
        for (size_t j = 0; j < P; j++)
            buf[j] = (uint8_t)("always or never needed "[j % 23] + i);
        REQUIRE_OK(vmo_write(v, buf, (uint64_t)i * P, P));
    }
}

// ALWAYS_NEED exempts a range from reclaim; DONT_NEED makes it the first to go.
KTEST(reclaim, always_need_stays_dont_need_goes_first) {
    size_t vmo0 = pmm_count(PAGE_STATE_VMO);
    struct vmo *b, *a;
    REQUIRE_OK(vmo_create(NP * P, 0, &b));
    REQUIRE_OK(vmo_create(NP * P, 0, &a));
    fill_text(a, NP);
    fill_text(b, NP);  // newer than a's pages, but marked DONT_NEED below
    REQUIRE_OK(vmo_op_range(b, ZX_VMO_OP_DONT_NEED, 0, NP * P));
    REQUIRE_OK(vmo_op_range(a, ZX_VMO_OP_ALWAYS_NEED, 0, NP / 2 * P));
    EXPECT_TRUE(pq_check());
    // A little reclaim takes b's pages, not a's.
    (void)reclaim_run(pmm_count(PAGE_STATE_FREE) + 2, 0);
    EXPECT_TRUE(committed(b) < NP * P);
    EXPECT_EQ(committed(a), NP * P);
    // Reclaiming everything leaves a's ALWAYS_NEED half resident.
    (void)reclaim_run(pmm_count(PAGE_STATE_FREE) + 4 * NP, 0);
    EXPECT_TRUE(committed(a) >= NP / 2 * P);
    EXPECT_TRUE(committed(a) < NP * P);
    EXPECT_TRUE(pq_check());
    kobject_release(vmo_object(a));
    kobject_release(vmo_object(b));
    EXPECT_EQ(pmm_count(PAGE_STATE_VMO), vmo0);
}

// PREFETCH and ALWAYS_NEED commit an anonymous range; DONT_NEED keeps what is there.
KTEST(reclaim, prefetch_and_always_need_commit) {
    struct vmo *v;
    REQUIRE_OK(vmo_create(NP * P, 0, &v));
    REQUIRE_OK(vmo_op_range(v, ZX_VMO_OP_PREFETCH, 0, 4 * P));
    EXPECT_EQ(committed(v), 4 * P);
    REQUIRE_OK(vmo_op_range(v, ZX_VMO_OP_ALWAYS_NEED, 4 * P, 4 * P));
    EXPECT_EQ(committed(v), 8 * P);
    REQUIRE_OK(vmo_op_range(v, ZX_VMO_OP_DONT_NEED, 0, NP * P));
    EXPECT_EQ(committed(v), 8 * P);
    EXPECT_STATUS(vmo_op_range(v, ZX_VMO_OP_DONT_NEED, P, NP * P), ZX_ERR_OUT_OF_RANGE);
    kobject_release(vmo_object(v));
}
