// The SDK's C++ support: global constructors run before main, in priority order; function-local
// statics are initialised once even when threads race to them; new and delete (plain, array,
// nothrow, over-aligned) use the SDK heap; virtual calls and templates work without RTTI; at exit
// the destructors and atexit handlers run newest first (checked in a child process).
#include <new>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <threads.h>
#include <time.h>
#include <zircon/threads.h>

#include "test/user/utest.h"

namespace {

// ---- Global constructors ----

int construction_order[4];
int constructed;

struct Recorder {
    explicit Recorder(int id) : id_(id) { construction_order[constructed++] = id; }
    int id_;
};

// init_priority runs lower numbers first, whatever the order in the file.
Recorder late __attribute__((init_priority(2000)))(2);
Recorder early __attribute__((init_priority(1000)))(1);

int c_style_constructor_ran;
__attribute__((constructor)) void c_style_constructor() {
    c_style_constructor_ran = 1;
}

// The heap commits its pages as they are first touched; warm it up front so the tests' news and
// deletes reuse committed memory and each test's leak check stays exact.
struct HeapWarmer {
    HeapWarmer() {
        void *p = malloc(256 * 1024);
        if (p) {
            memset(p, 0, 256 * 1024);
            free(p);
        }
    }
} heap_warmer;

// ---- Function-local statics ----

int init_calls;

int expensive_init() {
    __atomic_add_fetch(&init_calls, 1, __ATOMIC_RELAXED);
    for (volatile int i = 0; i < 300000; i = i + 1) {
    }  // long enough for the other threads to arrive
    return 42;
}

// One static per round, so that every round races to an uninitialised one.
template <int Round>
int shared_value() {
    static int v = expensive_init();
    return v;
}

constexpr int kRounds = 8;
int (*const round_fn[kRounds])() = {shared_value<0>, shared_value<1>, shared_value<2>,
                                    shared_value<3>, shared_value<4>, shared_value<5>,
                                    shared_value<6>, shared_value<7>};
int seen[4];
int ready;
int round_now;

void racer(uintptr_t slot, uintptr_t) {
    // Start together, so that on several CPUs the threads really meet in the initialiser.
    __atomic_add_fetch(&ready, 1, __ATOMIC_ACQ_REL);
    while (__atomic_load_n(&ready, __ATOMIC_ACQUIRE) < 4)
        zx_nanosleep(0);
    seen[slot] = round_fn[round_now]();
    zx_thread_exit();
}

// ---- Objects ----

struct Shape {
    virtual ~Shape() = default;
    virtual int area() const = 0;
};

struct Rect : Shape {
    Rect(int w, int h) : w_(w), h_(h) {}
    int area() const override { return w_ * h_; }
    int w_, h_;
};

struct Square : Rect {
    explicit Square(int s) : Rect(s, s) { live++; }
    ~Square() override { live--; }
    static int live;
};
int Square::live;

template <typename T, int N>
struct Ring {
    T items[N] = {};
    int head = 0;
    void push(T v) { items[head++ % N] = v; }
    T sum() const {
        T s{};
        for (const T &v : items)
            s += v;
        return s;
    }
};

struct alignas(256) Aligned {
    char bytes[100];
};

}  // namespace

TEST(global_constructors_run_before_main_in_priority_order) {
    EXPECT_EQ(constructed, 2);
    EXPECT_EQ(construction_order[0], 1);
    EXPECT_EQ(construction_order[1], 2);
    EXPECT_EQ(early.id_, 1);
    EXPECT_EQ(late.id_, 2);
    EXPECT_EQ(c_style_constructor_ran, 1);
}

TEST(a_function_local_static_is_initialised_once_under_a_race) {
    for (round_now = 0; round_now < kRounds; round_now++) {
        init_calls = 0;
        ready = 0;
        struct ut_thread t[4];
        for (uintptr_t i = 0; i < 4; i++)
            REQUIRE_OK(ut_thread_spawn(&t[i], racer, i, 0));
        for (int i = 0; i < 4; i++)
            EXPECT_TRUE(ut_thread_join(&t[i], 10000));
        EXPECT_EQ(init_calls, 1);
        for (int i = 0; i < 4; i++)
            EXPECT_EQ(seen[i], 42);
    }
}

TEST(new_and_delete_use_the_heap) {
    int *one = new int(7);
    EXPECT_EQ(*one, 7);
    delete one;
    int *many = new int[1000]();
    EXPECT_EQ(many[999], 0);
    many[999] = 5;
    delete[] many;
    // nothrow new: NULL instead of an abort when the heap cannot hold it.
    char *huge = new (std::nothrow) char[(size_t)1 << 40];
    EXPECT_TRUE(huge == nullptr);
    // Over-aligned types get their alignment.
    Aligned *a = new Aligned;
    EXPECT_EQ(reinterpret_cast<uintptr_t>(a) % 256, 0);
    Aligned *arr = new Aligned[3];
    EXPECT_EQ(reinterpret_cast<uintptr_t>(arr) % 256, 0);
    delete a;
    delete[] arr;
    // Placement new builds in memory the caller owns.
    alignas(Rect) unsigned char buf[sizeof(Rect)];
    Rect *r = new (buf) Rect(3, 4);
    EXPECT_EQ(r->area(), 12);
    r->~Rect();
}

TEST(virtual_calls_destructors_and_templates) {
    Shape *s = new Square(5);
    EXPECT_EQ(Square::live, 1);
    EXPECT_EQ(s->area(), 25);
    delete s;  // through the base: the virtual destructor runs
    EXPECT_EQ(Square::live, 0);
    {
        Square local(2);
        EXPECT_EQ(Square::live, 1);
    }
    EXPECT_EQ(Square::live, 0);
    Ring<int, 4> ring;
    for (int i = 1; i <= 6; i++)
        ring.push(i);
    EXPECT_EQ(ring.sum(), 3 + 4 + 5 + 6);
}

// ---- Exit order, in a child process ----

namespace {

int exit_steps;  // each step multiplies in its own digit, so the order shows

struct Finale {
    ~Finale() {
        // Static destructors run after the atexit handler registered later (newest first), and
        // before the process ends: the return code carries the order.
        exit_steps = exit_steps * 10 + 2;
        zx_process_exit(exit_steps);
    }
};

void atexit_step() {
    exit_steps = exit_steps * 10 + 1;
}

int child_exit_order(int, char **) {
    static Finale finale;  // registered first (at its construction)
    atexit(atexit_step);   // registered second: runs first
    return 99;             // never the return code when the destructor runs
}

const struct ut_child children[] = {
    {"exit_order", child_exit_order},
    {nullptr, nullptr},
};

}  // namespace

TEST(at_exit_handlers_and_static_destructors_run_newest_first) {
    EXPECT_EQ(ut_run_child("exit_order", nullptr), 12);
}

// C11 threads from C++: a scoped lock over mtx_t, threads from thrd_create.
namespace {

class ScopedLock {
  public:
    explicit ScopedLock(mtx_t *m) : m_(m) { mtx_lock(m_); }
    ~ScopedLock() { mtx_unlock(m_); }

  private:
    mtx_t *m_;
};

mtx_t cxx_lock;
long cxx_total;

int add_under_scoped_lock(void *arg) {
    for (int i = 0; i < 1000; i++) {
        ScopedLock hold(&cxx_lock);
        cxx_total += reinterpret_cast<intptr_t>(arg);
    }
    return 0;
}

}  // namespace

TEST(c11_threads_from_cxx) {
    REQUIRE_EQ(mtx_init(&cxx_lock, mtx_plain), thrd_success);
    thrd_t t[4];
    for (intptr_t i = 0; i < 4; i++)
        REQUIRE_EQ(thrd_create(&t[i], add_under_scoped_lock, reinterpret_cast<void *>(i + 1)),
                   thrd_success);
    for (int i = 0; i < 4; i++)
        EXPECT_EQ(thrd_join(t[i], nullptr), thrd_success);
    EXPECT_EQ(cxx_total, 1000L * (1 + 2 + 3 + 4));
    EXPECT_NE(thrd_get_zx_handle(thrd_current()), ZX_HANDLE_INVALID);
}

UTEST_MAIN(children)
