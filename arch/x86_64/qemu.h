// Stopping the machine with a pass/fail status the test scripts read.
#ifndef ARCH_X86_64_QEMU_H
#define ARCH_X86_64_QEMU_H

#include <stdbool.h>

#include "kernel/compiler.h"

#define QEMU_EXIT_VALUE_SUCCESS 0x10  // QEMU exits with status 33
#define QEMU_EXIT_VALUE_FAILURE 0x11  // QEMU exits with status 35

NORETURN void qemu_exit(bool success);

#endif  // ARCH_X86_64_QEMU_H
