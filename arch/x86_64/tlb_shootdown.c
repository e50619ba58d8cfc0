// TLB shootdowns: making other CPUs drop translations a batch changed (tlb_hw_sync_batch), and
// the IPI_TLB handler that does it on each target.
//
// Protocol: one request at a time, system-wide. The initiator, with interrupts off (it must not
// migrate, and its batch lives on its stack), takes `owner`, publishes the batch and the set of
// CPUs that must acknowledge, sends each one IPI_TLB and spins until every bit is cleared. Only
// then does tlb_batch_finish free the unlinked tables and its caller the unmapped pages: a stale
// entry can no longer reach them. A target invalidates, then clears its bit.
//
// No deadlock: every CPU that waits here (for `owner`, or for acknowledgements) serves a request
// pending for itself while it spins, so two initiators never wait on each other with interrupts
// off. Initiators hold no spinlock (page-table changes run under mutexes), so a target spinning
// on a spinlock with interrupts off always gets it and then takes the IPI.
#include "arch/x86_64/cpu.h"
#include "arch/x86_64/ipi.h"
#include "arch/x86_64/percpu.h"
#include "arch/x86_64/timer.h"
#include "arch/x86_64/tlb.h"
#include "arch/x86_64/tlb_hw.h"
#include "arch/x86_64/tlb_ipi.h"
#include "kernel/assert.h"

// A target that has not acknowledged after this long is stuck with interrupts off: a kernel bug.
#define SHOOTDOWN_TIMEOUT_NS (2000ull * 1000 * 1000)

static struct {
    uint32_t owner;                    // 1 while a request is in flight
    const struct tlb_batch *batch;     // the request: valid while `pending` has bits
    uint64_t pending;                  // CPUs that have not acknowledged yet
} request;

// Serves the request if the calling CPU (interrupts off) is among its targets.
static void serve_pending(void) {
    uint64_t bit = 1ull << arch_cpu_num();
    if (!(__atomic_load_n(&request.pending, __ATOMIC_ACQUIRE) & bit))
        return;
    tlb_batch_invalidate_local(__atomic_load_n(&request.batch, __ATOMIC_RELAXED), false);
    __atomic_fetch_and(&request.pending, ~bit, __ATOMIC_RELEASE);
}

void tlb_ipi_handler(void) {
    serve_pending();
}

static void shootdown(uint64_t cpus, const struct tlb_batch *b) {
    uint32_t free_owner = 0;
    while (!__atomic_compare_exchange_n(&request.owner, &free_owner, 1, false, __ATOMIC_ACQUIRE,
                                        __ATOMIC_RELAXED)) {
        free_owner = 0;
        serve_pending();
        cpu_pause();
    }
    __atomic_store_n(&request.batch, b, __ATOMIC_RELAXED);
    __atomic_store_n(&request.pending, cpus, __ATOMIC_RELEASE);
    uint64_t sent = 0;
    for (uint64_t m = cpus; m; m &= m - 1, sent++)
        ipi_send((unsigned)__builtin_ctzll(m), IPI_TLB);
    zx_time_t deadline = arch_now_ns() + SHOOTDOWN_TIMEOUT_NS;
    uint64_t left;
    while ((left = __atomic_load_n(&request.pending, __ATOMIC_ACQUIRE)) != 0) {
        if (arch_now_ns() > deadline)
            panic("tlb shootdown: CPUs %#llx did not acknowledge in 2 s",
                  (unsigned long long)left);
        cpu_pause();
    }
    __atomic_store_n(&request.batch, NULL, __ATOMIC_RELAXED);
    __atomic_store_n(&request.owner, 0, __ATOMIC_RELEASE);
    __atomic_fetch_add(&tlb_stats.shootdowns, 1, __ATOMIC_RELAXED);
    __atomic_fetch_add(&tlb_stats.shootdown_ipis, sent, __ATOMIC_RELAXED);
}

void tlb_hw_sync_batch(const struct tlb_batch *b) {
    uint64_t flags = irq_save();
    uint64_t self = 1ull << arch_cpu_num();
    uint64_t cpus = tlb_batch_holders(b);
    if (cpus & self)
        tlb_batch_invalidate_local(b, true);
    cpus &= ~self;
    if (cpus && tlb_shootdown_enabled)
        shootdown(cpus, b);
    irq_restore(flags);
}
