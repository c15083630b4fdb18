/*
 * ndistestbus.c -- the NDIS test bus driver.
 *
 * Module Name:  ndistestbus
 * Abstract:     A root-enumerated WDM bus driver for the NDIS library's tests. Its FDO sits
 *               on the root PDO of ROOT\NDISTESTBUS and enumerates child PDOs, one per
 *               IOCTL_NDISTESTBUS_PLUG_IN, each with the hardware ID the test asked for,
 *               so the PnP manager loads the miniport the manifest maps to it. A child can
 *               be reported missing (IOCTL_NDISTESTBUS_UNPLUG): the PnP manager then sends
 *               IRP_MN_SURPRISE_REMOVAL and IRP_MN_REMOVE_DEVICE to its stack. Control
 *               interface: ndistestbus_ioctl.h.
 * Environment:  kernel mode
 */
#include <ntddk.h>

#include "ndistestbus_ioctl.h"

#define NDISTESTBUS_POOL_TAG 'BtsN'

typedef struct _NDISTESTBUS_FDO_EXTENSION NDISTESTBUS_FDO_EXTENSION, *PNDISTESTBUS_FDO_EXTENSION;

/* The first member of both extensions, so a dispatch routine can tell FDO from PDO. */
typedef struct _NDISTESTBUS_COMMON_EXTENSION {
  BOOLEAN IsFdo;
  PDEVICE_OBJECT Self;
} NDISTESTBUS_COMMON_EXTENSION, *PNDISTESTBUS_COMMON_EXTENSION;

struct _NDISTESTBUS_FDO_EXTENSION {
  NDISTESTBUS_COMMON_EXTENSION Common;
  PDEVICE_OBJECT UnderlyingPdo;
  PDEVICE_OBJECT NextLowerDriver;
  BOOLEAN Started;
  FAST_MUTEX ChildLock; /* guards Children, NextSerialNo and each child's ReportedMissing */
  LIST_ENTRY Children;
  ULONG NextSerialNo;
};

typedef struct _NDISTESTBUS_PDO_EXTENSION {
  NDISTESTBUS_COMMON_EXTENSION Common;
  PNDISTESTBUS_FDO_EXTENSION Parent;
  LIST_ENTRY Link; /* in Parent->Children */
  ULONG SerialNo;
  WCHAR HardwareId[NDISTESTBUS_MAX_ID_CHARS];
  volatile LONG Present; /* 0 once unplugged (ReadAcquire/WriteRelease: pings read it) */
  volatile LONG Started; /* between START and SURPRISE_REMOVAL/STOP/REMOVE */
  BOOLEAN ReportedMissing; /* left out of a BusRelations answer: REMOVE deletes the PDO */
  volatile LONG PowerState; /* DEVICE_POWER_STATE */
} NDISTESTBUS_PDO_EXTENSION, *PNDISTESTBUS_PDO_EXTENSION;

DRIVER_INITIALIZE DriverEntry;
DRIVER_UNLOAD NdisTestBusUnload;
DRIVER_ADD_DEVICE NdisTestBusAddDevice;
_Dispatch_type_(IRP_MJ_PNP) DRIVER_DISPATCH NdisTestBusDispatchPnp;
_Dispatch_type_(IRP_MJ_POWER) DRIVER_DISPATCH NdisTestBusDispatchPower;
_Dispatch_type_(IRP_MJ_DEVICE_CONTROL) DRIVER_DISPATCH NdisTestBusDispatchDeviceControl;
_Dispatch_type_(IRP_MJ_INTERNAL_DEVICE_CONTROL) DRIVER_DISPATCH NdisTestBusDispatchInternalDeviceControl;
_Dispatch_type_(IRP_MJ_CREATE) _Dispatch_type_(IRP_MJ_CLOSE) DRIVER_DISPATCH NdisTestBusDispatchCreateClose;
_Dispatch_type_(IRP_MJ_SYSTEM_CONTROL) DRIVER_DISPATCH NdisTestBusDispatchSystemControl;
static IO_COMPLETION_ROUTINE NdisTestBusSignalCompletion;

static NTSTATUS NdisTestBusComplete(_Inout_ PIRP Irp, _In_ NTSTATUS Status)
{
    /* IRQL: <= DISPATCH_LEVEL */
    Irp->IoStatus.Status = Status;
    IoCompleteRequest(Irp, IO_NO_INCREMENT);
    return Status;
}

static SIZE_T NdisTestBusStringLength(_In_z_ PCWSTR String)
{
    /* IRQL: any. In characters, without the terminator. */
    SIZE_T length = 0;
    while (String[length] != L'\0') {
        length++;
    }
    return length;
}

/* One string (MultiSz FALSE) or a MULTI_SZ of one string, in paged pool: the PnP manager
 * frees it. */
static PWCHAR NdisTestBusAllocateString(_In_z_ PCWSTR String, _In_ BOOLEAN MultiSz)
{
    /* IRQL: PASSIVE_LEVEL */
    SIZE_T length = NdisTestBusStringLength(String);
    SIZE_T characters = length + 1 + (MultiSz ? 1 : 0);
    PWCHAR buffer = (PWCHAR)ExAllocatePool2(POOL_FLAG_PAGED, characters * sizeof(WCHAR), NDISTESTBUS_POOL_TAG);
    if (buffer == NULL) {
        return NULL;
    }
    RtlCopyMemory(buffer, String, length * sizeof(WCHAR));
    buffer[length] = L'\0';
    if (MultiSz) {
        buffer[length + 1] = L'\0';
    }
    return buffer;
}

/* "01", "02", ...: the instance ID. */
static VOID NdisTestBusFormatSerialNo(_In_ ULONG SerialNo, _Out_writes_(12) PWCHAR Buffer)
{
    /* IRQL: any */
    WCHAR reversed[12];
    ULONG digits = 0;
    ULONG i;
    do {
        reversed[digits++] = (WCHAR)(L'0' + SerialNo % 10);
        SerialNo /= 10;
    } while (SerialNo != 0 && digits < 10);
    if (digits == 1) {
        reversed[digits++] = L'0';
    }
    for (i = 0; i < digits; i++) {
        Buffer[i] = reversed[digits - 1 - i];
    }
    Buffer[digits] = L'\0';
}

_Use_decl_annotations_
NTSTATUS DriverEntry(PDRIVER_OBJECT DriverObject, PUNICODE_STRING RegistryPath)
{
    /* IRQL: PASSIVE_LEVEL */
    UNREFERENCED_PARAMETER(RegistryPath);
    DriverObject->MajorFunction[IRP_MJ_CREATE] = NdisTestBusDispatchCreateClose;
    DriverObject->MajorFunction[IRP_MJ_CLOSE] = NdisTestBusDispatchCreateClose;
    DriverObject->MajorFunction[IRP_MJ_PNP] = NdisTestBusDispatchPnp;
    DriverObject->MajorFunction[IRP_MJ_POWER] = NdisTestBusDispatchPower;
    DriverObject->MajorFunction[IRP_MJ_DEVICE_CONTROL] = NdisTestBusDispatchDeviceControl;
    DriverObject->MajorFunction[IRP_MJ_INTERNAL_DEVICE_CONTROL] = NdisTestBusDispatchInternalDeviceControl;
    DriverObject->MajorFunction[IRP_MJ_SYSTEM_CONTROL] = NdisTestBusDispatchSystemControl;
    DriverObject->DriverExtension->AddDevice = NdisTestBusAddDevice;
    DriverObject->DriverUnload = NdisTestBusUnload;
    return STATUS_SUCCESS;
}

_Use_decl_annotations_
VOID NdisTestBusUnload(PDRIVER_OBJECT DriverObject)
{
    /* IRQL: PASSIVE_LEVEL. The PnP manager removed every device first. */
    UNREFERENCED_PARAMETER(DriverObject);
}

_Use_decl_annotations_
NTSTATUS NdisTestBusAddDevice(PDRIVER_OBJECT DriverObject, PDEVICE_OBJECT PhysicalDeviceObject)
{
    /* IRQL: PASSIVE_LEVEL */
    PDEVICE_OBJECT deviceObject = NULL;
    PNDISTESTBUS_FDO_EXTENSION fdoData;
    NTSTATUS status;

    status = IoCreateDevice(DriverObject, sizeof(NDISTESTBUS_FDO_EXTENSION), NULL, FILE_DEVICE_BUS_EXTENDER,
                            FILE_DEVICE_SECURE_OPEN, FALSE, &deviceObject);
    if (!NT_SUCCESS(status)) {
        return status;
    }
    fdoData = (PNDISTESTBUS_FDO_EXTENSION)deviceObject->DeviceExtension;
    RtlZeroMemory(fdoData, sizeof(*fdoData));
    fdoData->Common.IsFdo = TRUE;
    fdoData->Common.Self = deviceObject;
    fdoData->UnderlyingPdo = PhysicalDeviceObject;
    fdoData->NextSerialNo = 1;
    ExInitializeFastMutex(&fdoData->ChildLock);
    InitializeListHead(&fdoData->Children);
    fdoData->NextLowerDriver = IoAttachDeviceToDeviceStack(deviceObject, PhysicalDeviceObject);
    if (fdoData->NextLowerDriver == NULL) {
        IoDeleteDevice(deviceObject);
        return STATUS_NO_SUCH_DEVICE;
    }
    deviceObject->Flags |= DO_POWER_PAGABLE;
    deviceObject->Flags &= ~DO_DEVICE_INITIALIZING;
    return STATUS_SUCCESS;
}

/* ---- the FDO ------------------------------------------------------------------------- */

_Use_decl_annotations_
static NTSTATUS NdisTestBusSignalCompletion(PDEVICE_OBJECT DeviceObject, PIRP Irp, PVOID Context)
{
    /* IRQL: <= DISPATCH_LEVEL */
    UNREFERENCED_PARAMETER(DeviceObject);
    if (Irp->PendingReturned) {
        KeSetEvent((PKEVENT)Context, IO_NO_INCREMENT, FALSE);
    }
    return STATUS_MORE_PROCESSING_REQUIRED;
}

static NTSTATUS NdisTestBusQueryBusRelations(_In_ PNDISTESTBUS_FDO_EXTENSION FdoData, _Inout_ PIRP Irp)
{
    /* IRQL: PASSIVE_LEVEL */
    PDEVICE_RELATIONS oldRelations = (PDEVICE_RELATIONS)Irp->IoStatus.Information;
    PDEVICE_RELATIONS relations;
    ULONG previousCount = oldRelations != NULL ? oldRelations->Count : 0;
    ULONG presentCount = 0;
    PLIST_ENTRY entry;

    ExAcquireFastMutex(&FdoData->ChildLock);
    for (entry = FdoData->Children.Flink; entry != &FdoData->Children; entry = entry->Flink) {
        if (ReadAcquire(&CONTAINING_RECORD(entry, NDISTESTBUS_PDO_EXTENSION, Link)->Present)) {
            presentCount++;
        }
    }
    relations = (PDEVICE_RELATIONS)ExAllocatePool2(
        POOL_FLAG_PAGED, sizeof(DEVICE_RELATIONS) + (previousCount + presentCount) * sizeof(PDEVICE_OBJECT),
        NDISTESTBUS_POOL_TAG);
    if (relations == NULL) {
        ExReleaseFastMutex(&FdoData->ChildLock);
        return STATUS_INSUFFICIENT_RESOURCES;
    }
    if (previousCount != 0) {
        RtlCopyMemory(relations->Objects, oldRelations->Objects, previousCount * sizeof(PDEVICE_OBJECT));
    }
    relations->Count = previousCount;
    for (entry = FdoData->Children.Flink; entry != &FdoData->Children; entry = entry->Flink) {
        PNDISTESTBUS_PDO_EXTENSION pdoData = CONTAINING_RECORD(entry, NDISTESTBUS_PDO_EXTENSION, Link);
        if (ReadAcquire(&pdoData->Present)) {
            relations->Objects[relations->Count++] = pdoData->Common.Self;
            ObReferenceObject(pdoData->Common.Self);
        } else {
            pdoData->ReportedMissing = TRUE;
        }
    }
    ExReleaseFastMutex(&FdoData->ChildLock);
    if (oldRelations != NULL) {
        ExFreePool(oldRelations);
    }
    Irp->IoStatus.Information = (ULONG_PTR)relations;
    return STATUS_SUCCESS;
}

static VOID NdisTestBusDeleteAllChildren(_In_ PNDISTESTBUS_FDO_EXTENSION FdoData)
{
    /* IRQL: PASSIVE_LEVEL. IoDeleteDevice after the fast mutex (it holds APC_LEVEL). */
    LIST_ENTRY doomed;
    InitializeListHead(&doomed);
    ExAcquireFastMutex(&FdoData->ChildLock);
    while (!IsListEmpty(&FdoData->Children)) {
        InsertTailList(&doomed, RemoveHeadList(&FdoData->Children));
    }
    ExReleaseFastMutex(&FdoData->ChildLock);
    while (!IsListEmpty(&doomed)) {
        PNDISTESTBUS_PDO_EXTENSION pdoData = CONTAINING_RECORD(RemoveHeadList(&doomed), NDISTESTBUS_PDO_EXTENSION, Link);
        IoDeleteDevice(pdoData->Common.Self);
    }
}

static NTSTATUS NdisTestBusFdoPnp(_In_ PNDISTESTBUS_FDO_EXTENSION FdoData, _Inout_ PIRP Irp)
{
    /* IRQL: PASSIVE_LEVEL */
    PIO_STACK_LOCATION stack = IoGetCurrentIrpStackLocation(Irp);
    NTSTATUS status;
    KEVENT event;

    switch (stack->MinorFunction) {
    case IRP_MN_START_DEVICE:
        /* The bus below starts first. */
        KeInitializeEvent(&event, NotificationEvent, FALSE);
        IoCopyCurrentIrpStackLocationToNext(Irp);
        IoSetCompletionRoutine(Irp, NdisTestBusSignalCompletion, &event, TRUE, TRUE, TRUE);
        status = IoCallDriver(FdoData->NextLowerDriver, Irp);
        if (status == STATUS_PENDING) {
            KeWaitForSingleObject(&event, Executive, KernelMode, FALSE, NULL);
        }
        status = Irp->IoStatus.Status;
        if (NT_SUCCESS(status)) {
            FdoData->Started = TRUE;
        }
        return NdisTestBusComplete(Irp, status);

    case IRP_MN_QUERY_DEVICE_RELATIONS:
        if (stack->Parameters.QueryDeviceRelations.Type == BusRelations) {
            status = NdisTestBusQueryBusRelations(FdoData, Irp);
            if (!NT_SUCCESS(status)) {
                return NdisTestBusComplete(Irp, status);
            }
            Irp->IoStatus.Status = STATUS_SUCCESS;
        }
        break;

    case IRP_MN_QUERY_STOP_DEVICE:
    case IRP_MN_CANCEL_STOP_DEVICE:
    case IRP_MN_QUERY_REMOVE_DEVICE:
    case IRP_MN_CANCEL_REMOVE_DEVICE:
        Irp->IoStatus.Status = STATUS_SUCCESS;
        break;

    case IRP_MN_STOP_DEVICE:
    case IRP_MN_SURPRISE_REMOVAL:
        FdoData->Started = FALSE;
        Irp->IoStatus.Status = STATUS_SUCCESS;
        break;

    case IRP_MN_REMOVE_DEVICE:
        /* The children's stacks are gone; their PDOs go with the bus. */
        FdoData->Started = FALSE;
        NdisTestBusDeleteAllChildren(FdoData);
        Irp->IoStatus.Status = STATUS_SUCCESS;
        IoSkipCurrentIrpStackLocation(Irp);
        status = IoCallDriver(FdoData->NextLowerDriver, Irp);
        IoDetachDevice(FdoData->NextLowerDriver);
        IoDeleteDevice(FdoData->Common.Self);
        return status;

    default:
        break;
    }
    IoSkipCurrentIrpStackLocation(Irp);
    return IoCallDriver(FdoData->NextLowerDriver, Irp);
}

static NTSTATUS NdisTestBusPlugIn(_In_ PNDISTESTBUS_FDO_EXTENSION FdoData, _In_ PNDISTESTBUS_PLUG_IN Request,
                                  _Out_ PULONG SerialNo)
{
    /* IRQL: PASSIVE_LEVEL. The PDO is made before taking ChildLock (IoCreateDevice needs
     * PASSIVE_LEVEL) and published under it. */
    PDEVICE_OBJECT pdo = NULL;
    PNDISTESTBUS_PDO_EXTENSION pdoData;
    PLIST_ENTRY entry;
    NTSTATUS status;
    ULONG serialNo;
    ULONG i;

    *SerialNo = 0;
    for (i = 0; i < NDISTESTBUS_MAX_ID_CHARS && Request->HardwareId[i] != L'\0'; i++) {
    }
    if (i == 0 || i == NDISTESTBUS_MAX_ID_CHARS) {
        return STATUS_INVALID_PARAMETER;
    }
    status = IoCreateDevice(FdoData->Common.Self->DriverObject, sizeof(NDISTESTBUS_PDO_EXTENSION), NULL,
                            FILE_DEVICE_BUS_EXTENDER, FILE_AUTOGENERATED_DEVICE_NAME | FILE_DEVICE_SECURE_OPEN, FALSE,
                            &pdo);
    if (!NT_SUCCESS(status)) {
        return status;
    }
    pdoData = (PNDISTESTBUS_PDO_EXTENSION)pdo->DeviceExtension;
    RtlZeroMemory(pdoData, sizeof(*pdoData));
    pdoData->Common.IsFdo = FALSE;
    pdoData->Common.Self = pdo;
    pdoData->Parent = FdoData;
    RtlCopyMemory(pdoData->HardwareId, Request->HardwareId, (i + 1) * sizeof(WCHAR));
    pdoData->Present = 1;
    pdoData->PowerState = PowerDeviceD3;
    pdo->Flags |= DO_POWER_PAGABLE;
    pdo->Flags &= ~DO_DEVICE_INITIALIZING;

    ExAcquireFastMutex(&FdoData->ChildLock);
    serialNo = Request->SerialNo != 0 ? Request->SerialNo : FdoData->NextSerialNo;
    for (entry = FdoData->Children.Flink; entry != &FdoData->Children; entry = entry->Flink) {
        if (CONTAINING_RECORD(entry, NDISTESTBUS_PDO_EXTENSION, Link)->SerialNo == serialNo) {
            status = STATUS_OBJECT_NAME_COLLISION;
            break;
        }
    }
    if (NT_SUCCESS(status)) {
        pdoData->SerialNo = serialNo;
        InsertTailList(&FdoData->Children, &pdoData->Link);
        if (serialNo >= FdoData->NextSerialNo) {
            FdoData->NextSerialNo = serialNo + 1;
        }
    }
    ExReleaseFastMutex(&FdoData->ChildLock);
    if (!NT_SUCCESS(status)) {
        IoDeleteDevice(pdo);
        return status;
    }
    *SerialNo = serialNo;
    IoInvalidateDeviceRelations(FdoData->UnderlyingPdo, BusRelations);
    return STATUS_SUCCESS;
}

static PNDISTESTBUS_PDO_EXTENSION NdisTestBusFindChild(_In_ PNDISTESTBUS_FDO_EXTENSION FdoData, _In_ ULONG SerialNo)
{
    /* IRQL: APC_LEVEL (ChildLock held) */
    PLIST_ENTRY entry;
    for (entry = FdoData->Children.Flink; entry != &FdoData->Children; entry = entry->Flink) {
        PNDISTESTBUS_PDO_EXTENSION pdoData = CONTAINING_RECORD(entry, NDISTESTBUS_PDO_EXTENSION, Link);
        if (pdoData->SerialNo == SerialNo) {
            return pdoData;
        }
    }
    return NULL;
}

static NTSTATUS NdisTestBusFdoDeviceControl(_In_ PNDISTESTBUS_FDO_EXTENSION FdoData, _Inout_ PIRP Irp)
{
    /* IRQL: PASSIVE_LEVEL */
    PIO_STACK_LOCATION stack = IoGetCurrentIrpStackLocation(Irp);
    PVOID buffer = Irp->AssociatedIrp.SystemBuffer;
    ULONG inLength = stack->Parameters.DeviceIoControl.InputBufferLength;
    ULONG outLength = stack->Parameters.DeviceIoControl.OutputBufferLength;
    PNDISTESTBUS_PDO_EXTENSION pdoData;
    ULONG serialNo = 0;
    NTSTATUS status;

    Irp->IoStatus.Information = 0;
    if (!FdoData->Started) {
        return NdisTestBusComplete(Irp, STATUS_DEVICE_NOT_READY);
    }
    switch (stack->Parameters.DeviceIoControl.IoControlCode) {
    case IOCTL_NDISTESTBUS_PLUG_IN:
        if (inLength < sizeof(NDISTESTBUS_PLUG_IN) || outLength < sizeof(ULONG) || buffer == NULL) {
            status = STATUS_INVALID_PARAMETER;
            break;
        }
        status = NdisTestBusPlugIn(FdoData, (PNDISTESTBUS_PLUG_IN)buffer, &serialNo);
        if (NT_SUCCESS(status)) {
            *(PULONG)buffer = serialNo;
            Irp->IoStatus.Information = sizeof(ULONG);
        }
        break;

    case IOCTL_NDISTESTBUS_UNPLUG:
        if (inLength < sizeof(ULONG) || buffer == NULL) {
            status = STATUS_INVALID_PARAMETER;
            break;
        }
        status = STATUS_NO_SUCH_DEVICE;
        ExAcquireFastMutex(&FdoData->ChildLock);
        pdoData = NdisTestBusFindChild(FdoData, *(PULONG)buffer);
        if (pdoData != NULL && ReadAcquire(&pdoData->Present)) {
            /* The hardware is gone; the PDO stays until the PnP manager removes it. */
            WriteRelease(&pdoData->Present, 0);
            status = STATUS_SUCCESS;
        }
        ExReleaseFastMutex(&FdoData->ChildLock);
        if (NT_SUCCESS(status)) {
            IoInvalidateDeviceRelations(FdoData->UnderlyingPdo, BusRelations);
        }
        break;

    case IOCTL_NDISTESTBUS_GET_CHILD_POWER:
        if (inLength < sizeof(ULONG) || outLength < sizeof(ULONG) || buffer == NULL) {
            status = STATUS_INVALID_PARAMETER;
            break;
        }
        status = STATUS_NO_SUCH_DEVICE;
        ExAcquireFastMutex(&FdoData->ChildLock);
        pdoData = NdisTestBusFindChild(FdoData, *(PULONG)buffer);
        if (pdoData != NULL) {
            *(PULONG)buffer = (ULONG)ReadAcquire(&pdoData->PowerState);
            Irp->IoStatus.Information = sizeof(ULONG);
            status = STATUS_SUCCESS;
        }
        ExReleaseFastMutex(&FdoData->ChildLock);
        break;

    default:
        status = STATUS_INVALID_DEVICE_REQUEST;
        break;
    }
    return NdisTestBusComplete(Irp, status);
}

/* ---- the child PDOs ------------------------------------------------------------------ */

static NTSTATUS NdisTestBusPdoQueryId(_In_ PNDISTESTBUS_PDO_EXTENSION PdoData, _Inout_ PIRP Irp)
{
    /* IRQL: PASSIVE_LEVEL */
    PIO_STACK_LOCATION stack = IoGetCurrentIrpStackLocation(Irp);
    WCHAR serial[12];
    PWCHAR buffer;

    switch (stack->Parameters.QueryId.IdType) {
    case BusQueryDeviceID:
        buffer = NdisTestBusAllocateString(PdoData->HardwareId, FALSE);
        break;
    case BusQueryHardwareIDs:
        buffer = NdisTestBusAllocateString(PdoData->HardwareId, TRUE);
        break;
    case BusQueryInstanceID:
        NdisTestBusFormatSerialNo(PdoData->SerialNo, serial);
        buffer = NdisTestBusAllocateString(serial, FALSE);
        break;
    default:
        return Irp->IoStatus.Status; /* no compatible IDs, serial number, container ID */
    }
    if (buffer == NULL) {
        return STATUS_INSUFFICIENT_RESOURCES;
    }
    Irp->IoStatus.Information = (ULONG_PTR)buffer;
    return STATUS_SUCCESS;
}

static NTSTATUS NdisTestBusPdoQueryCapabilities(_In_ PNDISTESTBUS_PDO_EXTENSION PdoData, _Inout_ PIRP Irp)
{
    /* IRQL: PASSIVE_LEVEL */
    PDEVICE_CAPABILITIES caps = IoGetCurrentIrpStackLocation(Irp)->Parameters.DeviceCapabilities.Capabilities;
    ULONG state;

    if (caps->Version != 1 || caps->Size < sizeof(DEVICE_CAPABILITIES)) {
        return STATUS_UNSUCCESSFUL;
    }
    caps->DeviceState[PowerSystemWorking] = PowerDeviceD0;
    for (state = PowerSystemSleeping1; state < PowerSystemMaximum; state++) {
        caps->DeviceState[state] = PowerDeviceD3;
    }
    caps->DeviceD1 = FALSE;
    caps->DeviceD2 = FALSE;
    caps->Removable = TRUE;
    caps->SurpriseRemovalOK = TRUE;
    caps->UniqueID = FALSE;
    caps->SilentInstall = TRUE;
    caps->Address = PdoData->SerialNo;
    caps->UINumber = PdoData->SerialNo;
    return STATUS_SUCCESS;
}

static NTSTATUS NdisTestBusPdoPnp(_In_ PNDISTESTBUS_PDO_EXTENSION PdoData, _Inout_ PIRP Irp)
{
    /* IRQL: PASSIVE_LEVEL. The bottom of the child's stack: it completes every PnP IRP. */
    PIO_STACK_LOCATION stack = IoGetCurrentIrpStackLocation(Irp);
    PNDISTESTBUS_FDO_EXTENSION fdoData = PdoData->Parent;
    NTSTATUS status = Irp->IoStatus.Status;
    PDEVICE_RELATIONS relations;
    BOOLEAN deletePdo = FALSE;

    switch (stack->MinorFunction) {
    case IRP_MN_START_DEVICE:
        WriteRelease(&PdoData->PowerState, PowerDeviceD0);
        WriteRelease(&PdoData->Started, 1);
        status = STATUS_SUCCESS;
        break;

    case IRP_MN_STOP_DEVICE:
    case IRP_MN_SURPRISE_REMOVAL:
        WriteRelease(&PdoData->Started, 0);
        status = STATUS_SUCCESS;
        break;

    case IRP_MN_QUERY_STOP_DEVICE:
    case IRP_MN_CANCEL_STOP_DEVICE:
    case IRP_MN_QUERY_REMOVE_DEVICE:
    case IRP_MN_CANCEL_REMOVE_DEVICE:
        status = STATUS_SUCCESS;
        break;

    case IRP_MN_REMOVE_DEVICE:
        WriteRelease(&PdoData->Started, 0);
        WriteRelease(&PdoData->PowerState, PowerDeviceD3);
        /* Missing from the last BusRelations answer: physically gone, delete the PDO. */
        ExAcquireFastMutex(&fdoData->ChildLock);
        if (PdoData->ReportedMissing) {
            RemoveEntryList(&PdoData->Link);
            InitializeListHead(&PdoData->Link);
            deletePdo = TRUE;
        }
        ExReleaseFastMutex(&fdoData->ChildLock);
        NdisTestBusComplete(Irp, STATUS_SUCCESS);
        if (deletePdo) {
            IoDeleteDevice(PdoData->Common.Self);
        }
        return STATUS_SUCCESS;

    case IRP_MN_QUERY_CAPABILITIES:
        status = NdisTestBusPdoQueryCapabilities(PdoData, Irp);
        break;

    case IRP_MN_QUERY_ID:
        status = NdisTestBusPdoQueryId(PdoData, Irp);
        break;

    case IRP_MN_QUERY_DEVICE_RELATIONS:
        if (stack->Parameters.QueryDeviceRelations.Type == TargetDeviceRelation) {
            relations = (PDEVICE_RELATIONS)ExAllocatePool2(POOL_FLAG_PAGED, sizeof(DEVICE_RELATIONS),
                                                           NDISTESTBUS_POOL_TAG);
            if (relations == NULL) {
                status = STATUS_INSUFFICIENT_RESOURCES;
                break;
            }
            relations->Count = 1;
            relations->Objects[0] = PdoData->Common.Self;
            ObReferenceObject(PdoData->Common.Self);
            Irp->IoStatus.Information = (ULONG_PTR)relations;
            status = STATUS_SUCCESS;
        }
        break;

    default:
        break; /* not handled: completed with the status it arrived with */
    }
    return NdisTestBusComplete(Irp, status);
}

/* ---- dispatch ------------------------------------------------------------------------ */

_Use_decl_annotations_
NTSTATUS NdisTestBusDispatchPnp(PDEVICE_OBJECT DeviceObject, PIRP Irp)
{
    /* IRQL: PASSIVE_LEVEL */
    PNDISTESTBUS_COMMON_EXTENSION common = (PNDISTESTBUS_COMMON_EXTENSION)DeviceObject->DeviceExtension;
    if (common->IsFdo) {
        return NdisTestBusFdoPnp((PNDISTESTBUS_FDO_EXTENSION)common, Irp);
    }
    return NdisTestBusPdoPnp((PNDISTESTBUS_PDO_EXTENSION)common, Irp);
}

_Use_decl_annotations_
NTSTATUS NdisTestBusDispatchPower(PDEVICE_OBJECT DeviceObject, PIRP Irp)
{
    /* IRQL: PASSIVE_LEVEL (DO_POWER_PAGABLE). The FDO passes power IRPs down; a child PDO
     * records the device power state it is set to and completes the IRP. */
    PNDISTESTBUS_COMMON_EXTENSION common = (PNDISTESTBUS_COMMON_EXTENSION)DeviceObject->DeviceExtension;
    PIO_STACK_LOCATION stack = IoGetCurrentIrpStackLocation(Irp);
    NTSTATUS status = Irp->IoStatus.Status;

    PoStartNextPowerIrp(Irp);
    if (common->IsFdo) {
        IoSkipCurrentIrpStackLocation(Irp);
        return PoCallDriver(((PNDISTESTBUS_FDO_EXTENSION)common)->NextLowerDriver, Irp);
    }
    if (stack->MinorFunction == IRP_MN_SET_POWER) {
        if (stack->Parameters.Power.Type == DevicePowerState) {
            WriteRelease(&((PNDISTESTBUS_PDO_EXTENSION)common)->PowerState,
                         (LONG)stack->Parameters.Power.State.DeviceState);
        }
        status = STATUS_SUCCESS;
    } else if (stack->MinorFunction == IRP_MN_QUERY_POWER) {
        status = STATUS_SUCCESS;
    }
    return NdisTestBusComplete(Irp, status);
}

_Use_decl_annotations_
NTSTATUS NdisTestBusDispatchDeviceControl(PDEVICE_OBJECT DeviceObject, PIRP Irp)
{
    /* IRQL: PASSIVE_LEVEL */
    PNDISTESTBUS_COMMON_EXTENSION common = (PNDISTESTBUS_COMMON_EXTENSION)DeviceObject->DeviceExtension;
    if (common->IsFdo) {
        return NdisTestBusFdoDeviceControl((PNDISTESTBUS_FDO_EXTENSION)common, Irp);
    }
    Irp->IoStatus.Information = 0;
    return NdisTestBusComplete(Irp, STATUS_INVALID_DEVICE_REQUEST);
}

_Use_decl_annotations_
NTSTATUS NdisTestBusDispatchInternalDeviceControl(PDEVICE_OBJECT DeviceObject, PIRP Irp)
{
    /* IRQL: <= DISPATCH_LEVEL */
    PNDISTESTBUS_COMMON_EXTENSION common = (PNDISTESTBUS_COMMON_EXTENSION)DeviceObject->DeviceExtension;
    PNDISTESTBUS_PDO_EXTENSION pdoData;
    NTSTATUS status;

    Irp->IoStatus.Information = 0;
    if (common->IsFdo ||
        IoGetCurrentIrpStackLocation(Irp)->Parameters.DeviceIoControl.IoControlCode != IOCTL_NDISTESTBUS_INTERNAL_PING) {
        return NdisTestBusComplete(Irp, STATUS_INVALID_DEVICE_REQUEST);
    }
    pdoData = (PNDISTESTBUS_PDO_EXTENSION)common;
    if (!ReadAcquire(&pdoData->Present)) {
        status = STATUS_NO_SUCH_DEVICE;
    } else if (!ReadAcquire(&pdoData->Started)) {
        status = STATUS_DEVICE_NOT_READY;
    } else {
        status = STATUS_SUCCESS;
    }
    return NdisTestBusComplete(Irp, status);
}

_Use_decl_annotations_
NTSTATUS NdisTestBusDispatchCreateClose(PDEVICE_OBJECT DeviceObject, PIRP Irp)
{
    /* IRQL: PASSIVE_LEVEL */
    UNREFERENCED_PARAMETER(DeviceObject);
    Irp->IoStatus.Information = 0;
    return NdisTestBusComplete(Irp, STATUS_SUCCESS);
}

_Use_decl_annotations_
NTSTATUS NdisTestBusDispatchSystemControl(PDEVICE_OBJECT DeviceObject, PIRP Irp)
{
    /* IRQL: PASSIVE_LEVEL. No WMI: the FDO passes it down, a PDO completes it untouched. */
    PNDISTESTBUS_COMMON_EXTENSION common = (PNDISTESTBUS_COMMON_EXTENSION)DeviceObject->DeviceExtension;
    if (common->IsFdo) {
        IoSkipCurrentIrpStackLocation(Irp);
        return IoCallDriver(((PNDISTESTBUS_FDO_EXTENSION)common)->NextLowerDriver, Irp);
    }
    return NdisTestBusComplete(Irp, Irp->IoStatus.Status);
}
