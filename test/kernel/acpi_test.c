// The ACPI reader on hand-built tables: RSDP v1 and v2, RSDT and XSDT, MADT entries of every kind
// bring-up reads, and the ways a table is refused (signature, checksum, length, out of reach).
// Pure: the tables live in one pmm page, at boot on real memory and on the host over simulated RAM.
#include "arch/x86_64/acpi.h"
#include "kernel/ktest.h"
#include "kernel/string.h"
#include "vm/pmm.h"

// Where the tables go inside the page.
#define OFF_RSDT 0x000
#define OFF_XSDT 0x100
#define OFF_MADT 0x200  // up to the end of the page

struct tables {
    vm_page_t *page;
    uint8_t *base;  // the page through the physmap
    paddr_t pa;
    uint8_t rsdp[ACPI_RSDP_V2_LEN];
    size_t madt_len;
};

static void put32(uint8_t *p, uint32_t v) {
    memcpy(p, &v, 4);
}
static void put64(uint8_t *p, uint64_t v) {
    memcpy(p, &v, 8);
}

// Fixes the checksum byte (offset 9) of the table at `t`.
static void seal(uint8_t *t) {
    uint32_t len;
    memcpy(&len, t + 4, 4);
    t[9] = 0;
    t[9] = (uint8_t)(0x100 - acpi_checksum(t, len));
}

static void header(uint8_t *t, const char *sig, uint32_t len) {
    memset(t, 0, ACPI_SDT_HEADER_LEN);
    memcpy(t, sig, 4);
    put32(t + 4, len);
    t[8] = 1;  // revision
}

// An RSDP pointing at the RSDT (v1) or at both (v2).
static void make_rsdp(struct tables *tb, int revision) {
    uint8_t *r = tb->rsdp;
    memset(r, 0, sizeof(tb->rsdp));
    memcpy(r, "RSD PTR ", 8);
    r[15] = (uint8_t)revision;
    put32(r + 16, (uint32_t)(tb->pa + OFF_RSDT));
    r[8] = (uint8_t)(0x100 - acpi_checksum(r, ACPI_RSDP_V1_LEN));
    if (revision >= 2) {
        put32(r + 20, ACPI_RSDP_V2_LEN);
        put64(r + 24, tb->pa + OFF_XSDT);
        r[32] = (uint8_t)(0x100 - acpi_checksum(r, ACPI_RSDP_V2_LEN));
    }
}

// RSDT and XSDT each list a dummy table and then the MADT (the XSDT entries are unaligned).
static void make_roots(struct tables *tb) {
    uint8_t *rsdt = tb->base + OFF_RSDT;
    header(rsdt, "RSDT", ACPI_SDT_HEADER_LEN + 8);
    put32(rsdt + 36, (uint32_t)(tb->pa + 0xf00));  // nothing valid there
    put32(rsdt + 40, (uint32_t)(tb->pa + OFF_MADT));
    seal(rsdt);
    uint8_t *xsdt = tb->base + OFF_XSDT;
    header(xsdt, "XSDT", ACPI_SDT_HEADER_LEN + 16);
    put64(xsdt + 36, tb->pa + 0xf00);
    put64(xsdt + 44, tb->pa + OFF_MADT);
    seal(xsdt);
}

static void madt_begin(struct tables *tb) {
    uint8_t *m = tb->base + OFF_MADT;
    header(m, "APIC", 44);
    put32(m + 36, 0xfee00000);
    put32(m + 40, 1);  // PC-AT compatible
    tb->madt_len = 44;
}

static void madt_add(struct tables *tb, const uint8_t *entry) {
    uint8_t *m = tb->base + OFF_MADT;
    memcpy(m + tb->madt_len, entry, entry[1]);
    tb->madt_len += entry[1];
    put32(m + 4, (uint32_t)tb->madt_len);
    seal(m);
}

static void madt_lapic(struct tables *tb, uint8_t apic_id, uint32_t flags) {
    uint8_t e[8] = {0, 8, apic_id, apic_id};
    put32(e + 4, flags);
    madt_add(tb, e);
}

static void madt_x2apic(struct tables *tb, uint32_t apic_id, uint32_t flags) {
    uint8_t e[16] = {9, 16};
    put32(e + 4, apic_id);
    put32(e + 8, flags);
    madt_add(tb, e);
}

static bool tables_init(struct tables *tb) {
    tb->page = pmm_alloc_page(PAGE_STATE_WIRED);
    if (!tb->page)
        return false;
    tb->base = vm_page_kva(tb->page);
    tb->pa = vm_page_paddr(tb->page);
    memset(tb->base, 0, PAGE_SIZE);
    make_roots(tb);
    madt_begin(tb);
    make_rsdp(tb, 0);
    return true;
}

static void tables_free(struct tables *tb) {
    pmm_free_page(tb->page);
}

static paddr_t all(const struct tables *tb) {
    return tb->pa + PAGE_SIZE;
}

KTEST(acpi, rsdt_madt_lists_enabled_cpus_once) {
    size_t free0 = pmm_count(PAGE_STATE_FREE);
    struct tables tb;
    REQUIRE_TRUE(tables_init(&tb));
    madt_lapic(&tb, 0, 1);
    madt_lapic(&tb, 1, 0);  // disabled
    madt_lapic(&tb, 2, 2);  // online capable only: hot-plug, not present at boot
    madt_lapic(&tb, 3, 1);
    uint8_t ioapic[12] = {1, 12};  // other entry types are skipped
    madt_add(&tb, ioapic);
    madt_x2apic(&tb, 300, 1);
    madt_x2apic(&tb, 3, 1);  // the same CPU again
    struct acpi_cpus c;
    EXPECT_OK(acpi_read_cpus(tb.rsdp, ACPI_RSDP_V1_LEN, all(&tb), &c));
    EXPECT_EQ(c.count, 3);
    EXPECT_EQ(c.apic_ids[0], 0);
    EXPECT_EQ(c.apic_ids[1], 3);
    EXPECT_EQ(c.apic_ids[2], 300);
    EXPECT_EQ(c.dropped, 0);
    EXPECT_EQ(c.lapic_pa, 0xfee00000);
    // A local APIC address override (type 5) wins over the header's field.
    uint8_t ov[12] = {5, 12};
    put64(ov + 4, 0x123456789000ull);
    madt_add(&tb, ov);
    EXPECT_OK(acpi_read_cpus(tb.rsdp, ACPI_RSDP_V1_LEN, all(&tb), &c));
    EXPECT_EQ(c.lapic_pa, 0x123456789000ull);
    tables_free(&tb);
    EXPECT_EQ(pmm_count(PAGE_STATE_FREE), free0);
}

KTEST(acpi, xsdt_preferred_rsdt_as_fallback) {
    struct tables tb;
    REQUIRE_TRUE(tables_init(&tb));
    madt_lapic(&tb, 7, 1);
    make_rsdp(&tb, 2);
    struct acpi_cpus c;
    EXPECT_OK(acpi_read_cpus(tb.rsdp, ACPI_RSDP_V2_LEN, all(&tb), &c));
    EXPECT_EQ(c.count, 1);
    EXPECT_EQ(c.apic_ids[0], 7);
    // The RSDT alone still works when the XSDT is broken...
    uint8_t *rsdt = tb.base + OFF_RSDT;
    tb.base[OFF_XSDT + 20] ^= 0xff;  // its checksum no longer holds
    EXPECT_OK(acpi_read_cpus(tb.rsdp, ACPI_RSDP_V2_LEN, all(&tb), &c));
    // ...and the XSDT is used when the RSDT is broken.
    tb.base[OFF_XSDT + 20] ^= 0xff;
    rsdt[0] = 'X';
    EXPECT_OK(acpi_read_cpus(tb.rsdp, ACPI_RSDP_V2_LEN, all(&tb), &c));
    // A v2 RSDP passed with only its v1 part falls back to the (now broken) RSDT.
    EXPECT_STATUS(acpi_read_cpus(tb.rsdp, ACPI_RSDP_V1_LEN, all(&tb), &c), ZX_ERR_NOT_FOUND);
    tables_free(&tb);
}

KTEST(acpi, bad_rsdp_is_refused) {
    struct tables tb;
    REQUIRE_TRUE(tables_init(&tb));
    madt_lapic(&tb, 0, 1);
    struct acpi_cpus c;
    EXPECT_STATUS(acpi_read_cpus(NULL, 0, all(&tb), &c), ZX_ERR_INVALID_ARGS);
    EXPECT_STATUS(acpi_read_cpus(tb.rsdp, ACPI_RSDP_V1_LEN - 1, all(&tb), &c),
                  ZX_ERR_INVALID_ARGS);
    tb.rsdp[0] = 'r';
    EXPECT_STATUS(acpi_read_cpus(tb.rsdp, ACPI_RSDP_V1_LEN, all(&tb), &c), ZX_ERR_INVALID_ARGS);
    tb.rsdp[0] = 'R';
    tb.rsdp[10] ^= 1;  // OEM id: the checksum fails
    EXPECT_STATUS(acpi_read_cpus(tb.rsdp, ACPI_RSDP_V1_LEN, all(&tb), &c), ZX_ERR_INVALID_ARGS);
    tables_free(&tb);
}

KTEST(acpi, bad_or_unreachable_tables_are_absent) {
    struct tables tb;
    REQUIRE_TRUE(tables_init(&tb));
    madt_lapic(&tb, 0, 1);
    madt_lapic(&tb, 1, 1);
    struct acpi_cpus c = {.count = 99};
    // The MADT ends past the readable limit.
    EXPECT_STATUS(acpi_read_cpus(tb.rsdp, ACPI_RSDP_V1_LEN, tb.pa + OFF_MADT + 50, &c),
                  ZX_ERR_NOT_FOUND);
    EXPECT_EQ(c.count, 99);  // untouched on failure
    // Its checksum fails.
    uint8_t *m = tb.base + OFF_MADT;
    m[20] ^= 1;
    EXPECT_STATUS(acpi_read_cpus(tb.rsdp, ACPI_RSDP_V1_LEN, all(&tb), &c), ZX_ERR_NOT_FOUND);
    m[20] ^= 1;
    // An entry of length 0 ends the walk; what came before it counts.
    uint8_t bad[8] = {0, 0};
    memcpy(m + 44 + 8, bad, 2);
    seal(m);
    EXPECT_OK(acpi_read_cpus(tb.rsdp, ACPI_RSDP_V1_LEN, all(&tb), &c));
    EXPECT_EQ(c.count, 1);
    // No enabled CPU at all.
    madt_begin(&tb);
    madt_lapic(&tb, 0, 0);
    EXPECT_STATUS(acpi_read_cpus(tb.rsdp, ACPI_RSDP_V1_LEN, all(&tb), &c), ZX_ERR_NOT_FOUND);
    tables_free(&tb);
}

KTEST(acpi, more_cpus_than_jasper_runs_on) {
    struct tables tb;
    REQUIRE_TRUE(tables_init(&tb));
    for (unsigned i = 0; i < SMP_MAX_CPUS + 5; i++)
        madt_x2apic(&tb, 1000 + i, 1);
    struct acpi_cpus c;
    EXPECT_OK(acpi_read_cpus(tb.rsdp, ACPI_RSDP_V1_LEN, all(&tb), &c));
    EXPECT_EQ(c.count, SMP_MAX_CPUS);
    EXPECT_EQ(c.dropped, 5);
    EXPECT_EQ(c.apic_ids[SMP_MAX_CPUS - 1], 1000 + SMP_MAX_CPUS - 1);
    tables_free(&tb);
}
