/*
 * The smallest useful WDM driver, built out of tree against the installed DDK to prove
 * that ndishost-ddk.pc and find_package(ndishost) give a driver everything it needs.
 */
#include <ntddk.h>

DRIVER_INITIALIZE DriverEntry;
DRIVER_UNLOAD MinimalUnload;

_Use_decl_annotations_
VOID MinimalUnload(PDRIVER_OBJECT DriverObject)
{
    /* IRQL: PASSIVE_LEVEL */
    UNREFERENCED_PARAMETER(DriverObject);
}

_Use_decl_annotations_
NTSTATUS DriverEntry(PDRIVER_OBJECT DriverObject, PUNICODE_STRING RegistryPath)
{
    /* IRQL: PASSIVE_LEVEL */
    UNREFERENCED_PARAMETER(RegistryPath);
    DriverObject->DriverUnload = MinimalUnload;
    return KeGetCurrentIrql() == PASSIVE_LEVEL ? STATUS_SUCCESS : STATUS_UNSUCCESSFUL;
}
