// Exception and thread-state calls (docs/abi.md §8): task_create_exception_channel,
// exception_get_thread, exception_get_process, thread_read_state, thread_write_state; and the
// exception pieces of the object calls (ZX_PROP_EXCEPTION_STATE, ZX_INFO_THREAD_EXCEPTION_REPORT).
#include <zircon/syscalls.h>

#include "kernel/exception.h"
#include "kernel/process.h"
#include "syscall_decls.h"
#include "syscalls/info.h"
#include "syscalls/sys_exception.h"
#include "syscalls/sys_util.h"

#define TASK_CHANNEL_RIGHTS \
    (ZX_RIGHT_INSPECT | ZX_RIGHT_DUPLICATE | ZX_RIGHT_TRANSFER | ZX_RIGHT_MANAGE_THREAD)

int64_t sys_task_create_exception_channel(zx_handle_t handle, uint32_t options, user_addr_t out) {
    if (options & ~ZX_EXCEPTION_CHANNEL_DEBUGGER)
        return ZX_ERR_INVALID_ARGS;
    bool debugger = options & ZX_EXCEPTION_CHANNEL_DEBUGGER;
    struct kobject *task;
    zx_rights_t rights;
    zx_status_t st = sys_get_object(handle, ZX_OBJ_TYPE_NONE, 0, &task, &rights);
    if (st != ZX_OK)
        return st;
    zx_rights_t need = TASK_CHANNEL_RIGHTS;
    if (task->type != ZX_OBJ_TYPE_THREAD && task->type != ZX_OBJ_TYPE_PROCESS &&
        task->type != ZX_OBJ_TYPE_JOB)
        st = ZX_ERR_WRONG_TYPE;
    else if (task->type == ZX_OBJ_TYPE_THREAD && debugger)
        st = ZX_ERR_INVALID_ARGS;
    if (task->type != ZX_OBJ_TYPE_THREAD)
        need |= ZX_RIGHT_ENUMERATE;
    if (st == ZX_OK && (rights & need) != need)
        st = ZX_ERR_ACCESS_DENIED;
    if (st == ZX_OK)
        st = sys_check_out_ptr(out, sizeof(zx_handle_t));
    struct channel *ch = NULL;
    if (st == ZX_OK)
        st = exception_channel_create(task, debugger, rights, &ch);
    if (st == ZX_OK) {
        // A failed copy closes the handle again: the binding goes stale at once.
        st = sys_give_handle(channel_object(ch), EXCEPTION_CHANNEL_RIGHTS, out);
        kobject_release(channel_object(ch));
    }
    kobject_release(task);
    return st;
}

static zx_status_t get_task(zx_handle_t handle, bool process, user_addr_t out) {
    struct kobject *exc;
    zx_status_t st = sys_get_object(handle, ZX_OBJ_TYPE_EXCEPTION, 0, &exc, NULL);
    if (st != ZX_OK)
        return st;
    struct kobject *task;
    zx_rights_t rights;
    st = exception_get_task(exc, process, &task, &rights);
    kobject_release(exc);
    if (st != ZX_OK)
        return st;
    st = sys_give_handle(task, rights, out);
    kobject_release(task);
    return st;
}

int64_t sys_exception_get_thread(zx_handle_t handle, user_addr_t out) {
    return get_task(handle, false, out);
}

int64_t sys_exception_get_process(zx_handle_t handle, user_addr_t out) {
    return get_task(handle, true, out);
}

// Decodes what read_state and write_state share: the thread (with `right`), the kind and the size.
// On ZX_OK *out is a reference.
static zx_status_t decode_state(zx_handle_t handle, zx_rights_t right, uint32_t kind, size_t size,
                                struct kobject **out) {
    zx_status_t st = sys_get_object(handle, ZX_OBJ_TYPE_THREAD, right, out, NULL);
    if (st != ZX_OK)
        return st;
    switch (kind) {
    case ZX_THREAD_STATE_GENERAL_REGS:
        st = size < sizeof(zx_thread_state_general_regs_t) ? ZX_ERR_BUFFER_TOO_SMALL : ZX_OK;
        break;
    case ZX_THREAD_STATE_FP_REGS:
    case ZX_THREAD_STATE_VECTOR_REGS:
    case ZX_THREAD_STATE_DEBUG_REGS:
    case ZX_THREAD_STATE_SINGLE_STEP:
        st = ZX_ERR_NOT_SUPPORTED;
        break;
    default:
        st = ZX_ERR_INVALID_ARGS;
        break;
    }
    if (st != ZX_OK)
        kobject_release(*out);
    return st;
}

int64_t sys_thread_read_state(zx_handle_t handle, uint32_t kind, user_addr_t buffer,
                              size_t buffer_size) {
    struct kobject *obj;
    zx_status_t st = decode_state(handle, ZX_RIGHT_READ, kind, buffer_size, &obj);
    if (st != ZX_OK)
        return st;
    zx_thread_state_general_regs_t regs;
    st = exception_read_regs(uthread_from_object(obj), &regs);
    kobject_release(obj);
    if (st == ZX_OK)
        st = copy_to_user(buffer, &regs, sizeof(regs));
    return st;
}

int64_t sys_thread_write_state(zx_handle_t handle, uint32_t kind, user_addr_t buffer,
                               size_t buffer_size) {
    struct kobject *obj;
    zx_status_t st = decode_state(handle, ZX_RIGHT_WRITE, kind, buffer_size, &obj);
    if (st != ZX_OK)
        return st;
    struct uthread *t = uthread_from_object(obj);
    zx_thread_state_general_regs_t regs;
    zx_exception_report_t report;
    st = exception_thread_report(t, &report);  // BAD_STATE before the buffer is looked at
    if (st == ZX_OK)
        st = copy_from_user(&regs, buffer, sizeof(regs));
    if (st == ZX_OK)
        st = exception_write_regs(t, &regs);
    kobject_release(obj);
    return st;
}

zx_status_t sys_exception_get_property(struct kobject *obj, user_addr_t value, size_t value_size) {
    if (obj->type != ZX_OBJ_TYPE_EXCEPTION)
        return ZX_ERR_WRONG_TYPE;
    if (value_size < sizeof(uint32_t))
        return ZX_ERR_BUFFER_TOO_SMALL;
    uint32_t state = exception_get_state(obj);
    return copy_to_user(value, &state, sizeof(state));
}

zx_status_t sys_exception_set_property(struct kobject *obj, user_addr_t value, size_t value_size) {
    if (obj->type != ZX_OBJ_TYPE_EXCEPTION)
        return ZX_ERR_WRONG_TYPE;
    if (value_size < sizeof(uint32_t))
        return ZX_ERR_BUFFER_TOO_SMALL;
    uint32_t state;
    zx_status_t st = copy_from_user(&state, value, sizeof(state));
    return st == ZX_OK ? exception_set_state(obj, state) : st;
}

zx_status_t info_thread_exception_report(struct kobject *obj, zx_rights_t rights,
                                         struct info_out *out) {
    return exception_thread_report(uthread_from_object(obj), out->records);
}
