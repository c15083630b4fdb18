/*
 * samplebus.h -- private definitions of the sample bus driver.
 *
 * Module Name:  samplebus
 * Abstract:     A root-enumerated bus driver. Its FDO sits on the root PDO the PnP manager
 *               created for ROOT\SAMPLEBUS; it enumerates simulated child devices as PDOs,
 *               answers the PnP queries a bus driver owns for them, and serves the
 *               internal IOCTLs of sample_ioctl.h to the function driver loaded on each
 *               child. Children can be plugged in and unplugged at run time.
 * Environment:  kernel mode
 */
#ifndef SAMPLEBUS_H
#define SAMPLEBUS_H

#include <ntddk.h>

#include "sample_ioctl.h"

#define SAMPLEBUS_POOL_TAG 'BpmS' /* "SmpB" in pool dumps */

/* A started child completes its pending reads every this many milliseconds. */
#define SAMPLEBUS_READ_PERIOD_MS 2

/* The PnP state a device object is in, as the bus driver sees it. */
typedef enum _SAMPLEBUS_PNP_STATE {
  SampleBusNotStarted = 0,
  SampleBusStarted,
  SampleBusStopPending,
  SampleBusStopped,
  SampleBusRemovePending,
  SampleBusSurpriseRemovePending,
  SampleBusDeleted
} SAMPLEBUS_PNP_STATE;

/* The first member of both extensions, so a dispatch routine can tell FDO from PDO. */
typedef struct _SAMPLEBUS_COMMON_EXTENSION {
  BOOLEAN IsFdo;
  PDEVICE_OBJECT Self;
  SAMPLEBUS_PNP_STATE DevicePnpState;
  SAMPLEBUS_PNP_STATE PreviousPnpState;
  DEVICE_POWER_STATE DevicePowerState;
  SYSTEM_POWER_STATE SystemPowerState;
} SAMPLEBUS_COMMON_EXTENSION, *PSAMPLEBUS_COMMON_EXTENSION;

typedef struct _SAMPLEBUS_FDO_EXTENSION {
  SAMPLEBUS_COMMON_EXTENSION Common;
  PDEVICE_OBJECT UnderlyingPdo;   /* the root PDO below us */
  PDEVICE_OBJECT NextLowerDriver; /* what IoAttachDeviceToDeviceStack returned */
  IO_REMOVE_LOCK RemoveLock;

  /* Children, present or not yet removed. Guarded by ChildLock (PASSIVE_LEVEL only). */
  FAST_MUTEX ChildLock;
  LIST_ENTRY Children;
  ULONG ChildCount;
  ULONG NextSerialNo;
  BOOLEAN InitialChildrenCreated;
} SAMPLEBUS_FDO_EXTENSION, *PSAMPLEBUS_FDO_EXTENSION;

typedef struct _SAMPLEBUS_PDO_EXTENSION {
  SAMPLEBUS_COMMON_EXTENSION Common;
  PSAMPLEBUS_FDO_EXTENSION Parent;
  LIST_ENTRY Link; /* in Parent->Children */
  ULONG SerialNo;

  /* Present: the simulated device is plugged in (read by the DPC: ReadAcquire and
   * WriteRelease). ReportedMissing: it was left out of the most recent BusRelations
   * answer, so the next IRP_MN_REMOVE_DEVICE deletes the PDO (ChildLock). */
  volatile LONG Present;
  BOOLEAN ReportedMissing;

  /* Powered: 1 in D0; a sleeping device produces no data (ReadAcquire/WriteRelease). */
  volatile LONG Powered;

  /* Child I/O: a cancel-safe queue of reads drained by a periodic timer's DPC.
   * AcceptingRequests is TRUE between start and stop/surprise removal (ReadQueueLock). */
  IO_CSQ ReadQueue;
  LIST_ENTRY PendingReads; /* ReadQueueLock */
  KSPIN_LOCK ReadQueueLock;
  BOOLEAN AcceptingRequests;
  KTIMER ReadTimer;
  KDPC ReadDpc;
  BOOLEAN ReadTimerRunning; /* PASSIVE_LEVEL PnP paths only */
  volatile LONG ReadSequence; /* the DPC; interlocked as the DPC may run on two processors */
} SAMPLEBUS_PDO_EXTENSION, *PSAMPLEBUS_PDO_EXTENSION;

FORCEINLINE VOID SampleBusSetNewPnpState(_Inout_ PSAMPLEBUS_COMMON_EXTENSION Common, _In_ SAMPLEBUS_PNP_STATE State) {
  Common->PreviousPnpState = Common->DevicePnpState;
  Common->DevicePnpState = State;
}

FORCEINLINE VOID SampleBusRestorePreviousPnpState(_Inout_ PSAMPLEBUS_COMMON_EXTENSION Common) {
  Common->DevicePnpState = Common->PreviousPnpState;
}

/* driver.c */
DRIVER_INITIALIZE DriverEntry;
DRIVER_UNLOAD SampleBusUnload;
DRIVER_ADD_DEVICE SampleBusAddDevice;
_Dispatch_type_(IRP_MJ_PNP) DRIVER_DISPATCH SampleBusDispatchPnp;
_Dispatch_type_(IRP_MJ_POWER) DRIVER_DISPATCH SampleBusDispatchPower;
_Dispatch_type_(IRP_MJ_DEVICE_CONTROL) DRIVER_DISPATCH SampleBusDispatchDeviceControl;
_Dispatch_type_(IRP_MJ_INTERNAL_DEVICE_CONTROL) DRIVER_DISPATCH SampleBusDispatchInternalDeviceControl;
_Dispatch_type_(IRP_MJ_CREATE) _Dispatch_type_(IRP_MJ_CLOSE) DRIVER_DISPATCH SampleBusDispatchCreateClose;
_Dispatch_type_(IRP_MJ_SYSTEM_CONTROL) DRIVER_DISPATCH SampleBusDispatchSystemControl;

/* fdo.c */
NTSTATUS SampleBusFdoPnp(_In_ PSAMPLEBUS_FDO_EXTENSION FdoData, _Inout_ PIRP Irp);
NTSTATUS SampleBusFdoPower(_In_ PSAMPLEBUS_FDO_EXTENSION FdoData, _Inout_ PIRP Irp);
NTSTATUS SampleBusFdoDeviceControl(_In_ PSAMPLEBUS_FDO_EXTENSION FdoData, _Inout_ PIRP Irp);

/* pdo.c */
NTSTATUS SampleBusCreateChild(_In_ PSAMPLEBUS_FDO_EXTENSION FdoData, _In_ ULONG RequestedSerialNo,
                              _Out_ PULONG SerialNo);
VOID SampleBusDeleteChild(_In_ PSAMPLEBUS_PDO_EXTENSION PdoData);
NTSTATUS SampleBusPdoPnp(_In_ PSAMPLEBUS_PDO_EXTENSION PdoData, _Inout_ PIRP Irp);
NTSTATUS SampleBusPdoPower(_In_ PSAMPLEBUS_PDO_EXTENSION PdoData, _Inout_ PIRP Irp);

/* childio.c */
VOID SampleBusInitializeChildIo(_Inout_ PSAMPLEBUS_PDO_EXTENSION PdoData);
VOID SampleBusStartChildIo(_Inout_ PSAMPLEBUS_PDO_EXTENSION PdoData);
VOID SampleBusSetChildPower(_Inout_ PSAMPLEBUS_PDO_EXTENSION PdoData, _In_ DEVICE_POWER_STATE State);
VOID SampleBusStopChildIo(_Inout_ PSAMPLEBUS_PDO_EXTENSION PdoData, _In_ NTSTATUS FailQueuedWith);
NTSTATUS SampleBusPdoInternalDeviceControl(_In_ PSAMPLEBUS_PDO_EXTENSION PdoData, _Inout_ PIRP Irp);

#endif /* SAMPLEBUS_H */
