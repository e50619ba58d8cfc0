// Task-tree calls: job_create and object_get_child (a process's threads, a job's jobs and
// processes), docs/abi.md §10.
#include <zircon/syscalls.h>

#include "kernel/job.h"
#include "kernel/process.h"
#include "syscall_decls.h"
#include "syscalls/sys_util.h"

int64_t sys_job_create(zx_handle_t parent_job, uint32_t options, user_addr_t out) {
    struct kobject *pobj;
    zx_status_t st = sys_get_object(parent_job, ZX_OBJ_TYPE_JOB, ZX_RIGHT_MANAGE_JOB, &pobj, NULL);
    if (st != ZX_OK)
        return st;
    if (options != 0)
        st = ZX_ERR_INVALID_ARGS;
    if (st == ZX_OK)
        st = sys_check_out_ptr(out, sizeof(zx_handle_t));
    struct job *job = NULL;
    if (st == ZX_OK)
        st = job_create(job_from_object(pobj), &job);
    kobject_release(pobj);
    if (st != ZX_OK)
        return st;
    st = sys_give_handle(&job->obj, ZX_DEFAULT_JOB_RIGHTS, out);
    kobject_release(&job->obj);
    return st;
}

int64_t sys_object_get_child(zx_handle_t handle, zx_koid_t koid, zx_rights_t rights,
                             user_addr_t out) {
    struct kobject *obj;
    zx_rights_t have;
    zx_status_t st = sys_get_object(handle, ZX_OBJ_TYPE_NONE, 0, &obj, &have);
    if (st != ZX_OK)
        return st;
    if (obj->type != ZX_OBJ_TYPE_PROCESS && obj->type != ZX_OBJ_TYPE_JOB)
        st = ZX_ERR_WRONG_TYPE;
    else if (!(have & ZX_RIGHT_ENUMERATE))
        st = ZX_ERR_ACCESS_DENIED;
    else if (rights != ZX_RIGHT_SAME_RIGHTS && (rights & ~have))
        st = ZX_ERR_ACCESS_DENIED;  // a child handle never has more rights than the parent's
    if (st == ZX_OK)
        st = sys_check_out_ptr(out, sizeof(zx_handle_t));
    struct kobject *child = NULL;
    if (st == ZX_OK) {
        child = obj->type == ZX_OBJ_TYPE_JOB ? job_get_child(job_from_object(obj), koid)
                                              : process_get_thread(process_from_object(obj), koid);
        if (!child)
            st = ZX_ERR_NOT_FOUND;
    }
    kobject_release(obj);
    if (st != ZX_OK)
        return st;
    st = sys_give_handle(child, rights == ZX_RIGHT_SAME_RIGHTS ? have : rights, out);
    kobject_release(child);
    return st;
}
