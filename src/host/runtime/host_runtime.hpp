// HostRuntime: one running ndishost, assembled from a HostConfig.
//
//   nt::Runtime (processors, DPCs, timers)
//   PnpManager  ── ROOT\USB ── UsbBus (builtin driver "usbhub", usbmon capture)
//                                 └─ one EmulatedUsbDevice per [[device]] (NCM, ECM, RNDIS),
//                                    its network port a far side (wire, AF_PACKET, UDP)
//   miniport images (drivers/usbnic manifest + the config's [[driver]]s) bound by ID
//   per-adapter registry keywords (NdisReadConfiguration) and NDIS time-outs
//   TAP binding (TapProtocol) above every adapter, when the build has one
//
// It implements HostControl for the control socket. Teardown (stop()) keeps the order the
// stack needs: the TAP binding first (every NBL back), then pnp.shutdown() (pause, halt,
// remove, unload: leak reports), then the bus, the devices and far sides, then the PnP
// manager and the kernel runtime.
#pragma once

#include <chrono>
#include <filesystem>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "host/config/config_model.hpp"
#include "host/control/host_control.hpp"

namespace ndishost::host {

struct HostRuntimeOptions {
  // The miniport manifest whose drivers are always available (the config's [[driver]]s
  // replace an entry of the same name or serving the same ID). Empty: the build's
  // drivers/usbnic/usbnic.toml.
  std::filesystem::path defaultManifest;
  unsigned processors = 0;  // 0: the runtime's default
  // Bind every adapter to its TAP (needs the TAP binding in this build, root or
  // CAP_NET_ADMIN). False: adapters run with no binding above them (tests, `up --no-tap`).
  bool bindTaps = true;
  // How long start() waits for every adapter to reach Running (and, with TAPs, be bound).
  std::chrono::milliseconds startTimeout{15'000};
  // Progress and warnings ("ncm0: adapter Running"); may be empty.
  std::function<void(const std::string&)> progress;
};

// What stop() found.
struct ShutdownResult {
  std::vector<std::string> leakReports;  // formatted, one per driver, including "no leaks"
  std::size_t leakingDrivers = 0;
  std::size_t violations = 0;            // rule violations recorded during the run
  std::vector<std::string> violationTexts;
  bool clean() const { return leakingDrivers == 0 && violations == 0; }
};

class StartupError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// True when this build contains the TAP binding (TapProtocol).
bool tapBindingAvailable();

class HostRuntime final : public HostControl {
 public:
  HostRuntime(config::HostConfig config, HostRuntimeOptions options = {});
  // stop() if it was not called (its result is logged).
  ~HostRuntime() override;
  HostRuntime(const HostRuntime&) = delete;
  HostRuntime& operator=(const HostRuntime&) = delete;

  // Builds the stack, plugs every device and waits until every adapter runs (and is bound
  // to its TAP when options.bindTaps). Throws StartupError naming the device and the step.
  // After a failure, stop() still tears down what was built.
  void start();
  // Idempotent; the second call returns the first call's result.
  ShutdownResult stop();

  const config::HostConfig& config() const { return config_; }
  // Blocks until the device's adapter is Running (true) or the time-out passes.
  bool waitAdapterRunning(const std::string& device, std::chrono::milliseconds limit);
  // Blocks until the device's adapter is bound to its TAP and the binding runs (true), or
  // the time-out passes; false at once without a TAP binding.
  bool waitTapRunning(const std::string& device, std::chrono::milliseconds limit);

  // HostControl
  std::vector<AdapterRow> list() override;
  nlohmann::json stats(const std::string& device) override;
  std::vector<std::uint8_t> oidQuery(const std::string& device, std::uint32_t oid, std::size_t outputLength) override;
  void oidSet(const std::string& device, std::uint32_t oid, const std::vector<std::uint8_t>& data) override;
  void unplug(const std::string& device) override;
  void plug(const std::string& device) override;
  void reset(const std::string& device) override;
  void suspend(const std::string& device) override;
  void resume(const std::string& device) override;
  void setLink(const std::string& device, bool up) override;
  void hang(const std::string& device) override;
  std::unique_ptr<Subscription> subscribe(std::function<void(const nlohmann::json& event)> sink) override;

 private:
  struct Impl;
  config::HostConfig config_;
  HostRuntimeOptions options_;
  std::unique_ptr<Impl> impl_;
};

}  // namespace ndishost::host
