// Object calls: object_get_info, object_get_property, object_set_property, object_wait_one.
#include <zircon/syscalls.h>

#include "kernel/channel.h"
#include "kernel/heap.h"
#include "kernel/process.h"
#include "kernel/string.h"
#include "syscall_decls.h"
#include "syscalls/sys_util.h"
#include "vm/aspace.h"
#include "vm/vmar.h"
#include "vm/pmm.h"
#include "vm/vmo.h"

// Writes a single-record topic: BUFFER_TOO_SMALL (actual 0, avail 1) if it does not fit.
static zx_status_t put_record(const void *rec, size_t size, user_addr_t buffer, size_t buffer_size,
                              user_addr_t actual, user_addr_t avail) {
    size_t n = buffer_size >= size ? 1 : 0;
    zx_status_t st = n ? copy_to_user(buffer, rec, size) : ZX_OK;
    size_t one = 1;
    if (st == ZX_OK && actual)
        st = copy_to_user(actual, &n, sizeof(n));
    if (st == ZX_OK && avail)
        st = copy_to_user(avail, &one, sizeof(one));
    if (st == ZX_OK && !n)
        st = ZX_ERR_BUFFER_TOO_SMALL;
    return st;
}

static zx_koid_t related_koid(struct kobject *obj) {
    switch (obj->type) {
    case ZX_OBJ_TYPE_CHANNEL:
        return channel_peer_koid(channel_from_object(obj));
    case ZX_OBJ_TYPE_THREAD:
        return uthread_from_object(obj)->proc->obj.koid;
    case ZX_OBJ_TYPE_PROCESS:
        return process_from_object(obj)->job->obj.koid;
    default:
        return 0;
    }
}

static void kmem_stats(zx_info_kmem_stats_t *k) {
    size_t total = 0;
    for (int s = 0; s < PAGE_STATE_COUNT; s++) {
        if (s != PAGE_STATE_RESERVED)
            total += pmm_count((enum page_state)s);
    }
    struct heap_stats hs;
    heap_get_stats(&hs);
    *k = (zx_info_kmem_stats_t){
        .total_bytes = total * PAGE_SIZE,
        .free_bytes = pmm_count(PAGE_STATE_FREE) * PAGE_SIZE,
        .wired_bytes = pmm_count(PAGE_STATE_WIRED) * PAGE_SIZE,
        .total_heap_bytes = hs.pages * PAGE_SIZE,
        .free_heap_bytes = hs.pages * PAGE_SIZE - hs.bytes_used,
        .vmo_bytes = vmo_total_bytes(),
        .mmu_overhead_bytes = pmm_count(PAGE_STATE_PAGE_TABLE) * PAGE_SIZE,
        .ipc_bytes = 0,
        .other_bytes = (pmm_count(PAGE_STATE_ZERO) + pmm_count(PAGE_STATE_COMPRESSED)) * PAGE_SIZE,
    };
}

int64_t sys_object_get_info(zx_handle_t handle, uint32_t topic, user_addr_t buffer,
                            size_t buffer_size, user_addr_t actual, user_addr_t avail) {
    if ((actual && !user_range_ok(actual, sizeof(size_t))) ||
        (avail && !user_range_ok(avail, sizeof(size_t))))
        return ZX_ERR_INVALID_ARGS;
    if (buffer_size && (buffer == 0 || !user_range_ok(buffer, buffer_size)))
        return ZX_ERR_INVALID_ARGS;
    struct kobject *obj;
    zx_rights_t rights;
    zx_status_t st;
    switch (topic) {
    case ZX_INFO_HANDLE_VALID:
        st = sys_get_object(handle, ZX_OBJ_TYPE_NONE, 0, &obj, NULL);
        if (st == ZX_OK)
            kobject_release(obj);
        return st;
    case ZX_INFO_HANDLE_BASIC: {
        st = sys_get_object(handle, ZX_OBJ_TYPE_NONE, 0, &obj, &rights);
        if (st != ZX_OK)
            return st;
        zx_info_handle_basic_t info = {
            .koid = obj->koid, .rights = rights, .type = obj->type,
            .related_koid = related_koid(obj),
        };
        kobject_release(obj);
        return put_record(&info, sizeof(info), buffer, buffer_size, actual, avail);
    }
    case ZX_INFO_PROCESS: {
        st = sys_get_object(handle, ZX_OBJ_TYPE_PROCESS, ZX_RIGHT_INSPECT, &obj, NULL);
        if (st != ZX_OK)
            return st;
        struct process *p = process_from_object(obj);
        mutex_acquire(&p->lock);
        zx_info_process_t info = {
            .return_code = p->return_code, .start_time = p->start_time, .flags = p->info_flags,
        };
        mutex_release(&p->lock);
        kobject_release(obj);
        return put_record(&info, sizeof(info), buffer, buffer_size, actual, avail);
    }
    case ZX_INFO_VMAR: {
        st = sys_get_object(handle, ZX_OBJ_TYPE_VMAR, ZX_RIGHT_INSPECT, &obj, NULL);
        if (st != ZX_OK)
            return st;
        zx_info_vmar_t info;
        st = vmar_get_info(vmar_from_object(obj), &info);
        kobject_release(obj);
        if (st != ZX_OK)
            return st;
        return put_record(&info, sizeof(info), buffer, buffer_size, actual, avail);
    }
    case ZX_INFO_VMO: {
        st = sys_get_object(handle, ZX_OBJ_TYPE_VMO, ZX_RIGHT_INSPECT, &obj, &rights);
        if (st != ZX_OK)
            return st;
        zx_info_vmo_t info;
        vmo_get_info(vmo_from_object(obj), &info);
        info.handle_rights = rights;
        info.flags |= ZX_INFO_VMO_VIA_HANDLE;
        kobject_release(obj);
        return put_record(&info, sizeof(info), buffer, buffer_size, actual, avail);
    }
    case ZX_INFO_KMEM_STATS: {
        st = sys_get_object(handle, ZX_OBJ_TYPE_JOB, ZX_RIGHT_INSPECT, &obj, NULL);
        if (st != ZX_OK)
            return st;
        kobject_release(obj);
        zx_info_kmem_stats_t info;
        kmem_stats(&info);
        return put_record(&info, sizeof(info), buffer, buffer_size, actual, avail);
    }
    case ZX_INFO_PROCESS_MAPS: {
        st = sys_get_object(handle, ZX_OBJ_TYPE_PROCESS, ZX_RIGHT_INSPECT, &obj, NULL);
        if (st != ZX_OK)
            return st;
        struct process *p = process_from_object(obj);
        size_t max = buffer_size / sizeof(zx_info_maps_t);
        zx_info_maps_t *maps = max ? kmalloc(max * sizeof(zx_info_maps_t)) : NULL;
        size_t n = 0, total = 0;
        if (max && !maps) {
            st = ZX_ERR_NO_MEMORY;
        } else {
            mutex_acquire(&p->lock);
            if (p->aspace)
                vm_aspace_get_maps(p->aspace, maps, max, &n, &total);
            else
                st = ZX_ERR_BAD_STATE;  // the process has ended
            mutex_release(&p->lock);
        }
        kobject_release(obj);
        if (st == ZX_OK && n)
            st = copy_to_user(buffer, maps, n * sizeof(zx_info_maps_t));
        if (st == ZX_OK && actual)
            st = copy_to_user(actual, &n, sizeof(n));
        if (st == ZX_OK && avail)
            st = copy_to_user(avail, &total, sizeof(total));
        kfree(maps);
        return st;
    }
    default:
        st = sys_get_object(handle, ZX_OBJ_TYPE_NONE, 0, &obj, NULL);
        if (st != ZX_OK)
            return st;
        kobject_release(obj);
        return ZX_ERR_NOT_SUPPORTED;  // an unknown topic (docs/abi.md §3)
    }
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
    default:
        st = ZX_ERR_INVALID_ARGS;
        break;
    }
    kobject_release(obj);
    return st;
}

int64_t sys_object_set_property(zx_handle_t handle, uint32_t property, user_addr_t value,
                                size_t value_size) {
    struct kobject *obj;
    zx_status_t st = sys_get_object(handle, ZX_OBJ_TYPE_NONE, ZX_RIGHT_SET_PROPERTY, &obj, NULL);
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
        if (st == ZX_OK)
            st = copy_from_user(&size, value, sizeof(size));
        if (st == ZX_OK)
            st = vmo_set_content_size(vmo, size);
        break;
    }
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
    st = kobject_wait_one_handle(obj, signals, deadline, sys_handles(), handle, &seen);
    kobject_release(obj);
    if (observed) {
        zx_status_t cs = copy_to_user(observed, &seen, sizeof(seen));
        if (cs != ZX_OK)
            return cs;
    }
    return st;
}
