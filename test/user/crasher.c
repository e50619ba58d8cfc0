// A program that crashes on purpose, for the crash-report check in scripts/test: main calls
// crash_outer, which calls crash_here, which writes through a null pointer. userboot's crash
// reporter must name all three in its backtrace and the program must exit with -1028.
#include <stdio.h>

// Read at run time, so the compiler cannot see the null pointer coming.
static volatile int *volatile target;
static volatile int after;

__attribute__((noinline)) void crash_here(void);
__attribute__((noinline)) void crash_outer(void);

void crash_here(void) {
    printf("crasher: about to crash\n");  // a call first: the frame is set up before the store
    *target = 42;
    after = 1;
}

void crash_outer(void) {
    crash_here();
    after = 2;  // keeps the call a call, not a jump
}

int main(void) {
    crash_outer();
    return 0;
}
