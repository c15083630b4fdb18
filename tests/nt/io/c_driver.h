/* A small WDM function driver written in C, to prove <wdm.h> serves C drivers: remove
 * lock, cancel-safe queue, work item, completion routine, PnP remove. */
#ifndef NDISHOST_TESTS_IO_C_DRIVER_H
#define NDISHOST_TESTS_IO_C_DRIVER_H

#include <wdm.h>

#ifdef __cplusplus
extern "C" {
#endif

#define IOCTL_CDRIVER_QUEUE CTL_CODE(FILE_DEVICE_UNKNOWN, 0x900, METHOD_BUFFERED, FILE_ANY_ACCESS)
#define IOCTL_CDRIVER_DRAIN CTL_CODE(FILE_DEVICE_UNKNOWN, 0x901, METHOD_BUFFERED, FILE_ANY_ACCESS)
#define IOCTL_CDRIVER_FORWARD CTL_CODE(FILE_DEVICE_UNKNOWN, 0x902, METHOD_BUFFERED, FILE_ANY_ACCESS)
#define IOCTL_CDRIVER_WORK CTL_CODE(FILE_DEVICE_UNKNOWN, 0x903, METHOD_BUFFERED, FILE_ANY_ACCESS)

typedef struct _CDRIVER_EXTENSION {
  PDEVICE_OBJECT Self;
  PDEVICE_OBJECT Lower;
  IO_REMOVE_LOCK RemoveLock;
  IO_CSQ Csq;
  LIST_ENTRY Queue;
  KSPIN_LOCK QueueLock;
  PIO_WORKITEM WorkItem;
  PIRP WorkIrp;
  KIRQL WorkIrql;
  LONG Forwarded;
} CDRIVER_EXTENSION, *PCDRIVER_EXTENSION;

DRIVER_INITIALIZE CDriverEntry;

#ifdef __cplusplus
}
#endif

#endif
