// vm_aspace_vmo_at: which VMO, at which offset, a user address of an address space shows; for
// zx_process_read_memory / write_memory, which reach another process's memory through its VMOs.
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
