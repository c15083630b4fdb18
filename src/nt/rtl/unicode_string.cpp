// Counted strings: STRING/ANSI_STRING and UNICODE_STRING initialisation, copy, append,
// comparison, case mapping, conversion and integer conversion.
//
// ANSI text is UTF-8 in ndishost (text_codec.hpp): conversions are lossless. Case-insensitive
// comparison upcases Latin-1, Latin Extended-A, Greek, Cyrillic and full-width Latin; other
// characters compare as they are. Strings these routines allocate come from paged pool with
// the tag 'Strg', charged to the calling driver, and are freed by RtlFree*String.
#include "nt/rtl/ddk.hpp"

#include <algorithm>
#include <cstring>
#include <string_view>
#include <type_traits>

#include "nt/ex/pool.hpp"
#include "nt/rtl/text_codec.hpp"

namespace {

using namespace ndishost::nt;
using namespace ndishost::nt::rtl;

constexpr ULONG kStringTag = poolTag("Strg");
constexpr std::size_t kMaxUnicodeBytes = 0xFFFC;  // keeps room for the terminator in a USHORT
constexpr std::size_t kMaxAnsiBytes = 0xFFFE;

std::u16string_view view(PCUNICODE_STRING s) {
  if (s == nullptr || s->Buffer == nullptr) return {};
  return {asU16(s->Buffer), std::size_t(s->Length / sizeof(WCHAR))};
}

std::string_view view(const STRING* s) {
  if (s == nullptr || s->Buffer == nullptr) return {};
  return {s->Buffer, s->Length};
}

void* allocateString(std::size_t bytes, const void* caller) {
  return pool::allocate({.size = bytes, .tag = kStringTag, .paged = true, .zeroed = false, .caller = caller});
}

template <class CharA, class CharB>
LONG compare(std::basic_string_view<CharA> a, std::basic_string_view<CharB> b, bool caseInsensitive,
             auto&& fold) {
  std::size_t n = std::min(a.size(), b.size());
  for (std::size_t i = 0; i < n; ++i) {
    LONG ca = caseInsensitive ? LONG(fold(a[i])) : LONG(a[i]);
    LONG cb = caseInsensitive ? LONG(fold(b[i])) : LONG(b[i]);
    if (ca != cb) return ca - cb;
  }
  return LONG(a.size()) - LONG(b.size());
}

char16_t foldWide(char16_t c) { return upcase(c); }
unsigned char foldNarrow(char c) {
  auto byte = static_cast<unsigned char>(c);
  return byte >= 'a' && byte <= 'z' ? static_cast<unsigned char>(byte - 0x20) : byte;
}

// Digits in the given base, as RtlIntegerToChar produces them (upper-case hex).
std::size_t integerDigits(ULONGLONG value, ULONG base, char (&text)[65]) {
  char reversed[65];
  std::size_t n = 0;
  do {
    reversed[n++] = "0123456789ABCDEF"[value % base];
    value /= base;
  } while (value != 0);
  for (std::size_t i = 0; i < n; ++i) text[i] = reversed[n - 1 - i];
  return n;
}

NTSTATUS integerToUnicode(ULONGLONG value, ULONG base, PUNICODE_STRING string) {
  if (base == 0) base = 10;
  if (base != 2 && base != 8 && base != 10 && base != 16) return STATUS_INVALID_PARAMETER;
  char text[65];
  std::size_t n = integerDigits(value, base, text);
  // The digits and a terminator must fit, as with RtlAnsiStringToUnicodeString.
  if ((n + 1) * sizeof(WCHAR) > string->MaximumLength) return STATUS_BUFFER_OVERFLOW;
  for (std::size_t i = 0; i < n; ++i) string->Buffer[i] = static_cast<WCHAR>(text[i]);
  string->Buffer[n] = UNICODE_NULL;
  string->Length = static_cast<USHORT>(n * sizeof(WCHAR));
  return STATUS_SUCCESS;
}

int digitValue(char32_t c) {
  if (c >= '0' && c <= '9') return int(c - '0');
  if (c >= 'a' && c <= 'z') return int(c - 'a' + 10);
  if (c >= 'A' && c <= 'Z') return int(c - 'A' + 10);
  return 99;
}

// The parsing rules RtlUnicodeStringToInteger and RtlCharToInteger share.
template <class CharT>
NTSTATUS parseInteger(std::basic_string_view<CharT> text, ULONG base, PULONG value) {
  if (base != 0 && base != 2 && base != 8 && base != 10 && base != 16) return STATUS_INVALID_PARAMETER;
  auto unit = [&](std::size_t k) { return char32_t(static_cast<std::make_unsigned_t<CharT>>(text[k])); };
  std::size_t i = 0;
  while (i < text.size() && unit(i) <= ' ') ++i;
  bool negative = false;
  if (i < text.size() && (unit(i) == '-' || unit(i) == '+')) negative = unit(i++) == '-';
  if (base == 0) {
    base = 10;
    if (i + 1 < text.size() && unit(i) == '0') {
      switch (unit(i + 1)) {
        case 'x': base = 16, i += 2; break;
        case 'o': base = 8, i += 2; break;
        case 'b': base = 2, i += 2; break;
        default: break;
      }
    }
  }
  ULONG result = 0;
  for (; i < text.size(); ++i) {
    int digit = digitValue(unit(i));
    if (digit >= int(base)) break;
    result = result * base + ULONG(digit);
  }
  *value = negative ? ULONG(0) - result : result;
  return STATUS_SUCCESS;
}

}  // namespace

extern "C" {

// IRQL <= DISPATCH_LEVEL (resident source). Strings longer than 0xFFFC bytes are cut.
VOID NTAPI RtlInitUnicodeString(PUNICODE_STRING DestinationString, PCWSTR SourceString) {
  if (SourceString == nullptr) {
    DestinationString->Length = DestinationString->MaximumLength = 0;
    DestinationString->Buffer = nullptr;
    return;
  }
  std::size_t bytes = boundedLength(asU16(SourceString), kMaxUnicodeBytes / 2 + 1) * sizeof(WCHAR);
  bytes = std::min(bytes, kMaxUnicodeBytes);
  DestinationString->Length = static_cast<USHORT>(bytes);
  DestinationString->MaximumLength = static_cast<USHORT>(bytes + sizeof(WCHAR));
  DestinationString->Buffer = const_cast<PWCH>(SourceString);
}

// IRQL <= DISPATCH_LEVEL. STATUS_NAME_TOO_LONG past 0xFFFC bytes (the string is left empty).
NTSTATUS NTAPI RtlInitUnicodeStringEx(PUNICODE_STRING DestinationString, PCWSTR SourceString) {
  DestinationString->Length = DestinationString->MaximumLength = 0;
  DestinationString->Buffer = const_cast<PWCH>(SourceString);
  if (SourceString == nullptr) return STATUS_SUCCESS;
  std::size_t bytes = boundedLength(asU16(SourceString), kMaxUnicodeBytes / 2 + 1) * sizeof(WCHAR);
  if (bytes > kMaxUnicodeBytes) return STATUS_NAME_TOO_LONG;
  DestinationString->Length = static_cast<USHORT>(bytes);
  DestinationString->MaximumLength = static_cast<USHORT>(bytes + sizeof(WCHAR));
  return STATUS_SUCCESS;
}

// IRQL <= DISPATCH_LEVEL (resident source). Strings longer than 0xFFFE bytes are cut.
VOID NTAPI RtlInitString(PSTRING DestinationString, PCSZ SourceString) {
  if (SourceString == nullptr) {
    DestinationString->Length = DestinationString->MaximumLength = 0;
    DestinationString->Buffer = nullptr;
    return;
  }
  std::size_t bytes = std::min(boundedLength(SourceString, kMaxAnsiBytes + 1), kMaxAnsiBytes);
  DestinationString->Length = static_cast<USHORT>(bytes);
  DestinationString->MaximumLength = static_cast<USHORT>(bytes + 1);
  DestinationString->Buffer = const_cast<PCHAR>(SourceString);
}

VOID NTAPI RtlInitAnsiString(PANSI_STRING DestinationString, PCSZ SourceString) {
  RtlInitString(DestinationString, SourceString);
}

// IRQL <= DISPATCH_LEVEL. STATUS_NAME_TOO_LONG past 0xFFFE bytes (the string is left empty).
NTSTATUS NTAPI RtlInitStringEx(PSTRING DestinationString, PCSZ SourceString) {
  DestinationString->Length = DestinationString->MaximumLength = 0;
  DestinationString->Buffer = const_cast<PCHAR>(SourceString);
  if (SourceString == nullptr) return STATUS_SUCCESS;
  std::size_t bytes = boundedLength(SourceString, kMaxAnsiBytes + 1);
  if (bytes > kMaxAnsiBytes) return STATUS_NAME_TOO_LONG;
  DestinationString->Length = static_cast<USHORT>(bytes);
  DestinationString->MaximumLength = static_cast<USHORT>(bytes + 1);
  return STATUS_SUCCESS;
}

NTSTATUS NTAPI RtlInitAnsiStringEx(PANSI_STRING DestinationString, PCSZ SourceString) {
  return RtlInitStringEx(DestinationString, SourceString);
}

// IRQL <= DISPATCH_LEVEL (resident buffers). Copies what fits; terminates when there is room.
VOID NTAPI RtlCopyUnicodeString(PUNICODE_STRING DestinationString, PCUNICODE_STRING SourceString) {
  if (SourceString == nullptr) {
    DestinationString->Length = 0;
    return;
  }
  USHORT bytes = std::min<USHORT>(SourceString->Length, DestinationString->MaximumLength) & ~USHORT(1);
  std::memmove(DestinationString->Buffer, SourceString->Buffer, bytes);
  DestinationString->Length = bytes;
  if (bytes + sizeof(WCHAR) <= DestinationString->MaximumLength) DestinationString->Buffer[bytes / 2] = UNICODE_NULL;
}

VOID NTAPI RtlCopyString(PSTRING DestinationString, const STRING* SourceString) {
  if (SourceString == nullptr) {
    DestinationString->Length = 0;
    return;
  }
  USHORT bytes = std::min(SourceString->Length, DestinationString->MaximumLength);
  std::memmove(DestinationString->Buffer, SourceString->Buffer, bytes);
  DestinationString->Length = bytes;
  if (bytes < DestinationString->MaximumLength) DestinationString->Buffer[bytes] = 0;
}

// IRQL <= DISPATCH_LEVEL (resident buffers). STATUS_BUFFER_TOO_SMALL leaves Destination as it was.
NTSTATUS NTAPI RtlAppendUnicodeStringToString(PUNICODE_STRING Destination, PCUNICODE_STRING Source) {
  std::size_t total = std::size_t(Destination->Length) + Source->Length;
  if (total > Destination->MaximumLength) return STATUS_BUFFER_TOO_SMALL;
  if (Source->Length == 0) return STATUS_SUCCESS;
  std::memmove(reinterpret_cast<PCHAR>(Destination->Buffer) + Destination->Length, Source->Buffer, Source->Length);
  Destination->Length = static_cast<USHORT>(total);
  if (total + sizeof(WCHAR) <= Destination->MaximumLength) Destination->Buffer[total / 2] = UNICODE_NULL;
  return STATUS_SUCCESS;
}

// IRQL <= DISPATCH_LEVEL (resident buffers). STATUS_BUFFER_TOO_SMALL leaves Destination as it was.
NTSTATUS NTAPI RtlAppendUnicodeToString(PUNICODE_STRING Destination, PCWSTR Source) {
  if (Source == nullptr) return STATUS_SUCCESS;
  UNICODE_STRING source;
  RtlInitUnicodeString(&source, Source);
  return RtlAppendUnicodeStringToString(Destination, &source);
}

// IRQL == PASSIVE_LEVEL. < 0, 0, > 0 as String1 sorts before, equal to or after String2.
LONG NTAPI RtlCompareUnicodeString(PCUNICODE_STRING String1, PCUNICODE_STRING String2, BOOLEAN CaseInSensitive) {
  return compare(view(String1), view(String2), CaseInSensitive != FALSE, foldWide);
}

// IRQL <= DISPATCH_LEVEL (resident buffers).
BOOLEAN NTAPI RtlEqualUnicodeString(PCUNICODE_STRING String1, PCUNICODE_STRING String2, BOOLEAN CaseInSensitive) {
  if (String1->Length != String2->Length) return FALSE;
  return compare(view(String1), view(String2), CaseInSensitive != FALSE, foldWide) == 0 ? TRUE : FALSE;
}

// IRQL == PASSIVE_LEVEL. TRUE when String1 is a prefix of String2.
BOOLEAN NTAPI RtlPrefixUnicodeString(PCUNICODE_STRING String1, PCUNICODE_STRING String2, BOOLEAN CaseInSensitive) {
  auto prefix = view(String1);
  auto whole = view(String2);
  if (prefix.size() > whole.size()) return FALSE;
  return compare(prefix, whole.substr(0, prefix.size()), CaseInSensitive != FALSE, foldWide) == 0 ? TRUE : FALSE;
}

// IRQL == PASSIVE_LEVEL. Case-insensitive comparison folds ASCII letters.
LONG NTAPI RtlCompareString(const STRING* String1, const STRING* String2, BOOLEAN CaseInSensitive) {
  auto a = view(String1);
  auto b = view(String2);
  std::basic_string_view<unsigned char> ua(reinterpret_cast<const unsigned char*>(a.data()), a.size());
  std::basic_string_view<unsigned char> ub(reinterpret_cast<const unsigned char*>(b.data()), b.size());
  return compare(ua, ub, CaseInSensitive != FALSE, [](unsigned char c) { return foldNarrow(static_cast<char>(c)); });
}

BOOLEAN NTAPI RtlEqualString(const STRING* String1, const STRING* String2, BOOLEAN CaseInSensitive) {
  if (String1->Length != String2->Length) return FALSE;
  return RtlCompareString(String1, String2, CaseInSensitive) == 0 ? TRUE : FALSE;
}

// Any IRQL.
WCHAR NTAPI RtlUpcaseUnicodeChar(WCHAR SourceCharacter) { return static_cast<WCHAR>(upcase(SourceCharacter)); }
WCHAR NTAPI RtlDowncaseUnicodeChar(WCHAR SourceCharacter) { return static_cast<WCHAR>(downcase(SourceCharacter)); }
CHAR NTAPI RtlUpperChar(CHAR Character) { return static_cast<CHAR>(foldNarrow(Character)); }

// IRQL == PASSIVE_LEVEL.
NTSTATUS NTAPI RtlUpcaseUnicodeString(PUNICODE_STRING DestinationString, PCUNICODE_STRING SourceString,
                                      BOOLEAN AllocateDestinationString) {
  auto source = view(SourceString);
  if (AllocateDestinationString) {
    DestinationString->Buffer = nullptr;
    if (SourceString->Length != 0) {
      DestinationString->Buffer = static_cast<PWCH>(allocateString(SourceString->Length, __builtin_return_address(0)));
      if (DestinationString->Buffer == nullptr) return STATUS_NO_MEMORY;
    }
    DestinationString->MaximumLength = SourceString->Length;
  } else if (SourceString->Length > DestinationString->MaximumLength) {
    return STATUS_BUFFER_OVERFLOW;
  }
  for (std::size_t i = 0; i < source.size(); ++i) DestinationString->Buffer[i] = static_cast<WCHAR>(upcase(source[i]));
  DestinationString->Length = static_cast<USHORT>(source.size() * sizeof(WCHAR));
  return STATUS_SUCCESS;
}

// IRQL == PASSIVE_LEVEL. Bytes the converted string needs, terminator included.
ULONG NTAPI RtlxUnicodeStringToAnsiSize(PCUNICODE_STRING UnicodeString) {
  return static_cast<ULONG>(utf8Length(view(UnicodeString)) + 1);
}

ULONG NTAPI RtlxAnsiStringToUnicodeSize(PCANSI_STRING AnsiString) {
  return static_cast<ULONG>((utf16Length(view(AnsiString)) + 1) * sizeof(WCHAR));
}

// IRQL == PASSIVE_LEVEL. Without allocation, a destination that is too small receives what
// fits, terminated, and the result is STATUS_BUFFER_OVERFLOW.
NTSTATUS NTAPI RtlUnicodeStringToAnsiString(PANSI_STRING DestinationString, PCUNICODE_STRING SourceString,
                                            BOOLEAN AllocateDestinationString) {
  auto source = view(SourceString);
  std::size_t needed = utf8Length(source) + 1;
  if (needed > 0xFFFF) return STATUS_INVALID_PARAMETER_2;
  NTSTATUS status = STATUS_SUCCESS;
  std::size_t room;
  if (AllocateDestinationString) {
    auto* buffer = static_cast<PCHAR>(allocateString(needed, __builtin_return_address(0)));
    if (buffer == nullptr) return STATUS_NO_MEMORY;
    DestinationString->Buffer = buffer;
    DestinationString->MaximumLength = static_cast<USHORT>(needed);
    room = needed - 1;
  } else {
    if (DestinationString->MaximumLength == 0) return STATUS_BUFFER_OVERFLOW;
    room = DestinationString->MaximumLength - 1u;
    if (needed - 1 > room) status = STATUS_BUFFER_OVERFLOW;
  }
  BoundedWriter<char> out(DestinationString->Buffer, room);
  appendAsUtf8(source, out);
  DestinationString->Buffer[out.length()] = 0;
  DestinationString->Length = static_cast<USHORT>(out.length());
  return status;
}

// IRQL == PASSIVE_LEVEL. Without allocation, a destination that cannot hold the whole
// string and its terminator is left unchanged and the result is STATUS_BUFFER_OVERFLOW.
NTSTATUS NTAPI RtlAnsiStringToUnicodeString(PUNICODE_STRING DestinationString, PCANSI_STRING SourceString,
                                            BOOLEAN AllocateDestinationString) {
  auto source = view(SourceString);
  std::size_t neededBytes = (utf16Length(source) + 1) * sizeof(WCHAR);
  if (neededBytes > 0xFFFF) return STATUS_INVALID_PARAMETER_2;
  if (AllocateDestinationString) {
    auto* buffer = static_cast<PWCH>(allocateString(neededBytes, __builtin_return_address(0)));
    if (buffer == nullptr) return STATUS_NO_MEMORY;
    DestinationString->Buffer = buffer;
    DestinationString->MaximumLength = static_cast<USHORT>(neededBytes);
  } else if (neededBytes > DestinationString->MaximumLength) {
    return STATUS_BUFFER_OVERFLOW;
  }
  BoundedWriter<char16_t> out(asU16(DestinationString->Buffer), neededBytes / sizeof(WCHAR) - 1);
  appendAsUtf16(source, out);
  DestinationString->Buffer[out.length()] = UNICODE_NULL;
  DestinationString->Length = static_cast<USHORT>(out.length() * sizeof(WCHAR));
  return STATUS_SUCCESS;
}

// IRQL == PASSIVE_LEVEL. Frees a buffer one of the conversion routines allocated.
VOID NTAPI RtlFreeUnicodeString(PUNICODE_STRING UnicodeString) {
  if (UnicodeString->Buffer != nullptr) pool::free(UnicodeString->Buffer, nullptr, __builtin_return_address(0));
  UnicodeString->Buffer = nullptr;
  UnicodeString->Length = UnicodeString->MaximumLength = 0;
}

VOID NTAPI RtlFreeAnsiString(PANSI_STRING AnsiString) {
  if (AnsiString->Buffer != nullptr) pool::free(AnsiString->Buffer, nullptr, __builtin_return_address(0));
  AnsiString->Buffer = nullptr;
  AnsiString->Length = AnsiString->MaximumLength = 0;
}

// IRQL == PASSIVE_LEVEL. Base 0 means 10; 2, 8, 10 and 16 are valid. The digits and a
// terminator must fit in String->MaximumLength, else STATUS_BUFFER_OVERFLOW.
NTSTATUS NTAPI RtlIntegerToUnicodeString(ULONG Value, ULONG Base, PUNICODE_STRING String) {
  return integerToUnicode(Value, Base, String);
}

NTSTATUS NTAPI RtlInt64ToUnicodeString(ULONGLONG Value, ULONG Base, PUNICODE_STRING String) {
  return integerToUnicode(Value, Base, String);
}

// IRQL == PASSIVE_LEVEL. An empty string is STATUS_INVALID_PARAMETER; one that does not
// start with a number gives 0 and STATUS_SUCCESS.
NTSTATUS NTAPI RtlUnicodeStringToInteger(PCUNICODE_STRING String, ULONG Base, PULONG Value) {
  auto text = view(String);
  if (text.empty()) return STATUS_INVALID_PARAMETER;
  return parseInteger(text, Base, Value);
}

NTSTATUS NTAPI RtlCharToInteger(PCSZ String, ULONG Base, PULONG Value) {
  if (Value == nullptr) return STATUS_ACCESS_VIOLATION;
  return parseInteger(std::string_view(String, boundedLength(String, SIZE_MAX)), Base, Value);
}

}  // extern "C"
