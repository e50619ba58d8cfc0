// ulib_lock: the one lock ulib's own shared state uses (see ulib_priv.h), on a futex: 0 free,
// 1 held, 2 held with waiters (who sleep in zx_futex_wait until the holder's unlock wakes one).
#include <stdbool.h>
#include <zircon/syscalls.h>

#include "ulib/ulib_priv.h"

void ulib_lock(int *lock) {
    int c = 0;
    if (__atomic_compare_exchange_n(lock, &c, 1, false, __ATOMIC_ACQUIRE, __ATOMIC_RELAXED))
        return;
    if (c != 2)
        c = __atomic_exchange_n(lock, 2, __ATOMIC_ACQUIRE);
    while (c != 0) {
        zx_futex_wait(lock, 2, ZX_HANDLE_INVALID, ZX_TIME_INFINITE);
        c = __atomic_exchange_n(lock, 2, __ATOMIC_ACQUIRE);
    }
}

void ulib_unlock(int *lock) {
    if (__atomic_exchange_n(lock, 0, __ATOMIC_RELEASE) == 2)
        zx_futex_wake(lock, 1);
}
