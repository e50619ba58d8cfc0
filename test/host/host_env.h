// The host test environment: what pure kernel code needs from the kernel (panic, console, heap),
// supplied by the C library, plus allocation-failure injection for out-of-memory tests.
#ifndef TEST_HOST_HOST_ENV_H
#define TEST_HOST_HOST_ENV_H

#include <stdbool.h>
#include <stddef.h>

// Makes the `n`th heap allocation from now (n >= 1) fail, and every one after it until disarmed.
void host_alloc_fail_after(size_t n);
// Stops injecting failures.
void host_alloc_fail_disarm(void);
// Allocations made by kmalloc/kzalloc/kcache_alloc since the start of the test (successful or not).
size_t host_alloc_count(void);
// Objects currently allocated through kmalloc/kzalloc/kcache_alloc (to check for leaks).
size_t host_alloc_live(void);

// host_objects.c's stand-in pager: when set, a thread that must wait for a page request calls it
// (no lock held) to have every request answered (test/host/cow_pager_model.c).
struct page_source;
extern void (*host_pager_serve)(struct page_source *src);

#endif  // TEST_HOST_HOST_ENV_H
