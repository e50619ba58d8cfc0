// One TLB shootdown round per range change (docs/smp.md, "TLB shootdowns"): a snapshot
// write-protecting several mappings of one VMO, a protect, a decommit and an unmap over several
// mappings each send one IPI round to a CPU that has the address space active, not one per
// mapping. Needs two CPUs (on one it checks that no round is sent at all).
#include <zircon/syscalls.h>

#include "arch/x86_64/cpu.h"
#include "arch/x86_64/ipi.h"
#include "arch/x86_64/smp.h"
#include "arch/x86_64/tlb.h"
#include "kernel/ktest.h"
#include "kernel/thread.h"
#include "vm/vmar.h"
#include "vm/vmo.h"

#define PG ((uint64_t)PAGE_SIZE)
#define NMAP 3          // mappings, each of its own VMO, side by side
#define MAP_PAGES 4     // pages per mapping
#define RW (ZX_VM_PERM_READ | ZX_VM_PERM_WRITE)
#define RWX (RW | ZX_VM_PERM_EXECUTE)

// The helper thread, pinned to another CPU, keeps `as` active there until `stop`.
static struct {
    struct vm_aspace *as;
    volatile bool ready, stop;
    volatile uint64_t activations;  // times it had to (re)load the space after a switch
} helper;

static int hold_aspace(void *arg) {
    (void)arg;
    while (!helper.stop) {
        uint64_t f = irq_save();  // no migration between the check and the load
        if (vm_aspace_active() != helper.as) {
            vm_aspace_activate(helper.as);
            helper.activations++;
        }
        irq_restore(f);
        helper.ready = true;
        cpu_pause();
    }
    uint64_t f = irq_save();
    vm_aspace_activate(NULL);  // the space must be active nowhere when it is destroyed
    irq_restore(f);
    return 0;
}

struct rounds {
    uint64_t shootdowns, ipis, activations;
    bool on_helper_cpu;  // the test's thread was on the helper's CPU (it may migrate under load)
};

static struct rounds rounds_now(unsigned cpu) {
    uint64_t f = irq_save();
    struct rounds r = {__atomic_load_n(&tlb_stats.shootdowns, __ATOMIC_RELAXED),
                       ipi_count(cpu, IPI_TLB), helper.activations, smp_cpu_num() == cpu};
    irq_restore(f);
    return r;
}

// Checks that the operation between `a` and `b` sent exactly one round (with one IPI to the
// helper's CPU), or -- if the helper lost and reloaded the space meanwhile, or the test's own
// thread was moved onto the helper's CPU (then that CPU is the initiator and needs no IPI) -- at
// most one; none on one CPU. A macro, so that a failure names the caller's line.
#define EXPECT_ONE_ROUND(a, b, smp)                                 \
    do {                                                            \
        if (!(smp)) {                                               \
            EXPECT_EQ((b).shootdowns, (a).shootdowns);              \
        } else if ((b).activations == (a).activations &&            \
                   !(a).on_helper_cpu && !(b).on_helper_cpu) {      \
            EXPECT_EQ((b).shootdowns - (a).shootdowns, 1);          \
            EXPECT_EQ((b).ipis - (a).ipis, 1);                      \
        } else {                                                    \
            EXPECT_LE((b).shootdowns - (a).shootdowns, 1);          \
        }                                                           \
    } while (0)

KTEST(shootdown, one_round_per_range_change_over_several_mappings) {
    struct vm_aspace *as = NULL;
    REQUIRE_OK(vm_aspace_create("shootdown", &as));
    struct vmar *root = vm_aspace_root_vmar(as);
    struct vmo *vmos[NMAP];
    vaddr_t base = 0, a = 0;
    for (int i = 0; i < NMAP; i++) {
        REQUIRE_OK(vmo_create(MAP_PAGES * PG, 0, &vmos[i]));
        uint64_t off = 0x10000000 + (uint64_t)i * MAP_PAGES * PG;
        REQUIRE_OK(vmar_map(root, RW | ZX_VM_SPECIFIC, off, vmos[i], 0, MAP_PAGES * PG, RWX, &a));
        if (i == 0)
            base = a;
        for (uint64_t p = 0; p < MAP_PAGES; p++)
            REQUIRE_OK(vm_fault(as, a + p * PG, VM_FAULT_WRITE, NULL));
    }
    // A second mapping of the first VMO, elsewhere: a snapshot write-protects both.
    vaddr_t again = 0;
    REQUIRE_OK(vmar_map(root, RW, 0, vmos[0], 0, MAP_PAGES * PG, RWX, &again));
    for (uint64_t p = 0; p < MAP_PAGES; p++)
        REQUIRE_OK(vm_fault(as, again + p * PG, VM_FAULT_WRITE, NULL));

    uint32_t n = sched_cpus_online();
    bool smp = n >= 2;
    unsigned cpu = smp ? 1 : 0;
    struct thread *t = NULL;
    helper.as = as;
    helper.ready = helper.stop = false;
    helper.activations = 0;
    if (smp) {
        t = thread_create("hold-aspace", hold_aspace, NULL);
        REQUIRE_TRUE(t != NULL);
        thread_set_affinity(t, 1ull << cpu);
        thread_start(t);
        for (int i = 0; i < 5000 && !helper.ready; i++)
            thread_sleep_until(current_time() + 1000 * 1000);
        REQUIRE_TRUE(helper.ready);
    }

    // Both mappings of vmos[0] lose write: one round.
    struct vmo *child = NULL;
    struct rounds r0 = rounds_now(cpu);
    EXPECT_OK(vmo_create_child(vmos[0], ZX_VMO_CHILD_SNAPSHOT, 0, MAP_PAGES * PG, &child));
    struct rounds r1 = rounds_now(cpu);
    EXPECT_ONE_ROUND(r0, r1, smp);
    if (child)
        kobject_release(vmo_object(child));  // a VMO with a snapshot child cannot decommit

    // The other two of the three side by side (the first is read-only already): one round.
    r0 = rounds_now(cpu);
    EXPECT_OK(vmar_protect(root, ZX_VM_PERM_READ, base, NMAP * MAP_PAGES * PG));
    r1 = rounds_now(cpu);
    EXPECT_ONE_ROUND(r0, r1, smp);

    // Decommit over the three (of three VMOs, mapped nowhere else): one round, not one per VMO.
    EXPECT_OK(vmar_unmap(root, again, MAP_PAGES * PG));
    r0 = rounds_now(cpu);
    EXPECT_OK(vmar_op_range(root, ZX_VMAR_OP_DECOMMIT, base, NMAP * MAP_PAGES * PG,
                            ZX_RIGHT_WRITE));
    r1 = rounds_now(cpu);
    EXPECT_ONE_ROUND(r0, r1, smp);

    // Unmap over the three, their pages read in again (the zero page): one round.
    for (uint64_t p = 0; p < NMAP * MAP_PAGES; p++)
        REQUIRE_OK(vm_fault(as, base + p * PG, 0, NULL));
    r0 = rounds_now(cpu);
    EXPECT_OK(vmar_unmap(root, base, NMAP * MAP_PAGES * PG));
    r1 = rounds_now(cpu);
    EXPECT_ONE_ROUND(r0, r1, smp);

    if (smp) {
        helper.stop = true;
        EXPECT_OK(thread_join(t, NULL, ZX_TIME_INFINITE));
        thread_release(t);
    }
    for (int i = 0; i < NMAP; i++)
        kobject_release(vmo_object(vmos[i]));
    vm_aspace_destroy(as);
    kobject_release(vmar_object(root));
}
