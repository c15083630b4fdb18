/*
 * usbpnptest_ioctl.h -- the test interface of usbpnptest, the USB client function driver
 * of the bus driver's PnP test: what it saw at start, surprise removal and its pending read.
 */
#ifndef USBPNPTEST_IOCTL_H
#define USBPNPTEST_IOCTL_H

#include <wdm.h>

/* METHOD_BUFFERED, output USBPNPTEST_STATE. */
#define IOCTL_USBPNPTEST_QUERY_STATE CTL_CODE(FILE_DEVICE_UNKNOWN, 0x900, METHOD_BUFFERED, FILE_ANY_ACCESS)
/* Sends IOCTL_INTERNAL_USB_CYCLE_PORT to the bus; completes with its status. */
#define IOCTL_USBPNPTEST_CYCLE_PORT CTL_CODE(FILE_DEVICE_UNKNOWN, 0x901, METHOD_BUFFERED, FILE_ANY_ACCESS)

typedef struct _USBPNPTEST_STATE {
  ULONG Started;           /* IRP_MN_START_DEVICE succeeded */
  ULONG SurpriseRemoved;   /* IRP_MN_SURPRISE_REMOVAL arrived */
  USHORT IdVendor;         /* from the device descriptor read at start */
  USHORT IdProduct;
  UCHAR ConfigurationValue;/* of the configuration selected at start; 0: none */
  UCHAR BulkInEndpoint;    /* the endpoint the pending read waits on */
  UCHAR Reserved[2];
  ULONG ReadPending;       /* the bulk IN read is still at the bus */
  NTSTATUS ReadStatus;     /* its completion status (STATUS_PENDING while pending) */
  LONG ReadUsbdStatus;     /* its URB's Hdr.Status */
} USBPNPTEST_STATE, *PUSBPNPTEST_STATE;

#endif /* USBPNPTEST_IOCTL_H */
