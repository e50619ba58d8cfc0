// Time for C11 (<threads.h> deadlines): struct timespec and timespec_get. Jasper has one clock, the
// monotonic one (zx_clock_get_monotonic, nanoseconds since boot); TIME_UTC reads it too, so the
// absolute times of mtx_timedlock and cnd_timedwait are monotonic times.
#ifndef ULIB_TIME_H
#define ULIB_TIME_H

#include <stdint.h>

typedef int64_t time_t;

struct timespec {
    time_t tv_sec;
    long tv_nsec;
};

#define TIME_UTC 1

#ifdef __cplusplus
extern "C" {
#endif

// Fills *ts with the current time of `base` (TIME_UTC only) and returns base, or 0 on failure.
int timespec_get(struct timespec *ts, int base);

#ifdef __cplusplus
}
#endif

#endif  // ULIB_TIME_H
