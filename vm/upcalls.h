// vm/'s upcall interface: every call a lower layer of vm/ makes into a layer above it, declared
// here and nowhere else. The layers, lowest first: cow_pages (clone trees) < vmo < vmar and
// aspace (mappings and address spaces) < the process layer and syscalls. Calls downward are plain
// calls through each layer's own header; calls upward are only the functions below.
//
// The mechanism (the one Zircon's arch/exception.h uses for dispatch_user_exception): plain
// functions, each implemented by the layer named next to it and bound by the linker. There are no
// hook pointers to register and no weak symbols: a program that links a lower layer without the
// layer above fails to link until it supplies a stand-in, so a missing implementation can never
// go unnoticed. Stand-ins: test/host/cow_host_env.c implements vm_mapping_range_change for the
// VMO layer's host tests (it records the calls); every other program links the real layers.
//
// vm/ makes no call into kernel/process or syscalls/: what it needs from above is handed down as
// arguments instead (the address space a fault is in, to vm_fault; the ASLR policy and seed, to
// aslr_init from kmain).
#ifndef VM_UPCALLS_H
#define VM_UPCALLS_H

#include "kernel/types.h"

struct cow_node;
struct tlb_batch;
struct vm_mapping;

// What a range change does to the page tables of the mappings that see the range.
enum vm_range_op {
    VM_RANGE_UNMAP,         // remove the PTEs (a page is being replaced or freed)
    VM_RANGE_REMOVE_WRITE,  // make the PTEs read-only (the range was cloned)
};

// cow_pages -> vmo. Implemented by the VMO layer (vm/vmo.c). Applies `op` to every mapping of
// every VMO that shows visible node `n` over [offset, offset + len) of n's offsets. Called with
// the tree lock held.
void vmo_cow_range_change(struct cow_node *n, uint64_t offset, uint64_t len, enum vm_range_op op);

// vmo -> mappings. Implemented by the address-space layer (vm/aspace.c). Applies `op` to the
// PTEs of mapping `m` over [vmo_offset, vmo_offset + len) of its VMO (clipped to the mapping).
// Called with the tree lock held: it takes only the page-table lock of m's address space, never
// its aspace lock (vm/README.md). The TLB work goes into `batch` (struct tlb_batch, opaque here),
// shared by every mapping one range change reaches; NULL: done before it returns.
void vm_mapping_range_change(struct vm_mapping *m, uint64_t vmo_offset, uint64_t len,
                             enum vm_range_op op, struct tlb_batch *batch);
// vmo -> mappings, around the calls above: vmo_cow_range_change starts one batch and finishes it
// -- one TLB shootdown round for every mapping, in every address space -- before it returns, so
// before its caller frees or copies from a page the change unmapped or write-protected.
void vm_range_batch_init(struct tlb_batch *batch);
void vm_range_batch_finish(struct tlb_batch *batch);

// page_source -> the pager (kernel; vm/pager.c). Queues a page-request packet {key,
// ZX_PKT_TYPE_PAGE_REQUEST, command, offset, length} on the source's port. Tree lock held.
// ZX_ERR_NO_MEMORY: nothing was queued (the caller must not wait for an answer).
struct page_source;
struct page_request;
zx_status_t page_source_send_locked(struct page_source *src, uint16_t command, uint64_t offset,
                                    uint64_t length);
// page_source -> the scheduler (vm/pager.c): marks `r` done and wakes its waiters. Tree lock held.
void page_request_wake(struct page_request *r);
// vmo -> the pager (vm/pager.c): the pager VMO died (its source is detached and no tree names it
// any more): send COMPLETE if still attached, leave the pager, free `src`. No lock held.
void page_source_release(struct page_source *src);

#endif  // VM_UPCALLS_H
