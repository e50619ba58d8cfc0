// A stand-in compressor for the host models (vm/cow_compress.h's codec interface): it keeps a copy
// of each page in libc memory, outside the kernel heap the models count, and changes no content.
#ifndef TEST_HOST_FAKE_CODEC_H
#define TEST_HOST_FAKE_CODEC_H

#include <stdbool.h>
#include <stddef.h>

#include "vm/cow_compress.h"

extern const struct cow_codec fake_codec;

// When set, about a quarter of the pages (by a hash of three bytes) "do not shrink" (OUT_OF_RANGE).
extern bool fake_codec_refuse_some;
// When set, the next compression of a non-zero page fails with NO_MEMORY (and clears it).
extern int fake_codec_fail_next;

// References handed out and not yet freed: every one must be freed by the end of a run.
size_t fake_codec_live(void);

#endif  // TEST_HOST_FAKE_CODEC_H
