/*
 * pnp.c -- samplefunc's PnP dispatch: start (after the bus), query-remove with an optional
 * veto, surprise removal (cancel what is pending, keep the device object), and removal
 * (wait for every outstanding I/O through the remove lock, detach, delete).
 *
 * Module Name:  samplefunc
 * Environment:  kernel mode
 */
#include "samplefunc.h"

static IO_COMPLETION_ROUTINE SampleFuncSignalEventCompletion;

VOID SampleFuncSetPnpState(_Inout_ PSAMPLEFUNC_FDO_EXTENSION FdoData, _In_ SAMPLEFUNC_PNP_STATE State)
{
    /* IRQL: <= DISPATCH_LEVEL */
    KIRQL oldIrql;

    KeAcquireSpinLock(&FdoData->StateLock, &oldIrql);
    FdoData->PreviousPnpState = FdoData->DevicePnpState;
    FdoData->DevicePnpState = State;
    KeReleaseSpinLock(&FdoData->StateLock, oldIrql);
}

static VOID SampleFuncRestorePnpState(_Inout_ PSAMPLEFUNC_FDO_EXTENSION FdoData)
{
    /* IRQL: <= DISPATCH_LEVEL */
    KIRQL oldIrql;

    KeAcquireSpinLock(&FdoData->StateLock, &oldIrql);
    FdoData->DevicePnpState = FdoData->PreviousPnpState;
    KeReleaseSpinLock(&FdoData->StateLock, oldIrql);
}

SAMPLEFUNC_PNP_STATE SampleFuncGetPnpState(_In_ PSAMPLEFUNC_FDO_EXTENSION FdoData)
{
    /* IRQL: <= DISPATCH_LEVEL */
    SAMPLEFUNC_PNP_STATE state;
    KIRQL oldIrql;

    KeAcquireSpinLock(&FdoData->StateLock, &oldIrql);
    state = FdoData->DevicePnpState;
    KeReleaseSpinLock(&FdoData->StateLock, oldIrql);
    return state;
}

_Use_decl_annotations_
static NTSTATUS SampleFuncSignalEventCompletion(PDEVICE_OBJECT DeviceObject, PIRP Irp, PVOID Context)
{
    /* IRQL: <= DISPATCH_LEVEL */
    UNREFERENCED_PARAMETER(DeviceObject);
    if (Irp->PendingReturned) {
        KeSetEvent((PKEVENT)Context, IO_NO_INCREMENT, FALSE);
    }
    return STATUS_MORE_PROCESSING_REQUIRED;
}

/* Sends the IRP down and waits until the lower drivers are done with it; the caller
 * completes it. For IRPs a function driver must act on after the bus driver: start,
 * cancel-remove. */
static NTSTATUS SampleFuncForwardIrpSynchronously(_In_ PSAMPLEFUNC_FDO_EXTENSION FdoData, _Inout_ PIRP Irp)
{
    /* IRQL: PASSIVE_LEVEL */
    KEVENT event;
    NTSTATUS status;

    KeInitializeEvent(&event, NotificationEvent, FALSE);
    IoCopyCurrentIrpStackLocationToNext(Irp);
    IoSetCompletionRoutine(Irp, SampleFuncSignalEventCompletion, &event, TRUE, TRUE, TRUE);
    status = IoCallDriver(FdoData->NextLowerDriver, Irp);
    if (status == STATUS_PENDING) {
        KeWaitForSingleObject(&event, Executive, KernelMode, FALSE, NULL);
        status = Irp->IoStatus.Status;
    }
    return status;
}

_Use_decl_annotations_
NTSTATUS SampleFuncDispatchPnp(PDEVICE_OBJECT DeviceObject, PIRP Irp)
{
    /* IRQL: PASSIVE_LEVEL */
    PSAMPLEFUNC_FDO_EXTENSION fdoData = (PSAMPLEFUNC_FDO_EXTENSION)DeviceObject->DeviceExtension;
    PIO_STACK_LOCATION stack = IoGetCurrentIrpStackLocation(Irp);
    POWER_STATE powerState;
    BOOLEAN veto;
    NTSTATUS status;
    KIRQL oldIrql;

    status = IoAcquireRemoveLock(&fdoData->RemoveLock, Irp);
    if (!NT_SUCCESS(status)) {
        Irp->IoStatus.Status = status;
        IoCompleteRequest(Irp, IO_NO_INCREMENT);
        return status;
    }

    switch (stack->MinorFunction) {
    case IRP_MN_START_DEVICE:
        status = SampleFuncForwardIrpSynchronously(fdoData, Irp);
        if (NT_SUCCESS(status)) {
            KeAcquireSpinLock(&fdoData->StateLock, &oldIrql);
            fdoData->DevicePowerState = PowerDeviceD0;
            KeReleaseSpinLock(&fdoData->StateLock, oldIrql);
            powerState.DeviceState = PowerDeviceD0;
            PoSetPowerState(DeviceObject, DevicePowerState, powerState);
            SampleFuncSetPnpState(fdoData, SampleFuncStarted);
            SampleFuncStartReads(fdoData);
            KdPrint(("samplefunc: device %u started, %u reads pending\n", fdoData->SerialNo,
                     SAMPLEFUNC_PENDING_READS));
        }
        Irp->IoStatus.Status = status;
        IoCompleteRequest(Irp, IO_NO_INCREMENT);
        IoReleaseRemoveLock(&fdoData->RemoveLock, Irp);
        return status;

    case IRP_MN_QUERY_REMOVE_DEVICE:
        KeAcquireSpinLock(&fdoData->StateLock, &oldIrql);
        veto = fdoData->VetoRemoval;
        KeReleaseSpinLock(&fdoData->StateLock, oldIrql);
        if (veto) {
            /* Fail it without passing it down; the PnP manager then sends
             * IRP_MN_CANCEL_REMOVE_DEVICE to the whole stack. */
            status = STATUS_DEVICE_BUSY;
            Irp->IoStatus.Status = status;
            IoCompleteRequest(Irp, IO_NO_INCREMENT);
            IoReleaseRemoveLock(&fdoData->RemoveLock, Irp);
            return status;
        }
        /* Remove-pending: take back the reads, start nothing new. */
        SampleFuncSetPnpState(fdoData, SampleFuncRemovePending);
        SampleFuncCancelReads(fdoData);
        SampleFuncWaitForReads(fdoData);
        Irp->IoStatus.Status = STATUS_SUCCESS;
        break;

    case IRP_MN_CANCEL_REMOVE_DEVICE:
        /* The lower drivers return to the started state first. */
        status = SampleFuncForwardIrpSynchronously(fdoData, Irp);
        if (SampleFuncGetPnpState(fdoData) == SampleFuncRemovePending) {
            SampleFuncRestorePnpState(fdoData);
            if (SampleFuncGetPnpState(fdoData) == SampleFuncStarted) {
                SampleFuncStartReads(fdoData);
            }
        }
        Irp->IoStatus.Status = STATUS_SUCCESS;
        IoCompleteRequest(Irp, IO_NO_INCREMENT);
        IoReleaseRemoveLock(&fdoData->RemoveLock, Irp);
        return STATUS_SUCCESS;

    case IRP_MN_SURPRISE_REMOVAL:
        /* The device is gone: fail new I/O and cancel the reads at the bus. Their
         * completions may still be running when the next driver sees this IRP: the
         * remove IRP waits for them, not this one. */
        SampleFuncSetPnpState(fdoData, SampleFuncSurpriseRemoved);
        SampleFuncCancelReads(fdoData);
        KdPrint(("samplefunc: device %u surprise-removed\n", fdoData->SerialNo));
        Irp->IoStatus.Status = STATUS_SUCCESS;
        break;

    case IRP_MN_REMOVE_DEVICE:
        SampleFuncSetPnpState(fdoData, SampleFuncDeleted);
        SampleFuncCancelReads(fdoData); /* no-op after a surprise removal */

        Irp->IoStatus.Status = STATUS_SUCCESS;
        IoSkipCurrentIrpStackLocation(Irp);
        status = IoCallDriver(fdoData->NextLowerDriver, Irp);

        /* Every read at the bus holds the remove lock: once this returns, all of them
         * have completed and none will be re-posted, so their IRPs can be freed. */
        IoReleaseRemoveLockAndWait(&fdoData->RemoveLock, Irp);
        SampleFuncFreeReads(fdoData);
        KdPrint(("samplefunc: device %u removed after %d reads (%d failed)\n", fdoData->SerialNo,
                 fdoData->ReadsCompleted, fdoData->ReadsFailed));
        IoDetachDevice(fdoData->NextLowerDriver);
        IoDeleteDevice(DeviceObject);
        return status;

    case IRP_MN_QUERY_STOP_DEVICE:
    case IRP_MN_CANCEL_STOP_DEVICE:
    case IRP_MN_STOP_DEVICE:
        /* No hardware resources to rebalance: nothing to do but agree. */
        Irp->IoStatus.Status = STATUS_SUCCESS;
        break;

    default:
        break;
    }

    IoSkipCurrentIrpStackLocation(Irp);
    status = IoCallDriver(fdoData->NextLowerDriver, Irp);
    IoReleaseRemoveLock(&fdoData->RemoveLock, Irp);
    return status;
}
