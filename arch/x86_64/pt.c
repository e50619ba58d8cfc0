// The core of the page-table layer: table pages and their present counts, splitting large pages,
// preallocation pools, the walker and pt_map_entry on it, pruning of empty tables, and the checker.
// See pt.h.
#include "arch/x86_64/pt.h"

#include "kernel/assert.h"
#include "kernel/printf.h"
#include "kernel/string.h"
#include "vm/pmm.h"

bool pt_nx_enabled = true;
struct pt_stats pt_stats;

pte_t *pt_table_alloc(void) {
    vm_page_t *page = pmm_alloc_page(PAGE_STATE_PAGE_TABLE);
    if (!page)
        return NULL;
    page->pt.entries = 0;
    pte_t *table = vm_page_kva(page);
    page_zero(table);
    pt_stats.tables_allocated++;
    return table;
}

void pt_table_free(pte_t *table) {
    vm_page_t *page = pt_table_page(table);
    ASSERT_MSG(page && page->state == PAGE_STATE_PAGE_TABLE, "table %p is not a table page",
               (void *)table);
    pt_stats.tables_freed++;
    pmm_free_page(page);
}

vm_page_t *pt_table_page(const pte_t *entry) {
    return pmm_page_from_kva((const void *)ROUNDDOWN((uintptr_t)entry, (uintptr_t)PAGE_SIZE));
}

void pt_entry_set(pte_t *entry, pte_t val) {
    pte_t old = *entry;
    if (pte_present(old) != pte_present(val)) {
        vm_page_t *page = pt_table_page(entry);
        if (pte_present(val)) {
            page->pt.entries++;
        } else {
            ASSERT_MSG(page->pt.entries > 0, "table %#llx: count underflow",
                       (unsigned long long)vm_page_paddr(page));
            page->pt.entries--;
        }
    }
    *entry = val;
}

pte_t pt_leaf_flags(pte_t perm) {
    pte_t flags = perm & ~(PTE_ADDR_MASK | (pte_t)PTE_PS);
    if (!pt_nx_enabled)
        flags &= ~PTE_NX;
    return flags;
}

void pt_split_large(pte_t *entry, int level, vaddr_t va, pte_t *table) {
    pte_t e = *entry;
    ASSERT_MSG((level == 1 || level == 2) && pte_present(e) && (e & PTE_PS),
               "not a large page: level %d entry %#llx", level, (unsigned long long)e);
    ASSERT(pt_table_count(table) == 0);
    paddr_t pa = pte_leaf_paddr(e, level);
    // The flags carry over; a 2 MiB leaf split into 4 KiB pages loses PS (bit 7 is PAT there).
    pte_t flags = e & ~(PTE_ADDR_MASK | PTE_PAT_LARGE);
    if (level == 1)
        flags &= ~(pte_t)PTE_PS;
    uint64_t step = pte_span(level - 1);
    for (unsigned i = 0; i < PT_ENTRIES; i++)
        table[i] = (pa + i * step) | flags;
    pt_table_page(table)->pt.entries = PT_ENTRIES;
    // The entry stays present: the parent's count does not change.
    *entry = pt_table_paddr(table) | pt_link_flags(va);
}

zx_status_t pt_pool_fill(struct pt_pool *pool, int n) {
    ASSERT(n >= 0 && n <= PT_POOL_MAX);
    pool->count = 0;
    for (int i = 0; i < n; i++) {
        pte_t *t = pt_table_alloc();
        if (!t) {
            pt_pool_release(pool);
            return ZX_ERR_NO_MEMORY;
        }
        pool->tables[pool->count++] = t;
    }
    return ZX_OK;
}

pte_t *pt_pool_take(struct pt_pool *pool) {
    ASSERT_MSG(pool->count > 0, "%s", "the preallocated tables ran out");
    return pool->tables[--pool->count];
}

void pt_pool_release(struct pt_pool *pool) {
    while (pool->count > 0)
        pt_table_free(pool->tables[--pool->count]);
}

// --- The walker ------------------------------------------------------------------------------

pte_t *pt_walk_down(struct pt_path *p, vaddr_t va, pte_t *table) {
    int level = p->level;
    ASSERT_MSG(level > 0, "va %#llx: nothing below a page table", (unsigned long long)va);
    pte_t *entry = pt_path_entry(p, va);
    if (pte_present(*entry))
        pt_split_large(entry, level, va, table);
    else
        pt_entry_set(entry, pt_table_paddr(table) | pt_link_flags(va));
    level--;
    p->tab[level] = table;
    p->va = va;
    p->level = level;
    return &table[pte_index(va, level)];
}

void pt_prune(struct pt_path *p, vaddr_t va, struct tlb_batch *b) {
    int level = p->level;
    while (level < PT_ROOT_LEVEL && pt_table_count(p->tab[level]) == 0 &&
           !pt_table_is_permanent(level, va)) {
        pt_entry_set(&p->tab[level + 1][pte_index(va, level + 1)], 0);
        pt_stats.tables_freed++;
        tlb_batch_defer_free(b, pt_table_page(p->tab[level]));
        p->tab[level] = NULL;
        level++;
    }
    p->level = level;
}

static bool perm_ok(vaddr_t va, pte_t perm) {
    return (perm & PTE_P) && !(perm & (PTE_ADDR_MASK | (pte_t)PTE_PS)) &&
           !(va_is_upper(va) && (perm & PTE_U));
}

zx_status_t pt_map_entry(pte_t *root, vaddr_t va, paddr_t pa, pte_t perm, int target) {
    uint64_t size = pte_span(target);
    if (!va_is_canonical(va) || (va & (size - 1)) || (pa & (size - 1)) || (pa & ~PTE_ADDR_MASK) ||
        !perm_ok(va, perm))
        return ZX_ERR_INVALID_ARGS;
    struct pt_path p;
    pt_path_init(&p, root);
    pte_t *entry = pt_walk(&p, va, target);
    pte_t old = *entry;
    if (target > 0 && p.level == target && pte_present(old) && !pte_is_leaf(old, target))
        return ZX_ERR_ALREADY_EXISTS;  // a table below the large page's slot
    pte_t val = pa | pt_leaf_flags(perm) | (target > 0 ? (pte_t)PTE_PS : 0);
    if (p.level == target) {
        // The common fault: the tables exist. No pool, and TLB work only if a translation
        // existed (a fault that fills a hole sets up no batch at all).
        if (!pte_present(old))
            pt_table_page(entry)->pt.entries++;
        *entry = val;
        if (pte_present(old)) {
            struct tlb_batch b;
            pt_tlb_init(&b, root);
            tlb_batch_add(&b, va);
            tlb_batch_finish(&b);
        }
        return ZX_OK;
    }
    // One new table per level between the stop and the target: fresh for a hole, or the pieces
    // of a large page being split.
    struct pt_pool pool;
    zx_status_t st = pt_pool_fill(&pool, p.level - target);
    if (st != ZX_OK)
        return st;
    // Only a translation that existed needs invalidating: the large page being split.
    bool was_present = false;
    while (p.level > target) {
        was_present = was_present || pte_present(*entry);
        entry = pt_walk_down(&p, va, pt_pool_take(&pool));
    }
    was_present = was_present || pte_present(*entry);
    pt_entry_set(entry, val);
    if (was_present) {
        struct tlb_batch b;
        pt_tlb_init(&b, root);
        tlb_batch_add(&b, va);
        tlb_batch_finish(&b);
    }
    return ZX_OK;
}

// Invalidates `va` in tree `root` wherever it may be cached (out of line: the fault path's rare
// case keeps its batch off the common path's stack frame).
static NOINLINE void invalidate_one(pte_t *root, vaddr_t va) {
    struct tlb_batch b;
    pt_tlb_init(&b, root);
    tlb_batch_add(&b, va);
    tlb_batch_finish(&b);
}

zx_status_t pt_map_page(pte_t *root, vaddr_t va, paddr_t pa, pte_t perm) {
    if (!va_is_canonical(va) || ((va | pa) & (PAGE_SIZE - 1)) || (pa & ~PTE_ADDR_MASK) ||
        !perm_ok(va, perm))
        return ZX_ERR_INVALID_ARGS;
    return pt_map_page_checked(root, va, pa, perm);
}

// A present entry that links to a table (not a large page), in one test.
static inline bool links_table(pte_t e) {
    return (e & (PTE_P | PTE_PS)) == PTE_P;
}

zx_status_t pt_map_page_checked(pte_t *root, vaddr_t va, paddr_t pa, pte_t perm) {
    DEBUG_ASSERT(va_is_canonical(va) && !((va | pa) & (PAGE_SIZE - 1)) &&
                 !(pa & ~PTE_ADDR_MASK) && perm_ok(va, perm));
    _Static_assert(PT_ROOT_LEVEL == 3, "the walk below has four levels");
    // The walk written out: no path to record, nothing to allocate, no level counter. A PML4
    // entry is never a leaf (PS is reserved there); a PDPT or PD entry may be a large page.
    pte_t e = root[pte_index(va, 3)];
    if (!pte_present(e))
        return pt_map_entry(root, va, pa, perm, 0);  // tables to add
    e = pte_table(e)[pte_index(va, 2)];
    if (!links_table(e))
        return pt_map_entry(root, va, pa, perm, 0);  // tables to add, or a large page to split
    e = pte_table(e)[pte_index(va, 1)];
    if (!links_table(e))
        return pt_map_entry(root, va, pa, perm, 0);
    pte_t *table = pte_table(e);
    pte_t *entry = &table[pte_index(va, 0)];
    pte_t old = *entry;
    if (!pte_present(old))
        pt_table_page(table)->pt.entries++;
    *entry = pa | pt_leaf_flags(perm);
    // Only a translation that existed needs invalidating (a fault that fills a hole sets up no
    // batch at all).
    if (pte_present(old))
        invalidate_one(root, va);
    return ZX_OK;
}

// --- The checker ---------------------------------------------------------------------------

static bool check_fail(const char *what, int level, vaddr_t va, pte_t e) {
    kprintf("pt_check: %s: level %d va %#llx entry %#llx\n", what, level, (unsigned long long)va,
            (unsigned long long)e);
    return false;
}

static bool check_table(const pte_t *table, int level, vaddr_t base) {
    vm_page_t *page = pt_table_page(table);
    if (!page || page->state != PAGE_STATE_PAGE_TABLE)
        return check_fail("table page is not in state page-table", level, base,
                          pt_table_paddr(table));
    uint32_t present = 0;
    for (unsigned i = 0; i < PT_ENTRIES; i++) {
        pte_t e = table[i];
        if (!pte_present(e))
            continue;
        present++;
        vaddr_t va = pte_va(base, i, level);
        if (va_is_upper(va) && (e & PTE_U))
            return check_fail("user bit in the upper half", level, va, e);
        if (!pt_nx_enabled && (e & PTE_NX))
            return check_fail("NX set but not enabled", level, va, e);
        if (level == PT_ROOT_LEVEL && (e & PTE_PS))
            return check_fail("PS in a PML4 entry", level, va, e);
        if (level == 0 && (e & PTE_PS))
            return check_fail("PAT (bit 7) in a PT entry", level, va, e);
        if (pte_is_leaf(e, level)) {
            if ((e & PTE_ADDR_MASK) != pte_leaf_paddr(e, level))
                return check_fail("misaligned large page", level, va, e);
            continue;
        }
        if (e & PTE_NX)
            return check_fail("NX on a link", level, va, e);
        const pte_t *child = pte_table(e);
        if (!check_table(child, level - 1, va))
            return false;
        if (pt_table_count(child) == 0 && !pt_table_is_permanent(level - 1, va))
            return check_fail("empty table left in the tree", level - 1, va, e);
    }
    if (present != page->pt.entries) {
        kprintf("pt_check: table %#llx (level %d, va %#llx) has %u present entries, counts %u\n",
                (unsigned long long)pt_table_paddr(table), level, (unsigned long long)base,
                present, page->pt.entries);
        return false;
    }
    return true;
}

bool pt_check(const pte_t *root) {
    return check_table(root, PT_ROOT_LEVEL, 0);
}

static size_t count_tables(const pte_t *table, int level, unsigned first, unsigned end) {
    size_t n = 0;
    for (unsigned i = first; i < end; i++) {
        pte_t e = table[i];
        if (pte_present(e) && !pte_is_leaf(e, level))
            n += 1 + count_tables(pte_table(e), level - 1, 0, PT_ENTRIES);
    }
    return n;
}

size_t pt_count_tables(const pte_t *root, bool lower_only) {
    return count_tables(root, PT_ROOT_LEVEL, 0, lower_only ? PT_ENTRIES / 2 : PT_ENTRIES);
}
