// The kernel heap. Object caches carve slabs (runs of pages from the pmm) into equal objects;
// kmalloc uses one cache per power-of-two size class up to 2 KiB and whole page runs above.
//
// Every page of a slab records its cache and its index in the slab (vm_page_t.heap), so kfree
// finds the cache from the pointer alone. An empty slab goes back to the pmm at once: the heap
// keeps no pages it does not use, so page counts return exactly to where they were.
// In debug builds freed objects are filled with HEAP_POISON_BYTE and checked when reused.
#include "kernel/heap.h"

#include "kernel/assert.h"
#include "kernel/list.h"
#include "kernel/printf.h"
#include "kernel/spinlock.h"
#include "kernel/string.h"
#include "vm/pmm.h"

#define SLAB_MIN_OBJECTS 8
#define KMALLOC_MIN_SHIFT 4   // 16 bytes
#define KMALLOC_MAX_SHIFT 11  // 2 KiB
#define KMALLOC_CLASSES (KMALLOC_MAX_SHIFT - KMALLOC_MIN_SHIFT + 1)

// At the start of every slab.
struct slab {
    struct list_node link;  // in its cache's partial or full list
    void *free;             // first free object; each free object starts with the next pointer
    uint32_t in_use;
    uint32_t capacity;
};

struct kcache {
    const char *name;
    size_t obj_size;    // rounded up to the alignment
    size_t first_off;   // offset of the first object in a slab
    size_t slab_pages;
    uint32_t per_slab;
    struct list_node partial;  // slabs with free objects
    struct list_node full;
    size_t live;               // objects allocated
    size_t pages;              // pages held
};

static struct spinlock heap_lock = SPINLOCK_INIT("heap");
static struct kcache cache_of_caches;
static struct kcache kmalloc_caches[KMALLOC_CLASSES];
static struct heap_stats totals;  // over every cache and large run
static bool heap_ready;

static void cache_setup(struct kcache *c, const char *name, size_t obj_size, size_t align) {
    if (align < 16)
        align = 16;
    c->name = name;
    c->obj_size = ROUNDUP(obj_size ? obj_size : 1, align);
    c->first_off = ROUNDUP(sizeof(struct slab), align);
    c->slab_pages = 1;
    while ((c->slab_pages * PAGE_SIZE - c->first_off) / c->obj_size < SLAB_MIN_OBJECTS)
        c->slab_pages++;
    c->per_slab = (uint32_t)((c->slab_pages * PAGE_SIZE - c->first_off) / c->obj_size);
    list_init(&c->partial);
    list_init(&c->full);
    c->live = 0;
    c->pages = 0;
}

static void heap_init_once(void) {
    static const char *const names[KMALLOC_CLASSES] = {
        "kmalloc-16", "kmalloc-32", "kmalloc-64", "kmalloc-128",
        "kmalloc-256", "kmalloc-512", "kmalloc-1024", "kmalloc-2048",
    };
    cache_setup(&cache_of_caches, "kcache", sizeof(struct kcache), 16);
    for (int i = 0; i < KMALLOC_CLASSES; i++)
        cache_setup(&kmalloc_caches[i], names[i], (size_t)1 << (i + KMALLOC_MIN_SHIFT), 16);
    heap_ready = true;
}

static struct slab *slab_new_locked(struct kcache *c) REQUIRES(heap_lock) {
    ASSERT_HELD(&heap_lock);
    vm_page_t *first = c->slab_pages == 1 ? pmm_alloc_page(PAGE_STATE_HEAP)
                                          : pmm_alloc_contiguous(c->slab_pages, 1, PAGE_STATE_HEAP);
    if (!first)
        return NULL;
    for (size_t i = 0; i < c->slab_pages; i++) {
        first[i].heap.cache = c;
        first[i].heap.run_pages = (uint32_t)i;  // index within the slab
    }
    struct slab *s = vm_page_kva(first);
    s->in_use = 0;
    s->capacity = c->per_slab;
    s->free = NULL;
    // Thread the free list from the last object down so allocation goes upward.
    for (uint32_t i = c->per_slab; i-- > 0;) {
        void *obj = (uint8_t *)s + c->first_off + i * c->obj_size;
        if (JASPER_DEBUG)
            memset(obj, HEAP_POISON_BYTE, c->obj_size);
        *(void **)obj = s->free;
        s->free = obj;
    }
    list_add_head(&c->partial, &s->link);
    c->pages += c->slab_pages;
    totals.pages += c->slab_pages;
    return s;
}

static void slab_free_locked(struct kcache *c, struct slab *s) REQUIRES(heap_lock) {
    ASSERT_HELD(&heap_lock);
    list_delete(&s->link);
    c->pages -= c->slab_pages;
    totals.pages -= c->slab_pages;
    vm_page_t *first = pmm_page_from_kva(s);
    if (c->slab_pages == 1)
        pmm_free_page(first);
    else
        pmm_free_contiguous(first, c->slab_pages);
}

// Panics if a free object was written after it was freed. Word by word (objects are multiples
// of 16 bytes): the byte loop cost a third of a map + unmap in debug builds.
static void check_poison(const struct kcache *c, const void *obj) {
    const uint64_t poison = 0x0101010101010101ull * HEAP_POISON_BYTE;
    const uint64_t *w = obj;
    for (size_t i = 1; i < c->obj_size / sizeof(uint64_t); i++) {
        if (unlikely(w[i] != poison)) {
            const uint8_t *b = (const uint8_t *)&w[i];
            size_t k = 0;
            while (b[k] == HEAP_POISON_BYTE)
                k++;
            panic("heap: %s object %p modified after free (byte %zu = %#x)", c->name, obj,
                  i * sizeof(uint64_t) + k, b[k]);
        }
    }
}

static void *cache_alloc_locked(struct kcache *c) REQUIRES(heap_lock) {
    ASSERT_HELD(&heap_lock);
    struct slab *s;
    if (list_is_empty(&c->partial)) {
        s = slab_new_locked(c);
        if (!s)
            return NULL;
    } else {
        s = containerof(c->partial.next, struct slab, link);
    }
    void *obj = s->free;
    s->free = *(void **)obj;
    if (JASPER_DEBUG)
        check_poison(c, obj);
    if (++s->in_use == s->capacity) {
        list_delete(&s->link);
        list_add_head(&c->full, &s->link);
    }
    c->live++;
    totals.allocations++;
    totals.bytes_used += c->obj_size;
    return obj;
}

static struct slab *slab_of(const struct kcache *c, const void *obj) {
    vm_page_t *page = pmm_page_from_kva((const void *)ROUNDDOWN((uintptr_t)obj, PAGE_SIZE));
    ASSERT_MSG(page && page->state == PAGE_STATE_HEAP && page->heap.cache == c,
               "%p is not a %s object", obj, c->name);
    return (struct slab *)(ROUNDDOWN((uintptr_t)obj, PAGE_SIZE) -
                           (uintptr_t)page->heap.run_pages * PAGE_SIZE);
}

static void cache_free_locked(struct kcache *c, void *obj) REQUIRES(heap_lock) {
    ASSERT_HELD(&heap_lock);
    struct slab *s = slab_of(c, obj);
    uintptr_t off = (uintptr_t)obj - (uintptr_t)s - c->first_off;
    ASSERT_MSG(off % c->obj_size == 0 && off / c->obj_size < c->per_slab,
               "%p is not the start of a %s object", obj, c->name);
    if (JASPER_DEBUG)
        memset(obj, HEAP_POISON_BYTE, c->obj_size);
    *(void **)obj = s->free;
    s->free = obj;
    if (s->in_use-- == s->capacity) {
        list_delete(&s->link);
        list_add_head(&c->partial, &s->link);
    }
    c->live--;
    totals.allocations--;
    totals.bytes_used -= c->obj_size;
    if (s->in_use == 0)
        slab_free_locked(c, s);
}

struct kcache *kcache_create(const char *name, size_t obj_size, size_t align) {
    ASSERT(align <= PAGE_SIZE && (align & (align - 1)) == 0);
    irqstate_t st = spin_lock_irqsave(&heap_lock);
    if (!heap_ready)
        heap_init_once();
    struct kcache *c = cache_alloc_locked(&cache_of_caches);
    if (c)
        cache_setup(c, name, obj_size, align);
    spin_unlock_irqrestore(&heap_lock, st);
    return c;
}

void kcache_destroy(struct kcache *cache) {
    irqstate_t st = spin_lock_irqsave(&heap_lock);
    ASSERT_MSG(cache->live == 0, "cache %s destroyed with %zu live objects", cache->name,
               cache->live);
    cache_free_locked(&cache_of_caches, cache);
    spin_unlock_irqrestore(&heap_lock, st);
}

void *kcache_alloc(struct kcache *cache) {
    irqstate_t st = spin_lock_irqsave(&heap_lock);
    void *obj = cache_alloc_locked(cache);
    spin_unlock_irqrestore(&heap_lock, st);
    return obj;
}

void kcache_free(struct kcache *cache, void *obj) {
    if (!obj)
        return;
    irqstate_t st = spin_lock_irqsave(&heap_lock);
    cache_free_locked(cache, obj);
    spin_unlock_irqrestore(&heap_lock, st);
}

static int size_class(size_t size) {
    int shift = KMALLOC_MIN_SHIFT;
    while (((size_t)1 << shift) < size)
        shift++;
    return shift - KMALLOC_MIN_SHIFT;
}

void *kmalloc(size_t size) {
    irqstate_t st = spin_lock_irqsave(&heap_lock);
    if (!heap_ready)
        heap_init_once();
    void *p = NULL;
    if (size <= ((size_t)1 << KMALLOC_MAX_SHIFT)) {
        p = cache_alloc_locked(&kmalloc_caches[size_class(size)]);
    } else if (size <= (size_t)UINT32_MAX * PAGE_SIZE) {
        size_t pages = ROUNDUP(size, PAGE_SIZE) / PAGE_SIZE;
        // One page comes off the pmm's free list (O(1)); longer runs are searched.
        vm_page_t *first = pages == 1 ? pmm_alloc_page(PAGE_STATE_HEAP)
                                      : pmm_alloc_contiguous(pages, 1, PAGE_STATE_HEAP);
        if (first) {
            first->heap.cache = NULL;
            first->heap.run_pages = (uint32_t)pages;
            totals.pages += pages;
            totals.allocations++;
            totals.bytes_used += pages * PAGE_SIZE;
            p = vm_page_kva(first);
        }
    }
    spin_unlock_irqrestore(&heap_lock, st);
    return p;
}

void *kzalloc(size_t size) {
    void *p = kmalloc(size);
    if (p)
        memset(p, 0, size);
    return p;
}

void kfree(void *ptr) {
    if (!ptr)
        return;
    irqstate_t st = spin_lock_irqsave(&heap_lock);
    vm_page_t *page = pmm_page_from_kva((const void *)ROUNDDOWN((uintptr_t)ptr, PAGE_SIZE));
    ASSERT_MSG(page && page->state == PAGE_STATE_HEAP, "kfree(%p): not a heap pointer", ptr);
    struct kcache *c = page->heap.cache;
    if (c) {
        ASSERT_MSG(c >= kmalloc_caches && c < kmalloc_caches + KMALLOC_CLASSES,
                   "kfree(%p): object of cache %s", ptr, c->name);
        cache_free_locked(c, ptr);
    } else {
        ASSERT_MSG(IS_ALIGNED((uintptr_t)ptr, PAGE_SIZE), "kfree(%p): inside a large block", ptr);
        size_t pages = page->heap.run_pages;
        totals.pages -= pages;
        totals.allocations--;
        totals.bytes_used -= pages * PAGE_SIZE;
        pmm_free_contiguous(page, pages);
    }
    spin_unlock_irqrestore(&heap_lock, st);
}

void heap_get_stats(struct heap_stats *out) {
    irqstate_t st = spin_lock_irqsave(&heap_lock);
    *out = totals;
    spin_unlock_irqrestore(&heap_lock, st);
}
