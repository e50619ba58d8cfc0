// arch_user_copy(dst, src, len) (contract: arch/x86_64/faults.h): copies with rep movsb between
// kernel and user memory, with SMAP opened (stac) only for the copy when the CPU has it. Returns
// ZX_OK (0), or the status the #PF handler (faults.c) left in rax before the trap layer resumed
// at the fixup; rax holds ZX_ERR_NOT_FOUND (-25) during the copy for a fault it did not explain.
    .section .text
    .code64
    .globl arch_user_copy
arch_user_copy:
    movq %rdx, %rcx
    movq $-25, %rax
    cmpb $0, arch_has_smap(%rip)
    je 1f
    stac
1:
    .globl arch_user_copy_insn
arch_user_copy_insn:
    rep movsb
    xorl %eax, %eax
arch_user_copy_done:
    cmpb $0, arch_has_smap(%rip)
    je 2f
    clac
2:  ret
arch_user_copy_fixup:
    jmp arch_user_copy_done

    .section extable, "a"
    .balign 8
    .quad arch_user_copy_insn, arch_user_copy_fixup
