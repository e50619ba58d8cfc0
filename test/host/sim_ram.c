// Simulated RAM: an aligned host buffer is physical memory; the pmm manages it for real.
#include "test/host/sim_ram.h"

#include <stdlib.h>
#include <string.h>

#include "vm/phys_ranges.h"
#include "vm/physmap.h"
#include "vm/pmm.h"

uint8_t *physmap_base;

static struct phys_ranges sim_ranges;

bool sim_ram_init(size_t bytes) {
    physmap_base = aligned_alloc(PAGE_SIZE, bytes);
    if (!physmap_base)
        return false;
    memset(physmap_base, 0xcc, bytes);
    phys_ranges_init(&sim_ranges, bytes);
    if (phys_ranges_set(&sim_ranges, PAGE_SIZE, bytes, MEM_AVAILABLE) != ZX_OK)
        return false;
    return pmm_init(&sim_ranges) == ZX_OK;
}

void sim_ram_destroy(void) {
    free(physmap_base);
    physmap_base = NULL;
}
