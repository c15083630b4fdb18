// `ndishost demo`, WDM part: the sample bus and function drivers under the PnP manager --
// enumeration, IRPs flowing through the stacks, echo IOCTLs and pending reads, a child
// unplugged (surprise removal, then removal), shutdown and the leak report.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <ostream>
#include <string>

namespace ndishost::host {

struct WdmDemoOptions {
  std::filesystem::path driverDirectory;          // where samplebus.so and samplefunc.so are
  std::optional<std::filesystem::path> manifest;  // instead of the embedded configuration
  bool traceIrps = true;                          // print IRP dispatch/completion events
  bool traceReads = false;                        // also the (many) read-pump IRPs
  bool tracePnp = true;                           // print PnP, power and driver events
  unsigned processors = 2;
  bool deterministic = false;  // one virtual processor, virtual clock, seeded interleaving
  std::uint64_t seed = 1;
  std::chrono::milliseconds readTime{100};
};

// The embedded default configuration: the sample manifest, with driver paths relative to
// WdmDemoOptions::driverDirectory.
extern const char* const kWdmDemoManifest;

// Runs the demo, writing to `out`. Returns normally when every step did what it should;
// throws std::runtime_error naming the step and what went wrong otherwise.
void runWdmSampleDemo(const WdmDemoOptions& options, std::ostream& out);

}  // namespace ndishost::host
