// The host test runner: runs every KTEST linked into this program, each in a child process so a
// crash (ASan report, abort, signal) counts as that test failing, then prints "N passed, N failed".
// Usage: PROG [FILTER]   (FILTER as for the kernel's ktest=: "suite" or "suite.name", comma-separated)
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "kernel/ktest.h"

static int run_one(const struct ktest *t) {
    fflush(stdout);
    pid_t pid = fork();
    if (pid < 0) {
        perror("fork");
        return 1;
    }
    if (pid == 0) {
        expect_reset();
        t->fn();
        fflush(stdout);
        _exit(ktest_failed() ? 1 : 0);
    }
    int status;
    if (waitpid(pid, &status, 0) < 0) {
        perror("waitpid");
        return 1;
    }
    if (WIFSIGNALED(status)) {
        printf("    killed by signal %d\n", WTERMSIG(status));
        return 1;
    }
    return WEXITSTATUS(status) != 0;
}

int main(int argc, char **argv) {
    const char *filter = argc > 1 ? argv[1] : getenv("KTEST_FILTER");
    setvbuf(stdout, NULL, _IOLBF, 0);
    int passed = 0, failed = 0;
    for (const struct ktest *t = __start_ktests; t < __stop_ktests; t++) {
        if (!ktest_selected(t, filter))
            continue;
        printf("[ RUN  ] %s.%s\n", t->suite, t->name);
        int bad = run_one(t);
        printf("[ %s ] %s.%s\n", bad ? "FAIL" : " OK ", t->suite, t->name);
        if (bad)
            failed++;
        else
            passed++;
    }
    printf("%d passed, %d failed\n", passed, failed);
    return failed == 0 && passed > 0 ? 0 : 1;
}
