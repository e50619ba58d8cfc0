// Faults, each in a child process (docs/abi.md §2 "Faults"): an access with no mapping, beyond
// the VMO, or against the mapping's permissions kills only that process with return code -1028
// and ZX_PROCESS_TERMINATED; so do CPU exceptions and privileged instructions. Also hostile
// register states around syscalls (a kernel stack pointer, the trap flag, a syscall whose return
// address is just past the end of the user range). The parent checks each child's end and that
// its memory came back.
#include <stdio.h>
#include <stdlib.h>

#include "test/user/utest.h"

#define P ((uint64_t)PAGE)
#define RW (ZX_VM_PERM_READ | ZX_VM_PERM_WRITE)

static volatile uint8_t sink;

static zx_handle_t exec_vmo(const uint8_t *code, size_t n, uint64_t offset) {
    zx_handle_t vmo = ut_vmo(P, -1), x = ZX_HANDLE_INVALID;
    if (zx_vmo_write(vmo, code, offset, n) != ZX_OK ||
        zx_vmo_replace_as_executable(vmo, ZX_HANDLE_INVALID, &x) != ZX_OK)
        return ZX_HANDLE_INVALID;
    return x;
}

// ---- Children: memory faults ----

static int c_read_unmapped(int argc, char **argv) {
    (void)argc;
    (void)argv;
    zx_handle_t v;
    zx_vaddr_t a;
    if (zx_vmar_allocate(zx_vmar_root_self(), ZX_VM_CAN_MAP_READ, 0, P, &v, &a) != ZX_OK)
        return 1;
    sink = *(volatile uint8_t *)a;
    return 2;
}

static int c_write_unmapped(int argc, char **argv) {
    (void)argc;
    (void)argv;
    zx_handle_t v;
    zx_vaddr_t a;
    if (zx_vmar_allocate(zx_vmar_root_self(), ZX_VM_CAN_MAP_READ | ZX_VM_CAN_MAP_WRITE, 0, P, &v,
                         &a) != ZX_OK)
        return 1;
    *(volatile uint8_t *)a = 1;
    return 2;
}

static int c_write_readonly(int argc, char **argv) {
    (void)argc;
    (void)argv;
    zx_handle_t vmo = ut_vmo(P, 3);
    volatile uint8_t *p = (volatile uint8_t *)ut_map(vmo, 0, P, ZX_VM_PERM_READ);
    if (!p || p[0] != 3)
        return 1;
    p[0] = 4;
    return 2;
}

static int c_exec_nx(int argc, char **argv) {
    (void)argc;
    (void)argv;
    zx_handle_t vmo = ut_vmo(P, 0xc3);  // ret
    uintptr_t a = ut_map(vmo, 0, P, RW);
    if (!a)
        return 1;
    ((void (*)(void))a)();
    return 2;
}

static int c_read_noaccess(int argc, char **argv) {
    (void)argc;
    (void)argv;
    zx_handle_t vmo = ut_vmo(P, 3);
    zx_vaddr_t a;
    if (zx_vmar_map(zx_vmar_root_self(), 0, 0, vmo, 0, P, &a) != ZX_OK)
        return 1;
    sink = *(volatile uint8_t *)a;
    return 2;
}

static int c_beyond_vmo(int argc, char **argv) {
    zx_handle_t vmo = ut_vmo(P, 3);
    volatile uint8_t *p = (volatile uint8_t *)ut_map(vmo, 0, 3 * P, RW);
    if (!p || p[P - 1] != 3)
        return 1;
    if (argc > 1 && strcmp(argv[1], "write") == 0)
        p[P] = 1;
    else
        sink = p[2 * P + 5];
    return 2;
}

static int c_after_shrink(int argc, char **argv) {
    (void)argc;
    (void)argv;
    zx_handle_t vmo;
    if (zx_vmo_create(3 * P, ZX_VMO_RESIZABLE, &vmo) != ZX_OK)
        return 1;
    volatile uint8_t *p =
        (volatile uint8_t *)ut_map(vmo, 0, 3 * P, RW | ZX_VM_ALLOW_FAULTS);
    if (!p)
        return 2;
    p[2 * P] = 1;
    if (zx_vmo_set_size(vmo, P) != ZX_OK)
        return 3;
    p[0] = 1;  // still fine
    sink = p[2 * P];
    return 4;
}

static int c_after_unmap(int argc, char **argv) {
    (void)argc;
    (void)argv;
    zx_handle_t vmo = ut_vmo(P, 3);
    volatile uint8_t *p = (volatile uint8_t *)ut_map(vmo, 0, P, RW);
    if (!p || p[0] != 3)
        return 1;
    ut_unmap((uintptr_t)p, P);
    sink = p[0];
    return 2;
}

static int c_after_destroy(int argc, char **argv) {
    (void)argc;
    (void)argv;
    zx_handle_t v, vmo = ut_vmo(P, 3);
    zx_vaddr_t base, a;
    if (zx_vmar_allocate(zx_vmar_root_self(), ZX_VM_CAN_MAP_READ, 0, 4 * P, &v, &base) != ZX_OK ||
        zx_vmar_map(v, ZX_VM_PERM_READ, 0, vmo, 0, P, &a) != ZX_OK)
        return 1;
    if (*(volatile uint8_t *)a != 3 || zx_vmar_destroy(v) != ZX_OK)
        return 2;
    sink = *(volatile uint8_t *)a;
    return 3;
}

static int c_read_address(int argc, char **argv) {
    if (argc < 2)
        return 1;
    uintptr_t a = strtoul(argv[1], NULL, 0);
    sink = *(volatile uint8_t *)a;
    return 2;
}

static int c_write_address(int argc, char **argv) {
    if (argc < 2)
        return 1;
    uintptr_t a = strtoul(argv[1], NULL, 0);
    *(volatile uint64_t *)a = 0x4141414141414141ull;
    return 2;
}

static int c_jump_address(int argc, char **argv) {
    if (argc < 2)
        return 1;
    uintptr_t a = strtoul(argv[1], NULL, 0);
    ((void (*)(void))a)();
    return 2;
}

static int c_write_code(int argc, char **argv) {
    (void)argc;
    (void)argv;
    *(volatile uint8_t *)(uintptr_t)&c_write_code = 0xcc;
    return 2;
}

static volatile int recursion_limit = 1 << 30;

__attribute__((noinline)) static int recurse(int depth) {
    volatile uint8_t frame[2048];
    if (depth > recursion_limit)
        return 0;
    frame[0] = (uint8_t)depth;
    frame[sizeof(frame) - 1] = (uint8_t)depth;
    return recurse(depth + 1) + frame[0] + frame[sizeof(frame) - 1];
}

static int c_stack_overflow(int argc, char **argv) {
    (void)argc;
    (void)argv;
    return recurse(0);
}

static int c_write_ok(int argc, char **argv) {
    (void)argc;
    (void)argv;
    zx_handle_t vmo = ut_vmo(2 * P, 0);
    volatile uint8_t *p = (volatile uint8_t *)ut_map(vmo, 0, 2 * P, RW);
    if (!p)
        return 1;
    p[0] = 1;
    p[2 * P - 1] = 2;
    // A user copy that faults is an error status, not a fault of the process.
    zx_handle_t hole;
    zx_vaddr_t a;
    if (zx_vmar_allocate(zx_vmar_root_self(), ZX_VM_CAN_MAP_READ, 0, P, &hole, &a) != ZX_OK)
        return 2;
    if (zx_vmo_read(vmo, (void *)a, 0, 8) != ZX_ERR_NOT_FOUND)
        return 3;
    if (zx_vmo_read(vmo, (void *)(uintptr_t)&c_write_ok, 0, 8) != ZX_ERR_ACCESS_DENIED)
        return 4;
    return ut_vmo_byte(vmo, 2 * P - 1) == 2 ? 0 : 5;
}

// ---- Children: CPU exceptions and privileged instructions ----

static int c_insn(int argc, char **argv) {
    if (argc < 2)
        return 1;
    const char *w = argv[1];
    if (strcmp(w, "ud2") == 0)
        __asm__ volatile("ud2");
    else if (strcmp(w, "int3") == 0)
        __asm__ volatile("int3");
    else if (strcmp(w, "div0") == 0)
        __asm__ volatile("xor %%edx, %%edx\n xor %%ecx, %%ecx\n mov $1, %%eax\n div %%ecx"
                         :
                         :
                         : "rax", "rcx", "rdx", "cc");
    else if (strcmp(w, "hlt") == 0)
        __asm__ volatile("hlt");
    else if (strcmp(w, "cli") == 0)
        __asm__ volatile("cli");
    else if (strcmp(w, "rdmsr") == 0)
        __asm__ volatile("mov $0xc0000080, %%ecx\n rdmsr" : : : "rax", "rcx", "rdx");
    else if (strcmp(w, "mov-cr3") == 0)
        __asm__ volatile("mov %%cr3, %%rax" : : : "rax");
    else if (strcmp(w, "swapgs") == 0)
        __asm__ volatile("swapgs");
    else if (strcmp(w, "int-0e") == 0)
        __asm__ volatile("int $0x0e");
    else if (strcmp(w, "int-80") == 0)
        __asm__ volatile("int $0x80");
    else if (strcmp(w, "int-20") == 0)
        __asm__ volatile("int $0x20");
    else if (strcmp(w, "sysenter") == 0)
        __asm__ volatile("sysenter");
    else if (strcmp(w, "out") == 0)
        __asm__ volatile("mov $0, %%al\n outb %%al, $0x80" : : : "rax");
    else if (strcmp(w, "trap-flag") == 0)
        __asm__ volatile("pushf\n orq $0x100, (%%rsp)\n popf\n nop\n nop" : : : "cc", "memory");
    else if (strcmp(w, "trap-flag-syscall") == 0)
        __asm__ volatile("pushf\n orq $0x100, (%%rsp)\n popf\n mov $30, %%eax\n syscall\n nop"
                         :
                         :
                         : "rax", "rcx", "r11", "cc", "memory");
    else
        return 1;
    return 2;
}

// A syscall made with the stack pointer in the kernel: the kernel must not use it. Exits with 9.
static int c_kernel_rsp_syscall(int argc, char **argv) {
    (void)argc;
    (void)argv;
    __asm__ volatile(
        "movabs $0xffffffff80001000, %%rsp\n"
        "mov $30, %%eax\n syscall\n"
        "mov $24, %%eax\n mov $9, %%edi\n syscall\n ud2"
        :
        :
        : "memory");
    return 2;
}

// The same with a non-canonical stack pointer, then a push: that faults.
static int c_noncanonical_rsp(int argc, char **argv) {
    (void)argc;
    (void)argv;
    __asm__ volatile(
        "movabs $0x8000000000000000, %%rsp\n"
        "mov $30, %%eax\n syscall\n"
        "push %%rax\n"
        "mov $24, %%eax\n mov $10, %%edi\n syscall\n ud2"
        :
        :
        : "memory");
    return 2;
}

// A syscall in the last bytes of the highest user page: it returns to the first address past the
// user range, which faults (the kernel must get there without trouble).
static int c_syscall_at_top(int argc, char **argv) {
    (void)argc;
    (void)argv;
    static const uint8_t code[] = {0xb8, 0x1e, 0x00, 0x00, 0x00, 0x0f, 0x05};  // mov eax,30; syscall
    zx_handle_t x = exec_vmo(code, sizeof(code), P - sizeof(code));
    zx_vaddr_t a;
    if (!x || zx_vmar_map(zx_vmar_root_self(),
                          ZX_VM_PERM_READ | ZX_VM_PERM_EXECUTE | ZX_VM_SPECIFIC,
                          ROOT_END - P - ROOT_BASE, x, 0, P, &a) != ZX_OK)
        return 1;
    if (a != ROOT_END - P)
        return 2;
    ((void (*)(void))(a + P - sizeof(code)))();
    return 3;
}

// ---- Children: threads ----

static void thread_fault(uintptr_t addr, uintptr_t arg2) {
    (void)arg2;
    sink = *(volatile uint8_t *)addr;
    zx_thread_exit();
}

static int c_thread_fault(int argc, char **argv) {
    (void)argc;
    (void)argv;
    zx_handle_t stack_vmo, t;
    zx_vaddr_t stack;
    if (zx_vmo_create(16 * P, 0, &stack_vmo) != ZX_OK ||
        zx_vmar_map(zx_vmar_root_self(), RW, 0, stack_vmo, 0, 16 * P, &stack) != ZX_OK ||
        zx_thread_create(zx_process_self(), "faulter", 7, 0, &t) != ZX_OK)
        return 1;
    if (zx_thread_start(t, (uintptr_t)thread_fault, stack + 16 * P - 8, 0x10, 0) != ZX_OK)
        return 2;
    zx_nanosleep(ZX_TIME_INFINITE);
    return 3;
}

// ---- The tests ----

#define FAULTS(mode, arg) EXPECT_CHILD_FAULTS(mode, arg)

TEST(control_child_survives_its_copy_faults) {
    EXPECT_EQ(ut_run_child("write-ok", NULL), 0);
}

TEST(read_unmapped) {
    FAULTS("read-unmapped", NULL);
}

TEST(write_unmapped) {
    FAULTS("write-unmapped", NULL);
}

TEST(write_readonly) {
    FAULTS("write-readonly", NULL);
}

TEST(execute_non_executable) {
    FAULTS("exec-nx", NULL);
}

TEST(read_no_permissions) {
    FAULTS("read-noaccess", NULL);
}

TEST(beyond_the_vmo) {
    FAULTS("beyond-vmo", "read");
    FAULTS("beyond-vmo", "write");
}

TEST(after_shrink) {
    FAULTS("after-shrink", NULL);
}

TEST(after_unmap) {
    FAULTS("after-unmap", NULL);
}

TEST(after_destroy) {
    FAULTS("after-destroy", NULL);
}

TEST(null_and_low_addresses) {
    FAULTS("read", "0");
    FAULTS("write", "8");
    FAULTS("read", "0xfff000");
}

TEST(kernel_addresses) {
    FAULTS("read", "0xffffffff80000000");
    FAULTS("write", "0xffffffff80100000");
    FAULTS("read", "0xffff800000000000");
    FAULTS("write", "0xffff800000100000");
    FAULTS("read", "0xfffffffffffff000");
}

TEST(non_canonical_addresses) {
    FAULTS("read", "0x0000800000000000");
    FAULTS("write", "0x8000000000000000");
    FAULTS("read", "0xdead000000000000");
}

TEST(end_of_user_range) {
    FAULTS("read", "0x7ffffffff000");
    FAULTS("write", "0x7ffffffffff8");
}

TEST(write_own_code) {
    FAULTS("write-code", NULL);
}

TEST(jumps_out_of_user_space) {
    FAULTS("jump", "0xffffffff80000000");
    FAULTS("jump", "0x0000800000000000");
    FAULTS("jump", "0x7ffffffff000");
    FAULTS("jump", "0");
}

TEST(stack_overflow) {
    FAULTS("stack-overflow", NULL);
}

TEST(cpu_exceptions) {
    static const char *const insns[] = {"ud2", "int3", "div0", "trap-flag"};
    for (size_t i = 0; i < sizeof(insns) / sizeof(insns[0]); i++) {
        if (!FAULTS("insn", insns[i]))
            printf("      (%s)\n", insns[i]);
    }
}

TEST(privileged_instructions) {
    static const char *const insns[] = {"hlt", "cli", "rdmsr", "mov-cr3", "swapgs", "out",
                                        "sysenter"};
    for (size_t i = 0; i < sizeof(insns) / sizeof(insns[0]); i++) {
        if (!FAULTS("insn", insns[i]))
            printf("      (%s)\n", insns[i]);
    }
}

TEST(software_interrupts_to_kernel_vectors) {
    static const char *const insns[] = {"int-0e", "int-80", "int-20"};
    for (size_t i = 0; i < sizeof(insns) / sizeof(insns[0]); i++) {
        if (!FAULTS("insn", insns[i]))
            printf("      (%s)\n", insns[i]);
    }
}

TEST(syscall_with_trap_flag) {
    FAULTS("insn", "trap-flag-syscall");
}

TEST(syscall_with_kernel_stack_pointer) {
    EXPECT_EQ(ut_run_child("kernel-rsp-syscall", NULL), 9);
    FAULTS("noncanonical-rsp", NULL);
}

TEST(syscall_returning_past_user_range) {
    FAULTS("syscall-at-top", NULL);
}

TEST(fault_in_second_thread_kills_process) {
    FAULTS("thread-fault", NULL);
}

TEST(fault_reports) {
    zx_handle_t proc = ut_start_child("write-readonly", NULL);
    REQUIRE_TRUE(proc);
    zx_signals_t seen = 0;
    EXPECT_OK(zx_object_wait_one(proc, ZX_PROCESS_TERMINATED,
                                 ut_deadline_after((zx_duration_t)20 * 1000000000), &seen));
    EXPECT_TRUE(seen & ZX_PROCESS_TERMINATED);
    zx_info_process_t info;
    EXPECT_OK(zx_object_get_info(proc, ZX_INFO_PROCESS, &info, sizeof(info), NULL, NULL));
    EXPECT_EQ(info.return_code, ZX_TASK_RETCODE_EXCEPTION_KILL);
    EXPECT_EQ(info.flags, ZX_INFO_PROCESS_FLAG_STARTED | ZX_INFO_PROCESS_FLAG_EXITED);
    zx_handle_close(proc);
}

TEST(many_faults_in_a_row) {
    uint64_t before = ut_vmo_bytes();
    for (int i = 0; i < 8; i++)
        FAULTS(i % 2 ? "read-unmapped" : "exec-nx", NULL);
    EXPECT_EQ(ut_vmo_bytes(), before);
    EXPECT_EQ(ut_run_child("write-ok", NULL), 0);
}

static const struct ut_child children[] = {
    {"read-unmapped", c_read_unmapped},
    {"write-unmapped", c_write_unmapped},
    {"write-readonly", c_write_readonly},
    {"exec-nx", c_exec_nx},
    {"read-noaccess", c_read_noaccess},
    {"beyond-vmo", c_beyond_vmo},
    {"after-shrink", c_after_shrink},
    {"after-unmap", c_after_unmap},
    {"after-destroy", c_after_destroy},
    {"read", c_read_address},
    {"write", c_write_address},
    {"jump", c_jump_address},
    {"write-code", c_write_code},
    {"stack-overflow", c_stack_overflow},
    {"write-ok", c_write_ok},
    {"insn", c_insn},
    {"kernel-rsp-syscall", c_kernel_rsp_syscall},
    {"noncanonical-rsp", c_noncanonical_rsp},
    {"syscall-at-top", c_syscall_at_top},
    {"thread-fault", c_thread_fault},
    {NULL, NULL},
};
UTEST_MAIN(children)
