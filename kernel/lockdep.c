// The lock-order checker (see lockdep.h). The order table is a graph over lock classes: `direct`
// holds the edges seen ("a was held when b was taken"), `reach` their transitive closure, one
// 64-bit row per class. Invariant: the graph has no cycle, so taking b while holding a is an
// inversion exactly when a is reachable from b. Once a→b is recorded nothing can make it an
// inversion later, so the common case (every edge already known) reads the table without its lock.
#include "kernel/lockdep.h"

#if JASPER_LOCKDEP

#include "arch/x86_64/cpu.h"
#include "arch/x86_64/percpu.h"
#include "kernel/assert.h"
#include "kernel/backtrace.h"
#include "kernel/printf.h"
#include "kernel/string.h"
#include "kernel/thread.h"

#define MAX_EDGES 256

struct edge {
    uint16_t from, to;
    vaddr_t from_site, to_site;  // where each was taken when the edge was first seen
    uint32_t cpu;                // the CPU that took `to` then
};

// The table; changed only under table_lock (with interrupts off), read racily by the fast path.
static struct {
    const char *names[LOCKDEP_MAX_CLASSES];
    unsigned classes;
    uint64_t direct[LOCKDEP_MAX_CLASSES];
    uint64_t pred[LOCKDEP_MAX_CLASSES];  // pred[b] bit a == direct[a] bit b
    uint64_t reach[LOCKDEP_MAX_CLASSES];
    struct edge edges[MAX_EDGES];
    unsigned nedges;
} table;

// Not a struct spinlock: that would check itself. The holder's CPU number + 1, 0 when free.
static uint32_t table_lock;

static struct lockdep_held cpu_held[LOCKDEP_MAX_CPUS];

// The last inversion reported (written before the panic, under table_lock).
static struct lockdep_report last_report;
static bool have_report;

// Interrupts go off while it is held: interrupt handlers take spinlocks, which come here.
static uint64_t table_acquire(void) {
    uint64_t flags = irq_save();
    uint32_t me = arch_cpu_num() + 1;
    uint32_t free = 0;
    while (!__atomic_compare_exchange_n(&table_lock, &free, me, false, __ATOMIC_ACQUIRE,
                                        __ATOMIC_RELAXED)) {
        free = 0;
        cpu_pause();
    }
    return flags;
}

static bool table_held(void) {
    return __atomic_load_n(&table_lock, __ATOMIC_RELAXED) == arch_cpu_num() + 1;
}

static void table_release(uint64_t flags) {
    __atomic_store_n(&table_lock, 0, __ATOMIC_RELEASE);
    irq_restore(flags);
}

static struct lockdep_held *this_cpu_held(void) {
    uint32_t cpu = arch_cpu_num();
    ASSERT_MSG(cpu < LOCKDEP_MAX_CPUS, "lockdep: CPU %u beyond %d", cpu, LOCKDEP_MAX_CPUS);
    return &cpu_held[cpu];
}

// NULL before the scheduler has a current thread (early boot takes no mutexes).
static struct lockdep_held *this_thread_held(void) {
    struct thread *t = thread_current();
    return t ? &t->lockdep_held : NULL;
}

// The class id for `name`; the caller holds table_lock. Panics when the table is full.
static uint16_t class_lookup_locked(const char *name, uint64_t flags) {
    ASSERT(table_held());
    for (unsigned i = 0; i < table.classes; i++)
        if (table.names[i] == name || strcmp(table.names[i], name) == 0)
            return (uint16_t)i;
    if (table.classes == LOCKDEP_MAX_CLASSES) {
        table_release(flags);
        panic("lockdep: more than %d lock classes (adding %s)", LOCKDEP_MAX_CLASSES, name);
    }
    table.names[table.classes] = name;
    return (uint16_t)table.classes++;
}

static uint16_t class_of(uint16_t *class_cache, const char *name) {
    uint16_t c = __atomic_load_n(class_cache, __ATOMIC_RELAXED);
    if (c)
        return (uint16_t)(c - 1);
    uint64_t flags = table_acquire();
    c = class_lookup_locked(name ? name : "?", flags);
    table_release(flags);
    __atomic_store_n(class_cache, (uint16_t)(c + 1), __ATOMIC_RELAXED);
    return c;
}

static const struct edge *edge_find(uint16_t from, uint16_t to) {
    for (unsigned i = 0; i < table.nedges; i++)
        if (table.edges[i].from == from && table.edges[i].to == to)
            return &table.edges[i];
    return NULL;
}

static void print_site(const char *what, const char *name, vaddr_t site) {
    char sym[96];
    ksym_format(site, sym, sizeof(sym));
    kprintf("    %s %s at %#llx %s\n", what, name, (unsigned long long)site, sym);
}

// The first recorded edge on the path from `from` towards `to` (`to` is reachable from `from`).
static const struct edge *first_edge(uint16_t from, uint16_t to) {
    if (table.direct[from] & (1ull << to))
        return edge_find(from, to);
    for (uint16_t n = 0; n < table.classes; n++)
        if ((table.direct[from] & (1ull << n)) && (table.reach[n] & (1ull << to)))
            return edge_find(from, n);
    return NULL;
}

// Prints the recorded path from `from` to `to` (one exists: `to` is reachable), edge by edge.
static void print_path(uint16_t from, uint16_t to) {
    uint16_t at = from;
    for (unsigned steps = 0; at != to && steps < LOCKDEP_MAX_CLASSES; steps++) {
        const struct edge *e = first_edge(at, to);
        if (!e)
            break;  // the edge list was full when it was recorded
        uint16_t next = e->to;
        kprintf("  earlier, %s was held when %s was taken (cpu %u):\n", table.names[at],
                table.names[next], e->cpu);
        print_site("held:", table.names[at], e->from_site);
        print_site("took:", table.names[next], e->to_site);
        at = next;
    }
}

// Records held→taking, or panics if taking→...→held is already known. Caller holds table_lock.
static void order_add_locked(const struct lockdep_entry *held, uint16_t taking, const char *name,
                             vaddr_t site, uint64_t flags) {
    ASSERT(table_held());
    uint16_t h = held->class_id;
    if (table.direct[h] & (1ull << taking))
        return;  // another CPU recorded it meanwhile
    if (table.reach[taking] & (1ull << h)) {
        // Printing takes the console lock, which comes through here: let go of the table first
        // (it only grows, so reading it unlocked to print is safe enough for a dying kernel).
        const struct edge *e = first_edge(taking, h);
        last_report = (struct lockdep_report){
            .held = table.names[h], .taking = name, .held_site = held->site,
            .taking_site = site, .cpu = arch_cpu_num(),
            .earlier_first = e ? table.names[e->from] : NULL,
            .earlier_then = e ? table.names[e->to] : NULL,
            .earlier_first_site = e ? e->from_site : 0, .earlier_then_site = e ? e->to_site : 0,
            .earlier_cpu = e ? e->cpu : 0};
        have_report = true;
        table_release(flags);
        kprintf("\nlockdep: lock order inversion: taking %s while holding %s (cpu %u)\n", name,
                table.names[h], last_report.cpu);
        print_site("held:", table.names[h], held->site);
        print_site("taking:", name, site);
        print_path(taking, h);
        panic("lockdep: lock order inversion: %s taken while holding %s, the reverse of an "
              "earlier order", name, table.names[h]);
    }
    // Everything that reaches h (and h itself) now reaches `taking` and all it reaches.
    uint64_t add = table.reach[taking] | (1ull << taking);
    for (unsigned x = 0; x < table.classes; x++)
        if (x == h || (table.reach[x] & (1ull << h)))
            table.reach[x] |= add;
    table.direct[h] |= 1ull << taking;
    __atomic_store_n(&table.pred[taking], table.pred[taking] | (1ull << h), __ATOMIC_RELAXED);
    if (table.nedges < MAX_EDGES)
        table.edges[table.nedges++] = (struct edge){h, taking, held->site, site, arch_cpu_num()};
}

// True if every class in `held` (other than c itself) is already recorded as taken before c.
static bool all_known(uint64_t held, uint16_t c) {
    uint64_t known = __atomic_load_n(&table.pred[c], __ATOMIC_RELAXED) | (1ull << c);
    return (held & ~known) == 0;
}

static void check_against(const struct lockdep_held *held, uint16_t c, const char *name,
                          vaddr_t site, uint64_t flags) {
    if (!held)
        return;
    for (uint32_t i = 0; i < held->depth; i++)
        if (held->e[i].class_id != c)
            order_add_locked(&held->e[i], c, name, site, flags);
}

static void push(struct lockdep_held *held, uint16_t c, const void *lock, vaddr_t site) {
    ASSERT_MSG(held->depth < LOCKDEP_MAX_HELD, "lockdep: more than %d locks held (taking %p)",
               LOCKDEP_MAX_HELD, lock);
    held->e[held->depth++] = (struct lockdep_entry){lock, site, c};
    held->classes |= 1ull << c;
}

static void pop(struct lockdep_held *held, const void *lock) {
    for (uint32_t i = held->depth; i-- > 0;) {
        if (held->e[i].lock == lock) {
            held->e[i] = held->e[--held->depth];  // order within the stack does not matter
            held->classes = 0;
            for (uint32_t j = 0; j < held->depth; j++)
                held->classes |= 1ull << held->e[j].class_id;
            return;
        }
    }
    panic("lockdep: releasing %p, which is not recorded as held", lock);
}

static uint64_t classes_of(const struct lockdep_held *held) {
    return held ? held->classes : 0;
}

// The slow path: some held class has no recorded order with c yet.
static void check_and_record(const struct lockdep_held *mine, const struct lockdep_held *other,
                             uint16_t c, const char *name, vaddr_t site) {
    uint64_t flags = table_acquire();
    check_against(mine, c, name, site, flags);
    check_against(other, c, name, site, flags);
    table_release(flags);
}

void lockdep_spin_acquire(uint16_t *class_cache, const char *name, const void *lock,
                          vaddr_t site) {
    // Interrupts are off: this CPU's stack is ours alone. The current thread's mutexes count
    // too. In an interrupt handler they belong to the interrupted thread, which gives extra
    // "mutex before spinlock" orders; those can only clash with a spinlock held while taking a
    // mutex, which is a bug anyway (a mutex may sleep).
    struct lockdep_held *mine = this_cpu_held();
    struct lockdep_held *thread = this_thread_held();
    uint16_t c = class_of(class_cache, name);
    if (unlikely(!all_known(mine->classes | classes_of(thread), c)))
        check_and_record(mine, thread, c, name, site);
    push(mine, c, lock, site);
}

void lockdep_spin_release(const void *lock) {
    pop(this_cpu_held(), lock);
}

void lockdep_mutex_acquire(uint16_t *class_cache, const char *name, const void *lock,
                           vaddr_t site) {
    struct lockdep_held *mine = this_thread_held();
    if (!mine)
        return;
    // With interrupts on this thread holds no spinlock (and only it touches its own stack); with
    // them off, this CPU's spinlock stack is exactly what this thread holds (taking a mutex under
    // a spinlock is a bug of its own, but the order is still worth checking).
    const struct lockdep_held *spins = (read_rflags() & RFLAGS_IF) ? NULL : this_cpu_held();
    uint16_t c = class_of(class_cache, name);
    if (unlikely(!all_known(mine->classes | classes_of(spins), c)))
        check_and_record(mine, spins, c, name, site);
    push(mine, c, lock, site);
}

void lockdep_mutex_release(const void *lock) {
    struct lockdep_held *mine = this_thread_held();
    if (mine)
        pop(mine, lock);
}

bool lockdep_order_seen(const char *first, const char *then) {
    uint64_t flags = table_acquire();
    bool seen = false;
    int a = -1, b = -1;
    for (unsigned i = 0; i < table.classes; i++) {
        if (strcmp(table.names[i], first) == 0)
            a = (int)i;
        if (strcmp(table.names[i], then) == 0)
            b = (int)i;
    }
    if (a >= 0 && b >= 0)
        seen = table.reach[a] & (1ull << b);
    table_release(flags);
    return seen;
}

bool lockdep_last_report(struct lockdep_report *out) {
    uint64_t flags = table_acquire();
    bool have = have_report;
    if (have)
        *out = last_report;
    table_release(flags);
    return have;
}

#endif  // JASPER_LOCKDEP
