// A QEMU TCG plugin (plugin API version 1, QEMU 7.x) for test/bench/prof/run: counts the guest
// instructions executed at each PC inside windows that open when the instruction at `begin=PC`
// executes and close at `end=PC` (the first `skip=N` windows are ignored). At exit it writes
// "windows N" and then "PC COUNT" (hex, decimal) for every PC counted to `out=FILE`.
#include <inttypes.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../qemu_plugin_api.h"

__attribute__((visibility("default"))) int qemu_plugin_version = 1;

#define NBUCKET (1u << 20)
struct ent {
    uint64_t pc, count, base, acc;
    struct ent *next;
};
static struct ent *table[NBUCKET];
static struct ent **all;
static size_t nall, capall;
static uint64_t begin_pc, end_pc, windows, skip;
static bool open_;
static const char *out = "insnprof.txt";

static struct ent *get(uint64_t pc) {
    size_t h = (size_t)((pc * 0x9e3779b97f4a7c15ull) >> 44) & (NBUCKET - 1);
    for (struct ent *e = table[h]; e; e = e->next)
        if (e->pc == pc)
            return e;
    struct ent *e = calloc(1, sizeof(*e));
    e->pc = pc;
    e->next = table[h];
    table[h] = e;
    if (nall == capall) {
        capall = capall ? 2 * capall : 4096;
        all = realloc(all, capall * sizeof(*all));
    }
    all[nall++] = e;
    return e;
}

static void on_begin(unsigned int vcpu, void *ud) {
    (void)vcpu; (void)ud;
    if (open_) return;
    for (size_t i = 0; i < nall; i++) all[i]->base = all[i]->count;
    open_ = true;
}

static void on_end(unsigned int vcpu, void *ud) {
    (void)vcpu; (void)ud;
    if (!open_) return;
    open_ = false;
    if (windows++ < skip) return;
    for (size_t i = 0; i < nall; i++) all[i]->acc += all[i]->count - all[i]->base;
}

static void trans(qemu_plugin_id_t id, struct qemu_plugin_tb *tb) {
    (void)id;
    size_t n = qemu_plugin_tb_n_insns(tb);
    for (size_t i = 0; i < n; i++) {
        struct qemu_plugin_insn *insn = qemu_plugin_tb_get_insn(tb, i);
        uint64_t pc = qemu_plugin_insn_vaddr(insn);
        struct ent *e = get(pc);
        // An entry created inside an open window starts at count 0 = base 0.
        if (pc == begin_pc)
            qemu_plugin_register_vcpu_insn_exec_cb(insn, on_begin, QEMU_PLUGIN_CB_NO_REGS, NULL);
        if (pc == end_pc)
            qemu_plugin_register_vcpu_insn_exec_cb(insn, on_end, QEMU_PLUGIN_CB_NO_REGS, NULL);
        qemu_plugin_register_vcpu_insn_exec_inline(insn, QEMU_PLUGIN_INLINE_ADD_U64, &e->count, 1);
    }
}

static void at_exit(qemu_plugin_id_t id, void *ud) {
    (void)id; (void)ud;
    FILE *f = fopen(out, "w");
    if (!f) return;
    fprintf(f, "windows %" PRIu64 "\n", windows);
    for (size_t i = 0; i < nall; i++)
        if (all[i]->acc)
            fprintf(f, "%" PRIx64 " %" PRIu64 "\n", all[i]->pc, all[i]->acc);
    fclose(f);
}

__attribute__((visibility("default"))) int qemu_plugin_install(qemu_plugin_id_t id,
                                                               const qemu_info_t *info, int argc,
                                                               char **argv) {
    (void)info;
    for (int i = 0; i < argc; i++) {
        if (!strncmp(argv[i], "begin=", 6)) begin_pc = strtoull(argv[i] + 6, NULL, 16);
        else if (!strncmp(argv[i], "end=", 4)) end_pc = strtoull(argv[i] + 4, NULL, 16);
        else if (!strncmp(argv[i], "out=", 4)) out = argv[i] + 4;
        else if (!strncmp(argv[i], "skip=", 5)) skip = strtoull(argv[i] + 5, NULL, 10);
    }
    qemu_plugin_register_vcpu_tb_trans_cb(id, trans);
    qemu_plugin_register_atexit_cb(id, at_exit, NULL);
    return 0;
}
