// Starting userboot, the first user process. The kernel loads its ELF image (the first boot
// module) into fresh VMOs mapped in a new process, hands it every other boot module as a VMO with
// its command line as an argument (the bootstrap message of include/jasper/bootstrap.h), and waits
// for it: userboot's return code decides the status QEMU exits with. The serial monitor starts
// boot modules the same way (kernel_launch).
#include "kernel/userboot.h"

#include <jasper/bootstrap.h>
#include <jasper/elf.h>
#include <zircon/syscalls.h>

#include "arch/x86_64/multiboot2.h"
#include "kernel/channel.h"
#include "kernel/heap.h"
#include "kernel/printf.h"
#include "kernel/process.h"
#include "kernel/string.h"
#include "vm/aspace.h"
#include "vm/physmap.h"
#include "vm/vmar.h"
#include "vm/vmo.h"

#define USERBOOT_STACK_SIZE (64u * 1024u)
#define ROOT_VMAR_RIGHTS (ZX_DEFAULT_VMAR_RIGHTS | ZX_RIGHT_READ | ZX_RIGHT_WRITE | ZX_RIGHT_EXECUTE)

// A VMO holding a copy of boot module `m`; its content size is the file's size.
static zx_status_t module_vmo(const struct boot_module *m, struct vmo **out) {
    uint64_t size = m->end - m->start;
    zx_status_t st = vmo_create(size, 0, out);
    if (st == ZX_OK) {
        // Named after the program (the command line's first word), for tools that list VMOs.
        size_t n = 0;
        while (m->name && m->name[n] && m->name[n] != ' ')
            n++;
        vmo_set_name(*out, m->name ? m->name : "", n);
        st = vmo_write(*out, paddr_to_kva(m->start), 0, size);
    }
    if (st != ZX_OK && *out) {
        kobject_release(vmo_object(*out));
        *out = NULL;
    }
    return st;
}

// Maps a fresh, fully committed VMO of `size` bytes at `vmar_offset` (or anywhere if not
// `specific`) with `perms`, named `name`, filled with `len` bytes of `data` at `data_offset`.
static zx_status_t map_committed(const char *name, struct vmar *root, bool specific,
                                 uint64_t vmar_offset, uint64_t size, uint32_t perms,
                                 const void *data, uint64_t data_offset, uint64_t len,
                                 vaddr_t *out_addr) {
    struct vmo *vmo = NULL;
    zx_status_t st = vmo_create(size, 0, &vmo);
    if (st != ZX_OK)
        return st;
    vmo_set_name(vmo, name, strlen(name));
    // Committed up front, so userboot's own memory does not grow while it measures programs.
    st = vmo_op_range(vmo, ZX_VMO_OP_COMMIT, 0, size);
    if (st == ZX_OK && len)
        st = vmo_write(vmo, data, data_offset, len);
    if (st == ZX_OK)
        st = vmar_map(root, perms | (specific ? ZX_VM_SPECIFIC : 0), vmar_offset, vmo, 0, size,
                      ZX_VM_PERM_READ | ZX_VM_PERM_WRITE | ZX_VM_PERM_EXECUTE, out_addr);
    kobject_release(vmo_object(vmo));  // the mapping keeps it
    return st;
}

static zx_status_t load_elf(struct vmar *root, const struct boot_module *m, uint64_t *out_entry) {
    const uint8_t *file = paddr_to_kva(m->start);
    uint64_t file_size = m->end - m->start;
    const elf64_ehdr_t *eh = (const elf64_ehdr_t *)file;
    if (!elf_check_header(eh, file_size))
        return ZX_ERR_NOT_SUPPORTED;
    const elf64_phdr_t *ph = (const elf64_phdr_t *)(file + eh->phoff);
    vaddr_t base = vmar_base(root);
    for (unsigned i = 0; i < eh->phnum; i++) {
        if (ph[i].type != ELF_PT_LOAD || ph[i].memsz == 0)
            continue;
        if (!elf_check_load_segment(&ph[i], file_size))
            return ZX_ERR_INVALID_ARGS;
        vaddr_t start = ROUNDDOWN(ph[i].vaddr, (uint64_t)PAGE_SIZE);
        uint64_t lead = ph[i].vaddr - start;
        uint64_t size = ROUNDUP(lead + ph[i].memsz, (uint64_t)PAGE_SIZE);
        if (start < base)
            return ZX_ERR_INVALID_ARGS;
        uint32_t perms = ZX_VM_PERM_READ | ((ph[i].flags & ELF_PF_W) ? ZX_VM_PERM_WRITE : 0) |
                         ((ph[i].flags & ELF_PF_X) ? ZX_VM_PERM_EXECUTE : 0);
        vaddr_t addr;
        zx_status_t st = map_committed("elf", root, true, start - base, size, perms,
                                       file + ph[i].offset, lead, ph[i].filesz, &addr);
        if (st != ZX_OK)
            return st;
    }
    *out_entry = eh->entry;
    return ZX_OK;
}

// A handle in flight for the bootstrap message (a reference and a place in the handle count).
static void flight(struct channel_handle *h, struct kobject *obj, zx_rights_t rights) {
    kobject_retain(obj);
    kobject_handle_opened(obj);
    h->obj = obj;
    h->rights = rights;
}

// Sends the bootstrap message on `ch`: the arguments, then the usual start-up handles (the process,
// its root VMAR, its thread, the root job) and `extra`.
static zx_status_t send_bootstrap(struct channel *ch, struct process *p, struct uthread *t,
                                  struct vmar *root, const char *const *argv, size_t argc,
                                  const struct launch_handle *extra, size_t nextra) {
    enum { MAX_HANDLES = 4 + BOOT_MODULES_MAX + 1 };
    if (nextra > MAX_HANDLES - 4)
        return ZX_ERR_INVALID_ARGS;
    uint8_t *msg = kzalloc(JASPER_BOOTSTRAP_MAX_BYTES);
    if (!msg)
        return ZX_ERR_NO_MEMORY;
    struct jasper_bootstrap *b = (struct jasper_bootstrap *)msg;
    size_t off = sizeof(*b);
    b->magic = JASPER_BOOTSTRAP_MAGIC;
    b->args_offset = (uint32_t)off;
    for (size_t i = 0; i < argc; i++) {
        size_t n = strlen(argv[i]) + 1;
        if (off + n + 4 * MAX_HANDLES + 8 > JASPER_BOOTSTRAP_MAX_BYTES)
            break;
        memcpy(msg + off, argv[i], n);
        off += n;
        b->argc++;
    }
    b->args_size = (uint32_t)(off - b->args_offset);
    off = ROUNDUP(off, (size_t)4);
    b->kinds_offset = (uint32_t)off;
    uint32_t *kinds = (uint32_t *)(msg + off);
    struct channel_handle hs[MAX_HANDLES];
    uint32_t n = 0;
    kinds[n] = JASPER_HANDLE_PROC_SELF;
    flight(&hs[n++], &p->obj, ZX_DEFAULT_PROCESS_RIGHTS);
    kinds[n] = JASPER_HANDLE_VMAR_ROOT;
    flight(&hs[n++], vmar_object(root), ROOT_VMAR_RIGHTS);
    kinds[n] = JASPER_HANDLE_THREAD_SELF;
    flight(&hs[n++], &t->obj, ZX_DEFAULT_THREAD_RIGHTS);
    kinds[n] = JASPER_HANDLE_JOB_DEFAULT;
    flight(&hs[n++], &root_job->obj, ZX_DEFAULT_JOB_RIGHTS);
    for (size_t i = 0; i < nextra; i++) {
        kinds[n] = extra[i].kind;
        flight(&hs[n++], extra[i].obj, extra[i].rights);
    }
    b->handle_count = n;
    off += 4 * n;
    zx_status_t st = channel_write(ch, msg, (uint32_t)off, hs, n);
    if (st != ZX_OK) {
        for (uint32_t i = 0; i < n; i++)
            handle_drop(hs[i].obj);
    }
    kfree(msg);
    return st;
}

zx_status_t kernel_launch(const struct boot_module *elf, const char *name,
                          const char *const *argv, size_t argc,
                          const struct launch_handle *extra, size_t nextra, bool critical,
                          struct process **out) {
    struct process *p = NULL;
    struct uthread *t = NULL;
    struct vmar *root = NULL;
    struct channel *ours = NULL, *theirs = NULL;
    zx_status_t st = process_create(root_job, name, strlen(name), &p);
    if (st == ZX_OK) {
        p->critical = critical;  // before any thread of it runs
        root = vm_aspace_root_vmar(p->aspace);
        st = uthread_create(p, name, strlen(name), &t);
    }
    uint64_t entry = 0;
    vaddr_t stack = 0;
    if (st == ZX_OK)
        st = load_elf(root, elf, &entry);
    if (st == ZX_OK)
        st = map_committed("stack", root, false, 0, USERBOOT_STACK_SIZE,
                           ZX_VM_PERM_READ | ZX_VM_PERM_WRITE, NULL, 0, 0, &stack);
    if (st == ZX_OK)
        st = channel_create(&ours, &theirs);
    if (st == ZX_OK)
        st = send_bootstrap(ours, p, t, root, argv, argc, extra, nextra);
    zx_handle_t h = ZX_HANDLE_INVALID;
    if (st == ZX_OK)
        st = handle_add(&p->handles, channel_object(theirs), ZX_DEFAULT_CHANNEL_RIGHTS, &h);
    if (st == ZX_OK)
        st = uthread_start(t, entry, stack + USERBOOT_STACK_SIZE, h, 0);
    // Everything the kernel held for the start-up is handed over now.
    if (ours)
        kobject_release(channel_object(ours));
    if (theirs)
        kobject_release(channel_object(theirs));
    if (root)
        kobject_release(vmar_object(root));
    if (t)
        kobject_release(&t->obj);
    if (st != ZX_OK && p) {
        kobject_release(&p->obj);
        p = NULL;
    }
    *out = p;
    return st;
}

zx_status_t boot_module_vmo(const struct boot_module *m, struct vmo **out) {
    return module_vmo(m, out);
}

zx_status_t userboot_run(int64_t *out_code) {
    if (boot_info.module_count == 0) {
        kprintf("userboot: no boot modules (the first must be userboot.elf)\n");
        return ZX_ERR_NOT_FOUND;
    }
    // Arguments: "userboot" and each module's command line; handles: each module as a VMO.
    size_t nmods = boot_info.module_count - 1;
    struct vmo *mods[BOOT_MODULES_MAX] = {0};
    struct launch_handle extra[BOOT_MODULES_MAX] = {0};
    const char *argv[BOOT_MODULES_MAX + 1] = {"userboot"};
    zx_status_t st = ZX_OK;
    for (size_t i = 0; i < nmods && st == ZX_OK; i++) {
        st = module_vmo(&boot_info.modules[i + 1], &mods[i]);
        argv[i + 1] = boot_info.modules[i + 1].name;
        extra[i] = (struct launch_handle){JASPER_HANDLE_VMO_MODULE, vmo_object(mods[i]),
                                          ZX_DEFAULT_VMO_RIGHTS | ZX_RIGHT_EXECUTE};
    }
    struct process *p = NULL;
    if (st == ZX_OK)
        st = kernel_launch(&boot_info.modules[0], "userboot", argv, nmods + 1, extra, nmods,
                           true, &p);
    for (size_t i = 0; i < nmods; i++) {
        if (mods[i])
            kobject_release(vmo_object(mods[i]));
    }
    if (st == ZX_OK)
        st = kobject_wait_one(&p->obj, ZX_PROCESS_TERMINATED, ZX_TIME_INFINITE, NULL);
    if (st == ZX_OK)
        *out_code = p->return_code;
    else
        kprintf("userboot: could not start: %d\n", st);
    if (p)
        kobject_release(&p->obj);
    return st;
}
