// The runtime's event trace: IRPs dispatched and completed, PnP and power transitions,
// resets, OIDs (from the NDIS layer), rule violations. Emitting costs one relaxed atomic
// load when nobody listens, so hot paths call traceEnabled() before formatting.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

namespace ndishost::nt {

enum class TraceCategory : std::uint8_t { Irp, Pnp, Power, Ke, Pool, Driver, Ndis, Usb, Host, Violation };

const char* toString(TraceCategory category);

struct TraceEvent {
  std::uint64_t interruptTime100ns;  // KeQueryInterruptTime() at emission
  TraceCategory category;
  std::string source;  // device or driver the event is about, e.g. "\\Device\\usb0" or "samplebus"
  std::string text;
};

using TraceSink = std::function<void(const TraceEvent&)>;

// Subscribes `sink` for as long as the returned object lives.
class TraceSubscription {
 public:
  explicit TraceSubscription(TraceSink sink);
  ~TraceSubscription();
  TraceSubscription(const TraceSubscription&) = delete;
  TraceSubscription& operator=(const TraceSubscription&) = delete;

 private:
  std::uint64_t id_;
};

namespace detail {
extern std::atomic<int> traceSubscribers;
}

inline bool traceEnabled() { return detail::traceSubscribers.load(std::memory_order_relaxed) > 0; }

void traceEmit(TraceCategory category, std::string source, std::string text);

}  // namespace ndishost::nt
