// ulib_lock: the one lock ulib's own shared state uses (see ulib_priv.h).
#include <zircon/syscalls.h>

#include "ulib/ulib_priv.h"

#define SPINS_BEFORE_SLEEP 100
#define SLEEP_NS 20000

void ulib_lock(int *lock) {
    for (unsigned spins = 0;; spins++) {
        if (__atomic_load_n(lock, __ATOMIC_RELAXED) == 0 &&
            !__atomic_exchange_n(lock, 1, __ATOMIC_ACQUIRE))
            return;
        if (spins < SPINS_BEFORE_SLEEP)
            __builtin_ia32_pause();
        else
            zx_nanosleep(zx_clock_get_monotonic() + SLEEP_NS);
    }
}

void ulib_unlock(int *lock) {
    __atomic_store_n(lock, 0, __ATOMIC_RELEASE);
}
