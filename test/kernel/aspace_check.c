// aspace_check_pagetable. See aspace_check.h.
#include "test/kernel/aspace_check.h"

#include "arch/x86_64/pt.h"
#include "arch/x86_64/vmiter.h"
#include "kernel/printf.h"
#include "vm/pmm.h"
#include "vm/vmo.h"

struct one_page {
    bool found;
    paddr_t pa;
    bool writable;
};

static zx_status_t one_page_cb(void *ctx, uint64_t offset, paddr_t pa, bool writable) {
    struct one_page *p = ctx;
    p->found = true;
    p->pa = pa;
    p->writable = writable;
    return ZX_ERR_STOP;
}

static bool bad(vaddr_t va, paddr_t pa, const char *what) {
    kprintf("aspace_check_pagetable: %s: va %#llx -> pa %#llx\n", what, (unsigned long long)va,
            (unsigned long long)pa);
    return false;
}

bool aspace_check_pagetable(struct vm_aspace *as, size_t *out_present) {
    size_t present = 0;
    bool ok = true;
    mutex_acquire(&as->lock);
    if (!as->arch.root) {
        mutex_release(&as->lock);
        return bad(0, 0, "no page tables");
    }
    if (!arch_aspace_check(&as->arch))
        ok = bad(0, 0, "pt_check failed");
    struct vmiter it;
    for (vmiter_init(&it, as->arch.root, 0); ok && !vmiter_done(&it) && vmiter_va(&it) < VA_LOW_END;
         vmiter_next(&it)) {
        if (!vmiter_present(&it))
            continue;
        present++;
        vaddr_t va = vmiter_va(&it);
        paddr_t pa = vmiter_pa(&it);
        if (vmiter_level(&it) != 0) {
            ok = bad(va, pa, "large page in a user address space");
            break;
        }
        struct vm_mapping *m = vm_aspace_find_mapping_locked(as, va);
        if (!m) {
            ok = bad(va, pa, "PTE outside every mapping");
            break;
        }
        if (!(m->perms & ZX_VM_PERM_READ))
            ok = bad(va, pa, "PTE in a mapping without READ");
        else if (!vmiter_user(&it))
            ok = bad(va, pa, "PTE without USER");
        else if (vmiter_writable(&it) && !(m->perms & ZX_VM_PERM_WRITE))
            ok = bad(va, pa, "writable PTE in a mapping without WRITE");
        else if (pt_nx_enabled && vmiter_executable(&it) && !(m->perms & ZX_VM_PERM_EXECUTE))
            ok = bad(va, pa, "executable PTE in a mapping without EXECUTE");
        if (!ok)
            break;
        vm_page_t *page = pmm_page_from_paddr(pa);
        bool zero = page && page->state == PAGE_STATE_ZERO;
        if (!page || (page->state != PAGE_STATE_VMO && !zero)) {
            ok = bad(va, pa, "PTE to a page that is neither a VMO's nor the zero page");
            break;
        }
        if (zero && vmiter_writable(&it)) {
            ok = bad(va, pa, "writable PTE to the zero page");
            break;
        }
        uint64_t off = m->vmo_offset + (va - vm_region_base(&m->r));
        struct one_page p = {0};
        zx_status_t st = vmo_lookup_pages(m->vmo, off, PAGE_SIZE, one_page_cb, &p);
        if (st != ZX_OK)
            ok = bad(va, pa, "vmo_lookup_pages failed");
        else if (zero && p.found)
            ok = bad(va, p.pa, "zero page mapped where the VMO has a page");
        else if (!zero && (!p.found || p.pa != pa))
            ok = bad(va, p.found ? p.pa : 0, "PTE to another page than the VMO's");
        else if (!zero && vmiter_writable(&it) && !p.writable)
            ok = bad(va, pa, "writable PTE to a page the VMO shares");
    }
    mutex_release(&as->lock);
    if (out_present)
        *out_present = present;
    return ok;
}

bool aspace_check_pte(struct vm_aspace *as, vaddr_t va, paddr_t *out_pa, uint32_t *out_flags) {
    paddr_t pa = 0;
    uint32_t flags = 0;
    bool present = arch_aspace_query(&as->arch, va, &pa, &flags) == ZX_OK;
    if (out_pa)
        *out_pa = pa;
    if (out_flags)
        *out_flags = flags;
    return present;
}
