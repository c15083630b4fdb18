/*
 * fdo.c -- samplebus as the function driver of its own bus device: PnP and power for the
 * FDO, bus relations, and the plug-in/unplug controls.
 *
 * Module Name:  samplebus
 * Environment:  kernel mode
 */
#include "samplebus.h"

static IO_COMPLETION_ROUTINE SampleBusSignalEventCompletion;

static NTSTATUS SampleBusForwardIrpSynchronously(_In_ PSAMPLEBUS_FDO_EXTENSION FdoData, _Inout_ PIRP Irp);
static NTSTATUS SampleBusQueryBusRelations(_In_ PSAMPLEBUS_FDO_EXTENSION FdoData, _Inout_ PIRP Irp);
static NTSTATUS SampleBusPlugIn(_In_ PSAMPLEBUS_FDO_EXTENSION FdoData, _In_ ULONG RequestedSerialNo,
                                _Out_ PULONG SerialNo);
static NTSTATUS SampleBusUnplug(_In_ PSAMPLEBUS_FDO_EXTENSION FdoData, _In_ ULONG SerialNo);
static VOID SampleBusDeleteAllChildren(_In_ PSAMPLEBUS_FDO_EXTENSION FdoData);

_Use_decl_annotations_
static NTSTATUS SampleBusSignalEventCompletion(PDEVICE_OBJECT DeviceObject, PIRP Irp, PVOID Context)
{
    /* IRQL: <= DISPATCH_LEVEL */
    UNREFERENCED_PARAMETER(DeviceObject);

    /* Signal only when the lower driver pended: otherwise IoCallDriver's caller already
     * has the result and never waits. */
    if (Irp->PendingReturned) {
        KeSetEvent((PKEVENT)Context, IO_NO_INCREMENT, FALSE);
    }
    /* The IRP is ours again: the dispatch routine completes it after reading the status. */
    return STATUS_MORE_PROCESSING_REQUIRED;
}

static NTSTATUS SampleBusForwardIrpSynchronously(_In_ PSAMPLEBUS_FDO_EXTENSION FdoData, _Inout_ PIRP Irp)
{
    /* IRQL: PASSIVE_LEVEL (waits) */
    KEVENT event;
    NTSTATUS status;

    KeInitializeEvent(&event, NotificationEvent, FALSE);
    IoCopyCurrentIrpStackLocationToNext(Irp);
    IoSetCompletionRoutine(Irp, SampleBusSignalEventCompletion, &event, TRUE, TRUE, TRUE);

    status = IoCallDriver(FdoData->NextLowerDriver, Irp);
    if (status == STATUS_PENDING) {
        KeWaitForSingleObject(&event, Executive, KernelMode, FALSE, NULL);
        status = Irp->IoStatus.Status;
    }
    return status;
}

_Use_decl_annotations_
NTSTATUS SampleBusFdoPnp(PSAMPLEBUS_FDO_EXTENSION FdoData, PIRP Irp)
{
    /* IRQL: PASSIVE_LEVEL */
    PIO_STACK_LOCATION stack = IoGetCurrentIrpStackLocation(Irp);
    NTSTATUS status;

    status = IoAcquireRemoveLock(&FdoData->RemoveLock, Irp);
    if (!NT_SUCCESS(status)) {
        Irp->IoStatus.Status = status;
        IoCompleteRequest(Irp, IO_NO_INCREMENT);
        return status;
    }

    switch (stack->MinorFunction) {
    case IRP_MN_START_DEVICE:
        /* The bus below must start first: forward, wait, then start ourselves. */
        status = SampleBusForwardIrpSynchronously(FdoData, Irp);
        if (NT_SUCCESS(status)) {
            POWER_STATE powerState;

            SampleBusSetNewPnpState(&FdoData->Common, SampleBusStarted);
            FdoData->Common.DevicePowerState = PowerDeviceD0;
            powerState.DeviceState = PowerDeviceD0;
            PoSetPowerState(FdoData->Common.Self, DevicePowerState, powerState);

            /* The devices already plugged into the bus at power-on. The PnP manager asks
             * for bus relations right after this start succeeds. */
            if (!FdoData->InitialChildrenCreated) {
                ULONG i;
                ULONG serialNo;

                FdoData->InitialChildrenCreated = TRUE;
                for (i = 0; i < SAMPLEBUS_INITIAL_CHILDREN && NT_SUCCESS(status); i++) {
                    status = SampleBusCreateChild(FdoData, 0, &serialNo);
                }
            }
        }
        Irp->IoStatus.Status = status;
        IoCompleteRequest(Irp, IO_NO_INCREMENT);
        IoReleaseRemoveLock(&FdoData->RemoveLock, Irp);
        return status;

    case IRP_MN_QUERY_DEVICE_RELATIONS:
        if (stack->Parameters.QueryDeviceRelations.Type != BusRelations) {
            break; /* not ours to answer: pass it down untouched */
        }
        status = SampleBusQueryBusRelations(FdoData, Irp);
        if (!NT_SUCCESS(status)) {
            Irp->IoStatus.Status = status;
            IoCompleteRequest(Irp, IO_NO_INCREMENT);
            IoReleaseRemoveLock(&FdoData->RemoveLock, Irp);
            return status;
        }
        Irp->IoStatus.Status = STATUS_SUCCESS;
        break;

    case IRP_MN_QUERY_STOP_DEVICE:
        SampleBusSetNewPnpState(&FdoData->Common, SampleBusStopPending);
        Irp->IoStatus.Status = STATUS_SUCCESS;
        break;

    case IRP_MN_CANCEL_STOP_DEVICE:
        if (FdoData->Common.DevicePnpState == SampleBusStopPending) {
            SampleBusRestorePreviousPnpState(&FdoData->Common);
        }
        Irp->IoStatus.Status = STATUS_SUCCESS;
        break;

    case IRP_MN_STOP_DEVICE:
        SampleBusSetNewPnpState(&FdoData->Common, SampleBusStopped);
        Irp->IoStatus.Status = STATUS_SUCCESS;
        break;

    case IRP_MN_QUERY_REMOVE_DEVICE:
        SampleBusSetNewPnpState(&FdoData->Common, SampleBusRemovePending);
        Irp->IoStatus.Status = STATUS_SUCCESS;
        break;

    case IRP_MN_CANCEL_REMOVE_DEVICE:
        if (FdoData->Common.DevicePnpState == SampleBusRemovePending) {
            SampleBusRestorePreviousPnpState(&FdoData->Common);
        }
        Irp->IoStatus.Status = STATUS_SUCCESS;
        break;

    case IRP_MN_SURPRISE_REMOVAL:
        SampleBusSetNewPnpState(&FdoData->Common, SampleBusSurpriseRemovePending);
        Irp->IoStatus.Status = STATUS_SUCCESS;
        break;

    case IRP_MN_REMOVE_DEVICE:
        /* The PnP manager has removed every child stack already; the PDOs that are still
         * here belong to devices that were present, and go away with their bus. */
        SampleBusSetNewPnpState(&FdoData->Common, SampleBusDeleted);
        SampleBusDeleteAllChildren(FdoData);

        Irp->IoStatus.Status = STATUS_SUCCESS;
        IoSkipCurrentIrpStackLocation(Irp);
        status = IoCallDriver(FdoData->NextLowerDriver, Irp);

        /* Wait for every I/O that holds the lock (including this IRP's acquisition). */
        IoReleaseRemoveLockAndWait(&FdoData->RemoveLock, Irp);
        IoDetachDevice(FdoData->NextLowerDriver);
        IoDeleteDevice(FdoData->Common.Self);
        return status;

    default:
        break;
    }

    IoSkipCurrentIrpStackLocation(Irp);
    status = IoCallDriver(FdoData->NextLowerDriver, Irp);
    IoReleaseRemoveLock(&FdoData->RemoveLock, Irp);
    return status;
}

static NTSTATUS SampleBusQueryBusRelations(_In_ PSAMPLEBUS_FDO_EXTENSION FdoData, _Inout_ PIRP Irp)
{
    /* IRQL: PASSIVE_LEVEL */
    PDEVICE_RELATIONS oldRelations = (PDEVICE_RELATIONS)Irp->IoStatus.Information;
    PDEVICE_RELATIONS relations;
    ULONG previousCount = 0;
    ULONG presentCount = 0;
    ULONG length;
    PLIST_ENTRY entry;

    ExAcquireFastMutex(&FdoData->ChildLock);

    for (entry = FdoData->Children.Flink; entry != &FdoData->Children; entry = entry->Flink) {
        PSAMPLEBUS_PDO_EXTENSION pdoData = CONTAINING_RECORD(entry, SAMPLEBUS_PDO_EXTENSION, Link);
        if (ReadAcquire(&pdoData->Present)) {
            presentCount++;
        }
    }

    /* An upper filter may have reported devices already: keep them and add ours. */
    if (oldRelations != NULL) {
        previousCount = oldRelations->Count;
    }
    length = sizeof(DEVICE_RELATIONS) + (previousCount + presentCount) * sizeof(PDEVICE_OBJECT);
    relations = (PDEVICE_RELATIONS)ExAllocatePool2(POOL_FLAG_PAGED, length, SAMPLEBUS_POOL_TAG);
    if (relations == NULL) {
        ExReleaseFastMutex(&FdoData->ChildLock);
        return STATUS_INSUFFICIENT_RESOURCES;
    }
    if (previousCount != 0) {
        RtlCopyMemory(relations->Objects, oldRelations->Objects, previousCount * sizeof(PDEVICE_OBJECT));
    }
    relations->Count = previousCount;

    for (entry = FdoData->Children.Flink; entry != &FdoData->Children; entry = entry->Flink) {
        PSAMPLEBUS_PDO_EXTENSION pdoData = CONTAINING_RECORD(entry, SAMPLEBUS_PDO_EXTENSION, Link);
        if (ReadAcquire(&pdoData->Present)) {
            /* The PnP manager drops this reference when it is done with the PDO. */
            relations->Objects[relations->Count++] = pdoData->Common.Self;
            ObReferenceObject(pdoData->Common.Self);
        } else {
            /* Left out of this answer: its next remove IRP deletes the PDO. */
            pdoData->ReportedMissing = TRUE;
        }
    }

    ExReleaseFastMutex(&FdoData->ChildLock);

    if (oldRelations != NULL) {
        ExFreePool(oldRelations);
    }
    Irp->IoStatus.Information = (ULONG_PTR)relations;
    return STATUS_SUCCESS;
}

static VOID SampleBusDeleteAllChildren(_In_ PSAMPLEBUS_FDO_EXTENSION FdoData)
{
    /* IRQL: PASSIVE_LEVEL. The PDOs move to a local list under the lock and are deleted
     * after it: IoDeleteDevice must run at PASSIVE_LEVEL, and a fast mutex holds APC_LEVEL. */
    LIST_ENTRY doomed;

    InitializeListHead(&doomed);
    ExAcquireFastMutex(&FdoData->ChildLock);
    while (!IsListEmpty(&FdoData->Children)) {
        PLIST_ENTRY entry = RemoveHeadList(&FdoData->Children);
        PSAMPLEBUS_PDO_EXTENSION pdoData = CONTAINING_RECORD(entry, SAMPLEBUS_PDO_EXTENSION, Link);

        FdoData->ChildCount--;
        WriteRelease(&pdoData->Present, 0);
        pdoData->ReportedMissing = TRUE;
        InsertTailList(&doomed, &pdoData->Link);
    }
    ExReleaseFastMutex(&FdoData->ChildLock);

    while (!IsListEmpty(&doomed)) {
        PLIST_ENTRY entry = RemoveHeadList(&doomed);
        PSAMPLEBUS_PDO_EXTENSION pdoData = CONTAINING_RECORD(entry, SAMPLEBUS_PDO_EXTENSION, Link);

        InitializeListHead(&pdoData->Link);
        SampleBusDeleteChild(pdoData);
    }
}

_Use_decl_annotations_
NTSTATUS SampleBusFdoPower(PSAMPLEBUS_FDO_EXTENSION FdoData, PIRP Irp)
{
    /* IRQL: PASSIVE_LEVEL. The bus FDO is not its device's power policy owner: it notes
     * device power changes and passes every power IRP down to the root PDO. */
    PIO_STACK_LOCATION stack = IoGetCurrentIrpStackLocation(Irp);
    NTSTATUS status;

    status = IoAcquireRemoveLock(&FdoData->RemoveLock, Irp);
    if (!NT_SUCCESS(status)) {
        PoStartNextPowerIrp(Irp);
        Irp->IoStatus.Status = status;
        IoCompleteRequest(Irp, IO_NO_INCREMENT);
        return status;
    }

    if (stack->MinorFunction == IRP_MN_SET_POWER) {
        if (stack->Parameters.Power.Type == DevicePowerState) {
            FdoData->Common.DevicePowerState = stack->Parameters.Power.State.DeviceState;
            PoSetPowerState(FdoData->Common.Self, DevicePowerState, stack->Parameters.Power.State);
        } else {
            FdoData->Common.SystemPowerState = stack->Parameters.Power.State.SystemState;
        }
    }

    PoStartNextPowerIrp(Irp);
    IoSkipCurrentIrpStackLocation(Irp);
    status = PoCallDriver(FdoData->NextLowerDriver, Irp);
    IoReleaseRemoveLock(&FdoData->RemoveLock, Irp);
    return status;
}

_Use_decl_annotations_
NTSTATUS SampleBusFdoDeviceControl(PSAMPLEBUS_FDO_EXTENSION FdoData, PIRP Irp)
{
    /* IRQL: PASSIVE_LEVEL */
    PIO_STACK_LOCATION stack = IoGetCurrentIrpStackLocation(Irp);
    PULONG buffer = (PULONG)Irp->AssociatedIrp.SystemBuffer;
    ULONG serialNo = 0;
    NTSTATUS status;

    Irp->IoStatus.Information = 0;
    status = IoAcquireRemoveLock(&FdoData->RemoveLock, Irp);
    if (!NT_SUCCESS(status)) {
        Irp->IoStatus.Status = status;
        IoCompleteRequest(Irp, IO_NO_INCREMENT);
        return status;
    }

    if (FdoData->Common.DevicePnpState != SampleBusStarted) {
        status = STATUS_DEVICE_NOT_READY;
    } else if (stack->Parameters.DeviceIoControl.InputBufferLength < sizeof(ULONG) || buffer == NULL) {
        status = STATUS_INVALID_PARAMETER;
    } else {
        switch (stack->Parameters.DeviceIoControl.IoControlCode) {
        case IOCTL_SAMPLEBUS_PLUG_IN:
            if (stack->Parameters.DeviceIoControl.OutputBufferLength < sizeof(ULONG)) {
                status = STATUS_BUFFER_TOO_SMALL;
                break;
            }
            status = SampleBusPlugIn(FdoData, *buffer, &serialNo);
            if (NT_SUCCESS(status)) {
                *buffer = serialNo;
                Irp->IoStatus.Information = sizeof(ULONG);
            }
            break;

        case IOCTL_SAMPLEBUS_UNPLUG:
            status = SampleBusUnplug(FdoData, *buffer);
            break;

        default:
            status = STATUS_INVALID_DEVICE_REQUEST;
            break;
        }
    }

    Irp->IoStatus.Status = status;
    IoCompleteRequest(Irp, IO_NO_INCREMENT);
    IoReleaseRemoveLock(&FdoData->RemoveLock, Irp);
    return status;
}

static NTSTATUS SampleBusPlugIn(_In_ PSAMPLEBUS_FDO_EXTENSION FdoData, _In_ ULONG RequestedSerialNo,
                                _Out_ PULONG SerialNo)
{
    /* IRQL: PASSIVE_LEVEL */
    NTSTATUS status;

    status = SampleBusCreateChild(FdoData, RequestedSerialNo, SerialNo);
    if (NT_SUCCESS(status)) {
        KdPrint(("samplebus: child %u plugged in\n", *SerialNo));
        IoInvalidateDeviceRelations(FdoData->UnderlyingPdo, BusRelations);
    }
    return status;
}

static NTSTATUS SampleBusUnplug(_In_ PSAMPLEBUS_FDO_EXTENSION FdoData, _In_ ULONG SerialNo)
{
    /* IRQL: PASSIVE_LEVEL */
    PLIST_ENTRY entry;
    NTSTATUS status = STATUS_NO_SUCH_DEVICE;

    ExAcquireFastMutex(&FdoData->ChildLock);
    for (entry = FdoData->Children.Flink; entry != &FdoData->Children; entry = entry->Flink) {
        PSAMPLEBUS_PDO_EXTENSION pdoData = CONTAINING_RECORD(entry, SAMPLEBUS_PDO_EXTENSION, Link);
        if (pdoData->SerialNo == SerialNo && ReadAcquire(&pdoData->Present)) {
            /* The hardware is gone; the PDO stays until the PnP manager removes it. */
            WriteRelease(&pdoData->Present, 0);
            status = STATUS_SUCCESS;
            break;
        }
    }
    ExReleaseFastMutex(&FdoData->ChildLock);

    if (NT_SUCCESS(status)) {
        KdPrint(("samplebus: child %u unplugged\n", SerialNo));
        IoInvalidateDeviceRelations(FdoData->UnderlyingPdo, BusRelations);
    }
    return status;
}
