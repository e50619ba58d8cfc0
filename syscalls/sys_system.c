// System information calls (docs/abi.md §10): zx_system_get_num_cpus.
#include <zircon/types.h>

#include "arch/x86_64/smp.h"
#include "syscall_decls.h"

// Every CPU started at boot; constant afterwards (CPUs never go offline).
int64_t sys_system_get_num_cpus(void) {
    return smp_cpus_online();
}
