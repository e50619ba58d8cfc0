// C11 threads (<threads.h>) on Jasper's futexes (docs/abi.md §7): threads, mutexes, condition
// variables, call_once and thread-specific storage, so that multi-threaded programs need no raw
// system calls. Implemented in ulib/threads.c.
//
// Jasper specifics: deadlines (mtx_timedlock, cnd_timedwait) are absolute TIME_UTC times, and
// TIME_UTC is the monotonic clock (<time.h>). A zero-filled mtx_t, cnd_t or once_flag is valid and
// unlocked/empty (static objects need no init call). thrd_current, recursive mutexes and
// thread-specific storage work in the main thread and in threads made by thrd_create; threads
// made with raw zx_thread_create count as the main thread for them.
#ifndef ULIB_THREADS_H
#define ULIB_THREADS_H

#include <time.h>
#include <zircon/types.h>

#ifdef __cplusplus
extern "C" {
#endif

enum { thrd_success = 0, thrd_busy = 1, thrd_error = 2, thrd_nomem = 3, thrd_timedout = 4 };
enum { mtx_plain = 0, mtx_recursive = 1, mtx_timed = 2 };

typedef struct jasper_thrd *thrd_t;
typedef int (*thrd_start_t)(void *arg);

// state: 0 unlocked; else the owner's thread handle, with bit 0 cleared while others may wait.
typedef struct {
    zx_futex_t state;
    int type;
    unsigned count;  // recursive re-locks beyond the first
} mtx_t;

typedef struct {
    zx_futex_t seq;  // bumped by every signal and broadcast
    int waiters;     // threads inside cnd_wait/cnd_timedwait
} cnd_t;

typedef struct {
    zx_futex_t state;  // 0 not run, 1 running, 2 running with waiters, 3 done
} once_flag;
#define ONCE_FLAG_INIT {0}

typedef unsigned tss_t;
typedef void (*tss_dtor_t)(void *);
#define TSS_DTOR_ITERATIONS 4

int thrd_create(thrd_t *thr, thrd_start_t func, void *arg);
int thrd_equal(thrd_t a, thrd_t b);
thrd_t thrd_current(void);
int thrd_sleep(const struct timespec *duration, struct timespec *remaining);
void thrd_yield(void);
__attribute__((noreturn)) void thrd_exit(int res);
int thrd_detach(thrd_t thr);
int thrd_join(thrd_t thr, int *res);

int mtx_init(mtx_t *mtx, int type);
int mtx_lock(mtx_t *mtx);
int mtx_timedlock(mtx_t *mtx, const struct timespec *ts);
int mtx_trylock(mtx_t *mtx);
int mtx_unlock(mtx_t *mtx);
void mtx_destroy(mtx_t *mtx);

int cnd_init(cnd_t *cond);
int cnd_signal(cnd_t *cond);
int cnd_broadcast(cnd_t *cond);
int cnd_wait(cnd_t *cond, mtx_t *mtx);
int cnd_timedwait(cnd_t *cond, mtx_t *mtx, const struct timespec *ts);
void cnd_destroy(cnd_t *cond);

void call_once(once_flag *flag, void (*func)(void));

int tss_create(tss_t *key, tss_dtor_t dtor);
void *tss_get(tss_t key);
int tss_set(tss_t key, void *val);
void tss_delete(tss_t key);

#ifdef __cplusplus
}
#endif

#endif  // ULIB_THREADS_H
