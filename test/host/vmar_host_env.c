// What the mapping layer needs on the host besides simulated RAM: kernel-object reference counts
// (no handles, signals or waiting), the boot-time ASLR inputs, and a small stand-in for the VMO
// layer (vm/vmo.h) — anonymous VMOs with one page array, no clones — that keeps the contract the
// mapping layer relies on: a page that replaces the zero page, or is freed, is first unmapped from
// every mapping through vm_mapping_range_change, and vmo_lookup_pages visits present pages only.
#include <stdlib.h>

#include "kernel/assert.h"
#include "kernel/heap.h"
#include "kernel/list.h"
#include "kernel/object.h"
#include "kernel/string.h"
#include "vm/aslr.h"
#include "vm/physmap.h"
#include "vm/pmm.h"
#include "vm/vmar.h"
#include "vm/vmo.h"

// --- Kernel objects ---

static zx_koid_t next_koid = 1024;
static size_t live_objects;

void kobject_init(struct kobject *obj, zx_obj_type_t type, const struct kobject_ops *ops) {
    memset(obj, 0, sizeof(*obj));
    obj->type = type;
    obj->refs = 1;
    obj->koid = next_koid++;
    obj->ops = ops;
    live_objects++;
}

void kobject_retain(struct kobject *obj) {
    ASSERT(obj->refs > 0);
    obj->refs++;
}

void kobject_release(struct kobject *obj) {
    ASSERT(obj->refs > 0);
    if (--obj->refs == 0) {
        live_objects--;
        obj->ops->destroy(obj);
    }
}

size_t kobject_live_count(void) {
    return live_objects;
}

// --- ASLR inputs: on, with a fixed seed (runs repeat) ---

bool aslr_boot_enabled(void) {
    return true;
}

uint64_t aslr_boot_entropy(void) {
    return 0x6a09e667f3bcc908ull;
}

// --- A stand-in VMO ---

struct vmo {
    struct kobject obj;
    uint64_t size;       // bytes, page multiple
    bool resizable;
    paddr_t *pages;      // one per page; 0: no page (zero content)
    struct list_node mappings;
    char name[ZX_MAX_NAME_LEN];
};

static paddr_t zero_page_pa;

static paddr_t zero_page(void) {
    if (!zero_page_pa) {
        vm_page_t *p = pmm_alloc_page(PAGE_STATE_ZERO);
        ASSERT(p);
        memset(vm_page_kva(p), 0, PAGE_SIZE);
        zero_page_pa = vm_page_paddr(p);
    }
    return zero_page_pa;
}

static void vmo_destroy(struct kobject *obj) {
    struct vmo *v = containerof(obj, struct vmo, obj);
    ASSERT(list_is_empty(&v->mappings));
    for (uint64_t i = 0; i < v->size / PAGE_SIZE; i++) {
        if (v->pages[i])
            pmm_free_page(pmm_page_from_paddr(v->pages[i]));
    }
    free(v->pages);
    kfree(v);
}

static const struct kobject_ops vmo_ops = {.destroy = vmo_destroy};

zx_status_t vmo_create(uint64_t size, uint32_t options, struct vmo **out) {
    if (options & ~ZX_VMO_RESIZABLE)
        return ZX_ERR_INVALID_ARGS;
    size = ROUNDUP(size, (uint64_t)PAGE_SIZE);
    struct vmo *v = kzalloc(sizeof(*v));
    if (!v)
        return ZX_ERR_NO_MEMORY;
    v->pages = calloc(size / PAGE_SIZE + 1, sizeof(paddr_t));
    ASSERT(v->pages);
    kobject_init(&v->obj, ZX_OBJ_TYPE_VMO, &vmo_ops);
    v->size = size;
    v->resizable = options & ZX_VMO_RESIZABLE;
    list_init(&v->mappings);
    zero_page();
    *out = v;
    return ZX_OK;
}

static void unmap_everywhere(struct vmo *v, uint64_t offset, uint64_t len) {
    list_for_each(&v->mappings, it) {
        vm_mapping_range_change(containerof(it, struct vm_mapping, vmo_node), offset, len,
                                VM_RANGE_UNMAP);
    }
}

// The page at page index i, committed (zeroed) if needed. NULL when out of memory.
static void *commit(struct vmo *v, uint64_t i) {
    if (!v->pages[i]) {
        vm_page_t *p = pmm_alloc_page(PAGE_STATE_VMO);
        if (!p)
            return NULL;
        memset(vm_page_kva(p), 0, PAGE_SIZE);
        // The zero page may be mapped here: it goes before the new page can be.
        unmap_everywhere(v, i * PAGE_SIZE, PAGE_SIZE);
        v->pages[i] = vm_page_paddr(p);
    }
    return paddr_to_kva(v->pages[i]);
}

zx_status_t vmo_read(struct vmo *v, void *dst, uint64_t offset, size_t len) {
    if (offset > v->size || len > v->size - offset)
        return ZX_ERR_OUT_OF_RANGE;
    for (size_t done = 0; done < len;) {
        uint64_t i = (offset + done) / PAGE_SIZE, in = (offset + done) % PAGE_SIZE;
        size_t n = MIN(len - done, PAGE_SIZE - in);
        if (v->pages[i])
            memcpy((char *)dst + done, (char *)paddr_to_kva(v->pages[i]) + in, n);
        else
            memset((char *)dst + done, 0, n);
        done += n;
    }
    return ZX_OK;
}

zx_status_t vmo_write(struct vmo *v, const void *src, uint64_t offset, size_t len) {
    if (offset > v->size || len > v->size - offset)
        return ZX_ERR_OUT_OF_RANGE;
    for (size_t done = 0; done < len;) {
        uint64_t i = (offset + done) / PAGE_SIZE, in = (offset + done) % PAGE_SIZE;
        size_t n = MIN(len - done, PAGE_SIZE - in);
        char *p = commit(v, i);
        if (!p)
            return ZX_ERR_NO_MEMORY;
        memcpy(p + in, (const char *)src + done, n);
        done += n;
    }
    return ZX_OK;
}

uint64_t vmo_get_size(struct vmo *v) {
    return v->size;
}

bool vmo_is_resizable(struct vmo *v) {
    return v->resizable;
}

struct kobject *vmo_object(struct vmo *v) {
    return &v->obj;
}

struct vmo *vmo_from_object(struct kobject *obj) {
    return containerof(obj, struct vmo, obj);
}

void vmo_get_name(struct vmo *v, char out[ZX_MAX_NAME_LEN]) {
    memcpy(out, v->name, ZX_MAX_NAME_LEN);
}

void vmo_set_name(struct vmo *v, const char *name, size_t len) {
    len = MIN(len, (size_t)ZX_MAX_NAME_LEN - 1);
    memcpy(v->name, name, len);
    v->name[len] = '\0';
}

zx_status_t vmo_op_range(struct vmo *v, uint32_t op, uint64_t offset, uint64_t size) {
    if (offset > v->size)
        return ZX_ERR_OUT_OF_RANGE;
    size = MIN(size, v->size - offset);
    uint64_t first = offset / PAGE_SIZE, last = ROUNDUP(offset + size, PAGE_SIZE) / PAGE_SIZE;
    switch (op) {
    case ZX_VMO_OP_COMMIT:
        for (uint64_t i = first; i < last; i++) {
            if (!commit(v, i))
                return ZX_ERR_NO_MEMORY;
        }
        return ZX_OK;
    case ZX_VMO_OP_DECOMMIT:
        if (!IS_ALIGNED(offset, PAGE_SIZE))
            return ZX_ERR_INVALID_ARGS;
        unmap_everywhere(v, first * PAGE_SIZE, (last - first) * PAGE_SIZE);
        for (uint64_t i = first; i < last; i++) {
            if (v->pages[i])
                pmm_free_page(pmm_page_from_paddr(v->pages[i]));
            v->pages[i] = 0;
        }
        return ZX_OK;
    default:
        return ZX_ERR_NOT_SUPPORTED;
    }
}

void vmo_add_mapping(struct vmo *v, struct vm_mapping *m) {
    list_add_tail(&v->mappings, &m->vmo_node);
}

void vmo_remove_mapping(struct vmo *v, struct vm_mapping *m) {
    ASSERT(list_in_list(&m->vmo_node));
    list_delete(&m->vmo_node);
}

zx_status_t vmo_fault_page(struct vmo *v, uint64_t offset, uint32_t fault_flags, paddr_t *out_pa,
                           bool *out_writable) {
    if (offset >= v->size)
        return ZX_ERR_OUT_OF_RANGE;
    uint64_t i = offset / PAGE_SIZE;
    if (!v->pages[i] && !(fault_flags & VMO_FAULT_WRITE)) {
        *out_pa = zero_page();
        *out_writable = false;
        return ZX_OK;
    }
    if (!commit(v, i))
        return ZX_ERR_NO_MEMORY;
    *out_pa = v->pages[i];
    *out_writable = true;
    return ZX_OK;
}

zx_status_t vmo_lookup_pages(struct vmo *v, uint64_t offset, uint64_t len, vmo_page_fn fn,
                             void *ctx) {
    uint64_t end = offset + MIN(len, v->size > offset ? v->size - offset : 0);
    for (uint64_t o = offset; o < end; o += PAGE_SIZE) {
        paddr_t pa = v->pages[o / PAGE_SIZE];
        if (!pa)
            continue;
        zx_status_t st = fn(ctx, o, pa, true);
        if (st == ZX_ERR_STOP)
            return ZX_OK;
        if (st != ZX_ERR_NEXT)
            return st;
    }
    return ZX_OK;
}
