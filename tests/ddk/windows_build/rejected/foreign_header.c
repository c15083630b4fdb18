/* Must NOT pass the Windows build check: it reaches a header the project does not provide
 * (the C runtime's stdio), which mingw-w64 would otherwise supply silently. */
#include <wdm.h>
#include <stdio.h>

DRIVER_INITIALIZE DriverEntry;

NTSTATUS NTAPI DriverEntry(PDRIVER_OBJECT DriverObject, PUNICODE_STRING RegistryPath) {
  UNREFERENCED_PARAMETER(DriverObject);
  UNREFERENCED_PARAMETER(RegistryPath);
  return STATUS_SUCCESS;
}
