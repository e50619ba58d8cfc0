// Compression of clone-tree pages (vm/cow_compress.h): round trips in a VMO without clones, a
// compressed page shared by a hidden node until a writer takes its copy, pages that do not shrink,
// compressions interrupted while in flight, and out-of-memory at every allocation point of
// compressing and decompressing. A stand-in codec stores copies, so the tests do not depend on
// the real compressor's ratio; one test runs the real one. Pure: runs in the kernel and on the
// host.
#include "kernel/heap.h"
#include "kernel/ktest.h"
#include "kernel/printf.h"
#include "kernel/string.h"
#include "test/kernel/oom_inject.h"
#include "vm/cow_compress.h"
#include "vm/pmm.h"
#include "vm/vmo.h"

#define PG ((uint64_t)PAGE_SIZE)

// --- A stand-in codec: a heap copy per reference, "does not shrink" for pages starting 0xee ---

struct copy_ref {
    uint64_t magic;
    uint8_t bytes[PAGE_SIZE];
};
#define COPY_MAGIC 0xc0de5eedc0de5eedull

static size_t copies_live;
static bool copy_fail_next;  // the next compression finds no storage

static zx_status_t copy_compress(const void *page, zref_t *ref, bool *is_zero) {
    const uint8_t *b = page;
    *ref = ZREF_NONE;
    *is_zero = true;
    for (size_t i = 0; i < PAGE_SIZE; i++) {
        if (b[i]) {
            *is_zero = false;
            break;
        }
    }
    if (*is_zero)
        return ZX_OK;
    if (copy_fail_next) {
        copy_fail_next = false;
        return ZX_ERR_NO_MEMORY;
    }
    if (b[0] == 0xee)
        return ZX_ERR_OUT_OF_RANGE;
    struct copy_ref *r = kmalloc(sizeof(*r));
    if (!r)
        return ZX_ERR_NO_MEMORY;
    r->magic = COPY_MAGIC;
    memcpy(r->bytes, page, PAGE_SIZE);
    copies_live++;
    *ref = (zref_t)(uintptr_t)r >> 3;
    return ZX_OK;
}

static struct copy_ref *copy_get(zref_t ref) {
    struct copy_ref *r = (struct copy_ref *)(uintptr_t)(ref << 3);
    ASSERT(ref != ZREF_NONE && r->magic == COPY_MAGIC);
    return r;
}

static zx_status_t copy_decompress(zref_t ref, void *page) {
    memcpy(page, copy_get(ref)->bytes, PAGE_SIZE);
    return ZX_OK;
}

static void copy_free(zref_t ref) {
    if (ref == ZREF_NONE)
        return;
    struct copy_ref *r = copy_get(ref);
    r->magic = 0;
    kfree(r);
    copies_live--;
}

static const struct cow_codec copy_codec = {copy_compress, copy_decompress, copy_free};

// --- Helpers ---

static void fill(uint8_t *b, uint8_t seed) {
    for (size_t i = 0; i < PAGE_SIZE; i++)
        b[i] = (uint8_t)(seed + i * 13 + (i >> 7));
}

// Compresses what `node` owns at `offset` (all three steps).
NO_THREAD_SAFETY_ANALYSIS static zx_status_t compress_at(struct cow_node *node, uint64_t offset,
                                                         enum cow_compress_result *res) {
    struct cow_tree *t = node->tree;
    mutex_acquire(&t->lock);
    zx_status_t st = cow_compress_page_locked(node, offset, res);
    mutex_release(&t->lock);
    return st;
}

static zx_status_t compress_vmo_page(struct vmo *v, uint64_t offset,
                                     enum cow_compress_result *res) {
    return compress_at(vmo_cow_node(v), offset, res);
}

static bool page_equals(struct vmo *v, uint64_t offset, const uint8_t *want) {
    static uint8_t got[PAGE_SIZE];
    if (vmo_peek(v, got, offset, PAGE_SIZE) != ZX_OK)
        return false;
    return memcmp(got, want, PAGE_SIZE) == 0;
}

static uint8_t want[4][PAGE_SIZE];
static uint8_t zeros[PAGE_SIZE];

struct base {
    size_t vmo_pages, free_pages, nodes;
};

static struct base base_now(void) {
    return (struct base){pmm_count(PAGE_STATE_VMO), pmm_count(PAGE_STATE_FREE), vmpl_nodes_live()};
}

static void expect_back(struct base b) {
    EXPECT_EQ(pmm_count(PAGE_STATE_VMO), b.vmo_pages);
    EXPECT_EQ(pmm_count(PAGE_STATE_FREE), b.free_pages);
    EXPECT_EQ(vmpl_nodes_live(), b.nodes);
    EXPECT_EQ(copies_live, 0u);
}

// --- Tests ---

// Pages of a VMO without clones go out and come back through every path: read, read fault,
// write, COMMIT; a zero page becomes nothing; ZX_INFO_VMO counts compressed pages as populated.
KTEST(cow_compress, round_trip_without_clones) {
    struct base b = base_now();
    cow_compress_set_codec(&copy_codec);
    struct vmo *v;
    REQUIRE_OK(vmo_create(5 * PG, 0, &v));
    for (int i = 0; i < 4; i++) {
        fill(want[i], (uint8_t)(i * 40 + 1));
        REQUIRE_OK(vmo_write(v, want[i], (uint64_t)i * PG, PG));
    }
    REQUIRE_OK(vmo_op_range(v, ZX_VMO_OP_COMMIT, 4 * PG, PG));  // a zero page
    enum cow_compress_result res;
    for (int i = 0; i < 4; i++) {
        EXPECT_OK(compress_vmo_page(v, (uint64_t)i * PG, &res));
        EXPECT_EQ(res, COW_COMPRESS_STORED);
    }
    EXPECT_OK(compress_vmo_page(v, 4 * PG, &res));
    EXPECT_EQ(res, COW_COMPRESS_ZERO);
    EXPECT_EQ(compress_vmo_page(v, 4 * PG, &res), ZX_ERR_NOT_FOUND);  // nothing there now
    EXPECT_EQ(copies_live, 4u);
    EXPECT_TRUE(vmo_check_tree(v));
    EXPECT_EQ(vmo_tree_pages(v), 0u);
    zx_info_vmo_t info;
    vmo_get_info(v, &info);
    EXPECT_EQ(info.committed_bytes, 0u);
    EXPECT_EQ(info.populated_bytes, 4 * PG);
    EXPECT_EQ(info.populated_private_bytes, 4 * PG);
    EXPECT_EQ(info.populated_scaled_bytes, 4 * PG);
    for (int i = 0; i < 4; i++)
        EXPECT_TRUE(page_equals(v, (uint64_t)i * PG, want[i]));
    EXPECT_TRUE(page_equals(v, 4 * PG, zeros));
    // Each path brings its page back.
    static uint8_t buf[PAGE_SIZE];
    EXPECT_OK(vmo_read(v, buf, 0, PG));
    EXPECT_EQ(memcmp(buf, want[0], PG), 0);
    paddr_t pa;
    bool w;
    EXPECT_OK(vmo_fault_page(v, PG, 0, &pa, &w));
    EXPECT_TRUE(w);  // its own page again
    EXPECT_EQ(memcmp(vm_page_kva(pmm_page_from_paddr(pa)), want[1], PG), 0);
    uint8_t x = 0x5a;
    EXPECT_OK(vmo_write(v, &x, 2 * PG + 9, 1));
    want[2][9] = 0x5a;
    EXPECT_OK(vmo_op_range(v, ZX_VMO_OP_COMMIT, 3 * PG, PG));
    vmo_get_info(v, &info);
    EXPECT_EQ(info.committed_bytes, 4 * PG);  // the zero page stayed nothing
    EXPECT_EQ(info.populated_bytes, 4 * PG);
    EXPECT_EQ(copies_live, 0u);
    for (int i = 0; i < 4; i++)
        EXPECT_TRUE(page_equals(v, (uint64_t)i * PG, want[i]));
    EXPECT_TRUE(vmo_check_tree(v));
    // References die with their VMO (and with DECOMMIT).
    EXPECT_OK(compress_vmo_page(v, 0, &res));
    EXPECT_OK(compress_vmo_page(v, PG, &res));
    EXPECT_OK(vmo_op_range(v, ZX_VMO_OP_DECOMMIT, 0, PG));
    EXPECT_EQ(copies_live, 1u);
    kobject_release(vmo_object(v));
    cow_compress_set_codec(NULL);
    expect_back(b);
}

// A compressed page in a hidden node stays compressed and shared while the sharers only read
// through peeks; the first writer decompresses its own copy (the other keeps the reference); the
// last sharer decompresses it in place.
KTEST(cow_compress, hidden_page_shared_until_written) {
    struct base b = base_now();
    cow_compress_set_codec(&copy_codec);
    struct vmo *a, *c;
    REQUIRE_OK(vmo_create(2 * PG, 0, &a));
    fill(want[0], 7);
    fill(want[1], 99);
    REQUIRE_OK(vmo_write(a, want[0], 0, PG));
    REQUIRE_OK(vmo_write(a, want[1], PG, PG));
    REQUIRE_OK(vmo_create_child(a, ZX_VMO_CHILD_SNAPSHOT, 0, 2 * PG, &c));
    struct cow_node *hidden = vmo_cow_node(a)->parent;
    REQUIRE_TRUE(hidden != NULL && hidden->hidden);
    enum cow_compress_result res;
    EXPECT_OK(compress_at(hidden, 0, &res));
    EXPECT_EQ(res, COW_COMPRESS_STORED);
    EXPECT_OK(compress_at(hidden, PG, &res));
    EXPECT_TRUE(vmo_check_tree(a));
    zx_info_vmo_t ia, ic;
    vmo_get_info(a, &ia);
    EXPECT_EQ(ia.committed_bytes, 0u);
    EXPECT_EQ(ia.populated_bytes, 2 * PG);
    EXPECT_EQ(ia.populated_private_bytes, 0u);
    EXPECT_EQ(ia.populated_scaled_bytes, PG);  // two pages, each shared two ways
    // The parent writes page 0: its own copy, decompressed; the snapshot still sees the reference.
    uint8_t x = 0x11;
    EXPECT_OK(vmo_write(a, &x, 5, 1));
    EXPECT_EQ(copies_live, 2u);
    vmo_get_info(c, &ic);
    EXPECT_EQ(ic.committed_bytes, 0u);
    EXPECT_EQ(ic.populated_bytes, 2 * PG);
    EXPECT_EQ(ic.populated_private_bytes, PG);  // page 0: only c reaches it now
    EXPECT_TRUE(page_equals(c, 0, want[0]));
    EXPECT_TRUE(vmo_check_tree(a));
    // The snapshot writes page 0: it alone reached it, so the reference goes.
    EXPECT_OK(vmo_write(c, &x, 6, 1));
    EXPECT_EQ(copies_live, 1u);
    // A read fault of page 1 from the snapshot decompresses it in place, in the hidden node: a
    // shared page, mapped read-only.
    paddr_t pa;
    bool w;
    EXPECT_OK(vmo_fault_page(c, PG, 0, &pa, &w));
    EXPECT_FALSE(w);
    EXPECT_EQ(copies_live, 0u);
    EXPECT_EQ(memcmp(vm_page_kva(pmm_page_from_paddr(pa)), want[1], PG), 0);
    EXPECT_TRUE(page_equals(a, PG, want[1]));
    EXPECT_TRUE(vmo_check_tree(a));
    // Compress again and close the snapshot: the hidden node merges into the parent, the
    // reference moves with it and keeps its content.
    EXPECT_OK(compress_at(vmo_cow_node(a)->parent, PG, &res));
    EXPECT_EQ(res, COW_COMPRESS_STORED);
    kobject_release(vmo_object(c));
    EXPECT_TRUE(vmo_check_tree(a));
    EXPECT_TRUE(vmo_cow_node(a)->parent == NULL);
    EXPECT_TRUE(page_equals(a, PG, want[1]));
    kobject_release(vmo_object(a));
    cow_compress_set_codec(NULL);
    expect_back(b);
}

// A page that does not shrink comes back flagged and is mapped read-only until written; a page
// the compressor finds no storage for comes back unflagged.
KTEST(cow_compress, failed_page_waits_for_a_write) {
    struct base b = base_now();
    cow_compress_set_codec(&copy_codec);
    struct vmo *v;
    REQUIRE_OK(vmo_create(2 * PG, 0, &v));
    memset(want[0], 0xee, PG);
    REQUIRE_OK(vmo_write(v, want[0], 0, PG));
    enum cow_compress_result res;
    EXPECT_OK(compress_vmo_page(v, 0, &res));
    EXPECT_EQ(res, COW_COMPRESS_FAILED);
    paddr_t pa;
    bool w;
    EXPECT_OK(vmo_fault_page(v, 0, 0, &pa, &w));
    vm_page_t *p = pmm_page_from_paddr(pa);
    EXPECT_TRUE(p->flags & VM_PAGE_FLAG_COMPRESS_FAILED);
    EXPECT_FALSE(w);  // a write must fault, to clear the flag
    EXPECT_OK(vmo_fault_page(v, 0, VMO_FAULT_WRITE, &pa, &w));
    EXPECT_TRUE(w);
    EXPECT_FALSE(p->flags & VM_PAGE_FLAG_COMPRESS_FAILED);
    fill(want[1], 3);
    REQUIRE_OK(vmo_write(v, want[1], PG, PG));
    copy_fail_next = true;
    EXPECT_EQ(compress_vmo_page(v, PG, &res), ZX_ERR_NO_MEMORY);
    EXPECT_TRUE(page_equals(v, PG, want[1]));
    EXPECT_OK(vmo_fault_page(v, PG, 0, &pa, &w));
    EXPECT_TRUE(w);
    EXPECT_TRUE(vmo_check_tree(v));
    kobject_release(vmo_object(v));
    cow_compress_set_codec(NULL);
    expect_back(b);
}

// Compressions left in flight while the content is needed, the list moves, or the tree dies.
NO_THREAD_SAFETY_ANALYSIS static void in_flight_meets_every_change(void) {
    struct base b = base_now();
    cow_compress_set_codec(&copy_codec);
    struct vmo *v, *c;
    REQUIRE_OK(vmo_create(3 * PG, 0, &v));
    for (int i = 0; i < 3; i++) {
        fill(want[i], (uint8_t)(i + 50));
        REQUIRE_OK(vmo_write(v, want[i], (uint64_t)i * PG, PG));
    }
    struct cow_node *n = vmo_cow_node(v);
    struct cow_tree *t = n->tree;
    struct cow_inflight f[3];
    enum cow_compress_result res;
    mutex_acquire(&t->lock);
    REQUIRE_OK(cow_compress_begin_locked(n, 0, &f[0]));
    REQUIRE_OK(cow_compress_begin_locked(n, PG, &f[1]));
    REQUIRE_OK(cow_compress_begin_locked(n, 2 * PG, &f[2]));
    cow_tree_pin_locked(t);
    mutex_release(&t->lock);
    EXPECT_TRUE(vmo_check_tree(v));
    // A write takes page 0 over (copied from the in-flight page): that compression is abandoned.
    uint8_t x = 0x77;
    EXPECT_OK(vmo_write(v, &x, 1, 1));
    want[0][1] = 0x77;
    // A snapshot moves the list (and page 1's in-flight slot) into a hidden node.
    REQUIRE_OK(vmo_create_child(v, ZX_VMO_CHILD_SNAPSHOT, 0, 3 * PG, &c));
    EXPECT_TRUE(vmo_check_tree(v));
    for (int i = 0; i < 3; i++)
        cow_compress_run(&f[i]);
    mutex_acquire(&t->lock);
    EXPECT_OK(cow_compress_finish_locked(&f[0], &res));
    EXPECT_EQ(res, COW_COMPRESS_ABANDONED);
    EXPECT_OK(cow_compress_finish_locked(&f[1], &res));
    EXPECT_EQ(res, COW_COMPRESS_STORED);
    mutex_release(&t->lock);
    EXPECT_TRUE(vmo_check_tree(v));
    for (int i = 0; i < 3; i++) {
        EXPECT_TRUE(page_equals(v, (uint64_t)i * PG, want[i]));
        EXPECT_TRUE(page_equals(c, (uint64_t)i * PG, want[i]));
    }
    // Both VMOs close while page 2 is still in flight: the pinned tree outlives them.
    kobject_release(vmo_object(c));
    kobject_release(vmo_object(v));
    mutex_acquire(&t->lock);
    EXPECT_OK(cow_compress_finish_locked(&f[2], &res));
    EXPECT_EQ(res, COW_COMPRESS_ABANDONED);
    mutex_release(&t->lock);
    cow_tree_unpin(t);  // the last: frees the tree
    cow_compress_set_codec(NULL);
    expect_back(b);
}

KTEST(cow_compress, in_flight_meets_every_change) {
    in_flight_meets_every_change();
}

// --- Out of memory at every allocation point ---

// A tree with compressed pages in a hidden node and in both visible nodes, and a zero page.
struct oom_env {
    struct vmo *a, *c;
};

static zx_status_t oom_setup(struct oom_env *e) {
    zx_status_t st = vmo_create(4 * PG, 0, &e->a);
    if (st != ZX_OK)
        return st;
    for (int i = 0; i < 3; i++) {
        fill(want[i], (uint8_t)(i * 31 + 5));
        if ((st = vmo_write(e->a, want[i], (uint64_t)i * PG, PG)) != ZX_OK)
            return st;
    }
    if ((st = vmo_create_child(e->a, ZX_VMO_CHILD_SNAPSHOT, 0, 4 * PG, &e->c)) != ZX_OK)
        return st;
    fill(want[3], 200);
    if ((st = vmo_write(e->c, want[3], 3 * PG, PG)) != ZX_OK)
        return st;
    return vmo_write(e->a, want[3], 3 * PG, PG);
}

static void oom_teardown(struct oom_env *e) {
    if (e->c)
        kobject_release(vmo_object(e->c));
    if (e->a)
        kobject_release(vmo_object(e->a));
    *e = (struct oom_env){0};
}

static bool oom_contents_ok(struct oom_env *e) {
    for (int i = 0; i < 4; i++) {
        if (!page_equals(e->a, (uint64_t)i * PG, want[i]) ||
            !page_equals(e->c, (uint64_t)i * PG, want[i]))
            return false;
    }
    return vmo_check_tree(e->a) && vmo_check_tree(e->c);
}

enum oom_step {
    STEP_COMPRESS_HIDDEN,   // compress page 0 of the hidden node
    STEP_COMPRESS_VISIBLE,  // compress page 3 of each visible node
    STEP_READ,              // vmo_read of a compressed page (decompress in place)
    STEP_FAULT,             // read fault on a compressed page
    STEP_WRITE_SHARED,      // write to a compressed page shared through the hidden node
    STEP_COMMIT,            // COMMIT over compressed pages
    STEP_COUNT,
};

static const char *const step_names[] = {"compress hidden", "compress visible", "read", "fault",
                                         "write shared", "commit"};

// Runs `step` on a freshly set-up tree with compressed pages; returns its status.
static zx_status_t oom_step(struct oom_env *e, enum oom_step step) {
    enum cow_compress_result res;
    uint8_t buf[16];
    paddr_t pa;
    bool w;
    switch (step) {
    case STEP_COMPRESS_HIDDEN:
        return compress_at(vmo_cow_node(e->a)->parent, 0, &res);
    case STEP_COMPRESS_VISIBLE: {
        zx_status_t st = compress_vmo_page(e->a, 3 * PG, &res);
        return st != ZX_OK ? st : compress_vmo_page(e->c, 3 * PG, &res);
    }
    case STEP_READ:
        return vmo_read(e->c, buf, PG + 100, sizeof(buf));
    case STEP_FAULT:
        return vmo_fault_page(e->a, 2 * PG, 0, &pa, &w);
    case STEP_WRITE_SHARED: {
        zx_status_t st = vmo_write(e->a, want[1] + 7, PG + 7, 1);  // same byte: content unchanged
        return st != ZX_OK ? st : vmo_write(e->c, want[1] + 9, PG + 9, 1);
    }
    case STEP_COMMIT:
        return vmo_op_range(e->c, ZX_VMO_OP_COMMIT, 0, 4 * PG);
    default:
        return ZX_ERR_INTERNAL;
    }
}

// Before each step every page the step may need is compressed (except for the compress steps).
static void oom_prepare(struct oom_env *e, enum oom_step step) {
    enum cow_compress_result res;
    if (step == STEP_COMPRESS_HIDDEN || step == STEP_COMPRESS_VISIBLE)
        return;
    struct cow_node *hidden = vmo_cow_node(e->a)->parent;
    for (int i = 0; i < 3; i++)
        (void)compress_at(hidden, (uint64_t)i * PG, &res);
    (void)compress_vmo_page(e->a, 3 * PG, &res);
    (void)compress_vmo_page(e->c, 3 * PG, &res);
}

static void oom_every_allocation(enum inject what) {
    size_t failures = 0;
    for (int step = 0; step < STEP_COUNT; step++) {
        for (size_t k = 1; k < 64; k++) {
            struct base b = base_now();
            struct oom_env e = {0};
            REQUIRE_OK(oom_setup(&e));
            oom_prepare(&e, (enum oom_step)step);
            arm(what, k);
            zx_status_t st = oom_step(&e, (enum oom_step)step);
            disarm();
            if (st != ZX_OK && st != ZX_ERR_NO_MEMORY)
                EXPECT_FAILF("%s: status %d", step_names[step], st);
            if (!oom_contents_ok(&e))
                EXPECT_FAILF("%s, failure at allocation %zu: content or tree wrong",
                             step_names[step], k);
            oom_teardown(&e);
            expect_back(b);
            if (ktest_failed())
                return;
            if (st == ZX_OK)
                break;  // the step needed fewer than k allocations
            failures++;
        }
    }
    kprintf("    %zu injected failures over %d steps\n", failures, STEP_COUNT);
    EXPECT_GT(failures, (size_t)STEP_COUNT - 2);
}

KTEST(cow_compress, oom_pages_at_every_allocation) {
    cow_compress_set_codec(&copy_codec);
    oom_every_allocation(INJECT_PAGES);
    cow_compress_set_codec(NULL);
}

#ifdef JASPER_HOST
KTEST(cow_compress, oom_heap_at_every_allocation) {
    cow_compress_set_codec(&copy_codec);
    oom_every_allocation(INJECT_HEAP);
    cow_compress_set_codec(NULL);
}
#endif

// The compressor itself out of storage, in every step that compresses.
KTEST(cow_compress, oom_in_the_compressor) {
    cow_compress_set_codec(&copy_codec);
    struct base b = base_now();
    struct oom_env e = {0};
    REQUIRE_OK(oom_setup(&e));
    enum cow_compress_result res;
    copy_fail_next = true;
    EXPECT_EQ(compress_at(vmo_cow_node(e.a)->parent, PG, &res), ZX_ERR_NO_MEMORY);
    copy_fail_next = true;
    EXPECT_EQ(compress_vmo_page(e.c, 3 * PG, &res), ZX_ERR_NO_MEMORY);
    EXPECT_TRUE(oom_contents_ok(&e));
    oom_teardown(&e);
    cow_compress_set_codec(NULL);
    expect_back(b);
}

// The real compressor (vm/compressor.h), whatever it stores: zero pages become nothing, other
// pages come back with their bytes, and the storage counters return to where they were.
KTEST(cow_compress, real_compressor_round_trip) {
    struct base b = base_now();
    struct compressor_stats s0, s1;
    compressor_stats(&s0);
    struct vmo *v;
    REQUIRE_OK(vmo_create(3 * PG, 0, &v));
    for (size_t i = 0; i < PG; i++)
        want[0][i] = (uint8_t)"text-like content, repeated "[i % 28];
    fill(want[1], 42);
    REQUIRE_OK(vmo_write(v, want[0], 0, PG));
    REQUIRE_OK(vmo_write(v, want[1], PG, PG));
    REQUIRE_OK(vmo_op_range(v, ZX_VMO_OP_COMMIT, 2 * PG, PG));
    enum cow_compress_result res;
    for (int i = 0; i < 3; i++) {
        zx_status_t st = compress_vmo_page(v, (uint64_t)i * PG, &res);
        EXPECT_TRUE(st == ZX_OK || st == ZX_ERR_NO_MEMORY);
        if (i == 2)
            EXPECT_EQ(res, COW_COMPRESS_ZERO);
    }
    EXPECT_TRUE(page_equals(v, 0, want[0]));
    EXPECT_TRUE(page_equals(v, PG, want[1]));
    EXPECT_TRUE(page_equals(v, 2 * PG, zeros));
    EXPECT_TRUE(vmo_check_tree(v));
    kobject_release(vmo_object(v));
    compressor_stats(&s1);
    EXPECT_EQ(s1.compressed_storage_bytes, s0.compressed_storage_bytes);
    EXPECT_EQ(s1.uncompressed_storage_bytes, s0.uncompressed_storage_bytes);
    EXPECT_GE(s1.total_page_compression_attempts, s0.total_page_compression_attempts + 3);
    expect_back(b);
}
