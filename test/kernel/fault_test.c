// The fault path on the real machine: kernel accesses to user memory through the user-copy helpers
// (faults taken in kernel mode on the copy instruction), and ring-3 code taking real user-mode
// faults (test/kernel/user_run.h): zero-fill, zero-page read then write, copy-on-write after a
// clone (and write permission removed from the parent's mapping by the clone), a fault beyond the
// VMO's end, PERM=0 and read-only mappings, executing data. aspace_check_pagetable after each step;
// page counts come back. Kernel only.
#include "arch/x86_64/trap.h"
#include "kernel/assert.h"
#include "kernel/ktest.h"
#include "kernel/string.h"
#include "syscalls/user_copy.h"
#include "test/kernel/aspace_check.h"
#include "test/kernel/user_run.h"
#include "vm/pmm.h"
#include "vm/vmar.h"
#include "vm/vmo.h"

#define PG ((uint64_t)PAGE_SIZE)
#define R ZX_VM_PERM_READ
#define W ZX_VM_PERM_WRITE
#define X ZX_VM_PERM_EXECUTE
#define RWX (R | W | X)

struct env {
    struct vm_aspace *as;
    struct vmar *root;
    struct vmo *code;
    vaddr_t code_va;
    size_t vmo_pages, pt_pages;
};

static void env_init(struct env *e) {
    e->vmo_pages = pmm_count(PAGE_STATE_VMO);
    e->pt_pages = pmm_count(PAGE_STATE_PAGE_TABLE);
    ASSERT(vm_aspace_create("fault_test", &e->as) == ZX_OK);
    e->root = vm_aspace_root_vmar(e->as);
    ASSERT(vmo_create(PG, 0, &e->code) == ZX_OK);
    ASSERT(vmo_write(e->code, user_code, 0, user_code_size) == ZX_OK);
    ASSERT(vmar_map(e->root, R | X, 0, e->code, 0, PG, RWX, &e->code_va) == ZX_OK);
}

static void env_end(struct env *e) {
    vm_aspace_activate(NULL);
    vm_aspace_destroy(e->as);
    kobject_release(vmar_object(e->root));
    kobject_release(vmo_object(e->code));
    EXPECT_EQ(pmm_count(PAGE_STATE_VMO), e->vmo_pages);
    EXPECT_EQ(pmm_count(PAGE_STATE_PAGE_TABLE), e->pt_pages);
}

static struct vmo *new_vmo(uint64_t size) {
    struct vmo *v = NULL;
    ASSERT(vmo_create(size, 0, &v) == ZX_OK);
    return v;
}

// --- Kernel access through the user-copy helpers ---

KTEST(fault, user_copy_faults_pages_in) {
    struct env e;
    env_init(&e);
    struct vmo *vmo = new_vmo(8 * PG);
    vaddr_t a, ro;
    REQUIRE_OK(vmar_map(e.root, R | W, 0, vmo, 0, 8 * PG, RWX, &a));
    REQUIRE_OK(vmar_map(e.root, R, 0, vmo, 0, 8 * PG, RWX, &ro));
    vm_aspace_activate(e.as);
    // A copy across three pages faults each in (write faults: fresh zeroed pages).
    static char buf[3 * 4096];
    for (size_t i = 0; i < sizeof(buf); i++)
        buf[i] = (char)(i * 7);
    EXPECT_OK(copy_to_user(a + 100, buf, sizeof(buf)));
    EXPECT_TRUE(aspace_check_pagetable(e.as, NULL));
    static char back[3 * 4096];
    EXPECT_OK(vmo_read(vmo, back, 100, sizeof(back)));
    EXPECT_EQ(memcmp(buf, back, sizeof(buf)), 0);
    // Through the read-only mapping of the same VMO: reads see it, writes are refused.
    memset(back, 0, sizeof(back));
    EXPECT_OK(copy_from_user(back, ro + 100, sizeof(back)));
    EXPECT_EQ(memcmp(buf, back, sizeof(back)), 0);
    EXPECT_STATUS(copy_to_user(ro, buf, 8), ZX_ERR_ACCESS_DENIED);
    // Zero content reads as zeros through the zero page; nothing is committed.
    size_t committed = pmm_count(PAGE_STATE_VMO);
    uint64_t z = 1;
    EXPECT_OK(copy_from_user(&z, a + 6 * PG, sizeof(z)));
    EXPECT_EQ(z, 0);
    EXPECT_EQ(pmm_count(PAGE_STATE_VMO), committed);
    // Unmapped, partly mapped, and a mapping beyond the VMO's end: NOT_FOUND.
    EXPECT_STATUS(copy_from_user(&z, a + 8 * PG, 8), ZX_ERR_NOT_FOUND);
    EXPECT_STATUS(copy_to_user(a + 8 * PG - 4, buf, 8), ZX_ERR_NOT_FOUND);
    vaddr_t past;
    REQUIRE_OK(vmar_map(e.root, R | W, 0, vmo, 4 * PG, 8 * PG, RWX, &past));
    EXPECT_OK(copy_to_user(past + 3 * PG, buf, 8));
    EXPECT_STATUS(copy_to_user(past + 4 * PG, buf, 8), ZX_ERR_NOT_FOUND);
    // PERM=0.
    vaddr_t none;
    REQUIRE_OK(vmar_map(e.root, 0, 0, vmo, 0, PG, RWX, &none));
    EXPECT_STATUS(copy_from_user(&z, none, 8), ZX_ERR_ACCESS_DENIED);
    EXPECT_TRUE(aspace_check_pagetable(e.as, NULL));
    kobject_release(vmo_object(vmo));
    env_end(&e);
}

// --- Ring 3 ---

KTEST(fault, user_zero_fill_write) {
    struct env e;
    env_init(&e);
    struct vmo *vmo = new_vmo(4 * PG);
    vaddr_t a;
    REQUIRE_OK(vmar_map(e.root, R | W, 0, vmo, 0, 4 * PG, RWX, &a));
    size_t before = pmm_count(PAGE_STATE_VMO);
    struct user_regs in = {.rdi = a + 8, .rdx = a + 2 * PG + 16, .rsi = 0x1122334455667788};
    struct user_result out;
    REQUIRE_OK(user_run(e.as, e.code_va + USER_RW, &in, &out));
    EXPECT_EQ(out.vector, 6);  // reached ud2
    EXPECT_EQ(out.regs.rax, 0);
    EXPECT_EQ(out.regs.rbx, 0x1122334455667788);
    uint64_t v = 0;
    EXPECT_OK(vmo_read(vmo, &v, 2 * PG + 16, 8));
    EXPECT_EQ(v, 0x1122334455667788);
    EXPECT_EQ(pmm_count(PAGE_STATE_VMO), before + 1);  // the write; the read used the zero page
    uint32_t f;
    REQUIRE_TRUE(aspace_check_pte(e.as, a + 2 * PG, NULL, &f));
    EXPECT_TRUE(f & ARCH_MMU_FLAG_WRITE);
    EXPECT_TRUE(aspace_check_pagetable(e.as, NULL));
    kobject_release(vmo_object(vmo));
    env_end(&e);
}

KTEST(fault, user_zero_page_read_then_write) {
    struct env e;
    env_init(&e);
    struct vmo *vmo = new_vmo(PG);
    vaddr_t a;
    REQUIRE_OK(vmar_map(e.root, R | W, 0, vmo, 0, PG, RWX, &a));
    struct user_regs in = {.rdi = a, .rdx = a + 64, .rsi = 42};
    struct user_result out;
    uint64_t faults0 = vm_fault_stats.faults;
    REQUIRE_OK(user_run(e.as, e.code_va + USER_RW, &in, &out));
    EXPECT_EQ(out.vector, 6);
    EXPECT_EQ(out.regs.rbx, 42);
    // Read fault (zero page, read-only), then a write fault on the same page that upgrades it
    // (plus one fault for the code page).
    EXPECT_EQ(vm_fault_stats.faults - faults0, 3);
    paddr_t pa;
    uint32_t f;
    REQUIRE_TRUE(aspace_check_pte(e.as, a, &pa, &f));
    EXPECT_TRUE(f & ARCH_MMU_FLAG_WRITE);
    EXPECT_EQ(pmm_page_from_paddr(pa)->state, PAGE_STATE_VMO);
    EXPECT_TRUE(aspace_check_pagetable(e.as, NULL));
    kobject_release(vmo_object(vmo));
    env_end(&e);
}

KTEST(fault, user_copy_on_write_after_clone) {
    struct env e;
    env_init(&e);
    struct vmo *parent = new_vmo(2 * PG);
    uint64_t old = 0xaaaa;
    REQUIRE_OK(vmo_write(parent, &old, 0, 8));
    vaddr_t pa_va;
    REQUIRE_OK(vmar_map(e.root, R | W, 0, parent, 0, 2 * PG, RWX, &pa_va));
    // The parent's page is mapped writable by a first write...
    struct user_regs in = {.rdi = pa_va, .rdx = pa_va + 8, .rsi = 1};
    struct user_result out;
    REQUIRE_OK(user_run(e.as, e.code_va + USER_RW, &in, &out));
    EXPECT_EQ(out.vector, 6);
    uint32_t f;
    REQUIRE_TRUE(aspace_check_pte(e.as, pa_va, NULL, &f));
    EXPECT_TRUE(f & ARCH_MMU_FLAG_WRITE);
    // ...and a snapshot takes write permission away from it.
    struct vmo *child = NULL;
    REQUIRE_OK(vmo_create_child(parent, ZX_VMO_CHILD_SNAPSHOT, 0, 2 * PG, &child));
    if (aspace_check_pte(e.as, pa_va, NULL, &f))
        EXPECT_FALSE(f & ARCH_MMU_FLAG_WRITE);
    EXPECT_TRUE(aspace_check_pagetable(e.as, NULL));
    vaddr_t ch_va;
    REQUIRE_OK(vmar_map(e.root, R | W, 0, child, 0, 2 * PG, RWX, &ch_va));
    // The child reads the shared content, then writes its own copy.
    in = (struct user_regs){.rdi = ch_va, .rdx = ch_va, .rsi = 0xbbbb};
    REQUIRE_OK(user_run(e.as, e.code_va + USER_RW, &in, &out));
    EXPECT_EQ(out.vector, 6);
    EXPECT_EQ(out.regs.rax, old);
    EXPECT_EQ(out.regs.rbx, 0xbbbb);
    // The parent writes too: each sees only its own write.
    in = (struct user_regs){.rdi = pa_va, .rdx = pa_va, .rsi = 0xcccc};
    REQUIRE_OK(user_run(e.as, e.code_va + USER_RW, &in, &out));
    EXPECT_EQ(out.vector, 6);
    EXPECT_EQ(out.regs.rax, old);
    uint64_t v = 0;
    EXPECT_OK(vmo_read(parent, &v, 0, 8));
    EXPECT_EQ(v, 0xcccc);
    EXPECT_OK(vmo_read(child, &v, 0, 8));
    EXPECT_EQ(v, 0xbbbb);
    EXPECT_TRUE(aspace_check_pagetable(e.as, NULL));
    kobject_release(vmo_object(child));
    kobject_release(vmo_object(parent));
    env_end(&e);
}

KTEST(fault, user_faults_that_kill) {
    struct env e;
    env_init(&e);
    struct vmo *vmo = new_vmo(PG);
    vaddr_t two, none, ro;
    REQUIRE_OK(vmar_map(e.root, R | W, 0, vmo, 0, 2 * PG, RWX, &two));
    REQUIRE_OK(vmar_map(e.root, 0, 0, vmo, 0, PG, RWX, &none));
    REQUIRE_OK(vmar_map(e.root, R, 0, vmo, 0, PG, RWX, &ro));
    struct user_result out;
    // Beyond the VMO's end (the mapping is two pages, the VMO one).
    struct user_regs in = {.rdi = two + PG + 8, .rdx = two, .rsi = 1};
    REQUIRE_OK(user_run(e.as, e.code_va + USER_RW, &in, &out));
    EXPECT_EQ(out.vector, 14);
    EXPECT_EQ(out.cr2, two + PG + 8);
    // PERM=0: even a read faults.
    in = (struct user_regs){.rdi = none, .rdx = two, .rsi = 1};
    REQUIRE_OK(user_run(e.as, e.code_va + USER_RW, &in, &out));
    EXPECT_EQ(out.vector, 14);
    EXPECT_EQ(out.cr2, none);
    // Read-only: the read works, the write faults.
    in = (struct user_regs){.rdi = ro, .rdx = ro + 8, .rsi = 1};
    REQUIRE_OK(user_run(e.as, e.code_va + USER_RW, &in, &out));
    EXPECT_EQ(out.vector, 14);
    EXPECT_EQ(out.cr2, ro + 8);
    EXPECT_TRUE(out.error_code & PF_WRITE);
    EXPECT_EQ(out.rip, e.code_va + USER_RW + 3);
    // Unmapped.
    in = (struct user_regs){.rdi = two + 16 * PG, .rdx = two, .rsi = 1};
    REQUIRE_OK(user_run(e.as, e.code_va + USER_RW, &in, &out));
    EXPECT_EQ(out.vector, 14);
    // Executing a data page (mapped without EXECUTE).
    REQUIRE_OK(vmo_write(vmo, user_code, 0, user_code_size));
    in = (struct user_regs){0};
    REQUIRE_OK(user_run(e.as, two, &in, &out));
    EXPECT_EQ(out.vector, 14);
    EXPECT_EQ(out.cr2, two);
    EXPECT_TRUE(out.error_code & PF_FETCH);
    EXPECT_TRUE(aspace_check_pagetable(e.as, NULL));
    kobject_release(vmo_object(vmo));
    env_end(&e);
}

// A loop over many pages, with a protect in between: the upgrade path and TLB invalidation seen by
// the CPU (a stale writable translation would let the second run's writes through).
KTEST(fault, user_loop_and_protect) {
    struct env e;
    env_init(&e);
    struct vmo *vmo = new_vmo(64 * PG);
    vaddr_t a;
    REQUIRE_OK(vmar_map(e.root, R | W, 0, vmo, 0, 64 * PG, RWX, &a));
    struct user_regs in = {.rdi = a, .rcx = 64};
    struct user_result out;
    REQUIRE_OK(user_run(e.as, e.code_va + USER_WLOOP, &in, &out));
    EXPECT_EQ(out.vector, 6);
    EXPECT_EQ(out.regs.rcx, 0);
    size_t present = 0;
    EXPECT_TRUE(aspace_check_pagetable(e.as, &present));
    EXPECT_EQ(present, 65);
    REQUIRE_OK(vmar_protect(e.root, R, a + 32 * PG, 32 * PG));
    in = (struct user_regs){.rdi = a, .rcx = 64};
    REQUIRE_OK(user_run(e.as, e.code_va + USER_WLOOP, &in, &out));
    EXPECT_EQ(out.vector, 14);
    EXPECT_EQ(out.cr2, a + 32 * PG);
    in = (struct user_regs){.rdi = a, .rcx = 64};
    REQUIRE_OK(user_run(e.as, e.code_va + USER_RLOOP, &in, &out));
    EXPECT_EQ(out.vector, 6);
    EXPECT_TRUE(aspace_check_pagetable(e.as, NULL));
    kobject_release(vmo_object(vmo));
    env_end(&e);
}
