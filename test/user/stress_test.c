// Bounded syscall stress: rounds of random arguments (kernel addresses, non-canonical pointers,
// huge and unaligned sizes, stale and forged handles, random options) thrown at every call, each
// round in its own child process. A round may end early by its own doing (it may kill or fault
// itself); what must hold: every call returns a documented status, the kernel stays alive, and
// once the child is gone every page it used is free again (ZX_INFO_KMEM_STATS.vmo_bytes).
//   stress_test                      the tests
//   stress_test --child random SEED  one round (exit code: the number of undocumented results)
#include <stdio.h>
#include <stdlib.h>

#include <jasper/launch.h>

#include "test/user/utest.h"
#include "ulib/ulib_priv.h"

#define P ((uint64_t)PAGE)
#define ROUNDS 12
#define CALLS_PER_ROUND 2500
#define ARENA_SIZE ((uint64_t)64 << 20)
#define POOL_MAX 48
#define STALE_MAX 32

// A thread entry that needs no stack: zx_thread_exit().
void stress_thread_entry(void);
__asm__(
    ".text\n"
    ".globl stress_thread_entry\n"
    "stress_thread_entry:\n"
    "    mov $27, %eax\n"
    "    syscall\n"
    "    ud2\n");

// ---- The random round (child) ----

static uint64_t rng_state;

static uint64_t rnd(void) {
    uint64_t x = rng_state;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return rng_state = x;
}

static uint64_t pick(uint64_t n) {
    return n ? rnd() % n : 0;
}

static bool chance(int percent) {
    return (int)pick(100) < percent;
}

static zx_handle_t pool[POOL_MAX];
static size_t pool_n;
static zx_handle_t stale[STALE_MAX];
static size_t stale_n;
static zx_handle_t slots[8];
static uintptr_t arena_base;
static zx_handle_t arena;
static uintptr_t hole, ro_page, noaccess_page;
static uint8_t *buf;  // UT_SCRATCH_SIZE bytes with an unmapped page on each side

static void pool_add(zx_handle_t h) {
    if (h == ZX_HANDLE_INVALID)
        return;
    for (size_t i = 0; i < pool_n; i++) {
        if (pool[i] == h)
            return;
    }
    if (pool_n == POOL_MAX) {
        size_t i = pick(POOL_MAX);
        zx_handle_close(pool[i]);
        if (stale_n < STALE_MAX)
            stale[stale_n++] = pool[i];
        pool[i] = h;
        return;
    }
    pool[pool_n++] = h;
}

// Drops handles that are no longer valid (closed, moved, replaced) into the stale list.
static void pool_prune(void) {
    for (size_t i = 0; i < pool_n;) {
        if (!ut_handle_valid(pool[i])) {
            if (stale_n < STALE_MAX)
                stale[stale_n++] = pool[i];
            else
                stale[pick(STALE_MAX)] = pool[i];
            pool[i] = pool[--pool_n];
        } else {
            i++;
        }
    }
}

// Takes a handle found in an output slot: VMARs spanning a whole address space (another process's
// root VMAR, or ours) are closed, so nothing random is ever mapped where code could run.
static void harvest(zx_handle_t h) {
    if ((h & 3) != 3 || !ut_handle_valid(h))
        return;
    // Never our job (killing it would end every process), our process or our thread.
    zx_koid_t koid = ut_koid(h);
    if (ut_type(h) == ZX_OBJ_TYPE_JOB || koid == ut_koid(zx_process_self()) ||
        koid == ut_koid(zx_thread_self())) {
        zx_handle_close(h);
        return;
    }
    zx_info_vmar_t vi;
    if (ut_type(h) == ZX_OBJ_TYPE_VMAR &&
        (zx_object_get_info(h, ZX_INFO_VMAR, &vi, sizeof(vi), NULL, NULL) != ZX_OK ||
         vi.len == ROOT_END - ROOT_BASE)) {
        zx_handle_close(h);
        return;
    }
    pool_add(h);
}

static void refill(void) {
    while (pool_n < 12) {
        zx_handle_t h = ZX_HANDLE_INVALID, h2 = ZX_HANDLE_INVALID;
        switch (pick(5)) {
        case 0:
            zx_vmo_create(pick(16) * P + pick(2), chance(30) ? ZX_VMO_RESIZABLE : 0, &h);
            break;
        case 1:
            zx_channel_create(0, &h, &h2);
            break;
        case 2:
            if (zx_vmo_create(8 * P, 0, &h2) == ZX_OK) {
                zx_vmo_create_child(h2, chance(50) ? ZX_VMO_CHILD_SNAPSHOT : ZX_VMO_CHILD_SLICE,
                                    0, 4 * P, &h);
                if (chance(50)) {
                    pool_add(h2);
                    h2 = ZX_HANDLE_INVALID;
                } else {
                    zx_handle_close(h2);
                    h2 = ZX_HANDLE_INVALID;
                }
            }
            break;
        case 3: {
            zx_vaddr_t a;
            if (arena)
                zx_vmar_allocate(arena,
                                 ZX_VM_CAN_MAP_READ | ZX_VM_CAN_MAP_WRITE | ZX_VM_CAN_MAP_SPECIFIC,
                                 0, (pick(8) + 1) * P, &h, &a);
            break;
        }
        default: {
            zx_handle_t vmar;
            if (zx_process_create(zx_job_default(), "victim", 6, 0, &h, &vmar) == ZX_OK) {
                zx_handle_close(vmar);
                zx_thread_create(h, "t", 1, 0, &h2);
            }
            break;
        }
        }
        pool_add(h);
        pool_add(h2);
        if (h == ZX_HANDLE_INVALID && h2 == ZX_HANDLE_INVALID && chance(10))
            break;  // creation keeps failing (no memory?): go on with what we have
    }
}

enum kind {
    K_NONE,
    K_H,        // a handle
    K_HSAFE,    // a handle, where our own process, thread, root VMAR or job are harmless
    K_RIGHTS,
    K_TOPIC,
    K_PROP,
    K_SIG,
    K_SIZE,
    K_OFF,
    K_VMOOPT,
    K_CHILDOPT,
    K_VMOPT,
    K_OP,
    K_OUTH,     // where a handle is written
    K_OUT,      // any output buffer
    K_IN,       // any input buffer
    K_ADDR,     // an address inside (or around) the arena
    K_ENTRY,
    K_DL,
    K_U32,
    K_U64,
    K_HANDLES,  // an input array of handles
};

static const struct {
    uint8_t nr;
    uint8_t k[8];
} calls[] = {
    {1, {K_H}},
    {2, {K_HSAFE, K_RIGHTS, K_OUTH}},
    {3, {K_H, K_RIGHTS, K_OUTH}},
    {4, {K_HSAFE, K_TOPIC, K_OUT, K_SIZE, K_OUT, K_OUT}},
    {5, {K_HSAFE, K_PROP, K_OUT, K_SIZE}},
    {6, {K_H, K_PROP, K_IN, K_SIZE}},
    {7, {K_HSAFE, K_SIG, K_DL, K_OUT}},
    {8, {K_SIZE, K_VMOOPT, K_OUTH}},
    {9, {K_H, K_OUT, K_OFF, K_SIZE}},
    {10, {K_H, K_IN, K_OFF, K_SIZE}},
    {11, {K_H, K_OUT}},
    {12, {K_H, K_SIZE}},
    {13, {K_H, K_OP, K_OFF, K_SIZE, K_IN, K_SIZE}},
    {14, {K_H, K_CHILDOPT, K_OFF, K_SIZE, K_OUTH}},
    {15, {K_H, K_H, K_OUTH}},
    {16, {K_HSAFE, K_VMOPT, K_OFF, K_SIZE, K_OUTH, K_OUT}},
    {17, {K_H}},
    {18, {K_H, K_VMOPT, K_OFF, K_H, K_OFF, K_SIZE, K_OUT}},
    {19, {K_H, K_ADDR, K_SIZE}},
    {20, {K_H, K_VMOPT, K_ADDR, K_SIZE}},
    {21, {K_H, K_OP, K_ADDR, K_SIZE, K_IN, K_SIZE}},
    {22, {K_HSAFE, K_IN, K_SIZE, K_U32, K_OUTH, K_OUTH}},
    {23, {K_H, K_H, K_ENTRY, K_ADDR, K_H, K_U64}},
    {25, {K_HSAFE, K_IN, K_SIZE, K_U32, K_OUTH}},
    {26, {K_H, K_ENTRY, K_ADDR, K_U64, K_U64}},
    {28, {K_H}},
    {29, {K_NONE}},  // debug_write: special-cased
    {30, {K_NONE}},
    {31, {K_DL}},
    {32, {K_NONE}},
    {33, {K_NONE}},
    {34, {K_U32, K_OUTH, K_OUTH}},
    {35, {K_H, K_U32, K_IN, K_SIZE, K_HANDLES, K_SIZE}},
    {36, {K_H, K_U32, K_OUT, K_OUT, K_SIZE, K_SIZE, K_OUT, K_OUT}},
};

static uint64_t bad_pointer(void) {
    static const uint64_t fixed[] = {0,
                                     0x1000,
                                     ROOT_BASE - P,
                                     ROOT_END,
                                     ROOT_END - 8,
                                     0x0000800000000000ull,
                                     0xdead000000000000ull,
                                     0xffff800000000000ull,
                                     0xffffffff80000000ull,
                                     0xfffffffffffff000ull};
    switch (pick(6)) {
    case 0:
        return fixed[pick(sizeof(fixed) / sizeof(fixed[0]))];
    case 1:
        return hole + pick(16 * P);
    case 2:
        return ro_page + pick(P);
    case 3:
        return noaccess_page + pick(P);
    case 4:
        return (uintptr_t)&stress_thread_entry + pick(64);  // our code: read-only
    default:
        return rnd();
    }
}

static uint64_t pointer(void) {
    if (chance(55))
        return (uintptr_t)buf + (chance(50) ? pick(UT_SCRATCH_SIZE) : 0);
    if (chance(10))
        return arena_base + pick(ARENA_SIZE);
    return bad_pointer();
}

static uint64_t size_value(void) {
    static const uint64_t fixed[] = {0, 1, 7, 8, 31, 32, 4095, 4096, 4097, 8192, 65536, 65537,
                                     1u << 20, 1u << 30, (uint64_t)1 << 40, UINT64_MAX,
                                     UINT64_MAX - 4095, 0x8000000000000000ull, UINT32_MAX};
    switch (pick(4)) {
    case 0:
        return fixed[pick(sizeof(fixed) / sizeof(fixed[0]))];
    case 1:
        return pick(4) * P;
    case 2:
        return pick(300);
    default:
        return chance(50) ? rnd() : rnd() & 0xffffff;
    }
}

static zx_handle_t handle_value(bool self_ok) {
    switch (pick(20)) {
    case 0:
        return stale_n ? stale[pick(stale_n)] : ZX_HANDLE_INVALID;
    case 1:
        return (zx_handle_t)rnd();
    case 2:
        return (zx_handle_t)rnd() | 3;
    case 3:
        return ZX_HANDLE_INVALID;
    case 4:
        if (self_ok) {
            zx_handle_t selves[] = {zx_process_self(), zx_thread_self(), zx_vmar_root_self(),
                                    zx_job_default()};
            return selves[pick(4)];
        }
        return pool_n ? pool[pick(pool_n)] : ZX_HANDLE_INVALID;
    default:
        return pool_n ? pool[pick(pool_n)] : ZX_HANDLE_INVALID;
    }
}

static uint64_t vm_options(void) {
    if (chance(25))
        return (uint32_t)rnd();
    uint64_t o = rnd() & 0x3fff;
    if (chance(30))
        o |= (pick(25) + 8) << ZX_VM_ALIGN_BASE;
    if (chance(60))
        o &= ~(uint64_t)(ZX_VM_SPECIFIC_OVERWRITE);  // keep most maps from replacing others
    return o;
}

static uint64_t arg_value(enum kind k, int slot_i) {
    switch (k) {
    case K_H:
        return handle_value(false);
    case K_HSAFE:
        return handle_value(true);
    case K_RIGHTS:
        return chance(30) ? ZX_RIGHT_SAME_RIGHTS : chance(60) ? rnd() & 0x7ffff : (uint32_t)rnd();
    case K_TOPIC: {
        static const uint32_t topics[] = {ZX_INFO_HANDLE_VALID, ZX_INFO_HANDLE_BASIC,
                                          ZX_INFO_PROCESS,      ZX_INFO_VMAR,
                                          ZX_INFO_PROCESS_MAPS, ZX_INFO_KMEM_STATS,
                                          ZX_INFO_VMO};
        return chance(85) ? topics[pick(7)] : (uint32_t)rnd();
    }
    case K_PROP:
        return chance(45) ? ZX_PROP_NAME : chance(80) ? ZX_PROP_VMO_CONTENT_SIZE : pick(64);
    case K_SIG:
        return chance(70) ? (uint64_t)1 << pick(8) : (uint32_t)rnd();
    case K_SIZE:
        return size_value();
    case K_OFF:
        return chance(50) ? pick(32) * P : size_value();
    case K_VMOOPT:
        return chance(70) ? (chance(50) ? ZX_VMO_RESIZABLE : 0) : (uint32_t)rnd();
    case K_CHILDOPT: {
        static const uint32_t good[] = {ZX_VMO_CHILD_SNAPSHOT,
                                        ZX_VMO_CHILD_SNAPSHOT | ZX_VMO_CHILD_RESIZABLE,
                                        ZX_VMO_CHILD_SNAPSHOT_AT_LEAST_ON_WRITE,
                                        ZX_VMO_CHILD_SLICE,
                                        ZX_VMO_CHILD_SLICE | ZX_VMO_CHILD_NO_WRITE,
                                        ZX_VMO_CHILD_SNAPSHOT | ZX_VMO_CHILD_NO_WRITE};
        return chance(75) ? good[pick(6)] : rnd() & 0x7f;
    }
    case K_VMOPT:
        return vm_options();
    case K_OP:
        return chance(80) ? (uint64_t)(const uint8_t[]){1, 2, 3, 10, 4, 6}[pick(6)] : rnd() & 0xff;
    case K_OUTH:
        return chance(60) ? (uintptr_t)&slots[slot_i & 7] : pointer();
    case K_OUT:
    case K_IN:
        return pointer();
    case K_ADDR:
        if (chance(60))
            return arena_base + pick(ARENA_SIZE / P) * P;
        return chance(50) ? arena_base : bad_pointer();
    case K_ENTRY:
        return chance(50) ? (uintptr_t)&stress_thread_entry : bad_pointer() & ~(uint64_t)0xfff;
    case K_DL: {
        zx_time_t now = zx_clock_get_monotonic();
        switch (pick(5)) {
        case 0:
            return 0;
        case 1:
            return (uint64_t)-1;
        case 2:
            return (uint64_t)INT64_MIN;
        default:
            return (uint64_t)(now + (zx_time_t)pick(2000000));
        }
    }
    case K_U32:
        return chance(60) ? 0 : (uint32_t)rnd();
    case K_U64:
        return rnd();
    case K_HANDLES: {
        if (chance(30))
            return pointer();
        zx_handle_t *hs = (zx_handle_t *)(buf + UT_SCRATCH_SIZE - 64);
        for (int i = 0; i < 8; i++)
            hs[i] = handle_value(false);
        return (uintptr_t)hs;
    }
    case K_NONE:
        break;
    }
    return 0;
}

static bool documented(int64_t st) {
    switch (st) {
    case ZX_OK:
    case ZX_ERR_NOT_SUPPORTED:
    case ZX_ERR_NO_RESOURCES:
    case ZX_ERR_NO_MEMORY:
    case ZX_ERR_INVALID_ARGS:
    case ZX_ERR_BAD_HANDLE:
    case ZX_ERR_WRONG_TYPE:
    case ZX_ERR_OUT_OF_RANGE:
    case ZX_ERR_BUFFER_TOO_SMALL:
    case ZX_ERR_BAD_STATE:
    case ZX_ERR_TIMED_OUT:
    case ZX_ERR_SHOULD_WAIT:
    case ZX_ERR_CANCELED:
    case ZX_ERR_PEER_CLOSED:
    case ZX_ERR_NOT_FOUND:
    case ZX_ERR_ALREADY_EXISTS:
    case ZX_ERR_UNAVAILABLE:
    case ZX_ERR_ACCESS_DENIED:
        return true;
    default:
        return false;
    }
}

static bool round_setup(void) {
    zx_handle_t v;
    zx_vaddr_t a;
    zx_handle_t bvmo, bvmar;
    zx_vaddr_t bbase;
    if (zx_vmar_allocate(zx_vmar_root_self(),
                         ZX_VM_CAN_MAP_READ | ZX_VM_CAN_MAP_WRITE | ZX_VM_CAN_MAP_SPECIFIC, 0,
                         UT_SCRATCH_SIZE + 2 * P, &bvmar, &bbase) != ZX_OK ||
        zx_vmo_create(UT_SCRATCH_SIZE, 0, &bvmo) != ZX_OK ||
        zx_vmar_map(bvmar, ZX_VM_PERM_READ | ZX_VM_PERM_WRITE | ZX_VM_SPECIFIC, P, bvmo, 0,
                    UT_SCRATCH_SIZE, &a) != ZX_OK)
        return false;
    buf = (uint8_t *)a;
    if (zx_vmar_allocate(zx_vmar_root_self(), ZX_VM_CAN_MAP_READ, 0, 16 * P, &v, &a) == ZX_OK)
        hole = a;
    zx_handle_t vmo;
    if (zx_vmo_create(2 * P, 0, &vmo) == ZX_OK) {
        if (zx_vmar_map(zx_vmar_root_self(), ZX_VM_PERM_READ, 0, vmo, 0, P, &a) == ZX_OK)
            ro_page = a;
        if (zx_vmar_map(zx_vmar_root_self(), 0, 0, vmo, P, P, &a) == ZX_OK)
            noaccess_page = a;
        zx_handle_close(vmo);
    }
    if (zx_vmar_allocate(zx_vmar_root_self(),
                         ZX_VM_CAN_MAP_READ | ZX_VM_CAN_MAP_WRITE | ZX_VM_CAN_MAP_EXECUTE |
                             ZX_VM_CAN_MAP_SPECIFIC,
                         0, ARENA_SIZE, &arena, &a) == ZX_OK)
        arena_base = a;
    pool_add(arena);
    return true;
}

static int child_random(int argc, char **argv) {
    uint64_t seed = argc > 1 ? strtoul(argv[1], NULL, 0) : 1;
    rng_state = seed * 0x9e3779b97f4a7c15ull + 1;
    if (!round_setup())
        return 90;
    int bad = 0, calls_made = 0;
    uint64_t by_status[32] = {0};
    for (int i = 0; i < CALLS_PER_ROUND; i++) {
        if (i % 64 == 0) {
            pool_prune();
            refill();
        }
        size_t ci = pick(sizeof(calls) / sizeof(calls[0]));
        uint64_t nr = calls[ci].nr;
        uint64_t a[8] = {0};
        for (int j = 0; j < 8; j++)
            a[j] = arg_value((enum kind)calls[ci].k[j], j);
        // Keep the round bounded in memory and free of garbage on the console.
        if ((nr == 13 || nr == 21) && a[1] == ZX_VMO_OP_COMMIT && a[3] > (1u << 20))
            a[3] = pick(1u << 20);
        if (nr == 29) {  // debug_write: only pointers that cannot be read, or nothing
            static const uint64_t unreadable[] = {0, ROOT_END - 4, 0x0000800000000000ull,
                                                  0xffffffff80000000ull};
            a[0] = chance(50) ? unreadable[pick(4)] : chance(50) ? hole + pick(P) : noaccess_page;
            a[1] = chance(20) ? 0 : 8;
        }
        if (nr == 25 || nr == 22)  // names: short and from our buffer when valid
            a[2] &= 0xff;
        for (int j = 0; j < 8; j++)
            slots[j] = 0xfffffff0u;
        int64_t st = ut_syscall(nr, a[0], a[1], a[2], a[3], a[4], a[5], a[6], a[7]);
        calls_made++;
        if (nr == 30 || nr == 32 || nr == 33)
            continue;  // values, not statuses
        if (!documented(st)) {
            bad++;
            printf("stress: seed %llu call %d: syscall %llu(%#llx, %#llx, %#llx, %#llx, %#llx, "
                   "%#llx, %#llx, %#llx) returned %lld\n",
                   (unsigned long long)seed, i, (unsigned long long)nr,
                   (unsigned long long)a[0], (unsigned long long)a[1], (unsigned long long)a[2],
                   (unsigned long long)a[3], (unsigned long long)a[4], (unsigned long long)a[5],
                   (unsigned long long)a[6], (unsigned long long)a[7], (long long)st);
        } else {
            by_status[-st < 32 ? -st : 31]++;
        }
        if (st == ZX_OK) {
            for (int j = 0; j < 8; j++) {
                if (slots[j] != 0xfffffff0u)
                    harvest(slots[j]);
            }
            if (nr == 36 && a[3] >= (uintptr_t)buf && a[3] < (uintptr_t)buf + UT_SCRATCH_SIZE - 16) {
                zx_handle_t *got = (zx_handle_t *)(uintptr_t)a[3];
                for (int j = 0; j < 4; j++)
                    harvest(got[j]);
            }
        }
    }
    printf("stress: seed %llu: %d calls, %d undocumented results; OK %llu, INVALID_ARGS %llu, "
           "BAD_HANDLE %llu, WRONG_TYPE %llu, ACCESS_DENIED %llu, NOT_FOUND %llu\n",
           (unsigned long long)seed, calls_made, bad, (unsigned long long)by_status[0],
           (unsigned long long)by_status[10], (unsigned long long)by_status[11],
           (unsigned long long)by_status[12], (unsigned long long)by_status[30],
           (unsigned long long)by_status[25]);
    return bad > 100 ? 100 : bad;
}

// Commits more than the machine has, then gives it back.
static int child_oom(int argc, char **argv) {
    (void)argc;
    (void)argv;
    const uint64_t size = (uint64_t)4 << 30;
    zx_handle_t vmo;
    if (zx_vmo_create(size, 0, &vmo) != ZX_OK)
        return 1;
    zx_status_t st = zx_vmo_op_range(vmo, ZX_VMO_OP_COMMIT, 0, size, NULL, 0);
    if (st != ZX_ERR_NO_MEMORY && st != ZX_OK) {
        printf("stress: committing 4 GiB returned %d\n", st);
        return 2;
    }
    // Whatever was committed goes back; the kernel works as before.
    if (zx_vmo_op_range(vmo, ZX_VMO_OP_DECOMMIT, 0, size, NULL, 0) != ZX_OK)
        return 3;
    zx_handle_t small;
    if (zx_vmo_create(P, 0, &small) != ZX_OK || zx_vmo_write(small, "ok", 0, 2) != ZX_OK)
        return 4;
    return 0;
}

// Many handles at once.
static int child_many_handles(int argc, char **argv) {
    (void)argc;
    (void)argv;
    zx_handle_t vmo;
    if (zx_vmo_create(P, 0, &vmo) != ZX_OK)
        return 1;
    static zx_handle_t hs[20000];
    int n = 0;
    for (; n < 20000; n++) {
        zx_status_t st = zx_handle_duplicate(vmo, ZX_RIGHT_SAME_RIGHTS, &hs[n]);
        if (st == ZX_ERR_NO_RESOURCES || st == ZX_ERR_NO_MEMORY)
            break;
        if (st != ZX_OK)
            return 2;
    }
    for (int i = 0; i < n; i += 2) {
        if (zx_handle_close(hs[i]) != ZX_OK)
            return 3;
    }
    return 0;  // the other half goes with the process
}

// ---- Races: threads of one process working on the same objects at once ----

#define RACE_THREADS 6
#define RACE_PAGES 16

static volatile int race_stop;
static volatile int race_bad, race_last_bad;
static volatile uint64_t race_ops[RACE_THREADS];
static zx_handle_t race_vmo, race_rvmo, race_arena;
static uintptr_t race_arena_base, race_stable;

static void race_check(int64_t st, int where) {
    if (!documented(st)) {
        __atomic_add_fetch(&race_bad, 1, __ATOMIC_RELAXED);
        race_last_bad = where;  // the last offending call site, for the report
    }
}

static uint64_t race_rand(uint64_t *s) {
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

static void race_thread(uintptr_t id, uintptr_t arg2) {
    (void)arg2;
    uint64_t rs = 0x1234567ull * (id + 1);
    uint8_t local[256];
    zx_vaddr_t a;
    while (!race_stop) {
        uint64_t r = race_rand(&rs);
        uint64_t page = (r >> 8) % RACE_PAGES;
        switch (id) {
        case 0:  // maps and unmaps V and R in the arena, changes protections
            race_check(zx_vmar_map(race_arena,
                                   ZX_VM_PERM_READ | ZX_VM_PERM_WRITE | ZX_VM_SPECIFIC_OVERWRITE,
                                   0, race_vmo, 0, RACE_PAGES * PAGE, &a), 1);
            race_check(zx_vmar_protect(race_arena, ZX_VM_PERM_READ,
                                       race_arena_base + page * PAGE, PAGE), 2);
            race_check(zx_vmar_map(race_arena,
                                   ZX_VM_PERM_READ | ZX_VM_PERM_WRITE | ZX_VM_ALLOW_FAULTS |
                                       ZX_VM_SPECIFIC_OVERWRITE,
                                   RACE_PAGES * PAGE, race_rvmo, 0, RACE_PAGES * PAGE, &a), 3);
            race_check(zx_vmar_unmap(race_arena, race_arena_base + (r & 1 ? 0 : RACE_PAGES * PAGE),
                                     RACE_PAGES * PAGE), 4);
            break;
        case 1:  // kernel copies into and out of the arena while it changes
            race_check(zx_vmo_read(race_vmo, (void *)(race_arena_base + page * PAGE * 2), 0,
                                   PAGE), 5);
            race_check(zx_vmo_write(race_vmo, (const void *)(race_arena_base + page * PAGE * 2),
                                    (page ^ 1) * PAGE, PAGE), 6);
            race_check(zx_vmo_read(race_rvmo, local, page * PAGE, sizeof(local)), 7);
            break;
        case 2: {  // snapshots of V, written and dropped
            zx_handle_t c;
            zx_status_t st = zx_vmo_create_child(race_vmo, ZX_VMO_CHILD_SNAPSHOT, 0,
                                                 RACE_PAGES * PAGE, &c);
            race_check(st, 8);
            if (st == ZX_OK) {
                race_check(zx_vmo_write(c, &r, page * PAGE, sizeof(r)), 9);
                race_check(zx_vmo_read(c, local, (page ^ 3) % RACE_PAGES * PAGE, 64), 10);
                if (r & 4)
                    race_check(zx_vmo_op_range(c, ZX_VMO_OP_ZERO, 0, PAGE * 3, NULL, 0), 11);
                zx_handle_close(c);
            }
            break;
        }
        case 3:  // resizes R, writes it
            race_check(zx_vmo_set_size(race_rvmo, (r % (RACE_PAGES + 1)) * PAGE - (r & 7)), 12);
            race_check(zx_vmo_write(race_rvmo, &r, page * PAGE, sizeof(r)), 13);
            race_check(zx_vmo_op_range(race_rvmo, ZX_VMO_OP_COMMIT, 0, 4 * PAGE, NULL, 0), 14);
            break;
        case 4: {  // handles and channels
            zx_handle_t d, c0, c1;
            if (zx_handle_duplicate(race_vmo, ZX_RIGHT_SAME_RIGHTS, &d) == ZX_OK)
                race_check(zx_handle_close(d), 15);
            if (zx_channel_create(0, &c0, &c1) == ZX_OK) {
                race_check(zx_channel_write(c0, 0, &r, sizeof(r), NULL, 0), 16);
                race_check(zx_object_wait_one(c1, ZX_CHANNEL_READABLE, 0, NULL), 17);
                zx_handle_close(c0);
                zx_handle_close(c1);
            }
            race_check(zx_vmo_op_range(race_vmo, ZX_VMO_OP_ZERO, page * PAGE + 100, 50, NULL, 0),
                       18);
            break;
        }
        default:  // writes through a stable mapping of V while it is snapshotted and zeroed
            ((volatile uint64_t *)(race_stable + page * PAGE))[r % 512] = r;
            break;
        }
        race_ops[id]++;
    }
    zx_thread_exit();
}

static int child_races(int argc, char **argv) {
    (void)argc;
    (void)argv;
    zx_vaddr_t a;
    if (zx_vmo_create(RACE_PAGES * PAGE, 0, &race_vmo) != ZX_OK ||
        zx_vmo_create(RACE_PAGES * PAGE, ZX_VMO_RESIZABLE, &race_rvmo) != ZX_OK ||
        zx_vmar_allocate(zx_vmar_root_self(),
                         ZX_VM_CAN_MAP_READ | ZX_VM_CAN_MAP_WRITE | ZX_VM_CAN_MAP_SPECIFIC, 0,
                         4 * RACE_PAGES * PAGE, &race_arena, &a) != ZX_OK)
        return 1;
    race_arena_base = a;
    if (zx_vmar_map(zx_vmar_root_self(), ZX_VM_PERM_READ | ZX_VM_PERM_WRITE, 0, race_vmo, 0,
                    RACE_PAGES * PAGE, &race_stable) != ZX_OK)
        return 2;
    zx_handle_t threads[RACE_THREADS];
    for (int i = 0; i < RACE_THREADS; i++) {
        zx_handle_t svmo;
        zx_vaddr_t stack;
        if (zx_vmo_create(16 * PAGE, 0, &svmo) != ZX_OK ||
            zx_vmar_map(zx_vmar_root_self(), ZX_VM_PERM_READ | ZX_VM_PERM_WRITE, 0, svmo, 0,
                        16 * PAGE, &stack) != ZX_OK ||
            zx_thread_create(zx_process_self(), "racer", 5, 0, &threads[i]) != ZX_OK ||
            zx_thread_start(threads[i], (uintptr_t)race_thread, stack + 16 * PAGE - 8,
                            (uintptr_t)i, 0) != ZX_OK)
            return 3;
        zx_handle_close(svmo);
    }
    zx_nanosleep(ut_deadline_after(1500 * 1000000ll));
    race_stop = 1;
    for (int i = 0; i < RACE_THREADS; i++) {
        if (zx_object_wait_one(threads[i], ZX_THREAD_TERMINATED,
                               ut_deadline_after(10000 * 1000000ll), NULL) != ZX_OK)
            return 4;
    }
    // The stable mapping and the VMO agree once everyone has stopped.
    static uint8_t check[RACE_PAGES * 4096];
    if (zx_vmo_read(race_vmo, check, 0, sizeof(check)) != ZX_OK ||
        memcmp(check, (const void *)race_stable, sizeof(check)) != 0)
        return 5;
    printf("stress: races: ops");
    for (int i = 0; i < RACE_THREADS; i++)
        printf(" %llu", (unsigned long long)race_ops[i]);
    printf(", %d undocumented results (last at site %d)\n", race_bad, race_last_bad);
    return race_bad ? 10 : 0;
}

// ---- Killed in the middle of things ----

static void busy_thread(uintptr_t id, uintptr_t arg2) {
    (void)arg2;
    zx_handle_t vmo, a, b;
    if (zx_vmo_create(64 * 1024, 0, &vmo) != ZX_OK || zx_channel_create(0, &a, &b) != ZX_OK)
        zx_thread_exit();
    static uint8_t big[3][64 * 1024];
    for (uint64_t n = 0;; n++) {
        switch (id) {
        case 0: {
            zx_handle_t c;
            zx_vmo_write(vmo, big[0], 0, sizeof(big[0]));
            if (zx_vmo_create_child(vmo, ZX_VMO_CHILD_SNAPSHOT, 0, 64 * 1024, &c) == ZX_OK) {
                zx_vmo_write(c, big[0], n % 16 * PAGE, PAGE);
                zx_handle_close(c);
            }
            break;
        }
        case 1:
            zx_object_wait_one(b, ZX_CHANNEL_PEER_CLOSED, ZX_TIME_INFINITE, NULL);
            break;
        default: {
            zx_handle_t d, got;
            uint32_t nb, nh;
            if (zx_handle_duplicate(vmo, ZX_RIGHT_SAME_RIGHTS, &d) == ZX_OK)
                zx_channel_write(a, 0, big[2], 8192, &d, 1);
            if (zx_channel_read(b, 0, big[2], &got, sizeof(big[2]), 1, &nb, &nh) == ZX_OK)
                zx_handle_close(got);
            break;
        }
        }
    }
}

static int child_busy(int argc, char **argv) {
    (void)argc;
    (void)argv;
    for (uintptr_t i = 0; i < 3; i++) {
        zx_handle_t svmo, t;
        zx_vaddr_t stack;
        if (zx_vmo_create(16 * PAGE, 0, &svmo) != ZX_OK ||
            zx_vmar_map(zx_vmar_root_self(), ZX_VM_PERM_READ | ZX_VM_PERM_WRITE, 0, svmo, 0,
                        16 * PAGE, &stack) != ZX_OK ||
            zx_thread_create(zx_process_self(), "busy", 4, 0, &t) != ZX_OK ||
            zx_thread_start(t, (uintptr_t)busy_thread, stack + 16 * PAGE - 8, i, 0) != ZX_OK)
            return 1;
        zx_handle_close(svmo);
    }
    zx_handle_t vmo;
    if (zx_vmo_create(256 * PAGE, 0, &vmo) != ZX_OK)
        return 2;
    for (;;) {
        zx_vaddr_t a;
        if (zx_vmar_map(zx_vmar_root_self(), ZX_VM_PERM_READ | ZX_VM_PERM_WRITE, 0, vmo, 0,
                        256 * PAGE, &a) == ZX_OK) {
            for (int i = 0; i < 256; i += 3)
                ((volatile uint8_t *)a)[i * PAGE] = (uint8_t)i;
            zx_vmar_unmap(zx_vmar_root_self(), a, 256 * PAGE);
        }
    }
}

// ---- Deep chains ----

#define CHAIN 1500

// A chain of CHAIN snapshots (each of the previous one) or slices, every level writing its own
// byte; the leaf sees them all. Closed from the root or from the leaf.
static int child_chain(int argc, char **argv) {
    bool slices = argc > 1 && strcmp(argv[1], "slices") == 0;
    bool from_leaf = argc > 2 && strcmp(argv[2], "leaf-first") == 0;
    static zx_handle_t h[CHAIN];
    if (zx_vmo_create(2 * PAGE, 0, &h[0]) != ZX_OK)
        return 1;
    for (int i = 1; i < CHAIN; i++) {
        zx_status_t st = zx_vmo_create_child(
            h[i - 1], slices ? ZX_VMO_CHILD_SLICE : ZX_VMO_CHILD_SNAPSHOT, 0, 2 * PAGE, &h[i]);
        if (st != ZX_OK) {
            printf("stress: chain level %d: %d\n", i, st);
            return 2;
        }
        uint8_t b = (uint8_t)i;
        if (zx_vmo_write(h[i], &b, (uint64_t)(i % (2 * PAGE)), 1) != ZX_OK)
            return 3;
    }
    uint8_t leaf[2 * 4096];
    if (zx_vmo_read(h[CHAIN - 1], leaf, 0, sizeof(leaf)) != ZX_OK)
        return 4;
    for (int i = 1; i < CHAIN; i++) {
        if (leaf[i % (2 * PAGE)] != (uint8_t)i)
            return 5;
    }
    // Slices share one set of pages: the root sees the leaf's writes; snapshots do not.
    uint8_t b0;
    if (zx_vmo_read(h[0], &b0, CHAIN - 1, 1) != ZX_OK || b0 != (slices ? (uint8_t)(CHAIN - 1) : 0))
        return 6;
    for (int i = 0; i < CHAIN; i++)
        zx_handle_close(h[from_leaf ? CHAIN - 1 - i : i]);
    return 0;
}

// ---- The tests ----

static uint64_t seed_base = 1;

TEST(random_rounds) {
    int outcomes[4] = {0};  // finished, faulted, killed itself, other
    for (int r = 0; r < ROUNDS; r++) {
        uint64_t before = ut_vmo_bytes();
        char seed[24];
        snprintf(seed, sizeof(seed), "%llu", (unsigned long long)(seed_base + (uint64_t)r));
        int64_t code = ut_run_child_t("random", seed, 120);
        uint64_t after = ut_vmo_bytes();
        if (code == 0)
            outcomes[0]++;
        else if (code == ZX_TASK_RETCODE_EXCEPTION_KILL)
            outcomes[1]++;
        else if (code == ZX_TASK_RETCODE_SYSCALL_KILL)
            outcomes[2]++;
        else {
            outcomes[3]++;
            EXPECT_FAILF("round with seed %s ended with %lld", seed, (long long)code);
        }
        if (after != before)
            EXPECT_FAILF("round with seed %s: vmo_bytes %llu before, %llu after the child ended",
                         seed, (unsigned long long)before, (unsigned long long)after);
    }
    printf("    %d rounds: %d finished, %d ended by a fault of their own, %d killed themselves, "
           "%d failed\n",
           ROUNDS, outcomes[0], outcomes[1], outcomes[2], outcomes[3]);
    // Most rounds should get through: otherwise the stress is not reaching the calls.
    EXPECT_GE(outcomes[0], ROUNDS / 2);
}

TEST(races) {
    EXPECT_EQ(ut_run_child_t("races", NULL, 120), 0);
}

TEST(killed_in_the_middle_of_things) {
    for (int i = 0; i < 10; i++) {
        uint64_t before = ut_vmo_bytes();
        zx_handle_t proc = ut_start_child("busy", NULL);
        REQUIRE_TRUE(proc);
        zx_nanosleep(ut_deadline_after((5 + (i * 7) % 40) * 1000000ll));
        EXPECT_OK(zx_task_kill(proc));
        EXPECT_EQ(ut_wait_process(proc, 20), ZX_TASK_RETCODE_SYSCALL_KILL);
        zx_handle_close(proc);
        if (!EXPECT_EQ(ut_vmo_bytes(), before))
            printf("      (iteration %d)\n", i);
    }
}

TEST(deep_chains) {
    static const char *const kinds[][2] = {{"snapshots", "root-first"},
                                           {"snapshots", "leaf-first"},
                                           {"slices", "root-first"},
                                           {"slices", "leaf-first"}};
    for (int i = 0; i < 4; i++) {
        zx_handle_t proc;
        const char *argv[] = {"stress_test", "--child", "chain", kinds[i][0], kinds[i][1]};
        REQUIRE_OK(jasper_launch(zx_job_default(), "chain", ulib_executable_vmo(), 5, argv,
                                 &proc));
        if (!EXPECT_EQ(ut_wait_process(proc, 120), 0))
            printf("      (%s, %s)\n", kinds[i][0], kinds[i][1]);
        zx_handle_close(proc);
    }
}

TEST(many_handles) {
    EXPECT_EQ(ut_run_child_t("many-handles", NULL, 120), 0);
}

TEST(kernel_alive_afterwards) {
    zx_handle_t vmo = ut_vmo(4 * P, 0x5a);
    uintptr_t a = ut_map(vmo, 0, 4 * P, ZX_VM_PERM_READ | ZX_VM_PERM_WRITE);
    REQUIRE_TRUE(a);
    EXPECT_EQ(((volatile uint8_t *)a)[3 * P], 0x5a);
    ut_unmap(a, 4 * P);
    zx_handle_close(vmo);
    EXPECT_EQ(ut_run_child("noop", NULL), 0);
}

// Last: memory exhaustion may leave the kernel slow (but must leave it working).
TEST(out_of_memory) {
    EXPECT_EQ(ut_run_child_t("oom", NULL, 300), 0);
    EXPECT_EQ(ut_run_child("noop", NULL), 0);
}

static const struct ut_child children[] = {
    {"random", child_random},
    {"oom", child_oom},
    {"many-handles", child_many_handles},
    {"races", child_races},
    {"busy", child_busy},
    {"chain", child_chain},
    {NULL, NULL},
};
UTEST_MAIN(children)
