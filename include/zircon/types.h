// Jasper's public ABI types: a source-compatible subset of Zircon's <zircon/types.h>.
// Shared by the kernel and user programs; every value here is fixed by shared/abi.md.
#ifndef ZIRCON_TYPES_H
#define ZIRCON_TYPES_H

#include <stddef.h>
#include <stdint.h>

#include <zircon/errors.h>

typedef int32_t zx_status_t;
typedef uint32_t zx_handle_t;
typedef uint32_t zx_rights_t;
typedef uint32_t zx_vm_option_t;
typedef uint32_t zx_signals_t;
typedef uint32_t zx_obj_type_t;
typedef uint64_t zx_koid_t;
typedef uint64_t zx_off_t;
typedef uintptr_t zx_vaddr_t;
typedef uintptr_t zx_paddr_t;
typedef int64_t zx_time_t;
typedef int64_t zx_duration_t;
typedef int64_t zx_ticks_t;

#define ZX_HANDLE_INVALID ((zx_handle_t)0)
#define ZX_TIME_INFINITE INT64_MAX
#define ZX_PAGE_SIZE 4096u
#define ZX_MAX_NAME_LEN 32u
#define ZX_KOID_INVALID ((zx_koid_t)0)

#endif  // ZIRCON_TYPES_H
