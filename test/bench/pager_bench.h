// The pager of the Jasper pager workloads (vmbench.c's pager_fault and pager_fault_64,
// test/bench/prof/vmprof.c's pager and pager_64), so that the benchmark and the profiler run the
// very same round trip: a thread of this process answers each READ request on the port with
// `batch` pages from the faulting offset (clipped to the VMO's VMB_PAGER_PAGES), written into an
// aux VMO first (the copy UFFDIO_COPY makes on Linux), then supplied. Every byte it supplies is
// 0x5a, so a read of one byte per page of a VMO sums to VMB_PAGER_PAGES * 0x5a.
//
// The including program includes <stdint.h>, <zircon/process.h>, <zircon/syscalls.h>,
// <zircon/syscalls/port.h> and test/bench/vmbench_common.h first.
#ifndef TEST_BENCH_PAGER_BENCH_H
#define TEST_BENCH_PAGER_BENCH_H

#define PAGER_BENCH_STACK (64u * 1024)

struct pager_bench {
    zx_handle_t pager, port, aux, thread, stack_vmo;
    zx_vaddr_t stack;
    volatile zx_handle_t vmo;  // the VMO whose requests the thread answers (pager_bench_vmo_new)
    unsigned batch;            // pages supplied per request
    zx_status_t status;        // the thread's first error; read after pager_bench_stop
};

static char pager_bench_src[VMB_PAGER_BATCH * VMB_PAGE];

static void pager_bench_thread(uintptr_t a1, uintptr_t a2) {
    struct pager_bench *b = (struct pager_bench *)a1;
    (void)a2;
    for (;;) {
        zx_port_packet_t pkt;
        zx_status_t st = zx_port_wait(b->port, ZX_TIME_INFINITE, &pkt);
        if (st != ZX_OK || pkt.type != ZX_PKT_TYPE_PAGE_REQUEST) {
            b->status = st;
            break;  // a user packet: stop
        }
        if (pkt.page_request.command != ZX_PAGER_VMO_READ)
            continue;  // COMPLETE of a closed VMO
        uint64_t off = pkt.page_request.offset;
        uint64_t len = (uint64_t)b->batch * VMB_PAGE;
        if (off + len > (uint64_t)VMB_PAGER_PAGES * VMB_PAGE)
            len = (uint64_t)VMB_PAGER_PAGES * VMB_PAGE - off;
        st = zx_vmo_write(b->aux, pager_bench_src, 0, len);
        if (st == ZX_OK)
            st = zx_pager_supply_pages(b->pager, b->vmo, off, len, b->aux, 0);
        if (st != ZX_OK) {
            b->status = st;
            break;
        }
    }
    zx_thread_exit();
}

// Creates the pager, its port, the aux VMO and the pager thread, which supplies `batch` pages per
// request. On failure some may exist: call pager_bench_stop in every case.
static zx_status_t pager_bench_start(struct pager_bench *b, unsigned batch) {
    *b = (struct pager_bench){.batch = batch};
    vmb_stosq(pager_bench_src, 0x5a5a5a5a5a5a5a5aull, sizeof(pager_bench_src) / 8);
    zx_status_t st;
    if ((st = zx_pager_create(0, &b->pager)) != ZX_OK ||
        (st = zx_port_create(0, &b->port)) != ZX_OK ||
        (st = zx_vmo_create(VMB_PAGER_BATCH * VMB_PAGE, 0, &b->aux)) != ZX_OK ||
        (st = zx_vmo_create(PAGER_BENCH_STACK, 0, &b->stack_vmo)) != ZX_OK ||
        (st = zx_vmar_map(zx_vmar_root_self(), ZX_VM_PERM_READ | ZX_VM_PERM_WRITE, 0,
                          b->stack_vmo, 0, PAGER_BENCH_STACK, &b->stack)) != ZX_OK ||
        (st = zx_thread_create(zx_process_self(), "pager", 5, 0, &b->thread)) != ZX_OK)
        return st;
    st = zx_thread_start(b->thread, (zx_vaddr_t)pager_bench_thread,
                         b->stack + PAGER_BENCH_STACK - 8, (uintptr_t)b, 0);
    if (st != ZX_OK) {
        zx_handle_close(b->thread);  // never started: nothing to stop
        b->thread = ZX_HANDLE_INVALID;
    }
    return st;
}

// A new pager VMO of VMB_PAGER_PAGES pages, none present, whose requests the thread now answers,
// mapped read-only in the root VMAR at *out_addr. The caller unmaps and closes it.
static zx_status_t pager_bench_vmo_new(struct pager_bench *b, zx_handle_t *out_vmo,
                                       zx_vaddr_t *out_addr) {
    const size_t bytes = (size_t)VMB_PAGER_PAGES * VMB_PAGE;
    zx_handle_t vmo;
    zx_status_t st = zx_pager_create_vmo(b->pager, 0, b->port, 1, bytes, &vmo);
    if (st != ZX_OK)
        return st;
    b->vmo = vmo;
    st = zx_vmar_map(zx_vmar_root_self(), ZX_VM_PERM_READ, 0, vmo, 0, bytes, out_addr);
    if (st != ZX_OK) {
        zx_handle_close(vmo);
        return st;
    }
    *out_vmo = vmo;
    return ZX_OK;
}

// Stops the thread (a user packet on the port), waits for it and closes everything
// pager_bench_start made. Returns the first error of the stop or of the thread.
static zx_status_t pager_bench_stop(struct pager_bench *b) {
    zx_status_t st = ZX_OK;
    if (b->thread != ZX_HANDLE_INVALID) {
        zx_port_packet_t stop = {.key = 0};
        st = zx_port_queue(b->port, &stop);
        if (st == ZX_OK)
            st = zx_object_wait_one(b->thread, ZX_THREAD_TERMINATED, ZX_TIME_INFINITE, NULL);
        if (st == ZX_OK)
            st = b->status;
        zx_handle_close(b->thread);
    }
    if (b->stack)
        zx_vmar_unmap(zx_vmar_root_self(), b->stack, PAGER_BENCH_STACK);
    zx_handle_close(b->stack_vmo);
    zx_handle_close(b->aux);
    zx_handle_close(b->port);
    zx_handle_close(b->pager);
    return st;
}

#endif  // TEST_BENCH_PAGER_BENCH_H
