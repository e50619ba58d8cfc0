// FXSAVE/FXRSTOR of user FPU/SSE state.
#include "arch/x86_64/fpu.h"

#include "arch/x86_64/cpu.h"
#include "kernel/string.h"

#define CR0_MP (1ull << 1)
#define CR0_EM (1ull << 2)
#define CR0_TS (1ull << 3)
#define CR4_OSFXSR (1ull << 9)
#define CR4_OSXMMEXCPT (1ull << 10)

void arch_fpu_init(void) {
    write_cr0((read_cr0() | CR0_MP) & ~(CR0_EM | CR0_TS));
    write_cr4(read_cr4() | CR4_OSFXSR | CR4_OSXMMEXCPT);
}

void arch_fpu_init_state(void *area) {
    uint8_t *a = area;
    memset(a, 0, FPU_STATE_SIZE);
    a[0] = 0x7f;  // FCW = 0x037f: all exceptions masked, 64-bit precision
    a[1] = 0x03;
    a[24] = 0x80;  // MXCSR = 0x1f80: all SSE exceptions masked
    a[25] = 0x1f;
}

void arch_fpu_save(void *area) {
    __asm__ volatile("fxsave64 (%0)" : : "r"(area) : "memory");
}

void arch_fpu_restore(const void *area) {
    __asm__ volatile("fxrstor64 (%0)" : : "r"(area) : "memory");
}
