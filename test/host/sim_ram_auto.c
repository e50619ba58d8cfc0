// Gives a host test program 64 MiB of simulated RAM with a live pmm before any test runs.
#include <stdio.h>
#include <stdlib.h>

#include "test/host/sim_ram.h"

#define SIM_RAM_BYTES (64u << 20)

__attribute__((constructor)) static void sim_ram_auto_init(void) {
    if (!sim_ram_init(SIM_RAM_BYTES)) {
        fprintf(stderr, "sim_ram: cannot set up simulated RAM\n");
        exit(2);
    }
}
