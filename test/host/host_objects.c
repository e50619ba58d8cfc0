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

// The pager's upcalls (vm/upcalls.h, vm/page_source.h). Host tests with a pager VMO
// (cow_pager_model.c) set host_pager_serve: a thread that must wait for a request calls it (no
// lock held) to have the pager answer at once; without it, reaching a wait is a bug.
#include "kernel/heap.h"
#include "vm/page_source.h"
#include "vm/upcalls.h"

void (*host_pager_serve)(struct page_source *src);

zx_status_t page_source_send_locked(struct page_source *src, uint16_t command, uint64_t offset,
                                    uint64_t length) {
    if (!host_pager_serve)
        panic("page_source_send_locked(%u, %#llx, %#llx) on the host", command,
              (unsigned long long)offset, (unsigned long long)length);
    (void)src;
    return ZX_OK;  // the packet: host_pager_serve answers when someone waits
}

void page_request_wake(struct page_request *r) {
    r->done = true;
}

// As vm/pager.c's, with the pager's answer in place of the sleep.
zx_status_t page_request_wait(struct page_source *src, struct page_request *r) {
    if (!host_pager_serve)
        panic("page_request_wait on the host");
    if (!r->done)
        host_pager_serve(src);
    mutex_acquire(&src->tree->lock);
    ASSERT_MSG(r->done, "page_request_wait: the host pager left [%#llx, %#llx) unanswered",
               (unsigned long long)r->start, (unsigned long long)r->end);
    zx_status_t st = r->status;
    ASSERT(r->refs > 0);
    if (--r->refs == 0)
        kfree(r);
    mutex_release(&src->tree->lock);
    return st;
}

void page_source_release(struct page_source *src) {
    ASSERT(src->detached && src->vmo == NULL);
    kfree(src);
}
