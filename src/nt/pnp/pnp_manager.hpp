// The PnP manager: builds the device tree from a manifest and the bus drivers' answers,
// loads function drivers, and drives every device through start, query-remove, surprise
// removal, removal and power changes with the IRPs Windows sends, in Windows' order.
//
// Every PnP operation runs on one PnP worker thread, one at a time, at PASSIVE_LEVEL --
// the PnP manager's system thread on Windows. The public methods queue an operation and
// wait for it; IoInvalidateDeviceRelations queues one and returns. A Runtime
// (nt/ke/runtime.hpp) must exist for the manager's whole life. One PnpManager per process.
//
//   PnpManager pnp(Manifest::load("samples.toml"));
//   pnp.addRootDevicesFromManifest();     // ROOT\SAMPLEBUS: samplebus loads, its children start
//   std::cout << pnp.formatTree();
//   pnp.requestRemove("ROOT\\SAMPLEBUS\\0000");
//   for (auto& report : pnp.shutdown()) std::cout << report.format();
#pragma once

#include <condition_variable>
#include <deque>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

// After the standard headers: <sal.h> defines __in/__out, which libstdc++ uses as names.
#include <tuple>
#include <utility>
#include <wdm.h>

#include "nt/pnp/device_node.hpp"
#include "nt/pnp/driver_loader.hpp"
#include "nt/pnp/leak_report.hpp"
#include "nt/pnp/manifest.hpp"

namespace ndishost::nt::pnp {

class RootEnumerator;

// A function or bus driver the PnP manager uses, and the devnodes it serves: either loaded
// from its image (`loaded`) or built into the host (`builtin`, owned by whoever registered it).
struct DriverRecord {
  std::string name;
  std::unique_ptr<LoadedDriver> loaded;
  PDRIVER_OBJECT builtin = nullptr;
  std::size_t devices = 0;  // devnodes whose stack it is in

  PDRIVER_OBJECT driverObject() const;
};

// A snapshot of one devnode, for listings and tests.
struct DeviceInfo {
  std::string instancePath;
  std::string parentInstancePath;  // "" for root-enumerated devices
  unsigned depth = 0;              // 0 for root-enumerated devices
  std::string deviceId;
  std::string instanceId;
  std::vector<std::string> hardwareIds;
  std::vector<std::string> compatibleIds;
  std::string description;
  std::string location;
  std::string driver;  // "" when none matched
  DeviceNodeState state;
  std::string problem;
  DEVICE_POWER_STATE powerState;
  bool present = true;
  std::vector<std::string> stack;  // device objects, top first ("FDO samplefunc", ...)
};

enum class PnpEventKind : std::uint8_t {
  DeviceStarted,
  DeviceStartFailed,
  RemoveVetoed,
  SurpriseRemoved,  // sent between IRP_MN_SURPRISE_REMOVAL and IRP_MN_REMOVE_DEVICE
  DeviceRemoved,
  PowerChanged,
  DriverLoaded,
  DriverUnloaded,
};

struct PnpEvent {
  PnpEventKind kind;
  std::string instancePath;  // or the driver name for Driver* events
  NTSTATUS status = STATUS_SUCCESS;
  std::string detail;
};

// Runs on the PnP worker thread, between two PnP IRPs: it may send I/O to the device
// (PnpManager::referenceTopOfStack) but must not call the PnpManager's operations.
using PnpListener = std::function<void(const PnpEvent&)>;

struct RemoveResult {
  bool removed = false;
  std::string vetoedBy;  // instance path of the device whose stack failed the query
  NTSTATUS status = STATUS_SUCCESS;
};

class PnpManager {
 public:
  explicit PnpManager(Manifest manifest);
  // Shuts down (see shutdown()) if that was not done; leak reports go to the log.
  ~PnpManager();
  PnpManager(const PnpManager&) = delete;
  PnpManager& operator=(const PnpManager&) = delete;

  const Manifest& manifest() const { return manifest_; }

  // Reports a root-enumerated device and brings it up (IDs, driver, AddDevice, start,
  // children, recursively). Returns its instance path ("ROOT\SAMPLEBUS\0000").
  std::string addRootDevice(const ManifestDevice& device);
  std::vector<std::string> addRootDevicesFromManifest();

  // Makes `driver` (a driver object the host created and keeps alive, e.g. the USB bus
  // driver's) the driver of the manifest entry `name`, which must say builtin = true.
  // Register before adding the devices it serves. The PnP manager never unloads it.
  // Throws std::invalid_argument for an unknown or non-builtin entry.
  void registerBuiltinDriver(const std::string& name, PDRIVER_OBJECT driver);

  // Waits until no PnP work (e.g. from IoInvalidateDeviceRelations) is queued or running.
  void waitForIdle();

  std::vector<DeviceInfo> devices() const;  // depth-first, parents before children
  std::optional<DeviceInfo> device(std::string_view instancePath) const;
  std::string formatTree() const;

  // The top of the device's stack, referenced (ObDereferenceObject it), to send it I/O.
  // Null when the device is unknown or its PDO is gone.
  PDEVICE_OBJECT referenceTopOfStack(std::string_view instancePath) const;

  // Orderly removal: IRP_MN_QUERY_REMOVE_DEVICE to the device and its descendants
  // (children first); any failure is a veto, answered with IRP_MN_CANCEL_REMOVE_DEVICE to
  // all queried; else IRP_MN_REMOVE_DEVICE, children first. The devnode stays (removed)
  // while its bus still reports it.
  RemoveResult requestRemove(std::string_view instancePath);

  // IRP_MN_SET_POWER (DevicePowerState) to the device's stack.
  NTSTATUS setDevicePower(std::string_view instancePath, DEVICE_POWER_STATE state);
  // IRP_MN_SET_POWER (SystemPowerState) to every started device: children first when
  // going to sleep, parents first when returning to PowerSystemWorking.
  NTSTATUS setSystemPower(SYSTEM_POWER_STATE state);
  SYSTEM_POWER_STATE systemPowerState() const;

  // Removes every device (children first), deletes the root PDOs, unloads every driver and
  // returns one leak report per driver unloaded during the manager's life. Idempotent.
  std::vector<LeakReport> shutdown();

  // Leak reports of drivers unloaded so far (a driver unloads when its last device goes).
  std::vector<LeakReport> leakReports() const;

  // Subscribes for as long as the returned object lives.
  class Subscription {
   public:
    Subscription(PnpManager& manager, std::uint64_t id) : manager_(&manager), id_(id) {}
    ~Subscription();
    Subscription(const Subscription&) = delete;
    Subscription& operator=(const Subscription&) = delete;

   private:
    PnpManager* manager_;
    std::uint64_t id_;
  };
  std::unique_ptr<Subscription> subscribe(PnpListener listener);

  // ---- for the DDIs (pnp_ddi.cpp, power.cpp) ---------------------------------------
  void invalidateDeviceRelations(std::shared_ptr<DeviceNode> node);
  void invalidateDeviceState(std::shared_ptr<DeviceNode> node);
  static PnpManager* active();

 private:
  // Worker.
  void post(std::function<void()> job);
  void runOnWorker(const std::function<void()>& job);
  void workerMain();
  bool onWorker() const;

  // Tree operations (worker only).
  std::shared_ptr<DeviceNode> createNode(DeviceNode& parent, PDEVICE_OBJECT pdo);
  void bringUp(DeviceNode& node);
  bool readIds(DeviceNode& node);
  bool addDrivers(DeviceNode& node);
  void startStack(DeviceNode& node);
  void enumerateChildren(DeviceNode& node);
  void surpriseRemoveTree(DeviceNode& node);
  void removeTree(DeviceNode& node, const char* why);
  void removeStack(DeviceNode& node);
  void releaseChildren(DeviceNode& node);
  void releaseNode(DeviceNode& node);
  void detachFromParent(DeviceNode& node);
  DriverRecord* loadDriver(DeviceNode& node, const ManifestDriver& entry);
  void unloadUnusedDrivers();
  void notify(const PnpEvent& event);
  void setState(DeviceNode& node, DeviceNodeState state, std::string problem = {});
  void collectPostOrder(DeviceNode& node, std::vector<DeviceNode*>& out);
  DeviceNode* findLocked(std::string_view instancePath) const;
  void snapshotLocked(const DeviceNode& node, unsigned depth, std::vector<DeviceInfo>& out) const;
  std::vector<LeakReport> shutdownOnWorker();

  Manifest manifest_;
  std::unique_ptr<RootEnumerator> rootEnumerator_;
  std::shared_ptr<DeviceNode> root_;  // HTREE\ROOT\0: no PDO; its children are root devices
  std::map<std::string, std::shared_ptr<DriverRecord>, std::less<>> drivers_;  // worker only
  std::map<std::string, PDRIVER_OBJECT, std::less<>> builtinDrivers_;          // worker only
  std::vector<LeakReport> leakReports_;                                        // reportsLock_
  mutable std::mutex reportsLock_;
  SYSTEM_POWER_STATE systemPowerState_ = PowerSystemWorking;  // nodeLock
  bool shutDown_ = false;

  mutable std::mutex listenersLock_;
  std::uint64_t nextListenerId_ = 1;
  std::vector<std::pair<std::uint64_t, PnpListener>> listeners_;

  std::mutex queueLock_;
  std::condition_variable queueCv_;  // work arrived, or stop
  std::condition_variable idleCv_;   // queue drained and worker idle
  std::deque<std::function<void()>> queue_;
  bool workerBusy_ = false;
  bool stopping_ = false;
  std::thread worker_;
  std::thread::id workerId_;
};

}  // namespace ndishost::nt::pnp
