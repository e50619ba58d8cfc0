// The mapping layer through its own API (vm/vmar.h) and the fault path without user mode
// (vm_fault): every operation's edge cases and errors, splits and merges, destroy and
// BAD_STATE, op_range, range changes from the VMO layer, ZX_INFO_PROCESS_MAPS, page accounting,
// and a random sequence of allocate / map / unmap / protect / destroy / fault / decommit checked
// against an interval model, with vm_aspace_check and aspace_check_pagetable after every step.
// Pure: runs at boot over the real VMO layer and page tables, and natively over simulated RAM
// with a stand-in VMO layer (test/host/vmar_host_env.c).
#include <stdarg.h>
#include <zircon/syscalls.h>

#include "kernel/assert.h"
#include "kernel/ktest.h"
#include "kernel/printf.h"
#include "kernel/string.h"
#include "syscalls/user_copy.h"
#include "test/kernel/aspace_check.h"
#include "test/model_op.h"
#include "vm/physmap.h"
#include "vm/pmm.h"
#include "vm/vmar.h"
#include "vm/upcalls.h"
#include "vm/vmo.h"

#ifdef JASPER_KERNEL
#define MODEL_STEPS 1500
#else
#define MODEL_STEPS 25000
#endif

#define PG ((uint64_t)PAGE_SIZE)
#define R ZX_VM_PERM_READ
#define W ZX_VM_PERM_WRITE
#define X ZX_VM_PERM_EXECUTE
#define RWX (R | W | X)
#define CAN_RWX (ZX_VM_CAN_MAP_READ | ZX_VM_CAN_MAP_WRITE | ZX_VM_CAN_MAP_EXECUTE)

struct counts {
    size_t vmo, pt;
};

static void need_kernel_aspace(void);

static struct counts counts_now(void) {
    need_kernel_aspace();
    return (struct counts){pmm_count(PAGE_STATE_VMO), pmm_count(PAGE_STATE_PAGE_TABLE)};
}

static void need_kernel_aspace(void) {
    if (!arch_kernel_aspace.root)  // host tests start without the kernel's half
        ASSERT(arch_aspace_init_kernel() == ZX_OK);
}

static struct vm_aspace *new_aspace(struct vmar **root) {
    struct vm_aspace *as = NULL;
    need_kernel_aspace();
    ASSERT(vm_aspace_create("test", &as) == ZX_OK);
    *root = vm_aspace_root_vmar(as);
    return as;
}

static void end_aspace(struct vm_aspace *as, struct vmar *root) {
    vm_aspace_destroy(as);
    kobject_release(vmar_object(root));
}

static struct vmo *new_vmo(uint64_t size) {
    struct vmo *v = NULL;
    ASSERT(vmo_create(size, 0, &v) == ZX_OK);
    return v;
}

static void put_vmo(struct vmo *v) {
    kobject_release(vmo_object(v));
}

static bool checks(struct vm_aspace *as) {
    return vm_aspace_check(as) && aspace_check_pagetable(as, NULL);
}

static uint64_t read64_pa(paddr_t pa) {
    return *(volatile uint64_t *)paddr_to_kva(pa);
}

static struct vm_mapping *mapping_at(struct vm_aspace *as, vaddr_t va) {
    mutex_acquire(&as->lock);
    struct vm_mapping *m = vm_aspace_find_mapping_locked(as, va);
    mutex_release(&as->lock);
    return m;
}

// --- Creation, destruction, info ---

KTEST(vmar, create_destroy_returns_every_page) {
    struct counts c0 = counts_now();
    struct vmar *root;
    struct vm_aspace *as = new_aspace(&root);
    zx_info_vmar_t info;
    REQUIRE_OK(vmar_get_info(root, &info));
    EXPECT_EQ(info.base, USER_ASPACE_BASE);
    EXPECT_EQ(info.len, USER_ASPACE_END - USER_ASPACE_BASE);
    EXPECT_EQ(vmar_default_rights(root), ZX_DEFAULT_VMAR_RIGHTS | ZX_RIGHT_READ | ZX_RIGHT_WRITE |
                                             ZX_RIGHT_EXECUTE);
    // Map, touch, nest; then tear the whole space down at once.
    struct vmo *vmo = new_vmo(64 * PG);
    struct vmar *sub;
    REQUIRE_OK(vmar_allocate(root, CAN_RWX, 0, 1 << 20, &sub));
    vaddr_t a, b;
    REQUIRE_OK(vmar_map(root, R | W, 0, vmo, 0, 16 * PG, RWX, &a));
    REQUIRE_OK(vmar_map(sub, R | W, 0, vmo, 16 * PG, 16 * PG, RWX, &b));
    for (int i = 0; i < 16; i++) {
        EXPECT_OK(vm_fault(as, a + i * PG, VM_FAULT_WRITE, NULL));
        EXPECT_OK(vm_fault(as, b + i * PG, i & 1 ? VM_FAULT_WRITE : 0, NULL));
    }
    EXPECT_TRUE(checks(as));
    EXPECT_GT(pmm_count(PAGE_STATE_PAGE_TABLE), c0.pt + 3);
    end_aspace(as, root);
    // Handles that outlive the space see a destroyed VMAR.
    EXPECT_STATUS(vmar_get_info(sub, &info), ZX_ERR_BAD_STATE);
    EXPECT_STATUS(vmar_map(sub, R, 0, vmo, 0, PG, RWX, &a), ZX_ERR_BAD_STATE);
    EXPECT_STATUS(vmar_destroy(sub), ZX_ERR_BAD_STATE);
    kobject_release(vmar_object(sub));
    EXPECT_EQ(pmm_count(PAGE_STATE_PAGE_TABLE), c0.pt);
    put_vmo(vmo);
    EXPECT_EQ(pmm_count(PAGE_STATE_VMO), c0.vmo);
}

KTEST(vmar, get_maps_depth_first) {
    struct vmar *root;
    struct vm_aspace *as = new_aspace(&root);
    struct vmo *vmo = new_vmo(8 * PG);
    vmo_set_name(vmo, "data", 4);
    struct vmar *sub;
    REQUIRE_OK(vmar_allocate(root, CAN_RWX | ZX_VM_SPECIFIC | ZX_VM_CAN_MAP_SPECIFIC, 0x100000,
                             0x100000, &sub));
    vaddr_t a, b, c;
    EXPECT_STATUS(vmar_map(root, R, 0x300000, vmo, 0, 2 * PG, RWX, &a), ZX_ERR_INVALID_ARGS);
    REQUIRE_OK(vmar_map(root, R | ZX_VM_SPECIFIC, 0x300000, vmo, 0, 2 * PG, RWX, &a));
    REQUIRE_OK(vmar_map(sub, R | W | ZX_VM_SPECIFIC, 0x1000, vmo, 2 * PG, PG, RWX, &b));
    REQUIRE_OK(vmar_map(root, R | ZX_VM_SPECIFIC, 0x10000, vmo, 4 * PG, PG, RWX, &c));
    REQUIRE_OK(vmo_write(vmo, "x", 2 * PG, 1));
    zx_info_maps_t maps[8];
    size_t actual = 0, avail = 0;
    vm_aspace_get_maps(as, maps, 8, &actual, &avail);
    REQUIRE_EQ(avail, 6);
    REQUIRE_EQ(actual, 6);
    EXPECT_EQ(maps[0].type, ZX_INFO_MAPS_TYPE_ASPACE);
    EXPECT_EQ(maps[0].depth, 0);
    EXPECT_STREQ(maps[0].name, "test");
    EXPECT_EQ(maps[1].type, ZX_INFO_MAPS_TYPE_VMAR);
    EXPECT_EQ(maps[1].depth, 1);
    EXPECT_EQ(maps[1].base, USER_ASPACE_BASE);
    // Children in address order: the mapping at +0x10000, the sub-VMAR (and its mapping), then +0x300000.
    EXPECT_EQ(maps[2].type, ZX_INFO_MAPS_TYPE_MAPPING);
    EXPECT_EQ(maps[2].base, c);
    EXPECT_EQ(maps[2].depth, 2);
    EXPECT_EQ(maps[3].type, ZX_INFO_MAPS_TYPE_VMAR);
    EXPECT_EQ(maps[3].base, USER_ASPACE_BASE + 0x100000);
    EXPECT_EQ(maps[3].size, 0x100000);
    EXPECT_EQ(maps[4].type, ZX_INFO_MAPS_TYPE_MAPPING);
    EXPECT_EQ(maps[4].depth, 3);
    EXPECT_EQ(maps[4].base, b);
    EXPECT_EQ(maps[4].u.mapping.mmu_flags, R | W);
    EXPECT_EQ(maps[4].u.mapping.vmo_offset, 2 * PG);
    EXPECT_EQ(maps[4].u.mapping.vmo_koid, vmo_object(vmo)->koid);
    EXPECT_STREQ(maps[4].name, "data");
    EXPECT_EQ(maps[4].u.mapping.committed_pages, 1);
    EXPECT_EQ(maps[5].base, a);
    EXPECT_EQ(maps[5].size, 2 * PG);
    EXPECT_EQ(maps[5].depth, 2);
    // A short buffer: only what fits, the full count in avail.
    vm_aspace_get_maps(as, maps, 3, &actual, &avail);
    EXPECT_EQ(actual, 3);
    EXPECT_EQ(avail, 6);
    kobject_release(vmar_object(sub));
    end_aspace(as, root);
    put_vmo(vmo);
}

// --- allocate ---

KTEST(vmar, allocate_errors) {
    struct vmar *root;
    struct vm_aspace *as = new_aspace(&root);
    struct vmar *v = NULL, *ro = NULL;
    const uint64_t rsize = USER_ASPACE_END - USER_ASPACE_BASE;
    EXPECT_STATUS(vmar_allocate(root, CAN_RWX, 0, 0, &v), ZX_ERR_INVALID_ARGS);
    EXPECT_STATUS(vmar_allocate(root, CAN_RWX, 0, 0x1800, &v), ZX_ERR_INVALID_ARGS);
    EXPECT_STATUS(vmar_allocate(root, CAN_RWX, PG, PG, &v), ZX_ERR_INVALID_ARGS);
    EXPECT_STATUS(vmar_allocate(root, ZX_VM_PERM_READ, 0, PG, &v), ZX_ERR_INVALID_ARGS);
    EXPECT_STATUS(vmar_allocate(root, ZX_VM_SPECIFIC_OVERWRITE, 0, PG, &v), ZX_ERR_INVALID_ARGS);
    EXPECT_STATUS(vmar_allocate(root, ZX_VM_MAP_RANGE, 0, PG, &v), ZX_ERR_INVALID_ARGS);
    EXPECT_STATUS(vmar_allocate(root, 1u << 14, 0, PG, &v), ZX_ERR_INVALID_ARGS);
    EXPECT_STATUS(vmar_allocate(root, 9u << ZX_VM_ALIGN_BASE, 0, PG, &v), ZX_ERR_INVALID_ARGS);
    EXPECT_STATUS(vmar_allocate(root, 33u << ZX_VM_ALIGN_BASE, 0, PG, &v), ZX_ERR_INVALID_ARGS);
    EXPECT_STATUS(vmar_allocate(root, ZX_VM_SPECIFIC | ZX_VM_OFFSET_IS_UPPER_LIMIT, PG, PG, &v),
                  ZX_ERR_INVALID_ARGS);
    EXPECT_STATUS(vmar_allocate(root, ZX_VM_SPECIFIC, 0x800, PG, &v), ZX_ERR_INVALID_ARGS);
    EXPECT_STATUS(vmar_allocate(root, ZX_VM_SPECIFIC, rsize, PG, &v), ZX_ERR_INVALID_ARGS);
    EXPECT_STATUS(vmar_allocate(root, ZX_VM_SPECIFIC, rsize - PG, 2 * PG, &v),
                  ZX_ERR_INVALID_ARGS);
    EXPECT_STATUS(vmar_allocate(root, 0, 0, rsize + PG, &v), ZX_ERR_INVALID_ARGS);
    EXPECT_STATUS(vmar_allocate(root, ZX_VM_OFFSET_IS_UPPER_LIMIT, PG, 2 * PG, &v),
                  ZX_ERR_INVALID_ARGS);
    // Specific with an alignment the address does not have.
    EXPECT_STATUS(vmar_allocate(root, ZX_VM_SPECIFIC | ZX_VM_ALIGN_64KB, 0x1000, PG, &v),
                  ZX_ERR_INVALID_ARGS);
    // A read-only sub-VMAR cannot have writable or specific children.
    REQUIRE_OK(vmar_allocate(root, ZX_VM_CAN_MAP_READ, 0, 1 << 20, &ro));
    EXPECT_EQ(vmar_default_rights(ro), ZX_DEFAULT_VMAR_RIGHTS | ZX_RIGHT_READ);
    EXPECT_STATUS(vmar_allocate(ro, ZX_VM_CAN_MAP_WRITE, 0, PG, &v), ZX_ERR_ACCESS_DENIED);
    EXPECT_STATUS(vmar_allocate(ro, ZX_VM_SPECIFIC, 0, PG, &v), ZX_ERR_ACCESS_DENIED);
    EXPECT_STATUS(vmar_allocate(ro, ZX_VM_OFFSET_IS_UPPER_LIMIT, 2 * PG, PG, &v),
                  ZX_ERR_ACCESS_DENIED);
    // Full: one more page does not fit.
    struct vmar *a, *b;
    REQUIRE_OK(vmar_allocate(ro, ZX_VM_CAN_MAP_READ, 0, (1 << 20) - PG, &a));
    REQUIRE_OK(vmar_allocate(ro, 0, 0, PG, &b));
    EXPECT_STATUS(vmar_allocate(ro, 0, 0, PG, &v), ZX_ERR_NO_RESOURCES);
    // Specific over an existing child.
    EXPECT_STATUS(vmar_allocate(root, ZX_VM_SPECIFIC, vmar_base(ro) - USER_ASPACE_BASE, PG, &v),
                  ZX_ERR_ALREADY_EXISTS);
    REQUIRE_OK(vmar_destroy(ro));
    EXPECT_STATUS(vmar_allocate(ro, 0, 0, PG, &v), ZX_ERR_BAD_STATE);
    EXPECT_STATUS(vmar_allocate(a, 0, 0, PG, &v), ZX_ERR_BAD_STATE);
    EXPECT_STATUS(vmar_destroy(root), ZX_ERR_NOT_SUPPORTED);
    kobject_release(vmar_object(a));
    kobject_release(vmar_object(b));
    kobject_release(vmar_object(ro));
    end_aspace(as, root);
}

KTEST(vmar, allocate_placement) {
    struct vmar *root;
    struct vm_aspace *as = new_aspace(&root);
    struct vmar *v[8];
    // Specific, aligned, compact, upper limit.
    REQUIRE_OK(vmar_allocate(root, CAN_RWX | ZX_VM_SPECIFIC | ZX_VM_CAN_MAP_SPECIFIC, 0x40000000,
                             0x40000000, &v[0]));
    EXPECT_EQ(vmar_base(v[0]), USER_ASPACE_BASE + 0x40000000);
    REQUIRE_OK(vmar_allocate(v[0], ZX_VM_ALIGN_1GB, 0, 0x1000, &v[1]));
    EXPECT_TRUE(IS_ALIGNED(vmar_base(v[1]), 1ull << 30));
    REQUIRE_OK(vmar_allocate(v[0], ZX_VM_ALIGN_2MB, 0, 0x200000, &v[2]));
    EXPECT_TRUE(IS_ALIGNED(vmar_base(v[2]), 0x200000));
    REQUIRE_OK(vmar_allocate(v[0], ZX_VM_OFFSET_IS_UPPER_LIMIT, 0x100000, 0x10000, &v[3]));
    EXPECT_LE(vmar_base(v[3]) + 0x10000, vmar_base(v[0]) + 0x100000);
    EXPECT_GE(vmar_base(v[3]), vmar_base(v[0]));
    // A compact VMAR keeps its children near its bottom.
    REQUIRE_OK(vmar_allocate(root, CAN_RWX | ZX_VM_COMPACT, 0, 1ull << 40, &v[4]));
    REQUIRE_OK(vmar_allocate(v[4], 0, 0, PG, &v[5]));
    EXPECT_LT(vmar_base(v[5]) - vmar_base(v[4]), 256 * PG);
    // Random placement differs between two fresh address spaces (with overwhelming probability).
    struct vmar *root2;
    struct vm_aspace *as2 = new_aspace(&root2);
    REQUIRE_OK(vmar_allocate(root2, 0, 0, PG, &v[6]));
    REQUIRE_OK(vmar_allocate(root, 0, 0, PG, &v[7]));
    EXPECT_NE(vmar_base(v[6]), vmar_base(v[7]));
    // Without ASLR: lowest first fit.
    as2->aslr = false;
    struct vmar *low;
    REQUIRE_OK(vmar_allocate(root2, 0, 0, 2 * PG, &low));
    EXPECT_EQ(vmar_base(low), USER_ASPACE_BASE);
    kobject_release(vmar_object(low));
    EXPECT_TRUE(vm_aspace_check(as) && vm_aspace_check(as2));
    for (int i = 0; i < 8; i++)
        kobject_release(vmar_object(v[i]));
    end_aspace(as2, root2);
    end_aspace(as, root);
}

// --- map ---

KTEST(vmar, map_errors) {
    struct vmar *root;
    struct vm_aspace *as = new_aspace(&root);
    struct vmo *vmo = new_vmo(4 * PG);
    vaddr_t a = 0;
    EXPECT_STATUS(vmar_map(root, W, 0, vmo, 0, PG, RWX, &a), ZX_ERR_INVALID_ARGS);
    EXPECT_STATUS(vmar_map(root, X, 0, vmo, 0, PG, RWX, &a), ZX_ERR_INVALID_ARGS);
    EXPECT_STATUS(vmar_map(root, R, 0, vmo, 0, 0, RWX, &a), ZX_ERR_INVALID_ARGS);
    EXPECT_STATUS(vmar_map(root, R, 0, vmo, 0, UINT64_MAX, RWX, &a), ZX_ERR_OUT_OF_RANGE);
    EXPECT_STATUS(vmar_map(root, R, 0, vmo, 0x800, PG, RWX, &a), ZX_ERR_INVALID_ARGS);
    EXPECT_STATUS(vmar_map(root, R, PG, vmo, 0, PG, RWX, &a), ZX_ERR_INVALID_ARGS);
    EXPECT_STATUS(vmar_map(root, R | ZX_VM_SPECIFIC, 0x800, vmo, 0, PG, RWX, &a),
                  ZX_ERR_INVALID_ARGS);
    EXPECT_STATUS(vmar_map(root, R | ZX_VM_COMPACT, 0, vmo, 0, PG, RWX, &a), ZX_ERR_INVALID_ARGS);
    EXPECT_STATUS(vmar_map(root, R | ZX_VM_CAN_MAP_READ, 0, vmo, 0, PG, RWX, &a),
                  ZX_ERR_INVALID_ARGS);
    EXPECT_STATUS(vmar_map(root, R | ZX_VM_SPECIFIC_OVERWRITE | ZX_VM_MAP_RANGE, 0, vmo, 0, PG,
                           RWX, &a),
                  ZX_ERR_INVALID_ARGS);
    EXPECT_STATUS(vmar_map(root, R | ZX_VM_SPECIFIC | ZX_VM_OFFSET_IS_UPPER_LIMIT, PG, vmo, 0,
                           PG, RWX, &a),
                  ZX_ERR_INVALID_ARGS);
    EXPECT_STATUS(vmar_map(root, R, 0, vmo, UINT64_MAX & ~(PG - 1), 2 * PG, RWX, &a),
                  ZX_ERR_OUT_OF_RANGE);
    EXPECT_STATUS(vmar_map(root, R | W, 0, vmo, 0, PG, R, &a), ZX_ERR_ACCESS_DENIED);
    EXPECT_STATUS(vmar_map(root, R | X, 0, vmo, 0, PG, R | W, &a), ZX_ERR_ACCESS_DENIED);
    // Specific: outside the VMAR, overlapping, misaligned for the requested alignment.
    const uint64_t rsize = USER_ASPACE_END - USER_ASPACE_BASE;
    EXPECT_STATUS(vmar_map(root, R | ZX_VM_SPECIFIC, rsize, vmo, 0, PG, RWX, &a),
                  ZX_ERR_INVALID_ARGS);
    EXPECT_STATUS(vmar_map(root, R | ZX_VM_SPECIFIC, rsize - PG, vmo, 0, 2 * PG, RWX, &a),
                  ZX_ERR_INVALID_ARGS);
    EXPECT_STATUS(vmar_map(root, R | ZX_VM_SPECIFIC | ZX_VM_ALIGN_64KB, PG, vmo, 0, PG, RWX, &a),
                  ZX_ERR_INVALID_ARGS);
    REQUIRE_OK(vmar_map(root, R | ZX_VM_SPECIFIC, 0x10000, vmo, 0, 4 * PG, RWX, &a));
    EXPECT_EQ(a, USER_ASPACE_BASE + 0x10000);
    EXPECT_STATUS(vmar_map(root, R | ZX_VM_SPECIFIC, 0x13000, vmo, 0, 4 * PG, RWX, &a),
                  ZX_ERR_ALREADY_EXISTS);
    // A VMAR without CAN_MAP_WRITE/SPECIFIC.
    struct vmar *ro;
    REQUIRE_OK(vmar_allocate(root, ZX_VM_CAN_MAP_READ, 0, 1 << 20, &ro));
    EXPECT_STATUS(vmar_map(ro, R | W, 0, vmo, 0, PG, RWX, &a), ZX_ERR_ACCESS_DENIED);
    EXPECT_STATUS(vmar_map(ro, R | ZX_VM_SPECIFIC, 0, vmo, 0, PG, RWX, &a),
                  ZX_ERR_ACCESS_DENIED);
    EXPECT_STATUS(vmar_map(ro, R | ZX_VM_SPECIFIC_OVERWRITE, 0, vmo, 0, PG, RWX, &a),
                  ZX_ERR_ACCESS_DENIED);
    // Room for 256 one-page mappings exactly.
    for (int i = 0; i < 256; i++)
        REQUIRE_OK(vmar_map(ro, R, 0, vmo, 0, PG, RWX, &a));
    EXPECT_STATUS(vmar_map(ro, R, 0, vmo, 0, PG, RWX, &a), ZX_ERR_NO_RESOURCES);
    // Only READ can ever be granted there: max_perms is capped by the VMAR.
    struct vm_mapping *m = mapping_at(as, a);
    REQUIRE_TRUE(m != NULL);
    EXPECT_EQ(m->max_perms, R);
    EXPECT_STATUS(vmar_protect(ro, R | W, a, PG), ZX_ERR_ACCESS_DENIED);
    REQUIRE_OK(vmar_destroy(ro));
    EXPECT_STATUS(vmar_map(ro, R, 0, vmo, 0, PG, RWX, &a), ZX_ERR_BAD_STATE);
    kobject_release(vmar_object(ro));
    EXPECT_TRUE(checks(as));
    end_aspace(as, root);
    put_vmo(vmo);
}

KTEST(vmar, map_holds_its_own_vmo_reference) {
    struct vmar *root;
    struct vm_aspace *as = new_aspace(&root);
    struct counts c0 = counts_now();
    struct vmo *vmo = new_vmo(2 * PG);
    vaddr_t a;
    REQUIRE_OK(vmar_map(root, R | W, 0, vmo, 0, 2 * PG, RWX, &a));
    put_vmo(vmo);  // the "handle" goes; the mapping keeps the VMO alive
    EXPECT_OK(vm_fault(as, a, VM_FAULT_WRITE, NULL));
    paddr_t pa;
    REQUIRE_TRUE(aspace_check_pte(as, a, &pa, NULL));
    *(volatile uint64_t *)paddr_to_kva(pa) = 0x1234;
    EXPECT_OK(vm_fault(as, a + PG, 0, NULL));
    EXPECT_TRUE(checks(as));
    REQUIRE_OK(vmar_unmap(root, a, 2 * PG));
    EXPECT_EQ(pmm_count(PAGE_STATE_VMO), c0.vmo);
    end_aspace(as, root);
}

KTEST(vmar, map_specific_overwrite) {
    struct vmar *root;
    struct vm_aspace *as = new_aspace(&root);
    struct vmo *v1 = new_vmo(16 * PG), *v2 = new_vmo(16 * PG);
    const uint64_t off = 0x200000;
    const vaddr_t base = USER_ASPACE_BASE + off;
    vaddr_t a;
    REQUIRE_OK(vmar_map(root, R | W | ZX_VM_SPECIFIC, off, v1, 0, 16 * PG, RWX, &a));
    for (int i = 0; i < 16; i++)
        REQUIRE_OK(vm_fault(as, base + i * PG, VM_FAULT_WRITE, NULL));
    // Replace pages 4..7 in the middle: v1 is split around the new mapping.
    REQUIRE_OK(vmar_map(root, R | ZX_VM_SPECIFIC_OVERWRITE, off + 4 * PG, v2, 0, 4 * PG, RWX, &a));
    EXPECT_EQ(a, base + 4 * PG);
    struct vm_mapping *m0 = mapping_at(as, base), *m1 = mapping_at(as, base + 4 * PG),
                      *m2 = mapping_at(as, base + 8 * PG);
    REQUIRE_TRUE(m0 && m1 && m2);
    EXPECT_TRUE(m0->vmo == v1 && m1->vmo == v2 && m2->vmo == v1);
    EXPECT_EQ(vm_region_size(&m0->r), 4 * PG);
    EXPECT_EQ(m2->vmo_offset, 8 * PG);
    EXPECT_FALSE(aspace_check_pte(as, base + 4 * PG, NULL, NULL));
    EXPECT_TRUE(aspace_check_pte(as, base + 3 * PG, NULL, NULL));
    EXPECT_TRUE(aspace_check_pte(as, base + 8 * PG, NULL, NULL));
    // Overwrite across the end of one and the start of another, and over a gap.
    REQUIRE_OK(vmar_map(root, R | ZX_VM_SPECIFIC_OVERWRITE, off + 2 * PG, v2, 0, 32 * PG, RWX, &a));
    EXPECT_EQ(vm_region_size(&mapping_at(as, base)->r), 2 * PG);
    // Not over a sub-VMAR, even wholly covered: nothing changes.
    struct vmar *sub;
    REQUIRE_OK(vmar_allocate(root, ZX_VM_SPECIFIC, off + 0x100000, 0x10000, &sub));
    EXPECT_STATUS(vmar_map(root, R | ZX_VM_SPECIFIC_OVERWRITE, off, v1, 0, 0x200000, RWX, &a),
                  ZX_ERR_INVALID_ARGS);
    EXPECT_EQ(vm_region_size(&mapping_at(as, base)->r), 2 * PG);
    EXPECT_TRUE(checks(as));
    kobject_release(vmar_object(sub));
    end_aspace(as, root);
    put_vmo(v1);
    put_vmo(v2);
}

KTEST(vmar, map_range_maps_committed_pages_only) {
    struct vmar *root;
    struct vm_aspace *as = new_aspace(&root);
    struct vmo *vmo = new_vmo(8 * PG);
    uint64_t x = 0xabcdef;
    REQUIRE_OK(vmo_write(vmo, &x, 2 * PG, sizeof(x)));
    REQUIRE_OK(vmo_write(vmo, &x, 5 * PG, sizeof(x)));
    vaddr_t a;
    REQUIRE_OK(vmar_map(root, R | W | ZX_VM_MAP_RANGE, 0, vmo, 0, 8 * PG, RWX, &a));
    for (int i = 0; i < 8; i++) {
        paddr_t pa;
        bool present = aspace_check_pte(as, a + i * PG, &pa, NULL);
        EXPECT_EQ(present, i == 2 || i == 5);
        if (present)
            EXPECT_EQ(read64_pa(pa), x);
    }
    EXPECT_TRUE(checks(as));
    // op_range MAP_RANGE after more commits.
    REQUIRE_OK(vmo_write(vmo, &x, 7 * PG, sizeof(x)));
    REQUIRE_OK(vmar_op_range(root, ZX_VMAR_OP_MAP_RANGE, a, 8 * PG, ZX_RIGHT_READ));
    EXPECT_TRUE(aspace_check_pte(as, a + 7 * PG, NULL, NULL));
    EXPECT_FALSE(aspace_check_pte(as, a + 6 * PG, NULL, NULL));
    EXPECT_TRUE(checks(as));
    end_aspace(as, root);
    put_vmo(vmo);
}

KTEST(vmar, map_upper_limit) {
    struct vmar *root;
    struct vm_aspace *as = new_aspace(&root);
    struct vmo *vmo = new_vmo(PG);
    for (int i = 0; i < 32; i++) {
        vaddr_t a;
        REQUIRE_OK(vmar_map(root, R | ZX_VM_OFFSET_IS_UPPER_LIMIT, 0x100000, vmo, 0, PG, RWX, &a));
        EXPECT_LT(a, USER_ASPACE_BASE + 0x100000);
    }
    vaddr_t a;
    EXPECT_STATUS(vmar_map(root, R | ZX_VM_OFFSET_IS_UPPER_LIMIT, 0x1000, vmo, 0, 2 * PG, RWX, &a),
                  ZX_ERR_INVALID_ARGS);
    EXPECT_TRUE(checks(as));
    end_aspace(as, root);
    put_vmo(vmo);
}

// --- unmap ---

KTEST(vmar, unmap_splits_spans_gaps_and_destroys_subregions) {
    struct vmar *root;
    struct vm_aspace *as = new_aspace(&root);
    struct vmo *vmo = new_vmo(64 * PG);
    const uint64_t off = 0x400000;
    const vaddr_t base = USER_ASPACE_BASE + off;
    vaddr_t a;
    REQUIRE_OK(vmar_map(root, R | W | ZX_VM_SPECIFIC, off, vmo, 0, 32 * PG, RWX, &a));
    for (int i = 0; i < 32; i++)
        REQUIRE_OK(vm_fault(as, base + i * PG, VM_FAULT_WRITE, NULL));
    // A hole in the middle: two mappings with the right offsets, PTEs gone only in the hole.
    REQUIRE_OK(vmar_unmap(root, base + 8 * PG, 4 * PG));
    struct vm_mapping *lo = mapping_at(as, base), *hi = mapping_at(as, base + 12 * PG);
    REQUIRE_TRUE(lo && hi && lo != hi);
    EXPECT_EQ(vm_region_size(&lo->r), 8 * PG);
    EXPECT_EQ(hi->vmo_offset, 12 * PG);
    EXPECT_EQ(vm_region_size(&hi->r), 20 * PG);
    EXPECT_TRUE(mapping_at(as, base + 8 * PG) == NULL);
    for (int i = 0; i < 32; i++)
        EXPECT_EQ(aspace_check_pte(as, base + i * PG, NULL, NULL), i < 8 || i >= 12);
    EXPECT_TRUE(checks(as));
    // Trim the head of one and the tail of the other, spanning the hole.
    REQUIRE_OK(vmar_unmap(root, base + 6 * PG, 8 * PG));
    EXPECT_EQ(vm_region_size(&lo->r), 6 * PG);
    EXPECT_EQ(vm_region_base(&hi->r), base + 14 * PG);
    EXPECT_EQ(hi->vmo_offset, 14 * PG);
    // Unmapping nothing at all is fine.
    REQUIRE_OK(vmar_unmap(root, base + 0x100000, PG));
    // A sub-VMAR: partly covered is refused, wholly covered goes (with its handles dead).
    struct vmar *sub;
    REQUIRE_OK(vmar_allocate(root, CAN_RWX | ZX_VM_SPECIFIC, off + 0x100000, 0x10000, &sub));
    REQUIRE_OK(vmar_map(sub, R, 0, vmo, 0, PG, RWX, &a));
    EXPECT_STATUS(vmar_unmap(root, base, 0x100000 + PG), ZX_ERR_INVALID_ARGS);
    EXPECT_EQ(vm_region_size(&lo->r), 6 * PG);  // nothing changed
    REQUIRE_OK(vmar_unmap(root, base, 0x200000));
    EXPECT_STATUS(vmar_map(sub, R, 0, vmo, 0, PG, RWX, &a), ZX_ERR_BAD_STATE);
    EXPECT_TRUE(mapping_at(as, base) == NULL);
    size_t present = 1;
    EXPECT_TRUE(aspace_check_pagetable(as, &present));
    EXPECT_EQ(present, 0);
    // Arguments.
    EXPECT_STATUS(vmar_unmap(root, base + 1, PG), ZX_ERR_INVALID_ARGS);
    EXPECT_STATUS(vmar_unmap(root, base, 0), ZX_ERR_INVALID_ARGS);
    EXPECT_STATUS(vmar_unmap(root, USER_ASPACE_BASE - PG, 2 * PG), ZX_ERR_INVALID_ARGS);
    EXPECT_STATUS(vmar_unmap(sub, vmar_base(sub), PG), ZX_ERR_BAD_STATE);
    kobject_release(vmar_object(sub));
    end_aspace(as, root);
    put_vmo(vmo);
}

KTEST(vmar, unmap_frees_page_tables) {
    struct vmar *root;
    struct vm_aspace *as = new_aspace(&root);
    size_t pt0 = pmm_count(PAGE_STATE_PAGE_TABLE);
    struct vmo *vmo = new_vmo(PG);
    vaddr_t a;
    REQUIRE_OK(vmar_map(root, R, 0, vmo, 0, PG, RWX, &a));
    REQUIRE_OK(vm_fault(as, a, 0, NULL));
    EXPECT_GT(pmm_count(PAGE_STATE_PAGE_TABLE), pt0);
    REQUIRE_OK(vmar_unmap(root, a, PG));
    EXPECT_EQ(pmm_count(PAGE_STATE_PAGE_TABLE), pt0);
    end_aspace(as, root);
    put_vmo(vmo);
}

// --- protect ---

KTEST(vmar, protect_splits_merges_and_checks) {
    struct vmar *root;
    struct vm_aspace *as = new_aspace(&root);
    struct vmo *vmo = new_vmo(16 * PG);
    const uint64_t off = 0x800000;
    const vaddr_t base = USER_ASPACE_BASE + off;
    vaddr_t a;
    REQUIRE_OK(vmar_map(root, R | W | ZX_VM_SPECIFIC, off, vmo, 0, 16 * PG, R | W, &a));
    for (int i = 0; i < 16; i++)
        REQUIRE_OK(vm_fault(as, base + i * PG, i < 8 ? VM_FAULT_WRITE : 0, NULL));
    // Read-only in the middle: three mappings; PTEs there lose WRITE.
    REQUIRE_OK(vmar_protect(root, R, base + 4 * PG, 4 * PG));
    struct vm_mapping *m = mapping_at(as, base + 4 * PG);
    REQUIRE_TRUE(m != NULL);
    EXPECT_EQ(vm_region_base(&m->r), base + 4 * PG);
    EXPECT_EQ(vm_region_size(&m->r), 4 * PG);
    EXPECT_EQ(m->perms, R);
    EXPECT_EQ(m->vmo_offset, 4 * PG);
    uint32_t f;
    REQUIRE_TRUE(aspace_check_pte(as, base + 5 * PG, NULL, &f));
    EXPECT_FALSE(f & ARCH_MMU_FLAG_WRITE);
    REQUIRE_TRUE(aspace_check_pte(as, base + 3 * PG, NULL, &f));
    EXPECT_TRUE(f & ARCH_MMU_FLAG_WRITE);
    EXPECT_TRUE(checks(as));
    // A write there is refused; reads work.
    EXPECT_STATUS(vm_fault(as, base + 5 * PG, VM_FAULT_WRITE, NULL), ZX_ERR_ACCESS_DENIED);
    EXPECT_OK(vm_fault(as, base + 5 * PG, 0, NULL));
    // Back to R|W: the three pieces merge into one mapping again; PTEs stay read-only until a
    // write fault upgrades them.
    REQUIRE_OK(vmar_protect(root, R | W, base + 4 * PG, 4 * PG));
    m = mapping_at(as, base);
    EXPECT_EQ(vm_region_size(&m->r), 16 * PG);
    REQUIRE_TRUE(aspace_check_pte(as, base + 5 * PG, NULL, &f));
    EXPECT_FALSE(f & ARCH_MMU_FLAG_WRITE);
    EXPECT_OK(vm_fault(as, base + 5 * PG, VM_FAULT_WRITE, NULL));
    REQUIRE_TRUE(aspace_check_pte(as, base + 5 * PG, NULL, &f));
    EXPECT_TRUE(f & ARCH_MMU_FLAG_WRITE);
    // Never above what the mapping was created with.
    EXPECT_STATUS(vmar_protect(root, R | X, base, PG), ZX_ERR_ACCESS_DENIED);
    // PERM 0 (no access): every PTE goes, every access faults.
    REQUIRE_OK(vmar_protect(root, 0, base, 2 * PG));
    EXPECT_FALSE(aspace_check_pte(as, base, NULL, NULL));
    EXPECT_STATUS(vm_fault(as, base, 0, NULL), ZX_ERR_ACCESS_DENIED);
    EXPECT_TRUE(checks(as));
    // A gap or a sub-VMAR in the range: nothing changes.
    REQUIRE_OK(vmar_unmap(root, base + 10 * PG, PG));
    EXPECT_STATUS(vmar_protect(root, R, base + 8 * PG, 4 * PG), ZX_ERR_NOT_FOUND);
    EXPECT_STATUS(vmar_protect(root, R, base + 10 * PG, PG), ZX_ERR_NOT_FOUND);
    EXPECT_STATUS(vmar_protect(root, R, base + 15 * PG, 2 * PG), ZX_ERR_NOT_FOUND);
    EXPECT_EQ(mapping_at(as, base + 8 * PG)->perms, R | W);
    // A sub-VMAR: empty, it is a gap; with a mapping in it, INVALID_ARGS (protect changes this
    // VMAR's own mappings) -- unless the perms are beyond that mapping's max_perms.
    struct vmar *sub;
    REQUIRE_OK(vmar_allocate(root, CAN_RWX | ZX_VM_SPECIFIC | ZX_VM_CAN_MAP_SPECIFIC, off + 16 * PG,
                             PG, &sub));
    EXPECT_STATUS(vmar_protect(root, R, base + 11 * PG, 6 * PG), ZX_ERR_NOT_FOUND);
    REQUIRE_OK(vmar_map(sub, R | ZX_VM_SPECIFIC, 0, vmo, 0, PG, R, &a));
    EXPECT_STATUS(vmar_protect(root, R, base + 11 * PG, 6 * PG), ZX_ERR_INVALID_ARGS);
    EXPECT_STATUS(vmar_protect(root, R | W, base + 11 * PG, 6 * PG), ZX_ERR_ACCESS_DENIED);
    EXPECT_EQ(mapping_at(as, base + 11 * PG)->perms, R | W);
    // Arguments.
    EXPECT_STATUS(vmar_protect(root, W, base, PG), ZX_ERR_INVALID_ARGS);
    EXPECT_STATUS(vmar_protect(root, R | ZX_VM_SPECIFIC, base, PG), ZX_ERR_INVALID_ARGS);
    EXPECT_STATUS(vmar_protect(root, R, base + 1, PG), ZX_ERR_INVALID_ARGS);
    EXPECT_STATUS(vmar_protect(root, R, base, 0), ZX_ERR_INVALID_ARGS);
    REQUIRE_OK(vmar_destroy(sub));
    EXPECT_STATUS(vmar_protect(sub, R, vmar_base(sub), PG), ZX_ERR_BAD_STATE);
    EXPECT_TRUE(checks(as));
    kobject_release(vmar_object(sub));
    end_aspace(as, root);
    put_vmo(vmo);
}

// --- destroy ---

KTEST(vmar, destroy_nested) {
    struct vmar *root;
    struct vm_aspace *as = new_aspace(&root);
    struct counts c0 = counts_now();
    struct vmo *vmo = new_vmo(4 * PG);
    struct vmar *v[6];
    v[0] = root;
    // A chain five deep, with a mapping at each level.
    for (int i = 1; i < 6; i++) {
        REQUIRE_OK(vmar_allocate(v[i - 1], CAN_RWX, 0, (64 >> (i - 1)) * 0x100000, &v[i]));
        vaddr_t a;
        REQUIRE_OK(vmar_map(v[i], R | W, 0, vmo, 0, PG, RWX, &a));
        REQUIRE_OK(vm_fault(as, a, VM_FAULT_WRITE, NULL));
    }
    EXPECT_TRUE(checks(as));
    REQUIRE_OK(vmar_destroy(v[2]));
    for (int i = 2; i < 6; i++)
        EXPECT_STATUS(vmar_destroy(v[i]), ZX_ERR_BAD_STATE);
    zx_info_vmar_t info;
    EXPECT_OK(vmar_get_info(v[1], &info));
    size_t present = 0;
    EXPECT_TRUE(aspace_check_pagetable(as, &present));
    EXPECT_EQ(present, 1);
    EXPECT_TRUE(vm_aspace_check(as));
    for (int i = 1; i < 6; i++)
        kobject_release(vmar_object(v[i]));
    end_aspace(as, root);
    put_vmo(vmo);
    EXPECT_EQ(pmm_count(PAGE_STATE_VMO), c0.vmo);
}

// --- op_range ---

KTEST(vmar, op_range_commit_decommit) {
    struct vmar *root;
    struct vm_aspace *as = new_aspace(&root);
    struct counts c0 = counts_now();
    struct vmo *vmo = new_vmo(8 * PG);
    const uint64_t off = 0x1000000;
    const vaddr_t base = USER_ASPACE_BASE + off;
    vaddr_t a;
    // Two mappings back to back, the second reaching past the VMO's end.
    REQUIRE_OK(vmar_map(root, R | W | ZX_VM_SPECIFIC, off, vmo, 0, 4 * PG, RWX, &a));
    REQUIRE_OK(vmar_map(root, R | W | ZX_VM_SPECIFIC, off + 4 * PG, vmo, 4 * PG, 8 * PG, RWX, &a));
    const zx_rights_t rw = ZX_RIGHT_READ | ZX_RIGHT_WRITE;
    REQUIRE_OK(vmar_op_range(root, ZX_VMAR_OP_COMMIT, base, 12 * PG, rw));
    EXPECT_EQ(pmm_count(PAGE_STATE_VMO), c0.vmo + 8);
    for (int i = 0; i < 8; i++)
        REQUIRE_OK(vm_fault(as, base + i * PG, 0, NULL));
    EXPECT_TRUE(checks(as));
    REQUIRE_OK(vmar_op_range(root, ZX_VMAR_OP_DECOMMIT, base + 2 * PG, 4 * PG, rw));
    EXPECT_EQ(pmm_count(PAGE_STATE_VMO), c0.vmo + 4);
    EXPECT_FALSE(aspace_check_pte(as, base + 3 * PG, NULL, NULL));
    EXPECT_TRUE(aspace_check_pte(as, base + 1 * PG, NULL, NULL));
    EXPECT_TRUE(checks(as));
    // Errors.
    EXPECT_STATUS(vmar_op_range(root, 99, base, PG, rw), ZX_ERR_INVALID_ARGS);
    EXPECT_STATUS(vmar_op_range(root, ZX_VMAR_OP_COMMIT, base, 0, rw), ZX_ERR_INVALID_ARGS);
    EXPECT_STATUS(vmar_op_range(root, ZX_VMAR_OP_COMMIT, base + 1, PG, rw), ZX_ERR_INVALID_ARGS);
    EXPECT_STATUS(vmar_op_range(root, ZX_VMAR_OP_COMMIT, base, PG, ZX_RIGHT_READ),
                  ZX_ERR_ACCESS_DENIED);
    EXPECT_STATUS(vmar_op_range(root, ZX_VMAR_OP_COMMIT, base, 13 * PG, rw), ZX_ERR_BAD_STATE);
    EXPECT_STATUS(vmar_op_range(root, ZX_VMAR_OP_COMMIT, base - PG, 2 * PG, rw), ZX_ERR_BAD_STATE);
    EXPECT_STATUS(vmar_op_range(root, ZX_VMAR_OP_COMMIT, USER_ASPACE_BASE - PG, 2 * PG, rw),
                  ZX_ERR_OUT_OF_RANGE);
    // A read-only mapping (its handles had no WRITE).
    REQUIRE_OK(vmar_map(root, R | ZX_VM_SPECIFIC, off + 12 * PG, vmo, 0, PG, R, &a));
    EXPECT_STATUS(vmar_op_range(root, ZX_VMAR_OP_COMMIT, base + 11 * PG, 2 * PG, rw),
                  ZX_ERR_ACCESS_DENIED);
    EXPECT_OK(vmar_op_range(root, ZX_VMAR_OP_MAP_RANGE, base + 11 * PG, 2 * PG, ZX_RIGHT_READ));
    EXPECT_STATUS(vmar_op_range(root, ZX_VMAR_OP_MAP_RANGE, base + 11 * PG, 2 * PG, 0),
                  ZX_ERR_ACCESS_DENIED);  // MAP_RANGE needs READ
    // Only on mappings directly in the VMAR: one in a nested VMAR is INVALID_ARGS from the
    // outer VMAR, and works through the nested one.
    struct vmar *sub;
    REQUIRE_OK(vmar_allocate(root, CAN_RWX | ZX_VM_SPECIFIC | ZX_VM_CAN_MAP_SPECIFIC,
                             off + 13 * PG, 4 * PG, &sub));
    REQUIRE_OK(vmar_map(sub, R | W | ZX_VM_SPECIFIC, 0, vmo, 0, 4 * PG, RWX, &a));
    EXPECT_STATUS(vmar_op_range(root, ZX_VMAR_OP_DECOMMIT, base + 13 * PG, 4 * PG, rw),
                  ZX_ERR_INVALID_ARGS);
    EXPECT_STATUS(vmar_op_range(root, ZX_VMAR_OP_MAP_RANGE, base + 13 * PG, PG, rw),
                  ZX_ERR_INVALID_ARGS);
    EXPECT_EQ(pmm_count(PAGE_STATE_VMO), c0.vmo + 4);
    EXPECT_OK(vmar_op_range(sub, ZX_VMAR_OP_DECOMMIT, base + 13 * PG, 4 * PG, rw));
    EXPECT_EQ(pmm_count(PAGE_STATE_VMO), c0.vmo + 2);
    REQUIRE_OK(vmar_destroy(sub));
    EXPECT_STATUS(vmar_op_range(sub, ZX_VMAR_OP_COMMIT, vmar_base(sub), PG, rw), ZX_ERR_BAD_STATE);
    kobject_release(vmar_object(sub));
    EXPECT_TRUE(checks(as));
    end_aspace(as, root);
    put_vmo(vmo);
    EXPECT_EQ(pmm_count(PAGE_STATE_VMO), c0.vmo);
}

// --- Faults ---

KTEST(vmar, fault_zero_page_then_upgrade) {
    struct vmar *root;
    struct vm_aspace *as = new_aspace(&root);
    struct counts c0 = counts_now();
    struct vmo *vmo = new_vmo(4 * PG);
    vaddr_t a;
    REQUIRE_OK(vmar_map(root, R | W, 0, vmo, 0, 4 * PG, RWX, &a));
    // A read of zero content maps the shared zero page read-only and commits nothing.
    REQUIRE_OK(vm_fault(as, a + 100, 0, NULL));
    paddr_t zp, pa;
    uint32_t f;
    REQUIRE_TRUE(aspace_check_pte(as, a, &zp, &f));
    EXPECT_EQ(pmm_page_from_paddr(zp)->state, PAGE_STATE_ZERO);
    EXPECT_FALSE(f & ARCH_MMU_FLAG_WRITE);
    EXPECT_TRUE(f & ARCH_MMU_FLAG_USER);
    EXPECT_EQ(pmm_count(PAGE_STATE_VMO), c0.vmo);
    // A second page reads the same zero page.
    REQUIRE_OK(vm_fault(as, a + PG, 0, NULL));
    REQUIRE_TRUE(aspace_check_pte(as, a + PG, &pa, NULL));
    EXPECT_EQ(pa, zp);
    // The write fault replaces it with a fresh zeroed page of the VMO's own, writable.
    REQUIRE_OK(vm_fault(as, a + 8, VM_FAULT_WRITE, NULL));
    REQUIRE_TRUE(aspace_check_pte(as, a, &pa, &f));
    EXPECT_NE(pa, zp);
    EXPECT_TRUE(f & ARCH_MMU_FLAG_WRITE);
    EXPECT_EQ(read64_pa(pa), 0);
    EXPECT_EQ(pmm_count(PAGE_STATE_VMO), c0.vmo + 1);
    *(volatile uint64_t *)paddr_to_kva(pa) = 0x5151;
    uint64_t got = 0;
    REQUIRE_OK(vmo_read(vmo, &got, 0, sizeof(got)));
    EXPECT_EQ(got, 0x5151);
    // A page the VMO already has is mapped writable on a read fault.
    uint64_t x = 77;
    REQUIRE_OK(vmo_write(vmo, &x, 2 * PG, sizeof(x)));
    REQUIRE_OK(vm_fault(as, a + 2 * PG, 0, NULL));
    REQUIRE_TRUE(aspace_check_pte(as, a + 2 * PG, &pa, &f));
    EXPECT_EQ(read64_pa(pa), 77);
    EXPECT_TRUE(checks(as));
    // Outside any mapping; beyond the VMO's end; execute without EXECUTE.
    EXPECT_STATUS(vm_fault(as, a + 4 * PG, 0, NULL), ZX_ERR_NOT_FOUND);
    EXPECT_STATUS(vm_fault(as, a, VM_FAULT_INSTRUCTION, NULL), ZX_ERR_ACCESS_DENIED);
    vaddr_t b;
    REQUIRE_OK(vmar_map(root, R, 0, vmo, 2 * PG, 4 * PG, RWX, &b));
    EXPECT_OK(vm_fault(as, b + PG, 0, NULL));
    const char *why = NULL;
    EXPECT_STATUS(vm_fault(as, b + 2 * PG, 0, &why), ZX_ERR_NOT_FOUND);
    EXPECT_TRUE(why && strcmp(why, "beyond the end of the VMO") == 0);
    EXPECT_STATUS(vm_fault(as, b, VM_FAULT_WRITE, NULL), ZX_ERR_ACCESS_DENIED);
    // No address space, or an address outside the user half: NOT_FOUND before any look-up.
    why = NULL;
    EXPECT_STATUS(vm_fault(NULL, b, 0, &why), ZX_ERR_NOT_FOUND);
    EXPECT_TRUE(why && strcmp(why, "no address space") == 0);
    EXPECT_STATUS(vm_fault(as, USER_ASPACE_END, VM_FAULT_USER, &why), ZX_ERR_NOT_FOUND);
    EXPECT_TRUE(why && strcmp(why, "outside the user address space") == 0);
    EXPECT_STATUS(vm_fault(as, USER_ASPACE_BASE - 1, VM_FAULT_USER, NULL), ZX_ERR_NOT_FOUND);
    EXPECT_TRUE(checks(as));
    end_aspace(as, root);
    put_vmo(vmo);
    EXPECT_EQ(pmm_count(PAGE_STATE_VMO), c0.vmo);
}

// The VMO layer's calls: REMOVE_WRITE (a clone was made) and UNMAP (a page is replaced or freed),
// clipped to each mapping's window of the VMO.
KTEST(vmar, range_change_from_the_vmo) {
    struct vmar *root;
    struct vm_aspace *as = new_aspace(&root);
    struct vmo *vmo = new_vmo(16 * PG);
    vaddr_t a, b;
    REQUIRE_OK(vmar_map(root, R | W, 0, vmo, 0, 8 * PG, RWX, &a));
    REQUIRE_OK(vmar_map(root, R | W | X, 0, vmo, 4 * PG, 8 * PG, RWX, &b));
    for (int i = 0; i < 8; i++) {
        REQUIRE_OK(vm_fault(as, a + i * PG, VM_FAULT_WRITE, NULL));
        REQUIRE_OK(vm_fault(as, b + i * PG, VM_FAULT_WRITE, NULL));
    }
    struct vm_mapping *ma = mapping_at(as, a), *mb = mapping_at(as, b);
    uint64_t seq0 = as->pt_seq;
    // VMO pages 6..9: pages 6,7 of ma and 2..5 of mb.
    vm_mapping_range_change(ma, 6 * PG, 4 * PG, VM_RANGE_REMOVE_WRITE);
    vm_mapping_range_change(mb, 6 * PG, 4 * PG, VM_RANGE_REMOVE_WRITE);
    EXPECT_GT(as->pt_seq, seq0);
    for (int i = 0; i < 8; i++) {
        uint32_t f;
        REQUIRE_TRUE(aspace_check_pte(as, a + i * PG, NULL, &f));
        EXPECT_EQ(!!(f & ARCH_MMU_FLAG_WRITE), i < 6);
        REQUIRE_TRUE(aspace_check_pte(as, b + i * PG, NULL, &f));
        EXPECT_EQ(!!(f & ARCH_MMU_FLAG_WRITE), i < 2 || i >= 6);
        EXPECT_TRUE(f & ARCH_MMU_FLAG_EXECUTE);
    }
    // A range outside the mapping's window changes nothing.
    seq0 = as->pt_seq;
    vm_mapping_range_change(ma, 12 * PG, 4 * PG, VM_RANGE_UNMAP);
    EXPECT_EQ(as->pt_seq, seq0);
    vm_mapping_range_change(mb, 11 * PG, 2 * PG, VM_RANGE_UNMAP);
    EXPECT_FALSE(aspace_check_pte(as, b + 7 * PG, NULL, NULL));
    EXPECT_TRUE(aspace_check_pte(as, b + 6 * PG, NULL, NULL));
    // The write fault upgrades again.
    REQUIRE_OK(vm_fault(as, a + 7 * PG, VM_FAULT_WRITE, NULL));
    uint32_t f;
    REQUIRE_TRUE(aspace_check_pte(as, a + 7 * PG, NULL, &f));
    EXPECT_TRUE(f & ARCH_MMU_FLAG_WRITE);
    EXPECT_TRUE(checks(as));
    end_aspace(as, root);
    put_vmo(vmo);
}

KTEST(vmar, fault_around_maps_present_neighbours) {
    struct vmar *root;
    struct vm_aspace *as = new_aspace(&root);
    struct vmo *vmo = new_vmo(64 * PG);
    REQUIRE_OK(vmo_op_range(vmo, ZX_VMO_OP_COMMIT, 0, 20 * PG));
    vaddr_t a;
    REQUIRE_OK(vmar_map(root, R | ZX_VM_ALIGN_64KB, 0, vmo, 0, 64 * PG, RWX, &a));
    unsigned saved = vm_fault_around_pages;
    vm_fault_around_pages = 16;
    REQUIRE_OK(vm_fault(as, a + 3 * PG, 0, NULL));
    for (int i = 0; i < 16; i++)
        EXPECT_TRUE(aspace_check_pte(as, a + i * PG, NULL, NULL));
    EXPECT_FALSE(aspace_check_pte(as, a + 16 * PG, NULL, NULL));
    // Only present pages: 16..19 committed, 20..31 not.
    REQUIRE_OK(vm_fault(as, a + 17 * PG, 0, NULL));
    for (int i = 16; i < 32; i++)
        EXPECT_EQ(aspace_check_pte(as, a + i * PG, NULL, NULL), i < 20);
    vm_fault_around_pages = saved;
    EXPECT_TRUE(checks(as));
    end_aspace(as, root);
    put_vmo(vmo);
}

// --- The random model ---

#define NENT 192
#define NVMO 4
#define NDEAD 64

struct ment {
    bool live;
    bool is_vmar;
    int parent;  // index; -1 for the root (entry 0)
    uint64_t base, size;
    uint32_t flags;     // VMAR: CAN_MAP_* | CAN_MAP_SPECIFIC | COMPACT
    struct vmar *obj;   // VMAR: the test's reference
    int vmo;            // mapping: index in vmos[]
    uint64_t off;       // mapping: VMO offset of base
    uint32_t perms, max;
};

static struct ment ents[NENT];
static struct vmo *vmos[NVMO];
static const uint64_t vmo_pages[NVMO] = {1, 8, 32, 128};
static struct vmar *dead[NDEAD];
static size_t ndead;
static uint64_t rs;

static uint64_t rnd(uint64_t n) {
    rs ^= rs << 13;
    rs ^= rs >> 7;
    rs ^= rs << 17;
    return n ? rs % n : 0;
}

static int m_new_slot(void) {
    for (int i = 1; i < NENT; i++) {
        if (!ents[i].live && !ents[i].obj)
            return i;
    }
    return -1;
}

static int m_free_slots(void) {
    int n = 0;
    for (int i = 1; i < NENT; i++)
        n += !ents[i].live && !ents[i].obj;
    return n;
}

static uint64_t m_end(int i) {
    return ents[i].base + ents[i].size;
}

// Kills entry i and everything below it.
static void m_kill(int i) {
    for (int j = 0; j < NENT; j++) {
        if (ents[j].live && ents[j].parent == i)
            m_kill(j);
    }
    ents[i].live = false;
    if (ents[i].obj) {
        if (ndead < NDEAD)
            dead[ndead++] = ents[i].obj;
        else
            kobject_release(vmar_object(ents[i].obj));
        ents[i].obj = NULL;
    }
}

// Live children of v sorted by base, into out[] (returns the count).
static int m_children(int v, int *out) {
    int n = 0;
    for (int j = 0; j < NENT; j++) {
        if (ents[j].live && ents[j].parent == v) {
            int k = n++;
            while (k > 0 && ents[out[k - 1]].base > ents[j].base) {
                out[k] = out[k - 1];
                k--;
            }
            out[k] = j;
        }
    }
    return n;
}

static bool m_free(int v, uint64_t base, uint64_t size) {
    if (base < ents[v].base || base + size > m_end(v))
        return false;
    for (int j = 0; j < NENT; j++) {
        if (ents[j].live && ents[j].parent == v && ents[j].base < base + size &&
            m_end(j) > base)
            return false;
    }
    return true;
}

static bool m_spot_exists(int v, uint64_t size, uint64_t align, uint64_t limit) {
    static int ch[NENT];
    int n = m_children(v, ch);
    uint64_t gs = ents[v].base;
    for (int i = 0; i <= n; i++) {
        uint64_t ge = i < n ? ents[ch[i]].base : m_end(v);
        ge = MIN(ge, limit);
        uint64_t s = ROUNDUP(gs, align);
        if (s < ge && ge - s >= size)
            return true;
        if (i < n)
            gs = m_end(ch[i]);
    }
    return false;
}

static int m_depth(int v) {
    int d = 0;
    for (; v > 0; v = ents[v].parent)
        d++;
    return d;
}

static int m_add(int parent, bool is_vmar, uint64_t base, uint64_t size) {
    int i = m_new_slot();
    ASSERT(i > 0);
    ents[i] = (struct ment){.live = true, .is_vmar = is_vmar, .parent = parent, .base = base,
                            .size = size};
    return i;
}

// Unmap [a, e) from v's children: the model's version of unmap_locked (checked first).
static zx_status_t m_unmap(int v, uint64_t a, uint64_t e, bool destroy_vmars) {
    static int ch[NENT];
    int n = m_children(v, ch);
    for (int k = 0; k < n; k++) {
        struct ment *c = &ents[ch[k]];
        if (c->is_vmar && c->base < e && m_end(ch[k]) > a &&
            (!destroy_vmars || c->base < a || m_end(ch[k]) > e))
            return ZX_ERR_INVALID_ARGS;
    }
    for (int k = 0; k < n; k++) {
        int j = ch[k];
        struct ment *c = &ents[j];
        uint64_t cb = c->base, ce = m_end(j);
        if (ce <= a || cb >= e)
            continue;
        if (c->is_vmar) {
            m_kill(j);
        } else if (cb >= a && ce <= e) {
            c->live = false;
        } else if (cb < a && ce > e) {
            int t = m_add(v, false, e, ce - e);
            ents[t].vmo = c->vmo;
            ents[t].off = c->off + (e - cb);
            ents[t].perms = c->perms;
            ents[t].max = c->max;
            c->size = a - cb;
        } else if (cb < a) {
            c->size = a - cb;
        } else {
            c->off += e - cb;
            c->base = e;
            c->size = ce - e;
        }
    }
    return ZX_OK;
}

static bool m_mergeable(int x, int y) {
    return !ents[x].is_vmar && !ents[y].is_vmar && m_end(x) == ents[y].base &&
           ents[x].vmo == ents[y].vmo && ents[x].off + ents[x].size == ents[y].off &&
           ents[x].perms == ents[y].perms && ents[x].max == ents[y].max;
}

static bool m_below(int j, int v) {
    for (int p = ents[j].parent; p >= 0; p = ents[p].parent) {
        if (p == v)
            return true;
    }
    return false;
}

// The mapping at any depth below v that ends after x and starts lowest, or -1.
static int m_first_mapping_after(int v, uint64_t x) {
    int best = -1;
    for (int j = 0; j < NENT; j++) {
        if (ents[j].live && !ents[j].is_vmar && m_end(j) > x && m_below(j, v) &&
            (best < 0 || ents[j].base < ents[best].base))
            best = j;
    }
    return best;
}

static zx_status_t m_protect(int v, uint32_t perms, uint64_t a, uint64_t e) {
    static int ch[NENT];
    // Validation over the mappings at any depth, in address order.
    uint64_t expected = a;
    while (expected < e) {
        int j = m_first_mapping_after(v, expected);
        if (j < 0 || ents[j].base > expected)
            return ZX_ERR_NOT_FOUND;
        if (perms & ~ents[j].max)
            return ZX_ERR_ACCESS_DENIED;
        if (ents[j].parent != v)
            return ZX_ERR_INVALID_ARGS;
        expected = m_end(j);
    }
    int n = m_children(v, ch);
    int first = -1;
    for (int k = 0; k < n; k++) {
        if (ents[ch[k]].base <= a && m_end(ch[k]) > a)
            first = k;
    }
    ASSERT(first >= 0);
    int k;
    for (k = first; k < n && ents[ch[k]].base < e; k++) {
        int j = ch[k];
        if (ents[j].perms == perms)
            continue;
        if (ents[j].base < a) {
            int t = m_add(v, false, a, m_end(j) - a);
            ents[t] = ents[j];
            ents[t].base = a;
            ents[t].size = m_end(j) - a;
            ents[t].off = ents[j].off + (a - ents[j].base);
            ents[j].size = a - ents[j].base;
            j = t;
        }
        if (m_end(j) > e) {
            int t = m_add(v, false, e, m_end(j) - e);
            ents[t] = ents[j];
            ents[t].base = e;
            ents[t].size = m_end(j) - e;
            ents[t].off = ents[j].off + (e - ents[j].base);
            ents[j].size = e - ents[j].base;
        }
        ents[j].perms = perms;
    }
    // Merge from the child before the one holding a, like vmar_protect.
    n = m_children(v, ch);
    for (k = 0; k < n && !(ents[ch[k]].base <= a && m_end(ch[k]) > a); k++)
        ;
    if (k > 0)
        k--;
    while (k + 1 < n && ents[ch[k]].base < e) {
        if (m_mergeable(ch[k], ch[k + 1])) {
            ents[ch[k]].size += ents[ch[k + 1]].size;
            ents[ch[k + 1]].live = false;
            for (int q = k + 1; q + 1 < n; q++)
                ch[q] = ch[q + 1];
            n--;
        } else {
            k++;
        }
    }
    return ZX_OK;
}

// Compares the real tree (pre-order) with the model.
static int cmp_list[NENT], cmp_depth[NENT], cmp_n;

static void m_preorder(int v, int depth) {
    int kids[NENT];
    int n = m_children(v, kids);
    for (int k = 0; k < n; k++) {
        cmp_list[cmp_n] = kids[k];
        cmp_depth[cmp_n++] = depth;
        if (ents[kids[k]].is_vmar)
            m_preorder(kids[k], depth + 1);
    }
}

static bool m_matches(struct vm_aspace *as) {
    cmp_n = 0;
    m_preorder(0, 1);
    mutex_acquire(&as->lock);
    size_t depth;
    int i = 0;
    bool ok = true;
    for (struct vm_region *r = vmar_walk_first(as->root, &depth); r && ok;
         r = vmar_walk_next(as->root, r, &depth), i++) {
        if (i >= cmp_n) {
            ok = false;
            break;
        }
        struct ment *e = &ents[cmp_list[i]];
        ok = (int)depth == cmp_depth[i] && vm_region_base(r) == e->base &&
             vm_region_size(r) == e->size && (r->kind == VM_REGION_VMAR) == e->is_vmar;
        if (ok && e->is_vmar)
            ok = vm_region_vmar(r) == e->obj;
        struct vm_mapping *m = vm_region_mapping(r);
        if (ok && m)
            ok = m->vmo == vmos[e->vmo] && m->vmo_offset == e->off && m->perms == e->perms &&
                 m->max_perms == e->max;
        if (!ok)
            kprintf("model mismatch at region %d: [%#llx, +%#llx) depth %zu vs model [%#llx, "
                    "+%#llx) depth %d\n",
                    i, (unsigned long long)vm_region_base(r), (unsigned long long)vm_region_size(r),
                    depth, (unsigned long long)e->base, (unsigned long long)e->size, cmp_depth[i]);
    }
    mutex_release(&as->lock);
    if (ok && i != cmp_n) {
        kprintf("model mismatch: %d regions, model has %d\n", i, cmp_n);
        ok = false;
    }
    return ok;
}

static int pick_live(bool vmar) {
    int cand[NENT], n = 0;
    for (int i = 0; i < NENT; i++) {
        if (ents[i].live && ents[i].is_vmar == vmar)
            cand[n++] = i;
    }
    return n ? cand[rnd(n)] : -1;
}

// A page-aligned address near something in v (or anywhere in it).
static uint64_t near_addr(int v) {
    int ch[NENT];
    int n = m_children(v, ch);
    if (n && rnd(4)) {
        int j = ch[rnd(n)];
        uint64_t lo = ents[j].base >= ents[v].base + 4 * PG ? ents[j].base - 4 * PG : ents[v].base;
        uint64_t span = (m_end(j) + 4 * PG - lo) / PG;
        uint64_t a = lo + rnd(span) * PG;
        return MIN(a, m_end(v) - PG);
    }
    return ents[v].base + rnd(MIN(ents[v].size / PG, 1ull << 20)) * PG;
}

static uint32_t rand_perms(uint32_t allowed) {
    static const uint32_t choices[] = {R, R | W, R | X, R | W | X, 0};
    uint32_t p = choices[rnd(5)];
    return rnd(8) ? p & allowed : p;
}

static int m_live(void) {
    int n = 0;
    for (int i = 0; i < NENT; i++)
        n += ents[i].live;
    return n;
}

// The model's mapping holding address a (descending through nested VMARs), or -1.
static int m_mapping_at(uint64_t a) {
    int v = 0;
    for (;;) {
        int ch[NENT], n = m_children(v, ch), hit = -1;
        for (int k = 0; k < n; k++) {
            if (ents[ch[k]].base <= a && m_end(ch[k]) > a)
                hit = ch[k];
        }
        if (hit < 0)
            return -1;
        if (!ents[hit].is_vmar)
            return hit;
        v = hit;
    }
}

// --- The operations: each picks its operands with rnd(), calls the real operation and checks the
// status against the model's prediction (updating the model on success). Each returns the status
// the call gave, or SKIPPED when it found nothing to do. ---

// An operation's result when it made no call (nothing suitable to act on).
#define SKIPPED ZX_ERR_NEXT

// Asserts that a real call's status is the model's prediction; on a mismatch, first prints the step
// and the call (printf-style).
static void model_status(int step, zx_status_t st, zx_status_t want, const char *fmt, ...)
    PRINTF_LIKE(4, 5);
static void model_status(int step, zx_status_t st, zx_status_t want, const char *fmt, ...) {
    if (st == want)
        return;
    va_list ap;
    va_start(ap, fmt);
    kprintf("step %d: ", step);
    kvprintf(fmt, ap);
    kprintf(": %d %s, want %d %s\n", st, expect_status_name(st), want, expect_status_name(want));
    va_end(ap);
    ASSERT(st == want);
}

// A sub-VMAR of a live VMAR: anywhere, SPECIFIC near something, or under an upper limit.
static zx_status_t op_allocate(struct vm_aspace *as, int step) {
    int p = pick_live(true);
    struct ment *pe = &ents[p];
    if (m_new_slot() < 0 || m_depth(p) >= 6)
        return SKIPPED;
    uint32_t caps = (uint32_t)rnd(8) << 7;
    uint32_t opts = caps | (rnd(2) ? ZX_VM_CAN_MAP_SPECIFIC : 0) | (rnd(4) ? 0 : ZX_VM_COMPACT);
    uint64_t size = (1 + rnd(rnd(4) ? 64 : 4096)) * PG;
    uint64_t align = rnd(3) ? PG : PG << rnd(9);
    if (align > PG)
        opts |= (uint32_t)(__builtin_ctzll(align)) << ZX_VM_ALIGN_BASE;
    uint32_t kind = (uint32_t)rnd(4);  // 0,1 any; 2 specific; 3 upper limit
    uint64_t offset = 0;
    if (kind == 2) {
        opts |= ZX_VM_SPECIFIC;
        offset = ROUNDDOWN(near_addr(p) - pe->base, align);
    } else if (kind == 3) {
        opts |= ZX_VM_OFFSET_IS_UPPER_LIMIT;
        uint64_t lim = ROUNDUP(near_addr(p) - pe->base + size, PG);
        offset = MIN(pe->size, lim);
    }
    struct vmar *out = NULL;
    zx_status_t st = vmar_allocate(pe->obj, opts, offset, size, &out);
    zx_status_t want;
    if (caps & ~pe->flags & CAN_RWX)
        want = ZX_ERR_ACCESS_DENIED;
    else if (kind >= 2 && !(pe->flags & ZX_VM_CAN_MAP_SPECIFIC))
        want = ZX_ERR_ACCESS_DENIED;
    else if (kind < 2 && size > pe->size)
        want = ZX_ERR_INVALID_ARGS;
    else if (kind == 2 && (offset >= pe->size || size > pe->size - offset))
        want = ZX_ERR_INVALID_ARGS;
    else if (kind == 2 && !IS_ALIGNED(pe->base + offset, align))
        want = ZX_ERR_INVALID_ARGS;
    else if (kind == 3 && size > offset)
        want = ZX_ERR_INVALID_ARGS;
    else if (kind == 2)
        want = m_free(p, pe->base + offset, size) ? ZX_OK : ZX_ERR_ALREADY_EXISTS;
    else
        want = m_spot_exists(p, size, align, kind == 3 ? pe->base + offset : UINT64_MAX)
                   ? ZX_OK
                   : ZX_ERR_NO_RESOURCES;
    model_status(step, st, want, "allocate opts %#x offset %#llx size %#llx", opts,
                 (unsigned long long)offset, (unsigned long long)size);
    if (st == ZX_OK) {
        uint64_t b = vmar_base(out);
        ASSERT(m_free(p, b, size) && IS_ALIGNED(b, align));
        ASSERT(kind != 2 || b == pe->base + offset);
        ASSERT(kind != 3 || b + size <= pe->base + offset);
        int i = m_add(p, true, b, size);
        ents[i].flags = opts & (CAN_RWX | ZX_VM_CAN_MAP_SPECIFIC | ZX_VM_COMPACT);
        ents[i].obj = out;
    }
    return st;
}

// A mapping of one of the VMOs: anywhere, SPECIFIC, SPECIFIC_OVERWRITE or under an upper limit.
static zx_status_t op_map(struct vm_aspace *as, int step) {
    int p = pick_live(true);
    struct ment *pe = &ents[p];
    if (m_free_slots() < 2)
        return SKIPPED;
    int vi = (int)rnd(NVMO);
    uint32_t max = rnd(4) ? RWX : rand_perms(RWX) | R;
    uint32_t perms = rand_perms(max & ((pe->flags & CAN_RWX) >> 7));
    uint64_t len = (1 + rnd(2 * vmo_pages[vi])) * PG;
    uint64_t voff = rnd(vmo_pages[vi]) * PG;
    uint32_t kind = (uint32_t)rnd(5);  // 0,1 any; 2 specific; 3 overwrite; 4 upper
    uint32_t opts = perms | (rnd(6) ? 0 : ZX_VM_MAP_RANGE);
    uint64_t offset = 0;
    if (kind == 2 || kind == 3) {
        opts |= kind == 2 ? ZX_VM_SPECIFIC : ZX_VM_SPECIFIC_OVERWRITE;
        if (kind == 3)
            opts &= ~ZX_VM_MAP_RANGE;
        offset = near_addr(p) - pe->base;
    } else if (kind == 4) {
        opts |= ZX_VM_OFFSET_IS_UPPER_LIMIT;
        uint64_t lim = ROUNDUP(near_addr(p) - pe->base + len, PG);
        offset = MIN(pe->size, lim);
    }
    vaddr_t a = 0;
    zx_status_t st = vmar_map(pe->obj, opts, offset, vmos[vi], voff, len, max, &a);
    zx_status_t want;
    if ((perms & (W | X)) && !(perms & R))
        want = ZX_ERR_INVALID_ARGS;
    else if (perms & ~max)
        want = ZX_ERR_ACCESS_DENIED;
    else if (perms & ~((pe->flags & CAN_RWX) >> 7))
        want = ZX_ERR_ACCESS_DENIED;
    else if (kind >= 2 && !(pe->flags & ZX_VM_CAN_MAP_SPECIFIC))
        want = ZX_ERR_ACCESS_DENIED;
    else if (kind < 2 && len > pe->size)
        want = ZX_ERR_INVALID_ARGS;
    else if ((kind == 2 || kind == 3) && (offset >= pe->size || len > pe->size - offset))
        want = ZX_ERR_INVALID_ARGS;
    else if (kind == 4 && len > offset)
        want = ZX_ERR_INVALID_ARGS;
    else if (kind == 2)
        want = m_free(p, pe->base + offset, len) ? ZX_OK : ZX_ERR_ALREADY_EXISTS;
    else if (kind == 3)
        want = m_free(p, pe->base + offset, len) ? ZX_OK
                                                 : m_unmap(p, pe->base + offset,
                                                           pe->base + offset + len, false);
    else
        want = m_spot_exists(p, len, PG, kind == 4 ? pe->base + offset : UINT64_MAX)
                   ? ZX_OK
                   : ZX_ERR_NO_RESOURCES;
    model_status(step, st, want, "map opts %#x offset %#llx len %#llx", opts,
                 (unsigned long long)offset, (unsigned long long)len);
    if (st == ZX_OK) {
        ASSERT(m_free(p, a, len));
        ASSERT(kind < 2 || kind == 4 || a == pe->base + offset);
        ASSERT(kind != 4 || a + len <= pe->base + offset);
        int i = m_add(p, false, a, len);
        ents[i].vmo = vi;
        ents[i].off = voff;
        ents[i].perms = perms;
        ents[i].max = max & ((pe->flags & CAN_RWX) >> 7);
    }
    return st;
}

// Unmaps a range near things in a live VMAR (or exactly one child).
static zx_status_t op_unmap(struct vm_aspace *as, int step) {
    int p = pick_live(true);
    uint64_t a = near_addr(p);
    uint64_t len = (1 + rnd(rnd(4) ? 8 : 256)) * PG;
    if (m_new_slot() < 0 || rnd(4) == 0) {
        // Exactly one child (no split needed): the way out when the model's table is full.
        int ch[NENT], n = m_children(p, ch);
        if (n == 0)
            return SKIPPED;
        int j = ch[rnd(n)];
        a = ents[j].base;
        len = ents[j].size;
    }
    zx_status_t st = vmar_unmap(ents[p].obj, a, len);
    zx_status_t want = a + len > m_end(p) ? ZX_ERR_INVALID_ARGS : m_unmap(p, a, a + len, true);
    model_status(step, st, want, "unmap [%#llx, +%#llx)", (unsigned long long)a,
                 (unsigned long long)len);
    return st;
}

// Protects a range: often inside one mapping, sometimes anywhere near things.
static zx_status_t op_protect(struct vm_aspace *as, int step) {
    int p = pick_live(true);
    if (m_free_slots() < 2)
        return SKIPPED;
    uint64_t a = near_addr(p);
    uint64_t len = (1 + rnd(rnd(4) ? 4 : 64)) * PG;
    int j = pick_live(false);
    if (j > 0 && rnd(2)) {
        p = ents[j].parent;
        a = ents[j].base + rnd(ents[j].size / PG) * PG;
        len = (1 + rnd((m_end(j) - a) / PG + (rnd(4) ? 0 : 4))) * PG;
    }
    uint32_t perms = rand_perms(RWX);
    zx_status_t st = vmar_protect(ents[p].obj, perms, a, len);
    zx_status_t want = ((perms & (W | X)) && !(perms & R)) || a + len > m_end(p)
                           ? ZX_ERR_INVALID_ARGS
                           : m_protect(p, perms, a, a + len);
    model_status(step, st, want, "protect %#x [%#llx, +%#llx)", perms, (unsigned long long)a,
                 (unsigned long long)len);
    return st;
}

// Destroys a live VMAR (sometimes a dead one or the root, which must fail).
static zx_status_t op_destroy(struct vm_aspace *as, int step) {
    uint32_t which = (uint32_t)rnd(8);
    if (which == 0 && ndead) {
        zx_status_t st = vmar_destroy(dead[rnd(ndead)]);
        EXPECT_STATUS(st, ZX_ERR_BAD_STATE);
        return st;
    }
    if (which == 1) {
        zx_status_t st = vmar_destroy(ents[0].obj);
        EXPECT_STATUS(st, ZX_ERR_NOT_SUPPORTED);
        return st;
    }
    int v = pick_live(true);
    if (v <= 0)
        return SKIPPED;
    ASSERT(vmar_destroy(ents[v].obj) == ZX_OK);
    m_kill(v);
    return ZX_OK;
}

// Faults at a page of a mapping (or next to one).
static zx_status_t op_fault(struct vm_aspace *as, int step) {
    int j = pick_live(false);
    if (j < 0)
        return SKIPPED;
    uint64_t a = ents[j].base + rnd(ents[j].size / PG + 1) * PG;
    if (a >= USER_ASPACE_END)
        return SKIPPED;
    uint32_t acc = (uint32_t)rnd(3);
    if (rnd(2) && !(ents[j].perms & (acc == 1 ? W : acc == 2 ? X : R)))
        acc = (ents[j].perms & W) ? 1 : 0;
    uint32_t flags = acc == 1 ? VM_FAULT_WRITE : acc == 2 ? VM_FAULT_INSTRUCTION : 0;
    uint32_t need = acc == 1 ? W : acc == 2 ? X : R;
    int m = m_mapping_at(a);
    zx_status_t want;
    uint64_t off = 0;
    if (m < 0) {
        want = ZX_ERR_NOT_FOUND;
    } else if (!(ents[m].perms & need)) {
        want = ZX_ERR_ACCESS_DENIED;
    } else {
        off = ents[m].off + (a - ents[m].base);
        want = off >= vmo_pages[ents[m].vmo] * PG ? ZX_ERR_NOT_FOUND : ZX_OK;
    }
    zx_status_t st = vm_fault(as, a + rnd(PG), flags, NULL);
    model_status(step, st, want, "fault %u at %#llx", acc, (unsigned long long)a);
    if (st == ZX_OK) {
        paddr_t pa;
        uint32_t f;
        ASSERT(aspace_check_pte(as, a, &pa, &f));
        uint64_t v0 = 0;
        ASSERT(vmo_read(vmos[ents[m].vmo], &v0, off, sizeof(v0)) == ZX_OK);
        ASSERT(read64_pa(pa) == v0);
        if (acc == 1) {
            // Write through the mapping's page; the VMO must see it.
            ASSERT(f & ARCH_MMU_FLAG_WRITE);
            uint64_t tag = rs | 1;
            *(volatile uint64_t *)paddr_to_kva(pa) = tag;
            ASSERT(vmo_read(vmos[ents[m].vmo], &v0, off, sizeof(v0)) == ZX_OK && v0 == tag);
        }
    }
    return st;
}

// Decommits part of a VMO: every mapping of it loses those PTEs.
static zx_status_t op_decommit(struct vm_aspace *as, int step) {
    int vi = (int)rnd(NVMO);
    uint64_t o = rnd(vmo_pages[vi]) * PG;
    uint64_t len = (1 + rnd(8)) * PG;
    if (len > vmo_pages[vi] * PG - o)
        len = vmo_pages[vi] * PG - o;  // never past the end: that is OUT_OF_RANGE
    ASSERT(vmo_op_range(vmos[vi], ZX_VMO_OP_DECOMMIT, o, len) == ZX_OK);
    return ZX_OK;
}

// rnd(100) selects an operation (test/model_op.h); the model and the real tree are compared after
// every step (vm_aspace_check, aspace_check_pagetable, m_matches).
struct vmar_op {
    const char *name;
    unsigned weight;
    zx_status_t (*run)(struct vm_aspace *as, int step);
};

static const struct vmar_op vmar_ops[] = {
    {"allocate", 12, op_allocate},
    {"map", 23, op_map},
    {"unmap", 15, op_unmap},
    {"protect", 15, op_protect},
    {"destroy", 4, op_destroy},
    {"fault", 26, op_fault},
    {"decommit", 5, op_decommit},
};
#define NOPS (sizeof(vmar_ops) / sizeof(vmar_ops[0]))

static size_t op_ok[NOPS], op_err[NOPS];  // calls made per operation, by outcome

static const struct vmar_op *model_step(struct vm_aspace *as, int step) {
    uint32_t r = (uint32_t)rnd(100);
    // Keep the tree from filling the model's table: prune more when it is crowded (a value in
    // unmap's range, or in protect's or destroy's).
    if (m_live() > NENT / 2 && rnd(2))
        r = 35 + (uint32_t)rnd(15) + (rnd(3) ? 0 : 19);
    const struct vmar_op *op = MODEL_OP_PICK(vmar_ops, r);
    zx_status_t st = op->run(as, step);
    if (st == ZX_OK)
        op_ok[op - vmar_ops]++;
    else if (st != SKIPPED)
        op_err[op - vmar_ops]++;
    return op;
}

KTEST(vmar, random_against_model) {
    struct counts c0 = counts_now();
    struct vmar *root;
    struct vm_aspace *as = new_aspace(&root);
    for (int i = 0; i < NVMO; i++)
        vmos[i] = new_vmo(vmo_pages[i] * PG);
    memset(ents, 0, sizeof(ents));
    ndead = 0;
    ents[0] = (struct ment){.live = true, .is_vmar = true, .parent = -1, .base = USER_ASPACE_BASE,
                            .size = USER_ASPACE_END - USER_ASPACE_BASE,
                            .flags = CAN_RWX | ZX_VM_CAN_MAP_SPECIFIC, .obj = root};
    rs = 0x9e3779b97f4a7c15ull;
    size_t max_present = 0;
    for (int step = 0; step < MODEL_STEPS; step++) {
        const struct vmar_op *op = model_step(as, step);
        size_t present = 0;
        bool ok = vm_aspace_check(as) && aspace_check_pagetable(as, &present) && m_matches(as);
        max_present = MAX(max_present, present);
        if (!ok)
            kprintf("random_against_model: step %d (%s)\n", step, op->name);
        REQUIRE_TRUE(ok);
    }
    EXPECT_GT(max_present, 8);
    for (size_t i = 0; i < NOPS; i++) {
        kprintf("    %-8s %5zu ok %5zu failed as predicted\n", vmar_ops[i].name, op_ok[i],
                op_err[i]);
        EXPECT_GT(op_ok[i], 0);
    }
    kprintf("    at most %zu PTEs present at once\n", max_present);
    for (int i = 1; i < NENT; i++) {
        if (ents[i].obj)
            kobject_release(vmar_object(ents[i].obj));
    }
    for (size_t i = 0; i < ndead; i++)
        kobject_release(vmar_object(dead[i]));
    end_aspace(as, root);
    for (int i = 0; i < NVMO; i++)
        put_vmo(vmos[i]);
    EXPECT_EQ(pmm_count(PAGE_STATE_VMO), c0.vmo);
    EXPECT_EQ(pmm_count(PAGE_STATE_PAGE_TABLE), c0.pt);
}
