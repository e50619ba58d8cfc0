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
// The including program includes vmbench_common.h first.
#ifndef TEST_BENCH_SMPBENCH_COMMON_H
#define TEST_BENCH_SMPBENCH_COMMON_H

#define SMB_MAX_OTHERS 3                 // spinning threads besides the measuring one
#define SMB_RANGE_PAGES 512u             // the largest range unmapped or protected
#define SMB_FAULT_PAGES 4096u            // pages each faulting thread touches (16 MiB)
#define SMB_MAX_THREADS 4                // faulting threads, at most

// Timed calls per sample: fewer for the large range, whose set-up (512 faults) dominates.
static inline unsigned smb_ops(unsigned pages) {
    return pages >= 512 ? 8 : 64;
}

// The marker instructions' immediates (ASCII "SMBMBEGN", "SMBMEEND", "SMBMFLSH", little-endian):
// 48 b8 and these 8 bytes.
#define SMB_BEGIN 0x4e4745424d424d53ull
#define SMB_END 0x444e45454d424d53ull
#define SMB_FLUSH 0x48534c464d424d53ull
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

#endif  // TEST_BENCH_SMPBENCH_COMMON_H
