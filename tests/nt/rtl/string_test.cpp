// Counted strings: initialisation, copy, append, comparison, case, conversion, integers,
// version.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "nt/ex/pool.hpp"
#include "nt/rtl/ddk.hpp"

using namespace ndishost::nt;

namespace {

std::u16string text(const UNICODE_STRING& s) {
  return std::u16string(reinterpret_cast<const char16_t*>(s.Buffer), s.Length / sizeof(WCHAR));
}

std::string text(const ANSI_STRING& s) { return std::string(s.Buffer, s.Length); }

UNICODE_STRING counted(const WCHAR* literal) {
  UNICODE_STRING s;
  RtlInitUnicodeString(&s, literal);
  return s;
}

}  // namespace

TEST(RtlString, InitUnicodeString) {
  UNICODE_STRING s;
  RtlInitUnicodeString(&s, L"abc");
  EXPECT_EQ(s.Length, 6);
  EXPECT_EQ(s.MaximumLength, 8);
  EXPECT_EQ(text(s), u"abc");
  RtlInitUnicodeString(&s, nullptr);
  EXPECT_EQ(s.Length, 0);
  EXPECT_EQ(s.MaximumLength, 0);
  EXPECT_EQ(s.Buffer, nullptr);

  UNICODE_STRING constant = RTL_CONSTANT_STRING(L"const");
  EXPECT_EQ(constant.Length, 10);
  EXPECT_EQ(constant.MaximumLength, 12);
}

TEST(RtlString, InitUnicodeStringExRefusesTooLongStrings) {
  std::vector<WCHAR> longText(40000, L'x');
  longText.back() = 0;
  UNICODE_STRING s;
  EXPECT_EQ(RtlInitUnicodeStringEx(&s, longText.data()), STATUS_NAME_TOO_LONG);
  EXPECT_EQ(s.Length, 0);
  RtlInitUnicodeString(&s, longText.data());
  EXPECT_EQ(s.Length, 0xFFFC);  // cut to the largest length that keeps the terminator
  EXPECT_EQ(s.MaximumLength, 0xFFFE);
  EXPECT_EQ(RtlInitUnicodeStringEx(&s, L"ok"), STATUS_SUCCESS);
  EXPECT_EQ(s.Length, 4);
}

TEST(RtlString, InitAnsiString) {
  ANSI_STRING a;
  RtlInitAnsiString(&a, "hello");
  EXPECT_EQ(a.Length, 5);
  EXPECT_EQ(a.MaximumLength, 6);
  STRING s;
  RtlInitString(&s, nullptr);
  EXPECT_EQ(s.Length, 0);
  EXPECT_EQ(s.Buffer, nullptr);
  std::string longText(70000, 'y');
  EXPECT_EQ(RtlInitAnsiStringEx(&a, longText.c_str()), STATUS_NAME_TOO_LONG);
  EXPECT_EQ(RtlInitStringEx(&s, "x"), STATUS_SUCCESS);
  EXPECT_EQ(s.Length, 1);
}

TEST(RtlString, CopyUnicodeStringTruncatesAndTerminatesWhenThereIsRoom) {
  WCHAR buffer[4] = {L'#', L'#', L'#', L'#'};
  UNICODE_STRING dest{0, sizeof buffer, buffer};
  UNICODE_STRING source = counted(L"ab");
  RtlCopyUnicodeString(&dest, &source);
  EXPECT_EQ(text(dest), u"ab");
  EXPECT_EQ(buffer[2], 0);

  source = counted(L"abcdef");
  RtlCopyUnicodeString(&dest, &source);
  EXPECT_EQ(text(dest), u"abcd");
  EXPECT_EQ(dest.MaximumLength, sizeof buffer);

  RtlCopyUnicodeString(&dest, nullptr);
  EXPECT_EQ(dest.Length, 0);
}

TEST(RtlString, AppendUnicode) {
  WCHAR buffer[8];
  UNICODE_STRING dest{0, sizeof buffer, buffer};
  UNICODE_STRING part = counted(L"net");
  EXPECT_EQ(RtlAppendUnicodeStringToString(&dest, &part), STATUS_SUCCESS);
  EXPECT_EQ(RtlAppendUnicodeToString(&dest, L"dev"), STATUS_SUCCESS);
  EXPECT_EQ(text(dest), u"netdev");
  EXPECT_EQ(buffer[6], 0);
  // Too long: nothing changes.
  EXPECT_EQ(RtlAppendUnicodeToString(&dest, L"xyz"), STATUS_BUFFER_TOO_SMALL);
  EXPECT_EQ(text(dest), u"netdev");
  EXPECT_EQ(RtlAppendUnicodeToString(&dest, L"xy"), STATUS_SUCCESS);  // exactly full
  EXPECT_EQ(text(dest), u"netdevxy");
  EXPECT_EQ(RtlAppendUnicodeToString(&dest, nullptr), STATUS_SUCCESS);
}

TEST(RtlString, CompareEqualPrefix) {
  UNICODE_STRING a = counted(L"Adapter");
  UNICODE_STRING b = counted(L"adapter");
  UNICODE_STRING c = counted(L"adapters");
  EXPECT_LT(RtlCompareUnicodeString(&a, &b, FALSE), 0);
  EXPECT_EQ(RtlCompareUnicodeString(&a, &b, TRUE), 0);
  EXPECT_LT(RtlCompareUnicodeString(&b, &c, FALSE), 0);
  EXPECT_GT(RtlCompareUnicodeString(&c, &b, TRUE), 0);
  EXPECT_FALSE(RtlEqualUnicodeString(&a, &b, FALSE));
  EXPECT_TRUE(RtlEqualUnicodeString(&a, &b, TRUE));
  EXPECT_TRUE(RtlPrefixUnicodeString(&a, &c, TRUE));
  EXPECT_FALSE(RtlPrefixUnicodeString(&a, &c, FALSE));
  EXPECT_FALSE(RtlPrefixUnicodeString(&c, &a, TRUE));

  UNICODE_STRING accented = counted(L"\u00E9T\u00C9");
  UNICODE_STRING upper = counted(L"\u00C9t\u00E9");
  EXPECT_TRUE(RtlEqualUnicodeString(&accented, &upper, TRUE));
  UNICODE_STRING cyrillic = counted(L"\u0441\u0435\u0442\u044C");
  UNICODE_STRING cyrillicUpper = counted(L"\u0421\u0415\u0422\u042C");
  EXPECT_TRUE(RtlEqualUnicodeString(&cyrillic, &cyrillicUpper, TRUE));

  STRING x, y;
  RtlInitString(&x, "Tap0");
  RtlInitString(&y, "TAP0");
  EXPECT_TRUE(RtlEqualString(&x, &y, TRUE));
  EXPECT_FALSE(RtlEqualString(&x, &y, FALSE));
  EXPECT_GT(RtlCompareString(&x, &y, FALSE), 0);
}

TEST(RtlString, UpcaseCoverage) {
  EXPECT_EQ(RtlUpcaseUnicodeChar(L'a'), L'A');
  EXPECT_EQ(RtlUpcaseUnicodeChar(L'Z'), L'Z');
  EXPECT_EQ(RtlUpcaseUnicodeChar(L'1'), L'1');
  EXPECT_EQ(RtlUpcaseUnicodeChar(0x00E9), 0x00C9);   // é
  EXPECT_EQ(RtlUpcaseUnicodeChar(0x00F7), 0x00F7);   // ÷ has no case
  EXPECT_EQ(RtlUpcaseUnicodeChar(0x00FF), 0x0178);   // ÿ
  EXPECT_EQ(RtlUpcaseUnicodeChar(0x0101), 0x0100);   // ā
  EXPECT_EQ(RtlUpcaseUnicodeChar(0x013A), 0x0139);   // ĺ (pairs flip parity here)
  EXPECT_EQ(RtlUpcaseUnicodeChar(0x017E), 0x017D);   // ž
  EXPECT_EQ(RtlUpcaseUnicodeChar(0x03B1), 0x0391);   // α
  EXPECT_EQ(RtlUpcaseUnicodeChar(0x03C2), 0x03A3);   // final sigma
  EXPECT_EQ(RtlUpcaseUnicodeChar(0x0451), 0x0401);   // ё
  EXPECT_EQ(RtlUpcaseUnicodeChar(0xFF41), 0xFF21);   // full-width a
  EXPECT_EQ(RtlUpcaseUnicodeChar(0x4E2D), 0x4E2D);   // no case
  EXPECT_EQ(RtlDowncaseUnicodeChar(L'Q'), L'q');
  EXPECT_EQ(RtlDowncaseUnicodeChar(0x0139), 0x013A);
  EXPECT_EQ(RtlDowncaseUnicodeChar(0x0100), 0x0101);
  EXPECT_EQ(RtlUpperChar('q'), 'Q');

  UNICODE_STRING source = counted(L"mixed\u00E9");
  UNICODE_STRING upper{};
  ASSERT_EQ(RtlUpcaseUnicodeString(&upper, &source, TRUE), STATUS_SUCCESS);
  EXPECT_EQ(text(upper), u"MIXED\u00C9");
  RtlFreeUnicodeString(&upper);
  WCHAR small[2];
  UNICODE_STRING tooSmall{0, sizeof small, small};
  EXPECT_EQ(RtlUpcaseUnicodeString(&tooSmall, &source, FALSE), STATUS_BUFFER_OVERFLOW);
}

TEST(RtlString, UnicodeToAnsiAllocatesFromPoolWithStrgTag) {
  UNICODE_STRING source = counted(L"eth\u00E9");
  EXPECT_EQ(RtlUnicodeStringToAnsiSize(&source), 6u);  // UTF-8 bytes + terminator
  ANSI_STRING ansi{};
  ASSERT_EQ(RtlUnicodeStringToAnsiString(&ansi, &source, TRUE), STATUS_SUCCESS);
  EXPECT_EQ(text(ansi), "eth\xC3\xA9");
  EXPECT_EQ(ansi.MaximumLength, 6);
  EXPECT_EQ(ansi.Buffer[5], 0);
  EXPECT_TRUE(pool::isLiveBlock(ansi.Buffer));
  EXPECT_EQ(pool::blockTag(ansi.Buffer), poolTag("Strg"));
  void* buffer = ansi.Buffer;
  RtlFreeAnsiString(&ansi);
  EXPECT_EQ(ansi.Buffer, nullptr);
  EXPECT_FALSE(pool::isLiveBlock(buffer));
}

TEST(RtlString, UnicodeToAnsiIntoASmallBufferTruncatesAndTerminates) {
  UNICODE_STRING source = counted(L"abcdef");
  char buffer[4];
  ANSI_STRING ansi{0, sizeof buffer, buffer};
  EXPECT_EQ(RtlUnicodeStringToAnsiString(&ansi, &source, FALSE), STATUS_BUFFER_OVERFLOW);
  EXPECT_EQ(text(ansi), "abc");
  EXPECT_EQ(buffer[3], 0);
  char exact[7];
  ANSI_STRING fits{0, sizeof exact, exact};
  EXPECT_EQ(RtlUnicodeStringToAnsiString(&fits, &source, FALSE), STATUS_SUCCESS);
  EXPECT_EQ(text(fits), "abcdef");
}

TEST(RtlString, AnsiToUnicode) {
  ANSI_STRING source;
  RtlInitAnsiString(&source, "caf\xC3\xA9");
  EXPECT_EQ(RtlAnsiStringToUnicodeSize(&source), 10u);
  UNICODE_STRING unicode{};
  ASSERT_EQ(RtlAnsiStringToUnicodeString(&unicode, &source, TRUE), STATUS_SUCCESS);
  EXPECT_EQ(text(unicode), u"caf\u00E9");
  EXPECT_EQ(unicode.Buffer[4], 0);
  EXPECT_EQ(pool::blockTag(unicode.Buffer), poolTag("Strg"));
  RtlFreeUnicodeString(&unicode);

  // Without room for the string and its terminator, nothing is written.
  WCHAR buffer[4] = {L'#', L'#', L'#', L'#'};
  UNICODE_STRING small{0, sizeof buffer, buffer};
  EXPECT_EQ(RtlAnsiStringToUnicodeString(&small, &source, FALSE), STATUS_BUFFER_OVERFLOW);
  EXPECT_EQ(small.Length, 0);
  EXPECT_EQ(buffer[0], L'#');

  ANSI_STRING invalid;
  RtlInitAnsiString(&invalid, "a\xFF");
  WCHAR out[8];
  UNICODE_STRING replaced{0, sizeof out, out};
  ASSERT_EQ(RtlAnsiStringToUnicodeString(&replaced, &invalid, FALSE), STATUS_SUCCESS);
  EXPECT_EQ(text(replaced), u"a\uFFFD");
}

TEST(RtlString, IntegerToUnicodeString) {
  WCHAR buffer[40];
  UNICODE_STRING s{0, sizeof buffer, buffer};
  EXPECT_EQ(RtlIntegerToUnicodeString(1234, 0, &s), STATUS_SUCCESS);
  EXPECT_EQ(text(s), u"1234");
  EXPECT_EQ(RtlIntegerToUnicodeString(0xBEEF, 16, &s), STATUS_SUCCESS);
  EXPECT_EQ(text(s), u"BEEF");
  EXPECT_EQ(RtlIntegerToUnicodeString(5, 2, &s), STATUS_SUCCESS);
  EXPECT_EQ(text(s), u"101");
  EXPECT_EQ(RtlIntegerToUnicodeString(8, 8, &s), STATUS_SUCCESS);
  EXPECT_EQ(text(s), u"10");
  EXPECT_EQ(RtlIntegerToUnicodeString(0, 10, &s), STATUS_SUCCESS);
  EXPECT_EQ(text(s), u"0");
  EXPECT_EQ(RtlIntegerToUnicodeString(1, 7, &s), STATUS_INVALID_PARAMETER);
  EXPECT_EQ(RtlInt64ToUnicodeString(0x123456789ULL, 16, &s), STATUS_SUCCESS);
  EXPECT_EQ(text(s), u"123456789");

  WCHAR small[4];
  UNICODE_STRING tight{0, sizeof small, small};
  EXPECT_EQ(RtlIntegerToUnicodeString(123, 10, &tight), STATUS_SUCCESS);
  EXPECT_EQ(RtlIntegerToUnicodeString(1234, 10, &tight), STATUS_BUFFER_OVERFLOW);  // no room for the terminator
}

TEST(RtlString, UnicodeStringToIntegerFollowsTheDocumentedTable) {
  struct Case {
    const WCHAR* input;
    ULONG base;
    ULONG expected;
  };
  const Case cases[] = {
      {L"123", 10, 123},         {L"-345", 10, ULONG(-345)}, {L"xyz", 10, 0},   {L"+678abc", 10, 678},
      {L"+678abc", 16, 6785724}, {L"007", 10, 7},            {L"789", 8, 7},    {L"FGH", 16, 15},
      {L" ", 10, 0},             {L"  42", 0, 42},           {L"0x1F", 0, 31},  {L"0o17", 0, 15},
      {L"0b101", 0, 5},          {L"-0x10", 0, ULONG(-16)},  {L"0x1F", 16, 0},
  };
  for (const auto& c : cases) {
    UNICODE_STRING s = counted(c.input);
    ULONG value = 0xDEAD;
    EXPECT_EQ(RtlUnicodeStringToInteger(&s, c.base, &value), STATUS_SUCCESS);
    EXPECT_EQ(value, c.expected) << "input " << std::string(c.input, c.input + s.Length / 2) << " base " << c.base;
  }
  UNICODE_STRING empty{0, 0, nullptr};
  ULONG value;
  EXPECT_EQ(RtlUnicodeStringToInteger(&empty, 10, &value), STATUS_INVALID_PARAMETER);
  UNICODE_STRING s = counted(L"10");
  EXPECT_EQ(RtlUnicodeStringToInteger(&s, 3, &value), STATUS_INVALID_PARAMETER);
  EXPECT_EQ(RtlCharToInteger(" -12", 10, &value), STATUS_SUCCESS);
  EXPECT_EQ(value, ULONG(-12));
}

TEST(RtlString, CompareMemory) {
  const char a[] = "abcdef";
  const char b[] = "abcxef";
  EXPECT_EQ(RtlCompareMemory(a, b, 6), 3u);
  EXPECT_EQ(RtlCompareMemory(a, a, 6), 6u);
  EXPECT_EQ(RtlCompareMemory(a, b, 0), 0u);
  EXPECT_TRUE(RtlEqualMemory(a, b, 3));
  EXPECT_FALSE(RtlEqualMemory(a, b, 4));
  char buffer[8];
  RtlFillMemory(buffer, sizeof buffer, 0x5A);
  EXPECT_EQ(buffer[7], 0x5A);
  RtlZeroMemory(buffer, 4);
  EXPECT_EQ(buffer[3], 0);
  EXPECT_EQ(buffer[4], 0x5A);
  RtlCopyMemory(buffer, "xy", 2);
  RtlMoveMemory(buffer + 1, buffer, 3);
  EXPECT_EQ(std::string(buffer, 4), std::string("xxy\0", 4));
  EXPECT_EQ(RtlSecureZeroMemory(buffer, sizeof buffer), buffer);
  EXPECT_EQ(buffer[7], 0);
}

TEST(RtlString, ByteSwaps) {
  EXPECT_EQ(RtlUshortByteSwap(0x1234), 0x3412);
  EXPECT_EQ(RtlUlongByteSwap(0x12345678u), 0x78563412u);
  EXPECT_EQ(RtlUlonglongByteSwap(0x0102030405060708ULL), 0x0807060504030201ULL);
}

TEST(RtlVersion, ReportsWindows10Build19045) {
  RTL_OSVERSIONINFOW info{};
  info.dwOSVersionInfoSize = sizeof info;
  ASSERT_EQ(RtlGetVersion(&info), STATUS_SUCCESS);
  EXPECT_EQ(info.dwMajorVersion, 10u);
  EXPECT_EQ(info.dwMinorVersion, 0u);
  EXPECT_EQ(info.dwBuildNumber, 19045u);
  EXPECT_EQ(info.dwPlatformId, ULONG(VER_PLATFORM_WIN32_NT));

  RTL_OSVERSIONINFOEXW ex{};
  ex.dwOSVersionInfoSize = sizeof ex;
  ex.wProductType = 0xEE;
  ASSERT_EQ(RtlGetVersion(reinterpret_cast<PRTL_OSVERSIONINFOW>(&ex)), STATUS_SUCCESS);
  EXPECT_EQ(ex.wProductType, VER_NT_WORKSTATION);
  EXPECT_EQ(ex.wServicePackMajor, 0);

  RTL_OSVERSIONINFOW wrong{};
  wrong.dwOSVersionInfoSize = 3;
  EXPECT_EQ(RtlGetVersion(&wrong), STATUS_INVALID_PARAMETER);

  EXPECT_TRUE(RtlIsNtDdiVersionAvailable(NTDDI_WIN10));
  EXPECT_TRUE(RtlIsNtDdiVersionAvailable(NTDDI_WIN10_VB));
  EXPECT_TRUE(RtlIsNtDdiVersionAvailable(NTDDI_WIN7));
  EXPECT_FALSE(RtlIsNtDdiVersionAvailable(NTDDI_WIN10_FE));
  static_assert(sizeof(RTL_OSVERSIONINFOW) == 276 && sizeof(RTL_OSVERSIONINFOEXW) == 284);
}
