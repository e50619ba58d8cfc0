// Spin-lock algorithms alone (no interrupts, no holder check, no lockdep): the test-and-test-and-set
// lock the kernel's spinlocks are built on (spinlock_arch.h, kernel/spinlock.h), and the ticket and
// MCS locks the contention benchmark (test/kernel/bench_spinlock.c) measures it against.
// docs/smp.md ("Locks") has the figures and why test-and-test-and-set won.
#ifndef ARCH_X86_64_SPINLOCK_ALGO_H
#define ARCH_X86_64_SPINLOCK_ALGO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "arch/x86_64/cpu.h"

// Ticket: one fetch-add takes a ticket, the holder's release lets the next ticket in (FIFO).
// Invariant: *serving is written only by the holder.
static inline void ticket_acquire(uint32_t *next, uint32_t *serving) {
    uint32_t ticket = __atomic_fetch_add(next, 1, __ATOMIC_RELAXED);
    while (__atomic_load_n(serving, __ATOMIC_ACQUIRE) != ticket)
        cpu_pause();
}
static inline void ticket_release(uint32_t *serving) {
    __atomic_store_n(serving, *serving + 1, __ATOMIC_RELEASE);
}

// Test-and-test-and-set: whoever swaps 0 → 1 first wins; waiters spin on plain reads (the line
// stays shared) and retry the swap when it reads 0. No order among waiters.
static inline void tas_acquire(uint32_t *word) {
    while (__atomic_exchange_n(word, 1, __ATOMIC_ACQUIRE))
        while (__atomic_load_n(word, __ATOMIC_RELAXED))
            cpu_pause();
}
static inline void tas_release(uint32_t *word) {
    __atomic_store_n(word, 0, __ATOMIC_RELEASE);
}

// MCS: a queue of per-waiter nodes; each waiter spins on its own node, which its predecessor's
// release writes (FIFO, one cache line moved per hand-over). `tail` is the lock.
struct mcs_node {
    struct mcs_node *next;
    uint32_t locked;
};
static inline void mcs_acquire(struct mcs_node **tail, struct mcs_node *me) {
    __atomic_store_n(&me->next, NULL, __ATOMIC_RELAXED);
    __atomic_store_n(&me->locked, 1, __ATOMIC_RELAXED);
    struct mcs_node *prev = __atomic_exchange_n(tail, me, __ATOMIC_ACQ_REL);
    if (!prev)
        return;
    __atomic_store_n(&prev->next, me, __ATOMIC_RELEASE);
    while (__atomic_load_n(&me->locked, __ATOMIC_ACQUIRE))
        cpu_pause();
}
static inline void mcs_release(struct mcs_node **tail, struct mcs_node *me) {
    struct mcs_node *next = __atomic_load_n(&me->next, __ATOMIC_ACQUIRE);
    if (!next) {
        struct mcs_node *expected = me;
        if (__atomic_compare_exchange_n(tail, &expected, NULL, false, __ATOMIC_RELEASE,
                                        __ATOMIC_RELAXED))
            return;
        // A successor swapped itself in and is about to link itself behind us.
        while (!(next = __atomic_load_n(&me->next, __ATOMIC_ACQUIRE)))
            cpu_pause();
    }
    __atomic_store_n(&next->locked, 0, __ATOMIC_RELEASE);
}

#endif  // ARCH_X86_64_SPINLOCK_ALGO_H
