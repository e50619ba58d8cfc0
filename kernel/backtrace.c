// Symbol lookup over the generated table and frame-pointer backtraces.
#include "kernel/backtrace.h"

#include "kernel/printf.h"
#include "kernel/thread.h"

// Layout shared with scripts/gen-ksyms.py: entries sorted by address.
struct ksym {
    uint64_t addr;
    uint64_t name;  // offset into ksyms_names
};
extern const struct ksym ksyms_table[];
extern const uint64_t ksyms_count;
extern const char ksyms_names[];

#define BACKTRACE_MAX_FRAMES 32

const char *ksym_lookup(vaddr_t addr, size_t *out_offset) {
    size_t lo = 0, hi = ksyms_count;
    // Find the last entry with entry.addr <= addr.
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (ksyms_table[mid].addr <= addr)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo == 0)
        return NULL;
    const struct ksym *s = &ksyms_table[lo - 1];
    *out_offset = (size_t)(addr - s->addr);
    return &ksyms_names[s->name];
}

void ksym_format(vaddr_t addr, char *buf, size_t size) {
    size_t off;
    const char *name = ksym_lookup(addr, &off);
    if (name)
        ksnprintf(buf, size, "%s+%#zx", name, off);
    else
        ksnprintf(buf, size, "?");
}

// A frame pointer we are willing to dereference: aligned and in the kernel's half.
static bool frame_plausible(vaddr_t fp) {
    return fp != 0 && (fp & 7) == 0 && fp >= 0xffff800000000000ull && fp < 0xfffffffffffff000ull;
}

void backtrace_print_from(vaddr_t pc, vaddr_t fp) {
    char sym[96];
    ksym_format(pc, sym, sizeof(sym));
    kprintf("    #0  %#018llx %s\n", (unsigned long long)pc, sym);
    // The chain stays on the stack it starts on: the last frame of a trap or syscall from user
    // mode links to the user's rbp (the fast entries leave it in place), which may name any
    // address, the kernel's half included; no frame above a kernel stack's size is followed.
    vaddr_t limit = fp + THREAD_STACK_PAGES * PAGE_SIZE;
    for (int depth = 1; depth < BACKTRACE_MAX_FRAMES && frame_plausible(fp) && fp < limit - 16;
         depth++) {
        const vaddr_t *frame = (const vaddr_t *)fp;
        vaddr_t ret = frame[1];
        if (ret == 0)
            break;
        // Report the call instruction, not the return address, so the symbol is right even for
        // calls to noreturn functions at the end of a function.
        ksym_format(ret - 1, sym, sizeof(sym));
        kprintf("    #%-2d %#018llx %s\n", depth, (unsigned long long)ret, sym);
        if (frame[0] <= fp)
            break;  // frames grow upward; anything else is a corrupt chain
        fp = frame[0];
    }
}

void backtrace_print(void) {
    vaddr_t fp = (vaddr_t)__builtin_frame_address(0);
    backtrace_print_from((vaddr_t)__builtin_return_address(0), *(const vaddr_t *)fp);
}
