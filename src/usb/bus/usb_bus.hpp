// UsbBus: the USB bus driver -- host controller and root hub in one WDM bus driver.
//
// A built-in driver object ("\Driver\usbhub") owns the root hub's FDO and one PDO per
// attached device. Client drivers (NDIS-WDM miniports) attach above a device's PDO and send
// it IRP_MJ_INTERNAL_DEVICE_CONTROL requests: IOCTL_INTERNAL_USB_SUBMIT_URB (see
// urb_handler.hpp for the URB functions), GET_PORT_STATUS, RESET_PORT and CYCLE_PORT.
// Every URB IRP completes at DISPATCH_LEVEL from the port's completion DPC, as on Windows.
//
// The device behind a port is a device::UsbDevice (an emulated CDC function or, later, a
// real device); nothing here knows which.
//
// PnP: the driver object has an AddDevice routine, so a PnP manager that can serve a
// root-enumerated device with a built-in driver object puts the root hub FDO on top of
// that PDO; the FDO then answers IRP_MN_QUERY_DEVICE_RELATIONS(BusRelations) with the
// present PDOs, and detach() calls IoInvalidateDeviceRelations so the PnP manager sends
// IRP_MN_SURPRISE_REMOVAL and then IRP_MN_REMOVE_DEVICE. Without a PnP manager (tests,
// startStandalone()) the FDO stands alone and the same IRPs can be sent by hand.
//
// Threading: attach/detach/destructor at PASSIVE_LEVEL from any thread; everything else
// (IRPs) at the IRQLs the DDI reference gives.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <mutex>
#include <vector>

// After the standard headers: <sal.h> defines __in/__out, which libstdc++ uses as names.
#include <tuple>
#include <utility>
#include <wdm.h>

#include "nt/io/io_manager.hpp"
#include "usb/device/usb_device.hpp"

namespace ndishost::link {
class PcapWriter;
}

namespace ndishost::usb::bus {

class UsbPort;

struct UsbBusOptions {
  // usbmon pcap (LINKTYPE_USB_LINUX_MMAPPED) of every URB submission and completion of
  // the devices attached without a capture of their own; empty: no capture.
  std::filesystem::path capturePath;
  std::uint32_t captureSnapLength = 262144;  // bytes kept per record (at least 64)
  std::uint16_t busNumber = 1;          // usbmon bus number, location text
  unsigned ports = 8;                   // root hub ports
  std::size_t urbContextsPerPort = 512; // URBs in flight per device (pre-allocated)
};

struct PortStatus {
  bool connected = false;  // USBD_PORT_CONNECTED
  bool enabled = false;    // USBD_PORT_ENABLED
};

class UsbBus {
 public:
  // Creates the driver object and the root hub FDO (standalone until AddDevice is called
  // by a PnP manager). A Runtime must exist. PASSIVE_LEVEL.
  explicit UsbBus(UsbBusOptions options = {});
  // Disconnects every device, waits for outstanding completions, deletes the PDOs and the
  // FDO. Client drivers must have detached from the PDOs. PASSIVE_LEVEL.
  ~UsbBus();
  UsbBus(const UsbBus&) = delete;
  UsbBus& operator=(const UsbBus&) = delete;

  PDRIVER_OBJECT driverObject() const { return driver_.get(); }
  PDEVICE_OBJECT rootHub() const { return hubFdo_; }

  // Plugs `device` into the lowest free port and creates its PDO (reads the device and
  // configuration descriptors first, as a hub does while enumerating). Returns the port
  // number (1-based). Throws std::runtime_error when no port is free or the device does
  // not answer GET_DESCRIPTOR. Reports the new child (IoInvalidateDeviceRelations) when
  // the hub is in a PnP tree. PASSIVE_LEVEL.
  // `capture` (a usbmon writer, may be shared by several devices) records this device's
  // URBs, enumeration included, instead of the bus-wide capture; it follows the device
  // through cyclePort.
  unsigned attach(std::shared_ptr<device::UsbDevice> device, std::shared_ptr<link::PcapWriter> capture = nullptr);

  // Unplugs the device at `port`: pending and new URBs fail with USBD_STATUS_DEVICE_GONE
  // (STATUS_DEVICE_NOT_CONNECTED), the PDO disappears from BusRelations and the PnP manager
  // is told (IoInvalidateDeviceRelations). The PDO itself is deleted when
  // IRP_MN_REMOVE_DEVICE arrives (or by the destructor). The port is free again at once.
  // A device that disconnects by itself (UsbDevice::disconnect()) is handled the same way.
  void detach(unsigned port);

  // The PDO of the device currently at `port`, or null.
  PDEVICE_OBJECT devicePdo(unsigned port) const;
  // PDOs of present devices, in port order (what BusRelations reports).
  std::vector<PDEVICE_OBJECT> presentPdos() const;
  PortStatus portStatus(unsigned port) const;

  std::uint16_t busNumber() const { return options_.busNumber; }
  // The bus-wide capture (UsbBusOptions::capturePath), or null.
  link::PcapWriter* capture() const { return capture_.get(); }
  const UsbBusOptions& options() const { return options_; }

  // ---- for the dispatch routines -----------------------------------------------------
  static UsbBus* fromHubFdo(PDEVICE_OBJECT fdo);
  NTSTATUS dispatchHubPnp(PIRP irp);
  NTSTATUS addDevice(PDEVICE_OBJECT physicalDeviceObject);
  void onDeviceDisconnected(UsbPort& port);
  // IOCTL_INTERNAL_USB_CYCLE_PORT: the port's PDO goes (as after an unplug) and the same
  // device is enumerated again under a new PDO. PASSIVE_LEVEL.
  bool cyclePort(UsbPort& port);
  void invalidateRelations();
  // Milliseconds since the bus started: the (full-speed) frame number.
  std::uint32_t currentFrameNumber() const;

 private:
  struct DisconnectLink;

  void removeHub();
  void bindDisconnectHandler(UsbPort& port);

  UsbBusOptions options_;
  nt::DriverObjectHandle driver_;
  PDEVICE_OBJECT hubFdo_ = nullptr;
  PDEVICE_OBJECT hubLowerDevice_ = nullptr;  // set by AddDevice (PnP), else null
  PDEVICE_OBJECT hubPdo_ = nullptr;          // the PDO AddDevice was called with
  std::unique_ptr<link::PcapWriter> capture_;
  std::shared_ptr<DisconnectLink> disconnectLink_;
  std::uint64_t startTicks_ = 0;

  std::mutex attachLock_;  // attach, detach and cycle one at a time
  mutable std::mutex portsLock_;
  std::vector<UsbPort*> portSlots_;                 // by port number - 1; present devices
  std::vector<std::unique_ptr<UsbPort>> allPorts_;  // every port object ever made (lives with the bus)
};

}  // namespace ndishost::usb::bus
