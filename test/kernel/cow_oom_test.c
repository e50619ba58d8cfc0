// Out of memory at every allocation point of every VMO operation, on the real pmm (kernel: page
// allocations, the heap's included) and over simulated RAM (host: pages, and heap objects
// separately). For each scenario a golden run without failures gives the contents after the
// operation; then for k = 1, 2, ... the kth allocation fails: the operation must return ZX_OK
// with the golden contents or ZX_ERR_NO_MEMORY with every page reading its old or its new content
// (all old for all-or-nothing operations), every tree valid, and, once the VMOs are closed,
// every page and heap object back.
#include "kernel/heap.h"
#include "kernel/ktest.h"
#include "kernel/object.h"
#include "kernel/printf.h"
#include "kernel/string.h"
#include "test/kernel/oom_inject.h"
#include "vm/cow_pages.h"
#include "vm/pmm.h"
#include "vm/vmo.h"
#ifdef JASPER_HOST
#include "test/host/host_env.h"
#endif

#define P ((uint64_t)PAGE_SIZE)
#define SNAP ZX_VMO_CHILD_SNAPSHOT
#define NV 4
#define MAXP 40  // pages per VMO at most (a page-list node spans 16)

struct env {
    struct vmo *v[NV];
};

struct scenario {
    const char *name;
    void (*setup)(struct env *e);
    zx_status_t (*op)(struct env *e);
    bool atomic;  // on failure nothing changed at all
};

static void put(struct vmo *v, uint64_t off, uint64_t len, uint8_t b) {
    static uint8_t buf[MAXP * PAGE_SIZE];
    memset(buf, b, (size_t)len);
    zx_status_t st = vmo_write(v, buf, off, (size_t)len);
    ASSERT(st == ZX_OK);
}

static struct vmo *new_vmo(uint64_t pages, uint32_t options) {
    struct vmo *v;
    zx_status_t st = vmo_create(pages * P, options, &v);
    ASSERT(st == ZX_OK);
    return v;
}

static struct vmo *new_child(struct vmo *p, uint32_t options, uint64_t off, uint64_t size) {
    struct vmo *c;
    zx_status_t st = vmo_create_child(p, options, off, size, &c);
    ASSERT(st == ZX_OK);
    return c;
}

// --- Scenarios ---

static void setup_empty(struct env *e) {
    (void)e;
}
static void setup_root(struct env *e) {
    e->v[0] = new_vmo(MAXP, 0);
    put(e->v[0], P, 3 * P, 0x21);
}
static void setup_resizable_root(struct env *e) {
    e->v[0] = new_vmo(MAXP, ZX_VMO_RESIZABLE);
    put(e->v[0], 0, MAXP * P, 0x22);
}
// A root with a snapshot and a grandchild, all sharing pages, the child with a zero interval.
static void setup_tree(struct env *e) {
    e->v[0] = new_vmo(MAXP, 0);
    put(e->v[0], 0, MAXP * P, 0x31);
    e->v[1] = new_child(e->v[0], SNAP | ZX_VMO_CHILD_RESIZABLE, 0, MAXP * P);
    put(e->v[1], 0, 10, 0x32);
    e->v[2] = new_child(e->v[1], SNAP, P, 6 * P);
    zx_status_t st = vmo_op_range(e->v[1], ZX_VMO_OP_ZERO, 3 * P, 4 * P);
    ASSERT(st == ZX_OK);
}

// Wide VMOs: page-list nodes and interval splits across node boundaries.
static void setup_wide(struct env *e) {
    e->v[0] = new_vmo(MAXP, 0);
    put(e->v[0], 0, 2 * P, 0x41);
    put(e->v[0], 30 * P, 4 * P, 0x42);
    e->v[1] = new_child(e->v[0], SNAP | ZX_VMO_CHILD_RESIZABLE, 0, MAXP * P);
    zx_status_t st = vmo_op_range(e->v[1], ZX_VMO_OP_ZERO, 10 * P, 25 * P);
    ASSERT(st == ZX_OK);
    e->v[2] = new_child(e->v[1], SNAP, 0, MAXP * P);
}

// A clone with a zero interval it still holds itself; and one whose interval moved into a hidden
// node and who then wrote inside it (merging that node needs the interval cut).
static void setup_interval(struct env *e) {
    e->v[0] = new_vmo(MAXP, 0);
    put(e->v[0], 0, MAXP * P, 0x51);
    e->v[1] = new_child(e->v[0], SNAP | ZX_VMO_CHILD_RESIZABLE, 0, MAXP * P);
    zx_status_t st = vmo_op_range(e->v[1], ZX_VMO_OP_ZERO, 10 * P, 25 * P);
    ASSERT(st == ZX_OK);
}
static void setup_interval_hidden(struct env *e) {
    setup_interval(e);
    e->v[2] = new_child(e->v[1], SNAP, 0, MAXP * P);
    put(e->v[1], 20 * P, 10, 0x52);
}
static zx_status_t op_close_child(struct env *e) {
    kobject_release(vmo_object(e->v[2]));
    e->v[2] = NULL;
    uint8_t b;
    return vmo_read(e->v[1], &b, 0, 1);
}

static zx_status_t op_write_far(struct env *e) {
    static uint8_t buf[3 * PAGE_SIZE];
    memset(buf, 0x43, sizeof(buf));
    return vmo_write(e->v[2], buf, 15 * P + 100, 3 * P);  // into the interval, across nodes
}
static zx_status_t op_zero_wide(struct env *e) {
    return vmo_op_range(e->v[2], ZX_VMO_OP_ZERO, P + 5, 36 * P);
}
static zx_status_t op_shrink_wide(struct env *e) {
    return vmo_set_size(e->v[1], 20 * P + 3);  // inside the interval, nodes absent
}
static zx_status_t op_commit_wide(struct env *e) {
    return vmo_op_range(e->v[2], ZX_VMO_OP_COMMIT, 14 * P, 6 * P);
}

static zx_status_t op_create(struct env *e) {
    return vmo_create(3 * P, 0, &e->v[0]);
}
static zx_status_t op_write_fill(struct env *e) {
    static uint8_t buf[3 * PAGE_SIZE];
    memset(buf, 0x77, sizeof(buf));
    return vmo_write(e->v[0], buf, 3 * P + 100, 3 * P);
}
static zx_status_t op_write_copy(struct env *e) {
    static uint8_t buf[4 * PAGE_SIZE];
    memset(buf, 0x78, sizeof(buf));
    return vmo_write(e->v[1], buf, 100, 4 * P);  // copies, and splits the interval
}
static zx_status_t op_write_parent(struct env *e) {
    static uint8_t buf[2 * PAGE_SIZE];
    memset(buf, 0x79, sizeof(buf));
    return vmo_write(e->v[0], buf, 5 * P, 2 * P);
}
static zx_status_t op_snapshot_root(struct env *e) {
    return vmo_create_child(e->v[0], SNAP, P, 4 * P, &e->v[1]);
}
static zx_status_t op_snapshot_clone(struct env *e) {
    return vmo_create_child(e->v[1], SNAP, 0, 5 * P, &e->v[3]);
}
static zx_status_t op_snapshot_high(struct env *e) {
    return vmo_create_child(e->v[2], SNAP, 0, 2 * P, &e->v[3]);
}
static zx_status_t op_slice(struct env *e) {
    return vmo_create_child(e->v[2], ZX_VMO_CHILD_SLICE, P, 2 * P, &e->v[3]);
}
static zx_status_t op_zero_clone(struct env *e) {
    return vmo_op_range(e->v[2], ZX_VMO_OP_ZERO, 100, 5 * P);
}
static zx_status_t op_zero_parent(struct env *e) {
    return vmo_op_range(e->v[1], ZX_VMO_OP_ZERO, 0, MAXP * P - 5);
}
static zx_status_t op_commit_clone(struct env *e) {
    return vmo_op_range(e->v[2], ZX_VMO_OP_COMMIT, 0, 6 * P);
}
static zx_status_t op_decommit(struct env *e) {
    return vmo_op_range(e->v[0], ZX_VMO_OP_DECOMMIT, 2 * P, 4 * P);
}
static zx_status_t op_shrink_clone(struct env *e) {
    return vmo_set_size(e->v[1], 5 * P + 7);  // inside the interval, tail of a shared page
}
static zx_status_t op_shrink_root(struct env *e) {
    return vmo_set_size(e->v[0], 2 * P + 1);
}
static zx_status_t op_fault_write(struct env *e) {
    paddr_t pa;
    bool w;
    return vmo_fault_page(e->v[2], 2 * P, VMO_FAULT_WRITE, &pa, &w);
}
static zx_status_t op_close_merge(struct env *e) {
    kobject_release(vmo_object(e->v[0]));  // never fails; a merge may be left pending
    e->v[0] = NULL;
    uint8_t b;
    return vmo_read(e->v[1], &b, 0, 1);  // the next operation retries pending merges
}

static const struct scenario scenarios[] = {
    {"create", setup_empty, op_create, true},
    {"write_fill", setup_root, op_write_fill, false},
    {"write_copy", setup_tree, op_write_copy, false},
    {"write_parent", setup_tree, op_write_parent, false},
    {"snapshot_root", setup_root, op_snapshot_root, true},
    {"snapshot_clone", setup_tree, op_snapshot_clone, true},
    {"snapshot_high", setup_tree, op_snapshot_high, true},
    {"slice", setup_tree, op_slice, true},
    {"zero_clone", setup_tree, op_zero_clone, false},
    {"zero_parent", setup_tree, op_zero_parent, false},
    {"commit_clone", setup_tree, op_commit_clone, false},
    {"decommit", setup_root, op_decommit, false},
    {"shrink_clone", setup_tree, op_shrink_clone, true},
    {"shrink_root", setup_resizable_root, op_shrink_root, true},
    {"fault_write", setup_tree, op_fault_write, true},
    {"close_merge", setup_tree, op_close_merge, false},
    {"write_far", setup_wide, op_write_far, false},
    {"zero_wide", setup_wide, op_zero_wide, false},
    {"shrink_wide", setup_wide, op_shrink_wide, true},
    {"commit_wide", setup_wide, op_commit_wide, false},
    {"close_merge_wide", setup_wide, op_close_merge, false},
    {"shrink_interval", setup_interval, op_shrink_wide, true},
    {"close_merge_split", setup_interval_hidden, op_close_child, false},
};

// --- The driver ---

struct snapshot_of_env {
    uint64_t size[NV];
    uint8_t *bytes;  // NV * MAXP pages
};

static void capture(struct env *e, struct snapshot_of_env *s) {
    for (int i = 0; i < NV; i++) {
        s->size[i] = e->v[i] ? vmo_get_size(e->v[i]) : UINT64_MAX;
        if (e->v[i]) {
            zx_status_t st = vmo_read(e->v[i], s->bytes + (size_t)i * MAXP * PAGE_SIZE, 0,
                                      (size_t)s->size[i]);
            ASSERT(st == ZX_OK);
        }
    }
}

static void teardown(struct env *e) {
    for (int i = NV - 1; i >= 0; i--) {
        if (e->v[i])
            kobject_release(vmo_object(e->v[i]));
        e->v[i] = NULL;
    }
}

static bool trees_ok(struct env *e) {
    for (int i = 0; i < NV; i++) {
        if (e->v[i] && !vmo_check_tree(e->v[i]))
            return false;
    }
    return true;
}

// Returns the number of failure points exercised.
static size_t run_scenario(const struct scenario *sc, enum inject what) {
    struct snapshot_of_env golden, before, after;
    golden.bytes = kmalloc(NV * MAXP * PAGE_SIZE);
    before.bytes = kmalloc(NV * MAXP * PAGE_SIZE);
    after.bytes = kmalloc(NV * MAXP * PAGE_SIZE);
    ASSERT(golden.bytes && before.bytes && after.bytes);
    size_t base_vmo = pmm_count(PAGE_STATE_VMO), base_free = pmm_count(PAGE_STATE_FREE);
    size_t base_nodes = vmpl_nodes_live();
    struct env e = {0};
    sc->setup(&e);
    zx_status_t st = sc->op(&e);
    EXPECT_OK(st);
    EXPECT_TRUE(trees_ok(&e));
    capture(&e, &golden);
    teardown(&e);
    size_t failures = 0;
    for (size_t k = 1; k < 400; k++) {
        sc->setup(&e);
        capture(&e, &before);
        arm(what, k);
        st = sc->op(&e);
        disarm();
        EXPECT_TRUE(trees_ok(&e));
        capture(&e, &after);
        bool done = st == ZX_OK;
        if (st == ZX_OK) {
            for (int i = 0; i < NV; i++) {
                EXPECT_EQ(after.size[i], golden.size[i]);
                if (after.size[i] != UINT64_MAX && after.size[i] == golden.size[i])
                    EXPECT_EQ(memcmp(after.bytes + (size_t)i * MAXP * PAGE_SIZE,
                                     golden.bytes + (size_t)i * MAXP * PAGE_SIZE,
                                     (size_t)after.size[i]),
                              0);
            }
        } else {
            failures++;
            if (!EXPECT_STATUS(st, ZX_ERR_NO_MEMORY))
                EXPECT_FAILF("in scenario %s", sc->name);
            for (int i = 0; i < NV; i++) {
                EXPECT_EQ(after.size[i], before.size[i]);
                if (after.size[i] == UINT64_MAX || after.size[i] != before.size[i])
                    continue;
                for (uint64_t o = 0; o < after.size[i]; o += P) {
                    size_t at = (size_t)i * MAXP * PAGE_SIZE + (size_t)o;
                    bool old = memcmp(after.bytes + at, before.bytes + at, PAGE_SIZE) == 0;
                    bool new = !sc->atomic && golden.size[i] == after.size[i] &&
                               memcmp(after.bytes + at, golden.bytes + at, PAGE_SIZE) == 0;
                    if (!old && !new) {
                        EXPECT_TRUE(old || new);
                        EXPECT_FAILF("in scenario %s", sc->name);
                        break;
                    }
                }
            }
        }
        teardown(&e);
        EXPECT_EQ(pmm_count(PAGE_STATE_VMO), base_vmo);
        EXPECT_EQ(pmm_count(PAGE_STATE_FREE), base_free);
        EXPECT_EQ(vmpl_nodes_live(), base_nodes);
        if (ktest_failed()) {
            EXPECT_FAILF("in scenario %s", sc->name);
            break;
        }
        if (done)
            break;
    }
    kfree(golden.bytes);
    kfree(before.bytes);
    kfree(after.bytes);
    return failures;
}

KTEST(cow_oom, pages_at_every_allocation) {
    size_t total = 0;
    for (size_t i = 0; i < countof(scenarios); i++) {
        size_t n = run_scenario(&scenarios[i], INJECT_PAGES);
        total += n;
        if (ktest_failed())
            break;
    }
    kprintf("    %zu scenarios, %zu page-allocation failures\n", countof(scenarios), total);
    EXPECT_GT(total, countof(scenarios));
}

#ifdef JASPER_HOST
KTEST(cow_oom, heap_at_every_allocation) {
    size_t total = 0;
    for (size_t i = 0; i < countof(scenarios); i++) {
        size_t heap = host_alloc_live();
        size_t n = run_scenario(&scenarios[i], INJECT_HEAP);
        total += n;
        EXPECT_EQ(host_alloc_live(), heap + 0);
        if (ktest_failed())
            break;
    }
    kprintf("    %zu scenarios, %zu heap-allocation failures\n", countof(scenarios), total);
    EXPECT_GT(total, countof(scenarios));
}
#endif

#ifdef JASPER_HOST
// A merge that needs memory (to cut the hidden node's interval around the child's page) and gets
// none is left pending -- the tree stays valid, one hidden node with one child -- and is retried
// by the next operation on the tree.
static size_t hidden_count(struct cow_tree *t) {
    mutex_acquire(&t->lock);
    size_t n = cow_tree_hidden_count_locked(t);
    mutex_release(&t->lock);
    return n;
}

KTEST(cow_oom, pending_merge_is_retried) {
    size_t pending_seen = 0;
    for (size_t k = 1; k < 20; k++) {
        struct env e = {0};
        setup_interval_hidden(&e);
        struct cow_tree *t = vmo_cow_node(e.v[1])->tree;
        host_alloc_fail_after(k);
        kobject_release(vmo_object(e.v[2]));
        e.v[2] = NULL;
        host_alloc_fail_disarm();
        if (t->pending_merges) {
            pending_seen++;
            EXPECT_EQ(hidden_count(t), 2u);
            EXPECT_TRUE(trees_ok(&e));
        }
        uint8_t b = 0;
        EXPECT_OK(vmo_read(e.v[1], &b, 20 * P, 1));  // retries the merge
        EXPECT_EQ(b, 0x52u);
        EXPECT_EQ(t->pending_merges, 0u);
        EXPECT_EQ(hidden_count(t), 1u);
        EXPECT_TRUE(trees_ok(&e));
        EXPECT_OK(vmo_read(e.v[1], &b, 21 * P, 1));
        EXPECT_EQ(b, 0u);
        EXPECT_OK(vmo_read(e.v[1], &b, 9 * P, 1));
        EXPECT_EQ(b, 0x51u);
        teardown(&e);
    }
    EXPECT_GT(pending_seen, 0u);
}
#endif
