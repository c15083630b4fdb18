/*
 * ndishost/ndis/nblinfo.h -- the out-of-band information a NET_BUFFER_LIST carries in
 * NetBufferListInfo[]: the NDIS_NET_BUFFER_LIST_INFO slot numbers, and the per-slot
 * layouts a NIC miniport uses (checksum offload, large send offload, 802.1Q tag, cancel
 * ID, RSS hash, receive filtering).
 *
 * Every slot is one pointer wide; the structures below are unions with a PVOID Value so
 * a driver can copy a slot in and out of the array in one assignment.
 *
 * Included by <ndis.h>; not meant to be included on its own.
 */
#ifndef NDISHOST_NDIS_NBLINFO_H
#define NDISHOST_NDIS_NBLINFO_H

NDISHOST_EXTERN_C_BEGIN

/* Slot numbers. Several names share a slot (one is used on send, the other on receive).
 * The x64 list: later NDIS versions only append, so an older driver's indices stay valid. */
typedef enum _NDIS_NET_BUFFER_LIST_INFO {
  TcpIpChecksumNetBufferListInfo = 0,
  TcpOffloadBytesTransferred = TcpIpChecksumNetBufferListInfo,
  IPsecOffloadV1NetBufferListInfo = 1,
#if NDIS_SUPPORT_NDIS61
  IPsecOffloadV2NetBufferListInfo = IPsecOffloadV1NetBufferListInfo,
#endif
  TcpLargeSendNetBufferListInfo = 2,
  TcpReceiveNoPush = TcpLargeSendNetBufferListInfo,
  ClassificationHandleNetBufferListInfo = 3,
  Ieee8021QNetBufferListInfo = 4,
  NetBufferListCancelId = 5,
  MediaSpecificInformation = 6,
  NetBufferListFrameType = 7,
  NetBufferListProtocolId = NetBufferListFrameType,
  NetBufferListHashValue = 8,
  NetBufferListHashInfo = 9,
  WfpNetBufferListInfo = 10,
#if NDIS_SUPPORT_NDIS61
  IPsecOffloadV2TunnelNetBufferListInfo = 11,
  IPsecOffloadV2HeaderNetBufferListInfo = 12,
#endif
#if NDIS_SUPPORT_NDIS620
  NetBufferListCorrelationId = 13,
  NetBufferListFilteringInfo = 14,
  MediaSpecificInformationEx = 15,
  NblOriginalInterfaceIfIndex = 16,
  NblReAuthWfpFlowContext = NblOriginalInterfaceIfIndex,
  TcpReceiveBytesTransferred = 17,
  NrtNameResolutionId = TcpReceiveBytesTransferred,
#if NDIS_SUPPORT_NDIS684
  UdpRecvSegCoalesceOffloadInfo = TcpReceiveBytesTransferred,
#endif
#if NDIS_SUPPORT_NDIS630
  SwitchForwardingReserved = 18,
  SwitchForwardingDetail = 19,
  VirtualSubnetInfo = 20,
  IMReserved = 21,
  TcpRecvSegCoalesceInfo = 22,
#if NDIS_SUPPORT_NDIS683
  UdpSegmentationOffloadInfo = TcpRecvSegCoalesceInfo,
#endif
  RscTcpTimestampDelta = 23,
  TcpSendOffloadsSupplementalNetBufferListInfo = RscTcpTimestampDelta,
#if NDIS_SUPPORT_NDIS650
  GftOffloadInformation = 24,
  GftFlowEntryId = 25,
#if NDIS_SUPPORT_NDIS680
  NetBufferListInfoReserved3 = 26,
#endif
#endif
#endif
#endif
#if NDIS_SUPPORT_NDIS680
  MaxNetBufferListInfo = 27
#elif NDIS_SUPPORT_NDIS650
  MaxNetBufferListInfo = 26
#elif NDIS_SUPPORT_NDIS630
  MaxNetBufferListInfo = 24
#elif NDIS_SUPPORT_NDIS620
  MaxNetBufferListInfo = 18
#elif NDIS_SUPPORT_NDIS61
  MaxNetBufferListInfo = 13
#else
  MaxNetBufferListInfo = 11
#endif
} NDIS_NET_BUFFER_LIST_INFO, *PNDIS_NET_BUFFER_LIST_INFO;

/* ---- checksum offload (TcpIpChecksumNetBufferListInfo) ---------------------------- */
typedef struct _NDIS_TCP_IP_CHECKSUM_NET_BUFFER_LIST_INFO {
  union {
    struct {
      ULONG IsIPv4 : 1;
      ULONG IsIPv6 : 1;
      ULONG TcpChecksum : 1;
      ULONG UdpChecksum : 1;
      ULONG IpHeaderChecksum : 1;
      ULONG Reserved : 11;
      ULONG TcpHeaderOffset : 10;
    } Transmit;
    struct {
      ULONG TcpChecksumFailed : 1;
      ULONG UdpChecksumFailed : 1;
      ULONG IpChecksumFailed : 1;
      ULONG TcpChecksumSucceeded : 1;
      ULONG UdpChecksumSucceeded : 1;
      ULONG IpChecksumSucceeded : 1;
      ULONG Loopback : 1;
#if NDIS_SUPPORT_NDIS630
      ULONG TcpChecksumValueInvalid : 1;
      ULONG IpChecksumValueInvalid : 1;
#endif
    } Receive;
    PVOID Value;
  };
} NDIS_TCP_IP_CHECKSUM_NET_BUFFER_LIST_INFO, *PNDIS_TCP_IP_CHECKSUM_NET_BUFFER_LIST_INFO;

/* ---- large send offload (TcpLargeSendNetBufferListInfo) --------------------------- */
#define NDIS_TCP_LARGE_SEND_OFFLOAD_V1_TYPE 0
#define NDIS_TCP_LARGE_SEND_OFFLOAD_V2_TYPE 1
#define NDIS_TCP_LARGE_SEND_OFFLOAD_IPv4 0
#define NDIS_TCP_LARGE_SEND_OFFLOAD_IPv6 1

typedef struct _NDIS_TCP_LARGE_SEND_OFFLOAD_NET_BUFFER_LIST_INFO {
  union {
    struct {
      ULONG Unused : 30;
      ULONG Type : 1;
      ULONG Reserved2 : 1;
    } Transmit;
    struct {
      ULONG MSS : 20;
      ULONG TcpHeaderOffset : 10;
      ULONG Type : 1;
      ULONG Reserved2 : 1;
    } LsoV1Transmit;
    struct {
      ULONG TcpPayload : 30;
      ULONG Type : 1;
      ULONG Reserved2 : 1;
    } LsoV1TransmitComplete;
    struct {
      ULONG MSS : 20;
      ULONG TcpHeaderOffset : 10;
      ULONG Type : 1;
      ULONG IPVersion : 1;
    } LsoV2Transmit;
    struct {
      ULONG Reserved : 30;
      ULONG Type : 1;
      ULONG Reserved2 : 1;
    } LsoV2TransmitComplete;
    PVOID Value;
  };
} NDIS_TCP_LARGE_SEND_OFFLOAD_NET_BUFFER_LIST_INFO, *PNDIS_TCP_LARGE_SEND_OFFLOAD_NET_BUFFER_LIST_INFO;

/* ---- 802.1Q tag (Ieee8021QNetBufferListInfo) -------------------------------------- */
typedef struct _NDIS_NET_BUFFER_LIST_8021Q_INFO {
  union {
    struct {
      UINT32 UserPriority : 3;
      UINT32 CanonicalFormatId : 1;
      UINT32 VlanId : 12;
      UINT32 Reserved : 16;
    } TagHeader;
    struct {
      UINT32 UserPriority : 3;
      UINT32 CanonicalFormatId : 1;
      UINT32 VlanId : 12;
      UINT32 WMMInfo : 4;
      UINT32 Reserved : 12;
    } WLanTagHeader;
    PVOID Value;
  };
} NDIS_NET_BUFFER_LIST_8021Q_INFO, *PNDIS_NET_BUFFER_LIST_8021Q_INFO;

/* ---- receive filtering (NetBufferListFilteringInfo) ------------------------------- */
#if NDIS_SUPPORT_NDIS620
typedef struct _NDIS_NET_BUFFER_LIST_FILTERING_INFO {
  union {
    struct {
      USHORT FilterId;
      USHORT QueueId;
    } FilteringInfo;
    PVOID Value;
  };
} NDIS_NET_BUFFER_LIST_FILTERING_INFO, *PNDIS_NET_BUFFER_LIST_FILTERING_INFO;

#define NET_BUFFER_LIST_RECEIVE_FILTER_ID(_NBL) \
  (((PNDIS_NET_BUFFER_LIST_FILTERING_INFO)&NET_BUFFER_LIST_INFO(_NBL, NetBufferListFilteringInfo))->FilteringInfo.FilterId)
#define NET_BUFFER_LIST_RECEIVE_QUEUE_ID(_NBL) \
  (((PNDIS_NET_BUFFER_LIST_FILTERING_INFO)&NET_BUFFER_LIST_INFO(_NBL, NetBufferListFilteringInfo))->FilteringInfo.QueueId)
#endif

/* ---- cancel IDs (NetBufferListCancelId) ------------------------------------------- */
#define NDIS_SET_NET_BUFFER_LIST_CANCEL_ID(_NBL, _CancelId) \
  (NET_BUFFER_LIST_INFO(_NBL, NetBufferListCancelId) = (PVOID)(_CancelId))
#define NDIS_GET_NET_BUFFER_LIST_CANCEL_ID(_NBL) (NET_BUFFER_LIST_INFO(_NBL, NetBufferListCancelId))

/* ---- protocol ID (NetBufferListProtocolId) ---------------------------------------- */
#define NdisSetNetBufferListProtocolId(_NBL, _ProtocolId) \
  (*((PUCHAR)(&NET_BUFFER_LIST_INFO(_NBL, NetBufferListProtocolId))) = (_ProtocolId))
/* NdisGetNetBufferListProtocolId is in nbl.h, after the structure it reads. */

/* ---- RSS hash (NetBufferListHashValue / NetBufferListHashInfo) -------------------- */
#define NdisHashFunctionToeplitz 0x00000001
#define NdisHashFunctionReserved1 0x00000002
#define NdisHashFunctionReserved2 0x00000004
#define NdisHashFunctionReserved3 0x00000008
#define NDIS_HASH_FUNCTION_MASK 0x000000FF
#define NDIS_HASH_TYPE_MASK 0x00FFFF00
#define NDIS_HASH_IPV4 0x00000100
#define NDIS_HASH_TCP_IPV4 0x00000200
#define NDIS_HASH_IPV6 0x00000400
#define NDIS_HASH_IPV6_EX 0x00000800
#define NDIS_HASH_TCP_IPV6 0x00001000
#define NDIS_HASH_TCP_IPV6_EX 0x00002000
#define NDIS_RSS_HASH_FUNC_FROM_HASH_INFO(_HashInfo) ((_HashInfo) & (NDIS_HASH_FUNCTION_MASK))
#define NDIS_RSS_HASH_TYPE_FROM_HASH_INFO(_HashInfo) ((_HashInfo) & (NDIS_HASH_TYPE_MASK))
#define NDIS_RSS_HASH_INFO_FROM_TYPE_AND_FUNC(_HashType, _HashFunction) ((_HashType) | (_HashFunction))

#define NET_BUFFER_LIST_GET_HASH_VALUE(_NBL) \
  ((ULONG)(ULONG_PTR)NET_BUFFER_LIST_INFO(_NBL, NetBufferListHashValue))
#define NET_BUFFER_LIST_SET_HASH_VALUE(_NBL, _HashValue) \
  (NET_BUFFER_LIST_INFO(_NBL, NetBufferListHashValue) = (PVOID)(ULONG_PTR)(_HashValue))
#define NET_BUFFER_LIST_GET_HASH_TYPE(_NBL) \
  (NDIS_RSS_HASH_TYPE_FROM_HASH_INFO((ULONG)(ULONG_PTR)NET_BUFFER_LIST_INFO(_NBL, NetBufferListHashInfo)))
#define NET_BUFFER_LIST_GET_HASH_FUNCTION(_NBL) \
  (NDIS_RSS_HASH_FUNC_FROM_HASH_INFO((ULONG)(ULONG_PTR)NET_BUFFER_LIST_INFO(_NBL, NetBufferListHashInfo)))
#define NET_BUFFER_LIST_SET_HASH_TYPE(_NBL, _HashType)                            \
  (NET_BUFFER_LIST_INFO(_NBL, NetBufferListHashInfo) = (PVOID)(ULONG_PTR)(        \
       ((ULONG)(ULONG_PTR)NET_BUFFER_LIST_INFO(_NBL, NetBufferListHashInfo) &     \
        ~(ULONG)NDIS_HASH_TYPE_MASK) |                                            \
       ((ULONG)(_HashType) & NDIS_HASH_TYPE_MASK)))
#define NET_BUFFER_LIST_SET_HASH_FUNCTION(_NBL, _HashFunction)                    \
  (NET_BUFFER_LIST_INFO(_NBL, NetBufferListHashInfo) = (PVOID)(ULONG_PTR)(        \
       ((ULONG)(ULONG_PTR)NET_BUFFER_LIST_INFO(_NBL, NetBufferListHashInfo) &     \
        ~(ULONG)NDIS_HASH_FUNCTION_MASK) |                                        \
       ((ULONG)(_HashFunction) & NDIS_HASH_FUNCTION_MASK)))

NDISHOST_EXTERN_C_END

#endif /* NDISHOST_NDIS_NBLINFO_H */
