// The VMOs an address space maps: which one (and at which offset) a user address shows, for
// zx_process_read_memory / write_memory; every mapping's VMO, for ZX_INFO_PROCESS_VMOS; and the
// memory the mappings show, for ZX_INFO_TASK_STATS.
#include "kernel/assert.h"
#include "vm/cow_pages.h"
#include "vm/vmar.h"
#include "vm/vmo.h"

zx_status_t vm_aspace_vmo_at(struct vm_aspace *as, vaddr_t va, struct vmo **out_vmo,
                             uint64_t *out_offset, uint64_t *out_len) {
    mutex_acquire(&as->lock);
    struct vm_mapping *m = as->root ? vm_aspace_find_mapping_locked(as, va) : NULL;
    if (m) {
        kobject_retain(vmo_object(m->vmo));
        *out_vmo = m->vmo;
        *out_offset = m->vmo_offset + (va - vm_region_base(&m->r));
        *out_len = vm_region_end(&m->r) - va;
    }
    mutex_release(&as->lock);
    return m ? ZX_OK : ZX_ERR_NOT_FOUND;
}

size_t vm_aspace_mapped_vmos(struct vm_aspace *as, struct kobject **out, size_t max) {
    size_t n = 0, depth;
    mutex_acquire(&as->lock);
    if (as->root) {
        for (struct vm_region *r = vmar_walk_first(as->root, &depth); r;
             r = vmar_walk_next(as->root, r, &depth)) {
            struct vm_mapping *m = vm_region_mapping(r);
            if (!m)
                continue;
            if (n < max) {
                out[n] = vmo_object(m->vmo);
                kobject_retain(out[n]);
            }
            n++;
        }
    }
    mutex_release(&as->lock);
    return n;
}

void vm_aspace_task_stats(struct vm_aspace *as, zx_info_task_stats_t *out) {
    struct cow_task_stats acc = {0};
    uint64_t mapped = 0;
    size_t depth;
    mutex_acquire(&as->lock);
    if (as->root) {
        for (struct vm_region *r = vmar_walk_first(as->root, &depth); r;
             r = vmar_walk_next(as->root, r, &depth)) {
            struct vm_mapping *m = vm_region_mapping(r);
            if (!m)
                continue;
            mapped += vm_region_size(r);
            vmo_task_stats(m->vmo, m->vmo_offset, vm_region_size(r), &acc);
        }
    }
    mutex_release(&as->lock);
    *out = (zx_info_task_stats_t){
        .mem_mapped_bytes = mapped,
        .mem_private_bytes = acc.private_bytes,
        .mem_shared_bytes = acc.shared_bytes,
        .mem_scaled_shared_bytes = acc.scaled_bytes,
        .mem_fractional_scaled_shared_bytes = acc.scaled_frac,
    };
}
