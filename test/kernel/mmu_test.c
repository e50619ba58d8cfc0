// The kernel's real page tables and the CPU's protections (kernel only):
//   - a check_pagetable-style validator of every kernel mapping (text RX, rodata R, data RW, the
//     physmap RW over exactly the RAM ranges with the largest pages, everything NX but text, nothing
//     user-accessible, nothing in the lower half);
//   - NX, WP, SMEP and SMAP really fault (probes recover through the extable or a #PF hook);
//   - TLB invalidation really reaches the CPU (QEMU's soft TLB keeps stale translations otherwise);
//   - a user address space can be entered and left.
#include "arch/x86_64/arch_aspace.h"
#include "arch/x86_64/cpu.h"
#include "arch/x86_64/mmu.h"
#include "arch/x86_64/pt.h"
#include "arch/x86_64/trap.h"
#include "arch/x86_64/vmiter.h"
#include "kernel/ktest.h"
#include "kernel/printf.h"
#include "vm/phys_ranges.h"
#include "vm/pmm.h"

extern char kernel_text_start[], kernel_text_end[];
extern char kernel_rodata_start[], kernel_rodata_end[];
extern char kernel_data_start[], kernel_end[];

#define R ARCH_MMU_FLAG_READ
#define W ARCH_MMU_FLAG_WRITE
#define X ARCH_MMU_FLAG_EXECUTE
#define U ARCH_MMU_FLAG_USER

// An unused corner of the kernel's half (PML4 entry 510) for test mappings.
#define TEST_KVA 0xffffff0000000000ull
#define TEST_UVA 0x10000000ull

// --- Probes ----------------------------------------------------------------------------------

// Reads 8 bytes at `p`; returns false if that faulted.
static bool probe_read(uintptr_t p, uint64_t *out) {
    uint64_t v = 0;
    uint32_t faulted;
    __asm__ volatile("xorl %0, %0\n"
                     "1: movq (%2), %1\n"
                     "jmp 3f\n"
                     "2: movl $1, %0\n"
                     "3:\n"
                     ".pushsection extable, \"a\"\n"
                     ".balign 8\n"
                     ".quad 1b, 2b\n"
                     ".popsection\n"
                     : "=&r"(faulted), "=&r"(v)
                     : "r"(p)
                     : "memory");
    if (out && !faulted)
        *out = v;
    return !faulted;
}

// Writes 8 bytes at `p`; returns false if that faulted.
static bool probe_write(uintptr_t p, uint64_t v) {
    uint32_t faulted;
    __asm__ volatile("xorl %0, %0\n"
                     "1: movq %2, (%1)\n"
                     "jmp 3f\n"
                     "2: movl $1, %0\n"
                     "3:\n"
                     ".pushsection extable, \"a\"\n"
                     ".balign 8\n"
                     ".quad 1b, 2b\n"
                     ".popsection\n"
                     : "=&r"(faulted)
                     : "r"(p), "r"(v)
                     : "memory");
    return !faulted;
}

static volatile uintptr_t exec_target;
static volatile bool exec_faulted;
static trap_hook_fn exec_saved_hook;

// A fetch fault at the probed address returns to the probe's caller, as the `ret` would have.
static bool exec_probe_hook(struct trap_frame *tf) {
    if (exec_target && tf->rip == exec_target && (tf->error_code & PF_FETCH)) {
        exec_faulted = true;
        tf->rip = *(const uint64_t *)tf->rsp;
        tf->rsp += 8;
        return true;
    }
    return exec_saved_hook && exec_saved_hook(tf);
}

// Calls `target`, which must hold a `ret` (0xc3); returns false if fetching it faulted.
static bool probe_exec(uintptr_t target) {
    exec_saved_hook = trap_page_fault_hook;
    trap_page_fault_hook = exec_probe_hook;
    exec_faulted = false;
    exec_target = target;
    ((void (*)(void))target)();
    exec_target = 0;
    trap_page_fault_hook = exec_saved_hook;
    return !exec_faulted;
}

static void stac(void) {
    if (arch_mmu_features.smap)
        __asm__ volatile("stac" ::: "memory");
}

static void clac(void) {
    if (arch_mmu_features.smap)
        __asm__ volatile("clac" ::: "memory");
}

static void text_ret(void) {
}

static uint8_t data_code[64] ALIGNED(64) = {0xc3};
static const uint64_t rodata_value = 0x0123456789abcdefull;

// --- The validator ---------------------------------------------------------------------------

static bool in_section(vaddr_t va, const char *start, const char *end) {
    return va >= (vaddr_t)start && va < (vaddr_t)end;
}

// Every page of the run is in the physmap at its place, with the page size the physmap promises
// (the largest that fits).
static void check_ram_run(paddr_t start, paddr_t end) {
    struct vmiter it;
    vmiter_init(&it, arch_kernel_aspace.root, PHYSMAP_BASE + start);
    for (paddr_t pa = start; pa < end;) {
        vmiter_find(&it, PHYSMAP_BASE + pa);
        if (!EXPECT_TRUE(vmiter_present(&it)) || !EXPECT_EQ(vmiter_pa(&it), pa)) {
            kprintf("    physical %#llx is not in the physmap\n", (unsigned long long)pa);
            return;
        }
        if (!EXPECT_EQ(vmiter_range_size(&it), arch_mmu_physmap_page_size(pa, end)))
            return;
        pa = vmiter_last_va(&it) - PHYSMAP_BASE + 1;
    }
}

static bool all_ram(paddr_t pa, uint64_t size) {
    for (paddr_t p = pa; p < pa + size;) {
        const struct phys_range *r = phys_ranges_find(&physical_ranges, p);
        if (!r || !arch_mmu_physmap_maps(r->kind))
            return false;
        p = r->end;
    }
    return true;
}

KTEST(mmu, kernel_mappings_are_sound) {
    struct arch_aspace *k = &arch_kernel_aspace;
    EXPECT_TRUE(arch_aspace_check(k));
    const vaddr_t physmap_end = PHYSMAP_BASE + arch_mmu_physmap_info.end;
    size_t text = 0, rodata = 0, data = 0, physmap = 0;
    struct vmiter it;
    for (vmiter_init(&it, k->root, 0); !vmiter_done(&it) && !ktest_failed(); vmiter_next(&it)) {
        if (!vmiter_present(&it))
            continue;
        vaddr_t va = vmiter_va(&it);
        uint64_t pages = vmiter_range_size(&it) / PAGE_SIZE;
        bool w = vmiter_writable(&it), x = vmiter_executable(&it);
        bool global = (vmiter_perm(&it) & PTE_G) != 0;
        EXPECT_TRUE(va_is_upper(va));  // no identity map, nothing in the lower half
        EXPECT_FALSE(vmiter_user(&it));
        EXPECT_FALSE(w && x);
        if (in_section(va, kernel_text_start, kernel_text_end)) {
            EXPECT_TRUE(x && !w && global);
            EXPECT_EQ(vmiter_pa(&it), va - KERNEL_VMA);
            text += pages;
        } else if (in_section(va, kernel_rodata_start, kernel_rodata_end)) {
            EXPECT_TRUE(!x && !w && global);
            EXPECT_EQ(vmiter_pa(&it), va - KERNEL_VMA);
            rodata += pages;
        } else if (in_section(va, kernel_data_start, kernel_end)) {
            EXPECT_TRUE(!x && w && global);
            EXPECT_EQ(vmiter_pa(&it), va - KERNEL_VMA);
            data += pages;
        } else if (va >= PHYSMAP_BASE && va < physmap_end) {
            EXPECT_TRUE(!x && w && global);
            EXPECT_EQ(vmiter_pa(&it), va - PHYSMAP_BASE);
            EXPECT_TRUE(all_ram(va - PHYSMAP_BASE, vmiter_range_size(&it)));
            physmap += pages;
        } else {
            EXPECT_FALSE(x);  // only the kernel's text executes
        }
        if (ktest_failed())
            kprintf("    at %#llx (perm %#llx)\n", (unsigned long long)va,
                    (unsigned long long)vmiter_perm(&it));
    }
    EXPECT_EQ(text, (size_t)(kernel_text_end - kernel_text_start) / PAGE_SIZE);
    EXPECT_EQ(rodata, (size_t)(kernel_rodata_end - kernel_rodata_start) / PAGE_SIZE);
    EXPECT_EQ(data, (size_t)(kernel_end - kernel_data_start) / PAGE_SIZE);
    EXPECT_EQ(physmap, arch_mmu_physmap_info.pages_4k + arch_mmu_physmap_info.pages_2m * 512 +
                           arch_mmu_physmap_info.pages_1g * 512 * 512);
    size_t cursor = 0, run_pages = 0;
    paddr_t start, end;
    while (arch_mmu_physmap_next_run(&cursor, &start, &end) && !ktest_failed()) {
        check_ram_run(start, end);
        run_pages += (size_t)((end - start) / PAGE_SIZE);
    }
    EXPECT_EQ(run_pages, physmap);  // the runs are exactly what the walk found
    // Nothing between the kernel's window and its image (the boot code's physical home).
    vmiter_find(&it, KERNEL_VMA);
    EXPECT_FALSE(vmiter_present(&it));
}

KTEST(mmu, physmap_page_size_is_the_largest_that_fits) {
    const uint64_t G = PAGE_SIZE_1G, M = PAGE_SIZE_2M;
    REQUIRE_TRUE(arch_mmu_features.page_1g);
    EXPECT_EQ(arch_mmu_physmap_page_size(0, 4 * G), G);
    EXPECT_EQ(arch_mmu_physmap_page_size(G, 2 * G), G);
    EXPECT_EQ(arch_mmu_physmap_page_size(G, 2 * G - PAGE_SIZE), M);  // a 1 GiB page does not fit
    EXPECT_EQ(arch_mmu_physmap_page_size(M, 4 * G), M);              // aligned to 2 MiB only
    EXPECT_EQ(arch_mmu_physmap_page_size(3 * M, 4 * M - PAGE_SIZE), PAGE_SIZE);
    EXPECT_EQ(arch_mmu_physmap_page_size(M + PAGE_SIZE, 4 * G), PAGE_SIZE);
}

KTEST(mmu, protection_features_are_on) {
    const struct arch_mmu_features *f = &arch_mmu_features;
    EXPECT_TRUE(read_cr0() & CR0_WP);
    EXPECT_EQ(!!(read_cr4() & CR4_SMEP), f->smep);
    EXPECT_EQ(!!(read_cr4() & CR4_SMAP), f->smap);
    EXPECT_EQ(!!(read_cr4() & CR4_PGE), f->pge);
    EXPECT_EQ(!!(rdmsr(MSR_EFER) & EFER_NXE), f->nx);
    EXPECT_EQ(pt_nx_enabled, f->nx);
    // The CPU model scripts/lib.sh asks QEMU for has every one of them.
    EXPECT_TRUE(f->nx && f->smep && f->smap && f->pge && f->page_1g);
    EXPECT_EQ(read_cr3() & PTE_ADDR_MASK, tlb_active_root);
}

KTEST(mmu, nx_wp_and_the_missing_identity_map_fault) {
    arch_aspace_activate(NULL);
    uint64_t v = 0;
    EXPECT_TRUE(probe_exec((uintptr_t)&text_ret));            // text executes
    EXPECT_FALSE(probe_exec((uintptr_t)data_code));           // data does not (NX)
    EXPECT_TRUE(probe_read((uintptr_t)&rodata_value, &v));    // rodata reads...
    EXPECT_EQ(v, rodata_value);
    EXPECT_FALSE(probe_write((uintptr_t)&rodata_value, 1));   // ...but is not written (WP)
    EXPECT_EQ(*(volatile const uint64_t *)&rodata_value, 0x0123456789abcdefull);
    EXPECT_FALSE(probe_read(0x100000, NULL));                 // no identity map
    EXPECT_FALSE(probe_read((uintptr_t)kernel_text_start - KERNEL_VMA, NULL));
    vm_page_t *page = pmm_alloc_page(PAGE_STATE_WIRED);
    REQUIRE_TRUE(page != NULL);
    *(volatile uint8_t *)vm_page_kva(page) = 0xc3;
    EXPECT_FALSE(probe_exec((uintptr_t)vm_page_kva(page)));  // the physmap is NX
    pmm_free_page(page);
}

KTEST(mmu, user_pages_need_smap_windows_and_never_execute_in_the_kernel) {
    vm_page_t *page = pmm_alloc_page(PAGE_STATE_WIRED);
    REQUIRE_TRUE(page != NULL);
    uint8_t *kva = vm_page_kva(page);
    kva[0] = 0xc3;
    *(volatile uint64_t *)(kva + 8) = 0xfeedf00d;
    struct arch_aspace as;
    REQUIRE_OK(arch_aspace_create(&as));
    REQUIRE_OK(arch_aspace_map_contiguous(&as, TEST_UVA, vm_page_paddr(page), 1, R | W | X | U));

    arch_aspace_activate(&as);
    uint64_t v = 0;
    bool plain_read = probe_read(TEST_UVA + 8, &v);
    stac();
    bool open_read = probe_read(TEST_UVA + 8, &v);
    bool open_write = probe_write(TEST_UVA + 16, 77);
    clac();
    bool exec = probe_exec(TEST_UVA);
    bool kernel_still_here = probe_read((uintptr_t)&rodata_value, NULL);
    arch_aspace_activate(NULL);
    bool gone = !probe_read(TEST_UVA + 8, NULL);

    EXPECT_FALSE(plain_read);  // SMAP
    EXPECT_TRUE(open_read);
    EXPECT_EQ(v, 0xfeedf00d);
    EXPECT_TRUE(open_write);
    EXPECT_EQ(*(volatile uint64_t *)(kva + 16), 77);
    EXPECT_FALSE(exec);  // SMEP
    EXPECT_TRUE(kernel_still_here);  // the upper half is shared
    EXPECT_TRUE(gone);   // and the kernel's own space has no lower half
    arch_aspace_destroy(&as);
    pmm_free_page(page);
}

KTEST(mmu, tlb_invalidation_reaches_the_cpu) {
    arch_aspace_activate(NULL);
    struct arch_aspace *k = &arch_kernel_aspace;
    size_t tables0 = arch_aspace_table_pages(k);
    vm_page_t *a = pmm_alloc_page(PAGE_STATE_WIRED);
    vm_page_t *b = pmm_alloc_page(PAGE_STATE_WIRED);
    REQUIRE_TRUE(a && b);
    *(volatile uint64_t *)vm_page_kva(a) = 0xaaaa;
    *(volatile uint64_t *)vm_page_kva(b) = 0xbbbb;
    uint64_t v = 0;
    REQUIRE_OK(arch_aspace_map_contiguous(k, TEST_KVA, vm_page_paddr(a), 1, R | W));
    EXPECT_TRUE(probe_read(TEST_KVA, &v));  // the translation is now cached
    EXPECT_EQ(v, 0xaaaa);
    // Replace it through vmiter: the old translation must be gone.
    struct vmiter it;
    vmiter_init(&it, k->root, TEST_KVA);
    REQUIRE_OK(vmiter_try_map(&it, vm_page_paddr(b), PTE_P | PTE_W | PTE_G | PTE_NX));
    EXPECT_TRUE(probe_read(TEST_KVA, &v));
    EXPECT_EQ(v, 0xbbbb);
    // Write-protect: writes fault at once.
    EXPECT_TRUE(probe_write(TEST_KVA, 0xb0b0));
    REQUIRE_OK(arch_aspace_protect(k, TEST_KVA, 1, R));
    EXPECT_FALSE(probe_write(TEST_KVA, 0xdead));
    EXPECT_EQ(*(volatile uint64_t *)vm_page_kva(b), 0xb0b0);
    // Past the batch threshold: one global flush must drop all of them.
    paddr_t pas[2 * TLB_BATCH_MAX];
    for (size_t i = 0; i < countof(pas); i++)
        pas[i] = vm_page_paddr(a);
    REQUIRE_OK(arch_aspace_map_pages(k, TEST_KVA + PAGE_SIZE, pas, countof(pas), R));
    size_t readable = 0;
    for (size_t i = 0; i <= countof(pas); i++)
        readable += probe_read(TEST_KVA + i * PAGE_SIZE, NULL);
    EXPECT_EQ(readable, countof(pas) + 1);
    uint64_t flushes = tlb_stats.flush_global;
    REQUIRE_OK(arch_aspace_unmap(k, TEST_KVA, countof(pas) + 1));
    EXPECT_EQ(tlb_stats.flush_global, flushes + 1);
    readable = 0;
    for (size_t i = 0; i <= countof(pas); i++)
        readable += probe_read(TEST_KVA + i * PAGE_SIZE, NULL);
    EXPECT_EQ(readable, 0);
    EXPECT_EQ(arch_aspace_table_pages(k), tables0);
    pmm_free_page(a);
    pmm_free_page(b);
}
