// Jasper driver for test/bench/prof/run: one workload per argument (zero_fill, zero_read, cow,
// snapshot, snapshot_unmapped, syscall, zfault, map_range, map_unmap, pager, pager_64) over
// 16 MiB (4,096 pages or calls, or 4,096 one-page map + unmap pairs), the measured part between
// prof_begin() and prof_end(), the profiler's window markers. Built with scripts/cc-user,
// test/kernel/page_mix.c after this file (so that prof_begin and prof_end keep their addresses).
// zfault: read faults on compressed pages (page_mix.c's text, pushed out with
// DONT_NEED; the run script boots with reclaim.eager_dont_need=1). map_range: a ZX_VM_MAP_RANGE
// map of the committed VMO. fault_around: one byte read per page through a fresh mapping of the
// committed VMO (each fault maps its window of neighbours). pager, pager_64: one byte read per
// page of a fresh 4 MiB pager VMO (VMB_PAGER_PAGES pages), a pager thread of this process
// supplying 1 or 64 pages per request (test/bench/pager_bench.h, vmbench's pager_fault loop).
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <zircon/process.h>
#include <zircon/syscalls.h>
#include <zircon/syscalls/port.h>

__attribute__((unused)) static uint64_t vmb_now(void) {
    return (uint64_t)zx_clock_get_monotonic();
}

#include "test/bench/vmbench_common.h"
#include "test/bench/pager_bench.h"
#include "test/kernel/page_mix.h"

#ifndef SZ
#define SZ (16ul << 20)  // bytes per workload; -DSZ=... to change
#endif

void prof_begin(void);
void prof_end(void);
__attribute__((noinline)) void prof_begin(void) {
    __asm__ volatile("nop");
}
__attribute__((noinline)) void prof_end(void) {
    __asm__ volatile("nop");
}

static char *map(zx_handle_t vmo) {
    zx_vaddr_t a = 0;
    if (zx_vmar_map(zx_vmar_root_self(), ZX_VM_PERM_READ | ZX_VM_PERM_WRITE, 0, vmo, 0, SZ, &a))
        printf("vmprof: map failed\n");
    return (char *)a;
}

// The pager workload: faults in one fresh pager VMO, `batch` pages per request, in the window.
static void prof_pager(unsigned batch) {
    struct pager_bench b;
    zx_handle_t vmo;
    zx_vaddr_t addr;
    zx_status_t st = pager_bench_start(&b, batch);
    if (st == ZX_OK)
        st = pager_bench_vmo_new(&b, &vmo, &addr);
    if (st == ZX_OK) {
        prof_begin();
        unsigned sum = vmb_touch_read((const char *)addr, (size_t)VMB_PAGER_PAGES * VMB_PAGE);
        prof_end();
        if (sum != VMB_PAGER_PAGES * 0x5au)
            printf("vmprof: pager content wrong\n");
        zx_vmar_unmap(zx_vmar_root_self(), addr, (size_t)VMB_PAGER_PAGES * VMB_PAGE);
        zx_handle_close(vmo);
    }
    zx_status_t stop = pager_bench_stop(&b);
    if (st != ZX_OK || stop != ZX_OK)
        printf("vmprof: pager failed: %d %d\n", st, stop);
}

int main(int argc, char **argv) {
    // One window first, always: it closes the window userboot may have opened (it runs its own
    // code at these addresses) or is empty; the run script skips it (skip=1).
    prof_begin();
    prof_end();
    for (int i = 1; i < argc; i++) {
        const char *w = argv[i];
        zx_handle_t vmo, child;
        if (zx_vmo_create(SZ, 0, &vmo) != ZX_OK)
            return 1;
        char *p = map(vmo);
        if (!strcmp(w, "zero_fill")) {
            prof_begin();
            vmb_touch_write(p, SZ);
            prof_end();
        } else if (!strcmp(w, "zero_read")) {
            prof_begin();
            (void)vmb_touch_read(p, SZ);
            prof_end();
        } else if (!strcmp(w, "cow")) {
            vmb_stosq(p, 0x5a5a5a5a5a5a5a5aull, SZ / 8);
            zx_vmo_create_child(vmo, ZX_VMO_CHILD_SNAPSHOT, 0, SZ, &child);
            char *c = map(child);
            prof_begin();
            vmb_touch_write(c, SZ);
            prof_end();
            zx_vmar_unmap(zx_vmar_root_self(), (zx_vaddr_t)c, SZ);
            zx_handle_close(child);
        } else if (!strcmp(w, "snapshot") || !strcmp(w, "snapshot_unmapped")) {
            vmb_stosq(p, 0x5a5a5a5a5a5a5a5aull, SZ / 8);
            if (!strcmp(w, "snapshot_unmapped"))
                zx_vmar_unmap(zx_vmar_root_self(), (zx_vaddr_t)p, SZ);
            prof_begin();
            zx_vmo_create_child(vmo, ZX_VMO_CHILD_SNAPSHOT, 0, SZ, &child);
            zx_handle_close(child);
            prof_end();
        } else if (!strcmp(w, "map_unmap")) {
            prof_begin();
            for (int k = 0; k < 4096; k++) {
                zx_vaddr_t a = 0;
                zx_vmar_map(zx_vmar_root_self(), ZX_VM_PERM_READ | ZX_VM_PERM_WRITE, 0, vmo, 0,
                            4096, &a);
                zx_vmar_unmap(zx_vmar_root_self(), a, 4096);
            }
            prof_end();
        } else if (!strcmp(w, "map_range")) {
            vmb_stosq(p, 0x5a5a5a5a5a5a5a5aull, SZ / 8);
            zx_vaddr_t a = 0;
            prof_begin();
            zx_vmar_map(zx_vmar_root_self(), ZX_VM_PERM_READ | ZX_VM_PERM_WRITE | ZX_VM_MAP_RANGE,
                        0, vmo, 0, SZ, &a);
            prof_end();
            zx_vmar_unmap(zx_vmar_root_self(), a, SZ);
        } else if (!strcmp(w, "fault_around")) {
            vmb_stosq(p, 0x5a5a5a5a5a5a5a5aull, SZ / 8);
            char *q = map(vmo);
            prof_begin();
            (void)vmb_touch_read(q, SZ);
            prof_end();
            zx_vmar_unmap(zx_vmar_root_self(), (zx_vaddr_t)q, SZ);
        } else if (!strcmp(w, "zfault")) {
            for (size_t off = 0; off < SZ; off += 4096)
                page_mix_fill(PAGE_KIND_TEXT, off / 4096 + 1, (uint8_t *)p + off, 4096);
            zx_vmo_op_range(vmo, ZX_VMO_OP_DONT_NEED, 0, SZ, NULL, 0);
            prof_begin();
            (void)vmb_touch_read(p, SZ);
            prof_end();
        } else if (!strcmp(w, "pager") || !strcmp(w, "pager_64")) {
            prof_pager(!strcmp(w, "pager") ? 1 : VMB_PAGER_BATCH);
        } else if (!strcmp(w, "syscall")) {
            prof_begin();
            for (int k = 0; k < 4096; k++)
                zx_handle_close(ZX_HANDLE_INVALID);
            prof_end();
        }
        zx_vmar_unmap(zx_vmar_root_self(), (zx_vaddr_t)p, SZ);
        zx_handle_close(vmo);
    }
    return 0;
}
