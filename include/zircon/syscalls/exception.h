// Exceptions: a source-compatible subset of Zircon's <zircon/syscalls/exception.h> (docs/abi.md
// §8): exception types, the record an exception channel's message carries, the exception report
// (ZX_INFO_THREAD_EXCEPTION_REPORT) and the values of ZX_PROP_EXCEPTION_STATE.
#ifndef ZIRCON_SYSCALLS_EXCEPTION_H
#define ZIRCON_SYSCALLS_EXCEPTION_H

#include <zircon/types.h>

typedef uint32_t zx_excp_type_t;

// Architectural exceptions (bit 3 set: "synthetic or architectural fault").
#define ZX_EXCP_GENERAL ((zx_excp_type_t)0x008u)                // #GP, #DE, #AC, FPU, others
#define ZX_EXCP_FATAL_PAGE_FAULT ((zx_excp_type_t)0x108u)
#define ZX_EXCP_UNDEFINED_INSTRUCTION ((zx_excp_type_t)0x208u)
#define ZX_EXCP_SW_BREAKPOINT ((zx_excp_type_t)0x308u)          // int3
#define ZX_EXCP_HW_BREAKPOINT ((zx_excp_type_t)0x408u)          // #DB (single step)

// zx_task_create_exception_channel's option.
#define ZX_EXCEPTION_CHANNEL_DEBUGGER ((uint32_t)1u)

// Which channel a thread waits on (zx_info_thread_t.wait_exception_channel_type).
#define ZX_EXCEPTION_CHANNEL_TYPE_NONE ((uint32_t)0u)
#define ZX_EXCEPTION_CHANNEL_TYPE_DEBUGGER ((uint32_t)1u)
#define ZX_EXCEPTION_CHANNEL_TYPE_THREAD ((uint32_t)2u)
#define ZX_EXCEPTION_CHANNEL_TYPE_PROCESS ((uint32_t)3u)
#define ZX_EXCEPTION_CHANNEL_TYPE_JOB ((uint32_t)4u)
#define ZX_EXCEPTION_CHANNEL_TYPE_JOB_DEBUGGER ((uint32_t)5u)

// ZX_PROP_EXCEPTION_STATE (a uint32_t on an exception handle): what closing it does.
#define ZX_PROP_EXCEPTION_STATE 16u
#define ZX_EXCEPTION_STATE_TRY_NEXT ((uint32_t)0u)     // the next handler (initial value)
#define ZX_EXCEPTION_STATE_HANDLED ((uint32_t)1u)      // resume with the registers as now set
#define ZX_EXCEPTION_STATE_THREAD_EXIT ((uint32_t)2u)  // the thread ends

// The bytes of an exception channel's message (its one handle is the exception).
typedef struct zx_exception_info {
    zx_koid_t pid;
    zx_koid_t tid;
    zx_excp_type_t type;
    uint8_t padding1[4];
} zx_exception_info_t;

typedef struct zx_x86_64_exc_data {
    uint64_t vector;
    uint64_t err_code;
    uint64_t cr2;
} zx_x86_64_exc_data_t;

typedef struct zx_exception_header {
    uint32_t size;  // sizeof(zx_exception_report_t)
    zx_excp_type_t type;
} zx_exception_header_t;

typedef struct zx_exception_context {
    union {
        zx_x86_64_exc_data_t x86_64;
        uint8_t padding[24];
    } arch;
    uint32_t synth_code;  // fatal page faults: why the VM did not resolve it (a zx_status_t)
    uint32_t synth_data;
} zx_exception_context_t;

typedef struct zx_exception_report {
    zx_exception_header_t header;
    zx_exception_context_t context;
} zx_exception_report_t;

_Static_assert(sizeof(zx_exception_info_t) == 24, "docs/abi.md §8");
_Static_assert(sizeof(zx_exception_report_t) == 40, "docs/abi.md §8");

#endif  // ZIRCON_SYSCALLS_EXCEPTION_H
