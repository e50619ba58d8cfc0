// Host stand-ins for the VMO layer's tests (test/host/cow_host_env.c): kernel objects without
// waiting, and a log of every vm_mapping_range_change call.
#ifndef TEST_HOST_COW_HOST_ENV_H
#define TEST_HOST_COW_HOST_ENV_H

#include <stddef.h>

#include "vm/upcalls.h"
#include "vm/vmo.h"

struct range_change {
    struct vm_mapping *mapping;
    uint64_t offset, len;
    enum vm_range_op op;
};

struct range_change_log {
    size_t count;   // calls made (entries beyond the array are counted, not kept)
    size_t rounds;  // batches finished: one per range change, however many mappings it reached
    struct range_change entries[256];
};

extern struct range_change_log range_changes;

#endif  // TEST_HOST_COW_HOST_ENV_H
