// A stand-in compressor for the host models: see fake_codec.h.
#include "test/host/fake_codec.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "kernel/assert.h"

#define FAKE_MAGIC 0x5a9e0000u

struct fake_ref {
    uint32_t magic;
    uint8_t bytes[PAGE_SIZE];
};

bool fake_codec_refuse_some;
int fake_codec_fail_next;
static size_t live;

size_t fake_codec_live(void) {
    return live;
}

static zx_status_t fake_compress(const void *page, zref_t *ref, bool *is_zero) {
    const uint8_t *b = page;
    bool zero = true;
    for (size_t i = 0; i < PAGE_SIZE && zero; i++)
        zero = b[i] == 0;
    *ref = ZREF_NONE;
    *is_zero = zero;
    if (zero)
        return ZX_OK;
    if (fake_codec_fail_next) {
        fake_codec_fail_next = 0;
        return ZX_ERR_NO_MEMORY;
    }
    if (fake_codec_refuse_some && (b[0] + b[5] + b[77]) % 4 == 0)
        return ZX_ERR_OUT_OF_RANGE;
    struct fake_ref *r = malloc(sizeof(*r));
    if (!r)
        abort();
    r->magic = FAKE_MAGIC;
    memcpy(r->bytes, page, PAGE_SIZE);
    live++;
    *ref = (zref_t)(uintptr_t)r >> 3;  // below 2^61, never 0
    return ZX_OK;
}

static struct fake_ref *fake_get(zref_t ref) {
    struct fake_ref *r = (struct fake_ref *)(uintptr_t)(ref << 3);
    if (ref == ZREF_NONE || r->magic != FAKE_MAGIC)
        panic("fake compressor: bad reference %#llx", (unsigned long long)ref);
    return r;
}

static zx_status_t fake_decompress(zref_t ref, void *page) {
    memcpy(page, fake_get(ref)->bytes, PAGE_SIZE);
    return ZX_OK;
}

static void fake_free(zref_t ref) {
    if (ref == ZREF_NONE)
        return;
    struct fake_ref *r = fake_get(ref);
    r->magic = 0;
    free(r);
    live--;
}

const struct cow_codec fake_codec = {fake_compress, fake_decompress, fake_free};
