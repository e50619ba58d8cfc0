// The clone-tree model for pager roots (docs/pager.md, "Children"): seeded random operations on
// one pager-backed VMO, its slices and its SNAPSHOT_AT_LEAST_ON_WRITE clones, over simulated RAM,
// against a model of bytes per page. A host pager answers every request as soon as an access
// waits (host_objects.c calls back here): it supplies each missing page with its "file" content,
// so the model knows what a missing page will read.
//
// Modelled: the root's pages (missing, or present with bytes, Dirty after a write or ZERO, Clean
// again after writeback), every clone's own pages (it reads the root's current content elsewhere
// inside its window, zero past it; the window shrinks with the root and never grows back). A seed
// makes the root resizable (resizes, no slices) or not (a slice of it, which reads and writes its
// pages). After every step: query_dirty_ranges equals the model's runs, every tree passes
// cow_check_tree_locked and page_source_check_locked, the root's committed bytes equal its present
// pages, and no request is left outstanding. Every 16 steps every VMO is read whole and compared
// (which supplies whatever is missing). Eviction of a root page must succeed exactly when the
// model says the page is present, Clean and not zero. A clone's own pages (zero pages written
// as such among them) are compressed by a stand-in codec, which changes no content: a zero page
// must stay a marker that hides the root, whose page may be missing then and supplied later with
// content; the root's pages must refuse. The zero-page scanner's step (cow_dedup_zero_page_locked)
// must do the same to a clone's zero pages and leave the root's alone. At the end every page and
// heap object is back.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kernel/heap.h"
#include "kernel/ktest.h"
#include "kernel/object.h"
#include "test/host/fake_codec.h"
#include "test/host/host_env.h"
#include "vm/cow_compress.h"
#include "vm/cow_pages.h"
#include "vm/page_list.h"
#include "vm/page_source.h"
#include "vm/pmm.h"
#include "vm/vmo.h"

#define P ((uint64_t)PAGE_SIZE)
#define NP 16u     // the root's largest size, in pages
#define NCLONES 3  // clones of the root

// The pager's "file": the pattern byte of each page (0: a page of zeros); see fill_page. Writeback
// stores the root's content here, as a file system would.
static uint8_t file[NP];

static void fill_page(uint8_t *dst, uint8_t b) {
    for (size_t i = 0; i < PAGE_SIZE; i++)
        dst[i] = b ? (uint8_t)(b + (i & 0x3f)) : 0;
}

struct pclone {
    struct vmo *v;      // NULL: no clone here
    uint64_t off;       // root pages it starts at
    uint64_t pages;     // its size
    uint64_t window;    // it reads the root through pages [0, window) of its own
    bool own[NP];
    uint8_t byte[NP];   // its own pages' byte 0 pattern (content is fill_page(byte))
};

struct pmodel {
    struct vmo *root;
    struct page_source *src;
    uint64_t pages;
    bool present[NP];
    bool dirty[NP];
    uint8_t byte[NP];  // present pages' pattern byte (zero content: 0)
    struct pclone clones[NCLONES];
    bool resizable;     // the root: resizable (and no slices) or not
    struct vmo *slice;  // a slice of the whole root (reads and writes it)
    uint64_t slice_pages;
    uint64_t requests, supplied_pages, evicted;
    uint64_t clamped_reads;  // clone reads past a clamped window where the root has content
    uint64_t compressed, zeroed;  // clone pages compressed, and clone zero pages made markers
    uint64_t deduped;             // clone zero pages the scanner's step made markers
};

static struct pmodel pm;
static uint64_t rng;

static uint32_t rnd(uint32_t n) {
    rng = rng * 6364136223846793005ull + 1442695040888963407ull;
    return (uint32_t)(rng >> 33) % n;
}

#define PFAIL(...)                                            \
    do {                                                      \
        fprintf(stderr, "cow_pager_model: " __VA_ARGS__);     \
        fprintf(stderr, "\n");                                \
        panic("cow_pager_model: the VMOs disagree with the model"); \
    } while (0)

// --- The host pager (host_objects.c's page_request_wait calls host_pager_serve) ---

// Supplies every missing page of the root, all at once, with the file's content (the requests
// the access sent are all covered: one supply answers them).
static void serve(struct page_source *src) {
    ASSERT(src == pm.src);
    struct vmo *aux;
    zx_status_t st = vmo_create(pm.pages * P, 0, &aux);
    ASSERT(st == ZX_OK);
    static uint8_t page[PAGE_SIZE];
    for (uint64_t p = 0; p < pm.pages; p++) {
        if (!file[p])
            continue;  // left uncommitted in aux: supplies zeros
        fill_page(page, file[p]);
        st = vmo_write(aux, page, p * P, P);
        ASSERT(st == ZX_OK);
    }
    struct vmpl_splice *sp = kmalloc(sizeof(*sp));
    ASSERT(sp);
    st = vmo_take_pages(aux, 0, pm.pages * P, sp);
    ASSERT(st == ZX_OK);
    mutex_acquire(&src->tree->lock);
    st = page_source_supply_locked(src, 0, sp, MIN(pm.pages, src->root->size / P) * P);
    mutex_release(&src->tree->lock);
    ASSERT(st == ZX_OK);
    kfree(sp);
    kobject_release(vmo_object(aux));
    for (uint64_t p = 0; p < pm.pages; p++) {
        if (!pm.present[p]) {
            pm.present[p] = true;
            pm.byte[p] = file[p];
            pm.supplied_pages++;
        }
    }
    pm.requests++;
}

// --- The model's view ---

// Byte-0 pattern of root page p as the model has it, or -1 for zero content... all pages of the
// model are fill_page(byte) or all zero (byte 0).
static uint8_t root_byte(uint64_t p) {
    if (!pm.present[p])
        return file[p];  // what a read will get (it asks the pager)
    return pm.byte[p];
}

static uint8_t clone_byte(const struct pclone *c, uint64_t q) {
    if (c->own[q])
        return c->byte[q];
    if (q >= c->window || c->off + q >= pm.pages)
        return 0;
    return root_byte(c->off + q);
}

static void expect_page(struct vmo *v, uint64_t q, uint8_t b, const char *what) {
    static uint8_t got[PAGE_SIZE], want[PAGE_SIZE];
    zx_status_t st = vmo_read(v, got, q * P, P);
    if (st != ZX_OK)
        PFAIL("%s page %llu: read %d", what, (unsigned long long)q, st);
    fill_page(want, b);
    if (memcmp(got, want, PAGE_SIZE) != 0)
        PFAIL("%s page %llu: byte 0 is %#x, model %#x", what, (unsigned long long)q, got[0], b);
}

static void check_everything_read(void) {
    for (uint64_t p = 0; p < pm.pages; p++)
        expect_page(pm.root, p, root_byte(p), "root");
    for (int i = 0; i < NCLONES; i++) {
        struct pclone *c = &pm.clones[i];
        for (uint64_t q = 0; c->v && q < c->pages; q++)
            expect_page(c->v, q, clone_byte(c, q), "clone");
    }
    for (uint64_t q = 0; pm.slice && q < pm.slice_pages; q++)
        expect_page(pm.slice, q, q < pm.pages ? root_byte(q) : 0, "slice");
}

// query_dirty_ranges: maximal runs of Dirty or AwaitingClean pages, and of such zero content.
struct dirty_rec {
    size_t n;
    uint64_t r[NP][3];
};

static zx_status_t record_dirty(void *ctx, uint64_t offset, uint64_t len, uint64_t options) {
    struct dirty_rec *d = ctx;
    ASSERT(d->n < NP);
    d->r[d->n][0] = offset / P;
    d->r[d->n][1] = len / P;
    d->r[d->n][2] = options;
    d->n++;
    return ZX_ERR_NEXT;
}

static void check_dirty_ranges(int step) {
    struct dirty_rec got = {0}, want = {0};
    for (uint64_t p = 0; p < pm.pages; p++) {
        if (!pm.present[p] || !pm.dirty[p])
            continue;
        uint64_t opt = pm.byte[p] ? 0 : ZX_VMO_DIRTY_RANGE_IS_ZERO;
        if (want.n && want.r[want.n - 1][0] + want.r[want.n - 1][1] == p &&
            want.r[want.n - 1][2] == opt) {
            want.r[want.n - 1][1]++;
        } else {
            want.r[want.n][0] = p;
            want.r[want.n][1] = 1;
            want.r[want.n][2] = opt;
            want.n++;
        }
    }
    mutex_acquire(&pm.src->tree->lock);
    zx_status_t st = page_source_dirty_ranges_locked(pm.src, 0, pm.pages * P, record_dirty, &got);
    mutex_release(&pm.src->tree->lock);
    if (st != ZX_OK || got.n != want.n || memcmp(got.r, want.r, sizeof(got.r[0]) * got.n) != 0) {
        for (size_t i = 0; i < got.n; i++)
            fprintf(stderr, "  got [%llu, +%llu) %llu\n", (unsigned long long)got.r[i][0],
                    (unsigned long long)got.r[i][1], (unsigned long long)got.r[i][2]);
        for (size_t i = 0; i < want.n; i++)
            fprintf(stderr, "  want [%llu, +%llu) %llu\n", (unsigned long long)want.r[i][0],
                    (unsigned long long)want.r[i][1], (unsigned long long)want.r[i][2]);
        PFAIL("step %d: dirty ranges differ (status %d)", step, st);
    }
}

static void check_invariants(int step) {
    check_dirty_ranges(step);
    if (!vmo_check_tree(pm.root))
        PFAIL("step %d: cow_check_tree failed", step);
    mutex_acquire(&pm.src->tree->lock);
    bool ok = page_source_check_locked(pm.src);
    bool idle = list_is_empty(&pm.src->requests);
    size_t tree_pages = pm.src->tree->pages;
    mutex_release(&pm.src->tree->lock);
    if (!ok)
        PFAIL("step %d: page_source_check failed", step);
    if (!idle)
        PFAIL("step %d: a request is still outstanding", step);
    if (vmo_tree_pages(pm.root) != tree_pages)
        PFAIL("step %d: tree pages %zu, counted %zu", step, tree_pages, vmo_tree_pages(pm.root));
    zx_info_vmo_t i;
    vmo_get_info(pm.root, &i);
    uint64_t committed = 0;
    for (uint64_t p = 0; p < pm.pages; p++)
        committed += pm.present[p] && pm.byte[p] != 0;
    if (i.committed_bytes != committed * P)
        PFAIL("step %d: root commits %llu pages, model %llu", step,
              (unsigned long long)(i.committed_bytes / P), (unsigned long long)committed);
}

// --- Operations ---

static struct pclone *pick_clone(void) {
    int k = (int)rnd(NCLONES);
    for (int i = 0; i < NCLONES; i++) {
        struct pclone *c = &pm.clones[(k + i) % NCLONES];
        if (c->v)
            return c;
    }
    return NULL;
}

static void op_root_write(void) {
    uint64_t p = rnd((uint32_t)pm.pages);
    static uint8_t page[PAGE_SIZE];
    uint8_t b = (uint8_t)(0x80 + rnd(0x7f));
    fill_page(page, b);
    struct vmo *v = pm.slice && rnd(3) == 0 && p < pm.slice_pages ? pm.slice : pm.root;
    zx_status_t st = vmo_write(v, page, p * P, P);
    if (st != ZX_OK)
        PFAIL("root write %d", st);
    pm.present[p] = true;  // (a missing page was asked for, and served, first)
    pm.dirty[p] = true;
    pm.byte[p] = b;
}

static void op_root_zero(void) {
    uint64_t a = rnd((uint32_t)pm.pages), n = 1 + rnd((uint32_t)(pm.pages - a));
    zx_status_t st = vmo_op_range(pm.root, ZX_VMO_OP_ZERO, a * P, n * P);
    if (st != ZX_OK)
        PFAIL("root zero %d", st);
    for (uint64_t p = a; p < a + n; p++) {
        pm.present[p] = true;
        pm.dirty[p] = true;
        pm.byte[p] = 0;
    }
}

static void op_root_resize(void) {
    if (!pm.resizable)
        return;
    uint64_t np = 1 + rnd(NP);
    zx_status_t st = vmo_set_size(pm.root, np * P);
    if (st != ZX_OK)
        PFAIL("resize %d", st);
    for (uint64_t p = np; p < pm.pages; p++)
        pm.present[p] = pm.dirty[p] = false;
    for (uint64_t p = pm.pages; p < np; p++) {
        pm.present[p] = pm.dirty[p] = true;  // grown: Dirty zeros
        pm.byte[p] = 0;
    }
    // Clones read zero past a shrink, even after it grows again.
    for (int i = 0; i < NCLONES; i++) {
        struct pclone *c = &pm.clones[i];
        if (c->v && np < c->off + c->window)
            c->window = np > c->off ? np - c->off : 0;
    }
    pm.pages = np;
}

static void op_evict(void) {
    uint64_t p = rnd((uint32_t)pm.pages);
    mutex_acquire(&pm.src->tree->lock);
    bool done = page_source_evict_clean_page_locked(pm.src, p * P);
    mutex_release(&pm.src->tree->lock);
    bool want = pm.present[p] && !pm.dirty[p] && pm.byte[p] != 0;
    if (done != want)
        PFAIL("evict page %llu: %d, model %d", (unsigned long long)p, done, want);
    if (done) {
        pm.present[p] = false;
        pm.evicted++;
    }
}

// The pager writes [a, a + n) back: WRITEBACK_BEGIN, copy the Dirty content into the file, END.
// Sometimes a write lands between the two (it stays Dirty).
static void op_writeback(void) {
    uint64_t a = rnd((uint32_t)pm.pages), n = 1 + rnd((uint32_t)(pm.pages - a));
    uint64_t w = a + rnd((uint32_t)n);
    bool racing_write = rnd(4) == 0 && pm.present[w];
    mutex_acquire(&pm.src->tree->lock);
    zx_status_t st = page_source_writeback_begin_locked(pm.src, a * P, (a + n) * P);
    mutex_release(&pm.src->tree->lock);
    if (st != ZX_OK)
        PFAIL("writeback begin %d", st);
    for (uint64_t p = a; p < a + n; p++) {
        if (pm.present[p] && pm.dirty[p]) {
            file[p] = pm.byte[p];
            pm.dirty[p] = false;
        }
    }
    if (racing_write) {
        static uint8_t page[PAGE_SIZE];
        uint8_t b = (uint8_t)(0x80 + rnd(0x7f));
        fill_page(page, b);
        st = vmo_write(pm.root, page, w * P, P);
        if (st != ZX_OK)
            PFAIL("write during writeback %d", st);
        pm.dirty[w] = true;
        pm.byte[w] = b;
    }
    mutex_acquire(&pm.src->tree->lock);
    st = page_source_writeback_end_locked(pm.src, a * P, (a + n) * P);
    mutex_release(&pm.src->tree->lock);
    if (st != ZX_OK)
        PFAIL("writeback end %d", st);
}

static void op_clone_create(void) {
    struct pclone *c = &pm.clones[rnd(NCLONES)];
    if (c->v)
        kobject_release(vmo_object(c->v));
    memset(c, 0, sizeof(*c));
    c->off = rnd((uint32_t)pm.pages);
    c->pages = 1 + rnd(NP - (uint32_t)c->off);
    zx_status_t st = vmo_create_child(pm.root, ZX_VMO_CHILD_SNAPSHOT_AT_LEAST_ON_WRITE, c->off * P,
                                      c->pages * P, &c->v);
    if (st != ZX_OK)
        PFAIL("clone %d", st);
    c->window = MIN(c->pages, pm.pages - c->off);
}

static void op_clone_write(void) {
    struct pclone *c = pick_clone();
    if (!c)
        return;
    uint64_t q = rnd((uint32_t)c->pages);
    bool zero = rnd(4) == 0;
    zx_status_t st;
    uint8_t b = 0;
    if (zero) {
        st = vmo_op_range(c->v, ZX_VMO_OP_ZERO, q * P, P);
    } else {
        static uint8_t page[PAGE_SIZE];
        b = rnd(4) ? (uint8_t)(0x80 + rnd(0x7f)) : 0;  // 0: a page of zeros, written
        fill_page(page, b);
        st = vmo_write(c->v, page, q * P, P);  // asks for a missing page it reads through
    }
    if (st != ZX_OK)
        PFAIL("clone %s %d", zero ? "zero" : "write", st);
    c->own[q] = true;
    c->byte[q] = b;
}

static void op_clone_read(void) {
    struct pclone *c = pick_clone();
    if (!c)
        return;
    uint64_t q = rnd((uint32_t)c->pages);
    uint8_t want = clone_byte(c, q);
    pm.clamped_reads += !c->own[q] && q >= c->window && c->off + q < pm.pages &&
                        root_byte(c->off + q) != 0;
    expect_page(c->v, q, want, "clone read");
}

// A page for reclaim to try: of a clone (3 times in 4) or of the root, at a random offset; with
// the node's tree lock held on return, and whether the node holds a page of its own there.
struct reclaim_target {
    struct pclone *c;  // NULL: the root
    struct cow_node *n;
    uint64_t q;
    bool page;
};

NO_THREAD_SAFETY_ANALYSIS static struct reclaim_target pick_reclaim_target(void) {
    struct reclaim_target t = {.c = rnd(4) ? pick_clone() : NULL};
    t.n = t.c ? vmo_cow_node(t.c->v) : vmo_cow_node(pm.root);
    t.q = rnd((uint32_t)(t.c ? t.c->pages : pm.pages));
    mutex_acquire(&t.n->tree->lock);
    vmpl_slot_t *slot = vmpl_lookup(&t.n->pages, t.q * P);
    t.page = slot && vmpl_slot_is_page(*slot);
    return t;
}

// Compresses a page of a clone's own (NOT_FOUND where it has none), or asks to compress a page of
// the root (always NOT_SUPPORTED: evicted, never compressed). No content changes.
NO_THREAD_SAFETY_ANALYSIS static void op_compress(void) {
    struct reclaim_target t = pick_reclaim_target();
    struct pclone *c = t.c;
    enum cow_compress_result res = 0;
    zx_status_t st = cow_compress_page_locked(t.n, t.q * P, &res);
    mutex_release(&t.n->tree->lock);
    zx_status_t want = !c ? ZX_ERR_NOT_SUPPORTED : t.page ? ZX_OK : ZX_ERR_NOT_FOUND;
    if (st != want)
        PFAIL("compress %s page %llu: %d, want %d", c ? "clone" : "root", (unsigned long long)t.q,
              st, want);
    if (st == ZX_OK) {
        enum cow_compress_result r = c->byte[t.q] ? COW_COMPRESS_STORED : COW_COMPRESS_ZERO;
        if (!c->own[t.q] || res != r)
            PFAIL("compress clone page %llu: result %d, model %d (own %d)",
                  (unsigned long long)t.q, res, r, c->own[t.q]);
        pm.compressed += res == COW_COMPRESS_STORED;
        pm.zeroed += res == COW_COMPRESS_ZERO;
    }
}

// The zero-page scanner's step on a page of a clone's own (NOT_FOUND where it has no page, e.g.
// compressed) or of the root (left alone: a pager VMO's zero page may be Dirty). A clone's zero
// page must become a marker that hides the root, as in op_compress; no content changes.
NO_THREAD_SAFETY_ANALYSIS static void op_dedup(void) {
    struct reclaim_target t = pick_reclaim_target();
    struct pclone *c = t.c;
    bool deduped = false;
    zx_status_t st = cow_dedup_zero_page_locked(t.n, t.q * P, &deduped);
    mutex_release(&t.n->tree->lock);
    zx_status_t want = !c || t.page ? ZX_OK : ZX_ERR_NOT_FOUND;
    bool want_deduped = c && t.page && c->byte[t.q] == 0;
    if (st != want || deduped != want_deduped)
        PFAIL("dedup %s page %llu: %d (deduped %d), want %d (%d)", c ? "clone" : "root",
              (unsigned long long)t.q, st, deduped, want, want_deduped);
    if (deduped && !c->own[t.q])
        PFAIL("dedup clone page %llu: not its own in the model", (unsigned long long)t.q);
    pm.deduped += deduped;
}

static void op_slice(void) {
    if (pm.resizable)
        return;  // no slices of resizable VMOs
    if (pm.slice) {
        kobject_release(vmo_object(pm.slice));
        pm.slice = NULL;
        return;
    }
    pm.slice_pages = pm.pages;
    zx_status_t st = vmo_create_child(pm.root, ZX_VMO_CHILD_SLICE, 0, pm.slice_pages * P,
                                      &pm.slice);
    if (st != ZX_OK)
        PFAIL("slice %d", st);
}

static void op_read_all(void) {
    check_everything_read();
}

struct pop {
    const char *name;
    unsigned weight;
    void (*run)(void);
};

static const struct pop pops[] = {
    {"root_write", 3, op_root_write}, {"root_zero", 1, op_root_zero},
    {"root_resize", 1, op_root_resize}, {"evict", 3, op_evict},
    {"clone_create", 1, op_clone_create}, {"clone_write", 3, op_clone_write},
    {"clone_read", 3, op_clone_read}, {"slice", 1, op_slice},
    {"read_all", 1, op_read_all}, {"writeback", 3, op_writeback},
    {"compress", 3, op_compress}, {"dedup", 2, op_dedup},
};

static void pager_model_run(uint64_t seed, int steps, bool resizable) {
    rng = seed;
    size_t base_vmo = pmm_count(PAGE_STATE_VMO), base_heap = host_alloc_live();
    memset(&pm, 0, sizeof(pm));
    pm.src = kzalloc(sizeof(*pm.src));
    ASSERT(pm.src);
    pm.pages = 8;
    for (uint64_t p = 0; p < NP; p++)
        file[p] = p % 5 == 4 ? 0 : (uint8_t)(0x40 + p * 3);  // some pages of zeros
    pm.resizable = resizable;
    zx_status_t st = vmo_create_pager_backed(pm.pages * P, pm.resizable ? ZX_VMO_RESIZABLE : 0,
                                             pm.src, &pm.root);
    ASSERT(st == ZX_OK);
    host_pager_serve = serve;
    fake_codec_refuse_some = false;  // every page of a clone's own compresses
    cow_compress_set_codec(&fake_codec);
    unsigned total = 0;
    for (size_t k = 0; k < sizeof(pops) / sizeof(pops[0]); k++)
        total += pops[k].weight;
    for (int step = 0; step < steps; step++) {
        unsigned x = rnd(total), k = 0;
        while (x >= pops[k].weight)
            x -= pops[k++].weight;
        pops[k].run();
        check_invariants(step);
        if (step % 16 == 15)
            op_read_all();
    }
    check_everything_read();
    if (pm.slice)
        kobject_release(vmo_object(pm.slice));
    for (int i = 0; i < NCLONES; i++) {
        if (pm.clones[i].v)
            kobject_release(vmo_object(pm.clones[i].v));
    }
    kobject_release(vmo_object(pm.root));  // the last clone gone: the source goes with it
    host_pager_serve = NULL;
    cow_compress_set_codec(NULL);
    if (fake_codec_live() != 0)
        PFAIL("seed %llu: %zu compressed references not freed", (unsigned long long)seed,
              fake_codec_live());
    if (pmm_count(PAGE_STATE_VMO) != base_vmo || host_alloc_live() != base_heap)
        PFAIL("seed %llu: pages %zu/%zu heap %zu/%zu not back", (unsigned long long)seed,
              pmm_count(PAGE_STATE_VMO), base_vmo, host_alloc_live(), base_heap);
}

KTEST(cow_pager_model, random_operations_on_a_pager_root_and_its_clones) {
    uint64_t requests = 0, supplied = 0, evicted = 0, clamped = 0, compressed = 0, zeroed = 0,
             deduped = 0;
    for (uint64_t seed = 1; seed <= 40; seed++) {
        pager_model_run(seed * 0x9e3779b97f4a7c15ull, 400, seed % 2 == 1);
        requests += pm.requests;
        supplied += pm.supplied_pages;
        evicted += pm.evicted;
        clamped += pm.clamped_reads;
        compressed += pm.compressed;
        zeroed += pm.zeroed;
        deduped += pm.deduped;
    }
    printf("    %llu waits answered, %llu pages supplied, %llu evicted, %llu clone reads past a "
           "clamped window, %llu clone pages compressed, %llu clone zero pages made markers, %llu "
           "deduplicated by the scanner's step\n",
           (unsigned long long)requests, (unsigned long long)supplied,
           (unsigned long long)evicted, (unsigned long long)clamped,
           (unsigned long long)compressed, (unsigned long long)zeroed,
           (unsigned long long)deduped);
    EXPECT_GT(requests, 100u);
    EXPECT_GT(evicted, 100u);
    EXPECT_GT(compressed, 100u);
    EXPECT_GT(zeroed, 20u);
}
