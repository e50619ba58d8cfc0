// The VMO / clone-tree differential driver (see cow_model.h).
#include "test/host/cow_model.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kernel/assert.h"
#include "kernel/object.h"
#include "test/host/fake_codec.h"
#include "test/host/host_env.h"
#include "test/model_op.h"
#include "vm/cow_compress.h"
#include "vm/cow_pages.h"
#include "vm/pmm.h"
#include "vm/vmo.h"

#define P ((uint64_t)PAGE_SIZE)
#define MAX_VMOS 8
#define MAX_PAGES 12
#define MAX_BYTES (MAX_PAGES * PAGE_SIZE)
#define MAX_BUFS (2 * MAX_VMOS)
#define FAR_OFFSET 0xffffffffffff0000ull

// Model storage of one visible clone-tree node: what its owner and its slices read.
struct buf {
    uint8_t bytes[MAX_BYTES];
    int refs;          // VMOs showing it
    bool owner_alive;  // the VMO that created it is open
    bool is_clone;     // created as a snapshot
};

struct slot {
    struct vmo *v;  // NULL when free
    int buf;
    uint64_t off;   // offset of this VMO in its buffer
    uint64_t size;  // bytes, page multiple
    bool resizable, slice, clone;
    int parent;           // slot of the VMO it was created from while that is open, else -1
    int cow_children;     // open snapshot children
    bool zombie;          // closed, but its slices keep it alive (v is held by them, not us)
    uint64_t root_offset;
};

struct model {
    struct buf bufs[MAX_BUFS];
    struct slot slots[MAX_VMOS];
    const uint8_t *data;
    size_t size, pos;
    bool verbose;
    uint32_t seq;  // content generator
    size_t base_vmo_pages, base_free, base_nodes, base_heap, base_zero;
    struct cow_model_stats *stats;
    const char *cur_op;  // the running operation's name, for failure messages
};

static struct model model;
static uint8_t scratch[MAX_BYTES + 2 * PAGE_SIZE];
static uint8_t scratch2[MAX_BYTES + 2 * PAGE_SIZE];

// Compressions the model started and has not finished (at most two at a time).
#define MAX_INFLIGHT 2
static struct cow_inflight inflight[MAX_INFLIGHT];
static bool inflight_used[MAX_INFLIGHT];

#define FAIL(...)                                                            \
    do {                                                                     \
        fflush(stdout);                                                      \
        fprintf(stderr, "cow_model: in operation %s\n", model.cur_op);      \
        panic("cow_model: " __VA_ARGS__);                                    \
    } while (0)

static bool more(struct model *m) {
    return m->pos < m->size;
}

static uint8_t get8(struct model *m) {
    return m->pos < m->size ? m->data[m->pos++] : 0;
}

static uint16_t get16(struct model *m) {
    uint16_t lo = get8(m);
    return (uint16_t)(lo | (uint16_t)get8(m) << 8);
}

static uint8_t *view(struct model *m, int s) {
    return m->bufs[m->slots[s].buf].bytes + m->slots[s].off;
}

static int free_buf(struct model *m) {
    for (int i = 0; i < MAX_BUFS; i++) {
        if (m->bufs[i].refs == 0)
            return i;
    }
    FAIL("no free buffer");
}

static int free_slot(struct model *m) {
    for (int i = 0; i < MAX_VMOS; i++) {
        if (!m->slots[i].v)
            return i;
    }
    return -1;
}

// A live slot chosen by the next byte, or -1.
static int pick(struct model *m) {
    int start = get8(m) % MAX_VMOS;
    for (int i = 0; i < MAX_VMOS; i++) {
        int s = (start + i) % MAX_VMOS;
        if (m->slots[s].v && !m->slots[s].zombie)
            return s;
    }
    return -1;
}

static void fill(struct model *m, uint8_t *dst, size_t len) {
    for (size_t i = 0; i < len; i++)
        dst[i] = (uint8_t)((m->seq * 131u + i * 7u) >> 3 | 1u);
    m->seq++;
}

// --- Checks ---

static void check_contents(struct model *m, int s) {
    struct slot *sl = &m->slots[s];
    if (vmo_get_size(sl->v) != sl->size)
        FAIL("slot %d: size %llu, model %llu", s, (unsigned long long)vmo_get_size(sl->v),
             (unsigned long long)sl->size);
    // Peek: a read would decompress compressed pages and end compressions in flight.
    zx_status_t st = vmo_peek(sl->v, scratch, 0, (size_t)sl->size);
    if (st != ZX_OK)
        FAIL("slot %d: peek %d", s, st);
    if (memcmp(scratch, view(m, s), (size_t)sl->size) != 0) {
        for (size_t i = 0; i < sl->size; i++) {
            if (scratch[i] != view(m, s)[i])
                FAIL("slot %d: byte %#zx is %#x, model %#x", s, i, scratch[i], view(m, s)[i]);
        }
    }
}

struct lookup_check {
    struct model *m;
    int s;
    uint64_t next;     // pages before this offset were checked
    uint64_t skipped;  // pages with content the look-up skipped (compressed ones)
};

static bool page_is_zero(const uint8_t *p) {
    for (size_t i = 0; i < PAGE_SIZE; i++) {
        if (p[i])
            return false;
    }
    return true;
}

static zx_status_t lookup_check_cb(void *ctx, uint64_t offset, paddr_t pa, bool writable) {
    struct lookup_check *c = ctx;
    const uint8_t *want = view(c->m, c->s);
    if (offset < c->next || offset >= c->m->slots[c->s].size || offset % P)
        FAIL("slot %d: lookup offset %#llx out of order", c->s, (unsigned long long)offset);
    for (uint64_t o = c->next; o < offset; o += P)
        c->skipped += !page_is_zero(want + o);
    if (memcmp(vm_page_kva(pmm_page_from_paddr(pa)), want + offset, PAGE_SIZE) != 0)
        FAIL("slot %d: lookup page %#llx differs", c->s, (unsigned long long)offset);
    c->next = offset + P;
    return ZX_ERR_NEXT;
}

// Look-ups skip compressed pages (they have no page to map): a page with content may be skipped
// only if it is compressed, so the skipped ones are at most the compressed pages the VMO sees
// (populated minus committed; a slice reports neither, so its tree must hold none).
static void check_lookups(struct model *m, int s) {
    struct lookup_check c = {m, s, 0, 0};
    zx_status_t st = vmo_lookup_pages(m->slots[s].v, 0, m->slots[s].size, lookup_check_cb, &c);
    if (st != ZX_OK)
        FAIL("slot %d: lookup_pages %d", s, st);
    for (uint64_t o = c.next; o < m->slots[s].size; o += P)
        c.skipped += !page_is_zero(view(m, s) + o);
    zx_info_vmo_t i;
    vmo_get_info(m->slots[s].v, &i);
    uint64_t compressed = m->slots[s].slice ? (vmo_cow_node(m->slots[s].v)->tree->zpages ? UINT64_MAX : 0)
                                            : (i.populated_bytes - i.committed_bytes) / P;
    if (c.skipped > compressed)
        FAIL("slot %d: lookup skipped %llu pages with content, %llu compressed", s,
             (unsigned long long)c.skipped, (unsigned long long)compressed);
}


static void check_all(struct model *m) {
    struct cow_tree *trees[MAX_VMOS];
    size_t ntrees = 0, pages = 0, list_pages = 0, zpages = 0;
    double scaled = 0, pscaled = 0;
    bool all_owned = true;
    for (int s = 0; s < MAX_VMOS; s++) {
        struct slot *sl = &m->slots[s];
        if (!sl->v)
            continue;
        check_contents(m, s);
        struct cow_tree *t = vmo_cow_node(sl->v)->tree;
        bool seen = false;
        for (size_t i = 0; i < ntrees; i++)
            seen |= trees[i] == t;
        if (!seen) {
            trees[ntrees++] = t;
            if (!vmo_check_tree(sl->v))
                FAIL("slot %d: cow_check_tree failed", s);
            pages += vmo_tree_pages(sl->v);  // in lists and in compressions in flight
            list_pages += t->pages;          // both verified by the checker
            zpages += t->zpages;
        }
        zx_info_vmo_t i;
        vmo_get_info(sl->v, &i);
        if (i.size_bytes != sl->size || i.committed_bytes > sl->size ||
            i.committed_private_bytes > i.committed_scaled_bytes ||
            i.committed_scaled_bytes > i.committed_bytes ||
            i.populated_bytes < i.committed_bytes || i.populated_bytes > sl->size ||
            i.populated_private_bytes < i.committed_private_bytes ||
            i.populated_scaled_bytes < i.committed_scaled_bytes ||
            i.populated_private_bytes > i.populated_scaled_bytes ||
            i.populated_scaled_bytes > i.populated_bytes)
            FAIL("slot %d: attribution committed %llu private %llu scaled %llu", s,
                 (unsigned long long)i.committed_bytes,
                 (unsigned long long)i.committed_private_bytes,
                 (unsigned long long)i.committed_scaled_bytes);
        if (sl->slice && (i.committed_private_bytes || i.committed_scaled_bytes ||
                          i.populated_bytes || i.populated_scaled_bytes))
            FAIL("slot %d: a slice is attributed private or scaled bytes", s);
        // ZX_INFO_TASK_STATS of one process mapping the whole VMO (the model maps nothing, so
        // one process is assumed): its private pages are the VMO's, and the scaled share of the
        // shared ones is the VMO's scaled bytes less the private ones.
        struct cow_task_stats ts = {0};
        vmo_task_stats(sl->v, 0, sl->size, &ts);
        if (!sl->slice && (ts.private_bytes != i.committed_private_bytes ||
                           ts.private_bytes + ts.shared_bytes != i.committed_bytes ||
                           ts.scaled_bytes != i.committed_scaled_bytes - ts.private_bytes ||
                           ts.scaled_frac != i.committed_fractional_scaled_bytes))
            FAIL("slot %d: task stats private %llu shared %llu scaled %llu", s,
                 (unsigned long long)ts.private_bytes, (unsigned long long)ts.shared_bytes,
                 (unsigned long long)ts.scaled_bytes);
        if (!sl->slice) {
            scaled += (double)i.committed_scaled_bytes +
                      (double)i.committed_fractional_scaled_bytes / 9223372036854775808.0;
            pscaled += (double)i.populated_scaled_bytes +
                       (double)i.populated_fractional_scaled_bytes / 9223372036854775808.0;
        }
        if (!m->bufs[sl->buf].owner_alive)
            all_owned = false;
    }
    for (int k = 0; k < MAX_INFLIGHT; k++) {
        bool seen = false;
        for (size_t i = 0; i < ntrees; i++)
            seen |= inflight_used[k] && trees[i] == inflight[k].tree;
        pages += inflight_used[k] && !seen;  // a tree whose VMOs are all closed holds its page
    }
    size_t vmo_pages = pmm_count(PAGE_STATE_VMO) - m->base_vmo_pages;
    if (pages != vmo_pages)
        FAIL("trees hold %zu pages, pmm has %zu VMO pages", pages, vmo_pages);
    if (all_owned) {
        // Resident pages are committed; compressed ones only populated (docs/abi.md §3).
        double want = (double)list_pages * (double)P;
        if (scaled < want - 1.0 || scaled > want + 1.0)
            FAIL("scaled bytes add up to %.3f, %zu pages held", scaled, list_pages);
        double pwant = (double)(list_pages + zpages) * (double)P;
        if (pscaled < pwant - 1.0 || pscaled > pwant + 1.0)
            FAIL("populated scaled bytes add up to %.3f, %zu pages + %zu compressed held",
                 pscaled, list_pages, zpages);
    }
}

// --- Operations ---

// Rounds like the VMO layer; false on overflow.
static bool round_up(uint64_t size, uint64_t *out) {
    if (size > UINT64_MAX - (P - 1))
        return false;
    *out = ROUNDUP(size, P);
    return true;
}

static void expect(struct model *m, const char *what, zx_status_t got, zx_status_t want,
                   bool injected) {
    if (got == want)
        return;
    if (injected && got == ZX_ERR_NO_MEMORY) {
        if (m->stats)
            m->stats->failed_nomem++;
        return;
    }
    FAIL("%s: status %d, expected %d", what, got, want);
}

// After a failed injected write or zero over [off, off + len) of slot s: each page must read
// either its old content (the model) or its new content (`want`); the model takes what it got.
static void resync(struct model *m, int s, uint64_t off, uint64_t len, const uint8_t *want) {
    uint8_t *cur = view(m, s);
    uint64_t first = ROUNDDOWN(off, P), end = ROUNDUP(off + len, P);
    for (uint64_t pg = first; pg < end && pg < m->slots[s].size; pg += P) {
        uint8_t got[PAGE_SIZE];
        if (vmo_peek(m->slots[s].v, got, pg, PAGE_SIZE) != ZX_OK)
            FAIL("resync read");
        if (memcmp(got, cur + pg, PAGE_SIZE) == 0)
            continue;
        if (memcmp(got, want + pg, PAGE_SIZE) != 0)
            FAIL("slot %d: page %#llx is neither its old nor its new content after a failure", s,
                 (unsigned long long)pg);
        memcpy(cur + pg, got, PAGE_SIZE);
    }
}

static void op_create(struct model *m, bool injected) {
    int s = free_slot(m);
    uint64_t size = (uint64_t)(get8(m) % (MAX_PAGES + 1)) * P;
    uint8_t flags = get8(m);
    if (size && (flags & 2))
        size -= 1 + get8(m) % 100;
    bool resizable = flags & 1;
    if (s < 0)
        return;
    if (m->verbose)
        printf("create slot %d size %#llx%s\n", s, (unsigned long long)size,
               resizable ? " resizable" : "");
    struct vmo *v;
    zx_status_t st = vmo_create(size, resizable ? ZX_VMO_RESIZABLE : 0, &v);
    expect(m, "create", st, ZX_OK, injected);
    if (st != ZX_OK)
        return;
    int b = free_buf(m);
    memset(m->bufs[b].bytes, 0, MAX_BYTES);
    m->bufs[b].refs = 1;
    m->bufs[b].owner_alive = true;
    m->bufs[b].is_clone = false;
    m->slots[s] = (struct slot){.v = v, .buf = b, .size = ROUNDUP(size, P),
                                .resizable = resizable, .parent = -1};
}

static void op_child(struct model *m, bool slice, bool injected) {
    int ps = pick(m);
    uint8_t a = get8(m), b = get8(m), c = get8(m);
    int s = free_slot(m);
    if (ps < 0 || s < 0)
        return;
    struct slot *p = &m->slots[ps];
    uint64_t offset = (uint64_t)(a % (MAX_PAGES + 3)) * P;
    if ((c & 0x30) == 0x30)
        offset = FAR_OFFSET - (uint64_t)(a % 4) * P;  // overflow paths
    uint64_t size = (uint64_t)(b % (MAX_PAGES + 1)) * P;
    if (size && (c & 1))
        size -= 1 + c % 64;
    bool resizable = !slice && (c & 2);
    uint32_t options = slice ? ZX_VMO_CHILD_SLICE
                             : ((c & 4) ? ZX_VMO_CHILD_SNAPSHOT_AT_LEAST_ON_WRITE
                                        : ZX_VMO_CHILD_SNAPSHOT);
    if (resizable)
        options |= ZX_VMO_CHILD_RESIZABLE;
    if (c & 8)
        options |= ZX_VMO_CHILD_NO_WRITE;
    uint64_t rsize = ROUNDUP(size, P);
    zx_status_t want = ZX_OK;
    uint64_t root = p->root_offset + offset;  // cannot overflow: offsets here are small or FAR
    bool root_overflow = root < p->root_offset || root > UINT64_MAX - rsize;
    if ((options & ZX_VMO_CHILD_NO_WRITE) && resizable)
        want = ZX_ERR_INVALID_ARGS;  // resizing needs the WRITE that NO_WRITE drops
    else if (!slice && offset > UINT64_MAX - rsize)
        want = ZX_ERR_OUT_OF_RANGE;  // a slice's overflow is "outside the parent" below
    else if (root_overflow)
        want = ZX_ERR_INVALID_ARGS;
    else if (slice && (offset > p->size || rsize > p->size - offset))
        want = ZX_ERR_INVALID_ARGS;
    else if (slice && p->resizable)
        want = ZX_ERR_NOT_SUPPORTED;
    if (m->verbose)
        printf("%s of slot %d -> slot %d offset %#llx size %#llx options %#x\n",
               slice ? "slice" : "snapshot", ps, s, (unsigned long long)offset,
               (unsigned long long)size, options);
    struct vmo *v;
    zx_status_t st = vmo_create_child(p->v, options, offset, size, &v);
    expect(m, "create_child", st, want, injected);
    if (st != ZX_OK)
        return;
    struct slot n = {.v = v, .size = rsize, .resizable = resizable, .slice = slice,
                     .clone = !slice, .parent = ps, .root_offset = root};
    if (slice) {
        n.buf = p->buf;
        n.off = p->off + offset;
        m->bufs[p->buf].refs++;
        if (m->stats)
            m->stats->slices++;
    } else {
        int b2 = free_buf(m);
        struct buf *nb = &m->bufs[b2];
        memset(nb->bytes, 0, MAX_BYTES);
        if (offset < p->size)
            memcpy(nb->bytes, view(m, ps) + offset, (size_t)MIN(rsize, p->size - offset));
        nb->refs = 1;
        nb->owner_alive = true;
        nb->is_clone = true;
        n.buf = b2;
        p->cow_children++;
        if (m->stats)
            m->stats->snapshots++;
    }
    m->slots[s] = n;
    if (m->stats) {
        struct cow_node *node = vmo_cow_node(v);
        size_t d = 0;
        for (struct cow_node *x = node->parent; x; x = x->parent)
            d++;
        if (d > m->stats->max_depth)
            m->stats->max_depth = d;
    }
}

// True if a slice made from slot s still lives (it holds s alive).
static bool has_slices(struct model *m, int s) {
    for (int i = 0; i < MAX_VMOS; i++) {
        if (m->slots[i].v && m->slots[i].slice && m->slots[i].parent == s)
            return true;
    }
    return false;
}

// The kernel has freed slot s's VMO: forget it, and a zombie parent it was the last slice of.
static void slot_gone(struct model *m, int s) {
    struct slot *sl = &m->slots[s];
    int parent = sl->parent;
    if (parent >= 0 && sl->clone)
        m->slots[parent].cow_children--;
    for (int i = 0; i < MAX_VMOS; i++) {
        if (m->slots[i].v && m->slots[i].parent == s)
            m->slots[i].parent = -1;
    }
    struct buf *b = &m->bufs[sl->buf];
    b->refs--;
    if (!sl->slice)
        b->owner_alive = false;
    *sl = (struct slot){.parent = -1};
    if (parent >= 0 && m->slots[parent].zombie && !has_slices(m, parent))
        slot_gone(m, parent);
}

static void op_close(struct model *m, bool injected) {
    int s = pick(m);
    if (s < 0)
        return;
    if (m->verbose)
        printf("close slot %d\n", s);
    struct slot *sl = &m->slots[s];
    kobject_release(vmo_object(sl->v));
    // A slice holds its parent: the VMO lives on, still the child of its own parent and still
    // counting its snapshot children, until its last slice goes.
    if (has_slices(m, s))
        sl->zombie = true;
    else
        slot_gone(m, s);
    if (m->stats)
        m->stats->closes++;
}

static void op_write(struct model *m, bool injected) {
    int s = pick(m);
    uint64_t off = get16(m) % (MAX_BYTES + 64);
    uint64_t len = get16(m) % (3 * PAGE_SIZE + 1);
    if (s < 0)
        return;
    struct slot *sl = &m->slots[s];
    zx_status_t want = off > sl->size || len > sl->size - off ? ZX_ERR_OUT_OF_RANGE : ZX_OK;
    fill(m, scratch2, (size_t)len);
    if (m->verbose)
        printf("write slot %d [%#llx, +%#llx)\n", s, (unsigned long long)off,
               (unsigned long long)len);
    zx_status_t st = vmo_write(sl->v, scratch2, off, (size_t)len);
    expect(m, "write", st, want, injected);
    if (st == ZX_OK) {
        memcpy(view(m, s) + off, scratch2, (size_t)len);
    } else if (st == ZX_ERR_NO_MEMORY) {
        static uint8_t after[MAX_BYTES];
        memcpy(after, view(m, s), (size_t)sl->size);
        memcpy(after + off, scratch2, (size_t)len);
        resync(m, s, off, len, after);
    }
}

static void op_read(struct model *m, bool injected) {
    int s = pick(m);
    uint64_t off = get16(m) % (MAX_BYTES + 64);
    uint64_t len = get16(m) % (3 * PAGE_SIZE + 1);
    if (s < 0)
        return;
    struct slot *sl = &m->slots[s];
    zx_status_t want = off > sl->size || len > sl->size - off ? ZX_ERR_OUT_OF_RANGE : ZX_OK;
    zx_status_t st = vmo_read(sl->v, scratch, off, (size_t)len);
    expect(m, "read", st, want, injected);  // decompressing a page needs one
    if (st == ZX_OK && memcmp(scratch, view(m, s) + off, (size_t)len) != 0)
        FAIL("slot %d: read [%#llx, +%#llx) differs", s, (unsigned long long)off,
             (unsigned long long)len);
}

static bool can_decommit(struct model *m, int s) {
    int b = m->slots[s].buf;
    if (m->bufs[b].is_clone)
        return false;
    for (int i = 0; i < MAX_VMOS; i++) {
        if (m->slots[i].v && m->slots[i].buf == b && m->slots[i].cow_children > 0)
            return false;
    }
    return true;
}

static void op_range(struct model *m, uint32_t op, bool injected) {
    int s = pick(m);
    uint8_t a = get8(m), b = get8(m), c = get8(m);
    if (s < 0)
        return;
    struct slot *sl = &m->slots[s];
    uint64_t off = (uint64_t)(a % (MAX_PAGES + 2)) * P;
    uint64_t len = (uint64_t)(b % (MAX_PAGES + 2)) * P;
    if (c & 1)
        off += c % 97;
    if (c & 2)
        len += (c >> 2) * 13u;
    if (c == 0xff)
        len = UINT64_MAX - off;
    zx_status_t want = ZX_OK;
    if (op == ZX_VMO_OP_DECOMMIT && !can_decommit(m, s))
        want = ZX_ERR_NOT_SUPPORTED;
    else if (op == ZX_VMO_OP_DECOMMIT && (off % P || len % P))
        want = ZX_ERR_INVALID_ARGS;
    else if (off > sl->size || len > sl->size - off)
        want = ZX_ERR_OUT_OF_RANGE;  // never trimmed
    if (m->verbose)
        printf("op %u slot %d [%#llx, +%#llx)\n", op, s, (unsigned long long)off,
               (unsigned long long)len);
    zx_status_t st = vmo_op_range(sl->v, op, off, len);
    expect(m, "op_range", st, want, injected);
    if (op == ZX_VMO_OP_COMMIT || (st != ZX_OK && st != ZX_ERR_NO_MEMORY))
        return;
    uint64_t end = off + len;
    if (st == ZX_OK) {
        memset(view(m, s) + off, 0, (size_t)(end - off));
    } else {
        static uint8_t after[MAX_BYTES];
        memcpy(after, view(m, s), (size_t)sl->size);
        memset(after + off, 0, (size_t)(end - off));
        resync(m, s, off, end - off, after);
    }
}

static void op_set_size(struct model *m, bool injected) {
    int s = pick(m);
    uint64_t size = (uint64_t)(get8(m) % (MAX_PAGES + 1)) * P;
    uint8_t c = get8(m);
    if (s < 0)
        return;
    if (size && (c & 1))
        size -= 1 + c % 200;
    struct slot *sl = &m->slots[s];
    uint64_t rsize;
    zx_status_t want = ZX_OK;
    if (!sl->resizable)
        want = ZX_ERR_UNAVAILABLE;
    else if (!round_up(size, &rsize))
        want = ZX_ERR_OUT_OF_RANGE;
    else if (sl->root_offset > UINT64_MAX - rsize)
        want = ZX_ERR_INVALID_ARGS;
    if (m->verbose)
        printf("set_size slot %d %#llx\n", s, (unsigned long long)size);
    zx_status_t st = vmo_set_size(sl->v, size);
    expect(m, "set_size", st, want, injected);
    if (st != ZX_OK)
        return;
    uint8_t *b = view(m, s);
    if (size < sl->size)
        memset(b + size, 0, (size_t)(sl->size - size));
    sl->size = ROUNDUP(size, P);
}

static void op_fault(struct model *m, bool injected) {
    int s = pick(m);
    uint8_t a = get8(m);
    if (s < 0)
        return;
    struct slot *sl = &m->slots[s];
    if (sl->size == 0)
        return;
    uint64_t off = (uint64_t)(a % (sl->size / P)) * P;
    paddr_t pa;
    bool w;
    uint32_t flags = (a & 0x80) ? VMO_FAULT_WRITE : 0;
    zx_status_t st = vmo_fault_page(sl->v, off, flags, &pa, &w);
    expect(m, "fault", st, ZX_OK, injected);
    if (st != ZX_OK)
        return;
    if ((flags & VMO_FAULT_WRITE) && !w)
        FAIL("slot %d: write fault gave a read-only page", s);
    vm_page_t *pg = pmm_page_from_paddr(pa);
    if (memcmp(vm_page_kva(pg), view(m, s) + off, PAGE_SIZE) != 0)
        FAIL("slot %d: fault page %#llx differs", s, (unsigned long long)off);
    if (w && pg->state != PAGE_STATE_VMO)
        FAIL("slot %d: writable page in state %u", s, pg->state);
    check_lookups(m, s);
}

static void op_snapshot(struct model *m, bool injected) {
    op_child(m, false, injected);
}

static void op_slice(struct model *m, bool injected) {
    op_child(m, true, injected);
}

static void op_zero(struct model *m, bool injected) {
    op_range(m, ZX_VMO_OP_ZERO, injected);
}

static void op_commit(struct model *m, bool injected) {
    op_range(m, ZX_VMO_OP_COMMIT, injected);
}

static void op_decommit(struct model *m, bool injected) {
    op_range(m, ZX_VMO_OP_DECOMMIT, injected);
}

// --- Compression ---

struct content_pick {
    bool refs;     // count references (else pages)
    size_t want;   // index to stop at (SIZE_MAX: count only)
    size_t seen;
    uint64_t offset;
    vmpl_slot_t *slot;
};

static zx_status_t content_pick_cb(vmpl_slot_t *slot, uint64_t offset, void *ctx) {
    struct content_pick *c = ctx;
    if (c->refs ? !vmpl_slot_is_ref(*slot) : !vmpl_slot_is_page(*slot))
        return ZX_ERR_NEXT;
    if (c->seen++ == c->want) {
        c->offset = offset;
        c->slot = slot;
        return ZX_ERR_STOP;
    }
    return ZX_ERR_NEXT;
}

// A page (or reference) held by any node of the tree of slot s -- visible or hidden -- chosen by
// `r`: false if there is none. The tree lock is held.
static bool pick_content(struct model *m, int s, unsigned r, bool refs, struct cow_node **out_node,
                         uint64_t *out_offset, vmpl_slot_t **out_slot) {
    struct cow_tree *t = vmo_cow_node(m->slots[s].v)->tree;
    struct content_pick c = {.refs = refs, .want = SIZE_MAX};
    list_for_each(&t->nodes, it) {
        struct cow_node *n = containerof(it, struct cow_node, tree_link);
        (void)vmpl_for_each(&n->pages, 0, VMPL_MAX_SIZE, content_pick_cb, &c);
    }
    if (c.seen == 0)
        return false;
    size_t want = r % c.seen;
    list_for_each(&t->nodes, it) {
        struct cow_node *n = containerof(it, struct cow_node, tree_link);
        c = (struct content_pick){.refs = refs, .want = want};
        (void)vmpl_for_each(&n->pages, 0, VMPL_MAX_SIZE, content_pick_cb, &c);
        if (c.slot) {
            *out_node = n;
            *out_offset = c.offset;
            *out_slot = c.slot;
            return true;
        }
        want -= c.seen;
    }
    FAIL("pick_content: lost the page");
}

static void count_result(struct model *m, enum cow_compress_result res) {
    if (!m->stats)
        return;
    m->stats->compressed += res == COW_COMPRESS_STORED;
    m->stats->compress_zero += res == COW_COMPRESS_ZERO;
    m->stats->compress_failed += res == COW_COMPRESS_FAILED;
    m->stats->compress_abandoned += res == COW_COMPRESS_ABANDONED;
}

// Compresses a page of the tree, all three steps at once. Content must not change.
NO_THREAD_SAFETY_ANALYSIS static void op_compress(struct model *m, bool injected) {
    int s = pick(m);
    uint16_t r = get16(m);
    uint8_t f = get8(m);
    if (s < 0)
        return;
    struct cow_tree *t = vmo_cow_node(m->slots[s].v)->tree;
    mutex_acquire(&t->lock);
    struct cow_node *n;
    uint64_t off;
    vmpl_slot_t *slot;
    if (pick_content(m, s, r, false, &n, &off, &slot)) {
        bool codec_fail = (f & 0xc0) == 0xc0;
        fake_codec_fail_next = codec_fail;
        if (m->verbose)
            printf("compress node %p offset %#llx%s\n", (void *)n, (unsigned long long)off,
                   codec_fail ? " (no storage)" : "");
        enum cow_compress_result res = 0;
        zx_status_t st = cow_compress_page_locked(n, off, &res);
        fake_codec_fail_next = 0;
        if (st == ZX_OK)
            count_result(m, res);
        else
            expect(m, "compress", st, ZX_OK, injected || codec_fail);
    }
    mutex_release(&t->lock);
}

// Starts a compression and leaves it in flight while other operations run.
NO_THREAD_SAFETY_ANALYSIS static void op_compress_begin(struct model *m, bool injected) {
    int s = pick(m);
    uint16_t r = get16(m);
    int k = -1;
    for (int i = 0; i < MAX_INFLIGHT; i++) {
        if (!inflight_used[i])
            k = i;
    }
    if (s < 0 || k < 0)
        return;
    struct cow_tree *t = vmo_cow_node(m->slots[s].v)->tree;
    mutex_acquire(&t->lock);
    struct cow_node *n;
    uint64_t off;
    vmpl_slot_t *slot;
    if (pick_content(m, s, r, false, &n, &off, &slot)) {
        if (m->verbose)
            printf("compress begin %d node %p offset %#llx\n", k, (void *)n,
                   (unsigned long long)off);
        zx_status_t st = cow_compress_begin_locked(n, off, &inflight[k]);
        expect(m, "compress_begin", st, ZX_OK, injected);
        if (st == ZX_OK) {
            cow_tree_pin_locked(t);
            inflight_used[k] = true;
        }
    }
    mutex_release(&t->lock);
}

NO_THREAD_SAFETY_ANALYSIS static void finish_inflight(struct model *m, int k, bool codec_fail,
                                                      bool injected) {
    struct cow_inflight *f = &inflight[k];
    struct cow_tree *t = f->tree;
    fake_codec_fail_next = codec_fail;
    cow_compress_run(f);
    fake_codec_fail_next = 0;
    mutex_acquire(&t->lock);
    enum cow_compress_result res = 0;
    zx_status_t st = cow_compress_finish_locked(f, &res);
    if (m->verbose)
        printf("compress finish %d: status %d result %d\n", k, st, res);
    if (st == ZX_OK)
        count_result(m, res);
    else
        expect(m, "compress_finish", st, ZX_OK, injected || codec_fail);
    mutex_release(&t->lock);
    inflight_used[k] = false;
    cow_tree_unpin(t);
}

static void op_compress_finish(struct model *m, bool injected) {
    uint8_t a = get8(m);
    int k = a % MAX_INFLIGHT;
    if (!inflight_used[k])
        k = (k + 1) % MAX_INFLIGHT;
    if (!inflight_used[k])
        return;
    finish_inflight(m, k, (a & 0xc0) == 0xc0, injected);
}

// Zero-page dedup of a page of the tree.
NO_THREAD_SAFETY_ANALYSIS static void op_dedup(struct model *m, bool injected) {
    int s = pick(m);
    uint16_t r = get16(m);
    if (s < 0)
        return;
    struct cow_tree *t = vmo_cow_node(m->slots[s].v)->tree;
    mutex_acquire(&t->lock);
    struct cow_node *n;
    uint64_t off;
    vmpl_slot_t *slot;
    if (pick_content(m, s, r, false, &n, &off, &slot)) {
        bool deduped = false;
        zx_status_t st = cow_dedup_zero_page_locked(n, off, &deduped);
        if (st != ZX_OK)
            FAIL("dedup: %d", st);
        if (m->verbose)
            printf("dedup node %p offset %#llx: %d\n", (void *)n, (unsigned long long)off,
                   deduped);
        if (m->stats)
            m->stats->deduped += deduped;
    }
    mutex_release(&t->lock);
}

// Decompresses a reference of the tree in place (in flight ones included: that abandons them).
NO_THREAD_SAFETY_ANALYSIS static void op_decompress(struct model *m, bool injected) {
    int s = pick(m);
    uint16_t r = get16(m);
    if (s < 0)
        return;
    struct cow_tree *t = vmo_cow_node(m->slots[s].v)->tree;
    mutex_acquire(&t->lock);
    struct cow_node *n;
    uint64_t off;
    vmpl_slot_t *slot;
    if (pick_content(m, s, r, true, &n, &off, &slot)) {
        vm_page_t *p;
        zx_status_t st = cow_slot_decompress_locked(n, slot, off, &p);
        if (m->verbose)
            printf("decompress node %p offset %#llx: %d\n", (void *)n, (unsigned long long)off,
                   st);
        expect(m, "decompress", st, ZX_OK, injected);
        if (st == ZX_OK && m->stats)
            m->stats->decompressed++;
    }
    mutex_release(&t->lock);
}

// Fails the nth allocation (pages, heap or both) of the next operation.
static void op_inject(struct model *m, bool injected) {
    uint8_t n = get8(m);
    size_t k = 1 + n % 24;
    if (n & 0x40)
        pmm_fail_after(k);
    if (n & 0x80 || !(n & 0x40))
        host_alloc_fail_after(k + (n & 0x40 ? 0 : (n >> 5) % 3));
}

// The operations: an op byte modulo the weights' sum (16) selects one; see test/model_op.h. Each
// decodes its operands, applies itself to the real VMOs and to the byte-array model, and checks
// the status against the model's prediction (`injected`: a failure is armed, so ZX_ERR_NO_MEMORY
// is also acceptable); check_all runs after every one except those that arm the next.
struct cow_op {
    const char *name;
    unsigned weight;
    void (*run)(struct model *m, bool injected);
    bool arms_next;  // sets up a failure for the next operation: nothing to disarm or check yet
};

static const struct cow_op cow_ops[] = {
    {"create", 2, op_create, false},
    {"snapshot", 2, op_snapshot, false},
    {"slice", 1, op_slice, false},
    {"write", 2, op_write, false},
    {"read", 1, op_read, false},
    {"zero", 1, op_zero, false},
    {"commit", 1, op_commit, false},
    {"decommit", 1, op_decommit, false},
    {"set_size", 1, op_set_size, false},
    {"close", 1, op_close, false},
    {"fault", 1, op_fault, false},
    {"inject", 2, op_inject, true},
    // Compression, appended: the weights' sum is now 24 (the host test's failure filter uses it).
    {"compress", 2, op_compress, false},
    {"compress_begin", 2, op_compress_begin, false},
    {"compress_finish", 2, op_compress_finish, false},
    {"dedup", 1, op_dedup, false},
    {"decompress", 1, op_decompress, false},
};

void cow_model_run(const uint8_t *data, size_t size, bool verbose, struct cow_model_stats *stats) {
    struct model *m = &model;
    memset(m->slots, 0, sizeof(m->slots));
    for (int i = 0; i < MAX_BUFS; i++)
        m->bufs[i].refs = 0;
    for (int i = 0; i < MAX_VMOS; i++)
        m->slots[i].parent = -1;
    m->data = data;
    m->size = size;
    m->pos = 0;
    m->verbose = verbose;
    m->seq = 1;
    m->stats = stats;
    m->cur_op = "setup";
    m->base_vmo_pages = pmm_count(PAGE_STATE_VMO);
    m->base_free = pmm_count(PAGE_STATE_FREE);
    m->base_zero = pmm_count(PAGE_STATE_ZERO);
    m->base_nodes = vmpl_nodes_live();
    m->base_heap = host_alloc_live();
    fake_codec_refuse_some = true;
    cow_compress_set_codec(&fake_codec);
    bool armed = false;
    while (more(m)) {
        const struct cow_op *op = MODEL_OP_PICK(cow_ops, get8(m));
        bool injected = armed;
        armed = false;
        if (stats) {
            stats->ops++;
            stats->injected += injected;
        }
        m->cur_op = op->name;
        op->run(m, injected);
        if (op->arms_next) {
            armed = true;  // the next operation runs with the failure armed, then disarms it
            continue;
        }
        if (injected) {
            pmm_fail_disarm();
            host_alloc_fail_disarm();
        }
        check_all(m);
    }
    m->cur_op = "teardown";
    pmm_fail_disarm();
    host_alloc_fail_disarm();
    for (int s = 0; s < MAX_VMOS; s++) {
        if (m->slots[s].v && !m->slots[s].zombie)
            kobject_release(vmo_object(m->slots[s].v));
    }
    for (int s = 0; s < MAX_VMOS; s++)
        m->slots[s].v = NULL;
    // Compressions still in flight finish after their trees died (pinned: the last unpin frees).
    for (int k = 0; k < MAX_INFLIGHT; k++) {
        if (inflight_used[k])
            finish_inflight(m, k, false, false);
    }
    cow_compress_set_codec(NULL);
    if (fake_codec_live() != 0)
        FAIL("%zu compressed references not freed", fake_codec_live());
    if (pmm_count(PAGE_STATE_VMO) != m->base_vmo_pages ||
        pmm_count(PAGE_STATE_FREE) != m->base_free || pmm_count(PAGE_STATE_ZERO) != m->base_zero)
        FAIL("pages not back: vmo %zu/%zu free %zu/%zu zero %zu/%zu", pmm_count(PAGE_STATE_VMO),
             m->base_vmo_pages, pmm_count(PAGE_STATE_FREE), m->base_free,
             pmm_count(PAGE_STATE_ZERO), m->base_zero);
    if (vmpl_nodes_live() != m->base_nodes)
        FAIL("page-list nodes not back: %zu/%zu", vmpl_nodes_live(), m->base_nodes);
    if (host_alloc_live() != m->base_heap)
        FAIL("heap objects not back: %zu/%zu", host_alloc_live(), m->base_heap);
}
