// The serial monitor: reads a line, runs a command, repeats.
#include "kernel/monitor.h"

#include "arch/x86_64/qemu.h"
#include "arch/x86_64/serial.h"
#include "arch/x86_64/smp.h"
#include "kernel/heap.h"
#include "kernel/ktest_runner.h"
#include "kernel/printf.h"
#include "kernel/string.h"
#include "vm/phys_ranges.h"
#include "vm/pmm.h"

static size_t read_line(char *buf, size_t size) {
    size_t n = 0;
    for (;;) {
        int c = serial_getc();
        if (c == '\r' || c == '\n') {
            kprintf("\n");
            buf[n] = '\0';
            return n;
        }
        if ((c == 0x7f || c == 0x08) && n > 0) {
            n--;
            kprintf("\b \b");
        } else if (c >= ' ' && c < 0x7f && n + 1 < size) {
            buf[n++] = (char)c;
            kprintf("%c", c);
        }
    }
}

static void cmd_mem(void) {
    for (int s = 0; s < PAGE_STATE_COUNT; s++)
        kprintf("  %-10s %8zu pages\n", page_state_name((enum page_state)s),
                pmm_count((enum page_state)s));
    struct heap_stats hs;
    heap_get_stats(&hs);
    kprintf("  heap: %zu pages, %zu bytes in %zu allocations\n", hs.pages, hs.bytes_used,
            hs.allocations);
}

static void cmd_ranges(void) {
    for (size_t i = 0; i < physical_ranges.count; i++) {
        const struct phys_range *r = &physical_ranges.r[i];
        kprintf("  [%#012llx, %#012llx) %s\n", (unsigned long long)r->start,
                (unsigned long long)r->end, mem_kind_name(r->kind));
    }
}

void monitor_run(void) {
    char line[128];
    kprintf("monitor: type 'help'\n");
    for (;;) {
        kprintf("jasper> ");
        read_line(line, sizeof(line));
        if (strcmp(line, "help") == 0) {
            kprintf("  mem            page counts per state and heap use\n"
                    "  ranges         the physical memory map\n"
                    "  cpus           every CPU: ticks, running thread, IPIs handled\n"
                    "  ktest [FILTER] run in-kernel tests\n"
                    "  poweroff       leave QEMU\n");
        } else if (strcmp(line, "mem") == 0) {
            cmd_mem();
        } else if (strcmp(line, "ranges") == 0) {
            cmd_ranges();
        } else if (strcmp(line, "cpus") == 0) {
            smp_print_cpus();
        } else if (strncmp(line, "ktest", 5) == 0 && (line[5] == '\0' || line[5] == ' ')) {
            ktest_run_all(line[5] ? line + 6 : NULL);
        } else if (strcmp(line, "poweroff") == 0 || strcmp(line, "exit") == 0) {
            qemu_exit(true);
        } else if (line[0]) {
            kprintf("unknown command '%s'\n", line);
        }
    }
}
