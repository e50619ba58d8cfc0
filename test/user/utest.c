// The user-mode test harness (see utest.h): the runner, the checks, the fixtures and helpers.
#include "test/user/utest.h"

#include <jasper/launch.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "ulib/ulib_priv.h"

extern const struct utest __start_utests[];
extern const struct utest __stop_utests[];

static bool cur_skipped;
static const char *prog_name = "test";

uint8_t *ut_scratch;
static uint8_t scratch_store[UT_SCRATCH_SIZE] __attribute__((aligned(4096)));
uintptr_t ut_hole, ut_ro_page, ut_noaccess_page;
zx_handle_t ut_channel, ut_stale_handle;

const uintptr_t ut_bad_ptrs[UT_NUM_BAD_PTRS] = {
    0,                       // null
    0x1000,                  // low memory, below the root VMAR
    ROOT_BASE - PAGE,        // just below the root VMAR
    ROOT_END,                // the end of the user range
    0x0000800000000000ull,   // the first non-canonical address
    0xdead000000000000ull,   // non-canonical
    0xffff800000000000ull,   // kernel (physmap)
    0xffffffff80000000ull,   // kernel (image)
};

// ---- Checks (the EXPECT family itself is kernel/expect.c) ----

void ut_note_ptr(uintptr_t p) {
    printf("      (with the pointer %#lx)\n", (unsigned long)p);
}

void ut_skip(const char *file, int line, const char *reason) {
    printf("    %s:%d: skipped, known kernel bug: %s\n", file, line, reason);
    cur_skipped = true;
}

// ---- Helpers ----

uint64_t ut_vmo_bytes(void) {
    zx_info_kmem_stats_t k;
    zx_status_t st =
        zx_object_get_info(zx_job_default(), ZX_INFO_KMEM_STATS, &k, sizeof(k), NULL, NULL);
    if (st != ZX_OK) {
        EXPECT_FAILF("ZX_INFO_KMEM_STATS failed: %d", st);
        return 0;
    }
    return k.vmo_bytes;
}

uint64_t ut_leak_slack;

uint64_t ut_vmo_content_bytes(void) {
    zx_info_kmem_stats_compression_t c;
    zx_status_t st = zx_object_get_info(zx_job_default(), ZX_INFO_KMEM_STATS_COMPRESSION, &c,
                                        sizeof(c), NULL, NULL);
    if (st != ZX_OK) {
        EXPECT_FAILF("ZX_INFO_KMEM_STATS_COMPRESSION failed: %d", st);
        return 0;
    }
    return ut_vmo_bytes() + c.uncompressed_storage_bytes;
}

static bool basic_info(zx_handle_t h, zx_info_handle_basic_t *info) {
    memset(info, 0, sizeof(*info));
    return zx_object_get_info(h, ZX_INFO_HANDLE_BASIC, info, sizeof(*info), NULL, NULL) == ZX_OK;
}

zx_koid_t ut_koid(zx_handle_t h) {
    zx_info_handle_basic_t info;
    return basic_info(h, &info) ? info.koid : 0;
}

zx_rights_t ut_rights(zx_handle_t h) {
    zx_info_handle_basic_t info;
    return basic_info(h, &info) ? info.rights : 0;
}

zx_obj_type_t ut_type(zx_handle_t h) {
    zx_info_handle_basic_t info;
    return basic_info(h, &info) ? info.type : 0;
}

bool ut_handle_valid(zx_handle_t h) {
    return zx_object_get_info(h, ZX_INFO_HANDLE_VALID, NULL, 0, NULL, NULL) == ZX_OK;
}

uint64_t ut_vmo_size(zx_handle_t vmo) {
    uint64_t size = 0xdeadbeef;
    zx_status_t st = zx_vmo_get_size(vmo, &size);
    if (st != ZX_OK)
        EXPECT_FAILF("zx_vmo_get_size failed: %d", st);
    return size;
}

uint64_t ut_content_size(zx_handle_t vmo) {
    uint64_t size = 0xdeadbeef;
    zx_status_t st = zx_object_get_property(vmo, ZX_PROP_VMO_CONTENT_SIZE, &size, sizeof(size));
    if (st != ZX_OK)
        EXPECT_FAILF("get ZX_PROP_VMO_CONTENT_SIZE failed: %d", st);
    return size;
}

void ut_get_info(zx_handle_t h, uint32_t topic, void *record, size_t size) {
    memset(record, 0xa5, size);
    zx_status_t st = zx_object_get_info(h, topic, record, size, NULL, NULL);
    if (st != ZX_OK)
        EXPECT_FAILF("zx_object_get_info(topic %u) failed: %d", topic, st);
}

zx_info_vmo_t ut_vmo_info(zx_handle_t vmo) {
    zx_info_vmo_t info;
    ut_get_info(vmo, ZX_INFO_VMO, &info, sizeof(info));
    return info;
}

zx_handle_t ut_child(zx_handle_t parent, uint32_t options, uint64_t offset, uint64_t size) {
    zx_handle_t c = ZX_HANDLE_INVALID;
    zx_status_t st = zx_vmo_create_child(parent, options, offset, size, &c);
    if (st != ZX_OK)
        EXPECT_FAILF("zx_vmo_create_child(%#x, %#llx, %#llx) failed: %d %s", options,
                     (unsigned long long)offset, (unsigned long long)size, st,
                     expect_status_name(st));
    return c;
}

uint64_t ut_committed(zx_handle_t vmo) {
    return ut_vmo_info(vmo).committed_bytes;
}

zx_handle_t ut_dup(zx_handle_t h, zx_rights_t rights) {
    zx_handle_t out = ZX_HANDLE_INVALID;
    zx_status_t st = zx_handle_duplicate(h, rights, &out);
    if (st != ZX_OK)
        EXPECT_FAILF("zx_handle_duplicate(rights %#x) failed: %d", rights, st);
    return out;
}

zx_handle_t ut_vmo(uint64_t size, int fill) {
    zx_handle_t vmo = ZX_HANDLE_INVALID;
    zx_status_t st = zx_vmo_create(size, 0, &vmo);
    if (st != ZX_OK) {
        EXPECT_FAILF("zx_vmo_create(%llu) failed: %d", (unsigned long long)size, st);
        return ZX_HANDLE_INVALID;
    }
    if (fill >= 0) {
        memset(ut_scratch, fill, PAGE);
        for (uint64_t off = 0; off < size; off += PAGE) {
            size_t n = size - off < PAGE ? (size_t)(size - off) : PAGE;
            st = zx_vmo_write(vmo, ut_scratch, off, n);
            if (st != ZX_OK) {
                EXPECT_FAILF("zx_vmo_write failed: %d", st);
                break;
            }
        }
    }
    return vmo;
}

uint8_t ut_vmo_byte(zx_handle_t vmo, uint64_t offset) {
    uint8_t b = 0xee;
    zx_status_t st = zx_vmo_read(vmo, &b, offset, 1);
    if (st != ZX_OK)
        EXPECT_FAILF("zx_vmo_read at %#llx failed: %d", (unsigned long long)offset, st);
    return b;
}

void ut_vmo_set_byte(zx_handle_t vmo, uint64_t offset, uint8_t v) {
    zx_status_t st = zx_vmo_write(vmo, &v, offset, 1);
    if (st != ZX_OK)
        EXPECT_FAILF("zx_vmo_write at %#llx failed: %d", (unsigned long long)offset, st);
}

uintptr_t ut_map(zx_handle_t vmo, uint64_t offset, size_t len, zx_vm_option_t perms) {
    zx_vaddr_t addr = 0;
    zx_status_t st = zx_vmar_map(zx_vmar_root_self(), perms, 0, vmo, offset, len, &addr);
    if (st != ZX_OK) {
        EXPECT_FAILF("zx_vmar_map(perms %#x, len %#zx) failed: %d", perms, len, st);
        return 0;
    }
    return addr;
}

void ut_unmap(uintptr_t addr, size_t len) {
    if (!addr)
        return;
    zx_status_t st = zx_vmar_unmap(zx_vmar_root_self(), addr, len);
    if (st != ZX_OK)
        EXPECT_FAILF("zx_vmar_unmap(%#lx, %#zx) failed: %d", (unsigned long)addr, len, st);
}

bool ut_signaled(zx_handle_t h, zx_signals_t signals) {
    zx_signals_t seen = 0;
    zx_status_t st = zx_object_wait_one(h, signals, 0, &seen);
    return st == ZX_OK && (seen & signals);
}

zx_time_t ut_deadline_after(zx_duration_t ns) {
    return zx_clock_get_monotonic() + ns;
}

zx_status_t ut_thread_spawn(struct ut_thread *t, void (*fn)(uintptr_t, uintptr_t), uintptr_t arg1,
                            uintptr_t arg2) {
    memset(t, 0, sizeof(*t));
    zx_status_t st = zx_vmo_create(UT_THREAD_STACK_SIZE, 0, &t->stack_vmo);
    if (st == ZX_OK)
        st = zx_vmar_map(zx_vmar_root_self(), ZX_VM_PERM_READ | ZX_VM_PERM_WRITE, 0, t->stack_vmo,
                         0, UT_THREAD_STACK_SIZE, &t->stack);
    if (st == ZX_OK)
        st = zx_thread_create(zx_process_self(), "worker", 6, 0, &t->thread);
    // The entry is entered as if called: the stack is 8 bytes short of 16-byte alignment.
    if (st == ZX_OK)
        st = zx_thread_start(t->thread, (uintptr_t)fn, t->stack + UT_THREAD_STACK_SIZE - 8, arg1,
                             arg2);
    return st;
}

bool ut_thread_join(struct ut_thread *t, int ms) {
    bool ended = zx_object_wait_one(t->thread, ZX_THREAD_TERMINATED,
                                    ut_deadline_after((zx_duration_t)ms * 1000000), NULL) == ZX_OK;
    if (ended && t->stack)
        zx_vmar_unmap(zx_vmar_root_self(), t->stack, UT_THREAD_STACK_SIZE);
    zx_handle_close(t->thread);
    zx_handle_close(t->stack_vmo);
    return ended;
}

void ut_pattern(void *buf, size_t n, uint32_t seed) {
    uint8_t *p = buf;
    uint32_t x = seed * 2654435761u + 12345u;
    for (size_t i = 0; i < n; i++) {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        p[i] = (uint8_t)(x >> 8);
    }
}

// ---- Children ----

zx_handle_t ut_start_child(const char *mode, const char *arg) {
    return ut_start_child_in(zx_job_default(), mode, arg);
}

zx_handle_t ut_start_child_in(zx_handle_t job, const char *mode, const char *arg) {
    const char *argv[4] = {prog_name, "--child", mode, arg};
    int argc = arg ? 4 : 3;
    zx_handle_t exec = ulib_executable_vmo();
    zx_handle_t proc = ZX_HANDLE_INVALID;
    zx_status_t st = jasper_launch(job, mode, exec, argc, argv, &proc);
    if (st != ZX_OK) {
        EXPECT_FAILF("launching child \"%s\" failed: %d %s", mode, st, expect_status_name(st));
        return ZX_HANDLE_INVALID;
    }
    return proc;
}

int64_t ut_wait_process(zx_handle_t proc, int timeout_s) {
    zx_signals_t seen = 0;
    zx_status_t st = zx_object_wait_one(proc, ZX_PROCESS_TERMINATED,
                                        ut_deadline_after((zx_duration_t)timeout_s * 1000000000),
                                        &seen);
    if (st == ZX_ERR_TIMED_OUT) {
        EXPECT_FAILF("child did not end within %d s: killed", timeout_s);
        zx_task_kill(proc);
        zx_object_wait_one(proc, ZX_PROCESS_TERMINATED, ut_deadline_after(5000000000), NULL);
        return UT_CHILD_TIMEOUT;
    }
    if (st != ZX_OK) {
        EXPECT_FAILF("waiting for the child failed: %d", st);
        return st;
    }
    zx_info_process_t info;
    st = zx_object_get_info(proc, ZX_INFO_PROCESS, &info, sizeof(info), NULL, NULL);
    if (st != ZX_OK) {
        EXPECT_FAILF("ZX_INFO_PROCESS failed: %d", st);
        return st;
    }
    if (!(info.flags & ZX_INFO_PROCESS_FLAG_EXITED))
        EXPECT_FAILF("terminated process without ZX_INFO_PROCESS_FLAG_EXITED");
    return info.return_code;
}

int64_t ut_run_child_t(const char *mode, const char *arg, int timeout_s) {
    zx_handle_t proc = ut_start_child(mode, arg);
    if (proc == ZX_HANDLE_INVALID)
        return ZX_ERR_BAD_STATE;
    int64_t code = ut_wait_process(proc, timeout_s);
    zx_handle_close(proc);
    return code;
}

int64_t ut_run_child(const char *mode, const char *arg) {
    return ut_run_child_t(mode, arg, 30);
}

// ---- Hand-built processes ----

void ut_emit(struct ut_code *c, const void *bytes, size_t n) {
    if (c->len + n > sizeof(c->bytes)) {
        EXPECT_FAILF("code buffer full");
        return;
    }
    memcpy(c->bytes + c->len, bytes, n);
    c->len += n;
}

void ut_emit_mov_imm(struct ut_code *c, enum ut_reg r, uint64_t imm) {
    uint8_t b[10] = {(uint8_t)(r >= 8 ? 0x49 : 0x48), (uint8_t)(0xb8 + (r & 7))};
    memcpy(b + 2, &imm, 8);
    ut_emit(c, b, sizeof(b));
}

// REX.W op modrm with `reg` in the reg field and [rm] (no displacement) as memory or register.
static void emit_rm(struct ut_code *c, uint8_t op, enum ut_reg reg, enum ut_reg rm, bool mem) {
    uint8_t rex = 0x48 | (reg >= 8 ? 4 : 0) | (rm >= 8 ? 1 : 0);
    uint8_t mod = mem ? 0 : 3;
    uint8_t b[4] = {rex, op, (uint8_t)((mod << 6) | ((reg & 7) << 3) | (rm & 7)), 0};
    size_t n = 3;
    if (mem && (rm & 7) == RSP) {
        b[3] = 0x24;  // SIB: [rsp]/[r12]
        n = 4;
    }
    if (mem && (rm & 7) == RBP) {  // [rbp]/[r13] need a zero displacement
        b[2] |= 0x40;
        b[3] = 0;
        n = 4;
    }
    ut_emit(c, b, n);
}

void ut_emit_load(struct ut_code *c, enum ut_reg dst, enum ut_reg addr) {
    emit_rm(c, 0x8b, dst, addr, true);
}

void ut_emit_store(struct ut_code *c, enum ut_reg addr, enum ut_reg src) {
    emit_rm(c, 0x89, src, addr, true);
}

void ut_emit_mov(struct ut_code *c, enum ut_reg dst, enum ut_reg src) {
    emit_rm(c, 0x89, src, dst, false);
}

void ut_emit_or(struct ut_code *c, enum ut_reg dst, enum ut_reg src) {
    emit_rm(c, 0x09, src, dst, false);
}

void ut_emit_syscall(struct ut_code *c) {
    static const uint8_t b[] = {0x0f, 0x05};
    ut_emit(c, b, sizeof(b));
}

void ut_emit_exit(struct ut_code *c) {
    ut_emit_mov_imm(c, RAX, 24);
    ut_emit_syscall(c);
    static const uint8_t ud2[] = {0x0f, 0x0b};
    ut_emit(c, ud2, sizeof(ud2));
}

zx_status_t ut_proc_create(struct ut_proc *p, const char *name, const struct ut_code *code) {
    memset(p, 0, sizeof(*p));
    zx_status_t st =
        zx_process_create(zx_job_default(), name, strlen(name), 0, &p->proc, &p->vmar);
    if (st != ZX_OK)
        return st;
    zx_info_vmar_t vi;
    st = zx_object_get_info(p->vmar, ZX_INFO_VMAR, &vi, sizeof(vi), NULL, NULL);
    if (st != ZX_OK)
        return st;
    p->vmar_base = vi.base;
    zx_handle_t vmo, xvmo;
    st = zx_vmo_create(PAGE, 0, &vmo);
    if (st != ZX_OK)
        return st;
    st = zx_vmo_write(vmo, code->bytes, 0, code->len);
    if (st != ZX_OK) {
        zx_handle_close(vmo);
        return st;
    }
    st = zx_vmo_replace_as_executable(vmo, ZX_HANDLE_INVALID, &xvmo);
    if (st != ZX_OK)
        return st;
    st = zx_vmar_map(p->vmar, ZX_VM_PERM_READ | ZX_VM_PERM_EXECUTE, 0, xvmo, 0, PAGE,
                     &p->code_addr);
    zx_handle_close(xvmo);
    if (st != ZX_OK)
        return st;
    return zx_thread_create(p->proc, "main", 4, 0, &p->thread);
}

zx_status_t ut_proc_start(struct ut_proc *p, zx_handle_t arg1, uintptr_t arg2) {
    // The code uses no stack; the top of the code page is a harmless user address for it.
    return zx_process_start(p->proc, p->thread, p->code_addr, p->code_addr + PAGE, arg1, arg2);
}

void ut_proc_close(struct ut_proc *p) {
    if (p->proc) {
        zx_task_kill(p->proc);
        zx_object_wait_one(p->proc, ZX_PROCESS_TERMINATED, ut_deadline_after(5000000000), NULL);
    }
    zx_handle_close(p->thread);
    zx_handle_close(p->vmar);
    zx_handle_close(p->proc);
    memset(p, 0, sizeof(*p));
}

int64_t ut_syscall(uint64_t nr, uint64_t a1, uint64_t a2, uint64_t a3, uint64_t a4, uint64_t a5,
                   uint64_t a6, uint64_t a7, uint64_t a8) {
    register uint64_t r10 __asm__("r10") = a4;
    register uint64_t r8 __asm__("r8") = a5;
    register uint64_t r9 __asm__("r9") = a6;
    register uint64_t r12 __asm__("r12") = a7;
    register uint64_t r13 __asm__("r13") = a8;
    uint64_t rax = nr;
    // Every argument register is an in/out operand: a kernel that clobbers one is caught by the
    // tests that check preservation, not by miscompiled callers.
    __asm__ volatile("syscall"
                     : "+a"(rax), "+D"(a1), "+S"(a2), "+d"(a3), "+r"(r10), "+r"(r8), "+r"(r9),
                       "+r"(r12), "+r"(r13)
                     :
                     : "rcx", "r11", "memory");
    return (int64_t)rax;
}

// ---- The runner ----

// Commits the stack the tests will use, so that its pages do not show up as a test's leak.
__attribute__((noinline)) static void touch_stack(void) {
    volatile uint8_t probe[160 * 1024];
    for (size_t i = 0; i < sizeof(probe); i += 512)
        probe[i] = 0;
}

// Commits this program's data and bss (the writable mapping holding our globals), so that a test
// touching a global for the first time does not show up as a leak.
static void touch_data(void) {
    zx_info_maps_t maps[64];
    size_t actual = 0, avail = 0;
    if (zx_object_get_info(zx_process_self(), ZX_INFO_PROCESS_MAPS, maps, sizeof(maps), &actual,
                           &avail) != ZX_OK)
        return;
    uintptr_t me = (uintptr_t)&prog_name;
    for (size_t i = 0; i < actual; i++) {
        if (maps[i].type != ZX_INFO_MAPS_TYPE_MAPPING || me < maps[i].base ||
            me >= maps[i].base + maps[i].size)
            continue;
        for (uintptr_t p = maps[i].base; p < maps[i].base + maps[i].size; p += PAGE) {
            volatile uint8_t *q = (volatile uint8_t *)p;
            *q = *q;
        }
    }
}

static void setup(bool has_children) {
    touch_stack();
    touch_data();
    ut_scratch = scratch_store;
    memset(ut_scratch, 0, UT_SCRATCH_SIZE);

    zx_handle_t vmar;
    zx_status_t st = zx_vmar_allocate(zx_vmar_root_self(), ZX_VM_CAN_MAP_READ, 0, 16 * PAGE, &vmar,
                                      &ut_hole);
    if (st != ZX_OK)
        printf("utest: setup: cannot allocate the hole VMAR: %d\n", st);
    zx_handle_close(vmar);

    zx_handle_t vmo;
    st = zx_vmo_create(2 * PAGE, 0, &vmo);
    if (st == ZX_OK) {
        st = zx_vmar_map(zx_vmar_root_self(), ZX_VM_PERM_READ, 0, vmo, 0, PAGE, &ut_ro_page);
        if (st != ZX_OK)
            printf("utest: setup: cannot map the read-only page: %d\n", st);
        st = zx_vmar_map(zx_vmar_root_self(), 0, 0, vmo, PAGE, PAGE, &ut_noaccess_page);
        if (st != ZX_OK) {
            printf("utest: setup: cannot map a page with no permissions: %d\n", st);
            ut_noaccess_page = 0;
        }
        zx_handle_close(vmo);
    } else {
        printf("utest: setup: cannot create a VMO: %d\n", st);
    }

    zx_handle_t peer;
    st = zx_channel_create(0, &ut_channel, &peer);
    if (st != ZX_OK)
        printf("utest: setup: cannot create a channel: %d\n", st);
    ut_stale_handle = peer;
    zx_handle_close(peer);

    if (has_children) {
        // The launcher's buffers are committed by its first use: do it now, not in a test.
        int64_t code = ut_run_child("noop", NULL);
        if (code != 0)
            printf("utest: setup: the noop child returned %lld\n", (long long)code);
    }
}

static int child_noop(int argc, char **argv) {
    (void)argc;
    (void)argv;
    return 0;
}

int utest_main(int argc, char **argv, const struct ut_child *children) {
    if (argc > 0 && argv[0]) {
        const char *slash = strrchr(argv[0], '/');
        prog_name = slash ? slash + 1 : argv[0];
    }
    if (argc >= 3 && strcmp(argv[1], "--child") == 0) {
        ut_scratch = scratch_store;
        if (strcmp(argv[2], "noop") == 0)
            return child_noop(argc - 2, argv + 2);
        for (const struct ut_child *c = children; c && c->name; c++) {
            if (strcmp(c->name, argv[2]) == 0)
                return c->fn(argc - 2, argv + 2);
        }
        printf("%s: no child mode %s\n", prog_name, argv[2]);
        return 200;
    }
    const char *filter = argc >= 2 ? argv[1] : NULL;

    setup(children != NULL);
    int passed = 0, failed = 0, skipped = 0;
    zx_time_t start = zx_clock_get_monotonic();
    // The linker may order the records any way: sort them by source line.
    static const struct utest *order[1024];
    size_t count = 0;
    for (const struct utest *t = __start_utests; t < __stop_utests && count < 1024; t++) {
        size_t i = count++;
        while (i > 0 && order[i - 1]->line > t->line) {
            order[i] = order[i - 1];
            i--;
        }
        order[i] = t;
    }
    for (size_t k = 0; k < count; k++) {
        const struct utest *t = order[k];
        if (filter && strcmp(filter, t->name) != 0)
            continue;
        expect_reset();
        cur_skipped = false;
        printf("[ RUN  ] %s.%s\n", prog_name, t->name);
        uint64_t before = ut_vmo_content_bytes();
        t->fn();
        uint64_t after = ut_vmo_content_bytes();
        // Only growth is a leak: under memory pressure reclaim may dedup pages the harness itself
        // holds, so the figure can fall during a test that leaks nothing (and a later touch may
        // commit them again: ut_leak_slack).
        if (after > before + ut_leak_slack && !cur_skipped) {
            printf("    leak: VMO bytes (resident + compressed) %llu before the test, %llu after "
                   "(%+lld)\n",
                   (unsigned long long)before, (unsigned long long)after,
                   (long long)(after - before));
            expect_note_failure();
        }
        if (expect_failed()) {
            failed++;
            printf("[FAIL] %s.%s\n", prog_name, t->name);
        } else if (cur_skipped) {
            skipped++;
            printf("[SKIP] %s.%s\n", prog_name, t->name);
        } else {
            passed++;
            printf("[ OK ] %s.%s\n", prog_name, t->name);
        }
    }
    printf("%s: %d tests, %d skipped (known kernel bugs), %lld ms\n", prog_name,
           passed + failed + skipped, skipped,
           (long long)((zx_clock_get_monotonic() - start) / 1000000));
    printf("%d passed, %d failed\n", passed, failed);
    return failed;
}
