// ndishost: run Windows NDIS-WDM and WDM drivers, built from WDK-style sources, in Linux
// user space.
#include <algorithm>
#include <atomic>
#include <csignal>
#include <exception>
#include <filesystem>
#include <iostream>
#include <memory>
#include <string>
#include <thread>

#include <poll.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <spdlog/spdlog.h>

#include "host/config/config_parser.hpp"
#include "host/config/quick_config.hpp"
#include "host/control/control_cli.hpp"
#include "host/control/control_server.hpp"
#include "host/control/event_log.hpp"
#include "host/privileges/capabilities.hpp"
#include "host/runtime/host_runtime.hpp"
#include "host/runtime/network_demo.hpp"
#include "host/wdm_demo.hpp"
#include "nt/support/log.hpp"

namespace {

// `ndishost up` exit statuses (also in its --help).
enum UpExit : int {
  UpClean = 0,
  UpConfigError = 1,
  UpStartupFailed = 2,
  UpLeaksOrViolations = 3,
};

// SIGINT and SIGTERM are blocked in every thread (the mask is inherited by the runtime's
// threads, so block before any exists) and read from a signalfd: nothing runs in a signal
// handler.
class StopSignals {
 public:
  StopSignals() {
    sigemptyset(&set_);
    sigaddset(&set_, SIGINT);
    sigaddset(&set_, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &set_, nullptr);
    fd_ = signalfd(-1, &set_, SFD_CLOEXEC);
  }
  ~StopSignals() {
    if (fd_ >= 0) close(fd_);
  }
  StopSignals(const StopSignals&) = delete;
  StopSignals& operator=(const StopSignals&) = delete;

  // Blocks until SIGINT or SIGTERM (or `limitMs` passes, -1: forever); the signal's name or "".
  std::string wait(int limitMs = -1) const {
    pollfd p{fd_, POLLIN, 0};
    if (poll(&p, 1, limitMs) != 1) return "";
    signalfd_siginfo info{};
    if (read(fd_, &info, sizeof info) != static_cast<ssize_t>(sizeof info)) return "";
    return info.ssi_signo == SIGINT ? "SIGINT" : "SIGTERM";
  }

 private:
  sigset_t set_;
  int fd_ = -1;
};

int runWdmDemo(ndishost::host::WdmDemoOptions options, const std::string& trace, const std::string& logLevel) {
  options.traceIrps = trace == "all";
  options.tracePnp = trace != "none";
  ndishost::nt::setLogLevel(spdlog::level::from_str(logLevel));
  try {
    ndishost::host::runWdmSampleDemo(options, std::cout);
    return 0;
  } catch (const std::exception& error) {
    std::cout.flush();
    std::cerr << "ndishost wdm-demo: error: " << error.what() << "\n";
    return 1;
  }
}

struct UpOptions {
  std::string configFile;
  ndishost::host::config::QuickOptions quick;
  bool noTap = false;
  bool noControl = false;
  std::string controlSocket;
  std::string eventLog;
  std::string manifest;
  unsigned processors = 0;
  std::string logLevel = "warn";
};

int runUp(const UpOptions& options, CLI::App& command) {
  namespace config = ndishost::host::config;
  ndishost::nt::setLogLevel(spdlog::level::from_str(options.logLevel));
  config::HostConfig hostConfig;
  try {
    if (!options.configFile.empty()) {
      for (const char* quickOption : {"--device", "--far-side", "--tap", "--tap-namespace", "--mac", "--driver"}) {
        if (command.count(quickOption) != 0)
          throw config::ConfigError({"command line", 0, 0}, quickOption, "not allowed with --config (put it in the file)");
      }
      hostConfig = config::loadConfigFile(options.configFile);
    } else {
      hostConfig = config::quickConfig(options.quick);
    }
  } catch (const config::ConfigError& error) {
    std::cerr << "ndishost up: " << error.what() << "\n";
    return UpConfigError;
  } catch (const std::exception& error) {
    std::cerr << "ndishost up: " << error.what() << "\n";
    return UpConfigError;
  }

  StopSignals signals;  // before the runtime's threads exist
  ndishost::host::HostRuntimeOptions runtimeOptions;
  runtimeOptions.bindTaps = !options.noTap;
  runtimeOptions.defaultManifest = options.manifest;
  runtimeOptions.processors = options.processors;
  runtimeOptions.progress = [](const std::string& text) { std::cout << "ndishost up: " << text << std::endl; };

  std::unique_ptr<ndishost::host::HostRuntime> runtime;
  try {
    runtime = std::make_unique<ndishost::host::HostRuntime>(hostConfig, runtimeOptions);
  } catch (const config::ConfigError& error) {
    std::cerr << "ndishost up: " << error.what() << "\n";
    return UpConfigError;
  }
  int status = UpClean;
  std::string stopReason;
  {
    std::unique_ptr<ndishost::host::EventLog> eventLog;
    std::unique_ptr<ndishost::host::HostControl::Subscription> eventLogSubscription;
    std::unique_ptr<ndishost::host::ControlServer> control;
    try {
      if (!options.eventLog.empty()) {
        eventLog = std::make_unique<ndishost::host::EventLog>(options.eventLog);
        eventLogSubscription = eventLog->attach(*runtime);
      }
      runtime->start();
      if (!options.noControl) {
        const std::filesystem::path socket = options.controlSocket.empty()
                                                 ? ndishost::host::defaultControlSocketPath()
                                                 : std::filesystem::path(options.controlSocket);
        control = std::make_unique<ndishost::host::ControlServer>(*runtime, socket);
        std::cout << "ndishost up: control socket " << control->socketPath().string() << std::endl;
      }
      // Everything that needs privilege at startup is open; keep only what re-plugging an
      // adapter needs (a TAP, maybe inside a namespace; an AF_PACKET far side reopened).
      const bool tapsInNamespaces = std::any_of(hostConfig.devices.begin(), hostConfig.devices.end(),
                                                [](const auto& d) { return !d.tapNamespace.empty(); });
      const bool afpacket = std::any_of(hostConfig.devices.begin(), hostConfig.devices.end(),
                                        [](const auto& d) { return d.farSide.rfind("afpacket:", 0) == 0; });
      ndishost::host::dropCapabilitiesExcept(ndishost::host::capabilitiesToKeep(tapsInNamespaces, afpacket));
      const std::string kept = ndishost::host::effectiveCapabilities();
      std::cout << "ndishost up: capabilities kept: " << (kept.empty() ? "none" : kept) << std::endl;
      std::cout << "ndishost up: running " << hostConfig.devices.size() << " adapter(s) from " << hostConfig.source
                << "; SIGINT/SIGTERM stops" << std::endl;
      stopReason = signals.wait();
      std::cout << "ndishost up: " << stopReason << ": stopping" << std::endl;
    } catch (const std::exception& error) {
      std::cerr << "ndishost up: startup failed: " << error.what() << "\n";
      status = UpStartupFailed;
    }
    control.reset();  // before the runtime goes: no control call may reach a stopping host
    eventLogSubscription.reset();
    eventLog.reset();
  }
  const ndishost::host::ShutdownResult result = runtime->stop();
  for (const auto& report : result.leakReports) std::cout << "ndishost up: " << report << "\n";
  for (const auto& v : result.violationTexts) std::cout << "ndishost up: violation: " << v << "\n";
  runtime.reset();
  if (status == UpClean && !result.clean()) status = UpLeaksOrViolations;
  std::cout << "ndishost up: stopped (exit status " << status << ")" << std::endl;
  return status;
}

// Ctrl-C during the demo: a thread reads the signalfd and sets the flag the demo checks
// between steps.
int runNetworkDemo(ndishost::host::NetworkDemoOptions options, const std::string& logLevel) {
  ndishost::nt::setLogLevel(spdlog::level::from_str(logLevel));
  std::cout.setf(std::ios::unitbuf);  // progress as it happens, also into a pipe
  StopSignals signals;
  std::atomic<bool> interrupted = false;
  std::atomic<bool> finished = false;
  std::thread watcher([&] {
    while (!finished.load()) {
      if (!signals.wait(100).empty()) interrupted = true;
    }
  });
  options.interrupted = &interrupted;
  int status;
  try {
    status = ndishost::host::runNetworkDemo(options, std::cout);
  } catch (const std::exception& error) {
    std::cerr << "ndishost demo: error: " << error.what() << "\n";
    status = ndishost::host::DemoStepFailed;
  }
  finished = true;
  watcher.join();
  return status;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{
      "ndishost runs Windows drivers -- NDIS 6 miniports with a WDM lower edge, and WDM drivers -- built\n"
      "from their WDK-style C sources, in Linux user space, on its own implementation of the kernel\n"
      "they expect (IRQL, DPCs, timers, the I/O and PnP managers, NDIS) with rule checks and leak reports.",
      "ndishost"};
  app.require_subcommand(1);

  // ---- up ------------------------------------------------------------------------------
  UpOptions up;
  CLI::App* upCommand = app.add_subcommand(
      "up",
      "Run adapters in the foreground until SIGINT/SIGTERM: the PnP manager, the USB bus with one emulated\n"
      "USB network device per configured device, the miniport each one's IDs select, and a TAP interface\n"
      "bound to every adapter. Either --config FILE (docs/CONFIG.md) or the quick form for one device\n"
      "(--device ncm --far-side afpacket:veth1 --tap ndis0). SIGINT/SIGTERM pause, halt and unload\n"
      "everything cleanly and print each driver's leak report.\n"
      "Exit status: 0 stopped cleanly; 1 configuration error (file:line:column: key: what); 2 startup\n"
      "failed (driver, device, far side or TAP); 3 leaks or rule violations found at shutdown.");
  upCommand->add_option("--config,-c", up.configFile, "Configuration file (TOML, docs/CONFIG.md)");
  ndishost::host::config::addQuickOptions(*upCommand, up.quick);
  upCommand->add_flag("--no-tap", up.noTap, "Run the adapters without TAP interfaces (no binding above them)");
  upCommand->add_flag("--no-control", up.noControl, "Do not open the control socket");
  upCommand->add_option("--socket", up.controlSocket, "Control socket path (default: see `ndishost list --help`)");
  upCommand->add_option("--event-log", up.eventLog, "Append every event as a JSON line to this file (`ndishost timeline` renders it)");
  upCommand->add_option("--manifest", up.manifest,
                        "Miniport manifest with the default drivers (default: this build's drivers/usbnic/usbnic.toml)");
  upCommand->add_option("--processors", up.processors, "Virtual processors (DPC threads); 0: as many as CPUs, at most 8")
      ->check(CLI::Range(0u, 8u));
  upCommand->add_option("--log-level", up.logLevel, "Runtime log level: trace, debug, info, warn, error, off")
      ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error", "off"}))
      ->capture_default_str();

  // ---- demo ----------------------------------------------------------------------------
  ndishost::host::NetworkDemoOptions networkDemo;
  std::string demoOutput;
  unsigned transferSeconds = 2;
  std::string demoLogLevel = "warn";
  CLI::App* demoCommand = app.add_subcommand(
      "demo",
      "The main job in one command (needs root): creates two network namespaces, two emulated USB network\n"
      "adapters -- CDC-NCM and RNDIS -- joined by an in-process wire, each driven by its NDIS-WDM miniport\n"
      "(usbncm, usbrndis) and bound to a TAP interface inside its namespace (10.77.0.1/24 and 10.77.0.2/24,\n"
      "fd77:6e64:6973::1 and ::2); pings both ways over IPv4 and IPv6, runs a short TCP transfer (iperf3\n"
      "when installed), prints per-adapter statistics, the capture files and the event log, and removes\n"
      "everything it created -- also after a failure or Ctrl-C.\n"
      "Exit status: 0 every step succeeded without leaks; 1 not possible here (not root, no /dev/net/tun,\n"
      "no TAP binding); 2 the stack did not come up; 3 leaks or rule violations at shutdown; 4 a ping or\n"
      "the transfer failed; 130 interrupted.");
  demoCommand->add_option("--output", demoOutput, "Directory for captures and the event log (default: /tmp/ndishost-demo-<pid>)");
  demoCommand->add_option("--time", transferSeconds, "Seconds of TCP transfer")->check(CLI::Range(1u, 60u))->capture_default_str();
  demoCommand->add_option("--manifest", networkDemo.defaultManifest, "Miniport manifest (default: this build's)");
  demoCommand->add_option("--processors", networkDemo.processors, "Virtual processors (DPC threads)")->check(CLI::Range(0u, 8u));
  demoCommand->add_option("--log-level", demoLogLevel, "Runtime log level: trace, debug, info, warn, error, off")
      ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error", "off"}))
      ->capture_default_str();

  // ---- wdm-demo (the first demo: the WDM sample stack) ------------------------------------
  ndishost::host::WdmDemoOptions wdmDemo;
  wdmDemo.driverDirectory = NDISHOST_SAMPLE_DRIVER_DIR;
  std::string trace = "all";
  std::string logLevel = "warn";
  std::string manifest;
  unsigned readTimeMs = 100;
  CLI::App* wdmDemoCommand = app.add_subcommand(
      "wdm-demo",
      "The WDM sample stack with no setup: the sample bus driver (samplebus) and its function driver\n"
      "(samplefunc) are loaded by the PnP manager from an embedded manifest. It enumerates the bus,\n"
      "prints the device tree, shows every IRP flowing through the stacks, sends echo IOCTLs, lets\n"
      "reads complete from a timer DPC, unplugs a child (surprise removal, then removal), shuts down\n"
      "and prints each driver's leak report. Exit status 0 when every step succeeded without leaks.");
  wdmDemoCommand->add_option("--driver-dir", wdmDemo.driverDirectory,
                             "Directory holding samplebus.so and samplefunc.so (default: this build's)")
      ->capture_default_str();
  wdmDemoCommand->add_option("--manifest", manifest,
                             "Driver manifest (TOML) to use instead of the embedded one; its driver paths are\n"
                             "relative to the manifest file");
  wdmDemoCommand->add_option("--trace", trace, "What to print of the event trace: all (IRPs too), pnp, none")
      ->check(CLI::IsMember({"all", "pnp", "none"}))
      ->capture_default_str();
  wdmDemoCommand->add_flag("--trace-reads", wdmDemo.traceReads,
                           "Also print the read pump's IRPs (hundreds per second; hidden by default)");
  wdmDemoCommand->add_option("--read-time", readTimeMs, "Milliseconds to let reads run before unplugging")
      ->check(CLI::Range(1u, 60000u))
      ->capture_default_str();
  wdmDemoCommand->add_option("--processors", wdmDemo.processors, "Virtual processors (DPC threads) of the runtime")
      ->check(CLI::Range(1u, 8u))
      ->capture_default_str();
  wdmDemoCommand->add_flag("--deterministic", wdmDemo.deterministic,
                           "Deterministic runtime: one virtual processor, a virtual clock, a seeded interleaving");
  wdmDemoCommand->add_option("--seed", wdmDemo.seed, "Seed of the deterministic interleaving")->capture_default_str();
  wdmDemoCommand->add_option("--log-level", logLevel, "Runtime log level: trace, debug, info, warn, error, off")
      ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error", "off"}))
      ->capture_default_str();

  // ---- list, stats, oid, unplug, plug, reset, suspend, resume, trace, timeline ----------
  ndishost::host::addControlCommands(app);

  CLI11_PARSE(app, argc, argv);

  if (upCommand->parsed()) return runUp(up, *upCommand);
  if (demoCommand->parsed()) {
    if (!demoOutput.empty()) networkDemo.outputDirectory = demoOutput;
    networkDemo.transferTime = std::chrono::seconds(transferSeconds);
    return runNetworkDemo(networkDemo, demoLogLevel);
  }
  if (wdmDemoCommand->parsed()) {
    if (!manifest.empty()) wdmDemo.manifest = std::filesystem::path(manifest);
    wdmDemo.readTime = std::chrono::milliseconds(readTimeMs);
    return runWdmDemo(wdmDemo, trace, logLevel);
  }
  return 0;
}
