// The VMOs an address space maps: which one (and at which offset) a user address shows, for
// zx_process_read_memory / write_memory; and every mapping's VMO, for ZX_INFO_PROCESS_VMOS.
#include "kernel/assert.h"
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
