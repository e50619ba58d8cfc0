// Slices (ZX_VMO_CHILD_SLICE): a window onto the parent's pages. Bounds and options, sharing in
// both directions (syscalls and mappings), nesting, snapshots of and next to slices, op_range
// through a slice, and attribution (docs/abi.md §2 "create_child", §3 ZX_INFO_VMO).
#include <stdio.h>

#include "test/user/utest.h"

#define VMO_RIGHTS ZX_DEFAULT_VMO_RIGHTS
#define SLICE ZX_VMO_CHILD_SLICE
#define SNAP ZX_VMO_CHILD_SNAPSHOT
#define P ((uint64_t)PAGE)

TEST(slice_shares_pages_both_ways) {
    zx_handle_t parent;
    REQUIRE_OK(zx_vmo_create(4 * P, 0, &parent));
    ut_pattern(ut_scratch, 4 * P, 20);
    EXPECT_OK(zx_vmo_write(parent, ut_scratch, 0, 4 * P));
    zx_handle_t s = ut_child(parent, SLICE, P, 2 * P);
    uint8_t *buf = ut_scratch + 4 * P;
    EXPECT_OK(zx_vmo_read(s, buf, 0, 2 * P));
    EXPECT_MEM(buf, ut_scratch + P, 2 * P);
    ut_vmo_set_byte(s, 7, 0xab);
    EXPECT_EQ(ut_vmo_byte(parent, P + 7), 0xab);
    ut_vmo_set_byte(parent, 2 * P + 9, 0xcd);
    EXPECT_EQ(ut_vmo_byte(s, P + 9), 0xcd);
    // Outside the window.
    EXPECT_STATUS(zx_vmo_read(s, buf, 2 * P, 1), ZX_ERR_OUT_OF_RANGE);
    zx_handle_close(s);
    zx_handle_close(parent);
}

TEST(slice_through_mappings) {
    zx_handle_t parent = ut_vmo(4 * P, 0);
    zx_handle_t s = ut_child(parent, SLICE, 2 * P, 2 * P);
    volatile uint8_t *sp =
        (volatile uint8_t *)ut_map(s, P, P, ZX_VM_PERM_READ | ZX_VM_PERM_WRITE);
    volatile uint8_t *pp =
        (volatile uint8_t *)ut_map(parent, 0, 4 * P, ZX_VM_PERM_READ | ZX_VM_PERM_WRITE);
    REQUIRE_TRUE(sp && pp);
    sp[5] = 0x5a;
    EXPECT_EQ(pp[3 * P + 5], 0x5a);
    pp[3 * P + 6] = 0x5b;
    EXPECT_EQ(sp[6], 0x5b);
    EXPECT_EQ(ut_vmo_byte(parent, 3 * P + 5), 0x5a);
    ut_unmap((uintptr_t)sp, P);
    ut_unmap((uintptr_t)pp, 4 * P);
    zx_handle_close(s);
    zx_handle_close(parent);
}

TEST(slice_bounds) {
    zx_handle_t parent = ut_vmo(4 * P, -1);
    zx_handle_t s = ZX_HANDLE_INVALID;
    EXPECT_STATUS(zx_vmo_create_child(parent, SLICE, 3 * P, 2 * P, &s), ZX_ERR_INVALID_ARGS);
    EXPECT_STATUS(zx_vmo_create_child(parent, SLICE, 0, 5 * P, &s), ZX_ERR_INVALID_ARGS);
    EXPECT_STATUS(zx_vmo_create_child(parent, SLICE, 5 * P, P, &s), ZX_ERR_INVALID_ARGS);
    EXPECT_STATUS(zx_vmo_create_child(parent, SLICE, 3 * P, 4097, &s), ZX_ERR_INVALID_ARGS);
    EXPECT_STATUS(zx_vmo_create_child(parent, SLICE, 100, P, &s), ZX_ERR_INVALID_ARGS);
    // offset + size overflowing is just another slice outside the parent.
    EXPECT_STATUS(zx_vmo_create_child(parent, SLICE, UINT64_MAX - P + 1, 2 * P, &s),
                  ZX_ERR_INVALID_ARGS);
    EXPECT_STATUS(zx_vmo_create_child(parent, SLICE, 64 * P, UINT64_MAX - 128 * 1024 + 1, &s),
                  ZX_ERR_INVALID_ARGS);  // the largest size there is, from an offset past 128 KiB
    EXPECT_EQ(s, ZX_HANDLE_INVALID);
    // The whole parent, a rounded size that still fits, nothing at the end.
    s = ut_child(parent, SLICE, 0, 4 * P);
    zx_handle_close(s);
    s = ut_child(parent, SLICE, 2 * P, 4097);
    EXPECT_EQ(ut_vmo_size(s), 2 * P);
    EXPECT_EQ(ut_content_size(s), 4097);
    zx_handle_close(s);
    s = ut_child(parent, SLICE, 4 * P, 0);
    EXPECT_EQ(ut_vmo_size(s), 0);
    zx_handle_close(s);
    EXPECT_TRUE(ut_signaled(parent, ZX_VMO_ZERO_CHILDREN));
    zx_handle_close(parent);
}

// The order of a slice's checks (Zircon's vmo-slice tests): option bits, then the size (its
// rounding, or above the page list's maximum: OUT_OF_RANGE), then the window (INVALID_ARGS), then
// a resizable parent (NOT_SUPPORTED).
TEST(slice_check_order) {
    zx_handle_t parent = ut_vmo(4 * P, -1), rparent;
    REQUIRE_OK(zx_vmo_create(4 * P, ZX_VMO_RESIZABLE, &rparent));
    zx_handle_t s = ZX_HANDLE_INVALID;
    const uint64_t max = UINT64_MAX - 128 * 1024 + 1;  // 2^64 - 128 KiB
    EXPECT_STATUS(zx_vmo_create_child(parent, SLICE | SNAP, 1, UINT64_MAX, &s),
                  ZX_ERR_INVALID_ARGS);
    EXPECT_STATUS(zx_vmo_create_child(parent, SLICE, 1, UINT64_MAX, &s), ZX_ERR_OUT_OF_RANGE);
    EXPECT_STATUS(zx_vmo_create_child(parent, SLICE, 0, max + 1, &s), ZX_ERR_OUT_OF_RANGE);
    EXPECT_STATUS(zx_vmo_create_child(parent, SLICE, 0, max, &s), ZX_ERR_INVALID_ARGS);
    EXPECT_STATUS(zx_vmo_create_child(rparent, SLICE, 1, UINT64_MAX, &s), ZX_ERR_OUT_OF_RANGE);
    EXPECT_STATUS(zx_vmo_create_child(rparent, SLICE, 0, 5 * P, &s), ZX_ERR_INVALID_ARGS);
    EXPECT_STATUS(zx_vmo_create_child(rparent, SLICE, UINT64_MAX - P + 1, 2 * P, &s),
                  ZX_ERR_INVALID_ARGS);
    EXPECT_STATUS(zx_vmo_create_child(rparent, SLICE, 0, P, &s), ZX_ERR_NOT_SUPPORTED);
    EXPECT_EQ(s, ZX_HANDLE_INVALID);
    zx_handle_close(rparent);
    zx_handle_close(parent);
}

TEST(slice_of_resizable_parent) {
    zx_handle_t parent;
    REQUIRE_OK(zx_vmo_create(2 * P, ZX_VMO_RESIZABLE, &parent));
    zx_handle_t s = ZX_HANDLE_INVALID;
    EXPECT_STATUS(zx_vmo_create_child(parent, SLICE, 0, P, &s), ZX_ERR_NOT_SUPPORTED);
    // A resizable clone is a resizable parent too.
    zx_handle_t fixed = ut_vmo(2 * P, -1);
    zx_handle_t c = ut_child(fixed, SNAP | ZX_VMO_CHILD_RESIZABLE, 0, 2 * P);
    EXPECT_STATUS(zx_vmo_create_child(c, SLICE, 0, P, &s), ZX_ERR_NOT_SUPPORTED);
    EXPECT_EQ(s, ZX_HANDLE_INVALID);
    zx_handle_close(c);
    zx_handle_close(fixed);
    zx_handle_close(parent);
}

TEST(slice_options) {
    zx_handle_t parent = ut_vmo(2 * P, -1);
    static const uint32_t bad[] = {SLICE | ZX_VMO_CHILD_RESIZABLE, SLICE | SNAP,
                                   SLICE | ZX_VMO_CHILD_SNAPSHOT_AT_LEAST_ON_WRITE,
                                   SLICE | ZX_VMO_CHILD_RESIZABLE | ZX_VMO_CHILD_NO_WRITE};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        zx_handle_t s = ZX_HANDLE_INVALID;
        if (!EXPECT_STATUS(zx_vmo_create_child(parent, bad[i], 0, P, &s), ZX_ERR_INVALID_ARGS))
            printf("      (options %#x)\n", bad[i]);
        zx_handle_close(s);
    }
    zx_handle_t ro = ut_child(parent, SLICE | ZX_VMO_CHILD_NO_WRITE, 0, P);
    EXPECT_EQ(ut_rights(ro), VMO_RIGHTS & ~ZX_RIGHT_WRITE);
    uint8_t b = 1;
    EXPECT_STATUS(zx_vmo_write(ro, &b, 0, 1), ZX_ERR_ACCESS_DENIED);
    zx_handle_close(ro);
    zx_handle_close(parent);
}

TEST(slice_is_not_resizable) {
    zx_handle_t parent = ut_vmo(2 * P, -1);
    zx_handle_t s = ut_child(parent, SLICE, 0, P);
    EXPECT_STATUS(zx_vmo_set_size(s, 2 * P), ZX_ERR_UNAVAILABLE);
    EXPECT_STATUS(zx_vmo_set_size(s, 0), ZX_ERR_UNAVAILABLE);
    zx_info_vmo_t info = ut_vmo_info(s);
    EXPECT_FALSE(info.flags & ZX_INFO_VMO_RESIZABLE);
    EXPECT_FALSE(info.flags & ZX_INFO_VMO_IS_COW_CLONE);
    EXPECT_EQ(info.parent_koid, ut_koid(parent));
    EXPECT_EQ(info.size_bytes, P);
    zx_handle_close(s);
    zx_handle_close(parent);
}

TEST(slice_attribution) {
    uint64_t base = ut_vmo_bytes();
    zx_handle_t parent = ut_vmo(4 * P, 0x12);
    zx_handle_t s = ut_child(parent, SLICE, P, 2 * P);
    EXPECT_EQ(ut_vmo_bytes(), base + 4 * P);
    // A slice is attributed nothing: its pages count for its parent (Zircon's current tests).
    zx_info_vmo_t si = ut_vmo_info(s);
    EXPECT_EQ(si.committed_bytes, 0);
    EXPECT_EQ(si.populated_bytes, 0);
    EXPECT_EQ(si.committed_private_bytes, 0);
    EXPECT_EQ(si.populated_private_bytes, 0);
    EXPECT_EQ(si.committed_scaled_bytes, 0);
    EXPECT_EQ(si.populated_scaled_bytes, 0);
    EXPECT_EQ(si.committed_fractional_scaled_bytes, 0);
    EXPECT_EQ(si.populated_fractional_scaled_bytes, 0);
    EXPECT_EQ(si.size_bytes, 2 * P);
    zx_info_vmo_t pi = ut_vmo_info(parent);
    EXPECT_EQ(pi.committed_bytes, 4 * P);
    EXPECT_EQ(pi.committed_private_bytes, 4 * P);
    EXPECT_EQ(pi.committed_scaled_bytes, 4 * P);
    zx_handle_close(s);
    zx_handle_close(parent);
    // A write through a slice commits the page in the parent.
    REQUIRE_OK(zx_vmo_create(4 * P, 0, &parent));
    s = ut_child(parent, SLICE, 2 * P, 2 * P);
    ut_vmo_set_byte(s, P + 3, 9);
    EXPECT_EQ(ut_vmo_bytes(), base + P);
    EXPECT_EQ(ut_committed(parent), P);
    EXPECT_EQ(ut_committed(s), 0);
    EXPECT_EQ(ut_vmo_byte(parent, 3 * P + 3), 9);
    zx_handle_close(s);
    zx_handle_close(parent);
}

TEST(slice_of_slice) {
    zx_handle_t parent = ut_vmo(4 * P, 0);
    zx_handle_t s1 = ut_child(parent, SLICE, P, 3 * P);
    zx_handle_t s2 = ut_child(s1, SLICE, P, P);
    EXPECT_EQ(ut_rights(s2), ut_rights(s1));
    ut_vmo_set_byte(s2, 11, 0x77);
    EXPECT_EQ(ut_vmo_byte(parent, 2 * P + 11), 0x77);
    EXPECT_EQ(ut_vmo_byte(s1, P + 11), 0x77);
    ut_vmo_set_byte(parent, 2 * P + 12, 0x78);
    EXPECT_EQ(ut_vmo_byte(s2, 12), 0x78);
    // A slice of a slice must lie inside it too.
    zx_handle_t bad = ZX_HANDLE_INVALID;
    EXPECT_STATUS(zx_vmo_create_child(s1, SLICE, 2 * P, 2 * P, &bad), ZX_ERR_INVALID_ARGS);
    EXPECT_EQ(ut_vmo_info(s2).parent_koid, ut_koid(s1));
    zx_handle_close(s1);
    zx_handle_close(parent);
    // The chain stays alive through s2.
    ut_vmo_set_byte(s2, 13, 0x79);
    EXPECT_EQ(ut_vmo_byte(s2, 13), 0x79);
    EXPECT_EQ(ut_vmo_byte(s2, 11), 0x77);
    zx_handle_close(s2);
}

TEST(slice_keeps_parent_alive) {
    uint64_t base = ut_vmo_bytes();
    zx_handle_t parent = ut_vmo(2 * P, 0x21);
    zx_handle_t s = ut_child(parent, SLICE, 0, 2 * P);
    zx_handle_close(parent);
    EXPECT_EQ(ut_vmo_byte(s, P), 0x21);
    ut_vmo_set_byte(s, P, 0x22);
    EXPECT_EQ(ut_vmo_byte(s, P), 0x22);
    EXPECT_EQ(ut_vmo_bytes(), base + 2 * P);
    zx_handle_close(s);
    EXPECT_EQ(ut_vmo_bytes(), base);
}

TEST(slice_op_range) {
    uint64_t base = ut_vmo_bytes();
    zx_handle_t parent = ut_vmo(4 * P, 0x31);
    zx_handle_t s = ut_child(parent, SLICE, P, 2 * P);
    // DECOMMIT through a slice frees the parent's pages.
    EXPECT_OK(zx_vmo_op_range(s, ZX_VMO_OP_DECOMMIT, 0, P, NULL, 0));
    EXPECT_EQ(ut_committed(parent), 3 * P);
    EXPECT_EQ(ut_vmo_bytes(), base + 3 * P);
    EXPECT_EQ(ut_vmo_byte(parent, P), 0);
    EXPECT_STATUS(zx_vmo_op_range(s, ZX_VMO_OP_DECOMMIT, 0, 100, NULL, 0), ZX_ERR_INVALID_ARGS);
    // ZERO through a slice zeroes the parent's bytes, unaligned.
    EXPECT_OK(zx_vmo_op_range(s, ZX_VMO_OP_ZERO, P + 10, 20, NULL, 0));
    EXPECT_EQ(ut_vmo_byte(parent, 2 * P + 9), 0x31);
    EXPECT_EQ(ut_vmo_byte(parent, 2 * P + 10), 0);
    EXPECT_EQ(ut_vmo_byte(parent, 2 * P + 29), 0);
    EXPECT_EQ(ut_vmo_byte(parent, 2 * P + 30), 0x31);
    // COMMIT through a slice commits in the parent.
    EXPECT_OK(zx_vmo_op_range(s, ZX_VMO_OP_COMMIT, 0, 2 * P, NULL, 0));
    EXPECT_EQ(ut_committed(parent), 4 * P);
    EXPECT_STATUS(zx_vmo_op_range(s, ZX_VMO_OP_COMMIT, 3 * P, P, NULL, 0), ZX_ERR_OUT_OF_RANGE);
    zx_handle_close(s);
    // DECOMMIT through a slice of a VMO with copy-on-write children is refused.
    zx_handle_t c = ut_child(parent, SNAP, 0, 4 * P);
    s = ut_child(parent, SLICE, 0, P);
    EXPECT_STATUS(zx_vmo_op_range(s, ZX_VMO_OP_DECOMMIT, 0, P, NULL, 0), ZX_ERR_NOT_SUPPORTED);
    zx_handle_close(s);
    zx_handle_close(c);
    zx_handle_close(parent);
    EXPECT_EQ(ut_vmo_bytes(), base);
}

TEST(snapshot_next_to_slices) {
    uint64_t base = ut_vmo_bytes();
    zx_handle_t parent = ut_vmo(2 * P, 0x41);
    zx_handle_t s = ut_child(parent, SLICE, 0, 2 * P);
    zx_handle_t c = ut_child(parent, SNAP, 0, 2 * P);
    EXPECT_EQ(ut_vmo_bytes(), base + 2 * P);
    // The slice keeps seeing its parent, not the snapshot.
    ut_vmo_set_byte(s, 0, 0x42);
    EXPECT_EQ(ut_vmo_byte(parent, 0), 0x42);
    EXPECT_EQ(ut_vmo_byte(c, 0), 0x41);
    EXPECT_EQ(ut_vmo_bytes(), base + 3 * P);
    ut_vmo_set_byte(parent, P, 0x43);
    EXPECT_EQ(ut_vmo_byte(s, P), 0x43);
    EXPECT_EQ(ut_vmo_byte(c, P), 0x41);
    EXPECT_EQ(ut_vmo_bytes(), base + 4 * P);
    ut_vmo_set_byte(c, P, 0x44);
    EXPECT_EQ(ut_vmo_byte(s, P), 0x43);
    EXPECT_EQ(ut_vmo_bytes(), base + 4 * P);
    // The slice reports nothing (its pages are the parent's), the snapshot its own.
    EXPECT_EQ(ut_committed(s), 0);
    EXPECT_EQ(ut_committed(parent), 2 * P);
    EXPECT_EQ(ut_vmo_info(s).committed_private_bytes, 0);
    EXPECT_EQ(ut_vmo_info(c).committed_private_bytes, 2 * P);
    zx_handle_close(c);
    EXPECT_EQ(ut_vmo_bytes(), base + 2 * P);
    zx_handle_close(s);
    zx_handle_close(parent);
}

TEST(snapshot_of_slice) {
    zx_handle_t parent = ut_vmo(4 * P, 0x51);
    ut_vmo_set_byte(parent, 2 * P, 0x52);
    zx_handle_t s = ut_child(parent, SLICE, P, 2 * P);
    zx_handle_t c = ut_child(s, SNAP, 0, 2 * P);
    EXPECT_EQ(ut_vmo_byte(c, P), 0x52);
    EXPECT_EQ(ut_vmo_byte(c, 0), 0x51);
    ut_vmo_set_byte(s, P, 0x53);
    EXPECT_EQ(ut_vmo_byte(c, P), 0x52);
    ut_vmo_set_byte(c, 0, 0x54);
    EXPECT_EQ(ut_vmo_byte(s, 0), 0x51);
    EXPECT_EQ(ut_vmo_byte(parent, P), 0x51);
    EXPECT_EQ(ut_vmo_info(c).parent_koid, ut_koid(s));
    EXPECT_TRUE(ut_vmo_info(c).flags & ZX_INFO_VMO_IS_COW_CLONE);
    zx_handle_close(c);
    zx_handle_close(s);
    zx_handle_close(parent);
}

TEST(slice_of_snapshot) {
    uint64_t base = ut_vmo_bytes();
    zx_handle_t parent = ut_vmo(2 * P, 0x61);
    zx_handle_t c = ut_child(parent, SNAP, 0, 2 * P);
    zx_handle_t s = ut_child(c, SLICE, P, P);
    ut_vmo_set_byte(s, 0, 0x62);
    EXPECT_EQ(ut_vmo_byte(c, P), 0x62);
    EXPECT_EQ(ut_vmo_byte(parent, P), 0x61);
    EXPECT_EQ(ut_vmo_bytes(), base + 3 * P);
    // A slice of a copy-on-write child cannot decommit.
    EXPECT_STATUS(zx_vmo_op_range(s, ZX_VMO_OP_DECOMMIT, 0, P, NULL, 0), ZX_ERR_NOT_SUPPORTED);
    zx_handle_close(s);
    zx_handle_close(c);
    zx_handle_close(parent);
    EXPECT_EQ(ut_vmo_bytes(), base);
}

TEST(slice_zero_children_signal) {
    zx_handle_t parent = ut_vmo(P, -1);
    zx_handle_t s = ut_child(parent, SLICE, 0, P);
    EXPECT_FALSE(ut_signaled(parent, ZX_VMO_ZERO_CHILDREN));
    EXPECT_EQ(ut_vmo_info(parent).num_children, 1);
    uintptr_t m = ut_map(s, 0, P, ZX_VM_PERM_READ);
    zx_handle_close(s);
    EXPECT_FALSE(ut_signaled(parent, ZX_VMO_ZERO_CHILDREN));
    ut_unmap(m, P);
    EXPECT_TRUE(ut_signaled(parent, ZX_VMO_ZERO_CHILDREN));
    zx_handle_close(parent);
}

// ZX_VMO_ZERO_CHILDREN follows the child objects: a slice whose handle is closed stays the
// parent's child while a slice of it lives.
TEST(slice_of_closed_slice_keeps_zero_children_clear) {
    uint64_t base = ut_vmo_bytes();
    zx_handle_t parent = ut_vmo(2 * P, 0x3c);
    zx_handle_t s1 = ut_child(parent, SLICE, 0, 2 * P);
    zx_handle_t s2 = ut_child(s1, SLICE, P, P);
    zx_handle_close(s1);
    EXPECT_FALSE(ut_signaled(parent, ZX_VMO_ZERO_CHILDREN));
    EXPECT_EQ(ut_vmo_info(parent).num_children, 1);
    EXPECT_EQ(ut_vmo_byte(s2, 0), 0x3c);
    ut_vmo_set_byte(s2, 1, 0x3d);
    EXPECT_EQ(ut_vmo_byte(parent, P + 1), 0x3d);
    // The grandchild's handle and a mapping of it: the chain stays until both go.
    uintptr_t m = ut_map(s2, 0, P, ZX_VM_PERM_READ);
    zx_handle_close(s2);
    EXPECT_FALSE(ut_signaled(parent, ZX_VMO_ZERO_CHILDREN));
    ut_unmap(m, P);
    EXPECT_TRUE(ut_signaled(parent, ZX_VMO_ZERO_CHILDREN));
    EXPECT_EQ(ut_vmo_info(parent).num_children, 0);
    zx_handle_close(parent);
    EXPECT_EQ(ut_vmo_bytes(), base);
}

// The same for a snapshot: a mapping of it, or a slice of it, keeps it the parent's child.
TEST(closed_snapshot_kept_by_mapping_or_slice) {
    uint64_t base = ut_vmo_bytes();
    zx_handle_t parent = ut_vmo(2 * P, 0x4e);
    zx_handle_t c = ut_child(parent, SNAP, 0, 2 * P);
    uintptr_t m = ut_map(c, 0, 2 * P, ZX_VM_PERM_READ);
    zx_handle_close(c);
    EXPECT_FALSE(ut_signaled(parent, ZX_VMO_ZERO_CHILDREN));
    ut_unmap(m, 2 * P);
    EXPECT_TRUE(ut_signaled(parent, ZX_VMO_ZERO_CHILDREN));
    c = ut_child(parent, SNAP, 0, 2 * P);
    ut_vmo_set_byte(c, 0, 0x4f);
    zx_handle_t s = ut_child(c, SLICE, 0, P);
    zx_handle_close(c);
    EXPECT_FALSE(ut_signaled(parent, ZX_VMO_ZERO_CHILDREN));
    EXPECT_EQ(ut_vmo_byte(s, 0), 0x4f);  // the snapshot's page, through its slice
    zx_handle_close(s);
    EXPECT_TRUE(ut_signaled(parent, ZX_VMO_ZERO_CHILDREN));
    zx_handle_close(parent);
    EXPECT_EQ(ut_vmo_bytes(), base);
}

UTEST_MAIN(NULL)
