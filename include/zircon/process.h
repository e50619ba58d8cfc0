// Start-up handles of the running process, filled in by ulib's crt0 from the bootstrap message.
#ifndef ZIRCON_PROCESS_H
#define ZIRCON_PROCESS_H

#include <zircon/types.h>

#ifdef __cplusplus
extern "C" {
#endif

zx_handle_t zx_process_self(void);
zx_handle_t zx_vmar_root_self(void);
zx_handle_t zx_thread_self(void);
zx_handle_t zx_job_default(void);

#ifdef __cplusplus
}
#endif

#endif  // ZIRCON_PROCESS_H
