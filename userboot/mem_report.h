// What the `mem` program gathers and prints: every job and process under a job with its
// ZX_INFO_TASK_STATS, every VMO those processes hold or map (ZX_INFO_PROCESS_VMOS, each VMO once)
// and the kernel's totals (ZX_INFO_KMEM_STATS). Shared by userboot/mem.c and its test
// (test/user/mem_test.c), which checks that the figures add up. Fixed-size tables in the
// caller's `struct mem_report`, no malloc (the test maps a VMO for it).
#ifndef USERBOOT_MEM_REPORT_H
#define USERBOOT_MEM_REPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <zircon/syscalls.h>

#define MEM_MAX_JOBS 32
#define MEM_MAX_PROCS 64
#define MEM_MAX_VMOS 512

// Memory in bytes plus an exact fraction of a byte (2^63 is one byte), as the scaled fields are.
struct mem_scaled {
    uint64_t bytes, frac;
};

struct mem_job {
    zx_koid_t koid, parent;        // parent 0 for the job the report starts at
    unsigned depth;
    zx_info_task_stats_t sum;      // of every process in the job and the jobs below it
    struct mem_scaled scaled;      // sum.mem_scaled_shared_bytes with its fraction, exact
};

struct mem_proc {
    zx_koid_t koid, job;
    char name[ZX_MAX_NAME_LEN];
    zx_info_task_stats_t stats;
    size_t vmo_records;            // ZX_INFO_PROCESS_VMOS records (handles and mappings)
};

struct mem_vmo {
    zx_info_vmo_t info;            // the first record seen (flags: the union of all records)
    unsigned procs;                // processes holding or mapping it
    zx_koid_t first_proc;
};

struct mem_report {
    struct mem_job jobs[MEM_MAX_JOBS];
    struct mem_proc procs[MEM_MAX_PROCS];
    struct mem_vmo vmos[MEM_MAX_VMOS];
    size_t njobs, nprocs, nvmos;
    bool truncated;                // a table was full: the sums below are incomplete
    zx_info_kmem_stats_t kmem;
    // Over the distinct VMOs: committed, private and scaled (with its fraction) bytes.
    uint64_t vmo_committed, vmo_private;
    struct mem_scaled vmo_scaled;
    zx_info_vmo_t scratch[MEM_MAX_VMOS];  // one process's ZX_INFO_PROCESS_VMOS records
};

// Fills `r` from `job` (ENUMERATE and INSPECT rights needed). Processes that end meanwhile are
// left out. ZX_OK or the first failing call's status.
zx_status_t mem_report_collect(zx_handle_t job, struct mem_report *r);
// Prints the report: jobs and processes in tree order (processes by private + scaled bytes,
// largest first), the VMOs by scaled bytes, largest first, then the totals.
void mem_report_print(const struct mem_report *r);
// Adds `bytes` + `frac` / 2^63 to *s, carrying the fraction.
void mem_scaled_add(struct mem_scaled *s, uint64_t bytes, uint64_t frac);

#endif  // USERBOOT_MEM_REPORT_H
