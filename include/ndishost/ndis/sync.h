/*
 * ndishost/ndis/sync.h -- memory, locks, timers, work items, time and event-log DDIs, and
 * the inline helpers the WDK provides as macros over Rtl/Ke/Interlocked routines.
 *
 * Included by <ndis.h>; not meant to be included on its own.
 */
#ifndef NDISHOST_NDIS_SYNC_H
#define NDISHOST_NDIS_SYNC_H

NDISHOST_EXTERN_C_BEGIN

/* ---- memory --------------------------------------------------------------------- */
#define NdisZeroMemory(_Destination, _Length) RtlZeroMemory((_Destination), (_Length))
#define NdisMoveMemory(_Destination, _Source, _Length) RtlCopyMemory((_Destination), (_Source), (_Length))
#define NdisFillMemory(_Destination, _Length, _Fill) RtlFillMemory((_Destination), (_Length), (_Fill))
#define NdisEqualMemory(_Source1, _Source2, _Length) RtlEqualMemory((_Source1), (_Source2), (_Length))
#define NdisRetrieveUlong(_DestinationAddress, _SourceAddress) \
  RtlRetrieveUlong((_DestinationAddress), (_SourceAddress))
#define NdisStoreUlong(_DestinationAddress, _Value) RtlStoreUlong((_DestinationAddress), (_Value))
#define NdisInitUnicodeString(_DestinationString, _SourceString) \
  RtlInitUnicodeString((_DestinationString), (_SourceString))

/* NdisFreeMemory MemoryFlags */
#define NDIS_MEMORY_CONTIGUOUS 0x00000001
#define NDIS_MEMORY_NONCACHED 0x00000002

/* IRQL <= DISPATCH_LEVEL. Non-paged memory charged to NdisHandle's driver. */
PVOID NTAPI NdisAllocateMemoryWithTagPriority(_In_ NDIS_HANDLE NdisHandle, _In_ UINT Length, _In_ ULONG Tag,
                                              _In_ EX_POOL_PRIORITY Priority);
/* IRQL <= DISPATCH_LEVEL. Frees memory from NdisAllocateMemoryWithTagPriority. */
VOID NTAPI NdisFreeMemoryWithTagPriority(_In_ NDIS_HANDLE NdisHandle, _In_ PVOID VirtualAddress, _In_ ULONG Tag);
/* IRQL <= DISPATCH_LEVEL (PASSIVE_LEVEL for contiguous or non-cached memory). */
VOID NTAPI NdisFreeMemory(_In_ PVOID VirtualAddress, _In_ UINT Length, _In_ UINT MemoryFlags);

/* ---- interlocked and lists ------------------------------------------------------ */
#define NdisInterlockedIncrement(_Addend) InterlockedIncrement(_Addend)
#define NdisInterlockedDecrement(_Addend) InterlockedDecrement(_Addend)
#define NdisInterlockedExchange(_Target, _Value) InterlockedExchange((_Target), (_Value))
#define NdisInterlockedCompareExchange(_Destination, _ExChange, _Comparand) \
  InterlockedCompareExchange((_Destination), (_ExChange), (_Comparand))
#define NdisInterlockedExchangePointer(_Target, _Value) InterlockedExchangePointer((_Target), (_Value))
#define NdisInitializeListHead(_ListHead) InitializeListHead(_ListHead)
#define NdisInterlockedInsertHeadList(_ListHead, _ListEntry, _SpinLock) \
  ExInterlockedInsertHeadList((_ListHead), (_ListEntry), &(_SpinLock)->SpinLock)
#define NdisInterlockedInsertTailList(_ListHead, _ListEntry, _SpinLock) \
  ExInterlockedInsertTailList((_ListHead), (_ListEntry), &(_SpinLock)->SpinLock)
#define NdisInterlockedRemoveHeadList(_ListHead, _SpinLock) \
  ExInterlockedRemoveHeadList((_ListHead), &(_SpinLock)->SpinLock)
#define NdisInitializeSListHead(_SListHead) InitializeSListHead(_SListHead)
#define NdisQueryDepthSList(_SListHead) ExQueryDepthSList(_SListHead)

/* ---- spin locks ----------------------------------------------------------------- */
/* A kernel spin lock plus the IRQL to restore on release (Windows layout, 16 bytes). */
typedef struct _NDIS_SPIN_LOCK {
  KSPIN_LOCK SpinLock;
  KIRQL OldIrql;
} NDIS_SPIN_LOCK, *PNDIS_SPIN_LOCK;

/* Exported functions, as ndis.sys exports them, so the NDIS library can check each use.
 * Allocate/Free: IRQL <= DISPATCH_LEVEL. Acquire raises to DISPATCH_LEVEL and Release
 * restores the saved IRQL; the Dpr forms require the caller to be at DISPATCH_LEVEL. */
VOID NTAPI NdisAllocateSpinLock(_Out_ PNDIS_SPIN_LOCK SpinLock);
VOID NTAPI NdisFreeSpinLock(_In_ PNDIS_SPIN_LOCK SpinLock);
VOID NTAPI NdisAcquireSpinLock(_Inout_ PNDIS_SPIN_LOCK SpinLock);
VOID NTAPI NdisReleaseSpinLock(_Inout_ PNDIS_SPIN_LOCK SpinLock);
VOID NTAPI NdisDprAcquireSpinLock(_Inout_ PNDIS_SPIN_LOCK SpinLock);
VOID NTAPI NdisDprReleaseSpinLock(_Inout_ PNDIS_SPIN_LOCK SpinLock);

/* ---- reader/writer locks (NDIS 6.20) -------------------------------------------- */
typedef struct _NDIS_RW_LOCK_EX NDIS_RW_LOCK_EX, *PNDIS_RW_LOCK_EX;

/* Per-acquisition state the caller keeps on its stack between acquire and release. */
typedef struct _LOCK_STATE_EX {
  KIRQL OldIrql;
  UCHAR LockState;
  UCHAR Flags;
} LOCK_STATE_EX, *PLOCK_STATE_EX;

/* Flags for NdisAcquireRWLockRead/Write: the caller is already at DISPATCH_LEVEL. */
#define NDIS_RWL_AT_DISPATCH_LEVEL 0x01

#if NDIS_SUPPORT_NDIS620
/* IRQL <= DISPATCH_LEVEL. NdisHandle: a driver, adapter, binding or filter handle. */
PNDIS_RW_LOCK_EX NTAPI NdisAllocateRWLock(_In_ NDIS_HANDLE NdisHandle);
/* IRQL <= DISPATCH_LEVEL; the lock must not be held. */
VOID NTAPI NdisFreeRWLock(_In_ PNDIS_RW_LOCK_EX Lock);
/* IRQL <= DISPATCH_LEVEL; leaves the caller at DISPATCH_LEVEL until NdisReleaseRWLock. */
VOID NTAPI NdisAcquireRWLockRead(_Inout_ PNDIS_RW_LOCK_EX Lock, _Out_ PLOCK_STATE_EX LockState, _In_ UCHAR Flags);
VOID NTAPI NdisAcquireRWLockWrite(_Inout_ PNDIS_RW_LOCK_EX Lock, _Out_ PLOCK_STATE_EX LockState, _In_ UCHAR Flags);
/* IRQL DISPATCH_LEVEL; restores the IRQL saved in LockState. */
VOID NTAPI NdisReleaseRWLock(_Inout_ PNDIS_RW_LOCK_EX Lock, _In_ PLOCK_STATE_EX LockState);
#endif

/* ---- mutexes (macros over the kernel mutex, as in the WDK) ---------------------- */
#define NDIS_INIT_MUTEX(_M) KeInitializeMutex((_M), 0xFFFF)
#define NDIS_WAIT_FOR_MUTEX(_M) KeWaitForSingleObject((_M), Executive, KernelMode, FALSE, NULL)
#define NDIS_RELEASE_MUTEX(_M) KeReleaseMutex((_M), FALSE)

/* ---- timers --------------------------------------------------------------------- */
typedef VOID NTAPI NDIS_TIMER_FUNCTION(_In_ PVOID SystemSpecific1, _In_ PVOID FunctionContext,
                                       _In_ PVOID SystemSpecific2, _In_ PVOID SystemSpecific3);
typedef NDIS_TIMER_FUNCTION *PNDIS_TIMER_FUNCTION;

#define NDIS_TIMER_CHARACTERISTICS_REVISION_1 1

typedef struct _NDIS_TIMER_CHARACTERISTICS {
  NDIS_OBJECT_HEADER Header;
  ULONG AllocationTag;
  PNDIS_TIMER_FUNCTION TimerFunction;
  PVOID FunctionContext;
} NDIS_TIMER_CHARACTERISTICS, *PNDIS_TIMER_CHARACTERISTICS;
#define NDIS_SIZEOF_TIMER_CHARACTERISTICS_REVISION_1 \
  RTL_SIZEOF_THROUGH_FIELD(NDIS_TIMER_CHARACTERISTICS, FunctionContext)

/* IRQL <= DISPATCH_LEVEL. TimerFunction runs at DISPATCH_LEVEL. */
NDIS_STATUS NTAPI NdisAllocateTimerObject(_In_ NDIS_HANDLE NdisHandle,
                                          _In_ PNDIS_TIMER_CHARACTERISTICS TimerCharacteristics,
                                          _Out_ PNDIS_HANDLE pTimerObject);
/* IRQL <= DISPATCH_LEVEL. DueTime: negative = relative, 100 ns units. TRUE if it was queued. */
BOOLEAN NTAPI NdisSetTimerObject(_In_ NDIS_HANDLE TimerObject, _In_ LARGE_INTEGER DueTime, _In_opt_ LONG MillisecondsPeriod,
                                 _In_opt_ PVOID FunctionContext);
/* IRQL <= DISPATCH_LEVEL. TRUE if the timer was dequeued before it fired. */
BOOLEAN NTAPI NdisCancelTimerObject(_In_ NDIS_HANDLE TimerObject);
/* IRQL PASSIVE_LEVEL; waits for a running TimerFunction to return. */
VOID NTAPI NdisFreeTimerObject(_In_ NDIS_HANDLE TimerObject);

/* ---- work items ----------------------------------------------------------------- */
typedef struct _NDIS_IO_WORKITEM NDIS_IO_WORKITEM, *PNDIS_IO_WORKITEM;
/* Runs at PASSIVE_LEVEL with (WorkItemContext, NdisIoWorkItemHandle) -- not the I/O
 * manager's (DeviceObject, Context) order. */
typedef VOID NTAPI NDIS_IO_WORKITEM_FUNCTION(_In_opt_ PVOID WorkItemContext, _In_ NDIS_HANDLE NdisIoWorkItemHandle);
typedef NDIS_IO_WORKITEM_FUNCTION *NDIS_IO_WORKITEM_ROUTINE;

/* IRQL <= DISPATCH_LEVEL. NdisObjectHandle: a miniport adapter, protocol binding or filter handle. */
NDIS_HANDLE NTAPI NdisAllocateIoWorkItem(_In_ NDIS_HANDLE NdisObjectHandle);
/* IRQL <= DISPATCH_LEVEL. */
VOID NTAPI NdisQueueIoWorkItem(_In_ NDIS_HANDLE NdisIoWorkItemHandle, _In_ NDIS_IO_WORKITEM_ROUTINE Routine,
                               _In_ PVOID WorkItemContext);
/* IRQL <= DISPATCH_LEVEL. */
VOID NTAPI NdisFreeIoWorkItem(_In_ NDIS_HANDLE NdisIoWorkItemHandle);

/* ---- time ----------------------------------------------------------------------- */
/* IRQL PASSIVE_LEVEL; sleeps at least MicrosecondsToSleep. */
VOID NTAPI NdisMSleep(_In_ ULONG MicrosecondsToSleep);
/* Any IRQL; busy-waits. */
#ifdef NDISHOST_TARGET_WINDOWS
/* x64 Windows: a macro over the HAL's KeStallExecutionProcessor, as in the WDK. */
#define NdisStallExecution(MicrosecondsToStall) KeStallExecutionProcessor(MicrosecondsToStall)
#else
VOID NTAPI NdisStallExecution(_In_ UINT MicrosecondsToStall);
#endif
/* Any IRQL; milliseconds since boot. */
VOID NTAPI NdisGetSystemUpTimeEx(_Out_ PLARGE_INTEGER pSystemUpTime);
/* Any IRQL; 100 ns units since 1601-01-01 UTC. */
VOID NTAPI NdisGetCurrentSystemTime(_Out_ PLARGE_INTEGER pSystemTime);

/* ---- event log and cancel IDs --------------------------------------------------- */
/* IRQL <= DISPATCH_LEVEL. NumberOfErrorValues ULONG values follow. */
VOID __cdecl NdisWriteErrorLogEntry(_In_ NDIS_HANDLE NdisAdapterHandle, _In_ NDIS_ERROR_CODE ErrorCode,
                                    _In_ ULONG NumberOfErrorValues, ...);
/* IRQL <= DISPATCH_LEVEL. The high byte a driver puts in its NBL cancel IDs. */
UCHAR NTAPI NdisGeneratePartialCancelId(VOID);

/* ---- standalone device objects (NdisRegisterDeviceEx) --------------------------- */
#define NDIS_DEVICE_OBJECT_ATTRIBUTES_REVISION_1 1

typedef struct _NDIS_DEVICE_OBJECT_ATTRIBUTES {
  NDIS_OBJECT_HEADER Header;
  PNDIS_STRING DeviceName;
  PNDIS_STRING SymbolicName;
  PDRIVER_DISPATCH *MajorFunctions;
  ULONG ExtensionSize;
  PCUNICODE_STRING DefaultSDDLString;
  LPCGUID DeviceClassGuid;
} NDIS_DEVICE_OBJECT_ATTRIBUTES, *PNDIS_DEVICE_OBJECT_ATTRIBUTES;
#define NDIS_SIZEOF_DEVICE_OBJECT_ATTRIBUTES_REVISION_1 \
  RTL_SIZEOF_THROUGH_FIELD(NDIS_DEVICE_OBJECT_ATTRIBUTES, DeviceClassGuid)

/* IRQL PASSIVE_LEVEL. NdisHandle: the driver handle from NdisMRegisterMiniportDriver (or NdisFRegisterFilterDriver). */
NDIS_STATUS NTAPI NdisRegisterDeviceEx(_In_ NDIS_HANDLE NdisHandle,
                                       _In_ PNDIS_DEVICE_OBJECT_ATTRIBUTES DeviceObjectAttributes,
                                       _Out_ PDEVICE_OBJECT *pDeviceObject, _Out_ PNDIS_HANDLE NdisDeviceHandle);
/* IRQL PASSIVE_LEVEL. */
VOID NTAPI NdisDeregisterDeviceEx(_In_ NDIS_HANDLE NdisDeviceHandle);
/* Any IRQL. The ExtensionSize bytes NdisRegisterDeviceEx reserved (NULL if none). */
PVOID NTAPI NdisGetDeviceReservedExtension(_In_ PDEVICE_OBJECT DeviceObject);

/* Identity NDIS records for a caller-allocated generic object (NDIS 6). */
typedef struct _NDIS_GENERIC_OBJECT {
  NDIS_OBJECT_HEADER Header;
  PVOID Caller;
  PVOID CallersCaller;
  PDRIVER_OBJECT DriverObject;
} NDIS_GENERIC_OBJECT, *PNDIS_GENERIC_OBJECT;

NDISHOST_EXTERN_C_END

#endif /* NDISHOST_NDIS_SYNC_H */
