// Copy-on-write children (SNAPSHOT, SNAPSHOT_AT_LEAST_ON_WRITE): creation rules and rights,
// isolation in both directions, sizes, resizable clones, chains, and the page accounting of
// docs/abi.md §2 "Observable page accounting" and §3 ZX_INFO_VMO (committed / private / scaled).
#include <stdio.h>

#include "test/model_op.h"
#include "test/user/utest.h"

#define VMO_RIGHTS ZX_DEFAULT_VMO_RIGHTS
#define SNAP ZX_VMO_CHILD_SNAPSHOT
#define P ((uint64_t)PAGE)

// Expects the attribution figures of `vmo` (bytes).
#define EXPECT_ATTR(vmo, committed, private_, scaled) \
    EXPECT_VMO_ATTRIBUTION(ut_vmo_info(vmo), committed, private_, scaled)

TEST(child_rights) {
    static const struct {
        zx_rights_t parent;
        uint32_t options;
        zx_rights_t child;
    } cases[] = {
        {VMO_RIGHTS, SNAP, VMO_RIGHTS},
        {VMO_RIGHTS, ZX_VMO_CHILD_SNAPSHOT_AT_LEAST_ON_WRITE, VMO_RIGHTS},
        {VMO_RIGHTS, SNAP | ZX_VMO_CHILD_NO_WRITE, VMO_RIGHTS & ~ZX_RIGHT_WRITE},
        {VMO_RIGHTS, ZX_VMO_CHILD_SLICE, VMO_RIGHTS},
        {VMO_RIGHTS, ZX_VMO_CHILD_SLICE | ZX_VMO_CHILD_NO_WRITE, VMO_RIGHTS & ~ZX_RIGHT_WRITE},
        // DUPLICATE|READ|MAP (0x25): snapshots add WRITE, every child adds GET/SET_PROPERTY.
        {0x25, SNAP, 0xed},
        // A resizable child gets RESIZE (0x400000), whatever its parent had.
        {0x25, ZX_VMO_CHILD_SNAPSHOT_AT_LEAST_ON_WRITE | ZX_VMO_CHILD_RESIZABLE,
         0xed | ZX_RIGHT_RESIZE},
        {0x25, SNAP | ZX_VMO_CHILD_NO_WRITE, 0xe5},
        {0x25, ZX_VMO_CHILD_SLICE, 0xe5},
        // With EXECUTE (0x35): snapshots drop it unless NO_WRITE; slices keep it.
        {0x35, SNAP, 0xed},
        {0x35, ZX_VMO_CHILD_SNAPSHOT_AT_LEAST_ON_WRITE, 0xed},
        {0x35, SNAP | ZX_VMO_CHILD_NO_WRITE, 0xf5},
        {0x35, ZX_VMO_CHILD_SLICE, 0xf5},
        {0x35, ZX_VMO_CHILD_SLICE | ZX_VMO_CHILD_NO_WRITE, 0xf5},
    };
    zx_handle_t vmo = ut_vmo(2 * P, -1), x;
    REQUIRE_OK(zx_vmo_replace_as_executable(vmo, ZX_HANDLE_INVALID, &x));
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        zx_handle_t parent = ut_dup(x, cases[i].parent);
        zx_handle_t c = ZX_HANDLE_INVALID;
        EXPECT_OK(zx_vmo_create_child(parent, cases[i].options, 0, P, &c));
        if (!EXPECT_EQ(ut_rights(c), cases[i].child))
            printf("      (case %zu: parent rights %#x, options %#x)\n", i, cases[i].parent,
                   cases[i].options);
        zx_handle_close(c);
        zx_handle_close(parent);
    }
    zx_handle_close(x);
    // A resizable VMO has RESIZE; a child has it exactly when the child is resizable.
    zx_handle_t r;
    REQUIRE_OK(zx_vmo_create(2 * P, ZX_VMO_RESIZABLE, &r));
    EXPECT_EQ(ut_rights(r), VMO_RIGHTS | ZX_RIGHT_RESIZE);
    zx_handle_t c = ut_child(r, SNAP, 0, P);
    EXPECT_EQ(ut_rights(c), VMO_RIGHTS & ~ZX_RIGHT_EXECUTE);
    zx_handle_close(c);
    c = ut_child(r, SNAP | ZX_VMO_CHILD_RESIZABLE, 0, P);
    EXPECT_EQ(ut_rights(c), (VMO_RIGHTS & ~ZX_RIGHT_EXECUTE) | ZX_RIGHT_RESIZE);
    zx_handle_close(c);
    zx_handle_close(r);
}

TEST(create_child_needs_duplicate_and_read) {
    zx_handle_t vmo = ut_vmo(P, 1);
    zx_handle_t nodup = ut_dup(vmo, VMO_RIGHTS & ~ZX_RIGHT_DUPLICATE);
    zx_handle_t noread = ut_dup(vmo, VMO_RIGHTS & ~ZX_RIGHT_READ);
    static const uint32_t kinds[] = {SNAP, ZX_VMO_CHILD_SNAPSHOT_AT_LEAST_ON_WRITE,
                                     ZX_VMO_CHILD_SLICE};
    for (size_t i = 0; i < 3; i++) {
        zx_handle_t c = ZX_HANDLE_INVALID;
        EXPECT_STATUS(zx_vmo_create_child(nodup, kinds[i], 0, P, &c), ZX_ERR_ACCESS_DENIED);
        EXPECT_STATUS(zx_vmo_create_child(noread, kinds[i], 0, P, &c), ZX_ERR_ACCESS_DENIED);
        EXPECT_EQ(c, ZX_HANDLE_INVALID);
    }
    zx_handle_t ok = ut_dup(vmo, ZX_RIGHT_DUPLICATE | ZX_RIGHT_READ);
    zx_handle_t c = ut_child(ok, SNAP, 0, P);
    EXPECT_EQ(ut_vmo_byte(c, 0), 1);
    zx_handle_close(c);
    zx_handle_close(ok);
    zx_handle_close(nodup);
    zx_handle_close(noread);
    zx_handle_close(vmo);
}

TEST(create_child_options) {
    zx_handle_t vmo = ut_vmo(2 * P, -1);
    static const uint32_t bad[] = {
        0,
        ZX_VMO_CHILD_RESIZABLE,
        ZX_VMO_CHILD_NO_WRITE,
        ZX_VMO_CHILD_NO_WRITE | ZX_VMO_CHILD_RESIZABLE,
        SNAP | ZX_VMO_CHILD_SLICE,
        SNAP | ZX_VMO_CHILD_SNAPSHOT_AT_LEAST_ON_WRITE,
        ZX_VMO_CHILD_SLICE | ZX_VMO_CHILD_SNAPSHOT_AT_LEAST_ON_WRITE,
        ZX_VMO_CHILD_SLICE | ZX_VMO_CHILD_RESIZABLE,
        // NO_WRITE takes the WRITE that resizing needs.
        SNAP | ZX_VMO_CHILD_NO_WRITE | ZX_VMO_CHILD_RESIZABLE,
        ZX_VMO_CHILD_SNAPSHOT_AT_LEAST_ON_WRITE | ZX_VMO_CHILD_RESIZABLE | ZX_VMO_CHILD_NO_WRITE,
        SNAP | 0x2,
        SNAP | 0x40,
        SNAP | 0x80000000u,
        0x40,
        0xffffffffu,
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        zx_handle_t c = ZX_HANDLE_INVALID;
        if (!EXPECT_STATUS(zx_vmo_create_child(vmo, bad[i], 0, P, &c), ZX_ERR_INVALID_ARGS)) {
            printf("      (options %#x)\n", bad[i]);
            zx_handle_close(c);
        }
    }
    static const uint32_t good[] = {
        SNAP | ZX_VMO_CHILD_RESIZABLE,
        SNAP | ZX_VMO_CHILD_NO_WRITE,
        ZX_VMO_CHILD_SNAPSHOT_AT_LEAST_ON_WRITE | ZX_VMO_CHILD_RESIZABLE,
        ZX_VMO_CHILD_SNAPSHOT_AT_LEAST_ON_WRITE | ZX_VMO_CHILD_NO_WRITE,
        ZX_VMO_CHILD_SLICE | ZX_VMO_CHILD_NO_WRITE,
    };
    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
        zx_handle_t c = ZX_HANDLE_INVALID;
        if (!EXPECT_OK(zx_vmo_create_child(vmo, good[i], 0, P, &c)))
            printf("      (options %#x)\n", good[i]);
        bool resizable = good[i] & ZX_VMO_CHILD_RESIZABLE;
        EXPECT_EQ(!!(ut_vmo_info(c).flags & ZX_INFO_VMO_RESIZABLE), resizable);
        zx_handle_close(c);
    }
    zx_handle_close(vmo);
}

TEST(create_child_offsets_and_pointers) {
    zx_handle_t vmo = ut_vmo(2 * P, -1);
    zx_handle_t c = ZX_HANDLE_INVALID;
    EXPECT_STATUS(zx_vmo_create_child(vmo, SNAP, 1, P, &c), ZX_ERR_INVALID_ARGS);
    EXPECT_STATUS(zx_vmo_create_child(vmo, SNAP, P + 8, P, &c), ZX_ERR_INVALID_ARGS);
    EXPECT_STATUS(zx_vmo_create_child(vmo, SNAP, UINT64_MAX - P + 1, 2 * P, &c),
                  ZX_ERR_OUT_OF_RANGE);
    EXPECT_STATUS(zx_vmo_create_child(vmo, SNAP, P, UINT64_MAX - 10, &c), ZX_ERR_OUT_OF_RANGE);
    EXPECT_STATUS(zx_vmo_create_child(vmo, SNAP, 0, UINT64_MAX, &c), ZX_ERR_OUT_OF_RANGE);
    // The size's rounding is checked before the offset's alignment.
    EXPECT_STATUS(zx_vmo_create_child(vmo, SNAP, 1, UINT64_MAX, &c), ZX_ERR_OUT_OF_RANGE);
    EXPECT_EQ(c, ZX_HANDLE_INVALID);
    EXPECT_PTR_ERRORS(zx_vmo_create_child(vmo, SNAP, 0, P, (zx_handle_t *)bad), ut_ro_page);
    EXPECT_TRUE(ut_signaled(vmo, ZX_VMO_ZERO_CHILDREN));
    zx_handle_close(vmo);
}

TEST(snapshot_isolated_both_ways) {
    zx_handle_t parent;
    REQUIRE_OK(zx_vmo_create(3 * P, 0, &parent));
    ut_pattern(ut_scratch, 3 * P, 10);
    EXPECT_OK(zx_vmo_write(parent, ut_scratch, 0, 3 * P));
    zx_handle_t c = ut_child(parent, SNAP, 0, 3 * P);
    uint8_t *buf = ut_scratch + 4 * P;
    EXPECT_OK(zx_vmo_read(c, buf, 0, 3 * P));
    EXPECT_MEM(buf, ut_scratch, 3 * P);
    ut_vmo_set_byte(parent, 10, 0xa1);
    ut_vmo_set_byte(c, P + 10, 0xc1);
    EXPECT_EQ(ut_vmo_byte(c, 10), ut_scratch[10]);
    EXPECT_EQ(ut_vmo_byte(parent, P + 10), ut_scratch[P + 10]);
    EXPECT_EQ(ut_vmo_byte(parent, 10), 0xa1);
    EXPECT_EQ(ut_vmo_byte(c, P + 10), 0xc1);
    // The untouched page is the same on both sides.
    EXPECT_OK(zx_vmo_read(c, buf, 2 * P, P));
    EXPECT_MEM(buf, ut_scratch + 2 * P, P);
    zx_handle_close(c);
    zx_handle_close(parent);
}

TEST(snapshot_at_least_on_write_behaves_as_snapshot) {
    zx_handle_t parent = ut_vmo(2 * P, 0x31);
    zx_handle_t c = ut_child(parent, ZX_VMO_CHILD_SNAPSHOT_AT_LEAST_ON_WRITE, 0, 2 * P);
    ut_vmo_set_byte(parent, 0, 0x32);
    EXPECT_EQ(ut_vmo_byte(c, 0), 0x31);
    ut_vmo_set_byte(c, P, 0x33);
    EXPECT_EQ(ut_vmo_byte(parent, P), 0x31);
    zx_info_vmo_t info = ut_vmo_info(c);
    EXPECT_TRUE(info.flags & ZX_INFO_VMO_IS_COW_CLONE);
    EXPECT_EQ(info.parent_koid, ut_koid(parent));
    zx_handle_close(c);
    zx_handle_close(parent);
}

TEST(snapshot_beyond_parent_reads_zero) {
    uint64_t before = ut_vmo_bytes();
    zx_handle_t parent = ut_vmo(2 * P, 0x11);
    zx_handle_t a = ut_child(parent, SNAP, 0, 4 * P);
    zx_handle_t b = ut_child(parent, SNAP, P, 3 * P);
    zx_handle_t c = ut_child(parent, SNAP, 10 * P, 2 * P);
    EXPECT_OK(zx_vmo_read(a, ut_scratch, 0, 4 * P));
    EXPECT_FILL(ut_scratch, 0x11, 2 * P);
    EXPECT_FILL(ut_scratch + 2 * P, 0, 2 * P);
    EXPECT_OK(zx_vmo_read(b, ut_scratch, 0, 3 * P));
    EXPECT_FILL(ut_scratch, 0x11, P);
    EXPECT_FILL(ut_scratch + P, 0, 2 * P);
    EXPECT_OK(zx_vmo_read(c, ut_scratch, 0, 2 * P));
    EXPECT_FILL(ut_scratch, 0, 2 * P);
    EXPECT_EQ(ut_vmo_bytes(), before + 2 * P);
    // Writing there commits one page in that child only.
    ut_vmo_set_byte(a, 3 * P, 0x44);
    EXPECT_EQ(ut_vmo_bytes(), before + 3 * P);
    EXPECT_EQ(ut_vmo_byte(a, 3 * P), 0x44);
    EXPECT_EQ(ut_vmo_byte(b, 2 * P), 0);
    EXPECT_EQ(ut_committed(c), 0);
    zx_handle_close(a);
    zx_handle_close(b);
    zx_handle_close(c);
    zx_handle_close(parent);
}

TEST(child_size_and_content_size) {
    zx_handle_t parent = ut_vmo(4 * P, 1);
    zx_handle_t c = ut_child(parent, SNAP, P, 5000);
    EXPECT_EQ(ut_vmo_size(c), 2 * P);
    EXPECT_EQ(ut_content_size(c), 5000);
    zx_handle_t z = ut_child(parent, SNAP, 0, 0);
    EXPECT_EQ(ut_vmo_size(z), 0);
    EXPECT_EQ(ut_content_size(z), 0);
    zx_handle_close(z);
    zx_handle_close(c);
    zx_handle_close(parent);
}

TEST(child_info) {
    zx_handle_t parent = ut_vmo(2 * P, -1);
    zx_handle_t a = ut_child(parent, SNAP, 0, P);
    zx_handle_t b = ut_child(parent, ZX_VMO_CHILD_SLICE, 0, P);
    zx_info_vmo_t pi = ut_vmo_info(parent);
    EXPECT_EQ(pi.num_children, 2);
    EXPECT_EQ(pi.parent_koid, 0);
    EXPECT_FALSE(pi.flags & ZX_INFO_VMO_IS_COW_CLONE);
    zx_info_vmo_t ai = ut_vmo_info(a);
    EXPECT_EQ(ai.parent_koid, pi.koid);
    EXPECT_EQ(ai.num_children, 0);
    EXPECT_TRUE(ai.flags & ZX_INFO_VMO_IS_COW_CLONE);
    EXPECT_EQ(ai.size_bytes, P);
    zx_info_vmo_t bi = ut_vmo_info(b);
    EXPECT_EQ(bi.parent_koid, pi.koid);
    EXPECT_FALSE(bi.flags & ZX_INFO_VMO_IS_COW_CLONE);
    zx_handle_close(a);
    EXPECT_EQ(ut_vmo_info(parent).num_children, 1);
    zx_handle_close(b);
    EXPECT_EQ(ut_vmo_info(parent).num_children, 0);
    zx_handle_close(parent);
}

TEST(resizable_clone_grows_with_zeros) {
    zx_handle_t parent = ut_vmo(4 * P, 0x22);
    zx_handle_t c = ut_child(parent, SNAP | ZX_VMO_CHILD_RESIZABLE, 0, P);
    EXPECT_OK(zx_vmo_set_size(c, 4 * P));
    EXPECT_OK(zx_vmo_read(c, ut_scratch, 0, 4 * P));
    EXPECT_FILL(ut_scratch, 0x22, P);
    EXPECT_FILL(ut_scratch + P, 0, 3 * P);
    EXPECT_EQ(ut_content_size(c), 4 * P);
    // Shrinking to nothing and growing again never brings the parent's data back.
    EXPECT_OK(zx_vmo_set_size(c, 0));
    EXPECT_OK(zx_vmo_set_size(c, 4 * P));
    EXPECT_OK(zx_vmo_read(c, ut_scratch, 0, 4 * P));
    EXPECT_FILL(ut_scratch, 0, 4 * P);
    // Shrinking inside a page zeroes its tail.
    EXPECT_OK(zx_vmo_set_size(c, 0));
    zx_handle_t d = ut_child(parent, SNAP | ZX_VMO_CHILD_RESIZABLE, 0, 2 * P);
    EXPECT_OK(zx_vmo_set_size(d, P + 100));
    EXPECT_OK(zx_vmo_set_size(d, 2 * P));
    EXPECT_OK(zx_vmo_read(d, ut_scratch, P, P));
    EXPECT_FILL(ut_scratch, 0x22, 100);
    EXPECT_FILL(ut_scratch + 100, 0, P - 100);
    EXPECT_EQ(ut_vmo_byte(parent, P + 200), 0x22);
    // A child without RESIZABLE cannot change size.
    zx_handle_t e = ut_child(parent, SNAP, 0, P);
    EXPECT_STATUS(zx_vmo_set_size(e, 2 * P), ZX_ERR_UNAVAILABLE);
    zx_handle_close(e);
    zx_handle_close(d);
    zx_handle_close(c);
    zx_handle_close(parent);
}

TEST(parent_shrink_keeps_snapshot) {
    uint64_t before = ut_vmo_bytes();
    zx_handle_t parent;
    REQUIRE_OK(zx_vmo_create(2 * P, ZX_VMO_RESIZABLE, &parent));
    memset(ut_scratch, 0x5c, 2 * P);
    EXPECT_OK(zx_vmo_write(parent, ut_scratch, 0, 2 * P));
    zx_handle_t c = ut_child(parent, SNAP, 0, 2 * P);
    EXPECT_OK(zx_vmo_set_size(parent, 0));
    EXPECT_EQ(ut_vmo_bytes(), before + 2 * P);
    EXPECT_OK(zx_vmo_read(c, ut_scratch, 0, 2 * P));
    EXPECT_FILL(ut_scratch, 0x5c, 2 * P);
    EXPECT_EQ(ut_committed(parent), 0);
    EXPECT_ATTR(c, 2 * P, 2 * P, 2 * P);
    EXPECT_OK(zx_vmo_set_size(parent, 2 * P));
    EXPECT_OK(zx_vmo_read(parent, ut_scratch, 0, 2 * P));
    EXPECT_FILL(ut_scratch, 0, 2 * P);
    zx_handle_close(c);
    EXPECT_EQ(ut_vmo_bytes(), before);
    zx_handle_close(parent);
}

TEST(attribution_one_copy_per_write) {
    uint64_t base = ut_vmo_bytes();
    zx_handle_t parent = ut_vmo(4 * P, 0x10);
    EXPECT_EQ(ut_vmo_bytes(), base + 4 * P);
    zx_handle_t c = ut_child(parent, SNAP, 0, 4 * P);
    EXPECT_EQ(ut_vmo_bytes(), base + 4 * P);
    EXPECT_ATTR(parent, 4 * P, 0, 2 * P);
    EXPECT_ATTR(c, 4 * P, 0, 2 * P);
    // The child writes a shared page: exactly one copy. The original is now the parent's alone.
    ut_vmo_set_byte(c, 0, 0xc0);
    EXPECT_EQ(ut_vmo_bytes(), base + 5 * P);
    EXPECT_ATTR(c, 4 * P, P, P + 3 * P / 2);
    EXPECT_ATTR(parent, 4 * P, P, P + 3 * P / 2);
    // The parent writes that page: nobody else can reach its original, so no copy.
    ut_vmo_set_byte(parent, 0, 0xa0);
    EXPECT_EQ(ut_vmo_bytes(), base + 5 * P);
    // The parent writes another shared page: one copy.
    ut_vmo_set_byte(parent, P, 0xa1);
    EXPECT_EQ(ut_vmo_bytes(), base + 6 * P);
    EXPECT_ATTR(parent, 4 * P, 2 * P, 2 * P + P);
    EXPECT_ATTR(c, 4 * P, 2 * P, 2 * P + P);
    // Writing the same pages again copies nothing.
    ut_vmo_set_byte(parent, P + 1, 0xa2);
    ut_vmo_set_byte(c, 2, 0xc2);
    EXPECT_EQ(ut_vmo_bytes(), base + 6 * P);
    EXPECT_EQ(ut_vmo_byte(parent, 0), 0xa0);
    EXPECT_EQ(ut_vmo_byte(c, 0), 0xc0);
    EXPECT_EQ(ut_vmo_byte(c, P), 0x10);
    EXPECT_EQ(ut_vmo_byte(parent, 2 * P), 0x10);
    // Closing the child frees, at once, what only it could reach.
    zx_handle_close(c);
    EXPECT_EQ(ut_vmo_bytes(), base + 4 * P);
    EXPECT_ATTR(parent, 4 * P, 4 * P, 4 * P);
    EXPECT_EQ(ut_vmo_byte(parent, 0), 0xa0);
    EXPECT_EQ(ut_vmo_byte(parent, P), 0xa1);
    EXPECT_EQ(ut_vmo_byte(parent, 3 * P), 0x10);
    zx_handle_close(parent);
    EXPECT_EQ(ut_vmo_bytes(), base);
}

TEST(attribution_child_window) {
    uint64_t base = ut_vmo_bytes();
    zx_handle_t parent = ut_vmo(4 * P, 0x20);
    zx_handle_t c = ut_child(parent, SNAP, 2 * P, P);
    EXPECT_ATTR(c, P, 0, P / 2);
    EXPECT_ATTR(parent, 4 * P, 3 * P, 3 * P + P / 2);
    // A page outside the child's window is not shared: writing it copies nothing.
    ut_vmo_set_byte(parent, 0, 1);
    ut_vmo_set_byte(parent, 3 * P, 1);
    EXPECT_EQ(ut_vmo_bytes(), base + 4 * P);
    // The shared page: one copy.
    ut_vmo_set_byte(parent, 2 * P, 1);
    EXPECT_EQ(ut_vmo_bytes(), base + 5 * P);
    EXPECT_ATTR(c, P, P, P);
    EXPECT_ATTR(parent, 4 * P, 4 * P, 4 * P);
    EXPECT_EQ(ut_vmo_byte(c, 0), 0x20);
    zx_handle_close(parent);
    EXPECT_EQ(ut_vmo_bytes(), base + P);
    EXPECT_EQ(ut_vmo_byte(c, 0), 0x20);
    zx_handle_close(c);
    EXPECT_EQ(ut_vmo_bytes(), base);
}

TEST(close_parent_keeps_child_and_moves_pages) {
    uint64_t base = ut_vmo_bytes();
    zx_handle_t parent = ut_vmo(2 * P, 0x41);
    zx_handle_t c = ut_child(parent, SNAP, 0, 2 * P);
    zx_handle_close(parent);
    EXPECT_EQ(ut_vmo_bytes(), base + 2 * P);
    EXPECT_ATTR(c, 2 * P, 2 * P, 2 * P);
    // The child is the only one that can reach the pages: writing moves, never copies.
    ut_vmo_set_byte(c, 0, 0x42);
    ut_vmo_set_byte(c, P, 0x43);
    EXPECT_EQ(ut_vmo_bytes(), base + 2 * P);
    EXPECT_EQ(ut_vmo_byte(c, 1), 0x41);
    EXPECT_EQ(ut_vmo_byte(c, 0), 0x42);
    zx_handle_close(c);
    EXPECT_EQ(ut_vmo_bytes(), base);
}

TEST(snapshot_chain_attribution) {
    uint64_t base = ut_vmo_bytes();
    zx_handle_t a = ut_vmo(2 * P, 0x61);
    zx_handle_t b = ut_child(a, SNAP, 0, 2 * P);
    zx_handle_t c = ut_child(b, SNAP, 0, 2 * P);
    EXPECT_EQ(ut_vmo_bytes(), base + 2 * P);
    // Two pages shared three ways: 8192 / 3 = 2730.67 each.
    for (int i = 0; i < 3; i++) {
        zx_handle_t h = i == 0 ? a : i == 1 ? b : c;
        zx_info_vmo_t info = ut_vmo_info(h);
        EXPECT_EQ(info.committed_bytes, 2 * P);
        EXPECT_EQ(info.committed_private_bytes, 0);
        EXPECT_EQ(info.committed_scaled_bytes, 2730);
        // The fractions are exact 63-bit fixed point (1 << 63 is one byte): two thirds of a
        // byte, as twice floor(2^63 / 3).
        EXPECT_EQ(info.committed_fractional_scaled_bytes, 2 * 0x2aaaaaaaaaaaaaaaull);
        EXPECT_EQ(info.populated_fractional_scaled_bytes, 2 * 0x2aaaaaaaaaaaaaaaull);
    }
    EXPECT_EQ(ut_vmo_info(c).parent_koid, ut_koid(b));
    // b writes page 0: one copy; a and c still share the original.
    ut_vmo_set_byte(b, 0, 0x62);
    EXPECT_EQ(ut_vmo_bytes(), base + 3 * P);
    EXPECT_EQ(ut_vmo_byte(a, 0), 0x61);
    EXPECT_EQ(ut_vmo_byte(c, 0), 0x61);
    zx_info_vmo_t ai = ut_vmo_info(a), bi = ut_vmo_info(b), ci = ut_vmo_info(c);
    EXPECT_EQ(ai.committed_private_bytes, 0);
    EXPECT_EQ(ai.committed_scaled_bytes, 3413);  // 4096/2 + 4096/3
    EXPECT_EQ(bi.committed_private_bytes, P);
    EXPECT_EQ(bi.committed_scaled_bytes, 5461);  // 4096 + 4096/3
    EXPECT_EQ(ci.committed_scaled_bytes, 3413);
    // One page shared three ways leaves exactly floor(2^63 / 3), not a rounded value.
    EXPECT_EQ(ai.committed_fractional_scaled_bytes, 0x2aaaaaaaaaaaaaaaull);
    EXPECT_EQ(bi.committed_fractional_scaled_bytes, 0x2aaaaaaaaaaaaaaaull);
    EXPECT_EQ(ci.committed_fractional_scaled_bytes, 0x2aaaaaaaaaaaaaaaull);
    // c writes page 0: one more copy; the original is a's alone.
    ut_vmo_set_byte(c, 0, 0x63);
    EXPECT_EQ(ut_vmo_bytes(), base + 4 * P);
    EXPECT_EQ(ut_vmo_info(a).committed_private_bytes, P);
    // Closing b frees its copy; a and c share page 1.
    zx_handle_close(b);
    EXPECT_EQ(ut_vmo_bytes(), base + 3 * P);
    EXPECT_ATTR(a, 2 * P, P, P + P / 2);
    EXPECT_ATTR(c, 2 * P, P, P + P / 2);
    EXPECT_EQ(ut_vmo_byte(c, 0), 0x63);
    EXPECT_EQ(ut_vmo_byte(c, P), 0x61);
    zx_handle_close(a);
    EXPECT_EQ(ut_vmo_bytes(), base + 2 * P);
    EXPECT_EQ(ut_vmo_byte(c, P), 0x61);
    zx_handle_close(c);
    EXPECT_EQ(ut_vmo_bytes(), base);
}

TEST(grandchild_sees_child_as_of_creation) {
    zx_handle_t a = ut_vmo(P, 1);
    zx_handle_t b = ut_child(a, SNAP, 0, P);
    ut_vmo_set_byte(b, 0, 2);
    zx_handle_t c = ut_child(b, SNAP, 0, P);
    ut_vmo_set_byte(b, 0, 3);
    ut_vmo_set_byte(a, 0, 4);
    EXPECT_EQ(ut_vmo_byte(c, 0), 2);
    EXPECT_EQ(ut_vmo_byte(b, 0), 3);
    EXPECT_EQ(ut_vmo_byte(a, 0), 4);
    zx_handle_close(a);
    zx_handle_close(b);
    EXPECT_EQ(ut_vmo_byte(c, 0), 2);
    zx_handle_close(c);
}

TEST(many_children) {
    uint64_t base = ut_vmo_bytes();
    zx_handle_t parent = ut_vmo(4 * P, 0x70);
    zx_handle_t kids[16];
    for (int i = 0; i < 16; i++) {
        kids[i] = ut_child(parent, SNAP, 0, 4 * P);
        ut_vmo_set_byte(kids[i], (uint64_t)(i % 4) * P, (uint8_t)i);
    }
    EXPECT_EQ(ut_vmo_bytes(), base + 4 * P + 16 * P);
    EXPECT_EQ(ut_vmo_info(parent).num_children, 16);
    for (int i = 0; i < 16; i++) {
        EXPECT_EQ(ut_vmo_byte(kids[i], (uint64_t)(i % 4) * P), i);
        EXPECT_EQ(ut_vmo_byte(kids[i], (uint64_t)((i + 1) % 4) * P), 0x70);
    }
    for (int i = 0; i < 16; i += 2)
        zx_handle_close(kids[i]);
    EXPECT_EQ(ut_vmo_bytes(), base + 4 * P + 8 * P);
    for (int i = 1; i < 16; i += 2)
        zx_handle_close(kids[i]);
    EXPECT_EQ(ut_vmo_bytes(), base + 4 * P);
    EXPECT_ATTR(parent, 4 * P, 4 * P, 4 * P);
    zx_handle_close(parent);
}

TEST(copy_on_write_through_mappings) {
    uint64_t base = ut_vmo_bytes();
    zx_handle_t parent = ut_vmo(2 * P, 0x35);
    zx_handle_t c = ut_child(parent, SNAP, 0, 2 * P);
    volatile uint8_t *cp =
        (volatile uint8_t *)ut_map(c, 0, 2 * P, ZX_VM_PERM_READ | ZX_VM_PERM_WRITE);
    volatile uint8_t *pp =
        (volatile uint8_t *)ut_map(parent, 0, 2 * P, ZX_VM_PERM_READ | ZX_VM_PERM_WRITE);
    REQUIRE_TRUE(cp && pp);
    EXPECT_EQ(cp[0], 0x35);
    EXPECT_EQ(ut_vmo_bytes(), base + 2 * P);
    cp[0] = 0x36;
    EXPECT_EQ(ut_vmo_bytes(), base + 3 * P);
    EXPECT_EQ(pp[0], 0x35);
    pp[P] = 0x37;
    EXPECT_EQ(ut_vmo_bytes(), base + 4 * P);
    EXPECT_EQ(cp[P], 0x35);
    EXPECT_EQ(ut_vmo_byte(c, 0), 0x36);
    EXPECT_EQ(ut_vmo_byte(parent, P), 0x37);
    // A write through the syscall after a read through the mapping: the mapping sees it.
    ut_vmo_set_byte(c, P, 0x38);
    EXPECT_EQ(cp[P], 0x38);
    EXPECT_EQ(pp[P], 0x37);
    ut_unmap((uintptr_t)cp, 2 * P);
    ut_unmap((uintptr_t)pp, 2 * P);
    zx_handle_close(c);
    zx_handle_close(parent);
}

TEST(zero_children_waits_for_mappings) {
    zx_handle_t parent = ut_vmo(P, -1);
    zx_handle_t c = ut_child(parent, SNAP, 0, P);
    uintptr_t m = ut_map(c, 0, P, ZX_VM_PERM_READ);
    zx_handle_close(c);
    EXPECT_FALSE(ut_signaled(parent, ZX_VMO_ZERO_CHILDREN));
    EXPECT_STATUS(zx_object_wait_one(parent, ZX_VMO_ZERO_CHILDREN, ut_deadline_after(1000000),
                                     NULL),
                  ZX_ERR_TIMED_OUT);
    ut_unmap(m, P);
    EXPECT_TRUE(ut_signaled(parent, ZX_VMO_ZERO_CHILDREN));
    zx_handle_close(parent);
}

TEST(decommit_refused_with_cow_children) {
    zx_handle_t parent = ut_vmo(2 * P, 1);
    zx_handle_t c = ut_child(parent, SNAP, 0, 2 * P);
    EXPECT_STATUS(zx_vmo_op_range(parent, ZX_VMO_OP_DECOMMIT, 0, P, NULL, 0),
                  ZX_ERR_NOT_SUPPORTED);
    EXPECT_STATUS(zx_vmo_op_range(c, ZX_VMO_OP_DECOMMIT, 0, P, NULL, 0), ZX_ERR_NOT_SUPPORTED);
    EXPECT_EQ(ut_vmo_byte(parent, 0), 1);
    EXPECT_EQ(ut_vmo_byte(c, 0), 1);
    zx_handle_close(c);
    EXPECT_OK(zx_vmo_op_range(parent, ZX_VMO_OP_DECOMMIT, 0, P, NULL, 0));
    EXPECT_EQ(ut_vmo_byte(parent, 0), 0);
    zx_handle_close(parent);
}

TEST(commit_on_child_copies) {
    uint64_t base = ut_vmo_bytes();
    zx_handle_t parent;
    REQUIRE_OK(zx_vmo_create(2 * P, 0, &parent));
    ut_vmo_set_byte(parent, 5, 0x99);
    zx_handle_t c = ut_child(parent, SNAP, 0, 2 * P);
    EXPECT_OK(zx_vmo_op_range(c, ZX_VMO_OP_COMMIT, 0, 2 * P, NULL, 0));
    EXPECT_EQ(ut_vmo_bytes(), base + 3 * P);
    EXPECT_ATTR(c, 2 * P, 2 * P, 2 * P);
    EXPECT_ATTR(parent, P, P, P);
    EXPECT_EQ(ut_vmo_byte(c, 5), 0x99);
    // Writing the committed pages now copies nothing.
    ut_vmo_set_byte(c, 5, 0x98);
    ut_vmo_set_byte(c, P, 0x97);
    EXPECT_EQ(ut_vmo_bytes(), base + 3 * P);
    EXPECT_EQ(ut_vmo_byte(parent, 5), 0x99);
    zx_handle_close(c);
    zx_handle_close(parent);
}

TEST(accumulated_offset_overflow) {
    zx_handle_t parent = ut_vmo(P, 1);
    const uint64_t far = 0xffffffffffff0000ull;
    zx_handle_t c = ut_child(parent, SNAP | ZX_VMO_CHILD_RESIZABLE, far, P);
    REQUIRE_TRUE(c);
    EXPECT_EQ(ut_vmo_byte(c, 0), 0);
    zx_handle_t g = ZX_HANDLE_INVALID;
    EXPECT_STATUS(zx_vmo_create_child(c, SNAP, 0x10000, P, &g), ZX_ERR_INVALID_ARGS);
    EXPECT_STATUS(zx_vmo_create_child(c, SNAP, 0, 0x20000, &g), ZX_ERR_INVALID_ARGS);
    EXPECT_EQ(g, ZX_HANDLE_INVALID);
    // Within the limit is fine.
    g = ut_child(c, SNAP, 0x8000, P);
    zx_handle_close(g);
    // Growing the child past the end of the offset space.
    EXPECT_STATUS(zx_vmo_set_size(c, 0x20000), ZX_ERR_INVALID_ARGS);
    EXPECT_EQ(ut_vmo_size(c), P);
    EXPECT_OK(zx_vmo_set_size(c, 0xf000));
    zx_handle_close(c);
    zx_handle_close(parent);
}

// ---- Random operations against a model ----
// Up to MV VMOs of at most MP pages: roots, snapshots (resizable or not) and slices, written,
// zeroed, resized and closed at random, through syscalls and through mappings. After every step
// the touched VMO must read exactly like the model; every few steps all of them, and the page
// accounting must add up: the scaled figures of all live VMOs sum to the pages in use.

#define MV 16
#define MP 6

struct mvmo {
    bool live;
    zx_handle_t h;
    uint64_t size;       // page-rounded
    bool resizable;
    int alias;           // a slice: the VMO whose bytes it shows; -1 otherwise
    uint64_t alias_off;
    int slices;          // live slices of this VMO
    uintptr_t map;       // a read-write mapping of MP pages, or 0
    uint8_t data[MP * 4096];
};

static struct mvmo mv[MV];
static uint64_t mrng;
static uint8_t mbuf[MP * 4096];

static uint64_t mrand(void) {
    mrng ^= mrng << 13;
    mrng ^= mrng >> 7;
    mrng ^= mrng << 17;
    return mrng;
}

static uint8_t *mbyte(int v, uint64_t off) {
    while (mv[v].alias >= 0) {
        off += mv[v].alias_off;
        v = mv[v].alias;
    }
    return &mv[v].data[off];
}

static bool model_check(int v, const char *what) {
    struct mvmo *m = &mv[v];
    uint64_t size = 0;
    if (zx_vmo_get_size(m->h, &size) != ZX_OK || size != m->size) {
        EXPECT_FAILF("%s: VMO %d size %llu, model %llu", what, v, (unsigned long long)size,
                     (unsigned long long)m->size);
        return false;
    }
    memset(mbuf, 0xee, sizeof(mbuf));
    if (m->size && zx_vmo_read(m->h, mbuf, 0, m->size) != ZX_OK) {
        EXPECT_FAILF("%s: reading VMO %d failed", what, v);
        return false;
    }
    for (uint64_t i = 0; i < m->size; i++) {
        uint8_t want = *mbyte(v, i);
        uint8_t via_map = m->map ? ((volatile uint8_t *)m->map)[i] : want;
        if (mbuf[i] != want || via_map != want) {
            EXPECT_FAILF("%s: VMO %d byte %#llx: read %#x, mapping %#x, model %#x", what, v,
                         (unsigned long long)i, mbuf[i], via_map, want);
            return false;
        }
    }
    return true;
}

static bool model_accounting(uint64_t base, const char *what) {
    uint64_t sum = 0;
    int n = 0;
    for (int v = 0; v < MV; v++) {
        if (!mv[v].live)
            continue;
        n++;
        sum += ut_vmo_info(mv[v].h).committed_scaled_bytes;
    }
    uint64_t used = ut_vmo_bytes() - base;
    // Each VMO's figure is rounded down to a byte.
    if (used < sum || used - sum > (uint64_t)n) {
        EXPECT_FAILF("%s: the live VMOs' scaled bytes add up to %llu, but %llu bytes are in use",
                     what, (unsigned long long)sum, (unsigned long long)used);
        return false;
    }
    return true;
}

static int model_pick_live(void) {
    for (int tries = 0; tries < 64; tries++) {
        int v = (int)(mrand() % MV);
        if (mv[v].live)
            return v;
    }
    return -1;
}

static int model_free_slot(void) {
    for (int v = 0; v < MV; v++) {
        if (!mv[v].live)
            return v;
    }
    return -1;
}

static void model_close(int v) {
    struct mvmo *m = &mv[v];
    if (m->map)
        zx_vmar_unmap(zx_vmar_root_self(), m->map, MP * PAGE);
    zx_handle_close(m->h);
    if (m->alias >= 0)
        mv[m->alias].slices--;
    m->live = false;
    m->map = 0;
}

#ifndef MODEL_SEEDS
#define MODEL_SEEDS 2
#endif
#ifndef MODEL_STEPS
#define MODEL_STEPS 1500
#endif

// One step's state: the VMO it acts on (a live one picked at random, or -1), a free slot (or -1)
// and a description for failure messages.
struct mstep {
    int step;
    int v, f;
    char what[96];
};

static uint64_t mbase;  // vmo_bytes when the run started

// The operations: each applies itself through syscalls (or a mapping) and to the model, and
// returns the VMO whose contents to compare with the model, or -1 when there is nothing to
// compare (it found nothing to do, or closed a VMO: then it checks the accounting itself).

// A new root, slice or snapshot in slot s->f (of s->v, when there is one).
static int mop_create(struct mstep *s) {
    int v = s->v, f = s->f, step = s->step;
    char *what = s->what;
    if (f < 0)
        return -1;
    struct mvmo *m = &mv[f];
    memset(m->data, 0, sizeof(m->data));
    m->alias = -1;
    m->slices = 0;
    m->map = 0;
    uint64_t bytes = (mrand() % (MP + 1)) * PAGE - (mrand() % 2) * (mrand() % 100);
    if ((int64_t)bytes < 0)
        bytes = 0;
    if (v < 0 || mrand() % 3 == 0) {
        m->resizable = mrand() % 2;
        snprintf(what, sizeof(s->what), "step %d: create %d (%llu bytes%s)", step, f,
                 (unsigned long long)bytes, m->resizable ? ", resizable" : "");
        if (!EXPECT_OK(zx_vmo_create(bytes, m->resizable ? ZX_VMO_RESIZABLE : 0, &m->h)))
            return -1;
    } else if (mrand() % 3 == 0 && !mv[v].resizable) {
        // A slice inside v.
        uint64_t pages = mv[v].size / PAGE;
        uint64_t off = pages ? (mrand() % pages) * PAGE : 0;
        bytes = ((mrand() % (pages - off / PAGE + 1)) * PAGE);
        snprintf(what, sizeof(s->what), "step %d: slice %d of %d at %#llx, %llu bytes", step, f, v,
                 (unsigned long long)off, (unsigned long long)bytes);
        if (!EXPECT_OK(zx_vmo_create_child(mv[v].h, ZX_VMO_CHILD_SLICE, off, bytes, &m->h)))
            return -1;
        m->alias = v;
        m->alias_off = off;
        m->resizable = false;
        mv[v].slices++;
    } else {
        uint64_t off = (mrand() % (MP + 1)) * PAGE;
        m->resizable = mrand() % 2;
        snprintf(what, sizeof(s->what), "step %d: snapshot %d of %d at %#llx, %llu bytes%s", step,
                 f, v, (unsigned long long)off, (unsigned long long)bytes,
                 m->resizable ? ", resizable" : "");
        if (!EXPECT_OK(zx_vmo_create_child(
                mv[v].h, ZX_VMO_CHILD_SNAPSHOT | (m->resizable ? ZX_VMO_CHILD_RESIZABLE : 0), off,
                bytes, &m->h)))
            return -1;
        // The child's size rounds up; it sees whole pages of the parent.
        uint64_t rounded = (bytes + PAGE - 1) & ~(uint64_t)(PAGE - 1);
        for (uint64_t i = 0; i < MP * PAGE; i++)
            m->data[i] = off + i < mv[v].size && i < rounded ? *mbyte(v, off + i) : 0;
    }
    m->size = (bytes + PAGE - 1) & ~(uint64_t)(PAGE - 1);
    m->live = true;
    return f;
}

// Writes some bytes, through the syscall or the mapping.
static int mop_write(struct mstep *s) {
    int v = s->v;
    struct mvmo *m = &mv[v];
    if (!m->size)
        return -1;
    uint64_t off = mrand() % m->size;
    uint64_t len = 1 + mrand() % (mrand() % 2 ? 16 : 2 * PAGE);
    if (len > m->size - off)
        len = m->size - off;
    uint8_t val = (uint8_t)(mrand() | 1);
    bool via_map = m->map && mrand() % 2;
    snprintf(s->what, sizeof(s->what), "step %d: write %d [%#llx, +%#llx) = %#x%s", s->step, v,
             (unsigned long long)off, (unsigned long long)len, val,
             via_map ? " through the mapping" : "");
    memset(mbuf, val, len);
    if (via_map)
        memset((void *)(m->map + off), val, len);
    else if (!EXPECT_OK(zx_vmo_write(m->h, mbuf, off, len)))
        return -1;
    for (uint64_t i = 0; i < len; i++)
        *mbyte(v, off + i) = val;
    return v;
}

// ZERO an unaligned range (within the size: a range past it is OUT_OF_RANGE).
static int mop_zero(struct mstep *s) {
    int v = s->v;
    struct mvmo *m = &mv[v];
    if (!m->size)
        return -1;
    uint64_t off = mrand() % m->size;
    uint64_t len = mrand() % (3 * PAGE);
    if (len > m->size - off)
        len = m->size - off;
    snprintf(s->what, sizeof(s->what), "step %d: zero %d [%#llx, +%#llx)", s->step, v,
             (unsigned long long)off, (unsigned long long)len);
    if (!EXPECT_OK(zx_vmo_op_range(m->h, ZX_VMO_OP_ZERO, off, len, NULL, 0)))
        return -1;
    for (uint64_t i = off; i < off + len && i < m->size; i++)
        *mbyte(v, i) = 0;
    return v;
}

// Resizes a resizable VMO.
static int mop_set_size(struct mstep *s) {
    int v = s->v;
    struct mvmo *m = &mv[v];
    if (!m->resizable)
        return -1;
    uint64_t bytes = mrand() % (MP * PAGE + 1);
    snprintf(s->what, sizeof(s->what), "step %d: set_size %d to %llu", s->step, v,
             (unsigned long long)bytes);
    if (!EXPECT_OK(zx_vmo_set_size(m->h, bytes)))
        return -1;
    for (uint64_t i = bytes; i < MP * PAGE; i++)
        m->data[i] = 0;
    m->size = (bytes + PAGE - 1) & ~(uint64_t)(PAGE - 1);
    return v;
}

// Maps or unmaps the VMO.
static int mop_map(struct mstep *s) {
    int v = s->v;
    struct mvmo *m = &mv[v];
    snprintf(s->what, sizeof(s->what), "step %d: %s %d", s->step, m->map ? "unmap" : "map", v);
    if (m->map) {
        if (!EXPECT_OK(zx_vmar_unmap(zx_vmar_root_self(), m->map, MP * PAGE)))
            return -1;
        m->map = 0;
    } else {
        zx_vaddr_t a;
        if (!EXPECT_OK(zx_vmar_map(zx_vmar_root_self(),
                                   ZX_VM_PERM_READ | ZX_VM_PERM_WRITE | ZX_VM_ALLOW_FAULTS, 0, m->h,
                                   0, MP * PAGE, &a)))
            return -1;
        m->map = a;
    }
    return v;
}

// COMMIT (the whole VMO: a range past the end is OUT_OF_RANGE) changes nothing visible.
static int mop_commit(struct mstep *s) {
    snprintf(s->what, sizeof(s->what), "step %d: commit %d", s->step, s->v);
    if (!EXPECT_OK(zx_vmo_op_range(mv[s->v].h, ZX_VMO_OP_COMMIT, 0, mv[s->v].size, NULL, 0)))
        return -1;
    return s->v;
}

// Closes the VMO (not while slices of it live: their parent must stay measurable).
static int mop_close(struct mstep *s) {
    if (mv[s->v].slices)
        return -1;
    snprintf(s->what, sizeof(s->what), "step %d: close %d", s->step, s->v);
    model_close(s->v);
    model_accounting(mbase, s->what);
    return -1;
}

// mrand() % 10 selects an operation (test/model_op.h); a step without a live VMO creates one.
struct mop {
    const char *name;
    unsigned weight;
    int (*run)(struct mstep *s);
};

static const struct mop mops[] = {
    {"create", 2, mop_create},
    {"write", 3, mop_write},
    {"zero", 1, mop_zero},
    {"set_size", 1, mop_set_size},
    {"map", 1, mop_map},
    {"commit", 1, mop_commit},
    {"close", 1, mop_close},
};

static void model_run(uint64_t seed) {
    mbase = ut_vmo_bytes();
    memset(mv, 0, sizeof(mv));
    mrng = 0x243f6a8885a308d3ull ^ (seed * 0x9e3779b97f4a7c15ull);
    int steps = 0;
    const char *last = "none";
    for (int step = 0; step < MODEL_STEPS && !expect_failed(); step++) {
        uint64_t r = mrand();
        struct mstep s = {.step = step, .v = model_pick_live(), .f = model_free_slot()};
        const struct mop *op = MODEL_OP_PICK(mops, r);
        if (s.v < 0)
            op = &mops[0];  // nothing live: create
        else if (op == &mops[0] && s.f < 0)
            op = &mops[1];  // no room to create: write instead
        steps++;
        last = op->name;
        int checked = op->run(&s);
        if (checked < 0)
            continue;
        if (!model_check(checked, s.what))
            break;
        if (step % 16 == 0) {
            for (int w = 0; w < MV; w++) {
                if (mv[w].live && !model_check(w, s.what))
                    break;
            }
            if (!model_accounting(mbase, s.what))
                break;
        }
    }
    if (expect_failed())
        printf("    seed %llu: failed after %d steps (the last: %s)\n", (unsigned long long)seed,
               steps, last);
    // Close slices first, then the rest.
    for (int round = 0; round < MV; round++) {
        for (int v = 0; v < MV; v++) {
            if (mv[v].live && !mv[v].slices)
                model_close(v);
        }
    }
    EXPECT_EQ(ut_vmo_bytes(), mbase);
}

TEST(random_operations_against_model) {
    for (uint64_t seed = 0; seed < MODEL_SEEDS && !expect_failed(); seed++)
        model_run(seed);
}

UTEST_MAIN(NULL)
