#include "host/runtime/host_runtime.hpp"

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstring>
#include <map>
#include <optional>
#include <set>
#include <thread>

#include <fmt/format.h>

#include "link/frame_port_factory.hpp"
#include "link/pcap_writer.hpp"
#include "ndis/miniport/adapter.hpp"
#include "ndis/protocol/protocol_helpers.hpp"
#include "ndis/traffic/adapter_traffic.hpp"
#include "nt/ke/runtime.hpp"
#include "nt/pnp/manifest.hpp"
#include "nt/pnp/pnp_manager.hpp"
#include "nt/support/log.hpp"
#include "nt/support/trace.hpp"
#include "nt/support/violation.hpp"
#include "usb/bus/usb_bus.hpp"
#include "usb/device/cdc_ecm_function.hpp"
#include "usb/device/cdc_ncm_function.hpp"
#include "usb/device/emulated_device.hpp"
#include "usb/device/rndis_function.hpp"

#if NDISHOST_HAVE_TAP_PROTOCOL
#include "host/binding/tap_protocol.hpp"
#endif

namespace ndishost::host {

bool tapBindingAvailable() { return NDISHOST_HAVE_TAP_PROTOCOL != 0; }

namespace {

using config::DeviceConfig;
using config::DeviceKind;
using ndis::Adapter;
using ndis::AdapterState;

constexpr char kHubDriver[] = "usbhub";
constexpr char kHubId[] = "ROOT\\USB";
// pid.codes test VID/PID; each device gets its own serial number, hence instance path.
constexpr std::uint16_t kVendorId = 0x1209;
constexpr std::uint16_t kProductId = 0x0A01;

std::string serialFor(std::size_t index) { return fmt::format("NDH{:04}", index + 1); }

std::string instancePathFor(std::size_t index) {
  return fmt::format("USB\\VID_{:04X}&PID_{:04X}\\{}", kVendorId, kProductId, serialFor(index));
}

std::string upper(std::string text) {
  for (char& c : text) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return text;
}

// The function's compatible ID the default manifest serves it by (drivers/usbnic/usbnic.toml).
std::string compatibleIdOf(DeviceKind kind) {
  return kind == DeviceKind::Rndis ? "USB\\Class_E0&SubClass_01&Prot_03" : "USB\\Class_02&SubClass_00&Prot_00";
}

std::uint64_t nowMs() {
  return static_cast<std::uint64_t>(
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch()).count());
}

nlohmann::json eventJson(const nt::TraceEvent& event, const std::string& device) {
  nlohmann::json j{{"time_ms", nowMs()},
                   {"uptime_us", event.interruptTime100ns / 10},
                   {"category", nt::toString(event.category)},
                   {"source", event.source},
                   {"text", event.text}};
  if (!device.empty()) j["device"] = device;
  return j;
}

}  // namespace

// One configured device: its far side, the emulated USB device on it, and where it sits.
struct DeviceSlot {
  std::size_t index = 0;
  const DeviceConfig* config = nullptr;
  std::string instancePath;
  std::unique_ptr<link::FramePort> farSide;
  std::shared_ptr<usb::device::EmulatedUsbDevice> device;  // null while unplugged
  usb::device::EthernetFunction* function = nullptr;        // of `device`
  unsigned port = 0;                                        // 0 while unplugged
  bool suspended = false;
  bool linkDown = false;  // `ndishost link <device> down`: the cable stays out across a re-plug
  std::string bindName;  // NDIS_BIND_PARAMETERS.AdapterName the TAP binding saw last
  std::shared_ptr<link::PcapWriter> lowerCapture;  // this device's URBs only; null: none
};

struct HostRuntime::Impl {
  HostRuntime& owner;
  std::unique_ptr<nt::Runtime> kernel;
  std::unique_ptr<nt::pnp::PnpManager> pnp;
  std::unique_ptr<usb::bus::UsbBus> bus;
  std::vector<std::unique_ptr<DeviceSlot>> slots;
  std::unique_ptr<nt::pnp::PnpManager::Subscription> pnpListener;
#if NDISHOST_HAVE_TAP_PROTOCOL
  std::unique_ptr<TapProtocol> taps;
#endif
  bool recordViolations = false;
  std::optional<nt::RecordViolationsScope> violationRecording;  // restores the mode in stop()
  std::optional<nt::ViolationPolicyScope> violationPolicy;       // [verification] enabled, disable
  // [capture] snaplen for the captures the TAP binding opens by file name (upper edge).
  mutable std::mutex namesLock;                   // trace sinks run on any thread
  std::map<std::string, std::string> sourceNames;  // adapter name / instance path -> device

  // Serialises the control operations that change the stack (unplug, plug, power, stop).
  std::mutex operationLock;
  // Guards `slots` contents and `stopped`; the PnP listener takes it before an adapter is
  // freed (surprise removal), so a holder may use an Adapter it looked up.
  mutable std::mutex stateLock;
  bool stopped = false;
  DeviceSlot* attaching = nullptr;  // the slot plugLocked() is attaching
  std::optional<ShutdownResult> result;

  explicit Impl(HostRuntime& o) : owner(o) {}

  void progress(const std::string& text) const {
    if (owner.options_.progress) owner.options_.progress(text);
  }

  DeviceSlot& slot(const std::string& name) {
    for (auto& s : slots)
      if (s->config->name == name) return *s;
    std::string known;
    for (auto& s : slots) known += (known.empty() ? "" : ", ") + s->config->name;
    throw ControlError(fmt::format("no device named '{}' (devices: {})", name, known));
  }

  // The adapter NDIS made for the slot's device, or null. Call under stateLock.
  Adapter* adapterLocked(const DeviceSlot& s) const {
    if (stopped || s.port == 0 || !bus) return nullptr;
    PDEVICE_OBJECT pdo = bus->devicePdo(s.port);
    if (pdo == nullptr) return nullptr;
    for (const auto& info : ndis::adapters())
      if (info.pdo == pdo && !info.surpriseRemoved) return Adapter::fromHandle(info.handle);
    return nullptr;
  }

  // The slot whose device `pdo` is. A device being plugged has no port number yet while
  // the PnP worker already builds its stack (AddDevice runs before attach() returns): an
  // unknown PDO then belongs to it (plugs are serialised by operationLock).
  DeviceSlot* slotOfPdo(PDEVICE_OBJECT pdo) {
    std::lock_guard guard(stateLock);
    if (pdo == nullptr || !bus || stopped) return nullptr;
    for (auto& s : slots)
      if (s->port != 0 && bus->devicePdo(s->port) == pdo) return s.get();
    return attaching;
  }

  nt::pnp::Manifest buildManifest() const {
    std::filesystem::path manifestPath = owner.options_.defaultManifest;
#ifdef NDISHOST_USBNIC_MANIFEST
    if (manifestPath.empty()) manifestPath = NDISHOST_USBNIC_MANIFEST;
#endif
    std::vector<nt::pnp::ManifestDriver> defaults;
    if (!manifestPath.empty()) {
      if (!std::filesystem::exists(manifestPath))
        throw StartupError(fmt::format("the miniport manifest {} does not exist (build the drivers, or give one)",
                                       manifestPath.string()));
      defaults = nt::pnp::Manifest::load(manifestPath).drivers();
    }
    // The config's drivers win: an entry of the same name, or serving one of the same IDs,
    // is dropped. A driver with no IDs (quick form --driver) serves the configured kinds.
    std::vector<nt::pnp::ManifestDriver> chosen;
    for (const auto& d : owner.config_.drivers) {
      nt::pnp::ManifestDriver entry;
      entry.name = d.name;
      entry.path = std::filesystem::absolute(d.path);
      entry.description = "from " + d.where.text();
      entry.ids = d.hardwareIds;
      entry.ids.insert(entry.ids.end(), d.compatibleIds.begin(), d.compatibleIds.end());
      if (entry.ids.empty()) {
        for (const auto& device : owner.config_.devices) {
          const std::string id = compatibleIdOf(device.kind);
          if (std::find(entry.ids.begin(), entry.ids.end(), id) == entry.ids.end()) entry.ids.push_back(id);
        }
      }
      if (!std::filesystem::exists(entry.path))
        throw StartupError(fmt::format("{}: driver {}: {} does not exist", d.where.text(), d.name, entry.path.string()));
      chosen.push_back(std::move(entry));
    }
    std::set<std::string> overridden;
    for (const auto& c : chosen) {
      overridden.insert(upper(c.name));
      for (const auto& id : c.ids) overridden.insert(upper(id));
    }
    for (const auto& d : defaults) {
      bool replaced = overridden.count(upper(d.name)) != 0;
      for (const auto& id : d.ids) replaced = replaced || overridden.count(upper(id)) != 0;
      if (!replaced) chosen.push_back(d);
    }
    nt::pnp::Manifest manifest;
    for (auto& d : chosen) manifest.addDriver(std::move(d));
    nt::pnp::ManifestDriver hub;
    hub.name = kHubDriver;
    hub.builtin = true;
    hub.ids = {kHubId};
    hub.description = "ndishost USB bus driver (host controller and root hub)";
    manifest.addDriver(hub);
    return manifest;
  }

  void makeDevice(DeviceSlot& s) {
    const DeviceConfig& c = *s.config;
    usb::device::EthernetFunctionConfig ethernet;
    std::copy(c.mac.begin(), c.mac.end(), ethernet.macAddress.bytes.begin());
    ethernet.linkSpeedBps = c.speedBitsPerSecond;
    ethernet.maxFrameSize = c.maxSegmentSize;  // wMaxSegmentSize / RNDIS OID_GEN_MAXIMUM_FRAME_SIZE
    ethernet.linkUp = !s.linkDown;
    std::unique_ptr<usb::device::UsbFunction> function;
    switch (c.kind) {
      case DeviceKind::Ncm: {
        usb::device::CdcNcmConfig ncm;
        ncm.ethernet = ethernet;
        ncm.ntbInMaxSize = c.maxTransferIn;
        ncm.ntbOutMaxSize = c.maxTransferOut;
        function = std::make_unique<usb::device::CdcNcmFunction>(ncm, *s.farSide);
        break;
      }
      case DeviceKind::Ecm: {
        usb::device::CdcEcmConfig ecm;
        ecm.ethernet = ethernet;
        function = std::make_unique<usb::device::CdcEcmFunction>(ecm, *s.farSide);
        break;
      }
      case DeviceKind::Rndis: {
        usb::device::RndisConfig rndis;
        rndis.ethernet = ethernet;
        rndis.maxTransferSize = c.maxTransferOut;
        rndis.maxInTransferSize = c.maxTransferIn;
        function = std::make_unique<usb::device::RndisFunction>(rndis, *s.farSide);
        break;
      }
    }
    usb::device::DeviceIdentity identity;
    identity.vendorId = kVendorId;
    identity.productId = kProductId;
    identity.serialNumber = serialFor(s.index);
    identity.product = fmt::format("ndishost emulated {} adapter ({})", config::deviceKindName(c.kind), c.name);
    auto* ethernetFunction = static_cast<usb::device::EthernetFunction*>(function.get());
    const auto speed = c.speedBitsPerSecond > 480'000'000 ? usb::device::Speed::Super : usb::device::Speed::High;
    auto device = std::make_shared<usb::device::EmulatedUsbDevice>(identity, speed, std::move(function));
    std::lock_guard guard(stateLock);
    s.function = ethernetFunction;
    s.device = std::move(device);
  }

  void plugLocked(DeviceSlot& s) {
    makeDevice(s);
    {
      std::lock_guard guard(stateLock);
      attaching = &s;
    }
    unsigned port = 0;
    try {
      port = bus->attach(s.device, s.lowerCapture);
    } catch (...) {
      std::lock_guard guard(stateLock);
      attaching = nullptr;
      throw;
    }
    {
      std::lock_guard guard(stateLock);
      s.port = port;
      attaching = nullptr;
    }
    pnp->waitForIdle();
    std::string adapterName;
    {
      std::lock_guard guard(stateLock);
      if (Adapter* adapter = adapterLocked(s); adapter != nullptr) {
        applyTimeouts(*adapter);
        adapterName = adapter->describe();
      }
    }
    rememberNames(s, adapterName);
  }

  // Registry keywords of the adapter's device into its NDIS configuration (AddDevice time).
  void provideConfiguration(const ndis::AdapterConfigurationRequest& request, ndis::ConfigurationStore& store) {
    DeviceSlot* s = slotOfPdo(request.pdo);
    if (s == nullptr) return;
    for (const auto& value : s->config->registry) {
      const std::u16string keyword = ndis::ConfigurationStore::widen(value.keyword);
      if (const auto* number = std::get_if<std::uint32_t>(&value.value)) {
        store.setInteger(keyword, *number);
      } else if (const auto* text = std::get_if<std::string>(&value.value)) {
        store.setString(keyword, ndis::ConfigurationStore::widen(*text));
      } else {
        store.setBinary(keyword, std::get<std::vector<std::uint8_t>>(value.value));
      }
    }
  }

  // The NDIS time-outs of the config, as hang detection options, once the adapter runs:
  // OID and reset time-outs in check periods, the pause drain limit, and how long a halt
  // may take before it is reported (NDIS keeps waiting, as Windows does).
  void applyTimeouts(Adapter& adapter) {
    const auto& t = owner.config_.timeouts;
    ndis::HangDetectionOptions options;
    const auto period = std::max<std::int64_t>(1, t.checkForHangInterval.count());
    options.periodOverrideMs = static_cast<std::uint32_t>(period);
    options.oidChecks = static_cast<std::uint32_t>(std::max<std::int64_t>(1, (t.oidRequest.count() + period - 1) / period));
    options.slowOidChecks = std::max(options.slowOidChecks, options.oidChecks * 2);
    options.pauseDrainMs = static_cast<std::uint32_t>(t.pause.count());
    options.resetChecks = static_cast<std::uint32_t>(std::max<std::int64_t>(1, (t.reset.count() + period - 1) / period));
    options.haltReportMs = static_cast<std::uint32_t>(t.halt.count());
    adapter.traffic().setHangDetectionOptions(options);
  }

  void onPnpEvent(const nt::pnp::PnpEvent& event) {
    using nt::pnp::PnpEventKind;
    if (event.kind == PnpEventKind::SurpriseRemoved || event.kind == PnpEventKind::DeviceRemoved) {
      // Taking the lock waits for any control call using this device's adapter.
      std::lock_guard guard(stateLock);
    }
  }

  // The configured device an event is about (its source names the adapter or the device
  // node), or "".
  std::string deviceOfSource(const std::string& source) const {
    std::lock_guard guard(namesLock);
    for (const auto& [key, device] : sourceNames)
      if (source.find(key) != std::string::npos) return device;
    return "";
  }

  void rememberNames(const DeviceSlot& s, const std::string& adapterName) {
    std::lock_guard guard(namesLock);
    sourceNames[s.instancePath] = s.config->name;
    if (!adapterName.empty()) sourceNames[adapterName] = s.config->name;
  }

  void start() {
    const auto& cfg = owner.config_;
    const auto& verification = cfg.verification;
    if (kernel) throw std::logic_error("HostRuntime::start called twice");
    // Not fatal: a violation is reported, recorded and counted (exit status 3 at the end).
    recordViolations = !verification.fatal;
    if (recordViolations) violationRecording.emplace();
    try {
      violationPolicy.emplace(nt::ViolationPolicy{
          .enabled = verification.enabled,
          .disabledRules = {verification.disabledRules.begin(), verification.disabledRules.end()}});
    } catch (const std::invalid_argument& error) {
      throw StartupError(fmt::format("{}: [verification] disable: {}", cfg.source, error.what()));
    }

    kernel = std::make_unique<nt::Runtime>(nt::RuntimeOptions{.processors = owner.options_.processors});

    for (std::size_t i = 0; i < cfg.devices.size(); ++i) {
      auto s = std::make_unique<DeviceSlot>();
      s->index = i;
      s->config = &cfg.devices[i];
      s->instancePath = instancePathFor(i);
      rememberNames(*s, "");
      slots.push_back(std::move(s));
    }
    // Far sides before anything depends on them: a wrong interface name fails here, early.
    for (auto& s : slots) {
      try {
        s->farSide = link::makeFramePort(s->config->farSide);
      } catch (const std::exception& error) {
        throw StartupError(fmt::format("{}: device {}: far side: {}", s->config->where.text(), s->config->name,
                                       error.what()));
      }
    }

    pnp = std::make_unique<nt::pnp::PnpManager>(buildManifest());
    usb::bus::UsbBusOptions busOptions;
    // Each device's usbmon capture gets only its own URBs (the bus records them per port);
    // devices naming one file share its writer, with the first one's snaplen.
    std::map<std::filesystem::path, std::shared_ptr<link::PcapWriter>> lowerWriters;
    for (auto& s : slots) {
      const auto& capture = s->config->capture;
      if (capture.lowerEdge.empty()) continue;
      auto& writer = lowerWriters[capture.lowerEdge];
      if (!writer) {
        try {
          writer = link::PcapWriter::create(capture.lowerEdge, {link::PcapLinkType::UsbLinuxMmapped, capture.snapLength});
        } catch (const std::exception& error) {
          throw StartupError(fmt::format("{}: device {}: lower capture: {}", s->config->where.text(), s->config->name,
                                         error.what()));
        }
      }
      s->lowerCapture = writer;
    }
    bus = std::make_unique<usb::bus::UsbBus>(busOptions);
    pnp->registerBuiltinDriver(kHubDriver, bus->driverObject());
    ndis::setAdapterConfigurationProvider(
        [this](const ndis::AdapterConfigurationRequest& request, ndis::ConfigurationStore& store) {
          provideConfiguration(request, store);
        });
    pnpListener = pnp->subscribe([this](const nt::pnp::PnpEvent& event) { onPnpEvent(event); });
    pnp->addRootDevice(nt::pnp::ManifestDevice{{kHubId}, {}, "USB root hub"});

#if NDISHOST_HAVE_TAP_PROTOCOL
    if (owner.options_.bindTaps) {
      taps = TapProtocol::start(
          [this](const BindCandidate& candidate) -> std::optional<TapPlan> {
            DeviceSlot* s = slotOfPdo(candidate.physicalDeviceObject);
            if (s == nullptr) return std::nullopt;
            {
              std::lock_guard guard(stateLock);
              s->bindName = candidate.adapterName;
            }
            {
              std::lock_guard guard(namesLock);
              sourceNames[candidate.adapterName] = s->config->name;
            }
            TapPlan plan;
            plan.tapName = s->config->tap;
            if (!s->config->tapNamespace.empty()) {
              plan.netnsPath = s->config->tapNamespace.front() == '/' ? s->config->tapNamespace
                                                                      : "/run/netns/" + s->config->tapNamespace;
            }
            plan.upperCapture = s->config->capture.upperEdge.string();
            plan.upperCaptureSnapLength = s->config->capture.snapLength;
            return plan;
          },
          [this](const std::string& adapterName, const std::string& message) {
            progress(fmt::format("TAP binding of {}: {}", adapterName, message));
          });
    }
#else
    if (owner.options_.bindTaps)
      throw StartupError("this build has no TAP binding (src/host/binding TapProtocol); run without TAP interfaces");
#endif

    {
      std::lock_guard op(operationLock);
      for (auto& s : slots) {
        try {
          plugLocked(*s);
        } catch (const std::exception& error) {
          throw StartupError(fmt::format("device {}: plugging the emulated USB device: {}", s->config->name, error.what()));
        }
      }
    }
    for (auto& s : slots) {
      if (!owner.waitAdapterRunning(s->config->name, owner.options_.startTimeout)) {
        auto info = pnp->device(s->instancePath);
        std::string why = info ? fmt::format("device node {} ({}{}{})", nt::pnp::toString(info->state),
                                             info->driver.empty() ? "no driver" : "driver " + info->driver,
                                             info->problem.empty() ? "" : ", ", info->problem)
                               : "no device node";
        throw StartupError(fmt::format("device {}: the adapter did not reach Running within {} ms: {}",
                                       s->config->name, owner.options_.startTimeout.count(), why));
      }
      progress(fmt::format("{}: adapter Running ({} on {})", s->config->name, config::deviceKindName(s->config->kind),
                           s->config->farSide));
    }
#if NDISHOST_HAVE_TAP_PROTOCOL
    if (taps) {
      for (auto& s : slots) {
        std::string adapterName;
        {
          std::lock_guard guard(stateLock);
          adapterName = s->bindName;
        }
        if (adapterName.empty() || !taps->waitRunning(adapterName, owner.options_.startTimeout))
          throw StartupError(fmt::format("device {}: TAP {} did not come up (adapter {})", s->config->name,
                                         s->config->tap, adapterName));
        progress(fmt::format("{}: bound to TAP {}", s->config->name, s->config->tap));
      }
    }
#endif
  }

  ShutdownResult stop() {
    std::lock_guard op(operationLock);
    if (result) return *result;
    ShutdownResult out;
#if NDISHOST_HAVE_TAP_PROTOCOL
    taps.reset();  // unbinds: every NBL back to NDIS, TAPs closed
#endif
    std::vector<nt::pnp::LeakReport> reports;
    if (pnp) {
      reports = pnp->shutdown();  // pause, halt, remove, unload
      for (const auto& r : pnp->leakReports()) {
        const bool seen = std::any_of(reports.begin(), reports.end(), [&](const auto& x) { return x.driver == r.driver; });
        if (!seen) reports.push_back(r);
      }
    }
    {
      std::lock_guard guard(stateLock);
      stopped = true;
    }
    pnpListener.reset();
    ndis::setAdapterConfigurationProvider({});
    // Readers check `stopped` under stateLock first, so these go without it.
    bus.reset();
    for (auto& s : slots) {
      s->function = nullptr;
      s->device.reset();
      s->port = 0;
    }
    for (auto& s : slots) s->farSide.reset();
    // The bus is gone: closing the last holder completes the file.
    for (auto& s : slots) s->lowerCapture.reset();
    pnp.reset();
    kernel.reset();
    for (const auto& r : reports) {
      out.leakReports.push_back(r.format());
      // [verification] leak-check = false: reported, not counted as a failure.
      if (!r.empty() && owner.config_.verification.leakCheck) ++out.leakingDrivers;
    }
    if (violationRecording) {
      for (const auto& v : violationRecording->take()) {
        ++out.violations;
        out.violationTexts.push_back(fmt::format("{} ({}): {}", v.rule, v.driver, v.detail));
      }
      violationRecording.reset();
    }
    violationPolicy.reset();  // after unload: leaks and thread ends are reported under it
    result = out;
    return out;
  }
};

HostRuntime::HostRuntime(config::HostConfig config, HostRuntimeOptions options)
    : config_(std::move(config)), options_(std::move(options)), impl_(std::make_unique<Impl>(*this)) {
  config::validate(config_);
}

HostRuntime::~HostRuntime() {
  try {
    ShutdownResult r = stop();
    if (!r.clean())
      nt::logger("host").warn("ndishost stopped with {} leaking drivers, {} violations", r.leakingDrivers, r.violations);
  } catch (const std::exception& error) {
    nt::logger("host").error("stopping: {}", error.what());
  }
}

void HostRuntime::start() { impl_->start(); }
ShutdownResult HostRuntime::stop() { return impl_->stop(); }

bool HostRuntime::waitAdapterRunning(const std::string& device, std::chrono::milliseconds limit) {
  DeviceSlot& s = impl_->slot(device);
  const auto deadline = std::chrono::steady_clock::now() + limit;
  for (;;) {
    {
      std::lock_guard guard(impl_->stateLock);
      Adapter* a = impl_->adapterLocked(s);
      if (a != nullptr && a->state() == AdapterState::Running) return true;
    }
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
}

bool HostRuntime::waitTapRunning(const std::string& device, std::chrono::milliseconds limit) {
#if NDISHOST_HAVE_TAP_PROTOCOL
  DeviceSlot& s = impl_->slot(device);
  const auto deadline = std::chrono::steady_clock::now() + limit;
  for (;;) {
    std::string bindName;
    {
      std::lock_guard guard(impl_->stateLock);
      if (impl_->stopped || !impl_->taps) return false;
      bindName = s.bindName;
    }
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return false;
    // The name changes when the device is plugged again: wait in short slices.
    if (!bindName.empty() && impl_->taps->waitRunning(bindName, std::min(left, std::chrono::milliseconds(50))))
      return true;
    if (bindName.empty()) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
#else
  (void)device;
  (void)limit;
  return false;
#endif
}

std::vector<AdapterRow> HostRuntime::list() {
  std::vector<AdapterRow> rows;
  std::lock_guard guard(impl_->stateLock);
  for (auto& s : impl_->slots) {
    AdapterRow row;
    row.device = s->config->name;
    row.kind = std::string(config::deviceKindName(s->config->kind));
    row.tap = s->config->tap;
    row.farSide = s->config->farSide;
    if (impl_->stopped) {
      row.state = "stopped";
      row.link = "unknown";
      rows.push_back(std::move(row));
      continue;
    }
    if (s->port == 0) {
      row.state = "unplugged";
    } else if (Adapter* a = impl_->adapterLocked(*s); a != nullptr) {
      row.driver = a->info().miniportName;
      row.state = ndis::toString(a->state());
      if (s->suspended) row.state += " (D3)";
    } else if (auto info = impl_->pnp ? impl_->pnp->device(s->instancePath) : std::nullopt; info) {
      row.driver = info->driver;
      row.state = info->driver.empty() ? "no-driver" : std::string("failed: ") + nt::pnp::toString(info->state);
    } else {
      row.state = "enumerating";
    }
    if (s->function != nullptr && s->port != 0) {
      row.link = s->function->linkUp() ? fmt::format("up {} Mb/s", s->config->speedBitsPerSecond / 1'000'000) : "down";
    } else {
      row.link = "unknown";
    }
    rows.push_back(std::move(row));
  }
  return rows;
}

nlohmann::json HostRuntime::stats(const std::string& device) {
  nlohmann::json all = nlohmann::json::object();
#if NDISHOST_HAVE_TAP_PROTOCOL
  std::vector<TapBindingStats> bindings;
  if (impl_->taps) bindings = impl_->taps->stats();
#endif
  std::lock_guard guard(impl_->stateLock);
  for (auto& s : impl_->slots) {
    if (!device.empty() && s->config->name != device) continue;
    nlohmann::json j;
    if (impl_->stopped) {
      j["state"] = "stopped";
      all[s->config->name] = std::move(j);
      continue;
    }
    j["kind"] = config::deviceKindName(s->config->kind);
    j["far_side"] = s->config->farSide;
    j["tap"] = s->config->tap;
    j["plugged"] = s->port != 0;
    if (Adapter* a = impl_->adapterLocked(*s); a != nullptr) {
      const auto c = a->traffic().counters();
      j["adapter"] = a->describe();
      j["state"] = ndis::toString(a->state());
      j["ndis"] = {{"sends", c.sends},
                   {"sends_refused", c.sendsRefused},
                   {"send_completions", c.sendCompletions},
                   {"send_cancels", c.sendCancels},
                   {"receives", c.receives},
                   {"returns", c.returns},
                   {"oid_requests", c.oidRequests},
                   {"oids_answered_by_ndis", c.oidsAnsweredByNdis},
                   {"oid_completions", c.oidCompletions},
                   {"status_indications", c.statusIndications},
                   {"hangs_detected", c.hangsDetected},
                   {"resets", c.resets},
                   {"hangs_without_reset", c.hangsWithoutReset},
                   {"resets_overdue", c.resetsOverdue},
                   {"violations", c.violations}};
#if NDISHOST_HAVE_TAP_PROTOCOL
      for (const auto& b : bindings) {
        if (b.adapterName != s->bindName) continue;
        j["binding"] = {{"tap", b.tapName},
                        {"running", b.running},
                        {"carrier", b.carrier},
                        {"frames_to_adapter", b.framesToAdapter},
                        {"bytes_to_adapter", b.bytesToAdapter},
                        {"frames_from_adapter", b.framesFromAdapter},
                        {"bytes_from_adapter", b.bytesFromAdapter},
                        {"send_failures", b.sendFailures},
                        {"drops_no_nbl", b.dropsNoNbl},
                        {"drops_paused", b.dropsPaused},
                        {"drops_tap_full", b.dropsTapFull},
                        {"packet_filter", b.packetFilter},
                        {"multicast_addresses", b.multicastAddresses},
                        {"oid_failures", b.oidFailures},
                        {"sends_outstanding", b.sendsOutstanding},
                        {"vnet_header", b.vnetHeader},
                        {"checksum_offloaded", b.checksumOffloaded},
                        {"large_sends_offloaded", b.largeSendsOffloaded},
                        {"checksums_in_software", b.checksumsInSoftware},
                        {"drops_offload", b.dropsOffload},
                        {"receive_checksum_verified", b.receiveChecksumVerified},
                        {"receive_checksum_failed", b.receiveChecksumFailed},
                        {"large_send_completions_malformed", b.largeSendCompletionsMalformed}};
      }
#endif
    } else {
      j["state"] = s->port == 0 ? "unplugged" : "no-adapter";
    }
    if (s->function != nullptr) {
      const auto e = s->function->ethernetCounters();
      j["usb_device"] = {{"to_host_frames", e.toHostFrames},
                         {"to_host_bytes", e.toHostBytes},
                         {"to_host_batches", e.toHostBatches},
                         {"to_host_too_large", e.toHostTooLarge},
                         {"from_host_messages", e.fromHostMessages},
                         {"from_host_malformed", e.fromHostMalformed},
                         {"from_host_frames", e.fromHostFrames},
                         {"from_host_bytes", e.fromHostBytes},
                         {"from_host_dropped", e.fromHostDropped},
                         {"port_drops", e.portDrops},
                         {"receive_filtered", e.receive.filtered},
                         {"receive_no_buffer", e.receive.noBuffer},
                         {"receive_inactive", e.receive.inactive}};
    }
    if (s->farSide) {
      const auto f = s->farSide->counters();
      j["far_side_port"] = {{"describe", s->farSide->describe()},
                            {"tx_frames", f.txFrames},
                            {"tx_bytes", f.txBytes},
                            {"tx_dropped", f.txDropped},
                            {"rx_frames", f.rxFrames},
                            {"rx_bytes", f.rxBytes},
                            {"rx_dropped", f.rxDropped},
                            {"rx_malformed", f.rxMalformed}};
    }
    all[s->config->name] = std::move(j);
  }
  if (!device.empty() && all.empty()) impl_->slot(device);  // throws "no device named"
  return all;
}

namespace {

NDIS_STATUS runOid(Adapter& adapter, NDIS_REQUEST_TYPE type, std::uint32_t oid, void* buffer, ULONG length,
                   ULONG& bytesDone) {
  NDIS_OID_REQUEST request = ndis::oidRequest(type, oid, buffer, length);
  const NDIS_STATUS status = adapter.traffic().requestSync(request);
  bytesDone = type == NdisRequestSetInformation ? request.DATA.SET_INFORMATION.BytesRead
                                                : request.DATA.QUERY_INFORMATION.BytesWritten;
  return status;
}

}  // namespace

std::vector<std::uint8_t> HostRuntime::oidQuery(const std::string& device, std::uint32_t oid, std::size_t outputLength) {
  if (outputLength > 65536) throw ControlError("an OID query returns at most 65536 bytes");
  std::vector<std::uint8_t> buffer(outputLength);
  ULONG written = 0;
  NDIS_STATUS status;
  {
    std::lock_guard guard(impl_->stateLock);
    Adapter* a = impl_->adapterLocked(impl_->slot(device));
    if (a == nullptr) throw ControlError(fmt::format("{} has no adapter (unplugged, or its driver failed)", device));
    status = runOid(*a, NdisRequestQueryInformation, oid, buffer.data(), static_cast<ULONG>(buffer.size()), written);
  }
  if (status != NDIS_STATUS_SUCCESS)
    throw ControlError(fmt::format("OID 0x{:08X} query on {} failed: NDIS status 0x{:08X}", oid, device,
                                   static_cast<std::uint32_t>(status)));
  buffer.resize(std::min<std::size_t>(written, buffer.size()));
  return buffer;
}

void HostRuntime::oidSet(const std::string& device, std::uint32_t oid, const std::vector<std::uint8_t>& data) {
  std::vector<std::uint8_t> buffer = data;
  ULONG read = 0;
  NDIS_STATUS status;
  {
    std::lock_guard guard(impl_->stateLock);
    Adapter* a = impl_->adapterLocked(impl_->slot(device));
    if (a == nullptr) throw ControlError(fmt::format("{} has no adapter (unplugged, or its driver failed)", device));
    status = runOid(*a, NdisRequestSetInformation, oid, buffer.data(), static_cast<ULONG>(buffer.size()), read);
  }
  if (status != NDIS_STATUS_SUCCESS)
    throw ControlError(fmt::format("OID 0x{:08X} set on {} failed: NDIS status 0x{:08X}", oid, device,
                                   static_cast<std::uint32_t>(status)));
}

void HostRuntime::unplug(const std::string& device) {
  std::lock_guard op(impl_->operationLock);
  if (impl_->result) throw ControlError("ndishost is stopping");
  DeviceSlot& s = impl_->slot(device);
  unsigned port;
  {
    std::lock_guard guard(impl_->stateLock);
    if (s.port == 0) throw ControlError(fmt::format("{} is not plugged in", device));
    port = s.port;
    s.port = 0;
    s.suspended = false;
  }
  impl_->bus->detach(port);  // URBs fail DEVICE_GONE, then surprise removal and removal
  impl_->pnp->waitForIdle();
  impl_->progress(fmt::format("{}: unplugged (surprise removal)", device));
}

void HostRuntime::plug(const std::string& device) {
  std::lock_guard op(impl_->operationLock);
  if (impl_->result) throw ControlError("ndishost is stopping");
  DeviceSlot& s = impl_->slot(device);
  {
    std::lock_guard guard(impl_->stateLock);
    if (s.port != 0) throw ControlError(fmt::format("{} is plugged in already", device));
  }
  // A fresh device object, as after a real re-plug; the old one must let go of the far
  // side's receive handler first.
  std::shared_ptr<usb::device::EmulatedUsbDevice> old;
  {
    std::lock_guard guard(impl_->stateLock);
    s.function = nullptr;
    old = std::move(s.device);
  }
  old.reset();
  try {
    impl_->plugLocked(s);
  } catch (const std::exception& error) {
    throw ControlError(fmt::format("plugging {}: {}", device, error.what()));
  }
  impl_->progress(fmt::format("{}: plugged in", device));
}

void HostRuntime::reset(const std::string& device) {
  NDIS_STATUS status;
  {
    std::lock_guard guard(impl_->stateLock);
    Adapter* a = impl_->adapterLocked(impl_->slot(device));
    if (a == nullptr) throw ControlError(fmt::format("{} has no adapter (unplugged, or its driver failed)", device));
    // As after a detected hang: RESET_START, MiniportResetEx, addressing replay, RESET_END.
    status = a->traffic().resetFromHost();
  }
  if (status == NDIS_STATUS_NOT_SUPPORTED)
    throw ControlError(fmt::format("{}: the miniport has no MiniportResetEx", device));
  if (status != NDIS_STATUS_SUCCESS)
    throw ControlError(fmt::format("{}: MiniportResetEx failed: NDIS status 0x{:08X}", device,
                                   static_cast<std::uint32_t>(status)));
}

void HostRuntime::suspend(const std::string& device) {
  std::lock_guard op(impl_->operationLock);
  if (impl_->result) throw ControlError("ndishost is stopping");
  DeviceSlot& s = impl_->slot(device);
  if (s.port == 0) throw ControlError(fmt::format("{} is not plugged in", device));
  if (s.suspended) throw ControlError(fmt::format("{} is suspended already", device));
  const NTSTATUS status = impl_->pnp->setDevicePower(s.instancePath, PowerDeviceD3);
  if (!NT_SUCCESS(status))
    throw ControlError(fmt::format("{}: D3 failed: 0x{:08X}", device, static_cast<std::uint32_t>(status)));
  s.suspended = true;
}

void HostRuntime::resume(const std::string& device) {
  std::lock_guard op(impl_->operationLock);
  if (impl_->result) throw ControlError("ndishost is stopping");
  DeviceSlot& s = impl_->slot(device);
  if (s.port == 0) throw ControlError(fmt::format("{} is not plugged in", device));
  if (!s.suspended) throw ControlError(fmt::format("{} is not suspended", device));
  const NTSTATUS status = impl_->pnp->setDevicePower(s.instancePath, PowerDeviceD0);
  if (!NT_SUCCESS(status))
    throw ControlError(fmt::format("{}: D0 failed: 0x{:08X}", device, static_cast<std::uint32_t>(status)));
  s.suspended = false;
}

void HostRuntime::setLink(const std::string& device, bool up) {
  std::lock_guard op(impl_->operationLock);
  if (impl_->result) throw ControlError("ndishost is stopping");
  DeviceSlot& s = impl_->slot(device);
  bool waitForCarrier = false;
  {
    std::lock_guard guard(impl_->stateLock);
    s.linkDown = !up;
    // Unplugged: remembered, the device comes back with its cable in this state.
    if (s.function == nullptr || s.port == 0) return;
    s.function->setLinkUp(up);
    Adapter* a = impl_->adapterLocked(s);
    // A suspended or paused adapter indicates the change only once it runs again.
    waitForCarrier = a != nullptr && a->state() == AdapterState::Running && !s.suspended;
  }
  nt::traceEmit(nt::TraceCategory::Host, s.instancePath,
                fmt::format("link {} (ndishost link: the device reports {})", up ? "up" : "down",
                            up ? "connected" : "disconnected"));
  impl_->progress(fmt::format("{}: link {}", device, up ? "up" : "down"));
#if NDISHOST_HAVE_TAP_PROTOCOL
  // Return once the indication reached the TAP, so `ip link` right after shows it.
  if (!waitForCarrier || !impl_->taps) return;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (std::chrono::steady_clock::now() < deadline) {
    std::string bindName;
    {
      std::lock_guard guard(impl_->stateLock);
      bindName = s.bindName;
    }
    for (const auto& b : impl_->taps->stats())
      if (b.adapterName == bindName && b.carrier == up) return;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
#else
  (void)waitForCarrier;
#endif
}

void HostRuntime::hang(const std::string& device) {
  std::lock_guard op(impl_->operationLock);
  if (impl_->result) throw ControlError("ndishost is stopping");
  DeviceSlot& s = impl_->slot(device);
  {
    std::lock_guard guard(impl_->stateLock);
    if (s.device == nullptr || s.port == 0) throw ControlError(fmt::format("{} is not plugged in", device));
    s.device->setUnresponsive(true);
  }
  nt::traceEmit(nt::TraceCategory::Host, s.instancePath,
                "device stops answering bulk transfers (ndishost hang) until a pipe abort or port reset");
  impl_->progress(fmt::format("{}: the device stops answering (ndishost hang)", device));
}

namespace {

// IRP events are left out: too many for a person (the usbmon capture has every URB).
class TraceEventSubscription final : public HostControl::Subscription {
 public:
  TraceEventSubscription(std::function<void(const nlohmann::json&)> sink, std::function<std::string(const std::string&)> device)
      : subscription_([sink = std::move(sink), device = std::move(device)](const nt::TraceEvent& event) {
          if (event.category == nt::TraceCategory::Irp) return;
          sink(eventJson(event, device(event.source)));
        }) {}

 private:
  nt::TraceSubscription subscription_;
};

}  // namespace

std::unique_ptr<HostControl::Subscription> HostRuntime::subscribe(std::function<void(const nlohmann::json& event)> sink) {
  if (!sink) throw ControlError("subscribe: no sink");
  return std::make_unique<TraceEventSubscription>(
      std::move(sink), [impl = impl_.get()](const std::string& source) { return impl->deviceOfSource(source); });
}

}  // namespace ndishost::host
