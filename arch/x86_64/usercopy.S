// arch_user_copy(dst, src, len): copies with rep movsb between kernel and user memory, with SMAP
// opened (stac) only for the copy when the CPU has it. Returns 0, or 1 if the copy faulted (the
// #PF handler finds the faulting instruction in the extable and resumes at the fixup).
    .section .text
    .code64
    .globl arch_user_copy
arch_user_copy:
    movq %rdx, %rcx
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
    movl $1, %eax
    jmp arch_user_copy_done

    .section extable, "a"
    .balign 8
    .quad arch_user_copy_insn, arch_user_copy_fixup
