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

// kobject_retain and kobject_release are inline (object.h); their out-of-line halves:
void kobject_retain_dead(struct kobject *obj) {
    panic("kobject_retain: koid %llu retained after its last release",
          (unsigned long long)obj->koid);
}

void kobject_release_last(struct kobject *obj, uint32_t old) {
    ASSERT(old == 1);
    live_objects--;
    obj->ops->destroy(obj);
}

void kobject_release_channel(struct kobject *obj) {
    panic("kobject_release_channel: koid %llu: no channels on the host",
          (unsigned long long)obj->koid);
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

// The pager's upcalls (vm/upcalls.h, vm/page_source.h): host tests make no pager VMOs, so these
// are never reached.
#include "vm/page_source.h"
#include "vm/upcalls.h"

zx_status_t page_source_send_locked(struct page_source *src, uint16_t command, uint64_t offset,
                                    uint64_t length) {
    (void)src;
    panic("page_source_send_locked(%u, %#llx, %#llx) on the host", command,
          (unsigned long long)offset, (unsigned long long)length);
}

void page_request_wake(struct page_request *r) {
    r->done = true;
}

zx_status_t page_request_wait(struct page_source *src, struct page_request *r) {
    (void)src;
    (void)r;
    panic("page_request_wait on the host");
}

void page_source_release(struct page_source *src) {
    (void)src;
    panic("page_source_release on the host");
}
