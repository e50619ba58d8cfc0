// The lock-order checker (kernel/lockdep.h): an inversion panics, directly (A→B then B→A) and
// through a longer cycle, for mutexes and for spinlocks; the VM's real lock order (vm/README.md)
// passes and is what the checker records. Each test uses lock classes of its own ("ld_*"), so the
// orders they record cannot clash with the kernel's. Kernel only.
#include "arch/x86_64/cpu.h"
#include "arch/x86_64/smp.h"
#include "kernel/assert.h"
#include "kernel/backtrace.h"
#include "kernel/ktest.h"
#include "kernel/ktest_runner.h"
#include "kernel/lockdep.h"
#include "kernel/mutex.h"
#include "kernel/spinlock.h"
#include "kernel/string.h"
#include "kernel/thread.h"
#include "syscalls/user_copy.h"
#include "vm/aspace.h"
#include "vm/vmar.h"
#include "vm/vmo.h"

#if JASPER_LOCKDEP

static struct mutex ma = MUTEX_INIT(ma, "ld_mutex_a");
static struct mutex mb = MUTEX_INIT(mb, "ld_mutex_b");

static void take_a_under_b(void *arg) {
    (void)arg;
    mutex_acquire(&mb);
    mutex_acquire(&ma);  // panics: a was taken before b
    mutex_release(&ma);
    mutex_release(&mb);
}

// Releases a mutex the expected panic left held (the analysis cannot see through the panic).
static void release_left_held(struct mutex *m) NO_THREAD_SAFETY_ANALYSIS;
static void release_left_held(struct mutex *m) {
    mutex_release(m);
}
static void spin_release_left_held(struct spinlock *l, irqstate_t s) NO_THREAD_SAFETY_ANALYSIS;
static void spin_release_left_held(struct spinlock *l, irqstate_t s) {
    spin_unlock_irqrestore(l, s);
}

KTEST(lockdep, mutex_inversion_panics) {
    mutex_acquire(&ma);
    mutex_acquire(&mb);
    mutex_release(&mb);
    mutex_release(&ma);
    EXPECT_TRUE(lockdep_order_seen("ld_mutex_a", "ld_mutex_b"));
    EXPECT_TRUE(ktest_expect_panic(take_a_under_b, NULL));
    // The panic came before `ma` was taken; `mb` is still ours.
    EXPECT_TRUE(mutex_held(&mb));
    EXPECT_FALSE(mutex_held(&ma));
    release_left_held(&mb);
    EXPECT_FALSE(lockdep_order_seen("ld_mutex_b", "ld_mutex_a"));
    // The recorded order still passes.
    mutex_acquire(&ma);
    mutex_acquire(&mb);
    mutex_release(&mb);
    mutex_release(&ma);
}

static struct spinlock sx = SPINLOCK_INIT("ld_spin_x");
static struct spinlock sy = SPINLOCK_INIT("ld_spin_y");
static struct spinlock sz = SPINLOCK_INIT("ld_spin_z");
static irqstate_t sz_state;

static void take_x_under_z(void *arg) {
    (void)arg;
    sz_state = spin_lock_irqsave(&sz);
    irqstate_t s = spin_lock_irqsave(&sx);  // panics: x → y → z was recorded
    spin_unlock_irqrestore(&sx, s);
    spin_unlock_irqrestore(&sz, sz_state);
}

KTEST(lockdep, spinlock_cycle_through_three_classes_panics) {
    irqstate_t s1 = spin_lock_irqsave(&sx);
    irqstate_t s2 = spin_lock_irqsave(&sy);
    spin_unlock_irqrestore(&sy, s2);
    spin_unlock_irqrestore(&sx, s1);
    s1 = spin_lock_irqsave(&sy);
    s2 = spin_lock_irqsave(&sz);
    spin_unlock_irqrestore(&sz, s2);
    spin_unlock_irqrestore(&sy, s1);
    EXPECT_TRUE(lockdep_order_seen("ld_spin_x", "ld_spin_z"));  // through y
    EXPECT_TRUE(ktest_expect_panic(take_x_under_z, NULL));
    EXPECT_TRUE(spin_lock_held(&sz));
    EXPECT_FALSE(spin_lock_held(&sx));
    spin_release_left_held(&sz, sz_state);
}

static struct mutex mo = MUTEX_INIT(mo, "ld_mutex_outer");
static struct spinlock si = SPINLOCK_INIT("ld_spin_inner");

static void take_mutex_under_spinlock(void *arg) {
    (void)arg;
    sz_state = spin_lock_irqsave(&si);
    mutex_acquire(&mo);  // panics: mutex → spinlock was recorded
    mutex_release(&mo);
    spin_unlock_irqrestore(&si, sz_state);
}

KTEST(lockdep, mutex_then_spinlock_order_is_checked_across_kinds) {
    mutex_acquire(&mo);
    irqstate_t s = spin_lock_irqsave(&si);
    spin_unlock_irqrestore(&si, s);
    mutex_release(&mo);
    EXPECT_TRUE(lockdep_order_seen("ld_mutex_outer", "ld_spin_inner"));
    EXPECT_TRUE(ktest_expect_panic(take_mutex_under_spinlock, NULL));
    spin_release_left_held(&si, sz_state);
}

// --- An inversion whose earlier order was seen on another CPU, by another thread ---

static struct spinlock xa = SPINLOCK_INIT("ld_cross_a");
static struct spinlock xb = SPINLOCK_INIT("ld_cross_b");
static irqstate_t xb_state;
static uint32_t cross_cpu;  // where cross_take_a_then_b held both

// Pinned to another CPU: records "a before b" there.
static int cross_take_a_then_b(void *arg) {
    (void)arg;
    irqstate_t s1 = spin_lock_irqsave(&xa);
    irqstate_t s2 = spin_lock_irqsave(&xb);
    cross_cpu = smp_cpu_num();
    spin_unlock_irqrestore(&xb, s2);
    spin_unlock_irqrestore(&xa, s1);
    return 0;
}

static void cross_take_b_then_a(void *arg) {
    (void)arg;
    xb_state = spin_lock_irqsave(&xb);
    irqstate_t s = spin_lock_irqsave(&xa);  // panics: a → b was recorded on the other CPU
    spin_unlock_irqrestore(&xa, s);
    spin_unlock_irqrestore(&xb, xb_state);
}

// One order as a report names it: the classes of the lock held and of the lock taken, both taken
// in function `fn`, the first one first.
static void expect_order(const char *held, const char *taken, vaddr_t held_site,
                         vaddr_t taken_site, const char *want_held, const char *want_taken,
                         const char *fn) {
    size_t off;
    const char *f1 = ksym_lookup(held_site, &off), *f2 = ksym_lookup(taken_site, &off);
    EXPECT_STREQ(held ? held : "?", want_held);
    EXPECT_STREQ(taken ? taken : "?", want_taken);
    EXPECT_STREQ(f1 ? f1 : "?", fn);
    EXPECT_STREQ(f2 ? f2 : "?", fn);
    EXPECT_TRUE(held_site < taken_site);
}

// The checker's table is global and held spinlocks are per CPU: an order one CPU saw makes the
// reverse order panic on another, and the report names all four sites and both CPUs. With one
// CPU the helper thread runs on CPU 0 too (the threads still differ).
KTEST(lockdep, inversion_across_cpus_reports_both_sites) {
    uint32_t other = sched_cpus_online() - 1;
    struct thread *t = thread_create("ld_cross", cross_take_a_then_b, NULL);
    REQUIRE_TRUE(t != NULL);
    thread_set_affinity(t, 1ull << other);
    thread_start(t);
    EXPECT_OK(thread_join(t, NULL, ZX_TIME_INFINITE));
    thread_release(t);
    EXPECT_EQ(cross_cpu, other);
    EXPECT_TRUE(lockdep_order_seen("ld_cross_a", "ld_cross_b"));

    EXPECT_TRUE(ktest_expect_panic(cross_take_b_then_a, NULL));
    EXPECT_TRUE(spin_lock_held(&xb));
    EXPECT_FALSE(spin_lock_held(&xa));
    uint64_t f = irq_save();
    uint32_t here = smp_cpu_num();  // xb is held: interrupts are off, no migration
    irq_restore(f);
    spin_release_left_held(&xb, xb_state);

    struct lockdep_report r;
    REQUIRE_TRUE(lockdep_last_report(&r));
    expect_order(r.held, r.taking, r.held_site, r.taking_site, "ld_cross_b", "ld_cross_a",
                 "cross_take_b_then_a");
    EXPECT_EQ(r.cpu, here);
    expect_order(r.earlier_first, r.earlier_then, r.earlier_first_site, r.earlier_then_site,
                 "ld_cross_a", "ld_cross_b", "cross_take_a_then_b");
    EXPECT_EQ(r.earlier_cpu, other);
    if (sched_cpus_online() > 1)
        EXPECT_NE(r.cpu, r.earlier_cpu);
    EXPECT_FALSE(lockdep_order_seen("ld_cross_b", "ld_cross_a"));
}

static struct mutex same1 = MUTEX_INIT(same1, "ld_same");
static struct mutex same2 = MUTEX_INIT(same2, "ld_same");

KTEST(lockdep, same_class_nesting_is_allowed) {
    mutex_acquire(&same1);
    mutex_acquire(&same2);
    mutex_release(&same1);  // out of order too
    mutex_release(&same2);
    EXPECT_FALSE(lockdep_order_seen("ld_same", "ld_same"));
}

// The VM's own order: a write fault through copy_to_user takes the address space's lock, the
// clone tree's, the pmm's and the page-table lock; nothing may ever have been recorded the other
// way round, by this test or by any test before it.
KTEST(lockdep, vm_lock_order_passes) {
    struct vm_aspace *as;
    REQUIRE_OK(vm_aspace_create("lockdep_test", &as));
    struct vmar *root = vm_aspace_root_vmar(as);
    struct vmo *vmo;
    REQUIRE_OK(vmo_create(4 * PAGE_SIZE, 0, &vmo));
    vaddr_t va;
    EXPECT_OK(vmar_map(root, ZX_VM_PERM_READ | ZX_VM_PERM_WRITE, 0, vmo, 0, 4 * PAGE_SIZE,
                       ZX_VM_PERM_READ | ZX_VM_PERM_WRITE, &va));
    vm_aspace_activate(as);
    static const char msg[] = "lock order";
    EXPECT_OK(copy_to_user(va + PAGE_SIZE - 4, msg, sizeof(msg)));  // two pages
    vm_aspace_activate(NULL);
    vm_aspace_destroy(as);
    kobject_release(vmar_object(root));
    kobject_release(vmo_object(vmo));

    static const char *const order[] = {"aspace", "cow_tree", "aspace_pt", "pmm"};
    EXPECT_TRUE(lockdep_order_seen("aspace", "cow_tree"));
    EXPECT_TRUE(lockdep_order_seen("aspace", "aspace_pt"));
    EXPECT_TRUE(lockdep_order_seen("cow_tree", "pmm"));
    for (size_t i = 0; i < countof(order); i++)
        for (size_t j = i + 1; j < countof(order); j++)
            EXPECT_FALSE(lockdep_order_seen(order[j], order[i]));
}

#endif  // JASPER_LOCKDEP
