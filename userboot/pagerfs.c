// pagerfs: a file server in user space on the user pager (docs/pager.md), the demo of
// `scripts/run --pagerfs`.
//
// The server's "disk" is a boot module, pagerfs.img (built by scripts/mkpagerfs, which documents
// its format), that userboot hands every program. The server copies it into its own memory — its
// image — and serves each file as a pager-backed VMO: nothing is read until somebody touches a
// page; then the kernel sends the server a READ request and the server supplies exactly those
// pages from the image. Writable files report their dirty pages: on a sync the server asks the
// kernel for the dirty ranges, and for each one begins writeback, copies the pages into the image
// and ends writeback.
//
// The client (pagerfs_client.c) is the same program started again as a second process with only
// a channel to the server: it opens files, gets VMO handles, maps them and reads and writes.
// The server checks at the end that exactly the touched pages were ever supplied and that the
// image holds the client's edit, and exits 1 otherwise, so `scripts/test` can rely on it.
#include <jasper/bootstrap.h>
#include <jasper/launch.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <zircon/process.h>
#include <zircon/syscalls.h>
#include <zircon/syscalls/port.h>

#include "ulib/ulib_priv.h"
#include "userboot/pagerfs.h"

#define MAX_FILES 8u
#define MAX_FILE_PAGES 64u
#define KEY_CHANNEL 1000u  // port key of the client channel's wait; files use their index

// The archive's header and table entry (scripts/mkpagerfs).
struct pfs_header {
    char magic[4];
    uint32_t count;
};
struct pfs_entry {
    char name[PFS_NAME_MAX];
    uint32_t offset;
    uint32_t size;
    uint32_t flags;  // 1: writable
};

struct file {
    struct pfs_entry e;
    zx_handle_t vmo;  // the pager VMO (the server's handle)
    bool supplied[MAX_FILE_PAGES];  // pages ever supplied, for the final check
};

static uint8_t *image;  // the server's copy of pagerfs.img, written back into
static size_t image_size;
static struct file files[MAX_FILES];
static unsigned nfiles;
static zx_handle_t pager, port;
static unsigned requests, pages_supplied, pages_written_back;

static size_t pages_of(uint32_t bytes) {
    return (bytes + PFS_PAGE - 1) / PFS_PAGE;
}

// Finds pagerfs.img among the data modules, copies it into a private mapping and checks its table.
static zx_status_t load_image(void) {
    zx_handle_t mods[JASPER_LAUNCH_MAX_EXTRA];
    size_t n = ulib_startup_handles(JASPER_HANDLE_VMO_MODULE, mods, JASPER_LAUNCH_MAX_EXTRA);
    for (size_t i = 0; i < n && i < JASPER_LAUNCH_MAX_EXTRA; i++) {
        struct pfs_header h;
        uint64_t size;
        if (zx_vmo_read(mods[i], &h, 0, sizeof(h)) != ZX_OK || memcmp(h.magic, "JPFS", 4) != 0 ||
            zx_vmo_get_size(mods[i], &size) != ZX_OK)
            continue;
        if (h.count > MAX_FILES)
            return ZX_ERR_OUT_OF_RANGE;
        zx_handle_t vmo;
        zx_status_t st = zx_vmo_create(size, 0, &vmo);
        zx_vaddr_t addr = 0;
        if (st != ZX_OK)
            return st;
        st = zx_vmar_map(zx_vmar_root_self(), ZX_VM_PERM_READ | ZX_VM_PERM_WRITE, 0, vmo, 0, size,
                         &addr);
        zx_handle_close(vmo);  // the mapping keeps it
        if (st != ZX_OK)
            return st;
        image = (uint8_t *)addr;
        image_size = size;
        st = zx_vmo_read(mods[i], image, 0, size);
        const struct pfs_entry *e = (const struct pfs_entry *)(image + sizeof(h));
        for (nfiles = 0; st == ZX_OK && nfiles < h.count; nfiles++) {
            files[nfiles].e = e[nfiles];
            files[nfiles].e.name[PFS_NAME_MAX - 1] = '\0';
            uint64_t end = (uint64_t)e[nfiles].offset + pages_of(e[nfiles].size) * PFS_PAGE;
            if (e[nfiles].offset % PFS_PAGE || end > size ||
                pages_of(e[nfiles].size) > MAX_FILE_PAGES)
                st = ZX_ERR_IO_DATA_INTEGRITY;
        }
        printf("pagerfs: pagerfs.img is a boot module of %llu bytes with %u files\n",
               (unsigned long long)size, h.count);
        return st;
    }
    return ZX_ERR_NOT_FOUND;
}

// A READ request: supplies [offset, offset + len) of file i from the image, through an aux VMO.
static zx_status_t serve_read(struct file *f, uint64_t offset, uint64_t len) {
    if (offset + len > pages_of(f->e.size) * PFS_PAGE)
        return zx_pager_op_range(pager, ZX_PAGER_OP_FAIL, f->vmo, offset, len,
                                 (uint64_t)(int64_t)ZX_ERR_IO);
    zx_handle_t aux;
    zx_status_t st = zx_vmo_create(len, 0, &aux);
    if (st != ZX_OK)
        return st;
    st = zx_vmo_write(aux, image + f->e.offset + offset, 0, len);
    if (st == ZX_OK)
        st = zx_pager_supply_pages(pager, f->vmo, offset, len, aux, 0);
    zx_handle_close(aux);
    for (uint64_t p = offset / PFS_PAGE; p < (offset + len) / PFS_PAGE; p++)
        f->supplied[p] = true;
    requests++;
    pages_supplied += (unsigned)(len / PFS_PAGE);
    printf("pagerfs: READ  %-10s pages [%llu, %llu) supplied from the image\n", f->e.name,
           (unsigned long long)(offset / PFS_PAGE), (unsigned long long)((offset + len) / PFS_PAGE));
    return st;
}

// Writes file f's dirty ranges back into the image; adds the pages to *written.
static zx_status_t sync_file(struct file *f, uint32_t *written) {
    zx_vmo_dirty_range_t r[16];
    size_t n = 0;
    uint64_t size = pages_of(f->e.size) * PFS_PAGE;
    zx_status_t st =
        zx_pager_query_dirty_ranges(pager, f->vmo, 0, size, r, sizeof(r), &n, NULL);
    for (size_t k = 0; k < n && st == ZX_OK; k++) {
        // Begin first: a write that lands during the copy turns the range Dirty again, and END
        // then leaves it Dirty for the next sync instead of losing it.
        st = zx_pager_op_range(pager, ZX_PAGER_OP_WRITEBACK_BEGIN, f->vmo, r[k].offset,
                               r[k].length, 0);
        if (st == ZX_OK)
            st = zx_vmo_read(f->vmo, image + f->e.offset + r[k].offset, r[k].offset, r[k].length);
        if (st == ZX_OK)
            st = zx_pager_op_range(pager, ZX_PAGER_OP_WRITEBACK_END, f->vmo, r[k].offset,
                                   r[k].length, 0);
        *written += (uint32_t)(r[k].length / PFS_PAGE);
        printf("pagerfs: SYNC  %-10s dirty pages [%llu, %llu) written back to the image\n",
               f->e.name, (unsigned long long)(r[k].offset / PFS_PAGE),
               (unsigned long long)((r[k].offset + r[k].length) / PFS_PAGE));
    }
    if (st == ZX_OK && n == 0)
        printf("pagerfs: SYNC  %-10s clean, nothing to write back\n", f->e.name);
    return st;
}

// Answers one client message.
static zx_status_t serve_message(zx_handle_t ch, const struct pfs_msg *m) {
    struct pfs_reply reply = {.status = ZX_ERR_NOT_SUPPORTED};
    zx_handle_t h = ZX_HANDLE_INVALID;
    if (m->op == PFS_OPEN) {
        reply.status = ZX_ERR_NOT_FOUND;
        for (unsigned i = 0; i < nfiles; i++) {
            if (strncmp(files[i].e.name, m->name, PFS_NAME_MAX) != 0)
                continue;
            zx_rights_t rights = ZX_RIGHT_DUPLICATE | ZX_RIGHT_TRANSFER | ZX_RIGHT_READ |
                                 ZX_RIGHT_MAP | ZX_RIGHT_GET_PROPERTY | ZX_RIGHT_WAIT;
            if (files[i].e.flags & 1)
                rights |= ZX_RIGHT_WRITE;
            reply.status = zx_handle_duplicate(files[i].vmo, rights, &h);
            reply.size = files[i].e.size;
            printf("pagerfs: OPEN  %-10s -> a handle to its pager VMO (%s)\n", files[i].e.name,
                   files[i].e.flags & 1 ? "read-write" : "read-only");
        }
    } else if (m->op == PFS_SYNC) {
        reply.status = ZX_OK;
        for (unsigned i = 0; i < nfiles && reply.status == ZX_OK; i++)
            if (files[i].e.flags & 1)
                reply.status = sync_file(&files[i], &reply.size);
        pages_written_back += reply.size;
    }
    return zx_channel_write(ch, 0, &reply, sizeof(reply), &h, h == ZX_HANDLE_INVALID ? 0 : 1);
}

// Serves page requests and client messages until the client closes its channel.
static zx_status_t serve(zx_handle_t ch) {
    const zx_signals_t sigs = ZX_CHANNEL_READABLE | ZX_CHANNEL_PEER_CLOSED;
    zx_status_t st = zx_object_wait_async(ch, port, KEY_CHANNEL, sigs, 0);
    while (st == ZX_OK) {
        zx_port_packet_t pkt;
        st = zx_port_wait(port, ZX_TIME_INFINITE, &pkt);
        if (st != ZX_OK)
            break;
        if (pkt.type == ZX_PKT_TYPE_PAGE_REQUEST) {
            if (pkt.key < nfiles && pkt.page_request.command == ZX_PAGER_VMO_READ)
                st = serve_read(&files[pkt.key], pkt.page_request.offset,
                                pkt.page_request.length);
            continue;  // COMPLETE needs nothing; DIRTY never comes (no TRAP_DIRTY)
        }
        struct pfs_msg m;
        uint32_t bytes = 0, handles = 0;
        while (st == ZX_OK &&
               zx_channel_read(ch, 0, &m, NULL, sizeof(m), 0, &bytes, &handles) == ZX_OK) {
            m.name[PFS_NAME_MAX - 1] = '\0';
            st = serve_message(ch, &m);
        }
        if (pkt.signal.observed & ZX_CHANNEL_PEER_CLOSED)
            return st;
        if (st == ZX_OK)
            st = zx_object_wait_async(ch, port, KEY_CHANNEL, sigs, 0);
    }
    return st;
}

// The final checks: exactly the pages the client touched were supplied, and the image has its edit.
static bool verify(void) {
    bool ok = true;
    for (unsigned i = 0; i < nfiles; i++) {
        char touched[MAX_FILE_PAGES + 1];
        size_t np = pages_of(files[i].e.size), k;
        for (k = 0; k < np; k++)
            touched[k] = files[i].supplied[k] ? '#' : '.';
        touched[k] = '\0';
        printf("pagerfs: %-10s pages ever supplied: [%s]\n", files[i].e.name, touched);
        const char *want = strcmp(files[i].e.name, "poem.txt") == 0    ? "#..#"
                           : strcmp(files[i].e.name, "notes.txt") == 0 ? "#"
                                                                       : ".";
        if (strcmp(touched, want) != 0) {
            printf("pagerfs: FAILED: expected [%s]\n", want);
            ok = false;
        }
    }
    const char *notes = NULL;
    for (unsigned i = 0; i < nfiles; i++)
        if (strcmp(files[i].e.name, "notes.txt") == 0)
            notes = (const char *)image + files[i].e.offset;
    printf("pagerfs: the image's notes.txt now says: %s", notes ? notes : "(none)\n");
    if (!notes || strncmp(notes, "notes, version 2", 16) != 0) {
        printf("pagerfs: FAILED: the edit is not in the image\n");
        ok = false;
    }
    if (pages_written_back != 1) {
        printf("pagerfs: FAILED: %u pages written back, expected 1\n", pages_written_back);
        ok = false;
    }
    return ok;
}

static int server(void) {
    zx_status_t st = load_image();
    if (st != ZX_OK) {
        printf("pagerfs: no usable pagerfs.img boot module: %d\n", st);
        return 1;
    }
    st = zx_pager_create(0, &pager);
    if (st == ZX_OK)
        st = zx_port_create(0, &port);
    for (unsigned i = 0; i < nfiles && st == ZX_OK; i++) {
        st = zx_pager_create_vmo(pager, 0, port, i, files[i].e.size, &files[i].vmo);
        if (st == ZX_OK)
            printf("pagerfs: serving %-10s %5u bytes as a pager VMO%s\n", files[i].e.name,
                   files[i].e.size, files[i].e.flags & 1 ? " (writable)" : "");
    }
    zx_handle_t ch = ZX_HANDLE_INVALID, client_ch = ZX_HANDLE_INVALID, proc = ZX_HANDLE_INVALID;
    if (st == ZX_OK)
        st = zx_channel_create(0, &ch, &client_ch);
    if (st == ZX_OK) {
        const char *argv[] = {"pagerfs.elf", "client"};
        const uint32_t kind = JASPER_HANDLE_CHANNEL;
        st = jasper_launch_etc(zx_job_default(), "pagerfs-client", ulib_executable_vmo(), 2, argv,
                               &client_ch, &kind, 1, &proc);
    }
    if (st == ZX_OK)
        st = serve(ch);
    int64_t client_code = st == ZX_OK ? jasper_wait(proc) : -1;
    bool ok = st == ZX_OK && client_code == 0 && verify();
    if (st != ZX_OK || client_code != 0)
        printf("pagerfs: FAILED: status %d, client exited with %lld\n", st,
               (long long)client_code);
    printf("pagerfs: %u requests, %u pages supplied, %u written back\n", requests, pages_supplied,
           pages_written_back);
    zx_handle_close(proc);
    zx_handle_close(ch);
    for (unsigned i = 0; i < nfiles; i++)
        zx_handle_close(files[i].vmo);
    zx_handle_close(pager);
    zx_handle_close(port);
    if (image)
        zx_vmar_unmap(zx_vmar_root_self(), (zx_vaddr_t)image, image_size);
    printf("pagerfs: %s\n", ok ? "all checks passed" : "FAILED");
    return ok ? 0 : 1;
}

int main(int argc, char **argv) {
    if (argc == 2 && strcmp(argv[1], "client") == 0) {
        zx_handle_t ch = ZX_HANDLE_INVALID;
        if (ulib_startup_handles(JASPER_HANDLE_CHANNEL, &ch, 1) != 1)
            return 1;
        return pagerfs_client(ch);
    }
    return server();
}
