/*
 * usbnic_data.c -- the data path: a configurable number of bulk-IN transfers kept pending
 * (their frames copied into preallocated receive NBLs, one indication per transfer),
 * bulk-OUT transfers built from the send queue by the minidriver's framing (several frames
 * per transfer where the protocol aggregates), the interrupt-IN notification transfer, and
 * the counts pause and halt wait on. Nothing here allocates per packet: every IRP, URB,
 * buffer, MDL and NBL is allocated in MiniportInitializeEx and reused.
 *
 * Sends copy each frame into the transfer buffer, except where a transfer is one frame and
 * nothing else (TxUnframed: ECM) and the frame lies in one MDL: that transfer is described
 * by a partial MDL over the sender's buffer (IoBuildPartialMdl) and sent with
 * TransferBufferMDL, without a copy.
 *
 * Locking: Adapter->Lock (an NDIS spin lock) guards the state, the queues, the free lists
 * and the counts; no IRP is sent and no NDIS indication is made while it is held.
 */
#include "usbnic_internal.h"

static IO_COMPLETION_ROUTINE UsbNicReceiveComplete;
static IO_COMPLETION_ROUTINE UsbNicSendComplete;
static IO_COMPLETION_ROUTINE UsbNicInterruptComplete;
static NDIS_IO_WORKITEM_FUNCTION UsbNicRecoverPipes;
static NDIS_TIMER_FUNCTION UsbNicTxFlushTimer;

static PVOID Allocate(PUSBNIC_ADAPTER Adapter, ULONG Length)
{
    PVOID p = NdisAllocateMemoryWithTagPriority(Adapter->MiniportHandle, Length, USBNIC_POOL_TAG,
                                                NormalPoolPriority);
    if (p != NULL) {
        NdisZeroMemory(p, Length);
    }
    return p;
}

static VOID Free(PUSBNIC_ADAPTER Adapter, PVOID Memory)
{
    if (Memory != NULL) {
        NdisFreeMemoryWithTagPriority(Adapter->MiniportHandle, Memory, USBNIC_POOL_TAG);
    }
}

static BOOLEAN AtDispatch(VOID)
{
    return KeGetCurrentIrql() >= DISPATCH_LEVEL;
}

/* ---- allocation ------------------------------------------------------------------------ */

/* PASSIVE_LEVEL (MiniportInitializeEx, after the minidriver's Bind). */
NDIS_STATUS UsbNicAllocateDataPath(PUSBNIC_ADAPTER Adapter)
{
    NET_BUFFER_LIST_POOL_PARAMETERS poolParameters;
    ULONG i;

    KeInitializeEvent(&Adapter->InterruptIdle, NotificationEvent, TRUE);
    KeInitializeEvent(&Adapter->QuiescedEvent, NotificationEvent, FALSE);

    NdisZeroMemory(&poolParameters, sizeof(poolParameters));
    poolParameters.Header.Type = NDIS_OBJECT_TYPE_DEFAULT;
    poolParameters.Header.Revision = NET_BUFFER_LIST_POOL_PARAMETERS_REVISION_1;
    poolParameters.Header.Size = NDIS_SIZEOF_NET_BUFFER_LIST_POOL_PARAMETERS_REVISION_1;
    poolParameters.ProtocolId = NDIS_PROTOCOL_ID_DEFAULT;
    poolParameters.fAllocateNetBuffer = TRUE;
    poolParameters.PoolTag = USBNIC_POOL_TAG;
    Adapter->RxNblPool = NdisAllocateNetBufferListPool(Adapter->MiniportHandle, &poolParameters);
    if (Adapter->RxNblPool == NULL) {
        return NDIS_STATUS_RESOURCES;
    }

    Adapter->RxSlots = (PUSBNIC_RX_SLOT)Allocate(Adapter, Adapter->RxSlotCount * sizeof(USBNIC_RX_SLOT));
    Adapter->Rx = (PUSBNIC_RX_CONTEXT)Allocate(Adapter, Adapter->RxUrbCount * sizeof(USBNIC_RX_CONTEXT));
    Adapter->Tx = (PUSBNIC_TX_CONTEXT)Allocate(Adapter, Adapter->TxUrbCount * sizeof(USBNIC_TX_CONTEXT));
    if (Adapter->RxSlots == NULL || Adapter->Rx == NULL || Adapter->Tx == NULL) {
        return NDIS_STATUS_RESOURCES;
    }
    for (i = 0; i < Adapter->RxSlotCount; i++) {
        PUSBNIC_RX_SLOT slot = &Adapter->RxSlots[i];
        slot->Data = (PUCHAR)Allocate(Adapter, Adapter->MaxFrameSize);
        if (slot->Data == NULL) {
            return NDIS_STATUS_RESOURCES;
        }
        slot->Mdl = NdisAllocateMdl(Adapter->MiniportHandle, slot->Data, Adapter->MaxFrameSize);
        if (slot->Mdl == NULL) {
            return NDIS_STATUS_RESOURCES;
        }
        slot->Nbl = NdisAllocateNetBufferAndNetBufferList(Adapter->RxNblPool, 0, 0, slot->Mdl, 0,
                                                          Adapter->MaxFrameSize);
        if (slot->Nbl == NULL) {
            return NDIS_STATUS_RESOURCES;
        }
        slot->Nbl->SourceHandle = Adapter->MiniportHandle;
        NET_BUFFER_LIST_MINIPORT_RESERVED(slot->Nbl)[0] = slot;
        slot->Next = Adapter->RxFree;
        Adapter->RxFree = slot;
    }
    for (i = 0; i < Adapter->RxUrbCount; i++) {
        PUSBNIC_RX_CONTEXT rx = &Adapter->Rx[i];
        rx->Adapter = Adapter;
        rx->Irp = IoAllocateIrp(Adapter->IrpStackSize, FALSE);
        rx->Urb = (PURB)Allocate(Adapter, sizeof(struct _URB_BULK_OR_INTERRUPT_TRANSFER));
        rx->Buffer = (PUCHAR)Allocate(Adapter, Adapter->RxTransferSize);
        rx->Frames = (PUSBNIC_FRAME)Allocate(Adapter, Adapter->MaxRxFramesPerTransfer * sizeof(USBNIC_FRAME));
        if (rx->Irp == NULL || rx->Urb == NULL || rx->Buffer == NULL || rx->Frames == NULL) {
            return NDIS_STATUS_RESOURCES;
        }
    }
    for (i = 0; i < Adapter->TxUrbCount; i++) {
        PUSBNIC_TX_CONTEXT tx = &Adapter->Tx[i];
        tx->Adapter = Adapter;
        tx->Irp = IoAllocateIrp(Adapter->IrpStackSize, FALSE);
        tx->Urb = (PURB)Allocate(Adapter, sizeof(struct _URB_BULK_OR_INTERRUPT_TRANSFER));
        tx->BufferSize = Adapter->TxTransferSize;
        tx->Buffer = (PUCHAR)Allocate(Adapter, Adapter->TxTransferSize);
        tx->Owners = (PNET_BUFFER_LIST *)Allocate(Adapter, Adapter->MaxFramesPerTransfer * sizeof(PNET_BUFFER_LIST));
        if (Adapter->Mini->TxScratchSize != 0) {
            tx->Scratch = Allocate(Adapter, Adapter->Mini->TxScratchSize);
        }
        if (tx->Irp == NULL || tx->Urb == NULL || tx->Buffer == NULL || tx->Owners == NULL ||
            (Adapter->Mini->TxScratchSize != 0 && tx->Scratch == NULL)) {
            return NDIS_STATUS_RESOURCES;
        }
        if (Adapter->TxUnframed && Adapter->TxZeroCopy) {
            /* Room for the largest frame at any page offset: one page more than it spans. */
            tx->PartialMdl = IoAllocateMdl(NULL, Adapter->MaxFrameSize + PAGE_SIZE, FALSE, FALSE, NULL);
            if (tx->PartialMdl == NULL) {
                return NDIS_STATUS_RESOURCES;
            }
        }
        tx->Next = Adapter->TxFree;
        Adapter->TxFree = tx;
    }
    Adapter->InterruptIrp = IoAllocateIrp(Adapter->IrpStackSize, FALSE);
    Adapter->InterruptUrb = (PURB)Allocate(Adapter, sizeof(struct _URB_BULK_OR_INTERRUPT_TRANSFER));
    Adapter->RecoveryWorkItem = NdisAllocateIoWorkItem(Adapter->MiniportHandle);
    if (Adapter->InterruptIrp == NULL || Adapter->InterruptUrb == NULL || Adapter->RecoveryWorkItem == NULL) {
        return NDIS_STATUS_RESOURCES;
    }
    if (Adapter->MaxFramesPerTransfer > 1 && Adapter->TxFlushDelayUs != 0) {
        NDIS_TIMER_CHARACTERISTICS timer;
        NdisZeroMemory(&timer, sizeof(timer));
        timer.Header.Type = NDIS_OBJECT_TYPE_TIMER_CHARACTERISTICS;
        timer.Header.Revision = NDIS_TIMER_CHARACTERISTICS_REVISION_1;
        timer.Header.Size = NDIS_SIZEOF_TIMER_CHARACTERISTICS_REVISION_1;
        timer.AllocationTag = USBNIC_POOL_TAG;
        timer.TimerFunction = UsbNicTxFlushTimer;
        timer.FunctionContext = Adapter;
        if (NdisAllocateTimerObject(Adapter->MiniportHandle, &timer, &Adapter->TxFlushTimer) != NDIS_STATUS_SUCCESS) {
            Adapter->TxFlushTimer = NULL;
            return NDIS_STATUS_RESOURCES;
        }
    }
    return NDIS_STATUS_SUCCESS;
}

VOID UsbNicFreeDataPath(PUSBNIC_ADAPTER Adapter)
{
    ULONG i;
    if (Adapter->TxFlushTimer != NULL) {
        /* Halt waited for a set timer to run (it is counted while set); freeing at
         * PASSIVE_LEVEL also waits out its DPC. */
        NdisFreeTimerObject(Adapter->TxFlushTimer);
        Adapter->TxFlushTimer = NULL;
    }
    if (Adapter->RecoveryWorkItem != NULL) {
        NdisFreeIoWorkItem(Adapter->RecoveryWorkItem);
        Adapter->RecoveryWorkItem = NULL;
    }
    if (Adapter->InterruptIrp != NULL) {
        IoFreeIrp(Adapter->InterruptIrp);
        Adapter->InterruptIrp = NULL;
    }
    Free(Adapter, Adapter->InterruptUrb);
    Adapter->InterruptUrb = NULL;
    if (Adapter->Tx != NULL) {
        for (i = 0; i < Adapter->TxUrbCount; i++) {
            PUSBNIC_TX_CONTEXT tx = &Adapter->Tx[i];
            if (tx->Irp != NULL) {
                IoFreeIrp(tx->Irp);
            }
            if (tx->PartialMdl != NULL) {
                IoFreeMdl(tx->PartialMdl);
            }
            Free(Adapter, tx->Urb);
            Free(Adapter, tx->Buffer);
            Free(Adapter, tx->Owners);
            Free(Adapter, tx->Scratch);
        }
        Free(Adapter, Adapter->Tx);
        Adapter->Tx = NULL;
    }
    if (Adapter->Rx != NULL) {
        for (i = 0; i < Adapter->RxUrbCount; i++) {
            PUSBNIC_RX_CONTEXT rx = &Adapter->Rx[i];
            if (rx->Irp != NULL) {
                IoFreeIrp(rx->Irp);
            }
            Free(Adapter, rx->Urb);
            Free(Adapter, rx->Buffer);
            Free(Adapter, rx->Frames);
        }
        Free(Adapter, Adapter->Rx);
        Adapter->Rx = NULL;
    }
    if (Adapter->RxSlots != NULL) {
        for (i = 0; i < Adapter->RxSlotCount; i++) {
            PUSBNIC_RX_SLOT slot = &Adapter->RxSlots[i];
            if (slot->Nbl != NULL) {
                NdisFreeNetBufferList(slot->Nbl);
            }
            if (slot->Mdl != NULL) {
                NdisFreeMdl(slot->Mdl);
            }
            Free(Adapter, slot->Data);
        }
        Free(Adapter, Adapter->RxSlots);
        Adapter->RxSlots = NULL;
    }
    Adapter->RxFree = NULL;
    if (Adapter->RxNblPool != NULL) {
        NdisFreeNetBufferListPool(Adapter->RxNblPool);
        Adapter->RxNblPool = NULL;
    }
}

/* ---- bookkeeping ------------------------------------------------------------------------- */

BOOLEAN UsbNicQuiescentLocked(PUSBNIC_ADAPTER Adapter)
{
    return Adapter->RxPosted == 0 && Adapter->RxIndicated == 0 && Adapter->TxInFlight == 0 &&
           Adapter->TxQueueHead == NULL && Adapter->CompletionsRunning == 0;
}

/* Lock held. When nothing is outstanding: ends a pending pause (TRUE: the caller calls
 * NdisMPauseComplete after releasing the lock) and wakes a halt. */
static BOOLEAN SettleLocked(PUSBNIC_ADAPTER Adapter)
{
    BOOLEAN completePause = FALSE;
    if (UsbNicQuiescentLocked(Adapter)) {
        if (Adapter->State == UsbNicStatePausing && Adapter->PausePending) {
            Adapter->State = UsbNicStatePaused;
            Adapter->PausePending = FALSE;
            completePause = TRUE;
        }
        if (Adapter->Halting) {
            KeSetEvent(&Adapter->QuiescedEvent, IO_NO_INCREMENT, FALSE);
        }
    }
    return completePause;
}

VOID UsbNicCheckQuiescent(PUSBNIC_ADAPTER Adapter)
{
    const NDIS_HANDLE miniport = Adapter->MiniportHandle;
    BOOLEAN completePause;
    NdisAcquireSpinLock(&Adapter->Lock);
    completePause = SettleLocked(Adapter);
    NdisReleaseSpinLock(&Adapter->Lock);
    if (completePause) {
        NdisMPauseComplete(miniport);
    }
}

/* DISPATCH_LEVEL. A completion routine counts itself while it uses the adapter: the IRP it
 * completes may be the last outstanding item, and pause or halt must not see the adapter
 * quiet (and free it) while the routine still reposts, pumps or takes the lock. Entered
 * while the IRP is still counted as outstanding. */
static VOID EnterCompletion(PUSBNIC_ADAPTER Adapter)
{
    NdisAcquireSpinLock(&Adapter->Lock);
    Adapter->CompletionsRunning++;
    NdisReleaseSpinLock(&Adapter->Lock);
}

/* DISPATCH_LEVEL. The routine's last touch of the adapter. */
static VOID LeaveCompletion(PUSBNIC_ADAPTER Adapter)
{
    /* The count drops and the adapter settles in one locked section: once the count is
     * zero a halt may free the adapter, so nothing but the copied handle is used after. */
    const NDIS_HANDLE miniport = Adapter->MiniportHandle;
    BOOLEAN completePause;
    NdisAcquireSpinLock(&Adapter->Lock);
    Adapter->CompletionsRunning--;
    completePause = SettleLocked(Adapter);
    NdisReleaseSpinLock(&Adapter->Lock);
    if (completePause) {
        NdisMPauseComplete(miniport);
    }
}

static BOOLEAN DeviceGone(PUSBNIC_ADAPTER Adapter, NTSTATUS Status, USBD_STATUS UsbdStatus)
{
    return Adapter->SurpriseRemoved || Status == STATUS_DEVICE_NOT_CONNECTED ||
           Status == STATUS_NO_SUCH_DEVICE || Status == STATUS_DEVICE_REMOVED ||
           UsbdStatus == USBD_STATUS_DEVICE_GONE;
}

/* <= DISPATCH_LEVEL. A pipe failed (stall, babble, ...): reset the pipes at PASSIVE_LEVEL
 * and restart the transfers there. */
static VOID ScheduleRecovery(PUSBNIC_ADAPTER Adapter)
{
    BOOLEAN queue = FALSE;
    NdisAcquireSpinLock(&Adapter->Lock);
    if (!Adapter->RecoveryQueued && !Adapter->Halting && !Adapter->SurpriseRemoved) {
        Adapter->RecoveryQueued = TRUE;
        queue = TRUE;
    }
    NdisReleaseSpinLock(&Adapter->Lock);
    if (queue) {
        NdisQueueIoWorkItem(Adapter->RecoveryWorkItem, UsbNicRecoverPipes, Adapter);
    }
}

/* PASSIVE_LEVEL work item. */
static VOID NTAPI UsbNicRecoverPipes(PVOID WorkItemContext, NDIS_HANDLE WorkItem)
{
    PUSBNIC_ADAPTER adapter = (PUSBNIC_ADAPTER)WorkItemContext;
    UNREFERENCED_PARAMETER(WorkItem);
    (void)UsbNicPipeRequest(adapter, URB_FUNCTION_SYNC_RESET_PIPE_AND_CLEAR_STALL, adapter->BulkInPipe);
    (void)UsbNicPipeRequest(adapter, URB_FUNCTION_SYNC_RESET_PIPE_AND_CLEAR_STALL, adapter->BulkOutPipe);
    if (adapter->InterruptPipe != NULL) {
        (void)UsbNicPipeRequest(adapter, URB_FUNCTION_SYNC_RESET_PIPE_AND_CLEAR_STALL, adapter->InterruptPipe);
    }
    /* From here the routine counts itself like a completion routine: pause and halt wait
     * for it to finish reposting. */
    NdisAcquireSpinLock(&adapter->Lock);
    adapter->Counters.PipeResets++;
    adapter->RecoveryQueued = FALSE;
    adapter->CompletionsRunning++;
    NdisReleaseSpinLock(&adapter->Lock);
    UsbNicStartInterrupt(adapter);
    UsbNicPostReceives(adapter);
    /* Sends queued while the pipes were being reset go out now. */
    UsbNicPumpSends(adapter);
    LeaveCompletion(adapter);
}

/* ---- receive --------------------------------------------------------------------------- */

/* The data is Buffer, or Mdl when Mdl is not NULL (one MDL: a chain would need
 * URB_FUNCTION_BULK_OR_INTERRUPT_TRANSFER_USING_CHAINED_MDL). */
static VOID BuildBulkTransferEx(PURB Urb, USBD_PIPE_HANDLE Pipe, PVOID Buffer, PMDL Mdl, ULONG Length, ULONG Flags)
{
    RtlZeroMemory(Urb, sizeof(struct _URB_BULK_OR_INTERRUPT_TRANSFER));
    UsbBuildInterruptOrBulkTransferRequest(Urb, sizeof(struct _URB_BULK_OR_INTERRUPT_TRANSFER), Pipe,
                                           Length != 0 && Mdl == NULL ? Buffer : NULL, Length != 0 ? Mdl : NULL,
                                           Length, Flags, NULL);
}

static VOID BuildBulkTransfer(PURB Urb, USBD_PIPE_HANDLE Pipe, PVOID Buffer, ULONG Length, ULONG Flags)
{
    BuildBulkTransferEx(Urb, Pipe, Buffer, NULL, Length, Flags);
}

/* Lock held: may a bulk-IN transfer be (re)posted now? */
static BOOLEAN ReceivesAllowedLocked(PUSBNIC_ADAPTER Adapter)
{
    return Adapter->State == UsbNicStateRunning && !Adapter->SurpriseRemoved && !Adapter->Halting &&
           !Adapter->RecoveryQueued && !Adapter->ResetInProgress;
}

/* <= DISPATCH_LEVEL. Claims an idle context under the lock (an IRP the bus driver holds is
 * never re-armed), arms it, then checks again: whoever stops receives changes the state
 * before cancelling, so either the post is abandoned here or the cancel finds the IRP
 * armed and the bus driver sees Irp->Cancel. */
static VOID PostReceive(PUSBNIC_RX_CONTEXT Rx)
{
    PUSBNIC_ADAPTER adapter = Rx->Adapter;
    BOOLEAN post;

    NdisAcquireSpinLock(&adapter->Lock);
    if (Rx->Posted || !ReceivesAllowedLocked(adapter)) {
        NdisReleaseSpinLock(&adapter->Lock);
        return;
    }
    Rx->Posted = TRUE;
    adapter->RxPosted++;
    NdisReleaseSpinLock(&adapter->Lock);

    BuildBulkTransfer(Rx->Urb, adapter->BulkInPipe, Rx->Buffer, adapter->RxTransferSize,
                      USBD_TRANSFER_DIRECTION_IN | USBD_SHORT_TRANSFER_OK);
    UsbNicPrepareUrbIrp(Rx->Irp, Rx->Urb, UsbNicReceiveComplete, Rx);

    NdisAcquireSpinLock(&adapter->Lock);
    post = ReceivesAllowedLocked(adapter);
    if (!post) {
        Rx->Posted = FALSE;
        adapter->RxPosted--;
    }
    NdisReleaseSpinLock(&adapter->Lock);
    if (post) {
        (void)IoCallDriver(adapter->NextDevice, Rx->Irp);
    } else {
        UsbNicCheckQuiescent(adapter);
    }
}

VOID UsbNicPostReceives(PUSBNIC_ADAPTER Adapter)
{
    ULONG i;
    for (i = 0; i < Adapter->RxUrbCount; i++) {
        PostReceive(&Adapter->Rx[i]);
    }
}

VOID UsbNicCancelReceives(PUSBNIC_ADAPTER Adapter)
{
    ULONG i;
    for (i = 0; i < Adapter->RxUrbCount; i++) {
        BOOLEAN posted;
        NdisAcquireSpinLock(&Adapter->Lock);
        posted = Adapter->Rx[i].Posted;
        NdisReleaseSpinLock(&Adapter->Lock);
        if (posted) {
            IoCancelIrp(Adapter->Rx[i].Irp);
        }
    }
}

static VOID CountFrame(PUSBNIC_ADAPTER Adapter, const UCHAR *Frame, ULONG Length, BOOLEAN Receive)
{
    USBNIC_COUNTERS *c = &Adapter->Counters;
    if (Receive) {
        c->RxFrames++;
        c->RxBytes += Length;
    } else {
        c->TxFrames++;
        c->TxBytes += Length;
    }
    if (Frame[0] == 0xFF && Frame[1] == 0xFF && Frame[2] == 0xFF && Frame[3] == 0xFF && Frame[4] == 0xFF &&
        Frame[5] == 0xFF) {
        if (Receive) c->RxBroadcastFrames++; else c->TxBroadcastFrames++;
    } else if ((Frame[0] & 0x01) != 0) {
        if (Receive) c->RxMulticastFrames++; else c->TxMulticastFrames++;
    } else {
        if (Receive) c->RxDirectedFrames++; else c->TxDirectedFrames++;
    }
}

/* DISPATCH_LEVEL (the bus driver completes URBs from a DPC). */
static NTSTATUS NTAPI UsbNicReceiveComplete(PDEVICE_OBJECT DeviceObject, PIRP Irp, PVOID Context)
{
    PUSBNIC_RX_CONTEXT rx = (PUSBNIC_RX_CONTEXT)Context;
    PUSBNIC_ADAPTER adapter = rx->Adapter;
    const NTSTATUS status = Irp->IoStatus.Status;
    const USBD_STATUS usbdStatus = URB_STATUS(rx->Urb);
    PNET_BUFFER_LIST head = NULL, tail = NULL;
    PUSBNIC_RX_SLOT taken = NULL;
    ULONG frames = 0, indicated = 0, i;

    UNREFERENCED_PARAMETER(DeviceObject);
    EnterCompletion(adapter);
    if (NT_SUCCESS(status)) {
        ULONG length = rx->Urb->UrbBulkOrInterruptTransfer.TransferBufferLength;
        if (length > adapter->RxTransferSize) {
            length = 0; /* a bus driver bug; never read past our buffer */
        }
        if (length != 0) {
            frames = adapter->Mini->RxParse(adapter, rx->Buffer, length, rx->Frames,
                                            adapter->MaxRxFramesPerTransfer);
        }
        NdisAcquireSpinLock(&adapter->Lock);
        adapter->Counters.RxTransfers++;
        if (frames == 0 && length != 0) {
            adapter->Counters.RxMalformed++;
        }
        /* Take one slot per frame; frames without a slot are dropped and counted. */
        for (i = 0; i < frames; i++) {
            PUSBNIC_RX_SLOT slot = adapter->RxFree;
            if (slot == NULL) {
                adapter->Counters.RxNoBuffer += frames - i;
                break;
            }
            adapter->RxFree = slot->Next;
            slot->Next = taken;
            taken = slot;
            indicated++;
        }
        adapter->RxIndicated += (LONG)indicated;
        NdisReleaseSpinLock(&adapter->Lock);

        /* Copy frames in transfer order (the slots were stacked in reverse). */
        for (i = indicated; i-- > 0;) {
            PUSBNIC_RX_SLOT slot = taken;
            const USBNIC_FRAME *frame = &rx->Frames[i];
            PNET_BUFFER nb = NET_BUFFER_LIST_FIRST_NB(slot->Nbl);
            taken = slot->Next;
            slot->Next = NULL;
            NdisMoveMemory(slot->Data, rx->Buffer + frame->Offset, frame->Length);
            NET_BUFFER_DATA_LENGTH(nb) = frame->Length;
            NET_BUFFER_DATA_OFFSET(nb) = 0;
            NET_BUFFER_CURRENT_MDL(nb) = NET_BUFFER_FIRST_MDL(nb);
            NET_BUFFER_CURRENT_MDL_OFFSET(nb) = 0;
            NET_BUFFER_LIST_STATUS(slot->Nbl) = NDIS_STATUS_SUCCESS;
            NET_BUFFER_LIST_NEXT_NBL(slot->Nbl) = head;
            head = slot->Nbl;
            if (tail == NULL) {
                tail = slot->Nbl;
            }
        }
        if (head != NULL) {
            PNET_BUFFER_LIST nbl;
            NdisAcquireSpinLock(&adapter->Lock);
            for (nbl = head; nbl != NULL; nbl = NET_BUFFER_LIST_NEXT_NBL(nbl)) {
                PUSBNIC_RX_SLOT slot = (PUSBNIC_RX_SLOT)NET_BUFFER_LIST_MINIPORT_RESERVED(nbl)[0];
                CountFrame(adapter, slot->Data, NET_BUFFER_DATA_LENGTH(NET_BUFFER_LIST_FIRST_NB(nbl)), TRUE);
            }
            NdisReleaseSpinLock(&adapter->Lock);
            NdisMIndicateReceiveNetBufferLists(adapter->MiniportHandle, head, NDIS_DEFAULT_PORT_NUMBER, indicated,
                                               AtDispatch() ? NDIS_RECEIVE_FLAGS_DISPATCH_LEVEL : 0);
        }
    } else if (status != STATUS_CANCELLED && !DeviceGone(adapter, status, usbdStatus)) {
        NdisAcquireSpinLock(&adapter->Lock);
        adapter->Counters.RxErrors++;
        NdisReleaseSpinLock(&adapter->Lock);
        ScheduleRecovery(adapter);
    }

    NdisAcquireSpinLock(&adapter->Lock);
    rx->Posted = FALSE;
    adapter->RxPosted--;
    NdisReleaseSpinLock(&adapter->Lock);
    if (NT_SUCCESS(status)) {
        PostReceive(rx);
    }
    LeaveCompletion(adapter);
    return STATUS_MORE_PROCESSING_REQUIRED;
}

VOID NTAPI UsbNicReturnNetBufferLists(NDIS_HANDLE MiniportAdapterContext, PNET_BUFFER_LIST NetBufferLists,
                                      ULONG ReturnFlags)
{
    PUSBNIC_ADAPTER adapter = (PUSBNIC_ADAPTER)MiniportAdapterContext;
    PNET_BUFFER_LIST nbl = NetBufferLists;
    UNREFERENCED_PARAMETER(ReturnFlags);

    NdisAcquireSpinLock(&adapter->Lock);
    while (nbl != NULL) {
        PNET_BUFFER_LIST next = NET_BUFFER_LIST_NEXT_NBL(nbl);
        PUSBNIC_RX_SLOT slot = (PUSBNIC_RX_SLOT)NET_BUFFER_LIST_MINIPORT_RESERVED(nbl)[0];
        NET_BUFFER_LIST_NEXT_NBL(nbl) = NULL;
        slot->Next = adapter->RxFree;
        adapter->RxFree = slot;
        adapter->RxIndicated--;
        nbl = next;
    }
    NdisReleaseSpinLock(&adapter->Lock);
    UsbNicCheckQuiescent(adapter);
}

/* ---- transmit -------------------------------------------------------------------------- */

/* How many NET_BUFFERs of an NBL are still to complete: kept in MiniportReserved[0]. */
static ULONG_PTR PendingBuffers(PNET_BUFFER_LIST Nbl)
{
    return (ULONG_PTR)NET_BUFFER_LIST_MINIPORT_RESERVED(Nbl)[0];
}

static VOID SetPendingBuffers(PNET_BUFFER_LIST Nbl, ULONG_PTR Count)
{
    NET_BUFFER_LIST_MINIPORT_RESERVED(Nbl)[0] = (PVOID)Count;
}

static VOID CompleteSends(PUSBNIC_ADAPTER Adapter, PNET_BUFFER_LIST Chain)
{
    if (Chain != NULL) {
        NdisMSendNetBufferListsComplete(Adapter->MiniportHandle, Chain,
                                        AtDispatch() ? NDIS_SEND_COMPLETE_FLAGS_DISPATCH_LEVEL : 0);
    }
}

/* Lock held. Drops one frame's reference on each owner; appends NBLs that are done to the
 * chain, in order. */
static VOID ReleaseOwnersLocked(PUSBNIC_TX_CONTEXT Tx, NDIS_STATUS Status, PNET_BUFFER_LIST *Head,
                                PNET_BUFFER_LIST *Tail)
{
    ULONG i;
    for (i = 0; i < Tx->Count; i++) {
        PNET_BUFFER_LIST nbl = Tx->Owners[i];
        ULONG_PTR remaining = PendingBuffers(nbl) - 1;
        if (Status != NDIS_STATUS_SUCCESS) {
            NET_BUFFER_LIST_STATUS(nbl) = Status;
        }
        SetPendingBuffers(nbl, remaining);
        if (remaining == 0) {
            NET_BUFFER_LIST_NEXT_NBL(nbl) = NULL;
            if (*Tail != NULL) {
                NET_BUFFER_LIST_NEXT_NBL(*Tail) = nbl;
            } else {
                *Head = nbl;
            }
            *Tail = nbl;
        }
    }
    Tx->Count = 0;
}

/* <= DISPATCH_LEVEL. When the NET_BUFFER's Length bytes lie in its current MDL: that MDL,
 * with the frame's address in the MDL's virtual range (*Virtual, for IoBuildPartialMdl) and
 * mapped (*Mapped). NULL when the data spans MDLs or cannot be mapped. */
static PMDL SingleMdlFrame(PNET_BUFFER Nb, ULONG Length, PUCHAR *Virtual, PUCHAR *Mapped)
{
    PMDL mdl = NET_BUFFER_CURRENT_MDL(Nb);
    const ULONG offset = NET_BUFFER_CURRENT_MDL_OFFSET(Nb);
    PUCHAR system;
    if (mdl == NULL || offset > MmGetMdlByteCount(mdl) || MmGetMdlByteCount(mdl) - offset < Length) {
        return NULL;
    }
    system = (PUCHAR)MmGetSystemAddressForMdlSafe(mdl, NormalPagePriority);
    if (system == NULL) {
        return NULL;
    }
    *Virtual = (PUCHAR)MmGetMdlVirtualAddress(mdl) + offset;
    *Mapped = system + offset;
    return mdl;
}

/* Lock held. Fills one transfer from the head of the send queue. */
static VOID BuildTransferLocked(PUSBNIC_ADAPTER Adapter, PUSBNIC_TX_CONTEXT Tx)
{
    const USBNIC_MINIDRIVER *mini = Adapter->Mini;
    mini->TxBegin(Adapter, Tx);
    Tx->Count = 0;
    Tx->Direct = FALSE;
    while (Adapter->TxQueueHead != NULL && Tx->Count < Adapter->MaxFramesPerTransfer) {
        PNET_BUFFER_LIST nbl = Adapter->TxQueueHead;
        PNET_BUFFER nb = Adapter->TxNextNb;
        const ULONG length = NET_BUFFER_DATA_LENGTH(nb);
        if (length < USBNIC_ETH_HEADER || length > Adapter->MaxFrameSize) {
            NET_BUFFER_LIST_STATUS(nbl) = NDIS_STATUS_INVALID_LENGTH;
            Adapter->Counters.TxErrors++;
        } else {
            const ULONG offset = mini->TxReserve(Adapter, Tx, length);
            PUCHAR data, virtualAddress = NULL, mapped = NULL;
            PMDL source;
            if (offset == USBNIC_NO_ROOM) {
                break;
            }
            /* One frame, no framing, in one MDL: the transfer is that MDL's bytes. A frame over
             * several MDLs is copied: describing the chain needs the chained-MDL URB function
             * (and USBD_QueryUsbCapability to learn the stack supports it), which this driver
             * does not use. */
            source = Adapter->TxUnframed && Tx->PartialMdl != NULL && Tx->Count == 0
                         ? SingleMdlFrame(nb, length, &virtualAddress, &mapped)
                         : NULL;
            if (source != NULL) {
                MmPrepareMdlForReuse(Tx->PartialMdl);
                IoBuildPartialMdl(source, Tx->PartialMdl, virtualAddress, length);
                Tx->Direct = TRUE;
                Adapter->Counters.TxZeroCopyFrames++;
                mini->TxCommit(Adapter, Tx, offset, length);
                CountFrame(Adapter, mapped, length, FALSE);
            } else {
                data = (PUCHAR)NdisGetDataBuffer(nb, length, Tx->Buffer + offset, 1, 0);
                if (data == NULL) {
                    NET_BUFFER_LIST_STATUS(nbl) = NDIS_STATUS_FAILURE;
                    Adapter->Counters.TxErrors++;
                } else {
                    if (data != Tx->Buffer + offset) {
                        NdisMoveMemory(Tx->Buffer + offset, data, length);
                    }
                    mini->TxCommit(Adapter, Tx, offset, length);
                    CountFrame(Adapter, Tx->Buffer + offset, length, FALSE);
                }
            }
        }
        Tx->Owners[Tx->Count++] = nbl;
        Adapter->TxQueuedFrames--;
        Adapter->TxQueuedBytes -= length;
        Adapter->TxNextNb = NET_BUFFER_NEXT_NB(nb);
        if (Adapter->TxNextNb == NULL) {
            Adapter->TxQueueHead = NET_BUFFER_LIST_NEXT_NBL(nbl);
            NET_BUFFER_LIST_NEXT_NBL(nbl) = NULL;
            if (Adapter->TxQueueHead == NULL) {
                Adapter->TxQueueTail = NULL;
            } else {
                Adapter->TxNextNb = NET_BUFFER_LIST_FIRST_NB(Adapter->TxQueueHead);
            }
        }
    }
    Tx->Length = mini->TxFinish(Adapter, Tx);
    /* A transfer ending on a packet boundary below the device's buffer size needs a ZLP. */
    Tx->ZlpPending = Tx->Length != 0 && Adapter->Cdc.BulkOutMaxPacket != 0 &&
                     Tx->Length % Adapter->Cdc.BulkOutMaxPacket == 0 && Tx->Length < Adapter->TxDeviceCapacity;
}

/* Lock held. Should the next transfer wait for more frames? When the queue would not fill
 * a transfer, for at most TxFlushDelayUs; the flush timer (counted as outstanding work
 * while set, so pause and halt wait for it) then sends what is queued. Adaptive (the
 * default): only while a bulk-OUT transfer is in flight, so a frame meeting an idle pipe
 * goes at once and frames arriving behind a transfer gather until it completes (its
 * completion pumps again) or the timer runs. TIMER (cdc_ncm's rule): always, which costs a
 * lone frame up to the delay. TransmitFlushDelay 0 turns waiting off. */
static BOOLEAN HoldForAggregationLocked(PUSBNIC_ADAPTER Adapter)
{
    LARGE_INTEGER due;
    if (Adapter->TxFlushTimer == NULL || Adapter->TxFlushDue ||
        (Adapter->TxAggregation == USBNIC_TX_AGGREGATE_ADAPTIVE && Adapter->TxInFlight == 0) ||
        Adapter->TxQueuedFrames >= Adapter->MaxFramesPerTransfer ||
        Adapter->TxQueuedBytes + Adapter->TxQueuedFrames * 16 >= Adapter->TxTransferSize) {
        return FALSE;
    }
    if (!Adapter->TxFlushArmed) {
        Adapter->TxFlushArmed = TRUE;
        Adapter->CompletionsRunning++;
        due.QuadPart = -(LONGLONG)Adapter->TxFlushDelayUs * 10; /* relative, 100 ns units */
        (void)NdisSetTimerObject(Adapter->TxFlushTimer, due, 0, Adapter);
    }
    return TRUE;
}

/* DISPATCH_LEVEL. The flush timer ran: whatever is queued goes now. */
static VOID NTAPI UsbNicTxFlushTimer(PVOID SystemSpecific1, PVOID FunctionContext, PVOID SystemSpecific2,
                                     PVOID SystemSpecific3)
{
    PUSBNIC_ADAPTER adapter = (PUSBNIC_ADAPTER)FunctionContext;
    UNREFERENCED_PARAMETER(SystemSpecific1);
    UNREFERENCED_PARAMETER(SystemSpecific2);
    UNREFERENCED_PARAMETER(SystemSpecific3);
    NdisAcquireSpinLock(&adapter->Lock);
    adapter->TxFlushArmed = FALSE;
    adapter->TxFlushDue = TRUE;
    NdisReleaseSpinLock(&adapter->Lock);
    UsbNicPumpSends(adapter);
    LeaveCompletion(adapter); /* the count HoldForAggregationLocked took */
}

/* <= DISPATCH_LEVEL. Turns queued NBLs into bulk-OUT transfers while transfer contexts are
 * free. One pump at a time, so transfers reach the bus in the order they were built. */
VOID UsbNicPumpSends(PUSBNIC_ADAPTER Adapter)
{
    NdisAcquireSpinLock(&Adapter->Lock);
    if (Adapter->TxPumping) {
        Adapter->TxPumpAgain = TRUE;
        NdisReleaseSpinLock(&Adapter->Lock);
        return;
    }
    Adapter->TxPumping = TRUE;
    do {
        Adapter->TxPumpAgain = FALSE;
        while (Adapter->State == UsbNicStateRunning && !Adapter->SurpriseRemoved && !Adapter->ResetInProgress &&
               !Adapter->RecoveryQueued && !Adapter->TxZlpOwed && Adapter->TxFree != NULL &&
               Adapter->TxQueueHead != NULL && !HoldForAggregationLocked(Adapter)) {
            PUSBNIC_TX_CONTEXT tx = Adapter->TxFree;
            Adapter->TxFree = tx->Next;
            BuildTransferLocked(Adapter, tx);
            if (tx->Length == 0) {
                /* Only frames that failed validation: complete them without a transfer. */
                PNET_BUFFER_LIST head = NULL, tail = NULL;
                ReleaseOwnersLocked(tx, NDIS_STATUS_SUCCESS, &head, &tail);
                tx->Next = Adapter->TxFree;
                Adapter->TxFree = tx;
                NdisReleaseSpinLock(&Adapter->Lock);
                CompleteSends(Adapter, head);
                NdisAcquireSpinLock(&Adapter->Lock);
                continue;
            }
            Adapter->TxInFlight++;
            Adapter->Counters.TxTransfers++;
            /* The bus adds no ZLP and the device ends a message only at a short packet: no
             * other transfer may reach the pipe between this one and its ZLP. */
            Adapter->TxZlpOwed = tx->ZlpPending;
            BuildBulkTransferEx(tx->Urb, Adapter->BulkOutPipe, tx->Buffer, tx->Direct ? tx->PartialMdl : NULL,
                                tx->Length, USBD_TRANSFER_DIRECTION_OUT);
            UsbNicPrepareUrbIrp(tx->Irp, tx->Urb, UsbNicSendComplete, tx);
            NdisReleaseSpinLock(&Adapter->Lock);
            (void)IoCallDriver(Adapter->NextDevice, tx->Irp);
            NdisAcquireSpinLock(&Adapter->Lock);
        }
    } while (Adapter->TxPumpAgain);
    if (Adapter->TxQueueHead == NULL) {
        Adapter->TxFlushDue = FALSE; /* the flush is done: the next frames may wait again */
    }
    Adapter->TxPumping = FALSE;
    NdisReleaseSpinLock(&Adapter->Lock);
}

/* DISPATCH_LEVEL. */
static NTSTATUS NTAPI UsbNicSendComplete(PDEVICE_OBJECT DeviceObject, PIRP Irp, PVOID Context)
{
    PUSBNIC_TX_CONTEXT tx = (PUSBNIC_TX_CONTEXT)Context;
    PUSBNIC_ADAPTER adapter = tx->Adapter;
    const NTSTATUS status = Irp->IoStatus.Status;
    const USBD_STATUS usbdStatus = URB_STATUS(tx->Urb);
    PNET_BUFFER_LIST head = NULL, tail = NULL;

    UNREFERENCED_PARAMETER(DeviceObject);
    EnterCompletion(adapter);
    if (tx->ZlpPending) {
        tx->ZlpPending = FALSE;
        if (NT_SUCCESS(status)) {
            BuildBulkTransfer(tx->Urb, adapter->BulkOutPipe, NULL, 0, USBD_TRANSFER_DIRECTION_OUT);
            UsbNicPrepareUrbIrp(tx->Irp, tx->Urb, UsbNicSendComplete, tx);
            (void)IoCallDriver(adapter->NextDevice, tx->Irp);
            /* The ZLP is queued on the pipe: later transfers may follow it. tx is not
             * touched again here (the ZLP's completion may already have recycled it). */
            NdisAcquireSpinLock(&adapter->Lock);
            adapter->TxZlpOwed = FALSE;
            NdisReleaseSpinLock(&adapter->Lock);
            UsbNicPumpSends(adapter);
            LeaveCompletion(adapter);
            return STATUS_MORE_PROCESSING_REQUIRED;
        }
        NdisAcquireSpinLock(&adapter->Lock);
        adapter->TxZlpOwed = FALSE;
        NdisReleaseSpinLock(&adapter->Lock);
    }
    NdisAcquireSpinLock(&adapter->Lock);
    if (!NT_SUCCESS(status)) {
        adapter->Counters.TxErrors += tx->Count;
    }
    ReleaseOwnersLocked(tx, NT_SUCCESS(status) ? NDIS_STATUS_SUCCESS : NDIS_STATUS_FAILURE, &head, &tail);
    tx->Next = adapter->TxFree;
    adapter->TxFree = tx;
    adapter->TxInFlight--;
    NdisReleaseSpinLock(&adapter->Lock);
    CompleteSends(adapter, head);
    if (!NT_SUCCESS(status) && status != STATUS_CANCELLED && !DeviceGone(adapter, status, usbdStatus)) {
        ScheduleRecovery(adapter);
    }
    UsbNicPumpSends(adapter);
    LeaveCompletion(adapter);
    return STATUS_MORE_PROCESSING_REQUIRED;
}

VOID NTAPI UsbNicSendNetBufferLists(NDIS_HANDLE MiniportAdapterContext, PNET_BUFFER_LIST NetBufferList,
                                    NDIS_PORT_NUMBER PortNumber, ULONG SendFlags)
{
    PUSBNIC_ADAPTER adapter = (PUSBNIC_ADAPTER)MiniportAdapterContext;
    PNET_BUFFER_LIST nbl = NetBufferList;
    NDIS_STATUS refuse = NDIS_STATUS_SUCCESS;
    UNREFERENCED_PARAMETER(PortNumber);
    UNREFERENCED_PARAMETER(SendFlags);

    NdisAcquireSpinLock(&adapter->Lock);
    if (adapter->SurpriseRemoved) {
        refuse = NDIS_STATUS_ADAPTER_REMOVED;
    } else if (adapter->State != UsbNicStateRunning) {
        refuse = NDIS_STATUS_PAUSED;
    }
    if (refuse == NDIS_STATUS_SUCCESS) {
        while (nbl != NULL) {
            PNET_BUFFER_LIST next = NET_BUFFER_LIST_NEXT_NBL(nbl);
            PNET_BUFFER nb;
            ULONG_PTR count = 0;
            for (nb = NET_BUFFER_LIST_FIRST_NB(nbl); nb != NULL; nb = NET_BUFFER_NEXT_NB(nb)) {
                count++;
            }
            NET_BUFFER_LIST_NEXT_NBL(nbl) = NULL;
            NET_BUFFER_LIST_STATUS(nbl) = NDIS_STATUS_SUCCESS;
            if (count == 0) {
                /* Nothing to send: completes with the next transfer's ordering kept simple. */
                SetPendingBuffers(nbl, 0);
                NdisReleaseSpinLock(&adapter->Lock);
                CompleteSends(adapter, nbl);
                NdisAcquireSpinLock(&adapter->Lock);
                nbl = next;
                continue;
            }
            SetPendingBuffers(nbl, count);
            adapter->TxQueuedFrames += (ULONG)count;
            for (nb = NET_BUFFER_LIST_FIRST_NB(nbl); nb != NULL; nb = NET_BUFFER_NEXT_NB(nb)) {
                adapter->TxQueuedBytes += NET_BUFFER_DATA_LENGTH(nb);
            }
            if (adapter->TxQueueTail != NULL) {
                NET_BUFFER_LIST_NEXT_NBL(adapter->TxQueueTail) = nbl;
            } else {
                adapter->TxQueueHead = nbl;
                adapter->TxNextNb = NET_BUFFER_LIST_FIRST_NB(nbl);
            }
            adapter->TxQueueTail = nbl;
            nbl = next;
        }
    }
    NdisReleaseSpinLock(&adapter->Lock);
    if (refuse != NDIS_STATUS_SUCCESS) {
        for (nbl = NetBufferList; nbl != NULL; nbl = NET_BUFFER_LIST_NEXT_NBL(nbl)) {
            NET_BUFFER_LIST_STATUS(nbl) = refuse;
        }
        CompleteSends(adapter, NetBufferList);
        return;
    }
    UsbNicPumpSends(adapter);
}

/* Lock held. Unlinks the queued NBLs matching CancelId (all when CancelId is NULL) that
 * have no frame in flight; the head NBL, when partly sent, only loses its unsent frames. */
static PNET_BUFFER_LIST TakeQueuedLocked(PUSBNIC_ADAPTER Adapter, PVOID CancelId, NDIS_STATUS Status)
{
    PNET_BUFFER_LIST keepHead = NULL, keepTail = NULL, doneHead = NULL, doneTail = NULL;
    PNET_BUFFER_LIST nbl = Adapter->TxQueueHead;
    PNET_BUFFER_LIST const originalHead = Adapter->TxQueueHead;
    PNET_BUFFER const originalNext = Adapter->TxNextNb;
    BOOLEAN first = TRUE;

    while (nbl != NULL) {
        PNET_BUFFER_LIST next = NET_BUFFER_LIST_NEXT_NBL(nbl);
        BOOLEAN partlySent = first && Adapter->TxNextNb != NET_BUFFER_LIST_FIRST_NB(nbl);
        BOOLEAN take = CancelId == NULL || NDIS_GET_NET_BUFFER_LIST_CANCEL_ID(nbl) == CancelId;
        NET_BUFFER_LIST_NEXT_NBL(nbl) = NULL;
        if (take && partlySent) {
            /* Its sent frames complete it later; drop the rest now. */
            PNET_BUFFER nb;
            ULONG_PTR unsent = 0;
            ULONG_PTR remaining;
            for (nb = Adapter->TxNextNb; nb != NULL; nb = NET_BUFFER_NEXT_NB(nb)) {
                unsent++;
            }
            remaining = PendingBuffers(nbl) - unsent;
            NET_BUFFER_LIST_STATUS(nbl) = Status;
            SetPendingBuffers(nbl, remaining);
            if (remaining == 0) {
                /* Its sent frames already completed: it is done now. */
                if (doneTail != NULL) {
                    NET_BUFFER_LIST_NEXT_NBL(doneTail) = nbl;
                } else {
                    doneHead = nbl;
                }
                doneTail = nbl;
            }
        } else if (take) {
            NET_BUFFER_LIST_STATUS(nbl) = Status;
            if (doneTail != NULL) {
                NET_BUFFER_LIST_NEXT_NBL(doneTail) = nbl;
            } else {
                doneHead = nbl;
            }
            doneTail = nbl;
        } else {
            if (keepTail != NULL) {
                NET_BUFFER_LIST_NEXT_NBL(keepTail) = nbl;
            } else {
                keepHead = nbl;
            }
            keepTail = nbl;
        }
        first = FALSE;
        nbl = next;
    }
    Adapter->TxQueueHead = keepHead;
    Adapter->TxQueueTail = keepTail;
    /* A kept head that was partly sent resumes where it stopped. */
    Adapter->TxNextNb = keepHead == NULL           ? NULL
                        : keepHead == originalHead ? originalNext
                                                   : NET_BUFFER_LIST_FIRST_NB(keepHead);
    /* What is left to send, counted again (a rare path: pause, cancel, removal). */
    Adapter->TxQueuedFrames = 0;
    Adapter->TxQueuedBytes = 0;
    for (nbl = keepHead; nbl != NULL; nbl = NET_BUFFER_LIST_NEXT_NBL(nbl)) {
        PNET_BUFFER nb;
        for (nb = nbl == keepHead ? Adapter->TxNextNb : NET_BUFFER_LIST_FIRST_NB(nbl); nb != NULL;
             nb = NET_BUFFER_NEXT_NB(nb)) {
            Adapter->TxQueuedFrames++;
            Adapter->TxQueuedBytes += NET_BUFFER_DATA_LENGTH(nb);
        }
    }
    return doneHead;
}

VOID UsbNicFlushSendQueue(PUSBNIC_ADAPTER Adapter, NDIS_STATUS Status)
{
    PNET_BUFFER_LIST done;
    NdisAcquireSpinLock(&Adapter->Lock);
    done = TakeQueuedLocked(Adapter, NULL, Status);
    NdisReleaseSpinLock(&Adapter->Lock);
    CompleteSends(Adapter, done);
}

VOID NTAPI UsbNicCancelSend(NDIS_HANDLE MiniportAdapterContext, PVOID CancelId)
{
    PUSBNIC_ADAPTER adapter = (PUSBNIC_ADAPTER)MiniportAdapterContext;
    PNET_BUFFER_LIST done;
    NdisAcquireSpinLock(&adapter->Lock);
    done = TakeQueuedLocked(adapter, CancelId, NDIS_STATUS_SEND_ABORTED);
    NdisReleaseSpinLock(&adapter->Lock);
    CompleteSends(adapter, done);
    UsbNicCheckQuiescent(adapter);
}

/* ---- interrupt IN ---------------------------------------------------------------------- */

/* Repost: called from the interrupt transfer's own completion (the IRP is ours and still
 * counted as posted); otherwise the idle IRP is claimed under the lock first. */
static VOID PostInterrupt(PUSBNIC_ADAPTER Adapter, BOOLEAN Repost)
{
    BOOLEAN post;
    ULONG length = sizeof(Adapter->InterruptBuffer);

    if (!Repost) {
        NdisAcquireSpinLock(&Adapter->Lock);
        if (Adapter->InterruptPosted || Adapter->Halting || Adapter->SurpriseRemoved || Adapter->RecoveryQueued) {
            NdisReleaseSpinLock(&Adapter->Lock);
            return;
        }
        Adapter->InterruptPosted = TRUE;
        KeClearEvent(&Adapter->InterruptIdle);
        NdisReleaseSpinLock(&Adapter->Lock);
    }
    if (Adapter->Cdc.InterruptMaxPacket != 0 && Adapter->Cdc.InterruptMaxPacket < length) {
        length = Adapter->Cdc.InterruptMaxPacket;
    }
    BuildBulkTransfer(Adapter->InterruptUrb, Adapter->InterruptPipe, Adapter->InterruptBuffer, length,
                      USBD_TRANSFER_DIRECTION_IN | USBD_SHORT_TRANSFER_OK);
    UsbNicPrepareUrbIrp(Adapter->InterruptIrp, Adapter->InterruptUrb, UsbNicInterruptComplete, Adapter);
    NdisAcquireSpinLock(&Adapter->Lock);
    post = !Adapter->Halting && !Adapter->SurpriseRemoved && !Adapter->RecoveryQueued;
    if (!post) {
        Adapter->InterruptPosted = FALSE;
        KeSetEvent(&Adapter->InterruptIdle, IO_NO_INCREMENT, FALSE);
    }
    NdisReleaseSpinLock(&Adapter->Lock);
    if (post) {
        (void)IoCallDriver(Adapter->NextDevice, Adapter->InterruptIrp);
    }
}

VOID UsbNicStartInterrupt(PUSBNIC_ADAPTER Adapter)
{
    if (Adapter->InterruptPipe != NULL) {
        PostInterrupt(Adapter, FALSE);
    }
}

VOID UsbNicStopInterrupt(PUSBNIC_ADAPTER Adapter)
{
    BOOLEAN posted;
    NdisAcquireSpinLock(&Adapter->Lock);
    posted = Adapter->InterruptPosted;
    NdisReleaseSpinLock(&Adapter->Lock);
    if (posted) {
        IoCancelIrp(Adapter->InterruptIrp);
    }
    KeWaitForSingleObject(&Adapter->InterruptIdle, Executive, KernelMode, FALSE, NULL);
}

/* DISPATCH_LEVEL. */
static NTSTATUS NTAPI UsbNicInterruptComplete(PDEVICE_OBJECT DeviceObject, PIRP Irp, PVOID Context)
{
    PUSBNIC_ADAPTER adapter = (PUSBNIC_ADAPTER)Context;
    const NTSTATUS status = Irp->IoStatus.Status;
    const USBD_STATUS usbdStatus = URB_STATUS(adapter->InterruptUrb);
    UNREFERENCED_PARAMETER(DeviceObject);

    EnterCompletion(adapter);
    if (NT_SUCCESS(status)) {
        ULONG length = adapter->InterruptUrb->UrbBulkOrInterruptTransfer.TransferBufferLength;
        if (length > sizeof(adapter->InterruptBuffer)) {
            length = 0;
        }
        NdisAcquireSpinLock(&adapter->Lock);
        adapter->Counters.Notifications++;
        NdisReleaseSpinLock(&adapter->Lock);
        if (length != 0 && adapter->Mini->Notification != NULL) {
            adapter->Mini->Notification(adapter, adapter->InterruptBuffer, length);
        }
        PostInterrupt(adapter, TRUE);
    } else {
        NdisAcquireSpinLock(&adapter->Lock);
        adapter->InterruptPosted = FALSE;
        KeSetEvent(&adapter->InterruptIdle, IO_NO_INCREMENT, FALSE);
        NdisReleaseSpinLock(&adapter->Lock);
        if (status != STATUS_CANCELLED && !DeviceGone(adapter, status, usbdStatus)) {
            ScheduleRecovery(adapter);
        }
    }
    LeaveCompletion(adapter);
    return STATUS_MORE_PROCESSING_REQUIRED;
}
