// Command-line parsing. Pure: runs at boot and on the host.
#include "kernel/cmdline.h"
#include "kernel/ktest.h"
#include "kernel/string.h"

KTEST(cmdline, keys_values_and_flags) {
    struct cmdline cl;
    cmdline_parse("  ktest=pmm,heap  shell aslr=0 mem=0x2000\tverbose ", &cl);
    EXPECT_EQ(cl.count, 5);
    EXPECT_STREQ(cmdline_get(&cl, "ktest"), "pmm,heap");
    EXPECT_STREQ(cmdline_get(&cl, "shell"), "");
    EXPECT_STREQ(cmdline_get(&cl, "verbose"), "");
    EXPECT_TRUE(cmdline_get(&cl, "nothere") == NULL);
    EXPECT_EQ(cmdline_get_u64(&cl, "mem", 7), 0x2000);
    EXPECT_EQ(cmdline_get_u64(&cl, "aslr", 7), 0);
    EXPECT_EQ(cmdline_get_u64(&cl, "ktest", 7), 7);  // not a number
    EXPECT_TRUE(cmdline_get_bool(&cl, "shell"));
    EXPECT_FALSE(cmdline_get_bool(&cl, "aslr"));
    EXPECT_FALSE(cmdline_get_bool(&cl, "nothere"));
    EXPECT_FALSE(cl.truncated);
}

KTEST(cmdline, flag_at_the_end_is_empty) {
    struct cmdline cl;
    cmdline_parse("a=1 ktest", &cl);
    EXPECT_STREQ(cmdline_get(&cl, "ktest"), "");
    cmdline_parse("ktest", &cl);
    EXPECT_STREQ(cmdline_get(&cl, "ktest"), "");
    cmdline_parse("k=", &cl);
    EXPECT_STREQ(cmdline_get(&cl, "k"), "");
}

KTEST(cmdline, empty_and_null) {
    struct cmdline cl;
    cmdline_parse(NULL, &cl);
    EXPECT_EQ(cl.count, 0);
    cmdline_parse("", &cl);
    EXPECT_EQ(cl.count, 0);
    cmdline_parse("   ", &cl);
    EXPECT_EQ(cl.count, 0);
}

KTEST(cmdline, later_duplicate_wins_and_equals_in_value) {
    struct cmdline cl;
    cmdline_parse("a=1 b=x=y a=2", &cl);
    EXPECT_EQ(cl.count, 2);
    EXPECT_STREQ(cmdline_get(&cl, "a"), "2");
    EXPECT_STREQ(cmdline_get(&cl, "b"), "x=y");
}

KTEST(cmdline, overflowing_numbers_fall_back) {
    struct cmdline cl;
    cmdline_parse("big=18446744073709551616 max=18446744073709551615 hex=0x zz=0xfg", &cl);
    EXPECT_EQ(cmdline_get_u64(&cl, "big", 3), 3);
    EXPECT_EQ(cmdline_get_u64(&cl, "max", 3), ~0ull);
    EXPECT_EQ(cmdline_get_u64(&cl, "hex", 3), 3);
    EXPECT_EQ(cmdline_get_u64(&cl, "zz", 3), 3);
}

KTEST(cmdline, too_many_args_truncates) {
    char line[CMDLINE_MAX_LEN];
    size_t n = 0;
    for (int i = 0; i < CMDLINE_MAX_ARGS + 5; i++) {
        line[n++] = (char)('a' + i % 26);
        line[n++] = (char)('a' + i / 26);
        line[n++] = ' ';
    }
    line[n] = '\0';
    struct cmdline cl;
    cmdline_parse(line, &cl);
    EXPECT_EQ(cl.count, CMDLINE_MAX_ARGS);
    EXPECT_TRUE(cl.truncated);
}
