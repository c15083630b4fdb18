// ntstrsafe.h routines: results, truncation (always terminated) and parameter checks.
#include <gtest/gtest.h>

#include <cstring>
#include <string>

#include "nt/rtl/ddk.hpp"

namespace {

std::u16string wtext(const WCHAR* s) {
  std::u16string out;
  while (*s != 0) out.push_back(static_cast<char16_t>(*s++));
  return out;
}

std::u16string text(const UNICODE_STRING& s) {
  return std::u16string(reinterpret_cast<const char16_t*>(s.Buffer), s.Length / sizeof(WCHAR));
}

}  // namespace

TEST(StrSafe, CopyNarrow) {
  char buffer[8];
  EXPECT_EQ(RtlStringCchCopyA(buffer, sizeof buffer, "short"), STATUS_SUCCESS);
  EXPECT_STREQ(buffer, "short");
  EXPECT_EQ(RtlStringCchCopyA(buffer, sizeof buffer, "much too long"), STATUS_BUFFER_OVERFLOW);
  EXPECT_STREQ(buffer, "much to");
  EXPECT_EQ(RtlStringCbCopyA(buffer, 4, "abcd"), STATUS_BUFFER_OVERFLOW);
  EXPECT_STREQ(buffer, "abc");
  EXPECT_EQ(RtlStringCchCopyA(buffer, sizeof buffer, "1234567"), STATUS_SUCCESS);  // exactly fits
}

TEST(StrSafe, InvalidDestinationSizesLeaveTheBufferAlone) {
  char buffer[4] = {'#', '#', '#', '#'};
  EXPECT_EQ(RtlStringCchCopyA(buffer, 0, "x"), STATUS_INVALID_PARAMETER);
  EXPECT_EQ(buffer[0], '#');
  EXPECT_EQ(RtlStringCchCopyA(buffer, size_t(NTSTRSAFE_MAX_CCH) + 1, "x"), STATUS_INVALID_PARAMETER);
  EXPECT_EQ(buffer[0], '#');
  WCHAR wide[2] = {L'#', L'#'};
  EXPECT_EQ(RtlStringCbCopyW(wide, 1, L"x"), STATUS_INVALID_PARAMETER);  // less than one WCHAR
  EXPECT_EQ(wide[0], L'#');
  EXPECT_EQ(RtlStringCchPrintfA(buffer, 0, "%d", 1), STATUS_INVALID_PARAMETER);
  EXPECT_EQ(buffer[0], '#');
}

TEST(StrSafe, CopyWideAndByteCounts) {
  WCHAR buffer[6];
  EXPECT_EQ(RtlStringCbCopyW(buffer, sizeof buffer, L"hello"), STATUS_SUCCESS);
  EXPECT_EQ(wtext(buffer), u"hello");
  EXPECT_EQ(RtlStringCbCopyW(buffer, 7, L"hello"), STATUS_BUFFER_OVERFLOW);  // 7 bytes: 3 WCHARs
  EXPECT_EQ(wtext(buffer), u"he");
  EXPECT_EQ(RtlStringCchCopyW(buffer, 6, L"toolong"), STATUS_BUFFER_OVERFLOW);
  EXPECT_EQ(wtext(buffer), u"toolo");
}

TEST(StrSafe, CopyN) {
  char buffer[8];
  EXPECT_EQ(RtlStringCchCopyNA(buffer, sizeof buffer, "abcdef", 3), STATUS_SUCCESS);
  EXPECT_STREQ(buffer, "abc");
  EXPECT_EQ(RtlStringCbCopyNA(buffer, 4, "abcdef", 5), STATUS_BUFFER_OVERFLOW);
  EXPECT_STREQ(buffer, "abc");
  EXPECT_EQ(RtlStringCbCopyNA(buffer, sizeof buffer, "ab", 100), STATUS_SUCCESS);  // stops at the terminator
  EXPECT_STREQ(buffer, "ab");
  EXPECT_EQ(RtlStringCbCopyNA(buffer, sizeof buffer, "ab", size_t(NTSTRSAFE_MAX_CCH) + 1), STATUS_INVALID_PARAMETER);
  EXPECT_STREQ(buffer, "");
  WCHAR wide[8];
  EXPECT_EQ(RtlStringCbCopyNW(wide, sizeof wide, L"abcdef", 4 * sizeof(WCHAR)), STATUS_SUCCESS);
  EXPECT_EQ(wtext(wide), u"abcd");
  EXPECT_EQ(RtlStringCchCopyNW(wide, 3, L"abcdef", 4), STATUS_BUFFER_OVERFLOW);
  EXPECT_EQ(wtext(wide), u"ab");
}

TEST(StrSafe, Cat) {
  char buffer[8] = "ab";
  EXPECT_EQ(RtlStringCchCatA(buffer, sizeof buffer, "cd"), STATUS_SUCCESS);
  EXPECT_STREQ(buffer, "abcd");
  EXPECT_EQ(RtlStringCbCatA(buffer, sizeof buffer, "efghij"), STATUS_BUFFER_OVERFLOW);
  EXPECT_STREQ(buffer, "abcdefg");
  EXPECT_EQ(RtlStringCchCatA(buffer, sizeof buffer, "x"), STATUS_BUFFER_OVERFLOW);  // full already
  EXPECT_STREQ(buffer, "abcdefg");
  char unterminated[3] = {'a', 'b', 'c'};
  EXPECT_EQ(RtlStringCchCatA(unterminated, sizeof unterminated, "d"), STATUS_INVALID_PARAMETER);
  EXPECT_EQ(unterminated[2], 'c');

  WCHAR wide[6] = L"ab";
  EXPECT_EQ(RtlStringCchCatW(wide, 6, L"cdef"), STATUS_BUFFER_OVERFLOW);
  EXPECT_EQ(wtext(wide), u"abcde");
  WCHAR wide2[8] = L"x";
  EXPECT_EQ(RtlStringCbCatW(wide2, sizeof wide2, L"yz"), STATUS_SUCCESS);
  EXPECT_EQ(wtext(wide2), u"xyz");
  EXPECT_EQ(RtlStringCchCatNW(wide2, 8, L"1234", 2), STATUS_SUCCESS);
  EXPECT_EQ(wtext(wide2), u"xyz12");
  char narrow2[8] = "x";
  EXPECT_EQ(RtlStringCbCatNA(narrow2, sizeof narrow2, "12345", 3), STATUS_SUCCESS);
  EXPECT_STREQ(narrow2, "x123");
}

TEST(StrSafe, Printf) {
  char buffer[16];
  EXPECT_EQ(RtlStringCbPrintfA(buffer, sizeof buffer, "%s-%lu", "eth", 7u), STATUS_SUCCESS);
  EXPECT_STREQ(buffer, "eth-7");
  EXPECT_EQ(RtlStringCchPrintfA(buffer, 6, "%d%d", 123, 456), STATUS_BUFFER_OVERFLOW);
  EXPECT_STREQ(buffer, "12345");
  EXPECT_EQ(RtlStringCbPrintfA(buffer, sizeof buffer, "%ws", L"wide"), STATUS_SUCCESS);
  EXPECT_STREQ(buffer, "wide");

  WCHAR wide[16];
  EXPECT_EQ(RtlStringCbPrintfW(wide, sizeof wide, L"%s=%#x", L"val", 0x1f), STATUS_SUCCESS);
  EXPECT_EQ(wtext(wide), u"val=0x1f");
  EXPECT_EQ(RtlStringCchPrintfW(wide, 4, L"%S", "narrow"), STATUS_BUFFER_OVERFLOW);
  EXPECT_EQ(wtext(wide), u"nar");
  EXPECT_EQ(RtlStringCchPrintfW(wide, 16, L"%I64u|%p", ULONG64(1) << 40, reinterpret_cast<void*>(0x10)),
            STATUS_BUFFER_OVERFLOW);
  EXPECT_EQ(wtext(wide), u"1099511627776|0");  // 15 units and the terminator
}

namespace {
NTSTATUS callVPrintf(char* dest, size_t cb, const char* format, ...) {
  va_list arguments;
  va_start(arguments, format);
  NTSTATUS status = RtlStringCbVPrintfA(dest, cb, format, arguments);
  va_end(arguments);
  return status;
}
NTSTATUS callVPrintfW(WCHAR* dest, size_t cch, const WCHAR* format, ...) {
  va_list arguments;
  va_start(arguments, format);
  NTSTATUS status = RtlStringCchVPrintfW(dest, cch, format, arguments);
  va_end(arguments);
  return status;
}
}  // namespace

TEST(StrSafe, VPrintf) {
  char buffer[8];
  EXPECT_EQ(callVPrintf(buffer, sizeof buffer, "%03d", 5), STATUS_SUCCESS);
  EXPECT_STREQ(buffer, "005");
  WCHAR wide[4];
  EXPECT_EQ(callVPrintfW(wide, 4, L"%d", 12345), STATUS_BUFFER_OVERFLOW);
  EXPECT_EQ(wtext(wide), u"123");
}

TEST(StrSafe, Length) {
  size_t length = 99;
  EXPECT_EQ(RtlStringCchLengthA("abc", 10, &length), STATUS_SUCCESS);
  EXPECT_EQ(length, 3u);
  EXPECT_EQ(RtlStringCchLengthA("abc", 3, &length), STATUS_INVALID_PARAMETER);  // no terminator within 3
  EXPECT_EQ(length, 0u);
  EXPECT_EQ(RtlStringCchLengthA("abc", 4, nullptr), STATUS_SUCCESS);
  EXPECT_EQ(RtlStringCchLengthA(nullptr, 4, &length), STATUS_INVALID_PARAMETER);
  EXPECT_EQ(RtlStringCbLengthW(L"abc", 8, &length), STATUS_SUCCESS);
  EXPECT_EQ(length, 6u);
  EXPECT_EQ(RtlStringCbLengthW(L"abc", 6, &length), STATUS_INVALID_PARAMETER);
  EXPECT_EQ(RtlStringCchLengthW(L"ab", 3, &length), STATUS_SUCCESS);
  EXPECT_EQ(length, 2u);
  EXPECT_EQ(RtlStringCbLengthA("abcd", 5, &length), STATUS_SUCCESS);
  EXPECT_EQ(length, 4u);
  EXPECT_EQ(RtlStringCchLengthA("a", size_t(NTSTRSAFE_MAX_CCH) + 1, &length), STATUS_INVALID_PARAMETER);
}

TEST(StrSafe, UnicodeStringCopyCatPrintf) {
  WCHAR storage[6];
  UNICODE_STRING dest{0, sizeof storage, storage};
  UNICODE_STRING source;
  ASSERT_EQ(RtlUnicodeStringInit(&source, L"abc"), STATUS_SUCCESS);
  EXPECT_EQ(source.MaximumLength, 8);
  EXPECT_EQ(RtlUnicodeStringCopy(&dest, &source), STATUS_SUCCESS);
  EXPECT_EQ(text(dest), u"abc");
  EXPECT_EQ(RtlUnicodeStringCat(&dest, &source), STATUS_SUCCESS);  // exactly full
  EXPECT_EQ(text(dest), u"abcabc");
  EXPECT_EQ(RtlUnicodeStringCat(&dest, &source), STATUS_BUFFER_OVERFLOW);
  EXPECT_EQ(text(dest), u"abcabc");
  EXPECT_EQ(RtlUnicodeStringCopyString(&dest, L"0123456789"), STATUS_BUFFER_OVERFLOW);
  EXPECT_EQ(text(dest), u"012345");
  EXPECT_EQ(RtlUnicodeStringCopyString(&dest, L"x"), STATUS_SUCCESS);
  EXPECT_EQ(RtlUnicodeStringCatString(&dest, L"yz"), STATUS_SUCCESS);
  EXPECT_EQ(text(dest), u"xyz");
  EXPECT_EQ(RtlUnicodeStringPrintf(&dest, L"%d:%ws", 42, L"ok"), STATUS_SUCCESS);
  EXPECT_EQ(text(dest), u"42:ok");
  EXPECT_EQ(RtlUnicodeStringPrintf(&dest, L"%s", L"overflowing"), STATUS_BUFFER_OVERFLOW);
  EXPECT_EQ(text(dest), u"overfl");
}

TEST(StrSafe, MalformedUnicodeStringsAreRejected) {
  WCHAR storage[4];
  UNICODE_STRING odd{3, sizeof storage, storage};
  UNICODE_STRING good;
  RtlUnicodeStringInit(&good, L"a");
  EXPECT_EQ(RtlUnicodeStringValidate(&odd), STATUS_INVALID_PARAMETER);
  EXPECT_EQ(RtlUnicodeStringCopy(&odd, &good), STATUS_INVALID_PARAMETER);
  UNICODE_STRING tooLong{10, 8, storage};
  EXPECT_EQ(RtlUnicodeStringCat(&tooLong, &good), STATUS_INVALID_PARAMETER);
  UNICODE_STRING noBuffer{0, 8, nullptr};
  EXPECT_EQ(RtlUnicodeStringPrintf(&noBuffer, L"x"), STATUS_INVALID_PARAMETER);
  EXPECT_EQ(RtlUnicodeStringValidate(&good), STATUS_SUCCESS);
  UNICODE_STRING empty{0, 0, nullptr};
  EXPECT_EQ(RtlUnicodeStringValidate(&empty), STATUS_SUCCESS);
}
