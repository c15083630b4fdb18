/* Must NOT pass the Windows build check: it calls a routine that no kernel module exports
 * (declared here, as a driver might by mistake), so the image cannot link. */
#include <wdm.h>

NTKERNELAPI NTSTATUS NTAPI NdishostNoSuchKernelExport(_In_ ULONG Value);

DRIVER_INITIALIZE DriverEntry;

NTSTATUS NTAPI DriverEntry(PDRIVER_OBJECT DriverObject, PUNICODE_STRING RegistryPath) {
  UNREFERENCED_PARAMETER(DriverObject);
  UNREFERENCED_PARAMETER(RegistryPath);
  return NdishostNoSuchKernelExport(1);
}
