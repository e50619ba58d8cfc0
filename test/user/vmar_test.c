// VMARs: allocate, map, unmap, destroy and op_range (docs/abi.md §2 "VMAR options", "map",
// "vmar_op_range", "unmap/protect"), their rights rules, and what ZX_INFO_PROCESS_MAPS shows.
// Faults from accesses are checked in fault_test; protections in protect_test.
#include <stdio.h>

#include "test/user/utest.h"

#define P ((uint64_t)PAGE)
#define RW (ZX_VM_PERM_READ | ZX_VM_PERM_WRITE)
#define CAN_RW (ZX_VM_CAN_MAP_READ | ZX_VM_CAN_MAP_WRITE)
#define CAN_ALL (ZX_VM_CAN_MAP_READ | ZX_VM_CAN_MAP_WRITE | ZX_VM_CAN_MAP_EXECUTE | \
                 ZX_VM_CAN_MAP_SPECIFIC)
#define VMAR_BASE_RIGHTS ((zx_rights_t)0x8003)

static zx_handle_t alloc(zx_handle_t parent, zx_vm_option_t options, size_t offset, size_t size,
                         uintptr_t *addr) {
    zx_handle_t h = ZX_HANDLE_INVALID;
    zx_vaddr_t a = 0;
    zx_status_t st = zx_vmar_allocate(parent, options, offset, size, &h, &a);
    if (st != ZX_OK)
        EXPECT_FAILF("zx_vmar_allocate(%#x, %#zx, %#zx) failed: %d %s", options, offset, size, st,
                     expect_status_name(st));
    if (addr)
        *addr = a;
    return h;
}

static uintptr_t map_in(zx_handle_t vmar, zx_vm_option_t options, size_t offset, zx_handle_t vmo,
                        uint64_t vmo_offset, size_t len) {
    zx_vaddr_t a = 0;
    zx_status_t st = zx_vmar_map(vmar, options, offset, vmo, vmo_offset, len, &a);
    if (st != ZX_OK)
        EXPECT_FAILF("zx_vmar_map(%#x, %#zx, len %#zx) failed: %d %s", options, offset, len, st,
                     expect_status_name(st));
    return a;
}

static zx_info_vmar_t vmar_info(zx_handle_t vmar) {
    zx_info_vmar_t info = {0, 0};
    zx_status_t st = zx_object_get_info(vmar, ZX_INFO_VMAR, &info, sizeof(info), NULL, NULL);
    if (st != ZX_OK)
        EXPECT_FAILF("ZX_INFO_VMAR failed: %d", st);
    return info;
}

// True if [addr, addr+len) is entirely mapped (protect to read succeeds; the mappings used here
// are all readable, so this changes nothing).
static bool is_mapped(zx_handle_t vmar, uintptr_t addr, size_t len) {
    return zx_vmar_protect(vmar, ZX_VM_PERM_READ, addr, len) == ZX_OK;
}

// Finds the ZX_INFO_PROCESS_MAPS record of the mapping at `base`; false if there is none.
static bool find_mapping(uintptr_t base, zx_info_maps_t *out) {
    zx_info_maps_t *maps = (zx_info_maps_t *)ut_scratch;
    size_t actual = 0, avail = 0;
    zx_status_t st = zx_object_get_info(zx_process_self(), ZX_INFO_PROCESS_MAPS, maps,
                                        UT_SCRATCH_SIZE, &actual, &avail);
    if (st != ZX_OK) {
        EXPECT_FAILF("ZX_INFO_PROCESS_MAPS failed: %d", st);
        return false;
    }
    for (size_t i = 0; i < actual; i++) {
        if (maps[i].type == ZX_INFO_MAPS_TYPE_MAPPING && maps[i].base == base) {
            *out = maps[i];
            return true;
        }
    }
    return false;
}

TEST(root_vmar) {
    zx_handle_t root = zx_vmar_root_self();
    zx_info_vmar_t info = vmar_info(root);
    EXPECT_EQ(info.base, 0x200000u);  // Zircon's root VMAR base
    EXPECT_EQ(info.base, ROOT_BASE);
    EXPECT_EQ(info.len, ROOT_END - ROOT_BASE);
    EXPECT_EQ(ut_rights(root), 0x801f);
    EXPECT_EQ(ut_type(root), ZX_OBJ_TYPE_VMAR);
    EXPECT_STATUS(zx_vmar_destroy(root), ZX_ERR_NOT_SUPPORTED);
    // Still usable.
    zx_handle_t vmo = ut_vmo(P, 1);
    uintptr_t a = ut_map(vmo, 0, P, ZX_VM_PERM_READ);
    EXPECT_EQ(*(volatile uint8_t *)a, 1);
    ut_unmap(a, P);
    zx_handle_close(vmo);
}

TEST(allocate_basic) {
    static const struct {
        zx_vm_option_t options;
        zx_rights_t rights;
    } cases[] = {
        {0, VMAR_BASE_RIGHTS},
        {ZX_VM_CAN_MAP_READ, VMAR_BASE_RIGHTS | ZX_RIGHT_READ},
        {CAN_RW, VMAR_BASE_RIGHTS | ZX_RIGHT_READ | ZX_RIGHT_WRITE},
        {CAN_ALL, VMAR_BASE_RIGHTS | ZX_RIGHT_READ | ZX_RIGHT_WRITE | ZX_RIGHT_EXECUTE},
        {ZX_VM_CAN_MAP_EXECUTE | ZX_VM_COMPACT, VMAR_BASE_RIGHTS | ZX_RIGHT_EXECUTE},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        uintptr_t addr = 0;
        zx_handle_t v = alloc(zx_vmar_root_self(), cases[i].options, 0, 16 * P, &addr);
        EXPECT_EQ(addr % P, 0);
        EXPECT_GE(addr, ROOT_BASE);
        EXPECT_LE(addr + 16 * P, ROOT_END);
        zx_info_vmar_t info = vmar_info(v);
        EXPECT_EQ(info.base, addr);
        EXPECT_EQ(info.len, 16 * P);
        if (!EXPECT_EQ(ut_rights(v), cases[i].rights))
            printf("      (options %#x)\n", cases[i].options);
        EXPECT_EQ(ut_type(v), ZX_OBJ_TYPE_VMAR);
        EXPECT_OK(zx_vmar_destroy(v));
        zx_handle_close(v);
    }
}

TEST(allocate_nested_and_specific) {
    uintptr_t base;
    zx_handle_t outer = alloc(zx_vmar_root_self(), CAN_ALL, 0, 64 * P, &base);
    uintptr_t a;
    zx_handle_t inner = alloc(outer, CAN_RW | ZX_VM_SPECIFIC, 8 * P, 4 * P, &a);
    EXPECT_EQ(a, base + 8 * P);
    // Overlaps: the inner VMAR, partially, exactly.
    zx_handle_t h = ZX_HANDLE_INVALID;
    zx_vaddr_t x;
    EXPECT_STATUS(zx_vmar_allocate(outer, ZX_VM_SPECIFIC, 8 * P, 4 * P, &h, &x),
                  ZX_ERR_ALREADY_EXISTS);
    EXPECT_STATUS(zx_vmar_allocate(outer, ZX_VM_SPECIFIC, 6 * P, 4 * P, &h, &x),
                  ZX_ERR_ALREADY_EXISTS);
    EXPECT_STATUS(zx_vmar_allocate(outer, ZX_VM_SPECIFIC, 11 * P, P, &h, &x),
                  ZX_ERR_ALREADY_EXISTS);
    // Next to it is fine.
    zx_handle_t next = alloc(outer, ZX_VM_SPECIFIC, 12 * P, 4 * P, &x);
    EXPECT_EQ(x, base + 12 * P);
    // The whole remaining tail.
    zx_handle_t tail = alloc(outer, ZX_VM_SPECIFIC, 16 * P, 48 * P, &x);
    // Past the end.
    EXPECT_STATUS(zx_vmar_allocate(outer, ZX_VM_SPECIFIC, 64 * P, P, &h, &x), ZX_ERR_INVALID_ARGS);
    EXPECT_STATUS(zx_vmar_allocate(outer, ZX_VM_SPECIFIC, 60 * P, 8 * P, &h, &x),
                  ZX_ERR_INVALID_ARGS);
    EXPECT_EQ(h, ZX_HANDLE_INVALID);
    // A child without CAN_MAP_SPECIFIC refuses SPECIFIC.
    EXPECT_STATUS(zx_vmar_allocate(inner, ZX_VM_SPECIFIC, 0, P, &h, &x), ZX_ERR_ACCESS_DENIED);
    zx_handle_t deep = alloc(inner, ZX_VM_CAN_MAP_READ, 0, P, &x);
    EXPECT_GE(x, a);
    EXPECT_LT(x, a + 4 * P);
    zx_handle_close(deep);
    EXPECT_OK(zx_vmar_destroy(outer));
    zx_handle_close(tail);
    zx_handle_close(next);
    zx_handle_close(inner);
    zx_handle_close(outer);
}

TEST(allocate_no_room) {
    uintptr_t base;
    zx_handle_t outer = alloc(zx_vmar_root_self(), CAN_ALL, 0, 4 * P, &base);
    zx_handle_t h = ZX_HANDLE_INVALID;
    zx_vaddr_t x;
    EXPECT_STATUS2(zx_vmar_allocate(outer, 0, 0, 8 * P, &h, &x), ZX_ERR_NO_RESOURCES,
                   ZX_ERR_INVALID_ARGS);
    zx_handle_t a = alloc(outer, ZX_VM_SPECIFIC, 0, 2 * P, &x);
    zx_handle_t b = alloc(outer, ZX_VM_SPECIFIC, 2 * P, 2 * P, &x);
    EXPECT_STATUS(zx_vmar_allocate(outer, 0, 0, P, &h, &x), ZX_ERR_NO_RESOURCES);
    zx_handle_t vmo = ut_vmo(P, -1);
    EXPECT_STATUS(zx_vmar_map(outer, ZX_VM_PERM_READ, 0, vmo, 0, P, &x), ZX_ERR_NO_RESOURCES);
    // Destroying one makes room again.
    EXPECT_OK(zx_vmar_destroy(a));
    zx_handle_t c = alloc(outer, 0, 0, P, &x);
    EXPECT_GE(x, base);
    EXPECT_LT(x, base + 2 * P);
    EXPECT_OK(zx_vmar_destroy(outer));
    zx_handle_close(vmo);
    zx_handle_close(c);
    zx_handle_close(b);
    zx_handle_close(a);
    zx_handle_close(outer);
}

TEST(allocate_errors) {
    zx_handle_t root = zx_vmar_root_self();
    zx_handle_t out = ZX_HANDLE_INVALID;
    zx_vaddr_t x;
    EXPECT_STATUS(zx_vmar_allocate(root, 0, 0, 0, &out, &x), ZX_ERR_INVALID_ARGS);
    EXPECT_STATUS(zx_vmar_allocate(root, 0, 0, P + 1, &out, &x), ZX_ERR_INVALID_ARGS);
    EXPECT_STATUS(zx_vmar_allocate(root, 0, P, P, &out, &x), ZX_ERR_INVALID_ARGS);
    EXPECT_STATUS(zx_vmar_allocate(root, ZX_VM_SPECIFIC, P + 1, P, &out, &x), ZX_ERR_INVALID_ARGS);
    EXPECT_STATUS(zx_vmar_allocate(root, ZX_VM_SPECIFIC, ROOT_END, P, &out, &x),
                  ZX_ERR_INVALID_ARGS);
    // Unknown option bits.
    static const zx_vm_option_t unknown[] = {1u << 14, 1u << 15, 1u << 20, 1u << 23};
    for (size_t i = 0; i < sizeof(unknown) / sizeof(unknown[0]); i++) {
        if (!EXPECT_STATUS(zx_vmar_allocate(root, unknown[i], 0, P, &out, &x), ZX_ERR_INVALID_ARGS))
            printf("      (options %#x)\n", unknown[i]);
    }
    // Alignment outside 10..32.
    EXPECT_STATUS(zx_vmar_allocate(root, 9u << ZX_VM_ALIGN_BASE, 0, P, &out, &x),
                  ZX_ERR_INVALID_ARGS);
    EXPECT_STATUS(zx_vmar_allocate(root, 33u << ZX_VM_ALIGN_BASE, 0, P, &out, &x),
                  ZX_ERR_INVALID_ARGS);
    EXPECT_STATUS(zx_vmar_allocate(root, 1u << ZX_VM_ALIGN_BASE, 0, P, &out, &x),
                  ZX_ERR_INVALID_ARGS);
    // OFFSET_IS_UPPER_LIMIT and SPECIFIC together.
    EXPECT_STATUS(zx_vmar_allocate(root, ZX_VM_SPECIFIC | ZX_VM_OFFSET_IS_UPPER_LIMIT, 0x10000000,
                                   P, &out, &x),
                  ZX_ERR_INVALID_ARGS);
    EXPECT_EQ(out, ZX_HANDLE_INVALID);
    // Handles.
    EXPECT_HANDLE_ERRORS(zx_vmar_allocate(h, 0, 0, P, &out, &x));
    zx_handle_t vmo = ut_vmo(P, -1);
    EXPECT_STATUS(zx_vmar_allocate(vmo, 0, 0, P, &out, &x), ZX_ERR_WRONG_TYPE);
    zx_handle_close(vmo);
    // Pointers.
    EXPECT_PTR_ERRORS(zx_vmar_allocate(root, 0, 0, P, (zx_handle_t *)bad, &x), ut_ro_page);
    EXPECT_PTR_ERRORS(zx_vmar_allocate(root, 0, 0, P, &out, (zx_vaddr_t *)bad), ut_ro_page);
}

TEST(allocate_permissions) {
    zx_handle_t root = zx_vmar_root_self();
    uintptr_t a;
    zx_handle_t ro = alloc(root, ZX_VM_CAN_MAP_READ, 0, 16 * P, &a);
    zx_handle_t h = ZX_HANDLE_INVALID;
    zx_vaddr_t x;
    // Asking for a CAN_MAP the parent does not have.
    EXPECT_STATUS(zx_vmar_allocate(ro, ZX_VM_CAN_MAP_WRITE, 0, P, &h, &x), ZX_ERR_ACCESS_DENIED);
    EXPECT_STATUS(zx_vmar_allocate(ro, ZX_VM_CAN_MAP_EXECUTE, 0, P, &h, &x),
                  ZX_ERR_ACCESS_DENIED);
    // CAN_MAP_SPECIFIC is not inherited, so asking for it is fine.
    zx_handle_t s = alloc(ro, ZX_VM_CAN_MAP_SPECIFIC | ZX_VM_CAN_MAP_READ, 0, P, &x);
    zx_handle_close(s);
    // The parent handle lacks the right.
    zx_handle_t nowrite = ut_dup(root, 0x801f & ~ZX_RIGHT_WRITE);
    EXPECT_STATUS(zx_vmar_allocate(nowrite, ZX_VM_CAN_MAP_WRITE, 0, P, &h, &x),
                  ZX_ERR_ACCESS_DENIED);
    zx_handle_t noread = ut_dup(root, 0x801f & ~ZX_RIGHT_READ);
    EXPECT_STATUS(zx_vmar_allocate(noread, ZX_VM_CAN_MAP_READ, 0, P, &h, &x),
                  ZX_ERR_ACCESS_DENIED);
    zx_handle_t noexec = ut_dup(root, 0x801f & ~ZX_RIGHT_EXECUTE);
    EXPECT_STATUS(zx_vmar_allocate(noexec, ZX_VM_CAN_MAP_EXECUTE, 0, P, &h, &x),
                  ZX_ERR_ACCESS_DENIED);
    // Without asking for those, the reduced handle still allocates.
    zx_handle_t ok = alloc(nowrite, ZX_VM_CAN_MAP_READ, 0, P, &x);
    EXPECT_OK(zx_vmar_destroy(ok));
    zx_handle_close(ok);
    EXPECT_EQ(h, ZX_HANDLE_INVALID);
    zx_handle_close(nowrite);
    zx_handle_close(noread);
    zx_handle_close(noexec);
    EXPECT_OK(zx_vmar_destroy(ro));
    zx_handle_close(ro);
}

TEST(allocate_alignment_and_upper_limit) {
    uintptr_t x;
    zx_handle_t a = alloc(zx_vmar_root_self(), ZX_VM_ALIGN_1MB, 0, P, &x);
    EXPECT_EQ(x % (1u << 20), 0);
    zx_handle_t b = alloc(zx_vmar_root_self(), ZX_VM_ALIGN_1GB | ZX_VM_CAN_MAP_READ, 0, 2 * P, &x);
    EXPECT_EQ(x % (1u << 30), 0);
    EXPECT_OK(zx_vmar_destroy(a));
    EXPECT_OK(zx_vmar_destroy(b));
    zx_handle_close(a);
    zx_handle_close(b);
    uintptr_t base;
    zx_handle_t outer = alloc(zx_vmar_root_self(), CAN_ALL, 0, 256 * P, &base);
    for (int i = 0; i < 8; i++) {
        zx_handle_t c = alloc(outer, ZX_VM_OFFSET_IS_UPPER_LIMIT, 16 * P, 4 * P, &x);
        EXPECT_GE(x, base);
        EXPECT_LE(x + 4 * P, base + 16 * P);
        EXPECT_OK(zx_vmar_destroy(c));
        zx_handle_close(c);
    }
    // Specific with an alignment the address does not have.
    zx_handle_t h = ZX_HANDLE_INVALID;
    EXPECT_STATUS(zx_vmar_allocate(outer, ZX_VM_SPECIFIC | ZX_VM_ALIGN_1GB, P, P, &h, &x),
                  ZX_ERR_INVALID_ARGS);
    EXPECT_OK(zx_vmar_destroy(outer));
    zx_handle_close(outer);
}

TEST(map_read_write) {
    zx_handle_t vmo;
    REQUIRE_OK(zx_vmo_create(2 * P, 0, &vmo));
    volatile uint8_t *p = (volatile uint8_t *)ut_map(vmo, 0, 2 * P, RW);
    REQUIRE_TRUE(p);
    EXPECT_EQ((uintptr_t)p % P, 0);
    EXPECT_EQ(p[100], 0);
    p[100] = 0x12;
    p[P + 100] = 0x34;
    EXPECT_EQ(ut_vmo_byte(vmo, 100), 0x12);
    EXPECT_EQ(ut_vmo_byte(vmo, P + 100), 0x34);
    ut_vmo_set_byte(vmo, 200, 0x56);
    EXPECT_EQ(p[200], 0x56);
    zx_info_maps_t m;
    REQUIRE_TRUE(find_mapping((uintptr_t)p, &m));
    EXPECT_EQ(m.size, 2 * P);
    EXPECT_EQ(m.u.mapping.mmu_flags, RW);
    EXPECT_EQ(m.u.mapping.vmo_koid, ut_koid(vmo));
    EXPECT_EQ(m.u.mapping.vmo_offset, 0);
    EXPECT_EQ(ut_vmo_info(vmo).num_mappings, 1);
    ut_unmap((uintptr_t)p, 2 * P);
    EXPECT_EQ(ut_vmo_info(vmo).num_mappings, 0);
    zx_handle_close(vmo);
}

TEST(map_with_vmo_offset) {
    zx_handle_t vmo = ut_vmo(4 * P, -1);
    ut_vmo_set_byte(vmo, 2 * P + 1, 0x21);
    volatile uint8_t *p = (volatile uint8_t *)ut_map(vmo, 2 * P, P, ZX_VM_PERM_READ);
    REQUIRE_TRUE(p);
    EXPECT_EQ(p[1], 0x21);
    zx_info_maps_t m;
    REQUIRE_TRUE(find_mapping((uintptr_t)p, &m));
    EXPECT_EQ(m.u.mapping.vmo_offset, 2 * P);
    EXPECT_EQ(m.u.mapping.mmu_flags, ZX_VM_PERM_READ);
    ut_unmap((uintptr_t)p, P);
    zx_handle_close(vmo);
}

TEST(map_len_rounds_up) {
    zx_handle_t vmo = ut_vmo(2 * P, 3);
    uintptr_t a = ut_map(vmo, 0, P + 1, ZX_VM_PERM_READ);
    REQUIRE_TRUE(a);
    EXPECT_TRUE(is_mapped(zx_vmar_root_self(), a, 2 * P));
    EXPECT_EQ(((volatile uint8_t *)a)[2 * P - 1], 3);
    zx_info_maps_t m;
    REQUIRE_TRUE(find_mapping(a, &m));
    EXPECT_EQ(m.size, 2 * P);
    ut_unmap(a, 2 * P);
    zx_handle_close(vmo);
}

TEST(map_errors) {
    zx_handle_t root = zx_vmar_root_self();
    zx_handle_t vmo = ut_vmo(4 * P, -1);
    zx_vaddr_t x = 0;
    EXPECT_STATUS(zx_vmar_map(root, ZX_VM_PERM_READ, 0, vmo, 0, 0, &x), ZX_ERR_INVALID_ARGS);
    EXPECT_STATUS(zx_vmar_map(root, ZX_VM_PERM_READ, 0, vmo, 1, P, &x), ZX_ERR_INVALID_ARGS);
    EXPECT_STATUS(zx_vmar_map(root, ZX_VM_PERM_READ, 0, vmo, P + 8, P, &x), ZX_ERR_INVALID_ARGS);
    EXPECT_STATUS(zx_vmar_map(root, ZX_VM_PERM_READ, P, vmo, 0, P, &x), ZX_ERR_INVALID_ARGS);
    EXPECT_STATUS(zx_vmar_map(root, ZX_VM_PERM_READ | ZX_VM_SPECIFIC, 0x10000001, vmo, 0, P, &x),
                  ZX_ERR_INVALID_ARGS);
    // WRITE or EXECUTE without READ.
    EXPECT_STATUS(zx_vmar_map(root, ZX_VM_PERM_WRITE, 0, vmo, 0, P, &x), ZX_ERR_INVALID_ARGS);
    zx_handle_t xvmo;
    zx_handle_t d = ut_dup(vmo, ZX_RIGHT_SAME_RIGHTS);
    REQUIRE_OK(zx_vmo_replace_as_executable(d, ZX_HANDLE_INVALID, &xvmo));
    EXPECT_STATUS(zx_vmar_map(root, ZX_VM_PERM_EXECUTE, 0, xvmo, 0, P, &x), ZX_ERR_INVALID_ARGS);
    EXPECT_STATUS(zx_vmar_map(root, ZX_VM_PERM_WRITE | ZX_VM_PERM_EXECUTE, 0, xvmo, 0, P, &x),
                  ZX_ERR_INVALID_ARGS);
    // Unknown bits, bad alignment, OVERWRITE with MAP_RANGE.
    static const zx_vm_option_t unknown[] = {1u << 14, 1u << 16, 1u << 23};
    for (size_t i = 0; i < sizeof(unknown) / sizeof(unknown[0]); i++) {
        if (!EXPECT_STATUS(zx_vmar_map(root, ZX_VM_PERM_READ | unknown[i], 0, vmo, 0, P, &x),
                           ZX_ERR_INVALID_ARGS))
            printf("      (options %#x)\n", unknown[i]);
    }
    EXPECT_STATUS(zx_vmar_map(root, ZX_VM_PERM_READ | (9u << ZX_VM_ALIGN_BASE), 0, vmo, 0, P, &x),
                  ZX_ERR_INVALID_ARGS);
    EXPECT_STATUS(zx_vmar_map(root, ZX_VM_PERM_READ | (33u << ZX_VM_ALIGN_BASE), 0, vmo, 0, P,
                              &x),
                  ZX_ERR_INVALID_ARGS);
    EXPECT_STATUS(zx_vmar_map(root,
                              ZX_VM_PERM_READ | ZX_VM_SPECIFIC_OVERWRITE | ZX_VM_MAP_RANGE,
                              0x10000000, vmo, 0, P, &x),
                  ZX_ERR_INVALID_ARGS);
    // vmo_offset + len overflowing, or len's rounding overflowing: OUT_OF_RANGE (vmar_allocate
    // says INVALID_ARGS for its size, see allocate_errors).
    EXPECT_STATUS(zx_vmar_map(root, ZX_VM_PERM_READ, 0, vmo, UINT64_MAX - P + 1, 2 * P, &x),
                  ZX_ERR_OUT_OF_RANGE);
    EXPECT_STATUS(zx_vmar_map(root, ZX_VM_PERM_READ, 0, vmo, 0, UINT64_MAX, &x),
                  ZX_ERR_OUT_OF_RANGE);
    EXPECT_STATUS(zx_vmar_map(root, ZX_VM_PERM_READ, 0, vmo, 0, UINT64_MAX - P + 2, &x),
                  ZX_ERR_OUT_OF_RANGE);
    zx_handle_t sub = ZX_HANDLE_INVALID;
    zx_vaddr_t sub_addr;
    EXPECT_STATUS(zx_vmar_allocate(root, ZX_VM_CAN_MAP_READ, 0, UINT64_MAX, &sub, &sub_addr),
                  ZX_ERR_INVALID_ARGS);
    EXPECT_EQ(sub, ZX_HANDLE_INVALID);
    // Handles: the VMAR, then the VMO.
    EXPECT_HANDLE_ERRORS(zx_vmar_map(h, ZX_VM_PERM_READ, 0, vmo, 0, P, &x));
    EXPECT_HANDLE_ERRORS(zx_vmar_map(root, ZX_VM_PERM_READ, 0, h, 0, P, &x));
    EXPECT_STATUS(zx_vmar_map(vmo, ZX_VM_PERM_READ, 0, vmo, 0, P, &x), ZX_ERR_WRONG_TYPE);
    EXPECT_STATUS(zx_vmar_map(root, ZX_VM_PERM_READ, 0, root, 0, P, &x), ZX_ERR_WRONG_TYPE);
    // The output pointer.
    EXPECT_PTR_ERRORS(zx_vmar_map(root, ZX_VM_PERM_READ, 0, vmo, 0, P, (zx_vaddr_t *)bad),
                      ut_ro_page);
    EXPECT_EQ(ut_vmo_info(vmo).num_mappings, 0);
    zx_handle_close(xvmo);
    zx_handle_close(vmo);
}

TEST(map_rights) {
    zx_handle_t root = zx_vmar_root_self();
    zx_handle_t vmo = ut_vmo(P, -1);
    zx_vaddr_t x = 0;
    zx_handle_t nomap = ut_dup(vmo, ZX_DEFAULT_VMO_RIGHTS & ~ZX_RIGHT_MAP);
    EXPECT_STATUS(zx_vmar_map(root, ZX_VM_PERM_READ, 0, nomap, 0, P, &x), ZX_ERR_ACCESS_DENIED);
    zx_handle_t ro = ut_dup(vmo, ZX_DEFAULT_VMO_RIGHTS & ~ZX_RIGHT_WRITE);
    EXPECT_STATUS(zx_vmar_map(root, RW, 0, ro, 0, P, &x), ZX_ERR_ACCESS_DENIED);
    uintptr_t a = map_in(root, ZX_VM_PERM_READ, 0, ro, 0, P);
    ut_unmap(a, P);
    zx_handle_t wo = ut_dup(vmo, ZX_DEFAULT_VMO_RIGHTS & ~ZX_RIGHT_READ);
    EXPECT_STATUS(zx_vmar_map(root, ZX_VM_PERM_READ, 0, wo, 0, P, &x), ZX_ERR_ACCESS_DENIED);
    EXPECT_STATUS(zx_vmar_map(root, RW, 0, wo, 0, P, &x), ZX_ERR_ACCESS_DENIED);
    // EXECUTE needs an executable VMO handle.
    EXPECT_STATUS(zx_vmar_map(root, ZX_VM_PERM_READ | ZX_VM_PERM_EXECUTE, 0, vmo, 0, P, &x),
                  ZX_ERR_ACCESS_DENIED);
    // A VMAR without CAN_MAP_WRITE / CAN_MAP_EXECUTE.
    uintptr_t va;
    zx_handle_t rvmar = alloc(root, ZX_VM_CAN_MAP_READ, 0, 4 * P, &va);
    EXPECT_STATUS(zx_vmar_map(rvmar, RW, 0, vmo, 0, P, &x), ZX_ERR_ACCESS_DENIED);
    a = map_in(rvmar, ZX_VM_PERM_READ, 0, vmo, 0, P);
    EXPECT_GE(a, va);
    zx_handle_t xvmo;
    zx_handle_t d = ut_dup(vmo, ZX_RIGHT_SAME_RIGHTS);
    REQUIRE_OK(zx_vmo_replace_as_executable(d, ZX_HANDLE_INVALID, &xvmo));
    EXPECT_STATUS(zx_vmar_map(rvmar, ZX_VM_PERM_READ | ZX_VM_PERM_EXECUTE, 0, xvmo, 0, P, &x),
                  ZX_ERR_ACCESS_DENIED);
    // A VMAR handle without the WRITE / EXECUTE right.
    zx_handle_t nowrite = ut_dup(root, 0x801f & ~ZX_RIGHT_WRITE);
    EXPECT_STATUS(zx_vmar_map(nowrite, RW, 0, vmo, 0, P, &x), ZX_ERR_ACCESS_DENIED);
    zx_handle_t noexec = ut_dup(root, 0x801f & ~ZX_RIGHT_EXECUTE);
    EXPECT_STATUS(zx_vmar_map(noexec, ZX_VM_PERM_READ | ZX_VM_PERM_EXECUTE, 0, xvmo, 0, P, &x),
                  ZX_ERR_ACCESS_DENIED);
    zx_handle_t noread = ut_dup(root, 0x801f & ~ZX_RIGHT_READ);
    EXPECT_STATUS(zx_vmar_map(noread, ZX_VM_PERM_READ, 0, vmo, 0, P, &x), ZX_ERR_ACCESS_DENIED);
    // A VMAR without CAN_MAP_SPECIFIC.
    EXPECT_STATUS(zx_vmar_map(rvmar, ZX_VM_PERM_READ | ZX_VM_SPECIFIC, 2 * P, vmo, 0, P, &x),
                  ZX_ERR_ACCESS_DENIED);
    EXPECT_OK(zx_vmar_destroy(rvmar));
    zx_handle_close(rvmar);
    zx_handle_close(nowrite);
    zx_handle_close(noexec);
    zx_handle_close(noread);
    zx_handle_close(xvmo);
    zx_handle_close(nomap);
    zx_handle_close(ro);
    zx_handle_close(wo);
    zx_handle_close(vmo);
}

TEST(map_execute) {
    static const uint8_t code[] = {0xb8, 0x2a, 0x00, 0x00, 0x00, 0xc3};  // mov eax, 42; ret
    zx_handle_t vmo = ut_vmo(P, -1), xvmo;
    EXPECT_OK(zx_vmo_write(vmo, code, 0, sizeof(code)));
    REQUIRE_OK(zx_vmo_replace_as_executable(vmo, ZX_HANDLE_INVALID, &xvmo));
    uintptr_t a = ut_map(xvmo, 0, P, ZX_VM_PERM_READ | ZX_VM_PERM_EXECUTE);
    REQUIRE_TRUE(a);
    int (*fn)(void) = (int (*)(void))a;
    EXPECT_EQ(fn(), 42);
    zx_info_maps_t m;
    REQUIRE_TRUE(find_mapping(a, &m));
    EXPECT_EQ(m.u.mapping.mmu_flags, ZX_VM_PERM_READ | ZX_VM_PERM_EXECUTE);
    ut_unmap(a, P);
    zx_handle_close(xvmo);
}

TEST(map_specific_and_overwrite) {
    uintptr_t base;
    zx_handle_t v = alloc(zx_vmar_root_self(), CAN_ALL, 0, 16 * P, &base);
    zx_handle_t a = ut_vmo(4 * P, 0xa);
    zx_handle_t b = ut_vmo(P, 0xb);
    uintptr_t x = map_in(v, ZX_VM_PERM_READ | ZX_VM_SPECIFIC, 2 * P, a, 0, 4 * P);
    EXPECT_EQ(x, base + 2 * P);
    zx_vaddr_t y = 0;
    EXPECT_STATUS(zx_vmar_map(v, ZX_VM_PERM_READ | ZX_VM_SPECIFIC, 5 * P, b, 0, P, &y),
                  ZX_ERR_ALREADY_EXISTS);
    EXPECT_STATUS(zx_vmar_map(v, ZX_VM_PERM_READ | ZX_VM_SPECIFIC, 0, b, 0, 3 * P, &y),
                  ZX_ERR_ALREADY_EXISTS);
    EXPECT_STATUS(zx_vmar_map(v, ZX_VM_PERM_READ | ZX_VM_SPECIFIC, 16 * P, b, 0, P, &y),
                  ZX_ERR_INVALID_ARGS);
    EXPECT_STATUS(zx_vmar_map(v, ZX_VM_PERM_READ | ZX_VM_SPECIFIC, 15 * P, b, 0, 2 * P, &y),
                  ZX_ERR_INVALID_ARGS);
    // Overwrite the middle of the first mapping.
    y = map_in(v, ZX_VM_PERM_READ | ZX_VM_SPECIFIC_OVERWRITE, 3 * P, b, 0, P);
    EXPECT_EQ(y, base + 3 * P);
    volatile uint8_t *p = (volatile uint8_t *)base;
    EXPECT_EQ(p[2 * P], 0xa);
    EXPECT_EQ(p[3 * P], 0xb);
    EXPECT_EQ(p[4 * P], 0xa);
    EXPECT_EQ(p[5 * P + 4095], 0xa);
    EXPECT_EQ(ut_vmo_info(a).num_mappings, 2);
    // Overwriting where nothing is mapped is a plain map.
    y = map_in(v, ZX_VM_PERM_READ | ZX_VM_SPECIFIC_OVERWRITE, 8 * P, b, 0, P);
    EXPECT_EQ(p[8 * P], 0xb);
    EXPECT_OK(zx_vmar_destroy(v));
    EXPECT_EQ(ut_vmo_info(a).num_mappings, 0);
    EXPECT_EQ(ut_vmo_info(b).num_mappings, 0);
    zx_handle_close(v);
    zx_handle_close(a);
    zx_handle_close(b);
}

TEST(map_alignment) {
    zx_handle_t vmo = ut_vmo(P, -1);
    uintptr_t a = ut_map(vmo, 0, P, ZX_VM_PERM_READ | ZX_VM_ALIGN_1MB);
    EXPECT_EQ(a % (1u << 20), 0);
    ut_unmap(a, P);
    a = ut_map(vmo, 0, P, ZX_VM_PERM_READ | ZX_VM_ALIGN_64KB);
    EXPECT_EQ(a % (1u << 16), 0);
    ut_unmap(a, P);
    uintptr_t base;
    zx_handle_t v = alloc(zx_vmar_root_self(), CAN_ALL | ZX_VM_ALIGN_1MB, 0, 1u << 21, &base);
    zx_vaddr_t y;
    EXPECT_STATUS(zx_vmar_map(v, ZX_VM_PERM_READ | ZX_VM_SPECIFIC | ZX_VM_ALIGN_1MB, P, vmo, 0, P,
                              &y),
                  ZX_ERR_INVALID_ARGS);
    y = map_in(v, ZX_VM_PERM_READ | ZX_VM_SPECIFIC | ZX_VM_ALIGN_1MB, 1u << 20, vmo, 0, P);
    EXPECT_EQ(y, base + (1u << 20));
    EXPECT_OK(zx_vmar_destroy(v));
    zx_handle_close(v);
    zx_handle_close(vmo);
}

TEST(map_without_permissions) {
    zx_handle_t vmo = ut_vmo(P, 0x19);
    zx_vaddr_t a = 0;
    REQUIRE_OK(zx_vmar_map(zx_vmar_root_self(), 0, 0, vmo, 0, P, &a));
    zx_info_maps_t m;
    if (EXPECT_TRUE(find_mapping(a, &m)))
        EXPECT_EQ(m.u.mapping.mmu_flags, 0);
    // The kernel may neither read nor write there on our behalf.
    EXPECT_STATUS(zx_vmo_write(vmo, (const void *)a, 0, 8), ZX_ERR_ACCESS_DENIED);
    EXPECT_STATUS(zx_vmo_read(vmo, (void *)a, 0, 8), ZX_ERR_ACCESS_DENIED);
    EXPECT_EQ(ut_vmo_byte(vmo, 0), 0x19);
    // The harness's own no-access page exists too.
    EXPECT_NE(ut_noaccess_page, 0);
    ut_unmap(a, P);
    zx_handle_close(vmo);
}

TEST(map_past_vmo_end_is_allowed) {
    zx_handle_t vmo = ut_vmo(P, 0x7);
    uintptr_t a = ut_map(vmo, 0, 4 * P, ZX_VM_PERM_READ);
    REQUIRE_TRUE(a);
    EXPECT_EQ(*(volatile uint8_t *)a, 0x7);
    ut_unmap(a, 4 * P);
    // Starting past the end, and a VMO of size zero.
    a = ut_map(vmo, 4 * P, P, ZX_VM_PERM_READ);
    ut_unmap(a, P);
    zx_handle_t empty;
    REQUIRE_OK(zx_vmo_create(0, 0, &empty));
    a = ut_map(empty, 0, P, RW);
    ut_unmap(a, P);
    zx_handle_close(empty);
    zx_handle_close(vmo);
}

TEST(mapping_holds_its_vmo) {
    uint64_t base = ut_vmo_bytes();
    zx_handle_t vmo;
    REQUIRE_OK(zx_vmo_create(2 * P, 0, &vmo));
    volatile uint8_t *p = (volatile uint8_t *)ut_map(vmo, 0, 2 * P, RW);
    REQUIRE_TRUE(p);
    zx_handle_close(vmo);
    p[0] = 1;
    p[P] = 2;
    EXPECT_EQ(p[0] + p[P], 3);
    EXPECT_EQ(ut_vmo_bytes(), base + 2 * P);
    ut_unmap((uintptr_t)p, 2 * P);
    EXPECT_EQ(ut_vmo_bytes(), base);
}

TEST(unmap_splits) {
    zx_handle_t root = zx_vmar_root_self();
    zx_handle_t vmo = ut_vmo(4 * P, -1);
    volatile uint8_t *p = (volatile uint8_t *)ut_map(vmo, 0, 4 * P, RW);
    REQUIRE_TRUE(p);
    p[0] = 1;
    p[3 * P] = 4;
    EXPECT_OK(zx_vmar_unmap(root, (uintptr_t)p + P, 2 * P));
    EXPECT_TRUE(is_mapped(root, (uintptr_t)p, P));
    EXPECT_TRUE(is_mapped(root, (uintptr_t)p + 3 * P, P));
    EXPECT_STATUS(zx_vmar_protect(root, ZX_VM_PERM_READ, (uintptr_t)p + P, P), ZX_ERR_NOT_FOUND);
    EXPECT_STATUS(zx_vmar_protect(root, ZX_VM_PERM_READ, (uintptr_t)p + 2 * P, P),
                  ZX_ERR_NOT_FOUND);
    EXPECT_EQ(p[0], 1);
    EXPECT_EQ(p[3 * P], 4);
    EXPECT_EQ(ut_vmo_info(vmo).num_mappings, 2);
    zx_info_maps_t m;
    EXPECT_TRUE(find_mapping((uintptr_t)p + 3 * P, &m));
    EXPECT_EQ(m.size, P);
    EXPECT_EQ(m.u.mapping.vmo_offset, 3 * P);
    // Unmapping across the hole takes both pieces.
    EXPECT_OK(zx_vmar_unmap(root, (uintptr_t)p, 4 * P));
    EXPECT_EQ(ut_vmo_info(vmo).num_mappings, 0);
    zx_handle_close(vmo);
}

TEST(unmap_spans_gaps) {
    uintptr_t base;
    zx_handle_t v = alloc(zx_vmar_root_self(), CAN_ALL, 0, 8 * P, &base);
    zx_handle_t vmo = ut_vmo(P, -1);
    map_in(v, ZX_VM_PERM_READ | ZX_VM_SPECIFIC, 0, vmo, 0, P);
    map_in(v, ZX_VM_PERM_READ | ZX_VM_SPECIFIC, 4 * P, vmo, 0, P);
    EXPECT_EQ(ut_vmo_info(vmo).num_mappings, 2);
    EXPECT_OK(zx_vmar_unmap(v, base, 8 * P));
    EXPECT_EQ(ut_vmo_info(vmo).num_mappings, 0);
    EXPECT_OK(zx_vmar_destroy(v));
    zx_handle_close(v);
    zx_handle_close(vmo);
}

TEST(unmap_errors) {
    uintptr_t base;
    zx_handle_t v = alloc(zx_vmar_root_self(), CAN_ALL, 0, 16 * P, &base);
    zx_handle_t vmo = ut_vmo(P, -1);
    map_in(v, ZX_VM_PERM_READ | ZX_VM_SPECIFIC, 0, vmo, 0, P);
    EXPECT_STATUS(zx_vmar_unmap(v, base + 1, P), ZX_ERR_INVALID_ARGS);
    EXPECT_STATUS(zx_vmar_unmap(v, base, 0), ZX_ERR_INVALID_ARGS);
    // Outside the VMAR.
    EXPECT_STATUS(zx_vmar_unmap(v, base - P, 2 * P), ZX_ERR_INVALID_ARGS);
    EXPECT_STATUS(zx_vmar_unmap(v, base + 15 * P, 2 * P), ZX_ERR_INVALID_ARGS);
    // A partly covered sub-VMAR.
    uintptr_t sa;
    zx_handle_t sub = alloc(v, ZX_VM_SPECIFIC | ZX_VM_CAN_MAP_READ, 4 * P, 4 * P, &sa);
    EXPECT_STATUS(zx_vmar_unmap(v, base + 2 * P, 4 * P), ZX_ERR_INVALID_ARGS);
    EXPECT_STATUS(zx_vmar_unmap(v, base + 6 * P, 4 * P), ZX_ERR_INVALID_ARGS);
    EXPECT_EQ(ut_vmo_info(vmo).num_mappings, 1);
    EXPECT_EQ(vmar_info(sub).len, 4 * P);
    // Handles.
    EXPECT_HANDLE_ERRORS(zx_vmar_unmap(h, base, P));
    EXPECT_STATUS(zx_vmar_unmap(vmo, base, P), ZX_ERR_WRONG_TYPE);
    EXPECT_OK(zx_vmar_destroy(v));
    zx_handle_close(sub);
    zx_handle_close(v);
    zx_handle_close(vmo);
}

TEST(unmap_covering_sub_vmar_destroys_it) {
    uintptr_t base;
    zx_handle_t v = alloc(zx_vmar_root_self(), CAN_ALL, 0, 16 * P, &base);
    uintptr_t sa;
    zx_handle_t sub = alloc(v, ZX_VM_SPECIFIC | CAN_RW, 4 * P, 4 * P, &sa);
    zx_handle_t vmo = ut_vmo(P, -1);
    map_in(sub, ZX_VM_PERM_READ, 0, vmo, 0, P);
    EXPECT_OK(zx_vmar_unmap(v, base + 2 * P, 8 * P));
    zx_vaddr_t x;
    EXPECT_STATUS(zx_vmar_map(sub, ZX_VM_PERM_READ, 0, vmo, 0, P, &x), ZX_ERR_BAD_STATE);
    EXPECT_EQ(ut_vmo_info(vmo).num_mappings, 0);
    // The space is free again.
    zx_handle_t again = alloc(v, ZX_VM_SPECIFIC, 4 * P, 4 * P, &x);
    EXPECT_OK(zx_vmar_destroy(v));
    zx_handle_close(again);
    zx_handle_close(sub);
    zx_handle_close(v);
    zx_handle_close(vmo);
}

TEST(destroy) {
    uint64_t before = ut_vmo_bytes();
    uintptr_t base;
    zx_handle_t v = alloc(zx_vmar_root_self(), CAN_ALL, 0, 16 * P, &base);
    uintptr_t sa;
    zx_handle_t sub = alloc(v, CAN_RW, 0, 4 * P, &sa);
    zx_handle_t vmo;
    REQUIRE_OK(zx_vmo_create(2 * P, 0, &vmo));
    volatile uint8_t *p = (volatile uint8_t *)map_in(v, RW, 0, vmo, 0, 2 * P);
    map_in(sub, RW, 0, vmo, 0, P);
    p[0] = 1;
    zx_handle_close(vmo);
    EXPECT_EQ(ut_vmo_bytes(), before + P);
    EXPECT_OK(zx_vmar_destroy(v));
    // The mappings are gone, their VMO with them.
    EXPECT_EQ(ut_vmo_bytes(), before);
    EXPECT_STATUS(zx_vmar_protect(zx_vmar_root_self(), ZX_VM_PERM_READ, (uintptr_t)p, P),
                  ZX_ERR_NOT_FOUND);
    // Every call on a destroyed VMAR (and its children) is BAD_STATE.
    zx_handle_t other = ut_vmo(P, -1);
    zx_handle_t out = ZX_HANDLE_INVALID;
    zx_vaddr_t x;
    EXPECT_STATUS(zx_vmar_allocate(v, 0, 0, P, &out, &x), ZX_ERR_BAD_STATE);
    EXPECT_STATUS(zx_vmar_map(v, ZX_VM_PERM_READ, 0, other, 0, P, &x), ZX_ERR_BAD_STATE);
    EXPECT_STATUS(zx_vmar_unmap(v, base, P), ZX_ERR_BAD_STATE);
    EXPECT_STATUS(zx_vmar_protect(v, ZX_VM_PERM_READ, base, P), ZX_ERR_BAD_STATE);
    EXPECT_STATUS(zx_vmar_op_range(v, ZX_VMAR_OP_COMMIT, base, P, NULL, 0), ZX_ERR_BAD_STATE);
    EXPECT_STATUS(zx_vmar_destroy(v), ZX_ERR_BAD_STATE);
    EXPECT_STATUS(zx_vmar_map(sub, ZX_VM_PERM_READ, 0, other, 0, P, &x), ZX_ERR_BAD_STATE);
    EXPECT_STATUS(zx_vmar_destroy(sub), ZX_ERR_BAD_STATE);
    EXPECT_EQ(out, ZX_HANDLE_INVALID);
    // The address range can be had again.
    zx_handle_t again = ZX_HANDLE_INVALID;
    EXPECT_OK(zx_vmar_allocate(zx_vmar_root_self(), ZX_VM_SPECIFIC, base - ROOT_BASE, 16 * P,
                               &again, &x));
    EXPECT_EQ(x, base);
    EXPECT_OK(zx_vmar_destroy(again));
    // Handles.
    EXPECT_HANDLE_ERRORS(zx_vmar_destroy(h));
    EXPECT_STATUS(zx_vmar_destroy(other), ZX_ERR_WRONG_TYPE);
    zx_handle_close(again);
    zx_handle_close(other);
    zx_handle_close(sub);
    zx_handle_close(v);
}

TEST(closing_handle_keeps_region) {
    uintptr_t base;
    zx_handle_t v = alloc(zx_vmar_root_self(), CAN_ALL, 0, 4 * P, &base);
    zx_handle_t vmo = ut_vmo(P, 0x3c);
    map_in(v, ZX_VM_PERM_READ | ZX_VM_SPECIFIC, 0, vmo, 0, P);
    zx_handle_close(v);
    EXPECT_EQ(*(volatile uint8_t *)base, 0x3c);
    zx_handle_t h = ZX_HANDLE_INVALID;
    zx_vaddr_t x;
    EXPECT_STATUS(zx_vmar_allocate(zx_vmar_root_self(), ZX_VM_SPECIFIC, base - ROOT_BASE, P, &h,
                                   &x),
                  ZX_ERR_ALREADY_EXISTS);
    // Unmapping it from the root removes the region.
    EXPECT_OK(zx_vmar_unmap(zx_vmar_root_self(), base, 4 * P));
    EXPECT_EQ(ut_vmo_info(vmo).num_mappings, 0);
    zx_handle_close(vmo);
}

TEST(op_range_commit_decommit) {
    uint64_t before = ut_vmo_bytes();
    zx_handle_t root = zx_vmar_root_self();
    zx_handle_t vmo;
    REQUIRE_OK(zx_vmo_create(4 * P, 0, &vmo));
    uintptr_t a = ut_map(vmo, 0, 4 * P, RW);
    REQUIRE_TRUE(a);
    EXPECT_OK(zx_vmar_op_range(root, ZX_VMAR_OP_COMMIT, a + P, 2 * P, NULL, 0));
    EXPECT_EQ(ut_committed(vmo), 2 * P);
    EXPECT_EQ(ut_vmo_bytes(), before + 2 * P);
    EXPECT_OK(zx_vmar_op_range(root, ZX_VMAR_OP_MAP_RANGE, a, 4 * P, NULL, 0));
    EXPECT_EQ(ut_committed(vmo), 2 * P);
    ((volatile uint8_t *)a)[P] = 9;
    EXPECT_OK(zx_vmar_op_range(root, ZX_VMAR_OP_DECOMMIT, a, 4 * P, NULL, 0));
    EXPECT_EQ(ut_committed(vmo), 0);
    EXPECT_EQ(((volatile uint8_t *)a)[P], 0);
    EXPECT_EQ(ut_committed(vmo), 0);
    EXPECT_EQ(ut_vmo_bytes(), before);
    ut_unmap(a, 4 * P);
    // Mapped past the VMO's end, or starting past it: no ALLOW_FAULTS needed.
    zx_handle_t small = ut_vmo(P, -1);
    a = ut_map(small, 0, 4 * P, RW);
    EXPECT_OK(zx_vmar_op_range(root, ZX_VMAR_OP_COMMIT, a, 4 * P, NULL, 0));
    EXPECT_EQ(ut_committed(small), P);
    ut_unmap(a, 4 * P);
    a = ut_map(small, 2 * P, P, RW);
    EXPECT_OK(zx_vmar_op_range(root, ZX_VMAR_OP_COMMIT, a, P, NULL, 0));
    EXPECT_OK(zx_vmar_op_range(root, ZX_VMAR_OP_DECOMMIT, a, P, NULL, 0));
    ut_unmap(a, P);
    zx_handle_close(small);
    zx_handle_close(vmo);
}

TEST(op_range_errors) {
    uintptr_t base;
    zx_handle_t v = alloc(zx_vmar_root_self(), CAN_ALL, 0, 8 * P, &base);
    zx_handle_t vmo = ut_vmo(4 * P, -1);
    map_in(v, RW | ZX_VM_SPECIFIC, 0, vmo, 0, 2 * P);
    map_in(v, RW | ZX_VM_SPECIFIC, 3 * P, vmo, 0, P);
    // Outside the VMAR.
    EXPECT_STATUS(zx_vmar_op_range(v, ZX_VMAR_OP_COMMIT, base - P, 2 * P, NULL, 0),
                  ZX_ERR_OUT_OF_RANGE);
    EXPECT_STATUS(zx_vmar_op_range(v, ZX_VMAR_OP_COMMIT, base + 7 * P, 2 * P, NULL, 0),
                  ZX_ERR_OUT_OF_RANGE);
    // A gap.
    EXPECT_STATUS(zx_vmar_op_range(v, ZX_VMAR_OP_COMMIT, base, 4 * P, NULL, 0), ZX_ERR_BAD_STATE);
    EXPECT_STATUS(zx_vmar_op_range(v, ZX_VMAR_OP_COMMIT, base + 2 * P, P, NULL, 0),
                  ZX_ERR_BAD_STATE);
    EXPECT_STATUS(zx_vmar_op_range(v, ZX_VMAR_OP_DECOMMIT, base + P, 3 * P, NULL, 0),
                  ZX_ERR_BAD_STATE);
    // Size 0, unaligned address, a buffer, unknown ops.
    EXPECT_STATUS(zx_vmar_op_range(v, ZX_VMAR_OP_COMMIT, base, 0, NULL, 0), ZX_ERR_INVALID_ARGS);
    EXPECT_STATUS(zx_vmar_op_range(v, ZX_VMAR_OP_COMMIT, base + 1, P, NULL, 0),
                  ZX_ERR_INVALID_ARGS);
    EXPECT_STATUS(zx_vmar_op_range(v, ZX_VMAR_OP_COMMIT, base, P, ut_scratch, 8),
                  ZX_ERR_INVALID_ARGS);
    static const uint32_t unknown[] = {0, 4, 10, 99, 0xffffffffu};
    for (size_t i = 0; i < sizeof(unknown) / sizeof(unknown[0]); i++) {
        if (!EXPECT_STATUS(zx_vmar_op_range(v, unknown[i], base, P, NULL, 0),
                           ZX_ERR_INVALID_ARGS))
            printf("      (op %u)\n", unknown[i]);
    }
    EXPECT_EQ(ut_committed(vmo), 0);
    // Rights: WRITE on the VMAR handle.
    zx_handle_t ro = ut_dup(v, 0x8003 | ZX_RIGHT_READ);
    EXPECT_STATUS(zx_vmar_op_range(ro, ZX_VMAR_OP_COMMIT, base, P, NULL, 0), ZX_ERR_ACCESS_DENIED);
    EXPECT_STATUS(zx_vmar_op_range(ro, ZX_VMAR_OP_DECOMMIT, base, P, NULL, 0),
                  ZX_ERR_ACCESS_DENIED);
    zx_handle_close(ro);
    // MAP_RANGE reads: it needs READ on the VMAR handle.
    zx_handle_t wo = ut_dup(v, 0x8003 | ZX_RIGHT_WRITE);
    EXPECT_STATUS(zx_vmar_op_range(wo, ZX_VMAR_OP_MAP_RANGE, base, P, NULL, 0),
                  ZX_ERR_ACCESS_DENIED);
    EXPECT_OK(zx_vmar_op_range(wo, ZX_VMAR_OP_COMMIT, base, P, NULL, 0));
    EXPECT_OK(zx_vmar_op_range(wo, ZX_VMAR_OP_DECOMMIT, base, P, NULL, 0));
    zx_handle_close(wo);
    zx_handle_t rd = ut_dup(v, 0x8003 | ZX_RIGHT_READ);
    EXPECT_OK(zx_vmar_op_range(rd, ZX_VMAR_OP_MAP_RANGE, base, P, NULL, 0));
    zx_handle_close(rd);
    // Rights: WRITE on the VMO handle the mapping was made with.
    zx_handle_t rovmo = ut_dup(vmo, ZX_DEFAULT_VMO_RIGHTS & ~ZX_RIGHT_WRITE);
    map_in(v, ZX_VM_PERM_READ | ZX_VM_SPECIFIC, 5 * P, rovmo, 0, P);
    EXPECT_STATUS(zx_vmar_op_range(v, ZX_VMAR_OP_COMMIT, base + 5 * P, P, NULL, 0),
                  ZX_ERR_ACCESS_DENIED);
    EXPECT_STATUS(zx_vmar_op_range(v, ZX_VMAR_OP_DECOMMIT, base + 5 * P, P, NULL, 0),
                  ZX_ERR_ACCESS_DENIED);
    // A read-only mapping made with a writable handle may commit.
    map_in(v, ZX_VM_PERM_READ | ZX_VM_SPECIFIC, 6 * P, vmo, 2 * P, P);
    EXPECT_OK(zx_vmar_op_range(v, ZX_VMAR_OP_COMMIT, base + 6 * P, P, NULL, 0));
    EXPECT_EQ(ut_committed(vmo), P);
    zx_handle_close(rovmo);
    // Handles.
    EXPECT_HANDLE_ERRORS(zx_vmar_op_range(h, ZX_VMAR_OP_COMMIT, base, P, NULL, 0));
    EXPECT_STATUS(zx_vmar_op_range(vmo, ZX_VMAR_OP_COMMIT, base, P, NULL, 0), ZX_ERR_WRONG_TYPE);
    EXPECT_OK(zx_vmar_destroy(v));
    zx_handle_close(v);
    zx_handle_close(vmo);
}

// The ops act only on mappings directly in the VMAR named: a range over a mapping inside a child
// VMAR is INVALID_ARGS (Zircon's vmar tests), whatever the op; the child's own handle works.
TEST(op_range_only_on_direct_mappings) {
    uintptr_t base, cbase;
    zx_handle_t v = alloc(zx_vmar_root_self(), CAN_ALL | ZX_VM_CAN_MAP_SPECIFIC, 0, 8 * P, &base);
    zx_handle_t child = alloc(v, CAN_ALL | ZX_VM_SPECIFIC, 2 * P, 2 * P, &cbase);
    zx_handle_t vmo = ut_vmo(4 * P, -1);
    map_in(v, RW | ZX_VM_SPECIFIC, 0, vmo, 0, 2 * P);
    map_in(child, RW | ZX_VM_SPECIFIC, 0, vmo, 2 * P, 2 * P);
    static const uint32_t ops[] = {ZX_VMAR_OP_COMMIT, ZX_VMAR_OP_DECOMMIT, ZX_VMAR_OP_MAP_RANGE};
    for (size_t i = 0; i < sizeof(ops) / sizeof(ops[0]); i++) {
        EXPECT_STATUS(zx_vmar_op_range(v, ops[i], cbase, P, NULL, 0), ZX_ERR_INVALID_ARGS);
        EXPECT_STATUS(zx_vmar_op_range(v, ops[i], base, 4 * P, NULL, 0), ZX_ERR_INVALID_ARGS);
        EXPECT_STATUS(zx_vmar_op_range(zx_vmar_root_self(), ops[i], base, P, NULL, 0),
                      ZX_ERR_INVALID_ARGS);
    }
    // All or nothing: the direct mapping in front was not committed either.
    EXPECT_EQ(ut_committed(vmo), 0);
    // A gap met before the nested mapping is still BAD_STATE.
    EXPECT_STATUS(zx_vmar_op_range(v, ZX_VMAR_OP_COMMIT, base + 4 * P, 2 * P, NULL, 0),
                  ZX_ERR_BAD_STATE);
    EXPECT_OK(zx_vmar_op_range(v, ZX_VMAR_OP_COMMIT, base, 2 * P, NULL, 0));
    EXPECT_OK(zx_vmar_op_range(child, ZX_VMAR_OP_COMMIT, cbase, 2 * P, NULL, 0));
    EXPECT_EQ(ut_committed(vmo), 4 * P);
    EXPECT_OK(zx_vmar_op_range(child, ZX_VMAR_OP_DECOMMIT, cbase, 2 * P, NULL, 0));
    EXPECT_EQ(ut_committed(vmo), 2 * P);
    EXPECT_OK(zx_vmar_destroy(v));
    zx_handle_close(child);
    zx_handle_close(v);
    zx_handle_close(vmo);
}

TEST(map_range_option) {
    zx_handle_t vmo = ut_vmo(2 * P, 0x4d);
    uintptr_t a = ut_map(vmo, 0, 2 * P, ZX_VM_PERM_READ | ZX_VM_MAP_RANGE);
    REQUIRE_TRUE(a);
    EXPECT_EQ(((volatile uint8_t *)a)[P], 0x4d);
    zx_info_maps_t m;
    if (EXPECT_TRUE(find_mapping(a, &m)))
        EXPECT_EQ(m.u.mapping.committed_pages, 2);
    ut_unmap(a, 2 * P);
    zx_handle_close(vmo);
}

TEST(many_mappings) {
    uint64_t before = ut_vmo_bytes();
    zx_handle_t vmo;
    REQUIRE_OK(zx_vmo_create(64 * P, 0, &vmo));
    uintptr_t addrs[64];
    for (int i = 0; i < 64; i++) {
        addrs[i] = ut_map(vmo, (uint64_t)i * P, P, RW);
        ((volatile uint8_t *)addrs[i])[0] = (uint8_t)i;
    }
    EXPECT_EQ(ut_vmo_info(vmo).num_mappings, 64);
    EXPECT_EQ(ut_vmo_bytes(), before + 64 * P);
    for (int i = 0; i < 64; i++) {
        EXPECT_EQ(ut_vmo_byte(vmo, (uint64_t)i * P), i);
        ut_unmap(addrs[i], P);
    }
    EXPECT_EQ(ut_vmo_info(vmo).num_mappings, 0);
    zx_handle_close(vmo);
}

UTEST_MAIN(NULL)
