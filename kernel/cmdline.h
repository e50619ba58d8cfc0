// The kernel command line: space-separated `key=value` pairs and bare `flag`s. Pure code.
#ifndef KERNEL_CMDLINE_H
#define KERNEL_CMDLINE_H

#include <stdbool.h>
#include <stddef.h>

#define CMDLINE_MAX_ARGS 32
#define CMDLINE_MAX_LEN 512

struct cmdline {
    char buf[CMDLINE_MAX_LEN];  // the keys and values, NUL-separated
    const char *keys[CMDLINE_MAX_ARGS];
    const char *values[CMDLINE_MAX_ARGS];  // "" for a flag
    size_t count;
    bool truncated;  // the line was longer than the buffer or had too many arguments
};

// Parses `line` (may be NULL) into `out`. A later duplicate key overrides an earlier one.
void cmdline_parse(const char *line, struct cmdline *out);
// The value of `key`: "" for a flag, NULL if absent.
const char *cmdline_get(const struct cmdline *cl, const char *key);
// `key`'s value as an unsigned number (decimal or 0x hex), or `dflt` if absent or malformed.
unsigned long long cmdline_get_u64(const struct cmdline *cl, const char *key,
                                   unsigned long long dflt);
// True if `key` is present and not "0", "false", "off" or "no".
bool cmdline_get_bool(const struct cmdline *cl, const char *key);

// The boot command line, parsed by kmain.
extern struct cmdline kernel_cmdline;

#endif  // KERNEL_CMDLINE_H
