// Exceptions and thread state (docs/abi.md §8): exception channels on threads, processes and jobs
// (and the debugger channel), the delivery order, HANDLED / TRY_NEXT / THREAD_EXIT, closed or
// unread channels, the exception report and ZX_INFO_THREAD while a thread waits, read/write_state
// and every documented error. Faults of this process's own worker threads go to channels this
// process binds; what must end a process (nobody handles the fault) runs in a child.
#include <jasper/launch.h>

#include "test/user/utest.h"
#include "ulib/ulib_priv.h"

#define DEFAULT_THREAD_RIGHTS ((zx_rights_t)0x4D2CFu)
#define DEFAULT_PROCESS_RIGHTS ((zx_rights_t)0x6D3CFu)
#define WAIT_MS 20000

// ---- Worker threads that fault ----

// A thread of this process, created (so a channel can be bound) before it starts.
struct worker {
    struct ut_thread t;
};

static zx_status_t worker_create(struct worker *w) {
    memset(w, 0, sizeof(*w));
    zx_status_t st = zx_vmo_create(UT_THREAD_STACK_SIZE, 0, &w->t.stack_vmo);
    if (st == ZX_OK)
        st = zx_vmar_map(zx_vmar_root_self(), ZX_VM_PERM_READ | ZX_VM_PERM_WRITE, 0,
                         w->t.stack_vmo, 0, UT_THREAD_STACK_SIZE, &w->t.stack);
    if (st == ZX_OK)
        st = zx_thread_create(zx_process_self(), "faulter", 7, 0, &w->t.thread);
    return st;
}

static zx_status_t worker_start(struct worker *w, void (*fn)(uintptr_t, uintptr_t),
                                uintptr_t arg) {
    return zx_thread_start(w->t.thread, (uintptr_t)fn, w->t.stack + UT_THREAD_STACK_SIZE - 8, arg,
                           0);
}

// Frees a worker that never started.
static void worker_discard(struct worker *w) {
    zx_vmar_unmap(zx_vmar_root_self(), w->t.stack, UT_THREAD_STACK_SIZE);
    zx_handle_close(w->t.thread);
    zx_handle_close(w->t.stack_vmo);
}

static bool worker_join(struct worker *w) {
    return ut_thread_join(&w->t, WAIT_MS);
}

static volatile uint64_t result;
static uint64_t good_value = 0x600d;

// Loads through rbx (a bad pointer): a handler that points rbx at good_value and says HANDLED
// lets the load succeed when it is retried.
static void load_through_rbx(uintptr_t bad, uintptr_t unused) {
    uint64_t v;
    __asm__ volatile("mov (%%rbx), %0" : "=r"(v) : "b"(bad) : "memory");
    result = v;
    zx_thread_exit();
}

static void do_int3(uintptr_t a, uintptr_t b) {
    __asm__ volatile("int3" ::: "memory");
    result = 3;
    zx_thread_exit();
}

static void do_ud2(uintptr_t a, uintptr_t b) {
    __asm__ volatile("ud2" ::: "memory");  // a handler moves rip past it (2 bytes)
    result = 6;
    zx_thread_exit();
}

static void do_hlt(uintptr_t a, uintptr_t b) {
    __asm__ volatile("hlt" ::: "memory");  // privileged: #GP; a handler skips it (1 byte)
    result = 13;
    zx_thread_exit();
}

static void do_div0(uintptr_t a, uintptr_t b) {
    // divq %rcx with rcx = 0 (3 bytes: 48 f7 f1): #DE.
    __asm__ volatile("xor %%edx, %%edx\n\tmov $1, %%eax\n\txor %%ecx, %%ecx\n\tdivq %%rcx"
                     ::: "rax", "rcx", "rdx", "memory");
    result = 1;
    zx_thread_exit();
}

// ---- Handler helpers ----

// Waits for the next message on exception channel `ch`; returns the exception handle.
static zx_handle_t await_exception(zx_handle_t ch, zx_exception_info_t *info) {
    zx_exception_info_t local;
    if (!info)
        info = &local;
    if (!EXPECT_OK(zx_object_wait_one(ch, ZX_CHANNEL_READABLE, ut_deadline_after(WAIT_MS * 1000000ll),
                                      NULL)))
        return ZX_HANDLE_INVALID;
    zx_handle_t exc = ZX_HANDLE_INVALID;
    uint32_t nb = 0, nh = 0;
    EXPECT_OK(zx_channel_read(ch, 0, info, &exc, sizeof(*info), 1, &nb, &nh));
    EXPECT_EQ(nb, sizeof(*info));
    EXPECT_EQ(nh, 1);
    return exc;
}

static void set_state(zx_handle_t exc, uint32_t state) {
    EXPECT_OK(zx_object_set_property(exc, ZX_PROP_EXCEPTION_STATE, &state, sizeof(state)));
}

static zx_handle_t exc_thread(zx_handle_t exc) {
    zx_handle_t t = ZX_HANDLE_INVALID;
    EXPECT_OK(zx_exception_get_thread(exc, &t));
    return t;
}

static zx_thread_state_general_regs_t read_regs(zx_handle_t thread) {
    zx_thread_state_general_regs_t r;
    memset(&r, 0, sizeof(r));
    EXPECT_OK(zx_thread_read_state(thread, ZX_THREAD_STATE_GENERAL_REGS, &r, sizeof(r)));
    return r;
}

static void write_regs(zx_handle_t thread, const zx_thread_state_general_regs_t *r) {
    EXPECT_OK(zx_thread_write_state(thread, ZX_THREAD_STATE_GENERAL_REGS, r, sizeof(*r)));
}

// Resumes the exception's thread `skip` bytes further on.
static void skip_and_resume(zx_handle_t exc, uint64_t skip) {
    zx_handle_t t = exc_thread(exc);
    zx_thread_state_general_regs_t r = read_regs(t);
    r.rip += skip;
    write_regs(t, &r);
    zx_handle_close(t);
    set_state(exc, ZX_EXCEPTION_STATE_HANDLED);
    zx_handle_close(exc);
}

static zx_handle_t bind(zx_handle_t task, uint32_t options) {
    zx_handle_t ch = ZX_HANDLE_INVALID;
    EXPECT_OK(zx_task_create_exception_channel(task, options, &ch));
    return ch;
}

// A worker running fn(arg) with a thread channel bound before it starts; returns the channel
// (ZX_HANDLE_INVALID, the test failing, if it could not start).
static zx_handle_t start_bound(struct worker *w, void (*fn)(uintptr_t, uintptr_t), uintptr_t arg) {
    if (!EXPECT_OK(worker_create(w)))
        return ZX_HANDLE_INVALID;
    zx_handle_t ch = bind(w->t.thread, 0);
    result = 0;
    EXPECT_OK(worker_start(w, fn, arg));
    return ch;
}

static zx_info_thread_t thread_info(zx_handle_t t) {
    zx_info_thread_t info;
    ut_get_info(t, ZX_INFO_THREAD, &info, sizeof(info));
    return info;
}

// ---- create_exception_channel ----

TEST(create_checks_options_type_and_rights) {
    struct worker w;
    REQUIRE_OK(worker_create(&w));
    zx_handle_t ch;
    EXPECT_STATUS(zx_task_create_exception_channel(w.t.thread, 2, &ch), ZX_ERR_INVALID_ARGS);
    EXPECT_STATUS(zx_task_create_exception_channel(w.t.thread, ZX_EXCEPTION_CHANNEL_DEBUGGER, &ch),
                  ZX_ERR_INVALID_ARGS);
    EXPECT_HANDLE_ERRORS(zx_task_create_exception_channel(h, 0, &ch));
    zx_handle_t vmo = ut_vmo(PAGE, -1);
    EXPECT_STATUS(zx_task_create_exception_channel(vmo, 0, &ch), ZX_ERR_WRONG_TYPE);
    zx_handle_close(vmo);
    const zx_rights_t need = ZX_RIGHT_INSPECT | ZX_RIGHT_DUPLICATE | ZX_RIGHT_TRANSFER |
                             ZX_RIGHT_MANAGE_THREAD;
    const zx_rights_t each[4] = {ZX_RIGHT_INSPECT, ZX_RIGHT_DUPLICATE, ZX_RIGHT_TRANSFER,
                                 ZX_RIGHT_MANAGE_THREAD};
    for (int i = 0; i < 4; i++) {
        zx_handle_t t = ut_dup(w.t.thread, need & ~each[i]);
        EXPECT_STATUS(zx_task_create_exception_channel(t, 0, &ch), ZX_ERR_ACCESS_DENIED);
        zx_handle_close(t);
    }
    // A process and a job also need ENUMERATE.
    zx_handle_t p = ut_dup(zx_process_self(), DEFAULT_PROCESS_RIGHTS & ~ZX_RIGHT_ENUMERATE);
    EXPECT_STATUS(zx_task_create_exception_channel(p, 0, &ch), ZX_ERR_ACCESS_DENIED);
    zx_handle_close(p);
    zx_handle_t j = ZX_HANDLE_INVALID;
    EXPECT_OK(zx_job_create(zx_job_default(), 0, &j));
    zx_handle_t jr = ut_dup(j, ZX_RIGHT_INSPECT | ZX_RIGHT_DUPLICATE | ZX_RIGHT_TRANSFER |
                                   ZX_RIGHT_MANAGE_THREAD);
    EXPECT_STATUS(zx_task_create_exception_channel(jr, 0, &ch), ZX_ERR_ACCESS_DENIED);
    zx_handle_close(jr);
    EXPECT_PTR_ERRORS(zx_task_create_exception_channel(j, 0, (zx_handle_t *)bad), ut_ro_page);
    zx_handle_close(j);
    worker_discard(&w);
}

TEST(channel_rights_and_one_binding_per_kind) {
    zx_handle_t ch = bind(zx_process_self(), 0);
    EXPECT_EQ(ut_rights(ch), 0x4006);
    EXPECT_EQ(ut_type(ch), ZX_OBJ_TYPE_CHANNEL);
    zx_handle_t again;
    EXPECT_STATUS(zx_task_create_exception_channel(zx_process_self(), 0, &again),
                  ZX_ERR_ALREADY_BOUND);
    zx_handle_t dbg = bind(zx_process_self(), ZX_EXCEPTION_CHANNEL_DEBUGGER);
    EXPECT_STATUS(
        zx_task_create_exception_channel(zx_process_self(), ZX_EXCEPTION_CHANNEL_DEBUGGER, &again),
        ZX_ERR_ALREADY_BOUND);
    // Closing the user's end unbinds.
    zx_handle_close(ch);
    ch = bind(zx_process_self(), 0);
    zx_handle_close(ch);
    zx_handle_close(dbg);
}

TEST(a_job_takes_32_debugger_channels) {
    zx_handle_t j = ZX_HANDLE_INVALID;
    REQUIRE_OK(zx_job_create(zx_job_default(), 0, &j));
    zx_handle_t d[32];
    for (int i = 0; i < 32; i++)
        d[i] = bind(j, ZX_EXCEPTION_CHANNEL_DEBUGGER);
    zx_handle_t x;
    EXPECT_STATUS(zx_task_create_exception_channel(j, ZX_EXCEPTION_CHANNEL_DEBUGGER, &x),
                  ZX_ERR_ALREADY_BOUND);
    zx_handle_t r = bind(j, 0);
    EXPECT_STATUS(zx_task_create_exception_channel(j, 0, &x), ZX_ERR_ALREADY_BOUND);
    EXPECT_OK(zx_handle_close_many(d, 32));
    zx_handle_close(r);
    zx_handle_close(j);
}

TEST(dead_tasks_cannot_be_bound_and_unbind) {
    struct worker w;
    REQUIRE_OK(worker_create(&w));
    zx_handle_t ch = bind(w.t.thread, 0);
    zx_handle_t t = ut_dup(w.t.thread, DEFAULT_THREAD_RIGHTS);
    REQUIRE_OK(worker_start(&w, (void (*)(uintptr_t, uintptr_t))zx_thread_exit, 0));
    EXPECT_TRUE(worker_join(&w));
    zx_handle_t x;
    EXPECT_STATUS(zx_task_create_exception_channel(t, 0, &x), ZX_ERR_BAD_STATE);
    EXPECT_TRUE(ut_signaled(ch, ZX_CHANNEL_PEER_CLOSED));  // the thread is gone
    zx_handle_close(ch);
    zx_handle_close(t);
    zx_handle_t j = ZX_HANDLE_INVALID;
    REQUIRE_OK(zx_job_create(zx_job_default(), 0, &j));
    zx_handle_t jch = bind(j, 0);
    EXPECT_OK(zx_task_kill(j));
    EXPECT_STATUS(zx_task_create_exception_channel(j, 0, &x), ZX_ERR_BAD_STATE);
    EXPECT_TRUE(ut_signaled(jch, ZX_CHANNEL_PEER_CLOSED));
    zx_handle_close(jch);
    zx_handle_close(j);
}

// ---- Delivery ----

TEST(handled_after_fixing_a_register_resumes) {
    struct worker w;
    uintptr_t bad = ut_hole + 5 * PAGE;
    zx_handle_t ch = start_bound(&w, load_through_rbx, bad);
    REQUIRE_NE(ch, ZX_HANDLE_INVALID);
    zx_exception_info_t info;
    zx_handle_t exc = await_exception(ch, &info);
    EXPECT_EQ(info.type, ZX_EXCP_FATAL_PAGE_FAULT);
    EXPECT_EQ(info.pid, ut_koid(zx_process_self()));
    EXPECT_EQ(info.tid, ut_koid(w.t.thread));
    EXPECT_EQ(ut_type(exc), ZX_OBJ_TYPE_EXCEPTION);
    EXPECT_EQ(ut_rights(exc), 0x80C2);
    // While it waits: BLOCKED_EXCEPTION on the thread channel, and its report.
    zx_info_thread_t ti = thread_info(w.t.thread);
    EXPECT_EQ(ti.state, ZX_THREAD_STATE_BLOCKED_EXCEPTION);
    EXPECT_EQ(ti.wait_exception_channel_type, ZX_EXCEPTION_CHANNEL_TYPE_THREAD);
    zx_exception_report_t rep;
    ut_get_info(w.t.thread, ZX_INFO_THREAD_EXCEPTION_REPORT, &rep, sizeof(rep));
    EXPECT_EQ(rep.header.size, sizeof(rep));
    EXPECT_EQ(rep.header.type, ZX_EXCP_FATAL_PAGE_FAULT);
    EXPECT_EQ(rep.context.arch.x86_64.vector, 14);
    EXPECT_EQ(rep.context.arch.x86_64.cr2, bad);
    EXPECT_EQ(rep.context.arch.x86_64.err_code & 0x4, 0x4);  // user mode
    EXPECT_EQ((zx_status_t)rep.context.synth_code, ZX_ERR_NOT_FOUND);
    uint32_t state = 99;
    EXPECT_OK(zx_object_get_property(exc, ZX_PROP_EXCEPTION_STATE, &state, sizeof(state)));
    EXPECT_EQ(state, ZX_EXCEPTION_STATE_TRY_NEXT);
    zx_handle_t t = exc_thread(exc);
    EXPECT_EQ(ut_koid(t), ut_koid(w.t.thread));
    EXPECT_EQ(ut_rights(t), DEFAULT_THREAD_RIGHTS);  // the rights of the handle that bound
    zx_handle_t p;
    EXPECT_STATUS(zx_exception_get_process(exc, &p), ZX_ERR_ACCESS_DENIED);  // thread channel
    zx_thread_state_general_regs_t r = read_regs(t);
    EXPECT_EQ(r.rbx, bad);
    EXPECT_EQ(r.fs_base, 0);
    r.rbx = (uint64_t)(uintptr_t)&good_value;
    write_regs(t, &r);
    set_state(exc, ZX_EXCEPTION_STATE_HANDLED);
    zx_handle_close(exc);
    EXPECT_TRUE(worker_join(&w));
    EXPECT_EQ(result, good_value);
    // Not in an exception any more.
    EXPECT_STATUS(zx_object_get_info(t, ZX_INFO_THREAD_EXCEPTION_REPORT, &rep, sizeof(rep), NULL,
                                     NULL),
                  ZX_ERR_BAD_STATE);
    zx_handle_close(t);
    zx_handle_close(ch);
}

TEST(page_fault_reports_access_denied) {
    struct worker w;
    zx_handle_t ch = start_bound(&w, load_through_rbx, ut_noaccess_page);
    REQUIRE_NE(ch, ZX_HANDLE_INVALID);
    zx_handle_t exc = await_exception(ch, NULL);
    zx_exception_report_t rep;
    ut_get_info(w.t.thread, ZX_INFO_THREAD_EXCEPTION_REPORT, &rep, sizeof(rep));
    EXPECT_EQ((zx_status_t)rep.context.synth_code, ZX_ERR_ACCESS_DENIED);
    EXPECT_EQ(rep.context.arch.x86_64.cr2, ut_noaccess_page);
    set_state(exc, ZX_EXCEPTION_STATE_THREAD_EXIT);
    zx_handle_close(exc);
    EXPECT_TRUE(worker_join(&w));
    zx_handle_close(ch);
}

// Runs `fn` in a worker under a thread channel; checks the exception's type, vector and that rip
// (minus `back`) points at `opcode`, then resumes `skip` bytes on.
static void check_cpu_exception(void (*fn)(uintptr_t, uintptr_t), uint32_t type, uint64_t vector,
                                uint8_t opcode, uint64_t back, uint64_t skip, uint64_t want) {
    struct worker w;
    zx_handle_t ch = start_bound(&w, fn, 0);
    REQUIRE_NE(ch, ZX_HANDLE_INVALID);
    zx_exception_info_t info;
    zx_handle_t exc = await_exception(ch, &info);
    EXPECT_EQ(info.type, type);
    zx_exception_report_t rep;
    ut_get_info(w.t.thread, ZX_INFO_THREAD_EXCEPTION_REPORT, &rep, sizeof(rep));
    EXPECT_EQ(rep.header.type, type);
    EXPECT_EQ(rep.context.arch.x86_64.vector, vector);
    EXPECT_EQ(rep.context.synth_code, 0);
    zx_handle_t t = exc_thread(exc);
    zx_thread_state_general_regs_t r = read_regs(t);
    EXPECT_EQ(*(const uint8_t *)(uintptr_t)(r.rip - back), opcode);
    zx_handle_close(t);
    skip_and_resume(exc, skip);
    EXPECT_TRUE(worker_join(&w));
    EXPECT_EQ(result, want);
    zx_handle_close(ch);
}

TEST(int3_reports_the_rip_after_it) {
    check_cpu_exception(do_int3, ZX_EXCP_SW_BREAKPOINT, 3, 0xcc, 1, 0, 3);
}

TEST(ud2_is_undefined_instruction) {
    check_cpu_exception(do_ud2, ZX_EXCP_UNDEFINED_INSTRUCTION, 6, 0x0f, 0, 2, 6);
}

TEST(privileged_instruction_is_general) {
    check_cpu_exception(do_hlt, ZX_EXCP_GENERAL, 13, 0xf4, 0, 1, 13);
}

TEST(divide_error_is_general) {
    check_cpu_exception(do_div0, ZX_EXCP_GENERAL, 0, 0x48, 0, 3, 1);
}

TEST(single_step_is_hw_breakpoint) {
    struct worker w;
    zx_handle_t ch = start_bound(&w, do_int3, 0);
    REQUIRE_NE(ch, ZX_HANDLE_INVALID);
    zx_handle_t exc = await_exception(ch, NULL);
    zx_handle_t t = exc_thread(exc);
    zx_thread_state_general_regs_t r = read_regs(t);
    r.rflags |= 0x100;  // TF: one instruction, then #DB
    write_regs(t, &r);
    set_state(exc, ZX_EXCEPTION_STATE_HANDLED);
    zx_handle_close(exc);
    zx_exception_info_t info;
    exc = await_exception(ch, &info);
    EXPECT_EQ(info.type, ZX_EXCP_HW_BREAKPOINT);
    r = read_regs(t);
    EXPECT_EQ(r.rflags & 0x100, 0x100);
    r.rflags &= ~0x100ull;
    write_regs(t, &r);
    set_state(exc, ZX_EXCEPTION_STATE_HANDLED);
    zx_handle_close(exc);
    EXPECT_TRUE(worker_join(&w));
    EXPECT_EQ(result, 3);
    zx_handle_close(t);
    zx_handle_close(ch);
}

TEST(order_debugger_thread_process_and_try_next) {
    struct worker w;
    REQUIRE_OK(worker_create(&w));
    zx_handle_t tch = bind(w.t.thread, 0);
    zx_handle_t pch = bind(zx_process_self(), 0);
    zx_handle_t dch = bind(zx_process_self(), ZX_EXCEPTION_CHANNEL_DEBUGGER);
    result = 0;
    REQUIRE_OK(worker_start(&w, do_int3, 0));
    zx_handle_t exc = await_exception(dch, NULL);
    EXPECT_FALSE(ut_signaled(tch, ZX_CHANNEL_READABLE));
    EXPECT_EQ(thread_info(w.t.thread).wait_exception_channel_type,
              ZX_EXCEPTION_CHANNEL_TYPE_DEBUGGER);
    zx_handle_t p = ZX_HANDLE_INVALID;
    EXPECT_OK(zx_exception_get_process(exc, &p));
    EXPECT_EQ(ut_koid(p), ut_koid(zx_process_self()));
    zx_handle_close(p);
    zx_handle_close(exc);  // TRY_NEXT: the thread channel
    exc = await_exception(tch, NULL);
    EXPECT_FALSE(ut_signaled(pch, ZX_CHANNEL_READABLE));
    EXPECT_EQ(thread_info(w.t.thread).wait_exception_channel_type,
              ZX_EXCEPTION_CHANNEL_TYPE_THREAD);
    set_state(exc, ZX_EXCEPTION_STATE_TRY_NEXT);
    zx_handle_close(exc);
    exc = await_exception(pch, NULL);
    EXPECT_EQ(thread_info(w.t.thread).wait_exception_channel_type,
              ZX_EXCEPTION_CHANNEL_TYPE_PROCESS);
    zx_handle_t t = exc_thread(exc);
    EXPECT_EQ(ut_rights(t), DEFAULT_THREAD_RIGHTS);
    zx_handle_close(t);
    skip_and_resume(exc, 0);
    EXPECT_TRUE(worker_join(&w));
    EXPECT_EQ(result, 3);
    zx_handle_close(tch);
    zx_handle_close(pch);
    zx_handle_close(dch);
}

TEST(closed_or_unread_channel_is_try_next) {
    struct worker w;
    REQUIRE_OK(worker_create(&w));
    zx_handle_t tch = bind(w.t.thread, 0);
    zx_handle_t pch = bind(zx_process_self(), 0);
    zx_handle_t dch = bind(zx_process_self(), ZX_EXCEPTION_CHANNEL_DEBUGGER);
    zx_handle_close(dch);  // closed before the fault: skipped
    result = 0;
    REQUIRE_OK(worker_start(&w, do_int3, 0));
    EXPECT_OK(zx_object_wait_one(tch, ZX_CHANNEL_READABLE,
                                 ut_deadline_after(WAIT_MS * 1000000ll), NULL));
    zx_handle_close(tch);  // the message goes unread
    zx_handle_t exc = await_exception(pch, NULL);
    skip_and_resume(exc, 0);
    EXPECT_TRUE(worker_join(&w));
    EXPECT_EQ(result, 3);
    zx_handle_close(pch);
}

TEST(thread_exit_ends_only_the_thread) {
    struct worker w;
    zx_handle_t ch = start_bound(&w, do_ud2, 0);
    REQUIRE_NE(ch, ZX_HANDLE_INVALID);
    zx_handle_t exc = await_exception(ch, NULL);
    set_state(exc, ZX_EXCEPTION_STATE_THREAD_EXIT);
    zx_handle_close(exc);
    EXPECT_TRUE(worker_join(&w));
    EXPECT_EQ(result, 0);
    EXPECT_TRUE(ut_signaled(ch, ZX_CHANNEL_PEER_CLOSED));
    zx_handle_close(ch);
}

TEST(killing_a_thread_that_waits_ends_it) {
    struct worker w;
    zx_handle_t ch = start_bound(&w, do_ud2, 0);
    REQUIRE_NE(ch, ZX_HANDLE_INVALID);
    zx_handle_t exc = await_exception(ch, NULL);
    EXPECT_OK(zx_task_kill(w.t.thread));
    EXPECT_TRUE(worker_join(&w));
    zx_handle_close(exc);  // after the thread is gone: nothing to resume
    zx_handle_close(ch);
}

// ---- Properties and thread state errors ----

TEST(exception_state_property_errors) {
    struct worker w;
    zx_handle_t ch = start_bound(&w, do_ud2, 0);
    REQUIRE_NE(ch, ZX_HANDLE_INVALID);
    zx_handle_t exc = await_exception(ch, NULL);
    uint32_t v = 3;
    EXPECT_STATUS(zx_object_set_property(exc, ZX_PROP_EXCEPTION_STATE, &v, sizeof(v)),
                  ZX_ERR_INVALID_ARGS);
    EXPECT_STATUS(zx_object_set_property(exc, ZX_PROP_EXCEPTION_STATE, &v, 3),
                  ZX_ERR_BUFFER_TOO_SMALL);
    EXPECT_STATUS(zx_object_get_property(exc, ZX_PROP_EXCEPTION_STATE, &v, 3),
                  ZX_ERR_BUFFER_TOO_SMALL);
    zx_handle_t vmo = ut_vmo(PAGE, -1);
    EXPECT_STATUS(zx_object_get_property(vmo, ZX_PROP_EXCEPTION_STATE, &v, sizeof(v)),
                  ZX_ERR_WRONG_TYPE);
    zx_handle_close(vmo);
    zx_handle_t out;
    EXPECT_HANDLE_ERRORS(zx_exception_get_thread(h, &out));
    EXPECT_HANDLE_ERRORS(zx_exception_get_process(h, &out));
    EXPECT_PTR_ERRORS(zx_exception_get_thread(exc, (zx_handle_t *)bad), ut_ro_page);
    zx_handle_t t = exc_thread(exc);
    zx_thread_state_general_regs_t r = read_regs(t);
    zx_thread_state_general_regs_t bad_r = r;
    bad_r.rip = 0xffffffff80000000ull;
    EXPECT_STATUS(zx_thread_write_state(t, ZX_THREAD_STATE_GENERAL_REGS, &bad_r, sizeof(bad_r)),
                  ZX_ERR_INVALID_ARGS);
    bad_r = r;
    bad_r.fs_base = 0x0000800000000000ull;
    EXPECT_STATUS(zx_thread_write_state(t, ZX_THREAD_STATE_GENERAL_REGS, &bad_r, sizeof(bad_r)),
                  ZX_ERR_INVALID_ARGS);
    bad_r = r;
    bad_r.gs_base = 0x8000000000000000ull;
    EXPECT_STATUS(zx_thread_write_state(t, ZX_THREAD_STATE_GENERAL_REGS, &bad_r, sizeof(bad_r)),
                  ZX_ERR_INVALID_ARGS);
    // rflags: only the user bits are taken; IF stays set.
    bad_r = r;
    bad_r.rflags = ~0ull & ~0x100ull;
    write_regs(t, &bad_r);
    zx_thread_state_general_regs_t back = read_regs(t);
    EXPECT_EQ(back.rflags & ~0x244DD5ull, r.rflags & ~0x244DD5ull);
    EXPECT_EQ(back.rflags & 0x244DD5ull, 0x244DD5ull & ~0x100ull);
    EXPECT_EQ(back.rflags & 0x200, 0x200);
    EXPECT_PTR_ERRORS(zx_thread_read_state(t, ZX_THREAD_STATE_GENERAL_REGS, (void *)bad, 160),
                      ut_ro_page);
    EXPECT_PTR_ERRORS(zx_thread_write_state(t, ZX_THREAD_STATE_GENERAL_REGS, (void *)bad, 160), 0);
    r.rflags &= ~0x40000ull;
    write_regs(t, &r);  // back as it was
    set_state(exc, ZX_EXCEPTION_STATE_THREAD_EXIT);
    zx_handle_close(exc);
    EXPECT_TRUE(worker_join(&w));
    zx_handle_close(t);
    zx_handle_close(ch);
}

TEST(read_and_write_state_errors) {
    struct worker w;
    REQUIRE_OK(worker_create(&w));
    zx_thread_state_general_regs_t r;
    memset(&r, 0, sizeof(r));
    zx_handle_t t = w.t.thread;
    EXPECT_HANDLE_ERRORS(zx_thread_read_state(h, ZX_THREAD_STATE_GENERAL_REGS, &r, sizeof(r)));
    EXPECT_HANDLE_ERRORS(zx_thread_write_state(h, ZX_THREAD_STATE_GENERAL_REGS, &r, sizeof(r)));
    zx_handle_t nr = ut_dup(t, DEFAULT_THREAD_RIGHTS & ~ZX_RIGHT_READ);
    EXPECT_STATUS(zx_thread_read_state(nr, ZX_THREAD_STATE_GENERAL_REGS, &r, sizeof(r)),
                  ZX_ERR_ACCESS_DENIED);
    zx_handle_close(nr);
    zx_handle_t nw = ut_dup(t, DEFAULT_THREAD_RIGHTS & ~ZX_RIGHT_WRITE);
    EXPECT_STATUS(zx_thread_write_state(nw, ZX_THREAD_STATE_GENERAL_REGS, &r, sizeof(r)),
                  ZX_ERR_ACCESS_DENIED);
    zx_handle_close(nw);
    const uint32_t unsupported[4] = {ZX_THREAD_STATE_FP_REGS, ZX_THREAD_STATE_VECTOR_REGS,
                                     ZX_THREAD_STATE_DEBUG_REGS, ZX_THREAD_STATE_SINGLE_STEP};
    for (int i = 0; i < 4; i++) {
        EXPECT_STATUS(zx_thread_read_state(t, unsupported[i], &r, sizeof(r)),
                      ZX_ERR_NOT_SUPPORTED);
        EXPECT_STATUS(zx_thread_write_state(t, unsupported[i], &r, sizeof(r)),
                      ZX_ERR_NOT_SUPPORTED);
    }
    EXPECT_STATUS(zx_thread_read_state(t, 3, &r, sizeof(r)), ZX_ERR_INVALID_ARGS);
    EXPECT_STATUS(zx_thread_write_state(t, 77, &r, sizeof(r)), ZX_ERR_INVALID_ARGS);
    EXPECT_STATUS(zx_thread_read_state(t, ZX_THREAD_STATE_GENERAL_REGS, &r, 159),
                  ZX_ERR_BUFFER_TOO_SMALL);
    EXPECT_STATUS(zx_thread_write_state(t, ZX_THREAD_STATE_GENERAL_REGS, &r, 159),
                  ZX_ERR_BUFFER_TOO_SMALL);
    // Not in an exception (new, then running).
    EXPECT_STATUS(zx_thread_read_state(t, ZX_THREAD_STATE_GENERAL_REGS, &r, sizeof(r)),
                  ZX_ERR_BAD_STATE);
    EXPECT_STATUS(zx_thread_write_state(t, ZX_THREAD_STATE_GENERAL_REGS, &r, sizeof(r)),
                  ZX_ERR_BAD_STATE);
    EXPECT_STATUS(zx_thread_read_state(zx_thread_self(), ZX_THREAD_STATE_GENERAL_REGS, &r,
                                       sizeof(r)),
                  ZX_ERR_BAD_STATE);
    zx_exception_report_t rep;
    EXPECT_STATUS(zx_object_get_info(t, ZX_INFO_THREAD_EXCEPTION_REPORT, &rep, sizeof(rep), NULL,
                                     NULL),
                  ZX_ERR_BAD_STATE);
    EXPECT_EQ(thread_info(t).wait_exception_channel_type, ZX_EXCEPTION_CHANNEL_TYPE_NONE);
    EXPECT_STATUS(zx_object_get_info(zx_process_self(), ZX_INFO_THREAD_EXCEPTION_REPORT, &rep,
                                     sizeof(rep), NULL, NULL),
                  ZX_ERR_WRONG_TYPE);
    zx_handle_t ni = ut_dup(t, DEFAULT_THREAD_RIGHTS & ~ZX_RIGHT_INSPECT);
    EXPECT_STATUS(zx_object_get_info(ni, ZX_INFO_THREAD_EXCEPTION_REPORT, &rep, sizeof(rep), NULL,
                                     NULL),
                  ZX_ERR_ACCESS_DENIED);
    zx_handle_close(ni);
    worker_discard(&w);
}

// ---- Children: jobs, and nobody handling ----

static int c_ud2(int argc, char **argv) {
    __asm__ volatile("ud2");
    return 7;  // only if a handler skipped it
}

static int c_int3(int argc, char **argv) {
    __asm__ volatile("int3");
    return 5;
}

static zx_handle_t launch_in(zx_handle_t job, const char *mode) {
    const char *argv[3] = {"exception_test.elf", "--child", mode};
    zx_handle_t proc = ZX_HANDLE_INVALID;
    EXPECT_OK(jasper_launch(job, mode, ulib_executable_vmo(), 3, argv, &proc));
    return proc;
}

TEST(nobody_handles_kills_with_exception_kill) {
    EXPECT_CHILD_FAULTS("ud2", NULL);
    EXPECT_CHILD_FAULTS("int3", NULL);
}

TEST(job_then_ancestor_job_then_death) {
    zx_handle_t outer = ZX_HANDLE_INVALID, inner = ZX_HANDLE_INVALID;
    REQUIRE_OK(zx_job_create(zx_job_default(), 0, &outer));
    REQUIRE_OK(zx_job_create(outer, 0, &inner));
    zx_handle_t och = bind(outer, 0), ich = bind(inner, 0);
    zx_handle_t ijd = bind(inner, ZX_EXCEPTION_CHANNEL_DEBUGGER);  // gets no faults
    zx_handle_t proc = launch_in(inner, "ud2");
    zx_exception_info_t info;
    zx_handle_t exc = await_exception(ich, &info);
    EXPECT_EQ(info.pid, ut_koid(proc));
    EXPECT_EQ(info.type, ZX_EXCP_UNDEFINED_INSTRUCTION);
    zx_handle_t p = ZX_HANDLE_INVALID, t = ZX_HANDLE_INVALID;
    EXPECT_OK(zx_exception_get_process(exc, &p));
    EXPECT_EQ(ut_koid(p), ut_koid(proc));
    EXPECT_EQ(ut_rights(p), DEFAULT_PROCESS_RIGHTS);
    t = exc_thread(exc);
    EXPECT_EQ(thread_info(t).wait_exception_channel_type, ZX_EXCEPTION_CHANNEL_TYPE_JOB);
    zx_handle_close(p);
    zx_handle_close(t);
    zx_handle_close(exc);  // TRY_NEXT: the outer job
    exc = await_exception(och, &info);
    EXPECT_EQ(info.pid, ut_koid(proc));
    zx_handle_close(exc);  // nobody left: the process dies
    EXPECT_EQ(ut_wait_process(proc, 30), ZX_TASK_RETCODE_EXCEPTION_KILL);
    EXPECT_FALSE(ut_signaled(ijd, ZX_CHANNEL_READABLE));
    zx_handle_close(proc);
    // A job handler may also resume the child.
    proc = launch_in(inner, "ud2");
    exc = await_exception(ich, NULL);
    skip_and_resume(exc, 2);
    EXPECT_EQ(ut_wait_process(proc, 30), 7);
    zx_handle_close(proc);
    zx_handle_close(och);
    zx_handle_close(ich);
    zx_handle_close(ijd);
    EXPECT_OK(zx_task_kill(outer));
    zx_handle_close(inner);
    zx_handle_close(outer);
}

TEST(killing_a_process_that_waits_ends_it) {
    zx_handle_t job = ZX_HANDLE_INVALID;
    REQUIRE_OK(zx_job_create(zx_job_default(), 0, &job));
    zx_handle_t ch = bind(job, 0);
    zx_handle_t proc = launch_in(job, "int3");
    zx_handle_t exc = await_exception(ch, NULL);
    zx_handle_t t = exc_thread(exc);
    EXPECT_EQ(thread_info(t).state, ZX_THREAD_STATE_BLOCKED_EXCEPTION);
    EXPECT_OK(zx_task_kill(proc));
    EXPECT_EQ(ut_wait_process(proc, 30), ZX_TASK_RETCODE_SYSCALL_KILL);
    EXPECT_OK(zx_object_wait_one(t, ZX_THREAD_TERMINATED, ut_deadline_after(WAIT_MS * 1000000ll),
                                 NULL));
    zx_handle_close(exc);  // late: nothing to resume
    zx_handle_close(t);
    zx_handle_close(proc);
    // The handler's own death (its channel closing unread) is TRY_NEXT, then death.
    proc = launch_in(job, "int3");
    EXPECT_OK(zx_object_wait_one(ch, ZX_CHANNEL_READABLE, ut_deadline_after(WAIT_MS * 1000000ll),
                                 NULL));
    zx_handle_close(ch);
    EXPECT_EQ(ut_wait_process(proc, 30), ZX_TASK_RETCODE_EXCEPTION_KILL);
    zx_handle_close(proc);
    EXPECT_OK(zx_task_kill(job));
    zx_handle_close(job);
}

static const struct ut_child children[] = {
    {"ud2", c_ud2},
    {"int3", c_int3},
    {NULL, NULL},
};

UTEST_MAIN(children)
