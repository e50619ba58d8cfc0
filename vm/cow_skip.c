// Look-ups up a clone chain that cost the same at any depth: each node caches a skip, the nearest
// ancestor that can hold content over a range of its offsets (struct cow_node.skip_*, vm/cow_pages.h;
// docs/clone-trees.md "Skips"). A chain of snapshots in which every level holds a few pages of
// its own leaves the other offsets of a leaf to be found many levels up; without the skip every
// fault there walks every level.
//
// Skips are computed lazily by the look-ups themselves: a look-up that climbs a level without a
// usable skip notes the gap around the offset in the parent, and once it has its answer it gives
// every node it climbed from a skip composed with the parent's (set first, from the top down). So
// the first look-up through n uncached levels costs O(n log k), and later ones over the same gaps
// O(log k), however deep. The walks (cow_walk_locked) follow skips too but set none.
//
// Validity: a skip only claims that nodes strictly between hold nothing and that windows hold the
// range. Removing content keeps that true. Adding content to a node that is strictly between
// breaks it: such a node has a parent and a child, and only a merge gives content to one (a
// hidden node's content otherwise changes only in place: compression, decompression, markers). A
// merge into a node with children, or a pager root's shrink (which narrows its clones' windows),
// drops every skip of the tree (tree->skip_gen); the other structural changes fix the one node
// they concern (vm/cow_pages.c). cow_skip_check_locked verifies every valid skip against the tree.
#include "vm/cow_pages.h"
#include "vm/cow_pages_priv.h"

#include "kernel/printf.h"

#define P ((uint64_t)PAGE_SIZE)

static inline bool skip_valid(const struct cow_node *n) {
    return cow_skip_valid(n);
}

// Gives each node of the list `x` (linked through skip_next, the highest first) its skip. A node
// on the list climbed to y = skip_to (its parent, or its old skip's target) at offset + skip_delta
// for offsets in [skip_lo, skip_hi), and found y empty over [skip_glo, skip_ghi) (its own offsets;
// an empty range when y had content). y's own skip, if valid, is final by now: it was on the list
// before x, or the look-up went on through it as it was. Where y is empty and its skip goes on,
// x's skip goes on with it.
static void skip_settle(struct cow_tree *t, struct cow_node *x) REQUIRES(t->lock) {
    for (; x; x = x->skip_next) {
        struct cow_node *y = x->skip_to;
        uint64_t d = x->skip_delta;
        if (x->skip_glo < x->skip_ghi && skip_valid(y)) {
            uint64_t lo = MAX(x->skip_glo, y->skip_lo > d ? y->skip_lo - d : 0);
            uint64_t hi = MIN(x->skip_ghi, y->skip_hi > d ? y->skip_hi - d : 0);
            if (lo < hi) {
                x->skip_to = y->skip_to;
                x->skip_delta = d + y->skip_delta;
                x->skip_lo = lo;
                x->skip_hi = hi;
            }
        }
        x->skip_gen = t->skip_gen;
    }
}

vmpl_slot_t *cow_find_above_locked(struct cow_node *n, uint64_t o, struct cow_node **out_owner,
                                   uint64_t *out_offset) {
    ASSERT_MUTEX_HELD(&n->tree->lock);
    struct cow_tree *t = n->tree;
    cow_tree_assert_held(t);
    struct cow_node *cur = n;
    struct cow_node *pending = NULL;  // nodes whose skips this look-up sets
    vmpl_slot_t *found = NULL;
    for (;;) {
        // cur holds nothing at o: one level up, or along cur's skip.
        if (!cur->parent || o >= cur->parent_limit)
            break;
        struct cow_node *y = cur->parent;
        uint64_t d = cur->parent_offset, rlo = 0, rhi = cur->parent_limit;
        bool cached = skip_valid(cur) && o >= cur->skip_lo && o < cur->skip_hi;
        if (cached) {
            y = cur->skip_to;
            d = cur->skip_delta;
            rlo = cur->skip_lo;
            rhi = cur->skip_hi;
        }
        uint64_t yo = o + d;
        vmpl_slot_t *s = vmpl_lookup(&y->pages, yo);
        uint64_t glo = 0, ghi = 0;
        bool stop = (s && !vmpl_slot_is_empty(*s)) ||
                    !vmpl_gap_around(&y->pages, yo, &glo, &ghi);
        if (!stop || !cached) {
            // cur's skip becomes y (with y's own skip appended where y is empty).
            cur->skip_gen = 0;
            cur->skip_to = y;
            cur->skip_delta = d;
            cur->skip_lo = rlo;
            cur->skip_hi = rhi;
            cur->skip_glo = stop ? 0 : MAX(rlo, glo > d ? glo - d : 0);
            cur->skip_ghi = stop ? 0 : MIN(rhi, ghi - d);
            cur->skip_next = pending;
            pending = cur;
        }
        cur = y;
        o = yo;
        if (stop) {
            if (s && vmpl_slot_is_page_or_ref(*s))
                found = s;
            break;
        }
    }
    skip_settle(t, pending);
    if (!found)
        return NULL;
    *out_owner = cur;
    *out_offset = o;
    return found;
}

#define SKIP_FAIL(...)                                   \
    do {                                                 \
        kprintf("cow_check_tree: skip of node %p: ", (void *)n); \
        kprintf(__VA_ARGS__);                            \
        kprintf("\n");                                   \
        return false;                                    \
    } while (0)

bool cow_skip_check_locked(struct cow_node *n) {
    ASSERT_MUTEX_HELD(&n->tree->lock);
    struct cow_tree *t = n->tree;
    cow_tree_assert_held(t);
    if (n->skip_gen > t->skip_gen)
        SKIP_FAIL("generation %llu past the tree's %llu", (unsigned long long)n->skip_gen,
                  (unsigned long long)t->skip_gen);
    if (!skip_valid(n))
        return true;
    struct cow_node *p = n->parent;
    uint64_t lo = n->skip_lo, hi = n->skip_hi;
    if (!p)
        SKIP_FAIL("a root has a skip");
    if (lo > hi || (lo < hi && hi > n->parent_limit))
        SKIP_FAIL("range [%#llx, %#llx) outside the window (limit %#llx)", (unsigned long long)lo,
                  (unsigned long long)hi, (unsigned long long)n->parent_limit);
    if (n->skip_to == p) {
        if (n->skip_delta != n->parent_offset)
            SKIP_FAIL("delta %#llx to the parent, offset %#llx",
                      (unsigned long long)n->skip_delta, (unsigned long long)n->parent_offset);
        return true;
    }
    // Usually the parent's own (valid, checked on its own) skip covers the rest.
    uint64_t d = n->parent_offset;
    if (lo < hi && vmpl_any_in_range(&p->pages, lo + d, hi + d))
        SKIP_FAIL("the parent %p holds content in [%#llx, %#llx)", (void *)p,
                  (unsigned long long)(lo + d), (unsigned long long)(hi + d));
    if (skip_valid(p) && p->skip_to == n->skip_to && p->skip_delta + d == n->skip_delta &&
        (lo == hi || (p->skip_lo <= lo + d && hi + d <= p->skip_hi)))
        return true;
    // Else the whole way up.
    struct cow_node *cur = p;
    while (cur != n->skip_to) {
        if (cur != p && lo < hi && vmpl_any_in_range(&cur->pages, lo + d, hi + d))
            SKIP_FAIL("node %p on the way holds content in [%#llx, %#llx)", (void *)cur,
                      (unsigned long long)(lo + d), (unsigned long long)(hi + d));
        if (!cur->parent)
            SKIP_FAIL("target %p is not an ancestor", (void *)n->skip_to);
        if (lo < hi && hi + d > cur->parent_limit)
            SKIP_FAIL("node %p's window (limit %#llx) does not hold [%#llx, %#llx)", (void *)cur,
                      (unsigned long long)cur->parent_limit, (unsigned long long)(lo + d),
                      (unsigned long long)(hi + d));
        d += cur->parent_offset;
        cur = cur->parent;
    }
    if (d != n->skip_delta)
        SKIP_FAIL("delta %#llx, the way up adds %#llx", (unsigned long long)n->skip_delta,
                  (unsigned long long)d);
    return true;
}
