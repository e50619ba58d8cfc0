// Simulated physical memory for host tests: a buffer standing in for RAM at physical address 0,
// reached through physmap_base like the kernel's physmap, with a pmm set up over it.
#ifndef TEST_HOST_SIM_RAM_H
#define TEST_HOST_SIM_RAM_H

#include <stddef.h>

#include "kernel/types.h"

// Creates `bytes` of simulated RAM (a page multiple) with frame 0 reserved and the rest available,
// and initialises the pmm over it. Returns false on failure. Host test programs that link
// sim_ram_auto.c get 64 MiB of it before their tests run.
bool sim_ram_init(size_t bytes);
void sim_ram_destroy(void);

#endif  // TEST_HOST_SIM_RAM_H
