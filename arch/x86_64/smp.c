// Finding the CPUs and starting the APs. See smp.h and docs/smp.md.
#include "arch/x86_64/smp.h"

#include "arch/x86_64/acpi.h"
#include "arch/x86_64/multiboot2.h"
#include "kernel/cmdline.h"
#include "kernel/printf.h"

// What the MADT said; cpus.apic_ids is in MADT order (the BSP is not necessarily first).
static struct acpi_cpus madt_cpus;
static bool have_madt;

// The boot page tables map the first 4 GiB at the physmap (boot.S).
#define BOOT_READABLE_END (4ull << 30)

static void find_cpus(void) {
    const char *acpi = cmdline_get(&kernel_cmdline, "acpi");
    if (acpi && !cmdline_get_bool(&kernel_cmdline, "acpi")) {
        kprintf("acpi: off (command line); running on one CPU\n");
        return;
    }
    if (!boot_info.acpi_rsdp) {
        kprintf("acpi: the boot loader found no RSDP; running on one CPU\n");
        return;
    }
    zx_status_t st = acpi_read_cpus(boot_info.acpi_rsdp, boot_info.acpi_rsdp_len,
                                    BOOT_READABLE_END, &madt_cpus);
    if (st != ZX_OK) {
        kprintf("acpi: no usable MADT (%d); running on one CPU\n", st);
        return;
    }
    have_madt = true;
    kprintf("acpi: %u CPU(s) in the MADT, local APIC at %#llx, ids", madt_cpus.count,
            (unsigned long long)madt_cpus.lapic_pa);
    for (uint32_t i = 0; i < madt_cpus.count; i++)
        kprintf(" %u", madt_cpus.apic_ids[i]);
    if (madt_cpus.dropped)
        kprintf(" (%u more ignored: Jasper runs on at most %d)", madt_cpus.dropped, SMP_MAX_CPUS);
    kprintf("\n");
}

void smp_init_early(void) {
    find_cpus();
}

unsigned smp_cpus_found(void) {
    return have_madt ? madt_cpus.count : 1;
}
