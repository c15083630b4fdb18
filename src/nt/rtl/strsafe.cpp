// ntstrsafe.h: bounded copy, concatenation, formatting and length routines, with the
// documented results (see the header). One template per operation serves the narrow and
// wide, character-count and byte-count forms.
#include "nt/rtl/ddk.hpp"

#include <algorithm>
#include <cstdarg>
#include <string_view>

#include "nt/rtl/format.hpp"
#include "nt/rtl/text_codec.hpp"

namespace {

using namespace ndishost::nt::rtl;

constexpr std::size_t kMaxCch = NTSTRSAFE_MAX_CCH;
constexpr std::size_t kMaxLength = NTSTRSAFE_MAX_LENGTH;
constexpr std::size_t kUnicodeStringMaxBytes = NTSTRSAFE_UNICODE_STRING_MAX_CCH * sizeof(WCHAR);

template <class CharT>
bool validDestination(const CharT* dest, std::size_t cchDest) {
  return dest != nullptr && cchDest != 0 && cchDest <= kMaxCch;
}

// Copies up to cchToCopy units of src (stopping at its terminator) into dest, always
// terminating. dest must be valid.
template <class CharT>
NTSTATUS copyInto(CharT* dest, std::size_t cchDest, const CharT* src, std::size_t cchToCopy) {
  if (src == nullptr) {
    *dest = 0;
    return STATUS_INVALID_PARAMETER;
  }
  std::size_t n = 0;
  while (n + 1 < cchDest && n < cchToCopy && src[n] != 0) {
    dest[n] = src[n];
    ++n;
  }
  dest[n] = 0;
  bool more = n < cchToCopy && src[n] != 0;
  return more ? STATUS_BUFFER_OVERFLOW : STATUS_SUCCESS;
}

template <class CharT>
NTSTATUS copy(CharT* dest, std::size_t cchDest, const CharT* src, std::size_t cchToCopy) {
  if (!validDestination(dest, cchDest)) return STATUS_INVALID_PARAMETER;
  if (cchToCopy > kMaxCch) {
    *dest = 0;
    return STATUS_INVALID_PARAMETER;
  }
  return copyInto(dest, cchDest, src, cchToCopy);
}

template <class CharT>
NTSTATUS cat(CharT* dest, std::size_t cchDest, const CharT* src, std::size_t cchToAppend) {
  if (!validDestination(dest, cchDest)) return STATUS_INVALID_PARAMETER;
  std::size_t existing = boundedLength(dest, cchDest);
  if (existing == cchDest) return STATUS_INVALID_PARAMETER;  // not terminated within its size
  if (cchToAppend > kMaxCch) return STATUS_INVALID_PARAMETER;
  return copyInto(dest + existing, cchDest - existing, src, cchToAppend);
}

template <class CharT>
NTSTATUS length(const CharT* text, std::size_t cchMax, std::size_t* cchLength) {
  NTSTATUS status = STATUS_INVALID_PARAMETER;
  std::size_t n = 0;
  if (text != nullptr && cchMax != 0 && cchMax <= kMaxCch) {
    n = boundedLength(text, cchMax);
    if (n < cchMax) {
      status = STATUS_SUCCESS;
    } else {
      n = 0;
    }
  }
  if (cchLength != nullptr) *cchLength = n;
  return status;
}

template <class CharT>
std::basic_string_view<CharT> formatView(const CharT* format) {
  return {format, boundedLength(format, kMaxLength)};
}

NTSTATUS formatInto(char* dest, std::size_t cchDest, const char* format, va_list arguments) {
  if (!validDestination(dest, cchDest)) return STATUS_INVALID_PARAMETER;
  if (format == nullptr) {
    *dest = 0;
    return STATUS_INVALID_PARAMETER;
  }
  BoundedWriter<char> out(dest, cchDest - 1);
  VaListArguments source(arguments);
  bool complete = formatWindows(formatView(format), source, out);
  dest[out.length()] = 0;
  return complete ? STATUS_SUCCESS : STATUS_BUFFER_OVERFLOW;
}

NTSTATUS formatInto(WCHAR* dest, std::size_t cchDest, const WCHAR* format, va_list arguments) {
  if (!validDestination(dest, cchDest)) return STATUS_INVALID_PARAMETER;
  if (format == nullptr) {
    *dest = 0;
    return STATUS_INVALID_PARAMETER;
  }
  BoundedWriter<char16_t> out(asU16(dest), cchDest - 1);
  VaListArguments source(arguments);
  bool complete = formatWindows(formatView(asU16(format)), source, out);
  dest[out.length()] = 0;
  return complete ? STATUS_SUCCESS : STATUS_BUFFER_OVERFLOW;
}

bool validUnicodeString(PCUNICODE_STRING s) {
  if (s == nullptr) return false;
  if ((s->Length & 1) != 0 || (s->MaximumLength & 1) != 0) return false;
  if (s->Length > s->MaximumLength || s->MaximumLength > kUnicodeStringMaxBytes) return false;
  return s->Buffer != nullptr || s->MaximumLength == 0;
}

// Appends `units` after Destination's current text, as much as fits.
NTSTATUS appendUnits(PUNICODE_STRING destination, std::u16string_view units) {
  std::size_t used = destination->Length / sizeof(WCHAR);
  std::size_t room = destination->MaximumLength / sizeof(WCHAR) - used;
  std::size_t n = std::min(room, units.size());
  std::copy_n(units.data(), n, asU16(destination->Buffer) + used);
  destination->Length = static_cast<USHORT>((used + n) * sizeof(WCHAR));
  return n < units.size() ? STATUS_BUFFER_OVERFLOW : STATUS_SUCCESS;
}

std::u16string_view unicodeView(PCUNICODE_STRING s) {
  return {asU16(s->Buffer), std::size_t(s->Length / sizeof(WCHAR))};
}

}  // namespace

extern "C" {

NTSTATUS NTAPI RtlStringCchCopyW(NTSTRSAFE_PWSTR pszDest, size_t cchDest, NTSTRSAFE_PCWSTR pszSrc) {
  return copy(asU16(pszDest), cchDest, asU16(pszSrc), kMaxLength);
}
NTSTATUS NTAPI RtlStringCchCopyA(NTSTRSAFE_PSTR pszDest, size_t cchDest, NTSTRSAFE_PCSTR pszSrc) {
  return copy(pszDest, cchDest, pszSrc, kMaxLength);
}
NTSTATUS NTAPI RtlStringCbCopyW(NTSTRSAFE_PWSTR pszDest, size_t cbDest, NTSTRSAFE_PCWSTR pszSrc) {
  return copy(asU16(pszDest), cbDest / sizeof(WCHAR), asU16(pszSrc), kMaxLength);
}
NTSTATUS NTAPI RtlStringCbCopyA(NTSTRSAFE_PSTR pszDest, size_t cbDest, NTSTRSAFE_PCSTR pszSrc) {
  return copy(pszDest, cbDest, pszSrc, kMaxLength);
}
NTSTATUS NTAPI RtlStringCchCopyNW(NTSTRSAFE_PWSTR pszDest, size_t cchDest, NTSTRSAFE_PCWSTR pszSrc, size_t cchToCopy) {
  return copy(asU16(pszDest), cchDest, asU16(pszSrc), cchToCopy);
}
NTSTATUS NTAPI RtlStringCchCopyNA(NTSTRSAFE_PSTR pszDest, size_t cchDest, NTSTRSAFE_PCSTR pszSrc, size_t cchToCopy) {
  return copy(pszDest, cchDest, pszSrc, cchToCopy);
}
NTSTATUS NTAPI RtlStringCbCopyNW(NTSTRSAFE_PWSTR pszDest, size_t cbDest, NTSTRSAFE_PCWSTR pszSrc, size_t cbToCopy) {
  return copy(asU16(pszDest), cbDest / sizeof(WCHAR), asU16(pszSrc), cbToCopy / sizeof(WCHAR));
}
NTSTATUS NTAPI RtlStringCbCopyNA(NTSTRSAFE_PSTR pszDest, size_t cbDest, NTSTRSAFE_PCSTR pszSrc, size_t cbToCopy) {
  return copy(pszDest, cbDest, pszSrc, cbToCopy);
}

NTSTATUS NTAPI RtlStringCchCatW(NTSTRSAFE_PWSTR pszDest, size_t cchDest, NTSTRSAFE_PCWSTR pszSrc) {
  return cat(asU16(pszDest), cchDest, asU16(pszSrc), kMaxLength);
}
NTSTATUS NTAPI RtlStringCchCatA(NTSTRSAFE_PSTR pszDest, size_t cchDest, NTSTRSAFE_PCSTR pszSrc) {
  return cat(pszDest, cchDest, pszSrc, kMaxLength);
}
NTSTATUS NTAPI RtlStringCbCatW(NTSTRSAFE_PWSTR pszDest, size_t cbDest, NTSTRSAFE_PCWSTR pszSrc) {
  return cat(asU16(pszDest), cbDest / sizeof(WCHAR), asU16(pszSrc), kMaxLength);
}
NTSTATUS NTAPI RtlStringCbCatA(NTSTRSAFE_PSTR pszDest, size_t cbDest, NTSTRSAFE_PCSTR pszSrc) {
  return cat(pszDest, cbDest, pszSrc, kMaxLength);
}
NTSTATUS NTAPI RtlStringCchCatNW(NTSTRSAFE_PWSTR pszDest, size_t cchDest, NTSTRSAFE_PCWSTR pszSrc, size_t cchToAppend) {
  return cat(asU16(pszDest), cchDest, asU16(pszSrc), cchToAppend);
}
NTSTATUS NTAPI RtlStringCchCatNA(NTSTRSAFE_PSTR pszDest, size_t cchDest, NTSTRSAFE_PCSTR pszSrc, size_t cchToAppend) {
  return cat(pszDest, cchDest, pszSrc, cchToAppend);
}
NTSTATUS NTAPI RtlStringCbCatNW(NTSTRSAFE_PWSTR pszDest, size_t cbDest, NTSTRSAFE_PCWSTR pszSrc, size_t cbToAppend) {
  return cat(asU16(pszDest), cbDest / sizeof(WCHAR), asU16(pszSrc), cbToAppend / sizeof(WCHAR));
}
NTSTATUS NTAPI RtlStringCbCatNA(NTSTRSAFE_PSTR pszDest, size_t cbDest, NTSTRSAFE_PCSTR pszSrc, size_t cbToAppend) {
  return cat(pszDest, cbDest, pszSrc, cbToAppend);
}

NTSTATUS NTAPI RtlStringCchVPrintfW(NTSTRSAFE_PWSTR pszDest, size_t cchDest, NTSTRSAFE_PCWSTR pszFormat,
                                    va_list argList) {
  return formatInto(pszDest, cchDest, pszFormat, argList);
}
NTSTATUS NTAPI RtlStringCchVPrintfA(NTSTRSAFE_PSTR pszDest, size_t cchDest, NTSTRSAFE_PCSTR pszFormat,
                                    va_list argList) {
  return formatInto(pszDest, cchDest, pszFormat, argList);
}
NTSTATUS NTAPI RtlStringCbVPrintfW(NTSTRSAFE_PWSTR pszDest, size_t cbDest, NTSTRSAFE_PCWSTR pszFormat,
                                   va_list argList) {
  return formatInto(pszDest, cbDest / sizeof(WCHAR), pszFormat, argList);
}
NTSTATUS NTAPI RtlStringCbVPrintfA(NTSTRSAFE_PSTR pszDest, size_t cbDest, NTSTRSAFE_PCSTR pszFormat,
                                   va_list argList) {
  return formatInto(pszDest, cbDest, pszFormat, argList);
}

NTSTATUS __cdecl RtlStringCchPrintfW(NTSTRSAFE_PWSTR pszDest, size_t cchDest, NTSTRSAFE_PCWSTR pszFormat, ...) {
  va_list arguments;
  va_start(arguments, pszFormat);
  NTSTATUS status = formatInto(pszDest, cchDest, pszFormat, arguments);
  va_end(arguments);
  return status;
}
NTSTATUS __cdecl RtlStringCchPrintfA(NTSTRSAFE_PSTR pszDest, size_t cchDest, NTSTRSAFE_PCSTR pszFormat, ...) {
  va_list arguments;
  va_start(arguments, pszFormat);
  NTSTATUS status = formatInto(pszDest, cchDest, pszFormat, arguments);
  va_end(arguments);
  return status;
}
NTSTATUS __cdecl RtlStringCbPrintfW(NTSTRSAFE_PWSTR pszDest, size_t cbDest, NTSTRSAFE_PCWSTR pszFormat, ...) {
  va_list arguments;
  va_start(arguments, pszFormat);
  NTSTATUS status = formatInto(pszDest, cbDest / sizeof(WCHAR), pszFormat, arguments);
  va_end(arguments);
  return status;
}
NTSTATUS __cdecl RtlStringCbPrintfA(NTSTRSAFE_PSTR pszDest, size_t cbDest, NTSTRSAFE_PCSTR pszFormat, ...) {
  va_list arguments;
  va_start(arguments, pszFormat);
  NTSTATUS status = formatInto(pszDest, cbDest, pszFormat, arguments);
  va_end(arguments);
  return status;
}

NTSTATUS NTAPI RtlStringCchLengthW(NTSTRSAFE_PCWSTR psz, size_t cchMax, size_t* pcchLength) {
  return length(asU16(psz), cchMax, pcchLength);
}
NTSTATUS NTAPI RtlStringCchLengthA(NTSTRSAFE_PCSTR psz, size_t cchMax, size_t* pcchLength) {
  return length(psz, cchMax, pcchLength);
}
NTSTATUS NTAPI RtlStringCbLengthW(NTSTRSAFE_PCWSTR psz, size_t cbMax, size_t* pcbLength) {
  size_t cch = 0;
  NTSTATUS status = length(asU16(psz), cbMax / sizeof(WCHAR), &cch);
  if (pcbLength != nullptr) *pcbLength = cch * sizeof(WCHAR);
  return status;
}
NTSTATUS NTAPI RtlStringCbLengthA(NTSTRSAFE_PCSTR psz, size_t cbMax, size_t* pcbLength) {
  return length(psz, cbMax, pcbLength);
}

NTSTATUS NTAPI RtlUnicodeStringInit(PUNICODE_STRING DestinationString, NTSTRSAFE_PCWSTR pszSrc) {
  if (DestinationString == nullptr) return STATUS_INVALID_PARAMETER;
  DestinationString->Length = DestinationString->MaximumLength = 0;
  DestinationString->Buffer = const_cast<PWCH>(pszSrc);
  if (pszSrc == nullptr) return STATUS_SUCCESS;
  std::size_t units = boundedLength(asU16(pszSrc), NTSTRSAFE_UNICODE_STRING_MAX_CCH);
  if (units == NTSTRSAFE_UNICODE_STRING_MAX_CCH) return STATUS_INVALID_PARAMETER;
  DestinationString->Length = static_cast<USHORT>(units * sizeof(WCHAR));
  DestinationString->MaximumLength = static_cast<USHORT>(DestinationString->Length + sizeof(WCHAR));
  return STATUS_SUCCESS;
}

NTSTATUS NTAPI RtlUnicodeStringValidate(PCUNICODE_STRING SourceString) {
  return validUnicodeString(SourceString) ? STATUS_SUCCESS : STATUS_INVALID_PARAMETER;
}

NTSTATUS NTAPI RtlUnicodeStringCopy(PUNICODE_STRING DestinationString, PCUNICODE_STRING SourceString) {
  if (!validUnicodeString(DestinationString) || !validUnicodeString(SourceString)) return STATUS_INVALID_PARAMETER;
  DestinationString->Length = 0;
  return appendUnits(DestinationString, unicodeView(SourceString));
}

NTSTATUS NTAPI RtlUnicodeStringCopyString(PUNICODE_STRING DestinationString, NTSTRSAFE_PCWSTR pszSrc) {
  if (!validUnicodeString(DestinationString) || pszSrc == nullptr) return STATUS_INVALID_PARAMETER;
  DestinationString->Length = 0;
  auto source = asU16(pszSrc);
  return appendUnits(DestinationString, {source, boundedLength(source, kMaxLength)});
}

NTSTATUS NTAPI RtlUnicodeStringCat(PUNICODE_STRING DestinationString, PCUNICODE_STRING SourceString) {
  if (!validUnicodeString(DestinationString) || !validUnicodeString(SourceString)) return STATUS_INVALID_PARAMETER;
  return appendUnits(DestinationString, unicodeView(SourceString));
}

NTSTATUS NTAPI RtlUnicodeStringCatString(PUNICODE_STRING DestinationString, NTSTRSAFE_PCWSTR pszSrc) {
  if (!validUnicodeString(DestinationString) || pszSrc == nullptr) return STATUS_INVALID_PARAMETER;
  auto source = asU16(pszSrc);
  return appendUnits(DestinationString, {source, boundedLength(source, kMaxLength)});
}

NTSTATUS NTAPI RtlUnicodeStringVPrintf(PUNICODE_STRING DestinationString, NTSTRSAFE_PCWSTR pszFormat,
                                       va_list argList) {
  if (!validUnicodeString(DestinationString) || pszFormat == nullptr) return STATUS_INVALID_PARAMETER;
  BoundedWriter<char16_t> out(asU16(DestinationString->Buffer), DestinationString->MaximumLength / sizeof(WCHAR));
  VaListArguments source(argList);
  bool complete = formatWindows(formatView(asU16(pszFormat)), source, out);
  DestinationString->Length = static_cast<USHORT>(out.length() * sizeof(WCHAR));
  return complete ? STATUS_SUCCESS : STATUS_BUFFER_OVERFLOW;
}

NTSTATUS __cdecl RtlUnicodeStringPrintf(PUNICODE_STRING DestinationString, NTSTRSAFE_PCWSTR pszFormat, ...) {
  va_list arguments;
  va_start(arguments, pszFormat);
  NTSTATUS status = RtlUnicodeStringVPrintf(DestinationString, pszFormat, arguments);
  va_end(arguments);
  return status;
}

}  // extern "C"
