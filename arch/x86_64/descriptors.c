// The GDTs (kernel and user segments, TSS) and TSSs with their IST stacks, one of each per CPU, and
// the IDT all CPUs share. Layout of the GDT is fixed by SYSCALL/SYSRET: kernel code, kernel data,
// user data, user code.
#include "arch/x86_64/asm.h"
#include "arch/x86_64/percpu.h"
#include "arch/x86_64/smp.h"
#include "arch/x86_64/trap.h"
#include "kernel/assert.h"
#include "kernel/string.h"
#include "vm/pmm.h"

struct PACKED tss {
    uint32_t reserved0;
    uint64_t rsp[3];
    uint64_t reserved1;
    uint64_t ist[7];
    uint64_t reserved2;
    uint16_t reserved3;
    uint16_t iomap_base;
};
_Static_assert(sizeof(struct tss) == 104, "TSS layout");

struct PACKED idt_entry {
    uint16_t offset_low;
    uint16_t selector;
    uint8_t ist;
    uint8_t type_attr;
    uint16_t offset_mid;
    uint32_t offset_high;
    uint32_t reserved;
};
_Static_assert(sizeof(struct idt_entry) == 16, "IDT entry layout");

struct PACKED descriptor_ptr {
    uint16_t limit;
    uint64_t base;
};

#define IST_DOUBLE_FAULT 1
#define IST_NMI 2
#define IST_MACHINE_CHECK 3
#define IST_COUNT 3
#define IST_STACK_SIZE 8192

// One CPU's GDT and TSS: the GDT is per CPU because it holds the TSS descriptor (a TSS is marked
// busy by ltr, so two CPUs cannot share one).
struct cpu_tables {
    uint64_t gdt[7];
    struct tss tss;
};

static const uint64_t gdt_template[7] = {
    0,
    0x00af9a000000ffff,  // 0x08 kernel code: long mode, DPL 0
    0x00cf92000000ffff,  // 0x10 kernel data
    0x00cff2000000ffff,  // 0x18 user data, DPL 3
    0x00affa000000ffff,  // 0x20 user code: long mode, DPL 3
    0,                   // 0x28 TSS (two slots)
    0,
};
static struct cpu_tables cpu_tables[SMP_MAX_CPUS];
static struct idt_entry idt[256];  // shared by every CPU
// The BSP's IST stacks (it needs them before the pmm exists); APs' come from the pmm.
static uint8_t bsp_ist_stacks[IST_COUNT][IST_STACK_SIZE] ALIGNED(16);

extern const uint8_t trap_stubs[256 * 16];  // traps.S: stub v at offset 16 * v

static void idt_set(unsigned vector, uint64_t handler, unsigned ist, unsigned dpl) {
    idt[vector] = (struct idt_entry){
        .offset_low = (uint16_t)handler,
        .selector = SEL_KCODE,
        .ist = (uint8_t)ist,
        .type_attr = (uint8_t)(0x8e | (dpl << 5)),  // present, 64-bit interrupt gate
        .offset_mid = (uint16_t)(handler >> 16),
        .offset_high = (uint32_t)(handler >> 32),
    };
}

void arch_set_kernel_stack(vaddr_t top) {
    cpu_tables[percpu_get()->cpu_num].tss.rsp[0] = top;
}

// Fills CPU `cpu`'s GDT and TSS; its IST stacks are IST_COUNT stacks back to back at `ist_base`.
static void fill_cpu_tables(unsigned cpu, uint8_t *ist_base) {
    struct cpu_tables *ct = &cpu_tables[cpu];
    memcpy(ct->gdt, gdt_template, sizeof(ct->gdt));
    // TSS descriptor: a 16-byte system descriptor (type 9: available 64-bit TSS).
    uint64_t base = (uint64_t)&ct->tss;
    uint64_t limit = sizeof(ct->tss) - 1;
    ct->gdt[5] = (limit & 0xffff) | ((base & 0xffffff) << 16) | (0x89ull << 40) |
                 (((limit >> 16) & 0xf) << 48) | (((base >> 24) & 0xff) << 56);
    ct->gdt[6] = base >> 32;
    memset(&ct->tss, 0, sizeof(ct->tss));
    for (unsigned i = 0; i < IST_COUNT; i++)
        ct->tss.ist[i] = (uint64_t)(ist_base + (i + 1) * IST_STACK_SIZE);
    ct->tss.iomap_base = sizeof(ct->tss);  // no I/O permission bitmap
}

void arch_descriptors_load(unsigned cpu) {
    struct cpu_tables *ct = &cpu_tables[cpu];
    struct descriptor_ptr gdtr = {sizeof(ct->gdt) - 1, (uint64_t)ct->gdt};
    // Reloads CS, DS, ES, SS. Not FS or GS: loading a selector there would clear GS_BASE.
    __asm__ volatile("lgdt %0\n"
                     "pushq %1\n"
                     "leaq 1f(%%rip), %%rax\n"
                     "pushq %%rax\n"
                     "lretq\n"
                     "1:\n"
                     "movw %w2, %%ds\n"
                     "movw %w2, %%es\n"
                     "movw %w2, %%ss\n"
                     :
                     : "m"(gdtr), "i"(SEL_KCODE), "r"(SEL_KDATA)
                     : "rax", "memory");
    __asm__ volatile("ltr %w0" : : "r"(SEL_TSS));
    struct descriptor_ptr idtr = {sizeof(idt) - 1, (uint64_t)idt};
    __asm__ volatile("lidt %0" : : "m"(idtr));
}

zx_status_t arch_descriptors_prepare(unsigned cpu) {
    ASSERT(cpu > 0 && cpu < SMP_MAX_CPUS);
    size_t pages = IST_COUNT * IST_STACK_SIZE / PAGE_SIZE;
    vm_page_t *ist = pmm_alloc_contiguous(pages, 1, PAGE_STATE_WIRED);
    if (!ist)
        return ZX_ERR_NO_MEMORY;
    fill_cpu_tables(cpu, vm_page_kva(ist));
    return ZX_OK;
}

void arch_descriptors_init(void) {
    for (unsigned v = 0; v < 256; v++) {
        unsigned ist = v == TRAP_DF ? IST_DOUBLE_FAULT
                     : v == TRAP_NMI ? IST_NMI
                     : v == TRAP_MC ? IST_MACHINE_CHECK
                                     : 0;
        // Breakpoints may be raised from user mode with int3.
        idt_set(v, (uint64_t)&trap_stubs[16 * v], ist, v == TRAP_BP ? 3 : 0);
    }
    fill_cpu_tables(0, &bsp_ist_stacks[0][0]);
    arch_descriptors_load(0);
}
