#include <algorithm>
#include <atomic>
#include <stdexcept>
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "nt/pnp/pnp_manager.hpp"
#include "nt/io/io_manager.hpp"
#include "nt/ke/runtime.hpp"
#include "nt/pnp/pnp_irps.hpp"
#include "nt/pnp/power_records.hpp"
#include "nt/pnp/root_enumerator.hpp"
#include "nt/support/log.hpp"
#include "nt/support/trace.hpp"
#include "nt/support/violation.hpp"

namespace ndishost::nt::pnp {
namespace {

std::atomic<PnpManager*> activeManager{nullptr};

spdlog::logger& log() { return logger("pnp"); }

void tracePnp(std::string source, std::string text) {
  if (traceEnabled()) traceEmit(TraceCategory::Pnp, std::move(source), std::move(text));
}

std::string joinIds(const std::vector<std::string>& ids) {
  return ids.empty() ? std::string("(none)") : fmt::format("{}", fmt::join(ids, ", "));
}

// The IoDeleteDevice hook: a deleted device object has no power state to remember.
void onDeviceDeleted(PDEVICE_OBJECT device) { forgetPowerState(device); }

}  // namespace

// ---- construction, worker -------------------------------------------------------------

PnpManager::PnpManager(Manifest manifest) : manifest_(std::move(manifest)) {
  if (Runtime::current() == nullptr) throw std::logic_error("PnpManager: create the Runtime first");
  PnpManager* expected = nullptr;
  if (!activeManager.compare_exchange_strong(expected, this)) {
    throw std::logic_error("PnpManager: another PnP manager exists in this process");
  }
  root_ = std::make_shared<DeviceNode>();
  root_->manager = this;
  root_->deviceId = "HTREE\\ROOT";
  root_->instanceId = "0";
  root_->instancePath = "HTREE\\ROOT\\0";
  root_->state = DeviceNodeState::Started;
  setDeviceDeletionHook(&onDeviceDeleted);

  worker_ = std::thread([this] { workerMain(); });
  workerId_ = worker_.get_id();
  try {
    runOnWorker([this] { rootEnumerator_ = std::make_unique<RootEnumerator>(); });
  } catch (...) {
    {
      std::lock_guard guard(queueLock_);
      stopping_ = true;
    }
    queueCv_.notify_all();
    worker_.join();
    activeManager.store(nullptr);
    throw;
  }
}

PnpManager::~PnpManager() {
  if (!shutDown_) {
    try {
      shutdown();  // unload() logs each report
    } catch (const std::exception& error) {
      log().error("PnP manager shutdown failed: {}", error.what());
    }
  }
  {
    std::lock_guard guard(queueLock_);
    stopping_ = true;
  }
  queueCv_.notify_all();
  {
    OutsideRuntimeScope outside;
    worker_.join();
  }
  setDeviceDeletionHook(nullptr);
  activeManager.store(nullptr);
}

PnpManager* PnpManager::active() { return activeManager.load(); }

bool PnpManager::onWorker() const { return std::this_thread::get_id() == workerId_; }

void PnpManager::workerMain() {
  for (;;) {
    std::function<void()> job;
    {
      // Blocked outside the runtime while idle; the lock is released before the scope
      // takes the run token back (a token holder may be waiting for this lock).
      OutsideRuntimeScope outside;
      std::unique_lock lock(queueLock_);
      if (queue_.empty()) {
        workerBusy_ = false;
        idleCv_.notify_all();
      }
      queueCv_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
      if (queue_.empty()) return;
      job = std::move(queue_.front());
      queue_.pop_front();
      workerBusy_ = true;
    }
    job();
  }
}

void PnpManager::post(std::function<void()> job) {
  {
    std::lock_guard guard(queueLock_);
    if (stopping_) return;
    queue_.push_back(std::move(job));
    workerBusy_ = true;  // until the worker has looked at the queue
  }
  queueCv_.notify_one();
}

void PnpManager::runOnWorker(const std::function<void()>& job) {
  if (onWorker()) {
    job();
    return;
  }
  std::mutex doneLock;
  std::condition_variable doneCv;
  bool done = false;
  std::exception_ptr error;
  post([&] {
    try {
      job();
    } catch (...) {
      error = std::current_exception();
    }
    // Notified under the lock: the waiter destroys doneCv as soon as it sees `done`.
    std::lock_guard guard(doneLock);
    done = true;
    doneCv.notify_all();
  });
  {
    OutsideRuntimeScope outside;
    std::unique_lock lock(doneLock);
    doneCv.wait(lock, [&] { return done; });
  }
  if (error) std::rethrow_exception(error);
}

void PnpManager::waitForIdle() {
  OutsideRuntimeScope outside;
  std::unique_lock lock(queueLock_);
  idleCv_.wait(lock, [this] { return queue_.empty() && !workerBusy_; });
}

// ---- listeners --------------------------------------------------------------------------

std::unique_ptr<PnpManager::Subscription> PnpManager::subscribe(PnpListener listener) {
  std::lock_guard guard(listenersLock_);
  std::uint64_t id = nextListenerId_++;
  listeners_.emplace_back(id, std::move(listener));
  return std::make_unique<Subscription>(*this, id);
}

PnpManager::Subscription::~Subscription() {
  std::lock_guard guard(manager_->listenersLock_);
  std::erase_if(manager_->listeners_, [this](const auto& entry) { return entry.first == id_; });
}

void PnpManager::notify(const PnpEvent& event) {
  // Listeners run under the lock, so one that unsubscribes never runs afterwards.
  std::lock_guard guard(listenersLock_);
  for (auto& [id, listener] : listeners_) listener(event);
}

// ---- the tree ---------------------------------------------------------------------------

void PnpManager::setState(DeviceNode& node, DeviceNodeState state, std::string problem) {
  {
    std::lock_guard guard(nodeLock());
    node.state = state;
    node.problem = std::move(problem);
  }
  tracePnp(node.instancePath, fmt::format("devnode {}{}{}", toString(state), node.problem.empty() ? "" : ": ",
                                          node.problem));
}

std::shared_ptr<DeviceNode> PnpManager::createNode(DeviceNode& parent, PDEVICE_OBJECT pdo) {
  auto node = std::make_shared<DeviceNode>();
  node->manager = this;
  node->parent = &parent;
  node->pdo = pdo;
  node->rootEnumerated = (&parent == root_.get());
  std::lock_guard guard(nodeLock());
  deviceRuntime(pdo).pnpNode = node.get();
  parent.children.push_back(node);
  return node;
}

void PnpManager::collectPostOrder(DeviceNode& node, std::vector<DeviceNode*>& out) {
  for (auto& child : node.children) collectPostOrder(*child, out);
  out.push_back(&node);
}

DeviceNode* PnpManager::findLocked(std::string_view instancePath) const {
  std::vector<DeviceNode*> pending{root_.get()};
  while (!pending.empty()) {
    DeviceNode* node = pending.back();
    pending.pop_back();
    if (node != root_.get() && deviceIdEquals(node->instancePath, instancePath)) return node;
    for (auto& child : node->children) pending.push_back(child.get());
  }
  return nullptr;
}

bool PnpManager::readIds(DeviceNode& node) {
  PDEVICE_OBJECT pdo = node.pdo;
  IdAnswer deviceId = queryId(pdo, BusQueryDeviceID);
  if (!NT_SUCCESS(deviceId.status) || deviceId.strings.empty() || deviceId.strings.front().empty()) {
    setState(node, DeviceNodeState::DriverFailed,
             fmt::format("its bus driver answered IRP_MN_QUERY_ID(DeviceID) with {}", statusName(deviceId.status)));
    return false;
  }
  IdAnswer instanceId = queryId(pdo, BusQueryInstanceID);
  IdAnswer hardwareIds = queryId(pdo, BusQueryHardwareIDs);
  IdAnswer compatibleIds = queryId(pdo, BusQueryCompatibleIDs);
  auto description = queryDeviceText(pdo, DeviceTextDescription);
  auto location = queryDeviceText(pdo, DeviceTextLocationInformation);
  DEVICE_CAPABILITIES capabilities;
  NTSTATUS capsStatus = queryCapabilities(pdo, capabilities);
  auto busInformation = queryBusInformation(pdo);

  std::string instance = NT_SUCCESS(instanceId.status) && !instanceId.strings.empty() && !instanceId.strings.front().empty()
                             ? instanceId.strings.front()
                             : fmt::format("{}", node.parent->children.size() - 1);
  std::string path = deviceId.strings.front() + "\\" + instance;
  {
    std::lock_guard guard(nodeLock());
    // Instance IDs are unique per bus, not across buses: keep paths unique in the tree.
    for (int suffix = 2; findLocked(path) != nullptr; ++suffix) path = fmt::format("{}\\{}#{}", deviceId.strings.front(), instance, suffix);
    node.deviceId = deviceId.strings.front();
    node.instanceId = instance;
    node.instancePath = path;
    node.hardwareIds = hardwareIds.strings;
    node.compatibleIds = compatibleIds.strings;
    node.busDescription = description.value_or("");
    node.location = location.value_or("");
    if (NT_SUCCESS(capsStatus)) node.capabilities = capabilities;
    node.busInformation = busInformation;
  }
  deviceRuntime(pdo).traceName = path;
  tracePnp(path, fmt::format("enumerated: hardware IDs {}; compatible IDs {}", joinIds(node.hardwareIds),
                             joinIds(node.compatibleIds)));
  return true;
}

PDRIVER_OBJECT DriverRecord::driverObject() const { return builtin != nullptr ? builtin : loaded->driverObject(); }

void PnpManager::registerBuiltinDriver(const std::string& name, PDRIVER_OBJECT driver) {
  const ManifestDriver* entry = manifest_.driverByName(name);
  if (entry == nullptr || !entry->builtin)
    throw std::invalid_argument(fmt::format("registerBuiltinDriver: the manifest has no builtin driver \"{}\"", name));
  if (driver == nullptr) throw std::invalid_argument("registerBuiltinDriver: no driver object");
  runOnWorker([&] { builtinDrivers_[name] = driver; });
}

DriverRecord* PnpManager::loadDriver(DeviceNode& node, const ManifestDriver& entry) {
  if (auto it = drivers_.find(entry.name); it != drivers_.end()) return it->second.get();
  if (entry.builtin) {
    auto builtin = builtinDrivers_.find(entry.name);
    if (builtin == builtinDrivers_.end()) {
      std::string problem = fmt::format("builtin driver {} is not registered with the PnP manager", entry.name);
      log().error("{}: {}", node.instancePath, problem);
      setState(node, DeviceNodeState::DriverFailed, problem);
      return nullptr;
    }
    auto record = std::make_shared<DriverRecord>();
    record->name = entry.name;
    record->builtin = builtin->second;
    drivers_.emplace(entry.name, record);
    return record.get();
  }
  try {
    auto record = std::make_shared<DriverRecord>();
    record->name = entry.name;
    record->loaded = LoadedDriver::load(entry.name, entry.path);
    drivers_.emplace(entry.name, record);
    notify({PnpEventKind::DriverLoaded, entry.name, STATUS_SUCCESS, entry.path.string()});
    return record.get();
  } catch (const DriverLoadError& error) {
    log().error("{}", error.what());
    setState(node, DeviceNodeState::DriverFailed, error.what());
    return nullptr;
  }
}

bool PnpManager::addDrivers(DeviceNode& node) {
  auto match = manifest_.findDriver(node.hardwareIds, node.compatibleIds);
  if (!match) {
    log().warn("{}: no driver in the manifest serves hardware IDs {} or compatible IDs {}", node.instancePath,
               joinIds(node.hardwareIds), joinIds(node.compatibleIds));
    setState(node, DeviceNodeState::NoDriver,
             fmt::format("no driver in the manifest serves {}", joinIds(node.hardwareIds)));
    return false;
  }
  {
    std::lock_guard guard(nodeLock());
    node.driverName = match->driver->name;
    node.manifestDescription = match->driver->description;
  }
  tracePnp(node.instancePath, fmt::format("driver {} matches {} ID {}", match->driver->name,
                                          match->viaCompatibleId ? "compatible" : "hardware", match->matchedId));
  DriverRecord* record = loadDriver(node, *match->driver);
  if (record == nullptr) return false;

  PDRIVER_OBJECT driver = record->driverObject();
  PDRIVER_ADD_DEVICE addDevice = driver->DriverExtension->AddDevice;
  if (addDevice == nullptr) {
    setState(node, DeviceNodeState::DriverFailed,
             fmt::format("driver {} has no AddDevice routine (DriverObject->DriverExtension->AddDevice)",
                         record->name));
    return false;
  }

  // IRQL: PASSIVE_LEVEL, on the PnP worker thread, as Windows calls it.
  NTSTATUS status = addDevice(driver, node.pdo);
  tracePnp(node.instancePath, fmt::format("{} AddDevice -> {}", record->name, statusName(status)));
  if (!NT_SUCCESS(status)) {
    setState(node, DeviceNodeState::DriverFailed,
             fmt::format("{}'s AddDevice failed with {}", record->name, statusName(status)));
    return false;
  }
  ++record->devices;
  {
    std::lock_guard guard(nodeLock());
    node.driver = drivers_.at(record->name);
  }

  // The new device objects: name them for traces, and catch a forgotten
  // DO_DEVICE_INITIALIZING (nothing could open the device on Windows).
  PDEVICE_OBJECT top = IoGetAttachedDeviceReference(node.pdo);
  if (top == node.pdo) {
    log().warn("{}: {}'s AddDevice succeeded but attached no device object to the PDO", node.instancePath,
               record->name);
  }
  for (PDEVICE_OBJECT device = top; device != nullptr && device != node.pdo; device = lowerDevice(device)) {
    deviceRuntime(device).traceName = node.instancePath;
    if (device->Flags & DO_DEVICE_INITIALIZING) {
      log().warn("{}: {} left DO_DEVICE_INITIALIZING set on its device object after AddDevice; "
                 "clear it (DeviceObject->Flags &= ~DO_DEVICE_INITIALIZING) before returning",
                 node.instancePath, record->name);
      tracePnp(node.instancePath, "AddDevice left DO_DEVICE_INITIALIZING set");
      device->Flags &= ~DO_DEVICE_INITIALIZING;
    }
  }
  ObDereferenceObject(top);
  setState(node, DeviceNodeState::DriversAdded);
  return true;
}

void PnpManager::startStack(DeviceNode& node) {
  // Capabilities again, now that the function driver is there to amend them.
  DEVICE_CAPABILITIES capabilities;
  if (NT_SUCCESS(queryCapabilities(node.pdo, capabilities))) {
    std::lock_guard guard(nodeLock());
    node.capabilities = capabilities;
  }

  NTSTATUS status = sendSimplePnpIrp(node.pdo, IRP_MN_START_DEVICE);
  if (!NT_SUCCESS(status)) {
    std::string problem = fmt::format("IRP_MN_START_DEVICE failed with {}", statusName(status));
    log().error("{}: {}", node.instancePath, problem);
    // As Windows does after a failed start: remove the stack, so the drivers undo AddDevice.
    removeStack(node);
    setState(node, DeviceNodeState::StartFailed, problem);
    notify({PnpEventKind::DeviceStartFailed, node.instancePath, status, problem});
    return;
  }
  setState(node, DeviceNodeState::Started);
  log().info("started {} ({}, driver {})", node.instancePath, node.description(), node.driverName);

  if (auto state = queryPnpDeviceState(node.pdo); state && (*state & (PNP_DEVICE_FAILED | PNP_DEVICE_REMOVED))) {
    log().warn("{}: its drivers report PNP_DEVICE_STATE {:#x} right after start", node.instancePath, *state);
  }
  notify({PnpEventKind::DeviceStarted, node.instancePath, STATUS_SUCCESS, node.driverName});
}

void PnpManager::bringUp(DeviceNode& node) {
  if (!readIds(node)) return;
  if (!addDrivers(node)) return;
  startStack(node);
  if (node.state == DeviceNodeState::Started) enumerateChildren(node);
}

void PnpManager::enumerateChildren(DeviceNode& node) {
  RelationsAnswer answer = queryBusRelations(node.pdo);
  if (!NT_SUCCESS(answer.status)) {
    // Not a bus (nobody answered), or a bus that failed: its children stay as they are.
    if (answer.status != STATUS_NOT_SUPPORTED) {
      log().warn("{}: BusRelations query failed with {}", node.instancePath, statusName(answer.status));
    }
    return;
  }

  std::vector<std::shared_ptr<DeviceNode>> added;
  for (PDEVICE_OBJECT pdo : answer.devices) {
    auto known = std::find_if(node.children.begin(), node.children.end(),
                              [pdo](const auto& child) { return child->pdo == pdo; });
    if (known != node.children.end()) {
      // Already a devnode: it holds its reference; drop the one taken for this answer.
      ObDereferenceObject(pdo);
      continue;
    }
    pdo->Flags |= DO_BUS_ENUMERATED_DEVICE;
    added.push_back(createNode(node, pdo));
  }

  // Children the bus no longer reports are gone: surprise removal for what was started,
  // then, as a separate IRP, removal -- I/O may still be in flight between the two.
  std::vector<std::shared_ptr<DeviceNode>> missing;
  for (auto& child : node.children) {
    bool reported = std::find(answer.devices.begin(), answer.devices.end(), child->pdo) != answer.devices.end();
    if (!reported && child->present) missing.push_back(child);
  }
  for (auto& child : missing) {
    {
      std::lock_guard guard(nodeLock());
      child->present = false;
    }
    log().info("{} is gone from its bus", child->instancePath);
    tracePnp(child->instancePath, "missing from BusRelations: surprise removal, then removal");
    surpriseRemoveTree(*child);
    removeTree(*child, "removed from its bus");
    releaseNode(*child);
  }

  for (auto& child : added) bringUp(*child);
}

void PnpManager::surpriseRemoveTree(DeviceNode& node) {
  std::vector<DeviceNode*> order;
  collectPostOrder(node, order);
  std::vector<DeviceNode*> surprised;
  for (DeviceNode* device : order) {
    if (device->state != DeviceNodeState::Started) continue;
    NTSTATUS status = sendSimplePnpIrp(device->pdo, IRP_MN_SURPRISE_REMOVAL);
    if (!NT_SUCCESS(status)) {
      log().warn("{}: a driver failed IRP_MN_SURPRISE_REMOVAL with {} (drivers must succeed it)",
                 device->instancePath, statusName(status));
    }
    setState(*device, DeviceNodeState::SurpriseRemoved);
    surprised.push_back(device);
  }
  for (DeviceNode* device : surprised) {
    notify({PnpEventKind::SurpriseRemoved, device->instancePath, STATUS_SUCCESS, device->driverName});
  }
}

void PnpManager::removeStack(DeviceNode& node) {
  NTSTATUS status = sendSimplePnpIrp(node.pdo, IRP_MN_REMOVE_DEVICE);
  if (!NT_SUCCESS(status)) {
    log().warn("{}: a driver failed IRP_MN_REMOVE_DEVICE with {} (drivers must succeed it)", node.instancePath,
               statusName(status));
  }

  // Every driver above the bus driver must have detached and deleted its device object.
  PDEVICE_OBJECT top = IoGetAttachedDeviceReference(node.pdo);
  if (top != node.pdo) {
    std::string left = describeDevice(top);
    reportViolation({"pnp.remove-left-device", bugcheck::DriverVerifierDetectedViolation,
                     reinterpret_cast<std::uintptr_t>(top), reinterpret_cast<std::uintptr_t>(node.pdo)},
                    top->DriverObject != nullptr ? reinterpret_cast<const void*>(top->DriverObject->MajorFunction[IRP_MJ_PNP])
                                                 : nullptr,
                    fmt::format("after IRP_MN_REMOVE_DEVICE, {} is still attached above {}: a driver must "
                                "IoDetachDevice and IoDeleteDevice its device object when it handles the remove IRP",
                                left, node.instancePath));
  }
  ObDereferenceObject(top);

  std::shared_ptr<DriverRecord> driver;
  {
    std::lock_guard guard(nodeLock());
    driver = std::move(node.driver);
    node.driver.reset();
  }
  if (driver && driver->devices > 0) --driver->devices;
}

void PnpManager::removeTree(DeviceNode& node, const char* why) {
  std::vector<DeviceNode*> order;
  collectPostOrder(node, order);
  for (DeviceNode* device : order) {
    if (device->pdo == nullptr) continue;
    bool hadDrivers = device->hasDrivers();
    removeStack(*device);
    if (device->state != DeviceNodeState::StartFailed) setState(*device, DeviceNodeState::Removed, why);
    if (hadDrivers) notify({PnpEventKind::DeviceRemoved, device->instancePath, STATUS_SUCCESS, why});
  }
}

void PnpManager::releaseChildren(DeviceNode& node) {
  // The bus driver deleted its children's PDOs when it handled its own remove IRP.
  auto children = node.children;
  for (auto& child : children) releaseNode(*child);
}

void PnpManager::releaseNode(DeviceNode& node) {
  releaseChildren(node);
  if (node.pdo != nullptr) {
    PDEVICE_OBJECT pdo = node.pdo;
    {
      std::lock_guard guard(nodeLock());
      deviceRuntime(pdo).pnpNode = nullptr;
      node.pdo = nullptr;
    }
    ObDereferenceObject(pdo);
  }
  detachFromParent(node);
}

void PnpManager::detachFromParent(DeviceNode& node) {
  if (node.parent == nullptr) return;
  std::lock_guard guard(nodeLock());
  std::erase_if(node.parent->children, [&node](const auto& child) { return child.get() == &node; });
}

void PnpManager::unloadUnusedDrivers() {
  for (auto it = drivers_.begin(); it != drivers_.end();) {
    if (it->second->devices != 0) {
      ++it;
      continue;
    }
    if (it->second->builtin != nullptr) {  // the host owns it; nothing to unload
      it = drivers_.erase(it);
      continue;
    }
    LeakReport report = it->second->loaded->unload();
    if (!it->second->loaded->loaded()) {
      notify({PnpEventKind::DriverUnloaded, it->first, STATUS_SUCCESS, report.format()});
      {
        std::lock_guard guard(reportsLock_);
        leakReports_.push_back(std::move(report));
      }
      it = drivers_.erase(it);
    } else {
      ++it;  // refused (devices left): reported already
    }
  }
}

// ---- public operations ------------------------------------------------------------------

std::string PnpManager::addRootDevice(const ManifestDevice& device) {
  if (device.hardwareIds.empty()) throw std::invalid_argument("addRootDevice: a device needs a hardware ID");
  std::string path;
  runOnWorker([&] {
    if (shutDown_) throw std::logic_error("addRootDevice: the PnP manager is shut down");
    PDEVICE_OBJECT pdo = rootEnumerator_->createDevice(device);
    ObReferenceObject(pdo);  // the PnP manager's reference, as a bus's relations give it
    auto node = createNode(*root_, pdo);
    bringUp(*node);
    path = node->instancePath;
    unloadUnusedDrivers();
  });
  return path;
}

std::vector<std::string> PnpManager::addRootDevicesFromManifest() {
  std::vector<std::string> paths;
  for (const auto& device : manifest_.rootDevices()) paths.push_back(addRootDevice(device));
  return paths;
}

void PnpManager::invalidateDeviceRelations(std::shared_ptr<DeviceNode> node) {
  post([this, weak = std::weak_ptr<DeviceNode>(node)] {
    auto target = weak.lock();
    if (!target || target->pdo == nullptr || target->state != DeviceNodeState::Started) return;
    tracePnp(target->instancePath, "IoInvalidateDeviceRelations(BusRelations): re-enumerating");
    enumerateChildren(*target);
    unloadUnusedDrivers();
  });
}

void PnpManager::invalidateDeviceState(std::shared_ptr<DeviceNode> node) {
  post([this, weak = std::weak_ptr<DeviceNode>(node)] {
    auto target = weak.lock();
    if (!target || target->pdo == nullptr || target->state != DeviceNodeState::Started) return;
    auto state = queryPnpDeviceState(target->pdo);
    if (!state || !(*state & (PNP_DEVICE_FAILED | PNP_DEVICE_REMOVED))) return;
    std::string why = (*state & PNP_DEVICE_REMOVED) ? "its drivers report PNP_DEVICE_REMOVED"
                                                    : "its drivers report PNP_DEVICE_FAILED";
    log().warn("{}: {}: removing its drivers", target->instancePath, why);
    surpriseRemoveTree(*target);
    removeTree(*target, why.c_str());
    releaseChildren(*target);
    unloadUnusedDrivers();
  });
}

RemoveResult PnpManager::requestRemove(std::string_view instancePath) {
  RemoveResult result;
  runOnWorker([&] {
    DeviceNode* node;
    {
      std::lock_guard guard(nodeLock());
      node = findLocked(instancePath);
    }
    if (node == nullptr) throw std::invalid_argument(fmt::format("requestRemove: no device {}", instancePath));

    std::vector<DeviceNode*> order;
    collectPostOrder(*node, order);
    std::vector<DeviceNode*> queried;
    for (DeviceNode* device : order) {
      if (device->state == DeviceNodeState::Removed || device->state == DeviceNodeState::StartFailed) continue;
      NTSTATUS status = sendSimplePnpIrp(device->pdo, IRP_MN_QUERY_REMOVE_DEVICE);
      if (!NT_SUCCESS(status)) {
        // Veto: everyone asked so far, the refusing stack included, goes back to started.
        queried.push_back(device);
        for (DeviceNode* asked : queried) sendSimplePnpIrp(asked->pdo, IRP_MN_CANCEL_REMOVE_DEVICE);
        result.vetoedBy = device->instancePath;
        result.status = status;
        log().info("removal of {} vetoed by {} ({})", node->instancePath, device->instancePath, statusName(status));
        notify({PnpEventKind::RemoveVetoed, device->instancePath, status, node->instancePath});
        return;
      }
      queried.push_back(device);
    }
    removeTree(*node, "removed on request");
    releaseChildren(*node);
    unloadUnusedDrivers();
    result.removed = true;
  });
  return result;
}

NTSTATUS PnpManager::setDevicePower(std::string_view instancePath, DEVICE_POWER_STATE state) {
  NTSTATUS status = STATUS_NO_SUCH_DEVICE;
  runOnWorker([&] {
    DeviceNode* node;
    {
      std::lock_guard guard(nodeLock());
      node = findLocked(instancePath);
    }
    if (node == nullptr) throw std::invalid_argument(fmt::format("setDevicePower: no device {}", instancePath));
    if (node->state != DeviceNodeState::Started) {
      status = STATUS_INVALID_DEVICE_STATE;
      return;
    }
    POWER_STATE power;
    power.DeviceState = state;
    status = sendPowerIrp(node->pdo, IRP_MN_SET_POWER, DevicePowerState, power);
    notify({PnpEventKind::PowerChanged, node->instancePath, status,
            fmt::format("D{}", static_cast<int>(state) - 1)});
  });
  return status;
}

NTSTATUS PnpManager::setSystemPower(SYSTEM_POWER_STATE state) {
  NTSTATUS result = STATUS_SUCCESS;
  runOnWorker([&] {
    std::vector<DeviceNode*> order;
    for (auto& child : root_->children) collectPostOrder(*child, order);
    // Children sleep before their parents; parents wake before their children.
    if (state == PowerSystemWorking) std::reverse(order.begin(), order.end());
    std::erase_if(order, [](DeviceNode* n) { return n->state != DeviceNodeState::Started; });

    POWER_STATE power;
    power.SystemState = state;
    if (state != PowerSystemWorking) {
      for (DeviceNode* node : order) {
        NTSTATUS status = sendPowerIrp(node->pdo, IRP_MN_QUERY_POWER, SystemPowerState, power);
        if (!NT_SUCCESS(status) && status != STATUS_NOT_SUPPORTED) {
          log().info("sleep refused by {} ({})", node->instancePath, statusName(status));
          result = status;
          return;
        }
      }
    }
    for (DeviceNode* node : order) {
      NTSTATUS status = sendPowerIrp(node->pdo, IRP_MN_SET_POWER, SystemPowerState, power);
      if (!NT_SUCCESS(status) && NT_SUCCESS(result)) result = status;
      notify({PnpEventKind::PowerChanged, node->instancePath, status,
              fmt::format("S{}", static_cast<int>(state) - 1)});
    }
    std::lock_guard guard(nodeLock());
    systemPowerState_ = state;
  });
  return result;
}

SYSTEM_POWER_STATE PnpManager::systemPowerState() const {
  std::lock_guard guard(nodeLock());
  return systemPowerState_;
}

std::vector<LeakReport> PnpManager::shutdownOnWorker() {
  auto roots = root_->children;
  for (auto it = roots.rbegin(); it != roots.rend(); ++it) {
    DeviceNode& device = **it;
    removeTree(device, "shutdown");
    releaseChildren(device);
    PDEVICE_OBJECT pdo = device.pdo;
    rootEnumerator_->deleteDevice(pdo);
    releaseNode(device);
  }
  unloadUnusedDrivers();
  for (auto& [name, record] : drivers_) {
    log().error("driver {} still serves {} device(s) at shutdown", name, record->devices);
  }
  rootEnumerator_.reset();
  return leakReports();
}

std::vector<LeakReport> PnpManager::shutdown() {
  if (shutDown_) return leakReports();
  std::vector<LeakReport> reports;
  runOnWorker([&] { reports = shutdownOnWorker(); });
  shutDown_ = true;
  return reports;
}

std::vector<LeakReport> PnpManager::leakReports() const {
  std::lock_guard guard(reportsLock_);
  return leakReports_;
}

// ---- listings ----------------------------------------------------------------------------

void PnpManager::snapshotLocked(const DeviceNode& node, unsigned depth, std::vector<DeviceInfo>& out) const {
  DeviceInfo info;
  info.instancePath = node.instancePath;
  info.parentInstancePath = node.parent == root_.get() ? "" : node.parent->instancePath;
  info.depth = depth;
  info.deviceId = node.deviceId;
  info.instanceId = node.instanceId;
  info.hardwareIds = node.hardwareIds;
  info.compatibleIds = node.compatibleIds;
  info.description = node.description();
  info.location = node.location;
  info.driver = node.driverName;
  info.state = node.state;
  info.problem = node.problem;
  info.present = node.present;
  info.powerState = node.pdo != nullptr ? recordedPowerState(node.pdo) : PowerDeviceUnspecified;
  if (node.pdo != nullptr) {
    PDEVICE_OBJECT top = IoGetAttachedDeviceReference(node.pdo);
    for (PDEVICE_OBJECT device = top; device != nullptr; device = lowerDevice(device)) {
      info.stack.push_back(fmt::format("{} {}", device == node.pdo ? "PDO" : device == top ? "FDO" : "filter",
                                       driverServiceName(device->DriverObject)));
      if (device == node.pdo) break;
    }
    ObDereferenceObject(top);
  }
  out.push_back(std::move(info));
  for (const auto& child : node.children) snapshotLocked(*child, depth + 1, out);
}

std::vector<DeviceInfo> PnpManager::devices() const {
  std::vector<DeviceInfo> out;
  std::lock_guard guard(nodeLock());
  for (const auto& child : root_->children) snapshotLocked(*child, 0, out);
  return out;
}

std::optional<DeviceInfo> PnpManager::device(std::string_view instancePath) const {
  for (auto& info : devices()) {
    if (deviceIdEquals(info.instancePath, instancePath)) return info;
  }
  return std::nullopt;
}

PDEVICE_OBJECT PnpManager::referenceTopOfStack(std::string_view instancePath) const {
  PDEVICE_OBJECT pdo = nullptr;
  {
    std::lock_guard guard(nodeLock());
    DeviceNode* node = findLocked(instancePath);
    if (node == nullptr || node->pdo == nullptr) return nullptr;
    pdo = node->pdo;
    ObReferenceObject(pdo);  // keeps it while we walk up
  }
  PDEVICE_OBJECT top = IoGetAttachedDeviceReference(pdo);
  ObDereferenceObject(pdo);
  return top;
}

std::string PnpManager::formatTree() const {
  auto list = devices();
  std::string text = "HTREE\\ROOT\\0\n";
  for (std::size_t i = 0; i < list.size(); ++i) {
    const auto& d = list[i];
    // A sibling follows at the same depth before any shallower entry: draw "|-", else "`-".
    bool lastSibling = true;
    for (std::size_t j = i + 1; j < list.size() && list[j].depth >= d.depth; ++j) {
      if (list[j].depth == d.depth) {
        lastSibling = false;
        break;
      }
    }
    std::string indent;
    for (unsigned level = 0; level < d.depth; ++level) indent += "   ";
    std::string power = d.powerState == PowerDeviceUnspecified ? "" : fmt::format(", D{}", static_cast<int>(d.powerState) - 1);
    text += fmt::format("{}{}- {}  \"{}\"  [{}{}]{}{}\n", indent, lastSibling ? "`" : "|", d.instancePath,
                        d.description, toString(d.state), power, d.driver.empty() ? "" : "  driver " + d.driver,
                        d.problem.empty() ? "" : "  (" + d.problem + ")");
    if (!d.stack.empty()) text += fmt::format("{}     stack: {}\n", indent, fmt::join(d.stack, " -> "));
  }
  return text;
}

}  // namespace ndishost::nt::pnp
