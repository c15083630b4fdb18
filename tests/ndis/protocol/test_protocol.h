/* A small NDIS 6.30 protocol driver written from the driver's side (test_protocol.c), the
 * way a WDK protocol is: role-typedef'd ProtocolXxx handlers, NdisOpenAdapterEx from
 * ProtocolBindAdapterEx, NdisCloseAdapterEx from ProtocolUnbindAdapterEx, NBLs from its own
 * pool. Knobs make it pend or misbehave; records say what NDIS did to it.
 * Include after <ndis.h>. */
#ifndef NDISHOST_TEST_PROTOCOL_H
#define NDISHOST_TEST_PROTOCOL_H

#ifdef __cplusplus
extern "C" {
#endif

#define TP_MAX_BINDINGS 4
#define TP_MAX_FRAME 1600

/* The protocol's own view of each binding (guide: binding states). */
enum TpBindingState { TpUnbound, TpOpening, TpPaused, TpRestarting, TpRunning, TpPausing, TpClosing };

struct TpConfig {
  int pendBind;            /* ProtocolBindAdapterEx returns PENDING; TpCompleteBind finishes it */
  int failBindAfterOpen;   /* opens, closes again, fails the bind (correct) */
  int failBindLeaveOpen;   /* opens, fails the bind without closing (a protocol bug) */
  int bindWithoutOpen;     /* returns SUCCESS without opening (a protocol bug) */
  int pendUnbind;          /* ProtocolUnbindAdapterEx closes, returns PENDING; TpCompleteUnbind */
  int unbindWithoutClose;  /* a protocol bug */
  int pendPnpEvents;       /* ProtocolNetPnPEvent pends pause/restart; TpCompletePnpEvent */
  int failRestart;
  int holdReceives;        /* keep indicated NBLs (when allowed) until TpReturnHeld */
  int wrongMedium;         /* MediumArray without the adapter's medium */
  int noStatusHandler;     /* register without ProtocolStatusEx */
  int failQueryRemove;     /* NetEventQueryRemoveDevice: NDIS_STATUS_FAILURE (the adapter is in use) */
  int pendRemovalEvents;   /* pend NetEventQueryRemoveDevice/NetEventCancelRemoveDevice; TpCompletePnpEvent */
};
extern struct TpConfig tpConfig;

struct TpBinding {
  int used;
  enum TpBindingState state;
  NDIS_HANDLE bindContext;
  NDIS_HANDLE unbindContext;
  NDIS_HANDLE bindingHandle;
  NDIS_STATUS openStatus;
  UINT selectedMedium;
  /* From NDIS_BIND_PARAMETERS */
  UCHAR bindRevision;
  USHORT bindSize;
  NDIS_MEDIUM mediaType;
  ULONG mtu;
  ULONG64 xmitLinkSpeed;
  NDIS_MEDIA_CONNECT_STATE connectState;
  USHORT macLength;
  UCHAR mac[6];
  NET_IFINDEX boundIfIndex;
  int adapterNameLength; /* in WCHARs */
  WCHAR adapterName[64];
  PDEVICE_OBJECT pdo;
  /* DefaultOffloadConfiguration: the pointer and the first bytes it points at (the revision
   * 3 prefix is the same in every <ndis.h> version) */
  const NDIS_OFFLOAD *bindOffloadPointer;
  UCHAR bindOffload[NDIS_SIZEOF_NDIS_OFFLOAD_REVISION_3];
  /* Completions and events */
  int openCompletes;
  int closeCompletes;
  int pauseEvents;
  int restartEvents;
  int badEventBuffers;   /* pause/restart buffers with the wrong header, removal events with a buffer */
  int queryRemoveEvents;
  int cancelRemoveEvents;
  PNET_PNP_EVENT_NOTIFICATION pendingEvent;
  /* Sends */
  LONG sendsOutstanding;
  int sendCompletes;
  NDIS_STATUS lastSendStatus;
  ULONG lastSendCompleteFlags;
  /* Receives */
  int receiveIndications;
  int framesReceived;
  ULONG lastFrameLength;
  UCHAR lastFrame[TP_MAX_FRAME];
  ULONG lastReceiveFlags;
  PNET_BUFFER_LIST held;
  int heldCount;
  /* OIDs */
  UCHAR oidBuffer[64];
  LONG oidCompletes; /* interlocked (completions may come from a DPC) */
  NDIS_STATUS oidStatus;
  /* Status */
  int statusIndications;
  NDIS_STATUS lastStatusCode;
  NDIS_MEDIA_CONNECT_STATE statusConnectState;
  /* Last: NDIS_OID_REQUEST grows with the NDIS version, and C++ tests see a newer <ndis.h>. */
  NDIS_OID_REQUEST request;
};
extern struct TpBinding tpBindings[TP_MAX_BINDINGS];
extern NDIS_HANDLE tpProtocolHandle;
extern int tpUninstallCalls;
/* Times the protocol returned NDIS_STATUS_PENDING (bind, unbind, PnP events); interlocked,
 * so another thread can wait for it. */
extern LONG tpPended;

/* Registers (revision 1, NDIS 6.30, name "tprot"); clears the records first. */
NDIS_STATUS TpRegister(void);
void TpDeregister(void);
/* Fills characteristics the way TpRegister does (for registration tests). */
void TpFillCharacteristics(PNDIS_PROTOCOL_DRIVER_CHARACTERISTICS Characteristics);

/* Sends `count` NBLs, each one frame copied from `frame`, in one NdisSendNetBufferLists. */
NDIS_STATUS TpSendFrames(struct TpBinding *Binding, const UCHAR *Frame, ULONG Length, ULONG Count, ULONG SendFlags);
/* Sends one frame whose NBL carries CancelId (NDIS_SET_NET_BUFFER_LIST_CANCEL_ID). */
NDIS_STATUS TpSendFrameWithCancelId(struct TpBinding *Binding, const UCHAR *Frame, ULONG Length, PVOID CancelId);
/* NdisCancelSendNetBufferLists(Binding, CancelId). */
VOID TpCancelSends(struct TpBinding *Binding, PVOID CancelId);
/* A cancel ID whose high byte is the protocol's NdisGeneratePartialCancelId value (asked
 * once), as the page asks. Test thread only. */
PVOID TpMakeCancelId(ULONG_PTR LowBits);
/* Sends with SourceHandle left NULL (a protocol bug). */
NDIS_STATUS TpSendFrameWithoutSourceHandle(struct TpBinding *Binding, const UCHAR *Frame, ULONG Length);
/* Queries or sets `Oid` with the binding's request; returns NdisOidRequest's status. */
NDIS_STATUS TpQueryOid(struct TpBinding *Binding, NDIS_OID Oid, ULONG Length);
NDIS_STATUS TpSetOid(struct TpBinding *Binding, NDIS_OID Oid, const void *Data, ULONG Length);

void TpCompleteBind(struct TpBinding *Binding, NDIS_STATUS Status);
void TpCompleteUnbind(struct TpBinding *Binding);
void TpCompletePnpEvent(struct TpBinding *Binding, NDIS_STATUS Status);
void TpReturnHeld(struct TpBinding *Binding);
/* Frees the NBL pool (after deregistering). */
void TpCleanup(void);

#ifdef __cplusplus
}
#endif

#endif
