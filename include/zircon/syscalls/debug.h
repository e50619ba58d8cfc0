// Thread state: a source-compatible subset of Zircon's <zircon/syscalls/debug.h> (docs/abi.md §8,
// zx_thread_read_state / zx_thread_write_state).
#ifndef ZIRCON_SYSCALLS_DEBUG_H
#define ZIRCON_SYSCALLS_DEBUG_H

#include <zircon/types.h>

typedef uint32_t zx_thread_state_topic_t;

#define ZX_THREAD_STATE_GENERAL_REGS ((zx_thread_state_topic_t)0u)  // zx_thread_state_general_regs_t
#define ZX_THREAD_STATE_FP_REGS ((zx_thread_state_topic_t)1u)       // not supported
#define ZX_THREAD_STATE_VECTOR_REGS ((zx_thread_state_topic_t)2u)   // not supported
#define ZX_THREAD_STATE_DEBUG_REGS ((zx_thread_state_topic_t)4u)    // not supported
#define ZX_THREAD_STATE_SINGLE_STEP ((zx_thread_state_topic_t)5u)   // not supported

typedef struct zx_thread_state_general_regs {
    uint64_t rax, rbx, rcx, rdx, rsi, rdi, rbp, rsp;
    uint64_t r8, r9, r10, r11, r12, r13, r14, r15;
    uint64_t rip, rflags, fs_base, gs_base;
} zx_thread_state_general_regs_t;

_Static_assert(sizeof(zx_thread_state_general_regs_t) == 160, "docs/abi.md §8");

#endif  // ZIRCON_SYSCALLS_DEBUG_H
