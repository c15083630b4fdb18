// IoGetDeviceProperty: what the PnP manager knows about a device, read from its devnode
// (where Windows reads the registry the PnP manager filled).
#include <cstring>
#include <optional>
#include <variant>
#include <vector>
#include <fmt/format.h>

#include "nt/io/io_manager.hpp"
#include "nt/io/irql_rules.hpp"
#include "nt/pnp/device_node.hpp"
#include "nt/pnp/pnp_irps.hpp"

namespace ndishost::nt::pnp {
namespace {

// A property's value in its registry form: bytes exactly as the caller receives them.
using PropertyBytes = std::vector<unsigned char>;

PropertyBytes wideString(const std::string& text) {
  PropertyBytes bytes;
  for (unsigned char c : text) {
    bytes.push_back(c);
    bytes.push_back(0);
  }
  bytes.insert(bytes.end(), {0, 0});
  return bytes;
}

PropertyBytes multiSz(const std::vector<std::string>& strings) {
  PropertyBytes bytes;
  for (const auto& s : strings) {
    PropertyBytes one = wideString(s);
    bytes.insert(bytes.end(), one.begin(), one.end());
  }
  bytes.insert(bytes.end(), {0, 0});
  return bytes;
}

template <typename T>
PropertyBytes raw(const T& value) {
  PropertyBytes bytes(sizeof(T));
  std::memcpy(bytes.data(), &value, sizeof(T));
  return bytes;
}

// nullopt with a status: not available for this device, or not a property ndishost answers.
struct Answer {
  std::optional<PropertyBytes> bytes;
  NTSTATUS status = STATUS_SUCCESS;
};

Answer propertyOf(const DeviceNode& node, DEVICE_REGISTRY_PROPERTY property, PDEVICE_OBJECT pdo) {
  const NTSTATUS absent = STATUS_OBJECT_NAME_NOT_FOUND;
  switch (property) {
    case DevicePropertyDeviceDescription: return {wideString(node.description())};
    case DevicePropertyHardwareID: return {multiSz(node.hardwareIds)};
    case DevicePropertyCompatibleIDs: return {multiSz(node.compatibleIds)};
    case DevicePropertyDriverKeyName:
      // ndishost has no setup classes: the service name and the device's instance.
      if (node.driverName.empty()) return {std::nullopt, absent};
      return {wideString(fmt::format("{}\\{}", node.driverName, node.instanceId))};
    case DevicePropertyEnumeratorName: return {wideString(node.deviceId.substr(0, node.deviceId.find('\\')))};
    case DevicePropertyPhysicalDeviceObjectName: {
      std::u16string name = deviceName(pdo);
      if (name.empty()) return {std::nullopt, absent};
      return {wideString(utf8FromUtf16(name))};
    }
    case DevicePropertyLocationInformation:
      if (node.location.empty()) return {std::nullopt, absent};
      return {wideString(node.location)};
    case DevicePropertyAddress: return {raw(static_cast<ULONG>(node.capabilities.Address))};
    case DevicePropertyUINumber: return {raw(static_cast<ULONG>(node.capabilities.UINumber))};
    case DevicePropertyBusTypeGuid:
      if (!node.busInformation) return {std::nullopt, absent};
      return {raw(node.busInformation->BusTypeGuid)};
    case DevicePropertyLegacyBusType:
      if (!node.busInformation) return {std::nullopt, absent};
      return {raw(node.busInformation->LegacyBusType)};
    case DevicePropertyBusNumber:
      if (!node.busInformation) return {std::nullopt, absent};
      return {raw(node.busInformation->BusNumber)};
    case DevicePropertyInstallState:
      return {raw(node.driver || node.hasDrivers() ? InstallStateInstalled : InstallStateFailedInstall)};
    case DevicePropertyRemovalPolicy:
      return {raw(node.capabilities.Removable ? RemovalPolicyExpectSurpriseRemoval : RemovalPolicyExpectNoRemoval)};
    default:
      // Boot configuration, resources, class, manufacturer, friendly name, container ID.
      return {std::nullopt, STATUS_INVALID_PARAMETER_2};
  }
}

}  // namespace
}  // namespace ndishost::nt::pnp

using namespace ndishost::nt;
using namespace ndishost::nt::pnp;

// IRQL: PASSIVE_LEVEL.
extern "C" NTSTATUS NTAPI IoGetDeviceProperty(PDEVICE_OBJECT DeviceObject, DEVICE_REGISTRY_PROPERTY DeviceProperty,
                                              ULONG BufferLength, PVOID PropertyBuffer, PULONG ResultLength) {
  const void* caller = __builtin_return_address(0);
  checkIrqlAtMost(PASSIVE_LEVEL, "IoGetDeviceProperty", caller);
  if (ResultLength != nullptr) *ResultLength = 0;

  Answer answer;
  {
    std::lock_guard guard(nodeLock());
    DeviceNode* node = nodeOfPdoLocked(DeviceObject);
    if (node == nullptr) return STATUS_INVALID_DEVICE_REQUEST;  // not a PDO the PnP manager knows
    answer = propertyOf(*node, DeviceProperty, DeviceObject);
  }
  if (!answer.bytes) return answer.status;

  auto size = static_cast<ULONG>(answer.bytes->size());
  if (ResultLength != nullptr) *ResultLength = size;
  if (BufferLength < size || PropertyBuffer == nullptr) return STATUS_BUFFER_TOO_SMALL;
  std::memcpy(PropertyBuffer, answer.bytes->data(), size);
  return STATUS_SUCCESS;
}
