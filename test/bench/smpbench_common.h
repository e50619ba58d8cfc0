// What the Jasper and Linux four-CPU benchmarks (smpbench.c, linux/smpbench_linux.c) share: the
// workload sizes, the spin loop the "other" threads run, and the window markers that
// test/bench/ipicount.c (a QEMU plugin) looks for to count TLB IPIs per operation.
//
// Spinning: `pause` makes QEMU's TCG leave the vCPU and run the next one (helper_pause: "let
// another CPU run"), so under -icount's round-robin a spinner costs a few instructions per turn
// instead of a whole time slice, and an operation's guest time is its own work plus the IPI
// handlers it causes. Both systems spin the same loop.
//
// Markers: `movabs $MAGIC, %rax` with a magic per kind; the plugin recognises the instruction by
// its bytes (no addresses needed, the same for both systems). Without the plugin it is one
// instruction. Each timed call lies between smb_mark(SMB_BEGIN) and smb_mark(SMB_END); after a
// workload's last call, smb_mark(SMB_FLUSH) makes the plugin write one record (the counts of the
// windows since the previous record), so the N-th record belongs to the N-th workload.
//
// The including program defines vmb_now() and includes vmbench_common.h first; the plugin defines
// SMB_MARKERS_ONLY and gets the marker constants alone.
#ifndef TEST_BENCH_SMPBENCH_COMMON_H
#define TEST_BENCH_SMPBENCH_COMMON_H

// The marker instructions' immediates (ASCII "SMBMBEGN", "SMBMEEND", "SMBMFLSH", little-endian):
// 48 b8 and these 8 bytes.
#define SMB_BEGIN 0x4e4745424d424d53ull
#define SMB_END 0x444e45454d424d53ull
#define SMB_FLUSH 0x48534c464d424d53ull

#ifndef SMB_MARKERS_ONLY

#define SMB_MAX_OTHERS 3                 // spinning threads besides the measuring one
#define SMB_RANGE_PAGES 512u             // the largest range unmapped or protected
#define SMB_FAULT_PAGES 4096u            // pages each faulting thread touches (16 MiB)
#define SMB_MAX_THREADS 4                // faulting threads, at most

// Timed calls per sample: fewer for the large range, whose set-up (512 faults) dominates.
static inline unsigned smb_ops(unsigned pages) {
    return pages >= 512 ? 8 : 64;
}

#define smb_mark(kind) __asm__ volatile("movabs %0, %%rax" : : "i"(kind) : "rax", "memory")

// Spins (pause; cmp; jne) until *flag == value.
static inline void smb_spin_until(const volatile uint32_t *flag, uint32_t value) {
    __asm__ volatile("1: pause\n\t"
                     "cmpl %1, (%0)\n\t"
                     "jne 1b"
                     :
                     : "r"(flag), "r"(value)
                     : "memory", "cc");
}

// The timed part of a fault run, once the other threads - 1 workers spin on *go: starts them,
// faults the first 16 MiB of `base` here, waits until *done counts the workers. Returns its ns.
static inline uint64_t smb_timed_faults(char *base, volatile uint32_t *go,
                                        const volatile uint32_t *done, unsigned threads) {
    uint64_t t0 = vmb_now();
    smb_mark(SMB_BEGIN);
    *go = 1;
    vmb_touch_write(base, SMB_FAULT_PAGES * VMB_PAGE);
    smb_spin_until(done, threads - 1);
    smb_mark(SMB_END);
    return vmb_now() - t0;
}

// The least a vmb_now() pair costs (a syscall on Jasper, the vDSO or a syscall on Linux): what
// each timed call's figure includes besides the call, taken off by the programs.
static inline uint64_t smb_clock_cost(void) {
    uint64_t best = UINT64_MAX;
    for (int i = 0; i < 100; i++) {
        uint64_t t0 = vmb_now();
        uint64_t dt = vmb_now() - t0;
        if (dt < best)
            best = dt;
    }
    return best;
}

#endif  // SMB_MARKERS_ONLY
#endif  // TEST_BENCH_SMPBENCH_COMMON_H
