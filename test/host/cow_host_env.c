// Host stand-ins the VMO layer needs from the rest of the kernel: kernel objects (refcount and
// signals, no waiting) and a recording vm_mapping_range_change, so tests can check that range
// changes reach every mapping with the right ranges (test/host/cow_host_env.h).
#include "test/host/cow_host_env.h"

#include "kernel/assert.h"
#include "kernel/object.h"

static zx_koid_t next_koid = 1024;
static size_t live_objects;

void kobject_init(struct kobject *obj, zx_obj_type_t type, const struct kobject_ops *ops) {
    ASSERT(ops && ops->destroy);
    obj->type = type;
    obj->refs = 1;
    obj->handles = 0;
    obj->signals = 0;
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

void kobject_signal(struct kobject *obj, zx_signals_t clear, zx_signals_t set) {
    obj->signals = (obj->signals & ~clear) | set;
}

zx_signals_t kobject_signals(struct kobject *obj) {
    return obj->signals;
}

size_t kobject_live_count(void) {
    return live_objects;
}

struct range_change_log range_changes;

void vm_mapping_range_change(struct vm_mapping *m, uint64_t vmo_offset, uint64_t len,
                             enum vm_range_op op) {
    struct range_change_log *l = &range_changes;
    if (l->count < countof(l->entries))
        l->entries[l->count] = (struct range_change){m, vmo_offset, len, op};
    l->count++;
}
