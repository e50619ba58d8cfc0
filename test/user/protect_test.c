// zx_vmar_protect (docs/abi.md §2 "map", "unmap/protect"): permission changes seen by the
// kernel's user copies and by the CPU (in child processes), splitting, gaps, the caps set by the
// handles' rights and the VMAR's CAN_MAP_* flags, and every error.
#include <stdio.h>

#include "test/user/utest.h"

#define P ((uint64_t)PAGE)
#define R ZX_VM_PERM_READ
#define RW (ZX_VM_PERM_READ | ZX_VM_PERM_WRITE)
#define RX (ZX_VM_PERM_READ | ZX_VM_PERM_EXECUTE)
#define CAN_ALL (ZX_VM_CAN_MAP_READ | ZX_VM_CAN_MAP_WRITE | ZX_VM_CAN_MAP_EXECUTE | \
                 ZX_VM_CAN_MAP_SPECIFIC)

static zx_status_t protect(uintptr_t addr, size_t len, zx_vm_option_t perms) {
    return zx_vmar_protect(zx_vmar_root_self(), perms, addr, len);
}

// The kernel writes into [addr, addr+n): ZX_OK if the mapping allows writing.
static zx_status_t kernel_writes(zx_handle_t vmo, uintptr_t addr, size_t n) {
    return zx_vmo_read(vmo, (void *)addr, 0, n);
}

// The kernel reads from [addr, addr+n): ZX_OK if the mapping allows reading.
static zx_status_t kernel_reads(zx_handle_t vmo, uintptr_t addr, size_t n) {
    return zx_vmo_write(vmo, (const void *)addr, 0, n);
}

static zx_vm_option_t mapping_flags(uintptr_t base) {
    zx_info_maps_t *maps = (zx_info_maps_t *)ut_scratch;
    size_t actual = 0, avail = 0;
    if (zx_object_get_info(zx_process_self(), ZX_INFO_PROCESS_MAPS, maps, UT_SCRATCH_SIZE,
                           &actual, &avail) != ZX_OK)
        return 0xdead;
    for (size_t i = 0; i < actual; i++) {
        if (maps[i].type == ZX_INFO_MAPS_TYPE_MAPPING && maps[i].base == base)
            return maps[i].u.mapping.mmu_flags;
    }
    return 0xbeef;  // no mapping starts there
}

static zx_handle_t exec_vmo(const uint8_t *code, size_t n) {
    zx_handle_t vmo = ut_vmo(P, -1), x = ZX_HANDLE_INVALID;
    if (zx_vmo_write(vmo, code, 0, n) != ZX_OK ||
        zx_vmo_replace_as_executable(vmo, ZX_HANDLE_INVALID, &x) != ZX_OK)
        EXPECT_FAILF("cannot make an executable VMO");
    return x;
}

static const uint8_t ret7[] = {0xb8, 0x07, 0x00, 0x00, 0x00, 0xc3};  // mov eax, 7; ret

TEST(protect_changes_what_the_kernel_may_do) {
    zx_handle_t vmo = ut_vmo(2 * P, 0x61);
    uintptr_t a = ut_map(vmo, 0, 2 * P, RW);
    REQUIRE_TRUE(a);
    EXPECT_OK(kernel_writes(vmo, a, 16));
    EXPECT_OK(protect(a, 2 * P, R));
    EXPECT_EQ(mapping_flags(a), R);
    EXPECT_STATUS(kernel_writes(vmo, a, 16), ZX_ERR_ACCESS_DENIED);
    EXPECT_STATUS(kernel_writes(vmo, a + P, 16), ZX_ERR_ACCESS_DENIED);
    EXPECT_OK(kernel_reads(vmo, a, 16));
    EXPECT_EQ(*(volatile uint8_t *)a, 0x61);
    EXPECT_OK(protect(a, 2 * P, RW));
    EXPECT_EQ(mapping_flags(a), RW);
    EXPECT_OK(kernel_writes(vmo, a + P, 16));
    // No permissions at all.
    EXPECT_OK(protect(a, 2 * P, 0));
    EXPECT_EQ(mapping_flags(a), 0);
    EXPECT_STATUS(kernel_reads(vmo, a, 16), ZX_ERR_ACCESS_DENIED);
    EXPECT_STATUS(kernel_writes(vmo, a, 16), ZX_ERR_ACCESS_DENIED);
    EXPECT_OK(protect(a, 2 * P, R));
    EXPECT_OK(kernel_reads(vmo, a, 16));
    ut_unmap(a, 2 * P);
    zx_handle_close(vmo);
}

TEST(protect_splits_mappings) {
    zx_handle_t vmo = ut_vmo(3 * P, 0x62);
    uintptr_t a = ut_map(vmo, 0, 3 * P, RW);
    REQUIRE_TRUE(a);
    EXPECT_OK(protect(a + P, P, R));
    EXPECT_EQ(mapping_flags(a), RW);
    EXPECT_EQ(mapping_flags(a + P), R);
    EXPECT_EQ(mapping_flags(a + 2 * P), RW);
    EXPECT_OK(kernel_writes(vmo, a, 16));
    EXPECT_STATUS(kernel_writes(vmo, a + P, 16), ZX_ERR_ACCESS_DENIED);
    EXPECT_OK(kernel_writes(vmo, a + 2 * P, 16));
    // Data is untouched, and writing still reaches the VMO on both sides.
    ((volatile uint8_t *)a)[2 * P + 100] = 0x63;
    EXPECT_EQ(ut_vmo_byte(vmo, 2 * P + 100), 0x63);
    EXPECT_EQ(((volatile uint8_t *)a)[P + 100], 0x62);
    EXPECT_EQ(ut_vmo_info(vmo).num_mappings, 3);
    // Protecting across the pieces.
    EXPECT_OK(protect(a, 3 * P, R));
    EXPECT_STATUS(kernel_writes(vmo, a + 2 * P, 16), ZX_ERR_ACCESS_DENIED);
    ut_unmap(a, 3 * P);
    EXPECT_EQ(ut_vmo_info(vmo).num_mappings, 0);
    zx_handle_close(vmo);
}

TEST(protect_over_gap_changes_nothing) {
    uintptr_t base;
    zx_handle_t v, vmo = ut_vmo(P, 0x64);
    zx_vaddr_t x;
    REQUIRE_OK(zx_vmar_allocate(zx_vmar_root_self(), CAN_ALL, 0, 4 * P, &v, &base));
    EXPECT_OK(zx_vmar_map(v, RW | ZX_VM_SPECIFIC, 0, vmo, 0, P, &x));
    EXPECT_OK(zx_vmar_map(v, RW | ZX_VM_SPECIFIC, 2 * P, vmo, 0, P, &x));
    EXPECT_STATUS(zx_vmar_protect(v, R, base, 3 * P), ZX_ERR_NOT_FOUND);
    EXPECT_STATUS(zx_vmar_protect(v, R, base + P, P), ZX_ERR_NOT_FOUND);
    EXPECT_STATUS(zx_vmar_protect(v, R, base + 2 * P, 2 * P), ZX_ERR_NOT_FOUND);
    EXPECT_EQ(mapping_flags(base), RW);
    EXPECT_EQ(mapping_flags(base + 2 * P), RW);
    EXPECT_OK(kernel_writes(vmo, base, 16));
    EXPECT_OK(kernel_writes(vmo, base + 2 * P, 16));
    EXPECT_OK(zx_vmar_destroy(v));
    zx_handle_close(v);
    zx_handle_close(vmo);
}

TEST(protect_across_adjacent_mappings) {
    uintptr_t base;
    zx_handle_t v, a = ut_vmo(P, 1), b = ut_vmo(P, 2);
    zx_vaddr_t x;
    REQUIRE_OK(zx_vmar_allocate(zx_vmar_root_self(), CAN_ALL, 0, 4 * P, &v, &base));
    EXPECT_OK(zx_vmar_map(v, RW | ZX_VM_SPECIFIC, P, a, 0, P, &x));
    EXPECT_OK(zx_vmar_map(v, RW | ZX_VM_SPECIFIC, 2 * P, b, 0, P, &x));
    EXPECT_OK(zx_vmar_protect(v, R, base + P, 2 * P));
    EXPECT_EQ(mapping_flags(base + P), R);
    EXPECT_EQ(mapping_flags(base + 2 * P), R);
    EXPECT_OK(zx_vmar_destroy(v));
    zx_handle_close(v);
    zx_handle_close(a);
    zx_handle_close(b);
}

TEST(protect_capped_by_vmo_rights) {
    zx_handle_t vmo = ut_vmo(P, -1);
    zx_handle_t ro = ut_dup(vmo, ZX_DEFAULT_VMO_RIGHTS & ~ZX_RIGHT_WRITE);
    uintptr_t a = ut_map(ro, 0, P, R);
    REQUIRE_TRUE(a);
    EXPECT_STATUS(protect(a, P, RW), ZX_ERR_ACCESS_DENIED);
    EXPECT_EQ(mapping_flags(a), R);
    ut_unmap(a, P);
    // Mapped read-only with a writable handle: may become writable.
    a = ut_map(vmo, 0, P, R);
    EXPECT_OK(protect(a, P, RW));
    EXPECT_OK(kernel_writes(vmo, a, 8));
    // Not executable without an executable handle.
    EXPECT_STATUS(protect(a, P, RX), ZX_ERR_ACCESS_DENIED);
    ut_unmap(a, P);
    zx_handle_t x = exec_vmo(ret7, sizeof(ret7));
    a = ut_map(x, 0, P, R);
    EXPECT_OK(protect(a, P, RX));
    EXPECT_EQ(mapping_flags(a), RX);
    int (*fn)(void) = (int (*)(void))a;
    EXPECT_EQ(fn(), 7);
    ut_unmap(a, P);
    // Closing the handle does not lift the cap: it was recorded at map time.
    zx_handle_t ro2 = ut_dup(vmo, ZX_DEFAULT_VMO_RIGHTS & ~ZX_RIGHT_WRITE);
    a = ut_map(ro2, 0, P, R);
    zx_handle_close(ro2);
    EXPECT_STATUS(protect(a, P, RW), ZX_ERR_ACCESS_DENIED);
    ut_unmap(a, P);
    zx_handle_close(x);
    zx_handle_close(ro);
    zx_handle_close(vmo);
}

TEST(protect_capped_by_vmar) {
    zx_handle_t vmo = ut_vmo(P, -1);
    uintptr_t base;
    zx_handle_t v;
    zx_vaddr_t a;
    REQUIRE_OK(zx_vmar_allocate(zx_vmar_root_self(), ZX_VM_CAN_MAP_READ, 0, 2 * P, &v, &base));
    EXPECT_OK(zx_vmar_map(v, R, 0, vmo, 0, P, &a));
    EXPECT_STATUS(zx_vmar_protect(v, RW, a, P), ZX_ERR_ACCESS_DENIED);
    // Through the root handle: the mapping lies in a VMAR that cannot map writable.
    EXPECT_STATUS(protect(a, P, RW), ZX_ERR_ACCESS_DENIED);
    EXPECT_EQ(mapping_flags(a), R);
    EXPECT_OK(zx_vmar_destroy(v));
    zx_handle_close(v);
    // A VMAR handle without WRITE / EXECUTE rights.
    a = ut_map(vmo, 0, P, R);
    zx_handle_t nowrite = ut_dup(zx_vmar_root_self(), 0x801f & ~ZX_RIGHT_WRITE);
    EXPECT_STATUS(zx_vmar_protect(nowrite, RW, a, P), ZX_ERR_ACCESS_DENIED);
    EXPECT_OK(zx_vmar_protect(nowrite, R, a, P));
    zx_handle_t noread = ut_dup(zx_vmar_root_self(), 0x801f & ~ZX_RIGHT_READ);
    EXPECT_STATUS(zx_vmar_protect(noread, R, a, P), ZX_ERR_ACCESS_DENIED);
    ut_unmap(a, P);
    zx_handle_t x = exec_vmo(ret7, sizeof(ret7));
    a = ut_map(x, 0, P, R);
    zx_handle_t noexec = ut_dup(zx_vmar_root_self(), 0x801f & ~ZX_RIGHT_EXECUTE);
    EXPECT_STATUS(zx_vmar_protect(noexec, RX, a, P), ZX_ERR_ACCESS_DENIED);
    ut_unmap(a, P);
    zx_handle_close(x);
    zx_handle_close(noexec);
    zx_handle_close(noread);
    zx_handle_close(nowrite);
    zx_handle_close(vmo);
}

TEST(protect_errors) {
    zx_handle_t vmo = ut_vmo(2 * P, -1);
    uintptr_t a = ut_map(vmo, 0, 2 * P, RW);
    REQUIRE_TRUE(a);
    EXPECT_STATUS(protect(a, P, ZX_VM_PERM_WRITE), ZX_ERR_INVALID_ARGS);
    EXPECT_STATUS(protect(a, P, ZX_VM_PERM_EXECUTE), ZX_ERR_INVALID_ARGS);
    EXPECT_STATUS(protect(a, P, ZX_VM_PERM_WRITE | ZX_VM_PERM_EXECUTE), ZX_ERR_INVALID_ARGS);
    EXPECT_STATUS(protect(a + 1, P, R), ZX_ERR_INVALID_ARGS);
    EXPECT_STATUS(protect(a, 0, R), ZX_ERR_INVALID_ARGS);
    static const zx_vm_option_t bad[] = {R | ZX_VM_SPECIFIC, R | (1u << 14), R | (1u << 20),
                                         R | ZX_VM_CAN_MAP_READ};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        if (!EXPECT_STATUS(protect(a, P, bad[i]), ZX_ERR_INVALID_ARGS))
            printf("      (options %#x)\n", bad[i]);
    }
    EXPECT_EQ(mapping_flags(a), RW);
    // Outside the user range / the VMAR.
    EXPECT_STATUS2(protect(ROOT_END, P, R), ZX_ERR_INVALID_ARGS, ZX_ERR_NOT_FOUND);
    EXPECT_STATUS2(protect(ROOT_BASE - P, P, R), ZX_ERR_INVALID_ARGS, ZX_ERR_NOT_FOUND);
    EXPECT_STATUS2(protect(0xffffffff80000000ull, P, R), ZX_ERR_INVALID_ARGS, ZX_ERR_NOT_FOUND);
    // A partly covered sub-VMAR.
    uintptr_t base;
    zx_handle_t v, sub;
    zx_vaddr_t x;
    REQUIRE_OK(zx_vmar_allocate(zx_vmar_root_self(), CAN_ALL, 0, 8 * P, &v, &base));
    EXPECT_OK(zx_vmar_map(v, RW | ZX_VM_SPECIFIC, 0, vmo, 0, 2 * P, &x));
    REQUIRE_OK(zx_vmar_allocate(v,
                                ZX_VM_SPECIFIC | ZX_VM_CAN_MAP_READ | ZX_VM_CAN_MAP_WRITE |
                                    ZX_VM_CAN_MAP_SPECIFIC,
                                2 * P, 4 * P, &sub, &x));
    // The range [base, base + 3P) is fully mapped, but covers only part of the sub-VMAR.
    EXPECT_OK(zx_vmar_map(sub, RW | ZX_VM_SPECIFIC, 0, vmo, 0, P, &x));
    EXPECT_STATUS(zx_vmar_protect(v, R, base, 3 * P), ZX_ERR_INVALID_ARGS);
    EXPECT_EQ(mapping_flags(base), RW);
    // Destroyed VMAR.
    EXPECT_OK(zx_vmar_destroy(sub));
    EXPECT_STATUS(zx_vmar_protect(sub, R, x, P), ZX_ERR_BAD_STATE);
    EXPECT_OK(zx_vmar_destroy(v));
    EXPECT_STATUS(zx_vmar_protect(v, R, base, P), ZX_ERR_BAD_STATE);
    // Handles.
    EXPECT_HANDLE_ERRORS(zx_vmar_protect(h, R, a, P));
    EXPECT_STATUS(zx_vmar_protect(vmo, R, a, P), ZX_ERR_WRONG_TYPE);
    // An unmapped range.
    ut_unmap(a, 2 * P);
    EXPECT_STATUS(protect(a, P, R), ZX_ERR_NOT_FOUND);
    zx_handle_close(sub);
    zx_handle_close(v);
    zx_handle_close(vmo);
}

// ---- The CPU sees the protections (child processes) ----

static int child_write_after_protect(int argc, char **argv) {
    (void)argc;
    (void)argv;
    zx_handle_t vmo = ut_vmo(P, 0);
    volatile uint8_t *p = (volatile uint8_t *)ut_map(vmo, 0, P, RW);
    if (!p)
        return 1;
    p[0] = 1;
    if (protect((uintptr_t)p, P, R) != ZX_OK)
        return 2;
    if (p[0] != 1)
        return 3;
    p[0] = 2;  // faults
    return 4;
}

static int child_read_after_protect_none(int argc, char **argv) {
    (void)argc;
    (void)argv;
    zx_handle_t vmo = ut_vmo(P, 5);
    volatile uint8_t *p = (volatile uint8_t *)ut_map(vmo, 0, P, RW);
    if (!p || protect((uintptr_t)p, P, 0) != ZX_OK)
        return 1;
    return p[0] == 5 ? 2 : 3;  // faults
}

static int child_exec_after_protect(int argc, char **argv) {
    (void)argc;
    (void)argv;
    zx_handle_t x = exec_vmo(ret7, sizeof(ret7));
    uintptr_t a = ut_map(x, 0, P, RX);
    if (!a)
        return 1;
    int (*fn)(void) = (int (*)(void))a;
    if (fn() != 7)
        return 2;
    if (protect(a, P, R) != ZX_OK)
        return 3;
    if (*(volatile uint8_t *)a != 0xb8)
        return 4;
    return fn() + 100;  // faults
}

static int child_write_after_upgrade(int argc, char **argv) {
    (void)argc;
    (void)argv;
    zx_handle_t vmo = ut_vmo(3 * P, 0);
    volatile uint8_t *p = (volatile uint8_t *)ut_map(vmo, 0, 3 * P, R);
    if (!p || p[0] != 0)
        return 1;
    if (protect((uintptr_t)p, 3 * P, RW) != ZX_OK)
        return 2;
    p[0] = 1;
    p[2 * P] = 3;
    if (ut_vmo_byte(vmo, 2 * P) != 3)
        return 3;
    return 0;
}

static int child_write_split_middle(int argc, char **argv) {
    (void)argc;
    (void)argv;
    zx_handle_t vmo = ut_vmo(3 * P, 0);
    volatile uint8_t *p = (volatile uint8_t *)ut_map(vmo, 0, 3 * P, RW);
    if (!p || protect((uintptr_t)p + P, P, R) != ZX_OK)
        return 1;
    p[0] = 1;
    p[2 * P] = 1;
    p[P] = 1;  // faults
    return 2;
}

TEST(cpu_write_after_protect_faults) {
    EXPECT_CHILD_FAULTS("write-after-protect", NULL);
}

TEST(cpu_read_after_protect_none_faults) {
    EXPECT_CHILD_FAULTS("read-after-protect-none", NULL);
}

TEST(cpu_exec_after_protect_faults) {
    EXPECT_CHILD_FAULTS("exec-after-protect", NULL);
}

TEST(cpu_write_after_upgrade_works) {
    EXPECT_EQ(ut_run_child("write-after-upgrade", NULL), 0);
}

TEST(cpu_write_split_middle_faults) {
    EXPECT_CHILD_FAULTS("write-split-middle", NULL);
}

static const struct ut_child children[] = {
    {"write-after-protect", child_write_after_protect},
    {"read-after-protect-none", child_read_after_protect_none},
    {"exec-after-protect", child_exec_after_protect},
    {"write-after-upgrade", child_write_after_upgrade},
    {"write-split-middle", child_write_split_middle},
    {NULL, NULL},
};
UTEST_MAIN(children)
