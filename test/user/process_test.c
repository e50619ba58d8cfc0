// Tasks: process_create/start/exit, thread_create/start/exit, task_kill, return codes and the
// TERMINATED signal, the start-up registers, waits cancelled by close, and the small calls (clock,
// ticks, nanosleep, debug_write), unknown syscall numbers and register preservation across
// syscalls (docs/abi.md §2 calling convention, "process_create", "process_start").
#include <stdio.h>
#include <stdlib.h>

#include "test/user/utest.h"

#define P ((uint64_t)PAGE)
#define PROC_RIGHTS ZX_DEFAULT_PROCESS_RIGHTS
#define THREAD_RIGHTS ZX_DEFAULT_THREAD_RIGHTS
#define MS ((zx_duration_t)1000000)

static zx_info_process_t proc_info(zx_handle_t proc) {
    zx_info_process_t info;
    ut_get_info(proc, ZX_INFO_PROCESS, &info, sizeof(info));
    return info;
}

static void get_name(zx_handle_t h, char name[ZX_MAX_NAME_LEN]) {
    memset(name, 0x7f, ZX_MAX_NAME_LEN);
    zx_status_t st = zx_object_get_property(h, ZX_PROP_NAME, name, ZX_MAX_NAME_LEN);
    if (st != ZX_OK) {
        EXPECT_FAILF("get ZX_PROP_NAME failed: %d", st);
        name[0] = 0;
    }
}

// Code that exits with the value of `reg` at start.
static void code_exit_with(struct ut_code *c, enum ut_reg reg) {
    memset(c, 0, sizeof(*c));
    if (reg != RDI)
        ut_emit_mov(c, RDI, reg);
    ut_emit_exit(c);
}

// ---- Threads in this process ----

static volatile uint64_t thread_result[4];

static void thread_store(uintptr_t arg1, uintptr_t arg2) {
    thread_result[0] = arg1;
    thread_result[1] = arg2;
    zx_thread_exit();
}

static void thread_process_exit(uintptr_t code, uintptr_t arg2) {
    (void)arg2;
    zx_nanosleep(ut_deadline_after(10 * MS));
    zx_process_exit((int64_t)code);
}

static void thread_wait_forever(uintptr_t handle, uintptr_t arg2) {
    (void)arg2;
    zx_status_t st = zx_object_wait_one((zx_handle_t)handle, ZX_CHANNEL_READABLE,
                                        ZX_TIME_INFINITE, NULL);
    thread_result[2] = (uint64_t)(int64_t)st;
    zx_thread_exit();
}

// ---- Process creation ----

TEST(process_create_basic) {
    zx_handle_t proc, vmar;
    REQUIRE_OK(zx_process_create(zx_job_default(), "proc-test", 9, 0, &proc, &vmar));
    zx_info_handle_basic_t bi;
    EXPECT_OK(zx_object_get_info(proc, ZX_INFO_HANDLE_BASIC, &bi, sizeof(bi), NULL, NULL));
    EXPECT_EQ(bi.type, ZX_OBJ_TYPE_PROCESS);
    EXPECT_EQ(bi.rights, PROC_RIGHTS);
    EXPECT_EQ(bi.related_koid, ut_koid(zx_job_default()));
    EXPECT_EQ(ut_type(vmar), ZX_OBJ_TYPE_VMAR);
    EXPECT_EQ(ut_rights(vmar), 0x801f);
    zx_info_vmar_t vi;
    EXPECT_OK(zx_object_get_info(vmar, ZX_INFO_VMAR, &vi, sizeof(vi), NULL, NULL));
    EXPECT_EQ(vi.base, ROOT_BASE);
    EXPECT_EQ(vi.len, ROOT_END - ROOT_BASE);
    char name[ZX_MAX_NAME_LEN];
    get_name(proc, name);
    EXPECT_EQ(strcmp(name, "proc-test"), 0);
    zx_info_process_t pi = proc_info(proc);
    EXPECT_EQ(pi.flags, 0);
    EXPECT_EQ(pi.return_code, 0);
    EXPECT_FALSE(ut_signaled(proc, ZX_PROCESS_TERMINATED));
    // The VMAR is usable before the process starts.
    zx_handle_t vmo = ut_vmo(P, 1);
    zx_vaddr_t a;
    EXPECT_OK(zx_vmar_map(vmar, ZX_VM_PERM_READ, 0, vmo, 0, P, &a));
    EXPECT_EQ(ut_vmo_info(vmo).num_mappings, 1);
    zx_handle_close(vmo);
    zx_handle_close(vmar);
    zx_handle_close(proc);
}

TEST(process_create_names) {
    zx_handle_t proc, vmar;
    const char *longname = "a-process-name-that-is-longer-than-31-bytes";
    REQUIRE_OK(zx_process_create(zx_job_default(), longname, strlen(longname), 0, &proc, &vmar));
    char name[ZX_MAX_NAME_LEN];
    get_name(proc, name);
    EXPECT_EQ(strlen(name), ZX_MAX_NAME_LEN - 1);
    EXPECT_EQ(strncmp(name, longname, ZX_MAX_NAME_LEN - 1), 0);
    zx_handle_close(vmar);
    zx_handle_close(proc);
    REQUIRE_OK(zx_process_create(zx_job_default(), "", 0, 0, &proc, &vmar));
    get_name(proc, name);
    EXPECT_EQ(name[0], 0);
    zx_handle_close(vmar);
    zx_handle_close(proc);
    // name_size counts, not the terminator.
    REQUIRE_OK(zx_process_create(zx_job_default(), "abcdef", 3, 0, &proc, &vmar));
    get_name(proc, name);
    EXPECT_EQ(strcmp(name, "abc"), 0);
    zx_handle_close(vmar);
    zx_handle_close(proc);
}

TEST(process_create_errors) {
    zx_handle_t proc = ZX_HANDLE_INVALID, vmar = ZX_HANDLE_INVALID;
    zx_handle_t job = zx_job_default();
    EXPECT_STATUS(zx_process_create(job, "x", 1, 1, &proc, &vmar), ZX_ERR_INVALID_ARGS);
    EXPECT_STATUS(zx_process_create(job, "x", 1, 0x80000000u, &proc, &vmar), ZX_ERR_INVALID_ARGS);
    zx_handle_t weak = ut_dup(job, ZX_DEFAULT_JOB_RIGHTS & ~ZX_RIGHT_MANAGE_PROCESS);
    EXPECT_STATUS(zx_process_create(weak, "x", 1, 0, &proc, &vmar), ZX_ERR_ACCESS_DENIED);
    zx_handle_close(weak);
    EXPECT_HANDLE_ERRORS(zx_process_create(h, "x", 1, 0, &proc, &vmar));
    EXPECT_STATUS(zx_process_create(zx_process_self(), "x", 1, 0, &proc, &vmar),
                  ZX_ERR_WRONG_TYPE);
    EXPECT_PTR_ERRORS(zx_process_create(job, (const char *)bad, 4, 0, &proc, &vmar),
                      ut_noaccess_page);
    EXPECT_PTR_ERRORS(zx_process_create(job, "x", 1, 0, (zx_handle_t *)bad, &vmar), ut_ro_page);
    EXPECT_PTR_ERRORS(zx_process_create(job, "x", 1, 0, &proc, (zx_handle_t *)bad), ut_ro_page);
    // A failed call may have written one value, but no handle survives it.
    EXPECT_FALSE(proc != ZX_HANDLE_INVALID && ut_handle_valid(proc));
    EXPECT_FALSE(vmar != ZX_HANDLE_INVALID && ut_handle_valid(vmar));
}

// ---- Starting processes made by hand ----

TEST(process_start_passes_arg2) {
    struct ut_code c;
    code_exit_with(&c, RSI);
    struct ut_proc p;
    REQUIRE_OK(ut_proc_create(&p, "arg2", &c));
    zx_time_t before = zx_clock_get_monotonic();
    EXPECT_OK(ut_proc_start(&p, ZX_HANDLE_INVALID, 0x12345678abcdull));
    EXPECT_EQ(ut_wait_process(p.proc, 10), 0x12345678abcdll);
    zx_info_process_t pi = proc_info(p.proc);
    EXPECT_EQ(pi.flags, ZX_INFO_PROCESS_FLAG_STARTED | ZX_INFO_PROCESS_FLAG_EXITED);
    EXPECT_GE(pi.start_time, before);
    EXPECT_LE(pi.start_time, zx_clock_get_monotonic());
    EXPECT_TRUE(ut_signaled(p.proc, ZX_PROCESS_TERMINATED));
    EXPECT_TRUE(ut_signaled(p.thread, ZX_THREAD_TERMINATED));
    ut_proc_close(&p);
}

TEST(process_start_arg1_invalid_is_zero) {
    struct ut_code c;
    code_exit_with(&c, RDI);
    struct ut_proc p;
    REQUIRE_OK(ut_proc_create(&p, "arg1", &c));
    EXPECT_OK(ut_proc_start(&p, ZX_HANDLE_INVALID, 7));
    EXPECT_EQ(ut_wait_process(p.proc, 10), 0);
    ut_proc_close(&p);
}

TEST(process_start_moves_arg1) {
    // The new process closes the handle it got in rdi and exits with the status.
    struct ut_code c = {{0}, 0};
    ut_emit_mov_imm(&c, RAX, 1);  // zx_handle_close(rdi)
    ut_emit_syscall(&c);
    ut_emit_mov(&c, RDI, RAX);
    ut_emit_exit(&c);
    struct ut_proc p;
    REQUIRE_OK(ut_proc_create(&p, "arg1-handle", &c));
    zx_handle_t vmo = ut_vmo(P, 1);
    EXPECT_OK(ut_proc_start(&p, vmo, 0));
    EXPECT_FALSE(ut_handle_valid(vmo));
    EXPECT_EQ(ut_wait_process(p.proc, 10), ZX_OK);
    ut_proc_close(&p);
    // The value it gets is a handle value: low bits set.
    code_exit_with(&c, RDI);
    REQUIRE_OK(ut_proc_create(&p, "arg1-value", &c));
    vmo = ut_vmo(P, 1);
    EXPECT_OK(ut_proc_start(&p, vmo, 0));
    int64_t v = ut_wait_process(p.proc, 10);
    EXPECT_EQ(v & 3, 3);
    EXPECT_GT(v, 0);
    ut_proc_close(&p);
}

TEST(process_start_clears_registers) {
    // OR every register but rdi, rsi, rsp and the SYSRET pair (rcx, r11) together.
    static const enum ut_reg regs[] = {RBX, RDX, RBP, R8, R9, R10, R12, R13, R14, R15};
    struct ut_code c = {{0}, 0};
    ut_emit_mov(&c, RDI, RAX);
    for (size_t i = 0; i < sizeof(regs) / sizeof(regs[0]); i++)
        ut_emit_or(&c, RDI, regs[i]);
    ut_emit_exit(&c);
    struct ut_proc p;
    REQUIRE_OK(ut_proc_create(&p, "regs", &c));
    EXPECT_OK(ut_proc_start(&p, ZX_HANDLE_INVALID, 0));
    EXPECT_EQ(ut_wait_process(p.proc, 10), 0);
    ut_proc_close(&p);
}

TEST(process_start_errors) {
    struct ut_code c;
    code_exit_with(&c, RSI);
    struct ut_proc p, q;
    REQUIRE_OK(ut_proc_create(&p, "start-errors", &c));
    REQUIRE_OK(ut_proc_create(&q, "other", &c));
    uintptr_t e = p.code_addr, s = p.code_addr + P;
    // A thread of another process.
    EXPECT_STATUS(zx_process_start(p.proc, q.thread, e, s, ZX_HANDLE_INVALID, 0),
                  ZX_ERR_ACCESS_DENIED);
    // Rights: WRITE on both.
    zx_handle_t pw = ut_dup(p.proc, PROC_RIGHTS & ~ZX_RIGHT_WRITE);
    zx_handle_t tw = ut_dup(p.thread, THREAD_RIGHTS & ~ZX_RIGHT_WRITE);
    EXPECT_STATUS(zx_process_start(pw, p.thread, e, s, ZX_HANDLE_INVALID, 0),
                  ZX_ERR_ACCESS_DENIED);
    EXPECT_STATUS(zx_process_start(p.proc, tw, e, s, ZX_HANDLE_INVALID, 0), ZX_ERR_ACCESS_DENIED);
    zx_handle_close(pw);
    zx_handle_close(tw);
    // Handles.
    EXPECT_HANDLE_ERRORS(zx_process_start(h, p.thread, e, s, ZX_HANDLE_INVALID, 0));
    EXPECT_HANDLE_ERRORS(zx_process_start(p.proc, h, e, s, ZX_HANDLE_INVALID, 0));
    EXPECT_STATUS(zx_process_start(p.thread, p.thread, e, s, ZX_HANDLE_INVALID, 0),
                  ZX_ERR_WRONG_TYPE);
    EXPECT_STATUS(zx_process_start(p.proc, p.proc, e, s, ZX_HANDLE_INVALID, 0), ZX_ERR_WRONG_TYPE);
    EXPECT_STATUS(zx_process_start(p.proc, p.thread, e, s, UT_FORGED_HANDLE, 0),
                  ZX_ERR_BAD_HANDLE);
    // arg1 without TRANSFER: refused (and closed).
    zx_handle_t v = ut_vmo(P, -1);
    zx_handle_t nt = ut_dup(v, ZX_DEFAULT_VMO_RIGHTS & ~ZX_RIGHT_TRANSFER);
    zx_handle_close(v);
    EXPECT_STATUS(zx_process_start(p.proc, p.thread, e, s, nt, 0), ZX_ERR_ACCESS_DENIED);
    zx_handle_close(nt);
    // Entry points that are not user addresses.
    static const uintptr_t bad_entries[] = {0xffffffff80000000ull, 0x0000800000000000ull,
                                            0xdead000000000000ull, ROOT_END};
    for (size_t i = 0; i < sizeof(bad_entries) / sizeof(bad_entries[0]); i++) {
        if (!EXPECT_STATUS(zx_process_start(p.proc, p.thread, bad_entries[i], s,
                                            ZX_HANDLE_INVALID, 0),
                           ZX_ERR_INVALID_ARGS))
            ut_note_ptr(bad_entries[i]);
    }
    EXPECT_EQ(proc_info(p.proc).flags, 0);
    // Now for real; a second start is BAD_STATE.
    EXPECT_OK(zx_process_start(p.proc, p.thread, e, s, ZX_HANDLE_INVALID, 5));
    EXPECT_STATUS(zx_process_start(p.proc, p.thread, e, s, ZX_HANDLE_INVALID, 0),
                  ZX_ERR_BAD_STATE);
    EXPECT_EQ(ut_wait_process(p.proc, 10), 5);
    EXPECT_STATUS(zx_process_start(p.proc, p.thread, e, s, ZX_HANDLE_INVALID, 0),
                  ZX_ERR_BAD_STATE);
    // A process that has exited takes no new threads.
    zx_handle_t t3 = ZX_HANDLE_INVALID;
    EXPECT_STATUS(zx_thread_create(p.proc, "t3", 2, 0, &t3), ZX_ERR_BAD_STATE);
    ut_proc_close(&q);
    ut_proc_close(&p);
}

TEST(process_start_at_unmapped_entry_faults) {
    struct ut_code c;
    code_exit_with(&c, RSI);
    struct ut_proc p;
    REQUIRE_OK(ut_proc_create(&p, "unmapped-entry", &c));
    // A canonical user address with nothing mapped: the new thread faults at once.
    EXPECT_OK(zx_process_start(p.proc, p.thread, ROOT_BASE + 0x1000, p.code_addr + P,
                               ZX_HANDLE_INVALID, 0));
    EXPECT_EQ(ut_wait_process(p.proc, 10), ZX_TASK_RETCODE_EXCEPTION_KILL);
    ut_proc_close(&p);
}

TEST(unstarted_process_is_freed) {
    uint64_t base = ut_vmo_bytes();
    struct ut_code c;
    code_exit_with(&c, RSI);
    struct ut_proc p;
    REQUIRE_OK(ut_proc_create(&p, "never-started", &c));
    zx_handle_t vmo = ut_vmo(4 * P, 1);
    zx_vaddr_t a;
    EXPECT_OK(zx_vmar_map(p.vmar, ZX_VM_PERM_READ, 0, vmo, 0, 4 * P, &a));
    zx_handle_close(vmo);
    EXPECT_GT(ut_vmo_bytes(), base);
    zx_handle_close(p.thread);
    zx_handle_close(p.vmar);
    zx_handle_close(p.proc);
    EXPECT_EQ(ut_vmo_bytes(), base);
}

// ---- Threads ----

TEST(thread_create_basic) {
    zx_handle_t t;
    REQUIRE_OK(zx_thread_create(zx_process_self(), "my-thread", 9, 0, &t));
    zx_info_handle_basic_t bi;
    EXPECT_OK(zx_object_get_info(t, ZX_INFO_HANDLE_BASIC, &bi, sizeof(bi), NULL, NULL));
    EXPECT_EQ(bi.type, ZX_OBJ_TYPE_THREAD);
    EXPECT_EQ(bi.rights, THREAD_RIGHTS);
    EXPECT_EQ(bi.related_koid, ut_koid(zx_process_self()));
    char name[ZX_MAX_NAME_LEN];
    get_name(t, name);
    EXPECT_EQ(strcmp(name, "my-thread"), 0);
    EXPECT_FALSE(ut_signaled(t, ZX_THREAD_TERMINATED));
    zx_handle_close(t);
    // Our own thread.
    EXPECT_EQ(ut_type(zx_thread_self()), ZX_OBJ_TYPE_THREAD);
    EXPECT_EQ(ut_type(zx_process_self()), ZX_OBJ_TYPE_PROCESS);
    EXPECT_EQ(ut_type(zx_job_default()), ZX_OBJ_TYPE_JOB);
}

TEST(thread_create_errors) {
    zx_handle_t t = ZX_HANDLE_INVALID;
    EXPECT_STATUS(zx_thread_create(zx_process_self(), "x", 1, 1, &t), ZX_ERR_INVALID_ARGS);
    EXPECT_HANDLE_ERRORS(zx_thread_create(h, "x", 1, 0, &t));
    EXPECT_STATUS(zx_thread_create(zx_thread_self(), "x", 1, 0, &t), ZX_ERR_WRONG_TYPE);
    zx_handle_t weak = ut_dup(zx_process_self(), PROC_RIGHTS & ~ZX_RIGHT_MANAGE_THREAD);
    EXPECT_STATUS(zx_thread_create(weak, "x", 1, 0, &t), ZX_ERR_ACCESS_DENIED);
    zx_handle_close(weak);
    EXPECT_PTR_ERRORS(zx_thread_create(zx_process_self(), (const char *)bad, 4, 0, &t),
                      ut_noaccess_page);
    EXPECT_PTR_ERRORS(zx_thread_create(zx_process_self(), "x", 1, 0, (zx_handle_t *)bad),
                      ut_ro_page);
    EXPECT_EQ(t, ZX_HANDLE_INVALID);
}

TEST(thread_start_runs_and_exits) {
    thread_result[0] = thread_result[1] = 0;
    struct ut_thread t;
    REQUIRE_OK(ut_thread_spawn(&t, thread_store, 0x1111, 0x2222));
    // Starting it again.
    EXPECT_STATUS(zx_thread_start(t.thread, (uintptr_t)thread_store, t.stack + UT_THREAD_STACK_SIZE - 8, 0,
                                  0),
                  ZX_ERR_BAD_STATE);
    zx_handle_t th = ut_dup(t.thread, ZX_RIGHT_SAME_RIGHTS);
    EXPECT_TRUE(ut_thread_join(&t, 5000));
    EXPECT_EQ(thread_result[0], 0x1111);
    EXPECT_EQ(thread_result[1], 0x2222);
    EXPECT_TRUE(ut_signaled(th, ZX_THREAD_TERMINATED));
    EXPECT_STATUS(zx_thread_start(th, (uintptr_t)thread_store, (uintptr_t)ut_scratch + 4096 - 8,
                                  0, 0),
                  ZX_ERR_BAD_STATE);
    zx_handle_close(th);
    // We are still alive and well.
    EXPECT_FALSE(ut_signaled(zx_process_self(), ZX_PROCESS_TERMINATED));
}

TEST(thread_start_errors) {
    zx_handle_t t;
    REQUIRE_OK(zx_thread_create(zx_process_self(), "x", 1, 0, &t));
    EXPECT_HANDLE_ERRORS(zx_thread_start(h, (uintptr_t)thread_store, 0, 0, 0));
    EXPECT_STATUS(zx_thread_start(zx_process_self(), (uintptr_t)thread_store, 0, 0, 0),
                  ZX_ERR_WRONG_TYPE);
    zx_handle_t weak = ut_dup(t, THREAD_RIGHTS & ~ZX_RIGHT_WRITE);
    EXPECT_STATUS(zx_thread_start(weak, (uintptr_t)thread_store, 0, 0, 0), ZX_ERR_ACCESS_DENIED);
    zx_handle_close(weak);
    static const uintptr_t bad_entries[] = {0xffffffff80000000ull, 0x0000800000000000ull,
                                            0xdead000000000000ull, ROOT_END};
    for (size_t i = 0; i < sizeof(bad_entries) / sizeof(bad_entries[0]); i++) {
        if (!EXPECT_STATUS(zx_thread_start(t, bad_entries[i], 0, 0, 0), ZX_ERR_INVALID_ARGS))
            ut_note_ptr(bad_entries[i]);
    }
    EXPECT_FALSE(ut_signaled(t, ZX_THREAD_TERMINATED));
    zx_handle_close(t);
}

// ---- Children: ending processes ----

static int child_spin(int argc, char **argv) {
    (void)argc;
    (void)argv;
    for (volatile uint64_t i = 0;; i++) {
    }
    return 1;
}

static int child_block(int argc, char **argv) {
    (void)argc;
    (void)argv;
    zx_handle_t a, b;
    if (zx_channel_create(0, &a, &b) != ZX_OK)
        return 1;
    zx_object_wait_one(b, ZX_CHANNEL_READABLE, ZX_TIME_INFINITE, NULL);
    return 2;
}

static int child_sleep(int argc, char **argv) {
    (void)argc;
    (void)argv;
    zx_nanosleep(ZX_TIME_INFINITE);
    return 3;
}

static int child_self_kill(int argc, char **argv) {
    (void)argc;
    (void)argv;
    zx_task_kill(zx_process_self());
    return 4;
}

static int child_exit_big(int argc, char **argv) {
    (void)argc;
    (void)argv;
    zx_process_exit(0x123456789ll);
}

static int child_exit_neg(int argc, char **argv) {
    (void)argc;
    (void)argv;
    return -5;
}

static int child_thread_exit(int argc, char **argv) {
    (void)argc;
    (void)argv;
    zx_thread_exit();
}

static int child_other_thread_exits(int argc, char **argv) {
    (void)argc;
    (void)argv;
    struct ut_thread t;
    if (ut_thread_spawn(&t, thread_process_exit, 9, 0) != ZX_OK)
        return 1;
    zx_nanosleep(ZX_TIME_INFINITE);
    return 2;
}

static int child_commit_and_exit(int argc, char **argv) {
    zx_handle_t vmo;
    if (zx_vmo_create(2u << 20, 0, &vmo) != ZX_OK ||
        zx_vmo_op_range(vmo, ZX_VMO_OP_COMMIT, 0, 2u << 20, NULL, 0) != ZX_OK)
        return 1;
    volatile uint8_t *p = (volatile uint8_t *)ut_map(vmo, 0, 2u << 20, ZX_VM_PERM_READ |
                                                                           ZX_VM_PERM_WRITE);
    if (!p)
        return 2;
    p[0] = 1;
    if (argc > 1 && strcmp(argv[1], "fault") == 0)
        return *(volatile uint8_t *)0 + 3;
    return 0;
}

static int child_cancel_wait(int argc, char **argv) {
    (void)argc;
    (void)argv;
    zx_handle_t a, b;
    if (zx_channel_create(0, &a, &b) != ZX_OK)
        return 1;
    thread_result[2] = 12345;
    struct ut_thread t;
    if (ut_thread_spawn(&t, thread_wait_forever, b, 0) != ZX_OK)
        return 2;
    zx_nanosleep(ut_deadline_after(30 * MS));
    zx_handle_close(b);
    if (!ut_thread_join(&t, 5000))
        return 3;
    return thread_result[2] == (uint64_t)(int64_t)ZX_ERR_CANCELED ? 0 : 100 + (int)thread_result[2];
}

static volatile uint64_t counters[4];

static void thread_count(uintptr_t idx, uintptr_t n) {
    for (uintptr_t i = 0; i < n; i++)
        counters[idx]++;
    zx_thread_exit();
}

static int child_threads(int argc, char **argv) {
    (void)argc;
    (void)argv;
    struct ut_thread t[4];
    for (int i = 0; i < 4; i++) {
        if (ut_thread_spawn(&t[i], thread_count, (uintptr_t)i, 100000) != ZX_OK)
            return 1;
    }
    for (int i = 0; i < 4; i++) {
        if (!ut_thread_join(&t[i], 20000))
            return 2;
    }
    for (int i = 0; i < 4; i++) {
        if (counters[i] != 100000)
            return 3;
    }
    return 0;
}

static void thread_spin_forever(uintptr_t arg1, uintptr_t arg2) {
    (void)arg1;
    (void)arg2;
    for (volatile uint64_t i = 0;; i++) {
    }
}

// Four threads spinning in user mode: on four CPUs, each on its own one.
static int child_spin_threads(int argc, char **argv) {
    (void)argc;
    (void)argv;
    struct ut_thread t[3];
    for (int i = 0; i < 3; i++) {
        if (ut_thread_spawn(&t[i], thread_spin_forever, 0, 0) != ZX_OK)
            return 1;
    }
    thread_spin_forever(0, 0);
    return 2;
}

// A kill must reach threads running in user mode on other CPUs (a reschedule IPI makes each pass
// through a kernel exit), and TERMINATED comes only once every one of them is gone.
TEST(kill_process_spinning_on_many_threads) {
    for (int round = 0; round < 5; round++) {
        zx_handle_t proc = ut_start_child("spin-threads", NULL);
        REQUIRE_TRUE(proc);
        zx_nanosleep(ut_deadline_after(30 * MS));
        EXPECT_FALSE(ut_signaled(proc, ZX_PROCESS_TERMINATED));
        EXPECT_OK(zx_task_kill(proc));
        EXPECT_OK(zx_object_wait_one(proc, ZX_PROCESS_TERMINATED, ut_deadline_after(5000 * MS),
                                     NULL));
        EXPECT_EQ(ut_wait_process(proc, 5), ZX_TASK_RETCODE_SYSCALL_KILL);
        zx_handle_close(proc);
    }
}

TEST(return_codes) {
    EXPECT_EQ(ut_run_child("exit-big", NULL), 0x123456789ll);
    EXPECT_EQ(ut_run_child("exit-neg", NULL), -5);
    EXPECT_EQ(ut_run_child("noop", NULL), 0);
}

TEST(kill_running_process) {
    static const char *const modes[] = {"spin", "block", "sleep"};
    for (int i = 0; i < 3; i++) {
        zx_handle_t proc = ut_start_child(modes[i], NULL);
        REQUIRE_TRUE(proc);
        zx_nanosleep(ut_deadline_after(20 * MS));
        EXPECT_FALSE(ut_signaled(proc, ZX_PROCESS_TERMINATED));
        zx_handle_t weak = ut_dup(proc, PROC_RIGHTS & ~ZX_RIGHT_DESTROY);
        EXPECT_STATUS(zx_task_kill(weak), ZX_ERR_ACCESS_DENIED);
        zx_handle_close(weak);
        EXPECT_OK(zx_task_kill(proc));
        EXPECT_OK(zx_object_wait_one(proc, ZX_PROCESS_TERMINATED, ut_deadline_after(5000 * MS),
                                     NULL));
        if (!EXPECT_EQ(ut_wait_process(proc, 5), ZX_TASK_RETCODE_SYSCALL_KILL))
            printf("      (child %s)\n", modes[i]);
        // Killing it again is harmless.
        EXPECT_OK(zx_task_kill(proc));
        zx_handle_close(proc);
    }
}

TEST(kill_errors) {
    EXPECT_STATUS(zx_task_kill(ZX_HANDLE_INVALID), ZX_ERR_BAD_HANDLE);
    EXPECT_STATUS(zx_task_kill(ut_stale_handle), ZX_ERR_BAD_HANDLE);
    EXPECT_STATUS(zx_task_kill(UT_FORGED_HANDLE), ZX_ERR_BAD_HANDLE);
    // Handles that are not tasks (and lack DESTROY): the type is checked before rights.
    SKIP_IF_KNOWN_BUG(zx_task_kill(ut_channel) == ZX_ERR_ACCESS_DENIED,
                      "zx_task_kill on a non-task handle without DESTROY returns ACCESS_DENIED; "
                      "docs/abi.md section 2: WRONG_TYPE, checked before rights");
    EXPECT_HANDLE_ERRORS(zx_task_kill(h));
    zx_handle_t vmo = ut_vmo(P, -1);
    EXPECT_STATUS(zx_task_kill(vmo), ZX_ERR_WRONG_TYPE);
    EXPECT_STATUS(zx_task_kill(zx_vmar_root_self()), ZX_ERR_WRONG_TYPE);
    zx_handle_close(vmo);
}

TEST(self_kill) {
    EXPECT_EQ(ut_run_child("self-kill", NULL), ZX_TASK_RETCODE_SYSCALL_KILL);
}

TEST(last_thread_exit_ends_process) {
    zx_handle_t proc = ut_start_child("thread-exit", NULL);
    REQUIRE_TRUE(proc);
    EXPECT_OK(zx_object_wait_one(proc, ZX_PROCESS_TERMINATED, ut_deadline_after(10000 * MS),
                                 NULL));
    EXPECT_TRUE(proc_info(proc).flags & ZX_INFO_PROCESS_FLAG_EXITED);
    zx_task_kill(proc);
    zx_handle_close(proc);
}

TEST(process_exit_from_another_thread) {
    EXPECT_EQ(ut_run_child("other-thread-exits", NULL), 9);
}

TEST(memory_freed_at_exit) {
    uint64_t before = ut_vmo_bytes();
    static const char *const how[] = {"exit", "fault"};
    for (int i = 0; i < 2; i++) {
        zx_handle_t proc = ut_start_child("commit-and-exit", how[i]);
        REQUIRE_TRUE(proc);
        int64_t code = ut_wait_process(proc, 20);
        EXPECT_EQ(code, i == 0 ? 0 : ZX_TASK_RETCODE_EXCEPTION_KILL);
        // The process is gone but we still hold its handle: its memory is already free.
        EXPECT_EQ(ut_vmo_bytes(), before);
        zx_handle_close(proc);
    }
}

TEST(close_cancels_wait) {
    int64_t code = ut_run_child("cancel-wait", NULL);
    // 3: the waiting thread never woke up.
    SKIP_IF_KNOWN_BUG(code == 3, "closing a handle does not end another thread's "
                                 "zx_object_wait_one on it with ZX_ERR_CANCELED (Zircon "
                                 "object_wait_one.md); the waiter sleeps until its deadline");
    EXPECT_EQ(code, 0);
}

TEST(threads_run_concurrently) {
    EXPECT_EQ(ut_run_child_t("threads", NULL, 60), 0);
}

TEST(several_children_at_once) {
    zx_handle_t procs[3];
    for (int i = 0; i < 3; i++)
        procs[i] = ut_start_child(i == 1 ? "exit-neg" : "exit-big", NULL);
    for (int i = 0; i < 3; i++) {
        if (procs[i])
            EXPECT_EQ(ut_wait_process(procs[i], 20), i == 1 ? -5 : 0x123456789ll);
        zx_handle_close(procs[i]);
    }
}

TEST(wait_needs_wait_right) {
    zx_handle_t proc = ut_start_child("noop", NULL);
    REQUIRE_TRUE(proc);
    zx_handle_t nowait = ut_dup(proc, PROC_RIGHTS & ~ZX_RIGHT_WAIT);
    EXPECT_STATUS(zx_object_wait_one(nowait, ZX_PROCESS_TERMINATED, 0, NULL),
                  ZX_ERR_ACCESS_DENIED);
    zx_handle_close(nowait);
    EXPECT_EQ(ut_wait_process(proc, 10), 0);
    zx_handle_close(proc);
}

// ---- Small calls ----

TEST(clock_and_ticks) {
    zx_time_t t0 = zx_clock_get_monotonic();
    zx_ticks_t k0 = zx_ticks_get();
    EXPECT_GT(t0, 0);
    EXPECT_GT(zx_ticks_per_second(), 0);
    zx_time_t prev = t0;
    for (int i = 0; i < 100; i++) {
        zx_time_t t = zx_clock_get_monotonic();
        EXPECT_GE(t, prev);
        prev = t;
    }
    EXPECT_OK(zx_nanosleep(t0 + 20 * MS));
    zx_time_t t1 = zx_clock_get_monotonic();
    zx_ticks_t k1 = zx_ticks_get();
    EXPECT_GE(t1, t0 + 20 * MS);
    EXPECT_GT(k1, k0);
    // The ticks measure the same interval (within a generous factor: this is an emulator).
    zx_ticks_t per_us = zx_ticks_per_second() / 1000000;
    REQUIRE_TRUE(per_us > 0);
    int64_t tick_ns = (k1 - k0) / per_us * 1000;
    EXPECT_GE(tick_ns, (t1 - t0) / 4);
    EXPECT_LE(tick_ns, (t1 - t0) * 4);
}

TEST(nanosleep) {
    zx_time_t t0 = zx_clock_get_monotonic();
    EXPECT_OK(zx_nanosleep(0));
    EXPECT_OK(zx_nanosleep(-1));
    EXPECT_OK(zx_nanosleep(t0 - 1000));
    EXPECT_LT(zx_clock_get_monotonic() - t0, 1000 * MS);
    zx_time_t d = zx_clock_get_monotonic() + 15 * MS;
    EXPECT_OK(zx_nanosleep(d));
    EXPECT_GE(zx_clock_get_monotonic(), d);
}

TEST(debug_write) {
    EXPECT_OK(zx_debug_write("debug_write test line\n", 22));
    EXPECT_OK(zx_debug_write("x", 0));
    EXPECT_OK(zx_debug_write(NULL, 0));
    memset(ut_scratch, '=', 300);
    ut_scratch[299] = '\n';
    EXPECT_OK(zx_debug_write((const char *)ut_scratch, 300));
    zx_debug_write("\n", 1);
    EXPECT_PTR_ERRORS(zx_debug_write((const char *)bad, 8), ut_noaccess_page);
}

TEST(unknown_syscalls) {
    static const uint64_t nrs[] = {0, 73, 74, 100, 1000, 0x7fffffff, 0xffffffff,
                                   0x100000001ull, 0x8000000000000001ull, UINT64_MAX};
    for (size_t i = 0; i < sizeof(nrs) / sizeof(nrs[0]); i++) {
        // Arguments that would be harmless for handle_close (nr 1) if the kernel truncated.
        int64_t r = ut_syscall(nrs[i], 0, 0, 0, 0, 0, 0, 0, 0);
        if (!EXPECT_EQ(r, ZX_ERR_BAD_SYSCALL))
            printf("      (number %#llx)\n", (unsigned long long)nrs[i]);
    }
}

// Runs syscall `nr` with every register set to a pattern (rdi to `rdi`) and checks that only rax,
// rcx and r11 changed.
static void check_preserved(uint64_t nr, uint64_t rdi) {
    static volatile uint64_t io[20];
    static const char *const names[] = {"rbx", "rbp", "rdx", "rsi", "rdi", "r8",  "r9",
                                        "r10", "r12", "r13", "r14", "r15", "rsp"};
    io[16] = nr;
    io[17] = rdi;
    __asm__ volatile(
        "sub $128, %%rsp\n"  // keep clear of the red zone
        "push %%rbx\n push %%rbp\n push %%r12\n push %%r13\n push %%r14\n push %%r15\n"
        "push %[io]\n"
        "mov %%rsp, 120(%[io])\n"
        "mov 128(%[io]), %%rax\n"
        "mov 136(%[io]), %%rdi\n"
        "movabs $0x1111111111111111, %%rbx\n"
        "movabs $0x2222222222222222, %%rbp\n"
        "movabs $0x3333333333333333, %%rdx\n"
        "movabs $0x4444444444444444, %%rsi\n"
        "movabs $0x8888888888888888, %%r8\n"
        "movabs $0x9999999999999999, %%r9\n"
        "movabs $0xaaaaaaaaaaaaaaaa, %%r10\n"
        "movabs $0xcccccccccccccccc, %%r12\n"
        "movabs $0xdddddddddddddddd, %%r13\n"
        "movabs $0xeeeeeeeeeeeeeeee, %%r14\n"
        "movabs $0xffffffffffffffff, %%r15\n"
        "syscall\n"
        "mov (%%rsp), %%rcx\n"
        "mov %%rbx, 0(%%rcx)\n mov %%rbp, 8(%%rcx)\n mov %%rdx, 16(%%rcx)\n"
        "mov %%rsi, 24(%%rcx)\n mov %%rdi, 32(%%rcx)\n mov %%r8, 40(%%rcx)\n"
        "mov %%r9, 48(%%rcx)\n mov %%r10, 56(%%rcx)\n mov %%r12, 64(%%rcx)\n"
        "mov %%r13, 72(%%rcx)\n mov %%r14, 80(%%rcx)\n mov %%r15, 88(%%rcx)\n"
        "mov %%rsp, 96(%%rcx)\n"
        "pop %%rcx\n"
        "pop %%r15\n pop %%r14\n pop %%r13\n pop %%r12\n pop %%rbp\n pop %%rbx\n"
        "add $128, %%rsp\n"
        :
        : [io] "r"(io)
        : "rax", "rcx", "rdx", "rsi", "rdi", "r8", "r9", "r10", "r11", "memory", "cc");
    const uint64_t want[13] = {0x1111111111111111ull, 0x2222222222222222ull,
                               0x3333333333333333ull, 0x4444444444444444ull,
                               rdi,
                               0x8888888888888888ull, 0x9999999999999999ull,
                               0xaaaaaaaaaaaaaaaaull, 0xccccccccccccccccull,
                               0xddddddddddddddddull, 0xeeeeeeeeeeeeeeeeull,
                               0xffffffffffffffffull, io[15]};
    for (int i = 0; i < 13; i++) {
        if (io[i] != want[i])
            EXPECT_FAILF("syscall %llu changed %s: %#llx, was %#llx", (unsigned long long)nr,
                         names[i], (unsigned long long)io[i], (unsigned long long)want[i]);
    }
}

TEST(syscalls_preserve_registers) {
    check_preserved(30, 0x7777777777777777ull);  // clock_get_monotonic
    check_preserved(32, 0x7777777777777777ull);  // ticks_get
    check_preserved(999, 0x7777777777777777ull);  // unknown
    check_preserved(1, 0x7777777777777777ull);   // handle_close of a bad handle
    check_preserved(31, 1);                      // nanosleep, deadline passed
    check_preserved(31, (uint64_t)ut_deadline_after(3 * MS));  // nanosleep that blocks
}

static const struct ut_child children[] = {
    {"spin", child_spin},
    {"block", child_block},
    {"sleep", child_sleep},
    {"self-kill", child_self_kill},
    {"exit-big", child_exit_big},
    {"exit-neg", child_exit_neg},
    {"thread-exit", child_thread_exit},
    {"other-thread-exits", child_other_thread_exits},
    {"commit-and-exit", child_commit_and_exit},
    {"cancel-wait", child_cancel_wait},
    {"threads", child_threads},
    {"spin-threads", child_spin_threads},
    {NULL, NULL},
};
UTEST_MAIN(children)
