// Range operations on a page-table tree: map, unmap and protect runs of pages. See pt_range.h.
//
// One struct pt_path serves a whole operation: pt_walk to the next address climbs only until a
// table on the path covers it and walks down from there, so a run of pages costs one table
// look-up per 512 pages, not a walk from the root per page; the 4 KiB entries of one table are
// handled in a tight loop. Holes are skipped a whole entry at a time, at the highest level they
// appear.
//
// Failure handling follows "allocate before you change, or roll back":
//   - map: tables are allocated as the run reaches them; on failure (no memory, or something
//     already mapped) the pages mapped so far are unmapped again, which frees exactly the tables
//     the run created, since the tree had no empty tables before;
//   - unmap and protect allocate only to split large pages that straddle an end of the range;
//     those tables (at most two per end) are allocated before anything changes.
// TLB work goes into one tlb_batch per operation, and unlinked tables are freed only after it;
// unmap and protect add to the caller's batch, which may span several operations and trees.
#include "arch/x86_64/pt_range.h"

#include "kernel/assert.h"

// Moves to `va` and returns (in *out_pt) the page table (level 0) that holds its entry, creating
// the missing tables on the way. ZX_ERR_ALREADY_EXISTS if a large page covers va;
// ZX_ERR_NO_MEMORY if a table cannot be allocated (tables created before stay linked: prune).
static zx_status_t make_pt(struct pt_path *p, vaddr_t va, pte_t **out_pt) {
    pte_t *entry = pt_walk(p, va, 0);
    while (p->level > 0) {
        if (pte_present(*entry))
            return ZX_ERR_ALREADY_EXISTS;
        pte_t *table = pt_table_alloc();
        if (!table)
            return ZX_ERR_NO_MEMORY;
        entry = pt_walk_down(p, va, table);
    }
    *out_pt = p->tab[0];
    return ZX_OK;
}

// True if [va, va + count pages) is page-aligned, canonical and within one half.
static bool range_ok(vaddr_t va, size_t count) {
    if ((va & (PAGE_SIZE - 1)) || !va_is_canonical(va))
        return false;
    uint64_t room = va_is_upper(va) ? (0 - va) : (VA_LOW_END - va);  // bytes to the half's end
    return count <= (room >> PAGE_SHIFT);
}

// Pages from `va` to the end of the level-`level` entry holding it.
static size_t pages_to_entry_end(vaddr_t va, int level) {
    uint64_t size = pte_span(level);
    return (size_t)((size - (va & (size - 1))) >> PAGE_SHIFT);
}

// What to do to each present leaf of a range.
enum walk_op { WALK_UNMAP, WALK_PROTECT };

// Applies `op` to the `n` entries from `slot` on (one page table; the first maps `va`). Returns
// how many present entries it cleared. The hot loop of unmap and protect.
static uint32_t pt_run(pte_t *slot, size_t n, vaddr_t va, enum walk_op op, pte_t bits,
                       struct tlb_batch *b) {
    // The batch is filled through locals so that the stores to the table do not force it to be
    // reloaded.
    size_t room = !b->overflow ? TLB_BATCH_MAX - b->count : 0;
    vaddr_t *note = &b->va[b->count];
    size_t noted = 0;
    bool over = false;
    uint32_t cleared = 0;
    for (size_t i = 0; i < n; i++) {
        pte_t e = slot[i];
        if (!pte_present(e))
            continue;
        pte_t ne = op == WALK_UNMAP ? 0 : (e & ~PTE_PERM_BITS) | bits;
        if (ne == e)
            continue;
        slot[i] = ne;
        cleared++;
        if (noted < room)
            note[noted++] = va + i * PAGE_SIZE;
        else
            over = true;
    }
    if (cleared) {
        b->count += noted;
        b->overflow = b->overflow || over;
        b->global = b->global || va_is_upper(va);
    }
    return op == WALK_UNMAP ? cleared : 0;
}

// Applies `op` to every mapping in [va, va + count pages). Large pages in the range must lie
// wholly inside it (the callers split the ends first). For WALK_PROTECT, `bits` replaces the
// PTE_PERM_BITS of each leaf.
static void walk_range(pte_t *root, vaddr_t va, size_t count, enum walk_op op, pte_t bits,
                       struct tlb_batch *b) {
    struct pt_path p;
    pt_path_init(&p, root);
    vaddr_t cur = va;
    size_t left = count;
    while (left > 0) {
        pte_t *entry = pt_walk(&p, cur, 0);
        int level = p.level;
        size_t n = MIN(left, pages_to_entry_end(cur, level + 1));
        if (level == 0) {
            pte_t *pt = p.tab[0];
            uint32_t cleared = pt_run(&pt[pte_index(cur, 0)], n, cur, op, bits, b);
            if (cleared) {
                pt_table_page(pt)->pt.entries -= cleared;
                pt_prune(&p, cur, b);
            }
        } else {
            n = MIN(left, pages_to_entry_end(cur, level));
            pte_t e = *entry;
            if (pte_present(e)) {
                ASSERT_MSG((cur & (pte_span(level) - 1)) == 0 &&
                               n == (pte_span(level) >> PAGE_SHIFT),
                           "large page at %#llx straddles the range", (unsigned long long)cur);
                if (op == WALK_UNMAP) {
                    pt_entry_set(entry, 0);
                    tlb_batch_add(b, cur);
                    pt_prune(&p, cur, b);
                } else {
                    pte_t ne = (e & ~PTE_PERM_BITS) | bits;
                    if (ne != e) {
                        *entry = ne;
                        tlb_batch_add(b, cur);
                    }
                }
            }
        }
        left -= n;
        cur += n * PAGE_SIZE;
    }
}

zx_status_t pt_range_map(pte_t *root, vaddr_t va, const paddr_t *pas, paddr_t pa, size_t count,
                         pte_t perm) {
    if (!range_ok(va, count) || !(perm & PTE_P) || (va_is_upper(va) && (perm & PTE_U)) ||
        (!pas && (pa & ~PTE_ADDR_MASK)))
        return ZX_ERR_INVALID_ARGS;
    pte_t flags = pt_leaf_flags(perm);
    struct pt_path p;
    pt_path_init(&p, root);
    size_t done = 0;
    zx_status_t st = ZX_OK;
    while (done < count) {
        vaddr_t cur = va + done * PAGE_SIZE;
        pte_t *pt;
        st = make_pt(&p, cur, &pt);
        if (st != ZX_OK)
            break;
        unsigned first = pte_index(cur, 0);
        size_t n = MIN(count - done, (size_t)(PT_ENTRIES - first));
        size_t k = 0;
        pte_t *slot = &pt[first];
        if (pas) {
            const paddr_t *src = &pas[done];
            for (; k < n; k++) {
                if (pte_present(slot[k]))
                    break;
                slot[k] = src[k] | flags;
            }
        } else {
            pte_t e = (pa + done * PAGE_SIZE) | flags;
            for (; k < n; k++, e += PAGE_SIZE) {
                if (pte_present(slot[k]))
                    break;
                slot[k] = e;
            }
        }
        pt_table_page(pt)->pt.entries += (uint32_t)k;
        done += k;
        if (k < n) {
            st = ZX_ERR_ALREADY_EXISTS;
            break;
        }
    }
    if (st != ZX_OK) {
        struct tlb_batch b;
        pt_tlb_init(&b, root);
        // Tables created for the position that failed may be empty.
        pt_prune(&p, va + done * PAGE_SIZE, &b);
        if (done > 0)
            walk_range(root, va, done, WALK_UNMAP, 0, &b);
        tlb_batch_finish(&b);
    }
    return st;
}

zx_status_t pt_range_map_absent(pte_t *root, vaddr_t va, const paddr_t *pas, size_t count,
                                pte_t perm, size_t *out_mapped) {
    *out_mapped = 0;
    if (!range_ok(va, count) || !(perm & PTE_P) || (va_is_upper(va) && (perm & PTE_U)))
        return ZX_ERR_INVALID_ARGS;
    pte_t flags = pt_leaf_flags(perm);
    struct pt_path p;
    pt_path_init(&p, root);
    size_t done = 0, mapped = 0;
    zx_status_t st = ZX_OK;
    while (done < count) {
        vaddr_t cur = va + done * PAGE_SIZE;
        pte_t *pt;
        st = make_pt(&p, cur, &pt);
        if (st != ZX_OK)
            break;
        unsigned first = pte_index(cur, 0);
        size_t n = MIN(count - done, (size_t)(PT_ENTRIES - first));
        pte_t *slot = &pt[first];
        const paddr_t *src = &pas[done];
        uint32_t k = 0;
        for (size_t i = 0; i < n; i++) {
            if (!pte_present(slot[i])) {
                slot[i] = src[i] | flags;
                k++;
            }
        }
        pt_table_page(pt)->pt.entries += k;
        mapped += k;
        done += n;
    }
    if (st == ZX_ERR_NO_MEMORY) {
        struct tlb_batch b;
        pt_tlb_init(&b, root);
        pt_prune(&p, va + done * PAGE_SIZE, &b);  // tables made for the failed position
        tlb_batch_finish(&b);
    }
    *out_mapped = mapped;
    return st;
}

// The large pages to split so that no large page straddles `va` or `end` (the range's ends), as
// (level, first address) pairs without repeats. Returns how many (at most 4).
struct split {
    int level;
    vaddr_t base;
};

static int add_split(struct split *s, int n, int level, vaddr_t base) {
    for (int i = 0; i < n; i++) {
        if (s[i].level == level && s[i].base == base)
            return n;
    }
    s[n].level = level;
    s[n].base = base;
    return n + 1;
}

// The ends of [va, va + count pages) that may cut a large page: va, and the end unless it is the
// end of a half.
static int range_ends(vaddr_t va, size_t count, vaddr_t ends[2]) {
    int n = 0;
    ends[n++] = va;
    vaddr_t end = va + count * PAGE_SIZE;
    if (end != 0 && va_is_canonical(end))
        ends[n++] = end;
    return n;
}

// Walks `p` to `x`; returns the level of the large page that `x` falls inside of (not at its
// start), or 0 if there is none.
static int cut_large_page(struct pt_path *p, vaddr_t x) {
    pte_t *entry = pt_walk(p, x, 0);
    int level = p->level;
    if (level == 0 || !pte_present(*entry) || (x & (pte_span(level) - 1)) == 0)
        return 0;
    return level;
}

// The large pages to split (into s[], at most 4); one path serves both ends, so the second
// end's walk usually climbs no higher than a table the first one found.
static int plan_splits(struct pt_path *p, vaddr_t va, size_t count, struct split s[4]) {
    int n = 0;
    vaddr_t ends[2];
    int nends = range_ends(va, count, ends);
    for (int i = 0; i < nends; i++) {
        vaddr_t x = ends[i];
        int level = cut_large_page(p, x);
        if (level == 0)
            continue;
        n = add_split(s, n, level, ROUNDDOWN(x, pte_span(level)));
        if (level == 2 && (x & (PAGE_SIZE_2M - 1)) != 0)
            n = add_split(s, n, 1, ROUNDDOWN(x, PAGE_SIZE_2M));
    }
    return n;
}

static void do_splits(pte_t *root, vaddr_t va, size_t count, struct pt_pool *pool,
                      struct tlb_batch *b) {
    vaddr_t ends[2];
    int nends = range_ends(va, count, ends);
    for (int i = 0; i < nends; i++) {
        vaddr_t x = ends[i];
        struct pt_path p;
        pt_path_init(&p, root);
        while (cut_large_page(&p, x) != 0) {
            tlb_batch_add(b, x);
            pt_walk_down(&p, x, pt_pool_take(pool));  // splits the large page
        }
    }
    ASSERT_MSG(pool->count == 0, "%d split tables left over", pool->count);
}

// Splits the straddling large pages, then walks the range with `op`, collecting into `b`. The
// usual range cuts no large page: then nothing is allocated and the ends are not walked again.
// A range that was never touched (one hole above the leaves covers all of it) is done at once.
static zx_status_t split_and_walk(pte_t *root, vaddr_t va, size_t count, enum walk_op op,
                                  pte_t bits, struct tlb_batch *b) {
    struct pt_path p;
    pt_path_init(&p, root);
    pte_t *first = pt_walk(&p, va, 0);
    if (p.level > 0 && !pte_present(*first) && count <= pages_to_entry_end(va, p.level)) {
        tlb_batch_add_tree(b, pt_table_paddr(root));
        return ZX_OK;
    }
    struct split s[4];
    int nsplits = plan_splits(&p, va, count, s);
    struct pt_pool pool;
    if (nsplits > 0) {
        zx_status_t st = pt_pool_fill(&pool, nsplits);
        if (st != ZX_OK)
            return st;
    }
    tlb_batch_add_tree(b, pt_table_paddr(root));
    if (nsplits > 0)
        do_splits(root, va, count, &pool, b);
    walk_range(root, va, count, op, bits, b);
    return ZX_OK;
}

zx_status_t pt_range_unmap(pte_t *root, vaddr_t va, size_t count, struct tlb_batch *b) {
    if (!range_ok(va, count))
        return ZX_ERR_INVALID_ARGS;
    if (count == 0)
        return ZX_OK;
    return split_and_walk(root, va, count, WALK_UNMAP, 0, b);
}

zx_status_t pt_range_protect(pte_t *root, vaddr_t va, size_t count, pte_t perm,
                             struct tlb_batch *b) {
    if (!range_ok(va, count) || (va_is_upper(va) && (perm & PTE_U)))
        return ZX_ERR_INVALID_ARGS;
    if (count == 0)
        return ZX_OK;
    return split_and_walk(root, va, count, WALK_PROTECT, pt_leaf_flags(perm) & PTE_PERM_BITS, b);
}
