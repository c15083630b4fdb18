// What a driver left behind when it was unloaded: the resources still charged to it in the
// ledger (pool by tag, IRPs, MDLs, work items, ...) and kernel objects that could still
// call into its image (timers still set, DPCs still queued). A structured value for tests
// and a readable text for the log.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "nt/support/ledger.hpp"

namespace ndishost::nt::pnp {

struct LeakedResource {
  ResourceKind kind;
  const void* object;
  std::uint32_t tag;     // pool tag, 0 when the kind has none
  std::size_t size;      // bytes, 0 when the kind has none
  std::string callSite;  // "leaky.so!LeakyDriverEntry+0x2c", symbolised while the image was mapped
};

// A timer still set, or a DPC still queued, whose routine lies inside the driver image.
struct PendingCallback {
  enum class Kind : std::uint8_t { Timer, Dpc };
  Kind kind;
  const void* object;   // the KTIMER or KDPC
  std::string routine;  // the DPC routine, symbolised
  bool periodic = false;
};

struct LeakReport {
  std::string driver;
  std::string path;
  std::vector<LeakedResource> resources;
  std::vector<PendingCallback> callbacks;
  // The image could not be unmapped: something in it may still run (a pending callback),
  // or the driver refused to unload.
  bool imageKeptMapped = false;

  bool empty() const { return resources.empty() && callbacks.empty(); }
  std::size_t count(ResourceKind kind) const;
  std::size_t bytesWithTag(std::uint32_t tag) const;

  // "samplebus: no leaks", or one line per item under a heading naming the driver.
  std::string format() const;
};

}  // namespace ndishost::nt::pnp
