// ZX_VMO_OP_ZERO against ZX_VMO_OP_DECOMMIT (docs/abi.md §2 "op_range"): ZERO works on
// unaligned ranges, commits nothing, frees the pages it fully covers and works on copy-on-write
// VMOs; DECOMMIT needs page alignment and is refused on copy-on-write children and their parents.
#include <stdio.h>

#include "test/user/utest.h"

#define VMO_RIGHTS ZX_DEFAULT_VMO_RIGHTS
#define SNAP ZX_VMO_CHILD_SNAPSHOT
#define P ((uint64_t)PAGE)

static zx_status_t zero(zx_handle_t vmo, uint64_t offset, uint64_t len) {
    return zx_vmo_op_range(vmo, ZX_VMO_OP_ZERO, offset, len, NULL, 0);
}

static zx_status_t decommit(zx_handle_t vmo, uint64_t offset, uint64_t len) {
    return zx_vmo_op_range(vmo, ZX_VMO_OP_DECOMMIT, offset, len, NULL, 0);
}

static zx_handle_t snapshot(zx_handle_t parent, uint64_t size) {
    zx_handle_t c = ZX_HANDLE_INVALID;
    zx_status_t st = zx_vmo_create_child(parent, SNAP, 0, size, &c);
    if (st != ZX_OK)
        EXPECT_FAILF("snapshot failed: %d", st);
    return c;
}

TEST(zero_unaligned_range_exactly) {
    zx_handle_t vmo = ut_vmo(3 * P, 0xaa);
    EXPECT_OK(zero(vmo, 100, 5000));
    EXPECT_OK(zx_vmo_read(vmo, ut_scratch, 0, 3 * P));
    EXPECT_FILL(ut_scratch, 0xaa, 100);
    EXPECT_FILL(ut_scratch + 100, 0, 5000);
    EXPECT_FILL(ut_scratch + 5100, 0xaa, 3 * P - 5100);
    // A single byte.
    EXPECT_OK(zero(vmo, 2 * P + 7, 1));
    EXPECT_EQ(ut_vmo_byte(vmo, 2 * P + 6), 0xaa);
    EXPECT_EQ(ut_vmo_byte(vmo, 2 * P + 7), 0);
    EXPECT_EQ(ut_vmo_byte(vmo, 2 * P + 8), 0xaa);
    zx_handle_close(vmo);
}

TEST(zero_commits_nothing) {
    uint64_t base = ut_vmo_bytes();
    zx_handle_t vmo;
    REQUIRE_OK(zx_vmo_create(8 * P, 0, &vmo));
    EXPECT_OK(zero(vmo, 0, 8 * P));
    EXPECT_OK(zero(vmo, 10, 3 * P));
    EXPECT_OK(zero(vmo, P + 1, 1));
    EXPECT_EQ(ut_committed(vmo), 0);
    EXPECT_EQ(ut_vmo_bytes(), base);
    EXPECT_OK(zx_vmo_read(vmo, ut_scratch, 0, 8 * P));
    EXPECT_FILL(ut_scratch, 0, 8 * P);
    zx_handle_close(vmo);
}

TEST(zero_frees_fully_covered_pages) {
    uint64_t base = ut_vmo_bytes();
    zx_handle_t vmo = ut_vmo(4 * P, 0xbb);
    EXPECT_EQ(ut_vmo_bytes(), base + 4 * P);
    // Covers half of page 0, pages 1 and 2, and half of page 3.
    EXPECT_OK(zero(vmo, P / 2, 3 * P));
    EXPECT_EQ(ut_committed(vmo), 2 * P);
    EXPECT_EQ(ut_vmo_bytes(), base + 2 * P);
    EXPECT_OK(zx_vmo_read(vmo, ut_scratch, 0, 4 * P));
    EXPECT_FILL(ut_scratch, 0xbb, P / 2);
    EXPECT_FILL(ut_scratch + P / 2, 0, 3 * P);
    EXPECT_FILL(ut_scratch + P / 2 + 3 * P, 0xbb, P / 2);
    // The whole VMO.
    EXPECT_OK(zero(vmo, 0, 4 * P));
    EXPECT_EQ(ut_committed(vmo), 0);
    EXPECT_EQ(ut_vmo_bytes(), base);
    zx_handle_close(vmo);
}

TEST(zero_bounds_never_trim) {
    zx_handle_t vmo = ut_vmo(2 * P, 0xcc);
    EXPECT_STATUS(zero(vmo, 3 * P, 1), ZX_ERR_OUT_OF_RANGE);
    EXPECT_STATUS(zero(vmo, 2 * P + 1, 0), ZX_ERR_OUT_OF_RANGE);
    EXPECT_OK(zero(vmo, P, 0));
    EXPECT_EQ(ut_vmo_byte(vmo, P), 0xcc);
    // A length past the end, or one whose end overflows, is OUT_OF_RANGE and zeroes nothing.
    EXPECT_STATUS(zero(vmo, P + 100, 100 * P), ZX_ERR_OUT_OF_RANGE);
    EXPECT_STATUS(zero(vmo, P + 100, UINT64_MAX), ZX_ERR_OUT_OF_RANGE);
    EXPECT_STATUS(zero(vmo, P + 100, P - 99), ZX_ERR_OUT_OF_RANGE);
    EXPECT_EQ(ut_vmo_byte(vmo, P + 100), 0xcc);
    EXPECT_EQ(ut_vmo_byte(vmo, 2 * P - 1), 0xcc);
    // Exactly to the end is fine.
    EXPECT_OK(zero(vmo, P + 100, P - 100));
    EXPECT_EQ(ut_vmo_byte(vmo, P + 99), 0xcc);
    EXPECT_EQ(ut_vmo_byte(vmo, P + 100), 0);
    EXPECT_EQ(ut_vmo_byte(vmo, 2 * P - 1), 0);
    EXPECT_OK(zx_vmo_read(vmo, ut_scratch, 0, P));
    EXPECT_FILL(ut_scratch, 0xcc, P);
    zx_handle_close(vmo);
}

TEST(zero_needs_write) {
    zx_handle_t vmo = ut_vmo(P, 0xdd);
    zx_handle_t ro = ut_dup(vmo, VMO_RIGHTS & ~ZX_RIGHT_WRITE);
    EXPECT_STATUS(zero(ro, 0, P), ZX_ERR_ACCESS_DENIED);
    EXPECT_EQ(ut_vmo_byte(vmo, 0), 0xdd);
    EXPECT_HANDLE_ERRORS(zero(h, 0, P));
    zx_handle_close(ro);
    zx_handle_close(vmo);
}

TEST(decommit_needs_alignment) {
    zx_handle_t vmo = ut_vmo(4 * P, 0xee);
    EXPECT_STATUS(decommit(vmo, 1, P), ZX_ERR_INVALID_ARGS);
    EXPECT_STATUS(decommit(vmo, P / 2, P / 2), ZX_ERR_INVALID_ARGS);
    EXPECT_STATUS(decommit(vmo, P, 1), ZX_ERR_INVALID_ARGS);
    EXPECT_EQ(ut_committed(vmo), 4 * P);
    EXPECT_OK(decommit(vmo, P, 2 * P));
    EXPECT_EQ(ut_committed(vmo), 2 * P);
    EXPECT_OK(zx_vmo_read(vmo, ut_scratch, 0, 4 * P));
    EXPECT_FILL(ut_scratch, 0xee, P);
    EXPECT_FILL(ut_scratch + P, 0, 2 * P);
    EXPECT_FILL(ut_scratch + 3 * P, 0xee, P);
    zx_handle_close(vmo);
}

TEST(zero_and_decommit_on_copy_on_write) {
    uint64_t base = ut_vmo_bytes();
    zx_handle_t parent = ut_vmo(2 * P, 0x11);
    zx_handle_t c = snapshot(parent, 2 * P);
    EXPECT_STATUS(decommit(parent, 0, P), ZX_ERR_NOT_SUPPORTED);
    EXPECT_STATUS(decommit(c, 0, P), ZX_ERR_NOT_SUPPORTED);
    // ZERO on the child: the child reads zero, the parent keeps its data, nothing is copied.
    EXPECT_OK(zero(c, 0, P));
    EXPECT_EQ(ut_vmo_bytes(), base + 2 * P);
    EXPECT_EQ(ut_vmo_byte(c, 0), 0);
    EXPECT_EQ(ut_vmo_byte(c, P), 0x11);
    EXPECT_EQ(ut_vmo_byte(parent, 0), 0x11);
    zx_info_vmo_t ci = ut_vmo_info(c), pi = ut_vmo_info(parent);
    EXPECT_EQ(ci.committed_bytes, P);
    EXPECT_EQ(pi.committed_private_bytes, P);
    // ZERO on the parent: the child keeps its data.
    EXPECT_OK(zero(parent, P, P));
    EXPECT_EQ(ut_vmo_byte(parent, P), 0);
    EXPECT_EQ(ut_vmo_byte(c, P), 0x11);
    EXPECT_EQ(ut_vmo_bytes(), base + 2 * P);
    // Unaligned ZERO of a shared page: that page is copied once, partly zeroed.
    zx_handle_t d = snapshot(parent, 2 * P);
    EXPECT_OK(zero(d, 10, 10));
    EXPECT_EQ(ut_vmo_bytes(), base + 3 * P);
    EXPECT_EQ(ut_vmo_byte(d, 9), 0x11);
    EXPECT_EQ(ut_vmo_byte(d, 10), 0);
    EXPECT_EQ(ut_vmo_byte(parent, 10), 0x11);
    zx_handle_close(d);
    zx_handle_close(c);
    zx_handle_close(parent);
    EXPECT_EQ(ut_vmo_bytes(), base);
}

TEST(zero_then_write_commits_again) {
    uint64_t base = ut_vmo_bytes();
    zx_handle_t vmo = ut_vmo(2 * P, 0x22);
    EXPECT_OK(zero(vmo, 0, 2 * P));
    EXPECT_EQ(ut_vmo_bytes(), base);
    ut_vmo_set_byte(vmo, P + 1, 0x23);
    EXPECT_EQ(ut_vmo_bytes(), base + P);
    EXPECT_EQ(ut_vmo_byte(vmo, P), 0);
    EXPECT_EQ(ut_vmo_byte(vmo, P + 1), 0x23);
    zx_handle_close(vmo);
}

TEST(zero_seen_through_mapping) {
    zx_handle_t vmo = ut_vmo(2 * P, 0x33);
    volatile uint8_t *p = (volatile uint8_t *)ut_map(vmo, 0, 2 * P, ZX_VM_PERM_READ);
    REQUIRE_TRUE(p);
    EXPECT_EQ(p[P + 5], 0x33);
    EXPECT_OK(zero(vmo, 0, 2 * P));
    EXPECT_EQ(p[P + 5], 0);
    EXPECT_EQ(p[0], 0);
    EXPECT_OK(zx_vmo_write(vmo, "x", P + 5, 1));
    EXPECT_EQ(p[P + 5], 'x');
    EXPECT_OK(decommit(vmo, P, P));
    EXPECT_EQ(p[P + 5], 0);
    ut_unmap((uintptr_t)p, 2 * P);
    zx_handle_close(vmo);
}

TEST(decommit_bounds) {
    zx_handle_t vmo = ut_vmo(2 * P, 0x44);
    EXPECT_STATUS(decommit(vmo, 3 * P, P), ZX_ERR_OUT_OF_RANGE);
    EXPECT_STATUS(decommit(vmo, P, 10 * P), ZX_ERR_OUT_OF_RANGE);  // never trimmed
    EXPECT_STATUS(decommit(vmo, P, UINT64_MAX - P + 1), ZX_ERR_OUT_OF_RANGE);
    EXPECT_EQ(ut_committed(vmo), 2 * P);
    EXPECT_OK(decommit(vmo, P, P));
    EXPECT_EQ(ut_committed(vmo), P);
    EXPECT_OK(decommit(vmo, 0, 0));
    EXPECT_EQ(ut_committed(vmo), P);
    zx_handle_t ro = ut_dup(vmo, VMO_RIGHTS & ~ZX_RIGHT_WRITE);
    EXPECT_STATUS(decommit(ro, 0, P), ZX_ERR_ACCESS_DENIED);
    zx_handle_close(ro);
    EXPECT_EQ(ut_committed(vmo), P);
    zx_handle_close(vmo);
}

UTEST_MAIN(NULL)
