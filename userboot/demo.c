// The demo scripts/run shows: a tour of Jasper's VM from user space. It creates a VMO, maps it,
// snapshots it, writes on both sides, and prints what the kernel reports about memory use at each
// step, so the copy-on-write sharing is visible in the numbers. Started from the serial monitor
// as `run demo.elf --pause`, it stops after each step until the monitor's `next` (the monitor's
// step event, docs/memory-pictures.md), so the memory can be looked at in between.
#include <jasper/bootstrap.h>
#include <stdio.h>
#include <string.h>
#include <zircon/process.h>
#include <zircon/syscalls.h>

#include "ulib/ulib_priv.h"

#define MIB (1024u * 1024u)
#define SIZE (4u * MIB)
#define PAGE 4096u

static void show(const char *what, zx_handle_t vmo) {
    zx_info_vmo_t info;
    if (zx_object_get_info(vmo, ZX_INFO_VMO, &info, sizeof(info), NULL, NULL) != ZX_OK) {
        printf("  %-28s (no info)\n", what);
        return;
    }
    printf("  %-28s committed %5llu KiB, private %5llu KiB, scaled %5llu KiB\n", what,
           (unsigned long long)info.committed_bytes / 1024,
           (unsigned long long)info.committed_private_bytes / 1024,
           (unsigned long long)info.committed_scaled_bytes / 1024);
}

// The monitor's step event when started with --pause, else ZX_HANDLE_INVALID.
static zx_handle_t step_event = ZX_HANDLE_INVALID;
static int step_count;

// Ends a step: names it and, when pausing, raises PAUSED (user signal 1) on the step event and
// waits for the monitor's GO (user signal 0), which it clears.
static void step(const char *what) {
    step_count++;
    printf("demo: step %d: %s\n", step_count, what);
    if (step_event == ZX_HANDLE_INVALID)
        return;
    printf("demo: paused after step %d (type 'next' in the monitor)\n", step_count);
    zx_object_signal(step_event, ZX_USER_SIGNAL_0, ZX_USER_SIGNAL_1);
    zx_object_wait_one(step_event, ZX_USER_SIGNAL_0, ZX_TIME_INFINITE, NULL);
    zx_object_signal(step_event, ZX_USER_SIGNAL_0 | ZX_USER_SIGNAL_1, 0);
}

static int check(zx_status_t st, const char *what) {
    if (st != ZX_OK)
        printf("demo: %s failed: %d\n", what, st);
    return st != ZX_OK;
}

int main(int argc, char **argv) {
    if (argc > 1 && strcmp(argv[1], "--pause") == 0 &&
        ulib_startup_handles(JASPER_HANDLE_MONITOR_STEP, &step_event, 1) != 1) {
        printf("demo: --pause needs the monitor's step event (start it with 'run demo.elf "
               "--pause' in scripts/run --shell)\n");
        step_event = ZX_HANDLE_INVALID;
    }
    printf("demo: Jasper's VM from user space\n");
    zx_handle_t vmo, child;
    zx_vaddr_t addr, caddr;
    if (check(zx_vmo_create(SIZE, 0, &vmo), "zx_vmo_create"))
        return 1;
    show("a fresh 4 MiB VMO:", vmo);
    zx_object_set_property(vmo, ZX_PROP_NAME, "demo", 4);
    if (check(zx_vmar_map(zx_vmar_root_self(), ZX_VM_PERM_READ | ZX_VM_PERM_WRITE, 0, vmo, 0,
                          SIZE, &addr),
              "zx_vmar_map"))
        return 1;
    uint8_t *p = (uint8_t *)addr;
    for (unsigned i = 0; i < SIZE; i += PAGE)
        p[i] = (uint8_t)(i / PAGE);  // one write fault per page
    printf("demo: wrote one byte to each of %u pages through a mapping at %p\n", SIZE / PAGE,
           (void *)addr);
    show("after the writes:", vmo);
    step("wrote every page of a 4 MiB VMO");

    if (check(zx_vmo_create_child(vmo, ZX_VMO_CHILD_SNAPSHOT, 0, SIZE, &child), "snapshot"))
        return 1;
    printf("demo: took a snapshot: no page was copied\n");
    show("parent:", vmo);
    show("snapshot:", child);
    zx_object_set_property(child, ZX_PROP_NAME, "demo snapshot", 13);
    step("took a snapshot");

    if (check(zx_vmar_map(zx_vmar_root_self(), ZX_VM_PERM_READ | ZX_VM_PERM_WRITE, 0, child, 0,
                          SIZE, &caddr),
              "zx_vmar_map child"))
        return 1;
    uint8_t *c = (uint8_t *)caddr;
    for (unsigned i = 0; i < SIZE / 4; i += PAGE)
        c[i] = 0xff;  // a copy-on-write fault per page: the snapshot gets its own copy
    printf("demo: wrote to the first quarter of the snapshot\n");
    show("parent:", vmo);
    show("snapshot:", child);
    int ok = p[0] == 0 && c[0] == 0xff && p[PAGE] == 1 && c[SIZE - PAGE] == (uint8_t)(SIZE / PAGE - 1);
    printf("demo: parent still reads %u, snapshot reads %u: %s\n", p[0], c[0],
           ok ? "isolated as expected" : "WRONG");
    step("wrote to the first quarter of the snapshot");

    zx_vmar_unmap(zx_vmar_root_self(), caddr, SIZE);
    zx_handle_close(child);
    printf("demo: closed the snapshot; its private pages are freed at once\n");
    show("parent:", vmo);
    step("closed the snapshot");
    zx_vmar_unmap(zx_vmar_root_self(), addr, SIZE);
    zx_handle_close(vmo);
    printf("demo: done\n");
    return ok ? 0 : 1;
}
