// System information calls: system_get_num_cpus.
#include <zircon/types.h>

#include "kernel/thread.h"
#include "syscall_decls.h"

// The CPUs that run threads: every CPU brought up at boot (all are up before user code runs, so
// the answer never changes).
int64_t sys_system_get_num_cpus(void) {
    return sched_cpus_online();
}
