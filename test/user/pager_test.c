// The user pager (docs/abi.md §9, docs/pager.md): pager_create, pager_create_vmo,
// pager_detach_vmo, pager_supply_pages, pager_op_range, pager_query_dirty_ranges,
// pager_query_vmo_stats. Page requests and their round trips (syscalls and faults, from threads
// here and from other processes), coalescing, FAIL, detach and the pager's death, the dirty state
// machine with TRAP_DIRTY and writeback, resizing, AT_LEAST_ON_WRITE clones, and a seeded model
// of per-page states (and of a clone's content) checked against query_dirty_ranges and the
// clone's reads after every step.
#include <zircon/syscalls/port.h>

#include "test/user/utest.h"

#define MS ((zx_duration_t)1000000)
#define PAGER_RIGHTS ((zx_rights_t)0x1808002u)
#define VMO_RIGHTS ((zx_rights_t)0xD0EFu)
#define KEY 0x5a5a1234u

struct pf {
    zx_handle_t pager, port, vmo;
};

static void pf_make(struct pf *f, uint32_t options, uint64_t size) {
    f->pager = f->port = f->vmo = ZX_HANDLE_INVALID;
    EXPECT_OK(zx_pager_create(0, &f->pager));
    EXPECT_OK(zx_port_create(0, &f->port));
    EXPECT_OK(zx_pager_create_vmo(f->pager, options, f->port, KEY, size, &f->vmo));
}

static void pf_close(struct pf *f) {
    zx_handle_close(f->vmo);
    zx_handle_close(f->pager);
    zx_handle_close(f->port);
}

// The next packet, or a status (TIMED_OUT after `ms`).
static zx_status_t next_packet(struct pf *f, int ms, zx_port_packet_t *pkt) {
    return zx_port_wait(f->port, ut_deadline_after(ms * MS), pkt);
}

// Expects a page request {command, offset, length} within `ms`.
static bool expect_request(struct pf *f, uint16_t command, uint64_t offset, uint64_t length,
                           int ms) {
    zx_port_packet_t pkt;
    if (!EXPECT_OK(next_packet(f, ms, &pkt)))
        return false;
    bool ok = EXPECT_EQ(pkt.key, (uint64_t)KEY);
    ok &= EXPECT_EQ(pkt.type, (uint32_t)ZX_PKT_TYPE_PAGE_REQUEST);
    ok &= EXPECT_EQ(pkt.status, ZX_OK);
    ok &= EXPECT_EQ(pkt.page_request.command, command);
    ok &= EXPECT_EQ(pkt.page_request.flags, 0u);
    ok &= EXPECT_EQ(pkt.page_request.offset, offset);
    ok &= EXPECT_EQ(pkt.page_request.length, length);
    return ok;
}

static void expect_no_packet(struct pf *f) {
    zx_port_packet_t pkt;
    zx_status_t st = next_packet(f, 20, &pkt);
    if (!EXPECT_STATUS(st, ZX_ERR_TIMED_OUT))
        EXPECT_FAILF("unexpected packet: type %u command %u offset %#llx length %#llx", pkt.type,
                     pkt.page_request.command, (unsigned long long)pkt.page_request.offset,
                     (unsigned long long)pkt.page_request.length);
}

// Supplies [offset, offset + len) with pages whose bytes are `fill` + page index.
static zx_status_t supply(struct pf *f, uint64_t offset, uint64_t len, int fill) {
    zx_handle_t aux = ut_vmo(len, -1);
    for (uint64_t o = 0; o < len; o += PAGE) {
        uint8_t b = (uint8_t)(fill + (offset + o) / PAGE);
        zx_status_t st = zx_vmo_write(aux, &b, o, 1);
        if (st != ZX_OK) {
            zx_handle_close(aux);
            return st;
        }
    }
    zx_status_t st = zx_pager_supply_pages(f->pager, f->vmo, offset, len, aux, 0);
    zx_handle_close(aux);
    return st;
}

// ---- Threads that touch a pager VMO and report ----

struct access {
    zx_handle_t vmo;
    uint64_t offset;
    size_t len;
    uintptr_t addr;     // a mapping to touch instead (0: use vmo_read / vmo_write)
    bool write;
    volatile zx_status_t status;
    volatile uint8_t byte;
    volatile int done;
};

static uint8_t thread_buf[4][16 * 4096];

static void access_thread(uintptr_t a1, uintptr_t a2) {
    struct access *a = (struct access *)a1;
    uint8_t *buf = thread_buf[a2];
    if (a->addr) {
        volatile uint8_t *p = (volatile uint8_t *)a->addr;
        if (a->write)
            *p = 0x77;
        a->byte = *p;
        a->status = ZX_OK;
    } else if (a->write) {
        memset(buf, 0x77, a->len);
        a->status = zx_vmo_write(a->vmo, buf, a->offset, a->len);
    } else {
        a->status = zx_vmo_read(a->vmo, buf, a->offset, a->len);
        a->byte = buf[0];
    }
    __atomic_store_n(&a->done, 1, __ATOMIC_RELEASE);
    zx_thread_exit();
}

static bool spawn_access(struct ut_thread *t, struct access *a, int slot) {
    a->done = 0;
    a->status = -999;
    return EXPECT_OK(ut_thread_spawn(t, access_thread, (uintptr_t)a, (uintptr_t)slot));
}

static bool access_done(struct access *a) {
    return __atomic_load_n(&a->done, __ATOMIC_ACQUIRE) != 0;
}

// ---- Creation ----

TEST(pager_create_rights_and_errors) {
    EXPECT_EQ(ZX_OBJ_TYPE_PAGER, 28u);
    EXPECT_EQ(ZX_RIGHT_ATTACH_VMO, 0x800000u);
    EXPECT_EQ(ZX_RIGHT_MANAGE_VMO, 0x1000000u);
    zx_handle_t p;
    REQUIRE_OK(zx_pager_create(0, &p));
    EXPECT_EQ(ut_type(p), ZX_OBJ_TYPE_PAGER);
    EXPECT_EQ(ut_rights(p), PAGER_RIGHTS);
    zx_handle_t d;
    EXPECT_STATUS(zx_handle_duplicate(p, ZX_RIGHT_SAME_RIGHTS, &d), ZX_ERR_ACCESS_DENIED);
    EXPECT_STATUS(zx_object_wait_one(p, 1, 0, NULL), ZX_ERR_ACCESS_DENIED);
    zx_handle_close(p);
    EXPECT_STATUS(zx_pager_create(1, &p), ZX_ERR_INVALID_ARGS);
    EXPECT_PTR_ERRORS(zx_pager_create(0, (zx_handle_t *)bad), ut_ro_page);
}

TEST(create_vmo_rights_info_and_errors) {
    struct pf f;
    pf_make(&f, 0, 3 * PAGE + 1);
    EXPECT_EQ(ut_type(f.vmo), ZX_OBJ_TYPE_VMO);
    EXPECT_EQ(ut_rights(f.vmo), VMO_RIGHTS);
    EXPECT_EQ(ut_vmo_size(f.vmo), 4 * PAGE);
    zx_info_vmo_t info = ut_vmo_info(f.vmo);
    EXPECT_TRUE(info.flags & ZX_INFO_VMO_PAGER_BACKED);
    EXPECT_EQ(info.committed_bytes, 0u);
    zx_handle_t v;
    EXPECT_OK(zx_pager_create_vmo(f.pager, ZX_VMO_RESIZABLE | ZX_VMO_TRAP_DIRTY, f.port, 1, PAGE,
                                  &v));
    EXPECT_EQ(ut_rights(v), VMO_RIGHTS | ZX_RIGHT_RESIZE);
    zx_handle_close(v);
    EXPECT_STATUS(zx_pager_create_vmo(f.pager, 1, f.port, 0, PAGE, &v), ZX_ERR_INVALID_ARGS);
    EXPECT_STATUS(zx_pager_create_vmo(f.pager, 0x10, f.port, 0, PAGE, &v), ZX_ERR_INVALID_ARGS);
    EXPECT_STATUS(zx_pager_create_vmo(f.pager, 0, f.port, 0, UINT64_MAX, &v), ZX_ERR_OUT_OF_RANGE);
    EXPECT_HANDLE_ERRORS(zx_pager_create_vmo(h, 0, f.port, 0, PAGE, &v));
    EXPECT_HANDLE_ERRORS(zx_pager_create_vmo(f.pager, 0, h, 0, PAGE, &v));
    zx_handle_t ro_port = ut_dup(f.port, ZX_RIGHT_READ);
    EXPECT_STATUS(zx_pager_create_vmo(f.pager, 0, ro_port, 0, PAGE, &v), ZX_ERR_ACCESS_DENIED);
    zx_handle_close(ro_port);
    EXPECT_PTR_ERRORS(zx_pager_create_vmo(f.pager, 0, f.port, 0, PAGE, (zx_handle_t *)bad),
                      ut_ro_page);
    pf_close(&f);
}

// The pager's rights (it has no DUPLICATE: weaker handles come from zx_handle_replace).
TEST(pager_rights) {
    struct pf f;
    pf_make(&f, 0, PAGE);
    zx_handle_t aux = ut_vmo(PAGE, 1), v;
    zx_vmo_dirty_range_t r;
    zx_pager_vmo_stats_t s;
    zx_handle_t attach;
    REQUIRE_OK(zx_handle_replace(f.pager, ZX_RIGHT_ATTACH_VMO, &attach));
    f.pager = attach;
    EXPECT_STATUS(zx_pager_detach_vmo(attach, f.vmo), ZX_ERR_ACCESS_DENIED);
    EXPECT_STATUS(zx_pager_supply_pages(attach, f.vmo, 0, PAGE, aux, 0), ZX_ERR_ACCESS_DENIED);
    EXPECT_STATUS(zx_pager_op_range(attach, ZX_PAGER_OP_DIRTY, f.vmo, 0, PAGE, 0),
                  ZX_ERR_ACCESS_DENIED);
    EXPECT_STATUS(zx_pager_query_dirty_ranges(attach, f.vmo, 0, PAGE, &r, sizeof(r), NULL, NULL),
                  ZX_ERR_ACCESS_DENIED);
    EXPECT_STATUS(zx_pager_query_vmo_stats(attach, f.vmo, 0, &s, sizeof(s)), ZX_ERR_ACCESS_DENIED);
    EXPECT_OK(zx_pager_create_vmo(attach, 0, f.port, 0, PAGE, &v));
    zx_handle_close(v);
    pf_close(&f);
    pf_make(&f, 0, PAGE);
    zx_handle_t manage;
    REQUIRE_OK(zx_handle_replace(f.pager, ZX_RIGHT_MANAGE_VMO, &manage));
    f.pager = manage;
    EXPECT_STATUS(zx_pager_create_vmo(manage, 0, f.port, 0, PAGE, &v), ZX_ERR_ACCESS_DENIED);
    EXPECT_STATUS(zx_pager_detach_vmo(manage, f.vmo), ZX_ERR_ACCESS_DENIED);
    EXPECT_OK(zx_pager_query_vmo_stats(manage, f.vmo, 0, &s, sizeof(s)));
    pf_close(&f);
    // VMO rights: WRITE for detach, supply (aux too) and op_range, READ for the queries.
    pf_make(&f, 0, PAGE);
    zx_handle_t wo = ut_dup(f.vmo, ZX_RIGHT_WRITE), rd = ut_dup(f.vmo, ZX_RIGHT_READ);
    zx_handle_t aux_ro = ut_dup(aux, ZX_RIGHT_READ);
    EXPECT_STATUS(zx_pager_detach_vmo(f.pager, rd), ZX_ERR_ACCESS_DENIED);
    EXPECT_STATUS(zx_pager_supply_pages(f.pager, rd, 0, PAGE, aux, 0), ZX_ERR_ACCESS_DENIED);
    EXPECT_STATUS(zx_pager_supply_pages(f.pager, f.vmo, 0, PAGE, aux_ro, 0), ZX_ERR_ACCESS_DENIED);
    EXPECT_STATUS(zx_pager_query_dirty_ranges(f.pager, wo, 0, PAGE, &r, sizeof(r), NULL, NULL),
                  ZX_ERR_ACCESS_DENIED);
    EXPECT_STATUS(zx_pager_query_vmo_stats(f.pager, wo, 0, &s, sizeof(s)), ZX_ERR_ACCESS_DENIED);
    EXPECT_OK(zx_pager_query_vmo_stats(f.pager, rd, 0, &s, sizeof(s)));
    zx_handle_close(wo);
    zx_handle_close(rd);
    zx_handle_close(aux_ro);
    zx_handle_close(aux);
    pf_close(&f);
}

// ---- Page requests ----

TEST(read_round_trip) {
    struct pf f;
    pf_make(&f, 0, 8 * PAGE);
    struct access a = {.vmo = f.vmo, .offset = 2 * PAGE + 5, .len = 2 * PAGE};
    struct ut_thread t;
    REQUIRE_TRUE(spawn_access(&t, &a, 0));
    // One request for the missing run [2, 5) pages, exactly.
    expect_request(&f, ZX_PAGER_VMO_READ, 2 * PAGE, 3 * PAGE, 5000);
    EXPECT_FALSE(access_done(&a));
    EXPECT_OK(supply(&f, 2 * PAGE, 3 * PAGE, 0x40));
    EXPECT_TRUE(ut_thread_join(&t, 10000));
    EXPECT_OK(a.status);
    EXPECT_EQ(a.byte, 0);  // byte 5 of page 2: supplied pages carry data only in byte 0
    EXPECT_EQ(ut_vmo_byte(f.vmo, 2 * PAGE), 0x42);
    EXPECT_EQ(ut_vmo_byte(f.vmo, 4 * PAGE), 0x44);
    EXPECT_EQ(ut_committed(f.vmo), 3 * PAGE);
    expect_no_packet(&f);
    pf_close(&f);
}

TEST(fault_round_trip) {
    struct pf f;
    pf_make(&f, 0, 4 * PAGE);
    uintptr_t addr = ut_map(f.vmo, 0, 4 * PAGE, ZX_VM_PERM_READ | ZX_VM_PERM_WRITE);
    REQUIRE_TRUE(addr != 0);
    struct access a = {.addr = addr + PAGE};
    struct ut_thread t;
    REQUIRE_TRUE(spawn_access(&t, &a, 0));
    expect_request(&f, ZX_PAGER_VMO_READ, PAGE, PAGE, 5000);
    EXPECT_OK(supply(&f, PAGE, PAGE, 0x10));
    EXPECT_TRUE(ut_thread_join(&t, 10000));
    EXPECT_EQ(a.byte, 0x11);
    // A write fault on a supplied page: no request, the page turns dirty.
    a = (struct access){.addr = addr + PAGE, .write = true};
    REQUIRE_TRUE(spawn_access(&t, &a, 0));
    EXPECT_TRUE(ut_thread_join(&t, 10000));
    EXPECT_EQ(a.byte, 0x77);
    zx_vmo_dirty_range_t r[4];
    size_t actual = 0, avail = 0;
    EXPECT_OK(zx_pager_query_dirty_ranges(f.pager, f.vmo, 0, 4 * PAGE, r, sizeof(r), &actual,
                                          &avail));
    EXPECT_EQ(actual, 1u);
    EXPECT_EQ(avail, 1u);
    EXPECT_EQ(r[0].offset, PAGE);
    EXPECT_EQ(r[0].length, PAGE);
    EXPECT_EQ(r[0].options, 0u);
    expect_no_packet(&f);
    ut_unmap(addr, 4 * PAGE);
    pf_close(&f);
}

TEST(missing_runs_coalesce_and_are_asked_once) {
    struct pf f;
    pf_make(&f, 0, 16 * PAGE);
    EXPECT_OK(supply(&f, 3 * PAGE, PAGE, 0));
    EXPECT_OK(supply(&f, 9 * PAGE, 2 * PAGE, 0));
    struct access a = {.vmo = f.vmo, .offset = PAGE, .len = 12 * PAGE};
    struct access b = {.vmo = f.vmo, .offset = 4 * PAGE, .len = 2 * PAGE};
    struct ut_thread ta, tb;
    REQUIRE_TRUE(spawn_access(&ta, &a, 0));
    // One packet per missing run: [1,3), [4,9), [11,13).
    expect_request(&f, ZX_PAGER_VMO_READ, PAGE, 2 * PAGE, 5000);
    expect_request(&f, ZX_PAGER_VMO_READ, 4 * PAGE, 5 * PAGE, 5000);
    expect_request(&f, ZX_PAGER_VMO_READ, 11 * PAGE, 2 * PAGE, 5000);
    // A second reader of pages already asked for sends nothing.
    REQUIRE_TRUE(spawn_access(&tb, &b, 1));
    expect_no_packet(&f);
    EXPECT_OK(supply(&f, 0, 16 * PAGE, 0x20));
    EXPECT_TRUE(ut_thread_join(&ta, 10000));
    EXPECT_TRUE(ut_thread_join(&tb, 10000));
    EXPECT_OK(a.status);
    EXPECT_OK(b.status);
    EXPECT_EQ(ut_vmo_byte(f.vmo, 3 * PAGE), 3);     // the first supply won
    EXPECT_EQ(ut_vmo_byte(f.vmo, 4 * PAGE), 0x24);
    expect_no_packet(&f);
    pf_close(&f);
}

TEST(commit_and_prefetch_request_pages) {
    struct pf f;
    pf_make(&f, 0, 4 * PAGE);
    struct ut_thread t;
    struct access a = {.vmo = f.vmo, .offset = 0, .len = PAGE};
    (void)a;
    // COMMIT from a thread (it blocks), answered with zeros from an empty aux VMO.
    zx_handle_t aux = ut_vmo(2 * PAGE, -1);
    EXPECT_OK(zx_pager_supply_pages(f.pager, f.vmo, 2 * PAGE, 2 * PAGE, aux, 0));
    zx_handle_close(aux);
    EXPECT_EQ(ut_committed(f.vmo), 0u);  // zeros supplied take no pages
    EXPECT_OK(zx_vmo_op_range(f.vmo, ZX_VMO_OP_PREFETCH, 2 * PAGE, 2 * PAGE, NULL, 0));
    EXPECT_STATUS(zx_vmo_op_range(f.vmo, ZX_VMO_OP_DECOMMIT, 0, PAGE, NULL, 0),
                  ZX_ERR_NOT_SUPPORTED);
    EXPECT_STATUS(zx_vmo_op_range(f.vmo, ZX_VMO_OP_TRY_LOCK, 0, PAGE, NULL, 0),
                  ZX_ERR_NOT_SUPPORTED);
    expect_no_packet(&f);
    (void)t;
    pf_close(&f);
}

TEST(supply_errors_and_aux_rules) {
    struct pf f, g;
    pf_make(&f, 0, 4 * PAGE);
    pf_make(&g, 0, 4 * PAGE);
    zx_handle_t aux = ut_vmo(4 * PAGE, 0x33);
    EXPECT_STATUS(zx_pager_supply_pages(f.pager, f.vmo, 1, PAGE, aux, 0), ZX_ERR_INVALID_ARGS);
    EXPECT_STATUS(zx_pager_supply_pages(f.pager, f.vmo, 0, 5, aux, 0), ZX_ERR_INVALID_ARGS);
    EXPECT_STATUS(zx_pager_supply_pages(f.pager, f.vmo, 0, PAGE, aux, 7), ZX_ERR_INVALID_ARGS);
    EXPECT_STATUS(zx_pager_supply_pages(f.pager, f.vmo, 4 * PAGE, PAGE, aux, 0),
                  ZX_ERR_OUT_OF_RANGE);
    EXPECT_STATUS(zx_pager_supply_pages(f.pager, f.vmo, 0, PAGE, aux, 4 * PAGE),
                  ZX_ERR_OUT_OF_RANGE);
    EXPECT_STATUS(zx_pager_supply_pages(g.pager, f.vmo, 0, PAGE, aux, 0), ZX_ERR_INVALID_ARGS);
    EXPECT_STATUS(zx_pager_supply_pages(f.pager, f.vmo, 0, PAGE, f.vmo, 0), ZX_ERR_BAD_STATE);
    zx_handle_t child = ut_child(aux, ZX_VMO_CHILD_SNAPSHOT, 0, PAGE);
    EXPECT_STATUS(zx_pager_supply_pages(f.pager, f.vmo, 0, PAGE, aux, 0), ZX_ERR_BAD_STATE);
    EXPECT_STATUS(zx_pager_supply_pages(f.pager, f.vmo, 0, PAGE, child, 0), ZX_ERR_BAD_STATE);
    zx_handle_close(child);
    zx_handle_t slice = ut_child(aux, ZX_VMO_CHILD_SLICE, 0, PAGE);
    EXPECT_STATUS(zx_pager_supply_pages(f.pager, f.vmo, 0, PAGE, slice, 0), ZX_ERR_BAD_STATE);
    zx_handle_close(slice);
    EXPECT_HANDLE_ERRORS(zx_pager_supply_pages(h, f.vmo, 0, PAGE, aux, 0));
    EXPECT_HANDLE_ERRORS(zx_pager_supply_pages(f.pager, h, 0, PAGE, aux, 0));
    EXPECT_HANDLE_ERRORS(zx_pager_supply_pages(f.pager, f.vmo, 0, PAGE, h, 0));
    zx_handle_t ro = ut_dup(f.vmo, ZX_RIGHT_READ);
    EXPECT_STATUS(zx_pager_supply_pages(f.pager, ro, 0, PAGE, aux, 0), ZX_ERR_ACCESS_DENIED);
    zx_handle_close(ro);
    // The pages move: aux is left decommitted there.
    EXPECT_OK(zx_pager_supply_pages(f.pager, f.vmo, PAGE, 2 * PAGE, aux, PAGE));
    EXPECT_EQ(ut_committed(aux), 2 * PAGE);
    EXPECT_EQ(ut_vmo_byte(aux, PAGE), 0);
    EXPECT_EQ(ut_vmo_byte(f.vmo, PAGE), 0x33);
    EXPECT_EQ(ut_committed(f.vmo), 2 * PAGE);
    // Present pages win over a second supply.
    zx_handle_t aux2 = ut_vmo(PAGE, 0x99);
    EXPECT_OK(zx_pager_supply_pages(f.pager, f.vmo, PAGE, PAGE, aux2, 0));
    EXPECT_EQ(ut_vmo_byte(f.vmo, PAGE), 0x33);
    EXPECT_OK(zx_pager_supply_pages(f.pager, f.vmo, 0, 0, aux2, 0));
    zx_handle_close(aux2);
    zx_handle_close(aux);
    pf_close(&g);
    pf_close(&f);
}

// ---- FAIL, detach, the pager's death ----

TEST(fail_carries_status_to_every_waiter) {
    struct pf f;
    pf_make(&f, 0, 8 * PAGE);
    struct access a = {.vmo = f.vmo, .offset = 0, .len = 2 * PAGE};
    struct access b = {.vmo = f.vmo, .offset = PAGE, .len = PAGE};
    struct ut_thread ta, tb;
    REQUIRE_TRUE(spawn_access(&ta, &a, 0));
    expect_request(&f, ZX_PAGER_VMO_READ, 0, 2 * PAGE, 5000);
    REQUIRE_TRUE(spawn_access(&tb, &b, 1));
    zx_nanosleep(ut_deadline_after(20 * MS));
    EXPECT_STATUS(zx_pager_op_range(f.pager, ZX_PAGER_OP_FAIL, f.vmo, 0, PAGE, 5),
                  ZX_ERR_INVALID_ARGS);
    EXPECT_STATUS(zx_pager_op_range(f.pager, ZX_PAGER_OP_FAIL, f.vmo, 0, PAGE,
                                    (uint64_t)(int64_t)ZX_ERR_NO_MEMORY),
                  ZX_ERR_INVALID_ARGS);
    EXPECT_OK(zx_pager_op_range(f.pager, ZX_PAGER_OP_FAIL, f.vmo, 0, PAGE,
                                (uint64_t)(int64_t)ZX_ERR_IO_DATA_INTEGRITY));
    EXPECT_TRUE(ut_thread_join(&ta, 10000));
    EXPECT_TRUE(ut_thread_join(&tb, 10000));
    EXPECT_STATUS(a.status, ZX_ERR_IO_DATA_INTEGRITY);
    EXPECT_STATUS(b.status, ZX_ERR_IO_DATA_INTEGRITY);
    // The pages are still missing: the next access asks again.
    REQUIRE_TRUE(spawn_access(&ta, &a, 0));
    expect_request(&f, ZX_PAGER_VMO_READ, 0, 2 * PAGE, 5000);
    EXPECT_OK(zx_pager_op_range(f.pager, ZX_PAGER_OP_FAIL, f.vmo, 0, 2 * PAGE,
                                (uint64_t)(int64_t)ZX_ERR_IO));
    EXPECT_TRUE(ut_thread_join(&ta, 10000));
    EXPECT_STATUS(a.status, ZX_ERR_IO);
    pf_close(&f);
}

// A child process whose code loads from `addr` (a pager VMO mapped in it) and exits with 0.
static zx_status_t start_loader(struct ut_proc *p, zx_handle_t vmo, size_t len) {
    struct ut_code c = {0};
    ut_emit_load(&c, RAX, RSI);
    ut_emit_mov_imm(&c, RDI, 0);
    ut_emit_exit(&c);
    zx_status_t st = ut_proc_create(p, "pager-loader", &c);
    if (st != ZX_OK)
        return st;
    zx_vaddr_t addr;
    st = zx_vmar_map(p->vmar, ZX_VM_PERM_READ, 0, vmo, 0, len, &addr);
    if (st != ZX_OK)
        return st;
    return ut_proc_start(p, ZX_HANDLE_INVALID, addr);
}

TEST(fail_reaches_faults_in_several_processes) {
    struct pf f;
    pf_make(&f, 0, PAGE);
    struct ut_proc p[2];
    for (int i = 0; i < 2; i++)
        REQUIRE_OK(start_loader(&p[i], f.vmo, PAGE));
    // Both fault on page 0: one request.
    expect_request(&f, ZX_PAGER_VMO_READ, 0, PAGE, 5000);
    zx_nanosleep(ut_deadline_after(50 * MS));
    expect_no_packet(&f);
    EXPECT_OK(zx_pager_op_range(f.pager, ZX_PAGER_OP_FAIL, f.vmo, 0, PAGE,
                                (uint64_t)(int64_t)ZX_ERR_IO));
    for (int i = 0; i < 2; i++) {
        EXPECT_EQ(ut_wait_process(p[i].proc, 10), ZX_TASK_RETCODE_EXCEPTION_KILL);
        ut_proc_close(&p[i]);
    }
    pf_close(&f);
}

TEST(killing_a_faulting_process_wakes_it) {
    struct pf f;
    pf_make(&f, 0, PAGE);
    struct ut_proc p;
    REQUIRE_OK(start_loader(&p, f.vmo, PAGE));
    expect_request(&f, ZX_PAGER_VMO_READ, 0, PAGE, 5000);
    EXPECT_OK(zx_task_kill(p.proc));
    EXPECT_EQ(ut_wait_process(p.proc, 10), ZX_TASK_RETCODE_SYSCALL_KILL);
    ut_proc_close(&p);
    // The request is still outstanding: a supply answers it and nobody minds.
    EXPECT_OK(supply(&f, 0, PAGE, 1));
    pf_close(&f);
}

TEST(detach_with_blocked_faulters) {
    struct pf f;
    pf_make(&f, 0, 4 * PAGE);
    EXPECT_OK(supply(&f, 3 * PAGE, PAGE, 0));
    EXPECT_OK(zx_vmo_write(f.vmo, "d", 3 * PAGE, 1));
    uintptr_t addr = ut_map(f.vmo, 0, 4 * PAGE, ZX_VM_PERM_READ);
    struct access a = {.vmo = f.vmo, .offset = 0, .len = PAGE};
    struct ut_thread t;
    REQUIRE_TRUE(spawn_access(&t, &a, 0));
    expect_request(&f, ZX_PAGER_VMO_READ, 0, PAGE, 5000);
    struct ut_proc p;
    REQUIRE_OK(start_loader(&p, f.vmo, PAGE));
    zx_nanosleep(ut_deadline_after(50 * MS));
    EXPECT_HANDLE_ERRORS(zx_pager_detach_vmo(h, f.vmo));
    EXPECT_OK(zx_pager_detach_vmo(f.pager, f.vmo));
    EXPECT_TRUE(ut_thread_join(&t, 10000));
    EXPECT_STATUS(a.status, ZX_ERR_BAD_STATE);
    EXPECT_EQ(ut_wait_process(p.proc, 10), ZX_TASK_RETCODE_EXCEPTION_KILL);
    ut_proc_close(&p);
    expect_request(&f, ZX_PAGER_VMO_COMPLETE, 0, 0, 5000);
    expect_no_packet(&f);
    // Detached: missing pages fail, supplied ones stay; FAIL, DIRTY, supply are BAD_STATE;
    // writeback and the queries still work.
    char c;
    EXPECT_STATUS(zx_vmo_read(f.vmo, &c, PAGE, 1), ZX_ERR_BAD_STATE);
    EXPECT_OK(zx_vmo_read(f.vmo, &c, 3 * PAGE, 1));
    EXPECT_EQ(c, 'd');
    EXPECT_STATUS(supply(&f, 0, PAGE, 0), ZX_ERR_BAD_STATE);
    EXPECT_STATUS(zx_pager_op_range(f.pager, ZX_PAGER_OP_FAIL, f.vmo, 0, PAGE,
                                    (uint64_t)(int64_t)ZX_ERR_IO),
                  ZX_ERR_BAD_STATE);
    EXPECT_STATUS(zx_pager_op_range(f.pager, ZX_PAGER_OP_DIRTY, f.vmo, 3 * PAGE, PAGE, 0),
                  ZX_ERR_BAD_STATE);
    zx_vmo_dirty_range_t r;
    size_t n = 9;
    EXPECT_OK(zx_pager_query_dirty_ranges(f.pager, f.vmo, 0, 4 * PAGE, &r, sizeof(r), &n, NULL));
    EXPECT_EQ(n, 1u);
    EXPECT_OK(zx_pager_op_range(f.pager, ZX_PAGER_OP_WRITEBACK_BEGIN, f.vmo, 0, 4 * PAGE, 0));
    EXPECT_OK(zx_pager_op_range(f.pager, ZX_PAGER_OP_WRITEBACK_END, f.vmo, 0, 4 * PAGE, 0));
    EXPECT_OK(zx_pager_query_dirty_ranges(f.pager, f.vmo, 0, 4 * PAGE, &r, sizeof(r), &n, NULL));
    EXPECT_EQ(n, 0u);
    EXPECT_OK(zx_pager_detach_vmo(f.pager, f.vmo));  // again: nothing more happens
    expect_no_packet(&f);
    ut_unmap(addr, 4 * PAGE);
    pf_close(&f);
}

TEST(complete_when_the_vmo_dies) {
    struct pf f;
    pf_make(&f, 0, PAGE);
    zx_handle_close(f.vmo);
    expect_request(&f, ZX_PAGER_VMO_COMPLETE, 0, 0, 5000);
    expect_no_packet(&f);
    f.vmo = ZX_HANDLE_INVALID;
    pf_close(&f);
}

TEST(the_pagers_death_fails_requests) {
    struct pf f;
    pf_make(&f, 0, 2 * PAGE);
    struct access a = {.vmo = f.vmo, .offset = 0, .len = PAGE};
    struct ut_thread t;
    REQUIRE_TRUE(spawn_access(&t, &a, 0));
    expect_request(&f, ZX_PAGER_VMO_READ, 0, PAGE, 5000);
    zx_handle_close(f.pager);
    f.pager = ZX_HANDLE_INVALID;
    EXPECT_TRUE(ut_thread_join(&t, 10000));
    EXPECT_STATUS(a.status, ZX_ERR_BAD_STATE);
    expect_no_packet(&f);  // no COMPLETE
    char c;
    EXPECT_STATUS(zx_vmo_read(f.vmo, &c, PAGE, 1), ZX_ERR_BAD_STATE);
    pf_close(&f);
}

// ---- op_range and the dirty state machine ----

TEST(op_range_errors) {
    struct pf f, g;
    pf_make(&f, 0, 4 * PAGE);
    pf_make(&g, 0, 4 * PAGE);
    EXPECT_STATUS(zx_pager_op_range(f.pager, 0, f.vmo, 0, PAGE, 0), ZX_ERR_NOT_SUPPORTED);
    EXPECT_STATUS(zx_pager_op_range(f.pager, 5, f.vmo, 0, PAGE, 0), ZX_ERR_NOT_SUPPORTED);
    for (uint32_t op = ZX_PAGER_OP_FAIL; op <= ZX_PAGER_OP_WRITEBACK_END; op++) {
        uint64_t data = op == ZX_PAGER_OP_FAIL ? (uint64_t)(int64_t)ZX_ERR_IO : 0;
        EXPECT_STATUS(zx_pager_op_range(f.pager, op, f.vmo, 1, PAGE, data), ZX_ERR_INVALID_ARGS);
        EXPECT_STATUS(zx_pager_op_range(f.pager, op, f.vmo, 0, 3, data), ZX_ERR_INVALID_ARGS);
        EXPECT_STATUS(zx_pager_op_range(f.pager, op, f.vmo, 0, 5 * PAGE, data),
                      ZX_ERR_OUT_OF_RANGE);
        EXPECT_STATUS(zx_pager_op_range(g.pager, op, f.vmo, 0, PAGE, data), ZX_ERR_INVALID_ARGS);
        EXPECT_HANDLE_ERRORS(zx_pager_op_range(h, op, f.vmo, 0, PAGE, data));
        EXPECT_HANDLE_ERRORS(zx_pager_op_range(f.pager, op, h, 0, PAGE, data));
    }
    EXPECT_STATUS(zx_pager_op_range(f.pager, ZX_PAGER_OP_DIRTY, f.vmo, 0, PAGE, 0),
                  ZX_ERR_NOT_FOUND);
    EXPECT_STATUS(zx_pager_op_range(f.pager, ZX_PAGER_OP_WRITEBACK_BEGIN, f.vmo, 0, PAGE, 2),
                  ZX_ERR_INVALID_ARGS);
    EXPECT_OK(zx_pager_op_range(f.pager, ZX_PAGER_OP_WRITEBACK_BEGIN, f.vmo, 0, PAGE,
                                ZX_VMO_DIRTY_RANGE_IS_ZERO));
    zx_handle_t ro = ut_dup(f.vmo, ZX_RIGHT_READ);
    EXPECT_STATUS(zx_pager_op_range(f.pager, ZX_PAGER_OP_WRITEBACK_END, ro, 0, PAGE, 0),
                  ZX_ERR_ACCESS_DENIED);
    zx_handle_close(ro);
    pf_close(&g);
    pf_close(&f);
}

// Reads every dirty range of [0, size) into r (at most n); returns how many.
static size_t dirty_ranges(struct pf *f, uint64_t size, zx_vmo_dirty_range_t *r, size_t n) {
    size_t actual = 0, avail = 0;
    EXPECT_OK(zx_pager_query_dirty_ranges(f->pager, f->vmo, 0, size, r,
                                          n * sizeof(*r), &actual, &avail));
    EXPECT_EQ(actual, MIN(avail, n));
    return avail;
}

static bool range_is(const zx_vmo_dirty_range_t *r, uint64_t off, uint64_t len, uint64_t opt) {
    bool ok = EXPECT_EQ(r->offset, off);
    ok &= EXPECT_EQ(r->length, len);
    ok &= EXPECT_EQ(r->options, opt);
    return ok;
}

TEST(dirty_state_machine) {
    struct pf f;
    pf_make(&f, 0, 8 * PAGE);
    EXPECT_OK(supply(&f, 0, 8 * PAGE, 0));
    zx_vmo_dirty_range_t r[8];
    EXPECT_EQ(dirty_ranges(&f, 8 * PAGE, r, 8), 0u);
    EXPECT_OK(zx_vmo_write(f.vmo, "ab", 2 * PAGE - 1, 2));  // pages 1 and 2
    EXPECT_OK(zx_vmo_write(f.vmo, "c", 5 * PAGE, 1));
    REQUIRE_EQ(dirty_ranges(&f, 8 * PAGE, r, 8), 2u);
    range_is(&r[0], PAGE, 2 * PAGE, 0);
    range_is(&r[1], 5 * PAGE, PAGE, 0);
    // Clean -> Dirty -> AwaitingClean -> Clean, and a write in between back to Dirty.
    EXPECT_OK(zx_pager_op_range(f.pager, ZX_PAGER_OP_WRITEBACK_BEGIN, f.vmo, 0, 8 * PAGE, 0));
    REQUIRE_EQ(dirty_ranges(&f, 8 * PAGE, r, 8), 2u);  // awaiting clean is still dirty
    EXPECT_OK(zx_vmo_write(f.vmo, "x", PAGE, 1));
    EXPECT_OK(zx_pager_op_range(f.pager, ZX_PAGER_OP_WRITEBACK_END, f.vmo, 0, 8 * PAGE, 0));
    REQUIRE_EQ(dirty_ranges(&f, 8 * PAGE, r, 8), 1u);
    range_is(&r[0], PAGE, PAGE, 0);
    // A short buffer still counts every range; actual and avail are optional.
    EXPECT_OK(zx_vmo_write(f.vmo, "y", 7 * PAGE, 1));
    size_t actual = 0, avail = 0;
    EXPECT_OK(zx_pager_query_dirty_ranges(f.pager, f.vmo, 0, 8 * PAGE, r, sizeof(r[0]), &actual,
                                          &avail));
    EXPECT_EQ(actual, 1u);
    EXPECT_EQ(avail, 2u);
    EXPECT_OK(zx_pager_query_dirty_ranges(f.pager, f.vmo, 0, 8 * PAGE, NULL, 0, NULL, NULL));
    // The range rounds out to pages.
    EXPECT_OK(zx_pager_query_dirty_ranges(f.pager, f.vmo, 7 * PAGE + 5, 1, r, sizeof(r), &actual,
                                          NULL));
    EXPECT_EQ(actual, 1u);
    range_is(&r[0], 7 * PAGE, PAGE, 0);
    EXPECT_STATUS(zx_pager_query_dirty_ranges(f.pager, f.vmo, 0, 9 * PAGE, r, sizeof(r), NULL,
                                              NULL),
                  ZX_ERR_OUT_OF_RANGE);
    EXPECT_PTR_ERRORS(zx_pager_query_dirty_ranges(f.pager, f.vmo, 0, 8 * PAGE,
                                                  (zx_vmo_dirty_range_t *)bad, sizeof(r), NULL,
                                                  NULL),
                      ut_ro_page);
    // A mapping's write after WRITEBACK_BEGIN faults again and re-dirties the page.
    uintptr_t addr = ut_map(f.vmo, 0, 8 * PAGE, ZX_VM_PERM_READ | ZX_VM_PERM_WRITE);
    *(volatile uint8_t *)(addr + 3 * PAGE) = 1;
    EXPECT_OK(zx_pager_op_range(f.pager, ZX_PAGER_OP_WRITEBACK_BEGIN, f.vmo, 0, 8 * PAGE, 0));
    *(volatile uint8_t *)(addr + 3 * PAGE) = 2;
    EXPECT_OK(zx_pager_op_range(f.pager, ZX_PAGER_OP_WRITEBACK_END, f.vmo, 0, 8 * PAGE, 0));
    REQUIRE_EQ(dirty_ranges(&f, 8 * PAGE, r, 8), 1u);
    range_is(&r[0], 3 * PAGE, PAGE, 0);
    ut_unmap(addr, 8 * PAGE);
    pf_close(&f);
}

TEST(trap_dirty_round_trips) {
    struct pf f;
    pf_make(&f, ZX_VMO_TRAP_DIRTY, 4 * PAGE);
    EXPECT_OK(supply(&f, 0, 4 * PAGE, 0));
    struct access a = {.vmo = f.vmo, .offset = PAGE, .len = 2 * PAGE, .write = true};
    struct ut_thread t;
    REQUIRE_TRUE(spawn_access(&t, &a, 0));
    expect_request(&f, ZX_PAGER_VMO_DIRTY, PAGE, 2 * PAGE, 5000);
    EXPECT_FALSE(access_done(&a));
    EXPECT_OK(zx_pager_op_range(f.pager, ZX_PAGER_OP_DIRTY, f.vmo, PAGE, 2 * PAGE, 0));
    EXPECT_TRUE(ut_thread_join(&t, 10000));
    EXPECT_OK(a.status);
    EXPECT_EQ(ut_vmo_byte(f.vmo, PAGE), 0x77);
    // A mapping's write: DIRTY, then FAIL kills the writer (here: a failed vmo_write).
    a = (struct access){.vmo = f.vmo, .offset = 0, .len = 1, .write = true};
    REQUIRE_TRUE(spawn_access(&t, &a, 0));
    expect_request(&f, ZX_PAGER_VMO_DIRTY, 0, PAGE, 5000);
    EXPECT_OK(zx_pager_op_range(f.pager, ZX_PAGER_OP_FAIL, f.vmo, 0, PAGE,
                                (uint64_t)(int64_t)ZX_ERR_NO_SPACE));
    EXPECT_TRUE(ut_thread_join(&t, 10000));
    EXPECT_STATUS(a.status, ZX_ERR_NO_SPACE);
    EXPECT_EQ(ut_vmo_byte(f.vmo, 0), 0);
    // Reads never trap.
    EXPECT_EQ(ut_vmo_byte(f.vmo, 3 * PAGE), 3);
    expect_no_packet(&f);
    pf_close(&f);
}

TEST(resize_grows_dirty_zeros) {
    struct pf f;
    pf_make(&f, ZX_VMO_RESIZABLE, 2 * PAGE);
    EXPECT_OK(supply(&f, 0, 2 * PAGE, 0));
    EXPECT_OK(zx_vmo_set_size(f.vmo, 6 * PAGE));
    EXPECT_EQ(ut_committed(f.vmo), 2 * PAGE);
    zx_vmo_dirty_range_t r[4];
    REQUIRE_EQ(dirty_ranges(&f, 6 * PAGE, r, 4), 1u);
    range_is(&r[0], 2 * PAGE, 4 * PAGE, ZX_VMO_DIRTY_RANGE_IS_ZERO);
    EXPECT_EQ(ut_vmo_byte(f.vmo, 4 * PAGE), 0);  // no request
    // A write splits the zero range; writeback of the zero range cleans it.
    EXPECT_OK(zx_vmo_write(f.vmo, "z", 3 * PAGE, 1));
    REQUIRE_EQ(dirty_ranges(&f, 6 * PAGE, r, 4), 3u);
    range_is(&r[0], 2 * PAGE, PAGE, ZX_VMO_DIRTY_RANGE_IS_ZERO);
    range_is(&r[1], 3 * PAGE, PAGE, 0);
    range_is(&r[2], 4 * PAGE, 2 * PAGE, ZX_VMO_DIRTY_RANGE_IS_ZERO);
    EXPECT_OK(zx_pager_op_range(f.pager, ZX_PAGER_OP_WRITEBACK_BEGIN, f.vmo, 4 * PAGE, 2 * PAGE,
                                ZX_VMO_DIRTY_RANGE_IS_ZERO));
    EXPECT_OK(zx_pager_op_range(f.pager, ZX_PAGER_OP_WRITEBACK_END, f.vmo, 4 * PAGE, 2 * PAGE, 0));
    REQUIRE_EQ(dirty_ranges(&f, 6 * PAGE, r, 4), 2u);
    // Shrinking drops what is past the end.
    EXPECT_OK(zx_vmo_set_size(f.vmo, PAGE));
    EXPECT_EQ(dirty_ranges(&f, PAGE, r, 4), 0u);
    expect_no_packet(&f);
    pf_close(&f);
}

// Expects the dirty ranges of [0, size) to be exactly `want` (n of them; offsets and lengths in
// pages, each with its options).
static bool dirty_ranges_are(struct pf *f, uint64_t size, const uint64_t (*want)[3], size_t n) {
    zx_vmo_dirty_range_t r[8];
    size_t got = dirty_ranges(f, size, r, 8);
    bool ok = EXPECT_EQ(got, n);
    for (size_t i = 0; ok && i < n; i++)
        ok = range_is(&r[i], want[i][0] * PAGE, want[i][1] * PAGE, want[i][2]);
    return ok;
}

static zx_status_t writeback(struct pf *f, uint32_t op, uint64_t page, uint64_t pages) {
    return zx_pager_op_range(f->pager, op, f->vmo, page * PAGE, pages * PAGE, 0);
}

#define Z ZX_VMO_DIRTY_RANGE_IS_ZERO
#define BEGIN ZX_PAGER_OP_WRITEBACK_BEGIN
#define END ZX_PAGER_OP_WRITEBACK_END

// Dirty zero ranges in writeback: the AwaitingClean length of a Dirty zero interval
// (docs/pager.md). Each step's END must clean exactly what its BEGIN covered and nothing wrote.
TEST(writeback_of_dirty_zero_ranges) {
    struct pf f;
    pf_make(&f, ZX_VMO_RESIZABLE, 2 * PAGE);
    EXPECT_OK(supply(&f, 0, 2 * PAGE, 0));
    EXPECT_OK(zx_vmo_set_size(f.vmo, 16 * PAGE));  // one Dirty zero interval [2, 16)
    // From the interval's start, partway in: a length, the rest stays Dirty.
    EXPECT_OK(writeback(&f, BEGIN, 2, 3));
    EXPECT_OK(writeback(&f, END, 2, 3));
    dirty_ranges_are(&f, 16 * PAGE, (const uint64_t[][3]){{5, 11, Z}}, 1);
    // From the middle, with a Dirty prefix: the range still cleans (Zircon would leave it Dirty).
    EXPECT_OK(writeback(&f, BEGIN, 7, 2));
    EXPECT_OK(writeback(&f, END, 7, 2));
    dirty_ranges_are(&f, 16 * PAGE, (const uint64_t[][3]){{5, 2, Z}, {9, 7, Z}}, 2);
    // A write splits an AwaitingClean range: each side keeps its own part of the length, so an
    // END over the right side alone cleans it, and one over the left side cleans that.
    EXPECT_OK(writeback(&f, BEGIN, 9, 7));
    EXPECT_OK(zx_vmo_write(f.vmo, "w", 11 * PAGE, 1));
    EXPECT_OK(writeback(&f, END, 12, 4));
    dirty_ranges_are(&f, 16 * PAGE,
                     (const uint64_t[][3]){{5, 2, Z}, {9, 2, Z}, {11, 1, 0}}, 3);
    EXPECT_OK(writeback(&f, END, 9, 2));
    dirty_ranges_are(&f, 16 * PAGE, (const uint64_t[][3]){{5, 2, Z}, {11, 1, 0}}, 2);
    // BEGIN over part of a range, then past its end: the length grows from the start.
    EXPECT_OK(writeback(&f, BEGIN, 5, 1));
    EXPECT_OK(writeback(&f, BEGIN, 5, 2));
    EXPECT_OK(writeback(&f, END, 6, 1));  // the length's second page alone
    dirty_ranges_are(&f, 16 * PAGE, (const uint64_t[][3]){{5, 1, Z}, {11, 1, 0}}, 2);
    EXPECT_OK(writeback(&f, END, 0, 16));
    dirty_ranges_are(&f, 16 * PAGE, (const uint64_t[][3]){{11, 1, 0}}, 1);
    pf_close(&f);
}

// What writes, OP_DIRTY, ZERO and resizes do to a zero range in writeback.
TEST(writeback_of_zero_ranges_meets_changes) {
    struct pf f;
    pf_make(&f, ZX_VMO_RESIZABLE, 0);
    EXPECT_OK(zx_vmo_set_size(f.vmo, 12 * PAGE));  // Dirty zeros [0, 12)
    EXPECT_OK(writeback(&f, BEGIN, 0, 12));
    // OP_DIRTY over [2, 4) takes that part out of writeback; ZERO over [6, 7) too.
    EXPECT_OK(zx_pager_op_range(f.pager, ZX_PAGER_OP_DIRTY, f.vmo, 2 * PAGE, 2 * PAGE, 0));
    EXPECT_OK(zx_vmo_op_range(f.vmo, ZX_VMO_OP_ZERO, 6 * PAGE, PAGE, NULL, 0));
    // Shrinking cuts the length; growing again adds Dirty zeros after it.
    EXPECT_OK(zx_vmo_set_size(f.vmo, 10 * PAGE));
    EXPECT_OK(zx_vmo_set_size(f.vmo, 14 * PAGE));
    EXPECT_OK(writeback(&f, END, 0, 14));
    dirty_ranges_are(&f, 14 * PAGE, (const uint64_t[][3]){{2, 2, Z}, {6, 1, Z}, {10, 4, Z}}, 3);
    // A write into every piece, then BEGIN/END over all: only the written pages stay dirty.
    EXPECT_OK(writeback(&f, BEGIN, 0, 14));
    EXPECT_OK(zx_vmo_write(f.vmo, "a", 2 * PAGE, 1));
    EXPECT_OK(zx_vmo_write(f.vmo, "b", 13 * PAGE, 1));
    EXPECT_OK(writeback(&f, END, 0, 14));
    dirty_ranges_are(&f, 14 * PAGE, (const uint64_t[][3]){{2, 1, 0}, {13, 1, 0}}, 2);
    EXPECT_EQ(ut_vmo_byte(f.vmo, 3 * PAGE), 0);
    expect_no_packet(&f);
    pf_close(&f);
}

// TRAP_DIRTY: a write into a zero range in writeback asks DIRTY for its page only; OP_DIRTY then
// cuts that page out of the AwaitingClean length, and END cleans the rest.
TEST(trap_dirty_write_into_a_zero_range_in_writeback) {
    struct pf f;
    pf_make(&f, ZX_VMO_RESIZABLE | ZX_VMO_TRAP_DIRTY, 0);
    EXPECT_OK(zx_vmo_set_size(f.vmo, 6 * PAGE));  // Dirty zeros [0, 6)
    EXPECT_OK(writeback(&f, BEGIN, 0, 6));
    struct access a = {.vmo = f.vmo, .offset = 2 * PAGE, .len = 1, .write = true};
    struct ut_thread t;
    REQUIRE_TRUE(spawn_access(&t, &a, 0));
    expect_request(&f, ZX_PAGER_VMO_DIRTY, 2 * PAGE, PAGE, 5000);
    EXPECT_FALSE(access_done(&a));
    EXPECT_OK(zx_pager_op_range(f.pager, ZX_PAGER_OP_DIRTY, f.vmo, 2 * PAGE, PAGE, 0));
    EXPECT_TRUE(ut_thread_join(&t, 10000));
    EXPECT_OK(a.status);
    EXPECT_OK(writeback(&f, END, 0, 6));
    dirty_ranges_are(&f, 6 * PAGE, (const uint64_t[][3]){{2, 1, 0}}, 1);
    expect_no_packet(&f);
    pf_close(&f);
}

#undef Z
#undef BEGIN
#undef END

TEST(zero_makes_dirty_zero_ranges) {
    struct pf f;
    pf_make(&f, 0, 4 * PAGE);
    EXPECT_OK(supply(&f, 0, 4 * PAGE, 1));
    EXPECT_OK(zx_vmo_op_range(f.vmo, ZX_VMO_OP_ZERO, PAGE, 2 * PAGE, NULL, 0));
    EXPECT_EQ(ut_committed(f.vmo), 2 * PAGE);
    EXPECT_EQ(ut_vmo_byte(f.vmo, PAGE), 0);
    zx_vmo_dirty_range_t r[4];
    REQUIRE_EQ(dirty_ranges(&f, 4 * PAGE, r, 4), 1u);
    range_is(&r[0], PAGE, 2 * PAGE, ZX_VMO_DIRTY_RANGE_IS_ZERO);
    pf_close(&f);
}

TEST(vmo_stats) {
    struct pf f, g;
    pf_make(&f, ZX_VMO_RESIZABLE, 2 * PAGE);
    pf_make(&g, 0, PAGE);
    zx_pager_vmo_stats_t s = {.modified = 7};
    EXPECT_OK(zx_pager_query_vmo_stats(f.pager, f.vmo, 0, &s, sizeof(s)));
    EXPECT_EQ(s.modified, 0u);
    EXPECT_STATUS(zx_pager_query_vmo_stats(f.pager, f.vmo, 0, &s, 3), ZX_ERR_BUFFER_TOO_SMALL);
    EXPECT_STATUS(zx_pager_query_vmo_stats(f.pager, f.vmo, 2, &s, sizeof(s)),
                  ZX_ERR_INVALID_ARGS);
    EXPECT_STATUS(zx_pager_query_vmo_stats(g.pager, f.vmo, 0, &s, sizeof(s)),
                  ZX_ERR_INVALID_ARGS);
    EXPECT_PTR_ERRORS(zx_pager_query_vmo_stats(f.pager, f.vmo, 0, (void *)bad, sizeof(s)),
                      ut_ro_page);
    EXPECT_OK(supply(&f, 0, 2 * PAGE, 0));
    EXPECT_OK(zx_pager_query_vmo_stats(f.pager, f.vmo, 0, &s, sizeof(s)));
    EXPECT_EQ(s.modified, 0u);  // supplying is not a change
    EXPECT_OK(zx_vmo_write(f.vmo, "m", 0, 1));
    EXPECT_OK(zx_pager_query_vmo_stats(f.pager, f.vmo, ZX_PAGER_RESET_VMO_STATS, &s, sizeof(s)));
    EXPECT_EQ(s.modified, ZX_PAGER_VMO_STATS_MODIFIED);
    EXPECT_OK(zx_pager_query_vmo_stats(f.pager, f.vmo, 0, &s, sizeof(s)));
    EXPECT_EQ(s.modified, 0u);
    EXPECT_OK(zx_vmo_set_size(f.vmo, 3 * PAGE));
    EXPECT_OK(zx_pager_query_vmo_stats(f.pager, f.vmo, 0, &s, sizeof(s)));
    EXPECT_EQ(s.modified, ZX_PAGER_VMO_STATS_MODIFIED);
    pf_close(&g);
    pf_close(&f);
}

// ---- Children ----

#define ALOW ZX_VMO_CHILD_SNAPSHOT_AT_LEAST_ON_WRITE

TEST(children_of_pager_vmos) {
    struct pf f;
    pf_make(&f, 0, 4 * PAGE);
    zx_handle_t c;
    EXPECT_STATUS(zx_vmo_create_child(f.vmo, ZX_VMO_CHILD_SNAPSHOT, 0, PAGE, &c),
                  ZX_ERR_NOT_SUPPORTED);
    // Nor of an AT_LEAST_ON_WRITE clone: it too reads the pager's pages in place.
    zx_handle_t alow = ut_child(f.vmo, ALOW, 0, PAGE);
    EXPECT_STATUS(zx_vmo_create_child(alow, ZX_VMO_CHILD_SNAPSHOT, 0, PAGE, &c),
                  ZX_ERR_NOT_SUPPORTED);
    zx_handle_close(alow);
    zx_handle_t s = ut_child(f.vmo, ZX_VMO_CHILD_SLICE, 2 * PAGE, 2 * PAGE);
    struct access a = {.vmo = s, .offset = PAGE, .len = PAGE};
    struct ut_thread t;
    REQUIRE_TRUE(spawn_access(&t, &a, 0));
    expect_request(&f, ZX_PAGER_VMO_READ, 3 * PAGE, PAGE, 5000);
    EXPECT_OK(supply(&f, 3 * PAGE, PAGE, 0x50));
    EXPECT_TRUE(ut_thread_join(&t, 10000));
    EXPECT_EQ(a.byte, 0x53);
    // A slice's writes dirty the pager VMO; a slice is not the pager's VMO for its calls.
    EXPECT_OK(zx_vmo_write(s, "s", PAGE, 1));
    zx_vmo_dirty_range_t r[2];
    REQUIRE_EQ(dirty_ranges(&f, 4 * PAGE, r, 2), 1u);
    range_is(&r[0], 3 * PAGE, PAGE, 0);
    EXPECT_STATUS(zx_pager_op_range(f.pager, ZX_PAGER_OP_DIRTY, s, 0, PAGE, 0),
                  ZX_ERR_INVALID_ARGS);
    zx_handle_close(s);
    pf_close(&f);
}

// AT_LEAST_ON_WRITE clones read the pager's pages through the pager VMO, asking for the missing
// ones (root offsets: the clone's plus its offset), and copy what they write.
TEST(clone_reads_ask_the_pager_through_the_parent) {
    struct pf f;
    pf_make(&f, 0, 6 * PAGE);
    zx_handle_t c = ut_child(f.vmo, ALOW, PAGE, 4 * PAGE);
    REQUIRE_TRUE(c != ZX_HANDLE_INVALID);
    expect_no_packet(&f);  // creating a clone asks for nothing
    EXPECT_EQ(ut_vmo_info(c).flags & ZX_INFO_VMO_PAGER_BACKED, ZX_INFO_VMO_PAGER_BACKED);
    // A read of clone pages [1, 3) is root pages [2, 4): one request for that run.
    struct access a = {.vmo = c, .offset = PAGE, .len = 2 * PAGE};
    struct ut_thread t;
    REQUIRE_TRUE(spawn_access(&t, &a, 0));
    expect_request(&f, ZX_PAGER_VMO_READ, 2 * PAGE, 2 * PAGE, 5000);
    EXPECT_FALSE(access_done(&a));
    EXPECT_OK(supply(&f, 2 * PAGE, 2 * PAGE, 0x20));
    EXPECT_TRUE(ut_thread_join(&t, 10000));
    EXPECT_OK(a.status);
    EXPECT_EQ(a.byte, 0x22);
    EXPECT_EQ(ut_vmo_byte(c, 2 * PAGE), 0x23);
    // The pages are the pager VMO's: supplied Clean there, nothing committed in the clone.
    EXPECT_EQ(ut_committed(f.vmo), 2 * PAGE);
    EXPECT_EQ(ut_committed(c), 0u);
    // A fault through a read-only mapping of the clone asks the same way.
    uintptr_t addr = ut_map(c, 0, 4 * PAGE, ZX_VM_PERM_READ);
    REQUIRE_TRUE(addr != 0);
    a = (struct access){.addr = addr + 3 * PAGE};
    REQUIRE_TRUE(spawn_access(&t, &a, 0));
    expect_request(&f, ZX_PAGER_VMO_READ, 4 * PAGE, PAGE, 5000);
    EXPECT_OK(supply(&f, 4 * PAGE, PAGE, 0x20));
    EXPECT_TRUE(ut_thread_join(&t, 10000));
    EXPECT_EQ(a.byte, 0x24);
    // Supplied pages are never asked for again, by the clone or the parent.
    EXPECT_EQ(*(volatile uint8_t *)(addr + PAGE), 0x22);
    EXPECT_EQ(ut_vmo_byte(f.vmo, 4 * PAGE), 0x24);
    expect_no_packet(&f);
    // A missing page nobody supplies: FAIL reaches the clone's reader with its status.
    a = (struct access){.vmo = c, .offset = 0, .len = PAGE};
    REQUIRE_TRUE(spawn_access(&t, &a, 0));
    expect_request(&f, ZX_PAGER_VMO_READ, PAGE, PAGE, 5000);
    EXPECT_OK(zx_pager_op_range(f.pager, ZX_PAGER_OP_FAIL, f.vmo, PAGE, PAGE,
                                (uint64_t)(int64_t)ZX_ERR_IO));
    EXPECT_TRUE(ut_thread_join(&t, 10000));
    EXPECT_STATUS(a.status, ZX_ERR_IO);
    ut_unmap(addr, 4 * PAGE);
    zx_handle_close(c);
    pf_close(&f);
}

// A clone's access over several missing runs asks for all of them at once, as the pager VMO's own
// accesses do: one request per missing run, every one sent before the first supply.
TEST(clone_asks_for_every_missing_run_at_once) {
    struct pf f;
    pf_make(&f, 0, 8 * PAGE);
    EXPECT_OK(supply(&f, 2 * PAGE, PAGE, 0x30));
    zx_handle_t c = ut_child(f.vmo, ALOW, 0, 8 * PAGE);
    REQUIRE_TRUE(c != ZX_HANDLE_INVALID);
    // The clone's own zero page 5 hides the root there: the clone reaches root [0, 5) and [6, 8),
    // of which [0, 2), [3, 5) and [6, 8) are missing.
    EXPECT_OK(zx_vmo_op_range(c, ZX_VMO_OP_ZERO, 5 * PAGE, PAGE, NULL, 0));
    expect_no_packet(&f);
    struct access a = {.vmo = c, .offset = 0, .len = 8 * PAGE};
    struct ut_thread t;
    REQUIRE_TRUE(spawn_access(&t, &a, 0));
    expect_request(&f, ZX_PAGER_VMO_READ, 0, 2 * PAGE, 5000);
    expect_request(&f, ZX_PAGER_VMO_READ, 3 * PAGE, 2 * PAGE, 5000);
    expect_request(&f, ZX_PAGER_VMO_READ, 6 * PAGE, 2 * PAGE, 5000);
    EXPECT_FALSE(access_done(&a));
    EXPECT_OK(supply(&f, 6 * PAGE, 2 * PAGE, 0x30));
    EXPECT_OK(supply(&f, 3 * PAGE, 2 * PAGE, 0x30));
    EXPECT_FALSE(access_done(&a));  // waits for the first run still
    EXPECT_OK(supply(&f, 0, 2 * PAGE, 0x30));
    EXPECT_TRUE(ut_thread_join(&t, 10000));
    EXPECT_OK(a.status);
    EXPECT_EQ(a.byte, 0x30);
    EXPECT_EQ(ut_vmo_byte(c, 5 * PAGE), 0);
    EXPECT_EQ(ut_vmo_byte(c, 7 * PAGE), 0x37);
    expect_no_packet(&f);  // nothing asked for twice
    zx_handle_close(c);
    pf_close(&f);
}

TEST(clone_writes_copy_and_never_dirty_the_parent) {
    struct pf f;
    pf_make(&f, ZX_VMO_TRAP_DIRTY, 4 * PAGE);
    EXPECT_OK(supply(&f, 0, 4 * PAGE, 0x30));
    zx_handle_t c = ut_child(f.vmo, ALOW, 0, 4 * PAGE);
    uintptr_t addr = ut_map(c, 0, 4 * PAGE, ZX_VM_PERM_READ | ZX_VM_PERM_WRITE);
    REQUIRE_TRUE(addr != 0);
    EXPECT_EQ(*(volatile uint8_t *)addr, 0x30);  // maps the pager VMO's page, read-only
    // Writes to the clone (through the mapping and vmo_write) copy: no DIRTY request even with
    // TRAP_DIRTY, the pager VMO's pages stay Clean and unmodified.
    *(volatile uint8_t *)addr = 0x99;
    EXPECT_OK(zx_vmo_write(c, "w", 2 * PAGE, 1));
    expect_no_packet(&f);
    EXPECT_EQ(*(volatile uint8_t *)addr, 0x99);
    EXPECT_EQ(ut_vmo_byte(c, 2 * PAGE), 'w');
    EXPECT_EQ(ut_vmo_byte(f.vmo, 0), 0x30);
    EXPECT_EQ(ut_vmo_byte(f.vmo, 2 * PAGE), 0x32);
    zx_vmo_dirty_range_t r[2];
    EXPECT_EQ(dirty_ranges(&f, 4 * PAGE, r, 2), 0u);
    zx_pager_vmo_stats_t st;
    EXPECT_OK(zx_pager_query_vmo_stats(f.pager, f.vmo, 0, &st, sizeof(st)));
    EXPECT_EQ(st.modified, 0u);
    EXPECT_EQ(ut_committed(c), 2 * PAGE);
    EXPECT_EQ(ut_committed(f.vmo), 4 * PAGE);
    // A write to the parent (after OP_DIRTY) shows in the clone where the clone wrote nothing
    // (at least on write: the clone is not a snapshot), never where it did.
    struct access a = {.vmo = f.vmo, .offset = PAGE, .len = 1, .write = true};
    struct ut_thread t;
    REQUIRE_TRUE(spawn_access(&t, &a, 0));
    expect_request(&f, ZX_PAGER_VMO_DIRTY, PAGE, PAGE, 5000);
    EXPECT_OK(zx_pager_op_range(f.pager, ZX_PAGER_OP_DIRTY, f.vmo, PAGE, PAGE, 0));
    EXPECT_TRUE(ut_thread_join(&t, 10000));
    EXPECT_OK(a.status);
    EXPECT_EQ(*(volatile uint8_t *)(addr + PAGE), 0x77);
    a = (struct access){.vmo = f.vmo, .offset = 0, .len = 1, .write = true};
    REQUIRE_TRUE(spawn_access(&t, &a, 0));
    expect_request(&f, ZX_PAGER_VMO_DIRTY, 0, PAGE, 5000);
    EXPECT_OK(zx_pager_op_range(f.pager, ZX_PAGER_OP_DIRTY, f.vmo, 0, PAGE, 0));
    EXPECT_TRUE(ut_thread_join(&t, 10000));
    EXPECT_EQ(*(volatile uint8_t *)addr, 0x99);
    ut_unmap(addr, 4 * PAGE);
    zx_handle_close(c);
    pf_close(&f);
}

TEST(clone_write_to_a_missing_page_asks_first) {
    struct pf f;
    pf_make(&f, 0, 2 * PAGE);
    zx_handle_t c = ut_child(f.vmo, ALOW, 0, 2 * PAGE);
    uintptr_t addr = ut_map(c, 0, 2 * PAGE, ZX_VM_PERM_READ | ZX_VM_PERM_WRITE);
    REQUIRE_TRUE(addr != 0);
    // The copy needs the pager's content: a READ request (never DIRTY), then the write lands in
    // the clone's own copy, beside the pager's bytes.
    struct access a = {.addr = addr + PAGE + 7, .write = true};
    struct ut_thread t;
    REQUIRE_TRUE(spawn_access(&t, &a, 0));
    expect_request(&f, ZX_PAGER_VMO_READ, PAGE, PAGE, 5000);
    zx_handle_t aux = ut_vmo(PAGE, 0x61);
    EXPECT_OK(zx_pager_supply_pages(f.pager, f.vmo, PAGE, PAGE, aux, 0));
    zx_handle_close(aux);
    EXPECT_TRUE(ut_thread_join(&t, 10000));
    EXPECT_EQ(a.byte, 0x77);
    EXPECT_EQ(ut_vmo_byte(c, PAGE), 0x61);
    EXPECT_EQ(ut_vmo_byte(c, PAGE + 7), 0x77);
    EXPECT_EQ(ut_vmo_byte(f.vmo, PAGE + 7), 0x61);
    zx_vmo_dirty_range_t r[2];
    EXPECT_EQ(dirty_ranges(&f, 2 * PAGE, r, 2), 0u);
    EXPECT_EQ(ut_committed(c), PAGE);
    expect_no_packet(&f);
    ut_unmap(addr, 2 * PAGE);
    zx_handle_close(c);
    pf_close(&f);
}

TEST(clone_errors_and_detach) {
    struct pf f;
    pf_make(&f, ZX_VMO_RESIZABLE, 4 * PAGE);
    zx_handle_t c = ut_child(f.vmo, ALOW | ZX_VMO_CHILD_RESIZABLE, 0, 4 * PAGE);
    REQUIRE_TRUE(c != ZX_HANDLE_INVALID);
    // A clone is not the pager's VMO: every pager call on it is INVALID_ARGS.
    zx_handle_t aux = ut_vmo(PAGE, 1);
    EXPECT_STATUS(zx_pager_supply_pages(f.pager, c, 0, PAGE, aux, 0), ZX_ERR_INVALID_ARGS);
    zx_handle_close(aux);
    EXPECT_STATUS(zx_pager_op_range(f.pager, ZX_PAGER_OP_FAIL, c, 0, PAGE,
                                    (uint64_t)(int64_t)ZX_ERR_IO),
                  ZX_ERR_INVALID_ARGS);
    EXPECT_STATUS(zx_pager_op_range(f.pager, ZX_PAGER_OP_WRITEBACK_BEGIN, c, 0, PAGE, 0),
                  ZX_ERR_INVALID_ARGS);
    zx_vmo_dirty_range_t r[2];
    size_t actual;
    EXPECT_STATUS(zx_pager_query_dirty_ranges(f.pager, c, 0, PAGE, r, sizeof(r), &actual, NULL),
                  ZX_ERR_INVALID_ARGS);
    zx_pager_vmo_stats_t st;
    EXPECT_STATUS(zx_pager_query_vmo_stats(f.pager, c, 0, &st, sizeof(st)), ZX_ERR_INVALID_ARGS);
    EXPECT_STATUS(zx_pager_detach_vmo(f.pager, c), ZX_ERR_INVALID_ARGS);
    // DECOMMIT stays NOT_SUPPORTED in a pager VMO's tree.
    EXPECT_STATUS(zx_vmo_op_range(c, ZX_VMO_OP_DECOMMIT, 0, PAGE, NULL, 0),
                  ZX_ERR_NOT_SUPPORTED);
    // The clone's ZERO hides the pager's content for good (nothing asked, no page committed).
    EXPECT_OK(zx_vmo_op_range(c, ZX_VMO_OP_ZERO, 0, PAGE, NULL, 0));
    expect_no_packet(&f);
    EXPECT_EQ(ut_vmo_byte(c, 0), 0);
    EXPECT_OK(supply(&f, 0, 2 * PAGE, 0x40));
    EXPECT_EQ(ut_vmo_byte(c, 0), 0);
    EXPECT_EQ(ut_vmo_byte(c, PAGE), 0x41);
    // The clone shrinks and grows: past its old end it reads zero, asking nothing.
    EXPECT_OK(zx_vmo_set_size(c, PAGE + 100));
    EXPECT_EQ(ut_vmo_byte(c, PAGE + 99), 0);  // byte 99 of the pager's page 1 (0 past byte 0)
    EXPECT_EQ(ut_vmo_byte(c, PAGE), 0x41);
    EXPECT_OK(zx_vmo_set_size(c, 4 * PAGE));
    EXPECT_EQ(ut_vmo_byte(c, 3 * PAGE), 0);
    expect_no_packet(&f);
    // Detached: the clone's access to a missing page fails at once with BAD_STATE; what was
    // supplied still reads.
    EXPECT_OK(zx_pager_detach_vmo(f.pager, f.vmo));
    zx_port_packet_t pkt;
    EXPECT_OK(next_packet(&f, 1000, &pkt));
    EXPECT_EQ(pkt.page_request.command, ZX_PAGER_VMO_COMPLETE);
    zx_handle_t c2 = ut_child(f.vmo, ALOW, 0, 4 * PAGE);
    uint8_t b;
    EXPECT_STATUS(zx_vmo_read(c2, &b, 2 * PAGE, 1), ZX_ERR_BAD_STATE);
    EXPECT_EQ(ut_vmo_byte(c2, PAGE), 0x41);
    zx_handle_close(c2);
    zx_handle_close(c);
    pf_close(&f);
}

TEST(parent_zero_eviction_and_shrink_reach_clone_mappings) {
    struct pf f;
    pf_make(&f, ZX_VMO_RESIZABLE, 4 * PAGE);
    EXPECT_OK(supply(&f, 0, 4 * PAGE, 0x50));
    zx_handle_t c = ut_child(f.vmo, ALOW, 0, 4 * PAGE);
    uintptr_t addr = ut_map(c, 0, 4 * PAGE, ZX_VM_PERM_READ);
    REQUIRE_TRUE(addr != 0);
    volatile uint8_t *m = (volatile uint8_t *)addr;
    EXPECT_EQ(m[PAGE], 0x51);  // the clone's mapping now shows the pager VMO's pages
    EXPECT_EQ(m[3 * PAGE], 0x53);
    // ZERO on the parent frees its page: the clone's mapping must not keep showing it.
    EXPECT_OK(zx_vmo_op_range(f.vmo, ZX_VMO_OP_ZERO, PAGE, PAGE, NULL, 0));
    EXPECT_EQ(m[PAGE], 0);
    // A parent page written where the clone mapped zeros: the clone sees the new page.
    EXPECT_OK(zx_vmo_write(f.vmo, "z", PAGE, 1));
    EXPECT_EQ(m[PAGE], 'z');
    // The parent shrinks: the clone reads zero past its end, even once it grows again.
    EXPECT_OK(zx_vmo_set_size(f.vmo, 3 * PAGE));
    EXPECT_EQ(m[3 * PAGE], 0);
    EXPECT_OK(zx_vmo_set_size(f.vmo, 4 * PAGE));
    EXPECT_EQ(m[3 * PAGE], 0);
    EXPECT_EQ(ut_vmo_byte(c, 3 * PAGE), 0);
    expect_no_packet(&f);
    EXPECT_EQ(m[2 * PAGE], 0x52);
    ut_unmap(addr, 4 * PAGE);
    zx_handle_close(c);
    pf_close(&f);
}

// A clone of a clone reads the pager VMO through a hidden node; once it has looked (and cached
// the way up), the pager VMO shrinks and grows, and writes where it grew: the clone must read
// zero there, not the new page.
TEST(clone_of_clone_reads_zero_past_a_parent_shrink) {
    struct pf f;
    pf_make(&f, ZX_VMO_RESIZABLE, 4 * PAGE);
    EXPECT_OK(supply(&f, 0, 4 * PAGE, 0x20));
    zx_handle_t c = ut_child(f.vmo, ALOW, 0, 4 * PAGE);
    EXPECT_OK(zx_vmo_write(c, "c", 0, 1));  // c owns a page: its snapshot gets a hidden node
    zx_handle_t g = ut_child(c, ALOW, 0, 4 * PAGE);
    EXPECT_EQ(ut_vmo_byte(g, 3 * PAGE), 0x23);
    EXPECT_EQ(ut_vmo_byte(g, 3 * PAGE), 0x23);
    EXPECT_OK(zx_vmo_set_size(f.vmo, 2 * PAGE));
    EXPECT_OK(zx_vmo_set_size(f.vmo, 4 * PAGE));
    EXPECT_OK(zx_vmo_write(f.vmo, "p", 3 * PAGE, 1));
    EXPECT_EQ(ut_vmo_byte(g, 3 * PAGE), 0);
    EXPECT_EQ(ut_vmo_byte(c, 3 * PAGE), 0);
    EXPECT_EQ(ut_vmo_byte(g, 0), 'c');
    EXPECT_EQ(ut_vmo_byte(g, PAGE), 0x21);
    expect_no_packet(&f);
    zx_handle_close(g);
    zx_handle_close(c);
    pf_close(&f);
}

TEST(clones_of_clones) {
    struct pf f;
    pf_make(&f, 0, 4 * PAGE);
    EXPECT_OK(supply(&f, 0, PAGE, 0x60));
    zx_handle_t c = ut_child(f.vmo, ALOW, 0, 4 * PAGE);
    EXPECT_OK(zx_vmo_write(c, "c", 0, 1));
    zx_handle_t g = ut_child(c, ALOW, 0, 4 * PAGE);
    REQUIRE_TRUE(g != ZX_HANDLE_INVALID);
    EXPECT_EQ(ut_vmo_byte(g, 0), 'c');  // the clone's own page
    // A missing page asked for through two levels.
    struct access a = {.vmo = g, .offset = 2 * PAGE, .len = PAGE};
    struct ut_thread t;
    REQUIRE_TRUE(spawn_access(&t, &a, 0));
    expect_request(&f, ZX_PAGER_VMO_READ, 2 * PAGE, PAGE, 5000);
    EXPECT_OK(supply(&f, 2 * PAGE, PAGE, 0x60));
    EXPECT_TRUE(ut_thread_join(&t, 10000));
    EXPECT_EQ(a.byte, 0x62);
    // Writes stay where they are made.
    EXPECT_OK(zx_vmo_write(g, "g", 0, 1));
    EXPECT_OK(zx_vmo_write(c, "C", 2 * PAGE, 1));
    EXPECT_EQ(ut_vmo_byte(c, 0), 'c');
    EXPECT_EQ(ut_vmo_byte(g, 0), 'g');
    EXPECT_EQ(ut_vmo_byte(f.vmo, 0), 0x60);
    EXPECT_EQ(ut_vmo_byte(f.vmo, 2 * PAGE), 0x62);
    // The first clone goes; the second still reads through to the pager VMO.
    zx_handle_close(c);
    EXPECT_EQ(ut_vmo_byte(g, 0), 'g');
    EXPECT_EQ(ut_vmo_byte(g, 2 * PAGE), 0x62);
    a = (struct access){.vmo = g, .offset = 3 * PAGE, .len = PAGE};
    REQUIRE_TRUE(spawn_access(&t, &a, 0));
    expect_request(&f, ZX_PAGER_VMO_READ, 3 * PAGE, PAGE, 5000);
    EXPECT_OK(supply(&f, 3 * PAGE, PAGE, 0x60));
    EXPECT_TRUE(ut_thread_join(&t, 10000));
    EXPECT_EQ(a.byte, 0x63);
    // The pager VMO's handle goes before the clone: the clone keeps it (and its pager) alive.
    zx_handle_close(f.vmo);
    f.vmo = ZX_HANDLE_INVALID;
    EXPECT_EQ(ut_vmo_byte(g, 3 * PAGE), 0x63);
    a = (struct access){.vmo = g, .offset = PAGE, .len = PAGE};
    REQUIRE_TRUE(spawn_access(&t, &a, 0));
    zx_port_packet_t pkt;
    EXPECT_OK(next_packet(&f, 5000, &pkt));
    EXPECT_EQ(pkt.page_request.command, ZX_PAGER_VMO_READ);
    EXPECT_EQ(pkt.page_request.offset, PAGE);
    // (Supplying needs the pager VMO's handle, gone: FAIL is not possible either; closing the
    // pager detaches, which releases the reader with BAD_STATE.)
    zx_handle_close(f.pager);
    f.pager = ZX_HANDLE_INVALID;
    EXPECT_TRUE(ut_thread_join(&t, 10000));
    EXPECT_STATUS(a.status, ZX_ERR_BAD_STATE);
    zx_handle_close(g);
    pf_close(&f);
}

// ---- Concurrency ----

static volatile int go;

static void touch_when_told(uintptr_t a1, uintptr_t a2) {
    while (!__atomic_load_n(&go, __ATOMIC_ACQUIRE))
        ;
    struct access *a = (struct access *)a1;
    (void)a2;
    a->byte = *(volatile uint8_t *)a->addr;
    __atomic_store_n(&a->done, 1, __ATOMIC_RELEASE);
    zx_thread_exit();
}

TEST(two_cpus_one_missing_page_one_request) {
    for (int round = 0; round < 8; round++) {
        struct pf f;
        pf_make(&f, 0, PAGE);
        uintptr_t addr = ut_map(f.vmo, 0, PAGE, ZX_VM_PERM_READ);
        struct access a[2] = {{.addr = addr}, {.addr = addr}};
        struct ut_thread t[2];
        go = 0;
        for (int i = 0; i < 2; i++)
            REQUIRE_OK(ut_thread_spawn(&t[i], touch_when_told, (uintptr_t)&a[i], 0));
        zx_nanosleep(ut_deadline_after(5 * MS));
        __atomic_store_n(&go, 1, __ATOMIC_RELEASE);
        expect_request(&f, ZX_PAGER_VMO_READ, 0, PAGE, 5000);
        zx_nanosleep(ut_deadline_after(20 * MS));
        expect_no_packet(&f);
        EXPECT_OK(supply(&f, 0, PAGE, 9));
        for (int i = 0; i < 2; i++) {
            EXPECT_TRUE(ut_thread_join(&t[i], 10000));
            EXPECT_EQ(a[i].byte, 9);
        }
        ut_unmap(addr, PAGE);
        pf_close(&f);
    }
}

// A clone and its parent on two CPUs faulting the same missing pager page: one request.
TEST(clone_and_parent_fault_one_missing_page_one_request) {
    for (int round = 0; round < 4; round++) {
        struct pf f;
        pf_make(&f, 0, 2 * PAGE);
        zx_handle_t c = ut_child(f.vmo, ALOW, PAGE, PAGE);
        uintptr_t pa = ut_map(f.vmo, 0, 2 * PAGE, ZX_VM_PERM_READ);
        uintptr_t ca = ut_map(c, 0, PAGE, ZX_VM_PERM_READ);
        struct access a[2] = {{.addr = pa + PAGE}, {.addr = ca}};
        struct ut_thread t[2];
        go = 0;
        for (int i = 0; i < 2; i++)
            REQUIRE_OK(ut_thread_spawn(&t[i], touch_when_told, (uintptr_t)&a[i], 0));
        zx_nanosleep(ut_deadline_after(5 * MS));
        __atomic_store_n(&go, 1, __ATOMIC_RELEASE);
        expect_request(&f, ZX_PAGER_VMO_READ, PAGE, PAGE, 5000);
        zx_nanosleep(ut_deadline_after(20 * MS));
        expect_no_packet(&f);
        EXPECT_OK(supply(&f, PAGE, PAGE, 0x70));
        for (int i = 0; i < 2; i++) {
            EXPECT_TRUE(ut_thread_join(&t[i], 10000));
            EXPECT_EQ(a[i].byte, 0x71);
        }
        ut_unmap(pa, 2 * PAGE);
        ut_unmap(ca, PAGE);
        zx_handle_close(c);
        pf_close(&f);
    }
}

// ---- The model: random operations against per-page states ----

enum mstate { M_MISSING, M_CLEAN, M_DIRTY, M_AWAITING };
#define MODEL_PAGES 24

struct model {
    uint8_t state[MODEL_PAGES];
    bool zero[MODEL_PAGES];  // zero content (no page): reported with IS_ZERO
    uint8_t byte[MODEL_PAGES];  // byte 0 of each page's content (when not missing)
    uint64_t pages;          // the size
    bool detached;
    // An AT_LEAST_ON_WRITE clone of the whole VMO (MODEL_PAGES pages): its own pages, and the
    // pages it still sees the pager VMO's through (its window, clamped by every shrink).
    zx_handle_t clone;
    bool own[MODEL_PAGES];
    uint8_t cbyte[MODEL_PAGES];
    uint64_t window;
};

// The clone's byte 0 of page p as the model has it; false if reading it would wait for the
// pager (a missing page it sees through), or fail (detached).
static bool model_clone_byte(const struct model *m, uint64_t p, uint8_t *out) {
    if (m->own[p]) {
        *out = m->cbyte[p];
        return true;
    }
    if (p >= m->window) {
        *out = 0;
        return true;
    }
    if (m->state[p] == M_MISSING)
        return false;
    *out = m->byte[p];
    return true;
}

// Every page of the clone that can be read without the pager reads what the model says.
static bool model_check_clone(struct model *m, int step) {
    if (m->clone == ZX_HANDLE_INVALID)
        return true;
    for (uint64_t p = 0; p < MODEL_PAGES; p++) {
        uint8_t want, got = 0xee;
        if (!model_clone_byte(m, p, &want))
            continue;
        if (!EXPECT_OK(zx_vmo_read(m->clone, &got, p * PAGE, 1)) || got != want) {
            EXPECT_FAILF("step %d: clone page %llu reads %#x, model %#x", step,
                         (unsigned long long)p, got, want);
            return false;
        }
    }
    return true;
}

static uint64_t rng_state;
static uint32_t rnd(uint32_t n) {
    rng_state = rng_state * 6364136223846793005ull + 1442695040888963407ull;
    return (uint32_t)(rng_state >> 33) % n;
}

// Compares query_dirty_ranges with the model's dirty runs.
static bool model_check(struct pf *f, struct model *m, int step) {
    zx_vmo_dirty_range_t got[MODEL_PAGES];
    size_t n = 0, avail = 0;
    if (!EXPECT_OK(zx_pager_query_dirty_ranges(f->pager, f->vmo, 0, m->pages * PAGE, got,
                                               sizeof(got), &n, &avail)))
        return false;
    zx_vmo_dirty_range_t want[MODEL_PAGES];
    size_t w = 0;
    for (uint64_t p = 0; p < m->pages; p++) {
        bool dirty = m->state[p] == M_DIRTY || m->state[p] == M_AWAITING;
        if (!dirty)
            continue;
        uint64_t opt = m->zero[p] ? ZX_VMO_DIRTY_RANGE_IS_ZERO : 0;
        if (w > 0 && want[w - 1].offset + want[w - 1].length == p * PAGE &&
            want[w - 1].options == opt)
            want[w - 1].length += PAGE;
        else
            want[w++] = (zx_vmo_dirty_range_t){p * PAGE, PAGE, opt};
    }
    bool ok = n == w;
    for (size_t i = 0; ok && i < n; i++)
        ok = got[i].offset == want[i].offset && got[i].length == want[i].length &&
             got[i].options == want[i].options;
    if (!ok) {
        EXPECT_FAILF("step %d: %zu ranges, model %zu", step, n, w);
        for (size_t i = 0; i < n; i++)
            EXPECT_FAILF("  got [%llu, +%llu) opt %llu", (unsigned long long)got[i].offset / PAGE,
                         (unsigned long long)got[i].length / PAGE,
                         (unsigned long long)got[i].options);
        for (size_t i = 0; i < w; i++)
            EXPECT_FAILF("  want [%llu, +%llu) opt %llu",
                         (unsigned long long)want[i].offset / PAGE,
                         (unsigned long long)want[i].length / PAGE,
                         (unsigned long long)want[i].options);
    }
    return ok;
}

static void model_run(uint64_t seed, int steps) {
    rng_state = seed;
    struct pf f;
    pf_make(&f, ZX_VMO_RESIZABLE, 16 * PAGE);
    struct model m = {.pages = 16, .clone = ZX_HANDLE_INVALID};
    for (int step = 0; step < steps; step++) {
        uint32_t a = rnd(m.pages), len = 1 + rnd(m.pages - a);
        uint32_t op = rnd(10);
        bool any_missing = false;
        for (uint32_t p = a; p < a + len; p++)
            any_missing |= m.state[p] == M_MISSING;
        switch (op) {
        case 0: {  // supply (zeros for half the runs)
            zx_handle_t aux = ut_vmo(len * PAGE, rnd(2) ? 0x11 : -1);
            bool zeros = ut_committed(aux) == 0;
            zx_status_t st = zx_pager_supply_pages(f.pager, f.vmo, a * PAGE, len * PAGE, aux, 0);
            zx_handle_close(aux);
            if (m.detached) {
                EXPECT_STATUS(st, ZX_ERR_BAD_STATE);
                break;
            }
            EXPECT_OK(st);
            for (uint32_t p = a; p < a + len; p++) {
                if (m.state[p] == M_MISSING) {
                    m.state[p] = M_CLEAN;
                    m.zero[p] = zeros;
                    m.byte[p] = zeros ? 0 : 0x11;
                }
            }
            break;
        }
        case 1: {  // write (only where everything is supplied: a write to a missing page waits)
            if (any_missing)
                break;
            EXPECT_OK(zx_vmo_write(f.vmo, "w", a * PAGE, 1));
            m.state[a] = M_DIRTY;
            m.zero[a] = false;
            m.byte[a] = 'w';
            break;
        }
        case 2:
            EXPECT_OK(zx_pager_op_range(f.pager, ZX_PAGER_OP_WRITEBACK_BEGIN, f.vmo, a * PAGE,
                                        len * PAGE, 0));
            for (uint32_t p = a; p < a + len; p++)
                if (m.state[p] == M_DIRTY)
                    m.state[p] = M_AWAITING;
            break;
        case 3:
            EXPECT_OK(zx_pager_op_range(f.pager, ZX_PAGER_OP_WRITEBACK_END, f.vmo, a * PAGE,
                                        len * PAGE, 0));
            for (uint32_t p = a; p < a + len; p++)
                if (m.state[p] == M_AWAITING)
                    m.state[p] = M_CLEAN;
            break;
        case 4: {  // resize
            uint32_t np = 1 + rnd(MODEL_PAGES);
            EXPECT_OK(zx_vmo_set_size(f.vmo, np * PAGE));
            for (uint32_t p = m.pages; p < np; p++) {
                m.state[p] = M_DIRTY;
                m.zero[p] = true;
                m.byte[p] = 0;
            }
            m.pages = np;
            if (np < m.window)
                m.window = np;  // the clone reads zero past the shrink, even after a grow
            break;
        }
        case 5:  // ZERO over whole pages
            if (any_missing && m.detached)
                break;
            EXPECT_OK(zx_vmo_op_range(f.vmo, ZX_VMO_OP_ZERO, a * PAGE, len * PAGE, NULL, 0));
            for (uint32_t p = a; p < a + len; p++) {
                m.state[p] = M_DIRTY;
                m.zero[p] = true;
                m.byte[p] = 0;
            }
            break;
        case 6:  // FAIL: nothing waits, so nothing changes
            EXPECT_STATUS(zx_pager_op_range(f.pager, ZX_PAGER_OP_FAIL, f.vmo, a * PAGE,
                                            len * PAGE, (uint64_t)(int64_t)ZX_ERR_IO),
                          m.detached ? ZX_ERR_BAD_STATE : ZX_OK);
            break;
        case 7:
            if (rnd(8) == 0) {
                EXPECT_OK(zx_pager_detach_vmo(f.pager, f.vmo));
                m.detached = true;
            } else if (!m.detached) {
                zx_status_t st =
                    zx_pager_op_range(f.pager, ZX_PAGER_OP_DIRTY, f.vmo, a * PAGE, len * PAGE, 0);
                EXPECT_STATUS(st, any_missing ? ZX_ERR_NOT_FOUND : ZX_OK);
                if (!any_missing)
                    for (uint32_t p = a; p < a + len; p++)
                        m.state[p] = M_DIRTY;
            }
            break;
        case 8:  // a new clone (the old one goes)
            zx_handle_close(m.clone);
            m.clone = ut_child(f.vmo, ZX_VMO_CHILD_SNAPSHOT_AT_LEAST_ON_WRITE, 0,
                               MODEL_PAGES * PAGE);
            memset(m.own, 0, sizeof(m.own));
            m.window = m.pages;
            break;
        case 9: {  // the clone writes (or ZEROes) a page it can read without waiting
            uint8_t old;
            if (m.clone == ZX_HANDLE_INVALID || !model_clone_byte(&m, a, &old))
                break;
            if (rnd(4) == 0) {
                EXPECT_OK(zx_vmo_op_range(m.clone, ZX_VMO_OP_ZERO, a * PAGE, PAGE, NULL, 0));
                m.cbyte[a] = 0;
            } else {
                uint8_t b = (uint8_t)(0x80 + step % 64);
                EXPECT_OK(zx_vmo_write(m.clone, &b, a * PAGE, 1));
                m.cbyte[a] = b;
            }
            m.own[a] = true;
            break;
        }
        }
        if (!model_check(&f, &m, step) || !model_check_clone(&m, step))
            break;
    }
    zx_handle_close(m.clone);
    zx_port_packet_t pkt;
    while (next_packet(&f, 0, &pkt) == ZX_OK) {
    }
    pf_close(&f);
}

TEST(model_random_operations) {
    for (uint64_t seed = 1; seed <= 12; seed++)
        model_run(seed, 300);
}

UTEST_MAIN(NULL)
