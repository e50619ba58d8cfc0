// The task-tree and system calls of docs/abi.md §10: jobs (create, nest, kill a tree), their
// info topics and get_child, ZX_INFO_THREAD / PROCESS_THREADS / HANDLE_COUNT, page size and
// physical memory, handle_close_many, process_read/write_memory and
// vmar_unmap_handle_close_thread_exit.
#include <jasper/launch.h>
#include <stdio.h>

#include "test/user/utest.h"
#include "ulib/ulib_priv.h"

#define DEFAULT_JOB_RIGHTS ((zx_rights_t)0x7D3CFu)

static zx_handle_t new_job(zx_handle_t parent) {
    zx_handle_t job = ZX_HANDLE_INVALID;
    EXPECT_OK(zx_job_create(parent, 0, &job));
    return job;
}

// Starts this program as `--child sleep` in `job`; its process handle.
static zx_handle_t start_sleeper(zx_handle_t job) {
    const char *argv[3] = {"task_test.elf", "--child", "sleep"};
    zx_handle_t proc = ZX_HANDLE_INVALID;
    EXPECT_OK(jasper_launch(job, "sleeper", ulib_executable_vmo(), 3, argv, &proc));
    return proc;
}

static size_t koid_list(zx_handle_t h, uint32_t topic, zx_koid_t *out, size_t max) {
    size_t actual = 0, avail = 0;
    EXPECT_OK(zx_object_get_info(h, topic, out, max * sizeof(zx_koid_t), &actual, &avail));
    EXPECT_EQ(actual, avail < max ? avail : max);
    return avail;
}

static bool koid_in(zx_koid_t k, const zx_koid_t *list, size_t n) {
    for (size_t i = 0; i < n; i++) {
        if (list[i] == k)
            return true;
    }
    return false;
}

// ---- System ----

TEST(page_size_and_physmem) {
    EXPECT_EQ(zx_system_get_page_size(), 4096);
    zx_info_kmem_stats_t st;
    ut_get_info(zx_job_default(), ZX_INFO_KMEM_STATS, &st, sizeof(st));
    EXPECT_EQ(zx_system_get_physmem(), st.total_bytes);
    EXPECT_GT(zx_system_get_physmem(), 0);
}

// ---- handle_close_many ----

TEST(close_many_closes_every_valid_entry) {
    zx_handle_t h[4] = {ut_vmo(PAGE, -1), ZX_HANDLE_INVALID, ut_vmo(PAGE, -1), ut_vmo(PAGE, -1)};
    EXPECT_OK(zx_handle_close_many(h, 4));
    for (int i = 0; i < 4; i++)
        EXPECT_FALSE(i != 1 && ut_handle_valid(h[i]));
    EXPECT_OK(zx_handle_close_many(NULL, 0));
}

TEST(close_many_reports_a_bad_entry_and_closes_the_rest) {
    zx_handle_t a = ut_vmo(PAGE, -1), b = ut_vmo(PAGE, -1);
    zx_handle_t rep[3] = {a, a, b};  // a repeated: the second is bad
    EXPECT_STATUS(zx_handle_close_many(rep, 3), ZX_ERR_BAD_HANDLE);
    EXPECT_FALSE(ut_handle_valid(a));
    EXPECT_FALSE(ut_handle_valid(b));
    zx_handle_t c = ut_vmo(PAGE, -1);
    zx_handle_t bad[2] = {UT_FORGED_HANDLE, c};
    EXPECT_STATUS(zx_handle_close_many(bad, 2), ZX_ERR_BAD_HANDLE);
    EXPECT_FALSE(ut_handle_valid(c));
    EXPECT_STATUS(zx_handle_close_many((const zx_handle_t *)ut_hole, 1), ZX_ERR_NOT_FOUND);
    EXPECT_STATUS(zx_handle_close_many((const zx_handle_t *)0xffff800000000000ull, 1),
                  ZX_ERR_INVALID_ARGS);
}

// ---- Jobs ----

TEST(job_create_checks_its_arguments) {
    zx_handle_t j;
    EXPECT_STATUS(zx_job_create(zx_job_default(), 1, &j), ZX_ERR_INVALID_ARGS);
    EXPECT_HANDLE_ERRORS(zx_job_create(h, 0, &j));
    zx_handle_t weak = ut_dup(zx_job_default(), DEFAULT_JOB_RIGHTS & ~ZX_RIGHT_MANAGE_JOB);
    EXPECT_STATUS(zx_job_create(weak, 0, &j), ZX_ERR_ACCESS_DENIED);
    zx_handle_close(weak);
    EXPECT_PTR_ERRORS(zx_job_create(zx_job_default(), 0, (zx_handle_t *)bad), ut_ro_page);
}

TEST(jobs_nest_and_list_their_children) {
    zx_handle_t a = new_job(zx_job_default());
    REQUIRE_TRUE(a != ZX_HANDLE_INVALID);
    EXPECT_EQ(ut_rights(a), DEFAULT_JOB_RIGHTS);
    EXPECT_EQ(ut_type(a), ZX_OBJ_TYPE_JOB);
    zx_handle_t b = new_job(a), c = new_job(a), d = new_job(b);
    zx_koid_t kids[8];
    EXPECT_EQ(koid_list(a, ZX_INFO_JOB_CHILDREN, kids, 8), 2);
    EXPECT_TRUE(koid_in(ut_koid(b), kids, 2) && koid_in(ut_koid(c), kids, 2));
    EXPECT_EQ(koid_list(b, ZX_INFO_JOB_CHILDREN, kids, 8), 1);
    EXPECT_EQ(kids[0], ut_koid(d));
    EXPECT_EQ(koid_list(a, ZX_INFO_JOB_PROCESSES, kids, 8), 0);
    // A list never reports BUFFER_TOO_SMALL: it gives what fits and says how many there are.
    size_t actual = 9, avail = 0;
    EXPECT_OK(zx_object_get_info(a, ZX_INFO_JOB_CHILDREN, kids, sizeof(zx_koid_t), &actual,
                                 &avail));
    EXPECT_EQ(actual, 1);
    EXPECT_EQ(avail, 2);
    // get_child finds a child job, with the rights asked for or the parent handle's.
    zx_handle_t got;
    EXPECT_OK(zx_object_get_child(a, ut_koid(c), ZX_RIGHT_SAME_RIGHTS, &got));
    EXPECT_EQ(ut_koid(got), ut_koid(c));
    EXPECT_EQ(ut_rights(got), DEFAULT_JOB_RIGHTS);
    zx_handle_close(got);
    EXPECT_OK(zx_object_get_child(a, ut_koid(c), ZX_RIGHT_INSPECT, &got));
    EXPECT_EQ(ut_rights(got), ZX_RIGHT_INSPECT);
    zx_handle_close(got);
    EXPECT_STATUS(zx_object_get_child(a, ut_koid(d), ZX_RIGHT_SAME_RIGHTS, &got),
                  ZX_ERR_NOT_FOUND);  // a grandchild
    zx_handle_t narrow = ut_dup(a, ZX_RIGHT_ENUMERATE | ZX_RIGHT_INSPECT);
    EXPECT_STATUS(zx_object_get_child(narrow, ut_koid(c), ZX_RIGHT_DUPLICATE, &got),
                  ZX_ERR_ACCESS_DENIED);
    zx_handle_close(narrow);
    zx_handle_t blind = ut_dup(a, ZX_RIGHT_INSPECT);
    EXPECT_STATUS(zx_object_get_child(blind, ut_koid(c), ZX_RIGHT_SAME_RIGHTS, &got),
                  ZX_ERR_ACCESS_DENIED);
    EXPECT_STATUS(zx_object_get_info(blind, ZX_INFO_JOB_CHILDREN, kids, sizeof(kids), NULL, NULL),
                  ZX_ERR_ACCESS_DENIED);
    zx_handle_close(blind);
    zx_handle_t vmo = ut_vmo(PAGE, -1);
    EXPECT_STATUS(zx_object_get_child(vmo, 1, ZX_RIGHT_SAME_RIGHTS, &got), ZX_ERR_WRONG_TYPE);
    zx_handle_close(vmo);
    // A closed child job leaves the list.
    zx_handle_close(c);
    EXPECT_EQ(koid_list(a, ZX_INFO_JOB_CHILDREN, kids, 8), 1);
    zx_handle_close(d);
    zx_handle_close(b);
    EXPECT_EQ(koid_list(a, ZX_INFO_JOB_CHILDREN, kids, 8), 0);
    zx_handle_close(a);
}

TEST(killing_a_job_kills_its_whole_tree) {
    zx_handle_t a = new_job(zx_job_default());
    zx_handle_t b = new_job(a);
    zx_handle_t p1 = start_sleeper(a), p2 = start_sleeper(b);
    REQUIRE_TRUE(p1 != ZX_HANDLE_INVALID && p2 != ZX_HANDLE_INVALID);
    zx_koid_t procs[4];
    EXPECT_EQ(koid_list(a, ZX_INFO_JOB_PROCESSES, procs, 4), 1);
    EXPECT_EQ(procs[0], ut_koid(p1));
    zx_handle_t got;
    EXPECT_OK(zx_object_get_child(b, ut_koid(p2), ZX_RIGHT_SAME_RIGHTS, &got));
    EXPECT_EQ(ut_type(got), ZX_OBJ_TYPE_PROCESS);
    zx_handle_close(got);
    zx_info_job_t ji;
    ut_get_info(a, ZX_INFO_JOB, &ji, sizeof(ji));
    EXPECT_FALSE(ji.exited);
    EXPECT_OK(zx_task_kill(a));
    EXPECT_EQ(ut_wait_process(p1, 30), ZX_TASK_RETCODE_SYSCALL_KILL);
    EXPECT_EQ(ut_wait_process(p2, 30), ZX_TASK_RETCODE_SYSCALL_KILL);
    EXPECT_OK(zx_object_wait_one(a, ZX_TASK_TERMINATED, ut_deadline_after(5000000000), NULL));
    EXPECT_OK(zx_object_wait_one(b, ZX_TASK_TERMINATED, ut_deadline_after(5000000000), NULL));
    ut_get_info(a, ZX_INFO_JOB, &ji, sizeof(ji));
    EXPECT_TRUE(ji.exited);
    EXPECT_EQ(ji.return_code, ZX_TASK_RETCODE_SYSCALL_KILL);
    EXPECT_EQ(koid_list(b, ZX_INFO_JOB_PROCESSES, procs, 4), 0);
    // Nothing new under a killed job.
    zx_handle_t j, proc, vmar;
    EXPECT_STATUS(zx_job_create(b, 0, &j), ZX_ERR_BAD_STATE);
    EXPECT_STATUS(zx_process_create(a, "late", 4, 0, &proc, &vmar), ZX_ERR_BAD_STATE);
    zx_handle_close(p1);
    zx_handle_close(p2);
    zx_handle_close(b);
    zx_handle_close(a);
}

TEST(the_root_job_cannot_be_killed) {
    EXPECT_STATUS(zx_task_kill(zx_job_default()), ZX_ERR_ACCESS_DENIED);
}

TEST(kill_on_oom_is_a_set_only_property) {
    zx_handle_t j = new_job(zx_job_default());
    size_t one = 1, two = 2;
    uint32_t small = 1;
    EXPECT_OK(zx_object_set_property(j, ZX_PROP_JOB_KILL_ON_OOM, &one, sizeof(one)));
    zx_info_job_t ji;
    ut_get_info(j, ZX_INFO_JOB, &ji, sizeof(ji));
    EXPECT_TRUE(ji.kill_on_oom);
    EXPECT_STATUS(zx_object_set_property(j, ZX_PROP_JOB_KILL_ON_OOM, &two, sizeof(two)),
                  ZX_ERR_INVALID_ARGS);
    EXPECT_STATUS(zx_object_set_property(j, ZX_PROP_JOB_KILL_ON_OOM, &small, sizeof(small)),
                  ZX_ERR_BUFFER_TOO_SMALL);
    EXPECT_STATUS(zx_object_get_property(j, ZX_PROP_JOB_KILL_ON_OOM, &one, sizeof(one)),
                  ZX_ERR_NOT_SUPPORTED);
    zx_handle_close(j);
}

// ---- Threads and handles ----

static zx_handle_t sleeper_event;

static void sleep_long(uintptr_t a, uintptr_t b) {
    zx_nanosleep(ut_deadline_after(60ll * 1000000000));
    zx_thread_exit();
}

static void wait_on_channel(uintptr_t a, uintptr_t b) {
    zx_object_wait_one(sleeper_event, ZX_CHANNEL_READABLE, ZX_TIME_INFINITE, NULL);
    zx_thread_exit();
}

// Polls ZX_INFO_THREAD until `t` reports `state` (a started thread takes a while to block).
static uint32_t await_thread_state(zx_handle_t t, uint32_t state) {
    zx_info_thread_t ti = {0};
    for (int i = 0; i < 2000; i++) {
        ut_get_info(t, ZX_INFO_THREAD, &ti, sizeof(ti));
        if (ti.state == state)
            break;
        zx_nanosleep(ut_deadline_after(1000000));
    }
    return ti.state;
}

TEST(thread_info_reports_states) {
    zx_info_thread_t ti;
    ut_get_info(zx_thread_self(), ZX_INFO_THREAD, &ti, sizeof(ti));
    EXPECT_EQ(ti.state, ZX_THREAD_STATE_RUNNING);
    EXPECT_EQ(ti.wait_exception_channel_type, 0);
    uint32_t cpus = zx_system_get_num_cpus();
    EXPECT_EQ(ti.cpu_affinity_mask.mask[0], cpus >= 64 ? ~0ull : (1ull << cpus) - 1);
    zx_handle_t fresh;
    REQUIRE_OK(zx_thread_create(zx_process_self(), "fresh", 5, 0, &fresh));
    ut_get_info(fresh, ZX_INFO_THREAD, &ti, sizeof(ti));
    EXPECT_EQ(ti.state, ZX_THREAD_STATE_NEW);
    zx_handle_close(fresh);
    struct ut_thread s;
    REQUIRE_OK(ut_thread_spawn(&s, sleep_long, 0, 0));
    EXPECT_EQ(await_thread_state(s.thread, ZX_THREAD_STATE_BLOCKED_SLEEPING),
              ZX_THREAD_STATE_BLOCKED_SLEEPING);
    zx_handle_t other;
    REQUIRE_OK(zx_channel_create(0, &sleeper_event, &other));
    struct ut_thread w;
    REQUIRE_OK(ut_thread_spawn(&w, wait_on_channel, 0, 0));
    EXPECT_EQ(await_thread_state(w.thread, ZX_THREAD_STATE_BLOCKED_WAIT_ONE),
              ZX_THREAD_STATE_BLOCKED_WAIT_ONE);
    // Both threads are listed by their process.
    zx_koid_t threads[16];
    size_t n = koid_list(zx_process_self(), ZX_INFO_PROCESS_THREADS, threads, 16);
    EXPECT_TRUE(koid_in(ut_koid(s.thread), threads, n));
    EXPECT_TRUE(koid_in(ut_koid(w.thread), threads, n));
    EXPECT_TRUE(koid_in(ut_koid(zx_thread_self()), threads, n));
    zx_handle_t got;
    EXPECT_OK(zx_object_get_child(zx_process_self(), ut_koid(w.thread), ZX_RIGHT_SAME_RIGHTS, &got));
    EXPECT_EQ(ut_koid(got), ut_koid(w.thread));
    zx_handle_close(got);
    EXPECT_OK(zx_channel_write(other, 0, "x", 1, NULL, 0));
    EXPECT_TRUE(ut_thread_join(&w, 10000));
    EXPECT_OK(zx_task_kill(s.thread));
    EXPECT_TRUE(ut_thread_join(&s, 10000));
    zx_handle_close(sleeper_event);
    zx_handle_close(other);
}

static zx_futex_t futex_word;

static void wait_on_futex(uintptr_t a, uintptr_t b) {
    while (__atomic_load_n(&futex_word, __ATOMIC_ACQUIRE) == 0)
        zx_futex_wait(&futex_word, 0, ZX_HANDLE_INVALID, ZX_TIME_INFINITE);
    zx_thread_exit();
}

TEST(thread_info_reports_a_futex_wait) {
    futex_word = 0;
    struct ut_thread t;
    REQUIRE_OK(ut_thread_spawn(&t, wait_on_futex, 0, 0));
    EXPECT_EQ(await_thread_state(t.thread, ZX_THREAD_STATE_BLOCKED_FUTEX),
              ZX_THREAD_STATE_BLOCKED_FUTEX);
    __atomic_store_n(&futex_word, 1, __ATOMIC_RELEASE);
    EXPECT_OK(zx_futex_wake(&futex_word, 1));
    EXPECT_TRUE(ut_thread_join(&t, 10000));
}

TEST(handle_count_counts_handles) {
    zx_handle_t v = ut_vmo(PAGE, -1);
    zx_info_handle_count_t hc;
    ut_get_info(v, ZX_INFO_HANDLE_COUNT, &hc, sizeof(hc));
    EXPECT_EQ(hc.handle_count, 1);
    zx_handle_t d = ut_dup(v, ZX_RIGHT_SAME_RIGHTS);
    ut_get_info(v, ZX_INFO_HANDLE_COUNT, &hc, sizeof(hc));
    EXPECT_EQ(hc.handle_count, 2);
    zx_handle_close(d);
    ut_get_info(v, ZX_INFO_HANDLE_COUNT, &hc, sizeof(hc));
    EXPECT_EQ(hc.handle_count, 1);
    zx_handle_close(v);
}

// ---- ZX_INFO_PROCESS_VMOS ----

// How many records of `vmos` name `koid` with `flag`; the rights of the last one in *rights.
static size_t count_vmo(const zx_info_vmo_t *vmos, size_t n, zx_koid_t koid, uint32_t flag,
                        zx_rights_t *rights) {
    size_t c = 0;
    for (size_t i = 0; i < n; i++) {
        if (vmos[i].koid == koid && (vmos[i].flags & flag)) {
            c++;
            *rights = vmos[i].handle_rights;
        }
    }
    return c;
}

TEST(process_vmos_lists_handles_then_mappings) {
    zx_handle_t a = ut_vmo(PAGE, -1), b = ut_vmo(2 * PAGE, -1);
    zx_handle_t a_ro = ut_dup(a, ZX_RIGHT_READ | ZX_RIGHT_MAP | ZX_RIGHT_DUPLICATE);
    uintptr_t m1 = ut_map(b, 0, PAGE, ZX_VM_PERM_READ);
    uintptr_t m2 = ut_map(b, PAGE, PAGE, ZX_VM_PERM_READ);
    zx_info_vmo_t *vmos = (zx_info_vmo_t *)ut_scratch;
    size_t max = UT_SCRATCH_SIZE / sizeof(zx_info_vmo_t), actual = 0, avail = 0;
    REQUIRE_OK(zx_object_get_info(zx_process_self(), ZX_INFO_PROCESS_VMOS, vmos,
                                  max * sizeof(zx_info_vmo_t), &actual, &avail));
    EXPECT_EQ(actual, avail);
    zx_rights_t r = 0;
    EXPECT_EQ(count_vmo(vmos, actual, ut_koid(a), ZX_INFO_VMO_VIA_HANDLE, &r), 2);
    EXPECT_EQ(count_vmo(vmos, actual, ut_koid(a), ZX_INFO_VMO_VIA_MAPPING, &r), 0);
    EXPECT_EQ(count_vmo(vmos, actual, ut_koid(b), ZX_INFO_VMO_VIA_HANDLE, &r), 1);
    EXPECT_EQ(r, ut_rights(b));
    EXPECT_EQ(count_vmo(vmos, actual, ut_koid(b), ZX_INFO_VMO_VIA_MAPPING, &r), 2);
    EXPECT_EQ(r, 0);
    // Handles come first.
    bool seen_mapping = false, order_ok = true;
    for (size_t i = 0; i < actual; i++) {
        if (vmos[i].flags & ZX_INFO_VMO_VIA_MAPPING)
            seen_mapping = true;
        else if (seen_mapping)
            order_ok = false;
    }
    EXPECT_TRUE(order_ok);
    for (size_t i = 0; i < actual; i++) {
        if (vmos[i].koid == ut_koid(b))
            EXPECT_EQ(vmos[i].size_bytes, 2 * PAGE);
    }
    // A short buffer takes what fits; the count says how many there are.
    size_t a2 = 0, v2 = 0;
    EXPECT_OK(zx_object_get_info(zx_process_self(), ZX_INFO_PROCESS_VMOS, vmos,
                                 2 * sizeof(zx_info_vmo_t), &a2, &v2));
    EXPECT_EQ(a2, 2);
    EXPECT_EQ(v2, avail);
    zx_handle_t no_inspect = ut_dup(zx_process_self(), ZX_RIGHT_READ);
    EXPECT_STATUS(zx_object_get_info(no_inspect, ZX_INFO_PROCESS_VMOS, vmos, sizeof(*vmos), NULL,
                                     NULL),
                  ZX_ERR_ACCESS_DENIED);
    zx_handle_close(no_inspect);
    ut_unmap(m1, PAGE);
    ut_unmap(m2, PAGE);
    zx_handle_close(a_ro);
    zx_handle_close(a);
    zx_handle_close(b);
}

// ---- Another process's memory (here: our own, through the same calls) ----

TEST(read_and_write_memory_go_through_the_vmo) {
    zx_handle_t vmo = ut_vmo(2 * PAGE, 0x11);
    uintptr_t ro = ut_map(vmo, 0, 2 * PAGE, ZX_VM_PERM_READ);
    REQUIRE_TRUE(ro != 0);
    char buf[64] = "written past the read-only mapping";
    size_t actual = 0;
    // Write ignores the mapping's permissions.
    EXPECT_OK(zx_process_write_memory(zx_process_self(), ro + 100, buf, sizeof(buf), &actual));
    EXPECT_EQ(actual, sizeof(buf));
    EXPECT_EQ(memcmp((const void *)(ro + 100), buf, sizeof(buf)), 0);
    char back[64];
    EXPECT_OK(zx_process_read_memory(zx_process_self(), ro + 100, back, sizeof(back), &actual));
    EXPECT_EQ(memcmp(back, buf, sizeof(buf)), 0);
    // A transfer stops at the end of the mapping.
    char big[3 * 4096];
    EXPECT_OK(zx_process_read_memory(zx_process_self(), ro + PAGE + 96, big, sizeof(big), &actual));
    EXPECT_EQ(actual, PAGE - 96);
    EXPECT_EQ((uint8_t)big[0], 0x11);
    // Errors: arguments first, then handle, then the address.
    EXPECT_STATUS(zx_process_read_memory(zx_process_self(), ro, NULL, 8, &actual),
                  ZX_ERR_INVALID_ARGS);
    EXPECT_STATUS(zx_process_read_memory(zx_process_self(), ro, back, 0, &actual),
                  ZX_ERR_INVALID_ARGS);
    EXPECT_STATUS(zx_process_read_memory(zx_process_self(), ro, back, ((size_t)64 << 20) + 1,
                                         &actual),
                  ZX_ERR_INVALID_ARGS);
    EXPECT_STATUS(zx_process_read_memory(ut_hole, ro, back, 8, &actual), ZX_ERR_BAD_HANDLE);
    EXPECT_STATUS(zx_process_read_memory(vmo, ro, back, 8, &actual), ZX_ERR_WRONG_TYPE);
    zx_handle_t ronly = ut_dup(zx_process_self(), ZX_RIGHT_READ);
    EXPECT_STATUS(zx_process_read_memory(ronly, ro, back, 8, &actual), ZX_ERR_ACCESS_DENIED);
    EXPECT_STATUS(zx_process_write_memory(ronly, ro, back, 8, &actual), ZX_ERR_ACCESS_DENIED);
    zx_handle_close(ronly);
    EXPECT_STATUS(zx_process_read_memory(zx_process_self(), ut_hole, back, 8, &actual),
                  ZX_ERR_NO_MEMORY);
    ut_unmap(ro, 2 * PAGE);
    zx_handle_close(vmo);
}

TEST(memory_calls_past_the_vmo_end_are_out_of_range) {
    zx_handle_t vmo = ut_vmo(PAGE, 0x22);
    uintptr_t addr = 0;
    REQUIRE_OK(zx_vmar_map(zx_vmar_root_self(), ZX_VM_PERM_READ, 0, vmo, 0, 2 * PAGE, &addr));
    char b[16];
    size_t actual;
    EXPECT_STATUS(zx_process_read_memory(zx_process_self(), addr + PAGE, b, sizeof(b), &actual),
                  ZX_ERR_OUT_OF_RANGE);
    EXPECT_OK(zx_process_read_memory(zx_process_self(), addr + PAGE - 8, b, sizeof(b), &actual));
    EXPECT_EQ(actual, 8);
    ut_unmap(addr, 2 * PAGE);
    zx_handle_close(vmo);
}

// ---- vmar_unmap_handle_close_thread_exit ----

static zx_handle_t exit_vmar, exit_close;
static volatile uintptr_t exit_addr;

static void unmap_own_stack_and_exit(uintptr_t a, uintptr_t b) {
    while (!exit_addr)  // set by the spawner once ut_thread_spawn returns
        zx_nanosleep(0);
    zx_vmar_unmap_handle_close_thread_exit(exit_vmar, exit_addr, UT_THREAD_STACK_SIZE, exit_close);
    __builtin_trap();  // not reached
}

static volatile zx_status_t failed_status;

static void unmap_fails_and_returns(uintptr_t a, uintptr_t b) {
    failed_status = zx_vmar_unmap_handle_close_thread_exit(exit_vmar, 0x1000, PAGE, exit_close);
    zx_thread_exit();
}

TEST(unmap_close_exit_frees_the_stack_and_the_handle) {
    struct ut_thread t;
    exit_vmar = zx_vmar_root_self();
    exit_close = ut_vmo(PAGE, -1);
    exit_addr = 0;
    REQUIRE_OK(ut_thread_spawn(&t, unmap_own_stack_and_exit, 0, 0));
    exit_addr = t.stack;
    EXPECT_OK(zx_object_wait_one(t.thread, ZX_THREAD_TERMINATED, ut_deadline_after(10000000000ll),
                                 NULL));
    EXPECT_FALSE(ut_handle_valid(exit_close));
    zx_info_process_t pi;
    ut_get_info(zx_process_self(), ZX_INFO_PROCESS, &pi, sizeof(pi));
    EXPECT_EQ(pi.flags & ZX_INFO_PROCESS_FLAG_EXITED, 0);  // only the thread went
    t.stack = 0;  // already unmapped
    EXPECT_TRUE(ut_thread_join(&t, 1000));
    // A failed unmap returns its status and does nothing more.
    exit_close = ut_vmo(PAGE, -1);
    REQUIRE_OK(ut_thread_spawn(&t, unmap_fails_and_returns, 0, 0));
    EXPECT_TRUE(ut_thread_join(&t, 10000));
    EXPECT_STATUS(failed_status, ZX_ERR_INVALID_ARGS);
    EXPECT_TRUE(ut_handle_valid(exit_close));
    zx_handle_close(exit_close);
}

static int child_sleep(int argc, char **argv) {
    zx_nanosleep(ZX_TIME_INFINITE);
    return 0;
}

// Kills the job it runs in (its default job), so itself too: the call does not return.
static int child_kill_own_job(int argc, char **argv) {
    zx_task_kill(zx_job_default());
    return 1;
}

TEST(a_process_can_kill_its_own_job) {
    zx_handle_t j = new_job(zx_job_default());
    zx_handle_t sib = start_sleeper(j);
    const char *argv[3] = {"task_test.elf", "--child", "kill_own_job"};
    zx_handle_t proc = ZX_HANDLE_INVALID;
    REQUIRE_OK(jasper_launch(j, "killer", ulib_executable_vmo(), 3, argv, &proc));
    EXPECT_EQ(ut_wait_process(proc, 30), ZX_TASK_RETCODE_SYSCALL_KILL);
    EXPECT_EQ(ut_wait_process(sib, 30), ZX_TASK_RETCODE_SYSCALL_KILL);
    EXPECT_OK(zx_object_wait_one(j, ZX_TASK_TERMINATED, ut_deadline_after(5000000000), NULL));
    zx_handle_close(proc);
    zx_handle_close(sib);
    zx_handle_close(j);
}

static const struct ut_child children[] = {
    {"sleep", child_sleep},
    {"kill_own_job", child_kill_own_job},
    {NULL, NULL},
};

UTEST_MAIN(children)
