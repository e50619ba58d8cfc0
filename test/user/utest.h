// The user-mode test harness: each test program (test/user/*_test.c) registers tests with TEST(name)
// and ends with UTEST_MAIN(children). The runner prints one line per test ("[ OK ]", "[FAIL]" or
// "[SKIP]") and finally "N passed, N failed"; main returns the number failed.
//
//     TEST(create_rounds_up) {
//         zx_handle_t vmo;
//         REQUIRE_OK(zx_vmo_create(1, 0, &vmo));
//         EXPECT_EQ(ut_vmo_size(vmo), 4096);
//         zx_handle_close(vmo);
//     }
//
// The checks are the EXPECT_* / REQUIRE_* family of kernel/expect.h, shared with the kernel's
// tests: EXPECT_* prints file:line and both values on failure and the test goes on; REQUIRE_* also
// returns from the test; EXPECT_FAILF records a failure with a message. Every test is also a leak
// check: ZX_INFO_KMEM_STATS.vmo_bytes must be the same after the test as before it (the harness
// commits its own stack and scratch memory up front, so a test should not malloc). SKIP_KNOWN_BUG("why") ends a test as skipped (not passed): it marks a
// check of behaviour the kernel is known to get wrong, so the test stays in the source.
//
// Faults are checked in child processes: a program relaunches itself with `--child MODE [ARG...]`
// (ut_run_child) and the harness calls the matching function of the table given to UTEST_MAIN; its
// return value is the child's return code.
#ifndef TEST_USER_UTEST_H
#define TEST_USER_UTEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <zircon/process.h>
#include <zircon/syscalls.h>

#ifdef __cplusplus
extern "C" {  // C++ test programs (cxx_test.cc) use the same harness
#endif

#include "kernel/expect.h"  // EXPECT_*, REQUIRE_*

struct utest {
    const char *name;
    void (*fn)(void);
    int line;  // tests run in source order
};

// A child mode: `prog --child NAME args...` runs fn(argc, argv) with argv[0] = NAME.
struct ut_child {
    const char *name;
    int (*fn)(int argc, char **argv);
};

#define TEST(name)                                                                        \
    static void utest_fn_##name(void);                                                    \
    static const struct utest utest_rec_##name                                            \
        __attribute__((used, section("utests"), aligned(8))) = {#name, utest_fn_##name,   \
                                                                __LINE__};                \
    static void utest_fn_##name(void)

// The program's main: runs every test, or one child mode.
#ifdef __cplusplus  // freestanding clang++ would mangle main like any other function
#define UTEST_MAIN_LINKAGE extern "C"
#else
#define UTEST_MAIN_LINKAGE
#endif
#define UTEST_MAIN(children)                            \
    UTEST_MAIN_LINKAGE int main(int argc, char **argv); \
    int main(int argc, char **argv) {                   \
        return utest_main(argc, argv, children);        \
    }
int utest_main(int argc, char **argv, const struct ut_child *children);
// Growth of the VMO content around a test that is not a leak (0 unless a program sets it before
// utest_main: pressure_test, whose pressure dedups the harness's own zero pages).
extern uint64_t ut_leak_slack;

void ut_skip(const char *file, int line, const char *reason);

// Ends the test as skipped: a check of behaviour the kernel is known to get wrong.
#define SKIP_KNOWN_BUG(reason)                  \
    do {                                        \
        ut_skip(__FILE__, __LINE__, (reason));  \
        return;                                 \
    } while (0)

// Skips the rest of the test while the kernel still shows a known bug (`cond` true); once the
// kernel is fixed, the test runs in full again by itself.
#define SKIP_IF_KNOWN_BUG(cond, reason) \
    do {                                \
        if (cond)                       \
            SKIP_KNOWN_BUG(reason);     \
    } while (0)

// ---- Fixtures, set up once before the first test (and kept to the end) ----

#define PAGE ((size_t)ZX_PAGE_SIZE)
#define ROOT_BASE ((uintptr_t)0x200000)
#define ROOT_END ((uintptr_t)0x7ffffffff000)

// 64 KiB of committed scratch memory for tests (not preserved between tests).
extern uint8_t *ut_scratch;
#define UT_SCRATCH_SIZE ((size_t)64 * 1024)
// A 16-page sub-VMAR of the root with nothing mapped in it: pointers into it are NOT_FOUND.
extern uintptr_t ut_hole;
// One page mapped read-only (zeros): an output pointer there is ACCESS_DENIED.
extern uintptr_t ut_ro_page;
// One page mapped with no permissions: any pointer there is ACCESS_DENIED (0 if the kernel refused
// such a mapping; the tests that need it then fail).
extern uintptr_t ut_noaccess_page;
// A live handle that is neither a VMO, a VMAR, a process, a thread nor a job (a channel).
extern zx_handle_t ut_channel;
// A closed handle and a made-up one (low bits set, never handed out): both BAD_HANDLE.
extern zx_handle_t ut_stale_handle;
#define UT_FORGED_HANDLE ((zx_handle_t)0x7ffffff3u)

// Pointers that are never valid for the kernel to use: null, low memory, kernel, non-canonical,
// the end of the user range, a range that wraps. All INVALID_ARGS.
#define UT_NUM_BAD_PTRS 8
extern const uintptr_t ut_bad_ptrs[UT_NUM_BAD_PTRS];

// Checks a call with every kind of bad pointer: `call` uses the variable `bad` (a uintptr_t).
// Every pointer of ut_bad_ptrs must give INVALID_ARGS, the hole NOT_FOUND, and `denied` (a page
// mapped without the permission the call needs; 0 to leave it out) ACCESS_DENIED.
// EXPECT_OPT_PTR_ERRORS is for optional outputs: NULL is skipped (it is allowed).
#define UT_PTR_ERRORS_(call, denied, skip_null)                                          \
    do {                                                                                 \
        for (int ptr_i_ = 0; ptr_i_ < UT_NUM_BAD_PTRS + 2; ptr_i_++) {                   \
            uintptr_t bad;                                                               \
            zx_status_t ptr_want_;                                                       \
            if (ptr_i_ < UT_NUM_BAD_PTRS) {                                              \
                bad = ut_bad_ptrs[ptr_i_];                                               \
                ptr_want_ = ZX_ERR_INVALID_ARGS;                                         \
                if (bad == 0 && (skip_null))                                             \
                    continue;                                                            \
            } else if (ptr_i_ == UT_NUM_BAD_PTRS) {                                      \
                bad = ut_hole + 3 * PAGE + 8;                                            \
                ptr_want_ = ZX_ERR_NOT_FOUND;                                            \
            } else {                                                                     \
                bad = (denied);                                                          \
                ptr_want_ = ZX_ERR_ACCESS_DENIED;                                        \
                if (!bad)                                                                \
                    continue;                                                            \
            }                                                                            \
            if (!EXPECT_STATUS((call), ptr_want_))                                       \
                ut_note_ptr(bad);                                                        \
        }                                                                                \
    } while (0)
#define EXPECT_PTR_ERRORS(call, denied) UT_PTR_ERRORS_(call, denied, false)
#define EXPECT_OPT_PTR_ERRORS(call, denied) UT_PTR_ERRORS_(call, denied, true)
void ut_note_ptr(uintptr_t p);

// The handle-check matrix every call shares: BAD_HANDLE for invalid, stale and forged handles,
// WRONG_TYPE for a handle of another type (`wrong`), even one without any rights (type is checked
// before rights). `call_with_h` uses the variable `h`.
#define EXPECT_HANDLE_ERRORS_WITH(call_with_h, wrong)                      \
    do {                                                                   \
        zx_handle_t h;                                                     \
        h = ZX_HANDLE_INVALID;                                             \
        EXPECT_STATUS(call_with_h, ZX_ERR_BAD_HANDLE);                     \
        h = ut_stale_handle;                                               \
        EXPECT_STATUS(call_with_h, ZX_ERR_BAD_HANDLE);                     \
        h = UT_FORGED_HANDLE;                                              \
        EXPECT_STATUS(call_with_h, ZX_ERR_BAD_HANDLE);                     \
        h = (wrong);                                                       \
        EXPECT_STATUS(call_with_h, ZX_ERR_WRONG_TYPE);                     \
        h = ut_dup((wrong), 0);                                            \
        EXPECT_STATUS(call_with_h, ZX_ERR_WRONG_TYPE);                     \
        zx_handle_close(h);                                                \
    } while (0)
// For calls on anything but channels: a channel is the wrong type.
#define EXPECT_HANDLE_ERRORS(call_with_h) EXPECT_HANDLE_ERRORS_WITH(call_with_h, ut_channel)

// ---- Helpers ----

uint64_t ut_vmo_bytes(void);
// VMO content resident or compressed: vmo_bytes plus ZX_INFO_KMEM_STATS_COMPRESSION's
// uncompressed_storage_bytes, which compressing or decompressing a page leaves unchanged (the
// harness's leak check around every test).
uint64_t ut_vmo_content_bytes(void);
zx_koid_t ut_koid(zx_handle_t h);
zx_rights_t ut_rights(zx_handle_t h);
zx_obj_type_t ut_type(zx_handle_t h);
bool ut_handle_valid(zx_handle_t h);
uint64_t ut_vmo_size(zx_handle_t vmo);
uint64_t ut_content_size(zx_handle_t vmo);
// Reads the single record of info topic `topic` of `h` (a failure is a test failure; the record
// is then 0xa5 bytes).
void ut_get_info(zx_handle_t h, uint32_t topic, void *record, size_t size);
zx_info_vmo_t ut_vmo_info(zx_handle_t vmo);
// zx_vmo_create_child, failing the test (and returning ZX_HANDLE_INVALID) if it fails.
#ifdef __cplusplus  // in C++ the function hides struct ut_child's name, which C++ tests write out
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wshadow"
#endif
zx_handle_t ut_child(zx_handle_t parent, uint32_t options, uint64_t offset, uint64_t size);
#ifdef __cplusplus
#pragma GCC diagnostic pop
#endif
uint64_t ut_committed(zx_handle_t vmo);
// A duplicate of `h` with exactly `rights` (the test fails if that is impossible).
zx_handle_t ut_dup(zx_handle_t h, zx_rights_t rights);
// A new VMO of `size` bytes with every page written with `fill` (or uncommitted if fill < 0).
zx_handle_t ut_vmo(uint64_t size, int fill);
// Reads one byte of a VMO (0xEE... on failure: the test fails).
uint8_t ut_vmo_byte(zx_handle_t vmo, uint64_t offset);
void ut_vmo_set_byte(zx_handle_t vmo, uint64_t offset, uint8_t v);
// Maps `vmo` in the root VMAR with `perms`; 0 on failure (the test fails).
uintptr_t ut_map(zx_handle_t vmo, uint64_t offset, size_t len, zx_vm_option_t perms);
void ut_unmap(uintptr_t addr, size_t len);
// True if the signals are asserted now.
bool ut_signaled(zx_handle_t h, zx_signals_t signals);
zx_time_t ut_deadline_after(zx_duration_t ns);

// A user thread of this process with its own mapped stack (UT_THREAD_STACK_SIZE bytes).
struct ut_thread {
    zx_handle_t thread;
    zx_handle_t stack_vmo;
    uintptr_t stack;
};
#define UT_THREAD_STACK_SIZE (64 * 1024)
// Creates and starts a thread running fn(arg1, arg2) (which must end with zx_thread_exit).
// Returns the first failing call's status; *t is then safe to pass to ut_thread_join.
zx_status_t ut_thread_spawn(struct ut_thread *t, void (*fn)(uintptr_t, uintptr_t), uintptr_t arg1,
                            uintptr_t arg2);
// Waits for the thread (at most `ms`); true if it ended. Frees its stack and handles.
bool ut_thread_join(struct ut_thread *t, int ms);
// Fills a buffer with a recognisable pattern derived from `seed`.
void ut_pattern(void *buf, size_t n, uint32_t seed);

// Relaunches this program as `--child MODE [ARG]` and waits (at most `timeout_s`, then kills it);
// returns its return code, or UT_CHILD_TIMEOUT / a negative status if it could not run.
#define UT_CHILD_TIMEOUT ((int64_t)INT64_MIN)
int64_t ut_run_child(const char *mode, const char *arg);
int64_t ut_run_child_t(const char *mode, const char *arg, int timeout_s);
// Starts the child and returns its process handle (or ZX_HANDLE_INVALID).
zx_handle_t ut_start_child(const char *mode, const char *arg);
// The same, in `job`.
zx_handle_t ut_start_child_in(zx_handle_t job, const char *mode, const char *arg);
// Waits for a process for at most `timeout_s` (then kills it); returns its return code.
int64_t ut_wait_process(zx_handle_t proc, int timeout_s);
// Expects the child to be killed by a fault (return code -1028).
#define EXPECT_CHILD_FAULTS(mode, arg) \
    EXPECT_EQ(ut_run_child((mode), (arg)), ZX_TASK_RETCODE_EXCEPTION_KILL)

// ---- Hand-built processes ----
// A tiny code builder for processes made without an ELF: raw x86-64 machine code.
struct ut_code {
    uint8_t bytes[512];
    size_t len;
};
enum ut_reg { RAX = 0, RCX, RDX, RBX, RSP, RBP, RSI, RDI, R8, R9, R10, R11, R12, R13, R14, R15 };
void ut_emit(struct ut_code *c, const void *bytes, size_t n);
void ut_emit_mov_imm(struct ut_code *c, enum ut_reg r, uint64_t imm);  // mov r, imm64
void ut_emit_load(struct ut_code *c, enum ut_reg dst, enum ut_reg addr);   // mov dst, [addr]
void ut_emit_store(struct ut_code *c, enum ut_reg addr, enum ut_reg src);  // mov [addr], src
void ut_emit_mov(struct ut_code *c, enum ut_reg dst, enum ut_reg src);     // mov dst, src
void ut_emit_or(struct ut_code *c, enum ut_reg dst, enum ut_reg src);      // or dst, src
void ut_emit_syscall(struct ut_code *c);
// mov eax, 24 (process_exit); syscall. The code exits with rdi.
void ut_emit_exit(struct ut_code *c);

// A process made by hand: its root VMAR (usable before start) and its code page.
struct ut_proc {
    zx_handle_t proc;
    zx_handle_t vmar;
    zx_handle_t thread;
    uintptr_t vmar_base;
    uintptr_t code_addr;
};
// Creates a process whose only mapping is `code` (read+execute, at a kernel-chosen address);
// nothing is started. ZX_OK or the failing call's status.
zx_status_t ut_proc_create(struct ut_proc *p, const char *name, const struct ut_code *code);
// Starts it at the code with rdi = arg1 (a handle moved into it, or INVALID) and rsi = arg2.
zx_status_t ut_proc_start(struct ut_proc *p, zx_handle_t arg1, uintptr_t arg2);
void ut_proc_close(struct ut_proc *p);

// A raw syscall (any number, any register values): the calling convention of docs/abi.md §2.
int64_t ut_syscall(uint64_t nr, uint64_t a1, uint64_t a2, uint64_t a3, uint64_t a4, uint64_t a5,
                   uint64_t a6, uint64_t a7, uint64_t a8);

#ifdef __cplusplus
}
#endif

#endif  // TEST_USER_UTEST_H
