// The pagerfs demo's client: a process with nothing but a channel to the file server. It opens
// two files, maps them and reads one lazily (only the pages it touches are ever asked of the
// server), checks that a read-only file refuses writes, edits the writable one through its
// mapping, and asks for a sync. Every step is checked: the program exits 1 on any surprise.
#include <stdio.h>
#include <string.h>
#include <zircon/process.h>
#include <zircon/syscalls.h>

#include "userboot/pagerfs.h"

static int failures;

static void check(int ok, const char *what) {
    if (!ok) {
        printf("client: FAILED: %s\n", what);
        failures++;
    }
}

// One round trip to the server; *out (if any) receives the handle the reply carries.
static zx_status_t call(zx_handle_t ch, uint32_t op, const char *name, struct pfs_reply *reply,
                        zx_handle_t *out) {
    struct pfs_msg msg = {.op = op};
    strncpy(msg.name, name, sizeof(msg.name) - 1);
    zx_status_t st = zx_channel_write(ch, 0, &msg, sizeof(msg), NULL, 0);
    if (st == ZX_OK)
        st = zx_object_wait_one(ch, ZX_CHANNEL_READABLE | ZX_CHANNEL_PEER_CLOSED,
                                ZX_TIME_INFINITE, NULL);
    zx_handle_t h = ZX_HANDLE_INVALID;
    uint32_t bytes = 0, handles = 0;
    if (st == ZX_OK)
        st = zx_channel_read(ch, 0, reply, &h, sizeof(*reply), 1, &bytes, &handles);
    if (st == ZX_OK && bytes != sizeof(*reply))
        st = ZX_ERR_IO;
    if (st == ZX_OK && out)
        *out = handles ? h : ZX_HANDLE_INVALID;
    else if (handles)
        zx_handle_close(h);
    return st == ZX_OK ? reply->status : st;
}

// The first line of page `page` of a mapped text file.
static void print_line(const char *file, const char *base, unsigned page) {
    const char *line = base + (size_t)page * PFS_PAGE;
    int len = 0;
    while (len < 80 && line[len] && line[len] != '\n')
        len++;
    printf("client: %s page %u begins \"%.*s\"\n", file, page, len, line);
}

int pagerfs_client(zx_handle_t ch) {
    struct pfs_reply r;
    zx_handle_t poem = ZX_HANDLE_INVALID, notes = ZX_HANDLE_INVALID, none = ZX_HANDLE_INVALID;
    zx_vaddr_t pa = 0, na = 0;
    size_t psize = 0, nsize = 0;

    check(call(ch, PFS_OPEN, "poem.txt", &r, &poem) == ZX_OK, "open poem.txt");
    psize = (r.size + PFS_PAGE - 1) & ~(size_t)(PFS_PAGE - 1);
    check(zx_vmar_map(zx_vmar_root_self(), ZX_VM_PERM_READ, 0, poem, 0, psize, &pa) == ZX_OK,
          "map poem.txt");
    printf("client: opened and mapped poem.txt (%u bytes, %zu pages); nothing is read yet\n",
           r.size, psize / PFS_PAGE);
    if (pa && psize >= 4 * PFS_PAGE) {
        print_line("poem.txt", (const char *)pa, 0);  // faults: the server supplies page 0
        print_line("poem.txt", (const char *)pa, 3);  // and page 3; pages 1 and 2 stay unread
        check(strncmp((const char *)pa, "poem.txt line 000, page 1 of 4", 30) == 0,
              "poem.txt page 0's content");
        check(strncmp((const char *)pa + 3 * PFS_PAGE, "poem.txt line 384, page 4 of 4", 30) == 0,
              "poem.txt page 3's content");
    }
    char byte = 'x';
    zx_status_t st = zx_vmo_write(poem, &byte, 0, 1);
    printf("client: writing poem.txt (opened read-only): %s\n",
           st == ZX_ERR_ACCESS_DENIED ? "ACCESS_DENIED, as it should" : "allowed?!");
    check(st == ZX_ERR_ACCESS_DENIED, "poem.txt is read-only");
    check(call(ch, PFS_OPEN, "nonexistent", &r, &none) == ZX_ERR_NOT_FOUND,
          "opening a missing file is NOT_FOUND");

    check(call(ch, PFS_OPEN, "notes.txt", &r, &notes) == ZX_OK, "open notes.txt");
    nsize = (r.size + PFS_PAGE - 1) & ~(size_t)(PFS_PAGE - 1);
    check(zx_vmar_map(zx_vmar_root_self(), ZX_VM_PERM_READ | ZX_VM_PERM_WRITE, 0, notes, 0, nsize,
                      &na) == ZX_OK,
          "map notes.txt");
    if (na) {
        char *text = (char *)na;
        printf("client: notes.txt says: %s", text);
        const char edit[] = "notes, version 2: edited by the client through its mapping\n";
        memcpy(text, edit, sizeof(edit));  // a write fault: the page turns Dirty
        printf("client: wrote notes.txt through the mapping; asking the server for a sync\n");
        check(call(ch, PFS_SYNC, "", &r, NULL) == ZX_OK, "sync");
        printf("client: sync done: %u page(s) written back\n", r.size);
        check(r.size == 1, "the sync wrote back exactly the one page written");
        check(call(ch, PFS_SYNC, "", &r, NULL) == ZX_OK && r.size == 0,
              "a second sync finds nothing dirty");
    }
    if (pa)
        zx_vmar_unmap(zx_vmar_root_self(), pa, psize);
    if (na)
        zx_vmar_unmap(zx_vmar_root_self(), na, nsize);
    zx_handle_close(poem);
    zx_handle_close(notes);
    zx_handle_close(none);
    zx_handle_close(ch);
    printf("client: %s\n", failures ? "FAILED" : "done");
    return failures ? 1 : 0;
}
