// The PnP DDIs drivers call to tell the PnP manager something changed:
// IoInvalidateDeviceRelations and IoInvalidateDeviceState.
#include <memory>
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "nt/io/io_manager.hpp"
#include "nt/io/irql_rules.hpp"
#include "nt/pnp/device_node.hpp"
#include "nt/pnp/pnp_manager.hpp"
#include "nt/support/log.hpp"
#include "nt/support/violation.hpp"

namespace ndishost::nt::pnp {
namespace {

// PNP_DETECTED_FATAL_ERROR: Windows' answer to a device object passed where a PDO must be.
constexpr std::uint32_t kPnpDetectedFatalError = 0xCA;

// The devnode of `device`, or null after reporting "pnp.not-a-pdo".
std::shared_ptr<DeviceNode> nodeForDdi(PDEVICE_OBJECT device, const char* ddi, const void* caller) {
  {
    std::lock_guard guard(nodeLock());
    if (DeviceNode* node = nodeOfPdoLocked(device)) return node->shared_from_this();
  }
  reportViolation({"pnp.not-a-pdo", kPnpDetectedFatalError, 0x2, reinterpret_cast<std::uintptr_t>(device)}, caller,
                  fmt::format("{} needs a PDO the PnP manager enumerated; {} is not one", ddi,
                              device != nullptr && device->Type == IO_TYPE_DEVICE ? describeDevice(device)
                                                                                  : fmt::format("{}", static_cast<void*>(device))));
  return nullptr;
}

}  // namespace
}  // namespace ndishost::nt::pnp

using namespace ndishost::nt;
using namespace ndishost::nt::pnp;

// IRQL: <= DISPATCH_LEVEL.
extern "C" void NTAPI IoInvalidateDeviceRelations(PDEVICE_OBJECT DeviceObject, DEVICE_RELATION_TYPE Type) {
  const void* caller = __builtin_return_address(0);
  checkIrqlAtMost(DISPATCH_LEVEL, "IoInvalidateDeviceRelations", caller);
  auto node = nodeForDdi(DeviceObject, "IoInvalidateDeviceRelations", caller);
  if (!node) return;
  if (Type != BusRelations) {
    // ndishost sends no ejection, removal or power relations query: nothing to redo.
    logger("pnp").debug("IoInvalidateDeviceRelations({}, type {}) ignored", node->instancePath, static_cast<int>(Type));
    return;
  }
  node->manager->invalidateDeviceRelations(std::move(node));
}

// IRQL: <= DISPATCH_LEVEL.
extern "C" void NTAPI IoInvalidateDeviceState(PDEVICE_OBJECT PhysicalDeviceObject) {
  const void* caller = __builtin_return_address(0);
  checkIrqlAtMost(DISPATCH_LEVEL, "IoInvalidateDeviceState", caller);
  auto node = nodeForDdi(PhysicalDeviceObject, "IoInvalidateDeviceState", caller);
  if (!node) return;
  node->manager->invalidateDeviceState(std::move(node));
}
