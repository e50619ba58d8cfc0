// The user-visible Virtual Memory Object: a kernel object (ZX_OBJ_TYPE_VMO) with a size, a content
// size, a name, a place in a copy-on-write clone tree (vm/cow_pages.h) and the list of mappings
// that show it. Semantics and errors follow docs/abi.md §2-3; every function below documents
// the statuses it returns.
//
// Contract between the VMO layer, the mapping layer (vm/vmar.h) and the syscalls (sys_vmo.c).
//
// Locking: each clone tree has one mutex (the "tree lock"), taken inside these functions (the
// order is in vm/README.md). A VMO function never takes an address-space lock; to change the page
// tables of mappings it calls up with vm_mapping_range_change (vm/upcalls.h), which only touches
// page tables (and their own lower lock).
#ifndef VM_VMO_H
#define VM_VMO_H

#include <zircon/syscalls/object.h>
#include <zircon/types.h>

#include "kernel/object.h"
#include "kernel/types.h"

struct cow_node;
struct vmo;
struct vm_mapping;

// Creates a VMO of `size` bytes (rounded up to pages; 0 allowed). `options`: 0 or
// ZX_VMO_RESIZABLE. Content size starts at `size`; ZX_VMO_ZERO_CHILDREN is asserted.
// ZX_ERR_INVALID_ARGS (unknown option), ZX_ERR_OUT_OF_RANGE (rounding overflows or too large),
// ZX_ERR_NO_MEMORY. The caller holds the one reference.
zx_status_t vmo_create(uint64_t size, uint32_t options, struct vmo **out) MUST_USE;

// Copies between the VMO and a kernel buffer. [offset, offset + len) must lie within the size:
// ZX_ERR_OUT_OF_RANGE otherwise (zero bytes at offset == size is OK). Reads of uncommitted
// content read zeros without committing; writes commit (copy-on-write as needed).
// ZX_ERR_NO_MEMORY. (User buffers go through vmo_transfer.)
zx_status_t vmo_read(struct vmo *vmo, void *dst, uint64_t offset, size_t len) MUST_USE;
zx_status_t vmo_write(struct vmo *vmo, const void *src, uint64_t offset, size_t len) MUST_USE;

// One step of vmo_transfer: moves `n` bytes between `kva` (inside one of the VMO's pages, through
// the physmap) and the caller's memory at position `done` of the transfer. It runs under the
// tree lock, so it must neither fault memory in nor take VM locks. ZX_OK, or a status that stops
// the transfer.
typedef zx_status_t (*vmo_transfer_fn)(void *ctx, void *kva, size_t done, size_t n);

// Moves [offset, offset + len) of the VMO page by page through `fn`, under one hold of the tree
// lock and with no copy of its own: reading (write false) hands `fn` each page's content (the
// shared zero page where nothing is committed; read-only), writing hands it the VMO's own page
// (committed and copied-on-write as vmo_write does). ZX_ERR_OUT_OF_RANGE if the range is not
// within the size (nothing moved), ZX_ERR_NO_MEMORY, or the status `fn` returned. *done: the
// bytes of the steps that completed. vmo_read/vmo_write of syscalls (syscalls/sys_util.c) copy
// straight between these pages and user memory with a copy that does not fault, and fault the
// user page in after this returns.
zx_status_t vmo_transfer(struct vmo *vmo, uint64_t offset, size_t len, bool write,
                         vmo_transfer_fn fn, void *ctx, size_t *done) MUST_USE;

uint64_t vmo_get_size(struct vmo *vmo);
// ZX_ERR_UNAVAILABLE (not resizable), ZX_ERR_OUT_OF_RANGE (rounding overflows or too large),
// ZX_ERR_INVALID_ARGS (the offsets accumulated through the chain of parents plus the new size
// overflow, as docs/abi.md says), ZX_ERR_NO_MEMORY (nothing changed). Content size becomes `size`.
// Shrinking frees what nothing can reach; bytes past the new size in the last page read zero;
// mappings beyond the new end are unmapped.
zx_status_t vmo_set_size(struct vmo *vmo, uint64_t size) MUST_USE;
uint64_t vmo_get_content_size(struct vmo *vmo);
// ZX_ERR_OUT_OF_RANGE if content_size > size.
zx_status_t vmo_set_content_size(struct vmo *vmo, uint64_t content_size) MUST_USE;

// COMMIT, DECOMMIT, ZERO (ZX_VMO_OP_*) with docs/abi.md's alignment, range and NOT_SUPPORTED rules:
// offset + size past the size (or overflowing) is ZX_ERR_OUT_OF_RANGE, never trimmed. COMMIT rounds outward and
// commits private pages (copies of shared content in a clone). DECOMMIT: ZX_ERR_NOT_SUPPORTED on
// a snapshot (or a slice of one) and on a VMO whose node has open snapshot children, then
// ZX_ERR_INVALID_ARGS if offset or size is unaligned. ZERO takes any range, commits nothing and
// frees the pages it wholly covers (hiding shared content with markers or one zero interval).
// LOCK/UNLOCK: ZX_ERR_NOT_SUPPORTED. CACHE_*: ZX_ERR_INVALID_ARGS for size 0, range checked,
// otherwise nothing to do. Other ops: ZX_ERR_INVALID_ARGS. Rights are the caller's business.
// ZX_ERR_NO_MEMORY: pages done before the failure stay done.
zx_status_t vmo_op_range(struct vmo *vmo, uint32_t op, uint64_t offset, uint64_t size) MUST_USE;

// Creates a child (ZX_VMO_CHILD_* options, already validated for unknown bits by the caller or
// here: ZX_ERR_INVALID_ARGS). Errors per docs/abi.md in this order: INVALID_ARGS (unknown bits, not
// exactly one kind, SLICE or NO_WRITE with RESIZABLE), OUT_OF_RANGE (size rounding overflows or
// passes the maximum), INVALID_ARGS (unaligned offset), OUT_OF_RANGE (a snapshot's offset + size
// overflows), INVALID_ARGS (offsets accumulated through the chain overflow; a slice outside the
// parent, offset + size overflow included), NOT_SUPPORTED (a slice of a resizable VMO), NO_MEMORY
// (nothing changed).
// The child's name is the parent's; its content size the unrounded `size`. Before it returns,
// write permission is removed from every mapping of the cloned range of the parent (snapshots).
zx_status_t vmo_create_child(struct vmo *parent, uint32_t options, uint64_t offset, uint64_t size,
                             struct vmo **out) MUST_USE;

// Fills everything in `out` but handle_rights (the caller knows the handle) and the VIA_HANDLE /
// VIA_MAPPING flags.
void vmo_get_info(struct vmo *vmo, zx_info_vmo_t *out);
void vmo_get_name(struct vmo *vmo, char out[ZX_MAX_NAME_LEN]);
void vmo_set_name(struct vmo *vmo, const char *name, size_t len);
bool vmo_is_resizable(struct vmo *vmo);
struct kobject *vmo_object(struct vmo *vmo);
struct vmo *vmo_from_object(struct kobject *obj);

// --- For the mapping layer (vm/vmar.c) ---

// Registers a mapping that shows [offset, offset + len) of the VMO; range changes reach it.
void vmo_add_mapping(struct vmo *vmo, struct vm_mapping *m);
void vmo_remove_mapping(struct vmo *vmo, struct vm_mapping *m);

#define VMO_FAULT_WRITE (1u << 0)
// Resolves a fault at `offset` (page-aligned, < size): on ZX_OK *out_pa is the page to map and
// *out_writable says whether it may be mapped writable (false for the shared zero page and for
// content still shared with other clones when the fault was a read). A write fault makes the page
// the VMO's own (zero-fill, copy or move) first. ZX_ERR_OUT_OF_RANGE (offset >= size),
// ZX_ERR_NO_MEMORY.
// Waits for the pager when the page is missing (see vmo_fault_page_or_wait).
zx_status_t vmo_fault_page(struct vmo *vmo, uint64_t offset, uint32_t fault_flags,
                           paddr_t *out_pa, bool *out_writable) MUST_USE;
// vmo_fault_page for callers holding a lock they must drop before waiting for a pager (vm_fault
// holds its address space's): ZX_ERR_SHOULD_WAIT with *out_wait set means "drop your locks, call
// vmo_wait_page_request, then start again" (keep a reference on the VMO meanwhile). Also
// ZX_ERR_BAD_STATE (a detached pager VMO misses the page) and ZX_ERR_NO_MEMORY.
struct page_request;
zx_status_t vmo_fault_page_or_wait(struct vmo *vmo, uint64_t offset, uint32_t fault_flags,
                                   paddr_t *out_pa, bool *out_writable,
                                   struct page_request **out_wait) MUST_USE;
// Waits (no lock held) for a request vmo_fault_page_or_wait returned: ZX_OK (look again), the
// pager's FAIL status, ZX_ERR_BAD_STATE (detached) or ZX_ERR_CANCELED (the thread is killed).
zx_status_t vmo_wait_page_request(struct vmo *vmo, struct page_request *r) MUST_USE;

// --- Pager-backed VMOs (vm/page_source.h, vm/pager.c) ---

struct page_source;
// Creates a VMO whose missing pages `src` (zeroed, owned by the caller until the VMO dies, then
// handed to page_source_release) asks a pager for. options: ZX_VMO_RESIZABLE, ZX_VMO_TRAP_DIRTY
// (checked by the caller). Statuses as vmo_create.
zx_status_t vmo_create_pager_backed(uint64_t size, uint32_t options, struct page_source *src,
                                    struct vmo **out) MUST_USE;
// The VMO's page source (its tree's), or NULL: fixed from creation until the pager VMO dies.
struct page_source *vmo_page_source(struct vmo *vmo);
// Takes [offset, offset + len) (page-aligned) of a plain VMO's content out into *out (pages no
// tree counts any more, vm/page_list.h's splice), unmapping the range: the aux side of
// zx_pager_supply_pages. ZX_ERR_BAD_STATE (a pager VMO, a clone or slice, or a VMO with children
// or a parent), ZX_ERR_OUT_OF_RANGE, ZX_ERR_NO_MEMORY (nothing changed).
struct vmpl_splice;
zx_status_t vmo_take_pages(struct vmo *vmo, uint64_t offset, uint64_t len,
                           struct vmpl_splice *out) MUST_USE;
// Before a multi-page copy: brings [offset, offset + len) of a pager VMO in (and for `write`,
// gets TRAP_DIRTY's consent) with one request per missing run, waiting for them. ZX_OK at once
// for other VMOs. Statuses as vmo_wait_page_request, and ZX_ERR_NO_MEMORY.
zx_status_t vmo_prepare_range(struct vmo *vmo, uint64_t offset, uint64_t len, bool write) MUST_USE;

// Needed by the mapping layer (ZX_VM_MAP_RANGE, ZX_VMAR_OP_MAP_RANGE, fault-around, committed_pages
// of ZX_INFO_PROCESS_MAPS, aspace_check_pagetable): calls fn(ctx, offset, pa, writable), in offset
// order, for every page of [offset, offset + len) (page-aligned; clipped to the size) that has
// content now -- committed in this VMO or visible from an ancestor -- without committing or
// allocating anything; zero content (no page, zero markers or intervals) is skipped. `writable` is
// what vmo_fault_page would say for a read fault there (the page is this VMO's own). fn runs with
// the tree lock held, so it may only touch page tables (vm_mapping_range_change's rules). fn
// returns ZX_ERR_NEXT to go on or ZX_ERR_STOP to end the walk (then ZX_OK); any other status ends
// it and is returned.
typedef zx_status_t (*vmo_page_fn)(void *ctx, uint64_t offset, paddr_t pa, bool writable);
zx_status_t vmo_lookup_pages(struct vmo *vmo, uint64_t offset, uint64_t len, vmo_page_fn fn,
                             void *ctx) MUST_USE;
// The pages of [offset, offset + len) `vmo` has, as vmo_lookup_pages sees them, in runs of
// consecutive offsets with the same writability: run(ctx, offset, pas, n, writable) with
// 1 <= n <= VMO_RUN_MAX, in offset order, under the tree lock (the pages cannot go meanwhile).
// One call per run instead of one per page (MAP_RANGE, fault-around). Returns ZX_OK or the first
// error of `run`, which ends the walk.
#define VMO_RUN_MAX 64
typedef zx_status_t (*vmo_run_fn)(void *ctx, uint64_t offset, const paddr_t *pas, size_t n,
                                  bool writable);
zx_status_t vmo_lookup_page_runs(struct vmo *vmo, uint64_t offset, uint64_t len, vmo_run_fn run,
                                 void *ctx) MUST_USE;

// The identity of the memory behind byte `offset` of `vmo`: the clone-tree node it shows and the
// offset there. A slice answers as the VMO it windows onto; snapshots answer differently (their
// content is their own). Constant while `vmo` lives (futex keys, kernel/futex.c).
void vmo_backing_id(struct vmo *vmo, uint64_t offset, const void **out_id, uint64_t *out_offset);

// Adds the committed pages of [offset, offset + len) of `v` (clipped to its size) to `acc`, as a
// mapping of them in one process sees them (ZX_INFO_TASK_STATS; cow_task_stats_locked says how
// pages are split). The processes sharing them are the distinct address spaces mapping any VMO
// that shows v's clone-tree node (v and its slices). Takes the tree lock: the caller may hold an
// address-space lock, nothing below it.
struct cow_task_stats;
void vmo_task_stats(struct vmo *v, uint64_t offset, uint64_t len, struct cow_task_stats *acc);

// For the clone-tree printer (vm/vmo_dump.c): what each VMO showing node `n` is, passed to fn
// with n's tree lock held (the name is valid only during the call).
struct vmo_view {
    zx_koid_t koid;
    const char *name;
    uint64_t cow_offset, size;   // the VMO's window on n: [cow_offset, cow_offset + size)
    bool slice;
    size_t num_mappings;
};
typedef void (*vmo_view_fn)(const struct vmo_view *view, void *ctx);
void vmo_node_views_locked(struct cow_node *n, vmo_view_fn fn, void *ctx);

// Bytes of VMO-owned pages in the system (ZX_INFO_KMEM_STATS.vmo_bytes).
uint64_t vmo_total_bytes(void);

// --- For tests ---

// The clone-tree node `v` shows; cow_check_tree_locked and cow_tree_count_pages_locked of its
// tree, taking the tree lock.
struct cow_node *vmo_cow_node(struct vmo *v);
bool vmo_check_tree(struct vmo *v);
// vmo_read without side effects: compressed pages are decompressed into `dst` and stay compressed
// (compressions in flight go on). OUT_OF_RANGE as vmo_read.
zx_status_t vmo_peek(struct vmo *v, void *dst, uint64_t offset, size_t len) MUST_USE;
size_t vmo_tree_pages(struct vmo *v);

#endif  // VM_VMO_H
