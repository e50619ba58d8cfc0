// What the object_get_info topics share (syscalls/sys_object.c holds the table of topics; the
// task topics' handlers are in syscalls/info_task.c).
#ifndef SYSCALLS_INFO_H
#define SYSCALLS_INFO_H

#include <zircon/types.h>

#include "kernel/object.h"

// Where a topic's handler writes: room for `max` records of the topic's size at `records`
// (kernel memory), then how many it wrote and how many there are. A single-record topic's
// handler finds max, actual and avail at 1 and writes its one record.
struct info_out {
    void *records;
    size_t max, actual, avail;
};

// Fills `out` for the object `obj` that a handle with `rights` names (type and rights already
// checked). Returns ZX_OK or the call's status.
typedef zx_status_t (*info_fill_fn)(struct kobject *obj, zx_rights_t rights, struct info_out *out);

// The task topics (docs/abi.md §10).
zx_status_t info_process_threads(struct kobject *obj, zx_rights_t rights, struct info_out *out);
zx_status_t info_job_children(struct kobject *obj, zx_rights_t rights, struct info_out *out);
zx_status_t info_job_processes(struct kobject *obj, zx_rights_t rights, struct info_out *out);
zx_status_t info_thread(struct kobject *obj, zx_rights_t rights, struct info_out *out);
zx_status_t info_handle_count(struct kobject *obj, zx_rights_t rights, struct info_out *out);
zx_status_t info_job(struct kobject *obj, zx_rights_t rights, struct info_out *out);
// ZX_INFO_THREAD_EXCEPTION_REPORT (syscalls/sys_exception.c): BAD_STATE if not in an exception.
zx_status_t info_thread_exception_report(struct kobject *obj, zx_rights_t rights,
                                         struct info_out *out);
zx_status_t info_process_vmos(struct kobject *obj, zx_rights_t rights, struct info_out *out);
zx_status_t info_task_stats(struct kobject *obj, zx_rights_t rights, struct info_out *out);

#endif  // SYSCALLS_INFO_H
