/*
 * usbioctl.h -- the internal device control requests a USB client driver sends down its
 * device stack (IRP_MJ_INTERNAL_DEVICE_CONTROL): URB submission, port reset/cycle/status,
 * selective-suspend idle notification, bus and controller information.
 *
 * ndishost's own header, written from the usbioctl DDI reference (ddi/usbioctl). The codes
 * are CTL_CODE(FILE_DEVICE_USB, function, method, FILE_ANY_ACCESS) with the published
 * function numbers; tests/usb/headers checks each against the formula's value.
 *
 * Include after <wdm.h> or <ndis.h>; it includes <usb.h> itself.
 */
#ifndef NDISHOST_USBIOCTL_H
#define NDISHOST_USBIOCTL_H

#include <usb.h>

NDISHOST_EXTERN_C_BEGIN

/* USB requests use the generic device type. */
#ifndef FILE_DEVICE_USB
#define FILE_DEVICE_USB FILE_DEVICE_UNKNOWN
#endif

/* ---- internal IOCTLs (Parameters.Others.Argument1/2 carry the arguments) ----------- */
/* Argument1: the URB. Completes when the URB does; IRQL <= DISPATCH_LEVEL. */
#define IOCTL_INTERNAL_USB_SUBMIT_URB CTL_CODE(FILE_DEVICE_USB, 0, METHOD_NEITHER, FILE_ANY_ACCESS)
/* PASSIVE_LEVEL requests on the device's port. */
#define IOCTL_INTERNAL_USB_RESET_PORT CTL_CODE(FILE_DEVICE_USB, 1, METHOD_NEITHER, FILE_ANY_ACCESS)
#define IOCTL_INTERNAL_USB_GET_ROOTHUB_PDO                                                 \
  CTL_CODE(FILE_DEVICE_USB, 3, METHOD_NEITHER, FILE_ANY_ACCESS)
/* Argument1: PULONG receiving USBD_PORT_ENABLED | USBD_PORT_CONNECTED. */
#define IOCTL_INTERNAL_USB_GET_PORT_STATUS                                                 \
  CTL_CODE(FILE_DEVICE_USB, 4, METHOD_NEITHER, FILE_ANY_ACCESS)
#define IOCTL_INTERNAL_USB_ENABLE_PORT CTL_CODE(FILE_DEVICE_USB, 5, METHOD_NEITHER, FILE_ANY_ACCESS)
/* Argument1: PULONG the caller zeroes; each hub on the way up adds one. */
#define IOCTL_INTERNAL_USB_GET_HUB_COUNT                                                   \
  CTL_CODE(FILE_DEVICE_USB, 6, METHOD_NEITHER, FILE_ANY_ACCESS)
#define IOCTL_INTERNAL_USB_CYCLE_PORT CTL_CODE(FILE_DEVICE_USB, 7, METHOD_NEITHER, FILE_ANY_ACCESS)
#define IOCTL_INTERNAL_USB_GET_HUB_NAME                                                    \
  CTL_CODE(FILE_DEVICE_USB, 8, METHOD_BUFFERED, FILE_ANY_ACCESS)
/* Type3InputBuffer: PUSB_IDLE_CALLBACK_INFO. Pends until the device may be suspended or
 * the request is cancelled. */
#define IOCTL_INTERNAL_USB_SUBMIT_IDLE_NOTIFICATION                                        \
  CTL_CODE(FILE_DEVICE_USB, 9, METHOD_NEITHER, FILE_ANY_ACCESS)
#define IOCTL_INTERNAL_USB_RECORD_FAILURE                                                  \
  CTL_CODE(FILE_DEVICE_USB, 10, METHOD_NEITHER, FILE_ANY_ACCESS)
/* Argument1: PUSB_BUS_NOTIFICATION. */
#define IOCTL_INTERNAL_USB_GET_BUS_INFO                                                    \
  CTL_CODE(FILE_DEVICE_USB, 264, METHOD_BUFFERED, FILE_ANY_ACCESS)
/* Argument1: PUSB_HUB_NAME, Argument2: its size in bytes. */
#define IOCTL_INTERNAL_USB_GET_CONTROLLER_NAME                                             \
  CTL_CODE(FILE_DEVICE_USB, 265, METHOD_BUFFERED, FILE_ANY_ACCESS)
#define IOCTL_INTERNAL_USB_GET_BUSGUID_INFO                                                \
  CTL_CODE(FILE_DEVICE_USB, 266, METHOD_BUFFERED, FILE_ANY_ACCESS)
#define IOCTL_INTERNAL_USB_GET_PARENT_HUB_INFO                                             \
  CTL_CODE(FILE_DEVICE_USB, 267, METHOD_BUFFERED, FILE_ANY_ACCESS)
#define IOCTL_INTERNAL_USB_GET_DEVICE_HANDLE                                               \
  CTL_CODE(FILE_DEVICE_USB, 268, METHOD_NEITHER, FILE_ANY_ACCESS)
#define IOCTL_INTERNAL_USB_GET_DEVICE_HANDLE_EX                                            \
  CTL_CODE(FILE_DEVICE_USB, 269, METHOD_NEITHER, FILE_ANY_ACCESS)
#define IOCTL_INTERNAL_USB_GET_TT_DEVICE_HANDLE                                            \
  CTL_CODE(FILE_DEVICE_USB, 270, METHOD_NEITHER, FILE_ANY_ACCESS)
/* Argument1: PUSB_TOPOLOGY_ADDRESS. */
#define IOCTL_INTERNAL_USB_GET_TOPOLOGY_ADDRESS                                            \
  CTL_CODE(FILE_DEVICE_USB, 271, METHOD_NEITHER, FILE_ANY_ACCESS)
#define IOCTL_INTERNAL_USB_NOTIFY_IDLE_READY                                               \
  CTL_CODE(FILE_DEVICE_USB, 272, METHOD_NEITHER, FILE_ANY_ACCESS)
#define IOCTL_INTERNAL_USB_REQ_GLOBAL_SUSPEND                                              \
  CTL_CODE(FILE_DEVICE_USB, 273, METHOD_NEITHER, FILE_ANY_ACCESS)
#define IOCTL_INTERNAL_USB_REQ_GLOBAL_RESUME                                               \
  CTL_CODE(FILE_DEVICE_USB, 274, METHOD_NEITHER, FILE_ANY_ACCESS)
#define IOCTL_INTERNAL_USB_GET_DEVICE_CONFIG_INFO                                          \
  CTL_CODE(FILE_DEVICE_USB, 275, METHOD_NEITHER, FILE_ANY_ACCESS)

/* The USB hub extension device type: the composite-device (function suspend) requests of
 * USB 3.0 devices. Argument1 carries the REGISTER_COMPOSITE_DEVICE or
 * REQUEST_REMOTE_WAKE_NOTIFICATION structure. */
#ifndef FILE_DEVICE_USBEX
#define FILE_DEVICE_USBEX 0x00000049
#endif
#define IOCTL_INTERNAL_USB_REGISTER_COMPOSITE_DEVICE                                       \
  CTL_CODE(FILE_DEVICE_USBEX, 0, METHOD_NEITHER, FILE_ANY_ACCESS)
#define IOCTL_INTERNAL_USB_UNREGISTER_COMPOSITE_DEVICE                                     \
  CTL_CODE(FILE_DEVICE_USBEX, 1, METHOD_NEITHER, FILE_ANY_ACCESS)
#define IOCTL_INTERNAL_USB_REQUEST_REMOTE_WAKE_NOTIFICATION                                \
  CTL_CODE(FILE_DEVICE_USBEX, 2, METHOD_NEITHER, FILE_ANY_ACCESS)

/* ---- IOCTL_INTERNAL_USB_GET_PORT_STATUS result bits -------------------------------- */
#define USBD_PORT_ENABLED 0x00000001
#define USBD_PORT_CONNECTED 0x00000002

/* ---- IOCTL_INTERNAL_USB_SUBMIT_IDLE_NOTIFICATION ---------------------------------- */
/* Called at PASSIVE_LEVEL when the stack is ready to suspend the device: the driver
 * powers it down (PoRequestPowerIrp for D2) before returning. */
typedef VOID (*USB_IDLE_CALLBACK)(PVOID Context);

/* x64: IdleCallback@0, IdleContext@8 -> 16. */
typedef struct _USB_IDLE_CALLBACK_INFO {
  USB_IDLE_CALLBACK IdleCallback;
  PVOID IdleContext;
} USB_IDLE_CALLBACK_INFO, *PUSB_IDLE_CALLBACK_INFO;

/* ---- IOCTL_INTERNAL_USB_GET_TOPOLOGY_ADDRESS -------------------------------------- */
/* Natural alignment: four ULONGs @0..15, RootHubPortNumber@16, HubPortNumber[5]@18,
 * Reserved2@28 -> 30, rounded to 32. */
typedef struct _USB_TOPOLOGY_ADDRESS {
  ULONG PciBusNumber;
  ULONG PciDeviceNumber;
  ULONG PciFunctionNumber;
  ULONG Reserved;
  USHORT RootHubPortNumber;
  USHORT HubPortNumber[5];
  USHORT Reserved2;
} USB_TOPOLOGY_ADDRESS, *PUSB_TOPOLOGY_ADDRESS;

/* ---- IOCTL_INTERNAL_USB_GET_BUS_INFO / GET_CONTROLLER_NAME ------------------------ */
typedef enum _USB_NOTIFICATION_TYPE {
  EnumerationFailure = 0,
  InsufficentBandwidth,
  InsufficentPower,
  OverCurrent,
  ResetOvercurrent,
  AcquireBusInfo,
  AcquireHubName,
  AcquireControllerName,
  HubOvercurrent,
  HubPowerChange,
  HubNestedTooDeeply,
  ModernDeviceInLegacyHub
} USB_NOTIFICATION_TYPE;

/* The hub-interface structures are byte-packed, as the WDK packs them. */
#pragma pack(push, 1)

typedef struct _USB_BUS_NOTIFICATION {
  USB_NOTIFICATION_TYPE NotificationType;
  ULONG TotalBandwidth;
  ULONG ConsumedBandwidth;
  ULONG ControllerNameLength;
} USB_BUS_NOTIFICATION, *PUSB_BUS_NOTIFICATION;

/* ActualLength@0, HubName@4 -> 6: the name is UTF-16 and not NUL-terminated. */
typedef struct _USB_HUB_NAME {
  ULONG ActualLength;
  WCHAR HubName[1];
} USB_HUB_NAME, *PUSB_HUB_NAME;

#pragma pack(pop)

NDISHOST_EXTERN_C_END

#endif /* NDISHOST_USBIOCTL_H */
