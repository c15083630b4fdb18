/*
 * ndishost/km/io.h -- the I/O manager part of <wdm.h>: device and driver objects, IRPs and
 * their stack locations, completion and cancellation, cancel-safe queues, remove locks,
 * I/O work items, the error log and object references.
 *
 * Written from the WDM DDI reference. Routines the WDK provides as macros or inline
 * functions (IoCallDriver, IoCompleteRequest, IoSetCompletionRoutine, IoMarkIrpPending,
 * the stack-location helpers, the remove-lock wrappers) are macros or inline functions
 * here too, so a driver's object code calls the same exported routines it would call on
 * Windows. The IRQL each routine allows is noted beside it.
 *
 * Included by <wdm.h>; not meant to be included on its own.
 */
#ifndef NDISHOST_KM_IO_H
#define NDISHOST_KM_IO_H

#include <ndishost/km/wdm_types.h>
#include <ndishost/km/exsync.h>

NDISHOST_EXTERN_C_BEGIN

#ifndef FASTCALL
#define FASTCALL __fastcall
#endif

/* The WDM version ndishost reports to IoIsWdmVersionAvailable: 6.00, as Windows Vista and
 * every later Windows report. */
#define WDM_MAJORVERSION 0x06
#define WDM_MINORVERSION 0x00

/* ---- I/O control codes ------------------------------------------------------------ */
/* An IOCTL is DeviceType(31:16) | RequiredAccess(15:14) | Function(13:2) | TransferType(1:0). */
#ifndef CTL_CODE
#define CTL_CODE(DeviceType, Function, Method, Access) \
  (((ULONG)(DeviceType) << 16) | ((ULONG)(Access) << 14) | ((ULONG)(Function) << 2) | (ULONG)(Method))
#endif
#ifndef DEVICE_TYPE_FROM_CTL_CODE
#define DEVICE_TYPE_FROM_CTL_CODE(ControlCode) (((ULONG)(ControlCode) & 0xffff0000) >> 16)
#endif
#ifndef METHOD_FROM_CTL_CODE
#define METHOD_FROM_CTL_CODE(ControlCode) ((ULONG)((ControlCode) & 3))
#endif
#define IoGetFunctionCodeFromCtlCode(ControlCode) (((ULONG)(ControlCode) >> 2) & 0x00000FFF)

#ifndef METHOD_BUFFERED
#define METHOD_BUFFERED 0
#define METHOD_IN_DIRECT 1
#define METHOD_OUT_DIRECT 2
#define METHOD_NEITHER 3
#define METHOD_DIRECT_TO_HARDWARE METHOD_IN_DIRECT
#define METHOD_DIRECT_FROM_HARDWARE METHOD_OUT_DIRECT
#endif

#ifndef FILE_ANY_ACCESS
#define FILE_ANY_ACCESS 0
#define FILE_SPECIAL_ACCESS (FILE_ANY_ACCESS)
#define FILE_READ_ACCESS 0x0001
#define FILE_WRITE_ACCESS 0x0002
#endif

/* Access rights a driver asks for in IoGetDeviceObjectPointer. */
#ifndef FILE_READ_DATA
#define FILE_READ_DATA 0x0001
#define FILE_WRITE_DATA 0x0002
#define FILE_APPEND_DATA 0x0004
#define FILE_READ_EA 0x0008
#define FILE_WRITE_EA 0x0010
#define FILE_EXECUTE 0x0020
#define FILE_READ_ATTRIBUTES 0x0080
#define FILE_WRITE_ATTRIBUTES 0x0100
#endif
#ifndef FILE_ALL_ACCESS
#define FILE_ALL_ACCESS 0x001F01FF
#endif

/* ---- stack locations (inline, as in the WDK) -------------------------------------- */
/* Any IRQL. The stack locations follow the IRP; location 1 is the lowest driver's. */

FORCEINLINE PIO_STACK_LOCATION IoGetCurrentIrpStackLocation(_In_ PIRP Irp) {
  return Irp->Tail.Overlay.CurrentStackLocation;
}

FORCEINLINE PIO_STACK_LOCATION IoGetNextIrpStackLocation(_In_ PIRP Irp) {
  return Irp->Tail.Overlay.CurrentStackLocation - 1;
}

FORCEINLINE VOID IoSetNextIrpStackLocation(_Inout_ PIRP Irp) {
  Irp->CurrentLocation--;
  Irp->Tail.Overlay.CurrentStackLocation--;
}

FORCEINLINE VOID IoSkipCurrentIrpStackLocation(_Inout_ PIRP Irp) {
  Irp->CurrentLocation++;
  Irp->Tail.Overlay.CurrentStackLocation++;
}

/* Copies everything the lower driver needs (function codes, parameters, file object) but
 * not the completion routine, context or control flags, which belong to this driver. */
FORCEINLINE VOID IoCopyCurrentIrpStackLocationToNext(_Inout_ PIRP Irp) {
  PIO_STACK_LOCATION current = IoGetCurrentIrpStackLocation(Irp);
  PIO_STACK_LOCATION next = IoGetNextIrpStackLocation(Irp);
  memcpy(next, current, FIELD_OFFSET(IO_STACK_LOCATION, CompletionRoutine));
  next->Control = 0;
}

FORCEINLINE VOID IoMarkIrpPending(_Inout_ PIRP Irp) {
  IoGetCurrentIrpStackLocation(Irp)->Control |= SL_PENDING_RETURNED;
}

/* Registers CompletionRoutine in the next-lower driver's stack location. */
FORCEINLINE VOID IoSetCompletionRoutine(_In_ PIRP Irp, _In_opt_ PIO_COMPLETION_ROUTINE CompletionRoutine,
                                        _In_opt_ PVOID Context, _In_ BOOLEAN InvokeOnSuccess,
                                        _In_ BOOLEAN InvokeOnError, _In_ BOOLEAN InvokeOnCancel) {
  PIO_STACK_LOCATION next = IoGetNextIrpStackLocation(Irp);
  UCHAR control = 0;
  if (InvokeOnSuccess) control |= SL_INVOKE_ON_SUCCESS;
  if (InvokeOnError) control |= SL_INVOKE_ON_ERROR;
  if (InvokeOnCancel) control |= SL_INVOKE_ON_CANCEL;
  next->CompletionRoutine = CompletionRoutine;
  next->Context = Context;
  next->Control = control;
}

/* Atomically swaps the IRP's cancel routine and returns the previous one. Any IRQL. */
FORCEINLINE PDRIVER_CANCEL IoSetCancelRoutine(_Inout_ PIRP Irp, _In_opt_ PDRIVER_CANCEL CancelRoutine) {
  return __atomic_exchange_n(&Irp->CancelRoutine, CancelRoutine, __ATOMIC_SEQ_CST);
}

#define IoSizeOfIrp(StackSize) ((USHORT)(sizeof(IRP) + ((StackSize) * (sizeof(IO_STACK_LOCATION)))))

/* ---- sending and completing IRPs -------------------------------------------------- */
/* IRQL <= DISPATCH_LEVEL. */
NTKERNELAPI NTSTATUS FASTCALL IofCallDriver(_In_ PDEVICE_OBJECT DeviceObject, _Inout_ PIRP Irp);
#define IoCallDriver(a, b) IofCallDriver(a, b)

/* IRQL <= DISPATCH_LEVEL. */
NTKERNELAPI VOID FASTCALL IofCompleteRequest(_In_ PIRP Irp, _In_ CCHAR PriorityBoost);
#define IoCompleteRequest(a, b) IofCompleteRequest(a, b)

/* IRQL <= DISPATCH_LEVEL. Holds a reference on DeviceObject until the routine has run. */
NTKERNELAPI NTSTATUS NTAPI IoSetCompletionRoutineEx(_In_ PDEVICE_OBJECT DeviceObject, _In_ PIRP Irp,
                                                    _In_ PIO_COMPLETION_ROUTINE CompletionRoutine,
                                                    _In_opt_ PVOID Context, _In_ BOOLEAN InvokeOnSuccess,
                                                    _In_ BOOLEAN InvokeOnError, _In_ BOOLEAN InvokeOnCancel);

/* PASSIVE_LEVEL. Sends the IRP down with the current stack location copied and waits. */
NTKERNELAPI BOOLEAN NTAPI IoForwardIrpSynchronously(_In_ PDEVICE_OBJECT DeviceObject, _In_ PIRP Irp);

/* ---- allocating IRPs -------------------------------------------------------------- */
/* IRQL <= DISPATCH_LEVEL. */
NTKERNELAPI PIRP NTAPI IoAllocateIrp(_In_ CCHAR StackSize, _In_ BOOLEAN ChargeQuota);
NTKERNELAPI VOID NTAPI IoFreeIrp(_In_ PIRP Irp);
NTKERNELAPI VOID NTAPI IoReuseIrp(_Inout_ PIRP Irp, _In_ NTSTATUS Iostatus);
/* IRQL <= DISPATCH_LEVEL: initializes an IRP the driver allocated as raw memory. */
NTKERNELAPI VOID NTAPI IoInitializeIrp(_Inout_ PIRP Irp, _In_ USHORT PacketSize, _In_ CCHAR StackSize);

/* IRQL <= APC_LEVEL. The I/O manager frees the IRP at completion, copies buffered
 * output back, sets *IoStatusBlock and signals Event. */
NTKERNELAPI PIRP NTAPI IoBuildDeviceIoControlRequest(_In_ ULONG IoControlCode, _In_ PDEVICE_OBJECT DeviceObject,
                                                     _In_opt_ PVOID InputBuffer, _In_ ULONG InputBufferLength,
                                                     _Out_opt_ PVOID OutputBuffer, _In_ ULONG OutputBufferLength,
                                                     _In_ BOOLEAN InternalDeviceIoControl, _In_opt_ PKEVENT Event,
                                                     _Out_ PIO_STATUS_BLOCK IoStatusBlock);
/* IRQL <= APC_LEVEL. Same ownership as IoBuildDeviceIoControlRequest. */
NTKERNELAPI PIRP NTAPI IoBuildSynchronousFsdRequest(_In_ ULONG MajorFunction, _In_ PDEVICE_OBJECT DeviceObject,
                                                    _Inout_opt_ PVOID Buffer, _In_opt_ ULONG Length,
                                                    _In_opt_ PLARGE_INTEGER StartingOffset, _In_ PKEVENT Event,
                                                    _Out_ PIO_STATUS_BLOCK IoStatusBlock);
/* IRQL <= APC_LEVEL. The caller's completion routine frees the IRP (IoFreeIrp). */
NTKERNELAPI PIRP NTAPI IoBuildAsynchronousFsdRequest(_In_ ULONG MajorFunction, _In_ PDEVICE_OBJECT DeviceObject,
                                                     _Inout_opt_ PVOID Buffer, _In_opt_ ULONG Length,
                                                     _In_opt_ PLARGE_INTEGER StartingOffset,
                                                     _In_opt_ PIO_STATUS_BLOCK IoStatusBlock);

/* ---- cancellation ----------------------------------------------------------------- */
/* IRQL <= DISPATCH_LEVEL. */
NTKERNELAPI BOOLEAN NTAPI IoCancelIrp(_In_ PIRP Irp);
NTKERNELAPI VOID NTAPI IoAcquireCancelSpinLock(_Out_ PKIRQL Irql);
/* IRQL == DISPATCH_LEVEL (the cancel spin lock is held). */
NTKERNELAPI VOID NTAPI IoReleaseCancelSpinLock(_In_ KIRQL Irql);

/* ---- cancel-safe IRP queues ------------------------------------------------------- */
#define IO_TYPE_CSQ_IRP_CONTEXT 1
#define IO_TYPE_CSQ 2
#define IO_TYPE_CSQ_EX 3

struct _IO_CSQ;

/* Identifies one queued IRP for IoCsqRemoveIrp. */
typedef struct _IO_CSQ_IRP_CONTEXT {
  ULONG Type;
  struct _IRP *Irp;
  struct _IO_CSQ *Csq;
} IO_CSQ_IRP_CONTEXT, *PIO_CSQ_IRP_CONTEXT;

typedef VOID NTAPI IO_CSQ_INSERT_IRP(_In_ struct _IO_CSQ *Csq, _In_ PIRP Irp);
typedef IO_CSQ_INSERT_IRP *PIO_CSQ_INSERT_IRP;
typedef NTSTATUS NTAPI IO_CSQ_INSERT_IRP_EX(_In_ struct _IO_CSQ *Csq, _In_ PIRP Irp, _In_ PVOID InsertContext);
typedef IO_CSQ_INSERT_IRP_EX *PIO_CSQ_INSERT_IRP_EX;
typedef VOID NTAPI IO_CSQ_REMOVE_IRP(_In_ struct _IO_CSQ *Csq, _In_ PIRP Irp);
typedef IO_CSQ_REMOVE_IRP *PIO_CSQ_REMOVE_IRP;
typedef PIRP NTAPI IO_CSQ_PEEK_NEXT_IRP(_In_ struct _IO_CSQ *Csq, _In_opt_ PIRP Irp, _In_opt_ PVOID PeekContext);
typedef IO_CSQ_PEEK_NEXT_IRP *PIO_CSQ_PEEK_NEXT_IRP;
typedef VOID NTAPI IO_CSQ_ACQUIRE_LOCK(_In_ struct _IO_CSQ *Csq, _Out_ PKIRQL Irql);
typedef IO_CSQ_ACQUIRE_LOCK *PIO_CSQ_ACQUIRE_LOCK;
typedef VOID NTAPI IO_CSQ_RELEASE_LOCK(_In_ struct _IO_CSQ *Csq, _In_ KIRQL Irql);
typedef IO_CSQ_RELEASE_LOCK *PIO_CSQ_RELEASE_LOCK;
typedef VOID NTAPI IO_CSQ_COMPLETE_CANCELED_IRP(_In_ struct _IO_CSQ *Csq, _In_ PIRP Irp);
typedef IO_CSQ_COMPLETE_CANCELED_IRP *PIO_CSQ_COMPLETE_CANCELED_IRP;

/* The queue's dispatch table; fixed size, so drivers embed it in a device extension. */
typedef struct _IO_CSQ {
  ULONG Type;
  PIO_CSQ_INSERT_IRP CsqInsertIrp;  /* a PIO_CSQ_INSERT_IRP_EX when Type is IO_TYPE_CSQ_EX */
  PIO_CSQ_REMOVE_IRP CsqRemoveIrp;
  PIO_CSQ_PEEK_NEXT_IRP CsqPeekNextIrp;
  PIO_CSQ_ACQUIRE_LOCK CsqAcquireLock;
  PIO_CSQ_RELEASE_LOCK CsqReleaseLock;
  PIO_CSQ_COMPLETE_CANCELED_IRP CsqCompleteCanceledIrp;
  PVOID ReservePointer;
} IO_CSQ, *PIO_CSQ;

/* Any IRQL. */
NTKERNELAPI NTSTATUS NTAPI IoCsqInitialize(_Out_ PIO_CSQ Csq, _In_ PIO_CSQ_INSERT_IRP CsqInsertIrp,
                                           _In_ PIO_CSQ_REMOVE_IRP CsqRemoveIrp,
                                           _In_ PIO_CSQ_PEEK_NEXT_IRP CsqPeekNextIrp,
                                           _In_ PIO_CSQ_ACQUIRE_LOCK CsqAcquireLock,
                                           _In_ PIO_CSQ_RELEASE_LOCK CsqReleaseLock,
                                           _In_ PIO_CSQ_COMPLETE_CANCELED_IRP CsqCompleteCanceledIrp);
NTKERNELAPI NTSTATUS NTAPI IoCsqInitializeEx(_Out_ PIO_CSQ Csq, _In_ PIO_CSQ_INSERT_IRP_EX CsqInsertIrp,
                                             _In_ PIO_CSQ_REMOVE_IRP CsqRemoveIrp,
                                             _In_ PIO_CSQ_PEEK_NEXT_IRP CsqPeekNextIrp,
                                             _In_ PIO_CSQ_ACQUIRE_LOCK CsqAcquireLock,
                                             _In_ PIO_CSQ_RELEASE_LOCK CsqReleaseLock,
                                             _In_ PIO_CSQ_COMPLETE_CANCELED_IRP CsqCompleteCanceledIrp);
/* IRQL <= DISPATCH_LEVEL. */
NTKERNELAPI VOID NTAPI IoCsqInsertIrp(_Inout_ PIO_CSQ Csq, _Inout_ PIRP Irp, _Out_opt_ PIO_CSQ_IRP_CONTEXT Context);
NTKERNELAPI NTSTATUS NTAPI IoCsqInsertIrpEx(_Inout_ PIO_CSQ Csq, _Inout_ PIRP Irp,
                                            _Out_opt_ PIO_CSQ_IRP_CONTEXT Context, _In_opt_ PVOID InsertContext);
NTKERNELAPI PIRP NTAPI IoCsqRemoveIrp(_Inout_ PIO_CSQ Csq, _Inout_ PIO_CSQ_IRP_CONTEXT Context);
NTKERNELAPI PIRP NTAPI IoCsqRemoveNextIrp(_Inout_ PIO_CSQ Csq, _In_opt_ PVOID PeekContext);

/* ---- remove locks ----------------------------------------------------------------- */
/* The x64 free-build layout: a removed flag, the outstanding-acquisition count (biased by
 * one until IoReleaseRemoveLockAndWait) and the event the final release signals. */
typedef struct _IO_REMOVE_LOCK_COMMON_BLOCK {
  BOOLEAN Removed;
  BOOLEAN Reserved[3];
  __volatile LONG IoCount;
  KEVENT RemoveEvent;
} IO_REMOVE_LOCK_COMMON_BLOCK;

typedef struct _IO_REMOVE_LOCK {
  IO_REMOVE_LOCK_COMMON_BLOCK Common;
} IO_REMOVE_LOCK, *PIO_REMOVE_LOCK;

/* PASSIVE_LEVEL. */
NTKERNELAPI VOID NTAPI IoInitializeRemoveLockEx(_Out_ PIO_REMOVE_LOCK Lock, _In_ ULONG AllocateTag,
                                                _In_ ULONG MaxLockedMinutes, _In_ ULONG HighWatermark,
                                                _In_ ULONG RemlockSize);
/* IRQL <= DISPATCH_LEVEL. */
NTKERNELAPI NTSTATUS NTAPI IoAcquireRemoveLockEx(_Inout_ PIO_REMOVE_LOCK RemoveLock, _In_opt_ PVOID Tag,
                                                 _In_ PCSTR File, _In_ ULONG Line, _In_ ULONG RemlockSize);
NTKERNELAPI VOID NTAPI IoReleaseRemoveLockEx(_Inout_ PIO_REMOVE_LOCK RemoveLock, _In_opt_ PVOID Tag,
                                             _In_ ULONG RemlockSize);
/* PASSIVE_LEVEL: blocks until every other acquisition has been released. */
NTKERNELAPI VOID NTAPI IoReleaseRemoveLockAndWaitEx(_Inout_ PIO_REMOVE_LOCK RemoveLock, _In_opt_ PVOID Tag,
                                                    _In_ ULONG RemlockSize);

#define IoInitializeRemoveLock(Lock, AllocateTag, MaxLockedMinutes, HighWatermark) \
  IoInitializeRemoveLockEx(Lock, AllocateTag, MaxLockedMinutes, HighWatermark, sizeof(IO_REMOVE_LOCK))
#define IoAcquireRemoveLock(RemoveLock, Tag) \
  IoAcquireRemoveLockEx(RemoveLock, Tag, __FILE__, __LINE__, sizeof(IO_REMOVE_LOCK))
#define IoReleaseRemoveLock(RemoveLock, Tag) IoReleaseRemoveLockEx(RemoveLock, Tag, sizeof(IO_REMOVE_LOCK))
#define IoReleaseRemoveLockAndWait(RemoveLock, Tag) \
  IoReleaseRemoveLockAndWaitEx(RemoveLock, Tag, sizeof(IO_REMOVE_LOCK))

/* ---- I/O work items --------------------------------------------------------------- */
/* IO_WORKITEM is opaque: allocate it with IoAllocateWorkItem, or provide
 * IoSizeofWorkItem() bytes and call IoInitializeWorkItem. */
typedef VOID NTAPI IO_WORKITEM_ROUTINE(_In_ PDEVICE_OBJECT DeviceObject, _In_opt_ PVOID Context);
typedef IO_WORKITEM_ROUTINE *PIO_WORKITEM_ROUTINE;
typedef VOID NTAPI IO_WORKITEM_ROUTINE_EX(_In_ PVOID IoObject, _In_opt_ PVOID Context, _In_ PIO_WORKITEM IoWorkItem);
typedef IO_WORKITEM_ROUTINE_EX *PIO_WORKITEM_ROUTINE_EX;

/* IRQL <= DISPATCH_LEVEL. */
NTKERNELAPI PIO_WORKITEM NTAPI IoAllocateWorkItem(_In_ PDEVICE_OBJECT DeviceObject);
NTKERNELAPI VOID NTAPI IoFreeWorkItem(_In_ PIO_WORKITEM IoWorkItem);
NTKERNELAPI VOID NTAPI IoQueueWorkItem(_Inout_ PIO_WORKITEM IoWorkItem, _In_ PIO_WORKITEM_ROUTINE WorkerRoutine,
                                       _In_ WORK_QUEUE_TYPE QueueType, _In_opt_ PVOID Context);
NTKERNELAPI VOID NTAPI IoQueueWorkItemEx(_Inout_ PIO_WORKITEM IoWorkItem, _In_ PIO_WORKITEM_ROUTINE_EX WorkerRoutine,
                                         _In_ WORK_QUEUE_TYPE QueueType, _In_opt_ PVOID Context);
/* Any IRQL. */
NTKERNELAPI ULONG NTAPI IoSizeofWorkItem(VOID);
NTKERNELAPI VOID NTAPI IoInitializeWorkItem(_In_ PVOID IoObject, _Out_ PIO_WORKITEM IoWorkItem);
NTKERNELAPI VOID NTAPI IoUninitializeWorkItem(_Inout_ PIO_WORKITEM IoWorkItem);

/* ---- device objects --------------------------------------------------------------- */
/* IRQL <= APC_LEVEL. */
NTKERNELAPI NTSTATUS NTAPI IoCreateDevice(_In_ PDRIVER_OBJECT DriverObject, _In_ ULONG DeviceExtensionSize,
                                          _In_opt_ PUNICODE_STRING DeviceName, _In_ DEVICE_TYPE DeviceType,
                                          _In_ ULONG DeviceCharacteristics, _In_ BOOLEAN Exclusive,
                                          _Out_ PDEVICE_OBJECT *DeviceObject);
NTKERNELAPI VOID NTAPI IoDeleteDevice(_In_ PDEVICE_OBJECT DeviceObject);
/* PASSIVE_LEVEL. */
NTKERNELAPI NTSTATUS NTAPI IoCreateSymbolicLink(_In_ PUNICODE_STRING SymbolicLinkName, _In_ PUNICODE_STRING DeviceName);
NTKERNELAPI NTSTATUS NTAPI IoDeleteSymbolicLink(_In_ PUNICODE_STRING SymbolicLinkName);
NTKERNELAPI NTSTATUS NTAPI IoGetDeviceObjectPointer(_In_ PUNICODE_STRING ObjectName, _In_ ACCESS_MASK DesiredAccess,
                                                    _Out_ PFILE_OBJECT *FileObject, _Out_ PDEVICE_OBJECT *DeviceObject);
/* IRQL <= DISPATCH_LEVEL. */
NTKERNELAPI PDEVICE_OBJECT NTAPI IoAttachDeviceToDeviceStack(_In_ PDEVICE_OBJECT SourceDevice,
                                                             _In_ PDEVICE_OBJECT TargetDevice);
NTKERNELAPI NTSTATUS NTAPI IoAttachDeviceToDeviceStackSafe(_In_ PDEVICE_OBJECT SourceDevice,
                                                           _In_ PDEVICE_OBJECT TargetDevice,
                                                           _Inout_ PDEVICE_OBJECT *AttachedToDeviceObject);
/* PASSIVE_LEVEL. */
NTKERNELAPI VOID NTAPI IoDetachDevice(_Inout_ PDEVICE_OBJECT TargetDevice);
/* IRQL <= DISPATCH_LEVEL. The Reference and Lower forms return a referenced object that
 * the caller releases with ObDereferenceObject. */
NTKERNELAPI PDEVICE_OBJECT NTAPI IoGetAttachedDevice(_In_ PDEVICE_OBJECT DeviceObject);
NTKERNELAPI PDEVICE_OBJECT NTAPI IoGetAttachedDeviceReference(_In_ PDEVICE_OBJECT DeviceObject);
NTKERNELAPI PDEVICE_OBJECT NTAPI IoGetLowerDeviceObject(_In_ PDEVICE_OBJECT DeviceObject);

/* Any IRQL. TRUE when the requested WDM version is <= WDM_MAJORVERSION.WDM_MINORVERSION. */
NTKERNELAPI BOOLEAN NTAPI IoIsWdmVersionAvailable(_In_ UCHAR MajorVersion, _In_ UCHAR MinorVersion);

/* ---- object references ------------------------------------------------------------ */
/* IRQL <= DISPATCH_LEVEL. Device, driver and file objects. The return value is reserved. */
NTKERNELAPI LONG_PTR FASTCALL ObfReferenceObject(_In_ PVOID Object);
NTKERNELAPI LONG_PTR FASTCALL ObfDereferenceObject(_In_ PVOID Object);
NTKERNELAPI LONG_PTR FASTCALL ObfReferenceObjectWithTag(_In_ PVOID Object, _In_ ULONG Tag);
NTKERNELAPI LONG_PTR FASTCALL ObfDereferenceObjectWithTag(_In_ PVOID Object, _In_ ULONG Tag);
#define ObReferenceObject(Object) ObfReferenceObject(Object)
#define ObDereferenceObject(Object) ObfDereferenceObject(Object)
#define ObReferenceObjectWithTag(Object, Tag) ObfReferenceObjectWithTag(Object, Tag)
#define ObDereferenceObjectWithTag(Object, Tag) ObfDereferenceObjectWithTag(Object, Tag)

/* ---- error log -------------------------------------------------------------------- */
#define ERROR_LOG_MAXIMUM_SIZE 240

typedef struct _IO_ERROR_LOG_PACKET {
  UCHAR MajorFunctionCode;
  UCHAR RetryCount;
  USHORT DumpDataSize;
  USHORT NumberOfStrings;
  USHORT StringOffset;
  USHORT EventCategory;
  NTSTATUS ErrorCode;
  ULONG UniqueErrorValue;
  NTSTATUS FinalStatus;
  ULONG SequenceNumber;
  ULONG IoControlCode;
  LARGE_INTEGER DeviceOffset;
  ULONG DumpData[1];
} IO_ERROR_LOG_PACKET, *PIO_ERROR_LOG_PACKET;

/* IRQL <= DISPATCH_LEVEL. Entries go to the runtime's "io" log. */
NTKERNELAPI PVOID NTAPI IoAllocateErrorLogEntry(_In_ PVOID IoObject, _In_ UCHAR EntrySize);
NTKERNELAPI VOID NTAPI IoWriteErrorLogEntry(_In_ PVOID ElEntry);
NTKERNELAPI VOID NTAPI IoFreeErrorLogEntry(_In_ PVOID ElEntry);

NDISHOST_EXTERN_C_END

#endif /* NDISHOST_KM_IO_H */
