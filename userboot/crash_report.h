// userboot's crash reporter (userboot/crash_report.c).
#ifndef USERBOOT_CRASH_REPORT_H
#define USERBOOT_CRASH_REPORT_H

#include <stddef.h>
#include <zircon/types.h>

// Binds the root job's exception channel and starts the reporter thread. `vmos` and `names` (the
// programs' boot modules and their names, NULL for none) must stay valid for good. Returns the
// first failing call's status (then nothing is reported, and faults kill as before).
zx_status_t crash_report_start(const zx_handle_t *vmos, const char *const *names, size_t count);

#endif  // USERBOOT_CRASH_REPORT_H
