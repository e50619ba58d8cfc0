// Compressed storage in size classes of 16-byte steps over zspages of 1-4 pages (see zstore.h).
#include "vm/zstore.h"

#include "kernel/assert.h"
#include "kernel/printf.h"
#include "kernel/string.h"
#include "vm/pmm.h"

#define REF_SLOT_SHIFT 12
#define REF_PFN_SHIFT 22
#define REF_SLOT_MASK 0x3ffu

_Static_assert(ZSTORE_MAX_ITEM < 4096, "the length field of a reference has 12 bits");
_Static_assert(ZSTORE_MAX_PAGES * PAGE_SIZE / ZSTORE_UNIT <= REF_SLOT_MASK + 1,
               "the slot field of a reference has 10 bits");
_Static_assert(ZSTORE_CLASSES <= 256, "class_for_units holds bytes");
_Static_assert(ZSTORE_CLASSES < ZSTORE_CLS_TAIL, "class numbers fit below the tail marker");

// The class an item of `len` bytes goes to (zstore_init fills class_for_units).
static size_t class_of_len(const struct zstore *z, size_t len) {
    return z->class_for_units[(len + ZSTORE_UNIT - 1) / ZSTORE_UNIT - 1];
}

void zstore_init(struct zstore *z, const char *name) {
    z->lock = (struct spinlock)SPINLOCK_INIT(name);
    for (size_t c = 0; c < ZSTORE_CLASSES; c++) {
        struct zstore_class *zc = &z->classes[c];
        size_t size = (c + 1) * ZSTORE_UNIT;
        // The zspage size wasting the smallest share of its pages (the smaller one on a tie).
        size_t best_pages = 1, best_waste_num = PAGE_SIZE, best_waste_den = 1;
        for (size_t pages = 1; pages <= ZSTORE_MAX_PAGES; pages++) {
            size_t waste = pages * PAGE_SIZE % size;
            if (waste * best_waste_den < best_waste_num * pages) {
                best_pages = pages;
                best_waste_num = waste;
                best_waste_den = pages;
            }
        }
        zc->slot_size = (uint16_t)size;
        zc->pages = (uint8_t)best_pages;
        zc->slots = (uint16_t)(best_pages * PAGE_SIZE / size);
        list_init(&zc->partial);
        list_init(&zc->full);
    }
    // Items go to the largest class with their class's geometry: as many slots in as many pages
    // means the same cost per item, and fewer classes leave fewer half-empty zspages (of 192 unit
    // counts, 68 classes remain in use).
    for (size_t c = ZSTORE_CLASSES; c-- > 0;) {
        const struct zstore_class *zc = &z->classes[c];
        size_t target = c;
        if (c + 1 < ZSTORE_CLASSES) {
            size_t up = z->class_for_units[c + 1];
            if (z->classes[up].pages == zc->pages && z->classes[up].slots == zc->slots)
                target = up;
        }
        z->class_for_units[c] = (uint8_t)target;
    }
    z->pages_used = 0;
    z->items = 0;
    z->bytes_stored = 0;
}

static vm_page_t *zspage_of(struct list_node *node) {
    return containerof(node, vm_page_t, node);
}

// The storage page holding byte `off` of a zspage, and that byte's offset in it.
static vm_page_t *zspage_page(vm_page_t *first, size_t off, size_t *out_in_page) {
    vm_page_t *p = first;
    for (size_t i = off / PAGE_SIZE; i > 0; i--)
        p = p->zstore.next;
    *out_in_page = off % PAGE_SIZE;
    return p;
}

// A slot's free-list link (slot + 1 of the next free slot, 0 for none): its first two bytes, which
// are always in one page (slots start at multiples of 16).
static uint16_t *slot_link(vm_page_t *first, const struct zstore_class *zc, size_t slot) {
    size_t in_page;
    vm_page_t *p = zspage_page(first, slot * zc->slot_size, &in_page);
    return (uint16_t *)((uint8_t *)vm_page_kva(p) + in_page);
}

// Copies between an item and a buffer, across a page boundary if the slot straddles one.
static void slot_copy(vm_page_t *first, const struct zstore_class *zc, size_t slot, void *buf,
                      size_t len, bool to_slot) {
    size_t in_page;
    vm_page_t *p = zspage_page(first, slot * zc->slot_size, &in_page);
    size_t head = MIN(len, PAGE_SIZE - in_page);
    uint8_t *at = (uint8_t *)vm_page_kva(p) + in_page;
    if (to_slot)
        memcpy(at, buf, head);
    else
        memcpy(buf, at, head);
    if (head < len) {
        uint8_t *rest = vm_page_kva(p->zstore.next);
        if (to_slot)
            memcpy(rest, (uint8_t *)buf + head, len - head);
        else
            memcpy((uint8_t *)buf + head, rest, len - head);
    }
}

static void zspage_release_pages_locked(struct zstore *z, vm_page_t *first) REQUIRES(z->lock) {
    ASSERT_HELD(&z->lock);
    vm_page_t *p = first;
    while (p) {
        vm_page_t *next = p->zstore.next;
        pmm_free_page(p);
        z->pages_used--;
        p = next;
    }
}

// A new zspage of class c, on its partial list; NULL if the pmm is out of pages.
static vm_page_t *zspage_create_locked(struct zstore *z, struct zstore_class *zc, size_t c)
    REQUIRES(z->lock) {
    ASSERT_HELD(&z->lock);
    vm_page_t *first = NULL, *last = NULL;
    for (size_t i = 0; i < zc->pages; i++) {
        vm_page_t *p = pmm_alloc_page(PAGE_STATE_COMPRESSED);
        if (!p) {
            if (first)
                zspage_release_pages_locked(z, first);
            return NULL;
        }
        z->pages_used++;
        p->zstore.cls = ZSTORE_CLS_TAIL;
        p->zstore.inuse = 0;
        p->zstore.free_head = 0;
        p->zstore.fresh = 0;
        p->zstore.next = NULL;
        list_init(&p->node);
        if (last)
            last->zstore.next = p;
        else
            first = p;
        last = p;
    }
    first->zstore.cls = (uint16_t)c;
    list_add_head(&zc->partial, &first->node);
    return first;
}

// Best fit among free slots elsewhere: when an item's own class has no free slot, a free slot of
// the smallest larger class that wastes at most a quarter of the item is used before a new zspage
// is made. Few items spread over many classes (a small store) would otherwise leave most zspages
// mostly empty; this costs at most 25% of the items that take it.
static vm_page_t *spill_target_locked(struct zstore *z, size_t c, size_t len) REQUIRES(z->lock) {
    ASSERT_HELD(&z->lock);
    size_t limit = len + len / 8;
    for (size_t up = c + 1; up < ZSTORE_CLASSES; up++) {
        const struct zstore_class *uc = &z->classes[up];
        if (uc->slot_size > limit)
            break;
        if (z->class_for_units[up] == up && !list_is_empty(&uc->partial))
            return zspage_of(uc->partial.next);
    }
    return NULL;
}

zx_status_t zstore_put(struct zstore *z, const void *data, size_t len, uint64_t *out) {
    ASSERT_MSG(len >= 1 && len <= ZSTORE_MAX_ITEM, "zstore_put: length %zu", len);
    size_t c = class_of_len(z, len);
    struct zstore_class *zc = &z->classes[c];
    irqstate_t irq = spin_lock_irqsave(&z->lock);
    vm_page_t *first;
    if (!list_is_empty(&zc->partial)) {
        first = zspage_of(zc->partial.next);
    } else if ((first = spill_target_locked(z, c, len)) != NULL) {
        zc = &z->classes[first->zstore.cls];
    } else {
        first = zspage_create_locked(z, zc, c);
        if (!first) {
            spin_unlock_irqrestore(&z->lock, irq);
            return ZX_ERR_NO_MEMORY;
        }
    }
    size_t slot;
    if (first->zstore.free_head) {
        slot = first->zstore.free_head - 1u;
        first->zstore.free_head = *slot_link(first, zc, slot);
    } else {
        ASSERT(first->zstore.fresh < zc->slots);
        slot = first->zstore.fresh++;
    }
    if (++first->zstore.inuse == zc->slots) {
        list_delete(&first->node);
        list_add_head(&zc->full, &first->node);
    }
    z->items++;
    z->bytes_stored += len;
    // Copying under the lock keeps the slot's link bytes and data from ever being seen half-made by
    // the checker; the copy is at most ZSTORE_MAX_ITEM bytes.
    slot_copy(first, zc, slot, (void *)(uintptr_t)data, len, true);
    spin_unlock_irqrestore(&z->lock, irq);
    uint64_t pfn = vm_page_paddr(first) >> PAGE_SHIFT;
    *out = pfn << REF_PFN_SHIFT | (uint64_t)slot << REF_SLOT_SHIFT | len;
    return ZX_OK;
}

// The zspage and slot a reference names (asserting it could be one of ours).
static vm_page_t *ref_decode(const struct zstore *z, uint64_t ref, const struct zstore_class **zc,
                             size_t *slot) {
    size_t len = zstore_item_len(ref);
    ASSERT_MSG(len >= 1 && len <= ZSTORE_MAX_ITEM, "zstore: bad reference %#llx",
               (unsigned long long)ref);
    vm_page_t *first = pmm_page_from_paddr((paddr_t)(ref >> REF_PFN_SHIFT) << PAGE_SHIFT);
    *slot = (ref >> REF_SLOT_SHIFT) & REF_SLOT_MASK;
    ASSERT_MSG(first && first->state == PAGE_STATE_COMPRESSED &&
                   first->zstore.cls < ZSTORE_CLASSES &&
                   z->classes[first->zstore.cls].slot_size >= len && *slot < first->zstore.fresh,
               "zstore: reference %#llx names no item", (unsigned long long)ref);
    *zc = &z->classes[first->zstore.cls];
    return first;
}

const uint8_t *zstore_read(const struct zstore *z, uint64_t ref, uint8_t *scratch) {
    const struct zstore_class *zc;
    size_t slot, in_page;
    vm_page_t *first = ref_decode(z, ref, &zc, &slot);
    size_t len = zstore_item_len(ref);
    vm_page_t *p = zspage_page(first, slot * zc->slot_size, &in_page);
    if (in_page + len <= PAGE_SIZE)
        return (const uint8_t *)vm_page_kva(p) + in_page;
    if (!scratch)
        return NULL;
    slot_copy(first, zc, slot, scratch, len, false);
    return scratch;
}

void zstore_free(struct zstore *z, uint64_t ref) {
    const struct zstore_class *czc;
    size_t slot;
    vm_page_t *first = ref_decode(z, ref, &czc, &slot);
    struct zstore_class *zc = &z->classes[czc - z->classes];
    irqstate_t irq = spin_lock_irqsave(&z->lock);
    ASSERT(first->zstore.inuse > 0);
    if (first->zstore.inuse == zc->slots) {
        list_delete(&first->node);
        list_add_head(&zc->partial, &first->node);
    }
    z->items--;
    z->bytes_stored -= zstore_item_len(ref);
    if (--first->zstore.inuse == 0) {
        list_delete(&first->node);
        zspage_release_pages_locked(z, first);
    } else {
        *slot_link(first, zc, slot) = first->zstore.free_head;
        first->zstore.free_head = (uint16_t)(slot + 1);
    }
    spin_unlock_irqrestore(&z->lock, irq);
}

void zstore_usage(struct zstore *z, struct zstore_usage *out) {
    irqstate_t irq = spin_lock_irqsave(&z->lock);
    out->pages_used = z->pages_used;
    out->items = z->items;
    out->bytes_stored = z->bytes_stored;
    spin_unlock_irqrestore(&z->lock, irq);
}

#define CHECK(cond, ...)                 \
    do {                                 \
        if (!(cond)) {                   \
            kprintf("zstore_check: ");   \
            kprintf(__VA_ARGS__);        \
            kprintf("\n");               \
            ok = false;                  \
            goto out;                    \
        }                                \
    } while (0)

// Checks one zspage (invariants 2 and 3); adds its pages and items to the totals.
static bool zspage_check(const struct zstore_class *zc, size_t c, vm_page_t *first, bool on_full,
                         uint64_t *pages, uint64_t *items, uint64_t *slot_bytes) {
    bool ok = true;
    CHECK(first->state == PAGE_STATE_COMPRESSED, "class %zu: zspage page in state %u", c,
          first->state);
    CHECK(first->zstore.cls == c, "class %zu: zspage of class %u", c, first->zstore.cls);
    size_t n = 0;
    for (vm_page_t *p = first; p; p = p->zstore.next) {
        CHECK(n < zc->pages, "class %zu: zspage longer than %u pages", c, zc->pages);
        CHECK(p->state == PAGE_STATE_COMPRESSED, "class %zu: page %zu in state %u", c, n, p->state);
        CHECK(p == first || p->zstore.cls == ZSTORE_CLS_TAIL, "class %zu: tail page %zu marked %u",
              c, n, p->zstore.cls);
        n++;
    }
    CHECK(n == zc->pages, "class %zu: zspage of %zu pages, not %u", c, n, zc->pages);
    size_t inuse = first->zstore.inuse, fresh = first->zstore.fresh;
    CHECK(inuse > 0 && fresh <= zc->slots, "class %zu: inuse %zu fresh %zu", c, inuse, fresh);
    CHECK(on_full == (inuse == zc->slots), "class %zu: inuse %zu of %u on the %s list", c, inuse,
          zc->slots, on_full ? "full" : "partial");
    // The free list: each slot below fresh, none twice (a bitmap of up to 1,024 slots).
    uint64_t seen[(ZSTORE_MAX_PAGES * PAGE_SIZE / ZSTORE_UNIT) / 64] = {0};
    size_t free_count = 0;
    for (size_t link = first->zstore.free_head; link; link = *slot_link(first, zc, link - 1)) {
        size_t slot = link - 1;
        CHECK(slot < fresh, "class %zu: free slot %zu at or past fresh %zu", c, slot, fresh);
        CHECK(!(seen[slot / 64] >> (slot % 64) & 1), "class %zu: free slot %zu twice", c, slot);
        seen[slot / 64] |= 1ull << (slot % 64);
        free_count++;
    }
    CHECK(free_count + inuse == fresh, "class %zu: %zu free + %zu in use != fresh %zu", c,
          free_count, inuse, fresh);
    *pages += n;
    *items += inuse;
    *slot_bytes += inuse * zc->slot_size;
out:
    return ok;
}

bool zstore_check(struct zstore *z) {
    bool ok = true;
    uint64_t pages = 0, items = 0, slot_bytes = 0;
    irqstate_t irq = spin_lock_irqsave(&z->lock);
    size_t max_round = 0;  // the most bytes an item's slot can exceed it by
    for (size_t c = 0; c < ZSTORE_CLASSES && ok; c++) {
        struct zstore_class *zc = &z->classes[c];
        size_t target = z->class_for_units[c];
        CHECK(target >= c && target < ZSTORE_CLASSES, "unit count %zu goes to class %zu", c,
              target);
        max_round = MAX(max_round, (target - c) * ZSTORE_UNIT + ZSTORE_UNIT - 1);
        CHECK(zc->slot_size == (c + 1) * ZSTORE_UNIT && zc->pages >= 1 &&
                  zc->pages <= ZSTORE_MAX_PAGES &&
                  zc->slots == zc->pages * PAGE_SIZE / zc->slot_size,
              "class %zu: geometry %u bytes x %u in %u pages", c, zc->slot_size, zc->slots,
              zc->pages);
        list_for_each(&zc->partial, it) {
            if (!zspage_check(zc, c, zspage_of(it), false, &pages, &items, &slot_bytes)) {
                ok = false;
                goto out;
            }
        }
        list_for_each(&zc->full, it) {
            if (!zspage_check(zc, c, zspage_of(it), true, &pages, &items, &slot_bytes)) {
                ok = false;
                goto out;
            }
        }
    }
    CHECK(pages == z->pages_used, "%llu pages in zspages, %llu counted",
          (unsigned long long)pages, (unsigned long long)z->pages_used);
    CHECK(items == z->items, "%llu items in zspages, %llu counted", (unsigned long long)items,
          (unsigned long long)z->items);
    CHECK(z->bytes_stored <= slot_bytes &&
              z->bytes_stored + z->bytes_stored / 4 + items * max_round >= slot_bytes,
          "%llu bytes stored in %llu bytes of slots", (unsigned long long)z->bytes_stored,
          (unsigned long long)slot_bytes);
out:
    spin_unlock_irqrestore(&z->lock, irq);
    return ok;
}
