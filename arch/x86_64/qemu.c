// Leaving QEMU with a status: the isa-debug-exit device at port 0xf4 makes QEMU exit with
// (value << 1) | 1. Jasper writes 0x10 for success (exit status 33) and 0x11 for failure (35), so
// no other way of stopping QEMU (a triple fault, a timeout) can be mistaken for success.
#include "arch/x86_64/qemu.h"

#include "arch/x86_64/cpu.h"

#define DEBUG_EXIT_PORT 0xf4

void qemu_exit(bool success) {
    irq_disable();
    outl(DEBUG_EXIT_PORT, success ? QEMU_EXIT_VALUE_SUCCESS : QEMU_EXIT_VALUE_FAILURE);
    // Without the device (a real machine, or QEMU run by hand), stop here.
    for (;;)
        cpu_halt();
}
