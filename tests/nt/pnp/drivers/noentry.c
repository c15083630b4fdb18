/*
 * noentry.c -- a test image that is a well-formed shared object but exports no
 * DriverEntry (its entry point has a misspelt name). The loader must say so.
 */
#include <ntddk.h>

DRIVER_INITIALIZE DriverEntryy;

_Use_decl_annotations_
NTSTATUS DriverEntryy(PDRIVER_OBJECT DriverObject, PUNICODE_STRING RegistryPath)
{
    /* IRQL: PASSIVE_LEVEL */
    UNREFERENCED_PARAMETER(DriverObject);
    UNREFERENCED_PARAMETER(RegistryPath);
    return STATUS_SUCCESS;
}
