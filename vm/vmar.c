// Regions and mappings: allocate, map, unmap, protect, destroy, op_range, placement (ASLR) and
// the checker. See vmar.h for the shape, the locks and the invariants.
//
// Every operation follows one pattern: check all arguments, take the aspace lock, check the state
// and everything the tree must allow, allocate every structure the change needs (so that
// ZX_ERR_NO_MEMORY leaves nothing changed), then change. References and memory that the change
// gives up (VMAR objects leaving a tree, mappings with their VMO references) are dropped after
// the aspace lock is released.
#include "vm/vmar.h"

#include <zircon/syscalls.h>

#include "kernel/assert.h"
#include "kernel/heap.h"
#include "kernel/printf.h"
#include "kernel/string.h"
#include "syscalls/user_copy.h"
#include "vm/pmm.h"
#include "vm/vmo.h"

// Provided by the VMO layer once it exists (see vm/vmo.h); NULL until then.
#pragma weak vmo_lookup_pages

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

uint32_t vmar_mmu_flags(uint32_t perms, bool writable) {
    uint32_t f = ARCH_MMU_FLAG_READ | ARCH_MMU_FLAG_USER;
    if ((perms & ZX_VM_PERM_WRITE) && writable)
        f |= ARCH_MMU_FLAG_WRITE;
    if (perms & ZX_VM_PERM_EXECUTE)
        f |= ARCH_MMU_FLAG_EXECUTE;
    return f;
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

void vmar_finish_deferred(struct vmar *releases, struct vm_mapping *frees) {
    while (frees) {
        struct vm_mapping *m = frees;
        frees = m->free_next;
        kobject_release(vmo_object(m->vmo));
        kfree(m);
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
                                     uint64_t vmo_offset) {
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
                                               struct vm_mapping *m2) {
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

// Takes `m` out of its VMAR and its VMO (its PTEs are already gone); frees it later.
static void mapping_remove_locked(struct vm_mapping *m, struct vm_mapping **frees) {
    ASSERT_MUTEX_HELD(&m->aspace->lock);
    vmar_tree_remove(&m->r.parent->children, &m->r.node);
    m->r.parent = NULL;
    vmo_remove_mapping(m->vmo, m);
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
                                     vaddr_t *out) {
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
                                uint64_t size, uint64_t align, vaddr_t *out_base) {
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

// --- unmap ---

// Checks that unmapping [addr, end) from v's children is allowed: ZX_ERR_INVALID_ARGS if it cuts
// a sub-VMAR (or touches one at all when !destroy_vmars). *need_split: one mapping strictly
// contains the range (a hole in its middle needs a second struct).
static zx_status_t unmap_check_locked(struct vmar *v, vaddr_t addr, vaddr_t end,
                                      bool destroy_vmars, bool *need_split) {
    ASSERT_MUTEX_HELD(&v->aspace->lock);
    *need_split = false;
    for (struct vmar_tree_node *n = vmar_tree_first_ending_after(&v->children, addr);
         n && n->base < end; n = vmar_tree_next(n)) {
        if (region_of(n)->kind == VM_REGION_VMAR) {
            if (!destroy_vmars || n->base < addr || vmar_tree_node_end(n) > end)
                return ZX_ERR_INVALID_ARGS;
        } else if (n->base < addr && vmar_tree_node_end(n) > end) {
            *need_split = true;
        }
    }
    return ZX_OK;
}

// Unmaps [addr, end) from v's children, as checked by unmap_check_locked (`*spare` holds a
// struct if it said a split is needed; it is used and cleared).
static void unmap_locked(struct vmar *v, vaddr_t addr, vaddr_t end, struct vm_mapping **spare,
                         struct vmar **releases, struct vm_mapping **frees) {
    ASSERT_MUTEX_HELD(&v->aspace->lock);
    // The PTEs of the whole range first, in one pass that skips holes at every level.
    pt_unmap(v->aspace, addr, end - addr);
    struct vmar_tree_node *n = vmar_tree_first_ending_after(&v->children, addr);
    while (n && n->base < end) {
        struct vmar_tree_node *next = vmar_tree_next(n);
        struct vm_region *r = region_of(n);
        if (r->kind == VM_REGION_VMAR) {
            vmar_destroy_locked(vm_region_vmar(r), releases, frees);
        } else {
            struct vm_mapping *m = vm_region_mapping(r);
            vaddr_t mb = vm_region_base(r), me = vm_region_end(r);
            if (mb >= addr && me <= end) {
                mapping_remove_locked(m, frees);
            } else if (mb < addr && me > end) {
                ASSERT(*spare);
                mapping_split_locked(m, end, *spare);
                *spare = NULL;
                mapping_set_range_locked(m, mb, addr - mb, m->vmo_offset);
            } else if (mb < addr) {
                mapping_set_range_locked(m, mb, addr - mb, m->vmo_offset);
            } else {
                mapping_set_range_locked(m, end, me - end, m->vmo_offset + (end - mb));
            }
        }
        n = next;
    }
}

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

zx_status_t vmar_unmap(struct vmar *vmar, vaddr_t addr, uint64_t len) {
    if (!IS_ALIGNED(addr, PAGE_SIZE) || !round_len(&len))
        return ZX_ERR_INVALID_ARGS;
    struct vm_aspace *as = vmar->aspace;
    struct vmar *releases = NULL;
    struct vm_mapping *frees = NULL, *spare = NULL;
    zx_status_t st = ZX_OK;
    mutex_acquire(&as->lock);
    bool need_split = false;
    if (!vmar->alive)
        st = ZX_ERR_BAD_STATE;
    else if (!in_vmar(vmar, addr, len))
        st = ZX_ERR_INVALID_ARGS;
    else
        st = unmap_check_locked(vmar, addr, addr + len, true, &need_split);
    if (st == ZX_OK && need_split && !(spare = kmalloc(sizeof(*spare))))
        st = ZX_ERR_NO_MEMORY;
    if (st == ZX_OK)
        unmap_locked(vmar, addr, addr + len, &spare, &releases, &frees);
    mutex_release(&as->lock);
    kfree(spare);
    vmar_finish_deferred(releases, frees);
    return st;
}

// --- map ---

// Where the pages of `m` (perms with READ) go now: fault-around and MAP_RANGE.
struct present_ctx {
    struct vm_mapping *m;
    vaddr_t skip;
    size_t mapped;
};

static zx_status_t map_present_cb(void *ctx, uint64_t offset, paddr_t pa, bool writable) {
    struct present_ctx *c = ctx;
    struct vm_mapping *m = c->m;
    vaddr_t va = vm_region_base(&m->r) + (offset - m->vmo_offset);
    if (va == c->skip)
        return ZX_ERR_NEXT;
    struct vm_aspace *as = m->aspace;
    mutex_acquire(&as->pt_lock);
    paddr_t cur;
    zx_status_t st = arch_aspace_query(&as->arch, va, &cur, NULL);
    if (st == ZX_ERR_NOT_FOUND) {
        st = arch_aspace_map_pages(&as->arch, va, &pa, 1, vmar_mmu_flags(m->perms, writable));
        if (st == ZX_OK)
            c->mapped++;
    }
    mutex_release(&as->pt_lock);
    return st == ZX_OK ? ZX_ERR_NEXT : st;
}

zx_status_t vm_mapping_map_present_locked(struct vm_mapping *m, vaddr_t va, uint64_t len,
                                          vaddr_t skip) {
    ASSERT_MUTEX_HELD(&m->aspace->lock);
    if (!(m->perms & ZX_VM_PERM_READ))
        return ZX_OK;
    struct present_ctx c = {.m = m, .skip = skip};
    uint64_t off = m->vmo_offset + (va - vm_region_base(&m->r));
    if (vmo_lookup_pages) {
        zx_status_t st = vmo_lookup_pages(m->vmo, off, len, map_present_cb, &c);
        vm_fault_stats.around += c.mapped;
        return st;
    }
    // Without the VMO's look-up: read faults, skipping the shared zero page (uncommitted content).
    struct vm_aspace *as = m->aspace;
    for (uint64_t i = 0; i < len; i += PAGE_SIZE) {
        if (va + i == skip)
            continue;
        mutex_acquire(&as->pt_lock);
        uint64_t seq = as->pt_seq;
        mutex_release(&as->pt_lock);
        paddr_t pa;
        bool writable;
        zx_status_t st = vmo_fault_page(m->vmo, off + i, 0, &pa, &writable);
        if (st == ZX_ERR_OUT_OF_RANGE)
            break;
        if (st != ZX_OK)
            return st;
        vm_page_t *page = pmm_page_from_paddr(pa);
        if (page && page->state == PAGE_STATE_ZERO)
            continue;
        mutex_acquire(&as->pt_lock);
        paddr_t cur;
        if (as->pt_seq == seq && arch_aspace_query(&as->arch, va + i, &cur, NULL) != ZX_OK)
            st = arch_aspace_map_pages(&as->arch, va + i, &pa, 1,
                                       vmar_mmu_flags(m->perms, writable));
        mutex_release(&as->pt_lock);
        if (st != ZX_OK)
            return st;
    }
    return ZX_OK;
}

zx_status_t vmar_map(struct vmar *vmar, uint32_t options, uint64_t vmar_offset, struct vmo *vmo,
                     uint64_t vmo_offset, uint64_t len, uint32_t max_perms, vaddr_t *out_addr) {
    const uint32_t allowed = VMAR_PERM_RWX | ZX_VM_SPECIFIC | ZX_VM_SPECIFIC_OVERWRITE |
                             ZX_VM_OFFSET_IS_UPPER_LIMIT | ZX_VM_MAP_RANGE | ZX_VM_ALLOW_FAULTS |
                             ZX_VM_REQUIRE_NON_RESIZABLE | VMAR_ALIGN_MASK;
    if (options & ~allowed)
        return ZX_ERR_INVALID_ARGS;
    uint64_t align;
    zx_status_t st = decode_align(options, &align);
    if (st != ZX_OK)
        return st;
    uint32_t perms = options & VMAR_PERM_RWX;
    bool overwrite = options & ZX_VM_SPECIFIC_OVERWRITE;
    bool specific = (options & ZX_VM_SPECIFIC) || overwrite;
    bool upper = options & ZX_VM_OFFSET_IS_UPPER_LIMIT;
    if (((perms & (ZX_VM_PERM_WRITE | ZX_VM_PERM_EXECUTE)) && !(perms & ZX_VM_PERM_READ)) ||
        ((options & ZX_VM_MAP_RANGE) && overwrite) || (specific && upper) ||
        (!specific && !upper && vmar_offset != 0) || !IS_ALIGNED(vmar_offset, PAGE_SIZE) ||
        !round_len(&len) || !IS_ALIGNED(vmo_offset, PAGE_SIZE))
        return ZX_ERR_INVALID_ARGS;
    if (vmo_offset > UINT64_MAX - len)
        return ZX_ERR_OUT_OF_RANGE;
    if (perms & ~max_perms)
        return ZX_ERR_ACCESS_DENIED;
    if ((options & ZX_VM_REQUIRE_NON_RESIZABLE) && vmo_is_resizable(vmo))
        return ZX_ERR_NOT_SUPPORTED;

    struct vm_mapping *m = kzalloc(sizeof(*m));
    if (!m)
        return ZX_ERR_NO_MEMORY;
    struct vm_aspace *as = vmar->aspace;
    struct vmar *releases = NULL;
    struct vm_mapping *frees = NULL, *spare = NULL;
    vaddr_t base = 0;
    mutex_acquire(&as->lock);
    if (!vmar->alive)
        st = ZX_ERR_BAD_STATE;
    else if (perms & ~caps_perms(vmar->flags))
        st = ZX_ERR_ACCESS_DENIED;
    else if ((specific || upper) && !(vmar->flags & ZX_VM_CAN_MAP_SPECIFIC))
        st = ZX_ERR_ACCESS_DENIED;
    else
        st = place_locked(vmar, specific, upper, vmar_offset, len, align, &base);
    if (st == ZX_ERR_ALREADY_EXISTS && overwrite) {
        // Replace whatever mappings are there (never sub-VMARs), all or nothing.
        bool need_split;
        st = unmap_check_locked(vmar, base, base + len, false, &need_split);
        if (st == ZX_OK && need_split && !(spare = kmalloc(sizeof(*spare))))
            st = ZX_ERR_NO_MEMORY;
        if (st == ZX_OK)
            unmap_locked(vmar, base, base + len, &spare, &releases, &frees);
    }
    if (st == ZX_OK) {
        m->r.kind = VM_REGION_MAPPING;
        m->r.node.base = base;
        m->r.node.size = len;
        m->r.parent = vmar;
        m->aspace = as;
        m->vmo = vmo;
        kobject_retain(vmo_object(vmo));
        m->vmo_offset = vmo_offset;
        m->perms = perms;
        m->max_perms = max_perms & caps_perms(vmar->flags);
        vmar_tree_insert(&vmar->children, &m->r.node);
        vmo_add_mapping(vmo, m);
        if (options & ZX_VM_MAP_RANGE) {
            st = vm_mapping_map_present_locked(m, base, len, 0);
            if (st != ZX_OK) {
                pt_unmap(as, base, len);
                mapping_remove_locked(m, &frees);
            }
        }
    } else {
        kfree(m);
    }
    mutex_release(&as->lock);
    kfree(spare);
    vmar_finish_deferred(releases, frees);
    if (st == ZX_OK)
        *out_addr = base;
    return st;
}

// --- protect ---

static struct vm_mapping *first_mapping_ending_after(struct vmar *v, vaddr_t addr);

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
static void merge_locked(struct vm_mapping *a, struct vm_mapping *b, struct vm_mapping **frees) {
    ASSERT_MUTEX_HELD(&a->aspace->lock);
    struct vm_aspace *as = a->aspace;
    mutex_acquire(&as->pt_lock);
    vmar_tree_remove(&b->r.parent->children, &b->r.node);
    b->r.parent = NULL;
    vmar_tree_update(&a->r.parent->children, &a->r.node, vm_region_base(&a->r),
                     vm_region_size(&a->r) + vm_region_size(&b->r));
    mutex_release(&as->pt_lock);
    vmo_remove_mapping(b->vmo, b);
    defer_free(frees, b);
}

// Gives `m` new perms and brings its PTEs in line. A page keeps WRITE only through a fault that
// asks the VMO (the zero page and shared pages must stay read-only), so raising perms never raises
// PTEs above read(+execute); lowering them lowers every PTE.
static void mapping_protect_locked(struct vm_mapping *m, uint32_t perms) {
    ASSERT_MUTEX_HELD(&m->aspace->lock);
    struct vm_aspace *as = m->aspace;
    vaddr_t base = vm_region_base(&m->r);
    size_t pages = vm_region_size(&m->r) / PAGE_SIZE;
    mutex_acquire(&as->pt_lock);
    uint32_t old = m->perms;
    m->perms = perms;
    zx_status_t st = ZX_OK;
    if (!(perms & ZX_VM_PERM_READ))
        st = arch_aspace_unmap(&as->arch, base, pages);
    else if (old & ZX_VM_PERM_READ)
        st = arch_aspace_protect(&as->arch, base, pages, vmar_mmu_flags(perms, false));
    ASSERT_MSG(st == ZX_OK, "protect [%#llx, +%zu pages): %d", (unsigned long long)base, pages, st);
    mutex_release(&as->pt_lock);
}

zx_status_t vmar_protect(struct vmar *vmar, uint32_t perms, vaddr_t addr, uint64_t len) {
    if ((perms & ~VMAR_PERM_RWX) ||
        ((perms & (ZX_VM_PERM_WRITE | ZX_VM_PERM_EXECUTE)) && !(perms & ZX_VM_PERM_READ)) ||
        !IS_ALIGNED(addr, PAGE_SIZE) || !round_len(&len))
        return ZX_ERR_INVALID_ARGS;
    struct vm_aspace *as = vmar->aspace;
    struct vm_mapping *frees = NULL, *spares[2] = {NULL, NULL};
    vaddr_t end = addr + len;
    zx_status_t st = ZX_OK;
    mutex_acquire(&as->lock);
    if (!vmar->alive)
        st = ZX_ERR_BAD_STATE;
    else if (!in_vmar(vmar, addr, len))
        st = ZX_ERR_INVALID_ARGS;
    // Check the whole range first, over the mappings at any depth in address order (as Zircon's
    // enumerator does): a gap is NOT_FOUND, perms beyond a mapping's max_perms ACCESS_DENIED, and
    // a mapping inside a sub-VMAR INVALID_ARGS (protect changes this VMAR's own mappings only).
    size_t splits = 0;
    vaddr_t expected = addr;
    for (struct vm_mapping *m = first_mapping_ending_after(vmar, addr); st == ZX_OK && expected < end;
         m = first_mapping_ending_after(vmar, expected)) {
        if (!m || vm_region_base(&m->r) > expected)
            st = ZX_ERR_NOT_FOUND;
        else if (perms & ~m->max_perms)
            st = ZX_ERR_ACCESS_DENIED;
        else if (m->r.parent != vmar)
            st = ZX_ERR_INVALID_ARGS;
        else if (m->perms != perms)
            splits += (vm_region_base(&m->r) < addr) + (vm_region_end(&m->r) > end);
        if (st == ZX_OK)
            expected = vm_region_end(&m->r);
    }
    struct vmar_tree_node *first = st == ZX_OK ? vmar_tree_find(&vmar->children, addr) : NULL;
    for (size_t i = 0; st == ZX_OK && i < splits; i++) {
        if (!(spares[i] = kmalloc(sizeof(struct vm_mapping))))
            st = ZX_ERR_NO_MEMORY;
    }
    if (st == ZX_OK) {
        size_t used = 0;
        struct vmar_tree_node *n = first;
        while (n && n->base < end) {
            struct vmar_tree_node *next = vmar_tree_next(n);
            struct vm_mapping *m = vm_region_mapping(region_of(n));
            if (m->perms != perms) {
                if (vm_region_base(&m->r) < addr) {
                    m = mapping_split_locked(m, addr, spares[used]);
                    spares[used++] = NULL;
                }
                if (vm_region_end(&m->r) > end) {
                    mapping_split_locked(m, end, spares[used]);
                    spares[used++] = NULL;
                }
                mapping_protect_locked(m, perms);
            }
            n = next;
        }
        // Merge equal neighbours from the mapping before the range to the one after it.
        n = vmar_tree_find(&vmar->children, addr);
        struct vmar_tree_node *p = vmar_tree_prev(n);
        if (p)
            n = p;
        while (n && n->base < end) {
            struct vmar_tree_node *next = vmar_tree_next(n);
            if (!next)
                break;
            if (mergeable(region_of(n), region_of(next)))
                merge_locked(vm_region_mapping(region_of(n)), vm_region_mapping(region_of(next)),
                             &frees);
            else
                n = next;
        }
    }
    mutex_release(&as->lock);
    kfree(spares[0]);
    kfree(spares[1]);
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

// The first mapping at any depth below `v` that ends after `addr`, or NULL: mappings in address
// order, seen through nested VMARs (op_range).
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

// --- op_range ---

zx_status_t vmar_op_range(struct vmar *vmar, uint32_t op, vaddr_t addr, uint64_t len,
                          zx_rights_t rights) {
    if ((op != ZX_VMAR_OP_COMMIT && op != ZX_VMAR_OP_DECOMMIT && op != ZX_VMAR_OP_MAP_RANGE) ||
        !IS_ALIGNED(addr, PAGE_SIZE) || !round_len(&len))
        return ZX_ERR_INVALID_ARGS;
    bool writes = op == ZX_VMAR_OP_COMMIT || op == ZX_VMAR_OP_DECOMMIT;
    struct vm_aspace *as = vmar->aspace;
    vaddr_t end = addr + len;
    zx_status_t st = ZX_OK;
    mutex_acquire(&as->lock);
    if (!vmar->alive)
        st = ZX_ERR_BAD_STATE;
    else if (!in_vmar(vmar, addr, len))
        st = ZX_ERR_OUT_OF_RANGE;
    else if (writes && !(rights & ZX_RIGHT_WRITE))
        st = ZX_ERR_ACCESS_DENIED;
    // The range must be covered by mappings without gaps; check all before doing anything.
    vaddr_t expected = addr;
    for (struct vm_mapping *m = first_mapping_ending_after(vmar, addr); st == ZX_OK && expected < end;
         m = first_mapping_ending_after(vmar, expected)) {
        if (!m || vm_region_base(&m->r) > expected)
            st = ZX_ERR_BAD_STATE;
        else if (writes && !(m->max_perms & ZX_VM_PERM_WRITE))
            st = ZX_ERR_ACCESS_DENIED;
        else
            expected = vm_region_end(&m->r);
    }
    for (struct vm_mapping *m = first_mapping_ending_after(vmar, addr);
         st == ZX_OK && m && vm_region_base(&m->r) < end;
         m = first_mapping_ending_after(vmar, vm_region_end(&m->r))) {
        vaddr_t s = MAX(addr, vm_region_base(&m->r));
        vaddr_t e = MIN(end, vm_region_end(&m->r));
        uint64_t off = m->vmo_offset + (s - vm_region_base(&m->r));
        if (op == ZX_VMAR_OP_MAP_RANGE) {
            st = vm_mapping_map_present_locked(m, s, e - s, 0);
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
    }
    return true;
}

bool vm_aspace_check(struct vm_aspace *as) {
    mutex_acquire(&as->lock);
    bool ok = vmar_check_locked(as);
    mutex_release(&as->lock);
    return ok;
}
