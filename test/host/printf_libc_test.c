// Model test: our formatter against the C library's snprintf over many random conversions.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kernel/ktest.h"
#include "kernel/printf.h"

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;
static uint64_t rng(void) {
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
}

KTEST(printf_model, matches_libc) {
    static const char *const convs[] = {"d", "i", "u", "x", "X", "o", "lld", "llu", "llx", "zu",
                                        "hd", "hhu", "ld", "lx"};
    static const char *const flags[] = {"", "-", "0", "+", " ", "#", "-#", "0#", "+0"};
    for (int i = 0; i < 20000; i++) {
        char fmt[32];
        const char *conv = convs[rng() % countof(convs)];
        const char *flag = flags[rng() % countof(flags)];
        // '#' with d/i/u is undefined; skip those pairs.
        if (strchr(flag, '#') && strchr("diu", conv[strlen(conv) - 1]))
            flag = "";
        int width = (int)(rng() % 24);
        int prec = (int)(rng() % 24) - 4;  // negative: no precision
        if (prec >= 0)
            snprintf(fmt, sizeof(fmt), "%%%s%d.%d%s", flag, width, prec, conv);
        else
            snprintf(fmt, sizeof(fmt), "%%%s%d%s", flag, width, conv);
        uint64_t v = rng();
        if (rng() % 4 == 0)
            v %= 100;
        char want[128], got[128];
        int wn, gn;
        if (strstr(conv, "ll") || strstr(conv, "z") || strchr(conv, 'l')) {
            wn = snprintf(want, sizeof(want), fmt, (long long)v);
            gn = (int)ksnprintf(got, sizeof(got), fmt, (long long)v);
        } else {
            wn = snprintf(want, sizeof(want), fmt, (int)v);
            gn = (int)ksnprintf(got, sizeof(got), fmt, (int)v);
        }
        if (!EXPECT_STREQ(got, want) || !EXPECT_EQ(gn, wn)) {
            printf("    format \"%s\" value %#llx\n", fmt, (unsigned long long)v);
            return;
        }
    }
}

KTEST(printf_model, strings_match_libc) {
    static const char *const strs[] = {"", "a", "hello", "a longer string of text"};
    for (int i = 0; i < 2000; i++) {
        char fmt[32];
        const char *s = strs[rng() % countof(strs)];
        int width = (int)(rng() % 30);
        int prec = (int)(rng() % 30) - 5;
        const char *flag = rng() % 2 ? "-" : "";
        if (prec >= 0)
            snprintf(fmt, sizeof(fmt), "[%%%s%d.%ds]", flag, width, prec);
        else
            snprintf(fmt, sizeof(fmt), "[%%%s%ds]", flag, width);
        char want[128], got[128];
        snprintf(want, sizeof(want), fmt, s);
        ksnprintf(got, sizeof(got), fmt, s);
        if (!EXPECT_STREQ(got, want))
            return;
    }
}
