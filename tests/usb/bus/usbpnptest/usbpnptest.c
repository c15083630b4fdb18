/*
 * usbpnptest.c -- a minimal USB client function driver for the bus driver's PnP test.
 *
 * Module Name:  usbpnptest
 * Abstract:     Loaded by the PnP manager for the emulated device's hardware ID. At
 *               IRP_MN_START_DEVICE (after the bus) it reads the device and configuration
 *               descriptors, selects the configuration (each interface at its last
 *               alternate setting, where a CDC data interface has its endpoints) and keeps
 *               one bulk IN read pending. Surprise removal is recorded; removal cancels the
 *               read if still pending, waits for it, detaches and deletes. The test reads
 *               what it saw through IOCTL_USBPNPTEST_QUERY_STATE.
 * Environment:  kernel mode
 */
#include <ntddk.h>
#include <usb.h>
#include <usbdlib.h>
#include <usbioctl.h>

#include "usbpnptest_ioctl.h"

#define USBPNPTEST_TAG 'TpbU'
#define USBPNPTEST_READ_SIZE 2048

typedef struct _USBPNPTEST_EXTENSION {
  PDEVICE_OBJECT Self;
  PDEVICE_OBJECT NextLowerDriver;
  IO_REMOVE_LOCK RemoveLock;
  KSPIN_LOCK Lock; /* guards State */
  USBPNPTEST_STATE State;
  USBD_CONFIGURATION_HANDLE ConfigurationHandle;
  USBD_PIPE_HANDLE BulkIn;
  PIRP ReadIrp;
  URB ReadUrb;
  KEVENT ReadIdle; /* signalled while no read is at the bus */
  UCHAR ReadBuffer[USBPNPTEST_READ_SIZE];
} USBPNPTEST_EXTENSION, *PUSBPNPTEST_EXTENSION;

DRIVER_INITIALIZE DriverEntry;
static DRIVER_UNLOAD UsbPnpTestUnload;
static DRIVER_ADD_DEVICE UsbPnpTestAddDevice;
_Dispatch_type_(IRP_MJ_PNP) static DRIVER_DISPATCH UsbPnpTestDispatchPnp;
_Dispatch_type_(IRP_MJ_POWER) static DRIVER_DISPATCH UsbPnpTestDispatchPower;
_Dispatch_type_(IRP_MJ_DEVICE_CONTROL) static DRIVER_DISPATCH UsbPnpTestDispatchDeviceControl;
_Dispatch_type_(IRP_MJ_CREATE) _Dispatch_type_(IRP_MJ_CLOSE) static DRIVER_DISPATCH UsbPnpTestDispatchCreateClose;
static IO_COMPLETION_ROUTINE UsbPnpTestReadComplete;

_Use_decl_annotations_
NTSTATUS DriverEntry(PDRIVER_OBJECT DriverObject, PUNICODE_STRING RegistryPath)
{
    /* IRQL: PASSIVE_LEVEL */
    UNREFERENCED_PARAMETER(RegistryPath);
    DriverObject->MajorFunction[IRP_MJ_CREATE] = UsbPnpTestDispatchCreateClose;
    DriverObject->MajorFunction[IRP_MJ_CLOSE] = UsbPnpTestDispatchCreateClose;
    DriverObject->MajorFunction[IRP_MJ_PNP] = UsbPnpTestDispatchPnp;
    DriverObject->MajorFunction[IRP_MJ_POWER] = UsbPnpTestDispatchPower;
    DriverObject->MajorFunction[IRP_MJ_DEVICE_CONTROL] = UsbPnpTestDispatchDeviceControl;
    DriverObject->DriverExtension->AddDevice = UsbPnpTestAddDevice;
    DriverObject->DriverUnload = UsbPnpTestUnload;
    return STATUS_SUCCESS;
}

_Use_decl_annotations_
static VOID UsbPnpTestUnload(PDRIVER_OBJECT DriverObject)
{
    /* IRQL: PASSIVE_LEVEL */
    UNREFERENCED_PARAMETER(DriverObject);
}

_Use_decl_annotations_
static NTSTATUS UsbPnpTestAddDevice(PDRIVER_OBJECT DriverObject, PDEVICE_OBJECT PhysicalDeviceObject)
{
    /* IRQL: PASSIVE_LEVEL */
    PDEVICE_OBJECT deviceObject = NULL;
    PUSBPNPTEST_EXTENSION ext;
    NTSTATUS status;

    status = IoCreateDevice(DriverObject, sizeof(USBPNPTEST_EXTENSION), NULL, FILE_DEVICE_UNKNOWN,
                            FILE_DEVICE_SECURE_OPEN, FALSE, &deviceObject);
    if (!NT_SUCCESS(status)) {
        return status;
    }
    ext = (PUSBPNPTEST_EXTENSION)deviceObject->DeviceExtension;
    RtlZeroMemory(ext, sizeof(*ext));
    ext->Self = deviceObject;
    ext->State.ReadStatus = STATUS_PENDING;
    KeInitializeSpinLock(&ext->Lock);
    KeInitializeEvent(&ext->ReadIdle, NotificationEvent, TRUE);
    IoInitializeRemoveLock(&ext->RemoveLock, USBPNPTEST_TAG, 0, 0);
    ext->NextLowerDriver = IoAttachDeviceToDeviceStack(deviceObject, PhysicalDeviceObject);
    if (ext->NextLowerDriver == NULL) {
        IoDeleteDevice(deviceObject);
        return STATUS_NO_SUCH_DEVICE;
    }
    ext->ReadIrp = IoAllocateIrp(ext->NextLowerDriver->StackSize, FALSE);
    if (ext->ReadIrp == NULL) {
        IoDetachDevice(ext->NextLowerDriver);
        IoDeleteDevice(deviceObject);
        return STATUS_INSUFFICIENT_RESOURCES;
    }
    deviceObject->Flags |= DO_BUFFERED_IO | DO_POWER_PAGABLE;
    deviceObject->Flags &= ~DO_DEVICE_INITIALIZING;
    return STATUS_SUCCESS;
}

/* Sends an internal IOCTL (Argument1 = Argument) down and waits for it. */
static NTSTATUS UsbPnpTestCallBus(_In_ PUSBPNPTEST_EXTENSION Ext, _In_ ULONG IoControlCode, _In_opt_ PVOID Argument)
{
    /* IRQL: PASSIVE_LEVEL */
    KEVENT event;
    IO_STATUS_BLOCK ioStatus;
    PIRP irp;
    NTSTATUS status;

    KeInitializeEvent(&event, NotificationEvent, FALSE);
    irp = IoBuildDeviceIoControlRequest(IoControlCode, Ext->NextLowerDriver, NULL, 0, NULL, 0, TRUE, &event,
                                        &ioStatus);
    if (irp == NULL) {
        return STATUS_INSUFFICIENT_RESOURCES;
    }
    IoGetNextIrpStackLocation(irp)->Parameters.Others.Argument1 = Argument;
    status = IoCallDriver(Ext->NextLowerDriver, irp);
    if (status == STATUS_PENDING) {
        KeWaitForSingleObject(&event, Executive, KernelMode, FALSE, NULL);
        status = ioStatus.Status;
    }
    return status;
}

static NTSTATUS UsbPnpTestGetDescriptor(_In_ PUSBPNPTEST_EXTENSION Ext, _In_ UCHAR Type, _Out_writes_bytes_(Length) PVOID Buffer,
                                        _In_ ULONG Length)
{
    /* IRQL: PASSIVE_LEVEL */
    URB urb;
    RtlZeroMemory(&urb, sizeof(urb));
    UsbBuildGetDescriptorRequest(&urb, sizeof(struct _URB_CONTROL_DESCRIPTOR_REQUEST), Type, 0, 0, Buffer, NULL,
                                 Length, NULL);
    return UsbPnpTestCallBus(Ext, IOCTL_INTERNAL_USB_SUBMIT_URB, &urb);
}

/* Reads the descriptors, selects configuration 1 and finds the bulk IN pipe. */
static NTSTATUS UsbPnpTestConfigure(_Inout_ PUSBPNPTEST_EXTENSION Ext)
{
    /* IRQL: PASSIVE_LEVEL */
    USB_DEVICE_DESCRIPTOR device;
    USB_CONFIGURATION_DESCRIPTOR header;
    PUSB_CONFIGURATION_DESCRIPTOR config = NULL;
    USBD_INTERFACE_LIST_ENTRY list[9];
    PURB urb = NULL;
    ULONG count = 0;
    ULONG i, p;
    LONG number;
    NTSTATUS status;
    KIRQL oldIrql;

    status = UsbPnpTestGetDescriptor(Ext, USB_DEVICE_DESCRIPTOR_TYPE, &device, sizeof(device));
    if (!NT_SUCCESS(status)) {
        return status;
    }
    status = UsbPnpTestGetDescriptor(Ext, USB_CONFIGURATION_DESCRIPTOR_TYPE, &header, sizeof(header));
    if (!NT_SUCCESS(status)) {
        return status;
    }
    config = (PUSB_CONFIGURATION_DESCRIPTOR)ExAllocatePool2(POOL_FLAG_NON_PAGED, header.wTotalLength, USBPNPTEST_TAG);
    if (config == NULL) {
        return STATUS_INSUFFICIENT_RESOURCES;
    }
    status = UsbPnpTestGetDescriptor(Ext, USB_CONFIGURATION_DESCRIPTOR_TYPE, config, header.wTotalLength);
    if (!NT_SUCCESS(status)) {
        goto done;
    }

    RtlZeroMemory(list, sizeof(list));
    for (number = 0; number < (LONG)config->bNumInterfaces && count < 8; ++number) {
        /* The last alternate setting of each interface: a CDC data interface's alternate
         * setting 0 has no endpoints. */
        PUSB_INTERFACE_DESCRIPTOR chosen = NULL;
        PUSB_INTERFACE_DESCRIPTOR next = USBD_ParseConfigurationDescriptorEx(config, config, number, -1, -1, -1, -1);
        while (next != NULL) {
            chosen = next;
            next = USBD_ParseConfigurationDescriptorEx(config, (PUCHAR)next + next->bLength, number, -1, -1, -1, -1);
        }
        if (chosen != NULL) {
            list[count++].InterfaceDescriptor = chosen;
        }
    }
    urb = USBD_CreateConfigurationRequestEx(config, list);
    if (urb == NULL) {
        status = STATUS_INSUFFICIENT_RESOURCES;
        goto done;
    }
    status = UsbPnpTestCallBus(Ext, IOCTL_INTERNAL_USB_SUBMIT_URB, urb);
    if (!NT_SUCCESS(status)) {
        goto done;
    }
    Ext->ConfigurationHandle = urb->UrbSelectConfiguration.ConfigurationHandle;
    for (i = 0; i < count; ++i) {
        PUSBD_INTERFACE_INFORMATION info = list[i].Interface;
        for (p = 0; p < info->NumberOfPipes; ++p) {
            if (info->Pipes[p].PipeType == UsbdPipeTypeBulk && USB_ENDPOINT_DIRECTION_IN(info->Pipes[p].EndpointAddress) &&
                Ext->BulkIn == NULL) {
                Ext->BulkIn = info->Pipes[p].PipeHandle;
                Ext->State.BulkInEndpoint = info->Pipes[p].EndpointAddress;
            }
        }
    }
    KeAcquireSpinLock(&Ext->Lock, &oldIrql);
    Ext->State.IdVendor = device.idVendor;
    Ext->State.IdProduct = device.idProduct;
    Ext->State.ConfigurationValue = config->bConfigurationValue;
    KeReleaseSpinLock(&Ext->Lock, oldIrql);
    status = Ext->BulkIn != NULL ? STATUS_SUCCESS : STATUS_DEVICE_CONFIGURATION_ERROR;

done:
    if (urb != NULL) {
        ExFreePool(urb);
    }
    ExFreePool(config);
    return status;
}

_Use_decl_annotations_
static NTSTATUS UsbPnpTestReadComplete(PDEVICE_OBJECT DeviceObject, PIRP Irp, PVOID Context)
{
    /* IRQL: <= DISPATCH_LEVEL */
    PUSBPNPTEST_EXTENSION ext = (PUSBPNPTEST_EXTENSION)Context;
    KIRQL oldIrql;
    UNREFERENCED_PARAMETER(DeviceObject);

    KeAcquireSpinLock(&ext->Lock, &oldIrql);
    ext->State.ReadPending = 0;
    ext->State.ReadStatus = Irp->IoStatus.Status;
    ext->State.ReadUsbdStatus = ext->ReadUrb.UrbHeader.Status;
    KeReleaseSpinLock(&ext->Lock, oldIrql);
    KeSetEvent(&ext->ReadIdle, IO_NO_INCREMENT, FALSE);
    return STATUS_MORE_PROCESSING_REQUIRED; /* the IRP is ours, reused/freed at removal */
}

static VOID UsbPnpTestPostRead(_Inout_ PUSBPNPTEST_EXTENSION Ext)
{
    /* IRQL: PASSIVE_LEVEL */
    PIO_STACK_LOCATION next;
    KIRQL oldIrql;

    IoReuseIrp(Ext->ReadIrp, STATUS_SUCCESS);
    RtlZeroMemory(&Ext->ReadUrb, sizeof(Ext->ReadUrb));
    UsbBuildInterruptOrBulkTransferRequest(&Ext->ReadUrb, sizeof(struct _URB_BULK_OR_INTERRUPT_TRANSFER), Ext->BulkIn,
                                           Ext->ReadBuffer, NULL, sizeof(Ext->ReadBuffer),
                                           USBD_TRANSFER_DIRECTION_IN | USBD_SHORT_TRANSFER_OK, NULL);
    next = IoGetNextIrpStackLocation(Ext->ReadIrp);
    next->MajorFunction = IRP_MJ_INTERNAL_DEVICE_CONTROL;
    next->Parameters.DeviceIoControl.IoControlCode = IOCTL_INTERNAL_USB_SUBMIT_URB;
    next->Parameters.Others.Argument1 = &Ext->ReadUrb;
    /* The Ex form keeps the driver image loaded until the routine has returned: removal
     * waits for ReadIdle, which the routine sets just before it returns. */
    if (!NT_SUCCESS(IoSetCompletionRoutineEx(Ext->Self, Ext->ReadIrp, UsbPnpTestReadComplete, Ext, TRUE, TRUE, TRUE))) {
        return;
    }
    KeAcquireSpinLock(&Ext->Lock, &oldIrql);
    Ext->State.ReadPending = 1;
    Ext->State.ReadStatus = STATUS_PENDING;
    KeReleaseSpinLock(&Ext->Lock, oldIrql);
    KeClearEvent(&Ext->ReadIdle);
    IoCallDriver(Ext->NextLowerDriver, Ext->ReadIrp);
}

_Use_decl_annotations_
static NTSTATUS UsbPnpTestDispatchPnp(PDEVICE_OBJECT DeviceObject, PIRP Irp)
{
    /* IRQL: PASSIVE_LEVEL */
    PUSBPNPTEST_EXTENSION ext = (PUSBPNPTEST_EXTENSION)DeviceObject->DeviceExtension;
    PIO_STACK_LOCATION stack = IoGetCurrentIrpStackLocation(Irp);
    NTSTATUS status;
    KIRQL oldIrql;

    status = IoAcquireRemoveLock(&ext->RemoveLock, Irp);
    if (!NT_SUCCESS(status)) {
        Irp->IoStatus.Status = status;
        IoCompleteRequest(Irp, IO_NO_INCREMENT);
        return status;
    }
    switch (stack->MinorFunction) {
    case IRP_MN_START_DEVICE:
        if (!IoForwardIrpSynchronously(ext->NextLowerDriver, Irp)) {
            status = STATUS_UNSUCCESSFUL;
        } else {
            status = Irp->IoStatus.Status;
        }
        if (NT_SUCCESS(status)) {
            status = UsbPnpTestConfigure(ext);
        }
        if (NT_SUCCESS(status)) {
            KeAcquireSpinLock(&ext->Lock, &oldIrql);
            ext->State.Started = 1;
            KeReleaseSpinLock(&ext->Lock, oldIrql);
            UsbPnpTestPostRead(ext);
        }
        Irp->IoStatus.Status = status;
        IoCompleteRequest(Irp, IO_NO_INCREMENT);
        IoReleaseRemoveLock(&ext->RemoveLock, Irp);
        return status;

    case IRP_MN_SURPRISE_REMOVAL:
        KeAcquireSpinLock(&ext->Lock, &oldIrql);
        ext->State.SurpriseRemoved = 1;
        KeReleaseSpinLock(&ext->Lock, oldIrql);
        Irp->IoStatus.Status = STATUS_SUCCESS;
        break;

    case IRP_MN_REMOVE_DEVICE:
        /* A device still present (orderly removal) keeps the read pending: cancel it. */
        IoCancelIrp(ext->ReadIrp);
        KeWaitForSingleObject(&ext->ReadIdle, Executive, KernelMode, FALSE, NULL);
        /* The bus completes URBs from a DPC: make sure the one that ran our completion
         * routine has returned before the image may be unloaded. */
        KeFlushQueuedDpcs();
        IoReleaseRemoveLockAndWait(&ext->RemoveLock, Irp);
        Irp->IoStatus.Status = STATUS_SUCCESS;
        IoSkipCurrentIrpStackLocation(Irp);
        status = IoCallDriver(ext->NextLowerDriver, Irp);
        IoFreeIrp(ext->ReadIrp);
        IoDetachDevice(ext->NextLowerDriver);
        IoDeleteDevice(DeviceObject);
        return status;

    case IRP_MN_QUERY_STOP_DEVICE:
    case IRP_MN_QUERY_REMOVE_DEVICE:
    case IRP_MN_CANCEL_STOP_DEVICE:
    case IRP_MN_CANCEL_REMOVE_DEVICE:
        Irp->IoStatus.Status = STATUS_SUCCESS;
        break;

    default:
        break;
    }
    IoSkipCurrentIrpStackLocation(Irp);
    status = IoCallDriver(ext->NextLowerDriver, Irp);
    IoReleaseRemoveLock(&ext->RemoveLock, Irp);
    return status;
}

_Use_decl_annotations_
static NTSTATUS UsbPnpTestDispatchPower(PDEVICE_OBJECT DeviceObject, PIRP Irp)
{
    /* IRQL: <= DISPATCH_LEVEL */
    PUSBPNPTEST_EXTENSION ext = (PUSBPNPTEST_EXTENSION)DeviceObject->DeviceExtension;
    PoStartNextPowerIrp(Irp);
    IoSkipCurrentIrpStackLocation(Irp);
    return PoCallDriver(ext->NextLowerDriver, Irp);
}

_Use_decl_annotations_
static NTSTATUS UsbPnpTestDispatchDeviceControl(PDEVICE_OBJECT DeviceObject, PIRP Irp)
{
    /* IRQL: PASSIVE_LEVEL */
    PUSBPNPTEST_EXTENSION ext = (PUSBPNPTEST_EXTENSION)DeviceObject->DeviceExtension;
    PIO_STACK_LOCATION stack = IoGetCurrentIrpStackLocation(Irp);
    NTSTATUS status;
    KIRQL oldIrql;

    status = IoAcquireRemoveLock(&ext->RemoveLock, Irp);
    if (!NT_SUCCESS(status)) {
        Irp->IoStatus.Status = status;
        IoCompleteRequest(Irp, IO_NO_INCREMENT);
        return status;
    }
    Irp->IoStatus.Information = 0;
    switch (stack->Parameters.DeviceIoControl.IoControlCode) {
    case IOCTL_USBPNPTEST_QUERY_STATE:
        if (stack->Parameters.DeviceIoControl.OutputBufferLength < sizeof(USBPNPTEST_STATE)) {
            status = STATUS_BUFFER_TOO_SMALL;
            break;
        }
        KeAcquireSpinLock(&ext->Lock, &oldIrql);
        RtlCopyMemory(Irp->AssociatedIrp.SystemBuffer, &ext->State, sizeof(USBPNPTEST_STATE));
        KeReleaseSpinLock(&ext->Lock, oldIrql);
        Irp->IoStatus.Information = sizeof(USBPNPTEST_STATE);
        status = STATUS_SUCCESS;
        break;
    case IOCTL_USBPNPTEST_CYCLE_PORT:
        status = UsbPnpTestCallBus(ext, IOCTL_INTERNAL_USB_CYCLE_PORT, NULL);
        break;
    default:
        status = STATUS_INVALID_DEVICE_REQUEST;
        break;
    }
    Irp->IoStatus.Status = status;
    IoCompleteRequest(Irp, IO_NO_INCREMENT);
    IoReleaseRemoveLock(&ext->RemoveLock, Irp);
    return status;
}

_Use_decl_annotations_
static NTSTATUS UsbPnpTestDispatchCreateClose(PDEVICE_OBJECT DeviceObject, PIRP Irp)
{
    /* IRQL: PASSIVE_LEVEL */
    UNREFERENCED_PARAMETER(DeviceObject);
    Irp->IoStatus.Status = STATUS_SUCCESS;
    Irp->IoStatus.Information = 0;
    IoCompleteRequest(Irp, IO_NO_INCREMENT);
    return STATUS_SUCCESS;
}
