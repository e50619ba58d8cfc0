// A QEMU TCG plugin (plugin API version 1, QEMU 7.x) for scripts/bench-vs-linux --smp4: inside
// windows, which open and close at the marker instructions of test/bench/smpbench_common.h (found
// by their bytes, wherever they are), counts the guest instructions every vCPU executes and how
// often the instruction at each `hit=PC` (hex; e.g. the kernel's TLB IPI handler) runs. At each
// flush marker it appends "record N windows W insns I median M hits H1 H2 ..." to `out=FILE`: the
// sums since the previous record, and the median window's instructions (robust against the odd
// window a timer interrupt or a wake-up lands in). The counters are plain adds: run QEMU with one
// TCG thread (-accel tcg,thread=single, or -icount). The plugin API: qemu_plugin_api.h;
// test/bench/prof/insnprof.c is its per-PC sibling.
#include <inttypes.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SMB_MARKERS_ONLY
#include "smpbench_common.h"

#include "qemu_plugin_api.h"

__attribute__((visibility("default"))) int qemu_plugin_version = 1;

#define MAX_HITS 8
static uint64_t hit_pc[MAX_HITS], hits[MAX_HITS], base[MAX_HITS], acc[MAX_HITS];
static size_t nhits;
static uint64_t insns, insns_base, insns_acc;  // every vCPU's instructions
static uint64_t windows, records;
static uint64_t *win_insns;  // each window's instructions since the last record
static size_t win_cap;
static bool open_;
static FILE *out;

static void on_begin(unsigned int vcpu, void *ud) {
    (void)vcpu, (void)ud;
    if (open_)
        return;
    memcpy(base, hits, sizeof(base));
    insns_base = insns;
    open_ = true;
}

static void on_end(unsigned int vcpu, void *ud) {
    (void)vcpu, (void)ud;
    if (!open_)
        return;
    open_ = false;
    if (windows == win_cap) {
        win_cap = win_cap ? 2 * win_cap : 1024;
        win_insns = realloc(win_insns, win_cap * sizeof(*win_insns));
    }
    win_insns[windows++] = insns - insns_base;
    insns_acc += insns - insns_base;
    for (size_t i = 0; i < nhits; i++)
        acc[i] += hits[i] - base[i];
}

static int cmp_u64(const void *a, const void *b) {
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static void on_flush(unsigned int vcpu, void *ud) {
    (void)vcpu, (void)ud;
    qsort(win_insns, windows, sizeof(*win_insns), cmp_u64);
    fprintf(out, "record %" PRIu64 " windows %" PRIu64 " insns %" PRIu64 " median %" PRIu64 " hits",
            records++, windows, insns_acc, windows ? win_insns[windows / 2] : 0);
    for (size_t i = 0; i < nhits; i++)
        fprintf(out, " %" PRIu64, acc[i]);
    fputc('\n', out);
    fflush(out);
    windows = 0;
    insns_acc = 0;
    memset(acc, 0, sizeof(acc));
}

// The marker kind of `insn` (movabs $SMB_*, %rax: 48 b8 imm64), or 0.
static uint64_t marker(const struct qemu_plugin_insn *insn) {
    if (qemu_plugin_insn_size(insn) != 10)
        return 0;
    const uint8_t *b = qemu_plugin_insn_data(insn);
    if (b[0] != 0x48 || b[1] != 0xb8)
        return 0;
    uint64_t imm;
    memcpy(&imm, b + 2, sizeof(imm));
    return imm == SMB_BEGIN || imm == SMB_END || imm == SMB_FLUSH ? imm : 0;
}

static void trans(qemu_plugin_id_t id, struct qemu_plugin_tb *tb) {
    (void)id;
    size_t n = qemu_plugin_tb_n_insns(tb);
    for (size_t i = 0; i < n; i++) {
        struct qemu_plugin_insn *insn = qemu_plugin_tb_get_insn(tb, i);
        uint64_t pc = qemu_plugin_insn_vaddr(insn);
        qemu_plugin_register_vcpu_insn_exec_inline(insn, QEMU_PLUGIN_INLINE_ADD_U64, &insns, 1);
        for (size_t h = 0; h < nhits; h++)
            if (pc == hit_pc[h])
                qemu_plugin_register_vcpu_insn_exec_inline(insn, QEMU_PLUGIN_INLINE_ADD_U64,
                                                           &hits[h], 1);
        uint64_t kind = marker(insn);
        if (kind)
            qemu_plugin_register_vcpu_insn_exec_cb(
                insn, kind == SMB_BEGIN ? on_begin : kind == SMB_END ? on_end : on_flush,
                QEMU_PLUGIN_CB_NO_REGS, NULL);
    }
}

static void at_exit(qemu_plugin_id_t id, void *ud) {
    (void)id, (void)ud;
    fclose(out);
}

__attribute__((visibility("default"))) int qemu_plugin_install(qemu_plugin_id_t id,
                                                               const qemu_info_t *info, int argc,
                                                               char **argv) {
    (void)info;
    const char *path = "ipicount.txt";
    for (int i = 0; i < argc; i++) {
        if (!strncmp(argv[i], "hit=", 4) && nhits < MAX_HITS)
            hit_pc[nhits++] = strtoull(argv[i] + 4, NULL, 16);
        else if (!strncmp(argv[i], "out=", 4))
            path = argv[i] + 4;
    }
    if (!(out = fopen(path, "w")))
        return -1;
    qemu_plugin_register_vcpu_tb_trans_cb(id, trans);
    qemu_plugin_register_atexit_cb(id, at_exit, NULL);
    return 0;
}
