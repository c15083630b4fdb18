/*
 * lifetest.c -- the lifecycle test miniport.
 *
 * Module Name:  lifetest
 * Abstract:     An NDIS 6.30 miniport with a WDM lower edge, registered as the guide's
 *               "Registering Miniport Driver Functions for WDM Lower Edge" says: no
 *               MiniportInterrupt, MiniportInterruptDPC, MiniportEnableInterruptEx,
 *               MiniportDisableInterruptEx, MiniportSharedMemoryAllocateComplete or
 *               MiniportCheckForHangEx. It moves data nowhere; it records every call NDIS
 *               makes into LifeTestControl (lifetest_control.h) and behaves as the test set
 *               it up to: failing initialization, setting attributes wrongly, pending or
 *               failing restart and pause. It sends an IRP to its next-lower device (the
 *               test bus PDO) during initialization and at surprise removal.
 * Environment:  kernel mode
 */
#define NDIS_MINIPORT_DRIVER 1
#define NDIS630_MINIPORT 1
#define NDIS_WDM 1
#include <ndis.h>

#include "lifetest_control.h"
#include "ndistestbus_ioctl.h"

#define LIFETEST_POOL_TAG 'tfiL'
#define LIFETEST_DRIVER_CONTEXT_TAG 0x4c494645u /* "LIFE" */

typedef enum _LIFETEST_PENDING { LifeTestPendingNone = 0, LifeTestPendingRestart, LifeTestPendingPause } LIFETEST_PENDING;

typedef struct _LIFETEST_ADAPTER {
  NDIS_HANDLE AdapterHandle;
  PDEVICE_OBJECT NextDeviceObject;
  NDIS_HANDLE CompletionTimer; /* completes a pended restart or pause */
  volatile LONG Pending;       /* LIFETEST_PENDING */
  NDIS_DEVICE_POWER_STATE PowerState;
} LIFETEST_ADAPTER, *PLIFETEST_ADAPTER;

typedef struct _LIFETEST_DRIVER_CONTEXT {
  ULONG Tag;
} LIFETEST_DRIVER_CONTEXT;

LIFETEST_CONTROL LifeTestControl;
static LIFETEST_DRIVER_CONTEXT LifeTestDriverContext = {LIFETEST_DRIVER_CONTEXT_TAG};
static NDIS_HANDLE LifeTestDriverHandle;

static const NDIS_OID LifeTestSupportedOids[] = {OID_GEN_SUPPORTED_LIST, OID_GEN_HARDWARE_STATUS, OID_PNP_QUERY_POWER,
                                                 OID_PNP_SET_POWER};

DRIVER_INITIALIZE DriverEntry;
MINIPORT_SET_OPTIONS LifeTestSetOptions;
MINIPORT_INITIALIZE LifeTestInitializeEx;
MINIPORT_HALT LifeTestHaltEx;
MINIPORT_UNLOAD LifeTestUnload;
MINIPORT_PAUSE LifeTestPause;
MINIPORT_RESTART LifeTestRestart;
MINIPORT_OID_REQUEST LifeTestOidRequest;
MINIPORT_SEND_NET_BUFFER_LISTS LifeTestSendNetBufferLists;
MINIPORT_RETURN_NET_BUFFER_LISTS LifeTestReturnNetBufferLists;
MINIPORT_CANCEL_SEND LifeTestCancelSend;
MINIPORT_DEVICE_PNP_EVENT_NOTIFY LifeTestDevicePnPEventNotify;
MINIPORT_SHUTDOWN LifeTestShutdownEx;
MINIPORT_CANCEL_OID_REQUEST LifeTestCancelOidRequest;
NDIS_TIMER_FUNCTION LifeTestCompletionTimer;

void LifeTestRecordEvent(char Event)
{
    /* IRQL: any */
    LONG slot = InterlockedIncrement(&LifeTestControl.EventCount) - 1;
    if (slot < LIFETEST_MAX_EVENTS) {
        LifeTestControl.Events[slot] = Event;
    }
}

/* IOCTL_NDISTESTBUS_INTERNAL_PING to the next-lower device, waited for. */
static NTSTATUS LifeTestPingNextDevice(_In_ PDEVICE_OBJECT NextDeviceObject)
{
    /* IRQL: PASSIVE_LEVEL */
    KEVENT event;
    IO_STATUS_BLOCK ioStatus;
    PIRP irp;
    NTSTATUS status;

    KeInitializeEvent(&event, NotificationEvent, FALSE);
    irp = IoBuildDeviceIoControlRequest(IOCTL_NDISTESTBUS_INTERNAL_PING, NextDeviceObject, NULL, 0, NULL, 0, TRUE,
                                        &event, &ioStatus);
    if (irp == NULL) {
        return STATUS_INSUFFICIENT_RESOURCES;
    }
    status = IoCallDriver(NextDeviceObject, irp);
    if (status == STATUS_PENDING) {
        KeWaitForSingleObject(&event, Executive, KernelMode, FALSE, NULL);
        status = ioStatus.Status;
    }
    return status;
}

_Use_decl_annotations_
NTSTATUS DriverEntry(PDRIVER_OBJECT DriverObject, PUNICODE_STRING RegistryPath)
{
    /* IRQL: PASSIVE_LEVEL */
    NDIS_MINIPORT_DRIVER_CHARACTERISTICS characteristics;
    NDIS_STATUS status;

    NdisZeroMemory(&characteristics, sizeof(characteristics));
    characteristics.Header.Type = NDIS_OBJECT_TYPE_MINIPORT_DRIVER_CHARACTERISTICS;
    characteristics.Header.Revision = NDIS_MINIPORT_DRIVER_CHARACTERISTICS_REVISION_2;
    characteristics.Header.Size = NDIS_SIZEOF_MINIPORT_DRIVER_CHARACTERISTICS_REVISION_2;
    characteristics.MajorNdisVersion = NDIS_MINIPORT_MAJOR_VERSION;
    characteristics.MinorNdisVersion = NDIS_MINIPORT_MINOR_VERSION;
    characteristics.MajorDriverVersion = 1;
    characteristics.MinorDriverVersion = 0;
    characteristics.Flags = NDIS_WDM_DRIVER;
    characteristics.SetOptionsHandler = LifeTestSetOptions;
    characteristics.InitializeHandlerEx = LifeTestInitializeEx;
    characteristics.HaltHandlerEx = LifeTestHaltEx;
    characteristics.UnloadHandler = LifeTestUnload;
    characteristics.PauseHandler = LifeTestPause;
    characteristics.RestartHandler = LifeTestRestart;
    characteristics.OidRequestHandler = LifeTestOidRequest;
    characteristics.SendNetBufferListsHandler = LifeTestSendNetBufferLists;
    characteristics.ReturnNetBufferListsHandler = LifeTestReturnNetBufferLists;
    characteristics.CancelSendHandler = LifeTestCancelSend;
    characteristics.DevicePnPEventNotifyHandler = LifeTestDevicePnPEventNotify;
    characteristics.ShutdownHandlerEx = LifeTestShutdownEx;
    characteristics.CancelOidRequestHandler = LifeTestCancelOidRequest;
    /* No CheckForHangHandlerEx: NDIS detects a hang from sends and OIDs that time out. No
     * ResetHandlerEx either. */

    status = NdisMRegisterMiniportDriver(DriverObject, RegistryPath, &LifeTestDriverContext, &characteristics,
                                         &LifeTestDriverHandle);
    return status == NDIS_STATUS_SUCCESS ? STATUS_SUCCESS : (NTSTATUS)status;
}

_Use_decl_annotations_
NDIS_STATUS LifeTestSetOptions(NDIS_HANDLE NdisDriverHandle, NDIS_HANDLE DriverContext)
{
    /* IRQL: PASSIVE_LEVEL */
    UNREFERENCED_PARAMETER(NdisDriverHandle);
    UNREFERENCED_PARAMETER(DriverContext);
    return NDIS_STATUS_SUCCESS;
}

_Use_decl_annotations_
VOID LifeTestUnload(PDRIVER_OBJECT DriverObject)
{
    /* IRQL: PASSIVE_LEVEL */
    UNREFERENCED_PARAMETER(DriverObject);
    NdisMDeregisterMiniportDriver(LifeTestDriverHandle);
}

static NDIS_STATUS LifeTestSetAttributes(_In_ PLIFETEST_ADAPTER Adapter, _In_ PNDIS_MINIPORT_ADAPTER_ATTRIBUTES Attributes,
                                         _Inout_ PULONG Index)
{
    /* IRQL: PASSIVE_LEVEL */
    NDIS_STATUS status = NdisMSetMiniportAttributes(Adapter->AdapterHandle, Attributes);
    if (*Index < RTL_NUMBER_OF(LifeTestControl.AttributeStatus)) {
        LifeTestControl.AttributeStatus[*Index] = status;
    }
    (*Index)++;
    return status;
}

static VOID LifeTestFillRegistration(_In_ PLIFETEST_ADAPTER Adapter,
                                     _Out_ PNDIS_MINIPORT_ADAPTER_REGISTRATION_ATTRIBUTES Registration)
{
    /* IRQL: PASSIVE_LEVEL */
    NdisZeroMemory(Registration, sizeof(*Registration));
    Registration->Header.Type = NDIS_OBJECT_TYPE_MINIPORT_ADAPTER_REGISTRATION_ATTRIBUTES;
    Registration->Header.Revision = NDIS_MINIPORT_ADAPTER_REGISTRATION_ATTRIBUTES_REVISION_1;
    Registration->Header.Size = NDIS_SIZEOF_MINIPORT_ADAPTER_REGISTRATION_ATTRIBUTES_REVISION_1;
    Registration->MiniportAdapterContext = Adapter;
    Registration->AttributeFlags = NDIS_MINIPORT_ATTRIBUTES_NDIS_WDM | NDIS_MINIPORT_ATTRIBUTES_SURPRISE_REMOVE_OK;
    Registration->CheckForHangTimeInSeconds = 4;
    Registration->InterfaceType = NdisInterfaceInternal;
}

static VOID LifeTestFillGeneral(_Out_ PNDIS_MINIPORT_ADAPTER_GENERAL_ATTRIBUTES General)
{
    /* IRQL: PASSIVE_LEVEL */
    static const UCHAR address[6] = {0x02, 0x4c, 0x49, 0x46, 0x45, 0x01};

    NdisZeroMemory(General, sizeof(*General));
    General->Header.Type = NDIS_OBJECT_TYPE_MINIPORT_ADAPTER_GENERAL_ATTRIBUTES;
    General->Header.Revision = NDIS_MINIPORT_ADAPTER_GENERAL_ATTRIBUTES_REVISION_2;
    General->Header.Size = NDIS_SIZEOF_MINIPORT_ADAPTER_GENERAL_ATTRIBUTES_REVISION_2;
    General->MediaType = NdisMedium802_3;
    General->PhysicalMediumType = NdisPhysicalMediumUnspecified;
    General->MtuSize = 1500;
    General->MaxXmitLinkSpeed = 100000000ull;
    General->XmitLinkSpeed = 100000000ull;
    General->MaxRcvLinkSpeed = 100000000ull;
    General->RcvLinkSpeed = 100000000ull;
    General->MediaConnectState = MediaConnectStateConnected;
    General->MediaDuplexState = MediaDuplexStateFull;
    General->LookaheadSize = 1500;
    General->MacOptions = NDIS_MAC_OPTION_NO_LOOPBACK;
    General->SupportedPacketFilters = NDIS_PACKET_TYPE_DIRECTED | NDIS_PACKET_TYPE_BROADCAST;
    General->MaxMulticastListSize = 0;
    General->MacAddressLength = sizeof(address);
    NdisMoveMemory(General->PermanentMacAddress, address, sizeof(address));
    NdisMoveMemory(General->CurrentMacAddress, address, sizeof(address));
    General->AccessType = NET_IF_ACCESS_BROADCAST;
    General->DirectionType = NET_IF_DIRECTION_SENDRECEIVE;
    General->ConnectionType = NET_IF_CONNECTION_DEDICATED;
    General->IfType = IF_TYPE_ETHERNET_CSMACD;
    General->IfConnectorPresent = TRUE;
    General->SupportedOidList = (PNDIS_OID)LifeTestSupportedOids;
    General->SupportedOidListLength = sizeof(LifeTestSupportedOids);
}

static VOID LifeTestFillOffload(_Out_ PNDIS_MINIPORT_ADAPTER_OFFLOAD_ATTRIBUTES Offload, _In_ PNDIS_OFFLOAD Capabilities)
{
    /* IRQL: PASSIVE_LEVEL. No task offloads: the capability blocks are all zero. */
    NdisZeroMemory(Capabilities, sizeof(*Capabilities));
    Capabilities->Header.Type = NDIS_OBJECT_TYPE_OFFLOAD;
    Capabilities->Header.Revision = NDIS_OFFLOAD_REVISION_1;
    Capabilities->Header.Size = NDIS_SIZEOF_NDIS_OFFLOAD_REVISION_1;
    NdisZeroMemory(Offload, sizeof(*Offload));
    Offload->Header.Type = NDIS_OBJECT_TYPE_MINIPORT_ADAPTER_OFFLOAD_ATTRIBUTES;
    Offload->Header.Revision = NDIS_MINIPORT_ADAPTER_OFFLOAD_ATTRIBUTES_REVISION_1;
    Offload->Header.Size = NDIS_SIZEOF_MINIPORT_ADAPTER_OFFLOAD_ATTRIBUTES_REVISION_1;
    Offload->DefaultOffloadConfiguration = Capabilities;
    Offload->HardwareOffloadCapabilities = Capabilities;
}

/* The attributes as LifeTestControl.AttributesMode says; the status of the last call that
 * should have worked. */
static NDIS_STATUS LifeTestSetAllAttributes(_In_ PLIFETEST_ADAPTER Adapter)
{
    /* IRQL: PASSIVE_LEVEL */
    NDIS_MINIPORT_ADAPTER_ATTRIBUTES attributes;
    NDIS_OFFLOAD offload;
    ULONG index = 0;
    NDIS_STATUS status = NDIS_STATUS_SUCCESS;

    switch (LifeTestControl.AttributesMode) {
    case LifeTestAttributesNone:
        return NDIS_STATUS_SUCCESS;

    case LifeTestAttributesGeneralFirst:
        LifeTestFillGeneral(&attributes.GeneralAttributes);
        (void)LifeTestSetAttributes(Adapter, &attributes, &index);
        break;

    case LifeTestAttributesBadHeader:
        LifeTestFillRegistration(Adapter, &attributes.RegistrationAttributes);
        attributes.RegistrationAttributes.Header.Revision = 7;
        (void)LifeTestSetAttributes(Adapter, &attributes, &index);
        LifeTestFillRegistration(Adapter, &attributes.RegistrationAttributes);
        attributes.RegistrationAttributes.Header.Size = 8;
        (void)LifeTestSetAttributes(Adapter, &attributes, &index);
        break;

    default:
        break;
    }

    LifeTestFillRegistration(Adapter, &attributes.RegistrationAttributes);
    status = LifeTestSetAttributes(Adapter, &attributes, &index);
    if (status != NDIS_STATUS_SUCCESS || LifeTestControl.AttributesMode == LifeTestAttributesRegistrationOnly) {
        return status;
    }
    LifeTestFillGeneral(&attributes.GeneralAttributes);
    status = LifeTestSetAttributes(Adapter, &attributes, &index);
    if (status != NDIS_STATUS_SUCCESS) {
        return status;
    }
    if (LifeTestControl.AttributesMode == LifeTestAttributesBadOffload) {
        LifeTestFillOffload(&attributes.OffloadAttributes, &offload);
        attributes.OffloadAttributes.HardwareOffloadCapabilities = NULL;
        (void)LifeTestSetAttributes(Adapter, &attributes, &index);
    }
    LifeTestFillOffload(&attributes.OffloadAttributes, &offload);
    return LifeTestSetAttributes(Adapter, &attributes, &index);
}

_Use_decl_annotations_
NDIS_STATUS LifeTestInitializeEx(NDIS_HANDLE MiniportAdapterHandle, NDIS_HANDLE MiniportDriverContext,
                                 PNDIS_MINIPORT_INIT_PARAMETERS MiniportInitParameters)
{
    /* IRQL: PASSIVE_LEVEL */
    NDIS_TIMER_CHARACTERISTICS timer;
    PLIFETEST_ADAPTER adapter;
    NDIS_STATUS status;

    LifeTestRecordEvent('I');
    InterlockedIncrement(&LifeTestControl.InitializeCalls);
    LifeTestControl.AdapterHandle = MiniportAdapterHandle;
    LifeTestControl.DriverContextSeen = MiniportDriverContext;
    LifeTestControl.DriverContextTag = ((LIFETEST_DRIVER_CONTEXT *)MiniportDriverContext)->Tag;
    LifeTestControl.InitHeader = MiniportInitParameters->Header;
    LifeTestControl.IfIndex = MiniportInitParameters->IfIndex;
    LifeTestControl.NetLuid = MiniportInitParameters->NetLuid;
    LifeTestControl.HadAllocatedResources = MiniportInitParameters->AllocatedResources != NULL;
    LifeTestControl.HadPortAuthStates = MiniportInitParameters->DefaultPortAuthStates != NULL;
    if (MiniportInitParameters->DefaultPortAuthStates != NULL) {
        LifeTestControl.PortAuthStates = *MiniportInitParameters->DefaultPortAuthStates;
    }

    adapter = (PLIFETEST_ADAPTER)NdisAllocateMemoryWithTagPriority(MiniportAdapterHandle, sizeof(LIFETEST_ADAPTER),
                                                                   LIFETEST_POOL_TAG, NormalPoolPriority);
    if (adapter == NULL) {
        return NDIS_STATUS_RESOURCES;
    }
    NdisZeroMemory(adapter, sizeof(*adapter));
    adapter->AdapterHandle = MiniportAdapterHandle;
    adapter->PowerState = NdisDeviceStateD0;

    /* The device objects: all three, then only the next-lower one (the others NULL). */
    NdisMGetDeviceProperty(MiniportAdapterHandle, &LifeTestControl.Pdo, &LifeTestControl.Fdo, &LifeTestControl.Next,
                           NULL, NULL);
    NdisMGetDeviceProperty(MiniportAdapterHandle, NULL, NULL, &adapter->NextDeviceObject, NULL, NULL);
    LifeTestControl.NextOnly = adapter->NextDeviceObject;
    LifeTestControl.InitPingStatus = LifeTestPingNextDevice(adapter->NextDeviceObject);

    NdisZeroMemory(&timer, sizeof(timer));
    timer.Header.Type = NDIS_OBJECT_TYPE_TIMER_CHARACTERISTICS;
    timer.Header.Revision = NDIS_TIMER_CHARACTERISTICS_REVISION_1;
    timer.Header.Size = NDIS_SIZEOF_TIMER_CHARACTERISTICS_REVISION_1;
    timer.AllocationTag = LIFETEST_POOL_TAG;
    timer.TimerFunction = LifeTestCompletionTimer;
    timer.FunctionContext = adapter;
    status = NdisAllocateTimerObject(MiniportAdapterHandle, &timer, &adapter->CompletionTimer);
    if (status != NDIS_STATUS_SUCCESS) {
        NdisFreeMemoryWithTagPriority(MiniportAdapterHandle, adapter, LIFETEST_POOL_TAG);
        return status;
    }

    status = LifeTestSetAllAttributes(adapter);
    if (status == NDIS_STATUS_SUCCESS) {
        status = LifeTestControl.InitializeStatus;
    }
    if (status != NDIS_STATUS_SUCCESS) {
        /* A failed MiniportInitializeEx frees what it allocated; NDIS calls no halt. */
        NdisFreeTimerObject(adapter->CompletionTimer);
        NdisFreeMemoryWithTagPriority(MiniportAdapterHandle, adapter, LIFETEST_POOL_TAG);
        return status;
    }
    InterlockedIncrement(&LifeTestControl.Adapters);
    return NDIS_STATUS_SUCCESS;
}

_Use_decl_annotations_
VOID LifeTestHaltEx(NDIS_HANDLE MiniportAdapterContext, NDIS_HALT_ACTION HaltAction)
{
    /* IRQL: PASSIVE_LEVEL */
    PLIFETEST_ADAPTER adapter = (PLIFETEST_ADAPTER)MiniportAdapterContext;

    LifeTestRecordEvent('H');
    InterlockedIncrement(&LifeTestControl.HaltCalls);
    LifeTestControl.LastHaltAction = HaltAction;
    NdisCancelTimerObject(adapter->CompletionTimer);
    NdisFreeTimerObject(adapter->CompletionTimer);
    InterlockedDecrement(&LifeTestControl.Adapters);
    NdisFreeMemoryWithTagPriority(adapter->AdapterHandle, adapter, LIFETEST_POOL_TAG);
}

_Use_decl_annotations_
VOID LifeTestCompletionTimer(PVOID SystemSpecific1, PVOID FunctionContext, PVOID SystemSpecific2,
                             PVOID SystemSpecific3)
{
    /* IRQL: DISPATCH_LEVEL */
    PLIFETEST_ADAPTER adapter = (PLIFETEST_ADAPTER)FunctionContext;
    LONG pending = InterlockedExchange(&adapter->Pending, LifeTestPendingNone);

    UNREFERENCED_PARAMETER(SystemSpecific1);
    UNREFERENCED_PARAMETER(SystemSpecific2);
    UNREFERENCED_PARAMETER(SystemSpecific3);
    if (pending == LifeTestPendingRestart) {
        LifeTestRecordEvent('r');
        NdisMRestartComplete(adapter->AdapterHandle, LifeTestControl.RestartStatus);
    } else if (pending == LifeTestPendingPause) {
        LifeTestRecordEvent('p');
        NdisMPauseComplete(adapter->AdapterHandle);
    }
}

static VOID LifeTestCompleteLater(_In_ PLIFETEST_ADAPTER Adapter, _In_ LIFETEST_PENDING Operation)
{
    /* IRQL: <= DISPATCH_LEVEL */
    LARGE_INTEGER dueTime;
    dueTime.QuadPart = -2 * 10000; /* 2 ms, relative */
    InterlockedExchange(&Adapter->Pending, Operation);
    NdisSetTimerObject(Adapter->CompletionTimer, dueTime, 0, Adapter);
}

_Use_decl_annotations_
NDIS_STATUS LifeTestRestart(NDIS_HANDLE MiniportAdapterContext, PNDIS_MINIPORT_RESTART_PARAMETERS RestartParameters)
{
    /* IRQL: PASSIVE_LEVEL */
    PLIFETEST_ADAPTER adapter = (PLIFETEST_ADAPTER)MiniportAdapterContext;

    UNREFERENCED_PARAMETER(RestartParameters);
    LifeTestRecordEvent('R');
    InterlockedIncrement(&LifeTestControl.RestartCalls);
    if (LifeTestControl.PendRestart) {
        LifeTestCompleteLater(adapter, LifeTestPendingRestart);
        return NDIS_STATUS_PENDING;
    }
    return LifeTestControl.RestartStatus;
}

_Use_decl_annotations_
NDIS_STATUS LifeTestPause(NDIS_HANDLE MiniportAdapterContext, PNDIS_MINIPORT_PAUSE_PARAMETERS PauseParameters)
{
    /* IRQL: PASSIVE_LEVEL */
    PLIFETEST_ADAPTER adapter = (PLIFETEST_ADAPTER)MiniportAdapterContext;

    LifeTestRecordEvent('P');
    InterlockedIncrement(&LifeTestControl.PauseCalls);
    LifeTestControl.LastPauseReason = PauseParameters->PauseReason;
    if (LifeTestControl.PendPause) {
        LifeTestCompleteLater(adapter, LifeTestPendingPause);
        return NDIS_STATUS_PENDING;
    }
    return NDIS_STATUS_SUCCESS;
}

_Use_decl_annotations_
NDIS_STATUS LifeTestOidRequest(NDIS_HANDLE MiniportAdapterContext, PNDIS_OID_REQUEST OidRequest)
{
    /* IRQL: <= DISPATCH_LEVEL */
    PLIFETEST_ADAPTER adapter = (PLIFETEST_ADAPTER)MiniportAdapterContext;
    NDIS_OID oid = OidRequest->DATA.Oid;
    PVOID buffer;
    UINT length;

    if (oid != OID_PNP_QUERY_POWER && oid != OID_PNP_SET_POWER) {
        return NDIS_STATUS_NOT_SUPPORTED;
    }
    if (OidRequest->RequestType == NdisRequestQueryInformation) {
        buffer = OidRequest->DATA.QUERY_INFORMATION.InformationBuffer;
        length = OidRequest->DATA.QUERY_INFORMATION.InformationBufferLength;
    } else {
        buffer = OidRequest->DATA.SET_INFORMATION.InformationBuffer;
        length = OidRequest->DATA.SET_INFORMATION.InformationBufferLength;
    }
    if (length < sizeof(NDIS_DEVICE_POWER_STATE) || buffer == NULL) {
        return NDIS_STATUS_INVALID_LENGTH;
    }
    if (oid == OID_PNP_QUERY_POWER) {
        LifeTestRecordEvent('Q');
    } else {
        LifeTestRecordEvent('W');
        adapter->PowerState = *(PNDIS_DEVICE_POWER_STATE)buffer;
        LifeTestControl.LastSetPower = adapter->PowerState;
        OidRequest->DATA.SET_INFORMATION.BytesRead = sizeof(NDIS_DEVICE_POWER_STATE);
    }
    return NDIS_STATUS_SUCCESS;
}

_Use_decl_annotations_
VOID LifeTestSendNetBufferLists(NDIS_HANDLE MiniportAdapterContext, PNET_BUFFER_LIST NetBufferList,
                                NDIS_PORT_NUMBER PortNumber, ULONG SendFlags)
{
    /* IRQL: <= DISPATCH_LEVEL. The lifecycle tests bind no protocol, so no send can reach
     * this miniport; one that does is counted (the tests expect none) and never completed. */
    UNREFERENCED_PARAMETER(MiniportAdapterContext);
    UNREFERENCED_PARAMETER(NetBufferList);
    UNREFERENCED_PARAMETER(PortNumber);
    UNREFERENCED_PARAMETER(SendFlags);
    InterlockedIncrement(&LifeTestControl.UnexpectedSends);
}

_Use_decl_annotations_
VOID LifeTestReturnNetBufferLists(NDIS_HANDLE MiniportAdapterContext, PNET_BUFFER_LIST NetBufferLists,
                                  ULONG ReturnFlags)
{
    /* IRQL: <= DISPATCH_LEVEL. It never indicates receives. */
    UNREFERENCED_PARAMETER(MiniportAdapterContext);
    UNREFERENCED_PARAMETER(NetBufferLists);
    UNREFERENCED_PARAMETER(ReturnFlags);
}

_Use_decl_annotations_
VOID LifeTestCancelSend(NDIS_HANDLE MiniportAdapterContext, PVOID CancelId)
{
    /* IRQL: <= DISPATCH_LEVEL. It holds no sends. */
    UNREFERENCED_PARAMETER(MiniportAdapterContext);
    UNREFERENCED_PARAMETER(CancelId);
}

_Use_decl_annotations_
VOID LifeTestDevicePnPEventNotify(NDIS_HANDLE MiniportAdapterContext, PNET_DEVICE_PNP_EVENT NetDevicePnPEvent)
{
    /* IRQL: PASSIVE_LEVEL */
    PLIFETEST_ADAPTER adapter = (PLIFETEST_ADAPTER)MiniportAdapterContext;

    LifeTestRecordEvent('E');
    InterlockedIncrement(&LifeTestControl.PnpEventCalls);
    LifeTestControl.LastPnpEvent = NetDevicePnPEvent->DevicePnPEvent;
    if (NetDevicePnPEvent->DevicePnPEvent == NdisDevicePnPEventSurpriseRemoved) {
        /* The device is gone: what the bus says to an IRP now. */
        LifeTestControl.SurprisePingStatus = LifeTestPingNextDevice(adapter->NextDeviceObject);
    }
}

_Use_decl_annotations_
VOID LifeTestShutdownEx(NDIS_HANDLE MiniportAdapterContext, NDIS_SHUTDOWN_ACTION ShutdownAction)
{
    /* IRQL: PASSIVE_LEVEL here (any IRQL on a bug check): no NdisXxx calls, no freeing. */
    UNREFERENCED_PARAMETER(MiniportAdapterContext);
    LifeTestRecordEvent('S');
    InterlockedIncrement(&LifeTestControl.ShutdownCalls);
    LifeTestControl.LastShutdownAction = ShutdownAction;
}

_Use_decl_annotations_
VOID LifeTestCancelOidRequest(NDIS_HANDLE MiniportAdapterContext, PVOID RequestId)
{
    /* IRQL: <= DISPATCH_LEVEL. Every OID completes synchronously. */
    UNREFERENCED_PARAMETER(MiniportAdapterContext);
    UNREFERENCED_PARAMETER(RequestId);
}
