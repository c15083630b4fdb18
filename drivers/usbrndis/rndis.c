/*
 * rndis.c -- the Remote NDIS minidriver for usbnic: the control channel
 * (SEND_ENCAPSULATED_COMMAND / GET_ENCAPSULATED_RESPONSE on the default pipe, woken by
 * RESPONSE_AVAILABLE on the interrupt endpoint), REMOTE_NDIS_INITIALIZE at bind time,
 * OIDs the framework does not answer forwarded as REMOTE_NDIS_QUERY_MSG / SET_MSG, the
 * packet filter and multicast list as sets, reset as REMOTE_NDIS_RESET_MSG, media
 * indications from REMOTE_NDIS_INDICATE_STATUS_MSG (passed up by one status worker, with
 * the link speed queried from the device on a connect), and PACKET_MSG framing with
 * several packets per transfer in both directions.
 */
#include "usbnic.h"
#include "usbnic_wire.h"
#include "rndis_msg.h"

#define RNDIS_CONTROL_BUFFER 4096    /* largest control message either way */
#define RNDIS_RX_TRANSFER 16384      /* what we tell the device it may send us */
#define RNDIS_TX_PACKETS 64
#define RNDIS_MAX_FRAME 9216
#define RNDIS_RESPONSE_POLLS 100     /* x 1 ms per command, after RESPONSE_AVAILABLE */
#define RNDIS_SEND_ENCAPSULATED_COMMAND 0x00
#define RNDIS_GET_ENCAPSULATED_RESPONSE 0x01

/* RNDIS_CONTEXT.MediaEvent. */
#define RNDIS_MEDIA_NONE 0
#define RNDIS_MEDIA_CONNECT 1
#define RNDIS_MEDIA_DISCONNECT 2

typedef struct _RNDIS_CONTEXT {
    KEVENT ControlMutex;             /* one command/response exchange at a time */
    PUCHAR Command;
    PUCHAR Reply;
    ULONG NextRequestId;
    ULONG DeviceMaxTransfer;
    ULONG MaxPackets;
    ULONG Alignment;
    RNDIS_PACKET_LIMITS Limits;
    NDIS_HANDLE StatusWorkItem;
    LONG StatusWorkQueued;
    LONG MediaEvent;                 /* RNDIS_MEDIA_*: the latest media indication not yet passed up */
    LONG ResponsePending;            /* RESPONSE_AVAILABLE seen since the worker last read */
    LONG RxRejected[RndisPacketErrorCount];
    LONG ControlRejected;
} RNDIS_CONTEXT, *PRNDIS_CONTEXT;

typedef struct _RNDIS_TX_SCRATCH {
    RNDIS_PACKET_WRITER Writer;
} RNDIS_TX_SCRATCH, *PRNDIS_TX_SCRATCH;

C_ASSERT(sizeof(RNDIS_FRAME) == sizeof(USBNIC_FRAME));
C_ASSERT(FIELD_OFFSET(RNDIS_FRAME, Length) == FIELD_OFFSET(USBNIC_FRAME, Length));

static NDIS_IO_WORKITEM_FUNCTION RndisStatusWorker;

static PRNDIS_CONTEXT Context(PUSBNIC_ADAPTER Adapter)
{
    return (PRNDIS_CONTEXT)Adapter->MiniContext;
}

/* ---- the control channel (PASSIVE_LEVEL) -------------------------------------------------- */

static VOID AcquireControl(PRNDIS_CONTEXT Rndis)
{
    KeWaitForSingleObject(&Rndis->ControlMutex, Executive, KernelMode, FALSE, NULL);
}

static VOID ReleaseControl(PRNDIS_CONTEXT Rndis)
{
    KeSetEvent(&Rndis->ControlMutex, IO_NO_INCREMENT, FALSE);
}

/* Queues the status worker unless it is queued or running. */
static VOID QueueStatusWorker(PUSBNIC_ADAPTER Adapter)
{
    PRNDIS_CONTEXT rndis = Context(Adapter);
    if (rndis->StatusWorkItem != NULL && InterlockedExchange(&rndis->StatusWorkQueued, 1) == 0) {
        NdisQueueIoWorkItem(rndis->StatusWorkItem, RndisStatusWorker, Adapter);
    }
}

/* Handles an unsolicited message (status indication, device keepalive); TRUE if it was one.
 * Media indications only record the latest state: the status worker, the one place link
 * states are indicated, passes it up (with the link speed queried from the device on a
 * connect), so a disconnect can never overtake the connect before it. */
static BOOLEAN HandleUnsolicited(PUSBNIC_ADAPTER Adapter, const RNDIS_RESPONSE *Response)
{
    PRNDIS_CONTEXT rndis = Context(Adapter);
    if (Response->MessageType == REMOTE_NDIS_INDICATE_STATUS_MSG) {
        if (Response->Status == RNDIS_STATUS_MEDIA_CONNECT || Response->Status == RNDIS_STATUS_MEDIA_DISCONNECT) {
            InterlockedExchange(&rndis->MediaEvent, Response->Status == RNDIS_STATUS_MEDIA_CONNECT
                                                        ? RNDIS_MEDIA_CONNECT
                                                        : RNDIS_MEDIA_DISCONNECT);
            QueueStatusWorker(Adapter);
        }
        return TRUE;
    }
    if (Response->MessageType == REMOTE_NDIS_KEEPALIVE_MSG) {
        UCHAR reply[RNDIS_KEEPALIVE_CMPLT_LENGTH];
        const ULONG n = RndisBuildKeepaliveComplete(reply, sizeof(reply), Response->RequestId, RNDIS_STATUS_SUCCESS);
        (void)UsbNicClassRequest(Adapter, FALSE, RNDIS_SEND_ENCAPSULATED_COMMAND, 0, Adapter->Cdc.ControlInterface,
                                 reply, n, NULL);
        return TRUE;
    }
    UNREFERENCED_PARAMETER(rndis);
    return FALSE;
}

/* Control lock held. Reads one response; FALSE when none was there or it was malformed. */
static BOOLEAN ReadResponse(PUSBNIC_ADAPTER Adapter, PRNDIS_RESPONSE Response)
{
    PRNDIS_CONTEXT rndis = Context(Adapter);
    ULONG got = 0;
    const NTSTATUS status = UsbNicClassRequest(Adapter, TRUE, RNDIS_GET_ENCAPSULATED_RESPONSE, 0,
                                               Adapter->Cdc.ControlInterface, rndis->Reply, RNDIS_CONTROL_BUFFER,
                                               &got);
    if (!NT_SUCCESS(status) || got == 0) {
        return FALSE;
    }
    if (got == 1 && rndis->Reply[0] == 0) {
        return FALSE; /* the one-byte "no response pending" answer */
    }
    if (RndisParseResponse(rndis->Reply, got, Response) != RndisControlOk) {
        InterlockedIncrement(&rndis->ControlRejected);
        return FALSE;
    }
    return TRUE;
}

/* Control lock held. Sends the command in rndis->Command and waits for the completion of
 * type ExpectedType (and RequestId, unless it is RESET_CMPLT, which carries none). */
static NDIS_STATUS Exchange(PUSBNIC_ADAPTER Adapter, ULONG Length, ULONG ExpectedType, ULONG RequestId,
                            PRNDIS_RESPONSE Response)
{
    PRNDIS_CONTEXT rndis = Context(Adapter);
    ULONG poll;
    NDIS_STATUS result = NDIS_STATUS_DEVICE_FAILED;

    if (!NT_SUCCESS(UsbNicClassRequest(Adapter, FALSE, RNDIS_SEND_ENCAPSULATED_COMMAND, 0,
                                       Adapter->Cdc.ControlInterface, rndis->Command, Length, NULL))) {
        return Adapter->SurpriseRemoved ? NDIS_STATUS_ADAPTER_REMOVED : NDIS_STATUS_DEVICE_FAILED;
    }
    for (poll = 0; poll < RNDIS_RESPONSE_POLLS; poll++) {
        if (!ReadResponse(Adapter, Response)) {
            if (Adapter->SurpriseRemoved) {
                result = NDIS_STATUS_ADAPTER_REMOVED;
                break;
            }
            NdisMSleep(1000);
            continue;
        }
        if (HandleUnsolicited(Adapter, Response)) {
            continue;
        }
        if (Response->MessageType == ExpectedType &&
            (ExpectedType == REMOTE_NDIS_RESET_CMPLT || Response->RequestId == RequestId)) {
            result = NDIS_STATUS_SUCCESS;
            break;
        }
        /* A stale completion of an earlier, timed-out command: skip it. */
    }
    return result;
}

/* Query or set an OID on the device. For a query, the information is copied to Buffer
 * (BufferLength bytes of room, *Written set); for a set, Buffer holds it. */
static NDIS_STATUS DeviceRequest(PUSBNIC_ADAPTER Adapter, BOOLEAN Set, NDIS_OID Oid, PVOID Buffer, ULONG BufferLength,
                                 PULONG Written, PULONG Needed)
{
    PRNDIS_CONTEXT rndis = Context(Adapter);
    RNDIS_RESPONSE response;
    NDIS_STATUS status;
    ULONG length, id;

    if (Written != NULL) {
        *Written = 0;
    }
    AcquireControl(rndis);
    id = ++rndis->NextRequestId;
    length = Set ? RndisBuildSet(rndis->Command, RNDIS_CONTROL_BUFFER, id, Oid, Buffer, BufferLength)
                 : RndisBuildQuery(rndis->Command, RNDIS_CONTROL_BUFFER, id, Oid, NULL, 0);
    if (length == 0) {
        ReleaseControl(rndis);
        return NDIS_STATUS_INVALID_LENGTH;
    }
    status = Exchange(Adapter, length, Set ? REMOTE_NDIS_SET_CMPLT : REMOTE_NDIS_QUERY_CMPLT, id, &response);
    if (status == NDIS_STATUS_SUCCESS) {
        status = (NDIS_STATUS)response.Status; /* RNDIS status values are NDIS's */
        if (status == NDIS_STATUS_SUCCESS && !Set) {
            if (response.BufferLength > BufferLength) {
                if (Needed != NULL) {
                    *Needed = response.BufferLength;
                }
                status = NDIS_STATUS_BUFFER_TOO_SHORT;
            } else {
                NdisMoveMemory(Buffer, rndis->Reply + response.BufferOffset, response.BufferLength);
                if (Written != NULL) {
                    *Written = response.BufferLength;
                }
            }
        }
    }
    ReleaseControl(rndis);
    return status;
}

static NDIS_STATUS QueryUlong(PUSBNIC_ADAPTER Adapter, NDIS_OID Oid, PULONG Value)
{
    ULONG written = 0;
    UCHAR buffer[4];
    NDIS_STATUS status = DeviceRequest(Adapter, FALSE, Oid, buffer, sizeof(buffer), &written, NULL);
    if (status == NDIS_STATUS_SUCCESS && written != 4) {
        status = NDIS_STATUS_INVALID_DATA;
    }
    if (status == NDIS_STATUS_SUCCESS) {
        *Value = UsbNicReadLe32(buffer, 0);
    }
    return status;
}

/* A RESPONSE_AVAILABLE or a media indication the status worker has not handled yet. */
static BOOLEAN MoreStatusWork(PRNDIS_CONTEXT Rndis)
{
    return InterlockedCompareExchange(&Rndis->MediaEvent, RNDIS_MEDIA_NONE, RNDIS_MEDIA_NONE) != RNDIS_MEDIA_NONE ||
           InterlockedCompareExchange(&Rndis->ResponsePending, 0, 0) != 0;
}

/* PASSIVE_LEVEL work item: RESPONSE_AVAILABLE arrived (or a command read a media
 * indication). Reads what the device has queued and passes the link state up. */
static VOID NTAPI RndisStatusWorker(PVOID WorkItemContext, NDIS_HANDLE WorkItem)
{
    PUSBNIC_ADAPTER adapter = (PUSBNIC_ADAPTER)WorkItemContext;
    PRNDIS_CONTEXT rndis = Context(adapter);
    RNDIS_RESPONSE response;
    UNREFERENCED_PARAMETER(WorkItem);

    for (;;) {
        LONG media;
        InterlockedExchange(&rndis->ResponsePending, 0);
        AcquireControl(rndis);
        while (!adapter->SurpriseRemoved && ReadResponse(adapter, &response)) {
            (void)HandleUnsolicited(adapter, &response);
        }
        ReleaseControl(rndis);
        media = InterlockedExchange(&rndis->MediaEvent, RNDIS_MEDIA_NONE);
        if (media == RNDIS_MEDIA_CONNECT && !adapter->SurpriseRemoved) {
            /* The device reports no speed with MEDIA_CONNECT: ask (a disconnect that arrives
             * meanwhile is the next round's). */
            ULONG speed = 0;
            ULONG64 bps = 0;
            if (QueryUlong(adapter, OID_GEN_LINK_SPEED, &speed) == NDIS_STATUS_SUCCESS && speed != 0) {
                bps = (ULONG64)speed * 100; /* 100 bps units */
            }
            UsbNicIndicateLinkState(adapter, TRUE, bps);
        } else if (media == RNDIS_MEDIA_DISCONNECT && !adapter->SurpriseRemoved) {
            UsbNicIndicateLinkState(adapter, FALSE, 0);
        }
        if (MoreStatusWork(rndis)) {
            continue; /* arrived during this round, when the worker was still queued: go again */
        }
        InterlockedExchange(&rndis->StatusWorkQueued, 0);
        /* Work recorded between the check and the reset found the worker still queued. */
        if (!MoreStatusWork(rndis) || InterlockedExchange(&rndis->StatusWorkQueued, 1) != 0) {
            break;
        }
    }
}

/* ---- minidriver callbacks ------------------------------------------------------------------ */

/* PASSIVE_LEVEL. */
static NDIS_STATUS RndisBind(PUSBNIC_ADAPTER Adapter)
{
    PRNDIS_CONTEXT rndis = Context(Adapter);
    RNDIS_RESPONSE response;
    NDIS_STATUS status;
    ULONG length, value = 0, written = 0;

    if (Adapter->Cdc.Kind != CdcFunctionRndis) {
        return NDIS_STATUS_NOT_SUPPORTED;
    }
    KeInitializeEvent(&rndis->ControlMutex, SynchronizationEvent, TRUE);
    rndis->Command = (PUCHAR)NdisAllocateMemoryWithTagPriority(Adapter->MiniportHandle, RNDIS_CONTROL_BUFFER,
                                                               USBNIC_POOL_TAG, NormalPoolPriority);
    rndis->Reply = (PUCHAR)NdisAllocateMemoryWithTagPriority(Adapter->MiniportHandle, RNDIS_CONTROL_BUFFER,
                                                             USBNIC_POOL_TAG, NormalPoolPriority);
    rndis->StatusWorkItem = NdisAllocateIoWorkItem(Adapter->MiniportHandle);
    if (rndis->Command == NULL || rndis->Reply == NULL || rndis->StatusWorkItem == NULL) {
        return NDIS_STATUS_RESOURCES;
    }

    /* REMOTE_NDIS_INITIALIZE_MSG: our receive size; the device's limits and alignment. */
    AcquireControl(rndis);
    rndis->NextRequestId = 1;
    length = RndisBuildInitialize(rndis->Command, RNDIS_CONTROL_BUFFER, rndis->NextRequestId, RNDIS_RX_TRANSFER);
    status = Exchange(Adapter, length, REMOTE_NDIS_INITIALIZE_CMPLT, rndis->NextRequestId, &response);
    ReleaseControl(rndis);
    if (status != NDIS_STATUS_SUCCESS || response.Status != RNDIS_STATUS_SUCCESS ||
        response.Medium != RNDIS_MEDIUM_802_3 || response.MaxTransferSize < RNDIS_PACKET_HEADER_LENGTH + 60 ||
        response.PacketAlignmentFactor > 7) {
        return NDIS_STATUS_DEVICE_FAILED;
    }
    rndis->DeviceMaxTransfer = response.MaxTransferSize;
    rndis->MaxPackets = response.MaxPacketsPerTransfer == 0 ? 1 : response.MaxPacketsPerTransfer;
    if (rndis->MaxPackets > RNDIS_TX_PACKETS) {
        rndis->MaxPackets = RNDIS_TX_PACKETS;
    }
    rndis->Alignment = 1UL << response.PacketAlignmentFactor;

    status = DeviceRequest(Adapter, FALSE, OID_802_3_PERMANENT_ADDRESS, Adapter->PermanentAddress, 6, &written, NULL);
    if (status != NDIS_STATUS_SUCCESS || written != 6) {
        return NDIS_STATUS_DEVICE_FAILED;
    }
    Adapter->MaxFrameSize = 1514;
    if (QueryUlong(Adapter, OID_GEN_MAXIMUM_FRAME_SIZE, &value) == NDIS_STATUS_SUCCESS && value >= 46 &&
        value + USBNIC_ETH_HEADER <= RNDIS_MAX_FRAME) {
        Adapter->MaxFrameSize = value + USBNIC_ETH_HEADER;
    }
    if (Adapter->JumboPacketLimit != 0 && Adapter->MaxFrameSize > Adapter->JumboPacketLimit) {
        Adapter->MaxFrameSize = Adapter->JumboPacketLimit; /* keyword *JumboPacket */
    }
    Adapter->LinkSpeed = 100000000ULL;
    if (QueryUlong(Adapter, OID_GEN_LINK_SPEED, &value) == NDIS_STATUS_SUCCESS && value != 0) {
        Adapter->LinkSpeed = (ULONG64)value * 100; /* 100 bps units */
    }
    Adapter->MediaConnected = TRUE;
    if (QueryUlong(Adapter, OID_GEN_MEDIA_CONNECT_STATUS, &value) == NDIS_STATUS_SUCCESS) {
        Adapter->MediaConnected = value == NdisMediaStateConnected;
    }
    Adapter->MaxMulticast = USBNIC_MAX_MULTICAST;
    if (QueryUlong(Adapter, OID_802_3_MAXIMUM_LIST_SIZE, &value) == NDIS_STATUS_SUCCESS && value < USBNIC_MAX_MULTICAST) {
        Adapter->MaxMulticast = value;
    }

    rndis->Limits.MaxTransferSize = RNDIS_RX_TRANSFER;
    rndis->Limits.MaxFrameSize = Adapter->MaxFrameSize;
    Adapter->RxTransferSize = RNDIS_RX_TRANSFER;
    Adapter->TxTransferSize = rndis->DeviceMaxTransfer < RNDIS_RX_TRANSFER ? rndis->DeviceMaxTransfer : RNDIS_RX_TRANSFER;
    Adapter->TxDeviceCapacity = rndis->DeviceMaxTransfer;
    Adapter->MaxFramesPerTransfer = rndis->MaxPackets;
    Adapter->MaxRxFramesPerTransfer = RNDIS_RX_TRANSFER / (RNDIS_PACKET_HEADER_LENGTH + RNDIS_MIN_FRAME) + 1;
    if (Adapter->TxTransferSize < RNDIS_PACKET_HEADER_LENGTH + Adapter->MaxFrameSize) {
        return NDIS_STATUS_DEVICE_FAILED; /* a full frame must fit in one transfer */
    }
    return NDIS_STATUS_SUCCESS;
}

/* PASSIVE_LEVEL. */
static VOID RndisUnbind(PUSBNIC_ADAPTER Adapter)
{
    PRNDIS_CONTEXT rndis = Context(Adapter);
    if (rndis->Command != NULL && !Adapter->SurpriseRemoved) {
        ULONG length;
        AcquireControl(rndis);
        length = RndisBuildHalt(rndis->Command, RNDIS_CONTROL_BUFFER, ++rndis->NextRequestId);
        (void)UsbNicClassRequest(Adapter, FALSE, RNDIS_SEND_ENCAPSULATED_COMMAND, 0, Adapter->Cdc.ControlInterface,
                                 rndis->Command, length, NULL); /* HALT has no completion */
        ReleaseControl(rndis);
    }
    while (InterlockedCompareExchange(&rndis->StatusWorkQueued, 0, 0) != 0) {
        NdisMSleep(1000);
    }
    if (rndis->StatusWorkItem != NULL) {
        NdisFreeIoWorkItem(rndis->StatusWorkItem);
        rndis->StatusWorkItem = NULL;
    }
    if (rndis->Command != NULL) {
        NdisFreeMemoryWithTagPriority(Adapter->MiniportHandle, rndis->Command, USBNIC_POOL_TAG);
        rndis->Command = NULL;
    }
    if (rndis->Reply != NULL) {
        NdisFreeMemoryWithTagPriority(Adapter->MiniportHandle, rndis->Reply, USBNIC_POOL_TAG);
        rndis->Reply = NULL;
    }
}

/* DISPATCH_LEVEL. */
static ULONG RndisRxParse(PUSBNIC_ADAPTER Adapter, const UCHAR *Transfer, ULONG Length, PUSBNIC_FRAME Frames,
                          ULONG Capacity)
{
    PRNDIS_CONTEXT rndis = Context(Adapter);
    RNDIS_PACKET_INFO info;
    const RNDIS_PACKET_ERROR error =
        RndisParsePacketTransfer(Transfer, Length, &rndis->Limits, (PRNDIS_FRAME)Frames, Capacity, &info);
    if (error != RndisPacketOk) {
        InterlockedIncrement(&rndis->RxRejected[error]);
        return 0;
    }
    return info.FrameCount;
}

/* DISPATCH_LEVEL, serialized by usbnic. */
static VOID RndisTxBegin(PUSBNIC_ADAPTER Adapter, PUSBNIC_TX_CONTEXT Tx)
{
    PRNDIS_CONTEXT rndis = Context(Adapter);
    RndisPacketWriterBegin(&((PRNDIS_TX_SCRATCH)Tx->Scratch)->Writer, Tx->Buffer, Tx->BufferSize,
                           Adapter->TxTransferSize, rndis->MaxPackets, rndis->Alignment);
}

static ULONG RndisTxReserve(PUSBNIC_ADAPTER Adapter, PUSBNIC_TX_CONTEXT Tx, ULONG FrameLength)
{
    const ULONG offset = RndisPacketWriterReserve(&((PRNDIS_TX_SCRATCH)Tx->Scratch)->Writer, FrameLength);
    UNREFERENCED_PARAMETER(Adapter);
    return offset == 0 ? USBNIC_NO_ROOM : offset;
}

static VOID RndisTxCommit(PUSBNIC_ADAPTER Adapter, PUSBNIC_TX_CONTEXT Tx, ULONG Offset, ULONG FrameLength)
{
    UNREFERENCED_PARAMETER(Adapter);
    RndisPacketWriterCommit(&((PRNDIS_TX_SCRATCH)Tx->Scratch)->Writer, Offset, FrameLength);
}

static ULONG RndisTxFinish(PUSBNIC_ADAPTER Adapter, PUSBNIC_TX_CONTEXT Tx)
{
    UNREFERENCED_PARAMETER(Adapter);
    return RndisPacketWriterFinish(&((PRNDIS_TX_SCRATCH)Tx->Scratch)->Writer);
}

/* DISPATCH_LEVEL. RESPONSE_AVAILABLE (01h, 0) is the only notification. */
static VOID RndisNotification(PUSBNIC_ADAPTER Adapter, const UCHAR *Data, ULONG Length)
{
    if (Length < 4 || UsbNicReadLe32(Data, 0) != 0x00000001) {
        return;
    }
    /* Fetch it at PASSIVE_LEVEL. A command in progress reads its own completion; the worker
     * waits for the control channel and then reads what the command left (an indication
     * that arrived after the completion is announced while the command still runs). */
    InterlockedExchange(&Context(Adapter)->ResponsePending, 1);
    QueueStatusWorker(Adapter);
}

/* PASSIVE_LEVEL. */
static NDIS_STATUS RndisSetPacketFilter(PUSBNIC_ADAPTER Adapter, ULONG PacketFilter)
{
    UCHAR value[4];
    UsbNicWriteLe32(value, 0, PacketFilter);
    return DeviceRequest(Adapter, TRUE, OID_GEN_CURRENT_PACKET_FILTER, value, sizeof(value), NULL, NULL);
}

static NDIS_STATUS RndisSetMulticastList(PUSBNIC_ADAPTER Adapter, const UCHAR *List, ULONG Count)
{
    return DeviceRequest(Adapter, TRUE, OID_802_3_MULTICAST_LIST, (PVOID)List, Count * 6, NULL, NULL);
}

/* PASSIVE_LEVEL: REMOTE_NDIS_RESET_MSG, then the filter again (the device forgets it). */
static NDIS_STATUS RndisReset(PUSBNIC_ADAPTER Adapter)
{
    PRNDIS_CONTEXT rndis = Context(Adapter);
    RNDIS_RESPONSE response;
    NDIS_STATUS status;
    ULONG length;

    AcquireControl(rndis);
    length = RndisBuildReset(rndis->Command, RNDIS_CONTROL_BUFFER);
    status = Exchange(Adapter, length, REMOTE_NDIS_RESET_CMPLT, 0, &response);
    ReleaseControl(rndis);
    if (status != NDIS_STATUS_SUCCESS) {
        return status;
    }
    if (response.Status != RNDIS_STATUS_SUCCESS) {
        return NDIS_STATUS_HARD_ERRORS;
    }
    status = RndisSetPacketFilter(Adapter, Adapter->PacketFilter);
    if (status == NDIS_STATUS_SUCCESS && Adapter->MulticastCount != 0) {
        status = RndisSetMulticastList(Adapter, Adapter->MulticastList, Adapter->MulticastCount);
    }
    return status;
}

/* PASSIVE_LEVEL. Anything usbnic does not answer goes to the device. */
static NDIS_STATUS RndisDeviceOid(PUSBNIC_ADAPTER Adapter, PNDIS_OID_REQUEST Request)
{
    ULONG written = 0, needed = 0;
    NDIS_STATUS status;
    if (Request->RequestType == NdisRequestSetInformation) {
        status = DeviceRequest(Adapter, TRUE, Request->DATA.SET_INFORMATION.Oid,
                               Request->DATA.SET_INFORMATION.InformationBuffer,
                               Request->DATA.SET_INFORMATION.InformationBufferLength, NULL, NULL);
        if (status == NDIS_STATUS_SUCCESS) {
            Request->DATA.SET_INFORMATION.BytesRead = Request->DATA.SET_INFORMATION.InformationBufferLength;
        }
        return status;
    }
    status = DeviceRequest(Adapter, FALSE, Request->DATA.QUERY_INFORMATION.Oid,
                           Request->DATA.QUERY_INFORMATION.InformationBuffer,
                           Request->DATA.QUERY_INFORMATION.InformationBufferLength, &written, &needed);
    Request->DATA.QUERY_INFORMATION.BytesWritten = written;
    Request->DATA.QUERY_INFORMATION.BytesNeeded = needed;
    return status;
}

const USBNIC_MINIDRIVER UsbRndisMinidriver = {
    "usbrndis",
    sizeof(RNDIS_CONTEXT),
    sizeof(RNDIS_TX_SCRATCH),
    RndisBind,
    RndisUnbind,
    RndisRxParse,
    RndisTxBegin,
    RndisTxReserve,
    RndisTxCommit,
    RndisTxFinish,
    RndisNotification,
    RndisSetPacketFilter,
    RndisSetMulticastList,
    RndisReset,
    RndisDeviceOid,
};
