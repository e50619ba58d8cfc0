// VMO tests on the real pmm (in the kernel) and over simulated RAM (host): plain VMOs -- create,
// read, write, sizes, content size, op_range, faults, look-ups, info -- with page counts checked
// to return exactly. Clone trees are in cow_test.c.
#include "kernel/ktest.h"
#include "kernel/object.h"
#include "kernel/string.h"
#include "vm/cow_pages.h"
#include "vm/pmm.h"
#include "vm/vmo.h"

#define P ((uint64_t)PAGE_SIZE)

static void close_vmo(struct vmo *v) {
    kobject_release(vmo_object(v));
}

static uint8_t byte_at(struct vmo *v, uint64_t offset) {
    uint8_t b = 0xee;
    EXPECT_OK(vmo_read(v, &b, offset, 1));
    return b;
}

static zx_info_vmo_t info_of(struct vmo *v) {
    zx_info_vmo_t i;
    vmo_get_info(v, &i);
    return i;
}

KTEST(vmo, create_rounds_and_validates) {
    size_t vmo_pages = pmm_count(PAGE_STATE_VMO), free_pages = pmm_count(PAGE_STATE_FREE);
    struct vmo *v;
    REQUIRE_OK(vmo_create(5000, 0, &v));
    EXPECT_EQ(vmo_get_size(v), 2 * P);
    EXPECT_EQ(vmo_get_content_size(v), 5000u);
    EXPECT_FALSE(vmo_is_resizable(v));
    EXPECT_EQ(kobject_signals(vmo_object(v)) & ZX_VMO_ZERO_CHILDREN, ZX_VMO_ZERO_CHILDREN);
    EXPECT_EQ(pmm_count(PAGE_STATE_VMO), vmo_pages);  // nothing committed
    close_vmo(v);
    REQUIRE_OK(vmo_create(0, ZX_VMO_RESIZABLE, &v));
    EXPECT_EQ(vmo_get_size(v), 0u);
    EXPECT_TRUE(vmo_is_resizable(v));
    close_vmo(v);
    EXPECT_STATUS(vmo_create(P, 1, &v), ZX_ERR_INVALID_ARGS);
    EXPECT_STATUS(vmo_create(P, 4, &v), ZX_ERR_INVALID_ARGS);
    EXPECT_STATUS(vmo_create(UINT64_MAX, 0, &v), ZX_ERR_OUT_OF_RANGE);
    EXPECT_STATUS(vmo_create(UINT64_MAX - P + 2, 0, &v), ZX_ERR_OUT_OF_RANGE);
    EXPECT_STATUS(vmo_create(VMPL_MAX_SIZE + 1, 0, &v), ZX_ERR_OUT_OF_RANGE);
    // The largest size works and commits nothing.
    REQUIRE_OK(vmo_create(VMPL_MAX_SIZE, 0, &v));
    EXPECT_EQ(vmo_get_size(v), VMPL_MAX_SIZE);
    uint8_t b = 7;
    EXPECT_OK(vmo_write(v, &b, VMPL_MAX_SIZE - 1, 1));
    EXPECT_EQ(byte_at(v, VMPL_MAX_SIZE - 1), 7u);
    close_vmo(v);
    EXPECT_EQ(pmm_count(PAGE_STATE_VMO), vmo_pages);
    EXPECT_EQ(pmm_count(PAGE_STATE_FREE), free_pages);
}

KTEST(vmo, read_write_ranges) {
    size_t vmo_pages = pmm_count(PAGE_STATE_VMO);
    struct vmo *v;
    REQUIRE_OK(vmo_create(4 * P, 0, &v));
    static uint8_t buf[3 * PAGE_SIZE];
    memset(buf, 0x5a, sizeof(buf));
    // Reads of uncommitted content are zero and commit nothing.
    EXPECT_OK(vmo_read(v, buf, 100, sizeof(buf)));
    for (size_t i = 0; i < sizeof(buf); i++) {
        if (buf[i] != 0) {
            EXPECT_EQ(buf[i], 0u);
            break;
        }
    }
    EXPECT_EQ(pmm_count(PAGE_STATE_VMO), vmo_pages);
    // An unaligned write over parts of three pages commits exactly those three.
    for (size_t i = 0; i < sizeof(buf); i++)
        buf[i] = (uint8_t)(i * 7 + 1);
    EXPECT_OK(vmo_write(v, buf, P - 10, 2 * P + 10));
    EXPECT_EQ(pmm_count(PAGE_STATE_VMO), vmo_pages + 3);
    static uint8_t back[3 * PAGE_SIZE];
    EXPECT_OK(vmo_read(v, back, P - 10, 2 * P + 10));
    EXPECT_EQ(memcmp(buf, back, 2 * P + 10), 0);
    EXPECT_EQ(byte_at(v, P - 11), 0u);
    EXPECT_EQ(byte_at(v, 3 * P + 10), 0u);
    // Bounds: zero bytes at the end is fine, anything past it or overflowing is not.
    EXPECT_OK(vmo_read(v, buf, 4 * P, 0));
    EXPECT_OK(vmo_write(v, buf, 4 * P, 0));
    EXPECT_STATUS(vmo_read(v, buf, 4 * P, 1), ZX_ERR_OUT_OF_RANGE);
    EXPECT_STATUS(vmo_write(v, buf, 4 * P - 1, 2), ZX_ERR_OUT_OF_RANGE);
    EXPECT_STATUS(vmo_read(v, buf, 4 * P + 1, 0), ZX_ERR_OUT_OF_RANGE);
    EXPECT_STATUS(vmo_read(v, buf, UINT64_MAX, 2), ZX_ERR_OUT_OF_RANGE);
    EXPECT_STATUS(vmo_write(v, buf, 1, SIZE_MAX), ZX_ERR_OUT_OF_RANGE);
    zx_info_vmo_t i = info_of(v);
    EXPECT_EQ(i.committed_bytes, 3 * P);
    EXPECT_EQ(i.committed_private_bytes, 3 * P);
    EXPECT_EQ(i.committed_scaled_bytes, 3 * P);
    EXPECT_EQ(i.populated_bytes, 3 * P);
    EXPECT_EQ(vmo_total_bytes(), (uint64_t)pmm_count(PAGE_STATE_VMO) * P);
    EXPECT_TRUE(vmo_check_tree(v));
    close_vmo(v);
    EXPECT_EQ(pmm_count(PAGE_STATE_VMO), vmo_pages);
}

KTEST(vmo, set_size) {
    size_t vmo_pages = pmm_count(PAGE_STATE_VMO);
    struct vmo *v;
    REQUIRE_OK(vmo_create(4 * P, 0, &v));
    EXPECT_STATUS(vmo_set_size(v, P), ZX_ERR_UNAVAILABLE);
    close_vmo(v);
    REQUIRE_OK(vmo_create(4 * P, ZX_VMO_RESIZABLE, &v));
    static uint8_t buf[4 * PAGE_SIZE];
    memset(buf, 0xab, sizeof(buf));
    EXPECT_OK(vmo_write(v, buf, 0, sizeof(buf)));
    EXPECT_EQ(pmm_count(PAGE_STATE_VMO), vmo_pages + 4);
    // Shrink to an unaligned size: the tail of the last page reads zero, later pages are freed.
    EXPECT_OK(vmo_set_size(v, P + 100));
    EXPECT_EQ(vmo_get_size(v), 2 * P);
    EXPECT_EQ(vmo_get_content_size(v), P + 100);
    EXPECT_EQ(pmm_count(PAGE_STATE_VMO), vmo_pages + 2);
    EXPECT_EQ(byte_at(v, P + 99), 0xabu);
    EXPECT_EQ(byte_at(v, P + 100), 0u);
    EXPECT_EQ(byte_at(v, 2 * P - 1), 0u);
    // Growing reads zeros.
    EXPECT_OK(vmo_set_size(v, 4 * P));
    EXPECT_EQ(byte_at(v, 3 * P), 0u);
    EXPECT_EQ(byte_at(v, 0), 0xabu);
    EXPECT_STATUS(vmo_set_size(v, UINT64_MAX), ZX_ERR_OUT_OF_RANGE);
    EXPECT_STATUS(vmo_set_size(v, VMPL_MAX_SIZE + 1), ZX_ERR_OUT_OF_RANGE);
    EXPECT_OK(vmo_set_size(v, 0));
    EXPECT_EQ(pmm_count(PAGE_STATE_VMO), vmo_pages);
    EXPECT_TRUE(vmo_check_tree(v));
    close_vmo(v);
}

KTEST(vmo, content_size_and_name) {
    struct vmo *v;
    REQUIRE_OK(vmo_create(3 * P, 0, &v));
    EXPECT_OK(vmo_set_content_size(v, 10));
    EXPECT_EQ(vmo_get_content_size(v), 10u);
    EXPECT_OK(vmo_set_content_size(v, 3 * P));
    EXPECT_STATUS(vmo_set_content_size(v, 3 * P + 1), ZX_ERR_OUT_OF_RANGE);
    char name[ZX_MAX_NAME_LEN];
    vmo_get_name(v, name);
    EXPECT_EQ(name[0], 0);
    vmo_set_name(v, "a-rather-long-name-that-does-not-fit-at-all", 43);
    vmo_get_name(v, name);
    EXPECT_EQ(strnlen(name, ZX_MAX_NAME_LEN), (size_t)ZX_MAX_NAME_LEN - 1);
    EXPECT_EQ(memcmp(name, "a-rather-long-name-that-does-no", 31), 0);
    zx_info_vmo_t i = info_of(v);
    EXPECT_EQ(memcmp(i.name, name, ZX_MAX_NAME_LEN), 0);
    EXPECT_EQ(i.koid, vmo_object(v)->koid);
    EXPECT_EQ(i.size_bytes, 3 * P);
    EXPECT_EQ(i.parent_koid, 0u);
    EXPECT_EQ(i.num_children, 0u);
    EXPECT_EQ(i.num_mappings, 0u);
    EXPECT_EQ(i.share_count, 1u);
    EXPECT_EQ(i.flags, ZX_INFO_VMO_TYPE_PAGED);
    close_vmo(v);
}

KTEST(vmo, op_range_commit_decommit_zero) {
    size_t vmo_pages = pmm_count(PAGE_STATE_VMO);
    struct vmo *v;
    REQUIRE_OK(vmo_create(8 * P, 0, &v));
    // COMMIT rounds outward and commits zero pages.
    EXPECT_OK(vmo_op_range(v, ZX_VMO_OP_COMMIT, P + 1, P));
    EXPECT_EQ(pmm_count(PAGE_STATE_VMO), vmo_pages + 2);
    EXPECT_EQ(byte_at(v, P + 5), 0u);
    // A range past the end (or overflowing) is out of range and does nothing: never trimmed.
    EXPECT_STATUS(vmo_op_range(v, ZX_VMO_OP_COMMIT, 6 * P, 100 * P), ZX_ERR_OUT_OF_RANGE);
    EXPECT_STATUS(vmo_op_range(v, ZX_VMO_OP_COMMIT, 8 * P, P), ZX_ERR_OUT_OF_RANGE);
    EXPECT_STATUS(vmo_op_range(v, ZX_VMO_OP_COMMIT, 8 * P + 1, 0), ZX_ERR_OUT_OF_RANGE);
    EXPECT_STATUS(vmo_op_range(v, ZX_VMO_OP_COMMIT, P, UINT64_MAX), ZX_ERR_OUT_OF_RANGE);
    EXPECT_EQ(pmm_count(PAGE_STATE_VMO), vmo_pages + 2);
    EXPECT_OK(vmo_op_range(v, ZX_VMO_OP_COMMIT, 6 * P, 2 * P));
    EXPECT_EQ(pmm_count(PAGE_STATE_VMO), vmo_pages + 4);
    EXPECT_OK(vmo_op_range(v, ZX_VMO_OP_COMMIT, 8 * P, 0));
    EXPECT_OK(vmo_op_range(v, ZX_VMO_OP_COMMIT, 0, 8 * P));
    EXPECT_EQ(pmm_count(PAGE_STATE_VMO), vmo_pages + 8);
    // DECOMMIT needs alignment and frees.
    EXPECT_STATUS(vmo_op_range(v, ZX_VMO_OP_DECOMMIT, 1, P), ZX_ERR_INVALID_ARGS);
    EXPECT_STATUS(vmo_op_range(v, ZX_VMO_OP_DECOMMIT, 0, 1), ZX_ERR_INVALID_ARGS);
    EXPECT_STATUS(vmo_op_range(v, ZX_VMO_OP_DECOMMIT, 9 * P, P), ZX_ERR_OUT_OF_RANGE);
    EXPECT_STATUS(vmo_op_range(v, ZX_VMO_OP_DECOMMIT, 6 * P, 4 * P), ZX_ERR_OUT_OF_RANGE);
    EXPECT_EQ(pmm_count(PAGE_STATE_VMO), vmo_pages + 8);
    EXPECT_OK(vmo_op_range(v, ZX_VMO_OP_DECOMMIT, 6 * P, 2 * P));
    EXPECT_EQ(pmm_count(PAGE_STATE_VMO), vmo_pages + 6);
    // ZERO: partial pages are zeroed in place, whole pages freed.
    static uint8_t buf[8 * PAGE_SIZE];
    memset(buf, 0x11, sizeof(buf));
    EXPECT_OK(vmo_write(v, buf, 0, 6 * P));
    EXPECT_OK(vmo_op_range(v, ZX_VMO_OP_ZERO, 100, 3 * P));
    EXPECT_EQ(byte_at(v, 99), 0x11u);
    EXPECT_EQ(byte_at(v, 100), 0u);
    EXPECT_EQ(byte_at(v, 3 * P + 99), 0u);
    EXPECT_EQ(byte_at(v, 3 * P + 100), 0x11u);
    EXPECT_EQ(pmm_count(PAGE_STATE_VMO), vmo_pages + 4);  // pages 1 and 2 freed
    // ZERO of uncommitted content commits nothing; inside one page too.
    EXPECT_OK(vmo_op_range(v, ZX_VMO_OP_ZERO, 6 * P + 10, 20));
    EXPECT_OK(vmo_op_range(v, ZX_VMO_OP_ZERO, 5 * P + 10, 20));
    EXPECT_EQ(byte_at(v, 5 * P + 9), 0x11u);
    EXPECT_EQ(byte_at(v, 5 * P + 10), 0u);
    EXPECT_EQ(byte_at(v, 5 * P + 30), 0x11u);
    EXPECT_EQ(pmm_count(PAGE_STATE_VMO), vmo_pages + 4);
    EXPECT_STATUS(vmo_op_range(v, ZX_VMO_OP_ZERO, 8 * P + 1, 1), ZX_ERR_OUT_OF_RANGE);
    // Other ops.
    EXPECT_STATUS(vmo_op_range(v, ZX_VMO_OP_LOCK, 0, P), ZX_ERR_NOT_SUPPORTED);
    EXPECT_STATUS(vmo_op_range(v, ZX_VMO_OP_UNLOCK, 0, P), ZX_ERR_NOT_SUPPORTED);
    EXPECT_OK(vmo_op_range(v, ZX_VMO_OP_CACHE_SYNC, 0, P));
    EXPECT_STATUS(vmo_op_range(v, ZX_VMO_OP_CACHE_CLEAN, 0, 0), ZX_ERR_INVALID_ARGS);
    EXPECT_STATUS(vmo_op_range(v, ZX_VMO_OP_CACHE_CLEAN, 8 * P, 1), ZX_ERR_OUT_OF_RANGE);
    EXPECT_STATUS(vmo_op_range(v, 5, 0, P), ZX_ERR_INVALID_ARGS);
    EXPECT_STATUS(vmo_op_range(v, 1000, 0, P), ZX_ERR_INVALID_ARGS);
    EXPECT_TRUE(vmo_check_tree(v));
    close_vmo(v);
    EXPECT_EQ(pmm_count(PAGE_STATE_VMO), vmo_pages);
}

struct lookup_rec {
    size_t n;
    uint64_t offsets[16];
    paddr_t pas[16];
    bool writable[16];
};

static zx_status_t record_page(void *ctx, uint64_t offset, paddr_t pa, bool writable) {
    struct lookup_rec *r = ctx;
    if (r->n < 16) {
        r->offsets[r->n] = offset;
        r->pas[r->n] = pa;
        r->writable[r->n] = writable;
    }
    r->n++;
    return ZX_ERR_NEXT;
}

static zx_status_t stop_after_one(void *ctx, uint64_t offset, paddr_t pa, bool writable) {
    record_page(ctx, offset, pa, writable);
    return ZX_ERR_STOP;
}

KTEST(vmo, fault_and_lookup) {
    size_t vmo_pages = pmm_count(PAGE_STATE_VMO);
    struct vmo *v;
    REQUIRE_OK(vmo_create(4 * P, 0, &v));
    paddr_t pa, pa2;
    bool w;
    // A read of zero content gives the shared zero page, read-only, committing nothing.
    REQUIRE_OK(vmo_fault_page(v, P, 0, &pa, &w));
    EXPECT_FALSE(w);
    vm_page_t *zp = pmm_page_from_paddr(pa);
    REQUIRE_TRUE(zp != NULL);
    EXPECT_EQ(zp->state, PAGE_STATE_ZERO);
    EXPECT_EQ(pmm_count(PAGE_STATE_VMO), vmo_pages);
    REQUIRE_OK(vmo_fault_page(v, 2 * P + 123, 0, &pa2, &w));
    EXPECT_EQ(pa2, pa);
    // A write commits a zeroed page, writable; a later read finds it writable too.
    REQUIRE_OK(vmo_fault_page(v, P, VMO_FAULT_WRITE, &pa, &w));
    EXPECT_TRUE(w);
    EXPECT_EQ(pmm_page_from_paddr(pa)->state, PAGE_STATE_VMO);
    REQUIRE_OK(vmo_fault_page(v, P + 8, 0, &pa2, &w));
    EXPECT_EQ(pa2, pa);
    EXPECT_TRUE(w);
    EXPECT_EQ(pmm_count(PAGE_STATE_VMO), vmo_pages + 1);
    EXPECT_STATUS(vmo_fault_page(v, 4 * P, 0, &pa, &w), ZX_ERR_OUT_OF_RANGE);
    uint8_t b = 9;
    EXPECT_OK(vmo_write(v, &b, 3 * P, 1));
    struct lookup_rec r = {0};
    EXPECT_OK(vmo_lookup_pages(v, 0, 4 * P, record_page, &r));
    EXPECT_EQ(r.n, 2u);
    EXPECT_EQ(r.offsets[0], P);
    EXPECT_EQ(r.offsets[1], 3 * P);
    EXPECT_EQ(r.pas[0], pa);
    EXPECT_TRUE(r.writable[0] && r.writable[1]);
    // Clipped to the size; unaligned start rounds down; STOP ends the walk with ZX_OK.
    r = (struct lookup_rec){0};
    EXPECT_OK(vmo_lookup_pages(v, 3 * P + 5, UINT64_MAX, record_page, &r));
    EXPECT_EQ(r.n, 1u);
    r = (struct lookup_rec){0};
    EXPECT_OK(vmo_lookup_pages(v, 0, 4 * P, stop_after_one, &r));
    EXPECT_EQ(r.n, 1u);
    close_vmo(v);
    EXPECT_EQ(pmm_count(PAGE_STATE_VMO), vmo_pages);
}

KTEST(vmo, zero_page_lives_with_vmos) {
    size_t zero = pmm_count(PAGE_STATE_ZERO);
    struct vmo *a, *b;
    REQUIRE_OK(vmo_create(P, 0, &a));
    EXPECT_EQ(pmm_count(PAGE_STATE_ZERO), zero + 1);
    REQUIRE_OK(vmo_create(P, 0, &b));
    EXPECT_EQ(pmm_count(PAGE_STATE_ZERO), zero + 1);
    close_vmo(a);
    EXPECT_EQ(pmm_count(PAGE_STATE_ZERO), zero + 1);
    close_vmo(b);
    EXPECT_EQ(pmm_count(PAGE_STATE_ZERO), zero);
}
