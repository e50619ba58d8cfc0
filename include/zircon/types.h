// Jasper's public ABI types: a source-compatible subset of Zircon's <zircon/types.h>.
// Shared by the kernel and user programs; every value here is fixed by docs/abi.md.
#ifndef ZIRCON_TYPES_H
#define ZIRCON_TYPES_H

#include <stddef.h>
#include <stdint.h>

#include <zircon/errors.h>

// The headers check record sizes with C11's _Static_assert, which C++ spells static_assert.
#if defined(__cplusplus) && !defined(_Static_assert)
#define _Static_assert static_assert
#endif

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
#define ZX_HANDLE_FIXED_BITS_MASK ((zx_handle_t)0x3)
#define ZX_TIME_INFINITE INT64_MAX
#define ZX_PAGE_SIZE 4096u
#define ZX_MAX_NAME_LEN 32u
#define ZX_KOID_INVALID ((zx_koid_t)0)

// Object types.
#define ZX_OBJ_TYPE_NONE ((zx_obj_type_t)0u)
#define ZX_OBJ_TYPE_PROCESS ((zx_obj_type_t)1u)
#define ZX_OBJ_TYPE_THREAD ((zx_obj_type_t)2u)
#define ZX_OBJ_TYPE_VMO ((zx_obj_type_t)3u)
#define ZX_OBJ_TYPE_CHANNEL ((zx_obj_type_t)4u)
#define ZX_OBJ_TYPE_EVENT ((zx_obj_type_t)5u)
#define ZX_OBJ_TYPE_PORT ((zx_obj_type_t)6u)
#define ZX_OBJ_TYPE_EVENTPAIR ((zx_obj_type_t)16u)
#define ZX_OBJ_TYPE_JOB ((zx_obj_type_t)17u)
#define ZX_OBJ_TYPE_VMAR ((zx_obj_type_t)18u)
#define ZX_OBJ_TYPE_PAGER ((zx_obj_type_t)28u)
#define ZX_OBJ_TYPE_EXCEPTION ((zx_obj_type_t)29u)

// Signals.
#define ZX_SIGNAL_NONE ((zx_signals_t)0u)
#define ZX_VMO_ZERO_CHILDREN ((zx_signals_t)1u << 3)
#define ZX_PROCESS_TERMINATED ((zx_signals_t)1u << 3)
#define ZX_THREAD_TERMINATED ((zx_signals_t)1u << 3)
#define ZX_CHANNEL_READABLE ((zx_signals_t)1u << 0)
#define ZX_CHANNEL_WRITABLE ((zx_signals_t)1u << 1)
#define ZX_CHANNEL_PEER_CLOSED ((zx_signals_t)1u << 2)
#define ZX_TASK_TERMINATED ZX_PROCESS_TERMINATED
#define ZX_EVENT_SIGNALED ((zx_signals_t)1u << 3)
#define ZX_EVENTPAIR_SIGNALED ((zx_signals_t)1u << 3)
#define ZX_EVENTPAIR_PEER_CLOSED ((zx_signals_t)1u << 2)
// User signals: any waitable object carries them (zx_object_signal, docs/abi.md §6).
#define ZX_USER_SIGNAL_0 ((zx_signals_t)1u << 24)
#define ZX_USER_SIGNAL_1 ((zx_signals_t)1u << 25)
#define ZX_USER_SIGNAL_2 ((zx_signals_t)1u << 26)
#define ZX_USER_SIGNAL_3 ((zx_signals_t)1u << 27)
#define ZX_USER_SIGNAL_4 ((zx_signals_t)1u << 28)
#define ZX_USER_SIGNAL_5 ((zx_signals_t)1u << 29)
#define ZX_USER_SIGNAL_6 ((zx_signals_t)1u << 30)
#define ZX_USER_SIGNAL_7 ((zx_signals_t)1u << 31)
#define ZX_USER_SIGNAL_ALL ((zx_signals_t)0xff000000u)

// Asserted in a zx_wait_item_t's `pending` when its handle was closed during zx_object_wait_many.
#define ZX_SIGNAL_HANDLE_CLOSED ((zx_signals_t)1u << 23)

// zx_object_wait_many (docs/abi.md §5): one handle and the signals awaited on it.
typedef struct zx_wait_item {
    zx_handle_t handle;
    zx_signals_t waitfor;
    zx_signals_t pending;  // out: the handle's signals when the call returned
} zx_wait_item_t;
_Static_assert(sizeof(zx_wait_item_t) == 12, "zx_wait_item_t is 12 bytes (docs/abi.md §5)");
#define ZX_WAIT_MANY_MAX_ITEMS ((size_t)64u)

// Futexes (docs/abi.md §7): a 32-bit word of user memory.
typedef int32_t zx_futex_t;

// Return code of a process killed by an unhandled exception.
#define ZX_TASK_RETCODE_EXCEPTION_KILL ((int64_t)-1028)
// Return code of a process ended by zx_task_kill.
#define ZX_TASK_RETCODE_SYSCALL_KILL ((int64_t)-1024)
// Return code of a process in a job killed because memory ran out (ZX_PROP_JOB_KILL_ON_OOM).
#define ZX_TASK_RETCODE_OOM_KILL ((int64_t)-1025)

// zx_vmo_create options.
#define ZX_VMO_RESIZABLE ((uint32_t)1u << 1)
#define ZX_VMO_TRAP_DIRTY ((uint32_t)1u << 3)

// zx_vmo_create_child options.
#define ZX_VMO_CHILD_SNAPSHOT ((uint32_t)1u << 0)
#define ZX_VMO_CHILD_RESIZABLE ((uint32_t)1u << 2)
#define ZX_VMO_CHILD_SLICE ((uint32_t)1u << 3)
#define ZX_VMO_CHILD_SNAPSHOT_AT_LEAST_ON_WRITE ((uint32_t)1u << 4)
#define ZX_VMO_CHILD_COPY_ON_WRITE ZX_VMO_CHILD_SNAPSHOT_AT_LEAST_ON_WRITE
#define ZX_VMO_CHILD_NO_WRITE ((uint32_t)1u << 5)

// zx_vmo_op_range and zx_vmar_op_range operations.
#define ZX_VMO_OP_COMMIT 1u
#define ZX_VMO_OP_DECOMMIT 2u
#define ZX_VMO_OP_LOCK 3u
#define ZX_VMO_OP_UNLOCK 4u
#define ZX_VMO_OP_CACHE_SYNC 6u
#define ZX_VMO_OP_CACHE_INVALIDATE 7u
#define ZX_VMO_OP_CACHE_CLEAN 8u
#define ZX_VMO_OP_CACHE_CLEAN_INVALIDATE 9u
#define ZX_VMO_OP_ZERO 10u
#define ZX_VMO_OP_TRY_LOCK 11u
#define ZX_VMO_OP_DONT_NEED 12u
#define ZX_VMO_OP_ALWAYS_NEED 13u
#define ZX_VMO_OP_PREFETCH 14u
#define ZX_VMAR_OP_COMMIT 1u
#define ZX_VMAR_OP_DECOMMIT 2u
#define ZX_VMAR_OP_MAP_RANGE 3u

// VMAR options (zx_vmar_allocate, zx_vmar_map, zx_vmar_protect).
#define ZX_VM_PERM_READ ((zx_vm_option_t)1u << 0)
#define ZX_VM_PERM_WRITE ((zx_vm_option_t)1u << 1)
#define ZX_VM_PERM_EXECUTE ((zx_vm_option_t)1u << 2)
#define ZX_VM_COMPACT ((zx_vm_option_t)1u << 3)
#define ZX_VM_SPECIFIC ((zx_vm_option_t)1u << 4)
#define ZX_VM_SPECIFIC_OVERWRITE ((zx_vm_option_t)1u << 5)
#define ZX_VM_CAN_MAP_SPECIFIC ((zx_vm_option_t)1u << 6)
#define ZX_VM_CAN_MAP_READ ((zx_vm_option_t)1u << 7)
#define ZX_VM_CAN_MAP_WRITE ((zx_vm_option_t)1u << 8)
#define ZX_VM_CAN_MAP_EXECUTE ((zx_vm_option_t)1u << 9)
#define ZX_VM_MAP_RANGE ((zx_vm_option_t)1u << 10)
#define ZX_VM_REQUIRE_NON_RESIZABLE ((zx_vm_option_t)1u << 11)
#define ZX_VM_ALLOW_FAULTS ((zx_vm_option_t)1u << 12)
#define ZX_VM_OFFSET_IS_UPPER_LIMIT ((zx_vm_option_t)1u << 13)
#define ZX_VM_ALIGN_BASE 24
#define ZX_VM_ALIGN_1KB ((zx_vm_option_t)10u << ZX_VM_ALIGN_BASE)
#define ZX_VM_ALIGN_4KB ((zx_vm_option_t)12u << ZX_VM_ALIGN_BASE)
#define ZX_VM_ALIGN_64KB ((zx_vm_option_t)16u << ZX_VM_ALIGN_BASE)
#define ZX_VM_ALIGN_1MB ((zx_vm_option_t)20u << ZX_VM_ALIGN_BASE)
#define ZX_VM_ALIGN_2MB ((zx_vm_option_t)21u << ZX_VM_ALIGN_BASE)
#define ZX_VM_ALIGN_1GB ((zx_vm_option_t)30u << ZX_VM_ALIGN_BASE)
#define ZX_VM_ALIGN_4GB ((zx_vm_option_t)32u << ZX_VM_ALIGN_BASE)

// User pager (docs/abi.md §9): page-request commands, pager ops, dirty ranges, statistics.
#define ZX_PAGER_VMO_READ ((uint16_t)0u)
#define ZX_PAGER_VMO_COMPLETE ((uint16_t)1u)
#define ZX_PAGER_VMO_DIRTY ((uint16_t)2u)
#define ZX_PAGER_OP_FAIL 1u
#define ZX_PAGER_OP_DIRTY 2u
#define ZX_PAGER_OP_WRITEBACK_BEGIN 3u
#define ZX_PAGER_OP_WRITEBACK_END 4u
#define ZX_VMO_DIRTY_RANGE_IS_ZERO ((uint64_t)1u)
#define ZX_PAGER_RESET_VMO_STATS ((uint32_t)1u)
#define ZX_PAGER_VMO_STATS_MODIFIED ((uint32_t)1u)

typedef struct zx_vmo_dirty_range {
    uint64_t offset;
    uint64_t length;
    uint64_t options;
} zx_vmo_dirty_range_t;

typedef struct zx_pager_vmo_stats {
    uint32_t modified;
} zx_pager_vmo_stats_t;

// Properties.
#define ZX_PROP_NAME 3u
#define ZX_PROP_JOB_KILL_ON_OOM 15u
#define ZX_PROP_VMO_CONTENT_SIZE 17u

#endif  // ZIRCON_TYPES_H
