// Pager calls (docs/abi.md §9): pager_create, pager_create_vmo, pager_detach_vmo,
// pager_supply_pages, pager_op_range, pager_query_dirty_ranges, pager_query_vmo_stats. Decode
// here (handles: type before rights; the rights each call needs; user pointers), perform through
// vm/pager.h, which checks everything else.
#include <zircon/rights.h>
#include <zircon/types.h>

#include "kernel/heap.h"
#include "syscall_decls.h"
#include "syscalls/sys_util.h"
#include "vm/pager.h"
#include "vm/vmo.h"

// INSPECT|TRANSFER|ATTACH_VMO|MANAGE_VMO (no DUPLICATE).
#define PAGER_DEFAULT_RIGHTS ((zx_rights_t)0x1808002u)
// As zx_vmo_create gives.
#define VMO_DEFAULT_RIGHTS ((zx_rights_t)0xD0EFu)
// Dirty ranges gathered per call; more are counted in `avail` only.
#define DIRTY_RANGES_MAX 512u

int64_t sys_pager_create(uint32_t options, user_addr_t out) {
    if (options != 0)
        return ZX_ERR_INVALID_ARGS;
    zx_status_t st = sys_check_out_ptr(out, sizeof(zx_handle_t));
    if (st != ZX_OK)
        return st;
    struct kobject *pg;
    st = pager_create(&pg);
    if (st != ZX_OK)
        return st;
    st = sys_give_handle(pg, PAGER_DEFAULT_RIGHTS, out);
    kobject_release(pg);
    return st;
}

// The pager and the VMO of a call, with the rights it needs; both referenced on ZX_OK.
static zx_status_t get_pager_vmo(zx_handle_t pager, zx_rights_t pager_rights, zx_handle_t vmo,
                                 zx_rights_t vmo_rights, struct kobject **out_pg,
                                 struct kobject **out_vmo) {
    zx_status_t st = sys_get_object(pager, ZX_OBJ_TYPE_PAGER, pager_rights, out_pg, NULL);
    if (st != ZX_OK)
        return st;
    st = sys_get_object(vmo, ZX_OBJ_TYPE_VMO, vmo_rights, out_vmo, NULL);
    if (st != ZX_OK)
        kobject_release(*out_pg);
    return st;
}

int64_t sys_pager_create_vmo(zx_handle_t pager, uint32_t options, zx_handle_t port, uint64_t key,
                             uint64_t size, user_addr_t out) {
    struct kobject *pg, *po;
    zx_status_t st = sys_get_object(pager, ZX_OBJ_TYPE_PAGER, ZX_RIGHT_ATTACH_VMO, &pg, NULL);
    if (st != ZX_OK)
        return st;
    st = sys_get_object(port, ZX_OBJ_TYPE_PORT, ZX_RIGHT_WRITE, &po, NULL);
    if (st != ZX_OK) {
        kobject_release(pg);
        return st;
    }
    st = sys_check_out_ptr(out, sizeof(zx_handle_t));
    struct vmo *vmo = NULL;
    if (st == ZX_OK)
        st = pager_create_vmo(pager_from_object(pg), options, po, key, size, &vmo);
    if (st == ZX_OK) {
        zx_rights_t rights = VMO_DEFAULT_RIGHTS | (vmo_is_resizable(vmo) ? ZX_RIGHT_RESIZE : 0);
        st = sys_give_handle(vmo_object(vmo), rights, out);
        kobject_release(vmo_object(vmo));
    }
    kobject_release(po);
    kobject_release(pg);
    return st;
}

int64_t sys_pager_detach_vmo(zx_handle_t pager, zx_handle_t vmo) {
    struct kobject *pg, *v;
    zx_status_t st = get_pager_vmo(pager, ZX_RIGHT_ATTACH_VMO | ZX_RIGHT_MANAGE_VMO, vmo,
                                   ZX_RIGHT_WRITE, &pg, &v);
    if (st != ZX_OK)
        return st;
    st = pager_detach_vmo(pager_from_object(pg), vmo_from_object(v));
    kobject_release(v);
    kobject_release(pg);
    return st;
}

int64_t sys_pager_supply_pages(zx_handle_t pager, zx_handle_t vmo, uint64_t offset,
                               uint64_t length, zx_handle_t aux_vmo, uint64_t aux_offset) {
    struct kobject *pg, *v, *aux;
    zx_status_t st = get_pager_vmo(pager, ZX_RIGHT_MANAGE_VMO, vmo, ZX_RIGHT_WRITE, &pg, &v);
    if (st != ZX_OK)
        return st;
    st = sys_get_object(aux_vmo, ZX_OBJ_TYPE_VMO, ZX_RIGHT_READ | ZX_RIGHT_WRITE, &aux, NULL);
    if (st == ZX_OK) {
        st = pager_supply_pages(pager_from_object(pg), vmo_from_object(v), offset, length,
                                vmo_from_object(aux), aux_offset);
        kobject_release(aux);
    }
    kobject_release(v);
    kobject_release(pg);
    return st;
}

int64_t sys_pager_op_range(zx_handle_t pager, uint32_t op, zx_handle_t vmo, uint64_t offset,
                           uint64_t length, uint64_t data) {
    struct kobject *pg, *v;
    zx_status_t st = get_pager_vmo(pager, ZX_RIGHT_MANAGE_VMO, vmo, ZX_RIGHT_WRITE, &pg, &v);
    if (st != ZX_OK)
        return st;
    st = pager_op_range(pager_from_object(pg), op, vmo_from_object(v), offset, length, data);
    kobject_release(v);
    kobject_release(pg);
    return st;
}

int64_t sys_pager_query_dirty_ranges(zx_handle_t pager, zx_handle_t vmo, uint64_t offset,
                                     uint64_t length, user_addr_t buffer, size_t buffer_size,
                                     user_addr_t actual, user_addr_t avail) {
    struct kobject *pg, *v;
    zx_status_t st = get_pager_vmo(pager, ZX_RIGHT_MANAGE_VMO, vmo, ZX_RIGHT_READ, &pg, &v);
    if (st != ZX_OK)
        return st;
    size_t max = MIN(buffer_size / sizeof(zx_vmo_dirty_range_t), (size_t)DIRTY_RANGES_MAX);
    zx_vmo_dirty_range_t *ranges = NULL;
    if (max > 0) {
        st = sys_check_out_ptr(buffer, max * sizeof(*ranges));
        if (st == ZX_OK && !(ranges = kmalloc(max * sizeof(*ranges))))
            st = ZX_ERR_NO_MEMORY;
    }
    size_t n = 0, total = 0;
    if (st == ZX_OK)
        st = pager_query_dirty_ranges(pager_from_object(pg), vmo_from_object(v), offset, length,
                                      ranges, max, &n, &total);
    kobject_release(v);
    kobject_release(pg);
    // Copies to user memory only now, with no VMO lock held (the buffer may map this VMO).
    if (st == ZX_OK && n > 0)
        st = copy_to_user(buffer, ranges, n * sizeof(*ranges));
    if (st == ZX_OK && actual)
        st = copy_to_user(actual, &n, sizeof(n));
    if (st == ZX_OK && avail)
        st = copy_to_user(avail, &total, sizeof(total));
    kfree(ranges);
    return st;
}

int64_t sys_pager_query_vmo_stats(zx_handle_t pager, zx_handle_t vmo, uint32_t options,
                                  user_addr_t buffer, size_t buffer_size) {
    struct kobject *pg, *v;
    zx_status_t st = get_pager_vmo(pager, ZX_RIGHT_MANAGE_VMO, vmo, ZX_RIGHT_READ, &pg, &v);
    if (st != ZX_OK)
        return st;
    zx_pager_vmo_stats_t stats;
    if (buffer_size < sizeof(stats))
        st = ZX_ERR_BUFFER_TOO_SMALL;
    else if (options & ~ZX_PAGER_RESET_VMO_STATS)
        st = ZX_ERR_INVALID_ARGS;
    else
        st = sys_check_out_ptr(buffer, sizeof(stats));
    if (st == ZX_OK)
        st = pager_query_vmo_stats(pager_from_object(pg), vmo_from_object(v), options, &stats);
    kobject_release(v);
    kobject_release(pg);
    if (st == ZX_OK)
        st = copy_to_user(buffer, &stats, sizeof(stats));
    return st;
}
