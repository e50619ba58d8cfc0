// libFuzzer target for the page list: each input is a sequence of operations applied to two page
// lists and to a reference model (test/host/vmpl_model.c), which must agree after every step.
// Built and run by scripts/fuzz (clang, -fsanitize=fuzzer,address,undefined). Set
// VMPL_FUZZ_VERBOSE=1 to print the operations of an input (e.g. to replay a crash).
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "test/host/vmpl_model.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static int verbose = -1;
    if (verbose < 0)
        verbose = getenv("VMPL_FUZZ_VERBOSE") != NULL;
    vmpl_model_run(data, size, verbose, NULL);
    return 0;
}
