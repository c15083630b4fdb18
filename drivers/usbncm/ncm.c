/*
 * ncm.c -- the CDC-NCM and CDC-ECM minidriver for usbnic: NTB parameters negotiated at bind
 * time (GET_NTB_PARAMETERS, SET_NTB_FORMAT, SET_NTB_INPUT_SIZE), receive NTBs unpacked
 * into frames, sends aggregated into NTBs (NCM) or sent one frame per transfer (ECM), the
 * Ethernet packet filter and multicast filters as class requests, and NETWORK_CONNECTION /
 * CONNECTION_SPEED_CHANGE notifications turned into link-state indications.
 */
#include "usbnic.h"
#include "usbnic_wire.h"
#include "ncm_ntb.h"

/* ECM 1.2 table 6: class requests; table 8: packet filter bits. */
#define ECM_SET_ETHERNET_MULTICAST_FILTERS 0x40
#define ECM_SET_ETHERNET_PACKET_FILTER 0x43
#define ECM_FILTER_PROMISCUOUS 0x0001
#define ECM_FILTER_ALL_MULTICAST 0x0002
#define ECM_FILTER_DIRECTED 0x0004
#define ECM_FILTER_BROADCAST 0x0008
#define ECM_FILTER_MULTICAST 0x0010

#define NCM_TX_DATAGRAMS 64          /* largest NTB we build, in datagrams */
#define NCM_DEFAULT_NTB_SIZE 16384   /* what we ask for and build at most */
#define NCM_MAX_FRAME 9216

typedef struct _NCM_CONTEXT {
    BOOLEAN Ncm;                     /* FALSE: ECM */
    NCM_NTB_PARAMETERS Parameters;
    NCM_NTB_BUILD_PARAMETERS Build;
    NCM_NTB_LIMITS Limits;
    USHORT Sequence;
    BOOLEAN AllMulticastFallback;    /* more groups than the device filters */
    LONG RxRejected[NcmNtbErrorCount];
} NCM_CONTEXT, *PNCM_CONTEXT;

/* Per bulk-OUT transfer: the NTB writer and its datagram table (NCM), or the frame length
 * (ECM). */
typedef struct _NCM_TX_SCRATCH {
    NCM_NTB_WRITER Writer;
    NCM_DATAGRAM Table[NCM_TX_DATAGRAMS];
    ULONG EcmLength;
} NCM_TX_SCRATCH, *PNCM_TX_SCRATCH;

/* The parser's datagram list is read as the framework's frame list. */
C_ASSERT(sizeof(NCM_DATAGRAM) == sizeof(USBNIC_FRAME));
C_ASSERT(FIELD_OFFSET(NCM_DATAGRAM, Length) == FIELD_OFFSET(USBNIC_FRAME, Length));

static PNCM_CONTEXT Context(PUSBNIC_ADAPTER Adapter)
{
    return (PNCM_CONTEXT)Adapter->MiniContext;
}

/* PASSIVE_LEVEL. The iMACAddress string (ECM 1.2 table 3). */
static NDIS_STATUS ReadMacAddress(PUSBNIC_ADAPTER Adapter)
{
    UCHAR string[64];
    ULONG got = 0;
    NTSTATUS status;
    if (Adapter->Cdc.MacAddressStringIndex == 0) {
        return NDIS_STATUS_DEVICE_FAILED;
    }
    status = UsbNicGetDescriptor(Adapter, USB_STRING_DESCRIPTOR_TYPE, Adapter->Cdc.MacAddressStringIndex, string,
                                 sizeof(string), &got);
    if (!NT_SUCCESS(status) || !CdcParseMacAddressString(string, got, Adapter->PermanentAddress)) {
        return NDIS_STATUS_DEVICE_FAILED;
    }
    return NDIS_STATUS_SUCCESS;
}

/* Bytes of a block that are not the one datagram's: NTH32, NDP32 header with two entries
 * (the datagram's and the terminator), NDP alignment and datagram alignment padding. */
static ULONG NcmBlockReserve(const NCM_NTB_PARAMETERS *Parameters)
{
    const USHORT divisor = Parameters->NdpInDivisor > Parameters->NdpOutDivisor ? Parameters->NdpInDivisor
                                                                               : Parameters->NdpOutDivisor;
    const USHORT ndpPad = Parameters->NdpInAlignment > Parameters->NdpOutAlignment ? Parameters->NdpInAlignment
                                                                                   : Parameters->NdpOutAlignment;
    return NCM_NTH32_LENGTH + NCM_NDP32_HEADER_LENGTH + 2 * 16 + divisor + ndpPad;
}

/* PASSIVE_LEVEL. Keyword NtbFormat: 32 asks for NTB32 when the function offers it
 * (default 16: every function has NTB16 and our blocks stay below 64 KiB). */
static BOOLEAN WantNtb32(PUSBNIC_ADAPTER Adapter)
{
    return UsbNicReadIntegerKeyword(Adapter, L"NtbFormat", 16, 32, 16) == 32;
}

/* PASSIVE_LEVEL. NCM 1.0 section 7.2: parameters are set while the data interface is at
 * its alternate setting 0, i.e. before usbnic selects the active one. */
static NDIS_STATUS NegotiateNtb(PUSBNIC_ADAPTER Adapter, PNCM_CONTEXT Ncm)
{
    UCHAR reply[NCM_NTB_PARAMETERS_LENGTH];
    UCHAR inputSize[8];
    ULONG got = 0;
    ULONG ntbIn, ntbOut, fit, reserve;
    const USHORT iface = Adapter->Cdc.ControlInterface;
    BOOLEAN ntb32;
    NTSTATUS status;

    status = UsbNicClassRequest(Adapter, TRUE, NCM_GET_NTB_PARAMETERS, 0, iface, reply, sizeof(reply), &got);
    if (!NT_SUCCESS(status) || !NcmParseNtbParameters(reply, got, &Ncm->Parameters)) {
        return NDIS_STATUS_DEVICE_FAILED;
    }
    /* NTB16 unless the keyword asks for NTB32 and the function has it (SET_NTB_FORMAT
     * exists only on functions with NTB32). */
    ntb32 = FALSE;
    if ((Ncm->Parameters.NtbFormatsSupported & 0x0002) != 0) {
        ntb32 = WantNtb32(Adapter);
        status = UsbNicClassRequest(Adapter, FALSE, NCM_SET_NTB_FORMAT,
                                    ntb32 ? NCM_NTB_FORMAT_32 : NCM_NTB_FORMAT_16, iface, NULL, 0, NULL);
        if (!NT_SUCCESS(status)) {
            return NDIS_STATUS_DEVICE_FAILED;
        }
    }
    ntbIn = Ncm->Parameters.NtbInMaxSize < NCM_DEFAULT_NTB_SIZE ? Ncm->Parameters.NtbInMaxSize : NCM_DEFAULT_NTB_SIZE;
    UsbNicWriteLe32(inputSize, 0, ntbIn);
    UsbNicWriteLe16(inputSize, 4, 0); /* wNtbInMaxDatagrams: no limit */
    UsbNicWriteLe16(inputSize, 6, 0);
    status = UsbNicClassRequest(Adapter, FALSE, NCM_SET_NTB_INPUT_SIZE, 0, iface, inputSize,
                                (Adapter->Cdc.NcmCapabilities & NCM_CAP_NTB_INPUT_SIZE_8) != 0 ? 8 : 4, NULL);
    if (!NT_SUCCESS(status)) {
        return NDIS_STATUS_DEVICE_FAILED;
    }
    ntbOut = Ncm->Parameters.NtbOutMaxSize < NCM_DEFAULT_NTB_SIZE ? Ncm->Parameters.NtbOutMaxSize : NCM_DEFAULT_NTB_SIZE;
    /* One largest datagram must fit a block each way with its NTH, an NDP of two entries and
     * the worst-case padding; a device whose blocks are smaller gets smaller frames. */
    fit = ntbIn < ntbOut ? ntbIn : ntbOut;
    reserve = NcmBlockReserve(&Ncm->Parameters);
    if (fit > reserve + 1514 && Adapter->MaxFrameSize > fit - reserve) {
        Adapter->MaxFrameSize = fit - reserve;
    }
    /* Below wMaxSegmentSize (keyword or block size): tell the function, which otherwise
     * sends datagrams we would drop. Not fatal: oversize ones are dropped and counted. */
    if (Adapter->MaxFrameSize < Adapter->Cdc.MaxSegmentSize &&
        (Adapter->Cdc.NcmCapabilities & NCM_CAP_MAX_DATAGRAM_SIZE) != 0) {
        UCHAR datagramSize[2];
        UsbNicWriteLe16(datagramSize, 0, (USHORT)Adapter->MaxFrameSize);
        (VOID)UsbNicClassRequest(Adapter, FALSE, NCM_SET_MAX_DATAGRAM_SIZE, 0, iface, datagramSize,
                                 sizeof(datagramSize), NULL);
    }

    Ncm->Limits.Ntb32 = ntb32;
    Ncm->Limits.MaxBlockLength = ntbIn;
    Ncm->Limits.MaxDatagramSize = Adapter->MaxFrameSize;
    Ncm->Limits.MaxNdps = 16;
    Ncm->Build.Ntb32 = ntb32;
    Ncm->Build.MaxBlockLength = ntbOut;
    Ncm->Build.Divisor = Ncm->Parameters.NdpOutDivisor;
    Ncm->Build.PayloadRemainder = Ncm->Parameters.NdpOutPayloadRemainder;
    Ncm->Build.NdpAlignment = Ncm->Parameters.NdpOutAlignment;
    Ncm->Build.MaxDatagrams = Ncm->Parameters.NtbOutMaxDatagrams;

    Adapter->RxTransferSize = ntbIn;
    Adapter->TxTransferSize = ntbOut;
    Adapter->TxDeviceCapacity = Ncm->Parameters.NtbOutMaxSize;
    Adapter->MaxFramesPerTransfer = Ncm->Parameters.NtbOutMaxDatagrams != 0 &&
                                            Ncm->Parameters.NtbOutMaxDatagrams < NCM_TX_DATAGRAMS
                                        ? Ncm->Parameters.NtbOutMaxDatagrams
                                        : NCM_TX_DATAGRAMS;
    /* Worst case: minimal datagrams back to back, each with a 4-byte NDP entry. */
    Adapter->MaxRxFramesPerTransfer = ntbIn / (NCM_MIN_DATAGRAM + 4) + 1;
    return NDIS_STATUS_SUCCESS;
}

/* PASSIVE_LEVEL. */
static NDIS_STATUS NcmBind(PUSBNIC_ADAPTER Adapter)
{
    PNCM_CONTEXT ncm = Context(Adapter);
    NDIS_STATUS status;

    if (Adapter->Cdc.Kind != CdcFunctionNcm && Adapter->Cdc.Kind != CdcFunctionEcm) {
        return NDIS_STATUS_NOT_SUPPORTED;
    }
    ncm->Ncm = Adapter->Cdc.Kind == CdcFunctionNcm;
    status = ReadMacAddress(Adapter);
    if (status != NDIS_STATUS_SUCCESS) {
        return status;
    }
    Adapter->MaxFrameSize = Adapter->Cdc.MaxSegmentSize;
    if (Adapter->MaxFrameSize < 1514) {
        Adapter->MaxFrameSize = 1514;
    }
    if (Adapter->MaxFrameSize > NCM_MAX_FRAME) {
        Adapter->MaxFrameSize = NCM_MAX_FRAME;
    }
    if (Adapter->JumboPacketLimit != 0 && Adapter->MaxFrameSize > Adapter->JumboPacketLimit) {
        Adapter->MaxFrameSize = Adapter->JumboPacketLimit;
    }
    Adapter->MaxMulticast = Adapter->Cdc.NumberMcFilters & 0x7FFF;
    if (Adapter->MaxMulticast > USBNIC_MAX_MULTICAST) {
        Adapter->MaxMulticast = USBNIC_MAX_MULTICAST;
    }
    if (Adapter->MaxMulticast == 0) {
        Adapter->MaxMulticast = USBNIC_MAX_MULTICAST; /* served by ALL_MULTICAST */
    }
    /* The link is down until the function says otherwise (NETWORK_CONNECTION). */
    Adapter->MediaConnected = Adapter->Cdc.InterruptEndpoint == 0;
    Adapter->LinkSpeed = 1000000000ULL;

    if (ncm->Ncm) {
        return NegotiateNtb(Adapter, ncm);
    }
    /* ECM: one Ethernet frame per transfer; the IN buffer ends on a packet boundary and holds
     * the device's largest frame even when *JumboPacket lowered ours (ECM cannot tell the
     * function): longer frames are then dropped, not babble. */
    Adapter->RxTransferSize = Adapter->MaxFrameSize > Adapter->Cdc.MaxSegmentSize ? Adapter->MaxFrameSize
                                                                                    : Adapter->Cdc.MaxSegmentSize;
    if (Adapter->RxTransferSize > NCM_MAX_FRAME) {
        Adapter->RxTransferSize = NCM_MAX_FRAME;
    }
    if (Adapter->Cdc.BulkInMaxPacket != 0) {
        Adapter->RxTransferSize = (Adapter->RxTransferSize + Adapter->Cdc.BulkInMaxPacket - 1) /
                                  Adapter->Cdc.BulkInMaxPacket * Adapter->Cdc.BulkInMaxPacket;
    }
    Adapter->TxTransferSize = Adapter->MaxFrameSize;
    Adapter->TxDeviceCapacity = Adapter->Cdc.MaxSegmentSize;
    Adapter->MaxFramesPerTransfer = 1;
    Adapter->MaxRxFramesPerTransfer = 1;
    /* A transfer is the frame alone: the framework sends it from the sender's MDL. */
    Adapter->TxUnframed = TRUE;
    return NDIS_STATUS_SUCCESS;
}

/* PASSIVE_LEVEL. */
static NDIS_STATUS NcmSetPacketFilter(PUSBNIC_ADAPTER Adapter, ULONG PacketFilter)
{
    PNCM_CONTEXT ncm = Context(Adapter);
    USHORT bits = 0;
    if (ncm->Ncm && (Adapter->Cdc.NcmCapabilities & NCM_CAP_PACKET_FILTER) == 0) {
        return NDIS_STATUS_SUCCESS; /* the function forwards everything; NDIS filters */
    }
    if (PacketFilter & NDIS_PACKET_TYPE_PROMISCUOUS) bits |= ECM_FILTER_PROMISCUOUS;
    if ((PacketFilter & NDIS_PACKET_TYPE_ALL_MULTICAST) || ncm->AllMulticastFallback) bits |= ECM_FILTER_ALL_MULTICAST;
    if (PacketFilter & NDIS_PACKET_TYPE_DIRECTED) bits |= ECM_FILTER_DIRECTED;
    if (PacketFilter & NDIS_PACKET_TYPE_BROADCAST) bits |= ECM_FILTER_BROADCAST;
    if (PacketFilter & NDIS_PACKET_TYPE_MULTICAST) bits |= ECM_FILTER_MULTICAST;
    return NT_SUCCESS(UsbNicClassRequest(Adapter, FALSE, ECM_SET_ETHERNET_PACKET_FILTER, bits,
                                         Adapter->Cdc.ControlInterface, NULL, 0, NULL))
               ? NDIS_STATUS_SUCCESS
               : NDIS_STATUS_FAILURE;
}

/* PASSIVE_LEVEL. */
static NDIS_STATUS NcmSetMulticastList(PUSBNIC_ADAPTER Adapter, const UCHAR *List, ULONG Count)
{
    PNCM_CONTEXT ncm = Context(Adapter);
    const ULONG deviceFilters = Adapter->Cdc.NumberMcFilters & 0x7FFF;
    const BOOLEAN fallback = Count > deviceFilters;
    if (!fallback && Count != 0) {
        if (!NT_SUCCESS(UsbNicClassRequest(Adapter, FALSE, ECM_SET_ETHERNET_MULTICAST_FILTERS, (USHORT)Count,
                                           Adapter->Cdc.ControlInterface, (PVOID)List, Count * 6, NULL))) {
            return NDIS_STATUS_FAILURE;
        }
    }
    if (fallback != ncm->AllMulticastFallback) {
        ncm->AllMulticastFallback = fallback;
        return NcmSetPacketFilter(Adapter, Adapter->PacketFilter);
    }
    return NDIS_STATUS_SUCCESS;
}

/* DISPATCH_LEVEL. */
static VOID NcmNotification(PUSBNIC_ADAPTER Adapter, const UCHAR *Data, ULONG Length)
{
    CDC_NOTIFICATION n;
    if (!CdcParseNotification(Data, Length, &n)) {
        return;
    }
    if (n.Code == CDC_NOTIFY_NETWORK_CONNECTION) {
        UsbNicIndicateLinkState(Adapter, n.Value != 0, 0);
    } else if (n.Code == CDC_NOTIFY_CONNECTION_SPEED_CHANGE) {
        /* NCM 1.0 7.1 sends it before NETWORK_CONNECTION: remember it, and indicate it
         * only on a link that is already up. */
        const ULONG64 speed = n.DownlinkBitRate > n.UplinkBitRate ? n.DownlinkBitRate : n.UplinkBitRate;
        BOOLEAN connected;
        if (speed == 0) {
            return;
        }
        NdisAcquireSpinLock(&Adapter->Lock);
        Adapter->LinkSpeed = speed;
        connected = Adapter->MediaConnected;
        NdisReleaseSpinLock(&Adapter->Lock);
        if (connected) {
            UsbNicIndicateLinkState(Adapter, TRUE, speed);
        }
    }
}

/* DISPATCH_LEVEL. */
static ULONG NcmRxParse(PUSBNIC_ADAPTER Adapter, const UCHAR *Transfer, ULONG Length, PUSBNIC_FRAME Frames,
                        ULONG Capacity)
{
    PNCM_CONTEXT ncm = Context(Adapter);
    NCM_NTB_INFO info;
    NCM_NTB_ERROR error;

    if (!ncm->Ncm) {
        if (Length < USBNIC_ETH_HEADER || Length > Adapter->MaxFrameSize || Capacity == 0) {
            return 0;
        }
        Frames[0].Offset = 0;
        Frames[0].Length = Length;
        return 1;
    }
    error = NcmParseNtb(Transfer, Length, &ncm->Limits, (PNCM_DATAGRAM)Frames, Capacity, &info);
    if (error != NcmNtbOk) {
        InterlockedIncrement(&ncm->RxRejected[error]);
        return 0;
    }
    return info.DatagramCount;
}

/* DISPATCH_LEVEL, serialized by usbnic. */
static VOID NcmTxBegin(PUSBNIC_ADAPTER Adapter, PUSBNIC_TX_CONTEXT Tx)
{
    PNCM_CONTEXT ncm = Context(Adapter);
    PNCM_TX_SCRATCH scratch = (PNCM_TX_SCRATCH)Tx->Scratch;
    scratch->EcmLength = 0;
    if (ncm->Ncm) {
        NcmNtbWriterBegin(&scratch->Writer, Tx->Buffer, Tx->BufferSize, &ncm->Build, scratch->Table,
                          NCM_TX_DATAGRAMS, ncm->Sequence++);
    }
}

static ULONG NcmTxReserve(PUSBNIC_ADAPTER Adapter, PUSBNIC_TX_CONTEXT Tx, ULONG FrameLength)
{
    PNCM_TX_SCRATCH scratch = (PNCM_TX_SCRATCH)Tx->Scratch;
    ULONG offset;
    if (!Context(Adapter)->Ncm) {
        return scratch->EcmLength == 0 && FrameLength <= Tx->BufferSize ? 0 : USBNIC_NO_ROOM;
    }
    offset = NcmNtbWriterReserve(&scratch->Writer, FrameLength);
    return offset == 0 ? USBNIC_NO_ROOM : offset;
}

static VOID NcmTxCommit(PUSBNIC_ADAPTER Adapter, PUSBNIC_TX_CONTEXT Tx, ULONG Offset, ULONG FrameLength)
{
    PNCM_TX_SCRATCH scratch = (PNCM_TX_SCRATCH)Tx->Scratch;
    if (!Context(Adapter)->Ncm) {
        scratch->EcmLength = FrameLength;
        return;
    }
    NcmNtbWriterCommit(&scratch->Writer, Offset, FrameLength);
}

static ULONG NcmTxFinish(PUSBNIC_ADAPTER Adapter, PUSBNIC_TX_CONTEXT Tx)
{
    PNCM_TX_SCRATCH scratch = (PNCM_TX_SCRATCH)Tx->Scratch;
    if (!Context(Adapter)->Ncm) {
        return scratch->EcmLength;
    }
    return NcmNtbWriterFinish(&scratch->Writer);
}

/* PASSIVE_LEVEL, after the pipes were reset: the function restarts its NTB sequence. */
static NDIS_STATUS NcmReset(PUSBNIC_ADAPTER Adapter)
{
    NDIS_STATUS status = NcmSetPacketFilter(Adapter, Adapter->PacketFilter);
    Context(Adapter)->Sequence = 0;
    return status;
}

const USBNIC_MINIDRIVER UsbNcmMinidriver = {
    "usbncm",
    sizeof(NCM_CONTEXT),
    sizeof(NCM_TX_SCRATCH),
    NcmBind,
    NULL,
    NcmRxParse,
    NcmTxBegin,
    NcmTxReserve,
    NcmTxCommit,
    NcmTxFinish,
    NcmNotification,
    NcmSetPacketFilter,
    NcmSetMulticastList,
    NcmReset,
    NULL,
};
