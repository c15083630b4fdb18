/*
 * usbdlib.h -- the USBD client library: the UsbBuild* macros that format URBs, the size
 * helpers for variable-length URBs, the configuration descriptor parsers and the
 * USBD_* routines of the Windows 8 client contract (USBD handles, URB allocation).
 *
 * ndishost's own header, written from the usbdlib DDI reference (ddi/usbdlib). The
 * UsbBuild* and GET_*_SIZE helpers are macros, as in the WDK. The routines are exported
 * by the ndishost::usbd library: the descriptor parsers (USBD_ParseDescriptors,
 * USBD_ParseConfigurationDescriptorEx, USBD_ParseConfigurationDescriptor,
 * USBD_GetInterfaceLength), USBD_ValidateConfigurationDescriptor,
 * USBD_CreateConfigurationRequestEx and USBD_GetUSBDIVersion are implemented there; the
 * USBD handle family is declared so that drivers compile and is implemented by the USB bus
 * driver layer -- until it lands, a driver calling one of them fails to link with the
 * routine's name (docs/DDI.md).
 *
 * Include after <usb.h>, as in the WDK; it includes <usb.h> itself if needed.
 */
#ifndef NDISHOST_USBDLIB_H
#define NDISHOST_USBDLIB_H

#include <usb.h>

NDISHOST_EXTERN_C_BEGIN

/* ---- versions --------------------------------------------------------------------- */
/* USBD interface versions a client can ask USBD_IsInterfaceVersionSupported about, and
 * the client contract version USBD_CreateHandle requires. */
#define USBD_INTERFACE_VERSION_500 0x500
#define USBD_INTERFACE_VERSION_600 0x600
#define USBD_INTERFACE_VERSION_602 0x602
#define USBD_CLIENT_CONTRACT_VERSION_602 0x602

/* Opaque registration of a client driver with the USB stack (USBD_CreateHandle). */
typedef struct USBD_HANDLE__ *USBD_HANDLE;

/* One entry per interface to configure, terminated by an entry whose
 * InterfaceDescriptor is NULL. USBD_CreateConfigurationRequestEx fills in Interface. */
typedef struct _USBD_INTERFACE_LIST_ENTRY {
  PUSB_INTERFACE_DESCRIPTOR InterfaceDescriptor;
  PUSBD_INTERFACE_INFORMATION Interface;
} USBD_INTERFACE_LIST_ENTRY, *PUSBD_INTERFACE_LIST_ENTRY;

/* ---- URB formatting macros ---------------------------------------------------------- */
/* Each sets Hdr.Function, Hdr.Length and the fields named by its parameters; every other
 * field keeps what the caller put there, so callers start from a zeroed URB. */

#define UsbBuildInterruptOrBulkTransferRequest(urb, length, pipeHandle, transferBuffer,    \
                                               transferBufferMDL, transferBufferLength,    \
                                               transferFlags, link)                        \
  do {                                                                                     \
    (urb)->UrbHeader.Function = URB_FUNCTION_BULK_OR_INTERRUPT_TRANSFER;                   \
    (urb)->UrbHeader.Length = (USHORT)(length);                                            \
    (urb)->UrbBulkOrInterruptTransfer.PipeHandle = (pipeHandle);                           \
    (urb)->UrbBulkOrInterruptTransfer.TransferBufferLength = (transferBufferLength);       \
    (urb)->UrbBulkOrInterruptTransfer.TransferBufferMDL = (transferBufferMDL);             \
    (urb)->UrbBulkOrInterruptTransfer.TransferBuffer = (transferBuffer);                   \
    (urb)->UrbBulkOrInterruptTransfer.TransferFlags = (transferFlags);                     \
    (urb)->UrbBulkOrInterruptTransfer.UrbLink = (link);                                    \
  } while (0)

#define UsbBuildGetDescriptorRequest(urb, length, descriptorType, descriptorIndex,         \
                                     languageId, transferBuffer, transferBufferMDL,        \
                                     transferBufferLength, link)                           \
  do {                                                                                     \
    (urb)->UrbHeader.Function = URB_FUNCTION_GET_DESCRIPTOR_FROM_DEVICE;                   \
    (urb)->UrbHeader.Length = (USHORT)(length);                                            \
    (urb)->UrbControlDescriptorRequest.TransferBufferLength = (transferBufferLength);      \
    (urb)->UrbControlDescriptorRequest.TransferBufferMDL = (transferBufferMDL);            \
    (urb)->UrbControlDescriptorRequest.TransferBuffer = (transferBuffer);                  \
    (urb)->UrbControlDescriptorRequest.DescriptorType = (descriptorType);                  \
    (urb)->UrbControlDescriptorRequest.Index = (descriptorIndex);                          \
    (urb)->UrbControlDescriptorRequest.LanguageId = (languageId);                          \
    (urb)->UrbControlDescriptorRequest.UrbLink = (link);                                   \
  } while (0)

/* op is one of URB_FUNCTION_GET_STATUS_FROM_{DEVICE,INTERFACE,ENDPOINT,OTHER}; the
 * status is always two bytes. */
#define UsbBuildGetStatusRequest(urb, op, index, transferBuffer, transferBufferMDL, link)  \
  do {                                                                                     \
    (urb)->UrbHeader.Function = (op);                                                      \
    (urb)->UrbHeader.Length = (USHORT)sizeof(struct _URB_CONTROL_GET_STATUS_REQUEST);      \
    (urb)->UrbControlGetStatusRequest.TransferBufferLength = sizeof(USHORT);               \
    (urb)->UrbControlGetStatusRequest.TransferBufferMDL = (transferBufferMDL);             \
    (urb)->UrbControlGetStatusRequest.TransferBuffer = (transferBuffer);                   \
    (urb)->UrbControlGetStatusRequest.Index = (index);                                     \
    (urb)->UrbControlGetStatusRequest.UrbLink = (link);                                    \
  } while (0)

/* op is one of URB_FUNCTION_{SET,CLEAR}_FEATURE_TO_{DEVICE,INTERFACE,ENDPOINT,OTHER}. */
#define UsbBuildFeatureRequest(urb, op, featureSelector, index, link)                      \
  do {                                                                                     \
    (urb)->UrbHeader.Function = (op);                                                      \
    (urb)->UrbHeader.Length = (USHORT)sizeof(struct _URB_CONTROL_FEATURE_REQUEST);         \
    (urb)->UrbControlFeatureRequest.FeatureSelector = (featureSelector);                   \
    (urb)->UrbControlFeatureRequest.Index = (index);                                       \
    (urb)->UrbControlFeatureRequest.UrbLink = (link);                                      \
  } while (0)

#define UsbBuildSelectConfigurationRequest(urb, length, configurationDescriptor)           \
  do {                                                                                     \
    (urb)->UrbHeader.Function = URB_FUNCTION_SELECT_CONFIGURATION;                         \
    (urb)->UrbHeader.Length = (USHORT)(length);                                            \
    (urb)->UrbSelectConfiguration.ConfigurationDescriptor = (configurationDescriptor);     \
  } while (0)

/* The interface information is what follows the header and the configuration handle, so
 * its Length is derived from the URB length. */
#define UsbBuildSelectInterfaceRequest(urb, length, configurationHandle, interfaceNumber,  \
                                       alternateSetting)                                   \
  do {                                                                                     \
    (urb)->UrbHeader.Function = URB_FUNCTION_SELECT_INTERFACE;                             \
    (urb)->UrbHeader.Length = (USHORT)(length);                                            \
    (urb)->UrbSelectInterface.Interface.AlternateSetting = (UCHAR)(alternateSetting);      \
    (urb)->UrbSelectInterface.Interface.InterfaceNumber = (UCHAR)(interfaceNumber);        \
    (urb)->UrbSelectInterface.Interface.Length =                                           \
        (USHORT)((length) - sizeof(struct _URB_HEADER) - sizeof(USBD_CONFIGURATION_HANDLE)); \
    (urb)->UrbSelectInterface.ConfigurationHandle = (configurationHandle);                 \
  } while (0)

/* cmd is one of URB_FUNCTION_{VENDOR,CLASS}_{DEVICE,INTERFACE,ENDPOINT,OTHER}. */
#define UsbBuildVendorRequest(urb, cmd, length, transferFlags, reservedbits, request,      \
                              value, index, transferBuffer, transferBufferMDL,             \
                              transferBufferLength, link)                                  \
  do {                                                                                     \
    (urb)->UrbHeader.Function = (cmd);                                                     \
    (urb)->UrbHeader.Length = (USHORT)(length);                                            \
    (urb)->UrbControlVendorClassRequest.TransferBufferLength = (transferBufferLength);     \
    (urb)->UrbControlVendorClassRequest.TransferBufferMDL = (transferBufferMDL);           \
    (urb)->UrbControlVendorClassRequest.TransferBuffer = (transferBuffer);                 \
    (urb)->UrbControlVendorClassRequest.RequestTypeReservedBits = (reservedbits);          \
    (urb)->UrbControlVendorClassRequest.Request = (request);                               \
    (urb)->UrbControlVendorClassRequest.Value = (value);                                   \
    (urb)->UrbControlVendorClassRequest.Index = (index);                                   \
    (urb)->UrbControlVendorClassRequest.TransferFlags = (transferFlags);                   \
    (urb)->UrbControlVendorClassRequest.UrbLink = (link);                                  \
  } while (0)

#define UsbBuildOsFeatureDescriptorRequest(urb, length, interface, index, transferBuffer,  \
                                           transferBufferMDL, transferBufferLength, link)  \
  do {                                                                                     \
    (urb)->UrbHeader.Function = URB_FUNCTION_GET_MS_FEATURE_DESCRIPTOR;                    \
    (urb)->UrbHeader.Length = (USHORT)(length);                                            \
    (urb)->UrbOSFeatureDescriptorRequest.TransferBufferLength = (transferBufferLength);    \
    (urb)->UrbOSFeatureDescriptorRequest.TransferBufferMDL = (transferBufferMDL);          \
    (urb)->UrbOSFeatureDescriptorRequest.TransferBuffer = (transferBuffer);                \
    (urb)->UrbOSFeatureDescriptorRequest.InterfaceNumber = (interface);                    \
    (urb)->UrbOSFeatureDescriptorRequest.MS_FeatureDescriptorIndex = (index);              \
    (urb)->UrbOSFeatureDescriptorRequest.UrbLink = (link);                                 \
  } while (0)

#define URB_STATUS(urb) ((urb)->UrbHeader.Status)

/* An inline function in the WDK: zeroes the open-streams URB, then fills in the pipe, the
 * stream array and its version and element size. NumberOfStreams is the element count of
 * StreamInfoArray. */
FORCEINLINE VOID UsbBuildOpenStaticStreamsRequest(_Inout_ PURB Urb, _In_ USBD_PIPE_HANDLE PipeHandle,
                                                  _In_ USHORT NumberOfStreams,
                                                  _In_ PUSBD_STREAM_INFORMATION StreamInfoArray) {
  RtlZeroMemory(Urb, sizeof(struct _URB_OPEN_STATIC_STREAMS));
  Urb->UrbHeader.Length = (USHORT)sizeof(struct _URB_OPEN_STATIC_STREAMS);
  Urb->UrbHeader.Function = URB_FUNCTION_OPEN_STATIC_STREAMS;
  Urb->UrbOpenStaticStreams.PipeHandle = PipeHandle;
  Urb->UrbOpenStaticStreams.NumberOfStreams = NumberOfStreams;
  Urb->UrbOpenStaticStreams.StreamInfoVersion = URB_OPEN_STATIC_STREAMS_VERSION_100;
  Urb->UrbOpenStaticStreams.StreamInfoSize = (USHORT)sizeof(USBD_STREAM_INFORMATION);
  Urb->UrbOpenStaticStreams.Streams = StreamInfoArray;
}

/* ---- sizes of variable-length URBs ------------------------------------------------ */
/* The fixed structures already hold one interface and one pipe (or one packet). */
#define GET_SELECT_CONFIGURATION_REQUEST_SIZE(totalInterfaces, totalPipes)                 \
  (sizeof(struct _URB_SELECT_CONFIGURATION) +                                              \
   (((totalInterfaces) - 1) * sizeof(USBD_INTERFACE_INFORMATION)) +                        \
   (((totalPipes) - (totalInterfaces)) * sizeof(USBD_PIPE_INFORMATION)))

#define GET_SELECT_INTERFACE_REQUEST_SIZE(totalPipes)                                      \
  (sizeof(struct _URB_SELECT_INTERFACE) + (((totalPipes) - 1) * sizeof(USBD_PIPE_INFORMATION)))

#define GET_USBD_INTERFACE_SIZE(numEndpoints)                                              \
  (sizeof(USBD_INTERFACE_INFORMATION) + (sizeof(USBD_PIPE_INFORMATION) * (numEndpoints)) - \
   sizeof(USBD_PIPE_INFORMATION))

#define GET_ISO_URB_SIZE(n)                                                                \
  (sizeof(struct _URB_ISOCH_TRANSFER) + sizeof(USBD_ISO_PACKET_DESCRIPTOR) * (n))

/* ---- descriptor parsing (implemented by ndishost::usbd) --------------------------- */

/* IRQL < DISPATCH_LEVEL. Returns the first descriptor of DescriptorType at or after
 * StartPosition within DescriptorBuffer[0, TotalLength), or NULL. */
DECLSPEC_IMPORT PUSB_COMMON_DESCRIPTOR NTAPI USBD_ParseDescriptors(
    _In_ PVOID DescriptorBuffer, _In_ ULONG TotalLength, _In_ PVOID StartPosition,
    _In_ LONG DescriptorType);

/* IRQL < DISPATCH_LEVEL. Returns the first interface descriptor at or after
 * StartPosition that matches every criterion not given as -1, or NULL. */
DECLSPEC_IMPORT PUSB_INTERFACE_DESCRIPTOR NTAPI USBD_ParseConfigurationDescriptorEx(
    _In_ PUSB_CONFIGURATION_DESCRIPTOR ConfigurationDescriptor, _In_ PVOID StartPosition,
    _In_ LONG InterfaceNumber, _In_ LONG AlternateSetting, _In_ LONG InterfaceClass,
    _In_ LONG InterfaceSubClass, _In_ LONG InterfaceProtocol);

/* Obsolete form of the above: matches interface number and alternate setting only. */
DECLSPEC_IMPORT PUSB_INTERFACE_DESCRIPTOR NTAPI USBD_ParseConfigurationDescriptor(
    _In_ PUSB_CONFIGURATION_DESCRIPTOR ConfigurationDescriptor, _In_ UCHAR InterfaceNumber,
    _In_ UCHAR AlternateSetting);

/* IRQL PASSIVE_LEVEL. Bytes from InterfaceDescriptor up to the next interface descriptor
 * (another interface or alternate setting) or BufferEnd: the interface descriptor, its
 * endpoint descriptors and the class-specific descriptors among them. */
DECLSPEC_IMPORT ULONG NTAPI USBD_GetInterfaceLength(
    _In_ PUSB_INTERFACE_DESCRIPTOR InterfaceDescriptor, _In_ PUCHAR BufferEnd);

/* ---- URB building and validation (implemented by ndishost::usbd) ------------------ */

/* IRQL <= DISPATCH_LEVEL. */
DECLSPEC_IMPORT VOID NTAPI USBD_GetUSBDIVersion(
    _Out_ PUSBD_VERSION_INFORMATION VersionInformation);

/* IRQL <= DISPATCH_LEVEL. Allocates (from pool) a select-configuration URB for the
 * interfaces in InterfaceList and points each entry's Interface into it; free with
 * ExFreePool. NULL when an entry is not a complete interface descriptor inside the
 * configuration's wTotalLength bytes, or the pool is exhausted. */
DECLSPEC_IMPORT PURB NTAPI USBD_CreateConfigurationRequestEx(
    _In_ PUSB_CONFIGURATION_DESCRIPTOR ConfigurationDescriptor,
    _In_ PUSBD_INTERFACE_LIST_ENTRY InterfaceList);

/* IRQL PASSIVE_LEVEL. Returns USBD_STATUS_SUCCESS or the USBD_STATUS_BAD_* code of the
 * first fault, with *Offset pointing at it. Level is 1, 2 or 3. */
DECLSPEC_IMPORT USBD_STATUS NTAPI USBD_ValidateConfigurationDescriptor(
    _In_reads_bytes_(BufferLength) PUSB_CONFIGURATION_DESCRIPTOR ConfigDesc,
    _In_ ULONG BufferLength, _In_ USHORT Level, _Out_ PUCHAR *Offset,
    _In_opt_ ULONG Tag);

/* ---- routines implemented by the USB bus driver layer ----------------------------- */

/* IRQL PASSIVE_LEVEL. USBDClientContractVersion must be USBD_CLIENT_CONTRACT_VERSION_602. */
DECLSPEC_IMPORT NTSTATUS NTAPI USBD_CreateHandle(
    _In_ PDEVICE_OBJECT DeviceObject, _In_ PDEVICE_OBJECT TargetDeviceObject,
    _In_ ULONG USBDClientContractVersion, _In_ ULONG PoolTag, _Out_ USBD_HANDLE *USBDHandle);

/* IRQL PASSIVE_LEVEL. */
DECLSPEC_IMPORT VOID NTAPI USBD_CloseHandle(_In_ USBD_HANDLE USBDHandle);

/* IRQL PASSIVE_LEVEL. */
DECLSPEC_IMPORT BOOLEAN NTAPI USBD_IsInterfaceVersionSupported(
    _In_ USBD_HANDLE USBDHandle, _In_ ULONG USBDInterfaceVersion);

/* IRQL PASSIVE_LEVEL. */
DECLSPEC_IMPORT NTSTATUS NTAPI USBD_QueryUsbCapability(
    _In_ USBD_HANDLE USBDHandle, _In_ const GUID *CapabilityType,
    _In_ ULONG OutputBufferLength, _Inout_updates_bytes_opt_(OutputBufferLength) PUCHAR OutputBuffer,
    _Out_opt_ PULONG ResultLength);

/* IRQL <= DISPATCH_LEVEL. The URB comes back zeroed. */
DECLSPEC_IMPORT NTSTATUS NTAPI USBD_UrbAllocate(_In_ USBD_HANDLE USBDHandle,
                                                _Outptr_result_bytebuffer_(sizeof(URB)) PURB *Urb);

/* IRQL <= DISPATCH_LEVEL. */
DECLSPEC_IMPORT VOID NTAPI USBD_UrbFree(_In_ USBD_HANDLE USBDHandle, _In_ PURB Urb);

/* IRQL <= DISPATCH_LEVEL. */
DECLSPEC_IMPORT NTSTATUS NTAPI USBD_IsochUrbAllocate(_In_ USBD_HANDLE USBDHandle,
                                                     _In_ ULONG NumberOfIsochPackets,
                                                     _Out_ PURB *Urb);

/* IRQL <= DISPATCH_LEVEL. InterfaceList ends with a NULL InterfaceDescriptor. */
DECLSPEC_IMPORT NTSTATUS NTAPI USBD_SelectConfigUrbAllocateAndBuild(
    _In_ USBD_HANDLE USBDHandle, _In_ PUSB_CONFIGURATION_DESCRIPTOR ConfigurationDescriptor,
    _In_ PUSBD_INTERFACE_LIST_ENTRY InterfaceList, _Out_ PURB *Urb);

/* IRQL <= DISPATCH_LEVEL. */
DECLSPEC_IMPORT NTSTATUS NTAPI USBD_SelectInterfaceUrbAllocateAndBuild(
    _In_ USBD_HANDLE USBDHandle, _In_ USBD_CONFIGURATION_HANDLE ConfigurationHandle,
    _In_ PUSBD_INTERFACE_LIST_ENTRY InterfaceListEntry, _Out_ PURB *Urb);

/* IRQL <= DISPATCH_LEVEL. Puts Urb in the next stack location of an
 * IOCTL_INTERNAL_USB_SUBMIT_URB request (a routine, not a macro, in the WDK too). */
DECLSPEC_IMPORT VOID NTAPI USBD_AssignUrbToIoStackLocation(
    _In_ USBD_HANDLE USBDHandle, _In_ PIO_STACK_LOCATION IoStackLocation, _In_ PURB Urb);

NDISHOST_EXTERN_C_END

#endif /* NDISHOST_USBDLIB_H */
