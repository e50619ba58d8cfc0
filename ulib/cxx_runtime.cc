// The C++ runtime of the SDK, for programs built without exceptions or RTTI: operator new and
// delete on the SDK heap (malloc), guards for function-local statics, and the traps for a pure or
// deleted virtual call. Destructors of static objects register through __cxa_atexit
// (exit_handlers.c). new never returns NULL: out of memory, it aborts, as a program built with
// -fno-exceptions cannot catch std::bad_alloc; the nothrow forms return NULL instead.
#include <new>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <zircon/syscalls.h>

extern "C" {
#include "ulib/ulib_priv.h"
}

// The tag object of `new (std::nothrow) T` (libsupc++ would define it; the SDK links no C++
// library).
namespace std {
const nothrow_t nothrow{};
}

namespace {

[[noreturn]] void out_of_memory(size_t size) {
    printf("operator new: out of memory (%zu bytes)\n", size);
    abort();
}

void *allocate(size_t size) {
    void *p = malloc(size ? size : 1);
    if (!p)
        out_of_memory(size);
    return p;
}

// Over-aligned objects: allocate enough to align by hand and keep malloc's pointer just below the
// object, where the matching delete finds it.
void *allocate_aligned_nothrow(size_t size, std::align_val_t align) {
    size_t a = static_cast<size_t>(align);
    if (a < alignof(void *))
        a = alignof(void *);
    if (size > SIZE_MAX - a - sizeof(void *))
        return nullptr;
    void *raw = malloc(size + a + sizeof(void *));
    if (!raw)
        return nullptr;
    uintptr_t obj = (reinterpret_cast<uintptr_t>(raw) + sizeof(void *) + a - 1) & ~(a - 1);
    reinterpret_cast<void **>(obj)[-1] = raw;
    return reinterpret_cast<void *>(obj);
}

void *allocate_aligned(size_t size, std::align_val_t align) {
    void *p = allocate_aligned_nothrow(size, align);
    if (!p)
        out_of_memory(size);
    return p;
}

void free_aligned(void *p) {
    if (p)
        free(reinterpret_cast<void **>(p)[-1]);
}

}  // namespace

void *operator new(size_t size) { return allocate(size); }
void *operator new[](size_t size) { return allocate(size); }
void *operator new(size_t size, const std::nothrow_t &) noexcept { return malloc(size ? size : 1); }
void *operator new[](size_t size, const std::nothrow_t &) noexcept { return malloc(size ? size : 1); }
void operator delete(void *p) noexcept { free(p); }
void operator delete[](void *p) noexcept { free(p); }
void operator delete(void *p, size_t) noexcept { free(p); }
void operator delete[](void *p, size_t) noexcept { free(p); }
void operator delete(void *p, const std::nothrow_t &) noexcept { free(p); }
void operator delete[](void *p, const std::nothrow_t &) noexcept { free(p); }

void *operator new(size_t size, std::align_val_t a) { return allocate_aligned(size, a); }
void *operator new[](size_t size, std::align_val_t a) { return allocate_aligned(size, a); }
void *operator new(size_t size, std::align_val_t a, const std::nothrow_t &) noexcept {
    return allocate_aligned_nothrow(size, a);
}
void *operator new[](size_t size, std::align_val_t a, const std::nothrow_t &) noexcept {
    return allocate_aligned_nothrow(size, a);
}
void operator delete(void *p, std::align_val_t) noexcept { free_aligned(p); }
void operator delete[](void *p, std::align_val_t) noexcept { free_aligned(p); }
void operator delete(void *p, size_t, std::align_val_t) noexcept { free_aligned(p); }
void operator delete[](void *p, size_t, std::align_val_t) noexcept { free_aligned(p); }
void operator delete(void *p, std::align_val_t, const std::nothrow_t &) noexcept { free_aligned(p); }
void operator delete[](void *p, std::align_val_t, const std::nothrow_t &) noexcept {
    free_aligned(p);
}

// The Itanium C++ ABI's guard for a function-local static: byte 0 says "initialised", byte 1
// "being initialised by some thread". The first thread to claim byte 1 runs the initialiser; the
// others wait until byte 0 is set (or byte 1 is dropped by __cxa_guard_abort, and try again).
extern "C" {

int __cxa_guard_acquire(uint64_t *guard);
void __cxa_guard_release(uint64_t *guard);
void __cxa_guard_abort(uint64_t *guard);
void __cxa_pure_virtual();
void __cxa_deleted_virtual();

int __cxa_guard_acquire(uint64_t *guard) {
    uint8_t *done = reinterpret_cast<uint8_t *>(guard);
    uint8_t *busy = done + 1;
    for (;;) {
        if (__atomic_load_n(done, __ATOMIC_ACQUIRE))
            return 0;
        uint8_t expected = 0;
        if (__atomic_compare_exchange_n(busy, &expected, 1, false, __ATOMIC_ACQUIRE,
                                        __ATOMIC_RELAXED))
            return 1;
        // Another thread is running the initialiser: wait, without burning its CPU.
        zx_nanosleep(zx_clock_get_monotonic() + 20000);
    }
}

void __cxa_guard_release(uint64_t *guard) {
    uint8_t *done = reinterpret_cast<uint8_t *>(guard);
    __atomic_store_n(done, 1, __ATOMIC_RELEASE);
    __atomic_store_n(done + 1, 0, __ATOMIC_RELEASE);
}

void __cxa_guard_abort(uint64_t *guard) {
    __atomic_store_n(reinterpret_cast<uint8_t *>(guard) + 1, 0, __ATOMIC_RELEASE);
}

void __cxa_pure_virtual() {
    printf("pure virtual function called\n");
    abort();
}

void __cxa_deleted_virtual() {
    printf("deleted virtual function called\n");
    abort();
}

}  // extern "C"
