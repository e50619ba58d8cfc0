// System information calls (docs/abi.md §10): page size, CPUs, physical memory.
#include <zircon/types.h>

#include "arch/x86_64/smp.h"
#include "syscall_decls.h"
#include "vm/pmm.h"

int64_t sys_system_get_page_size(void) {
    return PAGE_SIZE;
}

// Every CPU started at boot; constant afterwards (CPUs never go offline).
int64_t sys_system_get_num_cpus(void) {
    return smp_cpus_online();
}

// The memory the kernel manages, ZX_INFO_KMEM_STATS.total_bytes: constant after boot.
int64_t sys_system_get_physmem(void) {
    return (int64_t)pmm_managed_bytes();
}
