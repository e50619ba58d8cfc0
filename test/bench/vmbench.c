// The Jasper side of the VM benchmarks compared with Linux by scripts/bench-vs-linux (the Linux
// side, test/bench/linux/vmbench_linux.c, runs the same loops from vmbench_common.h). Each
// workload prints
//     bench NAME ns_per_op=MEDIAN min=MIN max=MAX ops=OPS
// Under QEMU's -icount shift=0 (scripts/bench, scripts/bench-vs-linux) one ns is one guest
// instruction, so the figures repeat exactly. Workloads, 64 MiB unless noted:
//   zero_fill_fault  a fresh VMO mapped read-write, one byte written per page (ns per page);
//   zero_page_read   the same, one byte read per page;
//   cow_fault        a filled, mapped VMO; a SNAPSHOT child mapped read-write, one byte written per
//                    page of the child (ns per page);
//   snapshot_4m/_64m create a SNAPSHOT child of a mapped VMO with 4 / 64 MiB committed, and close
//                    it: the snapshot's whole life, as fork + exit + wait is on Linux (ns each);
//   map_unmap_page   map and unmap one page of an existing VMO;
//   protect_64m      read-write -> read-only -> read-write over 64 MiB committed (ns per page
//                    changed once);
//   null_syscall     zx_handle_close(ZX_HANDLE_INVALID);
//   port_roundtrip   zx_port_queue of a user packet + zx_port_wait that takes it (Linux: write to
//                    an eventfd + epoll_wait + read of the eventfd);
//   async_roundtrip  zx_object_wait_async on an event + object_signal (set) + port_wait + signal
//                    (clear) (Linux: epoll_ctl MOD re-arming EPOLLONESHOT + eventfd write +
//                    epoll_wait + read);
//   memset_4k        rep stosq of a page, memcpy_4k rep movsq of a page: the physical limits of the
//                    zero-fill and copy faults, in the same guest.
// Returns 1 (after "bench: error: ...") if any call fails, else 0 after "bench: done".
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <zircon/process.h>
#include <zircon/syscalls.h>

static uint64_t vmb_now(void) {
    return (uint64_t)zx_clock_get_monotonic();
}

#include "test/bench/bench_check.h"
#include "test/bench/vmbench_common.h"

#define RW (ZX_VM_PERM_READ | ZX_VM_PERM_WRITE)

// A new VMO of `bytes` mapped read-write in the root VMAR. Returns false on failure.
static bool region_new(size_t bytes, zx_handle_t *out_vmo, char **out_addr) {
    zx_handle_t vmo;
    zx_vaddr_t addr;
    if (check(zx_vmo_create(bytes, 0, &vmo), "vmo_create"))
        return false;
    if (check(zx_vmar_map(zx_vmar_root_self(), RW, 0, vmo, 0, bytes, &addr), "vmar_map")) {
        zx_handle_close(vmo);
        return false;
    }
    *out_vmo = vmo;
    *out_addr = (char *)addr;
    return true;
}

static void region_free(zx_handle_t vmo, char *addr, size_t bytes) {
    check(zx_vmar_unmap(zx_vmar_root_self(), (zx_vaddr_t)addr, bytes), "vmar_unmap");
    check(zx_handle_close(vmo), "handle_close");
}

// A mapped region of `bytes` with every page committed and holding non-zero data.
static bool region_filled(size_t bytes, zx_handle_t *out_vmo, char **out_addr) {
    if (!region_new(bytes, out_vmo, out_addr))
        return false;
    vmb_stosq(*out_addr, 0x5a5a5a5a5a5a5a5aull, bytes / 8);
    return true;
}

static void bench_zero_fill_fault(void) {
    uint64_t s[VMB_RUNS];
    for (int r = 0; r < VMB_RUNS; r++) {
        zx_handle_t vmo;
        char *p;
        if (!region_new(VMB_64M, &vmo, &p))
            return;
        uint64_t t0 = vmb_now();
        vmb_touch_write(p, VMB_64M);
        s[r] = vmb_now() - t0;
        region_free(vmo, p, VMB_64M);
    }
    vmb_report("zero_fill_fault", VMB_PAGES_64M, s, VMB_RUNS);
}

static void bench_zero_page_read(void) {
    uint64_t s[VMB_RUNS];
    unsigned sum = 0;
    for (int r = 0; r < VMB_RUNS; r++) {
        zx_handle_t vmo;
        char *p;
        if (!region_new(VMB_64M, &vmo, &p))
            return;
        uint64_t t0 = vmb_now();
        sum += vmb_touch_read(p, VMB_64M);
        s[r] = vmb_now() - t0;
        region_free(vmo, p, VMB_64M);
    }
    if (sum != 0)
        check(ZX_ERR_INTERNAL, "zero_page_read: fresh memory is not zero");
    vmb_report("zero_page_read", VMB_PAGES_64M, s, VMB_RUNS);
}

static void bench_cow_fault(void) {
    uint64_t s[VMB_RUNS];
    zx_handle_t vmo;
    char *p;
    if (!region_filled(VMB_64M, &vmo, &p))
        return;
    for (int r = 0; r < VMB_RUNS; r++) {
        zx_handle_t child;
        zx_vaddr_t addr;
        if (check(zx_vmo_create_child(vmo, ZX_VMO_CHILD_SNAPSHOT, 0, VMB_64M, &child),
                  "vmo_create_child"))
            break;
        if (check(zx_vmar_map(zx_vmar_root_self(), RW, 0, child, 0, VMB_64M, &addr),
                  "vmar_map child")) {
            zx_handle_close(child);
            break;
        }
        uint64_t t0 = vmb_now();
        vmb_touch_write((char *)addr, VMB_64M);
        s[r] = vmb_now() - t0;
        if (((volatile char *)addr)[1] != 0x5a)
            check(ZX_ERR_INTERNAL, "cow_fault: the snapshot lost the parent's data");
        region_free(child, (char *)addr, VMB_64M);
    }
    if (p[0] != 0x5a)
        check(ZX_ERR_INTERNAL, "cow_fault: a write to the snapshot reached the parent");
    region_free(vmo, p, VMB_64M);
    if (!failed)
        vmb_report("cow_fault", VMB_PAGES_64M, s, VMB_RUNS);
}

static void bench_snapshot(const char *name, size_t bytes) {
    uint64_t s[VMB_RUNS];
    zx_handle_t vmo;
    char *p;
    if (!region_filled(bytes, &vmo, &p))
        return;
    for (int r = 0; r < VMB_RUNS; r++) {
        zx_handle_t child;
        uint64_t t0 = vmb_now();
        if (check(zx_vmo_create_child(vmo, ZX_VMO_CHILD_SNAPSHOT, 0, bytes, &child),
                  "vmo_create_child"))
            break;
        check(zx_handle_close(child), "handle_close child");
        s[r] = vmb_now() - t0;
    }
    region_free(vmo, p, bytes);
    if (!failed)
        vmb_report(name, 1, s, VMB_RUNS);
}

static void bench_map_unmap_page(void) {
    uint64_t s[VMB_RUNS];
    zx_handle_t vmo;
    if (check(zx_vmo_create(VMB_PAGE, 0, &vmo), "vmo_create"))
        return;
    for (int r = 0; r < VMB_RUNS && !failed; r++) {
        uint64_t t0 = vmb_now();
        for (unsigned i = 0; i < VMB_MAP_OPS; i++) {
            zx_vaddr_t addr;
            if (check(zx_vmar_map(zx_vmar_root_self(), RW, 0, vmo, 0, VMB_PAGE, &addr),
                      "vmar_map") ||
                check(zx_vmar_unmap(zx_vmar_root_self(), addr, VMB_PAGE), "vmar_unmap"))
                break;
        }
        s[r] = vmb_now() - t0;
    }
    zx_handle_close(vmo);
    if (!failed)
        vmb_report("map_unmap_page", VMB_MAP_OPS, s, VMB_RUNS);
}

static void bench_protect_64m(void) {
    uint64_t s[VMB_RUNS];
    zx_handle_t vmo;
    char *p;
    if (!region_filled(VMB_64M, &vmo, &p))
        return;
    for (int r = 0; r < VMB_RUNS; r++) {
        uint64_t t0 = vmb_now();
        if (check(zx_vmar_protect(zx_vmar_root_self(), ZX_VM_PERM_READ, (zx_vaddr_t)p, VMB_64M),
                  "vmar_protect ro") ||
            check(zx_vmar_protect(zx_vmar_root_self(), RW, (zx_vaddr_t)p, VMB_64M),
                  "vmar_protect rw"))
            break;
        s[r] = vmb_now() - t0;
    }
    region_free(vmo, p, VMB_64M);
    if (!failed)
        vmb_report("protect_64m", 2 * VMB_PAGES_64M, s, VMB_RUNS);
}

static void bench_null_syscall(void) {
    uint64_t s[VMB_RUNS];
    for (int r = 0; r < VMB_RUNS; r++) {
        uint64_t t0 = vmb_now();
        for (unsigned i = 0; i < VMB_SYSCALL_OPS; i++)
            (void)zx_handle_close(ZX_HANDLE_INVALID);
        s[r] = vmb_now() - t0;
    }
    vmb_report("null_syscall", VMB_SYSCALL_OPS, s, VMB_RUNS);
}

static void bench_port_roundtrip(void) {
    uint64_t s[VMB_RUNS];
    zx_handle_t port;
    if (check(zx_port_create(0, &port), "port_create"))
        return;
    zx_port_packet_t in = {.key = 1}, out;
    for (int r = 0; r < VMB_RUNS && !failed; r++) {
        uint64_t t0 = vmb_now();
        for (unsigned i = 0; i < VMB_PORT_OPS; i++) {
            if (check(zx_port_queue(port, &in), "port_queue") ||
                check(zx_port_wait(port, ZX_TIME_INFINITE, &out), "port_wait"))
                break;
        }
        s[r] = vmb_now() - t0;
    }
    if (!failed)
        vmb_report("port_roundtrip", VMB_PORT_OPS, s, VMB_RUNS);
    zx_handle_close(port);
}

static void bench_async_roundtrip(void) {
    uint64_t s[VMB_RUNS];
    zx_handle_t port, ev;
    if (check(zx_port_create(0, &port), "port_create"))
        return;
    if (check(zx_event_create(0, &ev), "event_create")) {
        zx_handle_close(port);
        return;
    }
    zx_port_packet_t out;
    for (int r = 0; r < VMB_RUNS && !failed; r++) {
        uint64_t t0 = vmb_now();
        for (unsigned i = 0; i < VMB_PORT_OPS; i++) {
            if (check(zx_object_wait_async(ev, port, 1, ZX_EVENT_SIGNALED, 0), "wait_async") ||
                check(zx_object_signal(ev, 0, ZX_EVENT_SIGNALED), "object_signal") ||
                check(zx_port_wait(port, ZX_TIME_INFINITE, &out), "port_wait") ||
                check(zx_object_signal(ev, ZX_EVENT_SIGNALED, 0), "object_signal"))
                break;
        }
        s[r] = vmb_now() - t0;
    }
    if (!failed)
        vmb_report("async_roundtrip", VMB_PORT_OPS, s, VMB_RUNS);
    zx_handle_close(ev);
    zx_handle_close(port);
}

static void bench_memset_memcpy_4k(void) {
    uint64_t s[VMB_RUNS];
    zx_handle_t vmo;
    char *p;
    // Three committed pages; source and destination one page apart (never congruent modulo
    // 2 MiB, which QEMU's TLB handles badly in wall time).
    if (!region_filled(3 * VMB_PAGE, &vmo, &p))
        return;
    for (int r = 0; r < VMB_RUNS; r++) {
        uint64_t t0 = vmb_now();
        for (unsigned i = 0; i < VMB_MEM_OPS; i++)
            vmb_stosq(p, 0, VMB_PAGE / 8);
        s[r] = vmb_now() - t0;
    }
    vmb_report("memset_4k", VMB_MEM_OPS, s, VMB_RUNS);
    for (int r = 0; r < VMB_RUNS; r++) {
        uint64_t t0 = vmb_now();
        for (unsigned i = 0; i < VMB_MEM_OPS; i++)
            vmb_movsq(p + VMB_PAGE, p, VMB_PAGE / 8);
        s[r] = vmb_now() - t0;
    }
    vmb_report("memcpy_4k", VMB_MEM_OPS, s, VMB_RUNS);
    region_free(vmo, p, 3 * VMB_PAGE);
}

static void bench_snapshot_4m(void) {
    bench_snapshot("snapshot_4m", VMB_4M);
}

static void bench_snapshot_64m(void) {
    bench_snapshot("snapshot_64m", VMB_64M);
}

int main(void) {
    // The order of vmbench_linux.c. Each workload runs even if an earlier one failed, so one
    // broken call does not hide the rest.
    static void (*const benches[])(void) = {
        bench_zero_fill_fault, bench_zero_page_read, bench_cow_fault,
        bench_snapshot_4m,     bench_snapshot_64m,   bench_map_unmap_page,
        bench_protect_64m,     bench_null_syscall,   bench_memset_memcpy_4k,
        bench_port_roundtrip,  bench_async_roundtrip,
    };
    int any_failed = 0;
    for (size_t i = 0; i < sizeof(benches) / sizeof(benches[0]); i++) {
        failed = 0;
        benches[i]();
        any_failed |= failed;
    }
    if (any_failed)
        return 1;
    printf("bench: done\n");
    return 0;
}
