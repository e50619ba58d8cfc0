// The kernel heap: kmalloc/kfree for variable sizes and object caches for fixed-size objects.
// Both sit on the pmm. Freed memory is poisoned (0xdf bytes) when JASPER_DEBUG is on.
// Host builds link a malloc-backed version with allocation-failure injection (test/host/).
#ifndef KERNEL_HEAP_H
#define KERNEL_HEAP_H

#include <stddef.h>

#include "kernel/compiler.h"

#define HEAP_POISON_BYTE 0xdf

// Returns `size` bytes aligned to 16 (to a page for sizes of a page or more), or NULL when memory
// is exhausted. kmalloc(0) returns a unique pointer that may be freed.
void *kmalloc(size_t size) MUST_USE;
// Like kmalloc, zero-filled.
void *kzalloc(size_t size) MUST_USE;
// Frees memory from kmalloc/kzalloc; NULL is ignored.
void kfree(void *ptr);

// A cache of equal-size objects (slabs of one page each, or of the smallest page run that holds
// at least eight objects).
struct kcache;

// Creates a cache of `obj_size`-byte objects aligned to `align` (a power of two, at most a page).
// Returns NULL when memory is exhausted. `name` must outlive the cache.
struct kcache *kcache_create(const char *name, size_t obj_size, size_t align) MUST_USE;
// Destroys an empty cache; every object must have been freed (asserted).
void kcache_destroy(struct kcache *cache);
void *kcache_alloc(struct kcache *cache) MUST_USE;
void kcache_free(struct kcache *cache, void *obj);

struct heap_stats {
    size_t pages;        // pages the heap holds from the pmm
    size_t bytes_used;   // bytes handed out (rounded to the size class)
    size_t allocations;  // objects currently allocated
};
void heap_get_stats(struct heap_stats *out);

#endif  // KERNEL_HEAP_H
