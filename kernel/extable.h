// The exception-fixup table: code that may fault on purpose (the user-copy helpers) registers
// (faulting instruction, resume address) pairs in the `extable` section; a fault at such an
// instruction resumes at the fixup instead of being a kernel bug.
#ifndef KERNEL_EXTABLE_H
#define KERNEL_EXTABLE_H

#include "kernel/types.h"

struct extable_entry {
    uint64_t insn;
    uint64_t fixup;
};

// Returns the fixup address for a fault at `rip`, or 0.
uint64_t extable_find(uint64_t rip);

#endif  // KERNEL_EXTABLE_H
