/* "tprot": a small NDIS 6.30 protocol driver, written as a WDK protocol is. */
#define NDIS630 1
#include <ndis.h>

#include "test_protocol.h"

#define TP_TAG 'torP'

struct TpConfig tpConfig;
struct TpBinding tpBindings[TP_MAX_BINDINGS];
NDIS_HANDLE tpProtocolHandle;
int tpUninstallCalls;
LONG tpPended;
static NDIS_HANDLE tpNblPool;
static int tpDriverContext;

static WCHAR tpServiceName[] = L"tprot";

PROTOCOL_SET_OPTIONS TpSetOptions;
PROTOCOL_BIND_ADAPTER_EX TpBindAdapterEx;
PROTOCOL_UNBIND_ADAPTER_EX TpUnbindAdapterEx;
PROTOCOL_OPEN_ADAPTER_COMPLETE_EX TpOpenAdapterCompleteEx;
PROTOCOL_CLOSE_ADAPTER_COMPLETE_EX TpCloseAdapterCompleteEx;
PROTOCOL_NET_PNP_EVENT TpNetPnPEvent;
PROTOCOL_UNINSTALL TpUninstall;
PROTOCOL_OID_REQUEST_COMPLETE TpOidRequestComplete;
PROTOCOL_STATUS_EX TpStatusEx;
PROTOCOL_RECEIVE_NET_BUFFER_LISTS TpReceiveNetBufferLists;
PROTOCOL_SEND_NET_BUFFER_LISTS_COMPLETE TpSendNetBufferListsComplete;

/* IRQL PASSIVE_LEVEL, inside NdisRegisterProtocolDriver. */
NDIS_STATUS NTAPI TpSetOptions(NDIS_HANDLE NdisDriverHandle, NDIS_HANDLE DriverContext) {
  UNREFERENCED_PARAMETER(NdisDriverHandle);
  UNREFERENCED_PARAMETER(DriverContext);
  return NDIS_STATUS_SUCCESS;
}

static struct TpBinding *TpNewBinding(void) {
  int i;
  for (i = 0; i < TP_MAX_BINDINGS; ++i) {
    if (!tpBindings[i].used) {
      NdisZeroMemory(&tpBindings[i], sizeof(tpBindings[i]));
      tpBindings[i].used = 1;
      return &tpBindings[i];
    }
  }
  return NULL;
}

/* What to do once the open succeeded: the bind's final status. */
static NDIS_STATUS TpFinishBindAfterOpen(struct TpBinding *b) {
  if (tpConfig.failBindAfterOpen) {
    NDIS_STATUS closeStatus = NdisCloseAdapterEx(b->bindingHandle);
    UNREFERENCED_PARAMETER(closeStatus);
    b->state = TpUnbound;
    return NDIS_STATUS_FAILURE;
  }
  if (tpConfig.failBindLeaveOpen) {
    b->state = TpUnbound;
    return NDIS_STATUS_FAILURE;
  }
  b->state = TpPaused;
  return NDIS_STATUS_SUCCESS;
}

/* IRQL PASSIVE_LEVEL. */
NDIS_STATUS NTAPI TpBindAdapterEx(NDIS_HANDLE ProtocolDriverContext, NDIS_HANDLE BindContext,
                                  PNDIS_BIND_PARAMETERS BindParameters) {
  static NDIS_MEDIUM media[] = {NdisMediumWan, NdisMedium802_3};
  static NDIS_MEDIUM wrongMedia[] = {NdisMediumWan};
  NDIS_OPEN_PARAMETERS open;
  NDIS_STATUS status;
  struct TpBinding *b;
  int n;

  if (ProtocolDriverContext != &tpDriverContext) return NDIS_STATUS_FAILURE;
  b = TpNewBinding();
  if (b == NULL) return NDIS_STATUS_RESOURCES;
  b->state = TpOpening;
  b->bindContext = BindContext;
  b->bindRevision = BindParameters->Header.Revision;
  b->bindSize = BindParameters->Header.Size;
  b->mediaType = BindParameters->MediaType;
  b->mtu = BindParameters->MtuSize;
  b->xmitLinkSpeed = BindParameters->XmitLinkSpeed;
  b->connectState = BindParameters->MediaConnectState;
  b->macLength = BindParameters->MacAddressLength;
  NdisMoveMemory(b->mac, BindParameters->CurrentMacAddress, 6);
  b->boundIfIndex = BindParameters->BoundIfIndex;
  b->pdo = BindParameters->PhysicalDeviceObject;
  b->bindOffloadPointer = BindParameters->DefaultOffloadConfiguration;
  if (b->bindOffloadPointer != NULL) {
    NdisMoveMemory(b->bindOffload, b->bindOffloadPointer,
                   b->bindOffloadPointer->Header.Size < sizeof(b->bindOffload) ? b->bindOffloadPointer->Header.Size
                                                                             : sizeof(b->bindOffload));
  }
  n = BindParameters->AdapterName->Length / sizeof(WCHAR);
  if (n > 64) n = 64;
  NdisMoveMemory(b->adapterName, BindParameters->AdapterName->Buffer, n * sizeof(WCHAR));
  b->adapterNameLength = n;

  if (tpConfig.bindWithoutOpen) {
    b->state = TpUnbound;
    return NDIS_STATUS_SUCCESS;
  }

  NdisZeroMemory(&open, sizeof(open));
  open.Header.Type = NDIS_OBJECT_TYPE_OPEN_PARAMETERS;
  open.Header.Revision = NDIS_OPEN_PARAMETERS_REVISION_1;
  open.Header.Size = NDIS_SIZEOF_OPEN_PARAMETERS_REVISION_1;
  open.AdapterName = BindParameters->AdapterName;
  open.MediumArray = tpConfig.wrongMedium ? wrongMedia : media;
  open.MediumArraySize = tpConfig.wrongMedium ? 1 : 2;
  open.SelectedMediumIndex = &b->selectedMedium;
  open.FrameTypeArray = NULL;
  open.FrameTypeArraySize = 0;
  status = NdisOpenAdapterEx(tpProtocolHandle, b, &open, BindContext, &b->bindingHandle);
  /* Pended: TpOpenAdapterCompleteEx finishes, maybe already running; b is not ours to touch. */
  if (status == NDIS_STATUS_PENDING) return NDIS_STATUS_PENDING;
  b->openStatus = status;
  if (status != NDIS_STATUS_SUCCESS) {
    b->used = 0;
    return status;
  }
  status = TpFinishBindAfterOpen(b);
  if (status == NDIS_STATUS_SUCCESS && tpConfig.pendBind) {
    InterlockedIncrement(&tpPended);
    return NDIS_STATUS_PENDING; /* TpCompleteBind */
  }
  return status;
}

/* IRQL PASSIVE_LEVEL. */
VOID NTAPI TpOpenAdapterCompleteEx(NDIS_HANDLE ProtocolBindingContext, NDIS_STATUS Status) {
  struct TpBinding *b = (struct TpBinding *)ProtocolBindingContext;
  b->openCompletes++;
  b->openStatus = Status;
  if (Status == NDIS_STATUS_SUCCESS) Status = TpFinishBindAfterOpen(b);
  NdisCompleteBindAdapterEx(b->bindContext, Status);
}

/* IRQL PASSIVE_LEVEL. */
NDIS_STATUS NTAPI TpUnbindAdapterEx(NDIS_HANDLE UnbindContext, NDIS_HANDLE ProtocolBindingContext) {
  struct TpBinding *b = (struct TpBinding *)ProtocolBindingContext;
  NDIS_STATUS status;
  b->state = TpClosing;
  b->unbindContext = UnbindContext;
  if (tpConfig.unbindWithoutClose) {
    b->state = TpUnbound;
    return NDIS_STATUS_SUCCESS;
  }
  status = NdisCloseAdapterEx(b->bindingHandle);
  if (status == NDIS_STATUS_PENDING) return NDIS_STATUS_PENDING; /* TpCloseAdapterCompleteEx finishes */
  if (tpConfig.pendUnbind) {
    InterlockedIncrement(&tpPended);
    return NDIS_STATUS_PENDING; /* TpCompleteUnbind */
  }
  b->state = TpUnbound;
  return NDIS_STATUS_SUCCESS;
}

/* IRQL PASSIVE_LEVEL. */
VOID NTAPI TpCloseAdapterCompleteEx(NDIS_HANDLE ProtocolBindingContext) {
  struct TpBinding *b = (struct TpBinding *)ProtocolBindingContext;
  b->closeCompletes++;
  if (b->state == TpClosing) {
    b->state = TpUnbound;
    NdisCompleteUnbindAdapterEx(b->unbindContext);
  }
}

/* IRQL PASSIVE_LEVEL. */
NDIS_STATUS NTAPI TpNetPnPEvent(NDIS_HANDLE ProtocolBindingContext, PNET_PNP_EVENT_NOTIFICATION NetPnPEventNotification) {
  struct TpBinding *b = (struct TpBinding *)ProtocolBindingContext;
  PNDIS_OBJECT_HEADER header = (PNDIS_OBJECT_HEADER)NetPnPEventNotification->NetPnPEvent.Buffer;
  switch (NetPnPEventNotification->NetPnPEvent.NetEvent) {
    case NetEventPause:
      b->pauseEvents++;
      if (header == NULL || header->Type != NDIS_OBJECT_TYPE_DEFAULT || header->Revision != 1) b->badEventBuffers++;
      b->state = TpPausing;
      if (tpConfig.pendPnpEvents) {
        b->pendingEvent = NetPnPEventNotification;
        InterlockedIncrement(&tpPended);
        return NDIS_STATUS_PENDING;
      }
      b->state = TpPaused;
      return NDIS_STATUS_SUCCESS;
    case NetEventRestart:
      b->restartEvents++;
      if (header == NULL || header->Type != NDIS_OBJECT_TYPE_PROTOCOL_RESTART_PARAMETERS || header->Revision != 1)
        b->badEventBuffers++;
      b->state = TpRestarting;
      if (tpConfig.failRestart) {
        b->state = TpPaused;
        return NDIS_STATUS_FAILURE;
      }
      if (tpConfig.pendPnpEvents) {
        b->pendingEvent = NetPnPEventNotification;
        InterlockedIncrement(&tpPended);
        return NDIS_STATUS_PENDING;
      }
      b->state = TpRunning;
      return NDIS_STATUS_SUCCESS;
    case NetEventQueryRemoveDevice:
    case NetEventCancelRemoveDevice:
      /* "The buffer contents are NULL." */
      if (NetPnPEventNotification->NetPnPEvent.Buffer != NULL || NetPnPEventNotification->NetPnPEvent.BufferLength != 0)
        b->badEventBuffers++;
      if (NetPnPEventNotification->NetPnPEvent.NetEvent == NetEventQueryRemoveDevice) {
        b->queryRemoveEvents++;
      } else {
        b->cancelRemoveEvents++;
      }
      if (tpConfig.pendRemovalEvents) {
        b->pendingEvent = NetPnPEventNotification;
        InterlockedIncrement(&tpPended);
        return NDIS_STATUS_PENDING;
      }
      if (NetPnPEventNotification->NetPnPEvent.NetEvent == NetEventQueryRemoveDevice && tpConfig.failQueryRemove)
        return NDIS_STATUS_FAILURE;
      return NDIS_STATUS_SUCCESS;
    default:
      return NDIS_STATUS_SUCCESS;
  }
}

/* IRQL PASSIVE_LEVEL. */
VOID NTAPI TpUninstall(VOID) { tpUninstallCalls++; }

/* IRQL <= DISPATCH_LEVEL. */
VOID NTAPI TpOidRequestComplete(NDIS_HANDLE ProtocolBindingContext, PNDIS_OID_REQUEST OidRequest, NDIS_STATUS Status) {
  struct TpBinding *b = (struct TpBinding *)ProtocolBindingContext;
  if (OidRequest == &b->request) {
    b->oidStatus = Status;
    InterlockedIncrement(&b->oidCompletes);
  }
}

/* IRQL <= DISPATCH_LEVEL. */
VOID NTAPI TpStatusEx(NDIS_HANDLE ProtocolBindingContext, PNDIS_STATUS_INDICATION StatusIndication) {
  struct TpBinding *b = (struct TpBinding *)ProtocolBindingContext;
  b->statusIndications++;
  b->lastStatusCode = StatusIndication->StatusCode;
  if (StatusIndication->StatusCode == NDIS_STATUS_LINK_STATE &&
      StatusIndication->StatusBufferSize >= sizeof(NDIS_LINK_STATE)) {
    b->statusConnectState = ((PNDIS_LINK_STATE)StatusIndication->StatusBuffer)->MediaConnectState;
  }
}

/* IRQL <= DISPATCH_LEVEL. */
VOID NTAPI TpReceiveNetBufferLists(NDIS_HANDLE ProtocolBindingContext, PNET_BUFFER_LIST NetBufferLists,
                                   NDIS_PORT_NUMBER PortNumber, ULONG NumberOfNetBufferLists, ULONG ReceiveFlags) {
  struct TpBinding *b = (struct TpBinding *)ProtocolBindingContext;
  PNET_BUFFER_LIST nbl;
  UNREFERENCED_PARAMETER(PortNumber);
  UNREFERENCED_PARAMETER(NumberOfNetBufferLists);
  b->receiveIndications++;
  b->lastReceiveFlags = ReceiveFlags;
  for (nbl = NetBufferLists; nbl != NULL; nbl = NET_BUFFER_LIST_NEXT_NBL(nbl)) {
    PNET_BUFFER nb;
    for (nb = NET_BUFFER_LIST_FIRST_NB(nbl); nb != NULL; nb = NET_BUFFER_NEXT_NB(nb)) {
      ULONG length = NET_BUFFER_DATA_LENGTH(nb);
      PUCHAR data;
      if (length > TP_MAX_FRAME) length = TP_MAX_FRAME;
      data = (PUCHAR)NdisGetDataBuffer(nb, length, b->lastFrame, 1, 0);
      if (data != NULL && data != b->lastFrame) NdisMoveMemory(b->lastFrame, data, length);
      b->lastFrameLength = length;
      b->framesReceived++;
    }
  }
  if (NDIS_TEST_RECEIVE_CANNOT_PEND(ReceiveFlags)) return; /* the miniport's again on return */
  if (tpConfig.holdReceives && b->state == TpRunning) {
    PNET_BUFFER_LIST last = NetBufferLists;
    while (NET_BUFFER_LIST_NEXT_NBL(last) != NULL) last = NET_BUFFER_LIST_NEXT_NBL(last);
    NET_BUFFER_LIST_NEXT_NBL(last) = b->held;
    b->held = NetBufferLists;
    return;
  }
  NdisReturnNetBufferLists(b->bindingHandle, NetBufferLists,
                           NDIS_TEST_RECEIVE_AT_DISPATCH_LEVEL(ReceiveFlags) ? NDIS_RETURN_FLAGS_DISPATCH_LEVEL : 0);
}

static void TpFreeSendNbl(PNET_BUFFER_LIST nbl) {
  PNET_BUFFER nb = NET_BUFFER_LIST_FIRST_NB(nbl);
  PMDL mdl = NET_BUFFER_FIRST_MDL(nb);
  PVOID data = nbl->ProtocolReserved[0];
  ULONG length = (ULONG)(ULONG_PTR)nbl->ProtocolReserved[1];
  NdisFreeNetBufferList(nbl);
  NdisFreeMdl(mdl);
  NdisFreeMemory(data, length, 0);
}

/* IRQL <= DISPATCH_LEVEL. */
VOID NTAPI TpSendNetBufferListsComplete(NDIS_HANDLE ProtocolBindingContext, PNET_BUFFER_LIST NetBufferList,
                                        ULONG SendCompleteFlags) {
  struct TpBinding *b = (struct TpBinding *)ProtocolBindingContext;
  PNET_BUFFER_LIST nbl = NetBufferList;
  b->lastSendCompleteFlags = SendCompleteFlags;
  while (nbl != NULL) {
    PNET_BUFFER_LIST next = NET_BUFFER_LIST_NEXT_NBL(nbl);
    b->lastSendStatus = NET_BUFFER_LIST_STATUS(nbl);
    b->sendCompletes++;
    InterlockedDecrement(&b->sendsOutstanding);
    NET_BUFFER_LIST_NEXT_NBL(nbl) = NULL;
    TpFreeSendNbl(nbl);
    nbl = next;
  }
}

void TpFillCharacteristics(PNDIS_PROTOCOL_DRIVER_CHARACTERISTICS c) {
  NdisZeroMemory(c, sizeof(*c));
  c->Header.Type = NDIS_OBJECT_TYPE_PROTOCOL_DRIVER_CHARACTERISTICS;
  c->Header.Revision = NDIS_PROTOCOL_DRIVER_CHARACTERISTICS_REVISION_1;
  c->Header.Size = NDIS_SIZEOF_PROTOCOL_DRIVER_CHARACTERISTICS_REVISION_1;
  c->MajorNdisVersion = 6;
  c->MinorNdisVersion = 30;
  c->MajorDriverVersion = 1;
  c->MinorDriverVersion = 0;
  c->Flags = 0;
  c->Name.Buffer = tpServiceName;
  c->Name.Length = sizeof(tpServiceName) - sizeof(WCHAR);
  c->Name.MaximumLength = sizeof(tpServiceName);
  c->SetOptionsHandler = TpSetOptions;
  c->BindAdapterHandlerEx = TpBindAdapterEx;
  c->UnbindAdapterHandlerEx = TpUnbindAdapterEx;
  c->OpenAdapterCompleteHandlerEx = TpOpenAdapterCompleteEx;
  c->CloseAdapterCompleteHandlerEx = TpCloseAdapterCompleteEx;
  c->NetPnPEventHandler = TpNetPnPEvent;
  c->UninstallHandler = TpUninstall;
  c->OidRequestCompleteHandler = TpOidRequestComplete;
  c->StatusHandlerEx = tpConfig.noStatusHandler ? NULL : TpStatusEx;
  c->ReceiveNetBufferListsHandler = TpReceiveNetBufferLists;
  c->SendNetBufferListsCompleteHandler = TpSendNetBufferListsComplete;
}

NDIS_STATUS TpRegister(void) {
  NDIS_PROTOCOL_DRIVER_CHARACTERISTICS c;
  NET_BUFFER_LIST_POOL_PARAMETERS pool;
  NdisZeroMemory(tpBindings, sizeof(tpBindings));
  tpUninstallCalls = 0;
  tpPended = 0;
  NdisZeroMemory(&pool, sizeof(pool));
  pool.Header.Type = NDIS_OBJECT_TYPE_DEFAULT;
  pool.Header.Revision = NET_BUFFER_LIST_POOL_PARAMETERS_REVISION_1;
  pool.Header.Size = NDIS_SIZEOF_NET_BUFFER_LIST_POOL_PARAMETERS_REVISION_1;
  pool.ProtocolId = NDIS_PROTOCOL_ID_DEFAULT;
  pool.fAllocateNetBuffer = TRUE;
  pool.ContextSize = 0;
  pool.PoolTag = TP_TAG;
  pool.DataSize = 0;
  if (tpNblPool == NULL) tpNblPool = NdisAllocateNetBufferListPool(NULL, &pool);
  if (tpNblPool == NULL) return NDIS_STATUS_RESOURCES;
  TpFillCharacteristics(&c);
  return NdisRegisterProtocolDriver(&tpDriverContext, &c, &tpProtocolHandle);
}

void TpDeregister(void) {
  if (tpProtocolHandle != NULL) NdisDeregisterProtocolDriver(tpProtocolHandle);
  tpProtocolHandle = NULL;
}

void TpCleanup(void) {
  if (tpNblPool != NULL) NdisFreeNetBufferListPool(tpNblPool);
  tpNblPool = NULL;
}

static PNET_BUFFER_LIST TpMakeSendNbl(struct TpBinding *b, const UCHAR *frame, ULONG length) {
  PVOID data = NdisAllocateMemoryWithTagPriority(tpProtocolHandle, length, TP_TAG, NormalPoolPriority);
  PMDL mdl;
  PNET_BUFFER_LIST nbl;
  if (data == NULL) return NULL;
  NdisMoveMemory(data, frame, length);
  mdl = NdisAllocateMdl(tpProtocolHandle, data, length);
  if (mdl == NULL) {
    NdisFreeMemory(data, length, 0);
    return NULL;
  }
  nbl = NdisAllocateNetBufferAndNetBufferList(tpNblPool, 0, 0, mdl, 0, length);
  if (nbl == NULL) {
    NdisFreeMdl(mdl);
    NdisFreeMemory(data, length, 0);
    return NULL;
  }
  nbl->ProtocolReserved[0] = data;
  nbl->ProtocolReserved[1] = (PVOID)(ULONG_PTR)length;
  nbl->SourceHandle = b->bindingHandle;
  return nbl;
}

NDIS_STATUS TpSendFrameWithCancelId(struct TpBinding *b, const UCHAR *frame, ULONG length, PVOID cancelId) {
  PNET_BUFFER_LIST nbl = TpMakeSendNbl(b, frame, length);
  if (nbl == NULL) return NDIS_STATUS_RESOURCES;
  NDIS_SET_NET_BUFFER_LIST_CANCEL_ID(nbl, cancelId);
  InterlockedIncrement(&b->sendsOutstanding);
  NdisSendNetBufferLists(b->bindingHandle, nbl, NDIS_DEFAULT_PORT_NUMBER, 0);
  return NDIS_STATUS_SUCCESS;
}

VOID TpCancelSends(struct TpBinding *b, PVOID cancelId) { NdisCancelSendNetBufferLists(b->bindingHandle, cancelId); }

PVOID TpMakeCancelId(ULONG_PTR lowBits) {
  /* One partial ID for the protocol's life: the high byte tells its IDs from other drivers'. */
  static LONG generated = -1;
  ULONG_PTR partial;
  if (generated < 0) generated = NdisGeneratePartialCancelId();
  partial = (ULONG_PTR)generated << ((sizeof(ULONG_PTR) - 1) * 8);
  return (PVOID)(partial | (lowBits & (((ULONG_PTR)1 << ((sizeof(ULONG_PTR) - 1) * 8)) - 1)));
}

NDIS_STATUS TpSendFrames(struct TpBinding *b, const UCHAR *frame, ULONG length, ULONG count, ULONG sendFlags) {
  PNET_BUFFER_LIST head = NULL, tail = NULL;
  ULONG i;
  for (i = 0; i < count; ++i) {
    PNET_BUFFER_LIST nbl = TpMakeSendNbl(b, frame, length);
    if (nbl == NULL) return NDIS_STATUS_RESOURCES;
    if (tail == NULL) head = nbl; else NET_BUFFER_LIST_NEXT_NBL(tail) = nbl;
    tail = nbl;
  }
  InterlockedExchangeAdd(&b->sendsOutstanding, (LONG)count);
  NdisSendNetBufferLists(b->bindingHandle, head, NDIS_DEFAULT_PORT_NUMBER, sendFlags);
  return NDIS_STATUS_SUCCESS;
}

NDIS_STATUS TpSendFrameWithoutSourceHandle(struct TpBinding *b, const UCHAR *frame, ULONG length) {
  PNET_BUFFER_LIST nbl = TpMakeSendNbl(b, frame, length);
  if (nbl == NULL) return NDIS_STATUS_RESOURCES;
  nbl->SourceHandle = NULL;
  InterlockedIncrement(&b->sendsOutstanding);
  NdisSendNetBufferLists(b->bindingHandle, nbl, NDIS_DEFAULT_PORT_NUMBER, 0);
  return NDIS_STATUS_SUCCESS;
}

static void TpPrepareRequest(struct TpBinding *b, NDIS_REQUEST_TYPE type, NDIS_OID oid, ULONG length) {
  NdisZeroMemory(&b->request, sizeof(b->request));
  b->request.Header.Type = NDIS_OBJECT_TYPE_OID_REQUEST;
  b->request.Header.Revision = NDIS_OID_REQUEST_REVISION_1;
  b->request.Header.Size = NDIS_SIZEOF_OID_REQUEST_REVISION_1;
  b->request.RequestType = type;
  b->request.PortNumber = NDIS_DEFAULT_PORT_NUMBER;
  b->request.RequestId = b;
  if (length > sizeof(b->oidBuffer)) length = sizeof(b->oidBuffer);
  if (type == NdisRequestQueryInformation) {
    b->request.DATA.QUERY_INFORMATION.Oid = oid;
    b->request.DATA.QUERY_INFORMATION.InformationBuffer = b->oidBuffer;
    b->request.DATA.QUERY_INFORMATION.InformationBufferLength = length;
  } else {
    b->request.DATA.SET_INFORMATION.Oid = oid;
    b->request.DATA.SET_INFORMATION.InformationBuffer = b->oidBuffer;
    b->request.DATA.SET_INFORMATION.InformationBufferLength = length;
  }
}

NDIS_STATUS TpQueryOid(struct TpBinding *b, NDIS_OID oid, ULONG length) {
  TpPrepareRequest(b, NdisRequestQueryInformation, oid, length);
  return NdisOidRequest(b->bindingHandle, &b->request);
}

NDIS_STATUS TpSetOid(struct TpBinding *b, NDIS_OID oid, const void *data, ULONG length) {
  TpPrepareRequest(b, NdisRequestSetInformation, oid, length);
  NdisMoveMemory(b->oidBuffer, data, length > sizeof(b->oidBuffer) ? sizeof(b->oidBuffer) : length);
  return NdisOidRequest(b->bindingHandle, &b->request);
}

void TpCompleteBind(struct TpBinding *b, NDIS_STATUS status) { NdisCompleteBindAdapterEx(b->bindContext, status); }

void TpCompleteUnbind(struct TpBinding *b) {
  b->state = TpUnbound;
  NdisCompleteUnbindAdapterEx(b->unbindContext);
}

void TpCompletePnpEvent(struct TpBinding *b, NDIS_STATUS status) {
  PNET_PNP_EVENT_NOTIFICATION event = b->pendingEvent;
  b->pendingEvent = NULL;
  if (b->state == TpPausing) b->state = TpPaused;
  if (b->state == TpRestarting) b->state = status == NDIS_STATUS_SUCCESS ? TpRunning : TpPaused;
  NdisCompleteNetPnPEvent(b->bindingHandle, event, status);
}

void TpReturnHeld(struct TpBinding *b) {
  PNET_BUFFER_LIST held = b->held;
  b->held = NULL;
  if (held != NULL) NdisReturnNetBufferLists(b->bindingHandle, held, 0);
}
