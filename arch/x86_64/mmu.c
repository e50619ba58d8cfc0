// The kernel's MMU set-up: CPU protections and the kernel's own tables, built at boot with the
// page-table layer (pt_range_map for the image and 4 KiB runs, pt_map_entry for large pages).
// Kernel only. The TLB and CR3 primitives live in tlb_hw.c.
#include "arch/x86_64/mmu.h"

#include "arch/x86_64/arch_aspace.h"
#include "arch/x86_64/cpu.h"
#include "arch/x86_64/pt.h"
#include "arch/x86_64/pt_range.h"
#include "arch/x86_64/tlb.h"
#include "kernel/assert.h"
#include "kernel/printf.h"

extern char kernel_text_start[], kernel_text_end[];
extern char kernel_rodata_start[], kernel_rodata_end[];
extern char kernel_data_start[], kernel_end[];

struct arch_mmu_features arch_mmu_features;
struct arch_mmu_physmap_info arch_mmu_physmap_info;

static void detect_features(void) {
    struct arch_mmu_features *f = &arch_mmu_features;
    uint32_t r[4];
    cpuid(0, 0, r);
    uint32_t max_leaf = r[0];
    cpuid(1, 0, r);
    f->pge = (r[3] >> 13) & 1;
    if (max_leaf >= 7) {
        cpuid(7, 0, r);
        f->smep = (r[1] >> 7) & 1;
        f->smap = (r[1] >> 20) & 1;
    }
    cpuid(0x80000000, 0, r);
    if (r[0] >= 0x80000001) {
        cpuid(0x80000001, 0, r);
        f->nx = (r[3] >> 20) & 1;
        f->page_1g = (r[3] >> 26) & 1;
    }
}

static void enable_protections(void) {
    const struct arch_mmu_features *f = &arch_mmu_features;
    if (f->nx)
        wrmsr(MSR_EFER, rdmsr(MSR_EFER) | EFER_NXE);
    pt_nx_enabled = f->nx;
    write_cr0(read_cr0() | CR0_WP);
    uint64_t cr4 = read_cr4();
    if (f->pge)
        cr4 |= CR4_PGE;
    if (f->smep)
        cr4 |= CR4_SMEP;
    if (f->smap)
        cr4 |= CR4_SMAP;
    write_cr4(cr4);
}

bool arch_mmu_physmap_maps(enum mem_kind kind) {
    switch (kind) {
    case MEM_AVAILABLE:
    case MEM_KERNEL:
    case MEM_MODULE:
    case MEM_BOOT:
    case MEM_ACPI:
    case MEM_NVS:
        return true;
    default:
        return false;
    }
}

bool arch_mmu_physmap_next_run(size_t *cursor, paddr_t *out_start, paddr_t *out_end) {
    const struct phys_ranges *pr = &physical_ranges;
    size_t i = *cursor;
    while (i < pr->count) {
        if (!arch_mmu_physmap_maps(pr->r[i].kind)) {
            i++;
            continue;
        }
        // Adjacent RAM ranges of different kinds make one run.
        paddr_t start = pr->r[i].start, end = pr->r[i].end;
        while (i + 1 < pr->count && arch_mmu_physmap_maps(pr->r[i + 1].kind) &&
               pr->r[i + 1].start == end)
            end = pr->r[++i].end;
        i++;
        start = ROUNDUP(start, (paddr_t)PAGE_SIZE);
        end = ROUNDDOWN(end, (paddr_t)PAGE_SIZE);
        if (start < end) {
            *cursor = i;
            *out_start = start;
            *out_end = end;
            return true;
        }
    }
    *cursor = i;
    return false;
}

uint64_t arch_mmu_physmap_page_size(paddr_t pa, paddr_t end) {
    if (arch_mmu_features.page_1g && IS_ALIGNED(pa, PAGE_SIZE_1G) && end - pa >= PAGE_SIZE_1G)
        return PAGE_SIZE_1G;
    if (IS_ALIGNED(pa, PAGE_SIZE_2M) && end - pa >= PAGE_SIZE_2M)
        return PAGE_SIZE_2M;
    return PAGE_SIZE;
}

static void map_kernel_section(const char *start, const char *end, pte_t perm) {
    vaddr_t va = (vaddr_t)start;
    size_t count = (size_t)(end - start) / PAGE_SIZE;
    ASSERT(IS_ALIGNED(va, (vaddr_t)PAGE_SIZE) && IS_ALIGNED((vaddr_t)end, (vaddr_t)PAGE_SIZE));
    if (count == 0)
        return;
    zx_status_t st = pt_range_map((pte_t *)arch_kernel_aspace.root, va, NULL, va - KERNEL_VMA,
                                  count, perm | PTE_G);
    if (st != ZX_OK)
        panic("arch_mmu_init: cannot map the kernel at %#llx (%d)", (unsigned long long)va, st);
}

// Maps the physical run [start, end) (page-aligned) into the physmap with the largest pages.
static void map_physmap_run(paddr_t start, paddr_t end) {
    const pte_t perm = PTE_P | PTE_W | PTE_G | PTE_NX;
    pte_t *root = (pte_t *)arch_kernel_aspace.root;
    struct arch_mmu_physmap_info *info = &arch_mmu_physmap_info;
    paddr_t pa = start;
    while (pa < end) {
        uint64_t size = arch_mmu_physmap_page_size(pa, end);
        paddr_t at = pa;
        zx_status_t st;
        if (size > PAGE_SIZE) {
            st = pt_map_entry(root, PHYSMAP_BASE + pa, pa, perm, size == PAGE_SIZE_1G ? 2 : 1);
            pa += size;
            if (size == PAGE_SIZE_1G)
                info->pages_1g++;
            else
                info->pages_2m++;
        } else {
            // 4 KiB pages up to the next 2 MiB boundary (or the end of the run).
            paddr_t stop = MIN(ROUNDDOWN(pa, (paddr_t)PAGE_SIZE_2M) + PAGE_SIZE_2M, end);
            size_t count = (size_t)((stop - pa) / PAGE_SIZE);
            st = pt_range_map(root, PHYSMAP_BASE + pa, NULL, pa, count, perm);
            pa = stop;
            info->pages_4k += count;
        }
        if (st != ZX_OK)
            panic("arch_mmu_init: cannot map physical %#llx (%d)", (unsigned long long)at, st);
    }
    if (end > info->end)
        info->end = end;
}

static void map_physmap(void) {
    size_t cursor = 0;
    paddr_t start, end;
    while (arch_mmu_physmap_next_run(&cursor, &start, &end))
        map_physmap_run(start, end);
}

void arch_mmu_init(void) {
    detect_features();
    enable_protections();
    zx_status_t st = arch_aspace_init_kernel();
    if (st != ZX_OK)
        panic("arch_mmu_init: cannot create the kernel's address space (%d)", st);
    map_kernel_section(kernel_text_start, kernel_text_end, PTE_P);
    map_kernel_section(kernel_rodata_start, kernel_rodata_end, PTE_P | PTE_NX);
    map_kernel_section(kernel_data_start, kernel_end, PTE_P | PTE_W | PTE_NX);
    map_physmap();
    ASSERT(pt_check((pte_t *)arch_kernel_aspace.root));
    arch_aspace_activate(NULL);
    tlb_flush_all(true);

    const struct arch_mmu_features *f = &arch_mmu_features;
    const struct arch_mmu_physmap_info *info = &arch_mmu_physmap_info;
    kprintf("mmu: kernel tables %#llx (%zu table pages); physmap up to %llu MiB: %zu x 1 GiB, "
            "%zu x 2 MiB, %zu x 4 KiB pages; nx %d smep %d smap %d pge %d 1g %d\n",
            (unsigned long long)arch_kernel_aspace.root_pa,
            arch_aspace_table_pages(&arch_kernel_aspace),
            (unsigned long long)(info->end >> 20), info->pages_1g, info->pages_2m,
            info->pages_4k, f->nx, f->smep, f->smap, f->pge, f->page_1g);
}
