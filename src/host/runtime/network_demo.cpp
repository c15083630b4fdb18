#include "host/runtime/network_demo.hpp"

#include <cerrno>
#include <cstring>
#include <memory>
#include <optional>
#include <stdexcept>
#include <thread>
#include <vector>

#include <arpa/inet.h>
#include <fmt/format.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "host/control/event_log.hpp"
#include "host/control/timeline.hpp"
#include "host/runtime/netns_scope.hpp"
#include "link/netns.hpp"

namespace ndishost::host {

namespace {

// The demo's addresses: one /24 and one ULA /64, .1 on the NCM side, .2 on the RNDIS side.
constexpr const char* kAddress4[2] = {"10.77.0.1", "10.77.0.2"};
constexpr const char* kAddress6[2] = {"fd77:6e64:6973::1", "fd77:6e64:6973::2"};
constexpr std::uint16_t kTransferPort = 5201;
// Bytes kept of each frame and URB in the demo's captures: Ethernet, IP and TCP headers,
// the usbmon header and the start of an NTB or RNDIS message.
constexpr std::uint32_t kDemoCaptureSnapLength = 256;

class DemoFailed : public std::runtime_error {
 public:
  DemoFailed(int exitStatus, const std::string& what) : std::runtime_error(what), exitStatus_(exitStatus) {}
  int exitStatus() const { return exitStatus_; }

 private:
  int exitStatus_;
};

class Fd {
 public:
  explicit Fd(int fd = -1) : fd_(fd) {}
  ~Fd() {
    if (fd_ >= 0) close(fd_);
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  int get() const { return fd_; }
  void reset(int fd) {
    if (fd_ >= 0) close(fd_);
    fd_ = fd;
  }

 private:
  int fd_;
};

struct Transfer {
  std::uint64_t bytes = 0;
  double seconds = 0;
  double bitsPerSecond() const { return seconds > 0 ? static_cast<double>(bytes) * 8 / seconds : 0; }
  std::string tool;
};

std::string rate(double bitsPerSecond) {
  if (bitsPerSecond >= 1e9) return fmt::format("{:.2f} Gbit/s", bitsPerSecond / 1e9);
  return fmt::format("{:.1f} Mbit/s", bitsPerSecond / 1e6);
}

bool haveCommand(const char* name) {
  return runCommand({"sh", "-c", fmt::format("command -v {} >/dev/null", name)}, std::chrono::seconds(5)).ok();
}

// Our own TCP transfer: sockets made inside each namespace (setns on a helper thread), data
// moved from this process's threads.
Transfer tcpTransfer(const NetworkNamespace& from, const NetworkNamespace& to, std::chrono::seconds duration) {
  Fd listener;
  Fd client;
  link::runInNetworkNamespace(to.name(), [&] {
    listener.reset(socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    if (listener.get() < 0) throw std::runtime_error(std::string("socket: ") + std::strerror(errno));
    int one = 1;
    setsockopt(listener.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(kTransferPort);
    inet_pton(AF_INET, kAddress4[1], &address.sin_addr);
    if (bind(listener.get(), reinterpret_cast<sockaddr*>(&address), sizeof address) != 0 || listen(listener.get(), 1) != 0)
      throw std::runtime_error(std::string("bind/listen: ") + std::strerror(errno));
  });
  link::runInNetworkNamespace(from.name(), [&] {
    client.reset(socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    if (client.get() < 0) throw std::runtime_error(std::string("socket: ") + std::strerror(errno));
  });
  std::uint64_t received = 0;
  std::string receiveError;
  std::thread receiver([&] {
    pollfd p{listener.get(), POLLIN, 0};
    if (poll(&p, 1, 5000) != 1) {
      receiveError = "no connection arrived";
      return;
    }
    Fd connection(accept4(listener.get(), nullptr, nullptr, SOCK_CLOEXEC));
    if (connection.get() < 0) {
      receiveError = std::string("accept: ") + std::strerror(errno);
      return;
    }
    timeval timeout{10, 0};
    setsockopt(connection.get(), SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
    std::vector<char> buffer(1 << 16);
    for (;;) {
      const ssize_t n = read(connection.get(), buffer.data(), buffer.size());
      if (n == 0) return;
      if (n < 0) {
        if (errno == EINTR) continue;
        receiveError = std::string("read: ") + std::strerror(errno);
        return;
      }
      received += static_cast<std::uint64_t>(n);
    }
  });
  sockaddr_in peer{};
  peer.sin_family = AF_INET;
  peer.sin_port = htons(kTransferPort);
  inet_pton(AF_INET, kAddress4[1], &peer.sin_addr);
  timeval timeout{10, 0};
  setsockopt(client.get(), SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof timeout);
  std::string sendError;
  const auto start = std::chrono::steady_clock::now();
  if (connect(client.get(), reinterpret_cast<sockaddr*>(&peer), sizeof peer) != 0) {
    sendError = std::string("connect: ") + std::strerror(errno);
  } else {
    std::vector<char> buffer(1 << 16, 'n');
    while (std::chrono::steady_clock::now() - start < duration) {
      const ssize_t n = send(client.get(), buffer.data(), buffer.size(), MSG_NOSIGNAL);
      if (n < 0 && errno != EINTR) {
        sendError = std::string("send: ") + std::strerror(errno);
        break;
      }
    }
    shutdown(client.get(), SHUT_WR);
  }
  receiver.join();
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  if (!sendError.empty()) throw std::runtime_error(sendError);
  if (!receiveError.empty()) throw std::runtime_error(receiveError);
  return Transfer{received, seconds, "ndishost's own TCP sender/receiver"};
}

Transfer iperfTransfer(const NetworkNamespace& from, const NetworkNamespace& to, std::chrono::seconds duration) {
  std::vector<std::string> server = to.execPrefix();
  for (const char* a : {"iperf3", "-s", "-1", "-B", kAddress4[1], "-p"}) server.emplace_back(a);
  server.push_back(std::to_string(kTransferPort));
  BackgroundCommand serverProcess(server);
  CommandResult client;
  // The server needs a moment to listen; retry the client's connect for a second.
  for (int attempt = 0; attempt < 10; ++attempt) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    client = from.run({"iperf3", "-c", kAddress4[1], "-p", std::to_string(kTransferPort), "-t",
                       std::to_string(duration.count()), "-J"},
                      duration + std::chrono::seconds(15));
    if (client.ok() || client.output.find("Connection refused") == std::string::npos) break;
  }
  serverProcess.wait(std::chrono::seconds(5));
  if (!client.ok()) throw std::runtime_error("iperf3 failed: " + client.output.substr(0, 400));
  const auto result = nlohmann::json::parse(client.output, nullptr, false);
  if (result.is_discarded() || !result.contains("end")) throw std::runtime_error("iperf3 gave no result");
  const auto& sum = result["end"]["sum_received"];
  Transfer t;
  t.bytes = sum.value("bytes", std::uint64_t{0});
  t.seconds = sum.value("seconds", 0.0);
  t.tool = "iperf3";
  return t;
}

void printStats(HostRuntime& runtime, std::ostream& out) {
  const nlohmann::json stats = runtime.stats("");
  for (const auto& [name, s] : stats.items()) {
    out << fmt::format("  {} ({}, TAP {}): {}\n", name, s.value("kind", ""), s.value("tap", ""), s.value("state", ""));
    if (s.contains("ndis")) {
      const auto& n = s["ndis"];
      out << fmt::format("    NDIS      sends {} (completed {}, refused {}), receives {} (returned {}), OIDs {} "
                         "(+{} answered by NDIS), status indications {}, resets {}\n",
                         n.value("sends", 0ull), n.value("send_completions", 0ull), n.value("sends_refused", 0ull),
                         n.value("receives", 0ull), n.value("returns", 0ull), n.value("oid_requests", 0ull),
                         n.value("oids_answered_by_ndis", 0ull), n.value("status_indications", 0ull),
                         n.value("resets", 0ull));
    }
    if (s.contains("binding")) {
      const auto& b = s["binding"];
      out << fmt::format("    TAP       to adapter {} frames / {} bytes, from adapter {} frames / {} bytes, "
                         "drops {} (no NBL) {} (paused) {} (TAP full)\n",
                         b.value("frames_to_adapter", 0ull), b.value("bytes_to_adapter", 0ull),
                         b.value("frames_from_adapter", 0ull), b.value("bytes_from_adapter", 0ull),
                         b.value("drops_no_nbl", 0ull), b.value("drops_paused", 0ull), b.value("drops_tap_full", 0ull));
    }
    if (s.contains("usb_device")) {
      const auto& u = s["usb_device"];
      out << fmt::format("    USB       to host {} frames in {} transfers, from host {} frames in {} transfers "
                         "({} malformed, {} dropped)\n",
                         u.value("to_host_frames", 0ull), u.value("to_host_batches", 0ull),
                         u.value("from_host_frames", 0ull), u.value("from_host_messages", 0ull),
                         u.value("from_host_malformed", 0ull), u.value("from_host_dropped", 0ull));
    }
    if (s.contains("far_side_port")) {
      const auto& f = s["far_side_port"];
      out << fmt::format("    far side  {}: tx {} frames ({} dropped), rx {} frames ({} dropped)\n",
                         f.value("describe", ""), f.value("tx_frames", 0ull), f.value("tx_dropped", 0ull),
                         f.value("rx_frames", 0ull), f.value("rx_dropped", 0ull));
    }
  }
}

}  // namespace

int runNetworkDemo(const NetworkDemoOptions& options, std::ostream& out) {
  auto interrupted = [&] { return options.interrupted != nullptr && options.interrupted->load(); };
  auto checkInterrupted = [&] {
    if (interrupted()) throw DemoFailed(DemoInterrupted, "interrupted");
  };
  std::string why;
  if (!haveNetworkPrivileges(&why)) {
    out << "ndishost demo: " << why << "\n";
    return DemoNotPossible;
  }
  if (!tapBindingAvailable()) {
    out << "ndishost demo: this build has no TAP binding (src/host/binding TapProtocol)\n";
    return DemoNotPossible;
  }

  const std::string suffix = std::to_string(getpid());
  const std::filesystem::path directory =
      options.outputDirectory.empty() ? std::filesystem::path("/tmp/ndishost-demo-" + suffix) : options.outputDirectory;
  std::filesystem::create_directories(directory);

  config::HostConfig config;
  config.source = "ndishost demo";
  // Headers are what a person reads in the demo's captures; whole frames of the TCP
  // transfer would leave hundreds of megabytes in /tmp on every run.
  config.captureSnapLength = kDemoCaptureSnapLength;
  for (int side = 0; side < 2; ++side) {
    config::DeviceConfig d;
    d.kind = side == 0 ? config::DeviceKind::Ncm : config::DeviceKind::Rndis;
    d.name = side == 0 ? "ncm0" : "rndis1";
    d.mac = config::defaultMacAddress(static_cast<std::size_t>(side));
    d.farSide = "wire:ndishost-demo-" + suffix;
    d.farSideSpec = link::parseFramePortSpec(d.farSide);
    d.tap = side == 0 ? "ndis-ncm" : "ndis-rndis";
    d.capture.upperEdge = directory / (d.name + "-ethernet.pcap");
    d.capture.lowerEdge = directory / "usb.pcap";
    d.capture.snapLength = kDemoCaptureSnapLength;
    d.where.file = "ndishost demo";
    config.devices.push_back(std::move(d));
  }

  int status = DemoSucceeded;
  std::optional<NetworkNamespace> namespaces[2];
  std::unique_ptr<HostRuntime> runtime;
  std::unique_ptr<EventLog> eventLog;
  std::unique_ptr<HostControl::Subscription> eventLogSubscription;
  try {
    out << "ndishost demo: two network namespaces, CDC-NCM and RNDIS adapters on one wire\n\n";
    out << "1. Network namespaces\n";
    for (int side = 0; side < 2; ++side) {
      namespaces[side].emplace(fmt::format("ndishost-demo-{}-{}", side == 0 ? 'a' : 'b', suffix));
      config.devices[static_cast<std::size_t>(side)].tapNamespace = namespaces[side]->name();
      out << fmt::format("  {} (for {})\n", namespaces[side]->name(), config.devices[static_cast<std::size_t>(side)].name);
    }
    checkInterrupted();

    out << "\n2. Start: PnP manager, USB bus, emulated devices, miniports, TAP binding\n";
    HostRuntimeOptions runtimeOptions;
    runtimeOptions.defaultManifest = options.defaultManifest;
    runtimeOptions.processors = options.processors;
    runtimeOptions.progress = [&](const std::string& text) { out << "  " << text << "\n"; };
    runtime = std::make_unique<HostRuntime>(config, runtimeOptions);
    eventLog = std::make_unique<EventLog>(directory / "events.jsonl");
    eventLogSubscription = eventLog->attach(*runtime);
    try {
      runtime->start();
    } catch (const std::exception& error) {
      throw DemoFailed(DemoStartupFailed, error.what());
    }
    for (const auto& row : runtime->list())
      out << fmt::format("  {:8} {:6} driver {:9} {:9} link {:14} TAP {}\n", row.device, row.kind, row.driver,
                         row.state, row.link, row.tap);
    checkInterrupted();

    out << "\n3. Addresses\n";
    for (int side = 0; side < 2; ++side) {
      const auto& ns = *namespaces[side];
      const std::string& tap = config.devices[static_cast<std::size_t>(side)].tap;
      for (const std::vector<std::string>& command :
           {std::vector<std::string>{"ip", "link", "set", tap, "up"},
            std::vector<std::string>{"ip", "addr", "add", std::string(kAddress4[side]) + "/24", "dev", tap},
            std::vector<std::string>{"ip", "-6", "addr", "add", std::string(kAddress6[side]) + "/64", "dev", tap,
                                     "nodad"}}) {
        const auto result = ns.run(command, std::chrono::seconds(10));
        if (!result.ok())
          throw DemoFailed(DemoStepFailed, fmt::format("in {}: {}: {}", ns.name(), fmt::join(command, " "), result.output));
      }
      out << fmt::format("  {} in {}: {}/24, {}/64\n", tap, ns.name(), kAddress4[side], kAddress6[side]);
    }

    out << "\n4. Ping both ways\n";
    for (int side = 0; side < 2; ++side) {
      for (const char* const* addresses : {kAddress4, kAddress6}) {
        checkInterrupted();
        const std::string target = addresses[1 - side];
        const auto result = namespaces[side]->run({"ping", "-c", "3", "-i", "0.2", "-W", "3", target}, std::chrono::seconds(20));
        std::string summary;
        if (auto at = result.output.find("packets transmitted"); at != std::string::npos) {
          auto begin = result.output.rfind('\n', at);
          auto end = result.output.find('\n', at);
          summary = result.output.substr(begin == std::string::npos ? 0 : begin + 1,
                                         end == std::string::npos ? std::string::npos : end - begin - 1);
        }
        out << fmt::format("  {} -> {}: {}\n", config.devices[static_cast<std::size_t>(side)].name, target,
                           result.ok() ? summary : "FAILED " + result.output);
        if (!result.ok()) status = DemoStepFailed;
      }
    }
    checkInterrupted();

    out << fmt::format("\n5. TCP transfer {} -> {} for {} s\n", config.devices[0].name, config.devices[1].name,
                       options.transferTime.count());
    try {
      Transfer t = haveCommand("iperf3") ? iperfTransfer(*namespaces[0], *namespaces[1], options.transferTime)
                                         : tcpTransfer(*namespaces[0], *namespaces[1], options.transferTime);
      out << fmt::format("  {}: {:.1f} MB in {:.2f} s = {}\n", t.tool, static_cast<double>(t.bytes) / 1e6, t.seconds,
                         rate(t.bitsPerSecond()));
      if (t.bytes == 0) status = DemoStepFailed;
    } catch (const std::exception& error) {
      out << "  FAILED: " << error.what() << "\n";
      status = DemoStepFailed;
    }
    checkInterrupted();

    out << "\n6. Per-adapter statistics\n";
    printStats(*runtime, out);
  } catch (const DemoFailed& failure) {
    out << "\nndishost demo: " << (failure.exitStatus() == DemoInterrupted ? "interrupted" : "failed") << ": "
        << failure.what() << "\n";
    status = failure.exitStatus();
  } catch (const std::exception& error) {
    out << "\nndishost demo: failed: " << error.what() << "\n";
    status = DemoStepFailed;
  }

  out << "\n7. Shut down: unbind the TAPs, pause, halt and remove the adapters, unload the drivers\n";
  if (runtime) {
    const ShutdownResult result = runtime->stop();
    eventLogSubscription.reset();
    eventLog.reset();
    for (const auto& report : result.leakReports) out << "  " << report << "\n";
    for (const auto& v : result.violationTexts) out << "  violation: " << v << "\n";
    if (!result.clean() && status == DemoSucceeded) status = DemoLeaks;
    runtime.reset();
  }
  for (auto& ns : namespaces) {
    if (ns) out << "  removing namespace " << ns->name() << "\n";
    ns.reset();
  }
  out << "\nCaptures (Wireshark; the first " << kDemoCaptureSnapLength << " bytes of each frame and URB):\n";
  for (const auto& d : config.devices) out << "  " << d.capture.upperEdge.string() << "  (Ethernet, " << d.name << ")\n";
  out << "  " << (directory / "usb.pcap").string() << "  (usbmon: the URBs of both devices)\n";
  out << "Event log (JSON lines): " << (directory / "events.jsonl").string() << "\n";
  try {
    writeTimeline(directory / "events.jsonl", directory / "timeline.html", {.title = "ndishost demo"});
    out << "Timeline (open in a browser): " << (directory / "timeline.html").string() << "\n";
  } catch (const std::exception& error) {
    out << "Timeline: not written: " << error.what() << "\n";
  }
  out << (status == DemoSucceeded ? "\ndemo finished: every step succeeded, no leaks\n"
                                  : fmt::format("\ndemo finished with exit status {}\n", status));
  return status;
}

}  // namespace ndishost::host
