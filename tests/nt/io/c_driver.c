/* The C test driver (see c_driver.h). Written the way a WDK sample would be. */
#include "c_driver.h"

static DRIVER_ADD_DEVICE CAddDevice;
static DRIVER_UNLOAD CUnload;
static DRIVER_DISPATCH CDispatchCreateClose;
static DRIVER_DISPATCH CDispatchDeviceControl;
static DRIVER_DISPATCH CDispatchPnp;
static IO_COMPLETION_ROUTINE CForwardCompletion;
static IO_WORKITEM_ROUTINE CWorkRoutine;
static IO_CSQ_INSERT_IRP CCsqInsert;
static IO_CSQ_REMOVE_IRP CCsqRemove;
static IO_CSQ_PEEK_NEXT_IRP CCsqPeek;
static IO_CSQ_ACQUIRE_LOCK CCsqAcquire;
static IO_CSQ_RELEASE_LOCK CCsqRelease;
static IO_CSQ_COMPLETE_CANCELED_IRP CCsqCompleteCanceled;

#define CDRIVER_TAG 'virC'

/* The I/O structures a C driver embeds have their Windows x64 layouts. */
C_ASSERT(sizeof(IO_CSQ) == 0x40);
C_ASSERT(FIELD_OFFSET(IO_CSQ, CsqCompleteCanceledIrp) == 0x30);
C_ASSERT(sizeof(IO_CSQ_IRP_CONTEXT) == 0x18);
C_ASSERT(sizeof(IO_REMOVE_LOCK) == 0x20);
C_ASSERT(FIELD_OFFSET(IO_REMOVE_LOCK, Common.RemoveEvent) == 0x08);
C_ASSERT(sizeof(IO_ERROR_LOG_PACKET) == 0x30);
C_ASSERT(FIELD_OFFSET(IO_ERROR_LOG_PACKET, DeviceOffset) == 0x20);
C_ASSERT(FIELD_OFFSET(IO_ERROR_LOG_PACKET, DumpData) == 0x28);
C_ASSERT(IoSizeOfIrp(3) == 0xD0 + 3 * 0x48);
C_ASSERT(CTL_CODE(FILE_DEVICE_UNKNOWN, 0, METHOD_NEITHER, FILE_ANY_ACCESS) == 0x00220003);

NTSTATUS NTAPI CDriverEntry(PDRIVER_OBJECT DriverObject, PUNICODE_STRING RegistryPath) {
  UNREFERENCED_PARAMETER(RegistryPath);
  DriverObject->MajorFunction[IRP_MJ_CREATE] = CDispatchCreateClose;
  DriverObject->MajorFunction[IRP_MJ_CLOSE] = CDispatchCreateClose;
  DriverObject->MajorFunction[IRP_MJ_DEVICE_CONTROL] = CDispatchDeviceControl;
  DriverObject->MajorFunction[IRP_MJ_PNP] = CDispatchPnp;
  DriverObject->DriverExtension->AddDevice = CAddDevice;
  DriverObject->DriverUnload = CUnload;
  return STATUS_SUCCESS;
}

static VOID NTAPI CUnload(PDRIVER_OBJECT DriverObject) { UNREFERENCED_PARAMETER(DriverObject); }

static NTSTATUS NTAPI CAddDevice(PDRIVER_OBJECT DriverObject, PDEVICE_OBJECT PhysicalDeviceObject) {
  PDEVICE_OBJECT fdo;
  PCDRIVER_EXTENSION ext;
  NTSTATUS status = IoCreateDevice(DriverObject, sizeof(CDRIVER_EXTENSION), NULL, FILE_DEVICE_UNKNOWN,
                                   FILE_DEVICE_SECURE_OPEN, FALSE, &fdo);
  if (!NT_SUCCESS(status)) return status;
  ext = (PCDRIVER_EXTENSION)fdo->DeviceExtension;
  ext->Self = fdo;
  IoInitializeRemoveLock(&ext->RemoveLock, CDRIVER_TAG, 0, 0);
  InitializeListHead(&ext->Queue);
  KeInitializeSpinLock(&ext->QueueLock);
  IoCsqInitialize(&ext->Csq, CCsqInsert, CCsqRemove, CCsqPeek, CCsqAcquire, CCsqRelease, CCsqCompleteCanceled);
  ext->WorkItem = IoAllocateWorkItem(fdo);
  if (ext->WorkItem == NULL) {
    IoDeleteDevice(fdo);
    return STATUS_INSUFFICIENT_RESOURCES;
  }
  ext->Lower = IoAttachDeviceToDeviceStack(fdo, PhysicalDeviceObject);
  if (ext->Lower == NULL) {
    IoFreeWorkItem(ext->WorkItem);
    IoDeleteDevice(fdo);
    return STATUS_NO_SUCH_DEVICE;
  }
  fdo->Flags |= DO_BUFFERED_IO;
  fdo->Flags &= ~DO_DEVICE_INITIALIZING;
  return STATUS_SUCCESS;
}

static NTSTATUS CComplete(PIRP Irp, NTSTATUS Status, ULONG_PTR Information) {
  Irp->IoStatus.Status = Status;
  Irp->IoStatus.Information = Information;
  IoCompleteRequest(Irp, IO_NO_INCREMENT);
  return Status;
}

static NTSTATUS NTAPI CDispatchCreateClose(PDEVICE_OBJECT DeviceObject, PIRP Irp) {
  UNREFERENCED_PARAMETER(DeviceObject);
  return CComplete(Irp, STATUS_SUCCESS, 0);
}

static NTSTATUS NTAPI CForwardCompletion(PDEVICE_OBJECT DeviceObject, PIRP Irp, PVOID Context) {
  PCDRIVER_EXTENSION ext = (PCDRIVER_EXTENSION)Context;
  UNREFERENCED_PARAMETER(DeviceObject);
  if (Irp->PendingReturned) IoMarkIrpPending(Irp);
  ext->Forwarded++;
  if (NT_SUCCESS(Irp->IoStatus.Status)) Irp->IoStatus.Information += 1000;
  IoReleaseRemoveLock(&ext->RemoveLock, Irp);
  return STATUS_CONTINUE_COMPLETION;
}

static VOID NTAPI CWorkRoutine(PDEVICE_OBJECT DeviceObject, PVOID Context) {
  PCDRIVER_EXTENSION ext = (PCDRIVER_EXTENSION)DeviceObject->DeviceExtension;
  PIRP irp = (PIRP)Context;
  ext->WorkIrql = KeGetCurrentIrql();
  *(ULONG *)irp->AssociatedIrp.SystemBuffer = 0x600D;
  IoReleaseRemoveLock(&ext->RemoveLock, irp);
  CComplete(irp, STATUS_SUCCESS, sizeof(ULONG));
}

static NTSTATUS NTAPI CDispatchDeviceControl(PDEVICE_OBJECT DeviceObject, PIRP Irp) {
  PCDRIVER_EXTENSION ext = (PCDRIVER_EXTENSION)DeviceObject->DeviceExtension;
  PIO_STACK_LOCATION stack = IoGetCurrentIrpStackLocation(Irp);
  NTSTATUS status = IoAcquireRemoveLock(&ext->RemoveLock, Irp);
  PIRP queued;
  ULONG drained = 0;
  if (!NT_SUCCESS(status)) return CComplete(Irp, status, 0);

  switch (stack->Parameters.DeviceIoControl.IoControlCode) {
    case IOCTL_CDRIVER_QUEUE:
      IoCsqInsertIrp(&ext->Csq, Irp, NULL);
      IoReleaseRemoveLock(&ext->RemoveLock, Irp);
      return STATUS_PENDING;
    case IOCTL_CDRIVER_DRAIN:
      while ((queued = IoCsqRemoveNextIrp(&ext->Csq, NULL)) != NULL) {
        CComplete(queued, STATUS_SUCCESS, 0);
        drained++;
      }
      *(ULONG *)Irp->AssociatedIrp.SystemBuffer = drained;
      IoReleaseRemoveLock(&ext->RemoveLock, Irp);
      return CComplete(Irp, STATUS_SUCCESS, sizeof(ULONG));
    case IOCTL_CDRIVER_FORWARD:
      /* The remove lock stays held until the completion routine runs. */
      IoCopyCurrentIrpStackLocationToNext(Irp);
      IoSetCompletionRoutine(Irp, CForwardCompletion, ext, TRUE, TRUE, TRUE);
      return IoCallDriver(ext->Lower, Irp);
    case IOCTL_CDRIVER_WORK:
      IoMarkIrpPending(Irp);
      IoQueueWorkItem(ext->WorkItem, CWorkRoutine, DelayedWorkQueue, Irp);
      return STATUS_PENDING;
    default:
      IoReleaseRemoveLock(&ext->RemoveLock, Irp);
      return CComplete(Irp, STATUS_INVALID_DEVICE_REQUEST, 0);
  }
}

static NTSTATUS NTAPI CDispatchPnp(PDEVICE_OBJECT DeviceObject, PIRP Irp) {
  PCDRIVER_EXTENSION ext = (PCDRIVER_EXTENSION)DeviceObject->DeviceExtension;
  PIO_STACK_LOCATION stack = IoGetCurrentIrpStackLocation(Irp);
  NTSTATUS status = IoAcquireRemoveLock(&ext->RemoveLock, Irp);
  PIRP queued;
  if (!NT_SUCCESS(status)) return CComplete(Irp, status, 0);

  if (stack->MinorFunction == IRP_MN_REMOVE_DEVICE) {
    while ((queued = IoCsqRemoveNextIrp(&ext->Csq, NULL)) != NULL) CComplete(queued, STATUS_DELETE_PENDING, 0);
    Irp->IoStatus.Status = STATUS_SUCCESS;
    IoSkipCurrentIrpStackLocation(Irp);
    status = IoCallDriver(ext->Lower, Irp);
    IoReleaseRemoveLockAndWait(&ext->RemoveLock, Irp);
    IoFreeWorkItem(ext->WorkItem);
    IoDetachDevice(ext->Lower);
    IoDeleteDevice(DeviceObject);
    return status;
  }
  IoSkipCurrentIrpStackLocation(Irp);
  status = IoCallDriver(ext->Lower, Irp);
  IoReleaseRemoveLock(&ext->RemoveLock, Irp);
  return status;
}

/* ---- the cancel-safe queue's callbacks ---- */
static PCDRIVER_EXTENSION CExtensionOf(PIO_CSQ Csq) { return CONTAINING_RECORD(Csq, CDRIVER_EXTENSION, Csq); }

static VOID NTAPI CCsqInsert(PIO_CSQ Csq, PIRP Irp) {
  InsertTailList(&CExtensionOf(Csq)->Queue, &Irp->Tail.Overlay.ListEntry);
}

static VOID NTAPI CCsqRemove(PIO_CSQ Csq, PIRP Irp) {
  UNREFERENCED_PARAMETER(Csq);
  RemoveEntryList(&Irp->Tail.Overlay.ListEntry);
}

static PIRP NTAPI CCsqPeek(PIO_CSQ Csq, PIRP Irp, PVOID PeekContext) {
  PLIST_ENTRY head = &CExtensionOf(Csq)->Queue;
  PLIST_ENTRY next = Irp == NULL ? head->Flink : Irp->Tail.Overlay.ListEntry.Flink;
  UNREFERENCED_PARAMETER(PeekContext);
  return next == head ? NULL : CONTAINING_RECORD(next, IRP, Tail.Overlay.ListEntry);
}

static VOID NTAPI CCsqAcquire(PIO_CSQ Csq, PKIRQL Irql) { KeAcquireSpinLock(&CExtensionOf(Csq)->QueueLock, Irql); }

static VOID NTAPI CCsqRelease(PIO_CSQ Csq, KIRQL Irql) { KeReleaseSpinLock(&CExtensionOf(Csq)->QueueLock, Irql); }

static VOID NTAPI CCsqCompleteCanceled(PIO_CSQ Csq, PIRP Irp) {
  UNREFERENCED_PARAMETER(Csq);
  CComplete(Irp, STATUS_CANCELLED, 0);
}
