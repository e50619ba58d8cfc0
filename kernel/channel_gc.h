// The channel cycle collector: endpoints that can never be read again because every handle to
// them is queued in a message that itself can never be read (an endpoint queued on itself, two
// channels queued in each other, any longer ring) are found and their queues emptied, so they
// and everything queued with them are freed.
//
// Reachability: a handle in a table, or held by kernel code, makes its endpoint live; a live
// endpoint's queue can be read, so the endpoints queued on it are live too. An endpoint every one
// of whose references is a handle queued in a message (refs == inflight, kernel/object.h) is a
// candidate; a candidate with a queued handle on a non-candidate is live, and so is every
// candidate reachable from it through candidates' queues (the scheme of Linux's collector for
// in-flight SCM_RIGHTS descriptors). The remaining candidates are garbage.
//
// When: every time an object reaches refs == inflight > 0 a request is counted (kernel/object.c);
// channel_gc_run_pending runs passes until every request counted before it was called is handled.
// The syscall path calls it after every call and the process layer after freeing a process's
// handles, so a cycle a program makes is gone when its call (or the program) ends.
#ifndef KERNEL_CHANNEL_GC_H
#define KERNEL_CHANNEL_GC_H

#include <stddef.h>
#include <stdint.h>

#include "kernel/object.h"

// Requests handled by finished passes (channel_gc.c).
extern uint64_t channel_gc_done_requests;
void channel_gc_run_pending_slow(void);

// Collects every garbage cycle made before the call. No lock may be held (it takes mutexes and
// frees objects). Two loads, inline, when nothing was requested; inside a pass, returns at once
// (the running pass loops until nothing is pending).
static inline void channel_gc_run_pending(void) {
    if (kobject_gc_requests() > __atomic_load_n(&channel_gc_done_requests, __ATOMIC_ACQUIRE))
        channel_gc_run_pending_slow();
}

// Endpoints with handles in flight right now, and endpoints freed as garbage so far: for tests.
size_t channel_gc_inflight_count(void);
size_t channel_gc_collected_count(void);

#endif  // KERNEL_CHANNEL_GC_H
