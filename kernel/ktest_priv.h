// Internal interface between the ktest checks and the runners (ktest_runner.c, host_main.c).
#ifndef KERNEL_KTEST_PRIV_H
#define KERNEL_KTEST_PRIV_H

void ktest_reset_failure(void);
void ktest_note_failure(void);

#endif  // KERNEL_KTEST_PRIV_H
