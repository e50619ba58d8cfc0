// User-copy helpers: range checks here, the faulting copy and its fault verdict in arch/x86_64/
// (usercopy.S, faults.c).
#include "syscalls/user_copy.h"

#include "arch/x86_64/cpu.h"
#include "arch/x86_64/faults.h"
#include "kernel/string.h"

bool arch_has_smap;

void user_copy_init(void) {
    uint32_t r[4];
    cpuid(0, 0, r);
    if (r[0] >= 7) {
        cpuid(7, 0, r);
        arch_has_smap = (r[1] >> 20) & 1;
    }
}

bool user_range_ok(user_addr_t addr, size_t len) {
    if (len == 0)
        return true;
    return addr >= USER_ASPACE_BASE && addr < USER_ASPACE_END && len <= USER_ASPACE_END - addr;
}

static zx_status_t copy(void *dst, const void *src, size_t len) {
    return arch_user_copy(dst, src, len);
}

zx_status_t copy_from_user(void *dst, user_addr_t src, size_t len) {
    if (len == 0)
        return ZX_OK;
    if (!user_range_ok(src, len))
        return ZX_ERR_INVALID_ARGS;
    return copy(dst, (const void *)src, len);
}

zx_status_t copy_to_user(user_addr_t dst, const void *src, size_t len) {
    if (len == 0)
        return ZX_OK;
    if (!user_range_ok(dst, len))
        return ZX_ERR_INVALID_ARGS;
    return copy((void *)dst, src, len);
}

zx_status_t copy_str_from_user(char *dst, user_addr_t src, size_t max) {
    zx_status_t st = copy_from_user(dst, src, max);
    if (st != ZX_OK)
        return st;
    dst[max] = '\0';
    return ZX_OK;
}
