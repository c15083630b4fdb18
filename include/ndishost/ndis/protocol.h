/*
 * ndishost/ndis/protocol.h -- the NDIS 6 protocol driver interface: the ProtocolXxx role
 * types, NDIS_PROTOCOL_DRIVER_CHARACTERISTICS, bind/open parameters, and the DDIs a
 * protocol uses to bind to an adapter and move data and OIDs through it.
 *
 * Included by <ndis.h>; not meant to be included on its own.
 */
#ifndef NDISHOST_NDIS_PROTOCOL_H
#define NDISHOST_NDIS_PROTOCOL_H

NDISHOST_EXTERN_C_BEGIN

/* ---- bind and open parameters --------------------------------------------------- */
typedef ULONG NET_FRAME_TYPE, *PNET_FRAME_TYPE;
typedef ULONG NDIS_COMPARTMENT_ID; /* NET_IF_COMPARTMENT_ID */

/* Referenced by pointer only (NDIS 6.20+ virtualization and NDK capabilities). */
typedef struct _NDIS_HD_SPLIT_CURRENT_CONFIG *PNDIS_HD_SPLIT_CURRENT_CONFIG;
typedef struct _NDIS_RECEIVE_FILTER_CAPABILITIES *PNDIS_RECEIVE_FILTER_CAPABILITIES;
typedef struct _NDIS_NIC_SWITCH_CAPABILITIES *PNDIS_NIC_SWITCH_CAPABILITIES;
typedef struct _NDIS_NDK_CAPABILITIES *PNDIS_NDK_CAPABILITIES;
typedef struct _NDIS_SRIOV_CAPABILITIES *PNDIS_SRIOV_CAPABILITIES;
typedef struct _NDIS_NIC_SWITCH_INFO_ARRAY *PNDIS_NIC_SWITCH_INFO_ARRAY;
typedef struct _NDIS_PORT_ARRAY *PNDIS_PORT_ARRAY;

#define NDIS_BIND_PARAMETERS_REVISION_1 1
#if NDIS_SUPPORT_NDIS61
#define NDIS_BIND_PARAMETERS_REVISION_2 2
#endif
#if NDIS_SUPPORT_NDIS620
#define NDIS_BIND_PARAMETERS_REVISION_3 3
#endif
#if NDIS_SUPPORT_NDIS630
#define NDIS_BIND_PARAMETERS_REVISION_4 4
#endif

typedef struct _NDIS_BIND_PARAMETERS {
  NDIS_OBJECT_HEADER Header;
  PNDIS_STRING ProtocolSection;
  PNDIS_STRING AdapterName;
  PDEVICE_OBJECT PhysicalDeviceObject;
  NDIS_MEDIUM MediaType;
  ULONG MtuSize;
  ULONG64 MaxXmitLinkSpeed;
  ULONG64 XmitLinkSpeed;
  ULONG64 MaxRcvLinkSpeed;
  ULONG64 RcvLinkSpeed;
  NDIS_MEDIA_CONNECT_STATE MediaConnectState;
  NDIS_MEDIA_DUPLEX_STATE MediaDuplexState;
  ULONG LookaheadSize;
  PNDIS_PNP_CAPABILITIES PowerManagementCapabilities;
  ULONG SupportedPacketFilters;
  ULONG MaxMulticastListSize;
  USHORT MacAddressLength;
  UCHAR CurrentMacAddress[NDIS_MAX_PHYS_ADDRESS_LENGTH];
  NDIS_PHYSICAL_MEDIUM PhysicalMediumType;
  PNDIS_RECEIVE_SCALE_CAPABILITIES RcvScaleCapabilities;
  NET_LUID BoundIfNetluid;
  NET_IFINDEX BoundIfIndex;
  NET_LUID LowestIfNetluid;
  NET_IFINDEX LowestIfIndex;
  NET_IF_ACCESS_TYPE AccessType;
  NET_IF_DIRECTION_TYPE DirectionType;
  NET_IF_CONNECTION_TYPE ConnectionType;
  NET_IFTYPE IfType;
  BOOLEAN IfConnectorPresent;
  PNDIS_PORT_ARRAY ActivePorts;
  ULONG DataBackFillSize;
  ULONG ContextBackFillSize;
  ULONG MacOptions;
  NET_IF_COMPARTMENT_ID CompartmentId;
  PNDIS_OFFLOAD DefaultOffloadConfiguration;
  PNDIS_TCP_CONNECTION_OFFLOAD TcpConnectionOffloadCapabilities;
  PNDIS_STRING BoundAdapterName;
#if NDIS_SUPPORT_NDIS61
  PNDIS_HD_SPLIT_CURRENT_CONFIG HDSplitCurrentConfig;
#endif
#if NDIS_SUPPORT_NDIS620
  PNDIS_RECEIVE_FILTER_CAPABILITIES ReceiveFilterCapabilities;
  PNDIS_PM_CAPABILITIES PowerManagementCapabilitiesEx;
  PNDIS_NIC_SWITCH_CAPABILITIES NicSwitchCapabilities;
#endif
#if NDIS_SUPPORT_NDIS630
  BOOLEAN NDKEnabled;
  PNDIS_NDK_CAPABILITIES NDKCapabilities;
  PNDIS_SRIOV_CAPABILITIES SriovCapabilities;
  PNDIS_NIC_SWITCH_INFO_ARRAY NicSwitchArray;
#endif
} NDIS_BIND_PARAMETERS, *PNDIS_BIND_PARAMETERS;

#define NDIS_SIZEOF_BIND_PARAMETERS_REVISION_1 RTL_SIZEOF_THROUGH_FIELD(NDIS_BIND_PARAMETERS, BoundAdapterName)
#if NDIS_SUPPORT_NDIS61
#define NDIS_SIZEOF_BIND_PARAMETERS_REVISION_2 RTL_SIZEOF_THROUGH_FIELD(NDIS_BIND_PARAMETERS, HDSplitCurrentConfig)
#endif
#if NDIS_SUPPORT_NDIS620
#define NDIS_SIZEOF_BIND_PARAMETERS_REVISION_3 RTL_SIZEOF_THROUGH_FIELD(NDIS_BIND_PARAMETERS, NicSwitchCapabilities)
#endif
#if NDIS_SUPPORT_NDIS630
#define NDIS_SIZEOF_BIND_PARAMETERS_REVISION_4 RTL_SIZEOF_THROUGH_FIELD(NDIS_BIND_PARAMETERS, NicSwitchArray)
#endif

#define NDIS_OPEN_PARAMETERS_REVISION_1 1

typedef struct _NDIS_OPEN_PARAMETERS {
  NDIS_OBJECT_HEADER Header;
  PNDIS_STRING AdapterName;
  PNDIS_MEDIUM MediumArray;
  UINT MediumArraySize;
  PUINT SelectedMediumIndex;
  PNET_FRAME_TYPE FrameTypeArray;
  UINT FrameTypeArraySize;
} NDIS_OPEN_PARAMETERS, *PNDIS_OPEN_PARAMETERS;
#define NDIS_SIZEOF_OPEN_PARAMETERS_REVISION_1 RTL_SIZEOF_THROUGH_FIELD(NDIS_OPEN_PARAMETERS, FrameTypeArraySize)

/* ---- ProtocolXxx role types ----------------------------------------------------- */
typedef SET_OPTIONS PROTOCOL_SET_OPTIONS;

typedef NDIS_STATUS NTAPI PROTOCOL_BIND_ADAPTER_EX(_In_ NDIS_HANDLE ProtocolDriverContext, _In_ NDIS_HANDLE BindContext,
                                                   _In_ PNDIS_BIND_PARAMETERS BindParameters); /* PASSIVE */
typedef PROTOCOL_BIND_ADAPTER_EX *BIND_HANDLER_EX;
typedef NDIS_STATUS NTAPI PROTOCOL_UNBIND_ADAPTER_EX(_In_ NDIS_HANDLE UnbindContext,
                                                     _In_ NDIS_HANDLE ProtocolBindingContext); /* PASSIVE */
typedef PROTOCOL_UNBIND_ADAPTER_EX *UNBIND_HANDLER_EX;
typedef VOID NTAPI PROTOCOL_OPEN_ADAPTER_COMPLETE_EX(_In_ NDIS_HANDLE ProtocolBindingContext,
                                                     _In_ NDIS_STATUS Status); /* PASSIVE */
typedef PROTOCOL_OPEN_ADAPTER_COMPLETE_EX *OPEN_ADAPTER_COMPLETE_HANDLER_EX;
typedef VOID NTAPI PROTOCOL_CLOSE_ADAPTER_COMPLETE_EX(_In_ NDIS_HANDLE ProtocolBindingContext); /* PASSIVE */
typedef PROTOCOL_CLOSE_ADAPTER_COMPLETE_EX *CLOSE_ADAPTER_COMPLETE_HANDLER_EX;
typedef NDIS_STATUS NTAPI PROTOCOL_NET_PNP_EVENT(_In_ NDIS_HANDLE ProtocolBindingContext,
                                                 _In_ PNET_PNP_EVENT_NOTIFICATION NetPnPEventNotification); /* PASSIVE */
typedef PROTOCOL_NET_PNP_EVENT *NET_PNP_EVENT_HANDLER;
typedef VOID NTAPI PROTOCOL_UNINSTALL(VOID); /* PASSIVE */
typedef PROTOCOL_UNINSTALL *UNINSTALL_PROTOCOL_HANDLER;
typedef VOID NTAPI PROTOCOL_OID_REQUEST_COMPLETE(_In_ NDIS_HANDLE ProtocolBindingContext,
                                                 _In_ PNDIS_OID_REQUEST OidRequest,
                                                 _In_ NDIS_STATUS Status); /* <= DISPATCH */
typedef PROTOCOL_OID_REQUEST_COMPLETE *OID_REQUEST_COMPLETE_HANDLER;
typedef VOID NTAPI PROTOCOL_STATUS_EX(_In_ NDIS_HANDLE ProtocolBindingContext,
                                      _In_ PNDIS_STATUS_INDICATION StatusIndication); /* <= DISPATCH */
typedef PROTOCOL_STATUS_EX *STATUS_HANDLER_EX;
typedef VOID NTAPI PROTOCOL_RECEIVE_NET_BUFFER_LISTS(_In_ NDIS_HANDLE ProtocolBindingContext,
                                                     _In_ PNET_BUFFER_LIST NetBufferLists,
                                                     _In_ NDIS_PORT_NUMBER PortNumber,
                                                     _In_ ULONG NumberOfNetBufferLists,
                                                     _In_ ULONG ReceiveFlags); /* <= DISPATCH */
typedef PROTOCOL_RECEIVE_NET_BUFFER_LISTS *RECEIVE_NET_BUFFER_LISTS_HANDLER;
typedef VOID NTAPI PROTOCOL_SEND_NET_BUFFER_LISTS_COMPLETE(_In_ NDIS_HANDLE ProtocolBindingContext,
                                                           _In_ PNET_BUFFER_LIST NetBufferList,
                                                           _In_ ULONG SendCompleteFlags); /* <= DISPATCH */
typedef PROTOCOL_SEND_NET_BUFFER_LISTS_COMPLETE *SEND_NET_BUFFER_LISTS_COMPLETE_HANDLER;
#if NDIS_SUPPORT_NDIS61
typedef VOID NTAPI PROTOCOL_DIRECT_OID_REQUEST_COMPLETE(_In_ NDIS_HANDLE ProtocolBindingContext,
                                                        _In_ PNDIS_OID_REQUEST OidRequest,
                                                        _In_ NDIS_STATUS Status); /* <= DISPATCH */
typedef PROTOCOL_DIRECT_OID_REQUEST_COMPLETE *DIRECT_OID_REQUEST_COMPLETE_HANDLER;
#endif

#define NDIS_PROTOCOL_DRIVER_CHARACTERISTICS_REVISION_1 1
#if NDIS_SUPPORT_NDIS61
#define NDIS_PROTOCOL_DRIVER_CHARACTERISTICS_REVISION_2 2
#endif
/* NDIS_PROTOCOL_DRIVER_CHARACTERISTICS.Flags */
#define NDIS_PROTOCOL_DRIVER_SUPPORTS_CURRENT_MAC_ADDRESS_CHANGE 0x00000002

typedef struct _NDIS_PROTOCOL_DRIVER_CHARACTERISTICS {
  NDIS_OBJECT_HEADER Header;
  UCHAR MajorNdisVersion;
  UCHAR MinorNdisVersion;
  UCHAR MajorDriverVersion;
  UCHAR MinorDriverVersion;
  ULONG Flags;
  NDIS_STRING Name;
  SET_OPTIONS_HANDLER SetOptionsHandler;
  BIND_HANDLER_EX BindAdapterHandlerEx;
  UNBIND_HANDLER_EX UnbindAdapterHandlerEx;
  OPEN_ADAPTER_COMPLETE_HANDLER_EX OpenAdapterCompleteHandlerEx;
  CLOSE_ADAPTER_COMPLETE_HANDLER_EX CloseAdapterCompleteHandlerEx;
  NET_PNP_EVENT_HANDLER NetPnPEventHandler;
  UNINSTALL_PROTOCOL_HANDLER UninstallHandler;
  OID_REQUEST_COMPLETE_HANDLER OidRequestCompleteHandler;
  STATUS_HANDLER_EX StatusHandlerEx;
  RECEIVE_NET_BUFFER_LISTS_HANDLER ReceiveNetBufferListsHandler;
  SEND_NET_BUFFER_LISTS_COMPLETE_HANDLER SendNetBufferListsCompleteHandler;
#if NDIS_SUPPORT_NDIS61
  DIRECT_OID_REQUEST_COMPLETE_HANDLER DirectOidRequestCompleteHandler;
#endif
} NDIS_PROTOCOL_DRIVER_CHARACTERISTICS, *PNDIS_PROTOCOL_DRIVER_CHARACTERISTICS;
#define NDIS_SIZEOF_PROTOCOL_DRIVER_CHARACTERISTICS_REVISION_1 \
  RTL_SIZEOF_THROUGH_FIELD(NDIS_PROTOCOL_DRIVER_CHARACTERISTICS, SendNetBufferListsCompleteHandler)
#if NDIS_SUPPORT_NDIS61
#define NDIS_SIZEOF_PROTOCOL_DRIVER_CHARACTERISTICS_REVISION_2 \
  RTL_SIZEOF_THROUGH_FIELD(NDIS_PROTOCOL_DRIVER_CHARACTERISTICS, DirectOidRequestCompleteHandler)
#endif

/* ---- ProtocolNetPnPEvent parameters (NET_PNP_EVENT.Buffer) ------------------------ */
/* NetEventPause: Header.Type NDIS_OBJECT_TYPE_DEFAULT. */
#define NDIS_PROTOCOL_PAUSE_PARAMETERS_REVISION_1 1
typedef struct _NDIS_PROTOCOL_PAUSE_PARAMETERS {
  NDIS_OBJECT_HEADER Header;
  ULONG Flags;       /* reserved */
  ULONG PauseReason; /* NDIS_PAUSE_NDIS_INTERNAL; deprecated in NDIS 6.40 */
} NDIS_PROTOCOL_PAUSE_PARAMETERS, *PNDIS_PROTOCOL_PAUSE_PARAMETERS;
#define NDIS_SIZEOF_PROTOCOL_PAUSE_PARAMETERS_REVISION_1 \
  RTL_SIZEOF_THROUGH_FIELD(NDIS_PROTOCOL_PAUSE_PARAMETERS, PauseReason)

/* NetEventRestart: Header.Type NDIS_OBJECT_TYPE_PROTOCOL_RESTART_PARAMETERS. */
#define NDIS_PROTOCOL_RESTART_PARAMETERS_REVISION_1 1
typedef struct _NDIS_PROTOCOL_RESTART_PARAMETERS {
  NDIS_OBJECT_HEADER Header;
  PUCHAR FilterModuleNameBuffer; /* (USHORT length, WCHAR name[]) pairs */
  ULONG FilterModuleNameBufferLength;
  PNDIS_RESTART_ATTRIBUTES RestartAttributes;
  NET_IFINDEX BoundIfIndex;
  NET_LUID BoundIfNetluid;
  ULONG Flags; /* reserved */
} NDIS_PROTOCOL_RESTART_PARAMETERS, *PNDIS_PROTOCOL_RESTART_PARAMETERS;
#define NDIS_SIZEOF_PROTOCOL_RESTART_PARAMETERS_REVISION_1 \
  RTL_SIZEOF_THROUGH_FIELD(NDIS_PROTOCOL_RESTART_PARAMETERS, Flags)

/* ---- protocol DDIs -------------------------------------------------------------- */
/* IRQL PASSIVE_LEVEL. */
NDIS_STATUS NTAPI NdisRegisterProtocolDriver(_In_opt_ NDIS_HANDLE ProtocolDriverContext,
                                             _In_ PNDIS_PROTOCOL_DRIVER_CHARACTERISTICS ProtocolCharacteristics,
                                             _Out_ PNDIS_HANDLE NdisProtocolHandle);
/* IRQL PASSIVE_LEVEL. */
VOID NTAPI NdisDeregisterProtocolDriver(_In_ NDIS_HANDLE NdisProtocolHandle);
/* IRQL PASSIVE_LEVEL, from ProtocolBindAdapterEx. May return NDIS_STATUS_PENDING. */
NDIS_STATUS NTAPI NdisOpenAdapterEx(_In_ NDIS_HANDLE NdisProtocolHandle, _In_ NDIS_HANDLE ProtocolBindingContext,
                                    _In_ PNDIS_OPEN_PARAMETERS OpenParameters, _In_ NDIS_HANDLE BindContext,
                                    _Out_ PNDIS_HANDLE NdisBindingHandle);
/* IRQL PASSIVE_LEVEL. May return NDIS_STATUS_PENDING. */
NDIS_STATUS NTAPI NdisCloseAdapterEx(_In_ NDIS_HANDLE NdisBindingHandle);
/* IRQL PASSIVE_LEVEL; completes a ProtocolBindAdapterEx that returned PENDING. */
VOID NTAPI NdisCompleteBindAdapterEx(_In_ NDIS_HANDLE BindAdapterContext, _In_ NDIS_STATUS Status);
/* IRQL PASSIVE_LEVEL; completes a ProtocolUnbindAdapterEx that returned PENDING. */
VOID NTAPI NdisCompleteUnbindAdapterEx(_In_ NDIS_HANDLE UnbindContext);
/* IRQL <= DISPATCH_LEVEL. SendFlags: NDIS_SEND_FLAGS_*. */
VOID NTAPI NdisSendNetBufferLists(_In_ NDIS_HANDLE NdisBindingHandle, _In_ PNET_BUFFER_LIST NetBufferLists,
                                  _In_ NDIS_PORT_NUMBER PortNumber, _In_ ULONG SendFlags);
/* IRQL <= DISPATCH_LEVEL. ReturnFlags: NDIS_RETURN_FLAGS_*. */
VOID NTAPI NdisReturnNetBufferLists(_In_ NDIS_HANDLE NdisBindingHandle, _In_ PNET_BUFFER_LIST NetBufferLists,
                                    _In_ ULONG ReturnFlags);
/* IRQL <= DISPATCH_LEVEL. May return NDIS_STATUS_PENDING. */
NDIS_STATUS NTAPI NdisOidRequest(_In_ NDIS_HANDLE NdisBindingHandle, _In_ PNDIS_OID_REQUEST OidRequest);
/* IRQL <= DISPATCH_LEVEL. */
VOID NTAPI NdisCancelOidRequest(_In_ NDIS_HANDLE NdisBindingHandle, _In_ PVOID RequestId);
/* IRQL <= DISPATCH_LEVEL. */
VOID NTAPI NdisCancelSendNetBufferLists(_In_ NDIS_HANDLE NdisBindingHandle, _In_ PVOID CancelId);

/* IRQL PASSIVE_LEVEL; completes a ProtocolNetPnPEvent that returned NDIS_STATUS_PENDING. */
VOID NTAPI NdisCompleteNetPnPEvent(_In_ NDIS_HANDLE NdisBindingHandle,
                                   _In_ PNET_PNP_EVENT_NOTIFICATION NetPnPEventNotification,
                                   _In_ NDIS_STATUS Status);

#define NDIS_DECLARE_PROTOCOL_DRIVER_CONTEXT(_type) ((void)sizeof(_type))
#define NDIS_DECLARE_PROTOCOL_BIND_CONTEXT(_type) ((void)sizeof(_type))

NDISHOST_EXTERN_C_END

#endif /* NDISHOST_NDIS_PROTOCOL_H */
