// userboot's crash reporter: a thread that holds the root job's exception channel, the last
// handler any fault reaches. When a program userboot started (a process named like one of its
// boot modules) faults and nothing else handled it, it prints the exception, the registers and a
// backtrace (rbp frames read with zx_process_read_memory) named with the symbols of the program's
// ELF file (.symtab/.strtab of the boot module), then lets the fault go on (TRY_NEXT): the
// process dies with ZX_TASK_RETCODE_EXCEPTION_KILL as before and userboot reports its exit.
// Other processes (a program's own children) pass through unreported.
#include "userboot/crash_report.h"

#include <jasper/elf.h>
#include <stdio.h>
#include <string.h>
#include <zircon/process.h>
#include <zircon/syscalls.h>

#define STACK_SIZE (64u * 1024u)
#define MAX_FRAMES 16
#define SYM_BATCH 32

static const zx_handle_t *module_vmos;
static const char *const *module_names;
static size_t module_count;
static zx_handle_t channel;

// The boot module of the program named `name`, or ZX_HANDLE_INVALID.
static zx_handle_t module_named(const char *name) {
    for (size_t i = 0; i < module_count; i++) {
        if (module_names[i] && strcmp(module_names[i], name) == 0)
            return module_vmos[i];
    }
    return ZX_HANDLE_INVALID;
}

// Names `addr` with the function symbol of the ELF file in `vmo` that covers it: writes
// "name+0xoff" into out, or "?" if none does.
static void symbolize(zx_handle_t vmo, uint64_t addr, char *out, size_t out_size) {
    snprintf(out, out_size, "?");
    elf64_ehdr_t eh;
    if (zx_vmo_read(vmo, &eh, 0, sizeof(eh)) != ZX_OK || eh.shentsize != sizeof(elf64_shdr_t))
        return;
    for (uint16_t i = 0; i < eh.shnum; i++) {
        elf64_shdr_t sh, strtab;
        if (zx_vmo_read(vmo, &sh, eh.shoff + (uint64_t)i * sizeof(sh), sizeof(sh)) != ZX_OK)
            return;
        if (sh.type != ELF_SHT_SYMTAB || sh.link >= eh.shnum ||
            zx_vmo_read(vmo, &strtab, eh.shoff + (uint64_t)sh.link * sizeof(sh), sizeof(sh)) !=
                ZX_OK)
            continue;
        size_t nsyms = sh.size / sizeof(elf64_sym_t);
        for (size_t first = 0; first < nsyms; first += SYM_BATCH) {
            elf64_sym_t syms[SYM_BATCH];
            size_t n = nsyms - first < SYM_BATCH ? nsyms - first : SYM_BATCH;
            if (zx_vmo_read(vmo, syms, sh.offset + first * sizeof(elf64_sym_t),
                            n * sizeof(elf64_sym_t)) != ZX_OK)
                return;
            for (size_t k = 0; k < n; k++) {
                const elf64_sym_t *s = &syms[k];
                if ((s->info & 0xf) != ELF_STT_FUNC || addr < s->value ||
                    addr >= s->value + (s->size ? s->size : 1))
                    continue;
                char name[64] = {0};
                if (zx_vmo_read(vmo, name, strtab.offset + s->name, sizeof(name) - 1) != ZX_OK)
                    return;
                snprintf(out, out_size, "%s+%#llx", name,
                         (unsigned long long)(addr - s->value));
                return;
            }
        }
    }
}

static const char *type_name(uint32_t type) {
    switch (type) {
    case ZX_EXCP_FATAL_PAGE_FAULT:
        return "page fault";
    case ZX_EXCP_UNDEFINED_INSTRUCTION:
        return "undefined instruction";
    case ZX_EXCP_SW_BREAKPOINT:
        return "software breakpoint";
    case ZX_EXCP_HW_BREAKPOINT:
        return "hardware breakpoint";
    default:
        return "general exception";
    }
}

static void report(zx_handle_t exc, const zx_exception_info_t *info) {
    zx_handle_t proc = ZX_HANDLE_INVALID, thread = ZX_HANDLE_INVALID;
    char name[ZX_MAX_NAME_LEN] = {0};
    if (zx_exception_get_process(exc, &proc) != ZX_OK ||
        zx_object_get_property(proc, ZX_PROP_NAME, name, sizeof(name)) != ZX_OK)
        goto out;
    zx_handle_t elf = module_named(name);
    if (elf == ZX_HANDLE_INVALID || zx_exception_get_thread(exc, &thread) != ZX_OK)
        goto out;  // not a program userboot started: its parent's business
    zx_thread_state_general_regs_t r;
    zx_exception_report_t rep;
    if (zx_thread_read_state(thread, ZX_THREAD_STATE_GENERAL_REGS, &r, sizeof(r)) != ZX_OK ||
        zx_object_get_info(thread, ZX_INFO_THREAD_EXCEPTION_REPORT, &rep, sizeof(rep), NULL,
                           NULL) != ZX_OK)
        goto out;
    char sym[96];
    symbolize(elf, r.rip, sym, sizeof(sym));
    printf("userboot: crash: %s (pid %llu, tid %llu): %s, vector %llu, error %#llx, cr2 %#llx\n",
           name, (unsigned long long)info->pid, (unsigned long long)info->tid,
           type_name(info->type), (unsigned long long)rep.context.arch.x86_64.vector,
           (unsigned long long)rep.context.arch.x86_64.err_code,
           (unsigned long long)rep.context.arch.x86_64.cr2);
    printf("  rip 0x%016llx %s\n", (unsigned long long)r.rip, sym);
    printf("  rax 0x%016llx rbx 0x%016llx rcx 0x%016llx rdx 0x%016llx\n", (unsigned long long)r.rax,
           (unsigned long long)r.rbx, (unsigned long long)r.rcx, (unsigned long long)r.rdx);
    printf("  rsi 0x%016llx rdi 0x%016llx rbp 0x%016llx rsp 0x%016llx\n", (unsigned long long)r.rsi,
           (unsigned long long)r.rdi, (unsigned long long)r.rbp, (unsigned long long)r.rsp);
    printf("  r8  0x%016llx r9  0x%016llx r10 0x%016llx r11 0x%016llx\n", (unsigned long long)r.r8,
           (unsigned long long)r.r9, (unsigned long long)r.r10, (unsigned long long)r.r11);
    printf("  r12 0x%016llx r13 0x%016llx r14 0x%016llx r15 0x%016llx\n", (unsigned long long)r.r12,
           (unsigned long long)r.r13, (unsigned long long)r.r14, (unsigned long long)r.r15);
    printf("  rflags %#llx\n  backtrace:\n    #0 0x%016llx %s\n", (unsigned long long)r.rflags,
           (unsigned long long)r.rip, sym);
    // Frame pointers: [rbp] is the caller's rbp, [rbp + 8] the return address.
    uint64_t fp = r.rbp;
    for (int i = 1; i < MAX_FRAMES && fp; i++) {
        uint64_t frame[2];
        size_t actual = 0;
        if (zx_process_read_memory(proc, fp, frame, sizeof(frame), &actual) != ZX_OK ||
            actual != sizeof(frame) || frame[1] == 0)
            break;
        symbolize(elf, frame[1] - 1, sym, sizeof(sym));  // the call, not what follows it
        printf("    #%d 0x%016llx %s\n", i, (unsigned long long)frame[1], sym);
        if (frame[0] <= fp)
            break;  // frames go up the stack
        fp = frame[0];
    }
out:
    zx_handle_close(thread);
    zx_handle_close(proc);
    zx_handle_close(exc);  // TRY_NEXT: nobody is left, the process dies
}

static void reporter_main(uintptr_t arg1, uintptr_t arg2) {
    for (;;) {
        if (zx_object_wait_one(channel, ZX_CHANNEL_READABLE | ZX_CHANNEL_PEER_CLOSED,
                               ZX_TIME_INFINITE, NULL) != ZX_OK)
            break;
        zx_exception_info_t info;
        zx_handle_t exc = ZX_HANDLE_INVALID;
        uint32_t nb, nh;
        if (zx_channel_read(channel, 0, &info, &exc, sizeof(info), 1, &nb, &nh) != ZX_OK)
            break;
        report(exc, &info);
    }
    zx_thread_exit();
}

zx_status_t crash_report_start(const zx_handle_t *vmos, const char *const *names, size_t count) {
    module_vmos = vmos;
    module_names = names;
    module_count = count;
    zx_status_t st = zx_task_create_exception_channel(zx_job_default(), 0, &channel);
    zx_handle_t vmo = ZX_HANDLE_INVALID, thread = ZX_HANDLE_INVALID;
    zx_vaddr_t stack = 0;
    if (st == ZX_OK)
        st = zx_vmo_create(STACK_SIZE, 0, &vmo);
    // Committed now: userboot checks each program's VMO memory, and the reporter's stack must not
    // grow while a program runs.
    if (st == ZX_OK)
        st = zx_vmo_op_range(vmo, ZX_VMO_OP_COMMIT, 0, STACK_SIZE, NULL, 0);
    if (st == ZX_OK)
        st = zx_vmar_map(zx_vmar_root_self(), ZX_VM_PERM_READ | ZX_VM_PERM_WRITE, 0, vmo, 0,
                         STACK_SIZE, &stack);
    if (st == ZX_OK)
        st = zx_thread_create(zx_process_self(), "crash-report", 12, 0, &thread);
    // Entered as if called: the stack is 8 bytes short of 16-byte alignment.
    if (st == ZX_OK)
        st = zx_thread_start(thread, (uintptr_t)reporter_main, stack + STACK_SIZE - 8, 0, 0);
    zx_handle_close(vmo);  // the mapping keeps the stack
    zx_handle_close(thread);
    return st;
}
