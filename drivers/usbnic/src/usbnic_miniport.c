/*
 * usbnic_miniport.c -- registration and the adapter lifecycle of an NDIS-WDM USB NIC
 * miniport: MiniportInitializeEx (registration attributes with NDIS_WDM and
 * SURPRISE_REMOVE_OK, the next-lower device from NdisMGetDeviceProperty, per-adapter
 * keywords, the device configured, general attributes), pause/restart, reset, surprise
 * removal, shutdown and halt. No interrupt, DPC or check-for-hang handler: NDIS's send
 * and OID time-outs detect a hung device and call MiniportResetEx.
 */
#include "usbnic_internal.h"

static MINIPORT_INITIALIZE UsbNicInitialize;
static MINIPORT_HALT UsbNicHalt;
static MINIPORT_UNLOAD UsbNicUnload;
static MINIPORT_PAUSE UsbNicPause;
static MINIPORT_RESTART UsbNicRestart;
static MINIPORT_RESET UsbNicReset;
static MINIPORT_DEVICE_PNP_EVENT_NOTIFY UsbNicDevicePnPEventNotify;
static MINIPORT_SHUTDOWN UsbNicShutdown;
static NDIS_IO_WORKITEM_FUNCTION UsbNicResetWorker;

/* The object headers this file fills in describe structures at least that large. */
C_ASSERT(sizeof(NDIS_MINIPORT_DRIVER_CHARACTERISTICS) >= NDIS_SIZEOF_MINIPORT_DRIVER_CHARACTERISTICS_REVISION_2);
C_ASSERT(sizeof(NDIS_MINIPORT_ADAPTER_REGISTRATION_ATTRIBUTES) >=
         NDIS_SIZEOF_MINIPORT_ADAPTER_REGISTRATION_ATTRIBUTES_REVISION_1);
C_ASSERT(sizeof(NDIS_MINIPORT_ADAPTER_GENERAL_ATTRIBUTES) >= NDIS_SIZEOF_MINIPORT_ADAPTER_GENERAL_ATTRIBUTES_REVISION_1);
C_ASSERT(sizeof(NDIS_LINK_STATE) >= NDIS_SIZEOF_LINK_STATE_REVISION_1);
C_ASSERT(sizeof(NDIS_STATUS_INDICATION) >= NDIS_SIZEOF_STATUS_INDICATION_REVISION_1);
C_ASSERT(sizeof(NDIS_CONFIGURATION_OBJECT) >= NDIS_SIZEOF_CONFIGURATION_OBJECT_REVISION_1);

/* One minidriver per driver image. */
static const USBNIC_MINIDRIVER *UsbNicMinidriver;
static NDIS_HANDLE UsbNicDriverHandle;

#define USBNIC_DEFAULT_RX_URBS 4
#define USBNIC_DEFAULT_TX_URBS 4
#define USBNIC_DEFAULT_RX_BUFFERS 256
#define USBNIC_DEFAULT_TX_FLUSH_DELAY_US 300

NDIS_STATUS UsbNicRegisterMiniport(PDRIVER_OBJECT DriverObject, PUNICODE_STRING RegistryPath,
                                   const USBNIC_MINIDRIVER *Minidriver)
{
    NDIS_MINIPORT_DRIVER_CHARACTERISTICS c;

    UsbNicMinidriver = Minidriver;
    NdisZeroMemory(&c, sizeof(c));
    c.Header.Type = NDIS_OBJECT_TYPE_MINIPORT_DRIVER_CHARACTERISTICS;
    c.Header.Revision = NDIS_MINIPORT_DRIVER_CHARACTERISTICS_REVISION_2;
    c.Header.Size = NDIS_SIZEOF_MINIPORT_DRIVER_CHARACTERISTICS_REVISION_2;
    c.MajorNdisVersion = NDIS_MINIPORT_MAJOR_VERSION;
    c.MinorNdisVersion = NDIS_MINIPORT_MINOR_VERSION;
    c.MajorDriverVersion = 1;
    c.MinorDriverVersion = 0;
    c.Flags = NDIS_WDM_DRIVER;
    c.InitializeHandlerEx = UsbNicInitialize;
    c.HaltHandlerEx = UsbNicHalt;
    c.UnloadHandler = UsbNicUnload;
    c.PauseHandler = UsbNicPause;
    c.RestartHandler = UsbNicRestart;
    c.OidRequestHandler = UsbNicOidRequest;
    c.SendNetBufferListsHandler = UsbNicSendNetBufferLists;
    c.ReturnNetBufferListsHandler = UsbNicReturnNetBufferLists;
    c.CancelSendHandler = UsbNicCancelSend;
    c.ResetHandlerEx = UsbNicReset;
    c.DevicePnPEventNotifyHandler = UsbNicDevicePnPEventNotify;
    c.ShutdownHandlerEx = UsbNicShutdown;
    c.CancelOidRequestHandler = UsbNicCancelOidRequest;
    /* Deliberately absent: CheckForHangHandlerEx (NDIS's time-outs detect hangs) and every
     * interrupt handler (a USB NIC has no interrupt of its own). */
    return NdisMRegisterMiniportDriver(DriverObject, RegistryPath, NULL, &c, &UsbNicDriverHandle);
}

/* PASSIVE_LEVEL. */
static VOID NTAPI UsbNicUnload(PDRIVER_OBJECT DriverObject)
{
    UNREFERENCED_PARAMETER(DriverObject);
    NdisMDeregisterMiniportDriver(UsbNicDriverHandle);
}

/* <= DISPATCH_LEVEL. */
VOID UsbNicIndicateLinkState(PUSBNIC_ADAPTER Adapter, BOOLEAN Connected, ULONG64 Speed)
{
    NDIS_LINK_STATE link;
    NDIS_STATUS_INDICATION indication;

    NdisZeroMemory(&link, sizeof(link));
    NdisAcquireSpinLock(&Adapter->Lock);
    Adapter->MediaConnected = Connected;
    if (Speed != 0) {
        Adapter->LinkSpeed = Speed;
    }
    link.XmitLinkSpeed = Connected ? Adapter->LinkSpeed : NDIS_LINK_SPEED_UNKNOWN;
    NdisReleaseSpinLock(&Adapter->Lock);
    link.Header.Type = NDIS_OBJECT_TYPE_DEFAULT;
    link.Header.Revision = NDIS_LINK_STATE_REVISION_1;
    link.Header.Size = NDIS_SIZEOF_LINK_STATE_REVISION_1;
    link.MediaConnectState = Connected ? MediaConnectStateConnected : MediaConnectStateDisconnected;
    link.MediaDuplexState = MediaDuplexStateFull;
    link.RcvLinkSpeed = link.XmitLinkSpeed;
    link.PauseFunctions = NdisPauseFunctionsUnsupported;

    NdisZeroMemory(&indication, sizeof(indication));
    indication.Header.Type = NDIS_OBJECT_TYPE_STATUS_INDICATION;
    indication.Header.Revision = NDIS_STATUS_INDICATION_REVISION_1;
    indication.Header.Size = NDIS_SIZEOF_STATUS_INDICATION_REVISION_1;
    indication.SourceHandle = Adapter->MiniportHandle;
    indication.StatusCode = NDIS_STATUS_LINK_STATE;
    indication.StatusBuffer = &link;
    indication.StatusBufferSize = sizeof(link);
    NdisMIndicateStatusEx(Adapter->MiniportHandle, &indication);
}

/* PASSIVE_LEVEL. Opens the adapter's configuration (NULL when NDIS has none for it). */
static NDIS_HANDLE OpenConfiguration(PUSBNIC_ADAPTER Adapter)
{
    NDIS_CONFIGURATION_OBJECT object;
    NDIS_HANDLE config = NULL;

    NdisZeroMemory(&object, sizeof(object));
    object.Header.Type = NDIS_OBJECT_TYPE_CONFIGURATION_OBJECT;
    object.Header.Revision = NDIS_CONFIGURATION_OBJECT_REVISION_1;
    object.Header.Size = NDIS_SIZEOF_CONFIGURATION_OBJECT_REVISION_1;
    object.NdisHandle = Adapter->MiniportHandle;
    return NdisOpenConfigurationEx(&object, &config) == NDIS_STATUS_SUCCESS ? config : NULL;
}

/* PASSIVE_LEVEL. Integer keyword Name from an open configuration, or Default when it is
 * absent or outside [Minimum, Maximum]. */
static ULONG ReadInteger(NDIS_HANDLE Config, PCWSTR Name, ULONG Minimum, ULONG Maximum, ULONG Default)
{
    NDIS_STATUS status;
    PNDIS_CONFIGURATION_PARAMETER value;
    NDIS_STRING keyword;

    NdisInitUnicodeString(&keyword, Name);
    NdisReadConfiguration(&status, &value, Config, &keyword, NdisParameterInteger);
    if (status != NDIS_STATUS_SUCCESS || value->ParameterData.IntegerData < Minimum ||
        value->ParameterData.IntegerData > Maximum) {
        return Default;
    }
    return value->ParameterData.IntegerData;
}

ULONG UsbNicReadIntegerKeyword(PUSBNIC_ADAPTER Adapter, PCWSTR Name, ULONG Minimum, ULONG Maximum, ULONG Default)
{
    NDIS_HANDLE config = OpenConfiguration(Adapter);
    ULONG result = Default;

    if (config != NULL) {
        result = ReadInteger(config, Name, Minimum, Maximum, Default);
        NdisCloseConfiguration(config);
    }
    return result;
}

/* PASSIVE_LEVEL. Per-adapter keywords of the framework (the INF's ndi\params). */
static VOID ReadKeywords(PUSBNIC_ADAPTER Adapter)
{
    NDIS_HANDLE config = OpenConfiguration(Adapter);
    NDIS_STATUS status;
    PVOID address = NULL;
    UINT addressLength = 0;

    Adapter->RxUrbCount = USBNIC_DEFAULT_RX_URBS;
    Adapter->TxUrbCount = USBNIC_DEFAULT_TX_URBS;
    Adapter->RxSlotCount = USBNIC_DEFAULT_RX_BUFFERS;
    Adapter->TxFlushDelayUs = USBNIC_DEFAULT_TX_FLUSH_DELAY_US;
    Adapter->TxAggregation = USBNIC_TX_AGGREGATE_ADAPTIVE;
    Adapter->TxZeroCopy = TRUE;
    Adapter->JumboPacketLimit = 0;
    if (config == NULL) {
        return;
    }
    Adapter->RxUrbCount = ReadInteger(config, L"ReceiveUrbs", 1, 64, Adapter->RxUrbCount);
    Adapter->TxUrbCount = ReadInteger(config, L"TransmitUrbs", 1, 64, Adapter->TxUrbCount);
    Adapter->RxSlotCount = ReadInteger(config, L"ReceiveBuffers", 16, 4096, Adapter->RxSlotCount);
    Adapter->TxFlushDelayUs = ReadInteger(config, L"TransmitFlushDelay", 0, 10000, Adapter->TxFlushDelayUs);
    Adapter->TxAggregation = ReadInteger(config, L"TransmitAggregation", USBNIC_TX_AGGREGATE_ADAPTIVE,
                                         USBNIC_TX_AGGREGATE_TIMER, Adapter->TxAggregation);
    Adapter->TxZeroCopy = ReadInteger(config, L"TransmitZeroCopy", 0, 1, 1) != 0;
    /* *JumboPacket (standardized keyword): the largest frame, Ethernet header included, the
     * user allows; 1514 turns jumbo frames off. Absent, the device's own maximum applies
     * (the minidriver caps it to what it supports). */
    Adapter->JumboPacketLimit = ReadInteger(config, L"*JumboPacket", 1514, 65535, 0);
    /* NetworkAddress: a locally administered unicast override. */
    NdisReadNetworkAddress(&status, &address, &addressLength, config);
    if (status == NDIS_STATUS_SUCCESS && addressLength == 6 && address != NULL &&
        (((PUCHAR)address)[0] & 0x01) == 0) {
        NdisMoveMemory(Adapter->CurrentAddress, address, 6);
    }
    NdisCloseConfiguration(config);
}

static NDIS_STATUS SetRegistrationAttributes(PUSBNIC_ADAPTER Adapter)
{
    NDIS_MINIPORT_ADAPTER_REGISTRATION_ATTRIBUTES r;
    NdisZeroMemory(&r, sizeof(r));
    r.Header.Type = NDIS_OBJECT_TYPE_MINIPORT_ADAPTER_REGISTRATION_ATTRIBUTES;
    r.Header.Revision = NDIS_MINIPORT_ADAPTER_REGISTRATION_ATTRIBUTES_REVISION_1;
    r.Header.Size = NDIS_SIZEOF_MINIPORT_ADAPTER_REGISTRATION_ATTRIBUTES_REVISION_1;
    r.MiniportAdapterContext = Adapter;
    /* Deserialized (no NDIS_MINIPORT_ATTRIBUTES_NOT_CO_NDIS serialization flag exists in 6.x). */
    r.AttributeFlags = NDIS_MINIPORT_ATTRIBUTES_NDIS_WDM | NDIS_MINIPORT_ATTRIBUTES_SURPRISE_REMOVE_OK;
    r.CheckForHangTimeInSeconds = 0; /* NDIS's default send/OID time-outs */
    r.InterfaceType = NdisInterfaceUSB;
    return NdisMSetMiniportAttributes(Adapter->MiniportHandle, (PNDIS_MINIPORT_ADAPTER_ATTRIBUTES)&r);
}

static NDIS_STATUS SetGeneralAttributes(PUSBNIC_ADAPTER Adapter)
{
    NDIS_MINIPORT_ADAPTER_GENERAL_ATTRIBUTES g;
    NDIS_PNP_CAPABILITIES pnp;

    NdisZeroMemory(&pnp, sizeof(pnp)); /* power manageable, no wake-up */
    NdisZeroMemory(&g, sizeof(g));
    g.Header.Type = NDIS_OBJECT_TYPE_MINIPORT_ADAPTER_GENERAL_ATTRIBUTES;
    g.Header.Revision = NDIS_MINIPORT_ADAPTER_GENERAL_ATTRIBUTES_REVISION_1;
    g.Header.Size = NDIS_SIZEOF_MINIPORT_ADAPTER_GENERAL_ATTRIBUTES_REVISION_1;
    g.MediaType = NdisMedium802_3;
    g.PhysicalMediumType = NdisPhysicalMedium802_3;
    g.MtuSize = Adapter->MaxFrameSize - USBNIC_ETH_HEADER;
    g.MaxXmitLinkSpeed = Adapter->LinkSpeed;
    g.MaxRcvLinkSpeed = Adapter->LinkSpeed;
    g.XmitLinkSpeed = Adapter->MediaConnected ? Adapter->LinkSpeed : NDIS_LINK_SPEED_UNKNOWN;
    g.RcvLinkSpeed = g.XmitLinkSpeed;
    g.MediaConnectState = Adapter->MediaConnected ? MediaConnectStateConnected : MediaConnectStateDisconnected;
    g.MediaDuplexState = MediaDuplexStateFull;
    g.LookaheadSize = Adapter->MaxFrameSize - USBNIC_ETH_HEADER;
    g.PowerManagementCapabilities = &pnp;
    g.MacOptions = NDIS_MAC_OPTION_COPY_LOOKAHEAD_DATA | NDIS_MAC_OPTION_TRANSFERS_NOT_PEND |
                   NDIS_MAC_OPTION_NO_LOOPBACK | NDIS_MAC_OPTION_FULL_DUPLEX;
    g.SupportedPacketFilters = NDIS_PACKET_TYPE_DIRECTED | NDIS_PACKET_TYPE_MULTICAST |
                               NDIS_PACKET_TYPE_ALL_MULTICAST | NDIS_PACKET_TYPE_BROADCAST |
                               NDIS_PACKET_TYPE_PROMISCUOUS;
    g.MaxMulticastListSize = Adapter->MaxMulticast;
    g.MacAddressLength = 6;
    NdisMoveMemory(g.PermanentMacAddress, Adapter->PermanentAddress, 6);
    NdisMoveMemory(g.CurrentMacAddress, Adapter->CurrentAddress, 6);
    g.RecvScaleCapabilities = NULL;
    g.AccessType = NET_IF_ACCESS_BROADCAST;
    g.DirectionType = NET_IF_DIRECTION_SENDRECEIVE;
    g.ConnectionType = NET_IF_CONNECTION_DEDICATED;
    g.IfType = IF_TYPE_ETHERNET_CSMACD;
    g.IfConnectorPresent = TRUE;
    g.SupportedStatistics = NDIS_STATISTICS_XMIT_OK_SUPPORTED | NDIS_STATISTICS_RCV_OK_SUPPORTED |
                            NDIS_STATISTICS_XMIT_ERROR_SUPPORTED | NDIS_STATISTICS_RCV_ERROR_SUPPORTED |
                            NDIS_STATISTICS_RCV_NO_BUFFER_SUPPORTED |
                            NDIS_STATISTICS_DIRECTED_FRAMES_RCV_SUPPORTED |
                            NDIS_STATISTICS_MULTICAST_FRAMES_RCV_SUPPORTED |
                            NDIS_STATISTICS_BROADCAST_FRAMES_RCV_SUPPORTED |
                            NDIS_STATISTICS_DIRECTED_FRAMES_XMIT_SUPPORTED |
                            NDIS_STATISTICS_MULTICAST_FRAMES_XMIT_SUPPORTED |
                            NDIS_STATISTICS_BROADCAST_FRAMES_XMIT_SUPPORTED |
                            NDIS_STATISTICS_BYTES_RCV_SUPPORTED | NDIS_STATISTICS_BYTES_XMIT_SUPPORTED |
                            NDIS_STATISTICS_RCV_DISCARDS_SUPPORTED | NDIS_STATISTICS_GEN_STATISTICS_SUPPORTED;
    g.SupportedPauseFunctions = NdisPauseFunctionsUnsupported;
    g.SupportedOidList = (PNDIS_OID)UsbNicSupportedOids;
    g.SupportedOidListLength = UsbNicSupportedOidCount * sizeof(NDIS_OID);
    return NdisMSetMiniportAttributes(Adapter->MiniportHandle, (PNDIS_MINIPORT_ADAPTER_ATTRIBUTES)&g);
}

/* PASSIVE_LEVEL. Frees whatever MiniportInitializeEx or the adapter's life allocated. */
static VOID FreeAdapter(PUSBNIC_ADAPTER Adapter)
{
    NDIS_HANDLE handle = Adapter->MiniportHandle;
    /* The bus driver completes URBs from DPCs, and a completion routine may still be on its
     * way out (past the KeSetEvent or the count its waiter saw): once the queued DPCs ran,
     * none is, so neither this memory nor the driver image goes under one. */
    KeFlushQueuedDpcs();
    UsbNicFreeDataPath(Adapter);
    if (Adapter->OidWorkItem != NULL) {
        NdisFreeIoWorkItem(Adapter->OidWorkItem);
    }
    if (Adapter->ResetWorkItem != NULL) {
        NdisFreeIoWorkItem(Adapter->ResetWorkItem);
    }
    UsbNicFreeControl(Adapter);
    if (Adapter->ConfigDescriptor != NULL) {
        NdisFreeMemoryWithTagPriority(handle, Adapter->ConfigDescriptor, USBNIC_POOL_TAG);
    }
    if (Adapter->MiniContext != NULL) {
        NdisFreeMemoryWithTagPriority(handle, Adapter->MiniContext, USBNIC_POOL_TAG);
    }
    NdisFreeSpinLock(&Adapter->Lock);
    NdisFreeMemoryWithTagPriority(handle, Adapter, USBNIC_POOL_TAG);
}

/* PASSIVE_LEVEL. */
static NDIS_STATUS NTAPI UsbNicInitialize(NDIS_HANDLE NdisMiniportHandle, NDIS_HANDLE MiniportDriverContext,
                                          PNDIS_MINIPORT_INIT_PARAMETERS MiniportInitParameters)
{
    PUSBNIC_ADAPTER adapter;
    PDEVICE_OBJECT fdo = NULL;
    NDIS_STATUS status;
    static const UCHAR zeroAddress[6] = {0};

    UNREFERENCED_PARAMETER(MiniportDriverContext);
    /* What NDIS passes is checked like anything else with an object header. */
    if (MiniportInitParameters == NULL ||
        MiniportInitParameters->Header.Type != NDIS_OBJECT_TYPE_MINIPORT_INIT_PARAMETERS ||
        MiniportInitParameters->Header.Revision < NDIS_MINIPORT_INIT_PARAMETERS_REVISION_1 ||
        MiniportInitParameters->Header.Size < NDIS_SIZEOF_MINIPORT_INIT_PARAMETER_REVISION_1) {
        return NDIS_STATUS_INVALID_PARAMETER;
    }

    adapter = (PUSBNIC_ADAPTER)NdisAllocateMemoryWithTagPriority(NdisMiniportHandle, sizeof(USBNIC_ADAPTER),
                                                                 USBNIC_POOL_TAG, NormalPoolPriority);
    if (adapter == NULL) {
        return NDIS_STATUS_RESOURCES;
    }
    NdisZeroMemory(adapter, sizeof(*adapter));
    adapter->MiniportHandle = NdisMiniportHandle;
    adapter->Mini = UsbNicMinidriver;
    adapter->State = UsbNicStateInitializing;
    adapter->PowerState = NdisDeviceStateD0;
    adapter->MaxMulticast = USBNIC_MAX_MULTICAST;
    NdisAllocateSpinLock(&adapter->Lock);

    status = SetRegistrationAttributes(adapter);
    if (status != NDIS_STATUS_SUCCESS) {
        goto fail;
    }
    NdisMGetDeviceProperty(NdisMiniportHandle, &adapter->Pdo, &fdo, &adapter->NextDevice, NULL, NULL);
    if (adapter->NextDevice == NULL) {
        status = NDIS_STATUS_ADAPTER_NOT_FOUND;
        goto fail;
    }
    adapter->IrpStackSize = adapter->NextDevice->StackSize;
    ReadKeywords(adapter);

    if (adapter->Mini->ContextSize != 0) {
        adapter->MiniContext = NdisAllocateMemoryWithTagPriority(NdisMiniportHandle, adapter->Mini->ContextSize,
                                                                 USBNIC_POOL_TAG, NormalPoolPriority);
        if (adapter->MiniContext == NULL) {
            status = NDIS_STATUS_RESOURCES;
            goto fail;
        }
        NdisZeroMemory(adapter->MiniContext, adapter->Mini->ContextSize);
    }
    adapter->OidWorkItem = NdisAllocateIoWorkItem(NdisMiniportHandle);
    adapter->ResetWorkItem = NdisAllocateIoWorkItem(NdisMiniportHandle);
    if (adapter->OidWorkItem == NULL || adapter->ResetWorkItem == NULL) {
        status = NDIS_STATUS_RESOURCES;
        goto fail;
    }
    status = UsbNicAllocateControl(adapter);
    if (status != NDIS_STATUS_SUCCESS) {
        goto fail;
    }
    status = UsbNicConfigureDevice(adapter);
    if (status != NDIS_STATUS_SUCCESS) {
        goto fail;
    }
    status = adapter->Mini->Bind(adapter);
    if (status != NDIS_STATUS_SUCCESS) {
        goto fail;
    }
    if (adapter->MaxFrameSize < 60 || adapter->RxTransferSize == 0 || adapter->TxTransferSize == 0 ||
        adapter->MaxFramesPerTransfer == 0 || adapter->MaxRxFramesPerTransfer == 0) {
        status = NDIS_STATUS_DEVICE_FAILED;
        goto fail;
    }
    if (RtlCompareMemory(adapter->CurrentAddress, zeroAddress, 6) == 6) {
        NdisMoveMemory(adapter->CurrentAddress, adapter->PermanentAddress, 6);
    }
    status = UsbNicSelectDataInterface(adapter);
    if (status != NDIS_STATUS_SUCCESS) {
        goto fail;
    }
    status = UsbNicAllocateDataPath(adapter);
    if (status != NDIS_STATUS_SUCCESS) {
        goto fail;
    }
    status = SetGeneralAttributes(adapter);
    if (status != NDIS_STATUS_SUCCESS) {
        goto fail;
    }
    adapter->State = UsbNicStatePaused; /* NDIS restarts the adapter next */
    UsbNicStartInterrupt(adapter);
    return NDIS_STATUS_SUCCESS;

fail:
    if (adapter->Mini->Unbind != NULL && adapter->ConfigurationHandle != NULL) {
        adapter->Mini->Unbind(adapter);
    }
    UsbNicDeconfigureDevice(adapter);
    FreeAdapter(adapter);
    return status;
}

/* PASSIVE_LEVEL. NDIS halts a paused adapter: no send, receive or OID is outstanding. */
static VOID NTAPI UsbNicHalt(NDIS_HANDLE MiniportAdapterContext, NDIS_HALT_ACTION HaltAction)
{
    PUSBNIC_ADAPTER adapter = (PUSBNIC_ADAPTER)MiniportAdapterContext;
    BOOLEAN quiet;
    UNREFERENCED_PARAMETER(HaltAction);

    NdisAcquireSpinLock(&adapter->Lock);
    adapter->Halting = TRUE;
    adapter->State = UsbNicStateHalted;
    NdisReleaseSpinLock(&adapter->Lock);
    UsbNicStopInterrupt(adapter);
    UsbNicCancelReceives(adapter);
    UsbNicFlushSendQueue(adapter, NDIS_STATUS_FAILURE);
    NdisAcquireSpinLock(&adapter->Lock);
    quiet = UsbNicQuiescentLocked(adapter);
    if (!quiet) {
        KeClearEvent(&adapter->QuiescedEvent);
    }
    NdisReleaseSpinLock(&adapter->Lock);
    if (!quiet) {
        UsbNicCheckQuiescent(adapter);
        KeWaitForSingleObject(&adapter->QuiescedEvent, Executive, KernelMode, FALSE, NULL);
    }
    /* Whoever signalled the event did so holding the lock: let it release the lock before
     * the adapter's memory goes. */
    NdisAcquireSpinLock(&adapter->Lock);
    NdisReleaseSpinLock(&adapter->Lock);
    /* A pipe recovery queued before the halt finishes before its memory goes away. */
    for (;;) {
        BOOLEAN queued;
        NdisAcquireSpinLock(&adapter->Lock);
        queued = adapter->RecoveryQueued || adapter->ResetInProgress || adapter->CompletionsRunning != 0;
        NdisReleaseSpinLock(&adapter->Lock);
        if (!queued) {
            break;
        }
        NdisMSleep(1000);
    }
    if (adapter->Mini->Unbind != NULL) {
        adapter->Mini->Unbind(adapter);
    }
    if (!adapter->SurpriseRemoved) {
        UsbNicDeconfigureDevice(adapter);
    }
    FreeAdapter(adapter);
}

/* PASSIVE_LEVEL. Stops receives, returns queued sends, and completes (now or with
 * NdisMPauseComplete) once no transfer, send or receive indication is outstanding. */
static NDIS_STATUS NTAPI UsbNicPause(NDIS_HANDLE MiniportAdapterContext,
                                     PNDIS_MINIPORT_PAUSE_PARAMETERS PauseParameters)
{
    PUSBNIC_ADAPTER adapter = (PUSBNIC_ADAPTER)MiniportAdapterContext;
    NDIS_STATUS status;
    UNREFERENCED_PARAMETER(PauseParameters);

    NdisAcquireSpinLock(&adapter->Lock);
    adapter->State = UsbNicStatePausing;
    adapter->PausePending = FALSE;
    NdisReleaseSpinLock(&adapter->Lock);
    UsbNicFlushSendQueue(adapter, NDIS_STATUS_PAUSED);
    UsbNicCancelReceives(adapter);
    NdisAcquireSpinLock(&adapter->Lock);
    if (UsbNicQuiescentLocked(adapter)) {
        adapter->State = UsbNicStatePaused;
        status = NDIS_STATUS_SUCCESS;
    } else {
        adapter->PausePending = TRUE;
        status = NDIS_STATUS_PENDING;
    }
    NdisReleaseSpinLock(&adapter->Lock);
    return status;
}

/* PASSIVE_LEVEL. */
static NDIS_STATUS NTAPI UsbNicRestart(NDIS_HANDLE MiniportAdapterContext,
                                       PNDIS_MINIPORT_RESTART_PARAMETERS RestartParameters)
{
    PUSBNIC_ADAPTER adapter = (PUSBNIC_ADAPTER)MiniportAdapterContext;
    UNREFERENCED_PARAMETER(RestartParameters);

    NdisAcquireSpinLock(&adapter->Lock);
    if (adapter->SurpriseRemoved) {
        NdisReleaseSpinLock(&adapter->Lock);
        return NDIS_STATUS_ADAPTER_REMOVED;
    }
    adapter->State = UsbNicStateRunning;
    NdisReleaseSpinLock(&adapter->Lock);
    UsbNicStartInterrupt(adapter);
    UsbNicPostReceives(adapter);
    return NDIS_STATUS_SUCCESS;
}

/* PASSIVE_LEVEL work item: the reset proper. */
static VOID NTAPI UsbNicResetWorker(PVOID WorkItemContext, NDIS_HANDLE WorkItem)
{
    PUSBNIC_ADAPTER adapter = (PUSBNIC_ADAPTER)WorkItemContext;
    NDIS_STATUS status = NDIS_STATUS_SUCCESS;
    ULONG waited;
    UNREFERENCED_PARAMETER(WorkItem);

    /* Abort what the device holds, then wait for the IRPs to come back. */
    UsbNicCancelReceives(adapter);
    (void)UsbNicPipeRequest(adapter, URB_FUNCTION_ABORT_PIPE, adapter->BulkOutPipe);
    (void)UsbNicPipeRequest(adapter, URB_FUNCTION_ABORT_PIPE, adapter->BulkInPipe);
    for (waited = 0; waited < USBNIC_CONTROL_TIMEOUT_MS; waited++) {
        BOOLEAN idle;
        NdisAcquireSpinLock(&adapter->Lock);
        idle = adapter->RxPosted == 0 && adapter->TxInFlight == 0;
        NdisReleaseSpinLock(&adapter->Lock);
        if (idle) {
            break;
        }
        NdisMSleep(1000);
    }
    if (!adapter->SurpriseRemoved) {
        if (!NT_SUCCESS(UsbNicPipeRequest(adapter, URB_FUNCTION_SYNC_RESET_PIPE_AND_CLEAR_STALL, adapter->BulkInPipe)) ||
            !NT_SUCCESS(UsbNicPipeRequest(adapter, URB_FUNCTION_SYNC_RESET_PIPE_AND_CLEAR_STALL, adapter->BulkOutPipe))) {
            status = NDIS_STATUS_HARD_ERRORS;
        }
        if (status == NDIS_STATUS_SUCCESS && adapter->Mini->Reset != NULL) {
            status = adapter->Mini->Reset(adapter);
        }
    } else {
        status = NDIS_STATUS_ADAPTER_REMOVED;
    }
    NdisAcquireSpinLock(&adapter->Lock);
    adapter->ResetInProgress = FALSE;
    adapter->Counters.PipeResets++;
    NdisReleaseSpinLock(&adapter->Lock);
    UsbNicStartInterrupt(adapter);
    UsbNicPostReceives(adapter);
    NdisMResetComplete(adapter->MiniportHandle, status, FALSE);
    /* Sends queued during the reset go out now. */
    UsbNicPumpSends(adapter);
}

/* <= DISPATCH_LEVEL. Called by NDIS when a send or OID timed out (or on request). */
static NDIS_STATUS NTAPI UsbNicReset(NDIS_HANDLE MiniportAdapterContext, PBOOLEAN AddressingReset)
{
    PUSBNIC_ADAPTER adapter = (PUSBNIC_ADAPTER)MiniportAdapterContext;
    *AddressingReset = FALSE;
    NdisAcquireSpinLock(&adapter->Lock);
    if (adapter->ResetInProgress) {
        NdisReleaseSpinLock(&adapter->Lock);
        return NDIS_STATUS_RESET_IN_PROGRESS;
    }
    adapter->ResetInProgress = TRUE;
    NdisReleaseSpinLock(&adapter->Lock);
    NdisQueueIoWorkItem(adapter->ResetWorkItem, UsbNicResetWorker, adapter);
    return NDIS_STATUS_PENDING;
}

/* PASSIVE_LEVEL. */
static VOID NTAPI UsbNicDevicePnPEventNotify(NDIS_HANDLE MiniportAdapterContext,
                                             PNET_DEVICE_PNP_EVENT NetDevicePnPEvent)
{
    PUSBNIC_ADAPTER adapter = (PUSBNIC_ADAPTER)MiniportAdapterContext;
    if (NetDevicePnPEvent->DevicePnPEvent == NdisDevicePnPEventSurpriseRemoved) {
        /* The bus driver fails what it holds; new work fails here from now on. */
        NdisAcquireSpinLock(&adapter->Lock);
        adapter->SurpriseRemoved = TRUE;
        NdisReleaseSpinLock(&adapter->Lock);
        UsbNicCancelReceives(adapter);
        UsbNicFlushSendQueue(adapter, NDIS_STATUS_ADAPTER_REMOVED);
        UsbNicCheckQuiescent(adapter);
    }
}

/* PASSIVE_LEVEL (any IRQL on a bug check: then touch nothing). */
static VOID NTAPI UsbNicShutdown(NDIS_HANDLE MiniportAdapterContext, NDIS_SHUTDOWN_ACTION ShutdownAction)
{
    PUSBNIC_ADAPTER adapter = (PUSBNIC_ADAPTER)MiniportAdapterContext;
    if (ShutdownAction == NdisShutdownPowerOff) {
        UsbNicCancelReceives(adapter);
    }
}
