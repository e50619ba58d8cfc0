// Host stand-in for the one upcall of the VMO layer into the mapping layer (vm/upcalls.h): a
// recording vm_mapping_range_change, so tests can check that range changes reach every mapping
// with the right ranges (test/host/cow_host_env.h). Kernel objects come from
// test/host/host_objects.c.
#include "test/host/cow_host_env.h"


struct range_change_log range_changes;

void vm_range_batch_init(struct tlb_batch *batch) {
    (void)batch;  // no page tables here: nothing to invalidate
}

void vm_range_batch_finish(struct tlb_batch *batch) {
    (void)batch;
    range_changes.rounds++;
}

void vm_mapping_range_change(struct vm_mapping *m, uint64_t vmo_offset, uint64_t len,
                             enum vm_range_op op, struct tlb_batch *batch) {
    (void)batch;
    struct range_change_log *l = &range_changes;
    if (l->count < countof(l->entries))
        l->entries[l->count] = (struct range_change){m, vmo_offset, len, op};
    l->count++;
}
