// Start-up and exit work around main: global constructors before it; after it (or at exit()),
// the atexit and C++ destructor registrations newest first, then the .fini_array functions, as
// the C and C++ standards order them.
#include <stdlib.h>

#include "ulib/ulib_priv.h"

#define MAX_EXIT_HANDLERS 256  // the C standard asks for at least 32

typedef void (*init_fn)(void);

// Bounds of the constructor and destructor arrays, from ulib/user.ld.
extern init_fn __init_array_start[], __init_array_end[];
extern init_fn __fini_array_start[], __fini_array_end[];

// Either an atexit function (plain) or a C++ destructor call (with_arg(arg)).
struct exit_handler {
    void (*plain)(void);
    void (*with_arg)(void *arg);
    void *arg;
};

static struct exit_handler handlers[MAX_EXIT_HANDLERS];
static size_t handler_count;
static int handlers_lock;
static int exiting;

void ulib_run_constructors(void) {
    for (init_fn *f = __init_array_start; f < __init_array_end; f++)
        (*f)();
}

// Registers h to run at exit; 0 on success, -1 when the table is full.
static int register_handler(struct exit_handler h) {
    ulib_lock(&handlers_lock);
    int ok = handler_count < MAX_EXIT_HANDLERS;
    if (ok)
        handlers[handler_count++] = h;
    ulib_unlock(&handlers_lock);
    return ok ? 0 : -1;
}

int atexit(void (*fn)(void)) {
    return register_handler((struct exit_handler){.plain = fn});
}

// The C++ ABI's registration of a static object's destructor (there is one module, so `dso` is
// not needed to tell modules apart).
int __cxa_atexit(void (*fn)(void *), void *arg, void *dso);
int __cxa_atexit(void (*fn)(void *), void *arg, void *dso) {
    (void)dso;
    return register_handler((struct exit_handler){.with_arg = fn, .arg = arg});
}

void *__dso_handle = &__dso_handle;

void ulib_run_exit_handlers(void) {
    if (__atomic_exchange_n(&exiting, 1, __ATOMIC_ACQ_REL))
        return;  // exit() from a handler, or from a second thread: run them only once
    for (;;) {
        // A handler may register another; take them one at a time, newest first.
        ulib_lock(&handlers_lock);
        struct exit_handler h = {0};
        if (handler_count > 0)
            h = handlers[--handler_count];
        ulib_unlock(&handlers_lock);
        if (h.plain)
            h.plain();
        else if (h.with_arg)
            h.with_arg(h.arg);
        else
            break;
    }
    for (init_fn *f = __fini_array_end; f > __fini_array_start; f--)
        (*(f - 1))();
}
