// RSDP -> XSDT/RSDT -> MADT -> local APIC ids. See acpi.h. Multi-byte fields are read with memcpy:
// ACPI packs its structures, so 8-byte XSDT entries and MADT fields sit at any alignment.
#include "arch/x86_64/acpi.h"

#include "kernel/printf.h"
#include "kernel/string.h"
#include "vm/physmap.h"

// Offsets into the structures (ACPI 6.5, sections 5.2.5 to 5.2.12).
#define RSDP_REVISION 15
#define RSDP_RSDT 16
#define RSDP_LENGTH 20
#define RSDP_XSDT 24
#define SDT_LENGTH 4
#define MADT_LAPIC_ADDR 36
#define MADT_ENTRIES 44

#define MADT_LAPIC 0           // processor local APIC: uid u8, apic id u8, flags u32
#define MADT_LAPIC_OVERRIDE 5  // reserved u16, 64-bit local APIC address
#define MADT_X2APIC 9          // reserved u16, x2APIC id u32, flags u32, uid u32
#define MADT_ENABLED 1u        // flags bit 0; "online capable" CPUs (bit 1 alone) are hot-plug

static uint32_t rd32(const uint8_t *p) {
    uint32_t v;
    memcpy(&v, p, sizeof(v));
    return v;
}

static uint64_t rd64(const uint8_t *p) {
    uint64_t v;
    memcpy(&v, p, sizeof(v));
    return v;
}

uint8_t acpi_checksum(const void *p, size_t len) {
    const uint8_t *b = p;
    uint8_t sum = 0;
    for (size_t i = 0; i < len; i++)
        sum = (uint8_t)(sum + b[i]);
    return sum;
}

// The table at `pa` if it lies below `limit`, carries `sig` and sums to zero; NULL otherwise.
static const uint8_t *sdt_at(paddr_t pa, paddr_t limit, const char *sig) {
    if (pa == 0 || pa >= limit || limit - pa < ACPI_SDT_HEADER_LEN)
        return NULL;
    const uint8_t *t = paddr_to_kva(pa);
    uint32_t len = rd32(t + SDT_LENGTH);
    if (len < ACPI_SDT_HEADER_LEN || limit - pa < len || memcmp(t, sig, 4) != 0)
        return NULL;
    if (acpi_checksum(t, len) != 0) {
        kprintf("acpi: %.4s at %#llx has a bad checksum; ignored\n", sig, (unsigned long long)pa);
        return NULL;
    }
    return t;
}

// Finds the MADT through the root table (`xsdt`: 8-byte entries, else 4-byte).
static const uint8_t *find_madt(const uint8_t *root, bool xsdt, paddr_t limit) {
    uint32_t len = rd32(root + SDT_LENGTH);
    size_t entry = xsdt ? 8 : 4;
    for (size_t off = ACPI_SDT_HEADER_LEN; off + entry <= len; off += entry) {
        paddr_t pa = xsdt ? rd64(root + off) : rd32(root + off);
        const uint8_t *t = sdt_at(pa, limit, "APIC");
        if (t)
            return t;
    }
    return NULL;
}

static void add_cpu(struct acpi_cpus *c, uint32_t apic_id) {
    for (uint32_t i = 0; i < c->count; i++)
        if (c->apic_ids[i] == apic_id)
            return;
    if (c->count < SMP_MAX_CPUS)
        c->apic_ids[c->count++] = apic_id;
    else
        c->dropped++;
}

static void parse_madt(const uint8_t *madt, struct acpi_cpus *c) {
    uint32_t len = rd32(madt + SDT_LENGTH);
    c->lapic_pa = len >= MADT_ENTRIES ? rd32(madt + MADT_LAPIC_ADDR) : 0;
    for (size_t off = MADT_ENTRIES; off + 2 <= len;) {
        const uint8_t *e = madt + off;
        uint8_t type = e[0], elen = e[1];
        if (elen < 2 || off + elen > len)
            break;  // malformed: keep what was read so far
        if (type == MADT_LAPIC && elen >= 8 && (rd32(e + 4) & MADT_ENABLED))
            add_cpu(c, e[3]);
        else if (type == MADT_X2APIC && elen >= 16 && (rd32(e + 8) & MADT_ENABLED))
            add_cpu(c, rd32(e + 4));
        else if (type == MADT_LAPIC_OVERRIDE && elen >= 12)
            c->lapic_pa = rd64(e + 4);
        off += elen;
    }
}

zx_status_t acpi_read_cpus(const void *rsdp, size_t len, paddr_t readable_end,
                           struct acpi_cpus *out) {
    const uint8_t *r = rsdp;
    if (!r || len < ACPI_RSDP_V1_LEN || memcmp(r, "RSD PTR ", 8) != 0 ||
        acpi_checksum(r, ACPI_RSDP_V1_LEN) != 0)
        return ZX_ERR_INVALID_ARGS;
    const uint8_t *root = NULL;
    bool xsdt = false;
    // Revision 2+ has an XSDT (64-bit entries) behind an extended checksum; prefer it.
    if (r[RSDP_REVISION] >= 2 && len >= ACPI_RSDP_V2_LEN && rd32(r + RSDP_LENGTH) >= ACPI_RSDP_V2_LEN &&
        acpi_checksum(r, ACPI_RSDP_V2_LEN) == 0) {
        root = sdt_at(rd64(r + RSDP_XSDT), readable_end, "XSDT");
        xsdt = root != NULL;
    }
    if (!root)
        root = sdt_at(rd32(r + RSDP_RSDT), readable_end, "RSDT");
    if (!root)
        return ZX_ERR_NOT_FOUND;
    const uint8_t *madt = find_madt(root, xsdt, readable_end);
    if (!madt)
        return ZX_ERR_NOT_FOUND;
    struct acpi_cpus c = {0};
    parse_madt(madt, &c);
    if (c.count == 0)
        return ZX_ERR_NOT_FOUND;
    *out = c;
    return ZX_OK;
}
