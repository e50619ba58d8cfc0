// The program launcher: ELF segments into fresh VMOs mapped at their link addresses, a stack, a
// thread, and the bootstrap message (include/jasper/bootstrap.h) on a new channel.
#include <jasper/bootstrap.h>
#include <jasper/elf.h>
#include <jasper/launch.h>
#include <string.h>
#include <zircon/syscalls.h>

#define PAGE 4096u
#define STACK_SIZE (256u * 1024u)
#define MSG_MAX 4096u

static uint8_t copy_buf[PAGE];

// Copies `len` bytes from `src` at `src_off` into `dst` at `dst_off`, a page at a time.
static zx_status_t vmo_copy(zx_handle_t src, uint64_t src_off, zx_handle_t dst, uint64_t dst_off,
                            uint64_t len) {
    while (len) {
        size_t n = len < PAGE ? (size_t)len : PAGE;
        zx_status_t st = zx_vmo_read(src, copy_buf, src_off, n);
        if (st == ZX_OK)
            st = zx_vmo_write(dst, copy_buf, dst_off, n);
        if (st != ZX_OK)
            return st;
        src_off += n;
        dst_off += n;
        len -= n;
    }
    return ZX_OK;
}

static zx_status_t load_segment(zx_handle_t exec_vmo, zx_handle_t vmar, uint64_t vmar_base,
                                const elf64_phdr_t *ph) {
    uint64_t start = ph->vaddr & ~(uint64_t)(PAGE - 1);
    uint64_t lead = ph->vaddr - start;
    uint64_t size = (lead + ph->memsz + PAGE - 1) & ~(uint64_t)(PAGE - 1);
    if (start < vmar_base)
        return ZX_ERR_INVALID_ARGS;
    zx_handle_t seg;
    zx_status_t st = zx_vmo_create(size, 0, &seg);
    if (st != ZX_OK)
        return st;
    st = vmo_copy(exec_vmo, ph->offset, seg, lead, ph->filesz);
    // Named for tools that list VMOs (the `mem` program, the monitor): "elf r-x" and the like.
    char vname[8] = "elf ---";
    vname[4] = 'r';
    vname[5] = (ph->flags & ELF_PF_W) ? 'w' : '-';
    vname[6] = (ph->flags & ELF_PF_X) ? 'x' : '-';
    zx_object_set_property(seg, ZX_PROP_NAME, vname, sizeof(vname) - 1);
    zx_vm_option_t perms = ZX_VM_PERM_READ;
    if (ph->flags & ELF_PF_W)
        perms |= ZX_VM_PERM_WRITE;
    if (ph->flags & ELF_PF_X) {
        perms |= ZX_VM_PERM_EXECUTE;
        // A new VMO has no EXECUTE right; code needs it to be mapped executable.
        if (st == ZX_OK)
            st = zx_vmo_replace_as_executable(seg, ZX_HANDLE_INVALID, &seg);
    }
    zx_vaddr_t addr;
    if (st == ZX_OK)
        st = zx_vmar_map(vmar, perms | ZX_VM_SPECIFIC, start - vmar_base, seg, 0, size, &addr);
    zx_handle_close(seg);
    return st;
}

// Lays out the bootstrap message; returns its length.
static size_t build_message(uint8_t *msg, int argc, const char *const *argv, const uint32_t *kinds,
                            uint32_t nhandles) {
    struct jasper_bootstrap *b = (struct jasper_bootstrap *)msg;
    size_t off = sizeof(*b);
    b->magic = JASPER_BOOTSTRAP_MAGIC;
    b->argc = 0;
    b->args_offset = (uint32_t)off;
    for (int i = 0; i < argc; i++) {
        size_t n = strlen(argv[i]) + 1;
        if (off + n + 4 * nhandles + 8 > MSG_MAX)
            break;
        memcpy(msg + off, argv[i], n);
        off += n;
        b->argc++;
    }
    b->args_size = (uint32_t)(off - b->args_offset);
    off = (off + 3) & ~(size_t)3;
    b->kinds_offset = (uint32_t)off;
    b->handle_count = nhandles;
    memcpy(msg + off, kinds, 4 * nhandles);
    return off + 4 * nhandles;
}

zx_status_t jasper_launch(zx_handle_t job, const char *name, zx_handle_t exec_vmo, int argc,
                          const char *const *argv, zx_handle_t *out_proc) {
    return jasper_launch_etc(job, name, exec_vmo, argc, argv, NULL, NULL, 0, out_proc);
}

// Closes the extra handles a launch did not get to send (they are consumed either way).
static void close_extra(const zx_handle_t *extra, uint32_t nextra) {
    for (uint32_t i = 0; i < nextra; i++)
        zx_handle_close(extra[i]);
}

zx_status_t jasper_launch_etc(zx_handle_t job, const char *name, zx_handle_t exec_vmo, int argc,
                              const char *const *argv, const zx_handle_t *extra,
                              const uint32_t *extra_kinds, uint32_t nextra, zx_handle_t *out_proc) {
    if (nextra > JASPER_LAUNCH_MAX_EXTRA) {
        close_extra(extra, nextra);
        return ZX_ERR_INVALID_ARGS;
    }
    elf64_ehdr_t eh;
    elf64_phdr_t ph[ELF_MAX_PHDRS];
    uint64_t file_size;
    zx_status_t st = zx_vmo_get_size(exec_vmo, &file_size);
    if (st == ZX_OK)
        st = zx_vmo_read(exec_vmo, &eh, 0, sizeof(eh));
    if (st == ZX_OK && !elf_check_header(&eh, file_size))
        st = ZX_ERR_NOT_SUPPORTED;
    if (st == ZX_OK)
        st = zx_vmo_read(exec_vmo, ph, eh.phoff, eh.phnum * sizeof(elf64_phdr_t));
    if (st != ZX_OK) {
        close_extra(extra, nextra);
        return st;
    }

    zx_handle_t proc = ZX_HANDLE_INVALID, vmar = ZX_HANDLE_INVALID, thread = ZX_HANDLE_INVALID;
    zx_handle_t ch0 = ZX_HANDLE_INVALID, ch1 = ZX_HANDLE_INVALID, stack = ZX_HANDLE_INVALID;
    st = zx_process_create(job, name, strlen(name), 0, &proc, &vmar);
    if (st != ZX_OK) {
        close_extra(extra, nextra);
        return st;
    }
    zx_info_vmar_t vi;
    st = zx_object_get_info(vmar, ZX_INFO_VMAR, &vi, sizeof(vi), NULL, NULL);
    for (int i = 0; st == ZX_OK && i < eh.phnum; i++) {
        if (ph[i].type != ELF_PT_LOAD || ph[i].memsz == 0)
            continue;
        if (!elf_check_load_segment(&ph[i], file_size))
            st = ZX_ERR_INVALID_ARGS;
        else
            st = load_segment(exec_vmo, vmar, vi.base, &ph[i]);
    }
    zx_vaddr_t stack_base = 0;
    if (st == ZX_OK)
        st = zx_vmo_create(STACK_SIZE, 0, &stack);
    if (st == ZX_OK)
        zx_object_set_property(stack, ZX_PROP_NAME, "stack", 5);
    if (st == ZX_OK)
        st = zx_vmar_map(vmar, ZX_VM_PERM_READ | ZX_VM_PERM_WRITE, 0, stack, 0, STACK_SIZE,
                         &stack_base);
    if (st == ZX_OK)
        st = zx_thread_create(proc, name, strlen(name), 0, &thread);
    if (st == ZX_OK)
        st = zx_channel_create(0, &ch0, &ch1);

    // The start-up handles: duplicates, so the launcher keeps its own; then the caller's extra
    // handles, moved.
    uint32_t kinds[5 + JASPER_LAUNCH_MAX_EXTRA] = {
        JASPER_HANDLE_PROC_SELF, JASPER_HANDLE_VMAR_ROOT, JASPER_HANDLE_THREAD_SELF,
        JASPER_HANDLE_JOB_DEFAULT, JASPER_HANDLE_VMO_EXECUTABLE};
    zx_handle_t hs[5 + JASPER_LAUNCH_MAX_EXTRA] = {0};
    const zx_handle_t src[5] = {proc, vmar, thread, job, exec_vmo};
    uint32_t nh = 0;
    for (; st == ZX_OK && nh < 5; nh++)
        st = zx_handle_duplicate(src[nh], ZX_RIGHT_SAME_RIGHTS, &hs[nh]);
    for (uint32_t i = 0; i < nextra; i++) {
        hs[5 + i] = extra[i];
        kinds[5 + i] = extra_kinds[i];
    }
    if (st == ZX_OK) {
        static uint8_t msg[MSG_MAX];
        size_t len = build_message(msg, argc, argv, kinds, 5 + nextra);
        st = zx_channel_write(ch0, 0, msg, (uint32_t)len, hs, 5 + nextra);  // consumes them all
    } else {
        for (uint32_t i = 0; i < nh; i++)
            zx_handle_close(hs[i]);
        close_extra(extra, nextra);
    }
    if (st == ZX_OK) {
        st = zx_process_start(proc, thread, eh.entry, stack_base + STACK_SIZE, ch1, 0);
        ch1 = ZX_HANDLE_INVALID;  // consumed
    }
    zx_handle_close(ch0);
    zx_handle_close(ch1);
    zx_handle_close(stack);
    zx_handle_close(thread);
    zx_handle_close(vmar);
    if (st != ZX_OK) {
        zx_task_kill(proc);
        zx_handle_close(proc);
        return st;
    }
    *out_proc = proc;
    return ZX_OK;
}

int64_t jasper_wait(zx_handle_t proc) {
    zx_status_t st = zx_object_wait_one(proc, ZX_PROCESS_TERMINATED, ZX_TIME_INFINITE, NULL);
    if (st != ZX_OK)
        return st;
    zx_info_process_t info;
    st = zx_object_get_info(proc, ZX_INFO_PROCESS, &info, sizeof(info), NULL, NULL);
    return st == ZX_OK ? info.return_code : st;
}
