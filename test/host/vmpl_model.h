// A differential driver for the page list: decodes a byte string into operations, applies each to
// two page lists and to a simple reference model (an array from page index to content, with zero
// intervals stored page by page), and panics at the first disagreement. After every operation it
// runs vmpl_check on both lists, compares every modelled offset, checks that nothing lies outside
// the modelled offsets, and checks page and reference ownership (nothing leaked, nothing released
// twice). Some operations run with heap failure injection armed: they must then either succeed
// or fail with ZX_ERR_NO_MEMORY and change nothing.
//
// Used by the libFuzzer target (test/fuzz/vmpl.c) and by a host test that feeds it pseudo-random
// bytes. Host only (uses host_env's failure injection).
#ifndef TEST_HOST_VMPL_MODEL_H
#define TEST_HOST_VMPL_MODEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct vmpl_model_stats {
    size_t ops;           // operations decoded
    size_t ops_applied;   // operations that changed or inspected a list
    size_t oom_failures;  // operations that failed with ZX_ERR_NO_MEMORY under injection
};

// Runs the operations in data[0, size). Panics on a disagreement. Leaves no allocation behind.
void vmpl_model_run(const uint8_t *data, size_t size, bool verbose, struct vmpl_model_stats *stats);

#endif  // TEST_HOST_VMPL_MODEL_H
