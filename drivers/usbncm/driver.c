/*
 * driver.c -- DriverEntry of the CDC-NCM / CDC-ECM host miniport (usbncm). The image binds
 * to the CDC compatible IDs USB\Class_02&SubClass_0D (NCM) and USB\Class_02&SubClass_06
 * (ECM); everything but the framing lives in usbnic.
 */
#include "usbnic.h"

extern const USBNIC_MINIDRIVER UsbNcmMinidriver;

DRIVER_INITIALIZE DriverEntry;

/* PASSIVE_LEVEL. */
NTSTATUS NTAPI DriverEntry(PDRIVER_OBJECT DriverObject, PUNICODE_STRING RegistryPath)
{
    const NDIS_STATUS status = UsbNicRegisterMiniport(DriverObject, RegistryPath, &UsbNcmMinidriver);
    return status == NDIS_STATUS_SUCCESS ? STATUS_SUCCESS : (NTSTATUS)status;
}
