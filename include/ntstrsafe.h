/*
 * ntstrsafe.h -- bounded string copy, concatenation, formatting and length routines for
 * kernel-mode drivers, with the documented NTSTATUS results.
 *
 * ndishost's own header, written from the published documentation of the routines. They
 * are exported by the ndishost runtime rather than inlined; the formatting routines use
 * the same Windows-semantics formatter as DbgPrint (see <wdm.h>): %s/%c take the
 * routine's own character width, %S/%C the other one, %hs/%hc narrow and %ls/%ws/%lc/%wc
 * wide; %Z and %wZ take a PANSI_STRING / PUNICODE_STRING.
 *
 * Results (every routine): STATUS_SUCCESS; STATUS_BUFFER_OVERFLOW when the result was
 * truncated -- the destination then holds the truncated, null-terminated text;
 * STATUS_INVALID_PARAMETER for a zero or too large destination size (the destination is
 * then left untouched), a too large source limit, or a NULL pointer; for Cat, a
 * destination that is not null-terminated within its size. The narrow ("A") routines
 * treat text as bytes; where narrow and wide text meet, narrow text is UTF-8.
 * Callers: any IRQL for nonpaged buffers (the Printf forms with %ws/%wZ: PASSIVE_LEVEL).
 */
#ifndef NDISHOST_NTSTRSAFE_H
#define NDISHOST_NTSTRSAFE_H

#include <stdarg.h>
#include <ntdef.h>
#include <ntstatus.h>

NDISHOST_EXTERN_C_BEGIN

#define NTSTRSAFE_MAX_CCH 2147483647
#define NTSTRSAFE_MAX_LENGTH (NTSTRSAFE_MAX_CCH - 1)
#define NTSTRSAFE_UNICODE_STRING_MAX_CCH (0xffff / sizeof(WCHAR))

typedef char *NTSTRSAFE_PSTR;
typedef const char *NTSTRSAFE_PCSTR;
typedef WCHAR *NTSTRSAFE_PWSTR;
typedef const WCHAR *NTSTRSAFE_PCWSTR;
typedef const WCHAR UNALIGNED *NTSTRSAFE_PCUWSTR;

#define NTSTRSAFEDDI NTSYSAPI NTSTATUS NTAPI
#define NTSTRSAFEWORKERDDI NTSTRSAFEDDI

/* ---- copy ---------------------------------------------------------------------------- */
NTSTRSAFEDDI RtlStringCchCopyW(_Out_writes_(cchDest) NTSTRSAFE_PWSTR pszDest, _In_ size_t cchDest, _In_ NTSTRSAFE_PCWSTR pszSrc);
NTSTRSAFEDDI RtlStringCchCopyA(_Out_writes_(cchDest) NTSTRSAFE_PSTR pszDest, _In_ size_t cchDest, _In_ NTSTRSAFE_PCSTR pszSrc);
NTSTRSAFEDDI RtlStringCbCopyW(_Out_writes_bytes_(cbDest) NTSTRSAFE_PWSTR pszDest, _In_ size_t cbDest, _In_ NTSTRSAFE_PCWSTR pszSrc);
NTSTRSAFEDDI RtlStringCbCopyA(_Out_writes_bytes_(cbDest) NTSTRSAFE_PSTR pszDest, _In_ size_t cbDest, _In_ NTSTRSAFE_PCSTR pszSrc);
/* Copy at most cchToCopy / cbToCopy of the source. */
NTSTRSAFEDDI RtlStringCchCopyNW(_Out_writes_(cchDest) NTSTRSAFE_PWSTR pszDest, _In_ size_t cchDest,
                                _In_ NTSTRSAFE_PCWSTR pszSrc, _In_ size_t cchToCopy);
NTSTRSAFEDDI RtlStringCchCopyNA(_Out_writes_(cchDest) NTSTRSAFE_PSTR pszDest, _In_ size_t cchDest,
                                _In_ NTSTRSAFE_PCSTR pszSrc, _In_ size_t cchToCopy);
NTSTRSAFEDDI RtlStringCbCopyNW(_Out_writes_bytes_(cbDest) NTSTRSAFE_PWSTR pszDest, _In_ size_t cbDest,
                               _In_reads_bytes_(cbToCopy) NTSTRSAFE_PCWSTR pszSrc, _In_ size_t cbToCopy);
NTSTRSAFEDDI RtlStringCbCopyNA(_Out_writes_bytes_(cbDest) NTSTRSAFE_PSTR pszDest, _In_ size_t cbDest,
                               _In_reads_bytes_(cbToCopy) NTSTRSAFE_PCSTR pszSrc, _In_ size_t cbToCopy);

/* ---- concatenate --------------------------------------------------------------------- */
NTSTRSAFEDDI RtlStringCchCatW(_Inout_updates_(cchDest) NTSTRSAFE_PWSTR pszDest, _In_ size_t cchDest, _In_ NTSTRSAFE_PCWSTR pszSrc);
NTSTRSAFEDDI RtlStringCchCatA(_Inout_updates_(cchDest) NTSTRSAFE_PSTR pszDest, _In_ size_t cchDest, _In_ NTSTRSAFE_PCSTR pszSrc);
NTSTRSAFEDDI RtlStringCbCatW(_Inout_updates_bytes_(cbDest) NTSTRSAFE_PWSTR pszDest, _In_ size_t cbDest, _In_ NTSTRSAFE_PCWSTR pszSrc);
NTSTRSAFEDDI RtlStringCbCatA(_Inout_updates_bytes_(cbDest) NTSTRSAFE_PSTR pszDest, _In_ size_t cbDest, _In_ NTSTRSAFE_PCSTR pszSrc);
NTSTRSAFEDDI RtlStringCchCatNW(_Inout_updates_(cchDest) NTSTRSAFE_PWSTR pszDest, _In_ size_t cchDest,
                               _In_ NTSTRSAFE_PCWSTR pszSrc, _In_ size_t cchToAppend);
NTSTRSAFEDDI RtlStringCchCatNA(_Inout_updates_(cchDest) NTSTRSAFE_PSTR pszDest, _In_ size_t cchDest,
                               _In_ NTSTRSAFE_PCSTR pszSrc, _In_ size_t cchToAppend);
NTSTRSAFEDDI RtlStringCbCatNW(_Inout_updates_bytes_(cbDest) NTSTRSAFE_PWSTR pszDest, _In_ size_t cbDest,
                              _In_reads_bytes_(cbToAppend) NTSTRSAFE_PCWSTR pszSrc, _In_ size_t cbToAppend);
NTSTRSAFEDDI RtlStringCbCatNA(_Inout_updates_bytes_(cbDest) NTSTRSAFE_PSTR pszDest, _In_ size_t cbDest,
                              _In_reads_bytes_(cbToAppend) NTSTRSAFE_PCSTR pszSrc, _In_ size_t cbToAppend);

/* ---- format -------------------------------------------------------------------------- */
/* No printf format attribute: the format language is Windows', not glibc's. */
NTSYSAPI NTSTATUS __cdecl RtlStringCchPrintfW(_Out_writes_(cchDest) NTSTRSAFE_PWSTR pszDest, _In_ size_t cchDest,
                                              _In_ _Printf_format_string_ NTSTRSAFE_PCWSTR pszFormat, ...);
NTSYSAPI NTSTATUS __cdecl RtlStringCchPrintfA(_Out_writes_(cchDest) NTSTRSAFE_PSTR pszDest, _In_ size_t cchDest,
                                              _In_ _Printf_format_string_ NTSTRSAFE_PCSTR pszFormat, ...);
NTSYSAPI NTSTATUS __cdecl RtlStringCbPrintfW(_Out_writes_bytes_(cbDest) NTSTRSAFE_PWSTR pszDest, _In_ size_t cbDest,
                                             _In_ _Printf_format_string_ NTSTRSAFE_PCWSTR pszFormat, ...);
NTSYSAPI NTSTATUS __cdecl RtlStringCbPrintfA(_Out_writes_bytes_(cbDest) NTSTRSAFE_PSTR pszDest, _In_ size_t cbDest,
                                             _In_ _Printf_format_string_ NTSTRSAFE_PCSTR pszFormat, ...);
NTSTRSAFEDDI RtlStringCchVPrintfW(_Out_writes_(cchDest) NTSTRSAFE_PWSTR pszDest, _In_ size_t cchDest,
                                  _In_ _Printf_format_string_ NTSTRSAFE_PCWSTR pszFormat, _In_ va_list argList);
NTSTRSAFEDDI RtlStringCchVPrintfA(_Out_writes_(cchDest) NTSTRSAFE_PSTR pszDest, _In_ size_t cchDest,
                                  _In_ _Printf_format_string_ NTSTRSAFE_PCSTR pszFormat, _In_ va_list argList);
NTSTRSAFEDDI RtlStringCbVPrintfW(_Out_writes_bytes_(cbDest) NTSTRSAFE_PWSTR pszDest, _In_ size_t cbDest,
                                 _In_ _Printf_format_string_ NTSTRSAFE_PCWSTR pszFormat, _In_ va_list argList);
NTSTRSAFEDDI RtlStringCbVPrintfA(_Out_writes_bytes_(cbDest) NTSTRSAFE_PSTR pszDest, _In_ size_t cbDest,
                                 _In_ _Printf_format_string_ NTSTRSAFE_PCSTR pszFormat, _In_ va_list argList);

/* ---- length -------------------------------------------------------------------------- */
/* Length without the terminator; STATUS_INVALID_PARAMETER (length 0) when there is no
 * terminator within the maximum. The length pointer is optional. */
NTSTRSAFEDDI RtlStringCchLengthW(_In_ NTSTRSAFE_PCWSTR psz, _In_ size_t cchMax,
                                 _Out_opt_ size_t *pcchLength);
NTSTRSAFEDDI RtlStringCchLengthA(_In_ NTSTRSAFE_PCSTR psz, _In_ size_t cchMax,
                                 _Out_opt_ size_t *pcchLength);
NTSTRSAFEDDI RtlStringCbLengthW(_In_ NTSTRSAFE_PCWSTR psz, _In_ size_t cbMax,
                                _Out_opt_ size_t *pcbLength);
NTSTRSAFEDDI RtlStringCbLengthA(_In_ NTSTRSAFE_PCSTR psz, _In_ size_t cbMax,
                                _Out_opt_ size_t *pcbLength);

/* ---- UNICODE_STRING ------------------------------------------------------------------ */
/* Counted results: Length is set, no terminator is written. A string whose Length or
 * MaximumLength is odd, Length > MaximumLength, MaximumLength > 0xFFFE or a NULL Buffer
 * with a non-zero MaximumLength is STATUS_INVALID_PARAMETER. */
NTSTRSAFEDDI RtlUnicodeStringInit(_Out_ PUNICODE_STRING DestinationString, _In_opt_ NTSTRSAFE_PCWSTR pszSrc);
NTSTRSAFEDDI RtlUnicodeStringValidate(_In_opt_ PCUNICODE_STRING SourceString);
NTSTRSAFEDDI RtlUnicodeStringCopy(_Inout_ PUNICODE_STRING DestinationString, _In_ PCUNICODE_STRING SourceString);
NTSTRSAFEDDI RtlUnicodeStringCopyString(_Inout_ PUNICODE_STRING DestinationString, _In_ NTSTRSAFE_PCWSTR pszSrc);
NTSTRSAFEDDI RtlUnicodeStringCat(_Inout_ PUNICODE_STRING DestinationString, _In_ PCUNICODE_STRING SourceString);
NTSTRSAFEDDI RtlUnicodeStringCatString(_Inout_ PUNICODE_STRING DestinationString, _In_ NTSTRSAFE_PCWSTR pszSrc);
NTSYSAPI NTSTATUS __cdecl RtlUnicodeStringPrintf(_Inout_ PUNICODE_STRING DestinationString,
                                                 _In_ _Printf_format_string_ NTSTRSAFE_PCWSTR pszFormat, ...);
NTSTRSAFEDDI RtlUnicodeStringVPrintf(_Inout_ PUNICODE_STRING DestinationString,
                                     _In_ _Printf_format_string_ NTSTRSAFE_PCWSTR pszFormat, _In_ va_list argList);

NDISHOST_EXTERN_C_END

#endif /* NDISHOST_NTSTRSAFE_H */
