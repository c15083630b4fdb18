/*
 * driver.c -- DriverEntry of the Remote NDIS host miniport (usbrndis). The image binds to
 * the RNDIS class triples USB\Class_E0&SubClass_01&Prot_03, USB\Class_02&SubClass_02&Prot_FF
 * and USB\Class_EF&SubClass_04&Prot_01; everything but the RNDIS protocol lives in usbnic.
 */
#include "usbnic.h"

extern const USBNIC_MINIDRIVER UsbRndisMinidriver;

DRIVER_INITIALIZE DriverEntry;

/* PASSIVE_LEVEL. */
NTSTATUS NTAPI DriverEntry(PDRIVER_OBJECT DriverObject, PUNICODE_STRING RegistryPath)
{
    const NDIS_STATUS status = UsbNicRegisterMiniport(DriverObject, RegistryPath, &UsbRndisMinidriver);
    return status == NDIS_STATUS_SUCCESS ? STATUS_SUCCESS : (NTSTATUS)status;
}
