// vmar_tree: an intrusive AVL tree of non-overlapping intervals, augmented with the largest free
// gap below each subtree. See vmar_tree.h.
#include "vm/vmar_tree.h"

#include "kernel/assert.h"
#include "kernel/printf.h"

size_t vmar_tree_last_visits;

static inline uint64_t node_end(const struct vmar_tree_node *n) {
    return n->base + n->size;
}

static inline int32_t height(const struct vmar_tree_node *n) {
    return n ? n->height : 0;
}

static inline uint64_t max_gap(const struct vmar_tree_node *n) {
    return n ? n->max_gap : 0;
}

// Recomputes n's height and max_gap from its children (which must be up to date). Inline: the
// walks up call it at every level.
static inline __attribute__((always_inline)) void update(struct vmar_tree_node *n) {
    int32_t hl = height(n->left), hr = height(n->right);
    n->height = 1 + (hl > hr ? hl : hr);
    uint64_t g = n->gap;
    g = MAX(g, max_gap(n->left));
    g = MAX(g, max_gap(n->right));
    n->max_gap = g;
}

// Makes `new` take `old`'s place under `parent` (NULL: the root).
static void replace_child(struct vmar_tree *t, struct vmar_tree_node *parent,
                          struct vmar_tree_node *old, struct vmar_tree_node *new) {
    if (!parent)
        t->root = new;
    else if (parent->left == old)
        parent->left = new;
    else
        parent->right = new;
    if (new)
        new->parent = parent;
}

/*       n                r
 *      / \              / \
 *     a   r     ==>    n   c
 *        / \          / \
 *       b   c        a   b
 */
static struct vmar_tree_node *rotate_left(struct vmar_tree *t, struct vmar_tree_node *n) {
    struct vmar_tree_node *r = n->right;
    replace_child(t, n->parent, n, r);
    n->right = r->left;
    if (r->left)
        r->left->parent = n;
    r->left = n;
    n->parent = r;
    update(n);
    update(r);
    return r;
}

// The mirror image of rotate_left.
static struct vmar_tree_node *rotate_right(struct vmar_tree *t, struct vmar_tree_node *n) {
    struct vmar_tree_node *l = n->left;
    replace_child(t, n->parent, n, l);
    n->left = l->right;
    if (l->right)
        l->right->parent = n;
    l->right = n;
    n->parent = l;
    update(n);
    update(l);
    return l;
}

// Walks from `n` up recomputing heights and gaps and restoring the AVL balance. `n` itself always
// counts as changed; above it the walk stops at the first node whose height and max_gap come out
// as they were (nothing above it can change then), but not below `must`, a node on the way up
// whose own gap changed (NULL: none). O(log n): at most two rotations per level, and the tree is
// balanced below `n`; usually a level or two.
static void rebalance_up(struct vmar_tree *t, struct vmar_tree_node *n,
                         const struct vmar_tree_node *must) {
    bool first = true;
    while (n) {
        int32_t old_height = n->height;
        uint64_t old_max_gap = n->max_gap;
        if (n == must)
            must = NULL;
        update(n);
        int32_t bf = height(n->left) - height(n->right);
        bool rotated = false;
        if (bf > 1) {
            if (height(n->left->left) < height(n->left->right))
                rotate_left(t, n->left);
            n = rotate_right(t, n);
            rotated = true;
        } else if (bf < -1) {
            if (height(n->right->right) < height(n->right->left))
                rotate_right(t, n->right);
            n = rotate_left(t, n);
            rotated = true;
        }
        if (!first && !rotated && !must && n->height == old_height && n->max_gap == old_max_gap)
            return;
        first = false;
        n = n->parent;
    }
}

void vmar_tree_init(struct vmar_tree *t, uint64_t lo, uint64_t hi) {
    ASSERT_MSG(lo < hi && IS_ALIGNED(lo, PAGE_SIZE) && IS_ALIGNED(hi, PAGE_SIZE),
               "bad range [%#llx, %#llx)", (unsigned long long)lo, (unsigned long long)hi);
    t->root = NULL;
    t->lo = lo;
    t->hi = hi;
    t->count = 0;
}

struct vmar_tree_node *vmar_tree_first(const struct vmar_tree *t) {
    struct vmar_tree_node *n = t->root;
    while (n && n->left)
        n = n->left;
    return n;
}

struct vmar_tree_node *vmar_tree_last(const struct vmar_tree *t) {
    struct vmar_tree_node *n = t->root;
    while (n && n->right)
        n = n->right;
    return n;
}

struct vmar_tree_node *vmar_tree_next(const struct vmar_tree_node *n) {
    if (n->right) {
        n = n->right;
        while (n->left)
            n = n->left;
        return (struct vmar_tree_node *)n;
    }
    while (n->parent && n->parent->right == n)
        n = n->parent;
    return n->parent;
}

struct vmar_tree_node *vmar_tree_prev(const struct vmar_tree_node *n) {
    if (n->left) {
        n = n->left;
        while (n->right)
            n = n->right;
        return (struct vmar_tree_node *)n;
    }
    while (n->parent && n->parent->left == n)
        n = n->parent;
    return n->parent;
}

// The end of the node before `n` (or the tree's lo): where n's gap starts.
static uint64_t prev_end(const struct vmar_tree *t, const struct vmar_tree_node *prev) {
    return prev ? node_end(prev) : t->lo;
}

void vmar_tree_insert(struct vmar_tree *t, struct vmar_tree_node *n) {
    ASSERT_MSG(n->size > 0 && n->base >= t->lo && n->base < t->hi && n->size <= t->hi - n->base,
               "[%#llx, +%#llx) is outside the tree's range", (unsigned long long)n->base,
               (unsigned long long)n->size);
    // A new leaf's in-order neighbours are its ancestors: the last node the descent left to the
    // right (prev) and to the left (next).
    struct vmar_tree_node **link = &t->root, *parent = NULL, *prev = NULL, *next = NULL;
    while (*link) {
        parent = *link;
        if (n->base < parent->base) {
            next = parent;
            link = &parent->left;
        } else {
            prev = parent;
            link = &parent->right;
        }
    }
    n->parent = parent;
    n->left = n->right = NULL;
    n->height = 1;
    *link = n;
    t->count++;
    // Free means: clear of both in-order neighbours (they bound every other node).
    ASSERT_MSG(prev_end(t, prev) <= n->base && (!next || node_end(n) <= next->base),
               "[%#llx, +%#llx) is not free", (unsigned long long)n->base,
               (unsigned long long)n->size);
    n->gap = n->base - prev_end(t, prev);
    if (next)
        next->gap = next->base - node_end(n);
    rebalance_up(t, n, next);  // one walk up fixes every gap the leaf changed
}

void vmar_tree_remove(struct vmar_tree *t, struct vmar_tree_node *n) {
    struct vmar_tree_node *prev = vmar_tree_prev(n), *next = vmar_tree_next(n);
    struct vmar_tree_node *fix;  // the lowest node whose subtree changed shape
    bool n_had_two = n->left && n->right;
    if (n_had_two) {
        // The successor (leftmost of the right subtree, no left child) takes n's place.
        struct vmar_tree_node *s = next;
        if (s->parent == n) {
            fix = s;
        } else {
            fix = s->parent;
            replace_child(t, s->parent, s, s->right);
            s->right = n->right;
            n->right->parent = s;
        }
        s->left = n->left;
        n->left->parent = s;
        replace_child(t, n->parent, n, s);
        // What n's parent last saw of n: the walk up compares s against it.
        s->height = n->height;
        s->max_gap = n->max_gap;
    } else {
        fix = n->parent;
        replace_child(t, n->parent, n, n->left ? n->left : n->right);
    }
    n->parent = n->left = n->right = NULL;
    t->count--;
    // The successor that took n's place (two children) is above fix; its own gap changed, so
    // it gets a walk of its own, as does a successor that did not move.
    if (fix)
        rebalance_up(t, fix, n_had_two ? next : NULL);
    if (next) {
        next->gap = next->base - prev_end(t, prev);
        rebalance_up(t, next, NULL);
    }
}

void vmar_tree_update(struct vmar_tree *t, struct vmar_tree_node *n, uint64_t base, uint64_t size) {
    struct vmar_tree_node *prev = vmar_tree_prev(n), *next = vmar_tree_next(n);
    ASSERT_MSG(size > 0 && base >= t->lo && base <= t->hi && size <= t->hi - base &&
                   (!prev || node_end(prev) <= base) && (!next || base + size <= next->base),
               "[%#llx, +%#llx) overlaps a neighbour", (unsigned long long)base,
               (unsigned long long)size);
    n->base = base;
    n->size = size;
    n->gap = base - prev_end(t, prev);
    rebalance_up(t, n, NULL);
    if (next) {
        next->gap = next->base - (base + size);
        rebalance_up(t, next, NULL);
    }
}

struct vmar_tree_node *vmar_tree_find(const struct vmar_tree *t, uint64_t addr) {
    struct vmar_tree_node *n = t->root;
    while (n) {
        if (addr < n->base)
            n = n->left;
        else if (addr >= node_end(n))
            n = n->right;
        else
            return n;
    }
    return NULL;
}

struct vmar_tree_node *vmar_tree_first_ending_after(const struct vmar_tree *t, uint64_t addr) {
    // Intervals do not overlap, so ends are ordered like bases.
    struct vmar_tree_node *n = t->root, *best = NULL;
    while (n) {
        if (node_end(n) > addr) {
            best = n;
            n = n->left;
        } else {
            n = n->right;
        }
    }
    return best;
}

bool vmar_tree_range_free(const struct vmar_tree *t, uint64_t base, uint64_t size) {
    if (size == 0 || base < t->lo || base >= t->hi || size > t->hi - base)
        return false;
    struct vmar_tree_node *n = vmar_tree_first_ending_after(t, base);
    return !n || n->base >= base + size;
}

// --- Free-space search ---

struct spot_query {
    uint64_t size, align, from, limit;  // limit <= hi
    uint64_t threshold;                 // only gaps at least this long are tried
    size_t visits;
};

// Whether the gap [gs, ge) holds an aligned spot for the query; the spot in *out.
static bool gap_fits(const struct spot_query *q, uint64_t gs, uint64_t ge, uint64_t *out) {
    if (ge - gs < q->threshold)
        return false;
    uint64_t s = MAX(gs, q->from);
    if (s > UINT64_MAX - (q->align - 1))
        return false;
    s = ROUNDUP(s, q->align);
    uint64_t end = MIN(ge, q->limit);
    if (s >= end || end - s < q->size)
        return false;
    *out = s;
    return true;
}

// True if a spot of the query's size could start at or after `addr` and end by the limit.
static bool room_after(const struct spot_query *q, uint64_t addr) {
    return addr < q->limit && q->limit - addr >= q->size;
}

enum { SPOT_NONE = 0, SPOT_FOUND = 1, SPOT_STOP = -1 };

// In-order search of n's subtree for the first gap that fits. SPOT_STOP: every later gap starts
// too late for the limit. Recursion depth is the AVL height (< 1.45 log2 n).
static int search(struct spot_query *q, const struct vmar_tree_node *n, uint64_t *out) {
    if (!n || n->max_gap < q->threshold)
        return SPOT_NONE;
    q->visits++;
    // n's gap ends at n->base and the gaps of its left subtree before that: nothing there can hold
    // a spot at or after `from` unless from < n->base.
    if (n->base > q->from) {
        int r = search(q, n->left, out);
        if (r != SPOT_NONE)
            return r;
        uint64_t gs = n->base - n->gap;
        if (!room_after(q, gs))
            return SPOT_STOP;
        if (n->gap >= q->threshold && gap_fits(q, gs, n->base, out))
            return SPOT_FOUND;
    }
    if (!room_after(q, node_end(n)))
        return SPOT_STOP;
    return search(q, n->right, out);
}

static bool find_pass(const struct vmar_tree *t, struct spot_query *q, uint64_t *out) {
    int r = search(q, t->root, out);
    if (r == SPOT_FOUND)
        return true;
    if (r == SPOT_STOP)
        return false;
    struct vmar_tree_node *last = vmar_tree_last(t);
    return gap_fits(q, last ? node_end(last) : t->lo, t->hi, out);
}

bool vmar_tree_find_spot(const struct vmar_tree *t, uint64_t size, uint64_t align, uint64_t from,
                         uint64_t limit, uint64_t *out) {
    ASSERT_MSG(align >= PAGE_SIZE && (align & (align - 1)) == 0, "align %#llx",
               (unsigned long long)align);
    vmar_tree_last_visits = 0;
    if (size == 0)
        return false;
    struct spot_query q = {
        .size = size, .align = align, .from = MAX(from, t->lo), .limit = MIN(limit, t->hi),
    };
    bool found = false;
    // Pass 1: gaps long enough for any alignment of the spot (exact for align == PAGE_SIZE).
    if (size <= UINT64_MAX - (align - PAGE_SIZE)) {
        q.threshold = size + (align - PAGE_SIZE);
        found = find_pass(t, &q, out);
    }
    // Pass 2: any gap of `size` bytes, whose alignment may or may not work out.
    if (!found && align > PAGE_SIZE) {
        q.threshold = size;
        found = find_pass(t, &q, out);
    }
    vmar_tree_last_visits = q.visits;
    return found;
}

// --- Checking ---

static bool fail(const char *what, const struct vmar_tree_node *n) {
    kprintf("vmar_tree_check: %s at node [%#llx, +%#llx)\n", what,
            n ? (unsigned long long)n->base : 0ull, n ? (unsigned long long)n->size : 0ull);
    return false;
}

// Checks links, heights and max_gap below `n`; returns the height or -1.
static int32_t check_subtree(const struct vmar_tree_node *n, const struct vmar_tree_node *parent) {
    if (!n)
        return 0;
    if (n->parent != parent)
        return fail("parent link", n), -1;
    int32_t hl = check_subtree(n->left, n);
    int32_t hr = check_subtree(n->right, n);
    if (hl < 0 || hr < 0)
        return -1;
    if (hl - hr > 1 || hr - hl > 1)
        return fail("unbalanced", n), -1;
    int32_t h = 1 + (hl > hr ? hl : hr);
    if (n->height != h)
        return fail("height", n), -1;
    uint64_t g = MAX(n->gap, MAX(max_gap(n->left), max_gap(n->right)));
    if (n->max_gap != g)
        return fail("max_gap", n), -1;
    return h;
}

bool vmar_tree_check(const struct vmar_tree *t) {
    if (t->root && t->root->parent)
        return fail("root has a parent", t->root);
    if (check_subtree(t->root, NULL) < 0)
        return false;
    size_t count = 0;
    uint64_t end = t->lo;
    for (const struct vmar_tree_node *n = vmar_tree_first(t); n; n = vmar_tree_next(n)) {
        count++;
        if (n->size == 0 || !IS_ALIGNED(n->base, PAGE_SIZE) || !IS_ALIGNED(n->size, PAGE_SIZE))
            return fail("empty or unaligned interval", n);
        if (n->base < end)
            return fail("overlaps its predecessor (or below lo)", n);
        if (n->size > t->hi - n->base)
            return fail("beyond hi", n);
        if (n->gap != n->base - end)
            return fail("gap", n);
        end = node_end(n);
        if (count > t->count)
            return fail("more nodes than count", n);
    }
    if (count != t->count)
        return fail("count", NULL);
    return true;
}
