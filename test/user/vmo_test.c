// VMO calls: create, read, write, get_size, set_size, op_range (COMMIT/DECOMMIT and the
// unsupported ops), replace_as_executable, the content size property, and exact page accounting
// (docs/abi.md §2 "VMO create", "read/write", "set_size", "op_range", §3 ZX_INFO_VMO).
#include <stdio.h>

#include "test/user/utest.h"

#define VMO_RIGHTS ZX_DEFAULT_VMO_RIGHTS

TEST(create_sizes_round_up) {
    static const uint64_t sizes[] = {0, 1, 4095, 4096, 4097, 10 * 4096 + 1, 1 << 20};
    for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
        zx_handle_t vmo;
        REQUIRE_OK(zx_vmo_create(sizes[i], 0, &vmo));
        uint64_t rounded = (sizes[i] + PAGE - 1) & ~(uint64_t)(PAGE - 1);
        EXPECT_EQ(ut_vmo_size(vmo), rounded);
        EXPECT_EQ(ut_content_size(vmo), sizes[i]);
        EXPECT_EQ(ut_committed(vmo), 0);
        EXPECT_TRUE(ut_signaled(vmo, ZX_VMO_ZERO_CHILDREN));
        zx_handle_close(vmo);
    }
}

TEST(create_contents_zero) {
    zx_handle_t vmo;
    REQUIRE_OK(zx_vmo_create(3 * PAGE, 0, &vmo));
    memset(ut_scratch, 0x5a, 3 * PAGE);
    EXPECT_OK(zx_vmo_read(vmo, ut_scratch, 0, 3 * PAGE));
    EXPECT_FILL(ut_scratch, 0, 3 * PAGE);
    zx_handle_close(vmo);
}

TEST(create_options) {
    static const uint32_t bad[] = {1, 4, 8, 0x10, 0x20, 0x40, 0x80000000u, 0xffffffffu, 3};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        zx_handle_t vmo = ZX_HANDLE_INVALID;
        if (!EXPECT_STATUS(zx_vmo_create(PAGE, bad[i], &vmo), ZX_ERR_INVALID_ARGS)) {
            printf("      (options %#x)\n", bad[i]);
            zx_handle_close(vmo);
        }
    }
    zx_handle_t vmo;
    REQUIRE_OK(zx_vmo_create(PAGE, ZX_VMO_RESIZABLE, &vmo));
    zx_info_vmo_t info = ut_vmo_info(vmo);
    EXPECT_TRUE(info.flags & ZX_INFO_VMO_RESIZABLE);
    EXPECT_TRUE(info.flags & ZX_INFO_VMO_TYPE_PAGED);
    zx_handle_close(vmo);
    REQUIRE_OK(zx_vmo_create(PAGE, 0, &vmo));
    info = ut_vmo_info(vmo);
    EXPECT_FALSE(info.flags & ZX_INFO_VMO_RESIZABLE);
    zx_handle_close(vmo);
}

TEST(create_rounding_overflow) {
    static const uint64_t sizes[] = {UINT64_MAX, UINT64_MAX - PAGE + 2, UINT64_MAX - 100};
    for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
        zx_handle_t vmo = ZX_HANDLE_INVALID;
        EXPECT_STATUS(zx_vmo_create(sizes[i], 0, &vmo), ZX_ERR_OUT_OF_RANGE);
        EXPECT_STATUS(zx_vmo_create(sizes[i], ZX_VMO_RESIZABLE, &vmo), ZX_ERR_OUT_OF_RANGE);
    }
}

TEST(create_large_is_lazy) {
    uint64_t before = ut_vmo_bytes();
    zx_handle_t vmo;
    REQUIRE_OK(zx_vmo_create((uint64_t)1 << 30, 0, &vmo));
    EXPECT_EQ(ut_vmo_bytes(), before);
    EXPECT_EQ(ut_committed(vmo), 0);
    uint8_t b = 7;
    EXPECT_OK(zx_vmo_write(vmo, &b, ((uint64_t)1 << 30) - 1, 1));
    EXPECT_EQ(ut_vmo_bytes(), before + PAGE);
    EXPECT_EQ(ut_committed(vmo), PAGE);
    zx_handle_close(vmo);
    EXPECT_EQ(ut_vmo_bytes(), before);
}

TEST(create_bad_out_pointer) {
    EXPECT_PTR_ERRORS(zx_vmo_create(PAGE, 0, (zx_handle_t *)bad), ut_ro_page);
}

TEST(default_rights_type_koid) {
    zx_handle_t a, b;
    REQUIRE_OK(zx_vmo_create(PAGE, 0, &a));
    REQUIRE_OK(zx_vmo_create(PAGE, 0, &b));
    zx_info_handle_basic_t info;
    EXPECT_OK(zx_object_get_info(a, ZX_INFO_HANDLE_BASIC, &info, sizeof(info), NULL, NULL));
    EXPECT_EQ(info.rights, VMO_RIGHTS);
    EXPECT_EQ(info.type, ZX_OBJ_TYPE_VMO);
    EXPECT_GE(info.koid, 1024);
    EXPECT_EQ(info.related_koid, 0);
    EXPECT_NE(ut_koid(a), ut_koid(b));
    EXPECT_EQ(a & 3, 3);
    EXPECT_EQ(b & 3, 3);
    EXPECT_NE(a, b);
    zx_handle_close(a);
    zx_handle_close(b);
}

TEST(read_write_roundtrip) {
    zx_handle_t vmo;
    REQUIRE_OK(zx_vmo_create(4 * PAGE, 0, &vmo));
    uint8_t *src = ut_scratch, *dst = ut_scratch + 4 * PAGE;
    ut_pattern(src, 10000, 1);
    EXPECT_OK(zx_vmo_write(vmo, src, 1000, 10000));
    memset(dst, 0x77, 4 * PAGE);
    EXPECT_OK(zx_vmo_read(vmo, dst, 0, 4 * PAGE));
    EXPECT_FILL(dst, 0, 1000);
    EXPECT_MEM(dst + 1000, src, 10000);
    EXPECT_FILL(dst + 11000, 0, 4 * PAGE - 11000);
    // Unaligned reads across page boundaries.
    memset(dst, 0, 300);
    EXPECT_OK(zx_vmo_read(vmo, dst, PAGE - 100, 300));
    EXPECT_MEM(dst, src + PAGE - 1100, 300);
    // Overwrite part of it.
    uint8_t ff[64];
    memset(ff, 0xff, sizeof(ff));
    EXPECT_OK(zx_vmo_write(vmo, ff, 2 * PAGE - 32, sizeof(ff)));
    EXPECT_OK(zx_vmo_read(vmo, dst, 2 * PAGE - 40, 80));
    EXPECT_MEM(dst, src + 2 * PAGE - 40 - 1000, 8);
    EXPECT_FILL(dst + 8, 0xff, 64);
    EXPECT_MEM(dst + 72, src + 2 * PAGE + 32 - 1000, 8);
    zx_handle_close(vmo);
}

TEST(read_write_large_transfer) {
    zx_handle_t vmo;
    REQUIRE_OK(zx_vmo_create(UT_SCRATCH_SIZE, 0, &vmo));
    ut_pattern(ut_scratch, UT_SCRATCH_SIZE / 2, 2);
    EXPECT_OK(zx_vmo_write(vmo, ut_scratch, 0, UT_SCRATCH_SIZE / 2));
    EXPECT_OK(zx_vmo_write(vmo, ut_scratch, UT_SCRATCH_SIZE / 2, UT_SCRATCH_SIZE / 2));
    memset(ut_scratch + UT_SCRATCH_SIZE / 2, 0, UT_SCRATCH_SIZE / 2);
    EXPECT_OK(zx_vmo_read(vmo, ut_scratch + UT_SCRATCH_SIZE / 2, UT_SCRATCH_SIZE / 2,
                          UT_SCRATCH_SIZE / 2));
    EXPECT_MEM(ut_scratch, ut_scratch + UT_SCRATCH_SIZE / 2, UT_SCRATCH_SIZE / 2);
    EXPECT_EQ(ut_committed(vmo), UT_SCRATCH_SIZE);
    zx_handle_close(vmo);
}

TEST(read_write_bounds) {
    zx_handle_t vmo;
    REQUIRE_OK(zx_vmo_create(2 * PAGE, 0, &vmo));
    uint8_t buf[16] = {1, 2, 3};
    EXPECT_OK(zx_vmo_write(vmo, buf, 2 * PAGE - 1, 1));
    EXPECT_OK(zx_vmo_read(vmo, buf, 2 * PAGE - 1, 1));
    EXPECT_EQ(buf[0], 1);
    // Zero bytes at offset == size is fine; one past is not.
    EXPECT_OK(zx_vmo_write(vmo, buf, 2 * PAGE, 0));
    EXPECT_OK(zx_vmo_read(vmo, buf, 2 * PAGE, 0));
    EXPECT_STATUS(zx_vmo_write(vmo, buf, 2 * PAGE + 1, 0), ZX_ERR_OUT_OF_RANGE);
    EXPECT_STATUS(zx_vmo_read(vmo, buf, 2 * PAGE + 1, 0), ZX_ERR_OUT_OF_RANGE);
    // Past the end, partly past the end, overflowing.
    buf[0] = 9;
    EXPECT_STATUS(zx_vmo_write(vmo, buf, 2 * PAGE - 1, 2), ZX_ERR_OUT_OF_RANGE);
    EXPECT_STATUS(zx_vmo_read(vmo, buf, 2 * PAGE - 1, 2), ZX_ERR_OUT_OF_RANGE);
    EXPECT_STATUS(zx_vmo_write(vmo, buf, 2 * PAGE, 1), ZX_ERR_OUT_OF_RANGE);
    EXPECT_STATUS(zx_vmo_read(vmo, buf, 3 * PAGE, 1), ZX_ERR_OUT_OF_RANGE);
    EXPECT_STATUS(zx_vmo_write(vmo, buf, UINT64_MAX, 2), ZX_ERR_OUT_OF_RANGE);
    EXPECT_STATUS(zx_vmo_read(vmo, buf, UINT64_MAX - 1, 4), ZX_ERR_OUT_OF_RANGE);
    EXPECT_STATUS(zx_vmo_write(vmo, buf, 8, SIZE_MAX - 4), ZX_ERR_OUT_OF_RANGE);
    EXPECT_STATUS(zx_vmo_read(vmo, buf, 8, SIZE_MAX), ZX_ERR_OUT_OF_RANGE);
    // A rejected write wrote nothing.
    EXPECT_EQ(ut_vmo_byte(vmo, 2 * PAGE - 1), 1);
    zx_handle_close(vmo);
}

TEST(read_write_rights) {
    zx_handle_t vmo = ut_vmo(PAGE, 0x11);
    zx_handle_t ro = ut_dup(vmo, VMO_RIGHTS & ~ZX_RIGHT_WRITE);
    zx_handle_t wo = ut_dup(vmo, VMO_RIGHTS & ~ZX_RIGHT_READ);
    uint8_t b = 0;
    EXPECT_OK(zx_vmo_read(ro, &b, 0, 1));
    EXPECT_EQ(b, 0x11);
    EXPECT_STATUS(zx_vmo_write(ro, &b, 0, 1), ZX_ERR_ACCESS_DENIED);
    b = 0x22;
    EXPECT_OK(zx_vmo_write(wo, &b, 0, 1));
    EXPECT_STATUS(zx_vmo_read(wo, &b, 0, 1), ZX_ERR_ACCESS_DENIED);
    EXPECT_EQ(ut_vmo_byte(vmo, 0), 0x22);
    // Zero-length transfers still need the right.
    EXPECT_STATUS(zx_vmo_write(ro, &b, 0, 0), ZX_ERR_ACCESS_DENIED);
    EXPECT_STATUS(zx_vmo_read(wo, &b, 0, 0), ZX_ERR_ACCESS_DENIED);
    zx_handle_close(ro);
    zx_handle_close(wo);
    zx_handle_close(vmo);
}

TEST(bad_handles) {
    uint8_t buf[8];
    uint64_t size;
    zx_handle_t out = ZX_HANDLE_INVALID;
    EXPECT_HANDLE_ERRORS(zx_vmo_read(h, buf, 0, 1));
    EXPECT_HANDLE_ERRORS(zx_vmo_write(h, buf, 0, 1));
    EXPECT_HANDLE_ERRORS(zx_vmo_get_size(h, &size));
    EXPECT_HANDLE_ERRORS(zx_vmo_set_size(h, PAGE));
    EXPECT_HANDLE_ERRORS(zx_vmo_op_range(h, ZX_VMO_OP_COMMIT, 0, PAGE, NULL, 0));
    EXPECT_HANDLE_ERRORS(zx_vmo_create_child(h, ZX_VMO_CHILD_SNAPSHOT, 0, PAGE, &out));
    EXPECT_EQ(out, ZX_HANDLE_INVALID);
    // replace_as_executable consumes its handle: use fresh duplicates for the wrong-type cases.
    EXPECT_STATUS(zx_vmo_replace_as_executable(ZX_HANDLE_INVALID, ZX_HANDLE_INVALID, &out),
                  ZX_ERR_BAD_HANDLE);
    EXPECT_STATUS(zx_vmo_replace_as_executable(ut_stale_handle, ZX_HANDLE_INVALID, &out),
                  ZX_ERR_BAD_HANDLE);
    EXPECT_STATUS(zx_vmo_replace_as_executable(UT_FORGED_HANDLE, ZX_HANDLE_INVALID, &out),
                  ZX_ERR_BAD_HANDLE);
    zx_handle_t ch = ut_dup(ut_channel, ZX_RIGHT_SAME_RIGHTS);
    EXPECT_STATUS(zx_vmo_replace_as_executable(ch, ZX_HANDLE_INVALID, &out), ZX_ERR_WRONG_TYPE);
    zx_handle_close(ch);
    EXPECT_EQ(out, ZX_HANDLE_INVALID);
}

TEST(read_write_bad_buffers) {
    zx_handle_t vmo = ut_vmo(2 * PAGE, 0x33);
    // Unlike docs/abi.md's general pointer rule, a buffer that is NULL, below the root VMAR, in
    // or running into the kernel range, non-canonical or unmapped is NOT_FOUND here (Zircon's
    // current vmo tests); one mapped without the permission is ACCESS_DENIED.
    for (int i = 0; i < UT_NUM_BAD_PTRS; i++) {
        uintptr_t bad = ut_bad_ptrs[i];
        bool read_ok = EXPECT_STATUS(zx_vmo_read(vmo, (void *)bad, 0, 16), ZX_ERR_NOT_FOUND);
        bool write_ok =
            EXPECT_STATUS(zx_vmo_write(vmo, (const void *)bad, 0, 16), ZX_ERR_NOT_FOUND);
        if (!read_ok || !write_ok)
            ut_note_ptr(bad);
    }
    EXPECT_STATUS(zx_vmo_read(vmo, (void *)(ut_hole + 3 * PAGE), 0, 16), ZX_ERR_NOT_FOUND);
    EXPECT_STATUS(zx_vmo_write(vmo, (const void *)(ut_hole + 3 * PAGE), 0, 16), ZX_ERR_NOT_FOUND);
    EXPECT_STATUS(zx_vmo_read(vmo, (void *)ut_ro_page, 0, 16), ZX_ERR_ACCESS_DENIED);
    EXPECT_STATUS(zx_vmo_write(vmo, (const void *)ut_noaccess_page, 0, 16), ZX_ERR_ACCESS_DENIED);
    // Reading into our own code is writing to a read-only (execute) mapping.
    EXPECT_STATUS(zx_vmo_read(vmo, (void *)(uintptr_t)&ut_vmo_bytes, 0, 16),
                  ZX_ERR_ACCESS_DENIED);
    // A buffer that runs off the end of the user range, or from the kernel's into it.
    EXPECT_STATUS(zx_vmo_read(vmo, (void *)(ROOT_END - 8), 0, 16), ZX_ERR_NOT_FOUND);
    EXPECT_STATUS(zx_vmo_write(vmo, (const void *)(ROOT_END - 8), 0, 16), ZX_ERR_NOT_FOUND);
    EXPECT_STATUS(zx_vmo_read(vmo, (void *)(ROOT_BASE - 8), 0, 16), ZX_ERR_NOT_FOUND);
    // The range is checked first: OUT_OF_RANGE beats a bad buffer.
    EXPECT_STATUS(zx_vmo_read(vmo, NULL, 2 * PAGE, 16), ZX_ERR_OUT_OF_RANGE);
    // Zero bytes: any pointer will do.
    for (int i = 0; i < UT_NUM_BAD_PTRS; i++) {
        EXPECT_OK(zx_vmo_read(vmo, (void *)ut_bad_ptrs[i], 0, 0));
        EXPECT_OK(zx_vmo_write(vmo, (const void *)ut_bad_ptrs[i], PAGE, 0));
    }
    // Nothing was written by the failed calls.
    EXPECT_OK(zx_vmo_read(vmo, ut_scratch, 0, 2 * PAGE));
    EXPECT_FILL(ut_scratch, 0x33, 2 * PAGE);
    zx_handle_close(vmo);
}

TEST(read_write_through_own_mapping) {
    zx_handle_t vmo;
    REQUIRE_OK(zx_vmo_create(3 * PAGE, 0, &vmo));
    uint8_t *p = (uint8_t *)ut_map(vmo, 0, 3 * PAGE, ZX_VM_PERM_READ | ZX_VM_PERM_WRITE);
    REQUIRE_TRUE(p);
    ut_pattern(p, PAGE, 3);
    // write: the source is the VMO's own first page; read: the destination is its third page.
    EXPECT_OK(zx_vmo_write(vmo, p, PAGE, PAGE));
    EXPECT_MEM(p + PAGE, p, PAGE);
    EXPECT_OK(zx_vmo_read(vmo, p + 2 * PAGE + 100, 0, 1000));
    EXPECT_MEM(p + 2 * PAGE + 100, p, 1000);
    ut_unmap((uintptr_t)p, 3 * PAGE);
    zx_handle_close(vmo);
}

TEST(get_size_errors) {
    zx_handle_t vmo = ut_vmo(PAGE, -1);
    EXPECT_PTR_ERRORS(zx_vmo_get_size(vmo, (uint64_t *)bad), ut_ro_page);
    zx_handle_close(vmo);
}

TEST(set_size_basic) {
    zx_handle_t vmo;
    REQUIRE_OK(zx_vmo_create(PAGE, ZX_VMO_RESIZABLE, &vmo));
    EXPECT_OK(zx_vmo_set_size(vmo, 3 * PAGE + 5));
    EXPECT_EQ(ut_vmo_size(vmo), 4 * PAGE);
    EXPECT_EQ(ut_content_size(vmo), 3 * PAGE + 5);
    uint8_t ff[64];
    memset(ff, 0xff, sizeof(ff));
    EXPECT_OK(zx_vmo_write(vmo, ff, 3 * PAGE, sizeof(ff)));
    // Shrink inside the last page: bytes past the new size read zero, the page stays.
    EXPECT_OK(zx_vmo_set_size(vmo, 3 * PAGE + 10));
    EXPECT_EQ(ut_vmo_size(vmo), 4 * PAGE);
    EXPECT_EQ(ut_content_size(vmo), 3 * PAGE + 10);
    EXPECT_OK(zx_vmo_read(vmo, ut_scratch, 3 * PAGE, 64));
    EXPECT_FILL(ut_scratch, 0xff, 10);
    EXPECT_FILL(ut_scratch + 10, 0, 54);
    // Grow again: still zero.
    EXPECT_OK(zx_vmo_set_size(vmo, 6 * PAGE));
    EXPECT_EQ(ut_content_size(vmo), 6 * PAGE);
    EXPECT_OK(zx_vmo_read(vmo, ut_scratch, 3 * PAGE, 64));
    EXPECT_FILL(ut_scratch, 0xff, 10);
    EXPECT_FILL(ut_scratch + 10, 0, 54);
    // Shrink below the data, grow: zeros.
    EXPECT_OK(zx_vmo_set_size(vmo, PAGE));
    EXPECT_EQ(ut_vmo_size(vmo), PAGE);
    EXPECT_STATUS(zx_vmo_read(vmo, ut_scratch, 3 * PAGE, 1), ZX_ERR_OUT_OF_RANGE);
    EXPECT_OK(zx_vmo_set_size(vmo, 4 * PAGE));
    EXPECT_OK(zx_vmo_read(vmo, ut_scratch, 0, 4 * PAGE));
    EXPECT_FILL(ut_scratch, 0, 4 * PAGE);
    EXPECT_OK(zx_vmo_set_size(vmo, 0));
    EXPECT_EQ(ut_vmo_size(vmo), 0);
    EXPECT_EQ(ut_content_size(vmo), 0);
    zx_handle_close(vmo);
}

TEST(set_size_errors) {
    zx_handle_t fixed = ut_vmo(2 * PAGE, -1);
    EXPECT_STATUS(zx_vmo_set_size(fixed, PAGE), ZX_ERR_UNAVAILABLE);
    EXPECT_STATUS(zx_vmo_set_size(fixed, 4 * PAGE), ZX_ERR_UNAVAILABLE);
    EXPECT_EQ(ut_vmo_size(fixed), 2 * PAGE);
    // Not resizable comes before any right.
    zx_handle_t none = ut_dup(fixed, 0);
    EXPECT_STATUS(zx_vmo_set_size(none, PAGE), ZX_ERR_UNAVAILABLE);
    zx_handle_close(none);
    zx_handle_t vmo;
    REQUIRE_OK(zx_vmo_create(PAGE, ZX_VMO_RESIZABLE, &vmo));
    // A resizable VMO's handle has RESIZE; set_size needs it and WRITE.
    EXPECT_EQ(ut_rights(vmo), VMO_RIGHTS | ZX_RIGHT_RESIZE);
    zx_handle_t ro = ut_dup(vmo, VMO_RIGHTS & ~ZX_RIGHT_WRITE);
    EXPECT_STATUS(zx_vmo_set_size(ro, 2 * PAGE), ZX_ERR_ACCESS_DENIED);
    zx_handle_t noresize = ut_dup(vmo, VMO_RIGHTS);
    EXPECT_STATUS(zx_vmo_set_size(noresize, 2 * PAGE), ZX_ERR_ACCESS_DENIED);
    zx_handle_t nowrite = ut_dup(vmo, (VMO_RIGHTS & ~ZX_RIGHT_WRITE) | ZX_RIGHT_RESIZE);
    EXPECT_STATUS(zx_vmo_set_size(nowrite, 2 * PAGE), ZX_ERR_ACCESS_DENIED);
    zx_handle_t both = ut_dup(vmo, ZX_RIGHT_WRITE | ZX_RIGHT_RESIZE);
    EXPECT_OK(zx_vmo_set_size(both, 2 * PAGE));
    EXPECT_OK(zx_vmo_set_size(both, PAGE));
    zx_handle_close(noresize);
    zx_handle_close(nowrite);
    zx_handle_close(both);
    EXPECT_STATUS(zx_vmo_set_size(vmo, UINT64_MAX), ZX_ERR_OUT_OF_RANGE);
    EXPECT_STATUS(zx_vmo_set_size(vmo, UINT64_MAX - PAGE + 2), ZX_ERR_OUT_OF_RANGE);
    EXPECT_EQ(ut_vmo_size(vmo), PAGE);
    EXPECT_EQ(ut_content_size(vmo), PAGE);
    zx_handle_close(ro);
    zx_handle_close(vmo);
    zx_handle_close(fixed);
}

TEST(set_size_frees_pages) {
    uint64_t before = ut_vmo_bytes();
    zx_handle_t vmo;
    REQUIRE_OK(zx_vmo_create(8 * PAGE, ZX_VMO_RESIZABLE, &vmo));
    memset(ut_scratch, 0x44, 8 * PAGE);
    EXPECT_OK(zx_vmo_write(vmo, ut_scratch, 0, 8 * PAGE));
    EXPECT_EQ(ut_vmo_bytes(), before + 8 * PAGE);
    EXPECT_OK(zx_vmo_set_size(vmo, 2 * PAGE + 1));
    EXPECT_EQ(ut_vmo_bytes(), before + 3 * PAGE);
    EXPECT_EQ(ut_committed(vmo), 3 * PAGE);
    EXPECT_OK(zx_vmo_set_size(vmo, 0));
    EXPECT_EQ(ut_vmo_bytes(), before);
    EXPECT_EQ(ut_committed(vmo), 0);
    zx_handle_close(vmo);
}

TEST(set_size_zeroes_tail_in_mapping) {
    zx_handle_t vmo;
    REQUIRE_OK(zx_vmo_create(2 * PAGE, ZX_VMO_RESIZABLE, &vmo));
    volatile uint8_t *p = (volatile uint8_t *)ut_map(
        vmo, 0, 2 * PAGE, ZX_VM_PERM_READ | ZX_VM_PERM_WRITE | ZX_VM_ALLOW_FAULTS);
    REQUIRE_TRUE(p);
    for (size_t i = 0; i < 2 * PAGE; i++)
        p[i] = 0xff;
    EXPECT_OK(zx_vmo_set_size(vmo, PAGE + 100));
    EXPECT_EQ(p[PAGE + 99], 0xff);
    EXPECT_EQ(p[PAGE + 100], 0);
    EXPECT_EQ(p[2 * PAGE - 1], 0);
    EXPECT_EQ(p[0], 0xff);
    ut_unmap((uintptr_t)p, 2 * PAGE);
    zx_handle_close(vmo);
}

TEST(content_size_property) {
    zx_handle_t vmo;
    REQUIRE_OK(zx_vmo_create(5000, 0, &vmo));
    EXPECT_EQ(ut_content_size(vmo), 5000);
    uint64_t v = 6000;
    EXPECT_OK(zx_object_set_property(vmo, ZX_PROP_VMO_CONTENT_SIZE, &v, sizeof(v)));
    EXPECT_EQ(ut_content_size(vmo), 6000);
    EXPECT_EQ(ut_vmo_size(vmo), 2 * PAGE);
    v = 0;
    EXPECT_OK(zx_object_set_property(vmo, ZX_PROP_VMO_CONTENT_SIZE, &v, sizeof(v)));
    EXPECT_EQ(ut_content_size(vmo), 0);
    v = 2 * PAGE;
    EXPECT_OK(zx_object_set_property(vmo, ZX_PROP_VMO_CONTENT_SIZE, &v, sizeof(v)));
    EXPECT_EQ(ut_content_size(vmo), 2 * PAGE);
    // Beyond the size.
    v = 2 * PAGE + 1;
    EXPECT_STATUS(zx_object_set_property(vmo, ZX_PROP_VMO_CONTENT_SIZE, &v, sizeof(v)),
                  ZX_ERR_OUT_OF_RANGE);
    EXPECT_EQ(ut_content_size(vmo), 2 * PAGE);
    // Buffers too small.
    EXPECT_STATUS(zx_object_get_property(vmo, ZX_PROP_VMO_CONTENT_SIZE, &v, 4),
                  ZX_ERR_BUFFER_TOO_SMALL);
    EXPECT_STATUS(zx_object_set_property(vmo, ZX_PROP_VMO_CONTENT_SIZE, &v, 4),
                  ZX_ERR_BUFFER_TOO_SMALL);
    // Rights.
    zx_handle_t noget = ut_dup(vmo, VMO_RIGHTS & ~ZX_RIGHT_GET_PROPERTY);
    zx_handle_t noset = ut_dup(vmo, VMO_RIGHTS & ~ZX_RIGHT_SET_PROPERTY);
    EXPECT_STATUS(zx_object_get_property(noget, ZX_PROP_VMO_CONTENT_SIZE, &v, sizeof(v)),
                  ZX_ERR_ACCESS_DENIED);
    v = 10;
    EXPECT_STATUS(zx_object_set_property(noset, ZX_PROP_VMO_CONTENT_SIZE, &v, sizeof(v)),
                  ZX_ERR_ACCESS_DENIED);
    // The content size is content: setting it needs WRITE too (reading it does not).
    zx_handle_t nowrite = ut_dup(vmo, VMO_RIGHTS & ~ZX_RIGHT_WRITE);
    EXPECT_STATUS(zx_object_set_property(nowrite, ZX_PROP_VMO_CONTENT_SIZE, &v, sizeof(v)),
                  ZX_ERR_ACCESS_DENIED);
    EXPECT_EQ(ut_content_size(nowrite), 2 * PAGE);
    zx_handle_close(nowrite);
    EXPECT_EQ(ut_content_size(vmo), 2 * PAGE);
    // Pointers.
    EXPECT_PTR_ERRORS(zx_object_get_property(vmo, ZX_PROP_VMO_CONTENT_SIZE, (void *)bad, 8),
                      ut_ro_page);
    EXPECT_PTR_ERRORS(zx_object_set_property(vmo, ZX_PROP_VMO_CONTENT_SIZE, (const void *)bad, 8),
                      ut_noaccess_page);
    // set_size sets the content size to the unrounded size.
    zx_handle_t rv;
    REQUIRE_OK(zx_vmo_create(PAGE, ZX_VMO_RESIZABLE, &rv));
    EXPECT_OK(zx_vmo_set_size(rv, 12345));
    EXPECT_EQ(ut_content_size(rv), 12345);
    EXPECT_EQ(ut_vmo_size(rv), 4 * PAGE);
    zx_handle_close(rv);
    zx_handle_close(noget);
    zx_handle_close(noset);
    zx_handle_close(vmo);
}

TEST(op_range_commit) {
    uint64_t before = ut_vmo_bytes();
    zx_handle_t vmo;
    REQUIRE_OK(zx_vmo_create(4 * PAGE, 0, &vmo));
    EXPECT_OK(zx_vmo_op_range(vmo, ZX_VMO_OP_COMMIT, PAGE, 2 * PAGE, NULL, 0));
    EXPECT_EQ(ut_committed(vmo), 2 * PAGE);
    EXPECT_EQ(ut_vmo_bytes(), before + 2 * PAGE);
    EXPECT_OK(zx_vmo_read(vmo, ut_scratch, 0, 4 * PAGE));
    EXPECT_FILL(ut_scratch, 0, 4 * PAGE);
    // Committing again changes nothing; a length past the end is OUT_OF_RANGE (never trimmed)
    // and commits nothing, as is a range whose end overflows.
    EXPECT_OK(zx_vmo_op_range(vmo, ZX_VMO_OP_COMMIT, PAGE, 2 * PAGE, NULL, 0));
    EXPECT_EQ(ut_committed(vmo), 2 * PAGE);
    EXPECT_STATUS(zx_vmo_op_range(vmo, ZX_VMO_OP_COMMIT, 3 * PAGE, 64 * PAGE, NULL, 0),
                  ZX_ERR_OUT_OF_RANGE);
    EXPECT_STATUS(zx_vmo_op_range(vmo, ZX_VMO_OP_COMMIT, 3 * PAGE, UINT64_MAX, NULL, 0),
                  ZX_ERR_OUT_OF_RANGE);
    EXPECT_EQ(ut_committed(vmo), 2 * PAGE);
    EXPECT_OK(zx_vmo_op_range(vmo, ZX_VMO_OP_COMMIT, 3 * PAGE, PAGE, NULL, 0));
    EXPECT_EQ(ut_committed(vmo), 3 * PAGE);
    // Unaligned: every page the range touches.
    EXPECT_OK(zx_vmo_op_range(vmo, ZX_VMO_OP_COMMIT, 10, 20, NULL, 0));
    EXPECT_EQ(ut_committed(vmo), 4 * PAGE);
    EXPECT_EQ(ut_vmo_bytes(), before + 4 * PAGE);
    EXPECT_OK(zx_vmo_op_range(vmo, ZX_VMO_OP_COMMIT, 0, 0, NULL, 0));
    // Beyond the size.
    EXPECT_STATUS(zx_vmo_op_range(vmo, ZX_VMO_OP_COMMIT, 5 * PAGE, PAGE, NULL, 0),
                  ZX_ERR_OUT_OF_RANGE);
    // Rights.
    zx_handle_t ro = ut_dup(vmo, VMO_RIGHTS & ~ZX_RIGHT_WRITE);
    EXPECT_STATUS(zx_vmo_op_range(ro, ZX_VMO_OP_COMMIT, 0, PAGE, NULL, 0), ZX_ERR_ACCESS_DENIED);
    zx_handle_close(ro);
    zx_handle_close(vmo);
    EXPECT_EQ(ut_vmo_bytes(), before);
}

TEST(op_range_decommit) {
    uint64_t before = ut_vmo_bytes();
    zx_handle_t vmo = ut_vmo(4 * PAGE, 0x55);
    EXPECT_EQ(ut_vmo_bytes(), before + 4 * PAGE);
    EXPECT_OK(zx_vmo_op_range(vmo, ZX_VMO_OP_DECOMMIT, PAGE, PAGE, NULL, 0));
    EXPECT_EQ(ut_committed(vmo), 3 * PAGE);
    EXPECT_EQ(ut_vmo_bytes(), before + 3 * PAGE);
    EXPECT_OK(zx_vmo_read(vmo, ut_scratch, 0, 4 * PAGE));
    EXPECT_FILL(ut_scratch, 0x55, PAGE);
    EXPECT_FILL(ut_scratch + PAGE, 0, PAGE);
    EXPECT_FILL(ut_scratch + 2 * PAGE, 0x55, 2 * PAGE);
    // Alignment.
    EXPECT_STATUS(zx_vmo_op_range(vmo, ZX_VMO_OP_DECOMMIT, 1, PAGE, NULL, 0), ZX_ERR_INVALID_ARGS);
    EXPECT_STATUS(zx_vmo_op_range(vmo, ZX_VMO_OP_DECOMMIT, 0, PAGE + 1, NULL, 0),
                  ZX_ERR_INVALID_ARGS);
    EXPECT_STATUS(zx_vmo_op_range(vmo, ZX_VMO_OP_DECOMMIT, 0, 100, NULL, 0), ZX_ERR_INVALID_ARGS);
    EXPECT_EQ(ut_committed(vmo), 3 * PAGE);
    // Beyond the size, or a length past the end (never trimmed): OUT_OF_RANGE, nothing freed.
    EXPECT_STATUS(zx_vmo_op_range(vmo, ZX_VMO_OP_DECOMMIT, 8 * PAGE, PAGE, NULL, 0),
                  ZX_ERR_OUT_OF_RANGE);
    EXPECT_STATUS(zx_vmo_op_range(vmo, ZX_VMO_OP_DECOMMIT, 3 * PAGE, 16 * PAGE, NULL, 0),
                  ZX_ERR_OUT_OF_RANGE);
    EXPECT_EQ(ut_committed(vmo), 3 * PAGE);
    EXPECT_OK(zx_vmo_op_range(vmo, ZX_VMO_OP_DECOMMIT, 3 * PAGE, PAGE, NULL, 0));
    EXPECT_EQ(ut_committed(vmo), 2 * PAGE);
    // Rights.
    zx_handle_t ro = ut_dup(vmo, VMO_RIGHTS & ~ZX_RIGHT_WRITE);
    EXPECT_STATUS(zx_vmo_op_range(ro, ZX_VMO_OP_DECOMMIT, 0, PAGE, NULL, 0),
                  ZX_ERR_ACCESS_DENIED);
    zx_handle_close(ro);
    EXPECT_EQ(ut_committed(vmo), 2 * PAGE);
    EXPECT_OK(zx_vmo_op_range(vmo, ZX_VMO_OP_DECOMMIT, 0, 4 * PAGE, NULL, 0));
    EXPECT_EQ(ut_committed(vmo), 0);
    EXPECT_EQ(ut_vmo_bytes(), before);
    zx_handle_close(vmo);
}

TEST(op_range_unsupported_ops) {
    zx_handle_t vmo = ut_vmo(PAGE, 1);
    static const uint32_t unknown[] = {0, 99, 1000, 0x80000000u, 0xffffffffu};
    for (size_t i = 0; i < sizeof(unknown) / sizeof(unknown[0]); i++) {
        if (!EXPECT_STATUS(zx_vmo_op_range(vmo, unknown[i], 0, PAGE, NULL, 0),
                           ZX_ERR_INVALID_ARGS))
            printf("      (op %u)\n", unknown[i]);
    }
    // Locking is for discardable VMOs, which Jasper does not have.
    EXPECT_STATUS2(zx_vmo_op_range(vmo, ZX_VMO_OP_UNLOCK, 0, PAGE, NULL, 0), ZX_ERR_NOT_SUPPORTED,
                   ZX_ERR_INVALID_ARGS);
    EXPECT_STATUS2(zx_vmo_op_range(vmo, 5 /* TRY_LOCK */, 0, PAGE, NULL, 0),
                   ZX_ERR_NOT_SUPPORTED, ZX_ERR_INVALID_ARGS);
    EXPECT_STATUS2(zx_vmo_op_range(vmo, ZX_VMO_OP_LOCK, 0, PAGE, NULL, 0), ZX_ERR_NOT_SUPPORTED,
                   ZX_ERR_INVALID_ARGS);
    // Cache operations: harmless whatever the answer.
    for (uint32_t op = ZX_VMO_OP_CACHE_SYNC; op <= ZX_VMO_OP_CACHE_CLEAN_INVALIDATE; op++) {
        zx_status_t st = zx_vmo_op_range(vmo, op, 0, PAGE, NULL, 0);
        EXPECT_TRUE(st == ZX_OK || st == ZX_ERR_NOT_SUPPORTED || st == ZX_ERR_INVALID_ARGS);
    }
    EXPECT_EQ(ut_vmo_byte(vmo, 0), 1);
    zx_handle_close(vmo);
}

TEST(replace_as_executable) {
    zx_handle_t vmo = ut_vmo(PAGE, 0x66);
    zx_koid_t koid = ut_koid(vmo);
    zx_handle_t x = ZX_HANDLE_INVALID;
    EXPECT_OK(zx_vmo_replace_as_executable(vmo, ZX_HANDLE_INVALID, &x));
    EXPECT_FALSE(ut_handle_valid(vmo));
    EXPECT_STATUS(zx_handle_close(vmo), ZX_ERR_BAD_HANDLE);
    EXPECT_EQ(ut_rights(x), VMO_RIGHTS | ZX_RIGHT_EXECUTE);
    EXPECT_EQ(ut_koid(x), koid);
    EXPECT_EQ(ut_vmo_byte(x, 0), 0x66);
    // From reduced rights: the old rights plus EXECUTE.
    zx_handle_t r = ut_dup(x, ZX_RIGHT_READ | ZX_RIGHT_MAP);
    zx_handle_t rx = ZX_HANDLE_INVALID;
    EXPECT_OK(zx_vmo_replace_as_executable(r, ZX_HANDLE_INVALID, &rx));
    EXPECT_EQ(ut_rights(rx), ZX_RIGHT_READ | ZX_RIGHT_MAP | ZX_RIGHT_EXECUTE);
    zx_handle_close(rx);
    zx_handle_close(x);
    // Bad output pointers.
    zx_handle_t v2 = ut_vmo(PAGE, -1);
    zx_handle_t d = ut_dup(v2, ZX_RIGHT_SAME_RIGHTS);
    EXPECT_STATUS(zx_vmo_replace_as_executable(d, ZX_HANDLE_INVALID, NULL), ZX_ERR_INVALID_ARGS);
    zx_handle_close(d);
    zx_handle_close(v2);
}

TEST(zero_children_signal) {
    zx_handle_t vmo = ut_vmo(PAGE, -1);
    zx_signals_t seen = 0;
    EXPECT_OK(zx_object_wait_one(vmo, ZX_VMO_ZERO_CHILDREN, 0, &seen));
    EXPECT_TRUE(seen & ZX_VMO_ZERO_CHILDREN);
    zx_handle_t child;
    REQUIRE_OK(zx_vmo_create_child(vmo, ZX_VMO_CHILD_SNAPSHOT, 0, PAGE, &child));
    seen = 0xffff;
    EXPECT_STATUS(zx_object_wait_one(vmo, ZX_VMO_ZERO_CHILDREN, 0, &seen), ZX_ERR_TIMED_OUT);
    EXPECT_FALSE(seen & ZX_VMO_ZERO_CHILDREN);
    // The child itself has no children.
    EXPECT_TRUE(ut_signaled(child, ZX_VMO_ZERO_CHILDREN));
    zx_handle_close(child);
    EXPECT_TRUE(ut_signaled(vmo, ZX_VMO_ZERO_CHILDREN));
    zx_handle_close(vmo);
}

TEST(page_accounting_exact) {
    uint64_t before = ut_vmo_bytes();
    zx_handle_t vmo;
    REQUIRE_OK(zx_vmo_create(10 * PAGE, 0, &vmo));
    EXPECT_EQ(ut_vmo_bytes(), before);
    for (int i = 0; i < 10; i++) {
        ut_vmo_set_byte(vmo, (uint64_t)i * PAGE + 17, (uint8_t)i);
        EXPECT_EQ(ut_vmo_bytes(), before + (uint64_t)(i + 1) * PAGE);
    }
    zx_info_vmo_t info = ut_vmo_info(vmo);
    EXPECT_EQ(info.committed_bytes, 10 * PAGE);
    EXPECT_EQ(info.populated_bytes, 10 * PAGE);
    EXPECT_EQ(info.committed_private_bytes, 10 * PAGE);
    EXPECT_EQ(info.populated_private_bytes, 10 * PAGE);
    EXPECT_EQ(info.committed_scaled_bytes, 10 * PAGE);
    EXPECT_EQ(info.populated_scaled_bytes, 10 * PAGE);
    // Writing a committed page again commits nothing; reading never commits.
    ut_vmo_set_byte(vmo, 5 * PAGE, 1);
    EXPECT_EQ(ut_vmo_bytes(), before + 10 * PAGE);
    zx_handle_t other;
    REQUIRE_OK(zx_vmo_create(10 * PAGE, 0, &other));
    EXPECT_OK(zx_vmo_read(other, ut_scratch, 0, 10 * PAGE));
    EXPECT_EQ(ut_committed(other), 0);
    EXPECT_EQ(ut_vmo_bytes(), before + 10 * PAGE);
    zx_handle_close(other);
    // A duplicate keeps the VMO alive; the last close frees it at once.
    zx_handle_t dup = ut_dup(vmo, ZX_RIGHT_SAME_RIGHTS);
    zx_handle_close(vmo);
    EXPECT_EQ(ut_vmo_bytes(), before + 10 * PAGE);
    EXPECT_EQ(ut_vmo_byte(dup, 9 * PAGE + 17), 9);
    zx_handle_close(dup);
    EXPECT_EQ(ut_vmo_bytes(), before);
}

UTEST_MAIN(NULL)
