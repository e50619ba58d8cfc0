// Zircon's bridge between C11 threads and handles (as in Fuchsia's <zircon/threads.h>).
#ifndef ULIB_ZIRCON_THREADS_H
#define ULIB_ZIRCON_THREADS_H

#include <threads.h>
#include <zircon/types.h>

#ifdef __cplusplus
extern "C" {
#endif

// The thread handle of `t` (owned by the thread library: do not close it).
zx_handle_t thrd_get_zx_handle(thrd_t t);

#ifdef __cplusplus
}
#endif

#endif  // ULIB_ZIRCON_THREADS_H
