// `ndishost demo`: the main job in one command. Two network namespaces, two emulated USB
// network adapters (CDC-NCM and RNDIS) joined by an in-process wire, each driven by its
// NDIS-WDM miniport (usbncm, usbrndis) and bound to a TAP interface inside its namespace;
// pings both ways (IPv4 and IPv6), a short TCP transfer, per-adapter statistics, the
// capture files and the event log; then everything it created is removed again, also
// after a failure or Ctrl-C.
#pragma once

#include <atomic>
#include <chrono>
#include <filesystem>
#include <ostream>

#include "host/runtime/host_runtime.hpp"

namespace ndishost::host {

struct NetworkDemoOptions {
  std::filesystem::path outputDirectory;  // captures and event log; empty: /tmp/ndishost-demo-<pid>
  std::chrono::seconds transferTime{2};
  std::filesystem::path defaultManifest;  // as HostRuntimeOptions
  unsigned processors = 0;
  const std::atomic<bool>* interrupted = nullptr;  // set by the caller's signal handling
};

// Exit statuses (documented in `ndishost demo --help`).
enum DemoExit : int {
  DemoSucceeded = 0,
  DemoNotPossible = 1,   // not root, no /dev/net/tun, no TAP binding in this build
  DemoStartupFailed = 2, // the stack did not come up
  DemoLeaks = 3,         // leaks or rule violations at shutdown
  DemoStepFailed = 4,    // a ping or the transfer failed
  DemoInterrupted = 130,
};

int runNetworkDemo(const NetworkDemoOptions& options, std::ostream& out);

}  // namespace ndishost::host
