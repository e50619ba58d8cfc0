// The page list's differential driver: see vmpl_model.h.
//
// Modelled offsets: 256 pages from 0 (the "low" region, 16 nodes) and the 64 pages just below
// VMPL_MAX_SIZE (the "high" region). Each list's model is an array over those 320 positions; a
// page of a zero interval is stored as vmpl_slot_interval(SLOT, dirty) with an AwaitingClean
// length of PAGE if that page awaits clean (else 0), so the model holds exactly what
// vmpl_splice_pop reports. The expected raw slot of a position follows from the model: a
// zero-interval page is a Start, End, Slot or Empty interior depending on whether its neighbours
// belong to the same interval (same dirty state, and no AwaitingClean page right after a Dirty
// one: page_list.h's lengths rule), and a Start or Slot carries the count of its interval's
// AwaitingClean pages as the length.
#include "test/host/vmpl_model.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kernel/assert.h"
#include "test/host/host_env.h"
#include "test/model_op.h"
#include "vm/page_list.h"

#define P ((uint64_t)PAGE_SIZE)
#define LOW_PAGES 256u
#define HIGH_PAGES 64u
#define NPOS (LOW_PAGES + HIGH_PAGES)
#define NPAGES 1024u
#define NREFS 1024u
#define SPAN VMPL_NODE_SPAN

struct mlist {
    struct vmpl pl;
    vmpl_slot_t m[NPOS];
};

static struct mlist lists[2];
static vm_page_t pages[NPAGES];
static bool page_owned[NPAGES];
static bool ref_owned[NREFS];
static unsigned page_cursor, ref_cursor;

static const uint8_t *in_data;
static size_t in_size, in_pos;
static bool verbose;
static struct vmpl_model_stats *stats;
static const char *cur_op = "setup";  // the running operation's name, for failure messages

#define FAIL(...)                                                            \
    do {                                                                     \
        fprintf(stderr, "vmpl_model: op %zu (%s): ", stats->ops, cur_op);    \
        fprintf(stderr, __VA_ARGS__);                                        \
        fprintf(stderr, "\n");                                               \
        panic("vmpl_model: the page list disagrees with the model");         \
    } while (0)
#define CHECK(cond, ...)        \
    do {                        \
        if (!(cond))            \
            FAIL(__VA_ARGS__);  \
    } while (0)

static unsigned u8(void) {
    return in_pos < in_size ? in_data[in_pos++] : 0;
}

static uint64_t pos_offset(unsigned p) {
    return p < LOW_PAGES ? p * P : VMPL_MAX_SIZE - (uint64_t)(NPOS - p) * P;
}

static int offset_pos(uint64_t off) {
    if (off < LOW_PAGES * P)
        return (int)(off / P);
    if (off >= VMPL_MAX_SIZE - HIGH_PAGES * P && off < VMPL_MAX_SIZE)
        return (int)(NPOS - (VMPL_MAX_SIZE - off) / P);
    return -1;
}

static unsigned region_lo(unsigned p) {
    return p < LOW_PAGES ? 0 : LOW_PAGES;
}

static unsigned region_hi(unsigned p) {
    return p < LOW_PAGES ? LOW_PAGES : NPOS;
}

static bool is_zi(vmpl_slot_t v) {
    return vmpl_slot_is_interval(v);
}

static bool awaits(vmpl_slot_t v) {
    return vmpl_slot_awaiting_len(v) != 0;
}

// Whether interval pages a (before) and b (right after it) belong to one interval.
static bool same_zi(vmpl_slot_t a, vmpl_slot_t b) {
    return is_zi(a) && is_zi(b) && vmpl_slot_dirty(a) == vmpl_slot_dirty(b) &&
           (!awaits(b) || awaits(a));
}

// The zero interval containing p, as positions [*s, *e).
static void zi_run(const struct mlist *L, unsigned p, unsigned *s, unsigned *e) {
    unsigned a = p, b = p + 1;
    while (a > region_lo(p) && same_zi(L->m[a - 1], L->m[a]))
        a--;
    while (b < region_hi(p) && same_zi(L->m[b - 1], L->m[b]))
        b++;
    *s = a;
    *e = b;
}

// The raw slot the list should hold at position p.
static vmpl_slot_t model_raw(const struct mlist *L, unsigned p) {
    vmpl_slot_t v = L->m[p];
    if (!is_zi(v))
        return v;
    bool prev = p > region_lo(p) && same_zi(L->m[p - 1], v);
    bool next = p + 1 < region_hi(p) && same_zi(v, L->m[p + 1]);
    enum vmpl_dirty d = vmpl_slot_dirty(v);
    if (prev && next)
        return VMPL_SLOT_EMPTY;
    if (prev)
        return vmpl_slot_interval(VMPL_SENTINEL_END, d);
    unsigned s, e;
    uint64_t len = 0;
    zi_run(L, p, &s, &e);
    for (unsigned q = s; q < e; q++)
        len += vmpl_slot_awaiting_len(L->m[q]);
    return vmpl_slot_with_awaiting_len(
        vmpl_slot_interval(next ? VMPL_SENTINEL_START : VMPL_SENTINEL_SLOT, d), len);
}

static vmpl_slot_t new_page(void) {
    for (unsigned i = 0; i < NPAGES; i++) {
        unsigned k = (page_cursor + i) % NPAGES;
        if (!page_owned[k]) {
            page_owned[k] = true;
            page_cursor = k + 1;
            return vmpl_slot_from_page(&pages[k]);
        }
    }
    return vmpl_slot_marker();
}

static vmpl_slot_t new_ref(void) {
    for (unsigned i = 0; i < NREFS; i++) {
        unsigned k = (ref_cursor + i) % NREFS;
        if (!ref_owned[k]) {
            ref_owned[k] = true;
            ref_cursor = k + 1;
            return vmpl_slot_from_ref(k);
        }
    }
    return vmpl_slot_marker();
}

static void free_content(vmpl_slot_t v) {
    if (vmpl_slot_is_page(v)) {
        size_t k = (size_t)(vmpl_slot_page(v) - pages);
        CHECK(k < NPAGES && page_owned[k], "page %zu released but not owned", k);
        page_owned[k] = false;
    } else if (vmpl_slot_is_ref(v)) {
        uint64_t k = vmpl_slot_ref(v);
        CHECK(k < NREFS && ref_owned[k], "reference %llu released but not owned",
              (unsigned long long)k);
        ref_owned[k] = false;
    }
}

static void release_cb(vmpl_slot_t v, uint64_t offset, void *ctx) {
    CHECK(vmpl_slot_is_page_or_ref(v), "released %#llx at %#llx: not a page or reference",
          (unsigned long long)v, (unsigned long long)offset);
    CHECK(offset_pos(offset) >= 0, "released content at unmodelled offset %#llx",
          (unsigned long long)offset);
    free_content(v);
}

static bool armed;

static void maybe_arm(void) {
    unsigned b = u8();
    armed = (b & 3) == 0;
    if (armed)
        host_alloc_fail_after(1 + (b >> 2) % 4);
}

static void disarm(void) {
    host_alloc_fail_disarm();
}

static bool handle_status(zx_status_t st, const char *what) {
    if (st == ZX_ERR_NO_MEMORY) {
        CHECK(armed, "%s: ZX_ERR_NO_MEMORY without failure injection", what);
        stats->oom_failures++;
        if (verbose)
            printf("  -> no memory\n");
        return false;
    }
    CHECK(st == ZX_OK, "%s: status %d", what, st);
    return true;
}

static zx_status_t check_outside_slot(vmpl_slot_t *slot, uint64_t offset, void *ctx) {
    CHECK(offset_pos(offset) >= 0, "content %#llx at unmodelled offset %#llx",
          (unsigned long long)*slot, (unsigned long long)offset);
    return ZX_ERR_NEXT;
}

static void check_all(void) {
    for (int l = 0; l < 2; l++) {
        struct mlist *L = &lists[l];
        CHECK(vmpl_check(&L->pl), "vmpl_check failed on list %d", l);
        for (unsigned p = 0; p < NPOS; p++) {
            uint64_t off = pos_offset(p);
            vmpl_slot_t want = model_raw(L, p), got = vmpl_get(&L->pl, off);
            CHECK(want == got, "list %d offset %#llx: want %#llx, got %#llx", l,
                  (unsigned long long)off, (unsigned long long)want, (unsigned long long)got);
            bool in = vmpl_is_offset_in_interval(&L->pl, off);
            CHECK(in == is_zi(L->m[p]), "list %d offset %#llx: in_interval %d", l,
                  (unsigned long long)off, in);
        }
        zx_status_t st = vmpl_for_each(&L->pl, 0, VMPL_MAX_SIZE, check_outside_slot, NULL);
        CHECK(st == ZX_OK, "walk: %d", st);
    }
    // Ownership: exactly the pages and references in the models are owned.
    size_t in_models = 0, owned = 0;
    for (int l = 0; l < 2; l++) {
        for (unsigned p = 0; p < NPOS; p++) {
            vmpl_slot_t v = lists[l].m[p];
            if (vmpl_slot_is_page(v)) {
                CHECK(page_owned[vmpl_slot_page(v) - pages], "page in model not owned");
                in_models++;
            } else if (vmpl_slot_is_ref(v)) {
                CHECK(ref_owned[vmpl_slot_ref(v)], "reference in model not owned");
                in_models++;
            }
        }
    }
    for (unsigned k = 0; k < NPAGES; k++)
        owned += page_owned[k];
    for (unsigned k = 0; k < NREFS; k++)
        owned += ref_owned[k];
    CHECK(in_models == owned, "%zu pages/references owned, %zu in the models (leak or loss)",
          owned, in_models);
}

// Decodes a position and a range [*a, *b) of positions within one region.
static unsigned decode_pos(void) {
    unsigned r = u8(), x = u8();
    return (r & 3) == 0 ? LOW_PAGES + x % HIGH_PAGES : x % LOW_PAGES;
}

static void decode_range(unsigned *a, unsigned *b) {
    unsigned p = decode_pos();
    unsigned hi = region_hi(p), l = u8();
    unsigned max_len = hi - p;
    unsigned len = (l & 0x80) ? 1 + (l & 0x7f) % max_len : 1 + (l & 0x0f) % max_len;
    *a = p;
    *b = p + len;
}

static struct mlist *decode_list(unsigned *which) {
    unsigned l = u8() & 1;
    if (which)
        *which = l;
    return &lists[l];
}

static vmpl_slot_t decode_content(unsigned kind) {
    switch (kind % 3) {
    case 0:
        return new_page();
    case 1:
        return vmpl_slot_marker();
    default:
        return new_ref();
    }
}

// --- operations ---

static void op_set(void) {
    struct mlist *L = decode_list(NULL);
    unsigned p = decode_pos(), k = u8();
    uint64_t off = pos_offset(p);
    bool zi = is_zi(L->m[p]);
    bool peek = (k & 0x30) == 0x30;  // look, then hand back unchanged
    enum vmpl_interval_mode mode = (k & 0x40) ? VMPL_CHECK_INTERVAL : VMPL_SPLIT_INTERVAL;
    if ((k & 0x80) && !zi)
        mode = VMPL_NO_INTERVALS;
    if (verbose)
        printf("set %s off %#llx kind %u mode %d\n", L == &lists[0] ? "A" : "B",
               (unsigned long long)off, k, mode);
    maybe_arm();
    vmpl_slot_t *slot;
    bool inside;
    zx_status_t st = vmpl_lookup_or_alloc(&L->pl, off, mode, &slot, &inside);
    disarm();
    if (mode == VMPL_CHECK_INTERVAL && zi) {
        CHECK(st == ZX_ERR_BAD_STATE, "check mode inside an interval: status %d", st);
        return;
    }
    if (!handle_status(st, "lookup_or_alloc"))
        return;
    CHECK(inside == zi, "in_interval %d, model %d", inside, zi);
    if (zi)
        CHECK(vmpl_slot_is_interval_slot(*slot) && *slot == L->m[p],
              "split slot is %#llx, model %#llx", (unsigned long long)*slot,
              (unsigned long long)L->m[p]);
    else
        CHECK(*slot == L->m[p], "slot %#llx, model %#llx", (unsigned long long)*slot,
              (unsigned long long)L->m[p]);
    if (peek) {
        if (zi)
            vmpl_return_interval_slot(&L->pl, off);
        else if (vmpl_slot_is_empty(*slot))
            vmpl_return_empty_slot(&L->pl, off);
        return;
    }
    vmpl_slot_t v = decode_content(k);
    if (vmpl_slot_is_page_or_ref(*slot))
        free_content(*slot);
    *slot = v;
    L->m[p] = v;
}

static void op_remove(void) {
    struct mlist *L = decode_list(NULL);
    unsigned p = decode_pos();
    if (is_zi(L->m[p]))
        return;
    if (verbose)
        printf("remove off %#llx\n", (unsigned long long)pos_offset(p));
    vmpl_slot_t v = vmpl_remove(&L->pl, pos_offset(p));
    CHECK(v == L->m[p], "removed %#llx, model %#llx", (unsigned long long)v,
          (unsigned long long)L->m[p]);
    free_content(v);
    L->m[p] = VMPL_SLOT_EMPTY;
}

static void op_clear(bool then_zero) {
    struct mlist *L = decode_list(NULL);
    unsigned a, b;
    decode_range(&a, &b);
    enum vmpl_dirty d = (enum vmpl_dirty)(u8() % 3);
    if (verbose)
        printf("%s [%#llx, %#llx) dirty %d\n", then_zero ? "zero" : "clear",
               (unsigned long long)pos_offset(a), (unsigned long long)pos_offset(b - 1) + P, d);
    maybe_arm();
    zx_status_t st = vmpl_clear_range(&L->pl, pos_offset(a), pos_offset(b - 1) + P, release_cb,
                                      NULL);
    if (handle_status(st, "clear_range")) {
        for (unsigned p = a; p < b; p++)
            L->m[p] = VMPL_SLOT_EMPTY;
        if (then_zero) {
            st = vmpl_add_zero_interval(&L->pl, pos_offset(a), pos_offset(b - 1) + P, d);
            if (handle_status(st, "add_zero_interval")) {
                for (unsigned p = a; p < b; p++)
                    L->m[p] = vmpl_slot_interval(VMPL_SENTINEL_SLOT, d);
            }
        }
    }
    disarm();
}

static void op_add_interval_if_empty(void) {
    struct mlist *L = decode_list(NULL);
    unsigned a, b;
    decode_range(&a, &b);
    enum vmpl_dirty d = (enum vmpl_dirty)(u8() % 3);
    for (unsigned p = a; p < b; p++) {
        if (L->m[p] != VMPL_SLOT_EMPTY)
            return;
    }
    if (verbose)
        printf("add_zero_interval [%#llx, %#llx) dirty %d\n", (unsigned long long)pos_offset(a),
               (unsigned long long)pos_offset(b - 1) + P, d);
    maybe_arm();
    zx_status_t st = vmpl_add_zero_interval(&L->pl, pos_offset(a), pos_offset(b - 1) + P, d);
    disarm();
    if (handle_status(st, "add_zero_interval")) {
        for (unsigned p = a; p < b; p++)
            L->m[p] = vmpl_slot_interval(VMPL_SENTINEL_SLOT, d);
    }
}

static void op_clip(void) {
    struct mlist *L = decode_list(NULL);
    unsigned p = decode_pos(), k = u8();
    if (!is_zi(L->m[p]))
        return;
    unsigned s, e;
    zi_run(L, p, &s, &e);
    if (e - s < 2)
        return;
    unsigned len = 1 + (k >> 1) % (e - s - 1);
    if (verbose)
        printf("clip %s of [%#llx, %#llx) by %u pages\n", (k & 1) ? "end" : "start",
               (unsigned long long)pos_offset(s), (unsigned long long)pos_offset(e - 1) + P, len);
    maybe_arm();
    zx_status_t st = (k & 1) ? vmpl_clip_interval_end(&L->pl, pos_offset(e - 1), len * P)
                             : vmpl_clip_interval_start(&L->pl, pos_offset(s), len * P);
    disarm();
    if (!handle_status(st, "clip"))
        return;
    for (unsigned q = 0; q < len; q++)
        L->m[(k & 1) ? e - 1 - q : s + q] = VMPL_SLOT_EMPTY;
}

static void op_populate(void) {
    struct mlist *L = decode_list(NULL);
    unsigned p = decode_pos(), x = u8(), y = u8(), pattern = u8(), order = u8();
    if (!is_zi(L->m[p]))
        return;
    unsigned s, e;
    zi_run(L, p, &s, &e);
    unsigned a = s + x % (e - s);
    unsigned b = a + 1 + y % (e - a);
    if (verbose)
        printf("populate [%#llx, %#llx) pattern %#x\n", (unsigned long long)pos_offset(a),
               (unsigned long long)pos_offset(b - 1) + P, pattern);
    maybe_arm();
    zx_status_t st = vmpl_populate_slots_in_interval(&L->pl, pos_offset(a), pos_offset(b - 1) + P);
    disarm();
    if (!handle_status(st, "populate"))
        return;
    // Every offset is now a Slot. Fill the chosen ones first, then hand back the rest.
    for (unsigned q = a; q < b; q++) {
        vmpl_slot_t *slot = vmpl_lookup(&L->pl, pos_offset(q));
        CHECK(slot && vmpl_slot_is_interval_slot(*slot) && *slot == L->m[q],
              "populated offset %#llx holds %#llx, model %#llx", (unsigned long long)pos_offset(q),
              slot ? (unsigned long long)*slot : 0ull, (unsigned long long)L->m[q]);
        if ((pattern >> (q % 8)) & 1) {
            vmpl_slot_t v = decode_content(u8());
            *slot = v;
            L->m[q] = v;
        }
    }
    for (unsigned i = 0; i < b - a; i++) {
        unsigned q = (order & 1) ? b - 1 - i : a + i;
        if (is_zi(L->m[q]))
            vmpl_return_interval_slot(&L->pl, pos_offset(q));
    }
}

// A piece of one interval takes a new state: Untracked, Clean, Dirty or AwaitingClean (the last
// only inside a Dirty interval).
static void op_set_state(void) {
    struct mlist *L = decode_list(NULL);
    unsigned p = decode_pos(), x = u8(), y = u8(), k = u8();
    if (!is_zi(L->m[p]))
        return;
    unsigned s, e;
    zi_run(L, p, &s, &e);
    unsigned a = s + ((k & 4) ? 0 : x % (e - s));  // often from the interval's start
    unsigned b = a + 1 + y % (e - a);
    bool awaiting = (k & 3) == 3;
    if (awaiting && vmpl_slot_dirty(L->m[p]) != VMPL_DIRTY_DIRTY)
        awaiting = false;
    enum vmpl_dirty d = awaiting ? VMPL_DIRTY_DIRTY : (enum vmpl_dirty)(k & 3) % 3;
    if (verbose)
        printf("set_state [%#llx, %#llx) of [%#llx, %#llx) to %s\n",
               (unsigned long long)pos_offset(a), (unsigned long long)pos_offset(b - 1) + P,
               (unsigned long long)pos_offset(s), (unsigned long long)pos_offset(e - 1) + P,
               awaiting ? "awaiting clean" : d == VMPL_DIRTY_DIRTY ? "dirty" : "clean/untracked");
    maybe_arm();
    uint64_t lo = pos_offset(a), hi = pos_offset(b - 1) + P;
    zx_status_t st = awaiting ? vmpl_set_interval_awaiting_clean(&L->pl, lo, hi)
                              : vmpl_set_interval_dirty(&L->pl, lo, hi, d);
    disarm();
    if (!handle_status(st, "set_state"))
        return;
    for (unsigned q = a; q < b; q++)
        L->m[q] = vmpl_slot_with_awaiting_len(vmpl_slot_interval(VMPL_SENTINEL_SLOT, d),
                                              awaiting ? P : 0);
}

struct remove_pages_ctx {
    struct mlist *L;
};

static zx_status_t remove_pages_cb(vmpl_slot_t *slot, uint64_t offset, void *c) {
    if (vmpl_slot_is_page(*slot)) {
        free_content(*slot);
        *slot = VMPL_SLOT_EMPTY;
    }
    return ZX_ERR_NEXT;
}

struct gap_rec {
    unsigned n;
    uint64_t gaps[NPOS][2];
};

static zx_status_t record_gap(uint64_t start, uint64_t end, void *c) {
    struct gap_rec *g = c;
    CHECK(g->n < NPOS, "too many gaps");
    g->gaps[g->n][0] = start;
    g->gaps[g->n][1] = end;
    g->n++;
    return ZX_ERR_NEXT;
}

static zx_status_t remove_pages_gap_cb(vmpl_slot_t *slot, uint64_t offset, void *c) {
    return remove_pages_cb(slot, offset, NULL);
}

// Expected gaps of [a, b): maximal runs of positions holding nothing.
static unsigned model_gaps(const struct mlist *L, unsigned a, unsigned b, uint64_t out[][2]) {
    unsigned n = 0;
    for (unsigned q = a; q < b;) {
        if (L->m[q] != VMPL_SLOT_EMPTY) {
            q++;
            continue;
        }
        unsigned r = q;
        while (r < b && L->m[r] == VMPL_SLOT_EMPTY)
            r++;
        out[n][0] = pos_offset(q);
        out[n][1] = pos_offset(r - 1) + P;
        n++;
        q = r;
    }
    return n;
}

static void op_remove_range(void) {
    struct mlist *L = decode_list(NULL);
    unsigned a, b;
    decode_range(&a, &b);
    bool gaps = u8() & 1;
    if (verbose)
        printf("remove_range%s [%#llx, %#llx)\n", gaps ? "_and_gaps" : "",
               (unsigned long long)pos_offset(a), (unsigned long long)pos_offset(b - 1) + P);
    static struct gap_rec g, want;
    zx_status_t st;
    if (gaps) {
        want.n = model_gaps(L, a, b, want.gaps);
        g.n = 0;
        st = vmpl_remove_range_and_gaps(&L->pl, pos_offset(a), pos_offset(b - 1) + P,
                                        remove_pages_gap_cb, record_gap, &g);
        CHECK(g.n == want.n && memcmp(g.gaps, want.gaps, sizeof(g.gaps[0]) * g.n) == 0,
              "gaps differ (%u, want %u)", g.n, want.n);
    } else {
        st = vmpl_remove_range(&L->pl, pos_offset(a), pos_offset(b - 1) + P, remove_pages_cb,
                               NULL);
    }
    CHECK(st == ZX_OK, "remove_range: %d", st);
    for (unsigned q = a; q < b; q++) {
        if (vmpl_slot_is_page(L->m[q]))
            L->m[q] = VMPL_SLOT_EMPTY;
    }
}

// for_each and for_each_and_gap: the events in order, compared with the model's.
struct event_rec {
    unsigned n, limit;
    bool error;  // end with ZX_ERR_INTERNAL instead of ZX_ERR_STOP at the limit
    struct {
        uint64_t a, b;  // slot: offset, value; gap: start, end
        bool gap;
    } ev[2 * NPOS + 2];
};

static zx_status_t event_slot(vmpl_slot_t *slot, uint64_t offset, void *c) {
    struct event_rec *r = c;
    r->ev[r->n].a = offset;
    r->ev[r->n].b = *slot;
    r->ev[r->n].gap = false;
    if (++r->n == r->limit)
        return r->error ? ZX_ERR_INTERNAL : ZX_ERR_STOP;
    return ZX_ERR_NEXT;
}

static zx_status_t event_gap(uint64_t start, uint64_t end, void *c) {
    struct event_rec *r = c;
    r->ev[r->n].a = start;
    r->ev[r->n].b = end;
    r->ev[r->n].gap = true;
    if (++r->n == r->limit)
        return r->error ? ZX_ERR_INTERNAL : ZX_ERR_STOP;
    return ZX_ERR_NEXT;
}

// The span walks hand the same slots out a stretch at a time (node spans with the Empty ones
// among them, which are not events); the model sees one event per slot either way.
static bool span_empty_ok;

static zx_status_t event_span(vmpl_slot_t *slots, size_t n, uint64_t offset, void *c) {
    CHECK(n >= 1 && n <= VMPL_FANOUT, "span of %zu slots", n);
    for (size_t i = 0; i < n; i++) {
        if (slots[i] == VMPL_SLOT_EMPTY) {
            CHECK(span_empty_ok, "Empty slot at %#llx in a span",
                  (unsigned long long)(offset + i * P));
            continue;
        }
        zx_status_t st = event_slot(&slots[i], offset + i * P, c);
        if (st != ZX_ERR_NEXT)
            return st;
    }
    return ZX_ERR_NEXT;
}

static void check_events(const char *what, zx_status_t st, const struct event_rec *got,
                         const struct event_rec *want) {
    unsigned expect_n = want->n;
    zx_status_t expect_st = ZX_OK;
    if (got->limit && got->limit <= want->n) {
        expect_n = got->limit;
        expect_st = got->error ? ZX_ERR_INTERNAL : ZX_OK;
    }
    CHECK(st == expect_st, "%s status %d, want %d", what, st, expect_st);
    CHECK(got->n == expect_n, "%s saw %u events, want %u", what, got->n, expect_n);
    for (unsigned i = 0; i < got->n; i++) {
        CHECK(got->ev[i].gap == want->ev[i].gap && got->ev[i].a == want->ev[i].a &&
                  got->ev[i].b == want->ev[i].b,
              "%s event %u: got %s %#llx %#llx, want %s %#llx %#llx", what, i,
              got->ev[i].gap ? "gap" : "slot", (unsigned long long)got->ev[i].a,
              (unsigned long long)got->ev[i].b, want->ev[i].gap ? "gap" : "slot",
              (unsigned long long)want->ev[i].a, (unsigned long long)want->ev[i].b);
    }
}

static void op_walk(bool gaps) {
    struct mlist *L = decode_list(NULL);
    unsigned a, b;
    decode_range(&a, &b);
    unsigned lim = u8();
    static struct event_rec got, want;
    // Expected events.
    want.n = 0;
    for (unsigned q = a; q < b;) {
        vmpl_slot_t raw = model_raw(L, q);
        if (raw != VMPL_SLOT_EMPTY) {
            want.ev[want.n].a = pos_offset(q);
            want.ev[want.n].b = raw;
            want.ev[want.n].gap = false;
            want.n++;
            q++;
        } else if (gaps && L->m[q] == VMPL_SLOT_EMPTY) {
            unsigned r = q;
            while (r < b && L->m[r] == VMPL_SLOT_EMPTY)
                r++;
            want.ev[want.n].a = pos_offset(q);
            want.ev[want.n].b = pos_offset(r - 1) + P;
            want.ev[want.n].gap = true;
            want.n++;
            q = r;
        } else {
            q++;
        }
    }
    got.n = 0;
    got.limit = (lim & 0x80) ? 1 + (lim & 0x3f) : 0;
    got.error = lim & 0x40;
    if (verbose)
        printf("walk%s [%#llx, %#llx) limit %u\n", gaps ? "_and_gap" : "",
               (unsigned long long)pos_offset(a), (unsigned long long)pos_offset(b - 1) + P,
               got.limit);
    uint64_t s = pos_offset(a), e = pos_offset(b - 1) + P;
    zx_status_t st = gaps ? vmpl_for_each_and_gap(&L->pl, s, e, event_slot, event_gap, &got)
                          : vmpl_for_each(&L->pl, s, e, event_slot, &got);
    check_events("walk", st, &got, &want);
    // The same walk a span at a time: with gaps (vmpl_for_each_span_and_gap), or a node at a time
    // with the Empty slots (vmpl_for_each_node_span).
    unsigned limit = got.limit;
    bool error = got.error;
    got.n = 0;
    got.limit = limit;
    got.error = error;
    span_empty_ok = !gaps;
    st = gaps ? vmpl_for_each_span_and_gap(&L->pl, s, e, event_span, event_gap, &got)
              : vmpl_for_each_node_span(&L->pl, s, e, event_span, &got);
    check_events("span walk", st, &got, &want);
}

// Contiguous runs.
static unsigned cmp_kind;

static bool run_cmp(vmpl_slot_t s, uint64_t offset, void *ctx) {
    switch (cmp_kind) {
    case 0:
        return vmpl_slot_is_page(s);
    case 1:
        return !vmpl_slot_is_marker(s);
    case 2:
        return vmpl_slot_is_page(s) || vmpl_slot_is_interval(s);
    case 3:
        return ((offset / P) % 3) != 0;
    default:
        return !vmpl_slot_is_interval_end(s);
    }
}

struct run_rec {
    unsigned n, fn_calls;
    struct {
        uint64_t a, b;
        bool iv;
    } runs[NPOS + 1];
};

static zx_status_t run_slot(vmpl_slot_t *slot, uint64_t offset, void *c) {
    struct run_rec *r = c;
    CHECK(run_cmp(*slot, offset, NULL), "fn called on a slot failing cmp");
    r->fn_calls++;
    return ZX_ERR_NEXT;
}

static zx_status_t run_run(uint64_t start, uint64_t end, bool is_interval, void *c) {
    struct run_rec *r = c;
    CHECK(r->n <= NPOS, "too many runs");
    r->runs[r->n].a = start;
    r->runs[r->n].b = end;
    r->runs[r->n].iv = is_interval;
    r->n++;
    return ZX_ERR_NEXT;
}

static void op_runs(void) {
    struct mlist *L = decode_list(NULL);
    unsigned a, b;
    decode_range(&a, &b);
    cmp_kind = u8() % 5;
    static struct run_rec got, want;
    want.n = want.fn_calls = 0;
    unsigned run = 0;
    bool in_run = false;
    for (unsigned q = a; q < b; q++) {
        vmpl_slot_t v = L->m[q], raw = model_raw(L, q);
        if (raw != VMPL_SLOT_EMPTY && run_cmp(raw, pos_offset(q), NULL))
            want.fn_calls++;
        if (v != VMPL_SLOT_EMPTY && !is_zi(v) && run_cmp(v, pos_offset(q), NULL)) {
            if (!in_run)
                run = q;
            in_run = true;
            continue;
        }
        if (in_run) {
            want.runs[want.n].a = pos_offset(run);
            want.runs[want.n].b = pos_offset(q - 1) + P;
            want.runs[want.n].iv = false;
            want.n++;
            in_run = false;
        }
        if (is_zi(v) && (q == a || !same_zi(L->m[q - 1], v))) {
            unsigned s, e;
            zi_run(L, q, &s, &e);
            if (run_cmp(model_raw(L, s), pos_offset(s), NULL) &&
                run_cmp(model_raw(L, e - 1), pos_offset(e - 1), NULL)) {
                want.runs[want.n].a = pos_offset(s > a ? s : a);
                want.runs[want.n].b = pos_offset((e < b ? e : b) - 1) + P;
                want.runs[want.n].iv = true;
                want.n++;
            }
        }
    }
    if (in_run) {
        want.runs[want.n].a = pos_offset(run);
        want.runs[want.n].b = pos_offset(b - 1) + P;
        want.runs[want.n].iv = false;
        want.n++;
    }
    if (verbose)
        printf("runs [%#llx, %#llx) cmp %u\n", (unsigned long long)pos_offset(a),
               (unsigned long long)pos_offset(b - 1) + P, cmp_kind);
    got.n = got.fn_calls = 0;
    zx_status_t st = vmpl_for_each_run(&L->pl, pos_offset(a), pos_offset(b - 1) + P, run_cmp,
                                       run_slot, run_run, &got);
    CHECK(st == ZX_OK, "for_each_run: %d", st);
    CHECK(got.fn_calls == want.fn_calls, "fn called %u times, want %u", got.fn_calls,
          want.fn_calls);
    CHECK(got.n == want.n, "%u runs, want %u", got.n, want.n);
    for (unsigned i = 0; i < got.n; i++) {
        CHECK(got.runs[i].a == want.runs[i].a && got.runs[i].b == want.runs[i].b &&
                  got.runs[i].iv == want.runs[i].iv,
              "run %u: got [%#llx, %#llx) %d, want [%#llx, %#llx) %d", i,
              (unsigned long long)got.runs[i].a, (unsigned long long)got.runs[i].b,
              got.runs[i].iv, (unsigned long long)want.runs[i].a,
              (unsigned long long)want.runs[i].b, want.runs[i].iv);
    }
}

// Merge: the migrate rule is a pure function of the content and its offset.
static vmpl_slot_t migrate_rule(vmpl_slot_t v, uint64_t offset) {
    if (vmpl_slot_is_page(v) && (vmpl_slot_page(v) - pages) % 4 == 0)
        return VMPL_SLOT_EMPTY;  // taken (freed)
    if (vmpl_slot_is_ref(v) && vmpl_slot_ref(v) % 3 == 0)
        return vmpl_slot_marker();  // decompressed to zero, say
    if (vmpl_slot_is_marker(v) && (offset / P) % 5 == 0)
        return VMPL_SLOT_EMPTY;
    return v;
}

static unsigned migrate_calls;

static void migrate_cb(vmpl_slot_t *slot, uint64_t offset, void *ctx) {
    CHECK(!vmpl_slot_is_empty(*slot) && !vmpl_slot_is_interval(*slot),
          "migrate on %#llx", (unsigned long long)*slot);
    migrate_calls++;
    vmpl_slot_t v = migrate_rule(*slot, offset);
    if (v != *slot)
        free_content(*slot);
    *slot = v;
}

static void op_merge(void) {
    unsigned which;
    struct mlist *S = decode_list(&which);
    struct mlist *D = &lists[which ^ 1];
    unsigned mode = u8(), k = u8(), e = u8();
    uint64_t delta = (D->pl.skew + SPAN - S->pl.skew) % SPAN;
    uint64_t off, end;
    if (mode & 1) {
        off = VMPL_MAX_SIZE - 4 * SPAN + delta;
        uint64_t span_pages = (VMPL_MAX_SIZE - off) / P;
        end = off + P * (1 + e % span_pages);
    } else {
        off = (k % 9) * SPAN + delta;
        if (off >= LOW_PAGES * P)
            return;
        uint64_t span_pages = LOW_PAGES - off / P;
        end = off + P * (1 + (e * 7) % span_pages);
    }
    if (verbose)
        printf("merge %s onto %s [%#llx, %#llx) skews %#llx %#llx\n", which ? "B" : "A",
               which ? "A" : "B", (unsigned long long)off, (unsigned long long)end,
               (unsigned long long)S->pl.skew, (unsigned long long)D->pl.skew);
    // Expected result.
    static vmpl_slot_t next_dst[NPOS];
    memcpy(next_dst, D->m, sizeof(next_dst));
    unsigned expect_migrates = 0;
    for (unsigned q = 0; q < NPOS; q++) {
        vmpl_slot_t v = S->m[q];
        uint64_t o = pos_offset(q);
        if (v == VMPL_SLOT_EMPTY || o < off || o >= end)
            continue;
        int r = offset_pos(o - off);
        CHECK(r >= 0, "merge maps %#llx outside the model", (unsigned long long)o);
        if (D->m[r] != VMPL_SLOT_EMPTY)
            continue;
        if (is_zi(v)) {
            next_dst[r] = v;
        } else {
            next_dst[r] = migrate_rule(v, o);
            expect_migrates++;
        }
    }
    maybe_arm();
    migrate_calls = 0;
    zx_status_t st = vmpl_merge_onto(&S->pl, &D->pl, off, end, migrate_cb, release_cb, NULL);
    disarm();
    if (!handle_status(st, "merge"))
        return;
    CHECK(migrate_calls == expect_migrates, "migrate called %u times, want %u", migrate_calls,
          expect_migrates);
    memcpy(D->m, next_dst, sizeof(next_dst));
    memset(S->m, 0, sizeof(S->m));
    CHECK(vmpl_is_empty(&S->pl), "merge left the source non-empty");
}

static void op_take(void) {
    struct mlist *L = decode_list(NULL);
    unsigned a, b;
    decode_range(&a, &b);
    unsigned pops = u8();
    if (verbose)
        printf("take [%#llx, %#llx) pops %u\n", (unsigned long long)pos_offset(a),
               (unsigned long long)pos_offset(b - 1) + P, pops);
    static struct vmpl_splice sp;
    maybe_arm();
    zx_status_t st = vmpl_take(&L->pl, pos_offset(a), (b - a) * P, &sp);
    disarm();
    if (!handle_status(st, "take"))
        return;
    unsigned n = (pops & 0x80) ? b - a : (pops % (b - a + 1));
    for (unsigned i = 0; i < n; i++) {
        vmpl_slot_t v = vmpl_splice_pop(&sp);
        CHECK(v == L->m[a + i], "pop %u: got %#llx, want %#llx", i, (unsigned long long)v,
              (unsigned long long)L->m[a + i]);
        free_content(v);
    }
    CHECK(vmpl_splice_done(&sp) == (n == b - a), "splice done flag");
    vmpl_splice_destroy(&sp, release_cb, NULL);
    for (unsigned q = a; q < b; q++)
        L->m[q] = VMPL_SLOT_EMPTY;
}

static void op_remove_all(void) {
    struct mlist *L = decode_list(NULL);
    if (verbose)
        printf("remove_all\n");
    vmpl_remove_all(&L->pl, release_cb, NULL);
    memset(L->m, 0, sizeof(L->m));
}

static void op_skew(void) {
    struct mlist *L = decode_list(NULL);
    unsigned s = u8();
    if (!vmpl_is_empty(&L->pl))
        return;
    vmpl_set_skew(&L->pl, (s % 16) * P, ((s >> 4) % 16) * P);
    if (verbose)
        printf("skew %#llx\n", (unsigned long long)L->pl.skew);
}

static void op_query(void) {
    struct mlist *L = decode_list(NULL);
    unsigned a, b;
    decode_range(&a, &b);
    bool any = false;
    for (unsigned q = a; q < b; q++)
        any = any || L->m[q] != VMPL_SLOT_EMPTY;
    CHECK(vmpl_any_in_range(&L->pl, pos_offset(a), pos_offset(b - 1) + P) == any,
          "any_in_range [%#llx, %#llx) should be %d", (unsigned long long)pos_offset(a),
          (unsigned long long)pos_offset(b - 1) + P, any);
    bool none = true;
    for (unsigned q = 0; q < NPOS; q++)
        none = none && !vmpl_slot_is_page_or_ref(L->m[q]);
    CHECK(vmpl_has_no_page_or_ref(&L->pl) == none, "has_no_page_or_ref");
}

static void op_clear_only(void) {
    op_clear(false);
}

static void op_clear_then_zero(void) {
    op_clear(true);
}

static void op_walk_slots(void) {
    op_walk(false);
}

static void op_walk_and_gaps(void) {
    op_walk(true);
}

// One byte more picks between emptying a list (1 in 8) and the two queries.
static void op_remove_all_or_query(void) {
    if ((u8() & 7) == 0)
        op_remove_all();
    else
        op_query();
}

// The operations: an op byte modulo the weights' sum (23) selects one; see test/model_op.h. Each
// decodes its operands from the input, applies itself to a list and to its model, and checks what
// it can see; check_all runs after every one.
struct vmpl_op {
    const char *name;
    unsigned weight;
    void (*run)(void);
};

static const struct vmpl_op vmpl_ops[] = {
    {"set", 4, op_set},
    {"remove", 1, op_remove},
    {"clear", 1, op_clear_only},
    {"clear+zero", 2, op_clear_then_zero},
    {"add_interval_if_empty", 1, op_add_interval_if_empty},
    {"clip", 1, op_clip},
    {"populate", 1, op_populate},
    {"remove_range", 1, op_remove_range},
    {"walk", 1, op_walk_slots},
    {"walk_and_gap", 1, op_walk_and_gaps},
    {"runs", 1, op_runs},
    {"merge", 2, op_merge},
    {"take", 1, op_take},
    {"remove_all/query", 1, op_remove_all_or_query},
    {"skew", 1, op_skew},
    {"set_state", 3, op_set_state},
};

void vmpl_model_run(const uint8_t *data, size_t size, bool verbose_flag,
                    struct vmpl_model_stats *out) {
    static struct vmpl_model_stats local;
    stats = out ? out : &local;
    cur_op = "setup";
    *stats = (struct vmpl_model_stats){0};
    in_data = data;
    in_size = size;
    in_pos = 0;
    verbose = verbose_flag;
    size_t live0 = host_alloc_live();
    memset(page_owned, 0, sizeof(page_owned));
    memset(ref_owned, 0, sizeof(ref_owned));
    page_cursor = ref_cursor = 0;
    for (int l = 0; l < 2; l++) {
        vmpl_init(&lists[l].pl);
        memset(lists[l].m, 0, sizeof(lists[l].m));
        vmpl_set_skew(&lists[l].pl, 0, (u8() % 16) * P);
    }
    while (in_pos < in_size) {
        const struct vmpl_op *op = MODEL_OP_PICK(vmpl_ops, u8());
        stats->ops++;
        cur_op = op->name;
        op->run();
        check_all();
    }
    cur_op = "teardown";
    for (int l = 0; l < 2; l++) {
        vmpl_remove_all(&lists[l].pl, release_cb, NULL);
        vmpl_destroy(&lists[l].pl);
    }
    for (unsigned k = 0; k < NPAGES; k++)
        CHECK(!page_owned[k], "page %u leaked", k);
    for (unsigned k = 0; k < NREFS; k++)
        CHECK(!ref_owned[k], "reference %u leaked", k);
    CHECK(vmpl_nodes_live() == 0, "%zu nodes leaked", vmpl_nodes_live());
    CHECK(host_alloc_live() == live0, "heap objects leaked: %zu live, %zu before",
          host_alloc_live(), live0);
}
