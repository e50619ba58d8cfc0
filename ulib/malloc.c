// malloc on a VMO-backed heap: one large VMO mapped once at the first allocation; pages arrive on
// demand as the heap touches them. Blocks carry a 16-byte header (size, free flag); free blocks
// form a first-fit list and merge with a free successor. One lock (ulib_lock) serialises every
// thread's calls.
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <zircon/process.h>
#include <zircon/syscalls.h>

#include "ulib/ulib_priv.h"

#define HEAP_SIZE ((size_t)256 << 20)  // address space reserved; committed only where touched
#define ALIGN 16

struct block {
    size_t size;  // bytes of payload, a multiple of ALIGN
    size_t free;  // 1 if free
};

static int heap_lock;
static uint8_t *heap_base;
static size_t heap_used;  // bytes handed out from the top (blocks live in [base, base + used))

static int heap_init(void) {
    zx_handle_t vmo;
    if (zx_vmo_create(HEAP_SIZE, 0, &vmo) != ZX_OK)
        return -1;
    zx_object_set_property(vmo, ZX_PROP_NAME, "heap", 4);
    zx_vaddr_t addr;
    zx_status_t st = zx_vmar_map(zx_vmar_root_self(), ZX_VM_PERM_READ | ZX_VM_PERM_WRITE, 0, vmo,
                                 0, HEAP_SIZE, &addr);
    zx_handle_close(vmo);  // the mapping keeps the VMO alive
    if (st != ZX_OK)
        return -1;
    heap_base = (uint8_t *)addr;
    return 0;
}

static struct block *next_block(struct block *b) {
    return (struct block *)((uint8_t *)(b + 1) + b->size);
}

static void *malloc_locked(size_t size) {
    if (!heap_base && heap_init() != 0)
        return NULL;
    if (size > HEAP_SIZE)
        return NULL;
    size = (size + ALIGN - 1) & ~(size_t)(ALIGN - 1);
    if (size == 0)
        size = ALIGN;
    // First fit among the blocks handed out so far, merging free neighbours as we go.
    for (struct block *b = (struct block *)heap_base; (uint8_t *)b < heap_base + heap_used;
         b = next_block(b)) {
        if (!b->free)
            continue;
        struct block *n;
        while ((uint8_t *)(n = next_block(b)) < heap_base + heap_used && n->free)
            b->size += sizeof(struct block) + n->size;
        if (b->size >= size) {
            if (b->size >= size + sizeof(struct block) + ALIGN) {
                struct block *rest = (struct block *)((uint8_t *)(b + 1) + size);
                rest->size = b->size - size - sizeof(struct block);
                rest->free = 1;
                b->size = size;
            }
            b->free = 0;
            return b + 1;
        }
    }
    if (heap_used + sizeof(struct block) + size > HEAP_SIZE)
        return NULL;
    struct block *b = (struct block *)(heap_base + heap_used);
    b->size = size;
    b->free = 0;
    heap_used += sizeof(struct block) + size;
    return b + 1;
}

void *malloc(size_t size) {
    ulib_lock(&heap_lock);
    void *p = malloc_locked(size);
    ulib_unlock(&heap_lock);
    return p;
}

void free(void *ptr) {
    if (!ptr)
        return;
    struct block *b = (struct block *)ptr - 1;
    ulib_lock(&heap_lock);
    b->free = 1;
    ulib_unlock(&heap_lock);
}

void *calloc(size_t count, size_t size) {
    if (size && count > SIZE_MAX / size)
        return NULL;
    void *p = malloc(count * size);
    if (p)
        memset(p, 0, count * size);
    return p;
}

void *realloc(void *ptr, size_t size) {
    if (!ptr)
        return malloc(size);
    struct block *b = (struct block *)ptr - 1;
    if (b->size >= size)
        return ptr;
    void *p = malloc(size);
    if (p) {
        memcpy(p, ptr, b->size);
        free(ptr);
    }
    return p;
}
