// The boot-time ASLR inputs (kernel only): the TSC, the `aslr` command-line key.
#include "arch/x86_64/cpu.h"
#include "kernel/cmdline.h"
#include "vm/aslr.h"

bool aslr_boot_enabled(void) {
    // Absent or any true value: on. `aslr=0` (or false/off/no): off.
    return !cmdline_get(&kernel_cmdline, "aslr") || cmdline_get_bool(&kernel_cmdline, "aslr");
}

uint64_t aslr_boot_entropy(void) {
    uint64_t a = rdtsc();
    uint64_t b = rdtsc();
    return a * 0x9e3779b97f4a7c15ull ^ (b << 17) ^ (b >> 13);
}
