/*
 * driver.c -- samplefunc entry points: DriverEntry, AddDevice, Unload and the trivial
 * dispatch routines.
 *
 * Module Name:  samplefunc
 * Environment:  kernel mode
 */
#include "samplefunc.h"

_Use_decl_annotations_
NTSTATUS DriverEntry(PDRIVER_OBJECT DriverObject, PUNICODE_STRING RegistryPath)
{
    /* IRQL: PASSIVE_LEVEL */
    UNREFERENCED_PARAMETER(RegistryPath);

    DriverObject->MajorFunction[IRP_MJ_CREATE] = SampleFuncDispatchCreateClose;
    DriverObject->MajorFunction[IRP_MJ_CLOSE] = SampleFuncDispatchCreateClose;
    DriverObject->MajorFunction[IRP_MJ_PNP] = SampleFuncDispatchPnp;
    DriverObject->MajorFunction[IRP_MJ_POWER] = SampleFuncDispatchPower;
    DriverObject->MajorFunction[IRP_MJ_DEVICE_CONTROL] = SampleFuncDispatchDeviceControl;
    DriverObject->MajorFunction[IRP_MJ_SYSTEM_CONTROL] = SampleFuncDispatchPassDown;
    DriverObject->DriverExtension->AddDevice = SampleFuncAddDevice;
    DriverObject->DriverUnload = SampleFuncUnload;

    KdPrint(("samplefunc: loaded\n"));
    return STATUS_SUCCESS;
}

_Use_decl_annotations_
VOID SampleFuncUnload(PDRIVER_OBJECT DriverObject)
{
    /* IRQL: PASSIVE_LEVEL. Nothing global to free: everything lives in device extensions,
     * and every device was removed before the system unloads the driver. */
    UNREFERENCED_PARAMETER(DriverObject);
    KdPrint(("samplefunc: unloaded\n"));
}

_Use_decl_annotations_
NTSTATUS SampleFuncAddDevice(PDRIVER_OBJECT DriverObject, PDEVICE_OBJECT PhysicalDeviceObject)
{
    /* IRQL: PASSIVE_LEVEL */
    PDEVICE_OBJECT deviceObject = NULL;
    PSAMPLEFUNC_FDO_EXTENSION fdoData;
    ULONG address = 0;
    ULONG resultLength = 0;
    NTSTATUS status;

    status = IoCreateDevice(DriverObject, sizeof(SAMPLEFUNC_FDO_EXTENSION), NULL, FILE_DEVICE_UNKNOWN,
                            FILE_DEVICE_SECURE_OPEN, FALSE, &deviceObject);
    if (!NT_SUCCESS(status)) {
        return status;
    }

    fdoData = (PSAMPLEFUNC_FDO_EXTENSION)deviceObject->DeviceExtension;
    RtlZeroMemory(fdoData, sizeof(*fdoData));
    fdoData->Self = deviceObject;
    fdoData->UnderlyingPdo = PhysicalDeviceObject;
    fdoData->DevicePnpState = SampleFuncNotStarted;
    fdoData->PreviousPnpState = SampleFuncNotStarted;
    fdoData->DevicePowerState = PowerDeviceD3;
    fdoData->SystemPowerState = PowerSystemWorking;
    KeInitializeSpinLock(&fdoData->StateLock);
    KeInitializeSpinLock(&fdoData->ReadLock);
    KeInitializeEvent(&fdoData->ReadsIdle, NotificationEvent, TRUE);
    IoInitializeRemoveLock(&fdoData->RemoveLock, SAMPLEFUNC_POOL_TAG, 0, 0);

    /* The bus reports the child's serial number as its address. */
    status = IoGetDeviceProperty(PhysicalDeviceObject, DevicePropertyAddress, sizeof(address), &address,
                                 &resultLength);
    fdoData->SerialNo = NT_SUCCESS(status) ? address : 0;

    fdoData->NextLowerDriver = IoAttachDeviceToDeviceStack(deviceObject, PhysicalDeviceObject);
    if (fdoData->NextLowerDriver == NULL) {
        IoDeleteDevice(deviceObject);
        return STATUS_NO_SUCH_DEVICE;
    }

    /* The read IRPs are sized for the stack below us, so allocate them after attaching. */
    status = SampleFuncAllocateReads(fdoData);
    if (!NT_SUCCESS(status)) {
        IoDetachDevice(fdoData->NextLowerDriver);
        IoDeleteDevice(deviceObject);
        return status;
    }

    deviceObject->Flags |= DO_BUFFERED_IO | DO_POWER_PAGABLE;
    deviceObject->Flags &= ~DO_DEVICE_INITIALIZING;
    KdPrint(("samplefunc: device %u added\n", fdoData->SerialNo));
    return STATUS_SUCCESS;
}

_Use_decl_annotations_
NTSTATUS SampleFuncDispatchCreateClose(PDEVICE_OBJECT DeviceObject, PIRP Irp)
{
    /* IRQL: PASSIVE_LEVEL */
    UNREFERENCED_PARAMETER(DeviceObject);
    Irp->IoStatus.Status = STATUS_SUCCESS;
    Irp->IoStatus.Information = 0;
    IoCompleteRequest(Irp, IO_NO_INCREMENT);
    return STATUS_SUCCESS;
}

_Use_decl_annotations_
NTSTATUS SampleFuncDispatchPassDown(PDEVICE_OBJECT DeviceObject, PIRP Irp)
{
    /* IRQL: PASSIVE_LEVEL */
    PSAMPLEFUNC_FDO_EXTENSION fdoData = (PSAMPLEFUNC_FDO_EXTENSION)DeviceObject->DeviceExtension;
    NTSTATUS status;

    status = IoAcquireRemoveLock(&fdoData->RemoveLock, Irp);
    if (!NT_SUCCESS(status)) {
        Irp->IoStatus.Status = status;
        IoCompleteRequest(Irp, IO_NO_INCREMENT);
        return status;
    }
    IoSkipCurrentIrpStackLocation(Irp);
    status = IoCallDriver(fdoData->NextLowerDriver, Irp);
    IoReleaseRemoveLock(&fdoData->RemoveLock, Irp);
    return status;
}
