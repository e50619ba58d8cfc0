// Kernel-internal scalar types. Public ABI types live in include/zircon/types.h.
#ifndef KERNEL_TYPES_H
#define KERNEL_TYPES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <zircon/types.h>

#include "kernel/compiler.h"

typedef uint64_t paddr_t;  // a physical address
typedef uint64_t vaddr_t;  // a virtual address
typedef uint64_t pte_t;    // one x86-64 page-table entry

#define PAGE_SHIFT 12
#define PAGE_SIZE ((size_t)1 << PAGE_SHIFT)

#endif  // KERNEL_TYPES_H
