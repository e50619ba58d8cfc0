// Finding the CPUs and starting the APs. See smp.h and docs/smp.md.
//
// The BSP starts APs one at a time through one trampoline copy: it fills the parameter block for
// the next AP (its stack, its struct percpu), sends INIT, SIPI, SIPI, and waits until that AP has
// counted itself in (cpus_online) before it touches the block again. Everything an AP needs is
// allocated by the BSP beforehand: until the kernel's locks work across CPUs, an AP takes no lock.
#include "arch/x86_64/smp.h"

#include "arch/x86_64/acpi.h"
#include "arch/x86_64/arch_aspace.h"
#include "arch/x86_64/asm.h"
#include "arch/x86_64/cpu.h"
#include "arch/x86_64/fpu.h"
#include "arch/x86_64/ipi.h"
#include "arch/x86_64/lapic.h"
#include "arch/x86_64/multiboot2.h"
#include "arch/x86_64/percpu.h"
#include "arch/x86_64/smp_trampoline.h"
#include "arch/x86_64/syscall.h"
#include "arch/x86_64/timer.h"
#include "arch/x86_64/trap.h"
#include "kernel/assert.h"
#include "kernel/thread.h"
#include "kernel/cmdline.h"
#include "kernel/printf.h"
#include "kernel/string.h"
#include "kernel/thread.h"
#include "vm/phys_ranges.h"
#include "vm/physmap.h"
#include "vm/pmm.h"

// The boot page tables map the first 4 GiB at the physmap (boot.S).
#define BOOT_READABLE_END (4ull << 30)
#define LOW_MEMORY_END 0x100000ull  // a start-up IPI reaches pages below 1 MiB only

#define AP_STACK_PAGES 4
// Delays of the INIT-SIPI-SIPI sequence (Intel SDM vol. 3, 9.4.4), and how long an AP may take
// from its first SIPI to counting itself in (it calibrates its timer for 10 ms on the way; QEMU
// on a busy host is slow to schedule a new vCPU thread).
#define INIT_DELAY_US 10000
#define SIPI_DELAY_US 200
#define AP_START_TIMEOUT_NS (5ull * 1000 * 1000 * 1000)

// What the MADT said; apic_ids is in MADT order (the BSP is not necessarily first).
static struct acpi_cpus madt_cpus;
static bool have_madt;
static paddr_t tramp_pa;  // the trampoline's pages (0: none reserved, so no AP is started)

// CPUs counted in: the BSP, then each AP as the last step of its start (written with release
// order, so its per-CPU set-up is visible to whoever reads the count).
static unsigned cpus_online = 1;
// What each AP found itself to be (smp_check compares with what the BSP assigned).
static uint32_t ap_seen_lapic_id[SMP_MAX_CPUS];
static uint32_t ap_timer_khz[SMP_MAX_CPUS];

unsigned smp_cpus_online(void) {
    return __atomic_load_n(&cpus_online, __ATOMIC_ACQUIRE);
}

unsigned smp_cpus_found(void) {
    return have_madt ? madt_cpus.count : 1;
}

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
    kprintf("acpi: %u CPU(s) in the MADT, local APIC ids", madt_cpus.count);
    for (uint32_t i = 0; i < madt_cpus.count; i++)
        kprintf(" %u", madt_cpus.apic_ids[i]);
    if (madt_cpus.dropped)
        kprintf(" (%u more ignored: Jasper runs on at most %d)", madt_cpus.dropped, SMP_MAX_CPUS);
    kprintf("\n");
}

// Takes the lowest SMP_TRAMPOLINE_PAGES available pages in [4 KiB, 1 MiB) out of the allocator's
// reach (as boot memory, which the physmap still maps).
static void reserve_trampoline(void) {
    const size_t bytes = SMP_TRAMPOLINE_PAGES * PAGE_SIZE;
    for (size_t i = 0; i < physical_ranges.count; i++) {
        const struct phys_range *r = &physical_ranges.r[i];
        paddr_t start = MAX(ROUNDUP(r->start, (paddr_t)PAGE_SIZE), (paddr_t)PAGE_SIZE);
        paddr_t end = MIN(r->end, LOW_MEMORY_END);
        if (r->kind != MEM_AVAILABLE || start >= end || end - start < bytes)
            continue;
        if (phys_ranges_set(&physical_ranges, start, start + bytes, MEM_BOOT) == ZX_OK)
            tramp_pa = start;
        break;
    }
    if (!tramp_pa)
        kprintf("smp: no free memory below 1 MiB for the AP trampoline; running on one CPU\n");
}

void smp_init_early(void) {
    find_cpus();
    if (smp_cpus_found() > 1)
        reserve_trampoline();
}

// Copies the trampoline and builds its temporary tables (see smp_trampoline.h); returns its
// parameter block with everything but the per-AP fields filled in.
static struct smp_tramp_params *prepare_trampoline(void) {
    uint8_t *t = paddr_to_kva(tramp_pa);
    size_t code = (size_t)(smp_trampoline_end - smp_trampoline_start);
    ASSERT(code <= PAGE_SIZE);
    memset(t, 0, SMP_TRAMPOLINE_PAGES * PAGE_SIZE);
    memcpy(t, smp_trampoline_start, code);
    uint64_t *pml4 = (uint64_t *)(t + 1 * PAGE_SIZE);
    uint64_t *pdpt = (uint64_t *)(t + 2 * PAGE_SIZE);
    uint64_t *pd = (uint64_t *)(t + 3 * PAGE_SIZE);
    uint64_t *pt = (uint64_t *)(t + 4 * PAGE_SIZE);
    // Below 1 MiB: PML4, PDPT and PD index 0; the PT index is the page number.
    pml4[0] = (tramp_pa + 2 * PAGE_SIZE) | PTE_P | PTE_W;
    pdpt[0] = (tramp_pa + 3 * PAGE_SIZE) | PTE_P | PTE_W;
    pd[0] = (tramp_pa + 4 * PAGE_SIZE) | PTE_P | PTE_W;
    pt[tramp_pa >> PAGE_SHIFT] = tramp_pa | PTE_P | PTE_W;
    // The upper half's PML4 entries never change (arch_aspace.h): a copy stays valid.
    for (unsigned i = 256; i < 512; i++)
        pml4[i] = arch_kernel_aspace.root[i];

    struct smp_tramp_params *prm =
        (struct smp_tramp_params *)(t + (smp_tramp_params - smp_trampoline_start));
    prm->cr3 = (uint32_t)(tramp_pa + PAGE_SIZE);
    prm->cr4 = (uint32_t)read_cr4();
    prm->cr0 = (uint32_t)read_cr0();
    prm->efer = (uint32_t)(rdmsr(MSR_EFER) & (EFER_LME | EFER_NXE | EFER_SCE));
    prm->kernel_cr3 = arch_kernel_aspace.root_pa;
    return prm;
}

// The AP's first C code, on its boot stack, on the kernel's tables, interrupts off.
NORETURN void smp_ap_main(struct percpu *p);
void smp_ap_main(struct percpu *p) {
    unsigned cpu = p->cpu_num;
    arch_descriptors_load(cpu);
    percpu_init(cpu);
    arch_syscall_init();
    arch_fpu_init();
    lapic_init_cpu();
    ap_seen_lapic_id[cpu] = lapic_id();
    ap_timer_khz[cpu] = arch_timer_init_ap(NULL);  // sched_enter_ap installs the scheduler's tick
    __atomic_fetch_add(&cpus_online, 1, __ATOMIC_RELEASE);
    sched_enter_ap();
}

// Starts the AP with local APIC id `apic_id` as CPU `cpu` (the next number). Returns ZX_OK once it
// counted itself in, ZX_ERR_NO_MEMORY, or ZX_ERR_TIMED_OUT (it is sent INIT again, to park it;
// its stacks are never reused, in case it runs after all).
static zx_status_t start_ap(struct smp_tramp_params *prm, unsigned cpu, uint32_t apic_id) {
    vm_page_t *stack = pmm_alloc_contiguous(AP_STACK_PAGES, 1, PAGE_STATE_WIRED);
    if (!stack)
        return ZX_ERR_NO_MEMORY;
    zx_status_t st = arch_descriptors_prepare(cpu);
    if (st != ZX_OK) {
        pmm_free_contiguous(stack, AP_STACK_PAGES);
        return st;
    }
    struct percpu *p = &percpu_cpus[cpu];
    p->cpu_num = cpu;
    p->lapic_id = apic_id;
    prm->stack_top = (uint64_t)vm_page_kva(stack) + AP_STACK_PAGES * PAGE_SIZE;
    prm->percpu = (uint64_t)p;
    prm->started = 0;

    unsigned before = smp_cpus_online();
    zx_time_t t0 = arch_now_ns();
    uint8_t page = (uint8_t)(tramp_pa >> PAGE_SHIFT);
    lapic_send_init(apic_id);
    arch_delay_us(INIT_DELAY_US);
    lapic_send_sipi(apic_id, page);
    arch_delay_us(SIPI_DELAY_US);
    if (!prm->started)
        lapic_send_sipi(apic_id, page);  // ignored by an AP that took the first one
    zx_time_t deadline = arch_now_ns() + (zx_time_t)AP_START_TIMEOUT_NS;
    while (smp_cpus_online() == before && arch_now_ns() < deadline)
        cpu_pause();
    if (smp_cpus_online() == before) {
        lapic_send_init(apic_id);
        kprintf("smp: cpu %u (APIC id %u) did not start%s\n", cpu, apic_id,
                prm->started ? " (it reached 64-bit mode)" : "");
        return ZX_ERR_TIMED_OUT;
    }
    kprintf("smp: cpu %u online: APIC id %u, timer %u kHz, started in %lld us\n", cpu, apic_id,
            ap_timer_khz[cpu], (long long)((arch_now_ns() - t0) / 1000));
    return ZX_OK;
}

// How many CPUs to run: the MADT's count, capped by cpus=N.
static unsigned cpus_wanted(void) {
    unsigned long long cap = cmdline_get_u64(&kernel_cmdline, "cpus", SMP_MAX_CPUS);
    unsigned want = smp_cpus_found();
    if (cap < want)
        want = cap ? (unsigned)cap : 1;
    if (want > 1 && (!lapic_present() || !tramp_pa)) {
        kprintf("smp: %s; running on one CPU\n",
                tramp_pa ? "no local APIC" : "no trampoline memory");
        want = 1;
    }
    return want;
}

void smp_start_aps(void) {
    struct percpu *bsp = percpu_get();
    if (lapic_present())
        bsp->lapic_id = lapic_id();
    if (lapic_present())
        ipi_init();
    unsigned want = cpus_wanted();
    if (want > 1) {
        struct smp_tramp_params *prm = prepare_trampoline();
        for (uint32_t i = 0; i < madt_cpus.count && smp_cpus_online() < want; i++) {
            uint32_t id = madt_cpus.apic_ids[i];
            if (id == bsp->lapic_id)
                continue;
            zx_status_t st = start_ap(prm, smp_cpus_online(), id);
            if (st != ZX_OK) {
                kprintf("smp: starting no more CPUs (%d)\n", st);
                break;
            }
        }
    }
    kprintf("cpus: %u online\n", smp_cpus_online());
}

bool smp_check(void) {
    unsigned n = smp_cpus_online();
    for (unsigned i = 0; i < SMP_MAX_CPUS; i++) {
        const struct percpu *p = &percpu_cpus[i];
        if (i >= n) {
            if (p->self) {
                kprintf("smp_check: cpu %u is not online but has a per-CPU block\n", i);
                return false;
            }
            continue;
        }
        if (p->self != p || p->cpu_num != i) {
            kprintf("smp_check: cpu %u: self %p, number %u\n", i, (void *)p->self, p->cpu_num);
            return false;
        }
        if (i > 0 && ap_seen_lapic_id[i] != p->lapic_id) {
            kprintf("smp_check: cpu %u was started as APIC id %u but is %u\n", i, p->lapic_id,
                    ap_seen_lapic_id[i]);
            return false;
        }
        bool listed = !have_madt;
        for (uint32_t k = 0; k < madt_cpus.count; k++)
            listed = listed || madt_cpus.apic_ids[k] == p->lapic_id;
        if (!listed && n > 1) {
            kprintf("smp_check: cpu %u (APIC id %u) is not in the MADT\n", i, p->lapic_id);
            return false;
        }
        for (unsigned j = 0; j < i; j++) {
            if (percpu_cpus[j].lapic_id == p->lapic_id) {
                kprintf("smp_check: cpus %u and %u share APIC id %u\n", j, i, p->lapic_id);
                return false;
            }
        }
    }
    return true;
}

void smp_print_cpus(void) {
    for (unsigned i = 0; i < smp_cpus_online(); i++) {
        const struct percpu *p = &percpu_cpus[i];
        const struct thread *t = p->current;
        kprintf("  cpu %u: APIC id %u, %llu ticks, thread %s; IPIs handled: %llu reschedule, "
                "%llu TLB, %llu ping\n",
                i, p->lapic_id, (unsigned long long)__atomic_load_n(&p->ticks, __ATOMIC_RELAXED),
                t ? t->name : "(none)", (unsigned long long)ipi_count(i, IPI_RESCHEDULE),
                (unsigned long long)ipi_count(i, IPI_TLB), (unsigned long long)ipi_count(i, IPI_PING));
    }
}
