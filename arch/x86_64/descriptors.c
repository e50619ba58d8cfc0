// The GDT (kernel and user segments, TSS), the TSS with its IST stacks, and the IDT.
// Layout of the GDT is fixed by SYSCALL/SYSRET: kernel code, kernel data, user data, user code.
#include "arch/x86_64/asm.h"
#include "arch/x86_64/trap.h"
#include "kernel/string.h"

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
#define IST_STACK_SIZE 8192

static uint64_t gdt[7] = {
    0,
    0x00af9a000000ffff,  // 0x08 kernel code: long mode, DPL 0
    0x00cf92000000ffff,  // 0x10 kernel data
    0x00cff2000000ffff,  // 0x18 user data, DPL 3
    0x00affa000000ffff,  // 0x20 user code: long mode, DPL 3
    0,                   // 0x28 TSS (two slots)
    0,
};
static struct tss tss;
static struct idt_entry idt[256];
static uint8_t ist_stacks[3][IST_STACK_SIZE] ALIGNED(16);

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
    tss.rsp[0] = top;
}

void arch_descriptors_init(void) {
    // TSS descriptor: a 16-byte system descriptor (type 9: available 64-bit TSS).
    uint64_t base = (uint64_t)&tss;
    uint64_t limit = sizeof(tss) - 1;
    gdt[5] = (limit & 0xffff) | ((base & 0xffffff) << 16) | (0x89ull << 40) |
             (((limit >> 16) & 0xf) << 48) | (((base >> 24) & 0xff) << 56);
    gdt[6] = base >> 32;
    tss.ist[IST_DOUBLE_FAULT - 1] = (uint64_t)&ist_stacks[0][IST_STACK_SIZE];
    tss.ist[IST_NMI - 1] = (uint64_t)&ist_stacks[1][IST_STACK_SIZE];
    tss.ist[IST_MACHINE_CHECK - 1] = (uint64_t)&ist_stacks[2][IST_STACK_SIZE];
    tss.iomap_base = sizeof(tss);  // no I/O permission bitmap

    struct descriptor_ptr gdtr = {sizeof(gdt) - 1, (uint64_t)gdt};
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

    for (unsigned v = 0; v < 256; v++) {
        unsigned ist = v == TRAP_DF ? IST_DOUBLE_FAULT
                     : v == TRAP_NMI ? IST_NMI
                     : v == TRAP_MC ? IST_MACHINE_CHECK
                                     : 0;
        // Breakpoints may be raised from user mode with int3.
        idt_set(v, (uint64_t)&trap_stubs[16 * v], ist, v == TRAP_BP ? 3 : 0);
    }
    struct descriptor_ptr idtr = {sizeof(idt) - 1, (uint64_t)idt};
    __asm__ volatile("lidt %0" : : "m"(idtr));
}
