// FPU/SSE state of user threads (the kernel itself never touches it: it is built without SSE).
// Saved and restored eagerly on every switch between user threads.
#ifndef ARCH_X86_64_FPU_H
#define ARCH_X86_64_FPU_H

#define FPU_STATE_SIZE 512  // FXSAVE area, 16-byte aligned

// Enables SSE for user mode (CR0.MP, CR0.EM off, CR4.OSFXSR, CR4.OSXMMEXCPT).
void arch_fpu_init(void);
// Fills `area` with the initial state (x87 control 0x37f, MXCSR 0x1f80, registers zero).
void arch_fpu_init_state(void *area);
void arch_fpu_save(void *area);
void arch_fpu_restore(const void *area);

#endif  // ARCH_X86_64_FPU_H
