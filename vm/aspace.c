// Address spaces: creation and teardown, activation, ZX_INFO_PROCESS_MAPS, the fault path and the
// range changes the VMO layer asks for. Pure code: the trap entry (CR2, the error code, the
// user-copy instruction, the console report) is the arch's (arch/x86_64/faults.c). Contract and
// locks: vm/aspace.h; invariants: vm/vmar.h.
//
// The fault path, step by step (vm_fault):
//   1. aspace lock; descend from the root VMAR through nested VMARs to the mapping holding va
//      (O(depth x log n)); none: ZX_ERR_NOT_FOUND;
//   2. check the access against the mapping's perms: ZX_ERR_ACCESS_DENIED;
//   3. note pt_seq, then ask the VMO for the page at the mapping's offset (vmo_fault_page: an
//      existing page, the shared zero page for a read of zero content, a fresh zeroed page, or a
//      copy or move of a shared page for a write); beyond its end: ZX_ERR_NOT_FOUND;
//   4. under pt_lock, if pt_seq has not moved (no range change since step 3), install the PTE with
//      arch_aspace_remap_page (it replaces a read-only PTE on an upgrade); otherwise retry 3;
//   5. optionally map already-present neighbours (fault-around), release the aspace lock.
#include "vm/vmar.h"

#include "arch/x86_64/smp.h"
#include "arch/x86_64/tlb.h"
#include "kernel/assert.h"
#include "kernel/heap.h"
#include "kernel/printf.h"
#include "kernel/string.h"
#include "vm/compressor.h"
#include "vm/pmm.h"
#include "vm/upcalls.h"
#include "vm/vmo.h"

unsigned vm_fault_around_pages = 16;
struct vm_fault_stats vm_fault_stats;

// Every address space from creation to the start of its destruction (for page aging).
static struct mutex aspace_list_lock = MUTEX_INIT(aspace_list_lock, "aspace_list");
static struct list_node aspace_list GUARDED_BY(aspace_list_lock) = LIST_INITIAL(aspace_list);

struct vm_aspace *vm_aspace_active_cpu[SMP_MAX_CPUS];

zx_status_t vm_aspace_create(const char *name, struct vm_aspace **out) {
    ASSERT(aslr_initialized());  // kmain (or the host test environment) calls aslr_init first
    struct vm_aspace *as = kzalloc(sizeof(*as));
    if (!as)
        return ZX_ERR_NO_MEMORY;
    mutex_init(&as->lock, "aspace");
    mutex_init(&as->pt_lock, "aspace_pt");
    zx_status_t st = arch_aspace_create(&as->arch);
    if (st != ZX_OK) {
        kfree(as);
        return st == ZX_ERR_BAD_STATE ? ZX_ERR_BAD_STATE : ZX_ERR_NO_MEMORY;
    }
    as->refs = 1;  // the owner's, dropped by vm_aspace_destroy
    as->aslr = aslr_enabled();
    aslr_prng_seed(&as->prng, aslr_next_seed());
    if (name) {
        size_t len = strnlen(name, ZX_MAX_NAME_LEN - 1);
        memcpy(as->name, name, len);
        as->name[len] = '\0';
    }
    st = vmar_create_root(as, &as->root);
    if (st != ZX_OK) {
        arch_aspace_destroy(&as->arch);
        kfree(as);
        return st;
    }
    mutex_acquire(&aspace_list_lock);
    list_add_tail(&aspace_list, &as->all_link);
    mutex_release(&aspace_list_lock);
    *out = as;
    return ZX_OK;
}

size_t vm_aspace_harvest(void (*fn)(void *ctx, paddr_t pa), void *ctx) {
    size_t n = 0;
    mutex_acquire(&aspace_list_lock);
    list_for_each(&aspace_list, it) {
        struct vm_aspace *as = containerof(it, struct vm_aspace, all_link);
        mutex_acquire(&as->pt_lock);
        n += arch_aspace_harvest_accessed(&as->arch, fn, ctx);
        mutex_release(&as->pt_lock);
    }
    mutex_release(&aspace_list_lock);
    return n;
}

void vm_aspace_release(struct vm_aspace *as) {
    if (__atomic_sub_fetch(&as->refs, 1, __ATOMIC_ACQ_REL) != 0)
        return;
    ASSERT_MSG(!as->arch.root, "address space '%s' freed before it was destroyed", as->name);
    kfree(as);
}

void vm_aspace_destroy(struct vm_aspace *as) {
    ASSERT_MSG(__atomic_load_n(&as->arch.active_cpus, __ATOMIC_ACQUIRE) == 0,
               "address space '%s' destroyed while active on CPUs %#llx", as->name,
               (unsigned long long)as->arch.active_cpus);
    struct vmar *releases = NULL;
    struct vm_mapping *frees = NULL;
    mutex_acquire(&aspace_list_lock);  // aging no longer looks at it
    list_delete(&as->all_link);
    mutex_release(&aspace_list_lock);
    mutex_acquire(&as->lock);
    struct vmar *root = as->root;
    as->root = NULL;
    if (root) {
        // No unmapping of the whole user range (its empty 128 TiB cost more than the rest of a
        // process's life): no CPU runs in this space, and arch_aspace_destroy frees its tables,
        // only those that exist, once every mapping has left its VMO below. Until then a range
        // change on one of those VMOs may still clear entries here, under pt_lock, as always.
        vmar_assert_locked(root);
        vmar_destroy_locked(root, &releases, &frees);
    }
    // With root gone nothing joins the spare mapping records any more (vmar_finish_deferred).
    struct vm_mapping *spares = as->spare_mappings;
    as->spare_mappings = NULL;
    as->num_spare_mappings = 0;
    mutex_release(&as->lock);
    while (spares) {
        struct vm_mapping *m = spares;
        spares = m->free_next;
        kfree(m);
    }
    // Every mapping has left its VMO: nothing calls vm_mapping_range_change on this space now.
    vmar_finish_deferred(releases, frees);
    mutex_acquire(&as->pt_lock);
    arch_aspace_destroy(&as->arch);
    mutex_release(&as->pt_lock);
    if (root)
        kobject_release(&root->obj);
    vm_aspace_release(as);
}

void vm_aspace_activate(struct vm_aspace *as) {
    vm_aspace_active_cpu[smp_cpu_num()] = as;
    arch_aspace_activate(as ? &as->arch : NULL);
}

struct vmar *vm_aspace_root_vmar(struct vm_aspace *as) {
    mutex_acquire(&as->lock);
    struct vmar *root = as->root;
    ASSERT_MSG(root != NULL, "address space '%s' was destroyed", as->name);
    kobject_retain(&root->obj);
    mutex_release(&as->lock);
    return root;
}

// --- ZX_INFO_PROCESS_MAPS ---

static zx_status_t count_page(void *ctx, uint64_t offset, paddr_t pa, bool writable) {
    (*(size_t *)ctx)++;
    return ZX_ERR_NEXT;
}

static void emit(zx_info_maps_t *out, size_t max, size_t *n, const zx_info_maps_t *rec) {
    if (*n < max)
        out[*n] = *rec;
    (*n)++;
}

static void set_name(zx_info_maps_t *rec, const char *name) {
    size_t len = strnlen(name, ZX_MAX_NAME_LEN - 1);
    memcpy(rec->name, name, len);
    rec->name[len] = '\0';
}

void vm_aspace_get_maps(struct vm_aspace *as, zx_info_maps_t *out, size_t max, size_t *out_actual,
                        size_t *out_avail) {
    size_t n = 0;
    zx_info_maps_t rec;
    mutex_acquire(&as->lock);
    memset(&rec, 0, sizeof(rec));
    set_name(&rec, as->name);
    rec.base = USER_ASPACE_BASE;
    rec.size = USER_ASPACE_END - USER_ASPACE_BASE;
    rec.depth = 0;
    rec.type = ZX_INFO_MAPS_TYPE_ASPACE;
    emit(out, max, &n, &rec);
    struct vmar *root = as->root;
    if (root) {
        memset(&rec, 0, sizeof(rec));
        set_name(&rec, "root");
        rec.base = vmar_base(root);
        rec.size = vmar_size(root);
        rec.depth = 1;
        rec.type = ZX_INFO_MAPS_TYPE_VMAR;
        emit(out, max, &n, &rec);
        size_t depth;
        for (struct vm_region *r = vmar_walk_first(root, &depth); r;
             r = vmar_walk_next(root, r, &depth)) {
            memset(&rec, 0, sizeof(rec));
            rec.base = vm_region_base(r);
            rec.size = vm_region_size(r);
            rec.depth = depth + 1;
            struct vm_mapping *m = vm_region_mapping(r);
            if (!m) {
                set_name(&rec, "useralloc");
                rec.type = ZX_INFO_MAPS_TYPE_VMAR;
            } else {
                // Only records that fit are filled in (the rest are only counted).
                rec.type = ZX_INFO_MAPS_TYPE_MAPPING;
                if (n < max) {
                    vmo_get_name(m->vmo, rec.name);
                    rec.name[ZX_MAX_NAME_LEN - 1] = '\0';
                    rec.u.mapping.mmu_flags = m->perms;
                    rec.u.mapping.vmo_koid = vmo_object(m->vmo)->koid;
                    rec.u.mapping.vmo_offset = m->vmo_offset;
                    size_t pages = 0;
                    if (vmo_lookup_pages(m->vmo, m->vmo_offset, rec.size, count_page, &pages) != ZX_OK)
                        pages = 0;
                    rec.u.mapping.committed_pages = pages;
                }
            }
            emit(out, max, &n, &rec);
        }
    }
    mutex_release(&as->lock);
    *out_actual = MIN(n, max);
    *out_avail = n;
}

// --- Faults ---

// Inline into vm_fault: faults come in runs over one mapping, found by the first compare.
static ALWAYS_INLINE struct vm_mapping *find_mapping_locked(struct vm_aspace *as, vaddr_t va)
    REQUIRES(as->lock) {
    ASSERT_MUTEX_HELD(&as->lock);
    struct vm_mapping *last = as->last_found;
    if (last && va >= vm_region_base(&last->r) && va < vm_region_end(&last->r))
        return last;
    struct vmar *v = as->root;
    while (v) {
        struct vm_region *r = vm_region_from_node(vmar_tree_find(&v->children, va));
        if (!r)
            return NULL;
        if (r->kind == VM_REGION_MAPPING) {
            as->last_found = vm_region_mapping(r);
            return as->last_found;
        }
        v = vm_region_vmar(r);
    }
    return NULL;
}

struct vm_mapping *vm_aspace_find_mapping_locked(struct vm_aspace *as, vaddr_t va) {
    return find_mapping_locked(as, va);
}

// Maps the present pages of the fault-around window holding `page` (an aligned block of
// vm_fault_around_pages pages, clipped to the mapping).
static void fault_around_locked(struct vm_mapping *m, vaddr_t page) REQUIRES(m->aspace->lock) {
    ASSERT_MUTEX_HELD(&m->aspace->lock);
    uint64_t window = (uint64_t)vm_fault_around_pages * PAGE_SIZE;
    vaddr_t s = MAX(ROUNDDOWN(page, window), vm_region_base(&m->r));
    vaddr_t e = MIN(ROUNDDOWN(page, window) + window, vm_region_end(&m->r));
    (void)vm_mapping_map_present_locked(m, s, e - s);
}

zx_status_t vm_fault(struct vm_aspace *as, vaddr_t va, uint32_t flags, const char **out_reason) {
    if (!as || va < USER_ASPACE_BASE || va >= USER_ASPACE_END) {
        if (out_reason)
            *out_reason = as ? "outside the user address space" : "no address space";
        return ZX_ERR_NOT_FOUND;
    }
    const char *why = "resolved";
    vaddr_t page = ROUNDDOWN(va, (vaddr_t)PAGE_SIZE);
    zx_status_t st;
    mutex_acquire(&as->lock);
restart:;
    struct vm_mapping *m = find_mapping_locked(as, va);
    uint32_t need = (flags & VM_FAULT_WRITE)         ? ZX_VM_PERM_WRITE
                    : (flags & VM_FAULT_INSTRUCTION) ? ZX_VM_PERM_EXECUTE
                                                     : ZX_VM_PERM_READ;
    if (!m) {
        st = ZX_ERR_NOT_FOUND;
        why = "no mapping";
    } else if (!(m->perms & need)) {
        st = ZX_ERR_ACCESS_DENIED;
        why = "not permitted by the mapping";
    } else {
        uint64_t offset = m->vmo_offset + (page - vm_region_base(&m->r));
        paddr_t pa = 0;
        // Only a read fault may fault around (below): a write does not need the count.
        uint64_t decompressed = (flags & VM_FAULT_WRITE) ? 0 : compressor_decompression_count();
        for (;;) {
            // A plain read: the check below, under pt_lock, is the one that counts.
            uint64_t seq = __atomic_load_n(&as->pt_seq, __ATOMIC_ACQUIRE);
            bool writable;
            struct page_request *wait;
            st = vmo_fault_page_or_wait(m->vmo, offset,
                                        (flags & VM_FAULT_WRITE) ? VMO_FAULT_WRITE : 0, &pa,
                                        &writable, &wait);
            if (st == ZX_ERR_SHOULD_WAIT) {
                // A pager VMO is missing the page: wait without the address-space lock (the
                // pager may need it), then look the mapping up again.
                struct vmo *vmo = m->vmo;
                kobject_retain(vmo_object(vmo));
                mutex_release(&as->lock);
                st = vmo_wait_page_request(vmo, wait);
                kobject_release(vmo_object(vmo));
                mutex_acquire(&as->lock);
                if (st == ZX_OK)
                    goto restart;
                why = "the pager did not supply the page";
                break;
            }
            if (st != ZX_OK) {
                if (st == ZX_ERR_OUT_OF_RANGE) {
                    st = ZX_ERR_NOT_FOUND;
                    why = "beyond the end of the VMO";
                } else if (st == ZX_ERR_BAD_STATE) {
                    why = "the pager VMO is detached";
                } else {
                    why = "out of memory";
                }
                break;
            }
            ASSERT_MSG(writable || !(flags & VM_FAULT_WRITE),
                       "vmo_fault_page gave a read-only page for a write at offset %#llx",
                       (unsigned long long)offset);
            mutex_acquire(&as->pt_lock);
            if (as->pt_seq != seq) {
                // The VMO changed pages under us: ask again.
                mutex_release(&as->pt_lock);
                vm_fault_stats.retries++;
                continue;
            }
            st = arch_aspace_remap_page(&as->arch, page, pa, vmar_mmu_flags(m->perms, writable));
            mutex_release(&as->pt_lock);
            if (st != ZX_OK)
                why = "out of memory for page tables";
            break;
        }
        if (st == ZX_OK) {
            vm_fault_stats.faults++;
            // Fault-around only where neighbours are likely present: a read or execute fault that
            // found a page the VMO already had (not the zero page; a write fault's neighbours are
            // usually as new as its own page) and did not have to decompress it (its neighbours
            // were most likely compressed with it, and fault-around maps only present pages: the
            // walk over them cost ~2,500 instructions per fault for nothing). A decompression
            // on another CPU meanwhile only skips one fault-around.
            if (vm_fault_around_pages > 1 && !(flags & VM_FAULT_WRITE)) {
                vm_page_t *p = pmm_page_from_paddr(pa);
                if (p && p->state != PAGE_STATE_ZERO &&
                    compressor_decompression_count() == decompressed) {
                    vm_mapping_assert_locked(m);
                    fault_around_locked(m, page);
                }
            }
        }
    }
    mutex_release(&as->lock);
    if (out_reason)
        *out_reason = why;
    return st;
}

// --- Range changes from the VMO layer (its tree lock held; never the aspace lock) ---

void vm_range_batch_init(struct tlb_batch *batch) {
    arch_aspace_batch_init(batch);
}

void vm_range_batch_finish(struct tlb_batch *batch) {
    arch_aspace_batch_finish(batch);
}

void vm_mapping_range_change(struct vm_mapping *m, uint64_t vmo_offset, uint64_t len,
                             enum vm_range_op op, struct tlb_batch *batch) {
    struct vm_aspace *as = m->aspace;
    struct tlb_batch own;
    struct tlb_batch *b = batch;
    if (!b) {
        b = &own;
        arch_aspace_batch_init(b);
    }
    mutex_acquire(&as->pt_lock);
    uint64_t ms = m->vmo_offset, me = ms + vm_region_size(&m->r);
    uint64_t s = MAX(ROUNDDOWN(vmo_offset, (uint64_t)PAGE_SIZE), ms);
    uint64_t e = len > UINT64_MAX - vmo_offset ? UINT64_MAX : vmo_offset + len;
    e = ROUNDUP(MIN(e, me), (uint64_t)PAGE_SIZE);
    if (s < e) {
        vaddr_t va = vm_region_base(&m->r) + (s - ms);
        size_t pages = (e - s) / PAGE_SIZE;
        zx_status_t st = ZX_OK;
        // The common single page (a commit over zero content) is usually not mapped at all: a look-up
        // is cheaper than a range operation.
        paddr_t pa;
        bool absent = pages == 1 && arch_aspace_query(&as->arch, va, &pa, NULL) == ZX_ERR_NOT_FOUND;
        if (!absent && op == VM_RANGE_UNMAP)
            st = arch_aspace_unmap_batched(&as->arch, va, pages, b);
        else if (!absent && (m->perms & ZX_VM_PERM_READ))
            st = arch_aspace_protect_batched(&as->arch, va, pages,
                                             vmar_mmu_flags(m->perms, false), b);
        ASSERT_MSG(st == ZX_OK, "range change %d at %#llx: %d", op, (unsigned long long)va, st);
        // A change made while this thread holds the aspace lock comes from an operation of this
        // address space itself -- typically its own fault's commit replacing the zero page. No
        // other fault of the space can be in flight then, and the one that asked computes its page
        // after this change: it need not retry. Every other change invalidates faults in flight.
        if (!mutex_held(&as->lock))
            __atomic_store_n(&as->pt_seq, as->pt_seq + 1, __ATOMIC_RELEASE);
    }
    mutex_release(&as->pt_lock);
    if (!batch)
        arch_aspace_batch_finish(b);
}
