// Information topics for zx_object_get_info: a source-compatible subset of Zircon's
// <zircon/syscalls/object.h>. Layouts are fixed by docs/abi.md §3 (sizes asserted below).
#ifndef ZIRCON_SYSCALLS_OBJECT_H
#define ZIRCON_SYSCALLS_OBJECT_H

#include <stdbool.h>
#include <zircon/types.h>

typedef uint32_t zx_object_info_topic_t;

#define ZX_INFO_NONE ((zx_object_info_topic_t)0u)
#define ZX_INFO_HANDLE_VALID ((zx_object_info_topic_t)1u)
#define ZX_INFO_HANDLE_BASIC ((zx_object_info_topic_t)2u)
#define ZX_INFO_PROCESS ((zx_object_info_topic_t)0x10000003u)
#define ZX_INFO_VMAR ((zx_object_info_topic_t)7u)
#define ZX_INFO_PROCESS_MAPS ((zx_object_info_topic_t)13u)
#define ZX_INFO_KMEM_STATS ((zx_object_info_topic_t)17u)
#define ZX_INFO_KMEM_STATS_EXTENDED ((zx_object_info_topic_t)31u)
#define ZX_INFO_KMEM_STATS_COMPRESSION ((zx_object_info_topic_t)33u)
#define ZX_INFO_VMO ((zx_object_info_topic_t)0x30000017u)
#define ZX_INFO_PROCESS_THREADS ((zx_object_info_topic_t)4u)
#define ZX_INFO_JOB_CHILDREN ((zx_object_info_topic_t)8u)
#define ZX_INFO_JOB_PROCESSES ((zx_object_info_topic_t)9u)
#define ZX_INFO_THREAD ((zx_object_info_topic_t)10u)
#define ZX_INFO_HANDLE_COUNT ((zx_object_info_topic_t)19u)
#define ZX_INFO_JOB ((zx_object_info_topic_t)24u)
#define ZX_INFO_THREAD_EXCEPTION_REPORT ((zx_object_info_topic_t)0x1000000Bu)  // zx_exception_report_t
#define ZX_INFO_PROCESS_VMOS ((zx_object_info_topic_t)0x3000000Eu)
#define ZX_INFO_TASK_STATS ((zx_object_info_topic_t)0x1000000Cu)

typedef struct zx_info_handle_basic {
    zx_koid_t koid;
    zx_rights_t rights;
    zx_obj_type_t type;
    zx_koid_t related_koid;
    uint32_t reserved;
    uint8_t padding1[4];
} zx_info_handle_basic_t;

#define ZX_INFO_PROCESS_FLAG_STARTED ((uint32_t)1u << 0)
#define ZX_INFO_PROCESS_FLAG_EXITED ((uint32_t)1u << 1)

typedef struct zx_info_process {
    int64_t return_code;
    zx_time_t start_time;
    uint32_t flags;
    uint8_t padding1[4];
} zx_info_process_t;

// ZX_INFO_THREAD: the thread's state (ZX_THREAD_STATE_*) and where it may run.
#define ZX_THREAD_STATE_NEW ((uint32_t)0x0000u)
#define ZX_THREAD_STATE_RUNNING ((uint32_t)0x0001u)
#define ZX_THREAD_STATE_SUSPENDED ((uint32_t)0x0002u)
#define ZX_THREAD_STATE_BLOCKED ((uint32_t)0x0003u)
#define ZX_THREAD_STATE_DYING ((uint32_t)0x0004u)
#define ZX_THREAD_STATE_DEAD ((uint32_t)0x0005u)
#define ZX_THREAD_STATE_BLOCKED_EXCEPTION ((uint32_t)0x0103u)
#define ZX_THREAD_STATE_BLOCKED_SLEEPING ((uint32_t)0x0203u)
#define ZX_THREAD_STATE_BLOCKED_FUTEX ((uint32_t)0x0303u)
#define ZX_THREAD_STATE_BLOCKED_PORT ((uint32_t)0x0403u)
#define ZX_THREAD_STATE_BLOCKED_CHANNEL ((uint32_t)0x0503u)
#define ZX_THREAD_STATE_BLOCKED_WAIT_ONE ((uint32_t)0x0603u)
#define ZX_THREAD_STATE_BLOCKED_WAIT_MANY ((uint32_t)0x0703u)
#define ZX_THREAD_STATE_BLOCKED_INTERRUPT ((uint32_t)0x0803u)
#define ZX_THREAD_STATE_BLOCKED_PAGER ((uint32_t)0x0903u)
#define ZX_THREAD_STATE_BASIC(n) ((n) & 0xffu)

#define ZX_CPU_SET_MAX_CPUS 512
#define ZX_CPU_SET_BITS_PER_WORD 64

typedef struct zx_cpu_set {
    uint64_t mask[ZX_CPU_SET_MAX_CPUS / ZX_CPU_SET_BITS_PER_WORD];
} zx_cpu_set_t;

typedef struct zx_info_thread {
    uint32_t state;
    uint32_t wait_exception_channel_type;  // ZX_EXCEPTION_CHANNEL_TYPE_*, 0 (none) if not waiting
    zx_cpu_set_t cpu_affinity_mask;
} zx_info_thread_t;

typedef struct zx_info_handle_count {
    uint32_t handle_count;
} zx_info_handle_count_t;

typedef struct zx_info_job {
    int64_t return_code;
    bool exited;
    bool kill_on_oom;
    bool debugger_attached;
    uint8_t padding1[5];
} zx_info_job_t;

// ZX_INFO_TASK_STATS: a process's memory over its mappings (docs/abi.md §10).
typedef struct zx_info_task_stats {
    size_t mem_mapped_bytes;
    size_t mem_private_bytes;
    size_t mem_shared_bytes;
    size_t mem_scaled_shared_bytes;
    uint64_t mem_fractional_scaled_shared_bytes;  // 2^63 is one byte
} zx_info_task_stats_t;

typedef struct zx_info_vmar {
    uintptr_t base;
    size_t len;
} zx_info_vmar_t;

typedef uint32_t zx_info_maps_type_t;
#define ZX_INFO_MAPS_TYPE_NONE ((zx_info_maps_type_t)0u)
#define ZX_INFO_MAPS_TYPE_ASPACE ((zx_info_maps_type_t)1u)
#define ZX_INFO_MAPS_TYPE_VMAR ((zx_info_maps_type_t)2u)
#define ZX_INFO_MAPS_TYPE_MAPPING ((zx_info_maps_type_t)3u)

typedef struct zx_info_maps_mapping {
    zx_vm_option_t mmu_flags;  // ZX_VM_PERM_* of the mapping
    uint8_t padding1[4];
    zx_koid_t vmo_koid;
    uint64_t vmo_offset;
    size_t committed_pages;
} zx_info_maps_mapping_t;

typedef struct zx_info_maps {
    char name[ZX_MAX_NAME_LEN];
    zx_vaddr_t base;
    size_t size;
    size_t depth;  // 0 for the address space, 1 for the root VMAR, ...
    zx_info_maps_type_t type;
    uint8_t padding1[4];
    union {
        zx_info_maps_mapping_t mapping;
    } u;
} zx_info_maps_t;

#define ZX_INFO_VMO_TYPE_PAGED ((uint32_t)1u << 0)
#define ZX_INFO_VMO_RESIZABLE ((uint32_t)1u << 1)
#define ZX_INFO_VMO_IS_COW_CLONE ((uint32_t)1u << 2)
#define ZX_INFO_VMO_VIA_HANDLE ((uint32_t)1u << 3)
#define ZX_INFO_VMO_VIA_MAPPING ((uint32_t)1u << 4)
#define ZX_INFO_VMO_PAGER_BACKED ((uint32_t)1u << 5)

#define ZX_CACHE_POLICY_CACHED 0u

typedef struct zx_info_vmo {
    zx_koid_t koid;
    char name[ZX_MAX_NAME_LEN];
    uint64_t size_bytes;
    zx_koid_t parent_koid;
    size_t num_children;
    size_t num_mappings;
    size_t share_count;
    uint32_t flags;
    uint8_t padding1[4];
    uint64_t committed_bytes;          // every page the VMO can reach (RSS)
    zx_rights_t handle_rights;
    uint32_t cache_policy;
    uint64_t metadata_bytes;
    uint64_t committed_change_events;
    uint64_t populated_bytes;          // committed plus compressed (reference) pages
    uint64_t committed_private_bytes;  // pages no other VMO can reach (USS)
    uint64_t populated_private_bytes;
    uint64_t committed_scaled_bytes;   // each page divided by its sharers (PSS)
    uint64_t populated_scaled_bytes;
    uint64_t committed_fractional_scaled_bytes;  // fixed point, 0x8000000000000000 = one byte
    uint64_t populated_fractional_scaled_bytes;
} zx_info_vmo_t;

typedef struct zx_info_kmem_stats {
    uint64_t total_bytes;
    uint64_t free_bytes;
    uint64_t wired_bytes;
    uint64_t total_heap_bytes;
    uint64_t free_heap_bytes;
    uint64_t vmo_bytes;
    uint64_t mmu_overhead_bytes;
    uint64_t ipc_bytes;
    uint64_t other_bytes;
} zx_info_kmem_stats_t;

_Static_assert(sizeof(zx_info_handle_basic_t) == 32, "zx_info_handle_basic_t is 32 bytes");
_Static_assert(sizeof(zx_info_process_t) == 24, "zx_info_process_t is 24 bytes");
_Static_assert(sizeof(zx_info_vmar_t) == 16, "zx_info_vmar_t is 16 bytes");
_Static_assert(sizeof(zx_info_maps_t) == 96, "zx_info_maps_t is 96 bytes");
_Static_assert(sizeof(zx_info_vmo_t) == 176, "zx_info_vmo_t is 176 bytes");
_Static_assert(sizeof(zx_info_kmem_stats_t) == 72, "zx_info_kmem_stats_t is 72 bytes");

typedef struct zx_info_kmem_stats_extended {
    uint64_t total_bytes;
    uint64_t free_bytes;
    uint64_t wired_bytes;
    uint64_t total_heap_bytes;
    uint64_t free_heap_bytes;
    uint64_t vmo_bytes;
    uint64_t vmo_pager_total_bytes;
    uint64_t vmo_pager_newest_bytes;
    uint64_t vmo_pager_oldest_bytes;
    uint64_t vmo_discardable_locked_bytes;
    uint64_t vmo_discardable_unlocked_bytes;
    uint64_t mmu_overhead_bytes;
    uint64_t ipc_bytes;
    uint64_t other_bytes;
    uint64_t vmo_reclaim_disabled_bytes;
} zx_info_kmem_stats_extended_t;
_Static_assert(sizeof(zx_info_kmem_stats_extended_t) == 120, "zx_info_kmem_stats_extended_t");

// Compressed memory (ZX_INFO_KMEM_STATS_COMPRESSION): bucket i of the histogram counts the
// decompressions that took less than pages_decompressed_unit_ns x 2^i (the last: all slower).
typedef struct zx_info_kmem_stats_compression {
    uint64_t uncompressed_storage_bytes;
    uint64_t compressed_storage_bytes;
    uint64_t compressed_fragmentation_bytes;
    int64_t compression_time;
    int64_t decompression_time;
    uint64_t total_page_compression_attempts;
    uint64_t failed_page_compression_attempts;
    uint64_t total_page_decompressions;
    uint64_t compressed_page_evictions;
    uint64_t eager_page_compressions;
    uint64_t memory_pressure_page_compressions;
    uint64_t critical_memory_page_compressions;
    uint64_t pages_decompressed_unit_ns;
    uint64_t pages_decompressed_within_log_time[8];
} zx_info_kmem_stats_compression_t;
_Static_assert(sizeof(zx_info_kmem_stats_compression_t) == 168,
               "zx_info_kmem_stats_compression_t is 168 bytes");
_Static_assert(sizeof(zx_info_thread_t) == 72, "zx_info_thread_t is 72 bytes");
_Static_assert(sizeof(zx_info_handle_count_t) == 4, "zx_info_handle_count_t is 4 bytes");
_Static_assert(sizeof(zx_info_job_t) == 16, "zx_info_job_t is 16 bytes");
_Static_assert(sizeof(zx_info_task_stats_t) == 40, "zx_info_task_stats_t is 40 bytes");

#endif  // ZIRCON_SYSCALLS_OBJECT_H
