// Which registered tests a filter selects (see kernel/ktest.h).
#include "kernel/ktest.h"

#include "kernel/string.h"

// Suites named "selfcheck" test the runner itself and fail on purpose: they run only when named.
bool ktest_selected(const struct ktest *t, const char *filter) {
    if (!filter || !*filter)
        return strcmp(t->suite, "selfcheck") != 0;
    size_t suite_len = strlen(t->suite);
    const char *p = filter;
    while (*p) {
        const char *end = strchr(p, ',');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        if (len == suite_len && strncmp(p, t->suite, len) == 0)
            return true;
        // "suite.name"
        if (len > suite_len + 1 && strncmp(p, t->suite, suite_len) == 0 && p[suite_len] == '.' &&
            strlen(t->name) == len - suite_len - 1 &&
            strncmp(p + suite_len + 1, t->name, len - suite_len - 1) == 0)
            return true;
        p += len;
        if (*p == ',')
            p++;
    }
    return false;
}
