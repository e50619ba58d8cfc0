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
//   pager_fault      a 4 MiB pager-backed VMO mapped read-only, one byte read per page: each fault
//                    sends a page request to a pager thread, which writes the page's content into
//                    an aux VMO and supplies it, and the faulting thread resumes (ns per page;
//                    Linux: userfaultfd, a handler thread that read()s the fault and answers with
//                    UFFDIO_COPY of one page);
//   pager_fault_64   the same with 64 pages supplied per request (UFFDIO_COPY of 64 pages);
//   memset_4k        rep stosq of a page, memcpy_4k rep movsq of a page: the physical limits of the
//                    zero-fill and copy faults, in the same guest.
// And the workloads of the performance issue (docs/benchmarks.md):
//   map_unmap_N      map_unmap_page with N (10, 1,000, 10,000) other one-page mappings present;
//   chain_read_dD,   a read (then a write) of one byte per page of a 1 MiB leaf snapshot at the
//   chain_cow_dD     end of a chain of D (1, 10, 100, 1,000) snapshots of a filled VMO (per page);
//   proc_minimal     process_create + a mapped code page + thread_create + process_start of a
//                    program that calls process_exit at once + wait + close (per process);
//   proc_elf         jasper_launch of this very program with the argument "exit" (main returns 0
//                    at once) + wait + close: an ELF launch (per process);
//   vmo_read_4k/_1m, zx_vmo_read / zx_vmo_write of 4 KiB / 1 MiB between a committed VMO and a
//   vmo_write_4k/_1m committed user buffer (per call);
//   seq_write_64m    vmo_create + map + rep stosq over 64 MiB + unmap + close (per page);
//   seq_write_64m_prefault  the same with COMMIT and ZX_VM_MAP_RANGE first (per page).
// And the three ways of mapping pages a VMO already has, one at a time (4 MiB, per page):
//   map_range_4m     zx_vmar_map with ZX_VM_MAP_RANGE of a committed VMO (the map alone);
//   op_map_range_4m  ZX_VMAR_OP_MAP_RANGE over an existing mapping of a committed VMO ("commit,
//                    then map");
//   fault_around_4m  a read of one byte per page through a fresh mapping of a committed VMO: each
//                    fault maps its 16-page fault-around window;
//   commit_4m        ZX_VMO_OP_COMMIT of a fresh VMO (allocation and zeroing: the reference).
// Returns 1 (after "bench: error: ...") if any call fails, else 0 after "bench: done".
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <jasper/launch.h>
#include <string.h>
#include <zircon/process.h>
#include <zircon/syscalls.h>
#include <zircon/syscalls/port.h>

static uint64_t vmb_now(void) {
    return (uint64_t)zx_clock_get_monotonic();
}

#include "test/bench/bench_check.h"
#include "ulib/ulib_priv.h"
#include "test/bench/vmbench_common.h"
#include "test/bench/pager_bench.h"

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

// The pager workloads: test/bench/pager_bench.h's pager thread supplies `batch` pages per request;
// each sample reads one byte per page of a fresh pager VMO.
static void bench_pager(const char *name, unsigned batch) {
    uint64_t s[VMB_RUNS];
    const size_t bytes = (size_t)VMB_PAGER_PAGES * VMB_PAGE;
    struct pager_bench b;
    if (check(pager_bench_start(&b, batch), "pager_bench_start")) {
        (void)pager_bench_stop(&b);
        return;
    }
    for (int r = 0; r < VMB_RUNS && !failed; r++) {
        zx_handle_t vmo;
        zx_vaddr_t addr;
        if (check(pager_bench_vmo_new(&b, &vmo, &addr), "pager_bench_vmo_new"))
            break;
        uint64_t t0 = vmb_now();
        unsigned sum = vmb_touch_read((const char *)addr, bytes);
        s[r] = vmb_now() - t0;
        if (sum != VMB_PAGER_PAGES * 0x5au)
            check(ZX_ERR_IO, "pager content");
        check(zx_vmar_unmap(zx_vmar_root_self(), addr, bytes), "vmar_unmap");
        zx_handle_close(vmo);
    }
    if (!failed)
        vmb_report(name, VMB_PAGER_PAGES, s, VMB_RUNS);
    check(pager_bench_stop(&b), "pager thread");
}

static void bench_pager_fault(void) {
    bench_pager("pager_fault", 1);
}

static void bench_pager_fault_64(void) {
    bench_pager("pager_fault_64", VMB_PAGER_BATCH);
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

// map_unmap_page with `n` one-page mappings of another VMO present in the root VMAR.
static void bench_map_unmap_with(const char *name, unsigned n) {
    static zx_vaddr_t others[10000];
    uint64_t s[VMB_RUNS];
    zx_handle_t vmo, other;
    if (n > sizeof(others) / sizeof(others[0]) || check(zx_vmo_create(VMB_PAGE, 0, &vmo), "vmo_create"))
        return;
    if (check(zx_vmo_create(VMB_PAGE, 0, &other), "vmo_create")) {
        zx_handle_close(vmo);
        return;
    }
    unsigned mapped = 0;
    for (; mapped < n; mapped++) {
        if (check(zx_vmar_map(zx_vmar_root_self(), ZX_VM_PERM_READ, 0, other, 0, VMB_PAGE,
                              &others[mapped]), "vmar_map other"))
            break;
    }
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
    for (unsigned i = 0; i < mapped; i++)
        check(zx_vmar_unmap(zx_vmar_root_self(), others[i], VMB_PAGE), "vmar_unmap other");
    zx_handle_close(other);
    zx_handle_close(vmo);
    if (!failed)
        vmb_report(name, VMB_MAP_OPS, s, VMB_RUNS);
}

static void bench_map_unmap_10(void) {
    bench_map_unmap_with("map_unmap_10", 10);
}

static void bench_map_unmap_1000(void) {
    bench_map_unmap_with("map_unmap_1000", 1000);
}

static void bench_map_unmap_10000(void) {
    bench_map_unmap_with("map_unmap_10000", 10000);
}

// Faults at the end of a chain of `depth` snapshots: a filled VMO, each snapshot the child of
// the one before; each run takes a fresh leaf (snapshot number `depth`), reads one byte per page
// (read faults that find the root's pages) and then writes one (copy-on-write faults).
static void bench_chain(unsigned depth, const char *rname, const char *wname) {
    static zx_handle_t chain[VMB_CHAIN_MAX];
    uint64_t rs[VMB_CHAIN_RUNS], ws[VMB_CHAIN_RUNS];
    zx_handle_t root;
    char *p;
    if (depth == 0 || depth > VMB_CHAIN_MAX || !region_filled(VMB_CHAIN_BYTES, &root, &p))
        return;
    unsigned made = 0;  // chain[0 .. made) are live: snapshots 1 .. made
    zx_handle_t top = root;
    for (; made + 1 < depth; made++) {
        if (check(zx_vmo_create_child(top, ZX_VMO_CHILD_SNAPSHOT, 0, VMB_CHAIN_BYTES,
                                      &chain[made]), "vmo_create_child chain"))
            break;
        top = chain[made];
        // A byte of its own (the root's value) in the last page, so that the next snapshot
        // cannot hang above it: every level is a real node of the chain.
        static const char b = 0x5a;
        if (check(zx_vmo_write(top, &b, VMB_CHAIN_BYTES - VMB_PAGE, 1), "vmo_write chain"))
            break;
    }
    unsigned sum = 0;
    for (int r = 0; r < VMB_CHAIN_RUNS && !failed; r++) {
        zx_handle_t leaf;
        zx_vaddr_t addr;
        if (check(zx_vmo_create_child(top, ZX_VMO_CHILD_SNAPSHOT, 0, VMB_CHAIN_BYTES, &leaf),
                  "vmo_create_child leaf"))
            break;
        if (check(zx_vmar_map(zx_vmar_root_self(), RW, 0, leaf, 0, VMB_CHAIN_BYTES, &addr),
                  "vmar_map leaf")) {
            zx_handle_close(leaf);
            break;
        }
        uint64_t t0 = vmb_now();
        sum += vmb_touch_read((char *)addr, VMB_CHAIN_BYTES);
        rs[r] = vmb_now() - t0;
        t0 = vmb_now();
        vmb_touch_write((char *)addr, VMB_CHAIN_BYTES);
        ws[r] = vmb_now() - t0;
        if (((volatile char *)addr)[1] != 0x5a)
            check(ZX_ERR_INTERNAL, "chain: the leaf lost the root's data");
        region_free(leaf, (char *)addr, VMB_CHAIN_BYTES);
    }
    if (sum != 0x5a * (VMB_CHAIN_BYTES / VMB_PAGE) * (unsigned)VMB_CHAIN_RUNS && !failed)
        check(ZX_ERR_INTERNAL, "chain: the leaf read wrong data");
    while (made > 0)
        zx_handle_close(chain[--made]);
    region_free(root, p, VMB_CHAIN_BYTES);
    if (!failed) {
        vmb_report(rname, VMB_CHAIN_BYTES / VMB_PAGE, rs, VMB_CHAIN_RUNS);
        vmb_report(wname, VMB_CHAIN_BYTES / VMB_PAGE, ws, VMB_CHAIN_RUNS);
    }
}

static void bench_chain_1(void) {
    bench_chain(1, "chain_read_d1", "chain_cow_d1");
}

static void bench_chain_10(void) {
    bench_chain(10, "chain_read_d10", "chain_cow_d10");
}

static void bench_chain_100(void) {
    bench_chain(100, "chain_read_d100", "chain_cow_d100");
}

static void bench_chain_1000(void) {
    bench_chain(1000, "chain_read_d1000", "chain_cow_d1000");
}

// The smallest program: process_exit(0) (syscall number 24 in rax, the code in rdi), then ud2.
static const uint8_t exit_code[] = {0x31, 0xff, 0xb8, 0x18, 0, 0, 0, 0x0f, 0x05, 0x0f, 0x0b};

static bool wait_exit_zero(zx_handle_t proc) {
    if (check(zx_object_wait_one(proc, ZX_PROCESS_TERMINATED, ZX_TIME_INFINITE, NULL), "wait"))
        return false;
    zx_info_process_t info;
    if (check(zx_object_get_info(proc, ZX_INFO_PROCESS, &info, sizeof(info), NULL, NULL),
              "get_info process"))
        return false;
    if (info.return_code != 0) {
        check(ZX_ERR_INTERNAL, "child process: non-zero return code");
        return false;
    }
    return true;
}

static void bench_proc_minimal(void) {
    uint64_t s[VMB_RUNS];
    zx_handle_t code;
    if (check(zx_vmo_create(VMB_PAGE, 0, &code), "vmo_create code") ||
        check(zx_vmo_write(code, exit_code, 0, sizeof(exit_code)), "vmo_write code") ||
        check(zx_vmo_replace_as_executable(code, ZX_HANDLE_INVALID, &code), "replace_as_executable"))
        return;
    for (int r = 0; r < VMB_RUNS && !failed; r++) {
        uint64_t t0 = vmb_now();
        for (unsigned i = 0; i < VMB_PROC_OPS && !failed; i++) {
            zx_handle_t proc, vmar, thread;
            zx_vaddr_t entry;
            if (check(zx_process_create(zx_job_default(), "min", 3, 0, &proc, &vmar),
                      "process_create"))
                break;
            if (!check(zx_vmar_map(vmar, ZX_VM_PERM_READ | ZX_VM_PERM_EXECUTE, 0, code, 0,
                                   VMB_PAGE, &entry), "vmar_map code") &&
                !check(zx_thread_create(proc, "min", 3, 0, &thread), "thread_create")) {
                if (!check(zx_process_start(proc, thread, entry, entry + VMB_PAGE,
                                            ZX_HANDLE_INVALID, 0), "process_start"))
                    wait_exit_zero(proc);
                zx_handle_close(thread);
            }
            zx_handle_close(vmar);
            zx_handle_close(proc);
        }
        s[r] = vmb_now() - t0;
    }
    zx_handle_close(code);
    if (!failed)
        vmb_report("proc_minimal", VMB_PROC_OPS, s, VMB_RUNS);
}

static void bench_proc_elf(void) {
    uint64_t s[VMB_RUNS];
    static const char *const argv[] = {"vmbench.elf", "exit"};
    zx_handle_t exec = ulib_executable_vmo();
    if (exec == ZX_HANDLE_INVALID) {
        check(ZX_ERR_BAD_STATE, "no executable VMO");
        return;
    }
    for (int r = 0; r < VMB_RUNS && !failed; r++) {
        uint64_t t0 = vmb_now();
        for (unsigned i = 0; i < VMB_PROC_OPS && !failed; i++) {
            zx_handle_t proc;
            if (check(jasper_launch(zx_job_default(), "vmbench-exit", exec, 2, argv, &proc),
                      "jasper_launch"))
                break;
            wait_exit_zero(proc);
            zx_handle_close(proc);
        }
        s[r] = vmb_now() - t0;
    }
    if (!failed)
        vmb_report("proc_elf", VMB_PROC_OPS, s, VMB_RUNS);
}

// zx_vmo_read / zx_vmo_write of `len` bytes between a committed VMO and a committed buffer.
static void bench_vmo_rw(size_t len, unsigned ops, const char *rname, const char *wname) {
    static char buf[VMB_RW_MAX] __attribute__((aligned(4096)));
    uint64_t rs[VMB_RUNS], ws[VMB_RUNS];
    zx_handle_t vmo;
    char *p;
    if (len > VMB_RW_MAX || !region_filled(VMB_RW_MAX, &vmo, &p))
        return;
    vmb_stosq(buf, 0x1111111111111111ull, sizeof(buf) / 8);
    for (int r = 0; r < VMB_RUNS && !failed; r++) {
        uint64_t t0 = vmb_now();
        for (unsigned i = 0; i < ops; i++)
            if (check(zx_vmo_read(vmo, buf, 0, len), "vmo_read"))
                break;
        rs[r] = vmb_now() - t0;
    }
    if (buf[len - 1] != 0x5a)
        check(ZX_ERR_INTERNAL, "vmo_read: wrong data");
    for (int r = 0; r < VMB_RUNS && !failed; r++) {
        uint64_t t0 = vmb_now();
        for (unsigned i = 0; i < ops; i++)
            if (check(zx_vmo_write(vmo, buf, 0, len), "vmo_write"))
                break;
        ws[r] = vmb_now() - t0;
    }
    region_free(vmo, p, VMB_RW_MAX);
    if (!failed) {
        vmb_report(rname, ops, rs, VMB_RUNS);
        vmb_report(wname, ops, ws, VMB_RUNS);
    }
}

static void bench_vmo_rw_4k(void) {
    bench_vmo_rw(VMB_PAGE, VMB_RW_OPS_4K, "vmo_read_4k", "vmo_write_4k");
}

static void bench_vmo_rw_1m(void) {
    bench_vmo_rw(VMB_RW_MAX, VMB_RW_OPS_1M, "vmo_read_1m", "vmo_write_1m");
}

// A 64 MiB VMO written from start to end through a fresh mapping; with `prefault`, committed and
// mapped with ZX_VM_MAP_RANGE first. Timed from vmo_create to handle_close.
static void bench_seq_write(const char *name, bool prefault) {
    uint64_t s[VMB_RUNS];
    for (int r = 0; r < VMB_RUNS && !failed; r++) {
        uint64_t t0 = vmb_now();
        zx_handle_t vmo;
        zx_vaddr_t addr;
        if (check(zx_vmo_create(VMB_64M, 0, &vmo), "vmo_create"))
            break;
        if (prefault && check(zx_vmo_op_range(vmo, ZX_VMO_OP_COMMIT, 0, VMB_64M, NULL, 0),
                              "vmo_op_range commit")) {
            zx_handle_close(vmo);
            break;
        }
        if (check(zx_vmar_map(zx_vmar_root_self(), RW | (prefault ? ZX_VM_MAP_RANGE : 0), 0,
                              vmo, 0, VMB_64M, &addr), "vmar_map")) {
            zx_handle_close(vmo);
            break;
        }
        vmb_stosq((void *)addr, 0x0101010101010101ull, VMB_64M / 8);
        region_free(vmo, (char *)addr, VMB_64M);
        s[r] = vmb_now() - t0;
    }
    if (!failed)
        vmb_report(name, VMB_PAGES_64M, s, VMB_RUNS);
}

static void bench_seq_write_64m(void) {
    bench_seq_write("seq_write_64m", false);
}

static void bench_seq_write_64m_prefault(void) {
    bench_seq_write("seq_write_64m_prefault", true);
}

// The ways of mapping pages a committed VMO already has (per page of VMB_4M). `kind`: 0 map with
// ZX_VM_MAP_RANGE (the map call timed), 1 ZX_VMAR_OP_MAP_RANGE over a mapping made before (the
// op timed), 2 a read of one byte per page through a fresh mapping (fault-around; the loop timed),
// 3 ZX_VMO_OP_COMMIT of a fresh VMO (the commit timed).
static void bench_map_present(const char *name, int kind) {
    uint64_t s[VMB_RUNS];
    zx_handle_t vmo;
    char *p;
    if (!region_filled(VMB_4M, &vmo, &p))
        return;
    unsigned sum = 0;
    for (int r = 0; r < VMB_RUNS && !failed; r++) {
        zx_vaddr_t addr;
        uint64_t t0 = 0, t1 = 0;
        if (kind == 3) {
            zx_handle_t fresh;
            if (check(zx_vmo_create(VMB_4M, 0, &fresh), "vmo_create"))
                break;
            t0 = vmb_now();
            check(zx_vmo_op_range(fresh, ZX_VMO_OP_COMMIT, 0, VMB_4M, NULL, 0), "commit");
            t1 = vmb_now();
            zx_handle_close(fresh);
            s[r] = t1 - t0;
            continue;
        }
        uint32_t opts = RW | (kind == 0 ? ZX_VM_MAP_RANGE : 0);
        t0 = vmb_now();
        if (check(zx_vmar_map(zx_vmar_root_self(), opts, 0, vmo, 0, VMB_4M, &addr), "vmar_map"))
            break;
        if (kind != 0)
            t0 = vmb_now();
        if (kind == 1)
            check(zx_vmar_op_range(zx_vmar_root_self(), ZX_VMAR_OP_MAP_RANGE, addr, VMB_4M, NULL,
                                   0), "vmar_op_range map_range");
        else if (kind == 2)
            sum += vmb_touch_read((char *)addr, VMB_4M);
        t1 = vmb_now();
        if (kind != 2)
            sum += vmb_touch_read((char *)addr, VMB_4M);  // every page was mapped: no faults
        check(zx_vmar_unmap(zx_vmar_root_self(), addr, VMB_4M), "vmar_unmap");
        s[r] = t1 - t0;
    }
    if (kind != 3 && sum != 0x5a * (VMB_4M / VMB_PAGE) * (unsigned)VMB_RUNS && !failed)
        check(ZX_ERR_INTERNAL, "map_present: read wrong data");
    region_free(vmo, p, VMB_4M);
    if (!failed)
        vmb_report(name, VMB_4M / VMB_PAGE, s, VMB_RUNS);
}

static void bench_map_range_4m(void) {
    bench_map_present("map_range_4m", 0);
}

static void bench_op_map_range_4m(void) {
    bench_map_present("op_map_range_4m", 1);
}

static void bench_fault_around_4m(void) {
    bench_map_present("fault_around_4m", 2);
}

static void bench_commit_4m(void) {
    bench_map_present("commit_4m", 3);
}

static void bench_snapshot_4m(void) {
    bench_snapshot("snapshot_4m", VMB_4M);
}

static void bench_snapshot_64m(void) {
    bench_snapshot("snapshot_64m", VMB_64M);
}

int main(int argc, char **argv) {
    // proc_elf launches this program with "exit": return at once.
    if (argc > 1 && strcmp(argv[1], "exit") == 0)
        return 0;
    // The order of vmbench_linux.c. Each workload runs even if an earlier one failed, so one
    // broken call does not hide the rest.
    static const struct {
        const char *name;
        void (*fn)(void);
    } benches[] = {
        {"zero_fill_fault", bench_zero_fill_fault},
        {"zero_page_read", bench_zero_page_read},
        {"cow_fault", bench_cow_fault},
        {"snapshot_4m", bench_snapshot_4m},
        {"snapshot_64m", bench_snapshot_64m},
        {"map_unmap_page", bench_map_unmap_page},
        {"protect_64m", bench_protect_64m},
        {"null_syscall", bench_null_syscall},
        {"memset_memcpy_4k", bench_memset_memcpy_4k},
        {"port_roundtrip", bench_port_roundtrip},
        {"async_roundtrip", bench_async_roundtrip},
        {"map_unmap_10", bench_map_unmap_10},
        {"map_unmap_1000", bench_map_unmap_1000},
        {"map_unmap_10000", bench_map_unmap_10000},
        {"chain_1", bench_chain_1},
        {"chain_10", bench_chain_10},
        {"chain_100", bench_chain_100},
        {"chain_1000", bench_chain_1000},
        {"proc_minimal", bench_proc_minimal},
        {"proc_elf", bench_proc_elf},
        {"vmo_rw_4k", bench_vmo_rw_4k},
        {"vmo_rw_1m", bench_vmo_rw_1m},
        {"seq_write_64m", bench_seq_write_64m},
        {"seq_write_64m_prefault", bench_seq_write_64m_prefault},
        {"map_range_4m", bench_map_range_4m},
        {"op_map_range_4m", bench_op_map_range_4m},
        {"fault_around_4m", bench_fault_around_4m},
        {"commit_4m", bench_commit_4m},
        {"pager_fault", bench_pager_fault},
        {"pager_fault_64", bench_pager_fault_64},
    };
    int any_failed = 0;
    for (size_t i = 0; i < sizeof(benches) / sizeof(benches[0]); i++) {
        // vmbench.elf PREFIX...: only the workloads whose name starts with one of them.
        bool run = argc < 2;
        for (int a = 1; a < argc && !run; a++)
            run = strncmp(benches[i].name, argv[a], strlen(argv[a])) == 0;
        if (!run)
            continue;
        failed = 0;
        benches[i].fn();
        any_failed |= failed;
    }
    if (any_failed)
        return 1;
    printf("bench: done\n");
    return 0;
}
