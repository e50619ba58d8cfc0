// Command-line parsing into a fixed buffer: no allocation, so it works before the heap exists.
#include "kernel/cmdline.h"

#include "kernel/string.h"

struct cmdline kernel_cmdline;

static bool is_space(char c) {
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

static void add_arg(struct cmdline *cl, const char *key, const char *value) {
    for (size_t i = 0; i < cl->count; i++) {
        if (strcmp(cl->keys[i], key) == 0) {
            cl->values[i] = value;
            return;
        }
    }
    if (cl->count == CMDLINE_MAX_ARGS) {
        cl->truncated = true;
        return;
    }
    cl->keys[cl->count] = key;
    cl->values[cl->count] = value;
    cl->count++;
}

void cmdline_parse(const char *line, struct cmdline *out) {
    memset(out, 0, sizeof(*out));
    if (!line)
        return;
    size_t len = strlen(line);
    if (len >= sizeof(out->buf)) {
        len = sizeof(out->buf) - 1;
        out->truncated = true;
    }
    memcpy(out->buf, line, len);
    out->buf[len] = '\0';

    char *p = out->buf;
    while (*p) {
        while (is_space(*p))
            *p++ = '\0';
        if (!*p)
            break;
        char *key = p;
        char *value = NULL;
        while (*p && !is_space(*p)) {
            if (*p == '=' && !value) {
                *p = '\0';
                value = p + 1;
            }
            p++;
        }
        if (*p)
            *p++ = '\0';
        if (*key)
            add_arg(out, key, value ? value : "");
    }
}

const char *cmdline_get(const struct cmdline *cl, const char *key) {
    for (size_t i = 0; i < cl->count; i++) {
        if (strcmp(cl->keys[i], key) == 0)
            return cl->values[i];
    }
    return NULL;
}

unsigned long long cmdline_get_u64(const struct cmdline *cl, const char *key,
                                   unsigned long long dflt) {
    const char *v = cmdline_get(cl, key);
    if (!v || !*v)
        return dflt;
    unsigned base = 10;
    if (v[0] == '0' && (v[1] == 'x' || v[1] == 'X')) {
        base = 16;
        v += 2;
        if (!*v)
            return dflt;
    }
    unsigned long long n = 0;
    for (; *v; v++) {
        unsigned d;
        if (*v >= '0' && *v <= '9')
            d = (unsigned)(*v - '0');
        else if (base == 16 && *v >= 'a' && *v <= 'f')
            d = (unsigned)(*v - 'a' + 10);
        else if (base == 16 && *v >= 'A' && *v <= 'F')
            d = (unsigned)(*v - 'A' + 10);
        else
            return dflt;
        if (d >= base || n > (~0ull - d) / base)
            return dflt;
        n = n * base + d;
    }
    return n;
}

bool cmdline_get_bool(const struct cmdline *cl, const char *key) {
    const char *v = cmdline_get(cl, key);
    if (!v)
        return false;
    return strcmp(v, "0") != 0 && strcmp(v, "false") != 0 && strcmp(v, "off") != 0 &&
           strcmp(v, "no") != 0;
}
