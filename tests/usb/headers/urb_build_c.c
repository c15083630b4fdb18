/* The UsbBuild* macros compiled as C, as a WDK driver source uses them. */
#include <wdm.h>
#include <usbdlib.h>

#include "urb_build.h"

void usbh_c_build_bulk(PURB urb, USBD_PIPE_HANDLE pipe, PVOID buffer, ULONG length, PURB link) {
  UsbBuildInterruptOrBulkTransferRequest(urb, sizeof(struct _URB_BULK_OR_INTERRUPT_TRANSFER), pipe,
                                         buffer, NULL, length,
                                         USBD_TRANSFER_DIRECTION_IN | USBD_SHORT_TRANSFER_OK, link);
}

void usbh_c_build_get_descriptor(PURB urb, PVOID buffer, ULONG length) {
  UsbBuildGetDescriptorRequest(urb, (USHORT)sizeof(struct _URB_CONTROL_DESCRIPTOR_REQUEST),
                               USB_STRING_DESCRIPTOR_TYPE, 2, 0x0409, buffer, NULL, length, NULL);
}

void usbh_c_build_vendor(PURB urb, PVOID buffer, ULONG length) {
  UsbBuildVendorRequest(urb, URB_FUNCTION_CLASS_INTERFACE,
                        (USHORT)sizeof(struct _URB_CONTROL_VENDOR_OR_CLASS_REQUEST),
                        USBD_TRANSFER_DIRECTION_IN | USBD_SHORT_TRANSFER_OK, 0, 0x80, 0x1234, 1,
                        buffer, NULL, length, NULL);
}

void usbh_c_build_feature(PURB urb) {
  UsbBuildFeatureRequest(urb, URB_FUNCTION_CLEAR_FEATURE_TO_ENDPOINT, USB_FEATURE_ENDPOINT_STALL,
                         0x81, NULL);
}

void usbh_c_build_get_status(PURB urb, PVOID buffer) {
  UsbBuildGetStatusRequest(urb, URB_FUNCTION_GET_STATUS_FROM_DEVICE, 0, buffer, NULL, NULL);
}

void usbh_c_build_select_configuration(PURB urb, PUSB_CONFIGURATION_DESCRIPTOR descriptor) {
  UsbBuildSelectConfigurationRequest(urb, (USHORT)GET_SELECT_CONFIGURATION_REQUEST_SIZE(2, 3),
                                     descriptor);
}

void usbh_c_build_select_interface(PURB urb, USBD_CONFIGURATION_HANDLE configuration) {
  UsbBuildSelectInterfaceRequest(urb, (USHORT)GET_SELECT_INTERFACE_REQUEST_SIZE(2), configuration,
                                 1, 1);
}

int usbh_c_build_in_if_else(PURB urb, int choose_bulk) {
  if (choose_bulk)
    UsbBuildInterruptOrBulkTransferRequest(urb, sizeof(struct _URB_BULK_OR_INTERRUPT_TRANSFER),
                                           NULL, NULL, NULL, 0, 0, NULL);
  else
    UsbBuildFeatureRequest(urb, URB_FUNCTION_SET_FEATURE_TO_DEVICE, USB_FEATURE_REMOTE_WAKEUP, 0,
                           NULL);
  return urb->UrbHeader.Function;
}
