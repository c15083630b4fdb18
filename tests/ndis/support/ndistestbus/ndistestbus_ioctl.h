/*
 * ndistestbus_ioctl.h -- the control interface of the NDIS test bus driver (ndistestbus).
 *
 * The test bus is root-enumerated (ROOT\NDISTESTBUS). Its FDO takes IRP_MJ_DEVICE_CONTROL
 * requests that plug a child device with a given hardware ID into the bus (one PDO per
 * child), report a child missing (the PnP manager then surprise-removes it) and read back
 * the device power state the child's PDO was last set to. Each child PDO answers
 * IOCTL_NDISTESTBUS_INTERNAL_PING (IRP_MJ_INTERNAL_DEVICE_CONTROL) so a miniport can send
 * IRPs to its next-lower device object.
 *
 * Shared by the bus driver (C) and the test bed (C++).
 */
#ifndef NDISTESTBUS_IOCTL_H
#define NDISTESTBUS_IOCTL_H

#define NDISTESTBUS_ROOT_HARDWARE_ID L"ROOT\\NDISTESTBUS"

/* Characters in a child's hardware ID, terminator included. */
#define NDISTESTBUS_MAX_ID_CHARS 64

/* Input: NDISTESTBUS_PLUG_IN. Output: ULONG, the child's serial number (its instance ID
 * is the serial number as two or more decimal digits: "01"). */
#define IOCTL_NDISTESTBUS_PLUG_IN CTL_CODE(FILE_DEVICE_BUS_EXTENDER, 0x900, METHOD_BUFFERED, FILE_ANY_ACCESS)
/* Input: ULONG serial number. The child is left out of the next BusRelations answer. */
#define IOCTL_NDISTESTBUS_UNPLUG CTL_CODE(FILE_DEVICE_BUS_EXTENDER, 0x901, METHOD_BUFFERED, FILE_ANY_ACCESS)
/* Input: ULONG serial number. Output: ULONG, the child's DEVICE_POWER_STATE. */
#define IOCTL_NDISTESTBUS_GET_CHILD_POWER \
  CTL_CODE(FILE_DEVICE_BUS_EXTENDER, 0x902, METHOD_BUFFERED, FILE_ANY_ACCESS)
/* To a child PDO: completes with STATUS_SUCCESS while the child is present and started,
 * STATUS_NO_SUCH_DEVICE once it is unplugged or surprise-removed, STATUS_DEVICE_NOT_READY
 * before start. No buffers. */
#define IOCTL_NDISTESTBUS_INTERNAL_PING \
  CTL_CODE(FILE_DEVICE_BUS_EXTENDER, 0x910, METHOD_NEITHER, FILE_ANY_ACCESS)

typedef struct _NDISTESTBUS_PLUG_IN {
  ULONG SerialNo; /* 0: the bus picks the next free one */
  WCHAR HardwareId[NDISTESTBUS_MAX_ID_CHARS]; /* also the device ID */
} NDISTESTBUS_PLUG_IN, *PNDISTESTBUS_PLUG_IN;

#endif /* NDISTESTBUS_IOCTL_H */
