// Lookup in the exception-fixup table (linear: the table holds a handful of entries).
#include "kernel/extable.h"

extern const struct extable_entry __start_extable[];
extern const struct extable_entry __stop_extable[];

uint64_t extable_find(uint64_t rip) {
    for (const struct extable_entry *e = __start_extable; e < __stop_extable; e++) {
        if (e->insn == rip)
            return e->fixup;
    }
    return 0;
}
