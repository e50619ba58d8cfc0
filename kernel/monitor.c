// The serial monitor: reads a line, runs a command, repeats. It waits for input by polling the
// serial port every few milliseconds and sleeping in between, so the programs it starts run
// beside it (on one CPU too), and it reports their exits while it waits. The commands live in
// one file per family (kernel/monitor_priv.h).
#include "kernel/monitor.h"

#include "arch/x86_64/qemu.h"
#include "arch/x86_64/serial.h"
#include "arch/x86_64/smp.h"
#include "kernel/heap.h"
#include "kernel/ktest_runner.h"
#include "kernel/monitor_priv.h"
#include "kernel/oom.h"
#include "kernel/printf.h"
#include "kernel/string.h"
#include "kernel/thread.h"
#include "vm/phys_ranges.h"
#include "vm/page_queues.h"
#include "vm/pmm.h"
#include "vm/reclaim.h"

#define POLL_INTERVAL_NS (10 * 1000 * 1000)
#define MAX_ARGS 8

// Waits for a character, reporting ended programs meanwhile.
static int wait_char(void) {
    for (;;) {
        int c = serial_try_getc();
        if (c >= 0)
            return c;
        monitor_poll_programs();
        (void)thread_sleep_until(current_time() + POLL_INTERVAL_NS);
    }
}

static size_t read_line(char *buf, size_t size) {
    size_t n = 0;
    for (;;) {
        int c = wait_char();
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

bool monitor_parse_u64(const char *s, uint64_t *out) {
    uint64_t v = 0;
    unsigned base = 10;
    if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
        base = 16;
        s += 2;
    }
    if (!*s)
        return false;
    for (; *s; s++) {
        unsigned d;
        if (*s >= '0' && *s <= '9')
            d = (unsigned)(*s - '0');
        else if (base == 16 && *s >= 'a' && *s <= 'f')
            d = (unsigned)(*s - 'a' + 10);
        else if (base == 16 && *s >= 'A' && *s <= 'F')
            d = (unsigned)(*s - 'A' + 10);
        else
            return false;
        v = v * base + d;
    }
    *out = v;
    return true;
}

static void cmd_mem(int argc, char **argv) {
    for (int s = 0; s < PAGE_STATE_COUNT; s++)
        kprintf("  %-10s %8zu pages\n", page_state_name((enum page_state)s),
                pmm_count((enum page_state)s));
    struct heap_stats hs;
    heap_get_stats(&hs);
    kprintf("  heap: %zu pages, %zu bytes in %zu allocations\n", hs.pages, hs.bytes_used,
            hs.allocations);
    // Memory pressure (docs/memory-pressure.md): queues, level, reclaim counters.
    struct pq_counts q;
    pq_get_counts(&q);
    kprintf("  queues: %zu pages; anon %zu (newest 2: %zu, oldest 2: %zu), pager %zu, "
            "dont_need %zu, failed %zu, unreclaimable %zu; %llu rotations\n",
            q.total, q.anon_total, q.anon_newest, q.anon_oldest, q.pager_total,
            q.pages[PQ_DONT_NEED], q.pages[PQ_FAILED], q.pages[PQ_UNRECLAIMABLE],
            (unsigned long long)q.rotations);
    struct reclaim_watermarks w;
    reclaim_get_watermarks(&w);
    static const char *const levels[] = {"normal", "warning", "critical", "oom"};
    kprintf("  level %s; watermarks (pages) warning %zu critical %zu oom %zu reserve %zu "
            "(critical callers %zu; %zu pages given them from it)\n",
            levels[reclaim_level()], w.warning, w.critical, w.oom, w.reserve, w.critical_reserve,
            pmm_critical_allocs());
    struct reclaim_stats r;
    reclaim_get_stats(&r);
    kprintf("  reclaim: %llu freed, %llu failed, %llu fault reclaims; zero scan %llu/%llu; "
            "%llu harvests, %llu accessed\n",
            (unsigned long long)r.reclaimed, (unsigned long long)r.failed,
            (unsigned long long)r.fault_reclaims, (unsigned long long)r.zero_deduped,
            (unsigned long long)r.zero_scanned, (unsigned long long)r.harvests,
            (unsigned long long)r.accessed);
    struct oom_stats o;
    oom_get_stats(&o);
    kprintf("  oom: %llu kills, %llu requests failed", (unsigned long long)o.kills,
            (unsigned long long)o.failures);
    if (o.last_koid)
        kprintf("; last victim job %llu '%.32s' (%llu KiB)", (unsigned long long)o.last_koid,
                o.last_name, (unsigned long long)(o.last_bytes / 1024));
    kprintf("\n");
}

static void cmd_ranges(int argc, char **argv) {
    for (size_t i = 0; i < physical_ranges.count; i++) {
        const struct phys_range *r = &physical_ranges.r[i];
        kprintf("  [%#012llx, %#012llx) %s\n", (unsigned long long)r->start,
                (unsigned long long)r->end, mem_kind_name(r->kind));
    }
}

static void cmd_cpus(int argc, char **argv) {
    smp_print_cpus();
}

static void cmd_ktest(int argc, char **argv) {
    ktest_run_all(argc > 1 ? argv[1] : NULL);
}

static void cmd_poweroff(int argc, char **argv) {
    qemu_exit(true);
}

static void cmd_help(int argc, char **argv);

struct monitor_cmd {
    const char *name, *args, *help;
    void (*fn)(int argc, char **argv);
};

static const struct monitor_cmd commands[] = {
    {"help", "", "this list", cmd_help},
    {"run", "NAME [ARGS]", "start boot module NAME (demo.elf --pause stops after each step)",
     monitor_cmd_run},
    {"next", "", "let a paused program go on to its next step", monitor_cmd_next},
    {"ps", "", "jobs and processes: threads, mapped/private/shared bytes", monitor_cmd_ps},
    {"vmos", "", "every VMO the processes hold or map", monitor_cmd_vmos},
    {"vmmap", "PID", "a process's address space: VMARs, mappings, committed pages",
     monitor_cmd_vmmap},
    {"vmo", "KOID", "a VMO's clone tree: nodes, windows, share counts, pages", monitor_cmd_vmo},
    {"memmap", "[COLS [ROWS]]", "physical memory, one character per run of pages",
     monitor_cmd_memmap},
    {"dump", "[TAG]", "clone trees and the physical map in the dump format (scripts/memview)",
     monitor_cmd_dump},
    {"mem", "", "page counts per state and heap use", cmd_mem},
    {"ranges", "", "the physical memory map", cmd_ranges},
    {"cpus", "", "every CPU: ticks, running thread, IPIs handled", cmd_cpus},
    {"ktest", "[FILTER]", "run in-kernel tests", cmd_ktest},
    {"poweroff", "", "leave QEMU (also: exit)", cmd_poweroff},
    {"exit", NULL, NULL, cmd_poweroff},
};

static void cmd_help(int argc, char **argv) {
    for (size_t i = 0; i < countof(commands); i++) {
        if (!commands[i].help)
            continue;
        char left[32];
        ksnprintf(left, sizeof(left), "%s %s", commands[i].name, commands[i].args);
        kprintf("  %-22s %s\n", left, commands[i].help);
    }
}

// Splits `line` in place at spaces.
static int split(char *line, char **argv) {
    int argc = 0;
    char *p = line;
    while (*p && argc < MAX_ARGS) {
        while (*p == ' ')
            *p++ = '\0';
        if (!*p)
            break;
        argv[argc++] = p;
        while (*p && *p != ' ')
            p++;
    }
    return argc;
}

void monitor_run(void) {
    char line[128];
    kprintf("monitor: type 'help'\n");
    for (;;) {
        kprintf("jasper> ");
        read_line(line, sizeof(line));
        char *argv[MAX_ARGS];
        int argc = split(line, argv);
        if (argc == 0)
            continue;
        size_t i = 0;
        while (i < countof(commands) && strcmp(commands[i].name, argv[0]) != 0)
            i++;
        if (i < countof(commands))
            commands[i].fn(argc, argv);
        else
            kprintf("unknown command '%s' (try 'help')\n", argv[0]);
    }
}
