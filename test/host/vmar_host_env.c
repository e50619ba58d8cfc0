// What the mapping layer needs on the host besides simulated RAM and kernel objects
// (test/host/host_objects.c): ASLR set up once before any test runs, as kmain does at boot; on,
// with a fixed seed, so runs repeat. The VMO layer itself is the real one (vm/vmo.c,
// vm/cow_pages.c).
#include "vm/aslr.h"

__attribute__((constructor)) static void host_aslr_init(void) {
    aslr_init(true, 0x6a09e667f3bcc908ull);
}
