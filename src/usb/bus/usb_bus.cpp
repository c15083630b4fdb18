// The bus driver's driver object, the root hub FDO and the ports: attach, detach, the
// hub's share of PnP (BusRelations) and the IRP dispatch routines.
#include "usb/bus/usb_bus.hpp"

#include <fmt/format.h>

#include <stdexcept>

#include "link/pcap_writer.hpp"
#include "nt/pnp/driver_loader.hpp"
#include "nt/support/log.hpp"
#include "usb/bus/usb_port.hpp"

namespace ndishost::usb::bus {
namespace {

constexpr char16_t kServiceName[] = u"usbhub";

BusDeviceExtension* busExtension(PDEVICE_OBJECT device) {
  return static_cast<BusDeviceExtension*>(device->DeviceExtension);
}

NTSTATUS completeWith(PIRP irp, NTSTATUS status) {
  irp->IoStatus.Status = status;
  IoCompleteRequest(irp, IO_NO_INCREMENT);
  return status;
}

// IRQL: PASSIVE_LEVEL (PnP IRPs).
NTSTATUS NTAPI dispatchPnp(PDEVICE_OBJECT device, PIRP irp) {
  BusDeviceExtension* extension = busExtension(device);
  if (extension->role == DeviceRole::HubFdo) return static_cast<UsbBus*>(extension->owner)->dispatchHubPnp(irp);
  return static_cast<UsbPort*>(extension->owner)->dispatchPnp(irp);
}

// IRQL: <= DISPATCH_LEVEL.
NTSTATUS NTAPI dispatchPower(PDEVICE_OBJECT device, PIRP irp) {
  BusDeviceExtension* extension = busExtension(device);
  if (extension->role == DeviceRole::DevicePdo) return static_cast<UsbPort*>(extension->owner)->dispatchPower(irp);
  PoStartNextPowerIrp(irp);
  if (PDEVICE_OBJECT lower = nt::lowerDevice(device); lower != nullptr) {
    IoSkipCurrentIrpStackLocation(irp);
    return PoCallDriver(lower, irp);
  }
  IO_STACK_LOCATION* stack = IoGetCurrentIrpStackLocation(irp);
  NTSTATUS status = irp->IoStatus.Status;
  if (stack->MinorFunction == IRP_MN_SET_POWER || stack->MinorFunction == IRP_MN_QUERY_POWER) status = STATUS_SUCCESS;
  return completeWith(irp, status);
}

// IRQL: <= DISPATCH_LEVEL (SUBMIT_URB), PASSIVE_LEVEL for the port IOCTLs.
NTSTATUS NTAPI dispatchInternalIoctl(PDEVICE_OBJECT device, PIRP irp) {
  BusDeviceExtension* extension = busExtension(device);
  if (extension->role == DeviceRole::DevicePdo) {
    return static_cast<UsbPort*>(extension->owner)->dispatchInternalIoctl(irp);
  }
  return completeWith(irp, STATUS_INVALID_DEVICE_REQUEST);
}

// IRQL: PASSIVE_LEVEL.
NTSTATUS NTAPI hubAddDevice(PDRIVER_OBJECT driver, PDEVICE_OBJECT pdo) {
  for (PDEVICE_OBJECT device : nt::driverDevices(driver)) {
    BusDeviceExtension* extension = busExtension(device);
    if (extension->role == DeviceRole::HubFdo) return static_cast<UsbBus*>(extension->owner)->addDevice(pdo);
  }
  return STATUS_NO_SUCH_DEVICE;
}

// IRQL: PASSIVE_LEVEL.
NTSTATUS NTAPI hubDriverEntry(PDRIVER_OBJECT driver, PUNICODE_STRING) {
  driver->MajorFunction[IRP_MJ_PNP] = dispatchPnp;
  driver->MajorFunction[IRP_MJ_POWER] = dispatchPower;
  driver->MajorFunction[IRP_MJ_INTERNAL_DEVICE_CONTROL] = dispatchInternalIoctl;
  driver->DriverExtension->AddDevice = hubAddDevice;
  return STATUS_SUCCESS;
}

}  // namespace

// Lets a device's disconnect handler (device thread) reach the bus only while it exists.
struct UsbBus::DisconnectLink {
  std::mutex lock;
  UsbBus* bus = nullptr;
};

UsbBus::UsbBus(UsbBusOptions options) : options_(std::move(options)) {
  if (options_.ports == 0 || options_.ports > 127) throw std::invalid_argument("a root hub has 1 to 127 ports");
  if (options_.urbContextsPerPort == 0) throw std::invalid_argument("urbContextsPerPort must be positive");
  driver_ = nt::createDriverObject(kServiceName, hubDriverEntry, nullptr);
  if (!driver_) throw std::runtime_error("cannot create the USB bus driver object");
  NTSTATUS status = nt::callDriverEntry(driver_.get(), nt::pnp::serviceRegistryPath("usbhub"));
  if (!NT_SUCCESS(status)) throw std::runtime_error("the USB bus driver's DriverEntry failed");
  status = IoCreateDevice(driver_.get(), sizeof(BusDeviceExtension), nullptr, FILE_DEVICE_BUS_EXTENDER,
                          FILE_DEVICE_SECURE_OPEN, FALSE, &hubFdo_);
  if (!NT_SUCCESS(status)) throw std::runtime_error("cannot create the root hub FDO");
  *busExtension(hubFdo_) = {DeviceRole::HubFdo, this};
  nt::deviceRuntime(hubFdo_).traceName = fmt::format("usbhub FDO (bus {})", options_.busNumber);
  hubFdo_->Flags &= ~DO_DEVICE_INITIALIZING;

  if (!options_.capturePath.empty()) {
    capture_ = link::PcapWriter::create(options_.capturePath, {link::PcapLinkType::UsbLinuxMmapped, options_.captureSnapLength,
                                                               link::PcapTimePrecision::Microseconds});
  }
  disconnectLink_ = std::make_shared<DisconnectLink>();
  disconnectLink_->bus = this;
  portSlots_.assign(options_.ports, nullptr);
  startTicks_ = KeQueryInterruptTime();
}

UsbBus::~UsbBus() {
  {
    std::lock_guard guard(disconnectLink_->lock);
    disconnectLink_->bus = nullptr;
  }
  std::vector<UsbPort*> ports;
  {
    std::lock_guard guard(portsLock_);
    for (auto& port : allPorts_) ports.push_back(port.get());
    std::fill(portSlots_.begin(), portSlots_.end(), nullptr);
  }
  for (UsbPort* port : ports) {
    port->markGone();
    port->device().disconnect();
  }
  for (UsbPort* port : ports) port->waitForIdle();
  KeFlushQueuedDpcs();
  for (UsbPort* port : ports) port->deletePdo();
  removeHub();
  if (capture_) capture_->close();
  // Port objects go only now: a device thread may have been inside a completion above.
  allPorts_.clear();
}

void UsbBus::removeHub() {
  if (hubFdo_ == nullptr) return;
  if (hubLowerDevice_ != nullptr) IoDetachDevice(hubLowerDevice_);
  hubLowerDevice_ = nullptr;
  IoDeleteDevice(hubFdo_);
  hubFdo_ = nullptr;
}

UsbBus* UsbBus::fromHubFdo(PDEVICE_OBJECT fdo) {
  BusDeviceExtension* extension = busExtension(fdo);
  return extension->role == DeviceRole::HubFdo ? static_cast<UsbBus*>(extension->owner) : nullptr;
}

NTSTATUS UsbBus::addDevice(PDEVICE_OBJECT physicalDeviceObject) {
  if (hubLowerDevice_ != nullptr) return STATUS_DEVICE_BUSY;  // one controller per bus object
  hubLowerDevice_ = IoAttachDeviceToDeviceStack(hubFdo_, physicalDeviceObject);
  if (hubLowerDevice_ == nullptr) return STATUS_NO_SUCH_DEVICE;
  hubPdo_ = physicalDeviceObject;
  return STATUS_SUCCESS;
}

unsigned UsbBus::attach(std::shared_ptr<device::UsbDevice> device, std::shared_ptr<link::PcapWriter> capture) {
  if (!device) throw std::invalid_argument("UsbBus::attach: no device");
  std::lock_guard serialize(attachLock_);
  unsigned number = 0;
  {
    std::lock_guard guard(portsLock_);
    for (unsigned i = 0; i < portSlots_.size(); ++i) {
      if (portSlots_[i] == nullptr) {
        number = i + 1;
        break;
      }
    }
  }
  if (number == 0) throw std::runtime_error("UsbBus::attach: every root hub port is in use");
  if (capture && capture->linkType() != link::PcapLinkType::UsbLinuxMmapped)
    throw std::invalid_argument("UsbBus::attach: '" + capture->path().string() + "' is not a usbmon capture");
  auto port = std::make_unique<UsbPort>(*this, number, device, std::move(capture));
  port->enumerate(driver_.get());  // throws; nothing is registered yet
  UsbPort* raw = port.get();
  {
    std::lock_guard guard(portsLock_);
    portSlots_[number - 1] = raw;
    allPorts_.push_back(std::move(port));
  }
  bindDisconnectHandler(*raw);
  nt::logger("usb").info("bus {} port {}: attached {}", options_.busNumber, number, raw->deviceId());
  invalidateRelations();
  return number;
}

void UsbBus::bindDisconnectHandler(UsbPort& port) {
  port.device().setDisconnectHandler([link = disconnectLink_, raw = &port] {
    std::lock_guard guard(link->lock);
    if (link->bus != nullptr) link->bus->onDeviceDisconnected(*raw);
  });
}

bool UsbBus::cyclePort(UsbPort& port) {
  std::lock_guard serialize(attachLock_);
  {
    std::lock_guard guard(portsLock_);
    if (portSlots_[port.number() - 1] != &port) return false;
  }
  // The old PDO's URBs fail as after an unplug; the reset cancels what is pending.
  port.markGone();
  port.device().resetPort();
  auto fresh = std::make_unique<UsbPort>(*this, port.number(), port.deviceShared(), port.ownCapture());
  bool enumerated = true;
  try {
    fresh->enumerate(driver_.get());
  } catch (const std::exception& error) {
    nt::logger("usb").error("bus {} port {}: re-enumeration after cycle failed: {}", options_.busNumber, port.number(),
                        error.what());
    enumerated = false;
  }
  UsbPort* raw = fresh.get();
  {
    std::lock_guard guard(portsLock_);
    portSlots_[port.number() - 1] = enumerated ? raw : nullptr;
    if (enumerated) allPorts_.push_back(std::move(fresh));
  }
  if (enumerated) bindDisconnectHandler(*raw);
  invalidateRelations();
  return enumerated;
}

void UsbBus::detach(unsigned port) {
  std::lock_guard serialize(attachLock_);
  UsbPort* target = nullptr;
  {
    std::lock_guard guard(portsLock_);
    if (port == 0 || port > portSlots_.size() || portSlots_[port - 1] == nullptr) {
      throw std::invalid_argument(fmt::format("UsbBus::detach: nothing at port {}", port));
    }
    target = portSlots_[port - 1];
    portSlots_[port - 1] = nullptr;
  }
  target->markGone();
  target->device().disconnect();
  nt::logger("usb").info("bus {} port {}: detached", options_.busNumber, port);
  invalidateRelations();
}

void UsbBus::onDeviceDisconnected(UsbPort& port) {
  bool wasPresent = false;
  {
    std::lock_guard guard(portsLock_);
    unsigned index = port.number() - 1;
    if (portSlots_[index] == &port) {
      portSlots_[index] = nullptr;
      wasPresent = true;
    }
  }
  port.markGone();
  if (wasPresent) invalidateRelations();
}

void UsbBus::invalidateRelations() {
  // Only a hub the PnP manager enumerated has a devnode to invalidate.
  if (hubPdo_ != nullptr) IoInvalidateDeviceRelations(hubPdo_, BusRelations);
}

PDEVICE_OBJECT UsbBus::devicePdo(unsigned port) const {
  std::lock_guard guard(portsLock_);
  if (port == 0 || port > portSlots_.size() || portSlots_[port - 1] == nullptr) return nullptr;
  return portSlots_[port - 1]->pdo();
}

std::vector<PDEVICE_OBJECT> UsbBus::presentPdos() const {
  std::lock_guard guard(portsLock_);
  std::vector<PDEVICE_OBJECT> pdos;
  for (UsbPort* port : portSlots_) {
    if (port != nullptr && port->pdo() != nullptr) pdos.push_back(port->pdo());
  }
  return pdos;
}

PortStatus UsbBus::portStatus(unsigned port) const {
  std::lock_guard guard(portsLock_);
  if (port == 0 || port > portSlots_.size() || portSlots_[port - 1] == nullptr) return {};
  bool connected = portSlots_[port - 1]->device().isConnected();
  return {connected, connected};
}

std::uint32_t UsbBus::currentFrameNumber() const {
  // Interrupt time counts 100 ns units; a full-speed frame is 1 ms.
  return static_cast<std::uint32_t>((KeQueryInterruptTime() - startTicks_) / 10'000);
}

NTSTATUS UsbBus::dispatchHubPnp(PIRP irp) {
  IO_STACK_LOCATION* stack = IoGetCurrentIrpStackLocation(irp);
  PDEVICE_OBJECT lower = hubLowerDevice_;
  switch (stack->MinorFunction) {
    case IRP_MN_START_DEVICE:
      if (lower != nullptr) {
        if (!IoForwardIrpSynchronously(lower, irp)) return completeWith(irp, STATUS_UNSUCCESSFUL);
        if (!NT_SUCCESS(irp->IoStatus.Status)) return completeWith(irp, irp->IoStatus.Status);
      }
      return completeWith(irp, STATUS_SUCCESS);
    case IRP_MN_QUERY_DEVICE_RELATIONS: {
      if (stack->Parameters.QueryDeviceRelations.Type != BusRelations) break;
      std::vector<PDEVICE_OBJECT> children = presentPdos();
      // A bus driver keeps relations an upper filter reported and adds its own.
      auto* previous = reinterpret_cast<PDEVICE_RELATIONS>(irp->IoStatus.Information);
      ULONG previousCount = previous != nullptr ? previous->Count : 0;
      ULONG count = previousCount + static_cast<ULONG>(children.size());
      std::size_t bytes = sizeof(DEVICE_RELATIONS) + (count > 0 ? count - 1 : 0) * sizeof(PDEVICE_OBJECT);
      auto* relations = static_cast<PDEVICE_RELATIONS>(ExAllocatePool2(POOL_FLAG_PAGED, bytes, 'HbsU'));
      if (relations == nullptr) return completeWith(irp, STATUS_INSUFFICIENT_RESOURCES);
      relations->Count = count;
      for (ULONG i = 0; i < previousCount; ++i) relations->Objects[i] = previous->Objects[i];
      for (std::size_t i = 0; i < children.size(); ++i) {
        ObReferenceObject(children[i]);
        relations->Objects[previousCount + i] = children[i];
      }
      if (previous != nullptr) ExFreePool(previous);
      irp->IoStatus.Information = reinterpret_cast<ULONG_PTR>(relations);
      irp->IoStatus.Status = STATUS_SUCCESS;
      break;
    }
    case IRP_MN_QUERY_STOP_DEVICE:
    case IRP_MN_CANCEL_STOP_DEVICE:
    case IRP_MN_STOP_DEVICE:
    case IRP_MN_QUERY_REMOVE_DEVICE:
    case IRP_MN_CANCEL_REMOVE_DEVICE:
    case IRP_MN_SURPRISE_REMOVAL:
      irp->IoStatus.Status = STATUS_SUCCESS;
      break;
    case IRP_MN_REMOVE_DEVICE: {
      // The hub goes: its children are gone with it.
      std::vector<UsbPort*> ports;
      {
        std::lock_guard guard(portsLock_);
        for (UsbPort*& slot : portSlots_) {
          if (slot != nullptr) ports.push_back(slot);
          slot = nullptr;
        }
      }
      for (UsbPort* port : ports) {
        port->markGone();
        port->device().disconnect();
      }
      irp->IoStatus.Status = STATUS_SUCCESS;
      NTSTATUS status = STATUS_SUCCESS;
      if (lower != nullptr) {
        IoSkipCurrentIrpStackLocation(irp);
        status = IoCallDriver(lower, irp);
      } else {
        IoCompleteRequest(irp, IO_NO_INCREMENT);
      }
      removeHub();
      hubPdo_ = nullptr;
      return status;
    }
    default:
      break;
  }
  if (lower != nullptr) {
    IoSkipCurrentIrpStackLocation(irp);
    return IoCallDriver(lower, irp);
  }
  NTSTATUS status = irp->IoStatus.Status;
  IoCompleteRequest(irp, IO_NO_INCREMENT);
  return status;
}

}  // namespace ndishost::usb::bus
