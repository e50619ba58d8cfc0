// libFuzzer target for VMOs and copy-on-write clone trees: each input is a sequence of VMO
// operations applied to real VMOs over simulated RAM and to a byte-array model
// (test/host/cow_model.c), which must agree after every step. Built and run by scripts/fuzz
// (clang, -fsanitize=fuzzer,address,undefined). Set COW_FUZZ_VERBOSE=1 to print the operations
// of an input (e.g. to replay a crash: build/fuzz/cow FILE).
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "test/host/cow_model.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static int verbose = -1;
    if (verbose < 0)
        verbose = getenv("COW_FUZZ_VERBOSE") != NULL;
    if (size > 4096)
        size = 4096;  // keep each input's run short
    cow_model_run(data, size, verbose, NULL);
    return 0;
}
