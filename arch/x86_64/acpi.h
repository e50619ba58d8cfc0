// ACPI, as far as CPU bring-up needs it: check the RSDP the boot loader copied into the multiboot2
// information, walk the XSDT (or RSDT) to the MADT ("APIC") and list the local APIC ids of the
// CPUs the firmware enabled. Pure code: tables are read through the physmap (paddr_to_kva) and never
// written, so host tests run it over simulated RAM.
//
// Every table is checked before it is believed: its whole length below the readable limit, its
// signature, its checksum. A table that fails is treated as absent.
#ifndef ARCH_X86_64_ACPI_H
#define ARCH_X86_64_ACPI_H

#include "arch/x86_64/smp.h"
#include "kernel/types.h"

#define ACPI_RSDP_V1_LEN 20  // revision 0: signature, checksum, OEM id, revision, RSDT address
#define ACPI_RSDP_V2_LEN 36  // revision 2+: adds length, XSDT address, extended checksum
#define ACPI_SDT_HEADER_LEN 36

// The CPUs a MADT lists.
struct acpi_cpus {
    paddr_t lapic_pa;                  // local APIC MMIO base (xAPIC mode): MADT, or type-5 override
    uint32_t count;                    // entries in apic_ids
    uint32_t dropped;                  // enabled CPUs beyond SMP_MAX_CPUS (not listed)
    uint32_t apic_ids[SMP_MAX_CPUS];   // enabled processors (types 0 and 9), MADT order, no repeats
};

// Reads the MADT reachable from the RSDP copy at `rsdp` (`len` bytes) into *out. Reads only
// physical memory below `readable_end`. Returns ZX_OK (then out->count >= 1),
// ZX_ERR_INVALID_ARGS (RSDP too short, bad signature or checksum), or ZX_ERR_NOT_FOUND (no valid
// RSDT/XSDT, no valid MADT, or a MADT without an enabled CPU); *out is written only on ZX_OK.
zx_status_t acpi_read_cpus(const void *rsdp, size_t len, paddr_t readable_end,
                           struct acpi_cpus *out) MUST_USE;

// The byte sum of [p, p + len) modulo 256: zero for a valid ACPI structure.
uint8_t acpi_checksum(const void *p, size_t len);

#endif  // ARCH_X86_64_ACPI_H
