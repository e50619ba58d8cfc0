// What the mapping layer needs on the host besides simulated RAM and kernel objects
// (test/host/host_objects.c): the boot-time ASLR inputs. The VMO layer itself is the real one
// (vm/vmo.c, vm/cow_pages.c).
#include "vm/aslr.h"

// --- ASLR inputs: on, with a fixed seed (runs repeat) ---

bool aslr_boot_enabled(void) {
    return true;
}

uint64_t aslr_boot_entropy(void) {
    return 0x6a09e667f3bcc908ull;
}
