/*
 * stubborn.c -- a test function driver that gets removal wrong on purpose: its AddDevice
 * leaves DO_DEVICE_INITIALIZING set, and it passes IRP_MN_REMOVE_DEVICE down without ever
 * detaching or deleting its device object. The PnP manager must say so.
 */
#include <ntddk.h>

DRIVER_INITIALIZE DriverEntry;
DRIVER_ADD_DEVICE StubbornAddDevice;
DRIVER_UNLOAD StubbornUnload;
_Dispatch_type_(IRP_MJ_PNP) _Dispatch_type_(IRP_MJ_POWER) DRIVER_DISPATCH StubbornDispatchPassDown;

typedef struct _STUBBORN_EXTENSION {
    PDEVICE_OBJECT NextLowerDriver;
} STUBBORN_EXTENSION, *PSTUBBORN_EXTENSION;

_Use_decl_annotations_
NTSTATUS StubbornDispatchPassDown(PDEVICE_OBJECT DeviceObject, PIRP Irp)
{
    /* IRQL: PASSIVE_LEVEL */
    PSTUBBORN_EXTENSION extension = (PSTUBBORN_EXTENSION)DeviceObject->DeviceExtension;

    IoSkipCurrentIrpStackLocation(Irp);
    return IoCallDriver(extension->NextLowerDriver, Irp);
}

_Use_decl_annotations_
NTSTATUS StubbornAddDevice(PDRIVER_OBJECT DriverObject, PDEVICE_OBJECT PhysicalDeviceObject)
{
    /* IRQL: PASSIVE_LEVEL */
    PDEVICE_OBJECT deviceObject = NULL;
    PSTUBBORN_EXTENSION extension;
    NTSTATUS status;

    status = IoCreateDevice(DriverObject, sizeof(STUBBORN_EXTENSION), NULL, FILE_DEVICE_UNKNOWN, 0, FALSE,
                            &deviceObject);
    if (!NT_SUCCESS(status)) {
        return status;
    }
    extension = (PSTUBBORN_EXTENSION)deviceObject->DeviceExtension;
    extension->NextLowerDriver = IoAttachDeviceToDeviceStack(deviceObject, PhysicalDeviceObject);
    /* Forgets: deviceObject->Flags &= ~DO_DEVICE_INITIALIZING; */
    return STATUS_SUCCESS;
}

_Use_decl_annotations_
VOID StubbornUnload(PDRIVER_OBJECT DriverObject)
{
    /* IRQL: PASSIVE_LEVEL */
    UNREFERENCED_PARAMETER(DriverObject);
}

_Use_decl_annotations_
NTSTATUS DriverEntry(PDRIVER_OBJECT DriverObject, PUNICODE_STRING RegistryPath)
{
    /* IRQL: PASSIVE_LEVEL */
    UNREFERENCED_PARAMETER(RegistryPath);
    DriverObject->MajorFunction[IRP_MJ_PNP] = StubbornDispatchPassDown;
    DriverObject->MajorFunction[IRP_MJ_POWER] = StubbornDispatchPassDown;
    DriverObject->DriverExtension->AddDevice = StubbornAddDevice;
    DriverObject->DriverUnload = StubbornUnload;
    return STATUS_SUCCESS;
}
