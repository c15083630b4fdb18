/*
 * sample_ioctl.h -- the contract between the sample bus driver (samplebus), the sample
 * function driver (samplefunc) and whoever drives them (the ndishost demo and tests).
 *
 * Module Name:  sample_ioctl.h
 * Environment:  kernel mode (drivers) and the ndishost host (C or C++)
 *
 * Three groups of control codes:
 *   - internal IOCTLs (IRP_MJ_INTERNAL_DEVICE_CONTROL) a child's function driver sends
 *     to the child PDO that samplebus created: an echo and an asynchronous read;
 *   - bus IOCTLs (IRP_MJ_DEVICE_CONTROL) sent to samplebus's FDO to plug in or unplug a
 *     simulated child, the way a hot-plug controller would report it;
 *   - function IOCTLs (IRP_MJ_DEVICE_CONTROL) sent to samplefunc's FDO.
 * All are METHOD_BUFFERED: the I/O manager's system buffer carries input and output.
 */
#ifndef SAMPLE_IOCTL_H
#define SAMPLE_IOCTL_H

/* Device IDs the bus reports (WCHAR, as in IRP_MN_QUERY_ID); the sample manifest matches
 * on them. The device ID is also the less specific of the two hardware IDs. */
#define SAMPLEBUS_ROOT_HARDWARE_ID L"ROOT\\SAMPLEBUS"
#define SAMPLEBUS_CHILD_DEVICE_ID L"SAMPLEBUS\\VID_5AB1&PID_0001"
#define SAMPLEBUS_CHILD_HARDWARE_ID_REV L"SAMPLEBUS\\VID_5AB1&PID_0001&REV_0100"
#define SAMPLEBUS_CHILD_COMPATIBLE_ID L"SAMPLEBUS\\CLASS_ECHO"

/* The children samplebus reports when it starts (serial numbers 1..N). */
#define SAMPLEBUS_INITIAL_CHILDREN 2

/* ---- internal IOCTLs: function driver -> child PDO -------------------------------- */

/* Input: any bytes. Output: the same bytes (Information = bytes copied). */
#define IOCTL_SAMPLEBUS_INTERNAL_ECHO \
  CTL_CODE(FILE_DEVICE_BUS_EXTENDER, 0x800, METHOD_BUFFERED, FILE_ANY_ACCESS)

/* Output: SAMPLEBUS_READ_DATA. Pends; completed later from the child's timer DPC at
 * DISPATCH_LEVEL. Cancellable. Fails with STATUS_NO_SUCH_DEVICE once the child is gone. */
#define IOCTL_SAMPLEBUS_INTERNAL_READ \
  CTL_CODE(FILE_DEVICE_BUS_EXTENDER, 0x801, METHOD_BUFFERED, FILE_ANY_ACCESS)

typedef struct _SAMPLEBUS_READ_DATA {
  ULONG SerialNo;        /* the child that produced the data */
  ULONG Sequence;        /* 1, 2, 3, ... per child */
  ULONGLONG InterruptTime; /* KeQueryInterruptTime() when the DPC completed the read */
} SAMPLEBUS_READ_DATA, *PSAMPLEBUS_READ_DATA;

/* ---- bus IOCTLs: host -> samplebus FDO ------------------------------------------- */

/* Input: ULONG serial number (0 = the next unused one). Output: ULONG serial number used.
 * The bus then calls IoInvalidateDeviceRelations, and the PnP manager starts the child. */
#define IOCTL_SAMPLEBUS_PLUG_IN \
  CTL_CODE(FILE_DEVICE_BUS_EXTENDER, 0x810, METHOD_BUFFERED, FILE_ANY_ACCESS)

/* Input: ULONG serial number. The child disappears from BusRelations at once, and the bus
 * calls IoInvalidateDeviceRelations: surprise removal, then removal, follow. */
#define IOCTL_SAMPLEBUS_UNPLUG \
  CTL_CODE(FILE_DEVICE_BUS_EXTENDER, 0x811, METHOD_BUFFERED, FILE_ANY_ACCESS)

/* ---- function IOCTLs: host -> samplefunc FDO -------------------------------------- */

/* Input: any bytes; forwarded to the bus as IOCTL_SAMPLEBUS_INTERNAL_ECHO. */
#define IOCTL_SAMPLEFUNC_ECHO \
  CTL_CODE(FILE_DEVICE_UNKNOWN, 0x820, METHOD_BUFFERED, FILE_ANY_ACCESS)

/* Output: SAMPLEFUNC_STATISTICS. */
#define IOCTL_SAMPLEFUNC_GET_STATISTICS \
  CTL_CODE(FILE_DEVICE_UNKNOWN, 0x821, METHOD_BUFFERED, FILE_ANY_ACCESS)

/* Input: ULONG, non-zero to make the driver fail IRP_MN_QUERY_REMOVE_DEVICE (as a driver
 * with open handles or a paging file would). */
#define IOCTL_SAMPLEFUNC_SET_REMOVAL_VETO \
  CTL_CODE(FILE_DEVICE_UNKNOWN, 0x822, METHOD_BUFFERED, FILE_ANY_ACCESS)

typedef struct _SAMPLEFUNC_STATISTICS {
  ULONG SerialNo;            /* from IoGetDeviceProperty(DevicePropertyAddress) */
  ULONG PendingReadSlots;    /* K: reads kept pending at the bus */
  LONG ReadsOutstanding;     /* read IRPs currently at the bus */
  ULONG ReadsCompleted;      /* completed with success */
  ULONG ReadsFailed;         /* completed with an error (cancelled, device gone) */
  ULONG LastSequence;        /* Sequence of the last successful read */
  ULONG EchoRequests;
  ULONG DevicePowerState;    /* DEVICE_POWER_STATE */
  ULONG SurpriseRemoved;     /* 1 after IRP_MN_SURPRISE_REMOVAL */
} SAMPLEFUNC_STATISTICS, *PSAMPLEFUNC_STATISTICS;

#endif /* SAMPLE_IOCTL_H */
