// user_run: ring-3 snippets for VM tests. See user_run.h.
#include "test/kernel/user_run.h"

#include "arch/x86_64/asm.h"
#include "arch/x86_64/cpu.h"
#include "arch/x86_64/syscall.h"
#include "arch/x86_64/trap.h"
#include "kernel/assert.h"
#include "kernel/string.h"
#include "kernel/thread.h"

const uint8_t user_code[] = {
    0x48, 0x8b, 0x07,                          // 00 mov (%rdi),%rax
    0x48, 0x89, 0x32,                          // 03 mov %rsi,(%rdx)
    0x48, 0x8b, 0x1a,                          // 06 mov (%rdx),%rbx
    0x0f, 0x0b,                                // 09 ud2
    0xc6, 0x07, 0x01,                          // 0b movb $1,(%rdi)
    0x48, 0x81, 0xc7, 0x00, 0x10, 0x00, 0x00,  // 0e add $0x1000,%rdi
    0x48, 0xff, 0xc9,                          // 15 dec %rcx
    0x75, 0xf1,                                // 18 jnz 0b
    0x0f, 0x0b,                                // 1a ud2
    0x8a, 0x07,                                // 1c mov (%rdi),%al
    0x48, 0x81, 0xc7, 0x00, 0x10, 0x00, 0x00,  // 1e add $0x1000,%rdi
    0x48, 0xff, 0xc9,                          // 25 dec %rcx
    0x75, 0xf2,                                // 28 jnz 1c
    0x0f, 0x0b,                                // 2a ud2
};
const size_t user_code_size = sizeof(user_code);

struct run {
    struct vm_aspace *as;
    vaddr_t entry;
    struct user_regs in;
    struct user_result *out;
};

static struct run *current_run;

// The run's end: record the state, leave the address space and end the thread for good.
static bool run_exception(struct trap_frame *tf) {
    struct run *r = current_run;
    if (!r)
        return false;
    struct user_result *o = r->out;
    o->vector = tf->vector;
    o->error_code = tf->error_code;
    o->cr2 = read_cr2();
    o->rip = tf->rip;
    o->regs = (struct user_regs){tf->rax, tf->rbx, tf->rcx, tf->rdx, tf->rsi, tf->rdi};
    vm_aspace_activate(NULL);
    thread_exit(0);
}

static int run_thread(void *arg) {
    struct run *r = arg;
    struct thread *self = thread_current();
    struct trap_frame *tf =
        (struct trap_frame *)(self->stack_base + THREAD_STACK_PAGES * PAGE_SIZE - sizeof(*tf));
    memset(tf, 0, sizeof(*tf));
    tf->rip = r->entry;
    tf->cs = SEL_UCODE;
    tf->rflags = 0x2;  // interrupts off in user mode: no switch can change CR3 under the run
    tf->ss = SEL_UDATA;
    tf->rax = r->in.rax;
    tf->rbx = r->in.rbx;
    tf->rcx = r->in.rcx;
    tf->rdx = r->in.rdx;
    tf->rsi = r->in.rsi;
    tf->rdi = r->in.rdi;
    irq_disable();
    vm_aspace_activate(r->as);
    arch_enter_user(tf);
}

zx_status_t user_run(struct vm_aspace *as, vaddr_t entry, const struct user_regs *in,
                     struct user_result *out) {
    struct run r = {.as = as, .entry = entry, .in = *in, .out = out};
    memset(out, 0, sizeof(*out));
    struct thread *t = thread_create("user_run", run_thread, &r);
    if (!t)
        return ZX_ERR_NO_MEMORY;
    trap_hook_fn old_ex = trap_user_exception_hook;
    trap_user_exception_hook = run_exception;
    current_run = &r;
    thread_start(t);
    int code;
    zx_status_t st = thread_join(t, &code, ZX_TIME_INFINITE);
    ASSERT(st == ZX_OK);
    thread_release(t);
    current_run = NULL;
    trap_user_exception_hook = old_ex;
    vm_aspace_activate(NULL);
    return ZX_OK;
}
