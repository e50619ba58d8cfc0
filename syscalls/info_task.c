// object_get_info's task topics: a process's threads, a job's child jobs and processes, a
// thread's state, a job's record, a process's VMOs, and any object's handle count (docs/abi.md
// §10).
#include <zircon/syscalls/object.h>

#include "arch/x86_64/smp.h"
#include "kernel/exception.h"
#include "kernel/heap.h"
#include "kernel/job.h"
#include "kernel/process.h"
#include "syscalls/info.h"
#include "vm/vmar.h"
#include "vm/vmo.h"

zx_status_t info_process_threads(struct kobject *obj, zx_rights_t rights, struct info_out *out) {
    out->avail = process_thread_koids(process_from_object(obj), out->records, out->max);
    out->actual = MIN(out->avail, out->max);
    return ZX_OK;
}

static zx_status_t job_list(struct kobject *obj, bool jobs, struct info_out *out) {
    out->avail = job_child_koids(job_from_object(obj), jobs, out->records, out->max);
    out->actual = MIN(out->avail, out->max);
    return ZX_OK;
}

zx_status_t info_job_children(struct kobject *obj, zx_rights_t rights, struct info_out *out) {
    return job_list(obj, true, out);
}

zx_status_t info_job_processes(struct kobject *obj, zx_rights_t rights, struct info_out *out) {
    return job_list(obj, false, out);
}

zx_status_t info_thread(struct kobject *obj, zx_rights_t rights, struct info_out *out) {
    zx_info_thread_t *info = out->records;
    struct uthread *t = uthread_from_object(obj);
    *info = (zx_info_thread_t){
        .state = uthread_info_state(t),
        .wait_exception_channel_type = exception_thread_channel_type(t),
    };
    // A user thread may run on every CPU.
    for (unsigned cpu = 0; cpu < smp_cpus_online(); cpu++)
        info->cpu_affinity_mask.mask[cpu / ZX_CPU_SET_BITS_PER_WORD] |=
            1ull << (cpu % ZX_CPU_SET_BITS_PER_WORD);
    return ZX_OK;
}

zx_status_t info_handle_count(struct kobject *obj, zx_rights_t rights, struct info_out *out) {
    *(zx_info_handle_count_t *)out->records = (zx_info_handle_count_t){
        .handle_count = __atomic_load_n(&obj->handles, __ATOMIC_RELAXED),
    };
    return ZX_OK;
}

zx_status_t info_job(struct kobject *obj, zx_rights_t rights, struct info_out *out) {
    struct job *job = job_from_object(obj);
    mutex_acquire(&job->lock);
    *(zx_info_job_t *)out->records = (zx_info_job_t){
        .return_code = job->return_code,
        .exited = job->terminated,
        .kill_on_oom = job->kill_on_oom,
    };
    mutex_release(&job->lock);
    return ZX_OK;
}

// Every VMO the process has a handle to (VIA_HANDLE, with that handle's rights), then the VMO of
// every mapping (VIA_MAPPING); a VMO shows up once per handle and once per mapping.
zx_status_t info_process_vmos(struct kobject *obj, zx_rights_t rights, struct info_out *out) {
    struct process *p = process_from_object(obj);
    struct kobject **objs = NULL;
    zx_rights_t *handle_rights = NULL;
    if (out->max && (!(objs = kmalloc(out->max * sizeof(*objs))) ||
                     !(handle_rights = kmalloc(out->max * sizeof(*handle_rights))))) {
        kfree(objs);
        return ZX_ERR_NO_MEMORY;
    }
    zx_status_t st = ZX_OK;
    size_t by_handle = 0, by_mapping = 0;
    mutex_acquire(&p->lock);
    if (!p->aspace) {
        st = ZX_ERR_BAD_STATE;  // the process has ended
    } else {
        by_handle = handle_table_collect(&p->handles, ZX_OBJ_TYPE_VMO, objs, handle_rights,
                                         out->max);
        size_t got = MIN(by_handle, out->max);
        by_mapping = vm_aspace_mapped_vmos(p->aspace, objs + got, out->max - got);
    }
    mutex_release(&p->lock);
    zx_info_vmo_t *records = out->records;
    size_t from_handles = MIN(by_handle, out->max);
    size_t from_mappings = MIN(by_mapping, out->max - from_handles);
    for (size_t i = 0; i < from_handles + from_mappings; i++) {
        bool via_handle = i < from_handles;
        vmo_get_info(vmo_from_object(objs[i]), &records[i]);
        records[i].flags |= via_handle ? ZX_INFO_VMO_VIA_HANDLE : ZX_INFO_VMO_VIA_MAPPING;
        records[i].handle_rights = via_handle ? handle_rights[i] : 0;
        kobject_release(objs[i]);
    }
    out->actual = from_handles + from_mappings;
    out->avail = by_handle + by_mapping;
    kfree(objs);
    kfree(handle_rights);
    return st;
}

// ZX_INFO_TASK_STATS: what the process's mappings show (vm_aspace_task_stats); an ended process
// has none (BAD_STATE).
zx_status_t info_task_stats(struct kobject *obj, zx_rights_t rights, struct info_out *out) {
    struct process *p = process_from_object(obj);
    zx_status_t st = ZX_OK;
    mutex_acquire(&p->lock);
    if (p->aspace)
        vm_aspace_task_stats(p->aspace, out->records);
    else
        st = ZX_ERR_BAD_STATE;
    mutex_release(&p->lock);
    return st;
}
