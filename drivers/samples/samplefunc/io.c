/*
 * io.c -- samplefunc's I/O: the read pump (K reads always pending at the bus, each with an
 * IRP allocated once in AddDevice and reused with IoReuseIrp), and the host's IOCTLs.
 *
 * Module Name:  samplefunc
 * Environment:  kernel mode
 */
#include "samplefunc.h"

static IO_COMPLETION_ROUTINE SampleFuncReadCompletion;
static IO_COMPLETION_ROUTINE SampleFuncEchoCompletion;

NTSTATUS SampleFuncAllocateReads(_Inout_ PSAMPLEFUNC_FDO_EXTENSION FdoData)
{
    /* IRQL: PASSIVE_LEVEL */
    ULONG i;

    for (i = 0; i < SAMPLEFUNC_PENDING_READS; i++) {
        PSAMPLEFUNC_READ_SLOT slot = &FdoData->Slots[i];

        slot->FdoData = FdoData;
        slot->Posted = FALSE;
        /* Sent straight to the device below: we need no stack location of our own. */
        slot->Irp = IoAllocateIrp(FdoData->NextLowerDriver->StackSize, FALSE);
        if (slot->Irp == NULL) {
            SampleFuncFreeReads(FdoData);
            return STATUS_INSUFFICIENT_RESOURCES;
        }
    }
    return STATUS_SUCCESS;
}

VOID SampleFuncFreeReads(_Inout_ PSAMPLEFUNC_FDO_EXTENSION FdoData)
{
    /* IRQL: <= DISPATCH_LEVEL. No read may be at the bus. */
    ULONG i;

    for (i = 0; i < SAMPLEFUNC_PENDING_READS; i++) {
        if (FdoData->Slots[i].Irp != NULL) {
            IoFreeIrp(FdoData->Slots[i].Irp);
            FdoData->Slots[i].Irp = NULL;
        }
    }
}

/*
 * Sends the slot's read to the bus. AlreadyOutstanding: called from the slot's own
 * completion routine, where the slot still counts as outstanding. Returns FALSE (and sends
 * nothing) once reads are disabled or the device is being removed.
 */
static BOOLEAN SampleFuncPostRead(_Inout_ PSAMPLEFUNC_FDO_EXTENSION FdoData, _Inout_ PSAMPLEFUNC_READ_SLOT Slot,
                                  _In_ BOOLEAN AlreadyOutstanding)
{
    /* IRQL: <= DISPATCH_LEVEL */
    PIRP irp = Slot->Irp;
    PIO_STACK_LOCATION next;
    KIRQL oldIrql;

    /* Each read at the bus holds the remove lock; the completion routine releases it. */
    if (!NT_SUCCESS(IoAcquireRemoveLock(&FdoData->RemoveLock, irp))) {
        return FALSE;
    }

    KeAcquireSpinLock(&FdoData->ReadLock, &oldIrql);
    if (!FdoData->ReadsEnabled || (!AlreadyOutstanding && Slot->Posted)) {
        KeReleaseSpinLock(&FdoData->ReadLock, oldIrql);
        IoReleaseRemoveLock(&FdoData->RemoveLock, irp);
        return FALSE;
    }
    if (!AlreadyOutstanding) {
        Slot->Posted = TRUE;
        if (FdoData->ReadsOutstanding++ == 0) {
            KeClearEvent(&FdoData->ReadsIdle);
        }
    }

    /* Reinitialised under ReadLock, so SampleFuncCancelReads only ever cancels the IRP
     * after this point: IoReuseIrp cannot wipe out a cancellation it already asked for. */
    IoReuseIrp(irp, STATUS_NOT_SUPPORTED);
    irp->AssociatedIrp.SystemBuffer = &Slot->Data;
    next = IoGetNextIrpStackLocation(irp);
    next->MajorFunction = IRP_MJ_INTERNAL_DEVICE_CONTROL;
    next->MinorFunction = 0;
    next->Parameters.DeviceIoControl.IoControlCode = IOCTL_SAMPLEBUS_INTERNAL_READ;
    next->Parameters.DeviceIoControl.InputBufferLength = 0;
    next->Parameters.DeviceIoControl.OutputBufferLength = sizeof(SAMPLEBUS_READ_DATA);
    next->Parameters.DeviceIoControl.Type3InputBuffer = NULL;
    IoSetCompletionRoutine(irp, SampleFuncReadCompletion, Slot, TRUE, TRUE, TRUE);
    KeReleaseSpinLock(&FdoData->ReadLock, oldIrql);

    (void)IoCallDriver(FdoData->NextLowerDriver, irp);
    return TRUE;
}

_Use_decl_annotations_
static NTSTATUS SampleFuncReadCompletion(PDEVICE_OBJECT DeviceObject, PIRP Irp, PVOID Context)
{
    /* IRQL: <= DISPATCH_LEVEL (the bus completes reads from its timer DPC) */
    PSAMPLEFUNC_READ_SLOT slot = (PSAMPLEFUNC_READ_SLOT)Context;
    PSAMPLEFUNC_FDO_EXTENSION fdoData = slot->FdoData;
    BOOLEAN reposted = FALSE;
    KIRQL oldIrql;

    /* DeviceObject is NULL: this IRP has no stack location of ours. */
    UNREFERENCED_PARAMETER(DeviceObject);

    if (NT_SUCCESS(Irp->IoStatus.Status)) {
        InterlockedIncrement(&fdoData->ReadsCompleted);
        InterlockedExchange(&fdoData->LastSequence, (LONG)slot->Data.Sequence);
        reposted = SampleFuncPostRead(fdoData, slot, TRUE);
    } else {
        /* Cancelled, or the device is gone: this slot rests until reads restart. */
        InterlockedIncrement(&fdoData->ReadsFailed);
    }

    if (!reposted) {
        KeAcquireSpinLock(&fdoData->ReadLock, &oldIrql);
        slot->Posted = FALSE;
        if (--fdoData->ReadsOutstanding == 0) {
            KeSetEvent(&fdoData->ReadsIdle, IO_NO_INCREMENT, FALSE);
        }
        KeReleaseSpinLock(&fdoData->ReadLock, oldIrql);
    }

    /* This read's reference (a re-post took its own). Nothing here touches the device
     * extension after this: the remove IRP may be waiting for exactly this release. */
    IoReleaseRemoveLock(&fdoData->RemoveLock, Irp);

    /* The IRP is ours: the I/O manager must not free it. */
    return STATUS_MORE_PROCESSING_REQUIRED;
}

VOID SampleFuncStartReads(_Inout_ PSAMPLEFUNC_FDO_EXTENSION FdoData)
{
    /* IRQL: <= DISPATCH_LEVEL */
    KIRQL oldIrql;
    ULONG i;

    KeAcquireSpinLock(&FdoData->ReadLock, &oldIrql);
    FdoData->ReadsEnabled = TRUE;
    KeReleaseSpinLock(&FdoData->ReadLock, oldIrql);

    for (i = 0; i < SAMPLEFUNC_PENDING_READS; i++) {
        (void)SampleFuncPostRead(FdoData, &FdoData->Slots[i], FALSE);
    }
}

VOID SampleFuncCancelReads(_Inout_ PSAMPLEFUNC_FDO_EXTENSION FdoData)
{
    /* IRQL: <= DISPATCH_LEVEL. Stops re-posting and asks the bus to give back every read
     * it holds; does not wait (SampleFuncWaitForReads, or the remove lock, does). */
    PIRP toCancel[SAMPLEFUNC_PENDING_READS];
    ULONG count = 0;
    KIRQL oldIrql;
    ULONG i;

    KeAcquireSpinLock(&FdoData->ReadLock, &oldIrql);
    FdoData->ReadsEnabled = FALSE;
    for (i = 0; i < SAMPLEFUNC_PENDING_READS; i++) {
        if (FdoData->Slots[i].Posted) {
            toCancel[count++] = FdoData->Slots[i].Irp;
        }
    }
    KeReleaseSpinLock(&FdoData->ReadLock, oldIrql);

    /* Outside the lock: a cancel routine may complete the IRP right here, and our
     * completion routine takes ReadLock. The IRPs stay allocated until removal, so a read
     * that completed meanwhile is still safe to hand to IoCancelIrp. */
    for (i = 0; i < count; i++) {
        (void)IoCancelIrp(toCancel[i]);
    }
}

VOID SampleFuncWaitForReads(_In_ PSAMPLEFUNC_FDO_EXTENSION FdoData)
{
    /* IRQL: PASSIVE_LEVEL */
    KeWaitForSingleObject(&FdoData->ReadsIdle, Executive, KernelMode, FALSE, NULL);
}

_Use_decl_annotations_
static NTSTATUS SampleFuncEchoCompletion(PDEVICE_OBJECT DeviceObject, PIRP Irp, PVOID Context)
{
    /* IRQL: <= DISPATCH_LEVEL */
    PSAMPLEFUNC_FDO_EXTENSION fdoData = (PSAMPLEFUNC_FDO_EXTENSION)Context;

    UNREFERENCED_PARAMETER(DeviceObject);
    if (Irp->PendingReturned) {
        IoMarkIrpPending(Irp);
    }
    IoReleaseRemoveLock(&fdoData->RemoveLock, Irp);
    return STATUS_CONTINUE_COMPLETION;
}

_Use_decl_annotations_
NTSTATUS SampleFuncDispatchDeviceControl(PDEVICE_OBJECT DeviceObject, PIRP Irp)
{
    /* IRQL: PASSIVE_LEVEL */
    PSAMPLEFUNC_FDO_EXTENSION fdoData = (PSAMPLEFUNC_FDO_EXTENSION)DeviceObject->DeviceExtension;
    PIO_STACK_LOCATION stack = IoGetCurrentIrpStackLocation(Irp);
    PVOID buffer = Irp->AssociatedIrp.SystemBuffer;
    ULONG inputLength = stack->Parameters.DeviceIoControl.InputBufferLength;
    ULONG outputLength = stack->Parameters.DeviceIoControl.OutputBufferLength;
    SAMPLEFUNC_PNP_STATE state;
    PSAMPLEFUNC_STATISTICS stats;
    PIO_STACK_LOCATION next;
    NTSTATUS status;
    KIRQL oldIrql;

    Irp->IoStatus.Information = 0;
    status = IoAcquireRemoveLock(&fdoData->RemoveLock, Irp);
    if (!NT_SUCCESS(status)) {
        Irp->IoStatus.Status = status;
        IoCompleteRequest(Irp, IO_NO_INCREMENT);
        return status;
    }
    state = SampleFuncGetPnpState(fdoData);

    switch (stack->Parameters.DeviceIoControl.IoControlCode) {
    case IOCTL_SAMPLEFUNC_ECHO:
        if (state == SampleFuncSurpriseRemoved || state == SampleFuncDeleted) {
            status = STATUS_NO_SUCH_DEVICE;
            break;
        }
        if (state != SampleFuncStarted) {
            status = STATUS_DEVICE_NOT_READY;
            break;
        }
        InterlockedIncrement(&fdoData->EchoRequests);

        /* Same buffer, same lengths: only the major function and code change on the way
         * down. The completion routine releases the remove lock. */
        IoCopyCurrentIrpStackLocationToNext(Irp);
        next = IoGetNextIrpStackLocation(Irp);
        next->MajorFunction = IRP_MJ_INTERNAL_DEVICE_CONTROL;
        next->Parameters.DeviceIoControl.IoControlCode = IOCTL_SAMPLEBUS_INTERNAL_ECHO;
        IoSetCompletionRoutine(Irp, SampleFuncEchoCompletion, fdoData, TRUE, TRUE, TRUE);
        return IoCallDriver(fdoData->NextLowerDriver, Irp);

    case IOCTL_SAMPLEFUNC_GET_STATISTICS:
        /* Answered in any state, even after surprise removal: it only reads counters. */
        if (outputLength < sizeof(SAMPLEFUNC_STATISTICS) || buffer == NULL) {
            status = STATUS_BUFFER_TOO_SMALL;
            break;
        }
        stats = (PSAMPLEFUNC_STATISTICS)buffer;
        RtlZeroMemory(stats, sizeof(*stats));
        stats->SerialNo = fdoData->SerialNo;
        stats->PendingReadSlots = SAMPLEFUNC_PENDING_READS;
        KeAcquireSpinLock(&fdoData->ReadLock, &oldIrql);
        stats->ReadsOutstanding = fdoData->ReadsOutstanding;
        KeReleaseSpinLock(&fdoData->ReadLock, oldIrql);
        stats->ReadsCompleted = (ULONG)ReadAcquire(&fdoData->ReadsCompleted);
        stats->ReadsFailed = (ULONG)ReadAcquire(&fdoData->ReadsFailed);
        stats->LastSequence = (ULONG)ReadAcquire(&fdoData->LastSequence);
        stats->EchoRequests = (ULONG)ReadAcquire(&fdoData->EchoRequests);
        KeAcquireSpinLock(&fdoData->StateLock, &oldIrql);
        stats->DevicePowerState = (ULONG)fdoData->DevicePowerState;
        KeReleaseSpinLock(&fdoData->StateLock, oldIrql);
        stats->SurpriseRemoved = (state == SampleFuncSurpriseRemoved) ? 1 : 0;
        Irp->IoStatus.Information = sizeof(SAMPLEFUNC_STATISTICS);
        status = STATUS_SUCCESS;
        break;

    case IOCTL_SAMPLEFUNC_SET_REMOVAL_VETO:
        if (inputLength < sizeof(ULONG) || buffer == NULL) {
            status = STATUS_INVALID_PARAMETER;
            break;
        }
        KeAcquireSpinLock(&fdoData->StateLock, &oldIrql);
        fdoData->VetoRemoval = (*(PULONG)buffer != 0);
        KeReleaseSpinLock(&fdoData->StateLock, oldIrql);
        status = STATUS_SUCCESS;
        break;

    default:
        status = STATUS_INVALID_DEVICE_REQUEST;
        break;
    }

    Irp->IoStatus.Status = status;
    IoCompleteRequest(Irp, IO_NO_INCREMENT);
    IoReleaseRemoveLock(&fdoData->RemoveLock, Irp);
    return status;
}
