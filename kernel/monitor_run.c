// The monitor's `run` and `next`: starting boot modules beside the monitor and letting a paused
// program go on. A program started here gets, besides the usual start-up handles, its own ELF
// image (JASPER_HANDLE_VMO_EXECUTABLE) and a step event (JASPER_HANDLE_MONITOR_STEP) that the
// demo pauses on when given --pause. The monitor reports each program's exit while it waits for
// input.
#include <jasper/bootstrap.h>
#include <zircon/syscalls.h>

#include "arch/x86_64/multiboot2.h"
#include "kernel/event.h"
#include "kernel/monitor_priv.h"
#include "kernel/printf.h"
#include "kernel/process.h"
#include "kernel/string.h"
#include "kernel/userboot.h"
#include "vm/vmo.h"

#define MAX_PROGRAMS 8
#define MAX_PROGRAM_ARGS 8

struct program {
    struct process *proc;   // a reference while running; NULL: free slot
    struct kobject *step;   // its step event (a reference)
    char name[32];
};
static struct program programs[MAX_PROGRAMS];

// Whether module command line `line` names `name` (its first word, with or without ".elf").
static bool module_matches(const char *line, const char *name, size_t *out_len) {
    size_t n = 0;
    while (line[n] && line[n] != ' ')
        n++;
    size_t k = strlen(name);
    *out_len = n;
    if (k == n && strncmp(line, name, n) == 0)
        return true;
    return k + 4 == n && strncmp(line, name, k) == 0 && strncmp(line + k, ".elf", 4) == 0;
}

static void list_modules(void) {
    kprintf("  boot modules:");
    for (size_t i = 1; i < boot_info.module_count; i++) {
        const char *line = boot_info.modules[i].name ? boot_info.modules[i].name : "?";
        size_t n = 0;
        while (line[n] && line[n] != ' ')
            n++;
        kprintf(" %.*s", (int)n, line);
    }
    kprintf("\n");
}

void monitor_cmd_run(int argc, char **argv) {
    if (argc < 2) {
        kprintf("usage: run NAME [ARGS]\n");
        list_modules();
        return;
    }
    const struct boot_module *m = NULL;
    size_t len = 0;
    for (size_t i = 1; i < boot_info.module_count && !m; i++) {
        if (boot_info.modules[i].name && module_matches(boot_info.modules[i].name, argv[1], &len))
            m = &boot_info.modules[i];
    }
    if (!m) {
        kprintf("run: no boot module '%s'\n", argv[1]);
        list_modules();
        return;
    }
    struct program *slot = NULL;
    for (size_t i = 0; i < MAX_PROGRAMS && !slot; i++) {
        if (!programs[i].proc)
            slot = &programs[i];
    }
    if (!slot) {
        kprintf("run: %d programs are running already\n", MAX_PROGRAMS);
        return;
    }
    char name[32];
    ksnprintf(name, sizeof(name), "%.*s", (int)len, m->name);
    const char *pargv[MAX_PROGRAM_ARGS] = {name};
    size_t pargc = 1;
    for (int i = 2; i < argc && pargc < MAX_PROGRAM_ARGS; i++)
        pargv[pargc++] = argv[i];
    struct vmo *image = NULL;
    struct kobject *step = NULL;
    struct process *p = NULL;
    zx_status_t st = boot_module_vmo(m, &image);
    if (st == ZX_OK)
        st = event_create(&step);
    if (st == ZX_OK) {
        struct launch_handle extra[2] = {
            {JASPER_HANDLE_VMO_EXECUTABLE, vmo_object(image),
             ZX_DEFAULT_VMO_RIGHTS | ZX_RIGHT_EXECUTE},
            {JASPER_HANDLE_MONITOR_STEP, step, ZX_DEFAULT_EVENT_RIGHTS},
        };
        st = kernel_launch(m, name, pargv, pargc, extra, 2, false, &p);
    }
    if (image)
        kobject_release(vmo_object(image));
    if (st != ZX_OK) {
        kprintf("run: %s could not start: %d\n", name, st);
        if (step)
            kobject_release(step);
        return;
    }
    *slot = (struct program){.proc = p, .step = step};
    memcpy(slot->name, name, sizeof(name));
    kprintf("monitor: started %s as process %llu\n", name, (unsigned long long)p->obj.koid);
}

void monitor_cmd_next(int argc, char **argv) {
    size_t resumed = 0;
    for (size_t i = 0; i < MAX_PROGRAMS; i++) {
        struct program *g = &programs[i];
        if (g->proc && (kobject_signals(g->step) & MONITOR_STEP_PAUSED)) {
            kobject_signal(g->step, MONITOR_STEP_PAUSED, MONITOR_STEP_GO);
            resumed++;
        }
    }
    if (!resumed)
        kprintf("next: no program is paused\n");
}

void monitor_poll_programs(void) {
    for (size_t i = 0; i < MAX_PROGRAMS; i++) {
        struct program *g = &programs[i];
        if (!g->proc || !(kobject_signals(&g->proc->obj) & ZX_PROCESS_TERMINATED))
            continue;
        kprintf("\nmonitor: %s (process %llu) exited with %lld\n", g->name,
                (unsigned long long)g->proc->obj.koid, (long long)g->proc->return_code);
        kobject_release(&g->proc->obj);
        kobject_release(g->step);
        *g = (struct program){0};
    }
}
