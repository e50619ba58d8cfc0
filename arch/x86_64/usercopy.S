// arch_user_copy(dst, src, len) (contract: arch/x86_64/faults.h): copies with rep movsq (then
// rep movsb for the last len % 8 bytes) between
// kernel and user memory, with SMAP opened (stac) only for the copy when the CPU has it. Returns
// ZX_OK (0), or the status the #PF handler (faults.c) left in rax before the trap layer resumed
// at the fixup; rax holds ZX_ERR_NOT_FOUND (-25) during the copy for a fault it did not explain.
    .section .text
    .code64
    .globl arch_user_copy
arch_user_copy:
    movq %rdx, %rcx
    shrq $3, %rcx                       // whole quadwords first: under TCG's icount a rep
    andl $7, %edx                       // counts one instruction per iteration, so movsq is
    movq $-25, %rax                     // 8 times cheaper than movsb
    cmpb $0, arch_has_smap(%rip)
    je 1f
    stac
1:
    .globl arch_user_copy_insn
arch_user_copy_insn:
    rep movsq
    movq %rdx, %rcx
    .globl arch_user_copy_insn_tail
arch_user_copy_insn_tail:
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
    .quad arch_user_copy_insn_tail, arch_user_copy_fixup

// arch_user_copy_nofault(dst, src, len, fault_va) (contract: arch/x86_64/faults.h): the same copy
// for callers that hold VM locks, so the #PF handler must not resolve anything: a fault on the
// user side leaves ZX_ERR_SHOULD_WAIT in rax and the faulting address in rdx (faults.c), which the
// fixup stores through fault_va. The fourth argument moves to r8, which the trap preserves.
    .section .text
    .globl arch_user_copy_nofault
arch_user_copy_nofault:
    movq %rcx, %r8
    movq %rdx, %rcx
    shrq $3, %rcx                       // quadwords, then the tail bytes (as arch_user_copy)
    andl $7, %edx
    movq $-1, %rax  // ZX_ERR_INTERNAL for a fault faults.c did not explain (a kernel bug)
    cmpb $0, arch_has_smap(%rip)
    je 1f
    stac
1:
    .globl arch_user_copy_nofault_insn
arch_user_copy_nofault_insn:
    rep movsq
    movq %rdx, %rcx
    .globl arch_user_copy_nofault_insn_tail
arch_user_copy_nofault_insn_tail:
    rep movsb
    xorl %eax, %eax
arch_user_copy_nofault_done:
    cmpb $0, arch_has_smap(%rip)
    je 2f
    clac
2:  ret
arch_user_copy_nofault_fixup:
    movq %rdx, (%r8)
    jmp arch_user_copy_nofault_done

    .section extable, "a"
    .balign 8
    .quad arch_user_copy_nofault_insn, arch_user_copy_nofault_fixup
    .quad arch_user_copy_nofault_insn_tail, arch_user_copy_nofault_fixup
