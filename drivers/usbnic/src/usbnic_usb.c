/*
 * usbnic_usb.c -- the WDM lower edge: URBs sent down the device stack with IoCallDriver in
 * preallocated IRPs (IoReuseIrp between uses), the default-pipe requests, and the device's
 * configuration: descriptors read and parsed defensively, configuration and data-interface
 * alternate setting selected.
 */
#include "usbnic_internal.h"

/* Any IRQL <= DISPATCH_LEVEL: the synchronous helpers' completion routine. The IRP is
 * ours and reused, so the I/O manager must not touch it again. */
static IO_COMPLETION_ROUTINE UsbNicSyncCompletion;

static NTSTATUS NTAPI UsbNicSyncCompletion(PDEVICE_OBJECT DeviceObject, PIRP Irp, PVOID Context)
{
    PUSBNIC_ADAPTER adapter = (PUSBNIC_ADAPTER)Context;
    UNREFERENCED_PARAMETER(DeviceObject);
    UNREFERENCED_PARAMETER(Irp);
    KeSetEvent(&adapter->ControlDone, IO_NO_INCREMENT, FALSE);
    return STATUS_MORE_PROCESSING_REQUIRED;
}

VOID UsbNicPrepareUrbIrp(PIRP Irp, PURB Urb, PIO_COMPLETION_ROUTINE Completion, PVOID Context)
{
    PIO_STACK_LOCATION next;
    IoReuseIrp(Irp, STATUS_NOT_SUPPORTED);
    next = IoGetNextIrpStackLocation(Irp);
    next->MajorFunction = IRP_MJ_INTERNAL_DEVICE_CONTROL;
    next->Parameters.DeviceIoControl.IoControlCode = IOCTL_INTERNAL_USB_SUBMIT_URB;
    next->Parameters.Others.Argument1 = Urb;
    IoSetCompletionRoutine(Irp, Completion, Context, TRUE, TRUE, TRUE);
}

static VOID AcquireControl(PUSBNIC_ADAPTER Adapter)
{
    KeWaitForSingleObject(&Adapter->ControlLock, Executive, KernelMode, FALSE, NULL);
}

static VOID ReleaseControl(PUSBNIC_ADAPTER Adapter)
{
    KeSetEvent(&Adapter->ControlLock, IO_NO_INCREMENT, FALSE);
}

/* PASSIVE_LEVEL, control lock held. Sends Urb in the control IRP and waits; a device that
 * does not answer within the time-out has its request cancelled. */
static NTSTATUS SubmitUrbLocked(PUSBNIC_ADAPTER Adapter, PURB Urb)
{
    LARGE_INTEGER timeout;
    NTSTATUS status;

    if (Adapter->SurpriseRemoved) {
        return STATUS_DEVICE_NOT_CONNECTED;
    }
    UsbNicPrepareUrbIrp(Adapter->ControlIrp, Urb, UsbNicSyncCompletion, Adapter);
    KeClearEvent(&Adapter->ControlDone);
    (void)IoCallDriver(Adapter->NextDevice, Adapter->ControlIrp);
    timeout.QuadPart = -10000LL * USBNIC_CONTROL_TIMEOUT_MS;
    status = KeWaitForSingleObject(&Adapter->ControlDone, Executive, KernelMode, FALSE, &timeout);
    if (status == STATUS_TIMEOUT) {
        IoCancelIrp(Adapter->ControlIrp);
        KeWaitForSingleObject(&Adapter->ControlDone, Executive, KernelMode, FALSE, NULL);
    }
    status = Adapter->ControlIrp->IoStatus.Status;
    if (NT_SUCCESS(status) && !USBD_SUCCESS(URB_STATUS(Urb))) {
        status = STATUS_UNSUCCESSFUL;
    }
    return status;
}

static NTSTATUS SubmitUrbSync(PUSBNIC_ADAPTER Adapter, PURB Urb)
{
    NTSTATUS status;
    AcquireControl(Adapter);
    status = SubmitUrbLocked(Adapter, Urb);
    ReleaseControl(Adapter);
    return status;
}

NDIS_STATUS UsbNicAllocateControl(PUSBNIC_ADAPTER Adapter)
{
    KeInitializeEvent(&Adapter->ControlLock, SynchronizationEvent, TRUE);
    KeInitializeEvent(&Adapter->ControlDone, NotificationEvent, FALSE);
    Adapter->ControlIrp = IoAllocateIrp(Adapter->IrpStackSize, FALSE);
    Adapter->ControlUrb = (PURB)NdisAllocateMemoryWithTagPriority(Adapter->MiniportHandle, sizeof(URB),
                                                                  USBNIC_POOL_TAG, NormalPoolPriority);
    if (Adapter->ControlIrp == NULL || Adapter->ControlUrb == NULL) {
        return NDIS_STATUS_RESOURCES;
    }
    return NDIS_STATUS_SUCCESS;
}

VOID UsbNicFreeControl(PUSBNIC_ADAPTER Adapter)
{
    if (Adapter->ControlIrp != NULL) {
        IoFreeIrp(Adapter->ControlIrp);
        Adapter->ControlIrp = NULL;
    }
    if (Adapter->ControlUrb != NULL) {
        NdisFreeMemoryWithTagPriority(Adapter->MiniportHandle, Adapter->ControlUrb, USBNIC_POOL_TAG);
        Adapter->ControlUrb = NULL;
    }
}

NTSTATUS UsbNicClassRequest(PUSBNIC_ADAPTER Adapter, BOOLEAN In, UCHAR Request, USHORT Value,
                            USHORT Index, PVOID Buffer, ULONG Length, PULONG Transferred)
{
    PURB urb = Adapter->ControlUrb;
    NTSTATUS status;

    AcquireControl(Adapter);
    RtlZeroMemory(urb, sizeof(struct _URB_CONTROL_VENDOR_OR_CLASS_REQUEST));
    UsbBuildVendorRequest(urb, URB_FUNCTION_CLASS_INTERFACE,
                          sizeof(struct _URB_CONTROL_VENDOR_OR_CLASS_REQUEST),
                          In ? (USBD_TRANSFER_DIRECTION_IN | USBD_SHORT_TRANSFER_OK) : USBD_TRANSFER_DIRECTION_OUT,
                          0, Request, Value, Index, Length != 0 ? Buffer : NULL, NULL, Length, NULL);
    status = SubmitUrbLocked(Adapter, urb);
    if (Transferred != NULL) {
        *Transferred = NT_SUCCESS(status) ? urb->UrbControlVendorClassRequest.TransferBufferLength : 0;
    }
    ReleaseControl(Adapter);
    return status;
}

NTSTATUS UsbNicGetDescriptor(PUSBNIC_ADAPTER Adapter, UCHAR Type, UCHAR Index, PVOID Buffer,
                             ULONG Length, PULONG Transferred)
{
    PURB urb = Adapter->ControlUrb;
    NTSTATUS status;

    AcquireControl(Adapter);
    RtlZeroMemory(urb, sizeof(struct _URB_CONTROL_DESCRIPTOR_REQUEST));
    UsbBuildGetDescriptorRequest(urb, sizeof(struct _URB_CONTROL_DESCRIPTOR_REQUEST), Type, Index,
                                 Type == USB_STRING_DESCRIPTOR_TYPE ? 0x0409 : 0, Buffer, NULL,
                                 Length, NULL);
    status = SubmitUrbLocked(Adapter, urb);
    if (Transferred != NULL) {
        *Transferred = NT_SUCCESS(status) ? urb->UrbControlDescriptorRequest.TransferBufferLength : 0;
    }
    ReleaseControl(Adapter);
    return status;
}

NTSTATUS UsbNicPipeRequest(PUSBNIC_ADAPTER Adapter, USHORT Function, USBD_PIPE_HANDLE Pipe)
{
    PURB urb = Adapter->ControlUrb;
    NTSTATUS status;

    if (Pipe == NULL) {
        return STATUS_INVALID_PARAMETER;
    }
    AcquireControl(Adapter);
    RtlZeroMemory(urb, sizeof(struct _URB_PIPE_REQUEST));
    urb->UrbHeader.Length = (USHORT)sizeof(struct _URB_PIPE_REQUEST);
    urb->UrbHeader.Function = Function;
    urb->UrbPipeRequest.PipeHandle = Pipe;
    status = SubmitUrbLocked(Adapter, urb);
    ReleaseControl(Adapter);
    return status;
}

/* PASSIVE_LEVEL. Reads the whole configuration descriptor: its 9-byte head first, then
 * wTotalLength bytes, each reply checked against what was asked. */
static NDIS_STATUS ReadConfiguration(PUSBNIC_ADAPTER Adapter)
{
    USB_CONFIGURATION_DESCRIPTOR head;
    PUCHAR badOffset = NULL;
    ULONG got = 0;
    ULONG total;
    NTSTATUS status;

    status = UsbNicGetDescriptor(Adapter, USB_DEVICE_DESCRIPTOR_TYPE, 0, &Adapter->DeviceDescriptor,
                                 sizeof(USB_DEVICE_DESCRIPTOR), &got);
    if (!NT_SUCCESS(status) || got < sizeof(USB_DEVICE_DESCRIPTOR) ||
        Adapter->DeviceDescriptor.bDescriptorType != USB_DEVICE_DESCRIPTOR_TYPE ||
        Adapter->DeviceDescriptor.bNumConfigurations == 0) {
        return NDIS_STATUS_DEVICE_FAILED;
    }
    status = UsbNicGetDescriptor(Adapter, USB_CONFIGURATION_DESCRIPTOR_TYPE, 0, &head, sizeof(head), &got);
    if (!NT_SUCCESS(status) || got < sizeof(head) || head.bDescriptorType != USB_CONFIGURATION_DESCRIPTOR_TYPE ||
        head.wTotalLength < sizeof(head)) {
        return NDIS_STATUS_DEVICE_FAILED;
    }
    total = head.wTotalLength;
    Adapter->ConfigDescriptor = (PUCHAR)NdisAllocateMemoryWithTagPriority(Adapter->MiniportHandle, total,
                                                                          USBNIC_POOL_TAG, NormalPoolPriority);
    if (Adapter->ConfigDescriptor == NULL) {
        return NDIS_STATUS_RESOURCES;
    }
    status = UsbNicGetDescriptor(Adapter, USB_CONFIGURATION_DESCRIPTOR_TYPE, 0, Adapter->ConfigDescriptor,
                                 total, &got);
    if (!NT_SUCCESS(status) || got != total) {
        return NDIS_STATUS_DEVICE_FAILED;
    }
    Adapter->ConfigLength = total;
    /* The bus driver's own check too: impossible lengths, endpoints outside interfaces. */
    if (!USBD_SUCCESS(USBD_ValidateConfigurationDescriptor(
            (PUSB_CONFIGURATION_DESCRIPTOR)Adapter->ConfigDescriptor, total, 1, &badOffset, USBNIC_POOL_TAG))) {
        return NDIS_STATUS_DEVICE_FAILED;
    }
    return NDIS_STATUS_SUCCESS;
}

static PUSBD_INTERFACE_INFORMATION FindInterface(PURB Urb, ULONG InterfaceCount, UCHAR Number)
{
    PUCHAR cursor = (PUCHAR)&Urb->UrbSelectConfiguration.Interface;
    PUCHAR end = (PUCHAR)Urb + Urb->UrbHeader.Length;
    ULONG i;
    for (i = 0; i < InterfaceCount && cursor + sizeof(USBD_INTERFACE_INFORMATION) <= end; i++) {
        PUSBD_INTERFACE_INFORMATION info = (PUSBD_INTERFACE_INFORMATION)cursor;
        if (info->Length < sizeof(USBD_INTERFACE_INFORMATION) - sizeof(USBD_PIPE_INFORMATION)) {
            break;
        }
        if (info->InterfaceNumber == Number) {
            return info;
        }
        cursor += info->Length;
    }
    return NULL;
}

static VOID LearnPipes(PUSBNIC_ADAPTER Adapter, PUSBD_INTERFACE_INFORMATION Info)
{
    ULONG i;
    for (i = 0; i < Info->NumberOfPipes; i++) {
        PUSBD_PIPE_INFORMATION pipe = &Info->Pipes[i];
        if (pipe->EndpointAddress == Adapter->Cdc.BulkInEndpoint && pipe->PipeType == UsbdPipeTypeBulk) {
            Adapter->BulkInPipe = pipe->PipeHandle;
        } else if (pipe->EndpointAddress == Adapter->Cdc.BulkOutEndpoint && pipe->PipeType == UsbdPipeTypeBulk) {
            Adapter->BulkOutPipe = pipe->PipeHandle;
        } else if (pipe->EndpointAddress == Adapter->Cdc.InterruptEndpoint &&
                   pipe->PipeType == UsbdPipeTypeInterrupt) {
            Adapter->InterruptPipe = pipe->PipeHandle;
        }
    }
}

NDIS_STATUS UsbNicConfigureDevice(PUSBNIC_ADAPTER Adapter)
{
    PUSB_CONFIGURATION_DESCRIPTOR config;
    USBD_INTERFACE_LIST_ENTRY list[3];
    PUSBD_INTERFACE_INFORMATION info;
    PURB urb;
    NTSTATUS status;
    NDIS_STATUS ndisStatus;
    CDC_DESC_ERROR parse;

    ndisStatus = ReadConfiguration(Adapter);
    if (ndisStatus != NDIS_STATUS_SUCCESS) {
        return ndisStatus;
    }
    parse = CdcParseConfiguration(Adapter->ConfigDescriptor, Adapter->ConfigLength, &Adapter->Cdc);
    if (parse != CdcDescOk) {
        return NDIS_STATUS_NOT_SUPPORTED;
    }
    config = (PUSB_CONFIGURATION_DESCRIPTOR)Adapter->ConfigDescriptor;
    RtlZeroMemory(list, sizeof(list));
    list[0].InterfaceDescriptor = USBD_ParseConfigurationDescriptorEx(config, config, Adapter->Cdc.ControlInterface,
                                                                      0, -1, -1, -1);
    list[1].InterfaceDescriptor = USBD_ParseConfigurationDescriptorEx(
        config, config, Adapter->Cdc.DataInterface, Adapter->Cdc.DataIdleAlternateSetting, -1, -1, -1);
    if (list[0].InterfaceDescriptor == NULL || list[1].InterfaceDescriptor == NULL) {
        return NDIS_STATUS_NOT_SUPPORTED;
    }
    urb = USBD_CreateConfigurationRequestEx(config, list);
    if (urb == NULL) {
        return NDIS_STATUS_RESOURCES;
    }
    status = SubmitUrbSync(Adapter, urb);
    if (NT_SUCCESS(status)) {
        Adapter->ConfigurationHandle = urb->UrbSelectConfiguration.ConfigurationHandle;
        info = FindInterface(urb, 2, Adapter->Cdc.ControlInterface);
        if (info != NULL) {
            LearnPipes(Adapter, info);
        }
        info = FindInterface(urb, 2, Adapter->Cdc.DataInterface);
        if (info != NULL) {
            LearnPipes(Adapter, info);
        }
    }
    ExFreePool(urb);
    return NT_SUCCESS(status) ? NDIS_STATUS_SUCCESS : NDIS_STATUS_DEVICE_FAILED;
}

NDIS_STATUS UsbNicSelectDataInterface(PUSBNIC_ADAPTER Adapter)
{
    PUSB_CONFIGURATION_DESCRIPTOR config = (PUSB_CONFIGURATION_DESCRIPTOR)Adapter->ConfigDescriptor;
    PUSB_INTERFACE_DESCRIPTOR alt;
    ULONG size;
    PURB urb;
    NTSTATUS status;

    if (Adapter->Cdc.DataAlternateSetting == Adapter->Cdc.DataIdleAlternateSetting) {
        /* RNDIS: the pipes came with the configuration. */
        return Adapter->BulkInPipe != NULL && Adapter->BulkOutPipe != NULL ? NDIS_STATUS_SUCCESS
                                                                           : NDIS_STATUS_DEVICE_FAILED;
    }
    alt = USBD_ParseConfigurationDescriptorEx(config, config, Adapter->Cdc.DataInterface,
                                              Adapter->Cdc.DataAlternateSetting, -1, -1, -1);
    if (alt == NULL || alt->bNumEndpoints == 0) {
        return NDIS_STATUS_DEVICE_FAILED;
    }
    size = (ULONG)GET_SELECT_INTERFACE_REQUEST_SIZE(alt->bNumEndpoints);
    urb = (PURB)NdisAllocateMemoryWithTagPriority(Adapter->MiniportHandle, size, USBNIC_POOL_TAG,
                                                  NormalPoolPriority);
    if (urb == NULL) {
        return NDIS_STATUS_RESOURCES;
    }
    RtlZeroMemory(urb, size);
    UsbBuildSelectInterfaceRequest(urb, size, Adapter->ConfigurationHandle, Adapter->Cdc.DataInterface,
                                   Adapter->Cdc.DataAlternateSetting);
    urb->UrbSelectInterface.Interface.NumberOfPipes = alt->bNumEndpoints;
    status = SubmitUrbSync(Adapter, urb);
    if (NT_SUCCESS(status)) {
        LearnPipes(Adapter, &urb->UrbSelectInterface.Interface);
    }
    NdisFreeMemoryWithTagPriority(Adapter->MiniportHandle, urb, USBNIC_POOL_TAG);
    if (!NT_SUCCESS(status) || Adapter->BulkInPipe == NULL || Adapter->BulkOutPipe == NULL) {
        return NDIS_STATUS_DEVICE_FAILED;
    }
    return NDIS_STATUS_SUCCESS;
}

VOID UsbNicDeconfigureDevice(PUSBNIC_ADAPTER Adapter)
{
    PURB urb = Adapter->ControlUrb;
    if (Adapter->ConfigurationHandle == NULL || urb == NULL) {
        return;
    }
    AcquireControl(Adapter);
    RtlZeroMemory(urb, sizeof(struct _URB_SELECT_CONFIGURATION));
    UsbBuildSelectConfigurationRequest(urb, sizeof(struct _URB_SELECT_CONFIGURATION), NULL);
    (void)SubmitUrbLocked(Adapter, urb);
    ReleaseControl(Adapter);
    Adapter->ConfigurationHandle = NULL;
}
