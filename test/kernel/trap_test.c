// Traps and symbols: an interrupt round trip preserves registers; backtrace symbols resolve.
#include "arch/x86_64/trap.h"
#include "kernel/assert.h"
#include "kernel/backtrace.h"
#include "kernel/ktest.h"
#include "kernel/string.h"

static volatile int soft_irq_hits;
static volatile uint64_t soft_irq_vector;

static void soft_irq(struct trap_frame *tf) {
    soft_irq_hits++;
    soft_irq_vector = tf->vector;
    tf->rax = 0x1234;  // handlers may change the interrupted code's registers
}

KTEST(trap, software_interrupt_round_trip) {
    trap_set_irq_handler(0x81, soft_irq);
    soft_irq_hits = 0;
    uint64_t rax = 7, rbx = 0xb0b, r12 = 0xc12;
    __asm__ volatile("int $0x81" : "+a"(rax), "+b"(rbx), "+r"(r12) : : "memory");
    trap_set_irq_handler(0x81, NULL);
    EXPECT_EQ(soft_irq_hits, 1);
    EXPECT_EQ(soft_irq_vector, 0x81);
    EXPECT_EQ(rax, 0x1234);
    EXPECT_EQ(rbx, 0xb0b);
    EXPECT_EQ(r12, 0xc12);
}

KTEST(trap, symbols_resolve) {
    size_t off = 99;
    const char *name = ksym_lookup((vaddr_t)&ksym_lookup, &off);
    REQUIRE_TRUE(name != NULL);
    EXPECT_STREQ(name, "ksym_lookup");
    EXPECT_EQ(off, 0);
    name = ksym_lookup((vaddr_t)&trap_dispatch + 5, &off);
    REQUIRE_TRUE(name != NULL);
    EXPECT_STREQ(name, "trap_dispatch");
    EXPECT_EQ(off, 5);
    char buf[64];
    ksym_format((vaddr_t)&trap_report + 0x10, buf, sizeof(buf));
    EXPECT_STREQ(buf, "trap_report+0x10");
    EXPECT_TRUE(ksym_lookup(0x1000, &off) == NULL);
}

KTEST(trap, exception_names) {
    EXPECT_STREQ(trap_name(TRAP_PF), "#PF page fault");
    EXPECT_STREQ(trap_name(TRAP_GP), "#GP general protection");
    EXPECT_STREQ(trap_name(40), "interrupt");
}

// The harness checks itself (suite selfcheck, run only when named): scripts/test boots with
// ktest=selfcheck and expects exactly "1 passed, 3 failed" — a fault, a panic and a failed
// expectation must each fail only their own test, and the run must go on.
KTEST(selfcheck, a_page_fault_fails_the_test) {
    volatile uint64_t *bad = (volatile uint64_t *)0xffff8ff000000000ull;  // unmapped
    *bad = 1;
}

KTEST(selfcheck, a_panic_fails_the_test) {
    panic("selfcheck: deliberate panic");
}

KTEST(selfcheck, a_failed_expectation_fails_the_test) {
    EXPECT_EQ(1 + 1, 3);
}

KTEST(selfcheck, the_run_goes_on) {
    EXPECT_EQ(1 + 1, 2);
}
