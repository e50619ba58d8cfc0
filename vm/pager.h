// Pager objects (ZX_OBJ_TYPE_PAGER, docs/abi.md §9, docs/pager.md): the kernel side of a
// user-space pager. A pager creates pager-backed VMOs (each with a page source, vm/page_source.h)
// whose page requests go to a port, supplies their pages, fails requests, and tracks writeback.
// Every function below checks what it is given and returns the documented status; the syscall
// layer (syscalls/sys_pager.c) checks handles and rights only.
//
// Locking: a pager's lock guards its list of sources and `closed`; it nests inside a pager VMO's
// tree lock (tree -> pager). Closing the pager's last handle detaches every VMO it still has.
#ifndef VM_PAGER_H
#define VM_PAGER_H

#include <zircon/types.h>

#include "kernel/object.h"

struct pager;
struct vmo;

// Creates a pager; the caller holds the one reference. ZX_ERR_NO_MEMORY.
zx_status_t pager_create(struct kobject **out) MUST_USE;
struct pager *pager_from_object(struct kobject *obj);

// A pager VMO of `size` bytes (rounded up) whose requests go to `port` (a port object) with
// `key`. options: ZX_VMO_RESIZABLE | ZX_VMO_TRAP_DIRTY, else ZX_ERR_INVALID_ARGS;
// ZX_ERR_OUT_OF_RANGE (size), ZX_ERR_NO_MEMORY. The caller holds the one reference.
zx_status_t pager_create_vmo(struct pager *pager, uint32_t options, struct kobject *port,
                             uint64_t key, uint64_t size, struct vmo **out) MUST_USE;
// No more requests for `vmo`: waiting and later accesses to missing pages fail with
// ZX_ERR_BAD_STATE; one COMPLETE packet. ZX_ERR_INVALID_ARGS (not this pager's VMO).
zx_status_t pager_detach_vmo(struct pager *pager, struct vmo *vmo) MUST_USE;
// Moves [aux_offset, + length) of `aux` into [offset, + length) of `vmo`. ZX_ERR_INVALID_ARGS
// (not this pager's VMO; unaligned), ZX_ERR_OUT_OF_RANGE (past either size), ZX_ERR_BAD_STATE
// (detached; aux not a childless VMO from zx_vmo_create), ZX_ERR_NO_MEMORY.
zx_status_t pager_supply_pages(struct pager *pager, struct vmo *vmo, uint64_t offset,
                               uint64_t length, struct vmo *aux, uint64_t aux_offset) MUST_USE;
// ZX_PAGER_OP_*: ZX_ERR_NOT_SUPPORTED (unknown op), ZX_ERR_INVALID_ARGS (not this pager's VMO;
// unaligned; a FAIL status or data not allowed), ZX_ERR_OUT_OF_RANGE (past the size),
// ZX_ERR_BAD_STATE (FAIL or DIRTY after detach), ZX_ERR_NOT_FOUND (DIRTY over missing pages),
// ZX_ERR_NO_MEMORY.
zx_status_t pager_op_range(struct pager *pager, uint32_t op, struct vmo *vmo, uint64_t offset,
                           uint64_t length, uint64_t data) MUST_USE;
// Up to `max` dirty ranges of [offset, offset + length) (rounded out to pages) into out[], and
// how many there are in *out_avail. ZX_ERR_INVALID_ARGS (not this pager's VMO),
// ZX_ERR_OUT_OF_RANGE.
zx_status_t pager_query_dirty_ranges(struct pager *pager, struct vmo *vmo, uint64_t offset,
                                     uint64_t length, zx_vmo_dirty_range_t *out, size_t max,
                                     size_t *out_actual, size_t *out_avail) MUST_USE;
// ZX_ERR_INVALID_ARGS (not this pager's VMO; options other than ZX_PAGER_RESET_VMO_STATS).
zx_status_t pager_query_vmo_stats(struct pager *pager, struct vmo *vmo, uint32_t options,
                                  zx_pager_vmo_stats_t *out) MUST_USE;

// Test and benchmark hooks: requests sent, and pages supplied, by `vmo`'s source (0 if none).
void pager_vmo_counts(struct vmo *vmo, uint64_t *out_requests, uint64_t *out_supplied);
// Evicts `vmo`'s clean page at `offset` (tests and the reclaimer): true if it did.
bool pager_evict_page(struct vmo *vmo, uint64_t offset);

#endif  // VM_PAGER_H
