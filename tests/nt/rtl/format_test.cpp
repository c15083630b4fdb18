// The Windows-semantics formatter behind DbgPrint and RtlString*Printf, driven directly
// with typed argument lists: a conversion that consumes an argument of the wrong width
// fails the test (std::get throws).
#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <variant>
#include <vector>

#include "nt/rtl/ddk.hpp"
#include "nt/rtl/format.hpp"

using namespace ndishost::nt::rtl;

namespace {

using Value = std::variant<std::int32_t, std::int64_t, const void*, double>;

class ListArguments final : public FormatArguments {
 public:
  explicit ListArguments(std::vector<Value> values) : values_(std::move(values)) {}
  std::int32_t nextInt32() override { return std::get<std::int32_t>(values_.at(next_++)); }
  std::int64_t nextInt64() override { return std::get<std::int64_t>(values_.at(next_++)); }
  const void* nextPointer() override { return std::get<const void*>(values_.at(next_++)); }
  double nextDouble() override { return std::get<double>(values_.at(next_++)); }
  std::size_t consumed() const { return next_; }

 private:
  std::vector<Value> values_;
  std::size_t next_ = 0;
};

Value i32(std::int32_t v) { return v; }
Value i64(std::int64_t v) { return v; }
Value ptr(const void* p) { return p; }
Value dbl(double d) { return d; }

std::string narrow(std::string_view format, std::vector<Value> values = {}) {
  ListArguments arguments(std::move(values));
  char buffer[1024];
  BoundedWriter<char> out(buffer, sizeof buffer);
  EXPECT_TRUE(formatWindows(format, arguments, out));
  return std::string(buffer, out.length());
}

std::u16string wide(std::u16string_view format, std::vector<Value> values = {}) {
  ListArguments arguments(std::move(values));
  char16_t buffer[1024];
  BoundedWriter<char16_t> out(buffer, 1024);
  EXPECT_TRUE(formatWindows(format, arguments, out));
  return std::u16string(buffer, out.length());
}

}  // namespace

TEST(Format, PlainTextAndPercent) {
  EXPECT_EQ(narrow("hello"), "hello");
  EXPECT_EQ(narrow("100%% done"), "100% done");
  EXPECT_EQ(narrow("%%d"), "%d");
}

TEST(Format, SignedDecimal) {
  EXPECT_EQ(narrow("%d", {i32(42)}), "42");
  EXPECT_EQ(narrow("%i", {i32(-42)}), "-42");
  EXPECT_EQ(narrow("%d", {i32(INT32_MIN)}), "-2147483648");
  EXPECT_EQ(narrow("%5d|", {i32(42)}), "   42|");
  EXPECT_EQ(narrow("%-5d|", {i32(42)}), "42   |");
  EXPECT_EQ(narrow("%05d", {i32(-42)}), "-0042");
  EXPECT_EQ(narrow("%+d %+d", {i32(5), i32(-5)}), "+5 -5");
  EXPECT_EQ(narrow("% d", {i32(7)}), " 7");
  EXPECT_EQ(narrow("%.3d", {i32(7)}), "007");
  EXPECT_EQ(narrow("%6.3d|", {i32(-7)}), "  -007|");
  EXPECT_EQ(narrow("%06.3d|", {i32(7)}), "   007|");  // a precision disables '0' padding
  EXPECT_EQ(narrow("[%.0d]", {i32(0)}), "[]");
}

TEST(Format, StarWidthAndPrecision) {
  EXPECT_EQ(narrow("%*d|", {i32(6), i32(42)}), "    42|");
  EXPECT_EQ(narrow("%*d|", {i32(-6), i32(42)}), "42    |");
  EXPECT_EQ(narrow("%-*d|", {i32(4), i32(1)}), "1   |");
  EXPECT_EQ(narrow("%.*d", {i32(4), i32(42)}), "0042");
  EXPECT_EQ(narrow("%.*d", {i32(-1), i32(42)}), "42");
  EXPECT_EQ(narrow("%*.*s|", {i32(5), i32(2), ptr("abcdef")}), "   ab|");
}

TEST(Format, SizePrefixesFollowWindowsWidths) {
  // 'l' is 32 bits (LONG/ULONG), not 64 as in glibc.
  EXPECT_EQ(narrow("%ld", {i32(-5)}), "-5");
  EXPECT_EQ(narrow("%lu", {i32(-1)}), "4294967295");
  EXPECT_EQ(narrow("%lx", {i32(-1)}), "ffffffff");
  EXPECT_EQ(narrow("%u", {i32(-1)}), "4294967295");
  // 'll' and 'I64' are 64 bits; 'I', 'z', 't', 'j' are pointer sized (64 bits).
  EXPECT_EQ(narrow("%llu", {i64(-1)}), "18446744073709551615");
  EXPECT_EQ(narrow("%lld", {i64(INT64_MIN)}), "-9223372036854775808");
  EXPECT_EQ(narrow("%I64d", {i64(-1234567890123LL)}), "-1234567890123");
  EXPECT_EQ(narrow("%I64X", {i64(0x1122334455667788LL)}), "1122334455667788");
  EXPECT_EQ(narrow("%Ix", {i64(0xABCDEF012345LL)}), "abcdef012345");
  EXPECT_EQ(narrow("%Iu", {i64(5)}), "5");
  EXPECT_EQ(narrow("%zu %td %jd", {i64(1), i64(-2), i64(3)}), "1 -2 3");
  EXPECT_EQ(narrow("%I32x", {i32(0x1234)}), "1234");
  // 'h' is 16 bits, 'hh' 8 bits: the promoted int is cut down.
  EXPECT_EQ(narrow("%hd", {i32(70000)}), "4464");
  EXPECT_EQ(narrow("%hd", {i32(0xFFFF)}), "-1");
  EXPECT_EQ(narrow("%hu", {i32(-1)}), "65535");
  EXPECT_EQ(narrow("%hx", {i32(0x12345)}), "2345");
  EXPECT_EQ(narrow("%hhx", {i32(0x1FF)}), "ff");
  EXPECT_EQ(narrow("%hhd", {i32(0x80)}), "-128");
}

TEST(Format, UnsignedRadixes) {
  EXPECT_EQ(narrow("%x %X", {i32(0xbeef), i32(0xbeef)}), "beef BEEF");
  EXPECT_EQ(narrow("%#x %#X", {i32(255), i32(255)}), "0xff 0XFF");
  EXPECT_EQ(narrow("%#x", {i32(0)}), "0");
  EXPECT_EQ(narrow("%08x", {i32(0xbeef)}), "0000beef");
  EXPECT_EQ(narrow("%#010x", {i32(0xbeef)}), "0x0000beef");
  EXPECT_EQ(narrow("%-#8x|", {i32(1)}), "0x1     |");
  EXPECT_EQ(narrow("%o %#o", {i32(8), i32(8)}), "10 010");
  EXPECT_EQ(narrow("%#.3o", {i32(8)}), "010");
  EXPECT_EQ(narrow("%.4x", {i32(0xa)}), "000a");
  EXPECT_EQ(narrow("%u", {i32(0)}), "0");
}

TEST(Format, PointerIsSixteenUpperCaseHexDigits) {
  EXPECT_EQ(narrow("%p", {ptr(reinterpret_cast<const void*>(0x1234abcdULL))}), "000000001234ABCD");
  EXPECT_EQ(narrow("%p", {ptr(nullptr)}), "0000000000000000");
  EXPECT_EQ(narrow("%20p|", {ptr(reinterpret_cast<const void*>(0xFULL))}), "    000000000000000F|");
  EXPECT_EQ(narrow("%-18p|", {ptr(reinterpret_cast<const void*>(0xFULL))}), "000000000000000F  |");
}

TEST(Format, Characters) {
  EXPECT_EQ(narrow("%c", {i32('A')}), "A");
  EXPECT_EQ(narrow("%3c|%-3c|", {i32('x'), i32('y')}), "  x|y  |");
  EXPECT_EQ(narrow("%hc", {i32('z')}), "z");
  // Wide characters in narrow output become UTF-8.
  EXPECT_EQ(narrow("%wc", {i32(u'\u03A9')}), "\xCE\xA9");
  EXPECT_EQ(narrow("%lc", {i32(u'e')}), "e");
  EXPECT_EQ(narrow("%C", {i32(u'\u00E9')}), "\xC3\xA9");
  EXPECT_EQ(narrow("%wc", {i32(0xD800)}), "\xEF\xBF\xBD");  // a lone surrogate
}

TEST(Format, NarrowStrings) {
  EXPECT_EQ(narrow("[%s]", {ptr("abc")}), "[abc]");
  EXPECT_EQ(narrow("[%.2s]", {ptr("abc")}), "[ab]");
  EXPECT_EQ(narrow("[%5s]", {ptr("abc")}), "[  abc]");
  EXPECT_EQ(narrow("[%-5s]", {ptr("abc")}), "[abc  ]");
  EXPECT_EQ(narrow("[%s]", {ptr(nullptr)}), "[(null)]");
  EXPECT_EQ(narrow("[%.3s]", {ptr(nullptr)}), "[(nu]");
  EXPECT_EQ(narrow("[%hs]", {ptr("h")}), "[h]");
  // A precision bounds the read: the argument need not be terminated.
  char unterminated[3] = {'x', 'y', 'z'};
  EXPECT_EQ(narrow("%.3s", {ptr(unterminated)}), "xyz");
}

TEST(Format, WideStringsInNarrowOutput) {
  EXPECT_EQ(narrow("%ws", {ptr(u"wide")}), "wide");
  EXPECT_EQ(narrow("%ls", {ptr(u"wide")}), "wide");
  EXPECT_EQ(narrow("%S", {ptr(u"wide")}), "wide");
  EXPECT_EQ(narrow("%ws", {ptr(u"caf\u00E9 \U0001F600")}), "caf\xC3\xA9 \xF0\x9F\x98\x80");
  EXPECT_EQ(narrow("%.2ws", {ptr(u"wide")}), "wi");
  EXPECT_EQ(narrow("[%6ws]", {ptr(u"\u00E9")}), "[    \xC3\xA9]");  // width counts output bytes
  EXPECT_EQ(narrow("%ws", {ptr(nullptr)}), "(null)");
}

TEST(Format, CountedStrings) {
  char text[] = {'a', 'b', 'c', 'd'};
  ANSI_STRING ansi{3, 4, text};
  EXPECT_EQ(narrow("[%Z]", {ptr(&ansi)}), "[abc]");
  EXPECT_EQ(narrow("[%.2Z]", {ptr(&ansi)}), "[ab]");
  EXPECT_EQ(narrow("[%5Z]", {ptr(&ansi)}), "[  abc]");
  WCHAR units[] = {L'd', L'e', L'v', L'x'};
  UNICODE_STRING unicode{6, 8, units};
  EXPECT_EQ(narrow("[%wZ]", {ptr(&unicode)}), "[dev]");
  EXPECT_EQ(narrow("[%-5wZ]", {ptr(&unicode)}), "[dev  ]");
  EXPECT_EQ(narrow("[%wZ]", {ptr(nullptr)}), "[(null)]");
  UNICODE_STRING empty{0, 0, nullptr};
  EXPECT_EQ(narrow("[%wZ]", {ptr(&empty)}), "[(null)]");
}

TEST(Format, FloatingPoint) {
  EXPECT_EQ(narrow("%f", {dbl(1.5)}), "1.500000");
  EXPECT_EQ(narrow("%.2f", {dbl(3.14159)}), "3.14");
  EXPECT_EQ(narrow("%8.3f|", {dbl(-2.5)}), "  -2.500|");
  EXPECT_EQ(narrow("%e", {dbl(1234.5)}), "1.234500e+03");
  EXPECT_EQ(narrow("%g", {dbl(0.0001)}), "0.0001");
}

TEST(Format, PercentNConsumesItsArgumentAndWritesNothing) {
  int target = 7;
  ListArguments arguments({ptr(&target), i32(3)});
  char buffer[16];
  BoundedWriter<char> out(buffer, sizeof buffer);
  EXPECT_TRUE(formatWindows("a%nb%d", arguments, out));
  EXPECT_EQ(std::string(buffer, out.length()), "ab3");
  EXPECT_EQ(target, 7);
  EXPECT_EQ(arguments.consumed(), 2u);
}

TEST(Format, UnknownConversionsAreCopiedLiterally) {
  EXPECT_EQ(narrow("%y"), "%y");
  EXPECT_EQ(narrow("%-5y"), "%-5y");
  EXPECT_EQ(narrow("%I6d"), "%I6d");
  EXPECT_EQ(narrow("tail %"), "tail %");
  EXPECT_EQ(narrow("%l"), "%l");
}

TEST(Format, WideOutputUsesTheOppositeWidthForCapitals) {
  EXPECT_EQ(wide(u"%s|%S|%hs|%ws", {ptr(u"w"), ptr("n"), ptr("h"), ptr(u"l")}), u"w|n|h|l");
  EXPECT_EQ(wide(u"%c%C%hc%wc", {i32(u'\u03A9'), i32('b'), i32('c'), i32(u'd')}), u"\u03A9bcd");
  EXPECT_EQ(wide(u"%S", {ptr("caf\xC3\xA9")}), u"caf\u00E9");
  EXPECT_EQ(wide(u"%d %#x %p", {i32(-3), i32(255), ptr(reinterpret_cast<const void*>(1))}), u"-3 0xff 0000000000000001");
  char text[] = {'h', 'i'};
  ANSI_STRING ansi{2, 2, text};
  WCHAR units[] = {L'o', L'k'};
  UNICODE_STRING unicode{4, 4, units};
  EXPECT_EQ(wide(u"%Z %wZ", {ptr(&ansi), ptr(&unicode)}), u"hi ok");
  EXPECT_EQ(wide(u"%s", {ptr(nullptr)}), u"(null)");
  EXPECT_EQ(wide(u"%5.1f", {dbl(2.25)}), u"  2.2");
}

TEST(Format, TruncationKeepsAPrefixAndReportsIt) {
  ListArguments arguments({i32(12345)});
  char buffer[4];
  BoundedWriter<char> out(buffer, sizeof buffer);
  EXPECT_FALSE(formatWindows("n=%d", arguments, out));
  EXPECT_EQ(std::string(buffer, out.length()), "n=12");
  EXPECT_TRUE(out.truncated());
}

TEST(Format, TruncationNeverSplitsACharacter) {
  ListArguments arguments({ptr(u"a\u00E9b")});
  char buffer[2];
  BoundedWriter<char> out(buffer, sizeof buffer);
  EXPECT_FALSE(formatWindows("%ws", arguments, out));
  // 'a' fits; the two bytes of U+00E9 do not, and nothing after them is written.
  EXPECT_EQ(std::string(buffer, out.length()), "a");
}

TEST(Format, VaListArgumentsReadTheCallersWidths) {
  auto run = [](const char* format, ...) {
    va_list list;
    va_start(list, format);
    VaListArguments arguments(list);
    char buffer[256];
    BoundedWriter<char> out(buffer, sizeof buffer);
    formatWindows(format, arguments, out);
    va_end(list);
    return std::string(buffer, out.length());
  };
  LONG l = -1;
  ULONG64 q = 0x100000000ULL;
  USHORT s = 0xFFFF;
  EXPECT_EQ(run("%ld %I64x %hu %s %ws %c", l, q, s, "str", u"w", 'c'), "-1 100000000 65535 str w c");
}
