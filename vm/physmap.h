// The physmap: all RAM mapped at one base, so the kernel reaches any physical page through a
// pointer. In the kernel the base is 0xffff800000000000; host tests point it at simulated RAM.
#ifndef VM_PHYSMAP_H
#define VM_PHYSMAP_H

#include "kernel/types.h"

extern uint8_t *physmap_base;

static inline void *paddr_to_kva(paddr_t pa) {
    return physmap_base + pa;
}

// `kva` must be a physmap address.
static inline paddr_t physmap_kva_to_paddr(const void *kva) {
    return (paddr_t)((const uint8_t *)kva - physmap_base);
}

#endif  // VM_PHYSMAP_H
