// NdisRegisterDeviceEx, NdisDeregisterDeviceEx, NdisGetDeviceReservedExtension (ddi/ndis,
// "NDIS_DEVICE_OBJECT_ATTRIBUTES"), and the IRP dispatch of the devices they create.
//
// The device object's extension is NDIS's: a ControlDeviceBlock (a copy of the driver's
// MajorFunctions, so dispatch needs no lookup or lock) followed by the driver's
// ExtensionSize bytes, which NdisGetDeviceReservedExtension returns. A NULL MajorFunctions
// entry gets what the I/O manager gives any driver object's unset entry: the IRP completes
// with STATUS_INVALID_DEVICE_REQUEST (the reference names no other default). The reference
// forbids PnP and power entries ("the created device object ... does not receive PnP or
// Power Management IRPs"): supplying one is reported and the entry ignored.
//
// The NdisDeviceHandle is a ControlDevice (an NdisObject), so a stale or made-up handle is
// told from a real one. See control_device.hpp for why NDIS owns the device objects.
#include "ndis/miniport/control_device.hpp"

#include <algorithm>
#include <array>
#include <atomic>
#include <cstring>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "ndis/core/ndis_object.hpp"
#include "ndis/core/ndis_rules.hpp"
#include "ndis/miniport/miniport_driver.hpp"
#include "nt/io/io_manager.hpp"
#include "nt/rtl/text_codec.hpp"
#include "nt/support/log.hpp"

namespace ndishost::ndis {
namespace {

constexpr std::uint64_t kControlDeviceMagic = 0x4e44495344455643ull;  // "NDISDEVC"
constexpr std::size_t kMajorFunctions = IRP_MJ_MAXIMUM_FUNCTION + 1;

// At DeviceObject->DeviceExtension; the driver's reserved extension follows, 16-aligned
// (MEMORY_ALLOCATION_ALIGNMENT, as the I/O manager aligns the extension itself).
struct ControlDeviceBlock {
  std::atomic<std::uint64_t> magic;
  std::array<PDRIVER_DISPATCH, kMajorFunctions> dispatch;
  ULONG reservedSize;
};
constexpr std::size_t kReservedOffset = (sizeof(ControlDeviceBlock) + 15) & ~std::size_t{15};

class ControlDevice final : public NdisObject {
 public:
  ControlDevice(PDRIVER_OBJECT owner, const std::string& ownerName, PDEVICE_OBJECT device, std::string deviceName,
                std::u16string symbolicName)
      : NdisObject(NdisObjectKind::Device),
        owner_(owner),
        name_(fmt::format("{} control device {}", ownerName, deviceName)),
        device_(device),
        symbolicName_(std::move(symbolicName)) {}

  PVOID ioObject() const override { return device_; }
  ConfigurationStore* configuration() const override { return nullptr; }
  std::string describe() const override { return name_; }

  PDRIVER_OBJECT owner() const { return owner_; }
  PDEVICE_OBJECT device() const { return device_; }
  const std::u16string& symbolicName() const { return symbolicName_; }

 private:
  PDRIVER_OBJECT owner_;  // the miniport's driver object
  std::string name_;
  PDEVICE_OBJECT device_;
  std::u16string symbolicName_;  // empty: none
};

// NDIS's own driver object, alive while any control device is registered.
struct NdisDriverObject {
  std::mutex lock;
  nt::DriverObjectHandle object;
  std::vector<std::unique_ptr<ControlDevice>> devices;  // registered, oldest first
  std::atomic<PDRIVER_OBJECT> current{nullptr};
};

NdisDriverObject& ndisDriver() {
  static NdisDriverObject instance;
  return instance;
}

ControlDeviceBlock* blockOf(PDEVICE_OBJECT device) {
  if (device == nullptr || device->DriverObject == nullptr || device->DriverObject != ndisDriver().current.load())
    return nullptr;
  auto* block = static_cast<ControlDeviceBlock*>(device->DeviceExtension);
  return block != nullptr && block->magic.load(std::memory_order_acquire) == kControlDeviceMagic ? block : nullptr;
}

NTSTATUS completeIrp(PIRP irp, NTSTATUS status) {
  irp->IoStatus.Status = status;
  irp->IoStatus.Information = 0;
  IoCompleteRequest(irp, IO_NO_INCREMENT);
  return status;
}

// Every IRP to a control device, at the IRQL of its IoCallDriver.
NTSTATUS NTAPI dispatchControlDeviceIrp(PDEVICE_OBJECT device, PIRP irp) {
  PIO_STACK_LOCATION stack = IoGetCurrentIrpStackLocation(irp);
  UCHAR major = stack->MajorFunction;
  ControlDeviceBlock* block = blockOf(device);
  if (block == nullptr) {
    // Deregistered while a file object still referenced it: only the file's own
    // cleanup and close still arrive, and the driver no longer serves the device.
    if (major == IRP_MJ_POWER) PoStartNextPowerIrp(irp);
    return completeIrp(irp, major == IRP_MJ_CLOSE || major == IRP_MJ_CLEANUP ? STATUS_SUCCESS
                                                                             : STATUS_INVALID_DEVICE_REQUEST);
  }
  PDRIVER_DISPATCH routine = major < kMajorFunctions ? block->dispatch[major] : nullptr;
  if (routine == nullptr) {
    if (major == IRP_MJ_POWER) PoStartNextPowerIrp(irp);
    return completeIrp(irp, STATUS_INVALID_DEVICE_REQUEST);
  }
  return routine(device, irp);
}

// NDIS's driver object is never "loaded": nothing calls its DriverInit.
NTSTATUS NTAPI ndisDriverEntry(PDRIVER_OBJECT driver, PUNICODE_STRING path) {
  (void)driver;
  (void)path;
  return STATUS_SUCCESS;
}

std::u16string copyName(PNDIS_STRING name) {
  if (name == nullptr || name->Buffer == nullptr) return {};
  return std::u16string(reinterpret_cast<const char16_t*>(name->Buffer), name->Length / sizeof(WCHAR));
}

NDIS_STATUS invalid(const std::string& who, const std::string& why) {
  nt::logger("ndis").error("NdisRegisterDeviceEx ({}): {}", who, why);
  return NDIS_STATUS_INVALID_PARAMETER;
}

// Removes the symbolic link and the device object; the handle dies with `device`.
// `ndisDriverObject` (NDIS's driver object when this was its last device) goes after it.
void removeControlDevice(std::unique_ptr<ControlDevice> device, nt::DriverObjectHandle ndisDriverObject) {
  PDEVICE_OBJECT object = device->device();
  auto* block = static_cast<ControlDeviceBlock*>(object->DeviceExtension);
  block->magic.store(0, std::memory_order_release);  // new IRPs no longer reach the driver
  if (!device->symbolicName().empty()) {
    std::u16string link = device->symbolicName();
    UNICODE_STRING linkName;
    linkName.Buffer = reinterpret_cast<PWCH>(link.data());
    linkName.Length = static_cast<USHORT>(link.size() * sizeof(WCHAR));
    linkName.MaximumLength = linkName.Length;
    IoDeleteSymbolicLink(&linkName);
  }
  nt::logger("ndis").info("{}: deregistered", device->describe());
  device.reset();
  IoDeleteDevice(object);
  ndisDriverObject.reset();
}

// Takes `device` out of the registry and hands it over (null: it was not registered). With
// the last device, NDIS's driver object is handed to `released` to let go of after it.
std::unique_ptr<ControlDevice> unregister(const ControlDevice* device, nt::DriverObjectHandle& released) {
  NdisDriverObject& ndis = ndisDriver();
  std::lock_guard guard(ndis.lock);
  auto it = std::find_if(ndis.devices.begin(), ndis.devices.end(),
                         [device](const std::unique_ptr<ControlDevice>& d) { return d.get() == device; });
  if (it == ndis.devices.end()) return nullptr;
  std::unique_ptr<ControlDevice> owned = std::move(*it);
  ndis.devices.erase(it);
  if (ndis.devices.empty()) {
    // The object itself stays until its devices' memory goes (file objects may hold it).
    ndis.current.store(nullptr);
    released = std::move(ndis.object);
  }
  return owned;
}

}  // namespace

void deregisterLeftoverDevices(PDRIVER_OBJECT miniportDriverObject, const void* unloadRoutine) {
  std::vector<ControlDevice*> leftovers;
  {
    NdisDriverObject& ndis = ndisDriver();
    std::lock_guard guard(ndis.lock);
    for (const auto& device : ndis.devices)
      if (device->owner() == miniportDriverObject) leftovers.push_back(device.get());
  }
  for (ControlDevice* device : leftovers) {
    reportNdisViolation("ndis.device-not-deregistered", NdisBugSubcode::DeviceNotDeregistered, device->handle(), 0,
                        unloadRoutine,
                        fmt::format("{}: MiniportDriverUnload returned without NdisDeregisterDeviceEx for it; NDIS "
                                    "deregisters it",
                                    device->describe()));
    nt::DriverObjectHandle released;
    if (auto owned = unregister(device, released)) removeControlDevice(std::move(owned), std::move(released));
  }
}

}  // namespace ndishost::ndis

using namespace ndishost;
using namespace ndishost::ndis;

// IRQL PASSIVE_LEVEL. NdisHandle: a miniport driver handle (NdisMRegisterMiniportDriver);
// filter driver handles do not exist in ndishost (no NDIS filter support), so anything else
// is "not an NDIS driver": reported and NDIS_STATUS_NOT_SUPPORTED.
extern "C" NDIS_STATUS NTAPI NdisRegisterDeviceEx(NDIS_HANDLE NdisHandle,
                                                  PNDIS_DEVICE_OBJECT_ATTRIBUTES DeviceObjectAttributes,
                                                  PDEVICE_OBJECT* pDeviceObject, PNDIS_HANDLE NdisDeviceHandle) {
  const void* caller = __builtin_return_address(0);
  if (pDeviceObject != nullptr) *pDeviceObject = nullptr;
  if (NdisDeviceHandle != nullptr) *NdisDeviceHandle = nullptr;
  if (!checkIrqlExactly(PASSIVE_LEVEL, "NdisRegisterDeviceEx", caller)) return NDIS_STATUS_FAILURE;

  MiniportDriver* driver = MiniportDriver::fromHandle(NdisHandle);
  if (driver == nullptr) {
    NdisObject* object = NdisObject::fromHandle(NdisHandle);
    reportNdisViolation("ndis.bad-handle", NdisBugSubcode::BadHandle, NdisHandle, 0, caller,
                        fmt::format("NdisRegisterDeviceEx was passed {} ({}), which is not a miniport driver handle "
                                    "from NdisMRegisterMiniportDriver",
                                    NdisHandle, object != nullptr ? toString(object->kind()) : "no NDIS handle"));
    return NDIS_STATUS_NOT_SUPPORTED;
  }
  const std::string who = driver->describe();
  if (DeviceObjectAttributes == nullptr || pDeviceObject == nullptr || NdisDeviceHandle == nullptr)
    return invalid(who, "DeviceObjectAttributes, pDeviceObject and NdisDeviceHandle must not be NULL");
  const NDIS_DEVICE_OBJECT_ATTRIBUTES& attributes = *DeviceObjectAttributes;
  if (attributes.Header.Type != NDIS_OBJECT_TYPE_DEVICE_OBJECT_ATTRIBUTES)
    return invalid(who, fmt::format("Header.Type is {:#x}, expected NDIS_OBJECT_TYPE_DEVICE_OBJECT_ATTRIBUTES (0x85)",
                                    attributes.Header.Type));
  if (attributes.Header.Revision != NDIS_DEVICE_OBJECT_ATTRIBUTES_REVISION_1)
    return invalid(who, fmt::format("Header.Revision is {}, expected NDIS_DEVICE_OBJECT_ATTRIBUTES_REVISION_1",
                                    attributes.Header.Revision));
  if (attributes.Header.Size < NDIS_SIZEOF_DEVICE_OBJECT_ATTRIBUTES_REVISION_1)
    return invalid(who, fmt::format("Header.Size is {}, smaller than NDIS_SIZEOF_DEVICE_OBJECT_ATTRIBUTES_REVISION_1 "
                                    "({})",
                                    attributes.Header.Size, NDIS_SIZEOF_DEVICE_OBJECT_ATTRIBUTES_REVISION_1));
  std::u16string deviceName = copyName(attributes.DeviceName);
  if (deviceName.empty()) return invalid(who, "DeviceName is NULL or empty (a full path such as \\Device\\Name)");
  if (attributes.MajorFunctions == nullptr) return invalid(who, "MajorFunctions is NULL");
  if (attributes.ExtensionSize > 0xFFFF - sizeof(DEVICE_OBJECT) - kReservedOffset)
    return invalid(who, fmt::format("ExtensionSize {} is too large for a device object", attributes.ExtensionSize));
  if (attributes.DeviceClassGuid != nullptr)
    nt::logger("ndis").warn("NdisRegisterDeviceEx ({}): DeviceClassGuid is reserved and should be NULL; ignored", who);
  // DefaultSDDLString: accepted; ndishost has no security descriptors to apply it to.

  std::array<PDRIVER_DISPATCH, kMajorFunctions> dispatch{};
  std::memcpy(dispatch.data(), attributes.MajorFunctions, sizeof(PDRIVER_DISPATCH) * kMajorFunctions);
  for (UCHAR major : {static_cast<UCHAR>(IRP_MJ_PNP), static_cast<UCHAR>(IRP_MJ_POWER)}) {
    if (dispatch[major] == nullptr) continue;
    reportNdisViolation("ndis.device-pnp-power-handler", NdisBugSubcode::BadParameters, DeviceObjectAttributes, major,
                        caller,
                        fmt::format("{}: NdisRegisterDeviceEx MajorFunctions[{}] is set; a control device gets no PnP "
                                    "or power IRPs (the entry is ignored)",
                                    who, nt::majorFunctionName(major)));
    dispatch[major] = nullptr;
  }

  NdisDriverObject& ndis = ndisDriver();
  std::unique_lock guard(ndis.lock);
  if (!ndis.object) {
    ndis.object = nt::createDriverObject(u"NDIS", ndisDriverEntry, nullptr);
    if (!ndis.object) return NDIS_STATUS_RESOURCES;
    for (auto& routine : ndis.object->MajorFunction) routine = dispatchControlDeviceIrp;
    ndis.current.store(ndis.object.get());
  }
  PDEVICE_OBJECT device = nullptr;
  UNICODE_STRING name;
  name.Buffer = reinterpret_cast<PWCH>(deviceName.data());
  name.Length = static_cast<USHORT>(deviceName.size() * sizeof(WCHAR));
  name.MaximumLength = name.Length;
  NTSTATUS status = IoCreateDevice(ndis.object.get(), static_cast<ULONG>(kReservedOffset + attributes.ExtensionSize),
                                   &name, FILE_DEVICE_NETWORK, FILE_DEVICE_SECURE_OPEN, FALSE, &device);
  if (!NT_SUCCESS(status)) {
    nt::logger("ndis").error("NdisRegisterDeviceEx ({}): IoCreateDevice({}) failed with {}", who,
                             nt::rtl::toUtf8(deviceName), nt::statusName(status));
    if (ndis.devices.empty()) {
      ndis.current.store(nullptr);
      ndis.object.reset();
    }
    return static_cast<NDIS_STATUS>(status);
  }
  std::u16string symbolicName = copyName(attributes.SymbolicName);
  if (!symbolicName.empty()) {
    UNICODE_STRING link;
    link.Buffer = reinterpret_cast<PWCH>(symbolicName.data());
    link.Length = static_cast<USHORT>(symbolicName.size() * sizeof(WCHAR));
    link.MaximumLength = link.Length;
    status = IoCreateSymbolicLink(&link, &name);
    if (!NT_SUCCESS(status)) {
      nt::logger("ndis").error("NdisRegisterDeviceEx ({}): IoCreateSymbolicLink({}) failed with {}", who,
                               nt::rtl::toUtf8(symbolicName), nt::statusName(status));
      IoDeleteDevice(device);
      if (ndis.devices.empty()) {
        ndis.current.store(nullptr);
        ndis.object.reset();
      }
      return static_cast<NDIS_STATUS>(status);
    }
  }

  auto* block = new (device->DeviceExtension) ControlDeviceBlock{};
  block->dispatch = dispatch;
  block->reservedSize = attributes.ExtensionSize;
  if (attributes.ExtensionSize != 0)
    std::memset(static_cast<char*>(device->DeviceExtension) + kReservedOffset, 0, attributes.ExtensionSize);
  block->magic.store(kControlDeviceMagic, std::memory_order_release);
  auto owned = std::make_unique<ControlDevice>(driver->driverObject(), who, device, nt::rtl::toUtf8(deviceName),
                                               std::move(symbolicName));
  ControlDevice* control = owned.get();
  ndis.devices.push_back(std::move(owned));
  guard.unlock();

  // A non-PnP device is ready as soon as it exists (NDIS finishes initialising it).
  device->Flags &= ~static_cast<ULONG>(DO_DEVICE_INITIALIZING);
  nt::logger("ndis").info("{}: registered (reserved extension {} bytes)", control->describe(),
                          attributes.ExtensionSize);
  *pDeviceObject = device;
  *NdisDeviceHandle = control->handle();
  return NDIS_STATUS_SUCCESS;
}

// IRQL PASSIVE_LEVEL. Also removes the symbolic link; the reserved extension goes with the
// device object.
extern "C" VOID NTAPI NdisDeregisterDeviceEx(NDIS_HANDLE NdisDeviceHandle) {
  const void* caller = __builtin_return_address(0);
  checkIrqlExactly(PASSIVE_LEVEL, "NdisDeregisterDeviceEx", caller);
  NdisObject* object = NdisObject::fromHandle(NdisDeviceHandle);
  auto* device = object != nullptr && object->kind() == NdisObjectKind::Device ? static_cast<ControlDevice*>(object)
                                                                               : nullptr;
  nt::DriverObjectHandle released;
  std::unique_ptr<ControlDevice> owned = device != nullptr ? unregister(device, released) : nullptr;
  if (!owned) {
    reportNdisViolation("ndis.bad-handle", NdisBugSubcode::BadHandle, NdisDeviceHandle, 0, caller,
                        fmt::format("NdisDeregisterDeviceEx was passed {}, which is not a registered device handle "
                                    "(from NdisRegisterDeviceEx, not yet deregistered)",
                                    NdisDeviceHandle));
    return;
  }
  removeControlDevice(std::move(owned), std::move(released));
}

// Any IRQL. NULL for a device NdisRegisterDeviceEx did not create, or one registered with
// ExtensionSize 0.
extern "C" PVOID NTAPI NdisGetDeviceReservedExtension(PDEVICE_OBJECT DeviceObject) {
  ControlDeviceBlock* block = blockOf(DeviceObject);
  if (block == nullptr || block->reservedSize == 0) return nullptr;
  return reinterpret_cast<char*>(block) + kReservedOffset;
}
