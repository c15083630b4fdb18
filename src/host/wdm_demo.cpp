#include <chrono>
#include <cstring>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <fmt/ostream.h>
#include <spdlog/spdlog.h>

#include "host/device_io.hpp"
#include "host/trace_printer.hpp"
#include "host/wdm_demo.hpp"
#include "nt/ke/runtime.hpp"
#include "nt/pnp/pnp_manager.hpp"
#include "nt/support/trace.hpp"
#include "sample_ioctl.h"

namespace ndishost::host {

const char* const kWdmDemoManifest = R"toml(
# ndishost demo: the WDM samples. Driver paths are relative to --driver-dir.
[[driver]]
name = "samplebus"
path = "samplebus.so"
description = "ndishost sample bus enumerator"
ids = ["ROOT\\SAMPLEBUS"]

[[driver]]
name = "samplefunc"
path = "samplefunc.so"
description = "ndishost sample echo device"
ids = ["SAMPLEBUS\\VID_5AB1&PID_0001"]

[[device]]
hardware_ids = ["ROOT\\SAMPLEBUS"]
description = "ndishost sample bus"
)toml";

namespace {

using nt::pnp::DeviceInfo;
using nt::pnp::DeviceNodeState;
using nt::pnp::PnpManager;

[[noreturn]] void fail(const std::string& step, const std::string& what) {
  throw std::runtime_error(fmt::format("{}: {}", step, what));
}

void heading(std::ostream& out, const std::string& text) { fmt::print(out, "\n== {}\n", text); }

nt::pnp::Manifest loadManifest(const WdmDemoOptions& options) {
  if (options.manifest) return nt::pnp::Manifest::load(*options.manifest);
  for (const char* image : {"samplebus.so", "samplefunc.so"}) {
    if (!std::filesystem::exists(options.driverDirectory / image)) {
      fail("setup", fmt::format("sample driver {} not found in {} (build the ndishost_samples target, or point "
                                "--driver-dir at the directory holding it)",
                                image, options.driverDirectory.string()));
    }
  }
  return nt::pnp::Manifest::parse(kWdmDemoManifest, "(embedded demo configuration)", options.driverDirectory);
}

std::vector<DeviceInfo> startedChildren(const PnpManager& pnp) {
  std::vector<DeviceInfo> children;
  for (auto& device : pnp.devices()) {
    if (device.depth == 1 && device.state == DeviceNodeState::Started) children.push_back(device);
  }
  return children;
}

SAMPLEFUNC_STATISTICS statistics(const PnpManager& pnp, const std::string& device) {
  SAMPLEFUNC_STATISTICS stats{};
  auto result = deviceIoControl(pnp, device, IOCTL_SAMPLEFUNC_GET_STATISTICS, {},
                                std::as_writable_bytes(std::span(&stats, 1)));
  if (result.status != STATUS_SUCCESS) {
    fail("statistics", fmt::format("{}: IOCTL_SAMPLEFUNC_GET_STATISTICS failed with {}", device,
                                   nt::statusName(result.status)));
  }
  return stats;
}

void enumerate(PnpManager& pnp, std::ostream& out) {
  heading(out, "1. Enumerate: the root enumerator reports ROOT\\SAMPLEBUS; samplebus reports its children");
  auto roots = pnp.addRootDevicesFromManifest();
  pnp.waitForIdle();
  heading(out, "device tree");
  out << pnp.formatTree();
  for (const auto& device : pnp.devices()) {
    if (device.state != DeviceNodeState::Started) {
      fail("enumerate", fmt::format("{} is not started: {} ({})", device.instancePath, toString(device.state),
                                    device.problem));
    }
  }
  if (startedChildren(pnp).empty()) fail("enumerate", "the sample bus reported no children");
}

void echo(PnpManager& pnp, std::ostream& out) {
  heading(out, "2. Echo: IOCTL_SAMPLEFUNC_ECHO to each child (samplefunc forwards it as the bus's internal echo)");
  int n = 0;
  for (const auto& child : startedChildren(pnp)) {
    std::string message = fmt::format("hello from ndishost #{}", ++n);
    std::vector<char> reply(message.size());
    auto result = deviceIoControl(pnp, child.instancePath, IOCTL_SAMPLEFUNC_ECHO, std::as_bytes(std::span(message)),
                                  std::as_writable_bytes(std::span(reply)));
    bool same = result.status == STATUS_SUCCESS && result.information == message.size() &&
                std::memcmp(reply.data(), message.data(), message.size()) == 0;
    fmt::print(out, "  {}: sent \"{}\" -> {}, {} bytes back{}\n", child.instancePath, message,
               nt::statusName(result.status), result.information, same ? ", identical" : "");
    if (!same) fail("echo", fmt::format("{} did not echo the message", child.instancePath));
  }
}

void reads(PnpManager& pnp, const WdmDemoOptions& options, std::ostream& out) {
  heading(out, fmt::format("3. Reads: samplefunc keeps reads pending at the bus; its timer DPC completes them "
                           "({} ms)",
                           options.readTime.count()));
  // A runtime-aware sleep: in deterministic mode the virtual clock moves, and other
  // threads (the DPC that completes reads) run meanwhile.
  LARGE_INTEGER interval;
  interval.QuadPart = -static_cast<LONGLONG>(options.readTime.count()) * 10'000;
  KeDelayExecutionThread(KernelMode, FALSE, &interval);
  for (const auto& child : startedChildren(pnp)) {
    auto stats = statistics(pnp, child.instancePath);
    fmt::print(out, "  {}: {} reads completed, {} outstanding (of {} slots), last sequence {}, {} failed\n",
               child.instancePath, stats.ReadsCompleted, stats.ReadsOutstanding, stats.PendingReadSlots,
               stats.LastSequence, stats.ReadsFailed);
    if (stats.ReadsCompleted == 0) fail("reads", fmt::format("{} completed no read", child.instancePath));
  }
}

void unplug(PnpManager& pnp, const std::string& bus, std::ostream& out) {
  auto children = startedChildren(pnp);
  const DeviceInfo& victim = children.front();
  ULONG serial = statistics(pnp, victim.instancePath).SerialNo;
  heading(out, fmt::format("4. Unplug {}: IRP_MN_SURPRISE_REMOVAL (its pending reads are cancelled), then, "
                           "as a separate IRP, IRP_MN_REMOVE_DEVICE",
                           victim.instancePath));

  // Between the two IRPs the stack still exists and I/O may still be in flight.
  auto subscription = pnp.subscribe([&](const nt::pnp::PnpEvent& event) {
    if (event.kind != nt::pnp::PnpEventKind::SurpriseRemoved || event.instancePath != victim.instancePath) return;
    auto stats = statistics(pnp, victim.instancePath);
    fmt::print(out, "  (between the two IRPs) {}: surprise-removed={}, {} reads outstanding, {} failed/cancelled\n",
               victim.instancePath, stats.SurpriseRemoved, stats.ReadsOutstanding, stats.ReadsFailed);
  });
  ULONG buffer = serial;
  auto result = deviceIoControl(pnp, bus, IOCTL_SAMPLEBUS_UNPLUG, std::as_bytes(std::span(&buffer, 1)), {});
  if (result.status != STATUS_SUCCESS) fail("unplug", fmt::format("IOCTL_SAMPLEBUS_UNPLUG failed with {}", nt::statusName(result.status)));
  pnp.waitForIdle();
  subscription.reset();

  heading(out, "device tree");
  out << pnp.formatTree();
  if (pnp.device(victim.instancePath)) fail("unplug", fmt::format("{} is still in the tree", victim.instancePath));
}

}  // namespace

void runWdmSampleDemo(const WdmDemoOptions& options, std::ostream& out) {
  nt::pnp::Manifest manifest = loadManifest(options);
  fmt::print(out, "ndishost demo: the WDM sample stack (samplebus + samplefunc), drivers from {}\n",
             options.manifest ? options.manifest->parent_path().string() : options.driverDirectory.string());

  nt::Runtime runtime(nt::RuntimeOptions{
      .processors = options.processors, .deterministic = options.deterministic, .seed = options.seed});
  PnpManager pnp(std::move(manifest));

  TracePrinterOptions printing;
  printing.irps = options.traceIrps;
  if (!options.traceReads) {
    // The read pump's IOCTL code, as the I/O manager's trace prints it.
    printing.hiddenWhenContaining.push_back(fmt::format("0x{:08X}", IOCTL_SAMPLEBUS_INTERNAL_READ));
  }
  TracePrinter printer(out, printing, KeQueryInterruptTime());
  std::unique_ptr<nt::TraceSubscription> trace;
  if (options.tracePnp || options.traceIrps) {
    trace = std::make_unique<nt::TraceSubscription>([&](const nt::TraceEvent& event) {
      bool wanted = event.category == nt::TraceCategory::Irp ? options.traceIrps : options.tracePnp;
      if (wanted) printer.print(event);
    });
  }

  enumerate(pnp, out);
  std::string bus = pnp.devices().front().instancePath;
  echo(pnp, out);
  reads(pnp, options, out);
  unplug(pnp, bus, out);

  heading(out, "5. Shut down: remove every device (children first) and unload every driver");
  auto reports = pnp.shutdown();
  trace.reset();
  if (printer.hidden() != 0) {
    fmt::print(out, "  ({} read-pump trace events not shown; --trace-reads shows them)\n", printer.hidden());
  }

  heading(out, "leak report");
  bool leaks = false;
  for (const auto& report : reports) {
    fmt::print(out, "  {}\n", report.format());
    leaks = leaks || !report.empty();
  }
  if (leaks) fail("shutdown", "drivers leaked resources (see the leak report)");
  fmt::print(out, "\ndemo finished: every step succeeded, no leaks\n");
}

}  // namespace ndishost::host
