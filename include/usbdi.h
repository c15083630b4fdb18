/*
 * usbdi.h -- the older umbrella name for the USB client interface: the URB definitions and
 * the internal USB IOCTLs. New sources include <usb.h>, <usbdlib.h> and <usbioctl.h>
 * directly; this header exists so sources written against the older name compile.
 */
#ifndef NDISHOST_USBDI_H
#define NDISHOST_USBDI_H

#include <usb.h>
#include <usbioctl.h>

#endif /* NDISHOST_USBDI_H */
