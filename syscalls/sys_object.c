// Object calls: object_get_info, object_get_property, object_set_property, object_wait_one.
// object_get_info is one table of topics (topic -> handle type, rights, record size, handler); a
// new topic is a handler and a row.
#include <zircon/syscalls.h>

#include "kernel/assert.h"
#include "kernel/channel.h"
#include "kernel/event.h"
#include "kernel/heap.h"
#include "kernel/process.h"
#include "kernel/string.h"
#include "syscall_decls.h"
#include "syscalls/info.h"
#include "syscalls/sys_exception.h"
#include "syscalls/sys_util.h"
#include "vm/aspace.h"
#include "vm/compressor.h"
#include "vm/vmar.h"
#include "vm/page_queues.h"
#include "vm/pmm.h"
#include "vm/vmo.h"

// --- object_get_info: a table of topics ---

struct info_topic {
    uint32_t topic;
    zx_obj_type_t type;    // the handle's type; ZX_OBJ_TYPE_NONE: any
    zx_rights_t rights;    // rights the handle must have
    size_t record_size;    // bytes of one record; 0: no record (the call only checks the handle)
    bool list;             // up to buffer_size / record_size records, never BUFFER_TOO_SMALL
    info_fill_fn fill;
};

// The record of every single-record topic: the call fills one on its stack.
union info_record {
    zx_info_handle_basic_t handle_basic;
    zx_info_process_t process;
    zx_info_vmar_t vmar;
    zx_info_vmo_t vmo;
    zx_info_kmem_stats_t kmem_stats;
    zx_info_thread_t thread;
    zx_info_handle_count_t handle_count;
    zx_info_job_t job;
    zx_info_task_stats_t task_stats;
    zx_exception_report_t exception_report;
};

static zx_koid_t related_koid(struct kobject *obj) {
    switch (obj->type) {
    case ZX_OBJ_TYPE_CHANNEL:
        return channel_peer_koid(channel_from_object(obj));
    case ZX_OBJ_TYPE_EVENTPAIR:
        return eventpair_peer_koid(obj);
    case ZX_OBJ_TYPE_THREAD:
        return uthread_from_object(obj)->proc->obj.koid;
    case ZX_OBJ_TYPE_PROCESS:
        return process_from_object(obj)->job->obj.koid;
    default:
        return 0;
    }
}

static zx_status_t info_handle_basic(struct kobject *obj, zx_rights_t rights,
                                     struct info_out *out) {
    *(zx_info_handle_basic_t *)out->records = (zx_info_handle_basic_t){
        .koid = obj->koid, .rights = rights, .type = obj->type, .related_koid = related_koid(obj),
    };
    return ZX_OK;
}

static zx_status_t info_process(struct kobject *obj, zx_rights_t rights, struct info_out *out) {
    struct process *p = process_from_object(obj);
    mutex_acquire(&p->lock);
    *(zx_info_process_t *)out->records = (zx_info_process_t){
        .return_code = p->return_code, .start_time = p->start_time, .flags = p->info_flags,
    };
    mutex_release(&p->lock);
    return ZX_OK;
}

static zx_status_t info_vmar(struct kobject *obj, zx_rights_t rights, struct info_out *out) {
    return vmar_get_info(vmar_from_object(obj), out->records);
}

static zx_status_t info_vmo(struct kobject *obj, zx_rights_t rights, struct info_out *out) {
    zx_info_vmo_t *info = out->records;
    vmo_get_info(vmo_from_object(obj), info);
    info->handle_rights = rights;
    info->flags |= ZX_INFO_VMO_VIA_HANDLE;
    return ZX_OK;
}

static zx_status_t info_kmem_stats(struct kobject *obj, zx_rights_t rights, struct info_out *out) {
    struct heap_stats hs;
    heap_get_stats(&hs);
    *(zx_info_kmem_stats_t *)out->records = (zx_info_kmem_stats_t){
        .total_bytes = pmm_managed_bytes(),
        .free_bytes = pmm_count(PAGE_STATE_FREE) * PAGE_SIZE,
        .wired_bytes = pmm_count(PAGE_STATE_WIRED) * PAGE_SIZE,
        .total_heap_bytes = hs.pages * PAGE_SIZE,
        .free_heap_bytes = hs.pages * PAGE_SIZE - hs.bytes_used,
        .vmo_bytes = vmo_total_bytes(),
        .mmu_overhead_bytes = pmm_count(PAGE_STATE_PAGE_TABLE) * PAGE_SIZE,
        .ipc_bytes = 0,
        .other_bytes = (pmm_count(PAGE_STATE_ZERO) + pmm_count(PAGE_STATE_COMPRESSED)) * PAGE_SIZE,
    };
    return ZX_OK;
}

// §10: the shared fields as KMEM_STATS; the pager and reclaim figures from the page queues.
static zx_status_t info_kmem_stats_extended(struct kobject *obj, zx_rights_t rights,
                                            struct info_out *out) {
    zx_info_kmem_stats_t base;
    struct info_out bout = {.records = &base, .max = 1};
    (void)info_kmem_stats(obj, rights, &bout);
    struct pq_counts q;
    pq_get_counts(&q);
    *(zx_info_kmem_stats_extended_t *)out->records = (zx_info_kmem_stats_extended_t){
        .total_bytes = base.total_bytes,
        .free_bytes = base.free_bytes,
        .wired_bytes = base.wired_bytes,
        .total_heap_bytes = base.total_heap_bytes,
        .free_heap_bytes = base.free_heap_bytes,
        .vmo_bytes = base.vmo_bytes,
        .vmo_pager_total_bytes = (uint64_t)q.pager_total * PAGE_SIZE,
        .vmo_pager_newest_bytes = (uint64_t)q.pager_newest * PAGE_SIZE,
        .vmo_pager_oldest_bytes = (uint64_t)q.pager_oldest * PAGE_SIZE,
        .mmu_overhead_bytes = base.mmu_overhead_bytes,
        .ipc_bytes = base.ipc_bytes,
        .other_bytes = base.other_bytes,
        .vmo_reclaim_disabled_bytes = (uint64_t)q.pages[PQ_UNRECLAIMABLE] * PAGE_SIZE,
    };
    return ZX_OK;
}

static zx_status_t info_process_maps(struct kobject *obj, zx_rights_t rights,
                                     struct info_out *out) {
    struct process *p = process_from_object(obj);
    zx_status_t st = ZX_OK;
    mutex_acquire(&p->lock);
    if (p->aspace)
        vm_aspace_get_maps(p->aspace, out->records, out->max, &out->actual, &out->avail);
    else
        st = ZX_ERR_BAD_STATE;  // the process has ended
    mutex_release(&p->lock);
    return st;
}

static zx_status_t info_kmem_stats_compression(struct kobject *obj, zx_rights_t rights,
                                               struct info_out *out) {
    // vm/compressor.h keeps its counters in this record's layout (asserted there and here).
    _Static_assert(sizeof(struct compressor_stats) == sizeof(zx_info_kmem_stats_compression_t),
                   "compressor_stats is the record");
    _Static_assert(offsetof(struct compressor_stats, pages_decompressed_within_log_time) ==
                       offsetof(zx_info_kmem_stats_compression_t,
                                pages_decompressed_within_log_time),
                   "compressor_stats is the record");
    struct compressor_stats st;
    compressor_stats(&st);
    memcpy(out->records, &st, sizeof(st));
    return ZX_OK;
}

static zx_status_t info_none(struct kobject *obj, zx_rights_t rights, struct info_out *out) {
    return ZX_OK;
}

static zx_status_t info_not_supported(struct kobject *obj, zx_rights_t rights,
                                      struct info_out *out) {
    return ZX_ERR_NOT_SUPPORTED;
}

static const struct info_topic info_topics[] = {
    {ZX_INFO_HANDLE_VALID, ZX_OBJ_TYPE_NONE, 0, 0, false, info_none},
    {ZX_INFO_HANDLE_BASIC, ZX_OBJ_TYPE_NONE, 0, sizeof(zx_info_handle_basic_t), false,
     info_handle_basic},
    {ZX_INFO_PROCESS, ZX_OBJ_TYPE_PROCESS, ZX_RIGHT_INSPECT, sizeof(zx_info_process_t), false,
     info_process},
    {ZX_INFO_VMAR, ZX_OBJ_TYPE_VMAR, ZX_RIGHT_INSPECT, sizeof(zx_info_vmar_t), false, info_vmar},
    {ZX_INFO_VMO, ZX_OBJ_TYPE_VMO, ZX_RIGHT_INSPECT, sizeof(zx_info_vmo_t), false, info_vmo},
    {ZX_INFO_KMEM_STATS, ZX_OBJ_TYPE_JOB, ZX_RIGHT_INSPECT, sizeof(zx_info_kmem_stats_t), false,
     info_kmem_stats},
    {ZX_INFO_KMEM_STATS_EXTENDED, ZX_OBJ_TYPE_JOB, ZX_RIGHT_INSPECT,
     sizeof(zx_info_kmem_stats_extended_t), false, info_kmem_stats_extended},
    {ZX_INFO_KMEM_STATS_COMPRESSION, ZX_OBJ_TYPE_JOB, ZX_RIGHT_INSPECT,
     sizeof(zx_info_kmem_stats_compression_t), false, info_kmem_stats_compression},
    {ZX_INFO_PROCESS_MAPS, ZX_OBJ_TYPE_PROCESS, ZX_RIGHT_INSPECT, sizeof(zx_info_maps_t), true,
     info_process_maps},
    {ZX_INFO_PROCESS_THREADS, ZX_OBJ_TYPE_PROCESS, ZX_RIGHT_ENUMERATE, sizeof(zx_koid_t), true,
     info_process_threads},
    {ZX_INFO_JOB_CHILDREN, ZX_OBJ_TYPE_JOB, ZX_RIGHT_ENUMERATE, sizeof(zx_koid_t), true,
     info_job_children},
    {ZX_INFO_JOB_PROCESSES, ZX_OBJ_TYPE_JOB, ZX_RIGHT_ENUMERATE, sizeof(zx_koid_t), true,
     info_job_processes},
    {ZX_INFO_THREAD, ZX_OBJ_TYPE_THREAD, ZX_RIGHT_INSPECT, sizeof(zx_info_thread_t), false,
     info_thread},
    {ZX_INFO_HANDLE_COUNT, ZX_OBJ_TYPE_NONE, ZX_RIGHT_INSPECT, sizeof(zx_info_handle_count_t),
     false, info_handle_count},
    {ZX_INFO_JOB, ZX_OBJ_TYPE_JOB, ZX_RIGHT_INSPECT, sizeof(zx_info_job_t), false, info_job},
    {ZX_INFO_THREAD_EXCEPTION_REPORT, ZX_OBJ_TYPE_THREAD, ZX_RIGHT_INSPECT,
     sizeof(zx_exception_report_t), false, info_thread_exception_report},
    {ZX_INFO_PROCESS_VMOS, ZX_OBJ_TYPE_PROCESS, ZX_RIGHT_INSPECT, sizeof(zx_info_vmo_t), true,
     info_process_vmos},
    {ZX_INFO_TASK_STATS, ZX_OBJ_TYPE_PROCESS, ZX_RIGHT_INSPECT, sizeof(zx_info_task_stats_t),
     false, info_task_stats},
};

// An unknown topic still needs a valid handle first (docs/abi.md §3).
static const struct info_topic info_unknown = {0, ZX_OBJ_TYPE_NONE, 0, 0, false,
                                               info_not_supported};

static const struct info_topic *info_topic_find(uint32_t topic) {
    for (size_t i = 0; i < countof(info_topics); i++) {
        if (info_topics[i].topic == topic)
            return &info_topics[i];
    }
    return &info_unknown;
}

// Copies the records that fit in the caller's buffer and the counts: a single record that does
// not fit is BUFFER_TOO_SMALL (actual 0, avail 1); a list gives what fit.
static zx_status_t info_copy_out(const struct info_topic *t, const struct info_out *out,
                                 user_addr_t buffer, size_t buffer_size, user_addr_t actual,
                                 user_addr_t avail) {
    size_t n = t->list || buffer_size >= t->record_size ? out->actual : 0;
    zx_status_t st = n ? copy_to_user(buffer, out->records, n * t->record_size) : ZX_OK;
    if (st == ZX_OK && actual)
        st = copy_to_user(actual, &n, sizeof(n));
    if (st == ZX_OK && avail)
        st = copy_to_user(avail, &out->avail, sizeof(out->avail));
    if (st == ZX_OK && n < out->actual)
        st = ZX_ERR_BUFFER_TOO_SMALL;
    return st;
}

int64_t sys_object_get_info(zx_handle_t handle, uint32_t topic, user_addr_t buffer,
                            size_t buffer_size, user_addr_t actual, user_addr_t avail) {
    if ((actual && !user_range_ok(actual, sizeof(size_t))) ||
        (avail && !user_range_ok(avail, sizeof(size_t))))
        return ZX_ERR_INVALID_ARGS;
    if (buffer_size && (buffer == 0 || !user_range_ok(buffer, buffer_size)))
        return ZX_ERR_INVALID_ARGS;
    const struct info_topic *t = info_topic_find(topic);
    struct kobject *obj;
    zx_rights_t rights;
    zx_status_t st = sys_get_object(handle, t->type, t->rights, &obj, &rights);
    if (st != ZX_OK)
        return st;
    // Records go to kernel memory first, and to the caller once the object is released.
    union info_record one;
    struct info_out out = {.records = &one, .max = 1, .actual = 1, .avail = 1};
    ASSERT_MSG(t->list || t->record_size <= sizeof(one), "topic %#x: record of %zu bytes", topic,
               t->record_size);
    if (t->list) {
        out = (struct info_out){.max = buffer_size / t->record_size};
        if (out.max && !(out.records = kmalloc(out.max * t->record_size)))
            st = ZX_ERR_NO_MEMORY;
    }
    if (st == ZX_OK)
        st = t->fill(obj, rights, &out);
    kobject_release(obj);
    if (st == ZX_OK && t->record_size)
        st = info_copy_out(t, &out, buffer, buffer_size, actual, avail);
    if (t->list)
        kfree(out.records);
    return st;
}

// The name buffer of a task object (process, thread, job), or NULL for other objects.
static char *task_name(struct kobject *obj) {
    switch (obj->type) {
    case ZX_OBJ_TYPE_PROCESS:
        return process_from_object(obj)->name;
    case ZX_OBJ_TYPE_THREAD:
        return uthread_from_object(obj)->name;
    case ZX_OBJ_TYPE_JOB:
        return job_from_object(obj)->name;
    default:
        return NULL;
    }
}

// The name of objects that have one; false for the others.
static bool get_name(struct kobject *obj, char out[ZX_MAX_NAME_LEN]) {
    if (obj->type == ZX_OBJ_TYPE_VMO) {
        vmo_get_name(vmo_from_object(obj), out);
        return true;
    }
    const char *name = task_name(obj);
    if (name)
        memcpy(out, name, ZX_MAX_NAME_LEN);
    return name != NULL;
}

static bool set_name(struct kobject *obj, const char *name, size_t len) {
    if (obj->type == ZX_OBJ_TYPE_VMO) {
        vmo_set_name(vmo_from_object(obj), name, len);
        return true;
    }
    char *dst = task_name(obj);
    if (dst) {
        memset(dst, 0, ZX_MAX_NAME_LEN);
        memcpy(dst, name, len);
    }
    return dst != NULL;
}

// The VMO whose content size a property call of `value_size` bytes reads or writes: WRONG_TYPE,
// BUFFER_TOO_SMALL.
static zx_status_t content_size_vmo(struct kobject *obj, size_t value_size, struct vmo **out) {
    if (obj->type != ZX_OBJ_TYPE_VMO)
        return ZX_ERR_WRONG_TYPE;
    if (value_size < sizeof(uint64_t))
        return ZX_ERR_BUFFER_TOO_SMALL;
    *out = vmo_from_object(obj);
    return ZX_OK;
}

int64_t sys_object_get_property(zx_handle_t handle, uint32_t property, user_addr_t value,
                                size_t value_size) {
    struct kobject *obj;
    zx_status_t st = sys_get_object(handle, ZX_OBJ_TYPE_NONE, ZX_RIGHT_GET_PROPERTY, &obj, NULL);
    if (st != ZX_OK)
        return st;
    switch (property) {
    case ZX_PROP_NAME: {
        char name[ZX_MAX_NAME_LEN];
        if (value_size < ZX_MAX_NAME_LEN)
            st = ZX_ERR_BUFFER_TOO_SMALL;
        else if (!get_name(obj, name))
            st = ZX_ERR_WRONG_TYPE;
        else
            st = copy_to_user(value, name, ZX_MAX_NAME_LEN);
        break;
    }
    case ZX_PROP_VMO_CONTENT_SIZE: {
        struct vmo *vmo;
        st = content_size_vmo(obj, value_size, &vmo);
        if (st == ZX_OK) {
            uint64_t size = vmo_get_content_size(vmo);
            st = copy_to_user(value, &size, sizeof(size));
        }
        break;
    }
    case ZX_PROP_JOB_KILL_ON_OOM:
        st = obj->type == ZX_OBJ_TYPE_JOB ? ZX_ERR_NOT_SUPPORTED : ZX_ERR_WRONG_TYPE;  // set only
        break;
    case ZX_PROP_EXCEPTION_STATE:
        st = sys_exception_get_property(obj, value, value_size);
        break;
    default:
        st = ZX_ERR_INVALID_ARGS;
        break;
    }
    kobject_release(obj);
    return st;
}

// ZX_PROP_JOB_KILL_ON_OOM: a size_t, 0 or 1.
static zx_status_t set_kill_on_oom(struct kobject *obj, user_addr_t value, size_t value_size) {
    if (obj->type != ZX_OBJ_TYPE_JOB)
        return ZX_ERR_WRONG_TYPE;
    if (value_size < sizeof(size_t))
        return ZX_ERR_BUFFER_TOO_SMALL;
    size_t v;
    zx_status_t st = copy_from_user(&v, value, sizeof(v));
    if (st != ZX_OK)
        return st;
    if (v > 1)
        return ZX_ERR_INVALID_ARGS;
    struct job *job = job_from_object(obj);
    mutex_acquire(&job->lock);
    job->kill_on_oom = v == 1;
    mutex_release(&job->lock);
    return ZX_OK;
}

int64_t sys_object_set_property(zx_handle_t handle, uint32_t property, user_addr_t value,
                                size_t value_size) {
    struct kobject *obj;
    zx_rights_t rights;
    zx_status_t st =
        sys_get_object(handle, ZX_OBJ_TYPE_NONE, ZX_RIGHT_SET_PROPERTY, &obj, &rights);
    if (st != ZX_OK)
        return st;
    switch (property) {
    case ZX_PROP_NAME: {
        char name[ZX_MAX_NAME_LEN] = {0};
        size_t len = value_size < ZX_MAX_NAME_LEN - 1 ? value_size : ZX_MAX_NAME_LEN - 1;
        st = copy_from_user(name, value, len);
        if (st == ZX_OK && !set_name(obj, name, strnlen(name, len)))
            st = ZX_ERR_WRONG_TYPE;
        break;
    }
    case ZX_PROP_VMO_CONTENT_SIZE: {
        struct vmo *vmo;
        uint64_t size;
        st = content_size_vmo(obj, value_size, &vmo);
        if (st == ZX_OK && !(rights & ZX_RIGHT_WRITE))
            st = ZX_ERR_ACCESS_DENIED;  // the content size is content: it needs WRITE
        if (st == ZX_OK)
            st = copy_from_user(&size, value, sizeof(size));
        if (st == ZX_OK)
            st = vmo_set_content_size(vmo, size);
        break;
    }
    case ZX_PROP_JOB_KILL_ON_OOM:
        st = set_kill_on_oom(obj, value, value_size);
        break;
    case ZX_PROP_EXCEPTION_STATE:
        st = sys_exception_set_property(obj, value, value_size);
        break;
    default:
        st = ZX_ERR_INVALID_ARGS;
        break;
    }
    kobject_release(obj);
    return st;
}

int64_t sys_object_wait_one(zx_handle_t handle, zx_signals_t signals, zx_time_t deadline,
                            user_addr_t observed) {
    if (observed && !user_range_ok(observed, sizeof(zx_signals_t)))
        return ZX_ERR_INVALID_ARGS;
    struct kobject *obj;
    zx_status_t st = sys_get_object(handle, ZX_OBJ_TYPE_NONE, ZX_RIGHT_WAIT, &obj, NULL);
    if (st != ZX_OK)
        return st;
    zx_signals_t seen = 0;
    uthread_blocking(ZX_THREAD_STATE_BLOCKED_WAIT_ONE);
    st = kobject_wait_one_handle(obj, signals, deadline, sys_handles(), handle, &seen);
    uthread_unblocked();
    kobject_release(obj);
    if (observed) {
        zx_status_t cs = copy_to_user(observed, &seen, sizeof(seen));
        if (cs != ZX_OK)
            return cs;
    }
    return st;
}
