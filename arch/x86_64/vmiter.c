// vmiter: look-ups, sparse stepping and single-mapping changes. See vmiter.h.
#include "arch/x86_64/vmiter.h"

#include "kernel/assert.h"

void vmiter_init(struct vmiter *it, pte_t *root, vaddr_t va) {
    ASSERT(root != NULL);
    it->root = root;
    vmiter_find(it, va);
}

void vmiter_find(struct vmiter *it, vaddr_t va) {
    it->va = va;
    it->done = false;
    it->perm = 0;
    if (!va_is_canonical(va)) {
        it->entry = NULL;
        it->level = PT_ROOT_LEVEL;
        return;
    }
    struct pt_path p;
    pt_path_init(&p, it->root);
    pte_t *entry = pt_walk(&p, va, 0);
    it->entry = entry;
    it->level = p.level;
    if (!pte_present(*entry))
        return;
    // P, W and U of the entries on the path (all present), ANDed; NX ORed.
    const pte_t path_bits = PTE_P | PTE_W | PTE_U;
    pte_t allowed = path_bits;
    pte_t nx = 0;
    for (int level = PT_ROOT_LEVEL; level >= p.level; level--) {
        pte_t e = p.tab[level][pte_index(va, level)];
        allowed &= e;
        nx |= e & PTE_NX;
    }
    pte_t other = *entry & ~(PTE_ADDR_MASK | (pte_t)PTE_PS | path_bits | PTE_NX);
    it->perm = other | allowed | nx;
}

// The index of the first present entry of `table` at or after `i` (PT_ENTRIES if none): the
// inner loop of a sparse walk, four entries per step.
static unsigned skip_empty(const pte_t *table, unsigned i) {
    for (; i < PT_ENTRIES && (i & 3); i++) {
        if (pte_present(table[i]))
            return i;
    }
    while (i < PT_ENTRIES && !((table[i] | table[i + 1] | table[i + 2] | table[i + 3]) & PTE_P))
        i += 4;
    while (i < PT_ENTRIES && !pte_present(table[i]))
        i++;
    return i;
}

// Finds the first present leaf whose range ends at or after `start` (canonical); *out is `start`
// if that leaf contains it, else the leaf's first address. Only tables that exist are read, and an
// empty entry is skipped whole at whatever level it is.
static bool find_next_present(pte_t *root, vaddr_t start, vaddr_t *out) {
    pte_t *tables[PT_LEVELS];
    unsigned idx[PT_LEVELS];
    int level = PT_ROOT_LEVEL;
    tables[level] = root;
    idx[level] = pte_index(start, level);
    bool on_path = true;  // every index so far is start's own
    for (;;) {
        if (idx[level] == PT_ENTRIES) {
            if (level == PT_ROOT_LEVEL)
                return false;
            level++;
            idx[level]++;
            on_path = false;
            continue;
        }
        const pte_t *table = tables[level];
        unsigned i = idx[level];
        if (!pte_present(table[i])) {
            idx[level] = skip_empty(table, i + 1);
            on_path = false;
            continue;
        }
        pte_t e = table[i];
        if (pte_is_leaf(e, level)) {
            if (on_path) {
                *out = start;
            } else {
                uint64_t va = 0;
                for (int l = PT_ROOT_LEVEL; l >= level; l--)
                    va |= (uint64_t)idx[l] << pte_shift(l);
                *out = va_sign_extend(va);
            }
            return true;
        }
        tables[level - 1] = pte_table(e);
        level--;
        idx[level] = on_path ? pte_index(start, level) : 0;
    }
}

bool vmiter_next(struct vmiter *it) {
    vaddr_t last = vmiter_last_va(it);
    vaddr_t found;
    if (!it->done && last != UINT64_MAX) {
        vaddr_t start = last + 1;
        if (!va_is_canonical(start))
            start = VA_HIGH_START;
        if (find_next_present(it->root, start, &found)) {
            vmiter_find(it, found);
            return true;
        }
    }
    it->va = UINT64_MAX;
    it->entry = NULL;
    it->level = PT_ROOT_LEVEL;
    it->perm = 0;
    it->done = true;
    return false;
}

static zx_status_t map_at_level(struct vmiter *it, paddr_t pa, pte_t perm, int target) {
    zx_status_t st = pt_map_entry(it->root, it->va, pa, perm, target);
    if (st == ZX_OK)
        vmiter_find(it, it->va);
    return st;
}

zx_status_t vmiter_try_map(struct vmiter *it, paddr_t pa, pte_t perm) {
    return map_at_level(it, pa, perm, 0);
}

zx_status_t vmiter_try_map_large(struct vmiter *it, paddr_t pa, pte_t perm, uint64_t page_size) {
    if (page_size == PAGE_SIZE_2M)
        return map_at_level(it, pa, perm, 1);
    if (page_size == PAGE_SIZE_1G)
        return map_at_level(it, pa, perm, 2);
    return ZX_ERR_INVALID_ARGS;
}

void vmiter_map(struct vmiter *it, paddr_t pa, pte_t perm) {
    zx_status_t st = vmiter_try_map(it, pa, perm);
    if (st != ZX_OK)
        panic("vmiter_map: va %#llx pa %#llx perm %#llx: error %d", (unsigned long long)it->va,
              (unsigned long long)pa, (unsigned long long)perm, st);
}

void vmiter_map_large(struct vmiter *it, paddr_t pa, pte_t perm, uint64_t page_size) {
    zx_status_t st = vmiter_try_map_large(it, pa, perm, page_size);
    if (st != ZX_OK)
        panic("vmiter_map_large: va %#llx pa %#llx size %#llx: error %d",
              (unsigned long long)it->va, (unsigned long long)pa, (unsigned long long)page_size,
              st);
}

void vmiter_unmap(struct vmiter *it) {
    if (!va_is_canonical(it->va))
        return;
    vaddr_t va = it->va;
    struct pt_path p;
    pt_path_init(&p, it->root);
    pte_t *entry = pt_walk(&p, va, 0);
    if (pte_present(*entry)) {
        struct tlb_batch b;
        pt_tlb_init(&b, it->root);
        pt_entry_set(entry, 0);
        tlb_batch_add(&b, va);
        pt_prune(&p, va, &b);
        tlb_batch_finish(&b);
    }
    vmiter_find(it, va);
}

zx_status_t vmiter_protect(struct vmiter *it, pte_t perm) {
    vaddr_t va = it->va;
    if (!va_is_canonical(va))
        return ZX_ERR_NOT_FOUND;
    if (va_is_upper(va) && (perm & PTE_U))
        return ZX_ERR_INVALID_ARGS;
    struct pt_path p;
    pt_path_init(&p, it->root);
    pte_t *entry = pt_walk(&p, va, 0);
    pte_t e = *entry;
    if (!pte_present(e))
        return ZX_ERR_NOT_FOUND;
    pte_t ne = (e & ~PTE_PERM_BITS) | (pt_leaf_flags(perm) & PTE_PERM_BITS);
    if (ne != e) {
        struct tlb_batch b;
        pt_tlb_init(&b, it->root);
        *entry = ne;
        tlb_batch_add(&b, va);
        tlb_batch_finish(&b);
    }
    vmiter_find(it, va);
    return ZX_OK;
}
