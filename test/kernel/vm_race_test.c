// Lock-order stress: kernel threads, one pinned to each CPU (up to four; on one CPU they
// interleave by preemption), drive real VM operations on one address space and one VMO at once —
// map over, unmap, protect, faults, snapshots written and mapped, writes, commits and decommits —
// so that every VM lock (aspace, clone tree, page-table, pmm) is taken from every CPU in every
// combination the code has. With the lock-order checker on (the default build) an inversion
// panics and fails the test; afterwards the address space and the clone tree pass their checks,
// no reverse VM order was ever recorded, and every page comes back. Kernel only.
#include "arch/x86_64/smp.h"
#include "kernel/ktest.h"
#include "kernel/lockdep.h"
#include "kernel/thread.h"
#include "test/kernel/aspace_check.h"
#include "vm/pmm.h"
#include "vm/vmar.h"
#include "vm/vmo.h"

#define PG ((uint64_t)PAGE_SIZE)
#define RACERS 4
#define ROUNDS 1500
#define VMO_PAGES 16
#define WINDOW_PAGES 32

static struct vm_aspace *race_as;
static struct vmar *race_window;  // a sub-VMAR every racer maps into (SPECIFIC_OVERWRITE)
static vaddr_t race_base;
static struct vmo *race_vmo;
static volatile uint64_t race_unexpected;  // statuses no operation may return here

static uint64_t next_rand(uint64_t *s) {
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

// Counts a status outside `ok` (a bit mask over -status; bit 0 is ZX_OK).
static void check(zx_status_t st, uint64_t ok) {
    uint64_t bit = st == ZX_OK ? 1 : (-st < 64 ? 1ull << -st : 0);
    if (!(bit & ok))
        __atomic_fetch_add(&race_unexpected, 1, __ATOMIC_RELAXED);
}
#define OK_ONLY 1ull
#define OR(st) (1ull << -(st))

// One step: a random operation on a random range of the shared window or VMO.
static void race_step(uint64_t *rs) {
    uint64_t r = next_rand(rs);
    uint64_t page = r % WINDOW_PAGES, pages = 1 + (r >> 8) % 6;
    if (page + pages > WINDOW_PAGES)
        pages = WINDOW_PAGES - page;
    vaddr_t va = race_base + page * PG, out;
    uint64_t voff = (r >> 16) % VMO_PAGES;
    if (voff + pages > VMO_PAGES)
        voff = VMO_PAGES - pages;
    uint8_t byte = (uint8_t)(r >> 24);
    switch ((r >> 32) % 8) {
    case 0:  // map the VMO over whatever is there
        check(vmar_map(race_window, ZX_VM_PERM_READ | ZX_VM_PERM_WRITE | ZX_VM_SPECIFIC_OVERWRITE,
                       page * PG, race_vmo, voff * PG, pages * PG,
                       ZX_VM_PERM_READ | ZX_VM_PERM_WRITE, &out),
              OK_ONLY);
        break;
    case 1:
        check(vmar_unmap(race_window, va, pages * PG), OK_ONLY);
        break;
    case 2:  // a gap in the range: NOT_FOUND, nothing changed
        check(vmar_protect(race_window, r & (1ull << 40) ? ZX_VM_PERM_READ
                                                        : ZX_VM_PERM_READ | ZX_VM_PERM_WRITE,
                           va, pages * PG),
              OK_ONLY | OR(ZX_ERR_NOT_FOUND));
        break;
    case 3:
    case 4:  // faults: nothing mapped, read-only, or resolved
        for (uint64_t i = 0; i < pages; i++)
            check(vm_fault(race_as, va + i * PG, (r >> (41 + i)) & 1 ? VM_FAULT_WRITE : 0, NULL),
                  OK_ONLY | OR(ZX_ERR_NOT_FOUND) | OR(ZX_ERR_ACCESS_DENIED));
        break;
    case 5: {  // a snapshot, written, sometimes mapped (the mapping keeps it), then dropped
        struct vmo *c;
        zx_status_t st = vmo_create_child(race_vmo, ZX_VMO_CHILD_SNAPSHOT, 0, VMO_PAGES * PG, &c);
        check(st, OK_ONLY);
        if (st != ZX_OK)
            break;
        check(vmo_write(c, &byte, voff * PG + 8, 1), OK_ONLY);
        if (r & (1ull << 41))
            check(vmar_map(race_window,
                           ZX_VM_PERM_READ | ZX_VM_PERM_WRITE | ZX_VM_SPECIFIC_OVERWRITE, page * PG,
                           c, voff * PG, pages * PG, ZX_VM_PERM_READ | ZX_VM_PERM_WRITE, &out),
                  OK_ONLY);
        kobject_release(vmo_object(c));
        break;
    }
    case 6:
        check(vmo_write(race_vmo, &byte, voff * PG + (r >> 48) % PG, 1), OK_ONLY);
        break;
    default:  // DECOMMIT while a snapshot is open: NOT_SUPPORTED
        check(vmo_op_range(race_vmo,
                           r & (1ull << 42) ? ZX_VMO_OP_DECOMMIT
                           : r & (1ull << 43) ? ZX_VMO_OP_ZERO
                                              : ZX_VMO_OP_COMMIT,
                           voff * PG, pages * PG),
              OK_ONLY | OR(ZX_ERR_NOT_SUPPORTED));
        break;
    }
}

static int racer(void *arg) {
    uint64_t rs = 0x9e3779b97f4a7c15ull * ((uintptr_t)arg + 1);
    for (int i = 0; i < ROUNDS; i++)
        race_step(&rs);
    return 0;
}

KTEST(vm_race, vm_locks_taken_from_every_cpu_in_order) {
    size_t vmo_pages = pmm_count(PAGE_STATE_VMO), pt_pages = pmm_count(PAGE_STATE_PAGE_TABLE);
    race_unexpected = 0;
    REQUIRE_OK(vm_aspace_create("vm_race", &race_as));
    struct vmar *root = vm_aspace_root_vmar(race_as);
    REQUIRE_OK(vmar_allocate(root,
                             ZX_VM_CAN_MAP_READ | ZX_VM_CAN_MAP_WRITE | ZX_VM_CAN_MAP_SPECIFIC, 0,
                             WINDOW_PAGES * PG, &race_window));
    race_base = vmar_base(race_window);
    REQUIRE_OK(vmo_create(VMO_PAGES * PG, 0, &race_vmo));
    uint32_t cpus = sched_cpus_online();
    struct thread *t[RACERS];
    for (uintptr_t i = 0; i < RACERS; i++) {
        t[i] = thread_create("vm_racer", racer, (void *)i);
        REQUIRE_TRUE(t[i] != NULL);
        thread_set_affinity(t[i], 1ull << (i % cpus));
        thread_start(t[i]);
    }
    for (int i = 0; i < RACERS; i++) {
        int code = -1;
        EXPECT_OK(thread_join(t[i], &code, ZX_TIME_INFINITE));
        EXPECT_EQ(code, 0);
        thread_release(t[i]);
    }
    EXPECT_EQ(race_unexpected, 0);
    EXPECT_TRUE(vm_aspace_check(race_as));
    EXPECT_TRUE(aspace_check_pagetable(race_as, NULL));
    EXPECT_TRUE(vmo_check_tree(race_vmo));
    EXPECT_OK(vmar_destroy(race_window));
    kobject_release(vmar_object(race_window));
    vm_aspace_destroy(race_as);
    kobject_release(vmar_object(root));
    kobject_release(vmo_object(race_vmo));
    EXPECT_EQ(pmm_count(PAGE_STATE_VMO), vmo_pages);
    EXPECT_EQ(pmm_count(PAGE_STATE_PAGE_TABLE), pt_pages);
#if JASPER_LOCKDEP
    // vm/README.md's order, and never a pair the other way round.
    static const char *const order[] = {"aspace", "cow_tree", "aspace_pt", "pmm"};
    EXPECT_TRUE(lockdep_order_seen("aspace", "cow_tree"));
    EXPECT_TRUE(lockdep_order_seen("cow_tree", "aspace_pt"));
    for (size_t i = 0; i < countof(order); i++)
        for (size_t j = i + 1; j < countof(order); j++)
            EXPECT_FALSE(lockdep_order_seen(order[j], order[i]));
#endif
}
