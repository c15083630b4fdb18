/*
 * layout_checks.h -- Windows x64 sizes and offsets of the <ndis.h>/<ntddndis.h>
 * structures, checked at compile time. Included by one C and one C++ translation unit per
 * NDIS version / NDIS_WDM combination (see CMakeLists.txt), after <ndis.h>.
 *
 * Every expected number is derived by hand from the member list the DDI reference
 * documents for the structure, laid out with the x64 (LLP64) rules: pointers, SIZE_T,
 * ULONG64 and HANDLEs are 8 bytes and 8-aligned; ULONG, enums and NDIS_STATUS 4; USHORT 2;
 * UCHAR/BOOLEAN 1; a structure is padded to its largest alignment. SLIST_HEADER and the
 * DECLSPEC_ALIGN(MEMORY_ALLOCATION_ALIGNMENT) members are 16-aligned. "a@n" below means
 * member a starts at offset n. Where a second published source states a number it is noted.
 */
#ifdef __cplusplus
#define LAYOUT_ASSERT(e) static_assert((e), #e)
#else
#define LAYOUT_ASSERT(e) _Static_assert((e), #e)
#endif
#define SIZE_IS(t, n) LAYOUT_ASSERT(sizeof(t) == (n))
#define OFFSET_IS(t, m, n) LAYOUT_ASSERT(offsetof(t, m) == (n))
/* Each NDIS_SIZEOF_* is the RTL_SIZEOF_THROUGH_FIELD of its revision's last member and the
 * number derived here. */
#define SIZEOF_REV_IS(macro, t, last, n) \
  LAYOUT_ASSERT((macro) == RTL_SIZEOF_THROUGH_FIELD(t, last) && (macro) == (n))

/* ---- object header ------------------------------------------------------------- */
SIZE_IS(NDIS_OBJECT_HEADER, 4); /* Type@0 Revision@1 Size@2 */

/* ---- NET_BUFFER ---------------------------------------------------------------- */
/* Next@0 CurrentMdl@8 CurrentMdlOffset@16 DataLength(ULONG|SIZE_T)@24 MdlChain@32
 * DataOffset@40 -> 48; the union with SLIST_HEADER is 48, 16-aligned. */
SIZE_IS(NET_BUFFER_DATA, 48);
SIZE_IS(NET_BUFFER_HEADER, 48);
OFFSET_IS(NET_BUFFER, CurrentMdl, 8);
OFFSET_IS(NET_BUFFER, CurrentMdlOffset, 16);
OFFSET_IS(NET_BUFFER, DataLength, 24);
OFFSET_IS(NET_BUFFER, stDataLength, 24);
OFFSET_IS(NET_BUFFER, MdlChain, 32);
OFFSET_IS(NET_BUFFER, DataOffset, 40);
/* ChecksumBias@48 Reserved@50 NdisPoolHandle@56 NdisReserved[2]@64 ProtocolReserved[6]@80
 * MiniportReserved[4]@128 DataPhysicalAddress(NdisReserved1)@160; 6.20 adds the
 * SharedMemoryInfo/ScatterGatherList union @168 -> 176 in every version (16-aligned). */
OFFSET_IS(NET_BUFFER, ChecksumBias, 48);
OFFSET_IS(NET_BUFFER, NdisPoolHandle, 56);
OFFSET_IS(NET_BUFFER, NdisReserved, 64);
OFFSET_IS(NET_BUFFER, ProtocolReserved, 80);
OFFSET_IS(NET_BUFFER, MiniportReserved, 128);
SIZE_IS(NET_BUFFER, 176);
#if NDIS_SUPPORT_NDIS620
OFFSET_IS(NET_BUFFER, DataPhysicalAddress, 160);
OFFSET_IS(NET_BUFFER, SharedMemoryInfo, 168);
SIZE_IS(NET_BUFFER_SHARED_MEMORY, 32); /* Next@0 Flags@8 Handle@16 Offset@24 Length@28 */
#endif

/* ---- NET_BUFFER_LIST ----------------------------------------------------------- */
SIZE_IS(NET_BUFFER_LIST_DATA, 16);
SIZE_IS(NET_BUFFER_LIST_HEADER, 16);
/* Next@0 FirstNetBuffer@8 Context@16 ParentNetBufferList@24 NdisPoolHandle@32
 * NdisReserved[2]@48 (16-aligned) ProtocolReserved[4]@64 MiniportReserved[2]@96
 * Scratch@112 SourceHandle@120 NblFlags@128 ChildRefCount@132 Flags@136 Status@140
 * NetBufferListInfo@144 (0x90, as published NBL-info slot tables state). */
OFFSET_IS(NET_BUFFER_LIST, FirstNetBuffer, 8);
OFFSET_IS(NET_BUFFER_LIST, Context, 16);
OFFSET_IS(NET_BUFFER_LIST, ParentNetBufferList, 24);
OFFSET_IS(NET_BUFFER_LIST, NdisPoolHandle, 32);
OFFSET_IS(NET_BUFFER_LIST, NdisReserved, 48);
OFFSET_IS(NET_BUFFER_LIST, ProtocolReserved, 64);
OFFSET_IS(NET_BUFFER_LIST, MiniportReserved, 96);
OFFSET_IS(NET_BUFFER_LIST, Scratch, 112);
OFFSET_IS(NET_BUFFER_LIST, SourceHandle, 120);
OFFSET_IS(NET_BUFFER_LIST, NblFlags, 128);
OFFSET_IS(NET_BUFFER_LIST, ChildRefCount, 132);
OFFSET_IS(NET_BUFFER_LIST, Flags, 136);
OFFSET_IS(NET_BUFFER_LIST, Status, 140);
OFFSET_IS(NET_BUFFER_LIST, NetBufferListInfo, 144);
/* 144 + 8 * MaxNetBufferListInfo, rounded up to 16:
 * 6.0: 11 slots -> 232 -> 240; 6.1: 13 -> 248 -> 256; 6.20: 18 -> 288;
 * 6.30/6.40: 24 -> 336; 6.50..6.70: 26 -> 352; 6.80+: 27 -> 360 -> 368. */
#if NDIS_SUPPORT_NDIS680
LAYOUT_ASSERT(MaxNetBufferListInfo == 27);
SIZE_IS(NET_BUFFER_LIST, 368);
#elif NDIS_SUPPORT_NDIS650
LAYOUT_ASSERT(MaxNetBufferListInfo == 26);
SIZE_IS(NET_BUFFER_LIST, 352);
#elif NDIS_SUPPORT_NDIS630
LAYOUT_ASSERT(MaxNetBufferListInfo == 24);
SIZE_IS(NET_BUFFER_LIST, 336);
#elif NDIS_SUPPORT_NDIS620
LAYOUT_ASSERT(MaxNetBufferListInfo == 18);
SIZE_IS(NET_BUFFER_LIST, 288);
#elif NDIS_SUPPORT_NDIS61
SIZE_IS(NET_BUFFER_LIST, 256);
#else
LAYOUT_ASSERT(MaxNetBufferListInfo == 11);
SIZE_IS(NET_BUFFER_LIST, 240);
#endif
/* Slot numbers used by the x64 published slot table (TcpIpChecksum 0 .. RscTcpTimestampDelta 23). */
LAYOUT_ASSERT(TcpIpChecksumNetBufferListInfo == 0 && TcpLargeSendNetBufferListInfo == 2);
LAYOUT_ASSERT(Ieee8021QNetBufferListInfo == 4 && NetBufferListCancelId == 5);
LAYOUT_ASSERT(NetBufferListFrameType == 7 && NetBufferListProtocolId == 7);
LAYOUT_ASSERT(NetBufferListHashValue == 8 && NetBufferListHashInfo == 9);
#if NDIS_SUPPORT_NDIS630
LAYOUT_ASSERT(NetBufferListFilteringInfo == 14 && VirtualSubnetInfo == 20 && RscTcpTimestampDelta == 23);
#endif

/* Next@0 Size@8 Offset@10, ContextData 16-aligned @16. */
SIZE_IS(NET_BUFFER_LIST_CONTEXT, 16);
OFFSET_IS(NET_BUFFER_LIST_CONTEXT, ContextData, 16);

/* Header@0 ProtocolId@4 fAllocateNetBuffer@5 ContextSize@6 PoolTag@8 DataSize@12 -> 16 */
SIZE_IS(NET_BUFFER_LIST_POOL_PARAMETERS, 16);
SIZEOF_REV_IS(NDIS_SIZEOF_NET_BUFFER_LIST_POOL_PARAMETERS_REVISION_1, NET_BUFFER_LIST_POOL_PARAMETERS, DataSize, 16);
/* Header@0 PoolTag@4 DataSize@8 -> 12 */
SIZE_IS(NET_BUFFER_POOL_PARAMETERS, 12);
SIZEOF_REV_IS(NDIS_SIZEOF_NET_BUFFER_POOL_PARAMETERS_REVISION_1, NET_BUFFER_POOL_PARAMETERS, DataSize, 12);

/* ---- per-NBL information: each is one pointer-sized union ---------------------- */
SIZE_IS(NDIS_TCP_IP_CHECKSUM_NET_BUFFER_LIST_INFO, 8);
SIZE_IS(NDIS_TCP_LARGE_SEND_OFFLOAD_NET_BUFFER_LIST_INFO, 8);
SIZE_IS(NDIS_NET_BUFFER_LIST_8021Q_INFO, 8);

/* ---- OID requests -------------------------------------------------------------- */
/* Header@0 RequestType@4 PortNumber@8 Timeout@12 RequestId@16 RequestHandle@24 DATA@32
 * (METHOD: Oid@0 InformationBuffer@8 Input@16 Output@20 MethodId@24 BytesWritten@28
 * BytesRead@32 BytesNeeded@36 -> 40) NdisReserved[128]@72 MiniportReserved[16]@200
 * SourceReserved[16]@216 SupportedRevision@232 Reserved1@233 Reserved2@234 -> 236;
 * 6.50 adds SwitchId@236 VPortId@240 Flags@244 -> 248. (236/248 also stated by a second
 * published source.) */
OFFSET_IS(NDIS_OID_REQUEST, RequestHandle, 24);
OFFSET_IS(NDIS_OID_REQUEST, DATA, 32);
OFFSET_IS(NDIS_OID_REQUEST, DATA.QUERY_INFORMATION.InformationBuffer, 40);
OFFSET_IS(NDIS_OID_REQUEST, DATA.METHOD_INFORMATION.MethodId, 56);
OFFSET_IS(NDIS_OID_REQUEST, NdisReserved, 72);
OFFSET_IS(NDIS_OID_REQUEST, SupportedRevision, 232);
SIZEOF_REV_IS(NDIS_SIZEOF_OID_REQUEST_REVISION_1, NDIS_OID_REQUEST, Reserved2, 236);
#if NDIS_SUPPORT_NDIS650
SIZEOF_REV_IS(NDIS_SIZEOF_OID_REQUEST_REVISION_2, NDIS_OID_REQUEST, Flags, 248);
SIZE_IS(NDIS_OID_REQUEST, 248);
#else
SIZE_IS(NDIS_OID_REQUEST, 240);
#endif

/* ---- miniport driver characteristics ------------------------------------------- */
/* Header@0 versions@4..7 Flags@8 then 15 handlers from @16: ... CancelOidRequestHandler
 * @128 -> 136 (rev 1); DirectOid@136 CancelDirectOid@144 -> 152 (rev 2, 6.1);
 * SynchronousOid@152 -> 160 (rev 3, 6.80). */
OFFSET_IS(NDIS_MINIPORT_DRIVER_CHARACTERISTICS, Flags, 8);
OFFSET_IS(NDIS_MINIPORT_DRIVER_CHARACTERISTICS, SetOptionsHandler, 16);
OFFSET_IS(NDIS_MINIPORT_DRIVER_CHARACTERISTICS, SendNetBufferListsHandler, 72);
SIZEOF_REV_IS(NDIS_SIZEOF_MINIPORT_DRIVER_CHARACTERISTICS_REVISION_1, NDIS_MINIPORT_DRIVER_CHARACTERISTICS,
              CancelOidRequestHandler, 136);
#if NDIS_SUPPORT_NDIS680
SIZEOF_REV_IS(NDIS_SIZEOF_MINIPORT_DRIVER_CHARACTERISTICS_REVISION_2, NDIS_MINIPORT_DRIVER_CHARACTERISTICS,
              CancelDirectOidRequestHandler, 152);
SIZEOF_REV_IS(NDIS_SIZEOF_MINIPORT_DRIVER_CHARACTERISTICS_REVISION_3, NDIS_MINIPORT_DRIVER_CHARACTERISTICS,
              SynchronousOidRequestHandler, 160);
SIZE_IS(NDIS_MINIPORT_DRIVER_CHARACTERISTICS, 160);
#elif NDIS_SUPPORT_NDIS61
SIZEOF_REV_IS(NDIS_SIZEOF_MINIPORT_DRIVER_CHARACTERISTICS_REVISION_2, NDIS_MINIPORT_DRIVER_CHARACTERISTICS,
              CancelDirectOidRequestHandler, 152);
SIZE_IS(NDIS_MINIPORT_DRIVER_CHARACTERISTICS, 152);
#else
SIZE_IS(NDIS_MINIPORT_DRIVER_CHARACTERISTICS, 136);
#endif

/* ---- adapter attributes -------------------------------------------------------- */
/* Header@0 MiniportAdapterContext@8 AttributeFlags@16 CheckForHangTimeInSeconds@20
 * InterfaceType@24 -> 28 (0x1C, also stated by a second source) -> sizeof 32. */
SIZEOF_REV_IS(NDIS_SIZEOF_MINIPORT_ADAPTER_REGISTRATION_ATTRIBUTES_REVISION_1,
              NDIS_MINIPORT_ADAPTER_REGISTRATION_ATTRIBUTES, InterfaceType, 28);
SIZE_IS(NDIS_MINIPORT_ADAPTER_REGISTRATION_ATTRIBUTES, 32);
/* Header@0 Flags@4 MediaType@8 PhysicalMediumType@12 MtuSize@16 MaxXmitLinkSpeed@24
 * XmitLinkSpeed@32 MaxRcvLinkSpeed@40 RcvLinkSpeed@48 MediaConnectState@56
 * MediaDuplexState@60 LookaheadSize@64 PowerManagementCapabilities@72 MacOptions@80
 * SupportedPacketFilters@84 MaxMulticastListSize@88 MacAddressLength@92
 * PermanentMacAddress[32]@94 CurrentMacAddress[32]@126 RecvScaleCapabilities@160
 * AccessType@168 DirectionType@172 ConnectionType@176 IfType@180 IfConnectorPresent@182
 * SupportedStatistics@184 SupportedPauseFunctions@188 DataBackFillSize@192
 * ContextBackFillSize@196 SupportedOidList@200 SupportedOidListLength@208
 * AutoNegotiationFlags@212 -> 216 (rev 1); PowerManagementCapabilitiesEx@216 -> 224
 * (rev 2, 0xE0 also stated by a second source). */
OFFSET_IS(NDIS_MINIPORT_ADAPTER_GENERAL_ATTRIBUTES, MaxXmitLinkSpeed, 24);
OFFSET_IS(NDIS_MINIPORT_ADAPTER_GENERAL_ATTRIBUTES, PowerManagementCapabilities, 72);
OFFSET_IS(NDIS_MINIPORT_ADAPTER_GENERAL_ATTRIBUTES, PermanentMacAddress, 94);
OFFSET_IS(NDIS_MINIPORT_ADAPTER_GENERAL_ATTRIBUTES, RecvScaleCapabilities, 160);
OFFSET_IS(NDIS_MINIPORT_ADAPTER_GENERAL_ATTRIBUTES, IfType, 180);
OFFSET_IS(NDIS_MINIPORT_ADAPTER_GENERAL_ATTRIBUTES, SupportedOidList, 200);
SIZEOF_REV_IS(NDIS_SIZEOF_MINIPORT_ADAPTER_GENERAL_ATTRIBUTES_REVISION_1, NDIS_MINIPORT_ADAPTER_GENERAL_ATTRIBUTES,
              AutoNegotiationFlags, 216);
#if NDIS_SUPPORT_NDIS620
SIZEOF_REV_IS(NDIS_SIZEOF_MINIPORT_ADAPTER_GENERAL_ATTRIBUTES_REVISION_2, NDIS_MINIPORT_ADAPTER_GENERAL_ATTRIBUTES,
              PowerManagementCapabilitiesEx, 224);
SIZE_IS(NDIS_MINIPORT_ADAPTER_GENERAL_ATTRIBUTES, 224);
#else
SIZE_IS(NDIS_MINIPORT_ADAPTER_GENERAL_ATTRIBUTES, 216);
#endif
/* Header@0 then four pointers @8..@32 -> 40 */
SIZEOF_REV_IS(NDIS_SIZEOF_MINIPORT_ADAPTER_OFFLOAD_ATTRIBUTES_REVISION_1, NDIS_MINIPORT_ADAPTER_OFFLOAD_ATTRIBUTES,
              TcpConnectionOffloadHardwareCapabilities, 40);
/* Header@0 MiniportAddDeviceContext@8 Flags@16 -> 20 -> 24 */
SIZEOF_REV_IS(NDIS_SIZEOF_MINIPORT_ADD_DEVICE_REGISTRATION_ATTRIBUTES_REVISION_1,
              NDIS_MINIPORT_ADD_DEVICE_REGISTRATION_ATTRIBUTES, Flags, 20);

/* ---- offload ------------------------------------------------------------------- */
SIZE_IS(NDIS_TCP_IP_CHECKSUM_OFFLOAD, 32);   /* 4 x (Encapsulation + one ULONG of bit fields) */
SIZE_IS(NDIS_TCP_LARGE_SEND_OFFLOAD_V1, 16); /* 3 ULONGs + bit fields */
SIZE_IS(NDIS_IPSEC_OFFLOAD_V1, 28);          /* 5 ULONGs + 2 bit-field ULONGs */
SIZE_IS(NDIS_TCP_LARGE_SEND_OFFLOAD_V2, 28); /* 3 + 4 ULONGs */
SIZE_IS(NDIS_IPSEC_OFFLOAD_V2, 32);          /* ULONG, 11 BOOLEANs -> 16, 4 ULONGs */
SIZE_IS(NDIS_TCP_RECV_SEG_COALESCE_OFFLOAD, 2);
SIZE_IS(NDIS_ENCAPSULATED_PACKET_TASK_OFFLOAD, 8);
SIZE_IS(NDIS_ENCAPSULATED_PACKET_TASK_OFFLOAD_V2, 20);
SIZE_IS(NDIS_RFC6877_464XLAT_OFFLOAD, 8);
SIZE_IS(NDIS_UDP_SEGMENTATION_OFFLOAD, 28);
/* Header@0 Checksum@4 LsoV1@36 IPsecV1@52 LsoV2@80 Flags@108 -> 112 (rev 1);
 * IPsecV2@112 -> 144 (rev 2); Rsc@144 EncapsulatedPacketTaskOffloadGre@148 -> 156 (rev 3);
 * Vxlan@156 EncapsulationTypes@176 -> 177 (rev 4); Rfc6877Xlat@180 -> 188 (rev 5);
 * UdpSegmentation@188 -> 216 (rev 6, 6.83). */
SIZEOF_REV_IS(NDIS_SIZEOF_NDIS_OFFLOAD_REVISION_1, NDIS_OFFLOAD, Flags, 112);
#if NDIS_SUPPORT_NDIS630
SIZEOF_REV_IS(NDIS_SIZEOF_NDIS_OFFLOAD_REVISION_2, NDIS_OFFLOAD, IPsecV2, 144);
SIZEOF_REV_IS(NDIS_SIZEOF_NDIS_OFFLOAD_REVISION_3, NDIS_OFFLOAD, EncapsulatedPacketTaskOffloadGre, 156);
#endif
#if NDIS_SUPPORT_NDIS680
SIZEOF_REV_IS(NDIS_SIZEOF_NDIS_OFFLOAD_REVISION_4, NDIS_OFFLOAD, EncapsulationTypes, 177);
SIZEOF_REV_IS(NDIS_SIZEOF_NDIS_OFFLOAD_REVISION_5, NDIS_OFFLOAD, Rfc6877Xlat, 188);
SIZE_IS(NDIS_OFFLOAD, 188);
#elif NDIS_SUPPORT_NDIS630
SIZE_IS(NDIS_OFFLOAD, 156);
#else
SIZE_IS(NDIS_OFFLOAD, 112);
#endif
/* Header@0 11 UCHARs @4..14 Flags@16 -> 20; IPsecV2@20 IPsecV2IPv4@21 -> 22;
 * RscIPv4/v6@22 Encapsulated*@24 -> 26 */
SIZEOF_REV_IS(NDIS_SIZEOF_OFFLOAD_PARAMETERS_REVISION_1, NDIS_OFFLOAD_PARAMETERS, Flags, 20);
#if NDIS_SUPPORT_NDIS630
SIZEOF_REV_IS(NDIS_SIZEOF_OFFLOAD_PARAMETERS_REVISION_2, NDIS_OFFLOAD_PARAMETERS, IPsecV2IPv4, 22);
SIZEOF_REV_IS(NDIS_SIZEOF_OFFLOAD_PARAMETERS_REVISION_3, NDIS_OFFLOAD_PARAMETERS, EncapsulationTypes, 26);
SIZE_IS(NDIS_OFFLOAD_PARAMETERS, 28);
#endif

/* ---- initialize / pause / restart ---------------------------------------------- */
/* Header@0 Flags@4 AllocatedResources@8 IMDeviceInstanceContext@16
 * MiniportAddDeviceContext@24 IfIndex@32 NetLuid@40 DefaultPortAuthStates@48
 * PciDeviceCustomProperties@56 -> 64 */
OFFSET_IS(NDIS_MINIPORT_INIT_PARAMETERS, NetLuid, 40);
SIZEOF_REV_IS(NDIS_SIZEOF_MINIPORT_INIT_PARAMETER_REVISION_1, NDIS_MINIPORT_INIT_PARAMETERS,
              PciDeviceCustomProperties, 64);
SIZE_IS(NET_LUID, 8);
/* Header@0 Flags@4 PauseReason@8 -> 12 */
SIZEOF_REV_IS(NDIS_SIZEOF_MINIPORT_PAUSE_PARAMETERS_REVISION_1, NDIS_MINIPORT_PAUSE_PARAMETERS, PauseReason, 12);
/* Header@0 RestartAttributes@8 Flags@16 -> 20 -> 24 */
SIZEOF_REV_IS(NDIS_SIZEOF_MINIPORT_RESTART_PARAMETERS_REVISION_1, NDIS_MINIPORT_RESTART_PARAMETERS, Flags, 20);
SIZE_IS(NDIS_MINIPORT_RESTART_PARAMETERS, 24);
/* Next@0 Oid@8 DataLength@12 Data (16-aligned)@16 -> 32 */
OFFSET_IS(NDIS_RESTART_ATTRIBUTES, Data, 16);
SIZE_IS(NDIS_RESTART_ATTRIBUTES, 32);
/* Header@0 MtuSize@4 MaxXmit@8 MaxRcv@16 Lookahead@24 MacOptions@28 Filters@32
 * MaxMulticast@36 RecvScaleCapabilities@40 AccessType@48 Flags@52 ConnectionType@56
 * SupportedStatistics@60 DataBackFill@64 ContextBackFill@68 SupportedOidList@72
 * SupportedOidListLength@80 -> 84; MaxLookaheadSizeAccessed@84 -> 88 */
SIZEOF_REV_IS(NDIS_SIZEOF_RESTART_GENERAL_ATTRIBUTES_REVISION_1, NDIS_RESTART_GENERAL_ATTRIBUTES,
              SupportedOidListLength, 84);
SIZE_IS(NDIS_RESTART_GENERAL_ATTRIBUTES, 88);

/* ---- status, PnP --------------------------------------------------------------- */
/* Header@0 SourceHandle@8 PortNumber@16 StatusCode@20 Flags@24 DestinationHandle@32
 * RequestId@40 StatusBuffer@48 StatusBufferSize@56 Guid@60 NdisReserved[4]@80 -> 112 */
OFFSET_IS(NDIS_STATUS_INDICATION, Guid, 60);
SIZEOF_REV_IS(NDIS_SIZEOF_STATUS_INDICATION_REVISION_1, NDIS_STATUS_INDICATION, NdisReserved, 112);
/* Header@0 MediaConnectState@4 MediaDuplexState@8 XmitLinkSpeed@16 RcvLinkSpeed@24
 * PauseFunctions@32 AutoNegotiationFlags@36 -> 40 */
SIZEOF_REV_IS(NDIS_SIZEOF_LINK_STATE_REVISION_1, NDIS_LINK_STATE, AutoNegotiationFlags, 40);
SIZEOF_REV_IS(NDIS_SIZEOF_LINK_PARAMETERS_REVISION_1, NDIS_LINK_PARAMETERS, AutoNegotiationFlags, 32);
/* Header@0 SupportedStatistics@4 then 18 ULONG64 counters @8 -> 152 */
SIZEOF_REV_IS(NDIS_SIZEOF_STATISTICS_INFO_REVISION_1, NDIS_STATISTICS_INFO, ifHCOutBroadcastOctets, 152);
/* NetEvent@0 Buffer@8 BufferLength@16 NdisReserved[4]@24 TransportReserved[4]@56
 * TdiReserved[4]@88 TdiClientReserved[4]@120 -> 152 */
SIZE_IS(NET_PNP_EVENT, 152);
/* Header@0 PortNumber@4 NetPnPEvent@8 Flags@160 -> 164; SwitchId@164 VPortId@168 -> 172 */
SIZEOF_REV_IS(NDIS_SIZEOF_NET_PNP_EVENT_NOTIFICATION_REVISION_1, NET_PNP_EVENT_NOTIFICATION, Flags, 164);
#if NDIS_SUPPORT_NDIS650
SIZEOF_REV_IS(NDIS_SIZEOF_NET_PNP_EVENT_NOTIFICATION_REVISION_2, NET_PNP_EVENT_NOTIFICATION, VPortId, 172);
SIZE_IS(NET_PNP_EVENT_NOTIFICATION, 176);
#else
SIZE_IS(NET_PNP_EVENT_NOTIFICATION, 168);
#endif
/* Header@0 PortNumber@4 DevicePnPEvent@8 InformationBuffer@16 InformationBufferLength@24
 * NdisReserved[16]@28 -> 44 -> 48 */
SIZEOF_REV_IS(NDIS_SIZEOF_NET_DEVICE_PNP_EVENT_REVISION_1, NET_DEVICE_PNP_EVENT, NdisReserved, 44);
SIZE_IS(NET_DEVICE_PNP_EVENT, 48);

/* ---- protocol ------------------------------------------------------------------ */
/* Header@0 versions@4..7 Flags@8 Name(UNICODE_STRING, 16)@16 then 11 handlers @32..@112
 * -> 120 (rev 1); DirectOidRequestCompleteHandler@120 -> 128 (rev 2, 6.1) */
OFFSET_IS(NDIS_PROTOCOL_DRIVER_CHARACTERISTICS, Name, 16);
SIZEOF_REV_IS(NDIS_SIZEOF_PROTOCOL_DRIVER_CHARACTERISTICS_REVISION_1, NDIS_PROTOCOL_DRIVER_CHARACTERISTICS,
              SendNetBufferListsCompleteHandler, 120);
#if NDIS_SUPPORT_NDIS61
SIZEOF_REV_IS(NDIS_SIZEOF_PROTOCOL_DRIVER_CHARACTERISTICS_REVISION_2, NDIS_PROTOCOL_DRIVER_CHARACTERISTICS,
              DirectOidRequestCompleteHandler, 128);
#endif
/* Header@0 Flags@4 PauseReason@8 -> 12 */
SIZEOF_REV_IS(NDIS_SIZEOF_PROTOCOL_PAUSE_PARAMETERS_REVISION_1, NDIS_PROTOCOL_PAUSE_PARAMETERS, PauseReason, 12);
SIZE_IS(NDIS_PROTOCOL_PAUSE_PARAMETERS, 12);
/* Header@0 FilterModuleNameBuffer@8 FilterModuleNameBufferLength@16 RestartAttributes@24
 * BoundIfIndex@32 BoundIfNetluid@40 Flags@48 -> 52 -> 56 */
OFFSET_IS(NDIS_PROTOCOL_RESTART_PARAMETERS, RestartAttributes, 24);
OFFSET_IS(NDIS_PROTOCOL_RESTART_PARAMETERS, BoundIfNetluid, 40);
SIZEOF_REV_IS(NDIS_SIZEOF_PROTOCOL_RESTART_PARAMETERS_REVISION_1, NDIS_PROTOCOL_RESTART_PARAMETERS, Flags, 52);
SIZE_IS(NDIS_PROTOCOL_RESTART_PARAMETERS, 56);
/* ... CurrentMacAddress[32]@106 PhysicalMediumType@140 RcvScaleCapabilities@144
 * BoundIfNetluid@152 BoundIfIndex@160 LowestIfNetluid@168 LowestIfIndex@176 AccessType@180
 * DirectionType@184 ConnectionType@188 IfType@192 IfConnectorPresent@194 ActivePorts@200
 * DataBackFillSize@208 ContextBackFillSize@212 MacOptions@216 CompartmentId@220
 * DefaultOffloadConfiguration@224 TcpConnectionOffloadCapabilities@232
 * BoundAdapterName@240 -> 248 (rev 1); HDSplitCurrentConfig -> 256 (rev 2);
 * ReceiveFilterCapabilities, PowerManagementCapabilitiesEx, NicSwitchCapabilities -> 280
 * (rev 3); NDKEnabled@280 NDKCapabilities@288 SriovCapabilities@296 NicSwitchArray@304 ->
 * 312 (rev 4) */
OFFSET_IS(NDIS_BIND_PARAMETERS, CurrentMacAddress, 106);
OFFSET_IS(NDIS_BIND_PARAMETERS, BoundIfNetluid, 152);
SIZEOF_REV_IS(NDIS_SIZEOF_BIND_PARAMETERS_REVISION_1, NDIS_BIND_PARAMETERS, BoundAdapterName, 248);
#if NDIS_SUPPORT_NDIS630
SIZEOF_REV_IS(NDIS_SIZEOF_BIND_PARAMETERS_REVISION_2, NDIS_BIND_PARAMETERS, HDSplitCurrentConfig, 256);
SIZEOF_REV_IS(NDIS_SIZEOF_BIND_PARAMETERS_REVISION_3, NDIS_BIND_PARAMETERS, NicSwitchCapabilities, 280);
SIZEOF_REV_IS(NDIS_SIZEOF_BIND_PARAMETERS_REVISION_4, NDIS_BIND_PARAMETERS, NicSwitchArray, 312);
#endif
/* Header@0 AdapterName@8 MediumArray@16 MediumArraySize@24 SelectedMediumIndex@32
 * FrameTypeArray@40 FrameTypeArraySize@48 -> 52 -> 56 */
SIZEOF_REV_IS(NDIS_SIZEOF_OPEN_PARAMETERS_REVISION_1, NDIS_OPEN_PARAMETERS, FrameTypeArraySize, 52);
SIZE_IS(NDIS_OPEN_PARAMETERS, 56);

/* ---- configuration, timers, locks, devices ------------------------------------- */
SIZEOF_REV_IS(NDIS_SIZEOF_CONFIGURATION_OBJECT_REVISION_1, NDIS_CONFIGURATION_OBJECT, Flags, 20); /* Handle@8 Flags@16 */
SIZE_IS(NDIS_CONFIGURATION_PARAMETER, 24); /* ParameterType@0 ParameterData(16)@8 */
OFFSET_IS(NDIS_CONFIGURATION_PARAMETER, ParameterData, 8);
/* Header@0 AllocationTag@4 TimerFunction@8 FunctionContext@16 -> 24 */
SIZEOF_REV_IS(NDIS_SIZEOF_TIMER_CHARACTERISTICS_REVISION_1, NDIS_TIMER_CHARACTERISTICS, FunctionContext, 24);
SIZE_IS(NDIS_SPIN_LOCK, 16); /* SpinLock@0 OldIrql@8 */
SIZE_IS(LOCK_STATE_EX, 3);   /* OldIrql@0 LockState@1 Flags@2 */
/* Header@0 DeviceName@8 SymbolicName@16 MajorFunctions@24 ExtensionSize@32
 * DefaultSDDLString@40 DeviceClassGuid@48 -> 56 */
SIZEOF_REV_IS(NDIS_SIZEOF_DEVICE_OBJECT_ATTRIBUTES_REVISION_1, NDIS_DEVICE_OBJECT_ATTRIBUTES, DeviceClassGuid, 56);
SIZE_IS(NDIS_GENERIC_OBJECT, 32); /* Header@0 Caller@8 CallersCaller@16 DriverObject@24 */
/* Header@0 4 handlers @8..@32 MsiSupported@40 MsiSyncWithAllMessages@41 4 handlers
 * @48..@72 InterruptType@80 MessageInfoTable@88 -> 96 */
SIZEOF_REV_IS(NDIS_SIZEOF_MINIPORT_INTERRUPT_CHARACTERISTICS_REVISION_1, NDIS_MINIPORT_INTERRUPT_CHARACTERISTICS,
              MessageInfoTable, 96);

/* ---- ntddndis types ------------------------------------------------------------ */
SIZE_IS(NDIS_PNP_CAPABILITIES, 16); /* Flags@0 + 3 power-state enums */
/* Header@0 then 14 four-byte members -> 60; rev 1 ends after MinLinkChangeWakeUp@48 -> 52 */
SIZEOF_REV_IS(NDIS_SIZEOF_NDIS_PM_CAPABILITIES_REVISION_1, NDIS_PM_CAPABILITIES, MinLinkChangeWakeUp, 52);
SIZEOF_REV_IS(NDIS_SIZEOF_NDIS_PM_CAPABILITIES_REVISION_2, NDIS_PM_CAPABILITIES, MediaSpecificWakeUpEvents, 60);
/* Header@0 CapabilitiesFlags@4 NumberOfInterruptMessages@8 NumberOfReceiveQueues@12
 * -> 16; NumberOfIndirectionTableEntries@16 -> 18 -> 20 */
SIZEOF_REV_IS(NDIS_SIZEOF_RECEIVE_SCALE_CAPABILITIES_REVISION_1, NDIS_RECEIVE_SCALE_CAPABILITIES,
              NumberOfReceiveQueues, 16);
SIZEOF_REV_IS(NDIS_SIZEOF_RECEIVE_SCALE_CAPABILITIES_REVISION_2, NDIS_RECEIVE_SCALE_CAPABILITIES,
              NumberOfIndirectionTableEntries, 18);
SIZEOF_REV_IS(NDIS_SIZEOF_INTERRUPT_MODERATION_PARAMETERS_REVISION_1, NDIS_INTERRUPT_MODERATION_PARAMETERS,
              InterruptModeration, 12);
SIZEOF_REV_IS(NDIS_SIZEOF_PORT_AUTHENTICATION_PARAMETERS_REVISION_1, NDIS_PORT_AUTHENTICATION_PARAMETERS,
              RcvAuthorizationState, 20);
/* Header@0 PortNumber@4 Flags@8 Type@12 MediaConnectState@16 XmitLinkSpeed@24
 * RcvLinkSpeed@32 Direction@40 4 states @44..@56 -> 60 -> 64 */
SIZEOF_REV_IS(NDIS_SIZEOF_PORT_CHARACTERISTICS_REVISION_1, NDIS_PORT_CHARACTERISTICS, RcvAuthorizationState, 60);
SIZE_IS(NDIS_PORT_CHARACTERISTICS, 64);
/* Header@0 MediaConnectState@4 XmitLinkSpeed@8 RcvLinkSpeed@16 Direction@24 4 states
 * @28..@40 Flags@44 -> 48 */
SIZEOF_REV_IS(NDIS_SIZEOF_PORT_STATE_REVISION_1, NDIS_PORT_STATE, Flags, 48);
SIZE_IS(NDIS_PORT, 96); /* Next, 3 reserved pointers, PortCharacteristics@32 (64) */
