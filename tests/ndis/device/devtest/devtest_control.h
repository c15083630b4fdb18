/*
 * devtest_control.h -- how the device tests steer and observe the devtest miniport.
 *
 * The driver exports DevTestControl and a few functions the test calls directly (the test
 * maps the image first, so the PnP manager's load finds the same one). Shared by the
 * driver (C) and the test (C++).
 */
#ifndef DEVTEST_CONTROL_H
#define DEVTEST_CONTROL_H

#define DEVTEST_HARDWARE_ID "NDISTEST\\DEVTEST"
#define DEVTEST_DEVICE_NAME L"\\Device\\NdisDevTest"
#define DEVTEST_SYMBOLIC_NAME L"\\DosDevices\\NdisDevTest"

/* METHOD_BUFFERED: the input bytes come back reversed, followed by a DEVTEST_IOCTL_REPLY. */
#define IOCTL_DEVTEST_ECHO CTL_CODE(FILE_DEVICE_NETWORK, 0x800, METHOD_BUFFERED, FILE_ANY_ACCESS)
#define DEVTEST_MAX_ECHO 64

typedef struct _DEVTEST_IOCTL_REPLY {
  ULONG Irql;           /* KeGetCurrentIrql() in the dispatch routine */
  ULONG IoctlCount;     /* the reserved extension's counter after this IOCTL */
  ULONG ExtensionSeen;  /* 1 if NdisGetDeviceReservedExtension gave the DriverEntry pointer */
} DEVTEST_IOCTL_REPLY;

/* How DevTestRegister fills NDIS_DEVICE_OBJECT_ATTRIBUTES. */
typedef enum _DEVTEST_REGISTER_MODE {
  DevTestRegisterGood = 0,   /* the control device's own attributes (a second one collides) */
  DevTestRegisterBadType,
  DevTestRegisterBadRevision,
  DevTestRegisterBadSize,
  DevTestRegisterOtherName,  /* \Device\NdisDevTest2, no symbolic link, no extension */
  DevTestRegisterSameLink,   /* \Device\NdisDevTest3 with the control device's symbolic link */
  DevTestRegisterPnpHandler  /* \Device\NdisDevTest4 with an IRP_MJ_PNP entry (forbidden) */
} DEVTEST_REGISTER_MODE;

typedef struct _DEVTEST_CONTROL {
  /* ---- behaviour ---- */
  BOOLEAN SkipDeregister;  /* MiniportDriverUnload leaves the control device registered */

  /* ---- observations ---- */
  NDIS_STATUS RegisterStatus;     /* DriverEntry's NdisRegisterDeviceEx */
  PDEVICE_OBJECT ControlDevice;   /* its pDeviceObject */
  NDIS_HANDLE ControlHandle;      /* its NdisDeviceHandle */
  PVOID ReservedExtension;        /* NdisGetDeviceReservedExtension in DriverEntry */
  volatile LONG CreateCalls;
  volatile LONG CleanupCalls;
  volatile LONG CloseCalls;
  volatile LONG IoctlCalls;
  volatile LONG UnloadCalls;
  volatile LONG HaltCalls;
  NDIS_HANDLE AdapterHandle;      /* the last initialized adapter */
} DEVTEST_CONTROL;

#endif /* DEVTEST_CONTROL_H */
