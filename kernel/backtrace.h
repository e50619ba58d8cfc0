// Symbolised backtraces from the kernel's own symbol table (generated at link time into .ksyms by
// scripts/gen-ksyms.py) and the frame-pointer chain (the kernel keeps frame pointers).
#ifndef KERNEL_BACKTRACE_H
#define KERNEL_BACKTRACE_H

#include <stddef.h>

#include "kernel/types.h"

// Finds the function containing `addr`. Returns its name and sets *out_offset, or returns NULL.
const char *ksym_lookup(vaddr_t addr, size_t *out_offset);
// Formats "name+0xoff" (or "?") into buf.
void ksym_format(vaddr_t addr, char *buf, size_t size);
// Prints "  #N 0xADDR name+0xoff" for `pc` and then each frame of the rbp chain starting at `fp`.
void backtrace_print_from(vaddr_t pc, vaddr_t fp);
// Prints the caller's backtrace.
void backtrace_print(void);

#endif  // KERNEL_BACKTRACE_H
