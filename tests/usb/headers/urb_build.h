/* URBs formatted from C by the UsbBuild* macros; the C++ test formats the same requests and
 * compares. */
#ifndef USBH_URB_BUILD_H
#define USBH_URB_BUILD_H

#include <usb.h>

NDISHOST_EXTERN_C_BEGIN

void usbh_c_build_bulk(PURB urb, USBD_PIPE_HANDLE pipe, PVOID buffer, ULONG length, PURB link);
void usbh_c_build_get_descriptor(PURB urb, PVOID buffer, ULONG length);
void usbh_c_build_vendor(PURB urb, PVOID buffer, ULONG length);
void usbh_c_build_feature(PURB urb);
void usbh_c_build_get_status(PURB urb, PVOID buffer);
void usbh_c_build_select_configuration(PURB urb, PUSB_CONFIGURATION_DESCRIPTOR descriptor);
void usbh_c_build_select_interface(PURB urb, USBD_CONFIGURATION_HANDLE configuration);
/* if/else without braces: the macros must be single statements. */
int usbh_c_build_in_if_else(PURB urb, int choose_bulk);

NDISHOST_EXTERN_C_END

#endif
