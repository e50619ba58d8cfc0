// pagerfs: the demo's file server (pagerfs.c) and its client (pagerfs_client.c), one program.
// The protocol between them, on the channel the server hands the client at launch
// (JASPER_HANDLE_CHANNEL): the client writes a struct pfs_msg, the server answers with a
// struct pfs_reply (and, for OPEN, the file's VMO handle).
#ifndef USERBOOT_PAGERFS_H
#define USERBOOT_PAGERFS_H

#include <stdint.h>
#include <zircon/types.h>

#define PFS_PAGE 4096u
#define PFS_NAME_MAX 24u

enum pfs_op {
    PFS_OPEN = 1,  // name -> a handle to the file's pager VMO (no WRITE right if read-only)
    PFS_SYNC = 2,  // write every dirty range back into the image; answers when done
};

struct pfs_msg {
    uint32_t op;
    char name[PFS_NAME_MAX];
};

struct pfs_reply {
    zx_status_t status;
    uint32_t size;  // OPEN: the file's size in bytes; SYNC: the pages written back
};

// The client: runs in its own process, started by the server with `channel`.
int pagerfs_client(zx_handle_t channel);

#endif  // USERBOOT_PAGERFS_H
