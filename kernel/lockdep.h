// The lock-order checker ("lockdep"): every spinlock and mutex belongs to a class named by its
// init name ("aspace", "cow_tree", "pmm", ...). Each acquisition is checked against the locks the
// caller already holds; the first time class B is taken while A is held, "A before B" is recorded
// in a global table (with both acquisition sites), and taking A while holding B after that — or
// closing any longer cycle — panics, printing the sites of both orders.
//
// Held locks are tracked per CPU for spinlocks (they are held with interrupts off, and the
// scheduler lock passes between threads across a context switch) and per thread for mutexes
// (a thread can block, and later run elsewhere, holding one). Two locks of the same class held
// together are allowed and not recorded (e.g. two address spaces' page-table locks).
//
// On when JASPER_LOCKDEP is 1 (the default follows JASPER_DEBUG, which every build sets; build
// with -DJASPER_LOCKDEP=0 to turn it off). Kernel only: host builds' locks do not call it.
#ifndef KERNEL_LOCKDEP_H
#define KERNEL_LOCKDEP_H

#include <stdbool.h>
#include <stdint.h>

#include "kernel/types.h"

#ifndef JASPER_LOCKDEP
#ifdef JASPER_DEBUG
#define JASPER_LOCKDEP JASPER_DEBUG
#else
#define JASPER_LOCKDEP 1
#endif
#endif

#define LOCKDEP_MAX_HELD 8      // locks one thread (mutexes) or one CPU (spinlocks) holds at once
#define LOCKDEP_MAX_CLASSES 64  // one bit each in the order table's rows
#define LOCKDEP_MAX_CPUS 64

struct lockdep_entry {
    const void *lock;
    vaddr_t site;       // return address of the acquire call
    uint16_t class_id;  // index into the class table
};

// A stack of held locks (releases need not be in LIFO order).
struct lockdep_held {
    uint64_t classes;  // bit per class held (the fast check is one mask test)
    uint32_t depth;
    struct lockdep_entry e[LOCKDEP_MAX_HELD];
};

// Checks taking `lock` (class `name`; *class_cache memoises its class, 0 = not looked up yet) at
// `site` against every lock the caller holds, records new orders, and panics on an inversion.
// Then pushes it on this CPU's stack (spinlocks) or the current thread's (mutexes). A spinlock
// is checked against this CPU's spinlocks and the current thread's mutexes.
#if JASPER_LOCKDEP
void lockdep_spin_acquire(uint16_t *class_cache, const char *name, const void *lock, vaddr_t site);
void lockdep_spin_release(const void *lock);
void lockdep_mutex_acquire(uint16_t *class_cache, const char *name, const void *lock,
                           vaddr_t site);
void lockdep_mutex_release(const void *lock);
#else
static inline void lockdep_spin_acquire(uint16_t *class_cache, const char *name,
                                        const void *lock, vaddr_t site) {}
static inline void lockdep_spin_release(const void *lock) {}
static inline void lockdep_mutex_acquire(uint16_t *class_cache, const char *name,
                                         const void *lock, vaddr_t site) {}
static inline void lockdep_mutex_release(const void *lock) {}
#endif

// True if some lock of class `first` was seen held while one of class `then` was taken (directly
// or through other classes). For tests.
bool lockdep_order_seen(const char *first, const char *then);

// What the last inversion panic reported (for tests): the lock held and the one being taken, with
// their acquisition sites and CPU, and the first recorded edge of the earlier, reverse order (the
// one starting at `taking`) with its two sites and the CPU it was seen on.
struct lockdep_report {
    const char *held, *taking;
    vaddr_t held_site, taking_site;
    uint32_t cpu;
    const char *earlier_first, *earlier_then;
    vaddr_t earlier_first_site, earlier_then_site;
    uint32_t earlier_cpu;
};
// Copies the last report; false if there has been none.
bool lockdep_last_report(struct lockdep_report *out);

#endif  // KERNEL_LOCKDEP_H
