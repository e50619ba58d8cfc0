// Clone-tree tests on the real pmm (in the kernel) and over simulated RAM (host): snapshots and
// slices, the clone behaviours and attribution examples of docs/abi.md §2-3, hanging as high as
// allowed, write forks (copy or move), zero markers and intervals, leaf death and hidden-node
// merges, a 10,000-deep chain, and out-of-memory at every allocation point of every operation.
// cow_check_tree_locked runs after every step that changes a tree.
#include "kernel/heap.h"
#include "kernel/ktest.h"
#include "kernel/object.h"
#include "kernel/string.h"
#include "vm/cow_pages.h"
#include "vm/pmm.h"
#include "vm/vmo.h"
#ifdef JASPER_HOST
#include "test/host/host_env.h"
#endif

#define P ((uint64_t)PAGE_SIZE)
#define SNAP ZX_VMO_CHILD_SNAPSHOT

static void close_vmo(struct vmo *v) {
    kobject_release(vmo_object(v));
}

// A VMO of `pages` pages, every byte `fill` (committed) unless fill < 0.
static struct vmo *mk(uint64_t pages, int fill) {
    struct vmo *v = NULL;
    if (vmo_create(pages * P, 0, &v) != ZX_OK)
        return NULL;
    if (fill >= 0) {
        static uint8_t page[PAGE_SIZE];
        memset(page, fill, sizeof(page));
        for (uint64_t i = 0; i < pages; i++) {
            if (vmo_write(v, page, i * P, P) != ZX_OK) {
                close_vmo(v);
                return NULL;
            }
        }
    }
    return v;
}

static struct vmo *child(struct vmo *parent, uint32_t options, uint64_t offset, uint64_t size) {
    struct vmo *c = NULL;
    zx_status_t st = vmo_create_child(parent, options, offset, size, &c);
    EXPECT_OK(st);
    return st == ZX_OK ? c : NULL;
}

static uint8_t rb(struct vmo *v, uint64_t off) {
    uint8_t b = 0xee;
    EXPECT_OK(vmo_read(v, &b, off, 1));
    return b;
}

static void wb(struct vmo *v, uint64_t off, uint8_t b) {
    EXPECT_OK(vmo_write(v, &b, off, 1));
}

static uint64_t vmo_pages(void) {
    return pmm_count(PAGE_STATE_VMO);
}

static zx_info_vmo_t info(struct vmo *v) {
    zx_info_vmo_t i;
    vmo_get_info(v, &i);
    return i;
}

#define EXPECT_ATTR(v, committed, private_, scaled) \
    EXPECT_VMO_ATTRIBUTION(info(v), committed, private_, scaled)

static size_t hidden_nodes(struct vmo *v) {
    struct cow_tree *t = vmo_cow_node(v)->tree;
    mutex_acquire(&t->lock);
    size_t n = cow_tree_hidden_count_locked(t);
    mutex_release(&t->lock);
    return n;
}

static size_t depth(struct vmo *v) {
    struct cow_node *n = vmo_cow_node(v);
    mutex_acquire(&n->tree->lock);
    size_t d = cow_node_depth_locked(n);
    mutex_release(&n->tree->lock);
    return d;
}

KTEST(cow, snapshot_isolated_both_ways) {
    uint64_t base = vmo_pages();
    struct vmo *p = mk(3, 0x10);
    REQUIRE_TRUE(p != NULL);
    struct vmo *c = child(p, SNAP, 0, 3 * P);
    REQUIRE_TRUE(c != NULL);
    EXPECT_EQ(vmo_pages(), base + 3);  // nothing copied
    EXPECT_EQ(hidden_nodes(p), 1u);
    wb(p, 10, 0xa1);
    wb(c, P + 10, 0xc1);
    EXPECT_EQ(rb(c, 10), 0x10u);
    EXPECT_EQ(rb(p, P + 10), 0x10u);
    EXPECT_EQ(rb(p, 10), 0xa1u);
    EXPECT_EQ(rb(c, P + 10), 0xc1u);
    EXPECT_EQ(rb(c, 2 * P), 0x10u);
    EXPECT_EQ(vmo_pages(), base + 5);  // exactly one copy per written page
    EXPECT_TRUE(vmo_check_tree(p));
    zx_info_vmo_t ci = info(c);
    EXPECT_EQ(ci.parent_koid, vmo_object(p)->koid);
    EXPECT_TRUE(ci.flags & ZX_INFO_VMO_IS_COW_CLONE);
    close_vmo(c);
    EXPECT_EQ(vmo_pages(), base + 3);
    EXPECT_EQ(hidden_nodes(p), 0u);  // the hidden node merged back into p
    EXPECT_EQ(depth(p), 0u);
    EXPECT_EQ(rb(p, 10), 0xa1u);
    EXPECT_EQ(rb(p, P + 10), 0x10u);
    EXPECT_TRUE(vmo_check_tree(p));
    close_vmo(p);
    EXPECT_EQ(vmo_pages(), base);
}

// docs/abi.md §2-3 and test/user/clone_test.c: each write to shared content makes exactly one copy;
// a page only one VMO can reach moves; attribution follows.
KTEST(cow, attribution_one_copy_per_write) {
    uint64_t base = vmo_pages();
    struct vmo *p = mk(4, 0x10);
    struct vmo *c = child(p, SNAP, 0, 4 * P);
    REQUIRE_TRUE(p && c);
    EXPECT_ATTR(p, 4 * P, 0u, 2 * P);
    EXPECT_ATTR(c, 4 * P, 0u, 2 * P);
    wb(c, 0, 0xc0);
    EXPECT_EQ(vmo_pages(), base + 5);
    EXPECT_ATTR(c, 4 * P, P, P + 3 * P / 2);
    EXPECT_ATTR(p, 4 * P, P, P + 3 * P / 2);
    wb(p, 0, 0xa0);  // nobody else reaches p's original: moved, not copied
    EXPECT_EQ(vmo_pages(), base + 5);
    wb(p, P, 0xa1);
    EXPECT_EQ(vmo_pages(), base + 6);
    EXPECT_ATTR(p, 4 * P, 2 * P, 3 * P);
    EXPECT_ATTR(c, 4 * P, 2 * P, 3 * P);
    wb(p, P + 1, 0xa2);
    wb(c, 2, 0xc2);
    EXPECT_EQ(vmo_pages(), base + 6);
    EXPECT_TRUE(vmo_check_tree(p));
    close_vmo(c);
    EXPECT_EQ(vmo_pages(), base + 4);
    EXPECT_ATTR(p, 4 * P, 4 * P, 4 * P);
    EXPECT_EQ(rb(p, 0), 0xa0u);
    EXPECT_EQ(rb(p, P), 0xa1u);
    EXPECT_EQ(rb(p, 3 * P), 0x10u);
    EXPECT_TRUE(vmo_check_tree(p));
    close_vmo(p);
    EXPECT_EQ(vmo_pages(), base);
}

KTEST(cow, attribution_window_and_chain) {
    uint64_t base = vmo_pages();
    struct vmo *p = mk(4, 0x20);
    struct vmo *c = child(p, SNAP, 2 * P, P);
    REQUIRE_TRUE(p && c);
    EXPECT_ATTR(c, P, 0u, P / 2);
    EXPECT_ATTR(p, 4 * P, 3 * P, 3 * P + P / 2);
    wb(p, 0, 1);  // outside the child's window: no copy
    wb(p, 3 * P, 1);
    EXPECT_EQ(vmo_pages(), base + 4);
    wb(p, 2 * P, 1);
    EXPECT_EQ(vmo_pages(), base + 5);
    EXPECT_ATTR(c, P, P, P);
    EXPECT_ATTR(p, 4 * P, 4 * P, 4 * P);
    close_vmo(p);
    EXPECT_EQ(vmo_pages(), base + 1);
    EXPECT_EQ(rb(c, 0), 0x20u);
    EXPECT_EQ(depth(c), 0u);
    close_vmo(c);
    // A chain a -> b -> c: two pages shared three ways.
    struct vmo *a = mk(2, 0x61);
    struct vmo *b = child(a, SNAP, 0, 2 * P);
    c = child(b, SNAP, 0, 2 * P);
    REQUIRE_TRUE(a && b && c);
    EXPECT_EQ(hidden_nodes(a), 1u);  // c hangs on the same hidden node as b
    EXPECT_EQ(vmo_pages(), base + 2);
    zx_info_vmo_t ci = info(c);
    EXPECT_EQ(ci.committed_scaled_bytes, 2730u);
    EXPECT_NE(ci.committed_fractional_scaled_bytes, 0u);
    EXPECT_EQ(ci.parent_koid, vmo_object(b)->koid);
    wb(b, 0, 0x62);
    EXPECT_EQ(vmo_pages(), base + 3);
    EXPECT_EQ(info(a).committed_scaled_bytes, 3413u);  // 4096/2 + 4096/3
    EXPECT_EQ(info(b).committed_scaled_bytes, 5461u);  // 4096 + 4096/3
    EXPECT_EQ(info(b).committed_private_bytes, P);
    wb(c, 0, 0x63);
    EXPECT_EQ(vmo_pages(), base + 4);
    EXPECT_EQ(info(a).committed_private_bytes, P);
    EXPECT_TRUE(vmo_check_tree(a));
    close_vmo(b);
    EXPECT_EQ(vmo_pages(), base + 3);
    EXPECT_ATTR(a, 2 * P, P, P + P / 2);
    EXPECT_ATTR(c, 2 * P, P, P + P / 2);
    close_vmo(a);
    EXPECT_EQ(vmo_pages(), base + 2);
    EXPECT_EQ(rb(c, P), 0x61u);
    EXPECT_EQ(rb(c, 0), 0x63u);
    EXPECT_EQ(hidden_nodes(c), 0u);
    EXPECT_TRUE(vmo_check_tree(c));
    close_vmo(c);
    EXPECT_EQ(vmo_pages(), base);
}

KTEST(cow, hangs_as_high_as_allowed) {
    uint64_t base = vmo_pages();
    struct vmo *r = mk(4, 0x30);
    struct vmo *kids[6];
    for (int i = 0; i < 6; i++)
        kids[i] = child(i < 3 ? r : kids[i - 1], SNAP, 0, 4 * P);
    // Nobody wrote: every snapshot hangs on the one hidden node, at depth 1.
    EXPECT_EQ(hidden_nodes(r), 1u);
    for (int i = 0; i < 6; i++)
        EXPECT_EQ(depth(kids[i]), 1u);
    EXPECT_EQ(info(kids[5]).committed_scaled_bytes, 4 * P / 7);
    // A VMO that owns content in the window gets a hidden node of its own.
    wb(kids[5], 0, 1);
    struct vmo *g = child(kids[5], SNAP, 0, 4 * P);
    EXPECT_EQ(depth(g), 2u);
    EXPECT_EQ(hidden_nodes(r), 2u);
    // ... unless the window avoids that content: then it climbs past kids[5] and its new hidden
    // node (which holds only page 0) to the first hidden node.
    struct vmo *h = child(kids[5], SNAP, P, 2 * P);
    EXPECT_EQ(depth(h), 1u);
    EXPECT_EQ(hidden_nodes(r), 2u);
    EXPECT_EQ(rb(g, 0), 1u);
    EXPECT_EQ(rb(h, 0), 0x30u);
    EXPECT_EQ(vmo_pages(), base + 5);
    EXPECT_TRUE(vmo_check_tree(r));
    close_vmo(h);
    close_vmo(g);
    for (int i = 5; i >= 0; i--) {
        close_vmo(kids[i]);
        EXPECT_TRUE(vmo_check_tree(r));
    }
    EXPECT_EQ(hidden_nodes(r), 0u);
    EXPECT_EQ(vmo_pages(), base + 4);
    close_vmo(r);
    EXPECT_EQ(vmo_pages(), base);
}

KTEST(cow, snapshot_windows_and_limits) {
    uint64_t base = vmo_pages();
    struct vmo *p = mk(2, 0x11);
    struct vmo *a = child(p, SNAP, 0, 4 * P);
    struct vmo *b = child(p, SNAP, P, 3 * P);
    struct vmo *c = child(p, SNAP, 10 * P, 2 * P);
    REQUIRE_TRUE(p && a && b && c);
    EXPECT_EQ(rb(a, P), 0x11u);
    EXPECT_EQ(rb(a, 2 * P), 0u);
    EXPECT_EQ(rb(b, 0), 0x11u);
    EXPECT_EQ(rb(b, P), 0u);
    EXPECT_EQ(rb(c, 0), 0u);
    EXPECT_EQ(depth(c), 0u);  // sees nothing of its parent: a root of its own
    EXPECT_EQ(vmo_pages(), base + 2);
    wb(a, 3 * P, 0x44);
    EXPECT_EQ(vmo_pages(), base + 3);
    EXPECT_EQ(rb(b, 2 * P), 0u);
    close_vmo(a);
    close_vmo(b);
    close_vmo(c);
    // A resizable clone shrunk and grown again reads zeros, never the parent's data.
    struct vmo *d = child(p, SNAP | ZX_VMO_CHILD_RESIZABLE, 0, 2 * P);
    REQUIRE_TRUE(d != NULL);
    EXPECT_OK(vmo_set_size(d, P + 100));
    EXPECT_EQ(rb(d, P + 99), 0x11u);
    EXPECT_EQ(rb(d, P + 100), 0u);
    EXPECT_OK(vmo_set_size(d, 0));
    EXPECT_OK(vmo_set_size(d, 4 * P));
    EXPECT_EQ(rb(d, 0), 0u);
    EXPECT_EQ(rb(d, P), 0u);
    EXPECT_EQ(rb(p, P + 200), 0x11u);
    EXPECT_TRUE(vmo_check_tree(p));
    close_vmo(d);
    EXPECT_EQ(vmo_pages(), base + 2);
    close_vmo(p);
    EXPECT_EQ(vmo_pages(), base);
}

KTEST(cow, parent_shrink_and_close_keep_snapshot) {
    uint64_t base = vmo_pages();
    struct vmo *p;
    REQUIRE_OK(vmo_create(2 * P, ZX_VMO_RESIZABLE, &p));
    static uint8_t page[2 * PAGE_SIZE];
    memset(page, 0x5c, sizeof(page));
    EXPECT_OK(vmo_write(p, page, 0, 2 * P));
    struct vmo *c = child(p, SNAP, 0, 2 * P);
    REQUIRE_TRUE(c != NULL);
    EXPECT_OK(vmo_set_size(p, 0));
    EXPECT_EQ(vmo_pages(), base + 2);
    EXPECT_EQ(rb(c, P), 0x5cu);
    EXPECT_EQ(info(p).committed_bytes, 0u);
    EXPECT_ATTR(c, 2 * P, 2 * P, 2 * P);
    EXPECT_OK(vmo_set_size(p, 2 * P));
    EXPECT_EQ(rb(p, 0), 0u);
    EXPECT_TRUE(vmo_check_tree(p));
    close_vmo(c);
    EXPECT_EQ(vmo_pages(), base);
    close_vmo(p);
    // Closing the parent: the child keeps the pages, and writing them moves, never copies.
    p = mk(2, 0x41);
    c = child(p, SNAP, 0, 2 * P);
    close_vmo(p);
    EXPECT_EQ(vmo_pages(), base + 2);
    EXPECT_ATTR(c, 2 * P, 2 * P, 2 * P);
    wb(c, 0, 0x42);
    wb(c, P, 0x43);
    EXPECT_EQ(vmo_pages(), base + 2);
    EXPECT_EQ(rb(c, 1), 0x41u);
    EXPECT_TRUE(vmo_check_tree(c));
    close_vmo(c);
    EXPECT_EQ(vmo_pages(), base);
}

KTEST(cow, zero_over_shared_content) {
    uint64_t base = vmo_pages();
    struct vmo *p = mk(64, 0x11);
    struct vmo *c = child(p, SNAP, 0, 64 * P);
    REQUIRE_TRUE(p && c);
    EXPECT_STATUS(vmo_op_range(p, ZX_VMO_OP_DECOMMIT, 0, P), ZX_ERR_NOT_SUPPORTED);
    EXPECT_STATUS(vmo_op_range(c, ZX_VMO_OP_DECOMMIT, 0, P), ZX_ERR_NOT_SUPPORTED);
    // One page: a marker in the child, the parent's page no longer shared.
    EXPECT_OK(vmo_op_range(c, ZX_VMO_OP_ZERO, 0, P));
    EXPECT_EQ(vmo_pages(), base + 64);
    EXPECT_EQ(rb(c, 0), 0u);
    EXPECT_EQ(rb(p, 0), 0x11u);
    EXPECT_EQ(info(p).committed_private_bytes, P);
    EXPECT_EQ(info(c).committed_bytes, 63 * P);
    // Many pages: one zero interval in the child (a node or two), not a marker per page.
    EXPECT_OK(vmo_op_range(c, ZX_VMO_OP_ZERO, 2 * P, 60 * P));
    EXPECT_LE(vmpl_node_count(&vmo_cow_node(c)->pages), 4u);
    EXPECT_EQ(rb(c, 2 * P), 0u);
    EXPECT_EQ(rb(c, 61 * P), 0u);
    EXPECT_EQ(rb(c, 62 * P), 0x11u);
    EXPECT_EQ(rb(c, P), 0x11u);
    EXPECT_EQ(info(p).committed_private_bytes, 61 * P);
    EXPECT_EQ(vmo_pages(), base + 64);
    EXPECT_TRUE(vmo_check_tree(p));
    // Writing into the interval commits one zeroed page, splitting it.
    wb(c, 30 * P + 5, 7);
    EXPECT_EQ(rb(c, 30 * P + 5), 7u);
    EXPECT_EQ(rb(c, 30 * P + 4), 0u);
    EXPECT_EQ(rb(c, 29 * P), 0u);
    EXPECT_EQ(vmo_pages(), base + 65);
    // ZERO on the parent over [0, 4P): pages 0, 2 and 3 no longer shared (the child zeroed them)
    // are freed; page 1 is hidden from the parent but stays the child's.
    EXPECT_OK(vmo_op_range(p, ZX_VMO_OP_ZERO, 0, 4 * P));
    EXPECT_EQ(rb(p, P), 0u);
    EXPECT_EQ(rb(c, P), 0x11u);
    EXPECT_EQ(vmo_pages(), base + 65 - 3);  // pages 0, 2, 3: only p reached them
    // An unaligned ZERO of a shared page copies it once.
    struct vmo *d = child(p, SNAP, 0, 64 * P);
    uint64_t before = vmo_pages();
    EXPECT_OK(vmo_op_range(d, ZX_VMO_OP_ZERO, 63 * P + 10, 10));
    EXPECT_EQ(vmo_pages(), before + 1);
    EXPECT_EQ(rb(d, 63 * P + 9), 0x11u);
    EXPECT_EQ(rb(d, 63 * P + 10), 0u);
    EXPECT_EQ(rb(p, 63 * P + 10), 0x11u);
    EXPECT_TRUE(vmo_check_tree(p));
    close_vmo(d);
    close_vmo(c);
    EXPECT_TRUE(vmo_check_tree(p));
    close_vmo(p);
    EXPECT_EQ(vmo_pages(), base);
}

KTEST(cow, commit_on_child_copies) {
    uint64_t base = vmo_pages();
    struct vmo *p;
    REQUIRE_OK(vmo_create(2 * P, 0, &p));
    wb(p, 5, 0x99);
    struct vmo *c = child(p, SNAP, 0, 2 * P);
    REQUIRE_TRUE(c != NULL);
    EXPECT_OK(vmo_op_range(c, ZX_VMO_OP_COMMIT, 0, 2 * P));
    EXPECT_EQ(vmo_pages(), base + 3);
    EXPECT_ATTR(c, 2 * P, 2 * P, 2 * P);
    EXPECT_ATTR(p, P, P, P);
    wb(c, 5, 0x98);
    wb(c, P, 0x97);
    EXPECT_EQ(vmo_pages(), base + 3);
    EXPECT_EQ(rb(p, 5), 0x99u);
    close_vmo(c);
    close_vmo(p);
    EXPECT_EQ(vmo_pages(), base);
}

KTEST(cow, slices) {
    uint64_t base = vmo_pages();
    struct vmo *p = mk(4, 0x12);
    struct vmo *s = child(p, ZX_VMO_CHILD_SLICE, P, 2 * P);
    REQUIRE_TRUE(p && s);
    zx_info_vmo_t si = info(s);
    EXPECT_EQ(si.committed_bytes, 0u);  // a slice's pages are attributed to its parent
    EXPECT_EQ(si.populated_bytes, 0u);
    EXPECT_EQ(si.committed_private_bytes, 0u);
    EXPECT_EQ(si.committed_scaled_bytes, 0u);
    EXPECT_FALSE(si.flags & ZX_INFO_VMO_IS_COW_CLONE);
    EXPECT_ATTR(p, 4 * P, 4 * P, 4 * P);
    wb(s, 3, 0x13);
    EXPECT_EQ(rb(p, P + 3), 0x13u);
    wb(p, 2 * P, 0x14);
    EXPECT_EQ(rb(s, P), 0x14u);
    struct vmo *bad;
    EXPECT_STATUS(vmo_create_child(p, ZX_VMO_CHILD_SLICE, 3 * P, 2 * P, &bad), ZX_ERR_INVALID_ARGS);
    EXPECT_STATUS(vmo_create_child(p, ZX_VMO_CHILD_SLICE, 5 * P, 0, &bad), ZX_ERR_INVALID_ARGS);
    EXPECT_STATUS(vmo_create_child(p, ZX_VMO_CHILD_SLICE | ZX_VMO_CHILD_RESIZABLE, 0, P, &bad),
                  ZX_ERR_INVALID_ARGS);
    // A snapshot next to the slice: the slice keeps seeing its parent.
    struct vmo *c = child(p, SNAP, 0, 4 * P);
    REQUIRE_TRUE(c != NULL);
    wb(s, 0, 0x42);
    EXPECT_EQ(rb(p, P), 0x42u);
    EXPECT_EQ(rb(c, P + 3), 0x13u);
    EXPECT_EQ(rb(c, P), 0x12u);
    EXPECT_STATUS(vmo_op_range(s, ZX_VMO_OP_DECOMMIT, 0, P), ZX_ERR_NOT_SUPPORTED);
    // A snapshot of the slice sees the slice's window as of now.
    struct vmo *cs = child(s, SNAP, 0, 2 * P);
    REQUIRE_TRUE(cs != NULL);
    EXPECT_EQ(rb(cs, 0), 0x42u);
    EXPECT_EQ(rb(cs, P), 0x14u);
    wb(s, P, 0x15);
    EXPECT_EQ(rb(cs, P), 0x14u);
    EXPECT_TRUE(vmo_check_tree(p));
    close_vmo(cs);
    close_vmo(c);
    // Without copy-on-write children, DECOMMIT through the slice frees the parent's page.
    uint64_t before = vmo_pages();
    EXPECT_OK(vmo_op_range(s, ZX_VMO_OP_DECOMMIT, 0, P));
    EXPECT_EQ(vmo_pages(), before - 1);
    EXPECT_EQ(rb(p, P), 0u);
    // The slice keeps the pages alive after its parent closes.
    close_vmo(p);
    EXPECT_EQ(rb(s, P), 0x15u);
    EXPECT_TRUE(vmo_check_tree(s));
    close_vmo(s);
    EXPECT_EQ(vmo_pages(), base);
    // A slice of a resizable VMO is refused.
    REQUIRE_OK(vmo_create(P, ZX_VMO_RESIZABLE, &p));
    EXPECT_STATUS(vmo_create_child(p, ZX_VMO_CHILD_SLICE, 0, P, &bad), ZX_ERR_NOT_SUPPORTED);
    close_vmo(p);
}

KTEST(cow, children_and_signals) {
    struct vmo *p = mk(2, -1);
    REQUIRE_TRUE(p != NULL);
    EXPECT_TRUE(kobject_signals(vmo_object(p)) & ZX_VMO_ZERO_CHILDREN);
    struct vmo *a = child(p, SNAP, 0, P);
    struct vmo *b = child(p, ZX_VMO_CHILD_SLICE, 0, P);
    EXPECT_FALSE(kobject_signals(vmo_object(p)) & ZX_VMO_ZERO_CHILDREN);
    EXPECT_TRUE(kobject_signals(vmo_object(a)) & ZX_VMO_ZERO_CHILDREN);
    EXPECT_EQ(info(p).num_children, 2u);
    close_vmo(a);
    EXPECT_EQ(info(p).num_children, 1u);
    EXPECT_FALSE(kobject_signals(vmo_object(p)) & ZX_VMO_ZERO_CHILDREN);
    close_vmo(b);
    EXPECT_EQ(info(p).num_children, 0u);
    EXPECT_TRUE(kobject_signals(vmo_object(p)) & ZX_VMO_ZERO_CHILDREN);
    // Options and offsets.
    struct vmo *x;
    EXPECT_STATUS(vmo_create_child(p, 0, 0, P, &x), ZX_ERR_INVALID_ARGS);
    EXPECT_STATUS(vmo_create_child(p, SNAP | ZX_VMO_CHILD_SLICE, 0, P, &x), ZX_ERR_INVALID_ARGS);
    EXPECT_STATUS(vmo_create_child(p, SNAP | 0x40, 0, P, &x), ZX_ERR_INVALID_ARGS);
    EXPECT_STATUS(vmo_create_child(p, SNAP, 1, P, &x), ZX_ERR_INVALID_ARGS);
    EXPECT_STATUS(vmo_create_child(p, SNAP, UINT64_MAX - P + 1, 2 * P, &x), ZX_ERR_OUT_OF_RANGE);
    EXPECT_STATUS(vmo_create_child(p, SNAP, 0, UINT64_MAX, &x), ZX_ERR_OUT_OF_RANGE);
    // Offsets accumulated through a chain must not overflow.
    const uint64_t far = 0xffffffffffff0000ull;
    struct vmo *c = child(p, SNAP | ZX_VMO_CHILD_RESIZABLE, far, P);
    REQUIRE_TRUE(c != NULL);
    EXPECT_EQ(rb(c, 0), 0u);
    EXPECT_STATUS(vmo_create_child(c, SNAP, 0x10000, P, &x), ZX_ERR_INVALID_ARGS);
    EXPECT_STATUS(vmo_create_child(c, SNAP, 0, 0x20000, &x), ZX_ERR_INVALID_ARGS);
    x = child(c, SNAP, 0x8000, P);
    close_vmo(x);
    EXPECT_STATUS(vmo_set_size(c, 0x20000), ZX_ERR_INVALID_ARGS);
    EXPECT_OK(vmo_set_size(c, 0xf000));
    close_vmo(c);
    close_vmo(p);
}

// Merges of every kind: the surviving child visible or hidden, owning content or not, at
// offset 0 or not.
KTEST(cow, merges) {
    uint64_t base = vmo_pages();
    for (int order = 0; order < 4; order++) {
        struct vmo *r = mk(8, 0x50);
        REQUIRE_TRUE(r != NULL);
        struct vmo *a = child(r, SNAP, 0, 8 * P);
        wb(a, 0, 0xa0);
        struct vmo *b = child(a, SNAP, 2 * P, 4 * P);  // a's own page is outside: hangs high
        wb(a, 3 * P, 0xa3);
        struct vmo *c = child(a, SNAP, 0, 8 * P);      // a owns content now: new hidden node
        wb(r, 4 * P, 0x54);
        wb(c, 5 * P, 0xc5);
        REQUIRE_TRUE(a && b && c);
        EXPECT_TRUE(vmo_check_tree(r));
        struct vmo *all[4] = {r, a, b, c};
        static const int orders[4][4] = {{0, 1, 2, 3}, {3, 2, 1, 0}, {1, 0, 3, 2}, {2, 3, 0, 1}};
        for (int i = 0; i < 4; i++) {
            int k = orders[order][i];
            close_vmo(all[k]);
            all[k] = NULL;
            if (all[0])
                EXPECT_EQ(rb(all[0], 4 * P), 0x54u);
            if (all[1]) {
                EXPECT_EQ(rb(all[1], 0), 0xa0u);
                EXPECT_EQ(rb(all[1], 3 * P), 0xa3u);
                EXPECT_EQ(rb(all[1], 4 * P), 0x50u);
            }
            if (all[2]) {
                EXPECT_EQ(rb(all[2], P), 0x50u);
                EXPECT_EQ(rb(all[2], 0), 0x50u);
            }
            if (all[3]) {
                EXPECT_EQ(rb(all[3], 0), 0xa0u);
                EXPECT_EQ(rb(all[3], 3 * P), 0xa3u);
                EXPECT_EQ(rb(all[3], 5 * P), 0xc5u);
                EXPECT_EQ(rb(all[3], 4 * P), 0x50u);
            }
            for (int j = 0; j < 4; j++) {
                if (all[j]) {
                    EXPECT_TRUE(vmo_check_tree(all[j]));
                    EXPECT_EQ(vmo_tree_pages(all[j]), vmo_pages() - base);
                    break;
                }
            }
        }
        EXPECT_EQ(vmo_pages(), base);
    }
}

// A chain of nested snapshots, each owning content when snapshotted: lookups walk the whole
// chain, nothing recurses, and it tears down in any order (0: oldest first, 1: newest first,
// 2: scrambled). With `pages` == 2 the second page is zero all the way up, so walks climb the
// whole chain through gaps; with 1 every hidden node holds a page and walks stop at once.
static void chain_test(size_t n, int close_order, uint64_t pages, bool check) {
    uint64_t base = vmo_pages();
    struct vmo **v = kzalloc((n + 1) * sizeof(*v));
    REQUIRE_TRUE(v != NULL);
    v[0] = mk(pages, 0);
    REQUIRE_TRUE(v[0] != NULL);
    for (size_t i = 1; i <= n; i++) {
        wb(v[i - 1], 0, (uint8_t)i);  // owns page 0: the snapshot below gets a hidden node
        v[i] = child(v[i - 1], SNAP, 0, pages * P);
        if (!v[i])
            break;
    }
    if (v[n]) {
        EXPECT_EQ(depth(v[n]), n);
        EXPECT_EQ(rb(v[n], 0), (uint8_t)n);
        EXPECT_EQ(rb(v[n / 2], 0), (uint8_t)(n / 2 + 1));
        EXPECT_EQ(rb(v[0], 0), 1u);
        EXPECT_EQ(vmo_pages(), base + n + pages - 1);  // v[0]: all; a copy per level but the last
        if (pages > 1) {
            EXPECT_EQ(rb(v[n], P), 0u);  // zero all the way up
            wb(v[n], P, 7);
            EXPECT_EQ(rb(v[n - 1], P), 0u);
        }
        if (check)
            EXPECT_TRUE(vmo_check_tree(v[0]));
    }
    for (size_t k = 0; k <= n; k++) {
        size_t i = close_order == 0 ? k : close_order == 1 ? n - k : (k * 7919) % (n + 1);
        if (v[i])
            close_vmo(v[i]);
        v[i] = NULL;
        if (check && k % 16 == 0) {
            for (size_t j = 0; j <= n; j++) {
                if (v[j]) {
                    EXPECT_TRUE(vmo_check_tree(v[j]));
                    break;
                }
            }
        }
    }
    kfree(v);
    EXPECT_EQ(vmo_pages(), base);
}

KTEST(cow, chain_10000_deep) {
    for (int order = 0; order < 3; order++)
        chain_test(10000, order, 1, order == 0);
}

KTEST(cow, chain_with_gaps) {
    for (int order = 0; order < 3; order++)
        chain_test(200, order, 2, true);
}

// Where n's skip for `offset` leads: the depth of its target, or -1 when it has no valid skip
// there.
static long skip_depth(struct vmo *v, uint64_t offset) {
    struct cow_node *n = vmo_cow_node(v);
    mutex_acquire(&n->tree->lock);
    long d = -1;
    if (n->skip_gen == n->tree->skip_gen && offset >= n->skip_lo && offset < n->skip_hi) {
        cow_assert_held(n->skip_to);
        d = (long)cow_node_depth_locked(n->skip_to);
    }
    mutex_release(&n->tree->lock);
    return d;
}

// A chain in which every level holds a page of its own (the last), so that every level is a
// node: a look-up of the other pages from the leaf leaves it a skip to the top, past every level
// (vm/cow_skip.c), and the skip survives what may not break it and is dropped by what does.
KTEST(cow, deep_chain_lookups_skip_levels) {
    const size_t n = 300;
    uint64_t base = vmo_pages();
    struct vmo **v = kzalloc((n + 1) * sizeof(*v));
    REQUIRE_TRUE(v != NULL);
    v[0] = mk(4, 9);
    REQUIRE_TRUE(v[0] != NULL);
    for (size_t i = 1; i <= n && v[i - 1]; i++) {
        v[i] = child(v[i - 1], SNAP, 0, 4 * P);
        if (v[i])
            wb(v[i], 3 * P, (uint8_t)i);
    }
    if (v[n]) {
        EXPECT_EQ(depth(v[n]), n);
        EXPECT_EQ(skip_depth(v[n], 0), (long)n - 1);  // its own write found its parent: one level
        EXPECT_EQ(rb(v[n], 0), 9u);
        EXPECT_EQ(skip_depth(v[n], 0), 0);  // straight to the top, which holds v[0]'s pages
        EXPECT_EQ(skip_depth(v[n], P), 0);
        EXPECT_EQ(rb(v[n], 2 * P), 9u);
        EXPECT_EQ(rb(v[n], 3 * P), (uint8_t)n);
        EXPECT_TRUE(vmo_check_tree(v[0]));
        // A copy-on-write fault in the leaf uses it and keeps it.
        wb(v[n], 0, 5);
        EXPECT_EQ(rb(v[n], 0), 5u);
        EXPECT_EQ(rb(v[n - 1], 0), 9u);
        EXPECT_EQ(skip_depth(v[n], P), 0);
        // A level in the middle goes: its hidden parent merges into the hidden node below,
        // which gains content and has children -- every skip of the tree is dropped.
        close_vmo(v[n / 2]);
        v[n / 2] = NULL;
        EXPECT_EQ(skip_depth(v[n], P), -1);
        EXPECT_TRUE(vmo_check_tree(v[0]));
        EXPECT_EQ(rb(v[n], P), 9u);
        EXPECT_EQ(skip_depth(v[n], P), 0);
        EXPECT_EQ(rb(v[n], 3 * P), (uint8_t)n);
        EXPECT_EQ(rb(v[n - 1], 3 * P), (uint8_t)(n - 1));
        EXPECT_TRUE(vmo_check_tree(v[0]));
    }
    for (size_t i = 0; i <= n; i++) {
        if (v[i])
            close_vmo(v[i]);
    }
    kfree(v);
    EXPECT_EQ(vmo_pages(), base);
}
