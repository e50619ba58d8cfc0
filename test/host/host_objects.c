// Host stand-ins for kernel objects (kernel/object.c needs the scheduler): reference counts and
// signals, no handles and no waiting. Linked by the host tests of the VMO and mapping layers.
#include "kernel/assert.h"
#include "kernel/object.h"
#include "kernel/string.h"

static zx_koid_t next_koid = 1024;
static size_t live_objects;

void kobject_init(struct kobject *obj, zx_obj_type_t type, const struct kobject_ops *ops) {
    ASSERT(ops && ops->destroy);
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

void kobject_signal(struct kobject *obj, zx_signals_t clear, zx_signals_t set) {
    obj->signals = (obj->signals & ~clear) | set;
}

zx_signals_t kobject_signals(struct kobject *obj) {
    return obj->signals;
}

size_t kobject_live_count(void) {
    return live_objects;
}
