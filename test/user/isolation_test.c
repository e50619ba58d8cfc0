// Isolation between processes: a process cannot reach another's memory or handles, except through
// a VMO both map. Uses processes built by hand (their only mappings are what the test puts there)
// and relaunches of this program (same addresses, different memory).
#include <stdio.h>

#include "test/user/utest.h"

#define P ((uint64_t)PAGE)
#define RW (ZX_VM_PERM_READ | ZX_VM_PERM_WRITE)

static volatile uint64_t secret = 0x1234;

// mov rdi, [rsi + 8]; mov qword [rsi], 0x5a5a; exit(rdi)
static void code_swap_through_rsi(struct ut_code *c) {
    static const uint8_t load[] = {0x48, 0x8b, 0x7e, 0x08};
    static const uint8_t store[] = {0x48, 0xc7, 0x06, 0x5a, 0x5a, 0x00, 0x00};
    memset(c, 0, sizeof(*c));
    ut_emit(c, load, sizeof(load));
    ut_emit(c, store, sizeof(store));
    ut_emit_exit(c);
}

// exit(*(uint64_t *)rsi)
static void code_read_rsi(struct ut_code *c) {
    memset(c, 0, sizeof(*c));
    ut_emit_load(c, RDI, RSI);
    ut_emit_exit(c);
}

// exit(zx_handle_close(rsi))
static void code_close_rsi(struct ut_code *c) {
    memset(c, 0, sizeof(*c));
    ut_emit_mov(c, RDI, RSI);
    ut_emit_mov_imm(c, RAX, 1);
    ut_emit_syscall(c);
    ut_emit_mov(c, RDI, RAX);
    ut_emit_exit(c);
}

// exit(zx_vmo_read(rdi, rsi, 0, 8))
static void code_vmo_read_into_rsi(struct ut_code *c) {
    memset(c, 0, sizeof(*c));
    ut_emit_mov_imm(c, RDX, 0);
    ut_emit_mov_imm(c, R10, 8);
    ut_emit_mov_imm(c, RAX, 9);
    ut_emit_syscall(c);
    ut_emit_mov(c, RDI, RAX);
    ut_emit_exit(c);
}

static int64_t run_code(const struct ut_code *c, zx_handle_t shared, zx_vm_option_t perms,
                        uintptr_t *shared_addr, zx_handle_t arg1, uintptr_t arg2) {
    struct ut_proc p;
    zx_status_t st = ut_proc_create(&p, "isolated", c);
    if (st != ZX_OK) {
        EXPECT_FAILF("ut_proc_create failed: %d", st);
        zx_handle_close(arg1);
        ut_proc_close(&p);
        return st;
    }
    if (shared) {
        st = zx_vmar_map(p.vmar, perms, 0, shared, 0, P, shared_addr);
        if (st != ZX_OK) {
            EXPECT_FAILF("mapping the shared VMO failed: %d", st);
            zx_handle_close(arg1);
            ut_proc_close(&p);
            return st;
        }
        arg2 = *shared_addr;
    }
    st = ut_proc_start(&p, arg1, arg2);
    if (st != ZX_OK) {
        EXPECT_FAILF("starting failed: %d", st);
        ut_proc_close(&p);
        return st;
    }
    int64_t code = ut_wait_process(p.proc, 10);
    ut_proc_close(&p);
    return code;
}

TEST(shared_vmo_both_ways) {
    zx_handle_t s = ut_vmo(P, 0);
    uint64_t v = 77;
    EXPECT_OK(zx_vmo_write(s, &v, 8, sizeof(v)));
    struct ut_code c;
    code_swap_through_rsi(&c);
    uintptr_t at = 0;
    EXPECT_EQ(run_code(&c, s, RW, &at, ZX_HANDLE_INVALID, 0), 77);
    EXPECT_NE(at, 0);
    v = 0;
    EXPECT_OK(zx_vmo_read(s, &v, 0, sizeof(v)));
    EXPECT_EQ(v, 0x5a5a);
    zx_handle_close(s);
}

TEST(shared_vmo_through_our_own_mapping) {
    zx_handle_t s = ut_vmo(P, 0);
    volatile uint64_t *mine = (volatile uint64_t *)ut_map(s, 0, P, RW);
    REQUIRE_TRUE(mine);
    mine[1] = 1234;
    struct ut_code c;
    code_swap_through_rsi(&c);
    uintptr_t at;
    EXPECT_EQ(run_code(&c, s, RW, &at, ZX_HANDLE_INVALID, 0), 1234);
    // The child wrote through its mapping; we see it through ours, after it is gone.
    EXPECT_EQ(mine[0], 0x5a5a);
    ut_unmap((uintptr_t)mine, P);
    // Our unmapping does not affect another process mapping the same VMO.
    uint64_t v = 4321;
    EXPECT_OK(zx_vmo_write(s, &v, 8, sizeof(v)));
    EXPECT_EQ(run_code(&c, s, RW, &at, ZX_HANDLE_INVALID, 0), 4321);
    zx_handle_close(s);
}

TEST(read_only_share_is_read_only) {
    zx_handle_t s = ut_vmo(P, 0);
    uint64_t v = 55;
    EXPECT_OK(zx_vmo_write(s, &v, 8, sizeof(v)));
    struct ut_code c;
    code_swap_through_rsi(&c);
    uintptr_t at;
    // The child reads fine, then faults on the write.
    EXPECT_EQ(run_code(&c, s, ZX_VM_PERM_READ, &at, ZX_HANDLE_INVALID, 0),
              ZX_TASK_RETCODE_EXCEPTION_KILL);
    EXPECT_OK(zx_vmo_read(s, &v, 0, sizeof(v)));
    EXPECT_EQ(v, 0);
    zx_handle_close(s);
}

TEST(cannot_read_our_memory) {
    secret = 0xdeadbeef;
    struct ut_code c;
    code_read_rsi(&c);
    uint64_t on_stack = 0xfeedface;
    const uintptr_t addrs[] = {(uintptr_t)&secret, (uintptr_t)&on_stack, (uintptr_t)ut_scratch,
                               (uintptr_t)&ut_koid, ut_ro_page};
    for (size_t i = 0; i < sizeof(addrs) / sizeof(addrs[0]); i++) {
        if (!EXPECT_EQ(run_code(&c, ZX_HANDLE_INVALID, 0, NULL, ZX_HANDLE_INVALID, addrs[i]),
                       ZX_TASK_RETCODE_EXCEPTION_KILL))
            ut_note_ptr(addrs[i]);
    }
    EXPECT_EQ(on_stack, 0xfeedface);
}

TEST(cannot_use_our_handles) {
    zx_handle_t vmo = ut_vmo(P, 9);
    struct ut_code c;
    code_close_rsi(&c);
    EXPECT_EQ(run_code(&c, ZX_HANDLE_INVALID, 0, NULL, ZX_HANDLE_INVALID, vmo),
              ZX_ERR_BAD_HANDLE);
    EXPECT_EQ(run_code(&c, ZX_HANDLE_INVALID, 0, NULL, ZX_HANDLE_INVALID, zx_process_self()),
              ZX_ERR_BAD_HANDLE);
    EXPECT_EQ(run_code(&c, ZX_HANDLE_INVALID, 0, NULL, ZX_HANDLE_INVALID, zx_job_default()),
              ZX_ERR_BAD_HANDLE);
    EXPECT_TRUE(ut_handle_valid(vmo));
    EXPECT_EQ(ut_vmo_byte(vmo, 0), 9);
    zx_handle_close(vmo);
}

TEST(kernel_copies_use_the_callers_address_space) {
    // The child gets a VMO handle and asks the kernel to copy into an address that is ours.
    zx_handle_t vmo = ut_vmo(P, 0x42);
    struct ut_code c;
    code_vmo_read_into_rsi(&c);
    uint64_t target = 0;
    EXPECT_EQ(run_code(&c, ZX_HANDLE_INVALID, 0, NULL, ut_dup(vmo, ZX_RIGHT_SAME_RIGHTS),
                       (uintptr_t)&target),
              ZX_ERR_NOT_FOUND);
    EXPECT_EQ(target, 0);
    zx_handle_close(vmo);
}

TEST(snapshot_shared_with_child) {
    zx_handle_t v = ut_vmo(P, 0);
    uint64_t x = 66;
    EXPECT_OK(zx_vmo_write(v, &x, 8, sizeof(x)));
    zx_handle_t snap;
    REQUIRE_OK(zx_vmo_create_child(v, ZX_VMO_CHILD_SNAPSHOT, 0, P, &snap));
    struct ut_code c;
    code_swap_through_rsi(&c);
    uintptr_t at;
    EXPECT_EQ(run_code(&c, snap, RW, &at, ZX_HANDLE_INVALID, 0), 66);
    EXPECT_OK(zx_vmo_read(v, &x, 0, sizeof(x)));
    EXPECT_EQ(x, 0);
    EXPECT_OK(zx_vmo_read(snap, &x, 0, sizeof(x)));
    EXPECT_EQ(x, 0x5a5a);
    zx_handle_close(snap);
    zx_handle_close(v);
}

TEST(two_processes_one_vmo) {
    zx_handle_t s = ut_vmo(P, 0);
    uint64_t v = 10;
    EXPECT_OK(zx_vmo_write(s, &v, 8, sizeof(v)));
    struct ut_code c;
    code_swap_through_rsi(&c);
    uintptr_t at;
    EXPECT_EQ(run_code(&c, s, RW, &at, ZX_HANDLE_INVALID, 0), 10);
    // A second process sees what the first wrote: it reads offset 0 (0x5a5a) instead of 8.
    code_read_rsi(&c);
    EXPECT_EQ(run_code(&c, s, ZX_VM_PERM_READ, &at, ZX_HANDLE_INVALID, 0), 0x5a5a);
    zx_handle_close(s);
}

TEST(dead_process_vmar_is_destroyed) {
    struct ut_code c;
    memset(&c, 0, sizeof(c));
    ut_emit_exit(&c);
    struct ut_proc p;
    REQUIRE_OK(ut_proc_create(&p, "short-lived", &c));
    EXPECT_OK(ut_proc_start(&p, ZX_HANDLE_INVALID, 0));
    EXPECT_EQ(ut_wait_process(p.proc, 10), 0);
    zx_handle_t vmo = ut_vmo(P, -1);
    zx_vaddr_t a;
    EXPECT_STATUS(zx_vmar_map(p.vmar, ZX_VM_PERM_READ, 0, vmo, 0, P, &a), ZX_ERR_BAD_STATE);
    EXPECT_EQ(ut_vmo_info(vmo).num_mappings, 0);
    zx_handle_close(vmo);
    ut_proc_close(&p);
}

// ---- The same program in two processes ----

static int child_read_secret(int argc, char **argv) {
    (void)argc;
    (void)argv;
    return secret == 0x1234 ? 0 : secret == 0xdeadbeef ? 1 : 2;
}

TEST(same_addresses_different_memory) {
    secret = 0xdeadbeef;
    EXPECT_EQ(ut_run_child("read-secret", NULL), 0);
    EXPECT_EQ(secret, 0xdeadbeef);
}

static const struct ut_child children[] = {
    {"read-secret", child_read_secret},
    {NULL, NULL},
};
UTEST_MAIN(children)
