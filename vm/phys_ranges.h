// physical_ranges: the kind of every physical address, as a sorted array of maximal ranges
// (in the spirit of Chickadee's memrangeset). Built at boot from the multiboot2 memory map, then
// refined: the kernel image, boot modules and boot structures are marked so the pmm never hands
// them out. Pure code.
//
// Invariant: ranges are sorted, non-empty, contiguous from 0 to `limit` (every address below the
// limit is in exactly one range) and adjacent ranges differ in kind.
#ifndef VM_PHYS_RANGES_H
#define VM_PHYS_RANGES_H

#include <stddef.h>

#include "kernel/types.h"

enum mem_kind {
    MEM_NONE = 0,       // not described by the firmware (holes)
    MEM_AVAILABLE,      // usable RAM
    MEM_RESERVED,       // firmware-reserved or unusable
    MEM_ACPI,           // ACPI tables (reclaimable)
    MEM_NVS,            // ACPI non-volatile storage
    MEM_BAD,            // defective RAM
    MEM_KERNEL,         // the kernel image
    MEM_MODULE,         // boot modules
    MEM_BOOT,           // boot-time structures (multiboot information)
    MEM_KIND_COUNT,
};

#define PHYS_RANGES_MAX 128

struct phys_range {
    paddr_t start;
    paddr_t end;  // exclusive
    enum mem_kind kind;
};

struct phys_ranges {
    struct phys_range r[PHYS_RANGES_MAX];
    size_t count;
    paddr_t limit;  // one past the highest address described
};

// The machine's map, filled in at boot.
extern struct phys_ranges physical_ranges;

// Makes `pr` one MEM_NONE range covering [0, limit). `limit` must be page-aligned and nonzero.
void phys_ranges_init(struct phys_ranges *pr, paddr_t limit);
// Sets the kind of [start, end) (clipped to the limit), splitting and merging ranges as needed.
// Returns ZX_ERR_NO_RESOURCES if the table would overflow (and changes nothing),
// ZX_ERR_INVALID_ARGS if start > end.
zx_status_t phys_ranges_set(struct phys_ranges *pr, paddr_t start, paddr_t end, enum mem_kind kind)
    MUST_USE;
// Returns the range containing `pa`, or NULL if pa >= limit.
const struct phys_range *phys_ranges_find(const struct phys_ranges *pr, paddr_t pa);
// The kind at `pa` (MEM_NONE at or past the limit).
enum mem_kind phys_ranges_kind(const struct phys_ranges *pr, paddr_t pa);
// Total bytes of the given kind.
uint64_t phys_ranges_total(const struct phys_ranges *pr, enum mem_kind kind);
// A short name for a kind ("available", "kernel", ...).
const char *mem_kind_name(enum mem_kind kind);
// Checks the invariant; returns true if it holds (prints the first violation otherwise).
bool phys_ranges_check(const struct phys_ranges *pr);

#endif  // VM_PHYS_RANGES_H
