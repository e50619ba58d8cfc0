// zx_object_get_info for every topic of docs/abi.md §3 (layouts, BUFFER_TOO_SMALL, wrong types,
// rights, pointers, unknown topics), ZX_INFO_PROCESS_MAPS order and contents, ZX_INFO_VMO fields,
// ZX_INFO_KMEM_STATS, and the name property.
#include <stdio.h>

#include "test/user/utest.h"

#define P ((uint64_t)PAGE)

static const struct {
    uint32_t topic;
    size_t size;
    const char *name;
} single_topics[] = {
    {ZX_INFO_HANDLE_BASIC, sizeof(zx_info_handle_basic_t), "HANDLE_BASIC"},
    {ZX_INFO_PROCESS, sizeof(zx_info_process_t), "PROCESS"},
    {ZX_INFO_VMAR, sizeof(zx_info_vmar_t), "VMAR"},
    {ZX_INFO_VMO, sizeof(zx_info_vmo_t), "VMO"},
    {ZX_INFO_KMEM_STATS, sizeof(zx_info_kmem_stats_t), "KMEM_STATS"},
};

// A handle each single-record topic accepts.
static zx_handle_t handle_for(uint32_t topic, zx_handle_t vmo) {
    switch (topic) {
    case ZX_INFO_PROCESS:
        return zx_process_self();
    case ZX_INFO_VMAR:
        return zx_vmar_root_self();
    case ZX_INFO_KMEM_STATS:
        return zx_job_default();
    default:
        return vmo;
    }
}

static size_t get_maps(zx_handle_t proc, zx_info_maps_t *maps, size_t max, size_t *avail) {
    size_t actual = 0;
    *avail = 0;
    zx_status_t st = zx_object_get_info(proc, ZX_INFO_PROCESS_MAPS, maps,
                                        max * sizeof(zx_info_maps_t), &actual, avail);
    if (st != ZX_OK)
        EXPECT_FAILF("ZX_INFO_PROCESS_MAPS failed: %d", st);
    return actual;
}

TEST(struct_sizes) {
    EXPECT_EQ(sizeof(zx_info_handle_basic_t), 32);
    EXPECT_EQ(sizeof(zx_info_process_t), 24);
    EXPECT_EQ(sizeof(zx_info_vmar_t), 16);
    EXPECT_EQ(sizeof(zx_info_maps_t), 96);
    EXPECT_EQ(sizeof(zx_info_vmo_t), 176);
    EXPECT_EQ(sizeof(zx_info_kmem_stats_t), 72);
    EXPECT_EQ(offsetof(zx_info_vmo_t, committed_bytes), 88);
    EXPECT_EQ(offsetof(zx_info_vmo_t, handle_rights), 96);
    EXPECT_EQ(offsetof(zx_info_vmo_t, committed_private_bytes), 128);
    EXPECT_EQ(offsetof(zx_info_vmo_t, populated_fractional_scaled_bytes), 168);
    EXPECT_EQ(offsetof(zx_info_maps_t, u), 64);
    EXPECT_EQ(offsetof(zx_info_kmem_stats_t, vmo_bytes), 40);
}

TEST(handle_valid) {
    zx_handle_t vmo = ut_vmo(P, -1);
    EXPECT_OK(zx_object_get_info(vmo, ZX_INFO_HANDLE_VALID, NULL, 0, NULL, NULL));
    zx_handle_t none = ut_dup(vmo, 0);
    EXPECT_OK(zx_object_get_info(none, ZX_INFO_HANDLE_VALID, NULL, 0, NULL, NULL));
    zx_handle_close(none);
    EXPECT_STATUS(zx_object_get_info(ZX_HANDLE_INVALID, ZX_INFO_HANDLE_VALID, NULL, 0, NULL, NULL),
                  ZX_ERR_BAD_HANDLE);
    EXPECT_STATUS(zx_object_get_info(ut_stale_handle, ZX_INFO_HANDLE_VALID, NULL, 0, NULL, NULL),
                  ZX_ERR_BAD_HANDLE);
    EXPECT_STATUS(zx_object_get_info(UT_FORGED_HANDLE, ZX_INFO_HANDLE_VALID, NULL, 0, NULL, NULL),
                  ZX_ERR_BAD_HANDLE);
    zx_handle_close(vmo);
    EXPECT_STATUS(zx_object_get_info(vmo, ZX_INFO_HANDLE_VALID, NULL, 0, NULL, NULL),
                  ZX_ERR_BAD_HANDLE);
}

TEST(handle_basic_every_type) {
    zx_handle_t vmo = ut_vmo(P, -1), a, b;
    REQUIRE_OK(zx_channel_create(0, &a, &b));
    const struct {
        zx_handle_t h;
        zx_obj_type_t type;
        zx_koid_t related;
    } cases[] = {
        {vmo, ZX_OBJ_TYPE_VMO, 0},
        {zx_vmar_root_self(), ZX_OBJ_TYPE_VMAR, 0},
        {zx_process_self(), ZX_OBJ_TYPE_PROCESS, ut_koid(zx_job_default())},
        {zx_thread_self(), ZX_OBJ_TYPE_THREAD, ut_koid(zx_process_self())},
        {zx_job_default(), ZX_OBJ_TYPE_JOB, (zx_koid_t)-1},
        {a, ZX_OBJ_TYPE_CHANNEL, ut_koid(b)},
    };
    zx_koid_t koids[6];
    for (size_t i = 0; i < 6; i++) {
        zx_info_handle_basic_t info;
        memset(&info, 0xa5, sizeof(info));
        size_t actual = 9, avail = 9;
        EXPECT_OK(zx_object_get_info(cases[i].h, ZX_INFO_HANDLE_BASIC, &info, sizeof(info),
                                     &actual, &avail));
        EXPECT_EQ(actual, 1);
        EXPECT_EQ(avail, 1);
        if (!EXPECT_EQ(info.type, cases[i].type))
            printf("      (case %zu)\n", i);
        EXPECT_GE(info.koid, 1024);
        if (cases[i].related != (zx_koid_t)-1)
            EXPECT_EQ(info.related_koid, cases[i].related);
        EXPECT_EQ(info.reserved, 0);
        EXPECT_EQ(info.rights, ut_rights(cases[i].h));
        koids[i] = info.koid;
        for (size_t j = 0; j < i; j++)
            EXPECT_NE(koids[j], koids[i]);
    }
    // The rights are the handle's, not the object's.
    zx_handle_t r = ut_dup(vmo, ZX_RIGHT_READ);
    zx_info_handle_basic_t info;
    EXPECT_OK(zx_object_get_info(r, ZX_INFO_HANDLE_BASIC, &info, sizeof(info), NULL, NULL));
    EXPECT_EQ(info.rights, ZX_RIGHT_READ);
    zx_handle_close(r);
    // No right is needed.
    zx_handle_t none = ut_dup(vmo, 0);
    EXPECT_OK(zx_object_get_info(none, ZX_INFO_HANDLE_BASIC, &info, sizeof(info), NULL, NULL));
    EXPECT_EQ(info.koid, koids[0]);
    zx_handle_close(none);
    zx_handle_close(a);
    zx_handle_close(b);
    zx_handle_close(vmo);
}

TEST(single_record_buffer_too_small) {
    zx_handle_t vmo = ut_vmo(P, -1);
    for (size_t i = 0; i < sizeof(single_topics) / sizeof(single_topics[0]); i++) {
        zx_handle_t h = handle_for(single_topics[i].topic, vmo);
        size_t actual = 9, avail = 9;
        if (!EXPECT_STATUS(zx_object_get_info(h, single_topics[i].topic, ut_scratch,
                                              single_topics[i].size - 1, &actual, &avail),
                           ZX_ERR_BUFFER_TOO_SMALL))
            printf("      (topic %s)\n", single_topics[i].name);
        EXPECT_EQ(actual, 0);
        EXPECT_EQ(avail, 1);
        avail = 9;
        EXPECT_STATUS(zx_object_get_info(h, single_topics[i].topic, NULL, 0, NULL, &avail),
                      ZX_ERR_BUFFER_TOO_SMALL);
        EXPECT_EQ(avail, 1);
        EXPECT_STATUS(zx_object_get_info(h, single_topics[i].topic, NULL, 0, NULL, NULL),
                      ZX_ERR_BUFFER_TOO_SMALL);
        // A bigger buffer is fine.
        actual = avail = 9;
        if (!EXPECT_OK(zx_object_get_info(h, single_topics[i].topic, ut_scratch,
                                          single_topics[i].size + 64, &actual, &avail)))
            printf("      (topic %s)\n", single_topics[i].name);
        EXPECT_EQ(actual, 1);
        EXPECT_EQ(avail, 1);
    }
    zx_handle_close(vmo);
}

// Compression counters: consistent with each other (the kernel may or may not have compressed
// anything by now), a job handle only, the exact record size.
TEST(kmem_stats_compression) {
    zx_info_kmem_stats_compression_t c;
    size_t actual = 0, avail = 0;
    EXPECT_OK(zx_object_get_info(zx_job_default(), ZX_INFO_KMEM_STATS_COMPRESSION, &c, sizeof(c),
                                 &actual, &avail));
    EXPECT_EQ(actual, 1);
    EXPECT_EQ(avail, 1);
    EXPECT_TRUE(c.failed_page_compression_attempts <= c.total_page_compression_attempts);
    EXPECT_EQ(c.uncompressed_storage_bytes % 4096, 0);
    EXPECT_EQ(c.compressed_storage_bytes % 4096, 0);
    EXPECT_EQ(c.uncompressed_storage_bytes == 0, c.compressed_storage_bytes == 0);
    EXPECT_TRUE(c.compressed_fragmentation_bytes <= c.compressed_storage_bytes);
    EXPECT_TRUE(c.compression_time >= 0 && c.decompression_time >= 0);
    uint64_t in_histogram = 0;
    for (int i = 0; i < 8; i++)
        in_histogram += c.pages_decompressed_within_log_time[i];
    EXPECT_EQ(in_histogram, c.total_page_decompressions);
    EXPECT_STATUS(zx_object_get_info(zx_job_default(), ZX_INFO_KMEM_STATS_COMPRESSION, &c,
                                     sizeof(c) - 1, NULL, NULL),
                  ZX_ERR_BUFFER_TOO_SMALL);
    EXPECT_STATUS(zx_object_get_info(zx_process_self(), ZX_INFO_KMEM_STATS_COMPRESSION, &c,
                                     sizeof(c), NULL, NULL),
                  ZX_ERR_WRONG_TYPE);
}

TEST(unknown_topics) {
    zx_handle_t vmo = ut_vmo(P, -1);
    static const uint32_t topics[] = {0, 3, 5, 6, 12, 0x12345, 0x10000017, 0xffffffffu};
    for (size_t i = 0; i < sizeof(topics) / sizeof(topics[0]); i++) {
        if (!EXPECT_STATUS(zx_object_get_info(vmo, topics[i], ut_scratch, 256, NULL, NULL),
                           ZX_ERR_NOT_SUPPORTED))
            printf("      (topic %#x)\n", topics[i]);
    }
    zx_handle_close(vmo);
}

TEST(wrong_types) {
    zx_handle_t vmo = ut_vmo(P, -1);
    const struct {
        uint32_t topic;
        zx_handle_t h;
    } cases[] = {
        {ZX_INFO_VMO, ut_channel},           {ZX_INFO_VMO, zx_vmar_root_self()},
        {ZX_INFO_PROCESS, vmo},              {ZX_INFO_PROCESS, zx_thread_self()},
        {ZX_INFO_VMAR, vmo},                 {ZX_INFO_VMAR, zx_process_self()},
        {ZX_INFO_KMEM_STATS, vmo},           {ZX_INFO_KMEM_STATS, zx_process_self()},
        {ZX_INFO_PROCESS_MAPS, vmo},         {ZX_INFO_PROCESS_MAPS, zx_vmar_root_self()},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        if (!EXPECT_STATUS(zx_object_get_info(cases[i].h, cases[i].topic, ut_scratch, 1024, NULL,
                                              NULL),
                           ZX_ERR_WRONG_TYPE))
            printf("      (case %zu)\n", i);
    }
    zx_handle_close(vmo);
}

TEST(rights) {
    zx_handle_t vmar = ut_dup(zx_vmar_root_self(), 0x801f & ~ZX_RIGHT_INSPECT);
    EXPECT_STATUS(zx_object_get_info(vmar, ZX_INFO_VMAR, ut_scratch, 16, NULL, NULL),
                  ZX_ERR_ACCESS_DENIED);
    zx_handle_close(vmar);
    zx_handle_t proc = ut_dup(zx_process_self(), ZX_DEFAULT_PROCESS_RIGHTS & ~ZX_RIGHT_INSPECT);
    EXPECT_STATUS(zx_object_get_info(proc, ZX_INFO_PROCESS, ut_scratch, 24, NULL, NULL),
                  ZX_ERR_ACCESS_DENIED);
    EXPECT_STATUS(zx_object_get_info(proc, ZX_INFO_PROCESS_MAPS, ut_scratch, 960, NULL, NULL),
                  ZX_ERR_ACCESS_DENIED);
    zx_handle_close(proc);
    zx_handle_t vmo = ut_vmo(P, -1);
    zx_handle_t v = ut_dup(vmo, ZX_DEFAULT_VMO_RIGHTS & ~ZX_RIGHT_INSPECT);
    EXPECT_STATUS(zx_object_get_info(v, ZX_INFO_VMO, ut_scratch, 176, NULL, NULL),
                  ZX_ERR_ACCESS_DENIED);
    zx_handle_close(v);
    zx_handle_close(vmo);
}

TEST(pointers) {
    zx_handle_t vmo = ut_vmo(P, -1);
    EXPECT_PTR_ERRORS(zx_object_get_info(vmo, ZX_INFO_HANDLE_BASIC, (void *)bad, 32, NULL, NULL),
                      ut_ro_page);
    EXPECT_PTR_ERRORS(zx_object_get_info(vmo, ZX_INFO_VMO, (void *)bad, 176, NULL, NULL),
                      ut_ro_page);
    EXPECT_PTR_ERRORS(zx_object_get_info(zx_job_default(), ZX_INFO_KMEM_STATS, (void *)bad, 72,
                                         NULL, NULL),
                      ut_ro_page);
    EXPECT_PTR_ERRORS(zx_object_get_info(zx_process_self(), ZX_INFO_PROCESS_MAPS, (void *)bad,
                                         960, NULL, NULL),
                      ut_ro_page);
    zx_info_handle_basic_t info;
    EXPECT_OPT_PTR_ERRORS(zx_object_get_info(vmo, ZX_INFO_HANDLE_BASIC, &info, sizeof(info),
                                             (size_t *)bad, NULL),
                          ut_ro_page);
    EXPECT_OPT_PTR_ERRORS(zx_object_get_info(vmo, ZX_INFO_HANDLE_BASIC, &info, sizeof(info), NULL,
                                             (size_t *)bad),
                          ut_ro_page);
    // A buffer running off the end of the user range.
    EXPECT_STATUS(zx_object_get_info(vmo, ZX_INFO_HANDLE_BASIC, (void *)(ROOT_END - 16), 32, NULL,
                                     NULL),
                  ZX_ERR_INVALID_ARGS);
    zx_handle_close(vmo);
}

TEST(process_self) {
    zx_info_process_t info;
    memset(&info, 0xa5, sizeof(info));
    EXPECT_OK(zx_object_get_info(zx_process_self(), ZX_INFO_PROCESS, &info, sizeof(info), NULL,
                                 NULL));
    EXPECT_EQ(info.flags, ZX_INFO_PROCESS_FLAG_STARTED);
    EXPECT_EQ(info.return_code, 0);
    EXPECT_GT(info.start_time, 0);
    EXPECT_LE(info.start_time, zx_clock_get_monotonic());
}

TEST(vmar_info) {
    zx_info_vmar_t info;
    EXPECT_OK(zx_object_get_info(zx_vmar_root_self(), ZX_INFO_VMAR, &info, sizeof(info), NULL,
                                 NULL));
    EXPECT_EQ(info.base, ROOT_BASE);
    EXPECT_EQ(info.len, ROOT_END - ROOT_BASE);
    zx_handle_t v;
    zx_vaddr_t a;
    REQUIRE_OK(zx_vmar_allocate(zx_vmar_root_self(), ZX_VM_CAN_MAP_READ, 0, 8 * P, &v, &a));
    EXPECT_OK(zx_object_get_info(v, ZX_INFO_VMAR, &info, sizeof(info), NULL, NULL));
    EXPECT_EQ(info.base, a);
    EXPECT_EQ(info.len, 8 * P);
    EXPECT_OK(zx_vmar_destroy(v));
    EXPECT_STATUS2(zx_object_get_info(v, ZX_INFO_VMAR, &info, sizeof(info), NULL, NULL),
                   ZX_ERR_BAD_STATE, ZX_OK);
    zx_handle_close(v);
}

TEST(process_maps_of_self) {
    zx_info_maps_t *maps = (zx_info_maps_t *)ut_scratch;
    size_t max = UT_SCRATCH_SIZE / sizeof(zx_info_maps_t), avail;
    size_t n = get_maps(zx_process_self(), maps, max, &avail);
    REQUIRE_TRUE(n >= 3);
    EXPECT_EQ(n, avail);
    EXPECT_EQ(maps[0].type, ZX_INFO_MAPS_TYPE_ASPACE);
    EXPECT_EQ(maps[0].depth, 0);
    EXPECT_EQ(maps[1].type, ZX_INFO_MAPS_TYPE_VMAR);
    EXPECT_EQ(maps[1].depth, 1);
    EXPECT_EQ(maps[1].base, ROOT_BASE);
    EXPECT_EQ(maps[1].size, ROOT_END - ROOT_BASE);
    EXPECT_LE(maps[0].base, ROOT_BASE);
    EXPECT_GE(maps[0].base + maps[0].size, ROOT_END);
    // Depth-first pre-order: depth grows by at most one; siblings in address order, each inside
    // its parent.
    uintptr_t last_end[16] = {0};
    uintptr_t parent_end[16] = {0};
    parent_end[1] = ROOT_END;
    bool found_code = false;
    for (size_t i = 2; i < n; i++) {
        size_t d = maps[i].depth;
        if (!EXPECT_TRUE(d >= 2 && d <= maps[i - 1].depth + 1 && d < 16)) {
            printf("      (record %zu)\n", i);
            break;
        }
        if (d > maps[i - 1].depth)
            last_end[d] = 0;
        EXPECT_GE(maps[i].base, last_end[d]);
        EXPECT_LE(maps[i].base + maps[i].size, parent_end[d - 1]);
        EXPECT_EQ(maps[i].base % P, 0);
        EXPECT_EQ(maps[i].size % P, 0);
        last_end[d] = maps[i].base + maps[i].size;
        parent_end[d] = maps[i].base + maps[i].size;
        EXPECT_TRUE(maps[i].type == ZX_INFO_MAPS_TYPE_VMAR ||
                    maps[i].type == ZX_INFO_MAPS_TYPE_MAPPING);
        if (maps[i].type == ZX_INFO_MAPS_TYPE_MAPPING && maps[i].base <= (uintptr_t)&ut_koid &&
            (uintptr_t)&ut_koid < maps[i].base + maps[i].size) {
            found_code = true;
            EXPECT_EQ(maps[i].u.mapping.mmu_flags, ZX_VM_PERM_READ | ZX_VM_PERM_EXECUTE);
            EXPECT_NE(maps[i].u.mapping.vmo_koid, 0);
        }
    }
    EXPECT_TRUE(found_code);
    // A small buffer: OK, fewer records, the same total.
    size_t avail2;
    size_t n2 = get_maps(zx_process_self(), maps, 2, &avail2);
    EXPECT_EQ(n2, 2);
    EXPECT_EQ(avail2, avail);
    size_t actual = 9;
    EXPECT_OK(zx_object_get_info(zx_process_self(), ZX_INFO_PROCESS_MAPS, NULL, 0, &actual,
                                 &avail2));
    EXPECT_EQ(actual, 0);
    EXPECT_EQ(avail2, avail);
}

TEST(process_maps_shows_vmars_and_mappings) {
    zx_handle_t v, vmo = ut_vmo(4 * P, -1);
    zx_vaddr_t base, m;
    REQUIRE_OK(zx_vmar_allocate(zx_vmar_root_self(),
                                ZX_VM_CAN_MAP_READ | ZX_VM_CAN_MAP_WRITE | ZX_VM_CAN_MAP_SPECIFIC,
                                0, 16 * P, &v, &base));
    static const char name[] = "maps-test-vmo";
    EXPECT_OK(zx_object_set_property(vmo, ZX_PROP_NAME, name, sizeof(name) - 1));
    EXPECT_OK(zx_vmar_map(v, ZX_VM_PERM_READ | ZX_VM_PERM_WRITE | ZX_VM_SPECIFIC, 4 * P, vmo, P,
                          3 * P, &m));
    ((volatile uint8_t *)m)[0] = 1;
    ((volatile uint8_t *)m)[P] = 1;
    zx_info_maps_t *maps = (zx_info_maps_t *)ut_scratch;
    size_t avail;
    size_t n = get_maps(zx_process_self(), maps, UT_SCRATCH_SIZE / sizeof(zx_info_maps_t), &avail);
    bool found = false;
    for (size_t i = 0; i + 1 < n; i++) {
        if (maps[i].type != ZX_INFO_MAPS_TYPE_VMAR || maps[i].base != base)
            continue;
        found = true;
        EXPECT_EQ(maps[i].size, 16 * P);
        EXPECT_EQ(maps[i].depth, 2);
        const zx_info_maps_t *mm = &maps[i + 1];
        EXPECT_EQ(mm->type, ZX_INFO_MAPS_TYPE_MAPPING);
        EXPECT_EQ(mm->depth, 3);
        EXPECT_EQ(mm->base, m);
        EXPECT_EQ(mm->size, 3 * P);
        EXPECT_EQ(mm->u.mapping.mmu_flags, ZX_VM_PERM_READ | ZX_VM_PERM_WRITE);
        EXPECT_EQ(mm->u.mapping.vmo_koid, ut_koid(vmo));
        EXPECT_EQ(mm->u.mapping.vmo_offset, P);
        EXPECT_EQ(mm->u.mapping.committed_pages, 2);
        EXPECT_EQ(strncmp(mm->name, name, ZX_MAX_NAME_LEN), 0);
    }
    EXPECT_TRUE(found);
    EXPECT_OK(zx_vmar_destroy(v));
    zx_handle_close(v);
    zx_handle_close(vmo);
}

TEST(process_maps_of_other_process) {
    zx_handle_t proc, vmar;
    REQUIRE_OK(zx_process_create(zx_job_default(), "maps", 4, 0, &proc, &vmar));
    zx_info_maps_t maps[4];
    size_t avail;
    size_t n = get_maps(proc, maps, 4, &avail);
    EXPECT_EQ(n, 2);
    EXPECT_EQ(avail, 2);
    EXPECT_EQ(maps[0].type, ZX_INFO_MAPS_TYPE_ASPACE);
    EXPECT_EQ(maps[1].type, ZX_INFO_MAPS_TYPE_VMAR);
    zx_handle_t vmo = ut_vmo(P, -1);
    zx_vaddr_t a;
    EXPECT_OK(zx_vmar_map(vmar, ZX_VM_PERM_READ, 0, vmo, 0, P, &a));
    n = get_maps(proc, maps, 4, &avail);
    EXPECT_EQ(n, 3);
    EXPECT_EQ(maps[2].type, ZX_INFO_MAPS_TYPE_MAPPING);
    EXPECT_EQ(maps[2].base, a);
    EXPECT_EQ(maps[2].depth, 2);
    zx_handle_close(vmo);
    zx_handle_close(vmar);
    zx_handle_close(proc);
}

TEST(process_maps_of_dead_process) {
    struct ut_code c;
    memset(&c, 0, sizeof(c));
    ut_emit_exit(&c);
    struct ut_proc p;
    REQUIRE_OK(ut_proc_create(&p, "dead", &c));
    EXPECT_OK(ut_proc_start(&p, ZX_HANDLE_INVALID, 0));
    EXPECT_EQ(ut_wait_process(p.proc, 10), 0);
    zx_info_maps_t maps[4];
    size_t actual = 9, avail = 9;
    EXPECT_STATUS(zx_object_get_info(p.proc, ZX_INFO_PROCESS_MAPS, maps, sizeof(maps), &actual,
                                     &avail),
                  ZX_ERR_BAD_STATE);
    // ZX_INFO_PROCESS still answers.
    zx_info_process_t pi;
    EXPECT_OK(zx_object_get_info(p.proc, ZX_INFO_PROCESS, &pi, sizeof(pi), NULL, NULL));
    EXPECT_EQ(pi.flags, ZX_INFO_PROCESS_FLAG_STARTED | ZX_INFO_PROCESS_FLAG_EXITED);
    ut_proc_close(&p);
}

TEST(vmo_info_fields) {
    zx_handle_t vmo;
    REQUIRE_OK(zx_vmo_create(3 * P + 5, ZX_VMO_RESIZABLE, &vmo));
    static const char name[] = "info-vmo";
    EXPECT_OK(zx_object_set_property(vmo, ZX_PROP_NAME, name, sizeof(name)));
    ut_vmo_set_byte(vmo, 0, 1);
    ut_vmo_set_byte(vmo, 2 * P, 1);
    uintptr_t a = ut_map(vmo, 0, P, ZX_VM_PERM_READ);
    uintptr_t b = ut_map(vmo, P, P, ZX_VM_PERM_READ);
    zx_handle_t r = ut_dup(vmo, ZX_RIGHT_READ | ZX_RIGHT_INSPECT);
    zx_info_vmo_t info;
    memset(&info, 0xa5, sizeof(info));
    size_t actual = 0, avail = 0;
    EXPECT_OK(zx_object_get_info(r, ZX_INFO_VMO, &info, sizeof(info), &actual, &avail));
    EXPECT_EQ(actual, 1);
    EXPECT_EQ(avail, 1);
    EXPECT_EQ(info.koid, ut_koid(vmo));
    EXPECT_EQ(strcmp(info.name, name), 0);
    EXPECT_EQ(info.size_bytes, 4 * P);
    EXPECT_EQ(info.parent_koid, 0);
    EXPECT_EQ(info.num_children, 0);
    EXPECT_EQ(info.num_mappings, 2);
    EXPECT_EQ(info.flags, ZX_INFO_VMO_TYPE_PAGED | ZX_INFO_VMO_RESIZABLE | ZX_INFO_VMO_VIA_HANDLE);
    EXPECT_EQ(info.committed_bytes, 2 * P);
    EXPECT_EQ(info.populated_bytes, 2 * P);
    EXPECT_EQ(info.committed_private_bytes, 2 * P);
    EXPECT_EQ(info.committed_scaled_bytes, 2 * P);
    EXPECT_EQ(info.committed_fractional_scaled_bytes, 0);
    EXPECT_EQ(info.handle_rights, ZX_RIGHT_READ | ZX_RIGHT_INSPECT);
    EXPECT_EQ(info.cache_policy, ZX_CACHE_POLICY_CACHED);
    ut_unmap(a, P);
    ut_unmap(b, P);
    EXPECT_EQ(ut_vmo_info(vmo).num_mappings, 0);
    zx_handle_close(r);
    zx_handle_close(vmo);
}

TEST(kmem_stats) {
    zx_info_kmem_stats_t k;
    memset(&k, 0, sizeof(k));
    EXPECT_OK(zx_object_get_info(zx_job_default(), ZX_INFO_KMEM_STATS, &k, sizeof(k), NULL, NULL));
    EXPECT_GT(k.total_bytes, 16u << 20);
    EXPECT_GT(k.free_bytes, 0);
    EXPECT_LE(k.free_bytes, k.total_bytes);
    EXPECT_LE(k.vmo_bytes, k.total_bytes);
    EXPECT_GT(k.vmo_bytes, 0);  // this program's own pages
    EXPECT_EQ(k.total_bytes % P, 0);
    EXPECT_EQ(k.vmo_bytes % P, 0);
    // vmo_bytes follows commits and frees exactly; free_bytes goes the other way.
    zx_handle_t vmo;
    REQUIRE_OK(zx_vmo_create(64 * P, 0, &vmo));
    EXPECT_OK(zx_vmo_op_range(vmo, ZX_VMO_OP_COMMIT, 0, 64 * P, NULL, 0));
    zx_info_kmem_stats_t k2;
    EXPECT_OK(zx_object_get_info(zx_job_default(), ZX_INFO_KMEM_STATS, &k2, sizeof(k2), NULL,
                                 NULL));
    EXPECT_EQ(k2.vmo_bytes, k.vmo_bytes + 64 * P);
    EXPECT_LE(k2.free_bytes, k.free_bytes - 64 * P);
    zx_handle_close(vmo);
    EXPECT_EQ(ut_vmo_bytes(), k.vmo_bytes);
}

// ---- The name property ----

TEST(name_property) {
    zx_handle_t vmo = ut_vmo(P, -1);
    char name[ZX_MAX_NAME_LEN];
    memset(name, 0x7f, sizeof(name));
    EXPECT_OK(zx_object_get_property(vmo, ZX_PROP_NAME, name, sizeof(name)));
    EXPECT_EQ(name[0], 0);
    EXPECT_OK(zx_object_set_property(vmo, ZX_PROP_NAME, "hello", 5));
    EXPECT_OK(zx_object_get_property(vmo, ZX_PROP_NAME, name, sizeof(name)));
    EXPECT_EQ(strcmp(name, "hello"), 0);
    EXPECT_EQ(strcmp(ut_vmo_info(vmo).name, "hello"), 0);
    // Too long: truncated to 31 bytes and a NUL.
    const char *longname = "0123456789abcdef0123456789ABCDEFxyz";
    EXPECT_OK(zx_object_set_property(vmo, ZX_PROP_NAME, longname, strlen(longname)));
    memset(name, 0x7f, sizeof(name));
    EXPECT_OK(zx_object_get_property(vmo, ZX_PROP_NAME, name, sizeof(name)));
    EXPECT_EQ(name[31], 0);
    EXPECT_EQ(strncmp(name, longname, 31), 0);
    // Shorter again: no leftovers.
    EXPECT_OK(zx_object_set_property(vmo, ZX_PROP_NAME, "ab", 2));
    EXPECT_OK(zx_object_get_property(vmo, ZX_PROP_NAME, name, sizeof(name)));
    EXPECT_EQ(strcmp(name, "ab"), 0);
    EXPECT_OK(zx_object_set_property(vmo, ZX_PROP_NAME, "", 0));
    EXPECT_OK(zx_object_get_property(vmo, ZX_PROP_NAME, name, sizeof(name)));
    EXPECT_EQ(name[0], 0);
    // A buffer of fewer than 32 bytes.
    EXPECT_STATUS(zx_object_get_property(vmo, ZX_PROP_NAME, name, 31), ZX_ERR_BUFFER_TOO_SMALL);
    EXPECT_STATUS(zx_object_get_property(vmo, ZX_PROP_NAME, name, 0), ZX_ERR_BUFFER_TOO_SMALL);
    // Rights.
    zx_handle_t noget = ut_dup(vmo, ZX_DEFAULT_VMO_RIGHTS & ~ZX_RIGHT_GET_PROPERTY);
    zx_handle_t noset = ut_dup(vmo, ZX_DEFAULT_VMO_RIGHTS & ~ZX_RIGHT_SET_PROPERTY);
    EXPECT_STATUS(zx_object_get_property(noget, ZX_PROP_NAME, name, sizeof(name)),
                  ZX_ERR_ACCESS_DENIED);
    EXPECT_STATUS(zx_object_set_property(noset, ZX_PROP_NAME, "x", 1), ZX_ERR_ACCESS_DENIED);
    zx_handle_close(noget);
    zx_handle_close(noset);
    // Pointers.
    EXPECT_PTR_ERRORS(zx_object_get_property(vmo, ZX_PROP_NAME, (void *)bad, 32), ut_ro_page);
    EXPECT_PTR_ERRORS(zx_object_set_property(vmo, ZX_PROP_NAME, (const void *)bad, 4),
                      ut_noaccess_page);
    // Handles.
    EXPECT_STATUS(zx_object_get_property(ZX_HANDLE_INVALID, ZX_PROP_NAME, name, 32),
                  ZX_ERR_BAD_HANDLE);
    EXPECT_STATUS(zx_object_set_property(UT_FORGED_HANDLE, ZX_PROP_NAME, "x", 1),
                  ZX_ERR_BAD_HANDLE);
    zx_handle_close(vmo);
}

TEST(names_of_tasks) {
    char name[ZX_MAX_NAME_LEN];
    zx_handle_t t;
    REQUIRE_OK(zx_thread_create(zx_process_self(), "named-thread", 12, 0, &t));
    EXPECT_OK(zx_object_get_property(t, ZX_PROP_NAME, name, sizeof(name)));
    EXPECT_EQ(strcmp(name, "named-thread"), 0);
    EXPECT_OK(zx_object_set_property(t, ZX_PROP_NAME, "renamed", 7));
    EXPECT_OK(zx_object_get_property(t, ZX_PROP_NAME, name, sizeof(name)));
    EXPECT_EQ(strcmp(name, "renamed"), 0);
    zx_handle_close(t);
    zx_handle_t proc, vmar;
    REQUIRE_OK(zx_process_create(zx_job_default(), "named-proc", 10, 0, &proc, &vmar));
    EXPECT_OK(zx_object_set_property(proc, ZX_PROP_NAME, "other-name", 10));
    EXPECT_OK(zx_object_get_property(proc, ZX_PROP_NAME, name, sizeof(name)));
    EXPECT_EQ(strcmp(name, "other-name"), 0);
    zx_handle_close(vmar);
    zx_handle_close(proc);
    // Jobs have names too.
    zx_status_t st = zx_object_get_property(zx_job_default(), ZX_PROP_NAME, name, sizeof(name));
    SKIP_IF_KNOWN_BUG(st == ZX_ERR_WRONG_TYPE,
                      "ZX_PROP_NAME on a job returns WRONG_TYPE; Zircon's jobs have names "
                      "(object_get_property.md: ZX_PROP_NAME, most types)");
    EXPECT_OK(st);
}

TEST(unknown_properties) {
    zx_handle_t vmo = ut_vmo(P, -1);
    uint64_t v = 0;
    // Documented as NOT_SUPPORTED; Zircon's implementation says INVALID_ARGS.
    EXPECT_STATUS2(zx_object_get_property(vmo, 0x12345, &v, sizeof(v)), ZX_ERR_NOT_SUPPORTED,
                   ZX_ERR_INVALID_ARGS);
    EXPECT_STATUS2(zx_object_set_property(vmo, 0x12345, &v, sizeof(v)), ZX_ERR_NOT_SUPPORTED,
                   ZX_ERR_INVALID_ARGS);
    // A VMO property on a process.
    EXPECT_STATUS(zx_object_get_property(zx_process_self(), ZX_PROP_VMO_CONTENT_SIZE, &v,
                                         sizeof(v)),
                  ZX_ERR_WRONG_TYPE);
    EXPECT_STATUS(zx_object_set_property(zx_process_self(), ZX_PROP_VMO_CONTENT_SIZE, &v,
                                         sizeof(v)),
                  ZX_ERR_WRONG_TYPE);
    zx_handle_close(vmo);
}

UTEST_MAIN(NULL)
