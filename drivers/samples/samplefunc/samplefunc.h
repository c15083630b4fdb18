/*
 * samplefunc.h -- private definitions of the sample function driver.
 *
 * Module Name:  samplefunc
 * Abstract:     The function driver (and power policy owner) for the sample bus's child
 *               devices. It keeps SAMPLEFUNC_PENDING_READS reads pending at the bus at all
 *               times, with IRPs it allocates once and reuses, and turns the host's
 *               IOCTL_SAMPLEFUNC_ECHO into the bus's internal echo. It handles start,
 *               query-remove (with an optional veto), surprise removal and removal the way
 *               a WDM function driver must, and maps system power states to D0/D3.
 * Environment:  kernel mode
 */
#ifndef SAMPLEFUNC_H
#define SAMPLEFUNC_H

#include <ntddk.h>

#include "sample_ioctl.h"

#define SAMPLEFUNC_POOL_TAG 'FpmS' /* "SmpF" in pool dumps; also the remove lock's tag */

/* K: reads kept pending at the bus. */
#define SAMPLEFUNC_PENDING_READS 4

typedef enum _SAMPLEFUNC_PNP_STATE {
  SampleFuncNotStarted = 0,
  SampleFuncStarted,
  SampleFuncStopPending,
  SampleFuncStopped,
  SampleFuncRemovePending,
  SampleFuncSurpriseRemoved,
  SampleFuncDeleted
} SAMPLEFUNC_PNP_STATE;

struct _SAMPLEFUNC_FDO_EXTENSION;

/* One preallocated read: its IRP, and the buffer the bus fills (METHOD_BUFFERED). */
typedef struct _SAMPLEFUNC_READ_SLOT {
  struct _SAMPLEFUNC_FDO_EXTENSION *FdoData;
  PIRP Irp;
  BOOLEAN Posted; /* the IRP is at the bus (ReadLock) */
  SAMPLEBUS_READ_DATA Data;
} SAMPLEFUNC_READ_SLOT, *PSAMPLEFUNC_READ_SLOT;

typedef struct _SAMPLEFUNC_FDO_EXTENSION {
  PDEVICE_OBJECT Self;
  PDEVICE_OBJECT UnderlyingPdo;
  PDEVICE_OBJECT NextLowerDriver;
  IO_REMOVE_LOCK RemoveLock;

  /* PnP and power state: written by PnP/power dispatch (serialised by the PnP and power
   * managers), read by I/O dispatch under StateLock. */
  KSPIN_LOCK StateLock;
  SAMPLEFUNC_PNP_STATE DevicePnpState;
  SAMPLEFUNC_PNP_STATE PreviousPnpState;
  DEVICE_POWER_STATE DevicePowerState;
  SYSTEM_POWER_STATE SystemPowerState;
  BOOLEAN VetoRemoval;

  ULONG SerialNo; /* the device's address on the sample bus */

  /* The read pump. ReadLock guards ReadsEnabled, ReadsOutstanding and each slot's Posted;
   * ReadsIdle is signalled whenever ReadsOutstanding is zero. */
  KSPIN_LOCK ReadLock;
  BOOLEAN ReadsEnabled;
  LONG ReadsOutstanding;
  KEVENT ReadsIdle;
  SAMPLEFUNC_READ_SLOT Slots[SAMPLEFUNC_PENDING_READS];

  /* Statistics (interlocked). */
  volatile LONG ReadsCompleted;
  volatile LONG ReadsFailed;
  volatile LONG LastSequence;
  volatile LONG EchoRequests;
} SAMPLEFUNC_FDO_EXTENSION, *PSAMPLEFUNC_FDO_EXTENSION;

/* driver.c */
DRIVER_INITIALIZE DriverEntry;
DRIVER_UNLOAD SampleFuncUnload;
DRIVER_ADD_DEVICE SampleFuncAddDevice;
_Dispatch_type_(IRP_MJ_CREATE) _Dispatch_type_(IRP_MJ_CLOSE) DRIVER_DISPATCH SampleFuncDispatchCreateClose;
_Dispatch_type_(IRP_MJ_SYSTEM_CONTROL) DRIVER_DISPATCH SampleFuncDispatchPassDown;

/* pnp.c */
_Dispatch_type_(IRP_MJ_PNP) DRIVER_DISPATCH SampleFuncDispatchPnp;
VOID SampleFuncSetPnpState(_Inout_ PSAMPLEFUNC_FDO_EXTENSION FdoData, _In_ SAMPLEFUNC_PNP_STATE State);
SAMPLEFUNC_PNP_STATE SampleFuncGetPnpState(_In_ PSAMPLEFUNC_FDO_EXTENSION FdoData);

/* power.c */
_Dispatch_type_(IRP_MJ_POWER) DRIVER_DISPATCH SampleFuncDispatchPower;

/* io.c */
_Dispatch_type_(IRP_MJ_DEVICE_CONTROL) DRIVER_DISPATCH SampleFuncDispatchDeviceControl;
NTSTATUS SampleFuncAllocateReads(_Inout_ PSAMPLEFUNC_FDO_EXTENSION FdoData);
VOID SampleFuncFreeReads(_Inout_ PSAMPLEFUNC_FDO_EXTENSION FdoData);
VOID SampleFuncStartReads(_Inout_ PSAMPLEFUNC_FDO_EXTENSION FdoData);
VOID SampleFuncCancelReads(_Inout_ PSAMPLEFUNC_FDO_EXTENSION FdoData);
VOID SampleFuncWaitForReads(_In_ PSAMPLEFUNC_FDO_EXTENSION FdoData);

#endif /* SAMPLEFUNC_H */
