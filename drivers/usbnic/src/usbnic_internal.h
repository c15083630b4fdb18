/*
 * usbnic_internal.h -- declarations shared by the usbnic framework's source files (not by
 * minidrivers).
 */
#ifndef USBNIC_INTERNAL_H
#define USBNIC_INTERNAL_H

#include "usbnic.h"

/* ---- usbnic_usb.c ------------------------------------------------------------------- */
/* <= DISPATCH_LEVEL. Rearms a preallocated IRP for IOCTL_INTERNAL_USB_SUBMIT_URB. */
VOID UsbNicPrepareUrbIrp(_In_ PIRP Irp, _In_ PURB Urb, _In_ PIO_COMPLETION_ROUTINE Completion,
                         _In_ PVOID Context);
/* PASSIVE_LEVEL. Reads the descriptors, finds the CDC function and selects the
 * configuration (data interface at its idle setting). */
NDIS_STATUS UsbNicConfigureDevice(_In_ PUSBNIC_ADAPTER Adapter);
/* PASSIVE_LEVEL. Selects the data interface's active alternate setting; learns the pipes. */
NDIS_STATUS UsbNicSelectDataInterface(_In_ PUSBNIC_ADAPTER Adapter);
/* PASSIVE_LEVEL. Deconfigures the device (best effort; the device may be gone). */
VOID UsbNicDeconfigureDevice(_In_ PUSBNIC_ADAPTER Adapter);
/* PASSIVE_LEVEL. URB_FUNCTION_SYNC_RESET_PIPE_AND_CLEAR_STALL or URB_FUNCTION_ABORT_PIPE. */
NTSTATUS UsbNicPipeRequest(_In_ PUSBNIC_ADAPTER Adapter, _In_ USHORT Function, _In_ USBD_PIPE_HANDLE Pipe);
/* PASSIVE_LEVEL. Allocates / frees the control IRP and URB. */
NDIS_STATUS UsbNicAllocateControl(_In_ PUSBNIC_ADAPTER Adapter);
VOID UsbNicFreeControl(_In_ PUSBNIC_ADAPTER Adapter);

/* ---- usbnic_data.c ------------------------------------------------------------------ */
NDIS_STATUS UsbNicAllocateDataPath(_In_ PUSBNIC_ADAPTER Adapter);
VOID UsbNicFreeDataPath(_In_ PUSBNIC_ADAPTER Adapter);
/* <= DISPATCH_LEVEL. Posts every idle bulk-IN transfer (while running). */
VOID UsbNicPostReceives(_In_ PUSBNIC_ADAPTER Adapter);
/* <= DISPATCH_LEVEL. Cancels every pending bulk-IN transfer. */
VOID UsbNicCancelReceives(_In_ PUSBNIC_ADAPTER Adapter);
/* PASSIVE_LEVEL. Starts / stops the interrupt-IN transfer. */
VOID UsbNicStartInterrupt(_In_ PUSBNIC_ADAPTER Adapter);
VOID UsbNicStopInterrupt(_In_ PUSBNIC_ADAPTER Adapter);
/* <= DISPATCH_LEVEL. Completes every queued (not yet in flight) send with Status. */
VOID UsbNicFlushSendQueue(_In_ PUSBNIC_ADAPTER Adapter, _In_ NDIS_STATUS Status);
/* <= DISPATCH_LEVEL. Builds and sends bulk-OUT transfers from the queue. */
VOID UsbNicPumpSends(_In_ PUSBNIC_ADAPTER Adapter);
/* <= DISPATCH_LEVEL, Lock held. TRUE when nothing is outstanding. */
BOOLEAN UsbNicQuiescentLocked(_In_ PUSBNIC_ADAPTER Adapter);
/* <= DISPATCH_LEVEL, Lock NOT held. Completes a pending pause / wakes halt when the
 * last outstanding item went away. */
VOID UsbNicCheckQuiescent(_In_ PUSBNIC_ADAPTER Adapter);

MINIPORT_SEND_NET_BUFFER_LISTS UsbNicSendNetBufferLists;
MINIPORT_RETURN_NET_BUFFER_LISTS UsbNicReturnNetBufferLists;
MINIPORT_CANCEL_SEND UsbNicCancelSend;

/* ---- usbnic_oid.c ------------------------------------------------------------------- */
MINIPORT_OID_REQUEST UsbNicOidRequest;
MINIPORT_CANCEL_OID_REQUEST UsbNicCancelOidRequest;
/* The OIDs the framework answers, for the general attributes. */
extern const NDIS_OID UsbNicSupportedOids[];
extern const ULONG UsbNicSupportedOidCount;

#endif /* USBNIC_INTERNAL_H */
