/*
 * ndishost/km/ex.h -- executive part of <wdm.h>: pool, interlocked singly linked lists
 * (SLIST), lookaside lists and the spin-lock protected ExInterlocked* list helpers.
 *
 * Written for ndishost from the DDI reference; structure layouts are the Windows x64 ones
 * (tests/nt/ex check them). Included by <wdm.h>.
 */
#ifndef NDISHOST_KM_EX_H
#define NDISHOST_KM_EX_H

#include <ndishost/km/wdm_types.h>

NDISHOST_EXTERN_C_BEGIN

/* ==== pool ============================================================================ */
typedef enum _POOL_TYPE {
  NonPagedPool,
  NonPagedPoolExecute = NonPagedPool,
  PagedPool,
  NonPagedPoolMustSucceed = NonPagedPool + 2,
  DontUseThisType,
  NonPagedPoolCacheAligned = NonPagedPool + 4,
  PagedPoolCacheAligned,
  NonPagedPoolCacheAlignedMustS = NonPagedPool + 6,
  MaxPoolType,
  NonPagedPoolBase = 0,
  NonPagedPoolBaseMustSucceed = NonPagedPoolBase + 2,
  NonPagedPoolBaseCacheAligned = NonPagedPoolBase + 4,
  NonPagedPoolBaseCacheAlignedMustS = NonPagedPoolBase + 6,
  NonPagedPoolSession = 32,
  PagedPoolSession = NonPagedPoolSession + 1,
  NonPagedPoolMustSucceedSession = PagedPoolSession + 1,
  DontUseThisTypeSession = NonPagedPoolMustSucceedSession + 1,
  NonPagedPoolCacheAlignedSession = DontUseThisTypeSession + 1,
  PagedPoolCacheAlignedSession = NonPagedPoolCacheAlignedSession + 1,
  NonPagedPoolCacheAlignedMustSSession = PagedPoolCacheAlignedSession + 1,
  NonPagedPoolNx = 512,
  NonPagedPoolNxCacheAligned = NonPagedPoolNx + 4,
  NonPagedPoolSessionNx = NonPagedPoolNx + 32
} POOL_TYPE;

/* ORed into a pool tag by callers that want the tag checked strictly at free time. */
#define PROTECTED_POOL 0x80000000UL

/* Modifier bits that may be ORed into a POOL_TYPE. */
#define POOL_QUOTA_FAIL_INSTEAD_OF_RAISE 8
#define POOL_RAISE_IF_ALLOCATION_FAILURE 16
#define POOL_COLD_ALLOCATION 256
#define POOL_NX_ALLOCATION 512
#define POOL_ZERO_ALLOCATION 1024

typedef ULONG64 POOL_FLAGS;
#define POOL_FLAG_REQUIRED_START 0x0000000000000001ULL
#define POOL_FLAG_USE_QUOTA 0x0000000000000001ULL
#define POOL_FLAG_UNINITIALIZED 0x0000000000000002ULL
#define POOL_FLAG_SESSION 0x0000000000000004ULL
#define POOL_FLAG_CACHE_ALIGNED 0x0000000000000008ULL
#define POOL_FLAG_RESERVED1 0x0000000000000010ULL
#define POOL_FLAG_RAISE_ON_FAILURE 0x0000000000000020ULL
#define POOL_FLAG_NON_PAGED 0x0000000000000040ULL
#define POOL_FLAG_NON_PAGED_EXECUTE 0x0000000000000080ULL
#define POOL_FLAG_PAGED 0x0000000000000100ULL
#define POOL_FLAG_RESERVED2 0x0000000000000200ULL
#define POOL_FLAG_RESERVED3 0x0000000000000400ULL
#define POOL_FLAG_REQUIRED_END 0x0000000080000000ULL
#define POOL_FLAG_OPTIONAL_START 0x0000000100000000ULL
#define POOL_FLAG_SPECIAL_POOL 0x0000000100000000ULL
#define POOL_FLAG_OPTIONAL_END 0x8000000000000000ULL

typedef enum _EX_POOL_PRIORITY {
  LowPoolPriority,
  LowPoolPrioritySpecialPoolOverrun = 8,
  LowPoolPrioritySpecialPoolUnderrun = 9,
  NormalPoolPriority = 16,
  NormalPoolPrioritySpecialPoolOverrun = 24,
  NormalPoolPrioritySpecialPoolUnderrun = 25,
  HighPoolPriority = 32,
  HighPoolPrioritySpecialPoolOverrun = 40,
  HighPoolPrioritySpecialPoolUnderrun = 41
} EX_POOL_PRIORITY;

/*
 * IRQL: <= DISPATCH_LEVEL; paged pool only at <= APC_LEVEL ("irql.too-high" otherwise).
 * Blocks are 16-byte aligned (MEMORY_ALLOCATION_ALIGNMENT), tagged, charged to the calling
 * driver (leaks are reported at unload) and poisoned when freed. Freeing a pointer that
 * is not a live pool block is "pool.bad-free"/"pool.double-free" (BAD_POOL_CALLER).
 */
/* Zeroed unless POOL_FLAG_UNINITIALIZED; NULL for Tag 0 or invalid flags. */
NTKERNELAPI PVOID NTAPI ExAllocatePool2(_In_ POOL_FLAGS Flags, _In_ SIZE_T NumberOfBytes, _In_ ULONG Tag);
/* Uninitialized contents (ndishost fills them with a non-zero pattern to expose reliance
 * on zeroed memory). */
NTKERNELAPI PVOID NTAPI ExAllocatePoolWithTag(_In_ POOL_TYPE PoolType, _In_ SIZE_T NumberOfBytes, _In_ ULONG Tag);
NTKERNELAPI PVOID NTAPI ExAllocatePoolWithTagPriority(_In_ POOL_TYPE PoolType, _In_ SIZE_T NumberOfBytes,
                                                      _In_ ULONG Tag, _In_ EX_POOL_PRIORITY Priority);
NTKERNELAPI VOID NTAPI ExFreePoolWithTag(_In_ PVOID P, _In_ ULONG Tag);
NTKERNELAPI VOID NTAPI ExFreePool(_In_ PVOID P);

/* The deprecated untagged form: the tag is "None". */
#define ExAllocatePool(PoolType, NumberOfBytes) ExAllocatePoolWithTag((PoolType), (NumberOfBytes), 0x656E6F4EUL)

/* POOL_NX_OPTIN / POOL_ZERO_DOWN_LEVEL_SUPPORT drivers call this in DriverEntry. ndishost
 * pool memory is never executable and ExAllocatePoolZero always zeroes: nothing to do. */
#define DrvRtPoolNxOptIn 0x00000001UL
FORCEINLINE VOID ExInitializeDriverRuntime(_In_ ULONG RuntimeFlags) { UNREFERENCED_PARAMETER(RuntimeFlags); }

/* ExAllocatePoolWithTag wrappers (wdm.h inline functions). */
FORCEINLINE PVOID ExAllocatePoolZero(_In_ POOL_TYPE PoolType, _In_ SIZE_T NumberOfBytes, _In_ ULONG Tag) {
  PVOID Allocation = ExAllocatePoolWithTag(PoolType, NumberOfBytes, Tag);
  if (Allocation != NULL) {
    memset(Allocation, 0, NumberOfBytes);
  }
  return Allocation;
}
FORCEINLINE PVOID ExAllocatePoolUninitialized(_In_ POOL_TYPE PoolType, _In_ SIZE_T NumberOfBytes, _In_ ULONG Tag) {
  return ExAllocatePoolWithTag(PoolType, NumberOfBytes, Tag);
}
FORCEINLINE PVOID ExAllocatePoolPriorityZero(_In_ POOL_TYPE PoolType, _In_ SIZE_T NumberOfBytes, _In_ ULONG Tag,
                                             _In_ EX_POOL_PRIORITY Priority) {
  PVOID Allocation = ExAllocatePoolWithTagPriority(PoolType, NumberOfBytes, Tag, Priority);
  if (Allocation != NULL) {
    memset(Allocation, 0, NumberOfBytes);
  }
  return Allocation;
}
FORCEINLINE PVOID ExAllocatePoolPriorityUninitialized(_In_ POOL_TYPE PoolType, _In_ SIZE_T NumberOfBytes,
                                                      _In_ ULONG Tag, _In_ EX_POOL_PRIORITY Priority) {
  return ExAllocatePoolWithTagPriority(PoolType, NumberOfBytes, Tag, Priority);
}

/* ==== interlocked singly linked lists (SLIST) ========================================= */
/* x64 layout: a 16-byte, 16-aligned header (Depth:16 Sequence:48 | Reserved:4 NextEntry:60,
 * NextEntry being the first entry's address >> 4) and 16-aligned entries. */
typedef struct DECLSPEC_ALIGN(16) _SLIST_ENTRY {
  struct _SLIST_ENTRY *Next;
} SLIST_ENTRY, *PSLIST_ENTRY;

typedef union DECLSPEC_ALIGN(16) _SLIST_HEADER {
  struct {
    ULONGLONG Alignment;
    ULONGLONG Region;
  };
  struct {
    ULONGLONG Depth : 16;
    ULONGLONG Sequence : 48;
    ULONGLONG Reserved : 4;
    ULONGLONG NextEntry : 60;
  } HeaderX64;
} SLIST_HEADER, *PSLIST_HEADER;

#define SLIST_ENTRY_ALIGNMENT 16

/* Any IRQL. Push returns the previous first entry (NULL when the list was empty). */
NTKERNELAPI VOID NTAPI InitializeSListHead(_Out_ PSLIST_HEADER SListHead);
NTKERNELAPI PSLIST_ENTRY NTAPI ExpInterlockedPushEntrySList(_Inout_ PSLIST_HEADER ListHead, _Inout_ PSLIST_ENTRY ListEntry);
NTKERNELAPI PSLIST_ENTRY NTAPI ExpInterlockedPopEntrySList(_Inout_ PSLIST_HEADER ListHead);
NTKERNELAPI PSLIST_ENTRY NTAPI ExpInterlockedFlushSList(_Inout_ PSLIST_HEADER ListHead);
NTKERNELAPI USHORT NTAPI ExQueryDepthSList(_In_ PSLIST_HEADER SListHead);
NTKERNELAPI PSLIST_ENTRY NTAPI FirstEntrySList(_In_ PSLIST_HEADER SListHead);

#define InterlockedPushEntrySList(Head, Entry) ExpInterlockedPushEntrySList((Head), (Entry))
#define InterlockedPopEntrySList(Head) ExpInterlockedPopEntrySList(Head)
#define InterlockedFlushSList(Head) ExpInterlockedFlushSList(Head)
#define QueryDepthSList(Head) ExQueryDepthSList(Head)
/* The Lock argument is ignored on x64, as documented. */
#define ExInterlockedPushEntrySList(Head, Entry, Lock) ExpInterlockedPushEntrySList((Head), (Entry))
#define ExInterlockedPopEntrySList(Head, Lock) ExpInterlockedPopEntrySList(Head)
#define ExInterlockedFlushSList(Head) ExpInterlockedFlushSList(Head)

/* ==== spin-lock protected list helpers ================================================ */
/* Any IRQL (the lock is taken at HIGH_LEVEL on Windows; ndishost raises to DISPATCH_LEVEL
 * at least). The lock must not be used with KeAcquireSpinLock elsewhere at the same time
 * as the caller holds it. Return the previous first entry / removed entry or NULL. */
NTKERNELAPI PLIST_ENTRY NTAPI ExInterlockedInsertHeadList(_Inout_ PLIST_ENTRY ListHead, _Inout_ PLIST_ENTRY ListEntry,
                                                          _Inout_ PKSPIN_LOCK Lock);
NTKERNELAPI PLIST_ENTRY NTAPI ExInterlockedInsertTailList(_Inout_ PLIST_ENTRY ListHead, _Inout_ PLIST_ENTRY ListEntry,
                                                          _Inout_ PKSPIN_LOCK Lock);
NTKERNELAPI PLIST_ENTRY NTAPI ExInterlockedRemoveHeadList(_Inout_ PLIST_ENTRY ListHead, _Inout_ PKSPIN_LOCK Lock);
NTKERNELAPI PSINGLE_LIST_ENTRY NTAPI ExInterlockedPushEntryList(_Inout_ PSINGLE_LIST_ENTRY ListHead,
                                                                _Inout_ PSINGLE_LIST_ENTRY ListEntry,
                                                                _Inout_ PKSPIN_LOCK Lock);
NTKERNELAPI PSINGLE_LIST_ENTRY NTAPI ExInterlockedPopEntryList(_Inout_ PSINGLE_LIST_ENTRY ListHead,
                                                               _Inout_ PKSPIN_LOCK Lock);

/* ==== lookaside lists ================================================================= */
typedef struct _LOOKASIDE_LIST_EX *PLOOKASIDE_LIST_EX;

typedef PVOID NTAPI ALLOCATE_FUNCTION(_In_ POOL_TYPE PoolType, _In_ SIZE_T NumberOfBytes, _In_ ULONG Tag);
typedef ALLOCATE_FUNCTION *PALLOCATE_FUNCTION;
typedef VOID NTAPI FREE_FUNCTION(_In_ PVOID Buffer);
typedef FREE_FUNCTION *PFREE_FUNCTION;
typedef PVOID NTAPI ALLOCATE_FUNCTION_EX(_In_ POOL_TYPE PoolType, _In_ SIZE_T NumberOfBytes, _In_ ULONG Tag,
                                         _Inout_ PLOOKASIDE_LIST_EX Lookaside);
typedef ALLOCATE_FUNCTION_EX *PALLOCATE_FUNCTION_EX;
typedef VOID NTAPI FREE_FUNCTION_EX(_In_ PVOID Buffer, _Inout_ PLOOKASIDE_LIST_EX Lookaside);
typedef FREE_FUNCTION_EX *PFREE_FUNCTION_EX;

#define NDISHOST_GENERAL_LOOKASIDE_MEMBERS         \
  union {                                          \
    SLIST_HEADER ListHead;                         \
    SINGLE_LIST_ENTRY SingleListHead;              \
  };                                               \
  USHORT Depth;                                    \
  USHORT MaximumDepth;                             \
  ULONG TotalAllocates;                            \
  union {                                          \
    ULONG AllocateMisses;                          \
    ULONG AllocateHits;                            \
  };                                               \
  ULONG TotalFrees;                                \
  union {                                          \
    ULONG FreeMisses;                              \
    ULONG FreeHits;                                \
  };                                               \
  POOL_TYPE Type;                                  \
  ULONG Tag;                                       \
  ULONG Size;                                      \
  union {                                          \
    PALLOCATE_FUNCTION_EX AllocateEx;              \
    PALLOCATE_FUNCTION Allocate;                   \
  };                                               \
  union {                                          \
    PFREE_FUNCTION_EX FreeEx;                      \
    PFREE_FUNCTION Free;                           \
  };                                               \
  LIST_ENTRY ListEntry;                            \
  ULONG LastTotalAllocates;                        \
  union {                                          \
    ULONG LastAllocateMisses;                      \
    ULONG LastAllocateHits;                        \
  };                                               \
  ULONG Future[2]

/* The shared part of every lookaside list (0x60 bytes; GENERAL_LOOKASIDE is cache aligned). */
typedef struct DECLSPEC_CACHEALIGN _GENERAL_LOOKASIDE {
  NDISHOST_GENERAL_LOOKASIDE_MEMBERS;
} GENERAL_LOOKASIDE, *PGENERAL_LOOKASIDE;

typedef struct _GENERAL_LOOKASIDE_POOL {
  NDISHOST_GENERAL_LOOKASIDE_MEMBERS;
} GENERAL_LOOKASIDE_POOL, *PGENERAL_LOOKASIDE_POOL;

typedef struct _LOOKASIDE_LIST_EX {
  GENERAL_LOOKASIDE_POOL L;
} LOOKASIDE_LIST_EX;

typedef struct DECLSPEC_CACHEALIGN _NPAGED_LOOKASIDE_LIST {
  GENERAL_LOOKASIDE L;
} NPAGED_LOOKASIDE_LIST, *PNPAGED_LOOKASIDE_LIST;

typedef struct DECLSPEC_CACHEALIGN _PAGED_LOOKASIDE_LIST {
  GENERAL_LOOKASIDE L;
} PAGED_LOOKASIDE_LIST, *PPAGED_LOOKASIDE_LIST;

#define LOOKASIDE_MINIMUM_BLOCK_SIZE (RTL_SIZEOF_THROUGH_FIELD(SLIST_ENTRY, Next))
#define EX_LOOKASIDE_LIST_EX_FLAGS_RAISE_ON_FAIL 0x00000001UL
#define EX_LOOKASIDE_LIST_EX_FLAGS_FAIL_NO_RAISE 0x00000002UL
#define EX_MAXIMUM_LOOKASIDE_DEPTH_BASE 256
#define EX_MAXIMUM_LOOKASIDE_DEPTH_LIMIT 1024

/*
 * Entries come from the pool with the list's Tag, charged to the driver that initialized
 * the list; the list keeps at most MaximumDepth (256) free entries, the rest go back
 * through the Free routine. TotalAllocates/AllocateMisses/TotalFrees/FreeMisses are kept.
 * IRQL: nonpaged forms <= DISPATCH_LEVEL, paged forms <= APC_LEVEL; LOOKASIDE_LIST_EX
 * follows its PoolType. Delete frees every cached entry.
 */
NTKERNELAPI VOID NTAPI ExInitializeNPagedLookasideList(_Out_ PNPAGED_LOOKASIDE_LIST Lookaside,
                                                       _In_opt_ PALLOCATE_FUNCTION Allocate,
                                                       _In_opt_ PFREE_FUNCTION Free, _In_ ULONG Flags,
                                                       _In_ SIZE_T Size, _In_ ULONG Tag, _In_ USHORT Depth);
NTKERNELAPI VOID NTAPI ExDeleteNPagedLookasideList(_Inout_ PNPAGED_LOOKASIDE_LIST Lookaside);
#ifdef NDISHOST_TARGET_WINDOWS
/* x64 Windows: inline over the S-list, as in the WDK; the list keeps at most Depth entries
 * and its Allocate/Free routines (set by the initializer) handle the rest. */
FORCEINLINE PVOID ExAllocateFromNPagedLookasideList(_Inout_ PNPAGED_LOOKASIDE_LIST Lookaside) {
  PVOID Entry;
  Lookaside->L.TotalAllocates += 1;
  Entry = InterlockedPopEntrySList(&Lookaside->L.ListHead);
  if (Entry == NULL) {
    Lookaside->L.AllocateMisses += 1;
    Entry = Lookaside->L.Allocate(Lookaside->L.Type, Lookaside->L.Size, Lookaside->L.Tag);
  }
  return Entry;
}
FORCEINLINE VOID ExFreeToNPagedLookasideList(_Inout_ PNPAGED_LOOKASIDE_LIST Lookaside, _In_ PVOID Entry) {
  Lookaside->L.TotalFrees += 1;
  if (ExQueryDepthSList(&Lookaside->L.ListHead) >= Lookaside->L.Depth) {
    Lookaside->L.FreeMisses += 1;
    Lookaside->L.Free(Entry);
  } else {
    InterlockedPushEntrySList(&Lookaside->L.ListHead, (PSLIST_ENTRY)Entry);
  }
}
#else
NTKERNELAPI PVOID NTAPI ExAllocateFromNPagedLookasideList(_Inout_ PNPAGED_LOOKASIDE_LIST Lookaside);
NTKERNELAPI VOID NTAPI ExFreeToNPagedLookasideList(_Inout_ PNPAGED_LOOKASIDE_LIST Lookaside, _In_ PVOID Entry);
#endif

NTKERNELAPI VOID NTAPI ExInitializePagedLookasideList(_Out_ PPAGED_LOOKASIDE_LIST Lookaside,
                                                      _In_opt_ PALLOCATE_FUNCTION Allocate,
                                                      _In_opt_ PFREE_FUNCTION Free, _In_ ULONG Flags,
                                                      _In_ SIZE_T Size, _In_ ULONG Tag, _In_ USHORT Depth);
NTKERNELAPI VOID NTAPI ExDeletePagedLookasideList(_Inout_ PPAGED_LOOKASIDE_LIST Lookaside);
NTKERNELAPI PVOID NTAPI ExAllocateFromPagedLookasideList(_Inout_ PPAGED_LOOKASIDE_LIST Lookaside);
NTKERNELAPI VOID NTAPI ExFreeToPagedLookasideList(_Inout_ PPAGED_LOOKASIDE_LIST Lookaside, _In_ PVOID Entry);

NTKERNELAPI NTSTATUS NTAPI ExInitializeLookasideListEx(_Out_ PLOOKASIDE_LIST_EX Lookaside,
                                                       _In_opt_ PALLOCATE_FUNCTION_EX Allocate,
                                                       _In_opt_ PFREE_FUNCTION_EX Free, _In_ POOL_TYPE PoolType,
                                                       _In_ ULONG Flags, _In_ SIZE_T Size, _In_ ULONG Tag,
                                                       _In_ USHORT Depth);
NTKERNELAPI VOID NTAPI ExDeleteLookasideListEx(_Inout_ PLOOKASIDE_LIST_EX Lookaside);
#ifdef NDISHOST_TARGET_WINDOWS
/* x64 Windows: inline, like the NPAGED forms above, with the Ex callbacks. */
FORCEINLINE PVOID ExAllocateFromLookasideListEx(_Inout_ PLOOKASIDE_LIST_EX Lookaside) {
  PVOID Entry;
  Lookaside->L.TotalAllocates += 1;
  Entry = InterlockedPopEntrySList(&Lookaside->L.ListHead);
  if (Entry == NULL) {
    Lookaside->L.AllocateMisses += 1;
    Entry = Lookaside->L.AllocateEx(Lookaside->L.Type, Lookaside->L.Size, Lookaside->L.Tag, Lookaside);
  }
  return Entry;
}
FORCEINLINE VOID ExFreeToLookasideListEx(_Inout_ PLOOKASIDE_LIST_EX Lookaside, _In_ PVOID Entry) {
  Lookaside->L.TotalFrees += 1;
  if (ExQueryDepthSList(&Lookaside->L.ListHead) >= Lookaside->L.Depth) {
    Lookaside->L.FreeMisses += 1;
    Lookaside->L.FreeEx(Entry, Lookaside);
  } else {
    InterlockedPushEntrySList(&Lookaside->L.ListHead, (PSLIST_ENTRY)Entry);
  }
}
#else
NTKERNELAPI PVOID NTAPI ExAllocateFromLookasideListEx(_Inout_ PLOOKASIDE_LIST_EX Lookaside);
NTKERNELAPI VOID NTAPI ExFreeToLookasideListEx(_Inout_ PLOOKASIDE_LIST_EX Lookaside, _In_ PVOID Entry);
#endif
NTKERNELAPI VOID NTAPI ExFlushLookasideListEx(_Inout_ PLOOKASIDE_LIST_EX Lookaside);

NDISHOST_EXTERN_C_END

#endif /* NDISHOST_KM_EX_H */
