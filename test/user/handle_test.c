// Handles and the calls on them: close, duplicate, replace (docs/abi.md §2), handle values,
// channels (create, write, read, handle transfer, signals, cycles that must not leak) and
// object_wait_one with deadlines.
#include <stdio.h>

#include "test/user/utest.h"

#define VMO_RIGHTS ZX_DEFAULT_VMO_RIGHTS
#define CH_RIGHTS ZX_DEFAULT_CHANNEL_RIGHTS

static void channel(zx_handle_t *a, zx_handle_t *b) {
    *a = *b = ZX_HANDLE_INVALID;
    zx_status_t st = zx_channel_create(0, a, b);
    if (st != ZX_OK)
        EXPECT_FAILF("zx_channel_create failed: %d", st);
}

TEST(close) {
    zx_handle_t vmo = ut_vmo(PAGE, -1);
    EXPECT_OK(zx_handle_close(vmo));
    EXPECT_STATUS(zx_handle_close(vmo), ZX_ERR_BAD_HANDLE);
    EXPECT_OK(zx_handle_close(ZX_HANDLE_INVALID));
    EXPECT_STATUS(zx_handle_close(UT_FORGED_HANDLE), ZX_ERR_BAD_HANDLE);
    EXPECT_STATUS(zx_handle_close(ut_stale_handle), ZX_ERR_BAD_HANDLE);
    EXPECT_STATUS(zx_handle_close(0xfffffffcu), ZX_ERR_BAD_HANDLE);
    EXPECT_STATUS(zx_handle_close(0xffffffffu), ZX_ERR_BAD_HANDLE);
    EXPECT_STATUS(zx_handle_close(1), ZX_ERR_BAD_HANDLE);
}

TEST(handle_values) {
    zx_handle_t seen[64];
    for (int i = 0; i < 64; i++) {
        REQUIRE_OK(zx_vmo_create(0, 0, &seen[i]));
        EXPECT_EQ(seen[i] & ZX_HANDLE_FIXED_BITS_MASK, ZX_HANDLE_FIXED_BITS_MASK);
        for (int j = 0; j < i; j++) {
            if (seen[j] == seen[i])
                EXPECT_FAILF("handle value %#x handed out twice (%d, %d)", seen[i], j, i);
        }
        // Closing right away must not make the next one reuse the value.
        EXPECT_OK(zx_handle_close(seen[i]));
    }
    // The closed values stay dead.
    for (int i = 0; i < 64; i++)
        EXPECT_FALSE(ut_handle_valid(seen[i]));
}

// A closed value stays dead: 4,096 create/close cycles (kernel/handle.h promises 2^20; the
// kernel test handle.closed_value_stays_dead_for_2_pow_20_creations checks all of them) hand out
// 4,096 different values, none of them the value of a handle still open.
TEST(handle_values_not_reused_for_thousands_of_cycles) {
    enum { CYCLES = 4096 };
    _Static_assert(CYCLES * sizeof(zx_handle_t) <= UT_SCRATCH_SIZE, "fits the scratch memory");
    zx_handle_t *seen = (zx_handle_t *)ut_scratch;
    zx_handle_t keep = ut_vmo(0, -1);
    for (int i = 0; i < CYCLES; i++) {
        REQUIRE_OK(zx_vmo_create(0, 0, &seen[i]));
        EXPECT_NE(seen[i], keep);
        EXPECT_OK(zx_handle_close(seen[i]));
    }
    int dups = 0;
    for (int i = 0; i < CYCLES && dups < 5; i++) {
        for (int j = 0; j < i; j++) {
            if (seen[j] == seen[i]) {
                EXPECT_FAILF("handle value %#x handed out again after %d cycles", seen[i], i - j);
                dups++;
                break;
            }
        }
    }
    EXPECT_FALSE(ut_handle_valid(seen[0]));
    zx_handle_close(keep);
}

TEST(duplicate) {
    zx_handle_t vmo = ut_vmo(PAGE, 0x11);
    zx_handle_t d = ZX_HANDLE_INVALID;
    EXPECT_OK(zx_handle_duplicate(vmo, ZX_RIGHT_SAME_RIGHTS, &d));
    EXPECT_NE(d, vmo);
    EXPECT_EQ(ut_koid(d), ut_koid(vmo));
    EXPECT_EQ(ut_rights(d), VMO_RIGHTS);
    EXPECT_EQ(ut_vmo_byte(d, 0), 0x11);
    zx_handle_t r = ZX_HANDLE_INVALID;
    EXPECT_OK(zx_handle_duplicate(vmo, ZX_RIGHT_READ | ZX_RIGHT_DUPLICATE, &r));
    EXPECT_EQ(ut_rights(r), ZX_RIGHT_READ | ZX_RIGHT_DUPLICATE);
    // More rights than the source: refused.
    zx_handle_t x = ZX_HANDLE_INVALID;
    EXPECT_STATUS(zx_handle_duplicate(r, ZX_RIGHT_READ | ZX_RIGHT_WRITE, &x), ZX_ERR_INVALID_ARGS);
    EXPECT_STATUS(zx_handle_duplicate(vmo, ZX_RIGHT_EXECUTE, &x), ZX_ERR_INVALID_ARGS);
    EXPECT_EQ(x, ZX_HANDLE_INVALID);
    // No rights at all is fine; such a handle cannot be duplicated further.
    zx_handle_t none = ZX_HANDLE_INVALID;
    EXPECT_OK(zx_handle_duplicate(vmo, 0, &none));
    EXPECT_EQ(ut_rights(none), 0);
    EXPECT_STATUS(zx_handle_duplicate(none, 0, &x), ZX_ERR_ACCESS_DENIED);
    EXPECT_STATUS(zx_handle_duplicate(none, ZX_RIGHT_SAME_RIGHTS, &x), ZX_ERR_ACCESS_DENIED);
    zx_handle_t nodup = ut_dup(vmo, VMO_RIGHTS & ~ZX_RIGHT_DUPLICATE);
    EXPECT_STATUS(zx_handle_duplicate(nodup, ZX_RIGHT_READ, &x), ZX_ERR_ACCESS_DENIED);
    EXPECT_EQ(x, ZX_HANDLE_INVALID);
    // Bad handles and output pointers.
    EXPECT_STATUS(zx_handle_duplicate(ZX_HANDLE_INVALID, ZX_RIGHT_SAME_RIGHTS, &x),
                  ZX_ERR_BAD_HANDLE);
    EXPECT_STATUS(zx_handle_duplicate(ut_stale_handle, ZX_RIGHT_SAME_RIGHTS, &x),
                  ZX_ERR_BAD_HANDLE);
    EXPECT_STATUS(zx_handle_duplicate(UT_FORGED_HANDLE, ZX_RIGHT_SAME_RIGHTS, &x),
                  ZX_ERR_BAD_HANDLE);
    EXPECT_PTR_ERRORS(zx_handle_duplicate(vmo, ZX_RIGHT_SAME_RIGHTS, (zx_handle_t *)bad),
                      ut_ro_page);
    // Closing the original leaves the duplicate working.
    zx_handle_close(vmo);
    EXPECT_EQ(ut_vmo_byte(d, 0), 0x11);
    zx_handle_close(d);
    zx_handle_close(r);
    zx_handle_close(none);
    zx_handle_close(nodup);
}

TEST(duplicate_every_type) {
    zx_handle_t ch0, ch1;
    channel(&ch0, &ch1);
    zx_handle_t hs[] = {zx_process_self(), zx_thread_self(), zx_job_default(),
                        zx_vmar_root_self(), ch0};
    for (size_t i = 0; i < sizeof(hs) / sizeof(hs[0]); i++) {
        zx_handle_t d = ZX_HANDLE_INVALID;
        EXPECT_OK(zx_handle_duplicate(hs[i], ZX_RIGHT_SAME_RIGHTS, &d));
        EXPECT_EQ(ut_koid(d), ut_koid(hs[i]));
        EXPECT_EQ(ut_rights(d), ut_rights(hs[i]));
        EXPECT_EQ(ut_type(d), ut_type(hs[i]));
        EXPECT_OK(zx_handle_close(d));
    }
    zx_handle_close(ch0);
    zx_handle_close(ch1);
}

TEST(replace) {
    zx_handle_t vmo = ut_vmo(PAGE, 0x22);
    zx_koid_t koid = ut_koid(vmo);
    zx_handle_t r = ZX_HANDLE_INVALID;
    EXPECT_OK(zx_handle_replace(vmo, ZX_RIGHT_READ | ZX_RIGHT_MAP, &r));
    EXPECT_FALSE(ut_handle_valid(vmo));
    EXPECT_EQ(ut_koid(r), koid);
    EXPECT_EQ(ut_rights(r), ZX_RIGHT_READ | ZX_RIGHT_MAP);
    // Replacing needs no DUPLICATE right.
    zx_handle_t s = ZX_HANDLE_INVALID;
    EXPECT_OK(zx_handle_replace(r, ZX_RIGHT_SAME_RIGHTS, &s));
    EXPECT_FALSE(ut_handle_valid(r));
    EXPECT_EQ(ut_rights(s), ZX_RIGHT_READ | ZX_RIGHT_MAP);
    EXPECT_EQ(ut_vmo_byte(s, 0), 0x22);
    // More rights than the source: refused, and the source is consumed anyway.
    zx_handle_t t = ZX_HANDLE_INVALID;
    zx_handle_t s2 = ut_vmo(PAGE, -1);
    EXPECT_STATUS(zx_handle_replace(s2, VMO_RIGHTS | ZX_RIGHT_EXECUTE, &t), ZX_ERR_INVALID_ARGS);
    EXPECT_FALSE(ut_handle_valid(s2));
    EXPECT_EQ(t, ZX_HANDLE_INVALID);
    // Bad handles.
    EXPECT_STATUS(zx_handle_replace(ZX_HANDLE_INVALID, ZX_RIGHT_SAME_RIGHTS, &t),
                  ZX_ERR_BAD_HANDLE);
    EXPECT_STATUS(zx_handle_replace(s2, ZX_RIGHT_SAME_RIGHTS, &t), ZX_ERR_BAD_HANDLE);
    EXPECT_STATUS(zx_handle_replace(UT_FORGED_HANDLE, ZX_RIGHT_SAME_RIGHTS, &t),
                  ZX_ERR_BAD_HANDLE);
    // A bad output pointer: INVALID_ARGS (pointer rules), the source consumed.
    zx_handle_t s3 = ut_vmo(PAGE, -1);
    EXPECT_STATUS(zx_handle_replace(s3, ZX_RIGHT_SAME_RIGHTS, NULL), ZX_ERR_INVALID_ARGS);
    EXPECT_FALSE(ut_handle_valid(s3));
    zx_handle_t tmp = ZX_HANDLE_INVALID;
    EXPECT_PTR_ERRORS((tmp = ut_vmo(PAGE, -1),
                       zx_handle_replace(tmp, ZX_RIGHT_SAME_RIGHTS, (zx_handle_t *)bad)),
                      ut_ro_page);
    EXPECT_FALSE(ut_handle_valid(tmp));
    zx_handle_close(s);
}

TEST(last_close_destroys) {
    uint64_t base = ut_vmo_bytes();
    zx_handle_t vmo = ut_vmo(4 * PAGE, 1);
    zx_handle_t a = ut_dup(vmo, ZX_RIGHT_SAME_RIGHTS);
    zx_handle_t b = ut_dup(vmo, ZX_RIGHT_READ);
    zx_handle_close(vmo);
    zx_handle_close(a);
    EXPECT_EQ(ut_vmo_bytes(), base + 4 * PAGE);
    EXPECT_EQ(ut_vmo_byte(b, 3 * PAGE), 1);
    zx_handle_close(b);
    EXPECT_EQ(ut_vmo_bytes(), base);
}

// ---- Channels ----

TEST(channel_create) {
    zx_handle_t a, b;
    channel(&a, &b);
    zx_info_handle_basic_t ia, ib;
    EXPECT_OK(zx_object_get_info(a, ZX_INFO_HANDLE_BASIC, &ia, sizeof(ia), NULL, NULL));
    EXPECT_OK(zx_object_get_info(b, ZX_INFO_HANDLE_BASIC, &ib, sizeof(ib), NULL, NULL));
    EXPECT_EQ(ia.type, ZX_OBJ_TYPE_CHANNEL);
    EXPECT_EQ(ia.rights, CH_RIGHTS);
    EXPECT_EQ(ib.rights, CH_RIGHTS);
    EXPECT_EQ(ia.related_koid, ib.koid);
    EXPECT_EQ(ib.related_koid, ia.koid);
    EXPECT_NE(ia.koid, ib.koid);
    zx_handle_close(a);
    zx_handle_close(b);
    zx_handle_t x = ZX_HANDLE_INVALID, y = ZX_HANDLE_INVALID;
    EXPECT_STATUS(zx_channel_create(1, &x, &y), ZX_ERR_INVALID_ARGS);
    EXPECT_STATUS(zx_channel_create(0x80000000u, &x, &y), ZX_ERR_INVALID_ARGS);
    EXPECT_PTR_ERRORS(zx_channel_create(0, (zx_handle_t *)bad, &y), ut_ro_page);
    EXPECT_PTR_ERRORS(zx_channel_create(0, &x, (zx_handle_t *)bad), ut_ro_page);
    // A failed call may have written one value, but no handle survives it.
    EXPECT_FALSE(x != ZX_HANDLE_INVALID && ut_handle_valid(x));
    EXPECT_FALSE(y != ZX_HANDLE_INVALID && ut_handle_valid(y));
}

TEST(channel_messages_in_order) {
    zx_handle_t a, b;
    channel(&a, &b);
    EXPECT_FALSE(ut_signaled(b, ZX_CHANNEL_READABLE));
    for (uint32_t i = 0; i < 5; i++) {
        uint32_t msg[4] = {i, i * 10, i * 100, 0xfeed};
        EXPECT_OK(zx_channel_write(a, 0, msg, (i + 1) * 4 > 16 ? 16 : (i + 1) * 4, NULL, 0));
    }
    EXPECT_TRUE(ut_signaled(b, ZX_CHANNEL_READABLE));
    EXPECT_FALSE(ut_signaled(a, ZX_CHANNEL_READABLE));
    for (uint32_t i = 0; i < 5; i++) {
        uint32_t msg[8] = {0};
        uint32_t nb = 99, nh = 99;
        EXPECT_OK(zx_channel_read(b, 0, msg, NULL, sizeof(msg), 0, &nb, &nh));
        EXPECT_EQ(nb, (i + 1) * 4 > 16 ? 16 : (i + 1) * 4);
        EXPECT_EQ(nh, 0);
        EXPECT_EQ(msg[0], i);
    }
    EXPECT_FALSE(ut_signaled(b, ZX_CHANNEL_READABLE));
    uint32_t nb, nh;
    EXPECT_STATUS(zx_channel_read(b, 0, NULL, NULL, 0, 0, &nb, &nh), ZX_ERR_SHOULD_WAIT);
    // Both directions; an empty message; NULL actual pointers.
    EXPECT_OK(zx_channel_write(b, 0, NULL, 0, NULL, 0));
    EXPECT_OK(zx_channel_read(a, 0, NULL, NULL, 0, 0, NULL, NULL));
    zx_handle_close(a);
    zx_handle_close(b);
}

TEST(channel_read_too_small) {
    zx_handle_t a, b;
    channel(&a, &b);
    char msg[100];
    memset(msg, 'm', sizeof(msg));
    zx_handle_t v = ut_vmo(PAGE, -1);
    EXPECT_OK(zx_channel_write(a, 0, msg, sizeof(msg), &v, 1));
    char buf[200];
    zx_handle_t hs[2] = {0, 0};
    uint32_t nb = 0, nh = 0;
    EXPECT_STATUS(zx_channel_read(b, 0, buf, hs, 50, 1, &nb, &nh), ZX_ERR_BUFFER_TOO_SMALL);
    EXPECT_EQ(nb, 100);
    EXPECT_EQ(nh, 1);
    nb = nh = 0;
    EXPECT_STATUS(zx_channel_read(b, 0, buf, hs, 200, 0, &nb, &nh), ZX_ERR_BUFFER_TOO_SMALL);
    EXPECT_EQ(nb, 100);
    EXPECT_EQ(nh, 1);
    // The message is still there.
    EXPECT_TRUE(ut_signaled(b, ZX_CHANNEL_READABLE));
    EXPECT_OK(zx_channel_read(b, 0, buf, hs, 200, 2, &nb, &nh));
    EXPECT_EQ(nb, 100);
    EXPECT_EQ(nh, 1);
    EXPECT_MEM(buf, msg, 100);
    EXPECT_EQ(ut_type(hs[0]), ZX_OBJ_TYPE_VMO);
    zx_handle_close(hs[0]);
    zx_handle_close(a);
    zx_handle_close(b);
}

TEST(channel_transfers_handles) {
    zx_handle_t a, b;
    channel(&a, &b);
    zx_handle_t vmo = ut_vmo(PAGE, 0x33);
    zx_handle_t ro = ut_dup(vmo, ZX_RIGHT_READ | ZX_RIGHT_TRANSFER);
    zx_koid_t koid = ut_koid(vmo);
    zx_handle_t send[2] = {vmo, ro};
    EXPECT_OK(zx_channel_write(a, 0, "hi", 2, send, 2));
    // The handles left this end.
    EXPECT_FALSE(ut_handle_valid(vmo));
    EXPECT_FALSE(ut_handle_valid(ro));
    zx_handle_t got[4] = {0};
    char buf[4];
    uint32_t nb, nh;
    EXPECT_OK(zx_channel_read(b, 0, buf, got, sizeof(buf), 4, &nb, &nh));
    EXPECT_EQ(nh, 2);
    EXPECT_EQ(ut_koid(got[0]), koid);
    EXPECT_EQ(ut_rights(got[0]), VMO_RIGHTS);
    EXPECT_EQ(ut_koid(got[1]), koid);
    EXPECT_EQ(ut_rights(got[1]), ZX_RIGHT_READ | ZX_RIGHT_TRANSFER);
    EXPECT_EQ(ut_vmo_byte(got[1], 0), 0x33);
    // A channel end travels too.
    zx_handle_t c, d;
    channel(&c, &d);
    EXPECT_OK(zx_channel_write(a, 0, NULL, 0, &d, 1));
    zx_handle_t d2 = ZX_HANDLE_INVALID;
    EXPECT_OK(zx_channel_read(b, 0, NULL, &d2, 0, 1, &nb, &nh));
    EXPECT_OK(zx_channel_write(c, 0, "x", 1, NULL, 0));
    EXPECT_TRUE(ut_signaled(d2, ZX_CHANNEL_READABLE));
    zx_handle_close(c);
    zx_handle_close(d2);
    zx_handle_close(got[0]);
    zx_handle_close(got[1]);
    zx_handle_close(a);
    zx_handle_close(b);
}

TEST(channel_write_errors) {
    zx_handle_t a, b;
    channel(&a, &b);
    // Options, sizes.
    EXPECT_STATUS(zx_channel_write(a, 1, "x", 1, NULL, 0), ZX_ERR_INVALID_ARGS);
    EXPECT_OK(zx_channel_write(a, 0, ut_scratch, 65536, NULL, 0));
    EXPECT_STATUS(zx_channel_write(a, 0, ut_scratch, 65537, NULL, 0), ZX_ERR_OUT_OF_RANGE);
    zx_handle_t many[65];
    memset(many, 0, sizeof(many));
    EXPECT_STATUS(zx_channel_write(a, 0, NULL, 0, many, 65), ZX_ERR_OUT_OF_RANGE);
    // A handle without TRANSFER: refused, and every handle of the message is gone.
    zx_handle_t v1 = ut_vmo(PAGE, -1), v2 = ut_vmo(PAGE, -1);
    zx_handle_t nt = ut_dup(v2, VMO_RIGHTS & ~ZX_RIGHT_TRANSFER);
    zx_handle_close(v2);
    zx_handle_t send[2] = {v1, nt};
    EXPECT_STATUS(zx_channel_write(a, 0, NULL, 0, send, 2), ZX_ERR_ACCESS_DENIED);
    EXPECT_FALSE(ut_handle_valid(v1));
    EXPECT_FALSE(ut_handle_valid(nt));
    // A repeated handle, a bad handle in the array.
    zx_handle_t v3 = ut_vmo(PAGE, -1);
    zx_handle_t twice[2] = {v3, v3};
    EXPECT_STATUS(zx_channel_write(a, 0, NULL, 0, twice, 2), ZX_ERR_BAD_HANDLE);
    EXPECT_FALSE(ut_handle_valid(v3));
    zx_handle_t v4 = ut_vmo(PAGE, -1);
    zx_handle_t forged[2] = {v4, UT_FORGED_HANDLE};
    EXPECT_STATUS(zx_channel_write(a, 0, NULL, 0, forged, 2), ZX_ERR_BAD_HANDLE);
    EXPECT_FALSE(ut_handle_valid(v4));
    // The channel's own handle.
    zx_handle_t a2 = ut_dup(a, ZX_RIGHT_SAME_RIGHTS);
    EXPECT_STATUS(zx_channel_write(a2, 0, NULL, 0, &a2, 1), ZX_ERR_NOT_SUPPORTED);
    zx_handle_close(a2);
    // Only the large message was delivered.
    uint32_t nb = 0, nh = 0;
    EXPECT_OK(zx_channel_read(b, 0, ut_scratch, NULL, UT_SCRATCH_SIZE, 0, &nb, &nh));
    EXPECT_EQ(nb, 65536);
    EXPECT_STATUS(zx_channel_read(b, 0, NULL, NULL, 0, 0, &nb, &nh), ZX_ERR_SHOULD_WAIT);
    // Rights, handles, pointers.
    zx_handle_t nowrite = ut_dup(a, CH_RIGHTS & ~ZX_RIGHT_WRITE);
    EXPECT_STATUS(zx_channel_write(nowrite, 0, "x", 1, NULL, 0), ZX_ERR_ACCESS_DENIED);
    zx_handle_close(nowrite);
    EXPECT_HANDLE_ERRORS_WITH(zx_channel_write(h, 0, "x", 1, NULL, 0), zx_vmar_root_self());
    EXPECT_PTR_ERRORS(zx_channel_write(a, 0, (const void *)bad, 8, NULL, 0), ut_noaccess_page);
    EXPECT_PTR_ERRORS(zx_channel_write(a, 0, NULL, 0, (const zx_handle_t *)bad, 1),
                      ut_noaccess_page);
    EXPECT_STATUS(zx_channel_read(b, 0, NULL, NULL, 0, 0, &nb, &nh), ZX_ERR_SHOULD_WAIT);
    zx_handle_close(a);
    zx_handle_close(b);
}

// Reads and drops every queued message.
static zx_status_t drain(zx_handle_t ch) {
    uint32_t nb, nh;
    zx_handle_t hs[64];
    while (zx_channel_read(ch, 0, ut_scratch, hs, UT_SCRATCH_SIZE, 64, &nb, &nh) == ZX_OK) {
        for (uint32_t i = 0; i < nh; i++)
            zx_handle_close(hs[i]);
    }
    return ZX_OK;
}

TEST(channel_read_errors) {
    zx_handle_t a, b;
    channel(&a, &b);
    uint32_t nb, nh;
    char buf[16];
    EXPECT_STATUS(zx_channel_read(b, 1, buf, NULL, sizeof(buf), 0, &nb, &nh), ZX_ERR_INVALID_ARGS);
    zx_handle_t noread = ut_dup(b, CH_RIGHTS & ~ZX_RIGHT_READ);
    EXPECT_OK(zx_channel_write(a, 0, "hello", 5, NULL, 0));
    EXPECT_STATUS(zx_channel_read(noread, 0, buf, NULL, sizeof(buf), 0, &nb, &nh),
                  ZX_ERR_ACCESS_DENIED);
    zx_handle_close(noread);
    EXPECT_OK(zx_channel_read(b, 0, buf, NULL, sizeof(buf), 0, &nb, &nh));
    // Bad pointers: a message is queued before each attempt (a failed read may lose it).
#define SEND_THEN(call) (drain(b), zx_channel_write(a, 0, "hello", 5, NULL, 0), (call))
    EXPECT_PTR_ERRORS(SEND_THEN(zx_channel_read(b, 0, (void *)bad, NULL, 16, 0, &nb, &nh)),
                      ut_ro_page);
    EXPECT_OPT_PTR_ERRORS(
        SEND_THEN(zx_channel_read(b, 0, buf, NULL, sizeof(buf), 0, (uint32_t *)bad, &nh)),
        ut_ro_page);
    EXPECT_OPT_PTR_ERRORS(
        SEND_THEN(zx_channel_read(b, 0, buf, NULL, sizeof(buf), 0, &nb, (uint32_t *)bad)),
        ut_ro_page);
    zx_handle_t v = ZX_HANDLE_INVALID;
    EXPECT_PTR_ERRORS((drain(b), v = ut_vmo(PAGE, -1), zx_channel_write(a, 0, NULL, 0, &v, 1),
                       zx_channel_read(b, 0, NULL, (zx_handle_t *)bad, 0, 1, &nb, &nh)),
                      ut_ro_page);
    EXPECT_FALSE(ut_handle_valid(v));
#undef SEND_THEN
    EXPECT_HANDLE_ERRORS_WITH(zx_channel_read(h, 0, buf, NULL, sizeof(buf), 0, &nb, &nh),
                              zx_vmar_root_self());
    // Drain whatever is left, then the peer closes.
    while (zx_channel_read(b, 0, buf, NULL, sizeof(buf), 0, &nb, &nh) == ZX_OK) {
    }
    zx_handle_close(a);
    zx_handle_close(b);
}

TEST(channel_peer_closed) {
    zx_handle_t a, b;
    channel(&a, &b);
    EXPECT_OK(zx_channel_write(a, 0, "last", 4, NULL, 0));
    zx_handle_t v = ut_vmo(2 * PAGE, 1);
    EXPECT_OK(zx_channel_write(a, 0, NULL, 0, &v, 1));
    zx_handle_close(a);
    zx_signals_t seen = 0;
    EXPECT_OK(zx_object_wait_one(b, ZX_CHANNEL_PEER_CLOSED, 0, &seen));
    EXPECT_TRUE(seen & ZX_CHANNEL_PEER_CLOSED);
    EXPECT_TRUE(seen & ZX_CHANNEL_READABLE);
    // Messages already queued can still be read.
    char buf[8];
    uint32_t nb, nh;
    EXPECT_OK(zx_channel_read(b, 0, buf, NULL, sizeof(buf), 0, &nb, &nh));
    EXPECT_EQ(nb, 4);
    EXPECT_STATUS(zx_channel_write(b, 0, "x", 1, NULL, 0), ZX_ERR_PEER_CLOSED);
    // Closing the reader with a handle still queued frees that object.
    zx_handle_close(b);
}

TEST(channel_peer_closed_read) {
    zx_handle_t a, b;
    channel(&a, &b);
    zx_handle_close(a);
    uint32_t nb, nh;
    EXPECT_STATUS(zx_channel_read(b, 0, NULL, NULL, 0, 0, &nb, &nh), ZX_ERR_PEER_CLOSED);
    // A handle sent to a closed peer is still consumed.
    zx_handle_t v = ut_vmo(PAGE, 1);
    EXPECT_STATUS(zx_channel_write(b, 0, NULL, 0, &v, 1), ZX_ERR_PEER_CLOSED);
    EXPECT_FALSE(ut_handle_valid(v));
    zx_handle_close(b);
}

// ---- wait_one ----

TEST(wait_one_deadlines) {
    zx_handle_t a, b;
    channel(&a, &b);
    zx_signals_t seen = 0xffffffff;
    // A deadline in the past: at once.
    EXPECT_STATUS(zx_object_wait_one(b, ZX_CHANNEL_READABLE, 0, &seen), ZX_ERR_TIMED_OUT);
    EXPECT_FALSE(seen & ZX_CHANNEL_READABLE);
    EXPECT_STATUS(zx_object_wait_one(b, ZX_CHANNEL_READABLE, -1, NULL), ZX_ERR_TIMED_OUT);
    EXPECT_STATUS(zx_object_wait_one(b, ZX_CHANNEL_READABLE, INT64_MIN, NULL), ZX_ERR_TIMED_OUT);
    // A deadline in the future: not before it.
    zx_time_t start = zx_clock_get_monotonic();
    EXPECT_STATUS(zx_object_wait_one(b, ZX_CHANNEL_READABLE, start + 30000000, &seen),
                  ZX_ERR_TIMED_OUT);
    EXPECT_GE(zx_clock_get_monotonic(), start + 30000000);
    // Satisfied: at once, even with an infinite deadline.
    EXPECT_OK(zx_channel_write(a, 0, "x", 1, NULL, 0));
    seen = 0;
    EXPECT_OK(zx_object_wait_one(b, ZX_CHANNEL_READABLE, ZX_TIME_INFINITE, &seen));
    EXPECT_TRUE(seen & ZX_CHANNEL_READABLE);
    EXPECT_OK(zx_object_wait_one(b, ZX_CHANNEL_READABLE | ZX_CHANNEL_PEER_CLOSED, 0, NULL));
    // Rights.
    zx_handle_t nowait = ut_dup(b, CH_RIGHTS & ~ZX_RIGHT_WAIT);
    EXPECT_STATUS(zx_object_wait_one(nowait, ZX_CHANNEL_READABLE, 0, NULL), ZX_ERR_ACCESS_DENIED);
    zx_handle_close(nowait);
    // Handles and pointers.
    EXPECT_STATUS(zx_object_wait_one(ZX_HANDLE_INVALID, ZX_CHANNEL_READABLE, 0, NULL),
                  ZX_ERR_BAD_HANDLE);
    EXPECT_STATUS(zx_object_wait_one(ut_stale_handle, ZX_CHANNEL_READABLE, 0, NULL),
                  ZX_ERR_BAD_HANDLE);
    EXPECT_STATUS(zx_object_wait_one(UT_FORGED_HANDLE, ZX_CHANNEL_READABLE, 0, NULL),
                  ZX_ERR_BAD_HANDLE);
    EXPECT_OPT_PTR_ERRORS(zx_object_wait_one(b, ZX_CHANNEL_READABLE, 0, (zx_signals_t *)bad),
                          ut_ro_page);
    zx_handle_close(a);
    zx_handle_close(b);
}

TEST(wait_one_peer_closed_wakes) {
    zx_handle_t a, b;
    channel(&a, &b);
    zx_handle_close(a);
    zx_signals_t seen = 0;
    EXPECT_OK(zx_object_wait_one(b, ZX_CHANNEL_PEER_CLOSED, ut_deadline_after(1000000000), &seen));
    EXPECT_EQ(seen & ZX_CHANNEL_PEER_CLOSED, ZX_CHANNEL_PEER_CLOSED);
    // Waiting for a signal that can never come still ends at the deadline.
    EXPECT_STATUS(zx_object_wait_one(b, ZX_CHANNEL_READABLE, ut_deadline_after(5000000), &seen),
                  ZX_ERR_TIMED_OUT);
    zx_handle_close(b);
}

// ---- Channels that cannot leak (docs/processes.md, "Channel cycles") ----
// An endpoint sent through itself is refused (NOT_SUPPORTED, as in Zircon), and every cycle of
// endpoints queued in each other -- an endpoint queued on its own queue, two channels queued in
// each other, rings, cycles built by many threads at once, cycles left behind by a process that
// exits -- is freed with everything queued in it. Each test is also the harness's leak check.

static zx_handle_t committed_vmo(void) {
    return ut_vmo(4 * PAGE, 0x5a);
}

TEST(endpoint_sent_through_itself_is_refused) {
    zx_handle_t a, b;
    REQUIRE_OK(zx_channel_create(0, &a, &b));
    zx_handle_t self[] = {a};
    EXPECT_STATUS(zx_channel_write(a, 0, NULL, 0, self, 1), ZX_ERR_NOT_SUPPORTED);
    EXPECT_TRUE(ut_handle_valid(a));  // the value itself is refused before anything is taken
    // A duplicate of the endpoint is the same endpoint: refused too, and consumed like any
    // handle of a failed write.
    zx_handle_t dup = ut_dup(a, ZX_RIGHT_SAME_RIGHTS);
    zx_handle_t vmo = committed_vmo();
    zx_handle_t hs[] = {vmo, dup};
    EXPECT_STATUS(zx_channel_write(a, 0, "x", 1, hs, 2), ZX_ERR_NOT_SUPPORTED);
    EXPECT_FALSE(ut_handle_valid(dup));
    EXPECT_FALSE(ut_handle_valid(vmo));
    EXPECT_FALSE(ut_signaled(b, ZX_CHANNEL_READABLE));
    // The peer may be sent through (it lands in its own queue: see the next test).
    zx_handle_close(a);
    zx_handle_close(b);
}

TEST(endpoint_queued_on_itself_is_freed) {
    uint64_t before = ut_vmo_bytes();
    zx_handle_t a, b;
    REQUIRE_OK(zx_channel_create(0, &a, &b));
    zx_handle_t vmo = committed_vmo();
    EXPECT_EQ(ut_vmo_bytes(), before + 4 * PAGE);
    zx_handle_t hs[] = {b, vmo};
    // Written through a, the message lands on b's queue: b now holds the only handle to itself.
    REQUIRE_OK(zx_channel_write(a, 0, "cycle", 5, hs, 2));
    // Nobody can ever read b: it is freed at once, with the VMO, and a sees its peer gone.
    EXPECT_EQ(ut_vmo_bytes(), before);
    EXPECT_TRUE(ut_signaled(a, ZX_CHANNEL_PEER_CLOSED));
    EXPECT_STATUS(zx_channel_write(a, 0, "x", 1, NULL, 0), ZX_ERR_PEER_CLOSED);
    zx_handle_close(a);
}

TEST(two_channels_queued_in_each_other_are_freed) {
    uint64_t before = ut_vmo_bytes();
    zx_handle_t a0, a1, b0, b1;
    REQUIRE_OK(zx_channel_create(0, &a0, &a1));
    REQUIRE_OK(zx_channel_create(0, &b0, &b1));
    zx_handle_t m1[] = {b1, committed_vmo()};
    REQUIRE_OK(zx_channel_write(a0, 0, NULL, 0, m1, 2));  // b1 queued on a1
    EXPECT_EQ(ut_vmo_bytes(), before + 4 * PAGE);         // a1 is open: b1 can be read
    zx_handle_t m2[] = {a1, committed_vmo()};
    REQUIRE_OK(zx_channel_write(b0, 0, NULL, 0, m2, 2));  // a1 queued on b1
    EXPECT_EQ(ut_vmo_bytes(), before);  // a1 and b1 hold only each other
    EXPECT_TRUE(ut_signaled(a0, ZX_CHANNEL_PEER_CLOSED));
    EXPECT_TRUE(ut_signaled(b0, ZX_CHANNEL_PEER_CLOSED));
    zx_handle_close(a0);
    zx_handle_close(b0);
}

// A ring of 8 channels, each far end queued on the previous one's, is kept while we hold its
// first far end, and freed the moment that goes into the ring too.
TEST(ring_of_channels_is_freed_when_closed) {
    enum { N = 8 };
    uint64_t before = ut_vmo_bytes();
    zx_handle_t near[N], far[N];
    for (int i = 0; i < N; i++)
        REQUIRE_OK(zx_channel_create(0, &near[i], &far[i]));
    for (int i = 0; i + 1 < N; i++) {
        zx_handle_t hs[] = {far[i + 1], committed_vmo()};
        REQUIRE_OK(zx_channel_write(near[i], 0, NULL, 0, hs, 2));  // far[i+1] onto far[i]
    }
    EXPECT_EQ(ut_vmo_bytes(), before + (N - 1) * 4 * PAGE);  // all reachable from far[0]
    // The chain is intact: take its first link out and put it back.
    zx_handle_t got[2];
    uint32_t nb, nh;
    REQUIRE_OK(zx_channel_read(far[0], 0, NULL, got, 0, 2, &nb, &nh));
    EXPECT_EQ(nh, 2);
    EXPECT_EQ(ut_type(got[0]), ZX_OBJ_TYPE_CHANNEL);
    REQUIRE_OK(zx_channel_write(near[0], 0, NULL, 0, got, 2));
    EXPECT_EQ(ut_vmo_bytes(), before + (N - 1) * 4 * PAGE);
    // Close the ring: far[0] onto far[N-1]. Nothing in our hands reaches it any more.
    zx_handle_t last[] = {far[0], committed_vmo()};
    REQUIRE_OK(zx_channel_write(near[N - 1], 0, NULL, 0, last, 2));
    EXPECT_EQ(ut_vmo_bytes(), before);
    for (int i = 0; i < N; i++) {
        EXPECT_TRUE(ut_signaled(near[i], ZX_CHANNEL_PEER_CLOSED));
        zx_handle_close(near[i]);
    }
}

// Cycles a process leaves behind die with it.
static int child_make_cycles(int argc, char **argv) {
    (void)argc;
    (void)argv;
    for (int i = 0; i < 16; i++) {
        zx_handle_t a, b, c, d, vmo;
        if (zx_channel_create(0, &a, &b) != ZX_OK || zx_channel_create(0, &c, &d) != ZX_OK ||
            zx_vmo_create(2 * PAGE, 0, &vmo) != ZX_OK ||
            zx_vmo_write(vmo, "data", 0, 4) != ZX_OK)
            return 1;
        zx_handle_t m1[] = {d, vmo};
        zx_handle_t m2[] = {b};
        if (zx_channel_write(a, 0, NULL, 0, m1, 2) != ZX_OK ||  // d on b
            zx_channel_write(c, 0, NULL, 0, m2, 1) != ZX_OK)    // b on d
            return 2;
        // a and c stay open: the process exits holding them.
    }
    return 0;
}

TEST(cycles_die_with_the_process_that_made_them) {
    uint64_t before = ut_vmo_bytes();
    EXPECT_EQ(ut_run_child("make-cycles", NULL), 0);
    EXPECT_EQ(ut_vmo_bytes(), before);
}

// ---- Many threads sending handles through shared channels at once ----

enum { MAILBOXES = 6, THREADS = 4, POOL = 24, ROUNDS = 400 };
static zx_handle_t mailbox[MAILBOXES][2];
static volatile int thread_errors;

static uint32_t xorshift(uint32_t *s) {
    *s ^= *s << 13;
    *s ^= *s >> 17;
    *s ^= *s << 5;
    return *s;
}

static void pool_add(zx_handle_t *pool, int *n, zx_handle_t h) {
    if (*n < POOL)
        pool[(*n)++] = h;
    else
        zx_handle_close(h);
}

static void pool_take(zx_handle_t *pool, int *n, int i) {
    pool[i] = pool[--*n];
}

static void churn_thread(uintptr_t seed, uintptr_t unused) {
    (void)unused;
    uint32_t s = (uint32_t)seed * 2654435761u + 1;
    zx_handle_t pool[POOL];
    int n = 0;
    for (int round = 0; round < ROUNDS; round++) {
        uint32_t op = xorshift(&s) % 100;
        if (op < 15) {  // a VMO with a committed page
            zx_handle_t v;
            if (zx_vmo_create(PAGE, 0, &v) != ZX_OK || zx_vmo_write(v, &s, 0, 4) != ZX_OK)
                thread_errors++;
            else
                pool_add(pool, &n, v);
        } else if (op < 30) {  // a channel pair
            zx_handle_t a, b;
            if (zx_channel_create(0, &a, &b) != ZX_OK) {
                thread_errors++;
            } else {
                pool_add(pool, &n, a);
                pool_add(pool, &n, b);
            }
        } else if (op < 55 && n) {  // send up to 3 pool handles through a mailbox or a pool end
            zx_handle_t via = mailbox[xorshift(&s) % MAILBOXES][xorshift(&s) % 2];
            int vi = -1;
            if (xorshift(&s) % 2) {
                vi = (int)(xorshift(&s) % (uint32_t)n);
                via = pool[vi];
            }
            zx_handle_t hs[3];
            int k = 0, want = (int)(xorshift(&s) % 4);
            while (k < want && n > (vi >= 0 ? 1 : 0)) {
                int i = (int)(xorshift(&s) % (uint32_t)n);
                if (i == vi)
                    continue;
                hs[k++] = pool[i];
                pool_take(pool, &n, i);
                if (vi == n)
                    vi = i;  // the sender moved into the freed spot
            }
            zx_status_t st = zx_channel_write(via, 0, "m", 1, hs, (uint32_t)k);
            // Sending through a VMO, through itself (a duplicate cannot happen here), to a
            // closed peer or a full queue: all allowed to fail; the handles are gone either way.
            if (st != ZX_OK && st != ZX_ERR_WRONG_TYPE && st != ZX_ERR_PEER_CLOSED &&
                st != ZX_ERR_SHOULD_WAIT && st != ZX_ERR_NOT_SUPPORTED)
                thread_errors++;
        } else if (op < 85) {  // read from a mailbox or a pool end into the pool
            zx_handle_t via = mailbox[xorshift(&s) % MAILBOXES][xorshift(&s) % 2];
            if (n && xorshift(&s) % 2)
                via = pool[xorshift(&s) % (uint32_t)n];
            zx_handle_t got[3];
            uint32_t nb, nh;
            char c;
            zx_status_t st = zx_channel_read(via, 0, &c, got, 1, 3, &nb, &nh);
            if (st == ZX_OK) {
                for (uint32_t i = 0; i < nh; i++)
                    pool_add(pool, &n, got[i]);
            } else if (st != ZX_ERR_SHOULD_WAIT && st != ZX_ERR_PEER_CLOSED &&
                       st != ZX_ERR_WRONG_TYPE && st != ZX_ERR_BAD_HANDLE) {
                thread_errors++;  // BAD_HANDLE: another thread... never closes ours; see below
            }
        } else if (n) {  // close one
            int i = (int)(xorshift(&s) % (uint32_t)n);
            if (zx_handle_close(pool[i]) != ZX_OK)
                thread_errors++;
            pool_take(pool, &n, i);
        }
    }
    while (n)
        zx_handle_close(pool[--n]);
    zx_thread_exit();
}

TEST(threads_sending_handles_in_flight_leak_nothing) {
    uint64_t before = ut_vmo_bytes();
    thread_errors = 0;
    for (int i = 0; i < MAILBOXES; i++)
        REQUIRE_OK(zx_channel_create(0, &mailbox[i][0], &mailbox[i][1]));
    struct ut_thread t[THREADS];
    for (int i = 0; i < THREADS; i++)
        REQUIRE_OK(ut_thread_spawn(&t[i], churn_thread, (uintptr_t)i + 1, 0));
    for (int i = 0; i < THREADS; i++)
        EXPECT_TRUE(ut_thread_join(&t[i], 60000));
    EXPECT_EQ(thread_errors, 0);
    for (int i = 0; i < MAILBOXES; i++) {
        zx_handle_close(mailbox[i][0]);
        zx_handle_close(mailbox[i][1]);
    }
    EXPECT_EQ(ut_vmo_bytes(), before);
}

static const struct ut_child children[] = {
    {"make-cycles", child_make_cycles},
    {NULL, NULL},
};
UTEST_MAIN(children)
