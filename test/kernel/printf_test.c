// kprintf's formatter, conversion by conversion. Pure: runs at boot and on the host.
#include "kernel/ktest.h"
#include "kernel/printf.h"

#define EXPECT_FMT(want, ...)                                \
    do {                                                     \
        char buf_[128];                                      \
        size_t n_ = ksnprintf(buf_, sizeof(buf_), __VA_ARGS__); \
        EXPECT_STREQ(buf_, want);                            \
        EXPECT_EQ(n_, sizeof(want) - 1);                     \
    } while (0)

KTEST(printf, integers) {
    EXPECT_FMT("0", "%d", 0);
    EXPECT_FMT("-42", "%d", -42);
    EXPECT_FMT("-2147483648", "%d", (int)(-2147483647 - 1));
    EXPECT_FMT("4294967295", "%u", 4294967295u);
    EXPECT_FMT("18446744073709551615", "%llu", 18446744073709551615ull);
    EXPECT_FMT("-9223372036854775808", "%lld", (long long)(-9223372036854775807ll - 1));
    EXPECT_FMT("123456789012", "%zu", (size_t)123456789012ull);
    EXPECT_FMT("-5", "%i", -5);
    // An int argument printed through a narrower length modifier is truncated; the formats are
    // not literals here so the compiler's format check does not object to the deliberate mismatch.
    const char *volatile hhu = "%hhu", *volatile hhd = "%hhd", *volatile hu = "%hu";
    char buf[16];
    ksnprintf(buf, sizeof(buf), hhu, 200);
    EXPECT_STREQ(buf, "200");
    ksnprintf(buf, sizeof(buf), hhd, 200);
    EXPECT_STREQ(buf, "-56");
    ksnprintf(buf, sizeof(buf), hu, 65535 + 65536 * 3);
    EXPECT_STREQ(buf, "65535");
}

KTEST(printf, hex_and_octal) {
    EXPECT_FMT("ff", "%x", 255);
    EXPECT_FMT("FF", "%X", 255);
    EXPECT_FMT("0xff", "%#x", 255);
    EXPECT_FMT("0", "%#x", 0);
    EXPECT_FMT("deadbeefcafe", "%lx", 0xdeadbeefcafeul);
    EXPECT_FMT("ffffffffffffffff", "%llx", ~0ull);
    EXPECT_FMT("17", "%o", 15);
    EXPECT_FMT("017", "%#o", 15);
}

KTEST(printf, width_and_padding) {
    EXPECT_FMT("   42", "%5d", 42);
    EXPECT_FMT("42   |", "%-5d|", 42);
    EXPECT_FMT("00042", "%05d", 42);
    EXPECT_FMT("-0042", "%05d", -42);
    EXPECT_FMT("0x00ff", "%#06x", 255);
    EXPECT_FMT("  abc", "%5s", "abc");
    EXPECT_FMT("abc  |", "%-5s|", "abc");
    EXPECT_FMT("ab", "%.2s", "abcdef");
    EXPECT_FMT("   ab", "%*.*s", 5, 2, "abcdef");
    EXPECT_FMT("00042", "%.5d", 42);
    EXPECT_FMT("", "%.0d", 0);
    EXPECT_FMT("+7", "%+d", 7);
    EXPECT_FMT(" 7", "% d", 7);
    EXPECT_FMT("12345", "%3d", 12345);
}

KTEST(printf, pointers_chars_strings) {
    EXPECT_FMT("0x1000", "%p", (void *)0x1000);
    EXPECT_FMT("0xffff800000000000", "%p", (void *)0xffff800000000000ull);
    EXPECT_FMT("x", "%c", 'x');
    EXPECT_FMT("  x", "%3c", 'x');
    const char *volatile null_str = NULL;  // volatile: keep the compiler from judging the call
    EXPECT_FMT("(null)", "%s", null_str);
    EXPECT_FMT("100%", "100%%");
    EXPECT_FMT("a1b2c", "a%db%dc", 1, 2);
}

KTEST(printf, truncation) {
    char buf[8];
    size_t n = ksnprintf(buf, sizeof(buf), "%s", "0123456789");
    EXPECT_EQ(n, 10);
    EXPECT_STREQ(buf, "0123456");
    n = ksnprintf(buf, 1, "%d", 12345);
    EXPECT_EQ(n, 5);
    EXPECT_EQ(buf[0], '\0');
    buf[0] = 'z';
    n = ksnprintf(buf, 0, "%d", 12345);
    EXPECT_EQ(n, 5);
    EXPECT_EQ(buf[0], 'z');  // size 0 writes nothing
}
