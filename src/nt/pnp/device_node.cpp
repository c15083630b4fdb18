
#include "nt/pnp/device_node.hpp"
#include "nt/io/io_manager.hpp"

namespace ndishost::nt::pnp {

const char* toString(DeviceNodeState state) {
  switch (state) {
    case DeviceNodeState::Enumerated: return "enumerated";
    case DeviceNodeState::NoDriver: return "no driver";
    case DeviceNodeState::DriverFailed: return "driver failed";
    case DeviceNodeState::DriversAdded: return "drivers added";
    case DeviceNodeState::Started: return "started";
    case DeviceNodeState::StartFailed: return "start failed";
    case DeviceNodeState::SurpriseRemoved: return "surprise-removed";
    case DeviceNodeState::Removed: return "removed";
  }
  return "?";
}

std::string DeviceNode::description() const {
  if (!manifestDescription.empty()) return manifestDescription;
  if (!busDescription.empty()) return busDescription;
  return deviceId;
}

std::mutex& nodeLock() {
  static std::mutex lock;
  return lock;
}

DeviceNode* nodeOfPdoLocked(PDEVICE_OBJECT device) {
  if (device == nullptr || device->Type != IO_TYPE_DEVICE || device->DeviceObjectExtension == nullptr) return nullptr;
  return static_cast<DeviceNode*>(deviceRuntime(device).pnpNode);
}

}  // namespace ndishost::nt::pnp
