// Task calls: process_create, process_start, process_exit, thread_create, thread_start,
// thread_exit, vmar_unmap_handle_close_thread_exit, task_kill.
#include <zircon/syscalls.h>

#include "kernel/assert.h"
#include "kernel/process.h"
#include "kernel/string.h"
#include "syscall_decls.h"
#include "syscalls/sys_util.h"
#include "vm/vmar.h"

#define ROOT_VMAR_RIGHTS (ZX_DEFAULT_VMAR_RIGHTS | ZX_RIGHT_READ | ZX_RIGHT_WRITE | ZX_RIGHT_EXECUTE)

static zx_status_t copy_name_in(user_addr_t name, size_t name_size, char out[ZX_MAX_NAME_LEN],
                                size_t *out_len) {
    size_t len = name_size < ZX_MAX_NAME_LEN - 1 ? name_size : ZX_MAX_NAME_LEN - 1;
    zx_status_t st = copy_from_user(out, name, len);
    if (st != ZX_OK)
        return st;
    out[len] = '\0';
    *out_len = strnlen(out, len);
    return ZX_OK;
}

// Decodes what process_create and thread_create share: options (must be 0), the parent handle
// (`type` with `right`), the name and the first output pointer. On ZX_OK *out_parent is a reference.
static zx_status_t decode_task_create(zx_handle_t parent, zx_obj_type_t type, zx_rights_t right,
                                      user_addr_t name, size_t name_size, uint32_t options,
                                      user_addr_t out, struct kobject **out_parent,
                                      char buf[ZX_MAX_NAME_LEN], size_t *out_len) {
    if (options != 0)
        return ZX_ERR_INVALID_ARGS;
    zx_status_t st = sys_get_object(parent, type, right, out_parent, NULL);
    if (st != ZX_OK)
        return st;
    st = copy_name_in(name, name_size, buf, out_len);
    if (st == ZX_OK)
        st = sys_check_out_ptr(out, sizeof(zx_handle_t));
    if (st != ZX_OK)
        kobject_release(*out_parent);
    return st;
}

int64_t sys_process_create(zx_handle_t job, user_addr_t name, size_t name_size, uint32_t options,
                           user_addr_t proc_handle, user_addr_t vmar_handle) {
    struct kobject *jobj;
    char buf[ZX_MAX_NAME_LEN];
    size_t len = 0;
    zx_status_t st = decode_task_create(job, ZX_OBJ_TYPE_JOB, ZX_RIGHT_MANAGE_PROCESS, name,
                                        name_size, options, proc_handle, &jobj, buf, &len);
    if (st != ZX_OK)
        return st;
    st = sys_check_out_ptr(vmar_handle, sizeof(zx_handle_t));
    struct process *p = NULL;
    if (st == ZX_OK)
        st = process_create(job_from_object(jobj), buf, len, &p);
    kobject_release(jobj);
    if (st != ZX_OK)
        return st;
    st = sys_give_handle(&p->obj, ZX_DEFAULT_PROCESS_RIGHTS, proc_handle);
    if (st == ZX_OK) {
        struct vmar *root = vm_aspace_root_vmar(p->aspace);
        st = sys_give_handle(vmar_object(root), ROOT_VMAR_RIGHTS, vmar_handle);
        kobject_release(vmar_object(root));
        if (st != ZX_OK) {
            zx_handle_t h;
            if (copy_from_user(&h, proc_handle, sizeof(h)) == ZX_OK)
                sys_discard_handle(h);
        }
    }
    kobject_release(&p->obj);
    return st;
}

// Entry points must be user addresses: entering user mode at a non-canonical rip would fault in
// the kernel. The stack is not checked (as in Zircon): a bad one faults in user mode.
static bool user_code_address_ok(zx_vaddr_t a) {
    return a >= USER_ASPACE_BASE && a < USER_ASPACE_END;
}

int64_t sys_process_start(zx_handle_t handle, zx_handle_t thread, zx_vaddr_t entry,
                          zx_vaddr_t stack, zx_handle_t arg1, uintptr_t arg2) {
    // arg1 is consumed whatever happens.
    struct kobject *arg_obj = NULL;
    zx_rights_t arg_rights = 0;
    zx_status_t st = ZX_OK;
    if (arg1 != ZX_HANDLE_INVALID) {
        st = handle_take(sys_handles(), arg1, &arg_obj, &arg_rights);
        if (st != ZX_OK)
            return st;
    }
    struct kobject *pobj = NULL, *tobj = NULL;
    st = sys_get_object(handle, ZX_OBJ_TYPE_PROCESS, ZX_RIGHT_WRITE, &pobj, NULL);
    if (st == ZX_OK)
        st = sys_get_object(thread, ZX_OBJ_TYPE_THREAD, ZX_RIGHT_WRITE, &tobj, NULL);
    if (st == ZX_OK && arg_obj && !(arg_rights & ZX_RIGHT_TRANSFER))
        st = ZX_ERR_ACCESS_DENIED;
    struct process *p = pobj ? process_from_object(pobj) : NULL;
    struct uthread *t = tobj ? uthread_from_object(tobj) : NULL;
    if (st == ZX_OK && t->proc != p)
        st = ZX_ERR_ACCESS_DENIED;
    if (st == ZX_OK && (p->info_flags & ZX_INFO_PROCESS_FLAG_STARTED))
        st = ZX_ERR_BAD_STATE;
    if (st == ZX_OK && !user_code_address_ok(entry))
        st = ZX_ERR_INVALID_ARGS;
    zx_handle_t remote = ZX_HANDLE_INVALID;
    if (st == ZX_OK && arg_obj) {
        st = handle_install(&p->handles, arg_obj, arg_rights, &remote);
        if (st == ZX_OK)
            arg_obj = NULL;  // now the new process's
    }
    if (st == ZX_OK) {
        st = uthread_start(t, entry, stack, remote, arg2);
        if (st != ZX_OK && remote != ZX_HANDLE_INVALID && handle_close(&p->handles, remote) != ZX_OK)
            ASSERT_MSG(false, "%s", "a handle just installed could not be closed");
    }
    if (arg_obj)
        handle_drop(arg_obj);
    if (tobj)
        kobject_release(tobj);
    if (pobj)
        kobject_release(pobj);
    return st;
}

int64_t sys_process_exit(int64_t retcode) {
    process_kill(process_current(), retcode);
    return ZX_ERR_INTERNAL;  // not reached
}

int64_t sys_thread_create(zx_handle_t process, user_addr_t name, size_t name_size,
                          uint32_t options, user_addr_t out) {
    struct kobject *pobj;
    char buf[ZX_MAX_NAME_LEN];
    size_t len = 0;
    zx_status_t st = decode_task_create(process, ZX_OBJ_TYPE_PROCESS, ZX_RIGHT_MANAGE_THREAD, name,
                                        name_size, options, out, &pobj, buf, &len);
    if (st != ZX_OK)
        return st;
    struct uthread *t = NULL;
    st = uthread_create(process_from_object(pobj), buf, len, &t);
    kobject_release(pobj);
    if (st != ZX_OK)
        return st;
    st = sys_give_handle(&t->obj, ZX_DEFAULT_THREAD_RIGHTS, out);
    kobject_release(&t->obj);
    return st;
}

int64_t sys_thread_start(zx_handle_t handle, zx_vaddr_t thread_entry, zx_vaddr_t stack,
                         uintptr_t arg1, uintptr_t arg2) {
    struct kobject *tobj;
    zx_status_t st = sys_get_object(handle, ZX_OBJ_TYPE_THREAD, ZX_RIGHT_WRITE, &tobj, NULL);
    if (st != ZX_OK)
        return st;
    struct uthread *t = uthread_from_object(tobj);
    if (!(t->proc->info_flags & ZX_INFO_PROCESS_FLAG_STARTED))
        st = ZX_ERR_BAD_STATE;  // the first thread starts with zx_process_start
    else if (!user_code_address_ok(thread_entry))
        st = ZX_ERR_INVALID_ARGS;
    else
        st = uthread_start(t, thread_entry, stack, arg1, arg2);
    kobject_release(tobj);
    return st;
}

int64_t sys_thread_exit(void) {
    uthread_exit_current();
}

// For a thread that frees its own stack: once the unmap succeeds this thread must not touch user
// memory again, so the close and the exit happen here. A failed close is an exception the thread
// cannot see (its stack may be gone): with no exception handler it ends the process.
int64_t sys_vmar_unmap_handle_close_thread_exit(zx_handle_t vmar_handle, zx_vaddr_t addr,
                                                size_t size, zx_handle_t close_handle) {
    zx_status_t st = (zx_status_t)sys_vmar_unmap(vmar_handle, addr, size);
    if (st != ZX_OK)
        return st;
    if (handle_close(sys_handles(), close_handle) != ZX_OK)
        process_kill(process_current(), ZX_TASK_RETCODE_EXCEPTION_KILL);  // does not return
    uthread_exit_current();
}

int64_t sys_task_kill(zx_handle_t handle) {
    struct kobject *obj;
    zx_rights_t rights;
    zx_status_t st = sys_get_object(handle, ZX_OBJ_TYPE_NONE, 0, &obj, &rights);
    if (st != ZX_OK)
        return st;
    // The type is checked before the rights, as for every call.
    if (obj->type != ZX_OBJ_TYPE_PROCESS && obj->type != ZX_OBJ_TYPE_THREAD &&
        obj->type != ZX_OBJ_TYPE_JOB)
        st = ZX_ERR_WRONG_TYPE;
    else if (!(rights & ZX_RIGHT_DESTROY))
        st = ZX_ERR_ACCESS_DENIED;
    if (st != ZX_OK) {
        kobject_release(obj);
        return st;
    }
    switch (obj->type) {
    case ZX_OBJ_TYPE_PROCESS: {
        struct process *p = process_from_object(obj);
        if (p == process_current()) {
            kobject_release(obj);
            process_kill(p, ZX_TASK_RETCODE_SYSCALL_KILL);  // does not return
        }
        process_kill(p, ZX_TASK_RETCODE_SYSCALL_KILL);
        break;
    }
    case ZX_OBJ_TYPE_THREAD: {
        struct uthread *t = uthread_from_object(obj);
        if (t == uthread_current()) {
            kobject_release(obj);
            uthread_exit_current();
        }
        t->kill_pending = true;
        if (t->kthread)
            thread_interrupt(t->kthread);
        break;
    }
    case ZX_OBJ_TYPE_JOB: {
        bool kill_caller = false;
        st = job_kill(job_from_object(obj), ZX_TASK_RETCODE_SYSCALL_KILL, &kill_caller);
        if (kill_caller) {  // the caller's own process is in the tree: it goes last
            kobject_release(obj);
            process_kill(process_current(), ZX_TASK_RETCODE_SYSCALL_KILL);
        }
        break;
    }
    default:
        st = ZX_ERR_WRONG_TYPE;
        break;
    }
    kobject_release(obj);
    return st;
}
