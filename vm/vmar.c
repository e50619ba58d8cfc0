// Regions and mappings: allocate, map, unmap, protect, destroy, op_range, placement (ASLR) and
// the checker. See vmar.h for the shape, the locks and the invariants.
//
// Every operation that changes the tree is split as seL4 splits a syscall: decode the arguments
// (no lock), then, under the aspace lock, a check phase (`*_check_locked`: the state, everything
// the tree must allow, and every structure the change needs, allocated; it may fail and then
// changes nothing) and an apply phase (`*_apply_locked`: trusts its input and cannot fail).
// References and memory that the change gives up (VMAR objects leaving a tree, mappings with
// their VMO references) are dropped after the aspace lock is released.
#include "vm/vmar.h"

#include <zircon/syscalls.h>

#include "arch/x86_64/tlb.h"
#include "kernel/assert.h"
#include "kernel/heap.h"
#include "kernel/printf.h"
#include "kernel/string.h"
#include "vm/pmm.h"
#include "vm/vmo.h"

static inline uint32_t caps_perms(uint32_t flags) {
    return (flags & VMAR_CAN_MAP_RWX) >> VMAR_CAN_MAP_SHIFT;
}

static inline struct vm_region *region_of(struct vmar_tree_node *n) {
    return vm_region_from_node(n);
}

zx_rights_t vmar_default_rights(const struct vmar *vmar) {
    zx_rights_t r = ZX_DEFAULT_VMAR_RIGHTS;
    if (vmar->flags & ZX_VM_CAN_MAP_READ)
        r |= ZX_RIGHT_READ;
    if (vmar->flags & ZX_VM_CAN_MAP_WRITE)
        r |= ZX_RIGHT_WRITE;
    if (vmar->flags & ZX_VM_CAN_MAP_EXECUTE)
        r |= ZX_RIGHT_EXECUTE;
    return r;
}

vaddr_t vmar_base(const struct vmar *vmar) {
    return vmar->r.node.base;
}

uint64_t vmar_size(const struct vmar *vmar) {
    return vmar->r.node.size;
}

// --- The VMAR kernel object ---

static void vmar_obj_destroy(struct kobject *obj) {
    struct vmar *v = containerof(obj, struct vmar, obj);
    ASSERT_MSG(!v->alive, "VMAR [%#llx, +%#llx) freed while alive",
               (unsigned long long)vmar_base(v), (unsigned long long)vmar_size(v));
    struct vm_aspace *as = v->aspace;
    kfree(v);
    vm_aspace_release(as);
}

static const struct kobject_ops vmar_ops = {.destroy = vmar_obj_destroy};

struct vmar *vmar_from_object(struct kobject *obj) {
    ASSERT(obj->type == ZX_OBJ_TYPE_VMAR);
    return containerof(obj, struct vmar, obj);
}

struct kobject *vmar_object(struct vmar *vmar) {
    return &vmar->obj;
}

static void vmar_init(struct vmar *v, struct vm_aspace *as, vaddr_t base, uint64_t size,
                      uint32_t flags) {
    kobject_init(&v->obj, ZX_OBJ_TYPE_VMAR, &vmar_ops);
    v->r.kind = VM_REGION_VMAR;
    v->r.node.base = base;
    v->r.node.size = size;
    v->r.parent = NULL;
    v->aspace = as;
    __atomic_add_fetch(&as->refs, 1, __ATOMIC_RELAXED);
    v->flags = flags & (VMAR_CAN_MAP_RWX | ZX_VM_CAN_MAP_SPECIFIC | ZX_VM_COMPACT);
    v->alive = true;
    vmar_tree_init(&v->children, base, base + size);
}

zx_status_t vmar_create_root(struct vm_aspace *as, struct vmar **out) {
    struct vmar *v = kzalloc(sizeof(*v));
    if (!v)
        return ZX_ERR_NO_MEMORY;
    vmar_init(v, as, USER_ASPACE_BASE, USER_ASPACE_END - USER_ASPACE_BASE,
              VMAR_CAN_MAP_RWX | ZX_VM_CAN_MAP_SPECIFIC);
    v->is_root = true;
    *out = v;
    return ZX_OK;
}

zx_status_t vmar_get_info(struct vmar *vmar, zx_info_vmar_t *out) {
    mutex_acquire(&vmar->aspace->lock);
    bool alive = vmar->alive;
    mutex_release(&vmar->aspace->lock);
    if (!alive)
        return ZX_ERR_BAD_STATE;
    out->base = vmar_base(vmar);
    out->len = vmar_size(vmar);
    return ZX_OK;
}

// --- Deferred releases ---

static void defer_release(struct vmar **releases, struct vmar *v) {
    v->release_next = *releases;
    *releases = v;
}

static void defer_free(struct vm_mapping **frees, struct vm_mapping *m) {
    m->free_next = *frees;
    *frees = m;
}

// A mapping record for a map: a spare of the address space (what an unmap freed; *out_spare
// true), or a new one. Zeroed. NULL if there is no memory.
static struct vm_mapping *mapping_alloc_locked(struct vm_aspace *as, bool *out_spare)
    REQUIRES(as->lock) {
    ASSERT_MUTEX_HELD(&as->lock);
    struct vm_mapping *m = as->spare_mappings;
    *out_spare = m != NULL;
    if (!m)
        return kzalloc(sizeof(*m));
    as->spare_mappings = m->free_next;
    as->num_spare_mappings--;
    memset(m, 0, sizeof(*m));
    return m;
}

// Gives back a record mapping_alloc_locked took from the spares (a map that failed).
static void mapping_unalloc_spare_locked(struct vm_aspace *as, struct vm_mapping *m)
    REQUIRES(as->lock) {
    ASSERT_MUTEX_HELD(&as->lock);
    m->free_next = as->spare_mappings;
    as->spare_mappings = m;
    as->num_spare_mappings++;
}

void vmar_finish_deferred(struct vmar *releases, struct vm_mapping *frees) {
    if (frees) {
        // Every record of one list comes from one address space; its VMO references go first,
        // outside the aspace lock, then the records join the space's spares (a map + unmap
        // pair then needs no heap), or the heap once there are enough or the space is gone.
        struct vm_aspace *as = frees->aspace;
        for (struct vm_mapping *m = frees; m; m = m->free_next) {
            ASSERT_MSG(m->aspace == as, "deferred frees of two address spaces (%p, %p)",
                       (void *)as, (void *)m->aspace);
            kobject_release(vmo_object(m->vmo));
        }
        mutex_acquire(&as->lock);
        while (frees && as->root && as->num_spare_mappings < VM_ASPACE_SPARE_MAPPINGS) {
            struct vm_mapping *m = frees;
            frees = m->free_next;
            m->free_next = as->spare_mappings;
            as->spare_mappings = m;
            as->num_spare_mappings++;
        }
        mutex_release(&as->lock);
        while (frees) {
            struct vm_mapping *m = frees;
            frees = m->free_next;
            kfree(m);
        }
    }
    while (releases) {
        struct vmar *v = releases;
        releases = v->release_next;
        kobject_release(&v->obj);
    }
}

// --- Page-table helpers (pt_lock) ---

static void pt_unmap(struct vm_aspace *as, vaddr_t va, uint64_t len) {
    mutex_acquire(&as->pt_lock);
    zx_status_t st = arch_aspace_unmap(&as->arch, va, len / PAGE_SIZE);
    ASSERT_MSG(st == ZX_OK, "unmap [%#llx, +%#llx): %d", (unsigned long long)va,
               (unsigned long long)len, st);
    mutex_release(&as->pt_lock);
}

// --- Mapping surgery (aspace lock held) ---

// Sets the interval of a linked mapping (a trim or a merge); its VMO offset follows `vmo_offset`.
static void mapping_set_range_locked(struct vm_mapping *m, vaddr_t base, uint64_t size,
                                     uint64_t vmo_offset) REQUIRES(m->aspace->lock) {
    ASSERT_MUTEX_HELD(&m->aspace->lock);
    struct vm_aspace *as = m->aspace;
    mutex_acquire(&as->pt_lock);
    vmar_tree_update(&m->r.parent->children, &m->r.node, base, size);
    m->vmo_offset = vmo_offset;
    mutex_release(&as->pt_lock);
}

// Splits `m` at `at` (strictly inside it): m keeps [base, at), `m2` (fresh memory) gets [at, end)
// with the same VMO, perms and max_perms. m2 joins the VMO's list before m shrinks, so a range
// change meanwhile always reaches every PTE of the old range. Returns m2.
//
//   before:  |------------------ m ------------------|
//   after:   |-------- m --------|-------- m2 -------|
//                                at
static struct vm_mapping *mapping_split_locked(struct vm_mapping *m, vaddr_t at,
                                               struct vm_mapping *m2) REQUIRES(m->aspace->lock) {
    ASSERT_MUTEX_HELD(&m->aspace->lock);
    vaddr_t base = vm_region_base(&m->r), end = vm_region_end(&m->r);
    DEBUG_ASSERT(at > base && at < end);
    memset(m2, 0, sizeof(*m2));
    m2->r.kind = VM_REGION_MAPPING;
    m2->r.node.base = at;
    m2->r.node.size = end - at;
    m2->r.parent = m->r.parent;
    m2->aspace = m->aspace;
    m2->vmo = m->vmo;
    kobject_retain(vmo_object(m->vmo));
    m2->vmo_offset = m->vmo_offset + (at - base);
    m2->perms = m->perms;
    m2->max_perms = m->max_perms;
    vmo_add_mapping(m2->vmo, m2);
    struct vm_aspace *as = m->aspace;
    mutex_acquire(&as->pt_lock);
    vmar_tree_update(&m->r.parent->children, &m->r.node, base, at - base);
    vmar_tree_insert(&m->r.parent->children, &m2->r.node);
    mutex_release(&as->pt_lock);
    return m2;
}

// Takes `m` out of its VMAR's tree, and out of the address space's memory of the last mapping
// found: every removal of a mapping goes through here.
static void mapping_leave_tree_locked(struct vm_aspace *as, struct vm_mapping *m)
    REQUIRES(as->lock) {
    ASSERT_MUTEX_HELD(&as->lock);
    DEBUG_ASSERT(m->aspace == as);
    if (as->last_found == m)
        as->last_found = NULL;
    vmar_tree_remove(&m->r.parent->children, &m->r.node);
    m->r.parent = NULL;
}

// Takes `m` out of its VMAR and its VMO; the caller frees it (and its VMO reference) once the
// aspace lock is released.
static void mapping_unlink_locked(struct vm_mapping *m) REQUIRES(m->aspace->lock) {
    ASSERT_MUTEX_HELD(&m->aspace->lock);
    mapping_leave_tree_locked(m->aspace, m);
    vmo_remove_mapping(m->vmo, m);
}

static void mapping_remove_locked(struct vm_mapping *m, struct vm_mapping **frees)
    REQUIRES(m->aspace->lock) {
    ASSERT_MUTEX_HELD(&m->aspace->lock);
    mapping_unlink_locked(m);
    defer_free(frees, m);
}

void vmar_destroy_locked(struct vmar *v, struct vmar **releases, struct vm_mapping **frees) {
    ASSERT_MUTEX_HELD(&v->aspace->lock);
    // Iterative, like Zircon's DestroyLocked: strip mappings, descend into the first sub-VMAR,
    // and climb back once a VMAR is empty. No recursion over user-controlled nesting depth.
    struct vmar *cur = v;
    for (;;) {
        struct vmar *down = NULL;
        struct vmar_tree_node *n;
        while ((n = vmar_tree_first(&cur->children)) != NULL) {
            struct vm_region *r = region_of(n);
            if (r->kind == VM_REGION_VMAR) {
                down = vm_region_vmar(r);
                break;
            }
            vm_mapping_assert_locked(vm_region_mapping(r));
            mapping_remove_locked(vm_region_mapping(r), frees);
        }
        if (down) {
            cur = down;
            continue;
        }
        cur->alive = false;
        struct vmar *parent = cur->r.parent;
        if (parent) {
            vmar_tree_remove(&parent->children, &cur->r.node);
            cur->r.parent = NULL;
            defer_release(releases, cur);  // the tree's reference
        }
        if (cur == v)
            return;
        cur = parent;
    }
}

// --- Placement ---

static zx_status_t decode_align(uint32_t options, uint64_t *out) {
    uint32_t a = options >> ZX_VM_ALIGN_BASE;
    if (a == 0) {
        *out = PAGE_SIZE;
        return ZX_OK;
    }
    if (a < 10 || a > 32)
        return ZX_ERR_INVALID_ARGS;
    *out = MAX(1ull << a, (uint64_t)PAGE_SIZE);
    return ZX_OK;
}

// Finds room for `size` bytes aligned to `align` in `v`, ending at or below `limit`. With ASLR the
// search starts at a uniformly random aligned address among the possible starts (among the lowest
// 256 in a COMPACT VMAR) and takes the first spot from there, wrapping to the bottom once; without,
// it is the lowest spot. O(log n) (vmar_tree_find_spot). ZX_ERR_NO_RESOURCES if there is no room.
static zx_status_t alloc_spot_locked(struct vmar *v, uint64_t size, uint64_t align, uint64_t limit,
                                     vaddr_t *out) REQUIRES(v->aspace->lock) {
    ASSERT_MUTEX_HELD(&v->aspace->lock);
    const struct vmar_tree *t = &v->children;
    uint64_t hi = MIN(limit, t->hi);
    if (t->lo > UINT64_MAX - (align - 1))
        return ZX_ERR_NO_RESOURCES;
    uint64_t lo = ROUNDUP(t->lo, align);
    if (lo >= hi || hi - lo < size)
        return ZX_ERR_NO_RESOURCES;
    struct vm_aspace *as = v->aspace;
    if (as->aslr) {
        uint64_t starts = (hi - size - lo) / align + 1;
        if (v->flags & ZX_VM_COMPACT)
            starts = MIN(starts, 256u);
        uint64_t from = lo + aslr_prng_below(&as->prng, starts) * align;
        if (vmar_tree_find_spot(t, size, align, from, hi, out))
            return ZX_OK;
    }
    if (vmar_tree_find_spot(t, size, align, lo, hi, out))
        return ZX_OK;
    return ZX_ERR_NO_RESOURCES;
}

// Decides where a child of `size` bytes goes in `v` (shared by allocate and map). `offset` is
// relative to v's base. ZX_ERR_INVALID_ARGS (outside v, misaligned specific base),
// ZX_ERR_ALREADY_EXISTS (specific and not free: *out_base is still set), ZX_ERR_NO_RESOURCES.
static zx_status_t place_locked(struct vmar *v, bool specific, bool upper, uint64_t offset,
                                uint64_t size, uint64_t align, vaddr_t *out_base)
    REQUIRES(v->aspace->lock) {
    ASSERT_MUTEX_HELD(&v->aspace->lock);
    uint64_t vsize = vmar_size(v);
    if (!upper && (offset >= vsize || size > vsize - offset))
        return ZX_ERR_INVALID_ARGS;
    if (upper && (offset > vsize || size > offset))
        return ZX_ERR_INVALID_ARGS;
    if (specific) {
        vaddr_t base = vmar_base(v) + offset;
        if (!IS_ALIGNED(base, align))
            return ZX_ERR_INVALID_ARGS;
        *out_base = base;
        return vmar_tree_range_free(&v->children, base, size) ? ZX_OK : ZX_ERR_ALREADY_EXISTS;
    }
    uint64_t limit = upper ? vmar_base(v) + offset : vmar_base(v) + vsize;
    return alloc_spot_locked(v, size, align, limit, out_base);
}

// --- allocate ---

zx_status_t vmar_allocate(struct vmar *parent, uint32_t options, uint64_t offset, uint64_t size,
                          struct vmar **out) {
    const uint32_t allowed = ZX_VM_SPECIFIC | ZX_VM_OFFSET_IS_UPPER_LIMIT | ZX_VM_COMPACT |
                             ZX_VM_CAN_MAP_SPECIFIC | VMAR_CAN_MAP_RWX | VMAR_ALIGN_MASK;
    if (options & ~allowed)
        return ZX_ERR_INVALID_ARGS;
    uint64_t align;
    zx_status_t st = decode_align(options, &align);
    if (st != ZX_OK)
        return st;
    bool specific = options & ZX_VM_SPECIFIC, upper = options & ZX_VM_OFFSET_IS_UPPER_LIMIT;
    if (size == 0 || !IS_ALIGNED(size, PAGE_SIZE) || (specific && upper) ||
        (!specific && !upper && offset != 0) || !IS_ALIGNED(offset, PAGE_SIZE))
        return ZX_ERR_INVALID_ARGS;

    struct vmar *child = kzalloc(sizeof(*child));
    if (!child)
        return ZX_ERR_NO_MEMORY;
    struct vm_aspace *as = parent->aspace;
    vaddr_t base = 0;
    mutex_acquire(&as->lock);
    vmar_assert_locked(parent);
    if (!parent->alive)
        st = ZX_ERR_BAD_STATE;
    else if (options & VMAR_CAN_MAP_RWX & ~parent->flags)
        st = ZX_ERR_ACCESS_DENIED;
    else if ((specific || upper) && !(parent->flags & ZX_VM_CAN_MAP_SPECIFIC))
        st = ZX_ERR_ACCESS_DENIED;
    else
        st = place_locked(parent, specific, upper, offset, size, align, &base);
    if (st == ZX_OK) {
        vmar_init(child, as, base, size, options);
        child->r.parent = parent;
        kobject_retain(&child->obj);  // the parent's tree
        vmar_tree_insert(&parent->children, &child->r.node);
    }
    mutex_release(&as->lock);
    if (st != ZX_OK) {
        kfree(child);
        return st;
    }
    *out = child;
    return ZX_OK;
}

// --- Ranges: the checks unmap, protect and op_range share ---

// Rounds len up to pages: false if it is 0 or overflows.
static bool round_len(uint64_t *len) {
    if (*len == 0 || *len > UINT64_MAX - (PAGE_SIZE - 1))
        return false;
    *len = ROUNDUP(*len, (uint64_t)PAGE_SIZE);
    return true;
}

// True if [addr, addr + len) lies inside v.
static bool in_vmar(const struct vmar *v, vaddr_t addr, uint64_t len) {
    return addr >= vmar_base(v) && addr - vmar_base(v) <= vmar_size(v) &&
           len <= vmar_size(v) - (addr - vmar_base(v));
}

// The state check every range operation starts with: ZX_ERR_BAD_STATE (v destroyed), `outside`
// if [addr, addr + len) is not inside v.
static zx_status_t check_range_locked(struct vmar *v, vaddr_t addr, uint64_t len,
                                      zx_status_t outside) REQUIRES(v->aspace->lock) {
    ASSERT_MUTEX_HELD(&v->aspace->lock);
    if (!v->alive)
        return ZX_ERR_BAD_STATE;
    return in_vmar(v, addr, len) ? ZX_OK : outside;
}

// The first mapping at any depth below `v` that ends after `addr`, or NULL: mappings in address
// order, seen through nested VMARs.
static struct vm_mapping *first_mapping_ending_after(struct vmar *v, vaddr_t addr) {
    struct vmar *cur = v;
    for (;;) {
        struct vmar_tree_node *n = vmar_tree_first_ending_after(&cur->children, addr);
        if (n) {
            struct vm_region *r = region_of(n);
            if (r->kind == VM_REGION_MAPPING)
                return vm_region_mapping(r);
            cur = vm_region_vmar(r);
            continue;
        }
        if (cur == v)
            return NULL;
        addr = MAX(addr, vmar_base(cur) + vmar_size(cur));
        cur = cur->r.parent;
    }
}

// The mappings at any depth below `v` that overlap [addr, end), in address order:
//   for (m = mapping_in_range(v, addr, end); m; m = mapping_in_range(v, vm_region_end(&m->r), end))
static struct vm_mapping *mapping_in_range(struct vmar *v, vaddr_t addr, vaddr_t end) {
    struct vm_mapping *m = first_mapping_ending_after(v, addr);
    return m && vm_region_base(&m->r) < end ? m : NULL;
}

// Says whether an operation may go ahead on `m`: ZX_OK or the status to fail with.
typedef zx_status_t (*mapping_check_fn)(struct vm_mapping *m, void *ctx);

// The one "mappings cover the whole range" check: mappings at any depth below `v` cover [addr,
// end) without a gap, and `check` accepts each of them. Walks in address order (as Zircon's
// enumerator does) and returns the first failure met: `gap` at a hole, or what `check` returns.
// Changes nothing.
static zx_status_t check_covered_locked(struct vmar *v, vaddr_t addr, vaddr_t end, zx_status_t gap,
                                        mapping_check_fn check, void *ctx)
    REQUIRES(v->aspace->lock) {
    ASSERT_MUTEX_HELD(&v->aspace->lock);
    vaddr_t expected = addr;
    for (struct vm_mapping *m = mapping_in_range(v, addr, end); expected < end;
         m = mapping_in_range(v, expected, end)) {
        if (!m || vm_region_base(&m->r) > expected)
            return gap;
        zx_status_t st = check(m, ctx);
        if (st != ZX_OK)
            return st;
        expected = vm_region_end(&m->r);
    }
    return ZX_OK;
}

// --- Spares: the memory a check phase reserves for the splits its apply phase makes ---

#define SPARES_MAX 2  // a range has two ends: at most two mappings are split

struct spares {
    struct vm_mapping *m[SPARES_MAX];
    size_t n;  // reserved
};

// Frees what is still reserved (a check phase that fails after reserving).
static void spares_release(struct spares *s) {
    while (s->n > 0)
        kfree(s->m[--s->n]);
}

// Reserves `n` mapping structures. ZX_ERR_NO_MEMORY with nothing reserved.
static zx_status_t spares_reserve(struct spares *s, size_t n) {
    ASSERT_MSG(n <= SPARES_MAX, "spares_reserve: %zu splits", n);
    for (s->n = 0; s->n < n; s->n++) {
        if (!(s->m[s->n] = kmalloc(sizeof(struct vm_mapping)))) {
            spares_release(s);
            return ZX_ERR_NO_MEMORY;
        }
    }
    return ZX_OK;
}

// One reserved structure; the check phase reserved enough (a kernel bug otherwise).
static struct vm_mapping *spares_take(struct spares *s) {
    ASSERT_MSG(s->n > 0, "spares_take: the check phase reserved too few (%zu)", s->n);
    return s->m[--s->n];
}

// --- unmap ---

// Check phase of unmapping [addr, end) from v's children: ZX_ERR_INVALID_ARGS if it cuts a
// sub-VMAR (or touches one at all when !destroy_vmars); reserves in *out the struct a mapping
// that strictly contains the range needs (a hole in its middle). ZX_ERR_NO_MEMORY. On failure
// nothing is reserved.
static zx_status_t unmap_check_locked(struct vmar *v, vaddr_t addr, vaddr_t end,
                                      bool destroy_vmars, struct spares *out)
    REQUIRES(v->aspace->lock) {
    ASSERT_MUTEX_HELD(&v->aspace->lock);
    out->n = 0;
    size_t splits = 0;
    for (struct vmar_tree_node *n = vmar_tree_first_ending_after(&v->children, addr);
         n && n->base < end; n = vmar_tree_next(n)) {
        if (region_of(n)->kind == VM_REGION_VMAR) {
            if (!destroy_vmars || n->base < addr || vmar_tree_node_end(n) > end)
                return ZX_ERR_INVALID_ARGS;
        } else if (n->base < addr && vmar_tree_node_end(n) > end) {
            splits = 1;
        }
    }
    return spares_reserve(out, splits);
}

// Apply phase: unmaps [addr, end) from v's children as unmap_check_locked allowed, taking what it
// reserved. Cannot fail.
static void unmap_apply_locked(struct vmar *v, vaddr_t addr, vaddr_t end, struct spares *spares,
                               struct vmar **releases, struct vm_mapping **frees)
    REQUIRES(v->aspace->lock) {
    ASSERT_MUTEX_HELD(&v->aspace->lock);
    // The PTEs of the whole range first, in one pass that skips holes at every level.
    pt_unmap(v->aspace, addr, end - addr);
    struct vmar_tree_node *n = vmar_tree_first_ending_after(&v->children, addr);
    while (n && n->base < end) {
        struct vmar_tree_node *next = vmar_tree_next(n);
        struct vm_region *r = region_of(n);
        if (r->kind == VM_REGION_VMAR) {
            vmar_assert_locked(vm_region_vmar(r));
            vmar_destroy_locked(vm_region_vmar(r), releases, frees);
        } else {
            struct vm_mapping *m = vm_region_mapping(r);
            vm_mapping_assert_locked(m);
            vaddr_t mb = vm_region_base(r), me = vm_region_end(r);
            if (mb >= addr && me <= end) {
                mapping_remove_locked(m, frees);
            } else if (mb < addr && me > end) {
                mapping_split_locked(m, end, spares_take(spares));
                mapping_set_range_locked(m, mb, addr - mb, m->vmo_offset);
            } else if (mb < addr) {
                mapping_set_range_locked(m, mb, addr - mb, m->vmo_offset);
            } else {
                mapping_set_range_locked(m, end, me - end, m->vmo_offset + (end - mb));
            }
        }
        n = next;
    }
    ASSERT_MSG(spares->n == 0, "unmap_apply_locked: %zu reserved structs unused", spares->n);
}

zx_status_t vmar_unmap(struct vmar *vmar, vaddr_t addr, uint64_t len) {
    if (!IS_ALIGNED(addr, PAGE_SIZE) || !round_len(&len))
        return ZX_ERR_INVALID_ARGS;
    struct vm_aspace *as = vmar->aspace;
    struct vmar *releases = NULL;
    struct vm_mapping *frees = NULL;
    struct spares spares;
    mutex_acquire(&as->lock);
    vmar_assert_locked(vmar);
    zx_status_t st = check_range_locked(vmar, addr, len, ZX_ERR_INVALID_ARGS);
    if (st == ZX_OK)
        st = unmap_check_locked(vmar, addr, addr + len, true, &spares);
    if (st == ZX_OK)
        unmap_apply_locked(vmar, addr, addr + len, &spares, &releases, &frees);
    mutex_release(&as->lock);
    vmar_finish_deferred(releases, frees);
    return st;
}

// --- map ---

// Where the pages of `m` (perms with READ) go now: fault-around and MAP_RANGE. The VMO hands its
// pages out in runs of consecutive offsets with the same writability (vmo_lookup_page_runs);
// each run is mapped with one page-table walk (arch_aspace_map_absent: only holes are filled, so
// a page already mapped -- the one a fault just mapped -- stays as it is; no TLB work) under one
// pt_lock hold, still under the tree lock.
struct present_ctx {
    struct vm_mapping *m;
    size_t mapped;
};

static zx_status_t map_present_run(void *ctx, uint64_t offset, const paddr_t *pas, size_t n,
                                   bool writable) {
    struct present_ctx *c = ctx;
    struct vm_mapping *m = c->m;
    struct vm_aspace *as = m->aspace;
    vaddr_t va = vm_region_base(&m->r) + (offset - m->vmo_offset);
    size_t mapped;
    mutex_acquire(&as->pt_lock);
    zx_status_t st = arch_aspace_map_absent(&as->arch, va, pas, n,
                                            vmar_mmu_flags(m->perms, writable), &mapped);
    mutex_release(&as->pt_lock);
    c->mapped += mapped;
    return st;
}

zx_status_t vm_mapping_map_present_locked(struct vm_mapping *m, vaddr_t va, uint64_t len) {
    ASSERT_MUTEX_HELD(&m->aspace->lock);
    if (!(m->perms & ZX_VM_PERM_READ))
        return ZX_OK;
    struct present_ctx c = {.m = m};
    uint64_t off = m->vmo_offset + (va - vm_region_base(&m->r));
    zx_status_t st = vmo_lookup_page_runs(m->vmo, off, len, map_present_run, &c);
    vm_fault_stats.around += c.mapped;
    return st;
}

// vmar_map's arguments, decoded: everything that needs no lock.
struct map_args {
    uint32_t perms;       // ZX_VM_PERM_*
    uint32_t max_perms;   // what the caller's handles allow
    bool specific, upper, overwrite, map_range;
    uint64_t align;       // bytes
    uint64_t vmar_offset; // relative to the VMAR's base
    uint64_t vmo_offset;
    uint64_t len;         // rounded up to pages
};

// Decode: checks every argument of vmar_map that needs no lock (statuses as in vmar.h).
static zx_status_t map_decode(uint32_t options, uint64_t vmar_offset, struct vmo *vmo,
                              uint64_t vmo_offset, uint64_t len, uint32_t max_perms,
                              struct map_args *out) {
    const uint32_t allowed = VMAR_PERM_RWX | ZX_VM_SPECIFIC | ZX_VM_SPECIFIC_OVERWRITE |
                             ZX_VM_OFFSET_IS_UPPER_LIMIT | ZX_VM_MAP_RANGE | ZX_VM_ALLOW_FAULTS |
                             ZX_VM_REQUIRE_NON_RESIZABLE | VMAR_ALIGN_MASK;
    if (options & ~allowed)
        return ZX_ERR_INVALID_ARGS;
    zx_status_t st = decode_align(options, &out->align);
    if (st != ZX_OK)
        return st;
    uint32_t perms = options & VMAR_PERM_RWX;
    bool overwrite = options & ZX_VM_SPECIFIC_OVERWRITE;
    bool specific = (options & ZX_VM_SPECIFIC) || overwrite;
    bool upper = options & ZX_VM_OFFSET_IS_UPPER_LIMIT;
    if (((perms & (ZX_VM_PERM_WRITE | ZX_VM_PERM_EXECUTE)) && !(perms & ZX_VM_PERM_READ)) ||
        ((options & ZX_VM_MAP_RANGE) && overwrite) || (specific && upper) ||
        (!specific && !upper && vmar_offset != 0) || !IS_ALIGNED(vmar_offset, PAGE_SIZE) ||
        len == 0 || !IS_ALIGNED(vmo_offset, PAGE_SIZE))
        return ZX_ERR_INVALID_ARGS;
    if (!round_len(&len) || vmo_offset > UINT64_MAX - len)  // rounding or the end overflows
        return ZX_ERR_OUT_OF_RANGE;
    if (perms & ~max_perms)
        return ZX_ERR_ACCESS_DENIED;
    if ((options & ZX_VM_REQUIRE_NON_RESIZABLE) && vmo_is_resizable(vmo))
        return ZX_ERR_NOT_SUPPORTED;
    out->perms = perms;
    out->max_perms = max_perms;
    out->specific = specific;
    out->upper = upper;
    out->overwrite = overwrite;
    out->map_range = options & ZX_VM_MAP_RANGE;
    out->vmar_offset = vmar_offset;
    out->vmo_offset = vmo_offset;
    out->len = len;
    return ZX_OK;
}

// What vmar_map's check phase hands its apply phase.
struct map_plan {
    vaddr_t base;             // where the mapping goes
    bool replace;             // an overwrite: unmap [base, base + len) first
    struct spares spares;     // for the split that unmapping makes, if any
    struct vm_mapping *m;     // the new mapping's memory
    bool m_spare;             // m came from the address space's spares
};

// Check phase: the VMAR's state, its capabilities, the placement, what an overwrite would replace
// (mappings only, never sub-VMARs); reserves all the memory the apply phase needs. On failure
// nothing changed and nothing is reserved.
static zx_status_t map_check_locked(struct vmar *vmar, const struct map_args *a,
                                    struct map_plan *out) REQUIRES(vmar->aspace->lock) {
    ASSERT_MUTEX_HELD(&vmar->aspace->lock);
    if (!vmar->alive)
        return ZX_ERR_BAD_STATE;
    if (a->perms & ~caps_perms(vmar->flags))
        return ZX_ERR_ACCESS_DENIED;
    if ((a->specific || a->upper) && !(vmar->flags & ZX_VM_CAN_MAP_SPECIFIC))
        return ZX_ERR_ACCESS_DENIED;
    out->replace = false;
    out->spares.n = 0;  // nothing to unmap unless an overwrite finds mappings in the way
    zx_status_t st =
        place_locked(vmar, a->specific, a->upper, a->vmar_offset, a->len, a->align, &out->base);
    if (st == ZX_ERR_ALREADY_EXISTS && a->overwrite) {
        st = unmap_check_locked(vmar, out->base, out->base + a->len, false, &out->spares);
        out->replace = st == ZX_OK;
    }
    if (st != ZX_OK)
        return st;
    if (!(out->m = mapping_alloc_locked(vmar->aspace, &out->m_spare))) {
        spares_release(&out->spares);
        return ZX_ERR_NO_MEMORY;
    }
    return ZX_OK;
}

// Apply phase: unmaps what an overwrite replaces and inserts the mapping (taking a reference on
// `vmo`). Cannot fail; returns the mapping.
static struct vm_mapping *map_apply_locked(struct vmar *vmar, struct vmo *vmo,
                                           const struct map_args *a, struct map_plan *p,
                                           struct vmar **releases, struct vm_mapping **frees)
    REQUIRES(vmar->aspace->lock) {
    ASSERT_MUTEX_HELD(&vmar->aspace->lock);
    if (p->replace)
        unmap_apply_locked(vmar, p->base, p->base + a->len, &p->spares, releases, frees);
    struct vm_mapping *m = p->m;
    m->r.kind = VM_REGION_MAPPING;
    m->r.node.base = p->base;
    m->r.node.size = a->len;
    m->r.parent = vmar;
    m->aspace = vmar->aspace;
    m->vmo = vmo;
    kobject_retain(vmo_object(vmo));
    m->vmo_offset = a->vmo_offset;
    m->perms = a->perms;
    m->max_perms = a->max_perms & caps_perms(vmar->flags);
    vmar_tree_insert(&vmar->children, &m->r.node);
    vmo_add_mapping(vmo, m);
    return m;
}

zx_status_t vmar_map(struct vmar *vmar, uint32_t options, uint64_t vmar_offset, struct vmo *vmo,
                     uint64_t vmo_offset, uint64_t len, uint32_t max_perms, vaddr_t *out_addr) {
    struct map_args a;
    zx_status_t st = map_decode(options, vmar_offset, vmo, vmo_offset, len, max_perms, &a);
    if (st != ZX_OK)
        return st;
    struct vm_aspace *as = vmar->aspace;
    struct vmar *releases = NULL;
    struct vm_mapping *frees = NULL;
    struct map_plan plan;
    struct vm_mapping *m, *failed = NULL;
    mutex_acquire(&as->lock);
    vmar_assert_locked(vmar);
    st = map_check_locked(vmar, &a, &plan);
    if (st != ZX_OK)
        goto unlock;
    m = map_apply_locked(vmar, vmo, &a, &plan, &releases, &frees);
    // MAP_RANGE fills the PTEs of pages the VMO already has; a page table it cannot allocate
    // takes the new mapping away again. (MAP_RANGE excludes an overwrite, so nothing else
    // changed.) TODO(page tables reserved in the check phase): then this could not fail.
    if (a.map_range) {
        vm_mapping_assert_locked(m);
        st = vm_mapping_map_present_locked(m, plan.base, a.len);
        if (st != ZX_OK) {
            // Memory as it was: the record goes back where it came from, and its VMO reference
            // is not the last (the caller holds one).
            pt_unmap(as, plan.base, a.len);
            mapping_unlink_locked(m);
            kobject_release(vmo_object(vmo));
            if (plan.m_spare)
                mapping_unalloc_spare_locked(as, m);
            else
                failed = m;
        }
    }
unlock:
    mutex_release(&as->lock);
    vmar_finish_deferred(releases, frees);
    kfree(failed);
    if (st == ZX_OK)
        *out_addr = plan.base;
    return st;
}

// --- protect ---

static bool mergeable(const struct vm_region *a, const struct vm_region *b) {
    const struct vm_mapping *ma = a->kind == VM_REGION_MAPPING ? containerof(a, struct vm_mapping, r)
                                                               : NULL;
    const struct vm_mapping *mb = b->kind == VM_REGION_MAPPING ? containerof(b, struct vm_mapping, r)
                                                               : NULL;
    return ma && mb && vm_region_end(a) == vm_region_base(b) && ma->vmo == mb->vmo &&
           ma->vmo_offset + vm_region_size(a) == mb->vmo_offset && ma->perms == mb->perms &&
           ma->max_perms == mb->max_perms;
}

// `b` (right after `a`, mergeable) is absorbed by `a`. Both cover b's PTEs until b leaves the VMO.
//
//   before:  |------ a ------|------ b ------|
//   after:   |-------------- a --------------|
static void merge_locked(struct vm_mapping *a, struct vm_mapping *b, struct vm_mapping **frees)
    REQUIRES(a->aspace->lock) {
    ASSERT_MUTEX_HELD(&a->aspace->lock);
    struct vm_aspace *as = a->aspace;
    mutex_acquire(&as->pt_lock);
    mapping_leave_tree_locked(a->aspace, b);
    vmar_tree_update(&a->r.parent->children, &a->r.node, vm_region_base(&a->r),
                     vm_region_size(&a->r) + vm_region_size(&b->r));
    mutex_release(&as->pt_lock);
    vmo_remove_mapping(b->vmo, b);
    defer_free(frees, b);
}

// Gives `m` new perms and brings its PTEs in line, the TLB work into `b`. A page keeps WRITE only
// through a fault that asks the VMO (the zero page and shared pages must stay read-only), so
// raising perms never raises PTEs above read(+execute); lowering them lowers every PTE.
static void mapping_protect_locked(struct vm_mapping *m, uint32_t perms, struct tlb_batch *b)
    REQUIRES(m->aspace->lock) {
    ASSERT_MUTEX_HELD(&m->aspace->lock);
    struct vm_aspace *as = m->aspace;
    vaddr_t base = vm_region_base(&m->r);
    size_t pages = vm_region_size(&m->r) / PAGE_SIZE;
    mutex_acquire(&as->pt_lock);
    uint32_t old = m->perms;
    m->perms = perms;
    zx_status_t st = ZX_OK;
    if (!(perms & ZX_VM_PERM_READ))
        st = arch_aspace_unmap_batched(&as->arch, base, pages, b);
    else if (old & ZX_VM_PERM_READ)
        st = arch_aspace_protect_batched(&as->arch, base, pages, vmar_mmu_flags(perms, false), b);
    ASSERT_MSG(st == ZX_OK, "protect [%#llx, +%zu pages): %d", (unsigned long long)base, pages, st);
    mutex_release(&as->pt_lock);
}

struct protect_check {
    struct vmar *vmar;
    uint32_t perms;
    vaddr_t addr, end;
    size_t splits;  // mappings that change and reach past an end of the range
};

// protect changes this VMAR's own mappings only, within their max_perms.
static zx_status_t protect_check_mapping(struct vm_mapping *m, void *ctx) {
    struct protect_check *c = ctx;
    if (c->perms & ~m->max_perms)
        return ZX_ERR_ACCESS_DENIED;
    if (m->r.parent != c->vmar)
        return ZX_ERR_INVALID_ARGS;
    if (m->perms != c->perms)
        c->splits += (vm_region_base(&m->r) < c->addr) + (vm_region_end(&m->r) > c->end);
    return ZX_OK;
}

// Check phase of protecting [addr, end): the VMAR's state, the coverage (a gap is NOT_FOUND) and
// each mapping (protect_check_mapping); reserves in *out the structs the splits at the two ends
// need. ZX_ERR_NO_MEMORY. On failure nothing is reserved.
static zx_status_t protect_check_locked(struct vmar *vmar, uint32_t perms, vaddr_t addr,
                                        vaddr_t end, struct spares *out)
    REQUIRES(vmar->aspace->lock) {
    ASSERT_MUTEX_HELD(&vmar->aspace->lock);
    zx_status_t st = check_range_locked(vmar, addr, end - addr, ZX_ERR_INVALID_ARGS);
    if (st != ZX_OK)
        return st;
    struct protect_check c = {.vmar = vmar, .perms = perms, .addr = addr, .end = end};
    st = check_covered_locked(vmar, addr, end, ZX_ERR_NOT_FOUND, protect_check_mapping, &c);
    if (st != ZX_OK)
        return st;
    return spares_reserve(out, c.splits);
}

// Apply phase: splits the mappings that change at the ends of [addr, end) (taking what the check
// phase reserved), gives them `perms` -- one TLB round for all of them, before it returns --
// then merges equal neighbours from the mapping before the range to the one after it. Cannot
// fail.
static void protect_apply_locked(struct vmar *vmar, uint32_t perms, vaddr_t addr, vaddr_t end,
                                 struct spares *spares, struct vm_mapping **frees)
    REQUIRES(vmar->aspace->lock) {
    ASSERT_MUTEX_HELD(&vmar->aspace->lock);
    struct tlb_batch b;
    arch_aspace_batch_init(&b);
    struct vmar_tree_node *n = vmar_tree_find(&vmar->children, addr);
    while (n && n->base < end) {
        struct vmar_tree_node *next = vmar_tree_next(n);
        struct vm_mapping *m = vm_region_mapping(region_of(n));
        vm_mapping_assert_locked(m);
        if (m->perms != perms) {
            if (vm_region_base(&m->r) < addr)
                m = mapping_split_locked(m, addr, spares_take(spares));
            if (vm_region_end(&m->r) > end)
                mapping_split_locked(m, end, spares_take(spares));
            mapping_protect_locked(m, perms, &b);
        }
        n = next;
    }
    // Outside pt_lock is fine: faults wait for the aspace lock we hold, and a VMO range change
    // meanwhile does its own round; no page is freed before this (the pages stay the VMOs').
    arch_aspace_batch_finish(&b);
    ASSERT_MSG(spares->n == 0, "protect_apply_locked: %zu reserved structs unused", spares->n);
    n = vmar_tree_find(&vmar->children, addr);
    struct vmar_tree_node *p = vmar_tree_prev(n);
    if (p)
        n = p;
    while (n && n->base < end) {
        struct vmar_tree_node *next = vmar_tree_next(n);
        if (!next)
            break;
        if (mergeable(region_of(n), region_of(next))) {
            vm_mapping_assert_locked(vm_region_mapping(region_of(n)));
            merge_locked(vm_region_mapping(region_of(n)), vm_region_mapping(region_of(next)),
                         frees);
        } else {
            n = next;
        }
    }
}

zx_status_t vmar_protect(struct vmar *vmar, uint32_t perms, vaddr_t addr, uint64_t len) {
    if ((perms & ~VMAR_PERM_RWX) ||
        ((perms & (ZX_VM_PERM_WRITE | ZX_VM_PERM_EXECUTE)) && !(perms & ZX_VM_PERM_READ)) ||
        !IS_ALIGNED(addr, PAGE_SIZE) || !round_len(&len))
        return ZX_ERR_INVALID_ARGS;
    struct vm_aspace *as = vmar->aspace;
    struct vm_mapping *frees = NULL;
    struct spares spares;
    mutex_acquire(&as->lock);
    vmar_assert_locked(vmar);
    zx_status_t st = protect_check_locked(vmar, perms, addr, addr + len, &spares);
    if (st == ZX_OK)
        protect_apply_locked(vmar, perms, addr, addr + len, &spares, &frees);
    mutex_release(&as->lock);
    vmar_finish_deferred(NULL, frees);
    return st;
}

// --- destroy ---

zx_status_t vmar_destroy(struct vmar *vmar) {
    struct vm_aspace *as = vmar->aspace;
    struct vmar *releases = NULL;
    struct vm_mapping *frees = NULL;
    zx_status_t st = ZX_OK;
    mutex_acquire(&as->lock);
    vmar_assert_locked(vmar);
    if (!vmar->alive)
        st = ZX_ERR_BAD_STATE;
    else if (vmar->is_root)
        st = ZX_ERR_NOT_SUPPORTED;
    if (st == ZX_OK) {
        pt_unmap(as, vmar_base(vmar), vmar_size(vmar));
        vmar_destroy_locked(vmar, &releases, &frees);
    }
    mutex_release(&as->lock);
    vmar_finish_deferred(releases, frees);
    return st;
}

// --- Walking every region (pre-order, nested VMARs included) ---

struct vm_region *vmar_walk_first(struct vmar *root, size_t *depth) {
    struct vmar_tree_node *n = vmar_tree_first(&root->children);
    *depth = 1;
    return region_of(n);
}

struct vm_region *vmar_walk_next(struct vmar *root, struct vm_region *r, size_t *depth) {
    struct vmar *v = vm_region_vmar(r);
    if (v && v->children.root) {
        (*depth)++;
        return region_of(vmar_tree_first(&v->children));
    }
    for (;;) {
        struct vmar_tree_node *n = vmar_tree_next(&r->node);
        if (n)
            return region_of(n);
        struct vmar *p = r->parent;
        if (!p || p == root)
            return NULL;
        (*depth)--;
        r = &p->r;
    }
}

// --- op_range ---

struct op_check {
    struct vmar *vmar;  // the VMAR the call names
    bool writes;        // COMMIT and DECOMMIT
};

// The ops act only on mappings directly in the VMAR named (one in a child VMAR: INVALID_ARGS), and
// COMMIT and DECOMMIT write: every mapping they reach must allow it.
static zx_status_t op_check_mapping(struct vm_mapping *m, void *ctx) {
    const struct op_check *c = ctx;
    if (m->r.parent != c->vmar)
        return ZX_ERR_INVALID_ARGS;
    return c->writes && !(m->max_perms & ZX_VM_PERM_WRITE) ? ZX_ERR_ACCESS_DENIED : ZX_OK;
}

zx_status_t vmar_op_range(struct vmar *vmar, uint32_t op, vaddr_t addr, uint64_t len,
                          zx_rights_t rights) {
    if ((op != ZX_VMAR_OP_COMMIT && op != ZX_VMAR_OP_DECOMMIT && op != ZX_VMAR_OP_MAP_RANGE) ||
        !IS_ALIGNED(addr, PAGE_SIZE) || !round_len(&len))
        return ZX_ERR_INVALID_ARGS;
    struct op_check check = {vmar, op == ZX_VMAR_OP_COMMIT || op == ZX_VMAR_OP_DECOMMIT};
    struct vm_aspace *as = vmar->aspace;
    vaddr_t end = addr + len;
    mutex_acquire(&as->lock);
    vmar_assert_locked(vmar);
    // Check all before doing anything: the range must be covered by mappings without gaps.
    zx_status_t st = check_range_locked(vmar, addr, len, ZX_ERR_OUT_OF_RANGE);
    zx_rights_t need = check.writes ? ZX_RIGHT_WRITE : ZX_RIGHT_READ;  // MAP_RANGE reads
    if (st == ZX_OK && !(rights & need))
        st = ZX_ERR_ACCESS_DENIED;
    if (st == ZX_OK)
        st = check_covered_locked(vmar, addr, end, ZX_ERR_BAD_STATE, op_check_mapping, &check);
    // DECOMMIT over several mappings: one TLB round for all of them. Their PTEs go first, in one
    // unmap of the range (faults of this space wait for the aspace lock held here), so each VMO's
    // decommit below finds none of them left to invalidate -- only its mappings in other address
    // spaces, if any. Unmapping changes nothing visible even where a decommit then fails.
    if (st == ZX_OK && op == ZX_VMAR_OP_DECOMMIT)
        pt_unmap(as, addr, len);
    // The VMO's own errors (ZX_ERR_NO_MEMORY) stop the walk; pages done stay done, as in the VMO.
    for (struct vm_mapping *m = mapping_in_range(vmar, addr, end); st == ZX_OK && m;
         m = mapping_in_range(vmar, vm_region_end(&m->r), end)) {
        vaddr_t s = MAX(addr, vm_region_base(&m->r));
        vaddr_t e = MIN(end, vm_region_end(&m->r));
        uint64_t off = m->vmo_offset + (s - vm_region_base(&m->r));
        if (op == ZX_VMAR_OP_MAP_RANGE) {
            vm_mapping_assert_locked(m);
            st = vm_mapping_map_present_locked(m, s, e - s);
            continue;
        }
        // Parts of a mapping beyond the VMO's end have nothing to commit or decommit.
        uint64_t size = vmo_get_size(m->vmo);
        if (off >= size)
            continue;
        st = vmo_op_range(m->vmo, op == ZX_VMAR_OP_COMMIT ? ZX_VMO_OP_COMMIT : ZX_VMO_OP_DECOMMIT,
                          off, MIN(e - s, size - off));
    }
    mutex_release(&as->lock);
    return st;
}

// --- Checking ---

static bool check_fail(const char *what, const struct vm_region *r) {
    kprintf("vmar_check: %s at [%#llx, +%#llx)\n", what,
            r ? (unsigned long long)vm_region_base(r) : 0ull,
            r ? (unsigned long long)vm_region_size(r) : 0ull);
    return false;
}

static bool check_vmar(struct vm_aspace *as, struct vmar *v) {
    if (!v->alive)
        return check_fail("dead VMAR in the tree", &v->r);
    if (v->aspace != as)
        return check_fail("VMAR of another address space", &v->r);
    if (v->children.lo != vmar_base(v) || v->children.hi != vmar_base(v) + vmar_size(v))
        return check_fail("children's range differs from the VMAR", &v->r);
    if (!vmar_tree_check(&v->children))
        return check_fail("children's tree", &v->r);
    return true;
}

bool vmar_check_locked(struct vm_aspace *as) {
    ASSERT_MUTEX_HELD(&as->lock);
    struct vmar *root = as->root;
    if (!root)
        return true;
    if (!root->is_root || root->r.parent || vmar_base(root) != USER_ASPACE_BASE ||
        vmar_base(root) + vmar_size(root) != USER_ASPACE_END)
        return check_fail("root VMAR's range", &root->r);
    if (!check_vmar(as, root))
        return false;
    size_t depth;
    bool seen_last_found = false;
    for (struct vm_region *r = vmar_walk_first(root, &depth); r;
         r = vmar_walk_next(root, r, &depth)) {
        struct vmar *parent = r->parent;
        if (!parent)
            return check_fail("no parent", r);
        if (!IS_ALIGNED(vm_region_base(r), PAGE_SIZE) || !IS_ALIGNED(vm_region_size(r), PAGE_SIZE))
            return check_fail("unaligned", r);
        struct vmar *v = vm_region_vmar(r);
        if (v) {
            if (v->is_root)
                return check_fail("a second root", r);
            if (!check_vmar(as, v))
                return false;
            if (v->flags & VMAR_CAN_MAP_RWX & ~parent->flags)
                return check_fail("CAN_MAP beyond the parent's", r);
            continue;
        }
        struct vm_mapping *m = vm_region_mapping(r);
        if (r->kind != VM_REGION_MAPPING || !m->vmo || m->aspace != as)
            return check_fail("bad mapping", r);
        if (m->perms & ~m->max_perms)
            return check_fail("perms beyond max_perms", r);
        if (m->max_perms & ~caps_perms(parent->flags))
            return check_fail("max_perms beyond the VMAR's CAN_MAP", r);
        if ((m->perms & (ZX_VM_PERM_WRITE | ZX_VM_PERM_EXECUTE)) && !(m->perms & ZX_VM_PERM_READ))
            return check_fail("write or execute without read", r);
        if (m->vmo_offset > UINT64_MAX - vm_region_size(r) || !IS_ALIGNED(m->vmo_offset, PAGE_SIZE))
            return check_fail("VMO offset", r);
        seen_last_found |= m == as->last_found;
    }
    if (as->last_found && !seen_last_found)
        return check_fail("the last mapping found is not in the tree", &as->last_found->r);
    return true;
}

bool vm_aspace_check(struct vm_aspace *as) {
    mutex_acquire(&as->lock);
    bool ok = vmar_check_locked(as);
    mutex_release(&as->lock);
    return ok;
}
