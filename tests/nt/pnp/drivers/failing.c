/*
 * failing.c -- a test driver whose DriverEntry fails, as a driver does when its hardware
 * or configuration is missing. The loader must report the status by name.
 */
#include <ntddk.h>

DRIVER_INITIALIZE DriverEntry;

_Use_decl_annotations_
NTSTATUS DriverEntry(PDRIVER_OBJECT DriverObject, PUNICODE_STRING RegistryPath)
{
    /* IRQL: PASSIVE_LEVEL */
    UNREFERENCED_PARAMETER(DriverObject);
    UNREFERENCED_PARAMETER(RegistryPath);
    return STATUS_DEVICE_NOT_CONNECTED;
}
