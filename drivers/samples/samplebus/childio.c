/*
 * childio.c -- the simulated hardware behind each child PDO: the internal IOCTLs a function
 * driver sends it, a cancel-safe queue of pending reads, and the periodic timer whose DPC
 * "receives data" and completes them.
 *
 * Module Name:  samplebus
 * Environment:  kernel mode
 */
#include "samplebus.h"

static IO_CSQ_INSERT_IRP SampleBusCsqInsertIrp;
static IO_CSQ_REMOVE_IRP SampleBusCsqRemoveIrp;
static IO_CSQ_PEEK_NEXT_IRP SampleBusCsqPeekNextIrp;
static IO_CSQ_ACQUIRE_LOCK SampleBusCsqAcquireLock;
static IO_CSQ_RELEASE_LOCK SampleBusCsqReleaseLock;
static IO_CSQ_COMPLETE_CANCELED_IRP SampleBusCsqCompleteCanceledIrp;
static KDEFERRED_ROUTINE SampleBusReadTimerDpc;

static VOID SampleBusFailQueuedReads(_Inout_ PSAMPLEBUS_PDO_EXTENSION PdoData, _In_ NTSTATUS Status);

#define SAMPLEBUS_PDO_FROM_CSQ(Csq) CONTAINING_RECORD((Csq), SAMPLEBUS_PDO_EXTENSION, ReadQueue)

VOID SampleBusInitializeChildIo(_Inout_ PSAMPLEBUS_PDO_EXTENSION PdoData)
{
    /* IRQL: PASSIVE_LEVEL */
    InitializeListHead(&PdoData->PendingReads);
    KeInitializeSpinLock(&PdoData->ReadQueueLock);
    IoCsqInitialize(&PdoData->ReadQueue, SampleBusCsqInsertIrp, SampleBusCsqRemoveIrp, SampleBusCsqPeekNextIrp,
                    SampleBusCsqAcquireLock, SampleBusCsqReleaseLock, SampleBusCsqCompleteCanceledIrp);
    KeInitializeTimerEx(&PdoData->ReadTimer, NotificationTimer);
    KeInitializeDpc(&PdoData->ReadDpc, SampleBusReadTimerDpc, PdoData);
    PdoData->AcceptingRequests = FALSE;
    PdoData->ReadTimerRunning = FALSE;
    PdoData->ReadSequence = 0;
    PdoData->Powered = 0;
}

VOID SampleBusStartChildIo(_Inout_ PSAMPLEBUS_PDO_EXTENSION PdoData)
{
    /* IRQL: PASSIVE_LEVEL */
    KIRQL oldIrql;
    LARGE_INTEGER dueTime;

    KeAcquireSpinLock(&PdoData->ReadQueueLock, &oldIrql);
    PdoData->AcceptingRequests = TRUE;
    KeReleaseSpinLock(&PdoData->ReadQueueLock, oldIrql);

    if (!PdoData->ReadTimerRunning) {
        dueTime.QuadPart = -(LONGLONG)SAMPLEBUS_READ_PERIOD_MS * 10000; /* relative, 100 ns units */
        KeSetTimerEx(&PdoData->ReadTimer, dueTime, SAMPLEBUS_READ_PERIOD_MS, &PdoData->ReadDpc);
        PdoData->ReadTimerRunning = TRUE;
    }
}

VOID SampleBusStopChildIo(_Inout_ PSAMPLEBUS_PDO_EXTENSION PdoData, _In_ NTSTATUS FailQueuedWith)
{
    /* IRQL: PASSIVE_LEVEL */
    KIRQL oldIrql;

    /* New requests are refused from here on; the dispatch routine re-checks after queuing. */
    KeAcquireSpinLock(&PdoData->ReadQueueLock, &oldIrql);
    PdoData->AcceptingRequests = FALSE;
    KeReleaseSpinLock(&PdoData->ReadQueueLock, oldIrql);

    if (PdoData->ReadTimerRunning) {
        /* KeCancelTimer does not take back a DPC the timer already queued: flush it, so
         * no DPC touches the queue (or the PDO) after this returns. */
        KeCancelTimer(&PdoData->ReadTimer);
        KeFlushQueuedDpcs();
        PdoData->ReadTimerRunning = FALSE;
    }
    SampleBusFailQueuedReads(PdoData, FailQueuedWith);
}

VOID SampleBusSetChildPower(_Inout_ PSAMPLEBUS_PDO_EXTENSION PdoData, _In_ DEVICE_POWER_STATE State)
{
    /* IRQL: PASSIVE_LEVEL */
    POWER_STATE powerState;

    /* Tell the power manager before leaving D0, after arriving in it. */
    powerState.DeviceState = State;
    if (State != PowerDeviceD0) {
        PoSetPowerState(PdoData->Common.Self, DevicePowerState, powerState);
        WriteRelease(&PdoData->Powered, 0);
    } else {
        WriteRelease(&PdoData->Powered, 1);
        PoSetPowerState(PdoData->Common.Self, DevicePowerState, powerState);
    }
    PdoData->Common.DevicePowerState = State;
}

static VOID SampleBusFailQueuedReads(_Inout_ PSAMPLEBUS_PDO_EXTENSION PdoData, _In_ NTSTATUS Status)
{
    /* IRQL: <= DISPATCH_LEVEL */
    PIRP irp;

    while ((irp = IoCsqRemoveNextIrp(&PdoData->ReadQueue, NULL)) != NULL) {
        irp->IoStatus.Status = Status;
        irp->IoStatus.Information = 0;
        IoCompleteRequest(irp, IO_NO_INCREMENT);
    }
}

_Use_decl_annotations_
NTSTATUS SampleBusPdoInternalDeviceControl(PSAMPLEBUS_PDO_EXTENSION PdoData, PIRP Irp)
{
    /* IRQL: <= DISPATCH_LEVEL */
    PIO_STACK_LOCATION stack = IoGetCurrentIrpStackLocation(Irp);
    ULONG inputLength = stack->Parameters.DeviceIoControl.InputBufferLength;
    ULONG outputLength = stack->Parameters.DeviceIoControl.OutputBufferLength;
    BOOLEAN accepting;
    KIRQL oldIrql;
    NTSTATUS status;

    Irp->IoStatus.Information = 0;

    KeAcquireSpinLock(&PdoData->ReadQueueLock, &oldIrql);
    accepting = PdoData->AcceptingRequests;
    KeReleaseSpinLock(&PdoData->ReadQueueLock, oldIrql);

    if (!ReadAcquire(&PdoData->Present)) {
        status = STATUS_NO_SUCH_DEVICE; /* unplugged: the hardware cannot answer */
    } else if (!accepting) {
        status = STATUS_DEVICE_NOT_READY;
    } else {
        switch (stack->Parameters.DeviceIoControl.IoControlCode) {
        case IOCTL_SAMPLEBUS_INTERNAL_ECHO:
            /* METHOD_BUFFERED: the data is already in the system buffer, which is also
             * the output buffer. */
            if (inputLength != 0 && Irp->AssociatedIrp.SystemBuffer == NULL) {
                status = STATUS_INVALID_PARAMETER;
            } else if (outputLength < inputLength) {
                status = STATUS_BUFFER_TOO_SMALL;
            } else {
                Irp->IoStatus.Information = inputLength;
                status = STATUS_SUCCESS;
            }
            break;

        case IOCTL_SAMPLEBUS_INTERNAL_READ:
            if (outputLength < sizeof(SAMPLEBUS_READ_DATA) || Irp->AssociatedIrp.SystemBuffer == NULL) {
                status = STATUS_BUFFER_TOO_SMALL;
                break;
            }
            /* Marks the IRP pending and makes it cancellable. */
            IoCsqInsertIrp(&PdoData->ReadQueue, Irp, NULL);

            /* A stop that raced with us may have flushed the queue just before the insert:
             * it cleared AcceptingRequests first, so re-check and flush again ourselves. */
            KeAcquireSpinLock(&PdoData->ReadQueueLock, &oldIrql);
            accepting = PdoData->AcceptingRequests;
            KeReleaseSpinLock(&PdoData->ReadQueueLock, oldIrql);
            if (!accepting) {
                SampleBusFailQueuedReads(PdoData, STATUS_DEVICE_NOT_READY);
            }
            return STATUS_PENDING;

        default:
            status = STATUS_INVALID_DEVICE_REQUEST;
            break;
        }
    }

    Irp->IoStatus.Status = status;
    IoCompleteRequest(Irp, IO_NO_INCREMENT);
    return status;
}

_Use_decl_annotations_
static VOID SampleBusReadTimerDpc(PKDPC Dpc, PVOID DeferredContext, PVOID SystemArgument1, PVOID SystemArgument2)
{
    /* IRQL: DISPATCH_LEVEL */
    PSAMPLEBUS_PDO_EXTENSION pdoData = (PSAMPLEBUS_PDO_EXTENSION)DeferredContext;
    LIST_ENTRY ready;
    PIRP irp;

    UNREFERENCED_PARAMETER(Dpc);
    UNREFERENCED_PARAMETER(SystemArgument1);
    UNREFERENCED_PARAMETER(SystemArgument2);

    /* An unplugged or sleeping device produces no data: its reads stay queued. */
    if (!ReadAcquire(&pdoData->Present) || !ReadAcquire(&pdoData->Powered)) {
        return;
    }

    /* Take what is queued now, then complete it: a completion routine that re-posts a
     * read at once must not keep this DPC looping. */
    InitializeListHead(&ready);
    while ((irp = IoCsqRemoveNextIrp(&pdoData->ReadQueue, NULL)) != NULL) {
        InsertTailList(&ready, &irp->Tail.Overlay.ListEntry);
    }

    while (!IsListEmpty(&ready)) {
        PLIST_ENTRY entry = RemoveHeadList(&ready);
        PSAMPLEBUS_READ_DATA data;

        irp = CONTAINING_RECORD(entry, IRP, Tail.Overlay.ListEntry);
        data = (PSAMPLEBUS_READ_DATA)irp->AssociatedIrp.SystemBuffer;
        data->SerialNo = pdoData->SerialNo;
        data->Sequence = (ULONG)InterlockedIncrement(&pdoData->ReadSequence);
        data->InterruptTime = KeQueryInterruptTime();
        irp->IoStatus.Status = STATUS_SUCCESS;
        irp->IoStatus.Information = sizeof(SAMPLEBUS_READ_DATA);
        IoCompleteRequest(irp, IO_NO_INCREMENT);
    }
}

/* ---- cancel-safe queue callbacks: all run with ReadQueueLock held except
 * CompleteCanceledIrp, which runs after the queue released the IRP. ---------------- */

_Use_decl_annotations_
static VOID SampleBusCsqInsertIrp(PIO_CSQ Csq, PIRP Irp)
{
    /* IRQL: DISPATCH_LEVEL (lock held) */
    InsertTailList(&SAMPLEBUS_PDO_FROM_CSQ(Csq)->PendingReads, &Irp->Tail.Overlay.ListEntry);
}

_Use_decl_annotations_
static VOID SampleBusCsqRemoveIrp(PIO_CSQ Csq, PIRP Irp)
{
    /* IRQL: DISPATCH_LEVEL (lock held) */
    UNREFERENCED_PARAMETER(Csq);
    RemoveEntryList(&Irp->Tail.Overlay.ListEntry);
}

_Use_decl_annotations_
static PIRP SampleBusCsqPeekNextIrp(PIO_CSQ Csq, PIRP Irp, PVOID PeekContext)
{
    /* IRQL: DISPATCH_LEVEL (lock held). No peek context is used: FIFO order. */
    PSAMPLEBUS_PDO_EXTENSION pdoData = SAMPLEBUS_PDO_FROM_CSQ(Csq);
    PLIST_ENTRY next;

    UNREFERENCED_PARAMETER(PeekContext);
    next = (Irp == NULL) ? pdoData->PendingReads.Flink : Irp->Tail.Overlay.ListEntry.Flink;
    if (next == &pdoData->PendingReads) {
        return NULL;
    }
    return CONTAINING_RECORD(next, IRP, Tail.Overlay.ListEntry);
}

_Use_decl_annotations_
static VOID SampleBusCsqAcquireLock(PIO_CSQ Csq, PKIRQL Irql)
{
    /* IRQL: <= DISPATCH_LEVEL; raises to DISPATCH_LEVEL */
    KeAcquireSpinLock(&SAMPLEBUS_PDO_FROM_CSQ(Csq)->ReadQueueLock, Irql);
}

_Use_decl_annotations_
static VOID SampleBusCsqReleaseLock(PIO_CSQ Csq, KIRQL Irql)
{
    /* IRQL: DISPATCH_LEVEL; restores Irql */
    KeReleaseSpinLock(&SAMPLEBUS_PDO_FROM_CSQ(Csq)->ReadQueueLock, Irql);
}

_Use_decl_annotations_
static VOID SampleBusCsqCompleteCanceledIrp(PIO_CSQ Csq, PIRP Irp)
{
    /* IRQL: <= DISPATCH_LEVEL */
    UNREFERENCED_PARAMETER(Csq);
    Irp->IoStatus.Status = STATUS_CANCELLED;
    Irp->IoStatus.Information = 0;
    IoCompleteRequest(Irp, IO_NO_INCREMENT);
}
