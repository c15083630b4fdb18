/*
 * A small NDIS-WDM miniport for the Windows build check: registration with NDIS_WDM_DRIVER,
 * NDIS_MINIPORT_ATTRIBUTES_NDIS_WDM, the next-lower device from NdisMGetDeviceProperty, a
 * preallocated IRP carrying URBs down with IoCallDriver, descriptor parsing and the
 * select-configuration URB from the USBD library, NDIS memory, locks, timers, configuration
 * and NBL pools. It moves no traffic: it exists so that the DDIs a USB NIC driver uses are
 * compiled against the project's headers for Windows x64 and resolved against the real
 * ntoskrnl.exe, ndis.sys and usbd.sys exports.
 */
#define NDIS_WDM 1
#define NDIS_MINIPORT_DRIVER 1
#define NDIS620_MINIPORT 1
#include <ndis.h>
#include <usb.h>
#include <usbdlib.h>
#include <usbioctl.h>

#define WBC_TAG 'kcbW'

typedef struct _WBC_ADAPTER {
  NDIS_HANDLE MiniportHandle;
  PDEVICE_OBJECT NextDeviceObject;
  PIRP Irp;
  KEVENT IrpDone;
  NDIS_SPIN_LOCK Lock;
  NDIS_HANDLE NblPool;
  NDIS_HANDLE FlushTimer;
  LOOKASIDE_LIST_EX UrbLookaside;
  BOOLEAN UrbLookasideReady;
  ULONGLONG LastFlush;
  LONG PendingSends;
  ULONG ReceiveBuffers;
  USB_DEVICE_DESCRIPTOR DeviceDescriptor;
  PUSB_CONFIGURATION_DESCRIPTOR Configuration;
  USBD_CONFIGURATION_HANDLE ConfigurationHandle;
} WBC_ADAPTER, *PWBC_ADAPTER;

static NDIS_HANDLE WbcDriverHandle;

DRIVER_INITIALIZE DriverEntry;
static MINIPORT_INITIALIZE WbcInitialize;
static MINIPORT_HALT WbcHalt;
static MINIPORT_UNLOAD WbcUnload;
static MINIPORT_PAUSE WbcPause;
static MINIPORT_RESTART WbcRestart;
static MINIPORT_OID_REQUEST WbcOidRequest;
static MINIPORT_SEND_NET_BUFFER_LISTS WbcSend;
static MINIPORT_RETURN_NET_BUFFER_LISTS WbcReturn;
static MINIPORT_CANCEL_SEND WbcCancelSend;
static MINIPORT_DEVICE_PNP_EVENT_NOTIFY WbcPnpEvent;
static MINIPORT_SHUTDOWN WbcShutdown;
static MINIPORT_CANCEL_OID_REQUEST WbcCancelOid;
static IO_COMPLETION_ROUTINE WbcUrbComplete;
static NDIS_TIMER_FUNCTION WbcFlush;

static NTSTATUS NTAPI WbcUrbComplete(PDEVICE_OBJECT DeviceObject, PIRP Irp, PVOID Context) {
  UNREFERENCED_PARAMETER(DeviceObject);
  UNREFERENCED_PARAMETER(Irp);
  KeSetEvent((PKEVENT)Context, IO_NO_INCREMENT, FALSE);
  return STATUS_MORE_PROCESSING_REQUIRED;
}

/* Sends one URB down on the preallocated IRP and waits for it. PASSIVE_LEVEL. */
static NTSTATUS WbcSubmitUrb(PWBC_ADAPTER Adapter, PURB Urb) {
  PIO_STACK_LOCATION next;
  NTSTATUS status;
  IoReuseIrp(Adapter->Irp, STATUS_NOT_SUPPORTED);
  next = IoGetNextIrpStackLocation(Adapter->Irp);
  next->MajorFunction = IRP_MJ_INTERNAL_DEVICE_CONTROL;
  next->Parameters.DeviceIoControl.IoControlCode = IOCTL_INTERNAL_USB_SUBMIT_URB;
  next->Parameters.Others.Argument1 = Urb;
  KeClearEvent(&Adapter->IrpDone);
  IoSetCompletionRoutine(Adapter->Irp, WbcUrbComplete, &Adapter->IrpDone, TRUE, TRUE, TRUE);
  status = IoCallDriver(Adapter->NextDeviceObject, Adapter->Irp);
  if (status == STATUS_PENDING) {
    LARGE_INTEGER timeout;
    timeout.QuadPart = -50000000LL; /* 5 s */
    if (KeWaitForSingleObject(&Adapter->IrpDone, Executive, KernelMode, FALSE, &timeout) == STATUS_TIMEOUT) {
      IoCancelIrp(Adapter->Irp);
      KeWaitForSingleObject(&Adapter->IrpDone, Executive, KernelMode, FALSE, NULL);
    }
  }
  status = Adapter->Irp->IoStatus.Status;
  return NT_SUCCESS(status) && USBD_SUCCESS(Urb->UrbHeader.Status) ? status : STATUS_UNSUCCESSFUL;
}

static NTSTATUS WbcReadDescriptor(PWBC_ADAPTER Adapter, UCHAR Type, PVOID Buffer, ULONG Length) {
  NTSTATUS status;
  PURB urb = ExAllocateFromLookasideListEx(&Adapter->UrbLookaside);
  if (urb == NULL) return STATUS_INSUFFICIENT_RESOURCES;
  RtlZeroMemory(urb, sizeof(*urb));
  UsbBuildGetDescriptorRequest(urb, (USHORT)sizeof(struct _URB_CONTROL_DESCRIPTOR_REQUEST), Type, 0, 0, Buffer,
                               NULL, Length, NULL);
  status = WbcSubmitUrb(Adapter, urb);
  ExFreeToLookasideListEx(&Adapter->UrbLookaside, urb);
  return status;
}

static NTSTATUS WbcSelectConfiguration(PWBC_ADAPTER Adapter) {
  USB_CONFIGURATION_DESCRIPTOR header;
  USBD_INTERFACE_LIST_ENTRY interfaces[3];
  PUSB_INTERFACE_DESCRIPTOR control, data;
  PURB urb;
  NTSTATUS status = WbcReadDescriptor(Adapter, USB_CONFIGURATION_DESCRIPTOR_TYPE, &header, sizeof(header));
  if (!NT_SUCCESS(status)) return status;
  if (header.wTotalLength < sizeof(header)) return STATUS_INVALID_DEVICE_STATE;
  Adapter->Configuration = ExAllocatePool2(POOL_FLAG_NON_PAGED, header.wTotalLength, WBC_TAG);
  if (Adapter->Configuration == NULL) return STATUS_INSUFFICIENT_RESOURCES;
  status = WbcReadDescriptor(Adapter, USB_CONFIGURATION_DESCRIPTOR_TYPE, Adapter->Configuration, header.wTotalLength);
  if (!NT_SUCCESS(status)) return status;
  if (USBD_ValidateConfigurationDescriptor(Adapter->Configuration, header.wTotalLength, 2, (PUCHAR *)&data,
                                           WBC_TAG) != USBD_STATUS_SUCCESS) {
    return STATUS_INVALID_DEVICE_STATE;
  }
  control = USBD_ParseConfigurationDescriptorEx(Adapter->Configuration, Adapter->Configuration, -1, -1,
                                                USB_DEVICE_CLASS_COMMUNICATIONS, -1, -1);
  data = USBD_ParseConfigurationDescriptorEx(Adapter->Configuration, Adapter->Configuration, -1, 1,
                                             USB_DEVICE_CLASS_CDC_DATA, -1, -1);
  if (control == NULL || data == NULL) return STATUS_NOT_FOUND;
  RtlZeroMemory(interfaces, sizeof(interfaces));
  interfaces[0].InterfaceDescriptor = control;
  interfaces[1].InterfaceDescriptor = data;
  urb = USBD_CreateConfigurationRequestEx(Adapter->Configuration, interfaces);
  if (urb == NULL) return STATUS_INSUFFICIENT_RESOURCES;
  status = WbcSubmitUrb(Adapter, urb);
  if (NT_SUCCESS(status)) Adapter->ConfigurationHandle = urb->UrbSelectConfiguration.ConfigurationHandle;
  ExFreePool(urb);
  return status;
}

static VOID WbcReadKeywords(PWBC_ADAPTER Adapter) {
  NDIS_CONFIGURATION_OBJECT object;
  NDIS_HANDLE configuration;
  PNDIS_CONFIGURATION_PARAMETER value;
  NDIS_STATUS status;
  NDIS_STRING keyword = RTL_CONSTANT_STRING(L"ReceiveBuffers");
  RtlZeroMemory(&object, sizeof(object));
  object.Header.Type = NDIS_OBJECT_TYPE_CONFIGURATION_OBJECT;
  object.Header.Revision = NDIS_CONFIGURATION_OBJECT_REVISION_1;
  object.Header.Size = NDIS_SIZEOF_CONFIGURATION_OBJECT_REVISION_1;
  object.NdisHandle = Adapter->MiniportHandle;
  Adapter->ReceiveBuffers = 8;
  if (NdisOpenConfigurationEx(&object, &configuration) != NDIS_STATUS_SUCCESS) return;
  NdisReadConfiguration(&status, &value, configuration, &keyword, NdisParameterInteger);
  if (status == NDIS_STATUS_SUCCESS && value->ParameterData.IntegerData <= 64) {
    Adapter->ReceiveBuffers = value->ParameterData.IntegerData;
  }
  NdisCloseConfiguration(configuration);
}

static VOID WbcFreeAdapter(PWBC_ADAPTER Adapter) {
  if (Adapter->UrbLookasideReady) ExDeleteLookasideListEx(&Adapter->UrbLookaside);
  if (Adapter->FlushTimer != NULL) NdisFreeTimerObject(Adapter->FlushTimer);
  if (Adapter->NblPool != NULL) NdisFreeNetBufferListPool(Adapter->NblPool);
  if (Adapter->Irp != NULL) IoFreeIrp(Adapter->Irp);
  if (Adapter->Configuration != NULL) ExFreePoolWithTag(Adapter->Configuration, WBC_TAG);
  NdisFreeSpinLock(&Adapter->Lock);
  NdisFreeMemory(Adapter, sizeof(*Adapter), 0);
}

static VOID NTAPI WbcFlush(PVOID SystemSpecific1, PVOID FunctionContext, PVOID SystemSpecific2,
                           PVOID SystemSpecific3) {
  PWBC_ADAPTER adapter = (PWBC_ADAPTER)FunctionContext;
  UNREFERENCED_PARAMETER(SystemSpecific1);
  UNREFERENCED_PARAMETER(SystemSpecific2);
  UNREFERENCED_PARAMETER(SystemSpecific3);
  NdisAcquireSpinLock(&adapter->Lock);
  adapter->PendingSends = 0;
  adapter->LastFlush = KeQueryInterruptTime();
  NdisReleaseSpinLock(&adapter->Lock);
}

static NDIS_STATUS NTAPI WbcInitialize(NDIS_HANDLE MiniportAdapterHandle, NDIS_HANDLE MiniportDriverContext,
                                       PNDIS_MINIPORT_INIT_PARAMETERS MiniportInitParameters) {
  NDIS_MINIPORT_ADAPTER_ATTRIBUTES attributes;
  NET_BUFFER_LIST_POOL_PARAMETERS poolParameters;
  NDIS_TIMER_CHARACTERISTICS timer;
  PWBC_ADAPTER adapter;
  UNREFERENCED_PARAMETER(MiniportDriverContext);
  UNREFERENCED_PARAMETER(MiniportInitParameters);

  adapter = NdisAllocateMemoryWithTagPriority(MiniportAdapterHandle, sizeof(*adapter), WBC_TAG, NormalPoolPriority);
  if (adapter == NULL) return NDIS_STATUS_RESOURCES;
  NdisZeroMemory(adapter, sizeof(*adapter));
  adapter->MiniportHandle = MiniportAdapterHandle;
  NdisAllocateSpinLock(&adapter->Lock);
  KeInitializeEvent(&adapter->IrpDone, NotificationEvent, FALSE);

  NdisZeroMemory(&attributes, sizeof(attributes));
  attributes.RegistrationAttributes.Header.Type = NDIS_OBJECT_TYPE_MINIPORT_ADAPTER_REGISTRATION_ATTRIBUTES;
  attributes.RegistrationAttributes.Header.Revision = NDIS_MINIPORT_ADAPTER_REGISTRATION_ATTRIBUTES_REVISION_1;
  attributes.RegistrationAttributes.Header.Size = NDIS_SIZEOF_MINIPORT_ADAPTER_REGISTRATION_ATTRIBUTES_REVISION_1;
  attributes.RegistrationAttributes.MiniportAdapterContext = adapter;
  attributes.RegistrationAttributes.AttributeFlags =
      NDIS_MINIPORT_ATTRIBUTES_NDIS_WDM | NDIS_MINIPORT_ATTRIBUTES_SURPRISE_REMOVE_OK;
  attributes.RegistrationAttributes.InterfaceType = NdisInterfaceInternal;
  if (NdisMSetMiniportAttributes(MiniportAdapterHandle, &attributes) != NDIS_STATUS_SUCCESS) {
    WbcFreeAdapter(adapter);
    return NDIS_STATUS_FAILURE;
  }

  WbcReadKeywords(adapter);
  if (!NT_SUCCESS(ExInitializeLookasideListEx(&adapter->UrbLookaside, NULL, NULL, NonPagedPoolNx, 0, sizeof(URB),
                                              WBC_TAG, 0))) {
    WbcFreeAdapter(adapter);
    return NDIS_STATUS_RESOURCES;
  }
  adapter->UrbLookasideReady = TRUE;
  NdisMGetDeviceProperty(MiniportAdapterHandle, NULL, NULL, &adapter->NextDeviceObject, NULL, NULL);
  adapter->Irp = IoAllocateIrp(adapter->NextDeviceObject->StackSize, FALSE);

  NdisZeroMemory(&poolParameters, sizeof(poolParameters));
  poolParameters.Header.Type = NDIS_OBJECT_TYPE_DEFAULT;
  poolParameters.Header.Revision = NET_BUFFER_LIST_POOL_PARAMETERS_REVISION_1;
  poolParameters.Header.Size = NDIS_SIZEOF_NET_BUFFER_LIST_POOL_PARAMETERS_REVISION_1;
  poolParameters.ProtocolId = NDIS_PROTOCOL_ID_DEFAULT;
  poolParameters.fAllocateNetBuffer = TRUE;
  poolParameters.PoolTag = WBC_TAG;
  adapter->NblPool = NdisAllocateNetBufferListPool(MiniportAdapterHandle, &poolParameters);

  NdisZeroMemory(&timer, sizeof(timer));
  timer.Header.Type = NDIS_OBJECT_TYPE_TIMER_CHARACTERISTICS;
  timer.Header.Revision = NDIS_TIMER_CHARACTERISTICS_REVISION_1;
  timer.Header.Size = NDIS_SIZEOF_TIMER_CHARACTERISTICS_REVISION_1;
  timer.AllocationTag = WBC_TAG;
  timer.TimerFunction = WbcFlush;
  timer.FunctionContext = adapter;
  if (adapter->Irp == NULL || adapter->NblPool == NULL ||
      NdisAllocateTimerObject(MiniportAdapterHandle, &timer, &adapter->FlushTimer) != NDIS_STATUS_SUCCESS ||
      !NT_SUCCESS(WbcReadDescriptor(adapter, USB_DEVICE_DESCRIPTOR_TYPE, &adapter->DeviceDescriptor,
                                    sizeof(adapter->DeviceDescriptor))) ||
      !NT_SUCCESS(WbcSelectConfiguration(adapter))) {
    WbcFreeAdapter(adapter);
    return NDIS_STATUS_FAILURE;
  }
  return NDIS_STATUS_SUCCESS;
}

static VOID NTAPI WbcHalt(NDIS_HANDLE MiniportAdapterContext, NDIS_HALT_ACTION HaltAction) {
  PWBC_ADAPTER adapter = (PWBC_ADAPTER)MiniportAdapterContext;
  UNREFERENCED_PARAMETER(HaltAction);
  if (!NdisCancelTimerObject(adapter->FlushTimer)) NdisStallExecution(10);
  WbcFreeAdapter(adapter);
}

static VOID NTAPI WbcUnload(PDRIVER_OBJECT DriverObject) {
  UNREFERENCED_PARAMETER(DriverObject);
  NdisMDeregisterMiniportDriver(WbcDriverHandle);
}

static NDIS_STATUS NTAPI WbcPause(NDIS_HANDLE MiniportAdapterContext,
                                  PNDIS_MINIPORT_PAUSE_PARAMETERS PauseParameters) {
  UNREFERENCED_PARAMETER(MiniportAdapterContext);
  UNREFERENCED_PARAMETER(PauseParameters);
  return NDIS_STATUS_SUCCESS;
}

static NDIS_STATUS NTAPI WbcRestart(NDIS_HANDLE MiniportAdapterContext,
                                    PNDIS_MINIPORT_RESTART_PARAMETERS RestartParameters) {
  PWBC_ADAPTER adapter = (PWBC_ADAPTER)MiniportAdapterContext;
  LARGE_INTEGER due;
  UNREFERENCED_PARAMETER(RestartParameters);
  due.QuadPart = -10000LL;
  NdisSetTimerObject(adapter->FlushTimer, due, 0, NULL);
  return NDIS_STATUS_SUCCESS;
}

static NDIS_STATUS NTAPI WbcOidRequest(NDIS_HANDLE MiniportAdapterContext, PNDIS_OID_REQUEST OidRequest) {
  UNREFERENCED_PARAMETER(MiniportAdapterContext);
  UNREFERENCED_PARAMETER(OidRequest);
  return NDIS_STATUS_NOT_SUPPORTED;
}

static VOID NTAPI WbcSend(NDIS_HANDLE MiniportAdapterContext, PNET_BUFFER_LIST NetBufferLists,
                          NDIS_PORT_NUMBER PortNumber, ULONG SendFlags) {
  PWBC_ADAPTER adapter = (PWBC_ADAPTER)MiniportAdapterContext;
  PNET_BUFFER_LIST nbl;
  ULONG completeFlags = 0;
  UNREFERENCED_PARAMETER(PortNumber);
  for (nbl = NetBufferLists; nbl != NULL; nbl = NET_BUFFER_LIST_NEXT_NBL(nbl)) {
    NET_BUFFER_LIST_STATUS(nbl) = NDIS_STATUS_SUCCESS;
    InterlockedIncrement(&adapter->PendingSends);
  }
  if (NDIS_TEST_SEND_AT_DISPATCH_LEVEL(SendFlags)) {
    NDIS_SET_SEND_COMPLETE_FLAG(completeFlags, NDIS_SEND_COMPLETE_FLAGS_DISPATCH_LEVEL);
  }
  NdisMSendNetBufferListsComplete(adapter->MiniportHandle, NetBufferLists, completeFlags);
}

static VOID NTAPI WbcReturn(NDIS_HANDLE MiniportAdapterContext, PNET_BUFFER_LIST NetBufferLists, ULONG ReturnFlags) {
  UNREFERENCED_PARAMETER(MiniportAdapterContext);
  UNREFERENCED_PARAMETER(NetBufferLists);
  UNREFERENCED_PARAMETER(ReturnFlags);
}

static VOID NTAPI WbcCancelSend(NDIS_HANDLE MiniportAdapterContext, PVOID CancelId) {
  UNREFERENCED_PARAMETER(MiniportAdapterContext);
  UNREFERENCED_PARAMETER(CancelId);
}

static VOID NTAPI WbcPnpEvent(NDIS_HANDLE MiniportAdapterContext, PNET_DEVICE_PNP_EVENT NetDevicePnPEvent) {
  UNREFERENCED_PARAMETER(MiniportAdapterContext);
  UNREFERENCED_PARAMETER(NetDevicePnPEvent);
}

static VOID NTAPI WbcShutdown(NDIS_HANDLE MiniportAdapterContext, NDIS_SHUTDOWN_ACTION ShutdownAction) {
  UNREFERENCED_PARAMETER(MiniportAdapterContext);
  UNREFERENCED_PARAMETER(ShutdownAction);
}

static VOID NTAPI WbcCancelOid(NDIS_HANDLE MiniportAdapterContext, PVOID RequestId) {
  UNREFERENCED_PARAMETER(MiniportAdapterContext);
  UNREFERENCED_PARAMETER(RequestId);
}

NTSTATUS NTAPI DriverEntry(PDRIVER_OBJECT DriverObject, PUNICODE_STRING RegistryPath) {
  NDIS_MINIPORT_DRIVER_CHARACTERISTICS characteristics;
  NdisZeroMemory(&characteristics, sizeof(characteristics));
  characteristics.Header.Type = NDIS_OBJECT_TYPE_MINIPORT_DRIVER_CHARACTERISTICS;
  characteristics.Header.Revision = NDIS_MINIPORT_DRIVER_CHARACTERISTICS_REVISION_2;
  characteristics.Header.Size = NDIS_SIZEOF_MINIPORT_DRIVER_CHARACTERISTICS_REVISION_2;
  characteristics.MajorNdisVersion = 6;
  characteristics.MinorNdisVersion = 20;
  characteristics.MajorDriverVersion = 1;
  characteristics.Flags = NDIS_WDM_DRIVER;
  characteristics.InitializeHandlerEx = WbcInitialize;
  characteristics.HaltHandlerEx = WbcHalt;
  characteristics.UnloadHandler = WbcUnload;
  characteristics.PauseHandler = WbcPause;
  characteristics.RestartHandler = WbcRestart;
  characteristics.OidRequestHandler = WbcOidRequest;
  characteristics.SendNetBufferListsHandler = WbcSend;
  characteristics.ReturnNetBufferListsHandler = WbcReturn;
  characteristics.CancelSendHandler = WbcCancelSend;
  characteristics.DevicePnPEventNotifyHandler = WbcPnpEvent;
  characteristics.ShutdownHandlerEx = WbcShutdown;
  characteristics.CancelOidRequestHandler = WbcCancelOid;
  return NdisMRegisterMiniportDriver(DriverObject, RegistryPath, NULL, &characteristics, &WbcDriverHandle);
}
