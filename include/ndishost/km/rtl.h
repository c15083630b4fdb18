/*
 * ndishost/km/rtl.h -- run-time library part of <wdm.h>: list helpers, memory helpers,
 * interlocked operations, byte swaps, counted strings, version queries and debug output.
 *
 * Written for ndishost from the DDI reference. What the WDK provides as macros or inline
 * functions (list helpers, RtlCopyMemory, Interlocked*) is provided the same way here; the
 * rest are exported by the ndishost runtime (src/nt/rtl). Included by <wdm.h>.
 */
#ifndef NDISHOST_KM_RTL_H
#define NDISHOST_KM_RTL_H

#include <stdarg.h>
#include <ndishost/km/wdm_types.h>

NDISHOST_EXTERN_C_BEGIN

/* ==== fail-fast ======================================================================= */
/* RtlFailFast codes used by the inline helpers below (published ABI values). */
#define FAST_FAIL_LEGACY_GS_VIOLATION 0
#define FAST_FAIL_VTGUARD_CHECK_FAILURE 1
#define FAST_FAIL_STACK_COOKIE_CHECK_FAILURE 2
#define FAST_FAIL_CORRUPT_LIST_ENTRY 3
#define FAST_FAIL_INCORRECT_STACK 4
#define FAST_FAIL_INVALID_ARG 5
#define FAST_FAIL_GS_COOKIE_INIT 6
#define FAST_FAIL_FATAL_APP_EXIT 7
#define FAST_FAIL_RANGE_CHECK_FAILURE 8
#define FAST_FAIL_INVALID_BUFFER_ACCESS 28

/* Windows ends the system with KERNEL_SECURITY_CHECK_FAILURE (0x139). ndishost reports the
 * rule "rtl.fail-fast" (list corruption: "list.corrupt") and stops, unless a test records
 * violations, in which case it returns and the helper leaves the list untouched. */
#ifdef NDISHOST_TARGET_WINDOWS
/* x64 Windows: the __fastfail interrupt (int 0x29, code in ECX) ends the system. */
FORCEINLINE DECLSPEC_NORETURN VOID RtlFailFast(_In_ ULONG Code) {
  __asm__ __volatile__("int $0x29" : : "c"(Code) : "memory");
  __builtin_unreachable();
}
#else
NTSYSAPI VOID NTAPI RtlFailFast(_In_ ULONG Code);
#endif

/* ==== doubly linked lists ============================================================= */
/* The checked forms the WDK uses since Windows 8: an entry whose neighbours do not point
 * back at it is corruption (a double removal, a freed entry still linked, ...). */
FORCEINLINE VOID FatalListEntryError(_In_ PVOID P1, _In_ PVOID P2, _In_ PVOID P3) {
  UNREFERENCED_PARAMETER(P1);
  UNREFERENCED_PARAMETER(P2);
  UNREFERENCED_PARAMETER(P3);
  RtlFailFast(FAST_FAIL_CORRUPT_LIST_ENTRY);
}

FORCEINLINE VOID InitializeListHead(_Out_ PLIST_ENTRY ListHead) {
  ListHead->Flink = ListHead->Blink = ListHead;
}

FORCEINLINE BOOLEAN IsListEmpty(_In_ const LIST_ENTRY *ListHead) {
  return (BOOLEAN)(ListHead->Flink == ListHead);
}

/* Returns TRUE when the list is empty after the removal. */
FORCEINLINE BOOLEAN RemoveEntryListUnsafe(_In_ PLIST_ENTRY Entry) {
  PLIST_ENTRY Flink = Entry->Flink;
  PLIST_ENTRY Blink = Entry->Blink;
  Blink->Flink = Flink;
  Flink->Blink = Blink;
  return (BOOLEAN)(Flink == Blink);
}

FORCEINLINE BOOLEAN RemoveEntryList(_In_ PLIST_ENTRY Entry) {
  PLIST_ENTRY Flink = Entry->Flink;
  PLIST_ENTRY Blink = Entry->Blink;
  if (Flink->Blink != Entry || Blink->Flink != Entry) {
    FatalListEntryError((PVOID)Blink, (PVOID)Entry, (PVOID)Flink);
    return FALSE;
  }
  Blink->Flink = Flink;
  Flink->Blink = Blink;
  return (BOOLEAN)(Flink == Blink);
}

/* Returns the removed entry; on an empty list that is ListHead itself. */
FORCEINLINE PLIST_ENTRY RemoveHeadList(_Inout_ PLIST_ENTRY ListHead) {
  PLIST_ENTRY Entry = ListHead->Flink;
  PLIST_ENTRY Flink = Entry->Flink;
  if (Entry->Blink != ListHead || Flink->Blink != Entry) {
    FatalListEntryError((PVOID)ListHead, (PVOID)Entry, (PVOID)Flink);
    return ListHead;
  }
  ListHead->Flink = Flink;
  Flink->Blink = ListHead;
  return Entry;
}

FORCEINLINE PLIST_ENTRY RemoveTailList(_Inout_ PLIST_ENTRY ListHead) {
  PLIST_ENTRY Entry = ListHead->Blink;
  PLIST_ENTRY Blink = Entry->Blink;
  if (Entry->Flink != ListHead || Blink->Flink != Entry) {
    FatalListEntryError((PVOID)Blink, (PVOID)Entry, (PVOID)ListHead);
    return ListHead;
  }
  ListHead->Blink = Blink;
  Blink->Flink = ListHead;
  return Entry;
}

FORCEINLINE VOID InsertTailList(_Inout_ PLIST_ENTRY ListHead, _Out_ PLIST_ENTRY Entry) {
  PLIST_ENTRY Blink = ListHead->Blink;
  if (Blink->Flink != ListHead) {
    FatalListEntryError((PVOID)Blink, (PVOID)ListHead, (PVOID)Blink->Flink);
    return;
  }
  Entry->Flink = ListHead;
  Entry->Blink = Blink;
  Blink->Flink = Entry;
  ListHead->Blink = Entry;
}

FORCEINLINE VOID InsertHeadList(_Inout_ PLIST_ENTRY ListHead, _Out_ PLIST_ENTRY Entry) {
  PLIST_ENTRY Flink = ListHead->Flink;
  if (Flink->Blink != ListHead) {
    FatalListEntryError((PVOID)ListHead, (PVOID)Flink, (PVOID)Flink->Blink);
    return;
  }
  Entry->Flink = Flink;
  Entry->Blink = ListHead;
  Flink->Blink = Entry;
  ListHead->Flink = Entry;
}

/* Splices the circular list that ListToAppend belongs to (ListToAppend included: it is an
 * entry, not a head) onto the tail of ListHead. */
FORCEINLINE VOID AppendTailList(_Inout_ PLIST_ENTRY ListHead, _Inout_ PLIST_ENTRY ListToAppend) {
  PLIST_ENTRY ListEnd = ListHead->Blink;
  ListHead->Blink->Flink = ListToAppend;
  ListHead->Blink = ListToAppend->Blink;
  ListToAppend->Blink->Flink = ListHead;
  ListToAppend->Blink = ListEnd;
}

/* ==== singly linked lists ============================================================= */
FORCEINLINE PSINGLE_LIST_ENTRY PopEntryList(_Inout_ PSINGLE_LIST_ENTRY ListHead) {
  PSINGLE_LIST_ENTRY FirstEntry = ListHead->Next;
  if (FirstEntry != NULL) {
    ListHead->Next = FirstEntry->Next;
  }
  return FirstEntry;
}

FORCEINLINE VOID PushEntryList(_Inout_ PSINGLE_LIST_ENTRY ListHead, _Inout_ PSINGLE_LIST_ENTRY Entry) {
  Entry->Next = ListHead->Next;
  ListHead->Next = Entry;
}

/* ==== memory ========================================================================== */
#define RtlEqualMemory(Destination, Source, Length) (!memcmp((Destination), (Source), (Length)))
#define RtlMoveMemory(Destination, Source, Length) memmove((Destination), (Source), (Length))
#define RtlCopyMemory(Destination, Source, Length) memcpy((Destination), (Source), (Length))
#define RtlFillMemory(Destination, Length, Fill) memset((Destination), (Fill), (Length))
#define RtlZeroMemory(Destination, Length) memset((Destination), 0, (Length))
#define RtlCopyBytes RtlCopyMemory
#define RtlZeroBytes RtlZeroMemory
#define RtlFillBytes RtlFillMemory
#define RtlCopyMemory32 RtlCopyMemory

/* Number of leading bytes that are equal. Any IRQL for nonpaged buffers. */
NTSYSAPI SIZE_T NTAPI RtlCompareMemory(_In_ const VOID *Source1, _In_ const VOID *Source2, _In_ SIZE_T Length);

/* Zeroes through volatile stores so the compiler cannot drop the writes (secrets). */
FORCEINLINE PVOID RtlSecureZeroMemory(_Out_ PVOID ptr, _In_ SIZE_T cnt) {
  volatile char *vptr = (volatile char *)ptr;
  while (cnt != 0) {
    *vptr++ = 0;
    cnt--;
  }
  return ptr;
}

/* ==== interlocked operations ========================================================== */
/* LONG is 32-bit (LLP64). All are full barriers, as on Windows x64, except the explicit
 * Acquire, Release and NoFence forms. */
#define NDISHOST_SEQ __ATOMIC_SEQ_CST

FORCEINLINE LONG InterlockedIncrement(_Inout_ _Interlocked_operand_ LONG volatile *Addend) {
  return __atomic_add_fetch(Addend, 1, NDISHOST_SEQ);
}
FORCEINLINE LONG InterlockedDecrement(_Inout_ _Interlocked_operand_ LONG volatile *Addend) {
  return __atomic_sub_fetch(Addend, 1, NDISHOST_SEQ);
}
FORCEINLINE LONG InterlockedIncrementAcquire(LONG volatile *Addend) {
  return __atomic_add_fetch(Addend, 1, __ATOMIC_ACQUIRE);
}
FORCEINLINE LONG InterlockedIncrementRelease(LONG volatile *Addend) {
  return __atomic_add_fetch(Addend, 1, __ATOMIC_RELEASE);
}
FORCEINLINE LONG InterlockedIncrementNoFence(LONG volatile *Addend) {
  return __atomic_add_fetch(Addend, 1, __ATOMIC_RELAXED);
}
FORCEINLINE LONG InterlockedDecrementAcquire(LONG volatile *Addend) {
  return __atomic_sub_fetch(Addend, 1, __ATOMIC_ACQUIRE);
}
FORCEINLINE LONG InterlockedDecrementRelease(LONG volatile *Addend) {
  return __atomic_sub_fetch(Addend, 1, __ATOMIC_RELEASE);
}
FORCEINLINE LONG InterlockedDecrementNoFence(LONG volatile *Addend) {
  return __atomic_sub_fetch(Addend, 1, __ATOMIC_RELAXED);
}
/* Returns the previous value. */
FORCEINLINE LONG InterlockedExchange(_Inout_ _Interlocked_operand_ LONG volatile *Target, _In_ LONG Value) {
  return __atomic_exchange_n(Target, Value, NDISHOST_SEQ);
}
/* Stores Exchange when *Destination == Comperand; returns the previous value either way. */
FORCEINLINE LONG InterlockedCompareExchange(_Inout_ _Interlocked_operand_ LONG volatile *Destination,
                                            _In_ LONG ExChange, _In_ LONG Comperand) {
  __atomic_compare_exchange_n(Destination, &Comperand, ExChange, 0, NDISHOST_SEQ, NDISHOST_SEQ);
  return Comperand;
}
FORCEINLINE LONG InterlockedCompareExchangeAcquire(LONG volatile *Destination, LONG ExChange, LONG Comperand) {
  __atomic_compare_exchange_n(Destination, &Comperand, ExChange, 0, __ATOMIC_ACQUIRE, __ATOMIC_ACQUIRE);
  return Comperand;
}
FORCEINLINE LONG InterlockedCompareExchangeRelease(LONG volatile *Destination, LONG ExChange, LONG Comperand) {
  __atomic_compare_exchange_n(Destination, &Comperand, ExChange, 0, __ATOMIC_RELEASE, __ATOMIC_RELAXED);
  return Comperand;
}
/* Returns the previous value. */
FORCEINLINE LONG InterlockedExchangeAdd(_Inout_ _Interlocked_operand_ LONG volatile *Addend, _In_ LONG Value) {
  return __atomic_fetch_add(Addend, Value, NDISHOST_SEQ);
}
/* Returns the new value. */
FORCEINLINE LONG InterlockedAdd(_Inout_ _Interlocked_operand_ LONG volatile *Addend, _In_ LONG Value) {
  return __atomic_add_fetch(Addend, Value, NDISHOST_SEQ);
}
/* Or/And/Xor return the previous value. */
FORCEINLINE LONG InterlockedOr(_Inout_ _Interlocked_operand_ LONG volatile *Destination, _In_ LONG Value) {
  return __atomic_fetch_or(Destination, Value, NDISHOST_SEQ);
}
FORCEINLINE LONG InterlockedAnd(_Inout_ _Interlocked_operand_ LONG volatile *Destination, _In_ LONG Value) {
  return __atomic_fetch_and(Destination, Value, NDISHOST_SEQ);
}
FORCEINLINE LONG InterlockedXor(_Inout_ _Interlocked_operand_ LONG volatile *Destination, _In_ LONG Value) {
  return __atomic_fetch_xor(Destination, Value, NDISHOST_SEQ);
}

FORCEINLINE LONG64 InterlockedIncrement64(LONG64 volatile *Addend) { return __atomic_add_fetch(Addend, 1, NDISHOST_SEQ); }
FORCEINLINE LONG64 InterlockedDecrement64(LONG64 volatile *Addend) { return __atomic_sub_fetch(Addend, 1, NDISHOST_SEQ); }
FORCEINLINE LONG64 InterlockedExchange64(LONG64 volatile *Target, LONG64 Value) {
  return __atomic_exchange_n(Target, Value, NDISHOST_SEQ);
}
FORCEINLINE LONG64 InterlockedCompareExchange64(LONG64 volatile *Destination, LONG64 ExChange, LONG64 Comperand) {
  __atomic_compare_exchange_n(Destination, &Comperand, ExChange, 0, NDISHOST_SEQ, NDISHOST_SEQ);
  return Comperand;
}
FORCEINLINE LONG64 InterlockedExchangeAdd64(LONG64 volatile *Addend, LONG64 Value) {
  return __atomic_fetch_add(Addend, Value, NDISHOST_SEQ);
}
FORCEINLINE LONG64 InterlockedAdd64(LONG64 volatile *Addend, LONG64 Value) {
  return __atomic_add_fetch(Addend, Value, NDISHOST_SEQ);
}
FORCEINLINE LONG64 InterlockedOr64(LONG64 volatile *Destination, LONG64 Value) {
  return __atomic_fetch_or(Destination, Value, NDISHOST_SEQ);
}
FORCEINLINE LONG64 InterlockedAnd64(LONG64 volatile *Destination, LONG64 Value) {
  return __atomic_fetch_and(Destination, Value, NDISHOST_SEQ);
}
FORCEINLINE LONG64 InterlockedXor64(LONG64 volatile *Destination, LONG64 Value) {
  return __atomic_fetch_xor(Destination, Value, NDISHOST_SEQ);
}

FORCEINLINE SHORT InterlockedIncrement16(SHORT volatile *Addend) { return __atomic_add_fetch(Addend, 1, NDISHOST_SEQ); }
FORCEINLINE SHORT InterlockedDecrement16(SHORT volatile *Addend) { return __atomic_sub_fetch(Addend, 1, NDISHOST_SEQ); }
FORCEINLINE SHORT InterlockedCompareExchange16(SHORT volatile *Destination, SHORT ExChange, SHORT Comperand) {
  __atomic_compare_exchange_n(Destination, &Comperand, ExChange, 0, NDISHOST_SEQ, NDISHOST_SEQ);
  return Comperand;
}
FORCEINLINE CHAR InterlockedExchange8(CHAR volatile *Target, CHAR Value) {
  return __atomic_exchange_n(Target, Value, NDISHOST_SEQ);
}
FORCEINLINE CHAR InterlockedOr8(CHAR volatile *Destination, CHAR Value) {
  return __atomic_fetch_or(Destination, Value, NDISHOST_SEQ);
}
FORCEINLINE CHAR InterlockedAnd8(CHAR volatile *Destination, CHAR Value) {
  return __atomic_fetch_and(Destination, Value, NDISHOST_SEQ);
}

FORCEINLINE PVOID InterlockedExchangePointer(_Inout_ _Interlocked_operand_ PVOID volatile *Target, _In_opt_ PVOID Value) {
  return __atomic_exchange_n(Target, Value, NDISHOST_SEQ);
}
FORCEINLINE PVOID InterlockedCompareExchangePointer(_Inout_ _Interlocked_operand_ PVOID volatile *Destination,
                                                    _In_opt_ PVOID ExChange, _In_opt_ PVOID Comperand) {
  __atomic_compare_exchange_n(Destination, &Comperand, ExChange, 0, NDISHOST_SEQ, NDISHOST_SEQ);
  return Comperand;
}
FORCEINLINE PVOID InterlockedCompareExchangePointerAcquire(PVOID volatile *Destination, PVOID ExChange, PVOID Comperand) {
  __atomic_compare_exchange_n(Destination, &Comperand, ExChange, 0, __ATOMIC_ACQUIRE, __ATOMIC_ACQUIRE);
  return Comperand;
}
FORCEINLINE PVOID InterlockedCompareExchangePointerRelease(PVOID volatile *Destination, PVOID ExChange, PVOID Comperand) {
  __atomic_compare_exchange_n(Destination, &Comperand, ExChange, 0, __ATOMIC_RELEASE, __ATOMIC_RELAXED);
  return Comperand;
}

/* The LONG_PTR/SIZE_T forms, pointer sized on x64. */
#define InterlockedIncrementSizeT(a) ((SIZE_T)InterlockedIncrement64((LONG64 volatile *)(a)))
#define InterlockedDecrementSizeT(a) ((SIZE_T)InterlockedDecrement64((LONG64 volatile *)(a)))
#define InterlockedExchangeAddSizeT(a, b) ((SIZE_T)InterlockedExchangeAdd64((LONG64 volatile *)(a), (LONG64)(b)))
#define InterlockedAddSizeT(a, b) ((SIZE_T)InterlockedAdd64((LONG64 volatile *)(a), (LONG64)(b)))
#define InterlockedIncrementULongPtr InterlockedIncrementSizeT

/* Plain loads and stores with the documented ordering (ReadAcquire, WriteRelease, ...). */
FORCEINLINE LONG ReadNoFence(LONG const volatile *Source) { return __atomic_load_n(Source, __ATOMIC_RELAXED); }
FORCEINLINE LONG ReadAcquire(LONG const volatile *Source) { return __atomic_load_n(Source, __ATOMIC_ACQUIRE); }
FORCEINLINE VOID WriteNoFence(LONG volatile *Destination, LONG Value) { __atomic_store_n(Destination, Value, __ATOMIC_RELAXED); }
FORCEINLINE VOID WriteRelease(LONG volatile *Destination, LONG Value) { __atomic_store_n(Destination, Value, __ATOMIC_RELEASE); }
FORCEINLINE LONG64 ReadNoFence64(LONG64 const volatile *Source) { return __atomic_load_n(Source, __ATOMIC_RELAXED); }
FORCEINLINE LONG64 ReadAcquire64(LONG64 const volatile *Source) { return __atomic_load_n(Source, __ATOMIC_ACQUIRE); }
FORCEINLINE VOID WriteNoFence64(LONG64 volatile *Destination, LONG64 Value) { __atomic_store_n(Destination, Value, __ATOMIC_RELAXED); }
FORCEINLINE VOID WriteRelease64(LONG64 volatile *Destination, LONG64 Value) { __atomic_store_n(Destination, Value, __ATOMIC_RELEASE); }
FORCEINLINE PVOID ReadPointerNoFence(PVOID const volatile *Source) { return __atomic_load_n(Source, __ATOMIC_RELAXED); }
FORCEINLINE PVOID ReadPointerAcquire(PVOID const volatile *Source) { return __atomic_load_n(Source, __ATOMIC_ACQUIRE); }
FORCEINLINE VOID WritePointerNoFence(PVOID volatile *Destination, PVOID Value) { __atomic_store_n(Destination, Value, __ATOMIC_RELAXED); }
FORCEINLINE VOID WritePointerRelease(PVOID volatile *Destination, PVOID Value) { __atomic_store_n(Destination, Value, __ATOMIC_RELEASE); }

/* Full hardware + compiler barrier, and the compiler-only one. ThreadSanitizer does not
 * model fences (gcc refuses them under -fsanitize=thread); there the barrier is a locked
 * exchange, which is how x86 Windows implements KeMemoryBarrier. */
#if defined(__SANITIZE_THREAD__)
FORCEINLINE VOID KeMemoryBarrier(VOID) {
  volatile LONG Barrier = 0;
  (void)__atomic_exchange_n(&Barrier, 0, __ATOMIC_SEQ_CST);
}
#else
FORCEINLINE VOID KeMemoryBarrier(VOID) { __atomic_thread_fence(__ATOMIC_SEQ_CST); }
#endif
FORCEINLINE VOID KeMemoryBarrierWithoutFence(VOID) { __atomic_signal_fence(__ATOMIC_SEQ_CST); }
#define MemoryBarrier KeMemoryBarrier
#define _ReadWriteBarrier() __atomic_signal_fence(__ATOMIC_SEQ_CST)
#define _ReadBarrier _ReadWriteBarrier
#define _WriteBarrier _ReadWriteBarrier
#if defined(__x86_64__) || defined(__i386__)
#define YieldProcessor() __builtin_ia32_pause()
#elif defined(__aarch64__)
#define YieldProcessor() __asm__ __volatile__("yield")
#else
#define YieldProcessor() __atomic_signal_fence(__ATOMIC_SEQ_CST)
#endif

/* ==== byte swaps ====================================================================== */
FORCEINLINE USHORT RtlUshortByteSwap(_In_ USHORT Source) { return __builtin_bswap16(Source); }
FORCEINLINE ULONG RtlUlongByteSwap(_In_ ULONG Source) { return __builtin_bswap32(Source); }
FORCEINLINE ULONGLONG RtlUlonglongByteSwap(_In_ ULONGLONG Source) { return __builtin_bswap64(Source); }

/* ==== counted strings ================================================================= */
/* Callers: IRQL <= DISPATCH_LEVEL for nonpaged buffers; the Ansi/Unicode conversions,
 * comparisons and RtlIntegerToUnicodeString/RtlUnicodeStringToInteger: PASSIVE_LEVEL. */
NTSYSAPI VOID NTAPI RtlInitUnicodeString(_Out_ PUNICODE_STRING DestinationString, _In_opt_z_ PCWSTR SourceString);
NTSYSAPI NTSTATUS NTAPI RtlInitUnicodeStringEx(_Out_ PUNICODE_STRING DestinationString, _In_opt_z_ PCWSTR SourceString);
NTSYSAPI VOID NTAPI RtlInitAnsiString(_Out_ PANSI_STRING DestinationString, _In_opt_z_ PCSZ SourceString);
NTSYSAPI VOID NTAPI RtlInitString(_Out_ PSTRING DestinationString, _In_opt_z_ PCSZ SourceString);
NTSYSAPI NTSTATUS NTAPI RtlInitAnsiStringEx(_Out_ PANSI_STRING DestinationString, _In_opt_z_ PCSZ SourceString);
NTSYSAPI NTSTATUS NTAPI RtlInitStringEx(_Out_ PSTRING DestinationString, _In_opt_z_ PCSZ SourceString);

FORCEINLINE VOID RtlInitEmptyUnicodeString(_Out_ PUNICODE_STRING UnicodeString, _In_opt_ PWCHAR Buffer,
                                           _In_ USHORT BufferSize) {
  UnicodeString->Length = 0;
  UnicodeString->MaximumLength = BufferSize;
  UnicodeString->Buffer = Buffer;
}
FORCEINLINE VOID RtlInitEmptyAnsiString(_Out_ PANSI_STRING AnsiString, _In_opt_ PCHAR Buffer, _In_ USHORT BufferSize) {
  AnsiString->Length = 0;
  AnsiString->MaximumLength = BufferSize;
  AnsiString->Buffer = Buffer;
}

NTSYSAPI VOID NTAPI RtlCopyUnicodeString(_Inout_ PUNICODE_STRING DestinationString, _In_opt_ PCUNICODE_STRING SourceString);
NTSYSAPI VOID NTAPI RtlCopyString(_Out_ PSTRING DestinationString, _In_opt_ const STRING *SourceString);
NTSYSAPI NTSTATUS NTAPI RtlAppendUnicodeStringToString(_Inout_ PUNICODE_STRING Destination, _In_ PCUNICODE_STRING Source);
NTSYSAPI NTSTATUS NTAPI RtlAppendUnicodeToString(_Inout_ PUNICODE_STRING Destination, _In_opt_z_ PCWSTR Source);
NTSYSAPI LONG NTAPI RtlCompareUnicodeString(_In_ PCUNICODE_STRING String1, _In_ PCUNICODE_STRING String2,
                                            _In_ BOOLEAN CaseInSensitive);
NTSYSAPI BOOLEAN NTAPI RtlEqualUnicodeString(_In_ PCUNICODE_STRING String1, _In_ PCUNICODE_STRING String2,
                                             _In_ BOOLEAN CaseInSensitive);
NTSYSAPI BOOLEAN NTAPI RtlPrefixUnicodeString(_In_ PCUNICODE_STRING String1, _In_ PCUNICODE_STRING String2,
                                              _In_ BOOLEAN CaseInSensitive);
NTSYSAPI LONG NTAPI RtlCompareString(_In_ const STRING *String1, _In_ const STRING *String2, _In_ BOOLEAN CaseInSensitive);
NTSYSAPI BOOLEAN NTAPI RtlEqualString(_In_ const STRING *String1, _In_ const STRING *String2, _In_ BOOLEAN CaseInSensitive);
/* Upper case of Latin-1, Latin Extended-A, Greek, Cyrillic and full-width Latin; every
 * other character maps to itself (ndishost does not carry the full NLS table). */
NTSYSAPI WCHAR NTAPI RtlUpcaseUnicodeChar(_In_ WCHAR SourceCharacter);
NTSYSAPI WCHAR NTAPI RtlDowncaseUnicodeChar(_In_ WCHAR SourceCharacter);
NTSYSAPI NTSTATUS NTAPI RtlUpcaseUnicodeString(_Inout_ PUNICODE_STRING DestinationString,
                                               _In_ PCUNICODE_STRING SourceString,
                                               _In_ BOOLEAN AllocateDestinationString);
NTSYSAPI CHAR NTAPI RtlUpperChar(_In_ CHAR Character);

/* The "ANSI" code page of ndishost is Windows-1252's ASCII subset plus Latin-1: UTF-16 code
 * units 0x00-0xFF map to the same byte, others to '?'. */
NTSYSAPI NTSTATUS NTAPI RtlUnicodeStringToAnsiString(_When_(AllocateDestinationString, _Out_) PANSI_STRING DestinationString,
                                                     _In_ PCUNICODE_STRING SourceString,
                                                     _In_ BOOLEAN AllocateDestinationString);
NTSYSAPI NTSTATUS NTAPI RtlAnsiStringToUnicodeString(_When_(AllocateDestinationString, _Out_) PUNICODE_STRING DestinationString,
                                                     _In_ PCANSI_STRING SourceString,
                                                     _In_ BOOLEAN AllocateDestinationString);
NTSYSAPI ULONG NTAPI RtlxUnicodeStringToAnsiSize(_In_ PCUNICODE_STRING UnicodeString);
NTSYSAPI ULONG NTAPI RtlxAnsiStringToUnicodeSize(_In_ PCANSI_STRING AnsiString);
#define RtlUnicodeStringToAnsiSize(s) RtlxUnicodeStringToAnsiSize(s)
#define RtlAnsiStringToUnicodeSize(s) RtlxAnsiStringToUnicodeSize(s)
NTSYSAPI VOID NTAPI RtlFreeUnicodeString(_Inout_ PUNICODE_STRING UnicodeString);
NTSYSAPI VOID NTAPI RtlFreeAnsiString(_Inout_ PANSI_STRING AnsiString);

NTSYSAPI NTSTATUS NTAPI RtlIntegerToUnicodeString(_In_ ULONG Value, _In_opt_ ULONG Base, _Inout_ PUNICODE_STRING String);
NTSYSAPI NTSTATUS NTAPI RtlInt64ToUnicodeString(_In_ ULONGLONG Value, _In_opt_ ULONG Base, _Inout_ PUNICODE_STRING String);
NTSYSAPI NTSTATUS NTAPI RtlUnicodeStringToInteger(_In_ PCUNICODE_STRING String, _In_opt_ ULONG Base, _Out_ PULONG Value);
NTSYSAPI NTSTATUS NTAPI RtlCharToInteger(_In_z_ PCSZ String, _In_opt_ ULONG Base, _Out_ PULONG Value);

/* ==== version ========================================================================= */
typedef struct _OSVERSIONINFOW {
  ULONG dwOSVersionInfoSize;
  ULONG dwMajorVersion;
  ULONG dwMinorVersion;
  ULONG dwBuildNumber;
  ULONG dwPlatformId;
  WCHAR szCSDVersion[128];
} OSVERSIONINFOW, *POSVERSIONINFOW, *LPOSVERSIONINFOW, RTL_OSVERSIONINFOW, *PRTL_OSVERSIONINFOW;

typedef struct _OSVERSIONINFOEXW {
  ULONG dwOSVersionInfoSize;
  ULONG dwMajorVersion;
  ULONG dwMinorVersion;
  ULONG dwBuildNumber;
  ULONG dwPlatformId;
  WCHAR szCSDVersion[128];
  USHORT wServicePackMajor;
  USHORT wServicePackMinor;
  USHORT wSuiteMask;
  UCHAR wProductType;
  UCHAR wReserved;
} OSVERSIONINFOEXW, *POSVERSIONINFOEXW, *LPOSVERSIONINFOEXW, RTL_OSVERSIONINFOEXW, *PRTL_OSVERSIONINFOEXW;

#define VER_PLATFORM_WIN32s 0
#define VER_PLATFORM_WIN32_WINDOWS 1
#define VER_PLATFORM_WIN32_NT 2
#define VER_NT_WORKSTATION 0x0000001
#define VER_NT_DOMAIN_CONTROLLER 0x0000002
#define VER_NT_SERVER 0x0000003
#define VER_SUITE_SMALLBUSINESS 0x00000001
#define VER_SUITE_ENTERPRISE 0x00000002
#define VER_SUITE_BACKOFFICE 0x00000004
#define VER_SUITE_TERMINAL 0x00000010
#define VER_SUITE_SMALLBUSINESS_RESTRICTED 0x00000020
#define VER_SUITE_EMBEDDEDNT 0x00000040
#define VER_SUITE_DATACENTER 0x00000080
#define VER_SUITE_SINGLEUSERTS 0x00000100
#define VER_SUITE_PERSONAL 0x00000200
#define VER_SUITE_BLADE 0x00000400
#define VER_SUITE_STORAGE_SERVER 0x00002000
#define VER_SUITE_COMPUTE_SERVER 0x00004000
#define VER_SUITE_WH_SERVER 0x00008000

/* NTDDI version values (sdkddkver.h) for RtlIsNtDdiVersionAvailable. */
#ifndef NTDDI_WIN10
#define NTDDI_WIN7 0x06010000
#define NTDDI_WIN8 0x06020000
#define NTDDI_WINBLUE 0x06030000
#define NTDDI_WIN10 0x0A000000
#define NTDDI_WIN10_TH2 0x0A000001
#define NTDDI_WIN10_RS1 0x0A000002
#define NTDDI_WIN10_RS2 0x0A000003
#define NTDDI_WIN10_RS3 0x0A000004
#define NTDDI_WIN10_RS4 0x0A000005
#define NTDDI_WIN10_RS5 0x0A000006
#define NTDDI_WIN10_19H1 0x0A000007
#define NTDDI_WIN10_VB 0x0A000008
#define NTDDI_WIN10_MN 0x0A000009
#define NTDDI_WIN10_FE 0x0A00000A
#define NTDDI_WIN10_CO 0x0A00000B
#define NTDDI_WIN10_NI 0x0A00000C
#endif

/* ndishost reports Windows 10 version 22H2: 10.0.19045, VER_NT_WORKSTATION, which is
 * NTDDI_WIN10_VB (2004) for NTDDI purposes -- the release that has ExAllocatePool2. */
NTSYSAPI NTSTATUS NTAPI RtlGetVersion(_Out_ PRTL_OSVERSIONINFOW lpVersionInformation);
NTSYSAPI BOOLEAN NTAPI RtlIsNtDdiVersionAvailable(_In_ ULONG Version);
NTSYSAPI BOOLEAN NTAPI RtlIsServicePackVersionInstalled(_In_ ULONG Version);

/* ==== debug output ==================================================================== */
/* Component IDs (DPFLTR_TYPE) and levels, with the values of the published ABI. */
typedef enum _DPFLTR_TYPE {
  DPFLTR_SYSTEM_ID = 0,
  DPFLTR_TCPIP_ID = 30,
  DPFLTR_NTOSPNP_ID = 32,
  DPFLTR_PNPMGR_ID = 35,
  DPFLTR_WMICORE_ID = 48,
  DPFLTR_PCI_ID = 66,
  DPFLTR_INFINIBAND_ID = 76,
  DPFLTR_IHVDRIVER_ID = 77,
  DPFLTR_IHVVIDEO_ID = 78,
  DPFLTR_IHVAUDIO_ID = 79,
  DPFLTR_IHVNETWORK_ID = 80,
  DPFLTR_IHVSTREAMING_ID = 81,
  DPFLTR_IHVBUS_ID = 82,
  DPFLTR_TCPIP6_ID = 86,
  DPFLTR_DEFAULT_ID = 101,
  DPFLTR_MM_ID = 102
} DPFLTR_TYPE;

#define DPFLTR_ERROR_LEVEL 0
#define DPFLTR_WARNING_LEVEL 1
#define DPFLTR_TRACE_LEVEL 2
#define DPFLTR_INFO_LEVEL 3
#define DPFLTR_MASK 0x80000000

/* Format strings follow the Windows kernel's rules, not glibc's: %ws/%S print UTF-16,
 * %wZ a PUNICODE_STRING, %Z a PANSI_STRING, 'l' is 32-bit, 'I64'/'ll' 64-bit, 'I' pointer
 * sized, %p 16 hex digits. Hence no printf format attribute (gcc would check glibc's).
 * Output goes to the "kd" log, one line per printed line, attributed to the calling
 * driver. DbgPrintEx prints levels ERROR..INFO (0-3) and masks with DPFLTR_MASK whose
 * level bits intersect the runtime's filter (all levels by default). Any IRQL. */
ULONG __cdecl DbgPrint(_In_z_ _Printf_format_string_ PCSTR Format, ...);
ULONG __cdecl DbgPrintEx(_In_ ULONG ComponentId, _In_ ULONG Level, _In_z_ _Printf_format_string_ PCSTR Format, ...);
NTSYSAPI ULONG NTAPI vDbgPrintEx(_In_ ULONG ComponentId, _In_ ULONG Level, _In_z_ PCCH Format, _In_ va_list arglist);
NTSYSAPI ULONG NTAPI vDbgPrintExWithPrefix(_In_z_ PCCH Prefix, _In_ ULONG ComponentId, _In_ ULONG Level,
                                           _In_z_ PCCH Format, _In_ va_list arglist);
NTSYSAPI NTSTATUS NTAPI DbgQueryDebugFilterState(_In_ ULONG ComponentId, _In_ ULONG Level);
NTSYSAPI NTSTATUS NTAPI DbgSetDebugFilterState(_In_ ULONG ComponentId, _In_ ULONG Level, _In_ BOOLEAN State);

/* Stops in the debugger when one is attached (SIGTRAP); otherwise logs and continues. */
NTSYSAPI VOID NTAPI DbgBreakPoint(VOID);
NTSYSAPI VOID NTAPI DbgBreakPointWithStatus(_In_ ULONG Status);

/* Failed ASSERT: rule "dbg.assert-failed" (KMODE_EXCEPTION_NOT_HANDLED with
 * STATUS_ASSERTION_FAILURE, as an unhandled NT_ASSERT would end). */
NTSYSAPI VOID NTAPI RtlAssert(_In_ PVOID VoidFailedAssertion, _In_ PVOID VoidFileName, _In_ ULONG LineNumber,
                              _In_opt_ PSTR MutableMessage);

/* DBG is defined by the build (1 for checked/debug driver builds), as with the WDK. */
#if defined(DBG) && DBG
#define KdPrint(_x_) DbgPrint _x_
#define KdPrintEx(_x_) DbgPrintEx _x_
#define vKdPrintEx(_x_) vDbgPrintEx _x_
#define vKdPrintExWithPrefix(_x_) vDbgPrintExWithPrefix _x_
#define KdBreakPoint() DbgBreakPoint()
#define KdBreakPointWithStatus(s) DbgBreakPointWithStatus(s)
#define NDISHOST_ASSERT_VALUE(exp, msg) \
  ((!(exp)) ? (RtlAssert((PVOID) #exp, (PVOID)__FILE__, __LINE__, (PSTR)(msg)), FALSE) : TRUE)
#define ASSERT(exp) ((VOID)NDISHOST_ASSERT_VALUE(exp, NULL))
#define ASSERTMSG(msg, exp) ((VOID)NDISHOST_ASSERT_VALUE(exp, msg))
#define RTL_SOFT_ASSERT(exp) \
  ((!(exp)) ? (DbgPrint("%s(%d): Soft assertion failed\n   Expression: %s\n", __FILE__, __LINE__, #exp), FALSE) : TRUE)
#define RTL_SOFT_ASSERTMSG(msg, exp) \
  ((!(exp)) ? (DbgPrint("%s(%d): Soft assertion failed\n   Expression: %s\n   Message: %s\n", __FILE__, __LINE__, #exp, (msg)), FALSE) : TRUE)
#define RTL_VERIFY(exp) NDISHOST_ASSERT_VALUE(exp, NULL)
#define RTL_VERIFYMSG(msg, exp) NDISHOST_ASSERT_VALUE(exp, msg)
#define NT_ASSERT(exp) ASSERT(exp)
#define NT_ASSERTMSG(msg, exp) ASSERTMSG(msg, exp)
#define NT_ASSERTMSGW(msg, exp) ASSERT(exp)
#define NT_ASSERT_ASSUME(exp) ASSERT(exp)
#define NT_ASSERT_NOASSUME(exp) ASSERT(exp)
#define NT_VERIFY(exp) NDISHOST_ASSERT_VALUE(exp, NULL)
#define NT_VERIFYMSG(msg, exp) NDISHOST_ASSERT_VALUE(exp, msg)
#define NT_VERIFYMSGW(msg, exp) NDISHOST_ASSERT_VALUE(exp, NULL)
#else
#define KdPrint(_x_)
#define KdPrintEx(_x_)
#define vKdPrintEx(_x_)
#define vKdPrintExWithPrefix(_x_)
#define KdBreakPoint()
#define KdBreakPointWithStatus(s)
#define ASSERT(exp) ((void)0)
#define ASSERTMSG(msg, exp) ((void)0)
#define RTL_SOFT_ASSERT(exp) ((void)0)
#define RTL_SOFT_ASSERTMSG(msg, exp) ((void)0)
#define RTL_VERIFY(exp) ((exp) ? TRUE : FALSE)
#define RTL_VERIFYMSG(msg, exp) ((exp) ? TRUE : FALSE)
#define NT_ASSERT(exp) ((void)0)
#define NT_ASSERTMSG(msg, exp) ((void)0)
#define NT_ASSERTMSGW(msg, exp) ((void)0)
#define NT_ASSERT_ASSUME(exp) ((void)0)
#define NT_ASSERT_NOASSUME(exp) ((void)0)
#define NT_VERIFY(exp) ((exp) ? TRUE : FALSE)
#define NT_VERIFYMSG(msg, exp) ((exp) ? TRUE : FALSE)
#define NT_VERIFYMSGW(msg, exp) ((exp) ? TRUE : FALSE)
#endif
#define NT_FRE_ASSERT(exp) \
  ((VOID)((!(exp)) ? (RtlAssert((PVOID) #exp, (PVOID)__FILE__, __LINE__, NULL), FALSE) : TRUE))

NDISHOST_EXTERN_C_END

#endif /* NDISHOST_KM_RTL_H */
