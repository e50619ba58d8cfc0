// The intrusive WAVL tree: bottom-up insertion and erasure with rank-parity bits. See wavl.h for
// the rank rule. Notation in the comments: r(x) is x's rank; "x is an i-child" means r(parent) -
// r(x) == i; "p is i,j" means p's children are an i-child and a j-child; a missing child has rank
// -1 (parity odd).
#include "vm/wavl.h"

#include "kernel/assert.h"
#include "kernel/printf.h"

#define PARITY_BIT ((uintptr_t)1)

static inline struct wavl_node *parent_of(const struct wavl_node *n) {
    return (struct wavl_node *)(n->parent_rank & ~PARITY_BIT);
}

// The rank parity of `n`; a missing node has rank -1, which is odd.
static inline unsigned parity(const struct wavl_node *n) {
    return n ? (unsigned)(n->parent_rank & PARITY_BIT) : 1u;
}

static inline void set_parent(struct wavl_node *n, struct wavl_node *p) {
    n->parent_rank = (uintptr_t)p | (n->parent_rank & PARITY_BIT);
}

static inline void set_parent_parity(struct wavl_node *n, struct wavl_node *p, unsigned par) {
    n->parent_rank = (uintptr_t)p | par;
}

// A promotion or a demotion by one: either flips the parity.
static inline void flip(struct wavl_node *n) {
    n->parent_rank ^= PARITY_BIT;
}

static inline void promote(struct wavl_tree *t, struct wavl_node *n) {
    flip(n);
    t->stats.promotions++;
}

static inline void demote(struct wavl_tree *t, struct wavl_node *n) {
    flip(n);
    t->stats.demotions++;
}

// Makes `new_child` take `old_child`'s place under `p` (or at the root when p is NULL), and sets
// new_child's parent link. Ranks are untouched.
static void replace_child(struct wavl_tree *t, struct wavl_node *p, struct wavl_node *old_child,
                          struct wavl_node *new_child) {
    if (!p)
        t->root = new_child;
    else if (p->left == old_child)
        p->left = new_child;
    else
        p->right = new_child;
    if (new_child)
        set_parent(new_child, p);
}

void wavl_init(struct wavl_tree *tree) {
    *tree = (struct wavl_tree){0};
}

struct wavl_node *wavl_find(const struct wavl_tree *tree, uint64_t key) {
    struct wavl_node *n = tree->root;
    while (n) {
        if (key < n->key)
            n = n->left;
        else if (key > n->key)
            n = n->right;
        else
            return n;
    }
    return NULL;
}

struct wavl_node *wavl_lower_bound(const struct wavl_tree *tree, uint64_t key) {
    struct wavl_node *n = tree->root, *best = NULL;
    while (n) {
        if (n->key >= key) {
            best = n;
            n = n->left;
        } else {
            n = n->right;
        }
    }
    return best;
}

struct wavl_node *wavl_upper_bound(const struct wavl_tree *tree, uint64_t key) {
    struct wavl_node *n = tree->root, *best = NULL;
    while (n) {
        if (n->key > key) {
            best = n;
            n = n->left;
        } else {
            n = n->right;
        }
    }
    return best;
}

struct wavl_node *wavl_floor(const struct wavl_tree *tree, uint64_t key) {
    struct wavl_node *n = tree->root, *best = NULL;
    while (n) {
        if (n->key <= key) {
            best = n;
            n = n->right;
        } else {
            n = n->left;
        }
    }
    return best;
}

struct wavl_node *wavl_next(const struct wavl_node *node) {
    if (node->right) {
        struct wavl_node *n = node->right;
        while (n->left)
            n = n->left;
        return n;
    }
    const struct wavl_node *n = node;
    struct wavl_node *p = parent_of(n);
    while (p && p->right == n) {
        n = p;
        p = parent_of(p);
    }
    return p;
}

struct wavl_node *wavl_prev(const struct wavl_node *node) {
    if (node->left) {
        struct wavl_node *n = node->left;
        while (n->right)
            n = n->right;
        return n;
    }
    const struct wavl_node *n = node;
    struct wavl_node *p = parent_of(n);
    while (p && p->left == n) {
        n = p;
        p = parent_of(p);
    }
    return p;
}

/*
 * Insertion rebalancing. On entry x is a 0-child of p (equal ranks); p's other child is s.
 *
 *   promote:  p is 0,1        -> r(p)++, climb if p is now a 0-child of its parent
 *   rotate:   p is 0,2, x's inner child y is missing or a 2-child (x is p's left child here):
 *
 *           p                 x
 *          / \               / \
 *         x   s     ==>     a   p          r(p)--
 *        / \                   / \
 *       a   y                 y   s
 *
 *   double:   p is 0,2, y is a 1-child of x:
 *
 *           p                  y
 *          / \               /   \
 *         x   s     ==>     x     p        r(y)++, r(x)--, r(p)--
 *        / \               / \   / \
 *       a   y             a  yl yr  s
 *          / \
 *        yl   yr
 */
static void insert_rebalance(struct wavl_tree *t, struct wavl_node *x, struct wavl_node *p) {
    for (;;) {
        bool x_left = p->left == x;
        struct wavl_node *s = x_left ? p->right : p->left;
        if (parity(s) != parity(p)) {
            // s is a 1-child: p is 0,1.
            promote(t, p);
            t->stats.cases[WAVL_CASE_INSERT_PROMOTE]++;
            struct wavl_node *g = parent_of(p);
            // After the promotion p is a 0-child (same parity) or a 1-child of g.
            if (!g || parity(p) != parity(g))
                return;
            x = p;
            p = g;
            continue;
        }
        // s is a 2-child: p is 0,2. Rotate at p.
        struct wavl_node *g = parent_of(p);
        struct wavl_node *y = x_left ? x->right : x->left;  // x's inner child
        if (parity(y) == parity(x)) {
            // y missing or a 2-child of x: single rotation lifting x.
            if (x_left) {
                p->left = y;
                x->right = p;
            } else {
                p->right = y;
                x->left = p;
            }
            if (y)
                set_parent(y, p);
            replace_child(t, g, p, x);
            set_parent(p, x);
            demote(t, p);
            t->stats.rotations++;
            t->stats.cases[WAVL_CASE_INSERT_ROTATE]++;
        } else {
            // y is a 1-child of x: double rotation lifting y.
            struct wavl_node *yl = y->left, *yr = y->right;
            if (x_left) {
                x->right = yl;
                p->left = yr;
                if (yl)
                    set_parent(yl, x);
                if (yr)
                    set_parent(yr, p);
                y->left = x;
                y->right = p;
            } else {
                x->left = yr;
                p->right = yl;
                if (yr)
                    set_parent(yr, x);
                if (yl)
                    set_parent(yl, p);
                y->right = x;
                y->left = p;
            }
            replace_child(t, g, p, y);
            set_parent(x, y);
            set_parent(p, y);
            promote(t, y);
            demote(t, x);
            demote(t, p);
            t->stats.rotations += 2;
            t->stats.cases[WAVL_CASE_INSERT_ROTATE_DOUBLE]++;
        }
        return;
    }
}

zx_status_t wavl_insert(struct wavl_tree *tree, struct wavl_node *node) {
    struct wavl_node *p = NULL, **link = &tree->root;
    while (*link) {
        p = *link;
        if (node->key < p->key)
            link = &p->left;
        else if (node->key > p->key)
            link = &p->right;
        else
            return ZX_ERR_ALREADY_EXISTS;
    }
    node->left = node->right = NULL;
    set_parent_parity(node, p, 0);  // a new leaf has rank 0
    *link = node;
    tree->count++;
    tree->stats.inserts++;
    if (!tree->min || node->key < tree->min->key)
        tree->min = node;
    if (!tree->max || node->key > tree->max->key)
        tree->max = node;
    // If p was unary (rank 1) the new leaf is a 1-child and nothing changes. If p was a leaf
    // (rank 0, even) the new leaf is a 0-child.
    if (p && parity(p) == 0)
        insert_rebalance(tree, node, p);
    return ZX_OK;
}

/*
 * Erasure rebalancing, entered with x (possibly NULL) a 3-child of p; x_left says which side.
 * Let y be x's sibling (it exists: r(p) >= 2).
 *
 *   demote:        y is a 2-child            -> r(p)--, climb if p was a 2-child
 *   demote double: y is a 1-child and 2,2    -> r(p)--, r(y)--, climb likewise
 *   rotate:        w (y's outer child) is a 1-child (x is p's left child here):
 *
 *           p                   y
 *          / \                 / \
 *         x   y       ==>     p   w        r(y)++, r(p)-- (twice if p is now a leaf)
 *            / \             / \
 *           v   w           x   v
 *
 *   double:        w is a 2-child, so v (y's inner child) is a 1-child:
 *
 *           p                   v
 *          / \                /   \
 *         x   y       ==>    p     y       r(v) += 2, r(p) -= 2, r(y)--
 *            / \            / \   / \
 *           v   w          x  vl vr  w
 *          / \
 *        vl   vr
 */
static void erase_fix_3child(struct wavl_tree *t, struct wavl_node *p, bool x_left) {
    for (;;) {
        struct wavl_node *y = x_left ? p->right : p->left;
        DEBUG_ASSERT(y != NULL);
        struct wavl_node *g = parent_of(p);
        bool p_was_2child = g && parity(p) == parity(g);
        if (parity(y) == parity(p)) {
            demote(t, p);
            t->stats.cases[WAVL_CASE_ERASE_DEMOTE]++;
        } else if (parity(y->left) == parity(y) && parity(y->right) == parity(y)) {
            demote(t, p);
            demote(t, y);
            t->stats.cases[WAVL_CASE_ERASE_DEMOTE_DOUBLE]++;
        } else {
            break;
        }
        if (!p_was_2child)
            return;  // p is now a 2-child (or the root): done
        x_left = g->left == p;
        p = g;
    }

    // Rotation at p; y is a 1-child of p and not 2,2.
    struct wavl_node *g = parent_of(p);
    struct wavl_node *y = x_left ? p->right : p->left;
    struct wavl_node *w = x_left ? y->right : y->left;  // outer
    struct wavl_node *v = x_left ? y->left : y->right;  // inner
    if (parity(w) != parity(y)) {
        // w is a 1-child: single rotation lifting y.
        if (x_left) {
            p->right = v;
            y->left = p;
        } else {
            p->left = v;
            y->right = p;
        }
        if (v)
            set_parent(v, p);
        replace_child(t, g, p, y);
        set_parent(p, y);
        promote(t, y);
        demote(t, p);
        t->stats.rotations++;
        if (!p->left && !p->right) {
            demote(t, p);  // a leaf must have rank 0
            t->stats.cases[WAVL_CASE_ERASE_ROTATE_LEAF]++;
        } else {
            t->stats.cases[WAVL_CASE_ERASE_ROTATE]++;
        }
    } else {
        // v is a 1-child: double rotation lifting v. Parities of v and p are unchanged (+2, -2).
        struct wavl_node *vl = v->left, *vr = v->right;
        if (x_left) {
            p->right = vl;
            y->left = vr;
            if (vl)
                set_parent(vl, p);
            if (vr)
                set_parent(vr, y);
            v->left = p;
            v->right = y;
        } else {
            p->left = vr;
            y->right = vl;
            if (vr)
                set_parent(vr, p);
            if (vl)
                set_parent(vl, y);
            v->right = p;
            v->left = y;
        }
        replace_child(t, g, p, v);
        set_parent(p, v);
        set_parent(y, v);
        t->stats.promotions += 2;
        t->stats.demotions += 2;
        demote(t, y);
        t->stats.rotations += 2;
        t->stats.cases[WAVL_CASE_ERASE_ROTATE_DOUBLE]++;
    }
}

void wavl_erase(struct wavl_tree *tree, struct wavl_node *z) {
    DEBUG_ASSERT(tree->count > 0);
    if (tree->min == z)
        tree->min = wavl_next(z);
    if (tree->max == z)
        tree->max = wavl_prev(z);
    tree->count--;
    tree->stats.erases++;

    struct wavl_node *p;  // parent of the position that disappears
    bool x_left;          // side of p where that position was
    bool was_2child;      // the node leaving that position was a 2-child of p
    if (z->left && z->right) {
        // The successor s (no left child) leaves its position and takes z's, with z's rank.
        struct wavl_node *s = z->right;
        while (s->left)
            s = s->left;
        struct wavl_node *sp = parent_of(s), *c = s->right;
        was_2child = parity(s) == parity(sp);
        if (sp == z) {
            // s keeps its right child c; the vacated position is s's right side.
            p = s;
            x_left = false;
        } else {
            sp->left = c;
            if (c)
                set_parent(c, sp);
            s->right = z->right;
            set_parent(z->right, s);
            p = sp;
            x_left = true;
        }
        s->left = z->left;
        set_parent(z->left, s);
        struct wavl_node *zp = parent_of(z);
        set_parent_parity(s, zp, parity(z));
        replace_child(tree, zp, z, s);
        tree->stats.cases[WAVL_CASE_ERASE_SUCCESSOR]++;
    } else {
        struct wavl_node *c = z->left ? z->left : z->right;
        p = parent_of(z);
        if (!p) {
            tree->root = c;
            if (c)
                set_parent(c, NULL);
            return;
        }
        x_left = p->left == z;
        was_2child = parity(z) == parity(p);
        replace_child(tree, p, z, c);
    }
    z->left = z->right = NULL;
    z->parent_rank = 0;

    // The child now in the vacated position has rank r(removed) - 1.
    if (!was_2child) {
        // It is a 2-child. Only a parent left as a leaf (a 2,2 leaf of rank 1) is wrong.
        if (p->left || p->right)
            return;
        struct wavl_node *g = parent_of(p);
        bool p_was_2child = g && parity(p) == parity(g);
        demote(tree, p);
        tree->stats.cases[WAVL_CASE_ERASE_LEAF_DEMOTE]++;
        if (!p_was_2child)
            return;
        x_left = g->left == p;
        p = g;
    }
    erase_fix_3child(tree, p, x_left);
}

void wavl_clear(struct wavl_tree *tree, void (*fn)(struct wavl_node *node, void *ctx), void *ctx) {
    struct wavl_node *n = tree->root;
    while (n) {
        if (n->left) {
            n = n->left;
        } else if (n->right) {
            n = n->right;
        } else {
            // A leaf: unlink it from its parent and hand it over.
            struct wavl_node *p = parent_of(n);
            if (p) {
                if (p->left == n)
                    p->left = NULL;
                else
                    p->right = NULL;
            }
            n->parent_rank = 0;
            if (fn)
                fn(n, ctx);
            n = p;
        }
    }
    tree->root = tree->min = tree->max = NULL;
    tree->count = 0;
}

// Recursive checker (depth <= 2 log2 n). Returns the node's rank or -2 on a violation; counts
// nodes and checks keys lie in (lo, hi) (exclusive bounds, has_lo/has_hi say whether they apply).
struct check_state {
    size_t nodes;
    size_t height;
    bool ok;
};

static int check_node(const struct wavl_node *n, const struct wavl_node *parent, uint64_t lo,
                      bool has_lo, uint64_t hi, bool has_hi, size_t depth,
                      struct check_state *st) {
    if (!n)
        return -1;
    if (!st->ok)
        return -2;
    st->nodes++;
    if (depth > st->height)
        st->height = depth;
    if (parent_of(n) != parent) {
        kprintf("wavl_check: node key %#llx: parent link %p, expected %p\n",
                (unsigned long long)n->key, (void *)parent_of(n), (const void *)parent);
        st->ok = false;
        return -2;
    }
    if ((has_lo && n->key <= lo) || (has_hi && n->key >= hi)) {
        kprintf("wavl_check: key %#llx out of order\n", (unsigned long long)n->key);
        st->ok = false;
        return -2;
    }
    if (depth > 128) {
        kprintf("wavl_check: depth above 128 (a cycle?)\n");
        st->ok = false;
        return -2;
    }
    int rl = check_node(n->left, n, lo, has_lo, n->key, true, depth + 1, st);
    int rr = check_node(n->right, n, n->key, true, hi, has_hi, depth + 1, st);
    if (!st->ok)
        return -2;
    // Each child fixes r(n) as r(child) + 1 or + 2, whichever has n's parity.
    unsigned par = parity(n);
    int from_l = rl + 1 + (((unsigned)(rl + 1) & 1u) != par);
    int from_r = rr + 1 + (((unsigned)(rr + 1) & 1u) != par);
    if (from_l != from_r) {
        kprintf("wavl_check: node key %#llx: rank rule broken (children ranks %d and %d, "
                "parity %u)\n",
                (unsigned long long)n->key, rl, rr, par);
        st->ok = false;
        return -2;
    }
    if (!n->left && !n->right && from_l != 0) {
        kprintf("wavl_check: leaf key %#llx has rank %d\n", (unsigned long long)n->key, from_l);
        st->ok = false;
        return -2;
    }
    return from_l;
}

bool wavl_check(const struct wavl_tree *tree) {
    if (!tree->root) {
        if (tree->count != 0 || tree->min || tree->max) {
            kprintf("wavl_check: empty tree with count %zu or end links\n", tree->count);
            return false;
        }
        return true;
    }
    if (parent_of(tree->root) != NULL) {
        kprintf("wavl_check: root has a parent\n");
        return false;
    }
    struct check_state st = {0, 0, true};
    check_node(tree->root, NULL, 0, false, 0, false, 1, &st);
    if (!st.ok)
        return false;
    if (st.nodes != tree->count) {
        kprintf("wavl_check: %zu nodes reachable, count says %zu\n", st.nodes, tree->count);
        return false;
    }
    const struct wavl_node *lo = tree->root, *hi = tree->root;
    while (lo->left)
        lo = lo->left;
    while (hi->right)
        hi = hi->right;
    if (tree->min != lo || tree->max != hi) {
        kprintf("wavl_check: min/max links stale\n");
        return false;
    }
    // Height bound: height <= 2 log2(n + 1), i.e. 2^height <= (n + 1)^2.
    uint64_t n1 = (uint64_t)tree->count + 1;
    if (st.height >= 64 || ((uint64_t)1 << st.height) > n1 * n1) {
        kprintf("wavl_check: height %zu too large for %zu nodes\n", st.height, tree->count);
        return false;
    }
    return true;
}

static size_t height_of(const struct wavl_node *n) {
    if (!n)
        return 0;
    size_t l = height_of(n->left), r = height_of(n->right);
    return 1 + (l > r ? l : r);
}

size_t wavl_height(const struct wavl_tree *tree) {
    return height_of(tree->root);
}

int wavl_root_rank(const struct wavl_tree *tree) {
    // Walk down any path to a leaf, summing rank differences.
    const struct wavl_node *n = tree->root;
    if (!n)
        return -1;
    int rank = 0;
    for (;;) {
        const struct wavl_node *c = n->left ? n->left : n->right;
        if (!c)
            break;
        rank += parity(c) != parity(n) ? 1 : 2;
        n = c;
    }
    return rank;  // n is a leaf, rank 0
}
