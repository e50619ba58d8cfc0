// The bootstrap message: the first message on the channel a new process finds in rdi. It carries
// the program's arguments and its start-up handles. The kernel writes one for userboot; userboot
// (ulib's launcher) writes one for every program it starts; ulib's crt0 reads it before main.
//
// Layout: a struct jasper_bootstrap, then `argc` NUL-terminated argument strings at args_offset,
// then one uint32_t kind per handle at kinds_offset (the handles travel in the message's handle
// array, in the same order).
#ifndef JASPER_BOOTSTRAP_H
#define JASPER_BOOTSTRAP_H

#include <stdint.h>

#define JASPER_BOOTSTRAP_MAGIC 0x3153424au  // "JBS1"
#define JASPER_BOOTSTRAP_MAX_BYTES 16384u
#define JASPER_BOOTSTRAP_MAX_HANDLES 64u

enum jasper_handle_kind {
    JASPER_HANDLE_PROC_SELF = 1,
    JASPER_HANDLE_VMAR_ROOT = 2,
    JASPER_HANDLE_THREAD_SELF = 3,
    JASPER_HANDLE_JOB_DEFAULT = 4,
    JASPER_HANDLE_VMO_EXECUTABLE = 5,  // the program's own ELF image
    JASPER_HANDLE_VMO_MODULE = 6,      // userboot: a boot module (its name is an argument);
                                       // a program: a data module userboot passed on
    JASPER_HANDLE_MONITOR_STEP = 7,    // started by the serial monitor: an event to pause on
    JASPER_HANDLE_CHANNEL = 8,         // a channel to the process that started the program
};

struct jasper_bootstrap {
    uint32_t magic;
    uint32_t argc;
    uint32_t args_offset;   // from the start of the message
    uint32_t args_size;     // bytes of argument strings
    uint32_t handle_count;
    uint32_t kinds_offset;  // from the start of the message; handle_count uint32_t kinds
};

#endif  // JASPER_BOOTSTRAP_H
