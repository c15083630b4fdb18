// The I/O manager's internal API, for the loader, the PnP manager and tests.
//
// Drivers see the I/O manager only through the DDIs in <wdm.h>. The rest of the runtime
// needs a few things drivers never do: create and retire driver objects, run DriverEntry
// and Unload, walk a driver's devices, keep per-device bookkeeping (the PnP node a device
// belongs to, a readable name for traces) and send an IRP down a stack and wait for it,
// as the PnP manager does for every IRP_MN_* it issues.
#pragma once

#include <wdm.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "nt/support/driver_image.hpp"

// Windows' DEVOBJ_EXTENSION starts with Type, Size and the owning device object; the rest
// is the I/O manager's own. DEVICE_OBJECT.DeviceObjectExtension points at the runtime's
// DeviceRuntime (below), which derives from this so the pointer keeps its C type.
struct _DEVOBJ_EXTENSION {
  CSHORT Type;  // IO_TYPE_DEVICE_OBJECT_EXTENSION
  USHORT Size;
  PDEVICE_OBJECT DeviceObject;
};

namespace ndishost::nt {

// ---- driver objects ------------------------------------------------------------------

// Releases the loader's reference on a driver object. The object itself lives on until
// its last device object is deleted, as on Windows.
struct DriverObjectRelease {
  void operator()(PDRIVER_OBJECT driver) const;
};
using DriverObjectHandle = std::unique_ptr<DRIVER_OBJECT, DriverObjectRelease>;

// A DRIVER_OBJECT with its DRIVER_EXTENSION (ServiceKeyName = serviceName), DriverName
// "\Driver\<serviceName>", DriverInit = entry, DriverStart/DriverSize from the image, and
// every MajorFunction entry set to the I/O manager's routine that completes the IRP with
// STATUS_INVALID_DEVICE_REQUEST. `image` (may be null for built-in drivers and tests)
// must outlive the driver object. Returns null when serviceName is empty.
DriverObjectHandle createDriverObject(std::u16string_view serviceName, PDRIVER_INITIALIZE entry,
                                      const DriverImage* image);

// Calls DriverInit(driver, registryPath) at PASSIVE_LEVEL and, as Windows does, clears
// DO_DEVICE_INITIALIZING on the device objects DriverEntry created. The registry path
// string stays valid for the driver object's lifetime.
NTSTATUS callDriverEntry(PDRIVER_OBJECT driver, std::u16string_view registryPath);

// Calls DriverUnload (if the driver set one) at PASSIVE_LEVEL. Returns false when the
// driver has no Unload routine (and so cannot be unloaded, per the WDM rules).
bool callDriverUnload(PDRIVER_OBJECT driver);

// The device objects the driver has created and not yet deleted, newest first (the order
// of DriverObject->DeviceObject / NextDevice).
std::vector<PDEVICE_OBJECT> driverDevices(PDRIVER_OBJECT driver);

// The image and service name given to createDriverObject.
const DriverImage* driverImage(PDRIVER_OBJECT driver);
std::string driverServiceName(PDRIVER_OBJECT driver);

// ---- device objects ------------------------------------------------------------------

// The runtime's bookkeeping for one device object, allocated with it and pointed at by
// DeviceObject->DeviceObjectExtension.
class DeviceRuntime : public _DEVOBJ_EXTENSION {
 public:
  // The PnP manager's device node for this device (PDOs) or stack, for its own use.
  void* pnpNode = nullptr;

  // What traces call this device, e.g. "usbncm FDO" or "\Device\USBPDO-0". Set by the
  // PnP manager or the driver's creator; defaults to the device name or "<driver>#<n>".
  std::string traceName;
};

DeviceRuntime& deviceRuntime(PDEVICE_OBJECT device);

// The device's name in the object namespace ("" when unnamed).
std::u16string deviceName(PDEVICE_OBJECT device);

// The device this one is attached to (the next-lower device), or null. No reference.
PDEVICE_OBJECT lowerDevice(PDEVICE_OBJECT device);

// A short description for traces and logs: the trace name plus the owning driver.
std::string describeDevice(PDEVICE_OBJECT device);

// Called (at IRQL <= APC_LEVEL) whenever a driver calls IoDeleteDevice, before the device
// object goes away. The PnP manager uses it to forget PDOs. One hook; null to clear.
using DeviceDeletionHook = void (*)(PDEVICE_OBJECT device);
void setDeviceDeletionHook(DeviceDeletionHook hook);

// ---- IRPs ----------------------------------------------------------------------------

// Builds an IRP sized to the stack, sets the next stack location's MajorFunction and
// MinorFunction, lets `fill` set the parameters, sends it to topOfStack and waits for
// completion on a KEVENT. PnP IRPs start with IoStatus.Status = STATUS_NOT_SUPPORTED, as
// Windows does, so an IRP no driver handles comes back with that status. Returns the
// final IoStatus.Status; *information (when not null) receives IoStatus.Information.
// PASSIVE_LEVEL only.
NTSTATUS sendIrpSynchronously(PDEVICE_OBJECT topOfStack, UCHAR major, UCHAR minor,
                              const std::function<void(PIO_STACK_LOCATION)>& fill, ULONG_PTR* information);

// Counters of the IRP allocator: allocations served from the per-stack-size lookaside
// lists, allocations that had to go to the heap, and IRPs currently allocated.
struct IrpAllocatorStats {
  std::uint64_t lookasideHits = 0;
  std::uint64_t heapAllocations = 0;
  std::uint64_t outstanding = 0;
};
IrpAllocatorStats irpAllocatorStats();

// ---- names, for traces and the demo --------------------------------------------------

// "IRP_MJ_PNP"; "IRP_MJ_0x1F" for codes outside the table.
std::string_view majorFunctionName(UCHAR major);
// "IRP_MN_START_DEVICE" for PnP, power and WMI minors; "" when the major has no minor
// codes (read, write, device control, ...) or the code is unknown.
std::string_view minorFunctionName(UCHAR major, UCHAR minor);
// "IOCTL_INTERNAL_USB_SUBMIT_URB" for the internal USB control codes ndishost's stacks
// carry; "" for others.
std::string_view ioControlCodeName(ULONG code);
// "STATUS_SUCCESS", or "0xC00000BB"-style hex for codes outside the table.
std::string statusName(NTSTATUS status);

}  // namespace ndishost::nt
