// Multiboot2 boot information: tags of (type, size) padded to 8 bytes, ending with type 0.
#include "arch/x86_64/multiboot2.h"

#include "arch/x86_64/asm.h"
#include "kernel/printf.h"
#include "vm/physmap.h"

#define TAG_END 0
#define TAG_CMDLINE 1
#define TAG_LOADER_NAME 2
#define TAG_MODULE 3
#define TAG_MMAP 6
#define TAG_ACPI_OLD 14  // a copy of the ACPI 1.0 RSDP
#define TAG_ACPI_NEW 15  // a copy of the ACPI 2.0+ RSDP (with the XSDT)

#define MMAP_AVAILABLE 1
#define MMAP_ACPI 3
#define MMAP_NVS 4
#define MMAP_BAD 5

struct PACKED mb2_tag {
    uint32_t type;
    uint32_t size;
};

struct PACKED mb2_mmap_entry {
    uint64_t base;
    uint64_t len;
    uint32_t type;
    uint32_t reserved;
};

struct boot_info boot_info;

extern char kernel_phys_start[], kernel_end[];

static enum mem_kind mmap_kind(uint32_t type) {
    switch (type) {
    case MMAP_AVAILABLE:
        return MEM_AVAILABLE;
    case MMAP_ACPI:
        return MEM_ACPI;
    case MMAP_NVS:
        return MEM_NVS;
    case MMAP_BAD:
        return MEM_BAD;
    default:
        return MEM_RESERVED;
    }
}

static zx_status_t mark(paddr_t start, paddr_t end, enum mem_kind kind) {
    return phys_ranges_set(&physical_ranges, ROUNDDOWN(start, (paddr_t)PAGE_SIZE),
                           ROUNDUP(end, (paddr_t)PAGE_SIZE), kind);
}

zx_status_t multiboot2_parse(uint32_t magic, paddr_t info_pa) {
    if (magic != MULTIBOOT2_BOOTLOADER_MAGIC) {
        kprintf("multiboot2: bad magic %#x\n", magic);
        return ZX_ERR_INVALID_ARGS;
    }
    const uint8_t *info = paddr_to_kva(info_pa);
    uint32_t total = *(const uint32_t *)info;
    boot_info = (struct boot_info){.cmdline = "", .loader = "", .info_start = info_pa,
                                   .info_end = info_pa + total};

    // First pass: the memory map decides the limit of the range map.
    const struct mb2_tag *mmap = NULL;
    for (const uint8_t *p = info + 8; p < info + total;) {
        const struct mb2_tag *tag = (const struct mb2_tag *)p;
        if (tag->type == TAG_END)
            break;
        switch (tag->type) {
        case TAG_CMDLINE:
            boot_info.cmdline = (const char *)(tag + 1);
            break;
        case TAG_LOADER_NAME:
            boot_info.loader = (const char *)(tag + 1);
            break;
        case TAG_MMAP:
            mmap = tag;
            break;
        case TAG_ACPI_OLD:
        case TAG_ACPI_NEW:
            if (tag->type == TAG_ACPI_NEW || !boot_info.acpi_rsdp) {
                boot_info.acpi_rsdp = tag + 1;
                boot_info.acpi_rsdp_len = tag->size - sizeof(*tag);
            }
            break;
        case TAG_MODULE:
            if (boot_info.module_count < BOOT_MODULES_MAX) {
                const uint32_t *m = (const uint32_t *)(tag + 1);
                boot_info.modules[boot_info.module_count++] = (struct boot_module){
                    m[0], m[1], (const char *)(m + 2)};
            } else {
                kprintf("multiboot2: more than %d modules; ignoring the rest\n", BOOT_MODULES_MAX);
            }
            break;
        default:
            break;
        }
        p += ROUNDUP(tag->size, 8u);
    }
    if (!mmap) {
        kprintf("multiboot2: no memory map\n");
        return ZX_ERR_INVALID_ARGS;
    }

    const uint32_t *mh = (const uint32_t *)(mmap + 1);
    uint32_t entry_size = mh[0];
    const uint8_t *entries = (const uint8_t *)(mh + 2);
    const uint8_t *end = (const uint8_t *)mmap + mmap->size;
    paddr_t limit = 0;
    for (const uint8_t *e = entries; e + entry_size <= end; e += entry_size) {
        const struct mb2_mmap_entry *m = (const struct mb2_mmap_entry *)e;
        if (m->base + m->len > limit)
            limit = m->base + m->len;
    }
    phys_ranges_init(&physical_ranges, ROUNDUP(limit, (paddr_t)PAGE_SIZE));
    zx_status_t st = ZX_OK;
    // Available first, then everything else over it, so overlaps resolve to "not usable".
    for (int pass = 0; pass < 2; pass++) {
        for (const uint8_t *e = entries; e + entry_size <= end && st == ZX_OK; e += entry_size) {
            const struct mb2_mmap_entry *m = (const struct mb2_mmap_entry *)e;
            enum mem_kind kind = mmap_kind(m->type);
            if ((kind == MEM_AVAILABLE) != (pass == 0))
                continue;
            // Shrink available ranges to whole pages and widen the others.
            if (kind == MEM_AVAILABLE)
                st = phys_ranges_set(&physical_ranges, ROUNDUP(m->base, (paddr_t)PAGE_SIZE),
                                     ROUNDDOWN(m->base + m->len, (paddr_t)PAGE_SIZE), kind);
            else
                st = mark(m->base, m->base + m->len, kind);
        }
    }
    if (st == ZX_OK)
        st = mark((paddr_t)(uintptr_t)kernel_phys_start,
                  (paddr_t)((uintptr_t)kernel_end - KERNEL_VMA), MEM_KERNEL);
    for (size_t i = 0; i < boot_info.module_count && st == ZX_OK; i++)
        st = mark(boot_info.modules[i].start, boot_info.modules[i].end, MEM_MODULE);
    if (st == ZX_OK)
        st = mark(boot_info.info_start, boot_info.info_end, MEM_BOOT);
    // The first page and the legacy BIOS area below 1 MiB stay out of the allocator's way.
    if (st == ZX_OK && phys_ranges_kind(&physical_ranges, 0) == MEM_AVAILABLE)
        st = mark(0, PAGE_SIZE, MEM_RESERVED);
    return st;
}
