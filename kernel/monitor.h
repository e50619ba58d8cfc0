// A tiny interactive monitor on the serial console (boot with `shell`): memory maps, page counts,
// running tests, powering off.
#ifndef KERNEL_MONITOR_H
#define KERNEL_MONITOR_H

#include "kernel/compiler.h"

NORETURN void monitor_run(void);

#endif  // KERNEL_MONITOR_H
