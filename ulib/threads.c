// C11 threads on Jasper's futexes (contract: ulib/include/threads.h).
//
// Threads. Every thread made by thrd_create lives in a slot of one reserved region of the
// address space: a guard page at the bottom, then its stack, and its control block (struct
// jasper_thrd) at the very top. So thrd_current is arithmetic on the stack pointer, and the block
// goes with the stack when the thread is joined (no malloc: the stack VMO is the only memory a
// thread costs). A joined thread's slot is unmapped by the joiner; a detached thread cannot unmap
// the stack it runs on, so it leaves itself on a list that the next thrd_create sweeps once the
// kernel reports it terminated.
//
// Mutexes are Zircon's owner-tracking futex mutex: the word holds the owner's thread handle, with
// bit 0 (always set in a handle) cleared while other threads may be waiting; a waiter names the
// owner in zx_futex_wait, so the kernel knows who holds the lock (zx_futex_get_owner). Unlock
// swaps in 0 and, if the word was marked contended, wakes one waiter with
// zx_futex_wake_single_owner.
//
// Condition variables are a sequence counter: a waiter samples it under the mutex, unlocks and
// waits for it to change; signal and broadcast bump it and wake one or all. A change between the
// sample and the wait makes the wait return at once (BAD_STATE), so no signal is lost; spurious
// returns are allowed by C11 and callers loop on their predicate.
#include <stdbool.h>
#include <string.h>
#include <threads.h>
#include <zircon/process.h>
#include <zircon/syscalls.h>
#include <zircon/threads.h>

#define SLOT_SIZE ((uintptr_t)256 * 1024)  // guard page + stack + control block
#define SLOT_COUNT 256                     // threads alive at once
#define GUARD_SIZE ((uintptr_t)ZX_PAGE_SIZE)
#define TSS_MAX 64

enum { T_RUNNING = 0, T_DETACHED = 1, T_EXITED = 2 };

struct jasper_thrd {
    zx_handle_t handle;      // the thread (ZX_HANDLE_INVALID for a main thread with none)
    thrd_start_t func;
    void *arg;
    int result;
    int state;               // T_*, atomic: who cleans up (joiner/detacher or the sweep)
    unsigned slot;
    struct jasper_thrd *next_zombie;
    void *tss[TSS_MAX];
};

static struct jasper_thrd main_thrd;
static bool main_ready;
static zx_handle_t region_vmar;
static uintptr_t region_base;  // 0 until the first thrd_create
static mtx_t slots_lock;       // guards the fields below and the region's creation
static uint64_t slots_used[SLOT_COUNT / 64];
static struct jasper_thrd *zombies;  // detached threads that exited, not yet unmapped

static uintptr_t slot_base(unsigned slot) {
    return region_base + slot * SLOT_SIZE;
}

// The control block sits at the top of the slot, 64-byte aligned; the stack starts below it.
static struct jasper_thrd *slot_thrd(unsigned slot) {
    uintptr_t top = slot_base(slot) + SLOT_SIZE;
    return (struct jasper_thrd *)((top - sizeof(struct jasper_thrd)) & ~(uintptr_t)63);
}

thrd_t thrd_current(void) {
    uintptr_t sp = (uintptr_t)__builtin_frame_address(0);
    uintptr_t base = __atomic_load_n(&region_base, __ATOMIC_ACQUIRE);
    if (base && sp - base < SLOT_COUNT * SLOT_SIZE)
        return slot_thrd((unsigned)((sp - base) / SLOT_SIZE));
    if (!__atomic_load_n(&main_ready, __ATOMIC_ACQUIRE)) {
        main_thrd.handle = zx_thread_self();
        __atomic_store_n(&main_ready, true, __ATOMIC_RELEASE);
    }
    return &main_thrd;
}

zx_handle_t thrd_get_zx_handle(thrd_t t) {
    return t->handle;
}

int thrd_equal(thrd_t a, thrd_t b) {
    return a == b;
}

// --- Time ---

int timespec_get(struct timespec *ts, int base) {
    if (base != TIME_UTC)
        return 0;
    zx_time_t now = zx_clock_get_monotonic();
    ts->tv_sec = now / 1000000000;
    ts->tv_nsec = (long)(now % 1000000000);
    return base;
}

// An absolute TIME_UTC time as a deadline (saturating).
static zx_time_t deadline_of(const struct timespec *ts) {
    if (ts->tv_sec < 0)
        return 0;
    if (ts->tv_sec >= ZX_TIME_INFINITE / 1000000000 - 1)
        return ZX_TIME_INFINITE;
    return ts->tv_sec * 1000000000 + ts->tv_nsec;
}

int thrd_sleep(const struct timespec *duration, struct timespec *remaining) {
    if (duration->tv_sec < 0 || duration->tv_nsec < 0 || duration->tv_nsec >= 1000000000)
        return -2;  // C11: a negative value other than -1 for an error
    zx_time_t now = zx_clock_get_monotonic();
    zx_time_t d = deadline_of(duration);
    zx_nanosleep(d >= ZX_TIME_INFINITE - now ? ZX_TIME_INFINITE : now + d);
    if (remaining)
        *remaining = (struct timespec){0, 0};
    return 0;
}

void thrd_yield(void) {
    zx_nanosleep(0);  // a deadline in the past yields the CPU
}

// --- Slots ---

// Reserves the region of thread slots (once). Caller holds slots_lock.
static int region_init_locked(void) {
    if (region_base)
        return thrd_success;
    zx_vaddr_t base;
    zx_status_t st = zx_vmar_allocate(zx_vmar_root_self(),
                                      ZX_VM_CAN_MAP_READ | ZX_VM_CAN_MAP_WRITE |
                                          ZX_VM_CAN_MAP_SPECIFIC,
                                      0, SLOT_COUNT * SLOT_SIZE, &region_vmar, &base);
    if (st != ZX_OK)
        return thrd_nomem;
    __atomic_store_n(&region_base, base, __ATOMIC_RELEASE);
    return thrd_success;
}

// Unmaps a finished thread's slot and closes its handle. The thread has terminated.
static void slot_free(struct jasper_thrd *t) {
    unsigned slot = t->slot;
    zx_handle_close(t->handle);
    zx_vmar_unmap(region_vmar, slot_base(slot) + GUARD_SIZE, SLOT_SIZE - GUARD_SIZE);
    mtx_lock(&slots_lock);
    slots_used[slot / 64] &= ~(1ull << (slot % 64));
    mtx_unlock(&slots_lock);
}

// Frees the slots of detached threads that have terminated.
static void zombies_sweep(void) {
    mtx_lock(&slots_lock);
    struct jasper_thrd *list = zombies, *keep = NULL;
    zombies = NULL;
    mtx_unlock(&slots_lock);
    while (list) {
        struct jasper_thrd *t = list;
        list = t->next_zombie;
        if (zx_object_wait_one(t->handle, ZX_THREAD_TERMINATED, 0, NULL) == ZX_OK) {
            slot_free(t);
        } else {
            t->next_zombie = keep;
            keep = t;
        }
    }
    mtx_lock(&slots_lock);
    while (keep) {
        struct jasper_thrd *t = keep;
        keep = t->next_zombie;
        t->next_zombie = zombies;
        zombies = t;
    }
    mtx_unlock(&slots_lock);
}

// Takes a free slot and maps its stack; returns its control block (zeroed) or NULL.
static struct jasper_thrd *slot_alloc(int *err) {
    mtx_lock(&slots_lock);
    *err = region_init_locked();
    unsigned slot = SLOT_COUNT;
    for (unsigned i = 0; *err == thrd_success && i < SLOT_COUNT; i++) {
        if (!(slots_used[i / 64] & (1ull << (i % 64)))) {
            slot = i;
            slots_used[i / 64] |= 1ull << (i % 64);
            break;
        }
    }
    mtx_unlock(&slots_lock);
    if (*err != thrd_success)
        return NULL;
    if (slot == SLOT_COUNT) {
        *err = thrd_nomem;
        return NULL;
    }
    zx_handle_t vmo;
    zx_vaddr_t addr;
    zx_status_t st = zx_vmo_create(SLOT_SIZE - GUARD_SIZE, 0, &vmo);
    if (st == ZX_OK) {
        zx_object_set_property(vmo, ZX_PROP_NAME, "thread stack", 12);
        st = zx_vmar_map(region_vmar, ZX_VM_PERM_READ | ZX_VM_PERM_WRITE | ZX_VM_SPECIFIC,
                         slot * SLOT_SIZE + GUARD_SIZE, vmo, 0, SLOT_SIZE - GUARD_SIZE, &addr);
        zx_handle_close(vmo);  // the mapping keeps it
    }
    if (st != ZX_OK) {
        mtx_lock(&slots_lock);
        slots_used[slot / 64] &= ~(1ull << (slot % 64));
        mtx_unlock(&slots_lock);
        *err = thrd_nomem;
        return NULL;
    }
    struct jasper_thrd *t = slot_thrd(slot);
    t->slot = slot;
    return t;
}

// --- Threads ---

static void run_tss_dtors(struct jasper_thrd *t);

static void thrd_entry(uintptr_t arg1, uintptr_t arg2) {
    struct jasper_thrd *t = (struct jasper_thrd *)arg1;
    (void)arg2;
    thrd_exit(t->func(t->arg));
}

int thrd_create(thrd_t *thr, thrd_start_t func, void *arg) {
    zombies_sweep();
    int err;
    struct jasper_thrd *t = slot_alloc(&err);
    if (!t)
        return err;
    t->func = func;
    t->arg = arg;
    zx_status_t st = zx_thread_create(zx_process_self(), "thrd", 4, 0, &t->handle);
    // The entry is entered as if called: 8 bytes short of 16-byte alignment.
    uintptr_t sp = ((uintptr_t)t & ~(uintptr_t)15) - 8;
    if (st == ZX_OK)
        st = zx_thread_start(t->handle, (uintptr_t)thrd_entry, sp, (uintptr_t)t, 0);
    if (st != ZX_OK) {
        slot_free(t);  // never ran (or never existed): nothing to wait for
        return st == ZX_ERR_NO_MEMORY ? thrd_nomem : thrd_error;
    }
    *thr = t;
    return thrd_success;
}

void thrd_exit(int res) {
    struct jasper_thrd *t = thrd_current();
    run_tss_dtors(t);
    t->result = res;
    if (t != &main_thrd) {
        int expected = T_RUNNING;
        if (!__atomic_compare_exchange_n(&t->state, &expected, T_EXITED, false, __ATOMIC_ACQ_REL,
                                         __ATOMIC_ACQUIRE)) {
            // Detached: nobody will join; the next thrd_create frees the slot.
            mtx_lock(&slots_lock);
            t->next_zombie = zombies;
            zombies = t;
            mtx_unlock(&slots_lock);
        }
    }
    zx_thread_exit();
}

int thrd_detach(thrd_t t) {
    int expected = T_RUNNING;
    if (__atomic_compare_exchange_n(&t->state, &expected, T_DETACHED, false, __ATOMIC_ACQ_REL,
                                    __ATOMIC_ACQUIRE))
        return thrd_success;
    if (expected != T_EXITED)
        return thrd_error;  // detached twice
    // It already finished: clean up as a join would.
    zx_object_wait_one(t->handle, ZX_THREAD_TERMINATED, ZX_TIME_INFINITE, NULL);
    slot_free(t);
    return thrd_success;
}

int thrd_join(thrd_t t, int *res) {
    if (t == thrd_current() || t == &main_thrd)
        return thrd_error;
    if (zx_object_wait_one(t->handle, ZX_THREAD_TERMINATED, ZX_TIME_INFINITE, NULL) != ZX_OK)
        return thrd_error;
    if (res)
        *res = t->result;
    slot_free(t);
    return thrd_success;
}

// --- Mutexes ---

// The value the calling thread stores in a mutex it holds: its handle (bit 0 set), or 3 if it has
// none (a forged value: waiters then name no owner).
static zx_futex_t self_tag(void) {
    zx_handle_t h = thrd_current()->handle;
    return (zx_futex_t)(h ? h : 3u);
}

int mtx_init(mtx_t *m, int type) {
    if (type & ~(mtx_recursive | mtx_timed))
        return thrd_error;
    *m = (mtx_t){.state = 0, .type = type, .count = 0};
    return thrd_success;
}

void mtx_destroy(mtx_t *m) {
    (void)m;
}

// The part of locking that needs no system call: takes a free mutex, or re-enters a recursive
// one the caller holds. Otherwise thrd_busy, with the word it saw in *cur.
static int mtx_try(mtx_t *m, zx_futex_t me, zx_futex_t *cur) {
    *cur = 0;
    if (__atomic_compare_exchange_n(&m->state, cur, me, false, __ATOMIC_ACQUIRE,
                                    __ATOMIC_RELAXED))
        return thrd_success;
    if ((m->type & mtx_recursive) && (*cur | 1) == me) {
        m->count++;
        return thrd_success;
    }
    return thrd_busy;
}

// Locks `m` (deadline: absolute; ZX_TIME_INFINITE to wait forever).
static int mtx_lock_until(mtx_t *m, zx_time_t deadline) {
    zx_futex_t me = self_tag();
    zx_futex_t cur;
    if (mtx_try(m, me, &cur) == thrd_success)
        return thrd_success;
    for (;;) {
        if (cur == 0) {
            // Free: take it, marked contended since others may be waiting.
            if (__atomic_compare_exchange_n(&m->state, &cur, me & ~1, false, __ATOMIC_ACQUIRE,
                                            __ATOMIC_RELAXED))
                return thrd_success;
            continue;
        }
        if (cur & 1) {
            if (!__atomic_compare_exchange_n(&m->state, &cur, cur & ~1, false, __ATOMIC_RELAXED,
                                             __ATOMIC_RELAXED))
                continue;
            cur &= ~1;
        }
        zx_status_t st = zx_futex_wait(&m->state, cur, (zx_handle_t)(cur | 1), deadline);
        if (st == ZX_ERR_BAD_HANDLE || st == ZX_ERR_WRONG_TYPE || st == ZX_ERR_INVALID_ARGS)
            st = zx_futex_wait(&m->state, cur, ZX_HANDLE_INVALID, deadline);  // owner unusable
        if (st == ZX_ERR_TIMED_OUT)
            return thrd_timedout;
        cur = __atomic_load_n(&m->state, __ATOMIC_RELAXED);
    }
}

int mtx_lock(mtx_t *m) {
    return mtx_lock_until(m, ZX_TIME_INFINITE);
}

int mtx_timedlock(mtx_t *m, const struct timespec *ts) {
    return mtx_lock_until(m, deadline_of(ts));
}

int mtx_trylock(mtx_t *m) {
    zx_futex_t cur;
    return mtx_try(m, self_tag(), &cur);
}

int mtx_unlock(mtx_t *m) {
    if (m->count > 0) {
        m->count--;
        return thrd_success;
    }
    zx_futex_t old = __atomic_exchange_n(&m->state, 0, __ATOMIC_RELEASE);
    if (old == 0)
        return thrd_error;  // was not locked
    if (!(old & 1))
        zx_futex_wake_single_owner(&m->state);
    return thrd_success;
}

// --- Condition variables ---

int cnd_init(cnd_t *c) {
    *c = (cnd_t){0, 0};
    return thrd_success;
}

void cnd_destroy(cnd_t *c) {
    (void)c;
}

static int cnd_wait_until(cnd_t *c, mtx_t *m, zx_time_t deadline) {
    __atomic_add_fetch(&c->waiters, 1, __ATOMIC_SEQ_CST);
    zx_futex_t seq = __atomic_load_n(&c->seq, __ATOMIC_SEQ_CST);
    unsigned count = m->count;  // a recursive mutex is released completely while waiting
    m->count = 0;
    mtx_unlock(m);
    zx_status_t st = zx_futex_wait(&c->seq, seq, ZX_HANDLE_INVALID, deadline);
    mtx_lock(m);
    m->count = count;
    __atomic_sub_fetch(&c->waiters, 1, __ATOMIC_SEQ_CST);
    return st == ZX_ERR_TIMED_OUT ? thrd_timedout : thrd_success;
}

int cnd_wait(cnd_t *c, mtx_t *m) {
    return cnd_wait_until(c, m, ZX_TIME_INFINITE);
}

int cnd_timedwait(cnd_t *c, mtx_t *m, const struct timespec *ts) {
    return cnd_wait_until(c, m, deadline_of(ts));
}

static int cnd_wake(cnd_t *c, uint32_t n) {
    __atomic_add_fetch(&c->seq, 1, __ATOMIC_SEQ_CST);
    if (__atomic_load_n(&c->waiters, __ATOMIC_SEQ_CST) == 0)
        return thrd_success;
    return zx_futex_wake(&c->seq, n) == ZX_OK ? thrd_success : thrd_error;
}

int cnd_signal(cnd_t *c) {
    return cnd_wake(c, 1);
}

int cnd_broadcast(cnd_t *c) {
    return cnd_wake(c, UINT32_MAX);
}

// --- call_once ---

void call_once(once_flag *flag, void (*func)(void)) {
    zx_futex_t cur = 0;
    if (__atomic_compare_exchange_n(&flag->state, &cur, 1, false, __ATOMIC_ACQUIRE,
                                    __ATOMIC_ACQUIRE)) {
        func();
        if (__atomic_exchange_n(&flag->state, 3, __ATOMIC_RELEASE) == 2)
            zx_futex_wake(&flag->state, UINT32_MAX);
        return;
    }
    while (cur != 3) {
        if (cur == 1 && !__atomic_compare_exchange_n(&flag->state, &cur, 2, false,
                                                     __ATOMIC_ACQUIRE, __ATOMIC_ACQUIRE))
            continue;
        zx_futex_wait(&flag->state, 2, ZX_HANDLE_INVALID, ZX_TIME_INFINITE);
        cur = __atomic_load_n(&flag->state, __ATOMIC_ACQUIRE);
    }
}

// --- Thread-specific storage ---

static mtx_t tss_lock;
static bool tss_used[TSS_MAX];
static tss_dtor_t tss_dtors[TSS_MAX];

int tss_create(tss_t *key, tss_dtor_t dtor) {
    mtx_lock(&tss_lock);
    int st = thrd_error;
    for (unsigned i = 0; i < TSS_MAX; i++) {
        if (!tss_used[i]) {
            tss_used[i] = true;
            tss_dtors[i] = dtor;
            *key = i;
            st = thrd_success;
            break;
        }
    }
    mtx_unlock(&tss_lock);
    return st;
}

void tss_delete(tss_t key) {
    if (key >= TSS_MAX)
        return;
    mtx_lock(&tss_lock);
    tss_used[key] = false;
    tss_dtors[key] = NULL;
    mtx_unlock(&tss_lock);
}

void *tss_get(tss_t key) {
    return key < TSS_MAX ? thrd_current()->tss[key] : NULL;
}

int tss_set(tss_t key, void *val) {
    if (key >= TSS_MAX)
        return thrd_error;
    thrd_current()->tss[key] = val;
    return thrd_success;
}

// Runs the destructors of the thread's non-NULL values, up to TSS_DTOR_ITERATIONS rounds.
static void run_tss_dtors(struct jasper_thrd *t) {
    for (int round = 0; round < TSS_DTOR_ITERATIONS; round++) {
        bool again = false;
        for (unsigned i = 0; i < TSS_MAX; i++) {
            void *v = t->tss[i];
            tss_dtor_t d = tss_dtors[i];
            if (v && d) {
                t->tss[i] = NULL;
                d(v);
                again = true;
            }
        }
        if (!again)
            break;
    }
}
