// The x86-64 virtual address layout with four-level paging: 48 significant bits, sign-extended,
// so two canonical halves [0, VA_LOW_END) (user) and [VA_HIGH_START, 2^64) (kernel). Header only.
#ifndef ARCH_X86_64_VA_H
#define ARCH_X86_64_VA_H

#include "kernel/types.h"

#define VA_LOW_END 0x0000800000000000ull
#define VA_HIGH_START 0xffff800000000000ull

static inline bool va_is_canonical(vaddr_t va) {
    return va < VA_LOW_END || va >= VA_HIGH_START;
}
static inline bool va_is_upper(vaddr_t va) {
    return va >= VA_HIGH_START;
}
// Copies bit 47 into bits 48-63.
static inline vaddr_t va_sign_extend(uint64_t v) {
    return (v & (1ull << 47)) ? (v | 0xffff000000000000ull) : (v & 0x0000ffffffffffffull);
}

#endif  // ARCH_X86_64_VA_H
