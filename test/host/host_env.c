// Host stand-ins for kernel services used by pure code: panic aborts, the console is stdout, and the
// heap is malloc with a failure-injection countdown so every allocation point can be made to fail.
#include "test/host/host_env.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "arch/x86_64/smp.h"
#include "kernel/assert.h"
#include "kernel/heap.h"
#include "kernel/mutex.h"
#include "kernel/printf.h"
#include "kernel/thread.h"
#include "kernel/spinlock.h"
#include "kernel/string.h"
#include "kernel/types.h"

static size_t fail_after;  // 0: disarmed
static size_t alloc_count;
static size_t alloc_live;

void host_alloc_fail_after(size_t n) {
    fail_after = alloc_count + n;
}

void host_alloc_fail_disarm(void) {
    fail_after = 0;
}

size_t host_alloc_count(void) {
    return alloc_count;
}

size_t host_alloc_live(void) {
    return alloc_live;
}

void console_write(const char *s, size_t len) {
    fwrite(s, 1, len, stdout);
}

void panic(const char *fmt, ...) {
    fflush(stdout);
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "PANIC: ");
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\n");
    va_end(ap);
    abort();
}

static bool should_fail(void) {
    alloc_count++;
    return fail_after != 0 && alloc_count >= fail_after;
}

void *kmalloc(size_t size) {
    if (should_fail())
        return NULL;
    void *p = malloc(size ? size : 1);
    if (p)
        alloc_live++;
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
    alloc_live--;
    free(ptr);
}

struct kcache {
    const char *name;
    size_t obj_size;
    size_t align;
    size_t live;
};

struct kcache *kcache_create(const char *name, size_t obj_size, size_t align) {
    struct kcache *c = malloc(sizeof(*c));
    if (!c)
        return NULL;
    *c = (struct kcache){name, obj_size, align < 16 ? 16 : align, 0};
    return c;
}

void kcache_destroy(struct kcache *cache) {
    ASSERT_MSG(cache->live == 0, "cache %s has %zu live objects", cache->name, cache->live);
    free(cache);
}

void *kcache_alloc(struct kcache *cache) {
    if (should_fail())
        return NULL;
    void *p = aligned_alloc(cache->align, ROUNDUP(cache->obj_size, cache->align));
    if (p) {
        cache->live++;
        alloc_live++;
    }
    return p;
}

void kcache_free(struct kcache *cache, void *obj) {
    if (!obj)
        return;
    cache->live--;
    alloc_live--;
    free(obj);
}

void heap_get_stats(struct heap_stats *out) {
    *out = (struct heap_stats){0, 0, alloc_live};
}

// One CPU (number 0, so holder 1) and no interrupts on the host: locks only check their own use.
irqstate_t spin_lock_irqsave(struct spinlock *lock) {
    ASSERT_MSG(lock->holder != 1, "lock %s already held", lock->name);
    lock->holder = 1;
    lock->locked = 1;
    return 0;
}

void spin_unlock_irqrestore(struct spinlock *lock, irqstate_t state) {
    (void)state;
    ASSERT_MSG(lock->holder == 1, "lock %s not held", lock->name);
    lock->holder = 0;
    lock->locked = 0;
}

bool spin_lock_held(const struct spinlock *lock) {
    return lock->holder == 1;
}

irqstate_t irq_save_local(void) {
    return 0;
}

void irq_restore_local(irqstate_t state) {
    (void)state;
}

// One CPU: a held word would never be released.
void spin_word_acquire(uint32_t *word) {
    ASSERT_MSG(*word == 0, "%s", "lock word already held");
    *word = 1;
}

void spin_word_release(uint32_t *word) {
    ASSERT_MSG(*word == 1, "%s", "lock word not held");
    *word = 0;
}

void page_zero(void *page) {
    memset(page, 0, PAGE_SIZE);
}

void page_copy(void *dst, const void *src) {
    memcpy(dst, src, PAGE_SIZE);
}

// Mutexes: one thread on the host; only misuse is checked. The owner is a dummy non-NULL value.
void mutex_init(struct mutex *m, const char *name) {
    m->state = 0;
    m->name = name;
}

void mutex_acquire(struct mutex *m) {
    ASSERT_MSG(m->state == 0, "mutex %s acquired twice", m->name);
    m->state = (uintptr_t)m;
}

void mutex_release(struct mutex *m) {
    ASSERT_MSG(m->state != 0, "mutex %s released while free", m->name);
    m->state = 0;
}

bool mutex_held(const struct mutex *m) {
    return m->state != 0;
}

// One CPU on the host (the pmm's caches, the page queues' batches, the page-table layer's CPU
// masks).
unsigned smp_cpu_num(void) {
    return 0;
}

unsigned smp_cpus_online(void) {
    return 1;
}

// Host tests run as if on a kernel thread: critical for the pmm's reserve (kernel/thread.h).
bool thread_current_alloc_critical(void) {
    return true;
}
