/*
 * traftest.c -- the traffic test miniport.
 *
 * Module Name:  traftest
 * Abstract:     An NDIS 6.30 Ethernet miniport with a WDM lower edge (registered as the guide's
 *               "Registering Miniport Driver Functions for WDM Lower Edge" says: no interrupt
 *               handlers, no shared-memory completion; MiniportCheckForHangEx and
 *               MiniportResetEx only when the test asks). Its "wire" is the test: sent frames
 *               are copied into TrafTestControl, received frames come from TrafTestIndicate.
 *               Sends and OID requests are completed at once, later or never, as
 *               TrafTestControl says, so the tests can drive NDIS's pause, cancel and
 *               hang-detection paths.
 * Environment:  kernel mode
 */
#define NDIS_MINIPORT_DRIVER 1
#define NDIS630_MINIPORT 1
#define NDIS_WDM 1
#include <ndis.h>

#include "traftest_control.h"

#define TRAFTEST_POOL_TAG 'tfrT'

typedef struct _TRAFTEST_RX_SLOT {
  PNET_BUFFER_LIST Nbl;
  PMDL Mdl;
  BOOLEAN InUse;
  UCHAR Data[TRAFTEST_MAX_FRAME];
} TRAFTEST_RX_SLOT, *PTRAFTEST_RX_SLOT;

typedef struct _TRAFTEST_ADAPTER {
  NDIS_HANDLE AdapterHandle;
  NDIS_HANDLE NblPool;
  NDIS_SPIN_LOCK Lock;          /* HeldHead/HeldTail, PendingOid, RxSlots[].InUse */
  PNET_BUFFER_LIST HeldHead;    /* sends kept (TrafTestSendHold), linked by MiniportReserved[0] */
  PNET_BUFFER_LIST HeldTail;
  PNDIS_OID_REQUEST PendingOid; /* pended (TrafTestOidPend/Hold) */
  NDIS_STATUS PendingOidStatus; /* the answer a TrafTestOidPend timer completes it with */
  NDIS_HANDLE OidTimer;
  NDIS_HANDLE ResetTimer;
  ULONG64 XmitOk;
  TRAFTEST_RX_SLOT RxSlots[TRAFTEST_RX_SLOTS];
} TRAFTEST_ADAPTER, *PTRAFTEST_ADAPTER;

TRAFTEST_CONTROL TrafTestControl;
static NDIS_HANDLE TrafTestDriverHandle;
static PTRAFTEST_ADAPTER TrafTestAdapter; /* the one adapter the helpers act on */
static PNDIS_OID_REQUEST TrafTestLastOidRequest;

static const NDIS_OID TrafTestSupportedOids[] = {OID_GEN_SUPPORTED_LIST,  OID_GEN_CURRENT_PACKET_FILTER,
                                                 OID_GEN_CURRENT_LOOKAHEAD, OID_802_3_MULTICAST_LIST,
                                                 OID_GEN_XMIT_OK,         OID_PNP_QUERY_POWER,
                                                 OID_PNP_SET_POWER};

DRIVER_INITIALIZE DriverEntry;
MINIPORT_SET_OPTIONS TrafTestSetOptions;
MINIPORT_INITIALIZE TrafTestInitializeEx;
MINIPORT_HALT TrafTestHaltEx;
static LONG TrafTestFlushHeldSends(_In_ struct _TRAFTEST_ADAPTER *Adapter, _In_ NDIS_STATUS Status);
MINIPORT_UNLOAD TrafTestUnload;
MINIPORT_PAUSE TrafTestPause;
MINIPORT_RESTART TrafTestRestart;
MINIPORT_OID_REQUEST TrafTestOidRequest;
MINIPORT_SEND_NET_BUFFER_LISTS TrafTestSendNetBufferLists;
MINIPORT_RETURN_NET_BUFFER_LISTS TrafTestReturnNetBufferLists;
MINIPORT_CANCEL_SEND TrafTestCancelSend;
MINIPORT_DEVICE_PNP_EVENT_NOTIFY TrafTestDevicePnPEventNotify;
MINIPORT_SHUTDOWN TrafTestShutdownEx;
MINIPORT_CANCEL_OID_REQUEST TrafTestCancelOidRequest;
MINIPORT_CHECK_FOR_HANG TrafTestCheckForHangEx;
MINIPORT_RESET TrafTestResetEx;
NDIS_TIMER_FUNCTION TrafTestOidTimer;
NDIS_TIMER_FUNCTION TrafTestResetTimer;

void TrafTestRecordEvent(char Event)
{
    /* IRQL: any */
    LONG slot = InterlockedIncrement(&TrafTestControl.EventCount) - 1;
    if (slot < TRAFTEST_MAX_EVENTS) {
        TrafTestControl.Events[slot] = Event;
    }
}

_Use_decl_annotations_
NTSTATUS DriverEntry(PDRIVER_OBJECT DriverObject, PUNICODE_STRING RegistryPath)
{
    /* IRQL: PASSIVE_LEVEL */
    NDIS_MINIPORT_DRIVER_CHARACTERISTICS characteristics;
    NDIS_STATUS status;

    NdisZeroMemory(&characteristics, sizeof(characteristics));
    characteristics.Header.Type = NDIS_OBJECT_TYPE_MINIPORT_DRIVER_CHARACTERISTICS;
    characteristics.Header.Revision = NDIS_MINIPORT_DRIVER_CHARACTERISTICS_REVISION_2;
    characteristics.Header.Size = NDIS_SIZEOF_MINIPORT_DRIVER_CHARACTERISTICS_REVISION_2;
    characteristics.MajorNdisVersion = NDIS_MINIPORT_MAJOR_VERSION;
    characteristics.MinorNdisVersion = NDIS_MINIPORT_MINOR_VERSION;
    characteristics.MajorDriverVersion = 1;
    characteristics.MinorDriverVersion = 0;
    characteristics.Flags = NDIS_WDM_DRIVER;
    characteristics.SetOptionsHandler = TrafTestSetOptions;
    characteristics.InitializeHandlerEx = TrafTestInitializeEx;
    characteristics.HaltHandlerEx = TrafTestHaltEx;
    characteristics.UnloadHandler = TrafTestUnload;
    characteristics.PauseHandler = TrafTestPause;
    characteristics.RestartHandler = TrafTestRestart;
    characteristics.OidRequestHandler = TrafTestOidRequest;
    characteristics.SendNetBufferListsHandler = TrafTestSendNetBufferLists;
    characteristics.ReturnNetBufferListsHandler = TrafTestReturnNetBufferLists;
    characteristics.CancelSendHandler = TrafTestCancelSend;
    characteristics.DevicePnPEventNotifyHandler = TrafTestDevicePnPEventNotify;
    characteristics.ShutdownHandlerEx = TrafTestShutdownEx;
    characteristics.CancelOidRequestHandler = TrafTestCancelOidRequest;
    /* MiniportResetEx is required when MiniportCheckForHangEx is given. */
    if (TrafTestControl.RegisterCheckForHang) {
        characteristics.CheckForHangHandlerEx = TrafTestCheckForHangEx;
    }
    if (TrafTestControl.RegisterReset || TrafTestControl.RegisterCheckForHang) {
        characteristics.ResetHandlerEx = TrafTestResetEx;
    }

    status = NdisMRegisterMiniportDriver(DriverObject, RegistryPath, NULL, &characteristics, &TrafTestDriverHandle);
    return status == NDIS_STATUS_SUCCESS ? STATUS_SUCCESS : (NTSTATUS)status;
}

_Use_decl_annotations_
NDIS_STATUS TrafTestSetOptions(NDIS_HANDLE NdisDriverHandle, NDIS_HANDLE DriverContext)
{
    /* IRQL: PASSIVE_LEVEL */
    UNREFERENCED_PARAMETER(NdisDriverHandle);
    UNREFERENCED_PARAMETER(DriverContext);
    return NDIS_STATUS_SUCCESS;
}

_Use_decl_annotations_
VOID TrafTestUnload(PDRIVER_OBJECT DriverObject)
{
    /* IRQL: PASSIVE_LEVEL */
    UNREFERENCED_PARAMETER(DriverObject);
    NdisMDeregisterMiniportDriver(TrafTestDriverHandle);
}

static NDIS_STATUS TrafTestSetAttributes(_In_ PTRAFTEST_ADAPTER Adapter)
{
    /* IRQL: PASSIVE_LEVEL */
    static const UCHAR address[6] = {0x02, 0x54, 0x52, 0x41, 0x46, 0x01};
    NDIS_MINIPORT_ADAPTER_ATTRIBUTES attributes;
    NDIS_OFFLOAD current;
    NDIS_OFFLOAD hardware;
    NDIS_STATUS status;

    NdisZeroMemory(&attributes, sizeof(attributes));
    attributes.RegistrationAttributes.Header.Type = NDIS_OBJECT_TYPE_MINIPORT_ADAPTER_REGISTRATION_ATTRIBUTES;
    attributes.RegistrationAttributes.Header.Revision = NDIS_MINIPORT_ADAPTER_REGISTRATION_ATTRIBUTES_REVISION_1;
    attributes.RegistrationAttributes.Header.Size = NDIS_SIZEOF_MINIPORT_ADAPTER_REGISTRATION_ATTRIBUTES_REVISION_1;
    attributes.RegistrationAttributes.MiniportAdapterContext = Adapter;
    attributes.RegistrationAttributes.AttributeFlags =
        NDIS_MINIPORT_ATTRIBUTES_NDIS_WDM | NDIS_MINIPORT_ATTRIBUTES_SURPRISE_REMOVE_OK;
    attributes.RegistrationAttributes.CheckForHangTimeInSeconds = TrafTestControl.CheckForHangTimeInSeconds;
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
    attributes.GeneralAttributes.MtuSize = 1500;
    attributes.GeneralAttributes.MaxXmitLinkSpeed = 100000000ull;
    attributes.GeneralAttributes.XmitLinkSpeed = 100000000ull;
    attributes.GeneralAttributes.MaxRcvLinkSpeed = 100000000ull;
    attributes.GeneralAttributes.RcvLinkSpeed = 100000000ull;
    attributes.GeneralAttributes.MediaConnectState = MediaConnectStateConnected;
    attributes.GeneralAttributes.MediaDuplexState = MediaDuplexStateFull;
    attributes.GeneralAttributes.LookaheadSize = 1500;
    attributes.GeneralAttributes.MacOptions = NDIS_MAC_OPTION_NO_LOOPBACK;
    attributes.GeneralAttributes.SupportedPacketFilters =
        NDIS_PACKET_TYPE_DIRECTED | NDIS_PACKET_TYPE_BROADCAST | NDIS_PACKET_TYPE_MULTICAST;
    attributes.GeneralAttributes.MaxMulticastListSize = TRAFTEST_MAX_MULTICAST;
    attributes.GeneralAttributes.MacAddressLength = sizeof(address);
    NdisMoveMemory(attributes.GeneralAttributes.PermanentMacAddress, address, sizeof(address));
    NdisMoveMemory(attributes.GeneralAttributes.CurrentMacAddress, address, sizeof(address));
    attributes.GeneralAttributes.AccessType = NET_IF_ACCESS_BROADCAST;
    attributes.GeneralAttributes.DirectionType = NET_IF_DIRECTION_SENDRECEIVE;
    attributes.GeneralAttributes.ConnectionType = NET_IF_CONNECTION_DEDICATED;
    attributes.GeneralAttributes.IfType = IF_TYPE_ETHERNET_CSMACD;
    attributes.GeneralAttributes.IfConnectorPresent = TRUE;
    attributes.GeneralAttributes.SupportedOidList = (PNDIS_OID)TrafTestSupportedOids;
    attributes.GeneralAttributes.SupportedOidListLength = sizeof(TrafTestSupportedOids);
    status = NdisMSetMiniportAttributes(Adapter->AdapterHandle, &attributes);
    if (status != NDIS_STATUS_SUCCESS || !TrafTestControl.SetOffloadAttributes) {
        return status;
    }

    /* Both blocks on the stack: NDIS keeps its own copies. */
    TrafTestFillOffload(&current, TrafTestControl.OffloadLsoMaxSize, FALSE);
    TrafTestFillOffload(&hardware, TrafTestControl.OffloadLsoMaxSize, TRUE);
    NdisZeroMemory(&attributes, sizeof(attributes));
    attributes.OffloadAttributes.Header.Type = NDIS_OBJECT_TYPE_MINIPORT_ADAPTER_OFFLOAD_ATTRIBUTES;
    attributes.OffloadAttributes.Header.Revision = NDIS_MINIPORT_ADAPTER_OFFLOAD_ATTRIBUTES_REVISION_1;
    attributes.OffloadAttributes.Header.Size = NDIS_SIZEOF_MINIPORT_ADAPTER_OFFLOAD_ATTRIBUTES_REVISION_1;
    attributes.OffloadAttributes.DefaultOffloadConfiguration = &current;
    attributes.OffloadAttributes.HardwareOffloadCapabilities = &hardware;
    return NdisMSetMiniportAttributes(Adapter->AdapterHandle, &attributes);
}

static NDIS_STATUS TrafTestAllocateTimer(_In_ PTRAFTEST_ADAPTER Adapter, _In_ PNDIS_TIMER_FUNCTION Function,
                                         _Out_ PNDIS_HANDLE Timer)
{
    /* IRQL: PASSIVE_LEVEL */
    NDIS_TIMER_CHARACTERISTICS timer;
    NdisZeroMemory(&timer, sizeof(timer));
    timer.Header.Type = NDIS_OBJECT_TYPE_TIMER_CHARACTERISTICS;
    timer.Header.Revision = NDIS_TIMER_CHARACTERISTICS_REVISION_1;
    timer.Header.Size = NDIS_SIZEOF_TIMER_CHARACTERISTICS_REVISION_1;
    timer.AllocationTag = TRAFTEST_POOL_TAG;
    timer.TimerFunction = Function;
    timer.FunctionContext = Adapter;
    return NdisAllocateTimerObject(Adapter->AdapterHandle, &timer, Timer);
}

static VOID TrafTestFreeResources(_In_ PTRAFTEST_ADAPTER Adapter)
{
    /* IRQL: PASSIVE_LEVEL */
    ULONG i;
    for (i = 0; i < TRAFTEST_RX_SLOTS; i++) {
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
    if (Adapter->OidTimer != NULL) {
        NdisCancelTimerObject(Adapter->OidTimer);
        NdisFreeTimerObject(Adapter->OidTimer);
    }
    if (Adapter->ResetTimer != NULL) {
        NdisCancelTimerObject(Adapter->ResetTimer);
        NdisFreeTimerObject(Adapter->ResetTimer);
    }
    NdisFreeSpinLock(&Adapter->Lock);
    NdisFreeMemoryWithTagPriority(Adapter->AdapterHandle, Adapter, TRAFTEST_POOL_TAG);
}

_Use_decl_annotations_
NDIS_STATUS TrafTestInitializeEx(NDIS_HANDLE MiniportAdapterHandle, NDIS_HANDLE MiniportDriverContext,
                                 PNDIS_MINIPORT_INIT_PARAMETERS MiniportInitParameters)
{
    /* IRQL: PASSIVE_LEVEL */
    NET_BUFFER_LIST_POOL_PARAMETERS pool;
    PTRAFTEST_ADAPTER adapter;
    NDIS_STATUS status;
    ULONG i;

    UNREFERENCED_PARAMETER(MiniportDriverContext);
    UNREFERENCED_PARAMETER(MiniportInitParameters);
    adapter = (PTRAFTEST_ADAPTER)NdisAllocateMemoryWithTagPriority(MiniportAdapterHandle, sizeof(TRAFTEST_ADAPTER),
                                                                   TRAFTEST_POOL_TAG, NormalPoolPriority);
    if (adapter == NULL) {
        return NDIS_STATUS_RESOURCES;
    }
    NdisZeroMemory(adapter, sizeof(*adapter));
    adapter->AdapterHandle = MiniportAdapterHandle;
    NdisAllocateSpinLock(&adapter->Lock);

    NdisZeroMemory(&pool, sizeof(pool));
    pool.Header.Type = NDIS_OBJECT_TYPE_DEFAULT;
    pool.Header.Revision = NET_BUFFER_LIST_POOL_PARAMETERS_REVISION_1;
    pool.Header.Size = NDIS_SIZEOF_NET_BUFFER_LIST_POOL_PARAMETERS_REVISION_1;
    pool.fAllocateNetBuffer = TRUE;
    pool.PoolTag = TRAFTEST_POOL_TAG;
    adapter->NblPool = NdisAllocateNetBufferListPool(MiniportAdapterHandle, &pool);
    status = adapter->NblPool != NULL ? NDIS_STATUS_SUCCESS : NDIS_STATUS_RESOURCES;
    /* The receive slots are allocated once: nothing is allocated per received frame. */
    for (i = 0; status == NDIS_STATUS_SUCCESS && i < TRAFTEST_RX_SLOTS; i++) {
        PTRAFTEST_RX_SLOT slot = &adapter->RxSlots[i];
        slot->Mdl = NdisAllocateMdl(MiniportAdapterHandle, slot->Data, TRAFTEST_MAX_FRAME);
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
        status = TrafTestAllocateTimer(adapter, TrafTestOidTimer, &adapter->OidTimer);
    }
    if (status == NDIS_STATUS_SUCCESS) {
        status = TrafTestAllocateTimer(adapter, TrafTestResetTimer, &adapter->ResetTimer);
    }
    if (status == NDIS_STATUS_SUCCESS) {
        status = TrafTestSetAttributes(adapter);
    }
    if (status != NDIS_STATUS_SUCCESS) {
        TrafTestFreeResources(adapter);
        return status;
    }
    TrafTestControl.AdapterHandle = MiniportAdapterHandle;
    TrafTestAdapter = adapter;
    InterlockedIncrement(&TrafTestControl.Adapters);
    return NDIS_STATUS_SUCCESS;
}

_Use_decl_annotations_
VOID TrafTestHaltEx(NDIS_HANDLE MiniportAdapterContext, NDIS_HALT_ACTION HaltAction)
{
    /* IRQL: PASSIVE_LEVEL */
    PTRAFTEST_ADAPTER adapter = (PTRAFTEST_ADAPTER)MiniportAdapterContext;

    UNREFERENCED_PARAMETER(HaltAction);
    if (TrafTestControl.CompleteHeldAtHalt) {
        /* NDIS took these back when it halted the adapter: completing them now is a bug the
         * tests expect NDIS to report and not deliver. */
        InterlockedExchangeAdd(&TrafTestControl.LateCompletions, TrafTestFlushHeldSends(adapter, NDIS_STATUS_SUCCESS));
    }
    TrafTestAdapter = NULL;
    InterlockedDecrement(&TrafTestControl.Adapters);
    TrafTestFreeResources(adapter);
}

_Use_decl_annotations_
NDIS_STATUS TrafTestRestart(NDIS_HANDLE MiniportAdapterContext, PNDIS_MINIPORT_RESTART_PARAMETERS RestartParameters)
{
    /* IRQL: PASSIVE_LEVEL */
    UNREFERENCED_PARAMETER(MiniportAdapterContext);
    UNREFERENCED_PARAMETER(RestartParameters);
    return NDIS_STATUS_SUCCESS;
}

/* Completes what the adapter holds with Status. */
static LONG TrafTestFlushHeldSends(_In_ PTRAFTEST_ADAPTER Adapter, _In_ NDIS_STATUS Status)
{
    /* IRQL: <= DISPATCH_LEVEL */
    PNET_BUFFER_LIST head;
    PNET_BUFFER_LIST nbl;
    LONG count = 0;

    NdisAcquireSpinLock(&Adapter->Lock);
    head = Adapter->HeldHead;
    Adapter->HeldHead = Adapter->HeldTail = NULL;
    NdisReleaseSpinLock(&Adapter->Lock);
    if (head == NULL) {
        return 0;
    }
    /* The held queue is linked through MiniportReserved[0]; NDIS gets a Next-linked chain. */
    for (nbl = head; nbl != NULL; nbl = NET_BUFFER_LIST_NEXT_NBL(nbl)) {
        NET_BUFFER_LIST_NEXT_NBL(nbl) = (PNET_BUFFER_LIST)nbl->MiniportReserved[0];
        nbl->MiniportReserved[0] = NULL;
        NET_BUFFER_LIST_STATUS(nbl) = Status;
        count++;
    }
    InterlockedExchangeAdd(&TrafTestControl.HeldSends, -count);
    NdisMSendNetBufferListsComplete(Adapter->AdapterHandle, head, 0);
    return count;
}

_Use_decl_annotations_
NDIS_STATUS TrafTestPause(NDIS_HANDLE MiniportAdapterContext, PNDIS_MINIPORT_PAUSE_PARAMETERS PauseParameters)
{
    /* IRQL: PASSIVE_LEVEL. Sends held by the "hardware" stay held: the test completes them
     * and NDIS's pause waits for that (a real driver would complete them with
     * NDIS_STATUS_PAUSED here). */
    UNREFERENCED_PARAMETER(MiniportAdapterContext);
    UNREFERENCED_PARAMETER(PauseParameters);
    return NDIS_STATUS_SUCCESS;
}

static VOID TrafTestCopySent(_In_ PNET_BUFFER NetBuffer)
{
    /* IRQL: <= DISPATCH_LEVEL */
    ULONG length = NET_BUFFER_DATA_LENGTH(NetBuffer);
    PUCHAR data;
    if (length > TRAFTEST_MAX_FRAME) {
        length = TRAFTEST_MAX_FRAME;
    }
    data = (PUCHAR)NdisGetDataBuffer(NetBuffer, length, TrafTestControl.LastSentFrame, 1, 0);
    if (data != NULL && data != TrafTestControl.LastSentFrame) {
        NdisMoveMemory(TrafTestControl.LastSentFrame, data, length);
    }
    TrafTestControl.LastSentLength = length;
}

_Use_decl_annotations_
VOID TrafTestSendNetBufferLists(NDIS_HANDLE MiniportAdapterContext, PNET_BUFFER_LIST NetBufferList,
                                NDIS_PORT_NUMBER PortNumber, ULONG SendFlags)
{
    /* IRQL: <= DISPATCH_LEVEL */
    PTRAFTEST_ADAPTER adapter = (PTRAFTEST_ADAPTER)MiniportAdapterContext;
    LONG mode = TrafTestControl.SendMode;
    PNET_BUFFER_LIST nbl;
    PNET_BUFFER_LIST next;

    InterlockedIncrement(&TrafTestControl.SendCalls);
    TrafTestControl.LastSendFlags = SendFlags;
    TrafTestControl.LastSendPort = PortNumber;
    for (nbl = NetBufferList; nbl != NULL; nbl = NET_BUFFER_LIST_NEXT_NBL(nbl)) {
        InterlockedIncrement(&TrafTestControl.SentNbls);
        TrafTestCopySent(NET_BUFFER_LIST_FIRST_NB(nbl));
        adapter->XmitOk++;
    }
    if (mode == TrafTestSendHold) {
        for (nbl = NetBufferList; nbl != NULL; nbl = next) {
            next = NET_BUFFER_LIST_NEXT_NBL(nbl);
            NET_BUFFER_LIST_NEXT_NBL(nbl) = NULL;
            nbl->MiniportReserved[0] = NULL;
            NdisAcquireSpinLock(&adapter->Lock);
            if (adapter->HeldTail != NULL) {
                adapter->HeldTail->MiniportReserved[0] = nbl;
            } else {
                adapter->HeldHead = nbl;
            }
            adapter->HeldTail = nbl;
            NdisReleaseSpinLock(&adapter->Lock);
            InterlockedIncrement(&TrafTestControl.HeldSends);
        }
        return;
    }
    if (mode == TrafTestSendLoopback) {
        ULONG length = TrafTestControl.LastSentLength;
        (void)TrafTestIndicate(TrafTestControl.LastSentFrame, length, 1, 1, 0, FALSE);
    }
    for (nbl = NetBufferList; nbl != NULL; nbl = NET_BUFFER_LIST_NEXT_NBL(nbl)) {
        NET_BUFFER_LIST_STATUS(nbl) = NDIS_STATUS_SUCCESS;
    }
    NdisMSendNetBufferListsComplete(adapter->AdapterHandle, NetBufferList,
                                    NDIS_TEST_SEND_AT_DISPATCH_LEVEL(SendFlags) ? NDIS_SEND_COMPLETE_FLAGS_DISPATCH_LEVEL
                                                                                 : 0);
    if (mode == TrafTestSendBlock) {
        /* Every NBL is the protocol's again, yet this handler is still running (as on a
         * multiprocessor when another CPU completed them): NDIS must not pause or halt the
         * adapter before it returns. */
        InterlockedExchange(&TrafTestControl.SendBlocked, 1);
        while (InterlockedCompareExchange(&TrafTestControl.SendRelease, 0, 0) == 0) {
            NdisStallExecution(50);
        }
        InterlockedExchange(&TrafTestControl.SendBlocked, 0);
    }
}

_Use_decl_annotations_
VOID TrafTestCancelSend(NDIS_HANDLE MiniportAdapterContext, PVOID CancelId)
{
    /* IRQL: <= DISPATCH_LEVEL. Completes the held NBLs with this cancel ID. */
    PTRAFTEST_ADAPTER adapter = (PTRAFTEST_ADAPTER)MiniportAdapterContext;
    PNET_BUFFER_LIST cancelled = NULL;
    PNET_BUFFER_LIST *link;
    PNET_BUFFER_LIST previous = NULL;
    LONG count = 0;

    TrafTestRecordEvent('k');
    InterlockedIncrement(&TrafTestControl.CancelSendCalls);
    NdisAcquireSpinLock(&adapter->Lock);
    link = &adapter->HeldHead;
    while (*link != NULL) {
        PNET_BUFFER_LIST nbl = *link;
        if (NDIS_GET_NET_BUFFER_LIST_CANCEL_ID(nbl) == CancelId) {
            *link = (PNET_BUFFER_LIST)nbl->MiniportReserved[0];
            if (adapter->HeldTail == nbl) {
                adapter->HeldTail = previous;
            }
            nbl->MiniportReserved[0] = NULL;
            NET_BUFFER_LIST_NEXT_NBL(nbl) = cancelled;
            NET_BUFFER_LIST_STATUS(nbl) = NDIS_STATUS_SEND_ABORTED;
            cancelled = nbl;
            count++;
        } else {
            previous = nbl;
            link = (PNET_BUFFER_LIST *)&nbl->MiniportReserved[0];
        }
    }
    NdisReleaseSpinLock(&adapter->Lock);
    if (cancelled != NULL) {
        InterlockedExchangeAdd(&TrafTestControl.HeldSends, -count);
        NdisMSendNetBufferListsComplete(adapter->AdapterHandle, cancelled, 0);
    }
}

BOOLEAN TrafTestIndicate(const UCHAR *Frame, ULONG Length, ULONG Count, ULONG ClaimedCount, ULONG ReceiveFlags,
                         BOOLEAN AtDispatch)
{
    /* IRQL: <= DISPATCH_LEVEL */
    PTRAFTEST_ADAPTER adapter = TrafTestAdapter;
    PNET_BUFFER_LIST head = NULL;
    PNET_BUFFER_LIST tail = NULL;
    KIRQL oldIrql = PASSIVE_LEVEL;
    ULONG taken = 0;
    ULONG i;

    if (adapter == NULL || Length > TRAFTEST_MAX_FRAME || Count == 0 || Count > TRAFTEST_RX_SLOTS) {
        return FALSE;
    }
    NdisAcquireSpinLock(&adapter->Lock);
    for (i = 0; i < TRAFTEST_RX_SLOTS && taken < Count; i++) {
        PTRAFTEST_RX_SLOT slot = &adapter->RxSlots[i];
        if (slot->InUse) {
            continue;
        }
        slot->InUse = TRUE;
        NdisMoveMemory(slot->Data, Frame, Length);
        NET_BUFFER_DATA_LENGTH(NET_BUFFER_LIST_FIRST_NB(slot->Nbl)) = Length;
        NET_BUFFER_LIST_NEXT_NBL(slot->Nbl) = NULL;
        slot->Nbl->SourceHandle = adapter->AdapterHandle;
        if (tail != NULL) {
            NET_BUFFER_LIST_NEXT_NBL(tail) = slot->Nbl;
        } else {
            head = slot->Nbl;
        }
        tail = slot->Nbl;
        taken++;
    }
    NdisReleaseSpinLock(&adapter->Lock);
    if (taken < Count) {
        if (head != NULL) {
            TrafTestReturnNetBufferLists(adapter, head, 0);
        }
        return FALSE;
    }
    InterlockedExchangeAdd(&TrafTestControl.Receives, (LONG)Count);
    if (AtDispatch) {
        KeRaiseIrql(DISPATCH_LEVEL, &oldIrql);
    }
    NdisMIndicateReceiveNetBufferLists(adapter->AdapterHandle, head, NDIS_DEFAULT_PORT_NUMBER, ClaimedCount,
                                       ReceiveFlags);
    if (AtDispatch) {
        KeLowerIrql(oldIrql);
    }
    if (ReceiveFlags & NDIS_RECEIVE_FLAGS_RESOURCES) {
        /* The NBLs are ours again as soon as the indication returns. */
        InterlockedExchangeAdd(&TrafTestControl.Returns, -(LONG)Count);
        TrafTestReturnNetBufferLists(adapter, head, 0);
    }
    return TRUE;
}

_Use_decl_annotations_
VOID TrafTestReturnNetBufferLists(NDIS_HANDLE MiniportAdapterContext, PNET_BUFFER_LIST NetBufferLists,
                                  ULONG ReturnFlags)
{
    /* IRQL: <= DISPATCH_LEVEL */
    PTRAFTEST_ADAPTER adapter = (PTRAFTEST_ADAPTER)MiniportAdapterContext;
    PNET_BUFFER_LIST nbl;
    PNET_BUFFER_LIST next;

    UNREFERENCED_PARAMETER(ReturnFlags);
    for (nbl = NetBufferLists; nbl != NULL; nbl = next) {
        PTRAFTEST_RX_SLOT slot = (PTRAFTEST_RX_SLOT)nbl->MiniportReserved[0];
        next = NET_BUFFER_LIST_NEXT_NBL(nbl);
        NET_BUFFER_LIST_NEXT_NBL(nbl) = NULL;
        InterlockedIncrement(&TrafTestControl.Returns);
        NdisAcquireSpinLock(&adapter->Lock);
        slot->InUse = FALSE;
        NdisReleaseSpinLock(&adapter->Lock);
    }
}

/* Answers one request; the status MiniportOidRequest (or its completion) reports. */
static NDIS_STATUS TrafTestProcessOid(_In_ PTRAFTEST_ADAPTER Adapter, _Inout_ PNDIS_OID_REQUEST Request)
{
    /* IRQL: <= DISPATCH_LEVEL */
    NDIS_OID oid = Request->DATA.Oid;

    if (Request->RequestType == NdisRequestQueryInformation) {
        PVOID buffer = Request->DATA.QUERY_INFORMATION.InformationBuffer;
        UINT length = Request->DATA.QUERY_INFORMATION.InformationBufferLength;
        switch (oid) {
        case OID_GEN_XMIT_OK:
            if (length < sizeof(ULONG64)) {
                Request->DATA.QUERY_INFORMATION.BytesNeeded = sizeof(ULONG64);
                Request->DATA.QUERY_INFORMATION.BytesWritten = 0;
                return NDIS_STATUS_BUFFER_TOO_SHORT;
            }
            *(PULONG64)buffer = Adapter->XmitOk;
            Request->DATA.QUERY_INFORMATION.BytesWritten = sizeof(ULONG64);
            return NDIS_STATUS_SUCCESS;
        case OID_PNP_QUERY_POWER:
            TrafTestRecordEvent('Q');
            return NDIS_STATUS_SUCCESS;
        default:
            return NDIS_STATUS_NOT_SUPPORTED;
        }
    }
    if (Request->RequestType == NdisRequestSetInformation) {
        PVOID buffer = Request->DATA.SET_INFORMATION.InformationBuffer;
        UINT length = Request->DATA.SET_INFORMATION.InformationBufferLength;
        switch (oid) {
        case OID_GEN_CURRENT_PACKET_FILTER:
            if (length < sizeof(ULONG)) {
                Request->DATA.SET_INFORMATION.BytesNeeded = sizeof(ULONG);
                return NDIS_STATUS_INVALID_LENGTH;
            }
            TrafTestRecordEvent('F');
            TrafTestControl.PacketFilter = *(PULONG)buffer;
            InterlockedIncrement(&TrafTestControl.PacketFilterSets);
            Request->DATA.SET_INFORMATION.BytesRead = sizeof(ULONG);
            return NDIS_STATUS_SUCCESS;
        case OID_GEN_CURRENT_LOOKAHEAD:
            if (length < sizeof(ULONG)) {
                Request->DATA.SET_INFORMATION.BytesNeeded = sizeof(ULONG);
                return NDIS_STATUS_INVALID_LENGTH;
            }
            TrafTestRecordEvent('L');
            TrafTestControl.Lookahead = *(PULONG)buffer;
            Request->DATA.SET_INFORMATION.BytesRead = sizeof(ULONG);
            return NDIS_STATUS_SUCCESS;
        case OID_802_3_MULTICAST_LIST:
            if (length % 6 != 0 || length > sizeof(TrafTestControl.Multicast)) {
                return NDIS_STATUS_INVALID_LENGTH;
            }
            TrafTestRecordEvent('M');
            if (length != 0) {
                NdisMoveMemory(TrafTestControl.Multicast, buffer, length);
            }
            TrafTestControl.MulticastLength = length;
            InterlockedIncrement(&TrafTestControl.MulticastSets);
            Request->DATA.SET_INFORMATION.BytesRead = length;
            return NDIS_STATUS_SUCCESS;
        case OID_PNP_SET_POWER:
            if (length < sizeof(NDIS_DEVICE_POWER_STATE)) {
                return NDIS_STATUS_INVALID_LENGTH;
            }
            TrafTestRecordEvent('W');
            TrafTestControl.PowerState = *(PNDIS_DEVICE_POWER_STATE)buffer;
            Request->DATA.SET_INFORMATION.BytesRead = sizeof(NDIS_DEVICE_POWER_STATE);
            return NDIS_STATUS_SUCCESS;
        default:
            return NDIS_STATUS_NOT_SUPPORTED;
        }
    }
    return NDIS_STATUS_NOT_SUPPORTED;
}

_Use_decl_annotations_
NDIS_STATUS TrafTestOidRequest(NDIS_HANDLE MiniportAdapterContext, PNDIS_OID_REQUEST OidRequest)
{
    /* IRQL: <= DISPATCH_LEVEL */
    PTRAFTEST_ADAPTER adapter = (PTRAFTEST_ADAPTER)MiniportAdapterContext;
    LONG mode = TrafTestControl.OidMode;
    LARGE_INTEGER dueTime;

    InterlockedIncrement(&TrafTestControl.OidCalls);
    TrafTestLastOidRequest = OidRequest;
    /* Power OIDs are always answered at once: the lifecycle waits for them. */
    if (mode == TrafTestOidSync || OidRequest->DATA.Oid == OID_PNP_SET_POWER ||
        OidRequest->DATA.Oid == OID_PNP_QUERY_POWER) {
        return TrafTestProcessOid(adapter, OidRequest);
    }
    NdisAcquireSpinLock(&adapter->Lock);
    adapter->PendingOid = OidRequest;
    adapter->PendingOidStatus = mode == TrafTestOidPend ? TrafTestProcessOid(adapter, OidRequest) : NDIS_STATUS_SUCCESS;
    NdisReleaseSpinLock(&adapter->Lock);
    if (mode == TrafTestOidPend) {
        dueTime.QuadPart = -1 * 10000; /* 1 ms, relative */
        NdisSetTimerObject(adapter->OidTimer, dueTime, 0, adapter);
    }
    return NDIS_STATUS_PENDING;
}

static BOOLEAN TrafTestFinishPendingOid(_In_ PTRAFTEST_ADAPTER Adapter, _In_ BOOLEAN UseStatus, _In_ NDIS_STATUS Status)
{
    /* IRQL: <= DISPATCH_LEVEL */
    PNDIS_OID_REQUEST request;
    NDIS_STATUS status;

    NdisAcquireSpinLock(&Adapter->Lock);
    request = Adapter->PendingOid;
    Adapter->PendingOid = NULL;
    status = UseStatus ? Status : Adapter->PendingOidStatus;
    NdisReleaseSpinLock(&Adapter->Lock);
    if (request == NULL) {
        return FALSE;
    }
    NdisMOidRequestComplete(Adapter->AdapterHandle, request, status);
    return TRUE;
}

_Use_decl_annotations_
VOID TrafTestOidTimer(PVOID SystemSpecific1, PVOID FunctionContext, PVOID SystemSpecific2, PVOID SystemSpecific3)
{
    /* IRQL: DISPATCH_LEVEL */
    UNREFERENCED_PARAMETER(SystemSpecific1);
    UNREFERENCED_PARAMETER(SystemSpecific2);
    UNREFERENCED_PARAMETER(SystemSpecific3);
    (void)TrafTestFinishPendingOid((PTRAFTEST_ADAPTER)FunctionContext, FALSE, NDIS_STATUS_SUCCESS);
}

_Use_decl_annotations_
VOID TrafTestCancelOidRequest(NDIS_HANDLE MiniportAdapterContext, PVOID RequestId)
{
    /* IRQL: <= DISPATCH_LEVEL */
    PTRAFTEST_ADAPTER adapter = (PTRAFTEST_ADAPTER)MiniportAdapterContext;
    BOOLEAN matches;

    TrafTestRecordEvent('c');
    InterlockedIncrement(&TrafTestControl.CancelOidCalls);
    NdisAcquireSpinLock(&adapter->Lock);
    matches = adapter->PendingOid != NULL && adapter->PendingOid->RequestId == RequestId;
    NdisReleaseSpinLock(&adapter->Lock);
    if (matches) {
        (void)TrafTestFinishPendingOid(adapter, TRUE, NDIS_STATUS_REQUEST_ABORTED);
    }
}

_Use_decl_annotations_
BOOLEAN TrafTestCheckForHangEx(NDIS_HANDLE MiniportAdapterContext)
{
    /* IRQL: PASSIVE_LEVEL */
    UNREFERENCED_PARAMETER(MiniportAdapterContext);
    TrafTestRecordEvent('C');
    InterlockedIncrement(&TrafTestControl.CheckForHangCalls);
    return TrafTestControl.CheckForHangResult;
}

/* The "hardware" after a reset: what it held is failed back (NDIS 6.30 rule: before the
 * reset completes), it works again, and its addressing state is gone. */
static VOID TrafTestResetHardware(_In_ PTRAFTEST_ADAPTER Adapter)
{
    /* IRQL: <= DISPATCH_LEVEL */
    (void)TrafTestFlushHeldSends(Adapter, NDIS_STATUS_REQUEST_ABORTED);
    (void)TrafTestFinishPendingOid(Adapter, TRUE, NDIS_STATUS_REQUEST_ABORTED);
    InterlockedExchange(&TrafTestControl.SendMode, TrafTestSendComplete);
    InterlockedExchange(&TrafTestControl.OidMode, TrafTestOidSync);
    TrafTestControl.CheckForHangResult = FALSE;
    TrafTestControl.PacketFilter = 0;
    TrafTestControl.Lookahead = 0;
    TrafTestControl.MulticastLength = 0;
}

_Use_decl_annotations_
NDIS_STATUS TrafTestResetEx(NDIS_HANDLE MiniportAdapterContext, PBOOLEAN AddressingReset)
{
    /* IRQL: <= DISPATCH_LEVEL */
    PTRAFTEST_ADAPTER adapter = (PTRAFTEST_ADAPTER)MiniportAdapterContext;
    LARGE_INTEGER dueTime;

    TrafTestRecordEvent('X');
    InterlockedIncrement(&TrafTestControl.ResetCalls);
    if (TrafTestControl.NeverCompleteReset) {
        return NDIS_STATUS_PENDING; /* a wedged miniport: no completion will ever come */
    }
    TrafTestResetHardware(adapter);
    *AddressingReset = TrafTestControl.AddressingReset;
    if (TrafTestControl.PendReset) {
        dueTime.QuadPart = -1 * 10000; /* 1 ms, relative */
        NdisSetTimerObject(adapter->ResetTimer, dueTime, 0, adapter);
        return NDIS_STATUS_PENDING;
    }
    return NDIS_STATUS_SUCCESS;
}

_Use_decl_annotations_
VOID TrafTestResetTimer(PVOID SystemSpecific1, PVOID FunctionContext, PVOID SystemSpecific2, PVOID SystemSpecific3)
{
    /* IRQL: DISPATCH_LEVEL */
    PTRAFTEST_ADAPTER adapter = (PTRAFTEST_ADAPTER)FunctionContext;
    UNREFERENCED_PARAMETER(SystemSpecific1);
    UNREFERENCED_PARAMETER(SystemSpecific2);
    UNREFERENCED_PARAMETER(SystemSpecific3);
    TrafTestRecordEvent('x');
    NdisMResetComplete(adapter->AdapterHandle, NDIS_STATUS_SUCCESS, TrafTestControl.AddressingReset);
}

_Use_decl_annotations_
VOID TrafTestDevicePnPEventNotify(NDIS_HANDLE MiniportAdapterContext, PNET_DEVICE_PNP_EVENT NetDevicePnPEvent)
{
    /* IRQL: PASSIVE_LEVEL. Surprise removal: the "hardware" is gone, so are its sends. */
    PTRAFTEST_ADAPTER adapter = (PTRAFTEST_ADAPTER)MiniportAdapterContext;
    if (NetDevicePnPEvent->DevicePnPEvent == NdisDevicePnPEventSurpriseRemoved) {
        (void)TrafTestFlushHeldSends(adapter, NDIS_STATUS_ADAPTER_REMOVED);
        (void)TrafTestFinishPendingOid(adapter, TRUE, NDIS_STATUS_ADAPTER_REMOVED);
    }
}

_Use_decl_annotations_
VOID TrafTestShutdownEx(NDIS_HANDLE MiniportAdapterContext, NDIS_SHUTDOWN_ACTION ShutdownAction)
{
    /* IRQL: PASSIVE_LEVEL */
    UNREFERENCED_PARAMETER(MiniportAdapterContext);
    UNREFERENCED_PARAMETER(ShutdownAction);
}

LONG TrafTestCompleteHeldSends(NDIS_STATUS Status)
{
    /* IRQL: <= DISPATCH_LEVEL */
    return TrafTestAdapter != NULL ? TrafTestFlushHeldSends(TrafTestAdapter, Status) : 0;
}

BOOLEAN TrafTestCompletePendingOid(NDIS_STATUS Status)
{
    /* IRQL: <= DISPATCH_LEVEL */
    return TrafTestAdapter != NULL ? TrafTestFinishPendingOid(TrafTestAdapter, TRUE, Status) : FALSE;
}

void TrafTestCompleteNbl(PNET_BUFFER_LIST NetBufferList)
{
    /* IRQL: <= DISPATCH_LEVEL */
    NdisMSendNetBufferListsComplete(TrafTestControl.AdapterHandle, NetBufferList, 0);
}

void TrafTestCompleteOid(PNDIS_OID_REQUEST Request, NDIS_STATUS Status)
{
    /* IRQL: <= DISPATCH_LEVEL */
    NdisMOidRequestComplete(TrafTestControl.AdapterHandle, Request, Status);
}

void TrafTestIndicateLinkState(NDIS_MEDIA_CONNECT_STATE State, ULONG64 Speed, BOOLEAN BadHeader)
{
    /* IRQL: <= DISPATCH_LEVEL */
    NDIS_STATUS_INDICATION indication;
    NDIS_LINK_STATE link;

    NdisZeroMemory(&link, sizeof(link));
    link.Header.Type = NDIS_OBJECT_TYPE_DEFAULT;
    link.Header.Revision = NDIS_LINK_STATE_REVISION_1;
    link.Header.Size = NDIS_SIZEOF_LINK_STATE_REVISION_1;
    link.MediaConnectState = State;
    link.MediaDuplexState = MediaDuplexStateFull;
    link.XmitLinkSpeed = Speed;
    link.RcvLinkSpeed = Speed;

    NdisZeroMemory(&indication, sizeof(indication));
    indication.Header.Type = BadHeader ? NDIS_OBJECT_TYPE_DEFAULT : NDIS_OBJECT_TYPE_STATUS_INDICATION;
    indication.Header.Revision = NDIS_STATUS_INDICATION_REVISION_1;
    indication.Header.Size = NDIS_SIZEOF_STATUS_INDICATION_REVISION_1;
    indication.SourceHandle = TrafTestControl.AdapterHandle;
    indication.StatusCode = NDIS_STATUS_LINK_STATE;
    indication.StatusBuffer = &link;
    indication.StatusBufferSize = sizeof(link);
    NdisMIndicateStatusEx(TrafTestControl.AdapterHandle, &indication);
}

void TrafTestResetComplete(void)
{
    /* IRQL: <= DISPATCH_LEVEL */
    NdisMResetComplete(TrafTestControl.AdapterHandle, NDIS_STATUS_SUCCESS, FALSE);
}

PNDIS_OID_REQUEST TrafTestLastOid(void)
{
    return TrafTestLastOidRequest;
}

void TrafTestFillOffload(void *Offload, ULONG LsoMaxSize, BOOLEAN Hardware)
{
    /* IRQL: any */
    PNDIS_OFFLOAD offload = (PNDIS_OFFLOAD)Offload;

    NdisZeroMemory(offload, NDIS_SIZEOF_NDIS_OFFLOAD_REVISION_3);
    offload->Header.Type = NDIS_OBJECT_TYPE_OFFLOAD;
    offload->Header.Revision = NDIS_OFFLOAD_REVISION_3;
    offload->Header.Size = NDIS_SIZEOF_NDIS_OFFLOAD_REVISION_3;
    offload->Checksum.IPv4Transmit.Encapsulation = NDIS_ENCAPSULATION_IEEE_802_3;
    offload->Checksum.IPv4Transmit.IpChecksum = NDIS_OFFLOAD_SUPPORTED;
    offload->Checksum.IPv4Transmit.TcpChecksum = NDIS_OFFLOAD_SUPPORTED;
    offload->LsoV2.IPv4.Encapsulation = NDIS_ENCAPSULATION_IEEE_802_3;
    offload->LsoV2.IPv4.MaxOffLoadSize = LsoMaxSize;
    offload->LsoV2.IPv4.MinSegmentCount = 2;
    if (Hardware) {
        offload->Checksum.IPv4Transmit.UdpChecksum = NDIS_OFFLOAD_SUPPORTED;
        offload->Checksum.IPv4Receive.Encapsulation = NDIS_ENCAPSULATION_IEEE_802_3;
        offload->Checksum.IPv4Receive.IpChecksum = NDIS_OFFLOAD_SUPPORTED;
        offload->Checksum.IPv4Receive.TcpChecksum = NDIS_OFFLOAD_SUPPORTED;
    }
}

void TrafTestIndicateOffloadCurrentConfig(ULONG LsoMaxSize, ULONG BufferSize)
{
    /* IRQL: <= DISPATCH_LEVEL */
    NDIS_STATUS_INDICATION indication;
    NDIS_OFFLOAD offload;

    TrafTestFillOffload(&offload, LsoMaxSize, FALSE);
    NdisZeroMemory(&indication, sizeof(indication));
    indication.Header.Type = NDIS_OBJECT_TYPE_STATUS_INDICATION;
    indication.Header.Revision = NDIS_STATUS_INDICATION_REVISION_1;
    indication.Header.Size = NDIS_SIZEOF_STATUS_INDICATION_REVISION_1;
    indication.SourceHandle = TrafTestControl.AdapterHandle;
    indication.StatusCode = NDIS_STATUS_TASK_OFFLOAD_CURRENT_CONFIG;
    indication.StatusBuffer = &offload;
    indication.StatusBufferSize = BufferSize != 0 ? BufferSize : NDIS_SIZEOF_NDIS_OFFLOAD_REVISION_3;
    NdisMIndicateStatusEx(TrafTestControl.AdapterHandle, &indication);
}
