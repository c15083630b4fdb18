/*
 * offtest.c -- the offload test miniport.
 *
 * Module Name:  offtest
 * Abstract:     An NDIS 6.30 Ethernet miniport with a WDM lower edge that advertises task
 *               offloads (NDIS_MINIPORT_ADAPTER_OFFLOAD_ATTRIBUTES: transmit and receive
 *               checksums for IPv4/IPv6 TCP/UDP, LSOv2 for IPv4/IPv6) and does what it
 *               advertises, like hardware would: every NBL's offload info is recorded for the
 *               test, then the frame is finished (checksums computed, a large send cut into
 *               MSS-sized segments with their own IP and TCP headers) and "transmitted" to the
 *               other adapter of this driver (two adapters form a wire), which indicates it
 *               with checksum-succeeded info when OffTestControl says so. The test indicates
 *               frames of its own with OffTestIndicate.
 *
 *               NDIS does not (yet) hand the offload attributes to protocols in
 *               NDIS_BIND_PARAMETERS, so with IndicateConfigAtRestart the driver also reports
 *               its current configuration with NDIS_STATUS_TASK_OFFLOAD_CURRENT_CONFIG from
 *               MiniportRestart.
 * Environment:  kernel mode
 */
#define NDIS_MINIPORT_DRIVER 1
#define NDIS630_MINIPORT 1
#define NDIS_WDM 1
#include <ndis.h>

#include "offtest_control.h"

#define OFFTEST_POOL_TAG 'tffO'
#define OFFTEST_RX_SLOTS 16
#define OFFTEST_MAX_FRAME 1518 /* MTU 1500 + Ethernet header + one tag */
#define OFFTEST_MTU 1500

typedef struct _OFFTEST_RX_SLOT {
  PNET_BUFFER_LIST Nbl;
  PMDL Mdl;
  BOOLEAN InUse;
  UCHAR Data[OFFTEST_MAX_FRAME];
} OFFTEST_RX_SLOT, *POFFTEST_RX_SLOT;

typedef struct _OFFTEST_ADAPTER {
  NDIS_HANDLE AdapterHandle;
  NDIS_HANDLE NblPool;
  NDIS_SPIN_LOCK Lock; /* RxSlots[].InUse, Running */
  BOOLEAN Running;     /* between MiniportRestart and MiniportPause: receives may be indicated */
  LONG Indicating;     /* indications under way (MiniportPause waits for them) */
  ULONG Index;
  UCHAR Mac[6];
  OFFTEST_RX_SLOT RxSlots[OFFTEST_RX_SLOTS];
  UCHAR Scratch[65536 + 64]; /* a large send's frame, copied out of its MDL chain (send path) */
  NDIS_SPIN_LOCK ScratchLock;
} OFFTEST_ADAPTER, *POFFTEST_ADAPTER;

__attribute__((visibility("default"))) OFFTEST_CONTROL OffTestControl;

static NDIS_HANDLE OffTestDriverHandle;
static NDIS_SPIN_LOCK OffTestGlobalLock; /* OffTestAdapters, the records */
static POFFTEST_ADAPTER OffTestAdapters[OFFTEST_MAX_ADAPTERS];
static OFFTEST_SEND_RECORD OffTestRecords[OFFTEST_RECORDS];
static ULONG OffTestRecordCount;
static NDIS_OFFLOAD OffTestOffload;

static const NDIS_OID OffTestSupportedOids[] = {OID_GEN_SUPPORTED_LIST, OID_GEN_CURRENT_PACKET_FILTER,
                                                 OID_GEN_CURRENT_LOOKAHEAD, OID_802_3_MULTICAST_LIST,
                                                 OID_802_3_CURRENT_ADDRESS, OID_GEN_MAXIMUM_FRAME_SIZE,
                                                 OID_802_3_MAXIMUM_LIST_SIZE};

static VOID OffTestFillOffload(_Out_ PNDIS_OFFLOAD Offload);

MINIPORT_INITIALIZE OffTestInitializeEx;
MINIPORT_HALT OffTestHaltEx;
MINIPORT_UNLOAD OffTestUnload;
MINIPORT_PAUSE OffTestPause;
MINIPORT_RESTART OffTestRestart;
MINIPORT_OID_REQUEST OffTestOidRequest;
MINIPORT_SEND_NET_BUFFER_LISTS OffTestSendNetBufferLists;
MINIPORT_RETURN_NET_BUFFER_LISTS OffTestReturnNetBufferLists;
MINIPORT_CANCEL_SEND OffTestCancelSend;
MINIPORT_DEVICE_PNP_EVENT_NOTIFY OffTestDevicePnPEventNotify;
MINIPORT_SHUTDOWN OffTestShutdownEx;
MINIPORT_CANCEL_OID_REQUEST OffTestCancelOidRequest;

NTSTATUS DriverEntry(PDRIVER_OBJECT DriverObject, PUNICODE_STRING RegistryPath)
{
    /* IRQL: PASSIVE_LEVEL */
    NDIS_MINIPORT_DRIVER_CHARACTERISTICS characteristics;
    NDIS_STATUS status;

    NdisAllocateSpinLock(&OffTestGlobalLock);
    /* A test process loads the image once and the driver many times: start afresh. */
    OffTestRecordCount = 0;
    NdisZeroMemory(OffTestAdapters, sizeof(OffTestAdapters));
    OffTestFillOffload(&OffTestOffload); /* before any adapter: read-only from then on */
    NdisZeroMemory(&characteristics, sizeof(characteristics));
    characteristics.Header.Type = NDIS_OBJECT_TYPE_MINIPORT_DRIVER_CHARACTERISTICS;
    characteristics.Header.Revision = NDIS_MINIPORT_DRIVER_CHARACTERISTICS_REVISION_2;
    characteristics.Header.Size = NDIS_SIZEOF_MINIPORT_DRIVER_CHARACTERISTICS_REVISION_2;
    characteristics.MajorNdisVersion = NDIS_MINIPORT_MAJOR_VERSION;
    characteristics.MinorNdisVersion = NDIS_MINIPORT_MINOR_VERSION;
    characteristics.MajorDriverVersion = 1;
    characteristics.Flags = NDIS_WDM_DRIVER;
    characteristics.InitializeHandlerEx = OffTestInitializeEx;
    characteristics.HaltHandlerEx = OffTestHaltEx;
    characteristics.UnloadHandler = OffTestUnload;
    characteristics.PauseHandler = OffTestPause;
    characteristics.RestartHandler = OffTestRestart;
    characteristics.OidRequestHandler = OffTestOidRequest;
    characteristics.SendNetBufferListsHandler = OffTestSendNetBufferLists;
    characteristics.ReturnNetBufferListsHandler = OffTestReturnNetBufferLists;
    characteristics.CancelSendHandler = OffTestCancelSend;
    characteristics.DevicePnPEventNotifyHandler = OffTestDevicePnPEventNotify;
    characteristics.ShutdownHandlerEx = OffTestShutdownEx;
    characteristics.CancelOidRequestHandler = OffTestCancelOidRequest;
    status = NdisMRegisterMiniportDriver(DriverObject, RegistryPath, NULL, &characteristics, &OffTestDriverHandle);
    return status == NDIS_STATUS_SUCCESS ? STATUS_SUCCESS : (NTSTATUS)status;
}

_Use_decl_annotations_
VOID OffTestUnload(PDRIVER_OBJECT DriverObject)
{
    /* IRQL: PASSIVE_LEVEL */
    UNREFERENCED_PARAMETER(DriverObject);
    NdisMDeregisterMiniportDriver(OffTestDriverHandle);
    NdisFreeSpinLock(&OffTestGlobalLock);
}

/* What the "hardware" can do: the same structure is the hardware capabilities and the
 * current configuration (everything enabled). */
static VOID OffTestFillOffload(_Out_ PNDIS_OFFLOAD Offload)
{
    NdisZeroMemory(Offload, sizeof(*Offload));
    Offload->Header.Type = NDIS_OBJECT_TYPE_OFFLOAD;
    Offload->Header.Revision = NDIS_OFFLOAD_REVISION_3;
    Offload->Header.Size = NDIS_SIZEOF_NDIS_OFFLOAD_REVISION_3;
    Offload->Checksum.IPv4Transmit.Encapsulation = NDIS_ENCAPSULATION_IEEE_802_3;
    Offload->Checksum.IPv4Transmit.IpOptionsSupported = NDIS_OFFLOAD_SUPPORTED;
    Offload->Checksum.IPv4Transmit.TcpOptionsSupported = NDIS_OFFLOAD_SUPPORTED;
    Offload->Checksum.IPv4Transmit.TcpChecksum = NDIS_OFFLOAD_SUPPORTED;
    Offload->Checksum.IPv4Transmit.UdpChecksum = NDIS_OFFLOAD_SUPPORTED;
    Offload->Checksum.IPv4Receive.Encapsulation = NDIS_ENCAPSULATION_IEEE_802_3;
    Offload->Checksum.IPv4Receive.IpOptionsSupported = NDIS_OFFLOAD_SUPPORTED;
    Offload->Checksum.IPv4Receive.TcpOptionsSupported = NDIS_OFFLOAD_SUPPORTED;
    Offload->Checksum.IPv4Receive.TcpChecksum = NDIS_OFFLOAD_SUPPORTED;
    Offload->Checksum.IPv4Receive.UdpChecksum = NDIS_OFFLOAD_SUPPORTED;
    Offload->Checksum.IPv4Receive.IpChecksum = NDIS_OFFLOAD_SUPPORTED;
    Offload->Checksum.IPv6Transmit.Encapsulation = NDIS_ENCAPSULATION_IEEE_802_3;
    Offload->Checksum.IPv6Transmit.TcpOptionsSupported = NDIS_OFFLOAD_SUPPORTED;
    Offload->Checksum.IPv6Transmit.TcpChecksum = NDIS_OFFLOAD_SUPPORTED;
    Offload->Checksum.IPv6Transmit.UdpChecksum = NDIS_OFFLOAD_SUPPORTED;
    Offload->Checksum.IPv6Receive.Encapsulation = NDIS_ENCAPSULATION_IEEE_802_3;
    Offload->Checksum.IPv6Receive.TcpOptionsSupported = NDIS_OFFLOAD_SUPPORTED;
    Offload->Checksum.IPv6Receive.TcpChecksum = NDIS_OFFLOAD_SUPPORTED;
    Offload->Checksum.IPv6Receive.UdpChecksum = NDIS_OFFLOAD_SUPPORTED;
    Offload->LsoV2.IPv4.Encapsulation = NDIS_ENCAPSULATION_IEEE_802_3;
    Offload->LsoV2.IPv4.MaxOffLoadSize = 65535;
    Offload->LsoV2.IPv4.MinSegmentCount = 2;
    Offload->LsoV2.IPv6.Encapsulation = NDIS_ENCAPSULATION_IEEE_802_3;
    Offload->LsoV2.IPv6.MaxOffLoadSize = 65535;
    Offload->LsoV2.IPv6.MinSegmentCount = 2;
    Offload->LsoV2.IPv6.TcpOptionsSupported = NDIS_OFFLOAD_SUPPORTED;
}

static NDIS_STATUS OffTestSetAttributes(_In_ POFFTEST_ADAPTER Adapter)
{
    NDIS_MINIPORT_ADAPTER_ATTRIBUTES attributes;
    NDIS_STATUS status;

    NdisZeroMemory(&attributes, sizeof(attributes));
    attributes.RegistrationAttributes.Header.Type = NDIS_OBJECT_TYPE_MINIPORT_ADAPTER_REGISTRATION_ATTRIBUTES;
    attributes.RegistrationAttributes.Header.Revision = NDIS_MINIPORT_ADAPTER_REGISTRATION_ATTRIBUTES_REVISION_1;
    attributes.RegistrationAttributes.Header.Size = NDIS_SIZEOF_MINIPORT_ADAPTER_REGISTRATION_ATTRIBUTES_REVISION_1;
    attributes.RegistrationAttributes.MiniportAdapterContext = Adapter;
    attributes.RegistrationAttributes.AttributeFlags = NDIS_MINIPORT_ATTRIBUTES_NDIS_WDM;
    attributes.RegistrationAttributes.InterfaceType = NdisInterfaceInternal;
    status = NdisMSetMiniportAttributes(Adapter->AdapterHandle, &attributes);
    if (status != NDIS_STATUS_SUCCESS) {
        return status;
    }

    NdisZeroMemory(&attributes, sizeof(attributes));
    attributes.GeneralAttributes.Header.Type = NDIS_OBJECT_TYPE_MINIPORT_ADAPTER_GENERAL_ATTRIBUTES;
    attributes.GeneralAttributes.Header.Revision = NDIS_MINIPORT_ADAPTER_GENERAL_ATTRIBUTES_REVISION_2;
    attributes.GeneralAttributes.Header.Size = NDIS_SIZEOF_MINIPORT_ADAPTER_GENERAL_ATTRIBUTES_REVISION_2;
    attributes.GeneralAttributes.MediaType = NdisMedium802_3;
    attributes.GeneralAttributes.PhysicalMediumType = NdisPhysicalMedium802_3;
    attributes.GeneralAttributes.MtuSize = OFFTEST_MTU;
    attributes.GeneralAttributes.MaxXmitLinkSpeed = 1000000000ull;
    attributes.GeneralAttributes.XmitLinkSpeed = 1000000000ull;
    attributes.GeneralAttributes.MaxRcvLinkSpeed = 1000000000ull;
    attributes.GeneralAttributes.RcvLinkSpeed = 1000000000ull;
    attributes.GeneralAttributes.MediaConnectState = MediaConnectStateConnected;
    attributes.GeneralAttributes.MediaDuplexState = MediaDuplexStateFull;
    attributes.GeneralAttributes.LookaheadSize = OFFTEST_MTU;
    attributes.GeneralAttributes.MacOptions = NDIS_MAC_OPTION_NO_LOOPBACK;
    attributes.GeneralAttributes.SupportedPacketFilters = NDIS_PACKET_TYPE_DIRECTED | NDIS_PACKET_TYPE_MULTICAST |
                                                          NDIS_PACKET_TYPE_ALL_MULTICAST | NDIS_PACKET_TYPE_BROADCAST |
                                                          NDIS_PACKET_TYPE_PROMISCUOUS;
    attributes.GeneralAttributes.MaxMulticastListSize = 32;
    attributes.GeneralAttributes.MacAddressLength = 6;
    NdisMoveMemory(attributes.GeneralAttributes.PermanentMacAddress, Adapter->Mac, 6);
    NdisMoveMemory(attributes.GeneralAttributes.CurrentMacAddress, Adapter->Mac, 6);
    attributes.GeneralAttributes.AccessType = NET_IF_ACCESS_BROADCAST;
    attributes.GeneralAttributes.DirectionType = NET_IF_DIRECTION_SENDRECEIVE;
    attributes.GeneralAttributes.ConnectionType = NET_IF_CONNECTION_DEDICATED;
    attributes.GeneralAttributes.IfType = IF_TYPE_ETHERNET_CSMACD;
    attributes.GeneralAttributes.IfConnectorPresent = TRUE;
    attributes.GeneralAttributes.SupportedOidList = (PNDIS_OID)OffTestSupportedOids;
    attributes.GeneralAttributes.SupportedOidListLength = sizeof(OffTestSupportedOids);
    status = NdisMSetMiniportAttributes(Adapter->AdapterHandle, &attributes);
    if (status != NDIS_STATUS_SUCCESS || !OffTestControl.AdvertiseOffloads) {
        return status;
    }

    /* After the general attributes, as the reference orders them. */
    NdisZeroMemory(&attributes, sizeof(attributes));
    attributes.OffloadAttributes.Header.Type = NDIS_OBJECT_TYPE_MINIPORT_ADAPTER_OFFLOAD_ATTRIBUTES;
    attributes.OffloadAttributes.Header.Revision = NDIS_MINIPORT_ADAPTER_OFFLOAD_ATTRIBUTES_REVISION_1;
    attributes.OffloadAttributes.Header.Size = NDIS_SIZEOF_MINIPORT_ADAPTER_OFFLOAD_ATTRIBUTES_REVISION_1;
    attributes.OffloadAttributes.DefaultOffloadConfiguration = &OffTestOffload;
    attributes.OffloadAttributes.HardwareOffloadCapabilities = &OffTestOffload;
    return NdisMSetMiniportAttributes(Adapter->AdapterHandle, &attributes);
}

static VOID OffTestFreeResources(_In_ POFFTEST_ADAPTER Adapter)
{
    ULONG i;
    for (i = 0; i < OFFTEST_RX_SLOTS; i++) {
        if (Adapter->RxSlots[i].Nbl != NULL) {
            NdisFreeNetBufferList(Adapter->RxSlots[i].Nbl);
        }
        if (Adapter->RxSlots[i].Mdl != NULL) {
            NdisFreeMdl(Adapter->RxSlots[i].Mdl);
        }
    }
    if (Adapter->NblPool != NULL) {
        NdisFreeNetBufferListPool(Adapter->NblPool);
    }
    NdisFreeSpinLock(&Adapter->Lock);
    NdisFreeSpinLock(&Adapter->ScratchLock);
    NdisFreeMemory(Adapter, 0, 0);
}

_Use_decl_annotations_
NDIS_STATUS OffTestInitializeEx(NDIS_HANDLE MiniportAdapterHandle, NDIS_HANDLE MiniportDriverContext,
                                PNDIS_MINIPORT_INIT_PARAMETERS MiniportInitParameters)
{
    /* IRQL: PASSIVE_LEVEL */
    NET_BUFFER_LIST_POOL_PARAMETERS pool;
    POFFTEST_ADAPTER adapter;
    NDIS_STATUS status;
    ULONG i;

    UNREFERENCED_PARAMETER(MiniportDriverContext);
    UNREFERENCED_PARAMETER(MiniportInitParameters);
    adapter = (POFFTEST_ADAPTER)NdisAllocateMemoryWithTagPriority(MiniportAdapterHandle, sizeof(OFFTEST_ADAPTER),
                                                                  OFFTEST_POOL_TAG, NormalPoolPriority);
    if (adapter == NULL) {
        return NDIS_STATUS_RESOURCES;
    }
    NdisZeroMemory(adapter, sizeof(*adapter));
    adapter->AdapterHandle = MiniportAdapterHandle;
    NdisAllocateSpinLock(&adapter->Lock);
    NdisAllocateSpinLock(&adapter->ScratchLock);

    NdisAcquireSpinLock(&OffTestGlobalLock);
    adapter->Index = OFFTEST_MAX_ADAPTERS;
    for (i = 0; i < OFFTEST_MAX_ADAPTERS; i++) {
        if (OffTestAdapters[i] == NULL) {
            adapter->Index = i;
            break;
        }
    }
    NdisReleaseSpinLock(&OffTestGlobalLock);
    if (adapter->Index == OFFTEST_MAX_ADAPTERS) {
        OffTestFreeResources(adapter);
        return NDIS_STATUS_RESOURCES;
    }
    adapter->Mac[0] = 0x02;
    adapter->Mac[1] = 0x4f;
    adapter->Mac[2] = 0x46;
    adapter->Mac[5] = (UCHAR)(adapter->Index + 1);

    NdisZeroMemory(&pool, sizeof(pool));
    pool.Header.Type = NDIS_OBJECT_TYPE_DEFAULT;
    pool.Header.Revision = NET_BUFFER_LIST_POOL_PARAMETERS_REVISION_1;
    pool.Header.Size = NDIS_SIZEOF_NET_BUFFER_LIST_POOL_PARAMETERS_REVISION_1;
    pool.fAllocateNetBuffer = TRUE;
    pool.PoolTag = OFFTEST_POOL_TAG;
    adapter->NblPool = NdisAllocateNetBufferListPool(MiniportAdapterHandle, &pool);
    status = adapter->NblPool != NULL ? NDIS_STATUS_SUCCESS : NDIS_STATUS_RESOURCES;
    /* The receive slots are allocated once: nothing is allocated per received frame. */
    for (i = 0; status == NDIS_STATUS_SUCCESS && i < OFFTEST_RX_SLOTS; i++) {
        POFFTEST_RX_SLOT slot = &adapter->RxSlots[i];
        slot->Mdl = NdisAllocateMdl(MiniportAdapterHandle, slot->Data, OFFTEST_MAX_FRAME);
        if (slot->Mdl != NULL) {
            slot->Nbl = NdisAllocateNetBufferAndNetBufferList(adapter->NblPool, 0, 0, slot->Mdl, 0, 0);
        }
        if (slot->Mdl == NULL || slot->Nbl == NULL) {
            status = NDIS_STATUS_RESOURCES;
        } else {
            slot->Nbl->MiniportReserved[0] = slot;
        }
    }
    if (status == NDIS_STATUS_SUCCESS) {
        status = OffTestSetAttributes(adapter);
    }
    if (status != NDIS_STATUS_SUCCESS) {
        OffTestFreeResources(adapter);
        return status;
    }
    NdisAcquireSpinLock(&OffTestGlobalLock);
    OffTestAdapters[adapter->Index] = adapter;
    NdisReleaseSpinLock(&OffTestGlobalLock);
    InterlockedIncrement(&OffTestControl.Adapters);
    return NDIS_STATUS_SUCCESS;
}

_Use_decl_annotations_
VOID OffTestHaltEx(NDIS_HANDLE MiniportAdapterContext, NDIS_HALT_ACTION HaltAction)
{
    /* IRQL: PASSIVE_LEVEL */
    POFFTEST_ADAPTER adapter = (POFFTEST_ADAPTER)MiniportAdapterContext;
    UNREFERENCED_PARAMETER(HaltAction);
    NdisAcquireSpinLock(&OffTestGlobalLock);
    OffTestAdapters[adapter->Index] = NULL;
    NdisReleaseSpinLock(&OffTestGlobalLock);
    InterlockedDecrement(&OffTestControl.Adapters);
    OffTestFreeResources(adapter);
}

_Use_decl_annotations_
NDIS_STATUS OffTestRestart(NDIS_HANDLE MiniportAdapterContext, PNDIS_MINIPORT_RESTART_PARAMETERS RestartParameters)
{
    /* IRQL: PASSIVE_LEVEL */
    POFFTEST_ADAPTER adapter = (POFFTEST_ADAPTER)MiniportAdapterContext;
    NDIS_STATUS_INDICATION indication;

    UNREFERENCED_PARAMETER(RestartParameters);
    NdisAcquireSpinLock(&adapter->Lock);
    adapter->Running = TRUE;
    NdisReleaseSpinLock(&adapter->Lock);
    if (OffTestControl.AdvertiseOffloads && OffTestControl.IndicateConfigAtRestart) {
        NdisZeroMemory(&indication, sizeof(indication));
        indication.Header.Type = NDIS_OBJECT_TYPE_STATUS_INDICATION;
        indication.Header.Revision = NDIS_STATUS_INDICATION_REVISION_1;
        indication.Header.Size = NDIS_SIZEOF_STATUS_INDICATION_REVISION_1;
        indication.SourceHandle = adapter->AdapterHandle;
        indication.StatusCode = NDIS_STATUS_TASK_OFFLOAD_CURRENT_CONFIG;
        indication.StatusBuffer = &OffTestOffload;
        indication.StatusBufferSize = sizeof(OffTestOffload);
        NdisMIndicateStatusEx(adapter->AdapterHandle, &indication);
    }
    return NDIS_STATUS_SUCCESS;
}

_Use_decl_annotations_
NDIS_STATUS OffTestPause(NDIS_HANDLE MiniportAdapterContext, PNDIS_MINIPORT_PAUSE_PARAMETERS PauseParameters)
{
    /* IRQL: PASSIVE_LEVEL. Sends complete inside MiniportSendNetBufferLists; the indicated
     * receives come back inside the indication: once none is under way, nothing is
     * outstanding. */
    POFFTEST_ADAPTER adapter = (POFFTEST_ADAPTER)MiniportAdapterContext;
    UNREFERENCED_PARAMETER(PauseParameters);
    NdisAcquireSpinLock(&adapter->Lock);
    adapter->Running = FALSE;
    NdisReleaseSpinLock(&adapter->Lock);
    while (InterlockedCompareExchange(&adapter->Indicating, 0, 0) != 0) {
        NdisMSleep(1000);
    }
    return NDIS_STATUS_SUCCESS;
}

/* ---- checksums, as the NIC computes them ------------------------------------------------ */

static ULONG OffTestSum(_In_reads_(Length) const UCHAR *Bytes, ULONG Length, ULONG Sum)
{
    ULONG i;
    for (i = 0; i + 1 < Length; i += 2) {
        Sum += ((ULONG)Bytes[i] << 8) | Bytes[i + 1];
    }
    if (Length & 1) {
        Sum += (ULONG)Bytes[Length - 1] << 8;
    }
    return Sum;
}

static USHORT OffTestFold(ULONG Sum)
{
    while (Sum >> 16) {
        Sum = (Sum & 0xffff) + (Sum >> 16);
    }
    return (USHORT)~Sum;
}

static VOID OffTestPut16(_Out_writes_(2) UCHAR *At, USHORT Value)
{
    At[0] = (UCHAR)(Value >> 8);
    At[1] = (UCHAR)Value;
}

static USHORT OffTestGet16(_In_reads_(2) const UCHAR *At)
{
    return (USHORT)((At[0] << 8) | At[1]);
}

/* The L4 checksum (TCP field at +16, UDP at +6) over the pseudo-header and L4Length bytes
 * from L4, from scratch. */
static VOID OffTestL4Checksum(_Inout_ UCHAR *Frame, ULONG L3, ULONG L4, ULONG L4Length, BOOLEAN IsIPv4, UCHAR Protocol)
{
    ULONG field = L4 + (Protocol == 6 ? 16 : 6);
    ULONG sum;
    USHORT checksum;

    Frame[field] = 0;
    Frame[field + 1] = 0;
    sum = IsIPv4 ? OffTestSum(Frame + L3 + 12, 8, 0) : OffTestSum(Frame + L3 + 8, 32, 0);
    sum += Protocol + L4Length;
    sum = OffTestSum(Frame + L4, L4Length, sum);
    checksum = OffTestFold(sum);
    if (checksum == 0 && Protocol == 17) {
        checksum = 0xffff;
    }
    OffTestPut16(Frame + field, checksum);
}

static VOID OffTestIpv4HeaderChecksum(_Inout_ UCHAR *Frame, ULONG L3)
{
    ULONG headerLength = (ULONG)(Frame[L3] & 0x0f) * 4;
    Frame[L3 + 10] = 0;
    Frame[L3 + 11] = 0;
    OffTestPut16(Frame + L3 + 10, OffTestFold(OffTestSum(Frame + L3, headerLength, 0)));
}

/* ---- the wire between the two adapters ---------------------------------------------------- */

/* Indicates one frame on Adapter (any IRQL <= DISPATCH_LEVEL; raised for the indication). */
static BOOLEAN OffTestIndicateOn(_In_ POFFTEST_ADAPTER Adapter, _In_reads_(Length) const UCHAR *Frame, ULONG Length,
                                 PVOID ChecksumInfo)
{
    POFFTEST_RX_SLOT slot = NULL;
    KIRQL oldIrql;
    ULONG i;

    if (Length == 0 || Length > OFFTEST_MAX_FRAME) {
        return FALSE;
    }
    NdisAcquireSpinLock(&Adapter->Lock);
    for (i = 0; Adapter->Running && i < OFFTEST_RX_SLOTS; i++) {
        if (!Adapter->RxSlots[i].InUse) {
            slot = &Adapter->RxSlots[i];
            slot->InUse = TRUE;
            InterlockedIncrement(&Adapter->Indicating);
            break;
        }
    }
    NdisReleaseSpinLock(&Adapter->Lock);
    if (slot == NULL) {
        return FALSE; /* paused (nothing may be indicated) or no free slot */
    }
    NdisMoveMemory(slot->Data, Frame, Length);
    NET_BUFFER_DATA_LENGTH(NET_BUFFER_LIST_FIRST_NB(slot->Nbl)) = Length;
    NET_BUFFER_LIST_NEXT_NBL(slot->Nbl) = NULL;
    NET_BUFFER_LIST_INFO(slot->Nbl, TcpIpChecksumNetBufferListInfo) = ChecksumInfo;
    slot->Nbl->SourceHandle = Adapter->AdapterHandle;
    InterlockedIncrement(&OffTestControl.Receives);
    KeRaiseIrql(DISPATCH_LEVEL, &oldIrql);
    NdisMIndicateReceiveNetBufferLists(Adapter->AdapterHandle, slot->Nbl, NDIS_DEFAULT_PORT_NUMBER, 1,
                                       NDIS_RECEIVE_FLAGS_DISPATCH_LEVEL);
    KeLowerIrql(oldIrql);
    InterlockedDecrement(&Adapter->Indicating);
    return TRUE;
}

/* The receive info the peer attaches to a frame it got over the wire. */
static PVOID OffTestReceiveInfoFor(_In_reads_(Length) const UCHAR *Frame, ULONG Length)
{
    NDIS_TCP_IP_CHECKSUM_NET_BUFFER_LIST_INFO info;
    UCHAR protocol = 0;
    info.Value = NULL;
    if (!OffTestControl.ReceiveChecksumSucceeded || Length < 34) {
        return NULL;
    }
    if (OffTestGet16(Frame + 12) == 0x0800) {
        protocol = Frame[14 + 9];
        info.Receive.IpChecksumSucceeded = 1;
    } else if (OffTestGet16(Frame + 12) == 0x86dd && Length >= 54) {
        protocol = Frame[14 + 6];
    }
    info.Receive.TcpChecksumSucceeded = protocol == 6;
    info.Receive.UdpChecksumSucceeded = protocol == 17;
    return info.Value;
}

static VOID OffTestForward(_In_ POFFTEST_ADAPTER From, _In_reads_(Length) const UCHAR *Frame, ULONG Length)
{
    POFFTEST_ADAPTER peer;
    NdisAcquireSpinLock(&OffTestGlobalLock);
    peer = OffTestAdapters[1 - From->Index];
    NdisReleaseSpinLock(&OffTestGlobalLock);
    /* A frame with no running adapter at the other end is lost, as on a cable. */
    if (peer != NULL && OffTestIndicateOn(peer, Frame, Length, OffTestReceiveInfoFor(Frame, Length))) {
        InterlockedIncrement(&OffTestControl.Forwarded);
    }
}

/* A large send cut into segments of at most Mss payload bytes (LSOv2: IP length fields are
 * 0, the TCP checksum field holds the pseudo-header sum without the length). */
static VOID OffTestSegment(_In_ POFFTEST_ADAPTER Adapter, _Inout_ UCHAR *Frame, ULONG Length, ULONG L4, ULONG Mss,
                           BOOLEAN IsIPv4)
{
    UCHAR segment[OFFTEST_MAX_FRAME];
    const ULONG l3 = 14;
    ULONG headers = L4 + (ULONG)(Frame[L4 + 12] >> 4) * 4;
    ULONG payload = Length > headers ? Length - headers : 0;
    ULONG sequence = ((ULONG)Frame[L4 + 4] << 24) | ((ULONG)Frame[L4 + 5] << 16) | ((ULONG)Frame[L4 + 6] << 8) |
                     Frame[L4 + 7];
    USHORT ipId = IsIPv4 ? OffTestGet16(Frame + l3 + 4) : 0;
    UCHAR flags = Frame[L4 + 13];
    ULONG offset;
    ULONG index = 0;

    if (Mss == 0 || headers + Mss > OFFTEST_MAX_FRAME || headers > Length) {
        InterlockedIncrement(&OffTestControl.SoftwareDrops);
        return;
    }
    for (offset = 0; offset < payload; offset += Mss, index++) {
        ULONG chunk = payload - offset < Mss ? payload - offset : Mss;
        ULONG seq = sequence + offset;
        BOOLEAN last = offset + chunk >= payload;
        NdisMoveMemory(segment, Frame, headers);
        NdisMoveMemory(segment + headers, Frame + headers + offset, chunk);
        if (IsIPv4) {
            OffTestPut16(segment + l3 + 2, (USHORT)(headers - l3 + chunk));
            OffTestPut16(segment + l3 + 4, (USHORT)(ipId + index));
            OffTestIpv4HeaderChecksum(segment, l3);
        } else {
            OffTestPut16(segment + l3 + 4, (USHORT)(headers - L4 + chunk));
        }
        segment[L4 + 4] = (UCHAR)(seq >> 24);
        segment[L4 + 5] = (UCHAR)(seq >> 16);
        segment[L4 + 6] = (UCHAR)(seq >> 8);
        segment[L4 + 7] = (UCHAR)seq;
        segment[L4 + 13] = (UCHAR)(flags & ~(index != 0 ? 0x80 : 0) & ~(!last ? 0x09 : 0)); /* CWR first; FIN/PSH last */
        OffTestL4Checksum(segment, l3, L4, headers - L4 + chunk, IsIPv4, 6);
        OffTestForward(Adapter, segment, headers + chunk);
    }
}

static VOID OffTestRecord(_In_ POFFTEST_ADAPTER Adapter, _In_ PNET_BUFFER_LIST Nbl, _In_reads_(Length) const UCHAR *Frame,
                          ULONG Length)
{
    NdisAcquireSpinLock(&OffTestGlobalLock);
    if (OffTestRecordCount < OFFTEST_RECORDS) {
        OFFTEST_SEND_RECORD *record = &OffTestRecords[OffTestRecordCount++];
        record->Adapter = Adapter->Index;
        record->Length = Length;
        record->ChecksumInfo = NET_BUFFER_LIST_INFO(Nbl, TcpIpChecksumNetBufferListInfo);
        record->LargeSendInfo = NET_BUFFER_LIST_INFO(Nbl, TcpLargeSendNetBufferListInfo);
        NdisMoveMemory(record->Head, Frame, Length < OFFTEST_HEAD_BYTES ? Length : OFFTEST_HEAD_BYTES);
    }
    NdisReleaseSpinLock(&OffTestGlobalLock);
}

/* Does to one NBL's frame what the offload info asks, and puts it on the wire. */
static VOID OffTestTransmit(_In_ POFFTEST_ADAPTER Adapter, _In_ PNET_BUFFER_LIST Nbl)
{
    PNET_BUFFER nb = NET_BUFFER_LIST_FIRST_NB(Nbl);
    ULONG length = NET_BUFFER_DATA_LENGTH(nb);
    NDIS_TCP_IP_CHECKSUM_NET_BUFFER_LIST_INFO checksum;
    NDIS_TCP_LARGE_SEND_OFFLOAD_NET_BUFFER_LIST_INFO largeSend;
    UCHAR *frame;

    checksum.Value = NET_BUFFER_LIST_INFO(Nbl, TcpIpChecksumNetBufferListInfo);
    largeSend.Value = NET_BUFFER_LIST_INFO(Nbl, TcpLargeSendNetBufferListInfo);
    NdisAcquireSpinLock(&Adapter->ScratchLock);
    frame = length <= sizeof(Adapter->Scratch) ? (UCHAR *)NdisGetDataBuffer(nb, length, Adapter->Scratch, 1, 0) : NULL;
    if (frame != NULL && frame != Adapter->Scratch) {
        NdisMoveMemory(Adapter->Scratch, frame, length);
    }
    frame = frame != NULL ? Adapter->Scratch : NULL;
    if (frame == NULL || length < 14) {
        InterlockedIncrement(&OffTestControl.SoftwareDrops);
    } else {
        OffTestRecord(Adapter, Nbl, frame, length);
        if (largeSend.Value != NULL && largeSend.LsoV2Transmit.Type == NDIS_TCP_LARGE_SEND_OFFLOAD_V2_TYPE) {
            OffTestSegment(Adapter, frame, length, largeSend.LsoV2Transmit.TcpHeaderOffset, largeSend.LsoV2Transmit.MSS,
                           largeSend.LsoV2Transmit.IPVersion == NDIS_TCP_LARGE_SEND_OFFLOAD_IPv4);
            /* The completion LSOv2 asks for: Reserved zero, Type V2. */
            largeSend.Value = NULL;
            largeSend.LsoV2TransmitComplete.Type = NDIS_TCP_LARGE_SEND_OFFLOAD_V2_TYPE;
            NET_BUFFER_LIST_INFO(Nbl, TcpLargeSendNetBufferListInfo) = largeSend.Value;
        } else {
            ULONG l4 = checksum.Transmit.TcpHeaderOffset;
            if ((checksum.Transmit.TcpChecksum || checksum.Transmit.UdpChecksum) && l4 + 8 <= length) {
                OffTestL4Checksum(frame, 14, l4, length - l4, checksum.Transmit.IsIPv4 != 0,
                                  checksum.Transmit.TcpChecksum ? 6 : 17);
            }
            OffTestForward(Adapter, frame, length);
        }
    }
    NdisReleaseSpinLock(&Adapter->ScratchLock);
}

_Use_decl_annotations_
VOID OffTestSendNetBufferLists(NDIS_HANDLE MiniportAdapterContext, PNET_BUFFER_LIST NetBufferList,
                               NDIS_PORT_NUMBER PortNumber, ULONG SendFlags)
{
    /* IRQL: <= DISPATCH_LEVEL */
    POFFTEST_ADAPTER adapter = (POFFTEST_ADAPTER)MiniportAdapterContext;
    PNET_BUFFER_LIST nbl;

    UNREFERENCED_PARAMETER(PortNumber);
    for (nbl = NetBufferList; nbl != NULL; nbl = NET_BUFFER_LIST_NEXT_NBL(nbl)) {
        InterlockedIncrement(&OffTestControl.Sends);
        OffTestTransmit(adapter, nbl);
        NET_BUFFER_LIST_STATUS(nbl) = NDIS_STATUS_SUCCESS;
    }
    NdisMSendNetBufferListsComplete(adapter->AdapterHandle, NetBufferList,
                                    (SendFlags & NDIS_SEND_FLAGS_DISPATCH_LEVEL) ? NDIS_SEND_COMPLETE_FLAGS_DISPATCH_LEVEL
                                                                                 : 0);
}

_Use_decl_annotations_
VOID OffTestCancelSend(NDIS_HANDLE MiniportAdapterContext, PVOID CancelId)
{
    /* IRQL: <= DISPATCH_LEVEL. Nothing is queued. */
    UNREFERENCED_PARAMETER(MiniportAdapterContext);
    UNREFERENCED_PARAMETER(CancelId);
}

_Use_decl_annotations_
VOID OffTestReturnNetBufferLists(NDIS_HANDLE MiniportAdapterContext, PNET_BUFFER_LIST NetBufferLists, ULONG ReturnFlags)
{
    /* IRQL: <= DISPATCH_LEVEL */
    POFFTEST_ADAPTER adapter = (POFFTEST_ADAPTER)MiniportAdapterContext;
    PNET_BUFFER_LIST nbl;
    PNET_BUFFER_LIST next;

    UNREFERENCED_PARAMETER(ReturnFlags);
    for (nbl = NetBufferLists; nbl != NULL; nbl = next) {
        POFFTEST_RX_SLOT slot = (POFFTEST_RX_SLOT)nbl->MiniportReserved[0];
        next = NET_BUFFER_LIST_NEXT_NBL(nbl);
        NET_BUFFER_LIST_NEXT_NBL(nbl) = NULL;
        InterlockedIncrement(&OffTestControl.Returns);
        NdisAcquireSpinLock(&adapter->Lock);
        slot->InUse = FALSE;
        NdisReleaseSpinLock(&adapter->Lock);
    }
}

_Use_decl_annotations_
NDIS_STATUS OffTestOidRequest(NDIS_HANDLE MiniportAdapterContext, PNDIS_OID_REQUEST OidRequest)
{
    /* IRQL: <= DISPATCH_LEVEL */
    POFFTEST_ADAPTER adapter = (POFFTEST_ADAPTER)MiniportAdapterContext;
    ULONG value = 0;
    const VOID *answer = &value;
    ULONG answerLength = sizeof(value);

    if (OidRequest->RequestType == NdisRequestSetInformation) {
        switch (OidRequest->DATA.SET_INFORMATION.Oid) {
            case OID_GEN_CURRENT_PACKET_FILTER:
            case OID_GEN_CURRENT_LOOKAHEAD:
            case OID_802_3_MULTICAST_LIST:
                OidRequest->DATA.SET_INFORMATION.BytesRead = OidRequest->DATA.SET_INFORMATION.InformationBufferLength;
                return NDIS_STATUS_SUCCESS;
            default:
                return NDIS_STATUS_NOT_SUPPORTED;
        }
    }
    if (OidRequest->RequestType != NdisRequestQueryInformation) {
        return NDIS_STATUS_NOT_SUPPORTED;
    }
    switch (OidRequest->DATA.QUERY_INFORMATION.Oid) {
        case OID_802_3_CURRENT_ADDRESS:
            answer = adapter->Mac;
            answerLength = 6;
            break;
        case OID_GEN_MAXIMUM_FRAME_SIZE:
            value = OFFTEST_MTU;
            break;
        case OID_802_3_MAXIMUM_LIST_SIZE:
            value = 32;
            break;
        default:
            return NDIS_STATUS_NOT_SUPPORTED;
    }
    if (OidRequest->DATA.QUERY_INFORMATION.InformationBufferLength < answerLength) {
        OidRequest->DATA.QUERY_INFORMATION.BytesNeeded = answerLength;
        return NDIS_STATUS_BUFFER_TOO_SHORT;
    }
    NdisMoveMemory(OidRequest->DATA.QUERY_INFORMATION.InformationBuffer, answer, answerLength);
    OidRequest->DATA.QUERY_INFORMATION.BytesWritten = answerLength;
    return NDIS_STATUS_SUCCESS;
}

_Use_decl_annotations_
VOID OffTestCancelOidRequest(NDIS_HANDLE MiniportAdapterContext, PVOID RequestId)
{
    /* IRQL: <= DISPATCH_LEVEL. Every request completes at once. */
    UNREFERENCED_PARAMETER(MiniportAdapterContext);
    UNREFERENCED_PARAMETER(RequestId);
}

_Use_decl_annotations_
VOID OffTestDevicePnPEventNotify(NDIS_HANDLE MiniportAdapterContext, PNET_DEVICE_PNP_EVENT NetDevicePnPEvent)
{
    /* IRQL: PASSIVE_LEVEL */
    UNREFERENCED_PARAMETER(MiniportAdapterContext);
    UNREFERENCED_PARAMETER(NetDevicePnPEvent);
}

_Use_decl_annotations_
VOID OffTestShutdownEx(NDIS_HANDLE MiniportAdapterContext, NDIS_SHUTDOWN_ACTION ShutdownAction)
{
    /* IRQL: PASSIVE_LEVEL (NdisShutdownPowerOff) */
    UNREFERENCED_PARAMETER(MiniportAdapterContext);
    UNREFERENCED_PARAMETER(ShutdownAction);
}

/* ---- the test's side ------------------------------------------------------------------------ */

__attribute__((visibility("default"))) ULONG OffTestCopyRecords(OFFTEST_SEND_RECORD *Records, ULONG Max)
{
    ULONG count;
    NdisAcquireSpinLock(&OffTestGlobalLock);
    count = OffTestRecordCount;
    NdisMoveMemory(Records, OffTestRecords, (count < Max ? count : Max) * sizeof(OFFTEST_SEND_RECORD));
    NdisReleaseSpinLock(&OffTestGlobalLock);
    return count;
}

__attribute__((visibility("default"))) VOID OffTestClearRecords(VOID)
{
    NdisAcquireSpinLock(&OffTestGlobalLock);
    OffTestRecordCount = 0;
    NdisReleaseSpinLock(&OffTestGlobalLock);
}

__attribute__((visibility("default"))) BOOLEAN OffTestIndicate(ULONG Adapter, const UCHAR *Frame, ULONG Length,
                                                               PVOID ChecksumInfo)
{
    /* IRQL: <= DISPATCH_LEVEL */
    POFFTEST_ADAPTER adapter;
    if (Adapter >= OFFTEST_MAX_ADAPTERS) {
        return FALSE;
    }
    NdisAcquireSpinLock(&OffTestGlobalLock);
    adapter = OffTestAdapters[Adapter];
    NdisReleaseSpinLock(&OffTestGlobalLock);
    return adapter != NULL && OffTestIndicateOn(adapter, Frame, Length, ChecksumInfo);
}
