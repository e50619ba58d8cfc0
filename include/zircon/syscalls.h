// The system calls: a source-compatible subset of Zircon's <zircon/syscalls.h>. The prototypes are
// generated from syscalls/syscalls.table (zircon/syscall-decls.h in the build directory) so the
// table, the kernel's dispatch and these declarations cannot disagree.
#ifndef ZIRCON_SYSCALLS_H
#define ZIRCON_SYSCALLS_H

#include <zircon/errors.h>
#include <zircon/rights.h>
#include <zircon/syscalls/debug.h>
#include <zircon/syscalls/exception.h>
#include <zircon/syscalls/object.h>
#include <zircon/syscalls/port.h>
#include <zircon/types.h>

#ifdef __cplusplus
extern "C" {
#endif

#include <zircon/syscall-decls.h>

#ifdef __cplusplus
}
#endif

// Default rights of new objects (docs/abi.md §1).
#define ZX_DEFAULT_VMO_RIGHTS ((zx_rights_t)0xD0EFu)
#define ZX_DEFAULT_CHANNEL_RIGHTS ((zx_rights_t)0xF00Fu)
#define ZX_DEFAULT_PROCESS_RIGHTS ((zx_rights_t)0x6D3CFu)
#define ZX_DEFAULT_THREAD_RIGHTS ((zx_rights_t)0x4D2CFu)
#define ZX_DEFAULT_JOB_RIGHTS ((zx_rights_t)0x7D3CFu)
#define ZX_DEFAULT_VMAR_RIGHTS ((zx_rights_t)0x8003u)
#define ZX_DEFAULT_EVENT_RIGHTS ((zx_rights_t)0xD003u)
#define ZX_DEFAULT_EVENTPAIR_RIGHTS ((zx_rights_t)0xF003u)
#define ZX_DEFAULT_PORT_RIGHTS ((zx_rights_t)0x800Fu)

#endif  // ZIRCON_SYSCALLS_H
