// Memory fills and copies with string instructions. Whole pages use rep stosq / rep movsq: under
// QEMU's TCG rep stosb is several times slower and icount counts every byte (docs/design.md).
#include "kernel/string.h"
#include "kernel/types.h"

void *memcpy(void *restrict dst, const void *restrict src, size_t n) {
    void *d = dst;
    size_t q = n / 8, r = n % 8;
    __asm__ volatile("rep movsq" : "+D"(d), "+S"(src), "+c"(q) : : "memory");
    __asm__ volatile("rep movsb" : "+D"(d), "+S"(src), "+c"(r) : : "memory");
    return dst;
}

void *memset(void *dst, int c, size_t n) {
    void *d = dst;
    uint64_t pattern = 0x0101010101010101ull * (uint8_t)c;
    size_t q = n / 8, r = n % 8;
    __asm__ volatile("rep stosq" : "+D"(d), "+c"(q) : "a"(pattern) : "memory");
    __asm__ volatile("rep stosb" : "+D"(d), "+c"(r) : "a"(pattern) : "memory");
    return dst;
}

void *memmove(void *dst, const void *src, size_t n) {
    if ((uintptr_t)dst - (uintptr_t)src >= n)
        return memcpy(dst, src, n);  // no harmful overlap: forward copy is safe
    // Overlapping with dst above src: copy backwards.
    void *d = (char *)dst + n - 1;
    const void *s = (const char *)src + n - 1;
    __asm__ volatile("std\n"
                     "rep movsb\n"
                     "cld"
                     : "+D"(d), "+S"(s), "+c"(n)
                     :
                     : "memory");
    return dst;
}

void page_zero(void *page) {
    size_t q = PAGE_SIZE / 8;
    __asm__ volatile("rep stosq" : "+D"(page), "+c"(q) : "a"(0ull) : "memory");
}

void page_copy(void *dst, const void *src) {
    size_t q = PAGE_SIZE / 8;
    __asm__ volatile("rep movsq" : "+D"(dst), "+S"(src), "+c"(q) : : "memory");
}
