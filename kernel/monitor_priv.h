// What the serial monitor's command files share (kernel/monitor.c reads lines and dispatches;
// kernel/monitor_run.c starts programs; kernel/monitor_tasks.c lists processes, VMOs and address
// spaces; kernel/monitor_memmap.c draws physical memory; vm/vmo_dump.c prints clone trees).
// Everything here runs on the monitor's thread; what it prints is a snapshot, not atomic.
#ifndef KERNEL_MONITOR_PRIV_H
#define KERNEL_MONITOR_PRIV_H

#include <stddef.h>

#include "kernel/types.h"

struct process;
struct vmo;

// The step event of a paused program (JASPER_HANDLE_MONITOR_STEP): the program raises PAUSED when
// it stops between two steps and waits for GO; it clears both when it goes on.
#define MONITOR_STEP_GO ZX_USER_SIGNAL_0
#define MONITOR_STEP_PAUSED ZX_USER_SIGNAL_1

// --- Programs (kernel/monitor_run.c) ---
void monitor_cmd_run(int argc, char **argv);
void monitor_cmd_next(int argc, char **argv);
// Reports programs the monitor started that have ended (called while waiting for input).
void monitor_poll_programs(void);

// --- Tasks and VMOs (kernel/monitor_tasks.c) ---
// Calls fn for every live process under the root job (jobs first-depth order), holding a
// reference on it; `depth` is its job's depth (the root job is 0).
typedef void (*monitor_process_fn)(struct process *p, unsigned depth, void *ctx);
void monitor_for_each_process(monitor_process_fn fn, void *ctx);
// Calls fn for every VMO a live process holds a handle to or maps (a VMO may come more than
// once), holding a reference on it, with the process it was found in.
typedef void (*monitor_vmo_fn)(struct vmo *v, struct process *p, void *ctx);
void monitor_for_each_vmo(monitor_vmo_fn fn, void *ctx);
// The process or VMO with `koid` (a new reference), or NULL.
struct process *monitor_find_process(zx_koid_t koid);
struct vmo *monitor_find_vmo(zx_koid_t koid);
void monitor_cmd_ps(int argc, char **argv);
void monitor_cmd_vmos(int argc, char **argv);
void monitor_cmd_vmmap(int argc, char **argv);
void monitor_cmd_vmo(int argc, char **argv);
// `dump`: every clone tree and the physical map in the dump format (docs/memory-pictures.md).
void monitor_cmd_dump(int argc, char **argv);

// --- Physical memory (kernel/monitor_memmap.c) ---
void monitor_cmd_memmap(int argc, char **argv);
// The physical map in the dump format (@pmap lines).
void monitor_dump_pmap(void);

// Parses a decimal or 0x number; false if `s` is not one.
bool monitor_parse_u64(const char *s, uint64_t *out);

#endif  // KERNEL_MONITOR_PRIV_H
