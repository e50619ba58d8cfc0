// Out of memory at every allocation point of map, protect, unmap and allocate, on the real pmm
// and page tables (kernel: page allocations, the heap's included) and over simulated RAM (host:
// pages, and heap objects separately). For each scenario, k = 1, 2, ...: the kth allocation
// fails; the operation must return ZX_OK with the layout a run without failures gives, or
// ZX_ERR_NO_MEMORY with nothing changed: the same regions, PTEs, VMO mapping counts, pages and
// heap objects as before, and vmar_check_locked and aspace_check_pagetable still passing. This
// is what the check phases of vm/vmar.c promise (everything allocated before anything changes).
#include "kernel/assert.h"
#include "kernel/heap.h"
#include "kernel/ktest.h"
#include "kernel/printf.h"
#include "kernel/string.h"
#include "test/kernel/aspace_check.h"
#include "test/kernel/oom_inject.h"
#include "vm/pmm.h"
#include "vm/vmar.h"
#include "vm/vmo.h"
#ifdef JASPER_HOST
#include "test/host/host_env.h"
#endif

#define P ((uint64_t)PAGE_SIZE)
#define R ZX_VM_PERM_READ
#define W ZX_VM_PERM_WRITE
#define RWX (ZX_VM_PERM_READ | ZX_VM_PERM_WRITE | ZX_VM_PERM_EXECUTE)
#define SPEC ZX_VM_SPECIFIC
#define VMO_PAGES 32
#define SUB_OFF 0x40000000ull   // the sub-VMAR, relative to the root's base
#define FAR_OFF 0x3000000000ull // a part of the space no page table reaches yet

// The space every scenario starts from:
//   root: [A, A+16p) v0 R|W, faulted | sub-VMAR at SUB_OFF: [0, 8p) v1 R|W, faulted
struct env {
    struct vm_aspace *as;
    struct vmar *root, *sub;
    struct vmo *v[2];
};

struct scenario {
    const char *name;
    zx_status_t (*op)(struct env *e);
};

static const uint64_t A = 0x200000;  // the root's first mapping, relative to its base

static void setup(struct env *e) {
    ASSERT(vm_aspace_create("oom", &e->as) == ZX_OK);
    e->root = vm_aspace_root_vmar(e->as);
    ASSERT(vmar_allocate(e->root, SPEC | ZX_VM_CAN_MAP_READ | ZX_VM_CAN_MAP_WRITE |
                                      ZX_VM_CAN_MAP_SPECIFIC, SUB_OFF, 0x100000, &e->sub) == ZX_OK);
    for (int i = 0; i < 2; i++) {
        ASSERT(vmo_create(VMO_PAGES * P, 0, &e->v[i]) == ZX_OK);
        uint64_t x = 0x5a5a0000 + i;
        for (uint64_t o = 0; o < VMO_PAGES * P; o += 2 * P)  // every other page committed
            ASSERT(vmo_write(e->v[i], &x, o, sizeof(x)) == ZX_OK);
    }
    vaddr_t a;
    ASSERT(vmar_map(e->root, R | W | SPEC, A, e->v[0], 0, 16 * P, RWX, &a) == ZX_OK);
    for (uint64_t i = 0; i < 16; i++)
        ASSERT(vm_fault(e->as, a + i * P, i % 3 ? VM_FAULT_WRITE : 0, NULL) == ZX_OK);
    ASSERT(vmar_map(e->sub, R | W | SPEC, 0, e->v[1], 0, 8 * P, RWX, &a) == ZX_OK);
    for (uint64_t i = 0; i < 8; i++)
        ASSERT(vm_fault(e->as, a + i * P, 0, NULL) == ZX_OK);
}

static void teardown(struct env *e) {
    kobject_release(vmar_object(e->sub));
    vm_aspace_destroy(e->as);
    kobject_release(vmar_object(e->root));
    for (int i = 0; i < 2; i++)
        kobject_release(vmo_object(e->v[i]));
}

// --- Scenarios ---

static vaddr_t root_va(struct env *e, uint64_t off) {
    return vmar_base(e->root) + off;
}

static zx_status_t op_map(struct env *e) {
    vaddr_t a;
    return vmar_map(e->root, R | SPEC, A + 32 * P, e->v[1], 0, 4 * P, RWX, &a);
}
static zx_status_t op_map_overwrite_middle(struct env *e) {  // a split and a new mapping
    vaddr_t a;
    return vmar_map(e->root, R | ZX_VM_SPECIFIC_OVERWRITE, A + 4 * P, e->v[1], 0, 4 * P, RWX, &a);
}
static zx_status_t op_map_overwrite_across(struct env *e) {  // trims, no split
    vaddr_t a;
    return vmar_map(e->root, R | ZX_VM_SPECIFIC_OVERWRITE, A + 12 * P, e->v[1], 0, 8 * P, RWX, &a);
}
static zx_status_t op_map_range(struct env *e) {
    vaddr_t a;
    return vmar_map(e->root, R | W | SPEC | ZX_VM_MAP_RANGE, A + 64 * P, e->v[0], 0, VMO_PAGES * P,
                    RWX, &a);
}
static zx_status_t op_map_range_far(struct env *e) {  // page tables at every level
    vaddr_t a;
    return vmar_map(e->root, R | SPEC | ZX_VM_MAP_RANGE, FAR_OFF, e->v[1], 0, VMO_PAGES * P, RWX,
                    &a);
}
static zx_status_t op_map_in_sub(struct env *e) {
    vaddr_t a;
    return vmar_map(e->sub, R | SPEC, 16 * P, e->v[0], 4 * P, 4 * P, RWX, &a);
}
static zx_status_t op_protect_middle(struct env *e) {  // two splits
    return vmar_protect(e->root, R, root_va(e, A + 4 * P), 4 * P);
}
static zx_status_t op_protect_head(struct env *e) {  // one split
    return vmar_protect(e->root, R, root_va(e, A), 4 * P);
}
static zx_status_t op_protect_same(struct env *e) {  // nothing to split
    return vmar_protect(e->root, R | W, root_va(e, A + 4 * P), 4 * P);
}
static zx_status_t op_protect_all(struct env *e) {
    return vmar_protect(e->root, 0, root_va(e, A), 16 * P);
}
static zx_status_t op_unmap_middle(struct env *e) {  // a split
    return vmar_unmap(e->root, root_va(e, A + 4 * P), 4 * P);
}
static zx_status_t op_unmap_with_sub(struct env *e) {  // a sub-VMAR goes too
    return vmar_unmap(e->root, root_va(e, 0), SUB_OFF + 0x100000);
}
static zx_status_t op_allocate(struct env *e) {
    struct vmar *v;
    zx_status_t st = vmar_allocate(e->root, SPEC, A + 0x100000, 0x10000, &v);
    if (st == ZX_OK)
        kobject_release(vmar_object(v));  // the tree keeps it
    return st;
}

static const struct scenario scenarios[] = {
    {"map", op_map},
    {"map_overwrite_middle", op_map_overwrite_middle},
    {"map_overwrite_across", op_map_overwrite_across},
    {"map_range", op_map_range},
    {"map_range_far", op_map_range_far},
    {"map_in_sub", op_map_in_sub},
    {"protect_middle", op_protect_middle},
    {"protect_head", op_protect_head},
    {"protect_same", op_protect_same},
    {"protect_all", op_protect_all},
    {"unmap_middle", op_unmap_middle},
    {"unmap_with_sub", op_unmap_with_sub},
    {"allocate", op_allocate},
};

// --- What "nothing changed" compares ---

#define MAX_REGIONS 16
#define MAX_PTES 128

struct region_rec {
    uint8_t kind;
    size_t depth;
    vaddr_t base;
    uint64_t size, vmo_offset;
    uint32_t perms, max_perms;
};

struct pte_rec {
    vaddr_t va;
    paddr_t pa;
    uint32_t flags;
};

struct state {
    size_t nregions, nptes;
    struct region_rec regions[MAX_REGIONS];
    struct pte_rec ptes[MAX_PTES];
    uint64_t num_mappings[2];
    size_t vmo_pages, pt_pages, heap_objects;
};

static size_t heap_objects(void) {
#ifdef JASPER_HOST
    return host_alloc_live();
#else
    struct heap_stats hs;
    heap_get_stats(&hs);
    return hs.allocations;
#endif
}

static void capture(struct env *e, struct state *s) {
    memset(s, 0, sizeof(*s));
    struct vm_aspace *as = e->as;
    mutex_acquire(&as->lock);
    size_t depth;
    for (struct vm_region *r = vmar_walk_first(as->root, &depth); r;
         r = vmar_walk_next(as->root, r, &depth)) {
        ASSERT(s->nregions < MAX_REGIONS);
        struct region_rec *rec = &s->regions[s->nregions++];
        rec->kind = r->kind;
        rec->depth = depth;
        rec->base = vm_region_base(r);
        rec->size = vm_region_size(r);
        struct vm_mapping *m = vm_region_mapping(r);
        if (!m)
            continue;
        rec->vmo_offset = m->vmo_offset;
        rec->perms = m->perms;
        rec->max_perms = m->max_perms;
        for (vaddr_t va = rec->base; va < rec->base + rec->size; va += P) {
            paddr_t pa;
            uint32_t flags;
            if (arch_aspace_query(&as->arch, va, &pa, &flags) != ZX_OK)
                continue;
            ASSERT(s->nptes < MAX_PTES);
            s->ptes[s->nptes++] = (struct pte_rec){va, pa, flags};
        }
    }
    mutex_release(&as->lock);
    for (int i = 0; i < 2; i++) {
        zx_info_vmo_t info;
        vmo_get_info(e->v[i], &info);
        s->num_mappings[i] = info.num_mappings;
    }
    s->vmo_pages = pmm_count(PAGE_STATE_VMO);
    s->pt_pages = pmm_count(PAGE_STATE_PAGE_TABLE);
    s->heap_objects = heap_objects();
}

// Regions and PTE addresses and flags (not physical addresses: a fresh run commits other pages).
static bool same_layout(const struct state *a, const struct state *b) {
    if (a->nregions != b->nregions || a->nptes != b->nptes)
        return false;
    for (size_t i = 0; i < a->nregions; i++) {
        if (memcmp(&a->regions[i], &b->regions[i], sizeof(a->regions[i])) != 0)
            return false;
    }
    for (size_t i = 0; i < a->nptes; i++) {
        if (a->ptes[i].va != b->ptes[i].va || a->ptes[i].flags != b->ptes[i].flags)
            return false;
    }
    return a->num_mappings[0] == b->num_mappings[0] && a->num_mappings[1] == b->num_mappings[1];
}

static bool unchanged(const struct state *before, const struct state *after) {
    if (!same_layout(before, after))
        return false;
    for (size_t i = 0; i < before->nptes; i++) {
        if (before->ptes[i].pa != after->ptes[i].pa)
            return false;
    }
    return before->vmo_pages == after->vmo_pages && before->pt_pages == after->pt_pages &&
           before->heap_objects == after->heap_objects;
}

// --- The driver ---

static bool space_ok(struct env *e) {
    return vm_aspace_check(e->as) && aspace_check_pagetable(e->as, NULL);
}

// Returns the number of failure points exercised.
static size_t run_scenario(const struct scenario *sc, enum inject what) {
    static struct state golden, before, after;
    size_t vmo0 = pmm_count(PAGE_STATE_VMO), pt0 = pmm_count(PAGE_STATE_PAGE_TABLE);
    size_t heap0 = heap_objects();
    struct env e;
    setup(&e);
    EXPECT_OK(sc->op(&e));
    EXPECT_TRUE(space_ok(&e));
    capture(&e, &golden);
    teardown(&e);
    size_t failures = 0;
    for (size_t k = 1; k < 200; k++) {
        setup(&e);
        capture(&e, &before);
        arm(what, k);
        zx_status_t st = sc->op(&e);
        disarm();
        bool ok = space_ok(&e);
        capture(&e, &after);
        if (st == ZX_OK) {
            ok = ok && same_layout(&after, &golden);
        } else {
            failures++;
            ok = ok && st == ZX_ERR_NO_MEMORY && unchanged(&before, &after);
        }
        teardown(&e);
        if (!ok)
            kprintf("vmar_oom: %s: allocation %zu failing gives %d\n", sc->name, k, st);
        EXPECT_TRUE(ok);
        if (st == ZX_OK || !ok)
            break;
    }
    EXPECT_EQ(pmm_count(PAGE_STATE_VMO), vmo0);
    EXPECT_EQ(pmm_count(PAGE_STATE_PAGE_TABLE), pt0);
    EXPECT_EQ(heap_objects(), heap0);
    return failures;
}

static size_t run_all(enum inject what) {
    if (!arch_kernel_aspace.root)  // host tests start without the kernel's half
        ASSERT(arch_aspace_init_kernel() == ZX_OK);
    size_t total = 0;
    for (size_t i = 0; i < countof(scenarios); i++) {
        size_t n = run_scenario(&scenarios[i], what);
        kprintf("%s%s %zu", i % 5 ? ", " : i ? "\n    " : "    ", scenarios[i].name, n);
        total += n;
        if (ktest_failed())
            break;
    }
    kprintf("\n");
    return total;
}

KTEST(vmar_oom, pages_at_every_allocation) {
    size_t n = run_all(INJECT_PAGES);
    kprintf("    %zu scenarios, %zu page-allocation failures\n", countof(scenarios), n);
    EXPECT_GT(n, 0);  // at least the page tables MAP_RANGE needs
}

#ifdef JASPER_HOST
KTEST(vmar_oom, heap_at_every_allocation) {
    size_t n = run_all(INJECT_HEAP);
    kprintf("    %zu scenarios, %zu heap-allocation failures\n", countof(scenarios), n);
    EXPECT_GT(n, 0);
}
#endif
