/*
 * driver.c -- samplebus entry points: DriverEntry, AddDevice, Unload, and the dispatch
 * routines that route each IRP to the FDO or PDO handler.
 *
 * Module Name:  samplebus
 * Environment:  kernel mode
 */
#include "samplebus.h"

_Use_decl_annotations_
NTSTATUS DriverEntry(PDRIVER_OBJECT DriverObject, PUNICODE_STRING RegistryPath)
{
    /* IRQL: PASSIVE_LEVEL */
    UNREFERENCED_PARAMETER(RegistryPath);

    DriverObject->MajorFunction[IRP_MJ_CREATE] = SampleBusDispatchCreateClose;
    DriverObject->MajorFunction[IRP_MJ_CLOSE] = SampleBusDispatchCreateClose;
    DriverObject->MajorFunction[IRP_MJ_PNP] = SampleBusDispatchPnp;
    DriverObject->MajorFunction[IRP_MJ_POWER] = SampleBusDispatchPower;
    DriverObject->MajorFunction[IRP_MJ_DEVICE_CONTROL] = SampleBusDispatchDeviceControl;
    DriverObject->MajorFunction[IRP_MJ_INTERNAL_DEVICE_CONTROL] = SampleBusDispatchInternalDeviceControl;
    DriverObject->MajorFunction[IRP_MJ_SYSTEM_CONTROL] = SampleBusDispatchSystemControl;
    DriverObject->DriverExtension->AddDevice = SampleBusAddDevice;
    DriverObject->DriverUnload = SampleBusUnload;

    KdPrint(("samplebus: loaded\n"));
    return STATUS_SUCCESS;
}

_Use_decl_annotations_
VOID SampleBusUnload(PDRIVER_OBJECT DriverObject)
{
    /* IRQL: PASSIVE_LEVEL. Every device object is gone by now (the PnP manager removed
     * them all), and the driver holds no global resources. */
    UNREFERENCED_PARAMETER(DriverObject);
    KdPrint(("samplebus: unloaded\n"));
}

_Use_decl_annotations_
NTSTATUS SampleBusAddDevice(PDRIVER_OBJECT DriverObject, PDEVICE_OBJECT PhysicalDeviceObject)
{
    /* IRQL: PASSIVE_LEVEL */
    PDEVICE_OBJECT deviceObject = NULL;
    PSAMPLEBUS_FDO_EXTENSION fdoData;
    NTSTATUS status;

    status = IoCreateDevice(DriverObject, sizeof(SAMPLEBUS_FDO_EXTENSION), NULL, FILE_DEVICE_BUS_EXTENDER,
                            FILE_DEVICE_SECURE_OPEN, FALSE, &deviceObject);
    if (!NT_SUCCESS(status)) {
        return status;
    }

    fdoData = (PSAMPLEBUS_FDO_EXTENSION)deviceObject->DeviceExtension;
    RtlZeroMemory(fdoData, sizeof(*fdoData));
    fdoData->Common.IsFdo = TRUE;
    fdoData->Common.Self = deviceObject;
    fdoData->Common.DevicePnpState = SampleBusNotStarted;
    fdoData->Common.PreviousPnpState = SampleBusNotStarted;
    fdoData->Common.DevicePowerState = PowerDeviceUnspecified;
    fdoData->Common.SystemPowerState = PowerSystemWorking;
    fdoData->UnderlyingPdo = PhysicalDeviceObject;
    fdoData->NextSerialNo = 1;
    ExInitializeFastMutex(&fdoData->ChildLock);
    InitializeListHead(&fdoData->Children);
    IoInitializeRemoveLock(&fdoData->RemoveLock, SAMPLEBUS_POOL_TAG, 0, 0);

    fdoData->NextLowerDriver = IoAttachDeviceToDeviceStack(deviceObject, PhysicalDeviceObject);
    if (fdoData->NextLowerDriver == NULL) {
        IoDeleteDevice(deviceObject);
        return STATUS_NO_SUCH_DEVICE;
    }

    /* Power IRPs may arrive at PASSIVE_LEVEL: nothing in our power path needs DISPATCH. */
    deviceObject->Flags |= DO_POWER_PAGABLE;
    deviceObject->Flags &= ~DO_DEVICE_INITIALIZING;
    return STATUS_SUCCESS;
}

_Use_decl_annotations_
NTSTATUS SampleBusDispatchPnp(PDEVICE_OBJECT DeviceObject, PIRP Irp)
{
    /* IRQL: PASSIVE_LEVEL (the PnP manager sends PnP IRPs from a system thread) */
    PSAMPLEBUS_COMMON_EXTENSION common = (PSAMPLEBUS_COMMON_EXTENSION)DeviceObject->DeviceExtension;

    if (common->IsFdo) {
        return SampleBusFdoPnp((PSAMPLEBUS_FDO_EXTENSION)common, Irp);
    }
    return SampleBusPdoPnp((PSAMPLEBUS_PDO_EXTENSION)common, Irp);
}

_Use_decl_annotations_
NTSTATUS SampleBusDispatchPower(PDEVICE_OBJECT DeviceObject, PIRP Irp)
{
    /* IRQL: PASSIVE_LEVEL (DO_POWER_PAGABLE is set on every device object we create) */
    PSAMPLEBUS_COMMON_EXTENSION common = (PSAMPLEBUS_COMMON_EXTENSION)DeviceObject->DeviceExtension;

    if (common->IsFdo) {
        return SampleBusFdoPower((PSAMPLEBUS_FDO_EXTENSION)common, Irp);
    }
    return SampleBusPdoPower((PSAMPLEBUS_PDO_EXTENSION)common, Irp);
}

_Use_decl_annotations_
NTSTATUS SampleBusDispatchDeviceControl(PDEVICE_OBJECT DeviceObject, PIRP Irp)
{
    /* IRQL: PASSIVE_LEVEL */
    PSAMPLEBUS_COMMON_EXTENSION common = (PSAMPLEBUS_COMMON_EXTENSION)DeviceObject->DeviceExtension;
    NTSTATUS status;

    if (common->IsFdo) {
        return SampleBusFdoDeviceControl((PSAMPLEBUS_FDO_EXTENSION)common, Irp);
    }

    /* Children take only internal IOCTLs. */
    status = STATUS_INVALID_DEVICE_REQUEST;
    Irp->IoStatus.Status = status;
    Irp->IoStatus.Information = 0;
    IoCompleteRequest(Irp, IO_NO_INCREMENT);
    return status;
}

_Use_decl_annotations_
NTSTATUS SampleBusDispatchInternalDeviceControl(PDEVICE_OBJECT DeviceObject, PIRP Irp)
{
    /* IRQL: <= DISPATCH_LEVEL (a function driver may send reads from a completion routine) */
    PSAMPLEBUS_COMMON_EXTENSION common = (PSAMPLEBUS_COMMON_EXTENSION)DeviceObject->DeviceExtension;
    NTSTATUS status;

    if (!common->IsFdo) {
        return SampleBusPdoInternalDeviceControl((PSAMPLEBUS_PDO_EXTENSION)common, Irp);
    }

    status = STATUS_INVALID_DEVICE_REQUEST;
    Irp->IoStatus.Status = status;
    Irp->IoStatus.Information = 0;
    IoCompleteRequest(Irp, IO_NO_INCREMENT);
    return status;
}

_Use_decl_annotations_
NTSTATUS SampleBusDispatchCreateClose(PDEVICE_OBJECT DeviceObject, PIRP Irp)
{
    /* IRQL: PASSIVE_LEVEL */
    PSAMPLEBUS_COMMON_EXTENSION common = (PSAMPLEBUS_COMMON_EXTENSION)DeviceObject->DeviceExtension;
    NTSTATUS status = STATUS_SUCCESS;

    if (common->DevicePnpState == SampleBusDeleted) {
        status = STATUS_NO_SUCH_DEVICE;
    }
    Irp->IoStatus.Status = status;
    Irp->IoStatus.Information = 0;
    IoCompleteRequest(Irp, IO_NO_INCREMENT);
    return status;
}

_Use_decl_annotations_
NTSTATUS SampleBusDispatchSystemControl(PDEVICE_OBJECT DeviceObject, PIRP Irp)
{
    /* IRQL: PASSIVE_LEVEL. No WMI support: the FDO passes WMI IRPs down, a PDO completes
     * them untouched, as a bus driver does for a request it does not handle. */
    PSAMPLEBUS_COMMON_EXTENSION common = (PSAMPLEBUS_COMMON_EXTENSION)DeviceObject->DeviceExtension;
    NTSTATUS status;

    if (common->IsFdo) {
        IoSkipCurrentIrpStackLocation(Irp);
        return IoCallDriver(((PSAMPLEBUS_FDO_EXTENSION)common)->NextLowerDriver, Irp);
    }
    status = Irp->IoStatus.Status;
    IoCompleteRequest(Irp, IO_NO_INCREMENT);
    return status;
}
