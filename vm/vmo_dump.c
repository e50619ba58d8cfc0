// Clone-tree printing (vm/vmo_dump.h). A node is numbered by its place in the tree's node list;
// the tree by the smallest koid of the VMOs that show it. Per node: its window on the parent, its
// size, and what its page list holds (pages by share count, zero markers, references to
// compressed pages, zero intervals); per visible node the VMOs that show it.
#include "vm/vmo_dump.h"

#include "kernel/heap.h"
#include "kernel/printf.h"
#include "kernel/string.h"
#include "vm/cow_pages.h"
#include "vm/vmo.h"

#define SHARE_KINDS 4  // distinct share counts listed per node; the rest are summed as "more"

struct node_counts {
    size_t pages, markers, refs, intervals;
    uint32_t share[SHARE_KINDS];
    size_t share_pages[SHARE_KINDS], share_kinds, other_share_pages;
};

struct count_ctx {
    struct cow_node *n;
    struct node_counts *c;
};

static zx_status_t count_slot(vmpl_slot_t *slot, uint64_t offset, void *ctx) {
    struct count_ctx *x = ctx;
    struct node_counts *c = x->c;
    if (vmpl_slot_is_marker(*slot)) {
        c->markers++;
    } else if (vmpl_slot_is_interval(*slot)) {
        c->intervals += vmpl_slot_is_interval_start(*slot) || !vmpl_slot_is_interval_end(*slot);
    } else if (vmpl_slot_is_page_or_ref(*slot)) {
        if (vmpl_slot_is_page(*slot))
            c->pages++;
        else
            c->refs++;
        uint32_t share = cow_slot_share_count(x->n, *slot);
        size_t k = 0;
        while (k < c->share_kinds && c->share[k] != share)
            k++;
        if (k == c->share_kinds && k < SHARE_KINDS) {
            c->share[k] = share;
            c->share_kinds++;
        }
        if (k < SHARE_KINDS)
            c->share_pages[k]++;
        else
            c->other_share_pages++;
    }
    return ZX_ERR_NEXT;
}

static void count_node(struct cow_node *n, struct node_counts *c) REQUIRES(n->tree->lock) {
    *c = (struct node_counts){0};
    struct count_ctx x = {n, c};
    (void)vmpl_for_each(&n->pages, 0, VMPL_MAX_SIZE, count_slot, &x);
}

// The tree's nodes in depth-first pre-order (parents before children), with their depths.
struct order {
    struct cow_node *nodes[VMO_DUMP_MAX_NODES];
    unsigned depth[VMO_DUMP_MAX_NODES];
    size_t n;
};

static size_t node_index(const struct order *o, const struct cow_node *n) {
    for (size_t i = 0; i < o->n; i++) {
        if (o->nodes[i] == n)
            return i;
    }
    return (size_t)-1;
}

// Iterative: the order array itself is the stack of nodes still to expand.
static void order_tree(struct cow_tree *tree, struct order *o) REQUIRES(tree->lock) {
    o->n = 0;
    list_for_each(&tree->nodes, it) {
        struct cow_node *n = containerof(it, struct cow_node, tree_link);
        if (n->parent || o->n == VMO_DUMP_MAX_NODES)
            continue;
        o->nodes[o->n] = n;
        o->depth[o->n++] = 0;
        // Children of the nodes appended since this root, in order.
        for (size_t i = o->n - 1; i < o->n; i++) {
            // Insert node i's children right after it, keeping pre-order.
            size_t at = i + 1;
            list_for_each(&o->nodes[i]->children, ct) {
                if (o->n == VMO_DUMP_MAX_NODES)
                    break;
                memmove(&o->nodes[at + 1], &o->nodes[at], (o->n - at) * sizeof(o->nodes[0]));
                memmove(&o->depth[at + 1], &o->depth[at], (o->n - at) * sizeof(o->depth[0]));
                o->nodes[at] = containerof(ct, struct cow_node, sibling);
                o->depth[at] = o->depth[i] + 1;
                o->n++;
                at++;
            }
        }
    }
}

struct min_koid {
    zx_koid_t koid;
};

static void min_koid_view(const struct vmo_view *view, void *ctx) {
    struct min_koid *m = ctx;
    if (!m->koid || view->koid < m->koid)
        m->koid = view->koid;
}

static zx_koid_t tree_koid(const struct order *o) {
    struct min_koid m = {0};
    for (size_t i = 0; i < o->n; i++) {
        cow_assert_held(o->nodes[i]);
        vmo_node_views_locked(o->nodes[i], min_koid_view, &m);
    }
    return m.koid;
}

const void *vmo_tree_id(struct vmo *v) {
    return vmo_cow_node(v)->tree;  // set at creation, never changes
}

// --- For a person ---

static void print_view(const struct vmo_view *view, void *ctx) {
    const unsigned *indent = ctx;
    kprintf("%*s  VMO %llu \"%s\"%s: [%#llx, %#llx) of the node, %zu mapping(s)\n",
            (int)(2 * *indent), "", (unsigned long long)view->koid, view->name,
            view->slice ? " (slice)" : "", (unsigned long long)view->cow_offset,
            (unsigned long long)(view->cow_offset + view->size), view->num_mappings);
}

static void print_counts(const struct node_counts *c) {
    kprintf("%zu pages", c->pages);
    if (c->share_kinds > 1 || (c->share_kinds == 1 && c->share[0] != 0)) {
        kprintf(" (");
        for (size_t k = 0; k < c->share_kinds; k++)
            kprintf("%s%zu with share count %u", k ? ", " : "", c->share_pages[k], c->share[k]);
        if (c->other_share_pages)
            kprintf(", %zu more", c->other_share_pages);
        kprintf(")");
    }
    kprintf(", %zu markers, %zu refs, %zu intervals\n", c->markers, c->refs, c->intervals);
}

void vmo_print_tree(struct vmo *v) {
    struct order *o = kmalloc(sizeof(*o));
    if (!o)
        return;
    struct cow_tree *tree = vmo_cow_node(v)->tree;
    mutex_acquire(&tree->lock);
    order_tree(tree, o);
    size_t hidden = 0;
    for (size_t i = 0; i < o->n; i++)
        hidden += o->nodes[i]->hidden;
    kprintf("clone tree %llu: %zu nodes (%zu hidden), %zu pages; share count = how many other "
            "VMOs see a page\n",
            (unsigned long long)tree_koid(o), tree->node_count, hidden, tree->pages);
    for (size_t i = 0; i < o->n; i++) {
        struct cow_node *n = o->nodes[i];
        cow_assert_held(n);
        unsigned d = o->depth[i];
        kprintf("%*s#%zu %s, %llu KiB", (int)(2 * d), "", i, n->hidden ? "hidden" : "visible",
                (unsigned long long)n->size / 1024);
        if (n->parent)
            kprintf(", window [%#llx, +%#llx) of #%zu", (unsigned long long)n->parent_offset,
                    (unsigned long long)n->parent_limit, node_index(o, n->parent));
        kprintf(": ");
        struct node_counts c;
        count_node(n, &c);
        print_counts(&c);
        vmo_node_views_locked(n, print_view, &d);
    }
    if (o->n < tree->node_count)
        kprintf("(%zu more nodes not shown)\n", tree->node_count - o->n);
    mutex_release(&tree->lock);
    kfree(o);
}

// --- The dump format (docs/memory-pictures.md) ---

struct dump_view_ctx {
    zx_koid_t tree;
    size_t node;
};

static void dump_view(const struct vmo_view *view, void *ctx) {
    const struct dump_view_ctx *d = ctx;
    char name[ZX_MAX_NAME_LEN];
    size_t k = 0;
    for (; view->name[k] && k + 1 < sizeof(name); k++)  // no quotes or spaces in the dump
        name[k] = (view->name[k] == '"' || view->name[k] == ' ') ? '_' : view->name[k];
    name[k] = '\0';
    kprintf("@vmo %llu %zu koid=%llu name=\"%s\" offset=%#llx size=%#llx slice=%d mappings=%zu\n",
            (unsigned long long)d->tree, d->node, (unsigned long long)view->koid, name,
            (unsigned long long)view->cow_offset, (unsigned long long)view->size, view->slice,
            view->num_mappings);
}

void vmo_dump_tree(struct vmo *v) {
    struct order *o = kmalloc(sizeof(*o));
    if (!o)
        return;
    struct cow_tree *tree = vmo_cow_node(v)->tree;
    mutex_acquire(&tree->lock);
    order_tree(tree, o);
    zx_koid_t id = tree_koid(o);
    kprintf("@tree %llu nodes=%zu shown=%zu pages=%zu\n", (unsigned long long)id,
            tree->node_count, o->n, tree->pages);
    for (size_t i = 0; i < o->n; i++) {
        struct cow_node *n = o->nodes[i];
        cow_assert_held(n);
        struct node_counts c;
        count_node(n, &c);
        kprintf("@node %llu %zu parent=", (unsigned long long)id, i);
        if (n->parent)
            kprintf("%zu", node_index(o, n->parent));
        else
            kprintf("-");
        kprintf(" hidden=%d size=%#llx window=%#llx+%#llx pages=%zu markers=%zu refs=%zu "
                "intervals=%zu shares=",
                n->hidden, (unsigned long long)n->size, (unsigned long long)n->parent_offset,
                (unsigned long long)n->parent_limit, c.pages, c.markers, c.refs, c.intervals);
        for (size_t k = 0; k < c.share_kinds; k++)
            kprintf("%s%u:%zu", k ? "," : "", c.share[k], c.share_pages[k]);
        if (c.other_share_pages)
            kprintf("%smore:%zu", c.share_kinds ? "," : "", c.other_share_pages);
        if (!c.share_kinds)
            kprintf("-");
        kprintf("\n");
        struct dump_view_ctx d = {id, i};
        vmo_node_views_locked(n, dump_view, &d);
    }
    kprintf("@endtree %llu\n", (unsigned long long)id);
    mutex_release(&tree->lock);
    kfree(o);
}
