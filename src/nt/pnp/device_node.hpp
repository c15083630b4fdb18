// A device node (devnode): the PnP manager's record of one enumerated device -- its PDO,
// the IDs and capabilities its bus driver reported, the function driver serving it, and
// where it is in its life (started, surprise-removed, removed, ...).
//
// Devnodes form the device tree: the root's children are the root-enumerated devices; a
// bus device's children are the PDOs its bus driver reports in BusRelations. Only the PnP
// worker thread changes the tree; DDIs (IoGetDeviceProperty, IoInvalidateDeviceRelations)
// and listings read it under nodeLock().
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

// After the standard headers: <sal.h> defines __in/__out, which libstdc++ uses as names.
#include <tuple>
#include <utility>
#include <wdm.h>

namespace ndishost::nt::pnp {

class PnpManager;
struct DriverRecord;

enum class DeviceNodeState : std::uint8_t {
  Enumerated,       // reported, IDs read, no driver yet
  NoDriver,         // no manifest entry matches its IDs
  DriverFailed,     // its driver would not load, or AddDevice failed
  DriversAdded,     // AddDevice succeeded, not started yet
  Started,          // IRP_MN_START_DEVICE succeeded
  StartFailed,      // start failed; the stack was removed
  SurpriseRemoved,  // IRP_MN_SURPRISE_REMOVAL sent; waiting for the remove IRP
  Removed,          // IRP_MN_REMOVE_DEVICE sent; drivers detached (device may still be present)
};

const char* toString(DeviceNodeState state);

struct DeviceNode : std::enable_shared_from_this<DeviceNode> {
  PnpManager* manager = nullptr;
  DeviceNode* parent = nullptr;  // null for the tree's root
  std::vector<std::shared_ptr<DeviceNode>> children;

  PDEVICE_OBJECT pdo = nullptr;  // one reference held by the PnP manager
  bool present = true;           // in the parent's most recent BusRelations answer
  bool rootEnumerated = false;

  std::string deviceId;
  std::string instanceId;
  std::string instancePath;  // deviceId + "\" + instanceId
  std::vector<std::string> hardwareIds;
  std::vector<std::string> compatibleIds;
  std::string busDescription;  // IRP_MN_QUERY_DEVICE_TEXT
  std::string location;
  std::string manifestDescription;  // the matching manifest entry's description
  DEVICE_CAPABILITIES capabilities{};
  std::optional<PNP_BUS_INFORMATION> busInformation;

  std::shared_ptr<DriverRecord> driver;  // the function driver, once loaded
  std::string driverName;                // the manifest's choice, even if it failed to load
  DeviceNodeState state = DeviceNodeState::Enumerated;
  std::string problem;  // why it is not started, in words

  bool hasDrivers() const {
    return state == DeviceNodeState::DriversAdded || state == DeviceNodeState::Started ||
           state == DeviceNodeState::SurpriseRemoved;
  }
  std::string description() const;  // manifest, else bus text, else device ID
};

// Guards every DeviceRuntime::pnpNode slot and the fields of every devnode that DDIs and
// listings read. Held briefly, never while a driver runs.
std::mutex& nodeLock();

// The devnode whose PDO is `device`, or null (not a PDO the PnP manager enumerated).
// Caller holds nodeLock().
DeviceNode* nodeOfPdoLocked(PDEVICE_OBJECT device);

}  // namespace ndishost::nt::pnp
