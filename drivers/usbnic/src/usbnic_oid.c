/*
 * usbnic_oid.c -- the OID requests: the general and 802.3 OIDs answered from the adapter's
 * state, statistics, the packet filter and multicast list programmed into the device (at
 * PASSIVE_LEVEL in a work item, completed with NdisMOidRequestComplete), OID_PNP_QUERY_POWER
 * and OID_PNP_SET_POWER, and anything else handed to the minidriver (RNDIS forwards it to
 * the device, the vendor OIDs included: the device knows who it is).
 */
#include "usbnic_internal.h"

static NDIS_IO_WORKITEM_FUNCTION UsbNicOidWorker;

const NDIS_OID UsbNicSupportedOids[] = {
    OID_GEN_SUPPORTED_LIST, OID_GEN_HARDWARE_STATUS, OID_GEN_MEDIA_SUPPORTED, OID_GEN_MEDIA_IN_USE,
    OID_GEN_PHYSICAL_MEDIUM, OID_GEN_MAXIMUM_LOOKAHEAD, OID_GEN_CURRENT_LOOKAHEAD,
    OID_GEN_MAXIMUM_FRAME_SIZE, OID_GEN_MAXIMUM_TOTAL_SIZE, OID_GEN_LINK_SPEED,
    OID_GEN_TRANSMIT_BLOCK_SIZE, OID_GEN_RECEIVE_BLOCK_SIZE, OID_GEN_TRANSMIT_BUFFER_SPACE,
    OID_GEN_RECEIVE_BUFFER_SPACE, OID_GEN_VENDOR_ID, OID_GEN_VENDOR_DESCRIPTION,
    OID_GEN_VENDOR_DRIVER_VERSION, OID_GEN_DRIVER_VERSION, OID_GEN_CURRENT_PACKET_FILTER,
    OID_GEN_MAC_OPTIONS, OID_GEN_MEDIA_CONNECT_STATUS, OID_GEN_MAXIMUM_SEND_PACKETS,
    OID_GEN_XMIT_OK, OID_GEN_RCV_OK, OID_GEN_XMIT_ERROR, OID_GEN_RCV_ERROR, OID_GEN_RCV_NO_BUFFER,
    OID_GEN_STATISTICS, OID_802_3_PERMANENT_ADDRESS, OID_802_3_CURRENT_ADDRESS,
    OID_802_3_MULTICAST_LIST, OID_802_3_MAXIMUM_LIST_SIZE, OID_802_3_RCV_ERROR_ALIGNMENT,
    OID_802_3_XMIT_ONE_COLLISION, OID_802_3_XMIT_MORE_COLLISIONS, OID_PNP_CAPABILITIES,
    OID_PNP_QUERY_POWER, OID_PNP_SET_POWER};
const ULONG UsbNicSupportedOidCount = sizeof(UsbNicSupportedOids) / sizeof(UsbNicSupportedOids[0]);

#define USBNIC_SUPPORTED_FILTERS                                                           \
    (NDIS_PACKET_TYPE_DIRECTED | NDIS_PACKET_TYPE_MULTICAST | NDIS_PACKET_TYPE_ALL_MULTICAST | \
     NDIS_PACKET_TYPE_BROADCAST | NDIS_PACKET_TYPE_PROMISCUOUS)

static const char UsbNicVendorDescription[] = "ndishost USB network adapter";

/* Copies a query answer, reporting BytesNeeded when the buffer is short. */
static NDIS_STATUS Answer(PNDIS_OID_REQUEST Request, const VOID *Data, ULONG Length)
{
    if (Request->DATA.QUERY_INFORMATION.InformationBufferLength < Length) {
        Request->DATA.QUERY_INFORMATION.BytesNeeded = Length;
        return NDIS_STATUS_BUFFER_TOO_SHORT;
    }
    NdisMoveMemory(Request->DATA.QUERY_INFORMATION.InformationBuffer, Data, Length);
    Request->DATA.QUERY_INFORMATION.BytesWritten = Length;
    return NDIS_STATUS_SUCCESS;
}

static NDIS_STATUS AnswerUlong(PNDIS_OID_REQUEST Request, ULONG Value)
{
    return Answer(Request, &Value, sizeof(Value));
}

/* Statistics OIDs take a 32- or 64-bit buffer. */
static NDIS_STATUS AnswerCounter(PNDIS_OID_REQUEST Request, ULONG64 Value)
{
    if (Request->DATA.QUERY_INFORMATION.InformationBufferLength >= sizeof(ULONG64)) {
        return Answer(Request, &Value, sizeof(Value));
    }
    return AnswerUlong(Request, (ULONG)Value);
}

/* <= DISPATCH_LEVEL. */
static NDIS_STATUS Query(PUSBNIC_ADAPTER Adapter, PNDIS_OID_REQUEST Request)
{
    const USBNIC_COUNTERS *c = &Adapter->Counters;
    const ULONG payload = Adapter->MaxFrameSize - USBNIC_ETH_HEADER;

    switch (Request->DATA.QUERY_INFORMATION.Oid) {
    case OID_GEN_SUPPORTED_LIST:
        return Answer(Request, UsbNicSupportedOids, UsbNicSupportedOidCount * sizeof(NDIS_OID));
    case OID_GEN_HARDWARE_STATUS:
        return AnswerUlong(Request, NdisHardwareStatusReady);
    case OID_GEN_MEDIA_SUPPORTED:
    case OID_GEN_MEDIA_IN_USE:
        return AnswerUlong(Request, NdisMedium802_3);
    case OID_GEN_PHYSICAL_MEDIUM:
        return AnswerUlong(Request, NdisPhysicalMedium802_3);
    case OID_GEN_MAXIMUM_LOOKAHEAD:
    case OID_GEN_CURRENT_LOOKAHEAD:
    case OID_GEN_MAXIMUM_FRAME_SIZE:
        return AnswerUlong(Request, payload);
    case OID_GEN_MAXIMUM_TOTAL_SIZE:
    case OID_GEN_TRANSMIT_BLOCK_SIZE:
    case OID_GEN_RECEIVE_BLOCK_SIZE:
        return AnswerUlong(Request, Adapter->MaxFrameSize);
    case OID_GEN_LINK_SPEED:
        return AnswerUlong(Request, (ULONG)(Adapter->LinkSpeed / 100)); /* 100 bps units */
    case OID_GEN_TRANSMIT_BUFFER_SPACE:
        return AnswerUlong(Request, Adapter->TxTransferSize * Adapter->TxUrbCount);
    case OID_GEN_RECEIVE_BUFFER_SPACE:
        return AnswerUlong(Request, Adapter->RxTransferSize * Adapter->RxUrbCount);
    case OID_GEN_VENDOR_ID:
    case OID_GEN_VENDOR_DESCRIPTION:
    case OID_GEN_VENDOR_DRIVER_VERSION:
        if (Adapter->Mini->DeviceOid != NULL) {
            return NDIS_STATUS_NOT_SUPPORTED; /* the device knows who it is (RNDIS): ask it */
        }
        if (Request->DATA.QUERY_INFORMATION.Oid == OID_GEN_VENDOR_DESCRIPTION) {
            return Answer(Request, UsbNicVendorDescription, sizeof(UsbNicVendorDescription));
        }
        return AnswerUlong(Request, Request->DATA.QUERY_INFORMATION.Oid == OID_GEN_VENDOR_ID ? 0x00FFFFFF : 0x00010000);
    case OID_GEN_DRIVER_VERSION: {
        const USHORT version = (USHORT)((NDIS_MINIPORT_MAJOR_VERSION << 8) | NDIS_MINIPORT_MINOR_VERSION);
        return Answer(Request, &version, sizeof(version));
    }
    case OID_GEN_CURRENT_PACKET_FILTER:
        return AnswerUlong(Request, Adapter->PacketFilter);
    case OID_GEN_MAC_OPTIONS:
        return AnswerUlong(Request, NDIS_MAC_OPTION_COPY_LOOKAHEAD_DATA | NDIS_MAC_OPTION_TRANSFERS_NOT_PEND |
                                        NDIS_MAC_OPTION_NO_LOOPBACK | NDIS_MAC_OPTION_FULL_DUPLEX);
    case OID_GEN_MEDIA_CONNECT_STATUS:
        return AnswerUlong(Request, Adapter->MediaConnected ? NdisMediaStateConnected : NdisMediaStateDisconnected);
    case OID_GEN_MAXIMUM_SEND_PACKETS:
        return AnswerUlong(Request, Adapter->TxUrbCount * Adapter->MaxFramesPerTransfer);
    case OID_GEN_XMIT_OK:
        return AnswerCounter(Request, c->TxFrames);
    case OID_GEN_RCV_OK:
        return AnswerCounter(Request, c->RxFrames);
    case OID_GEN_XMIT_ERROR:
        return AnswerCounter(Request, c->TxErrors);
    case OID_GEN_RCV_ERROR:
        return AnswerCounter(Request, c->RxErrors + c->RxMalformed);
    case OID_GEN_RCV_NO_BUFFER:
        return AnswerCounter(Request, c->RxNoBuffer);
    case OID_GEN_STATISTICS: {
        NDIS_STATISTICS_INFO s;
        NdisZeroMemory(&s, sizeof(s));
        s.Header.Type = NDIS_OBJECT_TYPE_DEFAULT;
        s.Header.Revision = NDIS_STATISTICS_INFO_REVISION_1;
        s.Header.Size = NDIS_SIZEOF_STATISTICS_INFO_REVISION_1;
        s.SupportedStatistics = NDIS_STATISTICS_FLAGS_VALID_DIRECTED_FRAMES_RCV |
                                NDIS_STATISTICS_FLAGS_VALID_MULTICAST_FRAMES_RCV |
                                NDIS_STATISTICS_FLAGS_VALID_BROADCAST_FRAMES_RCV |
                                NDIS_STATISTICS_FLAGS_VALID_BYTES_RCV | NDIS_STATISTICS_FLAGS_VALID_RCV_DISCARDS |
                                NDIS_STATISTICS_FLAGS_VALID_RCV_ERROR |
                                NDIS_STATISTICS_FLAGS_VALID_DIRECTED_FRAMES_XMIT |
                                NDIS_STATISTICS_FLAGS_VALID_MULTICAST_FRAMES_XMIT |
                                NDIS_STATISTICS_FLAGS_VALID_BROADCAST_FRAMES_XMIT |
                                NDIS_STATISTICS_FLAGS_VALID_BYTES_XMIT | NDIS_STATISTICS_FLAGS_VALID_XMIT_ERROR;
        s.ifInDiscards = c->RxNoBuffer + c->RxMalformed;
        s.ifInErrors = c->RxErrors + c->RxMalformed;
        s.ifHCInOctets = c->RxBytes;
        s.ifHCInUcastPkts = c->RxDirectedFrames;
        s.ifHCInMulticastPkts = c->RxMulticastFrames;
        s.ifHCInBroadcastPkts = c->RxBroadcastFrames;
        s.ifHCOutOctets = c->TxBytes;
        s.ifHCOutUcastPkts = c->TxDirectedFrames;
        s.ifHCOutMulticastPkts = c->TxMulticastFrames;
        s.ifHCOutBroadcastPkts = c->TxBroadcastFrames;
        s.ifOutErrors = c->TxErrors;
        return Answer(Request, &s, sizeof(s));
    }
    case OID_802_3_PERMANENT_ADDRESS:
        return Answer(Request, Adapter->PermanentAddress, 6);
    case OID_802_3_CURRENT_ADDRESS:
        return Answer(Request, Adapter->CurrentAddress, 6);
    case OID_802_3_MULTICAST_LIST:
        return Answer(Request, Adapter->MulticastList, Adapter->MulticastCount * 6);
    case OID_802_3_MAXIMUM_LIST_SIZE:
        return AnswerUlong(Request, Adapter->MaxMulticast);
    case OID_802_3_RCV_ERROR_ALIGNMENT:
    case OID_802_3_XMIT_ONE_COLLISION:
    case OID_802_3_XMIT_MORE_COLLISIONS:
        return AnswerUlong(Request, 0); /* no collisions on USB */
    case OID_PNP_CAPABILITIES: {
        NDIS_PNP_CAPABILITIES pnp;
        NdisZeroMemory(&pnp, sizeof(pnp)); /* no wake-up: every minimum state unspecified */
        return Answer(Request, &pnp, sizeof(pnp));
    }
    case OID_PNP_QUERY_POWER:
        return NDIS_STATUS_SUCCESS; /* nothing prevents a transition */
    default:
        return NDIS_STATUS_NOT_SUPPORTED;
    }
}

/* PASSIVE_LEVEL (work item): requests that talk to the device (sets, and queries the
 * minidriver forwards). */
static NDIS_STATUS SetOnDevice(PUSBNIC_ADAPTER Adapter, PNDIS_OID_REQUEST Request)
{
    const PVOID buffer = Request->DATA.SET_INFORMATION.InformationBuffer;
    const ULONG length = Request->DATA.SET_INFORMATION.InformationBufferLength;
    const USBNIC_MINIDRIVER *mini = Adapter->Mini;
    NDIS_STATUS status;

    if (Request->RequestType != NdisRequestSetInformation) {
        /* A query the framework does not answer: the minidriver asks the device. */
        return mini->DeviceOid != NULL ? mini->DeviceOid(Adapter, Request) : NDIS_STATUS_NOT_SUPPORTED;
    }
    switch (Request->DATA.SET_INFORMATION.Oid) {
    case OID_GEN_CURRENT_PACKET_FILTER: {
        const ULONG filter = *(const ULONG *)buffer;
        status = mini->SetPacketFilter != NULL ? mini->SetPacketFilter(Adapter, filter) : NDIS_STATUS_SUCCESS;
        if (status == NDIS_STATUS_SUCCESS) {
            Adapter->PacketFilter = filter;
            Request->DATA.SET_INFORMATION.BytesRead = sizeof(ULONG);
        }
        return status;
    }
    case OID_802_3_MULTICAST_LIST: {
        const ULONG count = length / 6;
        status = mini->SetMulticastList != NULL ? mini->SetMulticastList(Adapter, (const UCHAR *)buffer, count)
                                                : NDIS_STATUS_SUCCESS;
        if (status == NDIS_STATUS_SUCCESS) {
            NdisMoveMemory(Adapter->MulticastList, buffer, count * 6);
            Adapter->MulticastCount = count;
            Request->DATA.SET_INFORMATION.BytesRead = count * 6;
        }
        return status;
    }
    case OID_PNP_SET_POWER: {
        const NDIS_DEVICE_POWER_STATE state = *(const NDIS_DEVICE_POWER_STATE *)buffer;
        Request->DATA.SET_INFORMATION.BytesRead = sizeof(NDIS_DEVICE_POWER_STATE);
        if (state == NdisDeviceStateD0) {
            /* Back to D0: the device lost its filters; the interrupt pipe restarts. */
            Adapter->PowerState = state;
            UsbNicStartInterrupt(Adapter);
            if (mini->SetPacketFilter != NULL) {
                (void)mini->SetPacketFilter(Adapter, Adapter->PacketFilter);
            }
            if (mini->SetMulticastList != NULL && Adapter->MulticastCount != 0) {
                (void)mini->SetMulticastList(Adapter, Adapter->MulticastList, Adapter->MulticastCount);
            }
        } else {
            /* NDIS paused the adapter before a low-power state: stop the last transfer. */
            UsbNicStopInterrupt(Adapter);
            Adapter->PowerState = state;
        }
        return NDIS_STATUS_SUCCESS;
    }
    default:
        return mini->DeviceOid != NULL ? mini->DeviceOid(Adapter, Request) : NDIS_STATUS_NOT_SUPPORTED;
    }
}

static VOID NTAPI UsbNicOidWorker(PVOID WorkItemContext, NDIS_HANDLE WorkItem)
{
    PUSBNIC_ADAPTER adapter = (PUSBNIC_ADAPTER)WorkItemContext;
    PNDIS_OID_REQUEST request;
    NDIS_STATUS status;
    UNREFERENCED_PARAMETER(WorkItem);

    NdisAcquireSpinLock(&adapter->Lock);
    request = adapter->PendingOid;
    NdisReleaseSpinLock(&adapter->Lock);
    if (request == NULL) {
        return;
    }
    status = adapter->SurpriseRemoved ? NDIS_STATUS_ADAPTER_REMOVED : SetOnDevice(adapter, request);
    NdisAcquireSpinLock(&adapter->Lock);
    adapter->PendingOid = NULL;
    NdisReleaseSpinLock(&adapter->Lock);
    NdisMOidRequestComplete(adapter->MiniportHandle, request, status);
}

/* <= DISPATCH_LEVEL: validates, then defers the device work to PASSIVE_LEVEL. */
static NDIS_STATUS Defer(PUSBNIC_ADAPTER Adapter, PNDIS_OID_REQUEST Request)
{
    NdisAcquireSpinLock(&Adapter->Lock);
    if (Adapter->PendingOid != NULL) {
        NdisReleaseSpinLock(&Adapter->Lock);
        return NDIS_STATUS_RESOURCES; /* NDIS serializes OIDs: a second one is a caller bug */
    }
    Adapter->PendingOid = Request;
    NdisReleaseSpinLock(&Adapter->Lock);
    NdisQueueIoWorkItem(Adapter->OidWorkItem, UsbNicOidWorker, Adapter);
    return NDIS_STATUS_PENDING;
}

static NDIS_STATUS Set(PUSBNIC_ADAPTER Adapter, PNDIS_OID_REQUEST Request)
{
    const PVOID buffer = Request->DATA.SET_INFORMATION.InformationBuffer;
    const ULONG length = Request->DATA.SET_INFORMATION.InformationBufferLength;

    switch (Request->DATA.SET_INFORMATION.Oid) {
    case OID_GEN_CURRENT_PACKET_FILTER:
        if (length < sizeof(ULONG)) {
            Request->DATA.SET_INFORMATION.BytesNeeded = sizeof(ULONG);
            return NDIS_STATUS_INVALID_LENGTH;
        }
        if ((*(const ULONG *)buffer & ~(ULONG)USBNIC_SUPPORTED_FILTERS) != 0) {
            return NDIS_STATUS_NOT_SUPPORTED;
        }
        return Defer(Adapter, Request);
    case OID_802_3_MULTICAST_LIST:
        if (length % 6 != 0) {
            return NDIS_STATUS_INVALID_LENGTH;
        }
        if (length / 6 > Adapter->MaxMulticast) {
            return NDIS_STATUS_MULTICAST_FULL;
        }
        return Defer(Adapter, Request);
    case OID_GEN_CURRENT_LOOKAHEAD:
        if (length < sizeof(ULONG)) {
            Request->DATA.SET_INFORMATION.BytesNeeded = sizeof(ULONG);
            return NDIS_STATUS_INVALID_LENGTH;
        }
        /* Whole frames are always indicated: any lookahead is satisfied. */
        Request->DATA.SET_INFORMATION.BytesRead = sizeof(ULONG);
        return NDIS_STATUS_SUCCESS;
    case OID_PNP_SET_POWER:
        if (length < sizeof(NDIS_DEVICE_POWER_STATE)) {
            Request->DATA.SET_INFORMATION.BytesNeeded = sizeof(NDIS_DEVICE_POWER_STATE);
            return NDIS_STATUS_INVALID_LENGTH;
        }
        return Defer(Adapter, Request);
    default:
        if (Adapter->Mini->DeviceOid != NULL) {
            return Defer(Adapter, Request);
        }
        return NDIS_STATUS_NOT_SUPPORTED;
    }
}

NDIS_STATUS NTAPI UsbNicOidRequest(NDIS_HANDLE MiniportAdapterContext, PNDIS_OID_REQUEST OidRequest)
{
    PUSBNIC_ADAPTER adapter = (PUSBNIC_ADAPTER)MiniportAdapterContext;
    NDIS_STATUS status;

    if (adapter->SurpriseRemoved) {
        return NDIS_STATUS_ADAPTER_REMOVED;
    }
    if (OidRequest->Header.Type != NDIS_OBJECT_TYPE_OID_REQUEST ||
        OidRequest->Header.Size < NDIS_SIZEOF_OID_REQUEST_REVISION_1) {
        return NDIS_STATUS_INVALID_PARAMETER;
    }
    switch (OidRequest->RequestType) {
    case NdisRequestQueryInformation:
    case NdisRequestQueryStatistics:
        NdisAcquireSpinLock(&adapter->Lock);
        status = Query(adapter, OidRequest);
        NdisReleaseSpinLock(&adapter->Lock);
        if (status == NDIS_STATUS_NOT_SUPPORTED && adapter->Mini->DeviceOid != NULL) {
            status = Defer(adapter, OidRequest);
        }
        return status;
    case NdisRequestSetInformation:
        return Set(adapter, OidRequest);
    default:
        return NDIS_STATUS_NOT_SUPPORTED;
    }
}

VOID NTAPI UsbNicCancelOidRequest(NDIS_HANDLE MiniportAdapterContext, PVOID RequestId)
{
    /* A deferred request is already talking to the device, bounded by the control
     * time-out; it completes on its own. */
    UNREFERENCED_PARAMETER(MiniportAdapterContext);
    UNREFERENCED_PARAMETER(RequestId);
}
