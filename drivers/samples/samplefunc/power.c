/*
 * power.c -- samplefunc as its device's power policy owner.
 *
 * A system set-power IRP goes down first; on its way back up the driver requests the
 * matching device set-power IRP (S0 -> D0, any sleep state -> D3) with
 * PoRequestPowerIrp and completes the system IRP when the device IRP is done. A device
 * power-down takes the reads back before the bus powers the device off; a power-up
 * re-posts them after the bus has powered it on.
 *
 * Module Name:  samplefunc
 * Environment:  kernel mode
 */
#include "samplefunc.h"

static IO_COMPLETION_ROUTINE SampleFuncSystemPowerCompletion;
static IO_COMPLETION_ROUTINE SampleFuncPowerUpCompletion;
static REQUEST_POWER_COMPLETE SampleFuncDevicePowerRequestComplete;

static VOID SampleFuncRecordDevicePower(_Inout_ PSAMPLEFUNC_FDO_EXTENSION FdoData, _In_ DEVICE_POWER_STATE State)
{
    /* IRQL: <= APC_LEVEL, or <= DISPATCH_LEVEL for D0 (PoSetPowerState's rule) */
    POWER_STATE powerState;
    KIRQL oldIrql;

    KeAcquireSpinLock(&FdoData->StateLock, &oldIrql);
    FdoData->DevicePowerState = State;
    KeReleaseSpinLock(&FdoData->StateLock, oldIrql);
    powerState.DeviceState = State;
    PoSetPowerState(FdoData->Self, DevicePowerState, powerState);
}

_Use_decl_annotations_
static VOID SampleFuncDevicePowerRequestComplete(PDEVICE_OBJECT DeviceObject, UCHAR MinorFunction,
                                                 POWER_STATE PowerState, PVOID Context, PIO_STATUS_BLOCK IoStatus)
{
    /* IRQL: <= DISPATCH_LEVEL. The device IRP we requested for a system IRP is done:
     * finish the system IRP with its status. */
    PIRP systemIrp = (PIRP)Context;
    PSAMPLEFUNC_FDO_EXTENSION fdoData;

    UNREFERENCED_PARAMETER(DeviceObject);
    UNREFERENCED_PARAMETER(MinorFunction);
    UNREFERENCED_PARAMETER(PowerState);

    fdoData = (PSAMPLEFUNC_FDO_EXTENSION)IoGetCurrentIrpStackLocation(systemIrp)->DeviceObject->DeviceExtension;
    systemIrp->IoStatus.Status = IoStatus->Status;
    PoStartNextPowerIrp(systemIrp);
    IoCompleteRequest(systemIrp, IO_NO_INCREMENT);
    IoReleaseRemoveLock(&fdoData->RemoveLock, systemIrp);
}

_Use_decl_annotations_
static NTSTATUS SampleFuncSystemPowerCompletion(PDEVICE_OBJECT DeviceObject, PIRP Irp, PVOID Context)
{
    /* IRQL: <= DISPATCH_LEVEL */
    PSAMPLEFUNC_FDO_EXTENSION fdoData = (PSAMPLEFUNC_FDO_EXTENSION)Context;
    PIO_STACK_LOCATION stack = IoGetCurrentIrpStackLocation(Irp);
    SYSTEM_POWER_STATE systemState = stack->Parameters.Power.State.SystemState;
    POWER_STATE deviceState;
    NTSTATUS status;
    KIRQL oldIrql;

    UNREFERENCED_PARAMETER(DeviceObject);

    if (!NT_SUCCESS(Irp->IoStatus.Status)) {
        PoStartNextPowerIrp(Irp);
        IoReleaseRemoveLock(&fdoData->RemoveLock, Irp);
        return STATUS_CONTINUE_COMPLETION;
    }

    KeAcquireSpinLock(&fdoData->StateLock, &oldIrql);
    fdoData->SystemPowerState = systemState;
    KeReleaseSpinLock(&fdoData->StateLock, oldIrql);

    deviceState.DeviceState = (systemState == PowerSystemWorking) ? PowerDeviceD0 : PowerDeviceD3;
    status = PoRequestPowerIrp(fdoData->UnderlyingPdo, IRP_MN_SET_POWER, deviceState,
                               SampleFuncDevicePowerRequestComplete, Irp, NULL);
    if (!NT_SUCCESS(status)) {
        Irp->IoStatus.Status = status;
        PoStartNextPowerIrp(Irp);
        IoReleaseRemoveLock(&fdoData->RemoveLock, Irp);
        return STATUS_CONTINUE_COMPLETION;
    }

    /* SampleFuncDevicePowerRequestComplete completes the system IRP. */
    return STATUS_MORE_PROCESSING_REQUIRED;
}

_Use_decl_annotations_
static NTSTATUS SampleFuncPowerUpCompletion(PDEVICE_OBJECT DeviceObject, PIRP Irp, PVOID Context)
{
    /* IRQL: <= DISPATCH_LEVEL. The bus has powered the device on: resume. */
    PSAMPLEFUNC_FDO_EXTENSION fdoData = (PSAMPLEFUNC_FDO_EXTENSION)Context;

    UNREFERENCED_PARAMETER(DeviceObject);

    if (NT_SUCCESS(Irp->IoStatus.Status)) {
        SampleFuncRecordDevicePower(fdoData, PowerDeviceD0);
        if (SampleFuncGetPnpState(fdoData) == SampleFuncStarted) {
            SampleFuncStartReads(fdoData);
        }
    }
    PoStartNextPowerIrp(Irp);
    IoReleaseRemoveLock(&fdoData->RemoveLock, Irp);
    return STATUS_CONTINUE_COMPLETION;
}

_Use_decl_annotations_
NTSTATUS SampleFuncDispatchPower(PDEVICE_OBJECT DeviceObject, PIRP Irp)
{
    /* IRQL: PASSIVE_LEVEL (DO_POWER_PAGABLE) */
    PSAMPLEFUNC_FDO_EXTENSION fdoData = (PSAMPLEFUNC_FDO_EXTENSION)DeviceObject->DeviceExtension;
    PIO_STACK_LOCATION stack = IoGetCurrentIrpStackLocation(Irp);
    NTSTATUS status;

    status = IoAcquireRemoveLock(&fdoData->RemoveLock, Irp);
    if (!NT_SUCCESS(status)) {
        PoStartNextPowerIrp(Irp);
        Irp->IoStatus.Status = status;
        IoCompleteRequest(Irp, IO_NO_INCREMENT);
        return status;
    }

    if (stack->MinorFunction == IRP_MN_SET_POWER && stack->Parameters.Power.Type == SystemPowerState) {
        /* Down first; the device IRP is requested on the way back up. */
        IoMarkIrpPending(Irp);
        IoCopyCurrentIrpStackLocationToNext(Irp);
        IoSetCompletionRoutine(Irp, SampleFuncSystemPowerCompletion, fdoData, TRUE, TRUE, TRUE);
        (void)PoCallDriver(fdoData->NextLowerDriver, Irp);
        return STATUS_PENDING;
    }

    if (stack->MinorFunction == IRP_MN_SET_POWER && stack->Parameters.Power.State.DeviceState == PowerDeviceD0) {
        /* Power-up: the bus first, then us, in the completion routine. */
        IoMarkIrpPending(Irp);
        IoCopyCurrentIrpStackLocationToNext(Irp);
        IoSetCompletionRoutine(Irp, SampleFuncPowerUpCompletion, fdoData, TRUE, TRUE, TRUE);
        (void)PoCallDriver(fdoData->NextLowerDriver, Irp);
        return STATUS_PENDING;
    }

    if (stack->MinorFunction == IRP_MN_SET_POWER) {
        /* Power-down: take the reads back while the device can still answer, tell the
         * power manager before leaving D0, then let the bus switch it off. */
        SampleFuncCancelReads(fdoData);
        SampleFuncWaitForReads(fdoData);
        SampleFuncRecordDevicePower(fdoData, stack->Parameters.Power.State.DeviceState);
    }

    /* Query-power, wait/wake and the rest: the bus decides. */
    PoStartNextPowerIrp(Irp);
    IoSkipCurrentIrpStackLocation(Irp);
    status = PoCallDriver(fdoData->NextLowerDriver, Irp);
    IoReleaseRemoveLock(&fdoData->RemoveLock, Irp);
    return status;
}
