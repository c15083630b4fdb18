/*
 * devtest.c -- the control-device test miniport.
 *
 * Module Name:  devtest
 * Abstract:     An NDIS 6.30 miniport with a WDM lower edge that registers a control device
 *               (NdisRegisterDeviceEx) in DriverEntry, with IRP_MJ_CREATE, IRP_MJ_CLEANUP,
 *               IRP_MJ_CLOSE and IRP_MJ_DEVICE_CONTROL handlers and a reserved extension, and
 *               deregisters it in MiniportDriverUnload. Its adapters move no data. It also
 *               exports DevTestRegister/DevTestDeregister (other attribute sets, from the
 *               test's thread at PASSIVE_LEVEL) and DevTestRemoveAdapter (NdisMRemoveMiniport).
 * Environment:  kernel mode
 */
#define NDIS_MINIPORT_DRIVER 1
#define NDIS630_MINIPORT 1
#define NDIS_WDM 1
#include <ndis.h>

#include "devtest_control.h"

#define DEVTEST_POOL_TAG 'tveD'
#define DEVTEST_EXTENSION_TAG 0x44455645u /* "DEVE" */

/* What the driver keeps in the control device's reserved extension. */
typedef struct _DEVTEST_DEVICE_EXTENSION {
  ULONG Tag;
  volatile LONG IoctlCount;
} DEVTEST_DEVICE_EXTENSION, *PDEVTEST_DEVICE_EXTENSION;

DEVTEST_CONTROL DevTestControl;
static NDIS_HANDLE DevTestDriverHandle;
static PDRIVER_DISPATCH DevTestMajorFunctions[IRP_MJ_MAXIMUM_FUNCTION + 1];

static NDIS_STRING DevTestDeviceName = RTL_CONSTANT_STRING(DEVTEST_DEVICE_NAME);
static NDIS_STRING DevTestSymbolicName = RTL_CONSTANT_STRING(DEVTEST_SYMBOLIC_NAME);
static NDIS_STRING DevTestOtherName = RTL_CONSTANT_STRING(L"\\Device\\NdisDevTest2");
static NDIS_STRING DevTestThirdName = RTL_CONSTANT_STRING(L"\\Device\\NdisDevTest3");
static NDIS_STRING DevTestFourthName = RTL_CONSTANT_STRING(L"\\Device\\NdisDevTest4");
static const UNICODE_STRING DevTestSddl = RTL_CONSTANT_STRING(L"D:P(A;;GA;;;SY)(A;;GA;;;BA)");

static const NDIS_OID DevTestSupportedOids[] = {OID_GEN_SUPPORTED_LIST, OID_GEN_HARDWARE_STATUS};

DRIVER_INITIALIZE DriverEntry;
DRIVER_DISPATCH DevTestCreate;
DRIVER_DISPATCH DevTestCleanup;
DRIVER_DISPATCH DevTestClose;
DRIVER_DISPATCH DevTestDeviceControl;
DRIVER_DISPATCH DevTestPnp;
MINIPORT_INITIALIZE DevTestInitializeEx;
MINIPORT_HALT DevTestHaltEx;
MINIPORT_UNLOAD DevTestUnload;
MINIPORT_PAUSE DevTestPause;
MINIPORT_RESTART DevTestRestart;
MINIPORT_OID_REQUEST DevTestOidRequest;
MINIPORT_SEND_NET_BUFFER_LISTS DevTestSendNetBufferLists;
MINIPORT_RETURN_NET_BUFFER_LISTS DevTestReturnNetBufferLists;
MINIPORT_CANCEL_SEND DevTestCancelSend;
MINIPORT_DEVICE_PNP_EVENT_NOTIFY DevTestDevicePnPEventNotify;
MINIPORT_SHUTDOWN DevTestShutdownEx;
MINIPORT_CANCEL_OID_REQUEST DevTestCancelOidRequest;

static NTSTATUS DevTestComplete(_In_ PIRP Irp, _In_ NTSTATUS Status, _In_ ULONG_PTR Information)
{
    /* IRQL: <= DISPATCH_LEVEL */
    Irp->IoStatus.Status = Status;
    Irp->IoStatus.Information = Information;
    IoCompleteRequest(Irp, IO_NO_INCREMENT);
    return Status;
}

_Use_decl_annotations_
NTSTATUS DevTestCreate(PDEVICE_OBJECT DeviceObject, PIRP Irp)
{
    /* IRQL: PASSIVE_LEVEL */
    UNREFERENCED_PARAMETER(DeviceObject);
    InterlockedIncrement(&DevTestControl.CreateCalls);
    return DevTestComplete(Irp, STATUS_SUCCESS, 0);
}

_Use_decl_annotations_
NTSTATUS DevTestCleanup(PDEVICE_OBJECT DeviceObject, PIRP Irp)
{
    /* IRQL: PASSIVE_LEVEL */
    UNREFERENCED_PARAMETER(DeviceObject);
    InterlockedIncrement(&DevTestControl.CleanupCalls);
    return DevTestComplete(Irp, STATUS_SUCCESS, 0);
}

_Use_decl_annotations_
NTSTATUS DevTestClose(PDEVICE_OBJECT DeviceObject, PIRP Irp)
{
    /* IRQL: PASSIVE_LEVEL */
    UNREFERENCED_PARAMETER(DeviceObject);
    InterlockedIncrement(&DevTestControl.CloseCalls);
    return DevTestComplete(Irp, STATUS_SUCCESS, 0);
}

/* Audited as the security guide asks: the code and both lengths are checked before the
 * system buffer is touched. */
_Use_decl_annotations_
NTSTATUS DevTestDeviceControl(PDEVICE_OBJECT DeviceObject, PIRP Irp)
{
    /* IRQL: PASSIVE_LEVEL */
    PIO_STACK_LOCATION stack = IoGetCurrentIrpStackLocation(Irp);
    PDEVTEST_DEVICE_EXTENSION extension = (PDEVTEST_DEVICE_EXTENSION)NdisGetDeviceReservedExtension(DeviceObject);
    ULONG inLength = stack->Parameters.DeviceIoControl.InputBufferLength;
    ULONG outLength = stack->Parameters.DeviceIoControl.OutputBufferLength;
    UCHAR input[DEVTEST_MAX_ECHO];
    PUCHAR buffer = (PUCHAR)Irp->AssociatedIrp.SystemBuffer;
    DEVTEST_IOCTL_REPLY reply;
    ULONG i;

    InterlockedIncrement(&DevTestControl.IoctlCalls);
    if (stack->Parameters.DeviceIoControl.IoControlCode != IOCTL_DEVTEST_ECHO) {
        return DevTestComplete(Irp, STATUS_INVALID_DEVICE_REQUEST, 0);
    }
    if (extension == NULL || extension->Tag != DEVTEST_EXTENSION_TAG) {
        return DevTestComplete(Irp, STATUS_DEVICE_CONFIGURATION_ERROR, 0);
    }
    if (inLength > DEVTEST_MAX_ECHO || outLength < inLength + sizeof(reply) || buffer == NULL) {
        return DevTestComplete(Irp, STATUS_BUFFER_TOO_SMALL, 0);
    }
    NdisMoveMemory(input, buffer, inLength);
    for (i = 0; i < inLength; i++) {
        buffer[i] = input[inLength - 1 - i];
    }
    reply.Irql = KeGetCurrentIrql();
    reply.IoctlCount = (ULONG)InterlockedIncrement(&extension->IoctlCount);
    reply.ExtensionSeen = (PVOID)extension == DevTestControl.ReservedExtension;
    NdisMoveMemory(buffer + inLength, &reply, sizeof(reply));
    return DevTestComplete(Irp, STATUS_SUCCESS, inLength + sizeof(reply));
}

_Use_decl_annotations_
NTSTATUS DevTestPnp(PDEVICE_OBJECT DeviceObject, PIRP Irp)
{
    /* IRQL: PASSIVE_LEVEL. Only ever offered to NDIS to see it refused. */
    UNREFERENCED_PARAMETER(DeviceObject);
    return DevTestComplete(Irp, STATUS_NOT_SUPPORTED, 0);
}

/* IRQL: PASSIVE_LEVEL. Exported for the test: NdisRegisterDeviceEx with the attributes
 * Mode says. */
NDIS_STATUS DevTestRegister(ULONG Mode, PDEVICE_OBJECT *DeviceObject, NDIS_HANDLE *DeviceHandle)
{
    NDIS_DEVICE_OBJECT_ATTRIBUTES attributes;
    PDRIVER_DISPATCH withPnp[IRP_MJ_MAXIMUM_FUNCTION + 1];

    NdisZeroMemory(&attributes, sizeof(attributes));
    attributes.Header.Type = NDIS_OBJECT_TYPE_DEVICE_OBJECT_ATTRIBUTES;
    attributes.Header.Revision = NDIS_DEVICE_OBJECT_ATTRIBUTES_REVISION_1;
    attributes.Header.Size = NDIS_SIZEOF_DEVICE_OBJECT_ATTRIBUTES_REVISION_1;
    attributes.DeviceName = &DevTestDeviceName;
    attributes.SymbolicName = &DevTestSymbolicName;
    attributes.MajorFunctions = DevTestMajorFunctions;
    attributes.ExtensionSize = sizeof(DEVTEST_DEVICE_EXTENSION);
    attributes.DefaultSDDLString = &DevTestSddl;
    attributes.DeviceClassGuid = NULL;

    switch (Mode) {
    case DevTestRegisterBadType:
        attributes.Header.Type = NDIS_OBJECT_TYPE_DEFAULT;
        break;
    case DevTestRegisterBadRevision:
        attributes.Header.Revision = NDIS_DEVICE_OBJECT_ATTRIBUTES_REVISION_1 + 1;
        break;
    case DevTestRegisterBadSize:
        attributes.Header.Size = NDIS_SIZEOF_DEVICE_OBJECT_ATTRIBUTES_REVISION_1 - 8;
        break;
    case DevTestRegisterOtherName:
        attributes.DeviceName = &DevTestOtherName;
        attributes.SymbolicName = NULL;
        attributes.ExtensionSize = 0;
        break;
    case DevTestRegisterSameLink:
        attributes.DeviceName = &DevTestThirdName;
        break;
    case DevTestRegisterPnpHandler:
        NdisMoveMemory(withPnp, DevTestMajorFunctions, sizeof(withPnp));
        withPnp[IRP_MJ_PNP] = DevTestPnp;
        attributes.DeviceName = &DevTestFourthName;
        attributes.SymbolicName = NULL;
        attributes.MajorFunctions = withPnp;
        break;
    default:
        break;
    }
    return NdisRegisterDeviceEx(DevTestDriverHandle, &attributes, DeviceObject, DeviceHandle);
}

/* IRQL: PASSIVE_LEVEL. Exported for the test. */
VOID DevTestDeregister(NDIS_HANDLE DeviceHandle)
{
    NdisDeregisterDeviceEx(DeviceHandle);
}

/* IRQL: <= DISPATCH_LEVEL. Exported for the test: the adapter reports itself unrecoverable. */
NDIS_STATUS DevTestRemoveAdapter(VOID)
{
    return NdisMRemoveMiniport(DevTestControl.AdapterHandle);
}

_Use_decl_annotations_
NTSTATUS DriverEntry(PDRIVER_OBJECT DriverObject, PUNICODE_STRING RegistryPath)
{
    /* IRQL: PASSIVE_LEVEL */
    NDIS_MINIPORT_DRIVER_CHARACTERISTICS characteristics;
    PDEVTEST_DEVICE_EXTENSION extension;
    NDIS_STATUS status;

    NdisZeroMemory(&characteristics, sizeof(characteristics));
    characteristics.Header.Type = NDIS_OBJECT_TYPE_MINIPORT_DRIVER_CHARACTERISTICS;
    characteristics.Header.Revision = NDIS_MINIPORT_DRIVER_CHARACTERISTICS_REVISION_2;
    characteristics.Header.Size = NDIS_SIZEOF_MINIPORT_DRIVER_CHARACTERISTICS_REVISION_2;
    characteristics.MajorNdisVersion = NDIS_MINIPORT_MAJOR_VERSION;
    characteristics.MinorNdisVersion = NDIS_MINIPORT_MINOR_VERSION;
    characteristics.MajorDriverVersion = 1;
    characteristics.Flags = NDIS_WDM_DRIVER;
    characteristics.InitializeHandlerEx = DevTestInitializeEx;
    characteristics.HaltHandlerEx = DevTestHaltEx;
    characteristics.UnloadHandler = DevTestUnload;
    characteristics.PauseHandler = DevTestPause;
    characteristics.RestartHandler = DevTestRestart;
    characteristics.OidRequestHandler = DevTestOidRequest;
    characteristics.SendNetBufferListsHandler = DevTestSendNetBufferLists;
    characteristics.ReturnNetBufferListsHandler = DevTestReturnNetBufferLists;
    characteristics.CancelSendHandler = DevTestCancelSend;
    characteristics.DevicePnPEventNotifyHandler = DevTestDevicePnPEventNotify;
    characteristics.ShutdownHandlerEx = DevTestShutdownEx;
    characteristics.CancelOidRequestHandler = DevTestCancelOidRequest;
    status = NdisMRegisterMiniportDriver(DriverObject, RegistryPath, NULL, &characteristics, &DevTestDriverHandle);
    if (status != NDIS_STATUS_SUCCESS) {
        return (NTSTATUS)status;
    }

    NdisZeroMemory(DevTestMajorFunctions, sizeof(DevTestMajorFunctions));
    DevTestMajorFunctions[IRP_MJ_CREATE] = DevTestCreate;
    DevTestMajorFunctions[IRP_MJ_CLEANUP] = DevTestCleanup;
    DevTestMajorFunctions[IRP_MJ_CLOSE] = DevTestClose;
    DevTestMajorFunctions[IRP_MJ_DEVICE_CONTROL] = DevTestDeviceControl;
    DevTestControl.RegisterStatus =
        DevTestRegister(DevTestRegisterGood, &DevTestControl.ControlDevice, &DevTestControl.ControlHandle);
    if (DevTestControl.RegisterStatus != NDIS_STATUS_SUCCESS) {
        NdisMDeregisterMiniportDriver(DevTestDriverHandle);
        return (NTSTATUS)DevTestControl.RegisterStatus;
    }
    extension = (PDEVTEST_DEVICE_EXTENSION)NdisGetDeviceReservedExtension(DevTestControl.ControlDevice);
    DevTestControl.ReservedExtension = extension;
    if (extension != NULL) {
        extension->Tag = DEVTEST_EXTENSION_TAG;
    }
    return STATUS_SUCCESS;
}

_Use_decl_annotations_
VOID DevTestUnload(PDRIVER_OBJECT DriverObject)
{
    /* IRQL: PASSIVE_LEVEL */
    UNREFERENCED_PARAMETER(DriverObject);
    InterlockedIncrement(&DevTestControl.UnloadCalls);
    if (!DevTestControl.SkipDeregister && DevTestControl.ControlHandle != NULL) {
        NdisDeregisterDeviceEx(DevTestControl.ControlHandle);
    }
    DevTestControl.ControlHandle = NULL;
    NdisMDeregisterMiniportDriver(DevTestDriverHandle);
}

_Use_decl_annotations_
NDIS_STATUS DevTestInitializeEx(NDIS_HANDLE MiniportAdapterHandle, NDIS_HANDLE MiniportDriverContext,
                                PNDIS_MINIPORT_INIT_PARAMETERS MiniportInitParameters)
{
    /* IRQL: PASSIVE_LEVEL. The adapter context is the adapter handle itself: nothing else to keep. */
    static const UCHAR address[6] = {0x02, 0x44, 0x45, 0x56, 0x00, 0x01};
    NDIS_MINIPORT_ADAPTER_ATTRIBUTES attributes;
    NDIS_STATUS status;

    UNREFERENCED_PARAMETER(MiniportDriverContext);
    UNREFERENCED_PARAMETER(MiniportInitParameters);

    NdisZeroMemory(&attributes, sizeof(attributes));
    attributes.RegistrationAttributes.Header.Type = NDIS_OBJECT_TYPE_MINIPORT_ADAPTER_REGISTRATION_ATTRIBUTES;
    attributes.RegistrationAttributes.Header.Revision = NDIS_MINIPORT_ADAPTER_REGISTRATION_ATTRIBUTES_REVISION_1;
    attributes.RegistrationAttributes.Header.Size = NDIS_SIZEOF_MINIPORT_ADAPTER_REGISTRATION_ATTRIBUTES_REVISION_1;
    attributes.RegistrationAttributes.MiniportAdapterContext = MiniportAdapterHandle;
    attributes.RegistrationAttributes.AttributeFlags =
        NDIS_MINIPORT_ATTRIBUTES_NDIS_WDM | NDIS_MINIPORT_ATTRIBUTES_SURPRISE_REMOVE_OK;
    attributes.RegistrationAttributes.InterfaceType = NdisInterfaceInternal;
    status = NdisMSetMiniportAttributes(MiniportAdapterHandle, &attributes);
    if (status != NDIS_STATUS_SUCCESS) {
        return status;
    }

    NdisZeroMemory(&attributes, sizeof(attributes));
    attributes.GeneralAttributes.Header.Type = NDIS_OBJECT_TYPE_MINIPORT_ADAPTER_GENERAL_ATTRIBUTES;
    attributes.GeneralAttributes.Header.Revision = NDIS_MINIPORT_ADAPTER_GENERAL_ATTRIBUTES_REVISION_2;
    attributes.GeneralAttributes.Header.Size = NDIS_SIZEOF_MINIPORT_ADAPTER_GENERAL_ATTRIBUTES_REVISION_2;
    attributes.GeneralAttributes.MediaType = NdisMedium802_3;
    attributes.GeneralAttributes.PhysicalMediumType = NdisPhysicalMediumUnspecified;
    attributes.GeneralAttributes.MtuSize = 1500;
    attributes.GeneralAttributes.MaxXmitLinkSpeed = 100000000ull;
    attributes.GeneralAttributes.XmitLinkSpeed = 100000000ull;
    attributes.GeneralAttributes.MaxRcvLinkSpeed = 100000000ull;
    attributes.GeneralAttributes.RcvLinkSpeed = 100000000ull;
    attributes.GeneralAttributes.MediaConnectState = MediaConnectStateConnected;
    attributes.GeneralAttributes.MediaDuplexState = MediaDuplexStateFull;
    attributes.GeneralAttributes.LookaheadSize = 1500;
    attributes.GeneralAttributes.MacOptions = NDIS_MAC_OPTION_NO_LOOPBACK;
    attributes.GeneralAttributes.SupportedPacketFilters = NDIS_PACKET_TYPE_DIRECTED | NDIS_PACKET_TYPE_BROADCAST;
    attributes.GeneralAttributes.MacAddressLength = sizeof(address);
    NdisMoveMemory(attributes.GeneralAttributes.PermanentMacAddress, address, sizeof(address));
    NdisMoveMemory(attributes.GeneralAttributes.CurrentMacAddress, address, sizeof(address));
    attributes.GeneralAttributes.AccessType = NET_IF_ACCESS_BROADCAST;
    attributes.GeneralAttributes.DirectionType = NET_IF_DIRECTION_SENDRECEIVE;
    attributes.GeneralAttributes.ConnectionType = NET_IF_CONNECTION_DEDICATED;
    attributes.GeneralAttributes.IfType = IF_TYPE_ETHERNET_CSMACD;
    attributes.GeneralAttributes.IfConnectorPresent = TRUE;
    attributes.GeneralAttributes.SupportedOidList = (PNDIS_OID)DevTestSupportedOids;
    attributes.GeneralAttributes.SupportedOidListLength = sizeof(DevTestSupportedOids);
    status = NdisMSetMiniportAttributes(MiniportAdapterHandle, &attributes);
    if (status == NDIS_STATUS_SUCCESS) {
        DevTestControl.AdapterHandle = MiniportAdapterHandle;
    }
    return status;
}

_Use_decl_annotations_
VOID DevTestHaltEx(NDIS_HANDLE MiniportAdapterContext, NDIS_HALT_ACTION HaltAction)
{
    /* IRQL: PASSIVE_LEVEL */
    UNREFERENCED_PARAMETER(MiniportAdapterContext);
    UNREFERENCED_PARAMETER(HaltAction);
    InterlockedIncrement(&DevTestControl.HaltCalls);
}

_Use_decl_annotations_
NDIS_STATUS DevTestPause(NDIS_HANDLE MiniportAdapterContext, PNDIS_MINIPORT_PAUSE_PARAMETERS PauseParameters)
{
    /* IRQL: PASSIVE_LEVEL */
    UNREFERENCED_PARAMETER(MiniportAdapterContext);
    UNREFERENCED_PARAMETER(PauseParameters);
    return NDIS_STATUS_SUCCESS;
}

_Use_decl_annotations_
NDIS_STATUS DevTestRestart(NDIS_HANDLE MiniportAdapterContext, PNDIS_MINIPORT_RESTART_PARAMETERS RestartParameters)
{
    /* IRQL: PASSIVE_LEVEL */
    UNREFERENCED_PARAMETER(MiniportAdapterContext);
    UNREFERENCED_PARAMETER(RestartParameters);
    return NDIS_STATUS_SUCCESS;
}

_Use_decl_annotations_
NDIS_STATUS DevTestOidRequest(NDIS_HANDLE MiniportAdapterContext, PNDIS_OID_REQUEST OidRequest)
{
    /* IRQL: <= DISPATCH_LEVEL */
    UNREFERENCED_PARAMETER(MiniportAdapterContext);
    UNREFERENCED_PARAMETER(OidRequest);
    return NDIS_STATUS_NOT_SUPPORTED;
}

_Use_decl_annotations_
VOID DevTestSendNetBufferLists(NDIS_HANDLE MiniportAdapterContext, PNET_BUFFER_LIST NetBufferList,
                               NDIS_PORT_NUMBER PortNumber, ULONG SendFlags)
{
    /* IRQL: <= DISPATCH_LEVEL. Nowhere to send: every NBL completes at once. */
    PNET_BUFFER_LIST nbl;

    UNREFERENCED_PARAMETER(PortNumber);
    for (nbl = NetBufferList; nbl != NULL; nbl = NET_BUFFER_LIST_NEXT_NBL(nbl)) {
        NET_BUFFER_LIST_STATUS(nbl) = NDIS_STATUS_SUCCESS;
    }
    NdisMSendNetBufferListsComplete((NDIS_HANDLE)MiniportAdapterContext, NetBufferList,
                                    NDIS_TEST_SEND_AT_DISPATCH_LEVEL(SendFlags) ? NDIS_SEND_COMPLETE_FLAGS_DISPATCH_LEVEL
                                                                                 : 0);
}

_Use_decl_annotations_
VOID DevTestReturnNetBufferLists(NDIS_HANDLE MiniportAdapterContext, PNET_BUFFER_LIST NetBufferLists,
                                 ULONG ReturnFlags)
{
    /* IRQL: <= DISPATCH_LEVEL. It never indicates receives. */
    UNREFERENCED_PARAMETER(MiniportAdapterContext);
    UNREFERENCED_PARAMETER(NetBufferLists);
    UNREFERENCED_PARAMETER(ReturnFlags);
}

_Use_decl_annotations_
VOID DevTestCancelSend(NDIS_HANDLE MiniportAdapterContext, PVOID CancelId)
{
    /* IRQL: <= DISPATCH_LEVEL */
    UNREFERENCED_PARAMETER(MiniportAdapterContext);
    UNREFERENCED_PARAMETER(CancelId);
}

_Use_decl_annotations_
VOID DevTestDevicePnPEventNotify(NDIS_HANDLE MiniportAdapterContext, PNET_DEVICE_PNP_EVENT NetDevicePnPEvent)
{
    /* IRQL: PASSIVE_LEVEL */
    UNREFERENCED_PARAMETER(MiniportAdapterContext);
    UNREFERENCED_PARAMETER(NetDevicePnPEvent);
}

_Use_decl_annotations_
VOID DevTestShutdownEx(NDIS_HANDLE MiniportAdapterContext, NDIS_SHUTDOWN_ACTION ShutdownAction)
{
    /* IRQL: PASSIVE_LEVEL */
    UNREFERENCED_PARAMETER(MiniportAdapterContext);
    UNREFERENCED_PARAMETER(ShutdownAction);
}

_Use_decl_annotations_
VOID DevTestCancelOidRequest(NDIS_HANDLE MiniportAdapterContext, PVOID RequestId)
{
    /* IRQL: <= DISPATCH_LEVEL */
    UNREFERENCED_PARAMETER(MiniportAdapterContext);
    UNREFERENCED_PARAMETER(RequestId);
}
