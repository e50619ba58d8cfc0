// kmain: the kernel's init order. Called by arch/x86_64/boot.S on the boot stack, interrupts off,
// with the multiboot2 magic and the physical address of the boot information.
#include "arch/x86_64/cpu.h"
#include "arch/x86_64/entropy.h"
#include "arch/x86_64/mmu.h"
#include "arch/x86_64/multiboot2.h"
#include "arch/x86_64/percpu.h"
#include "arch/x86_64/qemu.h"
#include "arch/x86_64/serial.h"
#include "arch/x86_64/smp.h"
#include "arch/x86_64/syscall.h"
#include "arch/x86_64/tlb.h"
#include "arch/x86_64/trap.h"
#include "kernel/assert.h"
#include "kernel/cmdline.h"
#include "kernel/heap.h"
#include "kernel/kbench.h"
#include "kernel/ktest_runner.h"
#include "kernel/monitor.h"
#include "kernel/oom.h"
#include "kernel/printf.h"
#include "kernel/process.h"
#include "kernel/string.h"
#include "kernel/thread.h"
#include "kernel/userboot.h"
#include "syscalls/user_copy.h"
#include "vm/aslr.h"
#include "vm/compressor.h"
#include "vm/phys_ranges.h"
#include "vm/physmap.h"
#include "vm/pmm.h"
#include "vm/reclaim.h"

uint8_t *physmap_base = (uint8_t *)0xffff800000000000ull;

// Keys the kernel understands; anything else on the command line is reported and ignored.
static const char *const known_keys[] = {
    "ktest",  // run in-kernel tests (optionally =SUITE[,SUITE.NAME...]) and power off
    "shell",  // after boot, run the serial monitor instead of powering off
    "bench",  // run the benchmarks (optionally =NAME[,NAME...]) and power off
    "userboot",  // start userboot from the first boot module; its return code is the verdict
    "aslr",   // aslr=0: place VMARs and mappings lowest-first instead of at random (vm/aslr.h)
    "acpi",   // acpi=off: ignore the ACPI tables (so: one CPU)
    "cpus",   // cpus=N: start at most N CPUs (the BSP included)
    "tlb_shootdown",  // tlb_shootdown=off: never send TLB IPIs (test-only: shows the TLB tests fail)
    "panic",  // panic once booted (scripts/test checks that the other CPUs stop and report)
    "compress.threshold",  // percent of a page a compressed page must stay below (vm/compressor.h)
    "compress.depth",      // match-search depth of the higher-ratio LZ4 mode (0: fast mode only)
    "compress",            // compress=0: no page shrinks (test-only: shows the pressure tests fail)
    "reclaim",             // reclaim=0: no aging and reclaim thread (vm/reclaim.h)
    "reclaim.zero_scan",   // =1: the zero-page scanner runs at NORMAL too
    "pq.rotate_ms",        // LRU bucket rotation period (vm/reclaim.h)
    "reclaim.eager_dont_need",  // =1: DONT_NEED reclaims at once, like MADV_PAGEOUT (vm/reclaim.h)
    "oom.kill",            // oom.kill=0: never OOM-kill (test-only: shows the OOM tests fail)
    "reclaim.critical_reserve",  // =0: the root job gets no reserve of its own (test-only)
};

static void check_cmdline(void) {
    cmdline_parse(boot_info.cmdline, &kernel_cmdline);
    if (kernel_cmdline.truncated)
        kprintf("cmdline: too long; the tail was ignored\n");
    for (size_t i = 0; i < kernel_cmdline.count; i++) {
        bool known = false;
        for (size_t k = 0; k < countof(known_keys); k++)
            known = known || strcmp(kernel_cmdline.keys[i], known_keys[k]) == 0;
        if (!known)
            kprintf("cmdline: unknown key '%s' ignored\n", kernel_cmdline.keys[i]);
    }
}

static void print_memory_summary(void) {
    const struct phys_ranges *pr = &physical_ranges;
    uint64_t usable = phys_ranges_total(pr, MEM_AVAILABLE);
    uint64_t in_use = phys_ranges_total(pr, MEM_KERNEL) + phys_ranges_total(pr, MEM_MODULE) +
                      phys_ranges_total(pr, MEM_BOOT);
    uint64_t reserved = 0;  // firmware ranges below the top of RAM
    paddr_t top = arch_mmu_physmap_info.end;
    for (size_t i = 0; i < pr->count; i++) {
        const struct phys_range *r = &pr->r[i];
        if (r->kind != MEM_AVAILABLE && r->kind != MEM_NONE && r->start < top &&
            r->kind != MEM_KERNEL && r->kind != MEM_MODULE && r->kind != MEM_BOOT)
            reserved += MIN(r->end, top) - r->start;
    }
    kprintf("memory: %llu MiB total RAM, %llu MiB usable, %llu KiB kernel+modules+boot, "
            "%llu KiB reserved\n",
            (unsigned long long)((usable + in_use) >> 20), (unsigned long long)(usable >> 20),
            (unsigned long long)(in_use >> 10), (unsigned long long)(reserved >> 10));
    for (size_t i = 0; i < pr->count; i++) {
        const struct phys_range *r = &pr->r[i];
        if (r->kind == MEM_NONE)
            continue;
        kprintf("  [%#012llx, %#012llx) %-9s %8llu KiB\n", (unsigned long long)r->start,
                (unsigned long long)r->end, mem_kind_name(r->kind),
                (unsigned long long)((r->end - r->start) >> 10));
    }
    kprintf("pmm: %zu free pages, %zu wired (page array of %zu entries)\n",
            pmm_count(PAGE_STATE_FREE), pmm_count(PAGE_STATE_WIRED), pmm_page_array_len());
}

void kmain(uint32_t magic, paddr_t info_pa);

void kmain(uint32_t magic, paddr_t info_pa) {
    serial_init();
    arch_descriptors_init();
    percpu_init(0);
    arch_syscall_init();
    user_copy_init();
    kprintf("\nJasper %s: a small x86-64 microkernel with a Zircon-style VM\n", "0.1");

    // The boot identity map of the low 4 GiB only served the switch to the higher half: drop it so
    // that user addresses fault in the kernel instead of reaching physical memory.
    extern uint64_t boot_pml4[512];
    boot_pml4[0] = 0;
    write_cr3(read_cr3());

    zx_status_t st = multiboot2_parse(magic, info_pa);
    if (st != ZX_OK)
        panic("kmain: cannot read the multiboot2 boot information (%d)", st);
    check_cmdline();
    aslr_init(!cmdline_get(&kernel_cmdline, "aslr") || cmdline_get_bool(&kernel_cmdline, "aslr"),
              arch_boot_entropy());  // on unless aslr=0 (or false/off/no)
    kprintf("boot: loader '%s', command line '%s', %zu module(s)\n", boot_info.loader,
            boot_info.cmdline, boot_info.module_count);

    tlb_shootdown_enabled = !cmdline_get(&kernel_cmdline, "tlb_shootdown") ||
                            cmdline_get_bool(&kernel_cmdline, "tlb_shootdown");
    smp_init_early();  // reads ACPI through the boot tables, before arch_mmu_init drops them
    ASSERT(phys_ranges_check(&physical_ranges));
    st = pmm_init(&physical_ranges);
    if (st != ZX_OK)
        panic("kmain: pmm_init failed (%d)", st);
    arch_mmu_init();  // the kernel's own tables: physmap of all RAM, W^X image, no identity map
    struct compressor_config compress_cfg;
    compressor_config_from_cmdline(&kernel_cmdline, &compress_cfg);
    compress_cfg.now_ns = current_time;
    compressor_init(&compress_cfg);
    print_memory_summary();
    sched_init();
    sched_start_preemption();
    smp_start_aps();
    process_layer_init();
    reclaim_init(&kernel_cmdline);
    oom_init(&kernel_cmdline);
    if (cmdline_get(&kernel_cmdline, "panic"))
        panic("kmain: deliberate panic (panic on the command line)");

    const char *ktest = cmdline_get(&kernel_cmdline, "ktest");
    if (ktest) {
        bool ok = ktest_run_all(ktest);
        qemu_exit(ok);
    }
    const char *bench = cmdline_get(&kernel_cmdline, "bench");
    if (bench) {
        kbench_run_all(bench);
        qemu_exit(true);
    }
    if (cmdline_get(&kernel_cmdline, "userboot")) {
        int64_t code = -1;
        st = userboot_run(&code);
        if (st == ZX_OK && code <= ZX_TASK_RETCODE_SYSCALL_KILL &&
            code >= ZX_TASK_RETCODE_EXCEPTION_KILL)
            kprintf("jasper: lost userboot: it was killed (%lld: %s); powering off\n",
                    (long long)code, code == ZX_TASK_RETCODE_EXCEPTION_KILL ? "an exception"
                                     : code == ZX_TASK_RETCODE_OOM_KILL   ? "the OOM kill"
                                                                          : "a kill");
        else if (st == ZX_OK)
            kprintf("jasper: userboot exited with %lld; powering off\n", (long long)code);
        qemu_exit(st == ZX_OK && code == 0);
    }
    if (cmdline_get_bool(&kernel_cmdline, "shell"))
        monitor_run();
    kprintf("jasper: boot complete; powering off\n");
    qemu_exit(true);
}
