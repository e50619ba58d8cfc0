// Reading the multiboot2 boot information GRUB hands the kernel.
#ifndef ARCH_X86_64_MULTIBOOT2_H
#define ARCH_X86_64_MULTIBOOT2_H

#include "kernel/types.h"
#include "vm/phys_ranges.h"

#define MULTIBOOT2_BOOTLOADER_MAGIC 0x36d76289u
#define BOOT_MODULES_MAX 48  // userboot and up to 47 programs (the bootstrap message carries 64 handles)

struct boot_module {
    paddr_t start;
    paddr_t end;         // exclusive
    const char *name;    // the module's command line (its file name), in the boot information
};

struct boot_info {
    const char *cmdline;     // "" if none
    const char *loader;      // boot loader name, "" if none
    struct boot_module modules[BOOT_MODULES_MAX];
    size_t module_count;
    paddr_t info_start, info_end;  // the boot information itself
    const void *acpi_rsdp;   // the loader's copy of the ACPI RSDP (new tag over old), or NULL
    size_t acpi_rsdp_len;    // bytes in that copy
};

extern struct boot_info boot_info;

// Parses the boot information at physical `info_pa` (reached through the physmap) into boot_info
// and builds physical_ranges from its memory map, marking the kernel image, the modules and the
// boot information. Returns ZX_ERR_INVALID_ARGS on a wrong magic or a missing memory map.
zx_status_t multiboot2_parse(uint32_t magic, paddr_t info_pa) MUST_USE;

#endif  // ARCH_X86_64_MULTIBOOT2_H
