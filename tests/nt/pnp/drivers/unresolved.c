/*
 * unresolved.c -- a test driver importing DDIs that do not exist. It links only because
 * its build ignores unresolved symbols; the loader must refuse it and name all three.
 */
#include <ntddk.h>

DRIVER_INITIALIZE DriverEntry;

/* Made-up routines, standing in for DDIs ndishost does not implement. */
NTKERNELAPI VOID NTAPI NdisFakeUnimplementedRoutine(VOID);
NTKERNELAPI NTSTATUS NTAPI IoFakeUnimplementedRoutine(_In_ PDEVICE_OBJECT DeviceObject);
NTKERNELAPI ULONG NTAPI KeFakeUnimplementedRoutine(_In_ ULONG Value);

_Use_decl_annotations_
NTSTATUS DriverEntry(PDRIVER_OBJECT DriverObject, PUNICODE_STRING RegistryPath)
{
    /* IRQL: PASSIVE_LEVEL */
    UNREFERENCED_PARAMETER(RegistryPath);
    NdisFakeUnimplementedRoutine();
    if (KeFakeUnimplementedRoutine(1) == 0) {
        return IoFakeUnimplementedRoutine(DriverObject->DeviceObject);
    }
    return STATUS_SUCCESS;
}
